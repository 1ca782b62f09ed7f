//! Reporting periods inside a local-government financial year (1 April to 31 March): months
//! numbered from April = 1, quarters Q1 Apr–Jun to Q4 Jan–Mar. Variances are reported by month or
//! by quarter; a whole year is not a monitoring period.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "month" => Some(PeriodKind::Month),
            "quarter" => Some(PeriodKind::Quarter),
            _ => None,
        }
    }

    pub fn per_year(self) -> i32 {
        match self {
            PeriodKind::Month => 12,
            PeriodKind::Quarter => 4,
        }
    }
}

/// A month or quarter of a financial year (`year` 2003 = 2003/04).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Period {
    pub year: i32,
    pub kind: PeriodKind,
    pub number: i32,
}

/// 1 April of financial year `year`.
pub fn year_start(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 4, 1).expect("1 April exists")
}

/// 31 March ending financial year `year`.
pub fn year_end(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year + 1, 3, 31).expect("31 March exists")
}

/// The financial year (by start year) a date falls in.
pub fn financial_year_of(d: NaiveDate) -> i32 {
    if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

impl Period {
    /// A period, if `number` fits its kind.
    pub fn new(year: i32, kind: PeriodKind, number: i32) -> Result<Self, String> {
        if !(1..=kind.per_year()).contains(&number) {
            return Err(match kind {
                PeriodKind::Month => format!("month {number}: months run 1 (April) to 12 (March)"),
                PeriodKind::Quarter => format!("quarter {number}: quarters run 1 to 4"),
            });
        }
        Ok(Self { year, kind, number })
    }

    /// A running count of periods of this kind, so that consecutive periods differ by one even
    /// across the turn of a financial year.
    pub fn ordinal(&self) -> i64 {
        i64::from(self.year) * i64::from(self.kind.per_year()) + i64::from(self.number) - 1
    }

    /// Whether `next` is the period straight after this one (same kind).
    pub fn is_followed_by(&self, next: &Period) -> bool {
        self.kind == next.kind && next.ordinal() == self.ordinal() + 1
    }

    /// The first day of the period.
    pub fn start_date(&self) -> NaiveDate {
        let first_month = match self.kind {
            PeriodKind::Month => self.number,
            PeriodKind::Quarter => self.number * 3 - 2,
        };
        let calendar_month = ((first_month + 2) % 12 + 1) as u32;
        let calendar_year = if first_month <= 9 {
            self.year
        } else {
            self.year + 1
        };
        NaiveDate::from_ymd_opt(calendar_year, calendar_month, 1).expect("valid date")
    }

    /// Whether `date` falls in the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        (self.start_date()..=self.end_date()).contains(&date)
    }

    /// The last day of the period.
    pub fn end_date(&self) -> NaiveDate {
        let months_in = match self.kind {
            PeriodKind::Month => self.number,
            PeriodKind::Quarter => self.number * 3,
        };
        // Financial month m (April = 1) is calendar month ((m + 2) % 12) + 1.
        let calendar_month = ((months_in + 2) % 12 + 1) as u32;
        let calendar_year = if months_in <= 9 {
            self.year
        } else {
            self.year + 1
        };
        let first_of_next = if calendar_month == 12 {
            NaiveDate::from_ymd_opt(calendar_year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(calendar_year, calendar_month + 1, 1)
        }
        .expect("valid date");
        first_of_next.pred_opt().expect("valid date")
    }

    /// Whether the period is over on `today`: its last day is before today. An actual is
    /// reported only for a period that has ended (DOMAIN.md §1).
    pub fn has_ended(&self, today: NaiveDate) -> bool {
        self.end_date() < today
    }

    /// "2003/04 M7" or "2003/04 Q2", for people.
    pub fn label(&self) -> String {
        let tag = match self.kind {
            PeriodKind::Month => "M",
            PeriodKind::Quarter => "Q",
        };
        format!(
            "{}/{:02} {tag}{}",
            self.year,
            (self.year + 1) % 100,
            self.number
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn months_and_quarters_end_on_the_right_day() {
        let m = |n| Period::new(2003, PeriodKind::Month, n).unwrap().end_date();
        let q = |n| {
            Period::new(2003, PeriodKind::Quarter, n)
                .unwrap()
                .end_date()
        };
        assert_eq!(m(1), d("2003-04-30"));
        assert_eq!(m(9), d("2003-12-31"));
        assert_eq!(m(10), d("2004-01-31"));
        assert_eq!(m(11), d("2004-02-29"));
        assert_eq!(m(12), d("2004-03-31"));
        assert_eq!(q(1), d("2003-06-30"));
        assert_eq!(q(3), d("2003-12-31"));
        assert_eq!(q(4), d("2004-03-31"));
    }

    #[test]
    fn numbers_outside_the_kind_are_refused() {
        assert!(Period::new(2003, PeriodKind::Month, 0).is_err());
        assert!(Period::new(2003, PeriodKind::Month, 13).is_err());
        assert!(Period::new(2003, PeriodKind::Quarter, 5).is_err());
    }

    #[test]
    fn march_is_followed_by_the_next_years_april() {
        let march = Period::new(2003, PeriodKind::Month, 12).unwrap();
        let april = Period::new(2004, PeriodKind::Month, 1).unwrap();
        assert!(march.is_followed_by(&april));
        assert!(!april.is_followed_by(&march));
        let q4 = Period::new(2003, PeriodKind::Quarter, 4).unwrap();
        assert!(q4.is_followed_by(&Period::new(2004, PeriodKind::Quarter, 1).unwrap()));
    }

    #[test]
    fn a_period_has_ended_only_after_its_last_day() {
        let nov = Period::new(2026, PeriodKind::Month, 8).unwrap();
        assert!(!nov.has_ended(d("2026-11-01")));
        assert!(!nov.has_ended(d("2026-11-30")), "not on its last day");
        assert!(nov.has_ended(d("2026-12-01")));
        let q3 = Period::new(2026, PeriodKind::Quarter, 3).unwrap();
        assert!(!q3.has_ended(d("2026-12-31")) && q3.has_ended(d("2027-01-01")));
    }

    proptest! {
        #[test]
        fn every_period_ends_inside_its_financial_year(
            year in 1990i32..2100, monthly in any::<bool>(), n in 1i32..=12
        ) {
            let kind = if monthly { PeriodKind::Month } else { PeriodKind::Quarter };
            let n = if monthly { n } else { (n - 1) % 4 + 1 };
            let p = Period::new(year, kind, n).unwrap();
            prop_assert_eq!(financial_year_of(p.end_date()), year);
            prop_assert!(p.end_date() <= year_end(year));
            prop_assert!(p.start_date() >= year_start(year));
            prop_assert!(p.contains(p.start_date()) && p.contains(p.end_date()));
            if p.number > 1 {
                let before = Period::new(year, kind, p.number - 1).unwrap();
                prop_assert_eq!(before.end_date().succ_opt().unwrap(), p.start_date());
            }
        }
    }
}
