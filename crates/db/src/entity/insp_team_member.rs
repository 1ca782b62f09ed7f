//! Inspection scheduling: who is on an inspection's team (also the history of who inspected whom).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insp_team_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub inspection_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub inspector_id: String,
    pub role: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
