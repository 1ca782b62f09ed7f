//! WatchLifecycleEvents: the ALMO lifecycle events a caller may read, from a given id on, as
//! they are written (the outbox of `almo_db::lifecycle`).

use almo_auth::OrgKind;
use almo_db::entity::lifecycle_event;
use almo_db::lifecycle;
use almo_proto::directory::{self as pb, WatchLifecycleEventsRequest};
use almo_server::{AppError, Principal, Violations, timestamp as ts};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status};

use super::Directory;

pub(super) type LifecycleStream = ReceiverStream<Result<pb::WatchLifecycleEventsResponse, Status>>;

// A caught-up watch waits for a wake-up (`almo_db::notify`: PostgreSQL NOTIFY from the writing
// transaction, on every replica, heard by the server's one lifecycle listener, which its
// consumers share) or the poll (`ALMO_WATCH_POLL_MS`, 250 ms), then reads the table: the rows
// are the truth, so any replica serves every event and a lost wake-up only delays one.

/// How long one watch lasts before it ends cleanly; the client resumes from its last event id.
const WATCH_MAX: std::time::Duration = std::time::Duration::from_secs(30);
/// Events read per query.
const BATCH: u64 = 500;

fn kind_to_proto(kind: &str) -> pb::LifecycleEventKind {
    use lifecycle::kind as k;
    use pb::LifecycleEventKind as K;
    match kind {
        k::OPTIONS_REVIEW_STARTED => K::OptionsReviewStarted,
        k::DEPARTMENT_NOTIFIED => K::DepartmentNotified,
        k::OPINION_TESTED => K::OpinionTested,
        k::DECISION_RECORDED => K::DecisionRecorded,
        k::END_DATE_SET => K::EndDateSet,
        k::GO_LIVE_SET => K::GoLiveSet,
        k::AGREEMENT_EXTENDED => K::AgreementExtended,
        _ => K::Unspecified,
    }
}

fn event_to_proto(e: lifecycle_event::Model) -> pb::WatchLifecycleEventsResponse {
    pb::WatchLifecycleEventsResponse {
        event: Some(pb::LifecycleEvent {
            event_id: e.id.to_string(),
            almo_id: e.organisation_id,
            council_id: e.council_id.unwrap_or_default(),
            kind: kind_to_proto(&e.kind) as i32,
            payload_json: e.payload,
            create_time: Some(ts(e.created_at)),
        }),
    }
}

/// Which events `p` may read: a council its ALMOs', an ALMO its own, the national bodies and the
/// operator everyone's.
#[derive(Clone)]
enum Visible {
    All,
    Council(String),
    Almo(String),
}

impl Visible {
    fn of(p: &Principal) -> Self {
        match p.org.kind {
            OrgKind::Council => Visible::Council(p.org.id.clone()),
            OrgKind::Almo => Visible::Almo(p.org.id.clone()),
            _ => Visible::All,
        }
    }

    fn admits(&self, e: &lifecycle_event::Model) -> bool {
        match self {
            Visible::All => true,
            Visible::Council(c) => e.council_id.as_deref() == Some(c.as_str()),
            Visible::Almo(a) => e.organisation_id == *a,
        }
    }
}

impl Directory {
    pub(super) async fn watch_lifecycle_events(
        &self,
        request: Request<WatchLifecycleEventsRequest>,
    ) -> Result<LifecycleStream, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let almo = r.almo_id.trim();
        if !almo.is_empty() {
            v.field("almo_id", almo_fields::id(almo));
        }
        let start = r.after_event_id.trim();
        let after = if start.is_empty() {
            None
        } else {
            v.field(
                "after_event_id",
                start
                    .parse::<i64>()
                    .ok()
                    .filter(|c| *c >= 0)
                    .ok_or_else(|| "not an event id this server sent".to_string()),
            )
        };
        v.into_result()?;
        let only: Option<Vec<String>> = if almo.is_empty() {
            None
        } else {
            let target = self.ctx.access.require_read(&p, almo).await?;
            if target.kind != OrgKind::Almo {
                return Err(AppError::invalid(
                    "almo_id",
                    format!("{almo} is not an ALMO"),
                ));
            }
            Some(vec![almo.to_string()])
        };
        let visible = Visible::of(&p);
        let mut after = match after {
            Some(a) => a,
            None => lifecycle::last_id(self.ctx.db.conn()).await?,
        };
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let ctx = self.ctx.clone();
        let mut watch = ctx.lifecycle_watch(self.watch_poll);
        let deadline = tokio::time::Instant::now() + WATCH_MAX;
        tokio::spawn(async move {
            loop {
                let rows =
                    match lifecycle::after(ctx.db.conn(), after, only.as_deref(), BATCH).await {
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
                        _ = watch.changed(lifecycle::KEY) => continue,
                        _ = tx.closed() => return,
                        _ = ctx.draining() => return,
                    }
                }
                for row in rows {
                    after = row.id;
                    if visible.admits(&row) && tx.send(Ok(event_to_proto(row))).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}
