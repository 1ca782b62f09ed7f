//! Unary request rate and latency over loopback, in one run, of (a) a bare tonic echo server and
//! (b) an authenticated directory read through the full stack (JWT verification, tracing layer,
//! load shedding, directory access check, the database), their ratio (b)/(a), and (b)'s p99 at
//! half its peak rate; beside them (c) = (b) with every token checked in full (no verified-token
//! cache) and (d) a directory entry with nothing joined to it (a regulator's own), to show what
//! each costs.

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

    // (b) the full stack; (c) the same with every token checked in full (no verified-token cache)
    let council_reads_almo = (demo::LAMBETH, Role::CouncilOfficer, demo::LAMBETH_LIVING);
    let (full, half) = full_stack(opts, warm_up, seconds, council_reads_almo, None, true).await?;
    let half = half.expect("measured at half the rate");
    full.print("(b) authenticated GetOrganisation");
    half.print("(b) at half its peak rate");
    let (uncached, _) =
        full_stack(opts, warm_up, seconds, council_reads_almo, Some(0), false).await?;
    uncached.print("(c) (b) without the verified-token cache");
    // An entry with nothing joined to it (a regulator's own): the access check's statement alone,
    // where an ALMO's entry joins its road to a hand-back (its transfer and latest review) into
    // the same statement.
    let regulator_reads_itself = (demo::REGULATOR, Role::Regulator, demo::REGULATOR);
    let (one_read, _) =
        full_stack(opts, warm_up, seconds, regulator_reads_itself, None, false).await?;
    one_read.print("(d) a regulator's own entry: nothing joined");
    eprintln!(
        "ratio (b)/(a): {:.2}, (c)/(a): {:.2}, (d)/(a): {:.2}",
        full.rate / echo.rate,
        uncached.rate / echo.rate,
        one_read.rate / echo.rate
    );
    let (full_check, cached_check) = token_check_cost()?;
    eprintln!(
        "token check per call: {:.2} µs in full, {:.2} µs from the verified-token cache",
        full_check * 1e6,
        cached_check * 1e6
    );
    if echo.errors > 0
        || full.errors > 0
        || half.errors > 0
        || uncached.errors > 0
        || one_read.errors > 0
    {
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
        Record::new(
            "authenticated GetOrganisation without the token cache / bare tonic echo",
            uncached.rate,
            "req/s",
        )
        .baseline(echo.rate),
        Record::new(
            "token check from the verified-token cache / in full",
            cached_check * 1e6,
            "µs",
        )
        .baseline(full_check * 1e6),
        Record::new(
            "GetOrganisation of an entry with nothing joined / bare tonic echo",
            one_read.rate,
            "req/s",
        )
        .baseline(echo.rate),
    ])
}

/// Seconds per `Verifier::verify` of the bench's token, checked in full and found in the cache:
/// alternating rounds on this thread, the least of each, so a loaded machine moves both alike.
fn token_check_cost() -> anyhow::Result<(f64, f64)> {
    const CALLS: u32 = 20_000;
    let args = almo_testkit::default_args();
    let full = args.auth.verifier()?.with_token_cache(0);
    let cached = args.auth.verifier()?;
    let token = almo_testkit::token(demo::LAMBETH, Role::CouncilOfficer);
    let round = |v: &almo_auth::Verifier| -> anyhow::Result<f64> {
        let start = std::time::Instant::now();
        for _ in 0..CALLS {
            std::hint::black_box(v.verify(std::hint::black_box(&token))?);
        }
        Ok(start.elapsed().as_secs_f64() / f64::from(CALLS))
    };
    let (mut best_full, mut best_cached) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        best_full = best_full.min(round(&full)?);
        best_cached = best_cached.min(round(&cached)?);
    }
    Ok((best_full, best_cached))
}

/// `GetOrganisation` of `target` by `(org, role)` through the whole stack, flat out, and then (with
/// `half_rate`) at half that rate. `token_cache` overrides the verifier's cache size (`Some(0)`:
/// none).
async fn full_stack(
    opts: &Opts,
    warm_up: Duration,
    seconds: Duration,
    (org, role, target): (&'static str, Role, &'static str),
    token_cache: Option<usize>,
    half_rate: bool,
) -> anyhow::Result<(load::Figures, Option<load::Figures>)> {
    let mut server_args = almo_testkit::default_args();
    server_args.max_concurrent_requests = 4096;
    if let Some(entries) = token_cache {
        server_args.auth.jwt_cache_entries = entries;
    }
    let mut app = TestApp::spawn_with(server_args, vec![almo_directory::mount()]).await?;
    let chans = load::channels(app.addr, opts.connections).await?;
    let bearer: MetadataValue<_> = format!("Bearer {}", almo_testkit::token(org, role)).parse()?;
    let read = move |mut c: DirectoryServiceClient<_>| {
        let bearer = bearer.clone();
        async move {
            let mut req = Request::new(GetOrganisationRequest { id: target.into() });
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
    // Half the peak rate, from fewer senders: what a client sees when the server is not flat out.
    let half = if half_rate {
        Some(
            load::paced(
                &chans,
                opts.in_flight.div_ceil(4),
                full.rate / 2.0,
                seconds,
                DirectoryServiceClient::new,
                read,
            )
            .await,
        )
    } else {
        None
    };
    drop(chans);
    app.shutdown().await?;
    Ok((full, half))
}
