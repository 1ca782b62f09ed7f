//! SLA charging: the council's invoice feed (issued invoices and credit notes) that ALMO finance
//! pulls by watermark.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_feed_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub council_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i64,
    pub customer_almo_id: String,
    /// invoice_issued, credit_note_issued
    pub kind: String,
    pub invoice_id: String,
    pub credit_note_id: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
