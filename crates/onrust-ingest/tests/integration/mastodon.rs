//! The mastodon kind against a local server that answers the tag-timeline API
//! from the fixtures in `tests/fixtures/mastodon/`, by tag and `min_id`.
//!
//! Status ids in the fixtures are 113500000000000NNN: the newest page holds
//! 101–103, a full page of 40 (built here from status 103) holds 104–143,
//! `tag_utrecht_after_143.json` holds 144–151 (two kept, six left out).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use onrust_ingest::cursor::SourceCursor;
use onrust_ingest::mastodon::{self, MastodonPoller, MastodonSource};
use onrust_ingest::source::{PollError, Polled, Poller, SourceContext, SourceSettings};
use onrust_model::{Ack, MessageId, RawMessage, SourceId, SourceKind};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use url::Url;

use crate::support::{TestServer, local_fetcher, response, serve_fn};

const CANARIES: [&str; 2] = ["canary_handle_77", "canary_remote_88"];

fn id(n: u64) -> String {
    (113_500_000_000_000_000 + n).to_string()
}

fn fixture(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mastodon");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// A full page (40 statuses, ids 104–143, newest first), built from status 103.
fn full_page() -> String {
    let newest: Vec<Value> = serde_json::from_str(&fixture("tag_utrecht_newest.json")).unwrap();
    let page: Vec<Value> = (104..=143)
        .rev()
        .map(|n| {
            let mut status = newest[0].clone();
            status["id"] = Value::String(id(n));
            status["uri"] = Value::String(format!("https://mastodon.nl/users/canary_handle_77/statuses/{}", id(n)));
            status["url"] = Value::String(format!("https://mastodon.nl/@canary_handle_77/{}", id(n)));
            status
        })
        .collect();
    serde_json::to_string(&page).unwrap()
}

/// One request to the tag timeline, as the server saw it.
#[derive(Debug, Clone, PartialEq)]
struct TimelineRequest {
    tag: String,
    any: Vec<String>,
    limit: Option<String>,
    min_id: Option<String>,
}

impl TimelineRequest {
    fn parse(head: &str) -> Self {
        let target = head.split_whitespace().nth(1).unwrap();
        let url = Url::parse(&format!("http://test{target}")).unwrap();
        let tag = url.path().strip_prefix("/api/v1/timelines/tag/").expect("a tag timeline request");
        let tag = percent_decode(tag);
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Self {
            tag,
            any: pairs.iter().filter(|(k, _)| k == "any[]").map(|(_, v)| v.clone()).collect(),
            limit: get("limit"),
            min_id: get("min_id"),
        }
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes()).next().unwrap().1.into_owned()
}

fn json(body: &str, link: Option<&str>) -> Vec<u8> {
    let mut headers = vec![("Content-Type", "application/json; charset=utf-8")];
    if let Some(link) = link {
        headers.push(("Link", link));
    }
    response("200 OK", &headers, body.as_bytes())
}

fn prev_link(server_base: &str, max_id: u64, min_id: u64) -> String {
    format!(
        "<{server_base}/api/v1/timelines/tag/utrecht?limit=40&max_id={}>; rel=\"next\", <{server_base}/api/v1/timelines/tag/utrecht?limit=40&min_id={}>; rel=\"prev\"",
        id(max_id),
        id(min_id)
    )
}

/// The tag timeline of `mastodon.nl` as recorded in the fixtures, for any tag.
fn timeline(request: &TimelineRequest) -> Vec<u8> {
    // Link targets are absolute on the real instance; the poller reads only their min_id.
    let base = "https://mastodon.nl";
    match request.min_id.as_deref() {
        None => json(&fixture("tag_utrecht_newest.json"), Some(&prev_link(base, 101, 103))),
        Some(m) if m == id(103) => json(&full_page(), Some(&prev_link(base, 104, 143))),
        Some(m) if m == id(143) => json(&fixture("tag_utrecht_after_143.json"), Some(&prev_link(base, 144, 151))),
        // Mastodon sends no Link header with an empty page.
        Some(_) => json(&fixture("empty_page.json"), None),
    }
}

async fn mastodon_server(respond: impl Fn(&TimelineRequest) -> Vec<u8> + Send + Sync + 'static) -> TestServer {
    serve_fn(move |head| respond(&TimelineRequest::parse(head))).await
}

fn requests(server: &TestServer) -> Vec<TimelineRequest> {
    server.requests.lock().unwrap().iter().map(|head| TimelineRequest::parse(head)).collect()
}

struct Harness {
    _dir: tempfile::TempDir,
    ctx: SourceContext,
    settings: SourceSettings,
}

impl Harness {
    fn new(name: &str) -> Self {
        // Skips are read from the metrics: the recorder must be in place before the poll.
        crate::support::install_recorder();
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::support::context_in(dir.path(), local_fetcher());
        let settings =
            SourceSettings::new(SourceId::new(name).unwrap(), SourceKind::Mastodon, "x", Duration::from_millis(100));
        Self { _dir: dir, ctx, settings }
    }

    fn poller(&self, server: &TestServer, tags: &[&str]) -> MastodonPoller {
        let source = MastodonSource::mastodon(
            self.settings.clone(),
            server.url("/"),
            tags.iter().map(|t| (*t).to_owned()).collect(),
        );
        source.poller
    }

    async fn poll(&self, poller: &MastodonPoller, cursor: &SourceCursor) -> Result<Polled, PollError> {
        poller.poll(&self.ctx, &self.settings, cursor).await
    }

    fn skipped(&self, outcome: &str) -> u64 {
        skipped_count(self.settings.id.as_str(), outcome)
    }
}

fn at(position: u64) -> SourceCursor {
    let mut cursor = SourceCursor::default();
    cursor.positions.insert("tags:utrecht".into(), id(position));
    cursor
}

fn position(polled: &Polled, key: &str) -> Option<String> {
    polled.next_cursor.as_ref().unwrap().positions.get(key).cloned()
}

fn assert_no_canary(messages: &[RawMessage]) {
    let all = serde_json::to_string(messages).unwrap();
    for canary in CANARIES {
        assert!(!all.contains(canary), "{canary} leaked: {all}");
    }
    // Nor any handle-bearing status link: the link is the status's API record.
    assert!(!all.contains("/@"), "{all}");
}

fn status_ids(messages: &[RawMessage]) -> Vec<String> {
    messages.iter().map(|m| m.url.as_deref().unwrap().rsplit('/').next().unwrap().to_owned()).collect()
}

fn skipped_count(source: &str, outcome: &str) -> u64 {
    crate::support::counter(
        "onrust_source_skipped_items_total",
        &[("source", source), ("source_kind", "mastodon"), ("outcome", outcome)],
    )
}

// --- Tests -------------------------------------------------------------------

#[tokio::test]
async fn first_run_takes_the_newest_page_and_sets_the_position() {
    let server = mastodon_server(timeline).await;
    let harness = Harness::new("mastodon-first");
    let poller = harness.poller(&server, &["#utrecht"]);
    let polled = harness.poll(&poller, &SourceCursor::default()).await.unwrap();

    assert_eq!(
        requests(&server),
        [TimelineRequest { tag: "utrecht".into(), any: vec![], limit: Some("40".into()), min_id: None }],
        "one page only, even though the server would page on"
    );
    assert_eq!(position(&polled, "tags:utrecht"), Some(id(103)));
    assert_eq!(polled.hint, None);
    let messages = &polled.messages;
    assert_eq!(status_ids(messages), [id(101), id(102), id(103)], "oldest first");
    assert_no_canary(messages);

    let host = "127.0.0.1";
    let [m101, m102, m103] = [&messages[0], &messages[1], &messages[2]];
    assert_eq!(m103.id, MessageId::derive(&harness.settings.id, &format!("status:{host}/{}", id(103))));
    assert_eq!(m103.url.as_deref(), Some(server.url(&format!("/api/v1/statuses/{}", id(103))).as_str()));
    assert_eq!(m103.source_kind, SourceKind::Mastodon);
    assert_eq!(m103.source, harness.settings.id);
    assert_eq!(
        m103.text,
        "Morgen vanaf 10:00 verzamelen op het Jaarbeursplein voor het #boerenprotest tegen de stikstofregels. \
         Trekkers welkom, ook uit de regio #amersfoort! cc @[user]\n\n#utrecht #stikstof"
    );
    assert_eq!(m103.title, None);
    assert_eq!(m103.lang_hint.as_deref(), Some("nl"));
    assert_eq!(m103.published_at.unwrap().to_rfc3339(), "2026-06-14T08:12:45+00:00");
    assert_eq!(m102.title.as_deref(), Some("Stikstof, demonstratie"));
    assert!(m102.text.starts_with("@[user] De politie meldt") && m102.text.contains("rustig & volg"), "{}", m102.text);
    // Media, cards, polls and emoji images are not read; the shortcode in the text stays text.
    assert_eq!(m101.text, "Foto's van de trekkers op de A28 richting #utrecht :trekker: 🚜");

    // Authors are pseudonyms of the full acct: the same account twice is one pseudonym.
    let (a101, a102, a103) = (m101.author.clone().unwrap(), m102.author.clone().unwrap(), m103.author.clone().unwrap());
    assert_eq!(a101, a103);
    assert_ne!(a101, a102);
    let fetched_at = m103.fetched_at;
    let local = harness.ctx.pseudonymize("mastodon", &format!("canary_handle_77@{host}"), fetched_at).unwrap();
    assert_eq!(a103, local, "a local acct gets the instance's host");
    let remote = harness.ctx.pseudonymize("mastodon", "canary_remote_88@boeren.social", fetched_at).unwrap();
    assert_eq!(a102, remote);

    // Even a full newest page is not followed on a first run: history is not replayed.
    let server = mastodon_server(|request| match request.min_id {
        None => json(&full_page(), Some(&prev_link("https://mastodon.nl", 104, 143))),
        Some(_) => timeline(request),
    })
    .await;
    let polled = harness.poll(&harness.poller(&server, &["utrecht"]), &SourceCursor::default()).await.unwrap();
    assert_eq!(requests(&server).len(), 1);
    assert_eq!(polled.messages.len(), 40);
    assert_eq!(position(&polled, "tags:utrecht"), Some(id(143)));
}

#[tokio::test]
async fn the_next_poll_asks_with_min_id_and_follows_full_pages() {
    let server = mastodon_server(timeline).await;
    let harness = Harness::new("mastodon-pages");
    let poller = harness.poller(&server, &["utrecht"]);
    let polled = harness.poll(&poller, &at(103)).await.unwrap();

    let asked: Vec<Option<String>> = requests(&server).into_iter().map(|r| r.min_id).collect();
    assert_eq!(asked, [Some(id(103)), Some(id(143))], "a full page is followed; a partial one is the end");
    assert_eq!(position(&polled, "tags:utrecht"), Some(id(151)));
    let ids = status_ids(&polled.messages);
    assert_eq!(ids.len(), 42, "40 from the full page and the 2 kept of the next");
    assert_eq!(ids.first(), Some(&id(104)));
    assert_eq!(ids.last(), Some(&id(145)));
    assert_no_canary(&polled.messages);

    // With max_pages 1 the rest waits for the next poll, and nothing is lost.
    let server = mastodon_server(timeline).await;
    let poller = MastodonPoller { max_pages: 1, ..harness.poller(&server, &["utrecht"]) };
    let first = harness.poll(&poller, &at(103)).await.unwrap();
    assert_eq!(requests(&server).len(), 1);
    assert_eq!(first.messages.len(), 40);
    assert_eq!(position(&first, "tags:utrecht"), Some(id(143)));
    let second = harness.poll(&poller, first.next_cursor.as_ref().unwrap()).await.unwrap();
    assert_eq!(requests(&server).last().unwrap().min_id, Some(id(143)));
    assert_eq!(status_ids(&second.messages), [id(144), id(145)]);
    assert_eq!(position(&second, "tags:utrecht"), Some(id(151)));
}

#[tokio::test]
async fn skipped_statuses_are_counted_and_still_advance_the_position() {
    let server = mastodon_server(timeline).await;
    let harness = Harness::new("mastodon-skips");
    let poller = harness.poller(&server, &["utrecht"]);
    let polled = harness.poll(&poller, &at(143)).await.unwrap();

    // 151 (private) is the newest and left out, yet the position moves over it.
    assert_eq!(position(&polled, "tags:utrecht"), Some(id(151)));
    assert_eq!(status_ids(&polled.messages), [id(144), id(145)]);
    let m145 = &polled.messages[1];
    assert_eq!(m145.published_at, None, "an unparseable created_at is no error");
    assert_eq!(m145.lang_hint, None);
    assert!(m145.author.is_some(), "an account from before Mastodon 4.2 (no indexable) is allowed");
    assert_no_canary(&polled.messages);

    for (outcome, count) in
        [("not_public", 2), ("not_indexable", 1), ("noindex", 1), ("reblog", 1), ("empty", 1), ("duplicate", 0)]
    {
        assert_eq!(harness.skipped(outcome), count, "{outcome}");
    }

    // The next poll starts after the skipped ones: nothing new, nothing counted again.
    let again = harness.poll(&poller, polled.next_cursor.as_ref().unwrap()).await.unwrap();
    assert_eq!(requests(&server).last().unwrap().min_id, Some(id(151)));
    assert!(again.messages.is_empty());
    assert_eq!(harness.skipped("not_public"), 2);
}

#[tokio::test]
async fn five_tags_are_two_queries_with_their_own_positions() {
    let server = mastodon_server(timeline).await;
    let harness = Harness::new("mastodon-groups");
    let tags = ["utrecht", "amersfoort", "stikstof", "boerenprotest", "trekkers"];
    let poller = harness.poller(&server, &tags);
    let mut cursor = SourceCursor::default();
    cursor.positions.insert("tags:old,group".into(), id(1));
    cursor.positions.insert("other:stream".into(), "kept".into());
    let polled = harness.poll(&poller, &cursor).await.unwrap();

    let asked = requests(&server);
    assert_eq!(asked.len(), 2);
    assert_eq!(
        (asked[0].tag.as_str(), asked[0].any.as_slice()),
        ("utrecht", &["amersfoort", "stikstof", "boerenprotest"].map(String::from)[..])
    );
    assert_eq!((asked[1].tag.as_str(), asked[1].any.len()), ("trekkers", 0));
    assert!(server.requests.lock().unwrap()[0].contains("any%5B%5D=amersfoort"), "any[] is percent-encoded");

    let positions = &polled.next_cursor.as_ref().unwrap().positions;
    let expected: BTreeMap<String, String> = [
        ("other:stream".to_owned(), "kept".to_owned()),
        ("tags:trekkers".to_owned(), id(103)),
        ("tags:utrecht,amersfoort,stikstof,boerenprotest".to_owned(), id(103)),
    ]
    .into();
    assert_eq!(positions, &expected, "a group no longer configured loses its position");
    // Both groups saw the same three statuses: they are sent once.
    assert_eq!(polled.messages.len(), 3);
    assert_eq!(harness.skipped("duplicate"), 3);

    // The next poll asks each group after its own position.
    let _ = harness.poll(&poller, polled.next_cursor.as_ref().unwrap()).await.unwrap();
    let asked = requests(&server);
    assert_eq!(asked[2].min_id, Some(id(103)));
    assert_eq!(asked.len(), 2 + 2 + 2, "both groups follow the full page to the next");
    assert_eq!((asked[4].tag.as_str(), asked[4].min_id.clone()), ("trekkers", Some(id(103))));
}

#[tokio::test]
async fn an_empty_page_leaves_the_position() {
    let server = mastodon_server(|_| json("[]", None)).await;
    let harness = Harness::new("mastodon-empty");
    let poller = harness.poller(&server, &["utrecht"]);
    let polled = harness.poll(&poller, &at(151)).await.unwrap();
    assert!(polled.messages.is_empty());
    assert_eq!(polled.next_cursor, Some(at(151)));

    // A first run on an empty timeline sets no position: the next poll is a first run again.
    let polled = harness.poll(&poller, &SourceCursor::default()).await.unwrap();
    assert_eq!(polled.next_cursor, Some(SourceCursor::default()));
    assert_eq!(requests(&server)[1].min_id, None);
}

#[tokio::test]
async fn a_429_with_retry_after_fails_the_poll_and_moves_nothing() {
    let server = mastodon_server(|request| {
        if request.tag == "trekkers" {
            response("429 Too Many Requests", &[("Retry-After", "30")], b"{\"error\":\"Too many requests\"}")
        } else {
            timeline(request)
        }
    })
    .await;
    let harness = Harness::new("mastodon-429");
    let poller = harness.poller(&server, &["utrecht", "a", "b", "c", "trekkers"]);
    let error = harness.poll(&poller, &SourceCursor::default()).await.unwrap_err();
    let PollError::Failed { error, retry_after } = error else { panic!("not a failure: {error:?}") };
    assert_eq!(retry_after, Some(Duration::from_secs(30)));
    assert!(error.contains("429"), "{error}");
    assert_eq!(requests(&server).len(), 2, "the first group was read, the second refused");
    assert_eq!(harness.skipped("duplicate"), 0, "nothing is counted for a failed poll");
}

#[tokio::test]
async fn a_malformed_page_fails_the_poll_clearly_without_quoting_it() {
    let truncated = fixture("tag_utrecht_newest.json");
    let truncated = truncated[..truncated.len() / 2].to_owned();
    for (body, expected) in [
        (fixture("malformed_page.json"), "a field has the wrong type or value"),
        (truncated, "unexpected end of input"),
        ("{\"error\":\"canary_handle_77\"}".to_owned(), "the body is not a json array of statuses"),
        ("<!DOCTYPE html><title>canary_handle_77</title>".to_owned(), "the body is not a json array of statuses"),
        (
            "[{\"id\": \"canary_handle_77\", \"visibility\": \"public\", \"content\": \"x\", \"account\": {}}]"
                .to_owned(),
            "status 1 of the page has an id that is not a decimal number",
        ),
    ] {
        let server = mastodon_server(move |_| json(&body, None)).await;
        let harness = Harness::new("mastodon-malformed");
        let poller = harness.poller(&server, &["utrecht"]);
        let error = harness.poll(&poller, &at(103)).await.unwrap_err();
        let PollError::Failed { error, retry_after: None } = error else { panic!("{error:?}") };
        assert!(error.starts_with("mastodon instance 127.0.0.1, query tags:utrecht: malformed page: "), "{error}");
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains("canary"), "{error}");
    }
    // A type error gives its position in the body.
    let server = mastodon_server(|_| json(&fixture("malformed_page.json"), None)).await;
    let harness = Harness::new("mastodon-malformed");
    let error = harness.poll(&harness.poller(&server, &["utrecht"]), &at(103)).await.unwrap_err();
    assert!(format!("{error:?}").contains("invalid json at line "), "{error:?}");
}

#[tokio::test]
async fn run_stores_the_position_only_after_the_batch_is_acked() {
    let server = mastodon_server(timeline).await;
    let harness = Harness::new("mastodon-run");
    let instance = server.url("/");
    let tags = vec!["utrecht".to_owned()];
    let mut settings = harness.settings.clone();
    settings.identity = mastodon::identity(&instance, &tags);
    settings.shutdown_grace = Duration::from_millis(300);
    let source = MastodonSource::mastodon(settings, instance.clone(), tags);
    let (tx, mut rx) = mpsc::channel::<(RawMessage, Ack)>(16);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(source.run(harness.ctx.clone(), tx, shutdown));

    let mut batch = Vec::new();
    for _ in 0..3 {
        let received = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
        batch.push(received);
    }
    let messages: Vec<RawMessage> = batch.iter().map(|(m, _)| m.clone()).collect();
    assert_no_canary(&messages);
    let stored = || harness.ctx.cursors.load(&harness.settings.id).unwrap();

    // Outstanding batch: no cursor yet, and no further poll.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(stored(), None);
    assert_eq!(server.request_count(), 1);

    for (_, ack) in batch {
        ack.ack();
    }
    for _ in 0..100 {
        if stored().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cursor = stored().expect("the cursor after the ack");
    assert_eq!(cursor.positions.get("tags:utrecht"), Some(&id(103)));
    assert_eq!(cursor.url.as_deref(), Some(format!("{instance} tags:utrecht").as_str()));

    // The next polls ask after the position and follow the full page.
    for _ in 0..100 {
        if requests(&server).iter().any(|r| r.min_id == Some(id(103))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(requests(&server).iter().any(|r| r.min_id == Some(id(103))), "{:?}", requests(&server));
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    // The follow-up batch was never acked: the position stays where the acked batch left it.
    assert_eq!(stored().unwrap().positions.get("tags:utrecht"), Some(&id(103)));
}
