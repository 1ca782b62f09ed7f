//! A refusal from the server, or bad input in a file or flag, as a person reads it, with the
//! exit code a script can act on: 1 refused, 2 bad input.

use std::fmt;
use std::process::ExitCode;

use tonic_types::StatusExt;

/// The server said no: its code, stable reason and message, and each bad field.
#[derive(Debug)]
pub struct Refused {
    pub code: tonic::Code,
    pub reason: String,
    pub message: String,
    /// `(field, description)` of each `BadRequest` violation.
    pub violations: Vec<(String, String)>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = if self.reason.is_empty() {
            String::new()
        } else {
            format!("{} ", self.reason)
        };
        write!(f, "refused: {reason}({:?}): {}", self.code, self.message)?;
        for (field, description) in &self.violations {
            write!(f, "\n  {field}: {description}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// The server's refusal as an error that prints its reason and every bad field.
pub fn refusal(status: tonic::Status) -> anyhow::Error {
    let details = status.get_error_details();
    let reason = details
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    let violations = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default();
    Refused {
        code: status.code(),
        reason,
        message: status.message().to_string(),
        violations,
    }
    .into()
}

/// Input the command could not read: which line of the file (when it is a file), which field,
/// and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub line: Option<usize>,
    pub field: String,
    pub reason: String,
}

impl BadInput {
    pub fn new(line: Option<usize>, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            line,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}, field {}: {}", self.field, self.reason),
            None => write!(f, "{}: {}", self.field, self.reason),
        }
    }
}

impl std::error::Error for BadInput {}

/// The exit code for a command that failed with `e`: 2 for bad input, 1 for anything else.
pub fn exit_code(e: &anyhow::Error) -> ExitCode {
    if e.chain().any(|c| c.downcast_ref::<BadInput>().is_some()) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn a_refusal_prints_its_reason_and_every_bad_field() {
        let mut d = ErrorDetails::new();
        d.set_error_info(
            "INVALID_FIELD",
            "almo-exchange",
            std::collections::HashMap::<String, String>::new(),
        );
        d.add_bad_request_violation("year", "required");
        let s =
            tonic::Status::with_error_details(tonic::Code::InvalidArgument, "year: required", d);
        let text = refusal(s).to_string();
        assert!(
            text.starts_with("refused: INVALID_FIELD (InvalidArgument)"),
            "{text}"
        );
        assert!(text.contains("\n  year: required"), "{text}");
    }

    #[test]
    fn bad_input_exits_2_and_refusals_exit_1() {
        let bad: anyhow::Error = BadInput::new(Some(7), "year", "not a year").into();
        assert_eq!(bad.to_string(), "line 7, field year: not a year");
        assert_eq!(exit_code(&bad), ExitCode::from(2));
        assert_eq!(
            exit_code(&bad.context("reading variances.csv")),
            ExitCode::from(2)
        );
        assert_eq!(
            exit_code(&refusal(tonic::Status::not_found("x"))),
            ExitCode::from(1)
        );
    }
}
