//! Commands of the `almo` binary for inspection scheduling (`almo inspections ...`), as a client of
//! a running server.

use almo_proto::inspection::export_calendar_request::Owner;
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::inspection::{
    self as pb, CancelInspectionRequest, ExportCalendarRequest, GetInspectionRequest,
    MoveInspectionRequest, ReplaceTeamMemberRequest,
};
use anyhow::Context;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

/// Whose calendar to export.
#[derive(Debug, Clone)]
pub enum CalendarOwner {
    Almo(String),
    Inspector(String),
}

/// The server to call and the bearer token to call it with.
#[derive(Debug, Clone)]
pub struct Server {
    /// e.g. `http://127.0.0.1:50051`.
    pub addr: String,
    pub token: String,
}

impl Server {
    async fn client(&self) -> anyhow::Result<InspectionSchedulingServiceClient<Channel>> {
        let channel = Endpoint::from_shared(self.addr.clone())
            .with_context(|| format!("{:?} is not a server address", self.addr))?
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("cannot reach {}", self.addr))?;
        Ok(InspectionSchedulingServiceClient::new(channel))
    }

    fn request<T>(&self, msg: T) -> anyhow::Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(msg);
        let bearer: MetadataValue<_> = format!("Bearer {}", self.token.trim())
            .parse()
            .context("the token is not valid header text")?;
        request.metadata_mut().insert("authorization", bearer);
        Ok(request)
    }

    /// The etag to send: the one given, or the inspection's current one.
    async fn etag(
        &self,
        client: &mut InspectionSchedulingServiceClient<Channel>,
        inspection_id: &str,
        given: Option<&str>,
    ) -> anyhow::Result<String> {
        if let Some(e) = given {
            return Ok(e.to_string());
        }
        let current = client
            .get_inspection(self.request(GetInspectionRequest {
                inspection_id: inspection_id.to_string(),
            })?)
            .await
            .map_err(describe)?;
        Ok(current
            .into_inner()
            .inspection
            .map(|i| i.etag)
            .unwrap_or_default())
    }
}

/// A refusal as the server gave it: the code, the rule's code, the message, each bad field.
fn describe(s: tonic::Status) -> anyhow::Error {
    let details = s.get_error_details();
    let mut msg = format!("{:?}", s.code());
    if let Some(info) = details.error_info() {
        msg.push_str(&format!(" ({})", info.reason));
    }
    msg.push_str(&format!(": {}", s.message()));
    if let Some(bad) = details.bad_request() {
        for v in &bad.field_violations {
            msg.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    anyhow::anyhow!(msg)
}

fn team(i: &pb::Inspection) -> String {
    i.team
        .iter()
        .map(|m| m.inspector_id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn stored(i: Option<pb::Inspection>) -> anyhow::Result<pb::Inspection> {
    i.context("the server replied without the inspection")
}

/// Fetches an iCalendar of one ALMO's or one inspector's inspections from the server at `addr`
/// (e.g. `http://127.0.0.1:50051`), calling with the bearer `token`.
pub async fn calendar(addr: &str, token: &str, owner: CalendarOwner) -> anyhow::Result<String> {
    let server = Server {
        addr: addr.to_string(),
        token: token.to_string(),
    };
    let mut client = server.client().await?;
    let request = server.request(ExportCalendarRequest {
        owner: Some(match owner {
            CalendarOwner::Almo(a) => Owner::AlmoId(a),
            CalendarOwner::Inspector(i) => Owner::InspectorId(i),
        }),
    })?;
    let reply = client.export_calendar(request).await.map_err(describe)?;
    Ok(reply.into_inner().calendar)
}

/// Moves a booking to the week of `monday`, with `team` (empty: the team as booked). Without an
/// etag the inspection's current one is sent. Returns one line saying what changed.
pub async fn move_inspection(
    server: &Server,
    inspection_id: &str,
    monday: &str,
    team_ids: &[String],
    etag: Option<&str>,
    request_id: &str,
) -> anyhow::Result<String> {
    let mut client = server.client().await?;
    let etag = server.etag(&mut client, inspection_id, etag).await?;
    let moved = client
        .move_inspection(server.request(MoveInspectionRequest {
            request_id: request_id.to_string(),
            inspection_id: inspection_id.to_string(),
            on_site_start_date: monday.to_string(),
            team_inspector_ids: team_ids.to_vec(),
            etag,
        })?)
        .await
        .map_err(describe)?;
    let i = stored(moved.into_inner().inspection)?;
    Ok(format!(
        "moved {} to the week of {}, team {} (etag {})",
        i.inspection_id,
        i.on_site_start_date,
        team(&i),
        i.etag
    ))
}

/// Cancels a booking, giving the reason. Returns one line saying what changed.
pub async fn cancel_inspection(
    server: &Server,
    inspection_id: &str,
    reason: &str,
    etag: Option<&str>,
    request_id: &str,
) -> anyhow::Result<String> {
    let mut client = server.client().await?;
    let etag = server.etag(&mut client, inspection_id, etag).await?;
    let cancelled = client
        .cancel_inspection(server.request(CancelInspectionRequest {
            request_id: request_id.to_string(),
            inspection_id: inspection_id.to_string(),
            etag,
            reason: reason.to_string(),
        })?)
        .await
        .map_err(describe)?;
    let i = stored(cancelled.into_inner().inspection)?;
    let why = i.cancellation.map(|c| c.reason).unwrap_or_default();
    Ok(format!(
        "cancelled {} (week of {}): {why} (etag {})",
        i.inspection_id, i.on_site_start_date, i.etag
    ))
}

/// Replaces one member of a booking's team for the same week. Returns one line saying what
/// changed.
pub async fn replace_team_member(
    server: &Server,
    inspection_id: &str,
    leaving: &str,
    joining: &str,
    etag: Option<&str>,
    request_id: &str,
) -> anyhow::Result<String> {
    let mut client = server.client().await?;
    let etag = server.etag(&mut client, inspection_id, etag).await?;
    let replaced = client
        .replace_team_member(server.request(ReplaceTeamMemberRequest {
            request_id: request_id.to_string(),
            inspection_id: inspection_id.to_string(),
            leaving_inspector_id: leaving.to_string(),
            joining_inspector_id: joining.to_string(),
            etag,
        })?)
        .await
        .map_err(describe)?;
    let i = stored(replaced.into_inner().inspection)?;
    Ok(format!(
        "replaced {leaving} with {joining} on {}, week of {} (etag {})",
        i.inspection_id, i.on_site_start_date, i.etag
    ))
}
