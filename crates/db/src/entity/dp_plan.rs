//! Delivery plans: one row per plan (a council-ALMO pair over a span of financial years). What
//! the plan says lives in its versions (`dp_plan_version`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dp_plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub council_id: String,
    pub almo_id: String,
    pub title: String,
    /// Start year of the first financial year covered (2003 = 2003/04).
    pub first_year: i32,
    pub last_year: i32,
    /// The newest version's number; the plan's etag is derived from it.
    pub latest_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
