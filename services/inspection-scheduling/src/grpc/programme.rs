//! A quarter's inspection programme proposed over the stored readiness, staff and bookings, and
//! the re-plan when an inspector drops out. The search itself is `domain::programme`.

use std::collections::HashMap;
use std::time::Duration;

use almo_db::entity::{insp_inspection, organisation};
use almo_proto::common::PeriodKind;
use almo_proto::inspection as pb;
use almo_server::{AppError, Violations};
use tonic::Request;

use super::InspectionScheduling;
use super::access::{almo_row, require_inspectorate};
use super::convert::{
    broken_rules_to_proto, good_and_promising, member, penalties_to_proto, target_of,
};
use crate::domain::programme::{
    Assignment, DEFAULT_STALL_STEPS, DEFAULT_TIME_BUDGET, MAX_TIME_BUDGET, Programme,
    ProgrammeAlmo, ProgrammeRequest, ScoredAssignment, Stop, quarter_dates, replan_without,
    schedule,
};
use crate::domain::slots::SoftScore;
use crate::domain::team::Inspector;
use crate::domain::{DateRange, HardRule};
use crate::storage;

/// The most steps a caller may ask for, and the most steps without improvement.
const MAX_STEPS: i32 = 10_000_000;
const MAX_STALL_STEPS: i32 = 1_000_000;

/// What the search may spend, checked: the quarter, the ALMOs (none: every live one), steps,
/// steps without improvement and time.
struct Search {
    quarter: DateRange,
    almo_ids: Vec<String>,
    max_steps: u64,
    stall_steps: u64,
    budget: Duration,
}

fn search(r: &pb::ProposeProgrammeRequest) -> Result<Search, AppError> {
    let mut v = Violations::new();
    let quarter = match &r.quarter {
        Some(q) if q.kind == PeriodKind::Quarter as i32 => {
            let d = q
                .year
                .as_ref()
                .and_then(|y| quarter_dates(y.start_year, q.number));
            v.check(
                d.is_none(),
                "quarter",
                "a financial year (start_year 1990 to 2100) and a quarter number 1 to 4",
            );
            d
        }
        _ => {
            v.add("quarter.kind", "required: PERIOD_KIND_QUARTER");
            None
        }
    };
    v.check(
        !(0..=MAX_STEPS).contains(&r.max_steps),
        "max_steps",
        format!("0 (no step limit) to {MAX_STEPS}"),
    );
    v.check(
        !(0..=MAX_TIME_BUDGET.as_millis() as i32).contains(&r.time_budget_ms),
        "time_budget_ms",
        format!(
            "0 (for {}) to {}",
            DEFAULT_TIME_BUDGET.as_millis(),
            MAX_TIME_BUDGET.as_millis()
        ),
    );
    v.check(
        !(0..=MAX_STALL_STEPS).contains(&r.max_steps_without_improvement),
        "max_steps_without_improvement",
        format!("0 (for {DEFAULT_STALL_STEPS}) to {MAX_STALL_STEPS}"),
    );
    let mut almo_ids: Vec<String> = r.almo_ids.iter().map(|a| a.trim().to_string()).collect();
    almo_ids.sort();
    let before = almo_ids.len();
    almo_ids.dedup();
    v.check(almo_ids.len() != before, "almo_ids", "lists an ALMO twice");
    v.check(almo_ids.len() > 500, "almo_ids", "at most 500");
    v.into_result()?;
    Ok(Search {
        quarter: quarter.expect("validated"),
        almo_ids,
        max_steps: if r.max_steps == 0 {
            u64::MAX
        } else {
            r.max_steps as u64
        },
        stall_steps: if r.max_steps_without_improvement == 0 {
            DEFAULT_STALL_STEPS
        } else {
            r.max_steps_without_improvement as u64
        },
        budget: if r.time_budget_ms == 0 {
            DEFAULT_TIME_BUDGET
        } else {
            Duration::from_millis(r.time_budget_ms as u64)
        },
    })
}

fn stop_to_proto(s: Stop) -> pb::StopReason {
    match s {
        Stop::NothingToSearch => pb::StopReason::NothingToSearch,
        Stop::NoImprovement => pb::StopReason::NoImprovement,
        Stop::StepLimit => pb::StopReason::StepLimit,
        Stop::TimeBudget => pb::StopReason::TimeBudget,
    }
}

/// Every rule that ruled out a week, each code once.
fn union(weeks: &[(chrono::NaiveDate, Vec<HardRule>)]) -> Vec<HardRule> {
    let mut rules: Vec<HardRule> = Vec::new();
    for b in weeks.iter().flat_map(|(_, r)| r) {
        if !rules.iter().any(|x| x.code() == b.code()) {
            rules.push(b.clone());
        }
    }
    rules
}

impl InspectionScheduling {
    pub(super) async fn propose_programme(
        &self,
        request: Request<pb::ProposeProgrammeRequest>,
    ) -> Result<pb::ProposeProgrammeResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let Search {
            quarter,
            almo_ids,
            max_steps,
            stall_steps,
            budget,
        } = search(r)?;
        require_inspectorate(&p, "schedule inspection programmes")?;
        let conn = self.ctx.db.conn();
        let orgs = self.programme_almos(&almo_ids).await?;
        let staff = storage::staff(conn, None).await?;
        let mut people: Vec<Inspector> = staff.iter().map(|m| m.domain.clone()).collect();
        let names: HashMap<String, (String, String)> = staff
            .iter()
            .map(|m| (m.row.id.clone(), (m.row.name.clone(), m.row.role.clone())))
            .collect();
        let mut almos = Vec::with_capacity(orgs.len());
        for org in &orgs {
            let stored = storage::readiness(conn, &org.id).await?;
            let (history, previous) = storage::history(conn, &org.id).await?;
            almos.push(ProgrammeAlmo {
                target: target_of(org, previous.map(|(s, _)| s)),
                readiness: stored.to_domain(org.go_live_date, org.end_date),
                history,
                previous_good_and_promising: good_and_promising(previous),
            });
        }
        let open: Vec<insp_inspection::Model> = storage::open_inspections_in(conn, quarter)
            .await?
            .into_iter()
            .filter(|o| orgs.iter().any(|a| a.id == o.almo_id))
            .collect();
        let open_ids: Vec<String> = open.iter().map(|o| o.id.clone()).collect();
        let teams = storage::teams(conn, &open_ids).await?;
        let pinned: Vec<Assignment> = open
            .iter()
            .map(|o| Assignment {
                almo_id: o.almo_id.clone(),
                week_start: o.on_site_date,
                team: teams
                    .iter()
                    .filter(|(m, _)| m.inspection_id == o.id)
                    .map(|(m, _)| m.inspector_id.clone())
                    .collect(),
                pinned: true,
            })
            .collect();
        // An inspector dropping out: the bookings with them are re-planned, not pinned.
        let dropped = r.dropped_inspector_id.trim().to_string();
        if !dropped.is_empty() && !staff.iter().any(|m| m.row.id == dropped) {
            return Err(AppError::invalid(
                "dropped_inspector_id",
                format!("no inspector {dropped:?}"),
            ));
        }
        if !dropped.is_empty() {
            for b in pinned.iter().filter(|b| b.team.contains(&dropped)) {
                let booking = open
                    .iter()
                    .find(|o| o.almo_id == b.almo_id)
                    .map(|o| o.id.clone())
                    .unwrap_or_default();
                for p in &mut people {
                    p.booked.retain(|(_, id)| *id != booking);
                }
                for a in almos.iter_mut().filter(|a| a.target.almo_id == b.almo_id) {
                    a.history.open_inspection = None;
                }
            }
        }
        let booked_before = pinned.clone();
        let dropped_id = dropped.clone();
        let seed = r.seed;
        // The search is CPU work: off the async workers.
        let prog = tokio::task::spawn_blocking(move || {
            let req = ProgrammeRequest {
                almos: &almos,
                people: &people,
                quarter,
                pinned: &pinned,
                seed,
                max_steps,
                stall_steps,
                time_budget: budget,
            };
            if dropped.is_empty() {
                schedule(&req)
            } else {
                let previous = Programme {
                    assignments: pinned
                        .iter()
                        .map(|a| ScoredAssignment {
                            assignment: a.clone(),
                            score: SoftScore::default(),
                        })
                        .collect(),
                    unscheduled: vec![],
                    cancelled: vec![],
                    soft_total: 0,
                    lower_bound: 0,
                    weeks_assessed: 0,
                    steps: 0,
                    stop: Stop::NothingToSearch,
                };
                replan_without(
                    &ProgrammeRequest {
                        pinned: &[],
                        ..req.clone()
                    },
                    &previous,
                    &dropped,
                )
            }
        })
        .await
        .map_err(|e| AppError::Internal(format!("programme search failed: {e}")))?;
        almo_telemetry::metrics::scheduling_run(prog.soft_total as f64);
        let member = |id: &String| {
            let (name, role) = names.get(id).cloned().unwrap_or_default();
            member(id, &name, &role)
        };
        Ok(pb::ProposeProgrammeResponse {
            assignments: prog
                .assignments
                .iter()
                .map(|a| pb::ProgrammeAssignment {
                    almo_id: a.assignment.almo_id.clone(),
                    on_site_start_date: a.assignment.week_start.to_string(),
                    team: a.assignment.team.iter().map(member).collect(),
                    // A booking already made is pinned unless the re-plan changed it.
                    pinned: booked_before.iter().any(|b| {
                        b.almo_id == a.assignment.almo_id
                            && b.week_start == a.assignment.week_start
                            && b.team == a.assignment.team
                    }),
                    changed: booked_before.iter().any(|b| {
                        b.almo_id == a.assignment.almo_id
                            && (b.week_start != a.assignment.week_start
                                || b.team != a.assignment.team)
                    }),
                    soft_score: a.score.total() as i32,
                    penalties: penalties_to_proto(&a.score),
                })
                .collect(),
            unscheduled: prog
                .unscheduled
                .iter()
                .map(|u| pb::UnscheduledAlmo {
                    almo_id: u.almo_id.clone(),
                    broken_rules: broken_rules_to_proto(&union(&u.weeks)),
                    weeks: u
                        .weeks
                        .iter()
                        .map(|(w, rules)| pb::RuledOutWeek {
                            on_site_start_date: w.to_string(),
                            broken_rules: broken_rules_to_proto(rules),
                        })
                        .collect(),
                })
                .collect(),
            soft_total: prog.soft_total as i32,
            weeks_assessed: prog.weeks_assessed as i64,
            steps: prog.steps.min(i32::MAX as u64) as i32,
            stop_reason: stop_to_proto(prog.stop) as i32,
            lower_bound: prog.lower_bound as i32,
            gap_percent: 100.0 * prog.gap(),
            cancelled_bookings: prog
                .cancelled
                .iter()
                .map(|c| pb::CancelledBooking {
                    inspection_id: open
                        .iter()
                        .find(|o| o.almo_id == c.almo_id && o.on_site_date == c.week_start)
                        .map(|o| o.id.clone())
                        .unwrap_or_default(),
                    almo_id: c.almo_id.clone(),
                    on_site_start_date: c.week_start.to_string(),
                    reason: format!(
                        "{} cannot be placed again in the quarter without {dropped_id}: no week has a team that keeps every rule",
                        c.almo_id
                    ),
                })
                .collect(),
        })
    }

    /// The ALMOs `ids` names, each one checked against the directory; none: every live ALMO.
    async fn programme_almos(&self, ids: &[String]) -> Result<Vec<organisation::Model>, AppError> {
        let conn = self.ctx.db.conn();
        if ids.is_empty() {
            return Ok(storage::live_almos(conn).await?);
        }
        let mut orgs = Vec::new();
        let mut v = Violations::new();
        for id in ids {
            match almo_row(conn, id).await {
                Ok(o) => orgs.push(o),
                Err(_) => v.add("almo_ids", format!("{id} is not an ALMO in the directory")),
            }
        }
        v.into_result()?;
        Ok(orgs)
    }
}
