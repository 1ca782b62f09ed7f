//! A council with more than one ALMO submits single combined figures for the authority
//! (003 §107), computed from its ALMOs' signed-off figures by each indicator's combination rule:
//! a sum, or the ratio of the summed numerators and summed denominators (never an average of
//! percentages, which would weigh a small ALMO like a large one), or not at all.

use chrono::NaiveDate;

use crate::domain::catalogue::{Combination, Definition, PartYear};
use crate::domain::period::Coverage;
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

/// One return's figure for the days it covers: an ALMO's up to its end, its council's after.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedPart {
    pub part: Part,
    pub covers: Coverage,
}

/// The authority's figure for the days `from..=to` made from part-year figures (the ALMOs' to
/// their ends, the council's own after, ALMOs live throughout) by the definition's part-year
/// rule ([`PartYear`]), with which parts counted; `Err` says why the council must report the
/// figure for the whole period itself.
pub fn combine_part_years(
    def: &Definition,
    parts: &[(String, Option<TimedPart>)],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Combined, Vec<bool>), String> {
    let rule = def.part_year();
    if rule == PartYear::NotCombinable {
        return Err(format!(
            "{} is not made from part-year figures: the council reports it for the whole period",
            def.code
        ));
    }
    let missing: Vec<&str> = parts
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(o, _)| o.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "no figure for its days from {} (an ALMO's counts once signed off)",
            missing.join(", ")
        ));
    }
    let timed: Vec<&TimedPart> = parts.iter().filter_map(|(_, p)| p.as_ref()).collect();
    let on_first = |t: &TimedPart| t.covers.from <= from;
    let on_last = |t: &TimedPart| t.covers.to >= to;
    let counted: Vec<bool> = timed
        .iter()
        .map(|t| match rule {
            PartYear::AtStart => on_first(t),
            PartYear::AtEnd => on_last(t),
            _ => true,
        })
        .collect();
    let chosen = |keep: &dyn Fn(&TimedPart) -> bool| -> Vec<(String, Option<Part>)> {
        timed
            .iter()
            .filter(|t| keep(t))
            .map(|t| (t.part.organisation_id.clone(), Some(t.part.clone())))
            .collect()
    };
    let combined = match rule {
        PartYear::Add => combine(def, &chosen(&|_| true)),
        PartYear::AtStart | PartYear::AtEnd => {
            let day = if rule == PartYear::AtStart { from } else { to };
            let on_day = chosen(&|t| t.covers.from <= day && day <= t.covers.to);
            if on_day.is_empty() {
                return Err(format!(
                    "{} is a stock on {day}, and no figure covers that day",
                    def.code
                ));
            }
            combine(def, &on_day)
        }
        PartYear::OverEndStock => over_end_stock(def, &timed, to),
        PartYear::NotCombinable => unreachable!("handled above"),
    }?;
    Ok((combined, counted))
}

/// A count over the period against the stock at its end: every part's numerator, the
/// denominators of the parts covering the last day.
fn over_end_stock(
    def: &Definition,
    timed: &[&TimedPart],
    to: NaiveDate,
) -> Result<Combined, String> {
    let Some(ratio) = &def.ratio else {
        return Err(format!("{} has no numerator and denominator", def.code));
    };
    let without: Vec<&str> = timed
        .iter()
        .filter(|t| t.part.numerator.is_none() || t.part.denominator.is_none())
        .map(|t| t.part.organisation_id.as_str())
        .collect();
    if !without.is_empty() {
        return Err(format!(
            "a count over the period against the stock at its end, but {} gave no numerator and \
             denominator",
            without.join(", ")
        ));
    }
    let n: f64 = timed.iter().filter_map(|t| t.part.numerator).sum();
    let d: f64 = timed
        .iter()
        .filter(|t| t.covers.to >= to)
        .filter_map(|t| t.part.denominator)
        .sum();
    if d <= 0.0 {
        return Err(format!("no stock at the period's end ({to}) to divide by"));
    }
    Ok(Combined {
        value: round_to(n / d * ratio.scale, def.precision),
        numerator: Some(n),
        denominator: Some(d),
    })
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

    fn timed(org: &str, n: f64, d: f64, from: &str, to: &str) -> (String, Option<TimedPart>) {
        let (_, part) = part(org, 0.0, Some(n), Some(d));
        (
            org.into(),
            Some(TimedPart {
                part: part.unwrap(),
                covers: Coverage {
                    from: from.parse().unwrap(),
                    to: to.parse().unwrap(),
                },
            }),
        )
    }

    fn transition_year(
        code: &str,
        almo: (f64, f64),
        council: (f64, f64),
    ) -> Result<(Combined, Vec<bool>), String> {
        let defs = seed();
        let def = in_force(&defs, code, 2024)
            .or_else(|| in_force(&defs, code, 2007))
            .unwrap();
        let parts = [
            timed("ALMO", almo.0, almo.1, "2016-04-01", "2016-10-16"),
            timed("COUNCIL", council.0, council.1, "2016-10-17", "2017-03-31"),
        ];
        combine_part_years(
            def,
            &parts,
            "2016-04-01".parse().unwrap(),
            "2017-03-31".parse().unwrap(),
        )
    }

    #[test]
    fn transition_year_flows_are_ratio_of_sums() {
        // Rent collected: 52.5m of 55m to the end, 40m of 45m after: 92.5 of 100, not 92.2.
        let (c, counted) = transition_year(
            "BVPI 66a",
            (52_500_000.0, 55_000_000.0),
            (40_000_000.0, 45_000_000.0),
        )
        .unwrap();
        assert_eq!(c.value, 92.5);
        assert_eq!(c.denominator, Some(100_000_000.0));
        assert_eq!(counted, vec![true, true]);
    }

    #[test]
    fn transition_year_stock_at_1_april_is_the_almos_and_at_31_march_the_councils() {
        // Non-decent homes at 1 April: the ALMO held the homes then.
        let (c, counted) =
            transition_year("BVPI 184a", (3_000.0, 10_000.0), (2_500.0, 10_000.0)).unwrap();
        assert_eq!(c.value, 30.0);
        assert_eq!(counted, vec![true, false]);
        // Homes not meeting the Decent Homes Standard at the year's end: the council's.
        let (c, counted) =
            transition_year("RP01", (3_000.0, 10_000.0), (2_500.0, 10_000.0)).unwrap();
        assert_eq!(c.value, 25.0);
        assert_eq!(counted, vec![false, true]);
    }

    #[test]
    fn transition_year_counts_per_home_add_over_the_year_against_the_homes_at_its_end() {
        // Complaints per 1,000 homes: 60 + 40 complaints against 10,000 homes, not 20,000.
        let (c, _) = transition_year("CH01", (60.0, 10_000.0), (40.0, 10_000.0)).unwrap();
        assert_eq!(c.value, 10.0);
        assert_eq!(c.denominator, Some(10_000.0));
    }

    #[test]
    fn transition_year_change_over_the_year_is_left_to_the_council() {
        let defs = seed();
        let change = in_force(&defs, "BVPI 184b", 2007).unwrap();
        let parts = [timed("ALMO", 1.0, 1.0, "2016-04-01", "2016-10-16")];
        let err = combine_part_years(
            change,
            &parts,
            "2016-04-01".parse().unwrap(),
            "2017-03-31".parse().unwrap(),
        )
        .unwrap_err();
        assert!(err.contains("whole period"), "{err}");
        let rent = in_force(&defs, "BVPI 66a", 2007).unwrap();
        let parts = [
            timed("ALMO", 1.0, 1.0, "2016-04-01", "2016-10-16"),
            ("COUNCIL".into(), None),
        ];
        let err = combine_part_years(
            rent,
            &parts,
            "2016-04-01".parse().unwrap(),
            "2017-03-31".parse().unwrap(),
        )
        .unwrap_err();
        assert!(err.contains("COUNCIL"), "{err}");
    }

    mod laws {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_year_split_at_an_end_adds_back_to_the_whole_years_ratio(
                due in 1.0e3..1.0e8f64,
                share in 0.01..0.99f64,
                rate_before in 0.5..1.0f64,
                rate_after in 0.5..1.0f64,
            ) {
                // Rent due before and after the end, collected at two different rates: the
                // year's figure is what was collected over what was due, wherever the split.
                let d = in_force(&seed(), "BVPI 66a", 2007).unwrap().clone();
                let (d1, d2) = (due * share, due * (1.0 - share));
                let (n1, n2) = (d1 * rate_before, d2 * rate_after);
                let parts = [
                    timed("ALMO", n1, d1, "2016-04-01", "2016-10-16"),
                    timed("COUNCIL", n2, d2, "2016-10-17", "2017-03-31"),
                ];
                let (from, to) = ("2016-04-01".parse().unwrap(), "2017-03-31".parse().unwrap());
                let (c, _) = combine_part_years(&d, &parts, from, to).unwrap();
                prop_assert_eq!(c.value, round_to((n1 + n2) / (d1 + d2) * 100.0, 2));
                let mut reversed = parts.clone();
                reversed.reverse();
                prop_assert_eq!(combine_part_years(&d, &reversed, from, to).unwrap().0, c.clone());
                // A stock at the year's end is the council's figure, whatever the ALMO's.
                let rp01 = in_force(&seed(), "RP01", 2024).unwrap().clone();
                let (end, _) = combine_part_years(&rp01, &parts, from, to).unwrap();
                prop_assert_eq!(end.value, round_to(n2 / d2 * 100.0, rp01.precision));
            }


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
