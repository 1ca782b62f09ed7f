//! PI targets and the indicator catalogue (DOMAIN.md §1 and §3): a target that names a PI code
//! must name an indicator the catalogue defines for every year of the plan, and measures it in
//! the catalogue's unit and direction — stated the same, or taken from the definition. A local
//! measure (no PI code) is the parties' own and is not checked against the catalogue.

use super::Violation;
use super::period::financial_year_of;
use super::plan::{Direction, Span, Target, TargetKind, Unit};

/// What a plan needs from one catalogue definition (one code, a span of financial years).
#[derive(Debug, Clone, PartialEq)]
pub struct PiDefinition {
    pub code: String,
    pub from_year: i32,
    pub to_year: Option<i32>,
    /// The catalogue's unit as it writes it (`percent`, `sap_points`, ...).
    pub unit_name: String,
    /// The catalogue's direction as it writes it (`higher`, `lower`, `yes_no`, `context`).
    pub direction_name: String,
    pub valid_min: f64,
    pub valid_max: f64,
}

impl PiDefinition {
    pub fn in_force(&self, year: i32) -> bool {
        self.from_year <= year && self.to_year.is_none_or(|t| year <= t)
    }

    /// The plan unit that holds this indicator's figures; `None` for yes/no measures.
    pub fn unit(&self) -> Option<Unit> {
        match self.unit_name.as_str() {
            "percent" => Some(Unit::Percent),
            "days" => Some(Unit::Days),
            "count" => Some(Unit::Count),
            "sap_points" | "pounds" | "per_thousand" => Some(Unit::Ratio),
            _ => None,
        }
    }

    /// Which way is better; `None` for context and yes/no measures, which are not ranked.
    pub fn direction(&self) -> Option<Direction> {
        match self.direction_name.as_str() {
            "higher" => Some(Direction::HigherIsBetter),
            "lower" => Some(Direction::LowerIsBetter),
            _ => None,
        }
    }
}

/// Whether a PI target stated its unit and direction, or left them to the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stated {
    pub unit: bool,
    pub direction: bool,
}

fn year_label(year: i32) -> String {
    format!("{year}/{:02}", (year + 1) % 100)
}

/// Checks PI target `t` (at field path `field`) against `catalogue` for a plan covering `span`,
/// and fills in the unit and direction it left to the catalogue. Local measures pass untouched.
pub fn resolve(
    t: &mut Target,
    stated: Stated,
    span: Span,
    catalogue: &[PiDefinition],
    field: &str,
) -> Vec<Violation> {
    let mut v = Vec::new();
    let f = |name: &str| format!("{field}.{name}");
    let defined: Vec<&PiDefinition> = catalogue.iter().filter(|d| d.code == t.code).collect();
    if t.kind != TargetKind::Pi {
        // A local measure may not borrow an indicator's code and so escape its definition.
        if !defined.is_empty() {
            v.push((
                f("kind"),
                format!(
                    "{} is an indicator in the catalogue: its target is TARGET_KIND_PI",
                    t.code
                ),
            ));
        }
        return v;
    }
    if defined.is_empty() {
        v.push((
            f("code"),
            format!(
                "{:?} is not an indicator in the catalogue; a measure of the parties' own is TARGET_KIND_LOCAL",
                t.code
            ),
        ));
        return v;
    }
    let in_force = |year: i32| defined.iter().copied().find(|d| d.in_force(year));
    let missing: Vec<String> = span
        .years()
        .filter(|y| in_force(*y).is_none())
        .map(year_label)
        .collect();
    if !missing.is_empty() {
        v.push((
            f("code"),
            format!(
                "{} is not defined in the indicator catalogue for {}: a PI target needs a definition for every year of the plan",
                t.code,
                missing.join(", ")
            ),
        ));
        return v;
    }
    let defs: Vec<&PiDefinition> = span.years().filter_map(in_force).collect();
    let first = defs[0];
    let (Some(unit), Some(direction)) = (first.unit(), first.direction()) else {
        v.push((
            f("code"),
            format!(
                "{} is a {} measure in {}, which is not ranked and cannot be a target",
                t.code, first.unit_name, first.direction_name
            ),
        ));
        return v;
    };
    if defs
        .iter()
        .any(|d| d.unit() != Some(unit) || d.direction() != Some(direction))
    {
        v.push((
            f("code"),
            format!(
                "{}'s definition changes its unit or direction during the plan's years",
                t.code
            ),
        ));
        return v;
    }
    if stated.unit && t.unit != unit {
        v.push((
            f("unit"),
            format!(
                "{} is measured in {} in the indicator catalogue: state that unit or leave it unspecified",
                t.code, first.unit_name
            ),
        ));
    }
    t.unit = unit;
    if stated.direction && t.direction != direction {
        v.push((
            f("direction"),
            format!(
                "{} is {} is better in the indicator catalogue: state that direction or leave it unspecified",
                t.code, first.direction_name
            ),
        ));
    }
    t.direction = direction;
    let outside = |year: i32, value: f64| {
        in_force(year)
            .filter(|d| !(d.valid_min..=d.valid_max).contains(&value))
            .map(|d| {
                format!(
                    "{value} is outside {}'s valid range in {}, {} to {}",
                    t.code,
                    year_label(year),
                    d.valid_min,
                    d.valid_max
                )
            })
    };
    for (year, value) in &t.yearly {
        if let Some(reason) = outside(*year, *value) {
            v.push((f("yearly_targets"), reason));
        }
    }
    for (j, m) in t.milestones.iter().enumerate() {
        if let Some(reason) = outside(financial_year_of(m.date), m.value) {
            v.push((f(&format!("milestones[{j}].value")), reason));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::Milestone;
    use crate::domain::plan::tests::target;

    const SPAN: Span = Span {
        first: 2026,
        last: 2027,
    };

    fn def(code: &str, from: i32, to: Option<i32>, unit: &str, direction: &str) -> PiDefinition {
        PiDefinition {
            code: code.into(),
            from_year: from,
            to_year: to,
            unit_name: unit.into(),
            direction_name: direction.into(),
            valid_min: 0.0,
            valid_max: 100.0,
        }
    }

    fn catalogue() -> Vec<PiDefinition> {
        vec![
            def("TP01", 2023, None, "percent", "higher"),
            def("RP01", 2023, None, "percent", "lower"),
            def("BVPI 66a", 2000, Some(2007), "percent", "higher"),
            def("CH01", 2023, None, "per_thousand", "context"),
        ]
    }

    fn pi(code: &str) -> Target {
        let mut t = target(
            "BV66a",
            Direction::HigherIsBetter,
            &[(2026, 60.0), (2027, 65.0)],
        );
        t.code = code.into();
        t
    }

    const LEFT: Stated = Stated {
        unit: false,
        direction: false,
    };
    const BOTH: Stated = Stated {
        unit: true,
        direction: true,
    };

    fn fields(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|(f, _)| f.as_str()).collect()
    }

    #[test]
    fn a_pi_target_takes_its_unit_and_direction_from_the_catalogue() {
        let mut t = pi("RP01");
        t.unit = Unit::Ratio;
        t.direction = Direction::HigherIsBetter;
        assert_eq!(resolve(&mut t, LEFT, SPAN, &catalogue(), "t"), vec![]);
        assert_eq!(
            (t.unit, t.direction),
            (Unit::Percent, Direction::LowerIsBetter)
        );
    }

    #[test]
    fn a_pi_target_that_states_another_unit_or_direction_is_refused() {
        let mut t = pi("RP01");
        let v = resolve(&mut t, BOTH, SPAN, &catalogue(), "t");
        assert_eq!(fields(&v), vec!["t.direction"]);
        let mut t = pi("TP01");
        t.unit = Unit::Days;
        assert_eq!(
            fields(&resolve(&mut t, BOTH, SPAN, &catalogue(), "t")),
            vec!["t.unit"]
        );
        let mut t = pi("TP01");
        assert_eq!(resolve(&mut t, BOTH, SPAN, &catalogue(), "t"), vec![]);
    }

    #[test]
    fn a_pi_code_must_be_defined_for_every_year_of_the_plan() {
        for code in ["BV66a", "BVPI 66a", "CH01"] {
            let mut t = pi(code);
            let v = resolve(&mut t, LEFT, SPAN, &catalogue(), "t");
            assert_eq!(fields(&v), vec!["t.code"], "{code}");
        }
        let mut t = pi("BVPI 66a");
        t.yearly = [(2006, 97.0), (2007, 97.0)].into_iter().collect();
        let old = Span {
            first: 2006,
            last: 2007,
        };
        assert_eq!(resolve(&mut t, LEFT, old, &catalogue(), "t"), vec![]);
        let longer = Span {
            first: 2006,
            last: 2008,
        };
        let v = resolve(&mut t, LEFT, longer, &catalogue(), "t");
        assert!(v[0].1.contains("2008/09"), "{v:?}");
    }

    #[test]
    fn pi_targets_and_milestones_stay_inside_the_indicators_valid_range() {
        let mut cat = catalogue();
        cat[0].valid_max = 90.0;
        let mut t = pi("TP01");
        t.yearly.insert(2027, 95.0);
        t.milestones = vec![Milestone {
            date: "2027-01-31".parse().unwrap(),
            value: 91.0,
        }];
        assert_eq!(
            fields(&resolve(&mut t, LEFT, SPAN, &cat, "t")),
            vec!["t.yearly_targets", "t.milestones[0].value"]
        );
    }

    #[test]
    fn a_local_measure_is_not_checked_against_the_catalogue_but_may_not_take_a_pi_code() {
        let mut t = pi("LOCAL-RENT");
        t.kind = TargetKind::Local;
        t.unit = Unit::Days;
        assert_eq!(resolve(&mut t, BOTH, SPAN, &catalogue(), "t"), vec![]);
        assert_eq!(t.unit, Unit::Days);
        let mut t = pi("TP01");
        t.kind = TargetKind::Local;
        assert_eq!(
            fields(&resolve(&mut t, BOTH, SPAN, &catalogue(), "t")),
            vec!["t.kind"]
        );
    }
}
