//! Queries of the road to a hand-back: how the transfer was tested, the options reviews.

use std::collections::HashMap;

use almo_db::entity::{almo_options_review as review, almo_transfer_opinion as transfer};
use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::domain::hand_back::{Decision, Opinion, OpinionMethod, Review};

/// What the directory knows of an ALMO's road to a hand-back.
#[derive(Debug, Clone, Default)]
pub struct HandBack {
    pub transfer: Option<OpinionMethod>,
    pub latest: Option<Review>,
}

fn review_of(m: review::Model) -> Review {
    let opinion = match (
        m.opinion_method.as_deref().and_then(OpinionMethod::parse),
        m.opinion_opened_on,
        m.opinion_closed_on,
    ) {
        (Some(method), Some(opened), Some(closed)) => Some(Opinion {
            method,
            note: m.opinion_note.unwrap_or_default(),
            opened,
            closed,
            eligible: m.opinion_eligible.unwrap_or_default(),
            responses: m.opinion_responses.unwrap_or_default(),
            in_favour: m.opinion_in_favour.unwrap_or_default(),
        }),
        _ => None,
    };
    Review {
        review_no: m.review_no,
        started: m.started_on,
        department_notified: m.department_notified_on,
        opinion,
        decision: match (
            m.decision.as_deref().and_then(Decision::parse),
            m.decided_on,
        ) {
            (Some(d), Some(on)) => Some((d, on)),
            _ => None,
        },
    }
}

/// The road of each of `almo_ids` (absent: nothing recorded).
pub async fn hand_back_of(
    conn: &impl ConnectionTrait,
    almo_ids: &[String],
) -> Result<HashMap<String, HandBack>, DbErr> {
    let mut out: HashMap<String, HandBack> = HashMap::new();
    if almo_ids.is_empty() {
        return Ok(out);
    }
    for t in transfer::Entity::find()
        .filter(transfer::Column::AlmoId.is_in(almo_ids.iter().cloned()))
        .all(conn)
        .await?
    {
        out.entry(t.almo_id).or_default().transfer = OpinionMethod::parse(&t.method);
    }
    // Ascending, so each ALMO ends with its latest review.
    for r in review::Entity::find()
        .filter(review::Column::AlmoId.is_in(almo_ids.iter().cloned()))
        .order_by_asc(review::Column::ReviewNo)
        .all(conn)
        .await?
    {
        let id = r.almo_id.clone();
        out.entry(id).or_default().latest = Some(review_of(r));
    }
    Ok(out)
}

/// The road of one ALMO.
pub async fn hand_back(conn: &impl ConnectionTrait, almo_id: &str) -> Result<HandBack, DbErr> {
    Ok(hand_back_of(conn, &[almo_id.to_string()])
        .await?
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
