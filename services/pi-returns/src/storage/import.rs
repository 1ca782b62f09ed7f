//! The bulk write of already signed-off returns (`ImportReturns`): set-based reads of what a
//! batch needs (its organisations, returns already there, last year's signed-off figures) and
//! multi-row inserts, all inside the batch's one transaction.

use std::collections::{BTreeMap, HashMap};

use almo_db::entity::{organisation, pi_return, pi_return_value};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::domain::workflow::Status;

/// Rows of one statement: 20 columns a return, inside SQLite's and PostgreSQL's bind limits.
const RETURNS_PER_STATEMENT: usize = 500;

/// The directory rows of `ids`, by id (ids not in the directory are absent).
pub async fn organisations(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashMap<String, organisation::Model>, DbErr> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(RETURNS_PER_STATEMENT) {
        for row in organisation::Entity::find()
            .filter(organisation::Column::Id.is_in(chunk.iter().cloned()))
            .all(conn)
            .await?
        {
            out.insert(row.id.clone(), row);
        }
    }
    Ok(out)
}

/// Which of the return ids `ids` exist already.
pub async fn existing_returns(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<String>, DbErr> {
    let mut out = Vec::new();
    for chunk in ids.chunks(RETURNS_PER_STATEMENT) {
        let found: Vec<String> = pi_return::Entity::find()
            .select_only()
            .column(pi_return::Column::Id)
            .filter(pi_return::Column::Id.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// The current figures of those of `return_ids` that are signed off, by return, indicator and
/// split: last year's figures of a batch's returns, for the "change on last year" warning.
pub async fn signed_off_figures(
    conn: &impl ConnectionTrait,
    return_ids: &[String],
) -> Result<BTreeMap<(String, String, String), f64>, DbErr> {
    let mut out = BTreeMap::new();
    for chunk in return_ids.chunks(RETURNS_PER_STATEMENT) {
        let signed: Vec<String> = pi_return::Entity::find()
            .select_only()
            .column(pi_return::Column::Id)
            .filter(pi_return::Column::Id.is_in(chunk.iter().cloned()))
            .filter(pi_return::Column::Status.eq(Status::SignedOff.as_str()))
            .into_tuple()
            .all(conn)
            .await?;
        if signed.is_empty() {
            continue;
        }
        // Only the four columns the check needs: a batch reads as many figures as it writes.
        let figures: Vec<(String, String, String, f64)> = pi_return_value::Entity::find()
            .select_only()
            .column(pi_return_value::Column::ReturnId)
            .column(pi_return_value::Column::IndicatorCode)
            .column(pi_return_value::Column::Split)
            .column(pi_return_value::Column::Value)
            .filter(pi_return_value::Column::ReturnId.is_in(signed))
            .filter(pi_return_value::Column::Current.eq(true))
            .into_tuple()
            .all(conn)
            .await?;
        for (return_id, code, split, value) in figures {
            out.insert((return_id, code, split), value);
        }
    }
    Ok(out)
}

/// Inserts return rows, a few hundred a statement.
pub async fn insert_returns(
    conn: &impl ConnectionTrait,
    rows: Vec<pi_return::Model>,
) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<pi_return::ActiveModel> = rows
            .by_ref()
            .take(RETURNS_PER_STATEMENT)
            .map(Into::into)
            .collect();
        pi_return::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}
