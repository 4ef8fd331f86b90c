//! The feed source loop: poll, parse, send, wait for the acknowledgement, store the cursor.
//!
//! One task per configured feed. Each poll fetches with the stored validators
//! (`If-None-Match`, `If-Modified-Since`); a 304 means nothing new. New items
//! (dedup key not in the cursor's `seen`) are sent downstream as one batch,
//! each with a child of one [`Ack`]. The loop then *waits* for that batch to
//! be acknowledged before it stores the new cursor (GUARDRAILS R1) and before
//! it polls again. A batch that fails (a child dropped) leaves the cursor as it
//! was, so the next poll fetches the same items again; sinks are idempotent
//! by message id, so the repeat is harmless.
//!
//! Shutdown is a `tokio::sync::watch::Receiver<bool>` (true = stop): unlike a
//! broadcast receiver it cannot lag or miss the signal, and a source started
//! after shutdown was requested sees it at once. On shutdown the loop stops
//! polling, drops its sender (so the pipeline can drain), waits a bounded
//! time for an outstanding batch, stores the cursor if it was acknowledged,
//! and returns.
//!
//! Scheduling: the next poll comes after the largest of the interval, the
//! feed's `<ttl>`, `Cache-Control: max-age` and `Retry-After` (hints capped at
//! `max_poll_interval`). Failures back off exponentially with full jitter
//! between the interval and `min(max_backoff, interval·2^failures)`, so a
//! failing source is never polled faster than a healthy one. A 410 Gone
//! disables the source, persistently, until its configured URL changes. A
//! permanent redirect is logged once per run for a person to apply; the
//! configured URL is kept. One log line per state change (up → failing,
//! failing → up), not per retry.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use onrust_model::{Ack, MessageId, RawMessage, SCHEMA_VERSION, SourceId, SourceKind};
use rand::Rng;
use tokio::sync::{mpsc, oneshot, watch};
use url::Url;

use crate::cursor::{CursorError, CursorStore, DEFAULT_MAX_SEEN, FeedCursor};
use crate::feed::{FeedError, ParseOptions, ParsedFeed, parse_feed};
use crate::fetch::{Conditional, FetchError, Fetched, Fetcher};
use crate::internal_events::{
    BatchNotAcked, CursorProblem, FetchFinished, ItemsSkipped, PermanentRedirect, PollFailed, PollSucceeded,
    SourceDisabled,
};
use crate::pseudonym::PseudonymKeys;

/// The platform name feed authors are pseudonymised under.
const PLATFORM: &str = "feed";

/// What every source shares.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The guarded HTTP client.
    pub fetcher: Arc<Fetcher>,
    /// Pseudonym keys for authors.
    pub keys: Arc<PseudonymKeys>,
    /// Where cursors are stored.
    pub cursors: Arc<CursorStore>,
}

/// One configured feed.
#[derive(Debug, Clone)]
pub struct FeedSource {
    /// The source's stable id.
    pub id: SourceId,
    /// What its messages carry as `source_kind` (a feed, a subreddit's or a
    /// channel's feed, an authority's publications).
    pub kind: SourceKind,
    /// The configured URL; never rewritten by a redirect.
    pub url: Url,
    /// Normal time between polls.
    pub interval: Duration,
    /// Upper bound of the error backoff.
    pub max_backoff: Duration,
    /// Upper bound on the delay taken from feed hints (`ttl`, `max-age`, `Retry-After`).
    pub max_poll_interval: Duration,
    /// Parsing caps.
    pub parse_options: ParseOptions,
    /// How many dedup keys the cursor remembers.
    pub max_seen: usize,
    /// How long shutdown waits for an outstanding batch acknowledgement.
    pub shutdown_grace: Duration,
}

/// A batch sent downstream and not yet acknowledged.
struct PendingBatch {
    acked: oneshot::Receiver<bool>,
    items: usize,
    next_cursor: FeedCursor,
    hint: Option<Duration>,
}

enum PollOutcome {
    /// Nothing to wait for; `new_items` were delivered (0 for a 304 or no news).
    /// `next_cursor` is the cursor to keep (new validators, re-seen keys), if any.
    Done { new_items: usize, hint: Option<Duration>, next_cursor: Option<FeedCursor> },
    /// A batch is outstanding.
    Batch(PendingBatch),
    /// The poll failed.
    Failed { error: String, retry_after: Option<Duration> },
    /// The source is now disabled.
    Disabled,
    /// Shutdown or the downstream channel closed.
    Stop,
}

#[derive(Default)]
struct Health {
    up: Option<bool>,
    failures: u32,
    warned_redirect: bool,
}

impl FeedSource {
    /// A source with default limits: backoff cap 1 h, hint cap 6 h, 5000 remembered keys, 10 s shutdown grace.
    pub fn new(id: SourceId, url: Url, interval: Duration) -> Self {
        Self {
            id,
            kind: SourceKind::Feed,
            url,
            interval,
            max_backoff: Duration::from_secs(3600),
            max_poll_interval: Duration::from_secs(6 * 3600),
            parse_options: ParseOptions::default(),
            max_seen: DEFAULT_MAX_SEEN,
            shutdown_grace: Duration::from_secs(10),
        }
    }

    /// Runs until shutdown is signalled (or the downstream channel closes).
    pub async fn run(
        self,
        ctx: SourceContext,
        out: mpsc::Sender<(RawMessage, Ack)>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut cursor = self.load_cursor(&ctx.cursors);
        // What the file holds, so an unchanged cursor is not written again.
        let mut stored = cursor.clone();
        if cursor.url.as_deref() != Some(self.url.as_str()) {
            // New or changed URL: the old validators and the disabled state belonged to the old one.
            cursor.url = Some(self.url.to_string());
            cursor.etag = None;
            cursor.last_modified = None;
            cursor.disabled_reason = None;
        }
        if let Some(reason) = &cursor.disabled_reason {
            SourceDisabled { source: &self.id, reason }.emit();
            wait_for_shutdown(&mut shutdown).await;
            return;
        }

        let mut health = Health::default();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let delay = match self.poll(&ctx, &cursor, &out, &mut shutdown, &mut health).await {
                PollOutcome::Done { new_items, hint, next_cursor } => {
                    if let Some(next) = next_cursor {
                        self.persist(&ctx.cursors, &next, &mut stored).await;
                        cursor = next;
                    }
                    self.succeeded(&mut health, new_items, hint)
                }
                PollOutcome::Failed { error, retry_after } => self.failed(&mut health, &error, retry_after),
                PollOutcome::Disabled => {
                    wait_for_shutdown(&mut shutdown).await;
                    return;
                }
                PollOutcome::Stop => return,
                PollOutcome::Batch(mut batch) => {
                    let acked = tokio::select! {
                        acked = &mut batch.acked => acked.unwrap_or(false),
                        () = wait_for_shutdown(&mut shutdown) => {
                            drop(out);
                            let acked = tokio::time::timeout(self.shutdown_grace, batch.acked).await;
                            if matches!(acked, Ok(Ok(true))) {
                                self.persist(&ctx.cursors, &batch.next_cursor, &mut stored).await;
                            } else {
                                BatchNotAcked { source: &self.id, items: batch.items }.emit();
                            }
                            return;
                        }
                    };
                    if acked {
                        self.persist(&ctx.cursors, &batch.next_cursor, &mut stored).await;
                        cursor = batch.next_cursor;
                        self.succeeded(&mut health, batch.items, batch.hint)
                    } else {
                        // A downstream failure, not the source's: poll again at the normal pace.
                        BatchNotAcked { source: &self.id, items: batch.items }.emit();
                        self.interval
                    }
                }
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = wait_for_shutdown(&mut shutdown) => return,
            }
        }
    }

    fn load_cursor(&self, store: &CursorStore) -> FeedCursor {
        match store.load(&self.id) {
            Ok(cursor) => cursor.unwrap_or_default(),
            Err(error @ CursorError::Corrupt { .. }) => {
                CursorProblem { source: &self.id, error: &error, action: "moved aside; starting fresh" }.emit();
                if let Err(error) = store.quarantine(&self.id) {
                    CursorProblem { source: &self.id, error: &error, action: "could not move it aside" }.emit();
                }
                FeedCursor::default()
            }
            Err(error) => {
                CursorProblem { source: &self.id, error: &error, action: "starting fresh" }.emit();
                FeedCursor::default()
            }
        }
    }

    /// Stores `cursor` unless it equals `stored` (what the file already holds).
    async fn persist(&self, store: &Arc<CursorStore>, cursor: &FeedCursor, stored: &mut FeedCursor) {
        if cursor == stored {
            return;
        }
        if self.store_cursor(store, cursor).await {
            *stored = cursor.clone();
        }
    }

    /// Writes the cursor (write, fsync, rename, directory fsync) off the async
    /// runtime; `false` (with a warning) when it could not be stored.
    async fn store_cursor(&self, store: &Arc<CursorStore>, cursor: &FeedCursor) -> bool {
        let (store, id, cursor) = (Arc::clone(store), self.id.clone(), cursor.clone());
        let action = "not stored; items may be sent again";
        match tokio::task::spawn_blocking(move || store.store(&id, &cursor)).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                CursorProblem { source: &self.id, error: &error, action }.emit();
                false
            }
            Err(_) => {
                CursorProblem { source: &self.id, error: &"the cursor write did not complete", action }.emit();
                false
            }
        }
    }

    fn succeeded(&self, health: &mut Health, new_items: usize, hint: Option<Duration>) -> Duration {
        PollSucceeded { source: &self.id, new_items, recovered: health.up == Some(false) }.emit();
        health.up = Some(true);
        health.failures = 0;
        let hint = hint.unwrap_or(Duration::ZERO).min(self.max_poll_interval);
        self.interval.max(hint)
    }

    fn failed(&self, health: &mut Health, error: &str, retry_after: Option<Duration>) -> Duration {
        health.failures = health.failures.saturating_add(1);
        let factor = 2u32.saturating_pow(health.failures.min(20));
        let ceiling =
            self.interval.saturating_mul(factor).min(self.max_backoff).max(self.interval.min(self.max_backoff));
        let floor = self.interval.min(ceiling);
        let jittered = if ceiling > floor { rand::thread_rng().gen_range(floor..=ceiling) } else { ceiling };
        let backoff = jittered.max(retry_after.unwrap_or(Duration::ZERO).min(self.max_poll_interval));
        PollFailed { source: &self.id, error: &error, backoff, state_change: health.up != Some(false) }.emit();
        health.up = Some(false);
        backoff
    }

    async fn poll(
        &self,
        ctx: &SourceContext,
        cursor: &FeedCursor,
        out: &mpsc::Sender<(RawMessage, Ack)>,
        shutdown: &mut watch::Receiver<bool>,
        health: &mut Health,
    ) -> PollOutcome {
        let conditional = Conditional { etag: cursor.etag.clone(), last_modified: cursor.last_modified.clone() };
        let started = std::time::Instant::now();
        let fetched = tokio::select! {
            fetched = ctx.fetcher.get(&self.url, &conditional) => fetched,
            () = wait_for_shutdown(shutdown) => return PollOutcome::Stop,
        };
        let (bytes, etag, last_modified, max_age) = match fetched {
            Err(FetchError::Gone) => {
                FetchFinished { source: &self.id, outcome: "gone", received_bytes: 0, duration: started.elapsed() }
                    .emit();
                let reason = "the server answered 410 gone".to_owned();
                let mut disabled = cursor.clone();
                disabled.disabled_reason = Some(reason.clone());
                self.store_cursor(&ctx.cursors, &disabled).await;
                SourceDisabled { source: &self.id, reason: &reason }.emit();
                return PollOutcome::Disabled;
            }
            Err(error) => {
                FetchFinished {
                    source: &self.id,
                    outcome: error.outcome(),
                    received_bytes: 0,
                    duration: started.elapsed(),
                }
                .emit();
                let retry_after = match &error {
                    FetchError::RetryLater { retry_after, .. } => *retry_after,
                    _ => None,
                };
                return PollOutcome::Failed { error: error.to_string(), retry_after };
            }
            Ok(Fetched::NotModified { max_age, retry_after }) => {
                FetchFinished {
                    source: &self.id,
                    outcome: "not_modified",
                    received_bytes: 0,
                    duration: started.elapsed(),
                }
                .emit();
                return PollOutcome::Done { new_items: 0, hint: max_age.max(retry_after), next_cursor: None };
            }
            Ok(Fetched::Body { bytes, etag, last_modified, max_age, permanent_redirect, received_bytes, .. }) => {
                FetchFinished { source: &self.id, outcome: "ok", received_bytes, duration: started.elapsed() }.emit();
                if let Some(target) = &permanent_redirect
                    && !health.warned_redirect
                {
                    PermanentRedirect { source: &self.id, target }.emit();
                    health.warned_redirect = true;
                }
                (bytes, etag, last_modified, max_age)
            }
        };

        let fetched_at = Utc::now();
        let feed = match parse_off_runtime(bytes, self.id.clone(), fetched_at, self.parse_options).await {
            Ok(feed) => feed,
            Err(error) => return PollOutcome::Failed { error, retry_after: None },
        };
        let hint = feed.ttl.max(max_age);

        let mut duplicates = 0;
        let mut empty = 0;
        let seen: HashSet<&str> = cursor.seen.iter().map(String::as_str).collect();
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
            if seen.contains(item.dedup_key.as_str()) {
                continue;
            }
            if item.title.is_none() && item.text.is_empty() {
                empty += 1;
                continue;
            }
            let author = match &item.author {
                None => None,
                Some(author) => match ctx.keys.pseudonymize(PLATFORM, author, fetched_at) {
                    Ok(pseudonym) => Some(pseudonym),
                    // Never send a raw handle: without a key the poll fails.
                    Err(error) => return PollOutcome::Failed { error: error.to_string(), retry_after: None },
                },
            };
            messages.push(RawMessage {
                schema: SCHEMA_VERSION,
                id: MessageId::derive(&self.id, &item.dedup_key),
                source: self.id.clone(),
                source_kind: self.kind,
                url: item.url.clone(),
                title: item.title.clone(),
                text: item.text.clone(),
                published_at: item.published_at,
                fetched_at,
                author,
                lang_hint: feed.lang.clone(),
            });
        }
        ItemsSkipped { source: &self.id, outcome: "duplicate", count: duplicates }.emit();
        ItemsSkipped { source: &self.id, outcome: "empty", count: empty }.emit();
        ItemsSkipped { source: &self.id, outcome: "too_many", count: feed.truncated_items }.emit();

        let mut next_cursor = cursor.clone();
        next_cursor.etag = etag;
        next_cursor.last_modified = last_modified;
        next_cursor.remember(document_keys, self.max_seen);

        if messages.is_empty() {
            return PollOutcome::Done { new_items: 0, hint, next_cursor: Some(next_cursor) };
        }

        let items = messages.len();
        let (tx, acked) = oneshot::channel();
        let parent = Ack::new(move |ok| {
            let _ = tx.send(ok);
        });
        for (message, ack) in messages.into_iter().zip(parent.split(items)) {
            tokio::select! {
                sent = out.send((message, ack)) => {
                    if sent.is_err() {
                        return PollOutcome::Stop;
                    }
                }
                () = wait_for_shutdown(shutdown) => return PollOutcome::Stop,
            }
        }
        PollOutcome::Batch(PendingBatch { acked, items, next_cursor, hint })
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

/// Runs `parse` on the blocking pool. A panic in the parser fails this poll,
/// never the source task: one bad feed must not stop the daemon.
async fn run_parser(
    parse: impl FnOnce() -> Result<ParsedFeed, FeedError> + Send + 'static,
) -> Result<ParsedFeed, String> {
    match tokio::task::spawn_blocking(parse).await {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("parser crashed on this feed".to_owned()),
    }
}

/// Resolves when shutdown is requested or its sender is gone.
async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_parser_panic_fails_the_poll_not_the_task() {
        let result = run_parser(|| panic!("parser bug")).await;
        assert_eq!(result, Err("parser crashed on this feed".to_owned()));
        let result = run_parser(|| Err(FeedError::Empty)).await;
        assert_eq!(result, Err("body is empty".to_owned()));
    }

    #[tokio::test]
    async fn an_unchanged_cursor_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CursorStore::new(dir.path()).unwrap());
        let source = FeedSource::new(
            SourceId::new("t").unwrap(),
            Url::parse("https://example.org/").unwrap(),
            Duration::from_secs(60),
        );
        let mut stored = FeedCursor::default();
        let mut cursor = FeedCursor { etag: Some("\"v1\"".into()), ..FeedCursor::default() };
        cursor.remember(vec!["id:a".into()], 10);
        source.persist(&store, &cursor, &mut stored).await;
        assert_eq!(stored, cursor);
        assert_eq!(store.load(&source.id).unwrap(), Some(cursor.clone()));
        // Remove the file: an unchanged cursor must not bring it back.
        std::fs::remove_file(store.path(&source.id)).unwrap();
        source.persist(&store, &cursor.clone(), &mut stored).await;
        assert_eq!(store.load(&source.id).unwrap(), None);
        cursor.etag = Some("\"v2\"".into());
        source.persist(&store, &cursor, &mut stored).await;
        assert_eq!(store.load(&source.id).unwrap(), Some(cursor));
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_grows_with_jitter_and_is_capped() {
        let source = FeedSource::new(
            SourceId::new("t").unwrap(),
            Url::parse("https://example.org/").unwrap(),
            Duration::from_secs(60),
        );
        let mut health = Health::default();
        let mut last_ceiling = Duration::ZERO;
        for n in 1..=12u32 {
            let delay = source.failed(&mut health, "boom", None);
            let ceiling = (Duration::from_secs(60) * 2u32.pow(n)).min(Duration::from_secs(3600));
            assert!(delay >= Duration::from_secs(60) && delay <= ceiling, "{n}: {delay:?}");
            last_ceiling = ceiling;
        }
        assert_eq!(last_ceiling, Duration::from_secs(3600));
        assert_eq!(source.failed(&mut health, "x", Some(Duration::from_secs(7200))), Duration::from_secs(7200));
        assert_eq!(source.succeeded(&mut health, 0, Some(Duration::from_secs(1800))), Duration::from_secs(1800));
        assert_eq!(source.succeeded(&mut health, 0, None), Duration::from_secs(60));
    }
}
