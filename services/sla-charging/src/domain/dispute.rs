//! Disputes: the ALMO disputes a line of an issued invoice with a reason; the council resolves it
//! once, either with a credit note or with a written rejection. One open dispute per line.

/// Where a dispute is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeStatus {
    Open,
    Credited,
    Rejected,
}

impl DisputeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeStatus::Open => "open",
            DisputeStatus::Credited => "credited",
            DisputeStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DisputeStatus::Open,
            DisputeStatus::Credited,
            DisputeStatus::Rejected,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// How the council answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Credit,
    Reject,
}

/// A written answer shorter than this is not an answer a finance officer can act on.
pub const MIN_RESPONSE_CHARS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisputeError {
    #[error("the dispute has already been resolved")]
    AlreadyResolved,
    #[error("the council answers in writing: at least {MIN_RESPONSE_CHARS} characters")]
    ResponseTooShort,
    #[error("this line already has an open dispute")]
    AlreadyDisputed,
}

/// The status after the council resolves an open dispute.
pub fn resolve(
    status: DisputeStatus,
    resolution: Resolution,
    response: &str,
) -> Result<DisputeStatus, DisputeError> {
    if status != DisputeStatus::Open {
        return Err(DisputeError::AlreadyResolved);
    }
    if response.trim().chars().count() < MIN_RESPONSE_CHARS {
        return Err(DisputeError::ResponseTooShort);
    }
    Ok(match resolution {
        Resolution::Credit => DisputeStatus::Credited,
        Resolution::Reject => DisputeStatus::Rejected,
    })
}

/// A line may be disputed when it has no open dispute (a resolved one may be disputed again).
pub fn may_dispute(existing: &[DisputeStatus]) -> Result<(), DisputeError> {
    if existing.contains(&DisputeStatus::Open) {
        Err(DisputeError::AlreadyDisputed)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispute_is_resolved_once_by_credit_or_written_rejection() {
        assert_eq!(
            resolve(
                DisputeStatus::Open,
                Resolution::Credit,
                "Two hours credited"
            )
            .unwrap(),
            DisputeStatus::Credited
        );
        assert_eq!(
            resolve(
                DisputeStatus::Open,
                Resolution::Reject,
                "The hours are in the timesheet"
            )
            .unwrap(),
            DisputeStatus::Rejected
        );
        assert_eq!(
            resolve(DisputeStatus::Open, Resolution::Reject, "no").unwrap_err(),
            DisputeError::ResponseTooShort
        );
        assert_eq!(
            resolve(
                DisputeStatus::Rejected,
                Resolution::Credit,
                "Changed our mind"
            )
            .unwrap_err(),
            DisputeError::AlreadyResolved
        );
    }

    #[test]
    fn a_line_has_at_most_one_open_dispute() {
        assert!(may_dispute(&[]).is_ok());
        assert!(may_dispute(&[DisputeStatus::Rejected]).is_ok());
        assert_eq!(
            may_dispute(&[DisputeStatus::Rejected, DisputeStatus::Open]).unwrap_err(),
            DisputeError::AlreadyDisputed
        );
    }
}
