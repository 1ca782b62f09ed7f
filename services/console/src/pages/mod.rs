//! The pages, one module per user group.

pub mod amendments;
pub mod finance;
pub mod home;
pub mod inspectorate;
pub mod management_models;
pub mod plans;
pub mod regulator;
pub mod sign_in;
pub mod variances;

use axum::response::{IntoResponse, Response};

use crate::session::PageError;

pub async fn not_found() -> Response {
    PageError::NotFound.into_response()
}

/// Formats a figure without trailing zeros (97.20 -> 97.2, 35.0 -> 35).
pub fn figure(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// Integer pence as pounds: £1,234.56.
pub fn money(m: Option<&almo_proto::common::Money>) -> String {
    let p = m.map(|m| m.pence).unwrap_or(0);
    let sign = if p < 0 { "-" } else { "" };
    let p = p.unsigned_abs();
    let pounds = (p / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}£{grouped}.{:02}", p % 100)
}

/// A period as people write it: "2026/27 Q1", "2026/27 M3".
pub fn period(p: Option<&almo_proto::common::Period>) -> String {
    let Some(p) = p else { return String::new() };
    let year =
        almo_fields::financial_year_label(p.year.as_ref().map(|y| y.start_year).unwrap_or(0));
    match p.kind {
        1 => format!("{year} M{}", p.number),
        2 => format!("{year} Q{}", p.number),
        _ => year,
    }
}

/// A timestamp as a date and time (UTC).
pub fn instant(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|d| d.format("%-d %b %Y %H:%M").to_string())
        .unwrap_or_default()
}

/// A date "2027-03-31" as "31 March 2027".
pub fn long_date(s: &str) -> String {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.format("%-d %B %Y").to_string())
        .unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands_and_keeps_the_sign() {
        let m = |p| almo_proto::common::Money {
            pence: p,
            currency_code: "GBP".into(),
        };
        assert_eq!(money(Some(&m(12_345_678))), "£123,456.78");
        assert_eq!(money(Some(&m(-5))), "-£0.05");
        assert_eq!(money(Some(&m(100_000))), "£1,000.00");
    }

    #[test]
    fn figures_drop_trailing_zeros() {
        assert_eq!(figure(97.2), "97.2");
        assert_eq!(figure(35.0), "35");
        assert_eq!(figure(0.126), "0.13");
    }
}
