//! Finance (council and ALMO): SLA invoices with their status, and one invoice's lines, account
//! totals and credit notes.

use std::collections::BTreeMap;

use almo_proto::sla_charging::{
    GetInvoiceRequest, Invoice, ListDisputesRequest, ListInvoicesRequest,
};
use axum::extract::Path;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
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

/// The invoice feed from the start, each invoice as it now stands (its last event).
async fn feed(viewer: &Viewer) -> Result<Vec<Invoice>, PageError> {
    let api = &viewer.api;
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
    Ok(invoices)
}

/// `GET /invoices.csv`: the feed as a ledger loads it, one row per invoice line and per
/// credit-note line (credits negative), amounts in pence.
pub async fn feed_csv(viewer: Viewer) -> Result<Response, PageError> {
    let invoices = feed(&viewer).await?;
    let mut w = csv::Writer::from_writer(vec![]);
    let row = |w: &mut csv::Writer<Vec<u8>>, cells: Vec<String>| {
        w.write_record(&cells)
            .map_err(|e| PageError::BadRequest(e.to_string()))
    };
    row(
        &mut w,
        [
            "document",
            "invoice_number",
            "supplier_council_id",
            "customer_almo_id",
            "period",
            "line_number",
            "line_code",
            "description",
            "account",
            "net_pence",
            "vat_pence",
        ]
        .map(String::from)
        .to_vec(),
    )?;
    for i in &invoices {
        for l in &i.lines {
            row(
                &mut w,
                vec![
                    "invoice".into(),
                    i.invoice_number.clone(),
                    i.supplier_council_id.clone(),
                    i.customer_almo_id.clone(),
                    i.period_label.clone(),
                    l.line_number.to_string(),
                    l.line_code.clone(),
                    l.description.clone(),
                    account(l.account).into(),
                    l.net.as_ref().map(|m| m.pence).unwrap_or(0).to_string(),
                    l.vat.as_ref().map(|m| m.pence).unwrap_or(0).to_string(),
                ],
            )?;
        }
        for c in &i.credit_notes {
            for l in &c.lines {
                let line = i
                    .lines
                    .iter()
                    .find(|x| x.line_number == l.invoice_line_number);
                row(
                    &mut w,
                    vec![
                        format!("credit_note {}", c.credit_note_number),
                        i.invoice_number.clone(),
                        i.supplier_council_id.clone(),
                        i.customer_almo_id.clone(),
                        i.period_label.clone(),
                        l.invoice_line_number.to_string(),
                        line.map(|x| x.line_code.clone()).unwrap_or_default(),
                        c.reason.clone(),
                        line.map(|x| account(x.account)).unwrap_or("").into(),
                        (-l.net.as_ref().map(|m| m.pence).unwrap_or(0)).to_string(),
                        (-l.vat.as_ref().map(|m| m.pence).unwrap_or(0)).to_string(),
                    ],
                )?;
            }
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"invoices.csv\""),
        ],
        bytes,
    )
        .into_response())
}

fn dispute_status(s: i32) -> maud::Markup {
    match s {
        1 => tag("Open", "orange"),
        2 => tag("Credited", "green"),
        3 => tag("Rejected", "red"),
        _ => tag("Unknown", "grey"),
    }
}

pub async fn list(viewer: Viewer) -> Result<Html<String>, PageError> {
    let invoices = feed(&viewer).await?;
    let api = &viewer.api;
    let disputes = api
        .charging()
        .list_disputes(api.req(ListDisputesRequest {
            page_size: 500,
            ..Default::default()
        }))
        .await
        .map(|r| r.into_inner().disputes)
        .map_err(crate::api::Refusal::from);
    let body = html! {
        h1.heading-l { "Invoices" }
        p.body { "Issued SLA invoices that " (viewer.organisation_name) " may see, newest first. An issued invoice never changes: corrections are credit notes." }
        p.body { a href="/invoices.csv" download { "Download the invoice feed (CSV, one row per line, pence)" } }
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
    let body = html! {
        (body)
        h2.heading-m #disputes { "Disputes" }
        @match &disputes {
            Err(r) => p.body { "The service said: " (r.message) }
            Ok(d) if d.is_empty() => p.body { "No disputed invoice lines." }
            Ok(d) => table.table.table--compact {
                caption.visually-hidden { "Disputed invoice lines" }
                thead { tr { th scope="col" { "Invoice line" } th scope="col" { "ALMO" } th scope="col" { "Status" } th scope="col" { "Reason" } th scope="col" { "Council's answer" } } }
                tbody {
                    @for x in d {
                        tr {
                            th scope="row" { a href={ "/invoices/" (x.invoice_id) } { (x.invoice_id) } ", line " (x.invoice_line_number) }
                            td { (x.customer_almo_id) }
                            td { (dispute_status(x.status)) }
                            td { (x.reason) }
                            td { (x.response) }
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

fn basis(b: i32) -> &'static str {
    match b {
        1 => "Fixed annual fee",
        2 => "Per unit",
        3 => "Per user",
        4 => "Per FTE",
        _ => "",
    }
}

/// `GET /agreements`: the SLAs the caller may see, each version's service lines with their
/// charging basis, unit price and the benchmark unit cost beside it, and its service levels.
pub async fn agreements(viewer: Viewer) -> Result<Html<String>, PageError> {
    use almo_proto::sla_charging::ListAgreementsRequest;
    let api = &viewer.api;
    let mut list = vec![];
    let mut page_token = String::new();
    for _ in 0..20 {
        let r = api
            .charging()
            .list_agreements(api.req(ListAgreementsRequest {
                page_size: 100,
                page_token: page_token.clone(),
                ..Default::default()
            }))
            .await?
            .into_inner();
        list.extend(r.agreements);
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    let body = html! {
        h1.heading-l { "Agreements" }
        p.body { "Service level agreements between councils and their ALMOs that " (viewer.organisation_name) " may see. A version is in force once both parties agree it." }
        @if list.is_empty() { p.body { "There are no agreements to show." } }
        @for a in &list {
            h2.heading-m { (a.title) }
            (summary_list(&[
                ("Agreement", html! { (a.agreement_id) }),
                ("Council and ALMO", html! { (a.supplier_council_id) " supplies " (a.customer_almo_id) }),
                ("Term", html! { (super::long_date(&a.start_date)) " to " (super::long_date(&a.end_date)) }),
            ]))
            @for v in &a.versions {
                div.table-wrap {
                    table.table.table--compact {
                        caption {
                            "Version " (v.version) ", from " (super::long_date(&v.effective_from_date)) " "
                            @if v.status == 2 { (tag("Active", "green")) } @else { (tag("Draft", "grey")) }
                            " council " (if v.council_agreed { "agreed" } else { "not yet agreed" })
                            ", ALMO " (if v.almo_agreed { "agreed" } else { "not yet agreed" })
                        }
                        thead { tr {
                            th scope="col" { "Service line" } th scope="col" { "Basis" } th scope="col" { "Account" }
                            th scope="col" class="numeric" { "Unit price" } th scope="col" class="numeric" { "Benchmark unit cost" }
                            th scope="col" { "Service levels" }
                        } }
                        tbody {
                            @for l in &v.lines {
                                tr {
                                    th scope="row" { (l.service) br; span.hint { (l.code) } }
                                    td { (basis(l.basis)) @if !l.unit_name.is_empty() { " (" (l.unit_name) ")" } }
                                    td { (account(l.account)) }
                                    td.numeric { (money(l.unit_price.as_ref())) }
                                    td.numeric { @if l.benchmark_unit_cost.is_some() { (money(l.benchmark_unit_cost.as_ref())) } @else { "–" } }
                                    td {
                                        @for s in v.levels.iter().filter(|s| s.line_code == l.code) {
                                            (s.measure) ": target " (super::figure(s.target))
                                            " (" (if s.direction == 2 { "lower is better" } else { "higher is better" }) "), credit "
                                            (format!("{:.2}%", s.credit_basis_points as f64 / 100.0)) " if missed"
                                            br;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(
        page(&viewer, "Agreements", "/agreements", body).into_string(),
    ))
}
