//! SLA charging: a credit note against an issued invoice.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_credit_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub council_id: String,
    pub credit_note_number: String,
    pub invoice_id: String,
    pub reason: String,
    pub issued_at: DateTimeUtc,
    /// Raised by a billing run to settle a back-dated variation (not a correction by hand).
    pub adjustment: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
