//! onrust's HTTP side: health, readiness and Prometheus metrics.
//!
//! The search API, the early-warning pages and role-based access grow here
//! later; what is here already follows the rules they will share: every
//! response (errors included) carries a strict Content-Security-Policy and
//! `nosniff`, and on a non-loopback listener even `/metrics`, `/healthz` and
//! `/readyz` need a bearer token (DESIGN.md, GUARDRAILS S8). Tokens are kept
//! only as SHA-256 hashes and compared in constant time.

pub mod audit;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use sha2::{Digest, Sha256};

/// A bearer token as stored: its SHA-256 digest only.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token read from a secret file (surrounding whitespace ignored).
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.trim().as_bytes()).into())
    }

    fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Constant time: compare every byte whatever the first difference.
        self.0.iter().zip(presented.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// What the operational endpoints need.
#[derive(Clone)]
pub struct WebState {
    /// Renders the Prometheus exposition.
    pub metrics: PrometheusHandle,
    /// Set once every stage is running; cleared when shutdown begins.
    pub ready: Arc<AtomicBool>,
    /// Required on every endpoint when set (non-loopback listeners).
    pub token: Option<TokenHash>,
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("http server failed: {0}")]
    Serve(std::io::Error),
}

/// The routes. Only these exist; anything else is a 404 with the same headers.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
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
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn authenticate(State(state): State<WebState>, request: Request, next: Next) -> Response {
    let Some(expected) = &state.token else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if expected.matches(token) => next.run(request).await,
        _ => (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "a valid bearer token is required\n")
            .into_response(),
    }
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
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(token: Option<&str>, ready: bool) -> SocketAddr {
        let recorder = PrometheusBuilder::new().build_recorder();
        let state = WebState {
            metrics: recorder.handle(),
            ready: Arc::new(AtomicBool::new(ready)),
            token: token.map(TokenHash::of),
        };
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, state, std::future::pending()));
        addr
    }

    async fn get(addr: SocketAddr, path: &str, auth: Option<&str>) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn health_ready_and_metrics_answer_on_loopback() {
        let addr = start(None, false).await;
        assert!(get(addr, "/healthz", None).await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/readyz", None).await.starts_with("HTTP/1.1 503"));
        let metrics = get(addr, "/metrics", None).await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(metrics.contains("text/plain; version=0.0.4"));
    }

    #[tokio::test]
    async fn every_response_carries_the_security_headers() {
        let addr = start(None, true).await;
        for path in ["/healthz", "/readyz", "/metrics", "/nope"] {
            let response = get(addr, path, None).await.to_ascii_lowercase();
            assert!(response.contains("content-security-policy: default-src 'none'"), "{path}: {response}");
            assert!(response.contains("x-content-type-options: nosniff"), "{path}");
        }
    }

    #[tokio::test]
    async fn token_is_required_when_configured() {
        let addr = start(Some("s3cret\n"), true).await;
        for path in ["/healthz", "/readyz", "/metrics"] {
            assert!(get(addr, path, None).await.starts_with("HTTP/1.1 401"), "{path} without token");
            assert!(get(addr, path, Some("wrong")).await.starts_with("HTTP/1.1 401"), "{path} wrong token");
            assert!(get(addr, path, Some("s3cret")).await.starts_with("HTTP/1.1 200"), "{path} with token");
        }
    }

    #[test]
    fn token_hash_debug_is_redacted() {
        assert_eq!(format!("{:?}", TokenHash::of("abc")), "TokenHash(<redacted>)");
    }
}
