//! SIGTERM during a stream of writes, against the real `almo up --demo` process: the health check
//! goes NOT_SERVING while the process still runs, the process exits 0, every acknowledged write
//! is in the database afterwards, the writes refused once shutdown began are clean errors that
//! never applied, and sending them again to the restarted process applies each exactly once.
//!
//! On the SQLite file by default; also on PostgreSQL (a fresh database, dropped afterwards) when
//! ALMO_TEST_DATABASE_URL names a server.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use almo_auth::Role;
use almo_db::entity::{audit_log, organisation};
use almo_proto::directory::RegisterAlmoRequest;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_testkit::authed;
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const LAMBETH: &str = "E09000022";
const WRITERS: usize = 4;
/// Acknowledged writes before the signal: the stream is well under way.
const BEFORE_SIGNAL: usize = 40;

/// The database the process runs on, and how to tidy it up.
struct TestDatabase {
    url: String,
    /// PostgreSQL: (server URL, database name) to drop afterwards.
    drop: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var(almo_testkit::TEST_DATABASE_ENV)
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(server) => {
                let name = format!("almo_gs_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(server.as_str()).await.unwrap();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let (base, query) = match server.split_once('?') {
                    Some((b, q)) => (b.to_string(), format!("?{q}")),
                    None => (server.clone(), String::new()),
                };
                let slash = base.rfind('/').unwrap();
                let url = format!("{}/{name}{query}", &base[..slash]);
                Self {
                    url,
                    drop: Some((server, name)),
                    _dir: dir,
                }
            }
            None => Self {
                url: format!("sqlite://{}?mode=rwc", dir.path().join("almo.db").display()),
                drop: None,
                _dir: dir,
            },
        }
    }

    async fn tidy(self) {
        if let Some((server, name)) = &self.drop {
            let admin = Database::connect(server.as_str()).await.unwrap();
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child if the test fails before it exits by itself.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn health(channel: &Channel) -> Option<ServingStatus> {
    let answer = tokio::time::timeout(
        Duration::from_secs(2),
        HealthClient::new(channel.clone()).check(HealthCheckRequest {
            service: String::new(),
        }),
    )
    .await;
    match answer {
        Ok(Ok(r)) => ServingStatus::try_from(r.into_inner().status).ok(),
        _ => None,
    }
}

/// Starts `almo up` (with the demo data when `demo`) on the test database, its log in `log`.
fn spawn_almo(db: &TestDatabase, addr: &str, demo: bool, log: &str) -> Child {
    spawn_almo_with(db, addr, demo, log, &[])
}

/// [`spawn_almo`] with more `ALMO_*` settings.
fn spawn_almo_with(
    db: &TestDatabase,
    addr: &str,
    demo: bool,
    log: &str,
    env: &[(&str, &str)],
) -> Child {
    let log = std::fs::File::create(db._dir.path().join(log)).unwrap();
    let mut args = vec!["up"];
    if demo {
        args.push("--demo");
    }
    Command::new(env!("CARGO_BIN_EXE_almo"))
        .args(args)
        .current_dir(db._dir.path())
        .env("ALMO_LISTEN", addr)
        .env("ALMO_DATABASE_URL", &db.url)
        .env("ALMO_SHUTDOWN_DELAY_SECS", "1")
        .env_remove("ALMO_JWT_SECRET")
        .env_remove("ALMO_JWT_ALGORITHM")
        .env_remove("ALMO_MIGRATE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Sends SIGTERM to the child in `guard` and waits for it to exit by itself, within `limit`.
async fn terminate(guard: &mut Guard, limit: Duration, why: &str) -> std::process::ExitStatus {
    let child = guard.0.as_mut().unwrap();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let signalled = Instant::now();
    let exit = loop {
        if let Some(s) = guard.0.as_mut().unwrap().try_wait().unwrap() {
            break s;
        }
        assert!(
            signalled.elapsed() < limit,
            "still running {limit:?} after SIGTERM: {why}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    guard.0 = None;
    eprintln!("exited {:?} after SIGTERM", signalled.elapsed());
    exit
}

/// Connects once `almo` at `endpoint` reports SERVING, within `within` of `started`.
async fn wait_serving(endpoint: &Endpoint, started: Instant, within: Duration) -> Channel {
    loop {
        assert!(
            started.elapsed() < within,
            "almo up did not report SERVING within {within:?}"
        );
        if let Ok(c) = endpoint.connect().await
            && health(&c).await == Some(ServingStatus::Serving)
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn register(n: usize) -> tonic::Request<RegisterAlmoRequest> {
    let mut req = authed(
        RegisterAlmoRequest {
            request_id: format!("gs-register-{n:05}"),
            almo_id: format!("GS-{n:05}"),
            name: format!("Graceful Shutdown Homes {n}"),
            council_id: LAMBETH.into(),
            section27_consent_date: "2025-06-01".into(),
            go_live_date: "2026-04-01".into(),
            agreement_end_date: String::new(),
            stock_size: 1000,
        },
        LAMBETH,
        Role::CouncilOfficer,
    );
    req.set_timeout(Duration::from_secs(5));
    req
}

/// The status with its transport cause, which tells a refusal the server never read from one
/// it may have applied.
fn describe(e: &tonic::Status) -> String {
    format!("{} / {:?}", e.message(), std::error::Error::source(e))
}

/// What became of one write.
#[derive(Debug)]
enum Outcome {
    Acknowledged,
    Refused(Code, String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_writes_loses_no_acknowledged_write_and_goes_not_serving_first() {
    let started = Instant::now();
    let db = TestDatabase::new().await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = spawn_almo(&db, &addr, true, "almo.log");
    let pid = child.id();
    let mut guard = Guard(Some(child));

    // Up and SERVING (migrations and demo data first).
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(1));
    let health_channel = wait_serving(&endpoint, started, Duration::from_secs(20)).await;

    // A stream of writes from several clients, each on its own connection, distinct request ids.
    let next = Arc::new(AtomicUsize::new(0));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let exited = Arc::new(AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..WRITERS {
        let channel = endpoint.connect().await.unwrap();
        let (next, acknowledged, exited) = (next.clone(), acknowledged.clone(), exited.clone());
        writers.spawn(async move {
            let mut client = DirectoryServiceClient::new(channel);
            let mut outcomes = Vec::new();
            let mut refusals = 0;
            // Until the process has gone and this writer has been refused a few times.
            while !(exited.load(Ordering::SeqCst) && refusals >= 3) {
                let n = next.fetch_add(1, Ordering::SeqCst);
                match client.register_almo(register(n)).await {
                    Ok(r) => {
                        let org = r.into_inner().organisation.unwrap();
                        assert_eq!(org.id, format!("GS-{n:05}"));
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                        outcomes.push((n, Outcome::Acknowledged));
                    }
                    Err(e) => {
                        refusals += 1;
                        outcomes.push((n, Outcome::Refused(e.code(), describe(&e))));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            outcomes
        });
    }

    while acknowledged.load(Ordering::SeqCst) < BEFORE_SIGNAL {
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "writes too slow"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled_at = acknowledged.load(Ordering::SeqCst);

    // The health check says NOT_SERVING while the process still runs.
    let mut not_serving_while_running = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if health(&health_channel).await == Some(ServingStatus::NotServing) {
            let child = guard.0.as_mut().unwrap();
            not_serving_while_running = child.try_wait().unwrap().is_none();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(health_channel);
    assert!(
        not_serving_while_running,
        "health did not report NOT_SERVING before the process exited"
    );

    // It exits by itself, 0, within the delay and the drain.
    let exit = loop {
        let child = guard.0.as_mut().unwrap();
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(28),
            "almo did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    guard.0 = None;
    exited.store(true, Ordering::SeqCst);
    let log = std::fs::read_to_string(db._dir.path().join("almo.log")).unwrap_or_default();
    assert!(exit.success(), "almo exited {exit:?}; its log:\n{log}");

    let outcomes: BTreeMap<usize, Outcome> =
        writers.join_all().await.into_iter().flatten().collect();
    let acked: Vec<usize> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Acknowledged))
        .map(|(n, _)| *n)
        .collect();
    assert!(acked.len() >= signalled_at);
    assert!(
        outcomes.values().any(|o| matches!(o, Outcome::Refused(..))),
        "the writers ran on past the exit, so some writes were refused"
    );

    // Re-open the database: every acknowledged write is there, and every row there is whole
    // (the organisation and its audit row, written in one transaction).
    let conn = almo_db::connect(&almo_db::ConnectConfig::new(db.url.clone()))
        .await
        .unwrap();
    let stored: BTreeMap<String, organisation::Model> = organisation::Entity::find()
        .filter(organisation::Column::Id.starts_with("GS-"))
        .all(conn.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect();
    let audited: Vec<String> = audit_log::Entity::find()
        .filter(audit_log::Column::RequestId.starts_with("gs-register-"))
        .all(conn.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.request_id)
        .collect();
    // Refused writes are clean: the connection refused once the process had gone (UNAVAILABLE),
    // cancelled by the client's transport when the server closed the connection before reading
    // the call, or refused by the server's GOAWAY (NO_ERROR: a stream above the last one it
    // accepted, so never processed; tonic reports that as INTERNAL). None of them applied: the
    // drain let every write it received finish and answer.
    for (n, o) in &outcomes {
        if let Outcome::Refused(code, detail) = o {
            let never_received = *code == Code::Unavailable
                || (*code == Code::Cancelled && detail.contains("connection closed"))
                || (*code == Code::Internal && detail.contains("GoAway(b\"\", NO_ERROR, Remote)"));
            assert!(never_received, "write {n}: {code:?} {detail}");
            assert!(
                !stored.contains_key(&format!("GS-{n:05}")),
                "write {n} was refused ({code:?} {detail}) yet applied"
            );
        }
    }
    for n in &acked {
        let id = format!("GS-{n:05}");
        let row = stored
            .get(&id)
            .unwrap_or_else(|| panic!("acknowledged {id} lost"));
        assert_eq!(row.council_id.as_deref(), Some(LAMBETH));
        assert_eq!(row.stock_size, Some(1000));
    }
    for id in stored.keys() {
        let n = &id["GS-".len()..];
        assert!(
            audited.contains(&format!("gs-register-{n}")),
            "{id} stored without its audit row"
        );
    }
    assert_eq!(stored.len(), audited.len(), "an audit row without its ALMO");
    assert_eq!(
        stored.len(),
        acked.len(),
        "exactly the acknowledged writes are stored"
    );

    // What a client does with a refused write: send it again, same request id, once the service
    // is back. Every retry is applied once; retrying an acknowledged write replays its answer.
    let restarted = Instant::now();
    let mut again = Guard(Some(spawn_almo(&db, &addr, false, "almo-restart.log")));
    let channel = wait_serving(&endpoint, restarted, Duration::from_secs(20)).await;
    let mut client = DirectoryServiceClient::new(channel);
    let retried: Vec<usize> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Refused(..)))
        .map(|(n, _)| *n)
        .collect();
    for n in retried.iter().chain(acked.iter().take(3)) {
        let org = client
            .register_almo(register(*n))
            .await
            .unwrap_or_else(|e| panic!("retry of write {n}: {:?} {}", e.code(), describe(&e)))
            .into_inner()
            .organisation
            .unwrap();
        assert_eq!(org.id, format!("GS-{n:05}"));
    }
    drop(client);
    let stored_after = organisation::Entity::find()
        .filter(organisation::Column::Id.starts_with("GS-"))
        .all(conn.conn())
        .await
        .unwrap();
    assert_eq!(
        stored_after.len(),
        outcomes.len(),
        "every write stored once after the retries"
    );
    let audited_after = audit_log::Entity::find()
        .filter(audit_log::Column::RequestId.starts_with("gs-register-"))
        .all(conn.conn())
        .await
        .unwrap();
    assert_eq!(
        audited_after.len(),
        outcomes.len(),
        "a replayed retry writes no second audit row"
    );
    if let Some(mut child) = again.0.take() {
        let _ = child.kill();
        let _ = child.wait();
    }

    conn.close().await.unwrap();
    eprintln!(
        "{} writes: {} acknowledged ({} before SIGTERM), {} stored, {} refused; {:?}",
        outcomes.len(),
        acked.len(),
        signalled_at,
        stored.len(),
        outcomes.len() - acked.len(),
        started.elapsed()
    );
    db.tidy().await;
}

/// A client watching plan events (a long-lived server stream) must not hold a stopping process
/// past its drain until the request time limit: an orchestrator kills it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_open_event_stream_does_not_hold_the_process_after_sigterm() {
    use almo_proto::delivery_plan::WatchPlanEventsRequest;
    use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
    let started = Instant::now();
    let db = TestDatabase::new().await;
    let addr = format!("127.0.0.1:{}", free_port());
    let env = [("ALMO_REQUEST_TIMEOUT_SECS", "60")];
    let mut guard = Guard(Some(spawn_almo_with(&db, &addr, true, "almo.log", &env)));
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(1));
    let channel = wait_serving(&endpoint, started, Duration::from_secs(20)).await;
    let mut stream = DeliveryPlanServiceClient::new(channel)
        .watch_plan_events(authed(
            WatchPlanEventsRequest {
                plan_id: "LAMBETH-LIVING-2026-2028".into(),
                after_cursor: String::new(),
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner();
    let watcher = tokio::spawn(async move { stream.message().await });
    let exit = terminate(
        &mut guard,
        Duration::from_secs(10),
        "1 s delay with an event stream open",
    )
    .await;
    assert!(exit.success(), "{exit:?}");
    // The watcher sees its stream end, not hang.
    let _ = tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("the watcher's stream ends");
    db.tidy().await;
}

/// A stream the service cannot end itself (a client watching the health service) holds the
/// drain for ALMO_DRAIN_TIMEOUT_SECS at most, not until the request time limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drain_stops_waiting_for_open_calls_after_the_drain_timeout() {
    let started = Instant::now();
    let db = TestDatabase::new().await;
    let addr = format!("127.0.0.1:{}", free_port());
    let env = [
        ("ALMO_REQUEST_TIMEOUT_SECS", "60"),
        ("ALMO_DRAIN_TIMEOUT_SECS", "2"),
    ];
    let mut guard = Guard(Some(spawn_almo_with(&db, &addr, false, "almo.log", &env)));
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(1));
    let channel = wait_serving(&endpoint, started, Duration::from_secs(20)).await;
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);
    // The watcher reads on: it sees NOT_SERVING, then its connection close.
    let watcher = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Ok(Some(m)) = watch.message().await {
            seen.push(m.status);
        }
        seen
    });
    let signalled = Instant::now();
    let exit = terminate(
        &mut guard,
        Duration::from_secs(15),
        "1 s delay + 2 s drain timeout with a health watch open",
    )
    .await;
    assert!(exit.success(), "{exit:?}");
    assert!(
        signalled.elapsed() >= Duration::from_secs(3),
        "exited before the delay and the drain timeout: {:?}",
        signalled.elapsed()
    );
    let seen = tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("the watcher's stream ends")
        .unwrap();
    assert!(
        seen.contains(&(ServingStatus::NotServing as i32)),
        "the watcher was told NOT_SERVING first: {seen:?}"
    );
    db.tidy().await;
}
