//! iCalendar export of one inspector's or one ALMO's inspections: the on-site week and each
//! later stage as all-day events, cancelled ones kept as cancelled so subscribers drop them.

use std::collections::HashMap;

use almo_db::entity::{insp_inspection, insp_team_member};
use almo_proto::inspection as pb;
use almo_proto::inspection::export_calendar_request::Owner;
use almo_server::AppError;
use chrono::Utc;
use tonic::Request;

use super::InspectionScheduling;
use super::access::require_inspectorate;
use super::convert::{actual_dates, planned_of, status_of};
use crate::domain::calendar::{CalendarEvent, ics};
use crate::domain::cancellation::InspectionStatus;
use crate::domain::lifecycle::Stage;
use crate::domain::on_site_week;
use crate::storage;
use almo_fields as fields;

/// The events of one inspection of `almo` (its name), led by the on-site week.
fn events_of(
    r: &insp_inspection::Model,
    almo: &str,
    teams: &[(insp_team_member::Model, String)],
) -> Vec<CalendarEvent> {
    let cancelled = status_of(r) == InspectionStatus::Cancelled;
    let marked = |summary: String| {
        if cancelled {
            format!("Cancelled: {summary}")
        } else {
            summary
        }
    };
    // Every change to the inspection is a new version; SEQUENCE follows it from 0 at booking so
    // a subscriber takes a move, a new team or a cancellation (RFC 5545 §3.8.7.4).
    let sequence = u32::try_from(r.version - 1).unwrap_or(0);
    let team: Vec<String> = teams
        .iter()
        .filter(|(m, _)| m.inspection_id == r.id)
        .map(|(m, n)| format!("{n} ({})", m.role))
        .collect();
    let mut description = format!(
        "Inspection {} of {almo} ({}). Team: {}. Fee estimate £{}.",
        r.id,
        r.almo_id,
        team.join(", "),
        fields::pounds(r.fee_pence)
    );
    if cancelled {
        description = format!(
            "Cancelled: {}. {description}",
            r.cancel_reason.as_deref().unwrap_or("no reason recorded")
        );
    }
    let week = on_site_week(r.on_site_date);
    let mut events = vec![CalendarEvent {
        uid: format!("{}-on-site@almo-exchange", r.id),
        summary: marked(format!("ALMO inspection on site: {almo}")),
        description: description.clone(),
        first_day: week.start,
        last_day: week.end,
        sequence,
        cancelled,
    }];
    let planned = planned_of(r);
    let actual = actual_dates(r);
    for (i, stage) in Stage::DATED.iter().enumerate().skip(1) {
        let (day, kind) = match actual[i] {
            Some(d) => (d, ""),
            None => (planned[i], " (planned)"),
        };
        events.push(CalendarEvent {
            uid: format!("{}-{}@almo-exchange", r.id, stage.label().replace(' ', "-")),
            summary: marked(format!("{almo}: {}{kind}", stage.label())),
            description: description.clone(),
            first_day: day,
            last_day: day,
            sequence,
            cancelled,
        });
    }
    events
}

impl InspectionScheduling {
    pub(super) async fn export_calendar(
        &self,
        request: Request<pb::ExportCalendarRequest>,
    ) -> Result<pb::ExportCalendarResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let conn = self.ctx.db.conn();
        let (name, rows) = match &request.get_ref().owner {
            Some(Owner::InspectorId(id)) if !id.trim().is_empty() => {
                require_inspectorate(&p, "export an inspector's calendar")?;
                let who = storage::inspector(conn, id.trim())
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("no inspector {id:?}")))?;
                (
                    format!("ALMO inspections: {}", who.name),
                    storage::inspections_of_inspector(conn, &who.id).await?,
                )
            }
            Some(Owner::AlmoId(id)) if !id.trim().is_empty() => {
                let almo = self.readable_almo(&p, id.trim()).await?;
                (
                    format!("Inspections of {}", almo.name),
                    storage::inspections_of_almo(conn, &almo.id).await?,
                )
            }
            _ => {
                return Err(AppError::invalid(
                    "owner",
                    "required: inspector_id or almo_id",
                ));
            }
        };
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let teams = storage::teams(conn, &ids).await?;
        let mut almo_names: HashMap<String, String> = HashMap::new();
        for r in &rows {
            if !almo_names.contains_key(&r.almo_id) {
                let n = storage::organisation(conn, &r.almo_id)
                    .await?
                    .map(|o| o.name)
                    .unwrap_or_else(|| r.almo_id.clone());
                almo_names.insert(r.almo_id.clone(), n);
            }
        }
        let events: Vec<CalendarEvent> = rows
            .iter()
            .flat_map(|r| events_of(r, &almo_names[&r.almo_id], &teams))
            .collect();
        Ok(pb::ExportCalendarResponse {
            content_type: "text/calendar; charset=utf-8".into(),
            event_count: events.len() as i32,
            calendar: ics(&name, &events, Utc::now()),
        })
    }
}
