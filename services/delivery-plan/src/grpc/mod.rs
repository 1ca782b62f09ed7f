//! `almo.delivery_plan.v1.DeliveryPlanService`: decode -> check caller -> domain -> storage ->
//! reply. This file is the table of RPCs; each one's code is in the file of its resource:
//! `plans.rs`, `amendments.rs` (with capital re-profiles), `variances.rs` (record, push,
//! history), `status.rs`, `exceptions.rs` and `events.rs` (the watch). `write.rs` holds the one
//! idempotent write path and the etag check, `access.rs` who may see and change what, and
//! `convert/` the proto <-> domain conversions.

mod access;
mod amendments;
mod convert;
mod events;
mod exceptions;
pub(crate) mod flight;
mod plans;
mod status;
mod variances;
mod write;

use almo_proto::delivery_plan::delivery_plan_service_server::DeliveryPlanService;
use almo_proto::delivery_plan::{self as pb};
use almo_server::{AppError, ServiceContext};
use tonic::{Request, Response, Status, Streaming};

pub const SERVICE_NAME: &str = "almo.delivery_plan.v1.DeliveryPlanService";

#[derive(Clone)]
pub struct DeliveryPlans {
    ctx: ServiceContext,
    clock: crate::Clock,
    /// This replica's wake-ups for plan events (`almo_db::notify`), shared by its watches.
    wakeups: std::sync::Arc<almo_db::notify::Wakeups>,
}

impl DeliveryPlans {
    pub fn new(ctx: ServiceContext) -> Self {
        Self::with_clock(ctx, crate::Clock::London)
    }

    /// On `clock`, watches polling every `ALMO_WATCH_POLL_MS` as the fallback.
    pub fn with_clock(ctx: ServiceContext, clock: crate::Clock) -> Self {
        Self::with_watch_poll(ctx, clock, almo_db::notify::poll_interval_from_env())
    }

    /// On `clock`, watches polling every `poll` when no wake-up comes.
    pub fn with_watch_poll(
        ctx: ServiceContext,
        clock: crate::Clock,
        poll: std::time::Duration,
    ) -> Self {
        let wakeups = almo_db::notify::Wakeups::new(crate::storage::EVENTS_TOPIC, poll);
        Self {
            ctx,
            clock,
            wakeups: std::sync::Arc::new(wakeups),
        }
    }
}

/// A handler's answer as tonic sends it.
fn reply<T>(r: Result<T, AppError>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl DeliveryPlanService for DeliveryPlans {
    type WatchPlanEventsStream = events::EventStream;

    async fn watch_plan_events(
        &self,
        r: Request<pb::WatchPlanEventsRequest>,
    ) -> Result<Response<Self::WatchPlanEventsStream>, Status> {
        reply(self.watch_plan_events(r).await)
    }

    async fn create_plan(
        &self,
        r: Request<pb::CreatePlanRequest>,
    ) -> Result<Response<pb::CreatePlanResponse>, Status> {
        reply(self.create_plan(r).await)
    }

    async fn get_plan(
        &self,
        r: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::GetPlanResponse>, Status> {
        reply(self.get_plan(r).await)
    }

    async fn list_plans(
        &self,
        r: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        reply(self.list_plans(r).await)
    }

    async fn list_plan_versions(
        &self,
        r: Request<pb::ListPlanVersionsRequest>,
    ) -> Result<Response<pb::ListPlanVersionsResponse>, Status> {
        reply(self.list_plan_versions(r).await)
    }

    async fn propose_amendment(
        &self,
        r: Request<pb::ProposeAmendmentRequest>,
    ) -> Result<Response<pb::ProposeAmendmentResponse>, Status> {
        reply(self.propose_amendment(r).await)
    }

    async fn agree_amendment(
        &self,
        r: Request<pb::AgreeAmendmentRequest>,
    ) -> Result<Response<pb::AgreeAmendmentResponse>, Status> {
        reply(self.decide_amendment(r).await)
    }

    async fn reject_amendment(
        &self,
        r: Request<pb::RejectAmendmentRequest>,
    ) -> Result<Response<pb::RejectAmendmentResponse>, Status> {
        reply(self.decide_amendment(r).await)
    }

    async fn withdraw_amendment(
        &self,
        r: Request<pb::WithdrawAmendmentRequest>,
    ) -> Result<Response<pb::WithdrawAmendmentResponse>, Status> {
        reply(self.decide_amendment(r).await)
    }

    async fn reprofile_capital(
        &self,
        r: Request<pb::ReprofileCapitalRequest>,
    ) -> Result<Response<pb::ReprofileCapitalResponse>, Status> {
        reply(self.reprofile_capital(r).await)
    }

    async fn list_amendments(
        &self,
        r: Request<pb::ListAmendmentsRequest>,
    ) -> Result<Response<pb::ListAmendmentsResponse>, Status> {
        reply(self.list_amendments(r).await)
    }

    async fn record_variance(
        &self,
        r: Request<pb::RecordVarianceRequest>,
    ) -> Result<Response<pb::RecordVarianceResponse>, Status> {
        reply(self.record_variance(r).await)
    }

    /// The stream's own failures are transport `Status`es and pass through as they are.
    async fn push_variances(
        &self,
        r: Request<Streaming<pb::PushVariancesRequest>>,
    ) -> Result<Response<pb::PushVariancesResponse>, Status> {
        self.push_variances(r).await.map(Response::new)
    }

    async fn list_variance_history(
        &self,
        r: Request<pb::ListVarianceHistoryRequest>,
    ) -> Result<Response<pb::ListVarianceHistoryResponse>, Status> {
        reply(self.list_variance_history(r).await)
    }

    async fn get_plan_status(
        &self,
        r: Request<pb::GetPlanStatusRequest>,
    ) -> Result<Response<pb::GetPlanStatusResponse>, Status> {
        reply(self.get_plan_status(r).await)
    }

    async fn list_exceptions(
        &self,
        r: Request<pb::ListExceptionsRequest>,
    ) -> Result<Response<pb::ListExceptionsResponse>, Status> {
        reply(self.list_exceptions(r).await)
    }

    async fn submit_exception_report(
        &self,
        r: Request<pb::SubmitExceptionReportRequest>,
    ) -> Result<Response<pb::SubmitExceptionReportResponse>, Status> {
        reply(self.submit_exception_report(r).await)
    }

    async fn decide_exception_report(
        &self,
        r: Request<pb::DecideExceptionReportRequest>,
    ) -> Result<Response<pb::DecideExceptionReportResponse>, Status> {
        reply(self.decide_exception_report(r).await)
    }
}
