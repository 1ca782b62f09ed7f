//! The foundation: directory, peer groups, audit log, idempotency keys.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Name,
    Kind,
    AuthorityType,
    Region,
    CouncilId,
    Section27ConsentDate,
    GoLiveDate,
    AgreementEndDate,
    EndDate,
    StockSize,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PeerGroups {
    Table,
    Id,
    Name,
    Kind,
    OwnerOrganisationId,
    Justification,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PeerGroupMembers {
    Table,
    PeerGroupId,
    MemberId,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Subject,
    OrganisationId,
    Role,
    Method,
    RequestId,
    Target,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    OrganisationId,
    Subject,
    Method,
    RequestId,
    PayloadHash,
    Response,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisations::Table)
                    .col(string(Organisations::Id).primary_key())
                    .col(string(Organisations::Name))
                    .col(string(Organisations::Kind))
                    .col(string_null(Organisations::AuthorityType))
                    .col(string_null(Organisations::Region))
                    .col(string_null(Organisations::CouncilId))
                    .col(date_null(Organisations::Section27ConsentDate))
                    .col(date_null(Organisations::GoLiveDate))
                    .col(date_null(Organisations::AgreementEndDate))
                    .col(date_null(Organisations::EndDate))
                    .col(integer_null(Organisations::StockSize))
                    .col(big_integer(Organisations::Version))
                    .col(timestamp_with_time_zone(Organisations::CreatedAt))
                    .col(timestamp_with_time_zone(Organisations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organisations_council")
                            .from(Organisations::Table, Organisations::CouncilId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organisations_council")
                    .table(Organisations::Table)
                    .col(Organisations::CouncilId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PeerGroups::Table)
                    .col(string(PeerGroups::Id).primary_key())
                    .col(string(PeerGroups::Name))
                    .col(string(PeerGroups::Kind))
                    .col(string(PeerGroups::OwnerOrganisationId))
                    .col(text(PeerGroups::Justification))
                    .col(timestamp_with_time_zone(PeerGroups::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_peer_groups_owner")
                            .from(PeerGroups::Table, PeerGroups::OwnerOrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PeerGroupMembers::Table)
                    .col(string(PeerGroupMembers::PeerGroupId))
                    .col(string(PeerGroupMembers::MemberId))
                    .primary_key(
                        Index::create()
                            .col(PeerGroupMembers::PeerGroupId)
                            .col(PeerGroupMembers::MemberId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_peer_group_members_group")
                            .from(PeerGroupMembers::Table, PeerGroupMembers::PeerGroupId)
                            .to(PeerGroups::Table, PeerGroups::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_peer_group_members_member")
                            .from(PeerGroupMembers::Table, PeerGroupMembers::MemberId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(string(AuditLog::Subject))
                    .col(string(AuditLog::OrganisationId))
                    .col(string(AuditLog::Role))
                    .col(string(AuditLog::Method))
                    .col(string(AuditLog::RequestId))
                    .col(string(AuditLog::Target))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_org_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::OrganisationId)
                    .col(AuditLog::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(string(IdempotencyKeys::OrganisationId))
                    .col(string(IdempotencyKeys::Subject))
                    .col(string(IdempotencyKeys::Method))
                    .col(string(IdempotencyKeys::RequestId))
                    .col(string(IdempotencyKeys::PayloadHash))
                    .col(blob_null(IdempotencyKeys::Response))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::OrganisationId)
                            .col(IdempotencyKeys::Subject)
                            .col(IdempotencyKeys::Method)
                            .col(IdempotencyKeys::RequestId),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            AuditLog::Table.into_iden(),
            PeerGroupMembers::Table.into_iden(),
            PeerGroups::Table.into_iden(),
            Organisations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
