//! The alerts API (issue 5): list, show, confirm or dismiss for the mayor,
//! acknowledge, silences (add, list, end), and each municipality's alerts as
//! an Atom feed and its announced actions as an iCalendar. Officers read and
//! acknowledge; supervisors also review and silence (rules L8, L10). A
//! token limited to municipalities ([`Scope`]) sees their alerts and the
//! regional ones, and changes only theirs; another municipality's alert is a
//! 404 to it, as if there were none. Every call is in the audit log before it
//! is answered, with who (from the token), what and on which alert (L7).
//!
//! The alert state itself lives in the daemon's alert stage; this module sees
//! it through [`AlertBackend`], so the HTTP side neither owns nor persists it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use onrust_alert::notify::atom::{FeedScope, render_atom};
use onrust_alert::notify::ics::{CalendarScope, render_ics};
use onrust_alert::{Alert, Matcher, MechanicsError, Silence, SilenceRequest};
use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};

use crate::WebState;
use crate::api::{ApiError, record, shorten};
use crate::audit::AuditEntry;
use crate::auth::{Principal, Scope};

/// Longest acknowledgement comment or silence reason, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// What the API asks of the alert stage. Each change is persisted by the
/// backend before it returns.
pub trait AlertBackend: Send + Sync {
    /// Active alerts, newest first.
    fn list(&self) -> Result<Vec<Alert>, AlertBackendError>;
    fn show(&self, fingerprint: &str) -> Result<Option<Alert>, AlertBackendError>;
    /// The supervisor lets the alert go to the mayor; who, when and why are kept with it.
    fn confirm(&self, fingerprint: &str, who: &str, reason: &str) -> Result<Alert, AlertBackendError>;
    /// The supervisor decides the alert does not go to the mayor; who, when and why are kept with it.
    fn dismiss(&self, fingerprint: &str, who: &str, reason: &str) -> Result<Alert, AlertBackendError>;
    fn acknowledge(&self, fingerprint: &str, who: &str, comment: &str) -> Result<Alert, AlertBackendError>;
    fn silence(&self, request: SilenceRequest) -> Result<String, AlertBackendError>;
    /// The silences in force.
    fn silences(&self) -> Result<Vec<Silence>, AlertBackendError>;
    /// Ends a silence now.
    fn expire_silence(&self, id: &str) -> Result<Silence, AlertBackendError>;
    /// The region's name and each municipality's, for feed and calendar titles.
    fn names(&self) -> Names;
}

/// How the region and its municipalities are called in feeds and calendars.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub region: String,
    pub municipalities: Vec<(MunicipalityCode, String)>,
}

impl Names {
    fn of(&self, code: &MunicipalityCode) -> Option<&str> {
        self.municipalities.iter().find(|(c, _)| c == code).map(|(_, n)| n.as_str())
    }
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

/// An acknowledgement: what was done (`reason`; `comment` is its older name).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    #[serde(alias = "reason")]
    comment: String,
}

/// A review decision's reason, required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    reason: String,
}

/// A reason of 1 to [`MAX_COMMENT_CHARS`] characters, or `None`: the one
/// rule for every reason, from the API and from the console's forms.
pub(crate) fn reason_text(reason: String) -> Option<String> {
    (!reason.trim().is_empty() && reason.chars().count() <= MAX_COMMENT_CHARS).then_some(reason)
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

/// A 404 exactly like an unknown alert's, for one the caller's scope does not cover.
fn unknown(fingerprint: &str) -> (String, Response) {
    refusal(AlertBackendError::Refused(MechanicsError::UnknownAlert(fingerprint.to_owned())))
}

/// Why the caller may not change the alert, if it may not: unknown or out of
/// scope is a 404, a regional alert for a municipal token a 403.
fn change_refused(backend: &dyn AlertBackend, who: &Principal, fingerprint: &str) -> Option<(String, Response)> {
    let alert = match backend.show(fingerprint) {
        Ok(Some(alert)) => alert,
        Ok(None) => return Some(unknown(fingerprint)),
        Err(e) => return Some(refusal(e)),
    };
    if !who.scope.may_read(alert.municipality.as_ref()) {
        return Some(unknown(fingerprint));
    }
    if !who.scope.may_change(alert.municipality.as_ref()) {
        let m = "a token for some municipalities cannot change a regional alert".to_owned();
        return Some((m.clone(), ApiError::new(StatusCode::FORBIDDEN, m).into_response()));
    }
    None
}

/// `GET /api/v1/alerts`: the active alerts the caller's scope covers.
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
        Ok(mut alerts) => {
            alerts.retain(|a| who.scope.may_read(a.municipality.as_ref()));
            Ok((Some(alerts.len() as u64), Json(Alerts { alerts }).into_response()))
        }
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
        Ok(Some(alert)) if who.scope.may_read(alert.municipality.as_ref()) => {
            Ok((Some(1), Json(alert).into_response()))
        }
        Ok(_) => Err(unknown(&fingerprint)),
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, "alerts_show", filters, outcome).await
}

/// A supervisor's decision on an alert for the mayor (L10).
#[derive(Clone, Copy)]
enum Decision {
    Confirm,
    Dismiss,
}

/// `POST /api/v1/alerts/{fingerprint}/confirm` with `{"reason": "..."}`: a
/// supervisor lets the alert go to the mayor (L10).
pub(crate) async fn confirm(
    state: State<WebState>,
    fingerprint: Path<String>,
    who: axum::Extension<Principal>,
    body: Bytes,
) -> Response {
    review(state, fingerprint, who, body, Decision::Confirm).await
}

/// `POST /api/v1/alerts/{fingerprint}/dismiss` with `{"reason": "..."}`: a
/// supervisor decides it does not go to the mayor.
pub(crate) async fn dismiss(
    state: State<WebState>,
    fingerprint: Path<String>,
    who: axum::Extension<Principal>,
    body: Bytes,
) -> Response {
    review(state, fingerprint, who, body, Decision::Dismiss).await
}

async fn review(
    State(state): State<WebState>,
    Path(fingerprint): Path<String>,
    axum::Extension(who): axum::Extension<Principal>,
    body: Bytes,
    decision: Decision,
) -> Response {
    let action = match decision {
        Decision::Confirm => "alerts_confirm",
        Decision::Dismiss => "alerts_dismiss",
    };
    let mut filters = serde_json::json!({ "fingerprint": shorten(&fingerprint, 128) });
    if let Err(r) = check_fingerprint(&fingerprint) {
        return audited(&state, &who, action, filters, Err(("bad fingerprint".into(), r.into_response()))).await;
    }
    let reason = match serde_json::from_slice::<ReviewBody>(&body).ok().and_then(|b| reason_text(b.reason)) {
        Some(reason) => reason,
        None => {
            let m = format!("the body must be {{\"reason\": \"...\"}} with 1 to {MAX_COMMENT_CHARS} characters");
            let r = ApiError::bad_request(m.clone()).into_response();
            return audited(&state, &who, action, filters, Err((m, r))).await;
        }
    };
    filters["reason"] = serde_json::Value::String(reason.clone());
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    if let Some(refused) = change_refused(backend.as_ref(), &who, &fingerprint) {
        return audited(&state, &who, action, filters, Err(refused)).await;
    }
    let decided = match decision {
        Decision::Confirm => backend.confirm(&fingerprint, &who.name, &reason),
        Decision::Dismiss => backend.dismiss(&fingerprint, &who.name, &reason),
    };
    let outcome = match decided {
        Ok(alert) => Ok((None, Json(alert).into_response())),
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, action, filters, outcome).await
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
    let comment = match serde_json::from_slice::<AckBody>(&body).ok().and_then(|b| reason_text(b.comment)) {
        Some(comment) => comment,
        None => {
            let m = format!("the body must be {{\"reason\": \"...\"}} with 1 to {MAX_COMMENT_CHARS} characters");
            let r = ApiError::bad_request(m.clone()).into_response();
            return audited(&state, &who, "alerts_ack", filters, Err((m, r))).await;
        }
    };
    filters["comment"] = serde_json::Value::String(comment.clone());
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    if let Some(refused) = change_refused(backend.as_ref(), &who, &fingerprint) {
        return audited(&state, &who, "alerts_ack", filters, Err(refused)).await;
    }
    let outcome = match backend.acknowledge(&fingerprint, &who.name, &comment) {
        Ok(alert) => Ok((None, Json(alert).into_response())),
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, "alerts_ack", filters, outcome).await
}

/// The municipality a silence is limited to: its one positive `municipality` matcher.
fn silence_municipality(matchers: &[Matcher]) -> Option<&str> {
    matchers.iter().find(|m| m.label == "municipality" && !m.negate).map(|m| m.value.as_str())
}

/// Whether a scope may add or end a silence with these matchers: region-wide
/// always; a municipal token only for a silence limited to one of its municipalities.
pub(crate) fn may_silence(scope: &Scope, matchers: &[Matcher]) -> bool {
    match scope.municipalities() {
        None => true,
        Some(codes) => silence_municipality(matchers).is_some_and(|m| codes.iter().any(|c| c.as_str() == m)),
    }
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
    if !may_silence(&who.scope, &body.matchers) {
        let m = "a token for some municipalities silences only their alerts: add a matcher \
                 {\"label\": \"municipality\", \"value\": <one of them>}"
            .to_owned();
        let r = ApiError::new(StatusCode::FORBIDDEN, m.clone()).into_response();
        return audited(&state, &who, "silence", filters, Err((m, r))).await;
    }
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

#[derive(Serialize)]
struct Silences {
    silences: Vec<Silence>,
}

/// Whether a silence concerns a scope: region-wide silences concern everyone,
/// one limited to a municipality only those who see it.
pub(crate) fn silence_visible(scope: &Scope, silence: &Silence) -> bool {
    silence_municipality(&silence.matchers).is_none() || may_silence(scope, &silence.matchers)
}

/// `GET /api/v1/silences`: the silences in force that concern the caller.
pub(crate) async fn silences(State(state): State<WebState>, request: Request) -> Response {
    let who = match principal(request.extensions().get::<Principal>()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let outcome = match backend.silences() {
        Ok(mut silences) => {
            silences.retain(|s| silence_visible(&who.scope, s));
            Ok((Some(silences.len() as u64), Json(Silences { silences }).into_response()))
        }
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, "silences_list", serde_json::json!({}), outcome).await
}

/// `POST /api/v1/silences/{id}/expire`: ends a silence now.
pub(crate) async fn expire_silence(
    State(state): State<WebState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let who = match principal(request.extensions().get::<Principal>()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let filters = serde_json::json!({ "silence": shorten(&id, 64) });
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let not_found = |id: &str| {
        let m = format!("no silence with id {}", shorten(id, 64));
        (m.clone(), ApiError::new(StatusCode::NOT_FOUND, m).into_response())
    };
    let found = match backend.silences() {
        Ok(all) => all.into_iter().find(|s| s.id == id),
        Err(e) => return audited(&state, &who, "silence_expire", filters, Err(refusal(e))).await,
    };
    let outcome = match found {
        Some(s) if may_silence(&who.scope, &s.matchers) => match backend.expire_silence(&id) {
            Ok(silence) => Ok((None, Json(silence).into_response())),
            Err(AlertBackendError::Refused(MechanicsError::UnknownSilence(_))) => Err(not_found(&id)),
            Err(e) => Err(refusal(e)),
        },
        Some(s) if silence_municipality(&s.matchers).is_none() => {
            let m = "a token for some municipalities cannot end a region-wide silence".to_owned();
            Err((m.clone(), ApiError::new(StatusCode::FORBIDDEN, m).into_response()))
        }
        _ => Err(not_found(&id)),
    };
    audited(&state, &who, "silence_expire", filters, outcome).await
}

/// Which alerts a feed path names: a municipality's (its CBS code), the
/// region-wide ones (`regio`) or those without a known place (`onbekend`).
fn feed_place(who: &Principal, place: &str) -> Result<(Option<MunicipalityCode>, bool), ApiError> {
    let (code, unplaced) = match place {
        "regio" => (None, false),
        onrust_alert::UNPLACED_LABEL => (None, true),
        _ => {
            let code = MunicipalityCode::new(place.to_owned()).map_err(|_| {
                ApiError::bad_request("name a municipality by its CBS code, such as GM0344, or regio, or onbekend")
            })?;
            (Some(code), false)
        }
    };
    if !who.scope.may_read(code.as_ref()) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such feed for this token"));
    }
    Ok((code, unplaced))
}

/// Which of the two documents a feed route serves.
#[derive(Clone, Copy)]
enum Document {
    Atom,
    Calendar,
}

/// `GET /api/v1/municipalities/{code}/alerts.atom`: the municipality's alerts as an Atom feed.
pub(crate) async fn atom(state: State<WebState>, place: Path<String>, request: Request) -> Response {
    document(state, place, request, Document::Atom).await
}

/// `GET /api/v1/municipalities/{code}/actions.ics`: its announced actions as an iCalendar.
pub(crate) async fn calendar(state: State<WebState>, place: Path<String>, request: Request) -> Response {
    document(state, place, request, Document::Calendar).await
}

async fn document(
    State(state): State<WebState>,
    Path(place): Path<String>,
    request: Request,
    which: Document,
) -> Response {
    let action = match which {
        Document::Atom => "alerts_feed",
        Document::Calendar => "actions_calendar",
    };
    let who = match principal(request.extensions().get::<Principal>()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let filters = serde_json::json!({ "municipality": shorten(&place, 16) });
    let (code, unplaced) = match feed_place(&who, &place) {
        Ok(place) => place,
        Err(e) => {
            let m = e.message.clone();
            return audited(&state, &who, action, filters, Err((m, e.into_response()))).await;
        }
    };
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let alerts = match backend.list() {
        Ok(alerts) => alerts,
        Err(e) => return audited(&state, &who, action, filters, Err(refusal(e))).await,
    };
    let names = backend.names();
    let name = code.as_ref().map(|c| names.of(c).unwrap_or(c.as_str()).to_owned());
    let municipality = code.as_ref().zip(name.as_deref());
    let (body, content_type) = match which {
        Document::Atom => {
            let scope = FeedScope { municipality, unplaced, region_name: &names.region, self_url: None };
            (render_atom(&scope, &alerts, Utc::now()), "application/atom+xml; charset=utf-8")
        }
        Document::Calendar => {
            let scope = CalendarScope { municipality, region_name: &names.region };
            (render_ics(&scope, &alerts), "text/calendar; charset=utf-8")
        }
    };
    let shown = alerts.iter().filter(|a| a.municipality == code && a.unplaced == unplaced).count() as u64;
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    audited(&state, &who, action, filters, Ok((Some(shown), response))).await
}
