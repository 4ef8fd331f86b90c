//! Alerts end to end: a feed with an escalating jaarwisseling thread about
//! Utrecht, the daemon with a critical rule, an officer and a mayor for
//! Utrecht, and a real SMTP sink (aiosmtpd). The officer is mailed within
//! seconds of the fetch; the mayor waits for a supervisor, who confirms
//! through the API (rule L10).

use std::time::{Duration, Instant};

use crate::support::{FeedServer, Install, Reply, SmtpSink, holds_within, write_secret};

const OFFICER: &str = "oov@utrecht.example";
const MAYOR: &str = "burgemeester@utrecht.example";
/// The author handle in the feed: it must reach no mail (L2).
const CANARY_AUTHOR: &str = "vuurwerkfan_canary_7f3";

/// Three posts about oudjaarsavond on the Vredenburgplein, from chat about
/// fireworks to calls to throw them at the police (levels 0, 3, 3 with the
/// shipped lexicons; `onrust classify` was used to check).
fn jaarwisseling_feed() -> Vec<u8> {
    let items = [
        (
            "j1",
            "Oudjaarsavond op het Vredenburgplein",
            "Wie komt er oudjaarsavond naar het Vredenburgplein in Utrecht? Het wordt weer gezellig met vuurwerk.",
            "Tue, 29 Dec 2026 20:10:00 +0100",
        ),
        (
            "j2",
            "Oproep voor oudjaarsavond",
            "Oudjaarsavond om 23:00 iedereen naar het Vredenburgplein in Utrecht. We gaan de politie bekogelen met \
             zwaar vuurwerk, neem cobra's mee.",
            "Wed, 30 Dec 2026 21:40:00 +0100",
        ),
        (
            "j3",
            "Vuurwerk op de ME",
            "Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en steek de \
             containers in brand. Oorlog maken met de politie.",
            "Wed, 30 Dec 2026 22:05:00 +0100",
        ),
    ];
    let mut body = String::new();
    for (id, title, text, date) in items {
        body.push_str(&format!(
            "<item><guid>{id}</guid><title>{title}</title><link>https://forum.example/oudjaar/{id}</link>\
             <dc:creator>@{CANARY_AUTHOR}</dc:creator><description>{text}</description><pubDate>{date}</pubDate></item>"
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <channel><title>Forum Utrecht</title><link>https://forum.example/</link><description>test</description>\
         {body}</channel></rss>"
    )
    .into_bytes()
}

fn alert_config(sink: &SmtpSink) -> String {
    alert_config_on(sink.port)
}

fn alert_config_on(port: u16) -> String {
    format!(
        "[alerts]\nevaluate_interval = \"1s\"\nregion_name = \"Midden-Nederland\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         from = \"onrust@regio.example\"\ntimeout = \"5s\"\n\
         [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n\
         [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"mayor\"\nemail = \"{MAYOR}\"\n\
         [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\ngroup_wait = \"0s\"\n",
    )
}

/// Runs of 16 or more hex digits: a pseudonym would be one (64 digits).
fn hex_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            cur.push(c);
        } else {
            if cur.len() >= 16 {
                runs.push(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    runs
}

#[test]
fn officer_is_mailed_within_seconds_and_the_mayor_only_after_a_supervisor_confirms() {
    let sink = SmtpSink::start(&[]);
    let server = FeedServer::start();
    server.route(
        "/oudjaar.xml",
        Reply::Feed { body: jaarwisseling_feed(), content_type: "application/rss+xml", etag: Some("\"v1\"".into()) },
    );
    let install = Install::new(&[("forum-utrecht", server.url("/oudjaar.xml"))]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(&install.config, format!("{config}{}", alert_config(&sink))).expect("config");
    let officer_token = install.add_token("oov-utrecht", "officer");
    let supervisor_token = install.add_token("chef-van-dienst", "supervisor");
    let check = install.cli(&["check-config"]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let explained = String::from_utf8_lossy(&check.stdout);
    assert!(explained.contains("1 officers, 0 supervisors, 1 mayors"), "{explained}");
    assert!(explained.contains("oproep-tot-geweld"), "{explained}");

    let daemon = install.start();
    let mail = sink.wait_for(Duration::from_secs(30), |m| m.rcpt_tos().iter().any(|r| r == OFFICER));
    let mailed_at = Instant::now();
    let mail = mail.unwrap_or_else(|| panic!("no mail for the officer; daemon log:\n{}", daemon.stderr()));
    let fetched_at = server.seen("/oudjaar.xml").first().map(|s| s.at).expect("the feed was fetched");
    let latency = mailed_at.saturating_duration_since(fetched_at);
    eprintln!("ingest-to-officer-mail latency: {} ms", latency.as_millis());
    assert!(latency < Duration::from_secs(5), "the officer is mailed within seconds, took {latency:?}");

    // The right recipient, a subject from the template, the evidence, nobody named (S6, L1, L2, L9).
    assert_eq!(mail.rcpt_tos(), [OFFICER]);
    let subject = mail.meta["subject"].as_str().expect("subject");
    assert_eq!(mail.meta["subject_count"], 1);
    assert!(subject.starts_with("[onrust] Kritiek: oproep-tot-geweld"), "{subject}");
    assert!(subject.contains("Utrecht"), "{subject}");
    assert!(mail.text.contains("Vredenburgplein"), "the evidence is in the mail:\n{}", mail.text);
    for place in [&mail.raw, &mail.text, &subject.to_owned()] {
        assert!(!place.contains(CANARY_AUTHOR), "the author handle reached the mail:\n{place}");
    }
    assert!(!mail.raw.to_ascii_lowercase().contains("bcc:"), "no Bcc header");
    // The "sent" line follows the relay's answer: wait for it.
    let log_path = install.data_dir().join("alerts/notifications.jsonl");
    let mut log = String::new();
    holds_within(Duration::from_secs(5), || {
        log = std::fs::read_to_string(&log_path).unwrap_or_default();
        log.contains("\"sent\"")
    });
    let fingerprints: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| e["fingerprint"].as_str().map(str::to_owned))
        .collect();
    assert!(!fingerprints.is_empty(), "the notification log records the attempt: {log}");
    for run in hex_runs(&mail.text) {
        assert!(
            fingerprints.iter().any(|f| f.contains(&run) || run.contains(f.as_str())),
            "a hex run that is no alert fingerprint (a pseudonym?) in the mail: {run}"
        );
    }

    // The mayor gets nothing before a supervisor confirms (L10).
    std::thread::sleep(Duration::from_secs(3));
    let mails = sink.mails();
    assert!(mails.iter().all(|m| !m.rcpt_tos().iter().any(|r| r == MAYOR)), "the mayor was mailed unreviewed");
    assert!(mails.iter().all(|m| m.rcpt_tos() == [OFFICER]), "{:?}", mails.iter().map(|m| &m.meta).collect::<Vec<_>>());
    assert_eq!(mails.len(), 1, "one mail for one group, not one per message");

    // The officer sees the alert in the API, but may not confirm it; the supervisor does.
    let (status, body) = daemon.get_as("/api/v1/alerts", Some(&officer_token)).expect("alerts api");
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).expect("json");
    let fingerprints: Vec<String> = listed["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["fingerprint"].as_str().map(str::to_owned))
        .collect();
    assert!(!fingerprints.is_empty(), "{body}");
    assert!(!body.contains(CANARY_AUTHOR), "no author in the api either: {body}");
    let reason = r#"{"reason": "bron en tekst nagelezen"}"#;
    let confirm = |fp: &str, token: &str| daemon.post_as(&format!("/api/v1/alerts/{fp}/confirm"), token, reason);
    assert_eq!(confirm(&fingerprints[0], &officer_token).map(|r| r.0), Some(403), "an officer does not review");
    let confirmed = fingerprints.iter().filter(|fp| confirm(fp, &supervisor_token).is_some_and(|r| r.0 == 200)).count();
    assert!(confirmed >= 1, "the supervisor confirms");
    let mayor = sink.wait_for(Duration::from_secs(20), |m| m.rcpt_tos().iter().any(|r| r == MAYOR));
    let mayor = mayor.unwrap_or_else(|| panic!("no mail for the mayor after confirmation; log:\n{}", daemon.stderr()));
    assert_eq!(mayor.rcpt_tos(), [MAYOR]);
    let subject = mayor.meta["subject"].as_str().expect("subject");
    assert!(subject.starts_with("[onrust] Kritiek: oproep-tot-geweld"), "{subject}");
    assert!(!subject.contains("ongecontroleerd"), "a reviewed alert: {subject}");
    assert!(!mayor.raw.contains(CANARY_AUTHOR));
    let (_, acked) = daemon
        .post_as(&format!("/api/v1/alerts/{}/ack", fingerprints[0]), &officer_token, r#"{"comment": "ME ingelicht"}"#)
        .expect("ack");
    assert!(acked.contains("ME ingelicht"), "{acked}");
    // The same through the CLI: list as the officer, the notification log of who was told what.
    let token_file = install.dir.path().join("officer.token");
    write_secret(&token_file, &officer_token);
    let token_arg = token_file.to_str().expect("utf-8 path");
    let listed = install.cli(&["alerts", "list", "--token-file", token_arg]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains(&fingerprints[0][..8]) && listed.contains("oproep-tot-geweld"), "{listed}");
    // Who decided what, when and why is on the list.
    assert!(listed.contains("confirmed by chef-van-dienst") && listed.contains("bron en tekst nagelezen"), "{listed}");
    // An officer acknowledges by the short id of the mail.
    let acked =
        install.cli(&["alerts", "ack", &fingerprints[0][..8], "--reason", "ME ter plaatse", "--token-file", token_arg]);
    assert!(acked.status.success(), "{}", String::from_utf8_lossy(&acked.stderr));
    let refused =
        install.cli(&["alerts", "confirm", &fingerprints[0][..8], "--reason", "nagelezen", "--token-file", token_arg]);
    assert!(!refused.status.success(), "an officer does not confirm from the CLI either");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403"), "{}", String::from_utf8_lossy(&refused.stderr));
    let log = install.cli(&["alerts", "log"]);
    assert!(log.status.success(), "{}", String::from_utf8_lossy(&log.stderr));
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains(OFFICER) && log.contains(MAYOR) && log.contains("sent"), "{log}");
    let audit = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("audit log");
    assert!(audit.contains("\"alerts_confirm\"") && audit.contains("chef-van-dienst"), "confirmation audited");
    assert!(audit.contains("\"alerts_ack\"") && audit.contains("oov-utrecht"), "acknowledgement audited");
    std::thread::sleep(Duration::from_secs(2));
    let sent = sink.mails().len();

    // The state survives a restart: nothing is mailed twice.
    assert_eq!(daemon.terminate().0, Some(0));
    assert!(install.data_dir().join("alerts/state.json").is_file());
    let daemon = install.start();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.mails().len(), sent, "a restart sends nothing again; log:\n{}", daemon.stderr());
    let (_, body) = daemon.get_as(&format!("/api/v1/alerts/{}", fingerprints[0]), Some(&officer_token)).expect("show");
    assert!(body.contains("chef-van-dienst") && body.contains("ME ingelicht"), "review and ack survive: {body}");
    assert_eq!(daemon.terminate().0, Some(0));
}

/// R8 at the daemon level: the relay is down when the alert fires, the daemon
/// is stopped with the mail queued, the relay comes back, the daemon starts
/// again: exactly one mail, not zero, not two, and the log has every attempt.
#[test]
fn a_mail_queued_when_the_relay_was_down_is_sent_once_after_a_restart() {
    let port = crate::support::free_port();
    let server = FeedServer::start();
    server.route(
        "/oudjaar.xml",
        Reply::Feed { body: jaarwisseling_feed(), content_type: "application/rss+xml", etag: Some("\"v1\"".into()) },
    );
    let install = Install::new(&[("forum-utrecht", server.url("/oudjaar.xml"))]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(&install.config, format!("{config}{}", alert_config_on(port))).expect("config");
    let log_path = install.data_dir().join("alerts/notifications.jsonl");

    let daemon = install.start();
    assert!(
        holds_within(Duration::from_secs(30), || {
            std::fs::read_to_string(&log_path).unwrap_or_default().contains("\"retry\"")
        }),
        "no failed attempt logged; log:\n{}",
        daemon.stderr()
    );
    assert_eq!(daemon.terminate().0, Some(0), "a queued mail does not stop a clean shutdown");

    let sink = SmtpSink::start_on(port, &[]);
    let daemon = install.start();
    let mail = sink.wait_for(Duration::from_secs(30), |m| m.rcpt_tos().iter().any(|r| r == OFFICER));
    assert!(mail.is_some(), "the queued mail is sent after the restart; log:\n{}", daemon.stderr());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.mails().len(), 1, "one mail, not two");
    let log = std::fs::read_to_string(&log_path).expect("log");
    let outcomes: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["address"] == OFFICER)
        .filter_map(|e| e["outcome"].as_str().map(str::to_owned))
        .collect();
    assert!(outcomes.iter().filter(|o| *o == "retry").count() >= 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| *o == "sent").count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.last().map(String::as_str), Some("sent"), "{outcomes:?}");
    assert_eq!(daemon.terminate().0, Some(0));
}

const SUPERVISOR: &str = "chef@regio.example";

/// Issue 16's target: a call to violence placed in Utrecht, published two
/// hours before onrust fetched it, beside one that names no place. With the
/// shipped critical rule the Utrecht officer is mailed within 30 s of the
/// fetch; the region's supervisor gets the unplaced one ("plaats onbekend");
/// neither holds the other back. `onrust backtest` over the archive says the same.
#[test]
fn a_late_call_in_utrecht_and_an_unplaced_call_each_reach_their_recipient_in_time() {
    let sink = SmtpSink::start(&[]);
    let server = FeedServer::start();
    let published = (chrono::Utc::now() - chrono::TimeDelta::hours(2)).to_rfc2822();
    let items = [
        (
            "utrecht",
            "Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en steek de \
             containers in brand. Oorlog maken met de politie.",
        ),
        ("nergens", "Steek het azc in de fik, neem molotovs mee en stenen!"),
    ];
    let body: String = items
        .iter()
        .map(|(id, text)| {
            format!(
                "<item><guid>{id}</guid><title>Oproep</title><link>https://forum.example/{id}</link>\
                 <dc:creator>@{CANARY_AUTHOR}</dc:creator><description>{text}</description><pubDate>{published}</pubDate></item>"
            )
        })
        .collect();
    let feed = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <channel><title>Forum</title><link>https://forum.example/</link><description>t</description>{body}</channel></rss>"
    );
    server.route("/laat.xml", Reply::Feed { body: feed.into_bytes(), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("forum-regio", server.url("/laat.xml"))]);
    install.shipped_alert_chain(
        sink.port,
        &format!(
            "[[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n\
             [[recipients]]\nmunicipality = \"*\"\nrole = \"supervisor\"\nemail = \"{SUPERVISOR}\"\n"
        ),
    );

    let daemon = install.start();
    let officer = sink.wait_for(Duration::from_secs(60), |m| m.rcpt_tos().iter().any(|r| r == OFFICER));
    let officer_at = Instant::now();
    let officer = officer.unwrap_or_else(|| panic!("no mail for the Utrecht officer; log:\n{}", daemon.stderr()));
    let fetched_at = server.seen("/laat.xml").first().map(|s| s.at).expect("fetched");
    let latency = officer_at.saturating_duration_since(fetched_at);
    eprintln!("fetch-to-officer-mail latency for a call published 2 h earlier: {} ms", latency.as_millis());
    assert!(latency < Duration::from_secs(30), "the officer is mailed within 30 s of the fetch, took {latency:?}");
    let subject = officer.meta["subject"].as_str().expect("subject");
    assert!(subject.starts_with("[onrust] Kritiek: oproep-tot-geweld — Utrecht"), "{subject}");
    assert!(officer.text.contains("min vóór ontvangst)"), "says it arrived late:\n{}", officer.text);
    assert!(officer.text.contains("onrust alerts ack "), "says what to do:\n{}", officer.text);

    let unplaced = sink.wait_for(Duration::from_secs(30), |m| {
        m.rcpt_tos().iter().any(|r| r == SUPERVISOR)
            && m.meta["subject"].as_str().is_some_and(|s| s.contains("plaats onbekend"))
    });
    let unplaced =
        unplaced.unwrap_or_else(|| panic!("no 'plaats onbekend' mail for the supervisor; log:\n{}", daemon.stderr()));
    assert!(unplaced.text.contains("molotovs"), "{}", unplaced.text);
    // The Utrecht officer gets Utrecht's alert only; nothing holds either back.
    std::thread::sleep(Duration::from_secs(2));
    for m in sink.mails().iter().filter(|m| m.rcpt_tos().iter().any(|r| r == OFFICER)) {
        assert!(!m.text.contains("molotovs"), "the unplaced call is not Utrecht's:\n{}", m.text);
    }
    for m in sink.mails() {
        assert!(!m.raw.contains(CANARY_AUTHOR), "no author in any mail");
    }
    let (status, alerts) = daemon.get("/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert!(
        alerts.lines().any(|l| l.starts_with("onrust_alert_late_arrivals_total{source=\"forum-regio\"} 2")),
        "two late arrivals counted:\n{}",
        alerts.lines().filter(|l| l.contains("late_arrivals")).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(daemon.terminate().0, Some(0));

    // The backtest over the same archive: the same two alerts.
    let since = (chrono::Utc::now() - chrono::TimeDelta::days(1)).format("%Y-%m-%d").to_string();
    let until = (chrono::Utc::now() + chrono::TimeDelta::days(1)).format("%Y-%m-%d").to_string();
    let backtest = install.cli(&["backtest", "--since", &since, "--until", &until, "--json"]);
    assert!(backtest.status.success(), "{}", String::from_utf8_lossy(&backtest.stderr));
    let episodes: Vec<serde_json::Value> = String::from_utf8_lossy(&backtest.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let places: Vec<(Option<&str>, bool)> =
        episodes.iter().map(|e| (e["municipality"].as_str(), e["unplaced"].as_bool() == Some(true))).collect();
    assert!(places.contains(&(Some("GM0344"), false)), "the Utrecht alert: {places:?}");
    assert!(places.contains(&(None, true)), "the unplaced alert: {places:?}");
    assert!(!places.contains(&(None, false)), "nothing region-wide: {places:?}");
    for e in &episodes {
        assert!(e["fired_at"].is_string(), "it fired in the backtest too: {e}");
    }
}
