//! The rules of delivery-plan monitoring, as plain Rust: no gRPC, no database.

pub mod amendment;
pub mod catalogue;
pub mod countdown;
pub mod exception;
pub mod ingest;
pub mod period;
pub mod plan;
pub mod status;
pub mod today;
pub mod tolerance;

/// One bad field and why: `(field path, reason)`.
pub type Violation = (String, String);
