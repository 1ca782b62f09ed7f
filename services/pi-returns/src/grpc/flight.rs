//! The PI returns' Flight datasets: `pi.values` (every current figure the caller may see, one row
//! per organisation × period × indicator and split) and `pi.benchmarks` (the quartiles
//! `GetBenchmark` computes). `pi.values` reads through the same visibility and filters as
//! `QueryReturns`, so a Flight read shows exactly what the query would.

mod benchmarks;

use std::sync::Arc;

use almo_db::entity::{organisation, pi_return, pi_return_value};
use almo_fields as fields;
use almo_flight::{BATCH_ROWS, Batches, Dataset, Ticket};
use almo_server::{AppError, Principal, ServiceContext, Violations};
use arrow_array::builder::{
    Float64Builder, Int32Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult, QueryTrait, StreamTrait};

use super::access::visibility;
use super::convert::check_authority_type;
use crate::storage::{self, ReturnFilter, Visibility};

/// The datasets of the PI returns service.
pub fn datasets(ctx: &ServiceContext) -> Vec<Arc<dyn Dataset>> {
    vec![
        Arc::new(PiValues { ctx: ctx.clone() }),
        Arc::new(benchmarks::Benchmarks::new(ctx)),
    ]
}

/// `pi.values`.
pub struct PiValues {
    ctx: ServiceContext,
}

const VALUE_FILTERS: &[&str] = &["year", "indicator", "authority_type", "organisation"];

/// The schema of `pi.values`.
pub fn values_schema() -> SchemaRef {
    let utf8 = |name: &str, null: bool| Field::new(name, DataType::Utf8, null);
    let f64 = |name: &str, null: bool| Field::new(name, DataType::Float64, null);
    Arc::new(Schema::new(vec![
        utf8("organisation_id", false),
        utf8("organisation_name", false),
        utf8("authority_type", true),
        utf8("ons_code", true),
        utf8("parent_council", true),
        utf8("year", false),
        utf8("period", false),
        utf8("indicator_code", false),
        utf8("split", false),
        f64("value", false),
        f64("numerator", true),
        f64("denominator", true),
        utf8("status", false),
        utf8("signed_off_by", true),
        Field::new(
            "signed_off_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("revision", DataType::Int32, false),
    ]))
}

/// The filters of a `pi.values` ticket, as `QueryReturns` takes them.
fn value_filter(t: &Ticket) -> Result<ReturnFilter, AppError> {
    let mut v = Violations::new();
    let year = t
        .get("year")
        .and_then(|y| v.field("year", fields::financial_year(y)));
    let indicator = t
        .get("indicator")
        .and_then(|c| v.field("indicator", fields::name(c)).map(String::from));
    let organisation = t
        .get("organisation")
        .and_then(|o| v.field("organisation", fields::id(o)).map(String::from));
    let authority_type = t.get("authority_type").map(String::from);
    if let Some(a) = &authority_type {
        check_authority_type(&mut v, a);
    }
    v.into_result()?;
    Ok(ReturnFilter {
        indicator_code: indicator,
        year,
        authority_type,
        organisation_id: organisation,
        ..ReturnFilter::default()
    })
}

/// The current values of the returns `visible` and `f` select, joined to their return and
/// organisation: the rows of `pi.values`, or (`count`) how many there are.
pub fn values_query(visible: &Visibility, f: &ReturnFilter, count: bool) -> SelectStatement {
    use organisation::Column as O;
    use pi_return::Column as R;
    use pi_return_value::Column as V;
    let (o, v) = (Alias::new("o"), Alias::new("v"));
    let r = pi_return::Entity;
    let mut q = storage::returns_matching(visible, f).into_query();
    q.clear_selects();
    q.join_as(
        JoinType::InnerJoin,
        pi_return_value::Entity,
        v.clone(),
        Expr::col((v.clone(), V::ReturnId)).equals((r, R::Id)),
    )
    .join_as(
        JoinType::InnerJoin,
        organisation::Entity,
        o.clone(),
        Expr::col((o.clone(), O::Id)).equals((r, R::OrganisationId)),
    )
    .and_where(Expr::col((v.clone(), V::Current)).eq(true));
    if let Some(code) = &f.indicator_code {
        q.and_where(Expr::col((v.clone(), V::IndicatorCode)).eq(code.clone()));
    }
    if count {
        q.expr(Expr::cust("COUNT(*)"));
        return q;
    }
    q.column((r, R::OrganisationId))
        .column((o.clone(), O::Name))
        .column((o.clone(), O::AuthorityType))
        .column((o.clone(), O::Kind))
        .column((o.clone(), O::CouncilId))
        .column((r, R::Year))
        .column((r, R::PeriodKind))
        .column((r, R::PeriodNumber))
        .column((v.clone(), V::IndicatorCode))
        .column((v.clone(), V::Split))
        .column((v.clone(), V::Value))
        .column((v.clone(), V::Numerator))
        .column((v.clone(), V::Denominator))
        .column((r, R::Status))
        .column((r, R::SignedOffBy))
        .column((r, R::SignedOffAt))
        .column((r, R::Revision))
        .order_by((r, R::Id), Order::Asc)
        .order_by((v.clone(), V::IndicatorCode), Order::Asc)
        .order_by((v, V::Split), Order::Asc);
    q
}

/// The columns of `pi.values` as they are filled, a batch at a time.
struct ValueColumns {
    organisation_id: StringBuilder,
    organisation_name: StringBuilder,
    authority_type: StringBuilder,
    ons_code: StringBuilder,
    parent_council: StringBuilder,
    year: StringBuilder,
    period: StringBuilder,
    indicator_code: StringBuilder,
    split: StringBuilder,
    value: Float64Builder,
    numerator: Float64Builder,
    denominator: Float64Builder,
    status: StringBuilder,
    signed_off_by: StringBuilder,
    signed_off_at: TimestampMicrosecondBuilder,
    revision: Int32Builder,
    rows: usize,
}

impl ValueColumns {
    fn new() -> Self {
        let s = || StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8);
        let f = || Float64Builder::with_capacity(BATCH_ROWS);
        Self {
            organisation_id: s(),
            organisation_name: s(),
            authority_type: s(),
            ons_code: s(),
            parent_council: s(),
            year: s(),
            period: s(),
            indicator_code: s(),
            split: s(),
            value: f(),
            numerator: f(),
            denominator: f(),
            status: s(),
            signed_off_by: s(),
            signed_off_at: TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS)
                .with_timezone("UTC"),
            revision: Int32Builder::with_capacity(BATCH_ROWS),
            rows: 0,
        }
    }

    /// Appends one row of [`values_query`].
    fn push(&mut self, row: &QueryResult) -> Result<(), sea_orm::DbErr> {
        let org: String = row.try_get_by_index(0)?;
        let kind: String = row.try_get_by_index(3)?;
        self.ons_code
            .append_option((kind == "council").then_some(org.as_str()));
        self.organisation_id.append_value(&org);
        self.organisation_name
            .append_value(row.try_get_by_index::<String>(1)?);
        self.authority_type
            .append_option(row.try_get_by_index::<Option<String>>(2)?);
        self.parent_council
            .append_option(row.try_get_by_index::<Option<String>>(4)?);
        let year: i32 = row.try_get_by_index(5)?;
        self.year.append_value(fields::financial_year_label(year));
        let kind: String = row.try_get_by_index(6)?;
        let number: i32 = row.try_get_by_index(7)?;
        self.period.append_value(match kind.as_str() {
            "quarter" => format!("Q{number}"),
            _ => "Y".to_string(),
        });
        self.indicator_code
            .append_value(row.try_get_by_index::<String>(8)?);
        self.split.append_value(row.try_get_by_index::<String>(9)?);
        self.value.append_value(row.try_get_by_index(10)?);
        self.numerator
            .append_option(row.try_get_by_index::<Option<f64>>(11)?);
        self.denominator
            .append_option(row.try_get_by_index::<Option<f64>>(12)?);
        self.status
            .append_value(row.try_get_by_index::<String>(13)?);
        self.signed_off_by
            .append_option(row.try_get_by_index::<Option<String>>(14)?);
        self.signed_off_at.append_option(
            row.try_get_by_index::<Option<DateTime<Utc>>>(15)?
                .map(|t| t.timestamp_micros()),
        );
        self.revision.append_value(row.try_get_by_index(16)?);
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch, AppError> {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.organisation_id.finish()),
            Arc::new(self.organisation_name.finish()),
            Arc::new(self.authority_type.finish()),
            Arc::new(self.ons_code.finish()),
            Arc::new(self.parent_council.finish()),
            Arc::new(self.year.finish()),
            Arc::new(self.period.finish()),
            Arc::new(self.indicator_code.finish()),
            Arc::new(self.split.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.numerator.finish()),
            Arc::new(self.denominator.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.signed_off_by.finish()),
            Arc::new(self.signed_off_at.finish()),
            Arc::new(self.revision.finish()),
        ];
        RecordBatch::try_new(values_schema(), columns)
            .map_err(|e| AppError::Internal(format!("building a pi.values batch: {e}")))
    }
}

/// Streams the rows of `stmt` (one statement, read as the database returns them) through
/// `columns`, a batch of [`BATCH_ROWS`] at a time.
fn stream_rows(db: almo_db::Db, stmt: sea_orm::Statement, mut columns: ValueColumns) -> Batches {
    // Two batches ahead: the database reads on while the client drains.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, AppError>>(2);
    tokio::spawn(async move {
        let read = async {
            let mut rows = db.conn().stream_raw(stmt).await?;
            while let Some(row) = rows.next().await {
                columns.push(&row?)?;
                if columns.rows >= BATCH_ROWS {
                    let batch = columns.finish();
                    if tx.send(batch).await.is_err() {
                        return Ok(()); // the client went away
                    }
                }
            }
            if columns.rows > 0 {
                let _ = tx.send(columns.finish()).await;
            }
            Ok::<_, sea_orm::DbErr>(())
        };
        if let Err(e) = read.await {
            let _ = tx.send(Err(AppError::from(e))).await;
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx).boxed()
}

#[tonic::async_trait]
impl Dataset for PiValues {
    fn name(&self) -> &'static str {
        "pi.values"
    }

    fn schema(&self) -> SchemaRef {
        values_schema()
    }

    fn filters(&self) -> &'static [&'static str] {
        VALUE_FILTERS
    }

    fn allowed(&self, _: &Principal) -> bool {
        // As QueryReturns: everyone, each seeing what their visibility lets them.
        true
    }

    async fn count(&self, p: &Principal, ticket: &Ticket) -> Result<u64, AppError> {
        let f = value_filter(ticket)?;
        let conn = self.ctx.read_db().conn();
        let stmt = conn
            .get_database_backend()
            .build(&values_query(&visibility(p), &f, true));
        let row = conn.query_one_raw(stmt).await?;
        let n: i64 = match row {
            Some(r) => r.try_get_by_index(0)?,
            None => 0,
        };
        Ok(n as u64)
    }

    async fn stream(&self, p: &Principal, ticket: &Ticket) -> Result<Batches, AppError> {
        let f = value_filter(ticket)?;
        let stmt = self
            .ctx
            .db
            .conn()
            .get_database_backend()
            .build(&values_query(&visibility(p), &f, false));
        Ok(stream_rows(
            self.ctx.read_db().clone(),
            stmt,
            ValueColumns::new(),
        ))
    }
}
