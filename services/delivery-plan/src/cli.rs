//! `almo variances push FILE.csv`: a council system's figures for one plan, from a CSV file, in
//! one client-streaming push. Safe to re-run: each row carries the sender's record id, so running
//! the same file again changes nothing (and the report says so: all rows unchanged), and a
//! changed figure under the same id is recorded as a correction. A push is all or nothing: if
//! the connection drops, nothing of it was written and the file can simply be pushed again.
//!
//! The CSV format (UTF-8, a header row, comma-separated, fields with commas or quotes in double
//! quotes with `""` for a quote):
//!
//! ```text
//! sender_record_id,target_code,year,period,actual,forecast,commentary
//! LBH-2026-M01-RP02,RP02,2026,M1,97.2,97.5,"Contractor backlog, now cleared"
//! LBH-2026-Q1-LOCAL-DECENT,LOCAL-DECENT,2026/27,Q1,150,,
//! ```
//!
//! `year` is the financial year (`2026` or `2026/27`); `period` is `M1`..`M12` (April = M1) or
//! `Q1`..`Q4`; `forecast` and `commentary` may be empty.

use std::io::Write;
use std::path::Path;

use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::delivery_plan::{PushVariancesRequest, PushVariancesResponse, VarianceRecord};
use anyhow::{Context, bail};
use tonic::metadata::MetadataValue;

pub const HEADER: &str = "sender_record_id,target_code,year,period,actual,forecast,commentary";

/// The `almo variances ...` commands.
#[derive(clap::Subcommand, Debug)]
pub enum VariancesCommand {
    /// Push a CSV file of variance figures for one plan (see the format in `almo variances push --help`).
    ///
    /// Columns: sender_record_id,target_code,year,period,actual,forecast,commentary; year 2026 or
    /// 2026/27; period M1..M12 (April = M1) or Q1..Q4; forecast and commentary may be empty.
    Push {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: String,
        /// The server.
        #[arg(long, env = "ALMO_ADDR", default_value = "http://127.0.0.1:50051")]
        addr: String,
        /// A bearer token for a council officer (see `almo token`).
        #[arg(long, env = "ALMO_TOKEN")]
        token: String,
        /// Records per stream message.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
}

/// The `almo plan ...` commands.
#[derive(clap::Subcommand, Debug)]
pub enum PlanCommand {
    /// Create a plan (version 1) from a JSON file: council officers only. The file's format is
    /// in services/delivery-plan/README.md; the server names any field at fault.
    Create {
        /// The plan file.
        #[arg(long)]
        file: std::path::PathBuf,
        /// The server.
        #[arg(long, env = "ALMO_ADDR", default_value = "http://127.0.0.1:50051")]
        addr: String,
        /// A bearer token for a council officer (see `almo token`).
        #[arg(long, env = "ALMO_TOKEN")]
        token: String,
    },
    /// Print a plan's dashboard: every target's latest status and trend, open exceptions and the
    /// Decent Homes countdown.
    Status {
        /// The plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: String,
        /// The server.
        #[arg(long, env = "ALMO_ADDR", default_value = "http://127.0.0.1:50051")]
        addr: String,
        /// A bearer token (see `almo token`).
        #[arg(long, env = "ALMO_TOKEN")]
        token: String,
    },
    /// Propose an amendment changing one target's figure for one year; the other party agrees
    /// or rejects it (AgreeAmendment / RejectAmendment).
    Amend {
        /// The plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: String,
        /// The target's code, e.g. LOCAL-RELET.
        #[arg(long)]
        target: String,
        /// The financial year (2026 or 2026/27).
        #[arg(long)]
        year: String,
        /// The new target for that year.
        #[arg(long)]
        value: f64,
        /// When the change takes effect (ISO date).
        #[arg(long)]
        effective: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The server.
        #[arg(long, env = "ALMO_ADDR", default_value = "http://127.0.0.1:50051")]
        addr: String,
        /// A bearer token for a council or ALMO officer (see `almo token`).
        #[arg(long, env = "ALMO_TOKEN")]
        token: String,
    },
    /// List a plan's amendments, newest first: id, state, who proposed it, against which version,
    /// when it takes effect and why.
    Amendments {
        /// The plan, e.g. LAMBETH-LIVING-2026-2028.
        #[arg(long)]
        plan: String,
        /// The server.
        #[arg(long, env = "ALMO_ADDR", default_value = "http://127.0.0.1:50051")]
        addr: String,
        /// A bearer token (see `almo token`).
        #[arg(long, env = "ALMO_TOKEN")]
        token: String,
    },
    /// Agree the other party's amendment: the plan's next version comes into force.
    Agree(DecideArgs),
    /// Reject the other party's amendment (`--note` says why; required).
    Reject(DecideArgs),
    /// Withdraw your own amendment.
    Withdraw(DecideArgs),
}

/// Which amendment to decide, and how.
#[derive(clap::Args, Debug, Clone)]
pub struct DecideArgs {
    /// The plan, e.g. LAMBETH-LIVING-2026-2028.
    #[arg(long)]
    pub plan: String,
    /// The amendment's id (see `almo plan amendments`).
    #[arg(long)]
    pub amendment: String,
    /// A note; why, when rejecting.
    #[arg(long, default_value = "")]
    pub note: String,
    /// The amendment's etag as last read; read now when not given.
    #[arg(long)]
    pub etag: Option<String>,
    /// Idempotency key: send the same one to retry without acting twice. A new one when not given.
    #[arg(long)]
    pub request_id: Option<String>,
    /// The server.
    #[arg(long, env = "ALMO_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// A bearer token for the deciding party's officer (see `almo token`).
    #[arg(long, env = "ALMO_TOKEN")]
    pub token: String,
}

/// What to do with an amendment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Agree,
    Reject,
    Withdraw,
}

fn status_error(s: tonic::Status) -> anyhow::Error {
    use tonic_types::StatusExt;
    let mut message = format!("{:?}: {}", s.code(), s.message());
    if let Some(bad) = s.get_error_details().bad_request() {
        for v in &bad.field_violations {
            message.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    anyhow::anyhow!(message)
}

/// A plan's amendments, newest first.
pub async fn list_amendments(
    addr: &str,
    token: &str,
    plan_id: &str,
) -> anyhow::Result<Vec<almo_proto::delivery_plan::Amendment>> {
    let mut client = connect(addr).await?;
    Ok(client
        .list_amendments(with_token(
            almo_proto::delivery_plan::ListAmendmentsRequest {
                plan_id: plan_id.to_string(),
            },
            token,
        )?)
        .await
        .map_err(status_error)?
        .into_inner()
        .amendments)
}

/// One line per amendment.
pub fn render_amendments(amendments: &[almo_proto::delivery_plan::Amendment]) -> String {
    use almo_proto::delivery_plan::{AmendmentState, Party};
    use std::fmt::Write as _;
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
) -> anyhow::Result<almo_proto::delivery_plan::Amendment> {
    use almo_proto::delivery_plan as pb;
    let etag = match &args.etag {
        Some(e) => e.clone(),
        None => {
            list_amendments(&args.addr, &args.token, &args.plan)
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
    let mut client = connect(&args.addr).await?;
    let amendment = match decision {
        Decision::Agree => {
            client
                .agree_amendment(with_token(
                    pb::AgreeAmendmentRequest {
                        request_id,
                        amendment_id,
                        etag,
                        note,
                    },
                    &args.token,
                )?)
                .await
                .map_err(status_error)?
                .into_inner()
                .amendment
        }
        Decision::Reject => {
            client
                .reject_amendment(with_token(
                    pb::RejectAmendmentRequest {
                        request_id,
                        amendment_id,
                        etag,
                        note,
                    },
                    &args.token,
                )?)
                .await
                .map_err(status_error)?
                .into_inner()
                .amendment
        }
        Decision::Withdraw => {
            client
                .withdraw_amendment(with_token(
                    pb::WithdrawAmendmentRequest {
                        request_id,
                        amendment_id,
                        etag,
                        note,
                    },
                    &args.token,
                )?)
                .await
                .map_err(status_error)?
                .into_inner()
                .amendment
        }
    };
    amendment.context("no amendment in the reply")
}

fn with_token<T>(msg: T, token: &str) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(msg);
    let value: MetadataValue<_> = format!("Bearer {token}")
        .parse()
        .context("the token is not a valid header value")?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

async fn connect(
    addr: &str,
) -> anyhow::Result<DeliveryPlanServiceClient<tonic::transport::Channel>> {
    let channel = tonic::transport::Endpoint::from_shared(addr.to_string())?
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    Ok(DeliveryPlanServiceClient::new(channel))
}

/// Proposes an amendment to the plan's newest version that sets `target`'s figure for `year`.
#[allow(clippy::too_many_arguments)]
pub async fn propose_target_change(
    addr: &str,
    token: &str,
    plan_id: &str,
    target: &str,
    year: &str,
    value: f64,
    effective: &str,
    reason: &str,
) -> anyhow::Result<almo_proto::delivery_plan::Amendment> {
    use almo_proto::delivery_plan as pb;
    let year = parse_year(year).map_err(anyhow::Error::msg)?;
    let mut client = connect(addr).await?;
    let current = client
        .list_plan_versions(with_token(
            pb::ListPlanVersionsRequest {
                plan_id: plan_id.to_string(),
            },
            token,
        )?)
        .await
        .map_err(status_error)?
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
    let amendment = client
        .propose_amendment(with_token(
            pb::ProposeAmendmentRequest {
                request_id: format!("cli-{}", uuid::Uuid::new_v4()),
                plan_id: plan_id.to_string(),
                etag: current.etag.clone(),
                reason: reason.to_string(),
                effective_date: effective.to_string(),
                content: Some(content),
            },
            token,
        )?)
        .await
        .map_err(status_error)?
        .into_inner()
        .amendment
        .context("no amendment in the reply")?;
    Ok(amendment)
}

fn rag(s: i32) -> &'static str {
    use almo_proto::delivery_plan::RagStatus;
    match RagStatus::try_from(s) {
        Ok(RagStatus::OnTrack) => "on track",
        Ok(RagStatus::AtRisk) => "AT RISK",
        Ok(RagStatus::OffTrack) => "OFF TRACK",
        _ => "-",
    }
}

fn trend(t: i32) -> &'static str {
    use almo_proto::delivery_plan::Trend;
    match Trend::try_from(t) {
        Ok(Trend::Improving) => "improving",
        Ok(Trend::Steady) => "steady",
        Ok(Trend::Worsening) => "worsening",
        _ => "",
    }
}

/// Renders a plan's dashboard for a terminal.
pub fn render_status(s: &almo_proto::delivery_plan::GetPlanStatusResponse) -> String {
    use std::fmt::Write as _;
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
            "exception {}: {} off track {} periods in a row",
            e.exception_id, e.target_code, e.consecutive_periods
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

/// Runs an `almo plan ...` command.
pub async fn run_plan(cmd: PlanCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        PlanCommand::Create { file, addr, token } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let request = crate::plan_file::create_request(&text)
                .with_context(|| format!("{}", file.display()))?;
            let mut client = connect(&addr).await?;
            match client.create_plan(with_token(request, &token)?).await {
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
                    use tonic_types::StatusExt;
                    eprintln!("the plan was refused: {}", status.message());
                    if let Some(bad) = status.get_error_details().bad_request() {
                        for v in &bad.field_violations {
                            eprintln!("  {}: {}", v.field, v.description);
                        }
                    }
                    Ok(std::process::ExitCode::from(2))
                }
                Err(s) => bail!("{:?}: {}", s.code(), s.message()),
            }
        }
        PlanCommand::Status { plan, addr, token } => {
            let mut client = connect(&addr).await?;
            let status = client
                .get_plan_status(with_token(
                    almo_proto::delivery_plan::GetPlanStatusRequest { plan_id: plan },
                    &token,
                )?)
                .await
                .map_err(status_error)?
                .into_inner();
            print!("{}", render_status(&status));
            Ok(std::process::ExitCode::SUCCESS)
        }
        PlanCommand::Amend {
            plan,
            target,
            year,
            value,
            effective,
            reason,
            addr,
            token,
        } => {
            let a = propose_target_change(
                &addr, &token, &plan, &target, &year, value, &effective, &reason,
            )
            .await?;
            println!(
                "amendment {} proposed against version {} (etag {}); the other party agrees or rejects it",
                a.amendment_id, a.base_version, a.etag
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        PlanCommand::Amendments { plan, addr, token } => {
            print!(
                "{}",
                render_amendments(&list_amendments(&addr, &token, &plan).await?)
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        PlanCommand::Agree(args) => {
            let a = decide_amendment(Decision::Agree, &args).await?;
            println!(
                "amendment {} agreed: version {} of {} in force from {}",
                a.amendment_id, a.resulting_version, a.plan_id, a.effective_date
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        PlanCommand::Reject(args) => {
            let a = decide_amendment(Decision::Reject, &args).await?;
            println!("amendment {} rejected: {}", a.amendment_id, a.decision_note);
            Ok(std::process::ExitCode::SUCCESS)
        }
        PlanCommand::Withdraw(args) => {
            let a = decide_amendment(Decision::Withdraw, &args).await?;
            println!("amendment {} withdrawn", a.amendment_id);
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// A row that could not be read, by line number (the header is line 1).
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    pub line: usize,
    pub reason: String,
}

/// What a push did, with refused rows by line number.
#[derive(Debug, Clone, PartialEq)]
pub struct PushReport {
    pub response: PushVariancesResponse,
    /// Rows refused by the server: (line, sender record id, field, reason).
    pub refused: Vec<(usize, String, String, String)>,
    /// Rows not sent because they could not be read.
    pub unreadable: Vec<BadRow>,
}

/// Splits one CSV line into fields (quoted fields, `""` for a quote).
fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            c => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

fn parse_year(s: &str) -> Result<i32, String> {
    let start = s.split('/').next().unwrap_or(s);
    start
        .trim()
        .parse::<i32>()
        .map_err(|_| format!("year {s:?} is not like 2026 or 2026/27"))
}

fn parse_period(s: &str) -> Result<(PeriodKind, i32), String> {
    let s = s.trim();
    let (kind, n) = match s.chars().next() {
        Some('M' | 'm') => (PeriodKind::Month, &s[1..]),
        Some('Q' | 'q') => (PeriodKind::Quarter, &s[1..]),
        _ => return Err(format!("period {s:?} is not M1..M12 or Q1..Q4")),
    };
    let n = n
        .parse::<i32>()
        .map_err(|_| format!("period {s:?} is not M1..M12 or Q1..Q4"))?;
    Ok((kind, n))
}

fn parse_number(s: &str, what: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{what} {s:?} is not a number"))
}

/// Records read from a CSV file, each with its line number.
pub type NumberedRecords = Vec<(usize, VarianceRecord)>;

/// Reads a CSV text into records (with their line numbers) and the rows that could not be read.
pub fn parse_csv(text: &str) -> anyhow::Result<(NumberedRecords, Vec<BadRow>)> {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        bail!("the file is empty: it needs the header {HEADER}");
    };
    if header.trim().trim_start_matches('\u{feff}') != HEADER {
        bail!("the first line must be the header {HEADER}");
    }
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = split_line(line).and_then(|f| {
            if f.len() != 7 {
                return Err(format!("{} fields, expected 7", f.len()));
            }
            let (kind, number) = parse_period(&f[3])?;
            Ok(VarianceRecord {
                sender_record_id: f[0].trim().to_string(),
                target_code: f[1].trim().to_string(),
                period: Some(Period {
                    year: Some(FinancialYear {
                        start_year: parse_year(&f[2])?,
                    }),
                    kind: kind as i32,
                    number,
                }),
                actual: parse_number(&f[4], "actual")?,
                forecast: if f[5].trim().is_empty() {
                    None
                } else {
                    Some(parse_number(&f[5], "forecast")?)
                },
                commentary: f[6].clone(),
            })
        });
        match parsed {
            Ok(r) => records.push((line_no, r)),
            Err(reason) => bad.push(BadRow {
                line: line_no,
                reason,
            }),
        }
    }
    Ok((records, bad))
}

/// Pushes `path` to `plan_id` at `addr`, printing progress to `progress`.
pub async fn push_file(
    addr: &str,
    token: &str,
    plan_id: &str,
    path: &Path,
    batch: usize,
    progress: &mut (dyn Write + Send),
) -> anyhow::Result<PushReport> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8(bytes).context("the file is not UTF-8")?;
    let (records, unreadable) = parse_csv(&text)?;
    // A new request id per run: a re-run is a new push whose report shows what changed.
    let request_id = format!("csv-{}", uuid::Uuid::new_v4());
    let channel = tonic::transport::Endpoint::from_shared(addr.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let mut client = DeliveryPlanServiceClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let total = records.len();
    let batch = batch.max(1);
    let mut messages = Vec::with_capacity(total.div_ceil(batch));
    for (i, chunk) in records.chunks(batch).enumerate() {
        messages.push(PushVariancesRequest {
            request_id: if i == 0 {
                request_id.clone()
            } else {
                String::new()
            },
            plan_id: if i == 0 {
                plan_id.to_string()
            } else {
                String::new()
            },
            records: chunk.iter().map(|(_, r)| r.clone()).collect(),
        });
    }
    if messages.is_empty() {
        messages.push(PushVariancesRequest {
            request_id: request_id.clone(),
            plan_id: plan_id.to_string(),
            records: Vec::new(),
        });
    }
    // Progress: each message is reported as it is handed to the stream.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let sizes: Vec<usize> = messages.iter().map(|m| m.records.len()).collect();
    let stream = tokio_stream::iter(messages.into_iter().zip(sizes).map(move |(m, n)| {
        let _ = tx.send(n);
        m
    }));
    let mut request = tonic::Request::new(stream);
    let value: MetadataValue<_> = format!("Bearer {token}")
        .parse()
        .context("the token is not a valid header value")?;
    request.metadata_mut().insert("authorization", value);
    let call = tokio::spawn(async move { client.push_variances(request).await });
    let mut rx = rx;
    let mut sent = 0usize;
    while let Some(n) = rx.recv().await {
        sent += n;
        let width = 30;
        let done = (sent * width)
            .checked_div(total)
            .unwrap_or(width)
            .min(width);
        let _ = write!(
            progress,
            "\r[{}{}] {sent}/{total} rows sent",
            "#".repeat(done),
            " ".repeat(width - done)
        );
        let _ = progress.flush();
    }
    let _ = writeln!(
        progress,
        "\r{total} rows sent; waiting for the server's answer"
    );
    let response = call
        .await
        .context("the push task failed")?
        .map_err(|s| {
            anyhow::anyhow!(
                "the server refused the push: {:?}: {}",
                s.code(),
                s.message()
            )
        })?
        .into_inner();
    let refused = response
        .refusals
        .iter()
        .map(|r| {
            let line = records
                .get(r.index as usize)
                .map(|(line, _)| *line)
                .unwrap_or_default();
            (
                line,
                r.sender_record_id.clone(),
                r.field.clone(),
                r.reason.clone(),
            )
        })
        .collect();
    Ok(PushReport {
        response,
        refused,
        unreadable,
    })
}

/// Runs a `almo variances ...` command; the exit code is 0 when every row was taken, 2 when
/// some were refused or unreadable.
pub async fn run(cmd: VariancesCommand) -> anyhow::Result<std::process::ExitCode> {
    match cmd {
        VariancesCommand::Push {
            file,
            plan,
            addr,
            token,
            batch,
        } => {
            let mut err = std::io::stderr();
            let report = push_file(&addr, &token, &plan, &file, batch, &mut err).await?;
            let r = &report.response;
            println!(
                "{} rows received: {} new, {} corrected, {} unchanged, {} refused; {} unreadable",
                r.received,
                r.accepted,
                r.corrected,
                r.unchanged,
                r.refused,
                report.unreadable.len()
            );
            for bad in &report.unreadable {
                println!("line {}: not sent: {}", bad.line, bad.reason);
            }
            for (line, id, field, reason) in &report.refused {
                println!("line {line}: {id}: {field}: {reason}");
            }
            for e in &r.exceptions_raised {
                println!(
                    "exception raised: {} off track for {} periods",
                    e.target_code, e.consecutive_periods
                );
            }
            Ok(
                if report.refused.is_empty() && report.unreadable.is_empty() {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::from(2)
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas_and_quotes() {
        assert_eq!(
            split_line(r#"a,"b, c","say ""hi""",,"#).unwrap(),
            vec!["a", "b, c", "say \"hi\"", "", ""]
        );
        assert!(split_line(r#"a,"b"#).is_err());
    }

    #[test]
    fn unreadable_rows_are_reported_by_line_number() {
        let text = format!(
            "{HEADER}\nr1,RP02,2026/27,M1,97.2,,\"ok, fine\"\nr2,RP02,2026,M13x,97,,\n\nr3,RP02,2026,Q2,abc,,\nr4,RP02,2026\n"
        );
        let (records, bad) = parse_csv(&text).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].0, 2);
        assert_eq!(records[0].1.commentary, "ok, fine");
        assert_eq!(
            bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![3, 5, 6]
        );
        assert!(parse_csv("wrong,header\n").is_err());
    }
}
