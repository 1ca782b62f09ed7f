//! SLA charging: an ALMO's dispute of an issued invoice line, and how the council resolved it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_disputes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub invoice_id: String,
    pub invoice_line_number: i32,
    pub supplier_council_id: String,
    pub customer_almo_id: String,
    pub reason: String,
    /// open, credited, rejected
    pub status: String,
    pub raised_by: String,
    pub raised_at: DateTimeUtc,
    pub response: Option<String>,
    pub credit_note_id: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    pub row_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
