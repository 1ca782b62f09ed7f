//! Variance upload: a CSV of a period's figures for one plan, pushed in one go; every refused
//! line comes back with its line number, field and reason.

use almo_proto::delivery_plan::{PushVariancesRequest, PushVariancesResponse};
use axum::extract::{Multipart, Path};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use crate::layout::{error_summary, new_request_id, page, summary_list, write_fields};
use crate::session::{PageError, Viewer};
use crate::variance_csv::{self, BadLine, HEADER};

const BATCH: usize = 500;

pub async fn form(viewer: Viewer, Path(plan_id): Path<String>) -> Result<Html<String>, PageError> {
    Ok(Html(render(&viewer, &plan_id, &[], None).into_string()))
}

struct Outcome {
    response: PushVariancesResponse,
    bad: Vec<BadLine>,
    rows: usize,
}

fn render(
    viewer: &Viewer,
    plan_id: &str,
    errors: &[(String, String)],
    outcome: Option<&Outcome>,
) -> Markup {
    let file_error = errors.iter().find(|(f, _)| f == "file").map(|(_, m)| m);
    let body = html! {
        (error_summary(errors))
        span.caption { a href={ "/plans/" (plan_id) } { (plan_id) } }
        h1.heading-l { "Upload variances" }
        @if let Some(o) = outcome {
            h2.heading-m #result { "What happened to the file" }
            (summary_list(&[
                ("Rows read", html! { (o.rows) }),
                ("Recorded", html! { (o.response.accepted) }),
                ("Corrections", html! { (o.response.corrected) }),
                ("Unchanged", html! { (o.response.unchanged) }),
                ("Refused", html! { (o.bad.len()) }),
                ("Exceptions raised", html! { (o.response.exceptions_raised.len()) }),
            ]))
            @if !o.bad.is_empty() {
                table.table #refused {
                    caption { "Refused lines: correct them and upload the file again (lines already recorded stay unchanged)" }
                    thead { tr { th scope="col" { "Line" } th scope="col" { "Field" } th scope="col" { "Reason" } } }
                    tbody {
                        @for b in &o.bad {
                            tr { th scope="row" { (b.line) } td { (b.field) } td { (b.reason) } }
                        }
                    }
                }
            }
            p.body { a href={ "/plans/" (plan_id) } { "Back to the plan dashboard" } }
            h2.heading-m { "Upload another file" }
        }
        p.body { "One row per figure, UTF-8, with this header:" }
        pre.inset-text { (HEADER.join(",")) "\nLBH-2026-M01-RENT,LOCAL-RENT,2026,M1,97.2,97.5,\"Benefit backlog, now cleared\"" }
        p.body { "Year is the financial year (2026 or 2026/27); period M1 to M12 (April is M1) or Q1 to Q4; forecast and commentary may be empty. Uploading the same file again changes nothing; a changed figure under the same record id is a correction." }
        form method="post" action={ "/plans/" (plan_id) "/variances" } enctype="multipart/form-data" novalidate {
            (write_fields(viewer, &new_request_id()))
            div.form-group.form-group--error[file_error.is_some()] {
                label.label for="file" { "CSV file" }
                @if let Some(e) = file_error {
                    p.error-message #file-error { span.visually-hidden { "Error: " } (e) }
                }
                input.file-upload #file name="file" type="file" accept=".csv,text/csv"
                    aria-describedby=[file_error.map(|_| "file-error")];
            }
            button.button type="submit" { "Upload" }
        }
    };
    page(viewer, "Upload variances", "/plans", body)
}

pub async fn upload(
    viewer: Viewer,
    Path(plan_id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let (mut csrf, mut request_id, mut file) = (String::new(), String::new(), None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| PageError::BadRequest(format!("The upload could not be read: {e}")))?
    {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "request_id" => request_id = field.text().await.unwrap_or_default(),
            "file" => {
                let bytes = field.bytes().await.map_err(|e| {
                    PageError::BadRequest(format!("The upload could not be read: {e}"))
                })?;
                file = Some(bytes);
            }
            _ => {}
        }
    }
    viewer.check_csrf(&csrf)?;
    let again = |msg: String| {
        let errors = vec![("file".to_string(), msg)];
        (
            StatusCode::BAD_REQUEST,
            Html(render(&viewer, &plan_id, &errors, None).into_string()),
        )
            .into_response()
    };
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return Ok(again("Select a CSV file".into()));
    };
    let parsed = match variance_csv::parse(&bytes) {
        Ok(p) => p,
        Err(reason) => {
            return Ok(again(format!(
                "The selected file could not be read: {reason}"
            )));
        }
    };
    let rows = parsed.records.len() + parsed.bad.len();
    let mut bad = parsed.bad;
    let mut response = PushVariancesResponse::default();
    if !parsed.records.is_empty() {
        let records: Vec<_> = parsed.records.iter().map(|(_, r)| r.clone()).collect();
        let messages: Vec<_> = records
            .chunks(BATCH)
            .enumerate()
            .map(|(i, chunk)| PushVariancesRequest {
                request_id: if i == 0 {
                    request_id.clone()
                } else {
                    String::new()
                },
                plan_id: if i == 0 {
                    plan_id.clone()
                } else {
                    String::new()
                },
                records: chunk.to_vec(),
            })
            .collect();
        let api = &viewer.api;
        match api
            .plans()
            .push_variances(api.req(tokio_stream::iter(messages)))
            .await
        {
            Ok(r) => response = r.into_inner(),
            Err(s) if s.code() == tonic::Code::InvalidArgument => {
                let r = crate::api::Refusal::from(s);
                let mut msg = r.message.clone();
                if let Some((f, why)) = r.fields.first() {
                    msg = format!("{f}: {why}");
                }
                return Ok(again(msg));
            }
            Err(s) => return Err(s.into()),
        }
        for refusal in &response.refusals {
            let line = parsed
                .records
                .get(refusal.index as usize)
                .map(|(l, _)| *l)
                .unwrap_or(0);
            bad.push(BadLine {
                line,
                field: refusal.field.clone(),
                reason: refusal.reason.clone(),
            });
        }
    }
    bad.sort_by_key(|b| b.line);
    let errors: Vec<(String, String)> = if bad.is_empty() {
        vec![]
    } else {
        vec![(
            "refused".to_string(),
            format!(
                "{} {} refused: see the lines below",
                bad.len(),
                if bad.len() == 1 {
                    "line was"
                } else {
                    "lines were"
                }
            ),
        )]
    };
    let status = if bad.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let outcome = Outcome {
        response,
        bad,
        rows,
    };
    Ok((
        status,
        Html(render(&viewer, &plan_id, &errors, Some(&outcome)).into_string()),
    )
        .into_response())
}
