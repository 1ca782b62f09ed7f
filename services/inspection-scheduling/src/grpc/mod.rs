//! `almo.inspection.v1.InspectionSchedulingService`: the trait impl is a table of delegations;
//! each resource's handlers are in their own file (decode -> check caller -> domain -> storage
//! -> reply), conversions in `convert.rs`, the write path in `write.rs`.

mod access;
mod calendar;
mod convert;
mod eligibility;
mod inspections;
mod inspectors;
mod outcomes;
mod programme;
mod readiness;
mod slots;
mod stages;
mod write;

use almo_proto::inspection::inspection_scheduling_service_server::InspectionSchedulingService;
use almo_proto::inspection::*;
use almo_server::{AppError, ServiceContext};
use tonic::{Request, Response, Status};

use almo_fields as fields;

pub const SERVICE_NAME: &str = "almo.inspection.v1.InspectionSchedulingService";

#[derive(Clone)]
pub struct InspectionScheduling {
    ctx: ServiceContext,
}

impl InspectionScheduling {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

/// A handler's answer as tonic wants it.
fn reply<T>(r: Result<T, AppError>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

/// A required field, trimmed.
fn required<'a>(field: &str, s: &'a str) -> Result<&'a str, AppError> {
    match s.trim() {
        "" => Err(AppError::invalid(field, "required")),
        s => Ok(s),
    }
}

/// Cuts a page read with one row too many down to `size`; the token to the next page, or empty
/// on the last page (AIP-158).
fn next_page<T>(rows: &mut Vec<T>, size: u64, key: impl Fn(&T) -> &str) -> String {
    if rows.len() as u64 <= size {
        return String::new();
    }
    rows.truncate(size as usize);
    rows.last()
        .map(|r| fields::next_page_token(key(r)))
        .unwrap_or_default()
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
#[rustfmt::skip]
impl InspectionSchedulingService for InspectionScheduling {
    // readiness.rs
    async fn declare_readiness(&self, r: Request<DeclareReadinessRequest>) -> Answer<DeclareReadinessResponse> { reply(self.declare_readiness(r).await) }
    async fn get_readiness(&self, r: Request<GetReadinessRequest>) -> Answer<GetReadinessResponse> { reply(self.get_readiness(r).await) }
    // inspectors.rs
    async fn create_inspector(&self, r: Request<CreateInspectorRequest>) -> Answer<CreateInspectorResponse> { reply(self.create_inspector(r).await) }
    async fn record_unavailability(&self, r: Request<RecordUnavailabilityRequest>) -> Answer<RecordUnavailabilityResponse> { reply(self.record_unavailability(r).await) }
    async fn list_inspectors(&self, r: Request<ListInspectorsRequest>) -> Answer<ListInspectorsResponse> { reply(self.list_inspectors(r).await) }
    // slots.rs
    async fn find_slots(&self, r: Request<FindSlotsRequest>) -> Answer<FindSlotsResponse> { reply(self.find_slots(r).await) }
    // inspections.rs
    async fn book_inspection(&self, r: Request<BookInspectionRequest>) -> Answer<BookInspectionResponse> { reply(self.book_inspection(r).await) }
    async fn get_inspection(&self, r: Request<GetInspectionRequest>) -> Answer<GetInspectionResponse> { reply(self.get_inspection(r).await) }
    async fn list_inspections(&self, r: Request<ListInspectionsRequest>) -> Answer<ListInspectionsResponse> { reply(self.list_inspections(r).await) }
    async fn replace_team_member(&self, r: Request<ReplaceTeamMemberRequest>) -> Answer<ReplaceTeamMemberResponse> { reply(self.replace_team_member(r).await) }
    async fn move_inspection(&self, r: Request<MoveInspectionRequest>) -> Answer<MoveInspectionResponse> { reply(self.move_inspection(r).await) }
    async fn cancel_inspection(&self, r: Request<CancelInspectionRequest>) -> Answer<CancelInspectionResponse> { reply(self.cancel_inspection(r).await) }
    // stages.rs, outcomes.rs
    async fn record_stage_date(&self, r: Request<RecordStageDateRequest>) -> Answer<RecordStageDateResponse> { reply(self.record_stage_date(r).await) }
    async fn record_outcome(&self, r: Request<RecordOutcomeRequest>) -> Answer<RecordOutcomeResponse> { reply(self.record_outcome(r).await) }
    // eligibility.rs
    async fn get_funding_eligibility(&self, r: Request<GetFundingEligibilityRequest>) -> Answer<GetFundingEligibilityResponse> { reply(self.get_funding_eligibility(r).await) }
    // programme.rs
    async fn propose_programme(&self, r: Request<ProposeProgrammeRequest>) -> Answer<ProposeProgrammeResponse> { reply(self.propose_programme(r).await) }
    // calendar.rs
    async fn export_calendar(&self, r: Request<ExportCalendarRequest>) -> Answer<ExportCalendarResponse> { reply(self.export_calendar(r).await) }
}
