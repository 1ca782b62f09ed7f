//! sea-orm entities. Each service's tables have their own module here.

pub mod audit_log;
pub mod idempotency_key;
pub mod organisation;
pub mod peer_group;
pub mod peer_group_member;
pub mod pi_indicator_definition;
pub mod pi_return;
pub mod pi_return_value;
