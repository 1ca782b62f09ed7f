//! Finance (council and ALMO): SLA invoices with their status, and one invoice's lines, account
//! totals and credit notes.

use std::collections::BTreeMap;

use almo_proto::sla_charging::{GetInvoiceRequest, Invoice, ListInvoicesRequest};
use axum::extract::Path;
use axum::response::Html;
use maud::html;

use super::{instant, money};
use crate::layout::{page, summary_list, tag};
use crate::session::{PageError, Viewer};

fn status(invoice: &Invoice) -> maud::Markup {
    match (invoice.status, invoice.credit_notes.is_empty()) {
        (2, true) => tag("Issued", "blue"),
        (2, false) => tag("Issued, credited", "orange"),
        (1, _) => tag("Draft", "grey"),
        _ => tag("Unknown", "grey"),
    }
}

fn account(a: i32) -> &'static str {
    match a {
        1 => "HRA",
        2 => "General Fund",
        _ => "",
    }
}

pub async fn list(viewer: Viewer) -> Result<Html<String>, PageError> {
    let api = &viewer.api;
    // The invoice feed from the start, each invoice as it now stands (its last event).
    let mut invoices: BTreeMap<String, Invoice> = BTreeMap::new();
    let mut watermark = String::new();
    for _ in 0..50 {
        let r = api
            .charging()
            .list_invoices(api.req(ListInvoicesRequest {
                watermark: watermark.clone(),
                page_size: 500,
                ..Default::default()
            }))
            .await?
            .into_inner();
        for e in r.entries {
            if let Some(inv) = e.invoice {
                invoices.insert(inv.invoice_id.clone(), inv);
            }
        }
        let moved = r.watermark != watermark;
        watermark = r.watermark;
        if !r.has_more || !moved {
            break;
        }
    }
    let mut invoices: Vec<_> = invoices.into_values().collect();
    invoices.sort_by(|a, b| b.invoice_number.cmp(&a.invoice_number));
    let body = html! {
        h1.heading-l { "Invoices" }
        p.body { "Issued SLA invoices that " (viewer.organisation_name) " may see, newest first. An issued invoice never changes: corrections are credit notes." }
        @if invoices.is_empty() {
            p.body { "There are no issued invoices to show." }
        } @else {
            div.table-wrap {
                table.table {
                    caption.visually-hidden { "Invoices" }
                    thead { tr {
                        th scope="col" { "Invoice" } th scope="col" { "Period" } th scope="col" { "Council" }
                        th scope="col" { "ALMO" } th scope="col" { "Status" }
                        th scope="col" class="numeric" { "Net" } th scope="col" class="numeric" { "VAT" } th scope="col" class="numeric" { "Gross" }
                    } }
                    tbody {
                        @for i in &invoices {
                            tr {
                                td { a href={ "/invoices/" (i.invoice_id) } { (if i.invoice_number.is_empty() { i.invoice_id.clone() } else { i.invoice_number.clone() }) } }
                                td { (i.period_label) }
                                td { (i.supplier_council_id) }
                                td { (i.customer_almo_id) }
                                td { (status(i)) }
                                td.numeric { (money(i.net.as_ref())) }
                                td.numeric { (money(i.vat.as_ref())) }
                                td.numeric { (money(i.gross.as_ref())) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(
        page(&viewer, "Invoices", "/invoices", body).into_string(),
    ))
}

pub async fn detail(
    viewer: Viewer,
    Path(invoice_id): Path<String>,
) -> Result<Html<String>, PageError> {
    let api = &viewer.api;
    let inv = api
        .charging()
        .get_invoice(api.req(GetInvoiceRequest {
            invoice_id: invoice_id.clone(),
        }))
        .await?
        .into_inner()
        .invoice
        .unwrap_or_default();
    let number = if inv.invoice_number.is_empty() {
        inv.invoice_id.clone()
    } else {
        inv.invoice_number.clone()
    };
    let body = html! {
        span.caption { a href="/invoices" { "Invoices" } }
        h1.heading-l { "Invoice " (number) }
        (summary_list(&[
            ("Status", status(&inv)),
            ("Period", html! { (inv.period_label) }),
            ("From", html! { (inv.supplier_council_id) }),
            ("To", html! { (inv.customer_almo_id) }),
            ("Agreement", html! { (inv.agreement_id) }),
            ("Issued", html! { (instant(inv.issue_time.as_ref())) }),
            ("Gross", html! { strong { (money(inv.gross.as_ref())) } " (net " (money(inv.net.as_ref())) ", VAT " (money(inv.vat.as_ref())) ")" }),
        ]))
        div.table-wrap {
            table.table.table--compact {
                caption { "Lines" }
                thead { tr {
                    th scope="col" { "Line" } th scope="col" { "Service" } th scope="col" { "Account" }
                    th scope="col" class="numeric" { "Quantity" } th scope="col" class="numeric" { "Unit price" }
                    th scope="col" class="numeric" { "Net" } th scope="col" class="numeric" { "VAT" }
                } }
                tbody {
                    @for l in &inv.lines {
                        tr {
                            th scope="row" { (l.line_number) }
                            td { (l.description) br; span.hint { (l.line_code) } }
                            td { (account(l.account)) }
                            td.numeric { (format!("{:.3}", l.quantity_milli as f64 / 1000.0)) }
                            td.numeric { (money(l.unit_price.as_ref())) }
                            td.numeric { (money(l.net.as_ref())) }
                            td.numeric { (money(l.vat.as_ref())) }
                        }
                    }
                }
            }
        }
        table.table.table--compact {
            caption { "Totals by account" }
            thead { tr { th scope="col" { "Account" } th scope="col" class="numeric" { "Net" } th scope="col" class="numeric" { "VAT" } th scope="col" class="numeric" { "Gross" } } }
            tbody {
                @for t in &inv.account_totals {
                    tr { th scope="row" { (account(t.account)) } td.numeric { (money(t.net.as_ref())) } td.numeric { (money(t.vat.as_ref())) } td.numeric { (money(t.gross.as_ref())) } }
                }
            }
        }
        h2.heading-m { "Credit notes" }
        @if inv.credit_notes.is_empty() {
            p.body { "No credit notes." }
        } @else {
            table.table.table--compact {
                caption.visually-hidden { "Credit notes" }
                thead { tr { th scope="col" { "Credit note" } th scope="col" { "Issued" } th scope="col" { "Reason" } th scope="col" { "Lines" } th scope="col" class="numeric" { "Gross credited" } } }
                tbody {
                    @for c in &inv.credit_notes {
                        tr {
                            th scope="row" { (c.credit_note_number) }
                            td { (instant(c.issue_time.as_ref())) }
                            td { (c.reason) }
                            td { (c.lines.iter().map(|l| l.invoice_line_number.to_string()).collect::<Vec<_>>().join(", ")) }
                            td.numeric { (money(c.gross.as_ref())) }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(
        page(&viewer, &format!("Invoice {number}"), "/invoices", body).into_string(),
    ))
}
