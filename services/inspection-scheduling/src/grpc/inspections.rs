//! Inspections: booking one, reading them, and changing a booking not yet on site (a new team
//! member, a new week, or cancelling it).

use almo_db::entity::insp_inspection;
use almo_proto::inspection as pb;
use almo_server::{AppError, Violations};
use chrono::{Days, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use tonic::Request;

use super::access::{almo_row, require_inspectorate};
use super::convert::{
    good_and_promising, inspection_to_proto, late_of, status_from_proto, target_of,
};
use super::write::{
    changeable, check_change, inspection_reply, inspection_resource, reread, updated,
};
use super::{InspectionScheduling, next_page, required};
use crate::domain::cancellation::{InspectionStatus, cancellation_reason};
use crate::domain::fee::{ROUNDS_1_AND_2, fee_estimate};
use crate::domain::lifecycle::default_span_weeks;
use crate::domain::readiness::almo_rules;
use crate::domain::team::{Inspector, InspectorRole, team_rules};
use crate::domain::{is_monday, on_site_week};
use crate::error::{booking_conflict, refused};
use crate::storage;
use almo_fields as fields;

/// The Monday the team arrives on site.
fn monday(v: &mut Violations, s: &str) -> Option<NaiveDate> {
    let monday = v.field("on_site_start_date", fields::date(s));
    if let Some(m) = monday {
        v.check(
            !is_monday(m),
            "on_site_start_date",
            "the team arrives on a Monday",
        );
    }
    monday
}

/// A team's inspector ids, trimmed and sorted: none twice, at most 20.
fn team_ids(v: &mut Violations, ids: &[String]) -> Vec<String> {
    let mut team: Vec<String> = ids.iter().map(|i| i.trim().to_string()).collect();
    team.sort();
    let before = team.len();
    team.dedup();
    v.check(
        team.len() != before,
        "team_inspector_ids",
        "lists an inspector twice",
    );
    v.check(team.len() > 20, "team_inspector_ids", "at most 20");
    team
}

/// Refuses ids in `wanted` that `staff` does not hold, naming them as `field`.
fn all_known(
    wanted: &[String],
    staff: &[storage::StaffMember],
    field: &str,
) -> Result<(), AppError> {
    let unknown: Vec<&String> = wanted
        .iter()
        .filter(|id| !staff.iter().any(|m| &m.row.id == *id))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            format!("no inspector {unknown:?}"),
        ))
    }
}

/// The team of inspection `id` as stored.
async fn team_of(txn: &impl ConnectionTrait, id: &str) -> Result<Vec<String>, AppError> {
    Ok(storage::teams(txn, &[id.to_string()])
        .await?
        .into_iter()
        .map(|(m, _)| m.inspector_id)
        .collect())
}

/// The team `team_ids` for `current` in the week of `monday`, checked against every team hard
/// rule (and, when the week moves, every readiness rule), the booking's own week excluded.
async fn checked_team(
    txn: &impl ConnectionTrait,
    current: &insp_inspection::Model,
    monday: NaiveDate,
    team_ids: &[String],
    field: &str,
) -> Result<Vec<(String, InspectorRole)>, AppError> {
    let almo = almo_row(txn, &current.almo_id).await?;
    let (mut history, previous) = storage::history(txn, &current.almo_id).await?;
    if history.open_inspection.as_deref() == Some(current.id.as_str()) {
        history.open_inspection = None;
    }
    let target = target_of(&almo, previous.map(|(s, _)| s));
    let mut staff = storage::staff(txn, Some(team_ids)).await?;
    all_known(team_ids, &staff, field)?;
    for m in &mut staff {
        m.domain.booked.retain(|(_, id)| *id != current.id);
    }
    let week = on_site_week(monday);
    let mut broken = Vec::new();
    if monday != current.on_site_date {
        let stored = storage::readiness(txn, &current.almo_id).await?;
        let readiness = stored.to_domain(almo.go_live_date, almo.end_date);
        broken.extend(almo_rules(&readiness, &history, week));
    }
    let team: Vec<&Inspector> = staff.iter().map(|m| &m.domain).collect();
    broken.extend(team_rules(&target, &team, week));
    if !broken.is_empty() {
        return Err(refused(&broken));
    }
    Ok(team.iter().map(|i| (i.id.clone(), i.role)).collect())
}

impl InspectionScheduling {
    pub(super) async fn book_inspection(
        &self,
        request: Request<pb::BookInspectionRequest>,
    ) -> Result<pb::BookInspectionResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let almo_id = r.almo_id.trim();
        let mut v = Violations::new();
        v.check(almo_id.is_empty(), "almo_id", "required");
        let monday = monday(&mut v, &r.on_site_start_date);
        v.check(
            r.team_inspector_ids.is_empty(),
            "team_inspector_ids",
            "required: the team",
        );
        let team_ids = team_ids(&mut v, &r.team_inspector_ids);
        v.check(
            r.span_weeks != 0 && !(10..=16).contains(&r.span_weeks),
            "span_weeks",
            "0 for the default, or 10 to 16 weeks from arrival on site (003 §113)",
        );
        v.into_result()?;
        let monday = monday.expect("validated");
        require_inspectorate(&p, "book inspections")?;
        self.write(&p, "BookInspection", r, async |txn| {
            let almo = almo_row(txn, almo_id).await?;
            let stored = storage::readiness(txn, almo_id).await?;
            let readiness = stored.to_domain(almo.go_live_date, almo.end_date);
            let (history, previous) = storage::history(txn, almo_id).await?;
            let target = target_of(&almo, previous.map(|(s, _)| s));
            let staff = storage::staff(txn, Some(&team_ids)).await?;
            all_known(&team_ids, &staff, "team_inspector_ids")?;
            let team: Vec<&Inspector> = staff.iter().map(|m| &m.domain).collect();
            let week = on_site_week(monday);
            let mut broken = almo_rules(&readiness, &history, week);
            broken.extend(team_rules(&target, &team, week));
            if !broken.is_empty() {
                return Err(refused(&broken));
            }
            let span = if r.span_weeks == 0 {
                default_span_weeks(target.stock_size, good_and_promising(previous))
            } else {
                r.span_weeks as u32
            };
            let id = storage::free_inspection_id(txn, almo_id, monday).await?;
            let council_id = almo.council_id.clone().unwrap_or_default();
            let fee = fee_estimate(target.stock_size, target.previous_stars, ROUNDS_1_AND_2);
            let row = storage::booking_row(
                &id,
                (almo_id, &council_id),
                monday,
                span as i32,
                fee,
                Utc::now(),
            );
            let members: Vec<(String, InspectorRole)> =
                team.iter().map(|i| (i.id.clone(), i.role)).collect();
            storage::insert_inspection(txn, row.clone(), &members)
                .await
                .map_err(booking_conflict)?;
            let inspection = Some(inspection_reply(txn, &row).await?);
            Ok((
                pb::BookInspectionResponse { inspection },
                inspection_resource(&id),
            ))
        })
        .await
    }

    pub(super) async fn get_inspection(
        &self,
        request: Request<pb::GetInspectionRequest>,
    ) -> Result<pb::GetInspectionResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let id = required("inspection_id", &request.get_ref().inspection_id)?;
        let row = self.readable_inspection(&p, id).await?;
        Ok(pb::GetInspectionResponse {
            inspection: Some(inspection_reply(self.ctx.db.conn(), &row).await?),
        })
    }

    pub(super) async fn list_inspections(
        &self,
        request: Request<pb::ListInspectionsRequest>,
    ) -> Result<pb::ListInspectionsResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.field("page_size", fields::page_size(r.page_size));
        let after = v.field("page_token", fields::page_token(&r.page_token));
        let mut statuses = Vec::new();
        for s in &r.statuses {
            match status_from_proto(*s) {
                Some(s) if !statuses.contains(&s) => statuses.push(s),
                Some(_) => {}
                None => v.add(
                    "statuses",
                    format!("{s} is not INSPECTION_STATUS_BOOKED or INSPECTION_STATUS_CANCELLED"),
                ),
            }
        }
        if statuses.is_empty() {
            // What callers saw before cancelled inspections were kept.
            statuses.push(InspectionStatus::Booked);
        }
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let almo_id = Some(r.almo_id.trim()).filter(|a| !a.is_empty());
        if let Some(a) = almo_id {
            self.ctx.access.require_read(&p, a).await?;
        }
        let conn = self.ctx.db.conn();
        let today = Utc::now().date_naive();
        let mut rows = if r.late_only {
            // No window closes before the on-site week's Friday.
            let on_site_before = today - Days::new(4);
            let is_late = |row: &insp_inspection::Model| !late_of(row, today).is_empty();
            storage::list_late_inspections(
                conn,
                &p,
                almo_id,
                &statuses,
                after,
                size + 1,
                on_site_before,
                is_late,
            )
            .await?
        } else {
            storage::list_inspections(conn, &p, almo_id, &statuses, after, size + 1).await?
        };
        let next_page_token = next_page(&mut rows, size, |r| r.id.as_str());
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let teams = storage::teams(conn, &ids).await?;
        Ok(pb::ListInspectionsResponse {
            inspections: rows
                .iter()
                .map(|r| inspection_to_proto(r, &teams, today))
                .collect(),
            next_page_token,
        })
    }

    pub(super) async fn replace_team_member(
        &self,
        request: Request<pb::ReplaceTeamMemberRequest>,
    ) -> Result<pb::ReplaceTeamMemberResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let id = r.inspection_id.trim();
        let leaving = r.leaving_inspector_id.trim();
        let joining = r.joining_inspector_id.trim();
        let mut v = Violations::new();
        v.check(id.is_empty(), "inspection_id", "required");
        v.check(leaving.is_empty(), "leaving_inspector_id", "required");
        v.check(joining.is_empty(), "joining_inspector_id", "required");
        v.check(
            !joining.is_empty() && joining == leaving,
            "joining_inspector_id",
            "the same inspector as leaving_inspector_id",
        );
        v.require_etag(&r.etag, "the inspection's etag as last read");
        v.into_result()?;
        require_inspectorate(&p, "change inspection teams")?;
        self.write(&p, "ReplaceTeamMember", r, async |txn| {
            let current = changeable(txn, id, &r.etag).await?;
            let members = team_of(txn, &current.id).await?;
            if !members.iter().any(|m| m == leaving) {
                return Err(AppError::invalid(
                    "leaving_inspector_id",
                    format!("{leaving} is not on the team of inspection {id}"),
                ));
            }
            if members.iter().any(|m| m == joining) {
                return Err(AppError::invalid(
                    "joining_inspector_id",
                    format!("{joining} is already on the team of inspection {id}"),
                ));
            }
            let mut team_ids: Vec<String> = members.into_iter().filter(|m| m != leaving).collect();
            team_ids.push(joining.to_string());
            team_ids.sort();
            let week = current.on_site_date;
            let field = "joining_inspector_id";
            let inspection = Some(rebook(txn, &current, week, &team_ids, field).await?);
            Ok((
                pb::ReplaceTeamMemberResponse { inspection },
                inspection_resource(id),
            ))
        })
        .await
    }

    pub(super) async fn move_inspection(
        &self,
        request: Request<pb::MoveInspectionRequest>,
    ) -> Result<pb::MoveInspectionResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let id = r.inspection_id.trim();
        let mut v = Violations::new();
        v.check(id.is_empty(), "inspection_id", "required");
        let monday = monday(&mut v, &r.on_site_start_date);
        let mut team_ids = team_ids(&mut v, &r.team_inspector_ids);
        v.require_etag(&r.etag, "the inspection's etag as last read");
        v.into_result()?;
        let monday = monday.expect("validated");
        require_inspectorate(&p, "move inspections")?;
        self.write(&p, "MoveInspection", r, async |txn| {
            let current = changeable(txn, id, &r.etag).await?;
            if team_ids.is_empty() {
                team_ids = team_of(txn, &current.id).await?;
            }
            let field = "team_inspector_ids";
            let inspection = Some(rebook(txn, &current, monday, &team_ids, field).await?);
            Ok((
                pb::MoveInspectionResponse { inspection },
                inspection_resource(id),
            ))
        })
        .await
    }

    pub(super) async fn cancel_inspection(
        &self,
        request: Request<pb::CancelInspectionRequest>,
    ) -> Result<pb::CancelInspectionResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = check_change(&mut v, &r.inspection_id, &r.etag);
        let why = v.field("reason", cancellation_reason(&r.reason));
        v.into_result()?;
        let why = why.expect("validated");
        require_inspectorate(&p, "cancel inspections")?;
        self.write(&p, "CancelInspection", r, async |txn| {
            let current = changeable(txn, id, &r.etag).await?;
            let cancellation = storage::Cancellation {
                reason: &why,
                subject: &p.caller.subject,
                organisation_id: &p.caller.organisation_id,
                at: Utc::now(),
            };
            let done = storage::cancel_inspection(txn, &current.id, current.version, &cancellation)
                .await?;
            updated(done, &inspection_resource(id))?;
            let inspection = Some(reread(txn, id).await?);
            Ok((
                pb::CancelInspectionResponse { inspection },
                inspection_resource(id),
            ))
        })
        .await
    }
}

/// Gives `current` the week of `monday` and the team `team_ids` once [`checked_team`] finds
/// no hard rule broken (naming `field` for an unknown inspector), if no one changed it since
/// it was read; the inspection as it now stands.
async fn rebook(
    txn: &impl ConnectionTrait,
    current: &insp_inspection::Model,
    monday: NaiveDate,
    team_ids: &[String],
    field: &str,
) -> Result<pb::Inspection, AppError> {
    let team = checked_team(txn, current, monday, team_ids, field).await?;
    let (id, version) = (current.id.as_str(), current.version);
    let done = storage::rebook_inspection(txn, id, version, monday, &team, Utc::now())
        .await
        .map_err(booking_conflict)?;
    updated(done, &inspection_resource(id))?;
    reread(txn, id).await
}
