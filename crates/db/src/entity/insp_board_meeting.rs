//! Inspection scheduling: an ALMO board meeting the inspectors may observe (003 §94).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insp_board_meetings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub almo_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub meeting_date: Date,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
