//! Builders and fixtures for the delivery-plan tests: a server with its catalogue, a plan as
//! the council writes it, variance records, the calls each test makes again and again, and the
//! readers of a refusal.

#![allow(dead_code)]

use almo_auth::Role;
use almo_proto::common::{FinancialYear, Money, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as pb};
use almo_testkit::demo::*;
use almo_testkit::{TestApp, authed};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

pub type Client = DeliveryPlanServiceClient<Channel>;

/// The first day after the test plan (2026/27 to 2028/29): every period of it has ended, so any
/// of its periods may carry an actual.
pub const AFTER_THE_PLAN: &str = "2029-04-01";

/// A server whose today is [`AFTER_THE_PLAN`].
pub async fn app() -> (TestApp, Client) {
    app_on(AFTER_THE_PLAN).await
}

/// A server whose today is `today` (an ISO date).
pub async fn app_on(today: &str) -> (TestApp, Client) {
    let clock = almo_delivery_plan::Clock::Fixed(today.parse().expect("an ISO date"));
    let app = TestApp::spawn(vec![almo_delivery_plan::mount_with_clock(clock)])
        .await
        .unwrap();
    // PI targets are checked against the indicator catalogue, which the PI returns service owns.
    almo_pi_returns::seed_catalogue(app.db.conn())
        .await
        .unwrap();
    let client = DeliveryPlanServiceClient::new(app.channel().await);
    (app, client)
}

pub fn fy(y: i32) -> Option<FinancialYear> {
    Some(FinancialYear { start_year: y })
}

pub fn target(
    code: &str,
    kind: pb::TargetKind,
    unit: pb::Unit,
    direction: pb::Direction,
    yearly: [f64; 3],
    tolerance: (pb::ToleranceKind, f64, f64),
) -> pb::Target {
    pb::Target {
        code: code.into(),
        kind: kind as i32,
        name: format!("measure {code}"),
        unit: unit as i32,
        direction: direction as i32,
        baseline: 0.0,
        yearly_targets: (2026..=2028)
            .zip(yearly)
            .map(|(y, value)| pb::YearTarget { year: fy(y), value })
            .collect(),
        tolerance: Some(pb::Tolerance {
            kind: tolerance.0 as i32,
            amber: tolerance.1,
            red: tolerance.2,
        }),
        milestones: Vec::new(),
    }
}

pub fn content() -> pb::PlanContent {
    use pb::{Direction::*, TargetKind::*, ToleranceKind::*, Unit::*};
    let line = |year, category: pb::CapitalCategory, pence| pb::CapitalLine {
        year: fy(year),
        category: category as i32,
        amount: Some(Money {
            pence,
            currency_code: "GBP".into(),
        }),
    };
    pb::PlanContent {
        targets: vec![
            target(
                "RP02",
                Pi,
                Percent,
                HigherIsBetter,
                [97.0, 97.5, 98.0],
                (Absolute, 0.5, 1.5),
            ),
            target(
                "LOCAL-RELET",
                Local,
                Days,
                LowerIsBetter,
                [30.0, 28.0, 25.0],
                (Relative, 10.0, 20.0),
            ),
            target(
                "LOCAL-DECENT",
                Local,
                Count,
                HigherIsBetter,
                [1000.0, 1000.0, 1000.0],
                (Absolute, 25.0, 75.0),
            ),
        ],
        decent_homes: Some(pb::DecentHomesProgramme {
            non_decent_at_baseline: 3000,
            target_date: "2029-03-31".into(),
            planned_decent: (2026..=2028)
                .map(|y| pb::YearCount {
                    year: fy(y),
                    count: 1000,
                })
                .collect(),
            progress_target_code: "LOCAL-DECENT".into(),
        }),
        capital_profile: vec![
            line(2026, pb::CapitalCategory::DecentHomes, 1_900_000_000),
            line(2026, pb::CapitalCategory::Sustainability, 100_000_000),
        ],
        annual_cost_effectiveness_percent: 2.5,
        delegated_functions: vec!["Repairs".into(), "Lettings".into()],
        exception_after_periods: 0,
    }
}

pub fn create_request(request_id: &str) -> pb::CreatePlanRequest {
    pb::CreatePlanRequest {
        request_id: request_id.into(),
        council_id: LAMBETH.into(),
        almo_id: LAMBETH_LIVING.into(),
        title: "Lambeth Living Delivery Plan".into(),
        first_year: fy(2026),
        last_year: fy(2028),
        effective_date: String::new(),
        content: Some(content()),
    }
}

pub async fn create(client: &mut Client) -> pb::Plan {
    client
        .create_plan(authed(
            create_request("create-1"),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
}

pub fn bad_fields(s: &Status) -> Vec<String> {
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    let mut f: Vec<String> = s
        .get_error_details()
        .bad_request()
        .expect("a BadRequest")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    f.sort();
    f
}

pub fn reason(s: &Status) -> String {
    s.get_error_details().error_info().unwrap().reason.clone()
}

pub fn month(n: i32) -> Option<Period> {
    month_in(2026, n)
}

pub fn quarter(n: i32) -> Option<Period> {
    Some(Period {
        year: fy(2026),
        kind: PeriodKind::Quarter as i32,
        number: n,
    })
}

pub fn rec(id: &str, code: &str, period: Option<Period>, actual: f64) -> pb::VarianceRecord {
    pb::VarianceRecord {
        sender_record_id: id.into(),
        target_code: code.into(),
        period,
        actual,
        forecast: None,
        commentary: String::new(),
    }
}

pub async fn record(
    client: &mut Client,
    plan_id: &str,
    request_id: &str,
    r: pb::VarianceRecord,
) -> pb::RecordVarianceResponse {
    client
        .record_variance(authed(
            pb::RecordVarianceRequest {
                request_id: request_id.into(),
                plan_id: plan_id.into(),
                record: Some(r),
            },
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .unwrap()
        .into_inner()
}

/// Pushes `records` in messages of `per_message`.
pub async fn push(
    client: &mut Client,
    plan_id: &str,
    request_id: &str,
    records: Vec<pb::VarianceRecord>,
    per_message: usize,
) -> Result<pb::PushVariancesResponse, Status> {
    let messages: Vec<pb::PushVariancesRequest> = records
        .chunks(per_message)
        .enumerate()
        .map(|(i, chunk)| pb::PushVariancesRequest {
            request_id: if i == 0 {
                request_id.into()
            } else {
                String::new()
            },
            plan_id: if i == 0 {
                plan_id.into()
            } else {
                String::new()
            },
            records: chunk.to_vec(),
        })
        .collect();
    client
        .push_variances(authed(
            tokio_stream::iter(messages),
            LAMBETH,
            Role::CouncilOfficer,
        ))
        .await
        .map(|r| r.into_inner())
}

pub async fn propose(
    client: &mut Client,
    plan: &pb::Plan,
    etag: &str,
    effective: &str,
    (org, role): Caller,
    request_id: &str,
) -> Result<pb::Amendment, Status> {
    let mut c = plan.content.clone().unwrap();
    c.targets[1].yearly_targets[0].value = 35.0;
    client
        .propose_amendment(authed(
            pb::ProposeAmendmentRequest {
                request_id: request_id.into(),
                reason: "Relet target relaxed while the voids contract is re-let".into(),
                ..amendment_request(&plan.plan_id, etag, effective, c)
            },
            org,
            role,
        ))
        .await
        .map(|r| r.into_inner().amendment.unwrap())
}

pub fn agree(id: &str, etag: &str, request_id: &str) -> pb::AgreeAmendmentRequest {
    pb::AgreeAmendmentRequest {
        request_id: request_id.into(),
        amendment_id: id.into(),
        etag: etag.into(),
        note: String::new(),
    }
}

pub fn bulk(n: usize) -> Vec<pb::VarianceRecord> {
    // n records across the three years, monthly, of RP02 and LOCAL-RELET, then quarterly
    // figures under distinct ids until n is reached.
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    'outer: for year in 2026..=2028 {
        for m in 1..=12 {
            for code in ["RP02", "LOCAL-RELET"] {
                if out.len() == n {
                    break 'outer;
                }
                out.push(pb::VarianceRecord {
                    sender_record_id: format!("LBH-{year}-M{m:02}-{code}"),
                    target_code: code.into(),
                    period: month_in(year, m),
                    actual: if code == "RP02" { 97.0 } else { 29.0 },
                    forecast: Some(97.5),
                    commentary: format!("record {i}"),
                });
                i += 1;
            }
        }
    }
    out
}

pub async fn next_event(
    stream: &mut tonic::Streaming<pb::WatchPlanEventsResponse>,
) -> pb::PlanEvent {
    // A generous bound so a broken stream fails the test instead of hanging it.
    tokio::time::timeout(std::time::Duration::from_secs(20), stream.message())
        .await
        .expect("an event arrives")
        .unwrap()
        .expect("the stream is open")
        .event
        .unwrap()
}

pub fn milestone(date: &str, value: f64) -> pb::MilestoneTarget {
    pb::MilestoneTarget {
        date: date.into(),
        value,
    }
}

pub fn milestone_row(
    status: &pb::GetPlanStatusResponse,
    code: &str,
) -> Vec<(String, f64, bool, Option<i32>, f64, pb::RagStatus)> {
    status
        .targets
        .iter()
        .find(|t| t.code == code)
        .unwrap()
        .milestones
        .iter()
        .map(|m| {
            (
                m.date.clone(),
                m.target,
                m.reached,
                m.period.as_ref().map(|p| p.number),
                m.judged,
                m.status(),
            )
        })
        .collect()
}

pub async fn status_of(client: &mut Client, plan_id: &str) -> pb::GetPlanStatusResponse {
    status_by(client, plan_id, ALMO).await
}

/// GetPlanStatus as `caller`.
pub async fn status_by(
    client: &mut Client,
    plan_id: &str,
    (org, role): Caller,
) -> pb::GetPlanStatusResponse {
    let request = pb::GetPlanStatusRequest {
        plan_id: plan_id.into(),
    };
    client
        .get_plan_status(authed(request, org, role))
        .await
        .unwrap()
        .into_inner()
}

/// The status of the target `code`.
pub fn target_in<'a>(status: &'a pb::GetPlanStatusResponse, code: &str) -> &'a pb::TargetStatus {
    status
        .targets
        .iter()
        .find(|t| t.code == code)
        .unwrap_or_else(|| panic!("no target {code}"))
}

/// Month `n` of the financial year starting in `year`.
pub fn month_in(year: i32, n: i32) -> Option<Period> {
    Some(Period {
        year: fy(year),
        kind: PeriodKind::Month as i32,
        number: n,
    })
}

/// `msg` from an officer of the council, Lambeth.
pub fn as_council<T>(msg: T) -> tonic::Request<T> {
    authed(msg, LAMBETH, Role::CouncilOfficer)
}

/// `msg` from an officer of its ALMO, Lambeth Living.
pub fn as_almo<T>(msg: T) -> tonic::Request<T> {
    authed(msg, LAMBETH_LIVING, Role::AlmoOfficer)
}

/// `msg` from the regulator, who reads everyone's plans.
pub fn as_regulator<T>(msg: T) -> tonic::Request<T> {
    authed(msg, REGULATOR, Role::Regulator)
}

/// CreatePlan: the plan created.
pub async fn create_plan_with(
    client: &mut Client,
    request: tonic::Request<pb::CreatePlanRequest>,
) -> Result<pb::Plan, Status> {
    let reply = client.create_plan(request).await?;
    Ok(reply.into_inner().plan.expect("a plan in the reply"))
}

/// GetPlan: the version asked for.
pub async fn get_plan(
    client: &mut Client,
    request: tonic::Request<pb::GetPlanRequest>,
) -> Result<pb::Plan, Status> {
    let reply = client.get_plan(request).await?;
    Ok(reply.into_inner().plan.expect("a plan in the reply"))
}

/// ReprofileCapital: the plan's new version.
pub async fn reprofile(
    client: &mut Client,
    request: tonic::Request<pb::ReprofileCapitalRequest>,
) -> Result<pb::Plan, Status> {
    let reply = client.reprofile_capital(request).await?;
    Ok(reply.into_inner().plan.expect("a plan in the reply"))
}

/// SubmitExceptionReport: the exception as it now stands.
pub async fn submit_report(
    client: &mut Client,
    request: tonic::Request<pb::SubmitExceptionReportRequest>,
) -> Result<pb::PlanException, Status> {
    let reply = client.submit_exception_report(request).await?;
    Ok(reply
        .into_inner()
        .exception
        .expect("an exception in the reply"))
}

/// DecideExceptionReport: the exception as it now stands.
pub async fn decide_report(
    client: &mut Client,
    request: tonic::Request<pb::DecideExceptionReportRequest>,
) -> Result<pb::PlanException, Status> {
    let reply = client.decide_exception_report(request).await?;
    Ok(reply
        .into_inner()
        .exception
        .expect("an exception in the reply"))
}

/// Who calls: an organisation and the caller's role in it.
pub type Caller = (&'static str, Role);
/// An officer of the council, Lambeth.
pub const COUNCIL: Caller = (LAMBETH, Role::CouncilOfficer);
/// An officer of its ALMO, Lambeth Living.
pub const ALMO: Caller = (LAMBETH_LIVING, Role::AlmoOfficer);

/// A plan of the usual targets and `n` more local percentages, coded `{prefix}000` onwards.
pub fn plan_with_local_targets(request_id: &str, prefix: &str, n: usize) -> pb::CreatePlanRequest {
    use pb::{Direction::*, TargetKind::*, ToleranceKind::*, Unit::*};
    let mut r = create_request(request_id);
    let c = r.content.as_mut().unwrap();
    for i in 0..n {
        c.targets.push(target(
            &format!("{prefix}{i:03}"),
            Local,
            Percent,
            HigherIsBetter,
            [90.0, 90.0, 90.0],
            (Absolute, 1.0, 2.0),
        ));
    }
    r
}

/// Two quarters of RP02 off track (95 against 97.0): the second raises an exception.
pub async fn two_quarters_off_track(
    client: &mut Client,
    plan_id: &str,
) -> pb::RecordVarianceResponse {
    record(client, plan_id, "r1", rec("q1", "RP02", quarter(1), 95.0)).await;
    record(client, plan_id, "r2", rec("q2", "RP02", quarter(2), 95.0)).await
}

/// An amendment of `plan_id` as read (`etag`) to `content`, in force from `effective`; the
/// request id and the reason are the caller's to set.
pub fn amendment_request(
    plan_id: &str,
    etag: &str,
    effective: &str,
    content: pb::PlanContent,
) -> pb::ProposeAmendmentRequest {
    pb::ProposeAmendmentRequest {
        request_id: String::new(),
        plan_id: plan_id.into(),
        etag: etag.into(),
        reason: String::new(),
        effective_date: effective.into(),
        content: Some(content),
    }
}
