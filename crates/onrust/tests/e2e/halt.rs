//! The halt switch end to end (rule L13): `onrust halt` through the running
//! daemon stops every fetch and every mail within 5 s, the halt survives a
//! restart, and `onrust resume` reads what was published meanwhile and sends
//! what was held, each change on record with who and why.
//!
//! The mail that is held is real: a call to violence in Utrecht is read
//! while the relay is down, so its mail waits in the outbox; the relay comes
//! up right after the halt, so only the halt keeps it from going (after the
//! restart the outbox makes it due at once).

use std::time::{Duration, Instant};

use crate::support::{Broker, FeedServer, Install, Reply, SmtpSink, free_port, holds_within, write_secret};

const OFFICER: &str = "oov@utrecht.example";
/// How often the feed is polled (`Install`'s sources, the least the configuration allows):
/// a running source fetches at least once in any window this long, and at once when it starts.
const POLL: Duration = Duration::from_secs(10);
/// The bound of rule L13: a halt takes effect within this.
const TAKES_EFFECT: Duration = Duration::from_secs(5);

fn feed(items: &[(&str, &str)]) -> Reply {
    let published = chrono::Utc::now().to_rfc2822();
    let body: String = items
        .iter()
        .map(|(id, text)| {
            format!(
                "<item><guid>{id}</guid><title>Bericht {id}</title><link>https://forum.example/{id}</link>\
                 <description>{text}</description><pubDate>{published}</pubDate></item>"
            )
        })
        .collect();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Forum</title>\
         <link>https://forum.example/</link><description>t</description>{body}</channel></rss>"
    );
    Reply::Feed { body: xml.into_bytes(), content_type: "application/rss+xml", etag: None }
}

const CALL: (&str, &str) = (
    "oproep-1",
    "Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en steek de \
     containers in brand. Oorlog maken met de politie.",
);

/// The halt lines of the audit log: (action, who, reason, refused).
fn halt_records(install: &Install) -> Vec<(String, String, String, Option<String>)> {
    let log = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).unwrap_or_default();
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["action"] == "halt" || r["action"] == "resume")
        .map(|r| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&r["action"]),
                text(&r["who"]),
                text(&r["filters"]["reason"]),
                r["refused"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn metric(daemon: &crate::support::Daemon, name: &str) -> Option<f64> {
    let (_, body) = daemon.get("/metrics")?;
    body.lines().find_map(|l| l.strip_prefix(&format!("{name} ")).and_then(|v| v.trim().parse().ok()))
}

/// Fetches of the feed answered after `after`.
fn fetches_after(server: &FeedServer, after: Instant) -> usize {
    server.seen("/forum.xml").iter().filter(|s| s.at > after).count()
}

#[test]
fn a_halt_stops_fetching_and_mail_survives_a_restart_and_resume_catches_up() {
    let server = FeedServer::start();
    server.route("/forum.xml", feed(&[CALL]));
    let install = Install::new(&[("forum-regio", server.url("/forum.xml"))]);
    // The relay is down at first: the officer's mail waits in the outbox.
    let smtp_port = free_port();
    install.shipped_alert_chain(
        smtp_port,
        &format!("[[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n"),
    );
    let supervisor = install.add_token("sv-regio", "supervisor");
    let officer = install.add_token("oov-utrecht", "officer");
    let token_file = install.dir.path().join("supervisor.token");
    write_secret(&token_file, &supervisor);
    let token = token_file.to_str().expect("path");

    let daemon = install.start();
    assert_eq!(install.wait_count("vuurwerk", 1, Duration::from_secs(30)), 1, "the call is archived");
    assert!(
        holds_within(Duration::from_secs(30), || {
            daemon
                .get_as("/api/v1/alerts", Some(&officer))
                .is_some_and(|(s, b)| s == 200 && b.contains("oproep-tot-geweld"))
        }),
        "the call fired its alert; log:\n{}",
        daemon.stderr()
    );
    assert_eq!(metric(&daemon, "onrust_halted"), Some(0.0));

    // Refused: an officer may not halt (403, on record), an empty reason is a 400.
    let (status, body) = daemon.post_as("/api/v1/halt", &officer, r#"{"reason": "even niet"}"#).expect("answer");
    assert_eq!(status, 403, "{body}");
    let (status, body) = daemon.post_as("/api/v1/halt", &supervisor, r#"{"reason": "  "}"#).expect("answer");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("reason"), "says what is wrong: {body}");
    let cli = install.cli(&["halt", "--reason", "", "--token-file", token]);
    assert!(!cli.status.success(), "an empty reason is refused by the CLI too");
    assert!(String::from_utf8_lossy(&cli.stderr).contains("400"), "{}", String::from_utf8_lossy(&cli.stderr));
    assert_eq!(metric(&daemon, "onrust_halted"), Some(0.0), "nothing changed");

    // Halt through the CLI.
    // From when the call is made: the 5 s bound counts from there.
    let halted_at = Instant::now();
    let halt = install.cli(&["halt", "--reason", "DPIA wordt herzien", "--token-file", token]);
    assert!(halt.status.success(), "{}", String::from_utf8_lossy(&halt.stderr));
    let said = String::from_utf8_lossy(&halt.stdout);
    assert!(said.contains("onrust is halted since") && said.contains("sv-regio"), "{said}");
    // The relay comes up: from now on only the halt keeps the mail back.
    let sink = SmtpSink::start_on(smtp_port, &[]);
    // Published during the halt.
    server.route(
        "/forum.xml",
        feed(&[
            CALL,
            ("stil-1", "Zaterdag een optocht in Utrecht, kenmerk stiltebericht een"),
            ("stil-2", "Zondag een optocht in Amersfoort, kenmerk stiltebericht twee"),
        ]),
    );
    std::thread::sleep(TAKES_EFFECT + POLL + Duration::from_secs(3));
    assert_eq!(fetches_after(&server, halted_at + TAKES_EFFECT), 0, "no fetch later than 5 s after the halt");
    assert!(sink.mails().is_empty(), "no mail while halted, though the relay is up");
    assert_eq!(install.count("stiltebericht"), 0, "nothing published during the halt is read yet");
    let (status, ready) = daemon.get("/readyz").expect("readyz");
    assert_eq!(status, 200, "a halted onrust stays reachable: {ready}");
    assert!(ready.contains("halted since") && ready.contains("sv-regio"), "{ready}");
    assert_eq!(metric(&daemon, "onrust_halted"), Some(1.0));
    let (status, state) = daemon.get_as("/api/v1/halt", Some(&supervisor)).expect("state");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&state).expect("json");
    assert_eq!((state["halted"].as_bool(), state["last"]["by"].as_str()), (Some(true), Some("sv-regio")), "{state}");
    assert_eq!(state["last"]["reason"], "DPIA wordt herzien");
    assert_eq!(daemon.get_as("/api/v1/halt", Some(&officer)).expect("answer").0, 403);
    // Search still works while halted: only ingestion and alerting stop.
    assert_eq!(install.count("vuurwerk"), 1);

    // A restart while halted starts halted.
    assert_eq!(daemon.terminate().0, Some(0), "a halted daemon stops cleanly");
    let restarted_at = Instant::now();
    let daemon = install.start();
    let (status, ready) = daemon.get("/readyz").expect("readyz");
    assert!(status == 200 && ready.contains("halted since"), "{status} {ready}");
    assert_eq!(metric(&daemon, "onrust_halted"), Some(1.0));
    let health = install.cli(&["health"]);
    let said = String::from_utf8_lossy(&health.stdout);
    assert!(health.status.success() && said.contains("halted since"), "healthy, and says halted: {said}");
    let status = install.cli(&["halt", "--status", "--token-file", token]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("halted since"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    // A source that runs fetches as soon as it starts.
    std::thread::sleep(TAKES_EFFECT);
    assert_eq!(fetches_after(&server, restarted_at), 0, "no fetch after a restart while halted");
    assert!(sink.mails().is_empty(), "no mail after a restart while halted, though the mail is due");
    assert!(daemon.stderr().contains("onrust is halted"), "the log says so at start:\n{}", daemon.stderr());

    // Resume through the CLI: what was published meanwhile is read, the held mail goes.
    let resumed_at = Instant::now();
    let resume = install.cli(&["resume", "--reason", "DPIA goedgekeurd", "--token-file", token]);
    assert!(resume.status.success(), "{}", String::from_utf8_lossy(&resume.stderr));
    assert!(
        String::from_utf8_lossy(&resume.stdout).contains("runs again"),
        "{}",
        String::from_utf8_lossy(&resume.stdout)
    );
    assert_eq!(
        install.wait_count("stiltebericht", 2, Duration::from_secs(30)),
        2,
        "both items published during the halt"
    );
    assert!(fetches_after(&server, resumed_at) > 0);
    let mail = sink.wait_for(Duration::from_secs(60), |m| m.rcpt_tos().iter().any(|r| r == OFFICER));
    let mail = mail.unwrap_or_else(|| panic!("the held mail did not go after the resume; log:\n{}", daemon.stderr()));
    assert!(mail.meta["subject"].as_str().is_some_and(|s| s.contains("oproep-tot-geweld")), "{:?}", mail.meta);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.mails().len(), 1, "the held mail went once");
    assert_eq!(install.count("vuurwerk"), 1, "the call was not archived twice");
    assert_eq!(metric(&daemon, "onrust_halted"), Some(0.0));
    assert_eq!(daemon.get("/readyz").expect("readyz").1, "ready\n");

    // On record, with who and why; the refused ones too.
    let records = halt_records(&install);
    let done: Vec<(&str, &str, &str)> =
        records.iter().filter(|r| r.3.is_none()).map(|(a, w, r, _)| (a.as_str(), w.as_str(), r.as_str())).collect();
    assert_eq!(done, [("halt", "sv-regio", "DPIA wordt herzien"), ("resume", "sv-regio", "DPIA goedgekeurd")]);
    let refused: Vec<&str> = records.iter().filter(|r| r.3.is_some()).map(|r| r.1.as_str()).collect();
    assert_eq!(
        refused,
        ["oov-utrecht", "sv-regio", "sv-regio"],
        "the officer's 403 and both empty reasons: {records:?}"
    );
    let day = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    let (since, until) =
        (day(chrono::Utc::now() - chrono::TimeDelta::days(1)), day(chrono::Utc::now() + chrono::TimeDelta::days(1)));
    let report = install.cli(&["audit", "report", "--since", &since, "--until", &until]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("## Stilleggen en hervatten"), "{report}");
    assert!(
        report.contains("| stilgelegd | DPIA wordt herzien |") && report.contains("| hervat | DPIA goedgekeurd |"),
        "{report}"
    );
    let csv = install.cli(&["audit", "report", "--since", &since, "--until", &until, "--csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(csv.lines().any(|l| l.contains("\"halt\"") && l.contains("\"DPIA wordt herzien\"")), "{csv}");
    assert_eq!(daemon.terminate().0, Some(0));
}

/// On Kafka every role is a process of its own; the processes on one machine
/// share the data dir, and each follows its `halt.json` every second. A
/// halt through the API of one (here the archive's) stops the sources of
/// another (the ingest process) within 5 s, and a resume through the ingest
/// process's own API starts them again from their cursors.
#[test]
fn on_kafka_a_halt_through_one_process_stops_the_ingest_process_that_shares_the_data_dir() {
    let broker = Broker::start();
    let server = FeedServer::start();
    server.route("/forum.xml", feed(&[("k-1", "Zaterdag een optocht in Utrecht, kenmerk kafkavoor")]));
    let install = Install::new(&[("forum-regio", server.url("/forum.xml"))]);
    install.use_kafka(&broker.brokers(), 2);
    let supervisor = install.add_token("sv-regio", "supervisor");

    let store = install.start_roles(&["classify", "archive", "web"]);
    let ingest = install.start_roles(&["ingest"]);
    assert_eq!(install.wait_count("kafkavoor", 1, Duration::from_secs(120)), 1, "{}", ingest.stderr());

    let halted_at = Instant::now();
    let (status, body) =
        store.post_as("/api/v1/halt", &supervisor, r#"{"reason": "storing bij de broker"}"#).expect("answer");
    assert_eq!(status, 200, "{body}");
    assert!(
        holds_within(TAKES_EFFECT, || metric(&ingest, "onrust_halted") == Some(1.0)),
        "the ingest process follows the halt file: {}",
        ingest.stderr()
    );
    server.route(
        "/forum.xml",
        feed(&[
            ("k-1", "Zaterdag een optocht in Utrecht, kenmerk kafkavoor"),
            ("k-2", "Zondag een optocht in Utrecht, kenmerk kafkatijdens"),
        ]),
    );
    std::thread::sleep(TAKES_EFFECT + POLL + Duration::from_secs(3));
    assert_eq!(fetches_after(&server, halted_at + TAKES_EFFECT), 0, "no fetch later than 5 s after the halt");
    assert_eq!(install.count("kafkatijdens"), 0);
    assert!(ingest.stderr().contains("source stopped: onrust is halted"), "{}", ingest.stderr());

    let (status, body) =
        ingest.post_as("/api/v1/resume", &supervisor, r#"{"reason": "broker hersteld"}"#).expect("answer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(install.wait_count("kafkatijdens", 1, Duration::from_secs(120)), 1, "read after the resume");
    assert_eq!(install.count("kafkavoor"), 1, "once");
    assert!(holds_within(TAKES_EFFECT, || metric(&store, "onrust_halted") == Some(0.0)), "the other process follows");
    for daemon in [ingest, store] {
        let log = daemon.stderr();
        assert_eq!(daemon.terminate().0, Some(0), "a clean stop:\n{log}");
    }
}
