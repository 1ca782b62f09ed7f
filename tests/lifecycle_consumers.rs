//! The services' consumers of the directory's lifecycle events (`almo_db::lifecycle`), each
//! service run as two replicas on one database: every effect of an ALMO's end happens once, each
//! event is read by one replica only, a consumer stopped halfway resumes from its cursor, and on
//! PostgreSQL a consumer acts on the directory's notification without waiting for its poll.
//! SQLite by default, PostgreSQL when ALMO_TEST_DATABASE_URL is set.

use std::time::Duration;

use almo_db::entity::{dp_event, event_cursor};
use almo_db::{Backend, Db, lifecycle};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as dp};
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::inspection::{self as ins};
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_server::{ServiceContext, ServiceMount};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, TestDb, default_args};
use futures::future::BoxFuture;
use sea_orm::{ColumnTrait, EntityTrait, JsonValue, PaginatorTrait, QueryFilter};

#[path = "hand_back/common.rs"]
mod common;

use common::*;

const PLAN_ID: &str = almo_delivery_plan::demo::PLAN_ID;

type Look<'a> = BoxFuture<'a, Result<usize, sea_orm::DbErr>>;

fn sla(db: &Db) -> Look<'_> {
    Box::pin(almo_sla_charging::lifecycle::consume(db))
}

fn plan(db: &Db) -> Look<'_> {
    Box::pin(almo_delivery_plan::lifecycle::consume(db))
}

fn inspection(db: &Db) -> Look<'_> {
    Box::pin(almo_inspection_scheduling::lifecycle::consume(db))
}

/// A consumer: its name in `event_cursors` and its look.
type Consumer = (&'static str, fn(&Db) -> Look<'_>);

const CONSUMERS: [Consumer; 3] = [
    (almo_sla_charging::lifecycle::CONSUMER, sla),
    (almo_delivery_plan::lifecycle::CONSUMER, plan),
    (almo_inspection_scheduling::lifecycle::CONSUMER, inspection),
];

/// The demo directory, Lambeth Living's delivery plan and the inspectorate's demo data.
async fn demo_db() -> TestDb {
    let t = TestDb::with_demo().await.unwrap();
    almo_pi_returns::seed_catalogue(t.db.conn()).await.unwrap();
    almo_delivery_plan::demo::seed(&t.db).await.unwrap();
    almo_inspection_scheduling::demo::seed(&t.db).await.unwrap();
    t
}

/// `n` events that change nothing in any service (go-live moved), one transaction each.
async fn append_events(db: &Db, n: usize) {
    for i in 0..n {
        let txn = db.begin_write().await.unwrap();
        let payload: JsonValue = format!(r#"{{"go_live_date": "2008-04-{:02}"}}"#, i % 28 + 1)
            .parse()
            .unwrap();
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

/// The end of Lambeth Living as the directory records it: the end date and its event, in one
/// transaction.
async fn append_end(db: &Db) {
    almo_testkit::end_almo(db, LAMBETH_LIVING, END).await;
    let txn = db.begin_write().await.unwrap();
    let payload = lifecycle::end_date_payload(Some(END.parse().unwrap()), None);
    lifecycle::append(
        &txn,
        LAMBETH_LIVING,
        Some(LAMBETH),
        lifecycle::kind::END_DATE_SET,
        &payload,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

async fn cursor(db: &Db, consumer: &str) -> i64 {
    event_cursor::Entity::find_by_id(consumer.to_string())
        .one(db.conn())
        .await
        .unwrap()
        .map_or(0, |c| c.last_event_id)
}

/// Plan events about the end of `kind`: one per application of the end.
async fn plan_events(db: &Db, kind: &str) -> u64 {
    dp_event::Entity::find()
        .filter(dp_event::Column::PlanId.eq(PLAN_ID))
        .filter(dp_event::Column::Kind.eq(kind))
        .filter(dp_event::Column::Summary.contains(END))
        .count(db.conn())
        .await
        .unwrap()
}

/// Every consuming service mounted on each of two replicas (the directory on the first); the
/// end recorded through the first is carried out once between them, as read through the second.
#[tokio::test]
async fn two_replicas_of_each_service_apply_the_end_once() {
    let first = demo_db().await;
    let second = first.another_pool().await.unwrap();
    let services = || {
        vec![
            almo_sla_charging::mount(),
            almo_delivery_plan::mount(),
            almo_inspection_scheduling::mount(),
        ]
    };
    let mut with_directory = services();
    with_directory.push(almo_directory::mount());
    let a = TestApp::spawn_on(default_args(), with_directory, first)
        .await
        .unwrap();
    let b = TestApp::spawn_on(default_args(), services(), second)
        .await
        .unwrap();
    let (ch_a, ch_b) = (a.channel().await, b.channel().await);
    let agreement = active_agreement(&mut SlaChargingServiceClient::new(ch_a.clone())).await;
    let booked =
        book_week_after_end(&mut InspectionSchedulingServiceClient::new(ch_a.clone())).await;
    take_back(&mut DirectoryServiceClient::new(ch_a)).await;

    let sla = SlaChargingServiceClient::new(ch_b.clone());
    let ended = eventually(
        || {
            let (mut c, id) = (sla.clone(), agreement.agreement_id.clone());
            async move { get_agreement(&mut c, &id).await }
        },
        |a| a.end_date == END,
    )
    .await;
    assert_eq!(ended.end_date, END);
    let plans = DeliveryPlanServiceClient::new(ch_b.clone());
    let closed = eventually(
        || {
            let mut c = plans.clone();
            async move {
                c.get_plan_status(council(dp::GetPlanStatusRequest {
                    plan_id: PLAN_ID.into(),
                }))
                .await
                .unwrap()
                .into_inner()
                .closed_date
            }
        },
        |d| !d.is_empty(),
    )
    .await;
    assert_eq!(closed, END);
    let inspections = InspectionSchedulingServiceClient::new(ch_b);
    let cancelled = eventually(
        || {
            let (mut c, id) = (inspections.clone(), booked.inspection_id.clone());
            async move { get_inspection(&mut c, &id).await }
        },
        |i| i.status == ins::InspectionStatus::Cancelled as i32,
    )
    .await;
    assert_eq!(cancelled.status, ins::InspectionStatus::Cancelled as i32);

    // Both replicas look again several times over (each wake-up, each poll).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let last = lifecycle::last_id(a.db.conn()).await.unwrap();
    for (name, _) in CONSUMERS {
        assert_eq!(cursor(&a.db, name).await, last, "{name}");
    }
    // Once: one closure and one lapse among the plan's events; the agreement and the booking
    // unchanged since they were first seen ended and cancelled.
    assert_eq!(plan_events(&a.db, "status_changed").await, 1);
    assert_eq!(plan_events(&a.db, "amendment_withdrawn").await, 1);
    let again = get_agreement(&mut sla.clone(), &agreement.agreement_id).await;
    assert_eq!(again.etag, ended.etag);
    let again = get_inspection(&mut inspections.clone(), &booked.inspection_id).await;
    assert_eq!(again.etag, cancelled.etag);
}

/// Each consumer run by two replicas at once over the same events, the end among them: each event
/// is read by one of them, never both, and the end's effect happens once.
#[tokio::test]
async fn each_event_is_read_by_one_replica_of_each_consumer() {
    let a = demo_db().await;
    let b = a.another_pool().await.unwrap();
    append_events(&a.db, 150).await;
    append_end(&a.db).await;
    append_events(&a.db, 150).await;
    let last = lifecycle::last_id(a.db.conn()).await.unwrap();
    for (name, consume) in CONSUMERS {
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
        assert_eq!(
            (read_a + read_b) as i64,
            last,
            "{name}: a read {read_a}, b read {read_b}"
        );
        assert_eq!(cursor(&a.db, name).await, last, "{name}");
    }
    assert_eq!(plan_events(&a.db, "status_changed").await, 1);
    assert_eq!(plan_events(&a.db, "amendment_withdrawn").await, 1);
}

/// Each consumer stopped halfway through the end (its cursor claimed and moved, the transaction
/// never committed) leaves its cursor where it was; its next look applies the end, once.
#[tokio::test]
async fn a_consumer_stopped_halfway_resumes_from_its_cursor() {
    let t = demo_db().await;
    append_events(&t.db, 2).await;
    append_end(&t.db).await;
    let last = lifecycle::last_id(t.db.conn()).await.unwrap();
    for (name, consume) in CONSUMERS {
        let txn = t.db.begin_write().await.unwrap();
        let at = lifecycle::claim_cursor(&txn, name).await.unwrap();
        lifecycle::advance_cursor(&txn, name, last).await.unwrap();
        drop(txn);
        assert_eq!(cursor(&t.db, name).await, at, "{name}");
        assert_eq!(consume(&t.db).await.unwrap() as i64, last - at, "{name}");
        assert_eq!(consume(&t.db).await.unwrap(), 0, "{name}");
        assert_eq!(cursor(&t.db, name).await, last, "{name}");
    }
    assert_eq!(plan_events(&t.db, "status_changed").await, 1);
}

/// A delivery-plan consumer killed at some point of a long run (its task aborted, whatever it was
/// doing): the plan's closure is there exactly when the cursor has passed the end, and the next
/// look reads the rest and closes the plan once.
#[tokio::test]
async fn a_consumer_killed_mid_run_leaves_its_effects_and_cursor_together() {
    let t = demo_db().await;
    append_events(&t.db, 500).await;
    append_end(&t.db).await;
    let end_id = lifecycle::last_id(t.db.conn()).await.unwrap();
    append_events(&t.db, 500).await;
    let last = lifecycle::last_id(t.db.conn()).await.unwrap();
    let name = almo_delivery_plan::lifecycle::CONSUMER;
    let db = t.db.clone();
    let run = tokio::spawn(async move { plan(&db).await });
    // Killed as soon as its first batch is in (or, on a fast machine, later).
    for _ in 0..20_000 {
        if cursor(&t.db, name).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    run.abort();
    let _ = run.await;
    let at = cursor(&t.db, name).await;
    let closed = plan_events(&t.db, "status_changed").await;
    eprintln!("killed with the cursor at {at} of {last}, the end at {end_id}");
    assert_eq!(
        closed,
        u64::from(at >= end_id),
        "cursor at {at}, the end at {end_id}"
    );
    let rest = plan(&t.db).await.unwrap();
    assert_eq!(rest as i64, last - at);
    assert_eq!(cursor(&t.db, name).await, last);
    assert_eq!(plan_events(&t.db, "status_changed").await, 1);
}

/// The three consumers alone, polling every `poll`, mounted like a service.
fn consumers_polling(poll: Duration) -> ServiceMount {
    ServiceMount {
        name: "almo.test.LifecycleConsumers",
        add: Box::new(move |ctx: &ServiceContext, _routes| {
            for (name, consume) in CONSUMERS {
                almo_server::consumer::spawn_polling(ctx, name, poll, move |db| async move {
                    consume(&db).await
                });
            }
        }),
    }
}

/// On PostgreSQL the consumers poll only every minute here, yet act on the end within seconds:
/// the directory's write notifies them. On SQLite there is no notification, and the poll (a
/// fifth of a second here) is how they find it.
#[tokio::test]
async fn consumers_act_on_the_directorys_notification_without_waiting_for_their_poll() {
    let t = demo_db().await;
    let poll = match t.db.backend() {
        Backend::Postgres => Duration::from_secs(60),
        _ => Duration::from_millis(200),
    };
    // One event before they start, so their first look is seen to be done.
    append_events(&t.db, 1).await;
    let app = TestApp::spawn_on(
        default_args(),
        vec![almo_directory::mount(), consumers_polling(poll)],
        t,
    )
    .await
    .unwrap();
    let first = lifecycle::last_id(app.db.conn()).await.unwrap();
    for (name, _) in CONSUMERS {
        let seen = eventually(|| cursor(&app.db, name), |c| *c == first).await;
        assert_eq!(seen, first, "{name}: its first look");
    }
    take_back(&mut DirectoryServiceClient::new(app.channel().await)).await;
    let last = lifecycle::last_id(app.db.conn()).await.unwrap();
    assert!(last > first);
    for (name, _) in CONSUMERS {
        let seen = eventually(|| cursor(&app.db, name), |c| *c == last).await;
        assert_eq!(seen, last, "{name}: woken by the end's events");
    }
    assert_eq!(plan_events(&app.db, "status_changed").await, 1);
}
