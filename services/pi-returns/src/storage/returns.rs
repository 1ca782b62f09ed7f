//! Return rows: found by id or by organisation and period, inserted, and changed only from the
//! version they were read at.

use almo_db::entity::pi_return;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::domain::period::Period;

pub async fn get_return(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<pi_return::Model>, DbErr> {
    pi_return::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

pub async fn find_return(
    conn: &impl ConnectionTrait,
    organisation_id: &str,
    period: &Period,
) -> Result<Option<pi_return::Model>, DbErr> {
    pi_return::Entity::find()
        .filter(pi_return::Column::OrganisationId.eq(organisation_id))
        .filter(pi_return::Column::Year.eq(period.year))
        .filter(pi_return::Column::PeriodKind.eq(period.kind.as_str()))
        .filter(pi_return::Column::PeriodNumber.eq(period.number))
        .one(conn)
        .await
}

pub async fn insert_return(
    conn: &impl ConnectionTrait,
    row: pi_return::Model,
) -> Result<(), DbErr> {
    pi_return::Entity::insert(pi_return::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes `row` if the stored version is still `expected_version`; false when someone else
/// changed it first.
pub async fn update_return_if_version(
    conn: &impl ConnectionTrait,
    row: &pi_return::Model,
    expected_version: i64,
) -> Result<bool, DbErr> {
    use pi_return::Column as C;
    let res = pi_return::Entity::update_many()
        .col_expr(C::Status, Expr::value(row.status.clone()))
        .col_expr(C::Late, Expr::value(row.late))
        .col_expr(C::SubmittedBy, Expr::value(row.submitted_by.clone()))
        .col_expr(C::SubmittedAt, Expr::value(row.submitted_at))
        .col_expr(C::SignedOffBy, Expr::value(row.signed_off_by.clone()))
        .col_expr(C::SignedOffAt, Expr::value(row.signed_off_at))
        .col_expr(C::ReturnedReason, Expr::value(row.returned_reason.clone()))
        .col_expr(C::Revision, Expr::value(row.revision))
        .col_expr(C::SurveySampleSize, Expr::value(row.survey_sample_size))
        .col_expr(C::SurveyMethod, Expr::value(row.survey_method.clone()))
        .col_expr(C::Version, Expr::value(row.version))
        .col_expr(C::UpdatedAt, Expr::value(row.updated_at))
        .filter(C::Id.eq(row.id.clone()))
        .filter(C::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Claims the right to change a return whose stored version is `version`, by moving it on to
/// `version + 1` at once. On PostgreSQL the update locks the row, so a concurrent change of the
/// same return waits here and then finds the version moved: it is refused as stale rather than
/// racing to write values.
pub async fn claim_version(
    conn: &impl ConnectionTrait,
    id: &str,
    version: i64,
) -> Result<bool, DbErr> {
    let res = pi_return::Entity::update_many()
        .col_expr(pi_return::Column::Version, Expr::value(version + 1))
        .filter(pi_return::Column::Id.eq(id))
        .filter(pi_return::Column::Version.eq(version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The returns of `organisation_ids` for one period.
pub async fn returns_for_period(
    conn: &impl ConnectionTrait,
    organisation_ids: &[String],
    period: &Period,
) -> Result<Vec<pi_return::Model>, DbErr> {
    if organisation_ids.is_empty() {
        return Ok(Vec::new());
    }
    pi_return::Entity::find()
        .filter(pi_return::Column::OrganisationId.is_in(organisation_ids.iter().cloned()))
        .filter(pi_return::Column::Year.eq(period.year))
        .filter(pi_return::Column::PeriodKind.eq(period.kind.as_str()))
        .filter(pi_return::Column::PeriodNumber.eq(period.number))
        .all(conn)
        .await
}
