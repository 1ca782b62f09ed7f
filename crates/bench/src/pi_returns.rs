//! PI returns: quartiles and the export, each beside the same work in plain SQL in the same run.
//!
//! Loads N signed-off annual returns (one value each of old BVPI 68, all of one authority type;
//! 100,000, or 5,000 with `--quick`) into a fresh database, starts the service on 127.0.0.1:0 and
//! measures over loopback: (1) `GetBenchmark` for that indicator and type — quartiles over all N
//! values, with the access check and the named positions — against the bare SQL read of the same
//! N values plus the same quartile computation (aim: p99 under 50 ms whatever N); (2)
//! `ExportReturns` of all N returns against the bare SQL read of the same rows (aim: at least
//! half its rate).

use std::time::{Duration, Instant};

use almo_auth::Role;
use almo_db::Db;
use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_proto::common::FinancialYear;
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{ExportReturnsRequest, GetBenchmarkRequest};
use almo_testkit::{TestApp, TestDb, authed};
use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, Set, TransactionTrait};

use crate::Opts;
use crate::load::ms;
use crate::report::{Aim, Record};

fn regulator<T>(msg: T) -> tonic::Request<T> {
    authed(msg, "RSH", Role::Regulator)
}

const CODE: &str = "old BVPI 68";
const YEAR: i32 = 2005;

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let values = if opts.quick { 5_000 } else { 100_000 };
    let rounds = if opts.quick { 5 } else { 20 };
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

    // (1) Quartiles.
    let bench_req = GetBenchmarkRequest {
        indicator_code: CODE.into(),
        year: Some(FinancialYear { start_year: YEAR }),
        authority_type: "district".into(),
        ..Default::default()
    };
    let first = client
        .get_benchmark(regulator(bench_req.clone()))
        .await?
        .into_inner();
    let mut calls = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let b = client
            .get_benchmark(regulator(bench_req.clone()))
            .await?
            .into_inner();
        calls.push(t.elapsed());
        anyhow::ensure!(b.count as usize == values, "every value counted");
    }
    calls.sort();
    let p99 = calls[((calls.len() as f64 * 0.99) as usize).min(calls.len() - 1)];
    let t = Instant::now();
    let mut sql_q1 = 0.0;
    for _ in 0..rounds {
        sql_q1 = sql_quartile(&db).await?;
    }
    let sql = t.elapsed() / rounds as u32;
    // The service reports quartiles to one place more than the indicator (whole days here).
    anyhow::ensure!(
        (sql_q1 * 10.0).round() / 10.0 == first.q1,
        "the two computations agree"
    );
    eprintln!(
        "quartiles over {values} values: GetBenchmark p99 {:.1} ms, plain SQL + sort {:.1} ms",
        ms(p99),
        ms(sql),
    );

    // (2) Export.
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
    let export = t.elapsed();
    anyhow::ensure!(exported == values, "every return exported");
    let t = Instant::now();
    let rows = db
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(
            db.conn().get_database_backend(),
            "SELECT r.id, r.organisation_id, r.status, v.indicator_code, v.split, v.value \
             FROM pi_returns r JOIN pi_return_values v ON v.return_id = r.id \
             WHERE r.year = 2005 AND v.current ORDER BY r.id",
        ))
        .await?;
    let plain = t.elapsed();
    anyhow::ensure!(rows.len() == values, "the plain read sees every return");
    let per_sec = |d: Duration| values as f64 / d.as_secs_f64();
    eprintln!(
        "export: ExportReturns {:.0} returns/s, plain SQL {:.0} rows/s",
        per_sec(export),
        per_sec(plain)
    );
    Ok(vec![
        Record::new(
            format!("GetBenchmark p99 / plain SQL + sort, {values} values"),
            ms(p99),
            "ms",
        )
        .baseline(ms(sql))
        .aim(Aim::AtMost(50.0)),
        Record::new(
            format!("ExportReturns / plain SQL read, {values} returns"),
            per_sec(export),
            "returns/s",
        )
        .baseline(per_sec(plain))
        .aim(Aim::RatioAtLeast(0.5)),
    ])
}

/// The bare read of the same values and the same interpolation, no service around it.
async fn sql_quartile(db: &Db) -> anyhow::Result<f64> {
    let rows = db
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(
            db.conn().get_database_backend(),
            "SELECT v.value AS value FROM pi_return_values v \
             JOIN pi_returns r ON r.id = v.return_id \
             JOIN organisations o ON o.id = r.organisation_id \
             WHERE v.indicator_code = 'old BVPI 68' AND v.split = '' AND v.current \
             AND r.year = 2005 AND r.period_kind = 'year' AND r.status = 'signed_off' \
             AND o.authority_type = 'district' ORDER BY v.value",
        ))
        .await?;
    let v: Vec<f64> = rows
        .iter()
        .map(|r| r.try_get::<f64>("", "value"))
        .collect::<Result<_, _>>()?;
    let h = (v.len() - 1) as f64 * 0.25;
    let lo = h.floor() as usize;
    Ok(v[lo] + (h - lo as f64) * (v[h.ceil() as usize] - v[lo]))
}

/// N district councils, each with a signed-off 2005/06 return carrying one relet-days figure;
/// plus the regulator the calls are made as.
async fn load(db: &Db, n: usize) -> anyhow::Result<()> {
    let txn = db.conn().begin().await?;
    let now = Utc::now();
    let org = |id: String, kind: &str, ty: Option<&str>| organisation::ActiveModel {
        id: Set(id.clone()),
        name: Set(format!("Bench {id}")),
        kind: Set(kind.into()),
        authority_type: Set(ty.map(String::from)),
        region: Set(None),
        council_id: Set(None),
        section27_consent_date: Set(None),
        go_live_date: Set(None),
        agreement_end_date: Set(None),
        end_date: Set(None),
        stock_size: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
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
        pi_return::Entity::insert_many(chunk.iter().map(|id| pi_return::ActiveModel {
            id: Set(format!("{id}/{YEAR}/Y")),
            organisation_id: Set(id.clone()),
            year: Set(YEAR),
            period_kind: Set("year".into()),
            period_number: Set(1),
            status: Set("signed_off".into()),
            deadline_date: Set(NaiveDate::from_ymd_opt(YEAR + 1, 6, 30).unwrap()),
            late: Set(false),
            submitted_by: Set(Some("officer".into())),
            submitted_at: Set(Some(now)),
            signed_off_by: Set(Some("certifier".into())),
            signed_off_at: Set(Some(now)),
            returned_reason: Set(None),
            revision: Set(0),
            survey_sample_size: Set(None),
            survey_method: Set(None),
            created_by: Set("officer".into()),
            version: Set(3),
            created_at: Set(now),
            updated_at: Set(now),
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
