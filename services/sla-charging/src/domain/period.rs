//! Billing periods: a month or a quarter of a local-government financial year (1 April to
//! 31 March; month 1 is April, Q1 is April to June).

use chrono::{Datelike, NaiveDate};

/// How long a billing period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    Month,
    Quarter,
}

/// A month or quarter of financial year `fy_start_year` (2026 means 2026/27).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BillingPeriod {
    pub fy_start_year: i32,
    pub kind: PeriodKind,
    /// 1-12 for months (April = 1), 1-4 for quarters.
    pub number: u32,
}

impl BillingPeriod {
    pub fn new(fy_start_year: i32, kind: PeriodKind, number: u32) -> Result<Self, String> {
        let max = match kind {
            PeriodKind::Month => 12,
            PeriodKind::Quarter => 4,
        };
        if !(1..=max).contains(&number) {
            return Err(format!("number must be between 1 and {max}"));
        }
        if !(1990..=2200).contains(&fy_start_year) {
            return Err("financial year out of range".into());
        }
        Ok(Self {
            fy_start_year,
            kind,
            number,
        })
    }

    /// The financial-year month numbers (April = 1) the period covers.
    fn fy_months(&self) -> (u32, u32) {
        match self.kind {
            PeriodKind::Month => (self.number, self.number),
            PeriodKind::Quarter => (3 * self.number - 2, 3 * self.number),
        }
    }

    /// The first day of the period.
    pub fn start(&self) -> NaiveDate {
        first_of_fy_month(self.fy_start_year, self.fy_months().0)
    }

    /// The last day of the period (inclusive).
    pub fn end(&self) -> NaiveDate {
        let (_, last) = self.fy_months();
        let next = if last == 12 {
            fy_start(self.fy_start_year + 1)
        } else {
            first_of_fy_month(self.fy_start_year, last + 1)
        };
        next.pred_opt().expect("a date before 9999")
    }

    /// A stable key that sorts in time order, e.g. `2026-M01`, `2026-Q3`.
    pub fn key(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{}-M{:02}", self.fy_start_year, self.number),
            PeriodKind::Quarter => format!("{}-Q{}", self.fy_start_year, self.number),
        }
    }

    /// How a finance officer names it: `2026/27 month 1 (April 2026)`, `2026/27 Q3`.
    pub fn label(&self) -> String {
        let fy = format!(
            "{}/{:02}",
            self.fy_start_year,
            (self.fy_start_year + 1).rem_euclid(100)
        );
        match self.kind {
            PeriodKind::Month => format!(
                "{fy} month {} ({})",
                self.number,
                self.start().format("%B %Y")
            ),
            PeriodKind::Quarter => format!("{fy} Q{}", self.number),
        }
    }

    /// The months of the period.
    pub fn months(&self) -> Vec<BillingPeriod> {
        let (a, b) = self.fy_months();
        (a..=b)
            .map(|n| BillingPeriod {
                fy_start_year: self.fy_start_year,
                kind: PeriodKind::Month,
                number: n,
            })
            .collect()
    }
}

/// 1 April of the financial year starting in `year`.
pub fn fy_start(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 4, 1).expect("1 April exists")
}

/// The financial year (its start year) a date falls in.
pub fn fy_of(d: NaiveDate) -> i32 {
    if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// Days in the financial year starting in `year`: 366 when it contains 29 February.
pub fn fy_days(year: i32) -> i64 {
    (fy_start(year + 1) - fy_start(year)).num_days()
}

fn first_of_fy_month(fy: i32, n: u32) -> NaiveDate {
    let month = (n + 2) % 12 + 1;
    let year = if n <= 9 { fy } else { fy + 1 };
    NaiveDate::from_ymd_opt(year, month, 1).expect("first of a month exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn financial_year_months_start_in_april() {
        let p = BillingPeriod::new(2026, PeriodKind::Month, 1).unwrap();
        assert_eq!((p.start(), p.end()), (d("2026-04-01"), d("2026-04-30")));
        let p = BillingPeriod::new(2026, PeriodKind::Month, 11).unwrap();
        assert_eq!((p.start(), p.end()), (d("2027-02-01"), d("2027-02-28")));
        let p = BillingPeriod::new(2026, PeriodKind::Month, 12).unwrap();
        assert_eq!((p.start(), p.end()), (d("2027-03-01"), d("2027-03-31")));
        assert_eq!(p.key(), "2026-M12");
        assert_eq!(p.label(), "2026/27 month 12 (March 2027)");
    }

    #[test]
    fn quarters_are_apr_jun_jul_sep_oct_dec_jan_mar() {
        let q = |n| BillingPeriod::new(2026, PeriodKind::Quarter, n).unwrap();
        assert_eq!(
            (q(1).start(), q(1).end()),
            (d("2026-04-01"), d("2026-06-30"))
        );
        assert_eq!(
            (q(3).start(), q(3).end()),
            (d("2026-10-01"), d("2026-12-31"))
        );
        assert_eq!(
            (q(4).start(), q(4).end()),
            (d("2027-01-01"), d("2027-03-31"))
        );
        assert_eq!(q(4).months().len(), 3);
        assert_eq!(q(4).label(), "2026/27 Q4");
    }

    #[test]
    fn out_of_range_period_numbers_are_refused() {
        assert!(BillingPeriod::new(2026, PeriodKind::Month, 13).is_err());
        assert!(BillingPeriod::new(2026, PeriodKind::Quarter, 0).is_err());
        assert!(BillingPeriod::new(2026, PeriodKind::Quarter, 5).is_err());
    }

    #[test]
    fn a_financial_year_containing_29_february_has_366_days() {
        assert_eq!(fy_days(2026), 365);
        assert_eq!(fy_days(2027), 366); // Feb 2028
        assert_eq!(fy_of(d("2027-03-31")), 2026);
        assert_eq!(fy_of(d("2027-04-01")), 2027);
    }
}
