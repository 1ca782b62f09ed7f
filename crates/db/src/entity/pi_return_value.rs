//! PI returns: every value ever recorded on a return. A new value supersedes the current one of
//! its indicator and split (`current` goes false) and never overwrites it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pi_return_values")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub return_id: String,
    pub indicator_code: String,
    /// Empty for the headline figure.
    pub split: String,
    /// 1 for the first entry of this indicator and split on the return, then 2, 3, ...
    pub sequence: i32,
    pub value: f64,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// The data-quality warnings raised, one per line.
    #[sea_orm(column_type = "Text")]
    pub warnings: String,
    #[sea_orm(column_type = "Text")]
    pub explanation: String,
    /// For a revision of a signed-off return: why.
    #[sea_orm(column_type = "Text")]
    pub revision_reason: String,
    pub changed_by: String,
    pub changed_at: DateTimeUtc,
    pub current: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
