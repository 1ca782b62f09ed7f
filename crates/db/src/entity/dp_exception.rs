//! Exceptions: a target off track for N periods in a row. At most one is open per target
//! (`open_target` is the target's code until the council accepts the ALMO's report, then
//! NULL, under a UNIQUE index).

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
    /// open, answered, accepted, escalated
    pub state: String,
    pub raised_at: DateTimeUtc,
    /// The ALMO's exception report.
    #[sea_orm(column_type = "Text")]
    pub report_cause: String,
    #[sea_orm(column_type = "Text")]
    pub report_recovery_action: String,
    pub report_recovery_date: Option<Date>,
    pub reported_by: Option<String>,
    pub reported_at: Option<DateTimeUtc>,
    /// The council's decision on the report.
    #[sea_orm(column_type = "Text")]
    pub decision_note: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    /// Bumped on every change; the etag is derived from it.
    pub row_version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
