//! Service credits: when the council misses a service level in a period, the ALMO's invoice for
//! that period carries a credit of a share of the line's charge — never more than the charge.

use crate::domain::agreement::{Direction, ServiceLevel};
use crate::domain::rounding::share;

/// Whether `value` misses the level's target (meeting it exactly is not a miss).
pub fn missed(level: &ServiceLevel, value: f64) -> bool {
    match level.direction {
        Direction::HigherIsBetter => value < level.target,
        Direction::LowerIsBetter => value > level.target,
    }
}

/// The credit (a negative amount) for a missed level on a line that charged `line_charge` net
/// in the period; rounded by the rule and capped at the charge.
pub fn service_credit(level: &ServiceLevel, line_charge: i64) -> i64 {
    if line_charge <= 0 {
        return 0;
    }
    -share(line_charge, level.credit_basis_points, 10_000).min(line_charge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn level(direction: Direction, bp: i64) -> ServiceLevel {
        ServiceLevel {
            code: "IT-FIX-4H".into(),
            line_code: "IT".into(),
            measure: "% of P1 incidents fixed within 4 hours".into(),
            target: 95.0,
            direction,
            credit_basis_points: bp,
        }
    }

    #[test]
    fn service_credit_applied_when_a_level_is_missed() {
        let l = level(Direction::HigherIsBetter, 500);
        assert!(missed(&l, 94.9));
        assert!(!missed(&l, 95.0));
        assert!(!missed(&l, 99.0));
        // 5% of £2,220.00.
        assert_eq!(service_credit(&l, 222_000), -11_100);
        let lower = level(Direction::LowerIsBetter, 500);
        assert!(missed(&lower, 95.1));
        assert!(!missed(&lower, 80.0));
    }

    #[test]
    fn service_credit_is_rounded_per_line_half_away_from_zero() {
        // 5% of 10p = 0.5p -> 1p credit.
        assert_eq!(
            service_credit(&level(Direction::HigherIsBetter, 500), 10),
            -1
        );
    }

    proptest! {
        #[test]
        fn credits_never_exceed_charges(charge in -1_000_000i64..100_000_000, bp in 1i64..=10_000) {
            let c = service_credit(&level(Direction::HigherIsBetter, bp), charge);
            prop_assert!(c <= 0);
            prop_assert!(-c <= charge.max(0));
        }
    }
}
