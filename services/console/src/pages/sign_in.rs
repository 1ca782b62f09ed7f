//! Development sign-in: pick an organisation from the directory and a role; the console mints a
//! token with the built-in development secret (so only a development suite accepts it) and keeps
//! it in an HttpOnly, SameSite=Strict cookie. Not offered unless configured.

use almo_auth::{Minter, Role, TokenRequest};
use almo_proto::directory::ListOrganisationsRequest;
use axum::Form;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::api::Api;
use crate::layout::{anonymous_page, error_summary, role_label};
use crate::session::{
    CSRF_COOKIE, CsrfToken, PageError, SESSION_COOKIE, cookie, csrf_matches, set_cookie,
};
use crate::{AppState, DEV_AUDIENCE, DEV_ISSUER, DEV_SECRET};

/// Eight hours: a working day.
const SESSION_SECS: u64 = 8 * 3600;

fn minter() -> Minter {
    Minter::new(DEV_SECRET.as_bytes(), DEV_ISSUER, DEV_AUDIENCE)
}

/// The directory as the operator sees it, to choose from; the demo organisations if that fails.
async fn organisations(state: &AppState) -> Vec<(String, String)> {
    let token = minter().mint(&TokenRequest {
        subject: "console-sign-in@OPERATOR".into(),
        organisation_id: "OPERATOR".into(),
        role: Role::Admin,
        ttl_secs: 60,
    });
    let api = Api::new(state.inner.channels.clone(), token);
    let mut out = vec![];
    let mut page_token = String::new();
    for _ in 0..10 {
        let Ok(r) = api
            .directory()
            .list_organisations(api.req(ListOrganisationsRequest {
                page_size: 500,
                page_token: page_token.clone(),
                ..Default::default()
            }))
            .await
        else {
            break;
        };
        let r = r.into_inner();
        out.extend(
            r.organisations
                .into_iter()
                .map(|o| (o.id.clone(), format!("{} ({})", o.name, o.id))),
        );
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    if out.is_empty() {
        for (id, name) in [
            ("E09000022", "London Borough of Lambeth"),
            ("LAMBETH-LIVING", "Lambeth Living"),
            ("E09000014", "London Borough of Haringey"),
            ("HOMES-FOR-HARINGEY", "Homes for Haringey"),
            ("RSH", "Regulator of Social Housing"),
            ("HOUSING-INSPECTORATE", "Housing Inspectorate"),
        ] {
            out.push((id.into(), format!("{name} ({id})")));
        }
    }
    out
}

#[derive(Deserialize, Default)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    role: String,
}

async fn render(
    state: &AppState,
    csrf: &str,
    form: &SignInForm,
    errors: &[(String, String)],
) -> Markup {
    let orgs = organisations(state).await;
    let selected = if form.organisation.is_empty() {
        "E09000022"
    } else {
        form.organisation.as_str()
    };
    let role_error = errors.iter().find(|(f, _)| f == "role").map(|(_, m)| m);
    anonymous_page(
        "Sign in",
        html! {
            (error_summary(errors))
            h1.heading-l { "Sign in (development)" }
            p.body { "This suite runs with the built-in development secret, so you can sign in as any organisation in its directory in any role. In production the console is reached through your organisation's sign-in instead." }
            form.sign-in-form method="post" action="/sign-in" novalidate {
                input type="hidden" name="csrf" value=(csrf);
                div.form-group {
                    label.label for="organisation" { "Organisation" }
                    div.hint #organisation-hint { "Councils are listed by their ONS code, ALMOs by their registered code." }
                    select.select #organisation name="organisation" aria-describedby="organisation-hint" {
                        @for (id, text) in &orgs {
                            option value=(id) selected[id == selected] { (text) }
                        }
                    }
                }
                div.form-group.form-group--error[role_error.is_some()] {
                    fieldset aria-describedby=[role_error.map(|_| "role-error")] {
                        legend { "Role" }
                        @if let Some(e) = role_error {
                            p.error-message #role-error { span.visually-hidden { "Error: " } (e) }
                        }
                        @for (i, role) in Role::ALL.iter().enumerate() {
                            @let id = if i == 0 { "role".to_string() } else { format!("role-{}", role.as_str()) };
                            div.radios__item {
                                input #(id) type="radio" name="role" value=(role.as_str())
                                    checked[form.role == role.as_str() || (form.role.is_empty() && i == 0)];
                                label for=(id) { (role_label(role.as_str())) " (" (role.as_str()) ")" }
                            }
                        }
                    }
                }
                button.button type="submit" { "Sign in" }
            }
        },
    )
}

pub async fn form(
    State(state): State<AppState>,
    axum::Extension(CsrfToken(csrf)): axum::Extension<CsrfToken>,
) -> Result<Html<String>, PageError> {
    if !state.config().dev_sign_in {
        return Err(PageError::NotFound);
    }
    Ok(Html(
        render(&state, &csrf, &SignInForm::default(), &[])
            .await
            .into_string(),
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    if !state.config().dev_sign_in {
        return Err(PageError::NotFound);
    }
    let csrf = cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    if csrf.is_empty() || !csrf_matches(&csrf, &form.csrf) {
        return Err(PageError::Csrf);
    }
    let again = |errors: Vec<(String, String)>| {
        let state = state.clone();
        let csrf = csrf.clone();
        let form = &form;
        async move {
            let page = render(&state, &csrf, form, &errors).await;
            (StatusCode::BAD_REQUEST, Html(page.into_string())).into_response()
        }
    };
    let role: Role = match form.role.parse() {
        Ok(r) => r,
        Err(_) => return Ok(again(vec![("role".into(), "Select a role".into())]).await),
    };
    let org = form.organisation.trim().to_string();
    let token = minter().mint(&TokenRequest {
        subject: format!("{}@{org}", role.as_str()),
        organisation_id: org,
        role,
        ttl_secs: SESSION_SECS,
    });
    // The services decide whether this organisation may hold this role: their reason is shown.
    let api = Api::new(state.inner.channels.clone(), token.clone());
    if let Err(r) = api.who_am_i().await {
        return Ok(again(vec![("role".into(), r.message)]).await);
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(
        SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &token, Some(SESSION_SECS as i64)),
    );
    // A fresh CSRF token for the new session.
    res.headers_mut()
        .append(SET_COOKIE, set_cookie(&state, CSRF_COOKIE, "", Some(0)));
    Ok(res)
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Result<Response, PageError> {
    let csrf = cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    if csrf.is_empty() || !csrf_matches(&csrf, &form.csrf) {
        return Err(PageError::Csrf);
    }
    let mut res = Redirect::to(if state.config().dev_sign_in {
        "/sign-in"
    } else {
        "/"
    })
    .into_response();
    res.headers_mut()
        .append(SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", Some(0)));
    Ok(res)
}
