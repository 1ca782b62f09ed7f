//! The SLA charging queries. Writes take the transaction of an idempotent write; every list is
//! filtered by a [`Visibility`] built from the caller.

mod agreements;
mod counters;
mod credit_notes;
mod disputes;
mod feed;
mod invoices;
mod results;
mod usage;

use almo_db::entity::{sla_agreement, sla_invoice};
use sea_orm::{ColumnTrait, Condition};

pub use agreements::*;
pub use counters::*;
pub use credit_notes::*;
pub use disputes::*;
pub use feed::*;
pub use invoices::*;
pub use results::*;
pub use usage::*;

/// Usage rows are written in chunks: one INSERT per row is ~30× slower (STYLE.md).
pub const INSERT_CHUNK: usize = 500;

/// Whose SLA data a caller may see: a council's finance team sees the agreements it supplies,
/// an ALMO the agreements it buys.
#[derive(Debug, Clone)]
pub enum Visibility {
    Supplier(String),
    Customer(String),
}

impl Visibility {
    fn agreements(&self) -> Condition {
        match self {
            Visibility::Supplier(c) => {
                Condition::all().add(sla_agreement::Column::SupplierCouncilId.eq(c))
            }
            Visibility::Customer(a) => {
                Condition::all().add(sla_agreement::Column::CustomerAlmoId.eq(a))
            }
        }
    }

    pub fn sees_agreement(&self, a: &sla_agreement::Model) -> bool {
        match self {
            Visibility::Supplier(c) => a.supplier_council_id == *c,
            Visibility::Customer(x) => a.customer_almo_id == *x,
        }
    }

    pub fn sees_invoice(&self, i: &sla_invoice::Model) -> bool {
        match self {
            Visibility::Supplier(c) => i.supplier_council_id == *c,
            // The ALMO sees what it has been sent; drafts are the council's working papers.
            Visibility::Customer(x) => i.customer_almo_id == *x && i.status == "issued",
        }
    }
}
