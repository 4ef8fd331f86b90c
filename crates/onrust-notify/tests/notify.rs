//! The notifiers against real servers: the testkit's aiosmtpd SMTP sink
//! ([`onrust_testkit::SmtpSink`]), started by each test, and a local HTTP
//! endpoint for the webhook.

// Test helpers outside `#[test]` functions panic on purpose, as the ingest tests do.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use onrust_alert::alert::{Alert, RuleKind};
use onrust_alert::fixtures::{self, evidence};
use onrust_alert::{Channel, RecipientRole};
use onrust_notify::log::{Content, Item, Notification, Outbox, Outcome, RetryPolicy, read_log};
use onrust_notify::smtp::{SmtpConfig, SmtpNotifier, TlsMode};
use onrust_testkit::{SmtpSink, free_port};

// ---- the SMTP sink ----

/// How long a test waits for the mails it expects to arrive at the sink.
const MAILS_WITHIN: Duration = Duration::from_secs(5);

/// The notifier's settings for a sink on loopback, without TLS.
fn sink_config(sink: &SmtpSink) -> SmtpConfig {
    smtp_config("127.0.0.1", sink.port, TlsMode::None)
}
fn smtp_config(host: &str, port: u16, tls: TlsMode) -> SmtpConfig {
    SmtpConfig {
        host: host.to_owned(),
        port,
        tls,
        from: "onrust@gemeente.example".to_owned(),
        username: None,
        password_file: None,
        ca_file: None,
        timeout_secs: 5,
    }
}

// ---- fixtures ----

/// The shared test alert (`onrust_alert::fixtures`), as a critical alert
/// on three messages that no one has reviewed yet.
fn alert() -> Alert {
    Alert {
        kind: RuleKind::Critical,
        expected: None,
        p_value: None,
        threshold: None,
        reasons: vec!["Een bericht roept op tot geweld tegen de politie tijdens de jaarwisseling.".to_owned()],
        evidence: vec![evidence("m1", 40), evidence("m2", 50), evidence("m3", 55)],
        reviewed_by: None,
        mandate: None,
        ..fixtures::alert()
    }
}

fn notification(alert: Alert, seq: u64, role: RecipientRole, address: &str) -> Notification {
    Notification {
        fingerprint: alert.fingerprint.clone(),
        sequence: seq,
        rule: alert.rule.clone(),
        channel: Channel::Email,
        role,
        address: address.to_owned(),
        content: Content::Alerts { items: vec![Item::new(alert, None)] },
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy { base: Duration::from_millis(20), cap: Duration::from_millis(100), max_attempts: 5 }
}

// ---- SMTP ----

#[tokio::test]
async fn officer_mail_arrives_with_subject_evidence_and_no_bcc() {
    let sink = SmtpSink::start(&[]);
    let notifier = SmtpNotifier::new(&sink_config(&sink), "Midden-Nederland").unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    let mut a = alert();
    a.evidence[0].title = Some("Feest\r\nBcc: x@example.org".to_owned());
    a.evidence[1].excerpt = "<script>alert(1)</script> kom allemaal".to_owned();
    outbox.enqueue(notification(a, 1, RecipientRole::Officer, "oov@utrecht.example"), Utc::now()).unwrap();
    let report = outbox.deliver_pending(&notifier).await.unwrap();
    assert_eq!(report.sent, 1);

    let mails = sink.wait_for_mails(1, MAILS_WITHIN);
    assert_eq!(mails.len(), 1);
    let (meta, text, html, raw) = (&mails[0].meta, &mails[0].text, &mails[0].html, &mails[0].raw);
    assert_eq!(meta["rcpt_tos"], serde_json::json!(["oov@utrecht.example"]));
    assert_eq!(meta["mail_from"], "onrust@gemeente.example");
    assert_eq!(meta["subject"], "[onrust] Kritiek: oproep-tot-geweld — Utrecht");
    assert_eq!(meta["subject_count"], 1);
    let headers: Vec<String> =
        meta["headers"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_ascii_lowercase()).collect();
    assert!(!headers.contains(&"bcc".to_owned()), "{headers:?}");
    assert!(text.contains("Waar: gemeente Utrecht (GM0344)"));
    assert!(text.contains("Wanneer: aangekondigd voor donderdag 31 december 2026 om 22:00"));
    assert!(text.contains("Link: https://www.rtvutrecht.nl/nieuws/m3"));
    assert!(text.contains("Feest  Bcc: x@example.org"), "the title stays text on its line");
    assert!(raw.contains("multipart/alternative"));
    assert!(raw.contains("text/html"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; kom allemaal"), "{html}");
    assert!(!html.contains("<script>"));
    assert!(text.contains("<script>alert(1)</script> kom allemaal"), "plain text is the text as it is");

    let log = read_log(state.path()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].outcome, log[0].code, log[0].attempt), (Outcome::Sent, Some(250), 1));
    assert_eq!(log[0].address, "oov@utrecht.example");
    assert_eq!(log[0].role, RecipientRole::Officer);
    assert_eq!(log[0].channel, Channel::Email);
    assert_eq!(log[0].rule, "oproep-tot-geweld");
}

#[tokio::test]
async fn smtp_4xx_twice_then_250_is_one_mail_and_three_log_entries() {
    let sink = SmtpSink::start(&["--fail-first", "2", "--fail-code", "451"]);
    let notifier = SmtpNotifier::new(&sink_config(&sink), "Midden-Nederland").unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    outbox.enqueue(notification(alert(), 1, RecipientRole::Officer, "oov@utrecht.example"), Utc::now()).unwrap();
    let report = outbox.deliver_pending(&notifier).await.unwrap();
    assert_eq!((report.sent, report.failed, report.still_pending), (1, 0, 0));
    // A second round (or a restart) sends nothing more.
    outbox.deliver_pending(&notifier).await.unwrap();
    drop(outbox);
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    outbox.deliver_pending(&notifier).await.unwrap();

    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sink.wait_for_mails(1, MAILS_WITHIN).len(), 1, "exactly one mail");
    let log = read_log(state.path()).unwrap();
    let seen: Vec<(u32, Outcome, Option<u16>)> = log.iter().map(|e| (e.attempt, e.outcome, e.code)).collect();
    assert_eq!(seen, [(1, Outcome::Retry, Some(451)), (2, Outcome::Retry, Some(451)), (3, Outcome::Sent, Some(250))]);
    assert!(log[0].message.as_deref().unwrap_or("").contains("try again later"), "{:?}", log[0].message);
}

#[tokio::test]
async fn restart_between_enqueue_and_send_sends_one_mail() {
    let sink = SmtpSink::start(&[]);
    let state = tempfile::tempdir().unwrap();
    {
        let mut outbox = Outbox::open(state.path(), fast()).unwrap();
        let n = notification(alert(), 1, RecipientRole::Officer, "oov@utrecht.example");
        assert!(outbox.enqueue(n, Utc::now()).unwrap());
        // The process dies here: fired and persisted, nothing sent.
    }
    let notifier = SmtpNotifier::new(&sink_config(&sink), "Midden-Nederland").unwrap();
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    // The engine replays the firing after the restart: already known.
    let replay = notification(alert(), 1, RecipientRole::Officer, "oov@utrecht.example");
    assert!(!outbox.enqueue(replay, Utc::now()).unwrap());
    assert_eq!(outbox.pending().len(), 1);
    assert_eq!(outbox.deliver_pending(&notifier).await.unwrap().sent, 1);
    drop(outbox);
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    assert!(outbox.pending().is_empty());
    outbox.deliver_pending(&notifier).await.unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sink.wait_for_mails(1, MAILS_WITHIN).len(), 1, "one mail, not zero, not two");
}

#[tokio::test]
async fn smtp_5xx_is_a_permanent_failure() {
    let sink = SmtpSink::start(&["--fail-first", "1", "--fail-code", "550"]);
    let notifier = SmtpNotifier::new(&sink_config(&sink), "Midden-Nederland").unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    outbox.enqueue(notification(alert(), 1, RecipientRole::Officer, "oov@utrecht.example"), Utc::now()).unwrap();
    let report = outbox.deliver_pending(&notifier).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    assert!(outbox.pending().is_empty());
    let log = read_log(state.path()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].outcome, log[0].code), (Outcome::Failed, Some(550)));
    std::thread::sleep(Duration::from_millis(100));
    assert!(sink.mails().is_empty());
}

#[tokio::test]
async fn relay_down_keeps_the_mail_queued_until_it_is_back() {
    let port = free_port();
    let notifier = SmtpNotifier::new(&smtp_config("127.0.0.1", port, TlsMode::None), "Midden-Nederland").unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), RetryPolicy { max_attempts: 2, ..fast() }).unwrap();
    outbox.enqueue(notification(alert(), 1, RecipientRole::Officer, "oov@utrecht.example"), Utc::now()).unwrap();
    let report = outbox.deliver_pending(&notifier).await.unwrap();
    assert_eq!(report.still_pending, 1);
    let log = read_log(state.path()).unwrap();
    assert_eq!(log.iter().map(|e| e.outcome).collect::<Vec<_>>(), [Outcome::Retry, Outcome::Retry]);
    assert_eq!(log[0].code, None);

    let sink = SmtpSink::start_on(port, &[]);
    assert_eq!(outbox.deliver_pending(&notifier).await.unwrap().sent, 1);
    assert_eq!(sink.wait_for_mails(1, MAILS_WITHIN).len(), 1);
    assert_eq!(read_log(state.path()).unwrap().last().map(|e| e.attempt), Some(3));
}

#[tokio::test]
async fn unreviewed_mayor_mail_is_marked() {
    let sink = SmtpSink::start(&[]);
    let notifier = SmtpNotifier::new(&sink_config(&sink), "Midden-Nederland").unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    outbox.enqueue(notification(alert(), 1, RecipientRole::Mayor, "burgemeester@utrecht.example"), Utc::now()).unwrap();
    let mut reviewed = alert();
    reviewed.reviewed_by = Some("j.devries".to_owned());
    outbox
        .enqueue(notification(reviewed, 2, RecipientRole::Mayor, "burgemeester@utrecht.example"), Utc::now())
        .unwrap();
    assert_eq!(outbox.deliver_pending(&notifier).await.unwrap().sent, 2);
    let mails = sink.wait_for_mails(2, MAILS_WITHIN);
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject()).collect();
    assert!(subjects.contains(&"[onrust] ongecontroleerd signaal, Kritiek: oproep-tot-geweld — Utrecht"));
    assert!(subjects.contains(&"[onrust] Kritiek: oproep-tot-geweld — Utrecht"));
    assert!(mails.iter().any(|m| m.text.contains("bevestigd voor de burgemeester door j.devries")));
    assert!(mails.iter().any(|m| m.text.contains("ONGECONTROLEERD SIGNAAL")));
}

// ---- webhook ----

/// A minimal HTTP/1.1 endpoint: answers each request with the next status
/// from `statuses` (then 200) and hands back (headers, body) of every request.
async fn http_endpoint(statuses: Vec<u16>) -> (u16, tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, len) = loop {
                let n = sock.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed before the request was complete");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                    break (i + 4, len);
                }
            };
            while buf.len() < head_end + len {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            tx.send((head, buf[head_end..head_end + len].to_vec())).unwrap();
            let status = statuses.next().unwrap_or(200);
            let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            sock.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    (port, rx)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn webhook_posts_signed_json_and_retries_5xx() {
    use onrust_notify::webhook::WebhookNotifier;

    let (port, mut requests) = http_endpoint(vec![503]).await;
    let keydir = tempfile::tempdir().unwrap();
    let keyfile = keydir.path().join("hook.key");
    std::fs::write(&keyfile, "webhook-test-key\n").unwrap();
    let hook = WebhookNotifier::new(&keyfile, Duration::from_secs(5)).unwrap();

    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    let mut n = notification(alert(), 1, RecipientRole::Officer, &format!("http://127.0.0.1:{port}/hook"));
    n.channel = Channel::Webhook;
    outbox.enqueue(n, Utc::now()).unwrap();
    let report = outbox.deliver_pending(&hook).await.unwrap();
    assert_eq!(report.sent, 1);

    let (head1, body1) = requests.recv().await.unwrap();
    let (head2, body2) = requests.recv().await.unwrap();
    assert_eq!(body1, body2, "a retry sends the same body");
    assert_eq!(header(&head1, "x-onrust-delivery"), header(&head2, "x-onrust-delivery"));
    assert!(head2.starts_with("POST /hook HTTP/1.1"));
    assert_eq!(header(&head2, "content-type"), Some("application/json"));

    // Verify the signature independently of the crate's own helper.
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"webhook-test-key").unwrap();
    mac.update(&body2);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header(&head2, "x-onrust-signature"), Some(expected.as_str()));

    let json: serde_json::Value = serde_json::from_slice(&body2).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["fingerprint"], "3f9a0c1e".repeat(8));
    assert_eq!(json["content"]["items"][0]["alert"]["rule"], "oproep-tot-geweld");
    assert_eq!(json["content"]["items"][0]["alert"]["municipality"], "GM0344");

    let log = read_log(state.path()).unwrap();
    let seen: Vec<(Outcome, Option<u16>)> = log.iter().map(|e| (e.outcome, e.code)).collect();
    assert_eq!(seen, [(Outcome::Retry, Some(503)), (Outcome::Sent, Some(200))]);
    assert!(log.iter().all(|e| e.channel == Channel::Webhook));
}

#[tokio::test]
async fn webhook_4xx_is_permanent() {
    use onrust_notify::Secret;
    use onrust_notify::webhook::WebhookNotifier;

    let (port, _requests) = http_endpoint(vec![400]).await;
    let hook = WebhookNotifier::with_key(Secret::new("k"), Duration::from_secs(5)).unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    let mut n = notification(alert(), 1, RecipientRole::Officer, &format!("http://127.0.0.1:{port}/hook"));
    n.channel = Channel::Webhook;
    outbox.enqueue(n, Utc::now()).unwrap();
    assert_eq!(outbox.deliver_pending(&hook).await.unwrap().failed, 1);
    assert_eq!(read_log(state.path()).unwrap()[0].code, Some(400));
}

// ---- TLS (S10) ----

/// A private CA and a server certificate for `localhost` only, made with the
/// openssl command line; returns (dir, ca.pem, server.pem, server.key).
fn tls_material() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f);
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=onrust test CA"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    run(&csr);
    std::fs::write(
        p("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    let files = (p("ca.pem"), p("server.pem"), p("server.key"));
    (dir, files.0, files.1, files.2)
}

#[tokio::test]
async fn starttls_verifies_certificate_and_hostname() {
    let (_tls, ca, cert, key) = tls_material();
    let sink = SmtpSink::start(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), RetryPolicy { max_attempts: 1, ..fast() }).unwrap();
    outbox.enqueue(notification(alert(), 1, RecipientRole::Officer, "oov@utrecht.example"), Utc::now()).unwrap();

    // The right CA but a name the certificate does not carry: refused, queued.
    let mut wrong_name = smtp_config("127.0.0.1", sink.port, TlsMode::Starttls);
    wrong_name.ca_file = Some(ca.clone());
    let notifier = SmtpNotifier::new(&wrong_name, "Midden-Nederland").unwrap();
    assert_eq!(outbox.deliver_pending(&notifier).await.unwrap().still_pending, 1);

    // The right name but an unknown CA: refused, queued.
    let unknown_ca = smtp_config("localhost", sink.port, TlsMode::Starttls);
    let notifier = SmtpNotifier::new(&unknown_ca, "Midden-Nederland").unwrap();
    assert_eq!(outbox.deliver_pending(&notifier).await.unwrap().still_pending, 1);
    let log = read_log(state.path()).unwrap();
    assert_eq!(log.iter().map(|e| e.outcome).collect::<Vec<_>>(), [Outcome::Retry, Outcome::Retry]);
    let messages: Vec<&str> = log.iter().map(|e| e.message.as_deref().unwrap_or("")).collect();
    assert!(messages[0].contains("certificate not valid for name"), "{messages:?}");
    assert!(messages[1].contains("UnknownIssuer"), "{messages:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(sink.mails().is_empty(), "nothing was sent over an unverified connection");

    // Right name, right CA: the queued mail goes out, once.
    let mut good = smtp_config("localhost", sink.port, TlsMode::Starttls);
    good.ca_file = Some(ca);
    let notifier = SmtpNotifier::new(&good, "Midden-Nederland").unwrap();
    assert_eq!(outbox.deliver_pending(&notifier).await.unwrap().sent, 1);
    assert_eq!(sink.wait_for_mails(1, MAILS_WITHIN).len(), 1);
    assert_eq!(read_log(state.path()).unwrap().last().map(|e| (e.attempt, e.outcome)), Some((3, Outcome::Sent)));
}

#[tokio::test]
async fn canary_password_never_appears_in_any_output() {
    const CANARY: &str = "canary-pw-5f3e9d";
    let sink = SmtpSink::start(&["--auth-reject"]);
    let secrets = tempfile::tempdir().unwrap();
    let pw = secrets.path().join("smtp");
    std::fs::write(&pw, format!("{CANARY}\n")).unwrap();
    let mut cfg = sink_config(&sink);
    cfg.username = Some("onrust".to_owned());
    cfg.password_file = Some(pw);
    let notifier = SmtpNotifier::new(&cfg, "Midden-Nederland").unwrap();
    assert!(!format!("{notifier:?} {cfg:?}").contains(CANARY));

    let state = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(state.path(), fast()).unwrap();
    outbox.enqueue(notification(alert(), 1, RecipientRole::Officer, "oov@utrecht.example"), Utc::now()).unwrap();
    let report = outbox.deliver_pending(&notifier).await.unwrap();
    assert_eq!(report.still_pending, 1, "a rejected login (535) keeps the mail queued");
    let log = read_log(state.path()).unwrap();
    assert_eq!((log[0].outcome, log[0].code), (Outcome::Retry, Some(535)));
    for file in std::fs::read_dir(state.path()).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(!text.contains(CANARY));
    }
    assert!(!format!("{log:?} {outbox:?}").contains(CANARY));
}
