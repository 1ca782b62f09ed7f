//! `almo pi` and `almo catalogue`: the PI returns commands. `export` writes a whole-sector extract as CSV from the
//! `ExportReturns` stream, with progress on a terminal; `submit` sends an ALMO's (or a
//! council's) return from a CSV file: it opens the return if needed, records the values and
//! submits it, reporting refused values by their line in the file.

use std::io::Write;
use std::ops::Deref;
use std::time::Instant;

use almo_client::csv;
use almo_client::{BadInput, Refused, Target, progress, refusal};
use almo_proto::common::{FinancialYear, Period, PeriodKind};
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::pi_returns::{
    CompareManagementModelsRequest, CompareManagementModelsResponse, CreateReturnRequest,
    DifferenceVerdict, ExportReturnsRequest, ImportCatalogueRequest, ManagementModel, PiReturn,
    QueryReturnsRequest, ReturnStatus, SetValuesRequest, SubmitReturnRequest, ValueInput,
};
use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use tonic::transport::Channel;

#[derive(Subcommand)]
pub enum PiCommand {
    /// Stream every return you may see for a year to CSV or Parquet (stdout, or --out FILE).
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
        #[arg(long, visible_alias = "output")]
        out: Option<std::path::PathBuf>,
        #[command(flatten)]
        target: Target,
    },
    /// Record the values in FILE.csv on a return and submit it.
    ///
    /// The file has a header naming its columns: indicator_code, split, value, numerator,
    /// denominator, explanation (any order; empty cells are absent). A file saved by Excel as
    /// CSV reads as it is.
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
        target: Target,
    },
    /// Compare councils whose homes an ALMO managed in a year with councils managing in-house:
    /// per measure, councils and homes in each group, median and quartiles, the homes-weighted
    /// mean and the difference with its 95% confidence interval; cost per home beside it.
    Compare {
        /// Financial year: 2024/25 or 2024.
        #[arg(long)]
        year: String,
        /// Only this measure, e.g. TP01 (cost per home is always shown).
        #[arg(long)]
        measure: Option<String>,
        /// The split compared, e.g. lcra; the headline figure when absent.
        #[arg(long)]
        split: Option<String>,
        /// The bootstrap's seed (the same seed gives the same interval).
        #[arg(long)]
        seed: Option<u64>,
        /// Bootstrap resamples (default 2,000).
        #[arg(long)]
        resamples: Option<i32>,
        #[command(flatten)]
        target: Target,
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
        target: Target,
    },
}

pub async fn run_catalogue(cmd: CatalogueCommand) -> anyhow::Result<()> {
    let CatalogueCommand::Import { file, target } = cmd;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let defs = almo_pi_returns::domain::catalogue::parse_catalogue(&text)
        .map_err(|why| BadInput::new(None, file.display().to_string(), why))?;
    let done = client(&target)
        .await?
        .import_catalogue(
            target.request(ImportCatalogueRequest {
                // The same file imported twice is the same request: a retry replays the answer.
                request_id: format!("catalogue-{:016x}", fnv1a(text.as_bytes())),
                indicators: defs
                    .iter()
                    .map(almo_pi_returns::definition_to_proto)
                    .collect(),
            })?,
        )
        .await
        .map_err(refusal)?
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
    /// The Flight dataset pi.values (one row per figure), read over Flight.
    Parquet,
}

async fn client(target: &Target) -> anyhow::Result<PiReturnsServiceClient<Channel>> {
    Ok(PiReturnsServiceClient::new(target.channel().await?))
}

/// The financial year of `--year`: "2003/04" or "2003" -> 2003.
fn year_flag(s: &str) -> Result<i32, BadInput> {
    almo_fields::financial_year(s).map_err(|why| BadInput::new(None, "year", why))
}

/// The period of `--quarter`, or the whole year.
fn period_flags(year: i32, quarter: Option<i32>) -> Result<Period, BadInput> {
    let (kind, number) = match quarter {
        Some(q) => (
            PeriodKind::Quarter,
            almo_fields::period_number(almo_fields::PeriodKind::Quarter, q)
                .map_err(|why| BadInput::new(None, "quarter", why))? as i32,
        ),
        None => (PeriodKind::Year, 1),
    };
    Ok(Period {
        year: Some(FinancialYear { start_year: year }),
        kind: kind as i32,
        number,
    })
}

pub async fn run(cmd: PiCommand) -> anyhow::Result<()> {
    match cmd {
        PiCommand::Compare {
            year,
            measure,
            split,
            seed,
            resamples,
            target,
        } => {
            let year = year_flag(&year)?;
            let answer = client(&target)
                .await?
                .compare_management_models(target.request(CompareManagementModelsRequest {
                    year: Some(FinancialYear { start_year: year }),
                    indicator_code: measure.unwrap_or_default(),
                    split: split.unwrap_or_default(),
                    seed,
                    resamples: resamples.unwrap_or(0),
                })?)
                .await
                .map_err(refusal)?
                .into_inner();
            print!("{}", comparison_table(&answer));
            Ok(())
        }
        PiCommand::Export {
            year,
            format: Format::Parquet,
            indicator,
            authority_type,
            out,
            target,
        } => {
            let filters = [("indicator", indicator), ("authority_type", authority_type)];
            let ticket = crate::bulk::ticket("pi.values", year_flag(&year)?, filters);
            crate::bulk::write_parquet(&target, &ticket, out.as_deref()).await
        }
        PiCommand::Export {
            year,
            format: Format::Csv,
            indicator,
            authority_type,
            out,
            target,
        } => {
            let year = year_flag(&year)?;
            let mut stream = client(&target)
                .await?
                .export_returns(target.request(ExportReturnsRequest {
                    year: Some(FinancialYear { start_year: year }),
                    indicator_code: indicator.unwrap_or_default(),
                    authority_type: authority_type.unwrap_or_default(),
                    ..Default::default()
                })?)
                .await
                .map_err(refusal)?
                .into_inner();
            let sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut csv = csv::writer(sink);
            csv.write_record(CSV_HEADER)?;
            let started = Instant::now();
            let (mut returns, mut values) = (0u64, 0u64);
            let mut bar = None;
            while let Some(batch) = stream.message().await.map_err(refusal)? {
                let bar = bar.get_or_insert_with(|| {
                    progress(Some(batch.total_returns.max(0) as u64), "returns")
                });
                for r in &batch.pi_returns {
                    for record in csv_records(r) {
                        csv.write_record(&record)?;
                        values += 1;
                    }
                    returns += 1;
                }
                bar.inc(batch.pi_returns.len() as u64);
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            csv.flush()?;
            eprintln!(
                "{returns} returns, {values} values exported in {:.1} s",
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
            target,
        } => {
            let period = period_flags(year_flag(&year)?, quarter)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let values = parse_values(&bytes)?;
            let mut client = client(&target).await?;
            let existing = client
                .query_returns(target.request(QueryReturnsRequest {
                    organisation_id: org.clone(),
                    year: period.year,
                    period_kind: period.kind,
                    period_number: period.number,
                    ..Default::default()
                })?)
                .await
                .map_err(refusal)?
                .into_inner()
                .pi_returns
                .into_iter()
                .next();
            let ret = match existing {
                Some(r) => r,
                None => client
                    .create_return(target.request(CreateReturnRequest {
                        request_id: uuid::Uuid::new_v4().to_string(),
                        organisation_id: org.clone(),
                        period: Some(period),
                    })?)
                    .await
                    .map_err(refusal)?
                    .into_inner()
                    .pi_return
                    .context("no return in the reply")?,
            };
            let count = values.len();
            let ret = client
                .set_values(target.request(SetValuesRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    return_id: ret.id.clone(),
                    etag: ret.etag.clone(),
                    values: values.values.clone(),
                    survey: None,
                })?)
                .await
                .map_err(|s| values.refusal(s))?
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
                .submit_return(target.request(SubmitReturnRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    return_id: ret.id.clone(),
                    etag: ret.etag.clone(),
                })?)
                .await
                .map_err(refusal)?
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

/// A figure to `places` decimals, or a dash.
fn fig(v: Option<f64>, places: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.places$}"))
}

/// The comparison as a table: one line per measure, cost per home last, then the groups and the
/// method.
pub fn comparison_table(r: &CompareManagementModelsResponse) -> String {
    use std::fmt::Write as _;
    let year = r
        .year
        .map(|y| almo_fields::financial_year_label(y.start_year))
        .unwrap_or_default();
    let almo_councils = r
        .councils
        .iter()
        .filter(|c| c.model == ManagementModel::Almo as i32)
        .count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{year}: ALMO-managed ({almo_councils} councils) against in-house ({} councils); 95% \
         interval from {} bootstrap resamples, seed {}",
        r.councils.len() - almo_councils,
        r.resamples,
        r.seed
    );
    let header = [
        "measure", "group", "orgs", "homes", "q1", "median", "q3", "wtd mean", "diff", "95% CI",
        "verdict",
    ];
    let mut rows: Vec<[String; 11]> = Vec::new();
    for m in r.measures.iter().chain(r.cost_per_home.iter()) {
        let Some(def) = &m.indicator else { continue };
        let places = (def.precision + 1).max(0) as usize;
        let verdict = match DifferenceVerdict::try_from(m.verdict) {
            Ok(DifferenceVerdict::AlmoBetter) => "ALMO better",
            Ok(DifferenceVerdict::InHouseBetter) => "in-house better",
            Ok(DifferenceVerdict::NoClearDifference) => "no clear difference",
            Ok(DifferenceVerdict::NotRanked) => "context",
            Ok(DifferenceVerdict::TooFew) => "too few",
            _ => "?",
        };
        for (i, (name, g)) in [("ALMO", &m.almo), ("in-house", &m.in_house)]
            .into_iter()
            .enumerate()
        {
            let g = g.unwrap_or_default();
            let first = i == 0;
            rows.push([
                if first {
                    def.code.clone()
                } else {
                    String::new()
                },
                name.into(),
                g.organisations.to_string(),
                g.homes.to_string(),
                fig(g.q1, places),
                fig(g.median, places),
                fig(g.q3, places),
                fig(g.weighted_mean, places),
                if first {
                    fig(m.difference, places)
                } else {
                    String::new()
                },
                match (first, m.difference_lower, m.difference_upper) {
                    (true, Some(lo), Some(hi)) => format!("{lo:.places$} to {hi:.places$}"),
                    (true, ..) => "-".into(),
                    _ => String::new(),
                },
                if first { verdict.into() } else { String::new() },
            ]);
        }
    }
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Text columns to the left, figures to the right.
            if i < 2 || i == 10 {
                let _ = write!(l, "{cell:<w$}  ");
            } else {
                let _ = write!(l, "{cell:>w$}  ");
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&header.map(String::from)));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row));
    }
    let _ = writeln!(
        out,
        "diff: ALMO minus in-house of the homes-weighted means."
    );
    out
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

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// One CSV record per current value of a return.
fn csv_records(r: &PiReturn) -> Vec<[String; 15]> {
    let period = r.period.as_ref();
    let year = period
        .and_then(|p| p.year.as_ref())
        .map(|y| almo_fields::financial_year_label(y.start_year))
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
                r.id.clone(),
                r.organisation_id.clone(),
                year.clone(),
                label.clone(),
                status.clone(),
                r.late.to_string(),
                r.signed_off_by.clone(),
                v.indicator_code.clone(),
                v.split.clone(),
                v.value.to_string(),
                opt(v.numerator),
                opt(v.denominator),
                v.warnings.join("; "),
                v.explanation.clone(),
                v.changed_by.clone(),
            ]
        })
        .collect()
}

/// The values of a submission file, each with the line of the file it was read from.
#[derive(Debug)]
pub struct Submission {
    pub values: Vec<ValueInput>,
    pub lines: Vec<usize>,
}

impl Deref for Submission {
    type Target = [ValueInput];

    fn deref(&self) -> &[ValueInput] {
        &self.values
    }
}

impl Submission {
    /// A refusal of SetValues, each `values[i]` named by the line of the file it came from.
    fn refusal(&self, status: tonic::Status) -> anyhow::Error {
        let e = refusal(status);
        match e.downcast::<Refused>() {
            Ok(mut refused) => {
                for (field, _) in &mut refused.violations {
                    if let Some(line) = self.line_of(field) {
                        *field = line;
                    }
                }
                refused.into()
            }
            Err(e) => e,
        }
    }

    /// `values[3].value` -> `line 5 (value)`.
    fn line_of(&self, field: &str) -> Option<String> {
        let (i, rest) = field.strip_prefix("values[")?.split_once(']')?;
        let line = self.lines.get(i.parse::<usize>().ok()?)?;
        Some(match rest.trim_start_matches('.') {
            "" => format!("line {line}"),
            field => format!("line {line} ({field})"),
        })
    }
}

/// The values of a submission file (CSV as a spreadsheet saves it: a byte-order mark, CRLF,
/// quoted commas and line breaks all read).
pub fn parse_values(bytes: impl AsRef<[u8]>) -> Result<Submission, BadInput> {
    let table = csv::read(bytes.as_ref())?;
    let code = table.require("indicator_code")?;
    let [split, value, num, den, expl] =
        ["split", "value", "numerator", "denominator", "explanation"].map(|c| table.column(c));
    let mut out = Submission {
        values: Vec::new(),
        lines: Vec::new(),
    };
    for row in &table.rows {
        let cell = |c: Option<usize>| c.map(|c| row.get(c)).unwrap_or("");
        let number = |c: Option<usize>, field: &str| match cell(c) {
            "" => Ok(None),
            s => almo_fields::number(s)
                .map(Some)
                .map_err(|why| BadInput::new(Some(row.line), field, why)),
        };
        out.values.push(ValueInput {
            indicator_code: cell(Some(code)).to_string(),
            split: cell(split).to_string(),
            value: number(value, "value")?,
            numerator: number(num, "numerator")?,
            denominator: number(den, "denominator")?,
            unit: 0,
            explanation: cell(expl).to_string(),
        });
        out.lines.push(row.line);
    }
    if out.values.is_empty() {
        return Err(BadInput::new(
            None,
            "file",
            "the file has a header but no values",
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "pi_tests.rs"]
mod tests;
