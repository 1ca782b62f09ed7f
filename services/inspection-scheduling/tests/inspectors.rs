//! The inspectorate's staff: created, made unavailable (never over a week they are booked), and
//! credited only with the authorities they really inspected.

mod common;

use almo_auth::Role;
use almo_proto::inspection::{self as pb, CreateInspectorRequest, ListInspectorsRequest};
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

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
        .create_inspector(ins(tia("c0", "")))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["tenant_of_organisation_id"]);
    let err = client
        .create_inspector(authed(tia("c1", "E08000003"), LEEDS, Role::CouncilOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let created = client
        .create_inspector(ins(tia("c2", "E08000003")))
        .await
        .unwrap()
        .into_inner()
        .inspector
        .unwrap();
    assert_eq!(created.region, "North West");
    assert_eq!(created.etag, "v1");
    let err = client
        .create_inspector(ins(tia("c3", "E08000003")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);

    let leave = |rid: &str, etag: &str| leave(rid, "TIA-NEW", "2007-10-22", "2007-10-26", etag);
    let updated = client
        .record_unavailability(ins(leave("u1", "v1")))
        .await
        .unwrap()
        .into_inner()
        .inspector
        .unwrap();
    assert_eq!(updated.unavailability.len(), 1);
    assert_eq!(updated.etag, "v2");
    let err = client
        .record_unavailability(ins(leave("u2", "v1")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    let page = client
        .list_inspectors(ins(ListInspectorsRequest {
            role: pb::InspectorRole::Tia as i32,
            page_size: 2,
            page_token: String::new(),
        }))
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
async fn unavailability_over_a_booked_week_is_refused_naming_the_booking() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let err = client
        .record_unavailability(ins(leave(
            "u-1",
            "INSP-KOWALSKI",
            "2007-10-24",
            "2007-10-25",
            "v1",
        )))
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
        .record_unavailability(ins(leave(
            "u-2",
            "INSP-KOWALSKI",
            "2007-10-29",
            "2007-11-02",
            "v1",
        )))
        .await
        .unwrap()
        .into_inner()
        .inspector
        .unwrap();
    assert_eq!(ok.etag, "v2");
    assert_eq!(ok.unavailability.len(), 1);
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
