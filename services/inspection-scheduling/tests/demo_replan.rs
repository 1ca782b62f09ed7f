//! The demo data's re-plan walk-through (README, "A re-plan after a drop-out"), through the API:
//! Lambeth Living booked in 2009/10 Q4 with Anita Patel, the only lead not away that quarter;
//! the re-plan without her names each week's true reason and the booking it would cancel.

mod common;

use almo_inspection_scheduling::demo::{REPLAN_LEAD, REPLAN_QUARTER, REPLAN_YEAR};
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::inspection::ProposeProgrammeRequest;
use almo_testkit::demo::*;
use common::*;

#[tokio::test]
async fn demo_replan_names_the_missing_lead_each_week_and_the_booking_it_cancels() {
    let (_app, mut client) = app().await;
    let booked = book(
        &mut client,
        "demo-replan-book",
        LAMBETH_LIVING,
        "2010-01-18",
        &[REPLAN_LEAD, "INSP-BRENNAN", "INSP-WALSH", "TIA-FERREIRA"],
    )
    .await;
    assert_eq!(booked.inspection_id, "LAMBETH-LIVING-2010-01-18");
    let prog = client
        .propose_programme(ins(ProposeProgrammeRequest {
            quarter: Some(Period {
                year: Some(FinancialYear {
                    start_year: REPLAN_YEAR,
                }),
                kind: PeriodKind::Quarter as i32,
                number: REPLAN_QUARTER,
            }),
            almo_ids: vec![LAMBETH_LIVING.into()],
            seed: 1,
            dropped_inspector_id: REPLAN_LEAD.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(prog.assignments.is_empty(), "{prog:?}");
    assert_eq!(prog.unscheduled.len(), 1, "{prog:?}");
    let u = &prog.unscheduled[0];
    assert_eq!(u.almo_id, LAMBETH_LIVING);
    // Every Monday from 4 January to 29 March 2010, each ruled out by the missing lead.
    assert_eq!(u.weeks.len(), 13, "{u:?}");
    assert_eq!(u.weeks[0].on_site_start_date, "2010-01-04");
    assert_eq!(u.weeks[12].on_site_start_date, "2010-03-29");
    for w in &u.weeks {
        assert!(
            w.broken_rules.iter().any(|b| b.code == "ONE_LEAD_INSPECTOR"
                && b.description == "no lead inspector available"),
            "{w:?}"
        );
    }
    assert_eq!(u.broken_rules.len(), 1, "{u:?}");
    assert_eq!(u.broken_rules[0].code, "ONE_LEAD_INSPECTOR");
    // The booking the proposal would cancel.
    assert_eq!(prog.cancelled_bookings.len(), 1, "{prog:?}");
    let c = &prog.cancelled_bookings[0];
    assert_eq!(c.inspection_id, booked.inspection_id);
    assert_eq!(c.almo_id, LAMBETH_LIVING);
    assert_eq!(c.on_site_start_date, "2010-01-18");
    assert_eq!(
        c.reason,
        "LAMBETH-LIVING cannot be placed again in the quarter without LEAD-PATEL: no week has a \
         team that keeps every rule"
    );
}
