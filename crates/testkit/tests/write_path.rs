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
