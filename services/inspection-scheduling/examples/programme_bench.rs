//! Programme scheduling benchmark (issue 7): 150 ALMOs and 60 inspectors over two quarters,
//! the local search beside a greedy earliest-feasible baseline in the same run.
//!
//! `cargo run --release -p almo-inspection-scheduling --example programme_bench -- [seconds] [seed]`

use std::time::{Duration, Instant};

use almo_inspection_scheduling::domain::programme::{
    ProgrammeAlmo, ProgrammeRequest, greedy_earliest, schedule,
};
use almo_inspection_scheduling::domain::readiness::{Blackout, History, Readiness};
use almo_inspection_scheduling::domain::team::{Inspector, InspectorRole, Target};
use almo_inspection_scheduling::domain::{DateRange, add_weeks};
use chrono::{Days, NaiveDate};

const REGIONS: [&str; 9] = [
    "London",
    "South East",
    "South West",
    "East of England",
    "East Midlands",
    "West Midlands",
    "North West",
    "North East",
    "Yorkshire and the Humber",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn world(seed: u64, start: NaiveDate) -> (Vec<ProgrammeAlmo>, Vec<Inspector>) {
    let mut rng = Rng(seed);
    let almos: Vec<ProgrammeAlmo> = (0..150)
        .map(|i| {
            let region = REGIONS[rng.below(9) as usize];
            let go_live = add_weeks(start, 0) - Days::new(120 + rng.below(400));
            let audit = add_weeks(start, rng.below(26) as u32);
            let mut readiness = Readiness {
                go_live: Some(go_live),
                end: None,
                best_value_reviews: [Some(go_live - Days::new(60)); 4],
                blackouts: vec![Blackout {
                    label: "internal audit".into(),
                    period: DateRange::new(audit, audit + Days::new(4)).unwrap(),
                }],
                board_meetings: (0..6)
                    .map(|m| add_weeks(start, m * 4 + rng.below(4) as u32) + Days::new(2))
                    .collect(),
                funding_needed_by: Some(add_weeks(start, 20 + rng.below(20) as u32)),
            };
            readiness.best_value_reviews[2] = Some(add_weeks(start, rng.below(10) as u32));
            ProgrammeAlmo {
                target: Target {
                    almo_id: format!("ALMO-{i:03}"),
                    council_id: format!("E0{i:07}"),
                    region: region.into(),
                    stock_size: 3_000 + rng.below(45_000) as u32,
                    previous_stars: None,
                },
                readiness,
                history: History::default(),
                previous_good_and_promising: false,
            }
        })
        .collect();
    let people = (0..60)
        .map(|i| {
            let role = match i {
                0..15 => InspectorRole::Lead,
                15..45 => InspectorRole::Inspector,
                _ => InspectorRole::Tia,
            };
            let leave = add_weeks(start, rng.below(26) as u32);
            Inspector {
                id: format!("P{i:02}"),
                role,
                region: REGIONS[rng.below(9) as usize].into(),
                tenant_of: (role == InspectorRole::Tia)
                    .then(|| format!("ALMO-{:03}", rng.below(150))),
                unavailable: vec![DateRange::new(leave, leave + Days::new(13)).unwrap()],
                booked: vec![],
                inspected: (0..3)
                    .map(|_| format!("ALMO-{:03}", rng.below(150)))
                    .collect(),
            }
        })
        .collect();
    (almos, people)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2004);
    let start: NaiveDate = "2004-04-05".parse().unwrap();
    let (almos, people) = world(seed, start);
    let req = ProgrammeRequest {
        almos: &almos,
        people: &people,
        quarter: DateRange::new(start, add_weeks(start, 26) - Days::new(1)).unwrap(),
        pinned: &[],
        seed,
        max_steps: u32::MAX,
        time_budget: Duration::from_secs(seconds),
    };
    let t = Instant::now();
    let base = greedy_earliest(&req);
    let base_time = t.elapsed();
    let t = Instant::now();
    let prog = schedule(&req);
    let time = t.elapsed();
    println!("150 ALMOs, 60 inspectors, two quarters from {start}, seed {seed}");
    println!(
        "greedy earliest-feasible: soft score {:>6}, unscheduled {:>3}, weeks assessed {:>8}, {:?}",
        base.soft_total,
        base.unscheduled.len(),
        base.weeks_assessed,
        base_time
    );
    println!(
        "local search:             soft score {:>6}, unscheduled {:>3}, weeks assessed {:>8}, {:?} ({} steps)",
        prog.soft_total,
        prog.unscheduled.len(),
        prog.weeks_assessed,
        time,
        prog.steps
    );
    println!(
        "soft score ratio (search / baseline): {:.3}",
        f64::from(prog.soft_total) / f64::from(base.soft_total.max(1))
    );
}
