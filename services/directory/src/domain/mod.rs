//! The directory's rules: plain Rust, no I/O.

pub mod authority_type;
pub mod codes;
pub mod hand_back;
pub mod lifecycle;
pub mod region;

pub use authority_type::{AuthorityType, authority_type_of};
pub use lifecycle::{AlmoDates, AlmoStage};
