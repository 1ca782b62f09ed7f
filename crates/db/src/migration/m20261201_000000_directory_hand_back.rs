//! The directory: the road to taking an ALMO's management back in-house (seed 002), and the
//! lifecycle events every service follows.
//!
//! - `almo_transfer_opinions`: how tenants' opinion was tested when management was transferred
//!   to the ALMO (ballot, full_survey, other); a council that balloted then must ballot again to
//!   take management back (002 §12). Its own table, so the directory row stays as it was.
//! - `almo_options_reviews`: an ALMO's options reviews, numbered: started, the Department told
//!   (§15), the test of tenants' opinion (method, dates, turnout, result; §12-14), the decision.
//! - `lifecycle_events`: the outbox. A directory change to an ALMO's life writes its events in
//!   the same transaction; ids are given in commit order, so a reader that has seen id n never
//!   later meets a smaller one.
//! - `event_cursors`: how far each consumer (a service acting on the events) has got; updated in
//!   the transaction of the consumer's effect.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AlmoTransferOpinions {
    Table,
    AlmoId,
    Method,
    RecordedAt,
}

#[derive(DeriveIden)]
enum AlmoOptionsReviews {
    Table,
    AlmoId,
    ReviewNo,
    StartedOn,
    DepartmentNotifiedOn,
    OpinionMethod,
    OpinionNote,
    OpinionOpenedOn,
    OpinionClosedOn,
    OpinionEligible,
    OpinionResponses,
    OpinionInFavour,
    Decision,
    DecidedOn,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LifecycleEvents {
    Table,
    Id,
    OrganisationId,
    CouncilId,
    Kind,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EventCursors {
    Table,
    Consumer,
    LastEventId,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AlmoTransferOpinions::Table)
                    .col(string(AlmoTransferOpinions::AlmoId).primary_key())
                    .col(string(AlmoTransferOpinions::Method))
                    .col(timestamp_with_time_zone(AlmoTransferOpinions::RecordedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AlmoOptionsReviews::Table)
                    .col(string(AlmoOptionsReviews::AlmoId))
                    .col(integer(AlmoOptionsReviews::ReviewNo))
                    .col(date(AlmoOptionsReviews::StartedOn))
                    .col(date_null(AlmoOptionsReviews::DepartmentNotifiedOn))
                    .col(string_null(AlmoOptionsReviews::OpinionMethod))
                    .col(text_null(AlmoOptionsReviews::OpinionNote))
                    .col(date_null(AlmoOptionsReviews::OpinionOpenedOn))
                    .col(date_null(AlmoOptionsReviews::OpinionClosedOn))
                    .col(integer_null(AlmoOptionsReviews::OpinionEligible))
                    .col(integer_null(AlmoOptionsReviews::OpinionResponses))
                    .col(integer_null(AlmoOptionsReviews::OpinionInFavour))
                    .col(string_null(AlmoOptionsReviews::Decision))
                    .col(date_null(AlmoOptionsReviews::DecidedOn))
                    .col(timestamp_with_time_zone(AlmoOptionsReviews::CreatedAt))
                    .col(timestamp_with_time_zone(AlmoOptionsReviews::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(AlmoOptionsReviews::AlmoId)
                            .col(AlmoOptionsReviews::ReviewNo),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LifecycleEvents::Table)
                    .col(big_integer(LifecycleEvents::Id).primary_key())
                    .col(string(LifecycleEvents::OrganisationId))
                    .col(string_null(LifecycleEvents::CouncilId))
                    .col(string(LifecycleEvents::Kind))
                    .col(text(LifecycleEvents::Payload))
                    .col(timestamp_with_time_zone(LifecycleEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lifecycle_events_organisation")
                    .table(LifecycleEvents::Table)
                    .col(LifecycleEvents::OrganisationId)
                    .col(LifecycleEvents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EventCursors::Table)
                    .col(string(EventCursors::Consumer).primary_key())
                    .col(big_integer(EventCursors::LastEventId))
                    .col(timestamp_with_time_zone(EventCursors::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            EventCursors::Table.into_iden(),
            LifecycleEvents::Table.into_iden(),
            AlmoOptionsReviews::Table.into_iden(),
            AlmoTransferOpinions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
