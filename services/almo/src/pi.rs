//! `almo pi` and `almo catalogue`: the PI returns commands. `export` writes a whole-sector extract as CSV from the
//! `ExportReturns` stream, with a running count on stderr; `submit` sends an ALMO's (or a
//! council's) return from a CSV file: it opens the return if needed, records the values and
//! submits it, reporting refused values by their line in the file.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Instant;

use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{
    CreateReturnRequest, ExportReturnsRequest, ImportCatalogueRequest, PiReturn,
    QueryReturnsRequest, ReturnStatus, SetValuesRequest, SubmitReturnRequest, ValueInput,
};
use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use tonic::Request;
use tonic::transport::Channel;
use tonic_types::StatusExt;

#[derive(Subcommand)]
pub enum PiCommand {
    /// Stream every return you may see for a year to CSV (stdout, or --out FILE).
    Export {
        /// Financial year: 2003/04 or 2003.
        #[arg(long)]
        year: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Only this indicator, e.g. "BVPI 66a".
        #[arg(long)]
        indicator: Option<String>,
        /// Only this authority type: london_borough, metropolitan, unitary, district.
        #[arg(long)]
        authority_type: Option<String>,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Record the values in FILE.csv on a return and submit it.
    ///
    /// The file has a header naming its columns: indicator_code, split, value, numerator,
    /// denominator, explanation (any order; empty cells are absent).
    Submit {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The organisation the return is for (your own).
        #[arg(long)]
        org: String,
        /// Financial year: 2003/04 or 2003.
        #[arg(long)]
        year: String,
        /// A quarter (1-4) instead of the whole year.
        #[arg(long)]
        quarter: Option<i32>,
        /// Record the values but leave the return as a draft.
        #[arg(long)]
        no_submit: bool,
        #[command(flatten)]
        conn: ConnArgs,
    },
}

#[derive(Subcommand)]
pub enum CatalogueCommand {
    /// Add the indicator definitions of FILE (the format of
    /// services/pi-returns/catalogue/indicators.json) to the catalogue. Operator only; a
    /// definition already published for a code and first year is never changed.
    Import {
        /// The catalogue file.
        file: std::path::PathBuf,
        #[command(flatten)]
        conn: ConnArgs,
    },
}

pub async fn run_catalogue(cmd: CatalogueCommand) -> anyhow::Result<()> {
    let CatalogueCommand::Import { file, conn } = cmd;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let defs =
        almo_pi_returns::domain::catalogue::parse_catalogue(&text).map_err(anyhow::Error::msg)?;
    let mut client = conn.client().await?;
    let done = client
        .import_catalogue(
            conn.request(ImportCatalogueRequest {
                // The same file imported twice is the same request: a retry replays the answer.
                request_id: format!("catalogue-{:016x}", fnv1a(text.as_bytes())),
                indicators: defs
                    .iter()
                    .map(almo_pi_returns::definition_to_proto)
                    .collect(),
            })?,
        )
        .await
        .map_err(describe)?
        .into_inner();
    println!(
        "{} definitions added, {} already there",
        done.added, done.unchanged
    );
    Ok(())
}

/// A stable 64-bit hash of the file, for its request id.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
}

#[derive(Args)]
pub struct ConnArgs {
    /// The server.
    #[arg(long, env = "ALMO_ADDR", default_value = "127.0.0.1:50051")]
    addr: SocketAddr,
    /// A bearer token (e.g. from `almo token`).
    #[arg(long, env = "ALMO_TOKEN", hide_env_values = true)]
    token: String,
}

impl ConnArgs {
    async fn client(&self) -> anyhow::Result<PiReturnsServiceClient<Channel>> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr))?
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("cannot reach {}", self.addr))?;
        Ok(PiReturnsServiceClient::new(channel))
    }

    fn request<T>(&self, msg: T) -> anyhow::Result<Request<T>> {
        let mut req = Request::new(msg);
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token.trim())
                .parse()
                .map_err(|_| anyhow!("the token is not valid metadata"))?,
        );
        Ok(req)
    }
}

/// "2003/04" or "2003" -> 2003.
pub fn parse_year(s: &str) -> anyhow::Result<i32> {
    let s = s.trim();
    let (start, end) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let y: i32 = start
        .parse()
        .map_err(|_| anyhow!("{s:?} is not a financial year such as 2003/04"))?;
    if let Some(end) = end
        && end != format!("{:02}", (y + 1) % 100)
    {
        bail!("{s:?} is not a financial year such as 2003/04");
    }
    Ok(y)
}

pub async fn run(cmd: PiCommand) -> anyhow::Result<()> {
    match cmd {
        PiCommand::Export {
            year,
            format: Format::Csv,
            indicator,
            authority_type,
            out,
            conn,
        } => {
            let year = parse_year(&year)?;
            let mut client = conn.client().await?;
            let mut stream = client
                .export_returns(conn.request(ExportReturnsRequest {
                    year: Some(FinancialYear { start_year: year }),
                    indicator_code: indicator.unwrap_or_default(),
                    authority_type: authority_type.unwrap_or_default(),
                    ..Default::default()
                })?)
                .await
                .map_err(describe)?
                .into_inner();
            let mut sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            writeln!(sink, "{}", CSV_HEADER.join(","))?;
            let started = Instant::now();
            let (mut returns, mut values) = (0u64, 0u64);
            while let Some(batch) = stream.message().await.map_err(describe)? {
                for r in &batch.pi_returns {
                    for line in csv_lines(r) {
                        writeln!(sink, "{line}")?;
                        values += 1;
                    }
                    returns += 1;
                }
                eprint!(
                    "\r{} {returns}/{} returns, {values} values ({:.0} returns/s)",
                    progress_bar(returns, batch.total_returns.max(0) as u64),
                    batch.total_returns,
                    returns as f64 / started.elapsed().as_secs_f64().max(1e-3)
                );
            }
            sink.flush()?;
            eprintln!(
                "\n{returns} returns, {values} values exported in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        PiCommand::Submit {
            file,
            org,
            year,
            quarter,
            no_submit,
            conn,
        } => {
            let year = parse_year(&year)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let values = parse_values(&text)?;
            let mut client = conn.client().await?;
            let period = Period {
                year: Some(FinancialYear { start_year: year }),
                kind: if quarter.is_some() {
                    PeriodKind::Quarter
                } else {
                    PeriodKind::Year
                } as i32,
                number: quarter.unwrap_or(1),
            };
            let existing = client
                .query_returns(conn.request(QueryReturnsRequest {
                    organisation_id: org.clone(),
                    year: period.year,
                    period_kind: period.kind,
                    period_number: period.number,
                    ..Default::default()
                })?)
                .await
                .map_err(describe)?
                .into_inner()
                .pi_returns
                .into_iter()
                .next();
            let ret = match existing {
                Some(r) => r,
                None => client
                    .create_return(conn.request(CreateReturnRequest {
                        request_id: uuid::Uuid::new_v4().to_string(),
                        organisation_id: org.clone(),
                        period: Some(period),
                    })?)
                    .await
                    .map_err(describe)?
                    .into_inner()
                    .pi_return
                    .context("no return in the reply")?,
            };
            let count = values.len();
            let ret = client
                .set_values(conn.request(SetValuesRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    return_id: ret.id.clone(),
                    etag: ret.etag.clone(),
                    values,
                    survey: None,
                })?)
                .await
                .map_err(describe_lines)?
                .into_inner()
                .pi_return
                .context("no return in the reply")?;
            eprintln!("{count} values recorded on {}", ret.id);
            for v in ret.values.iter().filter(|v| !v.warnings.is_empty()) {
                eprintln!(
                    "  {} {}: {} (explained: {})",
                    v.indicator_code,
                    v.split,
                    v.warnings.join("; "),
                    v.explanation
                );
            }
            if no_submit {
                return Ok(());
            }
            let ret = client
                .submit_return(conn.request(SubmitReturnRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    return_id: ret.id.clone(),
                    etag: ret.etag.clone(),
                })?)
                .await
                .map_err(describe)?
                .into_inner()
                .pi_return
                .context("no return in the reply")?;
            let status = ReturnStatus::try_from(ret.status)
                .map(|s| s.as_str_name())
                .unwrap_or("?");
            println!(
                "{} {}{}; due {}; awaiting sign-off by someone other than {}",
                ret.id,
                status,
                if ret.late { " (late)" } else { "" },
                ret.deadline_date,
                ret.submitted_by
            );
            Ok(())
        }
    }
}

/// `[#########...........]  45%`
fn progress_bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let percent = (done * 100).checked_div(total).unwrap_or(100).min(100);
    format!(
        "[{}{}] {percent:>3}%",
        "#".repeat(filled as usize),
        ".".repeat((WIDTH - filled) as usize)
    )
}

/// A refusal with its field violations.
fn describe(s: tonic::Status) -> anyhow::Error {
    let mut msg = format!("{:?}: {}", s.code(), s.message());
    if let Some(bad) = s.get_error_details().bad_request() {
        for v in &bad.field_violations {
            msg.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    anyhow!(msg)
}

/// A refusal of SetValues, with `values[i]` turned into the CSV line it came from.
fn describe_lines(s: tonic::Status) -> anyhow::Error {
    let mut msg = format!("{:?}: values refused", s.code());
    match s.get_error_details().bad_request() {
        Some(bad) => {
            for v in &bad.field_violations {
                let line = v
                    .field
                    .strip_prefix("values[")
                    .and_then(|rest| rest.split_once(']'))
                    .and_then(|(i, field)| {
                        let i: usize = i.parse().ok()?;
                        let field = field.trim_start_matches('.');
                        Some(if field.is_empty() {
                            format!("line {}", i + 2)
                        } else {
                            format!("line {} ({field})", i + 2)
                        })
                    })
                    .unwrap_or_else(|| v.field.clone());
                msg.push_str(&format!("\n  {line}: {}", v.description));
            }
        }
        None => msg = format!("{:?}: {}", s.code(), s.message()),
    }
    anyhow!(msg)
}

const CSV_HEADER: [&str; 15] = [
    "return_id",
    "organisation_id",
    "year",
    "period",
    "status",
    "late",
    "signed_off_by",
    "indicator_code",
    "split",
    "value",
    "numerator",
    "denominator",
    "warnings",
    "explanation",
    "changed_by",
];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// One CSV line per current value of a return.
fn csv_lines(r: &PiReturn) -> Vec<String> {
    let period = r.period.as_ref();
    let year = period
        .and_then(|p| p.year.as_ref())
        .map(|y| format!("{}/{:02}", y.start_year, (y.start_year + 1) % 100))
        .unwrap_or_default();
    let label = match period {
        Some(p) if p.kind == PeriodKind::Quarter as i32 => format!("Q{}", p.number),
        _ => "year".into(),
    };
    let status = ReturnStatus::try_from(r.status)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("RETURN_STATUS_")
                .to_lowercase()
        })
        .unwrap_or_default();
    r.values
        .iter()
        .map(|v| {
            [
                csv_field(&r.id),
                csv_field(&r.organisation_id),
                year.clone(),
                label.clone(),
                status.clone(),
                r.late.to_string(),
                csv_field(&r.signed_off_by),
                csv_field(&v.indicator_code),
                csv_field(&v.split),
                v.value.to_string(),
                opt(v.numerator),
                opt(v.denominator),
                csv_field(&v.warnings.join("; ")),
                csv_field(&v.explanation),
                csv_field(&v.changed_by),
            ]
            .join(",")
        })
        .collect()
}

/// Splits CSV text into records (RFC 4180 quoting).
fn csv_records(text: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        bail!("a quoted field is not closed");
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(records)
}

/// The values of a submission file.
pub fn parse_values(text: &str) -> anyhow::Result<Vec<ValueInput>> {
    let mut records = csv_records(text)?.into_iter();
    let header = records.next().context("the file is empty")?;
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let code = col("indicator_code").context("no indicator_code column")?;
    let (split, value, num, den, expl) = (
        col("split"),
        col("value"),
        col("numerator"),
        col("denominator"),
        col("explanation"),
    );
    let mut out = Vec::new();
    for (i, r) in records.enumerate() {
        let line = i + 2;
        let cell = |c: Option<usize>| c.and_then(|c| r.get(c)).map(|s| s.trim()).unwrap_or("");
        let number = |c: Option<usize>, what: &str| -> anyhow::Result<Option<f64>> {
            match cell(c) {
                "" => Ok(None),
                s => s
                    .parse()
                    .map(Some)
                    .map_err(|_| anyhow!("line {line}: {what} {s:?} is not a number")),
            }
        };
        out.push(ValueInput {
            indicator_code: cell(Some(code)).to_string(),
            split: cell(split).to_string(),
            value: number(value, "value")?,
            numerator: number(num, "numerator")?,
            denominator: number(den, "denominator")?,
            unit: 0,
            explanation: cell(expl).to_string(),
        });
    }
    if out.is_empty() {
        bail!("the file has a header but no values");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn financial_years_are_read_as_the_regulator_writes_them() {
        assert_eq!(parse_year("2003/04").unwrap(), 2003);
        assert_eq!(parse_year("1999/00").unwrap(), 1999);
        assert_eq!(parse_year("2003").unwrap(), 2003);
        assert!(parse_year("2003/05").is_err());
        assert!(parse_year("twenty").is_err());
    }

    #[test]
    fn submission_file_columns_are_found_by_name_and_quotes_are_honoured() {
        let text = "value,indicator_code,explanation\n\
                    97.5,BVPI 66a,\n\
                    85,BVPI 185,\"Contractor changed, \"\"new\"\" system\"\n";
        let v = parse_values(text).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].indicator_code, "BVPI 66a");
        assert_eq!(v[0].value, Some(97.5));
        assert_eq!(v[1].explanation, "Contractor changed, \"new\" system");
        assert!(parse_values("indicator_code,value\nBVPI 66a,lots\n").is_err());
    }

    #[test]
    fn progress_bar_fills_with_the_export() {
        assert_eq!(progress_bar(0, 10), format!("[{}]   0%", ".".repeat(30)));
        assert_eq!(
            progress_bar(5, 10),
            format!("[{}{}]  50%", "#".repeat(15), ".".repeat(15))
        );
        assert_eq!(progress_bar(0, 0), format!("[{}] 100%", "#".repeat(30)));
    }

    #[test]
    fn export_lines_quote_what_needs_quoting() {
        assert_eq!(csv_field("BVPI 66a"), "BVPI 66a");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
