//! `almo invoices pull` against a real server with the demo data: every issued line and every
//! credited line lands in the file once, and a second pull from the watermark adds nothing.

use almo_auth::Role;
use almo_sla_charging::pull::{Format, pull};
use almo_testkit::token;

mod common;

use common::demo_app;

#[tokio::test]
async fn pull_writes_every_issued_and_credited_line_once_and_resumes_from_the_watermark() {
    let (app, _) = demo_app().await;
    let endpoint = format!("http://{}", app.addr);
    let tok = token("LAMBETH-LIVING", Role::AlmoFinance);
    let mut csv = Vec::new();
    let mut seen = Vec::new();
    let first = pull(&endpoint, &tok, "", "", Format::Csv, &mut csv, |n| {
        seen.push(n)
    })
    .await
    .unwrap();
    let text = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("feed_position,event,document_number"));
    // April: HR, legal, IT, payroll; May: the same and the missed-IT service credit; then the
    // credit note's one line.
    assert_eq!(first.rows, 10);
    assert_eq!(lines.len(), 11);
    assert_eq!(first.events, 3);
    assert_eq!(seen, [3]);
    assert_eq!(first.watermark, "3");
    let last = lines[10];
    assert!(last.starts_with("3,credit_note,SLA-CN-E09000022-000001,SLA-E09000022-000001,"));
    assert!(last.ends_with(",HRA,-19000,-3800"), "{last}");
    let mut json = Vec::new();
    let again = pull(
        &endpoint,
        &tok,
        &first.watermark,
        "",
        Format::Json,
        &mut json,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(again.rows, 0);
    assert_eq!(again.watermark, "3");
    let mut json = Vec::new();
    pull(&endpoint, &tok, "2", "", Format::Json, &mut json, |_| {})
        .await
        .unwrap();
    let row: serde_json::Value =
        serde_json::from_str(String::from_utf8(json).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(row["net_pence"], -19000);
    assert_eq!(row["event"], "credit_note");
    // Another council's ALMO pulls nothing of Lambeth's.
    let other = token("HOMES-FOR-HARINGEY", Role::AlmoFinance);
    let mut out = Vec::new();
    let none = pull(&endpoint, &other, "", "", Format::Csv, &mut out, |_| {})
        .await
        .unwrap();
    assert_eq!(none.rows, 0);
}
