//! The inspection framework's rules as plain Rust (DOMAIN.md §4; 003 §94–§120, Table 7; 004).
//! Nothing here knows about gRPC or the database.

pub mod calendar;
pub mod cancellation;
pub mod fee;
pub mod hard_rule;
pub mod lifecycle;
pub mod outcome;
pub mod programme;
pub mod readiness;
pub mod slots;
pub mod team;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

pub use hard_rule::HardRule;

/// A span of calendar days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl DateRange {
    /// `None` when `end` is before `start`.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Option<Self> {
        (start <= end).then_some(Self { start, end })
    }

    pub fn overlaps(&self, other: &DateRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start <= d && d <= self.end
    }

    /// Days between the two ranges; 0 when they overlap or touch.
    pub fn gap_days(&self, other: &DateRange) -> i64 {
        if self.overlaps(other) {
            0
        } else if self.end < other.start {
            (other.start - self.end).num_days()
        } else {
            (self.start - other.end).num_days()
        }
    }
}

/// `2004-05-10..14` inside a month, `2004-05-28..2004-06-04` across months: how a person writes it.
impl std::fmt::Display for DateRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else if self.start.year() == self.end.year() && self.start.month() == self.end.month() {
            write!(f, "{}..{:02}", self.start, self.end.day())
        } else {
            write!(f, "{}..{}", self.start, self.end)
        }
    }
}

/// The on-site period of an inspection: the team arrives on a Monday and is on site that week.
pub fn on_site_week(monday: NaiveDate) -> DateRange {
    DateRange {
        start: monday,
        end: monday + Days::new(4),
    }
}

pub fn is_monday(d: NaiveDate) -> bool {
    d.weekday() == Weekday::Mon
}

/// The first Monday on or after `d`.
pub fn monday_on_or_after(d: NaiveDate) -> NaiveDate {
    let ahead = (7 - d.weekday().num_days_from_monday()) % 7;
    d + Days::new(u64::from(ahead))
}

/// `d` plus `n` calendar months (the 31st clamps to the month's last day).
pub fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n))
        .unwrap_or(NaiveDate::MAX)
}

pub fn add_weeks(d: NaiveDate, n: u32) -> NaiveDate {
    d + Days::new(u64::from(n) * 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn date_ranges_are_written_the_way_people_write_them() {
        let r = DateRange::new(d("2004-05-10"), d("2004-05-14")).unwrap();
        assert_eq!(r.to_string(), "2004-05-10..14");
        let r = DateRange::new(d("2004-05-28"), d("2004-06-04")).unwrap();
        assert_eq!(r.to_string(), "2004-05-28..2004-06-04");
        assert!(DateRange::new(d("2004-05-14"), d("2004-05-10")).is_none());
    }

    #[test]
    fn mondays_and_gaps() {
        assert_eq!(monday_on_or_after(d("2004-05-01")), d("2004-05-03"));
        assert_eq!(monday_on_or_after(d("2004-05-03")), d("2004-05-03"));
        let a = on_site_week(d("2004-05-03"));
        let b = DateRange::new(d("2004-05-10"), d("2004-05-14")).unwrap();
        assert_eq!(a.gap_days(&b), 3);
        assert_eq!(b.gap_days(&a), 3);
        assert!(!a.overlaps(&b));
    }
}
