//! Reading inspections: each caller sees only what it may, cancelled ones only when asked, and
//! the demo data loads the same twice.

mod common;

use almo_auth::Role;
use almo_inspection_scheduling::demo::{HARINGEY_INSPECTION, LAMBETH_INSPECTION};
use almo_proto::inspection::{self as pb, ListInspectionsRequest};
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

#[tokio::test]
async fn each_sees_only_the_inspections_it_may() {
    let (_app, mut client) = app().await;
    let list = |org: &str, role: Role, almo: &str| authed(inspections_of(almo, &[]), org, role);
    let own = client
        .list_inspections(list(LAMBETH_LIVING, Role::AlmoOfficer, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(own), vec![LAMBETH_INSPECTION]);
    let council = client
        .list_inspections(list(HARINGEY, Role::CouncilOfficer, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(council), vec![HARINGEY_INSPECTION]);
    let regulator = client
        .list_inspections(list(REGULATOR, Role::Regulator, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ids(regulator),
        vec![HARINGEY_INSPECTION, LAMBETH_INSPECTION]
    );
    let err = client
        .list_inspections(list(LAMBETH_LIVING, Role::AlmoOfficer, HOMES_FOR_HARINGEY))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let get = |org: &str, role: Role, id: &str| authed(inspection(id), org, role);
    let err = client
        .get_inspection(get(
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
            LAMBETH_INSPECTION,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The same answer for one that does not exist, to those who do not read everyone.
    let err = client
        .get_inspection(get(HOMES_FOR_HARINGEY, Role::AlmoOfficer, "NO-SUCH"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .get_inspection(get(REGULATOR, Role::Regulator, "NO-SUCH"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let lambeth = client
        .get_inspection(get(LAMBETH, Role::CouncilOfficer, LAMBETH_INSPECTION))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(lambeth.stage, pb::Stage::Published as i32);
    assert_eq!(lambeth.outcome.unwrap().stars, 2);
}

#[tokio::test]
async fn list_inspections_hides_cancelled_unless_asked() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    cancel_ok(&mut client, cancel("c-ene", &ene.inspection_id, "v1")).await;
    let again = book(&mut client, "b-again", LEEDS_ENE, "2007-11-05", LEEDS_TEAM).await;
    let list = |statuses: &[pb::InspectionStatus]| inspections_of(LEEDS_ENE, statuses);
    // Unasked: what callers saw before, the booking only; the ALMO likewise.
    let seen = client
        .list_inspections(ins(list(&[])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(seen), vec![again.inspection_id.clone()]);
    let own = client
        .list_inspections(authed(list(&[]), LEEDS_ENE, Role::AlmoOfficer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(own), vec![again.inspection_id.clone()]);
    let cancelled = client
        .list_inspections(ins(list(&[pb::InspectionStatus::Cancelled])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.inspections.len(), 1);
    assert_eq!(
        cancelled.inspections[0].status(),
        pb::InspectionStatus::Cancelled
    );
    assert_eq!(cancelled.inspections[0].inspection_id, ene.inspection_id);
    let mut both = ids(client
        .list_inspections(ins(list(&[
            pb::InspectionStatus::Booked,
            pb::InspectionStatus::Cancelled,
        ])))
        .await
        .unwrap()
        .into_inner());
    both.sort();
    let mut want = vec![ene.inspection_id.clone(), again.inspection_id.clone()];
    want.sort();
    assert_eq!(both, want);
    // Another ALMO sees neither, cancelled or not.
    let other = client
        .list_inspections(authed(
            inspections_of("", &[pb::InspectionStatus::Cancelled]),
            LEEDS_WNW,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(other.inspections.is_empty(), "{other:?}");
    let err = client
        .list_inspections(ins(ListInspectionsRequest {
            statuses: vec![7],
            ..list(&[])
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["statuses"]);
}

#[tokio::test]
async fn demo_data_loads_twice_without_change() {
    let (app, mut client) = app().await;
    almo_inspection_scheduling::demo::seed(&app.db)
        .await
        .unwrap();
    let all = client
        .list_inspections(ins(ListInspectionsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.inspections.len(), 2);
}
