//! Every log line and metric this crate emits about its sources, in one place.
//!
//! Each event is a small struct whose `emit` both logs and counts, so the
//! logic never calls `metrics` directly and the label set stays bounded:
//! `source`, `source_kind` and `outcome` only — never a URL, an author or a
//! message id (DESIGN.md, Observability; GUARDRAILS L1).

use std::fmt::Display;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use onrust_model::SourceId;

const KIND: &str = "feed";

/// One fetch attempt finished (successfully or not).
pub(crate) struct FetchFinished<'a> {
    pub source: &'a SourceId,
    /// `ok`, `not_modified`, `error`, `gone`, `too_large`, `blocked`, ...
    pub outcome: &'static str,
    pub received_bytes: u64,
}

impl FetchFinished<'_> {
    pub fn emit(&self) {
        tracing::debug!(source = %self.source, outcome = self.outcome, received_bytes = self.received_bytes, "fetch finished");
        metrics::counter!("onrust_source_fetches_total", "source" => self.source.to_string(), "source_kind" => KIND, "outcome" => self.outcome)
            .increment(1);
        if self.received_bytes > 0 {
            metrics::counter!("onrust_source_received_bytes_total", "source" => self.source.to_string(), "source_kind" => KIND)
                .increment(self.received_bytes);
        }
    }
}

/// A poll succeeded: the source is up.
pub(crate) struct PollSucceeded<'a> {
    pub source: &'a SourceId,
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
        metrics::counter!("onrust_source_items_total", "source" => source.clone(), "source_kind" => KIND)
            .increment(self.new_items as u64);
        let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        metrics::gauge!("onrust_source_last_success_timestamp_seconds", "source" => source.clone()).set(now_secs);
        metrics::gauge!("onrust_source_backoff_seconds", "source" => source.clone()).set(0.0);
        metrics::gauge!("onrust_source_up", "source" => source).set(1.0);
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
        metrics::gauge!("onrust_source_backoff_seconds", "source" => source.clone()).set(self.backoff.as_secs_f64());
        metrics::gauge!("onrust_source_up", "source" => source).set(0.0);
    }
}

/// Items of a feed that were not sent, by reason.
pub(crate) struct ItemsSkipped<'a> {
    pub source: &'a SourceId,
    /// `duplicate` (same dedup key twice in one feed), `empty` (no title and no text).
    pub outcome: &'static str,
    pub count: usize,
}

impl ItemsSkipped<'_> {
    pub fn emit(&self) {
        if self.count == 0 {
            return;
        }
        tracing::debug!(source = %self.source, outcome = self.outcome, count = self.count, "items skipped");
        metrics::counter!("onrust_source_skipped_items_total", "source" => self.source.to_string(), "source_kind" => KIND, "outcome" => self.outcome)
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
        metrics::gauge!("onrust_source_up", "source" => source).set(0.0);
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
