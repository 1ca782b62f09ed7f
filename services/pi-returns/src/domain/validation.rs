//! A value is validated against the definition in force for its year (003 §67, App. 1: "QA
//! systems to ensure the collation of PIs complies with the published definitions").
//!
//! Errors refuse the value, naming the field and the reason: outside the valid range, the wrong
//! unit, more decimals than the definition carries, a figure that does not match its numerator
//! and denominator, a split the indicator does not have. Warnings — outside the usual range, a
//! change on last year beyond the definition's threshold — are accepted only with a written
//! explanation.

use crate::domain::catalogue::{Definition, Unit};

/// A value as entered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    pub split: String,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// The unit the figure is stated in; `None` means the indicator's own.
    pub unit: Option<Unit>,
    pub explanation: String,
}

/// A value that passed, with the warnings it raised (explained).
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub value: f64,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub warnings: Vec<String>,
    pub explanation: String,
}

/// Why a value is refused: the field of the entry (`value`, `numerator`, `denominator`, `unit`,
/// `split`, `explanation`) and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub field: &'static str,
    pub reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal {
        field,
        reason: reason.into(),
    }
}

/// Rounds to `precision` decimal places.
pub fn round_to(v: f64, precision: u32) -> f64 {
    let f = 10f64.powi(precision as i32);
    (v * f).round() / f
}

fn has_at_most_decimals(v: f64, precision: u32) -> bool {
    let f = 10f64.powi(precision as i32);
    ((v * f) - (v * f).round()).abs() < 1e-6
}

fn fmt(v: f64, precision: u32) -> String {
    format!("{v:.*}", precision as usize)
}

/// Validates `e` against `def`; `last_year` is the organisation's signed-off figure for the same
/// indicator and split a year earlier, if any.
pub fn validate(
    def: &Definition,
    e: &Entry,
    last_year: Option<f64>,
) -> Result<Accepted, Vec<Refusal>> {
    let mut errors = Vec::new();
    if !e.split.is_empty() && !def.splits.contains(&e.split) {
        let known = if def.splits.is_empty() {
            "it has no splits".to_string()
        } else {
            format!("its splits are {}", def.splits.join(", "))
        };
        errors.push(refuse(
            "split",
            format!("{} has no split {:?}: {known}", def.code, e.split),
        ));
    }
    if let Some(u) = e.unit
        && u != def.unit
    {
        errors.push(refuse(
            "unit",
            format!(
                "{} is measured in {}, not {}",
                def.code,
                def.unit.as_str(),
                u.as_str()
            ),
        ));
    }
    for (field, v) in [
        ("value", e.value),
        ("numerator", e.numerator),
        ("denominator", e.denominator),
    ] {
        if v.is_some_and(|v| !v.is_finite()) {
            errors.push(refuse(field, "must be a finite number"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let computed = match (&def.ratio, e.numerator, e.denominator) {
        (_, None, None) => None,
        (None, _, _) => {
            return Err(vec![refuse(
                "numerator",
                format!("{} is not a ratio: give the value only", def.code),
            )]);
        }
        (Some(_), Some(_), None) => {
            return Err(vec![refuse("denominator", "required with the numerator")]);
        }
        (Some(_), None, Some(_)) => {
            return Err(vec![refuse("numerator", "required with the denominator")]);
        }
        (Some(r), Some(n), Some(d)) => {
            if d <= 0.0 {
                return Err(vec![refuse(
                    "denominator",
                    format!("must be more than zero ({})", r.denominator),
                )]);
            }
            if n < 0.0 {
                return Err(vec![refuse(
                    "numerator",
                    format!("must not be negative ({})", r.numerator),
                )]);
            }
            Some(n / d * r.scale)
        }
    };
    let value = match (e.value, computed) {
        (None, None) => {
            return Err(vec![refuse(
                "value",
                "required: a value, or the numerator and denominator",
            )]);
        }
        (None, Some(c)) => round_to(c, def.precision),
        (Some(v), None) => v,
        (Some(v), Some(c)) => {
            // The stated figure must be the recomputed one, rounded to the definition's places.
            let tolerance = 0.5 * 10f64.powi(-(def.precision as i32)) + 1e-9;
            if (v - c).abs() > tolerance {
                return Err(vec![refuse(
                    "value",
                    format!(
                        "{} does not match the numerator and denominator: they give {}",
                        fmt(v, def.precision),
                        fmt(round_to(c, def.precision), def.precision)
                    ),
                )]);
            }
            v
        }
    };
    if !has_at_most_decimals(value, def.precision) {
        return Err(vec![refuse(
            "value",
            format!(
                "{} is reported to {} decimal place(s)",
                def.code, def.precision
            ),
        )]);
    }
    if def.unit == Unit::YesNo && value != 0.0 && value != 1.0 {
        return Err(vec![refuse("value", "yes/no: 1 for yes, 0 for no")]);
    }
    if value < def.valid_min || value > def.valid_max {
        return Err(vec![refuse(
            "value",
            format!(
                "{} is out of range: {} must be between {} and {} {}",
                fmt(value, def.precision),
                def.code,
                def.valid_min,
                def.valid_max,
                def.unit.as_str()
            ),
        )]);
    }
    let mut warnings = Vec::new();
    if value < def.usual_min || value > def.usual_max {
        warnings.push(format!(
            "{} is outside the usual range {} to {} {}",
            fmt(value, def.precision),
            def.usual_min,
            def.usual_max,
            def.unit.as_str()
        ));
    }
    if let Some(prev) = last_year
        && def.max_change_on_last_year > 0.0
        && (value - prev).abs() > def.max_change_on_last_year + 1e-9
    {
        warnings.push(format!(
            "changed by {} on last year's {} (more than {})",
            fmt(value - prev, def.precision),
            fmt(prev, def.precision),
            def.max_change_on_last_year
        ));
    }
    let explanation = e.explanation.trim().to_string();
    if !warnings.is_empty() && explanation.chars().count() < 10 {
        return Err(vec![refuse(
            "explanation",
            format!(
                "a written explanation (at least 10 characters) is needed: {}",
                warnings.join("; ")
            ),
        )]);
    }
    Ok(Accepted {
        value,
        numerator: e.numerator,
        denominator: e.denominator,
        warnings,
        explanation,
    })
}

/// A missing split is a warning too: an indicator reported for some of its splits but not all
/// (say satisfaction without the BME figure) needs a written explanation on one of its values.
/// `given` is (split, explanation) of each value of the indicator on the return. Returns the
/// warning when it is unexplained.
pub fn unexplained_missing_splits(def: &Definition, given: &[(&str, &str)]) -> Option<String> {
    if def.splits.is_empty() || given.is_empty() {
        return None;
    }
    let missing: Vec<&str> = def
        .splits
        .iter()
        .map(String::as_str)
        .filter(|s| !given.iter().any(|(g, _)| g == s))
        .collect();
    let explained = given.iter().any(|(_, e)| !e.trim().is_empty());
    (!missing.is_empty() && !explained).then(|| {
        format!(
            "{} has no {} figure: give it, or explain why on one of its values",
            def.code,
            missing.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::{in_force, seed};

    fn def(code: &str) -> Definition {
        in_force(&seed(), code, 2003).unwrap().clone()
    }

    fn value(v: f64) -> Entry {
        Entry {
            value: Some(v),
            ..Default::default()
        }
    }

    #[test]
    fn value_out_of_range_refused_with_the_field_named() {
        let err = validate(&def("BVPI 185"), &value(104.0), None).unwrap_err();
        assert_eq!(err[0].field, "value");
        assert!(err[0].reason.contains("out of range"), "{}", err[0].reason);
        assert!(validate(&def("old BVPI 68"), &value(-1.0), None).is_err());
    }

    #[test]
    fn ratio_recomputed_from_numerator_and_denominator() {
        let d = def("BVPI 66a");
        let e = Entry {
            numerator: Some(9_650_000.0),
            denominator: Some(10_000_000.0),
            ..Default::default()
        };
        assert_eq!(validate(&d, &e, None).unwrap().value, 96.5);
        let wrong = Entry {
            value: Some(97.5),
            ..e.clone()
        };
        let err = validate(&d, &wrong, None).unwrap_err();
        assert_eq!(err[0].field, "value");
        assert!(
            err[0].reason.contains("they give 96.50"),
            "{}",
            err[0].reason
        );
        // Within rounding of the definition's two decimal places is the same figure.
        let rounded = Entry {
            value: Some(96.5),
            numerator: Some(9_650_040.0),
            ..e
        };
        assert!(validate(&d, &rounded, None).is_ok());
    }

    #[test]
    fn denominator_of_zero_refused() {
        let e = Entry {
            numerator: Some(1.0),
            denominator: Some(0.0),
            ..Default::default()
        };
        assert_eq!(
            validate(&def("BVPI 66a"), &e, None).unwrap_err()[0].field,
            "denominator"
        );
        let half = Entry {
            numerator: Some(1.0),
            ..Default::default()
        };
        assert_eq!(
            validate(&def("BVPI 66a"), &half, None).unwrap_err()[0].field,
            "denominator"
        );
    }

    #[test]
    fn numerator_on_an_indicator_that_is_not_a_ratio_refused() {
        let e = Entry {
            numerator: Some(1.0),
            denominator: Some(1.0),
            ..Default::default()
        };
        assert_eq!(
            validate(&def("BVPI 164"), &e, None).unwrap_err()[0].field,
            "numerator"
        );
    }

    #[test]
    fn wrong_unit_refused() {
        let e = Entry {
            unit: Some(Unit::Percent),
            ..value(30.0)
        };
        let err = validate(&def("old BVPI 68"), &e, None).unwrap_err();
        assert_eq!(err[0].field, "unit");
        assert!(err[0].reason.contains("days"));
    }

    #[test]
    fn more_decimals_than_the_definition_refused() {
        let err = validate(&def("old BVPI 68"), &value(30.5), None).unwrap_err();
        assert_eq!(err[0].field, "value");
    }

    #[test]
    fn yes_no_takes_one_or_zero() {
        assert!(validate(&def("BVPI 164"), &value(1.0), None).is_ok());
        // 0 is outside the usual range of nothing: a "no" is a valid answer.
        assert!(validate(&def("BVPI 164"), &value(0.0), None).is_ok());
    }

    #[test]
    fn unknown_split_refused() {
        let e = Entry {
            split: "bme".into(),
            ..value(95.0)
        };
        assert_eq!(
            validate(&def("BVPI 66a"), &e, None).unwrap_err()[0].field,
            "split"
        );
        let ok = Entry {
            split: "bme".into(),
            ..value(80.0)
        };
        assert!(validate(&def("BVPI 74"), &ok, None).is_ok());
    }

    #[test]
    fn warning_without_explanation_refused_with_explanation_accepted() {
        let d = def("BVPI 66a");
        // 85% is valid but outside the usual range (90 to 101).
        let err = validate(&d, &value(85.0), None).unwrap_err();
        assert_eq!(err[0].field, "explanation");
        assert!(err[0].reason.contains("usual range"));
        let explained = Entry {
            explanation: "Housing benefit backlog at the council; cleared in April.".into(),
            ..value(85.0)
        };
        let ok = validate(&d, &explained, None).unwrap();
        assert_eq!(ok.warnings.len(), 1);
    }

    #[test]
    fn missing_split_needs_an_explanation() {
        let d = def("BVPI 74");
        let w = unexplained_missing_splits(&d, &[("", ""), ("bme", "")]).unwrap();
        assert!(w.contains("non_bme"), "{w}");
        assert!(
            unexplained_missing_splits(&d, &[("", ""), ("bme", ""), ("non_bme", "")]).is_none()
        );
        assert!(
            unexplained_missing_splits(&d, &[("", "Survey did not record ethnicity")]).is_none()
        );
        assert!(unexplained_missing_splits(&def("BVPI 66a"), &[("", "")]).is_none());
    }

    #[test]
    fn change_on_last_year_beyond_the_threshold_needs_an_explanation() {
        let d = def("BVPI 66a"); // threshold 3 points
        assert!(validate(&d, &value(97.0), Some(95.0)).is_ok());
        let err = validate(&d, &value(99.0), Some(95.0)).unwrap_err();
        assert_eq!(err[0].field, "explanation");
        assert!(err[0].reason.contains("last year"), "{}", err[0].reason);
    }

    mod laws {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_recomputed_ratio_is_accepted_when_stated_back(
                n in 0.0..1.0e8f64,
                extra in 0.0..1.0e8f64,
            ) {
                // Rent collected can never exceed what was due plus arrears; keep n <= d.
                let d = n + extra + 1.0;
                let def = def("BVPI 66a");
                let parts = Entry {
                    numerator: Some(n),
                    denominator: Some(d),
                    explanation: "Explained for whatever warning this raises.".into(),
                    ..Default::default()
                };
                let computed = validate(&def, &parts, None).unwrap().value;
                let stated = Entry { value: Some(computed), ..parts };
                prop_assert_eq!(validate(&def, &stated, None).unwrap().value, computed);
            }

            #[test]
            fn an_accepted_value_is_within_the_valid_range(v in -50.0..200.0f64) {
                let def = def("BVPI 185");
                let e = Entry {
                    value: Some(v.round()),
                    explanation: "Explained for whatever warning this raises.".into(),
                    ..Default::default()
                };
                match validate(&def, &e, None) {
                    Ok(a) => prop_assert!(def.valid_min <= a.value && a.value <= def.valid_max),
                    Err(r) => prop_assert!(v.round() < def.valid_min || v.round() > def.valid_max, "{:?}", r),
                }
            }
        }
    }
}
