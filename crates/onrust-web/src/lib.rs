//! onrust's HTTP side: the console (server-rendered pages, [`console`]), the
//! search API, the audit log API, role-based access, health, readiness and
//! Prometheus metrics.
//!
//! # Why it is built this way
//!
//! - **One explicit route table** ([`routes`]): every route names the one
//!   [`Permission`] it needs, and the router is built from that table, so no
//!   route can exist without an authorisation check (rule S8) and the
//!   route × role matrix can be tested from the table itself (L8). No route is
//!   about a person (L1).
//! - **Default deny**: the [`auth::permissions`] table is the only place that
//!   grants anything. Under `/api` a bearer token is always needed, whatever
//!   the listener; `/healthz`, `/readyz` and `/metrics` need one only when a
//!   monitor token is configured (`http.token_file`, required off loopback).
//! - **Tokens are kept hashed** and compared in constant time; who a request
//!   is comes from its token only, never from `X-Forwarded-For` or any other
//!   header a client can set. A feed address carries its secret in the path
//!   instead, for calendar and feed readers ([`subscriptions`]), kept and
//!   compared the same way.
//! - **Every search is audited before it is answered** (L7): refused ones,
//!   malformed ones and forbidden attempts too. If the audit log cannot be
//!   written, the answer is a 503 without results.
//! - **Bounded connections** ([`server`]): at most `http.max_connections`
//!   at once, a head timeout and an idle timeout, so clients that hold
//!   connections open cannot take the descriptors the stages need.
//! - **Every response** (errors included) carries a strict
//!   Content-Security-Policy and `nosniff` (S5); API answers are JSON, which
//!   whoever renders them escapes.

pub mod alerts;
mod api;
pub mod audit_api;
pub mod auth;
pub mod cause;
pub mod console;
pub mod erase;
pub mod halt;
mod halt_api;
mod internal_events;
pub mod search;
pub mod server;
mod stored;
pub mod subscriptions;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use metrics_exporter_prometheus::PrometheusHandle;

pub use auth::{AccessControl, Credential, Permission, Principal, Role, TokenHash};
pub use internal_events::describe_metrics;
pub use search::{SearchBackend, SearchLimits, SearchMandates, SearchService};
pub use server::{ConnectionLimits, serve};

use crate::api::ApiError;
use crate::internal_events::AuthRefused;
use onrust_audit::AuditEntry;

/// What the routes need.
#[derive(Clone)]
pub struct WebState {
    /// Renders the Prometheus exposition.
    pub metrics: PrometheusHandle,
    /// Set once every stage is running; cleared when shutdown begins.
    pub ready: Arc<AtomicBool>,
    /// The tokens and their roles.
    pub access: Arc<AccessControl>,
    /// The hash-chained audit log every search is recorded in.
    pub audit_path: PathBuf,
    /// The archive, when this instance serves search.
    pub search: Option<SearchService>,
    /// The alert stage's state, when this instance runs it.
    pub alerts: Option<Arc<dyn alerts::AlertBackend>>,
    /// The console's accounts, sessions and names.
    pub console: Arc<console::Console>,
    /// The feed subscriptions: a secret address per recipient (`/feeds/{token}/…`).
    pub feeds: Arc<subscriptions::Subscriptions>,
    /// The halt switch (rule L13): read by `/readyz` and the console's banner, changed through the API.
    pub halt: Arc<halt::HaltSwitch>,
    /// Erasure on request, when this instance runs the archive and alert stages.
    pub erase: Option<Arc<dyn erase::EraseBackend>>,
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Who a route is for: programs with a bearer token, or people in a browser with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// `/api/…` and the operational endpoints: a bearer token, never a cookie.
    Api,
    /// The console's pages: a session cookie, never a bearer token; without
    /// one, a redirect to `/login`.
    Page,
    /// A subscribed feed or calendar (`/feeds/{token}/…`): the secret token
    /// in the path names the subscription, for readers that cannot send a
    /// header; never a bearer token or a cookie. An unknown or revoked token
    /// is a 404, as if the address did not exist.
    Feed,
}

/// One route: its path, the permission it needs, and the audit action a
/// forbidden attempt on it is recorded under (for routes that show content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `GET` (with `HEAD`) or `POST`.
    pub method: &'static str,
    pub path: &'static str,
    pub kind: RouteKind,
    pub permission: Permission,
    pub audit_action: Option<&'static str>,
}

/// The route table: every route and its handler. Only these exist; anything
/// else is a 404 with the same headers. Reads are `GET` (and `HEAD`), changes `POST`.
fn table() -> Vec<(Route, MethodRouter<WebState>)> {
    use Permission::{
        Acknowledge, Confirm, Erase, Halt, Metrics, Public, ReadAlerts, ReadAudit, Resend, Search, SignedIn, Silence,
    };
    use RouteKind::{Api, Feed, Page};
    let route = |path, permission, audit_action| Route { method: "GET", path, kind: Api, permission, audit_action };
    let change = |path, permission, audit_action| Route { method: "POST", path, kind: Api, permission, audit_action };
    let page = |path, permission, audit_action| Route { method: "GET", path, kind: Page, permission, audit_action };
    let form = |path, permission, audit_action| Route { method: "POST", path, kind: Page, permission, audit_action };
    let feed = |path, permission, audit_action| Route { method: "GET", path, kind: Feed, permission, audit_action };
    vec![
        (route("/healthz", Metrics, None), get(healthz)),
        (route("/readyz", Metrics, None), get(readyz)),
        (route("/metrics", Metrics, None), get(metrics)),
        (route("/api/v1/search", Search, Some("search")), get(search::search)),
        (route("/api/v1/audit", ReadAudit, Some("audit_read")), get(audit_api::records)),
        (route("/api/v1/audit/verify", ReadAudit, Some("audit_verify")), get(audit_api::verify)),
        (route("/api/v1/alerts", ReadAlerts, Some("alerts_list")), get(alerts::list)),
        (route("/api/v1/alerts/{fingerprint}", ReadAlerts, Some("alerts_show")), get(alerts::show)),
        (change("/api/v1/alerts/{fingerprint}/confirm", Confirm, Some("alerts_confirm")), post(alerts::confirm)),
        (change("/api/v1/alerts/{fingerprint}/dismiss", Confirm, Some("alerts_dismiss")), post(alerts::dismiss)),
        (change("/api/v1/alerts/{fingerprint}/ack", Acknowledge, Some("alerts_ack")), post(alerts::ack)),
        (change("/api/v1/alerts/{fingerprint}/resend", Resend, Some("alerts_resend")), post(alerts::resend)),
        (route("/api/v1/silences", ReadAlerts, Some("silences_list")), get(alerts::silences)),
        (change("/api/v1/silences", Silence, Some("silence")), post(alerts::silence)),
        (change("/api/v1/silences/{id}/expire", Silence, Some("silence_expire")), post(alerts::expire_silence)),
        (route("/api/v1/municipalities/{code}/alerts.atom", ReadAlerts, Some("alerts_feed")), get(alerts::atom)),
        (
            route("/api/v1/municipalities/{code}/actions.ics", ReadAlerts, Some("actions_calendar")),
            get(alerts::calendar),
        ),
        (change("/api/v1/erase", Erase, Some("erase")), post(erase::erase)),
        (feed("/feeds/{token}/alerts.atom", ReadAlerts, Some("alerts_feed")), get(alerts::subscribed_atom)),
        (feed("/feeds/{token}/actions.ics", ReadAlerts, Some("actions_calendar")), get(alerts::subscribed_calendar)),
        (page("/login", Public, None), get(console::login_form)),
        (form("/login", Public, None), post(console::sign_in)),
        (page("/static/console.css", Public, None), get(console::stylesheet)),
        (form("/uitloggen", SignedIn, None), post(console::sign_out)),
        (page("/", ReadAlerts, Some("overview")), get(console::overview)),
        (page("/meldingen", ReadAlerts, Some("alerts_list")), get(console::alerts)),
        (page("/meldingen/{fingerprint}", ReadAlerts, Some("alerts_show")), get(console::alert)),
        (form("/meldingen/{fingerprint}/gezien", Acknowledge, Some("alerts_ack")), post(console::acknowledge)),
        (form("/meldingen/{fingerprint}/doorsturen", Confirm, Some("alerts_confirm")), post(console::confirm)),
        (form("/meldingen/{fingerprint}/afwijzen", Confirm, Some("alerts_dismiss")), post(console::dismiss)),
        (page("/stiltes", ReadAlerts, Some("silences_list")), get(console::silences)),
        (form("/stiltes", Silence, Some("silence")), post(console::silence)),
        (form("/stiltes/{id}/opheffen", Silence, Some("silence_expire")), post(console::expire_silence)),
        (page("/gemeente/{code}", ReadAlerts, Some("municipality_view")), get(console::municipality)),
        (page("/zoeken", Search, Some("search")), get(console::search)),
        (page("/zoeken/export", Search, Some("search_export")), get(console::export)),
        (page("/audit", ReadAudit, Some("audit_read")), get(console::audit)),
        (route("/api/v1/halt", Halt, None), get(halt_api::state)),
        (change("/api/v1/halt", Halt, Some("halt")), post(halt_api::halt)),
        (change("/api/v1/resume", Halt, Some("resume")), post(halt_api::resume)),
        (page("/stilleggen", Halt, None), get(console::halt_page)),
        (form("/stilleggen", Halt, Some("halt")), post(console::halt_form)),
        (form("/hervatten", Halt, Some("resume")), post(console::resume_form)),
    ]
}

/// Every route, as the router serves them.
pub fn routes() -> Vec<Route> {
    table().into_iter().map(|(route, _)| route).collect()
}

/// The router: each route behind its permission check, every response with the security headers.
/// A path served by both methods (`/login`) is one axum route with both handlers, each with its own check.
pub fn router(state: WebState) -> Router {
    let mut merged: Vec<(&'static str, MethodRouter<WebState>)> = Vec::new();
    for (route, handler) in table() {
        let guard = middleware::from_fn_with_state((state.clone(), route), authorize);
        let mut handler = handler.route_layer(guard);
        if route.kind == RouteKind::Page && route.permission != Permission::Public {
            // Every signed-in page, whoever adds it, says so while onrust is halted.
            handler = handler.layer(middleware::from_fn_with_state(state.clone(), console::halt_banner));
        }
        match merged.iter_mut().find(|(path, _)| *path == route.path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(handler),
            None => merged.push((route.path, handler)),
        }
    }
    let mut router = Router::new();
    for (path, handler) in merged {
        router = router.route(path, handler);
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Largest request body any route reads (a form or an API change is a few KiB).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Binds `addr`. Separate from [`serve`] so the caller learns a bind error
/// before it reports itself ready.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, WebError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr, source })
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when every stage runs, 503 while starting or stopping. A halted
/// onrust (rule L13) is ready, 200, and says it is halted: it was stopped on
/// purpose and must stay reachable, so that someone can resume it through
/// the API or the console; a load balancer or orchestrator that took it
/// out of service or restarted it on a 503 would take that away, and a
/// restart would not lift the halt anyway. Alerting on a halt is
/// `onrust_halted`'s job.
async fn readyz(State(state): State<WebState>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        match state.halt.halt() {
            Some(halt) => (
                StatusCode::OK,
                format!(
                    "ready, halted since {} by {}: no source fetches and no notification is sent until `onrust resume`\n",
                    halt.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    halt.by
                ),
            )
                .into_response(),
            None => (StatusCode::OK, "ready\n").into_response(),
        }
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(state): State<WebState>) -> Response {
    state.metrics.run_upkeep();
    let body = state.metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not found").into_response()
}

/// The bearer token of a request: `None` without an `Authorization` header,
/// `Some(None)` with one that is not a readable bearer token.
fn bearer(headers: &HeaderMap) -> Option<Option<&str>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let token = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token)
    });
    Some(token)
}

/// The permission check in front of every route. Who the caller is comes
/// from the token alone.
async fn authorize(State((state, route)): State<(WebState, Route)>, request: Request, next: Next) -> Response {
    match route.kind {
        RouteKind::Api => authorize_token(state, route, request, next).await,
        RouteKind::Page => authorize_session(state, route, request, next).await,
        RouteKind::Feed => authorize_feed(state, route, request, next).await,
    }
}

/// A subscribed feed: the token in the path (`/feeds/{token}/…`) names the
/// subscription, which says whose it is (the audit log's `feed:<recipient>`)
/// and what it shows. A header or cookie counts for nothing here; an
/// unknown or revoked token is the same 404 as any unknown address. The
/// token is never logged: events name the route's pattern only.
async fn authorize_feed(state: WebState, route: Route, mut request: Request, next: Next) -> Response {
    let token = request.uri().path().strip_prefix("/feeds/").and_then(|rest| rest.split('/').next()).unwrap_or("");
    let Some(subscription) = state.feeds.find(token) else {
        AuthRefused { outcome: "invalid_token", path: route.path, forbidden: None }.emit();
        return ApiError::new(StatusCode::NOT_FOUND, "not found").into_response();
    };
    let principal = Principal { name: subscription.who(), role: subscription.role, scope: subscription.place.scope() };
    if !auth::allows(principal.role, route.permission) {
        AuthRefused { outcome: "forbidden", path: route.path, forbidden: Some((&principal, route.permission)) }.emit();
        return ApiError::new(StatusCode::NOT_FOUND, "not found").into_response();
    }
    request.extensions_mut().insert(principal);
    request.extensions_mut().insert(subscription);
    next.run(request).await
}

/// A page: the session cookie names the account, whose role must hold the
/// route's permission; a `POST` must carry the session's CSRF token.
async fn authorize_session(state: WebState, route: Route, request: Request, next: Next) -> Response {
    if route.permission == Permission::Public {
        return next.run(request).await;
    }
    let signed_in = console::login::session_id(request.headers())
        .and_then(|id| state.console.sessions.find(id))
        .filter(|s| still_valid(&state, s));
    let Some(signed_in) = signed_in else {
        AuthRefused { outcome: "no_session", path: route.path, forbidden: None }.emit();
        return console::html::redirect("/login", &[]);
    };
    let principal = signed_in.principal.clone();
    if route.permission != Permission::SignedIn && !auth::allows(principal.role, route.permission) {
        AuthRefused { outcome: "forbidden", path: route.path, forbidden: Some((&principal, route.permission)) }.emit();
        if let Some(action) = route.audit_action {
            let (query, filters) = api::given_params(request.uri().query());
            let refused = format!(
                "the role {} may not do this (it needs the {} permission)",
                principal.role,
                route.permission.as_str()
            );
            let entry = AuditEntry {
                who: principal.name.clone(),
                action: action.to_owned(),
                query,
                filters,
                hits: None,
                refused: Some(refused),
                mandates: Vec::new(),
            };
            if let Err(error) = api::record(state.audit_path.clone(), entry).await {
                return error.into_response();
            }
        }
        return console::html::error_page(
            StatusCode::FORBIDDEN,
            Some(&signed_in),
            "U heeft geen toegang tot deze pagina.",
        );
    }
    let (parts, body) = request.into_parts();
    let body = if route.method == "POST" {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            return console::html::error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(&signed_in),
                "Het formulier is te groot.",
            );
        };
        let values = console::html::form_values(&bytes);
        let csrf = console::html::value(&values, "csrf").unwrap_or_default();
        if !console::session::same_token(csrf, &signed_in.csrf) {
            AuthRefused { outcome: "csrf", path: route.path, forbidden: None }.emit();
            return console::html::error_page(
                StatusCode::FORBIDDEN,
                Some(&signed_in),
                "Dit formulier is verlopen of komt niet van deze site. Laad de pagina opnieuw en probeer het nog eens.",
            );
        }
        axum::body::Body::from(bytes)
    } else {
        body
    };
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(principal);
    request.extensions_mut().insert(signed_in);
    next.run(request).await
}

/// Whether the session's account still exists, is enabled and has the role
/// and municipalities it signed in with; if not, the session ends.
fn still_valid(state: &WebState, signed_in: &console::SignedIn) -> bool {
    let valid = state.console.users.enabled(&signed_in.principal.name).is_some_and(|account| {
        account.role == signed_in.principal.role && account.scope() == signed_in.principal.scope
    });
    if !valid {
        state.console.sessions.end(signed_in);
    }
    valid
}

/// An API route: the bearer token names the caller.
async fn authorize_token(state: WebState, route: Route, mut request: Request, next: Next) -> Response {
    if route.permission == Permission::Metrics && !state.access.operations_need_token() {
        // Loopback listener without a monitor token (docs/ARCHITECTURE.md, "Configuration keys").
        return next.run(request).await;
    }
    let principal = match bearer(request.headers()) {
        None => return unauthenticated(&state, route, request.uri().query(), "missing_token").await,
        Some(None) => return unauthenticated(&state, route, request.uri().query(), "invalid_token").await,
        Some(Some(token)) => match state.access.identify(token) {
            None => return unauthenticated(&state, route, request.uri().query(), "invalid_token").await,
            Some(principal) => principal,
        },
    };
    if !auth::allows(principal.role, route.permission) {
        AuthRefused { outcome: "forbidden", path: route.path, forbidden: Some((&principal, route.permission)) }.emit();
        let message = format!(
            "the role {} may not do this (it needs the {} permission)",
            principal.role,
            route.permission.as_str()
        );
        if let Some(action) = route.audit_action {
            let (query, filters) = api::given_params(request.uri().query());
            let entry = AuditEntry {
                who: principal.name.clone(),
                action: action.to_owned(),
                query,
                filters,
                hits: None,
                refused: Some(message.clone()),
                mandates: Vec::new(),
            };
            if let Err(error) = api::record(state.audit_path.clone(), entry).await {
                return error.into_response();
            }
        }
        return ApiError::new(StatusCode::FORBIDDEN, message).into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Who an audit record names when the request had no valid token: not a
/// name a token or an account can have (those have no `:`).
pub const UNAUTHENTICATED: &str = "http:unauthenticated";

/// The 401 for a request without a valid bearer token. On a route that
/// shows content it is recorded first (L7), naming the attempt, never the
/// token that was presented.
async fn unauthenticated(state: &WebState, route: Route, query: Option<&str>, outcome: &'static str) -> Response {
    AuthRefused { outcome, path: route.path, forbidden: None }.emit();
    let (challenge, why) = if outcome == "missing_token" {
        ("Bearer", "no bearer token")
    } else {
        ("Bearer error=\"invalid_token\"", "a bearer token that is not valid")
    };
    if let Some(action) = route.audit_action {
        let (query, filters) = api::given_params(query);
        let entry = AuditEntry {
            who: UNAUTHENTICATED.to_owned(),
            action: action.to_owned(),
            query,
            filters,
            hits: None,
            refused: Some(why.to_owned()),
            mandates: Vec::new(),
        };
        if let Err(error) = api::record(state.audit_path.clone(), entry).await {
            return error.into_response();
        }
    }
    ApiError {
        challenge: Some(challenge),
        ..ApiError::new(StatusCode::UNAUTHORIZED, "a valid bearer token is required")
    }
    .into_response()
}

/// The Content-Security-Policy of every response: no script of any kind,
/// only our own stylesheet, forms only to ourselves, never in a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests;
