//! SLA charging: units used on a service line in a month. A correction is a new record that
//! supersedes the one it corrects; nothing is deleted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_usage")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agreement_id: String,
    /// The sender's id; unique per agreement.
    pub record_id: String,
    pub line_code: String,
    /// The month, e.g. 2026-M01.
    pub period_key: String,
    pub quantity_milli: i64,
    pub corrects_record_id: Option<String>,
    pub superseded: bool,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
