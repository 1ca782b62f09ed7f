//! PI returns: the quartiles and the export, each beside the same work in plain SQL in the same
//! run. The quartiles are measured at the sector's scale as the history grows (`pi_benchmark`).
//!
//! For the export: loads N signed-off annual returns (one value each of old BVPI 68, all of one
//! authority type; 100,000, or 5,000 with `--quick`) into a fresh database, starts the service on
//! 127.0.0.1:0 and measures over loopback
//! `ExportReturns` of all N returns against the bare SQL read of the same rows, every column the
//! export sends decoded by sqlx (aim: at least half its rate); best of three alternating runs each.

use std::time::{Duration, Instant};

use almo_auth::Role;
use almo_db::Db;
use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_proto::common::FinancialYear;
use almo_proto::pi_returns::ExportReturnsRequest;
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_testkit::{TestApp, TestDb, authed};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use sea_orm::sqlx::{self, AssertSqlSafe, Row};
use sea_orm::{ConnectionTrait, EntityTrait, Set, TransactionTrait};

use crate::Opts;
use crate::report::{Aim, Record};

fn regulator<T>(msg: T) -> tonic::Request<T> {
    authed(msg, "RSH", Role::Regulator)
}

const CODE: &str = "old BVPI 68";
const YEAR: i32 = 2005;

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let mut records = crate::pi_benchmark::run(opts).await?;
    let values = if opts.quick { 5_000 } else { 100_000 };
    let test_db = TestDb::new().await?;
    let db = test_db.db.clone();
    let started = Instant::now();
    load(&db, values).await?;
    if db.conn().get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // What autovacuum does to a live database within a minute of such a load; without
        // statistics PostgreSQL plans every query for near-empty tables.
        db.conn()
            .execute_unprepared("ANALYZE organisations, pi_returns, pi_return_values")
            .await?;
    }
    eprintln!(
        "loaded {values} returns in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let app = TestApp::spawn_on(
        almo_testkit::default_args(),
        vec![almo_pi_returns::mount()],
        test_db,
    )
    .await?;
    let channel = crate::load::channels(app.addr, 1).await?.remove(0);
    let mut client = PiReturnsServiceClient::new(channel).max_decoding_message_size(64 << 20);

    // The export, alternating with the plain read of the same rows, best of three each.
    let (mut export, mut plain) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        let t = Instant::now();
        let mut stream = client
            .export_returns(regulator(ExportReturnsRequest {
                year: Some(FinancialYear { start_year: YEAR }),
                ..Default::default()
            }))
            .await?
            .into_inner();
        let mut exported = 0usize;
        while let Some(batch) = stream.message().await? {
            exported += batch.pi_returns.len();
        }
        export = export.min(t.elapsed());
        anyhow::ensure!(exported == values, "every return exported");
        let t = Instant::now();
        let rows = plain_export(&db).await?;
        plain = plain.min(t.elapsed());
        anyhow::ensure!(rows == values, "the plain read sees every return");
    }
    let per_sec = |d: Duration| values as f64 / d.as_secs_f64();
    eprintln!(
        "export: ExportReturns {:.0} returns/s, plain SQL {:.0} returns/s",
        per_sec(export),
        per_sec(plain)
    );
    records.push(
        Record::new(
            format!("ExportReturns / plain SQL read, {values} returns"),
            per_sec(export),
            "returns/s",
        )
        .baseline(per_sec(plain))
        .aim(Aim::RatioAtLeast(0.5)),
    );
    Ok(records)
}

/// What `ExportReturns` sends the regulator for that year, as an analyst would read it: every
/// column of each submitted or signed-off return and of its current values.
const PLAIN_EXPORT: &str = "SELECT r.id, r.organisation_id, r.year, r.period_kind, \
     r.period_number, r.status, r.deadline_date, r.late, r.submitted_by, r.submitted_at, \
     r.signed_off_by, r.signed_off_at, r.returned_reason, r.revision, r.survey_sample_size, \
     r.survey_method, r.created_by, r.version, r.created_at, r.updated_at, v.id, \
     v.indicator_code, v.split, v.sequence, v.value, v.numerator, v.denominator, v.warnings, \
     v.explanation, v.revision_reason, v.changed_by, v.changed_at, v.current \
     FROM pi_returns r LEFT JOIN pi_return_values v ON v.return_id = r.id AND v.current = TRUE \
     WHERE r.year = 2005 AND r.status IN ('submitted', 'signed_off') \
     ORDER BY r.id, v.indicator_code, v.split";

/// Reads [`PLAIN_EXPORT`] with sqlx, decoding every column; the number of returns.
async fn plain_export(db: &Db) -> anyhow::Result<usize> {
    macro_rules! read {
        ($pool:expr) => {{
            let mut rows = sqlx::query(AssertSqlSafe(PLAIN_EXPORT)).fetch($pool);
            let (mut returns, mut last) = (0usize, String::new());
            let mut checksum = 0f64;
            while let Some(r) = rows.try_next().await? {
                let id: String = r.try_get(0)?;
                let _: (String, i32, String, i32, String, NaiveDate, bool) = (
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                    r.try_get(7)?,
                );
                let _: (Option<String>, Option<DateTime<Utc>>, Option<String>) =
                    (r.try_get(8)?, r.try_get(9)?, r.try_get(10)?);
                let _: (Option<DateTime<Utc>>, Option<String>, i32, Option<i32>) = (
                    r.try_get(11)?,
                    r.try_get(12)?,
                    r.try_get(13)?,
                    r.try_get(14)?,
                );
                let _: (Option<String>, String, i64, DateTime<Utc>, DateTime<Utc>) = (
                    r.try_get(15)?,
                    r.try_get(16)?,
                    r.try_get(17)?,
                    r.try_get(18)?,
                    r.try_get(19)?,
                );
                let _: (Option<i64>, Option<String>, Option<String>, Option<i32>) = (
                    r.try_get(20)?,
                    r.try_get(21)?,
                    r.try_get(22)?,
                    r.try_get(23)?,
                );
                let value: Option<f64> = r.try_get(24)?;
                let _: (Option<f64>, Option<f64>, Option<String>, Option<String>) = (
                    r.try_get(25)?,
                    r.try_get(26)?,
                    r.try_get(27)?,
                    r.try_get(28)?,
                );
                let _: (
                    Option<String>,
                    Option<String>,
                    Option<DateTime<Utc>>,
                    Option<bool>,
                ) = (
                    r.try_get(29)?,
                    r.try_get(30)?,
                    r.try_get(31)?,
                    r.try_get(32)?,
                );
                checksum += value.unwrap_or_default();
                if id != last {
                    returns += 1;
                    last = id;
                }
            }
            std::hint::black_box(checksum);
            returns
        }};
    }
    Ok(match db.conn().get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => read!(db.conn().get_postgres_connection_pool()),
        _ => read!(db.conn().get_sqlite_connection_pool()),
    })
}

/// N district councils, each with a signed-off 2005/06 return carrying one relet-days figure;
/// plus the regulator the calls are made as.
async fn load(db: &Db, n: usize) -> anyhow::Result<()> {
    let txn = db.conn().begin().await?;
    let now = Utc::now();
    let org =
        |id: String, kind: &str, ty: Option<&str>| crate::pi_rows::organisation(id, kind, ty, now);
    organisation::Entity::insert(org("RSH".into(), "regulator", None))
        .exec_without_returning(&txn)
        .await?;
    let ids: Vec<String> = (0..n).map(|i| format!("E07B{i:06}")).collect();
    for chunk in ids.chunks(500) {
        organisation::Entity::insert_many(
            chunk
                .iter()
                .map(|id| org(id.clone(), "council", Some("district"))),
        )
        .exec_without_returning(&txn)
        .await?;
        pi_return::Entity::insert_many(chunk.iter().map(|id| {
            crate::pi_rows::signed_off_annual(format!("{id}/{YEAR}/Y"), id.clone(), YEAR, now)
        }))
        .exec_without_returning(&txn)
        .await?;
        pi_return_value::Entity::insert_many(chunk.iter().enumerate().map(|(i, id)| {
            pi_return_value::ActiveModel {
                return_id: Set(format!("{id}/{YEAR}/Y")),
                indicator_code: Set(CODE.into()),
                split: Set(String::new()),
                sequence: Set(1),
                value: Set((10 + (i * 7919 + id.len() * 31) % 90) as f64),
                numerator: Set(None),
                denominator: Set(None),
                warnings: Set(String::new()),
                explanation: Set(String::new()),
                revision_reason: Set(String::new()),
                changed_by: Set("officer".into()),
                changed_at: Set(now),
                current: Set(true),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
