//! Council and ALMO officers: the plans they may see, and a plan's dashboard — the RAG grid of
//! targets by period, the Decent Homes burn-down, open exceptions with the ALMO's report form and
//! the council's decision form.

use std::collections::BTreeSet;

use almo_proto::delivery_plan::{
    DecideExceptionReportRequest, GetPlanRequest, GetPlanStatusRequest, GetPlanStatusResponse,
    ListPlansRequest, Plan, PlanException, SubmitExceptionReportRequest,
};
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use super::{figure, instant, long_date, period};
use crate::charts::{BurnDown, burn_down_svg};
use crate::layout::{
    Field, error_summary, new_request_id, page, raw_svg, success_banner, summary_list, tag,
    write_fields,
};
use crate::session::{PageError, Viewer};

pub async fn list(viewer: Viewer) -> Result<Html<String>, PageError> {
    let api = &viewer.api;
    let mut plans = vec![];
    let mut page_token = String::new();
    for _ in 0..20 {
        let r = api
            .plans()
            .list_plans(api.req(ListPlansRequest {
                page_size: 100,
                page_token: page_token.clone(),
                ..Default::default()
            }))
            .await?
            .into_inner();
        plans.extend(r.plans);
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    let body = html! {
        h1.heading-l { "Delivery plans" }
        @if plans.is_empty() {
            p.body { "There are no delivery plans that " (viewer.organisation_name) " may see." }
        } @else {
            table.table {
                caption.visually-hidden { "Delivery plans you may see" }
                thead { tr {
                    th scope="col" { "Plan" } th scope="col" { "Council" } th scope="col" { "ALMO" }
                    th scope="col" { "Years" } th scope="col" { "Version" } th scope="col" { "Pages" }
                } }
                tbody {
                    @for p in &plans {
                        tr {
                            td { a href={ "/plans/" (p.plan_id) } { (p.title) } br; span.hint { (p.plan_id) } }
                            td { (p.council_id) }
                            td { (p.almo_id) }
                            td { (years(p)) }
                            td { (p.latest_version) }
                            td {
                                a href={ "/plans/" (p.plan_id) "/amendments" } { "Amendments" span.visually-hidden { " to " (p.title) } }
                                br;
                                a href={ "/plans/" (p.plan_id) "/variances" } { "Upload variances" span.visually-hidden { " for " (p.title) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(
        page(&viewer, "Delivery plans", "/plans", body).into_string(),
    ))
}

fn years(p: &Plan) -> String {
    let f = p.first_year.as_ref().map(|y| y.start_year).unwrap_or(0);
    let l = p.last_year.as_ref().map(|y| y.start_year).unwrap_or(0);
    format!(
        "{} to {}",
        almo_fields::financial_year_label(f),
        almo_fields::financial_year_label(l)
    )
}

pub fn rag(status: i32) -> Markup {
    match status {
        1 => tag("On track", "green"),
        2 => tag("At risk", "yellow"),
        3 => tag("Off track", "red"),
        _ => tag("No figure", "grey"),
    }
}

fn exception_state(state: i32) -> Markup {
    match state {
        1 => tag("Open: report due", "red"),
        2 => tag("Answered: council to decide", "blue"),
        3 => tag("Accepted", "green"),
        4 => tag("Escalated: revised report due", "orange"),
        _ => tag("Unknown", "grey"),
    }
}

/// The last day of a period.
pub fn period_end(p: &almo_proto::common::Period) -> Option<NaiveDate> {
    let year = p.year.as_ref()?.start_year;
    let month_index = match p.kind {
        1 => p.number,
        2 => p.number * 3,
        _ => 12,
    };
    // Month 1 is April.
    let calendar_month = ((month_index + 2) % 12 + 1) as u32;
    let calendar_year = if month_index >= 10 { year + 1 } else { year };
    let first_of_next = if calendar_month == 12 {
        NaiveDate::from_ymd_opt(calendar_year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(calendar_year, calendar_month + 1, 1)?
    };
    first_of_next.pred_opt()
}

fn period_key(p: &almo_proto::common::Period) -> (i32, i32, i32) {
    (
        p.year.as_ref().map(|y| y.start_year).unwrap_or(0),
        p.kind,
        p.number,
    )
}

/// What an exception form held when it was refused, to draw it again with the reasons.
#[derive(Default, Deserialize, Clone)]
pub struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    etag: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    recovery_action: String,
    #[serde(default)]
    recovery_date: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

struct Refused {
    exception_id: String,
    form: ReportForm,
    errors: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct DashboardQuery {
    #[serde(default)]
    done: String,
}

pub async fn dashboard(
    viewer: Viewer,
    Path(plan_id): Path<String>,
    Query(q): Query<DashboardQuery>,
) -> Result<Html<String>, PageError> {
    let markup = render_dashboard(&viewer, &plan_id, &q.done, None).await?;
    Ok(Html(markup.into_string()))
}

async fn render_dashboard(
    viewer: &Viewer,
    plan_id: &str,
    done: &str,
    refused: Option<&Refused>,
) -> Result<Markup, PageError> {
    let api = &viewer.api;
    let status = api
        .plans()
        .get_plan_status(api.req(GetPlanStatusRequest {
            plan_id: plan_id.to_string(),
        }))
        .await?
        .into_inner();
    let plan_version = api
        .plans()
        .get_plan(api.req(GetPlanRequest {
            plan_id: plan_id.to_string(),
            ..Default::default()
        }))
        .await?
        .into_inner()
        .plan
        .unwrap_or_default();
    let plan = status.plan.clone().unwrap_or_default();
    let errors = refused.map(|r| r.errors.clone()).unwrap_or_default();
    let body = html! {
        (error_summary(&errors))
        @match done {
            "report" => (success_banner("Exception report sent", "The council has been told and will accept or escalate it.")),
            "decision" => (success_banner("Decision recorded", "")),
            _ => {}
        }
        span.caption { (plan.plan_id) }
        h1.heading-l { (plan.title) }
        (summary_list(&[
            ("Council", html! { (plan.council_id) }),
            ("ALMO", html! { (plan.almo_id) }),
            ("Years", html! { (years(&plan)) }),
            ("Version", html! { (plan.version) " of " (plan.latest_version) ", in force from " (long_date(&plan.effective_date)) }),
        ]))
        p.body {
            a href={ "/plans/" (plan.plan_id) "/amendments" } { "Amendments" }
            " · "
            a href={ "/plans/" (plan.plan_id) "/variances" } { "Upload variances (CSV)" }
        }
        (rag_grid(&status))
        (decent_homes(&status, &plan_version))
        (exceptions(viewer, &status.open_exceptions, refused))
    };
    Ok(page(viewer, &plan.title, "/plans", body))
}

fn rag_grid(status: &GetPlanStatusResponse) -> Markup {
    let mut periods = BTreeSet::new();
    for t in &status.targets {
        for p in &t.periods {
            if let Some(per) = &p.period {
                periods.insert(period_key(per));
            }
        }
    }
    let periods: Vec<_> = periods.into_iter().collect();
    let label = |k: &(i32, i32, i32)| {
        period(Some(&almo_proto::common::Period {
            year: Some(almo_proto::common::FinancialYear { start_year: k.0 }),
            kind: k.1,
            number: k.2,
        }))
    };
    html! {
        h2.heading-m #status { "Targets by period" }
        p.body { "Each figure with its status against the target for the period: on track, at risk or off track. The colour repeats the word." }
        div.table-wrap {
            table.table.table--compact {
                caption.visually-hidden { "Status of each target in each period" }
                thead { tr {
                    th scope="col" { "Target" }
                    th scope="col" { "Latest" }
                    @for k in &periods { th scope="col" { (label(k)) } }
                } }
                tbody {
                    @for t in &status.targets {
                        tr {
                            th scope="row" {
                                (t.name) br; span.hint { (t.code) " · " (if t.direction == 2 { "lower is better" } else { "higher is better" }) }
                                @if t.in_exception { br; (tag("In exception", "red")) }
                            }
                            td { (rag(t.latest_status)) }
                            @for k in &periods {
                                @let cell = t.periods.iter().find(|p| p.period.as_ref().map(period_key) == Some(*k));
                                td {
                                    @if let Some(c) = cell {
                                        (rag(c.status)) br;
                                        (figure(c.judged)) " against " (figure(c.target))
                                    } @else {
                                        span.hint { "No figure" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn decent_homes(status: &GetPlanStatusResponse, version: &Plan) -> Markup {
    let Some(c) = &status.decent_homes else {
        return html! {};
    };
    let plan = status.plan.clone().unwrap_or_default();
    let programme = version
        .content
        .as_ref()
        .and_then(|c| c.decent_homes.clone())
        .unwrap_or_default();
    let first_year = plan.first_year.as_ref().map(|y| y.start_year).unwrap_or(0);
    let start = NaiveDate::from_ymd_opt(first_year, 4, 1);
    let baseline = c.non_decent_at_baseline as f64;
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();

    let mut planned = vec![];
    if let Some(s) = start {
        planned.push((s, baseline));
        let mut cum = 0.0;
        let mut years: Vec<_> = programme.planned_decent.clone();
        years.sort_by_key(|y| y.year.as_ref().map(|y| y.start_year));
        for y in &years {
            cum += y.count as f64;
            if let Some(end) = y
                .year
                .as_ref()
                .and_then(|fy| NaiveDate::from_ymd_opt(fy.start_year + 1, 3, 31))
            {
                planned.push((end, (baseline - cum).max(0.0)));
            }
        }
    }
    let mut actual = vec![];
    if let Some(s) = start {
        actual.push((s, baseline));
    }
    if let Some(t) = status
        .targets
        .iter()
        .find(|t| t.code == programme.progress_target_code)
    {
        let mut figures: Vec<_> = t
            .periods
            .iter()
            .filter_map(|p| Some((period_end(p.period.as_ref()?)?, p.actual)))
            .collect();
        figures.sort_by_key(|f| f.0);
        let mut cum = 0.0;
        for (end, made) in figures {
            cum += made;
            actual.push((end, (baseline - cum).max(0.0)));
        }
    }
    let as_of = date(&c.as_of_date);
    let forecast_end = date(&c.forecast_completion_date);
    let forecast = match (as_of, forecast_end) {
        (Some(a), Some(f)) => vec![(a, c.still_non_decent as f64), (f, 0.0)],
        _ => vec![],
    };
    let target_date = date(&c.target_date);
    let burn = BurnDown {
        start,
        baseline,
        planned: planned.clone(),
        actual: actual.clone(),
        forecast,
        target_date,
    };
    let summary = format!(
        "{} of {} non-decent homes made decent by {}; {} still non-decent. {} homes a year are needed to finish by {}; {} a year have been achieved, which finishes {}.{}",
        c.made_decent,
        c.non_decent_at_baseline,
        long_date(&c.as_of_date),
        c.still_non_decent,
        figure(c.rate_needed_per_year),
        long_date(&c.target_date),
        figure(c.rate_achieved_per_year),
        if c.forecast_completion_date.is_empty() {
            "never at that rate".to_string()
        } else {
            format!("on {}", long_date(&c.forecast_completion_date))
        },
        if c.behind_schedule {
            " Behind schedule."
        } else {
            " On schedule."
        }
    );
    let svg = burn_down_svg(&burn, "Decent Homes burn-down", &summary);
    // The table behind the chart: every date either line has a point at.
    let mut rows: Vec<NaiveDate> = planned.iter().chain(&actual).map(|p| p.0).collect();
    rows.sort();
    rows.dedup();
    html! {
        h2.heading-m #decent-homes { "Decent Homes burn-down" }
        @if c.behind_schedule {
            div.warning-text {
                span.warning-text__icon aria-hidden="true" { "!" }
                strong { span.visually-hidden { "Warning: " } (if c.warning.is_empty() { "Behind schedule".to_string() } else { c.warning.clone() }) }
            }
        }
        p.body { (summary) }
        @match svg {
            Ok(svg) => figure.chart { (raw_svg(&svg)) }
            Err(e) => p.body { "The chart could not be drawn: " (e) }
        }
        details {
            summary { "The figures behind the chart" }
            table.table.table--compact {
                caption { "Homes still non-decent: plan and reported" }
                thead { tr { th scope="col" { "Date" } th scope="col" class="numeric" { "Plan" } th scope="col" class="numeric" { "Reported" } } }
                tbody {
                    @for d in &rows {
                        tr {
                            th scope="row" { (d.format("%-d %b %Y")) }
                            td.numeric { (planned.iter().find(|p| p.0 == *d).map(|p| figure(p.1)).unwrap_or_else(|| "–".into())) }
                            td.numeric { (actual.iter().find(|p| p.0 == *d).map(|p| figure(p.1)).unwrap_or_else(|| "–".into())) }
                        }
                    }
                    @if let (Some(a), Some(f)) = (as_of, forecast_end) {
                        tr {
                            th scope="row" { (f.format("%-d %b %Y")) " (forecast)" }
                            td.numeric { "–" }
                            td.numeric { "0 at the rate achieved since " (a.format("%-d %b %Y")) }
                        }
                    }
                    @if let Some(t) = target_date {
                        tr { th scope="row" { (t.format("%-d %b %Y")) " (target date)" } td.numeric { "0" } td.numeric { "–" } }
                    }
                }
            }
        }
    }
}

fn exceptions(viewer: &Viewer, list: &[PlanException], refused: Option<&Refused>) -> Markup {
    html! {
        h2.heading-m #exceptions { "Open exceptions" }
        @if list.is_empty() {
            p.body { "No target is in exception." }
        }
        @for (i, x) in list.iter().enumerate() {
            @let mine = refused.filter(|r| r.exception_id == x.exception_id);
            div.inset-text {
                h3.heading-s { (x.target_code) ": " (exception_state(x.state)) }
                (summary_list(&[
                    ("Off track", html! { (x.consecutive_periods) " periods in a row, " (period(x.first_period.as_ref())) " to " (period(x.last_period.as_ref())) }),
                    ("Raised", html! { (instant(x.raise_time.as_ref())) }),
                    ("Report", html! {
                        @if let Some(r) = &x.report {
                            (r.cause) br; "Recovery: " (r.recovery_action) ", by " (long_date(&r.recovery_date))
                        } @else { "None yet" }
                    }),
                    ("Council's note", html! { (x.decision_note) }),
                ]))
                @if viewer.is("almo_officer") && (x.state == 1 || x.state == 4) {
                    (report_form(viewer, i, x, mine))
                }
                @if viewer.is("council_officer") && x.state == 2 {
                    (decision_form(viewer, i, x, mine))
                }
            }
        }
    }
}

fn field_error<'a>(r: Option<&'a Refused>, id: &str) -> Option<&'a str> {
    r.and_then(|r| crate::layout::error_for(&r.errors, id))
}

fn report_form(viewer: &Viewer, i: usize, x: &PlanException, r: Option<&Refused>) -> Markup {
    let f = r.map(|r| r.form.clone()).unwrap_or_default();
    let rid = if f.request_id.is_empty() {
        new_request_id()
    } else {
        f.request_id.clone()
    };
    let (cause, action, date) = (
        format!("report-{i}-cause"),
        format!("report-{i}-recovery_action"),
        format!("report-{i}-recovery_date"),
    );
    html! {
        form method="post" action={ "/plans/" (x.plan_id) "/exceptions/" (x.exception_id) "/report" } novalidate {
            (write_fields(viewer, &rid))
            input type="hidden" name="etag" value=(x.etag);
            h4.heading-s { "Send an exception report" }
            (Field { name: "cause", ..Field::new(&cause, "Why is the target off track?") }.value(&f.cause).error(field_error(r, &cause)).textarea())
            (Field { name: "recovery_action", ..Field::new(&action, "What will you do about it?") }.value(&f.recovery_action).error(field_error(r, &action)).textarea())
            (Field { name: "recovery_date", ..Field::new(&date, "When will it be back on track?") }
                .hint("For example, 2027-03-31").value(&f.recovery_date).error(field_error(r, &date)).width("input--width-10").input())
            button.button type="submit" { "Send report" span.visually-hidden { " on " (x.target_code) } }
        }
    }
}

fn decision_form(viewer: &Viewer, i: usize, x: &PlanException, r: Option<&Refused>) -> Markup {
    let f = r.map(|r| r.form.clone()).unwrap_or_default();
    let rid = if f.request_id.is_empty() {
        new_request_id()
    } else {
        f.request_id.clone()
    };
    let note = format!("decision-{i}-note");
    let decision = format!("decision-{i}-decision");
    html! {
        form method="post" action={ "/plans/" (x.plan_id) "/exceptions/" (x.exception_id) "/decision" } novalidate {
            (write_fields(viewer, &rid))
            input type="hidden" name="etag" value=(x.etag);
            fieldset {
                legend { "Decide on the report on " (x.target_code) }
                div.radios__item {
                    input id=(decision) type="radio" name="decision" value="accept" checked[f.decision != "escalate"];
                    label for=(decision) { "Accept the report (the exception closes)" }
                }
                div.radios__item {
                    input id={ (decision) "-escalate" } type="radio" name="decision" value="escalate" checked[f.decision == "escalate"];
                    label for={ (decision) "-escalate" } { "Escalate (the ALMO owes a revised report)" }
                }
            }
            (Field { name: "note", ..Field::new(&note, "Note") }.hint("Required to escalate").value(&f.note).error(field_error(r, &note)).textarea())
            button.button type="submit" { "Record decision" }
        }
    }
}

/// Maps the service's field names onto this form's inputs; a reason with no field of the form
/// points at the form's first input.
fn form_errors(
    refusal: &crate::api::Refusal,
    prefix: &str,
    fields: &[&str],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = refusal
        .fields
        .iter()
        .map(|(f, why)| {
            let known = fields
                .iter()
                .find(|k| f == *k || f.ends_with(&format!(".{k}")));
            let target = format!("{prefix}-{}", known.unwrap_or(&fields[0]));
            (target, why.clone())
        })
        .collect();
    if out.is_empty() {
        out.push((format!("{prefix}-{}", fields[0]), refusal.message.clone()));
    }
    out
}

async fn refused_again(
    viewer: &Viewer,
    plan_id: &str,
    refused: Refused,
) -> Result<Response, PageError> {
    let page = render_dashboard(viewer, plan_id, "", Some(&refused)).await?;
    Ok((StatusCode::BAD_REQUEST, Html(page.into_string())).into_response())
}

fn index_of(list: &[PlanException], id: &str) -> usize {
    list.iter().position(|x| x.exception_id == id).unwrap_or(0)
}

pub async fn report_exception(
    viewer: Viewer,
    Path((plan_id, exception_id)): Path<(String, String)>,
    Form(form): Form<ReportForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let api = &viewer.api;
    let res = api
        .plans()
        .submit_exception_report(api.req(SubmitExceptionReportRequest {
            request_id: form.request_id.clone(),
            exception_id: exception_id.clone(),
            etag: form.etag.clone(),
            cause: form.cause.clone(),
            recovery_action: form.recovery_action.clone(),
            recovery_date: form.recovery_date.trim().to_string(),
        }))
        .await;
    match res {
        Ok(_) => {
            Ok(Redirect::to(&format!("/plans/{plan_id}?done=report#exceptions")).into_response())
        }
        Err(s)
            if matches!(
                s.code(),
                tonic::Code::InvalidArgument
                    | tonic::Code::FailedPrecondition
                    | tonic::Code::Aborted
            ) =>
        {
            let refusal = crate::api::Refusal::from(s);
            let open = open_exceptions(&viewer, &plan_id).await?;
            let i = index_of(&open, &exception_id);
            let errors = form_errors(
                &refusal,
                &format!("report-{i}"),
                &["cause", "recovery_action", "recovery_date"],
            );
            refused_again(
                &viewer,
                &plan_id,
                Refused {
                    exception_id,
                    form,
                    errors,
                },
            )
            .await
        }
        Err(s) => Err(s.into()),
    }
}

async fn open_exceptions(viewer: &Viewer, plan_id: &str) -> Result<Vec<PlanException>, PageError> {
    let api = &viewer.api;
    Ok(api
        .plans()
        .get_plan_status(api.req(GetPlanStatusRequest {
            plan_id: plan_id.to_string(),
        }))
        .await?
        .into_inner()
        .open_exceptions)
}

pub async fn decide_exception(
    viewer: Viewer,
    Path((plan_id, exception_id)): Path<(String, String)>,
    Form(form): Form<ReportForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let decision = match form.decision.as_str() {
        "escalate" => 2,
        _ => 1,
    };
    let api = &viewer.api;
    let res = api
        .plans()
        .decide_exception_report(api.req(DecideExceptionReportRequest {
            request_id: form.request_id.clone(),
            exception_id: exception_id.clone(),
            etag: form.etag.clone(),
            decision,
            note: form.note.clone(),
        }))
        .await;
    match res {
        Ok(_) => {
            Ok(Redirect::to(&format!("/plans/{plan_id}?done=decision#exceptions")).into_response())
        }
        Err(s)
            if matches!(
                s.code(),
                tonic::Code::InvalidArgument
                    | tonic::Code::FailedPrecondition
                    | tonic::Code::Aborted
            ) =>
        {
            let refusal = crate::api::Refusal::from(s);
            let open = open_exceptions(&viewer, &plan_id).await?;
            let i = index_of(&open, &exception_id);
            let errors = form_errors(&refusal, &format!("decision-{i}"), &["note", "decision"]);
            refused_again(
                &viewer,
                &plan_id,
                Refused {
                    exception_id,
                    form,
                    errors,
                },
            )
            .await
        }
        Err(s) => Err(s.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_end_on_the_last_day_of_their_month_or_quarter() {
        let p = |kind, number| almo_proto::common::Period {
            year: Some(almo_proto::common::FinancialYear { start_year: 2026 }),
            kind,
            number,
        };
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        assert_eq!(period_end(&p(1, 1)), d("2026-04-30"));
        assert_eq!(period_end(&p(1, 9)), d("2026-12-31"));
        assert_eq!(period_end(&p(1, 11)), d("2027-02-28"));
        assert_eq!(period_end(&p(2, 4)), d("2027-03-31"));
        assert_eq!(period_end(&p(3, 1)), d("2027-03-31"));
    }
}
