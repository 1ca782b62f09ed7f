//! SLA charging: one typed line of an invoice.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_invoice_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub invoice_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub line_number: i32,
    /// fixed_fee, usage, service_credit
    pub kind: String,
    pub line_code: String,
    pub description: String,
    pub quantity_milli: i64,
    pub unit_price: i64,
    pub net: i64,
    pub vat_treatment: String,
    pub vat: i64,
    /// hra, general_fund
    pub account: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
