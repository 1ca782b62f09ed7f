//! `pi.benchmarks`: the quartiles of every indicator in force in a year (headline figures), per
//! authority type or for one peer group, each computed by `GetBenchmark` itself for the caller,
//! so the dataset holds exactly what that RPC answers.

use std::sync::Arc;

use almo_fields as fields;
use almo_flight::{Batches, Dataset, Ticket};
use almo_proto::common::FinancialYear;
use almo_proto::pi_returns as pb;
use almo_server::{AppError, Principal, ServiceContext, Violations};
use arrow_array::builder::{Float64Builder, Int32Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::StreamExt;

use super::super::PiReturns;
use super::super::convert::check_authority_type;

/// The authority types compared when the ticket names neither a type nor a peer group.
const TYPES: [&str; 4] = ["london_borough", "metropolitan", "unitary", "district"];

/// `pi.benchmarks`.
pub struct Benchmarks {
    pi: PiReturns,
}

impl Benchmarks {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            pi: PiReturns::new(ctx.clone()),
        }
    }
}

/// The schema of `pi.benchmarks`.
pub fn benchmarks_schema() -> SchemaRef {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, false);
    let f64 = |name: &str, null: bool| Field::new(name, DataType::Float64, null);
    Arc::new(Schema::new(vec![
        utf8("indicator_code"),
        utf8("year"),
        utf8("group_kind"),
        utf8("group"),
        Field::new("count", DataType::Int32, false),
        f64("q1", false),
        f64("median", false),
        f64("q3", false),
        f64("upper_quartile", true),
        utf8("method"),
        Field::new("almos_represented_by_their_council", DataType::Int32, false),
    ]))
}

/// One answer of GetBenchmark: the indicator, the group's kind and name, the quartiles.
type Row = (String, &'static str, String, pb::GetBenchmarkResponse);

impl Benchmarks {
    /// Every benchmark the ticket selects, as GetBenchmark answers the caller.
    async fn rows(&self, p: &Principal, t: &Ticket) -> Result<(i32, Vec<Row>), AppError> {
        let mut v = Violations::new();
        let year = match t.get("year") {
            Some(y) => v.field("year", fields::financial_year(y)),
            None => {
                v.add("year", "required, e.g. 2024/25");
                None
            }
        };
        if let Some(a) = t.get("authority_type") {
            check_authority_type(&mut v, a);
        }
        if t.get("authority_type").is_some() && t.get("peer_group").is_some() {
            v.add(
                "peer_group",
                "give either an authority type or a peer group, not both",
            );
        }
        v.into_result()?;
        let year = year.expect("checked above");
        let groups: Vec<(&'static str, String)> =
            match (t.get("authority_type"), t.get("peer_group")) {
                (Some(a), _) => vec![("authority_type", a.to_string())],
                (None, Some(g)) => vec![("peer_group", g.to_string())],
                (None, None) => TYPES
                    .iter()
                    .map(|a| ("authority_type", a.to_string()))
                    .collect(),
            };
        let codes: Vec<String> = match t.get("indicator") {
            Some(code) => vec![code.to_string()],
            None => {
                let mut codes: Vec<String> = self
                    .pi
                    .catalogue()
                    .await?
                    .into_iter()
                    .filter(|d| d.in_force(year))
                    .map(|d| d.code)
                    .collect();
                codes.sort();
                codes.dedup();
                codes
            }
        };
        let mut rows = Vec::new();
        for code in &codes {
            for (kind, group) in &groups {
                let msg = pb::GetBenchmarkRequest {
                    indicator_code: code.clone(),
                    year: Some(FinancialYear { start_year: year }),
                    authority_type: if *kind == "authority_type" {
                        group.clone()
                    } else {
                        String::new()
                    },
                    peer_group_id: if *kind == "peer_group" {
                        group.clone()
                    } else {
                        String::new()
                    },
                    split: String::new(),
                };
                let mut request = tonic::Request::new(msg);
                request.extensions_mut().insert(p.caller.clone());
                match self.pi.get_benchmark(request).await {
                    Ok(answer) => rows.push((code.clone(), *kind, group.clone(), answer)),
                    // A group with no signed-off figures has no quartiles: no row.
                    Err(AppError::FailedPrecondition {
                        reason: "NO_SIGNED_OFF_VALUES",
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok((year, rows))
    }
}

fn batch(year: i32, rows: &[Row]) -> Result<RecordBatch, AppError> {
    let n = rows.len();
    let s = || StringBuilder::with_capacity(n, n * 8);
    let (mut code, mut y, mut kind, mut group, mut method) = (s(), s(), s(), s(), s());
    let (mut count, mut represented) = (
        Int32Builder::with_capacity(n),
        Int32Builder::with_capacity(n),
    );
    let f = || Float64Builder::with_capacity(n);
    let (mut q1, mut median, mut q3, mut upper) = (f(), f(), f(), f());
    let label = fields::financial_year_label(year);
    for (c, k, g, a) in rows {
        code.append_value(c);
        y.append_value(&label);
        kind.append_value(k);
        group.append_value(g);
        count.append_value(a.count);
        q1.append_value(a.q1);
        median.append_value(a.median);
        q3.append_value(a.q3);
        upper.append_option(a.upper_quartile);
        method.append_value(&a.method);
        represented.append_value(a.almos_represented_by_their_council);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(code.finish()),
        Arc::new(y.finish()),
        Arc::new(kind.finish()),
        Arc::new(group.finish()),
        Arc::new(count.finish()),
        Arc::new(q1.finish()),
        Arc::new(median.finish()),
        Arc::new(q3.finish()),
        Arc::new(upper.finish()),
        Arc::new(method.finish()),
        Arc::new(represented.finish()),
    ];
    RecordBatch::try_new(benchmarks_schema(), columns)
        .map_err(|e| AppError::Internal(format!("building a pi.benchmarks batch: {e}")))
}

#[tonic::async_trait]
impl Dataset for Benchmarks {
    fn name(&self) -> &'static str {
        "pi.benchmarks"
    }

    fn schema(&self) -> SchemaRef {
        benchmarks_schema()
    }

    fn filters(&self) -> &'static [&'static str] {
        &["year", "indicator", "authority_type", "peer_group"]
    }

    fn allowed(&self, _: &Principal) -> bool {
        // As GetBenchmark: everyone; the positions it names are not in the dataset.
        true
    }

    async fn count(&self, p: &Principal, ticket: &Ticket) -> Result<u64, AppError> {
        Ok(self.rows(p, ticket).await?.1.len() as u64)
    }

    async fn stream(&self, p: &Principal, ticket: &Ticket) -> Result<Batches, AppError> {
        let (year, rows) = self.rows(p, ticket).await?;
        Ok(futures::stream::iter([batch(year, &rows)]).boxed())
    }
}
