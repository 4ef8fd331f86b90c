//! The `feed` kind (and `reddit`, `youtube`, `authority`, which are feeds
//! too): one conditional GET of the configured URL per poll.
//!
//! Each poll sends the stored validators (`If-None-Match`,
//! `If-Modified-Since`); a 304 means nothing new. Items whose dedup key is
//! not in the cursor's `seen` are new. The hint for the next poll is the
//! feed's `<ttl>` or the response's `Cache-Control: max-age`, whichever is
//! longer.

use std::collections::HashSet;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use onrust_model::{MessageId, RawMessage, SCHEMA_VERSION, SourceId};
use url::Url;

use crate::cursor::{DEFAULT_MAX_SEEN, SourceCursor, stored_key};
use crate::feed::{ParseOptions, ParsedFeed, parse_feed};
use crate::fetch::{Conditional, Fetched};
use crate::internal_events::ItemsSkipped;
use crate::source::{PollError, Polled, PolledSource, Poller, SourceContext, SourceSettings, run_parser};

/// The platform name feed authors are pseudonymised under.
const PLATFORM: &str = "feed";

/// Reads one feed URL.
#[derive(Debug, Clone)]
pub struct FeedPoller {
    /// The configured URL; never rewritten by a redirect.
    pub url: Url,
    /// Parsing caps.
    pub parse_options: ParseOptions,
    /// How many dedup keys the cursor remembers.
    pub max_seen: usize,
}

/// A feed source: the polling loop with a [`FeedPoller`].
pub type FeedSource = PolledSource<FeedPoller>;

impl FeedSource {
    /// A feed source with default limits (see [`SourceSettings::new`]) and 5000 remembered keys.
    pub fn feed(settings: SourceSettings, url: Url) -> Self {
        let poller = FeedPoller { url, parse_options: ParseOptions::default(), max_seen: DEFAULT_MAX_SEEN };
        Self { settings, poller }
    }
}

impl Poller for FeedPoller {
    async fn poll(
        &self,
        ctx: &SourceContext,
        source: &SourceSettings,
        cursor: &SourceCursor,
    ) -> Result<Polled, PollError> {
        let conditional = Conditional { etag: cursor.etag.clone(), last_modified: cursor.last_modified.clone() };
        let (bytes, etag, last_modified, max_age) = match ctx.fetch(source, &self.url, &conditional).await? {
            Fetched::NotModified { max_age, retry_after } => {
                return Ok(Polled { hint: max_age.max(retry_after), ..Polled::default() });
            }
            Fetched::Body { bytes, etag, last_modified, max_age, .. } => (bytes, etag, last_modified, max_age),
        };

        let fetched_at = Utc::now();
        let feed = parse_off_runtime(bytes, source.id.clone(), fetched_at, self.parse_options)
            .await
            .map_err(PollError::failed)?;
        let hint = feed.ttl.max(max_age);

        let mut duplicates = 0;
        let mut empty = 0;
        let seen = cursor.seen_set();
        let mut in_document: HashSet<&str> = HashSet::with_capacity(feed.items.len());
        // Every key in this document, so the cursor keeps them while the feed still lists them.
        let mut document_keys: Vec<String> = Vec::with_capacity(feed.items.len());
        let mut messages: Vec<RawMessage> = Vec::new();
        for item in feed.items.iter() {
            if !in_document.insert(&item.dedup_key) {
                duplicates += 1;
                continue;
            }
            document_keys.push(item.dedup_key.clone());
            if seen.contains(stored_key(&item.dedup_key).as_ref()) {
                continue;
            }
            if item.title.is_none() && item.text.is_empty() {
                empty += 1;
                continue;
            }
            let author = match &item.author {
                None => None,
                Some(author) => Some(ctx.pseudonymize(PLATFORM, author, fetched_at)?),
            };
            messages.push(RawMessage {
                schema: SCHEMA_VERSION,
                id: MessageId::derive(&source.id, &item.dedup_key),
                source: source.id.clone(),
                source_kind: source.kind,
                url: item.url.clone(),
                title: item.title.clone(),
                text: item.text.clone(),
                published_at: item.published_at,
                fetched_at,
                author,
                lang_hint: feed.lang.clone(),
            });
        }
        let skipped = |outcome, count| ItemsSkipped { source: &source.id, kind: source.kind, outcome, count }.emit();
        skipped("duplicate", duplicates);
        skipped("empty", empty);
        skipped("too_many", feed.truncated_items);

        let mut next_cursor = cursor.clone();
        next_cursor.etag = etag;
        next_cursor.last_modified = last_modified;
        next_cursor.remember(document_keys, self.max_seen);
        Ok(Polled { messages, next_cursor: Some(next_cursor), hint })
    }
}

/// Parses a feed body on the blocking pool: up to `max_decoded_bytes` of CPU
/// work must not stall the async runtime.
async fn parse_off_runtime(
    bytes: Bytes,
    source: SourceId,
    fetched_at: DateTime<Utc>,
    opts: ParseOptions,
) -> Result<ParsedFeed, String> {
    run_parser(move || parse_feed(&bytes, &source, fetched_at, &opts)).await
}
