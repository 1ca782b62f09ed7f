//! sea-orm entities. Each service's tables have their own module here.

pub mod audit_log;
pub mod dp_amendment;
pub mod dp_event;
pub mod dp_exception;
pub mod dp_plan;
pub mod dp_plan_version;
pub mod dp_variance;
pub mod idempotency_key;
pub mod insp_blackout;
pub mod insp_board_meeting;
pub mod insp_inspection;
pub mod insp_inspector;
pub mod insp_inspector_week;
pub mod insp_readiness;
pub mod insp_team_member;
pub mod insp_unavailability;
pub mod organisation;
pub mod peer_group;
pub mod peer_group_member;
pub mod pi_indicator_definition;
pub mod pi_return;
pub mod pi_return_value;
