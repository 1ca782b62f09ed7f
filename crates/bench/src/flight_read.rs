//! Arrow Flight: `DoGet` of a year of PI values (`pi.values`) beside the plain SQL read of the
//! same rows in the same run.
//!
//! Loads N signed-off annual returns of 2005/06 (district councils) with K indicator values each
//! (2,000 × 10, or 20,000 × 10 without `--quick`) into a fresh database, starts PI returns with
//! its Flight datasets on 127.0.0.1:0 and measures rows per second: (a) the hand-written join of
//! returns, values and organisations for that year, read with sqlx and every column decoded; (b)
//! a Flight client reading `{"dataset": "pi.values", "year": "2005/06"}` as the regulator over
//! loopback (access check, Arrow batches, IPC, gRPC, decode). Aim: (b) at least half of (a).

use std::time::Instant;

use almo_db::Db;
use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_testkit::{TestApp, TestDb, token};
use arrow_flight::{FlightClient, Ticket};
use chrono::Utc;
use futures::TryStreamExt;
use sea_orm::sqlx::{self, AssertSqlSafe};
use sea_orm::{ConnectionTrait, DatabaseBackend, EntityTrait, Set, TransactionTrait};

use crate::Opts;
use crate::pi_rows::{Col, DecodeColumns};
use crate::report::{Aim, Record};

const YEAR: i32 = 2005;
const INDICATORS: usize = 10;

/// The same rows as `pi.values` for the regulator and that year, as an analyst would write it.
const PLAIN_SQL: &str = "SELECT r.organisation_id, o.name, o.authority_type, o.kind, \
     o.council_id, r.year, r.period_kind, r.period_number, v.indicator_code, v.split, v.value, \
     v.numerator, v.denominator, r.status, r.signed_off_by, r.signed_off_at, r.revision \
     FROM pi_returns r JOIN pi_return_values v ON v.return_id = r.id \
     JOIN organisations o ON o.id = r.organisation_id \
     WHERE r.year = 2005 AND r.status IN ('submitted', 'signed_off') AND v.current = TRUE \
     ORDER BY r.id, v.indicator_code, v.split";

/// How [`PLAIN_SQL`]'s columns are decoded, in its order.
const PLAIN_SQL_COLUMNS: [Col; 17] = {
    use Col::*;
    [
        Text, Text, OptText, Text, OptText, Int, Text, Int, Text, Text, Real, OptReal, OptReal,
        Text, OptText, OptTime, Int,
    ]
};

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let returns = if opts.quick { 2_000 } else { 20_000 };
    let rounds = if opts.quick { 3 } else { 5 };
    let test_db = TestDb::new().await?;
    let db = test_db.db.clone();
    let started = Instant::now();
    load(&db, returns).await?;
    if db.conn().get_database_backend() == DatabaseBackend::Postgres {
        db.conn()
            .execute_unprepared("ANALYZE organisations, pi_returns, pi_return_values")
            .await?;
    }
    let rows = returns * INDICATORS;
    eprintln!(
        "flight-read: loaded {rows} values in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let app = TestApp::spawn_on(
        almo_testkit::default_args(),
        vec![
            almo_pi_returns::mount(),
            almo_flight::mount(vec![almo_pi_returns::flight_datasets]),
        ],
        test_db,
    )
    .await?;
    let channel = crate::load::channels(app.addr, 1).await?.remove(0);
    let mut client = FlightClient::new(channel);
    client.add_header(
        "authorization",
        &format!("Bearer {}", token("RSH", almo_auth::Role::Regulator)),
    )?;
    let ticket = Ticket::new(r#"{"dataset": "pi.values", "year": "2005/06"}"#);

    let (mut sql_best, mut flight_best) = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        // Side by side, alternating, so both see the same cache and machine state.
        let t = Instant::now();
        let n = plain_sql(&db).await?;
        sql_best = sql_best.min(t.elapsed().as_secs_f64());
        anyhow::ensure!(n == rows, "plain SQL read {n} rows, not {rows}");
        let t = Instant::now();
        let n: usize = client
            .do_get(ticket.clone())
            .await?
            .try_fold(0, |n, b| async move { Ok(n + b.num_rows()) })
            .await?;
        flight_best = flight_best.min(t.elapsed().as_secs_f64());
        anyhow::ensure!(n == rows, "Flight read {n} rows, not {rows}");
    }
    let (sql_rate, flight_rate) = (rows as f64 / sql_best, rows as f64 / flight_best);
    eprintln!(
        "flight-read: {rows} rows, plain SQL {sql_rate:.0} rows/s, Flight DoGet {flight_rate:.0} \
         rows/s, ratio {:.2}",
        flight_rate / sql_rate
    );
    let mut app = app;
    app.shutdown().await?;
    Ok(vec![
        Record::new(
            format!("Flight DoGet pi.values / plain SQL read, {rows} values"),
            flight_rate,
            "rows/s",
        )
        .baseline(sql_rate)
        .aim(Aim::RatioAtLeast(0.5)),
    ])
}

/// Reads [`PLAIN_SQL`] with sqlx, decoding every column; the number of rows.
async fn plain_sql(db: &Db) -> anyhow::Result<usize> {
    macro_rules! read {
        ($pool:expr) => {{
            let mut rows = sqlx::query(AssertSqlSafe(PLAIN_SQL)).fetch($pool);
            let mut n = 0usize;
            let mut checksum = 0f64;
            while let Some(r) = rows.try_next().await? {
                checksum += r.decode_columns(0, &PLAIN_SQL_COLUMNS)?;
                n += 1;
            }
            std::hint::black_box(checksum);
            n
        }};
    }
    Ok(match db.conn().get_database_backend() {
        DatabaseBackend::Postgres => read!(db.conn().get_postgres_connection_pool()),
        _ => read!(db.conn().get_sqlite_connection_pool()),
    })
}

/// N district councils, each with a signed-off 2005/06 return of [`INDICATORS`] values.
async fn load(db: &Db, n: usize) -> anyhow::Result<()> {
    let txn = db.conn().begin().await?;
    let now = Utc::now();
    let org =
        |id: String, kind: &str, ty: Option<&str>| crate::pi_rows::organisation(id, kind, ty, now);
    organisation::Entity::insert(org("RSH".into(), "regulator", None))
        .exec_without_returning(&txn)
        .await?;
    let ids: Vec<String> = (0..n).map(|i| format!("E07F{i:06}")).collect();
    // 100 returns of 10 values a statement: well inside SQLite's 32,766 bound variables.
    for chunk in ids.chunks(100) {
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
        let values = chunk.iter().enumerate().flat_map(|(i, id)| {
            (0..INDICATORS).map(move |k| pi_return_value::ActiveModel {
                return_id: Set(format!("{id}/{YEAR}/Y")),
                indicator_code: Set(format!("BENCH {k:02}")),
                split: Set(String::new()),
                sequence: Set(1),
                value: Set((10 + (i * 7919 + k * 31) % 90) as f64),
                numerator: Set(Some(((i + k) % 500) as f64)),
                denominator: Set(Some(500.0)),
                warnings: Set(String::new()),
                explanation: Set(String::new()),
                revision_reason: Set(String::new()),
                changed_by: Set("officer".into()),
                changed_at: Set(now),
                current: Set(true),
                ..Default::default()
            })
        });
        pi_return_value::Entity::insert_many(values)
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}
