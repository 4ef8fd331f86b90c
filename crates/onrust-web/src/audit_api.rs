//! `GET /api/v1/audit` and `GET /api/v1/audit/verify`: the audit log for the
//! data protection officer (role `fg`; rules L7, L8). Reading the log is a
//! use of it too, and is recorded in it like any other.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::WebState;
use crate::api::{self, ApiError, shorten};
use crate::auth::Principal;
use onrust_audit::{self as audit, AuditEntry, AuditError, AuditRecord};

/// Most records one request returns.
pub const MAX_AUDIT_LIMIT: usize = 1000;
/// Records returned when `limit` is not given.
pub const DEFAULT_AUDIT_LIMIT: usize = 100;

#[derive(Serialize)]
struct Records {
    /// The last records, oldest first.
    records: Vec<AuditRecord>,
}

/// What `onrust_audit::verify_report` found.
#[derive(Serialize)]
struct Verified {
    ok: bool,
    records: Option<u64>,
    line: Option<u64>,
    error: Option<String>,
    /// The newest record the checkpoint seals (`seq`, `hash`), when the chain holds.
    checkpoint: Option<audit::Checkpoint>,
    /// A last line that is not a whole record (moved aside at the next append).
    torn_line: Option<u64>,
}

/// `GET /api/v1/audit?limit=N`: the last N records (1..=1000, default 100).
/// Reading the log is itself recorded (`audit_read`), before the answer.
pub(crate) async fn records(
    State(state): State<WebState>,
    axum::Extension(who): axum::Extension<Principal>,
    request: Request,
) -> Response {
    let (_, filters) = api::given_params(request.uri().query());
    let limit = match parse_limit(request.uri().query()) {
        Ok(limit) => limit,
        Err(message) => {
            let refused = ApiError::bad_request(message.clone());
            return answer(&state, &who, "audit_read", filters, None, Some(message), refused.into_response()).await;
        }
    };
    let path = state.audit_path.clone();
    match tokio::task::spawn_blocking(move || audit::tail(&path, limit)).await {
        Ok(Ok(records)) => {
            let shown = Some(records.len() as u64);
            answer(&state, &who, "audit_read", filters, shown, None, Json(Records { records }).into_response()).await
        }
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

/// `GET /api/v1/audit/verify`: checks the whole hash chain and its sealed
/// tail; recorded as `audit_verify`.
pub(crate) async fn verify(
    State(state): State<WebState>,
    axum::Extension(who): axum::Extension<Principal>,
    request: Request,
) -> Response {
    let (_, filters) = api::given_params(request.uri().query());
    if let Err(message) = api::no_params(request.uri().query()) {
        let refused = ApiError::bad_request(message.clone());
        return answer(&state, &who, "audit_verify", filters, None, Some(message), refused.into_response()).await;
    }
    let path = state.audit_path.clone();
    let verified = tokio::task::spawn_blocking(move || {
        if path.exists() || audit::checkpoint_path(&path).exists() {
            audit::verify_report(&path).map(Some)
        } else {
            Ok(None)
        }
    })
    .await;
    let verified = match verified {
        Ok(Ok(None)) => {
            Verified { ok: true, records: Some(0), line: None, error: None, checkpoint: None, torn_line: None }
        }
        Ok(Ok(Some(report))) => Verified {
            ok: true,
            records: Some(report.records),
            line: None,
            error: None,
            checkpoint: report.checkpoint,
            torn_line: report.torn_line,
        },
        Ok(Err(AuditError::Broken { line, reason, .. })) => {
            tracing::error!(line, reason = %reason, "the audit log does not verify");
            Verified {
                ok: false,
                records: None,
                line: Some(line),
                error: Some(reason),
                checkpoint: None,
                torn_line: None,
            }
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
    let checked = verified.records;
    answer(&state, &who, "audit_verify", filters, checked, None, Json(verified).into_response()).await
}

/// Records the read, then answers; without a record, a 503 (L7).
async fn answer(
    state: &WebState,
    who: &Principal,
    action: &str,
    filters: serde_json::Value,
    hits: Option<u64>,
    refused: Option<String>,
    response: Response,
) -> Response {
    let entry = AuditEntry {
        who: who.name.clone(),
        action: action.to_owned(),
        query: None,
        filters,
        hits,
        refused,
        mandates: Vec::new(),
    };
    match api::record(state.audit_path.clone(), entry).await {
        Ok(_) => response,
        Err(error) => error.into_response(),
    }
}

fn parse_limit(raw: Option<&str>) -> Result<usize, String> {
    let mut limit = None;
    for (name, value) in api::params(raw)? {
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
