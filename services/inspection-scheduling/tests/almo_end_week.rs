//! The end date is the ALMO's last day (DOMAIN.md "An ALMO's life"), and a week on site runs
//! Monday to Friday: the week whose Friday is the last day, or an earlier one, is the ALMO's —
//! bookable, and kept when the end is recorded; a week the last day falls inside before its
//! Friday is not — refused at booking, and cancelled as ALMO_ENDED when it was booked before the
//! end was known.

use almo_proto::inspection as pb;
use almo_testkit::demo::*;
use almo_testkit::{TestApp, end_almo};
use tonic::Code;

mod common;

use common::*;

/// The directory's record of Leeds ENE's end: the date and its event, then the consumer's look
/// (it runs in the server's background too; it applies each event once, whoever gets there
/// first).
async fn end_leeds_ene(app: &TestApp, end: &str) {
    end_almo(&app.db, LEEDS_ENE, end).await;
    let txn = app.db.begin_write().await.unwrap();
    almo_db::lifecycle::append(
        &txn,
        LEEDS_ENE,
        Some(LEEDS),
        almo_db::lifecycle::kind::END_DATE_SET,
        &almo_db::lifecycle::end_date_payload(Some(end.parse().unwrap()), None),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    almo_inspection_scheduling::lifecycle::consume(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_booking_for_the_week_whose_friday_is_the_last_day_stands() {
    let (app, mut c) = app().await;
    // Booked for Monday 22 to Friday 26 October 2007; the ALMO's last day is that Friday.
    let booked = book_leeds_ene(&mut c).await;
    end_leeds_ene(&app, "2007-10-26").await;
    let after = get(&mut c, &booked.inspection_id).await;
    assert_eq!(after.status, pb::InspectionStatus::Booked as i32);
    assert_eq!(after.etag, booked.etag);
    // The team arrives on the Monday, inside the ALMO's life.
    let on_site = c
        .record_stage_date(ins(stage_date(
            "on-site",
            &booked.inspection_id,
            pb::Stage::OnSite,
            "2007-10-22",
            &booked.etag,
        )))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(on_site.stage, pb::Stage::OnSite as i32);
}

#[tokio::test]
async fn a_booking_for_a_week_the_end_falls_inside_is_cancelled_as_almo_ended() {
    let (app, mut c) = app().await;
    let booked = book_leeds_ene(&mut c).await;
    // The last day is Wednesday 24 October, the booked week's middle.
    end_leeds_ene(&app, "2007-10-24").await;
    let after = get(&mut c, &booked.inspection_id).await;
    assert_eq!(after.status, pb::InspectionStatus::Cancelled as i32);
    let reason_given = after.cancellation.unwrap().reason;
    assert!(
        reason_given.starts_with("ALMO_ENDED: the ALMO ended on 2007-10-24"),
        "{reason_given}"
    );
    // Recording its team on site is refused as the ALMO's end, naming it.
    on_site_refused_as_almo_ended(
        &mut c,
        &booked.inspection_id,
        "2007-10-22",
        &after.etag,
        "2007-10-24",
    )
    .await;
}

#[tokio::test]
async fn a_week_is_bookable_when_it_ends_on_or_before_the_last_day() {
    let (app, mut c) = app().await;
    declare_leeds_ene(&mut c).await;
    // Known in advance: the ALMO's last day is Thursday 25 October 2007.
    end_almo(&app.db, LEEDS_ENE, "2007-10-25").await;
    let err = c
        .book_inspection(ins(booking("late", LEEDS_ENE, "2007-10-22", LEEDS_TEAM)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(err.message().contains("2007-10-25"), "{}", err.message());
    // Were the last day Friday 2 November, the week from Monday 29 October would be the ALMO's.
    end_almo(&app.db, LEEDS_ENE, "2007-11-02").await;
    let booked = book(&mut c, "fits", LEEDS_ENE, "2007-10-29", LEEDS_TEAM).await;
    assert_eq!(booked.status, pb::InspectionStatus::Booked as i32);
}
