//! The tower layer in front of every service: one `tracing` span per RPC (child of the caller's
//! W3C trace context), a log line per completed call, a global limit on unary calls in flight,
//! and limits on open streams (in total and per caller) held for as long as each stream's
//! response runs — all answering `RESOURCE_EXHAUSTED` at once instead of queueing — and the
//! RPC metrics (`rpc.server.duration` by method and status code, calls in flight, calls shed,
//! open streams; see `almo_telemetry::metrics`).
//!
//! The per-call line is at DEBUG for a call that succeeds within [`SLOW_CALL`], at INFO for one
//! refused on the client's account (invalid argument, not found, permission denied, ...), and at
//! WARN for one that fails on the server's side (INTERNAL, UNAVAILABLE, UNKNOWN, DATA_LOSS,
//! DEADLINE_EXCEEDED) or takes longer than [`SLOW_CALL`]. At the default `info` level a healthy
//! server writes no line per successful call; every failed or slow one is still logged.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use almo_telemetry::metrics::{self, KeyValue};
use http_body::{Body, Frame, SizeHint};
use prost::Message;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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

/// How many streaming calls may be open at once.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Across all callers.
    pub total: usize,
    /// With one bearer token.
    pub per_caller: usize,
}

/// The paths of every RPC the contracts name, and of those whose request or response is a
/// stream.
fn rpc_paths() -> (HashSet<String>, HashSet<String>) {
    let set = prost_types::FileDescriptorSet::decode(almo_proto::FILE_DESCRIPTOR_SET)
        .expect("the compiled descriptor set decodes");
    let mut all = HashSet::new();
    let mut streaming = HashSet::new();
    for file in set.file {
        for service in &file.service {
            for m in &service.method {
                let path = format!("/{}.{}/{}", file.package(), service.name(), m.name());
                if m.client_streaming() || m.server_streaming() {
                    streaming.insert(path.clone());
                }
                all.insert(path);
            }
        }
    }
    (all, streaming)
}

/// Open streams: a global semaphore and a count per caller.
struct Streams {
    limits: StreamLimits,
    total: Arc<Semaphore>,
    per_caller: Mutex<HashMap<u64, usize>>,
}

/// One caller's claim on an open stream, given back when the stream's response ends.
struct StreamClaim {
    streams: Arc<Streams>,
    caller: u64,
    _total: OwnedSemaphorePermit,
}

impl Drop for StreamClaim {
    fn drop(&mut self) {
        metrics::rpc_streams(-1);
        let mut open = self
            .streams
            .per_caller
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.caller);
            }
        }
    }
}

impl Streams {
    /// A claim for a new stream by `caller`, or which limit refused it (its metric reason) and
    /// why.
    fn claim(self: &Arc<Self>, caller: u64) -> Result<StreamClaim, (&'static str, String)> {
        let total = self.total.clone().try_acquire_owned().map_err(|_| {
            (
                "streams",
                format!(
                    "server busy: {} streams already open; retry with backoff",
                    self.limits.total
                ),
            )
        })?;
        let mut open = self.per_caller.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(caller).or_insert(0);
        if *n >= self.limits.per_caller {
            return Err((
                "streams_per_caller",
                format!(
                    "this caller already has {} streams open, the most allowed; close one first",
                    self.limits.per_caller
                ),
            ));
        }
        *n += 1;
        metrics::rpc_streams(1);
        Ok(StreamClaim {
            streams: self.clone(),
            caller,
            _total: total,
        })
    }
}

/// Who is calling, for the per-caller stream count: the token's organisation and subject, read
/// without verifying (the service verifies; a forged token is refused at once and its stream
/// ends with it), so a caller's fresh tokens count as the same caller. A token that cannot be
/// read counts by its bytes.
fn caller_key(headers: &http::HeaderMap) -> u64 {
    use base64::Engine;
    use std::hash::{Hash, Hasher};
    let token = headers
        .get("authorization")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let token = token.strip_prefix(b"Bearer ").unwrap_or(token);
    let claims = token
        .split(|b| *b == b'.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .map(|c| (c["org"].to_string(), c["sub"].to_string()));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match claims {
        Some(who) => who.hash(&mut h),
        None => token.hash(&mut h),
    }
    h.finish()
}

/// A response body that holds what the call claimed until the body ends or is dropped, and
/// then records the call's duration with the status its trailers carried.
struct Holding<B> {
    inner: B,
    _claim: Option<StreamClaim>,
    /// For the metrics: the method, when the call arrived, and its status code so far.
    timing: Option<([KeyValue; 2], Instant, Option<i64>)>,
}

/// The numeric gRPC status in `headers` (trailers, or a trailers-only response's headers).
fn status_code(headers: &http::HeaderMap) -> Option<i64> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

impl<B> Drop for Holding<B> {
    fn drop(&mut self) {
        if let Some((method, started, code)) = self.timing.take() {
            // A stream that ends without trailers was cut off: CANCELLED.
            metrics::rpc_finished(&method, code.unwrap_or(1), started.elapsed());
        }
    }
}

impl<B: Body + Unpin> Body for Holding<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(trailers) = frame.trailers_ref()
            && let Some((_, _, code)) = &mut self.timing
        {
            *code = status_code(trailers).or(*code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[derive(Clone)]
pub struct RpcLayer {
    permits: Arc<Semaphore>,
    limit: usize,
    streams: Arc<Streams>,
    streaming: Arc<HashSet<String>>,
    known: Arc<HashSet<String>>,
}

impl RpcLayer {
    pub fn new(max_concurrent: usize, stream_limits: StreamLimits) -> Self {
        let (known, streaming) = rpc_paths();
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            limit: max_concurrent,
            streams: Arc::new(Streams {
                limits: stream_limits,
                total: Arc::new(Semaphore::new(stream_limits.total)),
                per_caller: Mutex::new(HashMap::new()),
            }),
            streaming: Arc::new(streaming),
            known: Arc::new(known),
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
            streams: self.streams.clone(),
            streaming: self.streaming.clone(),
            known: self.known.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RpcService<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
    streams: Arc<Streams>,
    streaming: Arc<HashSet<String>>,
    known: Arc<HashSet<String>>,
}

/// A unary call in flight, for `rpc.server.active_requests`: counted down when the call ends or
/// its future is dropped.
struct Active;

impl Active {
    fn start() -> Self {
        metrics::rpc_active(1);
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        metrics::rpc_active(-1);
    }
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
        let streaming = !exempt && self.streaming.contains(req.uri().path());
        // Metric attributes only when metrics are recorded: nothing to build otherwise.
        let method = (!exempt && metrics::recording()).then(|| {
            let path = req.uri().path();
            metrics::method_attributes(path, self.known.contains(path))
        });
        let mut claim = None;
        let permit = if exempt {
            None
        } else if streaming {
            // A stream is held by its claim for as long as its response runs, not by the
            // unary permit, which would be given back when the response starts.
            match self.streams.claim(caller_key(req.headers())) {
                Ok(c) => {
                    claim = Some(c);
                    None
                }
                Err((reason, why)) => {
                    if let Some(m) = &method {
                        metrics::rpc_shed(m, reason);
                    }
                    let _e = span.enter();
                    tracing::warn!(reason = %why, "shedding stream");
                    let status = tonic::Status::resource_exhausted(why);
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
        } else {
            match self.permits.clone().try_acquire_owned() {
                Ok(p) => Some((p, method.is_some().then(Active::start))),
                Err(_) => {
                    if let Some(m) = &method {
                        metrics::rpc_shed(m, "concurrency");
                    }
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
                    if let Some(m) = &method
                        && !streaming
                    {
                        metrics::rpc_finished(m, code.parse().unwrap_or(2), elapsed);
                    }
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
                result.map(|resp| match claim {
                    None => resp,
                    Some(claim) => {
                        let code = status_code(resp.headers());
                        resp.map(|body| {
                            tonic::body::Body::new(Holding {
                                inner: body,
                                _claim: Some(claim),
                                timing: method.map(|m| (m, started, code)),
                            })
                        })
                    }
                })
            }
            .instrument(span),
        )
    }
}
