//! The Flight dataset `sla.invoice_lines`: the ledger rows of the invoice feed after a watermark
//! (one per invoice line, credit-note lines negative), exactly as `almo invoices pull` writes
//! them, read through the same feed and access as ExportInvoices. Its schema and batches are
//! also what `almo invoices pull --format parquet` writes.

use std::sync::Arc;

use almo_flight::{Batches, Dataset, Ticket};
use almo_server::{AppError, Principal, ServiceContext};
use arrow_array::builder::{Date32Builder, Int32Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::StreamExt;

use super::SlaCharging;
use super::access::visibility;
use super::convert::watermark;
use super::feed::feed_page;
use crate::pull::{COLUMNS, Row, rows_of};

/// Feed entries read per batch.
const ENTRIES_PER_BATCH: u64 = 500;

/// The datasets of the SLA charging service.
pub fn datasets(ctx: &ServiceContext) -> Vec<Arc<dyn Dataset>> {
    vec![Arc::new(InvoiceLines {
        service: SlaCharging::new(ctx.clone()),
        ctx: ctx.clone(),
    })]
}

/// The Arrow type of each ledger column (the pull's columns, in its order).
fn column_type(name: &str) -> DataType {
    match name {
        "feed_position" | "net_pence" | "vat_pence" | "gross_pence" | "unit_price_pence" => {
            DataType::Int64
        }
        "line_number" => DataType::Int32,
        "issue_date" => DataType::Date32,
        // quantity stays a decimal string, exact to the thousandth as the invoice has it.
        _ => DataType::Utf8,
    }
}

/// The schema of `sla.invoice_lines` and of the pull's Parquet file.
pub fn invoice_lines_schema() -> SchemaRef {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|c| Field::new(*c, column_type(c), *c == "issue_date"))
            .collect::<Vec<_>>(),
    ))
}

/// Ledger rows as one record batch of [`invoice_lines_schema`].
pub fn invoice_lines_batch(rows: &[Row]) -> Result<RecordBatch, AppError> {
    let bad = |c: &str, v: &str| AppError::Internal(format!("ledger {c} {v:?} is not its type"));
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(COLUMNS.len());
    for (i, c) in COLUMNS.iter().enumerate() {
        let cells = rows.iter().map(|r| r[i].as_str());
        columns.push(match column_type(c) {
            DataType::Int64 => {
                let mut b = Int64Builder::with_capacity(rows.len());
                for v in cells {
                    b.append_value(v.parse().map_err(|_| bad(c, v))?);
                }
                Arc::new(b.finish())
            }
            DataType::Int32 => {
                let mut b = Int32Builder::with_capacity(rows.len());
                for v in cells {
                    b.append_value(v.parse().map_err(|_| bad(c, v))?);
                }
                Arc::new(b.finish())
            }
            DataType::Date32 => {
                let mut b = Date32Builder::with_capacity(rows.len());
                for v in cells {
                    if v.is_empty() {
                        b.append_null();
                        continue;
                    }
                    let d =
                        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad(c, v))?;
                    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
                    b.append_value((d - epoch).num_days() as i32);
                }
                Arc::new(b.finish())
            }
            _ => {
                let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
                for v in cells {
                    b.append_value(v);
                }
                Arc::new(b.finish())
            }
        });
    }
    RecordBatch::try_new(invoice_lines_schema(), columns)
        .map_err(|e| AppError::Internal(format!("building an invoice_lines batch: {e}")))
}

/// `sla.invoice_lines`.
struct InvoiceLines {
    service: SlaCharging,
    ctx: ServiceContext,
}

impl InvoiceLines {
    /// The feed the caller reads (its council's, or its own as an ALMO) and where to start.
    async fn feed(
        &self,
        p: &Principal,
        ticket: &Ticket,
    ) -> Result<(String, Option<String>, i64), AppError> {
        let vis = visibility(p)?;
        let after = watermark(ticket.get("since").unwrap_or(""))
            .map_err(|reason| AppError::invalid("since", reason))?;
        let almo = ticket.get("organisation").unwrap_or("");
        let (council, almo) = self.service.feed_of(p, &vis, almo).await?;
        Ok((council, almo, after))
    }
}

#[tonic::async_trait]
impl Dataset for InvoiceLines {
    fn name(&self) -> &'static str {
        "sla.invoice_lines"
    }

    fn schema(&self) -> SchemaRef {
        invoice_lines_schema()
    }

    fn filters(&self) -> &'static [&'static str] {
        &["since", "organisation"]
    }

    fn allowed(&self, p: &Principal) -> bool {
        visibility(p).is_ok()
    }

    async fn count(&self, p: &Principal, ticket: &Ticket) -> Result<u64, AppError> {
        let (council, almo, mut after) = self.feed(p, ticket).await?;
        let mut rows = 0;
        loop {
            let conn = self.ctx.read_db().conn();
            let page = feed_page(conn, &council, almo.as_deref(), after, ENTRIES_PER_BATCH).await?;
            rows += page
                .entries
                .iter()
                .map(|e| rows_of(e).len() as u64)
                .sum::<u64>();
            if !page.has_more {
                return Ok(rows);
            }
            after = page.watermark.parse().unwrap_or(after);
        }
    }

    async fn stream(&self, p: &Principal, ticket: &Ticket) -> Result<Batches, AppError> {
        let (council, almo, after) = self.feed(p, ticket).await?;
        let db = self.ctx.read_db().clone();
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            let mut after = after;
            loop {
                let page = feed_page(
                    db.conn(),
                    &council,
                    almo.as_deref(),
                    after,
                    ENTRIES_PER_BATCH,
                )
                .await;
                let page = match page {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let rows: Vec<Row> = page.entries.iter().flat_map(rows_of).collect();
                if !rows.is_empty() && tx.send(invoice_lines_batch(&rows)).await.is_err() {
                    return; // the client went away
                }
                if !page.has_more {
                    return;
                }
                after = page.watermark.parse().unwrap_or(after);
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx).boxed())
    }
}
