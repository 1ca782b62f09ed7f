//! PI returns: `pi_benchmark_points`, the figures a benchmark compares (the current value of each
//! signed-off annual return, by indicator, split, year and organisation), kept by the service in
//! the transaction of each change of a return. Before, every quartile read joined every current
//! value of every return and filtered them by year and status, so it grew with the history held.
//! Backfilled here from the returns as they stand.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PiBenchmarkPoints {
    Table,
    IndicatorCode,
    Split,
    Year,
    OrganisationId,
    ReturnId,
    Value,
}

#[derive(DeriveIden)]
enum PiReturns {
    Table,
    Id,
}

/// The points of every return as it stands: what `storage::benchmark_points` keeps.
const BACKFILL: &str = "INSERT INTO pi_benchmark_points \
     (indicator_code, split, year, organisation_id, return_id, value) \
     SELECT v.indicator_code, v.split, r.year, r.organisation_id, r.id, v.value \
     FROM pi_return_values v JOIN pi_returns r ON r.id = v.return_id \
     WHERE v.current AND r.status = 'signed_off' AND r.period_kind = 'year'";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PiBenchmarkPoints::Table)
                    .col(string(PiBenchmarkPoints::IndicatorCode))
                    .col(string(PiBenchmarkPoints::Split))
                    .col(integer(PiBenchmarkPoints::Year))
                    .col(string(PiBenchmarkPoints::OrganisationId))
                    .col(string(PiBenchmarkPoints::ReturnId))
                    .col(double(PiBenchmarkPoints::Value))
                    .primary_key(
                        Index::create()
                            .col(PiBenchmarkPoints::IndicatorCode)
                            .col(PiBenchmarkPoints::Split)
                            .col(PiBenchmarkPoints::Year)
                            .col(PiBenchmarkPoints::OrganisationId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pi_benchmark_points_return")
                            .from(PiBenchmarkPoints::Table, PiBenchmarkPoints::ReturnId)
                            .to(PiReturns::Table, PiReturns::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A change of a return replaces that return's points.
        manager
            .create_index(
                Index::create()
                    .name("idx_pi_benchmark_points_return")
                    .table(PiBenchmarkPoints::Table)
                    .col(PiBenchmarkPoints::ReturnId)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(BACKFILL)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PiBenchmarkPoints::Table).to_owned())
            .await
    }
}
