//! iCalendar export per ALMO and per inspector, cancelled inspections kept as cancelled, and the
//! `almo inspections calendar` command.

mod common;

use almo_auth::Role;
use almo_proto::inspection::ExportCalendarRequest;
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;
use tonic::Code;

#[tokio::test]
async fn calendar_export_per_almo_and_per_inspector() {
    use almo_proto::inspection::export_calendar_request::Owner;

    let (_app, mut client) = app().await;
    let by_almo = |id: &str| calendar_of(Owner::AlmoId(id.into()));
    let cal = client
        .export_calendar(authed(
            by_almo(LAMBETH_LIVING),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cal.content_type, "text/calendar; charset=utf-8");
    // The on-site week and four milestones of the one inspection.
    assert_eq!(cal.event_count, 5);
    let flat = cal.calendar.replace("\r\n ", "");
    assert!(flat.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(flat.contains("SUMMARY:ALMO inspection on site: Lambeth Living\r\n"));
    assert!(flat.contains("DTSTART;VALUE=DATE:20081103\r\nDTEND;VALUE=DATE:20081108\r\n"));
    // The score letter on its actual date.
    assert!(flat.contains("DTSTART;VALUE=DATE:20090105\r\n"));
    assert_eq!(flat.matches("BEGIN:VEVENT").count(), 5);

    // Ruth Duncan was on the Haringey inspection only.
    let mine = client
        .export_calendar(ins(calendar_of(Owner::InspectorId("TIA-DUNCAN".into()))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.event_count, 5);
    assert!(mine.calendar.contains("Homes for Haringey"));
    assert!(!mine.calendar.contains("Lambeth Living:"));

    let err = client
        .export_calendar(authed(
            by_almo(LAMBETH_LIVING),
            HARINGEY,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .export_calendar(authed(
            calendar_of(Owner::InspectorId("TIA-DUNCAN".into())),
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = client
        .export_calendar(ins(ExportCalendarRequest { owner: None }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["owner"]);
}

#[tokio::test]
async fn almo_inspections_calendar_command_fetches_the_file() {
    use almo_inspection_scheduling::cli::{CalendarOwner, calendar};

    let (app, _client) = app().await;
    let addr = format!("http://{}", app.addr);
    let token = almo_testkit::token(INSPECTORATE, Role::Inspectorate);
    let ics = calendar(
        &addr,
        &token,
        CalendarOwner::Inspector("LEAD-HUGHES".into()),
    )
    .await
    .unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(ics.contains("Lambeth Living"));
    let denied = calendar(
        &addr,
        &almo_testkit::token(LAMBETH_LIVING, Role::AlmoOfficer),
        CalendarOwner::Inspector("LEAD-HUGHES".into()),
    )
    .await
    .unwrap_err();
    assert!(denied.to_string().contains("PermissionDenied"), "{denied}");
}

#[tokio::test]
async fn cancelled_inspection_shows_in_calendar_as_cancelled() {
    use almo_proto::inspection::export_calendar_request::Owner;

    let (_app, mut client) = app().await;
    let ene = book_leeds_ene(&mut client).await;
    let on_site_uid = format!("UID:{}-on-site@almo-exchange", ene.inspection_id);
    let event = |cal: &str| -> String {
        let flat = cal.replace("\r\n ", "");
        let start = flat.find(&on_site_uid).expect("the on-site event");
        let end = start + flat[start..].find("END:VEVENT").unwrap();
        flat[start..end].to_string()
    };
    let before = client
        .export_calendar(ins(calendar_of(Owner::AlmoId(LEEDS_ENE.into()))))
        .await
        .unwrap()
        .into_inner();
    let booked = event(&before.calendar);
    assert!(booked.contains("SEQUENCE:0\r\n"), "{booked}");
    assert!(booked.contains("STATUS:CONFIRMED\r\n"), "{booked}");

    cancel_ok(&mut client, cancel("c-ene", &ene.inspection_id, "v1")).await;
    for (i, owner) in [
        Owner::AlmoId(LEEDS_ENE.into()),
        Owner::InspectorId("LEAD-PATEL".into()),
    ]
    .into_iter()
    .enumerate()
    {
        let after = client
            .export_calendar(ins(calendar_of(owner)))
            .await
            .unwrap()
            .into_inner();
        // Kept, not dropped, so that subscribed calendars remove it (RFC 5545 §3.8.1.11, §3.8.7.4).
        if i == 0 {
            assert_eq!(after.event_count, before.event_count);
        }
        let cancelled = event(&after.calendar);
        assert!(cancelled.contains("STATUS:CANCELLED\r\n"), "{cancelled}");
        assert!(cancelled.contains("SEQUENCE:1\r\n"), "{cancelled}");
        assert!(cancelled.contains("SUMMARY:Cancelled: "), "{cancelled}");
        // Every event of the inspection, the milestones too.
        let flat = after.calendar.replace("\r\n ", "");
        assert_eq!(flat.matches("STATUS:CANCELLED").count(), 5, "{flat}");
    }
}
