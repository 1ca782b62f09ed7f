//! Logging, tracing and metrics for every binary: a `tracing` subscriber (text or JSON),
//! OpenTelemetry OTLP/gRPC export of spans and [`metrics`] when `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set (nothing otherwise), and W3C `traceparent` propagation through gRPC metadata.

pub mod metrics;

use std::str::FromStr;

use anyhow::Context as _;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format {other:?}: use text or json")),
        }
    }
}

/// Flushes and shuts the exporters down when dropped: keep it alive for the life of `main`.
#[must_use = "spans and metrics are flushed when the guard is dropped"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    /// Whether spans are being exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Whether metrics are being exported.
    pub fn exporting_metrics(&self) -> bool {
        self.meters.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(m) = self.meters.take() {
            if let Err(e) = m.force_flush() {
                eprintln!("telemetry: flushing metrics failed: {e}");
            }
            if let Err(e) = m.shutdown() {
                eprintln!("telemetry: metrics exporter shutdown failed: {e}");
            }
        }
        if let Some(p) = self.provider.take() {
            if let Err(e) = p.force_flush() {
                eprintln!("telemetry: flushing spans failed: {e}");
            }
            if let Err(e) = p.shutdown() {
                eprintln!("telemetry: exporter shutdown failed: {e}");
            }
        }
    }
}

/// Installs the global subscriber. The filter comes from `RUST_LOG` (default `info`). Calling it
/// again (tests) leaves the first subscriber in place.
pub fn init(service_name: &str, format: LogFormat) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,h2=warn"))
    };
    let fmt_layer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .with_filter(filter())
            .boxed(),
    };
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let (provider, meters) = match endpoint {
        None => (None, None),
        Some(_) => {
            // The exporters read the endpoint, headers and timeout from the standard OTEL_*
            // variables themselves (metrics also OTEL_METRIC_EXPORT_INTERVAL, default 60 s).
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()
                .context("building the OTLP span exporter")?;
            let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or(service_name.to_string());
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build();
            let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .build()
                .context("building the OTLP metric exporter")?;
            let meters = SdkMeterProvider::builder()
                .with_periodic_exporter(metric_exporter)
                .with_resource(resource.clone())
                .build();
            (
                Some(
                    SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_resource(resource)
                        .build(),
                ),
                Some(meters),
            )
        }
    };
    let otel_layer = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("almo-exchange"))
            .with_filter(filter())
    });
    let _ = tracing_subscriber::registry()
        .with(fmt_layer)
        .with(otel_layer)
        .try_init();
    if let Some(p) = &provider {
        opentelemetry::global::set_tracer_provider(p.clone());
    }
    if let Some(m) = &meters {
        opentelemetry::global::set_meter_provider(m.clone());
        metrics::install(&m.meter("almo-exchange"));
    }
    Ok(TelemetryGuard { provider, meters })
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::header::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Makes `span` a child of the W3C trace context in `headers` (if any) and returns the trace id
/// the span belongs to, for the logs (empty when there is neither an incoming context nor an
/// exporter).
pub fn adopt_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) -> String {
    if headers.contains_key("traceparent") {
        let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        let remote = cx.span().span_context().clone();
        if remote.is_valid() {
            let _ = span.set_parent(cx);
            return remote.trace_id().to_string();
        }
    }
    let own = span.context().span().span_context().clone();
    if own.is_valid() {
        own.trace_id().to_string()
    } else {
        String::new()
    }
}

/// Writes the current span's trace context into outgoing headers (gRPC metadata).
pub fn inject_current(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_traceparent_gives_the_trace_id() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        let span = tracing::info_span!("rpc");
        assert_eq!(
            adopt_remote_parent(&span, &headers),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }

    #[test]
    fn no_traceparent_and_no_exporter_gives_no_trace_id() {
        let span = tracing::info_span!("rpc");
        assert_eq!(adopt_remote_parent(&span, &http::HeaderMap::new()), "");
    }

    #[test]
    fn log_format_parses() {
        assert_eq!("JSON".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
