//! The listener end to end over TCP: operational endpoints, the route × role
//! matrix, the search API on a small archive, and its audit records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, TimeZone, Utc};
use metrics_exporter_prometheus::PrometheusBuilder;
use onrust_archive::{ArchiveError, ArchiveOptions, ArchiveReader, ArchiveWriter, SearchRequest, SearchResults};
use onrust_audit as audit;
use onrust_model::{Level, MunicipalityCode, ScoredMessage};
use onrust_testkit::scored_message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const MONITOR: &str = "monitor-token-0123456789";
const ANALYST: &str = "onrust_analyst-token";
const CANARY: &str = "c0ffee00canarypseudonym00c0ffee";

/// The token of each role (the monitor's is the `http.token_file` one).
fn token_of(role: Role) -> &'static str {
    match role {
        Role::Officer => "onrust_officer-token",
        Role::Analyst => ANALYST,
        Role::Supervisor => "onrust_supervisor-token",
        Role::Fg => "onrust_fg-token",
        Role::Admin => "onrust_admin-token",
        Role::Monitor => MONITOR,
    }
}

fn access(monitor: bool) -> Arc<AccessControl> {
    let credentials = Role::CONFIGURABLE
        .into_iter()
        .map(|role| Credential {
            name: if role == Role::Analyst { "analist-utrecht".into() } else { format!("{role}-1") },
            role,
            hash: TokenHash::of(token_of(role)),
            scope: auth::Scope::Region,
        })
        .collect();
    Arc::new(AccessControl::new(monitor.then(|| TokenHash::of(MONITOR)), credentials).unwrap())
}

fn message(id: &str, title: &str, text: &str, code: &str, theme: Option<&str>, level: Level) -> ScoredMessage {
    let published = FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(2024, 12, 1, 12, 0, 0).unwrap();
    let message = scored_message(id)
        .source("rtvutrecht")
        .title(title)
        .text(text)
        .published_at(published)
        .fetched_at(Utc.with_ymd_and_hms(2024, 12, 1, 11, 30, 0).unwrap())
        .author(CANARY)
        .lang_hint("nl")
        .level(level)
        .score(0.5)
        .municipality(code);
    match theme {
        Some(theme) => message.theme(theme),
        None => message,
    }
    .build()
}

/// A small archive and an audit log in a temporary folder.
struct Fixture {
    dir: tempfile::TempDir,
    reader: Arc<ArchiveReader>,
}

/// When the announced action of `w1` takes place: 3 December 2024, 19:00 in Utrecht.
fn w1_event() -> chrono::DateTime<FixedOffset> {
    FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(2024, 12, 3, 19, 0, 0).unwrap()
}

impl Fixture {
    fn new() -> Self {
        Self::with(Vec::new())
    }

    /// The three messages every test knows, and `extra`.
    fn with(extra: Vec<ScoredMessage>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let mut writer = ArchiveWriter::open(&archive, &ArchiveOptions::default()).unwrap();
        let mut w1 = message(
            "w1",
            "Boeren blokkeren de A12",
            "trekkers op de snelweg bij Utrecht",
            "GM0344",
            Some("stikstof"),
            Level::Mobilisation,
        );
        w1.assessment.event_time = Some(w1_event());
        let mut w2 = message(
            "w2",
            "Rellen in Amersfoort",
            "vuurwerk tegen de ME, <script>alert(1)</script>",
            "GM0307",
            Some("jaarwisseling"),
            Level::Escalation,
        );
        w2.assessment.explanation = vec![
            onrust_model::Signal { signal: "clause".into(), evidence: "vuurwerk tegen de ME".into(), weight: 0.0 },
            onrust_model::Signal { signal: "call_to_violence".into(), evidence: "vuurwerk".into(), weight: 1.6 },
            onrust_model::Signal { signal: "target".into(), evidence: "ME".into(), weight: 0.9 },
        ];
        let w3 = message("w3", "Het weer", "morgen zonnig in Utrecht", "GM0344", None, Level::None);
        for m in [w1, w2, w3].into_iter().chain(extra) {
            writer.upsert(&m).unwrap();
        }
        writer.commit().unwrap();
        drop(writer);
        let reader = Arc::new(ArchiveReader::open(&archive).unwrap());
        Self { dir, reader }
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit").join("audit.jsonl")
    }

    fn state(&self, monitor: bool) -> WebState {
        self.state_with(monitor, Arc::clone(&self.reader) as Arc<dyn SearchBackend>, SearchLimits::default())
    }

    fn state_with(&self, monitor: bool, backend: Arc<dyn SearchBackend>, limits: SearchLimits) -> WebState {
        WebState {
            metrics: PrometheusBuilder::new().build_recorder().handle(),
            ready: Arc::new(AtomicBool::new(true)),
            access: access(monitor),
            audit_path: self.audit_path(),
            search: Some(SearchService::new(backend, limits)),
            alerts: Some(Arc::new(FakeAlerts::with(vec![fake_alert()]))),
            console: Arc::new(console::test_console(crate::console::LoginPolicy::default())),
            feeds: Arc::new(subscriptions::Subscriptions::none()),
            halt: Arc::new(crate::halt::HaltSwitch::open(self.dir.path()).unwrap()),
            erase: Some(Arc::new(FakeEraser::default())),
        }
    }

    fn records(&self) -> Vec<audit::AuditRecord> {
        audit::tail(&self.audit_path(), 1000).unwrap()
    }

    fn verified(&self) -> u64 {
        if self.audit_path().exists() { audit::verify(&self.audit_path()).unwrap() } else { 0 }
    }
}

async fn start(state: WebState) -> SocketAddr {
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state, ConnectionLimits::default(), std::future::pending()));
    addr
}

/// A response: status, headers (names lowercase), body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        assert_eq!(self.header("content-type"), "application/json", "{self:?}");
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not json ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

async fn call(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    send(addr, "GET", path, headers, "").await
}

async fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let length = if method == "POST" { format!("Content-Length: {}\r\n", body.len()) } else { String::new() };
    let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}{length}Connection: close\r\n\r\n{body}");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply { status, headers, body: body.to_owned() }
}

async fn get_as(addr: SocketAddr, path: &str, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    call(addr, path, &headers).await
}

/// A route called the way it is meant to be: its method, a fingerprint in
/// its path, and a valid body for the changes.
async fn call_route(addr: SocketAddr, route: &Route, headers: &[(&str, &str)]) -> Reply {
    let path = route.path.replace("{fingerprint}", FINGERPRINT).replace("{id}", "s0").replace("{code}", "GM0344");
    let body = match route.path {
        "/api/v1/alerts/{fingerprint}/ack" => r#"{"comment": "gezien, collega's ter plaatse"}"#,
        "/api/v1/alerts/{fingerprint}/confirm"
        | "/api/v1/alerts/{fingerprint}/dismiss"
        | "/api/v1/alerts/{fingerprint}/resend" => r#"{"reason": "bron en tekst nagelezen"}"#,
        "/api/v1/halt" | "/api/v1/resume" if route.method == "POST" => r#"{"reason": "DPIA wordt herzien"}"#,
        "/api/v1/erase" => r#"{"id": "rtvutrecht:0a1b2c3d", "reason": "verzoek van betrokkene via de fg"}"#,
        "/api/v1/silences" if route.method == "POST" => concat!(
            r#"{"matchers": [{"label": "rule", "value": "mobilisatie"}], "#,
            r#""reason": "test", "ends_at": "2099-01-01T00:00:00Z"}"#
        ),
        _ => "",
    };
    send(addr, route.method, &path, headers, body).await
}

async fn route_as(addr: SocketAddr, route: &Route, token: Option<&str>) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    call_route(addr, route, &headers).await
}

const FINGERPRINT: &str = "3f9a0c1e3f9a0c1e";

/// The daemon's erasure as the API sees it: every target holds one archived
/// message quoted by one alert and one queued notification; what was erased
/// is kept to look at.
#[derive(Default)]
struct FakeEraser {
    erased: std::sync::Mutex<Vec<crate::erase::EraseTarget>>,
}

impl crate::erase::EraseBackend for FakeEraser {
    fn survey<'a>(
        &'a self,
        target: &'a crate::erase::EraseTarget,
    ) -> crate::erase::EraseFuture<'a, crate::erase::Survey> {
        use crate::erase::{EraseError, EraseTarget, ErasureCounts, Survey};
        Box::pin(async move {
            if matches!(target, EraseTarget::Url(u) if !u.starts_with("http")) {
                return Err(EraseError::BadTarget("the url is not an http or https link".into()));
            }
            let counts =
                ErasureCounts { archive_documents: 1, evidence_entries: 1, queued_notifications: 1, dead_letters: 0 };
            Ok(Survey { target: target.clone(), message_ids: vec!["rtvutrecht:0a1b2c3d".into()], counts })
        })
    }

    fn erase<'a>(&'a self, survey: &'a crate::erase::Survey) -> crate::erase::EraseFuture<'a, ()> {
        Box::pin(async move {
            self.erased.lock().unwrap().push(survey.target.clone());
            Ok(())
        })
    }
}

/// The alert stage as the API sees it: its alerts (by default one in
/// Utrecht), one silence `s0` for Utrecht, the officer's mail about the
/// alert that failed for good, every change accepted; the silences asked
/// for are kept to look at.
struct FakeAlerts {
    alerts: Vec<onrust_alert::Alert>,
    silenced: std::sync::Mutex<Vec<onrust_alert::SilenceRequest>>,
    undelivered: Vec<onrust_alert::Undelivered>,
    /// (fingerprint, who, reason) of every resend.
    resent: std::sync::Mutex<Vec<(String, String, String)>>,
}

impl Default for FakeAlerts {
    fn default() -> Self {
        Self::with(vec![fake_alert()])
    }
}

impl FakeAlerts {
    fn with(alerts: Vec<onrust_alert::Alert>) -> Self {
        Self {
            alerts,
            silenced: std::sync::Mutex::default(),
            undelivered: vec![fake_undelivered(FINGERPRINT, Some("GM0344"))],
            resent: std::sync::Mutex::default(),
        }
    }
}

/// The officer's mail about the alert `fingerprint` in `place`, refused by the relay.
fn fake_undelivered(fingerprint: &str, place: Option<&str>) -> onrust_alert::Undelivered {
    onrust_alert::Undelivered {
        fingerprint: fingerprint.to_owned(),
        sequence: 1,
        rule: "oproep-tot-geweld".to_owned(),
        channel: onrust_alert::Channel::Email,
        role: onrust_alert::RecipientRole::Officer,
        recipient: "oov@utrecht.example".to_owned(),
        alerts: vec![onrust_alert::CarriedAlert {
            fingerprint: fingerprint.to_owned(),
            municipality: place.and_then(|p| MunicipalityCode::new(p).ok()),
            unplaced: false,
        }],
        failed_at: Utc.with_ymd_and_hms(2026, 12, 30, 20, 46, 0).unwrap(),
        code: Some(550),
        message: Some("5.1.1 no such user".to_owned()),
    }
}

fn fake_silence() -> onrust_alert::Silence {
    onrust_alert::Silence {
        id: "s0".to_owned(),
        matchers: vec![onrust_alert::Matcher { label: "municipality".into(), value: "GM0344".into(), negate: false }],
        reason: "bekende manifestatie".to_owned(),
        owner: "supervisor-1".to_owned(),
        starts_at: Utc.with_ymd_and_hms(2026, 12, 30, 20, 0, 0).unwrap(),
        ends_at: Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap(),
    }
}

/// The shared test alert (`onrust_alert::fixtures`) as the API tests see
/// it: a critical alert in Utrecht on one message, awaiting review, its
/// evidence already gone.
fn fake_alert() -> onrust_alert::Alert {
    onrust_alert::Alert {
        fingerprint: FINGERPRINT.to_owned(),
        kind: onrust_alert::RuleKind::Critical,
        event_time: None,
        event_place: None,
        observed: 1,
        expected: None,
        p_value: None,
        threshold: Some(1),
        reasons: vec!["Een bericht roept op tot geweld tegen de politie.".to_owned()],
        evidence: Vec::new(),
        reviewed_by: None,
        ..onrust_alert::fixtures::alert()
    }
}

impl alerts::AlertBackend for FakeAlerts {
    fn list(&self) -> Result<Vec<onrust_alert::Alert>, alerts::AlertBackendError> {
        Ok(self.alerts.clone())
    }
    fn show(&self, fingerprint: &str) -> Result<Option<onrust_alert::Alert>, alerts::AlertBackendError> {
        Ok(self.alerts.iter().find(|a| a.fingerprint == fingerprint).cloned())
    }
    fn dismiss(
        &self,
        fingerprint: &str,
        _who: &str,
        _reason: &str,
    ) -> Result<onrust_alert::Alert, alerts::AlertBackendError> {
        Ok(self.show(fingerprint)?.ok_or(onrust_alert::MechanicsError::UnknownAlert(fingerprint.into()))?)
    }
    fn silences(&self) -> Result<Vec<onrust_alert::Silence>, alerts::AlertBackendError> {
        Ok(vec![fake_silence()])
    }
    fn expire_silence(&self, id: &str) -> Result<onrust_alert::Silence, alerts::AlertBackendError> {
        let s = fake_silence();
        if id == s.id { Ok(s) } else { Err(onrust_alert::MechanicsError::UnknownSilence(id.into()).into()) }
    }
    fn names(&self) -> alerts::Names {
        alerts::Names {
            region: "Midden-Nederland".to_owned(),
            municipalities: vec![(MunicipalityCode::new("GM0344").unwrap(), "Utrecht".to_owned())],
        }
    }
    fn confirm(
        &self,
        fingerprint: &str,
        who: &str,
        _reason: &str,
    ) -> Result<onrust_alert::Alert, alerts::AlertBackendError> {
        let mut a = self.show(fingerprint)?.ok_or(onrust_alert::MechanicsError::UnknownAlert(fingerprint.into()))?;
        a.reviewed_by = Some(who.to_owned());
        Ok(a)
    }
    fn acknowledge(
        &self,
        fingerprint: &str,
        who: &str,
        comment: &str,
    ) -> Result<onrust_alert::Alert, alerts::AlertBackendError> {
        let mut a = self.show(fingerprint)?.ok_or(onrust_alert::MechanicsError::UnknownAlert(fingerprint.into()))?;
        a.acknowledged_by = Some(who.to_owned());
        a.ack_comment = Some(comment.to_owned());
        Ok(a)
    }
    fn silence(&self, request: onrust_alert::SilenceRequest) -> Result<String, alerts::AlertBackendError> {
        let mut silenced = self.silenced.lock().unwrap();
        silenced.push(request);
        Ok(format!("s{}", silenced.len()))
    }
    fn undelivered(&self) -> alerts::BackendFuture<'_, Vec<onrust_alert::Undelivered>> {
        Box::pin(async move { Ok(self.undelivered.clone()) })
    }
    fn resend<'a>(
        &'a self,
        fingerprint: &'a str,
        who: &'a str,
        reason: &'a str,
    ) -> alerts::BackendFuture<'a, Vec<onrust_alert::Undelivered>> {
        Box::pin(async move {
            self.resent.lock().unwrap().push((fingerprint.to_owned(), who.to_owned(), reason.to_owned()));
            Ok(self
                .undelivered
                .iter()
                .filter(|u| u.alerts.iter().any(|a| a.fingerprint == fingerprint))
                .cloned()
                .collect())
        })
    }
}

fn ids(reply: &Reply) -> Vec<String> {
    let json = reply.json();
    json["hits"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_owned()).collect()
}

// --- operational endpoints (unchanged behaviour) ---

async fn start_operational(token: Option<&str>, ready: bool) -> SocketAddr {
    let state = WebState {
        metrics: PrometheusBuilder::new().build_recorder().handle(),
        ready: Arc::new(AtomicBool::new(ready)),
        access: Arc::new(AccessControl::new(token.map(TokenHash::of), vec![]).unwrap()),
        audit_path: PathBuf::from("/nonexistent/audit.jsonl"),
        search: None,
        alerts: None,
        console: Arc::new(crate::console::Console::closed()),
        feeds: Arc::new(subscriptions::Subscriptions::none()),
        halt: Arc::new(crate::halt::HaltSwitch::at(PathBuf::from("/nonexistent/halt.json"))),
        erase: None,
    };
    start(state).await
}

mod connections;
mod console;
mod halt;

#[tokio::test]
async fn health_ready_and_metrics_answer_on_loopback() {
    let addr = start_operational(None, false).await;
    assert_eq!(get_as(addr, "/healthz", None).await.status, 200);
    assert_eq!(get_as(addr, "/readyz", None).await.status, 503);
    let metrics = get_as(addr, "/metrics", None).await;
    assert_eq!(metrics.status, 200, "{metrics:?}");
    assert!(metrics.header("content-type").contains("text/plain; version=0.0.4"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(false)).await;
    for (path, token) in [
        ("/healthz", None),
        ("/readyz", None),
        ("/metrics", None),
        ("/nope", None),
        ("/api/v1/search?q=trekkers", Some(ANALYST)),
        ("/api/v1/search?limit=0", Some(ANALYST)),
        ("/api/v1/search", None),
        ("/api/v1/search", Some(token_of(Role::Officer))),
        ("/api/v1/audit", Some(token_of(Role::Fg))),
    ] {
        let reply = get_as(addr, path, token).await;
        assert!(reply.header("content-security-policy").starts_with("default-src 'none'"), "{path}: {reply:?}");
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(reply.header("cache-control"), "no-store", "{path}");
    }
}

#[tokio::test]
async fn token_is_required_when_configured() {
    let addr = start_operational(Some("s3cret-token-16chars\n"), true).await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(get_as(addr, path, None).await.status, 401, "{path} without token");
        assert_eq!(get_as(addr, path, Some("wrong")).await.status, 401, "{path} wrong token");
        assert_eq!(get_as(addr, path, Some("s3cret-token-16chars")).await.status, 200, "{path} with token");
    }
}

// --- the route table (rules L1, L8, S8) ---

#[test]
fn no_route_is_about_a_person() {
    for route in routes() {
        let path = route.path.to_ascii_lowercase();
        for word in ["author", "user", "person", "account", "profile", "handle", "follow", "people"] {
            assert!(!path.contains(word), "route {} is about a person ({word})", route.path);
        }
    }
    for param in search::PARAMS {
        assert!(!param.contains("author") && !param.contains("user"), "search parameter {param}");
    }
}

/// Who gets a 200 on each route; everyone else with a valid token gets 403,
/// without or with a wrong token 401. Written out by hand, not derived from
/// `auth::permissions`, so a change to either shows here.
fn expected_matrix() -> Vec<(&'static str, Vec<Role>)> {
    use Role::*;
    vec![
        ("/healthz", vec![Admin, Monitor]),
        ("/readyz", vec![Admin, Monitor]),
        ("/metrics", vec![Admin, Monitor]),
        ("/api/v1/search", vec![Officer, Analyst, Supervisor]),
        ("/api/v1/audit", vec![Fg]),
        ("/api/v1/audit/verify", vec![Fg]),
        ("/api/v1/alerts", vec![Officer, Supervisor]),
        ("/api/v1/alerts/{fingerprint}", vec![Officer, Supervisor]),
        ("/api/v1/alerts/{fingerprint}/confirm", vec![Supervisor]),
        ("/api/v1/alerts/{fingerprint}/dismiss", vec![Supervisor]),
        ("/api/v1/alerts/{fingerprint}/ack", vec![Officer, Supervisor]),
        ("/api/v1/alerts/{fingerprint}/resend", vec![Supervisor, Admin]),
        ("/api/v1/silences", vec![Officer, Supervisor]),
        ("/api/v1/silences", vec![Supervisor]),
        ("/api/v1/silences/{id}/expire", vec![Supervisor]),
        ("/api/v1/municipalities/{code}/alerts.atom", vec![Officer, Supervisor]),
        ("/api/v1/municipalities/{code}/actions.ics", vec![Officer, Supervisor]),
        ("/api/v1/erase", vec![Fg, Admin]),
        // Not by a token's role: by the subscription the secret in the path names.
        ("/feeds/{token}/alerts.atom", vec![Officer, Supervisor]),
        ("/feeds/{token}/actions.ics", vec![Officer, Supervisor]),
        ("/login", Role::ALL.to_vec()),
        ("/login", Role::ALL.to_vec()),
        ("/static/console.css", Role::ALL.to_vec()),
        ("/uitloggen", vec![Officer, Analyst, Supervisor, Fg]),
        ("/", vec![Officer, Supervisor]),
        ("/meldingen", vec![Officer, Supervisor]),
        ("/meldingen/{fingerprint}", vec![Officer, Supervisor]),
        ("/meldingen/{fingerprint}/gezien", vec![Officer, Supervisor]),
        ("/meldingen/{fingerprint}/doorsturen", vec![Supervisor]),
        ("/meldingen/{fingerprint}/afwijzen", vec![Supervisor]),
        ("/stiltes", vec![Officer, Supervisor]),
        ("/stiltes", vec![Supervisor]),
        ("/stiltes/{id}/opheffen", vec![Supervisor]),
        ("/gemeente/{code}", vec![Officer, Supervisor]),
        ("/zoeken", vec![Officer, Analyst, Supervisor]),
        ("/zoeken/export", vec![Officer, Analyst, Supervisor]),
        ("/audit", vec![Fg]),
        ("/api/v1/halt", vec![Supervisor, Admin]),
        ("/api/v1/halt", vec![Supervisor, Admin]),
        ("/api/v1/resume", vec![Supervisor, Admin]),
        ("/stilleggen", vec![Supervisor, Admin]),
        ("/stilleggen", vec![Supervisor, Admin]),
        ("/hervatten", vec![Supervisor, Admin]),
    ]
}

#[tokio::test]
async fn route_role_matrix() {
    let fixture = Fixture::new();
    let matrix = expected_matrix();
    let paths: Vec<&str> = routes().iter().map(|r| r.path).collect();
    assert_eq!(paths, matrix.iter().map(|(p, _)| *p).collect::<Vec<_>>(), "the matrix covers every route");

    let addr = start(fixture.state(true)).await;
    let spoofed =
        [("X-Forwarded-For", "127.0.0.1"), ("X-Real-IP", "127.0.0.1"), ("X-Forwarded-User", "analist-utrecht")];
    let (mut audited, mut refusals, mut unauthenticated) = (0, 0, 0);
    for (route, (path, allowed)) in routes().iter().zip(&matrix).filter(|(r, _)| r.kind == RouteKind::Api) {
        for role in Role::ALL {
            let reply = route_as(addr, route, Some(token_of(role))).await;
            let expected = if allowed.contains(&role) { 200 } else { 403 };
            assert_eq!(reply.status, expected, "{path} as {role}: {reply:?}");
            if expected == 403 {
                assert!(reply.error().contains(&format!("the role {role} may not")), "{path} as {role}: {reply:?}");
            }
            if route.audit_action.is_some() {
                audited += 1;
                refusals += usize::from(expected == 403);
            }
        }
        for token in [None, Some("wrong"), Some("")] {
            let reply = route_as(addr, route, token).await;
            assert_eq!(reply.status, 401, "{path} with {token:?}: {reply:?}");
            assert!(reply.header("www-authenticate").starts_with("Bearer"), "{path}: {reply:?}");
        }
        let reply = call_route(addr, route, &spoofed).await;
        assert_eq!(reply.status, 401, "{path}: a spoofed proxy header gains nothing");
        let basic = call_route(addr, route, &[("Authorization", "Basic YWRtaW46YWRtaW4=")]).await;
        assert_eq!(basic.status, 401, "{path}: only bearer tokens count");
        if route.audit_action.is_some() {
            // Three tokens, the spoofed headers and basic auth: five 401s, each on record.
            audited += 5;
            refusals += 5;
            unauthenticated += 5;
        }
    }
    // Every request to a content route (search, alerts, the audit log itself), forbidden and
    // unauthenticated ones included, is on record.
    assert_eq!(fixture.verified(), audited);
    let records = fixture.records();
    let refused = records.iter().filter(|r| r.entry.refused.is_some()).count();
    assert_eq!(refused, refusals, "one record per forbidden or unauthenticated attempt");
    let anonymous: Vec<_> = records.iter().filter(|r| r.entry.who == UNAUTHENTICATED).collect();
    assert_eq!(anonymous.len(), unauthenticated, "a 401 names no holder");
    for record in anonymous {
        let why = record.entry.refused.as_deref().unwrap_or_default();
        assert!(why == "no bearer token" || why == "a bearer token that is not valid", "{why}");
        assert!(!record.entry.filters.to_string().contains("wrong"), "the presented token is never recorded");
    }

    // On a loopback listener without a monitor token the operational routes
    // are open, and /api still needs a token.
    let open = start(fixture.state(false)).await;
    for route in routes().into_iter().filter(|r| r.kind == RouteKind::Api) {
        let expected = if route.permission == Permission::Metrics { 200 } else { 401 };
        assert_eq!(route_as(open, &route, None).await.status, expected, "{} without token", route.path);
    }
}

// --- the search API ---

#[tokio::test]
async fn an_analyst_searches_and_gets_json_hits() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(false)).await;

    let reply = get_as(addr, "/api/v1/search?q=trekkers", Some(ANALYST)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let json = reply.json();
    assert_eq!(json["total"], 1);
    assert_eq!(ids(&reply), ["w1"]);
    assert!(json["took_ms"].is_u64(), "{json}");
    let hit = &json["hits"][0];
    assert_eq!(hit["title"], "Boeren blokkeren de A12");
    assert_eq!(hit["municipalities"], serde_json::json!(["GM0344"]));
    assert!(hit.get("author").is_none() && !reply.body.contains(CANARY), "no author in results: {json}");

    let reply = get_as(addr, "/api/v1/search?q=*&municipality=GM0307&limit=5", Some(ANALYST)).await;
    assert_eq!(ids(&reply), ["w2"]);
    assert!(reply.json()["hits"][0]["text"].as_str().unwrap().contains("<script>"), "text is data in JSON");
    let reply = get_as(addr, "/api/v1/search?min_level=2&sort=newest&facets=true", Some(ANALYST)).await;
    assert_eq!(reply.json()["total"], 2, "{reply:?}");
    let themes = reply.json()["facets"]["themes"].clone();
    assert_eq!(themes.as_array().map(Vec::len), Some(2), "facets when asked: {themes}");
    let reply = get_as(addr, "/api/v1/search?q=utrecht&theme=stikstof", Some(ANALYST)).await;
    assert_eq!(ids(&reply), ["w1"]);
    let reply = get_as(addr, "/api/v1/search?since=2024-12-02", Some(ANALYST)).await;
    assert_eq!(reply.json()["total"], 0);

    let records = fixture.records();
    assert_eq!(records.len(), 5, "one record per search");
    let first = &records[0].entry;
    assert_eq!(
        (first.who.as_str(), first.action.as_str(), first.query.as_deref(), first.hits),
        ("analist-utrecht", "search", Some("trekkers"), Some(1))
    );
    assert_eq!(records[1].entry.filters, serde_json::json!({"municipality": "GM0307", "limit": "5"}));
    assert_eq!(fixture.verified(), 5);
}

#[tokio::test]
async fn bad_requests_are_400_each_audited_once() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(false)).await;
    let deep = "%28".repeat(10_000);
    let cases: Vec<(String, &str)> = vec![
        (format!("q={deep}"), "at most 1000 are allowed"),
        ("q=rellen%FF%FE".into(), "parameter q is not valid UTF-8"),
        ("limit=0".into(), "limit must be a whole number from 1 to 100"),
        ("limit=1000000000".into(), "limit must be"),
        ("offset=20000".into(), "offset must be"),
        ("q=%2F.*%2F".into(), "regular expressions"),
        ("q=*foo".into(), "wildcard"),
        ("q=a~5".into(), "fuzzy"),
        ("q=author:x".into(), "searching by author is not allowed"),
        ("q=x+AND+Author%5C:x".into(), "searching by author is not allowed"),
        ("q=url:x".into(), "unknown field"),
        ("q=%22open".into(), "not closed"),
        ("author=x".into(), "unknown parameter \"author\""),
        ("q=x&verbose=1".into(), "unknown parameter \"verbose\""),
        ("min_level=9".into(), "min_level must be 0, 1, 2 or 3"),
        ("since=gisteren".into(), "since must be an RFC 3339 time"),
        ("until=2024-02-30".into(), "until must be"),
        ("since=2024-12-02&until=2024-12-01".into(), "since must be before until"),
        ("sort=random".into(), "sort must be"),
        ("facets=1".into(), "facets must be true or false"),
        ("q=a&q=b".into(), "more than once"),
    ];
    for (query, needle) in &cases {
        let started = Instant::now();
        let reply = get_as(addr, &format!("/api/v1/search?{query}"), Some(ANALYST)).await;
        let took = started.elapsed();
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        assert!(reply.error().contains(needle), "{query}: {}", reply.error());
        assert!(took < Duration::from_millis(500), "{query} took {took:?}");
    }
    let records = fixture.records();
    assert_eq!(records.len(), cases.len(), "N refused searches, N records");
    assert_eq!(fixture.verified(), cases.len() as u64);
    assert!(
        records.iter().all(|r| r.entry.hits.is_none() && r.entry.refused.is_some() && r.entry.who == "analist-utrecht")
    );
    let author = records.iter().find(|r| r.entry.query.as_deref() == Some("author:x")).unwrap();
    assert!(author.entry.refused.as_deref().unwrap_or_default().contains("author"), "{author:?}");
    let deep_record = &records[0].entry;
    assert!(deep_record.query.as_deref().unwrap().ends_with("[cut: 10000 characters in all]"), "recorded, cut");
    // Invalid UTF-8 is recorded as it was sent, still encoded, not as U+FFFD.
    assert_eq!(records[1].entry.query.as_deref(), Some("rellen%FF%FE"));
    assert!(!std::fs::read_to_string(fixture.audit_path()).unwrap().contains('\u{fffd}'));
}

#[tokio::test]
async fn unauthenticated_requests_are_401_not_searches_and_on_record() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(false)).await;
    for token in [None, Some("wrong"), Some(MONITOR)] {
        let reply = get_as(addr, "/api/v1/search?q=trekkers", token).await;
        assert_eq!(reply.status, 401, "{token:?}");
        assert_eq!(reply.error(), "a valid bearer token is required");
        assert!(!reply.body.contains("w1"));
    }
    // No search ran, but each attempt is on record (L7), naming no holder and no token.
    let entries: Vec<audit::AuditEntry> = fixture.records().into_iter().map(|r| r.entry).collect();
    let attempt = |why: &str| audit::AuditEntry {
        who: UNAUTHENTICATED.to_owned(),
        action: "search".to_owned(),
        query: Some("trekkers".to_owned()),
        filters: serde_json::json!({}),
        hits: None,
        refused: Some(why.to_owned()),
        mandates: Vec::new(),
    };
    let invalid = attempt("a bearer token that is not valid");
    assert_eq!(entries, [attempt("no bearer token"), invalid.clone(), invalid]);
    assert!(!std::fs::read_to_string(fixture.audit_path()).unwrap().contains(MONITOR), "never the token");
}

#[tokio::test]
async fn who_comes_from_the_token_only() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(false)).await;
    let auth = format!("Bearer {ANALYST}");
    let reply = call(
        addr,
        "/api/v1/search?q=trekkers",
        &[
            ("Authorization", auth.as_str()),
            ("X-Forwarded-For", "10.1.2.3"),
            ("X-Forwarded-User", "burgemeester"),
            ("X-Remote-User", "burgemeester"),
            ("Forwarded", "for=10.1.2.3;by=proxy"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200);
    let records = fixture.records();
    assert_eq!(records[0].entry.who, "analist-utrecht");
    let line = std::fs::read_to_string(fixture.audit_path()).unwrap();
    assert!(!line.contains("burgemeester") && !line.contains("10.1.2.3"), "{line}");
}

#[tokio::test]
async fn the_fg_reads_and_verifies_the_audit_log_and_each_read_is_on_record() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(false)).await;
    let fg = Some(token_of(Role::Fg));
    let empty = get_as(addr, "/api/v1/audit/verify", fg).await;
    assert_eq!(
        empty.json(),
        serde_json::json!({"ok": true, "records": 0, "line": null, "error": null, "checkpoint": null, "torn_line": null})
    );
    for q in ["trekkers", "rellen", "author:x"] {
        get_as(addr, &format!("/api/v1/search?q={q}"), Some(ANALYST)).await;
    }
    let reply = get_as(addr, "/api/v1/audit?limit=2", fg).await;
    assert_eq!(reply.status, 200);
    let records = reply.json()["records"].as_array().unwrap().clone();
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [2, 3], "the verify before is on record as seq 0");
    assert_eq!(records[1]["query"], "author:x");
    assert_eq!(get_as(addr, "/api/v1/audit", fg).await.json()["records"].as_array().unwrap().len(), 5);
    assert_eq!(get_as(addr, "/api/v1/audit?limit=1001", fg).await.status, 400);
    assert_eq!(get_as(addr, "/api/v1/audit?who=x", fg).await.status, 400);
    assert_eq!(get_as(addr, "/api/v1/audit/verify?x=1", fg).await.status, 400);
    let verified = get_as(addr, "/api/v1/audit/verify", fg).await.json();
    assert_eq!(verified["records"], 9);
    assert_eq!(verified["checkpoint"]["seq"], 8, "sealed up to the newest record");

    let reads: Vec<(String, String, Option<u64>, bool)> = fixture
        .records()
        .into_iter()
        .filter(|r| r.entry.who == "fg-1")
        .map(|r| (r.entry.action, r.entry.filters.to_string(), r.entry.hits, r.entry.refused.is_some()))
        .collect();
    let expected = [
        ("audit_verify", "{}", Some(0), false),
        ("audit_read", r#"{"limit":"2"}"#, Some(2), false),
        ("audit_read", "{}", Some(5), false),
        ("audit_read", r#"{"limit":"1001"}"#, None, true),
        ("audit_read", r#"{"who":"x"}"#, None, true),
        ("audit_verify", r#"{"x":"1"}"#, None, true),
        ("audit_verify", "{}", Some(9), false),
    ];
    assert_eq!(reads, expected.map(|(a, f, h, r)| (a.to_owned(), f.to_owned(), h, r)));

    let text = std::fs::read_to_string(fixture.audit_path()).unwrap();
    std::fs::write(fixture.audit_path(), text.replacen("rellen", "feest", 1)).unwrap();
    let broken = get_as(addr, "/api/v1/audit/verify", fg).await.json();
    assert_eq!((broken["ok"].clone(), broken["line"].clone()), (serde_json::json!(false), serde_json::json!(3)));
}

/// A backend that takes its time, fails, or panics.
struct Stub(fn() -> Result<SearchResults, ArchiveError>);

impl SearchBackend for Stub {
    fn search(&self, _request: &SearchRequest) -> Result<SearchResults, ArchiveError> {
        (self.0)()
    }

    fn buckets(&self) -> Result<Vec<onrust_archive::BucketInfo>, ArchiveError> {
        Ok(Vec::new())
    }
}

fn slow() -> Result<SearchResults, ArchiveError> {
    std::thread::sleep(Duration::from_millis(600));
    Ok(SearchResults { total: 0, hits: vec![], facets: None })
}

#[tokio::test]
async fn slow_searches_hit_the_budget_and_a_full_house_gets_retry_after() {
    let fixture = Fixture::new();
    let limits =
        SearchLimits { concurrency: 1, queue_wait: Duration::from_millis(50), budget: Duration::from_millis(200) };
    let addr = start(fixture.state_with(false, Arc::new(Stub(slow)), limits)).await;

    let started = Instant::now();
    let slow_reply = get_as(addr, "/api/v1/search?q=x", Some(ANALYST)).await;
    assert_eq!(slow_reply.status, 503, "{slow_reply:?}");
    assert_eq!(slow_reply.error(), "the search took longer than 200 ms; narrow it down");
    assert!(started.elapsed() < Duration::from_millis(500), "answered at the budget, not when the search ended");

    // The first search still holds the only slot on its thread.
    let busy = get_as(addr, "/api/v1/search?q=y", Some(ANALYST)).await;
    assert_eq!(busy.status, 503, "{busy:?}");
    assert_eq!(busy.header("retry-after"), "1");
    assert!(busy.error().contains("already running"), "{busy:?}");

    let refused: Vec<String> = fixture.records().into_iter().filter_map(|r| r.entry.refused).collect();
    assert_eq!(refused.len(), 2);
    assert!(refused[0].contains("took longer") && refused[1].contains("already running"), "{refused:?}");
}

fn failing() -> Result<SearchResults, ArchiveError> {
    Err(ArchiveError::Io(std::io::Error::other("/secret/archive/path: disk on fire")))
}

fn past_the_archive_budget() -> Result<SearchResults, ArchiveError> {
    Err(ArchiveError::TooSlow { budget_ms: 2000 })
}

#[tokio::test]
async fn a_search_the_archive_stopped_for_its_budget_is_a_400_to_narrow_down() {
    let fixture = Fixture::new();
    let addr = start(fixture.state_with(false, Arc::new(Stub(past_the_archive_budget)), SearchLimits::default())).await;
    let reply = get_as(addr, "/api/v1/search?q=x", Some(ANALYST)).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.error().contains("2000 ms") && reply.error().contains("narrow it down"), "{reply:?}");
    let records = fixture.records();
    assert_eq!(records.len(), 1);
    assert!(records[0].entry.refused.as_deref().is_some_and(|r| r.contains("budget")), "{records:?}");
}

fn panicking() -> Result<SearchResults, ArchiveError> {
    panic!("parser bug")
}

#[tokio::test]
async fn archive_failures_are_503_without_detail_and_never_500() {
    let fixture = Fixture::new();
    for backend in [Stub(failing), Stub(panicking)] {
        let addr = start(fixture.state_with(false, Arc::new(backend), SearchLimits::default())).await;
        let reply = get_as(addr, "/api/v1/search?q=x", Some(ANALYST)).await;
        assert_eq!(reply.status, 503, "{reply:?}");
        assert!(
            !reply.body.contains("secret") && !reply.body.contains("fire") && !reply.body.contains("bug"),
            "{reply:?}"
        );
        assert_eq!(get_as(addr, "/healthz", None).await.status, 200, "the listener lives on");
    }
    assert_eq!(fixture.verified(), 2);
}

#[tokio::test]
async fn no_audit_record_no_results() {
    let fixture = Fixture::new();
    // The audit folder cannot be created: a file is in the way.
    let blocker = fixture.dir.path().join("audit");
    std::fs::write(&blocker, "not a folder").unwrap();
    let addr = start(fixture.state(false)).await;
    for path in ["/api/v1/search?q=trekkers", "/api/v1/search?limit=0"] {
        let reply = get_as(addr, path, Some(ANALYST)).await;
        assert_eq!(reply.status, 503, "{reply:?}");
        assert!(reply.error().contains("audit log cannot be written"), "{reply:?}");
        assert!(!reply.body.contains("w1") && !reply.body.contains("Boeren"), "no results without a record");
    }
    let forbidden = get_as(addr, "/api/v1/search?q=trekkers", Some(token_of(Role::Fg))).await;
    assert_eq!(forbidden.status, 503, "a forbidden attempt that cannot be recorded is refused too");
    assert!(blocker.is_file() && !Path::new(&fixture.audit_path()).exists());
}

// --- the alerts API (issue 5, rules L7, L10) ---

#[tokio::test]
async fn alert_actions_are_audited_with_who_and_what() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(true)).await;
    let officer = format!("Bearer {}", token_of(Role::Officer));
    let supervisor = format!("Bearer {}", token_of(Role::Supervisor));
    let path = format!("/api/v1/alerts/{FINGERPRINT}");

    let list = send(addr, "GET", "/api/v1/alerts", &[("Authorization", &officer)], "").await;
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(list.json()["alerts"][0]["fingerprint"], FINGERPRINT);
    let ack = format!("{path}/ack");
    let acked = send(addr, "POST", &ack, &[("Authorization", &officer)], r#"{"comment": "politie ingelicht"}"#).await;
    assert_eq!(acked.status, 200, "{acked:?}");
    assert_eq!(acked.json()["acknowledged_by"], "officer-1");
    let empty = send(addr, "POST", &ack, &[("Authorization", &officer)], r#"{"comment": ""}"#).await;
    assert_eq!(empty.status, 400, "an acknowledgement needs a comment: {empty:?}");
    let unreasoned = send(addr, "POST", &format!("{path}/confirm"), &[("Authorization", &supervisor)], "").await;
    assert_eq!(unreasoned.status, 400, "a review decision needs a reason: {unreasoned:?}");
    let reason = r#"{"reason": "bron nagelezen"}"#;
    let confirmed = send(addr, "POST", &format!("{path}/confirm"), &[("Authorization", &supervisor)], reason).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    assert_eq!(confirmed.json()["reviewed_by"], "supervisor-1", "who confirmed is recorded (L10)");
    let unknown = send(addr, "GET", "/api/v1/alerts/abcdef", &[("Authorization", &officer)], "").await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    let bad = send(addr, "GET", "/api/v1/alerts/..%2Fetc", &[("Authorization", &officer)], "").await;
    assert_eq!(bad.status, 400, "{bad:?}");

    let records = fixture.records();
    let actions: Vec<(String, String)> =
        records.iter().map(|r| (r.entry.who.clone(), r.entry.action.clone())).collect();
    assert_eq!(
        actions,
        [
            ("officer-1", "alerts_list"),
            ("officer-1", "alerts_ack"),
            ("officer-1", "alerts_ack"),
            ("supervisor-1", "alerts_confirm"),
            ("supervisor-1", "alerts_confirm"),
            ("officer-1", "alerts_show"),
            ("officer-1", "alerts_show"),
        ]
        .map(|(w, a)| (w.to_owned(), a.to_owned()))
    );
    assert_eq!(records[1].entry.filters["comment"], "politie ingelicht");
    assert_eq!(records[4].entry.filters["fingerprint"], FINGERPRINT);
    assert_eq!(records[4].entry.filters["reason"], "bron nagelezen", "why is on record");
    assert!(records[2].entry.refused.is_some() && records[3].entry.refused.is_some());
    assert!(records[5].entry.refused.is_some());
    assert_eq!(fixture.verified(), 7);
}

#[tokio::test]
async fn the_silences_refuse_parameters_they_do_not_take_as_the_alerts_do() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(true)).await;
    let officer = format!("Bearer {}", token_of(Role::Officer));
    let supervisor = format!("Bearer {}", token_of(Role::Supervisor));
    let body = r#"{"matchers": [{"label": "rule", "value": "mobilisatie"}], "reason": "test", "ends_at": "2099-01-01T00:00:00Z"}"#;
    for (method, path, auth, body) in [
        ("GET", "/api/v1/alerts?status=open", &officer, ""),
        ("GET", "/api/v1/silences?owner=supervisor-1", &officer, ""),
        ("POST", "/api/v1/silences?dry_run=1", &supervisor, body),
        ("POST", "/api/v1/silences/s0/expire?now=1", &supervisor, ""),
    ] {
        let reply = send(addr, method, path, &[("Authorization", auth)], body).await;
        assert_eq!(reply.status, 400, "{method} {path}: {reply:?}");
        assert!(reply.error().starts_with("this endpoint takes no parameters"), "{path}: {}", reply.error());
    }
    let refused: Vec<String> = fixture.records().into_iter().map(|r| r.entry.action).collect();
    assert_eq!(refused, ["alerts_list", "silences_list", "silence", "silence_expire"], "each refusal on record");
    let plain = send(addr, "GET", "/api/v1/silences", &[("Authorization", &officer)], "").await;
    assert_eq!(plain.status, 200, "{plain:?}");
}

#[tokio::test]
async fn comments_and_reasons_with_control_or_bidi_characters_are_refused() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(true)).await;
    let officer = format!("Bearer {}", token_of(Role::Officer));
    let supervisor = format!("Bearer {}", token_of(Role::Supervisor));
    let path = format!("/api/v1/alerts/{FINGERPRINT}");
    // Escape sequences, a right-to-left override, a lone carriage return, NUL (JSON escapes).
    for hidden in [r"gezien\u001b[2J", r"gezien\u202ekooltjes", r"politie\rbrandweer", r"nul\u0000"] {
        for (suffix, field, auth) in
            [("ack", "comment", &officer), ("confirm", "reason", &supervisor), ("dismiss", "reason", &supervisor)]
        {
            let body = format!(r#"{{"{field}": "{hidden}"}}"#);
            let reply = send(addr, "POST", &format!("{path}/{suffix}"), &[("Authorization", auth)], &body).await;
            assert_eq!(reply.status, 400, "{suffix} {hidden}: {reply:?}");
            assert!(reply.error().contains("no control or bidi characters"), "{suffix}: {}", reply.error());
        }
        let silence = format!(
            r#"{{"matchers": [{{"label": "rule", "value": "x"}}], "reason": "{hidden}", "ends_at": "2099-01-01T00:00:00Z"}}"#
        );
        let reply = send(addr, "POST", "/api/v1/silences", &[("Authorization", &supervisor)], &silence).await;
        assert_eq!(reply.status, 400, "silence {hidden}: {reply:?}");
    }
    // Line breaks and tabs, as a form sends them, are a comment's own.
    let body = r#"{"comment": "regel een\r\nregel twee\tmet tab"}"#;
    let reply = send(addr, "POST", &format!("{path}/ack"), &[("Authorization", &officer)], body).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["ack_comment"], "regel een\nregel twee\tmet tab", "kept, CRLF as LF");
    let records = fixture.records();
    assert_eq!(records.len(), 17, "every refusal and the acknowledgement on record");
    assert!(records[..16].iter().all(|r| r.entry.refused.is_some()));
}

/// An officer's token limited to Utrecht: Utrecht's and the regional alerts,
/// never Almere's (a 404, as if there were none); only Utrecht's can be
/// changed; silences and feeds likewise. Every attempt is on record.
#[tokio::test]
async fn a_municipal_token_sees_and_changes_only_its_municipality() {
    let fixture = Fixture::new();
    let utrecht = MunicipalityCode::new("GM0344").unwrap();
    let almere_alert = onrust_alert::Alert {
        fingerprint: "a1a1a1a1".into(),
        municipality: MunicipalityCode::new("GM0034").ok(),
        municipality_name: Some("Almere".into()),
        ..fake_alert()
    };
    let regional = onrust_alert::Alert {
        fingerprint: "b2b2b2b2".into(),
        municipality: None,
        municipality_name: None,
        ..fake_alert()
    };
    let announced = onrust_alert::Alert {
        fingerprint: "c3c3c3c3".into(),
        kind: onrust_alert::RuleKind::Announcement,
        event_time: Some(Utc.with_ymd_and_hms(2026, 12, 31, 21, 0, 0).unwrap()),
        event_place: Some("Vredenburgplein".into()),
        ..fake_alert()
    };
    let mut state = fixture.state(true);
    state.alerts = Some(Arc::new(FakeAlerts::with(vec![fake_alert(), almere_alert, regional, announced])));
    let scoped = |name: &str, role: Role, token: &str| Credential {
        name: name.into(),
        role,
        hash: TokenHash::of(token),
        scope: auth::Scope::Municipalities(vec![utrecht.clone()]),
    };
    state.access = Arc::new(
        AccessControl::new(
            None,
            vec![
                scoped("oov-utrecht", Role::Officer, "onrust_oov-utrecht"),
                scoped("sup-utrecht", Role::Supervisor, "onrust_sup-utrecht"),
            ],
        )
        .unwrap(),
    );
    let addr = start(state).await;
    let officer = [("Authorization", "Bearer onrust_oov-utrecht")];
    let supervisor = [("Authorization", "Bearer onrust_sup-utrecht")];

    let list = send(addr, "GET", "/api/v1/alerts", &officer, "").await;
    let seen: Vec<String> =
        list.json()["alerts"].as_array().unwrap().iter().map(|a| a["fingerprint"].as_str().unwrap().into()).collect();
    assert_eq!(seen, [FINGERPRINT, "b2b2b2b2", "c3c3c3c3"], "Utrecht's and the regional, not Almere's");
    assert_eq!(send(addr, "GET", "/api/v1/alerts/a1a1a1a1", &officer, "").await.status, 404);
    assert_eq!(send(addr, "GET", "/api/v1/alerts/b2b2b2b2", &officer, "").await.status, 200);
    let ack = r#"{"comment": "gezien"}"#;
    assert_eq!(send(addr, "POST", "/api/v1/alerts/a1a1a1a1/ack", &officer, ack).await.status, 404);
    let regional_ack = send(addr, "POST", "/api/v1/alerts/b2b2b2b2/ack", &officer, ack).await;
    assert_eq!(regional_ack.status, 403, "{regional_ack:?}");
    assert!(regional_ack.error().contains("regional"), "{regional_ack:?}");
    assert_eq!(send(addr, "POST", &format!("/api/v1/alerts/{FINGERPRINT}/ack"), &officer, ack).await.status, 200);
    let why = r#"{"reason": "al bekend bij de politie"}"#;
    assert_eq!(send(addr, "POST", "/api/v1/alerts/a1a1a1a1/dismiss", &supervisor, why).await.status, 404);
    let dismissed = send(addr, "POST", &format!("/api/v1/alerts/{FINGERPRINT}/dismiss"), &supervisor, why).await;
    assert_eq!(dismissed.status, 200, "{dismissed:?}");

    let everywhere =
        r#"{"matchers": [{"label": "rule", "value": "x"}], "reason": "r", "ends_at": "2099-01-01T00:00:00Z"}"#;
    let refused = send(addr, "POST", "/api/v1/silences", &supervisor, everywhere).await;
    assert_eq!(refused.status, 403, "a municipal token cannot silence the region: {refused:?}");
    let elsewhere = r#"{"matchers": [{"label": "municipality", "value": "GM0034"}], "reason": "r", "ends_at": "2099-01-01T00:00:00Z"}"#;
    assert_eq!(send(addr, "POST", "/api/v1/silences", &supervisor, elsewhere).await.status, 403);
    let own = r#"{"matchers": [{"label": "municipality", "value": "GM0344"}], "reason": "r", "ends_at": "2099-01-01T00:00:00Z"}"#;
    assert_eq!(send(addr, "POST", "/api/v1/silences", &supervisor, own).await.status, 200);
    let silences = send(addr, "GET", "/api/v1/silences", &officer, "").await;
    assert_eq!(silences.json()["silences"][0]["id"], "s0");
    assert_eq!(send(addr, "POST", "/api/v1/silences/s0/expire", &supervisor, "").await.status, 200);
    assert_eq!(send(addr, "POST", "/api/v1/silences/nope/expire", &supervisor, "").await.status, 404);

    let feed = send(addr, "GET", "/api/v1/municipalities/GM0344/alerts.atom", &officer, "").await;
    assert_eq!(feed.status, 200, "{feed:?}");
    assert!(feed.header("content-type").starts_with("application/atom+xml"), "{feed:?}");
    assert!(feed.body.contains("signalen voor gemeente Utrecht (GM0344)") && feed.body.contains(FINGERPRINT));
    assert!(!feed.body.contains("a1a1a1a1") && !feed.body.contains("b2b2b2b2"), "only Utrecht's alerts");
    let ics = send(addr, "GET", "/api/v1/municipalities/GM0344/actions.ics", &officer, "").await;
    assert!(ics.header("content-type").starts_with("text/calendar"), "{ics:?}");
    assert!(ics.body.contains("UID:c3c3c3c3@onrust") && ics.body.contains("DTSTART:20261231T210000Z"), "{}", ics.body);
    assert_eq!(ics.body.matches("BEGIN:VEVENT").count(), 1, "only the announced action: {}", ics.body);
    assert_eq!(send(addr, "GET", "/api/v1/municipalities/GM0034/alerts.atom", &officer, "").await.status, 404);
    let regio = send(addr, "GET", "/api/v1/municipalities/regio/alerts.atom", &officer, "").await;
    assert!(regio.body.contains("b2b2b2b2") && regio.body.contains("Midden-Nederland"), "{regio:?}");
    assert_eq!(send(addr, "GET", "/api/v1/municipalities/utrecht/alerts.atom", &officer, "").await.status, 400);
    let all = send(addr, "GET", "/api/v1/municipalities/alle/alerts.atom", &officer, "").await;
    assert_eq!(all.status, 404, "every alert is for whoever sees the whole region: {all:?}");

    let records = fixture.records();
    assert_eq!(records.len(), 20, "every attempt is on record");
    assert_eq!(records.iter().filter(|r| r.entry.refused.is_some()).count(), 10);
}

// --- sending again what failed for good (issue 16) ---

/// A supervisor sends the officer's failed mail again by the short id of
/// the notice, with a reason; an officer may not; a token for another
/// municipality does not even learn that it failed. Who and why are on record.
#[tokio::test]
async fn a_failed_notification_is_sent_again_by_its_short_id_with_who_and_why() {
    let fixture = Fixture::new();
    let mut state = fixture.state(true);
    let fake = Arc::new(FakeAlerts::with(vec![fake_alert()]));
    state.alerts = Some(Arc::clone(&fake) as Arc<dyn alerts::AlertBackend>);
    let scoped = Credential {
        name: "sup-almere".into(),
        role: Role::Supervisor,
        hash: TokenHash::of("onrust_sup-almere"),
        scope: auth::Scope::Municipalities(vec![MunicipalityCode::new("GM0034").unwrap()]),
    };
    let mut credentials: Vec<Credential> = Role::CONFIGURABLE
        .into_iter()
        .map(|role| Credential {
            name: format!("{role}-1"),
            role,
            hash: TokenHash::of(token_of(role)),
            scope: auth::Scope::Region,
        })
        .collect();
    credentials.push(scoped);
    state.access = Arc::new(AccessControl::new(None, credentials).unwrap());
    let addr = start(state).await;
    let auth = |token: &str| format!("Bearer {token}");
    let (supervisor, officer, almere) =
        (auth(token_of(Role::Supervisor)), auth(token_of(Role::Officer)), auth("onrust_sup-almere"));
    let resend = |id: &str| format!("/api/v1/alerts/{id}/resend");
    let reason = r#"{"reason": "adres van de ambtenaar hersteld"}"#;

    let short = &FINGERPRINT[..8];
    let done = send(addr, "POST", &resend(short), &[("Authorization", &supervisor)], reason).await;
    assert_eq!(done.status, 200, "{done:?}");
    let json = done.json();
    assert_eq!(json["fingerprint"], FINGERPRINT, "the short id names the alert");
    assert_eq!(json["resent"][0]["recipient"], "oov@utrecht.example");
    assert_eq!(json["resent"][0]["code"], 550);
    assert_eq!(
        *fake.resent.lock().unwrap(),
        [(FINGERPRINT.to_owned(), "supervisor-1".to_owned(), "adres van de ambtenaar hersteld".to_owned())]
    );
    let officer_tries = send(addr, "POST", &resend(short), &[("Authorization", &officer)], reason).await;
    assert_eq!(officer_tries.status, 403, "{officer_tries:?}");
    let elsewhere = send(addr, "POST", &resend(short), &[("Authorization", &almere)], reason).await;
    assert_eq!(elsewhere.status, 404, "another municipality's failure is none of its business: {elsewhere:?}");
    let unknown = send(addr, "POST", &resend("0000000000"), &[("Authorization", &supervisor)], reason).await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert!(unknown.error().contains("onrust alerts log"), "{unknown:?}");
    let short_id = send(addr, "POST", &resend("3f9a0c1"), &[("Authorization", &supervisor)], reason).await;
    assert_eq!(short_id.status, 400, "at least 8 characters: {short_id:?}");
    let unreasoned = send(addr, "POST", &resend(short), &[("Authorization", &supervisor)], "{}").await;
    assert_eq!(unreasoned.status, 400, "a reason is required: {unreasoned:?}");
    assert_eq!(fake.resent.lock().unwrap().len(), 1, "only the one allowed request sent anything");

    let records = fixture.records();
    let resends: Vec<&audit::AuditRecord> = records.iter().filter(|r| r.entry.action == "alerts_resend").collect();
    assert_eq!(resends.len(), 6, "every attempt is on record");
    assert_eq!(resends[0].entry.who, "supervisor-1");
    assert_eq!(resends[0].entry.filters["reason"], "adres van de ambtenaar hersteld");
    assert_eq!(resends[0].entry.filters["fingerprint"], FINGERPRINT);
    assert_eq!(resends[0].entry.hits, Some(1));
    assert_eq!(resends.iter().filter(|r| r.entry.refused.is_some()).count(), 5);
}

/// Two failed alerts that share the first 8 characters: the short id is
/// refused as ambiguous, a longer one is not.
#[tokio::test]
async fn an_ambiguous_short_id_is_refused_naming_the_candidates() {
    let fixture = Fixture::new();
    let mut state = fixture.state(true);
    let mut fake = FakeAlerts::with(vec![fake_alert()]);
    fake.undelivered.push(fake_undelivered("3f9a0c1e99999999", Some("GM0344")));
    state.alerts = Some(Arc::new(fake));
    let addr = start(state).await;
    let supervisor = format!("Bearer {}", token_of(Role::Supervisor));
    let reason = r#"{"reason": "relay hersteld"}"#;
    let both = send(addr, "POST", "/api/v1/alerts/3f9a0c1e/resend", &[("Authorization", &supervisor)], reason).await;
    assert_eq!(both.status, 409, "{both:?}");
    assert!(both.error().contains("2 alerts that failed") && both.error().contains("3f9a0c1e99999999"), "{both:?}");
    let one = send(addr, "POST", "/api/v1/alerts/3f9a0c1e9/resend", &[("Authorization", &supervisor)], reason).await;
    assert_eq!(one.status, 200, "{one:?}");
    assert_eq!(one.json()["fingerprint"], "3f9a0c1e99999999");
}

// --- feed subscriptions (issue 16) ---

/// A subscription of `recipient` with the token `onrust_feed_` + 64 × `fill`.
fn subscription(
    id: &str,
    recipient: &str,
    role: Role,
    place: &str,
    fill: char,
) -> (subscriptions::Subscription, String) {
    let token = format!("{}{}", subscriptions::FEED_TOKEN_PREFIX, fill.to_string().repeat(64));
    let subscription = subscriptions::Subscription {
        id: id.to_owned(),
        recipient: recipient.to_owned(),
        role,
        place: subscriptions::FeedPlace::parse(place).unwrap(),
        sha256: TokenHash::of(&token).to_hex(),
        created_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        revoked_at: None,
    };
    (subscription, token)
}

/// A calendar client follows its secret address without any header; the
/// address shows its subscription's place only; a revoked or unknown one
/// is a 404, and so is a bearer token in its place; every use is on record
/// under `feed:<recipient>`, never with the token.
#[tokio::test]
async fn a_subscribed_feed_answers_its_own_token_only_and_each_use_is_audited() {
    let fixture = Fixture::new();
    let mut state = fixture.state(true);
    let almere_alert = onrust_alert::Alert {
        fingerprint: "a1a1a1a1".into(),
        municipality: MunicipalityCode::new("GM0034").ok(),
        municipality_name: Some("Almere".into()),
        ..fake_alert()
    };
    let announced = onrust_alert::Alert {
        fingerprint: "c3c3c3c3".into(),
        kind: onrust_alert::RuleKind::Announcement,
        event_time: Some(Utc.with_ymd_and_hms(2026, 12, 31, 21, 0, 0).unwrap()),
        ..fake_alert()
    };
    state.alerts = Some(Arc::new(FakeAlerts::with(vec![fake_alert(), almere_alert, announced])));
    let (officer, officer_token) = subscription("0a0a0a0a", "oov-utrecht", Role::Officer, "GM0344", 'a');
    let (chef, chef_token) = subscription("0b0b0b0b", "chef-van-dienst", Role::Supervisor, "alle", 'b');
    let (mut gone, gone_token) = subscription("0c0c0c0c", "oud-lid", Role::Officer, "GM0344", 'c');
    gone.revoked_at = Some(Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap());
    state.feeds = Arc::new(subscriptions::Subscriptions::fixed(vec![officer, chef, gone]));
    let addr = start(state).await;
    let feed = |token: &str, doc: &str| format!("/feeds/{token}/{doc}");

    let atom = call(addr, &feed(&officer_token, "alerts.atom"), &[]).await;
    assert_eq!(atom.status, 200, "{atom:?}");
    assert!(atom.header("content-type").starts_with("application/atom+xml"), "{atom:?}");
    assert!(atom.body.contains(FINGERPRINT) && !atom.body.contains("a1a1a1a1"), "Utrecht's only: {}", atom.body);
    let ics = call(addr, &feed(&officer_token, "actions.ics"), &[]).await;
    assert_eq!(ics.status, 200, "{ics:?}");
    assert!(ics.header("content-type").starts_with("text/calendar") && ics.body.contains("UID:c3c3c3c3@onrust"));
    let all = call(addr, &feed(&chef_token, "alerts.atom"), &[]).await;
    assert_eq!(all.status, 200, "{all:?}");
    assert!(all.body.contains(FINGERPRINT) && all.body.contains("a1a1a1a1"), "every alert: {}", all.body);

    let officer_bearer = format!("Bearer {}", token_of(Role::Officer));
    for (path, headers) in [
        (feed(&gone_token, "alerts.atom"), vec![]),
        (feed(&gone_token, "actions.ics"), vec![]),
        (feed(&format!("{}{}", subscriptions::FEED_TOKEN_PREFIX, "d".repeat(64)), "alerts.atom"), vec![]),
        (feed(token_of(Role::Officer), "alerts.atom"), vec![]),
        (feed("x", "alerts.atom"), vec![("Authorization", officer_bearer.as_str())]),
        (feed(&TokenHash::of(&officer_token).to_hex(), "alerts.atom"), vec![]),
    ] {
        let reply = call(addr, &path, &headers).await;
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
        assert!(reply.header("content-security-policy").starts_with("default-src 'none'"), "{path}");
    }
    // A subscription's address is no API token either.
    let as_bearer = get_as(addr, "/api/v1/alerts", Some(&officer_token)).await;
    assert_eq!(as_bearer.status, 401, "{as_bearer:?}");

    let records = fixture.records();
    let uses: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            (
                r.entry.who.clone(),
                r.entry.action.clone(),
                r.entry.filters["subscription"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        uses,
        [
            ("feed:oov-utrecht", "alerts_feed", "0a0a0a0a"),
            ("feed:oov-utrecht", "actions_calendar", "0a0a0a0a"),
            ("feed:chef-van-dienst", "alerts_feed", "0b0b0b0b"),
            // The address tried as a bearer token: a 401 on a content route, on record without it (L7).
            (UNAUTHENTICATED, "alerts_list", ""),
        ]
        .map(|(w, a, s)| (w.to_owned(), a.to_owned(), s.to_owned())),
        "each use, and nothing for an address that does not exist"
    );
    assert_eq!(records[0].entry.filters["municipality"], "GM0344");
    assert_eq!(records[0].entry.hits, Some(2), "Utrecht's two alerts");
    let log = std::fs::read_to_string(fixture.audit_path()).unwrap();
    for token in [&officer_token, &chef_token, &gone_token] {
        assert!(!log.contains(token.as_str()) && !log.contains(&token[12..]), "no secret in the audit log");
    }
}

/// The supervisors' overview through the API: every alert, for a token that
/// sees the whole region.
#[tokio::test]
async fn the_feed_of_every_alert_is_for_whoever_sees_the_whole_region() {
    let fixture = Fixture::new();
    let mut state = fixture.state(true);
    let almere_alert = onrust_alert::Alert {
        fingerprint: "a1a1a1a1".into(),
        municipality: MunicipalityCode::new("GM0034").ok(),
        municipality_name: Some("Almere".into()),
        ..fake_alert()
    };
    let unplaced = onrust_alert::Alert {
        fingerprint: "d4d4d4d4".into(),
        municipality: None,
        municipality_name: None,
        unplaced: true,
        ..fake_alert()
    };
    state.alerts = Some(Arc::new(FakeAlerts::with(vec![fake_alert(), almere_alert, unplaced])));
    let addr = start(state).await;
    let all = get_as(addr, "/api/v1/municipalities/alle/alerts.atom", Some(token_of(Role::Supervisor))).await;
    assert_eq!(all.status, 200, "{all:?}");
    for fingerprint in [FINGERPRINT, "a1a1a1a1", "d4d4d4d4"] {
        assert!(all.body.contains(fingerprint), "{fingerprint} missing: {}", all.body);
    }
    let calendar = get_as(addr, "/api/v1/municipalities/alle/actions.ics", Some(token_of(Role::Supervisor))).await;
    assert_eq!(calendar.status, 200, "{calendar:?}");
    assert!(calendar.body.contains("alle aangekondigde acties"), "{}", calendar.body);
}

// --- erasure on request (issue 19, rules L3, L7) ---

/// An erasure is on record with who, why, what was asked and the counts
/// before anything is erased; a bad request is a 400 on record; without a
/// record nothing is erased.
#[tokio::test]
async fn an_erasure_is_on_record_before_it_is_done_and_not_done_without_one() {
    let fixture = Fixture::new();
    let eraser = Arc::new(FakeEraser::default());
    let state =
        WebState { erase: Some(Arc::clone(&eraser) as Arc<dyn crate::erase::EraseBackend>), ..fixture.state(true) };
    let addr = start(state.clone()).await;
    let fg = format!("Bearer {}", token_of(Role::Fg));
    let headers = [("Authorization", fg.as_str())];
    let body = r#"{"url": "https://example.org/nieuws/1", "reason": "verzoek van betrokkene, zaak 12"}"#;
    let reply = send(addr, "POST", "/api/v1/erase", &headers, body).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let answer = reply.json();
    assert_eq!(answer["target"]["url"], "https://example.org/nieuws/1");
    assert_eq!((answer["archive_documents"].as_u64(), answer["queued_notifications"].as_u64()), (Some(1), Some(1)));
    assert_eq!(answer["tombstoned"], true);
    let records = fixture.records();
    let last = records.last().unwrap();
    assert_eq!((last.entry.action.as_str(), last.entry.who.as_str(), last.entry.hits), ("erase", "fg-1", Some(1)));
    assert_eq!(last.entry.filters["reason"], "verzoek van betrokkene, zaak 12");
    assert_eq!(last.entry.filters["url"], "https://example.org/nieuws/1");
    assert_eq!(last.entry.filters["evidence_entries"], 1);
    assert_eq!(eraser.erased.lock().unwrap().len(), 1);

    for (body, says) in [
        (r#"{"url": "https://example.org/1"}"#, "the reason is missing"),
        (r#"{"url": "ftp://example.org/1", "reason": "r"}"#, "not an http or https link"),
        (r#"{"id": "a:1", "url": "https://example.org/1", "reason": "r"}"#, "not both"),
    ] {
        let reply = send(addr, "POST", "/api/v1/erase", &headers, body).await;
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert!(reply.error().contains(says), "{body}: {reply:?}");
        let last = fixture.records().pop().unwrap();
        assert_eq!(last.entry.action, "erase");
        assert!(last.entry.refused.as_deref().unwrap_or_default().contains(says), "{body}: on record");
        assert_eq!(last.entry.filters, serde_json::json!({}), "{body}: nothing of a refused body is recorded");
    }
    assert_eq!(eraser.erased.lock().unwrap().len(), 1, "nothing erased on a bad request");

    // The audit folder cannot be written: a file is in the way.
    let blocked = Fixture::new();
    std::fs::write(blocked.dir.path().join("audit"), "not a folder").unwrap();
    let state = WebState { audit_path: blocked.audit_path(), ..state };
    let addr = start(state).await;
    let body = r#"{"id": "rtvutrecht:0a1b2c3d", "reason": "verzoek"}"#;
    let reply = send(addr, "POST", "/api/v1/erase", &headers, body).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.error().contains("audit log cannot be written"), "{reply:?}");
    assert_eq!(eraser.erased.lock().unwrap().len(), 1, "without a record nothing is erased");
}
