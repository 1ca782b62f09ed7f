//! Inspection scheduling: a period when an inspector cannot be on site.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insp_unavailability")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub inspector_id: String,
    pub start_date: Date,
    pub end_date: Date,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
