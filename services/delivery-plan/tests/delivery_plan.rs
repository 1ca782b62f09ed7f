//! The delivery-plan service as a client sees it: a real server on 127.0.0.1:0, a real gRPC
//! client, a real database (SQLite, or PostgreSQL when ALMO_TEST_DATABASE_URL is set).

mod common;

use almo_auth::Role;
use almo_client::Target;
use almo_proto::common::{Money, PeriodKind};
use almo_proto::delivery_plan::{self as pb};
use almo_testkit::authed;
use almo_testkit::demo::*;
use tonic::Code;
use tonic_types::StatusExt;

use common::*;

#[tokio::test]
async fn council_creates_a_plan_and_its_almo_reads_it() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    assert_eq!(plan.plan_id, "LAMBETH-LIVING-2026-2028");
    assert_eq!((plan.version, plan.latest_version), (1, 1));
    assert_eq!(plan.effective_date, "2026-04-01");
    assert_eq!(plan.etag, "v1");
    let read = get_plan(
        &mut client,
        as_almo(pb::GetPlanRequest {
            plan_id: plan.plan_id.clone(),
            as_of_date: "2026-06-01".into(),
            version: 0,
        }),
    )
    .await
    .unwrap();
    assert_eq!(read.content, plan.content);
    // The regulator and the inspectorate read it too.
    for (org, role) in [
        (REGULATOR, Role::Regulator),
        (INSPECTORATE, Role::Inspectorate),
    ] {
        let listed = client
            .list_plans(authed(pb::ListPlansRequest::default(), org, role))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.plans.len(), 1);
    }
    // A retry with the same request id replays the first answer; a second plan for the same
    // years does not exist.
    let again = create_plan_with(&mut client, as_council(create_request("create-1")))
        .await
        .unwrap();
    assert_eq!(again, plan);
    let dup = create_plan_with(&mut client, as_council(create_request("create-2")))
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn almo_cannot_read_another_almos_plan() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    for (org, role) in [
        (HOMES_FOR_HARINGEY, Role::AlmoOfficer),
        (HARINGEY, Role::CouncilOfficer),
        (LEEDS_ENE, Role::AlmoOfficer),
    ] {
        let err = get_plan(
            &mut client,
            authed(
                pb::GetPlanRequest {
                    plan_id: plan.plan_id.clone(),
                    ..Default::default()
                },
                org,
                role,
            ),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org}");
        let status = client
            .get_plan_status(authed(
                pb::GetPlanStatusRequest {
                    plan_id: plan.plan_id.clone(),
                },
                org,
                role,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{org}");
        let listed = client
            .list_plans(authed(pb::ListPlansRequest::default(), org, role))
            .await
            .unwrap()
            .into_inner();
        assert!(listed.plans.is_empty(), "{org} sees no other pair's plan");
        let exceptions = client
            .list_exceptions(authed(pb::ListExceptionsRequest::default(), org, role))
            .await
            .unwrap()
            .into_inner();
        assert!(exceptions.exceptions.is_empty());
    }
    // An id that does not exist looks the same as one that is not yours.
    let err = get_plan(
        &mut client,
        authed(
            pb::GetPlanRequest {
                plan_id: "NO-SUCH-PLAN".into(),
                ..Default::default()
            },
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn only_the_council_writes_its_plans_and_variances() {
    let (_app, mut client) = app().await;
    for (org, role) in [
        (LAMBETH_LIVING, Role::AlmoOfficer),
        (REGULATOR, Role::Regulator),
        (HARINGEY, Role::CouncilOfficer),
        (LAMBETH, Role::CouncilFinance),
    ] {
        let err = create_plan_with(&mut client, authed(create_request("c"), org, role))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org} {role}");
    }
    let plan = create(&mut client).await;
    let err = client
        .record_variance(as_almo(pb::RecordVarianceRequest {
            request_id: "r".into(),
            plan_id: plan.plan_id.clone(),
            record: Some(rec("a", "RP02", month(1), 97.0)),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .push_variances(as_almo(tokio_stream::iter(vec![
            pb::PushVariancesRequest {
                request_id: "p".into(),
                plan_id: plan.plan_id.clone(),
                records: vec![rec("a", "RP02", month(1), 97.0)],
            },
        ])))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // A council may not plan for another council's ALMO.
    let mut other = create_request("c2");
    other.almo_id = HOMES_FOR_HARINGEY.into();
    let err = create_plan_with(&mut client, as_council(other))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["almo_id"]);
}

#[tokio::test]
async fn malformed_plan_fields_are_refused_by_name() {
    let (_app, mut client) = app().await;
    let mut r = create_request("bad");
    r.title = " ".into();
    r.last_year = fy(2024);
    r.effective_date = "1 April 2026".into();
    let err = create_plan_with(&mut client, as_council(r))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        vec!["effective_date", "last_year", "title"]
    );

    let mut r = create_request("bad2");
    let c = r.content.as_mut().unwrap();
    c.targets[0].kind = 0;
    c.targets[1].direction = 0;
    c.targets[2].tolerance = None;
    c.capital_profile[1].amount = Some(Money {
        pence: 100_000_001,
        currency_code: "GBP".into(),
    });
    c.annual_cost_effectiveness_percent = 1.5;
    c.delegated_functions.clear();
    c.decent_homes.as_mut().unwrap().target_date = "2029-02-30".into();
    let err = create_plan_with(&mut client, as_council(r))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        vec![
            "content.annual_cost_effectiveness_percent",
            "content.capital_profile",
            "content.decent_homes.target_date",
            "content.delegated_functions",
            "content.targets[0].kind",
            "content.targets[1].direction",
            "content.targets[2].tolerance",
        ]
    );
    let mut r = create_request("bad3");
    r.content = None;
    r.request_id = String::new();
    let err = create_plan_with(&mut client, as_council(r))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["content"]);
}

#[tokio::test]
async fn amendment_takes_effect_only_on_the_other_partys_agreement() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let a = propose(&mut client, &plan, "v1", "2026-10-01", ALMO, "p1")
        .await
        .unwrap();
    assert_eq!(a.state, pb::AmendmentState::Proposed as i32);
    assert_eq!(a.proposed_by, pb::Party::Almo as i32);
    // The proposer cannot agree its own amendment; the plan is unchanged.
    let err = client
        .agree_amendment(as_almo(agree(&a.amendment_id, &a.etag, "g1")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Neither can a reader.
    let err = client
        .agree_amendment(as_regulator(agree(&a.amendment_id, &a.etag, "g2")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let versions = client
        .list_plan_versions(as_council(pb::ListPlanVersionsRequest {
            plan_id: plan.plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(versions.len(), 1);
    // The council agrees: version 2 exists, made by this amendment.
    let agreed = client
        .agree_amendment(as_council(agree(&a.amendment_id, &a.etag, "g3")))
        .await
        .unwrap()
        .into_inner();
    let v2 = agreed.plan.unwrap();
    assert_eq!((v2.version, v2.etag.as_str()), (2, "v2"));
    assert_eq!(v2.amendment_id, a.amendment_id);
    assert_eq!(v2.effective_date, "2026-10-01");
    let am = agreed.amendment.unwrap();
    assert_eq!(am.state, pb::AmendmentState::Agreed as i32);
    assert_eq!(am.resulting_version, 2);
    assert_eq!(am.decided_by_organisation_id, LAMBETH);
    // Once agreed it cannot be rejected.
    let err = client
        .reject_amendment(as_council(pb::RejectAmendmentRequest {
            request_id: "x1".into(),
            amendment_id: a.amendment_id.clone(),
            etag: am.etag.clone(),
            note: "no".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn earlier_versions_remain_readable_by_date() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let a = propose(&mut client, &plan, "v1", "2026-10-01", COUNCIL, "p1")
        .await
        .unwrap();
    client
        .agree_amendment(as_almo(agree(&a.amendment_id, &a.etag, "g1")))
        .await
        .unwrap();
    let read = |on: &str, version: i32| pb::GetPlanRequest {
        plan_id: plan.plan_id.clone(),
        as_of_date: on.into(),
        version,
    };
    let relet = |p: &pb::Plan| p.content.as_ref().unwrap().targets[1].yearly_targets[0].value;
    for (on, want_version, want_relet) in [
        ("2026-09-30", 1, 30.0),
        ("2026-10-01", 2, 35.0),
        ("2027-06-01", 2, 35.0),
    ] {
        let p = get_plan(&mut client, as_almo(read(on, 0))).await.unwrap();
        assert_eq!(
            (p.version, relet(&p)),
            (want_version, want_relet),
            "on {on}"
        );
        assert_eq!(
            p.etag, "v2",
            "the etag is the plan's, whichever version is read"
        );
    }
    let v1 = get_plan(&mut client, as_regulator(read("", 1)))
        .await
        .unwrap();
    assert_eq!(relet(&v1), 30.0);
    let before = get_plan(&mut client, as_council(read("2026-03-31", 0)))
        .await
        .unwrap_err();
    assert_eq!(before.code(), Code::NotFound);
    let bad = get_plan(&mut client, as_council(read("yesterday", 0)))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), vec!["as_of_date"]);
}

#[tokio::test]
async fn stale_etag_refused() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    // Two amendments proposed against version 1.
    let first = propose(&mut client, &plan, "v1", "2026-10-01", ALMO, "p1")
        .await
        .unwrap();
    let second = propose(&mut client, &plan, "v1", "2026-11-01", ALMO, "p2")
        .await
        .unwrap();
    client
        .agree_amendment(as_council(agree(&first.amendment_id, &first.etag, "g1")))
        .await
        .unwrap();
    // The plan has moved on: the second amendment can no longer be agreed as it stands...
    let err = client
        .agree_amendment(as_council(agree(&second.amendment_id, &second.etag, "g2")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_ETAG");
    // ...nor can a new one be proposed against version 1.
    let err = propose(&mut client, &plan, "v1", "2026-12-01", COUNCIL, "p3")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    // An amendment's own etag is checked too.
    let third = propose(&mut client, &plan, "v2", "2026-12-01", COUNCIL, "p4")
        .await
        .unwrap();
    let err = client
        .agree_amendment(as_almo(agree(&third.amendment_id, "a0", "g3")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    // Nothing changed: still two versions, the second amendment still pending.
    let amendments = client
        .list_amendments(as_almo(pb::ListAmendmentsRequest {
            plan_id: plan.plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .amendments;
    assert_eq!(amendments.len(), 3);
    let pending = amendments
        .iter()
        .filter(|a| a.state == pb::AmendmentState::Proposed as i32)
        .count();
    assert_eq!(pending, 2);
}

#[tokio::test]
async fn only_the_proposer_withdraws_and_a_rejection_says_why() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let a = propose(&mut client, &plan, "v1", "2026-10-01", COUNCIL, "p1")
        .await
        .unwrap();
    let withdraw = |org, role, rid: &str| {
        authed(
            pb::WithdrawAmendmentRequest {
                request_id: rid.into(),
                amendment_id: a.amendment_id.clone(),
                etag: a.etag.clone(),
                note: String::new(),
            },
            org,
            role,
        )
    };
    let err = client
        .withdraw_amendment(withdraw(LAMBETH_LIVING, Role::AlmoOfficer, "w1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let reject = pb::RejectAmendmentRequest {
        request_id: "r1".into(),
        amendment_id: a.amendment_id.clone(),
        etag: a.etag.clone(),
        note: " ".into(),
    };
    let err = client.reject_amendment(as_almo(reject)).await.unwrap_err();
    assert_eq!(bad_fields(&err), vec!["note"]);
    let w = client
        .withdraw_amendment(withdraw(LAMBETH, Role::CouncilOfficer, "w2"))
        .await
        .unwrap()
        .into_inner()
        .amendment
        .unwrap();
    assert_eq!(w.state, pb::AmendmentState::Withdrawn as i32);
    // Amendments effective before the current version are refused.
    let err = propose(&mut client, &plan, "v1", "2026-03-01", COUNCIL, "p2")
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["effective_date"]);
}

#[tokio::test]
async fn repeated_push_changes_nothing() {
    let (app, mut client) = app().await;
    let plan = create(&mut client).await;
    let mut records = bulk(72);
    // Two refusals among them: an unknown target and a value outside its unit.
    records.push(rec("bad-1", "BV999", month(1), 97.0));
    records.push(rec("bad-2", "RP02", quarter(1), 101.0));
    let first = push(&mut client, &plan.plan_id, "push-1", records.clone(), 10)
        .await
        .unwrap();
    assert_eq!(
        (
            first.received,
            first.accepted,
            first.corrected,
            first.unchanged,
            first.refused
        ),
        (74, 72, 0, 0, 2)
    );
    let refusals: Vec<(i32, &str, &str)> = first
        .refusals
        .iter()
        .map(|r| (r.index, r.sender_record_id.as_str(), r.field.as_str()))
        .collect();
    assert_eq!(
        refusals,
        vec![(72, "bad-1", "target_code"), (73, "bad-2", "actual")]
    );
    // The same push under the same request id replays the first answer.
    let replay = push(&mut client, &plan.plan_id, "push-1", records.clone(), 25)
        .await
        .unwrap();
    assert_eq!(replay, first);
    // Sent again as a new push: nothing changes, and the reply says so.
    let again = push(&mut client, &plan.plan_id, "push-2", records, 7)
        .await
        .unwrap();
    assert_eq!(
        (
            again.received,
            again.accepted,
            again.corrected,
            again.unchanged,
            again.refused
        ),
        (74, 0, 0, 72, 2)
    );
    use almo_db::entity::dp_variance;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let rows = dp_variance::Entity::find()
        .count(app.db.conn())
        .await
        .unwrap();
    assert_eq!(
        rows, 72,
        "refused records are not written, repeated ones not twice"
    );
}

#[tokio::test]
async fn corrected_figure_supersedes_and_keeps_history() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let first = record(
        &mut client,
        &plan.plan_id,
        "r1",
        rec("LBH-M01", "RP02", month(1), 95.0),
    )
    .await;
    assert_eq!(first.outcome, pb::RecordOutcome::Accepted as i32);
    let mut corrected = rec("LBH-M01", "RP02", month(1), 97.2);
    corrected.commentary = "Housing benefit backlog cleared".into();
    let second = record(&mut client, &plan.plan_id, "r2", corrected).await;
    assert_eq!(second.outcome, pb::RecordOutcome::Corrected as i32);
    let history = client
        .list_variance_history(as_almo(pb::ListVarianceHistoryRequest {
            plan_id: plan.plan_id.clone(),
            sender_record_id: "LBH-M01".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .variances;
    let summary: Vec<(i32, bool, f64)> = history
        .iter()
        .map(|v| (v.revision, v.superseded, v.record.as_ref().unwrap().actual))
        .collect();
    assert_eq!(summary, vec![(1, true, 95.0), (2, false, 97.2)]);
    // The dashboard counts the corrected figure only.
    let status = status_by(&mut client, &plan.plan_id, COUNCIL).await;
    let bv66a = &status.targets[0];
    assert_eq!(bv66a.periods.len(), 1);
    assert_eq!(bv66a.periods[0].actual, 97.2);
    assert_eq!(bv66a.latest_status, pb::RagStatus::OnTrack as i32);
}

#[tokio::test]
async fn malformed_variance_records_are_refused_one_by_one() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let mut no_kind = rec("c", "RP02", month(2), 97.0);
    no_kind.period.as_mut().unwrap().kind = PeriodKind::Year as i32;
    let mut bad_forecast = rec("g", "RP02", month(4), 97.0);
    bad_forecast.forecast = Some(f64::NAN);
    let records = vec![
        rec("", "RP02", month(1), 97.0),
        no_kind,
        rec("d", "RP02", month(13), 97.0),
        rec("e", "RP02", None, 97.0),
        rec("f", "LOCAL-DECENT", month(3), -4.0),
        bad_forecast,
        rec("h", "RP02", month_in(2029, 1), 97.0),
        rec("ok", "RP02", month(5), 97.0),
    ];
    let resp = push(&mut client, &plan.plan_id, "push-1", records, 3)
        .await
        .unwrap();
    assert_eq!((resp.accepted, resp.refused), (1, 7));
    let fields: Vec<&str> = resp.refusals.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "sender_record_id",
            "period",
            "period",
            "period",
            "actual",
            "forecast",
            "period"
        ]
    );
    // Sent alone, a malformed record is refused as the call's INVALID_ARGUMENT.
    for (r, field) in [
        (rec("u1", "RP02", month(14), 97.0), "record.period"),
        (rec("u2", "NOPE", month(1), 97.0), "record.target_code"),
        (rec("u3", "RP02", month(6), 120.0), "record.actual"),
    ] {
        let err = client
            .record_variance(as_council(pb::RecordVarianceRequest {
                request_id: format!("unary-{field}"),
                plan_id: plan.plan_id.clone(),
                record: Some(r),
            }))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&err), vec![field]);
    }
    // A push with no plan is refused as a whole.
    let err = push(
        &mut client,
        "",
        "push-2",
        vec![rec("x", "RP02", month(1), 1.0)],
        1,
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["plan_id"]);
    // The same request id with another payload is refused.
    let err = push(
        &mut client,
        &plan.plan_id,
        "push-1",
        vec![rec("y", "RP02", month(6), 97.0)],
        1,
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
}

#[tokio::test]
async fn lower_is_better_targets_get_the_right_status() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    // Days to relet, target 30, amber 10% (33), red 20% (36).
    let figures = [(1, 25.0), (2, 33.0), (3, 34.0), (4, 36.5), (5, 31.0)];
    let records = figures
        .iter()
        .map(|(m, v)| rec(&format!("relet-{m}"), "LOCAL-RELET", month(*m), *v))
        .collect();
    push(&mut client, &plan.plan_id, "p", records, 100)
        .await
        .unwrap();
    let status = client
        .get_plan_status(authed(
            pb::GetPlanStatusRequest {
                plan_id: plan.plan_id.clone(),
            },
            INSPECTORATE,
            Role::Inspectorate,
        ))
        .await
        .unwrap()
        .into_inner();
    let relet = status
        .targets
        .iter()
        .find(|t| t.code == "LOCAL-RELET")
        .unwrap();
    use pb::RagStatus::*;
    use pb::Trend::*;
    let got: Vec<(i32, i32)> = relet.periods.iter().map(|p| (p.status, p.trend)).collect();
    assert_eq!(
        got,
        vec![
            (OnTrack as i32, First as i32),
            (OnTrack as i32, Worsening as i32),
            (AtRisk as i32, Worsening as i32),
            (OffTrack as i32, Worsening as i32),
            (OnTrack as i32, Improving as i32),
        ]
    );
    assert_eq!(relet.latest_status, OnTrack as i32);
}

#[tokio::test]
async fn exception_raised_after_n_consecutive_off_track_periods_and_not_before() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let one = record(
        &mut client,
        &plan.plan_id,
        "r1",
        rec("q1", "RP02", quarter(1), 95.0),
    )
    .await;
    assert!(
        one.exceptions_raised.is_empty(),
        "one quarter off track is not yet an exception"
    );
    let none = client
        .list_exceptions(as_council(pb::ListExceptionsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(none.exceptions.is_empty());
    let two = record(
        &mut client,
        &plan.plan_id,
        "r2",
        rec("q2", "RP02", quarter(2), 95.2),
    )
    .await;
    assert_eq!(two.exceptions_raised.len(), 1);
    let e = &two.exceptions_raised[0];
    assert_eq!((e.target_code.as_str(), e.consecutive_periods), ("RP02", 2));
    assert_eq!(e.first_period, quarter(1));
    assert_eq!(e.last_period, quarter(2));
    // A third period off track does not raise a second exception while the first is open.
    let three = record(
        &mut client,
        &plan.plan_id,
        "r3",
        rec("q3", "RP02", quarter(3), 95.0),
    )
    .await;
    assert!(three.exceptions_raised.is_empty());
    let listed = client
        .list_exceptions(as_almo(pb::ListExceptionsRequest {
            plan_id: plan.plan_id.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.exceptions.len(), 1);
    let status = status_by(&mut client, &plan.plan_id, ALMO).await;
    assert!(status.targets[0].in_exception);
    assert!(!status.targets[1].in_exception);
    assert_eq!(status.open_exceptions.len(), 1);
}

#[tokio::test]
async fn countdown_forecast_date() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    // 3,000 non-decent homes from 1 April 2026, all decent by 31 March 2029. Two quarters in,
    // 400 made decent: 400 homes in 183 days.
    for (q, made) in [(1, 150.0), (2, 250.0)] {
        record(
            &mut client,
            &plan.plan_id,
            &format!("dh{q}"),
            rec(&format!("dh{q}"), "LOCAL-DECENT", quarter(q), made),
        )
        .await;
    }
    let c = client
        .get_plan_status(as_council(pb::GetPlanStatusRequest {
            plan_id: plan.plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .decent_homes
        .unwrap();
    assert_eq!((c.made_decent, c.still_non_decent), (400, 2600));
    assert_eq!(c.as_of_date, "2026-09-30");
    // 2,600 more at 400 per 182 days: ceil(2600 * 182 / 400) = 1183 days after 30 Sep 2026.
    assert_eq!(c.forecast_completion_date, "2029-12-26");
    assert!(c.behind_schedule);
    assert!(c.warning.contains("2029-12-26"), "{}", c.warning);
    assert!((c.rate_achieved_per_year - 400.0 / (182.0 / 365.25)).abs() < 1e-6);
    assert!((c.rate_needed_per_year - 2600.0 / (913.0 / 365.25)).abs() < 1e-6);
}

#[tokio::test]
async fn demo_plan_shows_amendments_an_exception_and_a_programme_behind_schedule() {
    let (app, mut client) = app().await;
    almo_delivery_plan::demo::seed(&app.db).await.unwrap();
    almo_delivery_plan::demo::seed(&app.db).await.unwrap();
    let plan_id = almo_delivery_plan::demo::PLAN_ID.to_string();
    let status = client
        .get_plan_status(as_almo(pb::GetPlanStatusRequest {
            plan_id: plan_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    let status_copy = status.clone();
    assert_eq!(status.plan.unwrap().latest_version, 2);
    assert!(
        status
            .targets
            .iter()
            .any(|t| t.code == "LOCAL-RELET" && t.in_exception)
    );
    assert!(status.decent_homes.unwrap().behind_schedule);
    let amendments = client
        .list_amendments(as_council(pb::ListAmendmentsRequest { plan_id }))
        .await
        .unwrap()
        .into_inner()
        .amendments;
    let states: Vec<i32> = amendments.iter().map(|a| a.state).collect();
    let text = almo_delivery_plan::cli::render_status(&status_copy);
    assert!(text.contains("LOCAL-RELET      OFF TRACK"), "{text}");
    assert!(text.contains("WARNING: behind schedule"), "{text}");
    // 244 homes made decent by the end of September against the 500 of the milestone.
    assert_eq!(
        milestone_row(&status_copy, "LOCAL-DECENT"),
        vec![
            (
                "2026-09-30".into(),
                500.0,
                true,
                Some(6),
                244.0,
                pb::RagStatus::OffTrack
            ),
            (
                "2027-09-30".into(),
                1500.0,
                false,
                None,
                0.0,
                pb::RagStatus::Unspecified
            ),
        ]
    );
    assert!(
        text.contains("milestone LOCAL-DECENT 2026-09-30: 244.0 against 500.0, OFF TRACK"),
        "{text}"
    );
    use pb::AmendmentState::*;
    assert_eq!(
        states,
        vec![Proposed as i32, Rejected as i32, Agreed as i32]
    );
}

#[tokio::test]
async fn the_almo_answers_an_exception_and_the_council_accepts_or_escalates() {
    use pb::ExceptionDecision::{Accept, Escalate};
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let raised = two_quarters_off_track(&mut client, &plan.plan_id)
        .await
        .exceptions_raised
        .remove(0);
    let report = |rid: &str, etag: &str| pb::SubmitExceptionReportRequest {
        request_id: rid.into(),
        exception_id: raised.exception_id.clone(),
        etag: etag.into(),
        cause: "Universal credit migration delayed payments".into(),
        recovery_action: "Two more income officers from January".into(),
        recovery_date: "2099-06-30".into(),
    };
    let decide = |rid: &str, etag: &str, d: pb::ExceptionDecision, note: &str| {
        pb::DecideExceptionReportRequest {
            request_id: rid.into(),
            exception_id: raised.exception_id.clone(),
            etag: etag.into(),
            decision: d as i32,
            note: note.into(),
        }
    };
    // The council cannot decide before the ALMO reports, nor report for it.
    let err = decide_report(
        &mut client,
        as_council(decide("d0", &raised.etag, Accept, "")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = submit_report(&mut client, as_council(report("s0", &raised.etag)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut bad = report("s1", &raised.etag);
    bad.cause = String::new();
    bad.recovery_date = "2001-01-01".into();
    let err = submit_report(&mut client, as_almo(bad)).await.unwrap_err();
    assert_eq!(bad_fields(&err), vec!["cause", "recovery_date"]);
    let answered = submit_report(&mut client, as_almo(report("s2", &raised.etag)))
        .await
        .unwrap();
    assert_eq!(answered.state, pb::ExceptionState::Answered as i32);
    // A retry of the report (same request id, same etag as then) replays the answer.
    let retried = submit_report(&mut client, as_almo(report("s2", &raised.etag)))
        .await
        .expect("a retried report replays");
    assert_eq!(retried, answered);
    assert_eq!(
        answered.report.as_ref().unwrap().recovery_date,
        "2099-06-30"
    );
    // A decision against the etag as first read is stale.
    let err = decide_report(
        &mut client,
        as_council(decide("d1", &raised.etag, Accept, "")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = decide_report(
        &mut client,
        as_council(decide("d2", &answered.etag, Escalate, "")),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["note"]);
    let escalated = decide_report(
        &mut client,
        as_council(decide(
            "d3",
            &answered.etag,
            Escalate,
            "To cabinet: recovery too slow",
        )),
    )
    .await
    .unwrap();
    assert_eq!(escalated.state, pb::ExceptionState::Escalated as i32);
    let revised = submit_report(&mut client, as_almo(report("s3", &escalated.etag)))
        .await
        .unwrap();
    let accepted = decide_report(
        &mut client,
        as_council(decide("d4", &revised.etag, Accept, "Agreed")),
    )
    .await
    .unwrap();
    assert_eq!(accepted.state, pb::ExceptionState::Accepted as i32);
    let retried = decide_report(
        &mut client,
        as_council(decide("d4", &revised.etag, Accept, "Agreed")),
    )
    .await
    .expect("a retried decision replays");
    assert_eq!(retried, accepted);
    // Accepted is closed: no longer listed, and a target still off track can raise a new one.
    let open = client
        .list_exceptions(as_council(pb::ListExceptionsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .exceptions;
    assert!(open.is_empty());
    let again = record(
        &mut client,
        &plan.plan_id,
        "r3",
        rec("q3", "RP02", quarter(3), 95.0),
    )
    .await;
    assert_eq!(again.exceptions_raised.len(), 1);
    assert_eq!(again.exceptions_raised[0].consecutive_periods, 3);
}

#[tokio::test]
async fn a_push_of_ten_thousand_figures_is_taken_in_whole_and_again_changes_nothing() {
    let (app, mut client) = app().await;
    let r = plan_with_local_targets("big", "LOCAL-M", 278);
    let plan = create_plan_with(&mut client, as_council(r)).await.unwrap();
    let codes: Vec<String> = plan
        .content
        .as_ref()
        .unwrap()
        .targets
        .iter()
        .map(|t| t.code.clone())
        .collect();
    let mut records = Vec::new();
    for code in codes.iter().filter(|c| c.starts_with("LOCAL-M")) {
        for year in 2026..=2028 {
            for m in 1..=12 {
                records.push(pb::VarianceRecord {
                    sender_record_id: format!("{code}/{year}/{m}"),
                    target_code: code.clone(),
                    period: month_in(year, m),
                    // The last two months of each target are off track.
                    actual: if year == 2028 && m >= 11 { 80.0 } else { 91.0 },
                    forecast: None,
                    commentary: String::new(),
                });
            }
        }
    }
    assert!(records.len() >= 10_000);
    let n = records.len() as i32;
    let first = push(&mut client, &plan.plan_id, "big-1", records.clone(), 1000)
        .await
        .unwrap();
    assert_eq!((first.received, first.accepted, first.refused), (n, n, 0));
    assert_eq!(first.exceptions_raised.len(), 278);
    let again = push(&mut client, &plan.plan_id, "big-2", records, 1000)
        .await
        .unwrap();
    assert_eq!(
        (again.accepted, again.unchanged, again.corrected),
        (0, n, 0)
    );
    assert!(again.exceptions_raised.is_empty());
    use almo_db::entity::dp_variance;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let rows = dp_variance::Entity::find()
        .count(app.db.conn())
        .await
        .unwrap();
    assert_eq!(rows, n as u64);
    let status = status_by(&mut client, &plan.plan_id, COUNCIL).await;
    let t = target_in(&status, "LOCAL-M000");
    assert_eq!(t.periods.len(), 36);
    assert_eq!(t.latest_status, pb::RagStatus::OffTrack as i32);
    assert!(t.in_exception);
}

#[tokio::test]
async fn watchers_see_what_happens_to_the_plan_and_resume_from_a_cursor() {
    use pb::PlanEventKind as K;
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let watch = |cursor: &str, org: &str, role: Role| {
        authed(
            pb::WatchPlanEventsRequest {
                plan_id: plan.plan_id.clone(),
                after_cursor: cursor.into(),
            },
            org,
            role,
        )
    };
    let mut almo_watch = client
        .watch_plan_events(watch("", LAMBETH_LIVING, Role::AlmoOfficer))
        .await
        .unwrap()
        .into_inner();
    let err = client
        .watch_plan_events(watch("", HOMES_FOR_HARINGEY, Role::AlmoOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    two_quarters_off_track(&mut client, &plan.plan_id).await;
    let a = propose(&mut client, &plan, "v1", "2026-10-01", ALMO, "p1")
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(next_event(&mut almo_watch).await);
    }
    let kinds: Vec<i32> = seen.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            K::VariancesRecorded as i32,
            // Q1: no status -> off track. Q2 stays off track: no change, but an exception.
            K::StatusChanged as i32,
            K::VariancesRecorded as i32,
            K::ExceptionRaised as i32,
            K::AmendmentProposed as i32,
        ]
    );
    assert_eq!(seen[1].subject_id, "RP02");
    assert_eq!(seen[4].subject_id, a.amendment_id);
    drop(almo_watch);
    // Reconnecting after the second event replays the rest, and nothing before it.
    let mut resumed = client
        .watch_plan_events(watch(&seen[1].cursor, LAMBETH, Role::CouncilOfficer))
        .await
        .unwrap()
        .into_inner();
    for expected in &seen[2..] {
        assert_eq!(&next_event(&mut resumed).await, expected);
    }
}

#[tokio::test]
async fn csv_push_of_ten_thousand_rows_reports_refusals_by_line_and_is_safe_to_rerun() {
    use std::fmt::Write as _;
    let (app, mut client) = app().await;
    let r = plan_with_local_targets("csv", "LOCAL-C", 278);
    let plan = create_plan_with(&mut client, as_council(r)).await.unwrap();
    let mut csv = format!("{}\n", almo_delivery_plan::cli::HEADER);
    let mut rows = 0;
    for i in 0..278 {
        for year in 2026..=2028 {
            for m in 1..=12 {
                writeln!(csv, "C{i}-{year}-{m},LOCAL-C{i:03},{year}/{:02},M{m},91.5,92,\"steady, as planned\"", (year + 1) % 100).unwrap();
                rows += 1;
            }
        }
    }
    // Line rows+2: an unknown target (refused by the server); line rows+3: unreadable.
    writeln!(csv, "X-1,LOCAL-NOPE,2026,M1,50,,").unwrap();
    writeln!(csv, "X-2,LOCAL-C000,2026,M1,fifty,,").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("variances.csv");
    std::fs::write(&path, &csv).unwrap();
    let token = almo_testkit::token(LAMBETH, Role::CouncilOfficer);
    let addr = format!("http://{}", app.addr);
    let mut progress = Vec::new();
    let first = almo_delivery_plan::cli::push_file(
        &Target::new(&addr, &token),
        &plan.plan_id,
        &path,
        1000,
        &mut progress,
    )
    .await
    .unwrap();
    assert!(rows >= 10_000);
    assert_eq!(first.response.accepted, rows);
    assert_eq!(first.refused.len(), 1);
    assert_eq!(
        first.refused[0].0,
        rows as usize + 2,
        "refusals carry the CSV line number"
    );
    assert_eq!(first.refused[0].2, "target_code");
    assert_eq!(first.unreadable.len(), 1);
    assert_eq!(first.unreadable[0].line, rows as usize + 3);
    assert!(String::from_utf8_lossy(&progress).contains(&format!(
        "{}/{} rows sent",
        rows + 1,
        rows + 1
    )));
    // Re-running the same file changes nothing, and says so.
    let again = almo_delivery_plan::cli::push_file(
        &Target::new(&addr, &token),
        &plan.plan_id,
        &path,
        700,
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        (again.response.accepted, again.response.unchanged),
        (0, rows)
    );
    assert_eq!(again.refused, first.refused);
    let status = status_by(&mut client, &plan.plan_id, ALMO).await;
    let t = target_in(&status, "LOCAL-C000");
    assert_eq!(t.periods.len(), 36);
    assert_eq!(t.latest_status, pb::RagStatus::OnTrack as i32);
}

#[tokio::test]
async fn capital_is_reprofiled_within_a_year_without_an_amendment_but_not_between_years() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let share = |c: pb::CapitalCategory, pence| pb::CapitalShare {
        category: c as i32,
        amount: Some(Money {
            pence,
            currency_code: "GBP".into(),
        }),
    };
    let req = |rid: &str, etag: &str, lines: Vec<pb::CapitalShare>| pb::ReprofileCapitalRequest {
        request_id: rid.into(),
        plan_id: plan.plan_id.clone(),
        etag: etag.into(),
        year: fy(2026),
        lines,
        reason: "Boiler replacements brought forward".into(),
        effective_date: "2026-07-01".into(),
    };
    use pb::CapitalCategory::*;
    let split = |decent_homes, sustainability| {
        vec![
            share(DecentHomes, decent_homes),
            share(Sustainability, sustainability),
        ]
    };
    // 2026/27 holds £20m: moving £1m out of the year needs an amendment.
    let err = reprofile(
        &mut client,
        as_almo(req("r1", "v1", split(1_800_000_000, 100_000_000))),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["lines"]);
    // Nor may it push sustainability works past 5% of the year.
    let err = reprofile(
        &mut client,
        as_almo(req("r2", "v1", split(1_800_000_000, 200_000_000))),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["lines"]);
    let err = reprofile(
        &mut client,
        as_regulator(req("r3", "v1", vec![share(DecentHomes, 2_000_000_000)])),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let r4 = req(
        "r4",
        "v1",
        vec![
            share(DecentHomes, 1_700_000_000),
            share(EstateImprovement, 250_000_000),
            share(Sustainability, 50_000_000),
        ],
    );
    let v2 = reprofile(&mut client, as_almo(r4.clone())).await.unwrap();
    assert_eq!((v2.version, v2.amendment_id.as_str()), (2, ""));
    // A retry of the re-profile replays version 2 rather than calling the etag stale.
    let retried = reprofile(&mut client, as_almo(r4))
        .await
        .expect("a retried re-profile replays");
    assert_eq!(retried, v2);
    assert!(v2.change_note.contains("re-profiled"), "{}", v2.change_note);
    assert_eq!(v2.content.as_ref().unwrap().capital_profile.len(), 3);
    let err = reprofile(
        &mut client,
        as_council(req("r5", "v1", vec![share(DecentHomes, 2_000_000_000)])),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
}

#[tokio::test]
async fn almo_plan_amend_proposes_a_target_change_for_the_other_party() {
    let (app, mut client) = app().await;
    let plan = create(&mut client).await;
    let addr = format!("http://{}", app.addr);
    let token = almo_testkit::token(LAMBETH_LIVING, Role::AlmoOfficer);
    let a = almo_delivery_plan::cli::propose_target_change(
        &Target::new(&addr, &token),
        &plan.plan_id,
        "LOCAL-RELET",
        "2026/27",
        35.0,
        "2026-12-01",
        "Voids contract re-let",
    )
    .await
    .unwrap();
    assert_eq!(a.proposed_by, pb::Party::Almo as i32);
    assert_eq!(a.base_version, 1);
    let relet = &a.content.unwrap().targets[1];
    assert_eq!(relet.yearly_targets[0].value, 35.0);
    assert_eq!(relet.yearly_targets[1].value, 28.0);
    let err = almo_delivery_plan::cli::propose_target_change(
        &Target::new(&addr, &token),
        &plan.plan_id,
        "LOCAL-NOPE",
        "2026",
        1.0,
        "2026-12-01",
        "x",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not a target"), "{err}");
}

#[tokio::test]
async fn milestones_are_judged_when_a_period_reaches_their_date_and_amendments_change_them() {
    use pb::RagStatus::*;
    let (_app, mut client) = app().await;
    let mut r = create_request("milestones");
    let c = r.content.as_mut().unwrap();
    // RP02: amber 0.5, red 1.5. LOCAL-DECENT (a count): amber 25, red 75.
    c.targets[0].milestones = vec![milestone("2026-06-30", 97.5), milestone("2027-06-30", 98.0)];
    c.targets[2].milestones = vec![milestone("2026-09-30", 500.0)];
    let plan = create_plan_with(&mut client, as_council(r)).await.unwrap();
    let held = &plan.content.as_ref().unwrap().targets[0].milestones;
    assert_eq!(
        held,
        &vec![milestone("2026-06-30", 97.5), milestone("2027-06-30", 98.0)]
    );

    let mut records = vec![
        rec("r1", "RP02", month(1), 97.6),
        rec("r3", "RP02", month(3), 96.5),
    ];
    for m in 1..=6 {
        records.push(rec(&format!("d{m}"), "LOCAL-DECENT", month(m), 70.0));
    }
    push(&mut client, &plan.plan_id, "push-m", records, 100)
        .await
        .unwrap();
    let status = status_of(&mut client, &plan.plan_id).await;
    assert_eq!(
        milestone_row(&status, "RP02"),
        vec![
            // June reaches 30 June: 96.5 is 1.0 short of 97.5, past amber, within red.
            ("2026-06-30".into(), 97.5, true, Some(3), 96.5, AtRisk),
            ("2027-06-30".into(), 98.0, false, None, 0.0, Unspecified),
        ]
    );
    // Counts are judged on the homes made decent since the plan began: 420 of 500.
    assert_eq!(
        milestone_row(&status, "LOCAL-DECENT"),
        vec![("2026-09-30".into(), 500.0, true, Some(6), 420.0, OffTrack)]
    );

    // The ALMO proposes a June milestone of 96.5 from 1 June; the council agrees.
    let mut content = plan.content.clone().unwrap();
    content.targets[0].milestones[0].value = 96.5;
    let request = pb::ProposeAmendmentRequest {
        request_id: "amend-m".into(),
        reason: "June milestone re-set after the repairs contractor changed".into(),
        ..amendment_request(&plan.plan_id, &plan.etag, "2026-06-01", content.clone())
    };
    let a = client
        .propose_amendment(as_almo(request))
        .await
        .unwrap()
        .into_inner()
        .amendment
        .unwrap();
    // Until the council agrees, June is still judged against 97.5.
    let before = status_of(&mut client, &plan.plan_id).await;
    assert_eq!(milestone_row(&before, "RP02")[0].5, AtRisk);
    client
        .agree_amendment(as_council(agree(&a.amendment_id, &a.etag, "agree-m")))
        .await
        .unwrap();
    let after = status_of(&mut client, &plan.plan_id).await;
    assert_eq!(
        milestone_row(&after, "RP02")[0],
        ("2026-06-30".into(), 96.5, true, Some(3), 96.5, OnTrack)
    );

    // A milestone outside the plan, undated, outside the unit or out of date order is refused
    // by its own field.
    content.targets[0].milestones = vec![
        milestone("2026-03-31", 97.0),
        milestone("30 June 2027", 97.0),
        milestone("2027-06-30", 101.0),
        milestone("2026-12-31", 97.0),
    ];
    content.targets[1].milestones = vec![milestone("2029-04-01", 30.0)];
    let request = pb::ProposeAmendmentRequest {
        request_id: "amend-m-bad".into(),
        reason: "Bad milestones".into(),
        ..amendment_request(&plan.plan_id, "v2", "2026-07-01", content)
    };
    let err = client
        .propose_amendment(as_council(request))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        vec![
            "content.targets[0].milestones[0].date",
            "content.targets[0].milestones[1].date",
            "content.targets[0].milestones[2].value",
            "content.targets[0].milestones[3].date",
            "content.targets[1].milestones[0].date",
        ]
    );
}

#[tokio::test]
async fn pi_targets_name_an_indicator_defined_for_the_plans_years_and_take_its_unit_and_direction()
{
    let (_app, mut client) = app().await;
    let refused = |code: &str, unit: pb::Unit, direction: pb::Direction| {
        // A request id carries no white space (the input contract); some codes do.
        let request_id = format!("pi-{code}-{unit:?}-{direction:?}").replace(' ', "-");
        let mut r = create_request(&request_id);
        let t = &mut r.content.as_mut().unwrap().targets[0];
        t.code = code.into();
        t.unit = unit as i32;
        t.direction = direction as i32;
        r
    };
    use pb::{Direction::*, Unit::*};
    for (code, unit, direction, fields) in [
        // Not an indicator at all, or not one the catalogue defines for 2026/27 to 2028/29.
        (
            "BV66a",
            Percent,
            HigherIsBetter,
            vec!["content.targets[0].code"],
        ),
        (
            "BVPI 66a",
            Percent,
            HigherIsBetter,
            vec!["content.targets[0].code"],
        ),
        // A context measure is not ranked, so it cannot be a target.
        (
            "CH01",
            Ratio,
            HigherIsBetter,
            vec!["content.targets[0].code"],
        ),
        // RP02 is a percentage, higher is better.
        (
            "RP02",
            Percent,
            LowerIsBetter,
            vec!["content.targets[0].direction"],
        ),
        (
            "RP02",
            Days,
            LowerIsBetter,
            vec!["content.targets[0].direction", "content.targets[0].unit"],
        ),
    ] {
        let err = create_plan_with(&mut client, as_council(refused(code, unit, direction)))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&err), fields, "{code} {unit:?} {direction:?}");
    }
    let err = create_plan_with(
        &mut client,
        as_council(refused("BVPI 66a", Percent, HigherIsBetter)),
    )
    .await
    .unwrap_err();
    let why = err
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations[0]
        .description
        .clone();
    assert!(why.contains("2026/27"), "{why}");

    // Left unspecified, the unit and direction come from the catalogue; a local measure keeps
    // its own.
    let plan = create_plan_with(
        &mut client,
        as_council(refused(
            "RP02",
            pb::Unit::Unspecified,
            pb::Direction::Unspecified,
        )),
    )
    .await
    .unwrap();
    let targets = &plan.content.as_ref().unwrap().targets;
    assert_eq!(
        (targets[0].unit(), targets[0].direction()),
        (Percent, HigherIsBetter)
    );
    assert_eq!(
        (
            targets[1].code.as_str(),
            targets[1].unit(),
            targets[1].direction()
        ),
        ("LOCAL-RELET", Days, LowerIsBetter)
    );

    // An amendment is held to the catalogue too, and a local measure may not take a PI code.
    let mut content = plan.content.clone().unwrap();
    content.targets[0].code = "BV212".into();
    content.targets[1].code = "TP02".into();
    let request = pb::ProposeAmendmentRequest {
        request_id: "amend-pi".into(),
        reason: "Swap the measure".into(),
        ..amendment_request(&plan.plan_id, &plan.etag, "2026-07-01", content)
    };
    let err = client
        .propose_amendment(as_council(request))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        vec!["content.targets[0].code", "content.targets[1].kind"]
    );
}

#[tokio::test]
async fn the_documented_plan_file_creates_a_plan_with_pi_units_from_the_catalogue() {
    let (_app, mut client) = app().await;
    let request =
        almo_delivery_plan::plan_file::create_request(include_str!("../docs/plan.example.json"))
            .unwrap();
    let plan = create_plan_with(&mut client, as_council(request))
        .await
        .unwrap();
    assert_eq!(plan.plan_id, "LAMBETH-LIVING-2029-2033");
    let tp01 = &plan.content.as_ref().unwrap().targets[0];
    assert_eq!(
        (tp01.unit(), tp01.direction()),
        (pb::Unit::Percent, pb::Direction::HigherIsBetter)
    );
    assert_eq!(tp01.milestones, vec![milestone("2031-09-30", 73.0)]);
}

#[tokio::test]
async fn almo_plan_agree_and_reject_decide_the_other_partys_amendment() {
    use almo_delivery_plan::cli::{DecideArgs, Decision, decide_amendment, list_amendments};
    let (app, mut client) = app().await;
    let plan = create(&mut client).await;
    let addr = format!("http://{}", app.addr);
    let almo = almo_testkit::token(LAMBETH_LIVING, Role::AlmoOfficer);
    let council = almo_testkit::token(LAMBETH, Role::CouncilOfficer);
    let as_almo_officer = Target::new(&addr, &almo);
    let propose = |value: f64| {
        almo_delivery_plan::cli::propose_target_change(
            &as_almo_officer,
            &plan.plan_id,
            "LOCAL-RELET",
            "2026/27",
            value,
            "2026-12-01",
            "Voids contract re-let",
        )
    };
    let first = propose(35.0).await.unwrap();
    let args = |amendment: &str, note: &str, token: &str| DecideArgs {
        plan: plan.plan_id.clone(),
        amendment: amendment.to_string(),
        note: note.to_string(),
        etag: None,
        request_id: None,
        target: Target::new(addr.clone(), token),
    };

    // The council sees it waiting, and agrees: version 2 is in force.
    let listed = list_amendments(&Target::new(&addr, &council), &plan.plan_id)
        .await
        .unwrap();
    let text = almo_delivery_plan::cli::render_amendments(&listed);
    assert!(
        text.contains(&first.amendment_id) && text.contains("proposed"),
        "{text}"
    );
    // The proposer cannot agree its own amendment.
    let err = decide_amendment(Decision::Agree, &args(&first.amendment_id, "", &almo))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("PermissionDenied")
            || err.to_string().contains("FailedPrecondition"),
        "{err}"
    );
    let agreed = decide_amendment(
        Decision::Agree,
        &args(&first.amendment_id, "Fine", &council),
    )
    .await
    .unwrap();
    assert_eq!(agreed.state, pb::AmendmentState::Agreed as i32);
    assert_eq!(agreed.resulting_version, 2);
    // Agreeing again under a new request id is a new decision, refused: it is agreed already.
    let mut again = args(&first.amendment_id, "Fine", &council);
    again.request_id = Some("agree-once".into());
    again.etag = Some(first.etag.clone());
    let err = decide_amendment(Decision::Agree, &again).await.unwrap_err();
    assert!(
        err.to_string().contains("FailedPrecondition") || err.to_string().contains("Aborted"),
        "a new request id is a new decision: {err}"
    );

    // A rejection needs a reason, named as the field; with one it is recorded.
    let second = propose(20.0).await.unwrap();
    let err = decide_amendment(Decision::Reject, &args(&second.amendment_id, "", &council))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("InvalidArgument") && err.to_string().contains("note"),
        "{err}"
    );
    let rejected = decide_amendment(
        Decision::Reject,
        &args(&second.amendment_id, "Below the agreed floor", &council),
    )
    .await
    .unwrap();
    assert_eq!(rejected.state, pb::AmendmentState::Rejected as i32);

    // The proposer withdraws a third; a retry with the same request id replays, not fails.
    let third = propose(30.0).await.unwrap();
    let mut withdraw = args(&third.amendment_id, "Superseded", &almo);
    withdraw.request_id = Some("withdraw-once".into());
    let withdrawn = decide_amendment(Decision::Withdraw, &withdraw)
        .await
        .unwrap();
    assert_eq!(withdrawn.state, pb::AmendmentState::Withdrawn as i32);
    withdraw.etag = Some(third.etag.clone());
    let again = decide_amendment(Decision::Withdraw, &withdraw)
        .await
        .unwrap();
    assert_eq!(again.etag, withdrawn.etag);

    let text = almo_delivery_plan::cli::render_amendments(
        &list_amendments(&Target::new(&addr, &council), &plan.plan_id)
            .await
            .unwrap(),
    );
    assert!(text.contains("agreed (version 2)"), "{text}");
    assert!(text.contains("Below the agreed floor"), "{text}");
    assert!(text.contains("withdrawn"), "{text}");
    let err = decide_amendment(Decision::Agree, &args("NO-SUCH", "", &council))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("has no amendment NO-SUCH"),
        "{err}"
    );
}

/// DOMAIN.md §1: an actual is reported for a period that has ended. On 30 November 2026 October
/// (M7) is over and November (M8) is not, nor Q3, nor anything of 2027/28: each way an actual
/// comes in refuses those, naming the period, and keeps the rest.
#[tokio::test]
async fn an_actual_for_a_period_not_yet_ended_is_refused_naming_the_period() {
    let (app, mut client) = app_on("2026-11-30").await;
    let plan = create(&mut client).await;

    // RecordVariance: the call is refused, on the record's period.
    let err = client
        .record_variance(as_council(pb::RecordVarianceRequest {
            request_id: "nov".into(),
            plan_id: plan.plan_id.clone(),
            record: Some(rec("LBH-M08", "RP02", month(8), 97.2)),
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["record.period"]);
    let details = err.get_error_details();
    let violation = &details.bad_request().unwrap().field_violations[0];
    assert!(
        violation
            .description
            .starts_with("2026/27 M8 has not ended: it runs to 2026-11-30"),
        "{violation:?}"
    );
    let oct = record(
        &mut client,
        &plan.plan_id,
        "oct",
        rec("LBH-M07", "RP02", month(7), 97.2),
    )
    .await;
    assert_eq!(oct.outcome, pb::RecordOutcome::Accepted as i32);

    // PushVariances: each future record refused by index and sender id, the rest recorded.
    let pushed = push(
        &mut client,
        &plan.plan_id,
        "push",
        vec![
            rec("LBH-M06", "RP02", month(6), 97.4),
            rec("LBH-Q3", "RP02", quarter(3), 97.4),
            rec("LBH-2027-M01", "RP02", month_in(2027, 1), 97.4),
            rec("LBH-Q2", "LOCAL-RELET", quarter(2), 29.0),
        ],
        2,
    )
    .await
    .unwrap();
    assert_eq!((pushed.accepted, pushed.refused), (2, 2));
    let refused: Vec<(i32, &str, &str)> = pushed
        .refusals
        .iter()
        .map(|r| (r.index, r.sender_record_id.as_str(), r.field.as_str()))
        .collect();
    assert_eq!(
        refused,
        vec![(1, "LBH-Q3", "period"), (2, "LBH-2027-M01", "period")]
    );
    assert!(
        pushed.refusals[0]
            .reason
            .starts_with("2026/27 Q3 has not ended: it runs to 2026-12-31"),
        "{:?}",
        pushed.refusals[0]
    );
    assert!(
        pushed.refusals[1]
            .reason
            .starts_with("2027/28 M1 has not ended: it runs to 2027-04-30"),
        "{:?}",
        pushed.refusals[1]
    );
    // Nothing was kept of a refused record.
    let history = client
        .list_variance_history(as_council(pb::ListVarianceHistoryRequest {
            plan_id: plan.plan_id.clone(),
            sender_record_id: "LBH-Q3".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(history.variances.is_empty());

    // The CLI push: the server's refusal comes back on the CSV line that carried it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("variances.csv");
    std::fs::write(
        &path,
        format!(
            "{}\nCSV-M05,RP02,2026/27,M5,97.1,97.5,\nCSV-M09,RP02,2026/27,M9,97.1,97.5,\"too soon\"\n",
            almo_delivery_plan::cli::HEADER
        ),
    )
    .unwrap();
    let token = almo_testkit::token(LAMBETH, Role::CouncilOfficer);
    let addr = format!("http://{}", app.addr);
    let csv = almo_delivery_plan::cli::push_file(
        &Target::new(&addr, &token),
        &plan.plan_id,
        &path,
        100,
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(csv.response.accepted, 1);
    assert_eq!(csv.refused.len(), 1);
    let (line, id, field, reason) = &csv.refused[0];
    assert_eq!(
        (*line, id.as_str(), field.as_str()),
        (3, "CSV-M09", "period")
    );
    assert!(
        reason.starts_with("2026/27 M9 has not ended: it runs to 2026-12-31"),
        "{reason}"
    );

    // What was recorded is only what had ended.
    let status = status_by(&mut client, &plan.plan_id, ALMO).await;
    let rp02: Vec<i32> = target_in(&status, "RP02")
        .periods
        .iter()
        .map(|p| p.period.as_ref().unwrap().number)
        .collect();
    assert_eq!(rp02, vec![5, 6, 7], "M5 to M7, none after");
    assert_eq!(target_in(&status, "LOCAL-RELET").periods.len(), 1, "Q2");
}

/// An open exception stays one exception and keeps counting: after three off-track months it
/// says "3 periods, M1 to M3", after four "4, M1 to M4" (the ALMO's report in between does not
/// stop the count); a month back on track ends the run and the exception keeps what it reached.
#[tokio::test]
async fn an_open_exception_counts_every_period_it_has_run() {
    let (_app, mut client) = app().await;
    let plan = create(&mut client).await;
    let off = |m: i32| rec(&format!("RP02-M{m:02}"), "RP02", month(m), 95.0);
    let exceptions = async |client: &mut Client| {
        client
            .list_exceptions(as_almo(pb::ListExceptionsRequest {
                plan_id: plan.plan_id.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .exceptions
    };
    record(&mut client, &plan.plan_id, "m1", off(1)).await;
    let raised = record(&mut client, &plan.plan_id, "m2", off(2)).await;
    assert_eq!(raised.exceptions_raised.len(), 1);
    let e = &raised.exceptions_raised[0];
    assert_eq!(
        (e.consecutive_periods, e.first_period, e.last_period),
        (2, month(1), month(2))
    );

    let third = record(&mut client, &plan.plan_id, "m3", off(3)).await;
    assert!(third.exceptions_raised.is_empty(), "still one exception");
    let listed = exceptions(&mut client).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].exception_id, e.exception_id);
    assert_eq!(
        (
            listed[0].consecutive_periods,
            listed[0].first_period,
            listed[0].last_period
        ),
        (3, month(1), month(3))
    );

    // The ALMO reports; the run goes on and the exception, answered, keeps counting.
    let answered = submit_report(
        &mut client,
        as_almo(pb::SubmitExceptionReportRequest {
            request_id: "report".into(),
            exception_id: e.exception_id.clone(),
            etag: listed[0].etag.clone(),
            cause: "Universal credit migration delayed payments".into(),
            recovery_action: "Two more income officers from January".into(),
            recovery_date: "2099-06-30".into(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(answered.state, pb::ExceptionState::Answered as i32);
    let pushed = push(&mut client, &plan.plan_id, "m4", vec![off(4)], 1)
        .await
        .unwrap();
    assert!(pushed.exceptions_raised.is_empty());
    let status = status_by(&mut client, &plan.plan_id, COUNCIL).await;
    assert_eq!(status.open_exceptions.len(), 1);
    let open = &status.open_exceptions[0];
    assert_eq!(
        (
            open.exception_id.as_str(),
            open.consecutive_periods,
            open.first_period,
            open.last_period,
            open.state
        ),
        (
            e.exception_id.as_str(),
            4,
            month(1),
            month(4),
            pb::ExceptionState::Answered as i32
        )
    );
    assert_eq!(
        open.etag, answered.etag,
        "the council decides on the report it read"
    );

    // Back on track in M5: the run is over; the exception says what it reached.
    record(
        &mut client,
        &plan.plan_id,
        "m5",
        rec("RP02-M05", "RP02", month(5), 97.5),
    )
    .await;
    let after = exceptions(&mut client).await;
    assert_eq!(after.len(), 1);
    assert_eq!(
        (after[0].consecutive_periods, after[0].last_period),
        (4, month(4))
    );
}
