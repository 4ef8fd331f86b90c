//! `[archive]`: how the index commits, buckets time and forgets (rule L6).

use std::time::Duration;

use serde::Deserialize;

use super::{Collector, HumanDuration};

/// `[archive]`: how the index commits, buckets time and forgets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// The span of one bucket (one index): `day`, `week` or `month` of fetch
    /// time. Retention deletes whole buckets, so this is its granularity.
    #[serde(default)]
    pub bucket: onrust_archive::Period,
    /// Keep archived messages this long after they were fetched, then delete
    /// their bucket physically, with a record in the audit log (rule
    /// L6). A bucket goes once all of it is older than this.
    #[serde(default = "default_retention")]
    pub retention: HumanDuration,
    /// Indexing threads of the archive writer.
    #[serde(default = "default_writer_threads")]
    pub writer_threads: usize,
    /// Commit at least this often while messages arrive.
    #[serde(default = "default_commit_interval")]
    pub commit_interval: HumanDuration,
    /// Commit early once this many messages wait.
    #[serde(default = "default_commit_max_docs")]
    pub commit_max_docs: usize,
    /// Indexing memory budget per writer thread.
    #[serde(default = "default_writer_memory")]
    pub writer_memory_bytes: usize,
}

fn default_retention() -> HumanDuration {
    HumanDuration(Duration::from_secs(90 * 24 * 3600))
}
fn default_writer_threads() -> usize {
    1
}
fn default_commit_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}
fn default_commit_max_docs() -> usize {
    50_000
}
fn default_writer_memory() -> usize {
    64 * 1024 * 1024
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            bucket: onrust_archive::Period::default(),
            retention: default_retention(),
            writer_threads: default_writer_threads(),
            commit_interval: default_commit_interval(),
            commit_max_docs: default_commit_max_docs(),
            writer_memory_bytes: default_writer_memory(),
        }
    }
}

impl ArchiveConfig {
    /// Commit pace, retention, threads and memory within what the index writer can do.
    pub(super) fn validate(&self, c: &mut Collector) {
        let secs = Duration::from_secs;
        c.duration_within("archive.commit_interval", self.commit_interval.0, Duration::from_millis(10), secs(3600));
        c.duration_within("archive.retention", self.retention.0, secs(24 * 3600), secs(10 * 366 * 24 * 3600));
        if self.commit_max_docs > 10_000_000 {
            c.push("archive.commit_max_docs", "must be at most 10000000");
        }
        if self.writer_memory_bytes > 4_000_000_000 {
            c.push("archive.writer_memory_bytes", "must be at most 4000000000");
        }
        if !(1..=16).contains(&self.writer_threads) {
            c.push("archive.writer_threads", "must be between 1 and 16");
        }
        if self.commit_max_docs == 0 {
            c.push("archive.commit_max_docs", "must be at least 1");
        }
        if self.writer_memory_bytes < 15_000_000 {
            c.push("archive.writer_memory_bytes", "must be at least 15000000 (the index writer's minimum)");
        }
    }
}
