//! Commands of the `almo` binary for inspection scheduling (`almo inspections ...`), as a client of
//! a running server.

use almo_proto::inspection::ExportCalendarRequest;
use almo_proto::inspection::export_calendar_request::Owner;
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use anyhow::Context;
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;

/// Whose calendar to export.
#[derive(Debug, Clone)]
pub enum CalendarOwner {
    Almo(String),
    Inspector(String),
}

/// Fetches an iCalendar of one ALMO's or one inspector's inspections from the server at `addr`
/// (e.g. `http://127.0.0.1:50051`), calling with the bearer `token`.
pub async fn calendar(addr: &str, token: &str, owner: CalendarOwner) -> anyhow::Result<String> {
    let channel = Endpoint::from_shared(addr.to_string())
        .with_context(|| format!("{addr:?} is not a server address"))?
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    let mut client = InspectionSchedulingServiceClient::new(channel);
    let mut request = tonic::Request::new(ExportCalendarRequest {
        owner: Some(match owner {
            CalendarOwner::Almo(a) => Owner::AlmoId(a),
            CalendarOwner::Inspector(i) => Owner::InspectorId(i),
        }),
    });
    let bearer: MetadataValue<_> = format!("Bearer {}", token.trim())
        .parse()
        .context("the token is not valid header text")?;
    request.metadata_mut().insert("authorization", bearer);
    let reply = client
        .export_calendar(request)
        .await
        .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?;
    Ok(reply.into_inner().calendar)
}
