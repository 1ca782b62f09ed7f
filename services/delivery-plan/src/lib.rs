//! `almo.delivery_plan.v1.DeliveryPlanService` (DOMAIN.md §1): the Delivery Plan a council agrees
//! with its ALMO, versioned and amended only by joint agreement; variances reported against it,
//! one by one or pushed in bulk; on track / at risk / off track for every target and period, with
//! an exception when a target stays off track; the Decent Homes countdown.

pub mod cli;
pub mod demo;
pub mod domain;
mod grpc;
pub mod plan_file;
mod storage;

use almo_proto::delivery_plan::delivery_plan_service_server::DeliveryPlanServiceServer;
use almo_server::{ServiceContext, ServiceMount};
use tonic::service::interceptor::InterceptedService;

pub use grpc::{DeliveryPlans, SERVICE_NAME};

/// The delivery-plan service, ready to mount.
pub fn mount() -> ServiceMount {
    ServiceMount {
        name: SERVICE_NAME,
        add: Box::new(|ctx: &ServiceContext, routes| {
            let server = DeliveryPlanServiceServer::new(DeliveryPlans::new(ctx.clone()))
                .max_decoding_message_size(ctx.max_request_bytes);
            routes.add_service(InterceptedService::new(server, ctx.auth_interceptor()));
        }),
    }
}
