//! The one mapping from errors to `tonic::Status`. Every `INVALID_ARGUMENT` carries `BadRequest`
//! field violations; every error carries an `ErrorInfo` with a stable reason code in the
//! `almo-exchange` domain.

use almo_db::WriteError;
use sea_orm::DbErr;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The error domain in every `ErrorInfo`.
pub const ERROR_DOMAIN: &str = "almo-exchange";

/// One bad field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// One or more fields are wrong. `reason` is the stable code (usually `INVALID_FIELD`).
    #[error("{}", describe(.violations))]
    InvalidArgument {
        reason: &'static str,
        violations: Vec<FieldViolation>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// A bearer token refused before any handler runs: missing, malformed, expired or badly
    /// signed. Its reason is the token's (`TOKEN_MISSING`, `TOKEN_EXPIRED`, ...).
    #[error("{0}")]
    Token(#[from] almo_auth::AuthError),
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// A concurrent change (stale etag) or a transaction conflict: read again and retry.
    #[error("{message}")]
    Aborted {
        reason: &'static str,
        message: String,
    },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("{0}")]
    Unavailable(String),
    /// A call this endpoint does not serve (Flight's writes and actions).
    #[error("{0}")]
    Unimplemented(String),
    /// Logged in full; the client sees only that something went wrong.
    #[error("internal error: {0}")]
    Internal(String),
    /// A status that arrived already made (a request stream that could not be decoded): passed
    /// on as it is.
    #[error("{}", .0.message())]
    Status(Box<Status>),
}

impl From<Status> for AppError {
    fn from(s: Status) -> Self {
        AppError::Status(Box::new(s))
    }
}

/// Most field violations a refusal lists; the rest are counted in one more.
pub const MAX_VIOLATIONS: usize = 10;
/// Longest field name and description a violation carries, in bytes.
const MAX_FIELD_BYTES: usize = 48;
const MAX_DESCRIPTION_BYTES: usize = 160;
/// Longest status message, in bytes. With the details this keeps every refusal's trailer far
/// under the 8 KiB of metadata that gRPC-core clients (Python, C#, C++) accept by default.
const MAX_MESSAGE_BYTES: usize = 600;

/// `s` cut to at most `max` bytes on a character boundary, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The violations a refusal carries: at most [`MAX_VIOLATIONS`], each clipped, and one more
/// saying how many were left out.
fn bounded(violations: &[FieldViolation]) -> Vec<FieldViolation> {
    let mut out: Vec<FieldViolation> = violations
        .iter()
        .take(MAX_VIOLATIONS)
        .map(|v| FieldViolation {
            field: clip(&v.field, MAX_FIELD_BYTES),
            description: clip(&v.description, MAX_DESCRIPTION_BYTES),
        })
        .collect();
    if violations.len() > MAX_VIOLATIONS {
        out.push(FieldViolation {
            field: "request".into(),
            description: format!(
                "{} more violations not listed; correct these and send again",
                violations.len() - MAX_VIOLATIONS
            ),
        });
    }
    out
}

fn describe(v: &[FieldViolation]) -> String {
    v.iter()
        .map(|f| format!("{}: {}", f.field, f.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    /// A single bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        AppError::InvalidArgument {
            reason: "INVALID_FIELD",
            violations: vec![FieldViolation {
                field: field.into(),
                description: description.into(),
            }],
        }
    }

    /// A stale etag (AIP-154).
    pub fn stale_etag(resource: &str) -> Self {
        AppError::Aborted {
            reason: "STALE_ETAG",
            message: format!("{resource} was changed since it was read; read it again and retry"),
        }
    }

    pub fn failed_precondition(reason: &'static str, message: impl Into<String>) -> Self {
        AppError::FailedPrecondition {
            reason,
            message: message.into(),
        }
    }

    fn code_and_reason(&self) -> (Code, &'static str) {
        match self {
            AppError::InvalidArgument { reason, .. } => (Code::InvalidArgument, reason),
            AppError::NotFound(_) => (Code::NotFound, "NOT_FOUND"),
            AppError::PermissionDenied(_) => (Code::PermissionDenied, "NOT_ALLOWED"),
            AppError::Unauthenticated(_) => (Code::Unauthenticated, "UNAUTHENTICATED"),
            AppError::Token(e) => (Code::Unauthenticated, e.reason()),
            AppError::FailedPrecondition { reason, .. } => (Code::FailedPrecondition, reason),
            AppError::Aborted { reason, .. } => (Code::Aborted, reason),
            AppError::AlreadyExists(_) => (Code::AlreadyExists, "ALREADY_EXISTS"),
            AppError::ResourceExhausted(_) => (Code::ResourceExhausted, "OVERLOADED"),
            AppError::Unavailable(_) => (Code::Unavailable, "UNAVAILABLE"),
            AppError::Unimplemented(_) => (Code::Unimplemented, "NOT_SERVED"),
            AppError::Internal(_) => (Code::Internal, "INTERNAL"),
            AppError::Status(s) => (s.code(), "UPSTREAM"),
        }
    }
}

impl From<AppError> for Status {
    fn from(e: AppError) -> Self {
        if let AppError::Status(s) = e {
            return *s;
        }
        let (code, reason) = e.code_and_reason();
        let mut details = ErrorDetails::new();
        details.set_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
        let message = match &e {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error; it has been logged".to_string()
            }
            AppError::InvalidArgument { violations, .. } => {
                let shown = bounded(violations);
                for v in &shown {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                describe(&shown)
            }
            other => other.to_string(),
        };
        Status::with_error_details(code, clip(&message, MAX_MESSAGE_BYTES), details)
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        let text = e.to_string();
        // Serialisation failures and deadlocks on PostgreSQL, busy on SQLite: the client retries.
        if text.contains("could not serialize")
            || text.contains("deadlock detected")
            || text.contains("database is locked")
        {
            return AppError::Aborted {
                reason: "CONFLICT",
                message: "a concurrent change got there first; retry".into(),
            };
        }
        if matches!(e, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
            return AppError::Unavailable("the database is unavailable; retry shortly".into());
        }
        AppError::Internal(text)
    }
}

impl From<WriteError> for AppError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::MissingRequestId => AppError::invalid(
                "request_id",
                "required on every write, so a retry never duplicates it",
            ),
            WriteError::RequestIdReused(id) => AppError::InvalidArgument {
                reason: "REQUEST_ID_REUSED",
                violations: vec![FieldViolation {
                    field: "request_id".into(),
                    description: format!(
                        "{id:?} was already used for a different request; use a new request_id"
                    ),
                }],
            },
            WriteError::CorruptReplay(id) => {
                AppError::Internal(format!("stored response for {id:?} cannot be decoded"))
            }
            WriteError::Db(e) => e.into(),
        }
    }
}

/// Collects field violations so a request reports every bad field at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Adds the violation when `bad` holds.
    pub fn check(&mut self, bad: bool, field: &str, description: impl Into<String>) {
        if bad {
            self.add(field, description);
        }
    }

    /// The etag a change is based on (AIP-154) must be sent: `which` says whose, e.g. "the plan's
    /// etag as last read".
    pub fn require_etag(&mut self, etag: &str, which: &str) {
        self.check(etag.trim().is_empty(), "etag", format!("required: {which}"));
    }

    /// Keeps the value of `r`, or records its field violations (other errors are recorded as a
    /// violation of `field`).
    pub fn take<T>(&mut self, field: &str, r: Result<T, AppError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(AppError::InvalidArgument { violations, .. }) => {
                self.0.extend(violations);
                None
            }
            Err(other) => {
                self.add(field, other.to_string());
                None
            }
        }
    }

    /// Keeps the value a shared field parser (`almo_fields`) read, or records why `field` was
    /// refused.
    pub fn field<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(reason) => {
                self.add(field, reason);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::InvalidArgument {
                reason: "INVALID_FIELD",
                violations: self.0,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_field_violations_and_reason() {
        let mut v = Violations::new();
        v.add("ons_code", "must start with E06, E07, E08 or E09");
        v.add("region", "unknown region");
        let status: Status = v.into_result().unwrap_err().into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().unwrap();
        assert_eq!(bad.field_violations.len(), 2);
        assert_eq!(bad.field_violations[0].field, "ons_code");
        assert_eq!(details.error_info().unwrap().reason, "INVALID_FIELD");
        assert_eq!(details.error_info().unwrap().domain, ERROR_DOMAIN);
    }

    /// The bytes of metadata a status puts on the wire (names and values).
    fn metadata_bytes(s: &Status) -> usize {
        let mut headers = http::HeaderMap::new();
        s.add_header(&mut headers).unwrap();
        headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum()
    }

    #[test]
    fn refusals_stay_under_the_trailer_ceiling_whatever_the_input() {
        let huge = "é".repeat(1_000_000);
        let long = "€".repeat(1_000);
        let mut v = Violations::new();
        v.add(huge.clone(), huge.clone());
        for i in 1..100_000 {
            v.add(format!("values[{i}].{long}"), long.clone());
        }
        let status: Status = v.into_result().unwrap_err().into();
        assert!(
            metadata_bytes(&status) < 8 * 1024,
            "{}",
            metadata_bytes(&status)
        );
        let bad = status.get_error_details();
        let listed = &bad.bad_request().unwrap().field_violations;
        assert_eq!(listed.len(), MAX_VIOLATIONS + 1);
        assert!(
            listed[MAX_VIOLATIONS]
                .description
                .starts_with("99990 more violations"),
            "{}",
            listed[MAX_VIOLATIONS].description
        );
        let one: Status = AppError::NotFound(huge).into();
        assert!(metadata_bytes(&one) < 8 * 1024);
    }

    #[test]
    fn a_status_from_below_passes_through_unchanged() {
        let s: Status = AppError::from(Status::invalid_argument("not protobuf")).into();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.message(), "not protobuf");
    }

    #[test]
    fn internal_errors_do_not_leak_their_detail() {
        let status: Status = AppError::Internal("password=hunter2".into()).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }
}
