//! Everything the archive reports: each event logs and counts in one `emit()`.
//!
//! Labels are bounded sets (`outcome`, `reason`); never a message id, URL,
//! author or query text (docs/ARCHITECTURE.md, "Observability").

use std::path::Path;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

pub(crate) const COMMITS_TOTAL: &str = "onrust_archive_commits_total";
pub(crate) const COMMIT_DURATION: &str = "onrust_archive_commit_duration_seconds";
pub(crate) const DOCUMENTS: &str = "onrust_archive_documents";
pub(crate) const SEARCHES_TOTAL: &str = "onrust_archive_searches_total";
pub(crate) const SEARCH_DURATION: &str = "onrust_archive_search_duration_seconds";
pub(crate) const QUERIES_REFUSED_TOTAL: &str = "onrust_archive_queries_refused_total";
pub(crate) const BUCKETS: &str = "onrust_archive_buckets";
pub(crate) const BUCKETS_DELETED_TOTAL: &str = "onrust_archive_buckets_deleted_total";
pub(crate) const DOCUMENTS_DELETED_TOTAL: &str = "onrust_archive_documents_deleted_total";
pub(crate) const EXPIRED_ON_ARRIVAL_TOTAL: &str = "onrust_archive_expired_on_arrival_total";
pub(crate) const DUPLICATES_ROUTED_TOTAL: &str = "onrust_archive_duplicates_routed_total";
pub(crate) const SOURCE_DELETIONS_TOTAL: &str = "onrust_archive_source_deletions_total";

/// Registers descriptions of the archive's metrics with the installed recorder.
pub fn describe_metrics() {
    describe_counter!(COMMITS_TOTAL, Unit::Count, "Archive commits, by outcome (ok, error).");
    describe_histogram!(COMMIT_DURATION, Unit::Seconds, "Time to make a batch of archived messages durable.");
    describe_gauge!(DOCUMENTS, Unit::Count, "Documents in the archive after the last commit.");
    describe_counter!(SEARCHES_TOTAL, Unit::Count, "Archive searches, by outcome (ok, bad_query, error).");
    describe_histogram!(SEARCH_DURATION, Unit::Seconds, "Time to answer an archive search.");
    describe_counter!(QUERIES_REFUSED_TOTAL, Unit::Count, "Searches refused before the index saw them, by reason.");
    describe_gauge!(BUCKETS, Unit::Count, "Time buckets (one index per period) in the archive.");
    describe_counter!(BUCKETS_DELETED_TOTAL, Unit::Count, "Buckets deleted by retention.");
    describe_counter!(DOCUMENTS_DELETED_TOTAL, Unit::Count, "Documents deleted by retention, with their buckets.");
    describe_counter!(
        EXPIRED_ON_ARRIVAL_TOTAL,
        Unit::Count,
        "Messages not archived because they were fetched longer ago than the retention."
    );
    describe_counter!(
        DUPLICATES_ROUTED_TOTAL,
        Unit::Count,
        "Upserts sent to the bucket that already holds their id rather than their own."
    );
    describe_counter!(
        SOURCE_DELETIONS_TOTAL,
        Unit::Count,
        "Messages deleted at their source (a Bluesky delete), by outcome: removed from the archive, or not (yet) in it."
    );
}

/// A message deleted at its source was removed from the archive, or was not in it.
pub(crate) struct SourceDeletionApplied {
    /// Buckets that held the message.
    pub removed_from: usize,
    /// A later upsert of the same id was refused (it arrived after its deletion).
    pub refused_later: bool,
}

impl SourceDeletionApplied {
    pub fn emit(self) {
        let outcome = match (self.removed_from, self.refused_later) {
            (_, true) => "refused_on_arrival",
            (0, false) => "not_archived",
            _ => "removed",
        };
        tracing::debug!(outcome, buckets = self.removed_from, "source deletion applied");
        counter!(SOURCE_DELETIONS_TOTAL, "outcome" => outcome).increment(1);
    }
}

/// The archive was opened for writing.
pub(crate) struct ArchiveOpened<'a> {
    pub dir: &'a Path,
    pub total_docs: u64,
    pub buckets: usize,
}

impl ArchiveOpened<'_> {
    pub fn emit(self) {
        tracing::info!(dir = %self.dir.display(), documents = self.total_docs, buckets = self.buckets, "archive opened for writing");
        gauge!(DOCUMENTS).set(self.total_docs as f64);
        gauge!(BUCKETS).set(self.buckets as f64);
    }
}

/// Retention removed a bucket (its record is already written).
pub(crate) struct BucketDeleted<'a> {
    pub deletion: &'a crate::Deletion,
}

impl BucketDeleted<'_> {
    pub fn emit(self) {
        let d = self.deletion;
        tracing::info!(bucket = %d.bucket, documents = d.documents, bytes = d.bytes, "retention deleted an archive bucket");
        counter!(BUCKETS_DELETED_TOTAL).increment(1);
        counter!(DOCUMENTS_DELETED_TOTAL).increment(d.documents);
        gauge!(BUCKETS).decrement(1.0);
    }
}

/// A message arrived already older than the retention and was not archived.
pub(crate) struct ExpiredOnArrival;

impl ExpiredOnArrival {
    pub fn emit(self) {
        tracing::debug!("message older than the retention, not archived");
        counter!(EXPIRED_ON_ARRIVAL_TOTAL).increment(1);
    }
}

/// An upsert went to the bucket that already held its id.
pub(crate) struct DuplicateRouted;

impl DuplicateRouted {
    pub fn emit(self) {
        counter!(DUPLICATES_ROUTED_TOTAL).increment(1);
    }
}

/// A batch became durable.
pub(crate) struct CommitSucceeded {
    pub docs: u64,
    pub total_docs: u64,
    pub duration: Duration,
}

impl CommitSucceeded {
    pub fn emit(self) {
        tracing::debug!(
            documents = self.docs,
            total = self.total_docs,
            duration_ms = self.duration.as_millis() as u64,
            "archive commit"
        );
        counter!(COMMITS_TOTAL, "outcome" => "ok").increment(1);
        histogram!(COMMIT_DURATION).record(self.duration.as_secs_f64());
        gauge!(DOCUMENTS).set(self.total_docs as f64);
    }
}

/// A batch did not become durable; its messages must not be acknowledged.
pub(crate) struct CommitFailed<'a> {
    pub docs: u64,
    pub error: &'a crate::ArchiveError,
    pub duration: Duration,
}

impl CommitFailed<'_> {
    pub fn emit(self) {
        tracing::error!(documents = self.docs, error = %self.error, "archive commit failed; the batch is not durable and is not acknowledged");
        counter!(COMMITS_TOTAL, "outcome" => "error").increment(1);
        histogram!(COMMIT_DURATION).record(self.duration.as_secs_f64());
    }
}

/// A query was refused before it reached the index (rule S7).
pub(crate) struct QueryRefused {
    /// One of a fixed set, see `query::Refusal`.
    pub reason: &'static str,
}

impl QueryRefused {
    pub fn emit(self) {
        // The query text stays out of logs and metrics; the audit log (web) records it.
        tracing::debug!(reason = self.reason, "archive query refused");
        counter!(QUERIES_REFUSED_TOTAL, "outcome" => self.reason).increment(1);
    }
}

/// A search finished.
pub(crate) struct SearchCompleted {
    /// `ok`, `bad_query`, `too_slow` or `error`.
    pub outcome: &'static str,
    pub duration: Duration,
}

impl SearchCompleted {
    pub fn emit(self) {
        counter!(SEARCHES_TOTAL, "outcome" => self.outcome).increment(1);
        if self.outcome == "ok" {
            histogram!(SEARCH_DURATION).record(self.duration.as_secs_f64());
        }
    }
}
