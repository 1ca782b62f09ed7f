//! Tenant survey precision (RSH tenant survey requirements, 2022; DOMAIN.md §3): the perception
//! measures (TP01–TP12) come from a survey whose precision at 95% confidence must reach a band
//! set by the landlord's relevant homes, counted apart for low-cost rental (LCRA) and low-cost
//! home ownership (LCHO):
//!
//! | relevant homes  | margin of error |
//! |-----------------|-----------------|
//! | under 2,500     | ±5 points       |
//! | 2,500 – 9,999   | ±4 points       |
//! | 10,000 – 24,999 | ±3 points       |
//! | 25,000 or more  | ±2 points       |
//!
//! The achieved margin is that of a proportion of 50% (the widest), with the finite population
//! correction: `1.96 × √(0.25 / n) × √((N − n) / (N − 1))` for `n` responses from `N` homes —
//! 554 responses from 7,271 homes give ±4.0. It is stated, and compared, in percentage points to
//! one decimal place, as landlords publish it: ±4.0 meets a ±4 band, ±4.1 does not.

/// The z value of a two-sided 95% confidence interval.
pub const Z_95: f64 = 1.96;

/// The tenure a survey (and a perception figure) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tenure {
    /// Low-cost rental accommodation.
    LowCostRental,
    /// Low-cost home ownership.
    LowCostHomeOwnership,
}

impl Tenure {
    pub fn as_str(self) -> &'static str {
        match self {
            Tenure::LowCostRental => "lcra",
            Tenure::LowCostHomeOwnership => "lcho",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lcra" => Some(Tenure::LowCostRental),
            "lcho" => Some(Tenure::LowCostHomeOwnership),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tenure::LowCostRental => "low-cost rental",
            Tenure::LowCostHomeOwnership => "low-cost home ownership",
        }
    }

    /// The tenure of a perception figure by its split: the `lcho` figure comes from the
    /// low-cost home ownership survey; the `lcra` figure and the headline figure (a landlord
    /// with rental homes only reports its rental survey's result as the headline) from the
    /// low-cost rental survey.
    pub fn of_split(split: &str) -> Self {
        if split == "lcho" {
            Tenure::LowCostHomeOwnership
        } else {
            Tenure::LowCostRental
        }
    }
}

/// What the precision check needs of a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Relevant homes the survey was drawn from (the population).
    pub relevant_homes: u32,
    /// Tenants who answered.
    pub responses: u32,
}

/// The margin of error required of a survey drawn from `relevant_homes`, in percentage points.
pub fn required_margin(relevant_homes: u32) -> f64 {
    match relevant_homes {
        0..=2_499 => 5.0,
        2_500..=9_999 => 4.0,
        10_000..=24_999 => 3.0,
        _ => 2.0,
    }
}

/// The band `relevant_homes` falls in, as words.
pub fn band_label(relevant_homes: u32) -> &'static str {
    match relevant_homes {
        0..=2_499 => "fewer than 2,500 relevant homes",
        2_500..=9_999 => "2,500 to 9,999 relevant homes",
        10_000..=24_999 => "10,000 to 24,999 relevant homes",
        _ => "25,000 or more relevant homes",
    }
}

/// The exact margin of error at 95% for a proportion of 50%, with the finite population
/// correction, in percentage points. A census (every home answered) has none.
pub fn margin_of_error(s: Sample) -> f64 {
    let (n, pop) = (s.responses as f64, s.relevant_homes as f64);
    if s.responses == 0 {
        return f64::INFINITY;
    }
    if s.responses >= s.relevant_homes || pop <= 1.0 {
        return 0.0;
    }
    let fpc = ((pop - n) / (pop - 1.0)).sqrt();
    100.0 * Z_95 * (0.25 / n).sqrt() * fpc
}

/// The margin as stated and compared: percentage points to one decimal place.
pub fn stated_margin(s: Sample) -> f64 {
    let m = margin_of_error(s);
    if m.is_finite() {
        (m * 10.0).round() / 10.0
    } else {
        m
    }
}

/// Whether the survey reaches its band's precision.
pub fn meets_band(s: Sample) -> bool {
    stated_margin(s) <= required_margin(s.relevant_homes)
}

/// The fewest responses from `relevant_homes` that reach its band.
pub fn responses_needed(relevant_homes: u32) -> u32 {
    // The margin falls as responses rise: the first count that meets the band.
    let (mut lo, mut hi) = (1u32, relevant_homes.max(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if meets_band(Sample {
            relevant_homes,
            responses: mid,
        }) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// A survey that misses its band, with the figures the refusal names.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    pub tenure: Tenure,
    pub sample: Sample,
    pub required: f64,
    pub achieved: f64,
    pub responses_needed: u32,
}

impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} survey ({} responses from {} relevant homes) achieves ±{:.1} points at 95% \
             confidence; {} require ±{:.1} ({} responses or more)",
            self.tenure.label(),
            self.sample.responses,
            self.sample.relevant_homes,
            self.achieved,
            band_label(self.sample.relevant_homes),
            self.required,
            self.responses_needed,
        )
    }
}

/// Checks one tenure's survey against its band.
pub fn check(tenure: Tenure, s: Sample) -> Result<f64, Shortfall> {
    let achieved = stated_margin(s);
    let required = required_margin(s.relevant_homes);
    if achieved <= required {
        Ok(achieved)
    } else {
        Err(Shortfall {
            tenure,
            sample: s,
            required,
            achieved,
            responses_needed: responses_needed(s.relevant_homes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(relevant_homes: u32, responses: u32) -> Sample {
        Sample {
            relevant_homes,
            responses,
        }
    }

    #[test]
    fn finite_population_correction_554_from_7271_is_four_points() {
        let m = margin_of_error(s(7_271, 554));
        assert!((m - 4.002).abs() < 0.001, "{m}");
        assert_eq!(stated_margin(s(7_271, 554)), 4.0);
        // Without the correction the same 554 answers would be ±4.16: the correction matters.
        let uncorrected = 100.0 * Z_95 * (0.25f64 / 554.0).sqrt();
        assert!((uncorrected - 4.164).abs() < 0.001, "{uncorrected}");
        assert!(meets_band(s(7_271, 554)));
    }

    #[test]
    fn census_has_no_margin_and_no_answers_never_meets_a_band() {
        assert_eq!(margin_of_error(s(800, 800)), 0.0);
        assert!(!meets_band(s(800, 0)));
    }

    /// At each band's edges: the fewest responses that reach ±x.0 pass (stated exactly at the
    /// required margin), one fewer is just outside.
    fn exactly_at_and_just_outside(relevant_homes: u32, required: f64) {
        assert_eq!(required_margin(relevant_homes), required);
        let n = responses_needed(relevant_homes);
        assert_eq!(
            stated_margin(s(relevant_homes, n)),
            required,
            "{relevant_homes}"
        );
        assert!(check(Tenure::LowCostRental, s(relevant_homes, n)).is_ok());
        let miss = check(Tenure::LowCostRental, s(relevant_homes, n - 1)).unwrap_err();
        assert_eq!(miss.achieved, required + 0.1, "{relevant_homes}");
        assert_eq!(miss.required, required);
        assert_eq!(miss.responses_needed, n);
    }

    #[test]
    fn under_2500_homes_need_five_points() {
        exactly_at_and_just_outside(1_000, 5.0);
        exactly_at_and_just_outside(2_499, 5.0);
    }

    #[test]
    fn from_2500_to_9999_homes_need_four_points() {
        exactly_at_and_just_outside(2_500, 4.0);
        exactly_at_and_just_outside(7_271, 4.0);
        exactly_at_and_just_outside(9_999, 4.0);
    }

    #[test]
    fn from_10000_to_24999_homes_need_three_points() {
        exactly_at_and_just_outside(10_000, 3.0);
        exactly_at_and_just_outside(24_999, 3.0);
    }

    #[test]
    fn from_25000_homes_need_two_points() {
        exactly_at_and_just_outside(25_000, 2.0);
        exactly_at_and_just_outside(250_000, 2.0);
    }

    #[test]
    fn the_band_changes_at_2500_10000_and_25000_homes() {
        assert_eq!(required_margin(2_499), 5.0);
        assert_eq!(required_margin(2_500), 4.0);
        assert_eq!(required_margin(9_999), 4.0);
        assert_eq!(required_margin(10_000), 3.0);
        assert_eq!(required_margin(24_999), 3.0);
        assert_eq!(required_margin(25_000), 2.0);
    }

    #[test]
    fn shortfall_names_required_and_achieved_figures() {
        let miss = check(Tenure::LowCostHomeOwnership, s(7_271, 500)).unwrap_err();
        let text = miss.to_string();
        assert!(text.contains("low-cost home ownership"), "{text}");
        assert!(text.contains("±4.2"), "{text}");
        assert!(text.contains("require ±4.0"), "{text}");
    }

    #[test]
    fn headline_and_rental_figures_come_from_the_rental_survey() {
        assert_eq!(Tenure::of_split(""), Tenure::LowCostRental);
        assert_eq!(Tenure::of_split("lcra"), Tenure::LowCostRental);
        assert_eq!(Tenure::of_split("lcho"), Tenure::LowCostHomeOwnership);
    }

    mod laws {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn more_responses_never_widen_the_margin(pop in 2u32..200_000, n in 1u32..5_000) {
                let n = n.min(pop - 1);
                prop_assert!(margin_of_error(s(pop, n + 1)) <= margin_of_error(s(pop, n)) + 1e-12);
            }

            #[test]
            fn the_responses_needed_are_the_fewest_that_meet_the_band(pop in 1u32..100_000) {
                let n = responses_needed(pop);
                prop_assert!(meets_band(s(pop, n)));
                prop_assert!(n == 1 || !meets_band(s(pop, n - 1)));
            }
        }
    }
}
