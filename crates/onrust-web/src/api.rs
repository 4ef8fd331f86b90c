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

/// A query string's parameters, decoded as forms are (`+` is a space, `%XX`
/// a byte), in order. A name or value whose bytes are not UTF-8 is refused
/// with its name, not patched up with U+FFFD: the audit record and the
/// search must see what was sent.
pub(crate) fn params(raw: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Ok(name) = decode_component(name) else {
            return Err(format!("a parameter name is not valid UTF-8: {}", shorten(name, 40)));
        };
        let Ok(value) = decode_component(value) else {
            return Err(format!("parameter {} is not valid UTF-8", shorten(&name, 40)));
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Refuses any parameter: for endpoints that take none.
pub(crate) fn no_params(raw: Option<&str>) -> Result<(), String> {
    match raw.filter(|q| !q.is_empty()) {
        None => Ok(()),
        Some(query) => Err(format!("this endpoint takes no parameters, not {:?}", shorten(query, 40))),
    }
}

/// One form-encoded component; `Err` when its bytes are not UTF-8. A `%`
/// not followed by two hex digits stays as it is, as browsers send it.
fn decode_component(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
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
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        // As sent: a part that is not UTF-8 is recorded still encoded, never patched up.
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_component(name).unwrap_or_else(|_| name.to_owned());
        let value = decode_component(value).unwrap_or_else(|_| value.to_owned());
        if name == "q" && query.is_none() {
            query = Some(value);
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

    #[test]
    fn parameters_decode_as_forms_do_and_invalid_utf8_is_refused_by_name() {
        let decoded = params(Some("q=boeren+%22A12%22&municipality=GM0344&x=100%&y=%zz&&empty=&bare")).unwrap();
        assert_eq!(
            decoded,
            [
                ("q", "boeren \"A12\""),
                ("municipality", "GM0344"),
                ("x", "100%"),
                ("y", "%zz"),
                ("empty", ""),
                ("bare", "")
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(params(Some("q=%C3%A9%E2%82%AC")).unwrap()[0].1, "é€");
        assert_eq!(params(Some("q=%FF%FE")).unwrap_err(), "parameter q is not valid UTF-8");
        assert_eq!(params(Some("q=%C3")).unwrap_err(), "parameter q is not valid UTF-8", "a cut character");
        assert!(params(Some("%FF=1")).unwrap_err().starts_with("a parameter name is not valid UTF-8"));
        // The audit record keeps what was sent, still encoded, rather than U+FFFD.
        assert_eq!(given_params(Some("q=%FFrellen")).0.as_deref(), Some("%FFrellen"));
    }
}
