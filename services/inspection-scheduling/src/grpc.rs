//! `almo.inspection.v1.InspectionSchedulingService`: decode -> check caller -> domain -> storage
//! -> reply.

use std::collections::HashMap;

use almo_auth::{OrgKind, Role};
use almo_db::Begun;
use almo_db::entity::{
    insp_inspection, insp_inspector, insp_readiness, insp_team_member, organisation,
};
use almo_directory::domain::region::canonical_region;
use almo_proto::common::{Money, PeriodKind};
use almo_proto::inspection::inspection_scheduling_service_server::InspectionSchedulingService;
use almo_proto::inspection::{
    self as pb, BookInspectionRequest, BookInspectionResponse, CancelInspectionRequest,
    CancelInspectionResponse, CreateInspectorRequest, CreateInspectorResponse,
    DeclareReadinessRequest, DeclareReadinessResponse, ExportCalendarRequest,
    ExportCalendarResponse, FindSlotsRequest, FindSlotsResponse, GetFundingEligibilityRequest,
    GetFundingEligibilityResponse, GetInspectionRequest, GetInspectionResponse,
    GetReadinessRequest, GetReadinessResponse, ListInspectionsRequest, ListInspectionsResponse,
    ListInspectorsRequest, ListInspectorsResponse, MoveInspectionRequest, MoveInspectionResponse,
    ProposeProgrammeRequest, ProposeProgrammeResponse, RecordOutcomeRequest, RecordOutcomeResponse,
    RecordStageDateRequest, RecordStageDateResponse, RecordUnavailabilityRequest,
    RecordUnavailabilityResponse, ReplaceTeamMemberRequest, ReplaceTeamMemberResponse,
};
use almo_server::{AppError, Principal, ServiceContext, Violations, paging};
use almo_server::{etag, timestamp as ts};
use chrono::{NaiveDate, Utc};
use std::time::Duration;
use tonic::{Request, Response, Status};

use crate::domain::HardRule;
use crate::domain::calendar::{CalendarEvent, ics};
use crate::domain::cancellation::{InspectionStatus, cancellation_reason};
use crate::domain::fee::{ROUNDS_1_AND_2, fee_estimate};
use crate::domain::lifecycle::{
    Stage, check_record, current_stage, default_span_weeks, overdue, planned_dates,
};
use crate::domain::outcome::{
    Eligibility, Outcome, Prospects, deadline_missed, eligibility, qualifying_deadline, star_label,
};
use crate::domain::programme::{
    Assignment, Programme, ProgrammeAlmo, ProgrammeRequest, ScoredAssignment, quarter_dates,
    replan_without, schedule,
};
use crate::domain::readiness::{BestValueService, earliest_inspection};
use crate::domain::slots::SoftScore;
use crate::domain::slots::{Candidate, Verdict, find_slots};
use crate::domain::team::{Inspector, InspectorRole, Target, required_team, team_rules};
use crate::domain::{DateRange, is_monday, on_site_week};
use crate::error::{booking_conflict, lifecycle, refused};
use crate::storage;

pub const SERVICE_NAME: &str = "almo.inspection.v1.InspectionSchedulingService";

/// Longest window FindSlots searches.
const MAX_WINDOW_DAYS: i64 = 731;

#[derive(Clone)]
pub struct InspectionScheduling {
    ctx: ServiceContext,
}

impl InspectionScheduling {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }

    /// The ALMO's directory entry, once the caller may read its data.
    async fn readable_almo(
        &self,
        p: &Principal,
        almo_id: &str,
    ) -> Result<organisation::Model, AppError> {
        self.ctx.access.require_read(p, almo_id).await?;
        almo_row(self.ctx.db.conn(), almo_id).await
    }

    /// An inspection the caller may see; one it may not see is PERMISSION_DENIED whether or not
    /// it exists.
    async fn readable_inspection(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<insp_inspection::Model, AppError> {
        let row = storage::inspection(self.ctx.db.conn(), id).await?;
        match row {
            Some(r) => {
                self.ctx.access.require_read(p, &r.almo_id).await?;
                Ok(r)
            }
            None if p.reads_everyone() => Err(AppError::NotFound(format!("no inspection {id:?}"))),
            None => Err(AppError::PermissionDenied(format!(
                "{} ({}) may not see inspection {id:?}",
                p.org.id, p.caller.role
            ))),
        }
    }

    async fn inspection_reply(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        row: &insp_inspection::Model,
    ) -> Result<pb::Inspection, AppError> {
        let team = storage::teams(conn, std::slice::from_ref(&row.id)).await?;
        Ok(inspection_to_proto(row, &team, Utc::now().date_naive()))
    }
}

async fn almo_row(
    conn: &impl sea_orm::ConnectionTrait,
    almo_id: &str,
) -> Result<organisation::Model, AppError> {
    let row = storage::organisation(conn, almo_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("ALMO {almo_id:?}")))?;
    if row.kind != OrgKind::Almo.as_str() {
        return Err(AppError::invalid(
            "almo_id",
            format!("{almo_id} is not an ALMO"),
        ));
    }
    Ok(row)
}

fn require_inspectorate(p: &Principal, what: &str) -> Result<(), AppError> {
    if p.org.kind == OrgKind::Inspectorate && p.caller.role == Role::Inspectorate {
        Ok(())
    } else {
        Err(AppError::PermissionDenied(format!(
            "only the Housing Inspectorate may {what}; {} is a {}",
            p.org.id, p.org.kind
        )))
    }
}

fn date_str(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn gbp(pence: i64) -> Money {
    Money {
        pence,
        currency_code: "GBP".into(),
    }
}

/// Parses an ISO date field; empty is `None` when the field is optional.
fn parse_date(v: &mut Violations, field: &str, s: &str, required: bool) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        if required {
            v.add(field, "required: an ISO-8601 date such as 2004-05-10");
        }
        return None;
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(
                field,
                format!("{s:?} is not an ISO-8601 date such as 2004-05-10"),
            );
            None
        }
    }
}

fn check_code(v: &mut Violations, field: &str, s: &str) {
    let ok = (2..=40).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    v.check(
        !ok,
        field,
        "2 to 40 capital letters, digits and hyphens, e.g. LEAD-OKAFOR",
    );
}

fn role_from_proto(r: i32) -> Option<InspectorRole> {
    match pb::InspectorRole::try_from(r).ok()? {
        pb::InspectorRole::Lead => Some(InspectorRole::Lead),
        pb::InspectorRole::Inspector => Some(InspectorRole::Inspector),
        pb::InspectorRole::Tia => Some(InspectorRole::Tia),
        pb::InspectorRole::Unspecified => None,
    }
}

fn role_to_proto(r: Option<InspectorRole>) -> pb::InspectorRole {
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

fn prospects_from_proto(p: i32) -> Option<Prospects> {
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

fn bv_from_proto(s: i32) -> Option<BestValueService> {
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

fn readiness_to_proto(
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

fn inspector_to_proto(m: &storage::StaffMember, name: &str) -> pb::Inspector {
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

fn actual_dates(r: &insp_inspection::Model) -> [Option<NaiveDate>; 5] {
    [
        r.on_site_actual,
        r.draft_actual,
        r.comments_actual,
        r.score_letter_actual,
        r.published_actual,
    ]
}

fn outcome_of(r: &insp_inspection::Model) -> Option<Outcome> {
    Some(Outcome {
        stars: u8::try_from(r.stars?).ok()?,
        prospects: Prospects::parse(r.prospects.as_deref()?)?,
        score_letter: r.score_letter_actual?,
    })
}

fn planned_of(r: &insp_inspection::Model) -> [NaiveDate; 5] {
    let span = u32::try_from(r.span_weeks).unwrap_or(0);
    planned_dates(r.on_site_date, span).unwrap_or([r.on_site_date; 5])
}

fn eligibility_to_proto(r: &insp_inspection::Model) -> Option<pb::FundingEligibility> {
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

fn outcome_to_proto(o: &Outcome) -> pb::Outcome {
    pb::Outcome {
        stars: i32::from(o.stars),
        star_label: star_label(o.stars).unwrap_or_default().into(),
        prospects: prospects_to_proto(o.prospects) as i32,
        score_letter_date: o.score_letter.to_string(),
    }
}

fn team_member(m: &insp_team_member::Model, name: &str) -> pb::TeamMember {
    pb::TeamMember {
        inspector_id: m.inspector_id.clone(),
        name: name.to_string(),
        role: role_to_proto(InspectorRole::parse(&m.role)) as i32,
    }
}

fn status_of(r: &insp_inspection::Model) -> InspectionStatus {
    // Unknown text is read as booked: the column is written only by this service.
    InspectionStatus::parse(&r.status).unwrap_or(InspectionStatus::Booked)
}

fn status_to_proto(s: InspectionStatus) -> pb::InspectionStatus {
    match s {
        InspectionStatus::Booked => pb::InspectionStatus::Booked,
        InspectionStatus::Cancelled => pb::InspectionStatus::Cancelled,
    }
}

fn status_from_proto(s: i32) -> Option<InspectionStatus> {
    match pb::InspectionStatus::try_from(s) {
        Ok(pb::InspectionStatus::Booked) => Some(InspectionStatus::Booked),
        Ok(pb::InspectionStatus::Cancelled) => Some(InspectionStatus::Cancelled),
        _ => None,
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

/// Refuses any change or record to a cancelled inspection.
fn not_cancelled(r: &insp_inspection::Model) -> Result<(), AppError> {
    if status_of(r) == InspectionStatus::Cancelled {
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

fn inspection_to_proto(
    r: &insp_inspection::Model,
    team: &[(insp_team_member::Model, String)],
    today: NaiveDate,
) -> pb::Inspection {
    let planned = planned_of(r);
    let actual = actual_dates(r);
    let late = overdue(&planned, &actual, today);
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
            .map(|(m, name)| team_member(m, name))
            .collect(),
        stages: Stage::DATED
            .iter()
            .enumerate()
            .map(|(i, s)| pb::StageDate {
                stage: stage_to_proto(*s) as i32,
                planned_date: planned[i].to_string(),
                actual_date: date_str(actual[i]),
                overdue: late.contains(s),
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

fn target_of(almo: &organisation::Model, previous_stars: Option<u8>) -> Target {
    Target {
        almo_id: almo.id.clone(),
        council_id: almo.council_id.clone().unwrap_or_default(),
        region: almo.region.clone().unwrap_or_default(),
        stock_size: u32::try_from(almo.stock_size.unwrap_or(0)).unwrap_or(0),
        previous_stars,
    }
}

fn good_and_promising(previous: Option<(u8, Prospects)>) -> bool {
    previous.is_some_and(|(s, p)| s >= 2 && p >= Prospects::Promising)
}

/// The handlers, returning `AppError` so storage and domain errors convert with `?`.
impl InspectionScheduling {
    async fn declare_readiness_impl(
        &self,
        request: Request<DeclareReadinessRequest>,
    ) -> Result<Response<DeclareReadinessResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let almo_id = r.almo_id.trim().to_string();
        let mut v = Violations::new();
        v.check(almo_id.is_empty(), "almo_id", "required");
        let mut reviews: [Option<NaiveDate>; 4] = [None; 4];
        for (i, b) in r.best_value_reviews.iter().enumerate() {
            let field = format!("best_value_reviews[{i}]");
            match bv_from_proto(b.service) {
                None => v.add(
                    format!("{field}.service"),
                    "one of the four key services (003 §109)",
                ),
                Some(s) if reviews[s.index()].is_some() => v.add(
                    format!("{field}.service"),
                    format!("{} is listed twice", s.label()),
                ),
                Some(s) => {
                    reviews[s.index()] = parse_date(
                        &mut v,
                        &format!("{field}.completion_date"),
                        &b.completion_date,
                        true,
                    );
                }
            }
        }
        let mut blackouts = Vec::new();
        for (i, b) in r.blackouts.iter().enumerate() {
            let field = format!("blackouts[{i}]");
            let label = b.label.trim();
            v.check(
                label.is_empty() || label.chars().count() > 100,
                &format!("{field}.label"),
                "required, at most 100 characters: what it is, e.g. \"internal audit\"",
            );
            let s = parse_date(&mut v, &format!("{field}.start_date"), &b.start_date, true);
            let e = parse_date(&mut v, &format!("{field}.end_date"), &b.end_date, true);
            if let (Some(s), Some(e)) = (s, e) {
                if e < s {
                    v.add(format!("{field}.end_date"), "before start_date");
                } else {
                    blackouts.push((label.to_string(), s, e));
                }
            }
        }
        let mut meetings = Vec::new();
        for (i, m) in r.board_meeting_dates.iter().enumerate() {
            if let Some(d) = parse_date(&mut v, &format!("board_meeting_dates[{i}]"), m, true) {
                if meetings.contains(&d) {
                    v.add(format!("board_meeting_dates[{i}]"), "listed twice");
                } else {
                    meetings.push(d);
                }
            }
        }
        v.check(
            r.funding_round.chars().count() > 50,
            "funding_round",
            "at most 50 characters",
        );
        let needed_by = parse_date(
            &mut v,
            "funding_needed_by_date",
            &r.funding_needed_by_date,
            false,
        );
        v.check(
            r.blackouts.len() > 100 || r.board_meeting_dates.len() > 100,
            "blackouts",
            "at most 100 blackouts and 100 board meetings",
        );
        v.into_result()?;
        // The ALMO declares its own readiness (000 §9.1: it tells the inspectors).
        if !(p.org.kind == OrgKind::Almo
            && p.org.id == almo_id
            && p.caller.role == Role::AlmoOfficer)
        {
            return Err(AppError::PermissionDenied(format!(
                "only {almo_id}'s own officers declare its readiness; {} ({}) may not",
                p.org.id, p.caller.role
            )));
        }
        let ctx = p.call_context(SERVICE_NAME, "DeclareReadiness", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let almo = almo_row(write.txn(), &almo_id).await?;
        let current = storage::readiness(write.txn(), &almo_id).await?;
        let expected = current.row.as_ref().map(|c| c.version);
        let stale = match expected {
            Some(v) => etag(v) != r.etag.trim(),
            None => !r.etag.trim().is_empty(),
        };
        let resource = format!("readiness/{almo_id}");
        if stale {
            return Err(AppError::stale_etag(&resource));
        }
        let row = insp_readiness::Model {
            almo_id: almo_id.clone(),
            bv_repairs_date: reviews[0],
            bv_capital_date: reviews[1],
            bv_rent_date: reviews[2],
            bv_estate_date: reviews[3],
            funding_round: r.funding_round.trim().to_string(),
            funding_needed_by_date: needed_by,
            version: expected.unwrap_or(0) + 1,
            updated_at: Utc::now(),
        };
        if !storage::replace_readiness(write.txn(), row, expected, &blackouts, &meetings).await? {
            return Err(AppError::stale_etag(&resource));
        }
        let stored = storage::readiness(write.txn(), &almo_id).await?;
        let resp = DeclareReadinessResponse {
            readiness: Some(readiness_to_proto(&almo, &stored)),
        };
        write
            .finish(&resp, &resource)
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn get_readiness_impl(
        &self,
        request: Request<GetReadinessRequest>,
    ) -> Result<Response<GetReadinessResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let almo_id = request.get_ref().almo_id.trim();
        if almo_id.is_empty() {
            return Err(AppError::invalid("almo_id", "required"));
        }
        let almo = self.readable_almo(&p, almo_id).await?;
        let stored = storage::readiness(self.ctx.db.conn(), almo_id)
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(GetReadinessResponse {
            readiness: Some(readiness_to_proto(&almo, &stored)),
        }))
    }

    async fn create_inspector_impl(
        &self,
        request: Request<CreateInspectorRequest>,
    ) -> Result<Response<CreateInspectorResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        check_code(&mut v, "inspector_id", &r.inspector_id);
        let name = r.name.trim();
        v.check(
            name.is_empty() || name.chars().count() > 200,
            "name",
            "required, at most 200 characters",
        );
        let role = role_from_proto(r.role);
        v.check(
            role.is_none(),
            "role",
            "required: INSPECTOR_ROLE_LEAD, INSPECTOR_ROLE_INSPECTOR or INSPECTOR_ROLE_TIA",
        );
        let region = canonical_region(&r.region);
        v.check(
            region.is_none(),
            "region",
            format!("{:?} is not an English region (e.g. \"London\")", r.region),
        );
        let tenant_of = r.tenant_of_organisation_id.trim();
        match role {
            Some(InspectorRole::Tia) => v.check(
                tenant_of.is_empty(),
                "tenant_of_organisation_id",
                "required for a TIA: the landlord whose tenant they are (003 §111)",
            ),
            Some(_) => v.check(
                !tenant_of.is_empty(),
                "tenant_of_organisation_id",
                "only TIAs are tenants of a landlord here",
            ),
            None => {}
        }
        v.into_result()?;
        require_inspectorate(&p, "manage inspectors")?;
        let ctx = p.call_context(SERVICE_NAME, "CreateInspector", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        if !tenant_of.is_empty() {
            let landlord = storage::organisation(write.txn(), tenant_of).await?;
            if !landlord.is_some_and(|o| o.kind == "council" || o.kind == "almo") {
                return Err(AppError::invalid(
                    "tenant_of_organisation_id",
                    format!("{tenant_of} is not a council or ALMO in the directory"),
                ));
            }
        }
        if storage::inspector(write.txn(), &r.inspector_id)
            .await?
            .is_some()
        {
            return Err(AppError::AlreadyExists(format!(
                "inspector {} already exists",
                r.inspector_id
            )));
        }
        let now = Utc::now();
        let row = insp_inspector::Model {
            id: r.inspector_id.clone(),
            name: name.to_string(),
            role: role.expect("validated").as_str().into(),
            region: region.expect("validated").into(),
            tenant_of: Some(tenant_of.to_string()).filter(|t| !t.is_empty()),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        storage::insert_inspector(write.txn(), row).await?;
        let staff =
            storage::staff(write.txn(), Some(std::slice::from_ref(&r.inspector_id))).await?;
        let resp = CreateInspectorResponse {
            inspector: staff.first().map(|m| inspector_to_proto(m, name)),
        };
        write
            .finish(&resp, &format!("inspectors/{}", r.inspector_id))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn record_unavailability_impl(
        &self,
        request: Request<RecordUnavailabilityRequest>,
    ) -> Result<Response<RecordUnavailabilityResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.inspector_id.trim().is_empty(), "inspector_id", "required");
        v.require_etag(&r.etag, "the inspector's etag as last read");
        let u = r.unavailability.clone().unwrap_or_default();
        let s = parse_date(&mut v, "unavailability.start_date", &u.start_date, true);
        let e = parse_date(&mut v, "unavailability.end_date", &u.end_date, true);
        let period = match (s, e) {
            (Some(s), Some(e)) => {
                let p = DateRange::new(s, e);
                v.check(p.is_none(), "unavailability.end_date", "before start_date");
                p
            }
            _ => None,
        };
        v.check(
            u.reason.chars().count() > 200,
            "unavailability.reason",
            "at most 200 characters",
        );
        v.into_result()?;
        let period = period.expect("validated");
        require_inspectorate(&p, "record inspectors' unavailability")?;
        let ctx = p.call_context(SERVICE_NAME, "RecordUnavailability", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let resource = format!("inspectors/{}", r.inspector_id);
        let current = storage::inspector(write.txn(), &r.inspector_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no inspector {:?}", r.inspector_id)))?;
        if etag(current.version) != r.etag.trim() {
            return Err(AppError::stale_etag(&resource));
        }
        // Unavailability over a week already booked would leave a booking that breaks a hard rule
        // unseen: refused, naming the bookings, until the re-plan is applied.
        let before = storage::staff(write.txn(), Some(std::slice::from_ref(&current.id))).await?;
        let clashes: Vec<String> = before
            .iter()
            .flat_map(|m| m.domain.booked.iter())
            .filter(|(week, _)| week.overlaps(&period))
            .map(|(week, id)| format!("inspection {id} (on site {week})"))
            .collect();
        if !clashes.is_empty() {
            return Err(AppError::failed_precondition(
                "INSPECTOR_BOOKED",
                format!(
                    "{} is booked on {} inside {period}: replace them on the booking \
                     (ReplaceTeamMember or MoveInspection) before recording the unavailability",
                    current.id,
                    clashes.join(", ")
                ),
            ));
        }
        if !storage::add_unavailability(
            write.txn(),
            &current.id,
            current.version,
            period,
            u.reason.trim(),
            Utc::now(),
        )
        .await?
        {
            return Err(AppError::stale_etag(&resource));
        }
        let staff = storage::staff(write.txn(), Some(std::slice::from_ref(&current.id))).await?;
        let resp = RecordUnavailabilityResponse {
            inspector: staff.first().map(|m| inspector_to_proto(m, &current.name)),
        };
        write
            .finish(&resp, &resource)
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn list_inspectors_impl(
        &self,
        request: Request<ListInspectorsRequest>,
    ) -> Result<Response<ListInspectorsResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let role = if r.role == 0 {
            None
        } else {
            let role = role_from_proto(r.role);
            v.check(
                role.is_none(),
                "role",
                format!("{} is not an InspectorRole", r.role),
            );
            role
        };
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        if !(p.org.kind == OrgKind::Inspectorate || p.is_operator()) {
            return Err(AppError::PermissionDenied(
                "the inspectorate's staff are listed to the inspectorate only".into(),
            ));
        }
        let conn = self.ctx.db.conn();
        let mut ids = storage::inspector_page(conn, role, after, size + 1)
            .await
            .map_err(AppError::from)?;
        let next_page_token = if ids.len() as u64 > size {
            ids.truncate(size as usize);
            ids.last()
                .map(|i| paging::encode_token(i))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let staff = storage::staff(conn, Some(&ids))
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(ListInspectorsResponse {
            inspectors: staff
                .iter()
                .map(|m| inspector_to_proto(m, &m.row.name))
                .collect(),
            next_page_token,
        }))
    }

    async fn find_slots_impl(
        &self,
        request: Request<FindSlotsRequest>,
    ) -> Result<Response<FindSlotsResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(r.almo_id.trim().is_empty(), "almo_id", "required");
        let s = parse_date(&mut v, "window_start_date", &r.window_start_date, true);
        let e = parse_date(&mut v, "window_end_date", &r.window_end_date, true);
        let window = match (s, e) {
            (Some(s), Some(e)) => {
                let w = DateRange::new(s, e);
                v.check(w.is_none(), "window_end_date", "before window_start_date");
                v.check(
                    (e - s).num_days() > MAX_WINDOW_DAYS,
                    "window_end_date",
                    "the window is at most two years",
                );
                w
            }
            _ => None,
        };
        v.check(
            !(0..=52).contains(&r.max_slots),
            "max_slots",
            "0 (for 5) to 52",
        );
        v.into_result()?;
        let window = window.expect("validated");
        require_inspectorate(&p, "search for inspection slots")?;
        let conn = self.ctx.db.conn();
        let almo = almo_row(conn, r.almo_id.trim()).await?;
        let stored = storage::readiness(conn, &almo.id)
            .await
            .map_err(AppError::from)?;
        let readiness = stored.to_domain(almo.go_live_date, almo.end_date);
        let (history, previous) = storage::history(conn, &almo.id)
            .await
            .map_err(AppError::from)?;
        let target = target_of(&almo, previous.map(|(s, _)| s));
        let staff = storage::staff(conn, None).await.map_err(AppError::from)?;
        let people: Vec<Inspector> = staff.iter().map(|m| m.domain.clone()).collect();
        let names: HashMap<&str, (&str, &str)> = staff
            .iter()
            .map(|m| {
                (
                    m.row.id.as_str(),
                    (m.row.name.as_str(), m.row.role.as_str()),
                )
            })
            .collect();
        let candidate = Candidate {
            target: &target,
            readiness: &readiness,
            history: &history,
            previous_good_and_promising: good_and_promising(previous),
        };
        let max = if r.max_slots == 0 {
            5
        } else {
            r.max_slots as usize
        };
        let weeks = find_slots(&candidate, &people, window, max);
        let need = required_team(target.stock_size, target.previous_stars);
        let slots = weeks
            .into_iter()
            .map(|w| {
                let mut slot = pb::Slot {
                    on_site_start_date: w.week.start.to_string(),
                    on_site_end_date: w.week.end.to_string(),
                    ..Default::default()
                };
                match w.verdict {
                    Verdict::Feasible { team, score } => {
                        slot.feasible = true;
                        slot.soft_score = score.total() as i32;
                        slot.team = team
                            .iter()
                            .map(|id| {
                                let (name, role) =
                                    names.get(id.as_str()).copied().unwrap_or_default();
                                pb::TeamMember {
                                    inspector_id: id.clone(),
                                    name: name.into(),
                                    role: role_to_proto(InspectorRole::parse(role)) as i32,
                                }
                            })
                            .collect();
                        slot.penalties = score
                            .penalties
                            .into_iter()
                            .map(|p| pb::Penalty {
                                rule: p.rule.into(),
                                points: p.points as i32,
                                justification: p.justification,
                            })
                            .collect();
                    }
                    Verdict::RuledOut(rules) => {
                        slot.broken_rules = rules
                            .iter()
                            .map(|h| pb::BrokenRule {
                                code: h.code().into(),
                                description: h.to_string(),
                            })
                            .collect();
                    }
                }
                slot
            })
            .collect();
        Ok(Response::new(FindSlotsResponse {
            slots,
            required_inspectors: need.inspectors as i32,
            required_tias: need.tias as i32,
            fee_estimate: Some(gbp(fee_estimate(
                target.stock_size,
                target.previous_stars,
                ROUNDS_1_AND_2,
            ))),
            span_weeks: default_span_weeks(target.stock_size, good_and_promising(previous)) as i32,
        }))
    }

    async fn book_inspection_impl(
        &self,
        request: Request<BookInspectionRequest>,
    ) -> Result<Response<BookInspectionResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let almo_id = r.almo_id.trim().to_string();
        let mut v = Violations::new();
        v.check(almo_id.is_empty(), "almo_id", "required");
        let monday = parse_date(&mut v, "on_site_start_date", &r.on_site_start_date, true);
        if let Some(m) = monday {
            v.check(
                !is_monday(m),
                "on_site_start_date",
                "the team arrives on a Monday",
            );
        }
        let mut team_ids: Vec<String> = r
            .team_inspector_ids
            .iter()
            .map(|i| i.trim().to_string())
            .collect();
        team_ids.sort();
        let before = team_ids.len();
        team_ids.dedup();
        v.check(
            team_ids.is_empty(),
            "team_inspector_ids",
            "required: the team",
        );
        v.check(
            team_ids.len() != before,
            "team_inspector_ids",
            "lists an inspector twice",
        );
        v.check(team_ids.len() > 20, "team_inspector_ids", "at most 20");
        v.check(
            r.span_weeks != 0 && !(10..=16).contains(&r.span_weeks),
            "span_weeks",
            "0 for the default, or 10 to 16 weeks from arrival on site (003 §113)",
        );
        v.into_result()?;
        let monday = monday.expect("validated");
        require_inspectorate(&p, "book inspections")?;
        let ctx = p.call_context(SERVICE_NAME, "BookInspection", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let txn = write.txn();
        let almo = almo_row(txn, &almo_id).await?;
        let stored = storage::readiness(txn, &almo_id).await?;
        let readiness = stored.to_domain(almo.go_live_date, almo.end_date);
        let (history, previous) = storage::history(txn, &almo_id).await?;
        let target = target_of(&almo, previous.map(|(s, _)| s));
        let staff = storage::staff(txn, Some(&team_ids)).await?;
        let unknown: Vec<&String> = team_ids
            .iter()
            .filter(|id| !staff.iter().any(|m| &m.row.id == *id))
            .collect();
        if !unknown.is_empty() {
            return Err(AppError::invalid(
                "team_inspector_ids",
                format!("no inspector {unknown:?}"),
            ));
        }
        let team: Vec<&Inspector> = staff.iter().map(|m| &m.domain).collect();
        let week = on_site_week(monday);
        let mut broken = crate::domain::readiness::almo_rules(&readiness, &history, week);
        broken.extend(team_rules(&target, &team, week));
        if !broken.is_empty() {
            return Err(refused(&broken));
        }
        let span = if r.span_weeks == 0 {
            default_span_weeks(target.stock_size, good_and_promising(previous))
        } else {
            r.span_weeks as u32
        };
        let now = Utc::now();
        let id = storage::free_inspection_id(txn, &almo_id, monday).await?;
        let row = insp_inspection::Model {
            id: id.clone(),
            almo_id: almo_id.clone(),
            council_id: almo.council_id.clone().unwrap_or_default(),
            open_almo_id: Some(almo_id.clone()),
            on_site_date: monday,
            span_weeks: span as i32,
            on_site_actual: None,
            draft_actual: None,
            comments_actual: None,
            score_letter_actual: None,
            published_actual: None,
            stars: None,
            prospects: None,
            fee_pence: fee_estimate(target.stock_size, target.previous_stars, ROUNDS_1_AND_2),
            version: 1,
            created_at: now,
            updated_at: now,
            status: InspectionStatus::Booked.as_str().into(),
            cancel_reason: None,
            cancelled_by: None,
            cancelled_by_org: None,
            cancelled_at: None,
        };
        let members: Vec<(String, InspectorRole)> =
            team.iter().map(|i| (i.id.clone(), i.role)).collect();
        storage::insert_inspection(txn, row.clone(), &members)
            .await
            .map_err(booking_conflict)?;
        let inspection = self.inspection_reply(txn, &row).await?;
        let resp = BookInspectionResponse {
            inspection: Some(inspection),
        };
        write
            .finish(&resp, &format!("inspections/{id}"))
            .await
            .map_err(booking_conflict)?;
        Ok(Response::new(resp))
    }

    async fn record_stage_date_impl(
        &self,
        request: Request<RecordStageDateRequest>,
    ) -> Result<Response<RecordStageDateResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(
            r.inspection_id.trim().is_empty(),
            "inspection_id",
            "required",
        );
        v.require_etag(&r.etag, "the inspection's etag as last read");
        let stage = match pb::Stage::try_from(r.stage) {
            Ok(pb::Stage::OnSite) => Some(Stage::OnSite),
            Ok(pb::Stage::DraftReport) => Some(Stage::DraftReport),
            Ok(pb::Stage::CommentsAndRoundTable) => Some(Stage::CommentsAndRoundTable),
            Ok(pb::Stage::Published) => Some(Stage::Published),
            Ok(pb::Stage::ScoreLetter) => {
                v.add("stage", "the score letter is recorded with RecordOutcome");
                None
            }
            _ => {
                v.add(
                    "stage",
                    "STAGE_ON_SITE, STAGE_DRAFT_REPORT, STAGE_COMMENTS_AND_ROUND_TABLE or STAGE_PUBLISHED",
                );
                None
            }
        };
        let date = parse_date(&mut v, "actual_date", &r.actual_date, true);
        v.into_result()?;
        let (stage, date) = (stage.expect("validated"), date.expect("validated"));
        require_inspectorate(&p, "record inspection stages")?;
        let ctx = p.call_context(SERVICE_NAME, "RecordStageDate", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let resource = format!("inspections/{}", r.inspection_id);
        let current = Self::as_read(write.txn(), r.inspection_id.trim(), &r.etag).await?;
        let today = Utc::now().date_naive();
        check_record(&actual_dates(&current), stage, date, today).map_err(lifecycle)?;
        let mut row = current.clone();
        match stage {
            Stage::OnSite => row.on_site_actual = Some(date),
            Stage::DraftReport => row.draft_actual = Some(date),
            Stage::CommentsAndRoundTable => row.comments_actual = Some(date),
            Stage::Published => {
                row.published_actual = Some(date);
                // Published: the ALMO may be booked again (six months on, 003 §118).
                row.open_almo_id = None;
            }
            Stage::Booked | Stage::ScoreLetter => unreachable!("refused above"),
        }
        row.version = current.version + 1;
        row.updated_at = Utc::now();
        if !storage::update_inspection_if_version(write.txn(), row.clone(), current.version).await?
        {
            return Err(AppError::stale_etag(&resource));
        }
        let resp = RecordStageDateResponse {
            inspection: Some(self.inspection_reply(write.txn(), &row).await?),
        };
        write
            .finish(&resp, &resource)
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn record_outcome_impl(
        &self,
        request: Request<RecordOutcomeRequest>,
    ) -> Result<Response<RecordOutcomeResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        v.check(
            r.inspection_id.trim().is_empty(),
            "inspection_id",
            "required",
        );
        v.require_etag(&r.etag, "the inspection's etag as last read");
        v.check(
            !(0..=3).contains(&r.stars),
            "stars",
            "0 (poor) to 3 (excellent)",
        );
        let prospects = prospects_from_proto(r.prospects);
        v.check(
            prospects.is_none(),
            "prospects",
            "required: poor, uncertain, promising or excellent",
        );
        let letter = parse_date(&mut v, "score_letter_date", &r.score_letter_date, true);
        v.into_result()?;
        let (prospects, letter) = (prospects.expect("validated"), letter.expect("validated"));
        require_inspectorate(&p, "record inspection outcomes")?;
        let ctx = p.call_context(SERVICE_NAME, "RecordOutcome", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let resource = format!("inspections/{}", r.inspection_id);
        let current = Self::as_read(write.txn(), r.inspection_id.trim(), &r.etag).await?;
        let today = Utc::now().date_naive();
        check_record(&actual_dates(&current), Stage::ScoreLetter, letter, today)
            .map_err(lifecycle)?;
        let mut row = current.clone();
        row.stars = Some(r.stars);
        row.prospects = Some(prospects.as_str().into());
        row.score_letter_actual = Some(letter);
        row.version = current.version + 1;
        row.updated_at = Utc::now();
        if !storage::update_inspection_if_version(write.txn(), row.clone(), current.version).await?
        {
            return Err(AppError::stale_etag(&resource));
        }
        let resp = RecordOutcomeResponse {
            inspection: Some(self.inspection_reply(write.txn(), &row).await?),
        };
        write
            .finish(&resp, &resource)
            .await
            .map_err(AppError::from)?;
        Ok(Response::new(resp))
    }

    async fn get_inspection_impl(
        &self,
        request: Request<GetInspectionRequest>,
    ) -> Result<Response<GetInspectionResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let id = request.get_ref().inspection_id.trim();
        if id.is_empty() {
            return Err(AppError::invalid("inspection_id", "required"));
        }
        let row = self.readable_inspection(&p, id).await?;
        Ok(Response::new(GetInspectionResponse {
            inspection: Some(self.inspection_reply(self.ctx.db.conn(), &row).await?),
        }))
    }

    async fn list_inspections_impl(
        &self,
        request: Request<ListInspectionsRequest>,
    ) -> Result<Response<ListInspectionsResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.take("page_size", paging::page_size(r.page_size));
        let after = v.take("page_token", paging::decode_token(&r.page_token));
        let mut statuses = Vec::new();
        for s in &r.statuses {
            match status_from_proto(*s) {
                Some(s) if !statuses.contains(&s) => statuses.push(s),
                Some(_) => {}
                None => v.add(
                    "statuses",
                    format!("{s} is not INSPECTION_STATUS_BOOKED or INSPECTION_STATUS_CANCELLED"),
                ),
            }
        }
        if statuses.is_empty() {
            // What callers saw before cancelled inspections were kept.
            statuses.push(InspectionStatus::Booked);
        }
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let almo_id = Some(r.almo_id.trim()).filter(|a| !a.is_empty());
        if let Some(a) = almo_id {
            self.ctx.access.require_read(&p, a).await?;
        }
        let conn = self.ctx.db.conn();
        let mut rows = storage::list_inspections(conn, &p, almo_id, &statuses, after, size + 1)
            .await
            .map_err(AppError::from)?;
        let next_page_token = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| paging::encode_token(&r.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let teams = storage::teams(conn, &ids).await.map_err(AppError::from)?;
        let today = Utc::now().date_naive();
        Ok(Response::new(ListInspectionsResponse {
            inspections: rows
                .iter()
                .map(|r| inspection_to_proto(r, &teams, today))
                .collect(),
            next_page_token,
        }))
    }

    async fn get_funding_eligibility_impl(
        &self,
        request: Request<GetFundingEligibilityRequest>,
    ) -> Result<Response<GetFundingEligibilityResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let almo_id = request.get_ref().almo_id.trim();
        if almo_id.is_empty() {
            return Err(AppError::invalid("almo_id", "required"));
        }
        let almo = self.readable_almo(&p, almo_id).await?;
        let latest = storage::latest_outcome(self.ctx.db.conn(), &almo.id)
            .await
            .map_err(AppError::from)?;
        let mut eligibility = latest
            .as_ref()
            .and_then(eligibility_to_proto)
            .unwrap_or_else(|| pb::FundingEligibility {
                almo_id: almo.id.clone(),
                ..Default::default()
            });
        if let Some(consent) = almo.section27_consent_date {
            let deadline = qualifying_deadline(consent);
            let e = Eligibility {
                eligible: eligibility.eligible,
                effective_from: NaiveDate::parse_from_str(
                    &eligibility.effective_from_date,
                    "%Y-%m-%d",
                )
                .ok(),
                earliest_reinspection: None,
                support_framework: eligibility.support_framework,
            };
            eligibility.qualifying_deadline_date = deadline.to_string();
            eligibility.qualifying_deadline_missed =
                deadline_missed(deadline, &e, Utc::now().date_naive());
        }
        Ok(Response::new(GetFundingEligibilityResponse {
            eligibility: Some(eligibility),
        }))
    }
}

/// Programme scheduling over the stored readiness, staff and bookings.
impl InspectionScheduling {
    async fn propose_programme_impl(
        &self,
        request: Request<ProposeProgrammeRequest>,
    ) -> Result<Response<ProposeProgrammeResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
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
            !(0..=5000).contains(&r.max_steps),
            "max_steps",
            "0 (for 200) to 5000",
        );
        v.check(
            !(0..=10_000).contains(&r.time_budget_ms),
            "time_budget_ms",
            "0 (for 2000) to 10000",
        );
        let mut ids: Vec<String> = r.almo_ids.iter().map(|a| a.trim().to_string()).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        v.check(ids.len() != before, "almo_ids", "lists an ALMO twice");
        v.check(ids.len() > 500, "almo_ids", "at most 500");
        v.into_result()?;
        let quarter = quarter.expect("validated");
        require_inspectorate(&p, "schedule inspection programmes")?;
        let conn = self.ctx.db.conn();
        let orgs = if ids.is_empty() {
            storage::live_almos(conn).await?
        } else {
            let mut orgs = Vec::new();
            let mut v = Violations::new();
            for id in &ids {
                match almo_row(conn, id).await {
                    Ok(o) => orgs.push(o),
                    Err(_) => v.add("almo_ids", format!("{id} is not an ALMO in the directory")),
                }
            }
            v.into_result()?;
            orgs
        };
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
        let seed = r.seed;
        let max_steps = if r.max_steps == 0 {
            200
        } else {
            r.max_steps as u32
        };
        let budget = Duration::from_millis(if r.time_budget_ms == 0 {
            2000
        } else {
            r.time_budget_ms as u64
        });
        // The search is CPU work: off the async workers.
        let (prog, why) = tokio::task::spawn_blocking(move || {
            let req = ProgrammeRequest {
                almos: &almos,
                people: &people,
                quarter,
                pinned: &pinned,
                seed,
                max_steps,
                time_budget: budget,
            };
            let prog = if dropped.is_empty() {
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
                    soft_total: 0,
                    weeks_assessed: 0,
                    steps: 0,
                };
                replan_without(
                    &ProgrammeRequest {
                        pinned: &[],
                        ..req.clone()
                    },
                    &previous,
                    &dropped,
                )
            };
            let why: HashMap<String, Vec<HardRule>> = prog
                .unscheduled
                .iter()
                .filter_map(|id| {
                    let a = almos.iter().find(|a| &a.target.almo_id == id)?;
                    let c = Candidate {
                        target: &a.target,
                        readiness: &a.readiness,
                        history: &a.history,
                        previous_good_and_promising: a.previous_good_and_promising,
                    };
                    let mut rules: Vec<HardRule> = Vec::new();
                    for w in find_slots(&c, &people, quarter, usize::MAX) {
                        if let Verdict::RuledOut(broken) = w.verdict {
                            for b in broken {
                                if !rules.iter().any(|x| x.code() == b.code()) {
                                    rules.push(b);
                                }
                            }
                        }
                    }
                    Some((id.clone(), rules))
                })
                .collect();
            (prog, why)
        })
        .await
        .map_err(|e| AppError::Internal(format!("programme search failed: {e}")))?;
        let member = |id: &String| {
            let (name, role) = names.get(id).cloned().unwrap_or_default();
            pb::TeamMember {
                inspector_id: id.clone(),
                name,
                role: role_to_proto(InspectorRole::parse(&role)) as i32,
            }
        };
        Ok(Response::new(ProposeProgrammeResponse {
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
                    penalties: a
                        .score
                        .penalties
                        .iter()
                        .map(|p| pb::Penalty {
                            rule: p.rule.into(),
                            points: p.points as i32,
                            justification: p.justification.clone(),
                        })
                        .collect(),
                })
                .collect(),
            unscheduled: prog
                .unscheduled
                .iter()
                .map(|id| pb::UnscheduledAlmo {
                    almo_id: id.clone(),
                    broken_rules: why
                        .get(id)
                        .map(|rules| {
                            rules
                                .iter()
                                .map(|h| pb::BrokenRule {
                                    code: h.code().into(),
                                    description: h.to_string(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
            soft_total: prog.soft_total as i32,
            weeks_assessed: prog.weeks_assessed as i64,
            steps: prog.steps as i32,
        }))
    }
}

/// Changing a booking already made: a new team member, a new week, or none at all.
impl InspectionScheduling {
    /// The booking to change, read in the write's transaction: not cancelled, the etag as last
    /// read, and not yet on site (a team on site or a report under way is recorded, not
    /// re-planned).
    /// Re-reads a changed inspection inside its write, replies with it and finishes the write.
    async fn changed<R: prost::Message>(
        &self,
        write: almo_db::PendingWrite,
        id: &str,
        resource: &str,
        make: impl FnOnce(pb::Inspection) -> R,
    ) -> Result<R, AppError> {
        let txn = write.txn();
        let row = storage::inspection(txn, id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("inspection {id} vanished")))?;
        let resp = make(self.inspection_reply(txn, &row).await?);
        write
            .finish(&resp, resource)
            .await
            .map_err(booking_conflict)?;
        Ok(resp)
    }

    /// The inspection `id` inside a write, if it is not cancelled and `given_etag` is its etag.
    async fn as_read(
        txn: &impl sea_orm::ConnectionTrait,
        id: &str,
        given_etag: &str,
    ) -> Result<insp_inspection::Model, AppError> {
        let current = storage::inspection(txn, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no inspection {id:?}")))?;
        // Cancelled first: a stale etag on a cancelled inspection would only send the caller to
        // read it again and be refused.
        not_cancelled(&current)?;
        if etag(current.version) != given_etag.trim() {
            return Err(AppError::stale_etag(&format!("inspections/{id}")));
        }
        Ok(current)
    }

    /// [`Self::as_read`], and a booking not yet on site: what move, re-team and cancel may change.
    async fn changeable(
        txn: &impl sea_orm::ConnectionTrait,
        id: &str,
        given_etag: &str,
    ) -> Result<insp_inspection::Model, AppError> {
        let current = Self::as_read(txn, id, given_etag).await?;
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

    /// The team `team_ids` for `current` in the week of `monday`, checked against every team hard
    /// rule (and, when the week moves, every readiness rule), the booking's own week excluded.
    async fn checked_team(
        txn: &impl sea_orm::ConnectionTrait,
        current: &insp_inspection::Model,
        monday: NaiveDate,
        team_ids: &[String],
        field: &str,
    ) -> Result<Vec<(String, InspectorRole)>, AppError> {
        let almo = almo_row(txn, &current.almo_id).await?;
        let (mut history, previous) = storage::history(txn, &current.almo_id).await?;
        if history.open_inspection.as_deref() == Some(current.id.as_str()) {
            history.open_inspection = None;
        }
        let target = target_of(&almo, previous.map(|(s, _)| s));
        let mut staff = storage::staff(txn, Some(team_ids)).await?;
        let unknown: Vec<&String> = team_ids
            .iter()
            .filter(|id| !staff.iter().any(|m| &m.row.id == *id))
            .collect();
        if !unknown.is_empty() {
            return Err(AppError::invalid(
                field,
                format!("no inspector {unknown:?}"),
            ));
        }
        for m in &mut staff {
            m.domain.booked.retain(|(_, id)| *id != current.id);
        }
        let week = on_site_week(monday);
        let mut broken = Vec::new();
        if monday != current.on_site_date {
            let stored = storage::readiness(txn, &current.almo_id).await?;
            let readiness = stored.to_domain(almo.go_live_date, almo.end_date);
            broken.extend(crate::domain::readiness::almo_rules(
                &readiness, &history, week,
            ));
        }
        let team: Vec<&Inspector> = staff.iter().map(|m| &m.domain).collect();
        broken.extend(team_rules(&target, &team, week));
        if !broken.is_empty() {
            return Err(refused(&broken));
        }
        Ok(team.iter().map(|i| (i.id.clone(), i.role)).collect())
    }

    async fn replace_team_member_impl(
        &self,
        request: Request<ReplaceTeamMemberRequest>,
    ) -> Result<Response<ReplaceTeamMemberResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let id = r.inspection_id.trim();
        let leaving = r.leaving_inspector_id.trim();
        let joining = r.joining_inspector_id.trim();
        let mut v = Violations::new();
        v.check(id.is_empty(), "inspection_id", "required");
        v.check(leaving.is_empty(), "leaving_inspector_id", "required");
        v.check(joining.is_empty(), "joining_inspector_id", "required");
        v.check(
            !joining.is_empty() && joining == leaving,
            "joining_inspector_id",
            "the same inspector as leaving_inspector_id",
        );
        v.require_etag(&r.etag, "the inspection's etag as last read");
        v.into_result()?;
        require_inspectorate(&p, "change inspection teams")?;
        let ctx = p.call_context(SERVICE_NAME, "ReplaceTeamMember", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let txn = write.txn();
        let current = Self::changeable(txn, id, &r.etag).await?;
        let members: Vec<String> = storage::teams(txn, std::slice::from_ref(&current.id))
            .await?
            .into_iter()
            .map(|(m, _)| m.inspector_id)
            .collect();
        if !members.iter().any(|m| m == leaving) {
            return Err(AppError::invalid(
                "leaving_inspector_id",
                format!("{leaving} is not on the team of inspection {id}"),
            ));
        }
        if members.iter().any(|m| m == joining) {
            return Err(AppError::invalid(
                "joining_inspector_id",
                format!("{joining} is already on the team of inspection {id}"),
            ));
        }
        let mut team_ids: Vec<String> = members.into_iter().filter(|m| m != leaving).collect();
        team_ids.push(joining.to_string());
        team_ids.sort();
        let team = Self::checked_team(
            txn,
            &current,
            current.on_site_date,
            &team_ids,
            "joining_inspector_id",
        )
        .await?;
        let now = Utc::now();
        let resource = format!("inspections/{id}");
        if !storage::rebook_inspection(
            txn,
            &current.id,
            current.version,
            current.on_site_date,
            &team,
            now,
        )
        .await
        .map_err(booking_conflict)?
        {
            return Err(AppError::stale_etag(&resource));
        }
        let resp = self
            .changed(write, id, &resource, |inspection| {
                ReplaceTeamMemberResponse {
                    inspection: Some(inspection),
                }
            })
            .await?;
        Ok(Response::new(resp))
    }

    async fn move_inspection_impl(
        &self,
        request: Request<MoveInspectionRequest>,
    ) -> Result<Response<MoveInspectionResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let id = r.inspection_id.trim();
        let mut v = Violations::new();
        v.check(id.is_empty(), "inspection_id", "required");
        let monday = parse_date(&mut v, "on_site_start_date", &r.on_site_start_date, true);
        if let Some(m) = monday {
            v.check(
                !is_monday(m),
                "on_site_start_date",
                "the team arrives on a Monday",
            );
        }
        let mut team_ids: Vec<String> = r
            .team_inspector_ids
            .iter()
            .map(|i| i.trim().to_string())
            .collect();
        team_ids.sort();
        let before = team_ids.len();
        team_ids.dedup();
        v.check(
            team_ids.len() != before,
            "team_inspector_ids",
            "lists an inspector twice",
        );
        v.check(team_ids.len() > 20, "team_inspector_ids", "at most 20");
        v.require_etag(&r.etag, "the inspection's etag as last read");
        v.into_result()?;
        let monday = monday.expect("validated");
        require_inspectorate(&p, "move inspections")?;
        let ctx = p.call_context(SERVICE_NAME, "MoveInspection", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let txn = write.txn();
        let current = Self::changeable(txn, id, &r.etag).await?;
        if team_ids.is_empty() {
            team_ids = storage::teams(txn, std::slice::from_ref(&current.id))
                .await?
                .into_iter()
                .map(|(m, _)| m.inspector_id)
                .collect();
        }
        let team =
            Self::checked_team(txn, &current, monday, &team_ids, "team_inspector_ids").await?;
        let resource = format!("inspections/{id}");
        if !storage::rebook_inspection(txn, &current.id, current.version, monday, &team, Utc::now())
            .await
            .map_err(booking_conflict)?
        {
            return Err(AppError::stale_etag(&resource));
        }
        let resp = self
            .changed(write, id, &resource, |inspection| MoveInspectionResponse {
                inspection: Some(inspection),
            })
            .await?;
        Ok(Response::new(resp))
    }

    async fn cancel_inspection_impl(
        &self,
        request: Request<CancelInspectionRequest>,
    ) -> Result<Response<CancelInspectionResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let id = r.inspection_id.trim();
        let mut v = Violations::new();
        v.check(id.is_empty(), "inspection_id", "required");
        v.require_etag(&r.etag, "the inspection's etag as last read");
        let why = v.take(
            "reason",
            cancellation_reason(&r.reason).map_err(|e| AppError::invalid("reason", e)),
        );
        v.into_result()?;
        let why = why.expect("validated");
        require_inspectorate(&p, "cancel inspections")?;
        let ctx = p.call_context(SERVICE_NAME, "CancelInspection", &r.request_id);
        let write = match self
            .ctx
            .db
            .begin_idempotent(&ctx, r)
            .await
            .map_err(AppError::from)?
        {
            Begun::Replay(resp) => return Ok(Response::new(resp)),
            Begun::Fresh(w) => w,
        };
        let txn = write.txn();
        let current = Self::changeable(txn, id, &r.etag).await?;
        let resource = format!("inspections/{id}");
        let cancellation = storage::Cancellation {
            reason: &why,
            subject: &p.caller.subject,
            organisation_id: &p.caller.organisation_id,
            at: Utc::now(),
        };
        if !storage::cancel_inspection(txn, &current.id, current.version, &cancellation).await? {
            return Err(AppError::stale_etag(&resource));
        }
        let resp = self
            .changed(write, id, &resource, |inspection| {
                CancelInspectionResponse {
                    inspection: Some(inspection),
                }
            })
            .await?;
        Ok(Response::new(resp))
    }
}

/// iCalendar export.
impl InspectionScheduling {
    async fn export_calendar_impl(
        &self,
        request: Request<ExportCalendarRequest>,
    ) -> Result<Response<ExportCalendarResponse>, AppError> {
        let p = self.ctx.principal(&request).await?;
        let conn = self.ctx.db.conn();
        let (name, rows) = match &request.get_ref().owner {
            Some(pb::export_calendar_request::Owner::InspectorId(id)) if !id.trim().is_empty() => {
                require_inspectorate(&p, "export an inspector's calendar")?;
                let who = storage::inspector(conn, id.trim())
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("no inspector {id:?}")))?;
                (
                    format!("ALMO inspections: {}", who.name),
                    storage::inspections_of_inspector(conn, &who.id).await?,
                )
            }
            Some(pb::export_calendar_request::Owner::AlmoId(id)) if !id.trim().is_empty() => {
                let almo = self.readable_almo(&p, id.trim()).await?;
                (
                    format!("Inspections of {}", almo.name),
                    storage::inspections_of_almo(conn, &almo.id).await?,
                )
            }
            _ => {
                return Err(AppError::invalid(
                    "owner",
                    "required: inspector_id or almo_id",
                ));
            }
        };
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let teams = storage::teams(conn, &ids).await?;
        let mut almo_names: HashMap<String, String> = HashMap::new();
        for r in &rows {
            if !almo_names.contains_key(&r.almo_id) {
                let n = storage::organisation(conn, &r.almo_id)
                    .await?
                    .map(|o| o.name)
                    .unwrap_or_else(|| r.almo_id.clone());
                almo_names.insert(r.almo_id.clone(), n);
            }
        }
        let mut events = Vec::new();
        for r in &rows {
            let almo = &almo_names[&r.almo_id];
            let cancelled = status_of(r) == InspectionStatus::Cancelled;
            let marked = |summary: String| {
                if cancelled {
                    format!("Cancelled: {summary}")
                } else {
                    summary
                }
            };
            // Every change to the inspection is a new version; SEQUENCE follows it from 0 at
            // booking so a subscriber takes a move, a new team or a cancellation (RFC 5545
            // §3.8.7.4).
            let sequence = u32::try_from(r.version - 1).unwrap_or(0);
            let team: Vec<String> = teams
                .iter()
                .filter(|(m, _)| m.inspection_id == r.id)
                .map(|(m, n)| format!("{n} ({})", m.role))
                .collect();
            let mut description = format!(
                "Inspection {} of {almo} ({}). Team: {}. Fee estimate £{}.{:02}.",
                r.id,
                r.almo_id,
                team.join(", "),
                r.fee_pence / 100,
                r.fee_pence % 100
            );
            if cancelled {
                description = format!(
                    "Cancelled: {}. {description}",
                    r.cancel_reason.as_deref().unwrap_or("no reason recorded")
                );
            }
            let week = on_site_week(r.on_site_date);
            events.push(CalendarEvent {
                uid: format!("{}-on-site@almo-exchange", r.id),
                summary: marked(format!("ALMO inspection on site: {almo}")),
                description: description.clone(),
                first_day: week.start,
                last_day: week.end,
                sequence,
                cancelled,
            });
            let planned = planned_of(r);
            let actual = actual_dates(r);
            for (i, stage) in Stage::DATED.iter().enumerate().skip(1) {
                let (day, kind) = match actual[i] {
                    Some(d) => (d, ""),
                    None => (planned[i], " (planned)"),
                };
                events.push(CalendarEvent {
                    uid: format!("{}-{}@almo-exchange", r.id, stage.label().replace(' ', "-")),
                    summary: marked(format!("{almo}: {}{kind}", stage.label())),
                    description: description.clone(),
                    first_day: day,
                    last_day: day,
                    sequence,
                    cancelled,
                });
            }
        }
        Ok(Response::new(ExportCalendarResponse {
            content_type: "text/calendar; charset=utf-8".into(),
            event_count: events.len() as i32,
            calendar: ics(&name, &events, Utc::now()),
        }))
    }
}

#[tonic::async_trait]
impl InspectionSchedulingService for InspectionScheduling {
    async fn replace_team_member(
        &self,
        request: Request<ReplaceTeamMemberRequest>,
    ) -> Result<Response<ReplaceTeamMemberResponse>, Status> {
        Ok(self.replace_team_member_impl(request).await?)
    }

    async fn move_inspection(
        &self,
        request: Request<MoveInspectionRequest>,
    ) -> Result<Response<MoveInspectionResponse>, Status> {
        Ok(self.move_inspection_impl(request).await?)
    }

    async fn cancel_inspection(
        &self,
        request: Request<CancelInspectionRequest>,
    ) -> Result<Response<CancelInspectionResponse>, Status> {
        Ok(self.cancel_inspection_impl(request).await?)
    }
    async fn export_calendar(
        &self,
        request: Request<ExportCalendarRequest>,
    ) -> Result<Response<ExportCalendarResponse>, Status> {
        Ok(self.export_calendar_impl(request).await?)
    }

    async fn propose_programme(
        &self,
        request: Request<ProposeProgrammeRequest>,
    ) -> Result<Response<ProposeProgrammeResponse>, Status> {
        Ok(self.propose_programme_impl(request).await?)
    }

    async fn declare_readiness(
        &self,
        request: Request<DeclareReadinessRequest>,
    ) -> Result<Response<DeclareReadinessResponse>, Status> {
        Ok(self.declare_readiness_impl(request).await?)
    }

    async fn get_readiness(
        &self,
        request: Request<GetReadinessRequest>,
    ) -> Result<Response<GetReadinessResponse>, Status> {
        Ok(self.get_readiness_impl(request).await?)
    }

    async fn create_inspector(
        &self,
        request: Request<CreateInspectorRequest>,
    ) -> Result<Response<CreateInspectorResponse>, Status> {
        Ok(self.create_inspector_impl(request).await?)
    }

    async fn record_unavailability(
        &self,
        request: Request<RecordUnavailabilityRequest>,
    ) -> Result<Response<RecordUnavailabilityResponse>, Status> {
        Ok(self.record_unavailability_impl(request).await?)
    }

    async fn list_inspectors(
        &self,
        request: Request<ListInspectorsRequest>,
    ) -> Result<Response<ListInspectorsResponse>, Status> {
        Ok(self.list_inspectors_impl(request).await?)
    }

    async fn find_slots(
        &self,
        request: Request<FindSlotsRequest>,
    ) -> Result<Response<FindSlotsResponse>, Status> {
        Ok(self.find_slots_impl(request).await?)
    }

    async fn book_inspection(
        &self,
        request: Request<BookInspectionRequest>,
    ) -> Result<Response<BookInspectionResponse>, Status> {
        Ok(self.book_inspection_impl(request).await?)
    }

    async fn record_stage_date(
        &self,
        request: Request<RecordStageDateRequest>,
    ) -> Result<Response<RecordStageDateResponse>, Status> {
        Ok(self.record_stage_date_impl(request).await?)
    }

    async fn record_outcome(
        &self,
        request: Request<RecordOutcomeRequest>,
    ) -> Result<Response<RecordOutcomeResponse>, Status> {
        Ok(self.record_outcome_impl(request).await?)
    }

    async fn get_inspection(
        &self,
        request: Request<GetInspectionRequest>,
    ) -> Result<Response<GetInspectionResponse>, Status> {
        Ok(self.get_inspection_impl(request).await?)
    }

    async fn list_inspections(
        &self,
        request: Request<ListInspectionsRequest>,
    ) -> Result<Response<ListInspectionsResponse>, Status> {
        Ok(self.list_inspections_impl(request).await?)
    }

    async fn get_funding_eligibility(
        &self,
        request: Request<GetFundingEligibilityRequest>,
    ) -> Result<Response<GetFundingEligibilityResponse>, Status> {
        Ok(self.get_funding_eligibility_impl(request).await?)
    }
}
