//! The domain's refusals as the API states them, mapped in one place.

use almo_server::AppError;

use crate::billing::IssueError;
use crate::domain::agreement::AgreementError;
use crate::domain::dispute::DisputeError;

impl From<AgreementError> for AppError {
    fn from(e: AgreementError) -> Self {
        match e {
            AgreementError::AlreadyActive => {
                AppError::failed_precondition("VERSION_ACTIVE", e.to_string())
            }
            AgreementError::AlreadyAgreed => {
                AppError::failed_precondition("ALREADY_AGREED", e.to_string())
            }
            AgreementError::BadVariation(m) => AppError::invalid("effective_from_date", m),
        }
    }
}

impl From<DisputeError> for AppError {
    fn from(e: DisputeError) -> Self {
        match e {
            DisputeError::AlreadyResolved => {
                AppError::failed_precondition("DISPUTE_RESOLVED", e.to_string())
            }
            DisputeError::AlreadyDisputed => {
                AppError::failed_precondition("ALREADY_DISPUTED", e.to_string())
            }
            DisputeError::ResponseTooShort => AppError::invalid("response", e.to_string()),
        }
    }
}

/// Issuing invoice `id` was refused.
pub(super) fn issue_error(e: IssueError, id: &str) -> AppError {
    match e {
        IssueError::AlreadyIssued => AppError::failed_precondition(
            "INVOICE_ISSUED",
            format!(
                "invoice {id} has been issued and never changes; correct it with a credit note"
            ),
        ),
        IssueError::StaleEtag => AppError::stale_etag(&format!("slaInvoices/{id}")),
        IssueError::Db(e) => e.into(),
    }
}
