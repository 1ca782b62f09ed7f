//! Quartile benchmarking (003 §73-76, Table 6).
//!
//! Method: linear interpolation between the closest ranks — Hyndman and Fan's type 7, the one
//! Excel's PERCENTILE.INC and R's default use: with the n values sorted ascending, the p-th
//! percentile is at rank h = (n - 1) p (from 0), interpolated between the values at floor(h) and
//! ceil(h).
//!
//! "Upper quartile" means the best 25% in the direction of better: for a higher-is-better
//! indicator the 75th percentile, for a lower-is-better one the 25th. Context measures get
//! quartiles but no verdict.

use crate::domain::catalogue::Direction;

/// How the quartiles are computed, as stated to every client.
pub const METHOD: &str = "linear interpolation between closest ranks (Hyndman-Fan type 7, as \
     Excel PERCENTILE.INC): rank h = (n-1)p from 0 over the values sorted ascending; reported to \
     one decimal place more than the indicator";

/// The p-th percentile (0 <= p <= 1) of values sorted ascending; `None` when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quartiles {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
}

/// The quartiles of `values` (in any order; NaNs are ignored); `None` when there are none.
pub fn quartiles(values: &[f64]) -> Option<Quartiles> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    Some(Quartiles {
        q1: percentile(&sorted, 0.25)?,
        median: percentile(&sorted, 0.5)?,
        q3: percentile(&sorted, 0.75)?,
    })
}

/// The quartiles rounded to `places` decimals. The service reports them to one place more than
/// the indicator carries: enough to tell neighbours apart, without the last-bit noise of binary
/// arithmetic (96.1 + 0.25 x 0.4 is not exactly 96.2 in floating point).
pub fn rounded(q: &Quartiles, places: u32) -> Quartiles {
    let r = |v: f64| {
        let f = 10f64.powi(places as i32);
        (v * f).round() / f
    };
    Quartiles {
        q1: r(q.q1),
        median: r(q.median),
        q3: r(q.q3),
    }
}

/// The threshold of the best 25% in the direction of better; `None` for context measures.
pub fn upper_quartile(q: &Quartiles, direction: Direction) -> Option<f64> {
    match direction {
        Direction::Higher | Direction::YesNo => Some(q.q3),
        Direction::Lower => Some(q.q1),
        Direction::Context => None,
    }
}

/// Where a value stands, in the direction of better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    UpperQuartile,
    AboveMedian,
    BelowMedian,
    LowerQuartile,
    NotRanked,
}

/// 1 (lowest values) to 4 (highest values), whatever the direction. A value on a boundary
/// belongs to the band above it.
pub fn band(value: f64, q: &Quartiles) -> i32 {
    if value >= q.q3 {
        4
    } else if value >= q.median {
        3
    } else if value >= q.q1 {
        2
    } else {
        1
    }
}

/// The verdict on `value`. Reaching a threshold counts as being on its better side; the median
/// itself is "below median" (not better than it).
pub fn verdict(value: f64, q: &Quartiles, direction: Direction) -> Verdict {
    match direction {
        Direction::Context => Verdict::NotRanked,
        Direction::Higher | Direction::YesNo => {
            if value >= q.q3 {
                Verdict::UpperQuartile
            } else if value > q.median {
                Verdict::AboveMedian
            } else if value >= q.q1 {
                Verdict::BelowMedian
            } else {
                Verdict::LowerQuartile
            }
        }
        Direction::Lower => {
            if value <= q.q1 {
                Verdict::UpperQuartile
            } else if value < q.median {
                Verdict::AboveMedian
            } else if value <= q.q3 {
                Verdict::BelowMedian
            } else {
                Verdict::LowerQuartile
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentile_interpolates_between_closest_ranks() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // h = 3 * 0.75 = 2.25: 3 + 0.25 * (4 - 3)
        assert_eq!(percentile(&v, 0.75), Some(3.25));
        assert_eq!(percentile(&v, 0.25), Some(1.75));
        assert_eq!(percentile(&v, 0.5), Some(2.5));
        assert_eq!(percentile(&[7.0], 0.25), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn lower_is_better_upper_quartile_is_the_25th_percentile() {
        // Average relet days: fewer is better.
        let q = quartiles(&[20.0, 26.0, 30.0, 36.0, 40.0, 43.0, 50.0, 60.0, 90.0]).unwrap();
        assert_eq!(q.q1, 30.0);
        assert_eq!(q.q3, 50.0);
        assert_eq!(upper_quartile(&q, Direction::Lower), Some(30.0));
        assert_eq!(upper_quartile(&q, Direction::Higher), Some(50.0));
        assert_eq!(verdict(26.0, &q, Direction::Lower), Verdict::UpperQuartile);
        assert_eq!(verdict(90.0, &q, Direction::Lower), Verdict::LowerQuartile);
        assert_eq!(verdict(90.0, &q, Direction::Higher), Verdict::UpperQuartile);
    }

    #[test]
    fn context_measures_get_quartiles_but_no_verdict() {
        let q = quartiles(&[50.0, 60.0, 70.0, 80.0, 90.0]).unwrap();
        assert_eq!(upper_quartile(&q, Direction::Context), None);
        assert_eq!(verdict(90.0, &q, Direction::Context), Verdict::NotRanked);
        assert_eq!(band(90.0, &q), 4);
    }

    fn values() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(-1.0e6..1.0e6f64, 1..60)
    }

    proptest! {
        #[test]
        fn quartiles_are_monotone_and_within_the_range(v in values()) {
            let q = quartiles(&v).unwrap();
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(min <= q.q1 && q.q1 <= q.median && q.median <= q.q3 && q.q3 <= max);
        }

        #[test]
        fn percentile_is_monotone_in_p(v in values(), a in 0.0..1.0f64, b in 0.0..1.0f64) {
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(percentile(&s, lo).unwrap() <= percentile(&s, hi).unwrap());
        }

        #[test]
        fn quartiles_do_not_depend_on_the_order_of_the_values(v in values(), seed in 0u64..1000) {
            let mut shuffled = v.clone();
            let n = shuffled.len();
            for i in 0..n {
                let j = ((seed as usize).wrapping_mul(31).wrapping_add(i * 17)) % n;
                shuffled.swap(i, j);
            }
            prop_assert_eq!(quartiles(&v), quartiles(&shuffled));
        }

        #[test]
        fn lower_is_better_is_higher_is_better_mirrored(v in values()) {
            // Negating every value turns "lower is better" into "higher is better": the upper
            // quartile must be the same threshold, negated.
            let q = quartiles(&v).unwrap();
            let neg: Vec<f64> = v.iter().map(|x| -x).collect();
            let qn = quartiles(&neg).unwrap();
            let lower = upper_quartile(&q, Direction::Lower).unwrap();
            let higher = upper_quartile(&qn, Direction::Higher).unwrap();
            prop_assert!((lower + higher).abs() <= 1e-9 * (1.0 + lower.abs()));
        }

        #[test]
        fn about_a_quarter_of_values_reach_the_upper_quartile(v in prop::collection::vec(-1.0e3..1.0e3f64, 4..80)) {
            let q = quartiles(&v).unwrap();
            let top = v.iter().filter(|x| verdict(**x, &q, Direction::Higher) == Verdict::UpperQuartile).count();
            // At least the top value, and (ties aside) not more than a quarter plus one.
            prop_assert!(top >= 1);
            let distinct = { let mut s = v.clone(); s.sort_by(f64::total_cmp); s.dedup(); s.len() == v.len() };
            if distinct {
                prop_assert!(top <= v.len() / 4 + 1);
            }
        }
    }
}
