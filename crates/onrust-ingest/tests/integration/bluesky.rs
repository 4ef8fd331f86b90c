//! The Jetstream source against a local WebSocket server replaying recorded events.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use onrust_ingest::bluesky::{JetstreamSource, Relevance};
use onrust_ingest::cursor::SourceCursor;
use onrust_ingest::fetch::{FetchLimits, Fetcher};
use onrust_ingest::source::{SourceContext, SourceSettings};
use onrust_model::{Ack, Deletion, MessageId, RawMessage, SourceId, SourceKind};
use onrust_testkit::wait_until_async;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

use crate::support::{EVENTUALLY, fetcher_with, local_fetcher};

const FIXTURE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/jetstream/expected_v1.jsonl"));

const CANARY_DID: &str = "did:plc:canaryhandle77aaaaaaaaaaa";
const CANARY_HANDLE: &str = "canary_handle_77";

/// Every language the fixture's posts declare.
const FIXTURE_LANGS: &[&str] = &["en", "ja", "ko", "de", "tr", "ru", "es"];

fn fixture() -> Vec<String> {
    FIXTURE.lines().map(str::to_owned).collect()
}

fn time_of(line: &str) -> Option<i64> {
    serde_json::from_str::<Value>(line).ok()?.get("time_us")?.as_i64()
}

fn max_time(lines: &[String]) -> i64 {
    lines.iter().filter_map(|l| time_of(l)).max().unwrap()
}

/// Synthetic events after the fixture: an identity event carrying the canary
/// handle, a Dutch post by the canary mentioning the handle, an off-topic
/// Dutch post, and a Dutch post that is created and then deleted.
fn canary_lines() -> Vec<String> {
    let base = max_time(&fixture()) + 1_000;
    let post = |t: i64, rkey: &str, text: &str| {
        serde_json::json!({
            "did": CANARY_DID, "time_us": t, "kind": "commit",
            "commit": {"rev": format!("rev{t}"), "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
                "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-07-04T15:00:00.000Z", "langs": ["nl"], "text": text},
                "cid": "bafyfake"}
        })
        .to_string()
    };
    vec![
        serde_json::json!({"did": CANARY_DID, "time_us": base, "kind": "identity",
            "identity": {"did": CANARY_DID, "handle": format!("{CANARY_HANDLE}.bsky.social"), "seq": 1, "time": "2026-07-04T15:00:00.000Z"}})
        .to_string(),
        post(base + 1, "3canarypost1", &format!("Morgen demonstratie op het plein, zegt @{CANARY_HANDLE}.bsky.social")),
        post(base + 2, "3canarypost2", "Dit is off-topic gebabbel"),
        post(base + 3, "3canarypost3", "Deze post wordt zo weer verwijderd"),
        serde_json::json!({"did": CANARY_DID, "time_us": base + 4, "kind": "commit",
            "commit": {"rev": format!("rev{}", base + 4), "operation": "delete", "collection": "app.bsky.feed.post", "rkey": "3canarypost3"}})
        .to_string(),
    ]
}

fn post_id(source: &SourceId, did: &str, rkey: &str) -> MessageId {
    MessageId::derive(source, &format!("at://{did}/app.bsky.feed.post/{rkey}"))
}

/// What the fixture should yield, computed from the JSON independently of the
/// source: (ids of created posts with text, by language; ids of deleted posts
/// among them: a deletion of a post never sent is not forwarded).
fn expected(source: &SourceId, lines: &[String], langs: Option<&[&str]>) -> (HashSet<MessageId>, HashSet<MessageId>) {
    let mut posts = HashSet::new();
    let mut deletes = HashSet::new();
    for line in lines {
        let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
        let commit = &event["commit"];
        if event["kind"] != "commit" || commit["collection"] != "app.bsky.feed.post" {
            continue;
        }
        let id = post_id(source, event["did"].as_str().unwrap(), commit["rkey"].as_str().unwrap());
        match commit["operation"].as_str() {
            Some("delete") => {
                deletes.insert(id);
            }
            Some("create") => {
                let record = &commit["record"];
                let text = record["text"].as_str().unwrap_or_default();
                let declared: Vec<&str> = record["langs"]
                    .as_array()
                    .map(|l| l.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let language_ok = match langs {
                    None => true,
                    Some(wanted) => declared.iter().any(|d| wanted.contains(&d.split('-').next().unwrap())),
                };
                if !text.trim().is_empty() && language_ok && !text.contains("off-topic") {
                    posts.insert(id);
                }
            }
            _ => {}
        }
    }
    deletes.retain(|id| posts.contains(id));
    (posts, deletes)
}

/// A created post with `langs` and `text`.
fn post_line(did: &str, t: i64, rkey: &str, lang: &str, text: &str) -> String {
    serde_json::json!({
        "did": did, "time_us": t, "kind": "commit",
        "commit": {"rev": format!("rev{t}"), "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
            "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-07-04T15:00:00.000Z", "langs": [lang], "text": text},
            "cid": "bafyfake"}
    })
    .to_string()
}

/// A deleted post.
fn delete_line(did: &str, t: i64, rkey: &str) -> String {
    serde_json::json!({"did": did, "time_us": t, "kind": "commit",
        "commit": {"rev": format!("rev{t}"), "operation": "delete", "collection": "app.bsky.feed.post", "rkey": rkey}})
    .to_string()
}

/// Rejects texts that say they are off-topic.
struct NotOffTopic;

impl Relevance for NotOffTopic {
    fn is_relevant(&self, text: &str) -> bool {
        !text.contains("off-topic")
    }
}

// ---- a Jetstream stand-in ----

/// What a connection gets: frames to send, optionally more once the test
/// says so, then whether to hang up at once.
struct Serve {
    frames: Vec<Message>,
    later: Option<(Arc<Notify>, Vec<Message>)>,
    hang_up: bool,
}

impl Serve {
    fn lines(lines: Vec<String>) -> Self {
        Self { frames: text_frames(lines), later: None, hang_up: false }
    }
}

fn text_frames(lines: Vec<String>) -> Vec<Message> {
    lines.into_iter().map(|l| Message::Text(l.into())).collect()
}

/// The lines a Jetstream would replay for `cursor`: those at or after it.
fn replay_from(lines: &[String], cursor: Option<i64>) -> Vec<String> {
    lines.iter().filter(|l| cursor.is_none_or(|c| time_of(l).is_none_or(|t| t >= c))).cloned().collect()
}

struct Jetstream {
    addr: std::net::SocketAddr,
    uris: Arc<Mutex<Vec<String>>>,
    accepted: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
}

impl Jetstream {
    async fn start(plan: impl Fn(usize, Option<i64>) -> Serve + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let uris = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        let plan = Arc::new(plan);
        let (u, a, s) = (Arc::clone(&uris), Arc::clone(&accepted), Arc::clone(&served));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let connection = a.fetch_add(1, Ordering::SeqCst);
                let (uris, served, plan) = (Arc::clone(&u), Arc::clone(&s), Arc::clone(&plan));
                tokio::spawn(async move {
                    let seen_uri = Arc::new(Mutex::new(String::new()));
                    let record = Arc::clone(&seen_uri);
                    #[expect(clippy::result_large_err, reason = "the signature tungstenite asks for")]
                    let callback = move |request: &Request, response: Response| {
                        *record.lock().unwrap() = request.uri().to_string();
                        Ok(response)
                    };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else { return };
                    let uri = seen_uri.lock().unwrap().clone();
                    uris.lock().unwrap().push(uri.clone());
                    let cursor = url::Url::parse(&format!("ws://x{uri}"))
                        .unwrap()
                        .query_pairs()
                        .find(|(k, _)| k == "cursor")
                        .map(|(_, v)| v.parse::<i64>().unwrap());
                    let serve = plan(connection, cursor);
                    let mut frames = serve.frames;
                    if let Some((go, later)) = serve.later {
                        for frame in frames.drain(..) {
                            if ws.send(frame).await.is_err() {
                                return;
                            }
                        }
                        go.notified().await;
                        frames = later;
                    }
                    for frame in frames {
                        if ws.send(frame).await.is_err() {
                            return;
                        }
                    }
                    served.fetch_add(1, Ordering::SeqCst);
                    if serve.hang_up {
                        return;
                    }
                    // Stay open until the client goes.
                    while let Some(Ok(_)) = ws.next().await {}
                });
            }
        });
        Self { addr, uris, accepted, served }
    }

    fn url(&self) -> url::Url {
        url::Url::parse(&format!("ws://{}/subscribe", self.addr)).unwrap()
    }

    fn uris(&self) -> Vec<String> {
        self.uris.lock().unwrap().clone()
    }

    fn cursor_param(&self, connection: usize) -> Option<i64> {
        let uri = self.uris().get(connection)?.clone();
        url::Url::parse(&format!("ws://x{uri}"))
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "cursor")
            .map(|(_, v)| v.parse().unwrap())
    }
}

// ---- metrics, observed through the test binary's recorder ----

fn install_capture() {
    crate::support::install_recorder();
}

fn counter(name: &str, source: &SourceId, outcome: &str) -> u64 {
    let source = source.to_string();
    crate::support::counter(name, &[("source", &source), ("source_kind", "bluesky"), ("outcome", outcome)])
}

fn skipped(source: &SourceId, outcome: &str) -> u64 {
    counter("onrust_source_skipped_items_total", source, outcome)
}

fn gaps(source: &SourceId) -> u64 {
    counter("onrust_source_coverage_gaps_total", source, "backlog_exceeded")
}

fn oversized_gaps(source: &SourceId) -> u64 {
    counter("onrust_source_coverage_gaps_total", source, "oversized")
}

// ---- the source under test ----

struct Harness {
    dir: tempfile::TempDir,
    ctx: SourceContext,
    id: SourceId,
}

impl Harness {
    fn new(id: &str) -> Self {
        Self::with_fetcher(id, local_fetcher())
    }

    fn with_fetcher(id: &str, fetcher: Fetcher) -> Self {
        install_capture();
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::support::context_in(dir.path(), fetcher);
        Self { dir, ctx, id: SourceId::new(id).unwrap() }
    }

    fn source(&self, url: url::Url, languages: &[&str]) -> JetstreamSource {
        let mut settings =
            SourceSettings::new(self.id.clone(), SourceKind::Bluesky, url.as_str(), Duration::from_secs(60));
        settings.shutdown_grace = Duration::from_secs(2);
        let mut source = JetstreamSource::new(
            settings,
            url,
            languages.iter().map(|l| (*l).to_owned()).collect(),
            Arc::new(NotOffTopic),
        );
        source.batch_wait = Duration::from_millis(50);
        source.min_backoff = Duration::from_millis(50);
        source.connect_timeout = Duration::from_secs(2);
        source
    }

    fn start(&self, source: JetstreamSource) -> Running {
        let (tx, rx) = mpsc::channel(64);
        let (dtx, drx) = mpsc::channel(64);
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(source.run(self.ctx.clone(), tx, dtx, shutdown));
        Running { rx, drx, stop, task, seen: Seen::default() }
    }

    /// The record of sent message ids, beside the cursor.
    fn sent_file(&self) -> std::path::PathBuf {
        self.dir.path().join("cursors").join(format!("{}.sent", self.id))
    }

    fn stored_time(&self) -> Option<i64> {
        self.ctx.cursors.load(&self.id).unwrap()?.positions.get("time_us").map(|t| t.parse().unwrap())
    }
}

#[derive(Default)]
struct Seen {
    messages: Vec<RawMessage>,
    deletions: Vec<Deletion>,
}

impl Seen {
    fn message_ids(&self) -> Vec<MessageId> {
        self.messages.iter().map(|m| m.id.clone()).collect()
    }

    fn has_all(&self, posts: &HashSet<MessageId>, deletes: &HashSet<MessageId>) -> bool {
        let messages: HashSet<MessageId> = self.message_ids().into_iter().collect();
        let deletions: HashSet<MessageId> = self.deletions.iter().map(|d| d.id.clone()).collect();
        posts.is_subset(&messages) && deletes.is_subset(&deletions)
    }

    fn assert_unique(&self) {
        let ids = self.message_ids();
        let unique: HashSet<&MessageId> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "a message was delivered twice");
        let unique: HashSet<&MessageId> = self.deletions.iter().map(|d| &d.id).collect();
        assert_eq!(unique.len(), self.deletions.len(), "a deletion was delivered twice");
    }
}

enum Got {
    Message(RawMessage, Ack),
    Deletion(Deletion, Ack),
}

struct Running {
    rx: mpsc::Receiver<(RawMessage, Ack)>,
    drx: mpsc::Receiver<(Deletion, Ack)>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    seen: Seen,
}

impl Running {
    async fn next_within(&mut self, wait: Duration) -> Option<Got> {
        tokio::time::timeout(wait, async {
            tokio::select! {
                Some((m, a)) = self.rx.recv() => Got::Message(m, a),
                Some((d, a)) = self.drx.recv() => Got::Deletion(d, a),
                else => panic!("the source closed its channels"),
            }
        })
        .await
        .ok()
    }

    /// Receives and records one item, returning its ack unacknowledged.
    async fn next(&mut self) -> Ack {
        match self.next_within(Duration::from_secs(5)).await.expect("timed out waiting for an item") {
            Got::Message(m, a) => {
                self.seen.messages.push(m);
                a
            }
            Got::Deletion(d, a) => {
                self.seen.deletions.push(d);
                a
            }
        }
    }

    /// Receives and acknowledges items until `done` holds.
    async fn ack_until(&mut self, done: impl Fn(&Seen) -> bool) {
        while !done(&self.seen) {
            self.next().await.ack();
        }
    }

    /// Asserts nothing more arrives for `wait`.
    async fn nothing_for(&mut self, wait: Duration) {
        match self.next_within(wait).await {
            None => {}
            Some(Got::Message(m, _)) => panic!("unexpected message {}", m.id),
            Some(Got::Deletion(d, _)) => panic!("unexpected deletion {}", d.id),
        }
    }

    async fn stop(self) -> Seen {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task).await.expect("source did not stop").unwrap();
        self.seen
    }
}

// ---- the tests ----

#[tokio::test]
async fn posts_become_messages_deletes_become_deletions_and_no_did_or_handle_leaves() {
    let h = Harness::new("bsky_all");
    let lines: Vec<String> = fixture().into_iter().chain(canary_lines()).collect();
    let served = lines.clone();
    let server = Jetstream::start(move |_, cursor| Serve::lines(replay_from(&served, cursor))).await;
    let mut languages = FIXTURE_LANGS.to_vec();
    languages.push("nl");
    let mut source = h.source(server.url(), &languages);
    source.accept_untagged = true;
    let (posts, deletes) = expected(&h.id, &lines, None);
    // 16 fixture posts with text (one is empty), the canary's and the one later deleted; of the 1 + 1
    // deletes only the canary's is of a post sent (the fixture's deletes a post never seen).
    assert_eq!((posts.len(), deletes.len()), (18, 1));

    let mut running = h.start(source);
    running.ack_until(|seen| seen.has_all(&posts, &deletes)).await;
    running.nothing_for(Duration::from_millis(300)).await;
    let uris = server.uris();
    let seen = running.stop().await;
    seen.assert_unique();
    assert_eq!(seen.message_ids().into_iter().collect::<HashSet<_>>(), posts);
    assert_eq!(seen.deletions.len(), 1);
    assert_eq!(skipped(&h.id, "not_ours"), 1);

    // A deletion carries the id its create had.
    let created = seen.messages.iter().find(|m| m.text.starts_with("Deze post")).unwrap();
    assert!(seen.deletions.iter().any(|d| d.id == created.id));
    assert_eq!(created.id, post_id(&h.id, CANARY_DID, "3canarypost3"));

    for message in &seen.messages {
        assert_eq!(message.source_kind, SourceKind::Bluesky);
        assert!(message.url.is_none() && message.title.is_none());
        assert!(message.author.is_some());
    }
    let canary = seen.messages.iter().find(|m| m.text.starts_with("Morgen")).unwrap();
    assert_eq!(canary.text, "Morgen demonstratie op het plein, zegt @[user]");
    assert_eq!(canary.lang_hint.as_deref(), Some("nl"));
    assert_eq!(canary.published_at.unwrap().to_rfc3339(), "2026-07-04T15:00:00+00:00");
    // The same author, the same pseudonym; never the DID.
    let deleted_one = seen.messages.iter().find(|m| m.text.starts_with("Deze")).unwrap();
    assert_eq!(canary.author, deleted_one.author);

    let json = serde_json::to_string(&(&seen.messages, &seen.deletions)).unwrap();
    assert!(!json.contains("did:plc:"), "a DID leaked");
    assert!(!json.contains("did:"), "a DID leaked");
    assert!(!json.contains(CANARY_HANDLE), "the canary handle leaked");

    assert_eq!(uris.len(), 1);
    assert!(uris[0].contains("wantedCollections=app.bsky.feed.post"), "{}", uris[0]);
    assert!(
        uris[0].contains("maxMessageSizeBytes=1048576"),
        "Jetstream drops what the socket would refuse: {}",
        uris[0]
    );
    assert!(!uris[0].contains("cursor="), "a fresh source connects live: {}", uris[0]);
    assert_eq!(skipped(&h.id, "empty"), 1);
    assert!(onrust_ingest::source_health()["bsky_all"].last_success.is_some());
}

#[tokio::test]
async fn only_configured_languages_pass_and_the_rest_is_counted() {
    let h = Harness::new("bsky_nl");
    let lines: Vec<String> = fixture().into_iter().chain(canary_lines()).collect();
    let served = lines.clone();
    let server = Jetstream::start(move |_, cursor| Serve::lines(replay_from(&served, cursor))).await;
    let source = h.source(server.url(), &["nl"]);
    let (posts, deletes) = expected(&h.id, &lines, Some(&["nl"]));
    assert_eq!((posts.len(), deletes.len()), (2, 1));

    let mut running = h.start(source);
    running.ack_until(|seen| seen.has_all(&posts, &deletes)).await;
    running.nothing_for(Duration::from_millis(300)).await;
    let seen = running.stop().await;
    assert_eq!(seen.message_ids().into_iter().collect::<HashSet<_>>(), posts);
    // Only the deletion of a post sent is forwarded; the fixture's (a post never seen) is not.
    assert_eq!(seen.deletions.len(), 1);
    assert_eq!(skipped(&h.id, "not_ours"), 1);
    assert!(seen.messages.iter().all(|m| m.lang_hint.as_deref() == Some("nl")));
    // All 17 fixture posts are left out by language (the untagged one too); one Dutch one is off topic.
    assert_eq!(skipped(&h.id, "language"), 17);
    assert_eq!(skipped(&h.id, "off_topic"), 1);
}

#[tokio::test]
async fn the_cursor_follows_the_acks_and_a_restart_rewinds() {
    let h = Harness::new("bsky_cursor");
    // The stream ends with an event that needs no ack (the canary identity):
    // the cursor must still reach it once the batches before it are acked.
    let lines: Vec<String> = fixture().into_iter().chain(canary_lines().into_iter().take(1)).collect();
    let last = max_time(&lines);
    assert!(lines.last().unwrap().contains("\"identity\""));
    let served = lines.clone();
    let go = Arc::new(Notify::new());
    let go_server = Arc::clone(&go);
    let server = Jetstream::start(move |connection, cursor| {
        let mut serve = Serve::lines(replay_from(&served, cursor));
        if connection == 0 {
            // The identity event comes only after every batch is out, so it lands behind them.
            let last = serve.frames.pop().unwrap();
            serve.later = Some((Arc::clone(&go_server), vec![last]));
        }
        serve
    })
    .await;
    let (posts, deletes) = expected(&h.id, &lines, Some(FIXTURE_LANGS));
    let mut source = h.source(server.url(), FIXTURE_LANGS);
    source.backlog = Duration::from_secs(3650 * 86400);

    let mut running = h.start(source);
    let mut held = Vec::new();
    while !running.seen.has_all(&posts, &deletes) {
        held.push(running.next().await);
    }
    go.notify_one();
    // Nothing acknowledged: the cursor stays before the first item sent.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let first_item = lines
        .iter()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["commit"]["collection"] == "app.bsky.feed.post"
        })
        .filter_map(|l| time_of(l))
        .min()
        .unwrap();
    assert!(h.stored_time().is_none_or(|t| t < first_item), "cursor stored before the acks: {:?}", h.stored_time());
    for ack in held {
        ack.ack();
    }
    wait_until_async("the cursor at the last event", EVENTUALLY, || h.stored_time() == Some(last)).await;
    let first_run = running.stop().await;
    first_run.assert_unique();
    assert_eq!(h.stored_time(), Some(last));

    // Restart: resumes 5 s before the stored cursor; the rewound duplicates carry the same ids.
    let mut source = h.source(server.url(), FIXTURE_LANGS);
    source.backlog = Duration::from_secs(3650 * 86400);
    let mut running = h.start(source);
    running.ack_until(|seen| seen.has_all(&posts, &deletes)).await;
    running.nothing_for(Duration::from_millis(300)).await;
    let second_run = running.stop().await;
    assert_eq!(server.cursor_param(1), Some(last - 5_000_000));
    second_run.assert_unique();
    let ids = |seen: &Seen| seen.message_ids().into_iter().collect::<HashSet<_>>();
    assert_eq!(ids(&first_run), ids(&second_run));
    assert_eq!(ids(&first_run), posts);
    assert_eq!(gaps(&h.id), 0, "a resume within the backlog is no gap");
    assert_eq!(h.stored_time(), Some(last));
}

#[tokio::test]
async fn a_dropped_connection_resumes_without_loss_or_duplicates() {
    let h = Harness::new("bsky_drop");
    let lines = fixture();
    const K: usize = 70;
    let read_before_drop = max_time(&lines[..K]);
    let served = lines.clone();
    let server = Jetstream::start(move |connection, cursor| {
        if connection == 0 {
            Serve { hang_up: true, ..Serve::lines(served[..K].to_vec()) }
        } else {
            Serve::lines(replay_from(&served, cursor))
        }
    })
    .await;
    let (posts, deletes) = expected(&h.id, &lines, Some(FIXTURE_LANGS));
    let mut running = h.start(h.source(server.url(), FIXTURE_LANGS));
    running.ack_until(|seen| seen.has_all(&posts, &deletes)).await;
    let served = Arc::clone(&server.served);
    wait_until_async("the second connection served", EVENTUALLY, || served.load(Ordering::SeqCst) >= 2).await;
    running.nothing_for(Duration::from_millis(400)).await;
    let seen = running.stop().await;
    // None lost, none twice: the rewound overlap is absorbed by id.
    seen.assert_unique();
    assert_eq!(seen.message_ids().into_iter().collect::<HashSet<_>>(), posts);
    assert_eq!(server.cursor_param(0), None);
    assert_eq!(server.cursor_param(1), Some(read_before_drop - 5_000_000));
    assert!(skipped(&h.id, "duplicate") > 0);
}

#[tokio::test]
async fn an_unacknowledged_batch_is_read_and_sent_again() {
    let h = Harness::new("bsky_nack");
    let lines = fixture();
    let served = lines.clone();
    let server = Jetstream::start(move |_, cursor| Serve::lines(replay_from(&served, cursor))).await;
    let (posts, deletes) = expected(&h.id, &lines, Some(FIXTURE_LANGS));
    let mut running = h.start(h.source(server.url(), FIXTURE_LANGS));

    // Drop the first message's ack: its batch fails.
    loop {
        let ack = running.next().await;
        if running.seen.messages.is_empty() {
            ack.ack();
        } else {
            drop(ack);
            break;
        }
    }
    let dropped = running.seen.messages[0].id.clone();
    running
        .ack_until(|seen| {
            seen.has_all(&posts, &deletes) && seen.message_ids().iter().filter(|id| **id == dropped).count() == 2
        })
        .await;
    let uris = server.uris();
    let seen = running.stop().await;
    assert!(uris.len() >= 2, "the source did not reconnect: {uris:?}");
    let resumed = server.cursor_param(1).expect("the reconnect carries a cursor");
    let dropped_time = lines
        .iter()
        .find(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["commit"]["rkey"].as_str().is_some_and(|rkey| post_id(&h.id, v["did"].as_str().unwrap(), rkey) == dropped)
        })
        .and_then(|l| time_of(l))
        .unwrap();
    assert!(resumed <= dropped_time - 5_000_000, "resumed at {resumed}, after the failed batch");
    assert_eq!(seen.message_ids().into_iter().collect::<HashSet<_>>(), posts);
}

#[tokio::test]
async fn a_cursor_older_than_the_backlog_is_reported_and_the_source_still_delivers() {
    let h = Harness::new("bsky_backlog");
    let stored = chrono::Utc::now().timestamp_micros() - 30 * 3_600_000_000;
    let mut cursor = SourceCursor::default();
    cursor.positions.insert("time_us".into(), stored.to_string());
    h.ctx.cursors.store(&h.id, &cursor).unwrap();
    // This Jetstream has only what it kept: the fixture, whatever the cursor.
    let lines = fixture();
    let served = lines.clone();
    let server = Jetstream::start(move |_, _| Serve::lines(served.clone())).await;
    let (posts, deletes) = expected(&h.id, &lines, Some(FIXTURE_LANGS));
    let mut running = h.start(h.source(server.url(), FIXTURE_LANGS));
    running.ack_until(|seen| seen.has_all(&posts, &deletes)).await;
    let id = h.id.clone();
    wait_until_async("the coverage gap", EVENTUALLY, || gaps(&id) == 1).await;
    running.stop().await;
    assert_eq!(server.cursor_param(0), Some(stored - 5_000_000));
    assert_eq!(gaps(&h.id), 1, "reported once");
}

#[tokio::test]
async fn malformed_events_are_skipped_and_the_rest_delivered() {
    let h = Harness::new("bsky_malformed");
    let post = |t: i64, rkey: &str| {
        format!(
            r#"{{"did":"did:plc:abc","time_us":{t},"kind":"commit","commit":{{"rev":"r{t}","operation":"create","collection":"app.bsky.feed.post","rkey":"{rkey}","record":{{"langs":["nl"],"text":"bericht {rkey}","createdAt":"not a date"}}}}}}"#
        )
    };
    let frames = vec![
        Message::Text(post(100, "a").into()),
        Message::Text("not json at all {".into()),
        Message::Text(r#"{"did":"did:plc:abc","time_us":101,"kind":"commit","commit":5}"#.into()),
        Message::Text(
            r#"{"did":"did:plc:abc","time_us":102,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"c","record":{"text":["x"]}}}"#.into(),
        ),
        Message::Binary(vec![0xff, 0x00, 0x13].into()),
        Message::Text(post(103, "b").into()),
    ];
    let server = Jetstream::start(move |_, _| Serve { frames: frames.clone(), later: None, hang_up: false }).await;
    let mut running = h.start(h.source(server.url(), &["nl"]));
    running.ack_until(|seen| seen.messages.len() == 2).await;
    running.nothing_for(Duration::from_millis(200)).await;
    let seen = running.stop().await;
    let texts: Vec<&str> = seen.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["bericht a", "bericht b"]);
    assert!(seen.messages.iter().all(|m| m.published_at.is_none()), "an invalid createdAt is no date");
    assert_eq!(skipped(&h.id, "malformed"), 4);
    assert_eq!(h.stored_time(), Some(103));
}

#[tokio::test]
async fn a_loopback_jetstream_is_refused_without_the_allow_list() {
    let h = Harness::with_fetcher("bsky_blocked", fetcher_with(FetchLimits::default(), &[]));
    let server = Jetstream::start(|_, _| Serve::lines(fixture())).await;
    let running = h.start(h.source(server.url(), &["nl"]));
    wait_until_async("the source reported down", EVENTUALLY, || {
        onrust_ingest::source_health().get("bsky_blocked").is_some_and(|health| !health.up)
    })
    .await;
    running.stop().await;
    assert_eq!(server.accepted.load(Ordering::SeqCst), 0, "a refused address was connected to");

    // Only ws and wss.
    let h = Harness::new("bsky_scheme");
    let mut url = server.url();
    url.set_scheme("http").unwrap();
    let running = h.start(h.source(url, &["nl"]));
    wait_until_async("the source reported down", EVENTUALLY, || {
        onrust_ingest::source_health().get("bsky_scheme").is_some_and(|health| !health.up)
    })
    .await;
    running.stop().await;
    assert_eq!(server.accepted.load(Ordering::SeqCst), 0);
}

/// A throwaway self-signed certificate for `localhost` and 127.0.0.1 (test only, no trust anywhere).
const SELF_SIGNED_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUeKlP/H0nKcLcIDnp8PEiDEl2UTIwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyOTE4MTIxNVoYDzIxMjYxMTA1
MTgxMjE1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARTAJjbLjmffXgAC0GotDH//+tPINhPWW9W8nKRtCKDUn+FrlGBmpTV
xBm/vj6AiTJyxedDuKv+MPRnXmaJR+OOo28wbTAdBgNVHQ4EFgQUZgkTJ+Kg5TZv
+szz+e3Kvk2fYjYwHwYDVR0jBBgwFoAUZgkTJ+Kg5TZv+szz+e3Kvk2fYjYwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSQAwRgIhAL4Yn3OiPbHUZhssC9n3AdFPDgzMAuJ1UDD3+YQsPiITAiEA
rBC1rs3pVhRM72ic/E0t+ajdiWW4uK5k0P/RNEB+fis=
-----END CERTIFICATE-----
";
const SELF_SIGNED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXJA5IvuFnWTzdVMe
fOWKvfSSdJUygiOQ7v0B0L65Q0ehRANCAARTAJjbLjmffXgAC0GotDH//+tPINhP
WW9W8nKRtCKDUn+FrlGBmpTVxBm/vj6AiTJyxedDuKv+MPRnXmaJR+OO
-----END PRIVATE KEY-----
";

#[tokio::test]
async fn wss_verifies_the_certificate() {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let cert = CertificateDer::from_pem_slice(SELF_SIGNED_CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(SELF_SIGNED_KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted, upgraded) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let refusals = Arc::new(Mutex::new(Vec::new()));
    let (a, u, r) = (Arc::clone(&accepted), Arc::clone(&upgraded), Arc::clone(&refusals));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            a.fetch_add(1, Ordering::SeqCst);
            let (acceptor, u, r) = (acceptor.clone(), Arc::clone(&u), Arc::clone(&r));
            tokio::spawn(async move {
                let tls = match acceptor.accept(stream).await {
                    Ok(tls) => tls,
                    Err(error) => {
                        r.lock().unwrap().push(error.to_string());
                        return;
                    }
                };
                if let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await {
                    u.fetch_add(1, Ordering::SeqCst);
                    let _ = ws.send(Message::Text(fixture()[1].clone().into())).await;
                    while let Some(Ok(_)) = ws.next().await {}
                }
            });
        }
    });

    let h = Harness::new("bsky_tls");
    let url = url::Url::parse(&format!("wss://{addr}/subscribe")).unwrap();
    let running = h.start(h.source(url, FIXTURE_LANGS));
    wait_until_async("the source reported down", EVENTUALLY, || {
        onrust_ingest::source_health().get("bsky_tls").is_some_and(|health| !health.up)
    })
    .await;
    running.stop().await;
    assert!(accepted.load(Ordering::SeqCst) >= 1, "the source never connected");
    assert_eq!(upgraded.load(Ordering::SeqCst), 0, "a certificate nobody vouches for was accepted");
    // The client spoke TLS and refused the certificate (not plain text, not a timeout).
    let refusals = refusals.lock().unwrap().clone();
    assert!(
        refusals.iter().any(|e| e.contains("fatal alert: CertificateUnknown") || e.contains("UnknownCA")),
        "{refusals:?}"
    );
}

#[tokio::test]
async fn deletions_are_forwarded_only_for_posts_this_source_sent() {
    let h = Harness::new("bsky_not_ours");
    let other = "did:plc:someoneelse7aaaaaaaaaaaa";
    let lines = vec![
        post_line(CANARY_DID, 100, "kept", "nl", &format!("Rellen bij het station, meldt @{CANARY_HANDLE}")),
        post_line(other, 101, "english", "en", "riots downtown"),
        delete_line(CANARY_DID, 102, "kept"),
        delete_line(other, 103, "english"),
        delete_line(other, 104, "neverseen"),
        // Created and deleted right after, in the same batch: still forwarded.
        post_line(other, 105, "quick", "nl", "Snel weer weg"),
        delete_line(other, 106, "quick"),
    ];
    let server = Jetstream::start(move |_, _| Serve::lines(lines.clone())).await;
    let mut running = h.start(h.source(server.url(), &["nl"]));
    running.ack_until(|seen| seen.messages.len() == 2 && seen.deletions.len() == 2).await;
    running.nothing_for(Duration::from_millis(300)).await;
    let seen = running.stop().await;
    let deleted: HashSet<MessageId> = seen.deletions.iter().map(|d| d.id.clone()).collect();
    let sent: HashSet<MessageId> = seen.message_ids().into_iter().collect();
    assert_eq!(deleted, [post_id(&h.id, CANARY_DID, "kept"), post_id(&h.id, other, "quick")].into());
    assert_eq!(deleted, sent, "a deletion for each post sent, none other");
    // The English post (left out by language) and the one never seen.
    assert_eq!(skipped(&h.id, "not_ours"), 2);
    assert_eq!(skipped(&h.id, "language"), 1);

    // The record holds one 64-bit digest per post sent, nothing readable.
    let record = std::fs::read_to_string(h.sent_file()).unwrap();
    assert_eq!(record.lines().count(), 2);
    assert!(record.lines().all(|l| l.len() == 16 && l.bytes().all(|b| b.is_ascii_hexdigit())), "{record}");
    for id in &sent {
        assert!(!record.contains(id.as_str().split(':').next_back().unwrap()), "the record holds a message id");
    }
    let json = serde_json::to_string(&(&seen.messages, &seen.deletions)).unwrap();
    assert!(!json.contains("did:") && !json.contains(CANARY_HANDLE), "a DID or handle leaked");
}

#[tokio::test]
async fn a_deletion_after_a_restart_is_forwarded_for_a_post_sent_before_it() {
    let h = Harness::new("bsky_sent_restart");
    let server = Jetstream::start(move |connection, _| {
        Serve::lines(if connection == 0 {
            vec![
                post_line(CANARY_DID, 100, "first", "nl", "Eerste bericht"),
                post_line(CANARY_DID, 101, "second", "nl", "Tweede"),
            ]
        } else {
            vec![delete_line(CANARY_DID, 200, "first"), delete_line(CANARY_DID, 201, "unknown")]
        })
    })
    .await;
    let mut running = h.start(h.source(server.url(), &["nl"]));
    running.ack_until(|seen| seen.messages.len() == 2).await;
    let first_run = running.stop().await;
    assert!(first_run.deletions.is_empty());
    assert_eq!(std::fs::read_to_string(h.sent_file()).unwrap().lines().count(), 2);

    // A new source instance on the same cursor directory: the record is read back.
    let mut running = h.start(h.source(server.url(), &["nl"]));
    running.ack_until(|seen| !seen.deletions.is_empty()).await;
    running.nothing_for(Duration::from_millis(300)).await;
    let second_run = running.stop().await;
    assert_eq!(server.accepted.load(Ordering::SeqCst), 2);
    let deleted: Vec<MessageId> = second_run.deletions.iter().map(|d| d.id.clone()).collect();
    assert_eq!(deleted, [post_id(&h.id, CANARY_DID, "first")]);
    assert_eq!(skipped(&h.id, "not_ours"), 1);
}

#[tokio::test]
async fn a_corrupt_sent_record_is_moved_aside_and_the_source_keeps_working() {
    let h = Harness::new("bsky_sent_corrupt");
    std::fs::write(h.sent_file(), b"this is not a record\n\xff\xfe").unwrap();
    let lines = vec![
        post_line(CANARY_DID, 100, "fresh", "nl", "Nieuw bericht"),
        delete_line(CANARY_DID, 101, "fresh"),
        delete_line(CANARY_DID, 102, "from_before"),
    ];
    let server = Jetstream::start(move |_, _| Serve::lines(lines.clone())).await;
    let mut running = h.start(h.source(server.url(), &["nl"]));
    running.ack_until(|seen| seen.messages.len() == 1 && seen.deletions.len() == 1).await;
    running.nothing_for(Duration::from_millis(300)).await;
    let seen = running.stop().await;
    assert_eq!(seen.deletions[0].id, post_id(&h.id, CANARY_DID, "fresh"));
    assert_eq!(skipped(&h.id, "not_ours"), 1);
    // The damaged file is kept aside for a person to look at; a valid record replaces it.
    let aside = h.sent_file().with_file_name(format!("{}.sent.corrupt", h.id));
    assert!(aside.exists(), "the corrupt record was not moved aside");
    let record = std::fs::read_to_string(h.sent_file()).unwrap();
    assert_eq!(record.lines().count(), 1);
    assert_eq!(h.stored_time(), Some(102));
}

#[tokio::test]
async fn an_oversized_event_is_skipped_and_reported_and_the_stream_goes_on() {
    let h = Harness::new("bsky_oversized");
    let did = "did:plc:oversized7aaaaaaaaaaaaaaa";
    let big = post_line(did, 1005, "big", "nl", &"groot ".repeat(1000));
    assert!(big.len() > 4096);
    let lines = vec![
        post_line(did, 1000, "a", "nl", "voor a"),
        post_line(did, 1001, "b", "nl", "voor b"),
        big,
        post_line(did, 1010, "c", "nl", "na c"),
        post_line(did, 1011, "d", "nl", "na d"),
    ];
    let served = lines.clone();
    let server = Jetstream::start(move |connection, cursor| {
        let serve = Serve::lines(replay_from(&served, cursor));
        // The connection that gets past the big event then drops: the resume must not rewind onto it.
        if connection == 3 { Serve { hang_up: true, ..serve } } else { serve }
    })
    .await;
    let mut source = h.source(server.url(), &["nl"]);
    source.max_message_bytes = 4096;
    let mut running = h.start(source);
    running.ack_until(|seen| seen.messages.len() == 4).await;
    wait_until_async("the reconnect after the drop", EVENTUALLY, || server.uris().len() >= 5).await;
    running.nothing_for(Duration::from_millis(500)).await;
    let seen = running.stop().await;
    seen.assert_unique();
    let texts: Vec<&str> = seen.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["voor a", "voor b", "na c", "na d"]);
    // Live first; then 1 µs past the last event read, and twice as far each time the big event comes
    // back; past it, a resume after the drop does not rewind below the skip.
    let cursors: Vec<Option<i64>> = (0..5).map(|c| server.cursor_param(c)).collect();
    assert_eq!(cursors, [None, Some(1002), Some(1004), Some(1008), Some(1008)]);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 5, "the source kept reconnecting");
    // One gap per skipped span, none after the stream went on.
    assert_eq!(oversized_gaps(&h.id), 3);
    assert!(server.uris().iter().all(|uri| uri.contains("maxMessageSizeBytes=4096")));
    assert_eq!(h.stored_time(), Some(1011));
}
