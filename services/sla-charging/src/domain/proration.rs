//! Fixed annual fees are billed by day over the financial year (365 or 366 days), so an
//! agreement that starts or ends inside a period pays only for the days it covers.
//!
//! The share of the fee for days `[a, b)` of the year (counted from 1 April) is
//! `round(fee × b / Y) − round(fee × a / Y)`: each line is rounded once, to the penny, half away
//! from zero, and because the shares telescope, the pieces of any year — months, quarters, or the
//! parts either side of a variation — add up to the annual fee exactly.

use chrono::NaiveDate;

use crate::domain::period::{fy_days, fy_of, fy_start};
use crate::domain::rounding::share;

/// An inclusive span of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySpan {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl DaySpan {
    pub fn new(first: NaiveDate, last: NaiveDate) -> Option<Self> {
        (first <= last).then_some(Self { first, last })
    }

    /// The days both spans cover.
    pub fn intersect(&self, other: &DaySpan) -> Option<DaySpan> {
        DaySpan::new(self.first.max(other.first), self.last.min(other.last))
    }

    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }
}

/// The part of `annual_fee` for the days of `span`, which must lie inside one financial year.
pub fn prorated_fixed_fee(annual_fee: i64, span: DaySpan) -> i64 {
    let fy = fy_of(span.first);
    assert_eq!(fy, fy_of(span.last), "a span inside one financial year");
    let year_days = fy_days(fy);
    let from = (span.first - fy_start(fy)).num_days();
    let to = (span.last - fy_start(fy)).num_days() + 1;
    share(annual_fee, to, year_days) - share(annual_fee, from, year_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::{BillingPeriod, PeriodKind};
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn span(a: &str, b: &str) -> DaySpan {
        DaySpan::new(d(a), d(b)).unwrap()
    }

    #[test]
    fn fixed_fee_prorated_by_day_when_agreement_starts_mid_period() {
        // £12,000 a year; the agreement starts on 16 April 2026, so April bills 15 of 365 days.
        let april = span("2026-04-01", "2026-04-30");
        let covered = april.intersect(&span("2026-04-16", "2029-03-31")).unwrap();
        assert_eq!(covered.days(), 15);
        let fee = prorated_fixed_fee(1_200_000, covered);
        // 1,200,000 × 30/365 = 98,630.14 -> 98,630; × 15/365 = 49,315.07 -> 49,315.
        assert_eq!(fee, 98_630 - 49_315);
        assert_eq!(prorated_fixed_fee(1_200_000, april), 98_630);
    }

    #[test]
    fn fixed_fee_prorated_by_day_when_agreement_ends_mid_period() {
        // The ALMO is wound up on 10 March 2027: March bills 10 of its 31 days.
        let march = span("2027-03-01", "2027-03-31");
        let covered = march.intersect(&span("2026-04-01", "2027-03-10")).unwrap();
        let fee = prorated_fixed_fee(365_000, covered);
        assert_eq!(fee, 10_000); // £3,650 a year is exactly £10 a day
    }

    #[test]
    fn twelve_months_of_a_fixed_fee_add_up_to_the_annual_fee_exactly() {
        for fy in [2026, 2027] {
            let total: i64 = (1..=12)
                .map(|n| {
                    let p = BillingPeriod::new(fy, PeriodKind::Month, n).unwrap();
                    prorated_fixed_fee(1_000_001, DaySpan::new(p.start(), p.end()).unwrap())
                })
                .sum();
            assert_eq!(total, 1_000_001);
        }
    }

    proptest! {
        /// Cut a year anywhere, any number of times: the pieces add up to the fee exactly, and
        /// each piece is within a penny of its exact share.
        #[test]
        fn prorated_parts_of_a_year_add_up_to_the_annual_fee(
            fee in 0i64..10_000_000_000,
            leap in any::<bool>(),
            mut cuts in proptest::collection::vec(1i64..365, 0..12),
        ) {
            let fy = if leap { 2027 } else { 2026 };
            let start = fy_start(fy);
            let days = fy_days(fy);
            cuts.sort();
            cuts.dedup();
            let mut bounds = vec![0];
            bounds.extend(cuts);
            bounds.push(days);
            let mut total = 0;
            for w in bounds.windows(2) {
                let s = DaySpan::new(
                    start + chrono::Days::new(w[0] as u64),
                    start + chrono::Days::new(w[1] as u64 - 1),
                ).unwrap();
                let piece = prorated_fixed_fee(fee, s);
                let exact = fee as f64 * s.days() as f64 / days as f64;
                prop_assert!((piece as f64 - exact).abs() <= 1.0);
                total += piece;
            }
            prop_assert_eq!(total, fee);
        }
    }
}
