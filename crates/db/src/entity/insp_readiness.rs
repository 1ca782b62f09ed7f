//! Inspection scheduling: what an ALMO has declared ready for inspection (one row per ALMO).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "insp_readiness")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub almo_id: String,
    /// Best Value review completion dates of the four key services (003 §109).
    pub bv_repairs_date: Option<Date>,
    pub bv_capital_date: Option<Date>,
    pub bv_rent_date: Option<Date>,
    pub bv_estate_date: Option<Date>,
    pub funding_round: String,
    pub funding_needed_by_date: Option<Date>,
    pub version: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
