//! Booking an inspection and changing it: the inspection row, its team and its members'
//! on-site weeks, whose keys refuse a concurrent double booking.

use almo_db::entity::{insp_inspection, insp_inspector_week, insp_team_member};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

use super::standing;
use crate::domain::cancellation::InspectionStatus;
use crate::domain::team::InspectorRole;

/// The row of a new booking of `almo_id` for the week of `monday`: booked, the ALMO's open
/// inspection, nothing yet recorded.
pub fn booking_row(
    id: &str,
    (almo_id, council_id): (&str, &str),
    monday: NaiveDate,
    span_weeks: i32,
    fee_pence: i64,
    now: DateTime<Utc>,
) -> insp_inspection::Model {
    insp_inspection::Model {
        id: id.to_string(),
        almo_id: almo_id.to_string(),
        council_id: council_id.to_string(),
        open_almo_id: Some(almo_id.to_string()),
        on_site_date: monday,
        span_weeks,
        on_site_actual: None,
        draft_actual: None,
        comments_actual: None,
        score_letter_actual: None,
        published_actual: None,
        stars: None,
        prospects: None,
        fee_pence,
        version: 1,
        created_at: now,
        updated_at: now,
        status: InspectionStatus::Booked.as_str().into(),
        cancel_reason: None,
        cancelled_by: None,
        cancelled_by_org: None,
        cancelled_at: None,
    }
}

/// Inserts an inspection, its team and its members' on-site weeks. The primary key of the weeks
/// and the unique open-ALMO index refuse a concurrent double booking.
pub async fn insert_inspection(
    conn: &impl ConnectionTrait,
    row: insp_inspection::Model,
    team: &[(String, InspectorRole)],
) -> Result<(), DbErr> {
    let id = row.id.clone();
    let week = row.on_site_date;
    insp_inspection::Entity::insert(insp_inspection::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await?;
    insert_team(conn, &id, week, team).await
}

/// Writes the recorded dates and outcome if the stored version is still `expected_version`.
pub async fn update_inspection_if_version(
    conn: &impl ConnectionTrait,
    row: insp_inspection::Model,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let res = insp_inspection::Entity::update_many()
        .col_expr(
            insp_inspection::Column::OpenAlmoId,
            Expr::value(row.open_almo_id),
        )
        .col_expr(
            insp_inspection::Column::OnSiteActual,
            Expr::value(row.on_site_actual),
        )
        .col_expr(
            insp_inspection::Column::DraftActual,
            Expr::value(row.draft_actual),
        )
        .col_expr(
            insp_inspection::Column::CommentsActual,
            Expr::value(row.comments_actual),
        )
        .col_expr(
            insp_inspection::Column::ScoreLetterActual,
            Expr::value(row.score_letter_actual),
        )
        .col_expr(
            insp_inspection::Column::PublishedActual,
            Expr::value(row.published_actual),
        )
        .col_expr(insp_inspection::Column::Stars, Expr::value(row.stars))
        .col_expr(
            insp_inspection::Column::Prospects,
            Expr::value(row.prospects),
        )
        .col_expr(insp_inspection::Column::Version, Expr::value(row.version))
        .col_expr(
            insp_inspection::Column::UpdatedAt,
            Expr::value(row.updated_at),
        )
        .filter(insp_inspection::Column::Id.eq(row.id))
        .filter(insp_inspection::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Claims an inspection for a change: bumps its version if it is still `expected_version`.
async fn bump_version(
    conn: &impl ConnectionTrait,
    id: &str,
    expected_version: i64,
    on_site_date: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let res = insp_inspection::Entity::update_many()
        .col_expr(
            insp_inspection::Column::OnSiteDate,
            Expr::value(on_site_date),
        )
        .col_expr(
            insp_inspection::Column::Version,
            Expr::value(expected_version + 1),
        )
        .col_expr(insp_inspection::Column::UpdatedAt, Expr::value(now))
        .filter(insp_inspection::Column::Id.eq(id))
        .filter(insp_inspection::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

async fn delete_team(conn: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    insp_inspector_week::Entity::delete_many()
        .filter(insp_inspector_week::Column::InspectionId.eq(id))
        .exec(conn)
        .await?;
    insp_team_member::Entity::delete_many()
        .filter(insp_team_member::Column::InspectionId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

async fn insert_team(
    conn: &impl ConnectionTrait,
    id: &str,
    week: NaiveDate,
    team: &[(String, InspectorRole)],
) -> Result<(), DbErr> {
    if team.is_empty() {
        return Ok(());
    }
    insp_team_member::Entity::insert_many(team.iter().map(|(i, role)| {
        insp_team_member::ActiveModel {
            inspection_id: Set(id.to_string()),
            inspector_id: Set(i.clone()),
            role: Set(role.as_str().to_string()),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    insp_inspector_week::Entity::insert_many(team.iter().map(|(i, _)| {
        insp_inspector_week::ActiveModel {
            inspector_id: Set(i.clone()),
            week_start: Set(week),
            inspection_id: Set(id.to_string()),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Gives an inspection a new on-site week and team if it is still at `expected_version`. The
/// primary key of the weeks refuses a concurrent double booking. False when the etag is stale.
pub async fn rebook_inspection(
    conn: &impl ConnectionTrait,
    id: &str,
    expected_version: i64,
    week: NaiveDate,
    team: &[(String, InspectorRole)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    if !bump_version(conn, id, expected_version, week, now).await? {
        return Ok(false);
    }
    delete_team(conn, id).await?;
    insert_team(conn, id, week, team).await?;
    Ok(true)
}

/// An id for a new booking: the ALMO and its Monday, numbered when a cancelled inspection
/// already holds that id (`LEEDS-ENE-HOMES-2007-10-22-2`).
pub async fn free_inspection_id(
    conn: &impl ConnectionTrait,
    almo_id: &str,
    monday: NaiveDate,
) -> Result<String, DbErr> {
    let base = format!("{almo_id}-{monday}");
    let taken: Vec<String> = insp_inspection::Entity::find()
        .select_only()
        .column(insp_inspection::Column::Id)
        .filter(insp_inspection::Column::Id.starts_with(&base))
        .into_tuple()
        .all(conn)
        .await?;
    if !taken.contains(&base) {
        return Ok(base);
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken.contains(id))
        .expect("an unused number"))
}

/// Who cancelled an inspection, when and why.
pub struct Cancellation<'a> {
    pub reason: &'a str,
    pub subject: &'a str,
    pub organisation_id: &'a str,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Cancels a booking not yet on site if it is still at `expected_version`: kept, with the
/// cancellation, but no longer the ALMO's open inspection and holding none of its members'
/// weeks (their rows go; the team rows stay to be seen). False when the etag is stale.
pub async fn cancel_inspection(
    conn: &impl ConnectionTrait,
    id: &str,
    expected_version: i64,
    c: &Cancellation<'_>,
) -> Result<bool, DbErr> {
    let res = insp_inspection::Entity::update_many()
        .col_expr(
            insp_inspection::Column::Status,
            Expr::value(InspectionStatus::Cancelled.as_str()),
        )
        .col_expr(
            insp_inspection::Column::OpenAlmoId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(insp_inspection::Column::CancelReason, Expr::value(c.reason))
        .col_expr(insp_inspection::Column::CancelledBy, Expr::value(c.subject))
        .col_expr(
            insp_inspection::Column::CancelledByOrg,
            Expr::value(c.organisation_id),
        )
        .col_expr(insp_inspection::Column::CancelledAt, Expr::value(c.at))
        .col_expr(
            insp_inspection::Column::Version,
            Expr::value(expected_version + 1),
        )
        .col_expr(insp_inspection::Column::UpdatedAt, Expr::value(c.at))
        .filter(insp_inspection::Column::Id.eq(id))
        .filter(insp_inspection::Column::Version.eq(expected_version))
        .filter(standing())
        .exec(conn)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    insp_inspector_week::Entity::delete_many()
        .filter(insp_inspector_week::Column::InspectionId.eq(id))
        .exec(conn)
        .await?;
    Ok(true)
}
