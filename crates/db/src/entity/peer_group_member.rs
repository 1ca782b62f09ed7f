//! Members of a peer group.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "peer_group_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub peer_group_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
