//! `almo.sla_charging.v1.SlaChargingService`: decode -> check caller -> domain -> storage -> reply.
//!
//! This file is the table of RPCs: each one delegates to its handler in the file of its resource
//! (`agreements.rs`, `usage.rs`, `service_levels.rs`, `billing_runs.rs`, `invoices.rs`,
//! `disputes.rs`, `value_for_money.rs`, `feed.rs`). Conversions are in `convert.rs`, who may see
//! what in `access.rs`, domain refusals in `refusals.rs`.

mod access;
mod agreements;
mod billing_runs;
mod convert;
mod disputes;
mod feed;
pub(crate) mod flight;
mod invoices;
mod refusals;
mod service_levels;
mod usage;
mod value_for_money;

use almo_db::Begun;
use almo_fields as fields;
use almo_proto::sla_charging as pb;
use almo_proto::sla_charging::sla_charging_service_server::SlaChargingService;
use almo_server::{AppError, Principal, ServiceContext};
use sea_orm::DatabaseTransaction;
use tonic::{Request, Response, Status, Streaming};

pub const SERVICE_NAME: &str = "almo.sla_charging.v1.SlaChargingService";

#[derive(Clone)]
pub struct SlaCharging {
    ctx: ServiceContext,
}

impl SlaCharging {
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }

    /// One idempotent, audited write (AIP-155). A repeated request id replays the first answer
    /// and writes nothing; otherwise `body` writes through the transaction and returns the answer
    /// with the resource it changed, and the audit row, the answer to replay and the change are
    /// committed together. An error from `body` rolls everything back, the request id included.
    async fn write<R: prost::Message + Default>(
        &self,
        p: &Principal,
        method: &str,
        request_id: &str,
        payload: &impl prost::Message,
        body: impl AsyncFnOnce(&DatabaseTransaction) -> Result<(R, String), AppError>,
    ) -> Result<R, AppError> {
        let ctx = p.call_context(SERVICE_NAME, method, request_id);
        let write = match self.ctx.db.begin_idempotent(&ctx, payload).await? {
            Begun::Replay(answer) => return Ok(answer),
            Begun::Fresh(write) => write,
        };
        // The body's row locks are checked against the one order (`almo_db::lock`).
        let (answer, target) = almo_db::lock::ordered(body(write.txn())).await?;
        write.finish(&answer, &target).await?;
        Ok(answer)
    }
}

/// A change is based on the row as the caller read it (AIP-154): the etag sent must be the
/// stored row's.
fn check_etag(sent: &str, row_version: i64, resource: &str) -> Result<(), AppError> {
    if fields::etag(row_version) == sent.trim() {
        Ok(())
    } else {
        Err(AppError::stale_etag(resource))
    }
}

fn reply<T>(answer: Result<T, AppError>) -> Result<Response<T>, Status> {
    answer.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl SlaChargingService for SlaCharging {
    async fn create_agreement(
        &self,
        r: Request<pb::CreateAgreementRequest>,
    ) -> Result<Response<pb::CreateAgreementResponse>, Status> {
        reply(self.create_agreement(r).await)
    }

    async fn agree_agreement_version(
        &self,
        r: Request<pb::AgreeAgreementVersionRequest>,
    ) -> Result<Response<pb::AgreeAgreementVersionResponse>, Status> {
        reply(self.agree_agreement_version(r).await)
    }

    async fn vary_agreement(
        &self,
        r: Request<pb::VaryAgreementRequest>,
    ) -> Result<Response<pb::VaryAgreementResponse>, Status> {
        reply(self.vary_agreement(r).await)
    }

    async fn get_agreement(
        &self,
        r: Request<pb::GetAgreementRequest>,
    ) -> Result<Response<pb::GetAgreementResponse>, Status> {
        reply(self.get_agreement(r).await)
    }

    async fn list_agreements(
        &self,
        r: Request<pb::ListAgreementsRequest>,
    ) -> Result<Response<pb::ListAgreementsResponse>, Status> {
        reply(self.list_agreements(r).await)
    }

    async fn record_usage(
        &self,
        r: Request<pb::RecordUsageRequest>,
    ) -> Result<Response<pb::RecordUsageResponse>, Status> {
        reply(self.record_usage(r).await)
    }

    async fn bulk_record_usage(
        &self,
        r: Request<Streaming<pb::BulkRecordUsageRequest>>,
    ) -> Result<Response<pb::BulkRecordUsageResponse>, Status> {
        let p = self.ctx.principal(&r).await?;
        access::visibility(&p)?;
        // The stream's own errors (a client that hangs up, a bad message) pass through as they are.
        let all = usage::gather(r.into_inner()).await?;
        reply(self.bulk_record_usage(&p, all).await)
    }

    async fn record_service_level_result(
        &self,
        r: Request<pb::RecordServiceLevelResultRequest>,
    ) -> Result<Response<pb::RecordServiceLevelResultResponse>, Status> {
        reply(self.record_service_level_result(r).await)
    }

    async fn run_billing(
        &self,
        r: Request<pb::RunBillingRequest>,
    ) -> Result<Response<pb::RunBillingResponse>, Status> {
        reply(self.run_billing(r).await)
    }

    async fn issue_invoice(
        &self,
        r: Request<pb::IssueInvoiceRequest>,
    ) -> Result<Response<pb::IssueInvoiceResponse>, Status> {
        reply(self.issue_invoice(r).await)
    }

    async fn get_invoice(
        &self,
        r: Request<pb::GetInvoiceRequest>,
    ) -> Result<Response<pb::GetInvoiceResponse>, Status> {
        reply(self.get_invoice(r).await)
    }

    async fn list_invoices(
        &self,
        r: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        reply(self.list_invoices(r).await)
    }

    async fn create_credit_note(
        &self,
        r: Request<pb::CreateCreditNoteRequest>,
    ) -> Result<Response<pb::CreateCreditNoteResponse>, Status> {
        reply(self.create_credit_note(r).await)
    }

    async fn dispute_invoice_line(
        &self,
        r: Request<pb::DisputeInvoiceLineRequest>,
    ) -> Result<Response<pb::DisputeInvoiceLineResponse>, Status> {
        reply(self.dispute_invoice_line(r).await)
    }

    async fn resolve_dispute(
        &self,
        r: Request<pb::ResolveDisputeRequest>,
    ) -> Result<Response<pb::ResolveDisputeResponse>, Status> {
        reply(self.resolve_dispute(r).await)
    }

    async fn list_disputes(
        &self,
        r: Request<pb::ListDisputesRequest>,
    ) -> Result<Response<pb::ListDisputesResponse>, Status> {
        reply(self.list_disputes(r).await)
    }

    async fn get_value_for_money(
        &self,
        r: Request<pb::GetValueForMoneyRequest>,
    ) -> Result<Response<pb::GetValueForMoneyResponse>, Status> {
        reply(self.get_value_for_money(r).await)
    }

    type ExportInvoicesStream = feed::ExportStream;

    async fn export_invoices(
        &self,
        r: Request<pb::ExportInvoicesRequest>,
    ) -> Result<Response<Self::ExportInvoicesStream>, Status> {
        reply(self.export_invoices(r).await)
    }
}
