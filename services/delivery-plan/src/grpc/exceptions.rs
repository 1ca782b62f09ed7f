//! Exceptions, raised when a target stays off track: ListExceptions; the ALMO answers with
//! SubmitExceptionReport, the council accepts or escalates with DecideExceptionReport.

use almo_db::PendingWrite;
use almo_db::entity::dp_exception;
use almo_fields as fields;
use almo_proto::delivery_plan::{self as pb};
use almo_server::{AppError, Principal, Violations};
use chrono::{DateTime, Utc};
use tonic::Request;

use super::DeliveryPlans;
use super::access::{party_of, visibility};
use super::convert::{exception_to_proto, page, page_request};
use super::write::{check_etag, exception_etag};
use crate::domain::amendment::Party;
use crate::domain::exception::{ExceptionState, decide_report, submit_report};
use crate::storage;

fn exception_resource(e: &dp_exception::Model) -> String {
    format!("exceptions/{}", e.id)
}

/// The exception as it now stands, locked inside the write (its plan first, see
/// `almo_db::lock`), and its state moved on by `transition`: the etag is checked first
/// (ABORTED, STALE_ETAG), then the state (refused: FAILED_PRECONDITION with `reason`).
async fn exception_transition(
    write: &PendingWrite,
    seen: &dp_exception::Model,
    etag: &str,
    reason: &'static str,
    transition: impl FnOnce(ExceptionState) -> Result<ExceptionState, String>,
) -> Result<(dp_exception::Model, ExceptionState), AppError> {
    storage::lock_plan(write.txn(), &seen.plan_id).await?;
    let e = storage::lock_exception(write.txn(), &seen.id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("exception {} vanished", seen.id)))?;
    check_etag(
        etag,
        &exception_etag(e.row_version),
        &exception_resource(&e),
    )?;
    let state = ExceptionState::parse(&e.state)
        .ok_or_else(|| AppError::Internal(format!("exception {}: state {:?}", e.id, e.state)))?;
    let next = transition(state).map_err(|m| AppError::failed_precondition(reason, m))?;
    Ok((e, next))
}

/// Stores an exception moved on from `before` to `updated` (its state already set), with the
/// plan event that says so; the reply is what `make` builds from it.
async fn store_exception_change<R>(
    write: &PendingWrite,
    before: &dp_exception::Model,
    mut updated: dp_exception::Model,
    now: DateTime<Utc>,
    make: impl FnOnce(pb::PlanException) -> R,
) -> Result<(R, String), AppError> {
    let resource = exception_resource(before);
    updated.row_version = before.row_version + 1;
    let event = storage::event(
        &before.plan_id,
        &format!("exception_{}", updated.state),
        &updated.id,
        format!("{}: {}", updated.target_code, updated.state),
        now,
    );
    storage::insert_events(write.txn(), vec![event]).await?;
    if !storage::update_exception_if(write.txn(), &updated, before.row_version).await? {
        return Err(AppError::stale_etag(&resource));
    }
    Ok((make(exception_to_proto(&updated)), resource))
}

impl DeliveryPlans {
    /// The exception, for the officers of `party` on its plan only: the ALMO answers an
    /// exception, the council decides on the answer.
    async fn exception_for(
        &self,
        p: &Principal,
        exception_id: &str,
        party: Party,
    ) -> Result<dp_exception::Model, AppError> {
        let (e, plan) = self.visible_exception(p, exception_id).await?;
        if party_of(p, &plan)? != party {
            return Err(AppError::PermissionDenied(match party {
                Party::Almo => format!(
                    "the ALMO ({}) answers exceptions; the council decides on its report",
                    plan.almo_id
                ),
                Party::Council => format!(
                    "the council ({}) decides on exception reports",
                    plan.council_id
                ),
            }));
        }
        Ok(e)
    }

    pub(super) async fn list_exceptions(
        &self,
        request: Request<pb::ListExceptionsRequest>,
    ) -> Result<pb::ListExceptionsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let (size, after) = page_request(r.page_size, &r.page_token)?;
        let plan_id = if r.plan_id.trim().is_empty() {
            None
        } else {
            Some(self.visible_plan(&p, &r.plan_id).await?.id)
        };
        let rows = storage::list_exceptions(
            self.ctx.db.conn(),
            &visibility(&p),
            plan_id.as_deref(),
            after,
            size + 1,
        )
        .await?;
        let (rows, next_page_token) = page(rows, size, |e| e.id.clone());
        Ok(pb::ListExceptionsResponse {
            exceptions: rows.iter().map(exception_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn submit_exception_report(
        &self,
        request: Request<pb::SubmitExceptionReportRequest>,
    ) -> Result<pb::SubmitExceptionReportResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.exception_id.trim().is_empty(), "exception_id", "required");
        v.require_etag(&r.etag, "the exception's etag as last read");
        for (field, value) in [("cause", &r.cause), ("recovery_action", &r.recovery_action)] {
            let t = value.trim();
            v.check(
                t.is_empty() || t.chars().count() > 4000,
                field,
                "required, at most 4000 characters",
            );
        }
        let recovery = v.field("recovery_date", fields::date(&r.recovery_date));
        if let Some(d) = recovery {
            v.check(
                d < Utc::now().date_naive(),
                "recovery_date",
                "must not be in the past",
            );
        }
        v.into_result()?;
        let e = self.exception_for(&p, &r.exception_id, Party::Almo).await?;
        self.write_once(
            &p,
            "SubmitExceptionReport",
            &r.request_id,
            r,
            async |write| {
                let (e, next) = exception_transition(
                    write,
                    &e,
                    &r.etag,
                    "EXCEPTION_NOT_AWAITING_REPORT",
                    submit_report,
                )
                .await?;
                let now = Utc::now();
                let mut updated = e.clone();
                updated.state = next.as_str().into();
                updated.report_cause = r.cause.trim().into();
                updated.report_recovery_action = r.recovery_action.trim().into();
                updated.report_recovery_date = recovery;
                updated.reported_by = Some(p.caller.subject.clone());
                updated.reported_at = Some(now);
                store_exception_change(write, &e, updated, now, |x| {
                    pb::SubmitExceptionReportResponse { exception: Some(x) }
                })
                .await
            },
        )
        .await
    }

    pub(super) async fn decide_exception_report(
        &self,
        request: Request<pb::DecideExceptionReportRequest>,
    ) -> Result<pb::DecideExceptionReportResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.exception_id.trim().is_empty(), "exception_id", "required");
        v.require_etag(&r.etag, "the exception's etag as last read");
        let accept = match pb::ExceptionDecision::try_from(r.decision) {
            Ok(pb::ExceptionDecision::Accept) => Some(true),
            Ok(pb::ExceptionDecision::Escalate) => Some(false),
            _ => {
                v.add(
                    "decision",
                    "required: EXCEPTION_DECISION_ACCEPT or EXCEPTION_DECISION_ESCALATE",
                );
                None
            }
        };
        v.check(
            accept == Some(false) && r.note.trim().is_empty(),
            "note",
            "required: say why the report is escalated",
        );
        v.check(
            r.note.chars().count() > 4000,
            "note",
            "at most 4000 characters",
        );
        v.into_result()?;
        let accept = accept.expect("checked above");
        let e = self
            .exception_for(&p, &r.exception_id, Party::Council)
            .await?;
        self.write_once(
            &p,
            "DecideExceptionReport",
            &r.request_id,
            r,
            async |write| {
                let (e, next) =
                    exception_transition(write, &e, &r.etag, "EXCEPTION_NOT_ANSWERED", |state| {
                        decide_report(state, accept)
                    })
                    .await?;
                let now = Utc::now();
                let mut updated = e.clone();
                updated.state = next.as_str().into();
                if !next.is_unresolved() {
                    // Closed: a target still off track later may raise a new exception.
                    updated.open_target = None;
                }
                updated.decision_note = r.note.trim().into();
                updated.decided_by = Some(p.caller.subject.clone());
                updated.decided_at = Some(now);
                store_exception_change(write, &e, updated, now, |x| {
                    pb::DecideExceptionReportResponse { exception: Some(x) }
                })
                .await
            },
        )
        .await
    }
}
