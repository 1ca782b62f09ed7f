//! Queries of the road to a hand-back: how the transfer was tested, the options reviews.

use std::collections::HashMap;

use almo_db::Db;
use almo_db::connect::ReadRow;
use almo_db::entity::{almo_options_review as review, almo_transfer_opinion as transfer};
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set,
    Statement, Value,
};

use crate::domain::hand_back::{Decision, Opinion, OpinionMethod, Review};

/// What the directory knows of an ALMO's road to a hand-back.
#[derive(Debug, Clone, Default)]
pub struct HandBack {
    pub transfer: Option<OpinionMethod>,
    pub latest: Option<Review>,
}

/// An ALMO's transfer method and latest review, as [`ROAD_COLUMNS`] reads them: the review's
/// fields are all absent when it has none.
#[derive(Debug)]
struct RoadRow {
    transfer_method: Option<String>,
    review_no: Option<i32>,
    started_on: Option<NaiveDate>,
    department_notified_on: Option<NaiveDate>,
    opinion_method: Option<String>,
    opinion_note: Option<String>,
    opinion_opened_on: Option<NaiveDate>,
    opinion_closed_on: Option<NaiveDate>,
    opinion_eligible: Option<i32>,
    opinion_responses: Option<i32>,
    opinion_in_favour: Option<i32>,
    decision: Option<String>,
    decided_on: Option<NaiveDate>,
}

impl RoadRow {
    fn of(r: &ReadRow) -> Result<Self, DbErr> {
        Ok(Self {
            transfer_method: r.get("transfer_method")?,
            review_no: r.get("review_no")?,
            started_on: r.get("started_on")?,
            department_notified_on: r.get("department_notified_on")?,
            opinion_method: r.get("opinion_method")?,
            opinion_note: r.get("opinion_note")?,
            opinion_opened_on: r.get("opinion_opened_on")?,
            opinion_closed_on: r.get("opinion_closed_on")?,
            opinion_eligible: r.get("opinion_eligible")?,
            opinion_responses: r.get("opinion_responses")?,
            opinion_in_favour: r.get("opinion_in_favour")?,
            decision: r.get("decision")?,
            decided_on: r.get("decided_on")?,
        })
    }

    fn review(self) -> Option<Review> {
        let (Some(review_no), Some(started)) = (self.review_no, self.started_on) else {
            return None;
        };
        let opinion = match (
            self.opinion_method
                .as_deref()
                .and_then(OpinionMethod::parse),
            self.opinion_opened_on,
            self.opinion_closed_on,
        ) {
            (Some(method), Some(opened), Some(closed)) => Some(Opinion {
                method,
                note: self.opinion_note.unwrap_or_default(),
                opened,
                closed,
                eligible: self.opinion_eligible.unwrap_or_default(),
                responses: self.opinion_responses.unwrap_or_default(),
                in_favour: self.opinion_in_favour.unwrap_or_default(),
            }),
            _ => None,
        };
        Some(Review {
            review_no,
            started,
            department_notified: self.department_notified_on,
            opinion,
            decision: match (
                self.decision.as_deref().and_then(Decision::parse),
                self.decided_on,
            ) {
                (Some(d), Some(on)) => Some((d, on)),
                _ => None,
            },
        })
    }

    fn hand_back(self) -> HandBack {
        let transfer = self
            .transfer_method
            .as_deref()
            .and_then(OpinionMethod::parse);
        let latest = self.review();
        HandBack { transfer, latest }
    }
}

/// The road of an ALMO, beside its directory row `o`: its transfer method and its latest review
/// (the only one an entry shows), LEFT JOINed ([`ROAD_JOINS`]), one row an organisation. Written
/// out in SQL both SQLite and PostgreSQL run.
pub const ROAD_COLUMNS: &str = "t.\"method\" AS \"transfer_method\", r.\"review_no\", \
     r.\"started_on\", r.\"department_notified_on\", r.\"opinion_method\", \
     r.\"opinion_note\", r.\"opinion_opened_on\", r.\"opinion_closed_on\", \
     r.\"opinion_eligible\", r.\"opinion_responses\", r.\"opinion_in_favour\", \
     r.\"decision\", r.\"decided_on\"";

/// The joins [`ROAD_COLUMNS`] reads from.
pub const ROAD_JOINS: &str = "LEFT JOIN \"almo_transfer_opinions\" t ON t.\"almo_id\" = o.\"id\" \
     LEFT JOIN \"almo_options_reviews\" r ON r.\"almo_id\" = o.\"id\" AND r.\"review_no\" = \
     (SELECT MAX(m.\"review_no\") FROM \"almo_options_reviews\" m WHERE m.\"almo_id\" = o.\"id\")";

/// The road of the ALMO whose row (read with [`ROAD_COLUMNS`] and [`ROAD_JOINS`]) `r` is.
pub fn road_of(r: &ReadRow) -> Result<HandBack, DbErr> {
    Ok(RoadRow::of(r)?.hand_back())
}

/// One statement for the road of each requested ALMO, one row an ALMO.
fn road_sql(backend: DbBackend, n: usize) -> String {
    format!(
        "SELECT o.\"id\" AS \"almo_id\", {ROAD_COLUMNS} FROM \"organisations\" o {ROAD_JOINS} \
         WHERE o.\"id\" IN ({})",
        crate::storage::placeholders(backend, n)
    )
}

fn road_statement(backend: DbBackend, almo_ids: &[String]) -> Statement {
    Statement::from_sql_and_values(
        backend,
        road_sql(backend, almo_ids.len()),
        almo_ids.iter().map(|id| Value::from(id.as_str())),
    )
}

fn roads_of(rows: Vec<ReadRow>) -> Result<HashMap<String, HandBack>, DbErr> {
    rows.iter()
        .map(|r| Ok((r.get("almo_id")?, road_of(r)?)))
        .collect()
}

/// The road of each of `almo_ids` (an ALMO with nothing recorded: the default), in one statement
/// on [`Db::read_all`] (on SQLite, its held connections).
pub async fn hand_back_of(
    db: &Db,
    almo_ids: &[String],
) -> Result<HashMap<String, HandBack>, DbErr> {
    if almo_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.conn().get_database_backend();
    roads_of(db.read_all(road_statement(backend, almo_ids)).await?)
}

/// The road of one ALMO, read on `conn` (a write's transaction).
pub async fn hand_back(conn: &impl ConnectionTrait, almo_id: &str) -> Result<HandBack, DbErr> {
    let ids = [almo_id.to_string()];
    let rows = conn
        .query_all_raw(road_statement(conn.get_database_backend(), &ids))
        .await?;
    Ok(roads_of(rows.into_iter().map(ReadRow::from).collect())?
        .remove(almo_id)
        .unwrap_or_default())
}

/// Whether any of the ALMO's reviews has a test of opinion recorded.
pub async fn opinion_tested(conn: &impl ConnectionTrait, almo_id: &str) -> Result<bool, DbErr> {
    Ok(review::Entity::find()
        .filter(review::Column::AlmoId.eq(almo_id))
        .filter(review::Column::OpinionMethod.is_not_null())
        .count(conn)
        .await?
        > 0)
}

pub async fn set_transfer(
    conn: &impl ConnectionTrait,
    almo_id: &str,
    method: OpinionMethod,
) -> Result<(), DbErr> {
    transfer::Entity::insert(transfer::ActiveModel {
        almo_id: Set(almo_id.to_string()),
        method: Set(method.as_str().to_string()),
        recorded_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(transfer::Column::AlmoId)
            .update_columns([transfer::Column::Method, transfer::Column::RecordedAt])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Stores `r`, a new review when `new`, else over the stored one of its number.
pub async fn save_review(
    conn: &impl ConnectionTrait,
    almo_id: &str,
    r: &Review,
    new: bool,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let o = r.opinion.as_ref();
    let row = review::ActiveModel {
        almo_id: Set(almo_id.to_string()),
        review_no: Set(r.review_no),
        started_on: Set(r.started),
        department_notified_on: Set(r.department_notified),
        opinion_method: Set(o.map(|o| o.method.as_str().to_string())),
        opinion_note: Set(o.map(|o| o.note.clone()).filter(|n| !n.is_empty())),
        opinion_opened_on: Set(o.map(|o| o.opened)),
        opinion_closed_on: Set(o.map(|o| o.closed)),
        opinion_eligible: Set(o.map(|o| o.eligible)),
        opinion_responses: Set(o.map(|o| o.responses)),
        opinion_in_favour: Set(o.map(|o| o.in_favour)),
        decision: Set(r.decision.map(|(d, _)| d.as_str().to_string())),
        decided_on: Set(r.decision.map(|(_, on)| on)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    if new {
        review::Entity::insert(row)
            .exec_without_returning(conn)
            .await?;
    } else {
        let mut row = row;
        row.created_at = sea_orm::ActiveValue::NotSet;
        review::Entity::update(row).exec(conn).await?;
    }
    Ok(())
}
