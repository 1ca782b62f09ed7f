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
use chrono::Utc;
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
        let rows = crate::pi_rows::plain_export(&db, Some(YEAR)).await?;
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
