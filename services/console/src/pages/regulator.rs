//! The regulator: an indicator's benchmark (quartiles within an authority type or a peer group,
//! one organisation highlighted, in the indicator's direction of "better"), and the returns
//! outstanding or late for a period.

use std::collections::HashMap;

use almo_proto::common::{FinancialYear, Period};
use almo_proto::directory::ListOrganisationsRequest;
use almo_proto::pi_returns::{
    GetBenchmarkRequest, ListIndicatorsRequest, ListOutstandingReturnsRequest,
};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::figure;
use crate::api::Api;
use crate::charts::{Position, Quartiles, quartile_svg};
use crate::layout::{Field, error_for, error_summary, page, raw_svg, select, tag};
use crate::session::{PageError, Viewer};

#[derive(Deserialize, Default)]
pub struct BenchmarkQuery {
    indicator: Option<String>,
    year: Option<String>,
    group: Option<String>,
    highlight: Option<String>,
}

const TYPES: [(&str, &str); 4] = [
    ("london_borough", "London boroughs"),
    ("metropolitan", "Metropolitan boroughs"),
    ("unitary", "Unitary authorities"),
    ("district", "District councils"),
];

async fn names(api: &Api) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Ok(r) = api
        .directory()
        .list_organisations(api.req(ListOrganisationsRequest {
            page_size: 1000,
            ..Default::default()
        }))
        .await
    {
        for o in r.into_inner().organisations {
            out.insert(o.id, o.name);
        }
    }
    out
}

fn verdict(v: i32) -> Markup {
    match v {
        1 => tag("Upper quartile", "green"),
        2 => tag("Above median", "blue"),
        3 => tag("Below median", "yellow"),
        4 => tag("Lower quartile", "red"),
        5 => tag("Not ranked", "grey"),
        _ => tag("Unknown", "grey"),
    }
}

pub(super) fn unit(u: i32) -> &'static str {
    match u {
        1 => "per cent",
        2 => "days",
        3 => "SAP points",
        4 => "pounds",
        5 => "count",
        6 => "per 1,000",
        7 => "yes (1) or no (0)",
        _ => "value",
    }
}

pub async fn benchmark(
    viewer: Viewer,
    Query(q): Query<BenchmarkQuery>,
) -> Result<Response, PageError> {
    let api = &viewer.api;
    let indicator = q.indicator.clone().unwrap_or_else(|| "BVPI 66a".into());
    let year_text = q.year.clone().unwrap_or_else(|| "2001/02".into());
    let group = q.group.clone().unwrap_or_else(|| "london_borough".into());
    let highlight = q.highlight.clone().unwrap_or_else(|| "E09000022".into());
    let mut errors: Vec<(String, String)> = vec![];
    let year = match almo_fields::financial_year(year_text.trim()) {
        Ok(y) => Some(y),
        Err(why) => {
            errors.push((
                "year".into(),
                format!("Enter the financial year like 2001/02: {why}"),
            ));
            None
        }
    };
    let indicators = match api
        .returns()
        .list_indicators(api.req(ListIndicatorsRequest {
            year: year.map(|y| FinancialYear { start_year: y }),
            page_size: 500,
            ..Default::default()
        }))
        .await
    {
        Ok(r) => r.into_inner().indicators,
        Err(_) => vec![],
    };
    let mut options: Vec<(String, String)> = indicators
        .iter()
        .map(|i| (i.code.clone(), format!("{} – {}", i.code, i.title)))
        .collect();
    options.dedup_by(|a, b| a.0 == b.0);
    if !options.iter().any(|o| o.0 == indicator) {
        options.insert(0, (indicator.clone(), indicator.clone()));
    }
    let names = names(api).await;
    let mut group_options: Vec<(String, String)> = TYPES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    group_options.push((
        "peer:CIPFA-LAMBETH".into(),
        "Peer group CIPFA-LAMBETH".into(),
    ));

    let mut result = html! {};
    let mut status = StatusCode::OK;
    if let Some(year) = year {
        let (authority_type, peer_group_id) = match group.strip_prefix("peer:") {
            Some(p) => (String::new(), p.to_string()),
            None => (group.clone(), String::new()),
        };
        match api
            .returns()
            .get_benchmark(api.req(GetBenchmarkRequest {
                indicator_code: indicator.clone(),
                year: Some(FinancialYear { start_year: year }),
                authority_type,
                peer_group_id,
                split: String::new(),
            }))
            .await
        {
            Ok(r) => result = render_benchmark(&r.into_inner(), &names, &highlight, year),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::InvalidArgument
                        | tonic::Code::NotFound
                        | tonic::Code::FailedPrecondition
                ) =>
            {
                let r = crate::api::Refusal::from(s);
                let target = |f: &str| match f {
                    "year" => "year",
                    "authority_type" | "peer_group_id" => "group",
                    _ => "indicator",
                };
                errors.extend(r.form_errors("indicator", target));
                status = StatusCode::BAD_REQUEST;
            }
            Err(s) => return Err(s.into()),
        }
    } else {
        status = StatusCode::BAD_REQUEST;
    }
    let year_error = error_for(&errors, "year");
    let body = html! {
        (error_summary(&errors))
        h1.heading-l { "Benchmark" }
        p.body { "Signed-off annual figures of one indicator, compared within an authority type (003 §74) or a peer group (§75). The upper quartile is the best 25% in the indicator's direction of better." }
        form method="get" action="/benchmark" novalidate {
            div.grid-row {
                div { (select("indicator", "Indicator", &options, &indicator)) }
                div { (Field::new("year", "Financial year").hint("For example, 2001/02").value(&year_text).error(year_error).width("input--width-10").input()) }
            }
            div.grid-row {
                div { (select("group", "Compare within", &group_options, &group)) }
                div { (Field::new("highlight", "Highlight organisation").hint("Its directory id, for example E09000022").value(&highlight).width("input--width-20").input()) }
            }
            button.button.button--secondary type="submit" { "Show benchmark" }
        }
        (result)
    };
    Ok((
        status,
        Html(page(&viewer, "Benchmark", "/benchmark", body).into_string()),
    )
        .into_response())
}

fn render_benchmark(
    b: &almo_proto::pi_returns::GetBenchmarkResponse,
    names: &HashMap<String, String>,
    highlight: &str,
    year: i32,
) -> Markup {
    let def = b.indicator.clone().unwrap_or_default();
    let higher = match def.direction {
        1 | 3 => Some(true),
        2 => Some(false),
        _ => None,
    };
    let mut positions = b.positions.clone();
    positions.sort_by(|a, c| match higher {
        Some(false) => a.value.total_cmp(&c.value),
        _ => c.value.total_cmp(&a.value),
    });
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let quartiles = Quartiles {
        q1: b.q1,
        median: b.median,
        q3: b.q3,
        upper_quartile: b.upper_quartile,
        higher_is_better: higher,
        unit: unit(def.unit).to_string(),
        positions: positions
            .iter()
            .map(|p| Position {
                label: name(&p.organisation_id),
                value: p.value,
                highlighted: p.organisation_id == highlight,
            })
            .collect(),
    };
    let shown = positions.iter().find(|p| p.organisation_id == highlight);
    let direction = match higher {
        Some(true) => "higher is better",
        Some(false) => "lower is better",
        None => "a context measure, not ranked",
    };
    let desc = format!(
        "{} {}, {}: {} values; lower quartile {}, median {}, upper quartile threshold {}; {}.{}",
        def.code,
        def.title,
        almo_fields::financial_year_label(year),
        b.count,
        figure(b.q1),
        figure(b.median),
        b.upper_quartile
            .map(figure)
            .unwrap_or_else(|| "none".into()),
        direction,
        shown
            .map(|p| format!(
                " {} is highlighted at {}.",
                name(&p.organisation_id),
                figure(p.value)
            ))
            .unwrap_or_default()
    );
    let svg = quartile_svg(&quartiles, &format!("{} quartiles", def.code), &desc);
    html! {
        h2.heading-m #chart { (def.code) ": " (def.title) ", " (almo_fields::financial_year_label(year)) }
        p.body { (desc) }
        @if b.almos_represented_by_their_council > 0 {
            p.body { (b.almos_represented_by_their_council) " ALMOs are positioned but not counted: their council's combined return stands for the authority (003 §107)." }
        }
        @match svg {
            Ok(svg) => figure.chart { (raw_svg(&svg)) }
            Err(e) => p.body { "The chart could not be drawn: " (e) }
        }
        table.table.table--compact {
            caption { "Positions, best first (" (direction) ")" }
            thead { tr {
                th scope="col" { "Organisation" } th scope="col" class="numeric" { "Value" }
                th scope="col" { "Quartile band" } th scope="col" { "Verdict" }
                th scope="col" class="numeric" { "Prior year" } th scope="col" class="numeric" { "Change" }
            } }
            tbody {
                @for p in &positions {
                    tr.highlight[p.organisation_id == highlight] {
                        th scope="row" {
                            (name(&p.organisation_id)) br; span.hint { (p.organisation_id) }
                            @if p.organisation_id == highlight { " " strong { "(highlighted)" } }
                        }
                        td.numeric { (figure(p.value)) }
                        td { (p.quartile_band) " of 4" }
                        td { (verdict(p.verdict)) }
                        td.numeric { (p.prior_year_value.map(figure).unwrap_or_else(|| "–".into())) }
                        td.numeric { (p.change_on_prior_year.map(figure).unwrap_or_else(|| "–".into())) }
                    }
                }
            }
        }
        p.hint { "Method: " (b.method) }
    }
}

#[derive(Deserialize, Default)]
pub struct OutstandingQuery {
    year: Option<String>,
    period: Option<String>,
}

fn return_state(s: i32) -> Markup {
    match s {
        1 => tag("Due", "blue"),
        2 => tag("Overdue", "red"),
        3 => tag("Submitted", "yellow"),
        4 => tag("Signed off", "green"),
        _ => tag("Unknown", "grey"),
    }
}

pub async fn outstanding(
    viewer: Viewer,
    Query(q): Query<OutstandingQuery>,
) -> Result<Response, PageError> {
    let api = &viewer.api;
    let year_text = q.year.clone().unwrap_or_else(|| "2024/25".into());
    let period_text = q.period.clone().unwrap_or_else(|| "Y".into());
    let mut errors = vec![];
    let year = almo_fields::financial_year(year_text.trim())
        .map_err(|why| {
            errors.push((
                "year".to_string(),
                format!("Enter the financial year like 2024/25: {why}"),
            ))
        })
        .ok();
    let (kind, number) = match period_text.as_str() {
        "Q1" => (2, 1),
        "Q2" => (2, 2),
        "Q3" => (2, 3),
        "Q4" => (2, 4),
        _ => (3, 1),
    };
    let mut expected = vec![];
    if let Some(y) = year {
        let mut page_token = String::new();
        for _ in 0..20 {
            let r = api
                .returns()
                .list_outstanding_returns(api.req(ListOutstandingReturnsRequest {
                    period: Some(Period {
                        year: Some(FinancialYear { start_year: y }),
                        kind,
                        number,
                    }),
                    page_size: 500,
                    page_token: page_token.clone(),
                }))
                .await?
                .into_inner();
            expected.extend(r.expected);
            if r.next_page_token.is_empty() {
                break;
            }
            page_token = r.next_page_token;
        }
    }
    let names = names(api).await;
    let year_error = error_for(&errors, "year");
    let periods: Vec<(String, String)> = [
        ("Y", "The whole year (annual return)"),
        ("Q1", "Q1 April to June"),
        ("Q2", "Q2 July to September"),
        ("Q3", "Q3 October to December"),
        ("Q4", "Q4 January to March"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let count = |s: i32| expected.iter().filter(|e| e.state == s).count();
    let late = expected.iter().filter(|e| e.late).count();
    let body = html! {
        (error_summary(&errors))
        h1.heading-l { "Outstanding returns" }
        form method="get" action="/returns/outstanding" novalidate {
            div.grid-row {
                div { (Field::new("year", "Financial year").hint("For example, 2024/25").value(&year_text).error(year_error).width("input--width-10").input()) }
                div { (select("period", "Period", &periods, &period_text)) }
            }
            button.button.button--secondary type="submit" { "Show returns" }
        }
        @if year.is_some() {
            p.body { (count(2)) " overdue, " (count(1)) " due, " (count(3)) " awaiting sign-off, " (count(4)) " signed off; " (late) " submitted late." }
            div.table-wrap {
                table.table.table--compact {
                    caption.visually-hidden { "Returns expected for the period" }
                    thead { tr { th scope="col" { "Organisation" } th scope="col" { "State" } th scope="col" { "Late" } th scope="col" { "Deadline" } th scope="col" { "Return" } } }
                    tbody {
                        @for e in &expected {
                            tr {
                                th scope="row" { (names.get(&e.organisation_id).cloned().unwrap_or_else(|| e.organisation_id.clone())) br; span.hint { (e.organisation_id) } }
                                td { (return_state(e.state)) }
                                td { @if e.late { (tag("Late", "red")) } @else { "No" } }
                                td { (super::long_date(&e.deadline_date)) }
                                td { @if !e.return_id.is_empty() { a href={ "/return?id=" (urlencode(&e.return_id)) } { (e.return_id) } } }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((
        status,
        Html(page(&viewer, "Outstanding returns", "/returns/outstanding", body).into_string()),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
pub struct ReturnQuery {
    #[serde(default)]
    id: String,
}

fn return_status(s: i32) -> Markup {
    match s {
        1 => tag("Draft", "grey"),
        2 => tag("Submitted", "yellow"),
        3 => tag("Signed off", "green"),
        4 => tag("Returned for correction", "orange"),
        _ => tag("Unknown", "grey"),
    }
}

/// One return with its history: every value as first given and each revision after, so a
/// correction never hides the figure it replaced.
pub async fn return_page(
    viewer: Viewer,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, PageError> {
    use almo_proto::pi_returns::GetReturnRequest;
    if q.id.trim().is_empty() {
        return Err(PageError::BadRequest(
            "Which return? The address names none.".into(),
        ));
    }
    let api = &viewer.api;
    let r = api
        .returns()
        .get_return(api.req(GetReturnRequest {
            return_id: q.id.trim().to_string(),
            include_history: true,
        }))
        .await?
        .into_inner()
        .pi_return
        .unwrap_or_default();
    let split = |s: &str| {
        if s.is_empty() {
            "all".to_string()
        } else {
            s.to_string()
        }
    };
    let ratio = |n: Option<f64>, d: Option<f64>| match (n, d) {
        (Some(n), Some(d)) => format!("{} / {}", figure(n), figure(d)),
        _ => "–".into(),
    };
    let body = html! {
        span.caption { a href="/returns/outstanding" { "Outstanding returns" } }
        h1.heading-l { "Return " (r.id) }
        (crate::layout::summary_list(&[
            ("Organisation", html! { (r.organisation_id) }),
            ("Period", html! { (super::period(r.period.as_ref())) }),
            ("Status", return_status(r.status)),
            ("Deadline", html! { (super::long_date(&r.deadline_date)) @if r.late { " " (tag("Late", "red")) } }),
            ("Submitted", html! { (r.submitted_by) " " (super::instant(r.submit_time.as_ref())) }),
            ("Signed off", html! { (r.signed_off_by) " " (super::instant(r.sign_off_time.as_ref())) }),
            ("Revision", html! { (r.revision) }),
        ]))
        @if !r.returned_reason.is_empty() {
            div.inset-text { "Returned for correction: " (r.returned_reason) }
        }
        h2.heading-m { "Values" }
        div.table-wrap {
            table.table.table--compact {
                caption.visually-hidden { "Current values" }
                thead { tr { th scope="col" { "Indicator" } th scope="col" { "Split" } th scope="col" class="numeric" { "Value" } th scope="col" { "Numerator / denominator" } th scope="col" { "Warnings and explanation" } } }
                tbody {
                    @for v in &r.values {
                        tr {
                            th scope="row" { (v.indicator_code) }
                            td { (split(&v.split)) }
                            td.numeric { (figure(v.value)) }
                            td { (ratio(v.numerator, v.denominator)) }
                            td { (v.warnings.join("; ")) @if !v.explanation.is_empty() { br; "Explained: " (v.explanation) } }
                        }
                    }
                }
            }
        }
        h2.heading-m { "History" }
        @if r.history.is_empty() {
            p.body { "No value has been changed since it was first given." }
        } @else {
            div.table-wrap {
                table.table.table--compact {
                    caption.visually-hidden { "Every value given, oldest first" }
                    thead { tr { th scope="col" { "Indicator" } th scope="col" { "Split" } th scope="col" { "Version" } th scope="col" class="numeric" { "Value" } th scope="col" { "Why changed" } th scope="col" { "By, when" } th scope="col" { "Current" } } }
                    tbody {
                        @for v in &r.history {
                            tr {
                                th scope="row" { (v.indicator_code) }
                                td { (split(&v.split)) }
                                td { (v.sequence) }
                                td.numeric { (figure(v.value)) }
                                td { (v.revision_reason) }
                                td { (v.changed_by) ", " (super::instant(v.change_time.as_ref())) }
                                td { @if v.current { "Yes" } @else { "No, replaced" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(
        page(
            &viewer,
            &format!("Return {}", r.id),
            "/returns/outstanding",
            body,
        )
        .into_string(),
    )
    .into_response())
}

/// A query-string value, percent-encoded.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
