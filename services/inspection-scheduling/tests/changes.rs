//! Changing a booking not yet on site: a new team member, a new week, or cancelling it, each
//! keeping every hard rule; and the `almo inspections` commands that do it.

mod common;

use almo_auth::Role;
use almo_proto::inspection::{self as pb};
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

#[tokio::test]
async fn replacing_a_team_member_keeps_every_team_hard_rule() {
    use almo_db::entity::audit_log;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let (app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let id = ene.inspection_id.clone();
    declare_leeds_wnw(&mut client).await;
    let wnw = book(
        &mut client,
        "book-wnw",
        LEEDS_WNW,
        "2007-10-22",
        &["LEAD-HUGHES", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
    )
    .await;
    client
        .record_unavailability(ins(leave(
            "u-singh",
            "INSP-SINGH",
            "2007-10-22",
            "2007-10-26",
            "v1",
        )))
        .await
        .unwrap();

    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "INSP-KOWALSKI",
            "INSP-ADEYEMI",
            "INSPECTOR_DOUBLE_BOOKED",
            &wnw.inspection_id,
        ),
        (
            "INSP-KOWALSKI",
            "INSP-SINGH",
            "INSPECTOR_UNAVAILABLE",
            "INSP-SINGH unavailable",
        ),
        (
            "TIA-HALL",
            "TIA-GREEN",
            "TIA_OWN_LANDLORD",
            "TIA TIA-GREEN is a tenant of LEEDS-ENE-HOMES",
        ),
        (
            "INSP-KOWALSKI",
            "LEAD-OKAFOR",
            "ONE_LEAD_INSPECTOR",
            "exactly one lead inspector",
        ),
        ("TIA-HALL", "INSP-BRENNAN", "TEAM_SIZE", "no TIA available"),
    ];
    for (i, (leaving, joining, code, text)) in cases.iter().enumerate() {
        let err = client
            .replace_team_member(ins(replace(
                &format!("bad-{i}"),
                &id,
                leaving,
                joining,
                "v1",
            )))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{joining}: {err:?}");
        assert_eq!(reason(&err), *code, "{joining}: {err:?}");
        assert!(err.message().contains(text), "{joining}: {}", err.message());
    }

    // Only the inspectorate; only with the etag as last read; only a member of the team leaves.
    let err = client
        .replace_team_member(authed(
            replace("r-almo", &id, "INSP-KOWALSKI", "INSP-BRENNAN", "v1"),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .replace_team_member(ins(replace(
            "r-stale",
            &id,
            "INSP-KOWALSKI",
            "INSP-BRENNAN",
            "v0",
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = client
        .replace_team_member(ins(replace(
            "r-who",
            &id,
            "INSP-MORGAN",
            "INSP-BRENNAN",
            "v1",
        )))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["leaving_inspector_id"]);

    let swap = replace("r-ok", &id, "INSP-KOWALSKI", "INSP-BRENNAN", "v1");
    let changed = client
        .replace_team_member(ins(swap.clone()))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(changed.etag, "v2");
    assert_eq!(changed.on_site_start_date, "2007-10-22");
    let team = team_ids(&changed);
    assert!(team.contains(&"INSP-BRENNAN".to_string()), "{team:?}");
    assert!(!team.contains(&"INSP-KOWALSKI".to_string()), "{team:?}");
    assert_eq!(team.len(), 4);
    // The same request again is the same answer, not a second change.
    let again = client
        .replace_team_member(ins(swap))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(again.etag, "v2");
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Target.eq(format!("inspections/{id}")))
        .all(app.db.conn())
        .await
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.request_id == "r-ok" && r.method.ends_with("/ReplaceTeamMember")),
        "{rows:?}"
    );
    // Kowalski's week is free again: the other booking may take her.
    let wnw2 = client
        .replace_team_member(ins(replace(
            "r-wnw",
            &wnw.inspection_id,
            "INSP-ADEYEMI",
            "INSP-KOWALSKI",
            "v1",
        )))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert!(team_ids(&wnw2).contains(&"INSP-KOWALSKI".to_string()));
}

#[tokio::test]
async fn moving_or_cancelling_a_booking_frees_the_week_and_keeps_one_open_inspection_per_almo() {
    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let id = ene.inspection_id.clone();

    // Every readiness rule holds for the new week.
    let err = client
        .move_inspection(ins(move_to("m-audit", &id, "2007-10-15", &[], "v1")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CLASHES_WITH_DECLARED_AUDIT");
    assert!(err.message().contains("internal audit 2007-10-15..19"));
    let err = client
        .move_inspection(authed(
            move_to("m-almo", &id, "2007-10-29", &[], "v1"),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let moved = client
        .move_inspection(ins(move_to("m-ok", &id, "2007-10-29", &[], "v1")))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(moved.inspection_id, id);
    assert_eq!(moved.on_site_start_date, "2007-10-29");
    assert_eq!(moved.etag, "v2");
    assert_eq!(team_ids(&moved).len(), 4);
    let err = client
        .move_inspection(ins(move_to("m-stale", &id, "2007-11-05", &[], "v1")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    // Still the ALMO's one open inspection.
    let err = client
        .book_inspection(ins(booking("b-again", LEEDS_ENE, "2007-11-12", LEEDS_TEAM)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_IN_PROGRESS");

    // The week of 22 October is free again for the same team.
    declare_leeds_wnw(&mut client).await;
    let wnw = book(&mut client, "b-wnw", LEEDS_WNW, "2007-10-22", LEEDS_TEAM).await;
    let err = client
        .move_inspection(ins(move_to("m-clash", &id, "2007-10-22", &[], "v2")))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTOR_DOUBLE_BOOKED");
    assert!(err.message().contains(&wnw.inspection_id));

    // Cancelling: only the inspectorate, with the etag as last read; the weeks and the ALMO free.
    let err = client
        .cancel_inspection(authed(
            cancel("c-almo", &id, "v2"),
            LEEDS_ENE,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .cancel_inspection(ins(cancel("c-stale", &id, "v1")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let gone = client
        .cancel_inspection(ins(cancel("c-ok", &id, "v2")))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(gone.on_site_start_date, "2007-10-29");
    let replay = client
        .cancel_inspection(ins(cancel("c-ok", &id, "v2")))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(replay.inspection_id, id);
    // Kept, cancelled.
    let kept = get(&mut client, &id).await;
    assert_eq!(kept.status(), pb::InspectionStatus::Cancelled);
    let rebooked = book(
        &mut client,
        "b-after",
        LEEDS_ENE,
        "2007-10-29",
        &["LEAD-HUGHES", "INSP-KOWALSKI", "INSP-ADEYEMI", "TIA-DUNCAN"],
    )
    .await;
    assert_eq!(rebooked.etag, "v1");

    // A team on site is recorded, not re-planned.
    let on_site = client
        .record_stage_date(ins(stage_date(
            "s-wnw",
            &wnw.inspection_id,
            pb::Stage::OnSite,
            "2007-10-22",
            "v1",
        )))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    let err = client
        .cancel_inspection(ins(cancel("c-wnw", &wnw.inspection_id, &on_site.etag)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALREADY_ON_SITE");
    let err = client
        .move_inspection(ins(move_to(
            "m-wnw",
            &wnw.inspection_id,
            "2007-11-05",
            &[],
            &on_site.etag,
        )))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALREADY_ON_SITE");
}

#[tokio::test]
async fn almo_inspections_move_replace_member_and_cancel_commands_print_what_changed() {
    use almo_inspection_scheduling::cli::{self, Server};

    let (app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let id = ene.inspection_id.clone();
    let server = Server::new(
        format!("http://{}", app.addr),
        almo_testkit::token(INSPECTORATE, Role::Inspectorate),
    );

    // Without --etag the command reads the inspection's current etag.
    let moved = cli::move_inspection(&server, &id, "2007-10-29", &[], None, "cli-m")
        .await
        .unwrap();
    assert_eq!(
        moved,
        format!(
            "moved {id} to the week of 2007-10-29, team LEAD-PATEL, INSP-KOWALSKI, INSP-WALSH, TIA-HALL (etag v2)"
        )
    );
    assert_eq!(get(&mut client, &id).await.on_site_start_date, "2007-10-29");
    let replaced = cli::replace_team_member(
        &server,
        &id,
        "INSP-KOWALSKI",
        "INSP-BRENNAN",
        Some("v2"),
        "cli-r",
    )
    .await
    .unwrap();
    assert_eq!(
        replaced,
        format!("replaced INSP-KOWALSKI with INSP-BRENNAN on {id}, week of 2007-10-29 (etag v3)")
    );
    // A refusal prints the server's reason and the field.
    let err = cli::cancel_inspection(&server, &id, " ", None, "cli-c0")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("InvalidArgument"), "{err}");
    assert!(err.contains("reason: required"), "{err}");
    let stale = cli::move_inspection(&server, &id, "2007-11-05", &[], Some("v1"), "cli-m2")
        .await
        .unwrap_err()
        .to_string();
    assert!(stale.contains("Aborted"), "{stale}");
    let cancelled = cli::cancel_inspection(&server, &id, "postponed by the board", None, "cli-c")
        .await
        .unwrap();
    assert_eq!(
        cancelled,
        format!("cancelled {id} (week of 2007-10-29): postponed by the board (etag v4)")
    );
    let again = cli::cancel_inspection(&server, &id, "again", None, "cli-c2")
        .await
        .unwrap_err()
        .to_string();
    assert!(again.contains("INSPECTION_CANCELLED"), "{again}");
    assert!(again.contains("FailedPrecondition"), "{again}");
}
