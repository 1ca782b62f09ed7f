//! The figures a benchmark compares, and who is compared: an authority type or a peer group.

use std::collections::BTreeMap;

use almo_db::entity::{organisation, peer_group_member, pi_benchmark_point};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

/// Who is compared.
#[derive(Debug, Clone)]
pub enum Group {
    AuthorityType(String),
    /// A peer group's owner and members.
    Organisations(Vec<String>),
}

/// The current, signed-off annual figures of `code` (and `split`) for `year` across `group`, as
/// (organisation, value): one range of `pi_benchmark_points`' primary key, at most a row per
/// organisation, joined to `organisations` for an authority type (read now, so a directory change
/// of type counts at once). Which figures count is kept by [`super::benchmark_points`].
pub async fn benchmark_values(
    conn: &impl ConnectionTrait,
    code: &str,
    split: &str,
    year: i32,
    group: &Group,
) -> Result<Vec<(String, f64)>, DbErr> {
    let p = pi_benchmark_point::Entity;
    let mut q = Query::select()
        .expr_as(
            Expr::col((p, pi_benchmark_point::Column::OrganisationId)),
            "organisation_id",
        )
        .expr_as(Expr::col((p, pi_benchmark_point::Column::Value)), "value")
        .from(p)
        .and_where(Expr::col((p, pi_benchmark_point::Column::IndicatorCode)).eq(code))
        .and_where(Expr::col((p, pi_benchmark_point::Column::Split)).eq(split))
        .and_where(Expr::col((p, pi_benchmark_point::Column::Year)).eq(year))
        .to_owned();
    match group {
        Group::AuthorityType(t) => {
            let o = organisation::Entity;
            q.inner_join(
                o,
                Expr::col((o, organisation::Column::Id))
                    .equals((p, pi_benchmark_point::Column::OrganisationId)),
            )
            .and_where(Expr::col((o, organisation::Column::AuthorityType)).eq(t.clone()));
        }
        Group::Organisations(ids) => {
            q.and_where(
                Expr::col((p, pi_benchmark_point::Column::OrganisationId))
                    .is_in(ids.iter().cloned()),
            );
        }
    }
    collect_benchmark_rows(conn.query_all(&q).await?)
}

fn collect_benchmark_rows(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<(String, f64)>, DbErr> {
    rows.into_iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "organisation_id")?,
                row.try_get::<f64>("", "value")?,
            ))
        })
        .collect()
}

/// The ALMOs of one authority type, with their councils.
pub async fn almo_councils_of_type(
    conn: &impl ConnectionTrait,
    authority_type: &str,
) -> Result<BTreeMap<String, String>, DbErr> {
    let rows: Vec<(String, Option<String>)> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .column(organisation::Column::CouncilId)
        .filter(organisation::Column::Kind.eq("almo"))
        .filter(organisation::Column::AuthorityType.eq(authority_type))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, council)| council.map(|c| (id, c)))
        .collect())
}

/// The owner and members of a peer group; `None` when there is no such group.
pub async fn peer_group_members(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<(String, Vec<String>)>, DbErr> {
    let Some(group) = almo_db::entity::peer_group::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let members: Vec<String> = peer_group_member::Entity::find()
        .select_only()
        .column(peer_group_member::Column::MemberId)
        .filter(peer_group_member::Column::PeerGroupId.eq(id))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(Some((group.owner_organisation_id, members)))
}

/// The organisations whose council is `council_id` (its ALMOs).
pub async fn organisations_of_council(
    conn: &impl ConnectionTrait,
    council_id: &str,
) -> Result<Vec<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .filter(organisation::Column::CouncilId.eq(council_id))
        .all(conn)
        .await
}
