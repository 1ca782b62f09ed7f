//! OpenTelemetry metrics, exported over OTLP beside the spans when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set (every `OTEL_EXPORTER_OTLP_*` and `OTEL_METRIC_EXPORT_INTERVAL` setting applies).
//! Nothing is recorded otherwise: each function here is then a load and a branch.
//!
//! [`METRICS`] lists every instrument the suite emits — name, kind, unit, attributes, meaning —
//! and the instruments are built from it, so the list is what the code emits; the README's table
//! and `deploy/validate.sh` (which checks the Grafana dashboard and the alert rules name only
//! these) read it. Names follow the OpenTelemetry semantic conventions where there is one
//! (`rpc.server.duration`, `db.client.connection.*`) and are `almo.*` otherwise.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, RwLock};
use std::time::Duration;

pub use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};

/// What kind of instrument a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (in Prometheus: a counter).
    Counter,
    /// Goes up and down (in Prometheus: a gauge).
    UpDownCounter,
    /// Read when exported (in Prometheus: a gauge).
    Gauge,
    /// A distribution (in Prometheus: `_bucket`, `_sum` and `_count` series).
    Histogram,
}

/// One metric the suite emits.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub attributes: &'static [&'static str],
    pub meaning: &'static str,
}

const RPC_DURATION: Metric = Metric {
    name: "rpc.server.duration",
    kind: Kind::Histogram,
    unit: "ms",
    attributes: &[
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "rpc.grpc.status_code",
    ],
    meaning: "time from a call's arrival to its response (a stream: to its last message); \
              unknown methods as `_OTHER`; health and reflection not counted",
};
const RPC_ACTIVE: Metric = Metric {
    name: "rpc.server.active_requests",
    kind: Kind::UpDownCounter,
    unit: "{request}",
    attributes: &[],
    meaning: "unary calls in flight, the number the concurrency limit holds down",
};
const RPC_SHED: Metric = Metric {
    name: "rpc.server.shed_requests",
    kind: Kind::Counter,
    unit: "{request}",
    attributes: &["rpc.method", "reason"],
    meaning: "calls refused RESOURCE_EXHAUSTED at once by a limit: reason `concurrency` \
              (unary calls in flight), `streams` (open streams in all) or `streams_per_caller`",
};
const RPC_STREAMS: Metric = Metric {
    name: "rpc.server.open_streams",
    kind: Kind::UpDownCounter,
    unit: "{stream}",
    attributes: &[],
    meaning: "streaming calls open now, the number the stream limit holds down",
};
const DB_CONNECTIONS: Metric = Metric {
    name: "db.client.connection.count",
    kind: Kind::Gauge,
    unit: "{connection}",
    attributes: &[
        "db.client.connection.pool.name",
        "db.client.connection.state",
    ],
    meaning: "the database pool's connections by state, `used` or `idle`",
};
const DB_MAX: Metric = Metric {
    name: "db.client.connection.max",
    kind: Kind::Gauge,
    unit: "{connection}",
    attributes: &["db.client.connection.pool.name"],
    meaning: "the most connections the pool may open (`ALMO_DATABASE_MAX_CONNECTIONS`)",
};
const DB_WAIT: Metric = Metric {
    name: "db.client.connection.wait_time",
    kind: Kind::Histogram,
    unit: "s",
    attributes: &["db.client.connection.pool.name"],
    meaning: "time to obtain a write transaction: a connection from the pool and its BEGIN \
              (on SQLite also the write lock)",
};
const VARIANCES_ACCEPTED: Metric = Metric {
    name: "almo.variances.accepted",
    kind: Kind::Counter,
    unit: "{variance}",
    attributes: &[],
    meaning: "variance records accepted by PushVariances",
};
const VARIANCES_REFUSED: Metric = Metric {
    name: "almo.variances.refused",
    kind: Kind::Counter,
    unit: "{variance}",
    attributes: &[],
    meaning: "variance records refused by PushVariances (each with its reason in the reply)",
};
const INVOICES_ISSUED: Metric = Metric {
    name: "almo.invoices.issued",
    kind: Kind::Counter,
    unit: "{invoice}",
    attributes: &[],
    meaning: "SLA invoices issued",
};
const RETURNS_SIGNED_OFF: Metric = Metric {
    name: "almo.returns.signed_off",
    kind: Kind::Counter,
    unit: "{return}",
    attributes: &[],
    meaning: "PI returns signed off",
};
const SCHEDULING_RUNS: Metric = Metric {
    name: "almo.scheduling.runs",
    kind: Kind::Counter,
    unit: "{run}",
    attributes: &[],
    meaning: "inspection programmes scheduled",
};
const SCHEDULING_SCORE: Metric = Metric {
    name: "almo.scheduling.score",
    kind: Kind::Histogram,
    unit: "{penalty}",
    attributes: &[],
    meaning: "a scheduled programme's soft score: the sum of its penalties, lower is better",
};

/// Every metric the suite emits.
pub const METRICS: &[Metric] = &[
    RPC_DURATION,
    RPC_ACTIVE,
    RPC_SHED,
    RPC_STREAMS,
    DB_CONNECTIONS,
    DB_MAX,
    DB_WAIT,
    VARIANCES_ACCEPTED,
    VARIANCES_REFUSED,
    INVOICES_ISSUED,
    RETURNS_SIGNED_OFF,
    SCHEDULING_RUNS,
    SCHEDULING_SCORE,
];

/// The instruments, once the exporter is installed.
pub(crate) struct Instruments {
    rpc_duration: Histogram<f64>,
    rpc_active: UpDownCounter<i64>,
    rpc_shed: Counter<u64>,
    rpc_streams: UpDownCounter<i64>,
    db_wait: Histogram<f64>,
    variances_accepted: Counter<u64>,
    variances_refused: Counter<u64>,
    invoices_issued: Counter<u64>,
    returns_signed_off: Counter<u64>,
    scheduling_runs: Counter<u64>,
    scheduling_score: Histogram<f64>,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// How each pool reports (connections used, idle, the most allowed), by pool name.
type PoolReader = Box<dyn Fn() -> (u32, u32, u32) + Send + Sync>;
static POOLS: Mutex<Vec<(String, PoolReader)>> = Mutex::new(Vec::new());

fn counter(meter: &Meter, m: Metric) -> Counter<u64> {
    debug_assert_eq!(m.kind, Kind::Counter);
    meter
        .u64_counter(m.name)
        .with_unit(m.unit)
        .with_description(m.meaning)
        .build()
}

fn up_down(meter: &Meter, m: Metric) -> UpDownCounter<i64> {
    debug_assert_eq!(m.kind, Kind::UpDownCounter);
    meter
        .i64_up_down_counter(m.name)
        .with_unit(m.unit)
        .with_description(m.meaning)
        .build()
}

fn histogram(meter: &Meter, m: Metric, boundaries: Vec<f64>) -> Histogram<f64> {
    debug_assert_eq!(m.kind, Kind::Histogram);
    meter
        .f64_histogram(m.name)
        .with_unit(m.unit)
        .with_description(m.meaning)
        .with_boundaries(boundaries)
        .build()
}

/// Builds the instruments on `meter` (the exporting provider's); called once by `init`.
pub(crate) fn install(meter: &Meter) {
    let ms = vec![
        1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
    ];
    let secs = ms.iter().map(|b| b / 1000.0).collect();
    let _ = INSTRUMENTS.set(Instruments {
        rpc_duration: histogram(meter, RPC_DURATION, ms),
        rpc_active: up_down(meter, RPC_ACTIVE),
        rpc_shed: counter(meter, RPC_SHED),
        rpc_streams: up_down(meter, RPC_STREAMS),
        db_wait: histogram(meter, DB_WAIT, secs),
        variances_accepted: counter(meter, VARIANCES_ACCEPTED),
        variances_refused: counter(meter, VARIANCES_REFUSED),
        invoices_issued: counter(meter, INVOICES_ISSUED),
        returns_signed_off: counter(meter, RETURNS_SIGNED_OFF),
        scheduling_runs: counter(meter, SCHEDULING_RUNS),
        scheduling_score: histogram(
            meter,
            SCHEDULING_SCORE,
            vec![0.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0],
        ),
    });
    let pools = |state: bool| {
        move |o: &dyn opentelemetry::metrics::AsyncInstrument<i64>| {
            for (name, read) in POOLS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                let (used, idle, max) = read();
                let pool = KeyValue::new("db.client.connection.pool.name", name.clone());
                if state {
                    let s = "db.client.connection.state";
                    o.observe(used.into(), &[pool.clone(), KeyValue::new(s, "used")]);
                    o.observe(idle.into(), &[pool, KeyValue::new(s, "idle")]);
                } else {
                    o.observe(max.into(), &[pool]);
                }
            }
        }
    };
    for (m, state) in [(DB_CONNECTIONS, true), (DB_MAX, false)] {
        debug_assert_eq!(m.kind, Kind::Gauge);
        // Kept by the provider for as long as it lives.
        let _ = meter
            .i64_observable_gauge(m.name)
            .with_unit(m.unit)
            .with_description(m.meaning)
            .with_callback(pools(state))
            .build();
    }
}

fn get() -> Option<&'static Instruments> {
    INSTRUMENTS.get()
}

/// Whether metrics are being recorded (an exporter is installed).
pub fn recording() -> bool {
    get().is_some()
}

/// Reports a database pool's connections (used, idle, the most allowed) each time metrics are
/// exported, as `db.client.connection.count` and `.max`. A second pool of the same name
/// replaces the first.
pub fn observe_pool(name: &str, read: impl Fn() -> (u32, u32, u32) + Send + Sync + 'static) {
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    pools.retain(|(n, _)| n != name);
    pools.push((name.to_string(), Box::new(read)));
}

/// How long a write transaction took to obtain, on the pool named `pool`.
pub fn pool_wait(pool: &'static str, wait: Duration) {
    if let Some(i) = get() {
        i.db_wait.record(
            wait.as_secs_f64(),
            &[KeyValue::new("db.client.connection.pool.name", pool)],
        );
    }
}

/// Most methods whose attributes are kept (far more than the contracts name).
const MAX_INTERNED_METHODS: usize = 4096;

/// The attributes of each known method seen, built once: a call clones two `Arc`s.
static METHOD_ATTRIBUTES: LazyLock<RwLock<HashMap<Box<str>, [KeyValue; 2]>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// The service and method of a call's path, `_OTHER` for both if it is not a method the
/// contracts name (so a client cannot grow the series by making up paths). Built on a method's
/// first call and shared after, so a call allocates nothing for its attributes.
pub fn method_attributes(path: &str, known: bool) -> [KeyValue; 2] {
    let other = || {
        [
            KeyValue::new("rpc.service", "_OTHER"),
            KeyValue::new("rpc.method", "_OTHER"),
        ]
    };
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return other();
    };
    if !known {
        return other();
    }
    let read = METHOD_ATTRIBUTES.read().unwrap_or_else(|e| e.into_inner());
    if let Some(kv) = read.get(path) {
        return kv.clone();
    }
    drop(read);
    let kv = [
        KeyValue::new("rpc.service", Arc::<str>::from(service)),
        KeyValue::new("rpc.method", Arc::<str>::from(method)),
    ];
    let mut write = METHOD_ATTRIBUTES.write().unwrap_or_else(|e| e.into_inner());
    if write.len() < MAX_INTERNED_METHODS {
        write
            .entry(path.into())
            .or_insert_with(|| kv.clone())
            .clone()
    } else {
        kv
    }
}

/// A call finished with `code` (the numeric gRPC status) after `elapsed`.
pub fn rpc_finished(method: &[KeyValue; 2], code: i64, elapsed: Duration) {
    if let Some(i) = get() {
        i.rpc_duration.record(
            elapsed.as_secs_f64() * 1000.0,
            &[
                KeyValue::new("rpc.system", "grpc"),
                method[0].clone(),
                method[1].clone(),
                KeyValue::new("rpc.grpc.status_code", code),
            ],
        );
    }
}

/// A call was refused by a limit; `reason` is `concurrency`, `streams` or `streams_per_caller`.
pub fn rpc_shed(method: &[KeyValue; 2], reason: &'static str) {
    if let Some(i) = get() {
        i.rpc_shed
            .add(1, &[method[1].clone(), KeyValue::new("reason", reason)]);
    }
}

/// A unary call started (`1`) or ended (`-1`).
pub fn rpc_active(delta: i64) {
    if let Some(i) = get() {
        i.rpc_active.add(delta, &[]);
    }
}

/// A stream opened (`1`) or closed (`-1`).
pub fn rpc_streams(delta: i64) {
    if let Some(i) = get() {
        i.rpc_streams.add(delta, &[]);
    }
}

/// `n` variance records accepted.
pub fn variances_accepted(n: u64) {
    if let Some(i) = get() {
        i.variances_accepted.add(n, &[]);
    }
}

/// `n` variance records refused.
pub fn variances_refused(n: u64) {
    if let Some(i) = get() {
        i.variances_refused.add(n, &[]);
    }
}

/// `n` invoices issued.
pub fn invoices_issued(n: u64) {
    if let Some(i) = get() {
        i.invoices_issued.add(n, &[]);
    }
}

/// `n` PI returns signed off.
pub fn returns_signed_off(n: u64) {
    if let Some(i) = get() {
        i.returns_signed_off.add(n, &[]);
    }
}

/// A programme was scheduled with this soft score (lower is better).
pub fn scheduling_run(score: f64) {
    if let Some(i) = get() {
        i.scheduling_runs.add(1, &[]);
        i.scheduling_score.record(score, &[]);
    }
}

/// Every metric name, as the Prometheus the compose collector feeds names its series (dots as
/// underscores; the collector adds no unit or `_total` suffix), for checks of dashboards.
pub fn prometheus_names() -> HashMap<String, Kind> {
    METRICS
        .iter()
        .map(|m| (m.name.replace('.', "_"), m.kind))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_named_once_with_a_meaning() {
        let mut names: Vec<_> = METRICS.iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
        assert!(METRICS.iter().all(|m| !m.meaning.is_empty()));
        assert_eq!(prometheus_names().len(), METRICS.len());
    }

    #[test]
    fn an_unknown_path_is_counted_as_other() {
        let [s, m] = method_attributes("/almo.x.v1.X/Get", true);
        assert_eq!(
            (s.value.as_str(), m.value.as_str()),
            ("almo.x.v1.X".into(), "Get".into())
        );
        let [s, m] = method_attributes("/made/up", false);
        assert_eq!(
            (s.value.as_str(), m.value.as_str()),
            ("_OTHER".into(), "_OTHER".into())
        );
    }

    #[test]
    fn without_an_exporter_nothing_is_recorded_and_nothing_fails() {
        assert!(!recording());
        variances_accepted(3);
        scheduling_run(12.0);
        rpc_finished(
            &method_attributes("/a/b", true),
            0,
            Duration::from_millis(1),
        );
    }
}
