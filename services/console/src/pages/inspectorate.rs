//! The inspectorate: the programme calendar (inspectors by week: on site, unavailable, free) and
//! the slot finder (each week for an ALMO, feasible with its team, or ruled out with every hard
//! rule it breaks, named).

use almo_proto::directory::ListOrganisationsRequest;
use almo_proto::inspection::{
    FindSlotsRequest, Inspection, Inspector, ListInspectionsRequest, ListInspectorsRequest,
    Unavailability,
};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;

use super::{long_date, money};
use crate::layout::{Field, error_for, error_summary, page, select, tag};
use crate::session::{PageError, Viewer};

#[derive(Deserialize, Default)]
pub struct CalendarQuery {
    from: Option<String>,
}

const WEEKS: i64 = 12;

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

fn role(r: i32) -> &'static str {
    match r {
        1 => "Lead",
        2 => "Inspector",
        3 => "TIA",
        _ => "",
    }
}

async fn all_inspections(viewer: &Viewer) -> Result<Vec<Inspection>, PageError> {
    let api = &viewer.api;
    let mut out = vec![];
    let mut page_token = String::new();
    for _ in 0..20 {
        let r = api
            .inspections()
            .list_inspections(api.req(ListInspectionsRequest {
                page_size: 500,
                page_token: page_token.clone(),
                ..Default::default()
            }))
            .await?
            .into_inner();
        out.extend(r.inspections);
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    Ok(out)
}

async fn all_inspectors(viewer: &Viewer) -> Result<Vec<Inspector>, PageError> {
    let api = &viewer.api;
    let mut out = vec![];
    let mut page_token = String::new();
    for _ in 0..20 {
        let r = api.inspectors_page(page_token.clone()).await?;
        out.extend(r.inspectors);
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    Ok(out)
}

impl crate::api::Api {
    async fn inspectors_page(
        &self,
        page_token: String,
    ) -> Result<almo_proto::inspection::ListInspectorsResponse, tonic::Status> {
        Ok(self
            .inspections()
            .list_inspectors(self.req(ListInspectorsRequest {
                page_size: 500,
                page_token,
                ..Default::default()
            }))
            .await?
            .into_inner())
    }
}

pub async fn calendar(
    viewer: Viewer,
    Query(q): Query<CalendarQuery>,
) -> Result<Response, PageError> {
    let inspections = all_inspections(&viewer).await?;
    let inspectors = all_inspectors(&viewer).await?;
    let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let mut errors = vec![];
    let from_text = q.from.clone().unwrap_or_default();
    let from = match from_text.trim() {
        "" => {
            // Default: around the newest booking, so the programme opens where the work is.
            let latest = inspections
                .iter()
                .filter_map(|i| date(&i.on_site_start_date))
                .max();
            latest
                .map(|d| monday_of(d) - Duration::weeks(2))
                .unwrap_or_else(|| monday_of(chrono::Utc::now().date_naive()))
        }
        s => match date(s) {
            Some(d) => monday_of(d),
            None => {
                errors.push((
                    "from".to_string(),
                    "Enter the first week as a date, like 2008-10-20".to_string(),
                ));
                monday_of(chrono::Utc::now().date_naive())
            }
        },
    };
    let weeks: Vec<NaiveDate> = (0..WEEKS).map(|w| from + Duration::weeks(w)).collect();
    let on_site = |ins: &Inspector, week: NaiveDate| {
        inspections.iter().find(|i| {
            i.status != 2
                && date(&i.on_site_start_date).map(monday_of) == Some(week)
                && i.team.iter().any(|m| m.inspector_id == ins.inspector_id)
        })
    };
    fn away(ins: &Inspector, week: NaiveDate) -> Option<&Unavailability> {
        let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let friday = week + Duration::days(4);
        ins.unavailability.iter().find(|u| {
            matches!((date(&u.start_date), date(&u.end_date)), (Some(s), Some(e)) if s <= friday && e >= week)
        })
    }
    let from_error = errors.first().map(|(_, m): &(String, String)| m.as_str());
    let body = html! {
        (error_summary(&errors))
        h1.heading-l { "Programme calendar" }
        p.body { "Each inspector's weeks from " (from.format("%-d %B %Y")) ": the ALMO they are on site with, or why they are unavailable. Cancelled inspections hold no week." }
        form method="get" action="/calendar" novalidate {
            (Field::new("from", "Show 12 weeks from").hint("A date; the calendar starts on that week's Monday, for example 2008-10-20").value(&from.to_string()).error(from_error).width("input--width-10").input())
            button.button.button--secondary type="submit" { "Show weeks" }
        }
        p.body {
            a href={ "/calendar?from=" (from - Duration::weeks(WEEKS)) } { "Previous 12 weeks" }
            " · "
            a href={ "/calendar?from=" (from + Duration::weeks(WEEKS)) } { "Next 12 weeks" }
        }
        div.table-wrap {
            table.table.table--compact #calendar {
                caption.visually-hidden { "Inspectors by week commencing" }
                thead { tr {
                    th scope="col" { "Inspector" }
                    @for w in &weeks { th scope="col" { "w/c " (w.format("%-d %b %Y")) } }
                } }
                tbody {
                    @for ins in &inspectors {
                        tr {
                            th scope="row" { (ins.name) br; span.hint { (role(ins.role)) ", " (ins.region) } }
                            @for w in &weeks {
                                td {
                                    @if let Some(i) = on_site(ins, *w) {
                                        span.cell-on-site { "On site: " (i.almo_id) }
                                    } @else if let Some(u) = away(ins, *w) {
                                        (tag("Unavailable", "grey")) " " (u.reason)
                                    } @else {
                                        span.hint { "Free" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2.heading-m { "Inspections" }
        table.table.table--compact {
            caption.visually-hidden { "Inspections" }
            thead { tr { th scope="col" { "Inspection" } th scope="col" { "On site from" } th scope="col" { "Weeks to publication" } th scope="col" { "Team" } th scope="col" { "Stages late or overdue" } } }
            tbody {
                @for i in &inspections {
                    tr {
                        th scope="row" { a href={ "/inspections/" (i.inspection_id) } { (i.inspection_id) } }
                        td { (long_date(&i.on_site_start_date)) }
                        td { (i.span_weeks) }
                        td { (i.team.iter().map(|m| m.name.clone()).collect::<Vec<_>>().join(", ")) }
                        td {
                            @let overdue: Vec<_> = i.stages.iter().filter(|s| s.overdue).collect();
                            @if overdue.is_empty() { "None" } @else { (tag(&format!("{} overdue", overdue.len()), "red")) }
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
        Html(page(&viewer, "Programme calendar", "/calendar", body).into_string()),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
pub struct SlotsQuery {
    almo: Option<String>,
    start: Option<String>,
    end: Option<String>,
}

pub async fn slots(viewer: Viewer, Query(q): Query<SlotsQuery>) -> Result<Response, PageError> {
    let api = &viewer.api;
    let asked = q.almo.is_some();
    let almo = q
        .almo
        .clone()
        .unwrap_or_else(|| "NOTTINGHAM-CITY-HOMES".into());
    let start = q.start.clone().unwrap_or_else(|| "2027-01-04".into());
    let end = q.end.clone().unwrap_or_else(|| "2027-03-29".into());
    let mut errors: Vec<(String, String)> = vec![];
    for (id, v) in [("start", &start), ("end", &end)] {
        if let Err(why) = almo_fields::date(v.trim()) {
            errors.push((
                id.into(),
                format!(
                    "Enter the {} of the window as a date, like 2027-01-04: {why}",
                    if id == "start" {
                        "first day"
                    } else {
                        "last day"
                    }
                ),
            ));
        }
    }
    let almos: Vec<(String, String)> = match api
        .directory()
        .list_organisations(api.req(ListOrganisationsRequest {
            kind: 2,
            page_size: 1000,
            ..Default::default()
        }))
        .await
    {
        Ok(r) => r
            .into_inner()
            .organisations
            .into_iter()
            .map(|o| (o.id.clone(), format!("{} ({})", o.name, o.id)))
            .collect(),
        Err(_) => vec![],
    };
    let mut result: Option<Markup> = None;
    if asked && errors.is_empty() {
        match api
            .inspections()
            .find_slots(api.req(FindSlotsRequest {
                almo_id: almo.clone(),
                window_start_date: start.trim().into(),
                window_end_date: end.trim().into(),
                max_slots: 5,
            }))
            .await
        {
            Ok(r) => result = Some(render_slots(&r.into_inner())),
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::InvalidArgument
                        | tonic::Code::FailedPrecondition
                        | tonic::Code::NotFound
                ) =>
            {
                let r = crate::api::Refusal::from(s);
                let target = |f: &str| match f {
                    "window_start_date" => "start",
                    "window_end_date" => "end",
                    _ => "almo",
                };
                errors.extend(r.form_errors("almo", target));
            }
            Err(s) => return Err(s.into()),
        }
    }
    let err = |id: &str| error_for(&errors, id);
    let body = html! {
        (error_summary(&errors))
        h1.heading-l { "Slot finder" }
        p.body { "Every on-site week in the window for one ALMO, in date order until five feasible weeks are found: a feasible week with a team that keeps every hard rule and its soft score, a ruled-out week with every rule it breaks." }
        form method="get" action="/slots" novalidate {
            @if almos.is_empty() {
                (Field::new("almo", "ALMO").hint("Its directory id, for example NOTTINGHAM-CITY-HOMES").value(&almo).error(err("almo")).width("input--width-20").input())
            } @else {
                @if let Some(e) = err("almo") { p.error-message #almo-error { span.visually-hidden { "Error: " } (e) } }
                (select("almo", "ALMO", &almos, &almo))
            }
            div.grid-row {
                div { (Field::new("start", "First day of the window").hint("For example, 2027-01-04").value(&start).error(err("start")).width("input--width-10").input()) }
                div { (Field::new("end", "Last day of the window").hint("For example, 2027-03-29").value(&end).error(err("end")).width("input--width-10").input()) }
            }
            button.button.button--secondary type="submit" { "Find weeks" }
        }
        @if let Some(r) = result { (r) }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((
        status,
        Html(page(&viewer, "Slot finder", "/slots", body).into_string()),
    )
        .into_response())
}

fn render_slots(r: &almo_proto::inspection::FindSlotsResponse) -> Markup {
    let feasible = r.slots.iter().filter(|s| s.feasible).count();
    html! {
        h2.heading-m #slots { (feasible) " feasible of " (r.slots.len()) " weeks examined" }
        p.body { "A team of " (r.required_inspectors) " inspectors including the lead, and " (r.required_tias) " tenant inspection advisers; " (r.span_weeks) " weeks from arrival on site to publication; fee estimate " (money(r.fee_estimate.as_ref())) "." }
        table.table.table--compact {
            caption.visually-hidden { "Weeks examined" }
            thead { tr { th scope="col" { "Week on site" } th scope="col" { "Verdict" } th scope="col" { "Team or reasons" } th scope="col" class="numeric" { "Soft score" } } }
            tbody {
                @for s in &r.slots {
                    tr {
                        th scope="row" { (long_date(&s.on_site_start_date)) " to " (long_date(&s.on_site_end_date)) }
                        td { @if s.feasible { (tag("Feasible", "green")) } @else { (tag("Ruled out", "red")) } }
                        td {
                            @if s.feasible {
                                (s.team.iter().map(|m| format!("{} ({})", m.name, role(m.role))).collect::<Vec<_>>().join(", "))
                                @if !s.penalties.is_empty() {
                                    ul.list.list--bullet { @for p in &s.penalties { li { (p.justification) " (+" (p.points) ")" } } }
                                }
                            } @else {
                                ul.list.list--bullet { @for b in &s.broken_rules { li { (b.description) " " span.hint { "(" (b.code) ")" } } } }
                            }
                        }
                        td.numeric { @if s.feasible { (s.soft_score) } @else { "–" } }
                    }
                }
            }
        }
    }
}

fn stage_name(s: i32) -> &'static str {
    match s {
        1 => "Booked",
        2 => "On site",
        3 => "Draft report",
        4 => "Comments and round table",
        5 => "Score letter",
        6 => "Published",
        _ => "Unknown",
    }
}

/// One inspection: its stages against the 10 to 16 weeks from arrival on site to publication,
/// the outcome and what it means for Decent Homes funding.
pub async fn inspection(
    viewer: Viewer,
    axum::extract::Path(inspection_id): axum::extract::Path<String>,
) -> Result<Response, PageError> {
    use almo_proto::inspection::{GetFundingEligibilityRequest, GetInspectionRequest};
    let api = &viewer.api;
    let i = api
        .inspections()
        .get_inspection(api.req(GetInspectionRequest {
            inspection_id: inspection_id.clone(),
        }))
        .await?
        .into_inner()
        .inspection
        .unwrap_or_default();
    let eligibility = api
        .inspections()
        .get_funding_eligibility(api.req(GetFundingEligibilityRequest {
            almo_id: i.almo_id.clone(),
        }))
        .await
        .ok()
        .and_then(|r| r.into_inner().eligibility);
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let start = date(&i.on_site_start_date);
    let window = start.map(|s| (s + Duration::weeks(10), s + Duration::weeks(16)));
    let body = html! {
        span.caption { a href="/calendar" { "Programme calendar" } }
        h1.heading-l { "Inspection of " (i.almo_id) }
        (crate::layout::summary_list(&[
            ("Inspection", html! { (i.inspection_id) }),
            ("Status", html! { @if i.status == 2 { (tag("Cancelled", "grey")) } @else { (tag(stage_name(i.stage), "blue")) } }),
            ("Council", html! { (i.council_id) }),
            ("On site from", html! { (long_date(&i.on_site_start_date)) }),
            ("Publication window", html! {
                @if let Some((a, b)) = window {
                    "10 to 16 weeks from arrival: " (a.format("%-d %B %Y")) " to " (b.format("%-d %B %Y")) "; planned at " (i.span_weeks) " weeks"
                }
            }),
            ("Team", html! { (i.team.iter().map(|m| format!("{} ({})", m.name, role(m.role))).collect::<Vec<_>>().join(", ")) }),
            ("Fee estimate", html! { (money(i.fee_estimate.as_ref())) }),
        ]))
        h2.heading-m { "Stages" }
        table.table {
            caption.visually-hidden { "Stages, planned and actual" }
            thead { tr { th scope="col" { "Stage" } th scope="col" { "Planned" } th scope="col" { "Actual" } th scope="col" { "Verdict" } } }
            tbody {
                @for s in &i.stages {
                    tr {
                        th scope="row" { (stage_name(s.stage)) }
                        td { (long_date(&s.planned_date)) }
                        td { @if s.actual_date.is_empty() { "Not yet" } @else { (long_date(&s.actual_date)) } }
                        td {
                            @match (date(&s.planned_date), date(&s.actual_date)) {
                                (Some(p), Some(a)) if a > p => { (tag(&format!("Late by {} days", (a - p).num_days()), "red")) }
                                (_, Some(_)) => { (tag("On time", "green")) }
                                _ if s.overdue => { (tag("Overdue", "red")) }
                                _ => { (tag("Planned", "grey")) }
                            }
                        }
                    }
                }
            }
        }
        h2.heading-m { "Outcome and funding" }
        @if let Some(o) = &i.outcome {
            (crate::layout::summary_list(&[
                ("Current service", html! { (o.stars) " stars (" (o.star_label) ")" }),
                ("Prospects for improvement", html! { (match o.prospects { 1 => "Poor", 2 => "Uncertain", 3 => "Promising", 4 => "Excellent", _ => "" }) }),
                ("Score letter", html! { (long_date(&o.score_letter_date)) }),
            ]))
        } @else {
            p.body { "No outcome recorded yet." }
        }
        @if let Some(e) = &eligibility {
            (crate::layout::summary_list(&[
                ("Decent Homes funding", html! {
                    @if e.eligible { (tag("Eligible", "green")) " from " (long_date(&e.effective_from_date)) }
                    @else { (tag("Not eligible", "red")) }
                }),
                ("Re-inspection no earlier than", html! {
                    @if e.earliest_reinspection_date.is_empty() { "Not needed (2 stars or more)" }
                    @else { (long_date(&e.earliest_reinspection_date)) }
                    @if e.earliest_reinspection_provisional { " (provisional: publication is only planned)" }
                }),
                ("Support framework", html! { (if e.support_framework { "Improvement plan to agree" } else { "No" }) }),
                ("Deadline to qualify", html! {
                    (long_date(&e.qualifying_deadline_date))
                    @if e.qualifying_deadline_missed { " " (tag("Missed", "red")) }
                }),
            ]))
        }
    };
    Ok(Html(
        page(
            &viewer,
            &format!("Inspection {}", i.inspection_id),
            "/calendar",
            body,
        )
        .into_string(),
    )
    .into_response())
}
