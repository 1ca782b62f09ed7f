//! The fee estimate for an ALMO inspection: by stock size and the previous score, inside the
//! configured band (003 §120: £17,000 to £50,000 in rounds 1 and 2). Money is integer pence.

/// The lowest and highest fee of a round, in pence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeBand {
    pub min_pence: i64,
    pub max_pence: i64,
}

pub const ROUNDS_1_AND_2: FeeBand = FeeBand {
    min_pence: 1_700_000,
    max_pence: 5_000_000,
};

/// 75p per home managed on top of the minimum.
const PENCE_PER_HOME: i64 = 75;

/// The estimate: the band's minimum plus a charge per home, less for a good previous score (a
/// less intensive inspection, 003 §102), more for a poor one or none, kept inside the band.
pub fn fee_estimate(stock_size: u32, previous_stars: Option<u8>, band: FeeBand) -> i64 {
    let base = band.min_pence + i64::from(stock_size) * PENCE_PER_HOME;
    let percent: i64 = match previous_stars {
        Some(3..) => 85,
        Some(2) => 95,
        Some(1) => 100,
        Some(0) => 110,
        None => 105,
    };
    (base * percent / 100).clamp(band.min_pence, band.max_pence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fee_estimate_from_stock_size_and_previous_score_within_band() {
        // Lambeth Living, 33,000 homes, first inspection: £17,000 + £24,750, +5%.
        assert_eq!(fee_estimate(33_000, None, ROUNDS_1_AND_2), 4_383_750);
        assert_eq!(fee_estimate(33_000, Some(2), ROUNDS_1_AND_2), 3_966_250);
        // Small stock with an excellent score: the band's floor.
        assert_eq!(fee_estimate(1_000, Some(3), ROUNDS_1_AND_2), 1_700_000);
        // Large stock: the band's ceiling.
        assert_eq!(fee_estimate(60_000, Some(0), ROUNDS_1_AND_2), 5_000_000);
    }

    proptest! {
        #[test]
        fn fee_is_inside_the_band_and_grows_with_stock(
            a in 0u32..500_000, b in 0u32..500_000, stars in proptest::option::of(0u8..=3),
        ) {
            let (lo, hi) = (a.min(b), a.max(b));
            let f_lo = fee_estimate(lo, stars, ROUNDS_1_AND_2);
            let f_hi = fee_estimate(hi, stars, ROUNDS_1_AND_2);
            prop_assert!((1_700_000..=5_000_000).contains(&f_lo));
            prop_assert!(f_lo <= f_hi);
        }
    }
}
