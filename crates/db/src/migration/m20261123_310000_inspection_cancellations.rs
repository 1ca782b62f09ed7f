//! Inspection scheduling: a cancelled inspection is kept, not deleted. Each inspection gets a
//! status ('booked' or 'cancelled'; every existing row is a booking) and, once cancelled, the
//! reason, who cancelled it (subject and organisation) and when.
//!
//! No constraint moves. A cancellation clears `open_almo_id`, so the unique index on it no longer
//! counts the ALMO's cancelled inspection, and deletes its members' rows of
//! `insp_inspector_weeks`, so their primary key frees the week; the team rows stay to be seen.
//! A new booking whose id (ALMO and Monday) a cancelled one already holds gets a numbered id.
//!
//! One column per ALTER TABLE: SQLite adds one column at a time.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InspInspections {
    Table,
    Status,
    CancelReason,
    CancelledBy,
    CancelledByOrg,
    CancelledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string(InspInspections::Status).default("booked").to_owned(),
            string_null(InspInspections::CancelReason),
            string_null(InspInspections::CancelledBy),
            string_null(InspInspections::CancelledByOrg),
            timestamp_with_time_zone_null(InspInspections::CancelledAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(InspInspections::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            InspInspections::CancelledAt,
            InspInspections::CancelledByOrg,
            InspInspections::CancelledBy,
            InspInspections::CancelReason,
            InspInspections::Status,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(InspInspections::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
