//! Programme scheduling: a quarter's inspections at once, each ALMO given an on-site week and a
//! team. Hard rules are never broken (every placement goes through the same checks as a booking);
//! the soft score, with a justification for each penalty, is improved by local search. Bookings
//! already made are pinned and never moved. Deterministic for a seed: the search runs a fixed
//! number of steps, and stops earlier only if the stated time budget runs out.

use std::time::{Duration, Instant};

use chrono::NaiveDate;

use super::readiness::{History, Readiness};
use super::slots::{Candidate, SoftScore, Verdict, assess_week, soft_score};
use super::team::{Inspector, Target, team_rules};
use super::{DateRange, add_weeks, monday_on_or_after, on_site_week};

/// The days of quarter `q` (1 to 4) of the financial year starting in April of `start_year`:
/// Q1 April–June, Q2 July–September, Q3 October–December, Q4 January–March.
pub fn quarter_dates(start_year: i32, q: i32) -> Option<DateRange> {
    if !(1990..=2100).contains(&start_year) || !(1..=4).contains(&q) {
        return None;
    }
    let start = NaiveDate::from_ymd_opt(start_year, 4, 1)?;
    let from = super::add_months(start, 3 * (q as u32 - 1));
    let to = super::add_months(from, 3).pred_opt()?;
    DateRange::new(from, to)
}

/// One ALMO to place.
#[derive(Debug, Clone)]
pub struct ProgrammeAlmo {
    pub target: Target,
    pub readiness: Readiness,
    pub history: History,
    pub previous_good_and_promising: bool,
}

impl ProgrammeAlmo {
    fn candidate(&self) -> Candidate<'_> {
        Candidate {
            target: &self.target,
            readiness: &self.readiness,
            history: &self.history,
            previous_good_and_promising: self.previous_good_and_promising,
        }
    }
}

/// An ALMO's on-site week and team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub almo_id: String,
    /// The Monday of the on-site week.
    pub week_start: NaiveDate,
    pub team: Vec<String>,
    /// A booking already made: kept as it is.
    pub pinned: bool,
}

#[derive(Debug, Clone)]
pub struct ProgrammeRequest<'a> {
    pub almos: &'a [ProgrammeAlmo],
    pub people: &'a [Inspector],
    pub quarter: DateRange,
    pub pinned: &'a [Assignment],
    pub seed: u64,
    /// Local-search steps after the greedy start.
    pub max_steps: u32,
    pub time_budget: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredAssignment {
    pub assignment: Assignment,
    pub score: SoftScore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    /// Pinned bookings first, then the placements, by ALMO id.
    pub assignments: Vec<ScoredAssignment>,
    /// ALMOs with no feasible week in the quarter.
    pub unscheduled: Vec<String>,
    pub soft_total: u32,
    /// On-site weeks assessed against every hard rule.
    pub weeks_assessed: u64,
    pub steps: u32,
}

/// splitmix64: a small, seedable generator so a seed always gives the same programme.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn tag(almo_id: &str, week: NaiveDate) -> String {
    format!("{almo_id}-{week}")
}

fn book(people: &mut [Inspector], team: &[String], week_start: NaiveDate, almo_id: &str) {
    for p in people.iter_mut().filter(|p| team.contains(&p.id)) {
        p.booked
            .push((on_site_week(week_start), tag(almo_id, week_start)));
    }
}

fn unbook(people: &mut [Inspector], team: &[String], week_start: NaiveDate, almo_id: &str) {
    let t = tag(almo_id, week_start);
    for p in people.iter_mut().filter(|p| team.contains(&p.id)) {
        if let Some(i) = p.booked.iter().position(|(_, b)| *b == t) {
            p.booked.remove(i);
        }
    }
}

fn mondays(quarter: DateRange) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = monday_on_or_after(quarter.start);
    while m <= quarter.end {
        out.push(m);
        m = add_weeks(m, 1);
    }
    out
}

/// The best week for one ALMO given everyone else's bookings; ties broken by `salt` when given,
/// else by the earliest week.
fn best_week(
    a: &ProgrammeAlmo,
    people: &[Inspector],
    weeks: &[NaiveDate],
    salt: Option<u64>,
    assessed: &mut u64,
) -> Option<(NaiveDate, Vec<String>, u32)> {
    let c = a.candidate();
    let mut best: Option<(u32, u64, NaiveDate, Vec<String>)> = None;
    for (i, w) in weeks.iter().enumerate() {
        *assessed += 1;
        if let Verdict::Feasible { team, score } = assess_week(&c, people, *w).verdict {
            let tie = salt.map_or(i as u64, |s| {
                Rng(s ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D)).next()
            });
            let key = (score.total(), tie);
            if best.as_ref().is_none_or(|b| key < (b.0, b.1)) {
                best = Some((key.0, key.1, *w, team));
            }
        }
    }
    best.map(|(s, _, w, t)| (w, t, s))
}

/// The soft score of each placement with every other booking in place.
fn score_all(
    almos: &[ProgrammeAlmo],
    people: &mut [Inspector],
    placed: &[Option<(NaiveDate, Vec<String>)>],
) -> (u32, Vec<SoftScore>) {
    let mut total = 0;
    let mut scores = Vec::with_capacity(placed.len());
    for (a, p) in almos.iter().zip(placed) {
        let Some((w, team)) = p else {
            scores.push(SoftScore::default());
            continue;
        };
        unbook(people, team, *w, &a.target.almo_id);
        let members: Vec<&Inspector> = team
            .iter()
            .filter_map(|id| people.iter().find(|p| &p.id == id))
            .collect();
        let s = soft_score(&a.candidate(), people, &members, on_site_week(*w));
        book(people, team, *w, &a.target.almo_id);
        total += s.total();
        scores.push(s);
    }
    (total, scores)
}

/// Schedules the quarter: pinned bookings stay; the others are placed greedily, most constrained
/// first, then improved by moving one ALMO at a time to its best week while the total soft score
/// does not get worse.
pub fn schedule(req: &ProgrammeRequest<'_>) -> Programme {
    let started = Instant::now();
    let mut rng = Rng(req.seed);
    let weeks = mondays(req.quarter);
    let mut people = req.people.to_vec();
    for p in req.pinned {
        book(&mut people, &p.team, p.week_start, &p.almo_id);
    }
    let free: Vec<&ProgrammeAlmo> = req
        .almos
        .iter()
        .filter(|a| !req.pinned.iter().any(|p| p.almo_id == a.target.almo_id))
        .collect();
    let almos: Vec<ProgrammeAlmo> = free.into_iter().cloned().collect();
    let mut assessed = 0u64;

    // Most constrained first: fewest feasible weeks, ties by the seed.
    let mut order: Vec<(usize, u64, usize)> = almos
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let c = a.candidate();
            let feasible = weeks
                .iter()
                .filter(|w| {
                    assessed += 1;
                    matches!(
                        assess_week(&c, &people, **w).verdict,
                        Verdict::Feasible { .. }
                    )
                })
                .count();
            (feasible, rng.next(), i)
        })
        .collect();
    order.sort();
    let mut placed: Vec<Option<(NaiveDate, Vec<String>)>> = vec![None; almos.len()];
    for (_, _, i) in &order {
        if let Some((w, team, _)) = best_week(&almos[*i], &people, &weeks, None, &mut assessed) {
            book(&mut people, &team, w, &almos[*i].target.almo_id);
            placed[*i] = Some((w, team));
        }
    }

    let (mut total, _) = score_all(&almos, &mut people, &placed);
    let mut steps = 0;
    while steps < req.max_steps && !almos.is_empty() && started.elapsed() < req.time_budget {
        steps += 1;
        let i = rng.below(almos.len());
        let salt = rng.next();
        let id = &almos[i].target.almo_id;
        let old = placed[i].clone();
        if let Some((w, team)) = &old {
            unbook(&mut people, team, *w, id);
        }
        match best_week(&almos[i], &people, &weeks, Some(salt), &mut assessed) {
            Some((w, team, _)) => {
                book(&mut people, &team, w, id);
                placed[i] = Some((w, team));
                let (t, _) = score_all(&almos, &mut people, &placed);
                let gained = old.is_none();
                if gained || t <= total {
                    total = t;
                } else {
                    let (w, team) = placed[i].take().expect("just placed");
                    unbook(&mut people, &team, w, id);
                    if let Some((w, team)) = &old {
                        book(&mut people, team, *w, id);
                    }
                    placed[i] = old;
                }
            }
            None => {
                if let Some((w, team)) = &old {
                    book(&mut people, team, *w, id);
                }
            }
        }
    }

    let (soft_total, scores) = score_all(&almos, &mut people, &placed);
    let mut assignments: Vec<ScoredAssignment> = req
        .pinned
        .iter()
        .map(|p| ScoredAssignment {
            assignment: p.clone(),
            score: SoftScore::default(),
        })
        .collect();
    let mut unscheduled = Vec::new();
    let mut mine: Vec<ScoredAssignment> = Vec::new();
    for ((a, p), score) in almos.iter().zip(placed).zip(scores) {
        match p {
            Some((w, team)) => mine.push(ScoredAssignment {
                assignment: Assignment {
                    almo_id: a.target.almo_id.clone(),
                    week_start: w,
                    team,
                    pinned: false,
                },
                score,
            }),
            None => unscheduled.push(a.target.almo_id.clone()),
        }
    }
    mine.sort_by(|a, b| a.assignment.almo_id.cmp(&b.assignment.almo_id));
    assignments.extend(mine);
    unscheduled.sort();
    Programme {
        assignments,
        unscheduled,
        soft_total,
        weeks_assessed: assessed,
        steps,
    }
}

/// The baseline a scheduler must beat: each ALMO in the order given at its earliest feasible
/// week, with the first team that keeps the rules; no search.
pub fn greedy_earliest(req: &ProgrammeRequest<'_>) -> Programme {
    let weeks = mondays(req.quarter);
    let mut people = req.people.to_vec();
    for p in req.pinned {
        book(&mut people, &p.team, p.week_start, &p.almo_id);
    }
    let almos: Vec<ProgrammeAlmo> = req
        .almos
        .iter()
        .filter(|a| !req.pinned.iter().any(|p| p.almo_id == a.target.almo_id))
        .cloned()
        .collect();
    let mut assessed = 0u64;
    let mut placed = vec![None; almos.len()];
    for (i, a) in almos.iter().enumerate() {
        let c = a.candidate();
        for w in &weeks {
            assessed += 1;
            if let Verdict::Feasible { team, .. } = assess_week(&c, &people, *w).verdict {
                book(&mut people, &team, *w, &a.target.almo_id);
                placed[i] = Some((*w, team));
                break;
            }
        }
    }
    let (soft_total, _) = score_all(&almos, &mut people, &placed);
    Programme {
        assignments: Vec::new(),
        unscheduled: almos
            .iter()
            .zip(&placed)
            .filter(|(_, p)| p.is_none())
            .map(|(a, _)| a.target.almo_id.clone())
            .collect(),
        soft_total,
        weeks_assessed: assessed,
        steps: 0,
    }
}

/// An inspector drops out: every placement without them stays as it was; in each one with them,
/// the same week and the rest of the team are kept and one replacement of the same role swapped
/// in where the rules allow; only when no one can be swapped in is that inspection placed again.
pub fn replan_without(
    req: &ProgrammeRequest<'_>,
    previous: &Programme,
    dropped: &str,
) -> Programme {
    let people: Vec<Inspector> = req
        .people
        .iter()
        .filter(|p| p.id != dropped)
        .cloned()
        .collect();
    let role = req.people.iter().find(|p| p.id == dropped).map(|p| p.role);
    let touched = |a: &Assignment| a.team.iter().any(|t| t == dropped);
    let mut kept: Vec<Assignment> = Vec::new();
    let mut affected: Vec<Assignment> = Vec::new();
    for a in req
        .pinned
        .iter()
        .chain(previous.assignments.iter().map(|a| &a.assignment))
    {
        if kept.iter().chain(&affected).any(|k| k.almo_id == a.almo_id) {
            continue;
        }
        if touched(a) {
            affected.push(a.clone());
        } else {
            kept.push(Assignment {
                pinned: true,
                ..a.clone()
            });
        }
    }
    let mut booked = people.clone();
    for k in &kept {
        book(&mut booked, &k.team, k.week_start, &k.almo_id);
    }
    for a in &affected {
        let Some(pa) = req.almos.iter().find(|x| x.target.almo_id == a.almo_id) else {
            continue;
        };
        let week = on_site_week(a.week_start);
        let rest: Vec<String> = a.team.iter().filter(|t| *t != dropped).cloned().collect();
        let mut best: Option<(u32, String)> = None;
        for cand in booked
            .iter()
            .filter(|p| Some(p.role) == role && !rest.contains(&p.id))
        {
            let mut team = rest.clone();
            team.push(cand.id.clone());
            let members: Vec<&Inspector> = team
                .iter()
                .filter_map(|id| booked.iter().find(|p| &p.id == id))
                .collect();
            if !team_rules(&pa.target, &members, week).is_empty() {
                continue;
            }
            let score = soft_score(&pa.candidate(), &booked, &members, week).total();
            if best
                .as_ref()
                .is_none_or(|b| (score, &cand.id) < (b.0, &b.1))
            {
                best = Some((score, cand.id.clone()));
            }
        }
        if let Some((_, id)) = best {
            let mut team = rest;
            team.push(id);
            book(&mut booked, &team, a.week_start, &a.almo_id);
            kept.push(Assignment {
                team,
                pinned: true,
                ..a.clone()
            });
        }
    }
    let mut next = schedule(&ProgrammeRequest {
        people: &people,
        pinned: &kept,
        ..req.clone()
    });
    // Kept and swapped placements are reported as the caller pinned them, or not.
    for a in &mut next.assignments {
        a.assignment.pinned = req.pinned.iter().any(|p| p == &a.assignment);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::readiness::almo_rules;
    use crate::domain::readiness::tests::{d, table7_readiness};
    use crate::domain::team::InspectorRole;
    use crate::domain::team::tests::person;
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
            max_steps: 40,
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
            soft_total: 0,
            weeks_assessed: 0,
            steps: 0,
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
        assert!(
            other.week_start != pin.week_start || other.team.iter().all(|t| !pin.team.contains(t))
        );
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// No produced programme ever breaks a hard rule; the same seed gives the same programme.
        #[test]
        fn no_programme_breaks_a_hard_rule((almos, people) in arb_world(), seed in any::<u64>()) {
            let req = request(&almos, &people, &[], seed);
            let prog = schedule(&req);
            prop_assert!(breaks(&req, &prog).is_empty(), "{:?}", breaks(&req, &prog));
            prop_assert_eq!(prog.assignments.len() + prog.unscheduled.len(), almos.len());
            prop_assert_eq!(schedule(&req), prog);
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
}
