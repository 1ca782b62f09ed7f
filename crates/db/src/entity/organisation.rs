//! The directory: councils, ALMOs, the regulator, the inspectorate and the operator.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// council, almo, regulator, inspectorate, operator
    pub kind: String,
    /// Councils: london_borough, metropolitan, unitary, district (derived from the ONS code).
    pub authority_type: Option<String>,
    pub region: Option<String>,
    /// ALMOs: the parent council.
    pub council_id: Option<String>,
    pub section27_consent_date: Option<Date>,
    pub go_live_date: Option<Date>,
    pub agreement_end_date: Option<Date>,
    pub end_date: Option<Date>,
    pub stock_size: Option<i32>,
    /// Bumped on every change; the etag is derived from it.
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The directory entry `id`, if there is one.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_string()).one(conn).await
}
