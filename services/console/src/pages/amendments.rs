//! A plan's amendments; the party that did not propose one agrees to it or rejects it.

use almo_proto::delivery_plan::{
    AgreeAmendmentRequest, Amendment, ListAmendmentsRequest, RejectAmendmentRequest,
};
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{instant, long_date};
use crate::api::Refusal;
use crate::layout::{
    Field, error_summary, new_request_id, page, success_banner, tag, write_fields,
};
use crate::session::{PageError, Viewer};

#[derive(Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    etag: String,
    #[serde(default)]
    note: String,
}

fn state(s: i32) -> Markup {
    match s {
        1 => tag("Proposed", "blue"),
        2 => tag("Agreed", "green"),
        3 => tag("Rejected", "red"),
        4 => tag("Withdrawn", "grey"),
        _ => tag("Unknown", "grey"),
    }
}

fn party(p: i32) -> &'static str {
    match p {
        1 => "Council",
        2 => "ALMO",
        _ => "",
    }
}

/// Whether the viewer's side is the one to answer (the other party from the proposer).
fn may_answer(viewer: &Viewer, a: &Amendment) -> bool {
    a.state == 1
        && a.proposer_organisation_id != viewer.organisation_id
        && matches!(viewer.role.as_str(), "council_officer" | "almo_officer")
}

struct Refused {
    amendment_id: String,
    form: DecisionForm,
    errors: Vec<(String, String)>,
}

pub async fn list(
    viewer: Viewer,
    Path(plan_id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Html<String>, PageError> {
    Ok(Html(
        render(&viewer, &plan_id, &q.done, None)
            .await?
            .into_string(),
    ))
}

async fn render(
    viewer: &Viewer,
    plan_id: &str,
    done: &str,
    refused: Option<&Refused>,
) -> Result<Markup, PageError> {
    let api = &viewer.api;
    let amendments = api
        .plans()
        .list_amendments(api.req(ListAmendmentsRequest {
            plan_id: plan_id.to_string(),
        }))
        .await?
        .into_inner()
        .amendments;
    let errors = refused.map(|r| r.errors.clone()).unwrap_or_default();
    let body = html! {
        (error_summary(&errors))
        @match done {
            "agree" => (success_banner("Amendment agreed", "The plan has a new version.")),
            "reject" => (success_banner("Amendment rejected", "")),
            _ => {}
        }
        span.caption { a href={ "/plans/" (plan_id) } { (plan_id) } }
        h1.heading-l { "Amendments" }
        p.body { "An amendment takes effect only when the other party agrees to it; every earlier version stays readable." }
        @if amendments.is_empty() { p.body { "This plan has no amendments." } }
        @for (i, a) in amendments.iter().enumerate() {
            div.inset-text {
                h2.heading-s { (a.amendment_id) " " (state(a.state)) }
                dl.summary-list {
                    div.summary-list__row { dt.summary-list__key { "Proposed by" } dd.summary-list__value { (party(a.proposed_by)) " (" (a.proposer_organisation_id) "), " (instant(a.create_time.as_ref())) } }
                    div.summary-list__row { dt.summary-list__key { "Against version" } dd.summary-list__value { (a.base_version) } }
                    div.summary-list__row { dt.summary-list__key { "Takes effect" } dd.summary-list__value { (long_date(&a.effective_date)) } }
                    div.summary-list__row { dt.summary-list__key { "Reason" } dd.summary-list__value { (a.reason) } }
                    @if !a.decision_note.is_empty() {
                        div.summary-list__row { dt.summary-list__key { "Decision note" } dd.summary-list__value { (a.decision_note) " (" (a.decided_by_organisation_id) ")" } }
                    }
                    @if a.resulting_version > 0 {
                        div.summary-list__row { dt.summary-list__key { "Made version" } dd.summary-list__value { (a.resulting_version) } }
                    }
                }
                @if may_answer(viewer, a) {
                    @let mine = refused.filter(|r| r.amendment_id == a.amendment_id);
                    @let f = mine.map(|r| r.form.clone()).unwrap_or_default();
                    @let rid = if f.request_id.is_empty() { new_request_id() } else { f.request_id.clone() };
                    @let note_id = format!("amendment-{i}-note");
                    @let note_error = mine.and_then(|r| r.errors.iter().find(|(k, _)| *k == note_id).map(|(_, m)| m.as_str()));
                    form method="post" action={ "/plans/" (plan_id) "/amendments/" (a.amendment_id) "/agree" } novalidate {
                        (write_fields(viewer, &rid))
                        input type="hidden" name="etag" value=(a.etag);
                        (Field { name: "note", ..Field::new(&note_id, "Note") }
                            .hint("Required to reject; optional to agree").value(&f.note).error(note_error).textarea())
                        button.button type="submit" { "Agree" span.visually-hidden { " to " (a.amendment_id) } }
                        button.button.button--warning type="submit" formaction={ "/plans/" (plan_id) "/amendments/" (a.amendment_id) "/reject" } {
                            "Reject" span.visually-hidden { " " (a.amendment_id) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(viewer, "Amendments", "/plans", body))
}

pub async fn decide(
    viewer: Viewer,
    Path((plan_id, amendment_id, decision)): Path<(String, String, String)>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let api = &viewer.api;
    let res = match decision.as_str() {
        "agree" => api
            .plans()
            .agree_amendment(api.req(AgreeAmendmentRequest {
                request_id: form.request_id.clone(),
                amendment_id: amendment_id.clone(),
                etag: form.etag.clone(),
                note: form.note.clone(),
            }))
            .await
            .map(|_| ()),
        "reject" => api
            .plans()
            .reject_amendment(api.req(RejectAmendmentRequest {
                request_id: form.request_id.clone(),
                amendment_id: amendment_id.clone(),
                etag: form.etag.clone(),
                note: form.note.clone(),
            }))
            .await
            .map(|_| ()),
        _ => return Err(PageError::NotFound),
    };
    match res {
        Ok(()) => Ok(
            Redirect::to(&format!("/plans/{plan_id}/amendments?done={decision}")).into_response(),
        ),
        Err(s)
            if matches!(
                s.code(),
                tonic::Code::InvalidArgument
                    | tonic::Code::FailedPrecondition
                    | tonic::Code::Aborted
            ) =>
        {
            let refusal = Refusal::from(s);
            let amendments = api
                .plans()
                .list_amendments(api.req(ListAmendmentsRequest {
                    plan_id: plan_id.clone(),
                }))
                .await?
                .into_inner()
                .amendments;
            let i = amendments
                .iter()
                .position(|a| a.amendment_id == amendment_id)
                .unwrap_or(0);
            let target = format!("amendment-{i}-note");
            let mut errors: Vec<(String, String)> = refusal
                .fields
                .iter()
                .map(|(_, why)| (target.clone(), why.clone()))
                .collect();
            if errors.is_empty() {
                errors.push((target, refusal.message.clone()));
            }
            let page = render(
                &viewer,
                &plan_id,
                "",
                Some(&Refused {
                    amendment_id,
                    form,
                    errors,
                }),
            )
            .await?;
            Ok((StatusCode::BAD_REQUEST, Html(page.into_string())).into_response())
        }
        Err(s) => Err(s.into()),
    }
}
