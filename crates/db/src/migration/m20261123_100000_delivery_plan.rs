//! Delivery-plan monitoring: plans, their versions, amendments, variances and exceptions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DpPlans {
    Table,
    Id,
    CouncilId,
    AlmoId,
    Title,
    FirstYear,
    LastYear,
    LatestVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DpPlanVersions {
    Table,
    PlanId,
    Version,
    EffectiveDate,
    AmendmentId,
    Note,
    Content,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DpAmendments {
    Table,
    Id,
    PlanId,
    BaseVersion,
    ProposedBy,
    ProposerOrganisationId,
    Reason,
    EffectiveDate,
    Content,
    State,
    DecidedByOrganisationId,
    DecisionNote,
    ResultingVersion,
    RowVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DpVariances {
    Table,
    Id,
    PlanId,
    SenderRecordId,
    Revision,
    Superseded,
    TargetCode,
    Year,
    PeriodKind,
    PeriodNumber,
    Actual,
    Forecast,
    Commentary,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum DpExceptions {
    Table,
    Id,
    PlanId,
    TargetCode,
    OpenTarget,
    ConsecutivePeriods,
    PeriodKind,
    FirstYear,
    FirstNumber,
    LastYear,
    LastNumber,
    State,
    RaisedAt,
    ReportCause,
    ReportRecoveryAction,
    ReportRecoveryDate,
    ReportedBy,
    ReportedAt,
    DecisionNote,
    DecidedBy,
    DecidedAt,
    RowVersion,
}

#[derive(DeriveIden)]
enum DpEvents {
    Table,
    Id,
    PlanId,
    Kind,
    SubjectId,
    Summary,
    At,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

fn fk_plan(name: &str, table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(DpPlans::Table, DpPlans::Id)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DpPlans::Table)
                    .col(string(DpPlans::Id).primary_key())
                    .col(string(DpPlans::CouncilId))
                    .col(string(DpPlans::AlmoId))
                    .col(string(DpPlans::Title))
                    .col(integer(DpPlans::FirstYear))
                    .col(integer(DpPlans::LastYear))
                    .col(integer(DpPlans::LatestVersion))
                    .col(timestamp_with_time_zone(DpPlans::CreatedAt))
                    .col(timestamp_with_time_zone(DpPlans::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dp_plans_council")
                            .from(DpPlans::Table, DpPlans::CouncilId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_dp_plans_almo")
                            .from(DpPlans::Table, DpPlans::AlmoId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_dp_plans_council", DpPlans::CouncilId),
            ("idx_dp_plans_almo", DpPlans::AlmoId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(DpPlans::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DpPlanVersions::Table)
                    .col(string(DpPlanVersions::PlanId))
                    .col(integer(DpPlanVersions::Version))
                    .col(date(DpPlanVersions::EffectiveDate))
                    .col(string_null(DpPlanVersions::AmendmentId))
                    .col(text(DpPlanVersions::Note))
                    .col(text(DpPlanVersions::Content))
                    .col(timestamp_with_time_zone(DpPlanVersions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(DpPlanVersions::PlanId)
                            .col(DpPlanVersions::Version),
                    )
                    .foreign_key(&mut fk_plan(
                        "fk_dp_plan_versions_plan",
                        DpPlanVersions::Table,
                        DpPlanVersions::PlanId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DpAmendments::Table)
                    .col(string(DpAmendments::Id).primary_key())
                    .col(string(DpAmendments::PlanId))
                    .col(integer(DpAmendments::BaseVersion))
                    .col(string(DpAmendments::ProposedBy))
                    .col(string(DpAmendments::ProposerOrganisationId))
                    .col(text(DpAmendments::Reason))
                    .col(date(DpAmendments::EffectiveDate))
                    .col(text(DpAmendments::Content))
                    .col(string(DpAmendments::State))
                    .col(string_null(DpAmendments::DecidedByOrganisationId))
                    .col(text(DpAmendments::DecisionNote))
                    .col(integer_null(DpAmendments::ResultingVersion))
                    .col(integer(DpAmendments::RowVersion))
                    .col(timestamp_with_time_zone(DpAmendments::CreatedAt))
                    .col(timestamp_with_time_zone(DpAmendments::UpdatedAt))
                    .foreign_key(&mut fk_plan(
                        "fk_dp_amendments_plan",
                        DpAmendments::Table,
                        DpAmendments::PlanId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dp_amendments_plan")
                    .table(DpAmendments::Table)
                    .col(DpAmendments::PlanId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DpVariances::Table)
                    .col(big_pk_auto(DpVariances::Id))
                    .col(string(DpVariances::PlanId))
                    .col(string(DpVariances::SenderRecordId))
                    .col(integer(DpVariances::Revision))
                    .col(boolean(DpVariances::Superseded))
                    .col(string(DpVariances::TargetCode))
                    .col(integer(DpVariances::Year))
                    .col(string(DpVariances::PeriodKind))
                    .col(integer(DpVariances::PeriodNumber))
                    .col(double(DpVariances::Actual))
                    .col(double_null(DpVariances::Forecast))
                    .col(text(DpVariances::Commentary))
                    .col(string(DpVariances::RecordedBy))
                    .col(timestamp_with_time_zone(DpVariances::RecordedAt))
                    .foreign_key(&mut fk_plan(
                        "fk_dp_variances_plan",
                        DpVariances::Table,
                        DpVariances::PlanId,
                    ))
                    .to_owned(),
            )
            .await?;
        // One row per revision of a sender's record: a concurrent second writer of the same
        // revision fails here instead of forking the history.
        manager
            .create_index(
                Index::create()
                    .name("ux_dp_variances_record_revision")
                    .table(DpVariances::Table)
                    .col(DpVariances::PlanId)
                    .col(DpVariances::SenderRecordId)
                    .col(DpVariances::Revision)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dp_variances_plan_target")
                    .table(DpVariances::Table)
                    .col(DpVariances::PlanId)
                    .col(DpVariances::Superseded)
                    .col(DpVariances::TargetCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DpExceptions::Table)
                    .col(string(DpExceptions::Id).primary_key())
                    .col(string(DpExceptions::PlanId))
                    .col(string(DpExceptions::TargetCode))
                    .col(string_null(DpExceptions::OpenTarget))
                    .col(integer(DpExceptions::ConsecutivePeriods))
                    .col(string(DpExceptions::PeriodKind))
                    .col(integer(DpExceptions::FirstYear))
                    .col(integer(DpExceptions::FirstNumber))
                    .col(integer(DpExceptions::LastYear))
                    .col(integer(DpExceptions::LastNumber))
                    .col(string(DpExceptions::State))
                    .col(timestamp_with_time_zone(DpExceptions::RaisedAt))
                    .col(text(DpExceptions::ReportCause))
                    .col(text(DpExceptions::ReportRecoveryAction))
                    .col(date_null(DpExceptions::ReportRecoveryDate))
                    .col(string_null(DpExceptions::ReportedBy))
                    .col(timestamp_with_time_zone_null(DpExceptions::ReportedAt))
                    .col(text(DpExceptions::DecisionNote))
                    .col(string_null(DpExceptions::DecidedBy))
                    .col(timestamp_with_time_zone_null(DpExceptions::DecidedAt))
                    .col(integer(DpExceptions::RowVersion))
                    .foreign_key(&mut fk_plan(
                        "fk_dp_exceptions_plan",
                        DpExceptions::Table,
                        DpExceptions::PlanId,
                    ))
                    .to_owned(),
            )
            .await?;
        // At most one open exception per target: NULL (closed) rows do not collide.
        manager
            .create_index(
                Index::create()
                    .name("ux_dp_exceptions_open")
                    .table(DpExceptions::Table)
                    .col(DpExceptions::PlanId)
                    .col(DpExceptions::OpenTarget)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DpEvents::Table)
                    .col(big_pk_auto(DpEvents::Id))
                    .col(string(DpEvents::PlanId))
                    .col(string(DpEvents::Kind))
                    .col(string(DpEvents::SubjectId))
                    .col(text(DpEvents::Summary))
                    .col(timestamp_with_time_zone(DpEvents::At))
                    .foreign_key(&mut fk_plan(
                        "fk_dp_events_plan",
                        DpEvents::Table,
                        DpEvents::PlanId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dp_events_plan_id")
                    .table(DpEvents::Table)
                    .col(DpEvents::PlanId)
                    .col(DpEvents::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DpEvents::Table.into_iden(),
            DpExceptions::Table.into_iden(),
            DpVariances::Table.into_iden(),
            DpAmendments::Table.into_iden(),
            DpPlanVersions::Table.into_iden(),
            DpPlans::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
