//! SLA charging: agreements and their versions, usage, service-level results, invoices and their
//! lines, credit notes, the per-council gapless counters and the invoice feed.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SlaAgreements {
    Table,
    Id,
    SupplierCouncilId,
    CustomerAlmoId,
    Title,
    StartDate,
    EndDate,
    RowVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SlaAgreementVersions {
    Table,
    AgreementId,
    Version,
    EffectiveFrom,
    Status,
    CouncilAgreed,
    AlmoAgreed,
    Terms,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SlaUsage {
    Table,
    Id,
    AgreementId,
    RecordId,
    LineCode,
    PeriodKey,
    QuantityMilli,
    CorrectsRecordId,
    Superseded,
    RecordedAt,
}

#[derive(DeriveIden)]
enum SlaLevelResults {
    Table,
    AgreementId,
    LevelCode,
    PeriodKey,
    Value,
    RecordedAt,
}

#[derive(DeriveIden)]
enum SlaInvoices {
    Table,
    Id,
    AgreementId,
    SupplierCouncilId,
    CustomerAlmoId,
    PeriodKey,
    FyStartYear,
    PeriodKind,
    PeriodNumber,
    Status,
    InvoiceNumber,
    IssuedAt,
    Net,
    Vat,
    RowVersion,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SlaInvoiceLines {
    Table,
    InvoiceId,
    LineNumber,
    Kind,
    LineCode,
    Description,
    QuantityMilli,
    UnitPrice,
    Net,
    VatTreatment,
    Vat,
    Account,
}

#[derive(DeriveIden)]
enum SlaCouncilCounters {
    Table,
    CouncilId,
    LastInvoiceNumber,
    LastCreditNoteNumber,
    LastFeedPosition,
}

#[derive(DeriveIden)]
enum SlaFeedEntries {
    Table,
    CouncilId,
    Position,
    CustomerAlmoId,
    Kind,
    InvoiceId,
    CreditNoteId,
    At,
}

#[derive(DeriveIden)]
enum SlaCreditNotes {
    Table,
    Id,
    CouncilId,
    CreditNoteNumber,
    InvoiceId,
    Reason,
    IssuedAt,
}

#[derive(DeriveIden)]
enum SlaCreditNoteLines {
    Table,
    CreditNoteId,
    InvoiceLineNumber,
    InvoiceId,
    Net,
    Vat,
}

#[derive(DeriveIden)]
enum SlaDisputes {
    Table,
    Id,
    InvoiceId,
    InvoiceLineNumber,
    SupplierCouncilId,
    CustomerAlmoId,
    Reason,
    Status,
    RaisedBy,
    RaisedAt,
    Response,
    CreditNoteId,
    ResolvedAt,
    RowVersion,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

fn index(name: &str, table: impl IntoIden, cols: &[&dyn Fn() -> DynIden]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c());
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SlaAgreements::Table)
                    .col(string(SlaAgreements::Id).primary_key())
                    .col(string(SlaAgreements::SupplierCouncilId))
                    .col(string(SlaAgreements::CustomerAlmoId))
                    .col(string(SlaAgreements::Title))
                    .col(date(SlaAgreements::StartDate))
                    .col(date(SlaAgreements::EndDate))
                    .col(big_integer(SlaAgreements::RowVersion))
                    .col(timestamp_with_time_zone(SlaAgreements::CreatedAt))
                    .col(timestamp_with_time_zone(SlaAgreements::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_agreements_council")
                            .from(SlaAgreements::Table, SlaAgreements::SupplierCouncilId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_agreements_almo")
                            .from(SlaAgreements::Table, SlaAgreements::CustomerAlmoId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sla_agreements_council",
                SlaAgreements::Table,
                &[&|| SlaAgreements::SupplierCouncilId.into_iden()],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_sla_agreements_almo",
                SlaAgreements::Table,
                &[&|| SlaAgreements::CustomerAlmoId.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaAgreementVersions::Table)
                    .col(string(SlaAgreementVersions::AgreementId))
                    .col(integer(SlaAgreementVersions::Version))
                    .col(date(SlaAgreementVersions::EffectiveFrom))
                    .col(string(SlaAgreementVersions::Status))
                    .col(boolean(SlaAgreementVersions::CouncilAgreed))
                    .col(boolean(SlaAgreementVersions::AlmoAgreed))
                    .col(text(SlaAgreementVersions::Terms))
                    .col(timestamp_with_time_zone(SlaAgreementVersions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(SlaAgreementVersions::AgreementId)
                            .col(SlaAgreementVersions::Version),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_agreement_versions_agreement")
                            .from(
                                SlaAgreementVersions::Table,
                                SlaAgreementVersions::AgreementId,
                            )
                            .to(SlaAgreements::Table, SlaAgreements::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaUsage::Table)
                    .col(big_pk_auto(SlaUsage::Id))
                    .col(string(SlaUsage::AgreementId))
                    .col(string(SlaUsage::RecordId))
                    .col(string(SlaUsage::LineCode))
                    .col(string(SlaUsage::PeriodKey))
                    .col(big_integer(SlaUsage::QuantityMilli))
                    .col(string_null(SlaUsage::CorrectsRecordId))
                    .col(boolean(SlaUsage::Superseded))
                    .col(timestamp_with_time_zone(SlaUsage::RecordedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_usage_agreement")
                            .from(SlaUsage::Table, SlaUsage::AgreementId)
                            .to(SlaAgreements::Table, SlaAgreements::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The sender's record id makes usage idempotent.
        manager
            .create_index(
                index(
                    "ux_sla_usage_record",
                    SlaUsage::Table,
                    &[&|| SlaUsage::AgreementId.into_iden(), &|| {
                        SlaUsage::RecordId.into_iden()
                    }],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sla_usage_period",
                SlaUsage::Table,
                &[&|| SlaUsage::AgreementId.into_iden(), &|| {
                    SlaUsage::PeriodKey.into_iden()
                }],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaLevelResults::Table)
                    .col(string(SlaLevelResults::AgreementId))
                    .col(string(SlaLevelResults::LevelCode))
                    .col(string(SlaLevelResults::PeriodKey))
                    .col(double(SlaLevelResults::Value))
                    .col(timestamp_with_time_zone(SlaLevelResults::RecordedAt))
                    .primary_key(
                        Index::create()
                            .col(SlaLevelResults::AgreementId)
                            .col(SlaLevelResults::LevelCode)
                            .col(SlaLevelResults::PeriodKey),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_level_results_agreement")
                            .from(SlaLevelResults::Table, SlaLevelResults::AgreementId)
                            .to(SlaAgreements::Table, SlaAgreements::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaInvoices::Table)
                    .col(string(SlaInvoices::Id).primary_key())
                    .col(string(SlaInvoices::AgreementId))
                    .col(string(SlaInvoices::SupplierCouncilId))
                    .col(string(SlaInvoices::CustomerAlmoId))
                    .col(string(SlaInvoices::PeriodKey))
                    .col(integer(SlaInvoices::FyStartYear))
                    .col(string(SlaInvoices::PeriodKind))
                    .col(integer(SlaInvoices::PeriodNumber))
                    .col(string(SlaInvoices::Status))
                    .col(string_null(SlaInvoices::InvoiceNumber))
                    .col(timestamp_with_time_zone_null(SlaInvoices::IssuedAt))
                    .col(big_integer(SlaInvoices::Net))
                    .col(big_integer(SlaInvoices::Vat))
                    .col(big_integer(SlaInvoices::RowVersion))
                    .col(timestamp_with_time_zone(SlaInvoices::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_invoices_agreement")
                            .from(SlaInvoices::Table, SlaInvoices::AgreementId)
                            .to(SlaAgreements::Table, SlaAgreements::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One invoice per agreement and period, whatever the billing run does.
        manager
            .create_index(
                index(
                    "ux_sla_invoices_agreement_period",
                    SlaInvoices::Table,
                    &[&|| SlaInvoices::AgreementId.into_iden(), &|| {
                        SlaInvoices::PeriodKey.into_iden()
                    }],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_sla_invoices_number",
                    SlaInvoices::Table,
                    &[&|| SlaInvoices::InvoiceNumber.into_iden()],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sla_invoices_council_period",
                SlaInvoices::Table,
                &[&|| SlaInvoices::SupplierCouncilId.into_iden(), &|| {
                    SlaInvoices::PeriodKey.into_iden()
                }],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaInvoiceLines::Table)
                    .col(string(SlaInvoiceLines::InvoiceId))
                    .col(integer(SlaInvoiceLines::LineNumber))
                    .col(string(SlaInvoiceLines::Kind))
                    .col(string(SlaInvoiceLines::LineCode))
                    .col(text(SlaInvoiceLines::Description))
                    .col(big_integer(SlaInvoiceLines::QuantityMilli))
                    .col(big_integer(SlaInvoiceLines::UnitPrice))
                    .col(big_integer(SlaInvoiceLines::Net))
                    .col(string(SlaInvoiceLines::VatTreatment))
                    .col(big_integer(SlaInvoiceLines::Vat))
                    .col(string(SlaInvoiceLines::Account))
                    .primary_key(
                        Index::create()
                            .col(SlaInvoiceLines::InvoiceId)
                            .col(SlaInvoiceLines::LineNumber),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_invoice_lines_invoice")
                            .from(SlaInvoiceLines::Table, SlaInvoiceLines::InvoiceId)
                            .to(SlaInvoices::Table, SlaInvoices::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaCouncilCounters::Table)
                    .col(string(SlaCouncilCounters::CouncilId).primary_key())
                    .col(big_integer(SlaCouncilCounters::LastInvoiceNumber))
                    .col(big_integer(SlaCouncilCounters::LastCreditNoteNumber))
                    .col(big_integer(SlaCouncilCounters::LastFeedPosition))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaFeedEntries::Table)
                    .col(string(SlaFeedEntries::CouncilId))
                    .col(big_integer(SlaFeedEntries::Position))
                    .col(string(SlaFeedEntries::CustomerAlmoId))
                    .col(string(SlaFeedEntries::Kind))
                    .col(string(SlaFeedEntries::InvoiceId))
                    .col(string_null(SlaFeedEntries::CreditNoteId))
                    .col(timestamp_with_time_zone(SlaFeedEntries::At))
                    .primary_key(
                        Index::create()
                            .col(SlaFeedEntries::CouncilId)
                            .col(SlaFeedEntries::Position),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sla_feed_almo",
                SlaFeedEntries::Table,
                &[&|| SlaFeedEntries::CustomerAlmoId.into_iden(), &|| {
                    SlaFeedEntries::Position.into_iden()
                }],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaCreditNotes::Table)
                    .col(string(SlaCreditNotes::Id).primary_key())
                    .col(string(SlaCreditNotes::CouncilId))
                    .col(string(SlaCreditNotes::CreditNoteNumber).unique_key())
                    .col(string(SlaCreditNotes::InvoiceId))
                    .col(text(SlaCreditNotes::Reason))
                    .col(timestamp_with_time_zone(SlaCreditNotes::IssuedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_credit_notes_invoice")
                            .from(SlaCreditNotes::Table, SlaCreditNotes::InvoiceId)
                            .to(SlaInvoices::Table, SlaInvoices::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaCreditNoteLines::Table)
                    .col(string(SlaCreditNoteLines::CreditNoteId))
                    .col(integer(SlaCreditNoteLines::InvoiceLineNumber))
                    .col(string(SlaCreditNoteLines::InvoiceId))
                    .col(big_integer(SlaCreditNoteLines::Net))
                    .col(big_integer(SlaCreditNoteLines::Vat))
                    .primary_key(
                        Index::create()
                            .col(SlaCreditNoteLines::CreditNoteId)
                            .col(SlaCreditNoteLines::InvoiceLineNumber),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_credit_note_lines_note")
                            .from(SlaCreditNoteLines::Table, SlaCreditNoteLines::CreditNoteId)
                            .to(SlaCreditNotes::Table, SlaCreditNotes::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaDisputes::Table)
                    .col(string(SlaDisputes::Id).primary_key())
                    .col(string(SlaDisputes::InvoiceId))
                    .col(integer(SlaDisputes::InvoiceLineNumber))
                    .col(string(SlaDisputes::SupplierCouncilId))
                    .col(string(SlaDisputes::CustomerAlmoId))
                    .col(text(SlaDisputes::Reason))
                    .col(string(SlaDisputes::Status))
                    .col(string(SlaDisputes::RaisedBy))
                    .col(timestamp_with_time_zone(SlaDisputes::RaisedAt))
                    .col(text_null(SlaDisputes::Response))
                    .col(string_null(SlaDisputes::CreditNoteId))
                    .col(timestamp_with_time_zone_null(SlaDisputes::ResolvedAt))
                    .col(big_integer(SlaDisputes::RowVersion))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sla_disputes_invoice")
                            .from(SlaDisputes::Table, SlaDisputes::InvoiceId)
                            .to(SlaInvoices::Table, SlaInvoices::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sla_disputes_invoice_line",
                SlaDisputes::Table,
                &[&|| SlaDisputes::InvoiceId.into_iden(), &|| {
                    SlaDisputes::InvoiceLineNumber.into_iden()
                }],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_sla_credit_note_lines_invoice",
                SlaCreditNoteLines::Table,
                &[&|| SlaCreditNoteLines::InvoiceId.into_iden()],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SlaDisputes::Table.into_iden(),
            SlaCreditNoteLines::Table.into_iden(),
            SlaCreditNotes::Table.into_iden(),
            SlaFeedEntries::Table.into_iden(),
            SlaCouncilCounters::Table.into_iden(),
            SlaInvoiceLines::Table.into_iden(),
            SlaInvoices::Table.into_iden(),
            SlaLevelResults::Table.into_iden(),
            SlaUsage::Table.into_iden(),
            SlaAgreementVersions::Table.into_iden(),
            SlaAgreements::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
