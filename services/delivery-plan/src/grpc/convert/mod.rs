//! Proto <-> domain: the fields of requests decoded (each bad field recorded by name), stored
//! rows and domain values as the contract's messages. Plan content is in `content.rs`.

mod content;

pub(super) use content::{
    capital_category, checked_content, content_to_proto, decode_content, encode_content,
};

use almo_db::entity::{dp_amendment, dp_exception, dp_plan, dp_plan_version, dp_variance};
use almo_fields as fields;
use almo_proto::common;
use almo_proto::delivery_plan::{self as pb};
use almo_server::timestamp as ts;
use almo_server::{AppError, Violations, paging};

use super::write::{amendment_etag, exception_etag, plan_etag};
use crate::domain::amendment::{AmendmentState, Party};
use crate::domain::countdown::Countdown;
use crate::domain::exception::ExceptionState;
use crate::domain::period::{Period, PeriodKind};
use crate::domain::plan::{Direction, History, Span, Version};
use crate::domain::status::Figure;
use crate::domain::tolerance::{Rag, Trend};

// ---- request fields ----

/// A financial year as the contracts carry it: required, its start year in the suite's range.
pub(super) fn year_of(
    v: &mut Violations,
    field: &str,
    y: Option<&common::FinancialYear>,
) -> Option<i32> {
    match y {
        Some(y) => v.field(field, fields::start_year(y.start_year)),
        None => {
            v.add(field, "required");
            None
        }
    }
}

pub(super) fn period_from_proto(p: Option<&common::Period>) -> Result<Period, String> {
    let p = p.ok_or("required: a month or quarter of a financial year")?;
    let year = p.year.as_ref().ok_or("year required")?.start_year;
    let kind = match common::PeriodKind::try_from(p.kind) {
        Ok(common::PeriodKind::Month) => PeriodKind::Month,
        Ok(common::PeriodKind::Quarter) => PeriodKind::Quarter,
        _ => return Err("kind must be PERIOD_KIND_MONTH or PERIOD_KIND_QUARTER".into()),
    };
    Period::new(year, kind, p.number)
}

/// AIP-158: the page size and the key to continue after, each refused by its own field.
pub(super) fn page_request(
    page_size: i32,
    page_token: &str,
) -> Result<(u64, Option<String>), AppError> {
    let mut v = Violations::new();
    let size = v.take("page_size", paging::page_size(page_size));
    let after = v.take("page_token", paging::decode_token(page_token));
    v.into_result()?;
    match (size, after) {
        (Some(size), Some(after)) => Ok((size, after)),
        _ => unreachable!("violations were reported above"),
    }
}

/// One page of `rows` (read one past `size`) and the token for the next, if any.
pub(super) fn page<T>(mut rows: Vec<T>, size: u64, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
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

// ---- stored rows -> domain ----

pub(super) fn span_of(plan: &dp_plan::Model) -> Span {
    Span {
        first: plan.first_year,
        last: plan.last_year,
    }
}

pub(super) fn history_of(
    plan: &dp_plan::Model,
    rows: &[dp_plan_version::Model],
) -> Result<History, AppError> {
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

pub(super) fn variance_period(r: &dp_variance::Model) -> Result<Period, AppError> {
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

pub(super) fn figure_of(r: &dp_variance::Model) -> Result<Figure, AppError> {
    Ok(Figure {
        target_code: r.target_code.clone(),
        period: variance_period(r)?,
        actual: r.actual,
        forecast: r.forecast,
        commentary: r.commentary.clone(),
    })
}

// ---- domain -> proto ----

pub(super) fn fy(year: i32) -> Option<common::FinancialYear> {
    Some(common::FinancialYear { start_year: year })
}

pub(super) fn period_to_proto(p: Period) -> common::Period {
    common::Period {
        year: fy(p.year),
        kind: match p.kind {
            PeriodKind::Month => common::PeriodKind::Month,
            PeriodKind::Quarter => common::PeriodKind::Quarter,
        } as i32,
        number: p.number,
    }
}

pub(super) fn direction_to_proto(d: Direction) -> pb::Direction {
    match d {
        Direction::HigherIsBetter => pb::Direction::HigherIsBetter,
        Direction::LowerIsBetter => pb::Direction::LowerIsBetter,
    }
}

pub(super) fn plan_to_proto(
    plan: &dp_plan::Model,
    v: &dp_plan_version::Model,
) -> Result<pb::Plan, AppError> {
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

pub(super) fn amendment_to_proto(a: &dp_amendment::Model) -> Result<pb::Amendment, AppError> {
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

pub(super) fn exception_to_proto(e: &dp_exception::Model) -> pb::PlanException {
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

pub(super) fn variance_to_proto(row: &dp_variance::Model) -> Result<pb::Variance, AppError> {
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
}

/// A status in words, for event summaries.
pub(super) fn rag_word(r: Option<Rag>) -> &'static str {
    match r {
        Some(Rag::OnTrack) => "on track",
        Some(Rag::AtRisk) => "at risk",
        Some(Rag::OffTrack) => "off track",
        None => "no status",
    }
}

pub(super) fn rag_to_proto(r: Option<Rag>) -> pb::RagStatus {
    match r {
        Some(Rag::OnTrack) => pb::RagStatus::OnTrack,
        Some(Rag::AtRisk) => pb::RagStatus::AtRisk,
        Some(Rag::OffTrack) => pb::RagStatus::OffTrack,
        None => pb::RagStatus::Unspecified,
    }
}

pub(super) fn trend_to_proto(t: Trend) -> pb::Trend {
    match t {
        Trend::First => pb::Trend::First,
        Trend::Improving => pb::Trend::Improving,
        Trend::Steady => pb::Trend::Steady,
        Trend::Worsening => pb::Trend::Worsening,
    }
}

pub(super) fn countdown_to_proto(c: &Countdown) -> pb::DecentHomesCountdown {
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
