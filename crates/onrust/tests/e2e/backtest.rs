//! `onrust backtest` end to end: an archive written with known messages
//! (through `onrust_archive::ArchiveWriter`, so every time is exact), rules
//! in the configuration or a rules file, and the alerts the CLI reports.

use crate::support::Install;
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use onrust_archive::{ArchiveOptions, ArchiveWriter};
use onrust_model::{Level, ScoredMessage, SourceKind};
use onrust_testkit::scored_message;

/// A pseudonym that must never appear in any output (L1).
const CANARY: &str = "c0ffee00backtestcanary00c0ffee00";

const RULES: &str = "\n[[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\n\
     [[rules]]\nmandate = \"test\"\nname = \"aankondiging\"\nkind = \"announcement\"\nmin_level = 2\n";

fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).single().expect("time")
}

fn message(id: &str, text: &str, fetched: DateTime<Utc>, level: Level, event: Option<DateTime<Utc>>) -> ScoredMessage {
    let offset = FixedOffset::east_opt(3600).expect("offset");
    let message = scored_message(id)
        .source("telegram-test")
        .source_kind(SourceKind::Telegram)
        .text(text)
        .fetched_at(fetched)
        .published_at((fetched - chrono::TimeDelta::minutes(2)).with_timezone(&offset))
        .author(CANARY)
        .lang_hint("nl")
        .level(level)
        .score(match level {
            Level::Escalation => 0.92,
            Level::Mobilisation => 0.7,
            _ => 0.1,
        })
        .theme(if event.is_some() { "demonstratie" } else { "jaarwisseling" })
        .municipality("GM0344");
    match event {
        Some(event) => message.event_time(event.with_timezone(&offset)),
        None => message,
    }
    .build()
}

/// An install whose archive holds: a call to violence on Tuesday 3 November
/// 20:00 UTC, a demonstration on Saturday 7 November 13:00 UTC announced on
/// Wednesday and again on Thursday, and a level-0 message.
fn install_with_archive() -> Install {
    let install = Install::new(&[]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(&install.config, format!("{config}{RULES}")).expect("config");
    let options = ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() };
    let mut writer = ArchiveWriter::open(&install.data_dir().join("archive"), &options).expect("archive");
    let saturday = utc(7, 13, 0);
    for m in [
        message("calm", "Mooi weer vandaag in Utrecht.", utc(3, 19, 0), Level::None, None),
        message(
            "crit",
            "Oudjaarsavond gooien we vuurwerk naar de politie in Utrecht, oorlog maken met de ME.",
            utc(3, 20, 0),
            Level::Escalation,
            None,
        ),
        message(
            "ann1",
            "Zaterdag om 14:00 demonstratie op het Janskerkhof in Utrecht, kom allemaal!",
            utc(4, 10, 0),
            Level::Mobilisation,
            Some(saturday),
        ),
        message(
            "ann2",
            "Herinnering: zaterdag 14:00 demonstratie op het Janskerkhof in Utrecht.",
            utc(5, 9, 0),
            Level::Mobilisation,
            Some(saturday),
        ),
    ] {
        writer.upsert(&m).expect("upsert");
    }
    writer.commit().expect("commit");
    install
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn backtest_reports_the_alerts_the_daemon_would_have_sent_with_lead_times() {
    let install = install_with_archive();
    let out = install.cli(&["backtest", "--since", "2026-11-03", "--until", "2026-11-10", "--json"]);
    assert!(out.status.success(), "backtest failed: {}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains(CANARY), "never a pseudonym (L1)");
    let alerts: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(alerts.len(), 2, "one critical alert and one announcement for two announcements: {text}");

    let critical = &alerts[0];
    assert_eq!(critical["rule"], "oproep-tot-geweld");
    assert_eq!(critical["kind"], "critical");
    assert_eq!(critical["severity"], "critical");
    assert_eq!(critical["municipality"], "GM0344");
    assert_eq!(critical["municipality_name"], "Utrecht");
    assert_eq!(critical["theme"], "jaarwisseling");
    // Fired on arrival; the supervisor is asked to review it for the mayor and
    // the officer told at once (a critical rule waits for no group by
    // default); the resolution is told too.
    assert_eq!(critical["fired_at"], "2026-11-03T20:00:00Z");
    assert_eq!(critical["first_notified_at"], "2026-11-03T20:00:00Z");
    let told: Vec<(&str, &str, &str)> = critical["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| (n["at"].as_str().unwrap_or(""), n["role"].as_str().unwrap_or(""), n["reason"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        told,
        [
            ("2026-11-03T20:00:00Z", "supervisor", "review_requested"),
            ("2026-11-03T20:00:00Z", "officer", "new"),
            ("2026-11-03T21:00:00Z", "officer", "resolved"),
        ],
        "never the mayor: nobody confirms in a backtest"
    );
    assert_eq!(critical["observed"], 1);
    assert_eq!(critical["status_at_end"], "resolved", "a 1 h window and 15 m keep_firing_for end within the week");
    assert!(critical["resolved_at"].as_str().is_some_and(|t| t.starts_with("2026-11-03T21:")), "{critical}");
    assert_eq!(critical["evidence"][0]["message_id"], "crit");

    let announcement = &alerts[1];
    assert_eq!(announcement["rule"], "aankondiging");
    assert_eq!(announcement["kind"], "announcement");
    assert_eq!(announcement["theme"], "demonstratie");
    assert_eq!(announcement["fired_at"], "2026-11-04T10:00:00Z");
    assert_eq!(announcement["first_notified_at"], "2026-11-04T10:00:00Z");
    assert_eq!(announcement["event_time"], "2026-11-07T13:00:00Z");
    assert_eq!(announcement["observed"], 2, "the second announcement joins the first");
    // Event − first notification: 3 days 3 hours.
    assert_eq!(announcement["lead_time_secs"], 3 * 86_400 + 3 * 3600);
    assert_eq!(announcement["first_seen_lead_time_secs"], 3 * 86_400 + 3 * 3600);
    // The place comes from the recomputed assessment (the archive does not store it): the most specific one named.
    assert_eq!(
        announcement["event_place"], "Janskerkhof (plein, Utrecht)",
        "the square, with its tier and municipality"
    );
    assert!(announcement["resolved_at"].as_str().is_some_and(|t| t.starts_with("2026-11-07T19:")), "{announcement}");

    // The human output says the same, with the summary and what is not simulated.
    let out = install.cli(&["backtest", "--since", "2026-11-03", "--until", "2026-11-10"]);
    assert!(out.status.success(), "backtest failed: {}", stderr(&out));
    let human = stdout(&out);
    assert!(!human.contains(CANARY));
    assert!(human.contains("3 archived message(s)"), "the level-0 message is below every rule: {human}");
    assert!(human.contains("not simulated: silences, acknowledgements and review decisions"), "{human}");
    assert!(
        human.contains("2026-11-03 21:00:00 +01:00  critical  oproep-tot-geweld (critical)  Utrecht (GM0344)"),
        "{human}"
    );
    assert!(human.contains("first told 2026-11-03 21:00:00 +01:00 (supervisor, review_requested)"), "{human}");
    assert!(human.contains("lead time 3d 3h; 2 announcement(s)"), "{human}");
    assert!(human.contains("per rule: aankondiging 1, oproep-tot-geweld 1"), "{human}");
    assert!(human.contains("median lead time of 1 announcement(s): 3d 3h"), "{human}");

    // --rule narrows the rules; --municipality the alerts shown.
    let out = install.cli(&[
        "backtest",
        "--since",
        "2026-11-03",
        "--until",
        "2026-11-10",
        "--json",
        "--rule",
        "aankondiging",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(stdout(&out).contains("\"rule\":\"aankondiging\""));
    let out = install.cli(&[
        "backtest",
        "--since",
        "2026-11-03",
        "--until",
        "2026-11-10",
        "--json",
        "--municipality",
        "GM0034",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "no alert about Almere");

    // Every run that read the archive is in the audit log (L7).
    let audit = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("audit log");
    assert_eq!(audit.lines().filter(|l| l.contains("\"action\":\"backtest\"")).count(), 4, "{audit}");
    // Each under the mandate that covers it (rule L5).
    assert!(
        audit.lines().filter(|l| l.contains("\"action\":\"backtest\"")).all(|l| l.contains("\"mandates\":[\"test\"]")),
        "{audit}"
    );
}

#[test]
fn a_candidate_rules_file_is_validated_and_tried_instead_of_the_configuration() {
    let install = install_with_archive();
    let bad = install.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[rules]]\nmandate = \"test\"\nname = \"goed\"\nkind = \"critical\"\n\
         [[rules]]\nmandate = \"test\"\nname = \"te-vaag\"\nkind = \"threshold\"\nwindow = \"eeuwig\"\n",
    )
    .expect("write");
    let out = install.cli(&[
        "backtest",
        "--since",
        "2026-11-03",
        "--until",
        "2026-11-10",
        "--rules",
        bad.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("rules[1] (\"te-vaag\").window"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("goed"), "only the bad rule is named: {}", stderr(&out));
    assert_eq!(stdout(&out), "");

    // A stricter candidate: critical only from score 0.95 — the 0.92 call would not have been sent.
    let strict = install.dir.path().join("strict.toml");
    std::fs::write(
        &strict,
        "[[rules]]\nmandate = \"test\"\nname = \"streng\"\nkind = \"critical\"\nmin_level = 3\nmin_score = 0.95\n",
    )
    .expect("write");
    let out = install.cli(&[
        "backtest",
        "--since",
        "2026-11-03",
        "--until",
        "2026-11-10",
        "--rules",
        strict.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("alerts that would have fired: 0"), "{}", stdout(&out));
    assert!(stdout(&out).contains("per rule: streng 0"), "{}", stdout(&out));

    // Bad arguments are refused with 2 as well.
    for args in [
        &["backtest", "--since", "2026-11-10", "--until", "2026-11-03"][..],
        &["backtest", "--since", "2026-11-03", "--until", "2026-11-10", "--rule", "bestaat-niet"][..],
        &["backtest", "--since", "gisteren", "--until", "2026-11-10"][..],
    ] {
        let out = install.cli(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_period_without_data_says_so_and_reports_no_alerts() {
    let install = install_with_archive();
    let out = install.cli(&["backtest", "--since", "2026-10-01", "--until", "2026-10-08"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("no archived messages in this period"), "{text}");
    assert!(text.contains("alerts that would have fired: 0"), "{text}");
    let out = install.cli(&["backtest", "--since", "2026-10-01", "--until", "2026-10-08", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

/// A backtest reads the archive's content: without an audit record it refuses (L7).
#[test]
fn without_an_audit_record_the_backtest_refuses() {
    let install = install_with_archive();
    // A directory where the log file should be: every append fails.
    std::fs::create_dir_all(install.data_dir().join("audit/audit.jsonl")).expect("block the audit log");
    let out = install.cli(&["backtest", "--since", "2026-11-03", "--until", "2026-11-10", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write the audit log"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing from the archive is shown");
}

/// A burst is judged against the archive's own earlier weeks, as the daemon
/// judges it: one message an evening for four weeks, then twelve in half an
/// hour, is one burst alert with the baseline as expected.
#[test]
fn a_burst_is_judged_against_the_archives_earlier_weeks() {
    let install = Install::new(&[]);
    let rules = "\n[[rules]]\nmandate = \"test\"\nname = \"ongewone-drukte\"\nkind = \"burst\"\nmin_level = 2\nwindow = \"1h\"\ncount = 5\n";
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(&install.config, format!("{config}{rules}")).expect("config");
    let options = ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() };
    let mut writer = ArchiveWriter::open(&install.data_dir().join("archive"), &options).expect("archive");
    let stikstof = |id: String, at: DateTime<Utc>| {
        let mut m =
            message(&id, "Boeren protesteren tegen het stikstofbeleid in Utrecht.", at, Level::Mobilisation, None);
        m.assessment.themes = vec!["stikstof".into()];
        m
    };
    // Tuesdays 6, 13, 20 and 27 October 2026 at 20:10 UTC: one message each.
    for (week, day) in [(1, 6), (2, 13), (3, 20), (4, 27)] {
        let at = Utc.with_ymd_and_hms(2026, 10, day, 20, 10, 0).single().expect("time");
        writer.upsert(&stikstof(format!("base{week}"), at)).expect("upsert");
    }
    // Tuesday 3 November: twelve between 20:00 and 20:22.
    for i in 0..12 {
        writer.upsert(&stikstof(format!("burst{i}"), utc(3, 20, 2 * i))).expect("upsert");
    }
    writer.commit().expect("commit");
    // Six hours keep the test short: every round asks the archive for four baseline windows.
    let period = ["--since", "2026-11-03T18:00:00Z", "--until", "2026-11-04T00:00:00Z"];
    let out = install.cli(&[&["backtest", "--json"][..], &period[..]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let alerts: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(alerts.len(), 1, "{}", stdout(&out));
    let burst = &alerts[0];
    assert_eq!((burst["rule"].as_str(), burst["kind"].as_str()), (Some("ongewone-drukte"), Some("burst")));
    assert_eq!((burst["municipality"].as_str(), burst["theme"].as_str()), (Some("GM0344"), Some("stikstof")));
    // Fires once the fifth message is in the window: 20:08 arrives, the next round is 20:08:15
    // (rounds every 15 s from --since).
    assert_eq!(burst["fired_at"], "2026-11-03T20:08:15Z");
    let expected = burst["expected"].as_f64().expect("expected");
    assert!(expected > 0.0 && expected < 2.0, "the baseline is about one an hour: {expected}");
    assert_eq!(burst["observed"], 12, "the peak of the window, not its last count");
    assert!(burst["p_value"].as_f64().is_some_and(|p| p < 0.05), "{burst}");
    let human = install.cli(&[&["backtest"][..], &period[..]].concat());
    assert!(stdout(&human).contains("observed 12 vs expected"), "{}", stdout(&human));
}
