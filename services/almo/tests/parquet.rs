//! `--format parquet` of `almo pi export`, `almo invoices pull` and `almo variances export`:
//! each file, read back, holds the rows the command's CSV (the gRPC reads) holds for the caller.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use almo_auth::Role;
use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, default_args, token};
use arrow_array::RecordBatch;
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sea_orm::EntityTrait;

/// The suite as `almo up` mounts it, with the demo data.
async fn suite() -> TestApp {
    let db = TestDb::new().await.unwrap();
    almo_pi_returns::seed_catalogue(db.db.conn()).await.unwrap();
    almo_directory::demo::seed(&db.db).await.unwrap();
    almo_pi_returns::demo::seed(&db.db).await.unwrap();
    almo_sla_charging::demo::seed(&db.db).await.unwrap();
    almo_delivery_plan::demo::seed(&db.db).await.unwrap();
    let mounts = vec![
        almo_directory::mount(),
        almo_delivery_plan::mount(),
        almo_sla_charging::mount(),
        almo_pi_returns::mount(),
        almo_flight::mount(vec![
            almo_pi_returns::flight_datasets,
            almo_sla_charging::flight_datasets,
            almo_delivery_plan::flight_datasets,
        ]),
    ];
    TestApp::spawn_on(default_args(), mounts, db).await.unwrap()
}

/// Runs `almo args...` against `app` as `org` in `role`; its stderr when it fails.
async fn almo(app: &TestApp, org: &str, role: Role, args: &[&str]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_almo"));
    cmd.args(args)
        .env("ALMO_ADDR", format!("http://{}", app.addr))
        .env("ALMO_TOKEN", token(org, role));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "almo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Each row of `batches` as text by column name (timestamps as microseconds).
fn rows(batches: &[RecordBatch]) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let row = b
                .schema()
                .fields()
                .iter()
                .zip(b.columns())
                .map(|(f, c)| {
                    let text = match c.data_type() {
                        DataType::Timestamp(..) => {
                            use arrow_array::cast::AsArray;
                            use arrow_array::types::TimestampMicrosecondType;
                            c.as_primitive::<TimestampMicrosecondType>()
                                .value(i)
                                .to_string()
                        }
                        _ => arrow_cast::display::array_value_to_string(c, i).unwrap(),
                    };
                    (f.name().clone(), text)
                })
                .collect();
            out.push(row);
        }
    }
    out
}

fn csv(path: &Path) -> Vec<Vec<(String, String)>> {
    let mut r = ::csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn get<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    &row.iter().find(|(k, _)| k == name).unwrap().1
}

#[tokio::test(flavor = "multi_thread")]
async fn pi_export_as_parquet_holds_the_csv_exports_figures() {
    let app = suite().await;
    let dir = tempfile::tempdir().unwrap();
    let (pq, cs) = (dir.path().join("pi.parquet"), dir.path().join("pi.csv"));
    for (org, role) in [
        (REGULATOR, Role::Regulator),
        (LAMBETH, Role::CouncilOfficer),
    ] {
        for (format, path) in [("parquet", &pq), ("csv", &cs)] {
            let out = path.to_str().unwrap();
            let args = [
                "pi", "export", "--year", "2001/02", "--format", format, "--out", out,
            ];
            almo(&app, org, role, &args).await;
        }
        let key = |r: &[(String, String)], period: &str| {
            let number = |c| get(r, c).parse::<f64>().unwrap().to_string();
            [
                get(r, "organisation_id").to_string(),
                get(r, "year").to_string(),
                period.to_string(),
                get(r, "indicator_code").to_string(),
                get(r, "split").to_string(),
                number("value"),
                get(r, "status").to_string(),
            ]
        };
        let from_parquet: BTreeSet<_> = rows(&parquet(&pq))
            .iter()
            .map(|r| key(r, get(r, "period")))
            .collect();
        let from_csv: BTreeSet<_> = csv(&cs)
            .iter()
            .map(|r| {
                key(
                    r,
                    if get(r, "period") == "year" {
                        "Y"
                    } else {
                        get(r, "period")
                    },
                )
            })
            .collect();
        assert!(!from_csv.is_empty());
        assert_eq!(from_parquet, from_csv, "{org}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_pull_as_parquet_holds_the_csv_pulls_rows() {
    use almo_sla_charging::demo::{LEEDS, LEEDS_ENE};
    let app = suite().await;
    let dir = tempfile::tempdir().unwrap();
    let (pq, cs) = (dir.path().join("inv.parquet"), dir.path().join("inv.csv"));
    for (org, role) in [
        (LEEDS, Role::CouncilFinance),
        (LEEDS_ENE, Role::AlmoFinance),
    ] {
        for (format, path) in [("parquet", &pq), ("csv", &cs)] {
            let out = path.to_str().unwrap();
            let args = ["invoices", "pull", "--format", format, "--output", out];
            almo(&app, org, role, &args).await;
        }
        let from_csv = csv(&cs);
        assert!(!from_csv.is_empty());
        assert_eq!(rows(&parquet(&pq)), from_csv, "{org}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_variance_export_holds_every_revision_of_the_callers_plans() {
    use almo_delivery_plan::demo::PLAN_ID;
    let app = suite().await;
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("variances.parquet");
    let out = pq.to_str().unwrap();
    let args = ["variances", "export", "--plan", PLAN_ID, "--output", out];
    almo(&app, LAMBETH, Role::CouncilOfficer, &args).await;
    let exported = rows(&parquet(&pq));
    let stored = almo_db::entity::dp_variance::Entity::find()
        .all(app.db.conn())
        .await
        .unwrap();
    assert!(!stored.is_empty());
    let revisions = |r: &[(String, String)]| {
        (
            get(r, "sender_record_id").to_string(),
            get(r, "revision").parse::<i32>().unwrap(),
            get(r, "superseded") == "true",
        )
    };
    let from_file: BTreeSet<_> = exported.iter().map(|r| revisions(r)).collect();
    let from_db: BTreeSet<_> = stored
        .iter()
        .filter(|v| v.plan_id == PLAN_ID)
        .map(|v| (v.sender_record_id.clone(), v.revision, v.superseded))
        .collect();
    assert_eq!(from_file, from_db);
    // Another council's officer may not export it.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_almo"));
    cmd.args(args)
        .env("ALMO_ADDR", format!("http://{}", app.addr))
        .env("ALMO_TOKEN", token(HARINGEY, Role::CouncilOfficer));
    let refused = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
}
