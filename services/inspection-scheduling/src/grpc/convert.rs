//! Proto <-> domain: enums both ways, and the stored rows as the contract's messages.

use almo_db::entity::{insp_inspection, insp_team_member, organisation};
use almo_fields::etag;
use almo_proto::common::Money;
use almo_proto::inspection as pb;
use almo_server::timestamp as ts;
use chrono::NaiveDate;

use crate::domain::HardRule;
use crate::domain::cancellation::InspectionStatus;
use crate::domain::lifecycle::{
    Late, Stage, current_stage, late_stages, overdue, planned_dates, window_ends,
};
use crate::domain::outcome::{Outcome, Prospects, eligibility, star_label};
use crate::domain::readiness::{BestValueService, earliest_inspection};
use crate::domain::slots::{Penalty, SoftScore};
use crate::domain::team::{InspectorRole, Target};
use crate::storage;

pub(super) fn date_str(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub(super) fn gbp(pence: i64) -> Money {
    Money {
        pence,
        currency_code: "GBP".into(),
    }
}

pub(super) fn role_from_proto(r: i32) -> Option<InspectorRole> {
    match pb::InspectorRole::try_from(r).ok()? {
        pb::InspectorRole::Lead => Some(InspectorRole::Lead),
        pb::InspectorRole::Inspector => Some(InspectorRole::Inspector),
        pb::InspectorRole::Tia => Some(InspectorRole::Tia),
        pb::InspectorRole::Unspecified => None,
    }
}

pub(super) fn role_to_proto(r: Option<InspectorRole>) -> pb::InspectorRole {
    match r {
        Some(InspectorRole::Lead) => pb::InspectorRole::Lead,
        Some(InspectorRole::Inspector) => pb::InspectorRole::Inspector,
        Some(InspectorRole::Tia) => pb::InspectorRole::Tia,
        None => pb::InspectorRole::Unspecified,
    }
}

fn stage_to_proto(s: Stage) -> pb::Stage {
    match s {
        Stage::Booked => pb::Stage::Booked,
        Stage::OnSite => pb::Stage::OnSite,
        Stage::DraftReport => pb::Stage::DraftReport,
        Stage::CommentsAndRoundTable => pb::Stage::CommentsAndRoundTable,
        Stage::ScoreLetter => pb::Stage::ScoreLetter,
        Stage::Published => pb::Stage::Published,
    }
}

pub(super) fn prospects_from_proto(p: i32) -> Option<Prospects> {
    match pb::Prospects::try_from(p).ok()? {
        pb::Prospects::Poor => Some(Prospects::Poor),
        pb::Prospects::Uncertain => Some(Prospects::Uncertain),
        pb::Prospects::Promising => Some(Prospects::Promising),
        pb::Prospects::Excellent => Some(Prospects::Excellent),
        pb::Prospects::Unspecified => None,
    }
}

fn prospects_to_proto(p: Prospects) -> pb::Prospects {
    match p {
        Prospects::Poor => pb::Prospects::Poor,
        Prospects::Uncertain => pb::Prospects::Uncertain,
        Prospects::Promising => pb::Prospects::Promising,
        Prospects::Excellent => pb::Prospects::Excellent,
    }
}

pub(super) fn bv_from_proto(s: i32) -> Option<BestValueService> {
    match pb::BestValueService::try_from(s).ok()? {
        pb::BestValueService::RepairsAndMaintenance => {
            Some(BestValueService::RepairsAndMaintenance)
        }
        pb::BestValueService::CapitalProgrammeDelivery => {
            Some(BestValueService::CapitalProgrammeDelivery)
        }
        pb::BestValueService::RentCollection => Some(BestValueService::RentCollection),
        pb::BestValueService::EstateManagement => Some(BestValueService::EstateManagement),
        pb::BestValueService::Unspecified => None,
    }
}

fn bv_to_proto(s: BestValueService) -> pb::BestValueService {
    match s {
        BestValueService::RepairsAndMaintenance => pb::BestValueService::RepairsAndMaintenance,
        BestValueService::CapitalProgrammeDelivery => {
            pb::BestValueService::CapitalProgrammeDelivery
        }
        BestValueService::RentCollection => pb::BestValueService::RentCollection,
        BestValueService::EstateManagement => pb::BestValueService::EstateManagement,
    }
}

pub(super) fn status_of(r: &insp_inspection::Model) -> InspectionStatus {
    // Unknown text is read as booked: the column is written only by this service.
    InspectionStatus::parse(&r.status).unwrap_or(InspectionStatus::Booked)
}

fn status_to_proto(s: InspectionStatus) -> pb::InspectionStatus {
    match s {
        InspectionStatus::Booked => pb::InspectionStatus::Booked,
        InspectionStatus::Cancelled => pb::InspectionStatus::Cancelled,
    }
}

pub(super) fn status_from_proto(s: i32) -> Option<InspectionStatus> {
    match pb::InspectionStatus::try_from(s) {
        Ok(pb::InspectionStatus::Booked) => Some(InspectionStatus::Booked),
        Ok(pb::InspectionStatus::Cancelled) => Some(InspectionStatus::Cancelled),
        _ => None,
    }
}

pub(super) fn readiness_to_proto(
    almo: &organisation::Model,
    stored: &storage::StoredReadiness,
) -> pb::Readiness {
    let domain = stored.to_domain(almo.go_live_date, almo.end_date);
    pb::Readiness {
        almo_id: almo.id.clone(),
        go_live_date: date_str(almo.go_live_date),
        earliest_inspection_date: date_str(almo.go_live_date.map(earliest_inspection)),
        best_value_reviews: BestValueService::ALL
            .iter()
            .filter_map(|s| {
                domain.best_value_reviews[s.index()].map(|d| pb::BestValueReview {
                    service: bv_to_proto(*s) as i32,
                    completion_date: d.to_string(),
                })
            })
            .collect(),
        blackouts: stored
            .blackouts
            .iter()
            .map(|b| pb::Blackout {
                label: b.label.clone(),
                start_date: b.start_date.to_string(),
                end_date: b.end_date.to_string(),
            })
            .collect(),
        board_meeting_dates: stored
            .board_meetings
            .iter()
            .map(ToString::to_string)
            .collect(),
        funding_round: stored
            .row
            .as_ref()
            .map(|r| r.funding_round.clone())
            .unwrap_or_default(),
        funding_needed_by_date: date_str(domain.funding_needed_by),
        etag: stored
            .row
            .as_ref()
            .map(|r| etag(r.version))
            .unwrap_or_default(),
        update_time: stored.row.as_ref().map(|r| ts(r.updated_at)),
    }
}

pub(super) fn inspector_to_proto(m: &storage::StaffMember, name: &str) -> pb::Inspector {
    pb::Inspector {
        inspector_id: m.row.id.clone(),
        name: name.to_string(),
        role: role_to_proto(InspectorRole::parse(&m.row.role)) as i32,
        region: m.row.region.clone(),
        tenant_of_organisation_id: m.row.tenant_of.clone().unwrap_or_default(),
        unavailability: m
            .unavailability
            .iter()
            .map(|u| pb::Unavailability {
                start_date: u.start_date.to_string(),
                end_date: u.end_date.to_string(),
                reason: u.reason.clone(),
            })
            .collect(),
        inspected_organisation_ids: m.domain.inspected.clone(),
        etag: etag(m.row.version),
    }
}

/// The recorded dates of the five dated stages, in [`Stage::DATED`] order.
pub(super) fn actual_dates(r: &insp_inspection::Model) -> [Option<NaiveDate>; 5] {
    [
        r.on_site_actual,
        r.draft_actual,
        r.comments_actual,
        r.score_letter_actual,
        r.published_actual,
    ]
}

/// The planned dates of the five dated stages, from the on-site week and the span.
pub(super) fn planned_of(r: &insp_inspection::Model) -> [NaiveDate; 5] {
    let span = u32::try_from(r.span_weeks).unwrap_or(0);
    planned_dates(r.on_site_date, span).unwrap_or([r.on_site_date; 5])
}

fn outcome_of(r: &insp_inspection::Model) -> Option<Outcome> {
    Some(Outcome {
        stars: u8::try_from(r.stars?).ok()?,
        prospects: Prospects::parse(r.prospects.as_deref()?)?,
        score_letter: r.score_letter_actual?,
    })
}

fn outcome_to_proto(o: &Outcome) -> pb::Outcome {
    pb::Outcome {
        stars: i32::from(o.stars),
        star_label: star_label(o.stars).unwrap_or_default().into(),
        prospects: prospects_to_proto(o.prospects) as i32,
        score_letter_date: o.score_letter.to_string(),
    }
}

pub(super) fn eligibility_to_proto(r: &insp_inspection::Model) -> Option<pb::FundingEligibility> {
    let o = outcome_of(r)?;
    let planned = planned_of(r);
    let e = eligibility(&o, Some(r.published_actual.unwrap_or(planned[4])));
    Some(pb::FundingEligibility {
        almo_id: r.almo_id.clone(),
        inspection_id: r.id.clone(),
        eligible: e.eligible,
        effective_from_date: date_str(e.effective_from),
        earliest_reinspection_date: date_str(e.earliest_reinspection),
        earliest_reinspection_provisional: e.earliest_reinspection.is_some()
            && r.published_actual.is_none(),
        support_framework: e.support_framework,
        outcome: Some(outcome_to_proto(&o)),
        ..Default::default()
    })
}

/// A team member by id, with the name and role `names` holds for them.
pub(super) fn member(id: &str, name: &str, role: &str) -> pb::TeamMember {
    pb::TeamMember {
        inspector_id: id.to_string(),
        name: name.to_string(),
        role: role_to_proto(InspectorRole::parse(role)) as i32,
    }
}

fn cancellation_to_proto(r: &insp_inspection::Model) -> Option<pb::Cancellation> {
    if status_of(r) != InspectionStatus::Cancelled {
        return None;
    }
    Some(pb::Cancellation {
        reason: r.cancel_reason.clone().unwrap_or_default(),
        cancelled_by: r.cancelled_by.clone().unwrap_or_default(),
        cancelled_by_organisation_id: r.cancelled_by_org.clone().unwrap_or_default(),
        cancel_time: r.cancelled_at.map(ts),
    })
}

/// The late stages of `r` on `today`; none for a cancelled inspection, which is off.
pub(super) fn late_of(r: &insp_inspection::Model, today: NaiveDate) -> Vec<Late> {
    match status_of(r) {
        InspectionStatus::Booked => late_stages(r.on_site_date, &actual_dates(r), today),
        InspectionStatus::Cancelled => Vec::new(),
    }
}

pub(super) fn inspection_to_proto(
    r: &insp_inspection::Model,
    team: &[(insp_team_member::Model, String)],
    today: NaiveDate,
) -> pb::Inspection {
    let planned = planned_of(r);
    let actual = actual_dates(r);
    let overdue_stages = overdue(&planned, &actual, today);
    let late = late_of(r, today);
    let window_end = window_ends(r.on_site_date);
    pb::Inspection {
        inspection_id: r.id.clone(),
        almo_id: r.almo_id.clone(),
        council_id: r.council_id.clone(),
        stage: stage_to_proto(current_stage(&actual)) as i32,
        on_site_start_date: r.on_site_date.to_string(),
        span_weeks: r.span_weeks,
        team: team
            .iter()
            .filter(|(m, _)| m.inspection_id == r.id)
            .map(|(m, name)| member(&m.inspector_id, name, &m.role))
            .collect(),
        stages: Stage::DATED
            .iter()
            .enumerate()
            .map(|(i, s)| pb::StageDate {
                stage: stage_to_proto(*s) as i32,
                planned_date: planned[i].to_string(),
                actual_date: date_str(actual[i]),
                overdue: overdue_stages.contains(s),
                window_end_date: window_end[i].to_string(),
                late: late.iter().any(|l| l.stage == *s),
                days_late: late
                    .iter()
                    .find(|l| l.stage == *s)
                    .map_or(0, |l| i32::try_from(l.days).unwrap_or(i32::MAX)),
            })
            .collect(),
        outcome: outcome_of(r).map(|o| outcome_to_proto(&o)),
        funding_eligibility: eligibility_to_proto(r),
        fee_estimate: Some(gbp(r.fee_pence)),
        etag: etag(r.version),
        create_time: Some(ts(r.created_at)),
        update_time: Some(ts(r.updated_at)),
        status: status_to_proto(status_of(r)) as i32,
        cancellation: cancellation_to_proto(r),
    }
}

pub(super) fn penalties_to_proto(score: &SoftScore) -> Vec<pb::Penalty> {
    score.penalties.iter().map(penalty_to_proto).collect()
}

fn penalty_to_proto(p: &Penalty) -> pb::Penalty {
    pb::Penalty {
        rule: p.rule.into(),
        points: p.points as i32,
        justification: p.justification.clone(),
    }
}

pub(super) fn broken_rules_to_proto(rules: &[HardRule]) -> Vec<pb::BrokenRule> {
    rules
        .iter()
        .map(|h| pb::BrokenRule {
            code: h.code().into(),
            description: h.to_string(),
        })
        .collect()
}

/// The ALMO as the team rules see it, with the stars of its last inspection.
pub(super) fn target_of(almo: &organisation::Model, previous_stars: Option<u8>) -> Target {
    Target {
        almo_id: almo.id.clone(),
        council_id: almo.council_id.clone().unwrap_or_default(),
        region: almo.region.clone().unwrap_or_default(),
        stock_size: u32::try_from(almo.stock_size.unwrap_or(0)).unwrap_or(0),
        previous_stars,
    }
}

/// The last outcome was at least two stars with promising prospects (a shorter inspection).
pub(super) fn good_and_promising(previous: Option<(u8, Prospects)>) -> bool {
    previous.is_some_and(|(s, p)| s >= 2 && p >= Prospects::Promising)
}
