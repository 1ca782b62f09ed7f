//! One way to parse a field, for every service and the CLI alike.
//!
//! Each parser takes the text (or number) as it arrived and returns the value or the reason it
//! is refused. The reason never names the field — the caller does (`Violations::field` on the
//! server, `BadInput` with the line number in the CLI) — and never quotes more than a short
//! prefix of what was sent ([`quote`]), so an error stays small whatever the input.

mod money;
mod page;
mod period;
mod text;
mod time;

pub use money::{number, pence, pounds};
pub use page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, next_page_token, page_size, page_token};
pub use period::{PeriodKind, period_label, period_number, period_text};
pub use text::{
    MAX_ID_CHARS, MAX_NAME_CHARS, MAX_REQUEST_ID_CHARS, MAX_TEXT_CHARS, QUOTE_CHARS, id, name,
    quote, request_id, text,
};
pub use time::{
    FIRST_YEAR, LAST_YEAR, date, financial_year, financial_year_label, financial_year_of,
    optional_date, start_year,
};

/// The etag of a row at `version` (`v3`): what a change must send back (AIP-154).
pub fn etag(version: i64) -> String {
    format!("v{version}")
}

/// The version an etag names: `v3` -> 3.
pub fn parse_etag(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("required: the etag as last read".into());
    }
    s.strip_prefix('v')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("{} is not an etag this server issued", quote(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_and_others_are_refused() {
        assert_eq!(parse_etag(&etag(7)).unwrap(), 7);
        assert_eq!(parse_etag(" v0 ").unwrap(), 0);
        for bad in ["", "7", "v", "v-1", "w7", "v7x"] {
            assert!(parse_etag(bad).is_err(), "{bad:?}");
        }
    }
}
