//! PI returns: indicator definitions, one row per indicator and first financial year in force.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pi_indicator_definitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    /// The first financial year (its start year: 2003 is 2003/04) this definition applies to.
    #[sea_orm(primary_key, auto_increment = false)]
    pub from_year: i32,
    /// The last financial year it applies to; `None` while in force.
    pub to_year: Option<i32>,
    pub title: String,
    /// The whole definition as JSON (the catalogue file's format), so new fields need no
    /// migration.
    #[sea_orm(column_type = "Text")]
    pub definition: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
