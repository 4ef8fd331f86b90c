//! Delivery you can trust (issue 16), through the daemon with a real SMTP
//! server: a mail the relay refuses for good reaches the supervisors'
//! webhook, a webhook that refuses reaches their mailbox, nothing loops, and
//! a supervisor sends both again with `onrust alerts resend`; and a rule
//! that says only its name, kind and level reaches the officer in time.

use std::time::{Duration, Instant};

use crate::support::{FeedServer, Install, Reply, SmtpSink, holds_within, write_secret};

const OFFICER: &str = "oov@utrecht.example";
const SUPERVISOR: &str = "chef@regio.example";

/// One call to violence on the Vredenburgplein in Utrecht, published `published` (RFC 2822).
fn call_in_utrecht(published: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Forum</title>\
         <link>https://forum.example/</link><description>t</description>\
         <item><guid>oproep</guid><title>Oproep</title><link>https://forum.example/oproep</link>\
         <description>Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en \
         steek de containers in brand. Oorlog maken met de politie.</description><pubDate>{published}</pubDate></item>\
         </channel></rss>"
    )
    .into_bytes()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn a_failed_delivery_is_told_through_another_channel_and_sent_again_by_a_supervisor() {
    // The relay refuses the first mail for good (550), then takes the rest.
    let sink = SmtpSink::start(&["--fail-first", "1", "--fail-code", "550"]);
    let server = FeedServer::start();
    let now = chrono::Utc::now().to_rfc2822();
    server.route(
        "/forum.xml",
        Reply::Feed { body: call_in_utrecht(&now), content_type: "application/rss+xml", etag: None },
    );
    let gone = || Reply::Status { status: 410, headers: vec![], body: b"gone".to_vec() };
    let ok = || Reply::Status { status: 204, headers: vec![], body: vec![] };
    // The officer's receiver is gone (410: for good); the supervisors' works.
    server.route("/hook/ambtenaar-geheim-pad", gone());
    server.route("/hook/supervisor", ok());
    let install = Install::new(&[("forum-utrecht", server.url("/forum.xml"))]);
    let key = install.dir.path().join("hook.key");
    write_secret(&key, "sleutel-voor-de-koppeling\n");
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(
        &install.config,
        format!(
            "{config}[alerts]\nevaluate_interval = \"1s\"\nregion_name = \"Midden-Nederland\"\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"onrust@regio.example\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n\
             [[recipients]]\nmunicipality = \"*\"\nrole = \"supervisor\"\nemail = \"{SUPERVISOR}\"\n\
             [[webhooks]]\nurl = \"{officer_hook}\"\nsecret_file = {key:?}\nmunicipality = \"GM0344\"\nrole = \"officer\"\n\
             [[webhooks]]\nurl = \"{supervisor_hook}\"\nsecret_file = {key:?}\nmunicipality = \"*\"\nrole = \"supervisor\"\n\
             [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\nreview = false\n",
            port = sink.port,
            officer_hook = server.url("/hook/ambtenaar-geheim-pad"),
            supervisor_hook = server.url("/hook/supervisor"),
        ),
    )
    .expect("config");
    let supervisor_token = install.add_token("chef-van-dienst", "supervisor");
    let officer_token = install.add_token("oov-utrecht", "officer");
    let daemon = install.start();

    // Both failures told to the supervisors: each by mail and by webhook, but never to the failed channel.
    let notices = || -> Vec<crate::support::Mail> {
        sink.mails()
            .into_iter()
            .filter(|m| m.meta["subject"].as_str().is_some_and(|s| s.starts_with("[onrust] Niet bezorgd: ")))
            .collect()
    };
    assert!(
        holds_within(Duration::from_secs(30), || notices().len() == 2 && server.seen("/hook/supervisor").len() == 2),
        "two notices by mail and two by webhook; mails {:?}, supervisor hook {}; log:\n{}",
        sink.mails().iter().map(|m| m.meta["subject"].clone()).collect::<Vec<_>>(),
        server.seen("/hook/supervisor").len(),
        daemon.stderr()
    );
    let notices = notices();
    assert!(notices.iter().all(|m| m.rcpt_tos() == [SUPERVISOR]));
    let by_mail = notices.iter().find(|m| m.text.contains("Via: e-mail")).expect("the notice about the mail");
    assert!(by_mail.meta["subject"].as_str().unwrap_or_default().contains("oproep-tot-geweld — Utrecht"));
    assert!(by_mail.text.contains(&format!("Aan: de ambtenaar van dienst, {OFFICER}")), "{}", by_mail.text);
    assert!(by_mail.text.contains("Antwoord: “550 "), "{}", by_mail.text);
    let by_hook = notices.iter().find(|m| m.text.contains("(webhook)")).expect("the notice about the webhook");
    assert!(by_hook.text.contains("Antwoord: “410 Gone”"), "{}", by_hook.text);
    for m in &notices {
        assert!(!m.raw.contains("geheim-pad"), "a webhook by its origin only (S9):\n{}", m.text);
        assert!(m.text.contains("Vredenburgplein"), "the alert it carried:\n{}", m.text);
    }
    let hooked: Vec<serde_json::Value> =
        server.seen("/hook/supervisor").iter().map(|s| serde_json::from_slice(&s.body).expect("json body")).collect();
    let channels: Vec<&str> =
        hooked.iter().filter_map(|b| b["content"]["failure"]["channel"].as_str()).collect::<Vec<_>>();
    assert!(hooked.iter().all(|b| b["content"]["type"] == "undelivered" && b["role"] == "supervisor"), "{hooked:?}");
    assert!(channels.contains(&"email") && channels.contains(&"webhook"), "{channels:?}");
    let (_, metrics) = daemon.get("/metrics").expect("metrics");
    for line in [
        "onrust_alert_delivery_failure_notices_total{channel=\"email\",outcome=\"told\"} 1",
        "onrust_alert_delivery_failure_notices_total{channel=\"webhook\",outcome=\"told\"} 1",
        "onrust_alert_deliveries_total{channel=\"email\",outcome=\"failed\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing:\n{}", grep(&metrics, "delivery"));
    }
    assert!(daemon.stderr().contains("the supervisors are told through another channel"), "{}", daemon.stderr());
    // Nothing more: the notices arrived, nothing loops, the officer has nothing yet.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.mails().len(), 2, "{:?}", sink.mails().iter().map(|m| m.meta.clone()).collect::<Vec<_>>());
    assert_eq!(server.seen("/hook/supervisor").len(), 2);

    // The receiver is back; the supervisor sends both again by the id in the notice.
    server.route("/hook/ambtenaar-geheim-pad", ok());
    let id = by_mail
        .text
        .split("onrust alerts resend ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the command in the notice")
        .to_owned();
    assert!(id.len() >= 8, "{id}");
    let tokens = install.dir.path();
    write_secret(&tokens.join("chef.token"), &supervisor_token);
    write_secret(&tokens.join("oov.token"), &officer_token);
    let resend = |token: &str| {
        let file = tokens.join(token);
        let file = file.to_str().expect("utf-8 path").to_owned();
        install.cli(&["alerts", "resend", &id, "--reason", "adres en koppeling hersteld", "--token-file", &file])
    };
    let refused = resend("oov.token");
    assert!(!refused.status.success() && text(&refused).contains("403"), "an officer does not: {}", text(&refused));
    let resent = resend("chef.token");
    assert!(resent.status.success(), "{}", text(&resent));
    assert!(text(&resent).starts_with("2 queued again for alert "), "{}", text(&resent));
    let officer = sink.wait_for(Duration::from_secs(30), |m| m.rcpt_tos() == [OFFICER]);
    assert!(officer.is_some(), "the officer's mail is sent again; log:\n{}", daemon.stderr());
    assert!(
        holds_within(Duration::from_secs(30), || server.seen("/hook/ambtenaar-geheim-pad").len() >= 2),
        "the officer's webhook is called again"
    );
    let again = resend("chef.token");
    assert!(!again.status.success() && text(&again).contains("404"), "nothing failed any more: {}", text(&again));

    // Who sent what again, and why: the notification log and the audit log.
    let log = install.cli(&["alerts", "log"]);
    let log = text(&log);
    assert!(log.contains("requeued") && log.contains("by chef-van-dienst: adres en koppeling hersteld"), "{log}");
    assert!(!log.contains("geheim-pad"), "{log}");
    let audit = std::fs::read_to_string(install.data_dir().join("audit/audit.jsonl")).expect("audit");
    assert!(audit.contains("\"alerts_resend\"") && audit.contains("adres en koppeling hersteld"), "{audit}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(sink.mails().len(), 3, "two notices and the officer's mail, once");
    assert_eq!(daemon.terminate().0, Some(0));
}

fn grep(text: &str, word: &str) -> String {
    text.lines().filter(|l| l.contains(word)).collect::<Vec<_>>().join("\n")
}

/// Issue 16's target for a bare rule: `name`, `kind` and `min_level` only,
/// every other setting its default (the evaluation interval too), a call
/// published two hours before the fetch: the Utrecht officer is mailed
/// within 2 minutes of the fetch (in practice within seconds: a critical
/// rule waits for no group).
#[test]
fn a_rule_with_only_a_name_a_kind_and_a_level_mails_the_officer_within_two_minutes() {
    let sink = SmtpSink::start(&[]);
    let server = FeedServer::start();
    let published = (chrono::Utc::now() - chrono::TimeDelta::hours(2)).to_rfc2822();
    server.route(
        "/forum.xml",
        Reply::Feed { body: call_in_utrecht(&published), content_type: "application/rss+xml", etag: None },
    );
    let install = Install::new(&[("forum-utrecht", server.url("/forum.xml"))]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    std::fs::write(
        &install.config,
        format!(
            "{config}[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"onrust@regio.example\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n\
             [[rules]]\nmandate = \"test\"\nname = \"kale-regel\"\nkind = \"critical\"\nmin_level = 3\n",
            port = sink.port,
        ),
    )
    .expect("config");
    let daemon = install.start();
    let mail = sink.wait_for(Duration::from_secs(120), |m| m.rcpt_tos() == [OFFICER]);
    let mailed_at = Instant::now();
    let mail = mail.unwrap_or_else(|| panic!("no mail for the officer in 2 minutes; log:\n{}", daemon.stderr()));
    let fetched_at = server.seen("/forum.xml").first().map(|s| s.at).expect("fetched");
    let latency = mailed_at.saturating_duration_since(fetched_at);
    eprintln!("fetch-to-officer-mail latency with a bare critical rule: {} ms", latency.as_millis());
    assert!(latency < Duration::from_secs(120), "took {latency:?}");
    let subject = mail.meta["subject"].as_str().expect("subject");
    assert!(subject.starts_with("[onrust] Kritiek: kale-regel — Utrecht"), "{subject}");
    assert!(mail.text.contains("min vóór ontvangst)"), "judged by its arrival:\n{}", mail.text);
    assert_eq!(daemon.terminate().0, Some(0));
}
