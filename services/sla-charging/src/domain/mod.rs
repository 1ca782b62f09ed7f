//! The rules of SLA charging, as plain Rust: no gRPC, no database. Each rule lives in the module
//! named after it, with the tests named after the rule beside it.

pub mod adjustment;
pub mod agreement;
pub mod billing_run;
pub mod charging;
pub mod credit_note;
pub mod dispute;
pub mod invoice;
pub mod period;
pub mod proration;
pub mod rounding;
pub mod service_credit;
pub mod value_for_money;
