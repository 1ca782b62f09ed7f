//! SLA charging: a council's gapless sequences. The row is locked inside the issuing
//! transaction, so numbers are handed out in commit order with no gaps, across replicas.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_council_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub council_id: String,
    pub last_invoice_number: i64,
    pub last_credit_note_number: i64,
    pub last_feed_position: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
