//! sea-orm entities. Each service's tables have their own module here.

pub mod audit_log;
pub mod dp_amendment;
pub mod dp_event;
pub mod dp_exception;
pub mod dp_plan;
pub mod dp_plan_version;
pub mod dp_variance;
pub mod idempotency_key;
pub mod organisation;
pub mod peer_group;
pub mod peer_group_member;
