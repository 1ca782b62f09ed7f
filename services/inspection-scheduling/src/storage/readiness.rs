//! An ALMO's declared readiness: Best Value review dates, blackouts and board meetings.

use almo_db::entity::{insp_blackout, insp_board_meeting, insp_readiness};
use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::domain::DateRange;
use crate::domain::readiness::{Blackout, Readiness};

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
