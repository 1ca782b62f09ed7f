//! PI returns: a return's tenant surveys, one per tenure (low-cost rental, low-cost home
//! ownership), with what the precision check needs (relevant homes and responses) and what is
//! reported with it (method, fieldwork dates, weighting). The columns `survey_sample_size` and
//! `survey_method` of `pi_returns` stay, and carry the low-cost rental survey for older readers.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PiReturnSurveys {
    Table,
    ReturnId,
    Tenure,
    RelevantHomes,
    Responses,
    Method,
    FieldworkStart,
    FieldworkEnd,
    Weighted,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PiReturns {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PiReturnSurveys::Table)
                    .col(string(PiReturnSurveys::ReturnId))
                    .col(string(PiReturnSurveys::Tenure))
                    .col(integer_null(PiReturnSurveys::RelevantHomes))
                    .col(integer(PiReturnSurveys::Responses))
                    .col(string(PiReturnSurveys::Method))
                    .col(date_null(PiReturnSurveys::FieldworkStart))
                    .col(date_null(PiReturnSurveys::FieldworkEnd))
                    .col(boolean(PiReturnSurveys::Weighted))
                    .col(timestamp_with_time_zone(PiReturnSurveys::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(PiReturnSurveys::ReturnId)
                            .col(PiReturnSurveys::Tenure),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pi_return_surveys_return")
                            .from(PiReturnSurveys::Table, PiReturnSurveys::ReturnId)
                            .to(PiReturns::Table, PiReturns::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PiReturnSurveys::Table).to_owned())
            .await
    }
}
