//! Demo data for `almo up --demo`: Lambeth's Delivery Plan with Lambeth Living for 2026/27 to
//! 2028/29, with a history of amendments (one agreed, one rejected, one waiting for the
//! council), seven months of figures (one of them corrected), a relet target and the Decent
//! Homes target in exception, and a Decent Homes programme behind schedule. Loaded once: a plan
//! already present is left as it is.

use std::collections::HashMap;

use almo_db::Db;
use almo_db::entity::{dp_amendment, dp_plan, dp_plan_version};
use almo_directory::demo::{LAMBETH, LAMBETH_LIVING};
use chrono::{NaiveDate, TimeZone, Utc};
use sea_orm::DbErr;

use crate::domain::period::{Period, PeriodKind};
use crate::domain::plan::{
    CapitalCategory, CapitalLine, DecentHomes, Direction, History, Milestone, PlanContent, Target,
    TargetKind, Tolerance, ToleranceKind, Unit, Version,
};
use crate::domain::status::{Figure, assess_target, exception_run};
use crate::storage;

pub const PLAN_ID: &str = "LAMBETH-LIVING-2026-2028";
const LOADER: &str = "demo-loader@E09000022";

fn date(s: &str) -> NaiveDate {
    s.parse().expect("demo dates are valid")
}

fn target(
    code: &str,
    name: &str,
    unit: Unit,
    direction: Direction,
    baseline: f64,
    yearly: [f64; 3],
    tolerance: Tolerance,
) -> Target {
    Target {
        code: code.into(),
        kind: if !code.starts_with("LOCAL") {
            TargetKind::Pi
        } else {
            TargetKind::Local
        },
        name: name.into(),
        unit,
        direction,
        baseline,
        yearly: (2026..=2028).zip(yearly).collect(),
        tolerance,
        milestones: Vec::new(),
    }
}

/// The plan as first agreed.
pub fn first_version() -> PlanContent {
    let pounds = |m: f64| (m * 100_000_000.0) as i64;
    let mut capital = Vec::new();
    for year in 2026..=2028 {
        capital.push(CapitalLine {
            year,
            category: CapitalCategory::DecentHomes,
            pence: pounds(18.5),
        });
        capital.push(CapitalLine {
            year,
            category: CapitalCategory::Sustainability,
            pence: pounds(0.9),
        });
        capital.push(CapitalLine {
            year,
            category: CapitalCategory::EstateImprovement,
            pence: pounds(0.6),
        });
    }
    let mut content = PlanContent {
        targets: vec![
            target(
                "LOCAL-RENT",
                "Rent collected as a percentage of rent due",
                Unit::Percent,
                Direction::HigherIsBetter,
                96.4,
                [97.0, 97.5, 98.0],
                Tolerance {
                    kind: ToleranceKind::Absolute,
                    amber: 0.5,
                    red: 1.5,
                },
            ),
            target(
                "LOCAL-RELET",
                "Average days to relet an empty home",
                Unit::Days,
                Direction::LowerIsBetter,
                38.0,
                [30.0, 28.0, 25.0],
                Tolerance {
                    kind: ToleranceKind::Relative,
                    amber: 10.0,
                    red: 20.0,
                },
            ),
            target(
                "LOCAL-DECENT",
                "Homes made decent",
                Unit::Count,
                Direction::HigherIsBetter,
                0.0,
                [1000.0, 1000.0, 1000.0],
                Tolerance {
                    kind: ToleranceKind::Absolute,
                    amber: 25.0,
                    red: 75.0,
                },
            ),
        ],
        decent_homes: Some(DecentHomes {
            non_decent_at_baseline: 3000,
            target_date: date("2029-03-31"),
            planned: (2026..=2028).map(|y| (y, 1000)).collect(),
            progress_target_code: "LOCAL-DECENT".into(),
        }),
        capital,
        cost_effectiveness_percent: 2.0,
        delegated_functions: vec![
            "Housing management and tenancy enforcement".into(),
            "Responsive and planned repairs".into(),
            "Lettings and void management".into(),
            "Rent collection and arrears recovery".into(),
            "Delivery of the Decent Homes programme".into(),
        ],
        exception_after: 2,
    };
    // Milestones on the way to every home decent (003 §71): homes made decent since the plan
    // began, by the end of each September.
    content.targets[2].milestones = [("2026-09-30", 500.0), ("2027-09-30", 1500.0)]
        .into_iter()
        .map(|(d, value)| Milestone {
            date: date(d),
            value,
        })
        .collect();
    content
}

/// After the first amendment: £0.5m of Decent Homes capital moved from 2026/27 to 2027/28.
pub fn second_version() -> PlanContent {
    let mut c = first_version();
    for line in &mut c.capital {
        if line.category == CapitalCategory::DecentHomes {
            match line.year {
                2026 => line.pence -= 50_000_000,
                2027 => line.pence += 50_000_000,
                _ => {}
            }
        }
    }
    c
}

/// Seven months of figures, April to October 2026: (code, figures).
const FIGURES: &[(&str, [f64; 7])] = &[
    ("LOCAL-RENT", [97.2, 97.0, 96.8, 96.9, 97.1, 97.3, 97.0]),
    ("LOCAL-RELET", [29.0, 31.0, 34.0, 37.0, 38.0, 41.0, 39.0]),
    ("LOCAL-DECENT", [40.0, 45.0, 38.0, 42.0, 35.0, 44.0, 36.0]),
];

#[allow(clippy::too_many_arguments)]
fn amendment(
    id: &str,
    base_version: i32,
    proposed_by: &str,
    proposer: &str,
    reason: &str,
    effective: &str,
    content: &PlanContent,
    state: &str,
    decided_by: Option<&str>,
    note: &str,
    resulting_version: Option<i32>,
    at: chrono::DateTime<Utc>,
) -> dp_amendment::Model {
    dp_amendment::Model {
        id: id.into(),
        plan_id: PLAN_ID.into(),
        base_version,
        proposed_by: proposed_by.into(),
        proposer_organisation_id: proposer.into(),
        reason: reason.into(),
        effective_date: date(effective),
        content: serde_json::to_string(content).expect("serialises"),
        state: state.into(),
        decided_by_organisation_id: decided_by.map(Into::into),
        decision_note: note.into(),
        resulting_version,
        row_version: if state == "proposed" { 1 } else { 2 },
        created_at: at,
        updated_at: at,
    }
}

/// Loads the demo plan; a plan already present is left as it is.
pub async fn seed(db: &Db) -> Result<(), DbErr> {
    let txn = db.begin_write().await?;
    if storage::get_plan(&txn, PLAN_ID).await?.is_some() {
        return txn.commit().await;
    }
    let at = |s: &str| Utc.from_utc_datetime(&date(s).and_hms_opt(10, 0, 0).expect("valid time"));
    let v1 = first_version();
    let v2 = second_version();
    storage::insert_plan(
        &txn,
        dp_plan::Model {
            id: PLAN_ID.into(),
            council_id: LAMBETH.into(),
            almo_id: LAMBETH_LIVING.into(),
            title: "Lambeth Living Delivery Plan 2026/27 to 2028/29".into(),
            first_year: 2026,
            last_year: 2028,
            latest_version: 2,
            created_at: at("2026-03-20"),
            updated_at: at("2026-09-15"),
        },
        dp_plan_version::Model {
            plan_id: PLAN_ID.into(),
            version: 1,
            effective_date: date("2026-04-01"),
            amendment_id: None,
            note: String::new(),
            content: serde_json::to_string(&v1).expect("serialises"),
            created_at: at("2026-03-20"),
        },
    )
    .await?;
    storage::insert_version(
        &txn,
        dp_plan_version::Model {
            plan_id: PLAN_ID.into(),
            version: 2,
            effective_date: date("2026-10-01"),
            amendment_id: Some("AMD-DEMO-1".into()),
            note: String::new(),
            content: serde_json::to_string(&v2).expect("serialises"),
            created_at: at("2026-09-15"),
        },
    )
    .await?;
    let mut stretch = v2.clone();
    stretch.targets[0].yearly.insert(2027, 98.5);
    let mut relax = v2.clone();
    relax.targets[1].yearly.insert(2026, 35.0);
    for a in [
        amendment(
            "AMD-DEMO-1",
            1,
            "almo",
            LAMBETH_LIVING,
            "Window replacement contract slipped: move £0.5m of Decent Homes capital from 2026/27 to 2027/28",
            "2026-10-01",
            &v2,
            "agreed",
            Some(LAMBETH),
            "Agreed at the joint board of 14 September",
            Some(2),
            at("2026-08-28"),
        ),
        amendment(
            "AMD-DEMO-2",
            2,
            "council",
            LAMBETH,
            "Raise the 2027/28 rent collection target to upper-quartile performance",
            "2026-11-01",
            &stretch,
            "rejected",
            Some(LAMBETH_LIVING),
            "Not achievable in 2027/28 while universal credit migration completes",
            None,
            at("2026-10-05"),
        ),
        amendment(
            "AMD-DEMO-3",
            2,
            "almo",
            LAMBETH_LIVING,
            "Relax the 2026/27 relet target to 35 days while the voids contract is re-let (see the exception on LOCAL-RELET)",
            "2026-12-01",
            &relax,
            "proposed",
            None,
            "",
            None,
            at("2026-11-10"),
        ),
    ] {
        storage::insert_amendment(&txn, a).await?;
    }

    let mut rows = Vec::new();
    let mut figures = Vec::new();
    for (code, values) in FIGURES {
        for (m, value) in values.iter().enumerate() {
            let period = Period {
                year: 2026,
                kind: PeriodKind::Month,
                number: m as i32 + 1,
            };
            let figure = Figure {
                target_code: (*code).into(),
                period,
                actual: *value,
                forecast: None,
                commentary: match (*code, m) {
                    ("LOCAL-RELET", 3..) => {
                        "Voids contractor under-resourced; backlog of 60 empty homes".into()
                    }
                    ("LOCAL-DECENT", _) => {
                        "Kitchen and bathroom programme behind: access refusals".into()
                    }
                    _ => String::new(),
                },
            };
            let sender_id = format!("LBH-2026-M{:02}-{code}", m + 1);
            let recorded = at(&period.end_date().succ_opt().expect("valid").to_string());
            rows.push(storage::variance_row(
                PLAN_ID, &sender_id, 1, &figure, LOADER, recorded,
            ));
            figures.push(figure);
        }
    }
    // May's rent collection was first sent as 96.4 and corrected to 97.0: both stay.
    let mut first_sent = figures[1].clone();
    first_sent.actual = 96.4;
    let mut superseded = storage::variance_row(
        PLAN_ID,
        "LBH-2026-M02-RENT",
        1,
        &first_sent,
        LOADER,
        at("2026-06-01"),
    );
    superseded.superseded = sea_orm::Set(true);
    rows[1].revision = sea_orm::Set(2);
    rows.insert(1, superseded);
    storage::insert_variances(&txn, rows).await?;

    let history = History {
        versions: vec![
            Version {
                number: 1,
                effective: date("2026-04-01"),
                content: v1,
            },
            Version {
                number: 2,
                effective: date("2026-10-01"),
                content: v2.clone(),
            },
        ],
    };
    let mut exceptions = Vec::new();
    let by_code: HashMap<&str, ()> = FIGURES.iter().map(|(c, _)| (*c, ())).collect();
    let mut codes: Vec<&str> = by_code.into_keys().collect();
    codes.sort();
    for code in codes {
        let assessed = assess_target(&history, code, &figures);
        if let Some(run) = exception_run(&assessed, v2.exception_after) {
            exceptions.push(storage::open_exception(
                format!("EXC-DEMO-{code}"),
                PLAN_ID,
                code,
                &run,
                at("2026-11-01"),
            ));
        }
    }
    // The ALMO has answered the Decent Homes exception; the council has yet to decide.
    for e in &mut exceptions {
        if e.target_code == "LOCAL-DECENT" {
            e.state = "answered".into();
            e.report_cause =
                "Access refusals and a kitchen supplier failure held the programme to 40 homes a month".into();
            e.report_recovery_action =
                "Second contractor from January; tenant liaison officers booking access in advance"
                    .into();
            e.report_recovery_date = Some(date("2027-06-30"));
            e.reported_by = Some("almo_officer@LAMBETH-LIVING".into());
            e.reported_at = Some(at("2026-11-12"));
            e.row_version = 2;
        }
    }
    storage::insert_exceptions(&txn, exceptions).await?;
    txn.commit().await
}
