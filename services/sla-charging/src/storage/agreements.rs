//! Agreements and their versions.

use std::collections::HashMap;

use almo_db::entity::{sla_agreement, sla_agreement_version};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::Visibility;

/// An agreement with every version, oldest first.
pub type AgreementRows = (sla_agreement::Model, Vec<sla_agreement_version::Model>);

pub async fn get_agreement(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<AgreementRows>, DbErr> {
    let Some(a) = sla_agreement::Entity::find_by_id(id.to_string())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let versions = versions_of(conn, std::slice::from_ref(&a.id)).await?;
    Ok(Some((a, versions)))
}

async fn versions_of(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<sla_agreement_version::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sla_agreement_version::Entity::find()
        .filter(sla_agreement_version::Column::AgreementId.is_in(ids.iter().cloned()))
        .order_by_asc(sla_agreement_version::Column::AgreementId)
        .order_by_asc(sla_agreement_version::Column::Version)
        .all(conn)
        .await
}

fn attach(
    agreements: Vec<sla_agreement::Model>,
    versions: Vec<sla_agreement_version::Model>,
) -> Vec<AgreementRows> {
    let mut by: HashMap<String, Vec<sla_agreement_version::Model>> = HashMap::new();
    for v in versions {
        by.entry(v.agreement_id.clone()).or_default().push(v);
    }
    agreements
        .into_iter()
        .map(|a| {
            let v = by.remove(&a.id).unwrap_or_default();
            (a, v)
        })
        .collect()
}

pub async fn list_agreements(
    conn: &impl ConnectionTrait,
    vis: &Visibility,
    almo: Option<&str>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<AgreementRows>, DbErr> {
    let mut q = sla_agreement::Entity::find().filter(vis.agreements());
    if let Some(a) = almo {
        q = q.filter(sla_agreement::Column::CustomerAlmoId.eq(a));
    }
    if let Some(after) = after {
        q = q.filter(sla_agreement::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(sla_agreement::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    let ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
    let versions = versions_of(conn, &ids).await?;
    Ok(attach(rows, versions))
}

/// The council's agreements whose term overlaps `[first, last]`.
pub async fn agreements_overlapping(
    conn: &impl ConnectionTrait,
    council_id: &str,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
) -> Result<Vec<AgreementRows>, DbErr> {
    let rows = sla_agreement::Entity::find()
        .filter(sla_agreement::Column::SupplierCouncilId.eq(council_id))
        .filter(sla_agreement::Column::StartDate.lte(last))
        .filter(sla_agreement::Column::EndDate.gte(first))
        .order_by_asc(sla_agreement::Column::Id)
        .all(conn)
        .await?;
    let ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
    let versions = versions_of(conn, &ids).await?;
    Ok(attach(rows, versions))
}

pub async fn insert_agreement(
    conn: &impl ConnectionTrait,
    a: sla_agreement::Model,
) -> Result<(), DbErr> {
    sla_agreement::Entity::insert(sla_agreement::ActiveModel::from(a))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn insert_version(
    conn: &impl ConnectionTrait,
    v: sla_agreement_version::Model,
) -> Result<(), DbErr> {
    sla_agreement_version::Entity::insert(sla_agreement_version::ActiveModel::from(v))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn update_version_consent(
    conn: &impl ConnectionTrait,
    v: &sla_agreement_version::Model,
) -> Result<(), DbErr> {
    sla_agreement_version::Entity::update_many()
        .col_expr(
            sla_agreement_version::Column::Status,
            Expr::value(v.status.clone()),
        )
        .col_expr(
            sla_agreement_version::Column::CouncilAgreed,
            Expr::value(v.council_agreed),
        )
        .col_expr(
            sla_agreement_version::Column::AlmoAgreed,
            Expr::value(v.almo_agreed),
        )
        .filter(sla_agreement_version::Column::AgreementId.eq(&v.agreement_id))
        .filter(sla_agreement_version::Column::Version.eq(v.version))
        .exec(conn)
        .await?;
    Ok(())
}

/// Bumps the agreement's version if it is still `expected`; false when someone changed it first.
pub async fn bump_agreement(
    conn: &impl ConnectionTrait,
    id: &str,
    expected: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let res = sla_agreement::Entity::update_many()
        .col_expr(sla_agreement::Column::RowVersion, Expr::value(expected + 1))
        .col_expr(sla_agreement::Column::UpdatedAt, Expr::value(now))
        .filter(sla_agreement::Column::Id.eq(id))
        .filter(sla_agreement::Column::RowVersion.eq(expected))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}
