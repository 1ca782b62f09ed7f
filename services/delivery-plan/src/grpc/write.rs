//! The one write path of every change: once per request id, audited, in one transaction; and
//! the one etag check (AIP-154).

use almo_db::entity::{dp_plan, dp_plan_version};
use almo_db::{Begun, PendingWrite};
use almo_server::{AppError, Principal};
use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::ConnectionTrait;

use super::{DeliveryPlans, SERVICE_NAME};
use crate::storage;

impl DeliveryPlans {
    /// Runs `change` once per request id. A retry of a request already answered replays the
    /// first answer, looked up before `change` checks any state or etag (which the first answer
    /// has moved on). Otherwise `change` writes through the open transaction and returns the
    /// reply and the resource it changed; the audit row and the reply to replay are written and
    /// the transaction committed. An error from `change` writes nothing.
    pub(super) async fn write_once<R: Message + Default>(
        &self,
        p: &Principal,
        method: &str,
        request_id: &str,
        payload: &impl Message,
        change: impl AsyncFnOnce(&PendingWrite) -> Result<(R, String), AppError>,
    ) -> Result<R, AppError> {
        let ctx = p.call_context(SERVICE_NAME, method, request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, payload).await? {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        // The change's row locks are checked against the one order (`almo_db::lock`).
        let (resp, resource) = almo_db::lock::ordered(change(&write)).await?;
        write.finish(&resp, &resource).await?;
        Ok(resp)
    }
}

/// A change is based on the etag it read: any other than `current` is ABORTED (STALE_ETAG).
pub(super) fn check_etag(sent: &str, current: &str, resource: &str) -> Result<(), AppError> {
    if sent.trim() == current {
        Ok(())
    } else {
        Err(AppError::stale_etag(resource))
    }
}

pub(super) fn plan_etag(latest: i32) -> String {
    almo_fields::etag(latest.into())
}

pub(super) fn exception_etag(row_version: i32) -> String {
    format!("x{row_version}")
}

pub(super) fn amendment_etag(row_version: i32) -> String {
    format!("a{row_version}")
}

pub(super) fn plan_resource(plan: &dp_plan::Model) -> String {
    format!("plans/{}", plan.id)
}

/// Locks the plan for a change sent with `etag` and reads, inside the write, the plan and its
/// newest version as they now stand: ABORTED (STALE_ETAG) if the etag is not the plan's. The
/// plan's lock comes first, so every change to one plan queues there (see `almo_db::lock`).
pub(super) async fn latest_for_change(
    txn: &impl ConnectionTrait,
    plan: &dp_plan::Model,
    etag: &str,
) -> Result<(dp_plan::Model, dp_plan_version::Model), AppError> {
    let resource = plan_resource(plan);
    storage::lock_plan(txn, &plan.id).await?;
    let plan = storage::get_plan(txn, &plan.id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("plan {} vanished", plan.id)))?;
    check_etag(etag, &plan_etag(plan.latest_version), &resource)?;
    let latest = storage::versions(txn, &plan.id)
        .await?
        .pop()
        .filter(|l| l.version == plan.latest_version)
        .ok_or_else(|| AppError::Internal(format!("plan {}: no newest version", plan.id)))?;
    Ok((plan, latest))
}

/// A time-ordered id: the raise order of exceptions and amendments is their id order.
pub(super) fn new_id(prefix: &str, now: DateTime<Utc>) -> String {
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}-{}", now.format("%Y%m%d%H%M%S%6f"), &rand[..8])
}
