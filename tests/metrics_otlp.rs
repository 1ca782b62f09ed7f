//! With OTEL_EXPORTER_OTLP_ENDPOINT set, the suite's metrics reach an OTLP/gRPC collector — here
//! a real one on 127.0.0.1:0 that records what it receives — beside the spans: each call's
//! duration by method and status code, calls shed by the concurrency limit, the database pool,
//! and the domain counters. (One test in this binary: it installs the process-wide exporter.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan as pb;
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::directory::GetOrganisationRequest;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_testkit::{TestApp, TestDb, authed, default_args};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use tonic::{Code, Request, Response, Status};

const LAMBETH: &str = "E09000022";

/// One data point as received: the metric's name, the point's attributes, and its value (a
/// histogram's count).
type Point = (String, BTreeMap<String, String>, f64);

#[derive(Clone, Default)]
struct Collector {
    points: Arc<Mutex<Vec<Point>>>,
    services: Arc<Mutex<Vec<String>>>,
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(any_value::Value::IntValue(i)) => i.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

fn number(v: &Option<number_data_point::Value>) -> f64 {
    match v {
        Some(number_data_point::Value::AsInt(i)) => *i as f64,
        Some(number_data_point::Value::AsDouble(d)) => *d,
        None => f64::NAN,
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let mut points = self.points.lock().unwrap();
        for rm in request.into_inner().resource_metrics {
            if let Some(r) = &rm.resource {
                self.services
                    .lock()
                    .unwrap()
                    .extend(attributes(&r.attributes).remove("service.name"));
            }
            for sm in rm.scope_metrics {
                for m in sm.metrics {
                    match &m.data {
                        Some(metric::Data::Histogram(h)) => {
                            for p in &h.data_points {
                                points.push((
                                    m.name.clone(),
                                    attributes(&p.attributes),
                                    p.count as f64,
                                ));
                            }
                        }
                        Some(metric::Data::Sum(s)) => {
                            for p in &s.data_points {
                                points.push((
                                    m.name.clone(),
                                    attributes(&p.attributes),
                                    number(&p.value),
                                ));
                            }
                        }
                        Some(metric::Data::Gauge(g)) => {
                            for p in &g.data_points {
                                points.push((
                                    m.name.clone(),
                                    attributes(&p.attributes),
                                    number(&p.value),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    /// The latest value of `name` among points whose attributes include every one of `with`.
    fn latest(&self, name: &str, with: &[(&str, &str)]) -> Option<f64> {
        self.points
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(n, attrs, _)| {
                n == name
                    && with
                        .iter()
                        .all(|(k, v)| attrs.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
    }
}

fn record(id: &str, target: &str) -> pb::VarianceRecord {
    pb::VarianceRecord {
        sender_record_id: id.into(),
        target_code: target.into(),
        period: Some(Period {
            year: Some(FinancialYear { start_year: 2026 }),
            kind: PeriodKind::Month as i32,
            // November 2026: ended, and not among the demo's figures.
            number: 8,
        }),
        actual: 97.5,
        forecast: None,
        commentary: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_durations_shed_calls_pool_and_domain_counters_are_exported_over_otlp() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(MetricsServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    // SAFETY: this test binary has one test, and nothing else reads the environment meanwhile.
    unsafe { std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")) };
    let guard = almo_telemetry::init("almo-metrics-test", almo_telemetry::LogFormat::Text).unwrap();
    assert!(guard.exporting_metrics());

    let db = TestDb::with_demo().await.unwrap();
    almo_pi_returns::seed_catalogue(db.db.conn()).await.unwrap();
    almo_delivery_plan::demo::seed(&db.db).await.unwrap();
    let app = TestApp::spawn_on(
        default_args(),
        vec![almo_directory::mount(), almo_delivery_plan::mount()],
        db,
    )
    .await
    .unwrap();
    let channel = app.channel().await;
    let mut directory = DirectoryServiceClient::new(channel.clone());
    directory
        .get_organisation(authed(
            GetOrganisationRequest { id: LAMBETH.into() },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .expect("Lambeth reads itself");
    let refused = directory
        .get_organisation(authed(
            GetOrganisationRequest {
                id: "E09999999".into(),
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::PermissionDenied,
        "{}",
        refused.message()
    );

    let pushed = DeliveryPlanServiceClient::new(channel.clone())
        .push_variances(authed(
            tokio_stream::iter(vec![pb::PushVariancesRequest {
                request_id: "metrics-push".into(),
                plan_id: almo_delivery_plan::demo::PLAN_ID.into(),
                records: vec![
                    record("metrics-1", "LOCAL-RENT"),
                    record("metrics-2", "NO-SUCH-TARGET"),
                ],
            }]),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .expect("the push is answered")
        .into_inner();
    assert_eq!((pushed.accepted, pushed.refused), (1, 1), "{pushed:?}");

    // A server that admits no unary call at all sheds the next one.
    let mut args = default_args();
    args.max_concurrent_requests = 0;
    let full = TestApp::spawn_with(args, vec![almo_directory::mount()])
        .await
        .unwrap();
    let shed = DirectoryServiceClient::new(full.channel().await)
        .get_organisation(authed(
            GetOrganisationRequest { id: LAMBETH.into() },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(shed.code(), Code::ResourceExhausted);

    // Dropping the guard exports and flushes what was recorded.
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
    for _ in 0..50 {
        if collector.latest("almo.variances.accepted", &[]).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let get = "GetOrganisation";
    let duration = |code: &str| {
        collector.latest(
            "rpc.server.duration",
            &[
                ("rpc.system", "grpc"),
                ("rpc.service", "almo.directory.v1.DirectoryService"),
                ("rpc.method", get),
                ("rpc.grpc.status_code", code),
            ],
        )
    };
    assert_eq!(duration("0"), Some(1.0), "one GetOrganisation answered OK");
    assert_eq!(duration("7"), Some(1.0), "one refused PERMISSION_DENIED");
    assert_eq!(
        collector.latest(
            "rpc.server.duration",
            &[
                ("rpc.method", "PushVariances"),
                ("rpc.grpc.status_code", "0")
            ]
        ),
        Some(1.0),
        "a stream's duration is recorded with the status its trailers carried"
    );
    assert_eq!(
        collector.latest(
            "rpc.server.shed_requests",
            &[("rpc.method", get), ("reason", "concurrency")]
        ),
        Some(1.0)
    );
    assert_eq!(collector.latest("almo.variances.accepted", &[]), Some(1.0));
    assert_eq!(collector.latest("almo.variances.refused", &[]), Some(1.0));
    assert_eq!(
        collector.latest("rpc.server.active_requests", &[]),
        Some(0.0),
        "no call is left counted in flight"
    );
    assert!(
        collector
            .latest(
                "db.client.connection.max",
                &[("db.client.connection.pool.name", "primary")]
            )
            .is_some_and(|max| max >= 1.0),
        "the pool reports its size"
    );
    assert!(
        collector
            .latest("db.client.connection.wait_time", &[])
            .is_some_and(|n| n >= 1.0),
        "the push's write transaction was timed"
    );
    // Every name received is one the code lists (and so the README and the dashboard check).
    let listed: Vec<&str> = almo_telemetry::metrics::METRICS
        .iter()
        .map(|m| m.name)
        .collect();
    for (name, _, _) in collector.points.lock().unwrap().iter() {
        assert!(
            listed.contains(&name.as_str()),
            "{name} is listed in METRICS"
        );
    }
    assert!(
        collector
            .services
            .lock()
            .unwrap()
            .iter()
            .any(|s| s == "almo-metrics-test")
    );
}
