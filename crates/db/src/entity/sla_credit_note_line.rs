//! SLA charging: what a credit note credits on one invoice line (positive amounts).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_credit_note_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub credit_note_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub invoice_line_number: i32,
    pub invoice_id: String,
    pub net: i64,
    pub vat: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
