//! The proven optimum of a small programme (feature `exact`, used offline to keep the optimum of
//! the benchmark's small instances in its data): the search's own model written as a 0-1
//! programme and solved by branch and bound (`microlp`, pure Rust), started from the search's
//! programme.
//!
//! Variables: `y[a][w]`, ALMO `a` on site in week `w`; `z[a][w][p]`, person `p` on its team. Each
//! ALMO takes at most one week, each team exactly its roles, each person at most one team a week.
//! The objective is the service's soft score: the week's own penalties on `y`, the bookings already
//! made near the week on `z`, `previous_inspector` (3) and `other_region` (2) as indicators forced
//! up when no team member qualifies, and 2 for each pair of one person's on-site weeks within
//! eight weeks of each other (`load` in `model.rs`). An unplaced ALMO costs more than any soft
//! score, so the optimum places as many ALMOs as any programme can. Since any set of `m` weeks
//! that are all near each other holds `m(m-1)/2` pairs, for every `k` the pairs among such a set
//! are at least `(k-1)m - k(k-1)/2`: these cuts make the relaxation tight enough to prove.

use std::time::{Duration, Instant};

use microlp::{ComparisonOp, LinearExpr, OptimizationDirection, Problem, SolveOptions, Variable};

use super::model::{Model, State};
use super::{ProgrammeRequest, Rng, fixed_people, free_almos, mondays, search};

/// The exact optimum, or the best programme and bound found within the time limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimum {
    /// ALMOs placed: the most any programme places.
    pub placed: usize,
    /// The soft score of the best programme found.
    pub soft_total: u32,
    /// Whether branch and bound proved no programme placing as many ALMOs scores lower.
    pub proven: bool,
    /// The best proven lower bound on the soft score (equal to `soft_total` when proven).
    pub bound: f64,
    /// Branch and bound nodes.
    pub nodes: u64,
    pub time: Duration,
}

struct Team {
    a: usize,
    w: usize,
    y: Variable,
    z: Vec<(usize, Variable)>,
}

/// Solves `req` exactly (its pinned bookings kept), with at most `time_limit` for each of two
/// branch and bound runs after the search (run with `req`'s own limits) gives the starting
/// programme: first that no programme places more ALMOs than it does, then the least soft score
/// of a programme placing as many.
pub fn optimum(req: &ProgrammeRequest<'_>, time_limit: Duration) -> Result<Optimum, String> {
    let started = Instant::now();
    let almos = free_almos(req);
    let fixed = fixed_people(req);
    let weeks = mondays(req.quarter);
    let model = Model::new(&almos, &fixed, &weeks);
    let (start, _, _) = search::run(&model, &mut Rng(req.seed), req, started);
    let placed = start.place.iter().filter(|p| p.is_some()).count();
    // One more placement than the search: infeasible proves the search places the most.
    let (lp, _, _) = build(&model, &start, Placements::AtLeast(placed + 1));
    let mut options = SolveOptions::default();
    options.time_limit = Some(time_limit);
    match lp.solve_with(options) {
        Err(microlp::Error::Infeasible) => {}
        Err(e) => return Err(format!("placing {} ALMOs: {e}", placed + 1)),
        Ok(o) if o.solution().is_some() => {
            return Err(format!(
                "{} ALMOs can be placed, the search placed {placed}",
                placed + 1
            ));
        }
        Ok(_) => {
            return Err(format!(
                "not proven within the time limit that {} ALMOs cannot be placed",
                placed + 1
            ));
        }
    }
    let (lp, hint, teams) = build(&model, &start, Placements::Exactly(placed));
    let mut options = SolveOptions::default();
    options.time_limit = Some(time_limit);
    options.warm_start = Some(hint);
    let outcome = lp.solve_with(options).map_err(|e| e.to_string())?;
    let stats = outcome.stats();
    let proven = outcome.is_optimal();
    let solution = outcome
        .into_solution()
        .map_err(|_| "no programme found within the time limit".to_string())?;
    // Rebuild the programme from the solution and score it with the search's own model.
    let mut st = model.empty();
    for t in teams.iter().filter(|t| solution.var_value(t.y) > 0.5) {
        let team: Vec<usize> =
            t.z.iter()
                .filter(|(_, v)| solution.var_value(*v) > 0.5)
                .map(|(p, _)| *p)
                .collect();
        model.add(&mut st, t.a, t.w, team);
    }
    let objective = solution.objective();
    if (objective - st.cost as f64).abs() > 1e-3 {
        return Err(format!(
            "the 0-1 objective {objective} is not the model's soft score {}",
            st.cost
        ));
    }
    Ok(Optimum {
        placed: st.place.iter().filter(|p| p.is_some()).count(),
        soft_total: u32::try_from(st.cost).map_err(|e| e.to_string())?,
        proven,
        bound: if proven {
            objective
        } else {
            stats.best_bound.unwrap_or(0.0)
        },
        nodes: stats.nodes_solved,
        time: started.elapsed(),
    })
}

enum Placements {
    /// At least this many ALMOs placed; no objective.
    AtLeast(usize),
    /// Exactly this many, at the least soft score.
    Exactly(usize),
}

/// The 0-1 programme, the search's programme as a starting point, and each ALMO-week's variables.
fn build(
    model: &Model<'_>,
    start: &State,
    placements: Placements,
) -> (Problem, Vec<(Variable, f64)>, Vec<Team>) {
    let scored = matches!(placements, Placements::Exactly(_));
    let cost = |c: f64| if scored { c } else { 0.0 };
    let mut lp = Problem::new(OptimizationDirection::Minimize);
    let mut hint: Vec<(Variable, f64)> = Vec::new();
    let on = |b: bool| if b { 1.0 } else { 0.0 };
    let mut teams: Vec<Team> = Vec::new();
    let mut all_y = LinearExpr::empty();
    // by_person_week[p][w]: the z variables of p in week w.
    let mut by_person_week = vec![vec![Vec::<Variable>::new(); model.weeks]; model.people.len()];
    for (a, m) in model.almos.iter().enumerate() {
        let placed = start.place[a].as_ref();
        let mut one_week = LinearExpr::empty();
        for &w in &m.feasible {
            let wm = m.weeks[w].as_ref().expect("a feasible week");
            let chosen = placed.filter(|(pw, _)| *pw == w).map(|(_, t)| t);
            let y = lp.add_binary_var(cost(f64::from(wm.week_part)));
            hint.push((y, on(chosen.is_some())));
            one_week.add(y, 1.0);
            all_y.add(y, 1.0);
            let mut z = Vec::new();
            for (list, need) in [
                (&wm.leads, 1),
                (&wm.inspectors, m.need_inspectors),
                (&wm.tias, m.need_tias),
            ] {
                let mut role = LinearExpr::empty();
                role.add(y, -(need as f64));
                for &p in list {
                    let v = lp.add_binary_var(cost(f64::from(model.fixed_near[p][w])));
                    hint.push((v, on(chosen.is_some_and(|t| t.contains(&p)))));
                    role.add(v, 1.0);
                    by_person_week[p][w].push(v);
                    z.push((p, v));
                }
                lp.add_constraint(role, ComparisonOp::Eq, 0.0);
            }
            // An indicator forced to 1 when the week is taken and no member qualifies.
            let mut indicator = |points: f64, qualifies: &[bool]| {
                let v = lp.add_var(points, (0.0, 1.0));
                let mut e = LinearExpr::empty();
                e.add(v, 1.0);
                e.add(y, -1.0);
                for (p, zv) in &z {
                    if qualifies[*p] {
                        e.add(*zv, 1.0);
                    }
                }
                lp.add_constraint(e, ComparisonOp::Ge, 0.0);
                let hit = chosen.is_some_and(|t| !t.iter().any(|p| qualifies[*p]));
                hint.push((v, on(hit)));
            };
            if scored && wm.prev_any {
                indicator(3.0, &m.has_inspected);
            }
            if scored {
                indicator(2.0, &m.other_region);
            }
            teams.push(Team { a, w, y, z });
        }
        lp.add_constraint(one_week, ComparisonOp::Le, 1.0);
    }
    match placements {
        Placements::AtLeast(n) => lp.add_constraint(all_y, ComparisonOp::Ge, n as f64),
        Placements::Exactly(n) => lp.add_constraint(all_y, ComparisonOp::Eq, n as f64),
    }
    for (p, row) in by_person_week.iter().enumerate() {
        for vars in row.iter().filter(|v| v.len() > 1) {
            lp.add_constraint(vars.iter().map(|v| (*v, 1.0)), ComparisonOp::Le, 1.0);
        }
        if scored {
            pair_terms(model, start, &mut lp, &mut hint, p, row);
        }
    }
    (lp, hint, teams)
}

/// The pairs of `p`'s on-site weeks near each other (2 points each), and the cuts on each set of
/// weeks that are all near one another.
fn pair_terms(
    model: &Model<'_>,
    start: &State,
    lp: &mut Problem,
    hint: &mut Vec<(Variable, f64)>,
    p: usize,
    row: &[Vec<Variable>],
) {
    let busy = |w: usize| -> Vec<(Variable, f64)> { row[w].iter().map(|v| (*v, 1.0)).collect() };
    let mut pair = std::collections::BTreeMap::new();
    for w in 0..model.weeks {
        for &x in model.near[w].iter().filter(|x| **x > w) {
            if row[w].is_empty() || row[x].is_empty() {
                continue;
            }
            let q = lp.add_var(2.0, (0.0, 1.0));
            let mut e = busy(w);
            e.extend(busy(x));
            e.push((q, -1.0));
            lp.add_constraint(e, ComparisonOp::Le, 1.0);
            hint.push((
                q,
                if start.busy[p][w] && start.busy[p][x] {
                    1.0
                } else {
                    0.0
                },
            ));
            pair.insert((w, x), q);
        }
    }
    // Windows of consecutive weeks all near each other.
    // Weeks are consecutive Mondays, so the near ones are those at most `reach` weeks apart.
    let reach = model.near.first().map_or(0, Vec::len);
    for s in 0..model.weeks.saturating_sub(reach).max(1) {
        let window: Vec<usize> = (s..model.weeks.min(s + reach + 1))
            .filter(|w| !row[*w].is_empty())
            .collect();
        if window.len() < 3 {
            continue;
        }
        for k in 2..=window.len() {
            let mut e: Vec<(Variable, f64)> = Vec::new();
            for (i, w) in window.iter().enumerate() {
                for x in &window[i + 1..] {
                    if let Some(q) = pair.get(&(*w, *x)) {
                        e.push((*q, 1.0));
                    }
                }
                e.extend(busy(*w).into_iter().map(|(v, _)| (v, -((k - 1) as f64))));
            }
            lp.add_constraint(e, ComparisonOp::Ge, -((k * (k - 1) / 2) as f64));
        }
    }
}
