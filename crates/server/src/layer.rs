//! The tower layer in front of every service: one `tracing` span per RPC (child of the caller's
//! W3C trace context), a log line per completed call, a global limit on unary calls in flight,
//! and limits on open streams (in total and per caller) held for as long as each stream's
//! response runs — all answering `RESOURCE_EXHAUSTED` at once instead of queueing.
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

/// The paths of every RPC whose request or response is a stream, from the contracts.
fn streaming_paths() -> HashSet<String> {
    let set = prost_types::FileDescriptorSet::decode(almo_proto::FILE_DESCRIPTOR_SET)
        .expect("the compiled descriptor set decodes");
    let mut paths = HashSet::new();
    for file in set.file {
        for service in &file.service {
            for m in &service.method {
                if m.client_streaming() || m.server_streaming() {
                    paths.insert(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        m.name()
                    ));
                }
            }
        }
    }
    paths
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
    /// A claim for a new stream by `caller`, or why there is none.
    fn claim(self: &Arc<Self>, caller: u64) -> Result<StreamClaim, String> {
        let total = self.total.clone().try_acquire_owned().map_err(|_| {
            format!(
                "server busy: {} streams already open; retry with backoff",
                self.limits.total
            )
        })?;
        let mut open = self.per_caller.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(caller).or_insert(0);
        if *n >= self.limits.per_caller {
            return Err(format!(
                "this caller already has {} streams open, the most allowed; close one first",
                self.limits.per_caller
            ));
        }
        *n += 1;
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

/// A response body that holds what the call claimed until the body ends or is dropped.
struct Holding<B> {
    inner: B,
    _claim: Option<StreamClaim>,
}

impl<B: Body + Unpin> Body for Holding<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
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
}

impl RpcLayer {
    pub fn new(max_concurrent: usize, stream_limits: StreamLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            limit: max_concurrent,
            streams: Arc::new(Streams {
                limits: stream_limits,
                total: Arc::new(Semaphore::new(stream_limits.total)),
                per_caller: Mutex::new(HashMap::new()),
            }),
            streaming: Arc::new(streaming_paths()),
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
                Err(why) => {
                    let _e = span.enter();
                    tracing::warn!(reason = %why, "shedding stream");
                    let status = tonic::Status::resource_exhausted(why);
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
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
                result.map(|resp| match claim {
                    None => resp,
                    Some(claim) => resp.map(|body| {
                        tonic::body::Body::new(Holding {
                            inner: body,
                            _claim: Some(claim),
                        })
                    }),
                })
            }
            .instrument(span),
        )
    }
}
