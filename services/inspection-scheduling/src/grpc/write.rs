//! The write path, written once: the idempotent audited transaction every write runs in, the
//! etag check (AIP-154), and the steps every change to a stored inspection shares.

use almo_db::Begun;
use almo_db::entity::insp_inspection;
use almo_fields::etag;
use almo_proto::inspection as pb;
use almo_server::{AppError, Principal, Violations};
use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::convert::{actual_dates, date_str, inspection_to_proto, status_of};
use super::{InspectionScheduling, SERVICE_NAME};
use crate::domain::cancellation::InspectionStatus;
use crate::domain::lifecycle::{Stage, check_record};
use crate::error::lifecycle;
use crate::storage;

/// A request that writes: it carries the idempotency key a retry repeats (AIP-155).
pub(super) trait WriteRequest: prost::Message {
    fn request_id(&self) -> &str;
}

macro_rules! write_requests {
    ($($t:ty),* $(,)?) => {
        $(impl WriteRequest for $t {
            fn request_id(&self) -> &str {
                &self.request_id
            }
        })*
    };
}

write_requests!(
    pb::DeclareReadinessRequest,
    pb::CreateInspectorRequest,
    pb::RecordUnavailabilityRequest,
    pb::BookInspectionRequest,
    pb::RecordStageDateRequest,
    pb::RecordOutcomeRequest,
    pb::ReplaceTeamMemberRequest,
    pb::MoveInspectionRequest,
    pb::CancelInspectionRequest,
);

impl InspectionScheduling {
    /// Runs `change` as the write `method` of `request`: in one transaction that claims the
    /// request id, then writes the audit row (naming the resource `change` returns) and the
    /// response to replay. A repeated request id with the same request gets the first answer
    /// and changes nothing; an error from `change` rolls everything back.
    pub(super) async fn write<R: prost::Message + Default>(
        &self,
        p: &Principal,
        method: &str,
        request: &impl WriteRequest,
        change: impl AsyncFnOnce(&DatabaseTransaction) -> Result<(R, String), AppError>,
    ) -> Result<R, AppError> {
        let ctx = p.call_context(SERVICE_NAME, method, request.request_id());
        let write = match self.ctx.db.begin_idempotent(&ctx, request).await? {
            Begun::Replay(response) => return Ok(response),
            Begun::Fresh(write) => write,
        };
        let (response, resource) = change(write.txn()).await?;
        write.finish(&response, &resource).await?;
        Ok(response)
    }
}

/// `row` as the reply, with its team, read through `conn`.
pub(super) async fn inspection_reply(
    conn: &impl ConnectionTrait,
    row: &insp_inspection::Model,
) -> Result<pb::Inspection, AppError> {
    let team = storage::teams(conn, std::slice::from_ref(&row.id)).await?;
    Ok(inspection_to_proto(row, &team, Utc::now().date_naive()))
}

/// The inspection `id` as a change left it, read again inside the change's transaction.
pub(super) async fn reread(
    txn: &impl ConnectionTrait,
    id: &str,
) -> Result<pb::Inspection, AppError> {
    let row = storage::inspection(txn, id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("inspection {id} vanished")))?;
    inspection_reply(txn, &row).await
}

/// The inspection a change or record names, and its etag as last read (AIP-154): both required.
pub(super) fn check_change<'a>(v: &mut Violations, inspection_id: &'a str, etag: &str) -> &'a str {
    let id = inspection_id.trim();
    v.check(id.is_empty(), "inspection_id", "required");
    v.require_etag(etag, "the inspection's etag as last read");
    id
}

/// Refuses a change based on a stale read: `given` must be the etag of the stored `version`, or
/// empty when nothing is stored yet.
pub(super) fn check_etag(
    given: &str,
    version: Option<i64>,
    resource: &str,
) -> Result<(), AppError> {
    let current = version.map(etag).unwrap_or_default();
    if current == given.trim() {
        Ok(())
    } else {
        Err(AppError::stale_etag(resource))
    }
}

/// A conditional update that found the row at another version: someone changed it since.
pub(super) fn updated(done: bool, resource: &str) -> Result<(), AppError> {
    if done {
        Ok(())
    } else {
        Err(AppError::stale_etag(resource))
    }
}

/// The audit and stale-etag name of an inspection.
pub(super) fn inspection_resource(id: &str) -> String {
    format!("inspections/{id}")
}

/// The inspection `id` inside a write, if it is not cancelled and `given_etag` is its etag.
pub(super) async fn as_read(
    txn: &impl ConnectionTrait,
    id: &str,
    given_etag: &str,
) -> Result<insp_inspection::Model, AppError> {
    let current = storage::inspection(txn, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no inspection {id:?}")))?;
    // Cancelled first: a stale etag on a cancelled inspection would only send the caller to
    // read it again and be refused.
    not_cancelled(&current)?;
    check_etag(given_etag, Some(current.version), &inspection_resource(id))?;
    Ok(current)
}

/// [`as_read`], and a booking not yet on site: what move, re-team and cancel may change (a team
/// on site or a report under way is recorded, not re-planned).
pub(super) async fn changeable(
    txn: &impl ConnectionTrait,
    id: &str,
    given_etag: &str,
) -> Result<insp_inspection::Model, AppError> {
    let current = as_read(txn, id, given_etag).await?;
    if current.open_almo_id.is_none() || current.on_site_actual.is_some() {
        return Err(AppError::failed_precondition(
            "ALREADY_ON_SITE",
            format!(
                "inspection {id} has been on site since {}; only a booking not yet on site may be changed",
                date_str(current.on_site_actual.or(Some(current.on_site_date)))
            ),
        ));
    }
    Ok(current)
}

/// Refuses any change or record to a cancelled inspection; one cancelled for the ALMO's end
/// (`crate::lifecycle`) as `ALMO_ENDED`, its reason naming the end: nothing is booked again.
fn not_cancelled(r: &insp_inspection::Model) -> Result<(), AppError> {
    if status_of(r) == InspectionStatus::Cancelled {
        if let Some(why) = r
            .cancel_reason
            .as_deref()
            .filter(|w| w.starts_with(crate::lifecycle::REASON_CODE))
        {
            return Err(AppError::failed_precondition(
                "ALMO_ENDED",
                format!("inspection {} was cancelled: {why}", r.id),
            ));
        }
        return Err(AppError::failed_precondition(
            "INSPECTION_CANCELLED",
            format!(
                "inspection {} was cancelled{}; book a new inspection instead",
                r.id,
                r.cancelled_at
                    .map(|t| format!(" on {}", t.date_naive()))
                    .unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// Records `stage` reached on `date` for inspection `id` inside a write: refused unless the
/// inspection is not cancelled, at `given_etag`, and the stage comes in order and not in the
/// future; then `record` changes the row, stored at the next version and replied.
pub(super) async fn record_stage(
    txn: &DatabaseTransaction,
    (id, given_etag): (&str, &str),
    (stage, date): (Stage, NaiveDate),
    record: impl FnOnce(&mut insp_inspection::Model),
) -> Result<pb::Inspection, AppError> {
    let current = as_read(txn, id, given_etag).await?;
    if stage == Stage::OnSite
        && let Some(almo) = almo_db::entity::organisation::get(txn, &current.almo_id).await?
    {
        almo_server::almo_end::refuse_after_end(&almo, date, "an on-site date")?;
    }
    let today = Utc::now().date_naive();
    check_record(&actual_dates(&current), stage, date, today).map_err(lifecycle)?;
    let mut row = current.clone();
    record(&mut row);
    row.version = current.version + 1;
    row.updated_at = Utc::now();
    let done = storage::update_inspection_if_version(txn, row.clone(), current.version).await?;
    updated(done, &inspection_resource(&current.id))?;
    inspection_reply(txn, &row).await
}
