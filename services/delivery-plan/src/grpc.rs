//! `almo.delivery_plan.v1.DeliveryPlanService`: decode -> check caller -> domain -> storage ->
//! reply.

use std::collections::{BTreeMap, HashMap, HashSet};

use almo_auth::{OrgKind, Role};
use almo_db::entity::{
    dp_amendment, dp_event, dp_exception, dp_plan, dp_plan_version, dp_variance,
};
use almo_db::{Begun, PendingWrite};
use almo_proto::common;
use almo_proto::delivery_plan::delivery_plan_service_server::DeliveryPlanService;
use almo_proto::delivery_plan::{self as pb};
use almo_server::timestamp as ts;
use almo_server::{AppError, Principal, ServiceContext, Violations, paging};
use chrono::{DateTime, NaiveDate, Utc};
use tonic::{Request, Response, Status, Streaming};

use crate::domain::amendment::{self, AmendmentState, Answer, AnswerRefusal, Party};
use crate::domain::catalogue::{self, PiDefinition, Stated};
use crate::domain::countdown::{Countdown, countdown};
use crate::domain::exception::{ExceptionState, decide_report, submit_report};
use crate::domain::ingest::{self, Decision, Held, Incoming};
use crate::domain::period::{Period, PeriodKind};
use crate::domain::plan::{
    CapitalCategory, CapitalLine, DEFAULT_EXCEPTION_AFTER, DecentHomes, Direction, History,
    Milestone, PlanContent, Span, Target, TargetKind, Tolerance, ToleranceKind, Unit, Version,
};
use crate::domain::status::{
    Assessed, Figure, assess_milestones, assess_target, exception_run, latest_status,
};
use crate::domain::tolerance::{Rag, Trend};
use crate::storage::{self, Visibility};

pub const SERVICE_NAME: &str = "almo.delivery_plan.v1.DeliveryPlanService";

/// Up to this many records, a variance write reads only the held figures it can touch.
const TARGETED_READ_MAX: usize = 200;

/// The most records one push may carry; larger loads are split by the sender.
pub const MAX_PUSH_RECORDS: usize = 200_000;

#[derive(Clone)]
pub struct DeliveryPlans {
    ctx: ServiceContext,
}

fn db(e: impl Into<AppError>) -> AppError {
    e.into()
}

fn plan_etag(latest: i32) -> String {
    format!("v{latest}")
}

fn exception_etag(row_version: i32) -> String {
    format!("x{row_version}")
}

/// The exception's state as read, moved on by `transition` (refused: FAILED_PRECONDITION with
/// `reason`), once `etag` is checked against the row as read.
fn exception_transition(
    e: &dp_exception::Model,
    etag: &str,
    reason: &'static str,
    transition: impl FnOnce(ExceptionState) -> Result<ExceptionState, String>,
) -> Result<ExceptionState, AppError> {
    let state = ExceptionState::parse(&e.state)
        .ok_or_else(|| AppError::Internal(format!("exception {}: state {:?}", e.id, e.state)))?;
    let next = transition(state).map_err(|m| AppError::failed_precondition(reason, m))?;
    if etag.trim() != exception_etag(e.row_version) {
        return Err(AppError::stale_etag(&format!("exceptions/{}", e.id)));
    }
    Ok(next)
}

/// Stores an exception moved on from `before` to `updated` (its state already set), with the
/// plan event that says so, and finishes the write with the reply `make` builds from it.
async fn store_exception_change<R: prost::Message>(
    write: PendingWrite,
    before: &dp_exception::Model,
    mut updated: dp_exception::Model,
    now: chrono::DateTime<Utc>,
    make: impl FnOnce(pb::PlanException) -> R,
) -> Result<R, AppError> {
    let resource = format!("exceptions/{}", before.id);
    updated.row_version = before.row_version + 1;
    storage::lock_plan(write.txn(), &before.plan_id)
        .await
        .map_err(db)?;
    storage::insert_events(
        write.txn(),
        vec![storage::event(
            &before.plan_id,
            &format!("exception_{}", updated.state),
            &updated.id,
            format!("{}: {}", updated.target_code, updated.state),
            now,
        )],
    )
    .await
    .map_err(db)?;
    if !storage::update_exception_if(write.txn(), &updated, before.row_version)
        .await
        .map_err(db)?
    {
        return Err(AppError::stale_etag(&resource));
    }
    let resp = make(exception_to_proto(&updated));
    write.finish(&resp, &resource).await.map_err(db)?;
    Ok(resp)
}

fn amendment_etag(row_version: i32) -> String {
    format!("a{row_version}")
}

/// A time-ordered id: the raise order of exceptions and amendments is their id order.
fn new_id(prefix: &str, now: DateTime<Utc>) -> String {
    let rand = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}-{}", now.format("%Y%m%d%H%M%S%6f"), &rand[..8])
}

fn parse_date(v: &mut Violations, field: &str, s: &str, required: bool) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        if required {
            v.add(field, "required: an ISO-8601 date such as 2026-04-01");
        }
        return None;
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(
                field,
                format!("{s:?} is not an ISO-8601 date such as 2026-04-01"),
            );
            None
        }
    }
}

fn visibility(p: &Principal) -> Visibility {
    match p.org.kind {
        OrgKind::Council => Visibility::Council(p.org.id.clone()),
        OrgKind::Almo => Visibility::Almo(p.org.id.clone()),
        OrgKind::Regulator | OrgKind::Inspectorate | OrgKind::Operator => Visibility::All,
    }
}

/// The caller's side of the plan, for the calls only the parties make: the council's officers
/// for the council, the ALMO's officers for the ALMO.
fn party_of(p: &Principal, plan: &dp_plan::Model) -> Result<Party, AppError> {
    let party = if p.org.id == plan.council_id && p.caller.role == Role::CouncilOfficer {
        Party::Council
    } else if p.org.id == plan.almo_id && p.caller.role == Role::AlmoOfficer {
        Party::Almo
    } else {
        return Err(AppError::PermissionDenied(format!(
            "only officers of {} or {} act on plan {} ({} is {})",
            plan.council_id, plan.almo_id, plan.id, p.org.id, p.caller.role
        )));
    };
    Ok(party)
}

/// The council writes its plans and their variances; nobody else does.
fn require_council_officer(p: &Principal, council_id: &str, what: &str) -> Result<(), AppError> {
    if p.org.id == council_id && p.caller.role == Role::CouncilOfficer {
        Ok(())
    } else {
        Err(AppError::PermissionDenied(format!(
            "only officers of council {council_id} may {what}; {} is {} of {}",
            p.caller.subject, p.caller.role, p.org.id
        )))
    }
}

// ---- proto -> domain ----

fn year_of(v: &mut Violations, field: &str, y: Option<&common::FinancialYear>) -> Option<i32> {
    match y {
        Some(y) if (1990..=2100).contains(&y.start_year) => Some(y.start_year),
        Some(y) => {
            v.add(
                field,
                format!("{} is not a start year between 1990 and 2100", y.start_year),
            );
            None
        }
        None => {
            v.add(field, "required");
            None
        }
    }
}

fn finite(v: &mut Violations, field: &str, x: f64) -> f64 {
    v.check(!x.is_finite(), field, "must be a finite number");
    x
}

/// Decodes one target. A PI target may leave its unit and direction to the catalogue
/// ([`catalogue::resolve`]); `Stated` says which it gave.
fn target_from_proto(v: &mut Violations, f: &str, t: &pb::Target) -> (Target, Stated) {
    let kind = match pb::TargetKind::try_from(t.kind) {
        Ok(pb::TargetKind::Pi) => TargetKind::Pi,
        Ok(pb::TargetKind::Local) => TargetKind::Local,
        _ => {
            v.add(
                format!("{f}.kind"),
                "required: TARGET_KIND_PI or TARGET_KIND_LOCAL",
            );
            // Judge the code by the kind it looks like, so the one mistake is reported once.
            if crate::domain::plan::is_pi_code(t.code.trim()) {
                TargetKind::Pi
            } else {
                TargetKind::Local
            }
        }
    };
    let pi = t.kind == pb::TargetKind::Pi as i32;
    let stated = Stated {
        unit: t.unit != pb::Unit::Unspecified as i32,
        direction: t.direction != pb::Direction::Unspecified as i32,
    };
    let unit = match pb::Unit::try_from(t.unit) {
        Ok(pb::Unit::Unspecified) if pi => Unit::Ratio,
        Ok(pb::Unit::Percent) => Unit::Percent,
        Ok(pb::Unit::Count) => Unit::Count,
        Ok(pb::Unit::Days) => Unit::Days,
        Ok(pb::Unit::Ratio) => Unit::Ratio,
        _ => {
            v.add(
                format!("{f}.unit"),
                "required: UNIT_PERCENT, UNIT_COUNT, UNIT_DAYS or UNIT_RATIO",
            );
            Unit::Ratio
        }
    };
    let direction = match pb::Direction::try_from(t.direction) {
        Ok(pb::Direction::Unspecified) if pi => Direction::HigherIsBetter,
        Ok(pb::Direction::HigherIsBetter) => Direction::HigherIsBetter,
        Ok(pb::Direction::LowerIsBetter) => Direction::LowerIsBetter,
        _ => {
            v.add(
                format!("{f}.direction"),
                "required: DIRECTION_HIGHER_IS_BETTER or DIRECTION_LOWER_IS_BETTER",
            );
            Direction::HigherIsBetter
        }
    };
    let mut yearly = BTreeMap::new();
    for (j, y) in t.yearly_targets.iter().enumerate() {
        let field = format!("{f}.yearly_targets[{j}]");
        if let Some(year) = year_of(v, &format!("{field}.year"), y.year.as_ref())
            && yearly.insert(year, y.value).is_some()
        {
            v.add(format!("{field}.year"), format!("{year} has two targets"));
        }
    }
    let tolerance = match &t.tolerance {
        Some(tol) => Tolerance {
            kind: match pb::ToleranceKind::try_from(tol.kind) {
                Ok(pb::ToleranceKind::Absolute) => ToleranceKind::Absolute,
                Ok(pb::ToleranceKind::Relative) => ToleranceKind::Relative,
                _ => {
                    v.add(
                        format!("{f}.tolerance.kind"),
                        "required: TOLERANCE_KIND_ABSOLUTE or TOLERANCE_KIND_RELATIVE",
                    );
                    ToleranceKind::Absolute
                }
            },
            amber: tol.amber,
            red: tol.red,
        },
        None => {
            v.add(
                format!("{f}.tolerance"),
                "required: amber and red tolerances",
            );
            Tolerance {
                kind: ToleranceKind::Absolute,
                amber: 0.0,
                red: 0.0,
            }
        }
    };
    let mut milestones = Vec::with_capacity(t.milestones.len());
    for (j, m) in t.milestones.iter().enumerate() {
        let field = format!("{f}.milestones[{j}]");
        let value = finite(v, &format!("{field}.value"), m.value);
        // An undated milestone keeps its place, so later ones are reported by their own index;
        // its date is already refused.
        let date = parse_date(v, &format!("{field}.date"), &m.date, true).unwrap_or(NaiveDate::MIN);
        milestones.push(Milestone { date, value });
    }
    let target = Target {
        code: t.code.trim().to_string(),
        kind,
        name: t.name.trim().to_string(),
        unit,
        direction,
        baseline: t.baseline,
        yearly,
        tolerance,
        milestones,
    };
    (target, stated)
}

/// Decodes plan content, recording every malformed field; the plan rules are checked after.
fn content_from_proto(
    v: &mut Violations,
    prefix: &str,
    c: Option<&pb::PlanContent>,
) -> Option<(PlanContent, Vec<Stated>)> {
    let Some(c) = c else {
        v.add(
            prefix,
            "required: the plan's targets, programme, profile and delegations",
        );
        return None;
    };
    let (targets, stated): (Vec<Target>, Vec<Stated>) = c
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| target_from_proto(v, &format!("{prefix}.targets[{i}]"), t))
        .unzip();
    let decent_homes = c.decent_homes.as_ref().map(|dh| {
        let f = format!("{prefix}.decent_homes");
        let target_date =
            parse_date(v, &format!("{f}.target_date"), &dh.target_date, true).unwrap_or_default();
        let mut planned = BTreeMap::new();
        for (j, y) in dh.planned_decent.iter().enumerate() {
            let field = format!("{f}.planned_decent[{j}].year");
            if let Some(year) = year_of(v, &field, y.year.as_ref())
                && planned.insert(year, y.count).is_some()
            {
                v.add(field, format!("{year} appears twice"));
            }
        }
        DecentHomes {
            non_decent_at_baseline: dh.non_decent_at_baseline,
            target_date,
            planned,
            progress_target_code: dh.progress_target_code.trim().to_string(),
        }
    });
    let mut capital = Vec::new();
    for (i, line) in c.capital_profile.iter().enumerate() {
        let f = format!("{prefix}.capital_profile[{i}]");
        let year = year_of(v, &format!("{f}.year"), line.year.as_ref());
        let category = match pb::CapitalCategory::try_from(line.category) {
            Ok(pb::CapitalCategory::DecentHomes) => Some(CapitalCategory::DecentHomes),
            Ok(pb::CapitalCategory::Sustainability) => Some(CapitalCategory::Sustainability),
            Ok(pb::CapitalCategory::EstateImprovement) => Some(CapitalCategory::EstateImprovement),
            Ok(pb::CapitalCategory::Other) => Some(CapitalCategory::Other),
            _ => {
                v.add(format!("{f}.category"), "required: a CAPITAL_CATEGORY_...");
                None
            }
        };
        let pence = match &line.amount {
            Some(m) if m.currency_code.is_empty() || m.currency_code == "GBP" => Some(m.pence),
            Some(_) => {
                v.add(format!("{f}.amount.currency_code"), "must be GBP");
                None
            }
            None => {
                v.add(format!("{f}.amount"), "required");
                None
            }
        };
        if let (Some(year), Some(category), Some(pence)) = (year, category, pence) {
            capital.push(CapitalLine {
                year,
                category,
                pence,
            });
        }
    }
    let cost_effectiveness_percent = finite(
        v,
        &format!("{prefix}.annual_cost_effectiveness_percent"),
        c.annual_cost_effectiveness_percent,
    );
    let exception_after = match c.exception_after_periods {
        0 => DEFAULT_EXCEPTION_AFTER,
        n if n > 0 => n as u32,
        _ => {
            v.add(
                format!("{prefix}.exception_after_periods"),
                "must not be negative",
            );
            DEFAULT_EXCEPTION_AFTER
        }
    };
    let content = PlanContent {
        targets,
        decent_homes,
        capital,
        cost_effectiveness_percent,
        delegated_functions: c
            .delegated_functions
            .iter()
            .map(|d| d.trim().to_string())
            .collect(),
        exception_after,
    };
    Some((content, stated))
}

/// Decodes and checks plan content against the plan rules. A field that could not be decoded
/// is reported once, not again by the rules it then breaks.
fn checked_content(
    v: &mut Violations,
    prefix: &str,
    c: Option<&pb::PlanContent>,
    span: Option<Span>,
    catalogue: &[PiDefinition],
) -> Option<PlanContent> {
    let mut decoding = Violations::new();
    let content = content_from_proto(&mut decoding, prefix, c);
    let mut reported = HashSet::new();
    if let Err(AppError::InvalidArgument { violations, .. }) = decoding.into_result() {
        for f in violations {
            reported.insert(f.field.clone());
            v.add(f.field, f.description);
        }
    }
    let (mut content, stated) = content?;
    if let Some(span) = span {
        for (i, (t, stated)) in content.targets.iter_mut().zip(stated).enumerate() {
            let field = format!("{prefix}.targets[{i}]");
            // A target of no stated kind is already refused; its code was only guessed at.
            if reported.contains(&format!("{field}.kind")) {
                continue;
            }
            for (field, reason) in catalogue::resolve(t, stated, span, catalogue, &field) {
                if reported.insert(field.clone()) {
                    v.add(field, reason);
                }
            }
        }
        for (field, reason) in crate::domain::plan::violations(&content, span, prefix) {
            if !reported.contains(&field) {
                v.add(field, reason);
            }
        }
    }
    Some(content)
}

fn period_from_proto(p: Option<&common::Period>) -> Result<Period, String> {
    let p = p.ok_or("required: a month or quarter of a financial year")?;
    let year = p.year.as_ref().ok_or("year required")?.start_year;
    let kind = match common::PeriodKind::try_from(p.kind) {
        Ok(common::PeriodKind::Month) => PeriodKind::Month,
        Ok(common::PeriodKind::Quarter) => PeriodKind::Quarter,
        _ => return Err("kind must be PERIOD_KIND_MONTH or PERIOD_KIND_QUARTER".into()),
    };
    Period::new(year, kind, p.number)
}

// ---- domain -> proto ----

fn fy(year: i32) -> Option<common::FinancialYear> {
    Some(common::FinancialYear { start_year: year })
}

fn period_to_proto(p: Period) -> common::Period {
    common::Period {
        year: fy(p.year),
        kind: match p.kind {
            PeriodKind::Month => common::PeriodKind::Month,
            PeriodKind::Quarter => common::PeriodKind::Quarter,
        } as i32,
        number: p.number,
    }
}

fn direction_to_proto(d: Direction) -> pb::Direction {
    match d {
        Direction::HigherIsBetter => pb::Direction::HigherIsBetter,
        Direction::LowerIsBetter => pb::Direction::LowerIsBetter,
    }
}

fn content_to_proto(c: &PlanContent) -> pb::PlanContent {
    pb::PlanContent {
        targets: c
            .targets
            .iter()
            .map(|t| pb::Target {
                code: t.code.clone(),
                kind: match t.kind {
                    TargetKind::Pi => pb::TargetKind::Pi,
                    TargetKind::Local => pb::TargetKind::Local,
                } as i32,
                name: t.name.clone(),
                unit: match t.unit {
                    Unit::Percent => pb::Unit::Percent,
                    Unit::Count => pb::Unit::Count,
                    Unit::Days => pb::Unit::Days,
                    Unit::Ratio => pb::Unit::Ratio,
                } as i32,
                direction: direction_to_proto(t.direction) as i32,
                baseline: t.baseline,
                yearly_targets: t
                    .yearly
                    .iter()
                    .map(|(y, value)| pb::YearTarget {
                        year: fy(*y),
                        value: *value,
                    })
                    .collect(),
                tolerance: Some(pb::Tolerance {
                    kind: match t.tolerance.kind {
                        ToleranceKind::Absolute => pb::ToleranceKind::Absolute,
                        ToleranceKind::Relative => pb::ToleranceKind::Relative,
                    } as i32,
                    amber: t.tolerance.amber,
                    red: t.tolerance.red,
                }),
                milestones: t
                    .milestones
                    .iter()
                    .map(|m| pb::MilestoneTarget {
                        date: m.date.to_string(),
                        value: m.value,
                    })
                    .collect(),
            })
            .collect(),
        decent_homes: c.decent_homes.as_ref().map(|dh| pb::DecentHomesProgramme {
            non_decent_at_baseline: dh.non_decent_at_baseline,
            target_date: dh.target_date.to_string(),
            planned_decent: dh
                .planned
                .iter()
                .map(|(y, n)| pb::YearCount {
                    year: fy(*y),
                    count: *n,
                })
                .collect(),
            progress_target_code: dh.progress_target_code.clone(),
        }),
        capital_profile: c
            .capital
            .iter()
            .map(|l| pb::CapitalLine {
                year: fy(l.year),
                category: match l.category {
                    CapitalCategory::DecentHomes => pb::CapitalCategory::DecentHomes,
                    CapitalCategory::Sustainability => pb::CapitalCategory::Sustainability,
                    CapitalCategory::EstateImprovement => pb::CapitalCategory::EstateImprovement,
                    CapitalCategory::Other => pb::CapitalCategory::Other,
                } as i32,
                amount: Some(common::Money {
                    pence: l.pence,
                    currency_code: "GBP".into(),
                }),
            })
            .collect(),
        annual_cost_effectiveness_percent: c.cost_effectiveness_percent,
        delegated_functions: c.delegated_functions.clone(),
        exception_after_periods: c.exception_after as i32,
    }
}

fn decode_content(json: &str, what: &str) -> Result<PlanContent, AppError> {
    serde_json::from_str(json)
        .map_err(|e| AppError::Internal(format!("{what}: stored content: {e}")))
}

fn encode_content(c: &PlanContent) -> String {
    serde_json::to_string(c).expect("plan content serialises")
}

fn plan_to_proto(plan: &dp_plan::Model, v: &dp_plan_version::Model) -> Result<pb::Plan, AppError> {
    let content = decode_content(&v.content, &plan.id)?;
    Ok(pb::Plan {
        plan_id: plan.id.clone(),
        council_id: plan.council_id.clone(),
        almo_id: plan.almo_id.clone(),
        title: plan.title.clone(),
        first_year: fy(plan.first_year),
        last_year: fy(plan.last_year),
        version: v.version,
        effective_date: v.effective_date.to_string(),
        amendment_id: v.amendment_id.clone().unwrap_or_default(),
        content: Some(content_to_proto(&content)),
        latest_version: plan.latest_version,
        etag: plan_etag(plan.latest_version),
        create_time: Some(ts(v.created_at)),
        change_note: v.note.clone(),
    })
}

fn amendment_to_proto(a: &dp_amendment::Model) -> Result<pb::Amendment, AppError> {
    let content = decode_content(&a.content, &a.id)?;
    Ok(pb::Amendment {
        amendment_id: a.id.clone(),
        plan_id: a.plan_id.clone(),
        base_version: a.base_version,
        proposed_by: match Party::parse(&a.proposed_by) {
            Some(Party::Council) => pb::Party::Council,
            Some(Party::Almo) => pb::Party::Almo,
            None => pb::Party::Unspecified,
        } as i32,
        proposer_organisation_id: a.proposer_organisation_id.clone(),
        reason: a.reason.clone(),
        effective_date: a.effective_date.to_string(),
        content: Some(content_to_proto(&content)),
        state: match AmendmentState::parse(&a.state) {
            Some(AmendmentState::Proposed) => pb::AmendmentState::Proposed,
            Some(AmendmentState::Agreed) => pb::AmendmentState::Agreed,
            Some(AmendmentState::Rejected) => pb::AmendmentState::Rejected,
            Some(AmendmentState::Withdrawn) => pb::AmendmentState::Withdrawn,
            None => pb::AmendmentState::Unspecified,
        } as i32,
        decided_by_organisation_id: a.decided_by_organisation_id.clone().unwrap_or_default(),
        decision_note: a.decision_note.clone(),
        resulting_version: a.resulting_version.unwrap_or_default(),
        etag: amendment_etag(a.row_version),
        create_time: Some(ts(a.created_at)),
        update_time: Some(ts(a.updated_at)),
    })
}

fn exception_to_proto(e: &dp_exception::Model) -> pb::PlanException {
    let kind = PeriodKind::parse(&e.period_kind).unwrap_or(PeriodKind::Month);
    pb::PlanException {
        exception_id: e.id.clone(),
        plan_id: e.plan_id.clone(),
        target_code: e.target_code.clone(),
        consecutive_periods: e.consecutive_periods,
        first_period: Some(period_to_proto(Period {
            year: e.first_year,
            kind,
            number: e.first_number,
        })),
        last_period: Some(period_to_proto(Period {
            year: e.last_year,
            kind,
            number: e.last_number,
        })),
        state: match ExceptionState::parse(&e.state) {
            Some(ExceptionState::Open) => pb::ExceptionState::Open,
            Some(ExceptionState::Answered) => pb::ExceptionState::Answered,
            Some(ExceptionState::Accepted) => pb::ExceptionState::Accepted,
            Some(ExceptionState::Escalated) => pb::ExceptionState::Escalated,
            None => pb::ExceptionState::Unspecified,
        } as i32,
        raise_time: Some(ts(e.raised_at)),
        report: e.reported_at.map(|at| pb::ExceptionReport {
            cause: e.report_cause.clone(),
            recovery_action: e.report_recovery_action.clone(),
            recovery_date: e
                .report_recovery_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            reported_by: e.reported_by.clone().unwrap_or_default(),
            report_time: Some(ts(at)),
        }),
        decision_note: e.decision_note.clone(),
        etag: exception_etag(e.row_version),
    }
}

fn variance_period(r: &dp_variance::Model) -> Result<Period, AppError> {
    let kind = PeriodKind::parse(&r.period_kind).ok_or_else(|| {
        AppError::Internal(format!(
            "variance {}: period kind {:?}",
            r.id, r.period_kind
        ))
    })?;
    Ok(Period {
        year: r.year,
        kind,
        number: r.period_number,
    })
}

fn figure_of(r: &dp_variance::Model) -> Result<Figure, AppError> {
    Ok(Figure {
        target_code: r.target_code.clone(),
        period: variance_period(r)?,
        actual: r.actual,
        forecast: r.forecast,
        commentary: r.commentary.clone(),
    })
}

fn by_target<'a>(
    figures: impl IntoIterator<Item = &'a Figure>,
) -> HashMap<&'a str, Vec<&'a Figure>> {
    let mut out: HashMap<&str, Vec<&Figure>> = HashMap::new();
    for f in figures {
        out.entry(f.target_code.as_str()).or_default().push(f);
    }
    out
}

fn history_of(plan: &dp_plan::Model, rows: &[dp_plan_version::Model]) -> Result<History, AppError> {
    let versions = rows
        .iter()
        .map(|r| {
            Ok(Version {
                number: r.version,
                effective: r.effective_date,
                content: decode_content(&r.content, &plan.id)?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    if versions.is_empty() {
        return Err(AppError::Internal(format!(
            "plan {} has no versions",
            plan.id
        )));
    }
    Ok(History { versions })
}

fn span_of(plan: &dp_plan::Model) -> Span {
    Span {
        first: plan.first_year,
        last: plan.last_year,
    }
}

fn rag_word(r: Option<Rag>) -> &'static str {
    match r {
        Some(Rag::OnTrack) => "on track",
        Some(Rag::AtRisk) => "at risk",
        Some(Rag::OffTrack) => "off track",
        None => "no status",
    }
}

fn rag_to_proto(r: Option<Rag>) -> pb::RagStatus {
    match r {
        Some(Rag::OnTrack) => pb::RagStatus::OnTrack,
        Some(Rag::AtRisk) => pb::RagStatus::AtRisk,
        Some(Rag::OffTrack) => pb::RagStatus::OffTrack,
        None => pb::RagStatus::Unspecified,
    }
}

fn trend_to_proto(t: Trend) -> pb::Trend {
    match t {
        Trend::First => pb::Trend::First,
        Trend::Improving => pb::Trend::Improving,
        Trend::Steady => pb::Trend::Steady,
        Trend::Worsening => pb::Trend::Worsening,
    }
}

fn countdown_to_proto(c: &Countdown) -> pb::DecentHomesCountdown {
    let warning = if !c.behind_schedule {
        String::new()
    } else {
        match c.forecast_completion {
            Some(f) => format!(
                "behind schedule: at {:.0} homes a year the last of {} non-decent homes is done on {f}, after the target date {}; {:.0} a year are needed",
                c.rate_achieved_per_year, c.still_non_decent, c.target_date, c.rate_needed_per_year
            ),
            None => format!(
                "behind schedule: no homes made decent yet; {} remain and {:.0} a year are needed to finish by {}",
                c.still_non_decent, c.rate_needed_per_year, c.target_date
            ),
        }
    };
    pb::DecentHomesCountdown {
        non_decent_at_baseline: c.non_decent_at_baseline,
        made_decent: c.made_decent.clamp(0, i32::MAX as i64) as i32,
        still_non_decent: c.still_non_decent.clamp(0, i32::MAX as i64) as i32,
        target_date: c.target_date.to_string(),
        as_of_date: c.as_of.to_string(),
        rate_needed_per_year: c.rate_needed_per_year,
        rate_achieved_per_year: c.rate_achieved_per_year,
        forecast_completion_date: c
            .forecast_completion
            .map(|d| d.to_string())
            .unwrap_or_default(),
        behind_schedule: c.behind_schedule,
        warning,
    }
}

fn answer_refusal(e: AnswerRefusal) -> AppError {
    match e {
        AnswerRefusal::NotPending(_) => {
            AppError::failed_precondition("AMENDMENT_NOT_PENDING", e.to_string())
        }
        AnswerRefusal::OnlyTheOtherParty(_) | AnswerRefusal::OnlyTheProposer(_) => {
            AppError::PermissionDenied(e.to_string())
        }
    }
}

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

impl DeliveryPlans {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }

    /// The plan, if the caller may see it. A plan the caller may not see is PERMISSION_DENIED
    /// whether or not it exists; NOT_FOUND only for those who read everyone's.
    /// The catalogue definitions of the codes `content`'s targets name (a local measure's too:
    /// it may not take an indicator's code).
    async fn pi_catalogue(
        &self,
        content: Option<&pb::PlanContent>,
    ) -> Result<Vec<PiDefinition>, AppError> {
        let codes: Vec<String> = content
            .into_iter()
            .flat_map(|c| &c.targets)
            .map(|t| t.code.trim().to_string())
            .collect();
        storage::pi_definitions(self.ctx.db.conn(), &codes)
            .await
            .map_err(db)
    }

    async fn visible_plan(&self, p: &Principal, plan_id: &str) -> Result<dp_plan::Model, AppError> {
        let plan_id = plan_id.trim();
        if plan_id.is_empty() {
            return Err(AppError::invalid("plan_id", "required"));
        }
        let plan = storage::get_plan(self.ctx.db.conn(), plan_id)
            .await
            .map_err(db)?;
        let vis = visibility(p);
        match plan {
            Some(plan) if vis.allows(&plan) => Ok(plan),
            None if matches!(vis, Visibility::All) => {
                Err(AppError::NotFound(format!("no plan {plan_id:?}")))
            }
            _ => Err(AppError::PermissionDenied(format!(
                "{} ({}) may not see plan {plan_id:?}",
                p.org.id, p.caller.role
            ))),
        }
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
        storage::lock_plan(txn, &plan.id).await.map_err(db)?;
        let history = history_of(plan, &storage::versions(txn, &plan.id).await.map_err(db)?)?;
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
            storage::current_variances_of(txn, &plan.id, &codes, &ids)
                .await
                .map_err(db)?
        } else {
            storage::current_variances(txn, &plan.id)
                .await
                .map_err(db)?
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
        let decisions = ingest::classify(&history, span_of(plan), &held, &incoming);

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
        storage::supersede(txn, &superseded).await.map_err(db)?;
        storage::insert_variances(txn, rows).await.map_err(db)?;

        let open: HashSet<String> = storage::open_exceptions(txn, &plan.id)
            .await
            .map_err(db)?
            .into_iter()
            .map(|e| e.target_code)
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
            if open.contains(&code) {
                continue;
            }
            if let Some(run) = exception_run(&assessed, threshold) {
                let e = dp_exception::Model {
                    id: new_id("EXC", now),
                    plan_id: plan.id.clone(),
                    target_code: code.clone(),
                    open_target: Some(code.clone()),
                    consecutive_periods: run.length as i32,
                    period_kind: run.last.kind.as_str().into(),
                    first_year: run.first.year,
                    first_number: run.first.number,
                    last_year: run.last.year,
                    last_number: run.last.number,
                    state: ExceptionState::Open.as_str().into(),
                    raised_at: now,
                    report_cause: String::new(),
                    report_recovery_action: String::new(),
                    report_recovery_date: None,
                    reported_by: None,
                    reported_at: None,
                    decision_note: String::new(),
                    decided_by: None,
                    decided_at: None,
                    row_version: 1,
                };
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
        storage::insert_exceptions(txn, raised.clone())
            .await
            .map_err(db)?;
        storage::insert_events(txn, events).await.map_err(db)?;
        Ok(Ingested { decisions, raised })
    }

    /// The exception and its plan, if the caller may see them.
    async fn visible_exception(
        &self,
        p: &Principal,
        exception_id: &str,
    ) -> Result<(dp_exception::Model, dp_plan::Model), AppError> {
        let found = storage::get_exception(self.ctx.db.conn(), exception_id.trim())
            .await
            .map_err(db)?;
        let Some(e) = found else {
            return Err(match visibility(p) {
                Visibility::All => AppError::NotFound(format!("no exception {exception_id:?}")),
                _ => AppError::PermissionDenied(format!(
                    "{} may not see exception {exception_id:?}",
                    p.org.id
                )),
            });
        };
        let plan = self.visible_plan(p, &e.plan_id).await?;
        Ok((e, plan))
    }

    /// Agrees, rejects or withdraws an amendment for the caller's party. Agreement makes the
    /// amendment's content the plan's next version, provided the plan has not moved on since
    /// the amendment was proposed.
    #[allow(clippy::too_many_arguments)]
    async fn decide<R: prost::Message + Default>(
        &self,
        p: &Principal,
        method: &str,
        payload: &impl prost::Message,
        request_id: &str,
        amendment_id: &str,
        etag: &str,
        note: &str,
        answer: Answer,
        reply: impl FnOnce(pb::Amendment, Option<pb::Plan>) -> R,
    ) -> Result<R, AppError> {
        let mut v = Violations::new();
        v.check(amendment_id.trim().is_empty(), "amendment_id", "required");
        v.require_etag(etag, "the amendment's etag as last read");
        v.check(
            answer == Answer::Reject && note.trim().is_empty(),
            "note",
            "required: say why the amendment is rejected",
        );
        v.check(
            note.chars().count() > 2000,
            "note",
            "at most 2000 characters",
        );
        v.into_result()?;
        // A retry of a decision already made replays its answer: look it up before checking the
        // state and etag, which the first answer has moved on.
        let ctx = p.call_context(SERVICE_NAME, method, request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent::<R>(&ctx, payload)
            .await
            .map_err(db)?
        {
            Begun::Replay(resp) => return Ok(resp),
            Begun::Fresh(w) => w,
        };
        let amendment_id = amendment_id.trim();
        let found = storage::get_amendment(self.ctx.db.conn(), amendment_id)
            .await
            .map_err(db)?;
        let Some(a) = found else {
            return Err(match visibility(p) {
                Visibility::All => AppError::NotFound(format!("no amendment {amendment_id:?}")),
                _ => AppError::PermissionDenied(format!(
                    "{} may not see amendment {amendment_id:?}",
                    p.org.id
                )),
            });
        };
        let plan = self.visible_plan(p, &a.plan_id).await?;
        let party = party_of(p, &plan)?;
        let proposer = Party::parse(&a.proposed_by).ok_or_else(|| {
            AppError::Internal(format!("amendment {}: party {:?}", a.id, a.proposed_by))
        })?;
        let state = AmendmentState::parse(&a.state).ok_or_else(|| {
            AppError::Internal(format!("amendment {}: state {:?}", a.id, a.state))
        })?;
        let next = amendment::answer(state, proposer, party, answer).map_err(answer_refusal)?;
        let resource = format!("amendments/{}", a.id);
        if etag.trim() != amendment_etag(a.row_version) {
            return Err(AppError::stale_etag(&resource));
        }
        let txn = write.txn();
        let now = Utc::now();
        let current = storage::get_amendment(txn, &a.id)
            .await
            .map_err(db)?
            .filter(|c| c.row_version == a.row_version)
            .ok_or_else(|| AppError::stale_etag(&resource))?;
        let mut plan_reply = None;
        let mut updated = current.clone();
        if next == AmendmentState::Agreed {
            let next_version = current.base_version + 1;
            if !storage::advance_plan(txn, &plan.id, current.base_version, next_version, now)
                .await
                .map_err(db)?
            {
                return Err(AppError::Aborted {
                    reason: "STALE_ETAG",
                    message: format!(
                        "plan {} has a newer version than the one this amendment was proposed against; propose it again against the current version",
                        plan.id
                    ),
                });
            }
            let version = dp_plan_version::Model {
                plan_id: plan.id.clone(),
                version: next_version,
                effective_date: current.effective_date,
                amendment_id: Some(current.id.clone()),
                note: String::new(),
                content: current.content.clone(),
                created_at: now,
            };
            storage::insert_version(txn, version.clone())
                .await
                .map_err(db)?;
            let mut plan_now = plan.clone();
            plan_now.latest_version = next_version;
            plan_now.updated_at = now;
            plan_reply = Some(plan_to_proto(&plan_now, &version)?);
            updated.resulting_version = Some(next_version);
        }
        updated.state = next.as_str().into();
        updated.decided_by_organisation_id = Some(p.org.id.clone());
        updated.decision_note = note.trim().to_string();
        updated.row_version = current.row_version + 1;
        updated.updated_at = now;
        if !storage::update_amendment_if(txn, &updated, current.row_version)
            .await
            .map_err(db)?
        {
            return Err(AppError::stale_etag(&resource));
        }
        storage::lock_plan(txn, &plan.id).await.map_err(db)?;
        let summary = match next {
            AmendmentState::Agreed => format!(
                "{party} agreed: version {} from {}",
                updated.resulting_version.unwrap_or_default(),
                updated.effective_date
            ),
            _ => format!("{party}: {}", updated.decision_note),
        };
        storage::insert_events(
            txn,
            vec![storage::event(
                &plan.id,
                &format!("amendment_{}", next.as_str()),
                &updated.id,
                summary,
                now,
            )],
        )
        .await
        .map_err(db)?;
        let resp = reply(amendment_to_proto(&updated)?, plan_reply);
        write.finish(&resp, &resource).await.map_err(db)?;
        Ok(resp)
    }
}

fn page<T>(mut rows: Vec<T>, size: u64, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
    if rows.len() as u64 > size {
        rows.truncate(size as usize);
        let token = rows
            .last()
            .map(|r| paging::encode_token(&key(r)))
            .unwrap_or_default();
        (rows, token)
    } else {
        (rows, String::new())
    }
}

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

/// How often a watch looks for new events when it has caught up. Polling the table (rather than
/// an in-process channel) lets every replica serve every plan's events.
const WATCH_POLL: std::time::Duration = std::time::Duration::from_millis(250);
/// How long one watch call lasts before it ends cleanly; the client carries on from the last
/// cursor. A watch also ends as soon as the server starts draining on shutdown.
const WATCH_MAX: std::time::Duration = std::time::Duration::from_secs(30);

#[tonic::async_trait]
impl DeliveryPlanService for DeliveryPlans {
    type WatchPlanEventsStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::WatchPlanEventsResponse, Status>>;

    async fn watch_plan_events(
        &self,
        request: Request<pb::WatchPlanEventsRequest>,
    ) -> Result<Response<Self::WatchPlanEventsStream>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        let cursor = r.after_cursor.trim();
        let mut after = if cursor.is_empty() {
            storage::last_event_id(self.ctx.db.conn(), &plan.id)
                .await
                .map_err(db)?
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
                        _ = tokio::time::sleep(WATCH_POLL) => continue,
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
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn create_plan(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> Result<Response<pb::CreatePlanResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let council_id = r.council_id.trim();
        let almo_id = r.almo_id.trim();
        v.check(council_id.is_empty(), "council_id", "required");
        v.check(almo_id.is_empty(), "almo_id", "required");
        let title = r.title.trim();
        v.check(
            title.is_empty() || title.chars().count() > 200,
            "title",
            "required, at most 200 characters",
        );
        let first = year_of(&mut v, "first_year", r.first_year.as_ref());
        let last = year_of(&mut v, "last_year", r.last_year.as_ref());
        let span = match (first, last) {
            (Some(first), Some(last)) => {
                let span = Span { first, last };
                let bad = span.violations();
                let ok = bad.is_empty();
                for (f, reason) in bad {
                    v.add(f, reason);
                }
                ok.then_some(span)
            }
            _ => None,
        };
        let effective = parse_date(&mut v, "effective_date", &r.effective_date, false);
        if let (Some(span), Some(e)) = (span, effective) {
            v.check(
                e > span.end(),
                "effective_date",
                format!("must fall on or before the plan's end, {}", span.end()),
            );
        }
        let catalogue = self.pi_catalogue(r.content.as_ref()).await?;
        let content = checked_content(&mut v, "content", r.content.as_ref(), span, &catalogue);
        v.into_result()?;
        let (Some(span), Some(content)) = (span, content) else {
            unreachable!("violations were reported above")
        };
        require_council_officer(&p, council_id, "create its delivery plans")?;
        match self.ctx.access.scope(almo_id).await? {
            Some(a) if a.kind == OrgKind::Almo && a.council_id.as_deref() == Some(council_id) => {}
            _ => {
                return Err(AppError::invalid(
                    "almo_id",
                    format!("{almo_id:?} is not an ALMO of council {council_id}"),
                )
                .into());
            }
        }
        let ctx = p.call_context(SERVICE_NAME, "CreatePlan", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await.map_err(db)? {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let plan_id = format!("{almo_id}-{}-{}", span.first, span.last);
        if storage::get_plan(write.txn(), &plan_id)
            .await
            .map_err(db)?
            .is_some()
        {
            return Err(AppError::AlreadyExists(format!(
                "{almo_id} already has plan {plan_id} for these years; amend it instead"
            ))
            .into());
        }
        let now = Utc::now();
        let plan = dp_plan::Model {
            id: plan_id.clone(),
            council_id: council_id.to_string(),
            almo_id: almo_id.to_string(),
            title: title.to_string(),
            first_year: span.first,
            last_year: span.last,
            latest_version: 1,
            created_at: now,
            updated_at: now,
        };
        let version = dp_plan_version::Model {
            plan_id: plan_id.clone(),
            version: 1,
            effective_date: effective.unwrap_or(span.start()),
            amendment_id: None,
            note: String::new(),
            content: encode_content(&content),
            created_at: now,
        };
        storage::insert_plan(write.txn(), plan.clone(), version.clone())
            .await
            .map_err(db)?;
        let resp = pb::CreatePlanResponse {
            plan: Some(plan_to_proto(&plan, &version)?),
        };
        write
            .finish(&resp, &format!("plans/{plan_id}"))
            .await
            .map_err(db)?;
        Ok(Response::new(resp))
    }

    async fn get_plan(
        &self,
        request: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::GetPlanResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let on = parse_date(&mut v, "as_of_date", &r.as_of_date, false);
        v.check(r.version < 0, "version", "must not be negative");
        v.into_result()?;
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        let versions = storage::versions(self.ctx.db.conn(), &plan.id)
            .await
            .map_err(db)?;
        let chosen = if r.version > 0 {
            versions
                .iter()
                .find(|x| x.version == r.version)
                .ok_or_else(|| {
                    AppError::NotFound(format!(
                        "plan {} has versions 1 to {}",
                        plan.id, plan.latest_version
                    ))
                })?
        } else {
            let on = on.unwrap_or_else(|| Utc::now().date_naive());
            versions
                .iter()
                .rev()
                .find(|x| x.effective_date <= on)
                .ok_or_else(|| {
                    AppError::NotFound(format!("plan {} was not yet in force on {on}", plan.id))
                })?
        };
        Ok(Response::new(pb::GetPlanResponse {
            plan: Some(plan_to_proto(&plan, chosen)?),
        }))
    }

    async fn list_plans(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let council = Some(r.council_id.trim()).filter(|s| !s.is_empty());
        let almo = Some(r.almo_id.trim()).filter(|s| !s.is_empty());
        let conn = self.ctx.db.conn();
        let rows = storage::list_plans(conn, &visibility(&p), council, almo, after, size + 1)
            .await
            .map_err(db)?;
        let (rows, next_page_token) = page(rows, size, |r| r.id.clone());
        let latest = storage::latest_versions(conn, &rows).await.map_err(db)?;
        let plans = rows
            .iter()
            .map(|plan| {
                let v = latest
                    .iter()
                    .find(|v| v.plan_id == plan.id)
                    .ok_or_else(|| {
                        AppError::Internal(format!("plan {} lost its latest version", plan.id))
                    })?;
                plan_to_proto(plan, v)
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(Response::new(pb::ListPlansResponse {
            plans,
            next_page_token,
        }))
    }

    async fn list_plan_versions(
        &self,
        request: Request<pb::ListPlanVersionsRequest>,
    ) -> Result<Response<pb::ListPlanVersionsResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let plan = self.visible_plan(&p, &request.get_ref().plan_id).await?;
        let versions = storage::versions(self.ctx.db.conn(), &plan.id)
            .await
            .map_err(db)?
            .iter()
            .map(|v| plan_to_proto(&plan, v))
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(Response::new(pb::ListPlanVersionsResponse { versions }))
    }

    async fn propose_amendment(
        &self,
        request: Request<pb::ProposeAmendmentRequest>,
    ) -> Result<Response<pb::ProposeAmendmentResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.require_etag(&r.etag, "the plan's etag as last read");
        let reason = r.reason.trim();
        v.check(
            reason.is_empty() || reason.chars().count() > 2000,
            "reason",
            "required, at most 2000 characters",
        );
        let effective = parse_date(&mut v, "effective_date", &r.effective_date, true);
        v.check(r.plan_id.trim().is_empty(), "plan_id", "required");
        let plan = if r.plan_id.trim().is_empty() {
            None
        } else {
            Some(self.visible_plan(&p, &r.plan_id).await?)
        };
        let catalogue = self.pi_catalogue(r.content.as_ref()).await?;
        let content = checked_content(
            &mut v,
            "content",
            r.content.as_ref(),
            plan.as_ref().map(span_of),
            &catalogue,
        );
        v.into_result()?;
        let (Some(plan), Some(effective), Some(content)) = (plan, effective, content) else {
            unreachable!("violations were reported above")
        };
        // A retry of a change already made replays its answer: look it up before checking the
        // state and etag, which the first answer has moved on.
        let ctx = p.call_context(SERVICE_NAME, "ProposeAmendment", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await.map_err(db)? {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let party = party_of(&p, &plan)?;
        let resource = format!("plans/{}", plan.id);
        if r.etag.trim() != plan_etag(plan.latest_version) {
            return Err(AppError::stale_etag(&resource).into());
        }
        let txn = write.txn();
        let versions = storage::versions(txn, &plan.id).await.map_err(db)?;
        let latest = versions
            .last()
            .filter(|l| l.version == plan.latest_version)
            .ok_or_else(|| AppError::stale_etag(&resource))?;
        if let Some(reason) = crate::domain::plan::effective_date_violation(
            effective,
            latest.effective_date,
            span_of(&plan),
        ) {
            return Err(AppError::invalid("effective_date", reason).into());
        }
        let now = Utc::now();
        let a = dp_amendment::Model {
            id: new_id("AMD", now),
            plan_id: plan.id.clone(),
            base_version: latest.version,
            proposed_by: party.as_str().into(),
            proposer_organisation_id: p.org.id.clone(),
            reason: reason.to_string(),
            effective_date: effective,
            content: encode_content(&content),
            state: AmendmentState::Proposed.as_str().into(),
            decided_by_organisation_id: None,
            decision_note: String::new(),
            resulting_version: None,
            row_version: 1,
            created_at: now,
            updated_at: now,
        };
        storage::lock_plan(txn, &plan.id).await.map_err(db)?;
        storage::insert_events(
            txn,
            vec![storage::event(
                &plan.id,
                "amendment_proposed",
                &a.id,
                format!("{party} proposes, from {effective}: {reason}"),
                now,
            )],
        )
        .await
        .map_err(db)?;
        storage::insert_amendment(txn, a.clone())
            .await
            .map_err(db)?;
        let resp = pb::ProposeAmendmentResponse {
            amendment: Some(amendment_to_proto(&a)?),
        };
        write
            .finish(&resp, &format!("amendments/{}", a.id))
            .await
            .map_err(db)?;
        Ok(Response::new(resp))
    }

    async fn agree_amendment(
        &self,
        request: Request<pb::AgreeAmendmentRequest>,
    ) -> Result<Response<pb::AgreeAmendmentResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let resp = self
            .decide(
                &p,
                "AgreeAmendment",
                r,
                &r.request_id,
                &r.amendment_id,
                &r.etag,
                &r.note,
                Answer::Agree,
                |amendment, plan| pb::AgreeAmendmentResponse {
                    amendment: Some(amendment),
                    plan,
                },
            )
            .await?;
        Ok(Response::new(resp))
    }

    async fn reject_amendment(
        &self,
        request: Request<pb::RejectAmendmentRequest>,
    ) -> Result<Response<pb::RejectAmendmentResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let resp = self
            .decide(
                &p,
                "RejectAmendment",
                r,
                &r.request_id,
                &r.amendment_id,
                &r.etag,
                &r.note,
                Answer::Reject,
                |amendment, _| pb::RejectAmendmentResponse {
                    amendment: Some(amendment),
                },
            )
            .await?;
        Ok(Response::new(resp))
    }

    async fn withdraw_amendment(
        &self,
        request: Request<pb::WithdrawAmendmentRequest>,
    ) -> Result<Response<pb::WithdrawAmendmentResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let resp = self
            .decide(
                &p,
                "WithdrawAmendment",
                r,
                &r.request_id,
                &r.amendment_id,
                &r.etag,
                &r.note,
                Answer::Withdraw,
                |amendment, _| pb::WithdrawAmendmentResponse {
                    amendment: Some(amendment),
                },
            )
            .await?;
        Ok(Response::new(resp))
    }

    async fn reprofile_capital(
        &self,
        request: Request<pb::ReprofileCapitalRequest>,
    ) -> Result<Response<pb::ReprofileCapitalResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.require_etag(&r.etag, "the plan's etag as last read");
        let reason = r.reason.trim();
        v.check(
            reason.is_empty() || reason.chars().count() > 2000,
            "reason",
            "required, at most 2000 characters",
        );
        let year = year_of(&mut v, "year", r.year.as_ref());
        let effective = parse_date(&mut v, "effective_date", &r.effective_date, false);
        let mut lines = Vec::new();
        for (i, line) in r.lines.iter().enumerate() {
            let category = match pb::CapitalCategory::try_from(line.category) {
                Ok(pb::CapitalCategory::DecentHomes) => CapitalCategory::DecentHomes,
                Ok(pb::CapitalCategory::Sustainability) => CapitalCategory::Sustainability,
                Ok(pb::CapitalCategory::EstateImprovement) => CapitalCategory::EstateImprovement,
                Ok(pb::CapitalCategory::Other) => CapitalCategory::Other,
                _ => {
                    v.add(
                        format!("lines[{i}].category"),
                        "required: a CAPITAL_CATEGORY_...",
                    );
                    continue;
                }
            };
            match &line.amount {
                Some(m) if m.currency_code.is_empty() || m.currency_code == "GBP" => {
                    lines.push((category, m.pence))
                }
                _ => v.add(format!("lines[{i}].amount"), "required, in GBP"),
            }
        }
        v.check(
            r.lines.is_empty(),
            "lines",
            "required: the year's spend by category",
        );
        v.into_result()?;
        let year = year.expect("checked above");
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        // A retry of a change already made replays its answer: look it up before checking the
        // state and etag, which the first answer has moved on.
        let ctx = p.call_context(SERVICE_NAME, "ReprofileCapital", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await.map_err(db)? {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let party = party_of(&p, &plan)?;
        let resource = format!("plans/{}", plan.id);
        if r.etag.trim() != plan_etag(plan.latest_version) {
            return Err(AppError::stale_etag(&resource).into());
        }
        if !span_of(&plan).contains_year(year) {
            return Err(
                AppError::invalid("year", format!("{year} is outside the plan's years")).into(),
            );
        }
        let txn = write.txn();
        let now = Utc::now();
        let versions = storage::versions(txn, &plan.id).await.map_err(db)?;
        let latest = versions
            .last()
            .filter(|l| l.version == plan.latest_version)
            .ok_or_else(|| AppError::stale_etag(&resource))?;
        let effective = effective.unwrap_or_else(|| now.date_naive().max(latest.effective_date));
        if let Some(why) = crate::domain::plan::effective_date_violation(
            effective,
            latest.effective_date,
            span_of(&plan),
        ) {
            return Err(AppError::invalid("effective_date", why).into());
        }
        let content = decode_content(&latest.content, &plan.id)?;
        let next = crate::domain::plan::reprofile(&content, year, &lines)
            .map_err(|(field, reason)| AppError::invalid(field, reason))?;
        let mut bad = Violations::new();
        // The only rule a re-profile can break is the sustainability cap: report it on `lines`.
        for (_, reason) in crate::domain::plan::violations(&next, span_of(&plan), "content") {
            bad.add("lines", reason);
        }
        bad.into_result()?;
        let next_version = latest.version + 1;
        if !storage::advance_plan(txn, &plan.id, latest.version, next_version, now)
            .await
            .map_err(db)?
        {
            return Err(AppError::stale_etag(&resource).into());
        }
        let note = format!(
            "Capital re-profiled within {year}/{:02} by {party}: {reason}",
            (year + 1) % 100
        );
        let version = dp_plan_version::Model {
            plan_id: plan.id.clone(),
            version: next_version,
            effective_date: effective,
            amendment_id: None,
            note: note.clone(),
            content: encode_content(&next),
            created_at: now,
        };
        storage::insert_version(txn, version.clone())
            .await
            .map_err(db)?;
        storage::insert_events(
            txn,
            vec![storage::event(
                &plan.id,
                "capital_reprofiled",
                &plan.id,
                note,
                now,
            )],
        )
        .await
        .map_err(db)?;
        let mut plan_now = plan.clone();
        plan_now.latest_version = next_version;
        let resp = pb::ReprofileCapitalResponse {
            plan: Some(plan_to_proto(&plan_now, &version)?),
        };
        write.finish(&resp, &resource).await.map_err(db)?;
        Ok(Response::new(resp))
    }

    async fn list_amendments(
        &self,
        request: Request<pb::ListAmendmentsRequest>,
    ) -> Result<Response<pb::ListAmendmentsResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let plan = self.visible_plan(&p, &request.get_ref().plan_id).await?;
        let amendments = storage::list_amendments(self.ctx.db.conn(), &plan.id)
            .await
            .map_err(db)?
            .iter()
            .map(amendment_to_proto)
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(Response::new(pb::ListAmendmentsResponse { amendments }))
    }

    async fn record_variance(
        &self,
        request: Request<pb::RecordVarianceRequest>,
    ) -> Result<Response<pb::RecordVarianceResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let Some(record) = r.record.clone() else {
            return Err(AppError::invalid("record", "required").into());
        };
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        require_council_officer(&p, &plan.council_id, "record variances against its plans")?;
        let ctx = p.call_context(SERVICE_NAME, "RecordVariance", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await.map_err(db)? {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let records = [record];
        let done = self.ingest(&write, &p, &plan, &records).await?;
        // One record sent on its own: a malformed one is the call's INVALID_ARGUMENT (and,
        // returning before `finish`, nothing of the call is kept).
        if let Decision::Refuse { field, reason } = &done.decisions[0] {
            return Err(AppError::invalid(format!("record.{field}"), reason.clone()).into());
        }
        let resp = pb::RecordVarianceResponse {
            outcome: outcome(&done.decisions[0]) as i32,
            exceptions_raised: done.raised.iter().map(exception_to_proto).collect(),
        };
        write
            .finish(&resp, &format!("plans/{}/variances", plan.id))
            .await
            .map_err(db)?;
        Ok(Response::new(resp))
    }

    async fn push_variances(
        &self,
        request: Request<Streaming<pb::PushVariancesRequest>>,
    ) -> Result<Response<pb::PushVariancesResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let mut stream = request.into_inner();
        // The whole push is one write: gathered first, then decided and written in one
        // transaction, so a broken stream writes nothing.
        // Who may push to which plan is settled on the first message, before the rest is read.
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
        let ctx = p.call_context(SERVICE_NAME, "PushVariances", &all.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, &all).await.map_err(db)? {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let done = self.ingest(&write, &p, &plan, &all.records).await?;
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
        write
            .finish(&resp, &format!("plans/{}/variances", plan.id))
            .await
            .map_err(db)?;
        Ok(Response::new(resp))
    }

    async fn list_variance_history(
        &self,
        request: Request<pb::ListVarianceHistoryRequest>,
    ) -> Result<Response<pb::ListVarianceHistoryResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        if r.sender_record_id.trim().is_empty() {
            return Err(AppError::invalid("sender_record_id", "required").into());
        }
        let plan = self.visible_plan(&p, &r.plan_id).await?;
        let rows =
            storage::variance_history(self.ctx.db.conn(), &plan.id, r.sender_record_id.trim())
                .await
                .map_err(db)?;
        let variances = rows
            .iter()
            .map(|row| {
                Ok(pb::Variance {
                    record: Some(pb::VarianceRecord {
                        sender_record_id: row.sender_record_id.clone(),
                        target_code: row.target_code.clone(),
                        period: Some(period_to_proto(variance_period(row)?)),
                        actual: row.actual,
                        forecast: row.forecast,
                        commentary: row.commentary.clone(),
                    }),
                    revision: row.revision,
                    superseded: row.superseded,
                    recorded_by: row.recorded_by.clone(),
                    record_time: Some(ts(row.recorded_at)),
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(Response::new(pb::ListVarianceHistoryResponse { variances }))
    }

    async fn get_plan_status(
        &self,
        request: Request<pb::GetPlanStatusRequest>,
    ) -> Result<Response<pb::GetPlanStatusResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let plan = self.visible_plan(&p, &request.get_ref().plan_id).await?;
        let conn = self.ctx.db.conn();
        let version_rows = storage::versions(conn, &plan.id).await.map_err(db)?;
        let history = history_of(&plan, &version_rows)?;
        let figures = storage::current_variances(conn, &plan.id)
            .await
            .map_err(db)?
            .iter()
            .map(figure_of)
            .collect::<Result<Vec<_>, AppError>>()?;
        let open = storage::open_exceptions(conn, &plan.id).await.map_err(db)?;
        let latest = history.latest();
        let grouped = by_target(&figures);
        let targets = latest
            .content
            .targets
            .iter()
            .map(|t| {
                let own = || grouped.get(t.code.as_str()).into_iter().flatten().copied();
                let assessed: Vec<Assessed> = assess_target(&history, &t.code, own());
                let milestones = assess_milestones(&history, &t.code, own())
                    .into_iter()
                    .map(|m| pb::MilestoneStatus {
                        date: m.date.to_string(),
                        target: m.target,
                        reached: m.period.is_some(),
                        period: m.period.map(period_to_proto),
                        judged: m.judged.unwrap_or_default(),
                        status: rag_to_proto(m.rag) as i32,
                    })
                    .collect();
                pb::TargetStatus {
                    code: t.code.clone(),
                    name: t.name.clone(),
                    direction: direction_to_proto(t.direction) as i32,
                    latest_status: rag_to_proto(latest_status(&assessed)) as i32,
                    in_exception: open.iter().any(|e| e.target_code == t.code),
                    milestones,
                    periods: assessed
                        .iter()
                        .map(|a| pb::PeriodStatus {
                            period: Some(period_to_proto(a.period)),
                            actual: a.actual,
                            target: a.target.unwrap_or_default(),
                            status: rag_to_proto(a.rag) as i32,
                            trend: trend_to_proto(a.trend) as i32,
                            forecast: a.forecast,
                            commentary: a.commentary.clone(),
                            judged: a.judged,
                        })
                        .collect(),
                }
            })
            .collect();
        let decent_homes = latest.content.decent_homes.as_ref().map(|dh| {
            let progress: Vec<&Figure> = figures
                .iter()
                .filter(|f| f.target_code == dh.progress_target_code)
                .collect();
            // Count months when the sender reports monthly, else quarters: never both, which
            // would count the same homes twice.
            let monthly = progress.iter().any(|f| f.period.kind == PeriodKind::Month);
            let counted: Vec<&&Figure> = progress
                .iter()
                .filter(|f| (f.period.kind == PeriodKind::Month) == monthly)
                .collect();
            let made: i64 = counted.iter().map(|f| f.actual.round() as i64).sum();
            let span = span_of(&plan);
            let as_of = counted
                .iter()
                .map(|f| f.period.end_date())
                .max()
                .unwrap_or(span.start());
            countdown_to_proto(&countdown(
                dh.non_decent_at_baseline,
                span.start(),
                dh.target_date,
                made,
                as_of,
            ))
        });
        let latest_row = version_rows
            .last()
            .ok_or_else(|| AppError::Internal(format!("plan {} has no versions", plan.id)))?;
        Ok(Response::new(pb::GetPlanStatusResponse {
            plan: Some(plan_to_proto(&plan, latest_row)?),
            targets,
            decent_homes,
            open_exceptions: open.iter().map(exception_to_proto).collect(),
        }))
    }

    async fn list_exceptions(
        &self,
        request: Request<pb::ListExceptionsRequest>,
    ) -> Result<Response<pb::ListExceptionsResponse>, Status> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
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
        .await
        .map_err(db)?;
        let (rows, next_page_token) = page(rows, size, |e| e.id.clone());
        Ok(Response::new(pb::ListExceptionsResponse {
            exceptions: rows.iter().map(exception_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn submit_exception_report(
        &self,
        request: Request<pb::SubmitExceptionReportRequest>,
    ) -> Result<Response<pb::SubmitExceptionReportResponse>, Status> {
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
        let recovery = parse_date(&mut v, "recovery_date", &r.recovery_date, true);
        if let Some(d) = recovery {
            v.check(
                d < Utc::now().date_naive(),
                "recovery_date",
                "must not be in the past",
            );
        }
        v.into_result()?;
        let (e, plan) = self.visible_exception(&p, &r.exception_id).await?;
        if party_of(&p, &plan)? != Party::Almo {
            return Err(AppError::PermissionDenied(format!(
                "the ALMO ({}) answers exceptions; the council decides on its report",
                plan.almo_id
            ))
            .into());
        }
        // A retry of a change already made replays its answer: look it up before checking the
        // state and etag, which the first answer has moved on.
        let ctx = p.call_context(SERVICE_NAME, "SubmitExceptionReport", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await.map_err(db)? {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let next =
            exception_transition(&e, &r.etag, "EXCEPTION_NOT_AWAITING_REPORT", submit_report)?;
        let now = Utc::now();
        let mut updated = e.clone();
        updated.state = next.as_str().into();
        updated.report_cause = r.cause.trim().into();
        updated.report_recovery_action = r.recovery_action.trim().into();
        updated.report_recovery_date = recovery;
        updated.reported_by = Some(p.caller.subject.clone());
        updated.reported_at = Some(now);
        let resp = store_exception_change(write, &e, updated, now, |x| {
            pb::SubmitExceptionReportResponse { exception: Some(x) }
        })
        .await?;
        Ok(Response::new(resp))
    }

    async fn decide_exception_report(
        &self,
        request: Request<pb::DecideExceptionReportRequest>,
    ) -> Result<Response<pb::DecideExceptionReportResponse>, Status> {
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
        let (e, plan) = self.visible_exception(&p, &r.exception_id).await?;
        if party_of(&p, &plan)? != Party::Council {
            return Err(AppError::PermissionDenied(format!(
                "the council ({}) decides on exception reports",
                plan.council_id
            ))
            .into());
        }
        // A retry of a change already made replays its answer: look it up before checking the
        // state and etag, which the first answer has moved on.
        let ctx = p.call_context(SERVICE_NAME, "DecideExceptionReport", &r.request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, r).await.map_err(db)? {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let next = exception_transition(&e, &r.etag, "EXCEPTION_NOT_ANSWERED", |state| {
            decide_report(state, accept)
        })?;
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
        let resp = store_exception_change(write, &e, updated, now, |x| {
            pb::DecideExceptionReportResponse { exception: Some(x) }
        })
        .await?;
        Ok(Response::new(resp))
    }
}
