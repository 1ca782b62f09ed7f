//! WatchPlanEvents: a plan's events from a cursor on, as they are written.

use almo_db::entity::dp_event;
use almo_proto::delivery_plan::{self as pb};
use almo_server::AppError;
use almo_server::timestamp as ts;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status};

use super::DeliveryPlans;
use crate::storage;

pub(super) type EventStream = ReceiverStream<Result<pb::WatchPlanEventsResponse, Status>>;

/// How long one watch call lasts before it ends cleanly; the client carries on from the last
/// cursor. A watch also ends as soon as the server starts draining on shutdown.
const WATCH_MAX: std::time::Duration = std::time::Duration::from_secs(30);

fn event_kind(kind: &str) -> pb::PlanEventKind {
    use pb::PlanEventKind as K;
    match kind {
        "variances_recorded" => K::VariancesRecorded,
        "status_changed" => K::StatusChanged,
        "exception_raised" => K::ExceptionRaised,
        "exception_answered" => K::ExceptionAnswered,
        "exception_accepted" => K::ExceptionAccepted,
        "exception_escalated" => K::ExceptionEscalated,
        "amendment_proposed" => K::AmendmentProposed,
        "amendment_agreed" => K::AmendmentAgreed,
        "amendment_rejected" => K::AmendmentRejected,
        "amendment_withdrawn" => K::AmendmentWithdrawn,
        "capital_reprofiled" => K::CapitalReprofiled,
        _ => K::Unspecified,
    }
}

fn event_to_proto(e: &dp_event::Model) -> pb::WatchPlanEventsResponse {
    pb::WatchPlanEventsResponse {
        event: Some(pb::PlanEvent {
            cursor: e.id.to_string(),
            plan_id: e.plan_id.clone(),
            kind: event_kind(&e.kind) as i32,
            subject_id: e.subject_id.clone(),
            summary: e.summary.clone(),
            event_time: Some(ts(e.at)),
        }),
    }
}

impl DeliveryPlans {
    pub(super) async fn watch_plan_events(
        &self,
        request: Request<pb::WatchPlanEventsRequest>,
    ) -> Result<EventStream, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        let cursor = r.after_cursor.trim();
        let mut after = if cursor.is_empty() {
            storage::last_event_id(self.ctx.db.conn(), &plan.id).await?
        } else {
            cursor
                .parse::<i64>()
                .ok()
                .filter(|c| *c >= 0)
                .ok_or_else(|| AppError::invalid("after_cursor", "not a cursor this server sent"))?
        };
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let db = self.ctx.db.clone();
        let ctx = self.ctx.clone();
        let deadline = tokio::time::Instant::now() + WATCH_MAX;
        // Woken by a write to this plan on any replica (PostgreSQL NOTIFY), else by the poll:
        // either way the events are read from the table, so every replica serves every plan.
        let mut watch = self.wakeups.subscribe(&db);
        tokio::spawn(async move {
            loop {
                let rows = match storage::events_after(db.conn(), &plan.id, after, 500).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(AppError::from(e)))).await;
                        return;
                    }
                };
                if rows.is_empty() {
                    if tokio::time::Instant::now() >= deadline {
                        return;
                    }
                    tokio::select! {
                        _ = watch.changed(&plan.id) => continue,
                        _ = tx.closed() => return,
                        // Ends cleanly, as at WATCH_MAX: the client resumes from its last cursor
                        // on another replica instead of holding this one's drain open.
                        _ = ctx.draining() => return,
                    }
                }
                for row in rows {
                    after = row.id;
                    if tx.send(Ok(event_to_proto(&row))).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}
