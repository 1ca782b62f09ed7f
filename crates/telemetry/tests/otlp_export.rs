//! With OTEL_EXPORTER_OTLP_ENDPOINT set, spans reach an OTLP/gRPC collector — here a real one on
//! 127.0.0.1:0 that records what it receives — as children of the caller's W3C trace, and are
//! flushed when the guard drops. (One test per binary: it sets process-wide state.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::{Request, Response, Status};

#[derive(Clone, Default)]
struct Collector {
    /// (span name, trace id hex, service.name)
    spans: Arc<Mutex<Vec<(String, String, String)>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .map(|v| format!("{:?}", v.value))
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    let trace: String = s.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                    spans.push((s.name, trace, service.clone()));
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_as_children_of_the_incoming_trace() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(collector.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);

    // SAFETY: this test binary has one test, and nothing else reads the environment meanwhile.
    unsafe { std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")) };
    let guard = almo_telemetry::init("almo-otlp-test", almo_telemetry::LogFormat::Text).unwrap();
    assert!(guard.exporting());

    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap(),
    );
    {
        let span = tracing::info_span!("rpc", rpc.method = "/almo.test.v1.Test/Call");
        let trace_id = almo_telemetry::adopt_remote_parent(&span, &headers);
        assert_eq!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let _entered = span.enter();
        tracing::info!("inside the call");
    }
    // Dropping the guard flushes the batch.
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
    for _ in 0..50 {
        if !collector.spans.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let spans = collector.spans.lock().unwrap().clone();
    let rpc = spans
        .iter()
        .find(|(name, _, _)| name == "rpc")
        .unwrap_or_else(|| panic!("the rpc span was exported: {spans:?}"));
    assert_eq!(rpc.1, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(rpc.2.contains("almo-otlp-test"), "service name: {}", rpc.2);
}
