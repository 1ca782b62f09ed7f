//! `ImportReturns`: a predecessor system's signed-off returns loaded in batches by the operator,
//! each value validated as SetValues validates it, each batch one transaction, idempotent by its
//! request id; what it writes is what the regulator's reads see.

mod common;

use almo_auth::Role;
use almo_proto::pi_returns as pb;
use chrono::{DateTime, TimeZone, Utc};
use tonic::{Code, Status};

use common::{
    AS_LAMBETH, AS_OPERATOR, AS_REGULATOR, Caller, Client, LAMBETH, annual, app, by, fields,
    get_benchmark, quarter, query, reason, returns_of, value, year,
};

const HARINGEY: &str = "E09000014";
const HACKNEY: &str = "E09000012";
const SOUTHWARK: &str = "E09000028";

fn at(y: i32, m: u32, d: u32) -> Option<prost_types::Timestamp> {
    let t: DateTime<Utc> = Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap();
    Some(almo_server::timestamp(t))
}

/// `org`'s signed-off annual return for `y`, submitted on 1 June after the year (on time) by
/// its officer and signed off a week later by its certifier.
fn signed_off(org: &str, y: i32, values: Vec<pb::ValueInput>) -> pb::ImportedReturn {
    pb::ImportedReturn {
        organisation_id: org.into(),
        period: annual(y),
        values,
        submitted_by: format!("officer@{org}"),
        submit_time: at(y + 1, 6, 1),
        signed_off_by: format!("certifier@{org}"),
        sign_off_time: at(y + 1, 6, 8),
    }
}

fn batch(id: &str, returns: Vec<pb::ImportedReturn>) -> pb::ImportReturnsRequest {
    pb::ImportReturnsRequest {
        request_id: id.into(),
        returns,
    }
}

async fn import(
    client: &mut Client,
    batches: Vec<pb::ImportReturnsRequest>,
    caller: Caller<'_>,
) -> Result<pb::ImportReturnsResponse, Status> {
    client
        .import_returns(by(tokio_stream::iter(batches), caller))
        .await
        .map(|r| r.into_inner())
}

/// The four London boroughs' 2005/06 rent collection, in two batches.
fn london_2005() -> Vec<pb::ImportReturnsRequest> {
    vec![
        batch(
            "import-2005-a",
            vec![
                signed_off(
                    LAMBETH,
                    2005,
                    vec![value("BVPI 66a", 96.5), value("BVPI 63", 61.0)],
                ),
                signed_off(HARINGEY, 2005, vec![value("BVPI 66a", 97.25)]),
            ],
        ),
        batch(
            "import-2005-b",
            vec![
                signed_off(HACKNEY, 2005, vec![value("BVPI 66a", 95.0)]),
                signed_off(SOUTHWARK, 2005, vec![value("BVPI 66a", 98.0)]),
            ],
        ),
    ]
}

async fn lambeth_returns(client: &mut Client, y: i32) -> Vec<pb::PiReturn> {
    let req = pb::QueryReturnsRequest {
        year: year(y),
        ..returns_of(LAMBETH)
    };
    query(client, req, AS_REGULATOR).await.unwrap().pi_returns
}

#[tokio::test]
async fn imported_returns_are_signed_off_and_seen_by_query_and_benchmark() {
    let (_app, mut client) = app().await;
    let done = import(&mut client, london_2005(), AS_OPERATOR)
        .await
        .unwrap();
    assert_eq!(
        (
            done.batches,
            done.batches_replayed,
            done.returns_imported,
            done.values_imported
        ),
        (2, 0, 4, 5)
    );
    let lambeth = lambeth_returns(&mut client, 2005).await;
    assert_eq!(lambeth.len(), 1);
    let r = &lambeth[0];
    assert_eq!(r.status, pb::ReturnStatus::SignedOff as i32);
    assert_eq!(r.submitted_by, format!("officer@{LAMBETH}"));
    assert_eq!(r.signed_off_by, format!("certifier@{LAMBETH}"));
    assert!(!r.late, "submitted on 1 June, before the 30 June deadline");
    let mut got: Vec<(String, f64)> = r
        .values
        .iter()
        .map(|v| (v.indicator_code.clone(), v.value))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![("BVPI 63".into(), 61.0), ("BVPI 66a".into(), 96.5)]
    );
    // Quartiles of 95.0, 96.5, 97.25, 98.0 (type 7): q1 96.125, median 96.875, q3 97.4375.
    let b = get_benchmark(
        &mut client,
        common::among("BVPI 66a", 2005, "london_borough"),
        AS_REGULATOR,
    )
    .await
    .unwrap();
    assert_eq!(b.count, 4);
    assert!((b.median - 96.875).abs() < 1e-9, "{}", b.median);
}

#[tokio::test]
async fn a_return_submitted_after_its_deadline_is_imported_late() {
    let (_app, mut client) = app().await;
    let mut r = signed_off(LAMBETH, 2005, vec![value("BVPI 66a", 96.5)]);
    r.submit_time = at(2006, 7, 1);
    r.sign_off_time = at(2006, 7, 2);
    import(&mut client, vec![batch("late", vec![r])], AS_OPERATOR)
        .await
        .unwrap();
    assert!(lambeth_returns(&mut client, 2005).await[0].late);
}

#[tokio::test]
async fn a_stream_sent_again_is_replayed_batch_by_batch_not_written_twice() {
    let (_app, mut client) = app().await;
    let first = import(&mut client, london_2005(), AS_OPERATOR)
        .await
        .unwrap();
    let again = import(&mut client, london_2005(), AS_OPERATOR)
        .await
        .unwrap();
    assert_eq!(again.batches_replayed, 2);
    assert_eq!(
        (again.returns_imported, again.values_imported),
        (first.returns_imported, first.values_imported)
    );
    assert_eq!(lambeth_returns(&mut client, 2005).await.len(), 1);
    // The same request id with another payload is refused, not replayed.
    let mut other = london_2005();
    other[0].returns[0].values[0].value = Some(90.0);
    let e = import(&mut client, other, AS_OPERATOR).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
}

#[tokio::test]
async fn a_refused_value_names_its_return_and_field_and_its_batch_writes_nothing() {
    let (_app, mut client) = app().await;
    let good = signed_off(HARINGEY, 2005, vec![value("BVPI 66a", 97.0)]);
    let bad = signed_off(
        LAMBETH,
        2005,
        vec![
            value("BVPI 66a", 96.0),
            value("BVPI 66a", 96.5),
            value("BVPI 63", 130.0),
            value("TP01", 70.0),
            value("BVPI 66a", 96.123),
        ],
    );
    let e = import(
        &mut client,
        vec![batch("refused", vec![good, bad])],
        AS_OPERATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(
        fields(&e),
        vec![
            "returns[1].values[1]",
            "returns[1].values[2].value",
            "returns[1].values[3].indicator_code",
            "returns[1].values[4]",
        ]
    );
    let haringey = query(
        &mut client,
        pb::QueryReturnsRequest {
            year: year(2005),
            ..returns_of(HARINGEY)
        },
        AS_REGULATOR,
    )
    .await
    .unwrap();
    assert!(
        haringey.pi_returns.is_empty(),
        "the batch is one transaction"
    );
}

#[tokio::test]
async fn the_returns_own_fields_are_checked_as_sign_off_and_the_window_check_them() {
    let (_app, mut client) = app().await;
    let mut same_person = signed_off(LAMBETH, 2005, vec![value("BVPI 66a", 96.5)]);
    same_person.signed_off_by = same_person.submitted_by.clone();
    let mut too_early = signed_off(HARINGEY, 2005, vec![value("BVPI 66a", 96.5)]);
    too_early.submit_time = at(2006, 3, 1);
    let mut quarter_twice = signed_off(HACKNEY, 2005, vec![value("BVPI 66a", 96.5)]);
    quarter_twice.period = quarter(2005, 5);
    let mut unsigned = signed_off(SOUTHWARK, 2005, vec![]);
    unsigned.sign_off_time = None;
    let e = import(
        &mut client,
        vec![pb::ImportReturnsRequest {
            request_id: String::new(),
            returns: vec![same_person, too_early, quarter_twice, unsigned],
        }],
        AS_OPERATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(
        fields(&e),
        vec![
            "request_id",
            "returns[0].signed_off_by",
            "returns[1].submit_time",
            "returns[2].period.number",
            "returns[3].sign_off_time",
        ]
    );
}

#[tokio::test]
async fn a_change_on_last_year_needs_its_explanation_across_batches_and_within_one() {
    let (_app, mut client) = app().await;
    let y2005 = batch(
        "2005",
        vec![signed_off(LAMBETH, 2005, vec![value("BVPI 66a", 97.0)])],
    );
    // 2006/07 falls by 7 points on 97.0: more than the definition's 3 without an explanation.
    let y2006 = || signed_off(LAMBETH, 2006, vec![value("BVPI 66a", 90.0)]);
    import(&mut client, vec![y2005], AS_OPERATOR).await.unwrap();
    let e = import(&mut client, vec![batch("2006", vec![y2006()])], AS_OPERATOR)
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["returns[0].values[0].explanation"]);
    // Within one batch, last year's figure is the batch's own, whatever the order given.
    let y2007 = signed_off(HARINGEY, 2007, vec![value("BVPI 66a", 90.0)]);
    let e = import(
        &mut client,
        vec![batch(
            "2006-7",
            vec![
                y2007,
                signed_off(HARINGEY, 2006, vec![value("BVPI 66a", 97.0)]),
            ],
        )],
        AS_OPERATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&e), vec!["returns[0].values[0].explanation"]);
    // Explained, it is imported with its warning.
    let mut explained = y2006();
    explained.values[0].explanation = "A rent system migration delayed collection.".into();
    import(
        &mut client,
        vec![batch("2006b", vec![explained])],
        AS_OPERATOR,
    )
    .await
    .unwrap();
    let r = &lambeth_returns(&mut client, 2006).await[0];
    assert_eq!(r.values[0].warnings.len(), 1, "{:?}", r.values[0]);
}

#[tokio::test]
async fn a_period_already_reported_is_already_exists_naming_the_batch() {
    let (_app, mut client) = app().await;
    // The demo holds Lambeth's signed-off 2001/02 return.
    let e = import(
        &mut client,
        vec![
            batch(
                "fine",
                vec![signed_off(HARINGEY, 2005, vec![value("BVPI 66a", 97.0)])],
            ),
            batch(
                "clash",
                vec![signed_off(LAMBETH, 2001, vec![value("BVPI 66a", 96.0)])],
            ),
        ],
        AS_OPERATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
    assert!(e.message().contains("batch 1"), "{}", e.message());
    assert!(e.message().contains("returns[0]"), "{}", e.message());
    // The batch before it is written.
    let haringey = query(
        &mut client,
        pb::QueryReturnsRequest {
            year: year(2005),
            ..returns_of(HARINGEY)
        },
        AS_REGULATOR,
    )
    .await
    .unwrap();
    assert_eq!(haringey.pi_returns.len(), 1);
}

#[tokio::test]
async fn an_organisation_not_in_the_directory_or_not_a_landlord_is_refused() {
    let (_app, mut client) = app().await;
    let e = import(
        &mut client,
        vec![batch(
            "who",
            vec![
                signed_off("E09999999", 2005, vec![value("BVPI 66a", 97.0)]),
                signed_off("RSH", 2005, vec![value("BVPI 66a", 97.0)]),
            ],
        )],
        AS_OPERATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(
        fields(&e),
        vec!["returns[0].organisation_id", "returns[1].organisation_id"]
    );
}

#[tokio::test]
async fn only_the_operator_imports_returns() {
    let (_app, mut client) = app().await;
    for caller in [
        AS_LAMBETH,
        AS_REGULATOR,
        ("LAMBETH-LIVING", Role::AlmoOfficer),
    ] {
        let e = import(&mut client, london_2005(), caller)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{caller:?}: {e:?}");
        assert_eq!(reason(&e), "NOT_ALLOWED", "{e:?}");
    }
    assert!(lambeth_returns(&mut client, 2005).await.is_empty());
}

#[tokio::test]
async fn an_almos_period_after_its_end_is_refused_naming_the_end_and_the_batch() {
    let (app, mut client) = app().await;
    almo_testkit::end_almo(&app.db, "LAMBETH-LIVING", "2005-10-16").await;
    // 2005/06 holds the end: still the ALMO's to report.
    import(
        &mut client,
        vec![batch(
            "held",
            vec![signed_off(
                "LAMBETH-LIVING",
                2005,
                vec![value("BVPI 66a", 96.0)],
            )],
        )],
        AS_OPERATOR,
    )
    .await
    .unwrap();
    let e = import(
        &mut client,
        vec![batch(
            "after",
            vec![signed_off(
                "LAMBETH-LIVING",
                2006,
                vec![value("BVPI 66a", 96.0)],
            )],
        )],
        AS_OPERATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert_eq!(reason(&e), "ALMO_ENDED");
    assert!(
        e.message().contains("ended on 2005-10-16"),
        "{}",
        e.message()
    );
    assert!(e.message().contains("\"after\""), "{}", e.message());
}

#[tokio::test]
async fn an_ended_almos_part_year_is_imported_once_its_days_are_over() {
    let (app, mut client) = app().await;
    almo_testkit::end_almo(&app.db, "LAMBETH-LIVING", "2005-10-16").await;
    // Its 2005/06 return covers the days to 16 October: submitted on that day it is too early.
    let mut on_the_end = signed_off("LAMBETH-LIVING", 2005, vec![value("BVPI 66a", 96.0)]);
    on_the_end.submit_time = at(2005, 10, 16);
    let e = import(
        &mut client,
        vec![batch("on-the-end", vec![on_the_end])],
        AS_OPERATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(fields(&e), vec!["returns[0].submit_time"]);
    assert!(e.message().contains("2005-10-16"), "{}", e.message());
    // The day after, before the year is over, it is in time; the council's own return for the
    // same year still waits for the year's end.
    let mut next_day = signed_off("LAMBETH-LIVING", 2005, vec![value("BVPI 66a", 96.0)]);
    next_day.submit_time = at(2005, 10, 17);
    let mut council = signed_off(LAMBETH, 2005, vec![value("BVPI 66a", 96.0)]);
    council.submit_time = at(2005, 10, 17);
    let e = import(
        &mut client,
        vec![batch("council-early", vec![next_day.clone(), council])],
        AS_OPERATOR,
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&e), vec!["returns[1].submit_time"]);
    import(
        &mut client,
        vec![batch("next-day", vec![next_day])],
        AS_OPERATOR,
    )
    .await
    .unwrap();
}
