//! The write path every service uses: idempotency and audit inside one transaction.

use almo_db::entity::{audit_log, idempotency_key};
use almo_db::{Begun, CallContext};
use almo_proto::almo::bench::v1::{EchoRequest, EchoResponse};
use almo_testkit::TestDb;
use sea_orm::{EntityTrait, PaginatorTrait};

fn ctx(request_id: &str) -> CallContext {
    CallContext {
        subject: "alice".into(),
        organisation_id: "E09000022".into(),
        role: "council_officer".into(),
        method: "/almo.test.v1.Test/Write".into(),
        request_id: request_id.into(),
    }
}

fn req(m: &str) -> EchoRequest {
    EchoRequest { message: m.into() }
}

#[tokio::test]
async fn audit_row_is_written_in_the_same_transaction_and_absent_on_rollback() {
    let t = TestDb::new().await.unwrap();
    let Begun::Fresh(w) =
        t.db.begin_idempotent::<EchoResponse>(&ctx("a1"), &req("x"))
            .await
            .unwrap()
    else {
        panic!("a new request id")
    };
    w.record(
        &EchoResponse {
            message: "done".into(),
        },
        "things/1",
    )
    .await
    .unwrap();
    assert_eq!(audit_log::Entity::find().count(w.txn()).await.unwrap(), 1);
    w.rollback().await.unwrap();
    assert_eq!(
        audit_log::Entity::find().count(t.db.conn()).await.unwrap(),
        0
    );
    assert_eq!(
        idempotency_key::Entity::find()
            .count(t.db.conn())
            .await
            .unwrap(),
        0
    );

    // The same request id is free again after the rollback, and commits with its audit row.
    let Begun::Fresh(w) =
        t.db.begin_idempotent::<EchoResponse>(&ctx("a1"), &req("x"))
            .await
            .unwrap()
    else {
        panic!("the rolled-back claim is gone")
    };
    w.finish(
        &EchoResponse {
            message: "done".into(),
        },
        "things/1",
    )
    .await
    .unwrap();
    let rows = audit_log::Entity::find().all(t.db.conn()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].subject, "alice");
    assert_eq!(rows[0].organisation_id, "E09000022");
    assert_eq!(rows[0].role, "council_officer");
    assert_eq!(rows[0].method, "/almo.test.v1.Test/Write");
    assert_eq!(rows[0].request_id, "a1");
    assert_eq!(rows[0].target, "things/1");
}

#[tokio::test]
async fn retry_replays_and_other_payload_is_refused() {
    let t = TestDb::new().await.unwrap();
    let Begun::Fresh(w) =
        t.db.begin_idempotent::<EchoResponse>(&ctx("r1"), &req("x"))
            .await
            .unwrap()
    else {
        panic!()
    };
    w.finish(
        &EchoResponse {
            message: "first".into(),
        },
        "t",
    )
    .await
    .unwrap();
    match t
        .db
        .begin_idempotent::<EchoResponse>(&ctx("r1"), &req("x"))
        .await
        .unwrap()
    {
        Begun::Replay(r) => assert_eq!(r.message, "first"),
        Begun::Fresh(_) => panic!("a retry must replay"),
    }
    let err =
        t.db.begin_idempotent::<EchoResponse>(&ctx("r1"), &req("y"))
            .await
            .err()
            .unwrap();
    assert!(matches!(err, almo_db::WriteError::RequestIdReused(_)));
    // Another caller may use the same request id for itself.
    let mut other = ctx("r1");
    other.subject = "bob".into();
    assert!(matches!(
        t.db.begin_idempotent::<EchoResponse>(&other, &req("y"))
            .await
            .unwrap(),
        Begun::Fresh(_)
    ));
}

#[tokio::test]
async fn concurrent_retries_write_once() {
    let t = TestDb::new().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            match db
                .begin_idempotent::<EchoResponse>(&ctx("c1"), &req("x"))
                .await?
            {
                Begun::Replay(r) => Ok::<_, almo_db::WriteError>(r.message),
                Begun::Fresh(w) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    w.finish(
                        &EchoResponse {
                            message: "once".into(),
                        },
                        "t",
                    )
                    .await?;
                    Ok("once".to_string())
                }
            }
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "once");
    }
    assert_eq!(
        audit_log::Entity::find().count(t.db.conn()).await.unwrap(),
        1
    );
}

#[tokio::test]
async fn a_test_schema_is_dropped_even_while_a_write_is_left_open() {
    let Some(url) = std::env::var(almo_testkit::TEST_DATABASE_ENV)
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return; // SQLite: the test's file goes with its directory.
    };
    let t = TestDb::new().await.unwrap();
    let schema = t
        .schema()
        .expect("a PostgreSQL test has a schema")
        .to_string();
    let Begun::Fresh(open) =
        t.db.begin_idempotent::<EchoResponse>(&ctx("o1"), &req("x"))
            .await
            .unwrap()
    else {
        panic!("a new request id")
    };
    // The write's locks keep the DROP waiting: dropping the test database must not wait for it.
    drop(t);
    drop(open);
    let admin = sea_orm::Database::connect(url.as_str()).await.unwrap();
    let exists = || async {
        use sea_orm::ConnectionTrait;
        let row = admin
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1",
                [schema.clone().into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap() > 0
    };
    // Once the open write has rolled back, the drop goes through (bounded: 600 × 50 ms).
    for _ in 0..600 {
        if !exists().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("test schema {schema} still exists after its write rolled back");
}
