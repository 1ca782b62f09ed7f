//! Service-level results, one per level and period.

use std::collections::BTreeMap;

use almo_db::entity::sla_level_result;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// Records a result, replacing an earlier one for the same level and period.
pub async fn upsert_result(
    conn: &impl ConnectionTrait,
    r: sla_level_result::Model,
) -> Result<(), DbErr> {
    sla_level_result::Entity::insert(sla_level_result::ActiveModel::from(r))
        .on_conflict(
            OnConflict::columns([
                sla_level_result::Column::AgreementId,
                sla_level_result::Column::LevelCode,
                sla_level_result::Column::PeriodKey,
            ])
            .update_columns([
                sla_level_result::Column::Value,
                sla_level_result::Column::RecordedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn results_for(
    conn: &impl ConnectionTrait,
    agreement_id: &str,
    period_key: &str,
) -> Result<BTreeMap<String, f64>, DbErr> {
    Ok(sla_level_result::Entity::find()
        .filter(sla_level_result::Column::AgreementId.eq(agreement_id))
        .filter(sla_level_result::Column::PeriodKey.eq(period_key))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.level_code, r.value))
        .collect())
}
