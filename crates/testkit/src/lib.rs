//! Test helpers: a service on `127.0.0.1:0` against a fresh database (a SQLite file in a temp
//! directory, or a fresh schema in the PostgreSQL named by `ALMO_TEST_DATABASE_URL`), loaded with
//! the demo directory; tokens minted for any organisation and role.

use std::time::Duration;

use almo_auth::{Minter, Role, TokenRequest};
use almo_db::{ConnectConfig, Db};
use almo_server::{DEV_ISSUER, DEV_SECRET, Running, ServerArgs, ServiceContext, ServiceMount};
use anyhow::Context;
use clap::Parser;
use sea_orm::{ConnectionTrait, Database};
use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

pub use almo_directory::demo;

/// The environment variable naming a PostgreSQL server for the tests.
pub const TEST_DATABASE_ENV: &str = "ALMO_TEST_DATABASE_URL";

#[derive(Parser)]
struct ArgsOnly {
    #[command(flatten)]
    args: ServerArgs,
}

/// Server arguments as the defaults give them, for a test on port 0.
pub fn default_args() -> ServerArgs {
    let mut args = ArgsOnly::parse_from(["almo-test"]).args;
    args.listen = "127.0.0.1:0".parse().unwrap();
    args.auth.jwt_algorithm = "HS256".into();
    args.auth.jwt_secret = None;
    args.auth.jwt_issuer = DEV_ISSUER.into();
    args.auth.jwt_audience = "almo-exchange".into();
    args
}

/// A fresh, migrated, empty database.
pub struct TestDb {
    pub db: Db,
    /// How `db` was opened, so another pool can open the same database.
    config: ConnectConfig,
    /// Kept alive so the SQLite file outlives the test (and every pool sharing it).
    _dir: Option<std::sync::Arc<tempfile::TempDir>>,
    /// Drops the PostgreSQL schema when the last pool sharing it is gone.
    _schema: Option<std::sync::Arc<SchemaGuard>>,
}

/// A test's PostgreSQL schema, dropped when the test is done with it: a full run creates one
/// per test (hundreds), and the server (and its streaming replica) would otherwise keep every
/// one on disk until the run ends.
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        // The drop runs on a thread of its own with a runtime of its own: the test's runtime
        // may be this very thread. A transaction the test left open (a refused write, a server
        // stopping) belongs to a connection that only that runtime can roll back or close, and
        // it holds locks the DROP must wait for: so wait a little for the drop, then leave it
        // to finish by itself once the test's runtime has shut down and closed its connections.
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let (done, finished) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(e) = drop_schema(&url, &schema) {
                eprintln!("test schema {schema} not dropped: {e:#}");
            }
            let _ = done.send(());
        });
        let _ = finished.recv_timeout(Duration::from_secs(3));
    }
}

/// `DROP SCHEMA … CASCADE` on a runtime and a connection of its own (one connection, so the
/// lock timeout set is the one the DROP runs under).
fn drop_schema(url: &str, schema: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut opts = sea_orm::ConnectOptions::new(url);
        opts.max_connections(1).sqlx_logging(false);
        let admin = Database::connect(opts).await?;
        admin.execute_unprepared("SET lock_timeout = '60s'").await?;
        admin
            .execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await?;
        admin.close().await?;
        Ok(())
    })
}

impl TestDb {
    pub async fn new() -> anyhow::Result<Self> {
        Self::open(true).await
    }

    async fn open(migrate: bool) -> anyhow::Result<Self> {
        match std::env::var(TEST_DATABASE_ENV)
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(url) => {
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(url.as_str())
                    .await
                    .with_context(|| format!("connecting to {}", almo_db::redact(&url)))?;
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                    .await?;
                admin.close().await?;
                let guard = SchemaGuard {
                    url: url.clone(),
                    schema: schema.clone(),
                };
                let mut cfg = ConnectConfig::new(url);
                cfg.schema = Some(schema);
                cfg.max_connections = 8;
                let db = almo_db::connect(&cfg).await?;
                if migrate {
                    db.migrate().await?;
                }
                Ok(Self {
                    db,
                    config: cfg,
                    _dir: None,
                    _schema: Some(std::sync::Arc::new(guard)),
                })
            }
            None => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                let cfg = ConnectConfig::new(url);
                let db = almo_db::connect(&cfg).await?;
                if migrate {
                    db.migrate().await?;
                }
                Ok(Self {
                    db,
                    config: cfg,
                    _dir: Some(std::sync::Arc::new(dir)),
                    _schema: None,
                })
            }
        }
    }

    /// A second, independent connection pool on the same database (the same SQLite file or
    /// PostgreSQL schema), as another replica of a service would open.
    pub async fn another_pool(&self) -> anyhow::Result<Self> {
        Ok(Self {
            db: almo_db::connect(&self.config).await?,
            config: self.config.clone(),
            _dir: self._dir.clone(),
            _schema: self._schema.clone(),
        })
    }

    /// The PostgreSQL schema the test's tables are in (none on SQLite).
    pub fn schema(&self) -> Option<&str> {
        self.config.schema.as_deref()
    }

    /// A fresh database with no tables yet (for start-up tests).
    pub async fn unmigrated() -> anyhow::Result<Self> {
        Self::open(false).await
    }

    /// A fresh database with the demo directory loaded.
    pub async fn with_demo() -> anyhow::Result<Self> {
        let t = Self::new().await?;
        demo::seed(&t.db).await?;
        Ok(t)
    }
}

/// Mints development tokens.
pub fn minter() -> Minter {
    Minter::new(DEV_SECRET.as_bytes(), DEV_ISSUER, "almo-exchange")
}

/// A token for `org` in `role`, subject `role@org`.
pub fn token(org: &str, role: Role) -> String {
    minter().mint(&TokenRequest {
        subject: format!("{}@{org}", role.as_str()),
        organisation_id: org.to_string(),
        role,
        ttl_secs: 3600,
    })
}

/// Wraps `msg` in a request carrying a bearer token for `org` in `role`.
pub fn authed<T>(msg: T, org: &str, role: Role) -> Request<T> {
    let mut req = Request::new(msg);
    let value: MetadataValue<_> = format!("Bearer {}", token(org, role)).parse().unwrap();
    req.metadata_mut().insert("authorization", value);
    req
}

/// A server on 127.0.0.1:0 with its own database.
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub db: Db,
    pub running: Option<Running>,
    _db: TestDb,
}

impl TestApp {
    /// Starts `mounts` with default arguments against a fresh demo database.
    pub async fn spawn(mounts: Vec<ServiceMount>) -> anyhow::Result<Self> {
        Self::spawn_with(default_args(), mounts).await
    }

    pub async fn spawn_with(args: ServerArgs, mounts: Vec<ServiceMount>) -> anyhow::Result<Self> {
        let test_db = TestDb::with_demo().await?;
        Self::spawn_on(args, mounts, test_db).await
    }

    pub async fn spawn_on(
        args: ServerArgs,
        mounts: Vec<ServiceMount>,
        test_db: TestDb,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let verifier = args.auth.verifier()?;
        let ctx = ServiceContext::new(test_db.db.clone(), verifier, args.max_request_bytes);
        let running = almo_server::start(&args, ctx, mounts, listener).await?;
        let addr = running.addr;
        let waits = if args.migrate == almo_server::MigrateMode::Apply {
            500
        } else {
            0
        };
        for _ in 0..waits {
            if running.is_ready() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Self {
            addr,
            db: test_db.db.clone(),
            running: Some(running),
            _db: test_db,
        })
    }

    /// A new connection to the server.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .tcp_nodelay(true)
            .connect()
            .await
            .expect("connect to the test server")
    }

    /// Stops the server gracefully.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        match self.running.take() {
            Some(r) => r.shutdown().await,
            None => Ok(()),
        }
    }
}

/// Records `end` (`YYYY-MM-DD`) as the ALMO's end date in the directory's table, as a hand-back
/// does, behind the services' back (the tests of each service's refusals after an ALMO's end).
pub async fn end_almo(db: &Db, almo: &str, end: &str) {
    use almo_db::entity::organisation;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let end: sea_orm::prelude::Date = end.parse().expect("end date as YYYY-MM-DD");
    organisation::Entity::update_many()
        .col_expr(organisation::Column::EndDate, Expr::value(Some(end)))
        .filter(organisation::Column::Id.eq(almo))
        .exec(db.conn())
        .await
        .expect("set the ALMO's end date");
}
