//! `almo-bench`: unary request rate and latency over loopback, in one run, of
//! (a) a bare tonic echo server and (b) an authenticated directory read through the full stack
//! (JWT verification, tracing layer, load shedding, directory access check, SQLite), and the
//! ratio (b)/(a).
//!
//! `cargo run --release -p almo-bench -- --seconds 5`

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use almo_auth::Role;
use almo_proto::almo::bench::v1::echo_service_client::EchoServiceClient;
use almo_proto::almo::bench::v1::echo_service_server::{EchoService, EchoServiceServer};
use almo_proto::almo::bench::v1::{EchoRequest, EchoResponse};
use almo_proto::directory::GetOrganisationRequest;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_testkit::{TestApp, demo};
use clap::Parser;
use tonic::metadata::MetadataValue;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};

#[derive(Parser)]
#[command(about = "almo-exchange unary benchmarks over loopback")]
struct Args {
    /// Seconds of load per scenario (after a one-second warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Client connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
}

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }
}

#[derive(Debug)]
struct Figures {
    requests: usize,
    errors: usize,
    rate: f64,
    p50: Duration,
    p90: Duration,
    p99: Duration,
}

async fn channel(addr: std::net::SocketAddr) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await?)
}

/// Runs `call` from `connections` x `in_flight` loops for `seconds`, after a warm-up.
async fn load<C, F, Fut>(
    args: &Args,
    channels: Vec<Channel>,
    make: impl Fn(Channel) -> C,
    call: F,
) -> Figures
where
    C: Clone + Send + 'static,
    F: Fn(C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let run = |duration: Duration| {
        let deadline = Instant::now() + duration;
        let mut tasks = Vec::new();
        for ch in &channels {
            let client = make(ch.clone());
            for _ in 0..args.in_flight {
                let client = client.clone();
                let call = call.clone();
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(4096);
                    let mut errors = 0usize;
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let ok = call(client.clone()).await;
                        lat.push(t.elapsed());
                        if !ok {
                            errors += 1;
                        }
                    }
                    (lat, errors)
                }));
            }
        }
        tasks
    };
    for t in run(Duration::from_secs(1)) {
        let _ = t.await;
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in run(Duration::from_secs(args.seconds)) {
        let (lat, e) = t.await.expect("load task");
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Figures {
        requests: all.len(),
        errors,
        rate: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p90: pct(0.90),
        p99: pct(0.99),
    }
}

fn print(name: &str, f: &Figures) {
    println!(
        "{name:<44} {:>10.0} req/s  p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  ({} requests, {} errors)",
        f.rate,
        f.p50.as_secs_f64() * 1e3,
        f.p90.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.requests,
        f.errors
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The subscriber the service binaries install (RUST_LOG, default `info`; no OTLP export
    // unless OTEL_EXPORTER_OTLP_ENDPOINT is set), so (b) pays for its spans and log lines as a
    // deployed server does.
    let _telemetry = almo_telemetry::init("almo-bench", almo_telemetry::LogFormat::Text)?;
    println!(
        "loopback, {} connections x {} in flight, {} s per scenario (after 1 s warm-up)",
        args.connections, args.in_flight, args.seconds
    );

    // (a) bare echo
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let echo_addr = listener.local_addr()?;
    tokio::spawn(
        Server::builder()
            .add_service(EchoServiceServer::new(Echo))
            .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true))),
    );
    let mut chans = Vec::new();
    for _ in 0..args.connections {
        chans.push(channel(echo_addr).await?);
    }
    let echo = load(&args, chans, EchoServiceClient::new, |mut c| async move {
        c.echo(EchoRequest {
            message: "ping".into(),
        })
        .await
        .is_ok()
    })
    .await;
    print("(a) bare tonic echo", &echo);

    // (b) the full stack
    let mut server_args = almo_testkit::default_args();
    server_args.max_concurrent_requests = 4096;
    let app = TestApp::spawn_with(server_args, vec![almo_directory::mount()]).await?;
    let mut chans = Vec::new();
    for _ in 0..args.connections {
        chans.push(channel(app.addr).await?);
    }
    let bearer: MetadataValue<_> = format!(
        "Bearer {}",
        almo_testkit::token(demo::LAMBETH, Role::CouncilOfficer)
    )
    .parse()?;
    let full = load(&args, chans, DirectoryServiceClient::new, move |mut c| {
        let bearer = bearer.clone();
        async move {
            let mut req = Request::new(GetOrganisationRequest {
                id: demo::LAMBETH_LIVING.into(),
            });
            req.metadata_mut().insert("authorization", bearer);
            c.get_organisation(req).await.is_ok()
        }
    })
    .await;
    print("(b) authenticated GetOrganisation, SQLite", &full);
    println!("ratio (b)/(a): {:.2}", full.rate / echo.rate);
    if echo.errors > 0 || full.errors > 0 {
        anyhow::bail!("requests failed during the benchmark");
    }
    Ok(())
}
