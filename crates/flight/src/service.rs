//! The `FlightService` implementation: reads only (no DoPut, DoExchange or actions).

use std::sync::Arc;

use almo_server::{AppError, Principal, ServiceContext};
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_descriptor::DescriptorType;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult,
};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status, Streaming};

use crate::{Dataset, Ticket};

/// The Flight service's gRPC name.
pub const SERVICE_NAME: &str = "arrow.flight.protocol.FlightService";

type Stream<T> = BoxStream<'static, Result<T, Status>>;

/// The Flight service over a set of datasets.
#[derive(Clone)]
pub struct Flight {
    ctx: ServiceContext,
    datasets: Arc<Vec<Arc<dyn Dataset>>>,
}

impl Flight {
    pub fn new(ctx: ServiceContext, datasets: Vec<Arc<dyn Dataset>>) -> Self {
        Self {
            ctx,
            datasets: Arc::new(datasets),
        }
    }

    /// The server behind the suite's authentication, as every other service is.
    pub fn into_server(
        self,
    ) -> InterceptedService<FlightServiceServer<Flight>, almo_server::AuthInterceptor> {
        let interceptor = self.ctx.auth_interceptor();
        let limit = self.ctx.max_request_bytes;
        let server = FlightServiceServer::new(self).max_decoding_message_size(limit);
        InterceptedService::new(server, interceptor)
    }

    /// The dataset `ticket` names, if the caller may read it, with the ticket's keys checked.
    fn dataset(&self, p: &Principal, ticket: &Ticket) -> Result<Arc<dyn Dataset>, AppError> {
        let d = self
            .datasets
            .iter()
            .find(|d| d.name() == ticket.dataset)
            .ok_or_else(|| {
                let names: Vec<&str> = self.datasets.iter().map(|d| d.name()).collect();
                AppError::NotFound(format!(
                    "no dataset {} here (there are: {})",
                    almo_fields::quote(&ticket.dataset),
                    names.join(", ")
                ))
            })?;
        if !d.allowed(p) {
            return Err(AppError::PermissionDenied(format!(
                "{} may not read {}",
                p.org.id,
                d.name()
            )));
        }
        ticket.check_keys(d.filters())?;
        Ok(d.clone())
    }

    async fn info(&self, p: &Principal, ticket: &Ticket) -> Result<FlightInfo, AppError> {
        let d = self.dataset(p, ticket)?;
        let rows = d.count(p, ticket).await?;
        let bytes = ticket.to_bytes();
        flight_info(&*d, FlightDescriptor::new_cmd(bytes.clone())).map(|info| {
            info.with_total_records(rows as i64)
                .with_endpoint(FlightEndpoint::new().with_ticket(arrow_flight::Ticket::new(bytes)))
        })
    }
}

fn flight_info(d: &dyn Dataset, descriptor: FlightDescriptor) -> Result<FlightInfo, AppError> {
    FlightInfo::new()
        .try_with_schema(&d.schema())
        .map(|i| i.with_descriptor(descriptor).with_ordered(true))
        .map_err(|e| AppError::Internal(format!("encoding the schema of {}: {e}", d.name())))
}

/// The command a descriptor carries (Flight's path descriptors are not used here).
fn command(descriptor: &FlightDescriptor) -> Result<Ticket, AppError> {
    if descriptor.r#type() != DescriptorType::Cmd {
        return Err(AppError::invalid(
            "type",
            "CMD, with the JSON ticket as cmd (path descriptors are not used)",
        ));
    }
    Ticket::parse(&descriptor.cmd, "cmd")
}

fn unsupported<T>(what: &str) -> Result<T, Status> {
    Err(AppError::Unimplemented(format!(
        "{what}: this Flight endpoint only reads (ListFlights, GetFlightInfo, GetSchema, DoGet)"
    ))
    .into())
}

/// A failure while encoding the batches: a refusal made below passes as it is, anything else is
/// internal (with its `ErrorInfo`, as every error).
fn encoding_status(e: FlightError) -> Status {
    match e {
        FlightError::Tonic(s) => *s,
        other => AppError::Internal(format!("encoding Flight data: {other}")).into(),
    }
}

#[tonic::async_trait]
impl FlightService for Flight {
    type HandshakeStream = Stream<HandshakeResponse>;
    type ListFlightsStream = Stream<FlightInfo>;
    type DoGetStream = Stream<FlightData>;
    type DoPutStream = Stream<PutResult>;
    type DoExchangeStream = Stream<FlightData>;
    type DoActionStream = Stream<arrow_flight::Result>;
    type ListActionsStream = Stream<ActionType>;

    async fn handshake(
        &self,
        _: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        // The bearer token on every call is the authentication; there is nothing to exchange.
        Ok(Response::new(stream::empty().boxed()))
    }

    async fn list_flights(
        &self,
        request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        let p = self.ctx.principal(&request).await?;
        let mut infos = Vec::new();
        for d in self.datasets.iter().filter(|d| d.allowed(&p)) {
            let cmd = Ticket::new(d.name()).to_bytes();
            infos.push(Ok(flight_info(&**d, FlightDescriptor::new_cmd(cmd))?));
        }
        Ok(Response::new(stream::iter(infos).boxed()))
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let p = self.ctx.principal(&request).await?;
        let ticket = command(request.get_ref())?;
        Ok(Response::new(self.info(&p, &ticket).await?))
    }

    async fn poll_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        let p = self.ctx.principal(&request).await?;
        let ticket = command(request.get_ref())?;
        let info = self.info(&p, &ticket).await?;
        Ok(Response::new(
            PollInfo::new()
                .with_info(info)
                .with_descriptor(request.into_inner()),
        ))
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        let p = self.ctx.principal(&request).await?;
        let ticket = command(request.get_ref())?;
        let d = self.dataset(&p, &ticket)?;
        let info = flight_info(&*d, request.into_inner())?;
        Ok(Response::new(SchemaResult {
            schema: info.schema,
        }))
    }

    async fn do_get(
        &self,
        request: Request<arrow_flight::Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let p = self.ctx.principal(&request).await?;
        let ticket = Ticket::parse(&request.get_ref().ticket, "ticket")?;
        let d = self.dataset(&p, &ticket)?;
        let batches = d
            .stream(&p, &ticket)
            .await?
            .map_err(|e| FlightError::Tonic(Box::new(Status::from(e))));
        let data = FlightDataEncoderBuilder::new()
            .with_schema(d.schema())
            .build(batches)
            .map_err(encoding_status);
        Ok(Response::new(data.boxed()))
    }

    async fn do_put(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        unsupported("DoPut")
    }

    async fn do_exchange(
        &self,
        _: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        unsupported("DoExchange")
    }

    async fn do_action(
        &self,
        _: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        unsupported("DoAction")
    }

    async fn list_actions(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        Ok(Response::new(stream::empty().boxed()))
    }
}
