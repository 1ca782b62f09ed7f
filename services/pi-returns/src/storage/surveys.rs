//! A return's tenant surveys, one per tenure: replaced whole when given again.

use almo_db::entity::pi_return_survey;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

/// The surveys of `return_ids`, by return then tenure.
pub async fn surveys_of(
    conn: &impl ConnectionTrait,
    return_ids: &[String],
) -> Result<Vec<pi_return_survey::Model>, DbErr> {
    if return_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for chunk in return_ids.chunks(500) {
        out.extend(
            pi_return_survey::Entity::find()
                .filter(pi_return_survey::Column::ReturnId.is_in(chunk.iter().cloned()))
                .order_by_asc(pi_return_survey::Column::ReturnId)
                .order_by_asc(pi_return_survey::Column::Tenure)
                .all(conn)
                .await?,
        );
    }
    Ok(out)
}

/// Records `survey` as its return's survey of its tenure, replacing any earlier one.
pub async fn put_survey(
    conn: &impl ConnectionTrait,
    survey: pi_return_survey::Model,
) -> Result<(), DbErr> {
    pi_return_survey::Entity::delete_many()
        .filter(pi_return_survey::Column::ReturnId.eq(survey.return_id.clone()))
        .filter(pi_return_survey::Column::Tenure.eq(survey.tenure.clone()))
        .exec(conn)
        .await?;
    pi_return_survey::Entity::insert(pi_return_survey::ActiveModel::from(survey))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
