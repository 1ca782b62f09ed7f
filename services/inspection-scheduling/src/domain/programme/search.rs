//! The search: a greedy start (most constrained ALMO first, each at its best week and team), then
//! late acceptance hill climbing (Burke and Bykov): a move is kept when the programme is no worse
//! than now or than it was `HISTORY` steps ago, so the search can climb out of a local optimum;
//! the best programme seen is returned. A climb that finds nothing better for `RESTART_STEPS`
//! steps starts again from the best programme, shaken by a few random moves (iterated local
//! search). Moves never lower the number of ALMOs placed, though one may take an unplaced ALMO
//! in place of a placed one, and never break a hard rule: every week comes from the ALMO's
//! feasible weeks and every team from people free that week.

use std::time::Instant;

use super::model::{Model, State};
use super::{ProgrammeRequest, Rng};

/// The late acceptance list: how many steps back a move is compared against.
const HISTORY: usize = 500;
/// Steps in a row without a better programme in the current climb before it starts again from
/// the best programme seen, shaken by `KICKS` random moves kept whatever they cost (half the
/// request's `stall_steps` when that is fewer).
const RESTART_STEPS: u64 = 20_000;
const KICKS: usize = 5;

/// What stopped the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Nothing to move: every ALMO pinned, or none with a feasible week.
    NothingToSearch,
    /// `stall_steps` steps in a row found no better programme.
    NoImprovement,
    /// `max_steps` reached.
    StepLimit,
    /// The time budget ran out.
    TimeBudget,
}

/// Placed ALMOs count before the soft score: a programme that places more is better.
fn key(st: &State) -> (usize, i64) {
    (st.place.iter().filter(|p| p.is_none()).count(), st.cost)
}

pub(super) fn greedy(model: &Model<'_>, rng: &mut Rng) -> State {
    let mut st = model.empty();
    let mut order: Vec<(usize, u64, usize)> = model
        .almos
        .iter()
        .enumerate()
        .map(|(i, a)| (a.feasible.len(), rng.next(), i))
        .collect();
    order.sort_unstable();
    for (_, _, a) in order {
        let weeks = model.almos[a].feasible.clone();
        if let Some((w, _, team)) = model.best_week(&st, a, weeks.into_iter()) {
            model.add(&mut st, a, w, team);
        }
    }
    st
}

/// Where the ALMOs a move touched were before it.
type Undo = Vec<(usize, Option<(usize, Vec<usize>)>)>;

/// Tries one move; `None` when it could not be made (the state is then unchanged), else how to
/// take it back.
pub(super) fn step(model: &Model<'_>, st: &mut State, rng: &mut Rng) -> Option<Undo> {
    let n = st.place.len();
    let a = rng.below(n);
    let feasible = &model.almos[a].feasible;
    if feasible.is_empty() {
        return None;
    }
    let mut undo: Undo = Vec::new();
    let ok = match (st.place[a].clone(), rng.below(100)) {
        // An unplaced ALMO: its best week, if any has a team now.
        (None, 0..50) => {
            undo.push((a, None));
            place_best(model, st, a, feasible.iter().copied())
        }
        // Or in place of one placed in a week it could take: which ALMOs are placed changes.
        (None, _) => {
            let w = feasible[rng.below(feasible.len())];
            let there: Vec<usize> = (0..n)
                .filter(|b| matches!(&st.place[*b], Some((x, _)) if *x == w))
                .collect();
            if there.is_empty() {
                false
            } else {
                let b = there[rng.below(there.len())];
                undo.push((a, None));
                undo.push((b, model.remove(st, b)));
                let ok = place_best(model, st, a, std::iter::once(w));
                // B elsewhere if it still fits: one more placed.
                let _ = ok && place_best(model, st, b, model.almos[b].feasible.iter().copied());
                ok
            }
        }
        // Relocate to the best week, or to a random one.
        (Some(_), 0..35) => {
            undo.push((a, model.remove(st, a)));
            if rng.below(2) == 0 {
                place_best(model, st, a, feasible.iter().copied())
            } else {
                let w = feasible[rng.below(feasible.len())];
                place_best(model, st, a, std::iter::once(w))
            }
        }
        // Swap the weeks of two ALMOs.
        (Some((wa, _)), 35..60) => {
            let b = rng.below(n);
            match st.place[b].clone() {
                Some((wb, _)) if b != a && wb != wa => {
                    undo.push((a, model.remove(st, a)));
                    undo.push((b, model.remove(st, b)));
                    place_best(model, st, a, std::iter::once(wb))
                        && place_best(model, st, b, std::iter::once(wa))
                }
                _ => false,
            }
        }
        // A chain: A into a week of B's, B to its best week elsewhere.
        (Some((wa, _)), 60..80) => {
            let w = feasible[rng.below(feasible.len())];
            let there: Vec<usize> = (0..n)
                .filter(|b| *b != a && matches!(&st.place[*b], Some((x, _)) if *x == w))
                .collect();
            if w == wa || there.is_empty() {
                false
            } else {
                let b = there[rng.below(there.len())];
                undo.push((a, model.remove(st, a)));
                undo.push((b, model.remove(st, b)));
                let elsewhere: Vec<usize> = model.almos[b]
                    .feasible
                    .iter()
                    .copied()
                    .filter(|x| *x != w)
                    .collect();
                place_best(model, st, a, std::iter::once(w))
                    && place_best(model, st, b, elsewhere.into_iter())
            }
        }
        // Re-pick every team of A's week together, in a random order.
        (Some((wa, _)), _) => {
            let mut there: Vec<usize> = (0..n)
                .filter(|b| matches!(&st.place[*b], Some((x, _)) if *x == wa))
                .collect();
            for i in (1..there.len()).rev() {
                there.swap(i, rng.below(i + 1));
            }
            for b in &there {
                undo.push((*b, model.remove(st, *b)));
            }
            there
                .iter()
                .all(|b| place_best(model, st, *b, std::iter::once(wa)))
        }
    };
    if ok {
        Some(undo)
    } else {
        revert(model, st, undo);
        None
    }
}

fn place_best(
    model: &Model<'_>,
    st: &mut State,
    a: usize,
    weeks: impl Iterator<Item = usize>,
) -> bool {
    match model.best_week(st, a, weeks) {
        Some((w, _, team)) => {
            model.add(st, a, w, team);
            true
        }
        None => false,
    }
}

/// Puts the ALMOs of `undo` back where they were.
fn revert(model: &Model<'_>, st: &mut State, undo: Undo) {
    for (a, _) in &undo {
        model.remove(st, *a);
    }
    for (a, old) in undo {
        if let Some((w, team)) = old {
            model.add(st, a, w, team);
        }
    }
}

/// The greedy start and the search; returns the best state seen, the steps run and what stopped.
pub(super) fn run(
    model: &Model<'_>,
    rng: &mut Rng,
    req: &ProgrammeRequest<'_>,
    started: Instant,
) -> (State, u64, Stop) {
    let mut st = greedy(model, rng);
    if model.almos.iter().all(|a| a.feasible.is_empty()) {
        return (st, 0, Stop::NothingToSearch);
    }
    // Within the stall limit, so a search that stops on it has restarted at least once.
    let restart_steps = RESTART_STEPS.min(req.stall_steps / 2).max(1);
    let mut best = st.clone();
    let mut history = [st.cost; HISTORY];
    let mut steps = 0u64;
    let mut since = 0u64;
    let mut run_best = key(&st);
    let mut run_since = 0u64;
    let stop = loop {
        if steps >= req.max_steps {
            break Stop::StepLimit;
        }
        if since >= req.stall_steps {
            break Stop::NoImprovement;
        }
        if started.elapsed() >= req.time_budget {
            break Stop::TimeBudget;
        }
        if run_since >= restart_steps {
            st = best.clone();
            for _ in 0..KICKS {
                step(model, &mut st, rng);
            }
            history.fill(st.cost);
            run_best = key(&st);
            run_since = 0;
        }
        steps += 1;
        since += 1;
        run_since += 1;
        let (lost, cost) = key(&st);
        if let Some(undo) = step(model, &mut st, rng) {
            let (now_lost, now) = key(&st);
            let slot = (steps as usize) % HISTORY;
            let accept =
                now_lost < lost || (now_lost == lost && (now <= cost || now <= history[slot]));
            if !accept {
                revert(model, &mut st, undo);
            }
            history[slot] = st.cost;
        }
        if key(&st) < run_best {
            run_best = key(&st);
            run_since = 0;
        }
        if key(&st) < key(&best) {
            best = st.clone();
            since = 0;
        }
    };
    (best, steps, stop)
}
