//! `almo-bench`: every benchmark of the suite, each beside its baseline in the same run, written
//! to `target/bench/report.json` and `target/bench/report.md` (see [`report::Record`]).
//!
//! ```text
//! cargo run --release -p almo-bench -- all                                  # SQLite
//! cargo run --release -p almo-bench -- all --database postgres://.../db     # PostgreSQL
//! cargo run --release -p almo-bench -- all --quick                          # CI's reduced size
//! cargo run --release -p almo-bench -- directory-read --seconds 5           # one bench
//! cargo run --release -p almo-bench -- list
//! ```
//!
//! ## Adding a benchmark
//!
//! Write a module with `pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>>` that does
//! the work and its baseline in the same run (a fresh database from `almo_testkit`, which
//! follows `--database`; a smaller size when `opts.quick`) and returns one [`report::Record`]
//! per figure with its aim; then add ONE line to [`BENCHES`] below. Progress goes to stderr.

mod billing;
mod directory_read;
mod flight_read;
mod load;
mod national;
mod pi_benchmark;
mod pi_returns;
mod pi_rows;
mod report;
mod variance_ingest;
mod watch_latency;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use clap::Parser;

pub use report::{Aim, Record};

/// What every bench is given.
#[allow(dead_code)] // each bench reads what it needs
#[derive(Debug, Clone)]
pub struct Opts {
    /// CI's reduced size: seconds, not minutes.
    pub quick: bool,
    /// Seconds of load per scenario, for benches that run for a time.
    pub seconds: u64,
    /// Client connections, for benches that load over loopback.
    pub connections: usize,
    /// Requests in flight per connection.
    pub in_flight: usize,
    /// The PostgreSQL server given with `--database` (each bench takes a fresh schema in it
    /// through `almo_testkit`), or `None` for SQLite files in the temp directory.
    pub database_url: Option<String>,
    /// `sqlite` or `postgresql`, for the records.
    pub database: &'static str,
}

type Run = for<'a> fn(&'a Opts) -> Pin<Box<dyn Future<Output = anyhow::Result<Vec<Record>>> + 'a>>;

/// Every benchmark `all` runs, in order: its name on the command line, and its `run`.
const BENCHES: &[(&str, Run)] = &[
    ("directory-read", |o| Box::pin(directory_read::run(o))),
    ("variance-ingest", |o| Box::pin(variance_ingest::run(o))),
    ("billing", |o| Box::pin(billing::run(o))),
    ("pi-returns", |o| Box::pin(pi_returns::run(o))),
    ("flight-read", |o| Box::pin(flight_read::run(o))),
    ("watch-latency", |o| Box::pin(watch_latency::run(o))),
    ("national", |o| Box::pin(national::run(o))),
];

#[derive(Parser)]
#[command(about = "almo-exchange benchmarks, each beside its baseline in the same run")]
struct Args {
    /// `all`, `list`, or the names of the benches to run.
    #[arg(default_value = "all")]
    benches: Vec<String>,
    /// A PostgreSQL server URL to run against (fresh schemas in it); SQLite otherwise.
    #[arg(long)]
    database: Option<String>,
    /// The reduced size CI runs.
    #[arg(long)]
    quick: bool,
    /// Seconds of load per scenario (default 5, 1 with --quick).
    #[arg(long)]
    seconds: Option<u64>,
    /// Client connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Where report.json and report.md go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.benches.iter().any(|b| b == "list") {
        for (name, _) in BENCHES {
            println!("{name}");
        }
        return Ok(());
    }
    let chosen: Vec<_> = if args.benches.iter().any(|b| b == "all") {
        BENCHES.iter().collect()
    } else {
        let mut out = Vec::new();
        for name in &args.benches {
            match BENCHES.iter().find(|(n, _)| n == name) {
                Some(b) => out.push(b),
                None => anyhow::bail!("no bench named {name:?}: see `almo-bench list`"),
            }
        }
        out
    };
    if let Some(url) = &args.database {
        // almo_testkit opens a fresh schema in this server for each database a bench asks for.
        // SAFETY: set before the runtime starts any thread.
        unsafe { std::env::set_var(almo_testkit::TEST_DATABASE_ENV, url) };
    } else {
        // SAFETY: as above.
        unsafe { std::env::remove_var(almo_testkit::TEST_DATABASE_ENV) };
    }
    let opts = Opts {
        quick: args.quick,
        seconds: args.seconds.unwrap_or(if args.quick { 1 } else { 5 }),
        connections: args.connections,
        in_flight: args.in_flight,
        database_url: args.database.clone(),
        database: if args.database.is_some() {
            "postgresql"
        } else {
            "sqlite"
        },
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(&opts, &chosen, &args.out))
}

async fn run(opts: &Opts, chosen: &[&(&str, Run)], out: &std::path::Path) -> anyhow::Result<()> {
    // The subscriber the service binaries install (RUST_LOG, default `info`; no OTLP export
    // unless OTEL_EXPORTER_OTLP_ENDPOINT is set), so the services pay for their spans and log
    // lines as deployed servers do.
    let _telemetry = almo_telemetry::init("almo-bench", almo_telemetry::LogFormat::Text)?;
    let mut records = Vec::new();
    let mut failed = Vec::new();
    for (name, bench) in chosen {
        eprintln!("== {name}");
        match bench(opts).await {
            Ok(rs) => records.extend(rs.into_iter().map(|r| {
                if r.database.is_empty() {
                    r.database(opts.database)
                } else {
                    r
                }
            })),
            Err(e) => {
                eprintln!("{name} failed: {e:#}");
                failed.push(*name);
            }
        }
        // Written after each bench, so a long run that stops keeps what it measured.
        report::write(out, &records)?;
    }
    print!("{}", report::markdown(&records));
    eprintln!(
        "written: {} and {}",
        out.join("report.json").display(),
        out.join("report.md").display()
    );
    if !failed.is_empty() {
        anyhow::bail!("benches failed: {}", failed.join(", "));
    }
    Ok(())
}
