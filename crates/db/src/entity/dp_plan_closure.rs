//! A delivery plan closed, with the date and why (its ALMO ended).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dp_plan_closures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plan_id: String,
    /// The last day the plan ran: the ALMO's end date.
    pub closed_on: Date,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub closed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
