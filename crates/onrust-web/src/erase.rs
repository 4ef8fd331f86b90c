//! `POST /api/v1/erase`: erasure on request (issue 19). A data subject asks
//! for a message to go (through the fg, or the admin who runs the
//! installation): one message by its id, or every message with a link.
//! The daemon removes it from the archive, from every alert's evidence (the
//! counts stay) and from the notifications still waiting, as it does for a
//! message deleted at its source, and keeps a tombstone so the message is
//! never taken in again (docs/ARCHITECTURE.md, "Erasure on request").
//!
//! The order makes the record trustworthy (rule L7): the request is checked,
//! what it would remove is counted, that is written to the audit log (who,
//! why, what was asked, the counts; never a message's text), and only then
//! is anything erased. Without a record nothing is erased: a 503. Bad
//! requests and refusals are on record too.
//!
//! The work itself is the daemon's ([`EraseBackend`]); this module checks
//! the request, records it and answers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::WebState;
use crate::alerts::reason_problem;
use crate::api::{self, ApiError, record};
use crate::auth::Principal;
use crate::cause::BackendCause;
use onrust_audit::AuditEntry;

/// Longest link an erasure may name, in bytes (ingest keeps none longer).
pub const MAX_URL_BYTES: usize = 2048;

/// What an erasure asks for, as checked here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EraseTarget {
    /// One message by its id (`<source>:<hex>`, as search hits and evidence show it).
    Id(String),
    /// Every message with this link; the backend normalises it as ingest does.
    Url(String),
}

/// What an erasure removes (or, before it runs, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureCounts {
    /// Archived messages (documents) with the id or the link.
    pub archive_documents: u64,
    /// Evidence entries of alerts that quote one of them.
    pub evidence_entries: u64,
    /// Notifications not yet sent (or failed and sendable again) that quote one of them.
    pub queued_notifications: u64,
    /// Dead letters (messages that could not be processed) that quote one of
    /// them or the link. Absent in records from before it was counted.
    #[serde(default)]
    pub dead_letters: u64,
}

/// What the backend found for a request, before anything changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// The target as it will be tombstoned (a link normalised as ingest does).
    pub target: EraseTarget,
    /// The ids of the messages found.
    pub message_ids: Vec<String>,
    pub counts: ErasureCounts,
}

/// Why the backend refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The request names nothing onrust could ever hold (a link that is not http(s), …): a 400.
    #[error("{0}")]
    BadTarget(String),
    /// The archive, the alert state, the tombstones or the bus could not be
    /// used: a 503. `what` says which step failed, the source why (for the
    /// operators' log; the client is told only that nothing was erased).
    #[error("{what}")]
    Unavailable {
        what: &'static str,
        #[source]
        source: BackendCause,
    },
}

impl EraseError {
    /// `what` failed because of `source`.
    pub fn unavailable(what: &'static str, source: impl Into<BackendCause>) -> Self {
        Self::Unavailable { what, source: source.into() }
    }
}

/// What the backend answers asynchronously with.
pub type EraseFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, EraseError>> + Send + 'a>>;

/// What the API asks of the daemon.
pub trait EraseBackend: Send + Sync {
    /// What erasing `target` would remove now; changes nothing.
    fn survey<'a>(&'a self, target: &'a EraseTarget) -> EraseFuture<'a, Survey>;
    /// Tombstones the target durably, then removes the surveyed messages
    /// everywhere and returns once the archive and the alert stage have done it.
    fn erase<'a>(&'a self, survey: &'a Survey) -> EraseFuture<'a, ()>;
}

/// The request body: exactly one of `id` and `url`, and a reason.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    id: Option<String>,
    url: Option<String>,
    reason: Option<String>,
}

/// The answer: what was asked (normalised) and what was removed.
#[derive(Serialize)]
struct Erased {
    target: EraseTarget,
    messages: Vec<String>,
    #[serde(flatten)]
    counts: ErasureCounts,
    /// Always true: the target can never be taken in again.
    tombstoned: bool,
}

/// The body's target and reason, or what is wrong with it.
fn check(body: &[u8]) -> Result<(EraseTarget, String), String> {
    const SHAPE: &str = r#"the body must be {"id": ..., "reason": ...} or {"url": ..., "reason": ...}"#;
    let body: EraseBody = serde_json::from_slice(body).map_err(|e| format!("{SHAPE} ({e})"))?;
    let target = match (body.id, body.url) {
        (Some(id), None) => {
            onrust_model::MessageId::new(id.clone()).map_err(|_| {
                "the id must be a message id as search hits show it (letters, digits, _ - : . and at most 128)"
                    .to_owned()
            })?;
            EraseTarget::Id(id)
        }
        (None, Some(url)) => {
            if url.trim().is_empty() || url.len() > MAX_URL_BYTES {
                return Err(format!("the url must be a link of 1 to {MAX_URL_BYTES} bytes"));
            }
            EraseTarget::Url(url.trim().to_owned())
        }
        (Some(_), Some(_)) => return Err("give either id or url, not both".to_owned()),
        (None, None) => return Err(format!("{SHAPE}: id or url is missing")),
    };
    let reason = body.reason.ok_or_else(|| "the reason is missing: say why, for the record".to_owned())?;
    if let Some(problem) = reason_problem(&reason) {
        return Err(format!("the reason must be {problem}"));
    }
    Ok((target, reason))
}

/// `POST /api/v1/erase`.
pub(crate) async fn erase(
    State(state): State<WebState>,
    axum::Extension(who): axum::Extension<Principal>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let checked = api::no_params(query.as_deref()).and_then(|()| check(&body));
    let (target, reason) = match checked {
        Ok(checked) => checked,
        Err(m) => return refused(&state, &who, m, StatusCode::BAD_REQUEST).await,
    };
    let Some(backend) = state.erase.clone() else {
        let m = "this instance does not erase: it runs no archive and alert stages".to_owned();
        return refused(&state, &who, m, StatusCode::SERVICE_UNAVAILABLE).await;
    };
    let survey = match backend.survey(&target).await {
        Ok(survey) => survey,
        Err(EraseError::BadTarget(m)) => return refused(&state, &who, m, StatusCode::BAD_REQUEST).await,
        Err(e @ EraseError::Unavailable { .. }) => {
            tracing::error!(error = %onrust_model::error_chain(&e), "erase: cannot look up what to erase");
            let m = "cannot look up what to erase now; nothing was erased".to_owned();
            return refused(&state, &who, m, StatusCode::SERVICE_UNAVAILABLE).await;
        }
    };
    // L7: on record before anything is erased; without a record, nothing is.
    let mut filters = asked(&survey.target, &reason);
    if let (Some(map), Ok(serde_json::Value::Object(counts))) =
        (filters.as_object_mut(), serde_json::to_value(survey.counts))
    {
        map.extend(counts);
    }
    let entry = AuditEntry {
        who: who.name.clone(),
        action: "erase".to_owned(),
        query: None,
        filters,
        hits: Some(survey.counts.archive_documents),
        refused: None,
        // An erasure answers a data subject's right, not a monitoring purpose: no mandate.
        mandates: Vec::new(),
    };
    if let Err(e) = record(state.audit_path.clone(), entry).await {
        return e.into_response();
    }
    match backend.erase(&survey).await {
        Ok(()) => Json(Erased {
            target: survey.target,
            messages: survey.message_ids,
            counts: survey.counts,
            tombstoned: true,
        })
        .into_response(),
        Err(e) => {
            tracing::error!(error = %onrust_model::error_chain(&e), "erase: the erasure on record did not finish");
            ApiError::unavailable(
                "the erasure is on record but did not finish; the operators see why in the log, then ask again",
                Some(30),
            )
            .into_response()
        }
    }
}

/// What was asked and why, for the audit record: the target and the reason, no content.
fn asked(target: &EraseTarget, reason: &str) -> serde_json::Value {
    match target {
        EraseTarget::Id(id) => serde_json::json!({ "id": id, "reason": reason }),
        EraseTarget::Url(url) => serde_json::json!({ "url": url, "reason": reason }),
    }
}

/// Records a refused erasure, then answers with `status` and the reason.
/// Nothing of the request's body is recorded: a refused one may be anything,
/// and a link not yet normalised may name an account (L2).
async fn refused(state: &WebState, who: &Principal, why: String, status: StatusCode) -> Response {
    let entry = AuditEntry {
        who: who.name.clone(),
        action: "erase".to_owned(),
        query: None,
        filters: serde_json::json!({}),
        hits: None,
        refused: Some(why.clone()),
        mandates: Vec::new(),
    };
    match record(state.audit_path.clone(), entry).await {
        Ok(_) => ApiError::new(status, why).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the operators' log says of a backend that failed: the step and
    /// its cause, kept as the error it was (the client is told neither).
    #[test]
    fn an_unavailable_backend_keeps_why() {
        let disk_full = std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
        let e = EraseError::unavailable("cannot write the tombstone", disk_full);
        assert_eq!(e.to_string(), "cannot write the tombstone");
        let source = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(source.map(std::io::Error::kind), Some(std::io::ErrorKind::StorageFull), "{e:?}");
        assert_eq!(onrust_model::error_chain(&e), "cannot write the tombstone: disk full");
    }

    #[test]
    fn a_request_names_one_target_and_a_reason_or_says_what_is_wrong() {
        let ok = check(br#"{"id": "rtvutrecht:0a1b2c", "reason": "verzoek van betrokkene"}"#).unwrap();
        assert_eq!(ok, (EraseTarget::Id("rtvutrecht:0a1b2c".into()), "verzoek van betrokkene".into()));
        let ok = check(br#"{"url": " https://example.org/a ", "reason": "verzoek"}"#).unwrap();
        assert_eq!(ok.0, EraseTarget::Url("https://example.org/a".into()));
        let long_url = format!(r#"{{"url": "https://example.org/{}", "reason": "r"}}"#, "a".repeat(MAX_URL_BYTES));
        let long_reason = format!(r#"{{"id": "a:1", "reason": "{}"}}"#, "r".repeat(1001));
        for (body, says) in [
            (r#"{"reason": "r"}"#.to_owned(), "id or url is missing"),
            (r#"{"id": "a:1", "url": "https://example.org/", "reason": "r"}"#.to_owned(), "not both"),
            (r#"{"id": "a:1"}"#.to_owned(), "the reason is missing"),
            (r#"{"id": "a:1", "reason": "  "}"#.to_owned(), "the reason must be 1 to 1000 characters"),
            (long_reason, "the reason must be 1 to 1000 characters"),
            (r#"{"id": "a:1", "reason": "r\u202e"}"#.to_owned(), "no control or bidi characters"),
            (r#"{"id": "a b", "reason": "r"}"#.to_owned(), "the id must be a message id"),
            (r#"{"url": "", "reason": "r"}"#.to_owned(), "the url must be a link of 1 to 2048 bytes"),
            (long_url, "the url must be a link"),
            (r#"{"id": "a:1", "reason": "r", "who": "x"}"#.to_owned(), "unknown field `who`"),
            ("not json".to_owned(), "the body must be"),
        ] {
            let problem = check(body.as_bytes()).expect_err(&body);
            assert!(problem.contains(says), "{body}: {problem}");
        }
    }
}
