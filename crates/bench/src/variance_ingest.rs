//! Variance ingest: records per second through `PushVariances` (authenticated, audited,
//! idempotent, every record checked, corrections and exceptions worked out) against plain
//! multi-row INSERTs of the same rows through the database driver (sqlx) alone, in the same run.
//! 400 targets x 60 months (24,000 rows); 40 targets with `--quick`. Aim: the push at least a
//! third of the raw rate.

use std::time::Instant;

use almo_auth::Role;
use almo_db::Backend;
use almo_proto::common::{FinancialYear, Money, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as pb};
use almo_testkit::demo::{LAMBETH, LAMBETH_LIVING};
use almo_testkit::{TestApp, authed};
use sea_orm::sqlx::QueryBuilder;

use crate::Opts;
use crate::report::{Aim, Record};

const YEARS: std::ops::RangeInclusive<i32> = 2026..=2030;

fn fy(y: i32) -> Option<FinancialYear> {
    Some(FinancialYear { start_year: y })
}

fn content(targets: usize) -> pb::PlanContent {
    pb::PlanContent {
        targets: (0..targets)
            .map(|i| pb::Target {
                code: format!("LOCAL-B{i:03}"),
                kind: pb::TargetKind::Local as i32,
                name: format!("bench measure {i}"),
                unit: pb::Unit::Percent as i32,
                direction: pb::Direction::HigherIsBetter as i32,
                baseline: 90.0,
                yearly_targets: YEARS
                    .map(|y| pb::YearTarget {
                        year: fy(y),
                        value: 90.0,
                    })
                    .collect(),
                tolerance: Some(pb::Tolerance {
                    kind: pb::ToleranceKind::Absolute as i32,
                    amber: 1.0,
                    red: 2.0,
                }),
                milestones: Vec::new(),
            })
            .collect(),
        decent_homes: None,
        capital_profile: vec![pb::CapitalLine {
            year: fy(2026),
            category: pb::CapitalCategory::DecentHomes as i32,
            amount: Some(Money {
                pence: 1,
                currency_code: "GBP".into(),
            }),
        }],
        annual_cost_effectiveness_percent: 2.0,
        delegated_functions: vec!["Repairs".into()],
        exception_after_periods: 0,
    }
}

fn records(targets: usize) -> Vec<pb::VarianceRecord> {
    let mut out = Vec::new();
    for i in 0..targets {
        for year in YEARS {
            for m in 1..=12 {
                out.push(pb::VarianceRecord {
                    sender_record_id: format!("B{i}-{year}-{m}"),
                    target_code: format!("LOCAL-B{i:03}"),
                    period: Some(Period {
                        year: fy(year),
                        kind: PeriodKind::Month as i32,
                        number: m,
                    }),
                    actual: 91.0,
                    forecast: Some(91.5),
                    commentary: "steady".into(),
                });
            }
        }
    }
    out
}

macro_rules! raw_insert {
    ($pool:expr, $rows:expr, $plan:expr) => {{
        let mut tx = $pool.begin().await?;
        let now = chrono::Utc::now();
        for chunk in $rows.chunks(500) {
            let mut q = QueryBuilder::new(
                "INSERT INTO dp_variances (plan_id, sender_record_id, revision, superseded, \
                 target_code, year, period_kind, period_number, actual, forecast, commentary, \
                 recorded_by, recorded_at) ",
            );
            q.push_values(chunk, |mut b, r: &pb::VarianceRecord| {
                let p = r.period.as_ref().unwrap();
                b.push_bind($plan)
                    .push_bind(format!("raw-{}", r.sender_record_id))
                    .push_bind(1i32)
                    .push_bind(false)
                    .push_bind(r.target_code.clone())
                    .push_bind(p.year.as_ref().unwrap().start_year)
                    .push_bind("month")
                    .push_bind(p.number)
                    .push_bind(r.actual)
                    .push_bind(r.forecast)
                    .push_bind(r.commentary.clone())
                    .push_bind("bench")
                    .push_bind(now);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }};
}

pub async fn run(opts: &Opts) -> anyhow::Result<Vec<Record>> {
    let targets = if opts.quick { 40 } else { 400 };
    // Every month of the plan has ended by the day after its last year: all figures are actuals.
    let after_the_plan = chrono::NaiveDate::from_ymd_opt(YEARS.end() + 1, 4, 1).expect("1 April");
    let app = TestApp::spawn(vec![almo_delivery_plan::mount_with_clock(
        almo_delivery_plan::Clock::Fixed(after_the_plan),
    )])
    .await?;
    let mut client =
        DeliveryPlanServiceClient::new(app.channel().await).max_encoding_message_size(64 << 20);
    let plan = client
        .create_plan(authed(
            pb::CreatePlanRequest {
                request_id: "bench".into(),
                council_id: LAMBETH.into(),
                almo_id: LAMBETH_LIVING.into(),
                title: "bench".into(),
                first_year: fy(*YEARS.start()),
                last_year: fy(*YEARS.end()),
                effective_date: String::new(),
                content: Some(content(targets)),
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await?
        .into_inner()
        .plan
        .ok_or_else(|| anyhow::anyhow!("CreatePlan answered no plan"))?;
    let rows = records(targets);
    let n = rows.len();
    let messages: Vec<pb::PushVariancesRequest> = rows
        .chunks(1000)
        .enumerate()
        .map(|(i, c)| pb::PushVariancesRequest {
            request_id: if i == 0 {
                "bench-push".into()
            } else {
                String::new()
            },
            plan_id: if i == 0 {
                plan.plan_id.clone()
            } else {
                String::new()
            },
            records: c.to_vec(),
        })
        .collect();

    let started = Instant::now();
    let resp = client
        .push_variances(authed(
            tokio_stream::iter(messages),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await?
        .into_inner();
    let push_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        resp.accepted as usize == n,
        "every record accepted: {resp:?}"
    );

    let started = Instant::now();
    let plan_id = plan.plan_id.clone();
    match app.db.backend() {
        Backend::Sqlite => raw_insert!(
            app.db.conn().get_sqlite_connection_pool(),
            rows,
            plan_id.clone()
        ),
        Backend::Postgres => raw_insert!(
            app.db.conn().get_postgres_connection_pool(),
            rows,
            plan_id.clone()
        ),
    }
    let raw_secs = started.elapsed().as_secs_f64();
    let push_rate = n as f64 / push_secs;
    let raw_rate = n as f64 / raw_secs;
    eprintln!(
        "PushVariances {push_rate:.0} rows/s, raw sqlx INSERTs {raw_rate:.0} rows/s ({n} rows)"
    );
    Ok(vec![
        Record::new(
            format!("PushVariances / raw multi-row INSERTs, {n} rows"),
            push_rate,
            "rows/s",
        )
        .baseline(raw_rate)
        .aim(Aim::RatioAtLeast(0.33)),
    ])
}
