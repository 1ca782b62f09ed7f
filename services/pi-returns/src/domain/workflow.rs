//! A return's life (DOMAIN.md §3): drafted, submitted, then signed off by a certifier who is never
//! the person who submitted it, or returned to its organisation for correction. A signed-off
//! return is never overwritten: it is corrected by a revision with a reason, which goes back to
//! the certifier; every earlier value stays visible.

use std::collections::BTreeSet;

use crate::domain::catalogue::Definition;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Submitted,
    SignedOff,
    Returned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::SignedOff => "signed_off",
            Status::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Status::Draft,
            Status::Submitted,
            Status::SignedOff,
            Status::Returned,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Why a step of the workflow is refused; each has a stable reason code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowError {
    /// The step does not apply in the return's current status.
    WrongStatus { step: &'static str, status: Status },
    /// The certifier is the submitter.
    CertifierIsSubmitter,
    /// Mandatory indicators have no value.
    MissingMandatory(Vec<String>),
    /// The period is not over yet.
    WindowNotOpen { opens_after: String },
}

impl WorkflowError {
    pub fn reason(&self) -> &'static str {
        match self {
            WorkflowError::WrongStatus { .. } => "WRONG_STATUS",
            WorkflowError::CertifierIsSubmitter => "CERTIFIER_IS_SUBMITTER",
            WorkflowError::MissingMandatory(_) => "MANDATORY_INDICATORS_MISSING",
            WorkflowError::WindowNotOpen { .. } => "WINDOW_NOT_OPEN",
        }
    }
}

impl std::fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkflowError::WrongStatus { step, status } => {
                write!(f, "a return that is {} cannot be {step}", status.as_str())
            }
            WorkflowError::CertifierIsSubmitter => write!(
                f,
                "the certifier must be someone other than the person who submitted the return"
            ),
            WorkflowError::MissingMandatory(codes) => write!(
                f,
                "mandatory indicators have no value: {}",
                codes.join(", ")
            ),
            WorkflowError::WindowNotOpen { opens_after } => write!(
                f,
                "the period is not over: the return can be submitted after {opens_after}"
            ),
        }
    }
}

/// Values may be entered on a draft or on a return sent back for correction.
pub fn may_edit(status: Status) -> Result<(), WorkflowError> {
    match status {
        Status::Draft | Status::Returned => Ok(()),
        s => Err(WorkflowError::WrongStatus {
            step: "edited (revise a signed-off return instead)",
            status: s,
        }),
    }
}

/// Submission: from draft or returned, with every mandatory indicator present.
pub fn submit<'a>(
    status: Status,
    required: impl IntoIterator<Item = &'a Definition>,
    present: &BTreeSet<String>,
) -> Result<Status, WorkflowError> {
    if !matches!(status, Status::Draft | Status::Returned) {
        return Err(WorkflowError::WrongStatus {
            step: "submitted",
            status,
        });
    }
    let missing: Vec<String> = required
        .into_iter()
        .filter(|d| d.mandatory && !present.contains(&d.code))
        .map(|d| d.code.clone())
        .collect();
    if !missing.is_empty() {
        return Err(WorkflowError::MissingMandatory(missing));
    }
    Ok(Status::Submitted)
}

/// Sign-off: a submitted return, by someone other than its submitter.
pub fn sign_off(status: Status, submitter: &str, certifier: &str) -> Result<Status, WorkflowError> {
    if status != Status::Submitted {
        return Err(WorkflowError::WrongStatus {
            step: "signed off",
            status,
        });
    }
    if submitter == certifier {
        return Err(WorkflowError::CertifierIsSubmitter);
    }
    Ok(Status::SignedOff)
}

/// Sending back for correction: a submitted return, by a certifier (not its submitter).
pub fn return_for_correction(
    status: Status,
    submitter: &str,
    certifier: &str,
) -> Result<Status, WorkflowError> {
    if status != Status::Submitted {
        return Err(WorkflowError::WrongStatus {
            step: "returned for correction",
            status,
        });
    }
    if submitter == certifier {
        return Err(WorkflowError::CertifierIsSubmitter);
    }
    Ok(Status::Returned)
}

/// A revision corrects a signed-off return; the corrected return awaits a new sign-off, with the
/// reviser as its submitter.
pub fn revise(status: Status) -> Result<Status, WorkflowError> {
    if status != Status::SignedOff {
        return Err(WorkflowError::WrongStatus {
            step: "revised (only signed-off returns are revised)",
            status,
        });
    }
    Ok(Status::Submitted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::{all_in_force, seed};

    #[test]
    fn submitter_cannot_sign_off_their_own_return() {
        assert_eq!(
            sign_off(
                Status::Submitted,
                "ann@LAMBETH-LIVING",
                "ann@LAMBETH-LIVING"
            ),
            Err(WorkflowError::CertifierIsSubmitter)
        );
        assert_eq!(
            sign_off(Status::Submitted, "ann@LAMBETH-LIVING", "bob@E09000022"),
            Ok(Status::SignedOff)
        );
    }

    #[test]
    fn only_submitted_returns_are_signed_off() {
        assert!(matches!(
            sign_off(Status::Draft, "a", "b"),
            Err(WorkflowError::WrongStatus { .. })
        ));
    }

    #[test]
    fn mandatory_indicators_missing_block_submission() {
        let defs = seed();
        let required = all_in_force(&defs, 2003);
        let mut present: BTreeSet<String> = required.iter().map(|d| d.code.clone()).collect();
        present.remove("BVPI 66a");
        // Local indicators are not mandatory.
        present.remove("LIB076");
        assert_eq!(
            submit(Status::Draft, required.iter().copied(), &present),
            Err(WorkflowError::MissingMandatory(vec!["BVPI 66a".into()]))
        );
        present.insert("BVPI 66a".into());
        assert_eq!(
            submit(Status::Returned, required.iter().copied(), &present),
            Ok(Status::Submitted)
        );
    }

    #[test]
    fn signed_off_return_is_revised_not_edited() {
        assert!(may_edit(Status::SignedOff).is_err());
        assert!(may_edit(Status::Submitted).is_err());
        assert!(may_edit(Status::Returned).is_ok());
        assert_eq!(revise(Status::SignedOff), Ok(Status::Submitted));
        assert!(revise(Status::Draft).is_err());
    }
}
