//! `almo.inspection.v1.InspectionSchedulingService`: the Housing Inspectorate schedules ALMO
//! inspections under the framework's rules (003 §94–§120), staffs them, runs them through to the
//! published report and records the outcome that decides Decent Homes funding.

pub mod cli;
pub mod demo;
pub mod domain;
mod error;
mod grpc;
pub mod lifecycle;
mod storage;

use almo_proto::inspection::inspection_scheduling_service_server::InspectionSchedulingServiceServer;
use almo_server::{ServiceContext, ServiceMount};
use tonic::service::interceptor::InterceptedService;

pub use grpc::{InspectionScheduling, SERVICE_NAME};

/// The inspection scheduling service, ready to mount.
pub fn mount() -> ServiceMount {
    ServiceMount {
        name: SERVICE_NAME,
        add: Box::new(|ctx: &ServiceContext, routes| {
            let server =
                InspectionSchedulingServiceServer::new(InspectionScheduling::new(ctx.clone()))
                    .max_decoding_message_size(ctx.max_request_bytes);
            routes.add_service(InterceptedService::new(server, ctx.auth_interceptor()));
            almo_server::consumer::spawn(ctx, lifecycle::CONSUMER, |db| async move {
                lifecycle::consume(&db).await
            });
        }),
    }
}
