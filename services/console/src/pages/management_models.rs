//! The regulator's comparison of ALMO-managed councils against councils managing in-house
//! (issue 17): measure by measure for a year, with the difference's 95% interval and cost per
//! home beside it.

use almo_proto::common::FinancialYear;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::figure;
use super::regulator::unit;
use crate::layout::{Field, error_for, error_summary, page, raw_svg, tag};
use crate::session::{PageError, Viewer};

#[derive(Deserialize, Default)]
pub struct ModelsQuery {
    year: Option<String>,
    measure: Option<String>,
}

fn difference_verdict(v: i32) -> Markup {
    match v {
        1 => tag("ALMO better", "green"),
        2 => tag("In-house better", "blue"),
        3 => tag("No clear difference", "grey"),
        4 => tag("Context: not ranked", "grey"),
        5 => tag("Too few to compare", "grey"),
        _ => tag("Unknown", "grey"),
    }
}

/// Whole numbers with thousands separated: 157,000.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn maybe(x: Option<f64>) -> String {
    x.map(figure).unwrap_or_else(|| "–".into())
}

/// ALMO-managed councils against councils managing in-house, measure by measure for a year,
/// with the difference's 95% interval and cost per home beside it.
pub async fn management_models(
    viewer: Viewer,
    Query(q): Query<ModelsQuery>,
) -> Result<Response, PageError> {
    use almo_proto::pi_returns::CompareManagementModelsRequest;
    let api = &viewer.api;
    let year_text = q.year.clone().unwrap_or_else(|| "2024/25".into());
    let measure = q.measure.clone().unwrap_or_default().trim().to_string();
    let mut errors: Vec<(String, String)> = vec![];
    let year = match almo_fields::financial_year(year_text.trim()) {
        Ok(y) => Some(y),
        Err(why) => {
            errors.push((
                "year".into(),
                format!("Enter the financial year like 2024/25: {why}"),
            ));
            None
        }
    };
    let mut result = html! {};
    if let Some(year) = year {
        match api
            .returns()
            .compare_management_models(api.req(CompareManagementModelsRequest {
                year: Some(FinancialYear { start_year: year }),
                indicator_code: measure.clone(),
                ..Default::default()
            }))
            .await
        {
            Ok(r) => result = render_models(&r.into_inner(), year),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::InvalidArgument
                        | tonic::Code::NotFound
                        | tonic::Code::FailedPrecondition
                ) =>
            {
                let r = crate::api::Refusal::from(s);
                let target = |f: &str| if f == "year" { "year" } else { "measure" };
                errors.extend(r.form_errors("measure", target));
            }
            Err(s) => return Err(s.into()),
        }
    }
    let error_for = |field: &str| error_for(&errors, field);
    let body = html! {
        (error_summary(&errors))
        h1.heading-l { "ALMO-managed against in-house" }
        p.body { "Councils whose homes an ALMO managed for more than half of the year, against councils managing their homes themselves, measure by measure from signed-off annual returns. The difference is ALMO minus in-house of the means weighted by homes, with a 95% confidence interval from a seeded bootstrap over councils." }
        form method="get" action="/management-models" novalidate {
            div.grid-row {
                div { (Field::new("year", "Financial year").hint("For example, 2024/25").value(&year_text).error(error_for("year")).width("input--width-10").input()) }
                div { (Field::new("measure", "Measure (optional)").hint("Its code, for example TP01; leave empty for every measure").value(&measure).error(error_for("measure")).width("input--width-10").input()) }
            }
            button.button.button--secondary type="submit" { "Compare" }
        }
        (result)
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((
        status,
        Html(
            page(
                &viewer,
                "ALMO-managed against in-house",
                "/management-models",
                body,
            )
            .into_string(),
        ),
    )
        .into_response())
}

fn render_models(r: &almo_proto::pi_returns::CompareManagementModelsResponse, year: i32) -> Markup {
    use almo_proto::pi_returns::MeasureComparison;
    let almo_councils = r.councils.iter().filter(|c| c.model == 1).count();
    let in_house_councils = r.councils.iter().filter(|c| c.model == 2).count();
    let label = almo_fields::financial_year_label(year);
    let rows: Vec<&MeasureComparison> = r.measures.iter().chain(r.cost_per_home.as_ref()).collect();
    // The chart: measures in per cent (one axis), each difference with its interval.
    let plotted: Vec<crate::charts::Difference> = r
        .measures
        .iter()
        .filter(|m| m.indicator.as_ref().is_some_and(|i| i.unit == 1))
        .filter_map(|m| {
            Some(crate::charts::Difference {
                label: m.indicator.as_ref()?.code.clone(),
                difference: m.difference?,
                lower: m.difference_lower,
                upper: m.difference_upper,
            })
        })
        .collect();
    let clear = plotted
        .iter()
        .filter(|d| matches!((d.lower, d.upper), (Some(l), Some(u)) if l > 0.0 || u < 0.0))
        .count();
    let desc = format!(
        "{label}: the difference, ALMO minus in-house, of {} measures in per cent, each with its 95% interval; {clear} of them have an interval that excludes no difference. The table below gives every figure.",
        plotted.len()
    );
    let svg = (!plotted.is_empty()).then(|| {
        crate::charts::difference_svg(
            &plotted,
            "percentage points",
            &format!("Differences between ALMO-managed and in-house councils, {label}"),
            &desc,
        )
    });
    html! {
        h2.heading-m #comparison { (label) ": " (almo_councils) " ALMO-managed councils against " (in_house_councils) " in-house" }
        p.body { "95% intervals from " (r.resamples) " bootstrap resamples, seed " (r.seed) "." }
        @if rows.is_empty() {
            p.body { "No measure has signed-off figures for this year." }
        } @else {
            div.table-wrap {
                table.table.table--compact {
                    caption { "Each measure by management model, " (label) "; cost per home is a context measure shown beside the others" }
                    thead { tr {
                        th scope="col" { "Measure" } th scope="col" { "Group" }
                        th scope="col" class="numeric" { "Councils" } th scope="col" class="numeric" { "Homes" }
                        th scope="col" class="numeric" { "Lower quartile" } th scope="col" class="numeric" { "Median" } th scope="col" class="numeric" { "Upper quartile" }
                        th scope="col" class="numeric" { "Weighted mean" }
                        th scope="col" class="numeric" { "Difference" } th scope="col" { "95% interval" } th scope="col" { "Verdict" }
                    } }
                    tbody {
                        @for m in &rows {
                            @let def = m.indicator.clone().unwrap_or_default();
                            @let a = m.almo.unwrap_or_default();
                            @let h = m.in_house.unwrap_or_default();
                            tr {
                                th scope="row" rowspan="2" { (def.code) br; span.hint { (def.title) " (" (unit(def.unit)) ")" } }
                                td { "ALMO" }
                                td.numeric { (a.organisations) } td.numeric { (thousands(a.homes)) }
                                td.numeric { (maybe(a.q1)) } td.numeric { (maybe(a.median)) } td.numeric { (maybe(a.q3)) }
                                td.numeric { (maybe(a.weighted_mean)) }
                                td.numeric rowspan="2" { (maybe(m.difference)) }
                                td rowspan="2" { @match (m.difference_lower, m.difference_upper) {
                                    (Some(l), Some(u)) => { (figure(l)) " to " (figure(u)) }
                                    _ => { "–" }
                                } }
                                td rowspan="2" { (difference_verdict(m.verdict)) }
                            }
                            tr {
                                td { "In-house" }
                                td.numeric { (h.organisations) } td.numeric { (thousands(h.homes)) }
                                td.numeric { (maybe(h.q1)) } td.numeric { (maybe(h.median)) } td.numeric { (maybe(h.q3)) }
                                td.numeric { (maybe(h.weighted_mean)) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(svg) = svg {
            h2.heading-m { "Differences with their intervals" }
            p.body { (desc) }
            @match svg {
                Ok(svg) => figure.chart { (raw_svg(&svg)) }
                Err(e) => p.body { "The chart could not be drawn: " (e) }
            }
        }
        p.hint { "Method: " (r.method) }
    }
}
