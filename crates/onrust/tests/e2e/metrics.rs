//! Metrics, Prometheus and the Grafana dashboards end to end (issue 7).
//!
//! A real Prometheus (Debian's `prometheus` package; `scripts/test` installs
//! it when missing) scrapes a running onrust fed from fixture feeds and loads
//! the shipped rules; every PromQL expression of the dashboards and of the
//! rule file is evaluated through Prometheus' HTTP API and must parse and
//! return at least one series. `promtool` checks the shipped configuration
//! and rules and runs the rules' unit tests. A flood of 10,000 messages from
//! 10,000 authors must keep `/metrics` under 2,000 series, with no author,
//! pseudonym, URL or text in any label (rules L1, L2).

use onrust_testkit::{found_within_every, holds_within, holds_within_every, wait_until};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, SmtpSink, free_port, repo_root, shipped_region};

/// The datasource uid the provisioning defines and every panel must use.
const DATASOURCE_UID: &str = "onrust-prometheus";

/// What the dashboards' variables become in a query.
const SUBSTITUTIONS: [(&str, &str); 4] =
    [("$municipality", "GM0344"), ("$__rate_interval", "1m"), ("$__range", "1h"), ("$__interval", "15s")];

/// Alerting rules whose condition is a broken daemon or pipeline (or a
/// halted one, or a mandate near or past its end), which a live test of a
/// healthy one cannot produce: their expressions must parse and return
/// nothing here; `promtool test rules` shows them firing.
const NOT_LIVE: [&str; 7] = [
    "OnrustDown",
    "OnrustPipelineStalled",
    "OnrustAlertDeliveryFailed",
    "OnrustRecordsSkipped",
    "OnrustMandateEnding",
    "OnrustMandateEnded",
    "OnrustHalted",
];

fn feed(items: &str) -> Reply {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <channel><title>test</title><link>https://nieuws.example/</link><description>test</description>{items}</channel></rss>"
    );
    Reply::Feed { body: body.into_bytes(), content_type: "application/rss+xml", etag: None }
}

fn item(guid: &str, author: &str, title: &str, text: &str) -> String {
    format!(
        "<item><guid>{guid}</guid><title>{title}</title><link>https://nieuws.example/{guid}</link>\
         <dc:creator>{author}</dc:creator><description>{text}</description></item>"
    )
}

/// Messages about Utrecht, Amersfoort and Lelystad at levels 1 to 3, one an
/// announced action next Saturday (checked with `onrust classify`).
fn region_feed() -> Reply {
    let items = [
        item(
            "r1",
            "boer_canary_1",
            "Trekkerprotest zaterdag in Utrecht",
            "Boeren komen zaterdag om 12:00 met trekkers naar het Jaarbeursplein in Utrecht om te demonstreren \
             tegen het stikstofbeleid. Kom allemaal!",
        ),
        item(
            "r2",
            "buur_canary_2",
            "Onrust over azc in Amersfoort",
            "Veel onvrede in Amersfoort over de komst van het azc, bewoners praten over protest.",
        ),
        item(
            "r3",
            "rel_canary_3",
            "Oproep tot rellen",
            "Oproep: met oud en nieuw de politie in Utrecht bekogelen met zwaar vuurwerk, maak oorlog met de ME.",
        ),
        item(
            "r4",
            "klimaat_canary_4",
            "Klimaatmars Lelystad",
            "Demonstratie tegen het klimaatbeleid in Lelystad, zondag om 13:00.",
        ),
    ];
    feed(&items.concat())
}

/// Adds `municipalities = [...]` to the source whose url is `url`.
fn covers(config: &str, url: &str, municipalities: &str) -> String {
    let line = format!("url = {url:?}\n");
    assert!(config.contains(&line), "no source with {url}");
    config.replacen(&line, &format!("{line}municipalities = {municipalities}\n"), 1)
}

/// A Prometheus on loopback with its own storage, killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes the daemon on `target_port` every second and evaluates the shipped rules every second.
    fn start(target_port: u16) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = repo_root().join("docker/prometheus/rules.yml");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules:?}\n\
             scrape_configs:\n  - job_name: onrust\n    static_configs:\n      - targets: [\"127.0.0.1:{target_port}\"]\n"
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(crate::services::prometheus())
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let prometheus = Self { child, port, _dir: dir };
        wait_until("prometheus to become ready", Duration::from_secs(30), || {
            get(port, "/-/ready").is_some_and(|(status, _)| status == 200)
        });
        prometheus
    }

    /// GET on the HTTP API, as JSON with `"status": "success"`, or the error.
    fn api(&self, path: &str) -> Result<serde_json::Value, String> {
        let (status, body) = get(self.port, path).ok_or("no answer")?;
        let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("{status}: {e}: {body}"))?;
        if json["status"] == "success" { Ok(json) } else { Err(format!("{status}: {body}")) }
    }

    /// The series an instant query returns.
    fn query(&self, expr: &str) -> Result<Vec<serde_json::Value>, String> {
        let json = self.api(&format!("/api/v1/query?query={}", encode(expr)))?;
        Ok(json["data"]["result"].as_array().cloned().unwrap_or_default())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP/1.0 GET (so no chunked answer): (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn dashboards() -> Vec<(PathBuf, serde_json::Value)> {
    let dir = repo_root().join("dashboards");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("dashboards/").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read dashboard");
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            out.push((path, json));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every `"expr"` in a dashboard, wherever it is nested.
fn expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", serde_json::Value::String(expr)) => out.push(expr.clone()),
                    _ => expressions(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| expressions(v, out)),
        _ => {}
    }
}

fn substitute(expr: &str) -> String {
    // Longest names first, so `$__range` does not eat part of `$__rate_interval`.
    let mut out = expr.to_owned();
    for (var, value) in SUBSTITUTIONS {
        out = out.replace(&format!("${{{}}}", &var[1..]), value).replace(var, value);
    }
    assert!(!out.contains('$'), "a dashboard variable is not substituted in {out}");
    out
}

#[test]
fn prometheus_scrapes_onrust_and_every_dashboard_and_rule_expression_returns_series() {
    let sink = SmtpSink::start(&[]);
    let server = FeedServer::start();
    server.route("/regio.xml", region_feed());
    server.route("/kapot.xml", Reply::Status { status: 503, headers: vec![], body: b"weg".to_vec() });
    let (regio, kapot) = (server.url("/regio.xml"), server.url("/kapot.xml"));
    let install = Install::new(&[("regio", regio.clone()), ("kapot", kapot.clone())]);
    let mut config = std::fs::read_to_string(&install.config).expect("config");
    // Utrecht and Amersfoort are covered by a working source; Almere only by one that fails.
    config = covers(&config, &regio, "[\"GM0344\", \"GM0307\"]");
    config = covers(&config, &kapot, "[\"GM0034\"]");
    config.push_str(
        "[region]\nmunicipalities = [\"GM0344\", \"GM0307\", \"GM0034\"]\n[alerts]\nevaluate_interval = \"1s\"\n\
         [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\nwindow = \"1h\"\ngroup_wait = \"0s\"\n\
         [[rules]]\nmandate = \"test\"\nname = \"aangekondigde-actie\"\nkind = \"announcement\"\nmin_level = 2\n",
    );
    config.push_str(&format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"onrust@regio.example\"\ntimeout = \"5s\"\n\
         [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n",
        sink.port
    ));
    std::fs::write(&install.config, config).expect("write config");
    let officer = install.add_token("oov-utrecht", "officer");
    let daemon = install.start();
    assert_eq!(install.wait_count("*", 4, Duration::from_secs(60)), 4, "stderr:\n{}", daemon.stderr());
    // The officer is mailed about the call to violence, and acknowledges it.
    let mail = sink.wait_for(Duration::from_secs(30), |m| m.rcpt_tos().iter().any(|r| r == "oov@utrecht.example"));
    assert!(mail.is_some(), "no mail for the officer:\n{}", daemon.stderr());
    let (status, body) = daemon.get_as("/api/v1/alerts", Some(&officer)).expect("alerts api");
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).expect("json");
    let critical = listed["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["rule"] == "oproep-tot-geweld")
        .and_then(|a| a["fingerprint"].as_str())
        .expect("the critical alert")
        .to_owned();
    let (status, body) =
        daemon.post_as(&format!("/api/v1/alerts/{critical}/ack"), &officer, r#"{"comment": "gezien"}"#).expect("ack");
    assert_eq!(status, 200, "{body}");
    let prometheus = Prometheus::start(install.port);

    let mut dashboard_exprs = Vec::new();
    for (_, board) in dashboards() {
        expressions(&board, &mut dashboard_exprs);
    }
    assert!(dashboard_exprs.len() >= 25, "{} dashboard expressions", dashboard_exprs.len());

    // The rules Prometheus loaded from docker/prometheus/rules.yml, with their expressions.
    let rules_file = std::fs::read_to_string(repo_root().join("docker/prometheus/rules.yml")).expect("rules");
    let in_file = rules_file
        .lines()
        .filter(|l| l.trim_start().starts_with("- record:") || l.trim_start().starts_with("- alert:"))
        .count();
    let loaded = prometheus.api("/api/v1/rules").expect("rules api");
    let mut rules = Vec::new();
    for group in loaded["data"]["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let name = rule["name"].as_str().expect("name").to_owned();
            rules.push((
                name,
                rule["type"].as_str().expect("type").to_owned(),
                rule["query"].as_str().expect("query").to_owned(),
            ));
        }
    }
    assert_eq!(rules.len(), in_file, "every rule in the file is loaded: {rules:?}");

    // Retry until every expression has series (scrapes and rule evaluations take a few seconds).
    let mut empty: Vec<String> = Vec::new();
    holds_within_every(Duration::from_secs(90), Duration::from_secs(1), || {
        empty = Vec::new();
        for expr in &dashboard_exprs {
            let query = substitute(expr);
            match prometheus.query(&query) {
                Ok(series) if !series.is_empty() => {}
                Ok(_) => empty.push(format!("dashboard: {query}")),
                Err(e) => panic!("dashboard expression does not evaluate: {query}: {e}"),
            }
        }
        for (name, kind, query) in &rules {
            let series =
                prometheus.query(query).unwrap_or_else(|e| panic!("rule {name} does not evaluate: {query}: {e}"));
            let healthy_quiet = kind == "alerting" && NOT_LIVE.contains(&name.as_str());
            if series.is_empty() != healthy_quiet {
                empty.push(format!("rule {name} ({} series): {query}", series.len()));
            }
        }
        empty.is_empty()
    });
    assert!(
        empty.is_empty(),
        "expressions without the expected series:\n{}\ndaemon:\n{}",
        empty.join("\n"),
        daemon.stderr()
    );

    // The values are the fixture's: coverage, the failing source, the announced action, the critical alert.
    let value = |expr: &str| -> f64 {
        let series = prometheus.query(expr).expect("query");
        assert_eq!(series.len(), 1, "{expr}: {series:?}");
        series[0]["value"][1].as_str().expect("value").parse().expect("number")
    };
    assert_eq!(value("onrust_coverage{municipality=\"GM0344\"}"), 1.0);
    assert_eq!(value("onrust_coverage{municipality=\"GM0034\"}"), 0.0);
    assert_eq!(value("onrust_source_up{source=\"kapot\"}"), 0.0);
    assert_eq!(value("onrust_announced_actions{municipality=\"GM0344\"}"), 1.0);
    assert_eq!(value("onrust_alerts_firing{rule=\"oproep-tot-geweld\",severity=\"critical\"}"), 1.0);
    // Utrecht: the call to violence (critical) and two announced actions (Saturday's protest, and New
    // Year's Eve, which is more than 7 days ahead and so not among the announced actions above).
    assert_eq!(value("sum(onrust_municipality_alerts_firing{municipality=\"GM0344\"})"), 3.0);
    assert_eq!(value("sum(onrust_municipality_alerts_firing)"), value("sum(onrust_alerts_firing)"));
    // One mail sent (counted where the notification log records it), one queued, one acknowledgement.
    assert!(value("sum(onrust_alert_deliveries_total{channel=\"email\",outcome=\"sent\"})") >= 1.0);
    assert_eq!(value("sum(onrust_alert_deliveries_total{outcome=~\"retry|failed\"})"), 0.0);
    assert!(value("sum(onrust_alert_notifications_total{rule=\"oproep-tot-geweld\",outcome=\"queued\"})") >= 1.0);
    assert_eq!(value("sum(onrust_alert_acknowledgements_total{rule=\"oproep-tot-geweld\"})"), 1.0);
    assert_eq!(value("sum(onrust_alert_acknowledgements_total{rule=\"aangekondigde-actie\"})"), 0.0);
    // Lelystad is outside this region: its messages count as "other".
    assert!(value("sum(onrust_classified_total{municipality=\"other\"})") >= 1.0);
    // Every theme's series exists, at 0 from the start (the messages here came before
    // Prometheus' first scrape, so their increase is not seen: the next test shows it is).
    let utrecht_themes: BTreeSet<String> = prometheus
        .query("onrust:escalation_index:6h{municipality=\"GM0344\"}")
        .expect("query")
        .iter()
        .map(|s| s["metric"]["theme"].as_str().unwrap_or_default().to_owned())
        .collect();
    for theme in ["jaarwisseling", "stikstof", "asiel", "none"] {
        assert!(utrecht_themes.contains(theme), "{theme} missing from {utrecht_themes:?}");
    }
    // A quiet municipality is 0 on the overview, not missing.
    assert_eq!(value("onrust:municipality_escalation_index:6h{municipality=\"GM0034\"}"), 0.0);
    // Every alerting rule's expression is healthy in Prometheus' own view too.
    let loaded = prometheus.api("/api/v1/rules").expect("rules api");
    for group in loaded["data"]["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            assert_eq!(rule["health"], "ok", "{rule}");
        }
    }
}

#[test]
fn promtool_passes_the_shipped_configuration_and_rules() {
    let docker = repo_root().join("docker");
    // The shipped config reads the monitor token from a Docker secret; check a copy that points at a real file.
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("http-token");
    std::fs::write(&token, "0123456789abcdef0123456789abcdef").expect("token");
    let config = std::fs::read_to_string(docker.join("prometheus.yml")).expect("docker/prometheus.yml");
    assert!(config.contains("/run/secrets/http-token"), "the scrape uses the monitor token (S8)");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        config.replace("/run/secrets/http-token", &token.display().to_string()),
    )
    .expect("write");
    std::fs::create_dir(dir.path().join("prometheus")).expect("mkdir");
    std::fs::copy(docker.join("prometheus/rules.yml"), dir.path().join("prometheus/rules.yml")).expect("copy rules");
    let promtool = |args: &[&str], cwd: &Path| {
        let out = Command::new(crate::services::promtool()).args(args).current_dir(cwd).output().expect("run promtool");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
        text
    };
    let checked = promtool(&["check", "config", "prometheus.yml"], dir.path());
    assert!(checked.contains("SUCCESS: 1 rule files found"), "{checked}");
    // The kafka profile's configuration: every role's process, by Docker DNS.
    let kafka = std::fs::read_to_string(docker.join("prometheus.kafka.yml")).expect("docker/prometheus.kafka.yml");
    assert!(kafka.contains("/run/secrets/http-token") && kafka.contains("onrust-classify"), "{kafka}");
    std::fs::write(
        dir.path().join("prometheus.kafka.yml"),
        kafka.replace("/run/secrets/http-token", &token.display().to_string()),
    )
    .expect("write");
    let checked = promtool(&["check", "config", "prometheus.kafka.yml"], dir.path());
    assert!(checked.contains("SUCCESS: 1 rule files found"), "{checked}");
    promtool(&["check", "rules", "prometheus/rules.yml"], &docker);
    let tested = promtool(&["test", "rules", "prometheus/rules.test.yml"], &docker);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// Grafana is not run here; its input is checked instead: valid JSON, the
/// provisioned datasource everywhere, a Dutch title on every panel, the
/// municipality variable and the regional overview of the whole region.
#[test]
fn dashboards_are_well_formed_for_grafana() {
    let provisioning = std::fs::read_to_string(repo_root().join("dashboards/provisioning/datasources/onrust.yml"))
        .expect("datasource provisioning");
    assert!(provisioning.contains(&format!("uid: {DATASOURCE_UID}")), "{provisioning}");
    let providers = std::fs::read_to_string(repo_root().join("dashboards/provisioning/dashboards/onrust.yml"))
        .expect("dashboard provisioning");
    assert!(providers.contains("type: file"), "{providers}");
    // English words an officer should not read in a title.
    let english = [
        "the",
        "of",
        "and",
        "messages",
        "alerts",
        "sources",
        "source",
        "latency",
        "queue",
        "coverage",
        "errors",
        "by",
        "health",
        "announced",
        "actions",
        "throughput",
        "active",
        "size",
    ];
    let boards = dashboards();
    let uids: BTreeSet<&str> = boards.iter().map(|(_, b)| b["uid"].as_str().expect("uid")).collect();
    assert_eq!(uids, BTreeSet::from(["onrust-pijplijn", "onrust-vroegsignalering"]));
    for (path, board) in &boards {
        let panels = board["panels"].as_array().expect("panels");
        assert!(panels.len() >= 10, "{}: {} panels", path.display(), panels.len());
        let mut ids = BTreeSet::new();
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or_default();
            assert!(!title.trim().is_empty(), "{}: a panel without a title: {panel}", path.display());
            let lower = title.to_lowercase();
            let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
            if let Some(word) = english.iter().find(|w| words.contains(w)) {
                panic!("{}: title {title:?} is not Dutch ({word:?})", path.display());
            }
            assert!(ids.insert(panel["id"].as_i64().expect("panel id")), "duplicate panel id in {}", path.display());
            assert_eq!(panel["datasource"]["uid"], DATASOURCE_UID, "{title}");
            let targets = panel["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{title}: no query");
            for t in targets {
                assert_eq!(t["datasource"]["uid"], DATASOURCE_UID, "{title}");
                assert!(t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()), "{title}: empty query");
            }
            for key in ["x", "y", "w", "h"] {
                assert!(panel["gridPos"][key].is_u64(), "{title}: gridPos.{key}");
            }
        }
    }
    let (_, early) = boards.iter().find(|(_, b)| b["uid"] == "onrust-vroegsignalering").expect("Vroegsignalering");
    assert_eq!(early["title"], "Vroegsignalering");
    let variable = &early["templating"]["list"][0];
    assert_eq!(variable["name"], "municipality");
    let codes: BTreeSet<&str> =
        variable["options"].as_array().expect("options").iter().map(|o| o["value"].as_str().expect("code")).collect();
    let region = shipped_region();
    let shipped: BTreeSet<&str> = region.split('"').filter(|s| s.starts_with("GM")).collect();
    assert_eq!(shipped.len(), 38, "the shipped region is Midden-Nederland's 38 municipalities");
    assert_eq!(codes, shipped, "the variable offers exactly the region (run dashboards/generate.py)");
    let overview = early["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .find(|p| p["title"].as_str().is_some_and(|t| t.starts_with("Regio-overzicht: escalatie-index")))
        .expect("a regional overview");
    let named: BTreeSet<&str> = overview["fieldConfig"]["overrides"]
        .as_array()
        .expect("overrides")
        .iter()
        .map(|o| o["matcher"]["options"].as_str().expect("code"))
        .collect();
    assert_eq!(named, shipped, "every municipality of the region is named on the overview");
    // Every query of the per-municipality panels is about the chosen municipality.
    for panel in early["panels"].as_array().expect("panels").iter().filter(|p| p["gridPos"]["y"].as_u64() < Some(14)) {
        let mut exprs = Vec::new();
        expressions(panel, &mut exprs);
        assert!(exprs.iter().all(|e| e.contains("$municipality")), "{}: {exprs:?}", panel["title"]);
    }
}

/// Lines of the Prometheus text format that are samples: (name, labels).
fn samples(body: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for line in body.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (name, rest) = match line.find('{') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line.split_whitespace().next().unwrap_or_default(), ""),
        };
        let mut labels = Vec::new();
        let mut rest = rest;
        while let Some(eq) = rest.find("=\"") {
            let key = rest[..eq].trim_start_matches(',').to_owned();
            let value_start = eq + 2;
            let mut end = value_start;
            let bytes = rest.as_bytes();
            while end < bytes.len() && !(bytes[end] == b'"' && bytes[end - 1] != b'\\') {
                end += 1;
            }
            labels.push((key, rest[value_start..end].to_owned()));
            rest = &rest[(end + 1).min(rest.len())..];
            if rest.starts_with('}') {
                break;
            }
        }
        out.push((name.to_owned(), labels));
    }
    out
}

#[test]
fn ten_thousand_authors_stay_under_two_thousand_series_and_out_of_every_label() {
    // 20 places (inside and outside the region) × 8 topics, 10,000 distinct authors, two feeds of 5,000.
    let places = [
        "Utrecht",
        "Amersfoort",
        "Almere",
        "Lelystad",
        "Hilversum",
        "Zeist",
        "Nieuwegein",
        "Veenendaal",
        "Houten",
        "Woerden",
        "Amsterdam",
        "Rotterdam",
        "Den Haag",
        "Groningen",
        "Eindhoven",
        "Zwolle",
        "Arnhem",
        "Nijmegen",
        "Maastricht",
        "Leeuwarden",
    ];
    let topics = [
        "boeren met trekkers demonstreren tegen het stikstofbeleid",
        "onrust over de komst van het azc",
        "oproep om met oud en nieuw de politie te bekogelen met vuurwerk",
        "klimaatactivisten blokkeren de weg",
        "protest tegen de coronamaatregelen",
        "discussie over zwarte piet bij de intocht",
        "steun voor Oekraïne op het plein",
        "het weer wordt morgen zonnig",
    ];
    let server = FeedServer::start();
    let mut sources = Vec::new();
    for part in 0..2 {
        let mut items = String::new();
        for j in 0..5000 {
            let i = part * 5000 + j;
            let place = places[i % places.len()];
            let topic = topics[(i / places.len()) % topics.len()];
            items.push_str(&item(
                &format!("m{i}"),
                &format!("auteur_canary_{i}"),
                &format!("Bericht {i} uit {place}"),
                &format!("In {place}: {topic}. tekstcanary{i}"),
            ));
        }
        let path = format!("/massa-{part}.xml");
        server.route(&path, feed(&items));
        sources.push((format!("massa-{part}"), server.url(&path)));
    }
    let sources: Vec<(&str, String)> = sources.iter().map(|(id, url)| (id.as_str(), url.clone())).collect();
    let install = Install::new(&sources);
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(&install.config, format!("{config}{}", shipped_region())).expect("write config");
    let daemon = install.start();
    let archived = install.wait_count("*", 10_000, Duration::from_secs(300));
    assert_eq!(archived, 10_000, "stderr:\n{}", daemon.stderr());

    let (status, body) = daemon.get("/metrics").expect("/metrics");
    assert_eq!(status, 200);
    let samples = samples(&body);
    let classified = samples.iter().filter(|(n, _)| n == "onrust_classified_total").count();
    assert!(classified >= 20, "the flood is counted per municipality × theme × level: {classified} series");
    eprintln!("/metrics after 10,000 authors: {} series, {classified} of onrust_classified_total", samples.len());
    assert!(samples.len() < 2_000, "{} series on /metrics after 10,000 authors", samples.len());
    let mut values = BTreeSet::new();
    for (name, labels) in &samples {
        assert!(name.starts_with("onrust_"), "{name}");
        for (key, value) in labels {
            let lower = value.to_lowercase();
            assert!(
                !lower.contains("canary")
                    && !lower.contains("auteur")
                    && !lower.contains("://")
                    && !lower.contains("example"),
                "{name}{{{key}={value:?}}} carries an author, a URL or message text"
            );
            let hex_run = value.chars().filter(char::is_ascii_hexdigit).count();
            assert!(!(hex_run >= 16 && hex_run == value.len()), "{name}{{{key}={value:?}}} looks like a pseudonym");
            assert!(value.len() <= 64, "{name}{{{key}={value:?}}} is too long for a bounded label");
            values.insert((key.clone(), value.clone()));
        }
        // Only the label names docs/ARCHITECTURE.md allows ("Observability") (plus the histogram's `le`).
        for (key, _) in labels {
            assert!(
                [
                    "source",
                    "source_kind",
                    "stage",
                    "theme",
                    "level",
                    "municipality",
                    "rule",
                    "mandate",
                    "severity",
                    "channel",
                    "outcome",
                    "le",
                    "quantile"
                ]
                .contains(&key.as_str()),
                "{name} has label {key}"
            );
        }
    }
    // Municipalities outside the region are one label, "other".
    assert!(values.contains(&("municipality".to_owned(), "other".to_owned())));
    assert!(!values.iter().any(|(k, v)| k == "municipality" && v == "GM0363"), "Amsterdam is outside the region");
    // Every metric family on /metrics is declared, i.e. described (it has a HELP line).
    let families: BTreeSet<&str> =
        body.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split_whitespace().next()).collect();
    let described: BTreeSet<&str> =
        body.lines().filter_map(|l| l.strip_prefix("# HELP ")).filter_map(|l| l.split_whitespace().next()).collect();
    let undeclared: Vec<_> = families.difference(&described).collect();
    assert!(undeclared.is_empty(), "metrics emitted without a declaration: {undeclared:?}");
}

/// The value of one sample on /metrics, by its exact name and labels as rendered.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// rule R10: a source that stops delivering takes the coverage of its
/// municipalities down with it, with a warning, and gives it back on recovery.
#[test]
fn a_source_going_down_takes_coverage_down_with_a_warning() {
    let server = FeedServer::start();
    server.route("/lokaal.xml", region_feed());
    let url = server.url("/lokaal.xml");
    let install = Install::new(&[("lokaal", url.clone())]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let config = covers(&config, &url, "[\"GM0344\"]");
    std::fs::write(&install.config, format!("{config}[region]\nmunicipalities = [\"GM0344\", \"GM0307\"]\n"))
        .expect("write config");
    let daemon = install.start();
    let wait_for = |series: &str, want: f64| {
        let mut body = String::new();
        let became = holds_within(Duration::from_secs(60), || {
            body = daemon.get("/metrics").map(|(_, b)| b).unwrap_or_default();
            sample(&body, series) == Some(want)
        });
        assert!(became, "{series} never became {want}:\n{body}");
    };
    wait_for("onrust_coverage{municipality=\"GM0344\"}", 1.0);
    // Amersfoort has no source at all: never covered.
    wait_for("onrust_coverage{municipality=\"GM0307\"}", 0.0);
    server.route("/lokaal.xml", Reply::Status { status: 503, headers: vec![], body: b"onderhoud".to_vec() });
    wait_for("onrust_source_up{source=\"lokaal\"}", 0.0);
    wait_for("onrust_coverage{municipality=\"GM0344\"}", 0.0);
    assert!(
        holds_within(Duration::from_secs(10), || daemon.stderr().contains("silence there is not calm")),
        "no coverage warning:\n{}",
        daemon.stderr()
    );
    let warning = daemon.stderr().lines().find(|l| l.contains("silence there is not calm")).map(str::to_owned);
    assert!(
        warning.as_deref().is_some_and(|w| w.contains("WARN") && w.contains("GM0344") && !w.contains("GM0307")),
        "{warning:?}"
    );
    server.route("/lokaal.xml", region_feed());
    wait_for("onrust_coverage{municipality=\"GM0344\"}", 1.0);
    assert!(daemon.stderr().contains("coverage restored"), "{}", daemon.stderr());
}

/// Issue 16: the counters the escalation index reads exist at 0 from the
/// start, so a quiet municipality's first call to violence counts. A real
/// Prometheus scrapes the daemon while no message has come in, then one
/// level-3 message about Utrecht arrives: Utrecht's index becomes 9 (one
/// escalation message), where a counter born at 1 on that message would
/// leave `increase()` at 0.
#[test]
fn the_escalation_index_counts_the_first_message_in_a_quiet_municipality() {
    let server = FeedServer::start();
    server.route("/stil.xml", feed(""));
    let install = Install::new(&[("stil", server.url("/stil.xml"))]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(&install.config, format!("{config}{}", shipped_region())).expect("write config");
    let daemon = install.start();
    let prometheus = Prometheus::start(install.port);
    let series = "onrust_classified_total{level=\"3\",municipality=\"GM0344\",theme=\"none\"}";
    let index = "sum(onrust:escalation_index:6h{municipality=\"GM0344\"})";
    // Prometheus has scraped the zero a few times before anything happens.
    let scraped = holds_within_every(Duration::from_secs(30), Duration::from_millis(250), || {
        let zeros = prometheus
            .query(&format!("count_over_time({series}[1m])"))
            .ok()
            .and_then(|r| r.first().and_then(|s| s["value"][1].as_str().and_then(|v| v.parse::<f64>().ok())));
        zeros.is_some_and(|n| n >= 3.0)
    });
    assert!(scraped, "the zero series is not scraped; log:\n{}", daemon.stderr());
    let before = prometheus.query("onrust:escalation_index:6h{municipality=\"GM0344\",theme=\"jaarwisseling\"}");
    assert!(before.expect("query").iter().all(|s| s["value"][1].as_str() == Some("0")), "quiet before the message");
    server.route(
        "/stil.xml",
        feed(&item(
            "eerste",
            "rel_canary_1",
            "Oproep",
            "Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en steek de \
             containers in brand. Oorlog maken met de politie.",
        )),
    );
    let index = found_within_every(Duration::from_secs(60), Duration::from_millis(500), || {
        let value = prometheus
            .query(index)
            .ok()
            .and_then(|r| r.first().and_then(|s| s["value"][1].as_str().and_then(|v| v.parse::<f64>().ok())));
        value.filter(|i| *i > 0.0)
    });
    let Some(index) = index else {
        let metrics = daemon.get("/metrics").map(|(_, b)| b).unwrap_or_default();
        let counted: Vec<&str> =
            metrics.lines().filter(|l| l.starts_with("onrust_classified_total") && !l.ends_with(" 0")).collect();
        panic!("the first call to violence never reached the escalation index: {counted:?}; log:\n{}", daemon.stderr());
    };
    // One level-3 message weighs 9. Prometheus extrapolates the increase to the window's end
    // (by up to a scrape interval over the seconds of history there are), so a little more.
    assert!((8.5..=13.5).contains(&index), "the first message counts 9, not {index}");
    eprintln!("escalation index after the first message: {index}");
}
