//! The directory's queries. Writes take the transaction of an idempotent write.

use almo_auth::OrgKind;
use almo_db::Db;
use almo_db::entity::{organisation, peer_group, peer_group_member};
use almo_server::Principal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value,
};

/// Filters of `ListOrganisations`.
#[derive(Debug, Default, Clone)]
pub struct OrgFilter {
    pub kind: Option<OrgKind>,
    pub authority_type: Option<&'static str>,
    pub region: Option<&'static str>,
    pub council_id: Option<String>,
}

pub use almo_db::entity::organisation::get;

/// `n` bind placeholders, comma-separated, as `backend` writes them.
pub(crate) fn placeholders(backend: DbBackend, n: usize) -> String {
    (1..=n)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => "?".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ALMOs of each of `council_ids`, oldest consent first, read on [`Db::read_all`] (on
/// SQLite, its held connections).
pub async fn almo_ids_of(db: &Db, council_ids: &[String]) -> Result<Vec<(String, String)>, DbErr> {
    if council_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.conn().get_database_backend();
    let sql = format!(
        "SELECT \"council_id\", \"id\" FROM \"organisations\" WHERE \"council_id\" IN ({}) \
         ORDER BY \"section27_consent_date\" ASC, \"id\" ASC",
        placeholders(backend, council_ids.len())
    );
    let values = council_ids.iter().map(|id| Value::from(id.as_str()));
    db.read_all(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .iter()
        .map(|r| Ok((r.get("council_id")?, r.get("id")?)))
        .collect()
}

/// The directory entries `p` may see, as a query condition. It states in SQL what
/// `almo_auth::policy::may_see_entry` states in Rust; the tests hold the two together.
fn visible_to(p: &Principal) -> Condition {
    let national = organisation::Column::Kind
        .is_in([OrgKind::Regulator.as_str(), OrgKind::Inspectorate.as_str()]);
    match p.org.kind {
        OrgKind::Operator | OrgKind::Regulator | OrgKind::Inspectorate => Condition::all(),
        OrgKind::Council => Condition::any()
            .add(organisation::Column::Id.eq(&p.org.id))
            .add(organisation::Column::CouncilId.eq(&p.org.id))
            .add(national),
        OrgKind::Almo => {
            let mut c = Condition::any()
                .add(organisation::Column::Id.eq(&p.org.id))
                .add(national);
            if let Some(council) = &p.org.council_id {
                c = c.add(organisation::Column::Id.eq(council));
            }
            c
        }
    }
}

pub async fn list(
    conn: &impl ConnectionTrait,
    p: &Principal,
    filter: &OrgFilter,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<organisation::Model>, DbErr> {
    let mut q = organisation::Entity::find().filter(visible_to(p));
    if let Some(kind) = filter.kind {
        q = q.filter(organisation::Column::Kind.eq(kind.as_str()));
    }
    if let Some(t) = filter.authority_type {
        q = q.filter(organisation::Column::AuthorityType.eq(t));
    }
    if let Some(r) = filter.region {
        q = q.filter(organisation::Column::Region.eq(r));
    }
    if let Some(c) = &filter.council_id {
        q = q.filter(
            Condition::any()
                .add(organisation::Column::Id.eq(c))
                .add(organisation::Column::CouncilId.eq(c)),
        );
    }
    if let Some(after) = after {
        q = q.filter(organisation::Column::Id.gt(after));
    }
    q.order_by_asc(organisation::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn insert(conn: &impl ConnectionTrait, row: organisation::Model) -> Result<(), DbErr> {
    organisation::Entity::insert(organisation::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes `row` if the stored version is still `expected_version`; false when someone else
/// changed it first.
pub async fn update_if_version(
    conn: &impl ConnectionTrait,
    row: organisation::Model,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let res = organisation::Entity::update_many()
        .col_expr(organisation::Column::Name, Expr::value(row.name))
        .col_expr(
            organisation::Column::GoLiveDate,
            Expr::value(row.go_live_date),
        )
        .col_expr(
            organisation::Column::AgreementEndDate,
            Expr::value(row.agreement_end_date),
        )
        .col_expr(organisation::Column::EndDate, Expr::value(row.end_date))
        .col_expr(organisation::Column::StockSize, Expr::value(row.stock_size))
        .col_expr(organisation::Column::Version, Expr::value(row.version))
        .col_expr(organisation::Column::UpdatedAt, Expr::value(row.updated_at))
        .filter(organisation::Column::Id.eq(row.id))
        .filter(organisation::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn get_peer_group(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<(peer_group::Model, Vec<String>)>, DbErr> {
    let Some(group) = peer_group::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let members = members_of(conn, std::slice::from_ref(&group.id)).await?;
    Ok(Some((group, members.into_iter().map(|(_, m)| m).collect())))
}

async fn members_of(
    conn: &impl ConnectionTrait,
    group_ids: &[String],
) -> Result<Vec<(String, String)>, DbErr> {
    if group_ids.is_empty() {
        return Ok(Vec::new());
    }
    peer_group_member::Entity::find()
        .select_only()
        .column(peer_group_member::Column::PeerGroupId)
        .column(peer_group_member::Column::MemberId)
        .filter(peer_group_member::Column::PeerGroupId.is_in(group_ids.iter().cloned()))
        .order_by_asc(peer_group_member::Column::MemberId)
        .into_tuple()
        .all(conn)
        .await
}

pub async fn insert_peer_group(
    conn: &impl ConnectionTrait,
    group: peer_group::Model,
    members: &[String],
) -> Result<(), DbErr> {
    let id = group.id.clone();
    peer_group::Entity::insert(peer_group::ActiveModel::from(group))
        .exec_without_returning(conn)
        .await?;
    peer_group_member::Entity::insert_many(members.iter().map(|m| {
        peer_group_member::ActiveModel {
            peer_group_id: Set(id.clone()),
            member_id: Set(m.clone()),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Peer groups owned by `owner` (all when `None`), among those owned by `visible_owners` (all
/// when `None`), in id order after `after`.
pub async fn list_peer_groups(
    conn: &impl ConnectionTrait,
    owner: Option<&str>,
    visible_owners: Option<&[String]>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<(peer_group::Model, Vec<String>)>, DbErr> {
    let mut q = peer_group::Entity::find();
    if let Some(owner) = owner {
        q = q.filter(peer_group::Column::OwnerOrganisationId.eq(owner));
    }
    if let Some(owners) = visible_owners {
        q = q.filter(peer_group::Column::OwnerOrganisationId.is_in(owners.iter().cloned()));
    }
    if let Some(after) = after {
        q = q.filter(peer_group::Column::Id.gt(after));
    }
    let groups = q
        .order_by_asc(peer_group::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let members = members_of(conn, &ids).await?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let m = members
                .iter()
                .filter(|(gid, _)| *gid == g.id)
                .map(|(_, m)| m.clone())
                .collect();
            (g, m)
        })
        .collect())
}

/// A new directory row of `kind`, version 1, with no council, type, region or ALMO dates yet.
pub fn new_row(id: &str, name: &str, kind: OrgKind) -> organisation::Model {
    let now = chrono::Utc::now();
    organisation::Model {
        id: id.into(),
        name: name.into(),
        kind: kind.as_str().into(),
        authority_type: None,
        region: None,
        council_id: None,
        section27_consent_date: None,
        go_live_date: None,
        agreement_end_date: None,
        end_date: None,
        stock_size: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}
