//! How tenants' opinion was tested when management was transferred to an ALMO (seed 002 §12-14).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "almo_transfer_opinions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub almo_id: String,
    /// ballot, full_survey, other.
    pub method: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
