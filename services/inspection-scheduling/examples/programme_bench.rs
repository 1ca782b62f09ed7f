//! Programme scheduling benchmark (issues 7 and 22): instances of 10 ALMOs x 5 inspectors,
//! 20 x 8 and 30 x 12 over one quarter, and 150 x 60 over two; for each, the greedy
//! earliest-feasible baseline and the search, with the search's lower bound, the proven optimum
//! where the data file `support/optima.tsv` has it for this seed, the gap to the optimum and to
//! the bound, the time, the steps and what stopped the search.
//!
//! `cargo run --release -p almo-inspection-scheduling --example programme_bench -- [seconds] [seed]`
//! (`seconds`: the time budget of each search, default 10; `seed` default 2004).

#[path = "support/instances.rs"]
mod instances;

use std::time::{Duration, Instant};

use almo_inspection_scheduling::domain::programme::{greedy_earliest, schedule};
use instances::{INSTANCES, request, start, world};

/// The proven optima: instance, seed, ALMOs placed, soft score, how it was computed.
const OPTIMA: &str = include_str!("support/optima.tsv");

/// The optimum of `name` for `seed`: ALMOs placed and the soft score, or the range it is known to
/// lie in when it was not proven ("619-623").
fn optimum(name: &str, seed: u64) -> Option<(usize, u32, u32)> {
    OPTIMA
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && f[0] == name && f[1] == seed.to_string())
        .and_then(|f| {
            let (lo, hi) = f[3].split_once('-').unwrap_or((f[3], f[3]));
            Some((f[2].parse().ok()?, lo.parse().ok()?, hi.parse().ok()?))
        })
}

fn percent(over: u32, of: u32) -> String {
    if of == 0 {
        "-".into()
    } else {
        format!(
            "{:.1}%",
            100.0 * (f64::from(over) - f64::from(of)) / f64::from(of)
        )
    }
}

/// One figure, or a range when the optimum is only known to lie in one.
fn range<T: PartialEq + std::fmt::Display>(lo: T, hi: T) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2004);
    println!(
        "seed {seed}, time budget {seconds} s per search, weeks from {}",
        start()
    );
    println!(
        "| ALMOs x inspectors | weeks | greedy (unscheduled) | search (unscheduled) | lower bound | optimum (unscheduled) | gap to optimum | gap to bound | time | steps | stopped by |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for size in &INSTANCES {
        let (almos, people) = world(seed, start(), size);
        let req = request(
            size,
            &almos,
            &people,
            seed,
            200_000,
            Duration::from_secs(seconds),
        );
        let base = greedy_earliest(&req);
        let t = Instant::now();
        let prog = schedule(&req);
        let time = t.elapsed();
        let placed = almos.len() - prog.unscheduled.len();
        let (opt, to_opt) = match optimum(&size.name(), seed) {
            Some((p, lo, hi)) if p == placed => (
                format!("{} ({})", range(lo, hi), almos.len() - p),
                range(percent(prog.soft_total, hi), percent(prog.soft_total, lo)),
            ),
            Some((p, lo, hi)) => (
                format!("{} ({})", range(lo, hi), almos.len() - p),
                "places fewer".into(),
            ),
            None => ("not known".into(), "-".into()),
        };
        println!(
            "| {} x {} | {} | {} ({}) | {} ({}) | {} | {opt} | {to_opt} | {:.1}% | {:.2} s | {} | {:?} |",
            size.almos,
            size.people,
            size.weeks,
            base.soft_total,
            base.unscheduled.len(),
            prog.soft_total,
            prog.unscheduled.len(),
            prog.lower_bound,
            100.0 * prog.gap(),
            time.as_secs_f64(),
            prog.steps,
            prog.stop,
        );
    }
}
