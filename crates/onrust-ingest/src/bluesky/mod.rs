//! The `bluesky` kind: public Bluesky posts from a Jetstream WebSocket.
//!
//! **What it sees.** Jetstream relays the network's firehose as JSON, one
//! event per text message. The source subscribes to
//! `wantedCollections=app.bsky.feed.post` only, so it sees new and edited
//! posts (`create`, `update`) and deleted ones (`delete`), plus the
//! `identity` and `account` events Jetstream always sends. Posts are
//! filtered *before* the bus: first by their declared languages (`langs`,
//! matched on the primary subtag, so `nl-BE` is `nl`; a post without `langs`
//! passes only with `accept_untagged`), then by a [`Relevance`] test the
//! binary builds from the classifier's theme and place lexicons (and which
//! keeps every post the classifier scores level 2 or higher, place or no
//! place). The
//! firehose carries the whole network; keeping only what could concern a
//! Dutch municipality is both the cheap and the proportionate choice
//! (rule L3). Left-out posts are counted (`ItemsSkipped`: `language`,
//! `off_topic`, `empty`, `duplicate`, `malformed`), per batch.
//!
//! **What it does not see, on purpose.** Likes, reposts, follows, blocks and
//! profiles are never requested (L1, L3). Identity and account events are
//! read only for their `time_us`: identity events carry handles, so their
//! content is never looked at, logged or kept. Embeds, images and facets are
//! dropped; the text is cleaned (HTML-free plain text, mentions masked, capped:
//! [`crate::text::clean`]). A message has **no url**: every post URL
//! (`at://did:…/…` or `https://bsky.app/profile/<did>/post/…`) contains the
//! author's DID, which identifies a person (L2). The author becomes a keyed
//! pseudonym of the DID; no DID or handle reaches a message, a log line, a
//! metric or an error. Events are never logged, not even malformed ones.
//!
//! **Deletes** become [`Deletion`]s with the id the post had, sent on their
//! own channel, but only for posts this source sent downstream before. The
//! firehose carries every deletion on the network; forwarding them all would
//! tell whoever reads the deletions topic about people onrust never archived
//! and cost the archive a lookup each (L3). So the source keeps a durable,
//! bounded record of what it sent (`<cursor dir>/<source>.sent`, a 64-bit
//! digest per message id), loaded at start and extended when a
//! post is put in a batch, before a deletion read after it can be handled. A
//! deletion of a post not in the record is dropped and counted
//! (`ItemsSkipped`, `not_ours`). The cost: a post forgotten by the record
//! (beyond `max_sent`, the oldest half is dropped; a corrupt file starts
//! empty, with a warning; posts sent before the record existed) keeps its
//! archived copy when it is deleted, until retention removes it.
//!
//! **At-least-once (R1).** Events are read continuously and sent downstream
//! in batches (up to `max_batch`, or after `batch_wait`), each batch under
//! one parent [`Ack`] split over its items. A FIFO keeps the outstanding
//! batches, each with the newest `time_us` it covers, including events read
//! after it that needed no acknowledgement (filtered or ignored ones). The
//! cursor (`positions["time_us"]`) moves only when the oldest outstanding
//! batch is acknowledged, and is stored at most about once a second. A batch
//! that fails (an item dropped) abandons every outstanding batch and
//! reconnects from the acknowledged cursor: events are read again, and sinks
//! are idempotent by id. At most `max_outstanding` batches are in flight;
//! beyond that the socket is not read, so backpressure reaches Jetstream and
//! memory stays bounded.
//!
//! **Resume.** A (re)connection with a cursor asks for `cursor − rewind`
//! (Jetstream's clock is per instance, and events can arrive slightly out of
//! order), and drops events already sent in this process (a bounded set of
//! recent keys: the message id and the repository revision, so an edit is
//! sent again while a replayed copy is not). After a restart the rewound
//! events are sent again with the same ids. Jetstream keeps about a day of
//! events: a cursor older than `backlog` means events were lost, which is
//! reported once as a coverage gap (R10) and then read from what is kept.
//!
//! **Oversized events.** The subscription asks Jetstream to drop events over
//! `max_message_bytes` (`maxMessageSizeBytes`). Should one arrive anyway, the
//! socket fails it before it is read, so its `time_us` is unknown, and a
//! resume before it would meet it again until Jetstream forgets it (a day).
//! The source therefore resumes just past the last event it read (`+1 µs`,
//! without the rewind, and no later resume rewinds below that point) and
//! reports a coverage gap (`oversized`) for the skipped span. If the same
//! failure comes back with nothing read in between, the skip grows (doubled
//! each time, at most `rewind` + 1 s per step) and each further span is
//! reported too. The tradeoff: events sharing the skipped microseconds are
//! lost with the oversized one, which is what the gap says; a stream held up
//! for a day would lose far more. While the skip is still growing the
//! reconnect waits only `min_backoff`; at its cap it counts as a failure and
//! backs off.
//!
//! **Safety.** Only `ws` and `wss`. The host is resolved once and every
//! address checked by the fetcher's egress guard (S1, with its allow-list);
//! the TCP connection goes to a checked address and the TLS handshake
//! (webpki roots, verification always on) and the WebSocket handshake run
//! over it. Connecting has a timeout, messages and frames a size cap, and a
//! connection that delivers no event for `idle_timeout` is treated as dead:
//! Jetstream is busy, silence means a broken connection, not calm.
//!
//! **Health.** While connected and receiving, `PollSucceeded` is emitted
//! on the first event and then every few seconds (with the items
//! acknowledged since); a failed connection or a dropped one emits
//! `PollFailed` and backs off exponentially with full jitter between
//! `min_backoff` and `max_backoff` (reset after a healthy minute). Every
//! connection attempt is counted as a fetch (`FetchFinished`, outcome `ok`,
//! `blocked`, `timeout`, `http_error` or `connect_error`); the bytes
//! received on the socket are not counted.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use onrust_model::{Ack, Deletion, MessageId, RawMessage, SCHEMA_VERSION};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_rustls::rustls;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use url::{Host, Url};

use crate::cursor::SourceCursor;
use crate::fetch::guard::{EgressGuard, ResolveError};
use crate::internal_events::{
    BatchNotAcked, CoverageGap, CursorProblem, FetchFinished, ItemsSkipped, PollFailed, PollSucceeded,
};
use crate::source::{SourceContext, SourceSettings, backoff, load_cursor, store_cursor, wait_for_shutdown};
use crate::text::clean;

pub mod config;
mod sent;

use sent::SentIds;

/// The platform name authors (DIDs) are pseudonymised under.
pub const PLATFORM: &str = "bluesky";
/// The only collection this source asks for.
pub const POST_COLLECTION: &str = "app.bsky.feed.post";
/// The cursor's position key: Jetstream's `time_us`.
pub const CURSOR_POSITION: &str = "time_us";

/// How often the loop checks whether the cursor should be stored.
const TICK: Duration = Duration::from_millis(250);
/// The cursor is written at most this often while streaming.
const STORE_EVERY: Duration = Duration::from_secs(1);
/// `PollSucceeded` is emitted at least this often while events arrive.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A connection that delivered events this long resets the backoff.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);
/// Time allowed for the polite close of the socket.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Decides whether a post may concern the monitored area and themes. The
/// binary implements it from the classifier's theme and place lexicons.
pub trait Relevance: Send + Sync + 'static {
    /// Is this cleaned post text worth sending on? `false` counts it as `off_topic`.
    fn is_relevant(&self, text: &str) -> bool;
}

/// A [`Relevance`] that keeps every post (for tests and for replays).
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl Relevance for AcceptAll {
    fn is_relevant(&self, _: &str) -> bool {
        true
    }
}

/// A Jetstream source: one WebSocket subscription to public Bluesky posts.
pub struct JetstreamSource {
    /// Id, kind (`bluesky`), identity, backoff cap and shutdown grace (`interval` is unused).
    pub settings: SourceSettings,
    /// `ws://` or `wss://…/subscribe`; `wantedCollections` and `cursor` are set here.
    pub url: Url,
    /// Accepted languages (ISO 639-1, matched on the primary subtag); empty accepts every language.
    pub languages: Vec<String>,
    /// Accept posts that declare no language (default false).
    pub accept_untagged: bool,
    /// The topical filter applied after the language filter.
    pub relevance: Arc<dyn Relevance>,
    /// How far before the stored cursor a resume starts (default 5 s).
    pub rewind: Duration,
    /// What Jetstream keeps; resuming from an older cursor reports a coverage gap (default 24 h).
    pub backlog: Duration,
    /// Items (messages and deletions) per batch at most (default 256).
    pub max_batch: usize,
    /// How long a started batch waits for more items (default 1 s).
    pub batch_wait: Duration,
    /// Cap on a message's text in characters (default 20 000).
    pub max_text_chars: usize,
    /// Batches in flight at most before the socket is no longer read (default 8).
    pub max_outstanding: usize,
    /// Recently sent keys remembered to absorb the rewind's duplicates (default 50 000).
    pub max_recent: usize,
    /// Time allowed for resolving, TCP, TLS and the WebSocket handshake (default 10 s).
    pub connect_timeout: Duration,
    /// No event for this long means a dead connection (default 30 s).
    pub idle_timeout: Duration,
    /// Lower bound of the reconnect backoff (default 1 s).
    pub min_backoff: Duration,
    /// Cap on one WebSocket message and frame in bytes, also asked of
    /// Jetstream as `maxMessageSizeBytes` (default 1 MiB).
    pub max_message_bytes: usize,
    /// Sent message ids remembered (durably) so their deletions are
    /// forwarded; beyond this the oldest half is forgotten (default 1 000 000).
    pub max_sent: usize,
}

impl JetstreamSource {
    /// A source with the defaults listed on each field.
    pub fn new(settings: SourceSettings, url: Url, languages: Vec<String>, relevance: Arc<dyn Relevance>) -> Self {
        Self {
            settings,
            url,
            languages,
            accept_untagged: false,
            relevance,
            rewind: Duration::from_secs(5),
            backlog: Duration::from_secs(24 * 3600),
            max_batch: 256,
            batch_wait: Duration::from_secs(1),
            max_text_chars: 20_000,
            max_outstanding: 8,
            max_recent: 50_000,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            min_backoff: Duration::from_secs(1),
            max_message_bytes: 1024 * 1024,
            max_sent: 1_000_000,
        }
    }

    /// Runs until shutdown is signalled (or a downstream channel closes).
    /// Messages go to `out`, deletions to `deletions`; both must be consumed.
    pub async fn run(
        self,
        ctx: SourceContext,
        out: mpsc::Sender<(RawMessage, Ack)>,
        deletions: mpsc::Sender<(Deletion, Ack)>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let sent = self.load_sent(&ctx).await;
        let mut state = State::load(&self, &ctx, sent);
        let (ack_tx, mut acks) = mpsc::unbounded_channel();
        let senders = Senders { out, deletions, acks: ack_tx };
        self.stream(&ctx, &mut state, &senders, &mut acks, &mut shutdown).await;
        // Let the pipeline drain, then keep what it acknowledges in time.
        drop(senders);
        self.drain(&ctx, &mut state, &mut acks).await;
    }

    /// Connects, reads and reconnects until shutdown or a closed channel.
    async fn stream(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        senders: &Senders,
        acks: &mut mpsc::UnboundedReceiver<(u64, bool)>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        let languages = primary_subtags(&self.languages);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let resume = state.resume_from(self.rewind);
            let url = subscribe_url(&self.url, resume, self.max_message_bytes);
            let started = std::time::Instant::now();
            let connected = tokio::select! {
                connected = self.connect(ctx.fetcher.guard(), &url) => connected,
                () = wait_for_shutdown(shutdown) => return,
            };
            let outcome = match &connected {
                Ok(_) => "ok",
                Err(error) => error.outcome(),
            };
            let source = &self.settings;
            FetchFinished {
                source: &source.id,
                kind: source.kind,
                outcome,
                received_bytes: 0,
                duration: started.elapsed(),
            }
            .emit();
            let end = match connected {
                Err(error) => SessionEnd::Failed(error.to_string()),
                Ok(ws) => {
                    if let Some(read) = state.read_us {
                        self.report_gap(state, read);
                    }
                    self.session(ctx, state, senders, acks, shutdown, ws, &languages).await
                }
            };
            let delay = match end {
                SessionEnd::Stop => return,
                SessionEnd::NotAcked => {
                    // A downstream failure, not the source's: read again from the acknowledged cursor.
                    state.abandon_outstanding(&self.settings);
                    state.store(&self.settings, &ctx.cursors, true).await;
                    self.min_backoff
                }
                SessionEnd::Unrecorded(error) => self.unrecorded(ctx, state, &error).await,
                // What was read before the failure is complete: send it.
                SessionEnd::Failed(error) => match self.flush(state, senders, shutdown).await {
                    Err(FlushEnd::Stop) => return,
                    Err(FlushEnd::Unrecorded(unrecorded)) => self.unrecorded(ctx, state, &unrecorded).await,
                    Ok(()) => self.failed(state, &error),
                },
                SessionEnd::Oversized(error) => match self.flush(state, senders, shutdown).await {
                    Err(FlushEnd::Stop) => return,
                    Err(FlushEnd::Unrecorded(unrecorded)) => self.unrecorded(ctx, state, &unrecorded).await,
                    Ok(()) => self.skip_oversized(state, &error),
                },
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = wait_for_shutdown(shutdown) => return,
            }
        }
    }

    /// Reads one connection until it ends.
    #[expect(clippy::too_many_arguments, reason = "the loop's parts, borrowed separately")]
    async fn session(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        senders: &Senders,
        acks: &mut mpsc::UnboundedReceiver<(u64, bool)>,
        shutdown: &mut watch::Receiver<bool>,
        mut ws: Ws,
        languages: &[String],
    ) -> SessionEnd {
        let connected_at = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut idle_deadline = Instant::now() + self.idle_timeout;
        let mut was_reading = false;
        let mut first_event = true;
        let mut last_heartbeat = Instant::now();
        let end = loop {
            let reading = state.outstanding.len() < self.max_outstanding.max(1);
            if reading && !was_reading {
                idle_deadline = Instant::now() + self.idle_timeout;
            }
            was_reading = reading;
            let flush_at = state.pending.started.map(|started| started + self.batch_wait);
            let wake = tokio::select! {
                biased;
                () = wait_for_shutdown(shutdown) => Wake::Shutdown,
                ack = acks.recv() => ack.map_or(Wake::Tick, |(seq, ok)| Wake::Ack(seq, ok)),
                () = sleep_until_opt(flush_at), if reading && flush_at.is_some() => Wake::Flush,
                _ = tick.tick() => Wake::Tick,
                () = tokio::time::sleep_until(idle_deadline), if reading => Wake::Idle,
                frame = ws.next(), if reading => Wake::Frame(frame),
            };
            match wake {
                Wake::Shutdown => break SessionEnd::Stop,
                Wake::Ack(seq, ok) => {
                    if !state.on_ack(seq, ok) {
                        break SessionEnd::NotAcked;
                    }
                }
                Wake::Flush => match self.flush(state, senders, shutdown).await {
                    Ok(()) => {}
                    Err(FlushEnd::Stop) => break SessionEnd::Stop,
                    Err(FlushEnd::Unrecorded(error)) => break SessionEnd::Unrecorded(error),
                },
                Wake::Tick => {
                    state.store(&self.settings, &ctx.cursors, false).await;
                    if last_heartbeat.elapsed() >= HEARTBEAT {
                        last_heartbeat = Instant::now();
                        if state.received {
                            state.received = false;
                            self.succeeded(state);
                        }
                        state.emit_skipped(&self.settings);
                    }
                    if connected_at.elapsed() >= HEALTHY_AFTER && state.up == Some(true) {
                        state.failures = 0;
                    }
                }
                Wake::Idle => {
                    break SessionEnd::Failed(format!("no event for {} s", self.idle_timeout.as_secs()));
                }
                Wake::Frame(None) => break SessionEnd::Failed("the server closed the connection".into()),
                Wake::Frame(Some(Err(tungstenite::Error::Capacity(error)))) => {
                    break SessionEnd::Oversized(format!("reading the websocket failed: {error}"));
                }
                Wake::Frame(Some(Err(error))) => {
                    break SessionEnd::Failed(format!("reading the websocket failed: {error}"));
                }
                Wake::Frame(Some(Ok(message))) => {
                    let text = match message {
                        tungstenite::Message::Text(text) => text,
                        tungstenite::Message::Binary(_) => {
                            state.skipped.malformed += 1;
                            continue;
                        }
                        tungstenite::Message::Close(_) => {
                            break SessionEnd::Failed("the server closed the connection".into());
                        }
                        _ => continue,
                    };
                    idle_deadline = Instant::now() + self.idle_timeout;
                    state.received = true;
                    if first_event {
                        first_event = false;
                        self.succeeded(state);
                    }
                    if let Err(error) = self.handle_event(ctx, state, text.as_str(), languages) {
                        break SessionEnd::Failed(error);
                    }
                    if state.pending.len() >= self.max_batch.max(1) {
                        match self.flush(state, senders, shutdown).await {
                            Ok(()) => {}
                            Err(FlushEnd::Stop) => break SessionEnd::Stop,
                            Err(FlushEnd::Unrecorded(error)) => break SessionEnd::Unrecorded(error),
                        }
                    }
                }
            }
        };
        // Polite close; a dead peer must not hold up the reconnect.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(None)).await;
        end
    }

    /// Reads one event: filters it, turns it into a message or a deletion in
    /// the pending batch, and moves the read position past it. `Err` (no
    /// pseudonym key) leaves the position before it, so it is read again.
    fn handle_event(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        text: &str,
        languages: &[String],
    ) -> Result<(), String> {
        let source = &self.settings;
        let parsed = parse_event(text);
        if let Some(time_us) = parsed.time_us() {
            state.start_at(time_us);
        }
        let time_us = match parsed {
            ParsedEvent::Malformed { time_us } => {
                state.skipped.malformed += 1;
                match time_us {
                    Some(time_us) => time_us,
                    None => return Ok(()),
                }
            }
            ParsedEvent::Ignored { time_us } => time_us,
            ParsedEvent::Delete { time_us, did, rkey, rev } => {
                let id = MessageId::derive(&source.id, &post_uri(&did, &rkey));
                let key = state.recent.key(b'd', &id, rev.as_deref(), time_us);
                if !state.sent.contains(&id) {
                    // Not a post this source ever sent: nothing downstream to delete (L3).
                    state.skipped.not_ours += 1;
                } else if state.recent.insert(key) {
                    let deleted_at = DateTime::from_timestamp_micros(time_us).unwrap_or_else(Utc::now);
                    let deletion = Deletion {
                        schema: SCHEMA_VERSION,
                        id,
                        source: source.id.clone(),
                        source_kind: source.kind,
                        deleted_at,
                    };
                    state.pending.push(Item::Deletion(deletion), key);
                } else {
                    state.skipped.duplicate += 1;
                }
                time_us
            }
            ParsedEvent::Post { time_us, did, rkey, rev, record } => {
                self.post(ctx, state, time_us, &did, &rkey, rev.as_deref(), record, languages)?;
                time_us
            }
        };
        state.advance(time_us);
        Ok(())
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of one parsed post")]
    fn post(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        time_us: i64,
        did: &str,
        rkey: &str,
        rev: Option<&str>,
        record: Record,
        languages: &[String],
    ) -> Result<(), String> {
        let source = &self.settings;
        let langs = record.langs.unwrap_or_default();
        if !language_matches(&langs, languages, self.accept_untagged) {
            state.skipped.language += 1;
            return Ok(());
        }
        let id = MessageId::derive(&source.id, &post_uri(did, rkey));
        let key = state.recent.key(b'p', &id, rev, time_us);
        if state.recent.contains(key) {
            state.skipped.duplicate += 1;
            return Ok(());
        }
        let text = clean(record.text.as_deref().unwrap_or_default(), false, self.max_text_chars);
        if text.is_empty() {
            state.skipped.empty += 1;
            return Ok(());
        }
        if !self.relevance.is_relevant(&text) {
            state.skipped.off_topic += 1;
            return Ok(());
        }
        let fetched_at = Utc::now();
        let author = ctx.pseudonymize(PLATFORM, did, fetched_at).map_err(|error| match error {
            crate::source::PollError::Failed { error, .. } | crate::source::PollError::Gone(error) => error,
        })?;
        let published_at = record.created_at.as_deref().and_then(|at| DateTime::parse_from_rfc3339(at).ok());
        let message = RawMessage {
            schema: SCHEMA_VERSION,
            id,
            source: source.id.clone(),
            source_kind: source.kind,
            url: None,
            title: None,
            text,
            published_at,
            fetched_at,
            author: Some(author),
            lang_hint: langs.first().and_then(|tag| lang_hint(tag)),
        };
        state.recent.insert(key);
        // Recorded now, so a deletion read right after it is forwarded.
        state.sent.insert(&message.id);
        state.pending.push(Item::Message(Box::new(message)), key);
        Ok(())
    }

    /// The record of sent posts could not be written. Nothing goes out that it
    /// lacks (that post's deletion would be dropped): read again from the
    /// acknowledged cursor, after a backoff, once the disk takes writes again.
    async fn unrecorded(&self, ctx: &SourceContext, state: &mut State, error: &str) -> Duration {
        state.abandon_outstanding(&self.settings);
        state.store(&self.settings, &ctx.cursors, true).await;
        self.failed(state, error)
    }

    /// Sends the pending batch under one parent acknowledgement, once the
    /// record of sent posts holds its posts; `Err` when shutdown was requested
    /// or a downstream channel is closed, or when the record could not be
    /// written (the batch is then dropped, to be read again).
    async fn flush(
        &self,
        state: &mut State,
        senders: &Senders,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), FlushEnd> {
        state.emit_skipped(&self.settings);
        if state.pending.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.save_sent(state).await {
            state.discard_pending();
            return Err(FlushEnd::Unrecorded(error));
        }
        let pending = std::mem::take(&mut state.pending);
        let seq = state.next_seq;
        state.next_seq += 1;
        let items = pending.items.len();
        let acks = senders.acks.clone();
        let parent = Ack::new(move |ok| {
            let _ = acks.send((seq, ok));
        });
        state.outstanding.push_back(Batch { seq, time_us: pending.time_us, items, keys: pending.keys, acked: false });
        for (item, ack) in pending.items.into_iter().zip(parent.split(items)) {
            let sent = tokio::select! {
                sent = async {
                    match item {
                        Item::Message(message) => senders.out.send((*message, ack)).await.is_ok(),
                        Item::Deletion(deletion) => senders.deletions.send((deletion, ack)).await.is_ok(),
                    }
                } => sent,
                () = wait_for_shutdown(shutdown) => false,
            };
            if !sent {
                return Err(FlushEnd::Stop);
            }
        }
        Ok(())
    }

    /// Waits up to the shutdown grace for outstanding acknowledgements and
    /// stores the cursor they allow.
    async fn drain(&self, ctx: &SourceContext, state: &mut State, acks: &mut mpsc::UnboundedReceiver<(u64, bool)>) {
        state.discard_pending();
        let deadline = Instant::now() + self.settings.shutdown_grace;
        while !state.outstanding.is_empty() {
            match tokio::time::timeout_at(deadline, acks.recv()).await {
                Ok(Some((seq, ok))) => {
                    if !state.on_ack(seq, ok) {
                        break;
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        let items: usize = state.outstanding.iter().map(|batch| batch.items).sum();
        if items > 0 {
            BatchNotAcked { source: &self.settings.id, items }.emit();
        }
        state.store(&self.settings, &ctx.cursors, true).await;
        state.emit_skipped(&self.settings);
    }

    /// Loads the record of sent ids off the runtime; a problem is reported and the record starts empty.
    async fn load_sent(&self, ctx: &SourceContext) -> SentIds {
        let id = &self.settings.id;
        let path = SentIds::path_for(&ctx.cursors.path(id), id);
        let (fallback, capacity) = (path.clone(), self.max_sent);
        match tokio::task::spawn_blocking(move || SentIds::load(path, capacity)).await {
            Ok((sent, None)) => sent,
            Ok((sent, Some(problem))) => {
                CursorProblem { source: id, error: &problem.error, action: problem.action }.emit();
                sent
            }
            Err(_) => {
                let action = "starting with no sent ids; the file is rewritten";
                CursorProblem { source: id, error: &"loading the sent ids did not complete", action }.emit();
                SentIds::empty(fallback, capacity)
            }
        }
    }

    /// Appends the ids of the posts about to be sent to the record (or
    /// rewrites it), off the runtime. A failure is reported; the ids stay
    /// in memory and the next write rewrites the file.
    async fn save_sent(&self, state: &mut State) -> Result<(), String> {
        let Some(write) = state.sent.take_write() else { return Ok(()) };
        let action = "sent ids not stored; the batch is not sent and will be read again";
        let source = &self.settings.id;
        let error = match tokio::task::spawn_blocking(move || write.run()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "writing the sent ids did not complete".to_owned(),
        };
        CursorProblem { source, error: &error, action }.emit();
        state.sent.write_failed();
        Err(format!("the record of sent posts could not be written: {error}"))
    }

    /// Moves the read position past an event the socket refused as too large,
    /// reports the skipped span, and returns the wait before reconnecting.
    fn skip_oversized(&self, state: &mut State, error: &str) -> Duration {
        let cap = micros(self.rewind).saturating_add(1_000_000);
        let limit = self.max_message_bytes;
        let detail = match state.skip_oversized(cap) {
            OversizedSkip::Live => {
                format!("an event over {limit} bytes was refused before any event was read; reconnecting live")
            }
            // This span was reported already: a rewind came back before it.
            OversizedSkip::Known { .. } => return self.min_backoff,
            OversizedSkip::Skipped { from, to } => format!(
                "an event over {limit} bytes was refused; resuming at time_us {to}, events not read from {from} on are lost"
            ),
        };
        CoverageGap { source: &self.settings.id, kind: self.settings.kind, reason: "oversized", detail: &detail }
            .emit();
        match state.skip {
            Some(skip) if skip.step < cap => self.min_backoff,
            // Skipping as far as it goes and still refused (or no position): a failure, backed off.
            _ => self.failed(state, error),
        }
    }

    /// Reports a resume past the backlog, once per cursor.
    fn report_gap(&self, state: &mut State, cursor_us: i64) {
        if state.gap_reported_for == Some(cursor_us) {
            return;
        }
        if let Some(age) = backlog_gap(cursor_us, Utc::now(), self.backlog) {
            state.gap_reported_for = Some(cursor_us);
            let detail = format!(
                "resumed {} h after the last event; Jetstream keeps about {} h",
                age.as_secs() / 3600,
                self.backlog.as_secs() / 3600
            );
            CoverageGap {
                source: &self.settings.id,
                kind: self.settings.kind,
                reason: "backlog_exceeded",
                detail: &detail,
            }
            .emit();
        }
    }

    fn succeeded(&self, state: &mut State) {
        let source = &self.settings;
        let new_items = std::mem::take(&mut state.acked_items);
        PollSucceeded { source: &source.id, kind: source.kind, new_items, recovered: state.up == Some(false) }.emit();
        state.up = Some(true);
    }

    fn failed(&self, state: &mut State, error: &str) -> Duration {
        let source = &self.settings;
        state.failures = state.failures.saturating_add(1);
        let backoff = backoff(self.min_backoff, source.max_backoff, state.failures);
        PollFailed { source: &source.id, error: &error, backoff, state_change: state.up != Some(false) }.emit();
        state.up = Some(false);
        backoff
    }

    /// Resolves and checks the host, connects to a checked address, and runs
    /// TLS (for `wss`) and the WebSocket handshake over that connection.
    async fn connect(&self, guard: &EgressGuard, url: &Url) -> Result<Ws, ConnectError> {
        let tls = match url.scheme() {
            "ws" => false,
            "wss" => true,
            other => return Err(ConnectError::Scheme(other.to_owned())),
        };
        let (host, server_name) = match url.host() {
            Some(Host::Domain(name)) => {
                let server_name = rustls::pki_types::ServerName::try_from(name.to_owned())
                    .map_err(|_| ConnectError::Connect("the host is not a valid dns name".into()))?;
                (name.to_owned(), server_name)
            }
            Some(Host::Ipv4(ip)) => (ip.to_string(), rustls::pki_types::ServerName::IpAddress(IpAddr::V4(ip).into())),
            Some(Host::Ipv6(ip)) => (ip.to_string(), rustls::pki_types::ServerName::IpAddress(IpAddr::V6(ip).into())),
            None => return Err(ConnectError::Connect("the url has no host".into())),
        };
        let port = url.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
        let handshake = async {
            let addrs = guard.resolve(&host, port).await.map_err(|error| match error {
                ResolveError::Blocked(blocked) => ConnectError::Blocked(blocked.to_string()),
                lookup @ ResolveError::Lookup(_) => ConnectError::Connect(lookup.to_string()),
            })?;
            let mut last_error = None;
            let mut tcp = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => {
                        tcp = Some(stream);
                        break;
                    }
                    Err(error) => last_error = Some(error),
                }
            }
            let tcp = tcp.ok_or_else(|| {
                ConnectError::Connect(last_error.map_or_else(|| "no address".to_owned(), |error| error.to_string()))
            })?;
            let _ = tcp.set_nodelay(true);
            let stream: Box<dyn Io> = if tls {
                let connector = tokio_rustls::TlsConnector::from(tls_config()?);
                let stream = connector
                    .connect(server_name, tcp)
                    .await
                    .map_err(|error| ConnectError::Connect(format!("tls handshake failed: {error}")))?;
                Box::new(stream)
            } else {
                Box::new(tcp)
            };
            let mut request = url
                .as_str()
                .into_client_request()
                .map_err(|error| ConnectError::Connect(format!("invalid websocket request: {error}")))?;
            request.headers_mut().insert(
                tungstenite::http::header::USER_AGENT,
                tungstenite::http::HeaderValue::from_static(concat!("onrust/", env!("CARGO_PKG_VERSION"))),
            );
            let config = WebSocketConfig::default()
                .max_message_size(Some(self.max_message_bytes))
                .max_frame_size(Some(self.max_message_bytes));
            let (ws, _response) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                .await
                .map_err(|error| match error {
                    tungstenite::Error::Http(response) => ConnectError::Status(response.status().as_u16()),
                    other => ConnectError::Connect(format!("websocket handshake failed: {other}")),
                })?;
            Ok(ws)
        };
        tokio::time::timeout(self.connect_timeout, handshake)
            .await
            .unwrap_or(Err(ConnectError::Timeout(self.connect_timeout)))
    }
}

/// The TLS client configuration: ring, the webpki roots, verification on.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|error| ConnectError::Connect(format!("tls configuration: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A byte stream the WebSocket runs over: plain TCP or TLS.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

type Ws = WebSocketStream<Box<dyn Io>>;

/// Why a connection could not be made. Never names a person: only the
/// configured host's addresses and the server's status.
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("scheme {0:?} is not allowed, only ws and wss")]
    Scheme(String),
    #[error("blocked: {0}")]
    Blocked(String),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("connecting took longer than {0:?}")]
    Timeout(Duration),
    #[error("the server refused the websocket upgrade with http status {0}")]
    Status(u16),
}

impl ConnectError {
    /// The bounded metric label of this failure.
    fn outcome(&self) -> &'static str {
        match self {
            Self::Scheme(_) | Self::Blocked(_) => "blocked",
            Self::Connect(_) => "connect_error",
            Self::Timeout(_) => "timeout",
            Self::Status(_) => "http_error",
        }
    }
}

/// How one connection ended.
/// Why a batch was not sent.
enum FlushEnd {
    /// Shutdown, or a downstream channel closed.
    Stop,
    /// The record of sent posts could not be written; the batch was dropped.
    Unrecorded(String),
}

enum SessionEnd {
    /// Shutdown, or a downstream channel closed.
    Stop,
    /// The record of sent posts could not be written.
    Unrecorded(String),
    /// A batch was not acknowledged.
    NotAcked,
    /// The connection failed or was lost.
    Failed(String),
    /// The socket refused an event over the size cap.
    Oversized(String),
}

/// What woke the session loop.
enum Wake {
    Shutdown,
    Ack(u64, bool),
    Flush,
    Tick,
    Idle,
    Frame(Option<Result<tungstenite::Message, tungstenite::Error>>),
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The channels a batch goes out on, and where its acknowledgement comes back.
struct Senders {
    out: mpsc::Sender<(RawMessage, Ack)>,
    deletions: mpsc::Sender<(Deletion, Ack)>,
    acks: mpsc::UnboundedSender<(u64, bool)>,
}

enum Item {
    Message(Box<RawMessage>),
    Deletion(Deletion),
}

/// Items read and not yet sent.
#[derive(Default)]
struct Pending {
    items: Vec<Item>,
    keys: Vec<u64>,
    /// The newest event this batch covers.
    time_us: Option<i64>,
    /// When its first item was added.
    started: Option<Instant>,
}

impl Pending {
    fn push(&mut self, item: Item, key: u64) {
        if self.items.is_empty() {
            self.started = Some(Instant::now());
        }
        self.items.push(item);
        self.keys.push(key);
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A batch sent and not yet acknowledged (or acknowledged out of order).
struct Batch {
    seq: u64,
    /// The newest event covered: its items and the events after them that needed no acknowledgement.
    time_us: Option<i64>,
    items: usize,
    keys: Vec<u64>,
    acked: bool,
}

/// Items left out since the counts were last emitted.
#[derive(Default)]
struct Skipped {
    language: usize,
    off_topic: usize,
    empty: usize,
    duplicate: usize,
    malformed: usize,
    /// Deletions of posts this source never sent.
    not_ours: usize,
}

/// What the source knows across connections.
struct State {
    /// The stored cursor (validators etc. untouched), to write positions into.
    cursor: SourceCursor,
    /// What the file holds.
    stored_us: Option<i64>,
    /// Every event up to here is acknowledged or needed no acknowledgement.
    acked_us: Option<i64>,
    /// Every event up to here was read and sent or left out: where a reconnect resumes.
    read_us: Option<i64>,
    last_store: Option<Instant>,
    pending: Pending,
    outstanding: VecDeque<Batch>,
    next_seq: u64,
    recent: RecentKeys,
    skipped: Skipped,
    /// Items acknowledged since the last `PollSucceeded`.
    acked_items: usize,
    /// An event arrived since the last heartbeat.
    received: bool,
    up: Option<bool>,
    failures: u32,
    gap_reported_for: Option<i64>,
    /// Message ids sent downstream, durably: only their deletions are forwarded.
    sent: SentIds,
    /// The latest skip past an oversized event.
    skip: Option<Skip>,
}

/// A skip past an event too large to read.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Skip {
    /// Where reading resumes: no resume rewinds below it once read has reached it.
    to: i64,
    /// How far the last skip went, in µs.
    step: i64,
}

/// What an oversized event did to the read position.
#[derive(Debug, PartialEq)]
enum OversizedSkip {
    /// Nothing was read yet: no position to move, the reconnect is live.
    Live,
    /// The position was before a skip already made: it moves there again, no new span.
    Known { to: i64 },
    /// Reading resumes at `to`: events in `from..to` (µs) not read yet are lost.
    Skipped { from: i64, to: i64 },
}

impl State {
    fn load(source: &JetstreamSource, ctx: &SourceContext, sent: SentIds) -> Self {
        let id = &source.settings.id;
        let cursor = load_cursor(id, &ctx.cursors);
        let stored_us = match cursor.positions.get(CURSOR_POSITION) {
            None => None,
            Some(value) => match value.parse::<i64>() {
                Ok(time_us) if time_us > 0 => Some(time_us),
                _ => {
                    CursorProblem {
                        source: id,
                        error: &"the stored time_us is not a positive integer",
                        action: "starting live",
                    }
                    .emit();
                    None
                }
            },
        };
        Self {
            cursor,
            stored_us,
            acked_us: stored_us,
            read_us: stored_us,
            last_store: None,
            pending: Pending::default(),
            outstanding: VecDeque::new(),
            next_seq: 0,
            recent: RecentKeys::new(source.max_recent),
            skipped: Skipped::default(),
            acked_items: 0,
            received: false,
            up: None,
            failures: 0,
            gap_reported_for: None,
            sent,
            skip: None,
        }
    }

    /// Where a (re)connection starts: see [`resume_point`].
    fn resume_from(&self, rewind: Duration) -> Option<i64> {
        resume_point(self.read_us, self.skip, rewind)
    }

    /// Moves the read position past an event the socket refused: see [`skip_past`].
    fn skip_oversized(&mut self, cap: i64) -> OversizedSkip {
        let (outcome, skip) = skip_past(self.read_us, self.skip, cap);
        self.skip = skip;
        if let OversizedSkip::Known { to } | OversizedSkip::Skipped { to, .. } = outcome {
            self.read_us = Some(to);
        }
        outcome
    }

    /// Without a cursor, the first event read marks where the stream
    /// starts: everything before it was never wanted, so a failed first
    /// batch is read again from here rather than from "live".
    fn start_at(&mut self, time_us: i64) {
        if self.acked_us.is_none() {
            self.acked_us = Some(time_us.saturating_sub(1));
        }
    }

    /// An event at `time_us` was read and handled (sent, pending, or left out).
    fn advance(&mut self, time_us: i64) {
        self.read_us = Some(self.read_us.map_or(time_us, |read| read.max(time_us)));
        let newest = |current: Option<i64>| Some(current.map_or(time_us, |t| t.max(time_us)));
        if !self.pending.is_empty() {
            self.pending.time_us = newest(self.pending.time_us);
        } else if let Some(tail) = self.outstanding.back_mut() {
            tail.time_us = newest(tail.time_us);
        } else {
            self.acked_us = newest(self.acked_us);
        }
    }

    /// Records an acknowledgement; `false` when a current batch failed.
    fn on_ack(&mut self, seq: u64, ok: bool) -> bool {
        let Some(batch) = self.outstanding.iter_mut().find(|batch| batch.seq == seq) else {
            // A batch abandoned after an earlier failure.
            return true;
        };
        if !ok {
            return false;
        }
        batch.acked = true;
        while self.outstanding.front().is_some_and(|batch| batch.acked) {
            if let Some(done) = self.outstanding.pop_front() {
                self.acked_items += done.items;
                if let Some(time_us) = done.time_us {
                    self.acked_us = Some(self.acked_us.map_or(time_us, |acked| acked.max(time_us)));
                }
            }
        }
        true
    }

    /// Forgets every batch in flight and the pending one, so they are read and sent again.
    fn abandon_outstanding(&mut self, settings: &SourceSettings) {
        let items: usize = self.outstanding.iter().map(|batch| batch.items).sum();
        BatchNotAcked { source: &settings.id, items }.emit();
        for batch in std::mem::take(&mut self.outstanding) {
            for key in batch.keys {
                self.recent.remove(key);
            }
        }
        self.discard_pending();
        self.read_us = self.acked_us;
    }

    fn discard_pending(&mut self) {
        for key in std::mem::take(&mut self.pending).keys {
            self.recent.remove(key);
        }
    }

    /// Stores the acknowledged position if it changed (at most once per
    /// [`STORE_EVERY`] unless `force`).
    async fn store(&mut self, settings: &SourceSettings, store: &Arc<crate::cursor::CursorStore>, force: bool) {
        let Some(acked) = self.acked_us else { return };
        if self.stored_us == Some(acked) || (!force && self.last_store.is_some_and(|at| at.elapsed() < STORE_EVERY)) {
            return;
        }
        let mut cursor = self.cursor.clone();
        cursor.url = Some(settings.identity.clone());
        cursor.positions.insert(CURSOR_POSITION.to_owned(), acked.to_string());
        self.last_store = Some(Instant::now());
        if store_cursor(&settings.id, store, &cursor).await {
            self.cursor = cursor;
            self.stored_us = Some(acked);
        }
    }

    fn emit_skipped(&mut self, settings: &SourceSettings) {
        let skipped = std::mem::take(&mut self.skipped);
        for (outcome, count) in [
            ("language", skipped.language),
            ("off_topic", skipped.off_topic),
            ("empty", skipped.empty),
            ("duplicate", skipped.duplicate),
            ("malformed", skipped.malformed),
            ("not_ours", skipped.not_ours),
        ] {
            ItemsSkipped { source: &settings.id, kind: settings.kind, outcome, count }.emit();
        }
    }
}

/// Keys of items sent in this process, oldest forgotten first: absorbs the
/// duplicates a rewound resume reads. Keys are 64-bit keyed hashes, so the
/// set stays small (a collision, about 1 in 10^10 at 50 000 keys, would drop
/// one item).
struct RecentKeys {
    hasher: RandomState,
    order: VecDeque<(u64, u64)>,
    live: HashMap<u64, u64>,
    next: u64,
    capacity: usize,
}

impl RecentKeys {
    fn new(capacity: usize) -> Self {
        Self { hasher: RandomState::new(), order: VecDeque::new(), live: HashMap::new(), next: 0, capacity }
    }

    /// The key of one item: what it is (post or deletion), its id and the
    /// repository revision (the event time when there is none).
    fn key(&self, what: u8, id: &MessageId, rev: Option<&str>, time_us: i64) -> u64 {
        match rev {
            Some(rev) => self.hasher.hash_one((what, id.as_str(), rev)),
            None => self.hasher.hash_one((what, id.as_str(), time_us)),
        }
    }

    fn contains(&self, key: u64) -> bool {
        self.live.contains_key(&key)
    }

    /// Remembers `key`; `false` if it was already there.
    fn insert(&mut self, key: u64) -> bool {
        if self.live.contains_key(&key) {
            return false;
        }
        let generation = self.next;
        self.next += 1;
        self.live.insert(key, generation);
        self.order.push_back((key, generation));
        while self.order.len() > self.capacity {
            if let Some((old, old_generation)) = self.order.pop_front()
                && self.live.get(&old) == Some(&old_generation)
            {
                self.live.remove(&old);
            }
        }
        true
    }

    fn remove(&mut self, key: u64) {
        self.live.remove(&key);
    }
}

/// One Jetstream event as far as this source cares.
#[derive(Debug, PartialEq)]
pub(crate) enum ParsedEvent {
    /// Not an event of the expected shape; its time, if it had a valid one, still moves the cursor.
    Malformed { time_us: Option<i64> },
    /// Identity, account, other collections, other kinds: only the time counts.
    Ignored { time_us: i64 },
    /// A created or updated post.
    Post { time_us: i64, did: String, rkey: String, rev: Option<String>, record: Record },
    /// A deleted post.
    Delete { time_us: i64, did: String, rkey: String, rev: Option<String> },
}

impl ParsedEvent {
    fn time_us(&self) -> Option<i64> {
        match self {
            Self::Malformed { time_us } => *time_us,
            Self::Ignored { time_us } | Self::Post { time_us, .. } | Self::Delete { time_us, .. } => Some(*time_us),
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    did: Option<String>,
    time_us: Option<i64>,
    kind: Option<String>,
    commit: Option<CommitHead>,
}

#[derive(Deserialize)]
struct CommitHead {
    rev: Option<String>,
    operation: Option<String>,
    collection: Option<String>,
    rkey: Option<String>,
}

#[derive(Deserialize)]
struct PostEnvelope {
    commit: PostCommit,
}

#[derive(Deserialize)]
struct PostCommit {
    record: Option<Record>,
}

/// The parts of an `app.bsky.feed.post` record this source reads.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct Record {
    text: Option<String>,
    langs: Option<Vec<String>>,
    #[serde(rename = "createdAt")]
    created_at: Option<String>,
}

/// Parses one event. Never fails and never panics: anything unexpected is `Malformed`.
pub(crate) fn parse_event(text: &str) -> ParsedEvent {
    let Ok(envelope) = serde_json::from_str::<Envelope>(text) else {
        return ParsedEvent::Malformed { time_us: None };
    };
    let Some(time_us) = envelope.time_us.filter(|t| *t > 0) else {
        return ParsedEvent::Malformed { time_us: None };
    };
    let malformed = ParsedEvent::Malformed { time_us: Some(time_us) };
    if envelope.kind.as_deref() != Some("commit") {
        return ParsedEvent::Ignored { time_us };
    }
    let Some(commit) = envelope.commit else { return malformed };
    if commit.collection.as_deref() != Some(POST_COLLECTION) {
        return ParsedEvent::Ignored { time_us };
    }
    let (Some(did), Some(rkey)) = (envelope.did, commit.rkey) else { return malformed };
    if !valid_did(&did) || !valid_rkey(&rkey) {
        return malformed;
    }
    let rev = commit.rev.filter(|rev| !rev.is_empty() && rev.len() <= 64);
    match commit.operation.as_deref() {
        Some("delete") => ParsedEvent::Delete { time_us, did, rkey, rev },
        Some("create" | "update") => match serde_json::from_str::<PostEnvelope>(text) {
            Ok(PostEnvelope { commit: PostCommit { record: Some(record) } }) => {
                ParsedEvent::Post { time_us, did, rkey, rev, record }
            }
            _ => malformed,
        },
        _ => malformed,
    }
}

/// A DID as the AT Protocol writes it: `did:method:id`, ASCII, at most 2 KiB.
fn valid_did(did: &str) -> bool {
    did.len() <= 2048
        && did.strip_prefix("did:").is_some_and(|rest| rest.contains(':'))
        && did.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-' | b'%'))
}

/// A record key: 1 to 512 characters of `A-Za-z0-9._:~-`, not `.` or `..`.
fn valid_rkey(rkey: &str) -> bool {
    (1..=512).contains(&rkey.len())
        && rkey != "."
        && rkey != ".."
        && rkey.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'~' | b'-'))
}

/// The dedup key of a post: its AT URI.
fn post_uri(did: &str, rkey: &str) -> String {
    format!("at://{did}/{POST_COLLECTION}/{rkey}")
}

/// The lowercased primary subtags of the configured languages.
fn primary_subtags(languages: &[String]) -> Vec<String> {
    languages.iter().map(|tag| primary_subtag(tag).to_ascii_lowercase()).filter(|tag| !tag.is_empty()).collect()
}

fn primary_subtag(tag: &str) -> &str {
    tag.trim().split(['-', '_']).next().unwrap_or_default()
}

/// Does a post with these `langs` pass? `languages` are primary subtags, lowercased; empty accepts all.
fn language_matches(langs: &[String], languages: &[String], accept_untagged: bool) -> bool {
    if languages.is_empty() {
        return true;
    }
    if langs.is_empty() {
        return accept_untagged;
    }
    langs.iter().any(|tag| {
        let primary = primary_subtag(tag);
        languages.iter().any(|language| language.eq_ignore_ascii_case(primary))
    })
}

/// A declared language tag as a hint, if it looks like one (BCP 47 characters, at most 35).
fn lang_hint(tag: &str) -> Option<String> {
    let tag = tag.trim();
    let valid = !tag.is_empty() && tag.len() <= 35 && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then(|| tag.to_owned())
}

/// The subscription URL: the configured one with `wantedCollections`,
/// `maxMessageSizeBytes` (and `cursor` when resuming) set, and options this
/// source cannot handle (compression, a required hello) removed.
pub(crate) fn subscribe_url(base: &Url, cursor: Option<i64>, max_message_bytes: usize) -> Url {
    let mut url = base.clone();
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(name, _)| {
            !matches!(
                name.as_ref(),
                "wantedCollections" | "cursor" | "compress" | "requireHello" | "maxMessageSizeBytes"
            )
        })
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        query.extend_pairs(kept);
        query.append_pair("wantedCollections", POST_COLLECTION);
        query.append_pair("maxMessageSizeBytes", &max_message_bytes.to_string());
        if let Some(cursor) = cursor {
            query.append_pair("cursor", &cursor.to_string());
        }
    }
    url
}

/// How far `cursor_us` lies behind `now` if that is more than `backlog`:
/// the events in between are gone from Jetstream.
pub(crate) fn backlog_gap(cursor_us: i64, now: DateTime<Utc>, backlog: Duration) -> Option<Duration> {
    let age_us = now.timestamp_micros().saturating_sub(cursor_us);
    let age = Duration::from_micros(u64::try_from(age_us).ok()?);
    (age > backlog).then_some(age)
}

/// Where a (re)connection starts: `rewind` before the read position, but
/// never back onto an oversized event skipped since (once reading has
/// reached the skip; a resume from before it, after a failed batch, rewinds
/// as usual and meets the skip again).
fn resume_point(read_us: Option<i64>, skip: Option<Skip>, rewind: Duration) -> Option<i64> {
    let read = read_us?;
    let rewound = read.saturating_sub(micros(rewind)).max(0);
    Some(match skip {
        Some(skip) if read >= skip.to => rewound.max(skip.to),
        _ => rewound,
    })
}

/// The skip past an event the socket refused, read up to `read_us`: 1 µs
/// past the last event read; when that fails again with nothing read in
/// between, twice the last step (at most `cap`) further; when the position
/// is before a skip already made (a rewind came back), that skip again.
fn skip_past(read_us: Option<i64>, last: Option<Skip>, cap: i64) -> (OversizedSkip, Option<Skip>) {
    let Some(read) = read_us else { return (OversizedSkip::Live, last) };
    let skip = match last {
        Some(skip) if read < skip.to => return (OversizedSkip::Known { to: skip.to }, last),
        Some(skip) if read == skip.to => {
            let step = skip.step.saturating_mul(2).clamp(1, cap.max(1));
            Skip { to: skip.to.saturating_add(step), step }
        }
        _ => Skip { to: read.saturating_add(1), step: 1 },
    };
    (OversizedSkip::Skipped { from: read, to: skip.to }, Some(skip))
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/jetstream/expected_v1.jsonl"));

    #[test]
    fn fixture_events_parse_as_expected() {
        let (mut posts, mut deletes, mut ignored, mut malformed) = (0, 0, 0, 0);
        for line in FIXTURE.lines() {
            match parse_event(line) {
                ParsedEvent::Post { .. } => posts += 1,
                ParsedEvent::Delete { .. } => deletes += 1,
                ParsedEvent::Ignored { .. } => ignored += 1,
                ParsedEvent::Malformed { .. } => malformed += 1,
            }
        }
        assert_eq!((posts, deletes, ignored, malformed), (17, 1, 134, 0));
    }

    #[test]
    fn unexpected_shapes_are_malformed_and_keep_their_time() {
        assert_eq!(parse_event("not json"), ParsedEvent::Malformed { time_us: None });
        assert_eq!(parse_event(r#"{"did":"did:plc:a","kind":"commit"}"#), ParsedEvent::Malformed { time_us: None });
        let post = |did: &str, rkey: &str, record: &str| {
            format!(
                r#"{{"did":"{did}","time_us":7,"kind":"commit","commit":{{"rev":"r1","operation":"create","collection":"app.bsky.feed.post","rkey":"{rkey}","record":{record}}}}}"#
            )
        };
        for line in [
            post("did:plc:a", "k", r#"{"text":5}"#),
            post("did:plc:a", "k", r#"{"langs":"nl"}"#),
            post("did:plc:a", "k", "null"),
            post("not-a-did", "k", r#"{"text":"x"}"#),
            post("did:plc:a", "a/b", r#"{"text":"x"}"#),
            post("did:plc:a", "", r#"{"text":"x"}"#),
            r#"{"did":"did:plc:a","time_us":7,"kind":"commit"}"#.to_owned(),
            r#"{"did":"did:plc:a","time_us":7,"kind":"commit","commit":{"operation":"frobnicate","collection":"app.bsky.feed.post","rkey":"k"}}"#.to_owned(),
        ] {
            assert_eq!(parse_event(&line), ParsedEvent::Malformed { time_us: Some(7) }, "{line}");
        }
        assert!(matches!(
            parse_event(&post("did:plc:a", "k", r#"{"text":"hoi","langs":["nl"]}"#)),
            ParsedEvent::Post { .. }
        ));
        let identity =
            r#"{"did":"did:plc:a","time_us":9,"kind":"identity","identity":{"handle":"canary_handle_77.bsky.social"}}"#;
        assert_eq!(parse_event(identity), ParsedEvent::Ignored { time_us: 9 });
    }

    #[test]
    fn languages_match_on_the_primary_subtag() {
        let nl = primary_subtags(&["NL".to_owned()]);
        let tags = |tags: &[&str]| tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        assert!(language_matches(&tags(&["nl"]), &nl, false));
        assert!(language_matches(&tags(&["en", "nl-BE"]), &nl, false));
        assert!(!language_matches(&tags(&["en"]), &nl, false));
        assert!(!language_matches(&tags(&["nld"]), &nl, false));
        assert!(!language_matches(&[], &nl, false));
        assert!(language_matches(&[], &nl, true));
        assert!(language_matches(&tags(&["en"]), &[], false));
        assert_eq!(lang_hint("en-US").as_deref(), Some("en-US"));
        assert_eq!(lang_hint("<script>"), None);
        assert_eq!(lang_hint(&"a".repeat(36)), None);
    }

    #[test]
    fn a_cursor_older_than_the_backlog_is_a_gap() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let day = Duration::from_secs(24 * 3600);
        let hours_ago = |h: i64| now.timestamp_micros() - h * 3_600_000_000;
        assert_eq!(backlog_gap(hours_ago(23), now, day), None);
        assert_eq!(backlog_gap(hours_ago(30), now, day), Some(Duration::from_secs(30 * 3600)));
        // A cursor in the future (another instance's clock) is no gap.
        assert_eq!(backlog_gap(hours_ago(-1), now, day), None);
    }

    #[test]
    fn the_url_always_asks_for_posts_only() {
        let base = Url::parse(
            "wss://jetstream.example/subscribe?wantedCollections=app.bsky.feed.like&compress=true&x=1&cursor=5",
        )
        .unwrap();
        let url = subscribe_url(&base, None, 4096);
        assert_eq!(url.query(), Some("x=1&wantedCollections=app.bsky.feed.post&maxMessageSizeBytes=4096"));
        let base = Url::parse(&format!("{base}&maxMessageSizeBytes=0")).unwrap();
        let url = subscribe_url(&base, Some(42), 1 << 20);
        assert_eq!(url.query(), Some("x=1&wantedCollections=app.bsky.feed.post&maxMessageSizeBytes=1048576&cursor=42"));
    }

    #[test]
    fn an_oversized_event_is_skipped_ever_further_and_never_rewound_onto() {
        let cap = 6_000_000;
        // Nothing read: nothing to skip, the reconnect is live.
        assert_eq!(skip_past(None, None, cap), (OversizedSkip::Live, None));
        // First: 1 µs past the last event read.
        let (outcome, skip) = skip_past(Some(100), None, cap);
        assert_eq!(outcome, OversizedSkip::Skipped { from: 100, to: 101 });
        // Refused again with nothing read: the step doubles.
        let mut to = 101;
        let mut last = skip;
        for step in [2, 4, 8, 16] {
            let (outcome, skip) = skip_past(Some(to), last, cap);
            assert_eq!(outcome, OversizedSkip::Skipped { from: to, to: to + step });
            to += step;
            last = skip;
        }
        assert_eq!(last, Some(Skip { to: 131, step: 16 }));
        // ... up to the cap, and then on by the cap.
        let (_, skip) = skip_past(Some(1_000), Some(Skip { to: 1_000, step: 4_000_000 }), cap);
        assert_eq!(skip, Some(Skip { to: 6_001_000, step: cap }));
        let (_, skip) = skip_past(Some(6_001_000), skip, cap);
        assert_eq!(skip, Some(Skip { to: 12_001_000, step: cap }));
        // Events read after the skip: a new oversized event starts over at 1 µs.
        assert_eq!(skip_past(Some(500), last, cap).0, OversizedSkip::Skipped { from: 500, to: 501 });
        // Back before the skip (a failed batch rewound): the same skip, no new span.
        assert_eq!(skip_past(Some(90), last, cap), (OversizedSkip::Known { to: 131 }, last));

        // A resume never rewinds below the skip once reading reached it.
        let rewind = Duration::from_micros(50);
        assert_eq!(resume_point(Some(131), last, rewind), Some(131));
        assert_eq!(resume_point(Some(150), last, rewind), Some(131));
        assert_eq!(resume_point(Some(400), last, rewind), Some(350));
        assert_eq!(resume_point(Some(120), last, rewind), Some(70));
        assert_eq!(resume_point(Some(120), None, rewind), Some(70));
        assert_eq!(resume_point(None, last, rewind), None);
    }

    #[test]
    fn recent_keys_are_bounded_and_removable() {
        let mut recent = RecentKeys::new(3);
        for key in 1..=4 {
            assert!(recent.insert(key));
        }
        assert!(!recent.contains(1) && recent.contains(4));
        assert!(!recent.insert(4));
        recent.remove(3);
        assert!(recent.insert(3));
        // 3 now has a newer generation: evicting its old entry must not forget it.
        assert!(recent.insert(5));
        assert!(recent.contains(3));
        let id = MessageId::new("s:1").unwrap();
        assert_ne!(recent.key(b'p', &id, Some("r1"), 1), recent.key(b'p', &id, Some("r2"), 1));
        assert_ne!(recent.key(b'p', &id, Some("r1"), 1), recent.key(b'd', &id, Some("r1"), 1));
        assert_eq!(recent.key(b'p', &id, Some("r1"), 1), recent.key(b'p', &id, Some("r1"), 2));
    }

    #[test]
    fn tls_verifies_against_the_webpki_roots() {
        let config = tls_config().unwrap();
        assert!(!webpki_roots::TLS_SERVER_ROOTS.is_empty());
        assert!(config.enable_sni);
    }

    #[test]
    fn backoff_stays_between_the_bounds() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(300));
        for failures in 1..=30 {
            let delay = backoff(min, max, failures);
            let ceiling = (min * 2u32.pow(failures.min(20))).min(max);
            assert!(delay >= min && delay <= ceiling, "{failures}: {delay:?}");
        }
    }
}
