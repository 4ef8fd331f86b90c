//! The alerts API (issue 5): list, show, confirm or dismiss for the mayor,
//! acknowledge, silences (add, list, end), sending again what failed for
//! good (issue 16), and each municipality's alerts as an Atom feed and its
//! announced actions as an iCalendar (also behind a secret address per
//! recipient, [`crate::subscriptions`]). Officers read and acknowledge;
//! supervisors also review, silence and send again (rules L8, L10). A
//! token limited to municipalities ([`Scope`]) sees their alerts and the
//! regional ones, and changes only theirs; another municipality's alert is a
//! 404 to it, as if there were none. Every call is in the audit log before it
//! is answered, with who (from the token), what and on which alert (L7).
//!
//! The alert state itself lives in the daemon's alert stage; this module sees
//! it through [`AlertBackend`], so the HTTP side neither owns nor persists it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use onrust_alert::Undelivered;
use onrust_alert::render::atom::{FeedScope, render_atom};
use onrust_alert::render::ics::{CalendarScope, render_ics};
use onrust_alert::{Alert, Matcher, MechanicsError, Silence, SilenceRequest};
use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};

use crate::WebState;
use crate::api::{self, ApiError, record, shorten};
use crate::auth::{Principal, Scope};
use crate::cause::BackendCause;
use crate::subscriptions::{FeedPlace, Subscription};
use onrust_audit::AuditEntry;

/// Longest acknowledgement comment or silence reason, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// What a backend answers asynchronously with: the outbox it sends again
/// from sits behind an async lock, held by the delivery task too.
pub type BackendFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, AlertBackendError>> + Send + 'a>>;

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
    /// The notifications that failed for good and were not sent again.
    fn undelivered(&self) -> BackendFuture<'_, Vec<Undelivered>>;
    /// Queues again every notification about the alert `fingerprint` that
    /// failed for good, with who and why in the notification log; returns them.
    fn resend<'a>(&'a self, fingerprint: &'a str, who: &'a str, reason: &'a str)
    -> BackendFuture<'a, Vec<Undelivered>>;
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
    /// The state could not be read or saved; the source says why (for the
    /// operators' log; the client is told only that it is unavailable).
    #[error("alert state unavailable")]
    Unavailable(#[source] BackendCause),
}

impl AlertBackendError {
    /// The state could not be used because of `source`.
    pub fn unavailable(source: impl Into<BackendCause>) -> Self {
        Self::Unavailable(source.into())
    }
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

/// A reason of 1 to [`MAX_COMMENT_CHARS`] characters without control or
/// bidi characters, or `None`: the one rule for every comment and reason,
/// from the API and from the console's forms. A form's line breaks (`\r\n`)
/// are kept as `\n`; a lone `\r`, an escape sequence or a right-to-left
/// override could make the reason read otherwise in a terminal, a mail or
/// the audit page than what was written.
pub(crate) fn reason_text(reason: String) -> Option<String> {
    let reason = if reason.contains('\r') { reason.replace("\r\n", "\n") } else { reason };
    reason_problem(&reason).is_none().then_some(reason)
}

/// What is wrong with a reason, for the message that refuses it.
pub(crate) fn reason_problem(reason: &str) -> Option<String> {
    if reason.trim().is_empty() || reason.chars().count() > MAX_COMMENT_CHARS {
        return Some(format!("1 to {MAX_COMMENT_CHARS} characters"));
    }
    reason
        .chars()
        .any(onrust_model::is_hidden_char)
        .then(|| "no control or bidi characters (line breaks and tabs are fine)".to_owned())
}

/// The 400 for a body whose reason does not keep the rule, saying which part.
fn reason_refused(shape: &str, reason: Option<&str>) -> String {
    let rule = reason.and_then(reason_problem).unwrap_or_else(|| format!("1 to {MAX_COMMENT_CHARS} characters"));
    format!("the body must be {shape} with {rule}")
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
    // The mandate the alert was made under (rule L5), when the action is about one alert.
    let mandates: Vec<String> = filters
        .get("fingerprint")
        .and_then(serde_json::Value::as_str)
        .filter(|fp| check_fingerprint(fp).is_ok())
        .and_then(|fp| state.alerts.as_ref()?.show(fp).ok().flatten())
        .and_then(|alert| alert.mandate)
        .into_iter()
        .collect();
    let entry =
        AuditEntry { who: who.name.clone(), action: action.to_owned(), query: None, filters, hits, refused, mandates };
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
            tracing::error!(error = %onrust_model::error_chain(&e), "alert api: the alert state is unavailable");
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
    if let Err(message) = api::no_params(request.uri().query()) {
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
    let given = serde_json::from_slice::<ReviewBody>(&body).ok().map(|b| b.reason);
    let reason = match given.clone().and_then(reason_text) {
        Some(reason) => reason,
        None => {
            let m = reason_refused("{\"reason\": \"...\"}", given.as_deref());
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
    let given = serde_json::from_slice::<AckBody>(&body).ok().map(|b| b.comment);
    let comment = match given.clone().and_then(reason_text) {
        Some(comment) => comment,
        None => {
            let m = reason_refused("{\"reason\": \"...\"}", given.as_deref());
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
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let parsed = serde_json::from_slice::<SilenceBody>(&body);
    let filters = match &parsed {
        Ok(b) => serde_json::json!({ "matchers": b.matchers, "reason": shorten(&b.reason, 200), "ends_at": b.ends_at }),
        Err(_) => serde_json::json!({}),
    };
    if let Err(m) = api::no_params(query.as_deref()) {
        let r = ApiError::bad_request(m.clone()).into_response();
        return audited(&state, &who, "silence", filters, Err((m, r))).await;
    }
    if let Ok(b) = &parsed
        && b.reason.chars().any(onrust_model::is_hidden_char)
    {
        let m = "the reason may hold no control or bidi characters (line breaks and tabs are fine)".to_owned();
        let r = ApiError::bad_request(m.clone()).into_response();
        return audited(&state, &who, "silence", filters, Err((m, r))).await;
    }
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
    if let Err(m) = api::no_params(request.uri().query()) {
        let (_, given) = api::given_params(request.uri().query());
        let response = ApiError::bad_request(m.clone()).into_response();
        return audited(&state, &who, "silences_list", given, Err((m, response))).await;
    }
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
    if let Err(m) = api::no_params(request.uri().query()) {
        let response = ApiError::bad_request(m.clone()).into_response();
        return audited(&state, &who, "silence_expire", filters, Err((m, response))).await;
    }
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

/// Which of the two documents a feed route serves.
#[derive(Clone, Copy)]
enum Document {
    Atom,
    Calendar,
}

impl Document {
    fn action(self) -> &'static str {
        match self {
            Document::Atom => "alerts_feed",
            Document::Calendar => "actions_calendar",
        }
    }
}

/// `GET /api/v1/municipalities/{code}/alerts.atom`: the municipality's alerts as an Atom feed.
pub(crate) async fn atom(state: State<WebState>, place: Path<String>, request: Request) -> Response {
    document(state, place, request, Document::Atom).await
}

/// `GET /api/v1/municipalities/{code}/actions.ics`: its announced actions as an iCalendar.
pub(crate) async fn calendar(state: State<WebState>, place: Path<String>, request: Request) -> Response {
    document(state, place, request, Document::Calendar).await
}

/// `GET /feeds/{token}/alerts.atom`: the Atom feed a subscription shows; who
/// and what come from the subscription the token in the path names.
pub(crate) async fn subscribed_atom(state: State<WebState>, request: Request) -> Response {
    subscribed(state, request, Document::Atom).await
}

/// `GET /feeds/{token}/actions.ics`: the calendar a subscription shows.
pub(crate) async fn subscribed_calendar(state: State<WebState>, request: Request) -> Response {
    subscribed(state, request, Document::Calendar).await
}

async fn subscribed(State(state): State<WebState>, request: Request, which: Document) -> Response {
    let who = match principal(request.extensions().get::<Principal>()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let Some(subscription) = request.extensions().get::<Subscription>().cloned() else {
        return ApiError::new(StatusCode::NOT_FOUND, "not found").into_response();
    };
    // The subscription's id, never its token: the address is the secret.
    let filters = serde_json::json!({ "municipality": subscription.place.word(), "subscription": subscription.id });
    serve_document(&state, &who, &subscription.place, which, filters).await
}

async fn document(
    State(state): State<WebState>,
    Path(place): Path<String>,
    request: Request,
    which: Document,
) -> Response {
    let who = match principal(request.extensions().get::<Principal>()) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let filters = serde_json::json!({ "municipality": shorten(&place, 16) });
    match FeedPlace::parse(&place) {
        Ok(place) => serve_document(&state, &who, &place, which, filters).await,
        Err(_) => {
            let e = ApiError::bad_request(
                "name a municipality by its CBS code, such as GM0344, or regio, onbekend or alle (every alert)",
            );
            let m = e.message.clone();
            audited(&state, &who, which.action(), filters, Err((m, e.into_response()))).await
        }
    }
}

/// The feed or calendar of `place` for `who`: a municipality its scope
/// covers, the region-wide or unplaced alerts, or every alert for a holder
/// who sees the whole region; anything else is a 404, as if there were none.
async fn serve_document(
    state: &WebState,
    who: &Principal,
    place: &FeedPlace,
    which: Document,
    filters: serde_json::Value,
) -> Response {
    let action = which.action();
    let readable = match place {
        FeedPlace::Municipality(code) => who.scope.may_read(Some(code)),
        FeedPlace::All => who.scope.municipalities().is_none(),
        FeedPlace::Region | FeedPlace::Unplaced => true,
    };
    if !readable {
        let e = ApiError::new(StatusCode::NOT_FOUND, "no such feed for this token");
        let m = e.message.clone();
        return audited(state, who, action, filters, Err((m, e.into_response()))).await;
    }
    let backend = match backend(state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let alerts = match backend.list() {
        Ok(alerts) => alerts,
        Err(e) => return audited(state, who, action, filters, Err(refusal(e))).await,
    };
    let names = backend.names();
    let name = match place {
        FeedPlace::Municipality(code) => names.of(code).unwrap_or(code.as_str()).to_owned(),
        _ => String::new(),
    };
    let feed_place = place.for_feed(&name);
    let (body, content_type, shown) = match which {
        Document::Atom => {
            let scope = FeedScope { place: feed_place, region_name: &names.region, self_url: None };
            let shown = alerts.iter().filter(|a| feed_place.admits(a)).count();
            (render_atom(&scope, &alerts, Utc::now()), "application/atom+xml; charset=utf-8", shown)
        }
        Document::Calendar => {
            let scope = CalendarScope { place: feed_place, region_name: &names.region };
            let shown = alerts
                .iter()
                .filter(|a| feed_place.admits(a) && a.kind == onrust_alert::RuleKind::Announcement)
                .filter(|a| a.event_time.is_some())
                .count();
            (render_ics(&scope, &alerts), "text/calendar; charset=utf-8", shown)
        }
    };
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    audited(state, who, action, filters, Ok((Some(shown as u64), response))).await
}

#[derive(Serialize)]
struct Resent {
    fingerprint: String,
    resent: Vec<Undelivered>,
}

/// `POST /api/v1/alerts/{id}/resend` with `{"reason": "..."}`: queues again
/// every notification about the alert that failed for good (issue 16): the
/// address, the relay or the receiver is fixed. `{id}` is the alert's
/// fingerprint or a unique prefix of at least 8 characters (the id in the
/// mail), looked up among what failed, so an alert that is over and
/// forgotten can still be sent again. A token for some municipalities sees
/// only what is about them (404 otherwise) and sends again only its own.
/// Who and why go to the audit log and the notification log.
pub(crate) async fn resend(
    State(state): State<WebState>,
    Path(id): Path<String>,
    axum::Extension(who): axum::Extension<Principal>,
    body: Bytes,
) -> Response {
    const ACTION: &str = "alerts_resend";
    let mut filters = serde_json::json!({ "fingerprint": shorten(&id, 128) });
    if check_fingerprint(&id).is_err() || id.len() < onrust_alert::SHORT_ID_CHARS {
        let m = format!("an alert id is {} or more hexadecimal digits, as in the mail", onrust_alert::SHORT_ID_CHARS);
        let r = ApiError::bad_request(m.clone()).into_response();
        return audited(&state, &who, ACTION, filters, Err((m, r))).await;
    }
    let reason = match serde_json::from_slice::<ReviewBody>(&body).ok().and_then(|b| reason_text(b.reason)) {
        Some(reason) => reason,
        None => {
            let m = format!("the body must be {{\"reason\": \"...\"}} with 1 to {MAX_COMMENT_CHARS} characters");
            let r = ApiError::bad_request(m.clone()).into_response();
            return audited(&state, &who, ACTION, filters, Err((m, r))).await;
        }
    };
    filters["reason"] = serde_json::Value::String(reason.clone());
    let backend = match backend(&state) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let undelivered = match backend.undelivered().await {
        Ok(all) => all,
        Err(e) => return audited(&state, &who, ACTION, filters, Err(refusal(e))).await,
    };
    let fingerprint = match failed_alert(&who.scope, &undelivered, &id.to_ascii_lowercase()) {
        Ok(fingerprint) => fingerprint,
        Err(e) => {
            let m = e.message.clone();
            return audited(&state, &who, ACTION, filters, Err((m, e.into_response()))).await;
        }
    };
    filters["fingerprint"] = serde_json::Value::String(fingerprint.clone());
    let concerned = undelivered
        .iter()
        .filter(|u| u.fingerprint == fingerprint || u.alerts.iter().any(|a| a.fingerprint == fingerprint));
    if concerned.flat_map(|u| &u.alerts).any(|a| !who.scope.may_change(a.municipality.as_ref())) {
        let m = "a token for some municipalities sends again only what is about them alone".to_owned();
        let r = ApiError::new(StatusCode::FORBIDDEN, m.clone()).into_response();
        return audited(&state, &who, ACTION, filters, Err((m, r))).await;
    }
    let outcome = match backend.resend(&fingerprint, &who.name, &reason).await {
        Ok(resent) => {
            let n = resent.len() as u64;
            Ok((Some(n), Json(Resent { fingerprint, resent }).into_response()))
        }
        Err(e) => Err(refusal(e)),
    };
    audited(&state, &who, ACTION, filters, outcome).await
}

/// The one alert (or notification) that failed for good whose id starts
/// with `prefix`, among what the caller's scope may read; or why not.
fn failed_alert(scope: &Scope, undelivered: &[Undelivered], prefix: &str) -> Result<String, ApiError> {
    let mut ids: Vec<&str> = undelivered
        .iter()
        .filter(|u| u.alerts.iter().all(|a| scope.may_read(a.municipality.as_ref())))
        .flat_map(|u| u.alerts.iter().map(|a| a.fingerprint.as_str()).chain(std::iter::once(u.fingerprint.as_str())))
        .filter(|f| f.starts_with(prefix))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => {
            let m = format!(
                "no notification about an alert with id {} failed for good (onrust alerts log shows every attempt)",
                shorten(prefix, 64)
            );
            Err(ApiError::new(StatusCode::NOT_FOUND, m))
        }
        many => {
            let shown: Vec<&str> = many.iter().map(|f| f.get(..16).unwrap_or(f)).collect();
            let m = format!(
                "{} alerts that failed have an id starting with {}; give more characters: {}",
                many.len(),
                shorten(prefix, 64),
                shown.join(", ")
            );
            Err(ApiError::new(StatusCode::CONFLICT, m))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client is told the alert state is unavailable; the operators'
    /// log also why, from the error the backend failed with, kept whole.
    #[test]
    fn an_unavailable_alert_state_keeps_why() {
        let disk_full = std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
        let e = AlertBackendError::unavailable(disk_full);
        assert_eq!(e.to_string(), "alert state unavailable");
        let source = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(source.map(std::io::Error::kind), Some(std::io::ErrorKind::StorageFull), "{e:?}");
        assert_eq!(onrust_model::error_chain(&e), "alert state unavailable: disk full");
    }
}
