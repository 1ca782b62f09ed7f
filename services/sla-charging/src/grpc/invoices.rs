//! Invoices: issue a draft (it never changes after), read one, and correct an issued one with a
//! credit note.

use std::collections::{HashMap, HashSet};

use almo_fields as fields;
use almo_proto::sla_charging as pb;
use almo_server::{AppError, Violations};
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use tonic::Request;

use super::SlaCharging;
use super::access::{require_supplier, reread_invoice, visibility, visible_invoice};
use super::convert::{domain_line, invoice_to_proto, pence};
use super::refusals::issue_error;
use crate::billing;
use crate::domain::credit_note::{Amount, CreditableLine, credit_line};
use crate::domain::invoice::{InvoiceLine, InvoiceStatus, LineKind};
use crate::storage::{self, InvoiceRows};
use almo_db::lock::LockKind;

impl SlaCharging {
    pub(super) async fn issue_invoice(
        &self,
        request: Request<pb::IssueInvoiceRequest>,
    ) -> Result<pb::IssueInvoiceResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = v.field("invoice_id", fields::id(&r.invoice_id));
        v.require_etag(&r.etag, "the draft's etag as reviewed");
        v.into_result()?;
        let id = id.expect("checked");
        let vis = visibility(&p)?;
        self.write(&p, "IssueInvoice", &r.request_id, r, async |txn| {
            let seen = visible_invoice(txn, &p, &vis, id).await?;
            require_supplier(&p, &seen.invoice.supplier_council_id)?;
            // Council, then invoice (almo_db::lock); then read the invoice as it now stands.
            storage::lock_council(txn, &seen.invoice.supplier_council_id).await?;
            almo_db::lock::lock_row(txn, LockKind::Invoice, id).await?;
            let rows = reread_invoice(txn, id).await?;
            // An etag that is not one of ours matches no version: it is stale.
            let expected = fields::parse_etag(&r.etag).unwrap_or(-1);
            billing::issue(txn, &rows.invoice, expected, Utc::now())
                .await
                .map_err(|e| issue_error(e, id))?;
            let issued = reread_invoice(txn, id).await?;
            almo_telemetry::metrics::invoices_issued(1);
            let resp = pb::IssueInvoiceResponse {
                invoice: Some(invoice_to_proto(&issued)?),
            };
            Ok((resp, format!("slaInvoices/{id}")))
        })
        .await
    }

    pub(super) async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<pb::GetInvoiceResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let vis = visibility(&p)?;
        let id = fields::id(&request.get_ref().invoice_id)
            .map_err(|reason| AppError::invalid("invoice_id", reason))?;
        let rows = visible_invoice(self.ctx.db.conn(), &p, &vis, id).await?;
        Ok(pb::GetInvoiceResponse {
            invoice: Some(invoice_to_proto(&rows)?),
        })
    }

    pub(super) async fn create_credit_note(
        &self,
        request: Request<pb::CreateCreditNoteRequest>,
    ) -> Result<pb::CreateCreditNoteResponse, AppError> {
        let p = self.ctx.principal(&request).await?;
        let r = request.get_ref();
        let mut v = Violations::new();
        let id = v.field("invoice_id", fields::id(&r.invoice_id));
        v.check(
            r.reason.trim().is_empty() || r.reason.chars().count() > 2000,
            "reason",
            "required: why the invoice is being corrected, at most 2000 characters",
        );
        v.check(
            r.lines.is_empty(),
            "lines",
            "at least one invoice line to credit",
        );
        let mut requested = Vec::new();
        let mut numbers = HashSet::new();
        for (i, l) in r.lines.iter().enumerate() {
            v.check(
                !numbers.insert(l.invoice_line_number),
                &format!("lines[{i}].invoice_line_number"),
                "credits a line twice; put the whole credit in one entry",
            );
            let net = pence(&mut v, &format!("lines[{i}].net"), &l.net);
            requested.push((l.invoice_line_number, net));
        }
        v.into_result()?;
        let id = id.expect("checked");
        let vis = visibility(&p)?;
        self.write(&p, "CreateCreditNote", &r.request_id, r, async |txn| {
            let seen = visible_invoice(txn, &p, &vis, id).await?;
            require_supplier(&p, &seen.invoice.supplier_council_id)?;
            // The council's counter, then the invoice (almo_db::lock), before reading what the
            // lines have been credited: a second credit of the same line, on any replica, waits
            // here and then checks against this one's note.
            storage::lock_council(txn, &seen.invoice.supplier_council_id).await?;
            almo_db::lock::lock_row(txn, LockKind::Invoice, id).await?;
            let rows = reread_invoice(txn, id).await?;
            if InvoiceStatus::parse(&rows.invoice.status) != Some(InvoiceStatus::Issued) {
                return Err(AppError::failed_precondition(
                    "INVOICE_NOT_ISSUED",
                    "a draft is corrected by running billing again; credit notes are for issued invoices",
                ));
            }
            let field = |i, f: &str| format!("lines[{i}].{f}");
            let lines = checked_credits(txn, &rows, &requested, field).await?;
            let credited = credit(txn, &rows, r.reason.trim(), &lines, Utc::now()).await?;
            let target = format!("slaInvoices/{id}/creditNotes/{}", credited.note_id);
            let resp = pb::CreateCreditNoteResponse {
                credit_note: credited.note,
                invoice: Some(credited.invoice),
            };
            Ok((resp, target))
        })
        .await
    }
}

/// A credit note as stored, and the invoice it corrects as it now stands.
pub(super) struct Credited {
    pub note_id: String,
    pub note: Option<pb::CreditNote>,
    pub invoice: pb::Invoice,
}

/// Stores a credit note of `lines` (line number, net, VAT) against the invoice.
pub(super) async fn credit(
    txn: &impl ConnectionTrait,
    rows: &InvoiceRows,
    reason: &str,
    lines: &[(i32, i64, i64)],
    now: DateTime<Utc>,
) -> Result<Credited, AppError> {
    let stored = billing::store_credit_note(txn, &rows.invoice, reason, lines, false, now).await?;
    let invoice = invoice_to_proto(&reread_invoice(txn, &rows.invoice.id).await?)?;
    let note = invoice
        .credit_notes
        .iter()
        .find(|n| n.credit_note_id == stored.id)
        .cloned();
    Ok(Credited {
        note_id: stored.id,
        note,
        invoice,
    })
}

/// Checks each (line number, net) credit against what the line charged and what has been
/// credited already; returns (line number, net, VAT) to store. `field(i, name)` names the
/// request field of entry `i`.
pub(super) async fn checked_credits(
    txn: &impl ConnectionTrait,
    rows: &InvoiceRows,
    requested: &[(i32, i64)],
    field: impl Fn(usize, &str) -> String,
) -> Result<Vec<(i32, i64, i64)>, AppError> {
    let credited = storage::credited_per_line(txn, &rows.invoice.id).await?;
    let mut domain_lines = Vec::new();
    for row in &rows.lines {
        domain_lines.push((row.line_number, domain_line(row)?));
    }
    let mut v = Violations::new();
    let mut lines = Vec::new();
    for (i, (number, net)) in requested.iter().copied().enumerate() {
        let Some(creditable) = creditable(&domain_lines, &credited, number) else {
            v.add(
                field(i, "invoice_line_number"),
                format!("the invoice has no line {number}"),
            );
            continue;
        };
        match credit_line(&creditable, net) {
            Ok((n, vat)) => lines.push((number, n, vat)),
            Err(e) => v.add(field(i, "net"), e.to_string()),
        }
    }
    v.into_result()?;
    Ok(lines)
}

/// Line `number` of an invoice with what the customer paid for it: its service line's charges,
/// the service credits given on that service line and the credit notes so far.
fn creditable(
    lines: &[(i32, InvoiceLine)],
    credited: &HashMap<i32, (i64, i64)>,
    number: i32,
) -> Option<CreditableLine> {
    let (_, line) = lines.iter().find(|(n, _)| *n == number)?;
    let credited_on = |n: i32| {
        let (net, vat) = credited.get(&n).copied().unwrap_or_default();
        Amount { net, vat }
    };
    let mut service_line_charged = Amount::default();
    let mut service_credits = Amount::default();
    let mut service_line_credited = Amount::default();
    for (n, l) in lines.iter().filter(|(_, l)| l.line_code == line.line_code) {
        if l.kind == LineKind::ServiceCredit {
            service_credits.net -= l.net;
            service_credits.vat -= l.vat;
        } else {
            service_line_charged.net += l.net;
            service_line_charged.vat += l.vat;
            let c = credited_on(*n);
            service_line_credited.net += c.net;
            service_line_credited.vat += c.vat;
        }
    }
    Some(CreditableLine {
        line_number: number,
        line_code: line.line_code.clone(),
        treatment: line.vat_treatment,
        charged: Amount {
            net: line.net,
            vat: line.vat,
        },
        credited: credited_on(number),
        service_line_charged,
        service_credits,
        service_line_credited,
    })
}
