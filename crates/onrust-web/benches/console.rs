//! The console's render time (issue 17): every page, server side, on the
//! 1,000,000-message archive of the archive benchmark, as a bench command
//! (`harness = false`).
//!
//! The listener runs in this process exactly as in the daemon (the route
//! table, the permission check, sessions, the audit record before each
//! answer, the search slots and budget), on loopback; each request is timed
//! from writing it to reading the last byte of the answer, one at a time,
//! and its size is the whole answer as transferred (status line, headers and
//! body; the console does not compress). Targets: p95 ≤ 100 ms per page,
//! ≤ 300 KB per page.
//!
//! The archive is the archive benchmark's (`cargo bench -p onrust-archive
//! --bench archive -- build` with `ARCHIVE_BENCH_ARCHIVE_DIR=<dir>`), named by
//! `CONSOLE_BENCH_ARCHIVE=<dir>`; the pages' clock is set to the moment its
//! newest message was fetched, so "the last 6 hours" and "the last 7 days"
//! are as full as they are in a running daemon. The alerts are a stand-in for
//! the alert stage with 40 active alerts (one per municipality of the
//! archive, every fourth an announced action) and 8 silences; coverage says
//! three sources per municipality, one of them failing. The audit log starts
//! with `CONSOLE_BENCH_AUDIT_RECORDS` records (10,000), which `/audit`
//! verifies whole on every view.
//!
//! `scripts/bench console`, or `cargo bench -p onrust-web --bench console`.
//! Environment: `CONSOLE_BENCH_ARCHIVE` (required), `CONSOLE_BENCH_REQUESTS`
//! (200 per page, after 20 uncounted), `CONSOLE_BENCH_AUDIT_RECORDS`.

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use metrics_exporter_prometheus::PrometheusBuilder;
use onrust_alert::Undelivered;
use onrust_alert::{Alert, Matcher, RuleKind, Severity, Silence, SilenceRequest};
use onrust_archive::{ArchiveReader, SearchRequest};
use onrust_model::MunicipalityCode;
use onrust_web::alerts::{AlertBackend, AlertBackendError, BackendFuture, Names};
use onrust_web::auth::Scope;
use onrust_web::console::users::Account;
use onrust_web::console::{Clock, Console, CoverageView, LoginPolicy, SessionPolicy, Sessions, SourceCoverage, Users};
use onrust_web::{AccessControl, Role, SearchLimits, SearchService, WebState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const PAGE_TARGET: Duration = Duration::from_millis(100);
const SIZE_TARGET: usize = 300 * 1000;
const WARMUP: usize = 20;

/// Words of the archive benchmark's vocabulary, common and less common.
const WORDS: &[&str] = &[
    "politie",
    "demonstratie",
    "protest",
    "boer",
    "trekker",
    "snelweg",
    "gemeente",
    "burgemeester",
    "raad",
    "wijk",
    "buurt",
    "bewoner",
    "jongere",
    "vuurwerk",
    "brand",
    "auto",
    "bus",
    "trein",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

/// The alert stage as the pages see it: fixed alerts and silences.
struct BenchAlerts {
    alerts: Vec<Alert>,
    silences: Vec<Silence>,
}

impl AlertBackend for BenchAlerts {
    fn list(&self) -> Result<Vec<Alert>, AlertBackendError> {
        Ok(self.alerts.clone())
    }
    fn show(&self, fingerprint: &str) -> Result<Option<Alert>, AlertBackendError> {
        Ok(self.alerts.iter().find(|a| a.fingerprint == fingerprint).cloned())
    }
    fn confirm(&self, _: &str, _: &str, _: &str) -> Result<Alert, AlertBackendError> {
        Err(AlertBackendError::unavailable("bench"))
    }
    fn dismiss(&self, _: &str, _: &str, _: &str) -> Result<Alert, AlertBackendError> {
        Err(AlertBackendError::unavailable("bench"))
    }
    fn acknowledge(&self, _: &str, _: &str, _: &str) -> Result<Alert, AlertBackendError> {
        Err(AlertBackendError::unavailable("bench"))
    }
    fn silence(&self, _: SilenceRequest) -> Result<String, AlertBackendError> {
        Err(AlertBackendError::unavailable("bench"))
    }
    fn silences(&self) -> Result<Vec<Silence>, AlertBackendError> {
        Ok(self.silences.clone())
    }
    fn expire_silence(&self, _: &str) -> Result<Silence, AlertBackendError> {
        Err(AlertBackendError::unavailable("bench"))
    }
    fn names(&self) -> Names {
        Names::default()
    }
    fn undelivered(&self) -> BackendFuture<'_, Vec<Undelivered>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn resend<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> BackendFuture<'a, Vec<Undelivered>> {
        Box::pin(async { Err(AlertBackendError::unavailable("bench")) })
    }
}

/// Three sources per municipality, the last one failing.
struct BenchCoverage(DateTime<Utc>);

impl CoverageView for BenchCoverage {
    fn sources(&self, _: &MunicipalityCode) -> Vec<SourceCoverage> {
        ["nos", "rtvutrecht", "telegram-regio"]
            .iter()
            .enumerate()
            .map(|(i, id)| SourceCoverage {
                source: (*id).to_owned(),
                delivering: i < 2,
                up: i < 2,
                last_success: Some(self.0 - TimeDelta::minutes(5 + 60 * i as i64)),
                last_gap: None,
            })
            .collect()
    }
}

/// Alert `i` of the console's front page: the shared test alert
/// (`onrust_alert::fixtures`) moved to `code` and `now`, every fourth one
/// announced, none reviewed yet.
fn alert(i: usize, code: &MunicipalityCode, now: DateTime<Utc>, evidence: Vec<onrust_alert::Evidence>) -> Alert {
    let announced = i.is_multiple_of(4);
    Alert {
        fingerprint: format!("{:016x}", 0x3f9a_0c1e_0000_0000u64 + i as u64),
        rule: if announced { "aangekondigde-actie" } else { "mobilisatie-drempel" }.to_owned(),
        kind: if announced { RuleKind::Announcement } else { RuleKind::Threshold },
        severity: [Severity::Warning, Severity::Critical, Severity::Info][i % 3],
        municipality: Some(code.clone()),
        municipality_name: None,
        theme: Some("demonstratie".to_owned()),
        starts_at: now - TimeDelta::hours(2),
        updated_at: now - TimeDelta::minutes(30),
        event_time: announced.then(|| now + TimeDelta::hours(6 + i as i64)),
        event_place: announced.then(|| "Stationsplein".to_owned()),
        observed: 14,
        expected: Some(3.5),
        p_value: Some(0.001),
        threshold: Some(10),
        reasons: vec!["Veel berichten over een demonstratie in korte tijd.".to_owned()],
        evidence,
        confidence: 0.8,
        reviewed_by: None,
        mandate: None,
        ..onrust_alert::fixtures::alert()
    }
}

/// One answer: time from writing the request to its last byte, and its bytes.
async fn fetch(addr: SocketAddr, path: &str, cookie: &str) -> Res<(Duration, usize, u16)> {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::with_capacity(64 * 1024);
    stream.read_to_end(&mut answer).await?;
    let took = started.elapsed();
    let status = std::str::from_utf8(answer.get(9..12).unwrap_or_default())?.parse()?;
    Ok((took, answer.len(), status))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The 1-minute load average: on a shared machine, how busy others kept it during a row.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Res<()> {
    let Some(dir) = std::env::var_os("CONSOLE_BENCH_ARCHIVE").map(PathBuf::from) else {
        return Err("CONSOLE_BENCH_ARCHIVE=<dir> must name the archive benchmark's 1,000,000-message archive; \
                    build it with ARCHIVE_BENCH_ARCHIVE_DIR=<dir> cargo bench -p onrust-archive --bench archive -- build"
            .into());
    };
    let requests = env_usize("CONSOLE_BENCH_REQUESTS", 200);
    let end: i64 = std::fs::read_to_string(dir.join("bench-end-millis"))
        .map_err(|e| format!("{}: not an archive benchmark archive ({e})", dir.display()))?
        .trim()
        .parse()?;
    let now = DateTime::from_timestamp_millis(end).ok_or("bad bench-end-millis")?;
    let reader = Arc::new(ArchiveReader::open(&dir)?);
    let docs = reader.doc_count();

    // The archive's municipalities, most messages first, and some recent level-2 messages as evidence.
    let facets = reader.search(&SearchRequest { facets: true, limit: 1, ..SearchRequest::default() })?;
    let codes: Vec<MunicipalityCode> = facets
        .facets
        .map(|f| f.municipalities)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| MunicipalityCode::new(f.value).ok())
        .collect();
    let recent = reader.search(&SearchRequest {
        min_level: Some(onrust_model::Level::Mobilisation),
        sort: onrust_archive::Sort::Newest,
        limit: 5,
        ..SearchRequest::default()
    })?;
    let evidence: Vec<onrust_alert::Evidence> = recent
        .hits
        .iter()
        .map(|h| onrust_alert::Evidence {
            message_id: h.id.clone(),
            source: h.source.clone(),
            url: h.url.clone(),
            title: h.title.clone(),
            excerpt: h.text.chars().take(280).collect(),
            published_at: h.published_at,
            level: h.level,
            score: h.score,
            signals: vec!["call".to_owned(), "target".to_owned()],
            received_at: None,
            place: None,
        })
        .collect();
    let alerts: Vec<Alert> = codes.iter().enumerate().map(|(i, c)| alert(i, c, now, evidence.clone())).collect();
    let silences: Vec<Silence> = codes
        .iter()
        .take(8)
        .enumerate()
        .map(|(i, c)| Silence {
            id: format!("s{i}"),
            matchers: vec![Matcher { label: "municipality".into(), value: c.as_str().into(), negate: false }],
            reason: "Bekende, aangemelde demonstratie; de politie is erbij.".into(),
            owner: "sv-regio".into(),
            starts_at: now - TimeDelta::hours(1),
            ends_at: now + TimeDelta::hours(3 + i as i64),
        })
        .collect();

    let scratch = tempfile::tempdir()?;
    let audit_path = scratch.path().join("audit.jsonl");
    let records = env_usize("CONSOLE_BENCH_AUDIT_RECORDS", 10_000);
    for i in 0..records {
        let entry = onrust_audit::AuditEntry {
            who: ["analist-regio", "sv-regio", "oov-utrecht"][i % 3].to_owned(),
            action: ["search", "alerts_show", "overview", "sign_in"][i % 4].to_owned(),
            query: i.is_multiple_of(4).then(|| format!("{} {}", WORDS[i % WORDS.len()], WORDS[(i / 7) % WORDS.len()])),
            filters: serde_json::json!({ "gemeente": "GM0344" }),
            hits: Some(i as u64 % 500),
            refused: None,
            mandates: Vec::new(),
        };
        onrust_audit::append(&audit_path, entry)?;
    }

    let account = |name: &str, role: Role| Account {
        name: name.to_owned(),
        role,
        municipalities: None,
        password_hash: String::new(),
        disabled: false,
    };
    let console = Console {
        users: Users::fixed(vec![
            account("sv-regio", Role::Supervisor),
            account("analist-regio", Role::Analyst),
            account("fg-regio", Role::Fg),
        ]),
        sessions: Sessions::new(
            SessionPolicy { secure_cookies: false, ..SessionPolicy::default() },
            LoginPolicy::default(),
        ),
        region_name: "Benchmark".to_owned(),
        region: codes.clone(),
        names: codes.iter().map(|c| (c.clone(), format!("Gemeente {}", c.as_str()))).collect(),
        clock: Clock::fixed(now),
        coverage: Some(Arc::new(BenchCoverage(now))),
        retention: Some(Duration::from_secs(90 * 86_400)),
        data_classes: Vec::new(),
    };
    let sessions = |name: &str, role: Role| -> Res<String> {
        let id = console.sessions.start(name, role, Scope::Region).ok_or("no randomness")?;
        Ok(format!("onrust_sessie={id}"))
    };
    let supervisor = sessions("sv-regio", Role::Supervisor)?;
    let analyst = sessions("analist-regio", Role::Analyst)?;
    let fg = sessions("fg-regio", Role::Fg)?;
    let state = WebState {
        metrics: PrometheusBuilder::new().build_recorder().handle(),
        ready: Arc::new(AtomicBool::new(true)),
        access: Arc::new(AccessControl::default()),
        audit_path: audit_path.clone(),
        search: Some(SearchService::new(reader, SearchLimits::default())),
        alerts: Some(Arc::new(BenchAlerts { alerts: alerts.clone(), silences })),
        console: Arc::new(console),
        feeds: Arc::new(onrust_web::subscriptions::Subscriptions::none()),
        halt: Arc::new(onrust_web::halt::HaltSwitch::at(audit_path.with_file_name("halt.json"))),
        erase: None,
    };
    let listener = onrust_web::bind("127.0.0.1:0".parse()?).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(onrust_web::serve(listener, state, onrust_web::ConnectionLimits::default(), std::future::pending()));

    let busiest = codes.first().map_or("GM0344", MunicipalityCode::as_str).to_owned();
    let quietest = codes.last().map_or("GM0344", MunicipalityCode::as_str).to_owned();
    let fingerprint = alerts.first().map(|a| a.fingerprint.clone()).unwrap_or_default();
    let day = move |back: i64| (now - TimeDelta::days(back)).format("%Y-%m-%d").to_string();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut pick = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let two_words = |pick: &mut dyn FnMut(usize) -> usize| {
        let a = WORDS[pick(WORDS.len())];
        let b = WORDS[pick(WORDS.len())];
        format!("{a}+{b}")
    };
    // Each page: a name, whose session, and how to make the n-th request's path.
    type Paths = Box<dyn FnMut(usize) -> String>;
    let pages: Vec<(&str, &str, Paths)> = vec![
        ("/ (overzicht, 40 tegels)", "sv", Box::new(|_| "/".to_owned())),
        ("/meldingen", "sv", Box::new(|_| "/meldingen".to_owned())),
        ("/meldingen/{id}", "sv", Box::new(move |_| format!("/meldingen/{fingerprint}"))),
        ("/stiltes", "sv", Box::new(|_| "/stiltes".to_owned())),
        ("/gemeente (drukste)", "sv", Box::new(move |_| format!("/gemeente/{busiest}"))),
        ("/gemeente (stilste)", "sv", Box::new(move |_| format!("/gemeente/{quietest}"))),
        ("/zoeken (formulier)", "an", Box::new(|_| "/zoeken".to_owned())),
        ("/zoeken?q=2 woorden, hele archief", "an", Box::new(move |_| format!("/zoeken?q={}", two_words(&mut pick)))),
        (
            "/zoeken?q=1 woord, nieuwste, pagina 3",
            "an",
            Box::new(move |i| format!("/zoeken?q={}&volgorde=nieuwste&pagina=3", WORDS[i % WORDS.len()])),
        ),
        (
            "/zoeken?gemeente=…&niveau=2&van=…&tot=…",
            "an",
            Box::new(move |i| {
                format!("/zoeken?gemeente=GM0344&niveau=2&van={}&tot={}", day(7 + (i % 7) as i64), day(0))
            }),
        ),
        ("/audit (10.000 records)", "fg", Box::new(|_| "/audit".to_owned())),
        (
            "/audit?soort=zoeken&bevat=…",
            "fg",
            Box::new(|i| format!("/audit?soort=zoeken&bevat={}", WORDS[i % WORDS.len()])),
        ),
    ];
    println!(
        "console bench: {docs} messages in {}, clock at {now}; {} alerts, {requests} requests per page after {WARMUP} \
         uncounted; {} cores",
        dir.display(),
        alerts.len(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "{:<42} {:>9} {:>9} {:>9} {:>9} {:>10} {:>6}  target",
        "page", "p50", "p95", "p99", "max", "bytes (max)", "load"
    );
    let mut failed = Vec::new();
    for (name, who, mut path) in pages {
        let cookie = match who {
            "sv" => &supervisor,
            "an" => &analyst,
            _ => &fg,
        };
        let mut times = Vec::with_capacity(requests);
        let mut largest = 0;
        for i in 0..WARMUP + requests {
            let (took, bytes, status) = fetch(addr, &path(i), cookie).await?;
            if status != 200 {
                return Err(format!("{name}: status {status} for {}", path(i)).into());
            }
            if i >= WARMUP {
                times.push(took);
                largest = largest.max(bytes);
            }
        }
        times.sort_unstable();
        let p95 = percentile(&times, 95.0);
        let met = p95 <= PAGE_TARGET && largest <= SIZE_TARGET;
        if !met {
            failed.push(name);
        }
        println!(
            "{name:<42} {:>9} {:>9} {:>9} {:>9} {:>10} {:>6}  {}",
            ms(percentile(&times, 50.0)),
            ms(p95),
            ms(percentile(&times, 99.0)),
            ms(times.last().copied().unwrap_or_default()),
            largest,
            load(),
            if met { "met" } else { "NOT MET" }
        );
    }
    // Not a page: the CSV export (1,000 rows at most), for reference.
    let mut times = Vec::new();
    let mut largest = 0;
    for i in 0..WARMUP + requests / 4 {
        let (took, bytes, status) =
            fetch(addr, &format!("/zoeken/export?q={}", WORDS[i % WORDS.len()]), &analyst).await?;
        if status != 200 {
            return Err(format!("export: status {status}").into());
        }
        if i >= WARMUP {
            times.push(took);
            largest = largest.max(bytes);
        }
    }
    times.sort_unstable();
    println!(
        "{:<42} {:>9} {:>9} {:>9} {:>9} {:>10} {:>6}  (a download, not a page)",
        "/zoeken/export?q=1 woord (1.000 rijen)",
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 95.0)),
        ms(percentile(&times, 99.0)),
        ms(times.last().copied().unwrap_or_default()),
        largest,
        load()
    );
    if !failed.is_empty() {
        println!("targets not met: {}", failed.join(", "));
    }
    Ok(())
}
