//! What happened to delivery plans, in order: variances recorded, status changes, exceptions
//! raised and answered, amendments proposed and answered. Written in the transaction of the
//! change itself; the id is the cursor a watcher resumes from.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dp_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: String,
    /// variances_recorded, status_changed, exception_raised, exception_answered,
    /// exception_accepted, exception_escalated, amendment_proposed, amendment_agreed,
    /// amendment_rejected, amendment_withdrawn
    pub kind: String,
    /// The target, exception or amendment the event is about.
    pub subject_id: String,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
