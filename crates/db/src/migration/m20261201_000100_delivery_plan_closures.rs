//! Delivery plans: a plan closes when its ALMO ends (DOMAIN.md "An ALMO's life"). The closure is
//! a row of its own — the date and why — so the plan row, its versions and its last status stay
//! exactly as they were, readable.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DpPlanClosures {
    Table,
    PlanId,
    ClosedOn,
    Reason,
    ClosedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DpPlanClosures::Table)
                    .col(string(DpPlanClosures::PlanId).primary_key())
                    .col(date(DpPlanClosures::ClosedOn))
                    .col(text(DpPlanClosures::Reason))
                    .col(timestamp_with_time_zone(DpPlanClosures::ClosedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DpPlanClosures::Table).to_owned())
            .await
    }
}
