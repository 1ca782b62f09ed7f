//! Usage records: stored in chunks, corrections superseding what they correct.

use std::collections::BTreeMap;

use almo_db::entity::sla_usage;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use super::INSERT_CHUNK;

/// The stored usage records of an agreement with these sender ids.
pub async fn usage_by_record_ids(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    record_ids: &[String],
) -> Result<Vec<sla_usage::Model>, DbErr> {
    let mut out = Vec::new();
    for chunk in record_ids.chunks(INSERT_CHUNK) {
        out.extend(
            sla_usage::Entity::find()
                .filter(sla_usage::Column::AgreementId.eq(agreement_id))
                .filter(sla_usage::Column::RecordId.is_in(chunk.iter().cloned()))
                .all(conn)
                .await?,
        );
    }
    Ok(out)
}

/// Inserts new usage rows in chunks, then marks the records they correct as superseded.
pub async fn insert_usage(
    conn: &impl ConnectionTrait,
    rows: Vec<sla_usage::Model>,
) -> Result<(), DbErr> {
    let mut corrected: Vec<(String, String)> = Vec::new();
    for chunk in rows.chunks(INSERT_CHUNK) {
        for r in chunk {
            if let Some(c) = &r.corrects_record_id {
                corrected.push((r.agreement_id.clone(), c.clone()));
            }
        }
        sla_usage::Entity::insert_many(chunk.iter().cloned().map(|r| sla_usage::ActiveModel {
            id: NotSet,
            agreement_id: Set(r.agreement_id),
            record_id: Set(r.record_id),
            line_code: Set(r.line_code),
            period_key: Set(r.period_key),
            quantity_milli: Set(r.quantity_milli),
            corrects_record_id: Set(r.corrects_record_id),
            superseded: Set(r.superseded),
            recorded_at: Set(r.recorded_at),
        }))
        .exec_without_returning(conn)
        .await?;
    }
    let mut by_agreement: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (a, r) in corrected {
        by_agreement.entry(a).or_default().push(r);
    }
    for (a, ids) in by_agreement {
        for chunk in ids.chunks(INSERT_CHUNK) {
            sla_usage::Entity::update_many()
                .col_expr(sla_usage::Column::Superseded, Expr::value(true))
                .filter(sla_usage::Column::AgreementId.eq(&a))
                .filter(sla_usage::Column::RecordId.is_in(chunk.iter().cloned()))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

/// Units used per line code in the given months, corrections applied (superseded rows left out).
pub async fn usage_totals(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    month_keys: &[String],
) -> Result<BTreeMap<String, i64>, DbErr> {
    let rows: Vec<(String, i64)> = sla_usage::Entity::find()
        .select_only()
        .column(sla_usage::Column::LineCode)
        .column(sla_usage::Column::QuantityMilli)
        .filter(sla_usage::Column::AgreementId.eq(agreement_id))
        .filter(sla_usage::Column::PeriodKey.is_in(month_keys.iter().cloned()))
        .filter(sla_usage::Column::Superseded.eq(false))
        .into_tuple()
        .all(conn)
        .await?;
    let mut totals = BTreeMap::new();
    for (code, q) in rows {
        *totals.entry(code).or_insert(0) += q;
    }
    Ok(totals)
}
