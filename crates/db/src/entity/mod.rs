//! sea-orm entities. Each service's tables have their own module here.

pub mod audit_log;
pub mod idempotency_key;
pub mod organisation;
pub mod peer_group;
pub mod peer_group_member;
pub mod sla_agreement;
pub mod sla_agreement_version;
pub mod sla_council_counter;
pub mod sla_credit_note;
pub mod sla_credit_note_line;
pub mod sla_dispute;
pub mod sla_feed_entry;
pub mod sla_invoice;
pub mod sla_invoice_line;
pub mod sla_level_result;
pub mod sla_usage;
