//! What the inspection tests share: a served app with the demo data, the requests they send
//! (named by what they ask for) and the fixtures they build on (Leeds ENE declared and booked).
//! Each test file uses some of it.
#![allow(dead_code)]

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::inspection::export_calendar_request::Owner;
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::inspection::{
    self as pb, BookInspectionRequest, CancelInspectionRequest, DeclareReadinessRequest,
    ExportCalendarRequest, FindSlotsRequest, GetFundingEligibilityRequest, GetInspectionRequest,
    GetReadinessRequest, ListInspectionsRequest, MoveInspectionRequest, ProposeProgrammeRequest,
    RecordOutcomeRequest, RecordStageDateRequest, RecordUnavailabilityRequest,
    ReplaceTeamMemberRequest,
};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, authed};
use tonic::Status;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub type Client = InspectionSchedulingServiceClient<Channel>;

/// The service on a port of its own, its database holding the demo directory and this service's
/// demo data, and a client of it.
pub async fn app() -> (TestApp, Client) {
    let app = TestApp::spawn(vec![almo_inspection_scheduling::mount()])
        .await
        .unwrap();
    almo_inspection_scheduling::demo::seed(&app.db)
        .await
        .unwrap();
    let client = InspectionSchedulingServiceClient::new(app.channel().await);
    (app, client)
}

/// The rule code a refusal names (`ErrorInfo.reason`).
pub fn reason(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

/// The fields a refusal names (`BadRequest`), in order.
pub fn bad_fields(s: &Status) -> Vec<String> {
    s.get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// A request from the Housing Inspectorate.
pub fn ins<T>(r: T) -> tonic::Request<T> {
    authed(r, INSPECTORATE, Role::Inspectorate)
}

pub fn team_ids(i: &pb::Inspection) -> Vec<String> {
    i.team.iter().map(|m| m.inspector_id.clone()).collect()
}

// Readiness.

pub fn review(service: pb::BestValueService, date: &str) -> pb::BestValueReview {
    pb::BestValueReview {
        service: service as i32,
        completion_date: date.into(),
    }
}

/// Leeds ENE (live 2007-04-01, 20,000 homes): rent collection reviewed 10 October 2007, an
/// internal audit the week of 15 October, a board meeting on 24 October.
pub fn leeds_ene_readiness(request_id: &str, etag: &str) -> DeclareReadinessRequest {
    DeclareReadinessRequest {
        request_id: request_id.into(),
        almo_id: LEEDS_ENE.into(),
        best_value_reviews: vec![
            review(pb::BestValueService::RepairsAndMaintenance, "2006-11-30"),
            review(pb::BestValueService::CapitalProgrammeDelivery, "2007-02-28"),
            review(pb::BestValueService::RentCollection, "2007-10-10"),
            review(pb::BestValueService::EstateManagement, "2007-03-30"),
        ],
        blackouts: vec![pb::Blackout {
            label: "internal audit".into(),
            start_date: "2007-10-15".into(),
            end_date: "2007-10-19".into(),
        }],
        board_meeting_dates: vec!["2007-10-24".into()],
        funding_round: "round 5".into(),
        funding_needed_by_date: "2008-01-31".into(),
        etag: etag.into(),
    }
}

pub fn readiness_of(almo: &str) -> GetReadinessRequest {
    GetReadinessRequest {
        almo_id: almo.into(),
    }
}

pub async fn declare_leeds_ene(client: &mut Client) -> pb::Readiness {
    client
        .declare_readiness(authed(
            leeds_ene_readiness("ready-1", ""),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .readiness
        .unwrap()
}

/// Leeds West North West declares what Leeds ENE declared.
pub async fn declare_leeds_wnw(client: &mut Client) {
    let wnw = DeclareReadinessRequest {
        almo_id: LEEDS_WNW.into(),
        ..leeds_ene_readiness("ready-wnw", "")
    };
    client
        .declare_readiness(authed(wnw, LEEDS_WNW, Role::AlmoOfficer))
        .await
        .unwrap();
}

// Slots and bookings.

pub fn slots(almo: &str, from: &str, to: &str, max_slots: i32) -> FindSlotsRequest {
    FindSlotsRequest {
        almo_id: almo.into(),
        window_start_date: from.into(),
        window_end_date: to.into(),
        max_slots,
    }
}

pub fn booking(request_id: &str, almo: &str, monday: &str, team: &[&str]) -> BookInspectionRequest {
    BookInspectionRequest {
        request_id: request_id.into(),
        almo_id: almo.into(),
        on_site_start_date: monday.into(),
        team_inspector_ids: team.iter().map(|t| t.to_string()).collect(),
        span_weeks: 0,
    }
}

pub const LEEDS_TEAM: &[&str] = &["LEAD-PATEL", "INSP-KOWALSKI", "INSP-WALSH", "TIA-HALL"];

/// Leeds ENE declared, then booked for the week of 22 October 2007 with [`LEEDS_TEAM`].
pub async fn book_leeds_ene(client: &mut Client) -> pb::Inspection {
    declare_leeds_ene(client).await;
    book(client, "book-1", LEEDS_ENE, "2007-10-22", LEEDS_TEAM).await
}

pub async fn book(
    client: &mut Client,
    rid: &str,
    almo: &str,
    monday: &str,
    team: &[&str],
) -> pb::Inspection {
    client
        .book_inspection(ins(booking(rid, almo, monday, team)))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap()
}

// Reading inspections.

pub fn inspection(id: &str) -> GetInspectionRequest {
    GetInspectionRequest {
        inspection_id: id.into(),
    }
}

/// The inspection `id` as the inspectorate reads it.
pub async fn get(client: &mut Client, id: &str) -> pb::Inspection {
    client
        .get_inspection(ins(inspection(id)))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap()
}

/// The first page of `almo`'s inspections (every ALMO's when empty) with one of `statuses` (none:
/// the server's default).
pub fn inspections_of(almo: &str, statuses: &[pb::InspectionStatus]) -> ListInspectionsRequest {
    ListInspectionsRequest {
        almo_id: almo.into(),
        page_size: 0,
        page_token: String::new(),
        statuses: statuses.iter().map(|s| *s as i32).collect(),
        late_only: false,
    }
}

/// The ids of the inspections on a page, in order.
pub fn ids(r: pb::ListInspectionsResponse) -> Vec<String> {
    r.inspections.into_iter().map(|i| i.inspection_id).collect()
}

// Stages and outcomes.

pub fn stage_date(
    request_id: &str,
    inspection_id: &str,
    stage: pb::Stage,
    date: &str,
    etag: &str,
) -> RecordStageDateRequest {
    RecordStageDateRequest {
        request_id: request_id.into(),
        inspection_id: inspection_id.into(),
        stage: stage as i32,
        actual_date: date.into(),
        etag: etag.into(),
    }
}

/// Records the team on site at `inspection_id` on `date` (etag `etag`) and expects it refused as
/// the ALMO's end: FAILED_PRECONDITION, ALMO_ENDED, naming the last day `ended_on`.
pub async fn on_site_refused_as_almo_ended(
    client: &mut Client,
    inspection_id: &str,
    date: &str,
    etag: &str,
    ended_on: &str,
) {
    let err = client
        .record_stage_date(ins(stage_date(
            "on-site",
            inspection_id,
            pb::Stage::OnSite,
            date,
            etag,
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(
        err.message().contains(&format!("ended on {ended_on}")),
        "{}",
        err.message()
    );
}

pub fn outcome(
    request_id: &str,
    inspection_id: &str,
    (stars, prospects): (i32, pb::Prospects),
    score_letter_date: &str,
    etag: &str,
) -> RecordOutcomeRequest {
    RecordOutcomeRequest {
        request_id: request_id.into(),
        inspection_id: inspection_id.into(),
        stars,
        prospects: prospects as i32,
        score_letter_date: score_letter_date.into(),
        etag: etag.into(),
    }
}

pub fn eligibility_of(almo: &str) -> GetFundingEligibilityRequest {
    GetFundingEligibilityRequest {
        almo_id: almo.into(),
    }
}

// Changes to a booking.

pub fn replace(
    request_id: &str,
    inspection_id: &str,
    leaving: &str,
    joining: &str,
    etag: &str,
) -> ReplaceTeamMemberRequest {
    ReplaceTeamMemberRequest {
        request_id: request_id.into(),
        inspection_id: inspection_id.into(),
        leaving_inspector_id: leaving.into(),
        joining_inspector_id: joining.into(),
        etag: etag.into(),
    }
}

pub fn move_to(
    request_id: &str,
    inspection_id: &str,
    monday: &str,
    team: &[&str],
    etag: &str,
) -> MoveInspectionRequest {
    MoveInspectionRequest {
        request_id: request_id.into(),
        inspection_id: inspection_id.into(),
        on_site_start_date: monday.into(),
        team_inspector_ids: team.iter().map(|t| t.to_string()).collect(),
        etag: etag.into(),
    }
}

pub fn cancel(request_id: &str, inspection_id: &str, etag: &str) -> CancelInspectionRequest {
    cancel_because(
        request_id,
        inspection_id,
        etag,
        "the ALMO's chief executive has left; the board asked to postpone",
    )
}

pub fn cancel_because(
    request_id: &str,
    inspection_id: &str,
    etag: &str,
    reason: &str,
) -> CancelInspectionRequest {
    CancelInspectionRequest {
        request_id: request_id.into(),
        inspection_id: inspection_id.into(),
        etag: etag.into(),
        reason: reason.into(),
    }
}

/// Cancels as the inspectorate; the inspection as cancelled.
pub async fn cancel_ok(client: &mut Client, request: CancelInspectionRequest) -> pb::Inspection {
    client
        .cancel_inspection(ins(request))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap()
}

// Inspectors.

/// `inspector` on sick leave from `from` to `to`.
pub fn leave(
    request_id: &str,
    inspector: &str,
    from: &str,
    to: &str,
    etag: &str,
) -> RecordUnavailabilityRequest {
    RecordUnavailabilityRequest {
        request_id: request_id.into(),
        inspector_id: inspector.into(),
        unavailability: Some(pb::Unavailability {
            start_date: from.into(),
            end_date: to.into(),
            reason: "sick leave".into(),
        }),
        etag: etag.into(),
    }
}

// Programmes and calendars.

/// A programme for 2007/08 Q3 (October to December 2007) of `almos`, the search seeded and
/// bounded; `dropped` (or empty) the inspector dropping out.
pub fn programme_2007_q3(
    almos: &[&str],
    seed: u64,
    max_steps: i32,
    dropped: &str,
) -> ProposeProgrammeRequest {
    ProposeProgrammeRequest {
        quarter: Some(Period {
            year: Some(FinancialYear { start_year: 2007 }),
            kind: PeriodKind::Quarter as i32,
            number: 3,
        }),
        almo_ids: almos.iter().map(|a| a.to_string()).collect(),
        seed,
        max_steps,
        time_budget_ms: 5000,
        dropped_inspector_id: dropped.into(),
        max_steps_without_improvement: 0,
    }
}

pub fn calendar_of(owner: Owner) -> ExportCalendarRequest {
    ExportCalendarRequest { owner: Some(owner) }
}
