//! The inspection service's queries, by resource. Writes take the transaction of an idempotent
//! write; every list of inspections is filtered by what the caller may see.

mod bookings;
mod inspections;
mod readiness;
mod staff;

use almo_auth::OrgKind;
use almo_db::entity::{insp_inspection, organisation};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::domain::cancellation::InspectionStatus;

pub use bookings::{
    Cancellation, booking_row, cancel_inspection, free_inspection_id, insert_inspection,
    rebook_inspection, update_inspection_if_version,
};
pub use inspections::{
    history, inspection, inspections_of_almo, inspections_of_inspector, latest_outcome,
    list_inspections, list_late_inspections, open_inspections_in, teams,
};
pub use readiness::{StoredReadiness, readiness, replace_readiness};
pub use staff::{
    StaffMember, add_unavailability, insert_inspector, inspector, inspector_page, staff,
};

pub use almo_db::entity::organisation::get as organisation;

/// ALMOs managing homes: live and not wound up.
pub async fn live_almos(conn: &impl ConnectionTrait) -> Result<Vec<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .filter(organisation::Column::Kind.eq(OrgKind::Almo.as_str()))
        .filter(organisation::Column::GoLiveDate.is_not_null())
        .filter(organisation::Column::EndDate.is_null())
        .order_by_asc(organisation::Column::Id)
        .all(conn)
        .await
}

/// Inspections that stand: not cancelled. Every rule that looks at inspections looks at these.
pub(crate) fn standing() -> Condition {
    Condition::all().add(insp_inspection::Column::Status.ne(InspectionStatus::Cancelled.as_str()))
}
