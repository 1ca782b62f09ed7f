//! Programme scheduling: a quarter's inspections at once, each ALMO given an on-site week and a
//! team. Hard rules are never broken: a week is offered to an ALMO only when its readiness rules
//! hold, and a team only from people free that week who keep every team rule. Bookings already
//! made are pinned and never moved.
//!
//! The soft score is improved by a seeded search (`search.rs`) that moves whole placements
//! (relocate, swap two ALMOs' weeks, chain one into another's week, re-pick a week's teams
//! together, put an ALMO left out in the place of a placed one) under late acceptance, so it can
//! climb out of a local optimum, restarting from the best programme when a climb stalls. It stops
//! at the first of: `max_steps`, `stall_steps` steps in a row without a better programme, the
//! time budget.
//! The same seed gives the same programme unless the time budget stops it. `bound.rs` gives a
//! lower bound on the soft score of any programme placing the same ALMOs.

mod bound;
#[cfg(feature = "exact")]
mod exact;
mod model;
mod replan;
mod search;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use chrono::NaiveDate;

#[cfg(feature = "exact")]
pub use exact::{Optimum, optimum};
pub use replan::replan_without;
pub use search::Stop;

use super::HardRule;
use super::readiness::{History, Readiness};
use super::slots::{Candidate, SoftScore, Verdict, assess_week, soft_score};
use super::team::{Inspector, Target, is_own_landlord, not_free};
use super::{DateRange, add_weeks, monday_on_or_after, on_site_week};
use model::Model;

/// The wall-clock budget when the caller gives none, and the most a caller may ask for.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(2);
pub const MAX_TIME_BUDGET: Duration = Duration::from_secs(10);
/// Steps in a row without a better programme before the search stops, unless the caller says.
pub const DEFAULT_STALL_STEPS: u64 = 20_000;

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
    /// At most this many search steps after the greedy start.
    pub max_steps: u64,
    /// Stop after this many steps in a row without a better programme.
    pub stall_steps: u64,
    pub time_budget: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredAssignment {
    pub assignment: Assignment,
    pub score: SoftScore,
}

/// An ALMO the programme could not place: each week of the quarter with what rules it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unscheduled {
    pub almo_id: String,
    pub weeks: Vec<(NaiveDate, Vec<HardRule>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    /// Pinned bookings first, then the placements, by ALMO id.
    pub assignments: Vec<ScoredAssignment>,
    /// ALMOs with no feasible week in the quarter, by id.
    pub unscheduled: Vec<Unscheduled>,
    /// Bookings already made that this programme drops (a re-plan whose ALMO cannot be placed).
    pub cancelled: Vec<Assignment>,
    pub soft_total: u32,
    /// No programme placing the same ALMOs around the same pinned bookings scores lower.
    pub lower_bound: u32,
    /// On-site weeks assessed against every hard rule.
    pub weeks_assessed: u64,
    pub steps: u64,
    pub stop: Stop,
}

impl Programme {
    /// How far above the bound the programme is, as a share of its score (0 for a perfect one).
    pub fn gap(&self) -> f64 {
        if self.soft_total == 0 {
            0.0
        } else {
            f64::from(self.soft_total - self.lower_bound.min(self.soft_total))
                / f64::from(self.soft_total)
        }
    }
}

/// splitmix64: a small, seedable generator so a seed always gives the same programme.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn tag(almo_id: &str, week: NaiveDate) -> String {
    format!("{almo_id}-{week}")
}

/// Books `team` for the week. A person already booked for exactly that week (a stored booking
/// the caller also pins) is not booked twice.
fn book(people: &mut [Inspector], team: &[String], week_start: NaiveDate, almo_id: &str) {
    let week = on_site_week(week_start);
    for p in people.iter_mut().filter(|p| team.contains(&p.id)) {
        if !p.booked.iter().any(|(w, _)| *w == week) {
            p.booked.push((week, tag(almo_id, week_start)));
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

/// The staff with the pinned bookings booked: what the search places around.
fn fixed_people(req: &ProgrammeRequest<'_>) -> Vec<Inspector> {
    let mut people = req.people.to_vec();
    for p in req.pinned {
        book(&mut people, &p.team, p.week_start, &p.almo_id);
    }
    people
}

/// The ALMOs the search places: every one not pinned.
fn free_almos<'a>(req: &ProgrammeRequest<'a>) -> Vec<&'a ProgrammeAlmo> {
    req.almos
        .iter()
        .filter(|a| !req.pinned.iter().any(|p| p.almo_id == a.target.almo_id))
        .collect()
}

pub(crate) fn has_inspected(i: &Inspector, t: &Target) -> bool {
    i.inspected
        .iter()
        .any(|o| *o == t.almo_id || *o == t.council_id)
}

/// Whoever could be on `t`'s team in `week` but for the programme's own placements: not on
/// leave, not on a booking already made, not a TIA renting from the ALMO or its council.
fn could_serve(i: &Inspector, t: &Target, week: DateRange) -> bool {
    not_free(i, week).is_none() && !is_own_landlord(i, t)
}

/// The soft score of one placement with every other booking in place. The `previous_inspector`
/// penalty counts only people who could have served that week but for the programme's own
/// placements (003 §111 "wherever possible"), and its justification names them.
fn score_placement(
    a: &ProgrammeAlmo,
    fixed: &[Inspector],
    all: &[Inspector],
    team: &[String],
    week_start: NaiveDate,
) -> SoftScore {
    let week = on_site_week(week_start);
    let own = tag(&a.target.almo_id, week_start);
    let members: Vec<Inspector> = team
        .iter()
        .filter_map(|id| all.iter().find(|p| &p.id == id))
        .map(|p| {
            let mut p = p.clone();
            p.booked.retain(|(_, b)| *b != own);
            p
        })
        .collect();
    let refs: Vec<&Inspector> = members.iter().collect();
    soft_score(&a.candidate(), fixed, &refs, week)
}

/// Each week of the quarter that is ruled out for `a` against `people`, with its rules.
fn weeks_ruled_out(
    a: &ProgrammeAlmo,
    people: &[Inspector],
    quarter: DateRange,
) -> Vec<(NaiveDate, Vec<HardRule>)> {
    mondays(quarter)
        .into_iter()
        .filter_map(|m| match assess_week(&a.candidate(), people, m).verdict {
            Verdict::RuledOut(rules) => Some((m, rules)),
            Verdict::Feasible { .. } => None,
        })
        .collect()
}

/// The programme as reported: pinned bookings, then the placements scored with every other
/// booking in place, then the ALMOs left out with each week's reasons.
fn finish(
    req: &ProgrammeRequest<'_>,
    almos: &[&ProgrammeAlmo],
    placed: &[Option<(NaiveDate, Vec<String>)>],
) -> (Vec<ScoredAssignment>, Vec<Unscheduled>, u32) {
    let fixed = fixed_people(req);
    let mut all = fixed.clone();
    for (a, p) in almos.iter().zip(placed) {
        if let Some((w, team)) = p {
            book(&mut all, team, *w, &a.target.almo_id);
        }
    }
    let mut assignments: Vec<ScoredAssignment> = req
        .pinned
        .iter()
        .map(|p| ScoredAssignment {
            assignment: p.clone(),
            score: SoftScore::default(),
        })
        .collect();
    let mut mine = Vec::new();
    let mut unscheduled = Vec::new();
    let mut total = 0;
    for (a, p) in almos.iter().zip(placed) {
        match p {
            Some((w, team)) => {
                let score = score_placement(a, &fixed, &all, team, *w);
                total += score.total();
                mine.push(ScoredAssignment {
                    assignment: Assignment {
                        almo_id: a.target.almo_id.clone(),
                        week_start: *w,
                        team: team.clone(),
                        pinned: false,
                    },
                    score,
                });
            }
            None => unscheduled.push(Unscheduled {
                almo_id: a.target.almo_id.clone(),
                weeks: weeks_ruled_out(a, &all, req.quarter),
            }),
        }
    }
    mine.sort_by(|a, b| a.assignment.almo_id.cmp(&b.assignment.almo_id));
    assignments.extend(mine);
    unscheduled.sort_by(|a, b| a.almo_id.cmp(&b.almo_id));
    (assignments, unscheduled, total)
}

/// Schedules the quarter: pinned bookings stay; the others are placed greedily, most constrained
/// first, then improved by the search until one of its limits stops it.
pub fn schedule(req: &ProgrammeRequest<'_>) -> Programme {
    let started = Instant::now();
    let almos = free_almos(req);
    let fixed = fixed_people(req);
    let weeks = mondays(req.quarter);
    let model = Model::new(&almos, &fixed, &weeks);
    let mut rng = Rng(req.seed);
    let (st, steps, stop) = search::run(&model, &mut rng, req, started);
    let placed: Vec<Option<(NaiveDate, Vec<String>)>> = st
        .place
        .iter()
        .map(|p| p.as_ref().map(|(w, team)| (weeks[*w], model.ids(team))))
        .collect();
    let (assignments, unscheduled, soft_total) = finish(req, &almos, &placed);
    debug_assert_eq!(
        i64::from(soft_total),
        st.cost,
        "search cost and reported score"
    );
    let lower_bound = bound::lower_bound(&model, &st);
    Programme {
        assignments,
        unscheduled,
        cancelled: Vec::new(),
        soft_total,
        lower_bound,
        weeks_assessed: model.assessed,
        steps,
        stop,
    }
}

/// The baseline a scheduler must beat: each ALMO in the order given at its earliest feasible
/// week, with the first team that keeps the rules; no search.
pub fn greedy_earliest(req: &ProgrammeRequest<'_>) -> Programme {
    let weeks = mondays(req.quarter);
    let mut people = fixed_people(req);
    let almos = free_almos(req);
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
    let (assignments, unscheduled, soft_total) = finish(req, &almos, &placed);
    Programme {
        assignments,
        unscheduled,
        cancelled: Vec::new(),
        soft_total,
        lower_bound: 0,
        weeks_assessed: assessed,
        steps: 0,
        stop: Stop::NothingToSearch,
    }
}
