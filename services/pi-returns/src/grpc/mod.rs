//! `almo.pi_returns.v1.PiReturnsService`: decode -> check caller -> domain -> storage -> reply.
//!
//! This file is the table of RPCs; each is handled in the file of its resource:
//! `catalogue.rs` (indicators), `returns.rs` (a return's life: open, read, submit, sign off,
//! send back, revise), `values.rs` (setting figures and tenant surveys), `combined.rs` (a
//! council's combined figures), `benchmarks.rs` (quartiles), `comparison.rs` (ALMO-managed
//! against in-house), `query.rs` (query and export), `outstanding.rs` (who has yet to report). `access.rs` says who may do what, `change.rs` is the one idempotent,
//! etag-checked write of a return, `convert.rs` the proto <-> domain forms.

mod access;
mod benchmarks;
mod catalogue;
mod change;
mod combined;
mod comparison;
mod convert;
mod export;
pub(crate) mod flight;
mod import;
mod outstanding;
mod part_year;
mod query;
mod returns;
mod values;

use almo_proto::pi_returns::pi_returns_service_server::PiReturnsService;
use almo_proto::pi_returns::{self as pb};
use almo_server::{AppError, ServiceContext};
use tokio::sync::OnceCell;
use tonic::{Request, Response, Status};

use crate::domain::workflow::WorkflowError;

pub use convert::definition_to_proto;

pub const SERVICE_NAME: &str = "almo.pi_returns.v1.PiReturnsService";

#[derive(Clone)]
pub struct PiReturns {
    ctx: ServiceContext,
    /// The shipped catalogue is loaded once per process, on first use (idempotent across
    /// replicas: existing definitions are left alone).
    seeded: std::sync::Arc<OnceCell<()>>,
}

impl PiReturns {
    pub fn new(ctx: ServiceContext) -> Self {
        Self {
            ctx,
            seeded: std::sync::Arc::new(OnceCell::new()),
        }
    }
}

/// The one mapping of workflow refusals into the service's errors.
impl From<WorkflowError> for AppError {
    fn from(e: WorkflowError) -> Self {
        AppError::FailedPrecondition {
            reason: e.reason(),
            message: e.to_string(),
        }
    }
}

impl From<WorkflowError> for Status {
    fn from(e: WorkflowError) -> Self {
        AppError::from(e).into()
    }
}

/// A handler's answer as tonic wants it.
fn reply<T>(r: Result<T, AppError>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

type Rpc<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl PiReturnsService for PiReturns {
    async fn list_indicators(
        &self,
        r: Request<pb::ListIndicatorsRequest>,
    ) -> Rpc<pb::ListIndicatorsResponse> {
        reply(self.list_indicators(r).await)
    }

    async fn get_indicator(
        &self,
        r: Request<pb::GetIndicatorRequest>,
    ) -> Rpc<pb::GetIndicatorResponse> {
        reply(self.get_indicator(r).await)
    }

    async fn import_catalogue(
        &self,
        r: Request<pb::ImportCatalogueRequest>,
    ) -> Rpc<pb::ImportCatalogueResponse> {
        reply(self.import_catalogue(r).await)
    }

    async fn create_return(
        &self,
        r: Request<pb::CreateReturnRequest>,
    ) -> Rpc<pb::CreateReturnResponse> {
        reply(self.create_return(r).await)
    }

    async fn get_return(&self, r: Request<pb::GetReturnRequest>) -> Rpc<pb::GetReturnResponse> {
        reply(self.get_return(r).await)
    }

    async fn set_values(&self, r: Request<pb::SetValuesRequest>) -> Rpc<pb::SetValuesResponse> {
        reply(self.set_values(r).await)
    }

    async fn submit_return(
        &self,
        r: Request<pb::SubmitReturnRequest>,
    ) -> Rpc<pb::SubmitReturnResponse> {
        reply(self.submit_return(r).await)
    }

    async fn sign_off_return(
        &self,
        r: Request<pb::SignOffReturnRequest>,
    ) -> Rpc<pb::SignOffReturnResponse> {
        reply(self.sign_off_return(r).await)
    }

    async fn return_for_correction(
        &self,
        r: Request<pb::ReturnForCorrectionRequest>,
    ) -> Rpc<pb::ReturnForCorrectionResponse> {
        reply(self.return_for_correction(r).await)
    }

    async fn revise_return(
        &self,
        r: Request<pb::ReviseReturnRequest>,
    ) -> Rpc<pb::ReviseReturnResponse> {
        reply(self.revise_return(r).await)
    }

    async fn query_returns(
        &self,
        r: Request<pb::QueryReturnsRequest>,
    ) -> Rpc<pb::QueryReturnsResponse> {
        reply(self.query_returns(r).await)
    }

    async fn get_benchmark(
        &self,
        r: Request<pb::GetBenchmarkRequest>,
    ) -> Rpc<pb::GetBenchmarkResponse> {
        reply(self.get_benchmark(r).await)
    }

    async fn combine_almo_returns(
        &self,
        r: Request<pb::CombineAlmoReturnsRequest>,
    ) -> Rpc<pb::CombineAlmoReturnsResponse> {
        reply(self.combine_almo_returns(r).await)
    }

    type ExportReturnsStream = query::ExportStream;

    async fn export_returns(
        &self,
        r: Request<pb::ExportReturnsRequest>,
    ) -> Rpc<Self::ExportReturnsStream> {
        reply(self.export_returns(r).await)
    }

    async fn list_outstanding_returns(
        &self,
        r: Request<pb::ListOutstandingReturnsRequest>,
    ) -> Rpc<pb::ListOutstandingReturnsResponse> {
        reply(self.list_outstanding_returns(r).await)
    }

    async fn compare_management_models(
        &self,
        r: Request<pb::CompareManagementModelsRequest>,
    ) -> Rpc<pb::CompareManagementModelsResponse> {
        reply(self.compare_management_models(r).await)
    }

    async fn import_returns(
        &self,
        r: Request<tonic::Streaming<pb::ImportReturnsRequest>>,
    ) -> Rpc<pb::ImportReturnsResponse> {
        reply(self.import_returns(r).await)
    }
}
