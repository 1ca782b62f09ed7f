//! The start page: who is signed in and the pages for their role.

use axum::response::Html;
use maud::html;

use crate::layout::{self, page, role_label};
use crate::session::{PageError, Viewer};

pub async fn home(viewer: Viewer) -> Result<Html<String>, PageError> {
    let links = layout::nav_links(&viewer.role);
    let body = html! {
        span.caption { (viewer.organisation_name) }
        h1.heading-xl { "ALMO exchange console" }
        p.lede { "Signed in as " strong { (viewer.subject) } ", " (role_label(&viewer.role)) "." }
        @if links.is_empty() {
            p.body { "There are no console pages for this role yet." }
        } @else {
            div.cards {
                @for (href, label) in &links {
                    div.card {
                        h2 { a href=(href) { (label) } }
                        p { (describe(href)) }
                    }
                }
            }
        }
    };
    Ok(Html(page(&viewer, "Home", "/", body).into_string()))
}

fn describe(href: &str) -> &'static str {
    match href {
        "/plans" => {
            "Delivery Plan targets by period, the Decent Homes burn-down, exceptions, amendments and variance uploads."
        }
        "/invoices" => {
            "SLA invoices with their status, lines and credit notes; disputes; the feed as CSV."
        }
        "/agreements" => {
            "Service level agreements: service lines, charging basis, unit price against the benchmark, service levels."
        }
        "/benchmark" => {
            "Where an organisation sits among its peers on an indicator: quartiles by authority type or peer group."
        }
        "/returns/outstanding" => {
            "Returns due, overdue, submitted or signed off for a period, and which were late."
        }
        "/calendar" => {
            "The inspection programme: weeks by inspector, on-site weeks and unavailability."
        }
        "/slots" => {
            "The feasible on-site weeks for an ALMO, and the reason each other week is ruled out."
        }
        _ => "",
    }
}
