//! `GET /api/v1/search`: the archive for analysts (rules L7, S7).
//!
//! A request is checked strictly (unknown parameters, malformed values and
//! out-of-range paging are a 400 naming what was wrong), then waits for one of
//! a few search slots and runs on a blocking thread under a wall-clock budget.
//! Whatever the outcome — hits, a refused query, bad parameters, a full
//! house, a timeout — one audit record is appended before the answer goes
//! out, and if it cannot be, the answer is a 503 without results. Nothing a
//! client sends can cause a 500.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use onrust_archive::{
    ArchiveError, ArchiveReader, BucketInfo, MAX_LIMIT, MAX_OFFSET, SearchRequest, SearchResults, Sort,
};
use onrust_model::{Level, MunicipalityCode};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::WebState;
use crate::api::{self, ApiError, shorten};
use crate::auth::{Principal, Scope};
use crate::internal_events::ApiSearched;
use onrust_audit::AuditEntry;

/// The parameters `GET /api/v1/search` accepts; any other is a 400.
pub const PARAMS: [&str; 12] = [
    "q",
    "municipality",
    "theme",
    "min_level",
    "since",
    "until",
    "source_kind",
    "lang",
    "facets",
    "limit",
    "offset",
    "sort",
];

/// What runs a search: the archive in the daemon, a stand-in in tests.
pub trait SearchBackend: Send + Sync + 'static {
    fn search(&self, request: &SearchRequest) -> Result<SearchResults, ArchiveError>;
    /// The archive's buckets, oldest first, for the audit page's retention.
    fn buckets(&self) -> Result<Vec<BucketInfo>, ArchiveError>;
}

impl SearchBackend for ArchiveReader {
    fn search(&self, request: &SearchRequest) -> Result<SearchResults, ArchiveError> {
        ArchiveReader::search(self, request)
    }

    fn buckets(&self) -> Result<Vec<BucketInfo>, ArchiveError> {
        ArchiveReader::buckets(self)
    }
}

/// Which mandates cover a search (rule L5): the daemon answers from its
/// configuration and the date. A search no mandate in force covers is
/// refused, and the refusal audited like any other.
pub trait SearchMandates: Send + Sync + 'static {
    /// The ids of the mandates in force now whose scope covers `request`.
    fn covering(&self, request: &SearchRequest) -> Vec<String>;
}

/// How much searching the API does at once, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLimits {
    /// Searches running at once (at least 1).
    pub concurrency: usize,
    /// How long a request waits for a free slot before it gets a 503 with `Retry-After`.
    pub queue_wait: Duration,
    /// Wall-clock bound on one search; past it the answer is a 503 (the search
    /// itself finishes in the background and only then frees its slot).
    pub budget: Duration,
}

impl Default for SearchLimits {
    fn default() -> Self {
        Self { concurrency: 4, queue_wait: Duration::from_secs(2), budget: Duration::from_secs(2) }
    }
}

/// The archive behind the API, with its slots.
#[derive(Clone)]
pub struct SearchService {
    backend: Arc<dyn SearchBackend>,
    permits: Arc<Semaphore>,
    limits: SearchLimits,
    /// Which mandates cover a search; `None`: not bound to mandates (tests of this crate).
    mandates: Option<Arc<dyn SearchMandates>>,
}

impl SearchService {
    pub fn new(backend: Arc<dyn SearchBackend>, limits: SearchLimits) -> Self {
        let permits = Arc::new(Semaphore::new(limits.concurrency.max(1)));
        Self { backend, permits, limits, mandates: None }
    }

    /// Binds every API search to the mandates that cover it (rule L5).
    pub fn with_mandates(mut self, mandates: Arc<dyn SearchMandates>) -> Self {
        self.mandates = Some(mandates);
        self
    }

    /// The mandates covering `request`: `Ok` with their ids (empty when
    /// searches are not bound to mandates), or the refusal when none does.
    fn mandates_for(&self, request: &SearchRequest) -> Result<Vec<String>, Refusal> {
        let Some(mandates) = &self.mandates else { return Ok(Vec::new()) };
        let covering = mandates.covering(request);
        if covering.is_empty() {
            return Err(Refusal {
                outcome: "no_mandate",
                error: ApiError::new(
                    StatusCode::FORBIDDEN,
                    "no mandate in force covers this search (rule L5): its municipality, theme or source kind \
                     is outside every mandate, or none is in force today",
                ),
            });
        }
        Ok(covering)
    }
}

impl SearchService {
    /// The archive's buckets (sizes them on disk: a blocking thread).
    pub(crate) async fn buckets(&self) -> Result<Vec<BucketInfo>, String> {
        let backend = Arc::clone(&self.backend);
        match tokio::task::spawn_blocking(move || backend.buckets()).await {
            Ok(Ok(buckets)) => Ok(buckets),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Why a search was not answered with hits: the status, a bounded metric
/// outcome, and the message for the client (also the audit record's reason).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub outcome: &'static str,
    pub error: ApiError,
}

impl Refusal {
    fn bad_request(message: impl Into<String>) -> Self {
        Self { outcome: "bad_request", error: ApiError::bad_request(message) }
    }

    fn unavailable(outcome: &'static str, message: impl Into<String>, retry_after: Option<u32>) -> Self {
        Self { outcome, error: ApiError::unavailable(message, retry_after) }
    }
}

#[derive(Serialize)]
struct SearchResponse {
    #[serde(flatten)]
    results: SearchResults,
    took_ms: u64,
}

/// The mandates covering `request` in this instance (empty when searches are
/// not bound to mandates), or the refusal when none does (rule L5).
pub(crate) fn mandates_covering(state: &WebState, request: &SearchRequest) -> Result<Vec<String>, Refusal> {
    state.search.as_ref().map_or(Ok(Vec::new()), |s| s.mandates_for(request))
}

/// What the console says when no mandate covers a search (rule L5).
pub(crate) const NO_MANDATE_NL: &str = "Geen mandaat dat vandaag geldt, dekt deze zoekopdracht: de gemeente, het \
    thema of de soort bron valt erbuiten, of er geldt geen mandaat. Vraag de beheerder welk mandaat geldt.";

/// The handler. The authorisation layer has put the caller's [`Principal`]
/// in the request; without one (a wiring mistake) nothing is searched.
pub(crate) async fn search(State(state): State<WebState>, request: Request) -> Response {
    let started = Instant::now();
    let Some(who) = request.extensions().get::<Principal>().cloned() else {
        tracing::error!("search route reached without a principal; refusing");
        return ApiError::new(StatusCode::UNAUTHORIZED, "a valid bearer token is required").into_response();
    };
    let raw = request.uri().query().map(str::to_owned);
    let mut mandates = Vec::new();
    let outcome = match parse_request(raw.as_deref()).and_then(|mut r| scope_search(&who.scope, &mut r).map(|()| r)) {
        Ok(parsed) => match mandates_covering(&state, &parsed) {
            Ok(covering) => {
                mandates = covering;
                execute(&state, parsed).await
            }
            Err(refusal) => Err(refusal),
        },
        Err(message) => Err(Refusal::bad_request(message)),
    };
    let (query, filters) = api::given_params(raw.as_deref());
    let (hits, refused) = match &outcome {
        Ok(results) => (Some(results.total as u64), None),
        Err(refusal) => (None, Some(refusal.error.message.clone())),
    };
    let entry = AuditEntry { who: who.name.clone(), action: "search".into(), query, filters, hits, refused, mandates };
    if let Err(error) = api::record(state.audit_path.clone(), entry).await {
        ApiSearched { who: &who.name, outcome: "audit_failed", hits: None, duration: started.elapsed() }.emit();
        return error.into_response();
    }
    let duration = started.elapsed();
    match outcome {
        Ok(results) => {
            ApiSearched { who: &who.name, outcome: "ok", hits: Some(results.total as u64), duration }.emit();
            let took_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
            Json(SearchResponse { results, took_ms }).into_response()
        }
        Err(refusal) => {
            ApiSearched { who: &who.name, outcome: refusal.outcome, hits: None, duration }.emit();
            refusal.error.into_response()
        }
    }
}

/// Limits a search to what `scope` may read (docs/ARCHITECTURE.md, "The console"):
/// region-wide, anything; an account or token for some municipalities only
/// messages about one of them, the first when the request names none.
pub(crate) fn scope_search(scope: &Scope, request: &mut SearchRequest) -> Result<(), String> {
    let Some(codes) = scope.municipalities() else { return Ok(()) };
    match &request.municipality {
        None => request.municipality = codes.first().cloned(),
        Some(asked) if codes.contains(asked) => {}
        Some(asked) => {
            let own: Vec<&str> = codes.iter().map(MunicipalityCode::as_str).collect();
            return Err(format!("this token searches only its own municipalities ({}), not {asked}", own.join(", ")));
        }
    }
    Ok(())
}

/// Runs a checked request in a search slot under the wall-clock budget.
pub(crate) async fn execute(state: &WebState, request: SearchRequest) -> Result<SearchResults, Refusal> {
    let Some(service) = &state.search else {
        return Err(Refusal::unavailable("unavailable", "search is not available on this instance", None));
    };
    let limits = service.limits;
    let permit = match tokio::time::timeout(limits.queue_wait, Arc::clone(&service.permits).acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_closed)) => {
            return Err(Refusal::unavailable("unavailable", "search is shutting down", None));
        }
        Err(_elapsed) => {
            return Err(Refusal::unavailable(
                "busy",
                format!("{} searches are already running; try again in a moment", limits.concurrency.max(1)),
                Some(1),
            ));
        }
    };
    let backend = Arc::clone(&service.backend);
    // The slot goes with the search: if the budget runs out, the search still
    // finishes on its thread, and only then may another one start.
    let task = tokio::task::spawn_blocking(move || {
        let _slot = permit;
        backend.search(&request)
    });
    match tokio::time::timeout(limits.budget, task).await {
        Err(_elapsed) => Err(Refusal::unavailable(
            "too_slow",
            format!("the search took longer than {} ms; narrow it down", limits.budget.as_millis()),
            None,
        )),
        Ok(Err(join_error)) => {
            tracing::error!(error = %join_error, "search task failed");
            Err(Refusal::unavailable("unavailable", "the search failed; try again later", Some(5)))
        }
        Ok(Ok(Ok(results))) => Ok(results),
        Ok(Ok(Err(error))) => Err(archive_refusal(error)),
    }
}

/// A refused query, or one that ran past the archive's own time budget, is
/// the client's to fix or narrow down (400, with the archive's message);
/// anything else is ours (503, a generic message, the detail in the log).
fn archive_refusal(error: ArchiveError) -> Refusal {
    match error {
        ArchiveError::BadQuery(_) => Refusal::bad_request(error.to_string()),
        ArchiveError::TooSlow { .. } => {
            Refusal { outcome: "too_slow", error: ApiError::bad_request(error.to_string()) }
        }
        other => {
            tracing::warn!(error = %other, "search failed in the archive");
            Refusal::unavailable("unavailable", "the archive cannot be searched right now; try again later", Some(5))
        }
    }
}

/// Reads the query string into a [`SearchRequest`]. Every parameter at most
/// once, every value checked; the message names what was wrong.
pub(crate) fn parse_request(raw: Option<&str>) -> Result<SearchRequest, String> {
    let mut request = SearchRequest::default();
    let mut seen: Vec<&'static str> = Vec::new();
    for (name, value) in api::params(raw)? {
        let Some(&param) = PARAMS.iter().find(|&&p| p == name) else {
            return Err(format!(
                "unknown parameter {:?}; the parameters are {}",
                shorten(&name, 40),
                PARAMS.join(", ")
            ));
        };
        if seen.contains(&param) {
            return Err(format!("parameter {param} is given more than once"));
        }
        seen.push(param);
        let value = value.as_str();
        if param != "q" && value.is_empty() {
            return Err(format!("parameter {param} is empty"));
        }
        match param {
            "q" => request.query = value.to_owned(),
            "municipality" => {
                request.municipality = Some(MunicipalityCode::new(shorten(value, 16)).map_err(|e| e.to_string())?);
            }
            "theme" => request.theme = Some(word(param, value, 64, |c| c.is_ascii_alphanumeric() || c == '_')?),
            "min_level" => {
                request.min_level = Some(
                    value
                        .parse::<u8>()
                        .ok()
                        .and_then(|n| Level::try_from(n).ok())
                        .ok_or("min_level must be 0, 1, 2 or 3")?,
                );
            }
            "since" => request.since = Some(time(param, value)?),
            "until" => request.until = Some(time(param, value)?),
            "source_kind" => {
                request.source_kind = Some(word(param, value, 32, |c| c.is_ascii_lowercase() || c == '_')?);
            }
            "lang" => {
                if !(2..=3).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_lowercase()) {
                    return Err("lang must be a language code such as nl or en".into());
                }
                request.lang = Some(value.to_owned());
            }
            "facets" => {
                request.facets = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err("facets must be true or false".into()),
                };
            }
            "limit" => request.limit = number(param, value, 1, MAX_LIMIT)?,
            "offset" => request.offset = number(param, value, 0, MAX_OFFSET)?,
            "sort" => {
                request.sort = match value {
                    "relevance" => Sort::Relevance,
                    "newest" => Sort::Newest,
                    "oldest" => Sort::Oldest,
                    _ => return Err("sort must be relevance, newest or oldest".into()),
                };
            }
            _ => return Err(format!("parameter {param} is not handled")),
        }
    }
    Ok(request)
}

/// A short identifier: at most `max` characters, each allowed by `ok`.
fn word(param: &str, value: &str, max: usize, ok: impl Fn(char) -> bool) -> Result<String, String> {
    if value.chars().count() > max || !value.chars().all(ok) {
        return Err(format!(
            "{param} must be an identifier of at most {max} characters, such as the ids in search results"
        ));
    }
    Ok(value.to_owned())
}

fn number(param: &str, value: &str, min: usize, max: usize) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{param} must be a whole number from {min} to {max}")),
    }
}

/// RFC 3339, or a date (midnight UTC).
fn time(param: &str, value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    if value.len() == 10
        && let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d")
    {
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    Err(format!("{param} must be an RFC 3339 time (write + as %2B) or a date YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(raw: &str) -> String {
        parse_request(Some(raw)).expect_err(raw)
    }

    #[test]
    fn every_parameter_maps_onto_the_request() {
        let request = parse_request(Some(
            "q=boeren+%22A12%22&municipality=GM0344&theme=stikstof&min_level=2&since=2024-12-01\
             &until=2024-12-02T10:00:00%2B01:00&source_kind=feed&lang=nl&facets=true&limit=50&offset=100&sort=newest",
        ))
        .unwrap();
        assert_eq!(
            request,
            SearchRequest {
                query: "boeren \"A12\"".into(),
                municipality: Some(MunicipalityCode::new("GM0344").unwrap()),
                theme: Some("stikstof".into()),
                min_level: Some(Level::Mobilisation),
                since: Some("2024-12-01T00:00:00Z".parse().unwrap()),
                until: Some("2024-12-02T09:00:00Z".parse().unwrap()),
                source_kind: Some("feed".into()),
                lang: Some("nl".into()),
                facets: true,
                limit: 50,
                offset: 100,
                sort: Sort::Newest,
            }
        );
        assert_eq!(parse_request(None).unwrap(), SearchRequest::default());
        assert_eq!(parse_request(Some("q=")).unwrap(), SearchRequest::default());
    }

    #[test]
    fn malformed_values_name_the_parameter() {
        for (raw, needle) in [
            ("limit=0", "limit must be a whole number from 1 to 100"),
            ("limit=1000000000", "limit must be"),
            ("limit=99999999999999999999999999", "limit must be"),
            ("limit=-1", "limit must be"),
            ("limit=ten", "limit must be"),
            ("offset=10001", "offset must be a whole number from 0 to 10000"),
            ("min_level=9", "min_level must be 0, 1, 2 or 3"),
            ("min_level=", "parameter min_level is empty"),
            ("since=yesterday", "since must be an RFC 3339 time"),
            ("until=2024-12-01T10:00:00+01:00", "write + as %2B"),
            ("until=2024-13-01", "until must be"),
            ("municipality=Utrecht", "municipality code"),
            ("theme=a%20b", "theme must be an identifier"),
            ("lang=dutch", "lang must be"),
            ("facets=yes", "facets must be true or false"),
            ("sort=random", "sort must be relevance, newest or oldest"),
            ("q=a&q=b", "parameter q is given more than once"),
            ("author=x", "unknown parameter \"author\""),
            ("Q=x", "unknown parameter \"Q\""),
            ("q=%FF%FErellen", "parameter q is not valid UTF-8"),
            ("theme=%C3", "parameter theme is not valid UTF-8"),
        ] {
            let message = err(raw);
            assert!(message.contains(needle), "{raw}: {message}");
        }
    }

    #[test]
    fn unknown_parameter_names_are_shortened() {
        let message = err(&format!("{}=1", "x".repeat(5000)));
        assert!(message.len() < 300, "{message}");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn request_strategy() -> impl Strategy<Value = SearchRequest> {
            let times = proptest::option::of(0i64..4_102_444_800)
                .prop_map(|secs| secs.and_then(|s| DateTime::<Utc>::from_timestamp(s, 0)));
            (
                (any::<String>(), proptest::option::of("GM[0-9]{4}"), proptest::option::of("[a-z0-9_]{1,64}")),
                (proptest::option::of(0u8..=3), times.clone(), times),
                (proptest::option::of("[a-z_]{1,32}"), proptest::option::of("[a-z]{2,3}"), any::<bool>()),
                (1usize..=MAX_LIMIT, 0usize..=MAX_OFFSET, 0u8..3),
            )
                .prop_map(
                    |(
                        (query, municipality, theme),
                        (level, since, until),
                        (kind, lang, facets),
                        (limit, offset, sort),
                    )| {
                        SearchRequest {
                            query,
                            municipality: municipality.map(|m| MunicipalityCode::new(m).unwrap()),
                            theme,
                            min_level: level.map(|l| Level::try_from(l).unwrap()),
                            since,
                            until,
                            source_kind: kind,
                            lang,
                            facets,
                            limit,
                            offset,
                            sort: [Sort::Relevance, Sort::Newest, Sort::Oldest][usize::from(sort)],
                        }
                    },
                )
        }

        /// The query string a client would send for `request`.
        fn encode(request: &SearchRequest) -> String {
            let mut out = url::form_urlencoded::Serializer::new(String::new());
            out.append_pair("q", &request.query);
            if let Some(m) = &request.municipality {
                out.append_pair("municipality", m.as_str());
            }
            if let Some(t) = &request.theme {
                out.append_pair("theme", t);
            }
            if let Some(l) = request.min_level {
                out.append_pair("min_level", &l.as_u8().to_string());
            }
            if let Some(t) = request.since {
                out.append_pair("since", &t.to_rfc3339());
            }
            if let Some(t) = request.until {
                out.append_pair("until", &t.to_rfc3339());
            }
            if let Some(k) = &request.source_kind {
                out.append_pair("source_kind", k);
            }
            if let Some(l) = &request.lang {
                out.append_pair("lang", l);
            }
            out.append_pair("facets", if request.facets { "true" } else { "false" });
            out.append_pair("limit", &request.limit.to_string());
            out.append_pair("offset", &request.offset.to_string());
            let sort = match request.sort {
                Sort::Relevance => "relevance",
                Sort::Newest => "newest",
                Sort::Oldest => "oldest",
            };
            out.append_pair("sort", sort);
            out.finish()
        }

        proptest! {
            /// Every request a client can express reads back as itself.
            #[test]
            fn every_request_round_trips_through_its_query_string(request in request_strategy()) {
                prop_assert_eq!(parse_request(Some(&encode(&request))), Ok(request));
            }

            /// Whatever arrives is a request or a refusal with a message; never a panic.
            #[test]
            fn any_query_string_is_read_or_refused_without_a_panic(raw in "[a-z_=&%+0-9A-F:.\\-\\PC]{0,200}") {
                if let Err(message) = parse_request(Some(&raw)) {
                    prop_assert!(!message.is_empty());
                }
            }

            /// `q` as any bytes, percent-encoded: read exactly when they are UTF-8, refused by name otherwise.
            #[test]
            fn q_is_read_exactly_when_its_bytes_are_utf8(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
                let encoded: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
                match (String::from_utf8(bytes), parse_request(Some(&format!("q={encoded}")))) {
                    (Ok(text), Ok(request)) => prop_assert_eq!(request.query, text),
                    (Err(_), Err(message)) => prop_assert_eq!(message, "parameter q is not valid UTF-8"),
                    (text, parsed) => prop_assert!(false, "{:?} gave {:?}", text, parsed),
                }
            }
        }
    }
}
