//! The one table of the access matrix, a row per RPC, kept in a file per service.

mod delivery_plan;
mod directory;
mod inspection;
mod pi_returns;
mod sla_charging;

use crate::harness::Row;

/// Every row, in the order they run.
pub fn table() -> Vec<Row> {
    let mut rows = directory::rows();
    rows.extend(delivery_plan::rows());
    rows.extend(sla_charging::rows());
    rows.extend(pi_returns::rows());
    rows.extend(inspection::rows());
    rows
}
