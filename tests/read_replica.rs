//! Reads that may lag a little go to a PostgreSQL streaming replica (`ALMO_DATABASE_READ_URL`);
//! writes, and the reads that must see them, never do.
//!
//! Runs against a real replica when `ALMO_TEST_DATABASE_READ_URL` names a hot standby of the
//! server in `ALMO_TEST_DATABASE_URL` (`scripts/postgres.sh replica "$ALMO_PG_DIR"`); without
//! them those tests say so and pass. Replay on the replica is paused while a test shows that a
//! read comes from it: the tests of this file take turns.

use std::collections::BTreeSet;
use std::time::Duration;

use almo_auth::Role;
use almo_db::ConnectConfig;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{self as pi};
use almo_server::{Running, ServiceContext};
use almo_testkit::demo::{LAMBETH, LAMBETH_LIVING};
use almo_testkit::{authed, default_args, token};
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_flight::{FlightClient, Ticket};
use futures::TryStreamExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tonic::transport::{Channel, Endpoint};

const READ_URL_ENV: &str = "ALMO_TEST_DATABASE_READ_URL";

/// One test at a time: pausing replay holds every reader of the replica.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The primary's and the replica's URLs, or `None` (and why) when the run has no replica.
fn urls() -> Option<(String, String)> {
    let get = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    match (get(almo_testkit::TEST_DATABASE_ENV), get(READ_URL_ENV)) {
        (Some(primary), Some(read)) => Some((primary, read)),
        _ => {
            eprintln!(
                "skipped: set {} and {READ_URL_ENV} (scripts/postgres.sh start, then \
                 scripts/postgres.sh replica \"$ALMO_PG_DIR\") to run this against a real replica",
                almo_testkit::TEST_DATABASE_ENV
            );
            None
        }
    }
}

/// A name no other test of this run or another uses.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{nanos}", std::process::id())
}

async fn exec(conn: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Waits until the replica has replayed everything the primary has written so far: the WAL's
/// insert position, as a commit under `synchronous_commit = off` (the test server's) may not
/// have been written out yet.
async fn caught_up(primary: &DatabaseConnection, replica: &DatabaseConnection) {
    let lsn: String = exec(primary, "SELECT pg_current_wal_insert_lsn()::text").await[0]
        .try_get_by_index(0)
        .unwrap();
    for _ in 0..300 {
        let sql = format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn");
        let done: bool = exec(replica, &sql).await[0].try_get_by_index(0).unwrap();
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the replica did not replay up to {lsn} within 30 s");
}

/// A server carrying PI returns and its Flight datasets on a fresh schema of the primary, with
/// its reads that may lag sent to the replica.
struct Suite {
    running: Running,
    ctx: ServiceContext,
    primary_admin: DatabaseConnection,
    replica_admin: DatabaseConnection,
}

impl Suite {
    async fn start(primary_url: &str, read_url: &str) -> Self {
        let schema = format!("rr_{}", unique());
        let primary_admin = Database::connect(primary_url).await.unwrap();
        let replica_admin = Database::connect(read_url).await.unwrap();
        exec(&replica_admin, "SELECT pg_wal_replay_resume()").await;
        exec(&primary_admin, &format!("CREATE SCHEMA {schema}")).await;
        let mut primary = ConnectConfig::new(primary_url);
        primary.schema = Some(schema.clone());
        primary.max_connections = 4;
        let db = almo_db::connect_and_migrate(&primary).await.unwrap();
        almo_pi_returns::seed_catalogue(db.conn()).await.unwrap();
        almo_directory::demo::seed(&db).await.unwrap();
        almo_pi_returns::demo::seed(&db).await.unwrap();
        caught_up(&primary_admin, &replica_admin).await;
        let mut read = ConnectConfig::new(read_url);
        read.schema = Some(schema);
        read.max_connections = 4;
        read.read_only = true;
        let read = almo_db::connect(&read).await.unwrap();
        let args = default_args();
        let ctx = ServiceContext::new(db, args.auth.verifier().unwrap(), args.max_request_bytes)
            .with_read_db(read);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = almo_server::start(
            &args,
            ctx.clone(),
            vec![
                almo_directory::mount(),
                almo_pi_returns::mount(),
                almo_flight::mount(vec![almo_pi_returns::flight_datasets]),
            ],
            listener,
        )
        .await
        .unwrap();
        for _ in 0..500 {
            if running.is_ready() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Self {
            running,
            ctx,
            primary_admin,
            replica_admin,
        }
    }

    async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.running.addr))
            .unwrap()
            .tcp_nodelay(true)
            .connect()
            .await
            .unwrap()
    }
}

/// A draft annual return of Lambeth Living for the Table 6 year holding `value` for BVPI 66a,
/// written through the service (so on the primary); its id.
async fn write_draft(channel: &Channel, value: f64) -> String {
    fn by<T>(msg: T) -> tonic::Request<T> {
        authed(msg, LAMBETH_LIVING, Role::AlmoOfficer)
    }
    let mut c = PiReturnsServiceClient::new(channel.clone());
    let r = c
        .create_return(by(pi::CreateReturnRequest {
            request_id: "replica-draft".into(),
            organisation_id: LAMBETH_LIVING.into(),
            period: Some(Period {
                year: Some(FinancialYear {
                    start_year: almo_pi_returns::demo::TABLE6_YEAR,
                }),
                kind: PeriodKind::Year as i32,
                number: 1,
            }),
        }))
        .await
        .expect("a write succeeds with the reads on a replica")
        .into_inner()
        .pi_return
        .unwrap();
    c.set_values(by(pi::SetValuesRequest {
        request_id: "replica-draft-values".into(),
        return_id: r.id.clone(),
        etag: r.etag,
        values: vec![pi::ValueInput {
            indicator_code: "BVPI 66a".into(),
            value: Some(value),
            ..Default::default()
        }],
        survey: None,
    }))
    .await
    .expect("a write succeeds with the reads on a replica");
    r.id
}

/// Lambeth Living's BVPI 66a figures of the Table 6 year as Lambeth (its council) reads them
/// through Flight's `pi.values`.
async fn flight_figures(channel: &Channel) -> BTreeSet<String> {
    let mut c = FlightClient::new(channel.clone());
    c.add_header(
        "authorization",
        &format!("Bearer {}", token(LAMBETH, Role::CouncilOfficer)),
    )
    .unwrap();
    let ticket = format!(
        r#"{{"dataset": "pi.values", "year": "2001/02", "organisation": "{LAMBETH_LIVING}"}}"#
    );
    let batches: Vec<RecordBatch> = c
        .do_get(Ticket::new(ticket))
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut out = BTreeSet::new();
    for b in &batches {
        let code = b
            .column_by_name("indicator_code")
            .unwrap()
            .as_string::<i32>();
        let value = b
            .column_by_name("value")
            .unwrap()
            .as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if code.value(i) == "BVPI 66a" {
                out.insert(value.value(i).to_string());
            }
        }
    }
    out
}

/// Lambeth Living's BVPI 66a figures of the Table 6 year as QueryReturns shows them to Lambeth.
async fn queried_figures(channel: &Channel) -> BTreeSet<String> {
    let mut c = PiReturnsServiceClient::new(channel.clone());
    let page = c
        .query_returns(authed(
            pi::QueryReturnsRequest {
                year: Some(FinancialYear {
                    start_year: almo_pi_returns::demo::TABLE6_YEAR,
                }),
                organisation_id: LAMBETH_LIVING.into(),
                indicator_code: "BVPI 66a".into(),
                page_size: 100,
                ..Default::default()
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    page.pi_returns
        .iter()
        .flat_map(|r| r.values.iter().map(|v| v.value.to_string()))
        .collect()
}

#[tokio::test]
async fn a_write_on_the_primary_reaches_the_lagging_reads_through_the_replica() {
    let Some((primary_url, read_url)) = urls() else {
        return;
    };
    let _turn = TURN.lock().await;
    let suite = Suite::start(&primary_url, &read_url).await;
    let channel = suite.channel().await;
    assert!(flight_figures(&channel).await.is_empty());

    // With replay held, the replica stays where it is: the write still succeeds (it goes to the
    // primary), the read of the caller's own write (GetReturn, on the primary) sees it, and the
    // reads that may lag (Flight, QueryReturns) do not yet: they are the replica's.
    exec(&suite.replica_admin, "SELECT pg_wal_replay_pause()").await;
    let id = write_draft(&channel, 97.5).await;
    let own = PiReturnsServiceClient::new(channel.clone())
        .get_return(authed(
            pi::GetReturnRequest {
                return_id: id,
                include_history: false,
            },
            LAMBETH_LIVING,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .pi_return
        .unwrap();
    assert_eq!(own.values[0].value, 97.5);
    let held_flight = flight_figures(&channel).await;
    let held_query = queried_figures(&channel).await;
    exec(&suite.replica_admin, "SELECT pg_wal_replay_resume()").await;
    assert!(held_flight.is_empty(), "{held_flight:?}");
    assert!(held_query.is_empty(), "{held_query:?}");

    // Replayed, the same reads show the write.
    caught_up(&suite.primary_admin, &suite.replica_admin).await;
    let expected = BTreeSet::from(["97.5".to_string()]);
    assert_eq!(flight_figures(&channel).await, expected);
    assert_eq!(queried_figures(&channel).await, expected);
    suite.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_read_connection_refuses_writes_even_on_the_primary() {
    let Some((primary_url, read_url)) = urls() else {
        return;
    };
    let _turn = TURN.lock().await;
    let suite = Suite::start(&primary_url, &read_url).await;
    let refused = suite
        .ctx
        .read_db()
        .conn()
        .execute_unprepared("CREATE TABLE replica_write (a int)")
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("read-only"), "{refused}");
    // A read pool pointed at the primary itself (a misconfigured URL) refuses writes as well.
    let mut on_primary = ConnectConfig::new(primary_url.as_str());
    on_primary.read_only = true;
    let on_primary = almo_db::connect(&on_primary).await.unwrap();
    let refused = on_primary
        .conn()
        .execute_unprepared("CREATE TABLE replica_write (a int)")
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("read-only transaction"), "{refused}");
    let one = exec(on_primary.conn(), "SELECT 1").await;
    assert_eq!(one.len(), 1, "reads still work");
    suite.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_postgresql_primary_the_read_url_is_ignored_and_reads_go_to_the_primary() {
    let dir = std::env::temp_dir().join(format!("almo-read-replica-{}", unique()));
    let mut args = default_args();
    args.database.database_url = format!("sqlite://{}?mode=rwc", dir.join("primary.db").display());
    // Nothing listens there: a connection attempt would fail the start.
    args.database.database_read_url = Some("postgres://almo@127.0.0.1:1/almo".into());
    let ctx = almo_server::connect_context(&args).await.unwrap();
    assert_eq!(ctx.read_db().backend(), almo_db::Backend::Sqlite);
    ctx.db.migrate().await.unwrap();
    let tables = ctx
        .read_db()
        .conn()
        .query_all_raw(Statement::from_string(
            ctx.read_db().conn().get_database_backend(),
            "SELECT name FROM sqlite_master WHERE name = 'organisations'",
        ))
        .await
        .unwrap();
    assert_eq!(tables.len(), 1, "the read connection is the primary's file");
    drop(ctx);
    let _ = std::fs::remove_dir_all(dir);
}
