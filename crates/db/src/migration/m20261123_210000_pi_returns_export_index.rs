//! PI returns: an index on (year, id) so that keyset pages of a year's returns in id order
//! (ExportReturns, QueryReturns) are a range scan. Without it each page read every return of the
//! year through the (year, period kind, status) index and sorted them: quadratic in the export.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PiReturns {
    Table,
    Year,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_pi_returns_year_id")
                    .table(PiReturns::Table)
                    .col(PiReturns::Year)
                    .col(PiReturns::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_pi_returns_year_id")
                    .table(PiReturns::Table)
                    .to_owned(),
            )
            .await
    }
}
