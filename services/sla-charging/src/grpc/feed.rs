//! The invoice feed ALMO finance pulls: every invoice issued and credit note raised, in the
//! council's feed order, after a watermark. ListInvoices pages it; ExportInvoices streams it.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;

use almo_fields as fields;
use almo_proto::sla_charging as pb;
use almo_server::{AppError, Principal, Violations};
use sea_orm::ConnectionTrait;
use tokio_stream::Stream;
use tonic::{Request, Status};

use super::SlaCharging;
use super::access::{denied, visibility};
use super::convert::{invoice_to_proto, watermark};
use crate::storage::{self, Visibility};

/// Feed entries per ExportInvoices message.
const EXPORT_BATCH: u64 = 500;

pub type ExportStream =
    Pin<Box<dyn Stream<Item = Result<pb::ExportInvoicesResponse, Status>> + Send>>;

impl SlaCharging {
    pub(super) async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<pb::ListInvoicesResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let size = v.field("page_size", fields::page_size(r.page_size));
        let after = v.field("watermark", watermark(&r.watermark));
        v.into_result()?;
        let (Some(size), Some(after)) = (size, after) else {
            unreachable!("violations were reported above")
        };
        let (council, almo) = self.feed_of(&p, &vis, &r.customer_almo_id).await?;
        feed_page(self.ctx.db.conn(), &council, almo.as_deref(), after, size).await
    }

    pub(super) async fn export_invoices(
        &self,
        request: Request<pb::ExportInvoicesRequest>,
    ) -> Result<ExportStream, AppError> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut after =
            watermark(&r.watermark).map_err(|reason| AppError::invalid("watermark", reason))?;
        let (council, almo) = self.feed_of(&p, &vis, &r.customer_almo_id).await?;
        let db = self.ctx.read_db().clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                let conn = db.conn();
                let page =
                    match feed_page(conn, &council, almo.as_deref(), after, EXPORT_BATCH).await {
                        Ok(page) => page,
                        Err(e) => {
                            let _ = tx.send(Err(e.into())).await;
                            return;
                        }
                    };
                if page.entries.is_empty() {
                    return;
                }
                after = page.watermark.parse().unwrap_or(after);
                let more = page.has_more;
                let batch = pb::ExportInvoicesResponse {
                    entries: page.entries,
                    watermark: page.watermark,
                };
                // The client hung up: stop reading.
                if tx.send(Ok(batch)).await.is_err() || !more {
                    return;
                }
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    /// Whose feed the caller reads: its council's, narrowed to one ALMO (always its own for an
    /// ALMO; optional, and one of its own ALMOs, for the council).
    pub(super) async fn feed_of(
        &self,
        p: &Principal,
        vis: &Visibility,
        customer_almo_id: &str,
    ) -> Result<(String, Option<String>), AppError> {
        let wanted = Some(customer_almo_id.trim().to_string()).filter(|a| !a.is_empty());
        Ok(match vis {
            Visibility::Supplier(c) => {
                if let Some(a) = &wanted {
                    match self.ctx.access.scope(a).await? {
                        Some(s) if s.council_id.as_deref() == Some(c.as_str()) => {}
                        _ => return Err(denied(p, &format!("the invoices of {a:?}"))),
                    }
                }
                (c.clone(), wanted)
            }
            Visibility::Customer(a) => {
                if wanted.as_ref().is_some_and(|w| w != a) {
                    return Err(denied(p, "another ALMO's invoices"));
                }
                let council = p
                    .org
                    .council_id
                    .clone()
                    .ok_or_else(|| AppError::Internal(format!("ALMO {a} has no council")))?;
                (council, Some(a.clone()))
            }
        })
    }
}

/// The feed entries after `after`, at most `size`, with each invoice as it stands.
pub(super) async fn feed_page(
    conn: &impl ConnectionTrait,
    council: &str,
    almo: Option<&str>,
    after: i64,
    size: u64,
) -> Result<pb::ListInvoicesResponse, AppError> {
    let mut entries = storage::feed_after(conn, council, almo, after, size + 1).await?;
    let has_more = entries.len() as u64 > size;
    entries.truncate(size as usize);
    let mut ids: Vec<String> = entries.iter().map(|e| e.invoice_id.clone()).collect();
    let mut seen = HashSet::new();
    ids.retain(|i| seen.insert(i.clone()));
    let invoices = storage::invoices_by_ids(conn, &ids).await?;
    let mut loaded: HashMap<String, pb::Invoice> = storage::load_invoices(conn, invoices)
        .await?
        .iter()
        .map(|r| Ok((r.invoice.id.clone(), invoice_to_proto(r)?)))
        .collect::<Result<_, AppError>>()?;
    // How many entries of the page show each invoice: the last one takes it, the others a copy.
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for e in &entries {
        *uses.entry(e.invoice_id.as_str()).or_default() += 1;
    }
    let shown: Vec<Option<pb::Invoice>> = entries
        .iter()
        .map(|e| {
            let n = uses.get_mut(e.invoice_id.as_str()).expect("counted above");
            *n -= 1;
            if *n == 0 {
                loaded.remove(&e.invoice_id)
            } else {
                loaded.get(&e.invoice_id).cloned()
            }
        })
        .collect();
    let watermark = entries
        .last()
        .map(|e| e.position)
        .unwrap_or(after)
        .to_string();
    Ok(pb::ListInvoicesResponse {
        entries: entries
            .into_iter()
            .zip(shown)
            .map(|(e, invoice)| pb::InvoiceFeedEntry {
                position: e.position,
                kind: match e.kind.as_str() {
                    "invoice_issued" => pb::FeedEventKind::InvoiceIssued,
                    _ => pb::FeedEventKind::CreditNoteIssued,
                } as i32,
                invoice,
                credit_note_id: e.credit_note_id.unwrap_or_default(),
            })
            .collect(),
        watermark,
        has_more,
    })
}
