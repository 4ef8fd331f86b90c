//! Mandates (rule L5) against the real daemon: check-config refuses a source
//! outside its mandate and names both; only the sources and rules of a
//! mandate in force run; an alert, its mail and the audit records carry the
//! mandate; a search no mandate covers is refused and audited; the shipped
//! configuration's trial mandate starts on a fresh data directory, and the
//! FG's report lists the mandate change.

use std::time::Duration;

use crate::support::{
    FeedServer, Install, Reply, SmtpSink, amsterdam_today, free_port, holds_within, mandate_block, run_shipped_in,
};

const OFFICER: &str = "oov@utrecht.example";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A call to throw fireworks at the police in Utrecht (level 3 with the shipped lexicons).
fn call_to_violence() -> Vec<u8> {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Forum</title>\
     <link>https://forum.example/</link><description>test</description>\
     <item><guid>v1</guid><title>Vuurwerk op de ME</title><link>https://forum.example/v1</link>\
     <description>Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en steek \
     de containers in brand. Oorlog maken met de politie.</description>\
     <pubDate>Wed, 30 Dec 2026 22:05:00 +0100</pubDate></item></channel></rss>"
        .as_bytes()
        .to_vec()
}

fn audit_records(install: &Install) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn check_config_and_run_refuse_a_source_outside_its_mandate_naming_entry_and_mandate() {
    let install = Install::new(&[("nieuws", "https://example.org/nieuws.xml".to_owned())]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(
        &install.config,
        format!(
            "{config}{}[[sources]]\nmandate = \"utrecht\"\nid = \"amersfoort\"\nkind = \"feed\"\n\
             url = \"https://example.org/a.xml\"\nmunicipalities = [\"GM0307\"]\n\
             [[sources]]\nid = \"zonder\"\nkind = \"feed\"\nurl = \"https://example.org/z.xml\"\n\
             [[sources]]\nmandate = \"voorbij\"\nid = \"oud\"\nkind = \"feed\"\nurl = \"https://example.org/o.xml\"\n{}",
            mandate_block("utrecht", "2020-01-01", "2099-12-31", "municipalities = [\"GM0344\"]\n"),
            mandate_block("voorbij", "2020-01-01", "2020-12-31", ""),
        ),
    )
    .expect("config");
    for command in [vec!["check-config"], vec!["run"]] {
        let out = install.cli(&command);
        assert_eq!(out.status.code(), Some(1), "{command:?} refuses: {}", stdout(&out));
        let err = stderr(&out);
        for needle in [
            "3 problems",
            "sources[1].municipalities: GM0307 outside mandate \"utrecht\"",
            "sources[2].mandate: missing",
            "sources[3].mandate: mandate \"voorbij\" ended on 2020-12-31",
        ] {
            assert!(err.contains(needle), "{command:?}: missing {needle:?} in:\n{err}");
        }
    }
    assert!(!install.data_dir().join("archive").exists(), "run refused before it opened anything");
}

#[test]
fn only_a_mandate_in_force_runs_and_its_alerts_searches_and_audit_records_carry_it() {
    let sink = SmtpSink::start(&[]);
    let server = FeedServer::start();
    server.route(
        "/nu.xml",
        Reply::Feed { body: call_to_violence(), content_type: "application/rss+xml", etag: Some("\"v1\"".into()) },
    );
    server.route(
        "/later.xml",
        Reply::Feed { body: call_to_violence(), content_type: "application/rss+xml", etag: Some("\"v1\"".into()) },
    );
    let install = Install::new(&[("nu", server.url("/nu.xml"))]);
    // The installation's own mandate covers feeds only; "later" starts in 2098.
    let config = std::fs::read_to_string(&install.config)
        .expect("config")
        .replace("end = 2099-12-31\n", "end = 2099-12-31\nsource_kinds = [\"feed\"]\n");
    std::fs::write(
        &install.config,
        format!(
            "{config}[[sources]]\nmandate = \"later\"\nid = \"later\"\nkind = \"feed\"\nurl = {later:?}\ninterval = \"10s\"\n\
             {block}[alerts]\nevaluate_interval = \"1s\"\nregion_name = \"Midden-Nederland\"\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"onrust@regio.example\"\ntimeout = \"5s\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n\
             [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\ngroup_wait = \"0s\"\n\
             [[rules]]\nmandate = \"later\"\nname = \"later-geweld\"\nkind = \"critical\"\nmin_level = 3\ngroup_wait = \"0s\"\n",
            later = server.url("/later.xml"),
            block = mandate_block("later", "2098-01-01", "2099-12-31", ""),
            port = sink.port,
        ),
    )
    .expect("config");
    let check = install.cli(&["check-config"]);
    assert!(check.status.success(), "{}", stderr(&check));
    let explained = stdout(&check);
    assert!(explained.contains("not in force yet: from 2098-01-01 to 2099-12-31"), "{explained}");
    assert!(explained.contains("source kinds: feed"), "the scope is shown: {explained}");
    let analyst = install.add_token("analist", "analyst");
    let officer = install.add_token("oov-utrecht", "officer");
    let daemon = install.start();

    let mail = sink.wait_for(Duration::from_secs(30), |m| m.rcpt_tos().iter().any(|r| r == OFFICER));
    let mail = mail.unwrap_or_else(|| panic!("no mail for the officer; daemon log:\n{}", daemon.stderr()));
    assert!(mail.text.contains("Mandaat: test"), "the mail names the mandate:\n{}", mail.text);
    assert!(!server.seen("/nu.xml").is_empty(), "the source of the mandate in force is fetched");
    assert!(server.seen("/later.xml").is_empty(), "a source whose mandate has not started is not fetched");

    // The alert carries its mandate in the API; the rule of "later" made none.
    let (status, body) = daemon.get_as("/api/v1/alerts", Some(&officer)).expect("alerts");
    assert_eq!(status, 200, "{body}");
    let alerts: serde_json::Value = serde_json::from_str(&body).expect("json");
    let alerts = alerts["alerts"].as_array().expect("alerts").clone();
    assert!(!alerts.is_empty(), "{body}");
    assert!(alerts.iter().all(|a| a["mandate"] == "test" && a["rule"] == "oproep-tot-geweld"), "{body}");
    let fingerprint = alerts[0]["fingerprint"].as_str().expect("fingerprint").to_owned();
    let (status, _) = daemon.get_as(&format!("/api/v1/alerts/{fingerprint}"), Some(&officer)).expect("show");
    assert_eq!(status, 200);

    // The gauge shows both mandates' days left.
    let (_, metrics) = daemon.get("/metrics").expect("metrics");
    let days = |id: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("onrust_mandate_days_left{{mandate=\"{id}\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no days left for {id}:\n{metrics}"))
    };
    assert!(days("test") > 20_000.0 && days("later") > days("test") - 1.0, "{metrics}");

    // A search carries the mandate that covers it; one outside every mandate is refused, and both are audited.
    let (status, body) = daemon.get_as("/api/v1/search?q=vuurwerk", Some(&analyst)).expect("search");
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        daemon.get_as("/api/v1/search?q=vuurwerk&source_kind=telegram", Some(&analyst)).expect("search");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("no mandate in force covers this search"), "{body}");
    drop(daemon);

    let records = audit_records(&install);
    let searches: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["action"] == "search" && r["who"] == "analist").collect();
    assert_eq!(searches.len(), 2, "{records:#?}");
    assert_eq!(searches[0]["mandates"], serde_json::json!(["test"]), "{:#?}", searches[0]);
    assert!(searches[1]["mandates"].is_null() && searches[1]["refused"].is_string(), "{:#?}", searches[1]);
    let shown = records.iter().find(|r| r["action"] == "alerts_show").expect("the alert was shown");
    assert_eq!(shown["mandates"], serde_json::json!(["test"]), "an alert action carries the alert's mandate");
    // Both mandates were recorded as added at the first start.
    let changes: Vec<(String, String)> = records
        .iter()
        .filter(|r| r["action"] == "mandate_change")
        .map(|r| {
            (
                r["filters"]["mandate"].as_str().unwrap_or("").to_owned(),
                r["filters"]["change"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(changes, [("test".to_owned(), "added".to_owned()), ("later".to_owned(), "added".to_owned())]);
    let verify = install.cli(&["audit", "verify"]);
    assert!(verify.status.success(), "the chain holds with the new field: {}", stderr(&verify));

    // The CLI search too: covered, and refused outside every mandate.
    let out = install.cli(&["search", "vuurwerk", "--count"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = install.cli(&["search", "vuurwerk", "--source-kind", "mastodon", "--count"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no mandate in force covers this search"), "{}", stderr(&out));
    let records = audit_records(&install);
    let cli: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["action"] == "search" && r["who"].as_str().is_some_and(|w| w.starts_with("cli:")))
        .collect();
    assert_eq!(cli.len(), 2, "{records:#?}");
    assert_eq!(cli[0]["mandates"], serde_json::json!(["test"]));
    assert!(cli[1]["refused"].as_str().is_some_and(|r| r.contains("rule L5")), "{:#?}", cli[1]);
}

#[test]
fn the_shipped_trial_mandate_starts_on_a_fresh_data_directory_and_the_report_lists_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    // The shipped config's data_dir is relative to its own folder (dir/config), not to the working directory.
    let daemon = run_shipped_in(dir.path(), port);
    let log = || std::fs::read_to_string(&daemon.stderr_path).unwrap_or_default();
    assert!(
        holds_within(Duration::from_secs(10), || log().contains("TRIAL")),
        "the start log says it is a trial:\n{}",
        log()
    );
    let today = amsterdam_today();
    let ends = today + chrono::Days::new(29);
    assert!(log().contains(&ends.to_string()), "and when it ends ({ends}):\n{}", log());
    let (_, metrics) = daemon.get("/metrics").expect("metrics");
    assert!(metrics.contains("onrust_mandate_days_left{mandate=\"trial\"} 29"), "{metrics}");
    drop(daemon);

    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("data/mandates.json")).expect("the record"))
            .expect("json");
    assert_eq!(record["trial_started"], today.to_string(), "the first trial day is recorded: {record}");

    let cli = |args: &[&str]| {
        std::process::Command::new(crate::support::onrust_bin())
            .args(args)
            .arg("--config")
            .arg(dir.path().join("config/onrust.toml"))
            .current_dir(dir.path())
            .output()
            .expect("run")
    };
    let check = cli(&["check-config"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stdout(&check).contains(&format!("TRIAL (since {today})")), "{}", stdout(&check));
    let (since, until) = ((today - chrono::Days::new(1)).to_string(), (today + chrono::Days::new(1)).to_string());
    let out = cli(&["audit", "report", "--since", &since, "--until", &until]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    let section = report.split("## Wijzigingen van mandaten").nth(1).unwrap_or_else(|| panic!("{report}"));
    let row = section.lines().find(|l| l.contains("| trial (proef) |")).unwrap_or_else(|| panic!("{report}"));
    assert!(row.contains("| toegevoegd |") && row.contains(&ends.to_string()), "{row}");
    assert!(!report.contains("wijzigingen van mandaten en"), "the old sentence is gone: {report}");
    let csv = stdout(&cli(&["audit", "report", "--since", &since, "--until", &until, "--csv"]));
    assert!(csv.lines().any(|l| l.contains("\"mandate_change\"") && l.ends_with(";\"trial\";\"\"")), "{csv}");
}
