//! Domain errors into `AppError`, in one place: a broken hard rule is FAILED_PRECONDITION with the
//! rule's code as the reason and its name in the message; lifecycle order likewise.

use almo_server::AppError;
use sea_orm::{DbErr, SqlErr};

use crate::domain::HardRule;
use crate::domain::lifecycle::LifecycleError;

/// A booking refused: every broken rule, by name; the first one's code is the reason.
pub fn refused(rules: &[HardRule]) -> AppError {
    let reason = rules.first().map(HardRule::code).unwrap_or("HARD_RULE");
    let names: Vec<String> = rules.iter().map(ToString::to_string).collect();
    AppError::failed_precondition(reason, format!("refused: {}", names.join("; ")))
}

pub fn lifecycle(e: LifecycleError) -> AppError {
    let reason = match &e {
        LifecycleError::SpanOutOfRange(_) => {
            return AppError::invalid("span_weeks", e.to_string());
        }
        LifecycleError::EarlierStageMissing { .. } => "EARLIER_STAGE_MISSING",
        LifecycleError::OutOfOrder { .. } => "STAGE_OUT_OF_ORDER",
        LifecycleError::AlreadyRecorded { .. } => "STAGE_ALREADY_RECORDED",
        LifecycleError::InFuture { .. } => "STAGE_IN_FUTURE",
    };
    AppError::failed_precondition(reason, e.to_string())
}

/// A booking that lost a race with another replica: the unique keys on (inspector, week) and on
/// the ALMO's open inspection refused it.
pub fn booking_conflict(e: DbErr) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::failed_precondition(
            "BOOKING_CONFLICT",
            "another booking took one of these inspectors that week, or this ALMO, first; find slots again",
        ),
        _ => e.into(),
    }
}
