use super::*;

pub fn target(code: &str, direction: Direction, yearly: &[(i32, f64)]) -> Target {
    Target {
        code: code.into(),
        kind: if code.starts_with("BV") {
            TargetKind::Pi
        } else {
            TargetKind::Local
        },
        name: format!("measure {code}"),
        unit: Unit::Percent,
        direction,
        baseline: 50.0,
        yearly: yearly.iter().copied().collect(),
        tolerance: Tolerance {
            kind: ToleranceKind::Absolute,
            amber: 1.0,
            red: 3.0,
        },
        milestones: Vec::new(),
    }
}

pub fn content() -> PlanContent {
    let mut homes = target(
        "LOCAL-DECENT",
        Direction::HigherIsBetter,
        &[(2026, 300.0), (2027, 300.0)],
    );
    homes.unit = Unit::Count;
    homes.baseline = 0.0;
    PlanContent {
        targets: vec![
            target(
                "BV66a",
                Direction::HigherIsBetter,
                &[(2026, 97.0), (2027, 98.0)],
            ),
            homes,
        ],
        decent_homes: Some(DecentHomes {
            non_decent_at_baseline: 600,
            target_date: "2028-03-31".parse().unwrap(),
            planned: [(2026, 300), (2027, 300)].into_iter().collect(),
            progress_target_code: "LOCAL-DECENT".into(),
        }),
        capital: vec![
            CapitalLine {
                year: 2026,
                category: CapitalCategory::DecentHomes,
                pence: 95_00,
            },
            CapitalLine {
                year: 2026,
                category: CapitalCategory::Sustainability,
                pence: 5_00,
            },
        ],
        cost_effectiveness_percent: 2.0,
        delegated_functions: vec!["Repairs".into(), "Lettings".into()],
        exception_after: 2,
    }
}

pub const SPAN: Span = Span {
    first: 2026,
    last: 2027,
};

fn fields(v: &[Violation]) -> Vec<&str> {
    v.iter().map(|(f, _)| f.as_str()).collect()
}

#[test]
fn a_sound_plan_has_no_violations() {
    assert_eq!(violations(&content(), SPAN, "content"), vec![]);
}

#[test]
fn sustainability_share_is_at_most_five_percent_of_the_years_allocation() {
    let mut c = content();
    c.capital[1].pence = 5_01;
    c.capital[0].pence = 95_00;
    assert_eq!(
        fields(&violations(&c, SPAN, "content")),
        vec!["content.capital_profile"]
    );
}

#[test]
fn cost_effectiveness_target_is_at_least_two_percent_a_year() {
    let mut c = content();
    c.cost_effectiveness_percent = 1.99;
    assert_eq!(
        fields(&violations(&c, SPAN, "content")),
        vec!["content.annual_cost_effectiveness_percent"]
    );
}

#[test]
fn every_target_has_one_value_per_plan_year_inside_its_unit() {
    let mut c = content();
    c.targets[0].yearly.remove(&2027);
    c.targets[0].yearly.insert(2031, 99.0);
    c.targets[1].yearly.insert(2026, 12.5);
    let v = violations(&c, SPAN, "content");
    assert_eq!(
        fields(&v),
        vec![
            "content.targets[0].yearly_targets",
            "content.targets[0].yearly_targets",
            "content.targets[1].yearly_targets"
        ]
    );
}

#[test]
fn malformed_targets_are_refused_field_by_field() {
    let mut c = content();
    c.targets[0].code = "BV-66".into();
    c.targets[1].name = " ".into();
    c.targets[1].tolerance.red = 0.5;
    c.delegated_functions.push("repairs".into());
    c.exception_after = 0;
    let v = violations(&c, SPAN, "content");
    assert_eq!(
        fields(&v),
        vec![
            "content.targets[0].code",
            "content.targets[1].name",
            "content.targets[1].tolerance.red",
            "content.delegated_functions[2]",
            "content.exception_after_periods"
        ]
    );
}

#[test]
fn decent_homes_trajectory_must_reach_every_home() {
    let mut c = content();
    c.decent_homes.as_mut().unwrap().planned.insert(2027, 200);
    assert_eq!(
        fields(&violations(&c, SPAN, "content")),
        vec!["content.decent_homes.planned_decent"]
    );
}

fn version(number: i32, effective: &str) -> Version {
    Version {
        number,
        effective: effective.parse().unwrap(),
        content: content(),
    }
}

#[test]
fn earlier_versions_remain_readable_by_date() {
    let h = History {
        versions: vec![
            version(1, "2026-04-01"),
            version(2, "2026-10-01"),
            version(3, "2027-04-01"),
        ],
    };
    let on = |d: &str| h.in_force_on(d.parse().unwrap()).map(|v| v.number);
    assert_eq!(on("2026-03-31"), None);
    assert_eq!(on("2026-04-01"), Some(1));
    assert_eq!(on("2026-09-30"), Some(1));
    assert_eq!(on("2026-10-01"), Some(2));
    assert_eq!(on("2027-03-31"), Some(2));
    assert_eq!(on("2030-01-01"), Some(3));
    assert_eq!(h.governing("2025-01-01".parse().unwrap()).number, 1);
}

#[test]
fn an_amendment_cannot_take_effect_before_the_current_version() {
    let latest = "2026-10-01".parse().unwrap();
    assert!(effective_date_violation("2026-09-30".parse().unwrap(), latest, SPAN).is_some());
    assert!(effective_date_violation("2026-10-01".parse().unwrap(), latest, SPAN).is_none());
    assert!(effective_date_violation("2028-04-01".parse().unwrap(), latest, SPAN).is_some());
}

#[test]
fn reprofiling_within_a_year_keeps_its_total_and_moving_between_years_needs_an_amendment() {
    let c = content();
    let next = reprofile(
        &c,
        2026,
        &[
            (CapitalCategory::DecentHomes, 90_00),
            (CapitalCategory::Other, 10_00),
        ],
    )
    .unwrap();
    let year: Vec<_> = next
        .capital
        .iter()
        .filter(|l| l.year == 2026)
        .map(|l| (l.category, l.pence))
        .collect();
    assert_eq!(
        year,
        vec![
            (CapitalCategory::DecentHomes, 90_00),
            (CapitalCategory::Other, 10_00)
        ]
    );
    assert_eq!(violations(&next, SPAN, "content"), vec![]);
    let err = reprofile(&c, 2026, &[(CapitalCategory::DecentHomes, 99_00)]).unwrap_err();
    assert_eq!(err.0, "lines");
    // Re-profiling may not break the sustainability cap either.
    let greener = reprofile(
        &c,
        2026,
        &[
            (CapitalCategory::DecentHomes, 90_00),
            (CapitalCategory::Sustainability, 10_00),
        ],
    )
    .unwrap();
    assert_eq!(violations(&greener, SPAN, "content").len(), 1);
}

#[test]
fn milestones_fall_inside_the_plan_within_the_unit_in_date_order() {
    let mut c = content();
    let m = |date: &str, value| Milestone {
        date: date.parse().unwrap(),
        value,
    };
    c.targets[0].milestones = vec![m("2026-09-30", 97.5), m("2027-09-30", 98.0)];
    assert_eq!(violations(&c, SPAN, "content"), vec![]);
    c.targets[0].milestones = vec![
        m("2027-09-30", 98.0),
        m("2026-09-30", 97.5),
        m("2027-12-31", 100.5),
        m("2028-04-01", 99.0),
        m("2026-03-31", 99.0),
    ];
    assert_eq!(
        fields(&violations(&c, SPAN, "content")),
        vec![
            "content.targets[0].milestones[1].date",
            "content.targets[0].milestones[2].value",
            "content.targets[0].milestones[3].date",
            "content.targets[0].milestones[4].date",
        ]
    );
}

#[test]
fn values_outside_the_unit_are_refused() {
    assert!(Unit::Percent.check(100.5).is_err());
    assert!(Unit::Percent.check(f64::NAN).is_err());
    assert!(Unit::Count.check(2.5).is_err());
    assert!(Unit::Days.check(-1.0).is_err());
    assert!(Unit::Ratio.check(1.7).is_ok());
}
