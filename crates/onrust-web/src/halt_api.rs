//! The halt switch through the API (rule L13): `POST /api/v1/halt` and
//! `POST /api/v1/resume` with `{"reason": "..."}`, and `GET /api/v1/halt`
//! for the state. Supervisors and admins only ([`crate::Permission::Halt`]).
//!
//! Each change is in the audit log (`halt`, `resume`: who from the token,
//! the reason) before it takes effect; when the record cannot be written
//! nothing changes and the answer is a 503 (rule L7). Halting a halted
//! onrust, or resuming a running one, changes nothing and says so
//! (`"changed": false`), and is on record too: the call is idempotent, so a
//! script or a second supervisor that halts again does no harm.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onrust_audit::AuditEntry;
use serde::{Deserialize, Serialize};

use crate::WebState;
use crate::alerts::{MAX_COMMENT_CHARS, reason_problem, reason_text};
use crate::api::{self, ApiError, record};
use crate::auth::Principal;
use crate::halt::HaltRecord;

/// A halt's or resume's body: why, required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    reason: String,
}

/// The switch as the API shows it: halted or not, and the last change.
#[derive(Serialize)]
struct HaltState {
    halted: bool,
    /// Whether this call changed it (absent on `GET`).
    #[serde(skip_serializing_if = "Option::is_none")]
    changed: Option<bool>,
    /// The last halt or resume, if there ever was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<HaltRecord>,
}

impl HaltState {
    fn of(last: Option<HaltRecord>, changed: Option<bool>) -> Self {
        Self { halted: last.as_ref().is_some_and(|r| r.halted), changed, last }
    }
}

/// `GET /api/v1/halt`: halted or not, since when, by whom and why.
pub(crate) async fn state(State(state): State<WebState>, RawQuery(query): RawQuery) -> Response {
    if let Err(message) = api::no_params(query.as_deref()) {
        return ApiError::bad_request(message).into_response();
    }
    Json(HaltState::of(state.halt.current(), None)).into_response()
}

/// `POST /api/v1/halt` with `{"reason": "..."}`: sources stop fetching and notifications are held.
pub(crate) async fn halt(
    state: State<WebState>,
    who: axum::Extension<Principal>,
    query: RawQuery,
    body: Bytes,
) -> Response {
    change(state, who, query, body, true).await
}

/// `POST /api/v1/resume` with `{"reason": "..."}`: sources fetch again from their cursors, held notifications go out.
pub(crate) async fn resume(
    state: State<WebState>,
    who: axum::Extension<Principal>,
    query: RawQuery,
    body: Bytes,
) -> Response {
    change(state, who, query, body, false).await
}

/// The audit action of a halt (`true`) or a resume.
pub fn action(halt: bool) -> &'static str {
    if halt { "halt" } else { "resume" }
}

async fn change(
    State(state): State<WebState>,
    axum::Extension(who): axum::Extension<Principal>,
    RawQuery(query): RawQuery,
    body: Bytes,
    halt: bool,
) -> Response {
    let given = serde_json::from_slice::<ChangeBody>(&body).ok().map(|b| b.reason);
    let reason = match (api::no_params(query.as_deref()), given.clone().and_then(reason_text)) {
        (Err(message), _) => Err(message),
        (Ok(()), Some(reason)) => Ok(reason),
        (Ok(()), None) => {
            let rule = given
                .as_deref()
                .and_then(reason_problem)
                .unwrap_or_else(|| format!("1 to {MAX_COMMENT_CHARS} characters"));
            Err(format!("the body must be {{\"reason\": \"...\"}} with {rule}"))
        }
    };
    let reason = match reason {
        Ok(reason) => reason,
        Err(message) => {
            let entry = entry(&who, halt, serde_json::json!({}), Some(message.clone()));
            return match record(state.audit_path.clone(), entry).await {
                Ok(_) => ApiError::bad_request(message).into_response(),
                Err(e) => e.into_response(),
            };
        }
    };
    match apply(&state, &who, halt, &reason).await {
        Ok(Applied::Changed(made)) => Json(HaltState::of(Some(made), Some(true))).into_response(),
        Ok(Applied::AlreadySo(last)) => Json(HaltState::of(last, Some(false))).into_response(),
        Err(NotApplied::NotRecorded(e)) => e.into_response(),
        Err(NotApplied::NotSaved) => ApiError {
            retry_after: Some(30),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the halt state could not be saved, so nothing changed; the operators see why in the log",
            )
        }
        .into_response(),
    }
}

/// What a halt or resume did.
pub(crate) enum Applied {
    /// It changed the switch: the new state.
    Changed(HaltRecord),
    /// onrust was already halted (or running): nothing changed; the last change.
    AlreadySo(Option<HaltRecord>),
}

/// Why a halt or resume changed nothing.
pub(crate) enum NotApplied {
    /// The audit record could not be written: the 503 to answer (L7).
    NotRecorded(ApiError),
    /// The halt file could not be written (logged, and on record).
    NotSaved,
}

/// Halts (`halt`) or resumes for `who` with a checked `reason`: on record
/// first, then the switch. The one path for the API and the console.
pub(crate) async fn apply(state: &WebState, who: &Principal, halt: bool, reason: &str) -> Result<Applied, NotApplied> {
    let change = state.halt.begin().await;
    let changes = change.halted_now() != halt;
    let filters = serde_json::json!({ "reason": reason, "changed": changes });
    // On record before it takes effect; without the record nothing changes (L7).
    record(state.audit_path.clone(), entry(who, halt, filters, None)).await.map_err(NotApplied::NotRecorded)?;
    if !changes {
        return Ok(Applied::AlreadySo(change.current()));
    }
    match change.make(halt, &who.name, reason).await {
        Ok(made) => Ok(Applied::Changed(made)),
        Err(error) => {
            tracing::error!(error = %error, "the halt switch could not be changed");
            // The record above says it was asked; this one says it did not happen.
            let failed = entry(
                who,
                halt,
                serde_json::json!({ "reason": reason }),
                Some("the halt file could not be written; nothing changed".to_owned()),
            );
            let _ = record(state.audit_path.clone(), failed).await;
            Err(NotApplied::NotSaved)
        }
    }
}

pub(crate) fn entry(who: &Principal, halt: bool, filters: serde_json::Value, refused: Option<String>) -> AuditEntry {
    AuditEntry {
        who: who.name.clone(),
        action: action(halt).to_owned(),
        query: None,
        filters,
        hits: None,
        refused,
        // A halt is about everything onrust does, not an action under one mandate.
        mandates: Vec::new(),
    }
}
