//! The programme's rules, each test named after one; property tests for the laws.

use super::*;
use crate::domain::readiness::almo_rules;
use crate::domain::readiness::tests::{d, table7_readiness};
use crate::domain::team::tests::person;
use crate::domain::team::{InspectorRole, team_rules};
use proptest::prelude::*;

fn almo(i: usize, stock: u32, region: &str) -> ProgrammeAlmo {
    ProgrammeAlmo {
        target: Target {
            almo_id: format!("ALMO-{i}"),
            council_id: format!("E0800000{i}"),
            region: region.into(),
            stock_size: stock,
            previous_stars: None,
        },
        readiness: table7_readiness(),
        history: History::default(),
        previous_good_and_promising: false,
    }
}

fn quarter() -> DateRange {
    // 2004/05 Q1: April to June.
    DateRange::new(d("2004-04-01"), d("2004-06-30")).unwrap()
}

/// Checks every hard rule of every assignment against the staff with all the other
/// assignments booked.
fn breaks(req: &ProgrammeRequest<'_>, prog: &Programme) -> Vec<String> {
    let mut out = Vec::new();
    for (k, a) in prog.assignments.iter().enumerate() {
        if a.assignment.pinned {
            continue;
        }
        let week = on_site_week(a.assignment.week_start);
        let mut people = req.people.to_vec();
        for (j, other) in prog.assignments.iter().enumerate() {
            if j != k {
                book(
                    &mut people,
                    &other.assignment.team,
                    other.assignment.week_start,
                    &other.assignment.almo_id,
                );
            }
        }
        let Some(pa) = req
            .almos
            .iter()
            .find(|x| x.target.almo_id == a.assignment.almo_id)
        else {
            out.push(format!("{} is not in the request", a.assignment.almo_id));
            continue;
        };
        let members: Vec<&Inspector> = a
            .assignment
            .team
            .iter()
            .filter_map(|id| people.iter().find(|p| &p.id == id))
            .collect();
        if members.len() != a.assignment.team.len() {
            out.push(format!("{}: unknown team member", a.assignment.almo_id));
        }
        for r in almo_rules(&pa.readiness, &pa.history, week)
            .into_iter()
            .chain(team_rules(&pa.target, &members, week))
        {
            out.push(format!("{}: {r}", a.assignment.almo_id));
        }
        if !req.quarter.contains(a.assignment.week_start) {
            out.push(format!("{} outside the quarter", a.assignment.almo_id));
        }
    }
    out
}

fn arb_person(id: usize) -> impl Strategy<Value = Inspector> {
    (
        0..4usize,
        prop::bool::ANY,
        prop::option::of(0..4usize),
        prop::option::of(0u32..13),
    )
        .prop_map(move |(role, london, tenant, leave)| {
            let role = [
                InspectorRole::Lead,
                InspectorRole::Inspector,
                InspectorRole::Inspector,
                InspectorRole::Tia,
            ][role];
            let mut p = person(
                &format!("P{id}"),
                role,
                if london { "London" } else { "North West" },
            );
            if role == InspectorRole::Tia {
                p.tenant_of = tenant.map(|t| format!("ALMO-{t}"));
            }
            if let Some(w) = leave {
                let s = add_weeks(d("2004-04-05"), w);
                p.unavailable
                    .push(DateRange::new(s, add_weeks(s, 2)).unwrap());
            }
            p
        })
}

fn arb_almo(i: usize) -> impl Strategy<Value = ProgrammeAlmo> {
    (
        1_000u32..45_000,
        prop::bool::ANY,
        0u32..13,
        0u32..13,
        prop::option::of(0u8..=3),
    )
        .prop_map(move |(stock, london, rent, audit, stars)| {
            let mut a = almo(i, stock, if london { "London" } else { "North West" });
            a.target.previous_stars = stars;
            let base = d("2004-04-05");
            a.readiness.best_value_reviews[2] = Some(add_weeks(base, rent));
            a.readiness
                .blackouts
                .push(crate::domain::readiness::Blackout {
                    label: "internal audit".into(),
                    period: DateRange::new(
                        add_weeks(base, audit),
                        add_weeks(base, audit) + chrono::Days::new(4),
                    )
                    .unwrap(),
                });
            a.readiness
                .board_meetings
                .push(add_weeks(base, (audit + 3) % 13) + chrono::Days::new(2));
            a
        })
}

fn arb_world() -> impl Strategy<Value = (Vec<ProgrammeAlmo>, Vec<Inspector>)> {
    (
        (1..6usize).prop_flat_map(|n| (0..n).map(arb_almo).collect::<Vec<_>>()),
        (3..14usize).prop_flat_map(|n| (0..n).map(arb_person).collect::<Vec<_>>()),
    )
}

fn request<'a>(
    almos: &'a [ProgrammeAlmo],
    people: &'a [Inspector],
    pinned: &'a [Assignment],
    seed: u64,
) -> ProgrammeRequest<'a> {
    ProgrammeRequest {
        almos,
        people,
        quarter: quarter(),
        pinned,
        seed,
        max_steps: 400,
        stall_steps: 200,
        time_budget: Duration::from_secs(30),
    }
}

fn staff() -> Vec<Inspector> {
    let mut people = vec![
        person("L-LON", InspectorRole::Lead, "London"),
        person("L-NW", InspectorRole::Lead, "North West"),
        person("I-LON", InspectorRole::Inspector, "London"),
        person("I-NW", InspectorRole::Inspector, "North West"),
        person("I-NW2", InspectorRole::Inspector, "North West"),
        person("T-1", InspectorRole::Tia, "London"),
        person("T-2", InspectorRole::Tia, "North West"),
    ];
    people[5].tenant_of = Some("ALMO-1".into());
    people
}

#[test]
fn programme_keeps_every_hard_rule_and_justifies_each_penalty() {
    let almos = vec![
        almo(1, 8_000, "London"),
        almo(2, 8_000, "London"),
        almo(3, 12_000, "North West"),
    ];
    let people = staff();
    let req = request(&almos, &people, &[], 7);
    let prog = schedule(&req);
    assert!(prog.unscheduled.is_empty(), "{prog:?}");
    assert_eq!(prog.assignments.len(), 3);
    assert!(breaks(&req, &prog).is_empty(), "{:?}", breaks(&req, &prog));
    // T-1 is a tenant of ALMO-1.
    let a1 = &prog.assignments[0].assignment;
    assert_eq!(a1.almo_id, "ALMO-1");
    assert!(!a1.team.contains(&"T-1".to_string()));
    assert_eq!(
        prog.soft_total,
        prog.assignments
            .iter()
            .map(|a| a.score.total())
            .sum::<u32>()
    );
    assert!(
        prog.assignments
            .iter()
            .flat_map(|a| &a.score.penalties)
            .all(|p| !p.justification.is_empty())
    );
    // The same seed, the same programme.
    assert_eq!(schedule(&request(&almos, &people, &[], 7)), prog);
}

#[test]
fn the_checker_catches_a_double_booking_and_an_own_landlord_tia() {
    let almos = vec![almo(1, 8_000, "London"), almo(2, 8_000, "London")];
    let people = staff();
    let req = request(&almos, &people, &[], 1);
    let bad = |almo_id: &str, team: &[&str]| ScoredAssignment {
        assignment: Assignment {
            almo_id: almo_id.into(),
            week_start: d("2004-06-07"),
            team: team.iter().map(|t| t.to_string()).collect(),
            pinned: false,
        },
        score: SoftScore::default(),
    };
    let prog = Programme {
        assignments: vec![
            bad("ALMO-1", &["L-LON", "I-NW", "T-1"]),
            bad("ALMO-2", &["L-LON", "I-LON", "T-2"]),
        ],
        unscheduled: vec![],
        cancelled: vec![],
        soft_total: 0,
        lower_bound: 0,
        weeks_assessed: 0,
        steps: 0,
        stop: Stop::NothingToSearch,
    };
    let found = breaks(&req, &prog);
    assert!(
        found
            .iter()
            .any(|b| b.contains("TIA T-1 is a tenant of ALMO-1")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|b| b.contains("L-LON already booked")),
        "{found:?}"
    );
}

#[test]
fn quarters_of_the_financial_year() {
    let q = |y, n| quarter_dates(y, n).map(|r| r.to_string());
    assert_eq!(q(2004, 1).as_deref(), Some("2004-04-01..2004-06-30"));
    assert_eq!(q(2004, 3).as_deref(), Some("2004-10-01..2004-12-31"));
    assert_eq!(q(2004, 4).as_deref(), Some("2005-01-01..2005-03-31"));
    assert_eq!(q(2004, 5), None);
}

#[test]
fn pinned_booking_is_not_moved() {
    let almos = vec![almo(1, 8_000, "London"), almo(2, 8_000, "London")];
    let people = staff();
    let pin = Assignment {
        almo_id: "ALMO-2".into(),
        week_start: d("2004-06-07"),
        team: vec!["L-LON".into(), "I-NW".into(), "T-1".into()],
        pinned: true,
    };
    let req = request(&almos, &people, std::slice::from_ref(&pin), 3);
    let prog = schedule(&req);
    assert_eq!(prog.assignments[0].assignment, pin);
    assert_eq!(prog.assignments.len(), 2);
    // Nobody of the pinned team is booked twice that week.
    let other = &prog.assignments[1].assignment;
    assert!(other.week_start != pin.week_start || other.team.iter().all(|t| !pin.team.contains(t)));
}

#[test]
fn replanning_after_a_drop_out_moves_only_what_it_must() {
    let almos = vec![
        almo(1, 8_000, "London"),
        almo(2, 8_000, "London"),
        almo(3, 8_000, "North West"),
    ];
    let people = staff();
    let req = request(&almos, &people, &[], 11);
    let prog = schedule(&req);
    let dropped = prog.assignments[0].assignment.team[1].clone();
    let next = replan_without(&req, &prog, &dropped);
    for a in &prog.assignments {
        if !a.assignment.team.contains(&dropped) {
            assert!(
                next.assignments
                    .iter()
                    .any(|b| b.assignment == a.assignment)
            );
        }
    }
    assert!(
        next.assignments
            .iter()
            .all(|a| !a.assignment.team.contains(&dropped))
    );
}

#[test]
fn previous_inspector_counts_only_inspectors_available_that_week() {
    let almos = vec![almo(3, 8_000, "North West")];
    let mut people = staff();
    // I-NW2 inspected ALMO-3 before, but is away all quarter: nobody free could have come.
    people[4].inspected.push("ALMO-3".into());
    people[4].unavailable.push(quarter());
    let prog = schedule(&request(&almos, &people, &[], 1));
    let a = &prog.assignments[0];
    assert!(
        a.score
            .penalties
            .iter()
            .all(|p| p.rule != "previous_inspector"),
        "{a:?}"
    );
    // Back from leave, a team without I-NW2 is penalised, and the justification names them.
    people[4].unavailable.clear();
    let team = vec!["L-NW".to_string(), "I-LON".to_string(), "T-2".to_string()];
    let score = score_placement(&almos[0], &people, &people, &team, d("2004-05-17"));
    let p = score
        .penalties
        .iter()
        .find(|p| p.rule == "previous_inspector")
        .expect("penalised");
    assert_eq!(p.points, 3);
    assert!(
        p.justification
            .contains("though I-NW2 (who has) could have served that week"),
        "{}",
        p.justification
    );
}

#[test]
fn the_search_stops_at_the_first_limit_and_says_which() {
    let almos = vec![
        almo(1, 8_000, "London"),
        almo(2, 8_000, "London"),
        almo(3, 12_000, "North West"),
    ];
    let people = staff();
    let mut req = request(&almos, &people, &[], 9);
    req.max_steps = 5;
    let prog = schedule(&req);
    assert_eq!((prog.stop, prog.steps), (Stop::StepLimit, 5));
    req.max_steps = u64::MAX;
    req.stall_steps = 50;
    let prog = schedule(&req);
    assert_eq!(prog.stop, Stop::NoImprovement);
    assert!(prog.steps >= 50);
    req.time_budget = Duration::ZERO;
    let prog = schedule(&req);
    assert_eq!((prog.stop, prog.steps), (Stop::TimeBudget, 0));
    assert_eq!(prog.assignments.len(), 3, "the greedy start is kept");
    let prog = schedule(&request(&[], &people, &[], 9));
    assert_eq!(prog.stop, Stop::NothingToSearch);
}

#[test]
fn replan_that_cannot_keep_an_almo_names_the_missing_role_every_week_and_cancels_its_booking() {
    let almos = vec![almo(1, 8_000, "London")];
    let all = staff();
    let people: Vec<Inspector> = all
        .iter()
        .filter(|p| ["L-LON", "I-NW", "T-2"].contains(&p.id.as_str()))
        .cloned()
        .collect();
    let req = request(&almos, &people, &[], 4);
    let prog = schedule(&req);
    assert_eq!(
        prog.assignments[0].assignment.team,
        ["L-LON", "I-NW", "T-2"]
    );
    let next = replan_without(&req, &prog, "I-NW");
    assert!(next.assignments.is_empty());
    let u = &next.unscheduled[0];
    assert_eq!(u.almo_id, "ALMO-1");
    // Every Monday of the quarter, each with the role that cannot be filled.
    assert_eq!(u.weeks.len(), mondays(quarter()).len());
    for (_, rules) in &u.weeks {
        assert!(
            rules.contains(&HardRule::NotEnoughInspectors {
                required: 2,
                free: 1
            }),
            "{rules:?}"
        );
    }
    assert_eq!(next.cancelled, vec![prog.assignments[0].assignment.clone()]);
}

#[test]
fn an_unplaced_almo_takes_the_place_of_a_costlier_one() {
    // One lead, free for one week only: one of two ALMOs can be placed. An all-London staff
    // costs the London ALMO 2 points (nobody from another region), the North West one nothing.
    let weeks = mondays(quarter());
    let almos = vec![almo(2, 8_000, "London"), almo(3, 8_000, "North West")];
    let mut people = vec![
        person("L-LON", InspectorRole::Lead, "London"),
        person("I-LON", InspectorRole::Inspector, "London"),
        person("T-LON", InspectorRole::Tia, "London"),
    ];
    let alone = schedule(&request(&almos[..1], &people, &[], 1));
    let week = alone.assignments[0].assignment.week_start;
    let (first, last) = (weeks[0], *weeks.last().unwrap());
    people[0].unavailable = [
        DateRange::new(first, week.pred_opt().unwrap()),
        DateRange::new(week + chrono::Days::new(7), last + chrono::Days::new(6)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut greedy_took_london = false;
    for seed in 0..16 {
        let req = request(&almos, &people, &[], seed);
        let fixed = fixed_people(&req);
        let free = free_almos(&req);
        let model = model::Model::new(&free, &fixed, &weeks);
        let start = search::greedy(&model, &mut Rng(seed));
        greedy_took_london |= start.place[0].is_some();
        let prog = schedule(&req);
        let placed: Vec<&str> = prog
            .assignments
            .iter()
            .map(|a| a.assignment.almo_id.as_str())
            .collect();
        assert_eq!(placed, ["ALMO-3"], "seed {seed}");
        assert_eq!(prog.unscheduled[0].almo_id, "ALMO-2");
    }
    assert!(
        greedy_took_london,
        "the greedy start never placed the costlier ALMO"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every move of the search (relocate, swap, chain, re-pick a week's teams) keeps every hard
    /// rule, and the search's running score is the reported soft score.
    #[test]
    fn every_move_keeps_every_hard_rule((almos, people) in arb_world(), seed in any::<u64>()) {
        let req = request(&almos, &people, &[], seed);
        let fixed = fixed_people(&req);
        let weeks = mondays(req.quarter);
        let free = free_almos(&req);
        let model = model::Model::new(&free, &fixed, &weeks);
        let mut rng = Rng(seed);
        let mut st = search::greedy(&model, &mut rng);
        for _ in 0..40 {
            search::step(&model, &mut st, &mut rng);
            let placed: Vec<Option<(NaiveDate, Vec<String>)>> = st
                .place
                .iter()
                .map(|p| p.as_ref().map(|(w, t)| (weeks[*w], model.ids(t))))
                .collect();
            let (assignments, _, total) = finish(&req, &free, &placed);
            let prog = Programme {
                assignments,
                unscheduled: vec![],
                cancelled: vec![],
                soft_total: total,
                lower_bound: 0,
                weeks_assessed: 0,
                steps: 0,
                stop: Stop::NothingToSearch,
            };
            prop_assert!(breaks(&req, &prog).is_empty(), "{:?}", breaks(&req, &prog));
            prop_assert_eq!(i64::from(total), st.cost);
        }
    }

    /// No programme scores below its lower bound.
    #[test]
    fn the_lower_bound_is_never_above_the_score((almos, people) in arb_world(), seed in any::<u64>()) {
        let prog = schedule(&request(&almos, &people, &[], seed));
        prop_assert!(prog.lower_bound <= prog.soft_total, "{} > {}", prog.lower_bound, prog.soft_total);
        prop_assert!((0.0..=1.0).contains(&prog.gap()));
    }

    /// A re-plan keeps every booking the caller pinned that the drop-out does not touch, and
    /// every placement without them.
    #[test]
    fn replan_keeps_pinned_bookings_and_moves_only_what_must(
        (almos, people) in arb_world(), seed in any::<u64>(), pick in any::<prop::sample::Index>(),
    ) {
        let first = schedule(&request(&almos, &people, &[], seed));
        let pinned: Vec<Assignment> = first
            .assignments
            .iter()
            .take(2)
            .map(|a| Assignment { pinned: true, ..a.assignment.clone() })
            .collect();
        let req = request(&almos, &people, &pinned, seed);
        let prog = schedule(&req);
        let dropped = people[pick.index(people.len())].id.clone();
        let next = replan_without(&req, &prog, &dropped);
        for p in pinned.iter().filter(|p| !p.team.contains(&dropped)) {
            prop_assert!(next.assignments.iter().any(|a| &a.assignment == p));
        }
        for a in prog.assignments.iter().filter(|a| !a.assignment.team.contains(&dropped)) {
            prop_assert!(next.assignments.iter().any(|b| b.assignment.week_start == a.assignment.week_start
                && b.assignment.team == a.assignment.team && b.assignment.almo_id == a.assignment.almo_id));
        }
        for c in &next.cancelled {
            prop_assert!(c.team.contains(&dropped));
            prop_assert!(next.unscheduled.iter().any(|u| u.almo_id == c.almo_id));
        }
    }

    /// No produced programme ever breaks a hard rule; the same seed gives the same programme.
    #[test]
    fn no_programme_breaks_a_hard_rule((almos, people) in arb_world(), seed in any::<u64>()) {
        let req = request(&almos, &people, &[], seed);
        let prog = schedule(&req);
        prop_assert!(breaks(&req, &prog).is_empty(), "{:?}", breaks(&req, &prog));
        prop_assert_eq!(prog.assignments.len() + prog.unscheduled.len(), almos.len());
        prop_assert_eq!(schedule(&req), prog);
    }

    /// The same seed gives the same programme, pinned bookings and all, whichever moves it made.
    #[test]
    fn the_same_seed_gives_the_same_programme((almos, people) in arb_world(), seed in any::<u64>()) {
        let first = schedule(&request(&almos, &people, &[], seed));
        let pinned: Vec<Assignment> = first
            .assignments
            .iter()
            .take(1)
            .map(|a| Assignment { pinned: true, ..a.assignment.clone() })
            .collect();
        let req = request(&almos, &people, &pinned, seed);
        let prog = schedule(&req);
        prop_assert_ne!(prog.stop, Stop::TimeBudget);
        prop_assert_eq!(schedule(&req), prog.clone());
        prop_assert_eq!(replan_without(&req, &prog, &people[0].id), replan_without(&req, &prog, &people[0].id));
    }

    /// Pinned bookings never move, and nothing placed around them breaks a hard rule.
    #[test]
    fn pinned_bookings_never_move((almos, people) in arb_world(), seed in any::<u64>()) {
        let first = schedule(&request(&almos, &people, &[], seed));
        let pinned: Vec<Assignment> = first
            .assignments
            .iter()
            .take(1)
            .map(|a| Assignment { pinned: true, ..a.assignment.clone() })
            .collect();
        let req = request(&almos, &people, &pinned, seed.wrapping_add(1));
        let prog = schedule(&req);
        for p in &pinned {
            prop_assert!(prog.assignments.iter().any(|a| &a.assignment == p));
        }
        prop_assert!(breaks(&req, &prog).is_empty(), "{:?}", breaks(&req, &prog));
    }

    /// After one drop-out, every placement without that inspector stays exactly as it was.
    #[test]
    fn replanning_changes_only_what_the_drop_out_touches(
        (almos, people) in arb_world(), seed in any::<u64>(), pick in any::<prop::sample::Index>(),
    ) {
        let req = request(&almos, &people, &[], seed);
        let prog = schedule(&req);
        let dropped = people[pick.index(people.len())].id.clone();
        let next = replan_without(&req, &prog, &dropped);
        for a in &prog.assignments {
            if !a.assignment.team.contains(&dropped) {
                prop_assert!(next.assignments.iter().any(|b| b.assignment == a.assignment));
            }
        }
        let remaining: Vec<Inspector> = people.iter().filter(|p| p.id != dropped).cloned().collect();
        let check = ProgrammeRequest { people: &remaining, ..req.clone() };
        prop_assert!(breaks(&check, &next).is_empty(), "{:?}", breaks(&check, &next));
    }
}
