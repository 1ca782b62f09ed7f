//! Inspection scheduling: an inspector's on-site week. The primary key (inspector, week) is what
//! stops two replicas booking the same person twice for the same week.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insp_inspector_weeks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub inspector_id: String,
    /// The Monday of the on-site week.
    #[sea_orm(primary_key, auto_increment = false)]
    pub week_start: Date,
    pub inspection_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
