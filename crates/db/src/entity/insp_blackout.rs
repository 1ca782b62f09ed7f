//! Inspection scheduling: another audit or inspection an ALMO has declared (000 §9.1).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insp_blackouts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub almo_id: String,
    pub label: String,
    pub start_date: Date,
    pub end_date: Date,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
