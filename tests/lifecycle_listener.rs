//! One listening connection per server for lifecycle events: the directory's
//! `WatchLifecycleEvents` watches and the lifecycle consumers of the services mounted beside it
//! all wake from the one `LISTEN` (`ServiceContext::lifecycle_watch`), however many watch. On
//! SQLite (no listener) the watches still see each event, by the poll.

use std::time::Duration;

use almo_auth::Role;
use almo_db::{Db, lifecycle};
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::directory::{self as pb, WatchLifecycleEventsRequest};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, authed, default_args};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tonic::Streaming;

/// The directory with inspection scheduling (whose lifecycle consumer runs in the background)
/// on one server.
async fn server() -> TestApp {
    let db = TestDb::with_demo().await.unwrap();
    almo_inspection_scheduling::demo::seed(&db.db)
        .await
        .unwrap();
    TestApp::spawn_on(
        default_args(),
        vec![almo_directory::mount(), almo_inspection_scheduling::mount()],
        db,
    )
    .await
    .unwrap()
}

async fn watch(app: &TestApp) -> Streaming<pb::WatchLifecycleEventsResponse> {
    DirectoryServiceClient::new(app.channel().await)
        .watch_lifecycle_events(authed(
            WatchLifecycleEventsRequest::default(),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
}

/// An event that changes nothing in any service (go-live moved), as the directory writes it.
async fn append_go_live(db: &Db) {
    let txn = db.begin_write().await.unwrap();
    let payload = r#"{"go_live_date": "2008-04-01"}"#.parse().unwrap();
    lifecycle::append(
        &txn,
        LAMBETH_LIVING,
        Some(LAMBETH),
        lifecycle::kind::GO_LIVE_SET,
        &payload,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

/// The connections of this database whose last statement was the LISTEN on this schema's
/// lifecycle events.
async fn lifecycle_listeners(db: &Db) -> i64 {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND query = 'LISTEN \"almo:' || current_schema() || ':{}\"'",
                lifecycle::TOPIC
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn the_directorys_watches_and_the_consumers_share_one_listener() {
    let app = server().await;
    let mut watches = Vec::new();
    for _ in 0..3 {
        watches.push(watch(&app).await);
    }
    append_go_live(&app.db).await;
    for w in &mut watches {
        let event = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream is open")
            .expect("an event, not an error")
            .event
            .unwrap();
        assert_eq!(event.almo_id, LAMBETH_LIVING);
        assert_eq!(event.kind, pb::LifecycleEventKind::GoLiveSet as i32);
    }
    if app.db.backend() != almo_db::Backend::Postgres {
        return;
    }
    // The listener connects in the background: wait for it, then give any second one the
    // same time to appear.
    let mut seen = 0;
    for _ in 0..100 {
        seen = lifecycle_listeners(&app.db).await;
        if seen > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        (seen, lifecycle_listeners(&app.db).await),
        (1, 1),
        "one LISTEN for the server's lifecycle watches and consumers"
    );
}
