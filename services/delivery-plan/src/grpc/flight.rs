//! The Flight dataset `delivery_plan.variances`: every variance figure ever recorded (each
//! revision, superseded ones marked) on the plans the caller may see — the plans ListPlans
//! lists for it, a named plan as GetPlan would give it. Its schema is also what
//! `almo variances export --format parquet` writes.

use std::sync::Arc;

use almo_db::entity::{dp_plan, dp_variance};
use almo_fields as fields;
use almo_flight::{BATCH_ROWS, Batches, Dataset, Ticket};
use almo_server::{AppError, Principal, ServiceContext, Violations};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::StreamExt;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::DeliveryPlans;
use super::access::visibility;
use super::convert::variance_period;
use crate::storage;

/// The datasets of the delivery-plan service.
pub fn datasets(ctx: &ServiceContext) -> Vec<Arc<dyn Dataset>> {
    vec![Arc::new(Variances {
        plans: DeliveryPlans::new(ctx.clone()),
        ctx: ctx.clone(),
    })]
}

/// The schema of `delivery_plan.variances`.
pub fn variances_schema() -> SchemaRef {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        utf8("plan_id"),
        utf8("council_id"),
        utf8("almo_id"),
        utf8("sender_record_id"),
        Field::new("revision", DataType::Int32, false),
        Field::new("superseded", DataType::Boolean, false),
        utf8("target_code"),
        utf8("year"),
        utf8("period"),
        Field::new("actual", DataType::Float64, false),
        Field::new("forecast", DataType::Float64, true),
        utf8("commentary"),
        utf8("recorded_by"),
        Field::new(
            "recorded_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// `delivery_plan.variances`.
struct Variances {
    plans: DeliveryPlans,
    ctx: ServiceContext,
}

/// What a ticket selects: the plans (with their council and ALMO) and the year.
struct Selection {
    plans: Vec<dp_plan::Model>,
    year: Option<i32>,
}

impl Variances {
    async fn select(&self, p: &Principal, t: &Ticket) -> Result<Selection, AppError> {
        let mut v = Violations::new();
        let year = t
            .get("year")
            .and_then(|y| v.field("year", fields::financial_year(y)));
        let organisation = t
            .get("organisation")
            .and_then(|o| v.field("organisation", fields::id(o)).map(String::from));
        v.into_result()?;
        let plans = match t.get("plan") {
            // As GetPlan: another's plan is PERMISSION_DENIED.
            Some(plan) => vec![self.plans.visible_plan(p, plan).await?],
            None => {
                storage::list_plans(
                    self.ctx.read_db().conn(),
                    &visibility(p),
                    None,
                    None,
                    None,
                    i64::MAX as u64,
                )
                .await?
            }
        };
        let plans = plans
            .into_iter()
            .filter(|plan| {
                organisation
                    .as_ref()
                    .is_none_or(|o| plan.council_id == *o || plan.almo_id == *o)
            })
            .collect();
        Ok(Selection { plans, year })
    }

    fn query(s: &Selection) -> sea_orm::Select<dp_variance::Entity> {
        use dp_variance::Column as C;
        let mut q = dp_variance::Entity::find()
            .filter(C::PlanId.is_in(s.plans.iter().map(|p| p.id.clone())));
        if let Some(y) = s.year {
            q = q.filter(C::Year.eq(y));
        }
        q
    }
}

/// One batch of variance rows.
fn batch(plans: &[dp_plan::Model], rows: &[dp_variance::Model]) -> Result<RecordBatch, AppError> {
    let n = rows.len();
    let s = || StringBuilder::with_capacity(n, n * 8);
    let (mut plan, mut council, mut almo, mut record) = (s(), s(), s(), s());
    let (mut code, mut year, mut period, mut commentary, mut by) = (s(), s(), s(), s(), s());
    let mut revision = Int32Builder::with_capacity(n);
    let mut superseded = BooleanBuilder::with_capacity(n);
    let (mut actual, mut forecast) = (
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
    );
    let mut at = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    for r in rows {
        let owner = plans
            .iter()
            .find(|p| p.id == r.plan_id)
            .ok_or_else(|| AppError::Internal(format!("variance {} of an unread plan", r.id)))?;
        plan.append_value(&r.plan_id);
        council.append_value(&owner.council_id);
        almo.append_value(&owner.almo_id);
        record.append_value(&r.sender_record_id);
        revision.append_value(r.revision);
        superseded.append_value(r.superseded);
        code.append_value(&r.target_code);
        year.append_value(fields::financial_year_label(r.year));
        let label = variance_period(r)?.label();
        period.append_value(label.rsplit(' ').next().unwrap_or(&label));
        actual.append_value(r.actual);
        forecast.append_option(r.forecast);
        commentary.append_value(&r.commentary);
        by.append_value(&r.recorded_by);
        at.append_value(r.recorded_at.timestamp_micros());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(plan.finish()),
        Arc::new(council.finish()),
        Arc::new(almo.finish()),
        Arc::new(record.finish()),
        Arc::new(revision.finish()),
        Arc::new(superseded.finish()),
        Arc::new(code.finish()),
        Arc::new(year.finish()),
        Arc::new(period.finish()),
        Arc::new(actual.finish()),
        Arc::new(forecast.finish()),
        Arc::new(commentary.finish()),
        Arc::new(by.finish()),
        Arc::new(at.finish()),
    ];
    RecordBatch::try_new(variances_schema(), columns)
        .map_err(|e| AppError::Internal(format!("building a variances batch: {e}")))
}

#[tonic::async_trait]
impl Dataset for Variances {
    fn name(&self) -> &'static str {
        "delivery_plan.variances"
    }

    fn schema(&self) -> SchemaRef {
        variances_schema()
    }

    fn filters(&self) -> &'static [&'static str] {
        &["plan", "year", "organisation"]
    }

    fn allowed(&self, _: &Principal) -> bool {
        // As ListPlans: each caller sees the plans its visibility gives it.
        true
    }

    async fn count(&self, p: &Principal, ticket: &Ticket) -> Result<u64, AppError> {
        let s = self.select(p, ticket).await?;
        if s.plans.is_empty() {
            return Ok(0);
        }
        Ok(Self::query(&s).count(self.ctx.read_db().conn()).await?)
    }

    async fn stream(&self, p: &Principal, ticket: &Ticket) -> Result<Batches, AppError> {
        use dp_variance::Column as C;
        let s = self.select(p, ticket).await?;
        let db = self.ctx.read_db().clone();
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            if s.plans.is_empty() {
                return;
            }
            let mut after = 0i64;
            loop {
                let rows = Variances::query(&s)
                    .filter(C::Id.gt(after))
                    .order_by_asc(C::Id)
                    .limit(BATCH_ROWS as u64)
                    .all(db.conn())
                    .await;
                let rows = match rows {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(AppError::from(e))).await;
                        return;
                    }
                };
                let Some(last) = rows.last() else { return };
                after = last.id;
                let full = rows.len() == BATCH_ROWS;
                if tx.send(batch(&s.plans, &rows)).await.is_err() || !full {
                    return;
                }
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx).boxed())
    }
}
