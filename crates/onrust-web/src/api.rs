//! What the API routes share: JSON error answers and audit records.

use std::path::PathBuf;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use onrust_audit::{self as audit, AuditEntry, AuditRecord};

/// An error answer: `{"error": "..."}` with its status. Messages are for the
/// person calling the API: lowercase, plain, no trailing period, and never an
/// internal detail (those go to the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds, for `Retry-After` on 503s a client may simply retry.
    pub retry_after: Option<u32>,
    /// For 401: the `WWW-Authenticate` challenge.
    pub challenge: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), retry_after: None, challenge: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unavailable(message: impl Into<String>, retry_after: Option<u32>) -> Self {
        Self { retry_after, ..Self::new(StatusCode::SERVICE_UNAVAILABLE, message) }
    }

    /// The answer when an audit record cannot be written: nothing is served without one (rule L7).
    pub fn audit_unavailable() -> Self {
        Self::unavailable(
            "the audit log cannot be written, so nothing is served; the operators see why in the log",
            Some(30),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(serde_json::json!({ "error": self.message }))).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// Appends `entry` to the audit log on a blocking thread (the append locks
/// the file and fsyncs). An error is logged here and becomes the 503 to answer.
pub(crate) async fn record(path: PathBuf, entry: AuditEntry) -> Result<AuditRecord, ApiError> {
    match tokio::task::spawn_blocking(move || audit::append(&path, entry)).await {
        Ok(Ok(record)) => Ok(record),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot append to the audit log; refusing the request");
            Err(ApiError::audit_unavailable())
        }
        Err(e) => {
            tracing::error!(error = %e, "the audit append task failed; refusing the request");
            Err(ApiError::audit_unavailable())
        }
    }
}

/// At most this many parameters besides `q` go into an audit record.
const MAX_RECORDED_PARAMS: usize = 16;
/// Longest parameter name and value recorded, in characters.
const MAX_RECORDED_NAME: usize = 40;
const MAX_RECORDED_VALUE: usize = 200;

/// A request's parameters as given, for its audit record: `q` (the first one)
/// as the query, every other parameter in `filters`, bounded so a record
/// stays small whatever the client sent. Parameters left out are counted in
/// `filters._left_out`.
pub(crate) fn given_params(raw: Option<&str>) -> (Option<String>, serde_json::Value) {
    let mut query = None;
    let mut filters = serde_json::Map::new();
    let mut left_out = 0usize;
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if name == "q" && query.is_none() {
            query = Some(value.into_owned());
            continue;
        }
        let name = shorten(&name, MAX_RECORDED_NAME);
        if filters.len() >= MAX_RECORDED_PARAMS || filters.contains_key(&name) {
            left_out += 1;
            continue;
        }
        filters.insert(name, serde_json::Value::String(shorten(&value, MAX_RECORDED_VALUE)));
    }
    if left_out > 0 {
        filters.insert("_left_out".into(), serde_json::Value::from(left_out));
    }
    (query, serde_json::Value::Object(filters))
}

/// `text` cut to `max` characters, marked with `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_params_are_recorded_as_given_and_bounded() {
        let (q, filters) = given_params(Some("q=boeren+%22A12%22&municipality=GM0344&limit=0&bogus=1"));
        assert_eq!(q.as_deref(), Some("boeren \"A12\""));
        assert_eq!(filters, serde_json::json!({"municipality": "GM0344", "limit": "0", "bogus": "1"}));

        let many: Vec<String> = (0..40).map(|i| format!("p{i}={}", "x".repeat(500))).collect();
        let (q, filters) = given_params(Some(&many.join("&")));
        assert_eq!(q, None);
        let map = filters.as_object().unwrap();
        assert_eq!(map.len(), MAX_RECORDED_PARAMS + 1);
        assert_eq!(map["_left_out"], 24);
        assert_eq!(map["p0"].as_str().unwrap().chars().count(), MAX_RECORDED_VALUE + 1);
        assert_eq!(given_params(None), (None, serde_json::json!({})));
    }
}
