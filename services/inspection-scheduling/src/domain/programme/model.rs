//! What the search knows, computed once: for each ALMO, the weeks its readiness rules allow, who
//! could serve on its team each week, and the part of the soft score that depends on the week
//! alone. The state (who is placed where) is then scored incrementally: the total equals the sum
//! of `soft_score` over the placements, which the tests check.

use chrono::NaiveDate;

use super::{ProgrammeAlmo, could_serve, has_inspected};
use crate::domain::on_site_week;
use crate::domain::readiness::almo_rules;
use crate::domain::slots::soft_score;
use crate::domain::team::{Inspector, InspectorRole, required_team};

/// Two on-site weeks closer than this count against each other (the workload rule).
const NEAR_DAYS: i64 = 56;

pub(super) struct WeekModel {
    /// Board meeting, audit distance and funding date: the penalties of the week alone.
    pub week_part: u32,
    /// Someone who inspected the authority before could serve this week.
    pub prev_any: bool,
    /// Who could serve, by role (people indices).
    pub leads: Vec<usize>,
    pub inspectors: Vec<usize>,
    pub tias: Vec<usize>,
}

pub(super) struct AlmoModel {
    /// Inspectors besides the lead, and TIAs.
    pub need_inspectors: usize,
    pub need_tias: usize,
    /// By week index: `None` when a readiness rule or the staff rules the week out.
    pub weeks: Vec<Option<WeekModel>>,
    pub feasible: Vec<usize>,
    pub has_inspected: Vec<bool>,
    pub other_region: Vec<bool>,
}

pub(super) struct Model<'a> {
    pub people: &'a [Inspector],
    pub almos: Vec<AlmoModel>,
    /// For each week, the other weeks near it.
    pub near: Vec<Vec<usize>>,
    /// Bookings already made near each week, by person: `[person][week]`.
    pub fixed_near: Vec<Vec<u32>>,
    pub weeks: usize,
    pub assessed: u64,
}

/// Who is placed where; `busy[person][week]` mirrors `place`, and `near_busy[person][week]`
/// counts the weeks near `week` in which the person is busy (what `load` reads).
#[derive(Clone)]
pub(super) struct State {
    pub place: Vec<Option<(usize, Vec<usize>)>>,
    pub busy: Vec<Vec<bool>>,
    pub near_busy: Vec<Vec<u32>>,
    pub cost: i64,
}

impl<'a> Model<'a> {
    pub fn new(almos: &[&ProgrammeAlmo], people: &'a [Inspector], mondays: &[NaiveDate]) -> Self {
        let ranges: Vec<_> = mondays.iter().map(|m| on_site_week(*m)).collect();
        let near = ranges
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (0..ranges.len())
                    .filter(|j| *j != i && ranges[*j].gap_days(r) <= NEAR_DAYS)
                    .collect()
            })
            .collect();
        let fixed_near = people
            .iter()
            .map(|p| {
                ranges
                    .iter()
                    .map(|r| {
                        p.booked
                            .iter()
                            .filter(|(b, _)| b.gap_days(r) <= NEAR_DAYS)
                            .count() as u32
                    })
                    .collect()
            })
            .collect();
        let mut assessed = 0;
        let almos = almos
            .iter()
            .map(|a| {
                let need = required_team(a.target.stock_size, a.target.previous_stars);
                let has: Vec<bool> = people.iter().map(|p| has_inspected(p, &a.target)).collect();
                let weeks: Vec<Option<WeekModel>> = ranges
                    .iter()
                    .map(|week| {
                        assessed += 1;
                        if !almo_rules(&a.readiness, &a.history, *week).is_empty() {
                            return None;
                        }
                        let serve: Vec<usize> = (0..people.len())
                            .filter(|i| could_serve(&people[*i], &a.target, *week))
                            .collect();
                        let of = |role| -> Vec<usize> {
                            serve
                                .iter()
                                .copied()
                                .filter(|i| people[*i].role == role)
                                .collect()
                        };
                        let (leads, inspectors, tias) = (
                            of(InspectorRole::Lead),
                            of(InspectorRole::Inspector),
                            of(InspectorRole::Tia),
                        );
                        if leads.is_empty()
                            || inspectors.len() < need.inspectors - 1
                            || tias.len() < need.tias
                        {
                            return None;
                        }
                        let week_part = soft_score(&a.candidate(), &[], &[], *week)
                            .penalties
                            .iter()
                            .filter(|p| !matches!(p.rule, "previous_inspector" | "other_region"))
                            .map(|p| p.points)
                            .sum();
                        Some(WeekModel {
                            week_part,
                            prev_any: serve.iter().any(|i| has[*i]),
                            leads,
                            inspectors,
                            tias,
                        })
                    })
                    .collect();
                AlmoModel {
                    need_inspectors: need.inspectors - 1,
                    need_tias: need.tias,
                    feasible: (0..weeks.len()).filter(|w| weeks[*w].is_some()).collect(),
                    weeks,
                    other_region: people
                        .iter()
                        .map(|p| p.role.counts_as_inspector() && p.region != a.target.region)
                        .collect(),
                    has_inspected: has,
                }
            })
            .collect();
        Model {
            people,
            almos,
            near,
            fixed_near,
            weeks: ranges.len(),
            assessed,
        }
    }

    pub fn empty(&self) -> State {
        State {
            place: vec![None; self.almos.len()],
            busy: vec![vec![false; self.weeks]; self.people.len()],
            near_busy: vec![vec![0; self.weeks]; self.people.len()],
            cost: 0,
        }
    }

    pub fn ids(&self, team: &[usize]) -> Vec<String> {
        team.iter().map(|i| self.people[*i].id.clone()).collect()
    }

    /// What one more placement of `p` in week `w` costs: its own workload penalty, and one point
    /// on each placement near it that shares `p`.
    fn load(&self, st: &State, p: usize, w: usize) -> u32 {
        self.fixed_near[p][w] + 2 * st.near_busy[p][w]
    }

    /// The change in the total soft score if ALMO `a` is placed in `w` with `team`.
    pub fn delta(&self, st: &State, a: usize, w: usize, team: &[usize]) -> u32 {
        let m = &self.almos[a];
        let wm = m.weeks[w].as_ref().expect("a feasible week");
        let mut cost = wm.week_part;
        if wm.prev_any && !team.iter().any(|p| m.has_inspected[*p]) {
            cost += 3;
        }
        if !team.iter().any(|p| m.other_region[*p]) {
            cost += 2;
        }
        cost + team.iter().map(|p| self.load(st, *p, w)).sum::<u32>()
    }

    pub fn add(&self, st: &mut State, a: usize, w: usize, team: Vec<usize>) {
        st.cost += i64::from(self.delta(st, a, w, &team));
        for p in &team {
            st.busy[*p][w] = true;
            for x in &self.near[w] {
                st.near_busy[*p][*x] += 1;
            }
        }
        st.place[a] = Some((w, team));
    }

    pub fn remove(&self, st: &mut State, a: usize) -> Option<(usize, Vec<usize>)> {
        let (w, team) = st.place[a].take()?;
        for p in &team {
            st.busy[*p][w] = false;
            for x in &self.near[w] {
                st.near_busy[*p][*x] -= 1;
            }
        }
        st.cost -= i64::from(self.delta(st, a, w, &team));
        Some((w, team))
    }

    /// The cheapest team for ALMO `a` in week `w` given the other placements, with its cost
    /// (`delta`): the lightest-loaded people of each role, or with someone who inspected the
    /// authority before and/or someone from another region forced in when that costs less.
    pub fn best_team(&self, st: &State, a: usize, w: usize) -> Option<(u32, Vec<usize>)> {
        let m = &self.almos[a];
        let wm = m.weeks[w].as_ref()?;
        let sorted = |list: &[usize]| -> Vec<(u32, usize)> {
            let mut v: Vec<(u32, usize)> = list
                .iter()
                .filter(|p| !st.busy[**p][w])
                .map(|p| (self.load(st, *p, w), *p))
                .collect();
            v.sort_unstable();
            v
        };
        let roles = [sorted(&wm.leads), sorted(&wm.inspectors), sorted(&wm.tias)];
        let counts = [1, m.need_inspectors, m.need_tias];
        if (0..3).any(|r| roles[r].len() < counts[r]) {
            return None;
        }
        let first = |r: usize, f: &dyn Fn(usize) -> bool| -> Option<(usize, usize)> {
            roles[r].iter().find(|(_, p)| f(*p)).map(|(_, p)| (r, *p))
        };
        let prev = |p: usize| m.has_inspected[p];
        let other = |p: usize| m.other_region[p];
        let both = |p: usize| m.has_inspected[p] && m.other_region[p];
        let prevs: Vec<(usize, usize)> = if wm.prev_any {
            (0..3).filter_map(|r| first(r, &prev)).collect()
        } else {
            Vec::new()
        };
        let others: Vec<(usize, usize)> = (0..2).filter_map(|r| first(r, &other)).collect();
        let mut options: Vec<Vec<(usize, usize)>> = vec![Vec::new()];
        options.extend(prevs.iter().map(|x| vec![*x]));
        options.extend(others.iter().map(|x| vec![*x]));
        for x in &prevs {
            for y in &others {
                options.push(vec![*x, *y]);
            }
        }
        options.extend((0..2).filter_map(|r| first(r, &both)).map(|x| vec![x]));
        let mut best: Option<(u32, Vec<usize>)> = None;
        for forced in options {
            let mut team = Vec::with_capacity(counts.iter().sum());
            let mut ok = true;
            for r in 0..3 {
                let mut chosen: Vec<usize> = Vec::new();
                for (fr, p) in &forced {
                    if *fr == r && !chosen.contains(p) {
                        chosen.push(*p);
                    }
                }
                if chosen.len() > counts[r] {
                    ok = false;
                    break;
                }
                for (_, p) in &roles[r] {
                    if chosen.len() == counts[r] {
                        break;
                    }
                    if !chosen.contains(p) {
                        chosen.push(*p);
                    }
                }
                team.extend(chosen);
            }
            if !ok {
                continue;
            }
            let cost = self.delta(st, a, w, &team);
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, team));
            }
        }
        best
    }

    /// The best week and team for `a` among `weeks`, ties to the earlier week.
    pub fn best_week(
        &self,
        st: &State,
        a: usize,
        weeks: impl Iterator<Item = usize>,
    ) -> Option<(usize, u32, Vec<usize>)> {
        let mut best: Option<(usize, u32, Vec<usize>)> = None;
        for w in weeks {
            if let Some((c, team)) = self.best_team(st, a, w)
                && best.as_ref().is_none_or(|b| c < b.1)
            {
                best = Some((w, c, team));
            }
        }
        best
    }
}
