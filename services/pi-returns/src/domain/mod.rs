//! The PI returns rules: plain Rust, no I/O. Each module is named by the rule it holds.

pub mod catalogue;
pub mod combination;
pub mod management_model;
pub mod period;
pub mod quartile;
pub mod survey;
pub mod validation;
pub mod workflow;
