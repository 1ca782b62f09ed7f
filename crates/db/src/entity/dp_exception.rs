//! Exceptions: a target off track for N periods in a row. At most one is open per target
//! (`open_target` is the target's code while open, NULL after, under a UNIQUE index).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dp_exceptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub plan_id: String,
    pub target_code: String,
    pub open_target: Option<String>,
    pub consecutive_periods: i32,
    pub period_kind: String,
    pub first_year: i32,
    pub first_number: i32,
    pub last_year: i32,
    pub last_number: i32,
    /// open
    pub state: String,
    pub raised_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
