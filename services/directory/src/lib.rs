//! `almo.directory.v1.DirectoryService`: the reference data every service needs — councils
//! (type derived from the ONS code), ALMOs and their lifecycle, the regulator, the inspectorate
//! and benchmarking peer groups.

pub mod demo;
pub mod domain;
mod grpc;
mod storage;
mod storage_reviews;

use almo_proto::directory::directory_service_server::DirectoryServiceServer;
use almo_server::{ServiceContext, ServiceMount};
use tonic::service::interceptor::InterceptedService;

pub use grpc::{Directory, SERVICE_NAME, organisation_to_proto};

/// The directory service, ready to mount.
pub fn mount() -> ServiceMount {
    ServiceMount {
        name: SERVICE_NAME,
        add: Box::new(|ctx: &ServiceContext, routes| {
            let server = DirectoryServiceServer::new(Directory::new(ctx.clone()))
                .max_decoding_message_size(ctx.max_request_bytes);
            routes.add_service(InterceptedService::new(server, ctx.auth_interceptor()));
        }),
    }
}
