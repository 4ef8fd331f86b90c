//! The alert stage on the embedded bus: what it queues, when, for whom.

use super::baselines::ArchiveBaselines;
use super::recipients::{addresses, items};
use super::state::{STATE_FILE, StateFile, load_state, save_state, told_key};
use super::*;

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use onrust_alert::{Alert, BaselineSource, Engine, RecipientRole, SilenceRequest};
use onrust_model::Level;
use onrust_notify::log::Item;
use onrust_testkit::{holds_within_async, scored_message};
use onrust_web::alerts::AlertBackend;

use crate::config::RecipientScope;

#[test]
fn recipients_by_role_and_municipality_and_star_for_regional() {
    let utrecht = MunicipalityCode::new("GM0344").expect("code");
    let r = |scope, role, email: &str| RecipientConfig {
        scope,
        role,
        channel: if email.starts_with("https://") { Channel::Webhook } else { Channel::Email },
        address: email.to_owned(),
    };
    let recipients = vec![
        r(RecipientScope::One(utrecht.clone()), RecipientRole::Officer, "oov@utrecht.example"),
        r(RecipientScope::All, RecipientRole::Officer, "regio@oov.example"),
        r(
            RecipientScope::One(MunicipalityCode::new("GM0034").expect("code")),
            RecipientRole::Officer,
            "a@almere.example",
        ),
        r(RecipientScope::One(utrecht.clone()), RecipientRole::Mayor, "bm@utrecht.example"),
        r(RecipientScope::All, RecipientRole::Officer, "https://crisis.example/hook"),
    ];
    let mail = |a: &[(Channel, &str)]| a.iter().map(|(_, s)| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        mail(&addresses(&recipients, RecipientRole::Officer, Some(&utrecht), true)),
        ["oov@utrecht.example", "regio@oov.example", "https://crisis.example/hook"]
    );
    assert_eq!(
        addresses(&recipients, RecipientRole::Officer, None, true),
        [(Channel::Email, "regio@oov.example"), (Channel::Webhook, "https://crisis.example/hook")]
    );
    assert_eq!(
        addresses(&recipients, RecipientRole::Officer, None, false),
        [(Channel::Webhook, "https://crisis.example/hook")],
        "no mailbox without a relay; the webhook still"
    );
    assert_eq!(mail(&addresses(&recipients, RecipientRole::Mayor, Some(&utrecht), true)), ["bm@utrecht.example"]);
    assert!(addresses(&recipients, RecipientRole::Supervisor, Some(&utrecht), true).is_empty());
}

/// A period before the archive's oldest bucket is not covered (None, never
/// a quiet week); a covered one counts per municipality × theme × level.
#[test]
fn baselines_come_from_the_archive_and_say_so_when_it_does_not_cover_a_period() {
    use onrust_archive::{ArchiveOptions, ArchiveWriter};
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let now = Utc::now();
    let mut writer =
        ArchiveWriter::open(&archive, &ArchiveOptions { writer_memory_bytes: 20_000_000, ..Default::default() })
            .expect("archive");
    for i in 0..3 {
        let message = scored(&i.to_string(), Level::Escalation, &format!("vuurwerk op de politie {i}"));
        writer.upsert(&message).expect("upsert");
    }
    writer.commit().expect("commit");
    let baselines = ArchiveBaselines::open(&archive).expect("baselines");
    let long_ago = now - chrono::TimeDelta::days(400);
    assert_eq!(baselines.counts(long_ago, long_ago + chrono::TimeDelta::hours(1), 1), None);
    // From the bucket's start at the earliest, so the test holds across a week boundary too.
    let start = baselines.reader.buckets().expect("buckets").iter().map(|b| b.start).min().expect("a bucket");
    let since = (now - chrono::TimeDelta::hours(1)).max(start);
    let cells = baselines.counts(since, now + chrono::TimeDelta::minutes(1), 1).expect("covered");
    let utrecht = cells
        .iter()
        .find(|c| c.municipality.as_deref() == Some("GM0344") && c.theme.as_deref() == Some("jaarwisseling"))
        .expect("a cell for Utrecht");
    assert_eq!((utrecht.level, utrecht.messages), (3, 3));
}

/// The stage's settings for a test: nobody to tell, no archive, Utrecht named.
fn test_settings(dir: &Path, rules: Vec<Rule>, clock: Clock, evaluate_interval: Duration) -> Settings {
    Settings {
        rules,
        recipients: Vec::new(),
        webhooks: Vec::new(),
        smtp: None,
        region_name: "Midden-Nederland".into(),
        region: vec![MunicipalityCode::new("GM0344").expect("code")],
        contact: None,
        console_url: None,
        sources: vec!["forum".into()],
        evaluate_interval,
        digest_hour: 7,
        summary_lead: chrono::TimeDelta::hours(24),
        dir: dir.join("alerts"),
        archive_dir: None,
        names: vec![(MunicipalityCode::new("GM0344").expect("code"), "Utrecht".into())],
        retry: RetryPolicy::default(),
        retention: None,
        ack_within: Duration::from_millis(50),
        halted: tokio::sync::watch::channel(false).1,
        clock,
    }
}

/// A call to violence in Utrecht on the forum, fetched and published now.
pub(super) fn scored(id: &str, level: Level, text: &str) -> ScoredMessage {
    scored_at(id, level, text, Utc::now())
}

/// [`scored`], fetched and published at `at`.
fn scored_at(id: &str, level: Level, text: &str, at: DateTime<Utc>) -> ScoredMessage {
    scored_message(id)
        .source("forum")
        .id_derived()
        .url(&format!("https://forum.example/{id}"))
        .text(text)
        .fetched_at(at)
        .published_at(at)
        .level(level)
        .score(0.95)
        .theme("jaarwisseling")
        .municipality("GM0344")
        .signal("call_to_violence", "gooi vuurwerk naar de politie", 2.0)
        .build()
}

/// The stage puts every alert it fires on `onrust.alerts.v1`, keyed by
/// fingerprint, with its schema version; an unrelated message puts nothing there.
#[tokio::test]
async fn fired_alerts_are_published_on_the_alerts_topic() {
    use onrust_bus::{Bus, EmbeddedBus, EmbeddedOptions, Topic};
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = onrust_alert::validate(&[onrust_alert::RuleConfig {
        name: "oproep-tot-geweld".into(),
        kind: Some(onrust_alert::RuleKind::Critical),
        group_wait: Some("0s".into()),
        ..onrust_alert::RuleConfig::default()
    }])
    .expect("rules");
    let settings = test_settings(dir.path(), rules, Clock::system(), Duration::from_secs(3600));
    let bus =
        EmbeddedBus::new(EmbeddedOptions { capacity: 16, deadletter_path: Some(dir.path().join("deadletter.jsonl")) });
    let input = bus.subscribe(Topic::Scored, "alert").expect("subscribe");
    let mut published = bus.subscribe(Topic::Alerts, "test").expect("subscribe");
    let topics = AlertTopics {
        input,
        dead: bus.publisher(Topic::DeadLetter).expect("dead letters"),
        alerts: Some(bus.publisher(Topic::Alerts).expect("alerts")),
    };
    let scored_out = bus.publisher(Topic::Scored).expect("scored");
    bus.seal();
    let handle = AlertHandle::open(&settings).expect("state");
    let stage = tokio::spawn(run(topics, settings, handle));

    let calm = scored("m0", Level::None, "Oliebollen op de markt");
    scored_out.publish(Record::json("GM0344", &calm).expect("json"), Ack::none()).await.expect("publish");
    let call = scored("m1", Level::Escalation, "Oudjaarsavond gooien we vuurwerk naar de politie");
    scored_out.publish(Record::json("GM0344", &call).expect("json"), Ack::none()).await.expect("publish");
    let delivery = tokio::time::timeout(Duration::from_secs(10), published.recv())
        .await
        .expect("an alert event within 10 s")
        .expect("the topic is open");
    let event: AlertEvent = serde_json::from_slice(&delivery.payload).expect("an alert event");
    let key = delivery.key.clone();
    // The stage saves the state that fired the alert only once the bus has taken its event.
    let state = dir.path().join("alerts").join(STATE_FILE);
    let saved = || std::fs::read_to_string(&state).unwrap_or_default().contains(&event.alert.fingerprint);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!saved(), "state saved before the bus took the alert event");
    delivery.ack.ack();
    assert!(holds_within_async(Duration::from_secs(2), saved).await, "state saved once the event is taken");
    assert_eq!(event.schema, onrust_alert::ALERT_EVENT_SCHEMA);
    assert_eq!(event.kind, onrust_alert::TransitionKind::Firing);
    assert_eq!(key, event.alert.fingerprint, "keyed by fingerprint (docs/ARCHITECTURE.md, Topics)");
    assert_eq!(event.alert.rule, "oproep-tot-geweld");
    assert_eq!(event.alert.municipality.as_ref().map(MunicipalityCode::as_str), Some("GM0344"));
    assert!(event.alert.evidence.iter().any(|e| e.excerpt.contains("vuurwerk naar de politie")));
    drop(scored_out);
    stage.await.expect("no panic").expect("the stage ends cleanly");
    let more = tokio::time::timeout(Duration::from_millis(300), published.recv()).await;
    assert!(!matches!(more, Ok(Some(_))), "one alert, one event; the calm message none");
}

/// The stage on the embedded bus with tokio's clock (paused in these
/// tests), an officer's and a supervisor's webhook (nothing listens: what
/// counts is what the stage puts in the outbox, and when).
struct Harness {
    scored: Arc<dyn Publisher>,
    deletions: Arc<dyn Publisher>,
    handle: AlertHandle,
    clock: Clock,
    dir: tempfile::TempDir,
    _stage: tokio::task::JoinHandle<anyhow::Result<()>>,
    _bus: onrust_bus::EmbeddedBus,
}

/// What the stage put in the outbox: (role, fingerprints, rules, municipalities, enqueued at).
#[derive(Debug)]
struct Queued {
    role: String,
    fingerprints: Vec<String>,
    rules: Vec<String>,
    municipalities: Vec<Option<String>>,
    enqueued_at: DateTime<Utc>,
}

impl Harness {
    fn start(rules: &[onrust_alert::RuleConfig]) -> Self {
        use onrust_bus::{Bus, EmbeddedBus, EmbeddedOptions, Topic};
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("hook.key");
        std::fs::write(&key, "sleutel").expect("key");
        let hook = |role: RecipientRole| RecipientConfig {
            scope: RecipientScope::All,
            role,
            channel: Channel::Webhook,
            address: format!("http://127.0.0.1:9/{}", role.as_str()),
        };
        let webhooks = [RecipientRole::Officer, RecipientRole::Supervisor]
            .map(|r| WebhookConfig {
                url: format!("http://127.0.0.1:9/{}", r.as_str()),
                secret_file: key.clone(),
                timeout: Duration::from_secs(1),
            })
            .to_vec();
        let start = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 30, 20, 0, 0).single().expect("time");
        let clock = Clock::tokio(start);
        let rules = onrust_alert::validate(rules).expect("rules");
        let settings = Settings {
            recipients: vec![hook(RecipientRole::Officer), hook(RecipientRole::Supervisor)],
            webhooks,
            ..test_settings(dir.path(), rules, clock.clone(), Duration::from_secs(10))
        };
        let bus = EmbeddedBus::new(EmbeddedOptions {
            capacity: 16,
            deadletter_path: Some(dir.path().join("deadletter.jsonl")),
        });
        let input = Box::new(onrust_bus::Merged::new(
            bus.subscribe(Topic::Scored, "alert").expect("subscribe"),
            bus.subscribe(Topic::Deletions, "alert").expect("subscribe"),
        ));
        let topics = AlertTopics { input, dead: bus.publisher(Topic::DeadLetter).expect("dead"), alerts: None };
        let scored = bus.publisher(Topic::Scored).expect("scored");
        let deletions = bus.publisher(Topic::Deletions).expect("deletions");
        bus.seal();
        let handle = AlertHandle::open(&settings).expect("state");
        let stage = tokio::spawn(run(topics, settings, handle.clone()));
        Self { scored, deletions, handle, clock, dir, _stage: stage, _bus: bus }
    }

    /// The message `id` (as [`scored`] names it) is deleted at its source.
    async fn delete(&self, id: &str) {
        let source = onrust_model::SourceId::new("forum").expect("source");
        let deletion = onrust_model::Deletion {
            schema: onrust_model::SCHEMA_VERSION,
            id: onrust_model::MessageId::derive(&source, id),
            source,
            source_kind: onrust_model::SourceKind::Bluesky,
            deleted_at: self.clock.now(),
        };
        self.deletions.publish(Record::json("test", &deletion).expect("json"), Ack::none()).await.expect("publish");
    }

    /// The evidence of every alert: the name [`scored`] was given, and whether it still quotes the message.
    fn evidence(&self) -> Vec<(String, bool)> {
        let source = onrust_model::SourceId::new("forum").expect("source");
        let name = |id: &str| {
            ["vooraf", "blijft", "weg"]
                .into_iter()
                .find(|n| onrust_model::MessageId::derive(&source, n).as_str() == id)
                .unwrap_or("?")
                .to_owned()
        };
        let alerts = self.handle.list().expect("alerts");
        let mut evidence: Vec<(String, bool)> = alerts
            .iter()
            .flat_map(|a| a.evidence.iter())
            .map(|e| (name(&e.message_id), e.excerpt != onrust_alert::WITHDRAWN_EXCERPT && e.url.is_some()))
            .collect();
        evidence.sort();
        evidence
    }

    /// A message about Utrecht at `level`, published now (by the stage's clock).
    async fn send(&self, id: &str, level: Level) {
        let m = scored_at(id, level, "Oudjaarsavond gooien we vuurwerk naar de politie", self.clock.now());
        self.scored.publish(Record::json("GM0344", &m).expect("json"), Ack::none()).await.expect("publish");
    }

    fn queued(&self) -> Vec<Queued> {
        let text = std::fs::read_to_string(self.dir.path().join("alerts/outbox.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|line| {
                let n = &line["notification"];
                let items = n["content"]["items"].as_array().cloned().unwrap_or_default();
                let field = |k: &str| -> Vec<String> {
                    items.iter().map(|i| i["alert"][k].as_str().unwrap_or_default().to_owned()).collect()
                };
                let places = items.iter().map(|i| i["alert"]["municipality"].as_str().map(str::to_owned)).collect();
                let at = line["enqueued_at"].as_str().and_then(|t| t.parse().ok()).unwrap_or_default();
                Queued {
                    role: n["role"].as_str().unwrap_or_default().to_owned(),
                    fingerprints: field("fingerprint"),
                    rules: field("rule"),
                    municipalities: places,
                    enqueued_at: at,
                }
            })
            .collect()
    }

    fn queued_for(&self, role: &str) -> Vec<Queued> {
        self.queued().into_iter().filter(|q| q.role == role).collect()
    }

    fn elapsed_min(&self, at: DateTime<Utc>) -> i64 {
        let start = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 30, 20, 0, 0).single().expect("time");
        (at - start).num_minutes()
    }
}

/// A critical rule without the mayor's review, so a supervisor hears of
/// its alerts only by escalation.
pub(super) fn critical(escalate_after: Option<&str>) -> onrust_alert::RuleConfig {
    onrust_alert::RuleConfig {
        name: "oproep-tot-geweld".into(),
        kind: Some(onrust_alert::RuleKind::Critical),
        window: Some("2h".into()),
        group_wait: Some("0s".into()),
        escalate_after: escalate_after.map(str::to_owned),
        review: Some(false),
        ..onrust_alert::RuleConfig::default()
    }
}

async fn minutes(n: u64) {
    tokio::time::sleep(Duration::from_secs(60 * n)).await;
}

/// A message deleted at its source leaves the alert's evidence and what
/// waits in the outbox; one whose deletion overtook it is never observed.
#[tokio::test(start_paused = true)]
async fn a_deleted_message_leaves_the_evidence_and_one_deleted_first_is_never_seen() {
    let h = Harness::start(&[critical(None)]);
    h.delete("vooraf").await;
    minutes(1).await;
    h.send("vooraf", Level::Escalation).await;
    minutes(1).await;
    assert!(h.handle.list().expect("alerts").is_empty(), "deleted before it arrived: no alert");

    h.send("blijft", Level::Escalation).await;
    h.send("weg", Level::Escalation).await;
    minutes(1).await;
    let quoted = |name: &str, quotes: bool| (name.to_owned(), quotes);
    assert_eq!(h.evidence(), [quoted("blijft", true), quoted("weg", true)]);
    let outbox = std::fs::read_to_string(h.dir.path().join("alerts/outbox.jsonl")).unwrap_or_default();
    assert!(outbox.contains("forum.example/weg"), "queued with the message: {outbox}");
    h.delete("weg").await;
    minutes(1).await;
    assert_eq!(h.evidence(), [quoted("blijft", true), quoted("weg", false)], "withdrawn, not dropped (L9)");
    let outbox = std::fs::read_to_string(h.dir.path().join("alerts/outbox.jsonl")).unwrap_or_default();
    let weg = onrust_model::MessageId::derive(&onrust_model::SourceId::new("forum").expect("source"), "weg");
    assert!(outbox.contains("forum.example/blijft"), "the outbox holds the alert: {outbox}");
    assert!(!outbox.contains("forum.example/weg"), "nothing waiting to be sent still quotes it: {outbox}");
    // The stage remembers it across a restart of its state.
    let state = std::fs::read_to_string(h.dir.path().join("alerts").join(STATE_FILE)).expect("state");
    let file: StateFile = serde_json::from_str(&state).expect("state file");
    assert!(file.withdrawn.contains(weg.as_str()));
}

/// L3: a message erased on request that reaches the stage afterwards
/// (it was past the forwarder) is not observed, by its id or its link.
#[tokio::test(start_paused = true)]
async fn a_message_erased_on_its_way_is_not_observed() {
    let h = Harness::start(&[critical(None)]);
    let erased = Arc::new(crate::erasure::tombstones::Tombstones::open(h.dir.path()).expect("tombstones"));
    let by_id = onrust_model::MessageId::derive(&onrust_model::SourceId::new("forum").expect("source"), "gewist");
    erased.add(&[by_id.as_str().to_owned()], Some("https://forum.example/ook-gewist")).expect("tombstone");
    h.handle.refuse_erased(erased).expect("tombstones");
    h.send("gewist", Level::Escalation).await;
    h.send("ook-gewist", Level::Escalation).await;
    minutes(1).await;
    assert!(h.handle.list().expect("alerts").is_empty(), "neither is observed");
    h.send("blijft", Level::Escalation).await;
    minutes(1).await;
    assert_eq!(h.evidence(), [("blijft".to_owned(), true)], "the rest is");
}

/// A silence holds the officer's notification back until it ends; then
/// the still-firing alert is told.
#[tokio::test(start_paused = true)]
async fn a_silence_holds_notifications_back_until_it_ends() {
    let h = Harness::start(&[critical(None)]);
    let matcher = onrust_alert::Matcher { label: "municipality".into(), value: "GM0344".into(), negate: false };
    let request = SilenceRequest {
        matchers: vec![matcher],
        reason: "bekende manifestatie, politie ter plaatse".into(),
        owner: "chef-van-dienst".into(),
        ends_at: h.clock.now() + chrono::TimeDelta::minutes(30),
    };
    h.handle.silence(request).expect("silence");
    h.send("m1", Level::Escalation).await;
    minutes(20).await;
    assert!(h.queued_for("officer").is_empty(), "silenced: {:?}", h.queued());
    minutes(15).await;
    let told = h.queued_for("officer");
    assert_eq!(told.len(), 1, "told once the silence ended: {told:?}");
    assert!((30..=31).contains(&h.elapsed_min(told[0].enqueued_at)), "at its end, not before: {told:?}");
}

/// A regional alert holds back its municipal copy of the same kind and
/// severity; a more severe municipal one still goes out.
#[tokio::test(start_paused = true)]
async fn a_regional_alert_inhibits_its_municipal_copy_unless_that_is_more_severe() {
    let threshold = |name: &str, per: onrust_alert::Scope, severity: onrust_alert::Severity| onrust_alert::RuleConfig {
        name: name.into(),
        kind: Some(onrust_alert::RuleKind::Threshold),
        severity: Some(severity),
        count: Some(2),
        window: Some("1h".into()),
        per: Some(per),
        group_wait: Some("0s".into()),
        ..onrust_alert::RuleConfig::default()
    };
    use onrust_alert::{Scope, Severity};
    let h = Harness::start(&[
        threshold("mobilisatie-regio", Scope::Region, Severity::Warning),
        threshold("mobilisatie", Scope::Municipality, Severity::Warning),
        threshold("mobilisatie-ernstig", Scope::Municipality, Severity::Critical),
    ]);
    h.send("m1", Level::Mobilisation).await;
    h.send("m2", Level::Mobilisation).await;
    minutes(2).await;
    let rules: Vec<String> = h.queued_for("officer").into_iter().flat_map(|q| q.rules).collect();
    assert!(rules.contains(&"mobilisatie-regio".to_owned()), "the regional alert is told: {rules:?}");
    assert!(rules.contains(&"mobilisatie-ernstig".to_owned()), "more severe than the regional: {rules:?}");
    assert!(!rules.contains(&"mobilisatie".to_owned()), "the municipal copy is held back: {rules:?}");
    let regional = h.queued_for("officer").into_iter().find(|q| q.rules == ["mobilisatie-regio"]).expect("regional");
    assert_eq!(regional.municipalities, [None], "regional: no municipality");
}

/// An acknowledged alert is not escalated; one nobody acknowledges goes to
/// the supervisor after `escalate_after`, once.
#[tokio::test(start_paused = true)]
async fn acknowledgement_stops_escalation_and_silence_of_the_officers_escalates() {
    let acked = Harness::start(&[critical(Some("30m"))]);
    acked.send("m1", Level::Escalation).await;
    minutes(1).await;
    let told = acked.queued_for("officer");
    assert_eq!(told.len(), 1, "{told:?}");
    let fingerprint = told[0].fingerprints[0].clone();
    minutes(9).await;
    let alert = acked.handle.acknowledge(&fingerprint, "oov-utrecht", "ME ingelicht").expect("ack");
    assert_eq!(alert.acknowledged_by.as_deref(), Some("oov-utrecht"));
    minutes(40).await;
    assert!(acked.queued_for("supervisor").is_empty(), "acknowledged: no escalation {:?}", acked.queued());

    let ignored = Harness::start(&[critical(Some("30m"))]);
    ignored.send("m1", Level::Escalation).await;
    minutes(25).await;
    assert!(ignored.queued_for("supervisor").is_empty(), "not before escalate_after: {:?}", ignored.queued());
    minutes(10).await;
    let escalated = ignored.queued_for("supervisor");
    assert_eq!(escalated.len(), 1, "{:?}", ignored.queued());
    assert!((30..=31).contains(&ignored.elapsed_min(escalated[0].enqueued_at)), "{escalated:?}");
    minutes(60).await;
    assert_eq!(ignored.queued_for("supervisor").len(), 1, "once");
}

/// A webhook receiver on loopback that answers 204 only after `delay`;
/// the instants at which requests arrived.
fn slow_receiver(delay: Duration) -> (String, Arc<Mutex<Vec<std::time::Instant>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let seen: Arc<Mutex<Vec<std::time::Instant>>> = Arc::default();
    let calls = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let calls = Arc::clone(&calls);
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = stream.read(&mut buf);
                calls.lock().expect("calls").push(std::time::Instant::now());
                std::thread::sleep(delay);
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            });
        }
    });
    (url, seen)
}

/// Issue 20, item 5: while a relay takes 10 s to answer, the stage still
/// takes in messages (a new alert is queued and its message acknowledged)
/// and the API still acknowledges alerts: the outbox is not locked over
/// the network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_answers_after_ten_seconds_holds_up_neither_intake_nor_acknowledgements() {
    use onrust_bus::{Bus, EmbeddedBus, EmbeddedOptions, Topic};
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, calls) = slow_receiver(Duration::from_secs(10));
    let key = dir.path().join("hook.key");
    std::fs::write(&key, "sleutel").expect("key");
    let rules = onrust_alert::validate(&[critical(None)]).expect("rules");
    let settings = Settings {
        recipients: vec![RecipientConfig {
            scope: RecipientScope::All,
            role: RecipientRole::Officer,
            channel: Channel::Webhook,
            address: url.clone(),
        }],
        webhooks: vec![WebhookConfig { url, secret_file: key, timeout: Duration::from_secs(30) }],
        names: ["GM0344 Utrecht", "GM0307 Amersfoort"]
            .map(|n| (MunicipalityCode::new(&n[..6]).expect("code"), n[7..].to_owned()))
            .to_vec(),
        ..test_settings(dir.path(), rules, Clock::system(), Duration::from_secs(3600))
    };
    let bus =
        EmbeddedBus::new(EmbeddedOptions { capacity: 16, deadletter_path: Some(dir.path().join("deadletter.jsonl")) });
    let topics = AlertTopics {
        input: bus.subscribe(Topic::Scored, "alert").expect("subscribe"),
        dead: bus.publisher(Topic::DeadLetter).expect("dead letters"),
        alerts: None,
    };
    let scored_out = bus.publisher(Topic::Scored).expect("scored");
    bus.seal();
    let handle = AlertHandle::open(&settings).expect("state");
    let stage = tokio::spawn(run(topics, settings, handle.clone()));

    let first = scored("m1", Level::Escalation, "Oudjaarsavond gooien we vuurwerk naar de politie");
    scored_out.publish(Record::json("GM0344", &first).expect("json"), Ack::none()).await.expect("publish");
    let called = holds_within_async(Duration::from_secs(10), || !calls.lock().expect("calls").is_empty()).await;
    assert!(called, "the relay was never called");
    let relay_busy_since = std::time::Instant::now();

    // Intake: a call in another municipality is taken in, its alert queued and its message acknowledged.
    let mut second = scored("m2", Level::Escalation, "Oudjaarsavond gooien we vuurwerk naar de politie");
    second.assessment.municipalities = vec![MunicipalityCode::new("GM0307").expect("code")];
    let (acked_tx, acked_rx) = tokio::sync::oneshot::channel();
    let ack = Ack::new(move |ok| {
        let _ = acked_tx.send(ok);
    });
    scored_out.publish(Record::json("GM0307", &second).expect("json"), ack).await.expect("publish");
    let acked = tokio::time::timeout(Duration::from_secs(5), acked_rx).await;
    assert!(matches!(acked, Ok(Ok(true))), "the second message was not acknowledged while the relay answered");
    let outbox = std::fs::read_to_string(dir.path().join("alerts/outbox.jsonl")).expect("outbox");
    assert_eq!(outbox.lines().count(), 2, "the second alert is queued meanwhile: {outbox}");
    // Acknowledgements through the API.
    let fingerprint = handle
        .list()
        .expect("alerts")
        .iter()
        .find(|a| a.municipality.as_ref().is_some_and(|m| m.as_str() == "GM0344"))
        .map(|a| a.fingerprint.clone())
        .expect("Utrecht's alert");
    let asked = std::time::Instant::now();
    handle.acknowledge(&fingerprint, "oov-utrecht", "ME ingelicht").expect("ack");
    assert!(asked.elapsed() < Duration::from_secs(1), "acknowledging took {:?}", asked.elapsed());
    let meanwhile = relay_busy_since.elapsed();
    eprintln!("intake and acknowledgement done {} ms into a 10 s relay answer", meanwhile.as_millis());
    assert!(meanwhile < Duration::from_secs(8), "all this happened while the relay was still answering");
    assert_eq!(calls.lock().expect("calls").len(), 1, "still the first call in flight");
    // Once the relay answers, the second notification goes out too.
    let both = holds_within_async(Duration::from_secs(20), || calls.lock().expect("calls").len() >= 2).await;
    assert!(both, "the second notification never went out");
    drop(scored_out);
    stage.abort();
}

/// Issue 16: the id a mail prints names one alert among those current.
/// Two share their first 9 characters: each is named by 10, which the
/// CLI's lookup (`onrust alerts ack <id>`) resolves to it, where 8 would
/// be refused as ambiguous; an alert alone keeps its 8.
#[test]
fn a_mail_names_each_alert_by_an_id_no_other_current_alert_shares() {
    let rules = onrust_alert::validate(&[critical(None)]).expect("rules");
    let mut engine = Engine::new(rules);
    let now = Utc::now();
    let transitions = engine.observe(&scored("m1", Level::Escalation, "Gooi vuurwerk naar de politie"), now);
    let alert = transitions.first().map(|t| t.alert.clone()).expect("an alert");
    let named = |fingerprint: String| Alert { fingerprint, municipality_name: Some("Utrecht".into()), ..alert.clone() };
    let (first, second, alone) = (
        named(format!("3f9a0c1e7{}", "a".repeat(55))),
        named(format!("3f9a0c1e7{}", "b".repeat(55))),
        named(format!("01234567{}", "c".repeat(56))),
    );
    let current = [&first, &second, &alone].map(|a| a.fingerprint.clone()).to_vec();
    let made = items(&[first.clone(), alone.clone()], None, &current);
    assert_eq!(made.iter().map(Item::short_id).collect::<Vec<_>>(), ["3f9a0c1e7a", "01234567"]);
    let ctx = onrust_alert::render::email::MailContext {
        role: RecipientRole::Officer,
        region_name: "Midden-Nederland".into(),
        contact: None,
        console_url: None,
    };
    let mail = onrust_alert::render::email::render_alert(
        onrust_alert::render::email::MailItem { alert: &made[0].alert, previous: None, short_id: made[0].short_id() },
        &ctx,
    )
    .expect("mail");
    assert!(mail.text.contains("onrust alerts ack 3f9a0c1e7a --reason"), "{}", mail.text);
    let resolved = crate::commands::alerts::unique_prefix("3f9a0c1e7a", &current).expect("one alert");
    assert_eq!(resolved, first.fingerprint);
    assert!(crate::commands::alerts::unique_prefix("3f9a0c1e", &current).is_err(), "8 would name two");
    // What the role was told before comes along, for "what changed".
    let mut told = BTreeMap::new();
    told.insert(told_key(RecipientRole::Officer, &first.fingerprint), first.clone());
    let again = items(std::slice::from_ref(&first), Some((RecipientRole::Officer, &told)), &current);
    assert_eq!(again[0].previous.as_ref().map(|p| p.fingerprint.as_str()), Some(first.fingerprint.as_str()));
    assert!(items(&[first], Some((RecipientRole::Mayor, &told)), &current)[0].previous.is_none());
}

/// Issue 16: a silence for a municipality the region does not have
/// would silence nothing, quietly: refused, naming it. One written as
/// people write it is the municipality, and so are the unplaced and the
/// region-wide alerts' labels.
#[test]
fn a_silence_names_a_municipality_of_the_region_or_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = onrust_alert::validate(&[critical(None)]).expect("rules");
    let handle =
        AlertHandle::open(&test_settings(dir.path(), rules, Clock::system(), Duration::from_secs(60))).expect("handle");
    let silence = |value: &str| SilenceRequest {
        matchers: vec![onrust_alert::Matcher { label: "municipality".into(), value: value.into(), negate: false }],
        reason: "bekende manifestatie".into(),
        owner: "chef-van-dienst".into(),
        ends_at: Utc::now() + chrono::TimeDelta::hours(2),
    };
    for unknown in ["GM9999", "GM0307", "Utrecht"] {
        let err = handle.silence(silence(unknown)).expect_err(unknown).to_string();
        assert!(err.contains(&format!("{unknown:?} is no municipality of the region")), "{err}");
    }
    for known in ["0344", "onbekend", ""] {
        handle.silence(silence(known)).unwrap_or_else(|e| panic!("{known}: {e}"));
    }
    let values: Vec<String> =
        handle.silences().expect("silences").into_iter().map(|s| s.matchers[0].value.clone()).collect();
    assert!(values.contains(&"GM0344".to_owned()), "written as the alerts carry it: {values:?}");
    assert_eq!(values.len(), 3);
}

/// A change the state file cannot take is refused as unavailable, and the
/// error keeps why (the file's own I/O error) for the log, not only its text.
#[test]
fn a_change_that_cannot_be_saved_keeps_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = onrust_alert::validate(&[critical(None)]).expect("rules");
    let handle =
        AlertHandle::open(&test_settings(dir.path(), rules, Clock::system(), Duration::from_secs(60))).expect("handle");
    // A directory where the state file goes: the rename over it fails.
    let state_file = dir.path().join("alerts").join(STATE_FILE);
    let _ = std::fs::remove_file(&state_file);
    std::fs::create_dir_all(&state_file).expect("a directory in the way");
    let refused = handle
        .silence(SilenceRequest {
            matchers: vec![onrust_alert::Matcher { label: "municipality".into(), value: "0344".into(), negate: false }],
            reason: "bekende manifestatie".into(),
            owner: "chef-van-dienst".into(),
            ends_at: Utc::now() + chrono::TimeDelta::hours(2),
        })
        .expect_err("not saved");
    assert!(matches!(refused, onrust_web::alerts::AlertBackendError::Unavailable(_)), "{refused:?}");
    let mut causes = Vec::new();
    let mut next = std::error::Error::source(&refused);
    while let Some(cause) = next {
        causes.push(cause.to_string());
        next = cause.source();
    }
    assert!(causes.first().is_some_and(|c| c.starts_with("cannot save ")), "{causes:?}");
    let last = std::error::Error::source(&refused)
        .and_then(|cause| cause.source())
        .and_then(|io| io.downcast_ref::<std::io::Error>());
    assert!(last.is_some(), "the file's I/O error is kept: {causes:?}");
}

#[test]
fn state_round_trips_through_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = onrust_alert::validate(&[onrust_alert::RuleConfig {
        name: "oproep-tot-geweld".into(),
        kind: Some(onrust_alert::RuleKind::Critical),
        ..onrust_alert::RuleConfig::default()
    }])
    .expect("rules");
    let mut core = load_state(dir.path(), &rules, Utc::now()).expect("fresh");
    assert!(core.last_digest.is_some(), "no digest on the very first start");
    core.sequences.insert("abc".to_owned(), 2);
    core.last_digest = NaiveDate::from_ymd_opt(2026, 12, 30);
    save_state(dir.path(), &core).expect("save");
    let core = load_state(dir.path(), &rules, Utc::now()).expect("restore");
    assert_eq!(core.sequences.get("abc"), Some(&2));
    assert_eq!(core.last_digest, NaiveDate::from_ymd_opt(2026, 12, 30));
    assert!(!dir.path().join("state.json.tmp").exists());
}

/// The withdrawn ids are kept as `[id, at]` pairs in the state file, as
/// before they had a name in the code: a file written by an older onrust
/// reads, and is written back the same.
#[test]
fn withdrawn_ids_keep_their_pairs_in_the_state_file() {
    let old = r#"[["forum:abc","2026-12-30T20:00:00Z"],["forum:def","2026-12-30T21:00:00Z"]]"#;
    let withdrawn: super::state::Withdrawn = serde_json::from_str(old).expect("the old pairs");
    assert!(withdrawn.contains("forum:abc") && withdrawn.contains("forum:def"));
    assert!(!withdrawn.contains("forum:xyz"));
    assert_eq!(serde_json::to_string(&withdrawn).expect("json"), old);
}
