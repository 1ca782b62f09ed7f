//! Variances: RecordVariance (one figure), PushVariances (a client stream of many, in one
//! write), ListVarianceHistory (a record's revisions). Both writes go through [`ingest`]:
//! every record decided, corrections superseding what they correct, statuses moved on and the
//! exceptions now due raised.
//!
//! [`ingest`]: DeliveryPlans::ingest

use std::collections::{HashMap, HashSet};

use almo_db::PendingWrite;
use almo_db::entity::{dp_exception, dp_plan};
use almo_proto::delivery_plan::{self as pb};
use almo_server::{AppError, Principal};
use chrono::Utc;
use tonic::{Request, Status, Streaming};

use super::DeliveryPlans;
use super::access::require_council_officer;
use super::convert::{
    exception_to_proto, history_of, period_from_proto, rag_word, span_of, variance_period,
    variance_to_proto,
};
use super::status::by_target;
use super::write::new_id;
use crate::domain::exception::{self, OffTrackRun};
use crate::domain::ingest::{self, Decision, Held, Incoming};
use crate::domain::period::{Period, PeriodKind};
use crate::domain::status::{Figure, assess_target, exception_run, latest_status, off_track_run};
use crate::storage;

/// An actual for a period starting after the plan's ALMO ended is refused (FAILED_PRECONDITION
/// `ALMO_ENDED`, naming the end date and the first such record): the council reports for those
/// homes from then on.
async fn refuse_after_almo_end(
    txn: &impl sea_orm::ConnectionTrait,
    plan: &dp_plan::Model,
    records: &[pb::VarianceRecord],
) -> Result<(), AppError> {
    let Some(almo) = almo_db::entity::organisation::get(txn, &plan.almo_id).await? else {
        return Ok(());
    };
    for (i, r) in records.iter().enumerate() {
        if let Ok(period) = period_from_proto(r.period.as_ref()) {
            let what = format!("records[{i}]: an actual for {}", period.label());
            almo_server::almo_end::refuse_after_end(&almo, period.start_date(), &what)?;
        }
    }
    Ok(())
}

/// Up to this many records, a variance write reads only the held figures it can touch.
const TARGETED_READ_MAX: usize = 200;

/// The most records one push may carry; larger loads are split by the sender.
pub const MAX_PUSH_RECORDS: usize = 200_000;

/// What a variance write decided and raised.
struct Ingested {
    decisions: Vec<Decision>,
    raised: Vec<dp_exception::Model>,
}

impl Ingested {
    fn refusal(&self, i: usize, records: &[pb::VarianceRecord]) -> Option<pb::RecordRefusal> {
        match &self.decisions[i] {
            Decision::Refuse { field, reason } => Some(pb::RecordRefusal {
                index: i as i32,
                sender_record_id: records[i].sender_record_id.clone(),
                field: (*field).to_string(),
                reason: reason.clone(),
            }),
            _ => None,
        }
    }
}

fn outcome(d: &Decision) -> pb::RecordOutcome {
    match d {
        Decision::New => pb::RecordOutcome::Accepted,
        Decision::Correct { .. } => pb::RecordOutcome::Corrected,
        Decision::Unchanged => pb::RecordOutcome::Unchanged,
        Decision::Refuse { .. } => pb::RecordOutcome::Refused,
    }
}

/// The run an exception row reports.
fn exception_run_of(e: &dp_exception::Model) -> Result<OffTrackRun, AppError> {
    let kind = PeriodKind::parse(&e.period_kind).ok_or_else(|| {
        AppError::Internal(format!(
            "exception {}: period kind {:?}",
            e.id, e.period_kind
        ))
    })?;
    Ok(OffTrackRun {
        first: Period {
            year: e.first_year,
            kind,
            number: e.first_number,
        },
        last: Period {
            year: e.last_year,
            kind,
            number: e.last_number,
        },
        length: e.consecutive_periods.max(0) as u32,
    })
}

fn variances_resource(plan: &dp_plan::Model) -> String {
    format!("plans/{}/variances", plan.id)
}

impl DeliveryPlans {
    pub(super) async fn record_variance(
        &self,
        request: Request<pb::RecordVarianceRequest>,
    ) -> Result<pb::RecordVarianceResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let Some(record) = r.record.clone() else {
            return Err(AppError::invalid("record", "required"));
        };
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        require_council_officer(&p, &plan.council_id, "record variances against its plans")?;
        self.write_once(&p, "RecordVariance", &r.request_id, r, async |write| {
            let records = [record];
            let done = self.ingest(write, &p, &plan, &records).await?;
            // One record sent on its own: a malformed one is the call's INVALID_ARGUMENT (and,
            // returning before the write finishes, nothing of the call is kept).
            if let Decision::Refuse { field, reason } = &done.decisions[0] {
                return Err(AppError::invalid(format!("record.{field}"), reason.clone()));
            }
            let resp = pb::RecordVarianceResponse {
                outcome: outcome(&done.decisions[0]) as i32,
                exceptions_raised: done.raised.iter().map(exception_to_proto).collect(),
            };
            Ok((resp, variances_resource(&plan)))
        })
        .await
    }

    /// The whole push is one write: gathered first, then decided and written in one
    /// transaction, so a broken stream writes nothing. Who may push to which plan is settled
    /// on the first message, before the rest is read.
    pub(super) async fn push_variances(
        &self,
        request: Request<Streaming<pb::PushVariancesRequest>>,
    ) -> Result<pb::PushVariancesResponse, Status> {
        let p = self.ctx.principal(&request).await?;
        let mut stream = request.into_inner();
        let Some(mut all) = stream.message().await? else {
            return Err(AppError::invalid("plan_id", "required in the first message").into());
        };
        let plan = self.visible_plan(&p, &all.plan_id).await?;
        require_council_officer(&p, &plan.council_id, "push variances against its plans")?;
        while let Some(msg) = stream.message().await? {
            if (!msg.plan_id.is_empty() && msg.plan_id != all.plan_id)
                || (!msg.request_id.is_empty() && msg.request_id != all.request_id)
            {
                return Err(AppError::invalid(
                    "plan_id",
                    "one push is for one plan under one request_id, given in the first message",
                )
                .into());
            }
            if all.records.len() + msg.records.len() > MAX_PUSH_RECORDS {
                return Err(AppError::invalid(
                    "records",
                    format!("at most {MAX_PUSH_RECORDS} records in one push; split it"),
                )
                .into());
            }
            all.records.extend(msg.records);
        }
        let resp = self
            .write_once(&p, "PushVariances", &all.request_id, &all, async |write| {
                let done = self.ingest(write, &p, &plan, &all.records).await?;
                let mut resp = pb::PushVariancesResponse {
                    received: all.records.len() as i32,
                    exceptions_raised: done.raised.iter().map(exception_to_proto).collect(),
                    ..Default::default()
                };
                for (i, d) in done.decisions.iter().enumerate() {
                    match d {
                        Decision::New => resp.accepted += 1,
                        Decision::Correct { .. } => resp.corrected += 1,
                        Decision::Unchanged => resp.unchanged += 1,
                        Decision::Refuse { .. } => {
                            resp.refused += 1;
                            resp.refusals.extend(done.refusal(i, &all.records));
                        }
                    }
                }
                almo_telemetry::metrics::variances_accepted(resp.accepted as u64);
                almo_telemetry::metrics::variances_refused(resp.refused as u64);
                Ok((resp, variances_resource(&plan)))
            })
            .await?;
        Ok(resp)
    }

    pub(super) async fn list_variance_history(
        &self,
        request: Request<pb::ListVarianceHistoryRequest>,
    ) -> Result<pb::ListVarianceHistoryResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        if r.sender_record_id.trim().is_empty() {
            return Err(AppError::invalid("sender_record_id", "required"));
        }
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        let rows =
            storage::variance_history(self.ctx.db.conn(), &plan.id, r.sender_record_id.trim())
                .await?;
        let variances = rows
            .iter()
            .map(variance_to_proto)
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(pb::ListVarianceHistoryResponse { variances })
    }

    /// Records variance figures inside `write`: decides every record, supersedes corrected
    /// figures, inserts the new ones in multi-row chunks and raises the exceptions now due.
    async fn ingest(
        &self,
        write: &PendingWrite,
        p: &Principal,
        plan: &dp_plan::Model,
        records: &[pb::VarianceRecord],
    ) -> Result<Ingested, AppError> {
        let txn = write.txn();
        storage::lock_plan(txn, &plan.id).await?;
        refuse_after_almo_end(txn, plan, records).await?;
        let history = history_of(plan, &storage::versions(txn, &plan.id).await?)?;
        // A small call needs only the figures of its targets (for the one-figure-per-period rule,
        // statuses and exceptions) and of its record ids (for corrections); a bulk push reads
        // the plan's figures in one go.
        let current = if records.len() <= TARGETED_READ_MAX {
            let codes: HashSet<String> = records
                .iter()
                .map(|r| r.target_code.trim().to_string())
                .collect();
            let ids: HashSet<String> = records
                .iter()
                .map(|r| r.sender_record_id.trim().to_string())
                .collect();
            storage::current_variances_of(txn, &plan.id, &codes, &ids).await?
        } else {
            storage::current_variances(txn, &plan.id).await?
        };
        let mut held: HashMap<String, Held> = HashMap::with_capacity(current.len());
        for r in &current {
            held.insert(
                r.sender_record_id.clone(),
                Held {
                    id: r.id,
                    revision: r.revision,
                    target_code: r.target_code.clone(),
                    period: variance_period(r)?,
                    actual: r.actual,
                    forecast: r.forecast,
                    commentary: r.commentary.clone(),
                },
            );
        }
        let incoming: Vec<Incoming> = records
            .iter()
            .map(|r| Incoming {
                sender_record_id: r.sender_record_id.clone(),
                target_code: r.target_code.clone(),
                period: period_from_proto(r.period.as_ref()),
                actual: r.actual,
                forecast: r.forecast,
                commentary: r.commentary.clone(),
            })
            .collect();
        let today = self.clock.today();
        let decisions = ingest::classify(&history, span_of(plan), today, &held, &incoming);

        let now = Utc::now();
        let mut superseded = Vec::new();
        let mut rows = Vec::new();
        let mut figures: HashMap<String, Figure> = held
            .iter()
            .map(|(id, h)| {
                (
                    id.clone(),
                    Figure {
                        target_code: h.target_code.clone(),
                        period: h.period,
                        actual: h.actual,
                        forecast: h.forecast,
                        commentary: h.commentary.clone(),
                    },
                )
            })
            .collect();
        let before = figures.clone();
        let mut touched: HashSet<String> = HashSet::new();
        for (r, d) in incoming.iter().zip(&decisions) {
            let revision = match d {
                Decision::New => 1,
                Decision::Correct {
                    supersedes,
                    revision,
                } => {
                    superseded.push(*supersedes);
                    *revision
                }
                Decision::Unchanged | Decision::Refuse { .. } => continue,
            };
            let id = r.sender_record_id.trim();
            let figure = Figure {
                target_code: r.target_code.trim().to_string(),
                period: r.period.clone().expect("accepted records have a period"),
                actual: r.actual,
                forecast: r.forecast,
                commentary: r.commentary.trim().to_string(),
            };
            rows.push(storage::variance_row(
                &plan.id,
                id,
                revision,
                &figure,
                &p.caller.subject,
                now,
            ));
            touched.insert(figure.target_code.clone());
            figures.insert(id.to_string(), figure);
        }
        storage::supersede(txn, &superseded).await?;
        storage::insert_variances(txn, rows).await?;

        let open: HashMap<String, dp_exception::Model> = storage::open_exceptions(txn, &plan.id)
            .await?
            .into_iter()
            .map(|e| (e.target_code.clone(), e))
            .collect();
        let threshold = history.latest().content.exception_after;
        let mut raised = Vec::new();
        let mut events = Vec::new();
        let (mut new, mut corrected) = (0, 0);
        for d in &decisions {
            match d {
                Decision::New => new += 1,
                Decision::Correct { .. } => corrected += 1,
                _ => {}
            }
        }
        if new + corrected > 0 {
            events.push(storage::event(
                &plan.id,
                "variances_recorded",
                &plan.id,
                format!("{new} new and {corrected} corrected figures"),
                now,
            ));
        }
        let mut touched: Vec<String> = touched.into_iter().collect();
        touched.sort();
        // Figures grouped by target once, not filtered again for every target.
        let now_by_target = by_target(figures.values());
        let before_by_target = by_target(before.values());
        let none: Vec<&Figure> = Vec::new();
        for code in touched {
            let figures_now = now_by_target.get(code.as_str()).unwrap_or(&none);
            let figures_before = before_by_target.get(code.as_str()).unwrap_or(&none);
            let assessed = assess_target(&history, &code, figures_now.iter().copied());
            let was = latest_status(&assess_target(
                &history,
                &code,
                figures_before.iter().copied(),
            ));
            let is = latest_status(&assessed);
            if was != is {
                events.push(storage::event(
                    &plan.id,
                    "status_changed",
                    &code,
                    format!("{code}: {} -> {}", rag_word(was), rag_word(is)),
                    now,
                ));
            }
            // An unresolved exception stays the one exception of its target, and keeps
            // counting while the same run goes on.
            if let Some(e) = open.get(&code) {
                let raised = exception_run_of(e)?;
                let now_run = off_track_run(&assessed, raised.first.kind);
                if let Some(run) = exception::continued(raised, now_run) {
                    storage::extend_exception(txn, &e.id, &run).await?;
                }
                continue;
            }
            if let Some(run) = exception_run(&assessed, threshold) {
                let e = storage::open_exception(new_id("EXC", now), &plan.id, &code, &run, now);
                events.push(storage::event(
                    &plan.id,
                    "exception_raised",
                    &e.id,
                    format!(
                        "{code} off track for {} periods in a row, {} to {}",
                        run.length,
                        run.first.label(),
                        run.last.label()
                    ),
                    now,
                ));
                raised.push(e);
            }
        }
        storage::insert_exceptions(txn, raised.clone()).await?;
        storage::insert_events(txn, events).await?;
        Ok(Ingested { decisions, raised })
    }
}
