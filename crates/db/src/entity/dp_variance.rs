//! Variance figures against delivery-plan targets. A correction adds a new revision under the
//! same sender record id and marks the earlier one superseded; nothing is deleted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "dp_variances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: String,
    pub sender_record_id: String,
    pub revision: i32,
    pub superseded: bool,
    pub target_code: String,
    /// Start year of the financial year.
    pub year: i32,
    /// month or quarter
    pub period_kind: String,
    pub period_number: i32,
    pub actual: f64,
    pub forecast: Option<f64>,
    #[sea_orm(column_type = "Text")]
    pub commentary: String,
    pub recorded_by: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
