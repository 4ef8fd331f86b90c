//! The mastodon kind against a local server that answers the tag-timeline API
//! like Mastodon: from a list of statuses (the same for every tag), with
//! `min_id` the statuses right after it, without it the newest, newest first.
//!
//! Status ids in the fixtures are 113500000000000NNN: the newest page holds
//! 101–103, a full page of 40 (built here from status 103) holds 104–143,
//! `tag_utrecht_after_143.json` holds 144–151 (two kept, six left out). They
//! all lie within one millisecond, so the lookback reaches back over all of
//! them. Tests of the lookback itself use snowflake ids (`ms << 16 | seq`)
//! minutes apart.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat};
use onrust_ingest::cursor::SourceCursor;
use onrust_ingest::mastodon::{self, MastodonPoller, MastodonSource};
use onrust_ingest::source::{PollError, Polled, Poller, SourceContext, SourceSettings};
use onrust_model::{Ack, MessageId, RawMessage, SourceId, SourceKind};
use onrust_testkit::wait_until_async;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use url::Url;

use crate::support::{EVENTUALLY, TestServer, local_fetcher, response, serve_fn};

const CANARIES: [&str; 2] = ["canary_handle_77", "canary_remote_88"];

/// The test server's host: local statuses' accts get it, dedup keys name it.
const HOST: &str = "127.0.0.1";

/// The default lookback, in milliseconds.
const LOOKBACK_MS: u64 = 30 * 60 * 1000;

fn id(n: u64) -> String {
    (113_500_000_000_000_000 + n).to_string()
}

/// The `min_id` a query whose position is `position` starts from: the default
/// lookback before the position's millisecond.
fn overlap(position: &str) -> String {
    let raw: u64 = position.parse().unwrap();
    (((raw >> 16) - LOOKBACK_MS) << 16).to_string()
}

/// The snowflake id of sequence `seq` in millisecond `ms`.
fn snowflake(ms: u64, seq: u64) -> String {
    ((ms << 16) | seq).to_string()
}

/// A millisecond on 2026-06-14, for snowflake ids minutes apart.
const T: u64 = 1_781_424_765_000;
const MINUTE: u64 = 60_000;

fn fixture(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mastodon");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

fn statuses(name: &str) -> Vec<Value> {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// `template` as the status `new_id`: its id, and the id in its handle-bearing `uri` and `url`.
fn renumbered(template: &Value, new_id: &str) -> Value {
    let old_id = template["id"].as_str().unwrap().to_owned();
    let mut status = template.clone();
    status["id"] = Value::String(new_id.to_owned());
    for field in ["uri", "url"] {
        status[field] = Value::String(template[field].as_str().unwrap().replace(&old_id, new_id));
    }
    status
}

/// Statuses 101–103 (newest first, as the fixture lists them).
fn newest_page() -> Vec<Value> {
    statuses("tag_utrecht_newest.json")
}

/// A full page (40 statuses, ids 104–143, newest first), built from status 103.
fn full_page() -> Vec<Value> {
    let newest = newest_page();
    (104..=143).rev().map(|n| renumbered(&newest[0], &id(n))).collect()
}

/// Statuses 144–151: 144 and 145 are kept, the others left out.
fn after_143() -> Vec<Value> {
    statuses("tag_utrecht_after_143.json")
}

/// Statuses 101–151.
fn all_statuses() -> Vec<Value> {
    [newest_page(), full_page(), after_143()].concat()
}

/// A status written at `ms` (its snowflake id and `created_at`), from a local
/// account (status 103) or a remote one (status 102).
fn written_at(ms: u64, seq: u64, remote: bool, visibility: &str) -> Value {
    let newest = newest_page();
    let mut status = renumbered(&newest[if remote { 1 } else { 0 }], &snowflake(ms, seq));
    let created_at = DateTime::from_timestamp_millis(i64::try_from(ms).unwrap()).unwrap();
    status["created_at"] = Value::String(created_at.to_rfc3339_opts(SecondsFormat::Millis, true));
    status["visibility"] = Value::String(visibility.to_owned());
    status
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

fn prev_link(server_base: &str, max_id: &str, min_id: &str) -> String {
    format!(
        "<{server_base}/api/v1/timelines/tag/utrecht?limit=40&max_id={max_id}>; rel=\"next\", <{server_base}/api/v1/timelines/tag/utrecht?limit=40&min_id={min_id}>; rel=\"prev\""
    )
}

/// The statuses the test instance shows on every tag timeline; tests add to it.
#[derive(Clone, Default)]
struct Timeline(Arc<Mutex<Vec<Value>>>);

impl Timeline {
    fn of(statuses: Vec<Value>) -> Self {
        let timeline = Self::default();
        timeline.add(statuses);
        timeline
    }

    fn add(&self, statuses: Vec<Value>) {
        self.0.lock().unwrap().extend(statuses);
    }

    /// Answers as Mastodon does: with `min_id`, the `limit` statuses right
    /// after it; without, the newest `limit`; newest first, with a `Link`
    /// header whose `prev` target asks after the page's newest status.
    fn respond(&self, request: &TimelineRequest) -> Vec<u8> {
        let mut all: Vec<(u64, Value)> =
            self.0.lock().unwrap().iter().map(|s| (s["id"].as_str().unwrap().parse().unwrap(), s.clone())).collect();
        all.sort_by_key(|(id, _)| *id);
        let limit: usize = request.limit.as_deref().map_or(20, |limit| limit.parse().unwrap());
        let mut page: Vec<(u64, Value)> = match request.min_id.as_deref() {
            Some(min_id) => {
                let min_id: u64 = min_id.parse().unwrap();
                all.into_iter().filter(|(id, _)| *id > min_id).take(limit).collect()
            }
            None => {
                let skip = all.len().saturating_sub(limit);
                all.into_iter().skip(skip).collect()
            }
        };
        page.reverse();
        let (Some((newest, _)), Some((oldest, _))) = (page.first(), page.last()) else {
            // Mastodon sends no Link header with an empty page.
            return json("[]", None);
        };
        // Link targets are absolute on the real instance; the poller reads only their min_id.
        let link = prev_link("https://mastodon.nl", &oldest.to_string(), &newest.to_string());
        let body: Vec<Value> = page.into_iter().map(|(_, status)| status).collect();
        json(&serde_json::to_string(&body).unwrap(), Some(&link))
    }
}

async fn timeline_server(timeline: &Timeline) -> TestServer {
    let timeline = timeline.clone();
    mastodon_server(move |request| timeline.respond(request)).await
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

/// A cursor at status `position` of the fixtures, as a cursor of the old
/// format (`tags:utrecht`) would have it: no dedup keys.
fn at(position: u64) -> SourceCursor {
    let mut cursor = SourceCursor::default();
    cursor.positions.insert("tag:utrecht".into(), id(position));
    cursor
}

/// A cursor that has read the fixtures' statuses 101 to `position`.
fn read_up_to(position: u64) -> SourceCursor {
    let mut cursor = at(position);
    cursor.remember((101..=position).map(|n| key(&id(n))).collect(), 10_000);
    cursor
}

/// The dedup key of status `id` on the test server.
fn key(id: &str) -> String {
    format!("status:{HOST}/{id}")
}

fn position(polled: &Polled, key: &str) -> Option<String> {
    next(polled).positions.get(key).cloned()
}

fn next(polled: &Polled) -> &SourceCursor {
    polled.next_cursor.as_ref().unwrap()
}

fn min_ids(server: &TestServer) -> Vec<Option<String>> {
    requests(server).into_iter().map(|r| r.min_id).collect()
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

/// The cursor's positions without the ids each query read (`read:<tag>`).
fn without_reads(cursor: &SourceCursor) -> BTreeMap<String, String> {
    cursor.positions.iter().filter(|(key, _)| !key.starts_with("read:")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn skipped_count(source: &str, outcome: &str) -> u64 {
    crate::support::counter(
        "onrust_source_skipped_items_total",
        &[("source", source), ("source_kind", "mastodon"), ("outcome", outcome)],
    )
}

const OUTCOMES: [&str; 6] = ["duplicate", "not_public", "not_indexable", "noindex", "reblog", "empty"];

// --- Tests -------------------------------------------------------------------

#[tokio::test]
async fn first_run_takes_the_newest_page_and_sets_the_position() {
    let server = timeline_server(&Timeline::of(newest_page())).await;
    let harness = Harness::new("mastodon-first");
    let poller = harness.poller(&server, &["#utrecht"]);
    let polled = harness.poll(&poller, &SourceCursor::default()).await.unwrap();

    assert_eq!(
        requests(&server),
        [TimelineRequest { tag: "utrecht".into(), any: vec![], limit: Some("40".into()), min_id: None }],
        "one page only"
    );
    assert_eq!(position(&polled, "tag:utrecht"), Some(id(103)));
    assert_eq!(next(&polled).seen, [key(&id(101)), key(&id(102)), key(&id(103))], "what was read is remembered");
    assert_eq!(polled.hint, None);
    let messages = &polled.messages;
    assert_eq!(status_ids(messages), [id(101), id(102), id(103)], "oldest first");
    assert_no_canary(messages);

    let [m101, m102, m103] = [&messages[0], &messages[1], &messages[2]];
    assert_eq!(m103.id, MessageId::derive(&harness.settings.id, &format!("status:{HOST}/{}", id(103))));
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
    let local = harness.ctx.pseudonymize("mastodon", &format!("canary_handle_77@{HOST}"), fetched_at).unwrap();
    assert_eq!(a103, local, "a local acct gets the instance's host");
    let remote = harness.ctx.pseudonymize("mastodon", "canary_remote_88@boeren.social", fetched_at).unwrap();
    assert_eq!(a102, remote);

    // Even a full newest page is not followed on a first run: history is not replayed.
    let server = timeline_server(&Timeline::of(all_statuses())).await;
    let polled = harness.poll(&harness.poller(&server, &["utrecht"]), &SourceCursor::default()).await.unwrap();
    assert_eq!(min_ids(&server), [None]);
    assert_eq!(polled.messages.len(), 40 - 6, "112–151, less the six left out");
    assert_eq!(position(&polled, "tag:utrecht"), Some(id(151)));
}

#[tokio::test]
async fn the_next_poll_asks_with_min_id_and_follows_full_pages() {
    let timeline = Timeline::of(newest_page());
    let server = timeline_server(&timeline).await;
    let harness = Harness::new("mastodon-pages");
    let poller = harness.poller(&server, &["utrecht"]);
    let first = harness.poll(&poller, &SourceCursor::default()).await.unwrap();
    timeline.add([full_page(), after_143()].concat());
    let polled = harness.poll(&poller, next(&first)).await.unwrap();

    // From the lookback before 103 (all fixture ids lie within it), then after the newest of the full page.
    assert_eq!(
        min_ids(&server)[1..],
        [Some(overlap(&id(103))), Some(id(140))],
        "a full page is followed; a partial one is the end"
    );
    assert_eq!(position(&polled, "tag:utrecht"), Some(id(151)));
    let ids = status_ids(&polled.messages);
    assert_eq!(ids.len(), 42, "104–143 and the 2 kept of 144–151; 101–103 were read before");
    assert_eq!(ids.first(), Some(&id(104)));
    assert_eq!(ids.last(), Some(&id(145)));
    assert_no_canary(&polled.messages);

    // With max_pages 1 the rest waits for the next poll, and nothing is lost.
    let timeline = Timeline::of(newest_page());
    let server = timeline_server(&timeline).await;
    let poller = MastodonPoller { max_pages: 1, ..harness.poller(&server, &["utrecht"]) };
    let start = harness.poll(&poller, &SourceCursor::default()).await.unwrap();
    timeline.add([full_page(), after_143()].concat());
    let first = harness.poll(&poller, next(&start)).await.unwrap();
    assert_eq!(min_ids(&server)[1..], [Some(overlap(&id(103)))]);
    assert_eq!(first.messages.len(), 37, "104–140");
    assert_eq!(position(&first, "tag:utrecht"), Some(id(140)));
    // The window now holds 40 statuses already read: re-reading them all would fill the one page and
    // never get past 140, so it is cut to the newest 20 of them (half the page budget), and that is
    // reported: a late status before 120 would not be read.
    let gaps = || {
        crate::support::counter(
            "onrust_source_coverage_gaps_total",
            &[("source", "mastodon-pages"), ("source_kind", "mastodon"), ("outcome", "overlap_cut")],
        )
    };
    let before = gaps();
    let second = harness.poll(&poller, next(&first)).await.unwrap();
    assert_eq!(requests(&server).last().unwrap().min_id, Some(id(120)));
    assert_eq!(gaps(), before + 1, "the shortened window is a coverage gap");
    assert_eq!(status_ids(&second.messages), [id(141), id(142), id(143), id(144), id(145)]);
    assert_eq!(position(&second, "tag:utrecht"), Some(id(151)));
}

#[tokio::test]
async fn skipped_statuses_are_counted_once_and_still_advance_the_position() {
    let server = timeline_server(&Timeline::of(all_statuses())).await;
    let harness = Harness::new("mastodon-skips");
    let poller = harness.poller(&server, &["utrecht"]);
    let polled = harness.poll(&poller, &read_up_to(143)).await.unwrap();

    assert_eq!(min_ids(&server), [Some(overlap(&id(143))), Some(id(140))]);
    // 151 (private) is the newest and left out, yet the position moves over it.
    assert_eq!(position(&polled, "tag:utrecht"), Some(id(151)));
    assert_eq!(status_ids(&polled.messages), [id(144), id(145)], "101–143 are read again but not sent again");
    let m145 = &polled.messages[1];
    assert_eq!(m145.published_at, None, "an unparseable created_at is no error");
    assert_eq!(m145.lang_hint, None);
    assert!(m145.author.is_some(), "an account from before Mastodon 4.2 (no indexable) is allowed");
    assert_no_canary(&polled.messages);

    let expected =
        [("duplicate", 0), ("not_public", 2), ("not_indexable", 1), ("noindex", 1), ("reblog", 1), ("empty", 1)];
    for (outcome, count) in expected {
        assert_eq!(harness.skipped(outcome), count, "{outcome}");
    }
    assert!(next(&polled).has_seen(&key(&id(151))), "left out, yet remembered");

    // The next poll reads the overlap again: nothing new, nothing counted again.
    let again = harness.poll(&poller, next(&polled)).await.unwrap();
    assert_eq!(min_ids(&server)[2..], [Some(overlap(&id(151))), Some(id(140))]);
    assert!(again.messages.is_empty());
    for (outcome, count) in expected {
        assert_eq!(harness.skipped(outcome), count, "{outcome} counted again");
    }
}

#[tokio::test]
async fn late_remote_statuses_inside_the_lookback_are_read_exactly_once() {
    let (early, private, last) = (
        written_at(T - 20 * MINUTE, 0, false, "public"),
        written_at(T - 5 * MINUTE, 0, false, "private"),
        written_at(T, 0, false, "public"),
    );
    let timeline = Timeline::of(vec![early, private, last]);
    let server = timeline_server(&timeline).await;
    let harness = Harness::new("mastodon-late");
    let poller = harness.poller(&server, &["utrecht"]);
    let first = harness.poll(&poller, &SourceCursor::default()).await.unwrap();
    assert_eq!(status_ids(&first.messages), [snowflake(T - 20 * MINUTE, 0), snowflake(T, 0)]);
    assert_eq!(harness.skipped("not_public"), 1);
    assert_eq!(position(&first, "tag:utrecht"), Some(snowflake(T, 0)));

    // A remote status written 10 minutes before the position arrives now, with the id of its writing
    // time; so does a new local one.
    let late = snowflake(T - 10 * MINUTE, 3);
    let new = snowflake(T + MINUTE, 0);
    timeline.add(vec![written_at(T - 10 * MINUTE, 3, true, "public"), written_at(T + MINUTE, 0, false, "public")]);
    let second = harness.poll(&poller, next(&first)).await.unwrap();
    assert_eq!(min_ids(&server)[1..], [Some(snowflake(T - 30 * MINUTE, 0))], "the position's time less 30 minutes");
    assert_eq!(status_ids(&second.messages), [late.clone(), new.clone()], "the late one once, nothing read before");
    assert_eq!(harness.skipped("not_public"), 1, "the private status in the overlap is not counted again");
    assert_eq!(harness.skipped("duplicate"), 0);
    assert_eq!(position(&second, "tag:utrecht"), Some(new.clone()), "the position is the newest id read");
    let remote = harness.ctx.pseudonymize("mastodon", "canary_remote_88@boeren.social", second.messages[0].fetched_at);
    assert_eq!(second.messages[0].author, Some(remote.unwrap()));
    assert_no_canary(&second.messages);

    // The poll after reads the late status again (it is still inside the window) and sends nothing.
    let third = harness.poll(&poller, next(&second)).await.unwrap();
    assert_eq!(min_ids(&server)[2..], [Some(overlap(&new))]);
    assert!(third.messages.is_empty(), "{:?}", status_ids(&third.messages));
    assert_eq!(harness.skipped("not_public"), 1);
    assert_eq!(position(&third, "tag:utrecht"), Some(new));
    assert!(next(&third).has_seen(&key(&late)));
}

#[tokio::test]
async fn the_overlap_reaches_back_the_lookback_and_no_further() {
    let timeline = Timeline::of(vec![written_at(T, 0, false, "public")]);
    let server = timeline_server(&timeline).await;
    let harness = Harness::new("mastodon-lookback");
    let poller = harness.poller(&server, &["utrecht"]);
    let first = harness.poll(&poller, &SourceCursor::default()).await.unwrap();

    // A remote status written 45 minutes before the position arrives: later than the lookback.
    let too_late = snowflake(T - 45 * MINUTE, 0);
    timeline.add(vec![written_at(T - 45 * MINUTE, 0, true, "public")]);
    let polled = harness.poll(&poller, next(&first)).await.unwrap();
    let asked = requests(&server)[1].min_id.clone().unwrap();
    assert_eq!(asked, snowflake(T - 30 * MINUTE, 0));
    assert!(asked.parse::<u64>().unwrap() > too_late.parse::<u64>().unwrap(), "the request does not reach it");
    assert!(polled.messages.is_empty());

    // A lookback of an hour does reach it.
    let poller = MastodonPoller { lookback: Duration::from_secs(3600), ..poller };
    let polled = harness.poll(&poller, next(&first)).await.unwrap();
    assert_eq!(requests(&server)[2].min_id, Some(snowflake(T - 60 * MINUTE, 0)));
    assert_eq!(status_ids(&polled.messages), [too_late]);
}

#[tokio::test]
async fn five_tags_are_two_queries_with_positions_per_tag() {
    let timeline = Timeline::of(newest_page());
    let server = timeline_server(&timeline).await;
    let harness = Harness::new("mastodon-groups");
    let tags = ["utrecht", "amersfoort", "Stikstof", "boerenprotest", "trekkers"];
    let poller = harness.poller(&server, &tags);
    let mut cursor = SourceCursor::default();
    cursor.positions.insert("tags:old,group".into(), id(1));
    cursor.positions.insert("tag:gone".into(), id(1));
    cursor.positions.insert("other:stream".into(), "kept".into());
    let polled = harness.poll(&poller, &cursor).await.unwrap();

    let asked = requests(&server);
    assert_eq!(asked.len(), 2);
    assert_eq!(
        (asked[0].tag.as_str(), asked[0].any.as_slice()),
        ("utrecht", &["amersfoort", "Stikstof", "boerenprotest"].map(String::from)[..])
    );
    assert_eq!((asked[1].tag.as_str(), asked[1].any.len()), ("trekkers", 0));
    assert!(server.requests.lock().unwrap()[0].contains("any%5B%5D=amersfoort"), "any[] is percent-encoded");
    assert_eq!(min_ids(&server), [None, None], "tags without a position: first runs");

    let expected: BTreeMap<String, String> = [
        ("other:stream".to_owned(), "kept".to_owned()),
        ("tag:amersfoort".to_owned(), id(103)),
        ("tag:boerenprotest".to_owned(), id(103)),
        ("tag:stikstof".to_owned(), id(103)),
        ("tag:trekkers".to_owned(), id(103)),
        ("tag:utrecht".to_owned(), id(103)),
    ]
    .into();
    assert_eq!(without_reads(next(&polled)), expected, "tags no longer configured lose their position");
    let reads = |tag: &str| next(&polled).positions.get(&format!("read:{tag}")).cloned();
    assert_eq!(reads("utrecht"), Some([id(101), id(102), id(103)].join(",")), "what each query read");
    assert_eq!(reads("gone"), None);
    // Both groups saw the same three statuses: they are sent once.
    assert_eq!(polled.messages.len(), 3);
    assert_eq!(harness.skipped("duplicate"), 3);

    // The next poll asks each group from its tags' position, less the lookback.
    timeline.add([full_page(), after_143()].concat());
    let _ = harness.poll(&poller, next(&polled)).await.unwrap();
    let asked = requests(&server);
    assert_eq!(asked[2].min_id, Some(overlap(&id(103))));
    assert_eq!(asked.len(), 2 + 2 + 2, "both groups follow the full page to the next");
    assert_eq!((asked[4].tag.as_str(), asked[4].min_id.clone()), ("trekkers", Some(overlap(&id(103)))));
}

#[tokio::test]
async fn adding_a_tag_in_front_keeps_the_other_tags_positions() {
    // Read up to T+3m by every tag, but boerenprotest only up to T (its group failed or was cut short).
    let timeline =
        Timeline::of(vec![written_at(T, 0, false, "public"), written_at(T + 3 * MINUTE, 0, false, "public")]);
    let server = timeline_server(&timeline).await;
    let harness = Harness::new("mastodon-shift");
    let mut cursor = SourceCursor::default();
    for (tag, position) in [("utrecht", 3), ("amersfoort", 3), ("stikstof", 3), ("boerenprotest", 0), ("trekkers", 3)] {
        cursor.positions.insert(format!("tag:{tag}"), snowflake(T + position * MINUTE, 0));
    }
    cursor.remember(vec![key(&snowflake(T, 0)), key(&snowflake(T + 3 * MINUTE, 0))], 100);
    let new = snowflake(T + 4 * MINUTE, 0);
    timeline.add(vec![written_at(T + 4 * MINUTE, 0, false, "public")]);

    // Zwolle in front shifts every group: [zwolle utrecht amersfoort stikstof] [boerenprotest trekkers].
    let tags = ["zwolle", "utrecht", "amersfoort", "stikstof", "boerenprotest", "trekkers"];
    let polled = harness.poll(&harness.poller(&server, &tags), &cursor).await.unwrap();
    let asked = requests(&server);
    assert_eq!((asked[0].tag.as_str(), asked[1].tag.as_str()), ("zwolle", "boerenprotest"));
    assert_eq!(
        min_ids(&server),
        [Some(overlap(&snowflake(T + 3 * MINUTE, 0))), Some(overlap(&snowflake(T, 0)))],
        "each group from its lowest stored position less the lookback; neither is a first run"
    );
    assert_eq!(status_ids(&polled.messages), [new.as_str()], "only the new status, once");
    assert_eq!(harness.skipped("duplicate"), 1, "the second group saw it too");
    let positions = &without_reads(next(&polled));
    assert_eq!(positions.len(), tags.len());
    for tag in tags {
        assert_eq!(positions.get(&format!("tag:{tag}")), Some(&new), "{tag}");
    }
}

#[tokio::test]
async fn an_old_query_key_migrates_to_positions_per_tag() {
    let server = timeline_server(&Timeline::of(all_statuses())).await;
    let harness = Harness::new("mastodon-migrate");
    let poller = harness.poller(&server, &["utrecht", "amersfoort"]);
    let mut cursor = SourceCursor::default();
    cursor.positions.insert("tags:utrecht,amersfoort".into(), id(143));
    let polled = harness.poll(&poller, &cursor).await.unwrap();

    assert_eq!(min_ids(&server), [Some(overlap(&id(143))), Some(id(140))], "not a first run");
    // The old cursor kept no dedup keys: the overlap is sent once more (same message ids, so harmless).
    assert_eq!(polled.messages.len(), 45, "101–143 and 144, 145");
    let positions = &without_reads(next(&polled));
    let expected: BTreeMap<String, String> =
        [("tag:amersfoort".to_owned(), id(151)), ("tag:utrecht".to_owned(), id(151))].into();
    assert_eq!(positions, &expected, "the old key is gone");

    let again = harness.poll(&poller, next(&polled)).await.unwrap();
    assert_eq!(requests(&server)[2].min_id, Some(overlap(&id(151))));
    assert!(again.messages.is_empty());
}

#[tokio::test]
async fn an_empty_page_leaves_the_position() {
    let server = mastodon_server(|_| json("[]", None)).await;
    let harness = Harness::new("mastodon-empty");
    let poller = harness.poller(&server, &["utrecht"]);
    let polled = harness.poll(&poller, &at(151)).await.unwrap();
    assert!(polled.messages.is_empty());
    assert_eq!(polled.next_cursor, Some(at(151)));
    assert_eq!(requests(&server)[0].min_id, Some(overlap(&id(151))));

    // A first run on an empty timeline sets no position: the next poll is a first run again.
    let polled = harness.poll(&poller, &SourceCursor::default()).await.unwrap();
    assert_eq!(polled.next_cursor, Some(SourceCursor::default()));
    assert_eq!(requests(&server)[1].min_id, None);
}

#[tokio::test]
async fn a_429_with_retry_after_fails_the_poll_and_moves_nothing() {
    let timeline = Timeline::of(newest_page());
    let server = mastodon_server(move |request| {
        if request.tag == "trekkers" {
            response("429 Too Many Requests", &[("Retry-After", "30")], b"{\"error\":\"Too many requests\"}")
        } else {
            timeline.respond(request)
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
    for outcome in OUTCOMES {
        assert_eq!(harness.skipped(outcome), 0, "nothing is counted for a failed poll");
    }
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
    let timeline = Timeline::of(newest_page());
    let server = timeline_server(&timeline).await;
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

    // More statuses for the next poll.
    timeline.add([full_page(), after_143()].concat());
    for (_, ack) in batch {
        ack.ack();
    }
    wait_until_async("the cursor after the ack", EVENTUALLY, || stored().is_some()).await;
    let cursor = stored().expect("the cursor after the ack");
    assert_eq!(cursor.positions.get("tag:utrecht"), Some(&id(103)));
    assert_eq!(cursor.seen, [key(&id(101)), key(&id(102)), key(&id(103))]);
    assert_eq!(cursor.url.as_deref(), Some(format!("{instance} tags:utrecht").as_str()));

    // The next polls ask from the lookback before the position and follow the full page.
    wait_until_async("a poll from the full page's last id", EVENTUALLY, || {
        requests(&server).iter().any(|r| r.min_id == Some(id(140)))
    })
    .await;
    assert_eq!(min_ids(&server)[..3], [None, Some(overlap(&id(103))), Some(id(140))]);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    // The follow-up batch was never acked: the position stays where the acked batch left it.
    assert_eq!(stored().unwrap().positions.get("tag:utrecht"), Some(&id(103)));
}

/// The overlap's cut counts what the query itself read: a busy query beside
/// a quiet one shortens only its own window.
#[tokio::test]
async fn a_busy_query_does_not_shorten_a_quiet_one_s_window() {
    let server = timeline_server(&Timeline::of(newest_page())).await;
    let harness = Harness::new("mastodon-busy");
    let tags = ["busy1", "busy2", "busy3", "busy4", "quiet"];
    let position = snowflake(T + 20 * MINUTE, 0);
    let mut cursor = SourceCursor::default();
    for tag in tags {
        cursor.positions.insert(format!("tag:{tag}"), position.clone());
    }
    // The busy query read 150 statuses in the last 20 minutes; the quiet one read none.
    let busy: Vec<String> = (0..150).map(|n| snowflake(T + 20 * MINUTE - n * 8_000, 0)).collect();
    cursor.positions.insert("read:busy1".into(), busy.join(","));
    // Every status read is also a dedup key of the instance, whichever query read it.
    cursor.remember(busy.iter().map(|id| format!("status:127.0.0.1/{id}")).collect(), 10_000);
    harness.poll(&harness.poller(&server, &tags), &cursor).await.unwrap();

    let asked = min_ids(&server);
    let (busy_from, quiet_from) = (asked[0].clone().unwrap(), asked[1].clone().unwrap());
    let full = overlap(&position);
    assert!(busy_from.parse::<u64>().unwrap() > full.parse::<u64>().unwrap(), "the busy query's window is cut");
    assert_eq!(quiet_from, full, "the quiet query reads back the whole lookback");
}
