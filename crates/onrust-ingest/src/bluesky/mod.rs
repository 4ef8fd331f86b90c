//! The `bluesky` kind: public Bluesky posts from a Jetstream WebSocket.
//!
//! **What it sees.** Jetstream relays the network's firehose as JSON, one
//! event per text message. The source subscribes to
//! `wantedCollections=app.bsky.feed.post` only, so it sees new and edited
//! posts (`create`, `update`) and deleted ones (`delete`), plus the
//! `identity` and `account` events Jetstream always sends. Posts are
//! filtered *before* the bus: by their declared languages, then by a
//! [`Relevance`] test the binary builds from the classifier's theme and
//! place lexicons (and which keeps every post the classifier scores level 2
//! or higher, place or no place). The firehose carries the whole network;
//! keeping only what could concern a Dutch municipality is both the cheap
//! and the proportionate choice (rule L3).
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
//! own channel, but only for posts this source sent downstream before (L3);
//! `sent` keeps the durable record of those.
//!
//! **Delivery** is at least once (R1): batches under one acknowledgement
//! each, a cursor that moves only past acknowledged batches, and a resume
//! that reads a little before it and drops what it already sent.
//!
//! The parts, in the order an event meets them:
//!
//! - `worker`: the loop that connects, reads, batches and reconnects, with
//!   its health reporting and backoff;
//! - `connect`: the subscription URL and the checked WebSocket connection (S1);
//! - `event`: decoding one event, never failing on what the stream sends;
//! - `select`: which events become messages or deletions, and the counts
//!   of what is left out;
//! - `recent`: the keys that absorb a rewound resume's duplicates;
//! - `sent`: the durable record of the posts sent, for deletions;
//! - `batch`: batches, their acknowledgements and the drain at shutdown;
//! - `state`: the read, acknowledged and stored positions (the cursor);
//! - `resume`: where a reconnection starts, the backlog gap and the skip
//!   past an oversized event.

use std::sync::Arc;
use std::time::Duration;

use onrust_model::{Ack, Deletion, RawMessage};
use tokio::sync::{mpsc, watch};
use url::Url;

use crate::source::{SourceContext, SourceSettings};

mod batch;
pub mod config;
mod connect;
mod event;
mod recent;
mod resume;
mod select;
mod sent;
mod state;
mod worker;

#[cfg(test)]
mod tests;

use batch::Senders;
use state::State;

/// The platform name authors (DIDs) are pseudonymised under.
pub const PLATFORM: &str = "bluesky";
/// The only collection this source asks for.
pub const POST_COLLECTION: &str = "app.bsky.feed.post";
/// The cursor's position key: Jetstream's `time_us`.
pub const CURSOR_POSITION: &str = "time_us";

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
}
