//! SLA charging: an invoice for one agreement and one period; unique per (agreement, period).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub agreement_id: String,
    pub supplier_council_id: String,
    pub customer_almo_id: String,
    /// e.g. 2026-M01, 2026-Q3
    pub period_key: String,
    pub fy_start_year: i32,
    /// month, quarter
    pub period_kind: String,
    pub period_number: i32,
    /// draft, issued
    pub status: String,
    pub invoice_number: Option<String>,
    pub issued_at: Option<DateTimeUtc>,
    pub net: i64,
    pub vat: i64,
    pub row_version: i64,
    pub created_at: DateTimeUtc,
    /// A supplementary invoice: the issued invoice it adjusts for a back-dated variation.
    pub adjusts_invoice_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
