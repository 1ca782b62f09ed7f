//! The inspection scheduling service as a client sees it: a real server on 127.0.0.1:0, a real
//! gRPC client, a real database (SQLite, or PostgreSQL when ALMO_TEST_DATABASE_URL is set), the
//! demo directory and this service's demo data.

use almo_auth::Role;
use almo_inspection_scheduling::demo::{HARINGEY_INSPECTION, LAMBETH_INSPECTION};
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::inspection::{
    self as pb, BookInspectionRequest, CreateInspectorRequest, DeclareReadinessRequest,
    FindSlotsRequest, GetFundingEligibilityRequest, GetInspectionRequest, GetReadinessRequest,
    ListInspectionsRequest, ListInspectorsRequest, RecordOutcomeRequest, RecordStageDateRequest,
    RecordUnavailabilityRequest,
};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, authed};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

type Client = InspectionSchedulingServiceClient<Channel>;

async fn app() -> (TestApp, Client) {
    let app = TestApp::spawn(vec![almo_inspection_scheduling::mount()])
        .await
        .unwrap();
    almo_inspection_scheduling::demo::seed(&app.db)
        .await
        .unwrap();
    let client = InspectionSchedulingServiceClient::new(app.channel().await);
    (app, client)
}

fn reason(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

fn bad_fields(s: &Status) -> Vec<String> {
    s.get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn review(service: pb::BestValueService, date: &str) -> pb::BestValueReview {
    pb::BestValueReview {
        service: service as i32,
        completion_date: date.into(),
    }
}

/// Leeds ENE (live 2007-04-01, 20,000 homes): rent collection reviewed 10 October 2007, an
/// internal audit the week of 15 October, a board meeting on 24 October.
fn leeds_ene_readiness(request_id: &str, etag: &str) -> DeclareReadinessRequest {
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

async fn declare_leeds_ene(client: &mut Client) -> pb::Readiness {
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

fn booking(request_id: &str, almo: &str, monday: &str, team: &[&str]) -> BookInspectionRequest {
    BookInspectionRequest {
        request_id: request_id.into(),
        almo_id: almo.into(),
        on_site_start_date: monday.into(),
        team_inspector_ids: team.iter().map(|t| t.to_string()).collect(),
        span_weeks: 0,
    }
}

const LEEDS_TEAM: &[&str] = &["LEAD-PATEL", "INSP-KOWALSKI", "INSP-WALSH", "TIA-HALL"];

async fn book_leeds_ene(client: &mut Client) -> pb::Inspection {
    declare_leeds_ene(client).await;
    client
        .book_inspection(authed(
            booking("book-1", LEEDS_ENE, "2007-10-22", LEEDS_TEAM),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap()
}

#[tokio::test]
async fn demo_outcomes_give_funding_eligibility_and_reinspection_date() {
    let (_app, mut client) = app().await;
    let lambeth = client
        .get_funding_eligibility(authed(
            GetFundingEligibilityRequest {
                almo_id: LAMBETH_LIVING.into(),
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner()
        .eligibility
        .unwrap();
    assert!(lambeth.eligible);
    // Eligible from the score letter's date, not the publication (003 §117).
    assert_eq!(lambeth.effective_from_date, "2009-01-05");
    assert_eq!(lambeth.inspection_id, LAMBETH_INSPECTION);
    let outcome = lambeth.outcome.unwrap();
    assert_eq!((outcome.stars, outcome.star_label.as_str()), (2, "good"));
    assert_eq!(outcome.prospects, pb::Prospects::Promising as i32);
    assert!(!lambeth.support_framework);
    assert_eq!(lambeth.earliest_reinspection_date, "");
    // Consent October 2007: two years to qualify (004 §6); qualified January 2009.
    assert_eq!(lambeth.qualifying_deadline_date, "2009-10-01");
    assert!(!lambeth.qualifying_deadline_missed);

    let haringey = client
        .get_funding_eligibility(authed(
            GetFundingEligibilityRequest {
                almo_id: HOMES_FOR_HARINGEY.into(),
            },
            HARINGEY,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .eligibility
        .unwrap();
    assert!(!haringey.eligible);
    assert_eq!(haringey.effective_from_date, "");
    // Published 2007-02-05: not before 2007-08-05 (003 §118).
    assert_eq!(haringey.earliest_reinspection_date, "2007-08-05");
    assert!(!haringey.earliest_reinspection_provisional);
    assert!(haringey.support_framework);
    assert_eq!(haringey.qualifying_deadline_date, "2007-11-01");
    assert!(haringey.qualifying_deadline_missed);

    // An ALMO without an outcome: not eligible, nothing else to say.
    let leeds = client
        .get_funding_eligibility(authed(
            GetFundingEligibilityRequest {
                almo_id: LEEDS_ENE.into(),
            },
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .eligibility
        .unwrap();
    assert!(!leeds.eligible);
    assert_eq!(leeds.inspection_id, "");
}

#[tokio::test]
async fn almo_declares_its_own_readiness_and_the_inspectorate_reads_it() {
    let (_app, mut client) = app().await;
    let first = declare_leeds_ene(&mut client).await;
    assert_eq!(first.go_live_date, "2007-04-01");
    assert_eq!(first.earliest_inspection_date, "2007-10-01");
    assert_eq!(first.best_value_reviews.len(), 4);
    assert_eq!(first.etag, "v1");

    let read = client
        .get_readiness(authed(
            GetReadinessRequest {
                almo_id: LEEDS_ENE.into(),
            },
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner()
        .readiness
        .unwrap();
    assert_eq!(read, first);

    // The same request again replays the first answer; the same id with another payload is refused.
    let again = client
        .declare_readiness(authed(
            leeds_ene_readiness("ready-1", ""),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .readiness
        .unwrap();
    assert_eq!(again, first);
    let mut other = leeds_ene_readiness("ready-1", "");
    other.funding_round = "round 6".into();
    let err = client
        .declare_readiness(authed(other, LEEDS_ENE, Role::AlmoOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");

    // A declaration over one the caller has not read: stale.
    let err = client
        .declare_readiness(authed(
            leeds_ene_readiness("ready-2", ""),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_ETAG");
    let second = client
        .declare_readiness(authed(
            leeds_ene_readiness("ready-3", "v1"),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .readiness
        .unwrap();
    assert_eq!(second.etag, "v2");
    assert_eq!(second.blackouts.len(), 1);

    // Another ALMO of the same council, the council itself, the inspectorate: not theirs to declare.
    for (org, role) in [
        (LEEDS_WNW, Role::AlmoOfficer),
        (LEEDS, Role::CouncilOfficer),
        (INSPECTORATE, Role::Inspectorate),
    ] {
        let err = client
            .declare_readiness(authed(leeds_ene_readiness("ready-x", "v2"), org, role))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org}");
    }
    // Another council's ALMO may not even read it.
    let err = client
        .get_readiness(authed(
            GetReadinessRequest {
                almo_id: LEEDS_ENE.into(),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn readiness_with_bad_fields_names_them() {
    let (_app, mut client) = app().await;
    let mut r = leeds_ene_readiness("ready-bad", "");
    r.best_value_reviews[1].service = 0;
    r.blackouts[0].end_date = "2007-10-01".into();
    r.board_meeting_dates.push("24/10/2007".into());
    r.funding_needed_by_date = "soon".into();
    let err = client
        .declare_readiness(authed(r, LEEDS_ENE, Role::AlmoOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&err),
        vec![
            "best_value_reviews[1].service",
            "blackouts[0].end_date",
            "board_meeting_dates[1]",
            "funding_needed_by_date",
        ]
    );
}

#[tokio::test]
async fn find_slots_names_the_hard_rule_of_each_ruled_out_week() {
    let (_app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    let request = FindSlotsRequest {
        almo_id: LEEDS_ENE.into(),
        window_start_date: "2007-09-17".into(),
        window_end_date: "2007-12-31".into(),
        max_slots: 2,
    };
    let resp = client
        .find_slots(authed(request.clone(), INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.required_inspectors, 3);
    assert_eq!(resp.required_tias, 1);
    let fee = resp.fee_estimate.unwrap();
    assert!((1_700_000..=5_000_000).contains(&fee.pence));
    let first_reason = |i: usize| {
        resp.slots[i]
            .broken_rules
            .iter()
            .map(|b| b.description.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(resp.slots[0].on_site_start_date, "2007-09-17");
    assert!(first_reason(0)[0].starts_with("before six months after go-live"));
    assert_eq!(
        resp.slots[0].broken_rules[0].code,
        "BEFORE_SIX_MONTHS_AFTER_GO_LIVE"
    );
    assert_eq!(
        first_reason(2),
        vec!["Best Value review of rent collection not complete"]
    );
    assert_eq!(resp.slots[2].on_site_start_date, "2007-10-01");
    assert_eq!(
        first_reason(4),
        vec!["clashes with internal audit 2007-10-15..19"]
    );
    let slot = &resp.slots[5];
    assert_eq!(slot.on_site_start_date, "2007-10-22");
    assert!(slot.feasible);
    assert_eq!(slot.team.len(), 4);
    // TIA-GREEN is a tenant of Leeds ENE: never on its team.
    assert!(slot.team.iter().all(|m| m.inspector_id != "TIA-GREEN"));
    assert_eq!(
        slot.soft_score,
        slot.penalties.iter().map(|p| p.points).sum::<i32>()
    );
    // The board meeting of 24 October falls in the on-site week: no penalty for it.
    assert!(slot.penalties.iter().all(|p| p.rule != "board_meeting"));
    assert!(
        slot.penalties
            .iter()
            .any(|p| p.rule == "audit_distance" && p.justification.contains("internal audit"))
    );
    assert_eq!(resp.slots.iter().filter(|s| s.feasible).count(), 2);

    // Only the inspectorate searches.
    let err = client
        .find_slots(authed(request, LEEDS_ENE, Role::AlmoOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn booking_that_breaks_a_hard_rule_is_refused_by_name() {
    let (_app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "2007-09-24",
            LEEDS_TEAM,
            "BEFORE_SIX_MONTHS_AFTER_GO_LIVE",
            "before six months after go-live",
        ),
        (
            "2007-10-08",
            LEEDS_TEAM,
            "BEST_VALUE_REVIEW_NOT_COMPLETE",
            "Best Value review of rent collection not complete",
        ),
        (
            "2007-10-15",
            LEEDS_TEAM,
            "CLASHES_WITH_DECLARED_AUDIT",
            "clashes with internal audit 2007-10-15..19",
        ),
        (
            "2007-10-22",
            &["LEAD-PATEL", "INSP-KOWALSKI", "INSP-WALSH", "TIA-GREEN"],
            "TIA_OWN_LANDLORD",
            "TIA TIA-GREEN is a tenant of LEEDS-ENE-HOMES",
        ),
        (
            "2007-10-22",
            &["LEAD-PATEL", "INSP-KOWALSKI", "INSP-WALSH"],
            "NO_TIA",
            "no TIA available",
        ),
        (
            "2007-10-22",
            &["LEAD-PATEL", "INSP-KOWALSKI", "TIA-HALL"],
            "TEAM_SIZE",
            "3 inspectors needed",
        ),
        (
            "2007-10-22",
            &["LEAD-PATEL", "LEAD-HUGHES", "INSP-WALSH", "TIA-HALL"],
            "ONE_LEAD_INSPECTOR",
            "exactly one lead inspector",
        ),
        (
            "2007-08-27",
            &["LEAD-OKAFOR", "INSP-KOWALSKI", "INSP-WALSH", "TIA-HALL"],
            "BEFORE_SIX_MONTHS_AFTER_GO_LIVE",
            "inspector LEAD-OKAFOR unavailable 2007-08-20..31",
        ),
    ];
    for (i, (monday, team, code, text)) in cases.iter().enumerate() {
        let err = client
            .book_inspection(authed(
                booking(&format!("refused-{i}"), LEEDS_ENE, monday, team),
                INSPECTORATE,
                Role::Inspectorate,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{monday} {team:?}");
        assert_eq!(reason(&err), *code, "{}", err.message());
        assert!(err.message().contains(text), "{}", err.message());
    }

    // The same team a week later is booked; the lead cannot be on two ALMOs that week.
    let booked = book_leeds_ene(&mut client).await;
    assert_eq!(booked.inspection_id, "LEEDS-ENE-HOMES-2007-10-22");
    let wnw = DeclareReadinessRequest {
        almo_id: LEEDS_WNW.into(),
        ..leeds_ene_readiness("ready-wnw", "")
    };
    client
        .declare_readiness(authed(wnw, LEEDS_WNW, Role::AlmoOfficer))
        .await
        .unwrap();
    let err = client
        .book_inspection(authed(
            booking(
                "book-wnw",
                LEEDS_WNW,
                "2007-10-22",
                &["LEAD-PATEL", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
            ),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTOR_DOUBLE_BOOKED");
    assert!(err.message().contains(
        "inspector LEAD-PATEL already booked that week on inspection LEEDS-ENE-HOMES-2007-10-22"
    ));
    // One inspection of an ALMO at a time.
    let err = client
        .book_inspection(authed(
            booking(
                "book-again",
                LEEDS_ENE,
                "2007-11-05",
                &["LEAD-HUGHES", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
            ),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_IN_PROGRESS");
}

#[tokio::test]
async fn booking_refusals_for_role_and_fields() {
    let (_app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    for (org, role) in [
        (LEEDS, Role::CouncilOfficer),
        (LEEDS_ENE, Role::AlmoOfficer),
        (REGULATOR, Role::Regulator),
    ] {
        let err = client
            .book_inspection(authed(
                booking("book-x", LEEDS_ENE, "2007-10-22", LEEDS_TEAM),
                org,
                role,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org}");
    }
    let mut bad = booking("book-bad", LEEDS_ENE, "2007-10-23", &[]);
    bad.span_weeks = 9;
    let err = client
        .book_inspection(authed(bad, INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&err),
        vec!["on_site_start_date", "team_inspector_ids", "span_weeks"]
    );
    let err = client
        .book_inspection(authed(
            booking("book-unknown", LEEDS_ENE, "2007-10-22", &["NOBODY"]),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["team_inspector_ids"]);
}

#[tokio::test]
async fn lifecycle_stages_recorded_in_order_with_overdue_flags_then_outcome() {
    let (_app, mut client) = app().await;
    let booked = book_leeds_ene(&mut client).await;
    assert_eq!(booked.stage, pb::Stage::Booked as i32);
    assert_eq!(booked.span_weeks, 12);
    let planned: Vec<&str> = booked
        .stages
        .iter()
        .map(|s| s.planned_date.as_str())
        .collect();
    assert_eq!(
        planned,
        vec![
            "2007-10-22",
            "2007-11-26",
            "2007-12-10",
            "2007-12-24",
            "2008-01-14"
        ]
    );
    // All of 2007 is past: every stage without an actual date is overdue.
    assert!(booked.stages.iter().all(|s| s.overdue));
    assert_eq!(booked.team.len(), 4);
    assert_eq!(booked.team[0].role, pb::InspectorRole::Lead as i32);

    let stage = |rid: &str, stage: pb::Stage, date: &str, etag: &str| {
        authed(
            RecordStageDateRequest {
                request_id: rid.into(),
                inspection_id: booked.inspection_id.clone(),
                stage: stage as i32,
                actual_date: date.into(),
                etag: etag.into(),
            },
            INSPECTORATE,
            Role::Inspectorate,
        )
    };
    let err = client
        .record_stage_date(stage("s0", pb::Stage::DraftReport, "2007-11-26", "v1"))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "EARLIER_STAGE_MISSING");
    let on_site = client
        .record_stage_date(stage("s1", pb::Stage::OnSite, "2007-10-22", "v1"))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(on_site.stage, pb::Stage::OnSite as i32);
    assert!(!on_site.stages[0].overdue);
    assert!(on_site.stages[1].overdue);
    let err = client
        .record_stage_date(stage("s2", pb::Stage::DraftReport, "2007-11-26", "v1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = client
        .record_stage_date(stage("s3", pb::Stage::DraftReport, "2007-10-01", "v2"))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "STAGE_OUT_OF_ORDER");
    let err = client
        .record_stage_date(stage("s4", pb::Stage::ScoreLetter, "2007-12-24", "v2"))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["stage"]);
    client
        .record_stage_date(stage("s5", pb::Stage::DraftReport, "2007-11-26", "v2"))
        .await
        .unwrap();
    client
        .record_stage_date(stage(
            "s6",
            pb::Stage::CommentsAndRoundTable,
            "2007-12-11",
            "v3",
        ))
        .await
        .unwrap();
    let outcome = |rid: &str, stars: i32, etag: &str| {
        authed(
            RecordOutcomeRequest {
                request_id: rid.into(),
                inspection_id: booked.inspection_id.clone(),
                stars,
                prospects: pb::Prospects::Uncertain as i32,
                score_letter_date: "2007-12-20".into(),
                etag: etag.into(),
            },
            INSPECTORATE,
            Role::Inspectorate,
        )
    };
    let err = client
        .record_outcome(outcome("o0", 4, "v4"))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["stars"]);
    let err = client
        .record_outcome(authed(
            RecordOutcomeRequest {
                request_id: "o-council".into(),
                inspection_id: booked.inspection_id.clone(),
                stars: 3,
                prospects: pb::Prospects::Excellent as i32,
                score_letter_date: "2007-12-20".into(),
                etag: "v4".into(),
            },
            LEEDS,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let scored = client
        .record_outcome(outcome("o1", 1, "v4"))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    let e = scored.funding_eligibility.unwrap();
    assert!(!e.eligible && e.support_framework);
    // Not yet published: the re-inspection date counts from the planned publication.
    assert_eq!(e.earliest_reinspection_date, "2008-07-14");
    assert!(e.earliest_reinspection_provisional);
    let published = client
        .record_stage_date(stage("s7", pb::Stage::Published, "2008-01-21", "v5"))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(published.stage, pb::Stage::Published as i32);
    assert!(published.stages.iter().all(|s| !s.overdue));
    let e = published.funding_eligibility.unwrap();
    assert_eq!(e.earliest_reinspection_date, "2008-07-21");
    assert!(!e.earliest_reinspection_provisional);

    // A re-inspection search now names the six-month rule (003 §118).
    let resp = client
        .find_slots(authed(
            FindSlotsRequest {
                almo_id: LEEDS_ENE.into(),
                window_start_date: "2008-07-14".into(),
                window_end_date: "2008-08-31".into(),
                max_slots: 1,
            },
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        resp.slots[0].broken_rules[0].code,
        "TOO_SOON_AFTER_PUBLICATION"
    );
    assert!(resp.slots[1].feasible, "{:?}", resp.slots[1]);
    // One star last time: no smaller team (003 §102 shrinks it only after a good score).
    assert_eq!(resp.required_inspectors, 3);
}

#[tokio::test]
async fn each_sees_only_the_inspections_it_may() {
    let (_app, mut client) = app().await;
    let list = |org: &str, role: Role, almo: &str| {
        authed(
            ListInspectionsRequest {
                almo_id: almo.into(),
                page_size: 0,
                page_token: String::new(),
                statuses: vec![],
            },
            org,
            role,
        )
    };
    let ids = |r: pb::ListInspectionsResponse| -> Vec<String> {
        r.inspections.into_iter().map(|i| i.inspection_id).collect()
    };
    let own = client
        .list_inspections(list(LAMBETH_LIVING, Role::AlmoOfficer, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(own), vec![LAMBETH_INSPECTION]);
    let council = client
        .list_inspections(list(HARINGEY, Role::CouncilOfficer, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(council), vec![HARINGEY_INSPECTION]);
    let regulator = client
        .list_inspections(list(REGULATOR, Role::Regulator, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ids(regulator),
        vec![HARINGEY_INSPECTION, LAMBETH_INSPECTION]
    );
    let err = client
        .list_inspections(list(LAMBETH_LIVING, Role::AlmoOfficer, HOMES_FOR_HARINGEY))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let get = |org: &str, role: Role, id: &str| {
        authed(
            GetInspectionRequest {
                inspection_id: id.into(),
            },
            org,
            role,
        )
    };
    let err = client
        .get_inspection(get(
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
            LAMBETH_INSPECTION,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The same answer for one that does not exist, to those who do not read everyone.
    let err = client
        .get_inspection(get(HOMES_FOR_HARINGEY, Role::AlmoOfficer, "NO-SUCH"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .get_inspection(get(REGULATOR, Role::Regulator, "NO-SUCH"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let lambeth = client
        .get_inspection(get(LAMBETH, Role::CouncilOfficer, LAMBETH_INSPECTION))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(lambeth.stage, pb::Stage::Published as i32);
    assert_eq!(lambeth.outcome.unwrap().stars, 2);
}

#[tokio::test]
async fn inspectorate_manages_inspectors_and_their_unavailability() {
    let (_app, mut client) = app().await;
    let tia = |rid: &str, tenant_of: &str| CreateInspectorRequest {
        request_id: rid.into(),
        inspector_id: "TIA-NEW".into(),
        name: "New Adviser".into(),
        role: pb::InspectorRole::Tia as i32,
        region: "north west".into(),
        tenant_of_organisation_id: tenant_of.into(),
    };
    let err = client
        .create_inspector(authed(tia("c0", ""), INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["tenant_of_organisation_id"]);
    let err = client
        .create_inspector(authed(tia("c1", "E08000003"), LEEDS, Role::CouncilOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let created = client
        .create_inspector(authed(
            tia("c2", "E08000003"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner()
        .inspector
        .unwrap();
    assert_eq!(created.region, "North West");
    assert_eq!(created.etag, "v1");
    let err = client
        .create_inspector(authed(
            tia("c3", "E08000003"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);

    let leave = |rid: &str, etag: &str| RecordUnavailabilityRequest {
        request_id: rid.into(),
        inspector_id: "TIA-NEW".into(),
        unavailability: Some(pb::Unavailability {
            start_date: "2007-10-22".into(),
            end_date: "2007-10-26".into(),
            reason: "leave".into(),
        }),
        etag: etag.into(),
    };
    let updated = client
        .record_unavailability(authed(leave("u1", "v1"), INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap()
        .into_inner()
        .inspector
        .unwrap();
    assert_eq!(updated.unavailability.len(), 1);
    assert_eq!(updated.etag, "v2");
    let err = client
        .record_unavailability(authed(leave("u2", "v1"), INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    let page = client
        .list_inspectors(authed(
            ListInspectorsRequest {
                role: pb::InspectorRole::Tia as i32,
                page_size: 2,
                page_token: String::new(),
            },
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.inspectors.len(), 2);
    assert!(!page.next_page_token.is_empty());
    let duncan = &page.inspectors[0];
    assert_eq!(duncan.inspector_id, "TIA-DUNCAN");
    assert_eq!(duncan.tenant_of_organisation_id, LAMBETH_LIVING);
    // Who inspected whom: Ruth Duncan was on the Haringey inspection.
    assert!(
        duncan
            .inspected_organisation_ids
            .contains(&HOMES_FOR_HARINGEY.to_string())
    );
    let err = client
        .list_inspectors(authed(
            ListInspectorsRequest::default(),
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn demo_data_loads_twice_without_change() {
    let (app, mut client) = app().await;
    almo_inspection_scheduling::demo::seed(&app.db)
        .await
        .unwrap();
    let all = client
        .list_inspections(authed(
            ListInspectionsRequest::default(),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.inspections.len(), 2);
}

#[tokio::test]
async fn programme_for_a_quarter_pins_bookings_and_proposes_bookable_weeks() {
    use almo_proto::common::{FinancialYear, Period, PeriodKind};
    use almo_proto::inspection::ProposeProgrammeRequest;

    let (_app, mut client) = app().await;
    let booked = book_leeds_ene(&mut client).await;
    let wnw = DeclareReadinessRequest {
        almo_id: LEEDS_WNW.into(),
        ..leeds_ene_readiness("ready-wnw", "")
    };
    client
        .declare_readiness(authed(wnw, LEEDS_WNW, Role::AlmoOfficer))
        .await
        .unwrap();
    let request = ProposeProgrammeRequest {
        // 2007/08 Q3: October to December 2007.
        quarter: Some(Period {
            year: Some(FinancialYear { start_year: 2007 }),
            kind: PeriodKind::Quarter as i32,
            number: 3,
        }),
        almo_ids: vec![LEEDS_ENE.into(), LEEDS_WNW.into(), LAMBETH_LIVING.into()],
        seed: 42,
        max_steps: 50,
        time_budget_ms: 5000,
        dropped_inspector_id: String::new(),
    };
    let prog = client
        .propose_programme(authed(request.clone(), INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap()
        .into_inner();
    // The booking already made is pinned, unmoved.
    let pinned = &prog.assignments[0];
    assert!(pinned.pinned);
    assert_eq!(pinned.almo_id, LEEDS_ENE);
    assert_eq!(pinned.on_site_start_date, booked.on_site_start_date);
    assert_eq!(pinned.team.len(), 4);
    // Leeds WNW is placed, with its soft score explained.
    assert_eq!(prog.assignments.len(), 2);
    let placed = &prog.assignments[1];
    assert_eq!(placed.almo_id, LEEDS_WNW);
    assert!(!placed.pinned);
    assert_eq!(
        placed.soft_score,
        placed.penalties.iter().map(|p| p.points).sum::<i32>()
    );
    assert!(placed.penalties.iter().all(|p| !p.justification.is_empty()));
    assert_eq!(
        prog.soft_total,
        prog.assignments.iter().map(|a| a.soft_score).sum::<i32>()
    );
    assert!(prog.weeks_assessed > 0);
    // Lambeth Living went live in April 2008: nothing in late 2007, and the rule is named.
    assert_eq!(prog.unscheduled.len(), 1);
    assert_eq!(prog.unscheduled[0].almo_id, LAMBETH_LIVING);
    assert!(
        prog.unscheduled[0]
            .broken_rules
            .iter()
            .any(|b| b.code == "BEFORE_SIX_MONTHS_AFTER_GO_LIVE")
    );
    // The same seed gives the same programme.
    let again = client
        .propose_programme(authed(request.clone(), INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, prog);
    // What it proposes keeps every hard rule: booking it as proposed succeeds.
    let team: Vec<&str> = placed
        .team
        .iter()
        .map(|m| m.inspector_id.as_str())
        .collect();
    client
        .book_inspection(authed(
            booking(
                "book-proposed",
                LEEDS_WNW,
                &placed.on_site_start_date,
                &team,
            ),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap();

    let err = client
        .propose_programme(authed(request.clone(), LEEDS, Role::CouncilOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut bad = request;
    bad.quarter = Some(Period {
        year: Some(FinancialYear { start_year: 2007 }),
        kind: PeriodKind::Month as i32,
        number: 3,
    });
    bad.time_budget_ms = 60_000;
    bad.almo_ids.push(LEEDS_ENE.into());
    let err = client
        .propose_programme(authed(bad, INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        vec!["quarter.kind", "time_budget_ms", "almo_ids"]
    );
}

#[tokio::test]
async fn calendar_export_per_almo_and_per_inspector() {
    use almo_proto::inspection::ExportCalendarRequest;
    use almo_proto::inspection::export_calendar_request::Owner;

    let (_app, mut client) = app().await;
    let by_almo = |id: &str| ExportCalendarRequest {
        owner: Some(Owner::AlmoId(id.into())),
    };
    let cal = client
        .export_calendar(authed(
            by_almo(LAMBETH_LIVING),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cal.content_type, "text/calendar; charset=utf-8");
    // The on-site week and four milestones of the one inspection.
    assert_eq!(cal.event_count, 5);
    let flat = cal.calendar.replace("\r\n ", "");
    assert!(flat.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(flat.contains("SUMMARY:ALMO inspection on site: Lambeth Living\r\n"));
    assert!(flat.contains("DTSTART;VALUE=DATE:20081103\r\nDTEND;VALUE=DATE:20081108\r\n"));
    // The score letter on its actual date.
    assert!(flat.contains("DTSTART;VALUE=DATE:20090105\r\n"));
    assert_eq!(flat.matches("BEGIN:VEVENT").count(), 5);

    // Ruth Duncan was on the Haringey inspection only.
    let mine = client
        .export_calendar(authed(
            ExportCalendarRequest {
                owner: Some(Owner::InspectorId("TIA-DUNCAN".into())),
            },
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.event_count, 5);
    assert!(mine.calendar.contains("Homes for Haringey"));
    assert!(!mine.calendar.contains("Lambeth Living:"));

    let err = client
        .export_calendar(authed(
            by_almo(LAMBETH_LIVING),
            HARINGEY,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .export_calendar(authed(
            ExportCalendarRequest {
                owner: Some(Owner::InspectorId("TIA-DUNCAN".into())),
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .export_calendar(authed(
            ExportCalendarRequest { owner: None },
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["owner"]);
}

#[tokio::test]
async fn almo_inspections_calendar_command_fetches_the_file() {
    use almo_inspection_scheduling::cli::{CalendarOwner, calendar};

    let (app, _client) = app().await;
    let addr = format!("http://{}", app.addr);
    let token = almo_testkit::token(INSPECTORATE, Role::Inspectorate);
    let ics = calendar(
        &addr,
        &token,
        CalendarOwner::Inspector("LEAD-HUGHES".into()),
    )
    .await
    .unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(ics.contains("Lambeth Living"));
    let denied = calendar(
        &addr,
        &almo_testkit::token(LAMBETH_LIVING, Role::AlmoOfficer),
        CalendarOwner::Inspector("LEAD-HUGHES".into()),
    )
    .await
    .unwrap_err();
    assert!(denied.to_string().contains("PermissionDenied"), "{denied}");
}

#[tokio::test]
async fn two_bookings_racing_for_one_lead_leave_exactly_one() {
    let (app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    let wnw = DeclareReadinessRequest {
        almo_id: LEEDS_WNW.into(),
        ..leeds_ene_readiness("ready-wnw", "")
    };
    client
        .declare_readiness(authed(wnw, LEEDS_WNW, Role::AlmoOfficer))
        .await
        .unwrap();
    let mut a = client.clone();
    let mut b = InspectionSchedulingServiceClient::new(app.channel().await);
    let (ra, rb) = tokio::join!(
        a.book_inspection(authed(
            booking("race-a", LEEDS_ENE, "2007-10-22", LEEDS_TEAM),
            INSPECTORATE,
            Role::Inspectorate,
        )),
        b.book_inspection(authed(
            booking(
                "race-b",
                LEEDS_WNW,
                "2007-10-22",
                &["LEAD-PATEL", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
            ),
            INSPECTORATE,
            Role::Inspectorate,
        )),
    );
    let results = [ra.map(|_| ()), rb.map(|_| ())];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let err = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        ["INSPECTOR_DOUBLE_BOOKED", "BOOKING_CONFLICT"].contains(&reason(&err).as_str()),
        "{err:?}"
    );
}

#[tokio::test]
async fn booking_is_audited_and_a_wound_up_almo_is_refused() {
    use almo_db::entity::audit_log;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let (app, mut client) = app().await;
    let booked = book_leeds_ene(&mut client).await;
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Target.eq(format!("inspections/{}", booked.inspection_id)))
        .all(app.db.conn())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].organisation_id, INSPECTORATE);
    assert_eq!(rows[0].request_id, "book-1");
    assert!(rows[0].method.ends_with("/BookInspection"));

    // Hackney Homes was wound up on 1 April 2016.
    let err = client
        .book_inspection(authed(
            booking("book-hackney", "HACKNEY-HOMES", "2016-04-04", LEEDS_TEAM),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(err.message().contains("ALMO wound up on 2016-04-01"));
}

#[tokio::test]
async fn replanning_after_a_drop_out_swaps_one_member_and_keeps_the_week() {
    use almo_proto::common::{FinancialYear, Period, PeriodKind};
    use almo_proto::inspection::ProposeProgrammeRequest;

    let (_app, mut client) = app().await;
    book_leeds_ene(&mut client).await;
    let request = |dropped: &str| ProposeProgrammeRequest {
        quarter: Some(Period {
            year: Some(FinancialYear { start_year: 2007 }),
            kind: PeriodKind::Quarter as i32,
            number: 3,
        }),
        almo_ids: vec![LEEDS_ENE.into()],
        seed: 1,
        max_steps: 20,
        time_budget_ms: 5000,
        dropped_inspector_id: dropped.into(),
    };
    let prog = client
        .propose_programme(authed(
            request("INSP-KOWALSKI"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(prog.assignments.len(), 1);
    let a = &prog.assignments[0];
    assert!(a.changed && !a.pinned);
    assert_eq!(a.on_site_start_date, "2007-10-22");
    let team: Vec<&str> = a.team.iter().map(|m| m.inspector_id.as_str()).collect();
    assert!(!team.contains(&"INSP-KOWALSKI"));
    for kept in ["LEAD-PATEL", "INSP-WALSH", "TIA-HALL"] {
        assert!(team.contains(&kept), "{team:?}");
    }
    assert_eq!(team.len(), 4);
    assert_eq!(a.team[3].role, pb::InspectorRole::Inspector as i32);

    // Someone on no booking drops out: nothing changes.
    let prog = client
        .propose_programme(authed(
            request("INSP-MORGAN"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(prog.assignments[0].pinned && !prog.assignments[0].changed);
    let err = client
        .propose_programme(authed(request("NOBODY"), INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["dropped_inspector_id"]);
}

fn replace(
    request_id: &str,
    inspection_id: &str,
    leaving: &str,
    joining: &str,
    etag: &str,
) -> pb::ReplaceTeamMemberRequest {
    pb::ReplaceTeamMemberRequest {
        request_id: request_id.into(),
        inspection_id: inspection_id.into(),
        leaving_inspector_id: leaving.into(),
        joining_inspector_id: joining.into(),
        etag: etag.into(),
    }
}

fn move_to(
    request_id: &str,
    inspection_id: &str,
    monday: &str,
    team: &[&str],
    etag: &str,
) -> pb::MoveInspectionRequest {
    pb::MoveInspectionRequest {
        request_id: request_id.into(),
        inspection_id: inspection_id.into(),
        on_site_start_date: monday.into(),
        team_inspector_ids: team.iter().map(|t| t.to_string()).collect(),
        etag: etag.into(),
    }
}

fn cancel(request_id: &str, inspection_id: &str, etag: &str) -> pb::CancelInspectionRequest {
    cancel_because(
        request_id,
        inspection_id,
        etag,
        "the ALMO's chief executive has left; the board asked to postpone",
    )
}

fn cancel_because(
    request_id: &str,
    inspection_id: &str,
    etag: &str,
    reason: &str,
) -> pb::CancelInspectionRequest {
    pb::CancelInspectionRequest {
        request_id: request_id.into(),
        inspection_id: inspection_id.into(),
        etag: etag.into(),
        reason: reason.into(),
    }
}

fn leave(
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

/// A request from the Housing Inspectorate.
fn ins<T>(r: T) -> tonic::Request<T> {
    authed(r, INSPECTORATE, Role::Inspectorate)
}

fn team_ids(i: &pb::Inspection) -> Vec<String> {
    i.team.iter().map(|m| m.inspector_id.clone()).collect()
}

/// Leeds West North West declares what Leeds ENE declared.
async fn declare_leeds_wnw(client: &mut Client) {
    let wnw = DeclareReadinessRequest {
        almo_id: LEEDS_WNW.into(),
        ..leeds_ene_readiness("ready-wnw", "")
    };
    client
        .declare_readiness(authed(wnw, LEEDS_WNW, Role::AlmoOfficer))
        .await
        .unwrap();
}

async fn book(
    client: &mut Client,
    rid: &str,
    almo: &str,
    monday: &str,
    team: &[&str],
) -> pb::Inspection {
    client
        .book_inspection(authed(
            booking(rid, almo, monday, team),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap()
}

#[tokio::test]
async fn replacing_a_team_member_keeps_every_team_hard_rule() {
    use almo_db::entity::audit_log;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let (app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let id = ene.inspection_id.clone();
    declare_leeds_wnw(&mut client).await;
    let wnw = book(
        &mut client,
        "book-wnw",
        LEEDS_WNW,
        "2007-10-22",
        &["LEAD-HUGHES", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
    )
    .await;
    client
        .record_unavailability(authed(
            leave("u-singh", "INSP-SINGH", "2007-10-22", "2007-10-26", "v1"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap();

    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "INSP-KOWALSKI",
            "INSP-ADEYEMI",
            "INSPECTOR_DOUBLE_BOOKED",
            &wnw.inspection_id,
        ),
        (
            "INSP-KOWALSKI",
            "INSP-SINGH",
            "INSPECTOR_UNAVAILABLE",
            "INSP-SINGH unavailable",
        ),
        (
            "TIA-HALL",
            "TIA-GREEN",
            "TIA_OWN_LANDLORD",
            "TIA TIA-GREEN is a tenant of LEEDS-ENE-HOMES",
        ),
        (
            "INSP-KOWALSKI",
            "LEAD-OKAFOR",
            "ONE_LEAD_INSPECTOR",
            "exactly one lead inspector",
        ),
        ("TIA-HALL", "INSP-BRENNAN", "TEAM_SIZE", "no TIA available"),
    ];
    for (i, (leaving, joining, code, text)) in cases.iter().enumerate() {
        let err = client
            .replace_team_member(authed(
                replace(&format!("bad-{i}"), &id, leaving, joining, "v1"),
                INSPECTORATE,
                Role::Inspectorate,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{joining}: {err:?}");
        assert_eq!(reason(&err), *code, "{joining}: {err:?}");
        assert!(err.message().contains(text), "{joining}: {}", err.message());
    }

    // Only the inspectorate; only with the etag as last read; only a member of the team leaves.
    let err = client
        .replace_team_member(authed(
            replace("r-almo", &id, "INSP-KOWALSKI", "INSP-BRENNAN", "v1"),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .replace_team_member(authed(
            replace("r-stale", &id, "INSP-KOWALSKI", "INSP-BRENNAN", "v0"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = client
        .replace_team_member(authed(
            replace("r-who", &id, "INSP-MORGAN", "INSP-BRENNAN", "v1"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["leaving_inspector_id"]);

    let swap = replace("r-ok", &id, "INSP-KOWALSKI", "INSP-BRENNAN", "v1");
    let changed = client
        .replace_team_member(authed(swap.clone(), INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(changed.etag, "v2");
    assert_eq!(changed.on_site_start_date, "2007-10-22");
    let team = team_ids(&changed);
    assert!(team.contains(&"INSP-BRENNAN".to_string()), "{team:?}");
    assert!(!team.contains(&"INSP-KOWALSKI".to_string()), "{team:?}");
    assert_eq!(team.len(), 4);
    // The same request again is the same answer, not a second change.
    let again = client
        .replace_team_member(authed(swap, INSPECTORATE, Role::Inspectorate))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(again.etag, "v2");
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Target.eq(format!("inspections/{id}")))
        .all(app.db.conn())
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.request_id == "r-ok" && r.method.ends_with("/ReplaceTeamMember")),
        "{rows:?}"
    );
    // Kowalski's week is free again: the other booking may take her.
    let wnw2 = client
        .replace_team_member(authed(
            replace(
                "r-wnw",
                &wnw.inspection_id,
                "INSP-ADEYEMI",
                "INSP-KOWALSKI",
                "v1",
            ),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert!(team_ids(&wnw2).contains(&"INSP-KOWALSKI".to_string()));
}

#[tokio::test]
async fn moving_or_cancelling_a_booking_frees_the_week_and_keeps_one_open_inspection_per_almo() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let id = ene.inspection_id.clone();

    // Every readiness rule holds for the new week.
    let err = client
        .move_inspection(ins(move_to("m-audit", &id, "2007-10-15", &[], "v1")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CLASHES_WITH_DECLARED_AUDIT");
    assert!(err.message().contains("internal audit 2007-10-15..19"));
    let err = client
        .move_inspection(authed(
            move_to("m-almo", &id, "2007-10-29", &[], "v1"),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let moved = client
        .move_inspection(ins(move_to("m-ok", &id, "2007-10-29", &[], "v1")))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(moved.inspection_id, id);
    assert_eq!(moved.on_site_start_date, "2007-10-29");
    assert_eq!(moved.etag, "v2");
    assert_eq!(team_ids(&moved).len(), 4);
    let err = client
        .move_inspection(ins(move_to("m-stale", &id, "2007-11-05", &[], "v1")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    // Still the ALMO's one open inspection.
    let err = client
        .book_inspection(ins(booking("b-again", LEEDS_ENE, "2007-11-12", LEEDS_TEAM)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_IN_PROGRESS");

    // The week of 22 October is free again for the same team.
    declare_leeds_wnw(&mut client).await;
    let wnw = book(&mut client, "b-wnw", LEEDS_WNW, "2007-10-22", LEEDS_TEAM).await;
    let err = client
        .move_inspection(ins(move_to("m-clash", &id, "2007-10-22", &[], "v2")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTOR_DOUBLE_BOOKED");
    assert!(err.message().contains(&wnw.inspection_id));

    // Cancelling: only the inspectorate, with the etag as last read; the weeks and the ALMO free.
    let err = client
        .cancel_inspection(authed(
            cancel("c-almo", &id, "v2"),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .cancel_inspection(ins(cancel("c-stale", &id, "v1")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let gone = client
        .cancel_inspection(ins(cancel("c-ok", &id, "v2")))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(gone.on_site_start_date, "2007-10-29");
    let replay = client
        .cancel_inspection(ins(cancel("c-ok", &id, "v2")))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(replay.inspection_id, id);
    // Kept, cancelled.
    let kept = client
        .get_inspection(ins(GetInspectionRequest {
            inspection_id: id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(kept.status(), pb::InspectionStatus::Cancelled);
    let rebooked = book(
        &mut client,
        "b-after",
        LEEDS_ENE,
        "2007-10-29",
        &["LEAD-HUGHES", "INSP-KOWALSKI", "INSP-ADEYEMI", "TIA-DUNCAN"],
    )
    .await;
    assert_eq!(rebooked.etag, "v1");

    // A team on site is recorded, not re-planned.
    let on_site = client
        .record_stage_date(ins(RecordStageDateRequest {
            request_id: "s-wnw".into(),
            inspection_id: wnw.inspection_id.clone(),
            stage: pb::Stage::OnSite as i32,
            actual_date: "2007-10-22".into(),
            etag: "v1".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    let err = client
        .cancel_inspection(ins(cancel("c-wnw", &wnw.inspection_id, &on_site.etag)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALREADY_ON_SITE");
    let err = client
        .move_inspection(ins(move_to(
            "m-wnw",
            &wnw.inspection_id,
            "2007-11-05",
            &[],
            &on_site.etag,
        )))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALREADY_ON_SITE");
}

#[tokio::test]
async fn unavailability_over_a_booked_week_is_refused_naming_the_booking() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let err = client
        .record_unavailability(authed(
            leave("u-1", "INSP-KOWALSKI", "2007-10-24", "2007-10-25", "v1"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "INSPECTOR_BOOKED");
    assert!(
        err.message().contains(&ene.inspection_id),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("2007-10-22..26"),
        "{}",
        err.message()
    );
    // Nothing recorded: the etag is unchanged, and a period clear of the booking is accepted.
    let ok = client
        .record_unavailability(authed(
            leave("u-2", "INSP-KOWALSKI", "2007-10-29", "2007-11-02", "v1"),
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner()
        .inspector
        .unwrap();
    assert_eq!(ok.etag, "v2");
    assert_eq!(ok.unavailability.len(), 1);
}

#[tokio::test]
async fn replan_after_a_drop_out_is_applied_so_no_booking_names_the_dropped_inspector() {
    use almo_proto::common::{FinancialYear, Period, PeriodKind};
    use almo_proto::inspection::ProposeProgrammeRequest;

    let (_app, mut client) = app().await;
    book_leeds_ene(&mut client).await;
    declare_leeds_wnw(&mut client).await;
    book(
        &mut client,
        "book-wnw",
        LEEDS_WNW,
        "2007-10-29",
        &["LEAD-HUGHES", "INSP-KOWALSKI", "INSP-ADEYEMI", "TIA-DUNCAN"],
    )
    .await;
    let prog = client
        .propose_programme(ins(ProposeProgrammeRequest {
            quarter: Some(Period {
                year: Some(FinancialYear { start_year: 2007 }),
                kind: PeriodKind::Quarter as i32,
                number: 3,
            }),
            almo_ids: vec![LEEDS_ENE.into(), LEEDS_WNW.into()],
            seed: 7,
            max_steps: 20,
            time_budget_ms: 5000,
            dropped_inspector_id: "INSP-KOWALSKI".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let changed: Vec<&pb::ProgrammeAssignment> =
        prog.assignments.iter().filter(|a| a.changed).collect();
    assert_eq!(changed.len(), 2, "{prog:?}");

    // Apply it: one replacement in the same week, otherwise a move with the proposed team.
    for (n, a) in changed.iter().enumerate() {
        let current = client
            .list_inspections(ins(ListInspectionsRequest {
                almo_id: a.almo_id.clone(),
                page_size: 0,
                page_token: String::new(),
                statuses: vec![],
            }))
            .await
            .unwrap()
            .into_inner()
            .inspections
            .remove(0);
        let proposed: Vec<String> = a.team.iter().map(|m| m.inspector_id.clone()).collect();
        let old = team_ids(&current);
        let leaving: Vec<&String> = old.iter().filter(|i| !proposed.contains(i)).collect();
        let joining: Vec<&String> = proposed.iter().filter(|i| !old.contains(i)).collect();
        let applied = if a.on_site_start_date == current.on_site_start_date
            && leaving.len() == 1
            && joining.len() == 1
        {
            client
                .replace_team_member(ins(replace(
                    &format!("apply-{n}"),
                    &current.inspection_id,
                    leaving[0],
                    joining[0],
                    &current.etag,
                )))
                .await
                .unwrap()
                .into_inner()
                .inspection
                .unwrap()
        } else {
            let team: Vec<&str> = proposed.iter().map(String::as_str).collect();
            client
                .move_inspection(ins(move_to(
                    &format!("apply-{n}"),
                    &current.inspection_id,
                    &a.on_site_start_date,
                    &team,
                    &current.etag,
                )))
                .await
                .unwrap()
                .into_inner()
                .inspection
                .unwrap()
        };
        assert_eq!(applied.on_site_start_date, a.on_site_start_date);
        let mut got = team_ids(&applied);
        let mut want = proposed.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }

    let all = client
        .list_inspections(ins(ListInspectionsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .inspections;
    // Published inspections are history; no booking still to come names her.
    for i in all
        .iter()
        .filter(|i| i.stage != pb::Stage::Published as i32)
    {
        assert!(
            !team_ids(i).contains(&"INSP-KOWALSKI".to_string()),
            "{} still names INSP-KOWALSKI",
            i.inspection_id
        );
    }
    // Now her absence can be recorded over both weeks.
    client
        .record_unavailability(ins(leave(
            "u-k",
            "INSP-KOWALSKI",
            "2007-10-22",
            "2007-11-02",
            "v1",
        )))
        .await
        .unwrap();
}

// Cancellations: a cancelled inspection is kept, with who cancelled it, when and why; it holds no
// inspector's week and counts for no rule.

async fn get(client: &mut Client, id: &str) -> pb::Inspection {
    client
        .get_inspection(ins(GetInspectionRequest {
            inspection_id: id.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap()
}

async fn cancel_ok(client: &mut Client, request: pb::CancelInspectionRequest) -> pb::Inspection {
    client
        .cancel_inspection(ins(request))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap()
}

#[tokio::test]
async fn cancelled_inspection_is_kept_with_who_cancelled_it_when_and_why() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    assert_eq!(ene.status(), pb::InspectionStatus::Booked);
    assert!(ene.cancellation.is_none());
    let id = ene.inspection_id.clone();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    let request = cancel_because("c-1", &id, "v1", "  lead inspector's caseload moved  ");
    let cancelled = cancel_ok(&mut client, request.clone()).await;
    assert_eq!(cancelled.status(), pb::InspectionStatus::Cancelled);
    assert_eq!(cancelled.etag, "v2");
    let c = cancelled.cancellation.clone().unwrap();
    assert_eq!(c.reason, "lead inspector's caseload moved");
    assert_eq!(c.cancelled_by_organisation_id, INSPECTORATE);
    assert_eq!(c.cancelled_by, format!("inspectorate@{INSPECTORATE}"));
    let at = c.cancel_time.unwrap().seconds;
    assert!((before - 5..=before + 60).contains(&at), "{at} vs {before}");
    // The team and the week as they were booked stay to be seen.
    assert_eq!(cancelled.on_site_start_date, "2007-10-22");
    assert_eq!(team_ids(&cancelled).len(), 4);

    // GetInspection shows it to the inspectorate and to the ALMO itself.
    let read = get(&mut client, &id).await;
    assert_eq!(read, cancelled);
    let own = client
        .get_inspection(authed(
            GetInspectionRequest {
                inspection_id: id.clone(),
            },
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(own.status(), pb::InspectionStatus::Cancelled);
    assert_eq!(own.cancellation.unwrap().reason, c.reason);

    // The same request again replays the answer; another request is refused.
    let replay = cancel_ok(&mut client, request).await;
    assert_eq!(replay, cancelled);
    let err = client
        .cancel_inspection(ins(cancel("c-2", &id, "v2")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "INSPECTION_CANCELLED");
    assert!(err.message().contains(&id), "{}", err.message());
    assert_eq!(get(&mut client, &id).await.etag, "v2");
}

#[tokio::test]
async fn cancellation_needs_a_reason() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let id = ene.inspection_id.clone();
    let long = "x".repeat(501);
    for (i, why) in ["", "   \n\t", long.as_str()].iter().enumerate() {
        let err = client
            .cancel_inspection(ins(cancel_because(&format!("c-{i}"), &id, "v1", why)))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{why:?}");
        assert_eq!(bad_fields(&err), vec!["reason"], "{why:?}");
    }
    // Nothing changed; 500 characters is enough.
    let still = get(&mut client, &id).await;
    assert_eq!(still.status(), pb::InspectionStatus::Booked);
    assert_eq!(still.etag, "v1");
    let done = cancel_ok(
        &mut client,
        cancel_because("c-ok", &id, "v1", &"y".repeat(500)),
    )
    .await;
    assert_eq!(done.cancellation.unwrap().reason.chars().count(), 500);
}

#[tokio::test]
async fn cancelled_inspection_frees_its_inspectors_weeks() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    declare_leeds_wnw(&mut client).await;
    // While booked, the team is taken that week.
    let err = client
        .book_inspection(ins(booking("b-wnw-1", LEEDS_WNW, "2007-10-22", LEEDS_TEAM)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTOR_DOUBLE_BOOKED");
    cancel_ok(&mut client, cancel("c-ene", &ene.inspection_id, "v1")).await;

    // The same inspectors, the same week, another ALMO.
    let wnw = book(&mut client, "b-wnw-2", LEEDS_WNW, "2007-10-22", LEEDS_TEAM).await;
    assert_eq!(wnw.status(), pb::InspectionStatus::Booked);
    assert_eq!(team_ids(&wnw).len(), 4);
    // Their unavailability over that week is now refused for the new booking only.
    let err = client
        .record_unavailability(ins(leave(
            "u-patel",
            "LEAD-PATEL",
            "2007-10-22",
            "2007-10-26",
            "v1",
        )))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTOR_BOOKED");
    assert!(
        err.message().contains(&wnw.inspection_id),
        "{}",
        err.message()
    );
    assert!(
        !err.message().contains(&ene.inspection_id),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn almo_may_be_booked_again_for_the_same_week_after_cancelling() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    // One open inspection per ALMO while it is booked.
    let err = client
        .book_inspection(ins(booking("b-2", LEEDS_ENE, "2007-10-29", LEEDS_TEAM)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_IN_PROGRESS");
    cancel_ok(&mut client, cancel("c-ene", &ene.inspection_id, "v1")).await;

    // The same ALMO, the same Monday, the same team: nothing of the cancelled row stands in the way.
    let again = book(&mut client, "b-3", LEEDS_ENE, "2007-10-22", LEEDS_TEAM).await;
    assert_eq!(again.status(), pb::InspectionStatus::Booked);
    assert_ne!(again.inspection_id, ene.inspection_id);
    assert_eq!(again.on_site_start_date, "2007-10-22");
    assert_eq!(again.etag, "v1");
    assert_eq!(
        get(&mut client, &ene.inspection_id).await.status(),
        pb::InspectionStatus::Cancelled
    );
    // And the new booking is the ALMO's one open inspection again.
    let err = client
        .book_inspection(ins(booking("b-4", LEEDS_ENE, "2007-11-05", LEEDS_TEAM)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_IN_PROGRESS");
    // Cancel that one too, and book the week a third time.
    cancel_ok(&mut client, cancel("c-again", &again.inspection_id, "v1")).await;
    let third = book(&mut client, "b-5", LEEDS_ENE, "2007-10-22", LEEDS_TEAM).await;
    assert_ne!(third.inspection_id, again.inspection_id);
    assert_ne!(third.inspection_id, ene.inspection_id);
}

#[tokio::test]
async fn cancelled_inspection_cannot_be_moved() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let id = ene.inspection_id.clone();
    let cancelled = cancel_ok(&mut client, cancel("c-ene", &id, "v1")).await;
    let etag = cancelled.etag.clone();

    let err = client
        .move_inspection(ins(move_to("m-1", &id, "2007-10-29", &[], &etag)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "INSPECTION_CANCELLED");
    let err = client
        .replace_team_member(ins(replace(
            "r-1",
            &id,
            "INSP-KOWALSKI",
            "INSP-BRENNAN",
            &etag,
        )))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_CANCELLED");
    let err = client
        .record_stage_date(ins(RecordStageDateRequest {
            request_id: "s-1".into(),
            inspection_id: id.clone(),
            stage: pb::Stage::OnSite as i32,
            actual_date: "2007-10-22".into(),
            etag: etag.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_CANCELLED");
    let err = client
        .record_outcome(ins(RecordOutcomeRequest {
            request_id: "o-1".into(),
            inspection_id: id.clone(),
            stars: 2,
            prospects: pb::Prospects::Promising as i32,
            score_letter_date: "2008-01-07".into(),
            etag: etag.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "INSPECTION_CANCELLED");
    // Nothing changed.
    assert_eq!(get(&mut client, &id).await, cancelled);
}

#[tokio::test]
async fn list_inspections_hides_cancelled_unless_asked() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    cancel_ok(&mut client, cancel("c-ene", &ene.inspection_id, "v1")).await;
    let again = book(&mut client, "b-again", LEEDS_ENE, "2007-11-05", LEEDS_TEAM).await;
    let list = |statuses: &[pb::InspectionStatus]| ListInspectionsRequest {
        almo_id: LEEDS_ENE.into(),
        page_size: 0,
        page_token: String::new(),
        statuses: statuses.iter().map(|s| *s as i32).collect(),
    };
    let ids = |r: pb::ListInspectionsResponse| -> Vec<String> {
        r.inspections.into_iter().map(|i| i.inspection_id).collect()
    };
    // Unasked: what callers saw before, the booking only; the ALMO likewise.
    let seen = client
        .list_inspections(ins(list(&[])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(seen), vec![again.inspection_id.clone()]);
    let own = client
        .list_inspections(authed(list(&[]), LEEDS_ENE, Role::AlmoOfficer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(own), vec![again.inspection_id.clone()]);
    let cancelled = client
        .list_inspections(ins(list(&[pb::InspectionStatus::Cancelled])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.inspections.len(), 1);
    assert_eq!(
        cancelled.inspections[0].status(),
        pb::InspectionStatus::Cancelled
    );
    assert_eq!(cancelled.inspections[0].inspection_id, ene.inspection_id);
    let mut both = ids(client
        .list_inspections(ins(list(&[
            pb::InspectionStatus::Booked,
            pb::InspectionStatus::Cancelled,
        ])))
        .await
        .unwrap()
        .into_inner());
    both.sort();
    let mut want = vec![ene.inspection_id.clone(), again.inspection_id.clone()];
    want.sort();
    assert_eq!(both, want);
    // Another ALMO sees neither, cancelled or not.
    let other = client
        .list_inspections(authed(
            ListInspectionsRequest {
                almo_id: String::new(),
                ..list(&[pb::InspectionStatus::Cancelled])
            },
            LEEDS_WNW,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(other.inspections.is_empty(), "{other:?}");
    let err = client
        .list_inspections(ins(ListInspectionsRequest {
            statuses: vec![7],
            ..list(&[])
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["statuses"]);
}

#[tokio::test]
async fn cancelled_inspection_shows_in_calendar_as_cancelled() {
    use almo_proto::inspection::ExportCalendarRequest;
    use almo_proto::inspection::export_calendar_request::Owner;

    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let export = |owner: Owner| ExportCalendarRequest { owner: Some(owner) };
    let on_site_uid = format!("UID:{}-on-site@almo-exchange", ene.inspection_id);
    let event = |cal: &str| -> String {
        let flat = cal.replace("\r\n ", "");
        let start = flat.find(&on_site_uid).expect("the on-site event");
        let end = start + flat[start..].find("END:VEVENT").unwrap();
        flat[start..end].to_string()
    };
    let before = client
        .export_calendar(ins(export(Owner::AlmoId(LEEDS_ENE.into()))))
        .await
        .unwrap()
        .into_inner();
    let booked = event(&before.calendar);
    assert!(booked.contains("SEQUENCE:0\r\n"), "{booked}");
    assert!(booked.contains("STATUS:CONFIRMED\r\n"), "{booked}");

    cancel_ok(&mut client, cancel("c-ene", &ene.inspection_id, "v1")).await;
    for (i, owner) in [
        Owner::AlmoId(LEEDS_ENE.into()),
        Owner::InspectorId("LEAD-PATEL".into()),
    ]
    .into_iter()
    .enumerate()
    {
        let after = client
            .export_calendar(ins(export(owner)))
            .await
            .unwrap()
            .into_inner();
        // Kept, not dropped, so that subscribed calendars remove it (RFC 5545 §3.8.1.11, §3.8.7.4).
        if i == 0 {
            assert_eq!(after.event_count, before.event_count);
        }
        let cancelled = event(&after.calendar);
        assert!(cancelled.contains("STATUS:CANCELLED\r\n"), "{cancelled}");
        assert!(cancelled.contains("SEQUENCE:1\r\n"), "{cancelled}");
        assert!(cancelled.contains("SUMMARY:Cancelled: "), "{cancelled}");
        // Every event of the inspection, the milestones too.
        let flat = after.calendar.replace("\r\n ", "");
        assert_eq!(flat.matches("STATUS:CANCELLED").count(), 5, "{flat}");
    }
}

#[tokio::test]
async fn cancelled_inspection_does_not_count_as_having_inspected_the_authority() {
    use almo_proto::inspection::ListInspectorsRequest;

    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let inspected = |r: pb::ListInspectorsResponse| -> Vec<String> {
        r.inspectors
            .into_iter()
            .find(|i| i.inspector_id == "INSP-WALSH")
            .unwrap()
            .inspected_organisation_ids
    };
    let request = || ListInspectorsRequest {
        role: pb::InspectorRole::Inspector as i32,
        page_size: 100,
        page_token: String::new(),
    };
    let booked = inspected(
        client
            .list_inspectors(ins(request()))
            .await
            .unwrap()
            .into_inner(),
    );
    assert!(booked.contains(&LEEDS_ENE.to_string()), "{booked:?}");
    cancel_ok(&mut client, cancel("c-ene", &ene.inspection_id, "v1")).await;
    let after = inspected(
        client
            .list_inspectors(ins(request()))
            .await
            .unwrap()
            .into_inner(),
    );
    assert!(!after.contains(&LEEDS_ENE.to_string()), "{after:?}");
}

#[tokio::test]
async fn almo_inspections_move_replace_member_and_cancel_commands_print_what_changed() {
    use almo_inspection_scheduling::cli::{self, Server};

    let (app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let id = ene.inspection_id.clone();
    let server = Server {
        addr: format!("http://{}", app.addr),
        token: almo_testkit::token(INSPECTORATE, Role::Inspectorate),
    };

    // Without --etag the command reads the inspection's current etag.
    let moved = cli::move_inspection(&server, &id, "2007-10-29", &[], None, "cli-m")
        .await
        .unwrap();
    assert_eq!(
        moved,
        format!(
            "moved {id} to the week of 2007-10-29, team LEAD-PATEL, INSP-KOWALSKI, INSP-WALSH, TIA-HALL (etag v2)"
        )
    );
    assert_eq!(get(&mut client, &id).await.on_site_start_date, "2007-10-29");
    let replaced = cli::replace_team_member(
        &server,
        &id,
        "INSP-KOWALSKI",
        "INSP-BRENNAN",
        Some("v2"),
        "cli-r",
    )
    .await
    .unwrap();
    assert_eq!(
        replaced,
        format!("replaced INSP-KOWALSKI with INSP-BRENNAN on {id}, week of 2007-10-29 (etag v3)")
    );
    // A refusal prints the server's reason and the field.
    let err = cli::cancel_inspection(&server, &id, " ", None, "cli-c0")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("InvalidArgument"), "{err}");
    assert!(err.contains("reason: required"), "{err}");
    let stale = cli::move_inspection(&server, &id, "2007-11-05", &[], Some("v1"), "cli-m2")
        .await
        .unwrap_err()
        .to_string();
    assert!(stale.contains("Aborted"), "{stale}");
    let cancelled = cli::cancel_inspection(&server, &id, "postponed by the board", None, "cli-c")
        .await
        .unwrap();
    assert_eq!(
        cancelled,
        format!("cancelled {id} (week of 2007-10-29): postponed by the board (etag v4)")
    );
    let again = cli::cancel_inspection(&server, &id, "again", None, "cli-c2")
        .await
        .unwrap_err()
        .to_string();
    assert!(again.contains("INSPECTION_CANCELLED"), "{again}");
    assert!(again.contains("FailedPrecondition"), "{again}");
}

#[tokio::test]
async fn cancelled_inspection_is_not_pinned_in_a_programme() {
    use almo_proto::common::{FinancialYear, Period, PeriodKind};
    use almo_proto::inspection::ProposeProgrammeRequest;

    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let request = ProposeProgrammeRequest {
        // 2007/08 Q3: October to December 2007.
        quarter: Some(Period {
            year: Some(FinancialYear { start_year: 2007 }),
            kind: PeriodKind::Quarter as i32,
            number: 3,
        }),
        almo_ids: vec![LEEDS_ENE.into()],
        seed: 42,
        max_steps: 20,
        time_budget_ms: 5000,
        dropped_inspector_id: String::new(),
    };
    let before = client
        .propose_programme(ins(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(
        before
            .assignments
            .iter()
            .any(|a| a.pinned && a.almo_id == LEEDS_ENE)
    );
    cancel_ok(&mut client, cancel("c-ene", &ene.inspection_id, "v1")).await;
    let after = client
        .propose_programme(ins(request))
        .await
        .unwrap()
        .into_inner();
    assert!(after.assignments.iter().all(|a| !a.pinned), "{after:?}");
    // The ALMO is placed afresh, in a week that keeps every hard rule.
    assert!(
        after.assignments.iter().any(|a| a.almo_id == LEEDS_ENE),
        "{after:?}"
    );
}
