//! After an ALMO's end (its last day, DOMAIN.md "An ALMO's life"), it declares no readiness and no
//! inspection of it goes on site: both refused as ALMO_ENDED, naming the end date.

use almo_auth::Role;
use almo_proto::inspection as pb;
use almo_testkit::authed;
use almo_testkit::demo::*;
use tonic::Code;

mod common;

use almo_testkit::end_almo;
use common::*;

#[tokio::test]
async fn an_ended_almo_declares_no_readiness() {
    let (app, mut c) = app().await;
    end_almo(&app.db, LEEDS_ENE, "2020-03-31").await;
    let err = c
        .declare_readiness(authed(
            leeds_ene_readiness("ready-1", ""),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(
        err.message().contains("ended on 2020-03-31"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn an_on_site_date_after_the_almos_end_is_refused() {
    let (app, mut c) = app().await;
    let booked = book_leeds_ene(&mut c).await;
    // Booked for the week of 22 October 2007; then the council took management back on the 19th.
    end_almo(&app.db, LEEDS_ENE, "2007-10-19").await;
    on_site_refused_as_almo_ended(
        &mut c,
        &booked.inspection_id,
        "2007-10-22",
        &booked.etag,
        "2007-10-19",
    )
    .await;
    assert!(
        get(&mut c, &booked.inspection_id)
            .await
            .stages
            .iter()
            .all(|s| s.actual_date.is_empty())
    );
}

#[tokio::test]
async fn a_booking_for_a_week_after_the_end_is_cancelled_as_almo_ended_and_kept() {
    let (app, mut c) = app().await;
    let booked = book_leeds_ene(&mut c).await;
    // The directory records the end (the ALMO's last day, 19 October 2007) and its event.
    end_almo(&app.db, LEEDS_ENE, "2007-10-19").await;
    let txn = app.db.begin_write().await.unwrap();
    almo_db::lifecycle::append(
        &txn,
        LEEDS_ENE,
        Some(LEEDS),
        almo_db::lifecycle::kind::END_DATE_SET,
        &almo_db::lifecycle::end_date_payload(Some("2007-10-19".parse().unwrap()), None),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    // The consumer runs in the background of the server; run it here too: it applies each event
    // once, whoever gets there first.
    almo_inspection_scheduling::lifecycle::consume(&app.db)
        .await
        .unwrap();
    let after = get(&mut c, &booked.inspection_id).await;
    assert_eq!(after.status, pb::InspectionStatus::Cancelled as i32);
    let cancellation = after.cancellation.unwrap();
    assert!(
        cancellation
            .reason
            .starts_with("ALMO_ENDED: the ALMO ended on 2007-10-19"),
        "{}",
        cancellation.reason
    );
    assert_eq!(cancellation.cancelled_by_organisation_id, LEEDS);
    // Kept, and listed among the ALMO's cancelled inspections.
    let listed = c
        .list_inspections(ins(inspections_of(
            LEEDS_ENE,
            &[pb::InspectionStatus::Cancelled],
        )))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(listed), [booked.inspection_id]);
}
