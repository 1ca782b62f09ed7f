//! `almo.directory.v1.DirectoryService`: decode -> check caller -> domain -> storage -> reply.
//! This file is the table of RPCs; each handler lives with its resource (`organisations`,
//! `lifecycle`, `hand_back`, `events`, `peer_groups`), conversions in `convert`.

mod convert;
mod events;
mod hand_back;
mod lifecycle;
mod organisations;
mod peer_groups;

use almo_proto::directory::directory_service_server::DirectoryService;
use almo_proto::directory::{
    CreatePeerGroupRequest, CreatePeerGroupResponse, GetOrganisationRequest,
    GetOrganisationResponse, ListOrganisationsRequest, ListOrganisationsResponse,
    ListPeerGroupsRequest, ListPeerGroupsResponse, RecordOptionsReviewRequest,
    RecordOptionsReviewResponse, RegisterAlmoRequest, RegisterAlmoResponse, RegisterCouncilRequest,
    RegisterCouncilResponse, UpdateAlmoLifecycleRequest, UpdateAlmoLifecycleResponse,
    WatchLifecycleEventsRequest, WhoAmIRequest, WhoAmIResponse,
};
use almo_server::{AppError, ServiceContext};
use tonic::{Request, Response, Status};

pub use convert::organisation_to_proto;

pub const SERVICE_NAME: &str = "almo.directory.v1.DirectoryService";

#[derive(Clone)]
pub struct Directory {
    ctx: ServiceContext,
    /// How often a caught-up lifecycle watch looks without a wake-up (`ALMO_WATCH_POLL_MS`).
    watch_poll: std::time::Duration,
}

impl Directory {
    pub fn new(ctx: ServiceContext) -> Self {
        Self {
            ctx,
            watch_poll: almo_db::notify::poll_interval_from_env(),
        }
    }
}

fn reply<T>(r: Result<T, AppError>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl DirectoryService for Directory {
    async fn who_am_i(
        &self,
        r: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIResponse>, Status> {
        reply(self.who_am_i(r).await)
    }

    async fn get_organisation(
        &self,
        r: Request<GetOrganisationRequest>,
    ) -> Result<Response<GetOrganisationResponse>, Status> {
        reply(self.get_organisation(r).await)
    }

    async fn list_organisations(
        &self,
        r: Request<ListOrganisationsRequest>,
    ) -> Result<Response<ListOrganisationsResponse>, Status> {
        reply(self.list_organisations(r).await)
    }

    async fn register_council(
        &self,
        r: Request<RegisterCouncilRequest>,
    ) -> Result<Response<RegisterCouncilResponse>, Status> {
        reply(self.register_council(r).await)
    }

    async fn register_almo(
        &self,
        r: Request<RegisterAlmoRequest>,
    ) -> Result<Response<RegisterAlmoResponse>, Status> {
        reply(self.register_almo(r).await)
    }

    async fn update_almo_lifecycle(
        &self,
        r: Request<UpdateAlmoLifecycleRequest>,
    ) -> Result<Response<UpdateAlmoLifecycleResponse>, Status> {
        reply(self.update_almo_lifecycle(r).await)
    }

    async fn record_options_review(
        &self,
        r: Request<RecordOptionsReviewRequest>,
    ) -> Result<Response<RecordOptionsReviewResponse>, Status> {
        reply(self.record_options_review(r).await)
    }

    type WatchLifecycleEventsStream = events::LifecycleStream;

    async fn watch_lifecycle_events(
        &self,
        r: Request<WatchLifecycleEventsRequest>,
    ) -> Result<Response<Self::WatchLifecycleEventsStream>, Status> {
        reply(self.watch_lifecycle_events(r).await)
    }

    async fn create_peer_group(
        &self,
        r: Request<CreatePeerGroupRequest>,
    ) -> Result<Response<CreatePeerGroupResponse>, Status> {
        reply(self.create_peer_group(r).await)
    }

    async fn list_peer_groups(
        &self,
        r: Request<ListPeerGroupsRequest>,
    ) -> Result<Response<ListPeerGroupsResponse>, Status> {
        reply(self.list_peer_groups(r).await)
    }
}
