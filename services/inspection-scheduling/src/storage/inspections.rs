//! Reading inspections: one, an ALMO's history, the teams, and the lists each caller may see.

use std::collections::HashMap;

use almo_auth::OrgKind;
use almo_db::entity::{insp_inspection, insp_inspector, insp_team_member};
use almo_server::Principal;
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use super::standing;
use crate::domain::DateRange;
use crate::domain::cancellation::InspectionStatus;
use crate::domain::outcome::Prospects;
use crate::domain::readiness::History;
use crate::domain::team::InspectorRole;

/// What has happened to an ALMO's inspections, and its latest outcome (stars, prospects).
/// Cancelled inspections count for nothing.
pub async fn history(
    conn: &impl ConnectionTrait,
    almo_id: &str,
) -> Result<(History, Option<(u8, Prospects)>), DbErr> {
    let rows = insp_inspection::Entity::find()
        .filter(insp_inspection::Column::AlmoId.eq(almo_id))
        .filter(standing())
        .order_by_asc(insp_inspection::Column::OnSiteDate)
        .all(conn)
        .await?;
    let last_publication = rows.iter().filter_map(|r| r.published_actual).max();
    let open_inspection = rows
        .iter()
        .find(|r| r.open_almo_id.is_some())
        .map(|r| r.id.clone());
    let previous = rows
        .iter()
        .filter(|r| r.score_letter_actual.is_some())
        .max_by_key(|r| r.score_letter_actual)
        .and_then(|r| {
            let stars = u8::try_from(r.stars?).ok()?;
            Some((stars, Prospects::parse(r.prospects.as_deref()?)?))
        });
    Ok((
        History {
            last_publication,
            open_inspection,
        },
        previous,
    ))
}

pub async fn inspection(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<insp_inspection::Model>, DbErr> {
    insp_inspection::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

/// Team rows of each inspection, with the members' names.
pub async fn teams(
    conn: &impl ConnectionTrait,
    inspection_ids: &[String],
) -> Result<Vec<(insp_team_member::Model, String)>, DbErr> {
    if inspection_ids.is_empty() {
        return Ok(Vec::new());
    }
    let members = insp_team_member::Entity::find()
        .filter(insp_team_member::Column::InspectionId.is_in(inspection_ids.iter().cloned()))
        .all(conn)
        .await?;
    let ids: Vec<String> = members.iter().map(|m| m.inspector_id.clone()).collect();
    let names: HashMap<String, String> = insp_inspector::Entity::find()
        .select_only()
        .column(insp_inspector::Column::Id)
        .column(insp_inspector::Column::Name)
        .filter(insp_inspector::Column::Id.is_in(ids))
        .into_tuple::<(String, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut out: Vec<(insp_team_member::Model, String)> = members
        .into_iter()
        .map(|m| {
            let name = names.get(&m.inspector_id).cloned().unwrap_or_default();
            (m, name)
        })
        .collect();
    // The lead first, then inspectors, then TIAs.
    out.sort_by_key(|(m, _)| {
        (
            m.inspection_id.clone(),
            InspectorRole::parse(&m.role),
            m.inspector_id.clone(),
        )
    });
    Ok(out)
}

/// The inspections `p` may see: an ALMO its own, a council its ALMOs', the national bodies all.
fn visible_to(p: &Principal) -> Condition {
    match p.org.kind {
        OrgKind::Operator | OrgKind::Regulator | OrgKind::Inspectorate => Condition::all(),
        OrgKind::Council => Condition::all().add(insp_inspection::Column::CouncilId.eq(&p.org.id)),
        OrgKind::Almo => Condition::all().add(insp_inspection::Column::AlmoId.eq(&p.org.id)),
    }
}

/// The inspections `p` may see with one of `statuses` (and of `almo_id`, if given), by id.
fn visible_query(
    p: &Principal,
    almo_id: Option<&str>,
    statuses: &[InspectionStatus],
) -> Select<insp_inspection::Entity> {
    let mut q = insp_inspection::Entity::find()
        .filter(visible_to(p))
        .filter(insp_inspection::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
    if let Some(a) = almo_id {
        q = q.filter(insp_inspection::Column::AlmoId.eq(a));
    }
    q.order_by_asc(insp_inspection::Column::Id)
}

/// A page of the inspections `p` may see with one of `statuses`.
pub async fn list_inspections(
    conn: &impl ConnectionTrait,
    p: &Principal,
    almo_id: Option<&str>,
    statuses: &[InspectionStatus],
    after: Option<String>,
    limit: u64,
) -> Result<Vec<insp_inspection::Model>, DbErr> {
    let mut q = visible_query(p, almo_id, statuses);
    if let Some(after) = after {
        q = q.filter(insp_inspection::Column::Id.gt(after));
    }
    q.limit(limit).all(conn).await
}

/// Rows read at a time while looking for late inspections.
const LATE_SCAN_CHUNK: u64 = 500;

/// A page of the inspections [`list_inspections`] would list that `is_late` keeps. Lateness is
/// computed from the stored dates (a stage's window is a number of weeks from arrival on site),
/// so the rows are read in chunks and judged here; only inspections on site before
/// `on_site_before` (the first on-site week whose window could have closed) are read.
#[allow(clippy::too_many_arguments)]
pub async fn list_late_inspections(
    conn: &impl ConnectionTrait,
    p: &Principal,
    almo_id: Option<&str>,
    statuses: &[InspectionStatus],
    after: Option<String>,
    limit: u64,
    on_site_before: NaiveDate,
    is_late: impl Fn(&insp_inspection::Model) -> bool,
) -> Result<Vec<insp_inspection::Model>, DbErr> {
    let mut out = Vec::new();
    let mut cursor = after;
    loop {
        let mut q = visible_query(p, almo_id, statuses)
            .filter(insp_inspection::Column::OnSiteDate.lt(on_site_before));
        if let Some(after) = &cursor {
            q = q.filter(insp_inspection::Column::Id.gt(after.clone()));
        }
        let chunk = q.limit(LATE_SCAN_CHUNK).all(conn).await?;
        let last = chunk.len() < LATE_SCAN_CHUNK as usize;
        cursor = chunk.last().map(|r| r.id.clone());
        for row in chunk {
            if is_late(&row) {
                out.push(row);
                if out.len() as u64 == limit {
                    return Ok(out);
                }
            }
        }
        if last {
            return Ok(out);
        }
    }
}

/// The latest inspection of an ALMO with an outcome.
pub async fn latest_outcome(
    conn: &impl ConnectionTrait,
    almo_id: &str,
) -> Result<Option<insp_inspection::Model>, DbErr> {
    insp_inspection::Entity::find()
        .filter(insp_inspection::Column::AlmoId.eq(almo_id))
        .filter(standing())
        .filter(insp_inspection::Column::Stars.is_not_null())
        .order_by_desc(insp_inspection::Column::ScoreLetterActual)
        .one(conn)
        .await
}

/// Inspections booked and not yet published with an on-site week inside `period`.
pub async fn open_inspections_in(
    conn: &impl ConnectionTrait,
    period: DateRange,
) -> Result<Vec<insp_inspection::Model>, DbErr> {
    insp_inspection::Entity::find()
        .filter(insp_inspection::Column::OpenAlmoId.is_not_null())
        .filter(standing())
        .filter(insp_inspection::Column::OnSiteDate.gte(period.start))
        .filter(insp_inspection::Column::OnSiteDate.lte(period.end))
        .order_by_asc(insp_inspection::Column::Id)
        .all(conn)
        .await
}

/// The inspections an inspector has been or is on, by on-site date, cancelled ones included (a
/// calendar shows them cancelled so that subscribers remove them).
pub async fn inspections_of_inspector(
    conn: &impl ConnectionTrait,
    inspector_id: &str,
) -> Result<Vec<insp_inspection::Model>, DbErr> {
    let ids: Vec<String> = insp_team_member::Entity::find()
        .select_only()
        .column(insp_team_member::Column::InspectionId)
        .filter(insp_team_member::Column::InspectorId.eq(inspector_id))
        .into_tuple()
        .all(conn)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    insp_inspection::Entity::find()
        .filter(insp_inspection::Column::Id.is_in(ids))
        .order_by_asc(insp_inspection::Column::OnSiteDate)
        .all(conn)
        .await
}

/// An ALMO's inspections, by on-site date, cancelled ones included.
pub async fn inspections_of_almo(
    conn: &impl ConnectionTrait,
    almo_id: &str,
) -> Result<Vec<insp_inspection::Model>, DbErr> {
    insp_inspection::Entity::find()
        .filter(insp_inspection::Column::AlmoId.eq(almo_id))
        .order_by_asc(insp_inspection::Column::OnSiteDate)
        .all(conn)
        .await
}
