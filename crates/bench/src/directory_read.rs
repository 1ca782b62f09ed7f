//! Unary request rate and latency over loopback, in one run, of (a) a bare tonic echo server and
//! (b) an authenticated directory read through the full stack (JWT verification, tracing layer,
//! load shedding, directory access check, the database), their ratio (b)/(a), and (b)'s p99 at
//! half its peak rate.

use std::time::Duration;

use almo_auth::Role;
use almo_proto::almo::bench::v1::echo_service_client::EchoServiceClient;
use almo_proto::almo::bench::v1::echo_service_server::{EchoService, EchoServiceServer};
use almo_proto::almo::bench::v1::{EchoRequest, EchoResponse};
use almo_proto::directory::GetOrganisationRequest;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_testkit::{TestApp, demo};
use tonic::metadata::MetadataValue;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::Opts;
use crate::load::{self, ms};
use crate::report::{Aim, Record};

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }
}

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let seconds = Duration::from_secs(opts.seconds);
    let warm_up = Duration::from_secs(1).min(seconds);
    eprintln!(
        "loopback, {} connections x {} in flight, {} s per scenario (after {} s warm-up)",
        opts.connections,
        opts.in_flight,
        opts.seconds,
        warm_up.as_secs()
    );

    // (a) bare echo
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let echo_addr = listener.local_addr()?;
    let echo_server = tokio::spawn(
        Server::builder()
            .add_service(EchoServiceServer::new(Echo))
            .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true))),
    );
    let chans = load::channels(echo_addr, opts.connections).await?;
    let echo = load::saturate(
        &chans,
        opts.in_flight,
        warm_up,
        seconds,
        EchoServiceClient::new,
        |mut c| async move {
            c.echo(EchoRequest {
                message: "ping".into(),
            })
            .await
            .is_ok()
        },
    )
    .await;
    echo.print("(a) bare tonic echo");
    drop(chans);
    echo_server.abort();

    // (b) the full stack
    let mut server_args = almo_testkit::default_args();
    server_args.max_concurrent_requests = 4096;
    let app = TestApp::spawn_with(server_args, vec![almo_directory::mount()]).await?;
    let chans = load::channels(app.addr, opts.connections).await?;
    let bearer: MetadataValue<_> = format!(
        "Bearer {}",
        almo_testkit::token(demo::LAMBETH, Role::CouncilOfficer)
    )
    .parse()?;
    let read = move |mut c: DirectoryServiceClient<_>| {
        let bearer = bearer.clone();
        async move {
            let mut req = Request::new(GetOrganisationRequest {
                id: demo::LAMBETH_LIVING.into(),
            });
            req.metadata_mut().insert("authorization", bearer);
            c.get_organisation(req).await.is_ok()
        }
    };
    let full = load::saturate(
        &chans,
        opts.in_flight,
        warm_up,
        seconds,
        DirectoryServiceClient::new,
        read.clone(),
    )
    .await;
    full.print("(b) authenticated GetOrganisation");
    // Half the peak rate, from fewer senders: what a client sees when the server is not flat out.
    let half = load::paced(
        &chans,
        opts.in_flight.div_ceil(4),
        full.rate / 2.0,
        seconds,
        DirectoryServiceClient::new,
        read,
    )
    .await;
    half.print("(b) at half its peak rate");
    eprintln!("ratio (b)/(a): {:.2}", full.rate / echo.rate);
    if echo.errors > 0 || full.errors > 0 || half.errors > 0 {
        anyhow::bail!("requests failed during the benchmark");
    }
    Ok(vec![
        Record::new("bare tonic echo", echo.rate, "req/s").database("none"),
        Record::new(
            "authenticated GetOrganisation / bare tonic echo",
            full.rate,
            "req/s",
        )
        .baseline(echo.rate)
        .aim(Aim::RatioAtLeast(0.5)),
        Record::new(
            "authenticated GetOrganisation p99 at full load",
            ms(full.p99),
            "ms",
        ),
        Record::new(
            "authenticated GetOrganisation p99 at half the peak rate",
            ms(half.p99),
            "ms",
        )
        .aim(Aim::AtMost(10.0)),
    ])
}
