//! ALMO-managed against in-house (DOMAIN.md §3): placeholder.

use almo_proto::pi_returns as pb;
use almo_server::AppError;
use tonic::Request;

use super::PiReturns;

impl PiReturns {
    pub(super) async fn compare_management_models(
        &self,
        _request: Request<pb::CompareManagementModelsRequest>,
    ) -> Result<pb::CompareManagementModelsResponse, AppError> {
        Err(AppError::Unavailable("not yet".into()))
    }
}
