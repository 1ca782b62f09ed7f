//! The national-scale benchmark: the whole sector's history loaded through the service's own
//! bulk write path, then the regulator's reads of it, each beside its plain baseline.
//!
//! 1. A generated sector (`national/sector.rs`): 1,600 organisations, a fifth of them ALMOs
//!    under their councils, peer groups, 30 measures, four quarters and the year, 25 years
//!    (2000/01-2024/25): 200,000 returns, about 3.9 million values. `--quick` (CI): 80
//!    organisations, 3 years. `ALMO_BENCH_NATIONAL_ORGS` and `ALMO_BENCH_NATIONAL_YEARS` set
//!    another size.
//! 2. The load: every year's returns streamed to `ImportReturns` as the operator, in batches of
//!    [`BATCH`] returns (each a transaction, validated value by value), against the same rows
//!    written into a fresh schema of the same server by `COPY` (PostgreSQL) or multi-row
//!    `INSERT`s in one transaction (SQLite). Aim: at least a third of the baseline's rate.
//! 3. The reads, on the loaded database with the indexes the migrations make and statistics as
//!    autovacuum leaves them after a load (`ANALYZE`): `GetBenchmark` quartiles by authority type
//!    and by peer group over many calls (p50, p99; aim p99 under 200 ms); the outstanding and
//!    late list for the last year; `ExportReturns` of the last year and of the whole history
//!    against the plain SQL read of the same rows (aims: under 60 s, at least half the rate).

mod sector;

use std::time::{Duration, Instant};

use almo_auth::Role;
use almo_db::{Backend, Db};
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::pi_returns as pb;
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_testkit::{TestApp, TestDb, authed};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use sea_orm::sqlx::QueryBuilder;
use tonic::transport::Channel;

use crate::Opts;
use crate::load::ms;
use crate::report::{Aim, Record};
use sector::{OPERATOR, REGULATOR, Sector};

/// Returns per ImportReturns batch (one transaction each).
const BATCH: usize = 250;

type Client = PiReturnsServiceClient<Channel>;

fn as_operator<T>(msg: T) -> tonic::Request<T> {
    authed(msg, OPERATOR, Role::Admin)
}

fn as_regulator<T>(msg: T) -> tonic::Request<T> {
    authed(msg, REGULATOR, Role::Regulator)
}

fn env_usize(name: &str) -> anyhow::Result<Option<usize>> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}")))
        .transpose()
}

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let orgs =
        env_usize("ALMO_BENCH_NATIONAL_ORGS")?.unwrap_or(if opts.quick { 80 } else { 1_600 });
    let years =
        env_usize("ALMO_BENCH_NATIONAL_YEARS")?.unwrap_or(if opts.quick { 3 } else { 25 }) as i32;
    let calls = if opts.quick { 100 } else { 1_000 };
    let sector = Sector::new(orgs, (2025 - years)..=2024);
    let last = *sector.years.end();

    let test_db = TestDb::new().await?;
    sector.write_directory(&test_db.db).await?;
    let app = TestApp::spawn_on(
        almo_testkit::default_args(),
        vec![almo_pi_returns::mount()],
        test_db,
    )
    .await?;
    let channel = crate::load::channels(app.addr, 1).await?.remove(0);
    let mut client = PiReturnsServiceClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    client
        .import_catalogue(as_operator(pb::ImportCatalogueRequest {
            request_id: "national-catalogue".into(),
            indicators: sector
                .added
                .iter()
                .map(almo_pi_returns::definition_to_proto)
                .collect(),
        }))
        .await?;

    // (1) The load through ImportReturns, a stream a year (each well inside the per-call time
    // limit), timed without the generation of the figures.
    let (mut returns, mut values) = (0usize, 0usize);
    let mut import = Duration::ZERO;
    let mut generator = sector.generator();
    for year in sector.years.clone() {
        let year_returns = generator.year(year);
        let batches: Vec<pb::ImportReturnsRequest> = year_returns
            .chunks(BATCH)
            .enumerate()
            .map(|(k, chunk)| pb::ImportReturnsRequest {
                request_id: format!("national-{year}-{k}"),
                returns: chunk.to_vec(),
            })
            .collect();
        let started = Instant::now();
        let done = client
            .import_returns(as_operator(tokio_stream::iter(batches)))
            .await?
            .into_inner();
        import += started.elapsed();
        anyhow::ensure!(
            done.returns_imported as usize == year_returns.len(),
            "every return of {year} imported: {done:?}"
        );
        returns += done.returns_imported as usize;
        values += done.values_imported as usize;
        eprintln!(
            "{year}: {} returns, {} values; {:.1} s so far",
            done.returns_imported,
            done.values_imported,
            import.as_secs_f64()
        );
    }
    let rows = (returns + values) as f64;
    let import_rate = rows / import.as_secs_f64();

    // The baseline: the same rows into a fresh schema, the plainest way the server takes them.
    let base = TestDb::new().await?;
    sector.write_directory(&base.db).await?;
    let mut baseline = Duration::ZERO;
    let mut generator = sector.generator();
    for year in sector.years.clone() {
        let year_returns = generator.year(year);
        let started = Instant::now();
        plain_write(&base.db, &year_returns).await?;
        baseline += started.elapsed();
    }
    drop(base);
    let baseline_rate = rows / baseline.as_secs_f64();
    let how = match app.db.backend() {
        Backend::Postgres => "COPY",
        Backend::Sqlite => "multi-row INSERTs",
    };
    eprintln!(
        "load: {returns} returns, {values} values: ImportReturns {:.1} s ({import_rate:.0} rows/s), \
         {how} {:.1} s ({baseline_rate:.0} rows/s)",
        import.as_secs_f64(),
        baseline.as_secs_f64()
    );
    if app.db.backend() == Backend::Postgres {
        // What autovacuum's analyze does to a live database within a minute of such a load.
        app.db
            .conn()
            .execute_unprepared(
                "ANALYZE organisations, peer_group_members, pi_returns, pi_return_values",
            )
            .await?;
        let _ = app
            .db
            .conn()
            .execute_unprepared("ANALYZE pi_benchmark_points")
            .await;
    }
    let size = format!("{orgs} organisations × {years} years, {values} values");
    let mut records = vec![
        Record::new(
            format!("ImportReturns / {how} of the same rows, {size}"),
            import_rate,
            "rows/s",
        )
        .baseline(baseline_rate)
        .aim(Aim::RatioAtLeast(0.33)),
    ];

    // (2) Quartiles, by authority type and by peer group.
    let mut client = client.max_decoding_message_size(256 << 20);
    for by_type in [true, false] {
        let mut times = Vec::with_capacity(calls);
        for i in 0..calls {
            let code = sector::MEASURES[i % sector::MEASURES.len()];
            let year = *sector.years.start() + (i / sector::MEASURES.len()) as i32 % years;
            let mut req = pb::GetBenchmarkRequest {
                indicator_code: code.into(),
                year: Some(FinancialYear { start_year: year }),
                ..Default::default()
            };
            if by_type {
                req.authority_type = sector.authority_types().nth(i % 4).expect("four").into();
            } else {
                req.peer_group_id = sector.peer_groups[i % sector.peer_groups.len()].id.clone();
            }
            let started = Instant::now();
            let b = client.get_benchmark(as_regulator(req)).await?.into_inner();
            times.push(started.elapsed());
            anyhow::ensure!(b.count > 0, "{code} {year}: a benchmark of something");
        }
        times.sort();
        let pct = |p: f64| ms(times[((times.len() as f64 * p) as usize).min(times.len() - 1)]);
        let by = if by_type {
            "authority type"
        } else {
            "peer group"
        };
        eprintln!(
            "GetBenchmark by {by}: p50 {:.1} ms, p99 {:.1} ms over {calls} calls",
            pct(0.5),
            pct(0.99)
        );
        records.push(Record::new(
            format!("GetBenchmark by {by}, p50 over {calls} calls, {size}"),
            pct(0.5),
            "ms",
        ));
        records.push(
            Record::new(
                format!("GetBenchmark by {by}, p99 over {calls} calls, {size}"),
                pct(0.99),
                "ms",
            )
            .aim(Aim::AtMost(200.0)),
        );
    }

    // (3) The outstanding and late list of the last year.
    let started = Instant::now();
    let (listed, late) = outstanding(&mut client, last).await?;
    let took = started.elapsed();
    eprintln!(
        "ListOutstandingReturns {last}: {listed} organisations ({late} late) in {:.1} ms",
        ms(took)
    );
    records.push(Record::new(
        format!("ListOutstandingReturns, a year of {listed} organisations, every page"),
        ms(took),
        "ms",
    ));

    // (4) Exports: the last year for the whole sector, then the whole history.
    for year in [Some(last), None] {
        let what = match year {
            Some(y) => format!("one year ({y})"),
            None => "the whole history".to_string(),
        };
        let started = Instant::now();
        let exported = export(&mut client, year).await?;
        let export_time = started.elapsed();
        let started = Instant::now();
        let plain = crate::pi_rows::plain_export(&app.db, year).await?;
        let plain_time = started.elapsed();
        anyhow::ensure!(
            plain == exported,
            "the plain read sees the exported returns ({plain} and {exported})"
        );
        let rate = |d: Duration| exported as f64 / d.as_secs_f64();
        eprintln!(
            "ExportReturns {what}: {exported} returns in {:.1} s ({:.0}/s); plain SQL {:.1} s ({:.0}/s)",
            export_time.as_secs_f64(),
            rate(export_time),
            plain_time.as_secs_f64(),
            rate(plain_time)
        );
        records.push(
            Record::new(
                format!("ExportReturns {what}, time, {exported} returns"),
                export_time.as_secs_f64(),
                "s",
            )
            .aim(Aim::AtMost(60.0)),
        );
        records.push(
            Record::new(
                format!("ExportReturns {what} / plain SQL read, {exported} returns"),
                rate(export_time),
                "returns/s",
            )
            .baseline(rate(plain_time))
            .aim(Aim::RatioAtLeast(0.5)),
        );
    }
    Ok(records)
}

/// Every organisation expected to report for `year`'s annual return, every page: how many,
/// and how many were late.
async fn outstanding(client: &mut Client, year: i32) -> anyhow::Result<(usize, usize)> {
    let (mut listed, mut late, mut token) = (0, 0, String::new());
    loop {
        let page = client
            .list_outstanding_returns(as_regulator(pb::ListOutstandingReturnsRequest {
                period: Some(Period {
                    year: Some(FinancialYear { start_year: year }),
                    kind: PeriodKind::Year as i32,
                    number: 1,
                }),
                page_size: 1000,
                page_token: token,
            }))
            .await?
            .into_inner();
        listed += page.expected.len();
        late += page.expected.iter().filter(|e| e.late).count();
        if page.next_page_token.is_empty() {
            return Ok((listed, late));
        }
        token = page.next_page_token;
    }
}

/// The whole export of `year` (or of every year), as the regulator: how many returns.
async fn export(client: &mut Client, year: Option<i32>) -> anyhow::Result<usize> {
    let mut stream = client
        .export_returns(as_regulator(pb::ExportReturnsRequest {
            year: year.map(|y| FinancialYear { start_year: y }),
            ..Default::default()
        }))
        .await?
        .into_inner();
    let mut n = 0;
    while let Some(batch) = stream.message().await? {
        n += batch.pi_returns.len();
    }
    Ok(n)
}

const RETURN_COLUMNS: &str = "id, organisation_id, year, period_kind, period_number, status, \
     deadline_date, late, submitted_by, submitted_at, signed_off_by, signed_off_at, \
     returned_reason, revision, survey_sample_size, survey_method, created_by, version, \
     created_at, updated_at";
const VALUE_COLUMNS: &str = "return_id, indicator_code, split, sequence, value, numerator, \
     denominator, warnings, explanation, revision_reason, changed_by, changed_at, current";

/// A return's row as the service writes it on import.
struct ReturnRow {
    id: String,
    org: String,
    year: i32,
    kind: &'static str,
    number: i32,
    deadline: NaiveDate,
    late: bool,
    submitted_by: String,
    submitted_at: DateTime<Utc>,
    signed_off_by: String,
    signed_off_at: DateTime<Utc>,
}

fn rows_of(r: &pb::ImportedReturn) -> ReturnRow {
    let p = r.period.as_ref().expect("generated");
    let year = p.year.as_ref().expect("generated").start_year;
    let quarter = p.kind == PeriodKind::Quarter as i32;
    let period = almo_pi_returns::domain::period::Period::new(
        year,
        if quarter {
            almo_pi_returns::domain::period::PeriodKind::Quarter
        } else {
            almo_pi_returns::domain::period::PeriodKind::Year
        },
        p.number,
    )
    .expect("generated");
    let t = |ts: &Option<prost_types::Timestamp>| {
        let ts = ts.as_ref().expect("generated");
        DateTime::from_timestamp(ts.seconds, ts.nanos as u32).expect("generated")
    };
    let submitted_at = t(&r.submit_time);
    ReturnRow {
        id: if quarter {
            format!("{}/{year}/Q{}", r.organisation_id, p.number)
        } else {
            format!("{}/{year}/Y", r.organisation_id)
        },
        org: r.organisation_id.clone(),
        year,
        kind: period.kind.as_str(),
        number: p.number,
        deadline: period.deadline(),
        late: period.late_on(submitted_at.date_naive()),
        submitted_by: r.submitted_by.clone(),
        submitted_at,
        signed_off_by: r.signed_off_by.clone(),
        signed_off_at: t(&r.sign_off_time),
    }
}

/// Writes `returns` and their values the plainest way: `COPY` on PostgreSQL, multi-row
/// `INSERT`s in one transaction on SQLite.
async fn plain_write(db: &Db, returns: &[pb::ImportedReturn]) -> anyhow::Result<()> {
    let rows: Vec<ReturnRow> = returns.iter().map(rows_of).collect();
    match db.backend() {
        Backend::Postgres => {
            let pool = db.conn().get_postgres_connection_pool();
            let mut tx = pool.begin().await?;
            let ts = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S%:z").to_string();
            let mut text = String::new();
            for r in &rows {
                let b = if r.late { "t" } else { "f" };
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\tsigned_off\t{}\t{b}\t{}\t{}\t{}\t{}\t\\N\t0\t\\N\t\\N\t{OPERATOR}\t1\t{}\t{}\n",
                    r.id, r.org, r.year, r.kind, r.number, r.deadline, r.submitted_by,
                    ts(&r.submitted_at), r.signed_off_by, ts(&r.signed_off_at),
                    ts(&r.submitted_at), ts(&r.signed_off_at)
                ));
            }
            let mut copy = tx
                .copy_in_raw(&format!("COPY pi_returns ({RETURN_COLUMNS}) FROM STDIN"))
                .await?;
            copy.send(text.as_bytes()).await?;
            copy.finish().await?;
            let mut copy = tx
                .copy_in_raw(&format!(
                    "COPY pi_return_values ({VALUE_COLUMNS}) FROM STDIN"
                ))
                .await?;
            let mut text = String::with_capacity(1 << 20);
            for (r, ret) in rows.iter().zip(returns) {
                for v in &ret.values {
                    text.push_str(&format!(
                        "{}\t{}\t{}\t1\t{}\t\\N\t\\N\t\t\t\t{}\t{}\tt\n",
                        r.id,
                        v.indicator_code,
                        v.split,
                        v.value.expect("generated"),
                        r.submitted_by,
                        ts(&r.submitted_at)
                    ));
                }
                if text.len() > 1 << 20 {
                    copy.send(text.as_bytes()).await?;
                    text.clear();
                }
            }
            copy.send(text.as_bytes()).await?;
            copy.finish().await?;
            tx.commit().await?;
        }
        Backend::Sqlite => {
            let pool = db.conn().get_sqlite_connection_pool();
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(500) {
                let mut q =
                    QueryBuilder::new(format!("INSERT INTO pi_returns ({RETURN_COLUMNS}) "));
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.id.clone())
                        .push_bind(r.org.clone())
                        .push_bind(r.year)
                        .push_bind(r.kind)
                        .push_bind(r.number)
                        .push_bind("signed_off")
                        .push_bind(r.deadline)
                        .push_bind(r.late)
                        .push_bind(r.submitted_by.clone())
                        .push_bind(r.submitted_at)
                        .push_bind(r.signed_off_by.clone())
                        .push_bind(r.signed_off_at)
                        .push_bind(None::<String>)
                        .push_bind(0i32)
                        .push_bind(None::<i32>)
                        .push_bind(None::<String>)
                        .push_bind(OPERATOR)
                        .push_bind(1i64)
                        .push_bind(r.submitted_at)
                        .push_bind(r.signed_off_at);
                });
                q.build().execute(&mut *tx).await?;
            }
            let values: Vec<(&ReturnRow, &pb::ValueInput)> = rows
                .iter()
                .zip(returns)
                .flat_map(|(r, ret)| ret.values.iter().map(move |v| (r, v)))
                .collect();
            for chunk in values.chunks(500) {
                let mut q =
                    QueryBuilder::new(format!("INSERT INTO pi_return_values ({VALUE_COLUMNS}) "));
                q.push_values(chunk, |mut b, (r, v)| {
                    b.push_bind(r.id.clone())
                        .push_bind(v.indicator_code.clone())
                        .push_bind(v.split.clone())
                        .push_bind(1i32)
                        .push_bind(v.value)
                        .push_bind(None::<f64>)
                        .push_bind(None::<f64>)
                        .push_bind("")
                        .push_bind("")
                        .push_bind("")
                        .push_bind(r.submitted_by.clone())
                        .push_bind(r.submitted_at)
                        .push_bind(true);
                });
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}
