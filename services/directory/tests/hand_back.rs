//! Taking an ALMO's management back (seed 002) as a council would record it, through a real
//! server and client: the road (options review, the Department told, the test of tenants'
//! opinion, the decision), the end date it allows, and the lifecycle events a council system
//! watches.

use std::time::Duration;

use almo_auth::Role;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::directory::{
    self as pb, GetOrganisationRequest, OpinionMethod, RecordOptionsReviewRequest,
    UpdateAlmoLifecycleRequest, WatchLifecycleEventsRequest,
};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, authed};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

type Client = DirectoryServiceClient<Channel>;

async fn app() -> (TestApp, Client) {
    let app = TestApp::spawn(vec![almo_directory::mount()]).await.unwrap();
    let client = DirectoryServiceClient::new(app.channel().await);
    (app, client)
}

fn reason(s: &tonic::Status) -> String {
    s.get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

fn fields(s: &tonic::Status) -> Vec<String> {
    s.get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|f| f.field).collect())
        .unwrap_or_default()
}

async fn almo(c: &mut Client, id: &str) -> pb::Almo {
    let org = c
        .get_organisation(authed(
            GetOrganisationRequest { id: id.into() },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    match org.details {
        Some(pb::organisation::Details::Almo(a)) => a,
        _ => panic!("an ALMO"),
    }
}

async fn etag(c: &mut Client) -> String {
    c.get_organisation(authed(
        GetOrganisationRequest {
            id: LAMBETH_LIVING.into(),
        },
        LAMBETH,
        Role::CouncilOfficer,
    ))
    .await
    .unwrap()
    .into_inner()
    .organisation
    .unwrap()
    .etag
}

async fn lifecycle(
    c: &mut Client,
    rid: &str,
    f: impl FnOnce(&mut UpdateAlmoLifecycleRequest),
) -> Result<pb::Organisation, tonic::Status> {
    let mut r = UpdateAlmoLifecycleRequest {
        request_id: rid.into(),
        almo_id: LAMBETH_LIVING.into(),
        etag: etag(c).await,
        ..Default::default()
    };
    f(&mut r);
    c.update_almo_lifecycle(authed(r, LAMBETH, Role::CouncilOfficer))
        .await
        .map(|r| r.into_inner().organisation.unwrap())
}

async fn review(
    c: &mut Client,
    rid: &str,
    f: impl FnOnce(&mut RecordOptionsReviewRequest),
) -> Result<pb::OptionsReview, tonic::Status> {
    let mut r = RecordOptionsReviewRequest {
        request_id: rid.into(),
        almo_id: LAMBETH_LIVING.into(),
        etag: etag(c).await,
        ..Default::default()
    };
    f(&mut r);
    c.record_options_review(authed(r, LAMBETH, Role::CouncilOfficer))
        .await
        .map(|r| r.into_inner().review.unwrap())
}

fn ballot(method: OpinionMethod) -> pb::OpinionTest {
    pb::OpinionTest {
        method: method as i32,
        note: String::new(),
        opened_date: "2026-06-01".into(),
        closed_date: "2026-06-30".into(),
        eligible: 33_000,
        responses: 15_051,
        in_favour: 9_200,
        turnout_permille: 0,
    }
}

/// Lambeth's transfer to Lambeth Living tested by ballot; a review started and the Department
/// told.
async fn road_to_a_test(c: &mut Client) {
    lifecycle(c, "transfer", |r| {
        r.transfer_opinion_method = OpinionMethod::Ballot as i32
    })
    .await
    .unwrap();
    review(c, "start", |r| r.start_date = "2026-01-12".into())
        .await
        .unwrap();
    review(c, "notify", |r| {
        r.department_notified_date = Some("2026-01-20".into())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_end_date_needs_a_recorded_decision_to_take_management_back() {
    let (_app, mut c) = app().await;
    let err = lifecycle(&mut c, "end", |r| r.end_date = Some("2027-10-16".into()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "NO_HAND_BACK_DECISION");
    assert_eq!(almo(&mut c, LAMBETH_LIVING).await.end_date, "");
}

#[tokio::test]
async fn a_council_that_balloted_on_transfer_must_ballot_to_take_management_back() {
    let (_app, mut c) = app().await;
    road_to_a_test(&mut c).await;
    let err = review(&mut c, "survey", |r| {
        r.opinion = Some(ballot(OpinionMethod::FullSurvey))
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "BALLOT_REQUIRED");
    let tested = review(&mut c, "ballot", |r| {
        r.opinion = Some(ballot(OpinionMethod::Ballot))
    })
    .await
    .unwrap();
    let o = tested.opinion.unwrap();
    assert_eq!(o.method, OpinionMethod::Ballot as i32);
    // 15,051 of 33,000: 45.6%.
    assert_eq!(o.turnout_permille, 456);
    assert_eq!(o.in_favour, 9_200);
}

#[tokio::test]
async fn without_a_ballot_on_transfer_another_comprehensive_method_says_what_it_was() {
    let (_app, mut c) = app().await;
    lifecycle(&mut c, "transfer", |r| {
        r.transfer_opinion_method = OpinionMethod::FullSurvey as i32
    })
    .await
    .unwrap();
    review(&mut c, "start", |r| r.start_date = "2026-01-12".into())
        .await
        .unwrap();
    let err = review(&mut c, "other", |r| {
        r.opinion = Some(ballot(OpinionMethod::Other))
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["opinion.note"]);
    review(&mut c, "other-2", |r| {
        let mut o = ballot(OpinionMethod::Other);
        o.note = "doorstep survey of every household, overseen by an ITA".into();
        r.opinion = Some(o);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_test_of_opinion_waits_for_how_the_transfer_was_tested() {
    let (_app, mut c) = app().await;
    review(&mut c, "start", |r| r.start_date = "2026-01-12".into())
        .await
        .unwrap();
    let err = review(&mut c, "ballot", |r| {
        r.opinion = Some(ballot(OpinionMethod::Ballot))
    })
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "TRANSFER_OPINION_UNKNOWN");
}

#[tokio::test]
async fn taking_back_needs_the_department_told_and_the_test_done_first() {
    let (_app, mut c) = app().await;
    lifecycle(&mut c, "transfer", |r| {
        r.transfer_opinion_method = OpinionMethod::Ballot as i32
    })
    .await
    .unwrap();
    review(&mut c, "start", |r| r.start_date = "2026-01-12".into())
        .await
        .unwrap();
    let decide = |r: &mut RecordOptionsReviewRequest| {
        r.decision = pb::HandBackDecision::TakeBack as i32;
        r.decision_date = "2026-07-14".into();
    };
    let err = review(&mut c, "decide-1", decide).await.unwrap_err();
    assert_eq!(reason(&err), "OPINION_NOT_TESTED");
    review(&mut c, "ballot", |r| {
        r.opinion = Some(ballot(OpinionMethod::Ballot))
    })
    .await
    .unwrap();
    let err = review(&mut c, "decide-2", decide).await.unwrap_err();
    assert_eq!(reason(&err), "DEPARTMENT_NOT_NOTIFIED");
    // The Department told before the review started is a wrong date, named.
    let err = review(&mut c, "notify-early", |r| {
        r.department_notified_date = Some("2025-12-01".into())
    })
    .await
    .unwrap_err();
    assert_eq!(fields(&err), ["department_notified_date"]);
}

#[tokio::test]
async fn after_the_decision_the_end_is_set_in_advance_with_no_consent_asked() {
    let (_app, mut c) = app().await;
    road_to_a_test(&mut c).await;
    review(&mut c, "ballot", |r| {
        r.opinion = Some(ballot(OpinionMethod::Ballot))
    })
    .await
    .unwrap();
    review(&mut c, "decide", |r| {
        r.decision = pb::HandBackDecision::TakeBack as i32;
        r.decision_date = "2026-07-14".into();
    })
    .await
    .unwrap();
    // Before the decision is no date for the end.
    let err = lifecycle(&mut c, "end-early", |r| {
        r.end_date = Some("2026-07-01".into())
    })
    .await
    .unwrap_err();
    assert_eq!(fields(&err), ["end_date"]);
    // A date ahead of today, and no Secretary of State consent anywhere in the request.
    let org = lifecycle(&mut c, "end", |r| r.end_date = Some("2027-10-16".into()))
        .await
        .unwrap();
    let Some(pb::organisation::Details::Almo(a)) = org.details else {
        panic!("an ALMO")
    };
    assert_eq!(a.end_date, "2027-10-16");
    assert_eq!(a.stage, pb::AlmoStage::Live as i32);
    let latest = almo(&mut c, LAMBETH_LIVING).await.latest_review.unwrap();
    assert_eq!(latest.decision, pb::HandBackDecision::TakeBack as i32);
    assert_eq!(latest.department_notified_date, "2026-01-20");
    // A decided review is history; the transfer's method with it.
    let err = review(&mut c, "notify-again", |r| {
        r.department_notified_date = Some("2026-02-01".into())
    })
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "REVIEW_DECIDED");
    let err = lifecycle(&mut c, "transfer-again", |r| {
        r.transfer_opinion_method = OpinionMethod::FullSurvey as i32
    })
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "TRANSFER_OPINION_FIXED");
}

#[tokio::test]
async fn the_almo_itself_does_not_record_the_road() {
    let (_app, mut c) = app().await;
    let tag = etag(&mut c).await;
    let err = c
        .record_options_review(authed(
            RecordOptionsReviewRequest {
                request_id: "r".into(),
                almo_id: LAMBETH_LIVING.into(),
                etag: tag,
                start_date: "2026-01-12".into(),
                ..Default::default()
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn two_lifecycle_writes_with_one_etag_exactly_one_wins() {
    let (_app, mut c) = app().await;
    let tag = etag(&mut c).await;
    let write = |rid: &str, stock: i32| {
        authed(
            UpdateAlmoLifecycleRequest {
                request_id: rid.into(),
                almo_id: LAMBETH_LIVING.into(),
                etag: tag.clone(),
                stock_size: Some(stock),
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        )
    };
    let review_write = authed(
        RecordOptionsReviewRequest {
            request_id: "start".into(),
            almo_id: LAMBETH_LIVING.into(),
            etag: tag.clone(),
            start_date: "2026-01-12".into(),
            ..Default::default()
        },
        LAMBETH,
        Role::CouncilOfficer,
    );
    let (mut c1, mut c2, mut c3) = (c.clone(), c.clone(), c.clone());
    let (a, b, r) = tokio::join!(
        c1.update_almo_lifecycle(write("a", 33_101)),
        c2.update_almo_lifecycle(write("b", 33_202)),
        c3.record_options_review(review_write),
    );
    let outcomes = [a.map(|_| ()), b.map(|_| ()), r.map(|_| ())];
    let won = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(won, 1, "{outcomes:?}");
    for lost in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(lost.code(), Code::Aborted);
        assert_eq!(reason(lost), "STALE_ETAG");
    }
}

async fn watch(
    c: &mut Client,
    org: &str,
    role: Role,
    after: &str,
    almo_id: &str,
) -> Result<tonic::Streaming<pb::WatchLifecycleEventsResponse>, tonic::Status> {
    c.watch_lifecycle_events(authed(
        WatchLifecycleEventsRequest {
            after_event_id: after.into(),
            almo_id: almo_id.into(),
        },
        org,
        role,
    ))
    .await
    .map(|r| r.into_inner())
}

async fn next(s: &mut tonic::Streaming<pb::WatchLifecycleEventsResponse>) -> pb::LifecycleEvent {
    tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream is open")
        .expect("an event, not an error")
        .event
        .unwrap()
}

#[tokio::test]
async fn a_council_watches_its_almos_hand_back_as_it_happens() {
    let (_app, mut c) = app().await;
    // From now on: nothing stored is replayed, the next change arrives live.
    let mut live = watch(&mut c, LAMBETH, Role::CouncilOfficer, "", "")
        .await
        .unwrap();
    road_to_a_test(&mut c).await;
    let started = next(&mut live).await;
    assert_eq!(
        started.kind,
        pb::LifecycleEventKind::OptionsReviewStarted as i32
    );
    assert_eq!(started.almo_id, LAMBETH_LIVING);
    assert_eq!(started.council_id, LAMBETH);
    let notified = next(&mut live).await;
    assert_eq!(
        notified.kind,
        pb::LifecycleEventKind::DepartmentNotified as i32
    );
    assert!(
        notified
            .payload_json
            .contains("\"notified_date\":\"2026-01-20\"")
    );
    // Replayed from a given id: the second event on.
    let mut replay = watch(
        &mut c,
        LAMBETH_LIVING,
        Role::AlmoOfficer,
        &started.event_id,
        "",
    )
    .await
    .unwrap();
    assert_eq!(next(&mut replay).await.event_id, notified.event_id);
    // The regulator and the inspectorate follow everyone's.
    for (org, role) in [
        (REGULATOR, Role::Regulator),
        (INSPECTORATE, Role::Inspectorate),
    ] {
        let mut s = watch(&mut c, org, role, "0", "").await.unwrap();
        assert_eq!(next(&mut s).await.event_id, started.event_id);
    }
}

#[tokio::test]
async fn another_councils_almo_events_are_not_seen() {
    let (_app, mut c) = app().await;
    let err = watch(&mut c, HARINGEY, Role::CouncilOfficer, "0", LAMBETH_LIVING)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = watch(&mut c, LAMBETH, Role::CouncilOfficer, "x", "")
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["after_event_id"]);
    // Haringey watching everything it may read sees none of Lambeth's, though they are there.
    let mut haringey = watch(&mut c, HARINGEY, Role::CouncilOfficer, "0", "")
        .await
        .unwrap();
    road_to_a_test(&mut c).await;
    let mut lambeth = watch(&mut c, LAMBETH, Role::CouncilOfficer, "0", "")
        .await
        .unwrap();
    next(&mut lambeth).await;
    let seen = tokio::time::timeout(Duration::from_millis(1500), haringey.next()).await;
    assert!(seen.is_err(), "Haringey saw {seen:?}");
}

#[tokio::test]
async fn the_demo_holds_hackney_homes_road_back_in_house() {
    let (_app, mut c) = app().await;
    let org = c
        .get_organisation(authed(
            GetOrganisationRequest {
                id: "HACKNEY-HOMES".into(),
            },
            "E09000012",
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .organisation
        .unwrap();
    let Some(pb::organisation::Details::Almo(a)) = org.details else {
        panic!("an ALMO")
    };
    assert_eq!(a.end_date, "2016-03-31");
    assert_eq!(a.stage, pb::AlmoStage::Ended as i32);
    assert_eq!(a.transfer_opinion_method, OpinionMethod::FullSurvey as i32);
    let review = a.latest_review.unwrap();
    assert_eq!(review.decision, pb::HandBackDecision::TakeBack as i32);
    assert_eq!(review.decision_date, "2015-11-18");
    assert_eq!(review.department_notified_date, "2015-01-26");
    let opinion = review.opinion.unwrap();
    assert_eq!(opinion.method, OpinionMethod::FullSurvey as i32);
    assert_eq!(opinion.turnout_permille, 380);
}

#[tokio::test]
async fn an_almo_entry_shows_its_transfer_and_latest_review_alone_in_a_read_as_in_a_list() {
    let (_app, mut c) = app().await;
    road_to_a_test(&mut c).await;
    review(&mut c, "ballot", |r| {
        r.opinion = Some(ballot(OpinionMethod::Ballot))
    })
    .await
    .unwrap();
    review(&mut c, "retain", |r| {
        r.decision = pb::HandBackDecision::Retain as i32;
        r.decision_date = "2026-07-14".into();
    })
    .await
    .unwrap();
    review(&mut c, "second", |r| r.start_date = "2026-09-01".into())
        .await
        .unwrap();
    // The second review alone, open, beside the transfer's method.
    let a = almo(&mut c, LAMBETH_LIVING).await;
    assert_eq!(a.transfer_opinion_method, OpinionMethod::Ballot as i32);
    let latest = a.latest_review.clone().unwrap();
    assert_eq!(latest.review_no, 2);
    assert_eq!(latest.started_date, "2026-09-01");
    assert_eq!(latest.department_notified_date, "");
    assert!(latest.opinion.is_none());
    assert_eq!(latest.decision, pb::HandBackDecision::Unspecified as i32);
    // A list gives every entry as a read of it does: the ALMO with its road, the council with
    // its ALMOs, and an ALMO with no road recorded (the regulator sees them all).
    let listed = c
        .list_organisations(authed(
            pb::ListOrganisationsRequest {
                page_size: 1000,
                ..Default::default()
            },
            REGULATOR,
            Role::Regulator,
        ))
        .await
        .unwrap()
        .into_inner()
        .organisations;
    let mut almos_without_a_road = 0;
    for org in &listed {
        let read = c
            .get_organisation(authed(
                GetOrganisationRequest { id: org.id.clone() },
                REGULATOR,
                Role::Regulator,
            ))
            .await
            .unwrap()
            .into_inner()
            .organisation
            .unwrap();
        assert_eq!(&read, org);
        if let Some(pb::organisation::Details::Almo(a)) = &read.details {
            almos_without_a_road +=
                usize::from(a.latest_review.is_none() && a.transfer_opinion_method == 0);
        }
    }
    assert!(listed.iter().any(|o| o.id == LAMBETH_LIVING));
    assert!(almos_without_a_road > 0, "an ALMO with nothing recorded");
    let lambeth = listed.iter().find(|o| o.id == LAMBETH).unwrap();
    let Some(pb::organisation::Details::Council(council)) = &lambeth.details else {
        panic!("a council")
    };
    assert!(council.almo_ids.contains(&LAMBETH_LIVING.to_string()));
}
