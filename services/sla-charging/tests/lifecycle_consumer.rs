//! The SLA consumer of the directory's lifecycle events, run by two replicas on one database:
//! each event is applied once between them, and a consumer stopped halfway (its transaction never
//! committed) leaves the cursor where it was, so the events are applied on the next run.

use almo_db::entity::event_cursor;
use almo_db::lifecycle;
use almo_sla_charging::lifecycle::{CONSUMER, consume};
use almo_testkit::TestDb;
use almo_testkit::demo::*;
use sea_orm::EntityTrait;

async fn append_events(db: &almo_db::Db, n: usize) {
    for i in 0..n {
        let txn = db.begin_write().await.unwrap();
        let payload = serde_json::json!({ "go_live_date": format!("2008-04-{:02}", i % 28 + 1) });
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
}

async fn cursor(db: &almo_db::Db) -> i64 {
    event_cursor::Entity::find_by_id(CONSUMER.to_string())
        .one(db.conn())
        .await
        .unwrap()
        .map_or(0, |c| c.last_event_id)
}

#[tokio::test]
async fn two_replicas_apply_each_lifecycle_event_once() {
    let a = TestDb::with_demo().await.unwrap();
    let b = a.another_pool().await.unwrap();
    append_events(&a.db, 450).await;
    let (mut read_a, mut read_b) = (0, 0);
    loop {
        let (x, y) = tokio::join!(consume(&a.db), consume(&b.db));
        let (x, y) = (x.unwrap(), y.unwrap());
        if x + y == 0 {
            break;
        }
        read_a += x;
        read_b += y;
    }
    assert_eq!(read_a + read_b, 450, "a read {read_a}, b read {read_b}");
    assert_eq!(
        cursor(&a.db).await,
        lifecycle::last_id(a.db.conn()).await.unwrap()
    );
}

#[tokio::test]
async fn a_consumer_stopped_halfway_resumes_from_its_cursor() {
    let a = TestDb::with_demo().await.unwrap();
    append_events(&a.db, 3).await;
    // Halfway: the cursor claimed and moved, the transaction never committed.
    let txn = a.db.begin_write().await.unwrap();
    let at = lifecycle::claim_cursor(&txn, CONSUMER).await.unwrap();
    lifecycle::advance_cursor(&txn, CONSUMER, at + 3)
        .await
        .unwrap();
    drop(txn);
    assert_eq!(cursor(&a.db).await, 0);
    assert_eq!(consume(&a.db).await.unwrap(), 3);
    assert_eq!(consume(&a.db).await.unwrap(), 0);
    assert_eq!(cursor(&a.db).await, 3);
}
