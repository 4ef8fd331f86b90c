//! The alert flows beyond the officer's first mail, through the daemon:
//! repeated announcements of one demonstration (one calendar entry, one
//! mail, a signed webhook, what changed in the next mail, the joint summary
//! ahead of it, the mayors' digest after a restart), a burst against the
//! archive's own baseline (fires where the week is unusual, not where the
//! same count is normal), and the review and silence actions from the CLI.

use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, SmtpSink, holds_within, write_secret};
use chrono::{TimeDelta, Utc};
use onrust_archive::{ArchiveOptions, ArchiveWriter};
use onrust_model::{Level, ScoredMessage};
use onrust_testkit::scored_message;

const OFFICER: &str = "oov@utrecht.example";
const MAYOR: &str = "burgemeester@utrecht.example";

/// An RSS feed of (guid, text) items without dates: the daemon reads them
/// at fetch time, so "morgen om 20:00" is always tomorrow evening.
fn feed(items: &[(&str, &str)]) -> Vec<u8> {
    let body: String = items
        .iter()
        .map(|(id, text)| {
            format!(
                "<item><guid>{id}</guid><title>Oproep</title><link>https://forum.example/{id}</link>\
                 <dc:creator>@canary_announcer_9c1</dc:creator><description>{text}</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <channel><title>Forum</title><link>https://forum.example/</link><description>t</description>{body}</channel></rss>"
    )
    .into_bytes()
}

const ANNOUNCEMENTS: [(&str, &str); 3] = [
    ("a1", "Morgen om 20:00 demonstratie op het Domplein in Utrecht tegen de opvang van asielzoekers. Kom allemaal!"),
    (
        "a2",
        "Blokkade: morgen om 20:00 verzamelen op het Domplein in Utrecht, we blokkeren de ingang van het azc. Kom allemaal!",
    ),
    ("a3", "Delen! Morgen om 20:00 iedereen naar het Domplein in Utrecht, demonstratie tegen het azc. Kom allemaal!"),
];

fn subjects(sink: &SmtpSink, to: &str) -> Vec<String> {
    sink.mails()
        .iter()
        .filter(|m| m.rcpt_tos().iter().any(|r| r == to))
        .filter_map(|m| m.meta["subject"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn repeated_announcements_make_one_entry_one_mail_a_signed_webhook_a_summary_and_a_digest() {
    let sink = SmtpSink::start(&[]);
    let server = FeedServer::start();
    let etag = |v: &str| Some(format!("\"{v}\""));
    server.route(
        "/acties.xml",
        Reply::Feed { body: feed(&ANNOUNCEMENTS), content_type: "application/rss+xml", etag: etag("v1") },
    );
    server.route("/hook", Reply::Status { status: 204, headers: vec![], body: vec![] });
    let install = Install::new(&[("forum-utrecht", server.url("/acties.xml"))]);
    let key_file = install.dir.path().join("webhook.key");
    write_secret(&key_file, "sleutel-voor-de-crisiskamer\n");
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(
        &install.config,
        format!(
            "{config}[alerts]\nevaluate_interval = \"1s\"\nregion_name = \"Midden-Nederland\"\ndigest_hour = 0\n\
             summary_lead = \"48h\"\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"onrust@regio.example\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"mayor\"\nemail = \"{MAYOR}\"\n\
             [[webhooks]]\nurl = \"{hook}\"\nsecret_file = {key:?}\nmunicipality = \"GM0344\"\n\
             [[rules]]\nmandate = \"test\"\nname = \"aangekondigde-actie\"\nkind = \"announcement\"\nreview = false\n\
             group_wait = \"2s\"\ngroup_interval = \"1s\"\n",
            port = sink.port,
            hook = server.url("/hook"),
            key = key_file,
        ),
    )
    .expect("config");
    let officer_token = install.add_token("oov-utrecht", "officer");
    let check = install.cli(&["check-config"]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("webhook:      127.0.0.1 for officer GM0344, signed"));

    let daemon = install.start();
    // One announcement mail for three announcements of one action, and the summary ahead of it.
    let announced = |s: &String| s.contains("aangekondigde-actie") && !s.contains("vooraf:");
    assert!(
        holds_within(Duration::from_secs(30), || subjects(&sink, OFFICER).iter().any(announced)),
        "no announcement mail for the officer; log:\n{}",
        daemon.stderr()
    );
    assert!(
        holds_within(Duration::from_secs(15), || {
            subjects(&sink, OFFICER).iter().any(|s| s.contains("vooraf:"))
                && subjects(&sink, MAYOR).iter().any(|s| s.contains("vooraf:"))
        }),
        "no joint summary ahead of the action: officer {:?}, mayor {:?}",
        subjects(&sink, OFFICER),
        subjects(&sink, MAYOR)
    );
    std::thread::sleep(Duration::from_secs(3));
    let officer = subjects(&sink, OFFICER);
    assert_eq!(officer.iter().filter(|s| announced(s)).count(), 1, "one announcement mail: {officer:?}");
    assert_eq!(subjects(&sink, MAYOR).iter().filter(|s| announced(s)).count(), 1, "review = false: the mayor too");
    let mail = sink.mails().into_iter().find(|m| m.rcpt_tos() == [OFFICER]).expect("the officer's mail");
    assert!(mail.text.contains("Domplein"), "where:\n{}", mail.text);
    assert!(mail.text.contains("eerste melding"), "the first mail says it is the first:\n{}", mail.text);
    assert!(!mail.raw.contains("canary_announcer_9c1"), "no author in mail (L2)");

    // The webhook received the same notification, signed with its key, keyed for deduplication.
    let hooks = server.seen("/hook");
    assert!(!hooks.is_empty(), "the webhook was called; log:\n{}", daemon.stderr());
    let first = &hooks[0];
    assert_eq!(first.method, "POST");
    let signature = first.headers.get("x-onrust-signature").expect("a signature header");
    assert!(
        onrust_notify::webhook::verify(b"sleutel-voor-de-crisiskamer", &first.body, signature),
        "the signature is HMAC-SHA256 over the body with the configured key"
    );
    let body: serde_json::Value = serde_json::from_slice(&first.body).expect("json body");
    assert_eq!(body["schema"], 1);
    assert_eq!(body["rule"], "aangekondigde-actie");
    assert!(!String::from_utf8_lossy(&first.body).contains("canary_announcer_9c1"), "no author in the webhook");
    assert!(first.headers.contains_key("x-onrust-delivery"));

    // One calendar entry for the three announcements, served as iCalendar.
    let (status, ics) =
        daemon.get_as("/api/v1/municipalities/GM0344/actions.ics", Some(&officer_token)).expect("calendar");
    assert_eq!(status, 200, "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1, "one entry for one action:\n{ics}");
    assert!(
        ics.contains("3 aank") && ics.contains("LOCATION:Domplein (plein\\, Utrecht)"),
        "three announcements, one entry:\n{ics}"
    );
    let (status, atom) =
        daemon.get_as("/api/v1/municipalities/GM0344/alerts.atom", Some(&officer_token)).expect("feed");
    assert_eq!(status, 200, "{atom}");
    assert!(atom.contains("aangekondigde-actie") && !atom.contains("canary_announcer_9c1"), "{atom}");

    // A fourth announcement: the next mail says what changed since the previous one.
    let mut more = ANNOUNCEMENTS.to_vec();
    more.push((
        "a4",
        "Nog meer mensen komen morgen om 20:00 naar het Domplein in Utrecht, demonstratie tegen het azc. Kom allemaal!",
    ));
    server
        .route("/acties.xml", Reply::Feed { body: feed(&more), content_type: "application/rss+xml", etag: etag("v2") });
    let update = sink.wait_for(Duration::from_secs(30), |m| {
        m.rcpt_tos() == [OFFICER]
            && m.text.contains("[nieuw]")
            && !m.meta["subject"].as_str().unwrap_or_default().contains("vooraf:")
    });
    let update = update.unwrap_or_else(|| panic!("no update mail for the officer; log:\n{}", daemon.stderr()));
    assert!(update.text.contains("1 nieuw voorbeeld"), "what changed since the previous mail:\n{}", update.text);
    assert!(!update.text.contains("eerste melding"), "{}", update.text);
    let (status, ics) = daemon.get_as("/api/v1/municipalities/GM0344/actions.ics", Some(&officer_token)).expect("ics");
    assert_eq!((status, ics.matches("BEGIN:VEVENT").count()), (200, 1), "still one entry:\n{ics}");
    assert!(ics.contains("4 aank"), "its evidence grown:\n{ics}");

    // The digest: its day is remembered; a daemon that was off for days sends it at its next start.
    assert_eq!(daemon.terminate().0, Some(0));
    let state_path = install.data_dir().join("alerts/state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).expect("state")).expect("state json");
    assert!(state["last_digest"].is_string(), "the digest day is kept: {}", state["last_digest"]);
    state["last_digest"] = serde_json::json!("2026-01-01");
    std::fs::write(&state_path, serde_json::to_vec(&state).expect("json")).expect("state");
    let digests_before = subjects(&sink, MAYOR).iter().filter(|s| s.contains("dagoverzicht")).count();
    let daemon = install.start();
    assert!(
        holds_within(Duration::from_secs(20), || {
            subjects(&sink, MAYOR).iter().filter(|s| s.contains("dagoverzicht")).count() > digests_before
        }),
        "no digest for the mayor: {:?}; log:\n{}",
        subjects(&sink, MAYOR),
        daemon.stderr()
    );
    assert_eq!(daemon.terminate().0, Some(0));
}

/// A message as the archive would have it, fetched (and published) at `at`.
fn archived(id: &str, code: &str, at: chrono::DateTime<Utc>) -> ScoredMessage {
    scored_message(id)
        .source("forum-regio")
        .id_derived()
        .no_url()
        .text(&format!("Boeren met trekkers naar het provinciehuis tegen het stikstofbeleid ({id})"))
        .fetched_at(at)
        .published_at(at)
        .level(Level::Mobilisation)
        .score(0.4)
        .theme("stikstof")
        .municipality(code)
        .build()
}

/// Five weeks of archive behind the daemon: Utrecht quiet at this hour (one
/// message in four weeks), Amersfoort busy (ten every week). Now both get
/// ten: a burst for Utrecht, nothing for Amersfoort — the same count, a
/// normal week there.
#[test]
fn a_burst_against_the_archive_baseline_fires_where_the_week_is_unusual_only() {
    let server = FeedServer::start();
    let items: Vec<(String, String)> = (0..10)
        .flat_map(|i| {
            [
                (
                    format!("u{i}"),
                    format!(
                        "Boeren met trekkers rijden naar het provinciehuis in Utrecht tegen het stikstofbeleid ({i})"
                    ),
                ),
                (
                    format!("a{i}"),
                    format!(
                        "Boeren met trekkers rijden naar het stadhuis in Amersfoort tegen het stikstofbeleid ({i})"
                    ),
                ),
            ]
        })
        .collect();
    let refs: Vec<(&str, &str)> = items.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    server.route("/boeren.xml", Reply::Feed { body: feed(&refs), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("forum-regio", server.url("/boeren.xml"))]);

    let now = Utc::now();
    let options = ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() };
    let mut writer = ArchiveWriter::open(&install.data_dir().join("archive"), &options).expect("archive");
    for week in 1..=5 {
        let at = now - TimeDelta::weeks(week) - TimeDelta::minutes(10);
        if week == 2 {
            writer.upsert(&archived(&format!("u-w{week}"), "GM0344", at)).expect("upsert");
        }
        for i in 0..10 {
            writer.upsert(&archived(&format!("a-w{week}-{i}"), "GM0307", at)).expect("upsert");
        }
    }
    writer.commit().expect("commit");
    drop(writer);

    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(
        &install.config,
        format!(
            "{config}[alerts]\nevaluate_interval = \"1s\"\n\
             [[rules]]\nmandate = \"test\"\nname = \"ongewone-drukte\"\nkind = \"burst\"\nmin_level = 1\nwindow = \"1h\"\n\
             baseline_weeks = 4\ncount = 3\ngroup_wait = \"0s\"\n"
        ),
    )
    .expect("config");
    let officer = install.add_token("oov-regio", "officer");
    let supervisor = install.add_token("chef-van-dienst", "supervisor");
    let daemon = install.start();
    let alerts = || -> Vec<serde_json::Value> {
        let (_, body) = daemon.get_as("/api/v1/alerts", Some(&officer)).unwrap_or_default();
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["alerts"].as_array().cloned())
            .unwrap_or_default()
    };
    let bursts_in = |code: &str| -> Vec<serde_json::Value> {
        alerts().into_iter().filter(|a| a["rule"] == "ongewone-drukte" && a["municipality"] == code).collect()
    };
    assert!(
        holds_within(Duration::from_secs(30), || !bursts_in("GM0344").is_empty()),
        "no burst for Utrecht: {:?}; log:\n{}",
        alerts(),
        daemon.stderr()
    );
    // A few more evaluations: Amersfoort's normal week stays quiet.
    std::thread::sleep(Duration::from_secs(4));
    assert!(bursts_in("GM0307").is_empty(), "the same count in a normal week fired: {:?}", bursts_in("GM0307"));
    let burst = bursts_in("GM0344").remove(0);
    assert_eq!(burst["kind"], "burst");
    assert!(burst["observed"].as_u64().is_some_and(|n| n >= 10), "{burst}");
    let expected = burst["expected"].as_f64().expect("an expected count");
    assert!(expected > 0.0 && expected < 1.0, "about one in four weeks: {burst}");
    assert!(burst["p_value"].as_f64().is_some_and(|p| p < 0.05), "how unusual: {burst}");

    // The supervisor's other actions from the CLI: silence, list, end; a
    // burst does not go to a mayor, so there is nothing to dismiss.
    let token_file = install.dir.path().join("supervisor.token");
    write_secret(&token_file, &supervisor);
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--token-file", token_file.to_str().expect("utf-8 path")]);
        install.cli(&all)
    };
    let text = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    let silenced =
        cli(&["alerts", "silence", "--match", "municipality=GM0344", "--reason", "boeren bekend", "--for", "2h"]);
    assert!(silenced.status.success(), "{}", text(&silenced));
    let id: serde_json::Value = serde_json::from_slice(&silenced.stdout).expect("json");
    let id = id["id"].as_str().expect("a silence id").to_owned();
    let listed = cli(&["alerts", "silences"]);
    assert!(text(&listed).contains(&id) && text(&listed).contains("municipality=GM0344"), "{}", text(&listed));
    let ended = cli(&["alerts", "unsilence", &id]);
    assert!(ended.status.success(), "{}", text(&ended));
    assert!(text(&cli(&["alerts", "silences"])).contains("no silences"));
    let fingerprint = burst["fingerprint"].as_str().expect("fingerprint");
    let dismissed = cli(&["alerts", "dismiss", &fingerprint[..8], "--reason", "normale drukte"]);
    assert!(!dismissed.status.success(), "{}", text(&dismissed));
    assert!(
        text(&dismissed).contains("409") && text(&dismissed).contains("not waiting for review"),
        "{}",
        text(&dismissed)
    );
    let audit = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("audit log");
    for action in ["\"silence\"", "\"silences_list\"", "\"silence_expire\"", "\"alerts_dismiss\""] {
        assert!(audit.contains(action), "{action} is on record");
    }
    assert_eq!(daemon.terminate().0, Some(0));
}
