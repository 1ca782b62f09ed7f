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
    /// Wake-ups of lifecycle watches when an event commits on any replica.
    wakeups: std::sync::Arc<almo_db::notify::Wakeups>,
}

impl Directory {
    pub fn new(ctx: ServiceContext) -> Self {
        let poll = almo_db::notify::poll_interval_from_env();
        let wakeups = almo_db::notify::Wakeups::new(almo_db::lifecycle::TOPIC, poll);
        Self {
            ctx,
            wakeups: std::sync::Arc::new(wakeups),
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
