//! The programme search through the API: what stops it and says so, the lower bound and the gap
//! beside the score, and a re-plan that cannot keep an ALMO giving each week's true reason and
//! the booking it would cancel.

mod common;

use almo_proto::inspection as pb;
use almo_testkit::demo::*;
use common::*;

#[tokio::test]
async fn programme_search_says_what_stopped_it_and_reports_its_bound_and_gap() {
    let (_app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    declare_leeds_wnw(&mut client).await;
    // No step limit: the search stops when 300 steps in a row find nothing better.
    let mut request = programme_2007_q3(&[LEEDS_ENE, LEEDS_WNW], 5, 0, "");
    request.max_steps_without_improvement = 300;
    let prog = client
        .propose_programme(ins(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(prog.stop_reason, pb::StopReason::NoImprovement as i32);
    assert!(prog.steps >= 300, "{}", prog.steps);
    assert_eq!(prog.assignments.len(), 2);
    assert!(prog.lower_bound <= prog.soft_total, "{prog:?}");
    let gap = if prog.soft_total == 0 {
        0.0
    } else {
        100.0 * f64::from(prog.soft_total - prog.lower_bound) / f64::from(prog.soft_total)
    };
    assert!((prog.gap_percent - gap).abs() < 1e-9);
    assert!(prog.cancelled_bookings.is_empty());
    // Stopped by steps, the same seed gives the same programme.
    let again = client
        .propose_programme(ins(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.assignments, prog.assignments);
    assert_eq!(again.steps, prog.steps);

    // A step limit reached first says so.
    let mut limited = request.clone();
    limited.max_steps = 7;
    let prog = client
        .propose_programme(ins(limited))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(prog.stop_reason, pb::StopReason::StepLimit as i32);
    assert_eq!(prog.steps, 7);

    let mut bad = request;
    bad.max_steps_without_improvement = -1;
    bad.max_steps = -3;
    let err = client.propose_programme(ins(bad)).await.unwrap_err();
    assert_eq!(
        bad_fields(&err),
        vec!["max_steps", "max_steps_without_improvement"]
    );
}

#[tokio::test]
async fn replan_that_cannot_keep_an_almo_names_each_weeks_reason_and_the_booking_it_cancels() {
    let (_app, mut client) = app().await;
    let booked = book_leeds_ene(&mut client).await;
    // Every other inspector away all quarter: without Kowalski, Walsh is the only one left.
    for (n, who) in ["INSP-BRENNAN", "INSP-ADEYEMI", "INSP-MORGAN", "INSP-SINGH"]
        .iter()
        .enumerate()
    {
        client
            .record_unavailability(ins(leave(
                &format!("away-{n}"),
                who,
                "2007-09-24",
                "2008-01-04",
                "v1",
            )))
            .await
            .unwrap();
    }
    let prog = client
        .propose_programme(ins(programme_2007_q3(&[LEEDS_ENE], 3, 50, "INSP-KOWALSKI")))
        .await
        .unwrap()
        .into_inner();
    assert!(prog.assignments.is_empty(), "{prog:?}");
    assert_eq!(prog.unscheduled.len(), 1);
    let u = &prog.unscheduled[0];
    assert_eq!(u.almo_id, LEEDS_ENE);
    // Every Monday from 1 October to 31 December 2007, each ruled out by the team size: three
    // inspectors needed, the lead and Walsh free.
    assert_eq!(u.weeks.len(), 14, "{u:?}");
    assert_eq!(u.weeks[0].on_site_start_date, "2007-10-01");
    assert_eq!(u.weeks[13].on_site_start_date, "2007-12-31");
    for w in &u.weeks {
        assert!(
            w.broken_rules.iter().any(|b| b.code == "TEAM_SIZE"
                && b.description == "not enough inspectors available (3 needed, 2 free)"),
            "{w:?}"
        );
    }
    assert!(u.broken_rules.iter().any(|b| b.code == "TEAM_SIZE"));
    // The booking the proposal would cancel.
    assert_eq!(prog.cancelled_bookings.len(), 1);
    let c = &prog.cancelled_bookings[0];
    assert_eq!(c.inspection_id, booked.inspection_id);
    assert_eq!(c.almo_id, LEEDS_ENE);
    assert_eq!(c.on_site_start_date, "2007-10-22");
    assert!(c.reason.contains("INSP-KOWALSKI"), "{}", c.reason);
}
