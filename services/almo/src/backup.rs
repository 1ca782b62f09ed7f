//! `almo backup` and `almo restore`: the embedded SQLite database copied while the suite serves,
//! checked, and put back. The work is `almo_db::backup`; this is the command line: flags, the
//! progress display, the report, and the exit codes (0 done, 1 refused, 2 bad input).
//! PostgreSQL is refused with the tools to use instead (README, "Backup and restore").

use std::path::PathBuf;
use std::process::ExitCode;

use almo_db::backup::{self, BackupError, Contents, Step};

/// The database, as the other commands name it.
#[derive(clap::Args, Debug, Clone)]
pub struct Database {
    /// `sqlite://data/almo.db?mode=rwc` (default) or `postgres://...` (refused: see the README).
    #[arg(
        long = "database-url",
        visible_alias = "database",
        env = "ALMO_DATABASE_URL",
        // It may carry a password: `--help` must not print it.
        hide_env_values = true,
        default_value = "sqlite://data/almo.db?mode=rwc"
    )]
    pub url: String,
}

/// `almo backup --output FILE`.
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The backup file to write (one self-contained SQLite file).
    #[arg(long)]
    pub output: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub database: Database,
}

/// `almo restore FILE`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// A backup made by `almo backup`.
    pub file: PathBuf,
    /// Restore even over a database with audited writes newer than the backup's.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub database: Database,
}

/// What to use instead on PostgreSQL: the README section has the commands.
fn postgres_guidance(command: &str, url: &str) -> String {
    format!(
        "almo {command}: {} is PostgreSQL; almo {command} works on the embedded SQLite database \
         only. Use PostgreSQL's own tools (README, \"Backup and restore\"):\n  \
         small sites: pg_dump --format=custom --file=almo.dump \"$ALMO_DATABASE_URL\", restored \
         with pg_restore --clean --if-exists --no-owner --dbname=...\n  \
         production: continuous WAL archiving with base backups (point-in-time recovery): a \
         managed database's automated backups, or pgBackRest / WAL-G\n  \
         Kubernetes: the optional CronJob deploy/k8s/components/pg-backup (nightly pg_dump to a \
         volume)",
        almo_db::redact(url)
    )
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

fn failed(command: &str, e: BackupError) -> ExitCode {
    eprintln!("almo {command}: {e}");
    if e.is_bad_input() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

fn print_contents(contents: &Contents) {
    let known = backup::known_migrations();
    match contents.migration_level() {
        Some(level) => println!(
            "migration level: {level} ({} of the {} migrations this almo knows)",
            contents.migrations.len(),
            known.len()
        ),
        None => println!("migration level: none applied"),
    }
    match contents.newest_audit {
        Some(at) => println!("newest audited write: {}", at.to_rfc3339()),
        None => println!("newest audited write: none"),
    }
    println!("rows per table:");
    let width = contents
        .tables
        .iter()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(0);
    for (table, rows) in &contents.tables {
        println!("  {table:width$}  {rows}");
    }
}

/// `almo backup`: exit 0 with the report, 1 refused (PostgreSQL, FILE exists, a failed check),
/// 2 when there is no database to back up.
pub async fn run_backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    if is_postgres(&args.database.url) {
        eprintln!("{}", postgres_guidance("backup", &args.database.url));
        return Ok(ExitCode::from(1));
    }
    // Over the copy and each check; hidden when stderr is not a terminal.
    let bar = almo_client::progress(Some(1), "steps");
    let shown = bar.clone();
    let progress = move |s: Step<'_>| {
        shown.set_length(s.total);
        shown.set_position(s.done);
    };
    let config = almo_db::ConnectConfig::new(args.database.url.clone());
    let result = backup::backup(&config, &args.output, args.force, progress).await;
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => return Ok(failed("backup", e)),
    };
    println!(
        "backup of {} written to {} ({} bytes)",
        almo_db::redact(&args.database.url),
        report.output.display(),
        report.bytes
    );
    println!("integrity_check: ok");
    print_contents(&report.contents);
    Ok(ExitCode::SUCCESS)
}

/// `almo restore`: exit 0 with the report, 1 refused (the database in use or newer, a backup from
/// a newer almo, a failed check, PostgreSQL), 2 when FILE is not there.
pub async fn run_restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    if is_postgres(&args.database.url) {
        eprintln!("{}", postgres_guidance("restore", &args.database.url));
        return Ok(ExitCode::from(1));
    }
    // Over the copy and each check; hidden when stderr is not a terminal.
    let bar = almo_client::progress(Some(1), "steps");
    let shown = bar.clone();
    let progress = move |s: Step<'_>| {
        shown.set_length(s.total);
        shown.set_position(s.done);
    };
    let result = backup::restore(&args.file, &args.database.url, args.force, progress).await;
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => return Ok(failed("restore", e)),
    };
    if !report.migrated.is_empty() {
        // As `almo migrate` does: the reference data the new migrations' release ships with.
        let db = almo_db::connect(&almo_db::ConnectConfig::new(args.database.url.clone())).await?;
        let seeded = almo_pi_returns::seed_catalogue(db.conn()).await;
        db.close().await?;
        seeded?;
    }
    println!(
        "{} restored into {}{}",
        args.file.display(),
        report.target.display(),
        match (report.replaced, report.replaced_newest_audit) {
            (true, Some(at)) => format!(
                " (replacing a database whose newest audited write was at {})",
                at.to_rfc3339()
            ),
            (true, None) => " (replacing a database with no audited writes)".to_string(),
            (false, _) => String::new(),
        }
    );
    if report.migrated.is_empty() {
        println!(
            "the backup is at this almo's migration level ({})",
            report.backup_level.as_deref().unwrap_or("none")
        );
    } else {
        println!(
            "the backup was made by an older almo (migration level {}): applied {} migrations \
             after restoring: {}",
            report.backup_level.as_deref().unwrap_or("none"),
            report.migrated.len(),
            report.migrated.join(", ")
        );
    }
    println!("integrity_check: ok");
    print_contents(&report.contents);
    Ok(ExitCode::SUCCESS)
}
