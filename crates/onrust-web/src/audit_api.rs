//! `GET /api/v1/audit` and `GET /api/v1/audit/verify`: the audit log for the
//! data protection officer (role `fg`; rules L7, L8).

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::WebState;
use crate::api::{ApiError, shorten};
use onrust_audit::{self as audit, AuditError, AuditRecord};

/// Most records one request returns.
pub const MAX_AUDIT_LIMIT: usize = 1000;
/// Records returned when `limit` is not given.
pub const DEFAULT_AUDIT_LIMIT: usize = 100;

#[derive(Serialize)]
struct Records {
    /// The last records, oldest first.
    records: Vec<AuditRecord>,
}

/// What `audit::verify` found.
#[derive(Serialize)]
struct Verified {
    ok: bool,
    records: Option<u64>,
    line: Option<u64>,
    error: Option<String>,
}

/// `GET /api/v1/audit?limit=N`: the last N records (1..=1000, default 100).
pub(crate) async fn records(State(state): State<WebState>, request: Request) -> Response {
    let limit = match parse_limit(request.uri().query()) {
        Ok(limit) => limit,
        Err(message) => return ApiError::bad_request(message).into_response(),
    };
    let path = state.audit_path.clone();
    match tokio::task::spawn_blocking(move || audit::tail(&path, limit)).await {
        Ok(Ok(records)) => Json(Records { records }).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot read the audit log");
            ApiError::unavailable("the audit log cannot be read right now; the operators see why in the log", Some(30))
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "the audit read task failed");
            ApiError::unavailable("the audit log cannot be read right now", Some(30)).into_response()
        }
    }
}

/// `GET /api/v1/audit/verify`: checks the whole hash chain.
pub(crate) async fn verify(State(state): State<WebState>, request: Request) -> Response {
    if let Some(query) = request.uri().query().filter(|q| !q.is_empty()) {
        return ApiError::bad_request(format!("this endpoint takes no parameters, not {:?}", shorten(query, 40)))
            .into_response();
    }
    let path = state.audit_path.clone();
    let verified =
        match tokio::task::spawn_blocking(move || if path.exists() { audit::verify(&path) } else { Ok(0) }).await {
            Ok(Ok(records)) => Verified { ok: true, records: Some(records), line: None, error: None },
            Ok(Err(AuditError::Broken { line, reason, .. })) => {
                tracing::error!(line, reason = %reason, "the audit log does not verify");
                Verified { ok: false, records: None, line: Some(line), error: Some(reason) }
            }
            Ok(Err(e @ AuditError::Io { .. })) => {
                tracing::error!(error = %e, "cannot read the audit log");
                return ApiError::unavailable(
                    "the audit log cannot be read right now; the operators see why in the log",
                    Some(30),
                )
                .into_response();
            }
            Err(e) => {
                tracing::error!(error = %e, "the audit verify task failed");
                return ApiError::unavailable("the audit log cannot be read right now", Some(30)).into_response();
            }
        };
    Json(verified).into_response()
}

fn parse_limit(raw: Option<&str>) -> Result<usize, String> {
    let mut limit = None;
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if name != "limit" {
            return Err(format!("unknown parameter {:?}; the only parameter is limit", shorten(&name, 40)));
        }
        if limit.is_some() {
            return Err("parameter limit is given more than once".into());
        }
        limit = Some(match value.parse::<usize>() {
            Ok(n) if (1..=MAX_AUDIT_LIMIT).contains(&n) => n,
            _ => return Err(format!("limit must be a whole number from 1 to {MAX_AUDIT_LIMIT}")),
        });
    }
    Ok(limit.unwrap_or(DEFAULT_AUDIT_LIMIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_bounded_and_the_only_parameter() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_AUDIT_LIMIT));
        assert_eq!(parse_limit(Some("limit=1000")), Ok(1000));
        for bad in ["limit=0", "limit=1001", "limit=x", "limit=1&limit=2", "who=x"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }
}
