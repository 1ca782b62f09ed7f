//! The programme benchmark's instances (issues 7 and 22), shared by `programme_bench` and
//! `programme_optimum`: 10 ALMOs x 5 inspectors, 20 x 8 and 30 x 12 over one quarter, and
//! 150 x 60 over two, generated from a seed.

use std::time::Duration;

use almo_inspection_scheduling::domain::programme::{ProgrammeAlmo, ProgrammeRequest};
use almo_inspection_scheduling::domain::readiness::{Blackout, History, Readiness};
use almo_inspection_scheduling::domain::team::{Inspector, InspectorRole, Target};
use almo_inspection_scheduling::domain::{DateRange, add_weeks};
use chrono::{Days, NaiveDate};

/// The first Monday of every instance.
pub fn start() -> NaiveDate {
    "2004-04-05".parse().expect("a date")
}

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

pub struct Instance {
    pub almos: usize,
    pub people: usize,
    pub weeks: u32,
    /// Largest stock: small staffs cannot field five-inspector teams.
    pub max_stock: u64,
}

pub const INSTANCES: [Instance; 4] = [
    Instance {
        almos: 10,
        people: 5,
        weeks: 13,
        max_stock: 20_000,
    },
    Instance {
        almos: 20,
        people: 8,
        weeks: 13,
        max_stock: 20_000,
    },
    Instance {
        almos: 30,
        people: 12,
        weeks: 13,
        max_stock: 30_000,
    },
    Instance {
        almos: 150,
        people: 60,
        weeks: 26,
        max_stock: 45_000,
    },
];

pub fn world(seed: u64, start: NaiveDate, size: &Instance) -> (Vec<ProgrammeAlmo>, Vec<Inspector>) {
    let mut rng = Rng(seed);
    let n = size.almos as u64;
    let almos: Vec<ProgrammeAlmo> = (0..size.almos)
        .map(|i| {
            let region = REGIONS[rng.below(9) as usize];
            let go_live = add_weeks(start, 0) - Days::new(120 + rng.below(400));
            let audit = add_weeks(start, rng.below(u64::from(size.weeks)) as u32);
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
                    stock_size: 3_000 + rng.below(size.max_stock - 3_000) as u32,
                    previous_stars: None,
                },
                readiness,
                history: History::default(),
                previous_good_and_promising: false,
            }
        })
        .collect();
    let leads = size.people.div_ceil(4);
    let tias = size.people / 4;
    let people = (0..size.people)
        .map(|i| {
            let role = if i < leads {
                InspectorRole::Lead
            } else if i < size.people - tias {
                InspectorRole::Inspector
            } else {
                InspectorRole::Tia
            };
            let leave = add_weeks(start, rng.below(u64::from(size.weeks)) as u32);
            Inspector {
                id: format!("P{i:02}"),
                role,
                region: REGIONS[rng.below(9) as usize].into(),
                tenant_of: (role == InspectorRole::Tia)
                    .then(|| format!("ALMO-{:03}", rng.below(n))),
                unavailable: vec![DateRange::new(leave, leave + Days::new(13)).unwrap()],
                booked: vec![],
                inspected: (0..3)
                    .map(|_| format!("ALMO-{:03}", rng.below(n)))
                    .collect(),
            }
        })
        .collect();
    (almos, people)
}

impl Instance {
    pub fn name(&self) -> String {
        format!("{}x{}", self.almos, self.people)
    }
}

/// The search's request for an instance: no pinned bookings, stopping after `stall_steps` steps
/// without improvement or the time budget.
pub fn request<'a>(
    size: &Instance,
    almos: &'a [ProgrammeAlmo],
    people: &'a [Inspector],
    seed: u64,
    stall_steps: u64,
    time_budget: Duration,
) -> ProgrammeRequest<'a> {
    let start = start();
    ProgrammeRequest {
        almos,
        people,
        quarter: DateRange::new(start, add_weeks(start, size.weeks) - Days::new(1)).unwrap(),
        pinned: &[],
        seed,
        max_steps: u64::MAX,
        stall_steps,
        time_budget,
    }
}
