//! Value rows: every figure ever recorded on a return, the current one of each indicator and split
//! marked `current`, earlier ones kept with who recorded them and when.

use std::collections::{BTreeMap, BTreeSet};

use almo_db::entity::{pi_return, pi_return_value};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::domain::period::Period;
use crate::domain::validation::Accepted;
use crate::domain::workflow::Status;

/// The current values of `return_ids`, by return, indicator and split.
pub async fn current_values(
    conn: &impl ConnectionTrait,
    return_ids: &[String],
    indicator: Option<&str>,
) -> Result<Vec<pi_return_value::Model>, DbErr> {
    if return_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = pi_return_value::Entity::find()
        .filter(pi_return_value::Column::ReturnId.is_in(return_ids.iter().cloned()))
        .filter(pi_return_value::Column::Current.eq(true));
    if let Some(code) = indicator {
        q = q.filter(pi_return_value::Column::IndicatorCode.eq(code));
    }
    q.order_by_asc(pi_return_value::Column::ReturnId)
        .order_by_asc(pi_return_value::Column::IndicatorCode)
        .order_by_asc(pi_return_value::Column::Split)
        .all(conn)
        .await
}

/// Every value ever recorded on a return, oldest first.
pub async fn history(
    conn: &impl ConnectionTrait,
    return_id: &str,
) -> Result<Vec<pi_return_value::Model>, DbErr> {
    pi_return_value::Entity::find()
        .filter(pi_return_value::Column::ReturnId.eq(return_id))
        .order_by_asc(pi_return_value::Column::IndicatorCode)
        .order_by_asc(pi_return_value::Column::Split)
        .order_by_asc(pi_return_value::Column::Sequence)
        .all(conn)
        .await
}

/// A value to record: which indicator and split, the accepted figure.
pub struct NewValue {
    pub indicator_code: String,
    pub split: String,
    pub accepted: Accepted,
}

/// Records `values` on a return: each supersedes the current value of its indicator and split,
/// which stays in the table (`current = false`) with who recorded it and when.
pub async fn append_values(
    conn: &impl ConnectionTrait,
    return_id: &str,
    values: Vec<NewValue>,
    changed_by: &str,
    revision_reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if values.is_empty() {
        return Ok(());
    }
    let current = current_values(conn, &[return_id.to_string()], None).await?;
    let sequence: BTreeMap<(String, String), i32> = current
        .iter()
        .map(|v| ((v.indicator_code.clone(), v.split.clone()), v.sequence))
        .collect();
    let mut superseded = Condition::any();
    let mut any_superseded = false;
    for v in &values {
        if sequence.contains_key(&(v.indicator_code.clone(), v.split.clone())) {
            any_superseded = true;
            superseded = superseded.add(
                Condition::all()
                    .add(pi_return_value::Column::IndicatorCode.eq(v.indicator_code.clone()))
                    .add(pi_return_value::Column::Split.eq(v.split.clone())),
            );
        }
    }
    if any_superseded {
        pi_return_value::Entity::update_many()
            .col_expr(pi_return_value::Column::Current, Expr::value(false))
            .filter(pi_return_value::Column::ReturnId.eq(return_id))
            .filter(pi_return_value::Column::Current.eq(true))
            .filter(superseded)
            .exec(conn)
            .await?;
    }
    let rows: Vec<pi_return_value::ActiveModel> = values
        .into_iter()
        .map(|v| {
            let seq = sequence
                .get(&(v.indicator_code.clone(), v.split.clone()))
                .copied()
                .unwrap_or(0)
                + 1;
            pi_return_value::ActiveModel {
                return_id: Set(return_id.to_string()),
                indicator_code: Set(v.indicator_code),
                split: Set(v.split),
                sequence: Set(seq),
                value: Set(v.accepted.value),
                numerator: Set(v.accepted.numerator),
                denominator: Set(v.accepted.denominator),
                warnings: Set(v.accepted.warnings.join("\n")),
                explanation: Set(v.accepted.explanation),
                revision_reason: Set(revision_reason.to_string()),
                changed_by: Set(changed_by.to_string()),
                changed_at: Set(now),
                current: Set(true),
                ..Default::default()
            }
        })
        .collect();
    insert_values(conn, rows).await
}

/// Inserts value rows in chunks (one statement per ~500 rows, never one per row).
pub async fn insert_values(
    conn: &impl ConnectionTrait,
    rows: Vec<pi_return_value::ActiveModel>,
) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        pi_return_value::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The organisation's signed-off figures for the same period a year earlier, by indicator and
/// split: the base for "a change on last year" warnings.
pub async fn last_year_values(
    conn: &impl ConnectionTrait,
    organisation_id: &str,
    period: &Period,
) -> Result<BTreeMap<(String, String), f64>, DbErr> {
    let prior = pi_return::Entity::find()
        .filter(pi_return::Column::OrganisationId.eq(organisation_id))
        .filter(pi_return::Column::Year.eq(period.year - 1))
        .filter(pi_return::Column::PeriodKind.eq(period.kind.as_str()))
        .filter(pi_return::Column::PeriodNumber.eq(period.number))
        .filter(pi_return::Column::Status.eq(Status::SignedOff.as_str()))
        .one(conn)
        .await?;
    let Some(prior) = prior else {
        return Ok(BTreeMap::new());
    };
    Ok(current_values(conn, &[prior.id], None)
        .await?
        .into_iter()
        .map(|v| ((v.indicator_code, v.split), v.value))
        .collect())
}

/// The indicator codes a return carries a value for.
pub fn codes_present(values: &[pi_return_value::Model]) -> BTreeSet<String> {
    values.iter().map(|v| v.indicator_code.clone()).collect()
}
