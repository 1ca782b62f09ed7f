//! An ALMO's options reviews (seed 002): the road to a decision on taking management back.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "almo_options_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub almo_id: String,
    /// 1 for the ALMO's first review; a new one may start once the last is decided.
    #[sea_orm(primary_key, auto_increment = false)]
    pub review_no: i32,
    pub started_on: Date,
    /// When the Department was told of the review (002 §15).
    pub department_notified_on: Option<Date>,
    /// ballot, full_survey, other (002 §12-14).
    pub opinion_method: Option<String>,
    /// What the "other comprehensive method" was, or anything else worth keeping.
    #[sea_orm(column_type = "Text", nullable)]
    pub opinion_note: Option<String>,
    pub opinion_opened_on: Option<Date>,
    pub opinion_closed_on: Option<Date>,
    /// Tenants who could take part.
    pub opinion_eligible: Option<i32>,
    /// Tenants who did (votes cast, surveys returned).
    pub opinion_responses: Option<i32>,
    /// Of those, in favour of taking management back in-house.
    pub opinion_in_favour: Option<i32>,
    /// take_back, retain.
    pub decision: Option<String>,
    pub decided_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
