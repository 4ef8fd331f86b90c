//! `GET /login`, `POST /login`, `POST /uitloggen` and the stylesheet.
//!
//! The sign-in form's CSRF token is a double submit: `GET /login` sets it in
//! a `SameSite=Strict` cookie limited to `/login` and in the form's hidden
//! `csrf` field; `POST /login` accepts only when both are there and equal.
//! Every attempt, failed or not, and every sign-out is in the audit log.
//! Guessing is braked per name and per address ([`super::session`]).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::SignedIn;
use super::html::{self as view, csrf_field, form_values, redirect, respond, value};
use super::session::{Brake, LOGIN_COOKIE, SESSION_COOKIE, cookie_value, random_token, same_token};
use crate::WebState;
use crate::api;
use crate::auth::check_token_name;
use onrust_audit::AuditEntry;

/// The console's stylesheet, compiled in.
const STYLESHEET: &str = include_str!("console.css");

/// Longest name accepted in the form (names are at most 64 characters).
const MAX_NAME_CHARS: usize = 64;

/// `GET /static/console.css`.
pub(crate) async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    response
}

/// `GET /login`: the form, with a fresh CSRF token in a cookie and the hidden field.
pub(crate) async fn login_form(State(state): State<WebState>) -> Response {
    form(&state, StatusCode::OK, None, "")
}

fn form(state: &WebState, status: StatusCode, problem: Option<&str>, name: &str) -> Response {
    let Some(token) = random_token() else {
        return view::error_page(StatusCode::SERVICE_UNAVAILABLE, None, "Aanmelden is nu niet mogelijk.");
    };
    let body = html! {
        @if let Some(problem) = problem {
            p class="error" role="alert" id="aanmeldfout" { (problem) }
        }
        form class="login" method="post" action="/login" {
            (csrf_field(&token))
            p {
                label for="name" { "Gebruikersnaam" }
                input id="name" name="name" type="text" autocomplete="username" required
                    autocapitalize="none" spellcheck="false" value=(name)
                    aria-describedby=[problem.map(|_| "aanmeldfout")];
            }
            p {
                label for="password" { "Wachtwoord" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
            }
            p { button type="submit" { "Aanmelden" } }
        }
    };
    let markup = view::page("Aanmelden", None, &state.console.region_name, body);
    let mut response = respond(status, markup);
    if let Ok(cookie) = HeaderValue::from_str(&state.console.sessions.login_cookie(&token)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The address a request came from: the TCP peer the listener recorded.
fn peer(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip())
}

/// `POST /login` with `name`, `password` and `csrf`: a session and a redirect to the role's start page.
pub(crate) async fn sign_in(
    State(state): State<WebState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
    let address = peer(&extensions);
    let values = form_values(&body);
    let name: String = value(&values, "name").unwrap_or_default().trim().chars().take(MAX_NAME_CHARS).collect();
    let password = value(&values, "password").unwrap_or_default().to_owned();
    let csrf_ok = match (value(&values, "csrf"), cookie_value(&headers, LOGIN_COOKIE)) {
        (Some(given), Some(expected)) => !given.is_empty() && same_token(given, expected),
        _ => false,
    };
    // Who the audit record names: the name typed, when it could be an account's.
    let who = if check_token_name(&name).is_ok() { name.clone() } else { "(geen geldige naam)".to_owned() };
    let sessions = &state.console.sessions;
    let refuse = |reason: &'static str| AuditEntry {
        who: who.clone(),
        action: "sign_in".into(),
        query: None,
        filters: serde_json::json!({}),
        hits: None,
        refused: Some(reason.into()),
        mandates: Vec::new(),
    };
    if !csrf_ok {
        if api::record(state.audit_path.clone(), refuse("csrf token missing or wrong")).await.is_err() {
            return unavailable();
        }
        let message = "Het formulier was verlopen. Vul het opnieuw in.";
        return form(&state, StatusCode::FORBIDDEN, Some(message), &name);
    }
    if let Err(left) = sessions.check_lock(&name) {
        if api::record(state.audit_path.clone(), refuse("locked after repeated failures")).await.is_err() {
            return unavailable();
        }
        return form(&state, StatusCode::TOO_MANY_REQUESTS, Some(&locked_message(left)), &name);
    }
    if let Some(Err(left)) = address.map(|a| sessions.check_address_lock(a)) {
        let reason = "address locked after repeated failures from it";
        if api::record(state.audit_path.clone(), refuse(reason)).await.is_err() {
            return unavailable();
        }
        return form(&state, StatusCode::TOO_MANY_REQUESTS, Some(&address_locked_message(left)), &name);
    }
    let console = std::sync::Arc::clone(&state.console);
    let account_name = name.clone();
    let account =
        tokio::task::spawn_blocking(move || console.users.authenticate(&account_name, &password)).await.ok().flatten();
    let Some(account) = account else {
        let by_name = sessions.failed(&name);
        let by_address = address.map_or(Brake::Wait(std::time::Duration::ZERO), |a| sessions.address_failed(a));
        let reason = match (by_name, by_address) {
            (Brake::Locked(_), _) => "wrong name or password; now locked",
            (_, Brake::Locked(_)) => "wrong name or password; the address is now locked",
            _ => "wrong name or password",
        };
        if api::record(state.audit_path.clone(), refuse(reason)).await.is_err() {
            return unavailable();
        }
        return match (by_name, by_address) {
            (Brake::Locked(left), _) => form(&state, StatusCode::TOO_MANY_REQUESTS, Some(&locked_message(left)), &name),
            (_, Brake::Locked(left)) => {
                form(&state, StatusCode::TOO_MANY_REQUESTS, Some(&address_locked_message(left)), &name)
            }
            (Brake::Wait(a), Brake::Wait(b)) => {
                tokio::time::sleep(a.max(b)).await;
                let message = "De gebruikersnaam of het wachtwoord klopt niet.";
                form(&state, StatusCode::UNAUTHORIZED, Some(message), &name)
            }
        };
    };
    sessions.succeeded(&name);
    let entry = AuditEntry {
        who: account.name.clone(),
        action: "sign_in".into(),
        query: None,
        filters: serde_json::json!({ "role": account.role.as_str() }),
        hits: None,
        refused: None,
        mandates: Vec::new(),
    };
    if api::record(state.audit_path.clone(), entry).await.is_err() {
        return unavailable();
    }
    let Some(id) = sessions.start(&account.name, account.role, account.scope()) else { return unavailable() };
    let clear_login = format!("{LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0");
    redirect(view::home_of(account.role), &[clear_login, sessions.session_cookie(&id)])
}

fn locked_message(left: std::time::Duration) -> String {
    format!("Te veel mislukte pogingen: deze naam is geblokkeerd. Probeer het over {} opnieuw.", minutes(left))
}

/// `1 minuut`, `15 minuten` (rounded up).
fn minutes(left: std::time::Duration) -> String {
    match left.as_secs().div_ceil(60).max(1) {
        1 => "1 minuut".to_owned(),
        n => format!("{n} minuten"),
    }
}

fn address_locked_message(left: std::time::Duration) -> String {
    format!(
        "Te veel mislukte pogingen vanaf dit adres: aanmelden is hier geblokkeerd. Probeer het over {} opnieuw.",
        minutes(left)
    )
}

fn unavailable() -> Response {
    view::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "Het auditlog kan niet worden geschreven, dus aanmelden en afmelden zijn nu niet mogelijk.",
    )
}

/// `POST /uitloggen` (the router has checked the session and its CSRF token).
pub(crate) async fn sign_out(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
) -> Response {
    state.console.sessions.end(&signed_in);
    let entry = AuditEntry {
        who: signed_in.principal.name.clone(),
        action: "sign_out".into(),
        query: None,
        filters: serde_json::json!({}),
        hits: None,
        refused: None,
        mandates: Vec::new(),
    };
    if api::record(state.audit_path.clone(), entry).await.is_err() {
        return unavailable();
    }
    redirect("/login", &[state.console.sessions.clear_session_cookie()])
}

/// The session cookie's value in a request.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, SESSION_COOKIE)
}
