//! The figures benchmarking compares, kept as returns change (`pi_benchmark_points`).
//!
//! A benchmark counts the current value of each signed-off annual return (DOMAIN.md §3). Those
//! figures are kept in their own table, one row per indicator, split, year and organisation, so a
//! quartile read is one range of its primary key: at most one row per organisation of the sector,
//! however many years, indicators and superseded values the returns hold.
//!
//! **Who keeps them.** Every write that changes a return's status or its current values calls
//! [`refresh_return`] (or [`refresh_returns`] for many at once) in its own transaction, after the
//! change and before the commit: the points are replaced by what the return now holds, so a
//! reader sees them change at the commit, with the return, never before or after it. The service's
//! write path does this once for every change of a return (`grpc/change.rs`, `finish_change`:
//! sign-off, revision, return for correction, submission, values set, combined returns); a new
//! write path that signs off or alters returns must call it too.
//!
//! **What it does not hold.** The authority type is read from `organisations` at query time, so
//! a change of an organisation's type in the directory is seen at once with nothing to refresh.
//! The catalogue does not decide which figures count (the read checks the indicator is in force
//! for the year), so a catalogue import changes nothing here.
//!
//! [`rebuild`] recomputes every point from the returns (what the migration that made the table
//! did); a loader that writes returns and values directly, outside the service, calls
//! [`refresh_returns`] for what it wrote.

use almo_db::entity::{pi_benchmark_point as point, pi_return, pi_return_value};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};

use crate::domain::workflow::Status;

/// Return ids per statement in [`refresh_returns`]: well inside both databases' bind limits.
const CHUNK: usize = 500;

/// Replaces the benchmark points of one return with what it now holds: its current values if it
/// is a signed-off annual return, none otherwise. Call it inside the transaction that changed the
/// return, after the change.
pub async fn refresh_return(conn: &impl ConnectionTrait, return_id: &str) -> Result<(), DbErr> {
    refresh_returns(conn, &[return_id.to_string()]).await
}

/// [`refresh_return`] for many returns: two set-based statements (a delete and an
/// `INSERT ... SELECT`) per 500 returns, however many values they hold.
pub async fn refresh_returns(
    conn: &impl ConnectionTrait,
    return_ids: &[String],
) -> Result<(), DbErr> {
    for chunk in return_ids.chunks(CHUNK) {
        conn.execute(
            &Query::delete()
                .from_table(point::Entity)
                .and_where(Expr::col(point::Column::ReturnId).is_in(chunk.iter().cloned()))
                .to_owned(),
        )
        .await?;
        let mut points = points_select();
        points.and_where(
            Expr::col((pi_return::Entity, pi_return::Column::Id)).is_in(chunk.iter().cloned()),
        );
        insert_points(conn, points).await?;
    }
    Ok(())
}

/// Recomputes every benchmark point from the returns as they stand, in one transaction of the
/// caller's.
pub async fn rebuild(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    conn.execute(&Query::delete().from_table(point::Entity).to_owned())
        .await?;
    insert_points(conn, points_select()).await
}

/// The rule (one place): the current values of signed-off annual returns.
fn points_select() -> SelectStatement {
    let (v, r) = (pi_return_value::Entity, pi_return::Entity);
    Query::select()
        .column((v, pi_return_value::Column::IndicatorCode))
        .column((v, pi_return_value::Column::Split))
        .column((r, pi_return::Column::Year))
        .column((r, pi_return::Column::OrganisationId))
        .column((r, pi_return::Column::Id))
        .column((v, pi_return_value::Column::Value))
        .from(v)
        .inner_join(
            r,
            Expr::col((r, pi_return::Column::Id)).equals((v, pi_return_value::Column::ReturnId)),
        )
        .and_where(Expr::col((v, pi_return_value::Column::Current)).eq(true))
        .and_where(Expr::col((r, pi_return::Column::PeriodKind)).eq("year"))
        .and_where(Expr::col((r, pi_return::Column::Status)).eq(Status::SignedOff.as_str()))
        .to_owned()
}

async fn insert_points(conn: &impl ConnectionTrait, select: SelectStatement) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(point::Entity)
        .columns([
            point::Column::IndicatorCode,
            point::Column::Split,
            point::Column::Year,
            point::Column::OrganisationId,
            point::Column::ReturnId,
            point::Column::Value,
        ])
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}
