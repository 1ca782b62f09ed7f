//! A council with more than one ALMO submits single combined figures for the authority
//! (003 §107), computed from its ALMOs' signed-off figures by each indicator's combination rule:
//! a sum, or the ratio of the summed numerators and summed denominators (never an average of
//! percentages, which would weigh a small ALMO like a large one), or not at all.

use crate::domain::catalogue::{Combination, Definition};
use crate::domain::validation::round_to;

/// One ALMO's figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub organisation_id: String,
    pub value: f64,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
}

/// The authority's figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Combined {
    pub value: f64,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
}

/// Combines `parts` (one per ALMO that must contribute; `None` where an ALMO has no figure) by
/// the rule of `def`; `Err` says why the council must report the figure itself.
pub fn combine(def: &Definition, parts: &[(String, Option<Part>)]) -> Result<Combined, String> {
    if def.combination == Combination::NotCombinable {
        return Err(format!(
            "{} is not combinable: the council reports it itself",
            def.code
        ));
    }
    let missing: Vec<&str> = parts
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(o, _)| o.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!("no signed-off figure from {}", missing.join(", ")));
    }
    let parts: Vec<&Part> = parts.iter().filter_map(|(_, p)| p.as_ref()).collect();
    if parts.is_empty() {
        return Err("no ALMO figures to combine".into());
    }
    match def.combination {
        Combination::Sum => Ok(Combined {
            value: round_to(parts.iter().map(|p| p.value).sum(), def.precision),
            numerator: None,
            denominator: None,
        }),
        Combination::Ratio => {
            let Some(ratio) = &def.ratio else {
                return Err(format!("{} has no numerator and denominator", def.code));
            };
            let without: Vec<&str> = parts
                .iter()
                .filter(|p| p.numerator.is_none() || p.denominator.is_none())
                .map(|p| p.organisation_id.as_str())
                .collect();
            if !without.is_empty() {
                return Err(format!(
                    "combined as a ratio, but {} gave no numerator and denominator",
                    without.join(", ")
                ));
            }
            let n: f64 = parts.iter().filter_map(|p| p.numerator).sum();
            let d: f64 = parts.iter().filter_map(|p| p.denominator).sum();
            if d <= 0.0 {
                return Err("the summed denominators are zero".into());
            }
            Ok(Combined {
                value: round_to(n / d * ratio.scale, def.precision),
                numerator: Some(n),
                denominator: Some(d),
            })
        }
        Combination::NotCombinable => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::{in_force, seed};

    fn part(org: &str, value: f64, n: Option<f64>, d: Option<f64>) -> (String, Option<Part>) {
        (
            org.into(),
            Some(Part {
                organisation_id: org.into(),
                value,
                numerator: n,
                denominator: d,
            }),
        )
    }

    #[test]
    fn combined_ratio_is_summed_numerators_over_summed_denominators() {
        let d = in_force(&seed(), "BVPI 66a", 2007).unwrap().clone();
        // A large ALMO at 95% and a small one at 99%: the authority is near the large one.
        let parts = [
            part("BIG", 95.0, Some(95_000_000.0), Some(100_000_000.0)),
            part("SMALL", 99.0, Some(9_900_000.0), Some(10_000_000.0)),
        ];
        let c = combine(&d, &parts).unwrap();
        assert_eq!(c.value, 95.36);
        assert_eq!(c.numerator, Some(104_900_000.0));
        assert_ne!(c.value, 97.0, "not the average of the percentages");
    }

    #[test]
    fn sum_rule_adds_the_figures() {
        let mut d = in_force(&seed(), "LIB052", 2004).unwrap().clone();
        d.combination = Combination::Sum;
        d.precision = 0;
        let c = combine(
            &d,
            &[part("A", 12.0, None, None), part("B", 30.0, None, None)],
        )
        .unwrap();
        assert_eq!(c.value, 42.0);
    }

    #[test]
    fn not_combinable_and_missing_figures_are_left_to_the_council() {
        let defs = seed();
        let yes_no = in_force(&defs, "BVPI 164", 2007).unwrap();
        assert!(combine(yes_no, &[part("A", 1.0, None, None)]).is_err());
        let rent = in_force(&defs, "BVPI 66a", 2007).unwrap();
        let err = combine(
            rent,
            &[part("A", 97.0, Some(97.0), Some(100.0)), ("B".into(), None)],
        )
        .unwrap_err();
        assert!(err.contains('B'));
        let err = combine(rent, &[part("A", 97.0, None, None)]).unwrap_err();
        assert!(err.contains("numerator"));
    }

    mod laws {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn the_order_of_the_almos_does_not_change_the_combined_figure(
                parts in prop::collection::vec((1.0..1.0e7f64, 0.0..1.0f64), 1..6),
            ) {
                let d = in_force(&seed(), "BVPI 66a", 2007).unwrap().clone();
                let ps: Vec<(String, Option<Part>)> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, (den, share))| part(&format!("A{i}"), 0.0, Some(den * share), Some(*den)))
                    .collect();
                let mut reversed = ps.clone();
                reversed.reverse();
                let a = combine(&d, &ps).unwrap();
                let b = combine(&d, &reversed).unwrap();
                prop_assert_eq!(a.value, b.value);
                // A ratio of sums lies between the smallest and largest of the parts' ratios.
                let ratios: Vec<f64> = parts.iter().map(|(_, s)| s * 100.0).collect();
                let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                prop_assert!(lo - 0.005 <= a.value && a.value <= hi + 0.005);
            }
        }
    }
}
