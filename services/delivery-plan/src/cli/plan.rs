//! `almo plan ...`: create a plan from a file, its dashboard, amendments proposed, listed and
//! decided.

use std::fmt::Write as _;

use almo_client::{BadInput, Target, refusal};
use almo_fields as fields;
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{self as pb};
use anyhow::Context;
use tonic::transport::Channel;

use super::{DecideArgs, Decision};

async fn client(target: &Target) -> anyhow::Result<DeliveryPlanServiceClient<Channel>> {
    Ok(DeliveryPlanServiceClient::new(target.channel().await?))
}

/// A plan's amendments, newest first.
pub async fn list_amendments(target: &Target, plan_id: &str) -> anyhow::Result<Vec<pb::Amendment>> {
    let request = pb::ListAmendmentsRequest {
        plan_id: plan_id.to_string(),
    };
    Ok(client(target)
        .await?
        .list_amendments(target.request(request)?)
        .await
        .map_err(refusal)?
        .into_inner()
        .amendments)
}

/// One line per amendment.
pub fn render_amendments(amendments: &[pb::Amendment]) -> String {
    use pb::{AmendmentState, Party};
    let mut out = String::new();
    if amendments.is_empty() {
        out.push_str("no amendments\n");
    }
    for a in amendments {
        let state = match AmendmentState::try_from(a.state) {
            Ok(AmendmentState::Proposed) => "proposed".to_string(),
            Ok(AmendmentState::Agreed) => format!("agreed (version {})", a.resulting_version),
            Ok(AmendmentState::Rejected) => "rejected".to_string(),
            Ok(AmendmentState::Withdrawn) => "withdrawn".to_string(),
            _ => "unknown".to_string(),
        };
        let party = match Party::try_from(a.proposed_by) {
            Ok(Party::Council) => "council",
            Ok(Party::Almo) => "ALMO",
            _ => "?",
        };
        let _ = writeln!(
            out,
            "{}  {state}  proposed by {} ({party}) against version {}, effective {}: {}  [etag {}]",
            a.amendment_id,
            a.proposer_organisation_id,
            a.base_version,
            a.effective_date,
            a.reason,
            a.etag
        );
        if !a.decision_note.is_empty() {
            let _ = writeln!(
                out,
                "    {}: {}",
                a.decided_by_organisation_id, a.decision_note
            );
        }
    }
    out
}

/// Agrees, rejects or withdraws an amendment; returns it as it now stands.
pub async fn decide_amendment(
    decision: Decision,
    args: &DecideArgs,
) -> anyhow::Result<pb::Amendment> {
    let target = &args.target;
    let etag = match &args.etag {
        Some(e) => e.clone(),
        None => {
            list_amendments(target, &args.plan)
                .await?
                .into_iter()
                .find(|a| a.amendment_id == args.amendment)
                .with_context(|| format!("{} has no amendment {}", args.plan, args.amendment))?
                .etag
        }
    };
    let request_id = args
        .request_id
        .clone()
        .unwrap_or_else(|| format!("cli-{}", uuid::Uuid::new_v4()));
    let (amendment_id, note) = (args.amendment.clone(), args.note.clone());
    let mut client = client(target).await?;
    // The three decisions differ only in the RPC and its message.
    macro_rules! decide {
        ($rpc:ident, $message:ident) => {
            client
                .$rpc(target.request(pb::$message {
                    request_id,
                    amendment_id,
                    etag,
                    note,
                })?)
                .await
                .map_err(refusal)?
                .into_inner()
                .amendment
        };
    }
    let amendment = match decision {
        Decision::Agree => decide!(agree_amendment, AgreeAmendmentRequest),
        Decision::Reject => decide!(reject_amendment, RejectAmendmentRequest),
        Decision::Withdraw => decide!(withdraw_amendment, WithdrawAmendmentRequest),
    };
    amendment.context("no amendment in the reply")
}

/// Proposes an amendment to the plan's newest version that sets `target`'s figure for `year`.
pub async fn propose_target_change(
    server: &Target,
    plan_id: &str,
    target: &str,
    year: &str,
    value: f64,
    effective: &str,
    reason: &str,
) -> anyhow::Result<pb::Amendment> {
    let year = fields::financial_year(year).map_err(|r| BadInput::new(None, "year", r))?;
    let mut client = client(server).await?;
    let request = pb::ListPlanVersionsRequest {
        plan_id: plan_id.to_string(),
    };
    let current = client
        .list_plan_versions(server.request(request)?)
        .await
        .map_err(refusal)?
        .into_inner()
        .versions
        .pop()
        .context("the plan has no versions")?;
    let mut content = current.content.clone().unwrap_or_default();
    let t = content
        .targets
        .iter_mut()
        .find(|t| t.code == target)
        .with_context(|| format!("{target} is not a target of {plan_id}"))?;
    let y = t
        .yearly_targets
        .iter_mut()
        .find(|y| y.year.as_ref().map(|f| f.start_year) == Some(year))
        .with_context(|| format!("{plan_id} has no {year} target for {target}"))?;
    y.value = value;
    let request = pb::ProposeAmendmentRequest {
        request_id: format!("cli-{}", uuid::Uuid::new_v4()),
        plan_id: plan_id.to_string(),
        etag: current.etag.clone(),
        reason: reason.to_string(),
        effective_date: effective.to_string(),
        content: Some(content),
    };
    client
        .propose_amendment(server.request(request)?)
        .await
        .map_err(refusal)?
        .into_inner()
        .amendment
        .context("no amendment in the reply")
}

/// Creates version 1 of a plan from its file; a plan the server refuses is bad input (exit 2),
/// each field at fault printed.
pub(super) async fn create_plan(
    file: &std::path::Path,
    target: &Target,
) -> anyhow::Result<std::process::ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let request =
        crate::plan_file::create_request(&text).with_context(|| format!("{}", file.display()))?;
    let mut client = client(target).await?;
    match client.create_plan(target.request(request)?).await {
        Ok(reply) => {
            let plan = reply.into_inner().plan.context("no plan in the reply")?;
            let targets = plan.content.as_ref().map_or(0, |c| c.targets.len());
            println!(
                "created plan {}: version 1 in force from {}, {} targets (etag {})",
                plan.plan_id, plan.effective_date, targets, plan.etag
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            eprintln!("the plan was {}", refusal(status));
            Ok(std::process::ExitCode::from(2))
        }
        Err(status) => Err(refusal(status)),
    }
}

/// A plan's dashboard.
pub(super) async fn plan_status(
    plan_id: String,
    target: &Target,
) -> anyhow::Result<pb::GetPlanStatusResponse> {
    let request = pb::GetPlanStatusRequest { plan_id };
    Ok(client(target)
        .await?
        .get_plan_status(target.request(request)?)
        .await
        .map_err(refusal)?
        .into_inner())
}

fn rag(s: i32) -> &'static str {
    use pb::RagStatus;
    match RagStatus::try_from(s) {
        Ok(RagStatus::OnTrack) => "on track",
        Ok(RagStatus::AtRisk) => "AT RISK",
        Ok(RagStatus::OffTrack) => "OFF TRACK",
        _ => "-",
    }
}

fn trend(t: i32) -> &'static str {
    use pb::Trend;
    match Trend::try_from(t) {
        Ok(Trend::Improving) => "improving",
        Ok(Trend::Steady) => "steady",
        Ok(Trend::Worsening) => "worsening",
        _ => "",
    }
}

/// Renders a plan's dashboard for a terminal.
pub fn render_status(s: &pb::GetPlanStatusResponse) -> String {
    let mut out = String::new();
    if let Some(p) = &s.plan {
        let _ = writeln!(
            out,
            "{} ({} with {}), version {} from {}",
            p.title, p.council_id, p.almo_id, p.version, p.effective_date
        );
    }
    let _ = writeln!(
        out,
        "{:<16} {:<10} {:>10} {:>10}  trend",
        "target", "status", "actual", "target"
    );
    for t in &s.targets {
        let last = t.periods.last();
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:>10} {:>10}  {}{}",
            t.code,
            rag(t.latest_status),
            last.map(|p| format!("{:.1}", p.judged)).unwrap_or_default(),
            last.map(|p| format!("{:.1}", p.target)).unwrap_or_default(),
            last.map(|p| trend(p.trend)).unwrap_or_default(),
            if t.in_exception { "  [exception]" } else { "" }
        );
    }
    for t in &s.targets {
        for m in &t.milestones {
            if m.reached {
                let _ = writeln!(
                    out,
                    "milestone {} {}: {:.1} against {:.1}, {}",
                    t.code,
                    m.date,
                    m.judged,
                    m.target,
                    rag(m.status)
                );
            } else {
                let _ = writeln!(
                    out,
                    "milestone {} {}: {:.1}, not reached yet",
                    t.code, m.date, m.target
                );
            }
        }
    }
    for e in &s.open_exceptions {
        let _ = writeln!(
            out,
            "exception {}: {} off track {} periods in a row, {} to {}",
            e.exception_id,
            e.target_code,
            e.consecutive_periods,
            period_label(e.first_period.as_ref()),
            period_label(e.last_period.as_ref())
        );
    }
    if let Some(c) = &s.decent_homes {
        let _ = writeln!(
            out,
            "Decent Homes: {} of {} still non-decent on {}; {:.0} a year achieved, {:.0} needed; forecast {}",
            c.still_non_decent,
            c.non_decent_at_baseline,
            c.as_of_date,
            c.rate_achieved_per_year,
            c.rate_needed_per_year,
            if c.forecast_completion_date.is_empty() {
                "none"
            } else {
                &c.forecast_completion_date
            }
        );
        if !c.warning.is_empty() {
            let _ = writeln!(out, "WARNING: {}", c.warning);
        }
    }
    out
}

/// "2026/27 M3" or "2026/27 Q2", as the server's messages name periods.
fn period_label(p: Option<&almo_proto::common::Period>) -> String {
    let Some(p) = p else {
        return "?".into();
    };
    let year = p.year.as_ref().map_or(0, |y| y.start_year);
    let tag = if p.kind == almo_proto::common::PeriodKind::Quarter as i32 {
        "Q"
    } else {
        "M"
    };
    format!("{year}/{:02} {tag}{}", (year + 1) % 100, p.number)
}
