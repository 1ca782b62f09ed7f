//! The tower layer in front of every service: one `tracing` span per RPC (child of the caller's
//! W3C trace context), a log line per completed call, and a global limit on calls in flight that
//! answers `RESOURCE_EXHAUSTED` at once instead of queueing.
//!
//! The per-call line is at DEBUG for a call that succeeds within [`SLOW_CALL`], at INFO for one
//! refused on the client's account (invalid argument, not found, permission denied, ...), and at
//! WARN for one that fails on the server's side (INTERNAL, UNAVAILABLE, UNKNOWN, DATA_LOSS,
//! DEADLINE_EXCEEDED) or takes longer than [`SLOW_CALL`]. At the default `info` level a healthy
//! server writes no line per successful call; every failed or slow one is still logged.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tower::{Layer, Service};
use tracing::Instrument;

/// Health and reflection are never shed: probes must see an overloaded server as alive.
fn exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

/// A call that takes longer than this is logged at WARN whatever its outcome.
pub const SLOW_CALL: Duration = Duration::from_secs(1);

/// gRPC codes that say the server, not the request, is at fault.
fn server_fault(code: &str) -> bool {
    // UNKNOWN 2, DEADLINE_EXCEEDED 4, INTERNAL 13, UNAVAILABLE 14, DATA_LOSS 15
    matches!(code, "2" | "4" | "13" | "14" | "15")
}

#[derive(Clone)]
pub struct RpcLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl RpcLayer {
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            limit: max_concurrent,
        }
    }
}

impl<S> Layer<S> for RpcLayer {
    type Service = RpcService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcService {
            inner,
            permits: self.permits.clone(),
            limit: self.limit,
        }
    }
}

#[derive(Clone)]
pub struct RpcService<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
}

impl<S, B> Service<http::Request<B>> for RpcService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let exempt = exempt(req.uri().path());
        let span = tracing::info_span!(
            "rpc",
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %req.uri().path(),
            trace_id = tracing::field::Empty,
            caller = tracing::field::Empty,
            org = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let trace_id = almo_telemetry::adopt_remote_parent(&span, req.headers());
        if !trace_id.is_empty() {
            span.record("trace_id", trace_id.as_str());
        }
        let permit = if exempt {
            None
        } else {
            match self.permits.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    let limit = self.limit;
                    let _e = span.enter();
                    tracing::warn!(limit, "shedding call: too many calls in flight");
                    let status = tonic::Status::resource_exhausted(format!(
                        "server busy: {limit} calls already in flight; retry with backoff"
                    ));
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
        };
        // The clone that was polled ready serves this call; a fresh clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(
            async move {
                let started = Instant::now();
                let result = inner.call(req).await;
                drop(permit);
                if !exempt && let Ok(resp) = &result {
                    // A unary success carries its status in the trailers: no header means OK.
                    let code = resp
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("0");
                    let elapsed = started.elapsed();
                    if server_fault(code) || elapsed > SLOW_CALL {
                        tracing::warn!(
                            grpc.status = %code,
                            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                            "rpc finished"
                        );
                    } else if code != "0" {
                        tracing::info!(
                            grpc.status = %code,
                            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                            "rpc finished"
                        );
                    } else {
                        tracing::debug!(
                            grpc.status = %code,
                            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                            "rpc finished"
                        );
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}
