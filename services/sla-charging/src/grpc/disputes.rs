//! Disputes: the ALMO disputes an invoice line; the council credits or rejects it.

use almo_auth::Role;
use almo_db::entity::sla_dispute;
use almo_db::lock::LockKind;
use almo_fields as fields;
use almo_proto::sla_charging as pb;
use almo_server::{AppError, Violations};
use chrono::Utc;
use tonic::Request;

use super::access::{denied, require_supplier, reread_invoice, visibility, visible_invoice};
use super::convert::{dispute_to_proto, next_page_token, page_request, pence};
use super::invoices::{checked_credits, credit};
use super::{SlaCharging, check_etag};
use crate::domain::dispute::{DisputeStatus, Resolution, may_dispute, resolve};
use crate::storage::{self, Visibility};

impl SlaCharging {
    pub(super) async fn dispute_invoice_line(
        &self,
        request: Request<pb::DisputeInvoiceLineRequest>,
    ) -> Result<pb::DisputeInvoiceLineResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = v.field("invoice_id", fields::id(&r.invoice_id));
        v.check(
            r.invoice_line_number < 1,
            "invoice_line_number",
            "the line disputed, 1 or more",
        );
        v.check(
            r.reason.trim().chars().count() < 10 || r.reason.chars().count() > 2000,
            "reason",
            "why the line is disputed: 10 to 2000 characters",
        );
        v.into_result()?;
        let id = id.expect("checked");
        let vis = visibility(&p)?;
        // Disputing is a finance decision of the ALMO.
        if !matches!(vis, Visibility::Customer(_)) || p.caller.role != Role::AlmoFinance {
            return Err(AppError::PermissionDenied(
                "only the invoiced ALMO's finance team disputes an invoice line".into(),
            ));
        }
        self.write(&p, "DisputeInvoiceLine", &r.request_id, r, async |txn| {
            visible_invoice(txn, &p, &vis, id).await?;
            // The invoice (rank 3, almo_db::lock) before looking for an open dispute of the line:
            // a second dispute of it, on any replica, waits here and then finds this one.
            almo_db::lock::lock_row(txn, LockKind::Invoice, id).await?;
            let rows = reread_invoice(txn, id).await?;
            let line = r.invoice_line_number;
            if !rows.lines.iter().any(|l| l.line_number == line) {
                return Err(AppError::invalid(
                    "invoice_line_number",
                    format!("the invoice has no line {line}"),
                ));
            }
            let existing: Vec<DisputeStatus> = storage::disputes_of_line(txn, id, line)
                .await?
                .iter()
                .filter_map(|d| DisputeStatus::parse(&d.status))
                .collect();
            may_dispute(&existing)?;
            let now = Utc::now();
            let d = sla_dispute::Model {
                id: format!(
                    "dsp-{}-{}",
                    now.format("%Y%m%d%H%M%S%6f"),
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                ),
                invoice_id: id.to_string(),
                invoice_line_number: line,
                supplier_council_id: rows.invoice.supplier_council_id.clone(),
                customer_almo_id: rows.invoice.customer_almo_id.clone(),
                reason: r.reason.trim().to_string(),
                status: DisputeStatus::Open.as_str().into(),
                raised_by: p.caller.subject.clone(),
                raised_at: now,
                response: None,
                credit_note_id: None,
                resolved_at: None,
                row_version: 1,
            };
            storage::insert_dispute(txn, d.clone()).await?;
            let resp = pb::DisputeInvoiceLineResponse {
                dispute: Some(dispute_to_proto(&d)),
            };
            Ok((resp, format!("slaDisputes/{}", d.id)))
        })
        .await
    }

    pub(super) async fn resolve_dispute(
        &self,
        request: Request<pb::ResolveDisputeRequest>,
    ) -> Result<pb::ResolveDisputeResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = v.field("dispute_id", fields::id(&r.dispute_id));
        v.require_etag(&r.etag, "the dispute's etag as read");
        let resolution = match pb::DisputeResolution::try_from(r.resolution) {
            Ok(pb::DisputeResolution::Credit) => Some(Resolution::Credit),
            Ok(pb::DisputeResolution::Reject) => Some(Resolution::Reject),
            _ => {
                v.add(
                    "resolution",
                    "DISPUTE_RESOLUTION_CREDIT or DISPUTE_RESOLUTION_REJECT",
                );
                None
            }
        };
        let credit_net = match resolution {
            Some(Resolution::Credit) => Some(pence(&mut v, "credit_net", &r.credit_net)),
            _ => {
                v.check(
                    r.credit_net.is_some(),
                    "credit_net",
                    "only for DISPUTE_RESOLUTION_CREDIT",
                );
                None
            }
        };
        v.into_result()?;
        let (id, resolution) = (id.expect("checked"), resolution.expect("checked"));
        let vis = visibility(&p)?;
        self.write(&p, "ResolveDispute", &r.request_id, r, async |txn| {
            let resource = format!("slaDisputes/{id}");
            // The dispute's council and invoice (which never change), to lock in the one order
            // (almo_db::lock): a credit takes the council's counter and the invoice, then the
            // dispute; a rejection only the dispute. Then read it as it now stands.
            let seen = storage::get_dispute(txn, id)
                .await?
                .filter(|d| match &vis {
                    Visibility::Supplier(c) => d.supplier_council_id == *c,
                    Visibility::Customer(a) => d.customer_almo_id == *a,
                })
                .ok_or_else(|| denied(&p, &format!("dispute {id:?}")))?;
            require_supplier(&p, &seen.supplier_council_id)?;
            if credit_net.is_some() {
                storage::lock_council(txn, &seen.supplier_council_id).await?;
                almo_db::lock::lock_row(txn, LockKind::Invoice, &seen.invoice_id).await?;
            }
            almo_db::lock::lock_row(txn, LockKind::Dispute, id).await?;
            let mut d = storage::get_dispute(txn, id)
                .await?
                .ok_or_else(|| AppError::Internal(format!("dispute {id:?} vanished")))?;
            check_etag(&r.etag, d.row_version, &resource)?;
            let status = DisputeStatus::parse(&d.status)
                .ok_or_else(|| AppError::Internal(format!("dispute status {:?}", d.status)))?;
            let next = resolve(status, resolution, &r.response)?;
            let now = Utc::now();
            let mut credit_note = None;
            if let Some(net) = credit_net {
                let rows = reread_invoice(txn, &d.invoice_id).await?;
                // The request names the one credited amount `credit_net`.
                let field = |_, f: &str| if f == "net" { "credit_net" } else { f }.to_string();
                let requested = [(d.invoice_line_number, net)];
                let lines = checked_credits(txn, &rows, &requested, field).await?;
                let credited = credit(txn, &rows, r.response.trim(), &lines, now).await?;
                credit_note = credited.note;
                d.credit_note_id = Some(credited.note_id);
            }
            let expected = d.row_version;
            d.status = next.as_str().into();
            d.response = Some(r.response.trim().to_string());
            d.resolved_at = Some(now);
            d.row_version += 1;
            if !storage::resolve_dispute(txn, &d, expected).await? {
                return Err(AppError::stale_etag(&resource));
            }
            let resp = pb::ResolveDisputeResponse {
                dispute: Some(dispute_to_proto(&d)),
                credit_note,
            };
            Ok((resp, resource))
        })
        .await
    }

    pub(super) async fn list_disputes(
        &self,
        request: Request<pb::ListDisputesRequest>,
    ) -> Result<pb::ListDisputesResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let page = page_request(&mut v, r.page_size, &r.page_token);
        let status = match pb::DisputeStatus::try_from(r.status) {
            Ok(pb::DisputeStatus::Unspecified) => None,
            Ok(pb::DisputeStatus::Open) => Some(DisputeStatus::Open.as_str()),
            Ok(pb::DisputeStatus::Credited) => Some(DisputeStatus::Credited.as_str()),
            Ok(pb::DisputeStatus::Rejected) => Some(DisputeStatus::Rejected.as_str()),
            Err(_) => {
                v.add("status", "not a DisputeStatus");
                None
            }
        };
        v.into_result()?;
        let page = page.expect("checked");
        let conn = self.ctx.db.conn();
        let mut rows =
            storage::list_disputes(conn, &vis, status, page.after, page.size + 1).await?;
        let next_page_token = next_page_token(&mut rows, page.size, |d| &d.id);
        Ok(pb::ListDisputesResponse {
            disputes: rows.iter().map(dispute_to_proto).collect(),
            next_page_token,
        })
    }
}
