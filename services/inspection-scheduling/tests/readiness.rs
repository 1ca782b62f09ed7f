//! An ALMO declares its own readiness for inspection (003 §109); those who may see the ALMO read
//! it; a stale or repeated declaration is refused.

mod common;

use almo_auth::Role;
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

#[tokio::test]
async fn almo_declares_its_own_readiness_and_the_inspectorate_reads_it() {
    let (_app, mut client) = app().await;
    let first = declare_leeds_ene(&mut client).await;
    assert_eq!(first.go_live_date, "2007-04-01");
    assert_eq!(first.earliest_inspection_date, "2007-10-01");
    assert_eq!(first.best_value_reviews.len(), 4);
    assert_eq!(first.etag, "v1");

    let read = client
        .get_readiness(ins(readiness_of(LEEDS_ENE)))
        .await
        .unwrap()
        .into_inner()
        .readiness
        .unwrap();
    assert_eq!(read, first);

    // The same request again replays the first answer; the same id with another payload is refused.
    let again = client
        .declare_readiness(authed(
            leeds_ene_readiness("ready-1", ""),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .readiness
        .unwrap();
    assert_eq!(again, first);
    let mut other = leeds_ene_readiness("ready-1", "");
    other.funding_round = "round 6".into();
    let err = client
        .declare_readiness(authed(other, LEEDS_ENE, Role::AlmoOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");

    // A declaration over one the caller has not read: stale.
    let err = client
        .declare_readiness(authed(
            leeds_ene_readiness("ready-2", ""),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err), "STALE_ETAG");
    let second = client
        .declare_readiness(authed(
            leeds_ene_readiness("ready-3", "v1"),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .readiness
        .unwrap();
    assert_eq!(second.etag, "v2");
    assert_eq!(second.blackouts.len(), 1);

    // Another ALMO of the same council, the council itself, the inspectorate: not theirs to declare.
    for (org, role) in [
        (LEEDS_WNW, Role::AlmoOfficer),
        (LEEDS, Role::CouncilOfficer),
        (INSPECTORATE, Role::Inspectorate),
    ] {
        let err = client
            .declare_readiness(authed(leeds_ene_readiness("ready-x", "v2"), org, role))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org}");
    }
    // Another council's ALMO may not even read it.
    let err = client
        .get_readiness(authed(
            readiness_of(LEEDS_ENE),
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn readiness_with_bad_fields_names_them() {
    let (_app, mut client) = app().await;
    let mut r = leeds_ene_readiness("ready-bad", "");
    r.best_value_reviews[1].service = 0;
    r.blackouts[0].end_date = "2007-10-01".into();
    r.board_meeting_dates.push("24/10/2007".into());
    r.funding_needed_by_date = "soon".into();
    let err = client
        .declare_readiness(authed(r, LEEDS_ENE, Role::AlmoOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&err),
        vec![
            "best_value_reviews[1].service",
            "blackouts[0].end_date",
            "board_meeting_dates[1]",
            "funding_needed_by_date",
        ]
    );
}
