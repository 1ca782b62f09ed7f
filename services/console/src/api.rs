//! The console's calls to the suite, each made with the signed-in user's own token: the
//! services decide what it may read or write, the console only shows their answer.

use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::directory::{WhoAmIRequest, WhoAmIResponse};
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use axum::http::StatusCode;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// A refused call: the gRPC code, the service's reason and every bad field it named.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: tonic::Code,
    pub message: String,
    /// (field, why), from the `BadRequest` details of an `INVALID_ARGUMENT`.
    pub fields: Vec<(String, String)>,
}

impl Refusal {
    /// The refusal as a form's errors: each bad field under the form field `target` names for
    /// it, or the whole message under `fallback` when the service named no field.
    pub fn form_errors(
        &self,
        fallback: &str,
        target: impl Fn(&str) -> &'static str,
    ) -> Vec<(String, String)> {
        if self.fields.is_empty() {
            return vec![(fallback.to_string(), self.message.clone())];
        }
        self.fields
            .iter()
            .map(|(f, why)| (target(f).to_string(), why.clone()))
            .collect()
    }

    pub fn http_status(&self) -> StatusCode {
        use tonic::Code::*;
        match self.code {
            InvalidArgument | FailedPrecondition | OutOfRange => StatusCode::BAD_REQUEST,
            Unauthenticated => StatusCode::UNAUTHORIZED,
            PermissionDenied => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            AlreadyExists | Aborted => StatusCode::CONFLICT,
            ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// A heading a person understands.
    pub fn title(&self) -> &'static str {
        use tonic::Code::*;
        match self.code {
            PermissionDenied => "You cannot see or change this",
            NotFound => "Not found",
            InvalidArgument | FailedPrecondition | OutOfRange => "There is a problem",
            Aborted => "Someone changed this since you opened the page",
            Unauthenticated => "You need to sign in again",
            Unavailable | DeadlineExceeded => "The service is not available",
            _ => "The service could not do this",
        }
    }
}

impl From<tonic::Status> for Refusal {
    fn from(s: tonic::Status) -> Self {
        let fields = s
            .get_details_bad_request()
            .map(|b| {
                b.field_violations
                    .into_iter()
                    .map(|v| (v.field, v.description))
                    .collect()
            })
            .unwrap_or_default();
        // A service's own refusal is shown as it says it; a failure of the connection or of the
        // server is for operators (logged here), never shown to the person at the page.
        let message = match s.code() {
            tonic::Code::Unavailable | tonic::Code::Unknown => {
                tracing::warn!(code = ?s.code(), message = s.message(), "the services cannot be reached");
                "The console cannot reach the services just now. Try again in a few minutes."
                    .to_string()
            }
            tonic::Code::Internal | tonic::Code::DataLoss => {
                tracing::warn!(code = ?s.code(), message = s.message(), "a service failed");
                "The service could not complete this. Try again; if it happens again, tell the \
                 operator."
                    .to_string()
            }
            tonic::Code::DeadlineExceeded => {
                "The service took too long to answer. Try again in a few minutes.".to_string()
            }
            _ => s.message().to_string(),
        };
        Refusal {
            code: s.code(),
            message,
            fields,
        }
    }
}

/// A connection to each service (one address for all under `almo up`).
#[derive(Clone)]
pub struct Channels {
    pub directory: Channel,
    pub delivery_plan: Channel,
    pub sla_charging: Channel,
    pub pi_returns: Channel,
    pub inspection: Channel,
}

/// The suite, as one user.
#[derive(Clone)]
pub struct Api {
    channels: Channels,
    token: String,
}

impl Api {
    pub fn new(channels: Channels, token: String) -> Self {
        Self { channels, token }
    }

    /// `msg` with this user's bearer token.
    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        if let Ok(v) = MetadataValue::try_from(format!("Bearer {}", self.token)) {
            r.metadata_mut().insert("authorization", v);
        }
        r
    }

    pub fn directory(&self) -> DirectoryServiceClient<Channel> {
        DirectoryServiceClient::new(self.channels.directory.clone())
    }

    pub fn plans(&self) -> DeliveryPlanServiceClient<Channel> {
        DeliveryPlanServiceClient::new(self.channels.delivery_plan.clone())
    }

    pub fn charging(&self) -> SlaChargingServiceClient<Channel> {
        SlaChargingServiceClient::new(self.channels.sla_charging.clone())
    }

    pub fn returns(&self) -> PiReturnsServiceClient<Channel> {
        PiReturnsServiceClient::new(self.channels.pi_returns.clone())
    }

    pub fn inspections(&self) -> InspectionSchedulingServiceClient<Channel> {
        InspectionSchedulingServiceClient::new(self.channels.inspection.clone())
    }

    pub async fn who_am_i(&self) -> Result<WhoAmIResponse, Refusal> {
        Ok(self
            .directory()
            .who_am_i(self.req(WhoAmIRequest {}))
            .await?
            .into_inner())
    }
}
