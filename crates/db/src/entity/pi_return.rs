//! PI returns: one organisation's return for one period.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pi_returns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organisation_id: String,
    /// The financial year's start year.
    pub year: i32,
    /// quarter or year
    pub period_kind: String,
    /// 1-4 for quarters, 1 for the year.
    pub period_number: i32,
    /// draft, submitted, signed_off, returned
    pub status: String,
    pub deadline_date: Date,
    pub late: bool,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<DateTimeUtc>,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<DateTimeUtc>,
    pub returned_reason: Option<String>,
    /// Revisions made after sign-off.
    pub revision: i32,
    /// The tenant survey behind perception measures: how many answered...
    pub survey_sample_size: Option<i32>,
    /// ...and how it was run: postal, telephone, online, face_to_face, mixed.
    pub survey_method: Option<String>,
    pub created_by: String,
    /// Bumped on every change; the etag is derived from it.
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
