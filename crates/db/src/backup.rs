//! Backup and restore of the embedded SQLite database.
//!
//! A backup is `VACUUM INTO` a file beside the output: one read transaction, so a consistent
//! snapshot of every committed write while the services keep writing (a copy of the files of a
//! live WAL database is not: the pages in the `-wal` are missing or torn). The copy is made
//! self-contained (rollback journal, no `-wal`), synced, checked (`PRAGMA integrity_check`, rows
//! per table, the migrations applied) and only then renamed to the output's name, so a file under
//! that name is always a whole, checked backup.
//!
//! A restore takes the database's sidecar lock (`<file>.lock`, see [`crate::InUseLock`])
//! exclusively, so it refuses a database any process has open through `almo_db`, and nothing can
//! open it half-restored. It refuses a backup whose migrations this build does not know (made by
//! a newer release) and a target with audited writes newer than the backup's (unless forced),
//! checks and migrates a copy beside the target, removes the target's `-wal`/`-shm` (they belong
//! to the old file and would be replayed into the new one) and renames the copy into place.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`, WAL archiving): see the README.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sea_orm::sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, RuntimeErr, Statement};
use sea_orm_migration::MigratorTrait;

use crate::connect::{InUseLock, sqlite_file};
use crate::migration::Migrator;
use crate::{Backend, ConnectConfig, Db};

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "almo backup and almo restore work on the embedded SQLite database only; this is \
         PostgreSQL: use pg_dump/pg_restore or WAL archiving (README, \"Backup and restore\")"
    )]
    NotSqlite,
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    #[error("there is no backup at {0}")]
    NoBackup(PathBuf),
    #[error("{0} exists: choose another file, or --force to replace it")]
    OutputExists(PathBuf),
    #[error("{0} is the database itself: write the backup to another file")]
    SameFile(PathBuf),
    #[error(
        "{0} has a -wal file beside it, so it is a live database, not a backup made by \
         `almo backup` (a copy of its file alone would lose the writes in the -wal)"
    )]
    LiveDatabase(PathBuf),
    #[error("{path} fails its integrity check: {}", problems.join("; "))]
    Corrupt {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("{0} is not an almo database (it has no migration table)")]
    NotAlmo(PathBuf),
    #[error(
        "{path} is in use: a process has it open (it holds {}); stop every almo process using \
         this database, then restore",
        crate::connect::lock_path(path).display()
    )]
    InUse { path: PathBuf },
    #[error(
        "the backup was made by a newer almo: it has migrations this almo does not know ({}); \
         restore it with that release or a later one",
        unknown.join(", ")
    )]
    NewerBackup { unknown: Vec<String> },
    #[error(
        "{path} is newer than the backup: its last audited write is at {target}, the backup's at \
         {}; restoring would lose those writes. --force to restore anyway",
        backup.map_or("none".to_string(), |b| b.to_rfc3339())
    )]
    TargetNewer {
        path: PathBuf,
        target: DateTime<Utc>,
        backup: Option<DateTime<Utc>>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl BackupError {
    /// Whether the command was given something that is not there (exit 2), rather than refused.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::NoDatabase(_) | Self::NoBackup(_))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn sqlx_err(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e)))
}

/// One step of a backup or restore done, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub done: u64,
    pub total: u64,
    /// What is being done next.
    pub what: &'a str,
}

/// What a database file holds, as read by [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// Every table and its row count, by name.
    pub tables: Vec<(String, u64)>,
    /// The migrations applied, in order.
    pub migrations: Vec<String>,
    /// When the newest audited write was made; `None` with no audit row.
    pub newest_audit: Option<DateTime<Utc>>,
}

impl Contents {
    /// The last migration applied: the database's schema level.
    pub fn migration_level(&self) -> Option<&str> {
        self.migrations.last().map(String::as_str)
    }

    pub fn rows(&self, table: &str) -> Option<u64> {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
    }
}

/// How [`Snapshot::open`] leaves the file's journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// As it is (a database some process may use again).
    Keep,
    /// A rollback journal: the file alone is the whole database, no `-wal` beside it.
    SelfContained,
}

/// One plain connection to a SQLite file, outside `almo_db`'s pool and lock: for the copies a
/// backup or restore makes, and for reading a target the restore holds exclusively.
pub struct Snapshot {
    conn: SqliteConnection,
}

impl Snapshot {
    async fn open(path: &Path, journal: Journal) -> Result<Self, BackupError> {
        let mut opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(false)
            .busy_timeout(std::time::Duration::from_secs(30));
        if journal == Journal::SelfContained {
            opts = opts.journal_mode(SqliteJournalMode::Delete);
        }
        let conn = opts.connect().await.map_err(sqlx_err)?;
        Ok(Self { conn })
    }

    /// Opens `path` to read it, leaving its journal mode as it is.
    pub async fn read(path: &Path) -> Result<Self, BackupError> {
        Self::open(path, Journal::Keep).await
    }

    /// `PRAGMA integrity_check`: empty when the file is sound, else what is wrong.
    pub async fn integrity_problems(&mut self) -> Result<Vec<String>, BackupError> {
        let rows: Vec<String> = sea_orm::sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut self.conn)
            .await
            .map_err(sqlx_err)?;
        Ok(if rows == ["ok"] { Vec::new() } else { rows })
    }

    /// The tables, by name (SQLite's own excluded).
    pub async fn tables(&mut self) -> Result<Vec<String>, BackupError> {
        Ok(sea_orm::sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )
        .fetch_all(&mut self.conn)
        .await
        .map_err(sqlx_err)?)
    }

    pub async fn row_count(&mut self, table: &str) -> Result<u64, BackupError> {
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", table.replace('"', "\"\""));
        let n: i64 = sea_orm::sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut self.conn)
            .await
            .map_err(sqlx_err)?;
        Ok(n as u64)
    }

    async fn has_table(&mut self, table: &str) -> Result<bool, BackupError> {
        let n: i64 = sea_orm::sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?",
        )
        .bind(table)
        .fetch_one(&mut self.conn)
        .await
        .map_err(sqlx_err)?;
        Ok(n > 0)
    }

    /// The migrations applied, in order; `None` when there is no migration table.
    pub async fn migrations(&mut self) -> Result<Option<Vec<String>>, BackupError> {
        if !self.has_table("seaql_migrations").await? {
            return Ok(None);
        }
        Ok(Some(
            sea_orm::sqlx::query_scalar("SELECT version FROM seaql_migrations ORDER BY version")
                .fetch_all(&mut self.conn)
                .await
                .map_err(sqlx_err)?,
        ))
    }

    /// When the newest audited write was made.
    pub async fn newest_audit(&mut self) -> Result<Option<DateTime<Utc>>, BackupError> {
        if !self.has_table("audit_log").await? {
            return Ok(None);
        }
        // julianday orders whatever text form the timestamps were written in.
        let at: Option<DateTime<Utc>> = sea_orm::sqlx::query_scalar(
            "SELECT at FROM audit_log ORDER BY julianday(at) DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&mut self.conn)
        .await
        .map_err(sqlx_err)?;
        Ok(at)
    }

    pub async fn close(self) -> Result<(), BackupError> {
        self.conn.close().await.map_err(sqlx_err)?;
        Ok(())
    }

    /// The integrity check, then the tables' rows, the migrations and the newest audit row,
    /// reporting a step per table. `Corrupt` when the integrity check fails.
    async fn verify(
        &mut self,
        path: &Path,
        mut step: impl FnMut(&str),
    ) -> Result<Contents, BackupError> {
        step("integrity check");
        let problems = self.integrity_problems().await?;
        if !problems.is_empty() {
            return Err(BackupError::Corrupt {
                path: path.to_path_buf(),
                problems,
            });
        }
        let Some(migrations) = self.migrations().await? else {
            return Err(BackupError::NotAlmo(path.to_path_buf()));
        };
        let mut tables = Vec::new();
        for table in self.tables().await? {
            step(&table);
            let n = self.row_count(&table).await?;
            tables.push((table, n));
        }
        Ok(Contents {
            tables,
            migrations,
            newest_audit: self.newest_audit().await?,
        })
    }
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub output: PathBuf,
    pub bytes: u64,
    pub contents: Contents,
}

/// A file in `path`'s directory named after it, for work that is renamed into place.
fn beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "almo.db".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(BackupError::io(path)(e)),
        _ => Ok(()),
    }
}

/// `VACUUM INTO` writes without fsync: make the file durable before it is named a backup.
fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io(path))
}

/// Makes a rename in `path`'s directory durable (a no-op where directories cannot be opened).
fn sync_dir_of(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Removes the file on drop unless disarmed: a backup or restore that fails part-way leaves no
/// temporary file behind.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("armed")
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            for suffix in ["", "-journal", "-wal", "-shm", ".lock"] {
                let mut name = p.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(name));
            }
        }
    }
}

/// Backs up the SQLite database of `config` into `output` while it may be in use, then checks
/// the copy. Refuses PostgreSQL, a database that does not exist, and an existing `output`
/// unless `force`.
pub async fn backup(
    config: &ConnectConfig,
    output: &Path,
    force: bool,
    mut progress: impl FnMut(Step<'_>),
) -> Result<BackupReport, BackupError> {
    let Some(source) = sqlite_file(&config.url) else {
        return Err(match config.url.starts_with("sqlite:") {
            true => BackupError::NoDatabase(PathBuf::from(":memory:")),
            false => BackupError::NotSqlite,
        });
    };
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source));
    }
    if same_file(&source, output) {
        return Err(BackupError::SameFile(output.to_path_buf()));
    }
    if output.exists() && !force {
        return Err(BackupError::OutputExists(output.to_path_buf()));
    }
    let mut small = config.clone();
    small.max_connections = 2;
    let db = crate::connect(&small).await?;
    let result = backup_db(&db, output, force, &mut progress).await;
    db.close().await?;
    result
}

/// [`backup`] from an open [`Db`].
pub async fn backup_db(
    db: &Db,
    output: &Path,
    force: bool,
    progress: &mut impl FnMut(Step<'_>),
) -> Result<BackupReport, BackupError> {
    if db.backend() != Backend::Sqlite {
        return Err(BackupError::NotSqlite);
    }
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(BackupError::io(dir))?;
    }
    let partial = TempFile(Some(beside(output, "partial")));
    remove_if_present(partial.path())?;
    // Copying, integrity, migrations, then one step per table (known once the copy is open).
    let mut total = 3;
    progress(Step {
        done: 0,
        total,
        what: "copying",
    });
    db.conn()
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "VACUUM INTO ?",
            [partial.path().to_string_lossy().into_owned().into()],
        ))
        .await?;
    sync_file(partial.path())?;

    let mut copy = Snapshot::open(partial.path(), Journal::SelfContained).await?;
    total += copy.tables().await?.len() as u64;
    let mut done = 1;
    let contents = copy
        .verify(partial.path(), |what| {
            progress(Step { done, total, what });
            done += 1;
        })
        .await;
    copy.close().await?;
    let contents = contents?;
    sync_file(partial.path())?;
    if output.exists() && !force {
        return Err(BackupError::OutputExists(output.to_path_buf()));
    }
    std::fs::rename(partial.path(), output).map_err(BackupError::io(output))?;
    partial.disarm();
    sync_dir_of(output);
    progress(Step {
        done: total,
        total,
        what: "done",
    });
    let bytes = std::fs::metadata(output)
        .map_err(BackupError::io(output))?
        .len();
    Ok(BackupReport {
        output: output.to_path_buf(),
        bytes,
        contents,
    })
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub target: PathBuf,
    /// The restored database, after any migration.
    pub contents: Contents,
    /// The backup's migration level, before any migration.
    pub backup_level: Option<String>,
    /// The migrations applied after restoring (the backup was older than this build).
    pub migrated: Vec<String>,
    /// The newest audited write of the database replaced, when there was one.
    pub replaced_newest_audit: Option<DateTime<Utc>>,
    /// Whether a database was replaced.
    pub replaced: bool,
}

/// The migrations this build knows, in order.
pub fn known_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect()
}

/// Restores `backup` into the SQLite database of `target_url`. Refuses a database in use, a
/// backup from a newer release, and (unless `force`) a target with newer audited writes.
pub async fn restore(
    backup: &Path,
    target_url: &str,
    force: bool,
    mut progress: impl FnMut(Step<'_>),
) -> Result<RestoreReport, BackupError> {
    let Some(target) = sqlite_file(target_url) else {
        return Err(match target_url.starts_with("sqlite:") {
            true => BackupError::NoDatabase(PathBuf::from(":memory:")),
            false => BackupError::NotSqlite,
        });
    };
    if !backup.is_file() {
        return Err(BackupError::NoBackup(backup.to_path_buf()));
    }
    if same_file(backup, &target) {
        return Err(BackupError::SameFile(backup.to_path_buf()));
    }
    let mut wal = backup.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(PathBuf::from(wal)).is_ok_and(|m| m.len() > 0) {
        return Err(BackupError::LiveDatabase(backup.to_path_buf()));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(BackupError::io(dir))?;
    }
    // Held to the end: no process opens the database while it is checked and replaced.
    let Some(_lock) = InUseLock::exclusive(&target)? else {
        return Err(BackupError::InUse { path: target });
    };
    let total = 6;
    let mut at = 0;
    let mut step = |what: &str| {
        progress(Step {
            done: at,
            total,
            what,
        });
        at += 1;
    };

    step("copying the backup");
    let copy = TempFile(Some(beside(&target, "restore")));
    remove_if_present(copy.path())?;
    std::fs::copy(backup, copy.path()).map_err(BackupError::io(copy.path()))?;

    step("checking the backup");
    let mut snap = Snapshot::open(copy.path(), Journal::SelfContained).await?;
    let checked = snap.verify(backup, |_| {}).await;
    snap.close().await?;
    let backup_contents = checked?;

    step("checking migrations");
    let known = known_migrations();
    let known_set: BTreeSet<&str> = known.iter().map(String::as_str).collect();
    let unknown: Vec<String> = backup_contents
        .migrations
        .iter()
        .filter(|m| !known_set.contains(m.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(BackupError::NewerBackup { unknown });
    }
    let applied: BTreeSet<&str> = backup_contents
        .migrations
        .iter()
        .map(String::as_str)
        .collect();
    let pending: Vec<String> = known
        .iter()
        .filter(|m| !applied.contains(m.as_str()))
        .cloned()
        .collect();

    step("checking the database it replaces");
    let replaced = std::fs::metadata(&target).is_ok_and(|m| m.len() > 0);
    let mut replaced_newest_audit = None;
    if replaced {
        let mut old = Snapshot::read(&target).await?;
        let newest = old.newest_audit().await;
        old.close().await?;
        replaced_newest_audit = newest?;
        if let Some(target_at) = replaced_newest_audit
            && backup_contents.newest_audit.is_none_or(|b| target_at > b)
            && !force
        {
            return Err(BackupError::TargetNewer {
                path: target,
                target: target_at,
                backup: backup_contents.newest_audit,
            });
        }
    }

    step("migrating");
    let contents = if pending.is_empty() {
        backup_contents.clone()
    } else {
        // Migrated beside the target, so a failed migration leaves the target as it was.
        let url = format!("sqlite://{}?mode=rw", copy.path().display());
        let db = crate::connect(&ConnectConfig::new(url)).await?;
        let migrated = db.migrate().await;
        db.close().await?;
        remove_if_present(&crate::connect::lock_path(copy.path()))?;
        migrated?;
        let mut snap = Snapshot::open(copy.path(), Journal::SelfContained).await?;
        let checked = snap.verify(copy.path(), |_| {}).await;
        snap.close().await?;
        checked?
    };
    sync_file(copy.path())?;

    step("replacing the database");
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        remove_if_present(&PathBuf::from(name))?;
    }
    std::fs::rename(copy.path(), &target).map_err(BackupError::io(&target))?;
    copy.disarm();
    sync_dir_of(&target);

    let mut result = Snapshot::read(&target).await?;
    let problems = result.integrity_problems().await;
    result.close().await?;
    let problems = problems?;
    if !problems.is_empty() {
        return Err(BackupError::Corrupt {
            path: target,
            problems,
        });
    }
    progress(Step {
        done: total,
        total,
        what: "done",
    });
    Ok(RestoreReport {
        target,
        contents,
        backup_level: backup_contents.migration_level().map(str::to_string),
        migrated: pending,
        replaced_newest_audit,
        replaced,
    })
}
