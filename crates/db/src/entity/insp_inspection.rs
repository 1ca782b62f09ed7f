//! Inspection scheduling: one inspection of an ALMO, its stage dates and outcome.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insp_inspections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub almo_id: String,
    pub council_id: String,
    /// The ALMO's id while the inspection is unpublished, NULL after: a UNIQUE index on it keeps
    /// one open inspection per ALMO across replicas.
    pub open_almo_id: Option<String>,
    pub on_site_date: Date,
    pub span_weeks: i32,
    pub on_site_actual: Option<Date>,
    pub draft_actual: Option<Date>,
    pub comments_actual: Option<Date>,
    pub score_letter_actual: Option<Date>,
    pub published_actual: Option<Date>,
    pub stars: Option<i32>,
    pub prospects: Option<String>,
    pub fee_pence: i64,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// 'booked' or 'cancelled'. A cancelled inspection is kept: its `open_almo_id` is NULL and its
    /// members' `insp_inspector_weeks` rows are gone, so it holds neither the ALMO nor the weeks.
    pub status: String,
    /// Set once cancelled: why, who (token subject and organisation), when.
    pub cancel_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancelled_by_org: Option<String>,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
