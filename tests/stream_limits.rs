//! Open streams are bounded in total and per caller for as long as they run: a wave of watches
//! beyond the limits is refused at once with RESOURCE_EXHAUSTED, a closed watch frees its place,
//! and unary calls are answered throughout.

use std::time::Duration;

use almo_auth::Role;
use almo_auth::TokenRequest;
use almo_proto::delivery_plan::WatchPlanEventsRequest;
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::directory::WhoAmIRequest;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_testkit::{TestApp, TestDb, authed, default_args, minter};
use tonic::Code;
use tonic::transport::Channel;

const LAMBETH: &str = "E09000022";
const ALICE: &str = "alice@lambeth";
const BOB: &str = "bob@lambeth";
const CAROL: &str = "carol@lambeth";

/// A Lambeth council officer's token for `subject`, minted afresh each time.
fn officer(subject: &str) -> String {
    minter().mint(&TokenRequest {
        subject: subject.into(),
        organisation_id: LAMBETH.into(),
        role: Role::CouncilOfficer,
        ttl_secs: 600,
    })
}

async fn watch(
    channel: &Channel,
    subject: &str,
) -> Result<tonic::Streaming<almo_proto::delivery_plan::WatchPlanEventsResponse>, tonic::Status> {
    let mut client = DeliveryPlanServiceClient::new(channel.clone());
    let mut req = tonic::Request::new(WatchPlanEventsRequest {
        plan_id: almo_delivery_plan::demo::PLAN_ID.into(),
        after_cursor: String::new(),
    });
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", officer(subject)).parse().unwrap(),
    );
    tokio::time::timeout(Duration::from_secs(5), client.watch_plan_events(req))
        .await
        .expect("a watch is answered at once, admitted or refused")
        .map(|r| r.into_inner())
}

async fn unary_still_answers(channel: &Channel) {
    let mut dir = DirectoryServiceClient::new(channel.clone());
    let started = std::time::Instant::now();
    dir.who_am_i(authed(WhoAmIRequest {}, LAMBETH, Role::CouncilOfficer))
        .await
        .expect("unary calls are answered while streams are at their limit");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_of_watches_beyond_the_limits_are_refused_at_once() {
    let db = TestDb::with_demo().await.unwrap();
    almo_pi_returns::seed_catalogue(db.db.conn()).await.unwrap();
    almo_delivery_plan::demo::seed(&db.db).await.unwrap();
    let mut args = default_args();
    args.max_open_streams = 5;
    args.max_streams_per_caller = 3;
    let app = TestApp::spawn_on(
        args,
        vec![almo_directory::mount(), almo_delivery_plan::mount()],
        db,
    )
    .await
    .unwrap();
    let channel = app.channel().await;

    // One caller: three watches, then the fourth is refused.
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(watch(&channel, ALICE).await.unwrap());
    }
    for _ in 0..3 {
        let refused = watch(&channel, ALICE).await.unwrap_err();
        assert_eq!(
            refused.code(),
            Code::ResourceExhausted,
            "{}",
            refused.message()
        );
        assert!(
            refused.message().contains("3 streams"),
            "{}",
            refused.message()
        );
    }
    unary_still_answers(&channel).await;

    // Another caller fills the total; a third caller is refused on the total.
    for _ in 0..2 {
        open.push(watch(&channel, BOB).await.unwrap());
    }
    let refused = watch(&channel, CAROL).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("5 streams"),
        "{}",
        refused.message()
    );
    unary_still_answers(&channel).await;

    // A closed watch gives its place back.
    drop(open.pop());
    let mut admitted = None;
    for _ in 0..50 {
        match watch(&channel, CAROL).await {
            Ok(s) => {
                admitted = Some(s);
                break;
            }
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(admitted.is_some(), "a closed watch never freed its place");
    unary_still_answers(&channel).await;
}
