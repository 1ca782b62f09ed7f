//! `almo invoices pull` against a real server with the demo data: every issued line and every
//! credited line lands in the file once, and a second pull from the watermark adds nothing.

use almo_auth::Role;
use almo_sla_charging::domain::charging::usage_charge;
use almo_sla_charging::pull::{COLUMNS, Format, pull};
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
    assert!(
        last.ends_with(",HRA,-19000,-3800,-22800,standard,1,-19000"),
        "{last}"
    );
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

/// "7.5" -> 7500 thousandths.
fn milli(decimal: &str) -> i64 {
    let (whole, frac) = decimal.split_once('.').unwrap_or((decimal, ""));
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    let whole: i64 = whole.parse().unwrap();
    let frac: i64 = format!("{frac:0<3}").parse().unwrap();
    whole * 1000 + sign * frac
}

#[tokio::test]
async fn ledger_rows_carry_gross_vat_treatment_quantity_and_unit_price_consistently() {
    let (app, _) = demo_app().await;
    let endpoint = format!("http://{}", app.addr);
    let tok = token("LAMBETH-LIVING", Role::AlmoFinance);
    let mut csv = Vec::new();
    pull(&endpoint, &tok, "", "", Format::Csv, &mut csv, |_| {})
        .await
        .unwrap();
    let table = almo_client::csv::read(csv.as_slice()).unwrap();
    assert_eq!(table.headers, COLUMNS);
    let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for r in &table.rows {
        let net: i64 = r.get(col("net_pence")).parse().unwrap();
        let vat: i64 = r.get(col("vat_pence")).parse().unwrap();
        let gross: i64 = r.get(col("gross_pence")).parse().unwrap();
        let price: i64 = r.get(col("unit_price_pence")).parse().unwrap();
        let quantity = milli(r.get(col("quantity")));
        assert_eq!(gross, net + vat, "line {}", r.line);
        assert_eq!(usage_charge(quantity, price), net, "line {}", r.line);
        assert!(
            ["standard", "reduced", "zero", "exempt", "outside_scope"]
                .contains(&r.get(col("vat_treatment"))),
            "line {}",
            r.line
        );
        kinds.insert(r.get(col("line_kind")).to_string());
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["credit_note", "fixed_fee", "service_credit", "usage"]
    );
    // April's legal work: 42.5 hours at £95.00, 20% VAT.
    let legal = table
        .rows
        .iter()
        .find(|r| r.get(col("line_code")) == "LEGAL" && r.get(col("line_kind")) == "usage")
        .unwrap();
    assert_eq!(
        [
            legal.get(col("quantity")),
            legal.get(col("unit_price_pence")),
            legal.get(col("net_pence")),
            legal.get(col("vat_pence")),
            legal.get(col("gross_pence")),
            legal.get(col("vat_treatment")),
        ],
        ["42.5", "9500", "403750", "80750", "484500", "standard"]
    );
    // The JSON file carries the same columns, amounts as numbers, quantity as an exact decimal.
    let mut json = Vec::new();
    pull(&endpoint, &tok, "", "", Format::Json, &mut json, |_| {})
        .await
        .unwrap();
    let text = String::from_utf8(json).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), table.rows.len());
    let first = &rows[0];
    for c in COLUMNS {
        assert!(first.get(c).is_some(), "{c}");
    }
    for r in &rows {
        assert_eq!(
            r["gross_pence"].as_i64().unwrap(),
            r["net_pence"].as_i64().unwrap() + r["vat_pence"].as_i64().unwrap()
        );
        assert!(r["unit_price_pence"].is_i64());
        assert!(r["quantity"].is_string());
    }
}
