//! The alerts API (issue 5): list, show, confirm for the mayor, acknowledge,
//! silence. Officers read and acknowledge; supervisors also confirm and
//! silence (GUARDRAILS L8, L10). Every call is in the audit log before it is
//! answered, with who (from the token), what and on which alert (L7).
//!
//! The alert state itself lives in the daemon's alert stage; this module sees
//! it through [`AlertBackend`], so the HTTP side neither owns nor persists it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use onrust_alert::{Alert, Matcher, MechanicsError, SilenceRequest};
use serde::{Deserialize, Serialize};

use crate::WebState;
use crate::api::{ApiError, record, shorten};
use crate::audit::AuditEntry;
use crate::auth::Principal;

/// Longest acknowledgement comment or silence reason, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// What the API asks of the alert stage. Each change is persisted by the
/// backend before it returns.
pub trait AlertBackend: Send + Sync {
    /// Active alerts, newest first.
    fn list(&self) -> Result<Vec<Alert>, AlertBackendError>;
    fn show(&self, fingerprint: &str) -> Result<Option<Alert>, AlertBackendError>;
    fn confirm(&self, fingerprint: &str, who: &str) -> Result<Alert, AlertBackendError>;
    fn acknowledge(&self, fingerprint: &str, who: &str, comment: &str) -> Result<Alert, AlertBackendError>;
    fn silence(&self, request: SilenceRequest) -> Result<String, AlertBackendError>;
}

/// Why the backend refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertBackendError {
    /// The request does not fit the alert's state (unknown, not awaiting review, bad matcher).
    #[error(transparent)]
    Refused(#[from] MechanicsError),
    /// The state could not be read or saved.
    #[error("alert state unavailable: {0}")]
    Unavailable(String),
}

#[derive(Serialize)]
struct Alerts {
    alerts: Vec<Alert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    comment: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceBody {
    matchers: Vec<Matcher>,
    reason: String,
    ends_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct Silenced {
    id: String,
}

fn principal(request_principal: Option<&Principal>) -> Result<Principal, ApiError> {
    request_principal
        .cloned()
        .ok_or_else(|| ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "a valid bearer token is required"))
}

fn backend(state: &WebState) -> Result<std::sync::Arc<dyn AlertBackend>, ApiError> {
    state.alerts.clone().ok_or_else(|| ApiError::unavailable("this instance does not run the alert stage", None))
}

fn check_fingerprint(fingerprint: &str) -> Result<(), ApiError> {
    let ok = !fingerprint.is_empty() && fingerprint.len() <= 128 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err(ApiError::bad_request("a fingerprint is hexadecimal digits")) }
}

/// Audits, then answers: nothing is served or changed without a record.
async fn audited(
    state: &WebState,
    who: &Principal,
    action: &str,
    filters: serde_json::Value,
    outcome: Result<(Option<u64>, Response), (String, Response)>,
) -> Response {
    let (hits, refused, response) = match outcome {
        Ok((hits, response)) => (hits, None, response),
        Err((why, response)) => (None, Some(why), response),
    };
    let entry = AuditEntry { who: who.name.clone(), action: action.to_owned(), query: None, filters, hits, refused };
    match record(state.audit_path.clone(), entry).await {
        Ok(_) => response,
        Err(e) => e.into_response(),
    }
}

fn refusal(e: AlertBackendError) -> (String, Response) {
    match e {
        AlertBackendError::Refused(MechanicsError::UnknownAlert(_)) => {
            let m = e.to_string();
            (m.clone(), ApiError::new(axum::http::StatusCode::NOT_FOUND, m).into_response())
        }
        AlertBackendError::Refused(_) => {
            let m = e.to_string();
            (m.clone(), ApiError::new(axum::http::StatusCode::CONFLICT, m).into_response())
        }
        AlertBackendError::Unavailable(_) => {
            tracing::error!(error = %e, "alert api: the alert state is unavailable");
            (
                "alert state unavailable".to_owned(),
                ApiError::unavailable("the alert state is unavailable", Some(30)).into_response(),
            )
        }
    }
}

/// `GET /api/v1/alerts`: the active alerts.
pub(crate) async fn list(State(state): State<WebState>, request: Request) -> Response {
    let who = match principal(request.extensions().get::<Principal>()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    if let Some(query) = request.uri().query().filter(|q| !q.is_empty()) {
        let message = format!("this endpoint takes no parameters, not {:?}", shorten(query, 40));
        let response = ApiError::bad_request(message.clone()).into_response();
        return audited(&state, &who, "alerts_list", serde_json::json!({}), Err((message, response))).await;
    }
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let outcome = match backend.list() {
        Ok(alerts) => Ok((Some(alerts.len() as u64), Json(Alerts { alerts }).into_response())),
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, "alerts_list", serde_json::json!({}), outcome).await
}

/// `GET /api/v1/alerts/{fingerprint}`: one alert with its reasons and evidence.
pub(crate) async fn show(State(state): State<WebState>, Path(fingerprint): Path<String>, request: Request) -> Response {
    let who = match principal(request.extensions().get::<Principal>()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let filters = serde_json::json!({ "fingerprint": shorten(&fingerprint, 128) });
    if let Err(r) = check_fingerprint(&fingerprint) {
        return audited(&state, &who, "alerts_show", filters, Err(("bad fingerprint".into(), r.into_response()))).await;
    }
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let outcome = match backend.show(&fingerprint) {
        Ok(Some(alert)) => Ok((Some(1), Json(alert).into_response())),
        Ok(None) => Err(refusal(AlertBackendError::Refused(MechanicsError::UnknownAlert(fingerprint.clone())))),
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, "alerts_show", filters, outcome).await
}

/// `POST /api/v1/alerts/{fingerprint}/confirm`: a supervisor lets the alert go to the mayor (L10).
pub(crate) async fn confirm(
    State(state): State<WebState>,
    Path(fingerprint): Path<String>,
    request: Request,
) -> Response {
    let who = match principal(request.extensions().get::<Principal>()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let filters = serde_json::json!({ "fingerprint": shorten(&fingerprint, 128) });
    if let Err(r) = check_fingerprint(&fingerprint) {
        return audited(&state, &who, "alerts_confirm", filters, Err(("bad fingerprint".into(), r.into_response())))
            .await;
    }
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let outcome = match backend.confirm(&fingerprint, &who.name) {
        Ok(alert) => Ok((None, Json(alert).into_response())),
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, "alerts_confirm", filters, outcome).await
}

/// `POST /api/v1/alerts/{fingerprint}/ack` with `{"comment": "..."}`.
pub(crate) async fn ack(
    State(state): State<WebState>,
    Path(fingerprint): Path<String>,
    axum::Extension(who): axum::Extension<Principal>,
    body: Bytes,
) -> Response {
    let mut filters = serde_json::json!({ "fingerprint": shorten(&fingerprint, 128) });
    if let Err(r) = check_fingerprint(&fingerprint) {
        return audited(&state, &who, "alerts_ack", filters, Err(("bad fingerprint".into(), r.into_response()))).await;
    }
    let comment = match serde_json::from_slice::<AckBody>(&body) {
        Ok(b) if !b.comment.trim().is_empty() && b.comment.chars().count() <= MAX_COMMENT_CHARS => b.comment,
        _ => {
            let m = format!("the body must be {{\"comment\": \"...\"}} with 1 to {MAX_COMMENT_CHARS} characters");
            let r = ApiError::bad_request(m.clone()).into_response();
            return audited(&state, &who, "alerts_ack", filters, Err((m, r))).await;
        }
    };
    filters["comment"] = serde_json::Value::String(comment.clone());
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let outcome = match backend.acknowledge(&fingerprint, &who.name, &comment) {
        Ok(alert) => Ok((None, Json(alert).into_response())),
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, "alerts_ack", filters, outcome).await
}

/// `POST /api/v1/silences` with `{"matchers": [...], "reason": "...", "ends_at": "..."}`; the owner is the caller.
pub(crate) async fn silence(
    State(state): State<WebState>,
    axum::Extension(who): axum::Extension<Principal>,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<SilenceBody>(&body);
    let filters = match &parsed {
        Ok(b) => serde_json::json!({ "matchers": b.matchers, "reason": shorten(&b.reason, 200), "ends_at": b.ends_at }),
        Err(_) => serde_json::json!({}),
    };
    let body = match parsed {
        Ok(b) if b.reason.chars().count() <= MAX_COMMENT_CHARS => b,
        _ => {
            let m = concat!(
                "the body must be {\"matchers\": [{\"label\": ..., \"value\": ...}], ",
                "\"reason\": ..., \"ends_at\": ...}"
            )
            .to_owned();
            let r = ApiError::bad_request(m.clone()).into_response();
            return audited(&state, &who, "silence", filters, Err((m, r))).await;
        }
    };
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let request =
        SilenceRequest { matchers: body.matchers, reason: body.reason, owner: who.name.clone(), ends_at: body.ends_at };
    let outcome = match backend.silence(request) {
        Ok(id) => Ok((None, Json(Silenced { id }).into_response())),
        Err(AlertBackendError::Refused(e)) => {
            let m = e.to_string();
            Err((m.clone(), ApiError::bad_request(m).into_response()))
        }
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, "silence", filters, outcome).await
}
