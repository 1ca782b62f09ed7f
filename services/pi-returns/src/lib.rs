//! `almo.pi_returns.v1.PiReturnsService`: performance-indicator returns (DOMAIN.md §3) — the
//! indicator catalogue as data versioned by financial year, returns validated against the
//! definition in force, sign-off by a second person, revisions that keep every earlier value,
//! quartile benchmarking and the regulator's queries.

pub mod demo;
pub mod domain;
mod grpc;
mod storage;

use almo_proto::pi_returns::pi_returns_service_server::PiReturnsServiceServer;
use almo_server::{ServiceContext, ServiceMount};
use tonic::service::interceptor::InterceptedService;

/// The Flight datasets (`pi.values`, `pi.benchmarks`) and the schema the Parquet export shares.
pub use grpc::flight::{datasets as flight_datasets, values_query, values_schema};
pub use grpc::{PiReturns, SERVICE_NAME, definition_to_proto};
/// The benchmark points every write that signs off or alters returns keeps (`refresh_returns`),
/// for loaders that write returns directly.
pub use storage::benchmark_points;
/// Loads the shipped indicator catalogue into `pi_indicator_definitions` (safe to repeat), for
/// other services that read it before anyone has called this one.
pub use storage::seed_catalogue;

/// The PI returns service, ready to mount.
pub fn mount() -> ServiceMount {
    ServiceMount {
        name: SERVICE_NAME,
        add: Box::new(|ctx: &ServiceContext, routes| {
            let server = PiReturnsServiceServer::new(PiReturns::new(ctx.clone()))
                .max_decoding_message_size(ctx.max_request_bytes);
            routes.add_service(InterceptedService::new(server, ctx.auth_interceptor()));
        }),
    }
}
