//! Starting and stopping a gRPC server that carries one or more services.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use almo_auth::Verifier;
use almo_db::Db;
use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::{Interceptor, RoutesBuilder};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Status};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::access::{Access, Principal};
use crate::config::{ClientOrganisation, MigrateMode, ServerArgs};
use crate::layer::{RpcLayer, StreamLimits};

/// The read replica's pool in the metrics (`db.client.connection.pool.name`), beside the
/// primary's `almo_db::connect::POOL_NAME`.
pub const REPLICA_POOL_NAME: &str = "replica";

/// Largest request header block accepted, bytes: past this h2 refuses the call's connection.
pub const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// Verifies the bearer token of every call and puts the [`almo_auth::Caller`] in its extensions.
/// With mutual TLS and `ALMO_TLS_CLIENT_ORGANISATION`, also that the client certificate names the
/// token's organisation (PERMISSION_DENIED otherwise).
#[derive(Clone)]
pub struct AuthInterceptor {
    verifier: Arc<Verifier>,
    client_organisation: ClientOrganisation,
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let caller = self
            .verifier
            .authenticate(req.metadata())
            .map_err(|e| Status::from(crate::AppError::from(e)))?;
        if self.client_organisation != ClientOrganisation::Off {
            let certs = req.peer_certs();
            crate::tls::check_client_organisation(
                certs.as_deref().map(Vec::as_slice),
                self.client_organisation,
                &caller.organisation_id,
            )
            .map_err(|why| Status::from(crate::AppError::PermissionDenied(why)))?;
        }
        let span = tracing::Span::current();
        span.record("caller", caller.subject.as_str());
        span.record("org", caller.organisation_id.as_str());
        req.extensions_mut().insert(caller);
        Ok(req)
    }
}

/// What a service needs from the process that mounts it.
#[derive(Clone)]
pub struct ServiceContext {
    pub db: Db,
    pub access: Access,
    pub verifier: Arc<Verifier>,
    /// Where reads that may lag a little go: see [`ServiceContext::read_db`].
    read: Db,
    /// Whether `read` is a replica's pool of its own (its use is then reported as a second pool).
    read_replica: bool,
    /// Largest request message, bytes.
    pub max_request_bytes: usize,
    /// Set when the server starts draining (after the shutdown delay), so long-lived streams
    /// can end instead of holding the drain open.
    drain: Arc<watch::Sender<bool>>,
    /// Set by [`start`] from `ALMO_TLS_CLIENT_ORGANISATION`.
    client_organisation: ClientOrganisation,
    /// Wake-ups of new lifecycle events: one listener for the server's consumers
    /// ([`crate::consumer`]) and its watches ([`ServiceContext::lifecycle_watch`]).
    pub(crate) lifecycle_wakeups: Arc<almo_db::notify::Wakeups>,
}

impl ServiceContext {
    pub fn new(db: Db, verifier: Verifier, max_request_bytes: usize) -> Self {
        Self {
            access: Access::new(db.clone()),
            read: db.clone(),
            read_replica: false,
            db,
            verifier: Arc::new(verifier),
            max_request_bytes,
            drain: Arc::new(watch::channel(false).0),
            client_organisation: ClientOrganisation::Off,
            lifecycle_wakeups: Arc::new(almo_db::notify::Wakeups::new(
                almo_db::lifecycle::TOPIC,
                crate::consumer::POLL,
            )),
        }
    }

    /// The verified caller of `req` with its organisation's directory entry.
    pub async fn principal<T>(&self, req: &Request<T>) -> Result<Principal, crate::AppError> {
        self.access.principal(&crate::caller(req)?).await
    }

    /// A watch on new lifecycle events (`almo_db::lifecycle`), looking again every `poll`
    /// without a wake-up. It shares the server's one listening connection with the lifecycle
    /// consumers and every other such watch.
    pub fn lifecycle_watch(&self, poll: Duration) -> almo_db::notify::Watch {
        self.lifecycle_wakeups.subscribe_polling(&self.db, poll)
    }

    /// The connection for reads that may lag a little behind the last write: the regulator's
    /// queries and exports, the invoice export, Flight datasets, benchmarks. A PostgreSQL
    /// streaming replica when `ALMO_DATABASE_READ_URL` names one, else the primary. Writes,
    /// access checks and any read that must see the caller's own last write use `db`.
    pub fn read_db(&self) -> &Db {
        &self.read
    }

    /// Sends the reads of [`ServiceContext::read_db`] to `read` (a read-only pool on a replica).
    pub fn with_read_db(mut self, read: Db) -> Self {
        self.read = read;
        self.read_replica = true;
        self
    }

    /// Resolves once the server has begun draining calls in flight on shutdown. A server stream
    /// that would otherwise run on (a watch) ends then, and its client resumes elsewhere.
    pub async fn draining(&self) {
        let mut rx = self.drain.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }

    pub fn auth_interceptor(&self) -> AuthInterceptor {
        AuthInterceptor {
            verifier: self.verifier.clone(),
            client_organisation: self.client_organisation,
        }
    }
}

/// Adds a service to the routes, given the context it runs in.
pub type AddService = Box<dyn Fn(&ServiceContext, &mut RoutesBuilder) + Send + Sync>;

/// A service that can be mounted: its health name and how to add it to the routes.
pub struct ServiceMount {
    /// The fully-qualified gRPC service name, reported by the health service.
    pub name: &'static str,
    pub add: AddService,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
    ready: JoinHandle<()>,
    serving: watch::Receiver<bool>,
    failure: Arc<std::sync::Mutex<Option<String>>>,
    accepted: Arc<AtomicU64>,
}

impl Running {
    /// Reports NOT_SERVING, waits the configured delay, stops accepting calls and waits for the
    /// calls in flight to finish.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.ready.abort();
        self.task.await.context("server task panicked")?
    }

    /// Waits until the server stops by itself (a signal) or fails.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task panicked")??;
        match self.failure.lock().expect("failure lock").take() {
            Some(reason) => Err(anyhow::anyhow!(reason)),
            None => Ok(()),
        }
    }

    /// A handle that asks the server to shut down, for signal handlers.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Whether migrations are done and the server reports SERVING.
    pub fn is_ready(&self) -> bool {
        *self.serving.borrow()
    }

    /// Connections accepted so far (over TLS: handshaken).
    pub fn connections_accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// Starts serving `mounts` on `listener`, over TLS when `args.tls` names a certificate. Health
/// reports NOT_SERVING until the database is migrated (applied here or awaited, per
/// `args.migrate`), then SERVING until shutdown.
pub async fn start(
    args: &ServerArgs,
    mut ctx: ServiceContext,
    mounts: Vec<ServiceMount>,
    listener: TcpListener,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let tls = crate::tls::ReloadingConfig::load(&args.tls).context("TLS configuration")?;
    ctx.client_organisation = args.tls.tls_client_organisation;
    if tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "serving plaintext on a non-loopback address: tokens and data cross the network in \
             clear unless a proxy in front adds TLS (ALMO_TLS_CERT, ALMO_TLS_KEY)"
        );
    }
    if almo_telemetry::metrics::recording() {
        // Held for the life of the process, as the exporter is.
        let pool = ctx.db.clone();
        almo_telemetry::metrics::observe_pool(almo_db::connect::POOL_NAME, move || {
            pool.pool_state()
        });
        if ctx.read_replica {
            let replica = ctx.read.clone();
            almo_telemetry::metrics::observe_pool(REPLICA_POOL_NAME, move || replica.pool_state());
        }
    }
    let reporter = HealthReporter::new();
    let names: Vec<&'static str> = mounts.iter().map(|m| m.name).collect();
    set_all(&reporter, &names, ServingStatus::NotServing).await;
    let health = tonic_health::pb::health_server::HealthServer::new(
        tonic_health::server::HealthService::from_health_reporter(reporter.clone()),
    );

    // Reflection lists what this server serves (the mounted services, health, reflection), not
    // every service in the contracts (the benchmark's echo service is in them).
    let reflection = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(almo_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // So grpcurl and other reflection clients can decode the error details we send.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .with_service_name("grpc.health.v1.Health")
            .with_service_name("grpc.reflection.v1.ServerReflection")
            .with_service_name("grpc.reflection.v1alpha.ServerReflection");
        for m in &mounts {
            b = b.with_service_name(m.name);
        }
        b
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let health_only = match args.health_listen {
        Some(at) => {
            let listener = TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} (ALMO_HEALTH_LISTEN)"))?;
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            let server = Server::builder()
                .add_service(health.clone())
                .serve_with_incoming(incoming);
            Some(tokio::spawn(async move {
                if let Err(e) = server.await {
                    tracing::error!(error = %e, "health port failed");
                }
            }))
        }
        None => None,
    };
    let mut routes = RoutesBuilder::default();
    routes.add_service(health);
    routes.add_service(reflection_v1);
    routes.add_service(reflection_v1alpha);
    for m in &mounts {
        (m.add)(&ctx, &mut routes);
    }

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let delay = Duration::from_secs(args.shutdown_delay_secs);
    let shutdown_reporter = reporter.clone();
    let shutdown_names = names.clone();
    let drain = ctx.drain.clone();
    let shutdown = async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
        tracing::info!("shutting down: reporting NOT_SERVING");
        set_all(
            &shutdown_reporter,
            &shutdown_names,
            ServingStatus::NotServing,
        )
        .await;
        tokio::time::sleep(delay).await;
        tracing::info!("draining calls in flight");
        drain.send_replace(true);
    };
    let mut builder = Server::builder()
        .timeout(args.request_timeout())
        // Room for a token up to its limit (refused UNAUTHENTICATED beyond it, see
        // almo_auth::MAX_TOKEN_BYTES) instead of h2 closing the connection on a large header.
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .http2_keepalive_interval(
            (args.http2_keepalive_secs > 0).then(|| Duration::from_secs(args.http2_keepalive_secs)),
        )
        .http2_keepalive_timeout(Some(Duration::from_secs(args.http2_keepalive_timeout_secs)));
    // The GOAWAY at the maximum age is tonic's; the end of the grace after it is ours (see
    // connection.rs).
    let hard_limit = args
        .max_connection_age()
        .map(|age| age + Duration::from_secs(args.max_connection_age_grace_secs));
    if let Some(age) = args.max_connection_age() {
        builder = builder.max_connection_age(age);
    }
    let router = builder
        .layer(RpcLayer::new(
            args.max_concurrent_requests,
            StreamLimits {
                total: args.max_open_streams,
                per_caller: args.max_streams_per_caller,
            },
        ))
        .add_routes(routes.routes());
    let accepted = Arc::new(AtomicU64::new(0));
    type Serving = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
    >;
    let (server, tls_watch): (Serving, _) = match tls {
        Some(config) => {
            let every = (args.tls.tls_reload_secs > 0)
                .then(|| Duration::from_secs(args.tls.tls_reload_secs));
            let incoming =
                crate::tls::incoming(listener, config.clone(), accepted.clone(), hard_limit);
            (
                Box::pin(router.serve_with_incoming_shutdown(incoming, shutdown)),
                Some(config.watch(every)),
            )
        }
        None => {
            let incoming = crate::connection::plaintext(listener, accepted.clone(), hard_limit);
            (
                Box::pin(router.serve_with_incoming_shutdown(incoming, shutdown)),
                None,
            )
        }
    };
    let drain_timeout = Duration::from_secs(args.drain_timeout_secs);
    let mut drained = ctx.drain.subscribe();
    let drain_deadline = async move {
        let _ = drained.wait_for(|d| *d).await;
        tokio::time::sleep(drain_timeout).await;
    };
    let task = tokio::spawn(async move {
        let served = tokio::select! {
            served = server => served.context("gRPC server failed"),
            () = drain_deadline => {
                tracing::warn!(
                    ?drain_timeout,
                    "calls still open when the drain time ran out: stopping without them"
                );
                Ok(())
            }
        };
        for side_task in tls_watch.into_iter().chain(health_only) {
            side_task.abort();
        }
        served?;
        tracing::info!("stopped");
        Ok(())
    });

    let db = ctx.db.clone();
    let mode = args.migrate;
    let transport = args.transport();
    let (serving_tx, serving_rx) = watch::channel(false);
    let stop_on_failure = stop_tx.clone();
    let failure = Arc::new(std::sync::Mutex::new(None));
    let failure_slot = failure.clone();
    let ready = tokio::spawn(async move {
        let migrated = match mode {
            MigrateMode::Apply => db.migrate().await.context("applying migrations"),
            MigrateMode::Wait => loop {
                match db.is_migrated().await {
                    Ok(true) => break Ok(()),
                    Ok(false) => tracing::info!("waiting for migrations to be applied"),
                    Err(e) => tracing::warn!(error = %e, "cannot read migration state yet"),
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            },
        };
        match migrated {
            Ok(()) => {
                set_all(&reporter, &names, ServingStatus::Serving).await;
                let _ = serving_tx.send(true);
                tracing::info!(%addr, services = ?names, %transport, "serving");
            }
            Err(e) => {
                // A server that cannot migrate must not limp on NOT_SERVING forever: stop, so
                // the process exits non-zero and its supervisor sees why.
                let reason = format!("{e:#}");
                tracing::error!(error = %reason, "cannot start serving");
                *failure_slot.lock().expect("failure lock") = Some(reason);
                let _ = stop_on_failure.send(true);
            }
        }
    });
    Ok(Running {
        addr,
        stop: stop_tx,
        task,
        ready,
        serving: serving_rx,
        failure,
        accepted,
    })
}

async fn set_all(reporter: &HealthReporter, names: &[&str], status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for n in names {
        reporter.set_service_status(n, status).await;
    }
}

/// Binds `args.listen`, serves until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn run_until_signal(
    args: &ServerArgs,
    ctx: ServiceContext,
    mounts: Vec<ServiceMount>,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let running = start(args, ctx, mounts, listener).await?;
    let stop = running.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    running.wait().await
}

/// Connects to the configured database and builds the context services are mounted with.
pub async fn connect_context(args: &ServerArgs) -> anyhow::Result<ServiceContext> {
    let verifier = args.auth.verifier()?;
    if args.auth.using_dev_secret() {
        tracing::warn!(
            "verifying tokens with the built-in development secret: set ALMO_JWT_SECRET, or \
             ALMO_JWT_ALGORITHM with public keys, before this serves anyone real"
        );
    }
    let db = almo_db::connect(&args.database.connect_config())
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                almo_db::redact(&args.database.database_url)
            )
        })?;
    let ctx = ServiceContext::new(db, verifier, args.max_request_bytes);
    let Some(read_config) = args.database.read_connect_config() else {
        return Ok(ctx);
    };
    if ctx.db.backend() != almo_db::Backend::Postgres {
        tracing::warn!(
            "ALMO_DATABASE_READ_URL is ignored: a read replica goes with a PostgreSQL primary, \
             and this one is SQLite; every read goes to it"
        );
        return Ok(ctx);
    }
    let read = almo_db::connect(&read_config).await.with_context(|| {
        format!(
            "cannot open the read replica {}",
            almo_db::redact(&read_config.url)
        )
    })?;
    tracing::info!(
        replica = %almo_db::redact(&read_config.url),
        "reads that may lag (queries, exports, Flight, benchmarks) go to the read replica"
    );
    Ok(ctx.with_read_db(read))
}

/// The container probe: exit 0 when the server at `addr` reports SERVING for `service` (empty:
/// the whole server) over the gRPC health protocol.
pub async fn healthcheck(addr: std::net::SocketAddr, service: String) -> std::process::ExitCode {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        let status = HealthClient::new(channel)
            .check(HealthCheckRequest { service })
            .await?
            .into_inner()
            .status;
        anyhow::Ok(status)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), check).await {
        Ok(Ok(s)) if s == ServingStatus::Serving as i32 => {
            println!("SERVING");
            std::process::ExitCode::SUCCESS
        }
        Ok(Ok(s)) => {
            println!(
                "{:?}",
                ServingStatus::try_from(s).unwrap_or(ServingStatus::Unknown)
            );
            std::process::ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            println!("unreachable: {e}");
            std::process::ExitCode::FAILURE
        }
        Err(_) => {
            println!("no answer within 5 s");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
