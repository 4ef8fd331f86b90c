//! Erasure on request end to end (issue 19, rules L3, L7, L8): the daemon
//! takes in a forum thread about oudjaarsavond in Utrecht; two calls to throw
//! fireworks at the police share one link and become evidence of a critical
//! alert whose mail waits in the outbox (the relay is not there yet). The fg
//! erases the link with `onrust erase --url`: search no longer finds either
//! call, the alert's evidence no longer quotes them (its counts stay), the
//! queued mail no longer carries them, and the audit log has the erasure
//! with who, why and the counts. Officers and analysts are refused. The feed
//! serving the items again (a lost cursor) and a restart do not bring them
//! back, and the fg's report lists the erasure.

use std::time::{Duration, Instant};

use crate::support::{Daemon, FeedServer, Install, Reply, amsterdam_today, holds_within, write_secret};

const OFFICER: &str = "oov@utrecht.example";
const SUPERVISOR: &str = "chef@regio.example";
const LINK: &str = "https://forum.example/oudjaar/oproep";
const REASON: &str = "verzoek betrokkene, zaak AVG-2026-031";

/// The thread: two calls (level 3) with the same link, one chat message
/// (level 0) with its own link, and `extra` items.
fn thread(extra: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut items = vec![
        (
            "k1",
            LINK,
            "Oudjaarsavond om 23:00 iedereen naar het Vredenburgplein in Utrecht. We gaan de politie bekogelen met \
             zwaar vuurwerk, neem cobra's mee.",
        ),
        (
            "k2",
            LINK,
            "Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en steek de \
             containers in brand. Oorlog maken met de politie.",
        ),
        (
            "k3",
            "https://forum.example/oudjaar/gezellig",
            "Wie komt er oudjaarsavond naar het Vredenburgplein in Utrecht? Het wordt weer gezellig met vuurwerk.",
        ),
    ];
    items.extend_from_slice(extra);
    let body: String = items
        .iter()
        .map(|(guid, link, text)| {
            format!(
                "<item><guid>{guid}</guid><title>Oudjaar</title><link>{link}</link>\
                 <description>{text}</description><pubDate>Wed, 30 Dec 2026 21:40:00 +0100</pubDate></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Forum Utrecht</title>\
         <link>https://forum.example/</link><description>test</description>{body}</channel></rss>"
    )
    .into_bytes()
}

fn serve(server: &FeedServer, body: Vec<u8>, etag: &str) {
    server.route("/oudjaar.xml", Reply::Feed { body, content_type: "application/rss+xml", etag: Some(etag.into()) });
}

/// Every evidence entry of every alert, as (message id, excerpt, link).
fn evidence(alerts: &serde_json::Value) -> Vec<(String, String, Option<String>)> {
    alerts["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["evidence"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["message_id"].as_str().unwrap_or_default().to_owned(),
                e["excerpt"].as_str().unwrap_or_default().to_owned(),
                e["url"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Every alert's observed count, by fingerprint.
fn observed(alerts: &serde_json::Value) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = alerts["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| (a["fingerprint"].as_str().unwrap_or_default().to_owned(), a["observed"].as_u64().unwrap_or(0)))
        .collect();
    counts.sort();
    counts
}

/// The alerts as an officer sees them through the API.
fn alerts_of(daemon: &Daemon, officer: &str) -> serde_json::Value {
    let (status, body) = daemon.get_as("/api/v1/alerts", Some(officer)).expect("alerts api answers");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

/// Evidence entries that still quote one of `ids`.
fn quoting(alerts: &serde_json::Value, ids: &[String]) -> usize {
    evidence(alerts).iter().filter(|(id, excerpt, _)| ids.contains(id) && excerpt.contains("Utrecht")).count()
}

fn erase_records(install: &Install) -> Vec<serde_json::Value> {
    let log = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).unwrap_or_default();
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["action"] == "erase")
        .collect()
}

#[test]
fn an_erased_link_leaves_archive_evidence_and_outbox_and_never_comes_back() {
    // Nobody listens on the relay's port: the officer's mail stays queued.
    let relay_port = crate::support::free_port();
    let server = FeedServer::start();
    serve(&server, thread(&[]), "\"v1\"");
    let install = Install::new(&[("forum-regio", server.url("/oudjaar.xml"))]);
    install.shipped_alert_chain(
        relay_port,
        &format!(
            "[[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n\
             [[recipients]]\nmunicipality = \"*\"\nrole = \"supervisor\"\nemail = \"{SUPERVISOR}\"\n"
        ),
    );
    let fg = install.add_token("fg-regio", "fg");
    let officer = install.add_token("oov-utrecht", "officer");
    let analyst = install.add_token("analist-regio", "analyst");
    let fg_file = install.dir.path().join("fg.token");
    write_secret(&fg_file, &fg);
    let fg_file = fg_file.to_string_lossy().into_owned();
    let outbox_path = install.data_dir().join("alerts/outbox.jsonl");
    let log_path = install.data_dir().join("alerts/notifications.jsonl");

    let daemon = install.start();
    assert_eq!(install.wait_count("Vredenburgplein", 3, Duration::from_secs(30)), 3, "{}", daemon.stderr());
    let erased_ids: Vec<String> = {
        let mut ids: Vec<String> = install
            .search_json("Vredenburgplein", &[])
            .iter()
            .filter(|h| h["url"] == LINK)
            .filter_map(|h| h["id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(erased_ids.len(), 2, "two messages with the link");
    assert!(
        holds_within(Duration::from_secs(30), || quoting(&alerts_of(&daemon, &officer), &erased_ids) >= 2),
        "both calls are evidence of an alert: {}\n{}",
        alerts_of(&daemon, &officer),
        daemon.stderr()
    );
    assert!(
        holds_within(Duration::from_secs(30), || std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .contains("\"retry\"")),
        "the officer's mail waits for the relay; log:\n{}",
        daemon.stderr()
    );
    assert!(std::fs::read_to_string(&outbox_path).expect("outbox").contains("bekogelen"), "queued with the call");
    let before = alerts_of(&daemon, &officer);
    let (counts_before, quoted_before) = (observed(&before), quoting(&before, &erased_ids));

    // L8: only the fg and the admin erase; a refusal erases nothing and is on record.
    let body = format!(r#"{{"url": "{LINK}", "reason": "{REASON}"}}"#);
    for token in [&officer, &analyst] {
        let (status, answer) = daemon.post_as("/api/v1/erase", token, &body).expect("answer");
        assert_eq!(status, 403, "{answer}");
    }
    assert_eq!(install.count("bekogelen"), 1, "refused: nothing erased");
    let refused = erase_records(&install);
    assert_eq!(refused.len(), 2, "each refusal on record: {refused:?}");
    assert!(refused.iter().all(|r| r["refused"].as_str().is_some_and(|w| w.contains("may not"))), "{refused:?}");

    // A dead letter holds a whole message: one that quotes the link goes with it, another stays.
    let letter = |payload: serde_json::Value| {
        serde_json::json!({
            "schema": 1, "reason": "not a raw message", "key": "forum-regio", "payload": payload.to_string(),
            "origin": {"topic": "onrust.raw.v1", "partition": 0, "offset": 3}, "at": chrono::Utc::now().to_rfc3339()
        })
        .to_string()
    };
    let letters = install.data_dir().join("deadletter.jsonl");
    let quoting_link = letter(serde_json::json!({ "url": LINK, "text": "stenen bekogelen, kapot" }));
    let unrelated = letter(serde_json::json!({ "url": "https://forum.example/t/99", "text": "iets anders" }));
    std::fs::write(&letters, format!("{quoting_link}\n{unrelated}\n")).expect("dead letters");

    let started = Instant::now();
    let out = install.cli(&["erase", "--url", LINK, "--reason", REASON, "--token-file", &fg_file, "--json"]);
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), daemon.stderr());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json answer");
    assert_eq!(answer["archive_documents"], 2, "{answer}");
    assert_eq!(answer["evidence_entries"].as_u64(), Some(quoted_before as u64), "{answer}");
    assert!(answer["queued_notifications"].as_u64().unwrap_or(0) >= 1, "{answer}");
    assert_eq!(answer["target"]["url"], LINK);
    assert_eq!(answer["dead_letters"], 1, "{answer}");
    let left = std::fs::read_to_string(&letters).expect("dead letters");
    assert!(!left.contains(LINK) && left.contains("iets anders"), "only the letter quoting it went: {left}");
    let mut messages: Vec<String> =
        answer["messages"].as_array().expect("ids").iter().filter_map(|m| m.as_str().map(str::to_owned)).collect();
    messages.sort();
    assert_eq!(messages, erased_ids);
    eprintln!("erasure answered in {} ms", started.elapsed().as_millis());

    // Answered once done: search, evidence and outbox no longer carry either call.
    assert_eq!((install.count("bekogelen"), install.count("containers")), (0, 0), "gone from the archive");
    assert_eq!(install.count("gezellig"), 1, "the rest of the thread stays");
    let after = alerts_of(&daemon, &officer);
    assert_eq!(quoting(&after, &erased_ids), 0, "no evidence quotes them: {after}");
    let withdrawn: Vec<_> = evidence(&after).into_iter().filter(|(id, _, _)| erased_ids.contains(id)).collect();
    assert!(!withdrawn.is_empty(), "the entries stay, withdrawn (L9): {after}");
    assert!(withdrawn.iter().all(|(_, excerpt, url)| excerpt == "[bericht verwijderd]" && url.is_none()), "{after}");
    assert_eq!(observed(&after), counts_before, "the counts stay");
    assert!(!after.to_string().contains("bekogelen"), "nor do the reasons quote their words: {after}");
    let outbox = std::fs::read_to_string(&outbox_path).expect("outbox");
    assert!(
        !outbox.contains("bekogelen") && !outbox.contains(LINK),
        "the queued mail no longer carries them: {outbox}"
    );
    assert!(outbox.contains("[bericht verwijderd]"), "it is still queued, withdrawn: {outbox}");

    // L7: one record, with who, why, what was asked and the counts, and no message text.
    let records = erase_records(&install);
    let done: Vec<&serde_json::Value> = records.iter().filter(|r| r["refused"].is_null()).collect();
    assert_eq!(done.len(), 1, "{records:?}");
    let record = done[0];
    assert_eq!(record["who"], "fg-regio");
    assert_eq!(record["filters"]["reason"], REASON);
    assert_eq!(record["filters"]["url"], LINK);
    assert_eq!(record["filters"]["archive_documents"], 2);
    assert_eq!(record["filters"]["evidence_entries"].as_u64(), Some(quoted_before as u64));
    assert_eq!(record["filters"]["queued_notifications"], answer["queued_notifications"]);
    assert_eq!(record["filters"]["dead_letters"], 1);
    let text = record.to_string();
    assert!(!text.contains("bekogelen") && !text.contains("Vredenburgplein"), "no message text: {text}");

    // An unknown id: nothing to erase, counts 0, still tombstoned and on record.
    let unknown = "forum-regio:00000000000000000000beef";
    let out = install.cli(&["erase", "--id", unknown, "--reason", REASON, "--token-file", &fg_file]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("0 archived document(s)") && said.contains("nothing held it now"), "{said}");
    let last = erase_records(&install).pop().expect("record");
    assert_eq!((last["filters"]["id"].as_str(), last["hits"].as_u64()), (Some(unknown), Some(0)));
    let stones = std::fs::read_to_string(install.data_dir().join("erased.jsonl")).expect("tombstones");
    assert!(stones.contains(unknown) && !stones.contains("forum.example"), "ids and a digest only: {stones}");

    // The feed serves the thread again from scratch (its cursor is lost), with a
    // new item under the erased link and a new one elsewhere: only the latter comes in.
    assert_eq!(daemon.terminate().0, Some(0));
    std::fs::remove_dir_all(install.data_dir().join("cursors")).expect("forget the cursor");
    serve(
        &server,
        thread(&[
            ("k4", LINK, "Herhaling van de oproep voor oudjaarsavond op het Vredenburgplein."),
            ("k5", "https://forum.example/oudjaar/nieuw", "Nieuwkomer vraagt naar oudjaarsavond in Utrecht."),
        ]),
        "\"v2\"",
    );
    let daemon = install.start();
    assert_eq!(install.wait_count("nieuwkomer", 1, Duration::from_secs(30)), 1, "{}", daemon.stderr());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        (install.count("bekogelen"), install.count("containers"), install.count("herhaling")),
        (0, 0, 0),
        "neither the erased messages nor a new one with the erased link come back"
    );
    let (_, metrics) = daemon.get("/metrics").expect("metrics");
    let dropped: f64 = metrics
        .lines()
        .find(|l| l.starts_with("onrust_stage_messages_total") && l.contains("outcome=\"erased\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(dropped >= 3.0, "the forwarder dropped k1, k2 and k4 before the bus: {dropped}");
    assert_eq!(quoting(&alerts_of(&daemon, &officer), &erased_ids), 0, "the withdrawal outlives the restart");
    assert_eq!(daemon.terminate().0, Some(0));

    // Without the daemon nothing is erased, and the command says why.
    let out = install.cli(&["erase", "--id", unknown, "--reason", REASON, "--token-file", &fg_file]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is it running?"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The fg's report lists the erasure: when, who, why and the counts.
    let today = amsterdam_today().to_string();
    let report = install.cli(&["audit", "report", "--since", &today, "--until", &today]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let report = String::from_utf8_lossy(&report.stdout);
    let section = report.split("## Gewist op verzoek").nth(1).expect("an erasure section");
    let row = section.lines().find(|l| l.contains(REASON)).unwrap_or_else(|| panic!("{report}"));
    assert!(row.contains("fg-regio") && row.contains(&format!("| 2 | {quoted_before} |")), "{row}");
    assert!(!report.contains("Wissen op verzoek: onrust kan dat nog niet"), "no longer missing: {report}");
    let csv = install.cli(&["audit", "report", "--since", &today, "--until", &today, "--csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    let row = csv.lines().find(|l| l.contains("\"erase\"") && l.contains(REASON)).unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains(&format!("archief 2; bewijs {quoted_before};")), "{row}");
}
