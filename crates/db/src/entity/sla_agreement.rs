//! SLA charging: an agreement between a council (supplier) and one of its ALMOs (customer).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_agreements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub supplier_council_id: String,
    pub customer_almo_id: String,
    pub title: String,
    pub start_date: Date,
    pub end_date: Date,
    /// Bumped whenever a version is added or agreed; the etag is derived from it.
    pub row_version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
