//! Arrow Flight for bulk reads (`arrow.flight.protocol.FlightService`), on the same port, TLS and
//! bearer token as every other service: `ListFlights` lists the datasets the caller may read,
//! `GetFlightInfo` describes one (schema, rows for the ticket's filters), `DoGet` streams it as
//! Arrow record batches. Each service provides its own [`Dataset`]s; this crate only carries them.
//!
//! A ticket (and a command descriptor's `cmd`) is a JSON object: see [`Ticket`].

mod download;
mod parquet_file;
mod service;
mod ticket;

use std::sync::Arc;

use almo_server::{AppError, Principal, ServiceContext, ServiceMount};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::stream::BoxStream;

pub use download::parquet_of;
pub use parquet_file::ParquetFile;
pub use service::{Flight, SERVICE_NAME};
pub use ticket::Ticket;

/// Rows per record batch a dataset streams.
pub const BATCH_ROWS: usize = 8192;

/// Record batches as they are read.
pub type Batches = BoxStream<'static, Result<RecordBatch, AppError>>;

/// One dataset: a name, a fixed schema, who may read it, and its rows for a ticket's filters,
/// read with the same access rules as the service's own gRPC reads.
#[tonic::async_trait]
pub trait Dataset: Send + Sync + 'static {
    /// The name in tickets, e.g. `pi.values`.
    fn name(&self) -> &'static str;
    fn schema(&self) -> SchemaRef;
    /// The ticket keys it takes besides `dataset`.
    fn filters(&self) -> &'static [&'static str];
    /// Whether the caller may read it at all (ListFlights shows only those).
    fn allowed(&self, p: &Principal) -> bool;
    /// How many rows `ticket` selects for the caller.
    async fn count(&self, p: &Principal, ticket: &Ticket) -> Result<u64, AppError>;
    /// The rows `ticket` selects for the caller, in batches of about [`BATCH_ROWS`].
    async fn stream(&self, p: &Principal, ticket: &Ticket) -> Result<Batches, AppError>;
}

/// The datasets a service provides, given the context it is mounted in.
pub type Provider = fn(&ServiceContext) -> Vec<Arc<dyn Dataset>>;

/// The Flight service carrying the datasets of `providers`, ready to mount next to the services
/// that provide them.
pub fn mount(providers: Vec<Provider>) -> ServiceMount {
    ServiceMount {
        name: SERVICE_NAME,
        add: Box::new(move |ctx: &ServiceContext, routes| {
            let datasets = providers.iter().flat_map(|p| p(ctx)).collect();
            routes.add_service(Flight::new(ctx.clone(), datasets).into_server());
        }),
    }
}
