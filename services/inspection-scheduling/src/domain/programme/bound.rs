//! A lower bound on the soft score of any programme that places the same ALMOs around the same
//! pinned bookings. The score splits into two parts that are each bounded on their own:
//!
//! - each ALMO's week and team penalties with only the bookings already made counted for workload:
//!   at least the best its feasible weeks offer alone;
//! - the workload the programme's own placements put on each other: two placements sharing a
//!   person within eight weeks cost a point each. Each role's demand (one lead per ALMO, its
//!   inspectors, its TIAs) must be spread over that role's people, and a person with `n` on-site
//!   weeks in the quarter has at least `pairs(n)` pairs of them near each other. The least total
//!   over every way of spreading the demand is found exactly (a min-plus knapsack).

use super::model::{Model, State};

/// The bound for the ALMOs placed in `st`.
pub(super) fn lower_bound(model: &Model<'_>, st: &State) -> u32 {
    let empty = model.empty();
    let placed: Vec<usize> = (0..st.place.len())
        .filter(|a| st.place[*a].is_some())
        .collect();
    let alone: u32 = placed
        .iter()
        .filter_map(|a| {
            model
                .best_week(&empty, *a, model.almos[*a].feasible.iter().copied())
                .map(|(_, c, _)| c)
        })
        .sum();
    let pairs = least_near_pairs(model);
    let mut shared = 0u32;
    for role in 0..3 {
        let demand: usize = placed
            .iter()
            .map(|a| {
                let m = &model.almos[*a];
                [1, m.need_inspectors, m.need_tias][role]
            })
            .sum();
        let staff = model
            .people
            .iter()
            .filter(|p| {
                role == match p.role {
                    crate::domain::team::InspectorRole::Lead => 0,
                    crate::domain::team::InspectorRole::Inspector => 1,
                    crate::domain::team::InspectorRole::Tia => 2,
                }
            })
            .count();
        shared += 2 * spread(&pairs, staff, demand);
    }
    alone + shared
}

/// `pairs[n]`: the fewest pairs of near weeks among `n` distinct weeks of the quarter.
fn least_near_pairs(model: &Model<'_>) -> Vec<u32> {
    let w = model.weeks;
    // Weeks are consecutive Mondays, so "near" is "at most `reach` weeks apart".
    let reach = model.near.first().map_or(0, |n| n.len()).min(16);
    let states = 1usize << reach;
    const INF: u32 = u32::MAX / 2;
    // best[mask][count]: the last `reach` weeks' occupancy as `mask`.
    let mut best = vec![vec![INF; w + 1]; states];
    best[0][0] = 0;
    for _ in 0..w {
        let mut next = vec![vec![INF; w + 1]; states];
        for (mask, row) in best.iter().enumerate() {
            for (count, &c) in row.iter().enumerate() {
                if c == INF {
                    continue;
                }
                let shifted = (mask << 1) & (states - 1);
                let skip = &mut next[shifted][count];
                *skip = (*skip).min(c);
                if count < w {
                    let take = &mut next[shifted | usize::from(reach > 0)][count + 1];
                    *take = (*take).min(c + mask.count_ones());
                }
            }
        }
        best = next;
    }
    (0..=w)
        .map(|n| best.iter().map(|b| b[n]).min().unwrap_or(INF))
        .collect()
}

/// The fewest near pairs when `demand` on-site weeks are spread over `staff` people.
fn spread(pairs: &[u32], staff: usize, demand: usize) -> u32 {
    const INF: u32 = u32::MAX / 2;
    let mut best = vec![INF; demand + 1];
    best[0] = 0;
    for _ in 0..staff {
        let mut next = vec![INF; demand + 1];
        for (have, c) in best.iter().enumerate() {
            if *c == INF {
                continue;
            }
            for (n, p) in pairs.iter().enumerate() {
                if have + n > demand {
                    break;
                }
                next[have + n] = next[have + n].min(c + p);
            }
        }
        best = next;
    }
    // More demand than the staff could ever cover: no such programme, nothing to bound.
    if best[demand] == INF { 0 } else { best[demand] }
}
