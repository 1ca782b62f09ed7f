//! Inspection scheduling acts on the directory's lifecycle events (the outbox,
//! `almo_db::lifecycle`): when an ALMO's end is recorded, its bookings whose week on site does
//! not lie wholly within its life, and that have not gone on site, are cancelled with the reason
//! `ALMO_ENDED` — kept, and visible as cancelled like any other, attributed to the council that
//! took management back.
//!
//! The end date is the ALMO's last day. A week on site (Monday to Friday) is the ALMO's when it
//! ends on or before that day: a booking for the week that holds the last day on its Friday, or
//! earlier, stands; one for a week the last day falls inside before its Friday, or any later
//! week, is cancelled — the rule a booking made after the end is recorded is refused by
//! (`ALMO_ENDED` in `domain::readiness`).

use almo_db::{Db, lifecycle};
use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::domain::on_site_week;
use crate::storage;

/// This consumer's name in `event_cursors`.
pub const CONSUMER: &str = "inspection-scheduling";
/// How the reason of a cancellation for the ALMO's end begins: a cancelled inspection whose
/// reason begins so is refused as `ALMO_ENDED`, not as an ordinary cancellation.
pub const REASON_CODE: &str = "ALMO_ENDED";
/// Who the cancellations are attributed to, beside the council.
const SUBJECT: &str = "almo-exchange (the ALMO's end, from the directory)";

/// Applies the lifecycle events this consumer has not applied yet, a batch per transaction;
/// returns how many it read. Safe to run on every replica at once.
pub async fn consume(db: &Db) -> Result<usize, DbErr> {
    lifecycle::consume(db, CONSUMER, async |txn, e| {
        if e.kind == lifecycle::kind::END_DATE_SET
            && let Some(end) = lifecycle::payload_date(e, "end_date")
        {
            let council = e.council_id.as_deref().unwrap_or_default();
            cancel_after_end(txn, &e.organisation_id, council, end).await?;
        }
        Ok(())
    })
    .await
}

async fn cancel_after_end(
    conn: &impl ConnectionTrait,
    almo_id: &str,
    council_id: &str,
    end: NaiveDate,
) -> Result<(), DbErr> {
    let reason =
        format!("{REASON_CODE}: the ALMO ended on {end}, before the end of the week on site");
    let cancellation = storage::Cancellation {
        reason: &reason,
        subject: SUBJECT,
        organisation_id: council_id,
        at: Utc::now(),
    };
    for i in storage::inspections_of_almo(conn, almo_id).await? {
        if i.status == "booked"
            && i.on_site_actual.is_none()
            && on_site_week(i.on_site_date).end > end
        {
            storage::cancel_inspection(conn, &i.id, i.version, &cancellation).await?;
        }
    }
    Ok(())
}
