//! Cancelling an inspection. A cancelled inspection is kept so that schedulers and the ALMO see
//! it, with its reason, but it holds no inspector's week, is not the ALMO's open inspection, and
//! can no longer be moved, re-staffed or recorded.

/// Whether an inspection stands. How far a standing one has got is its lifecycle stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InspectionStatus {
    Booked,
    Cancelled,
}

impl InspectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InspectionStatus::Booked => "booked",
            InspectionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "booked" => Some(InspectionStatus::Booked),
            "cancelled" => Some(InspectionStatus::Cancelled),
            _ => None,
        }
    }
}

/// The longest reason kept, in characters: a sentence or two, not a report.
pub const MAX_REASON_CHARS: usize = 500;

/// The reason as kept (trimmed), or why it is refused.
pub fn cancellation_reason(given: &str) -> Result<String, String> {
    let reason = given.trim();
    if reason.is_empty() {
        return Err("required: why the inspection is cancelled".into());
    }
    let n = reason.chars().count();
    if n > MAX_REASON_CHARS {
        return Err(format!("at most {MAX_REASON_CHARS} characters, not {n}"));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err("no control characters other than line breaks".into());
    }
    Ok(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_needs_a_reason() {
        assert!(cancellation_reason("").is_err());
        assert!(cancellation_reason(" \n\t ").is_err());
        assert_eq!(
            cancellation_reason("  the board asked to postpone \n").unwrap(),
            "the board asked to postpone"
        );
    }

    #[test]
    fn cancellation_reason_is_bounded_in_characters_not_bytes() {
        let at_limit = "é".repeat(MAX_REASON_CHARS);
        assert_eq!(cancellation_reason(&at_limit).unwrap(), at_limit);
        let over = "é".repeat(MAX_REASON_CHARS + 1);
        assert!(cancellation_reason(&over).unwrap_err().contains("501"));
        assert!(cancellation_reason("tab\tinside").is_err());
        assert!(cancellation_reason("two\nlines").is_ok());
    }

    #[test]
    fn status_round_trips_through_its_stored_name() {
        for s in [InspectionStatus::Booked, InspectionStatus::Cancelled] {
            assert_eq!(InspectionStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(InspectionStatus::parse("deleted"), None);
    }
}
