//! Delivery-plan amendments: proposed by one party, agreed or rejected by the other, or withdrawn.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dp_amendments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub plan_id: String,
    pub base_version: i32,
    /// council or almo
    pub proposed_by: String,
    pub proposer_organisation_id: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub effective_date: Date,
    /// The proposed plan content as JSON.
    #[sea_orm(column_type = "Text")]
    pub content: String,
    /// proposed, agreed, rejected, withdrawn
    pub state: String,
    pub decided_by_organisation_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub decision_note: String,
    pub resulting_version: Option<i32>,
    /// Bumped on every change; the etag is derived from it.
    pub row_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
