//! PI quartiles at the sector's scale: `GetBenchmark` p50 and p99 as the history grows, beside the
//! plain SQL read of the same figures from every return and value plus the same sort.
//!
//! The sector as the regulator sees it: 1,600 councils of four authority types, each with a
//! signed-off annual return every year carrying 30 indicators (5 with `--quick`). The history is
//! loaded in two steps, a few recent years and then many earlier ones (2 then 25 years; 2 then 6
//! with `--quick`), and after each step the regulator asks for the quartiles of one indicator in
//! the latest year across one authority type, with every position named and its prior-year
//! figure. Aim: p99 at most 50 ms at every size. Values are written as a loader would (the rows
//! directly, then `benchmark_points::refresh_returns` for those returns, set-based).

use std::time::Instant;

use almo_auth::Role;
use almo_db::Db;
use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_proto::common::FinancialYear;
use almo_proto::pi_returns::GetBenchmarkRequest;
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_testkit::{TestApp, TestDb, authed};
use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set, TransactionTrait};

use crate::Opts;
use crate::load::ms;
use crate::report::{Aim, Record};

const CODE: &str = "old BVPI 68";
/// The year asked about, the latest loaded: the indicator is in force then.
const YEAR: i32 = 2005;
const ORGANISATIONS: usize = 1_600;
const TYPES: [&str; 4] = ["london_borough", "metropolitan", "unitary", "district"];
const ASKED: &str = "district";

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let indicators = if opts.quick { 5 } else { 30 };
    let steps: &[i32] = if opts.quick { &[2, 6] } else { &[2, 25] };
    let calls = if opts.quick { 100 } else { 500 };
    let test_db = TestDb::new().await?;
    let db = test_db.db.clone();
    load_sector(&db).await?;
    let app = TestApp::spawn_on(
        almo_testkit::default_args(),
        vec![almo_pi_returns::mount()],
        test_db,
    )
    .await?;
    let channel = crate::load::channels(app.addr, 1).await?.remove(0);
    let mut client = PiReturnsServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let req = GetBenchmarkRequest {
        indicator_code: CODE.into(),
        year: Some(FinancialYear { start_year: YEAR }),
        authority_type: ASKED.into(),
        ..Default::default()
    };
    let members = ORGANISATIONS / TYPES.len();
    let mut records = Vec::new();
    let mut loaded = 0;
    for &years in steps {
        let t = Instant::now();
        let first = YEAR - years + 1;
        load_years(&db, first..=YEAR - loaded, indicators).await?;
        loaded = years;
        let values = ORGANISATIONS * indicators * years as usize;
        if db.conn().get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // What autovacuum does to a live database within a minute of such a load.
            db.conn()
                .execute_unprepared(
                    "ANALYZE organisations, pi_returns, pi_return_values, pi_benchmark_points",
                )
                .await?;
        }
        eprintln!(
            "{years} years of {ORGANISATIONS} returns, {values} values, loaded in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let first = client
            .get_benchmark(regulator(req.clone()))
            .await?
            .into_inner();
        anyhow::ensure!(first.count as usize == members, "every member counted");
        anyhow::ensure!(first.positions.len() == members, "every member named");
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let t = Instant::now();
            let b = client
                .get_benchmark(regulator(req.clone()))
                .await?
                .into_inner();
            times.push(t.elapsed());
            anyhow::ensure!(b.count == first.count, "the same answer each time");
        }
        times.sort();
        let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        let (p50, p99) = (at(0.5), at(0.99));
        // The plain read, as often, timed on average.
        let t = Instant::now();
        let mut sql_q1 = 0.0;
        for _ in 0..calls.min(50) {
            sql_q1 = sql_quartile(&db).await?;
        }
        let sql = t.elapsed() / calls.min(50) as u32;
        // The service reports quartiles to one place more than the indicator (whole days).
        anyhow::ensure!(
            (sql_q1 * 10.0).round() / 10.0 == first.q1,
            "the two computations agree"
        );
        eprintln!(
            "quartiles of {members} of {values} values: GetBenchmark p50 {:.1} ms, p99 {:.1} ms; \
             plain SQL + sort {:.1} ms",
            ms(p50),
            ms(p99),
            ms(sql)
        );
        let size = format!("{members} {ASKED}s of {ORGANISATIONS}, {years} years, {values} values");
        records.push(
            Record::new(
                format!("GetBenchmark p50 / plain SQL + sort, {size}"),
                ms(p50),
                "ms",
            )
            .baseline(ms(sql)),
        );
        records.push(
            Record::new(
                format!("GetBenchmark p99 / plain SQL + sort, {size}"),
                ms(p99),
                "ms",
            )
            .baseline(ms(sql))
            .aim(Aim::AtMost(50.0)),
        );
    }
    Ok(records)
}

fn regulator<T>(msg: T) -> tonic::Request<T> {
    authed(msg, "RSH", Role::Regulator)
}

/// The bare read of the same figures from every return and value, and the same interpolation.
async fn sql_quartile(db: &Db) -> anyhow::Result<f64> {
    let rows = db
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(
            db.conn().get_database_backend(),
            format!(
                "SELECT v.value AS value FROM pi_return_values v \
                 JOIN pi_returns r ON r.id = v.return_id \
                 JOIN organisations o ON o.id = r.organisation_id \
                 WHERE v.indicator_code = '{CODE}' AND v.split = '' AND v.current \
                 AND r.year = {YEAR} AND r.period_kind = 'year' AND r.status = 'signed_off' \
                 AND o.authority_type = '{ASKED}' ORDER BY v.value"
            ),
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

fn organisation_id(i: usize) -> String {
    format!("E0{}B{i:05}", i % TYPES.len())
}

/// The regulator and 1,600 councils, a quarter of each type.
async fn load_sector(db: &Db) -> anyhow::Result<()> {
    let now = Utc::now();
    let org =
        |id: String, kind: &str, ty: Option<&str>| crate::pi_rows::organisation(id, kind, ty, now);
    let txn = db.conn().begin().await?;
    organisation::Entity::insert(org("RSH".into(), "regulator", None))
        .exec_without_returning(&txn)
        .await?;
    let all: Vec<usize> = (0..ORGANISATIONS).collect();
    for chunk in all.chunks(500) {
        organisation::Entity::insert_many(
            chunk
                .iter()
                .map(|&i| org(organisation_id(i), "council", Some(TYPES[i % TYPES.len()]))),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Every council's signed-off return for each of `years`, with `indicators` figures each (the
/// first the indicator asked about, in whole days), then their benchmark points; a year per
/// transaction.
async fn load_years(
    db: &Db,
    years: std::ops::RangeInclusive<i32>,
    indicators: usize,
) -> anyhow::Result<()> {
    let now = Utc::now();
    for year in years {
        let txn = db.conn().begin().await?;
        let ids: Vec<(usize, String)> = (0..ORGANISATIONS)
            .map(|i| (i, format!("{}/{year}/Y", organisation_id(i))))
            .collect();
        for chunk in ids.chunks(500) {
            pi_return::Entity::insert_many(chunk.iter().map(|(i, id)| {
                crate::pi_rows::signed_off_annual(id.clone(), organisation_id(*i), year, now)
            }))
            .exec_without_returning(&txn)
            .await?;
            let values = chunk.iter().flat_map(|(i, id)| {
                (0..indicators).map(move |k| pi_return_value::ActiveModel {
                    return_id: Set(id.clone()),
                    indicator_code: Set(if k == 0 {
                        CODE.into()
                    } else {
                        format!("BENCH {k}")
                    }),
                    split: Set(String::new()),
                    sequence: Set(1),
                    value: Set((10 + (i * 7919 + k * 31 + year as usize) % 90) as f64),
                    numerator: Set(None),
                    denominator: Set(None),
                    warnings: Set(String::new()),
                    explanation: Set(String::new()),
                    revision_reason: Set(String::new()),
                    changed_by: Set("officer".into()),
                    changed_at: Set(now),
                    current: Set(true),
                    ..Default::default()
                })
            });
            let values: Vec<_> = values.collect();
            for rows in values.chunks(1_000) {
                pi_return_value::Entity::insert_many(rows.to_vec())
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
        let ids: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();
        almo_pi_returns::benchmark_points::refresh_returns(&txn, &ids).await?;
        txn.commit().await?;
    }
    Ok(())
}
