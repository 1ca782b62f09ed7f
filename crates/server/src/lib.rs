//! What every service shares: typed configuration, the gRPC server with health, reflection,
//! limits, TLS and graceful shutdown, authentication of every call, the access resolver over the
//! directory, pagination, and the one mapping from errors to `tonic::Status`.

pub mod access;
pub mod almo_end;
mod binary;
pub mod config;
mod connection;
pub mod consumer;
pub mod error;
pub mod layer;
pub mod paging;
pub mod serve;
pub mod tls;

pub use access::{Access, Principal};
pub use binary::{service_main, service_main_with};
pub use config::{
    AuthArgs, ClientOrganisation, DEV_ISSUER, DEV_SECRET, DatabaseArgs, MigrateMode, ServerArgs,
    TlsArgs,
};
pub use error::{AppError, Violations};
pub use serve::{
    AuthInterceptor, Running, ServiceContext, ServiceMount, connect_context, healthcheck,
    run_until_signal, shutdown_signal, start,
};

use almo_auth::Caller;

/// The verified caller of a request (put there by [`AuthInterceptor`]).
pub fn caller<T>(req: &tonic::Request<T>) -> Result<Caller, AppError> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| AppError::Unauthenticated("no verified caller on this request".into()))
}

/// A stored time as the contracts' `google.protobuf.Timestamp`.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// The etag of a row at `version` (`v3`): what a change must send back.
pub fn etag(version: i64) -> String {
    almo_fields::etag(version)
}

/// The full gRPC method path, e.g. `/almo.directory.v1.DirectoryService/RegisterAlmo`.
pub fn method_path(service: &str, method: &str) -> String {
    format!("/{service}/{method}")
}
