//! The inspection service's queries. Writes take the transaction of an idempotent write; every
//! list of inspections is filtered by what the caller may see.

use std::collections::HashMap;

use almo_auth::OrgKind;
use almo_db::entity::{
    insp_blackout, insp_board_meeting, insp_inspection, insp_inspector, insp_inspector_week,
    insp_readiness, insp_team_member, insp_unavailability, organisation,
};
use almo_server::Principal;
use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::domain::cancellation::InspectionStatus;
use crate::domain::outcome::Prospects;
use crate::domain::readiness::{Blackout, History, Readiness};
use crate::domain::team::{Inspector, InspectorRole};
use crate::domain::{DateRange, on_site_week};

pub async fn organisation(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<organisation::Model>, DbErr> {
    organisation::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

/// An ALMO's stored declaration, its blackouts and its board meetings.
pub struct StoredReadiness {
    pub row: Option<insp_readiness::Model>,
    pub blackouts: Vec<insp_blackout::Model>,
    pub board_meetings: Vec<NaiveDate>,
}

impl StoredReadiness {
    /// The rules' view, with the go-live date from the directory.
    pub fn to_domain(&self, go_live: Option<NaiveDate>, end: Option<NaiveDate>) -> Readiness {
        let r = self.row.as_ref();
        Readiness {
            go_live,
            end,
            best_value_reviews: [
                r.and_then(|r| r.bv_repairs_date),
                r.and_then(|r| r.bv_capital_date),
                r.and_then(|r| r.bv_rent_date),
                r.and_then(|r| r.bv_estate_date),
            ],
            blackouts: self
                .blackouts
                .iter()
                .filter_map(|b| {
                    Some(Blackout {
                        label: b.label.clone(),
                        period: DateRange::new(b.start_date, b.end_date)?,
                    })
                })
                .collect(),
            board_meetings: self.board_meetings.clone(),
            funding_needed_by: r.and_then(|r| r.funding_needed_by_date),
        }
    }
}

pub async fn readiness(
    conn: &impl ConnectionTrait,
    almo_id: &str,
) -> Result<StoredReadiness, DbErr> {
    let row = insp_readiness::Entity::find_by_id(almo_id.to_string())
        .one(conn)
        .await?;
    let blackouts = insp_blackout::Entity::find()
        .filter(insp_blackout::Column::AlmoId.eq(almo_id))
        .order_by_asc(insp_blackout::Column::StartDate)
        .order_by_asc(insp_blackout::Column::Id)
        .all(conn)
        .await?;
    let board_meetings = insp_board_meeting::Entity::find()
        .select_only()
        .column(insp_board_meeting::Column::MeetingDate)
        .filter(insp_board_meeting::Column::AlmoId.eq(almo_id))
        .order_by_asc(insp_board_meeting::Column::MeetingDate)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(StoredReadiness {
        row,
        blackouts,
        board_meetings,
    })
}

/// Replaces an ALMO's declaration. `expected_version` is the stored version the caller read
/// (`None` when declaring for the first time); false when someone else got there first.
pub async fn replace_readiness(
    conn: &impl ConnectionTrait,
    row: insp_readiness::Model,
    expected_version: Option<i64>,
    blackouts: &[(String, NaiveDate, NaiveDate)],
    meetings: &[NaiveDate],
) -> Result<bool, DbErr> {
    let almo_id = row.almo_id.clone();
    match expected_version {
        None => {
            insp_readiness::Entity::insert(insp_readiness::ActiveModel::from(row))
                .exec_without_returning(conn)
                .await?;
        }
        Some(v) => {
            let res = insp_readiness::Entity::update_many()
                .col_expr(
                    insp_readiness::Column::BvRepairsDate,
                    Expr::value(row.bv_repairs_date),
                )
                .col_expr(
                    insp_readiness::Column::BvCapitalDate,
                    Expr::value(row.bv_capital_date),
                )
                .col_expr(
                    insp_readiness::Column::BvRentDate,
                    Expr::value(row.bv_rent_date),
                )
                .col_expr(
                    insp_readiness::Column::BvEstateDate,
                    Expr::value(row.bv_estate_date),
                )
                .col_expr(
                    insp_readiness::Column::FundingRound,
                    Expr::value(row.funding_round),
                )
                .col_expr(
                    insp_readiness::Column::FundingNeededByDate,
                    Expr::value(row.funding_needed_by_date),
                )
                .col_expr(insp_readiness::Column::Version, Expr::value(row.version))
                .col_expr(
                    insp_readiness::Column::UpdatedAt,
                    Expr::value(row.updated_at),
                )
                .filter(insp_readiness::Column::AlmoId.eq(&almo_id))
                .filter(insp_readiness::Column::Version.eq(v))
                .exec(conn)
                .await?;
            if res.rows_affected != 1 {
                return Ok(false);
            }
        }
    }
    insp_blackout::Entity::delete_many()
        .filter(insp_blackout::Column::AlmoId.eq(&almo_id))
        .exec(conn)
        .await?;
    insp_board_meeting::Entity::delete_many()
        .filter(insp_board_meeting::Column::AlmoId.eq(&almo_id))
        .exec(conn)
        .await?;
    if !blackouts.is_empty() {
        insp_blackout::Entity::insert_many(blackouts.iter().map(|(label, s, e)| {
            insp_blackout::ActiveModel {
                almo_id: Set(almo_id.clone()),
                label: Set(label.clone()),
                start_date: Set(*s),
                end_date: Set(*e),
                ..Default::default()
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    if !meetings.is_empty() {
        insp_board_meeting::Entity::insert_many(meetings.iter().map(|m| {
            insp_board_meeting::ActiveModel {
                almo_id: Set(almo_id.clone()),
                meeting_date: Set(*m),
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(true)
}

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

/// Inspections that stand: not cancelled. Every rule that looks at inspections looks at these.
fn standing() -> Condition {
    Condition::all().add(insp_inspection::Column::Status.ne(InspectionStatus::Cancelled.as_str()))
}

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

/// A page of the inspections `p` may see with one of `statuses`.
pub async fn list_inspections(
    conn: &impl ConnectionTrait,
    p: &Principal,
    almo_id: Option<&str>,
    statuses: &[InspectionStatus],
    after: Option<String>,
    limit: u64,
) -> Result<Vec<insp_inspection::Model>, DbErr> {
    let mut q = insp_inspection::Entity::find()
        .filter(visible_to(p))
        .filter(insp_inspection::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
    if let Some(a) = almo_id {
        q = q.filter(insp_inspection::Column::AlmoId.eq(a));
    }
    if let Some(after) = after {
        q = q.filter(insp_inspection::Column::Id.gt(after));
    }
    q.order_by_asc(insp_inspection::Column::Id)
        .limit(limit)
        .all(conn)
        .await
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

/// Inserts an inspection, its team and its members' on-site weeks. The primary key of the weeks
/// and the unique open-ALMO index refuse a concurrent double booking.
pub async fn insert_inspection(
    conn: &impl ConnectionTrait,
    row: insp_inspection::Model,
    team: &[(String, InspectorRole)],
) -> Result<(), DbErr> {
    let id = row.id.clone();
    let week = row.on_site_date;
    insp_inspection::Entity::insert(insp_inspection::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await?;
    insp_team_member::Entity::insert_many(team.iter().map(|(i, role)| {
        insp_team_member::ActiveModel {
            inspection_id: Set(id.clone()),
            inspector_id: Set(i.clone()),
            role: Set(role.as_str().to_string()),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    insp_inspector_week::Entity::insert_many(team.iter().map(|(i, _)| {
        insp_inspector_week::ActiveModel {
            inspector_id: Set(i.clone()),
            week_start: Set(week),
            inspection_id: Set(id.clone()),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Writes the recorded dates and outcome if the stored version is still `expected_version`.
pub async fn update_inspection_if_version(
    conn: &impl ConnectionTrait,
    row: insp_inspection::Model,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let res = insp_inspection::Entity::update_many()
        .col_expr(
            insp_inspection::Column::OpenAlmoId,
            Expr::value(row.open_almo_id),
        )
        .col_expr(
            insp_inspection::Column::OnSiteActual,
            Expr::value(row.on_site_actual),
        )
        .col_expr(
            insp_inspection::Column::DraftActual,
            Expr::value(row.draft_actual),
        )
        .col_expr(
            insp_inspection::Column::CommentsActual,
            Expr::value(row.comments_actual),
        )
        .col_expr(
            insp_inspection::Column::ScoreLetterActual,
            Expr::value(row.score_letter_actual),
        )
        .col_expr(
            insp_inspection::Column::PublishedActual,
            Expr::value(row.published_actual),
        )
        .col_expr(insp_inspection::Column::Stars, Expr::value(row.stars))
        .col_expr(
            insp_inspection::Column::Prospects,
            Expr::value(row.prospects),
        )
        .col_expr(insp_inspection::Column::Version, Expr::value(row.version))
        .col_expr(
            insp_inspection::Column::UpdatedAt,
            Expr::value(row.updated_at),
        )
        .filter(insp_inspection::Column::Id.eq(row.id))
        .filter(insp_inspection::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// ALMOs managing homes: live and not wound up.
pub async fn live_almos(conn: &impl ConnectionTrait) -> Result<Vec<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .filter(organisation::Column::Kind.eq(OrgKind::Almo.as_str()))
        .filter(organisation::Column::GoLiveDate.is_not_null())
        .filter(organisation::Column::EndDate.is_null())
        .order_by_asc(organisation::Column::Id)
        .all(conn)
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

/// Claims an inspection for a change: bumps its version if it is still `expected_version`.
async fn bump_version(
    conn: &impl ConnectionTrait,
    id: &str,
    expected_version: i64,
    on_site_date: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let res = insp_inspection::Entity::update_many()
        .col_expr(
            insp_inspection::Column::OnSiteDate,
            Expr::value(on_site_date),
        )
        .col_expr(
            insp_inspection::Column::Version,
            Expr::value(expected_version + 1),
        )
        .col_expr(insp_inspection::Column::UpdatedAt, Expr::value(now))
        .filter(insp_inspection::Column::Id.eq(id))
        .filter(insp_inspection::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

async fn delete_team(conn: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    insp_inspector_week::Entity::delete_many()
        .filter(insp_inspector_week::Column::InspectionId.eq(id))
        .exec(conn)
        .await?;
    insp_team_member::Entity::delete_many()
        .filter(insp_team_member::Column::InspectionId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

async fn insert_team(
    conn: &impl ConnectionTrait,
    id: &str,
    week: NaiveDate,
    team: &[(String, InspectorRole)],
) -> Result<(), DbErr> {
    if team.is_empty() {
        return Ok(());
    }
    insp_team_member::Entity::insert_many(team.iter().map(|(i, role)| {
        insp_team_member::ActiveModel {
            inspection_id: Set(id.to_string()),
            inspector_id: Set(i.clone()),
            role: Set(role.as_str().to_string()),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    insp_inspector_week::Entity::insert_many(team.iter().map(|(i, _)| {
        insp_inspector_week::ActiveModel {
            inspector_id: Set(i.clone()),
            week_start: Set(week),
            inspection_id: Set(id.to_string()),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Gives an inspection a new on-site week and team if it is still at `expected_version`. The
/// primary key of the weeks refuses a concurrent double booking. False when the etag is stale.
pub async fn rebook_inspection(
    conn: &impl ConnectionTrait,
    id: &str,
    expected_version: i64,
    week: NaiveDate,
    team: &[(String, InspectorRole)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    if !bump_version(conn, id, expected_version, week, now).await? {
        return Ok(false);
    }
    delete_team(conn, id).await?;
    insert_team(conn, id, week, team).await?;
    Ok(true)
}

/// An id for a new booking: the ALMO and its Monday, numbered when a cancelled inspection
/// already holds that id (`LEEDS-ENE-HOMES-2007-10-22-2`).
pub async fn free_inspection_id(
    conn: &impl ConnectionTrait,
    almo_id: &str,
    monday: NaiveDate,
) -> Result<String, DbErr> {
    let base = format!("{almo_id}-{monday}");
    let taken: Vec<String> = insp_inspection::Entity::find()
        .select_only()
        .column(insp_inspection::Column::Id)
        .filter(insp_inspection::Column::Id.starts_with(&base))
        .into_tuple()
        .all(conn)
        .await?;
    if !taken.contains(&base) {
        return Ok(base);
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken.contains(id))
        .expect("an unused number"))
}

/// Who cancelled an inspection, when and why.
pub struct Cancellation<'a> {
    pub reason: &'a str,
    pub subject: &'a str,
    pub organisation_id: &'a str,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Cancels a booking not yet on site if it is still at `expected_version`: kept, with the
/// cancellation, but no longer the ALMO's open inspection and holding none of its members'
/// weeks (their rows go; the team rows stay to be seen). False when the etag is stale.
pub async fn cancel_inspection(
    conn: &impl ConnectionTrait,
    id: &str,
    expected_version: i64,
    c: &Cancellation<'_>,
) -> Result<bool, DbErr> {
    let res = insp_inspection::Entity::update_many()
        .col_expr(
            insp_inspection::Column::Status,
            Expr::value(InspectionStatus::Cancelled.as_str()),
        )
        .col_expr(
            insp_inspection::Column::OpenAlmoId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(insp_inspection::Column::CancelReason, Expr::value(c.reason))
        .col_expr(insp_inspection::Column::CancelledBy, Expr::value(c.subject))
        .col_expr(
            insp_inspection::Column::CancelledByOrg,
            Expr::value(c.organisation_id),
        )
        .col_expr(insp_inspection::Column::CancelledAt, Expr::value(c.at))
        .col_expr(
            insp_inspection::Column::Version,
            Expr::value(expected_version + 1),
        )
        .col_expr(insp_inspection::Column::UpdatedAt, Expr::value(c.at))
        .filter(insp_inspection::Column::Id.eq(id))
        .filter(insp_inspection::Column::Version.eq(expected_version))
        .filter(standing())
        .exec(conn)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    insp_inspector_week::Entity::delete_many()
        .filter(insp_inspector_week::Column::InspectionId.eq(id))
        .exec(conn)
        .await?;
    Ok(true)
}
