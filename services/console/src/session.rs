//! Who is looking, and the protections every page gets: the user's token (forwarded by the
//! sign-in proxy, or the development session cookie), the CSRF token (a double-submit cookie
//! checked against the hidden field of every form), and the security headers (a strict Content
//! Security Policy: no script at all, styles only from the console's own stylesheet).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::api::{Api, Refusal};
use crate::layout;

/// The development session cookie: the minted token itself.
pub const SESSION_COOKIE: &str = "almo_session";
/// The CSRF cookie; every form carries the same value in its `csrf` field.
pub const CSRF_COOKIE: &str = "almo_csrf";
/// The largest request body (a variance CSV upload).
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// This request's CSRF token, as the cookie holds it (or a new one the response sets).
#[derive(Clone)]
pub struct CsrfToken(pub String);

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure outside loopback.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.config().secure_cookies {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are plain ASCII")
}

fn new_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Wraps every request: gives it a CSRF token (setting the cookie when it had none) and adds the
/// security headers to every response.
pub async fn protect(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = existing.clone().unwrap_or_else(new_secret);
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if existing.is_none() {
        h.append(SET_COOKIE, set_cookie(&state, CSRF_COOKIE, &token, None));
    }
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Constant-time comparison of the form's CSRF field with the cookie.
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The signed-in user: their token, and who the directory says they are.
pub struct Viewer {
    pub api: Api,
    pub subject: String,
    pub role: String,
    pub organisation_id: String,
    pub organisation_name: String,
    pub csrf: String,
    pub dev_sign_in: bool,
}

impl Viewer {
    /// Refuses a form whose CSRF field is not this session's token.
    pub fn check_csrf(&self, given: &str) -> Result<(), PageError> {
        if csrf_matches(&self.csrf, given) {
            Ok(())
        } else {
            Err(PageError::Csrf)
        }
    }

    pub fn is(&self, role: &str) -> bool {
        self.role == role
    }
}

/// The user's token: the proxy's header first, then (development only) the session cookie.
pub fn token_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let cfg = state.config();
    if let Some(t) = headers
        .get(cfg.token_header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_start_matches("Bearer ").trim().to_string())
        .filter(|v| !v.is_empty())
    {
        return Some(t);
    }
    if cfg.dev_sign_in {
        return cookie(headers, SESSION_COOKIE);
    }
    None
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let dev = state.config().dev_sign_in;
        let token = token_of(state, &parts.headers).ok_or(PageError::SignIn { dev })?;
        let api = Api::new(state.inner.channels.clone(), token);
        let who = api.who_am_i().await.map_err(|r| {
            if r.code == tonic::Code::Unauthenticated {
                PageError::SignIn { dev }
            } else {
                PageError::Refused(r)
            }
        })?;
        let org = who.organisation.unwrap_or_default();
        Ok(Viewer {
            api,
            subject: who.subject,
            role: who.role,
            organisation_id: org.id,
            organisation_name: org.name,
            csrf,
            dev_sign_in: dev,
        })
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// No token, or one the services do not accept.
    SignIn {
        dev: bool,
    },
    /// A form without this session's CSRF token.
    Csrf,
    /// The services refused; their reason is shown.
    Refused(Refusal),
    /// A request the console itself cannot read.
    BadRequest(String),
    NotFound,
}

impl From<Refusal> for PageError {
    fn from(r: Refusal) -> Self {
        PageError::Refused(r)
    }
}

impl From<tonic::Status> for PageError {
    fn from(s: tonic::Status) -> Self {
        PageError::Refused(Refusal::from(s))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        use axum::http::StatusCode;
        match self {
            PageError::SignIn { dev: true } => Redirect::to("/sign-in").into_response(),
            PageError::SignIn { dev: false } => (
                StatusCode::UNAUTHORIZED,
                layout::bare_page(
                    "Sign in",
                    "You need to sign in",
                    "This console is reached through your organisation's sign-in. No access \
                     token reached it with this request, or the services did not accept it: \
                     sign in again.",
                ),
            )
                .into_response(),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                layout::bare_page(
                    "Form refused",
                    "This form could not be accepted",
                    "The form was not sent from this console's own page (its security token is \
                     missing or does not match). Go back, reload the page and send it again.",
                ),
            )
                .into_response(),
            PageError::Refused(r) => {
                let status = r.http_status();
                let body = layout::refusal_page(&r);
                (status, body).into_response()
            }
            PageError::BadRequest(msg) => (
                StatusCode::BAD_REQUEST,
                layout::bare_page("Bad request", "There is a problem", &msg),
            )
                .into_response(),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                layout::bare_page(
                    "Page not found",
                    "Page not found",
                    "If you typed the web address, check it is correct.",
                ),
            )
                .into_response(),
        }
    }
}
