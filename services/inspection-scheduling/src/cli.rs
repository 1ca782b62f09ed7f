//! Commands of the `almo` binary for inspection scheduling (`almo inspections ...`), as a client of
//! a running server: the server and token come as an [`almo_client::Target`] (`--addr`/`ALMO_ADDR`,
//! `--token`/`ALMO_TOKEN`), a refusal is printed as [`almo_client::refusal`] gives it.

use almo_client::refusal;
use almo_proto::inspection::export_calendar_request::Owner;
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::inspection::{
    self as pb, CancelInspectionRequest, ExportCalendarRequest, GetInspectionRequest,
    MoveInspectionRequest, ReplaceTeamMemberRequest,
};
use anyhow::Context;
use tonic::transport::Channel;

pub use almo_client::Target;

/// The server to call and the bearer token to call it with: [`Target`], by its earlier name.
pub type Server = Target;

type Client = InspectionSchedulingServiceClient<Channel>;

/// Whose calendar to export.
#[derive(Debug, Clone)]
pub enum CalendarOwner {
    Almo(String),
    Inspector(String),
}

async fn client(target: &Target) -> anyhow::Result<Client> {
    Ok(InspectionSchedulingServiceClient::new(
        target.channel().await?,
    ))
}

/// The etag to send: the one given, or the inspection's current one.
async fn etag(
    target: &Target,
    client: &mut Client,
    inspection_id: &str,
    given: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(e) = given {
        return Ok(e.to_string());
    }
    let current = client
        .get_inspection(target.request(GetInspectionRequest {
            inspection_id: inspection_id.to_string(),
        })?)
        .await
        .map_err(refusal)?;
    Ok(current
        .into_inner()
        .inspection
        .map(|i| i.etag)
        .unwrap_or_default())
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
/// (`host:port`, with or without `http://`), calling with the bearer `token`.
pub async fn calendar(addr: &str, token: &str, owner: CalendarOwner) -> anyhow::Result<String> {
    export_calendar(&Target::new(addr, token), owner).await
}

/// [`calendar`], from the server `target` names.
pub async fn export_calendar(target: &Target, owner: CalendarOwner) -> anyhow::Result<String> {
    let request = target.request(ExportCalendarRequest {
        owner: Some(match owner {
            CalendarOwner::Almo(a) => Owner::AlmoId(a),
            CalendarOwner::Inspector(i) => Owner::InspectorId(i),
        }),
    })?;
    let reply = client(target)
        .await?
        .export_calendar(request)
        .await
        .map_err(refusal)?;
    Ok(reply.into_inner().calendar)
}

/// Moves a booking to the week of `monday`, with `team` (empty: the team as booked). Without an
/// etag the inspection's current one is sent. Returns one line saying what changed.
pub async fn move_inspection(
    target: &Target,
    inspection_id: &str,
    monday: &str,
    team_ids: &[String],
    given_etag: Option<&str>,
    request_id: &str,
) -> anyhow::Result<String> {
    let mut client = client(target).await?;
    let etag = etag(target, &mut client, inspection_id, given_etag).await?;
    let moved = client
        .move_inspection(target.request(MoveInspectionRequest {
            request_id: request_id.to_string(),
            inspection_id: inspection_id.to_string(),
            on_site_start_date: monday.to_string(),
            team_inspector_ids: team_ids.to_vec(),
            etag,
        })?)
        .await
        .map_err(refusal)?;
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
    target: &Target,
    inspection_id: &str,
    reason: &str,
    given_etag: Option<&str>,
    request_id: &str,
) -> anyhow::Result<String> {
    let mut client = client(target).await?;
    let etag = etag(target, &mut client, inspection_id, given_etag).await?;
    let cancelled = client
        .cancel_inspection(target.request(CancelInspectionRequest {
            request_id: request_id.to_string(),
            inspection_id: inspection_id.to_string(),
            etag,
            reason: reason.to_string(),
        })?)
        .await
        .map_err(refusal)?;
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
    target: &Target,
    inspection_id: &str,
    leaving: &str,
    joining: &str,
    given_etag: Option<&str>,
    request_id: &str,
) -> anyhow::Result<String> {
    let mut client = client(target).await?;
    let etag = etag(target, &mut client, inspection_id, given_etag).await?;
    let replaced = client
        .replace_team_member(target.request(ReplaceTeamMemberRequest {
            request_id: request_id.to_string(),
            inspection_id: inspection_id.to_string(),
            leaving_inspector_id: leaving.to_string(),
            joining_inspector_id: joining.to_string(),
            etag,
        })?)
        .await
        .map_err(refusal)?;
    let i = stored(replaced.into_inner().inspection)?;
    Ok(format!(
        "replaced {leaving} with {joining} on {}, week of {} (etag {})",
        i.inspection_id, i.on_site_start_date, i.etag
    ))
}
