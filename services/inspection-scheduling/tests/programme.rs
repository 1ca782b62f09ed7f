//! A quarter's programme: bookings pinned, ALMOs placed in weeks that keep every hard rule or
//! named with the rule that stops them, and the re-plan when an inspector drops out.

mod common;

use almo_auth::Role;
use almo_proto::inspection::{self as pb, ListInspectionsRequest};
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

#[tokio::test]
async fn programme_for_a_quarter_pins_bookings_and_proposes_bookable_weeks() {
    use almo_proto::common::{FinancialYear, Period, PeriodKind};

    let (_app, mut client) = app().await;
    let booked = book_leeds_ene(&mut client).await;
    declare_leeds_wnw(&mut client).await;
    let request = programme_2007_q3(&[LEEDS_ENE, LEEDS_WNW, LAMBETH_LIVING], 42, 50, "");
    let prog = client
        .propose_programme(ins(request.clone()))
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
        .propose_programme(ins(request.clone()))
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
        .book_inspection(ins(booking(
            "book-proposed",
            LEEDS_WNW,
            &placed.on_site_start_date,
            &team,
        )))
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
    let err = client.propose_programme(ins(bad)).await.unwrap_err();
    assert_eq!(
        bad_fields(&err),
        vec!["quarter.kind", "time_budget_ms", "almo_ids"]
    );
}

#[tokio::test]
async fn replanning_after_a_drop_out_swaps_one_member_and_keeps_the_week() {
    let (_app, mut client) = app().await;
    book_leeds_ene(&mut client).await;
    let request = |dropped: &str| programme_2007_q3(&[LEEDS_ENE], 1, 20, dropped);
    let prog = client
        .propose_programme(ins(request("INSP-KOWALSKI")))
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
        .propose_programme(ins(request("INSP-MORGAN")))
        .await
        .unwrap()
        .into_inner();
    assert!(prog.assignments[0].pinned && !prog.assignments[0].changed);
    let err = client
        .propose_programme(ins(request("NOBODY")))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["dropped_inspector_id"]);
}

#[tokio::test]
async fn replan_after_a_drop_out_is_applied_so_no_booking_names_the_dropped_inspector() {
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
        .propose_programme(ins(programme_2007_q3(
            &[LEEDS_ENE, LEEDS_WNW],
            7,
            20,
            "INSP-KOWALSKI",
        )))
        .await
        .unwrap()
        .into_inner();
    let changed: Vec<&pb::ProgrammeAssignment> =
        prog.assignments.iter().filter(|a| a.changed).collect();
    assert_eq!(changed.len(), 2, "{prog:?}");

    // Apply it: one replacement in the same week, otherwise a move with the proposed team.
    for (n, a) in changed.iter().enumerate() {
        let current = client
            .list_inspections(ins(inspections_of(&a.almo_id, &[])))
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

#[tokio::test]
async fn cancelled_inspection_is_not_pinned_in_a_programme() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let request = programme_2007_q3(&[LEEDS_ENE], 42, 20, "");
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
