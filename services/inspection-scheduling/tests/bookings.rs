//! Finding slots and booking an inspection: every hard rule named when broken, one booking per
//! inspector-week and per ALMO even under a race, each booking audited.

mod common;

use almo_auth::Role;
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

#[tokio::test]
async fn find_slots_names_the_hard_rule_of_each_ruled_out_week() {
    let (_app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    let request = slots(LEEDS_ENE, "2007-09-17", "2007-12-31", 2);
    let resp = client
        .find_slots(ins(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.required_inspectors, 3);
    assert_eq!(resp.required_tias, 1);
    let fee = resp.fee_estimate.unwrap();
    assert!((1_700_000..=5_000_000).contains(&fee.pence));
    let first_reason = |i: usize| {
        resp.slots[i]
            .broken_rules
            .iter()
            .map(|b| b.description.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(resp.slots[0].on_site_start_date, "2007-09-17");
    assert!(first_reason(0)[0].starts_with("before six months after go-live"));
    assert_eq!(
        resp.slots[0].broken_rules[0].code,
        "BEFORE_SIX_MONTHS_AFTER_GO_LIVE"
    );
    assert_eq!(
        first_reason(2),
        vec!["Best Value review of rent collection not complete"]
    );
    assert_eq!(resp.slots[2].on_site_start_date, "2007-10-01");
    assert_eq!(
        first_reason(4),
        vec!["clashes with internal audit 2007-10-15..19"]
    );
    let slot = &resp.slots[5];
    assert_eq!(slot.on_site_start_date, "2007-10-22");
    assert!(slot.feasible);
    assert_eq!(slot.team.len(), 4);
    // TIA-GREEN is a tenant of Leeds ENE: never on its team.
    assert!(slot.team.iter().all(|m| m.inspector_id != "TIA-GREEN"));
    assert_eq!(
        slot.soft_score,
        slot.penalties.iter().map(|p| p.points).sum::<i32>()
    );
    // The board meeting of 24 October falls in the on-site week: no penalty for it.
    assert!(slot.penalties.iter().all(|p| p.rule != "board_meeting"));
    assert!(
        slot.penalties
            .iter()
            .any(|p| p.rule == "audit_distance" && p.justification.contains("internal audit"))
    );
    assert_eq!(resp.slots.iter().filter(|s| s.feasible).count(), 2);

    // Only the inspectorate searches.
    let err = client
        .find_slots(authed(request, LEEDS_ENE, Role::AlmoOfficer))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn booking_that_breaks_a_hard_rule_is_refused_by_name() {
    let (_app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "2007-09-24",
            LEEDS_TEAM,
            "BEFORE_SIX_MONTHS_AFTER_GO_LIVE",
            "before six months after go-live",
        ),
        (
            "2007-10-08",
            LEEDS_TEAM,
            "BEST_VALUE_REVIEW_NOT_COMPLETE",
            "Best Value review of rent collection not complete",
        ),
        (
            "2007-10-15",
            LEEDS_TEAM,
            "CLASHES_WITH_DECLARED_AUDIT",
            "clashes with internal audit 2007-10-15..19",
        ),
        (
            "2007-10-22",
            &["LEAD-PATEL", "INSP-KOWALSKI", "INSP-WALSH", "TIA-GREEN"],
            "TIA_OWN_LANDLORD",
            "TIA TIA-GREEN is a tenant of LEEDS-ENE-HOMES",
        ),
        (
            "2007-10-22",
            &["LEAD-PATEL", "INSP-KOWALSKI", "INSP-WALSH"],
            "NO_TIA",
            "no TIA available",
        ),
        (
            "2007-10-22",
            &["LEAD-PATEL", "INSP-KOWALSKI", "TIA-HALL"],
            "TEAM_SIZE",
            "3 inspectors needed",
        ),
        (
            "2007-10-22",
            &["LEAD-PATEL", "LEAD-HUGHES", "INSP-WALSH", "TIA-HALL"],
            "ONE_LEAD_INSPECTOR",
            "exactly one lead inspector",
        ),
        (
            "2007-08-27",
            &["LEAD-OKAFOR", "INSP-KOWALSKI", "INSP-WALSH", "TIA-HALL"],
            "BEFORE_SIX_MONTHS_AFTER_GO_LIVE",
            "inspector LEAD-OKAFOR unavailable 2007-08-20..31",
        ),
    ];
    for (i, (monday, team, code, text)) in cases.iter().enumerate() {
        let err = client
            .book_inspection(ins(booking(
                &format!("refused-{i}"),
                LEEDS_ENE,
                monday,
                team,
            )))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{monday} {team:?}");
        assert_eq!(reason(&err), *code, "{}", err.message());
        assert!(err.message().contains(text), "{}", err.message());
    }

    // The same team a week later is booked; the lead cannot be on two ALMOs that week.
    let booked = book_leeds_ene(&mut client).await;
    assert_eq!(booked.inspection_id, "LEEDS-ENE-HOMES-2007-10-22");
    declare_leeds_wnw(&mut client).await;
    let err = client
        .book_inspection(ins(booking(
            "book-wnw",
            LEEDS_WNW,
            "2007-10-22",
            &["LEAD-PATEL", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
        )))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTOR_DOUBLE_BOOKED");
    assert!(err.message().contains(
        "inspector LEAD-PATEL already booked that week on inspection LEEDS-ENE-HOMES-2007-10-22"
    ));
    // One inspection of an ALMO at a time.
    let err = client
        .book_inspection(ins(booking(
            "book-again",
            LEEDS_ENE,
            "2007-11-05",
            &["LEAD-HUGHES", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
        )))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INSPECTION_IN_PROGRESS");
}

#[tokio::test]
async fn booking_refusals_for_role_and_fields() {
    let (_app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    for (org, role) in [
        (LEEDS, Role::CouncilOfficer),
        (LEEDS_ENE, Role::AlmoOfficer),
        (REGULATOR, Role::Regulator),
    ] {
        let err = client
            .book_inspection(authed(
                booking("book-x", LEEDS_ENE, "2007-10-22", LEEDS_TEAM),
                org,
                role,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{org}");
    }
    let mut bad = booking("book-bad", LEEDS_ENE, "2007-10-23", &[]);
    bad.span_weeks = 9;
    let err = client.book_inspection(ins(bad)).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        bad_fields(&err),
        vec!["on_site_start_date", "team_inspector_ids", "span_weeks"]
    );
    let err = client
        .book_inspection(ins(booking(
            "book-unknown",
            LEEDS_ENE,
            "2007-10-22",
            &["NOBODY"],
        )))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["team_inspector_ids"]);
}

#[tokio::test]
async fn two_bookings_racing_for_one_lead_leave_exactly_one() {
    let (app, mut client) = app().await;
    declare_leeds_ene(&mut client).await;
    declare_leeds_wnw(&mut client).await;
    let mut a = client.clone();
    let mut b = Client::new(app.channel().await);
    let (ra, rb) = tokio::join!(
        a.book_inspection(ins(booking("race-a", LEEDS_ENE, "2007-10-22", LEEDS_TEAM))),
        b.book_inspection(ins(booking(
            "race-b",
            LEEDS_WNW,
            "2007-10-22",
            &["LEAD-PATEL", "INSP-ADEYEMI", "INSP-MORGAN", "TIA-DUNCAN"],
        ))),
    );
    let results = [ra.map(|_| ()), rb.map(|_| ())];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let err = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        ["INSPECTOR_DOUBLE_BOOKED", "BOOKING_CONFLICT"].contains(&reason(&err).as_str()),
        "{err:?}"
    );
}

#[tokio::test]
async fn booking_is_audited_and_a_wound_up_almo_is_refused() {
    use almo_db::entity::audit_log;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let (app, mut client) = app().await;
    let booked = book_leeds_ene(&mut client).await;
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Target.eq(format!("inspections/{}", booked.inspection_id)))
        .all(app.db.conn())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].organisation_id, INSPECTORATE);
    assert_eq!(rows[0].request_id, "book-1");
    assert!(rows[0].method.ends_with("/BookInspection"));

    // Hackney Homes' last day was 31 March 2016.
    let err = client
        .book_inspection(ins(booking(
            "book-hackney",
            "HACKNEY-HOMES",
            "2016-04-04",
            LEEDS_TEAM,
        )))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ALMO_ENDED");
    assert!(err.message().contains("ALMO wound up on 2016-03-31"));
}
