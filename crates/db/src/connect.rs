//! Connection set-up: SQLite (a file, WAL, busy timeout, larger cache) or PostgreSQL by URL.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;

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
}

impl Db {
    /// The underlying sea-orm connection, for reads.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so two writers queue on the
    /// busy timeout instead of failing when a read lock cannot be upgraded.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
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
        self.conn.close().await
    }
}

/// Options for [`connect`].
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// PostgreSQL only: the schema to work in (created by the caller).
    pub schema: Option<String>,
}

impl ConnectConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            schema: None,
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
    if backend == Backend::Sqlite {
        ensure_sqlite_dir(&config.url)?;
    }
    let mut opts = ConnectOptions::new(config.url.clone());
    opts.max_connections(config.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    if let Some(schema) = &config.schema {
        opts.set_schema_search_path(schema.clone());
    }
    opts.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .pragma("cache_size", "-65536")
    });
    let conn = Database::connect(opts).await?;
    Ok(Db { conn, backend })
}

/// Opens a pool and applies pending migrations.
pub async fn connect_and_migrate(config: &ConnectConfig) -> Result<Db, DbErr> {
    let db = connect(config).await?;
    db.migrate().await?;
    Ok(db)
}

fn ensure_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// The URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://almo:secret@db:5432/almo"),
            "postgres://almo:***@db:5432/almo"
        );
        assert_eq!(redact("sqlite://data/almo.db"), "sqlite://data/almo.db");
    }
}
