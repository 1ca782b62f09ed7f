//! The server kit under a real client: health through start-up and shutdown, the request size
//! limit, load shedding, draining on shutdown.

use std::time::Duration;

use almo_auth::Role;
use almo_proto::almo::bench::v1::echo_service_client::EchoServiceClient;
use almo_proto::almo::bench::v1::echo_service_server::{EchoService, EchoServiceServer};
use almo_proto::almo::bench::v1::{EchoRequest, EchoResponse};
use almo_proto::directory::RegisterCouncilRequest;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_server::{MigrateMode, ServiceContext, ServiceMount};
use almo_testkit::{TestApp, TestDb, authed, default_args, demo};
use tonic::service::interceptor::InterceptedService;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Echo that sleeps for the number of milliseconds it is sent: a call that holds its slot.
struct SlowEcho;

#[tonic::async_trait]
impl EchoService for SlowEcho {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let ms: u64 = request.get_ref().message.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }
}

fn slow_echo() -> ServiceMount {
    ServiceMount {
        name: "almo.bench.v1.EchoService",
        add: Box::new(|ctx: &ServiceContext, routes| {
            routes.add_service(InterceptedService::new(
                EchoServiceServer::new(SlowEcho),
                ctx.auth_interceptor(),
            ));
        }),
    }
}

async fn health(app: &TestApp, service: &str) -> Result<i32, Status> {
    let mut client = HealthClient::new(app.channel().await);
    client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
}

async fn wait_for_health(app: &TestApp, service: &str, want: ServingStatus) -> bool {
    for _ in 0..100 {
        if health(app, service).await.ok() == Some(want as i32) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn health_is_not_serving_until_migrated_and_not_serving_on_shutdown() {
    let mut args = default_args();
    args.migrate = MigrateMode::Wait;
    args.shutdown_delay_secs = 2;
    let test_db = TestDb::unmigrated().await.unwrap();
    let db = test_db.db.clone();
    let mut app = TestApp::spawn_on(args, vec![almo_directory::mount()], test_db)
        .await
        .unwrap();
    let dir = almo_directory::SERVICE_NAME;
    assert_eq!(
        health(&app, dir).await.unwrap(),
        ServingStatus::NotServing as i32
    );
    assert_eq!(
        health(&app, "").await.unwrap(),
        ServingStatus::NotServing as i32
    );

    // Someone else (a migration job) migrates; the server notices and starts serving.
    db.migrate().await.unwrap();
    assert!(wait_for_health(&app, dir, ServingStatus::Serving).await);

    let stopper = app.running.as_ref().unwrap().stopper();
    let _ = stopper.send(true);
    assert!(wait_for_health(&app, dir, ServingStatus::NotServing).await);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn request_over_the_size_limit_is_refused() {
    let mut args = default_args();
    args.max_request_bytes = 1024;
    let app = TestApp::spawn_with(args, vec![almo_directory::mount()])
        .await
        .unwrap();
    let mut client = DirectoryServiceClient::new(app.channel().await);
    let err = client
        .register_council(authed(
            RegisterCouncilRequest {
                request_id: "big".into(),
                ons_code: "E06000015".into(),
                name: "x".repeat(4096),
                region: "East Midlands".into(),
            },
            demo::OPERATOR,
            Role::Admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    // A request inside the limit still works.
    client
        .register_council(authed(
            RegisterCouncilRequest {
                request_id: "small".into(),
                ons_code: "E06000015".into(),
                name: "Derby City Council".into(),
                region: "East Midlands".into(),
            },
            demo::OPERATOR,
            Role::Admin,
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn overload_is_answered_resource_exhausted_not_queued() {
    let mut args = default_args();
    args.max_concurrent_requests = 1;
    let app = TestApp::spawn_with(args, vec![slow_echo()]).await.unwrap();
    let channel = app.channel().await;
    let mut first = EchoServiceClient::new(channel.clone());
    let slow = tokio::spawn(async move {
        first
            .echo(authed(
                EchoRequest {
                    message: "800".into(),
                },
                demo::OPERATOR,
                Role::Admin,
            ))
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = EchoServiceClient::new(channel);
    let started = std::time::Instant::now();
    let err = second
        .echo(authed(
            EchoRequest {
                message: "0".into(),
            },
            demo::OPERATOR,
            Role::Admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "refused at once, not after the slow call finished"
    );
    // Health is never shed.
    assert_eq!(
        health(&app, "").await.unwrap(),
        ServingStatus::Serving as i32
    );
    assert!(slow.await.unwrap().is_ok());
}

#[tokio::test]
async fn shutdown_drains_calls_in_flight() {
    let mut app = TestApp::spawn(vec![slow_echo()]).await.unwrap();
    let mut client = EchoServiceClient::new(app.channel().await);
    let in_flight = tokio::spawn(async move {
        client
            .echo(authed(
                EchoRequest {
                    message: "700".into(),
                },
                demo::OPERATOR,
                Role::Admin,
            ))
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.shutdown().await.unwrap();
    let reply = in_flight
        .await
        .unwrap()
        .expect("the call in flight completes");
    assert_eq!(reply.into_inner().message, "700");
    // And the server is gone.
    let refused = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .connect()
        .await;
    assert!(refused.is_err());
}
