//! The one rounding rule of SLA charging, used by every amount the service computes:
//!
//! **Each invoice line is rounded once, to the penny, half away from zero** (£0.005 becomes £0.01,
//! -£0.005 becomes -£0.01). Totals are sums of already-rounded lines and are never rounded again,
//! so an invoice always adds up. Half away from zero (not banker's rounding) is what a finance
//! officer checking a line on a calculator expects, and it is symmetric for credits.

/// `numerator / denominator` rounded to the nearest whole penny, halves away from zero.
/// `denominator` must be positive.
pub fn round_pence(numerator: i128, denominator: i128) -> i64 {
    assert!(denominator > 0, "rounding by a non-positive denominator");
    let q = numerator / denominator;
    let r = numerator % denominator;
    let adjust = if 2 * r.abs() >= denominator {
        numerator.signum()
    } else {
        0
    };
    i64::try_from(q + adjust).expect("amount out of range of i64 pence")
}

/// `amount × parts / whole`, rounded by the rule.
pub fn share(amount: i64, parts: i64, whole: i64) -> i64 {
    round_pence(amount as i128 * parts as i128, whole as i128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_is_to_the_penny_half_away_from_zero() {
        assert_eq!(round_pence(5, 10), 1); // 0.5p -> 1p
        assert_eq!(round_pence(-5, 10), -1); // -0.5p -> -1p
        assert_eq!(round_pence(4, 10), 0);
        assert_eq!(round_pence(-4, 10), 0);
        assert_eq!(round_pence(15, 10), 2); // not banker's: 1.5 -> 2
        assert_eq!(round_pence(25, 10), 3); // not banker's: 2.5 -> 3, not 2
        assert_eq!(round_pence(1_200_000 * 30, 365), 98_630);
    }

    proptest! {
        #[test]
        fn rounding_is_within_half_a_penny_and_symmetric(n in -1_000_000_000i64..1_000_000_000, d in 1i64..100_000) {
            let r = round_pence(n as i128, d as i128);
            prop_assert!((2 * (r as i128 * d as i128 - n as i128)).abs() <= d as i128);
            prop_assert_eq!(round_pence(-(n as i128), d as i128), -r);
        }
    }
}
