//! SLA charging: a variation agreed with effect inside an already-invoiced period is settled by an
//! adjustment that references the original invoice, never by editing it. A supplementary invoice
//! names the invoice it adjusts (`adjusts_invoice_id`); a credit note raised by a billing run for
//! a variation is marked `adjustment`, so a later run counts it as settled while a correction by
//! hand is not mistaken for one. Existing rows adjust nothing.
//!
//! One column per ALTER TABLE: SQLite adds one column at a time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SlaInvoices {
    Table,
    AdjustsInvoiceId,
}

#[derive(DeriveIden)]
enum SlaCreditNotes {
    Table,
    Adjustment,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SlaInvoices::Table)
                    .add_column(string_null(SlaInvoices::AdjustsInvoiceId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SlaCreditNotes::Table)
                    .add_column(boolean(SlaCreditNotes::Adjustment).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SlaCreditNotes::Table)
                    .drop_column(SlaCreditNotes::Adjustment)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SlaInvoices::Table)
                    .drop_column(SlaInvoices::AdjustsInvoiceId)
                    .to_owned(),
            )
            .await
    }
}
