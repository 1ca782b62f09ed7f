//! The inspectorate's staff: inspector rows, their unavailability, and what the rules need to
//! know of them (weeks booked, authorities inspected).

use std::collections::HashMap;

use almo_db::entity::{
    insp_inspection, insp_inspector, insp_inspector_week, insp_team_member, insp_unavailability,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::standing;
use crate::domain::team::{Inspector, InspectorRole};
use crate::domain::{DateRange, on_site_week};

/// An inspector row with what the rules need to know of them.
pub struct StaffMember {
    pub row: insp_inspector::Model,
    pub unavailability: Vec<insp_unavailability::Model>,
    pub domain: Inspector,
}

/// The whole staff as the rules see it: unavailability, booked on-site weeks, who inspected whom.
/// `ids`, when given, limits it to those inspectors.
pub async fn staff(
    conn: &impl ConnectionTrait,
    ids: Option<&[String]>,
) -> Result<Vec<StaffMember>, DbErr> {
    let mut q = insp_inspector::Entity::find().order_by_asc(insp_inspector::Column::Id);
    if let Some(ids) = ids {
        q = q.filter(insp_inspector::Column::Id.is_in(ids.iter().cloned()));
    }
    let rows = q.all(conn).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let unavailable = insp_unavailability::Entity::find()
        .filter(insp_unavailability::Column::InspectorId.is_in(ids.iter().cloned()))
        .order_by_asc(insp_unavailability::Column::StartDate)
        .order_by_asc(insp_unavailability::Column::Id)
        .all(conn)
        .await?;
    let weeks = insp_inspector_week::Entity::find()
        .filter(insp_inspector_week::Column::InspectorId.is_in(ids.iter().cloned()))
        .all(conn)
        .await?;
    let memberships: Vec<(String, String)> = insp_team_member::Entity::find()
        .select_only()
        .column(insp_team_member::Column::InspectorId)
        .column(insp_team_member::Column::InspectionId)
        .filter(insp_team_member::Column::InspectorId.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(conn)
        .await?;
    let mut inspection_ids: Vec<String> = memberships.iter().map(|(_, i)| i.clone()).collect();
    inspection_ids.sort();
    inspection_ids.dedup();
    let targets: HashMap<String, (String, String)> = if inspection_ids.is_empty() {
        HashMap::new()
    } else {
        insp_inspection::Entity::find()
            .select_only()
            .column(insp_inspection::Column::Id)
            .column(insp_inspection::Column::AlmoId)
            .column(insp_inspection::Column::CouncilId)
            .filter(insp_inspection::Column::Id.is_in(inspection_ids))
            // A cancelled inspection's team never inspected the authority.
            .filter(standing())
            .into_tuple::<(String, String, String)>()
            .all(conn)
            .await?
            .into_iter()
            .map(|(id, a, c)| (id, (a, c)))
            .collect()
    };
    let inspected: Vec<(String, String, String)> = memberships
        .iter()
        .filter_map(|(who, insp)| {
            let (a, c) = targets.get(insp)?;
            Some((who.clone(), a.clone(), c.clone()))
        })
        .collect();
    let mut by_id: HashMap<&str, Vec<String>> = HashMap::new();
    for (i, almo, council) in &inspected {
        let v = by_id.entry(i.as_str()).or_default();
        for o in [almo, council] {
            if !v.contains(o) {
                v.push(o.clone());
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let unavailability: Vec<insp_unavailability::Model> = unavailable
                .iter()
                .filter(|u| u.inspector_id == row.id)
                .cloned()
                .collect();
            let domain = Inspector {
                id: row.id.clone(),
                role: InspectorRole::parse(&row.role).unwrap_or(InspectorRole::Inspector),
                region: row.region.clone(),
                tenant_of: row.tenant_of.clone(),
                unavailable: unavailability
                    .iter()
                    .filter_map(|u| DateRange::new(u.start_date, u.end_date))
                    .collect(),
                booked: weeks
                    .iter()
                    .filter(|w| w.inspector_id == row.id)
                    .map(|w| (on_site_week(w.week_start), w.inspection_id.clone()))
                    .collect(),
                inspected: by_id.get(row.id.as_str()).cloned().unwrap_or_default(),
            };
            StaffMember {
                row,
                unavailability,
                domain,
            }
        })
        .collect())
}

pub async fn inspector_page(
    conn: &impl ConnectionTrait,
    role: Option<InspectorRole>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    let mut q = insp_inspector::Entity::find()
        .select_only()
        .column(insp_inspector::Column::Id);
    if let Some(role) = role {
        q = q.filter(insp_inspector::Column::Role.eq(role.as_str()));
    }
    if let Some(after) = after {
        q = q.filter(insp_inspector::Column::Id.gt(after));
    }
    q.order_by_asc(insp_inspector::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

pub async fn inspector(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<insp_inspector::Model>, DbErr> {
    insp_inspector::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

pub async fn insert_inspector(
    conn: &impl ConnectionTrait,
    row: insp_inspector::Model,
) -> Result<(), DbErr> {
    insp_inspector::Entity::insert(insp_inspector::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Adds a period of unavailability if the inspector is still at `expected_version`.
pub async fn add_unavailability(
    conn: &impl ConnectionTrait,
    inspector_id: &str,
    expected_version: i64,
    period: DateRange,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let res = insp_inspector::Entity::update_many()
        .col_expr(
            insp_inspector::Column::Version,
            Expr::value(expected_version + 1),
        )
        .col_expr(insp_inspector::Column::UpdatedAt, Expr::value(now))
        .filter(insp_inspector::Column::Id.eq(inspector_id))
        .filter(insp_inspector::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    insp_unavailability::Entity::insert(insp_unavailability::ActiveModel {
        inspector_id: Set(inspector_id.to_string()),
        start_date: Set(period.start),
        end_date: Set(period.end),
        reason: Set(reason.to_string()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(true)
}
