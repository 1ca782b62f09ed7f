//! `almo.sla_charging.v1.SlaChargingService`: SLAs between a council and its ALMOs for central
//! services — versioned agreements, usage, service-level results, billing runs, invoices that
//! never change once issued, credit notes and the invoice feed ALMO finance pulls.

mod billing;
pub mod demo;
pub mod domain;
mod grpc;
pub mod lifecycle;
pub mod pull;
mod storage;

use almo_proto::sla_charging::sla_charging_service_server::SlaChargingServiceServer;
use almo_server::{ServiceContext, ServiceMount};
use tonic::service::interceptor::InterceptedService;

pub use grpc::flight::{datasets as flight_datasets, invoice_lines_batch, invoice_lines_schema};
pub use grpc::{SERVICE_NAME, SlaCharging};

/// The SLA charging service, ready to mount.
pub fn mount() -> ServiceMount {
    ServiceMount {
        name: SERVICE_NAME,
        add: Box::new(|ctx: &ServiceContext, routes| {
            let server = SlaChargingServiceServer::new(SlaCharging::new(ctx.clone()))
                .max_decoding_message_size(ctx.max_request_bytes);
            routes.add_service(InterceptedService::new(server, ctx.auth_interceptor()));
            almo_server::consumer::spawn(ctx, lifecycle::CONSUMER, |db| async move {
                lifecycle::consume(&db).await
            });
        }),
    }
}
