//! ALMO-managed against in-house (DOMAIN.md §3; seed 001's claim that ALMO management "scores
//! significantly higher ... on all measures" and "does not cost more"): councils are put in a
//! group for a financial year from their ALMOs' live dates, each group is summarised (councils,
//! homes, quartiles, the homes-weighted mean), and the difference of the weighted means gets a
//! 95% confidence interval from a bootstrap over organisations with a stated seed.
//!
//! The group rule: a council is ALMO-managed for a year when one of its ALMOs managed its homes
//! on more than half of the year's days (an ALMO manages from its go-live date to its end date,
//! the directory's last day of its management); otherwise in-house. An ALMO that went live on
//! 1 October, or whose last day was 29 September, leaves its council in-house for that year (182
//! of 365 days); live from 1 September, or ending on 31 October, it makes it ALMO-managed.

use chrono::{Datelike, NaiveDate};

use crate::domain::catalogue::Direction;
use crate::domain::quartile::{self, Quartiles};

/// The catalogue code of cost per home (the Value for Money standard's headline social housing
/// cost per unit), shown beside every comparison.
pub const COST_PER_HOME: &str = "VFM05";

/// Resamples drawn when the caller names none.
pub const DEFAULT_RESAMPLES: u32 = 2_000;
/// The most resamples a call may ask for.
pub const MAX_RESAMPLES: u32 = 20_000;
/// The seed used when the caller names none.
pub const DEFAULT_SEED: u64 = 20_240_401;

/// How a council's homes were managed in a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Model {
    Almo,
    InHouse,
}

/// When an ALMO managed its council's homes: from go-live to its end, its last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlmoSpan {
    pub go_live: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

/// The first and last day of the financial year starting in April of `year`.
pub fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(year, 4, 1).expect("1 April"),
        NaiveDate::from_ymd_opt(year + 1, 3, 31).expect("31 March"),
    )
}

/// The days of `year` on which any of `spans` managed homes, and the days in the year.
pub fn days_managed(spans: &[AlmoSpan], year: i32) -> (u32, u32) {
    let (first, last) = year_bounds(year);
    let days_in_year = (last - first).num_days() as u32 + 1;
    let managed = first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| {
            spans
                .iter()
                .any(|s| s.go_live.is_some_and(|g| g <= *d) && s.end.is_none_or(|e| *d <= e))
        })
        .count() as u32;
    (managed, days_in_year)
}

/// The group of a council with ALMOs `spans` for `year`, with the days behind it.
pub fn assign(spans: &[AlmoSpan], year: i32) -> (Model, u32, u32) {
    let (managed, days) = days_managed(spans, year);
    let model = if managed * 2 > days {
        Model::Almo
    } else {
        Model::InHouse
    };
    (model, managed, days)
}

/// One council's figure for a measure, with its homes when known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub value: f64,
    pub homes: Option<u32>,
}

/// A group's figures summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub organisations: usize,
    pub homes: u64,
    pub quartiles: Option<Quartiles>,
    pub weighted_mean: Option<f64>,
}

/// The mean of the figures weighted by homes; figures with no known homes are left out.
pub fn weighted_mean(figures: &[Figure]) -> Option<f64> {
    let (sum, weight) = figures
        .iter()
        .filter_map(|f| f.homes.filter(|h| *h > 0).map(|h| (f.value, h as f64)))
        .fold((0.0, 0.0), |(s, w), (v, h)| (s + v * h, w + h));
    (weight > 0.0).then(|| sum / weight)
}

pub fn summarise(figures: &[Figure]) -> Summary {
    let values: Vec<f64> = figures.iter().map(|f| f.value).collect();
    Summary {
        organisations: figures.len(),
        homes: figures.iter().filter_map(|f| f.homes).map(u64::from).sum(),
        quartiles: quartile::quartiles(&values),
        weighted_mean: weighted_mean(figures),
    }
}

/// A difference with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub difference: f64,
    pub lower: f64,
    pub upper: f64,
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small generator written out here so an interval
/// is reproducible from its seed whatever version of any random-number crate is built in.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize
    }
}

fn resample(rng: &mut SplitMix64, figures: &[Figure]) -> Vec<Figure> {
    (0..figures.len())
        .map(|_| figures[rng.below(figures.len())])
        .collect()
}

/// ALMO minus in-house, of the homes-weighted means, with a 95% percentile bootstrap interval:
/// `resamples` times, each group's councils are drawn again with replacement (as many as it
/// has), and the 2.5th and 97.5th percentiles of the resampled differences bound it. Only
/// councils with known homes take part; each group needs two of them.
pub fn bootstrap_difference(
    almo: &[Figure],
    in_house: &[Figure],
    seed: u64,
    resamples: u32,
) -> Option<Interval> {
    let weighted = |g: &[Figure]| -> Vec<Figure> {
        g.iter()
            .filter(|f| f.homes.is_some_and(|h| h > 0))
            .copied()
            .collect()
    };
    let (a, b) = (weighted(almo), weighted(in_house));
    if a.len() < 2 || b.len() < 2 || resamples == 0 {
        return None;
    }
    let difference = weighted_mean(&a)? - weighted_mean(&b)?;
    let mut rng = SplitMix64::new(seed);
    let mut diffs: Vec<f64> = (0..resamples)
        .filter_map(|_| {
            let ra = resample(&mut rng, &a);
            let rb = resample(&mut rng, &b);
            Some(weighted_mean(&ra)? - weighted_mean(&rb)?)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    Some(Interval {
        difference,
        lower: quartile::percentile(&diffs, 0.025)?,
        upper: quartile::percentile(&diffs, 0.975)?,
    })
}

/// What an interval says in the measure's direction of better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    AlmoBetter,
    InHouseBetter,
    NoClearDifference,
    NotRanked,
    TooFew,
}

pub fn verdict(interval: Option<&Interval>, direction: Direction) -> Verdict {
    let Some(i) = interval else {
        return Verdict::TooFew;
    };
    let higher_is_better = match direction {
        Direction::Higher | Direction::YesNo => true,
        Direction::Lower => false,
        Direction::Context => return Verdict::NotRanked,
    };
    let almo_higher = i.lower > 0.0;
    let almo_lower = i.upper < 0.0;
    match (almo_higher, almo_lower, higher_is_better) {
        (true, _, true) | (_, true, false) => Verdict::AlmoBetter,
        (true, _, false) | (_, true, true) => Verdict::InHouseBetter,
        _ => Verdict::NoClearDifference,
    }
}

/// The method, in words, for every reply.
pub fn method(year: i32) -> String {
    let (first, last) = year_bounds(year);
    format!(
        "Councils only, each once. ALMO-managed: one of the council's ALMOs managed its homes on \
         more than half of the days from {first} to {last} (from go-live to its end date, its \
         last day); otherwise in-house. A council's figure is its own signed-off annual return's, \
         else its ALMOs' signed-off figures weighted by their homes. Homes are the relevant \
         homes of the return's tenant surveys, else the directory's stock. Quartiles: {} \
         Difference: ALMO minus in-house of the homes-weighted means; 95% interval: percentile \
         bootstrap over councils, each group resampled with replacement, SplitMix64 from the \
         stated seed (year {}).",
        quartile::METHOD,
        first.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn live(from: &str, to: Option<&str>) -> AlmoSpan {
        AlmoSpan {
            go_live: Some(d(from)),
            end: to.map(d),
        }
    }

    #[test]
    fn council_whose_almo_managed_all_year_is_almo_managed() {
        assert_eq!(
            assign(&[live("2008-04-01", None)], 2024),
            (Model::Almo, 365, 365)
        );
        // A shadow ALMO (no go-live) and no ALMO at all: in-house.
        let shadow = AlmoSpan {
            go_live: None,
            end: None,
        };
        assert_eq!(assign(&[shadow], 2024).0, Model::InHouse);
        assert_eq!(assign(&[], 2024), (Model::InHouse, 0, 365));
    }

    #[test]
    fn almo_live_mid_year_counts_when_it_managed_more_than_half_the_year() {
        // 1 October 2024 to 31 March 2025: 182 of 365 days.
        assert_eq!(
            assign(&[live("2024-10-01", None)], 2024),
            (Model::InHouse, 182, 365)
        );
        // From 30 September: 183 days, more than half.
        assert_eq!(
            assign(&[live("2024-09-30", None)], 2024),
            (Model::Almo, 183, 365)
        );
    }

    #[test]
    fn almo_wound_up_mid_year_counts_when_it_managed_more_than_half_the_year() {
        // Its last day 30 September 2024: managed 1 April to 30 September, 183 days.
        assert_eq!(
            assign(&[live("2010-04-01", Some("2024-09-30"))], 2024),
            (Model::Almo, 183, 365)
        );
        assert_eq!(
            assign(&[live("2010-04-01", Some("2024-09-29"))], 2024),
            (Model::InHouse, 182, 365)
        );
        // Ended before the year: in-house all year.
        assert_eq!(
            assign(&[live("2006-04-01", Some("2016-04-01"))], 2024).0,
            Model::InHouse
        );
    }

    #[test]
    fn two_almos_days_are_counted_once() {
        let spans = [
            live("2024-04-01", Some("2024-08-01")),
            live("2024-06-01", Some("2024-10-15")),
        ];
        // 1 April to 15 October, the second's last day: 198 days.
        assert_eq!(assign(&spans, 2024), (Model::Almo, 198, 365));
    }

    #[test]
    fn leap_year_has_366_days() {
        assert_eq!(days_managed(&[], 2023).1, 366);
    }

    fn fig(value: f64, homes: u32) -> Figure {
        Figure {
            value,
            homes: Some(homes),
        }
    }

    #[test]
    fn weighted_mean_weights_by_homes_and_leaves_out_the_unknown() {
        let f = [
            fig(80.0, 30_000),
            fig(60.0, 10_000),
            Figure {
                value: 0.0,
                homes: None,
            },
        ];
        assert_eq!(weighted_mean(&f), Some(75.0));
        let s = summarise(&f);
        assert_eq!((s.organisations, s.homes), (3, 40_000));
    }

    fn groups() -> (Vec<Figure>, Vec<Figure>) {
        let almo = vec![
            fig(78.0, 33_000),
            fig(74.5, 16_000),
            fig(71.0, 39_000),
            fig(76.2, 42_000),
            fig(69.8, 27_000),
        ];
        let in_house = vec![
            fig(70.1, 22_000),
            fig(66.4, 31_000),
            fig(72.9, 12_000),
            fig(64.0, 60_000),
            fig(68.3, 9_000),
            fig(71.7, 7_500),
        ];
        (almo, in_house)
    }

    #[test]
    fn interval_reproducible_from_its_seed() {
        let (a, b) = groups();
        let one = bootstrap_difference(&a, &b, 42, 2_000).unwrap();
        let again = bootstrap_difference(&a, &b, 42, 2_000).unwrap();
        assert_eq!(one, again);
        let other = bootstrap_difference(&a, &b, 43, 2_000).unwrap();
        assert_ne!(one.lower, other.lower);
        assert_eq!(one.difference, other.difference);
        assert!(
            one.lower < one.difference && one.difference < one.upper,
            "{one:?}"
        );
        // The first draws of the generator are fixed: the interval does not drift with any
        // crate's version.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn verdict_follows_the_direction_of_better() {
        let above = Interval {
            difference: 5.0,
            lower: 1.0,
            upper: 9.0,
        };
        let across = Interval {
            difference: 1.0,
            lower: -1.0,
            upper: 3.0,
        };
        assert_eq!(
            verdict(Some(&above), Direction::Higher),
            Verdict::AlmoBetter
        );
        assert_eq!(
            verdict(Some(&above), Direction::Lower),
            Verdict::InHouseBetter
        );
        assert_eq!(
            verdict(Some(&across), Direction::Higher),
            Verdict::NoClearDifference
        );
        assert_eq!(
            verdict(Some(&above), Direction::Context),
            Verdict::NotRanked
        );
        assert_eq!(verdict(None, Direction::Higher), Verdict::TooFew);
    }

    #[test]
    fn one_council_in_a_group_gives_no_interval() {
        let (a, b) = groups();
        assert!(bootstrap_difference(&a[..1], &b, 1, 100).is_none());
    }
}
