//! PI returns: the tenant survey behind a return's perception measures, one per tenure.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pi_return_surveys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub return_id: String,
    /// lcra (low-cost rental) or lcho (low-cost home ownership).
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenure: String,
    /// Relevant homes the survey was drawn from (the population); unknown for a survey
    /// described before it was asked for.
    pub relevant_homes: Option<i32>,
    /// Tenants who answered.
    pub responses: i32,
    /// postal, telephone, online, face_to_face, mixed
    pub method: String,
    pub fieldwork_start: Option<Date>,
    pub fieldwork_end: Option<Date>,
    /// Whether the results were weighted.
    pub weighted: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
