//! `almo-pi-bench`: benchmarking and export throughput of the PI returns service, each beside the
//! same work in plain SQL in the same run.
//!
//! It loads N signed-off annual returns (one value each of old BVPI 68, all of one authority
//! type) into a fresh database, starts the service on 127.0.0.1:0 and measures, over loopback:
//! (1) `GetBenchmark` for that indicator and type — quartiles over all N values, with the access
//! check and the named positions — against the bare SQL read of the same N values plus the same
//! quartile computation; (2) `ExportReturns` of all N returns against the bare SQL read of the
//! same rows. Run it with `--release`; debug figures say nothing.

use std::time::{Duration, Instant};

use almo_auth::{Minter, Role, TokenRequest};
use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_db::{ConnectConfig, Db};
use almo_proto::common::FinancialYear;
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{ExportReturnsRequest, GetBenchmarkRequest};
use almo_server::{DEV_ISSUER, DEV_SECRET, ServerArgs, ServiceContext};
use chrono::{NaiveDate, Utc};
use clap::Parser;
use sea_orm::{ConnectionTrait, EntityTrait, Set, TransactionTrait};

#[derive(Parser)]
#[command(
    name = "almo-pi-bench",
    about = "PI returns: benchmarking and export throughput"
)]
struct Cli {
    /// How many returns (and values) to store.
    #[arg(long, default_value_t = 100_000)]
    values: usize,
    /// How many GetBenchmark calls to time.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// The database to load; a fresh SQLite file in the temp directory by default. A PostgreSQL
    /// URL must name an empty database.
    #[arg(long)]
    bench_db: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

const CODE: &str = "old BVPI 68";
const YEAR: i32 = 2005;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let scratch = cli
        .bench_db
        .is_none()
        .then(|| std::env::temp_dir().join(format!("almo-pi-bench-{}.db", uuid::Uuid::new_v4())));
    let url = match (&cli.bench_db, &scratch) {
        (Some(url), _) => url.clone(),
        (None, Some(path)) => format!("sqlite://{}?mode=rwc", path.display()),
        (None, None) => unreachable!("one of the two is set"),
    };
    let db = almo_db::connect_and_migrate(&ConnectConfig::new(url.clone())).await?;
    let started = Instant::now();
    load(&db, cli.values).await?;
    if db.conn().get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // What autovacuum does to a live database within a minute of such a load; without
        // statistics PostgreSQL plans every query for near-empty tables.
        db.conn()
            .execute_unprepared("ANALYZE organisations, pi_returns, pi_return_values")
            .await?;
    }
    eprintln!(
        "loaded {} returns into {} in {:.1} s",
        cli.values,
        almo_db::redact(&url),
        started.elapsed().as_secs_f64()
    );

    let mut args = cli.server;
    args.listen = "127.0.0.1:0".parse()?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let ctx = ServiceContext::new(db.clone(), args.auth.verifier()?, args.max_request_bytes);
    let running = almo_server::start(&args, ctx, vec![almo_pi_returns::mount()], listener).await?;
    for _ in 0..500 {
        if running.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", running.addr))?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let mut client = PiReturnsServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let token =
        Minter::new(DEV_SECRET.as_bytes(), DEV_ISSUER, "almo-exchange").mint(&TokenRequest {
            subject: "bench@RSH".into(),
            organisation_id: "RSH".into(),
            role: Role::Regulator,
            ttl_secs: 3600,
        });
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse()?;
    fn authed<T>(
        msg: T,
        bearer: &tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    ) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        req.metadata_mut().insert("authorization", bearer.clone());
        req
    }

    // (1) Quartiles.
    let bench_req = GetBenchmarkRequest {
        indicator_code: CODE.into(),
        year: Some(FinancialYear { start_year: YEAR }),
        authority_type: "district".into(),
        ..Default::default()
    };
    let first = client
        .get_benchmark(authed(bench_req.clone(), &bearer))
        .await?
        .into_inner();
    let t = Instant::now();
    for _ in 0..cli.rounds {
        let b = client
            .get_benchmark(authed(bench_req.clone(), &bearer))
            .await?
            .into_inner();
        assert_eq!(b.count as usize, cli.values);
    }
    let service = t.elapsed() / cli.rounds as u32;
    let t = Instant::now();
    let mut sql_q1 = 0.0;
    for _ in 0..cli.rounds {
        sql_q1 = sql_quartile(&db).await?;
    }
    let sql = t.elapsed() / cli.rounds as u32;
    // The service reports quartiles to one place more than the indicator (whole days here).
    assert_eq!(
        (sql_q1 * 10.0).round() / 10.0,
        first.q1,
        "the two computations agree"
    );
    println!(
        "quartiles of {CODE} over {} values: GetBenchmark {:.1} ms, plain SQL + sort {:.1} ms, ratio {:.2}",
        cli.values,
        ms(service),
        ms(sql),
        ms(service) / ms(sql)
    );

    // (2) Export.
    let t = Instant::now();
    let mut stream = client
        .export_returns(authed(
            ExportReturnsRequest {
                year: Some(FinancialYear { start_year: YEAR }),
                ..Default::default()
            },
            &bearer,
        ))
        .await?
        .into_inner();
    let mut exported = 0usize;
    while let Some(batch) = stream.message().await? {
        exported += batch.pi_returns.len();
    }
    let export = t.elapsed();
    assert_eq!(exported, cli.values);
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
    assert_eq!(rows.len(), cli.values);
    let per_sec = |d: Duration| cli.values as f64 / d.as_secs_f64();
    println!(
        "export of {} returns: ExportReturns {:.0} returns/s, plain SQL {:.0} rows/s, ratio {:.2}",
        cli.values,
        per_sec(export),
        per_sec(plain),
        per_sec(export) / per_sec(plain)
    );
    running.shutdown().await?;
    db.close().await?;
    if let Some(path) = scratch {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
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
