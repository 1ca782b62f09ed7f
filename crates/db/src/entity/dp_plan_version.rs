//! Every version of every delivery plan. Versions are only ever added, never changed, so every
//! earlier version stays readable.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dp_plan_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plan_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub version: i32,
    pub effective_date: Date,
    /// The amendment that made it; `None` for version 1.
    pub amendment_id: Option<String>,
    /// What made this version when it was not an amendment (a capital re-profile).
    #[sea_orm(column_type = "Text")]
    pub note: String,
    /// The plan content as JSON (the service's domain type).
    #[sea_orm(column_type = "Text")]
    pub content: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
