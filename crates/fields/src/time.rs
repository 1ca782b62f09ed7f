//! Dates and local-government financial years (1 April to 31 March, "2003/04").

use chrono::{Datelike, NaiveDate};

use crate::text::quote;

/// The first and last financial years the suite accepts (by their start year).
pub const FIRST_YEAR: i32 = 1990;
pub const LAST_YEAR: i32 = 2100;

/// A required ISO-8601 calendar date, `2026-04-01`.
pub fn date(s: &str) -> Result<NaiveDate, String> {
    optional_date(s)?.ok_or_else(|| "required: an ISO-8601 date such as 2026-04-01".into())
}

/// An ISO-8601 calendar date, or nothing when empty.
pub fn optional_date(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    // chrono's %Y takes any number of digits and a sign; a date here is exactly YYYY-MM-DD.
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if shaped => Ok(Some(d)),
        _ => Err(format!(
            "{} is not an ISO-8601 date such as 2026-04-01",
            quote(s)
        )),
    }
}

/// A financial year's start year as the contracts carry it (`FinancialYear.start_year`).
pub fn start_year(y: i32) -> Result<i32, String> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&y) {
        Ok(y)
    } else {
        Err(format!(
            "{y} is not a financial year between {} and {}",
            financial_year_label(FIRST_YEAR),
            financial_year_label(LAST_YEAR)
        ))
    }
}

/// A financial year as people write it: `2024/25` (the second part the next year, two digits)
/// or the start year alone, `2024`. Anything else — `2004/06`, `2004/5`, `04/05` — is refused,
/// so a typo never files a figure in another year.
pub fn financial_year(s: &str) -> Result<i32, String> {
    let t = s.trim();
    let bad = || format!("{} is not a financial year such as 2024/25", quote(t));
    let (first, second) = match t.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    if first.len() != 4 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let y: i32 = first.parse().map_err(|_| bad())?;
    if let Some(second) = second {
        let expected = format!("{:02}", (y + 1) % 100);
        if second != expected {
            return Err(format!(
                "{} is not a financial year: {y}/{expected} follows {y}",
                quote(t)
            ));
        }
    }
    start_year(y)
}

/// `2024` -> `2024/25`.
pub fn financial_year_label(start: i32) -> String {
    format!("{start}/{:02}", (start + 1).rem_euclid(100))
}

/// The financial year a date falls in, by its start year: 2025-03-31 -> 2024.
pub fn financial_year_of(d: NaiveDate) -> i32 {
    if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601_and_nothing_else() {
        assert_eq!(
            date("2026-04-01").unwrap(),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
        assert_eq!(optional_date("  ").unwrap(), None);
        assert!(date("").unwrap_err().starts_with("required"));
        for bad in [
            "2026-02-30",
            "2026-4-1",
            "01/04/2026",
            "+2026-04-01",
            "20260-04-01",
            "2026-04-01T00:00",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn financial_years_are_written_with_the_next_year_second() {
        assert_eq!(financial_year("2004/05").unwrap(), 2004);
        assert_eq!(financial_year("2099/00").unwrap(), 2099);
        assert_eq!(financial_year(" 2004 ").unwrap(), 2004);
        for typo in [
            "2004/06",
            "2004/99",
            "2003/05",
            "2004/5",
            "04/05",
            "2004/",
            "/05",
            "2004/2005",
            "y2004",
            "1989/90",
            "2101/02",
            "",
        ] {
            assert!(financial_year(typo).is_err(), "{typo}");
        }
    }

    #[test]
    fn start_years_are_in_range() {
        assert!(start_year(1990).is_ok());
        assert!(start_year(2100).is_ok());
        assert!(start_year(1989).is_err());
        assert!(start_year(0).is_err());
    }

    #[test]
    fn a_date_belongs_to_the_financial_year_that_started_the_april_before() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(financial_year_of(d(2025, 3, 31)), 2024);
        assert_eq!(financial_year_of(d(2025, 4, 1)), 2025);
        assert_eq!(financial_year_label(2003), "2003/04");
        assert_eq!(financial_year_label(1999), "1999/00");
    }
}
