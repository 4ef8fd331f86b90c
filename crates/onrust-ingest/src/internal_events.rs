//! Every log line and metric this crate emits about its sources, in one place.
//!
//! Each event is a small struct whose `emit` both logs and counts, so the
//! logic never calls `metrics` directly and the label set stays bounded:
//! `source`, `source_kind` and `outcome` only — never a URL, an author or a
//! message id (docs/ARCHITECTURE.md, "Observability"; L1).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use onrust_model::{SourceId, SourceKind};

pub(crate) const FETCHES_TOTAL: &str = "onrust_source_fetches_total";
pub(crate) const ITEMS_TOTAL: &str = "onrust_source_items_total";
pub(crate) const RECEIVED_BYTES_TOTAL: &str = "onrust_source_received_bytes_total";
pub(crate) const LAST_SUCCESS: &str = "onrust_source_last_success_timestamp_seconds";
pub(crate) const BACKOFF: &str = "onrust_source_backoff_seconds";
pub(crate) const UP: &str = "onrust_source_up";
pub(crate) const SKIPPED_ITEMS_TOTAL: &str = "onrust_source_skipped_items_total";
pub(crate) const FETCH_DURATION: &str = "onrust_source_fetch_duration_seconds";
pub(crate) const COVERAGE_GAPS_TOTAL: &str = "onrust_source_coverage_gaps_total";

/// Registers descriptions of the source metrics with the installed recorder.
pub fn describe_metrics() {
    describe_counter!(FETCHES_TOTAL, Unit::Count, "Fetch attempts per source, by outcome.");
    describe_counter!(ITEMS_TOTAL, Unit::Count, "New items a source delivered onto the bus.");
    describe_counter!(RECEIVED_BYTES_TOTAL, Unit::Bytes, "Bytes received from a source on the wire.");
    describe_gauge!(LAST_SUCCESS, Unit::Seconds, "Unix time of the last successful fetch of a source.");
    describe_gauge!(BACKOFF, Unit::Seconds, "Current wait before the next attempt on a failing source.");
    describe_gauge!(UP, "1 while the last fetch of a source succeeded, 0 while it fails or is disabled.");
    describe_counter!(SKIPPED_ITEMS_TOTAL, Unit::Count, "Items of a source left out, by reason.");
    describe_counter!(
        COVERAGE_GAPS_TOTAL,
        Unit::Count,
        "Times a source showed it may have missed messages (a gap in ids, a stream resumed past its backlog), by reason."
    );
    describe_histogram!(
        FETCH_DURATION,
        Unit::Seconds,
        "Time one fetch of a source takes, the wait for its host's politeness interval included."
    );
}

/// What the daemon knows about one source's health, for coverage (rule R10).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceHealth {
    /// The last poll succeeded (false while failing or disabled).
    pub up: bool,
    /// Unix time of the last successful poll, if any since start.
    pub last_success: Option<f64>,
    /// Unix time the source last showed it may have missed messages (a
    /// coverage gap), if it did since start.
    pub last_gap: Option<f64>,
}

/// Health per source id, updated by the same events that set `onrust_source_up`.
static HEALTH: Mutex<BTreeMap<String, SourceHealth>> = Mutex::new(BTreeMap::new());

/// The health of every source that has reported since start, by source id.
pub fn source_health() -> BTreeMap<String, SourceHealth> {
    HEALTH.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

fn set_health(source: &SourceId, up: bool, success_at: Option<f64>) {
    let mut health = HEALTH.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = health.entry(source.to_string()).or_insert(SourceHealth { up, last_success: None, last_gap: None });
    entry.up = up;
    if success_at.is_some() {
        entry.last_success = success_at;
    }
}

/// One fetch attempt finished (successfully or not).
pub(crate) struct FetchFinished<'a> {
    pub source: &'a SourceId,
    pub kind: SourceKind,
    /// `ok`, `not_modified`, `error`, `gone`, `too_large`, `blocked`, ...
    pub outcome: &'static str,
    pub received_bytes: u64,
    pub duration: Duration,
}

impl FetchFinished<'_> {
    pub fn emit(&self) {
        metrics::histogram!(FETCH_DURATION, "source" => self.source.to_string()).record(self.duration.as_secs_f64());
        tracing::debug!(source = %self.source, outcome = self.outcome, received_bytes = self.received_bytes, "fetch finished");
        metrics::counter!(FETCHES_TOTAL, "source" => self.source.to_string(), "source_kind" => self.kind.as_str(), "outcome" => self.outcome)
            .increment(1);
        if self.received_bytes > 0 {
            metrics::counter!(RECEIVED_BYTES_TOTAL, "source" => self.source.to_string(), "source_kind" => self.kind.as_str())
                .increment(self.received_bytes);
        }
    }
}

/// A poll succeeded: the source is up.
pub(crate) struct PollSucceeded<'a> {
    pub source: &'a SourceId,
    pub kind: SourceKind,
    pub new_items: usize,
    /// The source was failing before this poll.
    pub recovered: bool,
}

impl PollSucceeded<'_> {
    pub fn emit(&self) {
        if self.recovered {
            tracing::info!(source = %self.source, new_items = self.new_items, "source recovered");
        } else {
            tracing::debug!(source = %self.source, new_items = self.new_items, "poll succeeded");
        }
        let source = self.source.to_string();
        metrics::counter!(ITEMS_TOTAL, "source" => source.clone(), "source_kind" => self.kind.as_str())
            .increment(self.new_items as u64);
        let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        metrics::gauge!(LAST_SUCCESS, "source" => source.clone()).set(now_secs);
        metrics::gauge!(BACKOFF, "source" => source.clone()).set(0.0);
        metrics::gauge!(UP, "source" => source).set(1.0);
        set_health(self.source, true, Some(now_secs));
    }
}

/// A poll failed; the source backs off.
pub(crate) struct PollFailed<'a> {
    pub source: &'a SourceId,
    pub error: &'a dyn Display,
    pub backoff: Duration,
    /// The source was up (or unknown) before: this is a state change and is logged as a warning.
    pub state_change: bool,
}

impl PollFailed<'_> {
    pub fn emit(&self) {
        let backoff_secs = self.backoff.as_secs();
        if self.state_change {
            tracing::warn!(source = %self.source, error = %self.error, backoff_secs, "source failing");
        } else {
            tracing::debug!(source = %self.source, error = %self.error, backoff_secs, "source still failing");
        }
        let source = self.source.to_string();
        metrics::gauge!(BACKOFF, "source" => source.clone()).set(self.backoff.as_secs_f64());
        metrics::gauge!(UP, "source" => source).set(0.0);
        set_health(self.source, false, None);
    }
}

/// Items of a feed that were not sent, by reason.
pub(crate) struct ItemsSkipped<'a> {
    pub source: &'a SourceId,
    pub kind: SourceKind,
    /// `duplicate` (same dedup key twice in one document), `empty` (no title and
    /// no text), `too_many`, and per kind: `not_indexable`, `noindex`,
    /// `not_public`, `reblog` (Mastodon), `service`, `bad_post_id` (Telegram:
    /// a message block whose `data-post` is not `<channel>/<id>`), `language`,
    /// `off_topic`, `malformed` (an event of unexpected shape), `duplicate`
    /// (sent before in this process, read again after a rewound resume),
    /// `not_ours` (a deletion of a post this source never sent downstream)
    /// (Bluesky).
    pub outcome: &'static str,
    pub count: usize,
}

impl ItemsSkipped<'_> {
    pub fn emit(&self) {
        if self.count == 0 {
            return;
        }
        tracing::debug!(source = %self.source, outcome = self.outcome, count = self.count, "items skipped");
        metrics::counter!(SKIPPED_ITEMS_TOTAL, "source" => self.source.to_string(), "source_kind" => self.kind.as_str(), "outcome" => self.outcome)
            .increment(self.count as u64);
    }
}

/// The source answered 410 Gone (or was disabled before): it is not polled again.
pub(crate) struct SourceDisabled<'a> {
    pub source: &'a SourceId,
    pub reason: &'a str,
}

impl SourceDisabled<'_> {
    pub fn emit(&self) {
        tracing::error!(source = %self.source, reason = self.reason, "source disabled; change its url in the configuration to enable it again");
        let source = self.source.to_string();
        metrics::gauge!(UP, "source" => source).set(0.0);
        set_health(self.source, false, None);
    }
}

/// The configured URL redirects permanently; a person should update the configuration.
pub(crate) struct PermanentRedirect<'a> {
    pub source: &'a SourceId,
    pub target: &'a url::Url,
}

impl PermanentRedirect<'_> {
    pub fn emit(&self) {
        tracing::warn!(source = %self.source, target = %self.target, "permanent redirect; update the configured url");
    }
}

/// A batch sent downstream was not acknowledged; the cursor stays where it was.
pub(crate) struct BatchNotAcked<'a> {
    pub source: &'a SourceId,
    pub items: usize,
}

impl BatchNotAcked<'_> {
    pub fn emit(&self) {
        tracing::warn!(source = %self.source, items = self.items, "batch not acknowledged; items will be fetched again");
    }
}

/// The cursor could not be read or written.
pub(crate) struct CursorProblem<'a> {
    pub source: &'a SourceId,
    pub error: &'a dyn Display,
    pub action: &'static str,
}

impl CursorProblem<'_> {
    pub fn emit(&self) {
        tracing::warn!(source = %self.source, error = %self.error, action = self.action, "cursor problem");
    }
}

/// A source showed it may have missed messages: a gap in a channel's ids, a
/// stream resumed after more than its backlog keeps. The source stays up;
/// the gap is a coverage loss to report, never to hide (rule R10).
pub(crate) struct CoverageGap<'a> {
    pub source: &'a SourceId,
    pub kind: SourceKind,
    /// `id_gap`, `backlog_exceeded`, `oversized` (a stream event over the
    /// size cap, skipped with what shares its time span) (the `outcome`
    /// label: the bounded label set in docs/ARCHITECTURE.md has no `reason`).
    pub reason: &'static str,
    pub detail: &'a dyn Display,
}

impl CoverageGap<'_> {
    pub fn emit(&self) {
        tracing::warn!(source = %self.source, reason = self.reason, detail = %self.detail, "coverage gap: messages may have been missed");
        metrics::counter!(COVERAGE_GAPS_TOTAL, "source" => self.source.to_string(), "source_kind" => self.kind.as_str(), "outcome" => self.reason)
            .increment(1);
        let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let mut health = HEALTH.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = health.entry(self.source.to_string()).or_insert(SourceHealth {
            up: true,
            last_success: None,
            last_gap: None,
        });
        entry.last_gap = Some(now_secs);
    }
}
