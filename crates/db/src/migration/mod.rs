//! Migrations for the whole suite, named by date and service. Migrations only ever add: a
//! released migration is never edited.

use sea_orm_migration::prelude::*;

mod m20261123_000001_foundation;
mod m20261123_100000_delivery_plan;
mod m20261123_200000_pi_returns;
mod m20261123_210000_pi_returns_export_index;
mod m20261123_300000_inspection_scheduling;
mod m20261123_310000_inspection_cancellations;
mod m20261123_400000_sla_charging;
mod m20261130_200000_pi_tenant_surveys;
mod m20261130_210000_pi_tsm_submission_threshold;
mod m20261130_400000_sla_adjustments;
mod m20261201_000000_directory_hand_back;
mod m20261201_000100_delivery_plan_closures;
mod m20261201_120000_pi_benchmark_points;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_foundation::Migration),
            Box::new(m20261123_100000_delivery_plan::Migration),
            Box::new(m20261123_200000_pi_returns::Migration),
            Box::new(m20261123_210000_pi_returns_export_index::Migration),
            Box::new(m20261123_300000_inspection_scheduling::Migration),
            Box::new(m20261123_310000_inspection_cancellations::Migration),
            Box::new(m20261123_400000_sla_charging::Migration),
            Box::new(m20261130_200000_pi_tenant_surveys::Migration),
            Box::new(m20261130_210000_pi_tsm_submission_threshold::Migration),
            Box::new(m20261130_400000_sla_adjustments::Migration),
            Box::new(m20261201_000000_directory_hand_back::Migration),
            Box::new(m20261201_000100_delivery_plan_closures::Migration),
            Box::new(m20261201_120000_pi_benchmark_points::Migration),
        ]
    }
}
