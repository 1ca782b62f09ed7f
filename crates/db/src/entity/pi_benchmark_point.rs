//! PI returns: the figures benchmarking compares, kept as returns change. One row per
//! organisation, indicator, split and year: the current value of a signed-off annual return.
//! Written only by `almo_pi_returns`'s `storage::benchmark_points`, in the transaction of the
//! change that alters it, so a quartile read is one range of the primary key (at most one row per
//! organisation of the sector) however much history the values table holds.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pi_benchmark_points")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub indicator_code: String,
    /// Empty for the headline figure.
    #[sea_orm(primary_key, auto_increment = false)]
    pub split: String,
    /// The financial year's start year.
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub organisation_id: String,
    /// The signed-off annual return the figure is the current value of.
    pub return_id: String,
    pub value: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
