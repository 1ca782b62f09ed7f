//! Who wrote what, from which organisation, when, through which call.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub subject: String,
    pub organisation_id: String,
    pub role: String,
    /// The full gRPC method, e.g. /almo.directory.v1.DirectoryService/RegisterAlmo
    pub method: String,
    pub request_id: String,
    /// The resource the call changed, e.g. organisations/ALMO-X.
    pub target: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
