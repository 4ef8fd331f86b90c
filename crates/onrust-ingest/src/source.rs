//! The polling source loop every polled kind shares: poll, send, wait for
//! the acknowledgement, store the cursor.
//!
//! A kind (a feed, a Mastodon instance's tag timelines, a Telegram channel's
//! preview) is a [`Poller`]: it fetches through the [`SourceContext`] and
//! turns what it read into [`RawMessage`]s, with authors already
//! pseudonymised, plus the cursor to keep once they are archived. This loop
//! does the rest, the same for every kind, so politeness, backoff, health
//! and rule R1 are written once:
//!
//! New messages are sent downstream as one batch, each with a child of one
//! [`Ack`]. The loop then *waits* for that batch to be acknowledged before it
//! stores the new cursor (R1) and before it polls again. A batch that fails
//! (a child dropped) leaves the cursor as it was, so the next poll reads the
//! same items again; sinks are idempotent by message id, so the repeat is
//! harmless.
//!
//! Shutdown is a `tokio::sync::watch::Receiver<bool>` (true = stop): unlike a
//! broadcast receiver it cannot lag or miss the signal, and a source started
//! after shutdown was requested sees it at once. On shutdown the loop stops
//! polling, drops its sender (so the pipeline can drain), waits a bounded
//! time for an outstanding batch, stores the cursor if it was acknowledged,
//! and returns.
//!
//! Scheduling: the next poll comes after the larger of the interval and the
//! poller's hint (a feed's `<ttl>`, `Cache-Control: max-age`, `Retry-After`;
//! capped at `max_poll_interval`). Failures back off exponentially with full
//! jitter between the interval and `min(max_backoff, interval·2^failures)`, so
//! a failing source is never polled faster than a healthy one. A poller that
//! answers [`PollError::Gone`] (a 410) disables the source, persistently,
//! until its configured identity (URL, instance and tags) changes. One log
//! line per state change (up → failing, failing → up), not per retry.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use onrust_model::{Ack, Pseudonym, RawMessage, SourceId, SourceKind};
use rand::Rng;
use tokio::sync::{mpsc, oneshot, watch};
use url::Url;

use crate::cursor::{CursorError, CursorStore, SourceCursor};
use crate::fetch::{Conditional, FetchError, Fetched, Fetcher};
use crate::internal_events::{
    BatchNotAcked, CursorProblem, FetchFinished, PermanentRedirect, PollFailed, PollSucceeded, SourceDisabled,
};
use crate::pseudonym::PseudonymKeys;

/// What every source shares.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The guarded HTTP client.
    pub fetcher: Arc<Fetcher>,
    /// Pseudonym keys for authors.
    pub keys: Arc<PseudonymKeys>,
    /// Where cursors are stored.
    pub cursors: Arc<CursorStore>,
    /// Sources whose permanent redirect was logged in this run (once is enough).
    redirects_logged: Arc<Mutex<HashSet<SourceId>>>,
}

impl SourceContext {
    /// The context from its parts.
    pub fn new(fetcher: Arc<Fetcher>, keys: Arc<PseudonymKeys>, cursors: Arc<CursorStore>) -> Self {
        Self { fetcher, keys, cursors, redirects_logged: Arc::default() }
    }

    /// Fetches `url` for `source`: counts the fetch and its bytes, and logs a
    /// permanent redirect once per run for a person to apply.
    pub async fn fetch(
        &self,
        source: &SourceSettings,
        url: &Url,
        conditional: &Conditional,
    ) -> Result<Fetched, FetchError> {
        let started = std::time::Instant::now();
        let fetched = self.fetcher.get(url, conditional).await;
        let (outcome, received_bytes) = match &fetched {
            Ok(Fetched::NotModified { .. }) => ("not_modified", 0),
            Ok(Fetched::Body { received_bytes, .. }) => ("ok", *received_bytes),
            Err(error) => (error.outcome(), 0),
        };
        FetchFinished { source: &source.id, kind: source.kind, outcome, received_bytes, duration: started.elapsed() }
            .emit();
        if let Ok(Fetched::Body { permanent_redirect: Some(target), .. }) = &fetched {
            let first = self
                .redirects_logged
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(source.id.clone());
            if first {
                PermanentRedirect { source: &source.id, target }.emit();
            }
        }
        fetched
    }

    /// The pseudonym of `author` on `platform` for the period of `at` (rule L2).
    /// Without a key the poll fails: a raw handle is never sent instead.
    pub fn pseudonymize(&self, platform: &str, author: &str, at: DateTime<Utc>) -> Result<Pseudonym, PollError> {
        self.keys
            .pseudonymize(platform, author, at)
            .map_err(|error| PollError::Failed { error: error.to_string(), retry_after: None })
    }
}

/// What the loop needs to know about one configured source.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    /// The source's stable id.
    pub id: SourceId,
    /// What its messages carry as `source_kind`.
    pub kind: SourceKind,
    /// What the configuration says this source reads (its URL; an instance and
    /// its tags). A cursor stored for another identity keeps what it saw but
    /// drops its validators and its disabled state.
    pub identity: String,
    /// Normal time between polls.
    pub interval: Duration,
    /// Upper bound of the error backoff.
    pub max_backoff: Duration,
    /// Upper bound on the delay taken from hints (`ttl`, `max-age`, `Retry-After`).
    pub max_poll_interval: Duration,
    /// How long shutdown waits for an outstanding batch acknowledgement.
    pub shutdown_grace: Duration,
}

impl SourceSettings {
    /// Settings with default limits: backoff cap 1 h, hint cap 6 h, 10 s shutdown grace.
    pub fn new(id: SourceId, kind: SourceKind, identity: impl Into<String>, interval: Duration) -> Self {
        Self {
            id,
            kind,
            identity: identity.into(),
            interval,
            max_backoff: Duration::from_secs(3600),
            max_poll_interval: Duration::from_secs(6 * 3600),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// One kind of polled source: how to read what is new since a cursor.
pub trait Poller: Send + Sync + 'static {
    /// Fetches (through [`SourceContext::fetch`]) and reads what is new since
    /// `cursor`. Authors are pseudonymised here (through
    /// [`SourceContext::pseudonymize`]); items left out are counted here, with
    /// their reason. Must not block: parse large bodies on the blocking pool.
    fn poll(
        &self,
        ctx: &SourceContext,
        source: &SourceSettings,
        cursor: &SourceCursor,
    ) -> impl Future<Output = Result<Polled, PollError>> + Send;
}

/// What one successful poll read.
#[derive(Debug, Default)]
pub struct Polled {
    /// New messages, in the order to send them.
    pub messages: Vec<RawMessage>,
    /// The cursor to store once every message is acknowledged (or at once
    /// when there are none); `None` leaves it as it is.
    pub next_cursor: Option<SourceCursor>,
    /// The source asks not to be polled again before this.
    pub hint: Option<Duration>,
}

/// Why a poll read nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollError {
    /// The source is gone for good (410): disable it until its configuration changes.
    Gone(String),
    /// This poll failed (the source, its input, or a missing key): back off and try again.
    Failed {
        /// What went wrong, for the log; never a handle.
        error: String,
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
}

impl PollError {
    /// A failure with this message and no retry hint.
    pub fn failed(error: impl std::fmt::Display) -> Self {
        Self::Failed { error: error.to_string(), retry_after: None }
    }
}

impl From<FetchError> for PollError {
    fn from(error: FetchError) -> Self {
        match error {
            FetchError::Gone => Self::Gone("the server answered 410 gone".to_owned()),
            FetchError::RetryLater { retry_after, .. } => Self::Failed { error: error.to_string(), retry_after },
            other => Self::failed(other),
        }
    }
}

/// A configured source: its settings and the poller of its kind.
#[derive(Debug, Clone)]
pub struct PolledSource<P> {
    /// Id, kind, identity and pacing.
    pub settings: SourceSettings,
    /// How this kind reads.
    pub poller: P,
}

/// A batch sent downstream and not yet acknowledged.
struct PendingBatch {
    acked: oneshot::Receiver<bool>,
    items: usize,
    next_cursor: Option<SourceCursor>,
    hint: Option<Duration>,
}

enum PollOutcome {
    /// Nothing to wait for; `next_cursor` is the cursor to keep, if any.
    Done { hint: Option<Duration>, next_cursor: Option<SourceCursor> },
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
}

impl<P: Poller> PolledSource<P> {
    /// Runs until shutdown is signalled (or the downstream channel closes).
    pub async fn run(
        self,
        ctx: SourceContext,
        out: mpsc::Sender<(RawMessage, Ack)>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let id = &self.settings.id;
        let mut cursor = load_cursor(id, &ctx.cursors);
        // What the file holds, so an unchanged cursor is not written again.
        let mut stored = cursor.clone();
        if cursor.url.as_deref() != Some(self.settings.identity.as_str()) {
            // New or changed source: the old validators and the disabled state belonged to the old one.
            cursor.url = Some(self.settings.identity.clone());
            cursor.etag = None;
            cursor.last_modified = None;
            cursor.disabled_reason = None;
        }
        if let Some(reason) = &cursor.disabled_reason {
            SourceDisabled { source: id, reason }.emit();
            wait_for_shutdown(&mut shutdown).await;
            return;
        }

        let mut health = Health::default();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let delay = match self.poll(&ctx, &cursor, &out, &mut shutdown).await {
                PollOutcome::Done { hint, next_cursor } => {
                    if let Some(next) = next_cursor {
                        self.persist(&ctx.cursors, &next, &mut stored).await;
                        cursor = next;
                    }
                    self.succeeded(&mut health, 0, hint)
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
                            let acked = tokio::time::timeout(self.settings.shutdown_grace, batch.acked).await;
                            match (acked, &batch.next_cursor) {
                                (Ok(Ok(true)), Some(next)) => self.persist(&ctx.cursors, next, &mut stored).await,
                                (Ok(Ok(true)), None) => {}
                                _ => BatchNotAcked { source: id, items: batch.items }.emit(),
                            }
                            return;
                        }
                    };
                    if acked {
                        if let Some(next) = batch.next_cursor {
                            self.persist(&ctx.cursors, &next, &mut stored).await;
                            cursor = next;
                        }
                        self.succeeded(&mut health, batch.items, batch.hint)
                    } else {
                        // A downstream failure, not the source's: poll again at the normal pace.
                        BatchNotAcked { source: id, items: batch.items }.emit();
                        self.settings.interval
                    }
                }
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = wait_for_shutdown(&mut shutdown) => return,
            }
        }
    }

    /// Stores `cursor` unless it equals `stored` (what the file already holds).
    async fn persist(&self, store: &Arc<CursorStore>, cursor: &SourceCursor, stored: &mut SourceCursor) {
        if cursor == stored {
            return;
        }
        if store_cursor(&self.settings.id, store, cursor).await {
            *stored = cursor.clone();
        }
    }

    fn succeeded(&self, health: &mut Health, new_items: usize, hint: Option<Duration>) -> Duration {
        let source = &self.settings;
        PollSucceeded { source: &source.id, kind: source.kind, new_items, recovered: health.up == Some(false) }.emit();
        health.up = Some(true);
        health.failures = 0;
        let hint = hint.unwrap_or(Duration::ZERO).min(source.max_poll_interval);
        source.interval.max(hint)
    }

    fn failed(&self, health: &mut Health, error: &str, retry_after: Option<Duration>) -> Duration {
        let source = &self.settings;
        health.failures = health.failures.saturating_add(1);
        let jittered = backoff(source.interval, source.max_backoff, health.failures);
        let backoff = jittered.max(retry_after.unwrap_or(Duration::ZERO).min(source.max_poll_interval));
        PollFailed { source: &source.id, error: &error, backoff, state_change: health.up != Some(false) }.emit();
        health.up = Some(false);
        backoff
    }

    async fn poll(
        &self,
        ctx: &SourceContext,
        cursor: &SourceCursor,
        out: &mpsc::Sender<(RawMessage, Ack)>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> PollOutcome {
        let polled = tokio::select! {
            polled = self.poller.poll(ctx, &self.settings, cursor) => polled,
            () = wait_for_shutdown(shutdown) => return PollOutcome::Stop,
        };
        let Polled { messages, next_cursor, hint } = match polled {
            Ok(polled) => polled,
            Err(PollError::Failed { error, retry_after }) => return PollOutcome::Failed { error, retry_after },
            Err(PollError::Gone(reason)) => {
                let mut disabled = cursor.clone();
                disabled.disabled_reason = Some(reason.clone());
                store_cursor(&self.settings.id, &ctx.cursors, &disabled).await;
                SourceDisabled { source: &self.settings.id, reason: &reason }.emit();
                return PollOutcome::Disabled;
            }
        };
        if messages.is_empty() {
            return PollOutcome::Done { hint, next_cursor };
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

/// The stored cursor of `id`; a corrupt one is moved aside and the source starts fresh.
pub(crate) fn load_cursor(id: &SourceId, store: &CursorStore) -> SourceCursor {
    match store.load(id) {
        Ok(cursor) => cursor.unwrap_or_default(),
        Err(error @ CursorError::Corrupt { .. }) => {
            CursorProblem { source: id, error: &error, action: "moved aside; starting fresh" }.emit();
            if let Err(error) = store.quarantine(id) {
                CursorProblem { source: id, error: &error, action: "could not move it aside" }.emit();
            }
            SourceCursor::default()
        }
        Err(error) => {
            CursorProblem { source: id, error: &error, action: "starting fresh" }.emit();
            SourceCursor::default()
        }
    }
}

/// Writes the cursor (write, fsync, rename, directory fsync) off the async
/// runtime; `false` (with a warning) when it could not be stored.
pub(crate) async fn store_cursor(id: &SourceId, store: &Arc<CursorStore>, cursor: &SourceCursor) -> bool {
    let (store, owned_id, cursor) = (Arc::clone(store), id.clone(), cursor.clone());
    let action = "not stored; items may be sent again";
    match tokio::task::spawn_blocking(move || store.store(&owned_id, &cursor)).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            CursorProblem { source: id, error: &error, action }.emit();
            false
        }
        Err(_) => {
            CursorProblem { source: id, error: &"the cursor write did not complete", action }.emit();
            false
        }
    }
}

/// Exponential backoff with full jitter between `min` and
/// `min(max, min·2^failures)`: a failing source is never retried faster than
/// `min` (a polled source's interval), nor slower than `max`.
pub(crate) fn backoff(min: Duration, max: Duration, failures: u32) -> Duration {
    let floor = min.min(max);
    let ceiling = min.saturating_mul(2u32.saturating_pow(failures.min(20))).min(max).max(floor);
    if ceiling > floor { rand::rng().random_range(floor..=ceiling) } else { ceiling }
}

/// Runs `parse` on the blocking pool: a kind's parsing of a large body must
/// not stall the async runtime. A panic in the parser fails this poll, never
/// the source task: one bad document must not stop the daemon.
pub(crate) async fn run_parser<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    parse: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(parse).await {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("parser crashed on this input".to_owned()),
    }
}

/// Resolves when shutdown is requested or its sender is gone.
pub(crate) async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
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

    struct Never;

    impl Poller for Never {
        async fn poll(&self, _: &SourceContext, _: &SourceSettings, _: &SourceCursor) -> Result<Polled, PollError> {
            Err(PollError::failed("never"))
        }
    }

    fn source() -> PolledSource<Never> {
        let settings = SourceSettings::new(SourceId::new("t").unwrap(), SourceKind::Feed, "x", Duration::from_secs(60));
        PolledSource { settings, poller: Never }
    }

    #[tokio::test]
    async fn an_unchanged_cursor_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CursorStore::new(dir.path()).unwrap());
        let source = source();
        let id = &source.settings.id;
        let mut stored = SourceCursor::default();
        let mut cursor = SourceCursor { etag: Some("\"v1\"".into()), ..SourceCursor::default() };
        cursor.remember(vec!["id:a".into()], 10);
        source.persist(&store, &cursor, &mut stored).await;
        assert_eq!(stored, cursor);
        assert_eq!(store.load(id).unwrap(), Some(cursor.clone()));
        // Remove the file: an unchanged cursor must not bring it back.
        std::fs::remove_file(store.path(id)).unwrap();
        source.persist(&store, &cursor.clone(), &mut stored).await;
        assert_eq!(store.load(id).unwrap(), None);
        cursor.positions.insert("tags:a".into(), "42".into());
        source.persist(&store, &cursor, &mut stored).await;
        assert_eq!(store.load(id).unwrap(), Some(cursor));
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_grows_with_jitter_and_is_capped() {
        let source = source();
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

    #[tokio::test]
    async fn a_parser_panic_fails_the_poll_not_the_task() {
        let result: Result<(), String> = run_parser(|| -> Result<(), String> { panic!("parser bug") }).await;
        assert_eq!(result, Err("parser crashed on this input".to_owned()));
        let result: Result<(), String> = run_parser(|| Err::<(), _>("body is empty")).await;
        assert_eq!(result, Err("body is empty".to_owned()));
    }

    #[test]
    fn fetch_errors_map_to_poll_errors() {
        assert!(matches!(PollError::from(FetchError::Gone), PollError::Gone(_)));
        let retry = FetchError::RetryLater { status: 429, retry_after: Some(Duration::from_secs(30)) };
        assert!(matches!(
            PollError::from(retry),
            PollError::Failed { retry_after: Some(d), .. } if d == Duration::from_secs(30)
        ));
        assert!(matches!(PollError::from(FetchError::Status(500)), PollError::Failed { retry_after: None, .. }));
    }
}
