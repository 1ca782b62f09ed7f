//! Cancellations: a cancelled inspection is kept, with who cancelled it, when and why; it holds no
//! inspector's week, counts for no rule and cannot be changed.

mod common;

use almo_auth::Role;
use almo_proto::inspection::{self as pb};
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

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
        .get_inspection(authed(inspection(&id), LEEDS_ENE, Role::AlmoOfficer))
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
        .record_stage_date(ins(stage_date(
            "s-1",
            &id,
            pb::Stage::OnSite,
            "2007-10-22",
            &etag,
        )))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_CANCELLED");
    let err = client
        .record_outcome(ins(outcome(
            "o-1",
            &id,
            (2, pb::Prospects::Promising),
            "2008-01-07",
            &etag,
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "INSPECTION_CANCELLED");
    // Nothing changed.
    assert_eq!(get(&mut client, &id).await, cancelled);
}
