//! Retention per data class (rule L6) in the running daemon: what outlived
//! its period leaves the audit log, the notification log and the dead
//! letters at start, each
//! removal is on record first, and the audit log still verifies afterwards.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use onrust_audit::{AuditEntry, AuditRecord};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::support::{FeedServer, Install, Reply, amsterdam_today, holds_within, rss};

/// Rewrites the log's records as if written at `at`, each chained as the
/// log chains them (SHA-256 of the previous hash, a newline and the record's
/// JSON), and seals the newest in the checkpoint. That this verifies is part
/// of the test: the hash format is the log's contract with its readers.
fn date_records(path: &Path, at: DateTime<Utc>) {
    #[derive(Serialize)]
    struct Hashed<'a> {
        seq: u64,
        at: &'a DateTime<Utc>,
        entry: &'a AuditEntry,
        prev: &'a str,
    }
    let text = std::fs::read_to_string(path).expect("audit log");
    let mut prev = onrust_audit::GENESIS.to_owned();
    let mut lines = Vec::new();
    let mut last = None;
    for line in text.lines() {
        let mut record: AuditRecord = serde_json::from_str(line).expect("record");
        record.at = at;
        record.prev = prev.clone();
        let body = serde_json::to_vec(&Hashed { seq: record.seq, at: &record.at, entry: &record.entry, prev: &prev })
            .expect("json");
        let mut hasher = Sha256::new();
        hasher.update(prev.as_bytes());
        hasher.update(b"\n");
        hasher.update(&body);
        record.hash = hex::encode(hasher.finalize());
        prev = record.hash.clone();
        lines.push(serde_json::to_string(&record).expect("json"));
        last = Some(record);
    }
    std::fs::write(path, lines.join("\n") + "\n").expect("rewrite");
    let last = last.expect("records");
    let checkpoint = serde_json::json!({ "seq": last.seq, "hash": last.hash });
    std::fs::write(onrust_audit::checkpoint_path(path), checkpoint.to_string()).expect("checkpoint");
}

/// One notification log entry, as the outbox writes them.
fn log_entry(time: &str, address: &str) -> String {
    serde_json::json!({
        "time": time, "fingerprint": "3f9a0c1e7a", "sequence": 1, "rule": "oproep-tot-geweld",
        "channel": "email", "role": "officer", "address": address, "attempt": 1,
        "outcome": "sent", "code": 250, "message": "ok"
    })
    .to_string()
}

#[test]
fn the_daemon_removes_what_outlived_each_class_and_records_it_first() {
    let server = FeedServer::start();
    server.route("/een.xml", Reply::Feed { body: rss("een", 1), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("een", server.url("/een.xml"))]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(
        &install.config,
        format!("{config}[retention]\naudit_log = \"90days\"\nnotification_log = \"30days\"\n"),
    )
    .expect("config");

    // An archive to search, three searches two years ago, one now.
    let replay = install.dir.path().join("replay.jsonl");
    std::fs::write(&replay, r#"{"id":"b-1","text":"een bericht over boeren op de snelweg"}"#).expect("replay file");
    assert!(install.cli(&["replay", replay.to_str().expect("utf-8 path")]).status.success());
    for query in ["boeren", "vuurwerk", "azc"] {
        assert!(install.cli(&["search", query]).status.success());
    }
    let audit = install.data_dir().join("audit/audit.jsonl");
    let old = std::fs::read_to_string(&audit).expect("audit log").lines().count() as u64;
    assert!(old >= 3, "the searches are on record");
    let two_years_ago: DateTime<Utc> = "2024-12-01T10:00:00Z".parse().expect("time");
    date_records(&audit, two_years_ago);
    assert!(install.cli(&["audit", "verify"]).status.success(), "the dated log is a valid chain");
    assert!(install.cli(&["search", "stikstof"]).status.success());

    // Who was told what: once two years ago, once yesterday.
    let alerts = install.data_dir().join("alerts");
    std::fs::create_dir_all(&alerts).expect("alerts folder");
    let yesterday = (Utc::now() - chrono::TimeDelta::days(1)).to_rfc3339();
    let log = alerts.join("notifications.jsonl");
    std::fs::write(
        &log,
        format!(
            "{}\n{}\n",
            log_entry("2024-12-01T10:00:00Z", "oud@utrecht.example"),
            log_entry(&yesterday, "nieuw@utrecht.example")
        ),
    )
    .expect("notification log");

    // Dead letters: one refused a year ago, one from before letters were dated.
    let old_letter = serde_json::json!({
        "schema": 1, "reason": "not a raw message", "origin": {"topic": "onrust.raw.v1", "partition": 0, "offset": 7},
        "key": "een", "payload": "{\"text\": \"een heel oud bericht\"", "at": "2025-12-01T10:00:00Z"
    });
    let undated = serde_json::json!({
        "schema": 1, "reason": "not a raw message", "origin": {"topic": "onrust.raw.v1", "partition": 0, "offset": 8},
        "key": "een", "payload": "{\"text\": \"zonder datum\""
    });
    let letters = install.data_dir().join("deadletter.jsonl");
    std::fs::write(&letters, format!("{old_letter}\n{undated}\n")).expect("dead letters");

    let daemon = install.start();
    let recorded = |class: &str| {
        std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<AuditRecord>(l).ok())
            .find(|r| r.entry.action == "retention_delete" && r.entry.filters["class"] == class)
    };
    assert!(
        holds_within(Duration::from_secs(60), || {
            recorded("audit_log").is_some()
                && recorded("notification_log").is_some()
                && recorded("dead_letters").is_some()
        }),
        "every removal on record: {}",
        std::fs::read_to_string(&audit).unwrap_or_default()
    );

    let cut = recorded("audit_log").expect("the audit log's cut");
    assert_eq!(cut.entry.hits, Some(old), "the old records");
    assert_eq!((&cut.entry.filters["first_seq"], &cut.entry.filters["through_seq"]), (&0.into(), &(old - 1).into()));
    let kept: Vec<AuditRecord> = std::fs::read_to_string(&audit)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    assert_eq!(kept[0].seq, old, "the log now starts with the search made today");
    assert_eq!(kept[0].entry.query.as_deref(), Some("stikstof"));
    assert!(kept.iter().all(|r| r.at > two_years_ago), "nothing older is left");
    let verified = install.cli(&["audit", "verify"]);
    assert!(verified.status.success(), "the cut log verifies: {}", String::from_utf8_lossy(&verified.stderr));

    // Each class is recorded first and cut right after, by its own task (the
    // notification log by the alert stage): the cut may land just after the
    // last record.
    let notifications = recorded("notification_log").expect("the notification log's record");
    assert_eq!(notifications.entry.hits, Some(1));
    let cut_within = |path: &Path, gone: &str| {
        holds_within(Duration::from_secs(10), || std::fs::read_to_string(path).is_ok_and(|left| !left.contains(gone)))
    };
    let left_after = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    assert!(cut_within(&log, "oud@utrecht.example"), "the old entry went: {}", left_after(&log));
    let left = left_after(&log);
    assert!(left.contains("nieuw@utrecht.example"), "the new entry stays: {left}");

    assert_eq!(recorded("dead_letters").expect("the dead letters' record").entry.hits, Some(1));
    assert!(cut_within(&letters, "een heel oud bericht"), "the old letter went: {}", left_after(&letters));
    let left = left_after(&letters);
    let dated: serde_json::Value =
        serde_json::from_str(left.lines().next().expect("the undated letter")).expect("json");
    assert!(dated["payload"].as_str().is_some_and(|p| p.contains("zonder datum")) && dated["at"].is_string(), "{left}");

    let (_, metrics) = daemon.get("/metrics").expect("metrics");
    for line in [
        format!("onrust_retention_removed_total{{class=\"audit_log\"}} {old}"),
        "onrust_retention_removed_total{class=\"notification_log\"} 1".to_owned(),
        "onrust_retention_removed_total{class=\"dead_letters\"} 1".to_owned(),
    ] {
        assert!(metrics.contains(&line), "{line}");
    }

    // The FG's report says what went and that it cannot speak of the time before the cut.
    let today = amsterdam_today().to_string();
    let report = install.cli(&["audit", "report", "--since", "2024-11-01", "--until", &today]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("Het auditlog begint op") && report.contains("bewaartermijn voorbij"), "{report}");
    assert!(report.contains(&format!("| auditlog | ouder dan de bewaartermijn | {old} |")), "{report}");
    assert!(report.contains("| notificatielog | ouder dan de bewaartermijn | 1 |"), "{report}");
    assert!(report.contains("| niet verwerkte berichten | ouder dan de bewaartermijn | 1 |"), "{report}");
    drop(daemon);
}
