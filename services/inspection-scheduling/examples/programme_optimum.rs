//! The proven optimum of the programme benchmark's small instances (10 x 5, 20 x 8, 30 x 12), for
//! the benchmark's data (`support/optima.tsv`): the search's model as a 0-1 programme solved by
//! branch and bound (`domain::programme::optimum`, microlp), started from the search's programme.
//! Prints one line per instance in the data file's format, then whether each was proven.
//!
//! `cargo run --release -p almo-inspection-scheduling --features exact --example programme_optimum -- [seconds] [seed]`
//! (`seconds`: the branch and bound limit per instance, default 600; `seed` default 2004).

#[path = "support/instances.rs"]
mod instances;

use std::time::Duration;

use almo_inspection_scheduling::domain::programme::optimum;
use instances::{INSTANCES, request, start, world};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(600);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2004);
    for size in INSTANCES.iter().filter(|s| s.almos <= 30) {
        let (almos, people) = world(seed, start(), size);
        let req = request(
            size,
            &almos,
            &people,
            seed,
            200_000,
            Duration::from_secs(10),
        );
        match optimum(&req, Duration::from_secs(seconds)) {
            Ok(o) => {
                let method = if o.proven {
                    "proven by branch and bound (microlp 0.7)".to_string()
                } else {
                    format!("NOT proven: best found, bound {:.1}", o.bound)
                };
                println!(
                    "{}\t{seed}\t{}\t{}\t{method}; {} nodes, {:.1} s",
                    size.name(),
                    o.placed,
                    o.soft_total,
                    o.nodes,
                    o.time.as_secs_f64(),
                );
            }
            Err(e) => println!("{}\t{seed}\terror: {e}", size.name()),
        }
    }
}
