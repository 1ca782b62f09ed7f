//! The page shell and the GOV.UK Design System components the pages share: header, service
//! navigation, skip link, error summary, summary list, tags, text inputs.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::api::Refusal;
use crate::session::Viewer;

const STYLESHEET: &str = include_str!("../static/console.css");

/// `GET /static/console.css`: the only style the pages use (the CSP allows no other).
pub async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The navigation for a role: each user group's pages.
fn nav_for(role: &str) -> Vec<(&'static str, &'static str)> {
    match role {
        "council_officer" | "almo_officer" => vec![("/plans", "Delivery plans")],
        "council_finance" | "almo_finance" => {
            vec![("/invoices", "Invoices"), ("/agreements", "Agreements")]
        }
        "regulator" => vec![
            ("/benchmark", "Benchmark"),
            ("/returns/outstanding", "Outstanding returns"),
            ("/management-models", "ALMO or in-house"),
        ],
        "inspectorate" => vec![("/calendar", "Calendar"), ("/slots", "Slot finder")],
        _ => vec![],
    }
}

pub fn nav_links(role: &str) -> Vec<(&'static str, &'static str)> {
    nav_for(role)
}

fn shell(title: &str, viewer: Option<&Viewer>, active: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – ALMO exchange console" }
                link rel="stylesheet" href="/static/console.css";
            }
            body {
                a.skip-link href="#main-content" { "Skip to main content" }
                header.header {
                    div.width-container.header__inner {
                        a.header__service href="/" { "ALMO exchange console" }
                        @if let Some(v) = viewer {
                            div.header__who {
                                span { (v.organisation_name) " · " (role_label(&v.role)) }
                                @if v.dev_sign_in {
                                    form method="post" action="/sign-out" {
                                        input type="hidden" name="csrf" value=(v.csrf);
                                        button.link-button type="submit" { "Sign out" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(v) = viewer {
                    @let links = nav_for(&v.role);
                    @if !links.is_empty() {
                        nav.service-nav aria-label="Menu" {
                            ul.width-container.service-nav__list {
                                @for (href, label) in links {
                                    li.service-nav__item {
                                        @if active == href {
                                            a.service-nav__link href=(href) aria-current="page" { strong { (label) } }
                                        } @else {
                                            a.service-nav__link href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div.width-container {
                    div.phase-banner {
                        strong.tag { "Beta" }
                        " Every page shows only what your organisation and role may read."
                    }
                    main.main-wrapper #main-content {
                        (main)
                    }
                }
                footer.footer {
                    div.width-container {
                        p { "almo-exchange · data exchanged between councils, ALMOs, the regulator and the inspectorate" }
                    }
                }
            }
        }
    }
}

/// A signed-in page.
pub fn page(viewer: &Viewer, title: &str, active: &str, main: Markup) -> Markup {
    shell(title, Some(viewer), active, main)
}

/// A page without a signed-in user (sign-in, errors).
pub fn anonymous_page(title: &str, main: Markup) -> Markup {
    shell(title, None, "", main)
}

pub fn bare_page(title: &str, heading: &str, text: &str) -> Html<String> {
    Html(
        anonymous_page(
            title,
            html! {
                h1.heading-l { (heading) }
                p.body { (text) }
                p.body { a href="/" { "Go to the start page" } }
            },
        )
        .into_string(),
    )
}

/// The service's refusal, its reason shown as given (never a stack or a transport error).
pub fn refusal_page(r: &Refusal) -> Html<String> {
    Html(
        anonymous_page(
            r.title(),
            html! {
                h1.heading-l { (r.title()) }
                p.body { "The service said: " strong { (r.message) } }
                @if !r.fields.is_empty() {
                    ul.list.list--bullet {
                        @for (f, why) in &r.fields { li { (f) ": " (why) } }
                    }
                }
                p.body { a href="/" { "Go to the start page" } }
            },
        )
        .into_string(),
    )
}

/// A readable role.
pub fn role_label(role: &str) -> &str {
    match role {
        "council_officer" => "Council officer",
        "council_finance" => "Council finance",
        "almo_officer" => "ALMO officer",
        "almo_finance" => "ALMO finance",
        "regulator" => "Regulator",
        "inspectorate" => "Inspectorate",
        "admin" => "Operator",
        other => other,
    }
}

/// The error summary: every problem, each linking to its field (`#id`, or no link).
pub fn error_summary(errors: &[(String, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error-summary role="alert" tabindex="-1" aria-labelledby="error-summary-title" {
                h2.error-summary__title #error-summary-title { "There is a problem" }
                ul.list.error-summary__list {
                    @for (target, msg) in errors {
                        li {
                            @if target.is_empty() { (msg) }
                            @else { a href={ "#" (target) } { (msg) } }
                        }
                    }
                }
            }
        }
    }
}

/// The notice after a successful change.
pub fn success_banner(title: &str, text: &str) -> Markup {
    html! {
        div.notification-banner.notification-banner--success role="region" aria-labelledby="success-title" {
            div.notification-banner__header {
                h2.notification-banner__title #success-title { "Success" }
            }
            div.notification-banner__content {
                p.notification-banner__heading { (title) }
                @if !text.is_empty() { p.body { (text) } }
            }
        }
    }
}

/// A text input with its label, hint and error message.
pub struct Field<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub label: &'a str,
    pub hint: &'a str,
    pub value: &'a str,
    pub error: Option<&'a str>,
    pub kind: &'a str,
    pub width: &'a str,
}

impl<'a> Field<'a> {
    pub fn new(id: &'a str, label: &'a str) -> Self {
        Field {
            id,
            name: id,
            label,
            hint: "",
            value: "",
            error: None,
            kind: "text",
            width: "",
        }
    }
    pub fn hint(mut self, h: &'a str) -> Self {
        self.hint = h;
        self
    }
    pub fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }
    pub fn error(mut self, e: Option<&'a str>) -> Self {
        self.error = e;
        self
    }
    pub fn width(mut self, w: &'a str) -> Self {
        self.width = w;
        self
    }

    fn input_class(&self) -> String {
        let mut c = String::from("input");
        if self.error.is_some() {
            c.push_str(" input--error");
        }
        if !self.width.is_empty() {
            c.push(' ');
            c.push_str(self.width);
        }
        c
    }

    fn described_by(&self) -> Option<String> {
        let mut ids = vec![];
        if !self.hint.is_empty() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    pub fn input(&self) -> Markup {
        html! {
            div.form-group.form-group--error[self.error.is_some()] {
                label.label for=(self.id) { (self.label) }
                @if !self.hint.is_empty() { div.hint id={ (self.id) "-hint" } { (self.hint) } }
                @if let Some(e) = self.error {
                    p.error-message id={ (self.id) "-error" } { span.visually-hidden { "Error: " } (e) }
                }
                input class=(self.input_class())
                    id=(self.id) name=(self.name) type=(self.kind) value=(self.value)
                    aria-describedby=[self.described_by()];
            }
        }
    }

    pub fn textarea(&self) -> Markup {
        html! {
            div.form-group.form-group--error[self.error.is_some()] {
                label.label for=(self.id) { (self.label) }
                @if !self.hint.is_empty() { div.hint id={ (self.id) "-hint" } { (self.hint) } }
                @if let Some(e) = self.error {
                    p.error-message id={ (self.id) "-error" } { span.visually-hidden { "Error: " } (e) }
                }
                textarea.textarea.input--error[self.error.is_some()] id=(self.id) name=(self.name) rows="3"
                    aria-describedby=[self.described_by()] { (self.value) }
            }
        }
    }
}

/// A `<select>` with its label.
pub fn select(id: &str, label: &str, options: &[(String, String)], selected: &str) -> Markup {
    html! {
        div.form-group {
            label.label for=(id) { (label) }
            select.select id=(id) name=(id) {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

/// The hidden fields every form that writes carries: the CSRF token and a request id made when
/// the form was drawn, so the same form sent twice is applied once.
pub fn write_fields(viewer: &Viewer, request_id: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(viewer.csrf);
        input type="hidden" name="request_id" value=(request_id);
    }
}

pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A status tag: the word is the status, the colour only repeats it.
pub fn tag(text: &str, colour: &str) -> Markup {
    html! { strong class={ "tag tag--" (colour) } { (text) } }
}

/// An SVG drawn by the server, placed as is.
pub fn raw_svg(svg: &str) -> Markup {
    PreEscaped(svg.to_string())
}

pub fn summary_list(rows: &[(&str, Markup)]) -> Markup {
    html! {
        dl.summary-list {
            @for (k, v) in rows {
                div.summary-list__row {
                    dt.summary-list__key { (k) }
                    dd.summary-list__value { (v) }
                }
            }
        }
    }
}

/// The error a form shows beside field `id`, if any.
pub fn error_for<'a>(errors: &'a [(String, String)], id: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|(f, _)| f == id)
        .map(|(_, m)| m.as_str())
}
