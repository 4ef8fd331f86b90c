//! onrust's HTTP side: the search API, the audit log API, role-based access,
//! health, readiness and Prometheus metrics.
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
//!   header a client can set.
//! - **Every search is audited before it is answered** (L7): refused ones,
//!   malformed ones and forbidden attempts too. If the audit log cannot be
//!   written, the answer is a 503 without results.
//! - **Every response** (errors included) carries a strict
//!   Content-Security-Policy and `nosniff` (S5); API answers are JSON, which
//!   whoever renders them escapes.

pub mod alerts;
mod api;
pub mod audit;
pub mod audit_api;
pub mod auth;
mod internal_events;
pub mod search;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use metrics_exporter_prometheus::PrometheusHandle;

pub use auth::{AccessControl, Credential, Permission, Principal, Role, TokenHash};
pub use internal_events::describe_metrics;
pub use search::{SearchBackend, SearchLimits, SearchService};

use crate::api::ApiError;
use crate::audit::AuditEntry;
use crate::internal_events::AuthRefused;

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
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("http server failed: {0}")]
    Serve(std::io::Error),
}

/// One route: its path, the permission it needs, and the audit action a
/// forbidden attempt on it is recorded under (for routes that show content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `GET` (with `HEAD`) or `POST`.
    pub method: &'static str,
    pub path: &'static str,
    pub permission: Permission,
    pub audit_action: Option<&'static str>,
}

/// The route table: every route and its handler. Only these exist; anything
/// else is a 404 with the same headers. Reads are `GET` (and `HEAD`), changes `POST`.
fn table() -> [(Route, MethodRouter<WebState>); 16] {
    use Permission::{Acknowledge, Confirm, Metrics, ReadAlerts, ReadAudit, Search, Silence};
    let route = |path, permission, audit_action| Route { method: "GET", path, permission, audit_action };
    let change = |path, permission, audit_action| Route { method: "POST", path, permission, audit_action };
    [
        (route("/healthz", Metrics, None), get(healthz)),
        (route("/readyz", Metrics, None), get(readyz)),
        (route("/metrics", Metrics, None), get(metrics)),
        (route("/api/v1/search", Search, Some("search")), get(search::search)),
        (route("/api/v1/audit", ReadAudit, None), get(audit_api::records)),
        (route("/api/v1/audit/verify", ReadAudit, None), get(audit_api::verify)),
        (route("/api/v1/alerts", ReadAlerts, Some("alerts_list")), get(alerts::list)),
        (route("/api/v1/alerts/{fingerprint}", ReadAlerts, Some("alerts_show")), get(alerts::show)),
        (change("/api/v1/alerts/{fingerprint}/confirm", Confirm, Some("alerts_confirm")), post(alerts::confirm)),
        (change("/api/v1/alerts/{fingerprint}/dismiss", Confirm, Some("alerts_dismiss")), post(alerts::dismiss)),
        (change("/api/v1/alerts/{fingerprint}/ack", Acknowledge, Some("alerts_ack")), post(alerts::ack)),
        (route("/api/v1/silences", ReadAlerts, Some("silences_list")), get(alerts::silences)),
        (change("/api/v1/silences", Silence, Some("silence")), post(alerts::silence)),
        (change("/api/v1/silences/{id}/expire", Silence, Some("silence_expire")), post(alerts::expire_silence)),
        (route("/api/v1/municipalities/{code}/alerts.atom", ReadAlerts, Some("alerts_feed")), get(alerts::atom)),
        (
            route("/api/v1/municipalities/{code}/actions.ics", ReadAlerts, Some("actions_calendar")),
            get(alerts::calendar),
        ),
    ]
}

/// Every route, as the router serves them.
pub fn routes() -> Vec<Route> {
    table().into_iter().map(|(route, _)| route).collect()
}

/// The router: each route behind its permission check, every response with the security headers.
pub fn router(state: WebState) -> Router {
    let mut router = Router::new();
    for (route, handler) in table() {
        let guard = middleware::from_fn_with_state((state.clone(), route), authorize);
        router = router.route(route.path, handler.route_layer(guard));
    }
    router.fallback(not_found).layer(middleware::from_fn(security_headers)).with_state(state)
}

/// Binds `addr`. Separate from [`serve`] so the caller learns a bind error
/// before it reports itself ready.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, WebError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr, source })
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: WebState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await.map_err(WebError::Serve)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<WebState>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n").into_response()
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
async fn authorize(State((state, route)): State<(WebState, Route)>, mut request: Request, next: Next) -> Response {
    if route.permission == Permission::Metrics && !state.access.operations_need_token() {
        // Loopback listener without a monitor token (docs/ARCHITECTURE.md, "Configuration keys").
        return next.run(request).await;
    }
    let refuse = |outcome: &'static str| {
        AuthRefused { outcome, path: route.path, forbidden: None }.emit();
        let challenge = if outcome == "missing_token" { "Bearer" } else { "Bearer error=\"invalid_token\"" };
        ApiError {
            challenge: Some(challenge),
            ..ApiError::new(StatusCode::UNAUTHORIZED, "a valid bearer token is required")
        }
        .into_response()
    };
    let principal = match bearer(request.headers()) {
        None => return refuse("missing_token"),
        Some(None) => return refuse("invalid_token"),
        Some(Some(token)) => match state.access.identify(token) {
            None => return refuse("invalid_token"),
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

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests;
