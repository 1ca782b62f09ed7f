//! SLA charging: one version of an agreement's terms (lines and levels, as JSON: always read and
//! written whole, never changed once active).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_agreement_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub agreement_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub effective_from: Date,
    /// draft, active
    pub status: String,
    pub council_agreed: bool,
    pub almo_agreed: bool,
    #[sea_orm(column_type = "Text")]
    pub terms: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
