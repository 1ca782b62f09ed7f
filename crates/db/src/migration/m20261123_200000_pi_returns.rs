//! PI returns: the indicator catalogue (versioned by financial year), returns, and every value
//! ever recorded on them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PiIndicatorDefinitions {
    Table,
    Code,
    FromYear,
    ToYear,
    Title,
    Definition,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PiReturns {
    Table,
    Id,
    OrganisationId,
    Year,
    PeriodKind,
    PeriodNumber,
    Status,
    DeadlineDate,
    Late,
    SubmittedBy,
    SubmittedAt,
    SignedOffBy,
    SignedOffAt,
    ReturnedReason,
    Revision,
    SurveySampleSize,
    SurveyMethod,
    CreatedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PiReturnValues {
    Table,
    Id,
    ReturnId,
    IndicatorCode,
    Split,
    Sequence,
    Value,
    Numerator,
    Denominator,
    Warnings,
    Explanation,
    RevisionReason,
    ChangedBy,
    ChangedAt,
    Current,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PiIndicatorDefinitions::Table)
                    .col(string(PiIndicatorDefinitions::Code))
                    .col(integer(PiIndicatorDefinitions::FromYear))
                    .col(integer_null(PiIndicatorDefinitions::ToYear))
                    .col(string(PiIndicatorDefinitions::Title))
                    .col(text(PiIndicatorDefinitions::Definition))
                    .col(timestamp_with_time_zone(PiIndicatorDefinitions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(PiIndicatorDefinitions::Code)
                            .col(PiIndicatorDefinitions::FromYear),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PiReturns::Table)
                    .col(string(PiReturns::Id).primary_key())
                    .col(string(PiReturns::OrganisationId))
                    .col(integer(PiReturns::Year))
                    .col(string(PiReturns::PeriodKind))
                    .col(integer(PiReturns::PeriodNumber))
                    .col(string(PiReturns::Status))
                    .col(date(PiReturns::DeadlineDate))
                    .col(boolean(PiReturns::Late))
                    .col(string_null(PiReturns::SubmittedBy))
                    .col(timestamp_with_time_zone_null(PiReturns::SubmittedAt))
                    .col(string_null(PiReturns::SignedOffBy))
                    .col(timestamp_with_time_zone_null(PiReturns::SignedOffAt))
                    .col(text_null(PiReturns::ReturnedReason))
                    .col(integer(PiReturns::Revision))
                    .col(integer_null(PiReturns::SurveySampleSize))
                    .col(string_null(PiReturns::SurveyMethod))
                    .col(string(PiReturns::CreatedBy))
                    .col(big_integer(PiReturns::Version))
                    .col(timestamp_with_time_zone(PiReturns::CreatedAt))
                    .col(timestamp_with_time_zone(PiReturns::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pi_returns_organisation")
                            .from(PiReturns::Table, PiReturns::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One return per organisation and period, however many replicas race to open it.
        manager
            .create_index(
                Index::create()
                    .name("ux_pi_returns_org_period")
                    .table(PiReturns::Table)
                    .col(PiReturns::OrganisationId)
                    .col(PiReturns::Year)
                    .col(PiReturns::PeriodKind)
                    .col(PiReturns::PeriodNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pi_returns_year_status")
                    .table(PiReturns::Table)
                    .col(PiReturns::Year)
                    .col(PiReturns::PeriodKind)
                    .col(PiReturns::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PiReturnValues::Table)
                    .col(big_pk_auto(PiReturnValues::Id))
                    .col(string(PiReturnValues::ReturnId))
                    .col(string(PiReturnValues::IndicatorCode))
                    .col(string(PiReturnValues::Split))
                    .col(integer(PiReturnValues::Sequence))
                    .col(double(PiReturnValues::Value))
                    .col(double_null(PiReturnValues::Numerator))
                    .col(double_null(PiReturnValues::Denominator))
                    .col(text(PiReturnValues::Warnings))
                    .col(text(PiReturnValues::Explanation))
                    .col(text(PiReturnValues::RevisionReason))
                    .col(string(PiReturnValues::ChangedBy))
                    .col(timestamp_with_time_zone(PiReturnValues::ChangedAt))
                    .col(boolean(PiReturnValues::Current))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pi_return_values_return")
                            .from(PiReturnValues::Table, PiReturnValues::ReturnId)
                            .to(PiReturns::Table, PiReturns::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A value is never overwritten: each entry of an indicator and split has its own sequence.
        manager
            .create_index(
                Index::create()
                    .name("ux_pi_return_values_entry")
                    .table(PiReturnValues::Table)
                    .col(PiReturnValues::ReturnId)
                    .col(PiReturnValues::IndicatorCode)
                    .col(PiReturnValues::Split)
                    .col(PiReturnValues::Sequence)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Benchmarking reads the current values of one indicator across every return.
        manager
            .create_index(
                Index::create()
                    .name("idx_pi_return_values_indicator")
                    .table(PiReturnValues::Table)
                    .col(PiReturnValues::IndicatorCode)
                    .col(PiReturnValues::Current)
                    .col(PiReturnValues::ReturnId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PiReturnValues::Table.into_iden(),
            PiReturns::Table.into_iden(),
            PiIndicatorDefinitions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
