//! Plan events across replicas: a write through one replica reaches a `WatchPlanEvents` on
//! another. On PostgreSQL it comes by NOTIFY, not the poll (the poll here is 30 s, the wait far
//! shorter); when the replica's listening connection is killed, the watch still catches up (the
//! listener reconnects and the poll remains). On SQLite the poll is the only wake-up.

use std::time::Duration;

use almo_auth::Role;
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, authed, default_args};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tonic::Streaming;
use tonic::transport::Channel;

const PLAN: &str = almo_delivery_plan::demo::PLAN_ID;

/// Replica A and B on one database, their watches polling every `poll`.
async fn replicas(poll: Duration) -> (TestApp, TestApp) {
    let first = TestDb::new().await.unwrap();
    almo_pi_returns::seed_catalogue(first.db.conn())
        .await
        .unwrap();
    almo_directory::demo::seed(&first.db).await.unwrap();
    almo_delivery_plan::demo::seed(&first.db).await.unwrap();
    let second = first.another_pool().await.unwrap();
    let mounts = || {
        let today = chrono::NaiveDate::from_ymd_opt(2027, 4, 15).unwrap();
        vec![
            almo_directory::mount(),
            almo_delivery_plan::mount_with_watch_poll(
                almo_delivery_plan::Clock::Fixed(today),
                poll,
            ),
        ]
    };
    let a = TestApp::spawn_on(default_args(), mounts(), first)
        .await
        .unwrap();
    let b = TestApp::spawn_on(default_args(), mounts(), second)
        .await
        .unwrap();
    (a, b)
}

fn council<T>(m: T) -> tonic::Request<T> {
    authed(m, LAMBETH, Role::CouncilOfficer)
}

async fn watch(app: &TestApp) -> Streaming<dp::WatchPlanEventsResponse> {
    DeliveryPlanServiceClient::new(app.channel().await)
        .watch_plan_events(council(dp::WatchPlanEventsRequest {
            plan_id: PLAN.into(),
            after_cursor: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
}

/// The ALMO proposes an amendment (an `amendment_proposed` event): its id.
async fn propose(c: &mut DeliveryPlanServiceClient<Channel>, rid: &str) -> String {
    let plan = c
        .get_plan(council(dp::GetPlanRequest {
            plan_id: PLAN.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    c.propose_amendment(authed(
        dp::ProposeAmendmentRequest {
            request_id: rid.into(),
            plan_id: plan.plan_id.clone(),
            etag: plan.etag.clone(),
            reason: "Seen on the other replica".into(),
            effective_date: plan.effective_date.clone(),
            content: plan.content.clone(),
        },
        LAMBETH_LIVING,
        Role::AlmoOfficer,
    ))
    .await
    .unwrap()
    .into_inner()
    .amendment
    .unwrap()
    .amendment_id
}

/// The next event of `stream`, which must come within `within`.
async fn next_event(
    stream: &mut Streaming<dp::WatchPlanEventsResponse>,
    within: Duration,
) -> dp::PlanEvent {
    tokio::time::timeout(within, stream.message())
        .await
        .expect("the event reached the other replica's watch in time")
        .unwrap()
        .expect("the watch is open")
        .event
        .unwrap()
}

/// Whether the tests run on PostgreSQL (as `TestDb` decides).
fn on_postgres() -> bool {
    std::env::var(almo_testkit::TEST_DATABASE_ENV).is_ok_and(|u| !u.is_empty())
}

fn is_postgres(app: &TestApp) -> bool {
    app.db.backend() == almo_db::Backend::Postgres
}

#[tokio::test]
async fn a_write_through_one_replica_wakes_a_watch_on_the_other_without_waiting_for_the_poll() {
    let postgres = on_postgres();
    // PostgreSQL: a poll far longer than the wait below, so only NOTIFY can deliver in time.
    // SQLite: the poll is the wake-up.
    let poll = if postgres {
        Duration::from_secs(30)
    } else {
        Duration::from_millis(200)
    };
    let (a, b) = replicas(poll).await;
    let mut stream = watch(&b).await;
    let mut client = DeliveryPlanServiceClient::new(a.channel().await);
    for round in 0..5 {
        let id = propose(&mut client, &format!("wake-{round}")).await;
        let event = next_event(&mut stream, Duration::from_secs(10)).await;
        assert_eq!(event.subject_id, id);
        assert_eq!(event.kind, dp::PlanEventKind::AmendmentProposed as i32);
    }
}

/// The pid of replica `app`'s listening connection (the one whose last statement was its
/// LISTEN on this schema's plan events), once it is there.
async fn listener_pid(app: &TestApp) -> i32 {
    for _ in 0..100 {
        let row = app
            .db
            .conn()
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                 AND query = 'LISTEN \"almo:' || current_schema() || ':plan_events\"'",
            ))
            .await
            .unwrap();
        if let Some(row) = row {
            return row.try_get_by_index::<i32>(0).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no listening connection");
}

#[tokio::test]
async fn a_watch_catches_up_after_its_replicas_listening_connection_is_killed() {
    if !on_postgres() {
        eprintln!("PostgreSQL only (set ALMO_TEST_DATABASE_URL): SQLite has no listener");
        return;
    }
    let (a, b) = replicas(Duration::from_secs(1)).await;
    assert!(is_postgres(&b));
    let mut stream = watch(&b).await;
    let mut client = DeliveryPlanServiceClient::new(a.channel().await);
    let first = propose(&mut client, "before-kill").await;
    assert_eq!(
        next_event(&mut stream, Duration::from_secs(10))
            .await
            .subject_id,
        first
    );
    let pid = listener_pid(&b).await;
    let killed =
        a.db.conn()
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_terminate_backend($1)",
                [pid.into()],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<bool>(0)
            .unwrap();
    assert!(killed);
    // Written while the listener is down or reconnecting: the watch still gets each of them.
    for round in 0..3 {
        let id = propose(&mut client, &format!("after-kill-{round}")).await;
        let event = next_event(&mut stream, Duration::from_secs(15)).await;
        assert_eq!(event.subject_id, id, "round {round}");
    }
    // And the replica listens again.
    let again = listener_pid(&b).await;
    assert_ne!(again, pid);
}
