//! The outbox of ALMO lifecycle events: written by the directory in the transaction of the
//! change, read by watchers and by each service's consumer. Ids are given in commit order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lifecycle_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    /// The ALMO the event is about.
    pub organisation_id: String,
    /// Its council.
    pub council_id: Option<String>,
    /// See `almo_db::lifecycle::Kind`.
    pub kind: String,
    /// JSON: the dates and figures of the change.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
