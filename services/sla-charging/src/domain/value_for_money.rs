//! Value for money (000 §7.7; 003 §110): for each service line, what a unit actually cost the
//! ALMO over a financial year — charges less service credits and credit notes, divided by the
//! units billed — against the line's benchmark; and whether the support-services review, due
//! within 12 months of the ALMO going live, is done, due or overdue.

use chrono::{Months, NaiveDate};

use crate::domain::charging::QUANTITY_SCALE;
use crate::domain::rounding::round_pence;

/// Pence per unit actually paid, rounded by the rule; `None` when no units were billed.
pub fn actual_unit_cost(net_paid: i64, units_milli: i64) -> Option<i64> {
    (units_milli > 0).then(|| {
        round_pence(
            net_paid as i128 * QUANTITY_SCALE as i128,
            units_milli as i128,
        )
    })
}

/// How far the actual cost is above (positive) or below the benchmark, in basis points;
/// `None` without a benchmark.
pub fn variance_basis_points(actual: i64, benchmark: i64) -> Option<i64> {
    (benchmark > 0).then(|| round_pence((actual - benchmark) as i128 * 10_000, benchmark as i128))
}

/// For a fixed annual fee, the share of a year `days` covered, in thousandths of a year.
pub fn years_milli(days: i64, year_days: i64) -> i64 {
    round_pence(days as i128 * QUANTITY_SCALE as i128, year_days as i128)
}

/// Where the support-services review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    /// An agreed version took effect within 12 months of go-live: the SLAs were re-negotiated.
    Done { on: NaiveDate },
    /// Not yet reviewed; the deadline has not passed.
    Due { by: NaiveDate },
    /// Not reviewed within 12 months of go-live.
    Overdue { since: NaiveDate },
}

/// The review is due within 12 months of go-live (003 §110). A version of the SLA agreed to take
/// effect after go-live and by that deadline counts as the review.
pub fn review_status(
    go_live: NaiveDate,
    agreed_versions: &[NaiveDate],
    today: NaiveDate,
) -> ReviewStatus {
    let deadline = go_live + Months::new(12);
    if let Some(on) = agreed_versions
        .iter()
        .copied()
        .filter(|d| *d > go_live && *d <= deadline)
        .min()
    {
        return ReviewStatus::Done { on };
    }
    if today <= deadline {
        ReviewStatus::Due { by: deadline }
    } else {
        ReviewStatus::Overdue { since: deadline }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn actual_unit_cost_is_what_was_paid_per_unit_billed() {
        // 130 hours billed at £95, £190 credited: £93.54 an hour (93.538...).
        assert_eq!(actual_unit_cost(130 * 9_500 - 19_000, 130_000), Some(9_354));
        assert_eq!(actual_unit_cost(1_000, 0), None);
        // £93.54 against a benchmark of £88.00: 6.30% above.
        assert_eq!(variance_basis_points(9_354, 8_800), Some(630));
        assert_eq!(variance_basis_points(8_000, 8_800), Some(-909));
        assert_eq!(variance_basis_points(8_000, 0), None);
        assert_eq!(years_milli(91, 365), 249);
    }

    #[test]
    fn support_services_review_is_due_within_12_months_of_go_live() {
        let go_live = d("2026-04-01");
        assert_eq!(
            review_status(go_live, &[go_live], d("2026-10-01")),
            ReviewStatus::Due {
                by: d("2027-04-01")
            }
        );
        assert_eq!(
            review_status(go_live, &[go_live], d("2027-04-02")),
            ReviewStatus::Overdue {
                since: d("2027-04-01")
            }
        );
        assert_eq!(
            review_status(go_live, &[go_live, d("2027-01-01")], d("2030-01-01")),
            ReviewStatus::Done {
                on: d("2027-01-01")
            }
        );
        // A variation after the deadline does not make the review timely.
        assert_eq!(
            review_status(go_live, &[d("2027-06-01")], d("2027-07-01")),
            ReviewStatus::Overdue {
                since: d("2027-04-01")
            }
        );
    }
}
