//! Connection set-up: SQLite (a file, WAL, busy timeout, larger cache) or PostgreSQL by URL.
//! PostgreSQL's TLS is asked for in the URL's query and handled by sqlx (rustls):
//! `?sslmode=verify-full&sslrootcert=/path/ca.crt` (also `sslcert`/`sslkey` for a client
//! certificate). The URL is passed on as written, so those parameters always reach sqlx.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::sqlite::{SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sea_orm::sqlx::{AssertSqlSafe, Executor as _};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    QueryResult, RuntimeErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait, Value,
};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;

use crate::reads;
pub use crate::reads::{InlineRow, ReadRow, ReadValue, organisation_of};

/// The pool's name in the metrics (`db.client.connection.pool.name`).
pub const POOL_NAME: &str = "primary";

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pooled connection to the suite's database.
#[derive(Debug, Clone)]
pub struct Db {
    conn: DatabaseConnection,
    backend: Backend,
    /// SQLite file: read-only connections for [`Db::read_all`] on the calling task.
    inline: Option<Arc<reads::InlineReads>>,
    /// In-memory SQLite and PostgreSQL: connections kept out of the pool for [`Db::read_all`].
    held: Option<Arc<HeldReads>>,
    /// SQLite file: a shared lock on `<file>.lock`, held while any clone of this `Db` lives, so
    /// `almo restore` (which needs it exclusively) knows the database is in use.
    _in_use: Option<Arc<InUseLock>>,
}

/// A shared lock on a SQLite database's sidecar lock file (`<file>.lock`), released when dropped.
/// Every process that opens the file through [`connect`] holds one; a restore takes the lock
/// exclusively, so it neither replaces a database a process has open nor lets one open it
/// half-restored.
#[derive(Debug)]
pub struct InUseLock {
    _file: std::fs::File,
}

/// The sidecar lock file of a SQLite database file: `<file>.lock`.
pub fn lock_path(db_file: &std::path::Path) -> std::path::PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(".lock");
    std::path::PathBuf::from(name)
}

fn open_lock_file(db_file: &std::path::Path) -> Result<std::fs::File, DbErr> {
    let path = lock_path(db_file);
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| DbErr::Custom(format!("cannot open the lock file {}: {e}", path.display())))
}

impl InUseLock {
    /// Takes the shared lock, or says the database is being restored.
    fn shared(db_file: &std::path::Path) -> Result<Self, DbErr> {
        let file = open_lock_file(db_file)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(DbErr::Custom(format!(
                "{} is being restored (`almo restore` holds {}): start again once it has finished",
                db_file.display(),
                lock_path(db_file).display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(DbErr::Custom(format!(
                "cannot lock {}: {e}",
                lock_path(db_file).display()
            ))),
        }
    }

    /// Takes the lock exclusively: `Ok(None)` when a process holds it (the database is in use).
    pub fn exclusive(db_file: &std::path::Path) -> Result<Option<Self>, DbErr> {
        let file = open_lock_file(db_file)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(DbErr::Custom(format!(
                "cannot lock {}: {e}",
                lock_path(db_file).display()
            ))),
        }
    }
}

/// Connections taken out of the pool and kept, for the one-statement reads on every call's path
/// (the access check) where they cannot run inline: in-memory SQLite and PostgreSQL. sqlx pings a
/// connection each time it goes back to the pool: on PostgreSQL a second round trip to the server
/// for every query, on SQLite a second hand-off to the connection's worker thread, either as dear
/// as the query itself. A held connection runs only the query (a prepared statement it keeps).
/// Each statement still reads the database as it is at that moment (autocommit, a fresh snapshot
/// per statement): nothing is cached.
struct HeldReads {
    slots: Vec<tokio::sync::Mutex<Option<HeldConn>>>,
    next: AtomicUsize,
}

enum HeldConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Runs `$sql` with `$values` (strings and integers, checked before) on `$conn`, a sqlx
/// connection of either backend.
macro_rules! fetch_held {
    ($conn:expr, $sql:expr, $values:expr) => {{
        let mut query = sea_orm::sqlx::query(AssertSqlSafe($sql));
        for v in $values {
            query = match v {
                Value::String(s) => query.bind(s),
                Value::BigInt(i) => query.bind(i),
                Value::Int(i) => query.bind(i),
                _ => unreachable!("checked by read_all"),
            };
        }
        $conn.fetch_all(query).await.map(|rows| {
            rows.into_iter()
                .map(|r| ReadRow::from(QueryResult::from(r)))
                .collect::<Vec<_>>()
        })
    }};
}

impl std::fmt::Debug for HeldReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldReads")
            .field("slots", &self.slots.len())
            .finish()
    }
}

/// As sea-orm reports a pool that cannot hand out a connection.
fn acquire_err(e: sea_orm::sqlx::Error) -> DbErr {
    use sea_orm::ConnAcquireErr;
    match e {
        sea_orm::sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sea_orm::sqlx::Error::PoolClosed => {
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)
        }
        e => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))),
    }
}

/// How many SQLite connections [`Db::read_all`] holds: enough for the cores to keep busy, few
/// enough that their worker threads do not crowd out the runtime's.
fn held_read_slots(max_connections: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.clamp(1, max_connections.max(1) as usize)
}

impl Db {
    /// The underlying sea-orm connection, for reads.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs one read-only statement (no transaction) and returns its rows; its values must be
    /// strings or integers. On a SQLite file it runs on the calling task, on a read-only
    /// connection of its own (see `reads`); on in-memory SQLite on a connection held out of the
    /// pool for these reads (see [`HeldReads`]), and so on PostgreSQL.
    pub async fn read_all(&self, stmt: Statement) -> Result<Vec<ReadRow>, DbErr> {
        if let Some(inline) = &self.inline {
            return inline.read(&stmt);
        }
        let Some(held) = &self.held else {
            let rows = self.conn.query_all_raw(stmt).await?;
            return Ok(rows.into_iter().map(ReadRow::from).collect());
        };
        // The first free connection from a rotating start, else wait for the start's.
        let n = held.slots.len();
        let start = held.next.fetch_add(1, Ordering::Relaxed) % n;
        let free = (0..n).find_map(|i| held.slots[(start + i) % n].try_lock().ok());
        let mut guard = match free {
            Some(g) => g,
            None => held.slots[start].lock().await,
        };
        let values = stmt.values.map(|v| v.0).unwrap_or_default();
        if let Some(other) = values
            .iter()
            .find(|v| !matches!(v, Value::String(_) | Value::BigInt(_) | Value::Int(_)))
        {
            return Err(DbErr::Custom(format!(
                "read_all binds strings and integers, not {other:?}"
            )));
        }
        let conn = match &mut *guard {
            Some(c) => c,
            None => {
                let held = match self.backend {
                    Backend::Sqlite => HeldConn::Sqlite(
                        self.conn
                            .get_sqlite_connection_pool()
                            .acquire()
                            .await
                            .map_err(acquire_err)?
                            .detach(),
                    ),
                    Backend::Postgres => HeldConn::Postgres(
                        self.conn
                            .get_postgres_connection_pool()
                            .acquire()
                            .await
                            .map_err(acquire_err)?
                            .detach(),
                    ),
                };
                guard.insert(held)
            }
        };
        let fetched = match conn {
            HeldConn::Sqlite(c) => fetch_held!(c, stmt.sql, values),
            HeldConn::Postgres(c) => fetch_held!(c, stmt.sql, values),
        };
        match fetched {
            Ok(rows) => Ok(rows),
            Err(e) => {
                // Do not keep a connection that failed: the next read opens a fresh one.
                *guard = None;
                Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(e))))
            }
        }
    }

    /// The pool's connections: (in use, idle, the most allowed). The connections [`Db::read_all`]
    /// holds (one a core) or opens itself (on a SQLite file) are outside the pool and not counted.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        fn of<D: sea_orm::sqlx::Database>(p: &sea_orm::sqlx::Pool<D>) -> (u32, u32, u32) {
            let idle = p.num_idle() as u32;
            (
                p.size().saturating_sub(idle),
                idle,
                p.options().get_max_connections(),
            )
        }
        match self.backend {
            Backend::Sqlite => of(self.conn.get_sqlite_connection_pool()),
            Backend::Postgres => of(self.conn.get_postgres_connection_pool()),
        }
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so two writers queue on the
    /// busy timeout instead of failing when a read lock cannot be upgraded. How long it took is
    /// recorded as `db.client.connection.wait_time`.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let asked = std::time::Instant::now();
        let begun = self.begin_write_untimed().await;
        almo_telemetry::metrics::pool_wait(POOL_NAME, asked.elapsed());
        begun
    }

    async fn begin_write_untimed(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.backend {
            Backend::Sqlite => {
                self.conn
                    .begin_with_options(TransactionOptions {
                        isolation_level: None,
                        access_mode: None,
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    })
                    .await
            }
            Backend::Postgres => self.conn.begin().await,
        }
    }

    /// Applies every migration that has not run yet. Processes migrating one database at once
    /// (replicas started in apply mode, a migration job run again) take turns: the whole run holds
    /// a lock (PostgreSQL: an advisory lock per schema; SQLite: the write lock), so the second
    /// finds nothing left to do instead of failing on a table the first has just created.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        let txn = match self.backend {
            Backend::Sqlite => self.begin_write().await?,
            Backend::Postgres => {
                let txn = self.conn.begin().await?;
                txn.execute_unprepared(
                    "SELECT pg_advisory_xact_lock(hashtext('almo-migrate:' || current_schema()))",
                )
                .await?;
                txn
            }
        };
        Migrator::up(&txn, None).await?;
        txn.commit().await
    }

    /// Whether every known migration has been applied. Reads only: a service waiting for the
    /// migration job polls this while the job runs, and must not create the migrations table
    /// under it.
    pub async fn is_migrated(&self) -> Result<bool, DbErr> {
        Ok(Migrator::get_pending_migrations_read_only(&self.conn)
            .await?
            .is_empty())
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    pub async fn close(self) -> Result<(), DbErr> {
        if let Some(held) = &self.held {
            for slot in &held.slots {
                match slot.lock().await.take() {
                    Some(HeldConn::Sqlite(c)) => {
                        let _ = sea_orm::sqlx::Connection::close(c).await;
                    }
                    Some(HeldConn::Postgres(c)) => {
                        let _ = sea_orm::sqlx::Connection::close(c).await;
                    }
                    None => {}
                }
            }
        }
        self.conn.close().await
    }
}

/// Options for [`connect`].
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`, TLS by query parameters
    /// (`?sslmode=verify-full&sslrootcert=/path/ca.crt`).
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// PostgreSQL only: the schema to work in (created by the caller).
    pub schema: Option<String>,
    /// PostgreSQL only: every transaction of this pool is read-only
    /// (`default_transaction_read_only`), so a pool meant for reads refuses a write even when it
    /// is pointed at the primary. For the connection to a streaming replica.
    pub read_only: bool,
}

impl ConnectConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            schema: None,
            read_only: false,
        }
    }
}

/// Opens a pool. For SQLite the parent directory of the file is created if missing.
pub async fn connect(config: &ConnectConfig) -> Result<Db, DbErr> {
    let backend = if config.url.starts_with("sqlite:") {
        Backend::Sqlite
    } else if config.url.starts_with("postgres:") || config.url.starts_with("postgresql:") {
        Backend::Postgres
    } else {
        return Err(DbErr::Custom(format!(
            "unsupported database URL {:?}: use sqlite://FILE?mode=rwc or postgres://...",
            redact(&config.url)
        )));
    };
    let mut in_use = None;
    if backend == Backend::Sqlite {
        ensure_sqlite_dir(&config.url)?;
        // Taken before the file is opened, so a restore under way is never read half-done.
        if let Some(file) = sqlite_file(&config.url) {
            in_use = Some(Arc::new(InUseLock::shared(&file)?));
        }
    }
    let mut opts = ConnectOptions::new(config.url.clone());
    opts.max_connections(config.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        // sqlx pings every connection it hands out by default: a second round trip per query
        // (on SQLite a second hand-off to the connection's worker thread). Only a connection
        // idle long enough for a server, proxy or firewall to have dropped it is pinged now (a
        // busy connection that breaks fails its query, as it could between ping and query before).
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if let Some(schema) = &config.schema {
        opts.set_schema_search_path(schema.clone());
    }
    if config.read_only {
        opts.map_sqlx_postgres_opts(|o| o.options([("default_transaction_read_only", "on")]));
    }
    opts.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .pragma("cache_size", "-65536")
    });
    let conn = Database::connect(opts).await.map_err(explain_tls_refusal)?;
    let slots = held_read_slots(config.max_connections);
    let inline = match (backend, sqlite_file(&config.url)) {
        (Backend::Sqlite, Some(file)) => Some(Arc::new(reads::InlineReads::new(&file, slots))),
        _ => None,
    };
    let held = inline.is_none().then(|| {
        Arc::new(HeldReads {
            slots: (0..slots).map(|_| tokio::sync::Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        })
    });
    Ok(Db {
        conn,
        backend,
        inline,
        held,
        _in_use: in_use,
    })
}

/// A server certificate refused by rustls reads only `invalid peer certificate: UnknownIssuer`
/// (or `NotValidForName`, ...); say what to check, as it is the first thing met when pointing at
/// a managed database with the wrong CA.
fn explain_tls_refusal(e: DbErr) -> DbErr {
    match e {
        DbErr::Conn(inner) if inner.to_string().contains("invalid peer certificate") => {
            DbErr::Conn(RuntimeErr::Internal(format!(
                "{inner} (the PostgreSQL server's TLS certificate was refused: sslrootcert in the \
                 URL must name the CA that signed it, and with sslmode=verify-full the certificate \
                 must name the URL's host)"
            )))
        }
        e => e,
    }
}

/// Opens a pool and applies pending migrations.
pub async fn connect_and_migrate(config: &ConnectConfig) -> Result<Db, DbErr> {
    let db = connect(config).await?;
    db.migrate().await?;
    Ok(db)
}

/// The file of a `sqlite:` URL; `None` for an in-memory database or another scheme.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or("");
    let in_memory = rest
        .split('?')
        .nth(1)
        .is_some_and(|q| q.split('&').any(|p| p == "mode=memory"));
    if path.is_empty() || path == ":memory:" || in_memory {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

fn ensure_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// The URL with any password replaced, for logs and errors: the one in the user-info and a
/// `password=` query parameter. Everything else, the TLS parameters (`sslmode`, `sslrootcert`,
/// ...) included, is kept as written so the log says how the connection was asked for.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let authority_start = scheme_end + 3;
    // The authority ends where the path, query or fragment starts; an `@` after that (a
    // certificate path in the query, say) is not a user-info separator.
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..authority_start]);
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        },
        None => out.push_str(authority),
    }
    let rest = &url[authority_end..];
    let (before_query, query_and_fragment) = match rest.find('?') {
        Some(q) => (&rest[..=q], &rest[q + 1..]),
        None => (rest, ""),
    };
    out.push_str(before_query);
    let (query, fragment) = match query_and_fragment.find('#') {
        Some(h) => query_and_fragment.split_at(h),
        None => (query_and_fragment, ""),
    };
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if key == "password" => {
                out.push_str(key);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
    out.push_str(fragment);
    out
}

#[cfg(test)]
mod tests {
    use super::{explain_tls_refusal, redact};
    use sea_orm::{DbErr, RuntimeErr};

    #[test]
    fn a_refused_server_certificate_says_what_to_check() {
        let refused = DbErr::Conn(RuntimeErr::Internal(
            "error communicating with database: invalid peer certificate: UnknownIssuer".into(),
        ));
        let message = explain_tls_refusal(refused).to_string();
        assert!(
            message.contains("invalid peer certificate: UnknownIssuer"),
            "{message}"
        );
        assert!(message.contains("sslrootcert"), "{message}");
        let other = DbErr::Conn(RuntimeErr::Internal("connection refused".into()));
        assert_eq!(explain_tls_refusal(other.clone()), other);
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://almo:secret@db:5432/almo"),
            "postgres://almo:***@db:5432/almo"
        );
        assert_eq!(redact("sqlite://data/almo.db"), "sqlite://data/almo.db");
        assert_eq!(
            redact("sqlite://data/almo.db?mode=rwc"),
            "sqlite://data/almo.db?mode=rwc"
        );
        assert_eq!(redact("postgres://almo@db/almo"), "postgres://almo@db/almo");
    }

    #[test]
    fn redacted_url_keeps_the_tls_parameters_readable() {
        assert_eq!(
            redact(
                "postgres://almo:secret@db.example:5432/almo\
                 ?sslmode=verify-full&sslrootcert=/etc/almo/ca.crt"
            ),
            "postgres://almo:***@db.example:5432/almo\
             ?sslmode=verify-full&sslrootcert=/etc/almo/ca.crt"
        );
    }

    #[test]
    fn an_at_sign_in_the_query_is_not_taken_for_the_credentials() {
        assert_eq!(
            redact("postgres://almo:secret@db/almo?sslrootcert=/certs/ca@2026.crt"),
            "postgres://almo:***@db/almo?sslrootcert=/certs/ca@2026.crt"
        );
        assert_eq!(
            redact("postgres://almo@db/almo?sslrootcert=/certs/ca@2026.crt"),
            "postgres://almo@db/almo?sslrootcert=/certs/ca@2026.crt"
        );
    }

    #[test]
    fn a_password_in_the_query_is_hidden_too() {
        assert_eq!(
            redact("postgres://db/almo?user=almo&password=secret&sslmode=require"),
            "postgres://db/almo?user=almo&password=***&sslmode=require"
        );
    }
}
