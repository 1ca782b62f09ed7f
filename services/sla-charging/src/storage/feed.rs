//! The invoice feed: one entry per invoice issued or credit note raised, in position order.

use almo_db::entity::sla_feed_entry;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

pub async fn insert_feed_entry(
    conn: &impl ConnectionTrait,
    e: sla_feed_entry::Model,
) -> Result<(), DbErr> {
    sla_feed_entry::Entity::insert(sla_feed_entry::ActiveModel::from(e))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Feed entries of `council_id` after `after`, optionally for one ALMO, in position order.
pub async fn feed_after(
    conn: &impl ConnectionTrait,
    council_id: &str,
    almo: Option<&str>,
    after: i64,
    limit: u64,
) -> Result<Vec<sla_feed_entry::Model>, DbErr> {
    let mut q = sla_feed_entry::Entity::find()
        .filter(sla_feed_entry::Column::CouncilId.eq(council_id))
        .filter(sla_feed_entry::Column::Position.gt(after));
    if let Some(a) = almo {
        q = q.filter(sla_feed_entry::Column::CustomerAlmoId.eq(a));
    }
    q.order_by_asc(sla_feed_entry::Column::Position)
        .limit(limit)
        .all(conn)
        .await
}
