//! Inspection scheduling: ALMO readiness (Best Value reviews, declared audits, board meetings),
//! inspectors and their unavailability, inspections with their teams and on-site weeks.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InspReadiness {
    Table,
    AlmoId,
    BvRepairsDate,
    BvCapitalDate,
    BvRentDate,
    BvEstateDate,
    FundingRound,
    FundingNeededByDate,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InspBlackouts {
    Table,
    Id,
    AlmoId,
    Label,
    StartDate,
    EndDate,
}

#[derive(DeriveIden)]
enum InspBoardMeetings {
    Table,
    AlmoId,
    MeetingDate,
}

#[derive(DeriveIden)]
enum InspInspectors {
    Table,
    Id,
    Name,
    Role,
    Region,
    TenantOf,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InspUnavailability {
    Table,
    Id,
    InspectorId,
    StartDate,
    EndDate,
    Reason,
}

#[derive(DeriveIden)]
enum InspInspections {
    Table,
    Id,
    AlmoId,
    CouncilId,
    OpenAlmoId,
    OnSiteDate,
    SpanWeeks,
    OnSiteActual,
    DraftActual,
    CommentsActual,
    ScoreLetterActual,
    PublishedActual,
    Stars,
    Prospects,
    FeePence,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InspTeamMembers {
    Table,
    InspectionId,
    InspectorId,
    Role,
}

#[derive(DeriveIden)]
enum InspInspectorWeeks {
    Table,
    InspectorId,
    WeekStart,
    InspectionId,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

fn to_org(name: &str, from: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(Organisations::Table, Organisations::Id)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InspReadiness::Table)
                    .col(string(InspReadiness::AlmoId).primary_key())
                    .col(date_null(InspReadiness::BvRepairsDate))
                    .col(date_null(InspReadiness::BvCapitalDate))
                    .col(date_null(InspReadiness::BvRentDate))
                    .col(date_null(InspReadiness::BvEstateDate))
                    .col(string(InspReadiness::FundingRound))
                    .col(date_null(InspReadiness::FundingNeededByDate))
                    .col(big_integer(InspReadiness::Version))
                    .col(timestamp_with_time_zone(InspReadiness::UpdatedAt))
                    .foreign_key(&mut to_org(
                        "fk_insp_readiness_almo",
                        (InspReadiness::Table, InspReadiness::AlmoId),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InspBlackouts::Table)
                    .col(big_pk_auto(InspBlackouts::Id))
                    .col(string(InspBlackouts::AlmoId))
                    .col(string(InspBlackouts::Label))
                    .col(date(InspBlackouts::StartDate))
                    .col(date(InspBlackouts::EndDate))
                    .foreign_key(&mut to_org(
                        "fk_insp_blackouts_almo",
                        (InspBlackouts::Table, InspBlackouts::AlmoId),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_insp_blackouts_almo")
                    .table(InspBlackouts::Table)
                    .col(InspBlackouts::AlmoId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InspBoardMeetings::Table)
                    .col(string(InspBoardMeetings::AlmoId))
                    .col(date(InspBoardMeetings::MeetingDate))
                    .primary_key(
                        Index::create()
                            .col(InspBoardMeetings::AlmoId)
                            .col(InspBoardMeetings::MeetingDate),
                    )
                    .foreign_key(&mut to_org(
                        "fk_insp_board_meetings_almo",
                        (InspBoardMeetings::Table, InspBoardMeetings::AlmoId),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InspInspectors::Table)
                    .col(string(InspInspectors::Id).primary_key())
                    .col(string(InspInspectors::Name))
                    .col(string(InspInspectors::Role))
                    .col(string(InspInspectors::Region))
                    .col(string_null(InspInspectors::TenantOf))
                    .col(big_integer(InspInspectors::Version))
                    .col(timestamp_with_time_zone(InspInspectors::CreatedAt))
                    .col(timestamp_with_time_zone(InspInspectors::UpdatedAt))
                    .foreign_key(&mut to_org(
                        "fk_insp_inspectors_tenant_of",
                        (InspInspectors::Table, InspInspectors::TenantOf),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InspUnavailability::Table)
                    .col(big_pk_auto(InspUnavailability::Id))
                    .col(string(InspUnavailability::InspectorId))
                    .col(date(InspUnavailability::StartDate))
                    .col(date(InspUnavailability::EndDate))
                    .col(string(InspUnavailability::Reason))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_insp_unavailability_inspector")
                            .from(InspUnavailability::Table, InspUnavailability::InspectorId)
                            .to(InspInspectors::Table, InspInspectors::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_insp_unavailability_inspector")
                    .table(InspUnavailability::Table)
                    .col(InspUnavailability::InspectorId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InspInspections::Table)
                    .col(string(InspInspections::Id).primary_key())
                    .col(string(InspInspections::AlmoId))
                    .col(string(InspInspections::CouncilId))
                    .col(string_null(InspInspections::OpenAlmoId))
                    .col(date(InspInspections::OnSiteDate))
                    .col(integer(InspInspections::SpanWeeks))
                    .col(date_null(InspInspections::OnSiteActual))
                    .col(date_null(InspInspections::DraftActual))
                    .col(date_null(InspInspections::CommentsActual))
                    .col(date_null(InspInspections::ScoreLetterActual))
                    .col(date_null(InspInspections::PublishedActual))
                    .col(integer_null(InspInspections::Stars))
                    .col(string_null(InspInspections::Prospects))
                    .col(big_integer(InspInspections::FeePence))
                    .col(big_integer(InspInspections::Version))
                    .col(timestamp_with_time_zone(InspInspections::CreatedAt))
                    .col(timestamp_with_time_zone(InspInspections::UpdatedAt))
                    .foreign_key(&mut to_org(
                        "fk_insp_inspections_almo",
                        (InspInspections::Table, InspInspections::AlmoId),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, col, unique) in [
            ("idx_insp_inspections_almo", InspInspections::AlmoId, false),
            (
                "idx_insp_inspections_council",
                InspInspections::CouncilId,
                false,
            ),
            // One unpublished inspection per ALMO, whichever replica books it.
            (
                "uq_insp_inspections_open_almo",
                InspInspections::OpenAlmoId,
                true,
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(InspInspections::Table).col(col);
            if unique {
                idx.unique();
            }
            manager.create_index(idx.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(InspTeamMembers::Table)
                    .col(string(InspTeamMembers::InspectionId))
                    .col(string(InspTeamMembers::InspectorId))
                    .col(string(InspTeamMembers::Role))
                    .primary_key(
                        Index::create()
                            .col(InspTeamMembers::InspectionId)
                            .col(InspTeamMembers::InspectorId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_insp_team_members_inspection")
                            .from(InspTeamMembers::Table, InspTeamMembers::InspectionId)
                            .to(InspInspections::Table, InspInspections::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_insp_team_members_inspector")
                            .from(InspTeamMembers::Table, InspTeamMembers::InspectorId)
                            .to(InspInspectors::Table, InspInspectors::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_insp_team_members_inspector")
                    .table(InspTeamMembers::Table)
                    .col(InspTeamMembers::InspectorId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InspInspectorWeeks::Table)
                    .col(string(InspInspectorWeeks::InspectorId))
                    .col(date(InspInspectorWeeks::WeekStart))
                    .col(string(InspInspectorWeeks::InspectionId))
                    // An inspector on site once per week, across every replica.
                    .primary_key(
                        Index::create()
                            .col(InspInspectorWeeks::InspectorId)
                            .col(InspInspectorWeeks::WeekStart),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_insp_inspector_weeks_inspection")
                            .from(InspInspectorWeeks::Table, InspInspectorWeeks::InspectionId)
                            .to(InspInspections::Table, InspInspections::Id),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            InspInspectorWeeks::Table.into_iden(),
            InspTeamMembers::Table.into_iden(),
            InspInspections::Table.into_iden(),
            InspUnavailability::Table.into_iden(),
            InspInspectors::Table.into_iden(),
            InspBoardMeetings::Table.into_iden(),
            InspBlackouts::Table.into_iden(),
            InspReadiness::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
