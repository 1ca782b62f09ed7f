//! An inspection's stages recorded in order, its outcome, and the Decent Homes funding eligibility
//! that follows (003 §113–§118).

mod common;

use almo_auth::Role;
use almo_inspection_scheduling::demo::LAMBETH_INSPECTION;
use almo_proto::inspection::{self as pb};
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

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

    let id = booked.inspection_id.as_str();
    let stage = |rid: &str, stage: pb::Stage, date: &str, etag: &str| {
        ins(stage_date(rid, id, stage, date, etag))
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
    let scored_as = |rid: &str, stars: i32, etag: &str| {
        ins(outcome(
            rid,
            id,
            (stars, pb::Prospects::Uncertain),
            "2007-12-20",
            etag,
        ))
    };
    let err = client
        .record_outcome(scored_as("o0", 4, "v4"))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["stars"]);
    let err = client
        .record_outcome(authed(
            outcome(
                "o-council",
                id,
                (3, pb::Prospects::Excellent),
                "2007-12-20",
                "v4",
            ),
            LEEDS,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let scored = client
        .record_outcome(scored_as("o1", 1, "v4"))
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
        .find_slots(ins(slots(LEEDS_ENE, "2008-07-14", "2008-08-31", 1)))
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
async fn demo_outcomes_give_funding_eligibility_and_reinspection_date() {
    let (_app, mut client) = app().await;
    let lambeth = client
        .get_funding_eligibility(authed(
            eligibility_of(LAMBETH_LIVING),
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
            eligibility_of(HOMES_FOR_HARINGEY),
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
            eligibility_of(LEEDS_ENE),
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
