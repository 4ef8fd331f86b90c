//! The append-only, hash-chained audit log (rule L7).
//!
//! Every use of content appends one JSON line. Each line carries the
//! SHA-256 of the previous line's hash and its own content, so removing,
//! reordering or editing a line breaks the chain at that line, which
//! [`verify`] reports. Appends take an exclusive file lock, so the daemon and
//! a CLI search can write to the same log at once without forking the chain.
//!
//! It is a crate of its own because its writers are spread over the
//! workspace: the HTTP API and console (`onrust-web`), the CLI's search and
//! backtest and the archive stage's retention (`onrust`).
//!
//! # The sealed tail
//!
//! A chain shows an edit anywhere, but not the removal of its newest
//! records: what is left is still a valid chain. So every append also
//! replaces a checkpoint beside the log (`audit.jsonl.head`, [`checkpoint`]):
//! the sequence number and hash of the newest record, written durably after
//! the record itself. [`verify`] fails when the log ends before the record
//! the checkpoint names, or when that record is another than the one sealed.
//! The bound is zero records: a crash between the record and the checkpoint
//! leaves the checkpoint one record *behind* the log, which is allowed; it
//! is never ahead unless records were removed. The checkpoint does not help
//! against someone who rewrites it as well; an officer who wants that notes
//! the checkpoint `onrust audit verify` prints somewhere else, and compares.
//!
//! A writer that finds the log behind its checkpoint does not stop (that
//! would stop every search), and does not hide it either: it first appends
//! an `audit_truncated` record naming what the checkpoint expected, so the
//! gap stays in the chain, and [`verify`] reports it for good.
//!
//! # Retention
//!
//! Records older than the audit log's retention leave its head ([`expire`]);
//! the cut is recorded in the chain first, so a log that starts after
//! record 0 still verifies, and one whose head was removed otherwise does not.
//!
//! # A torn last line
//!
//! A line is written with its newline in one go. A crash in the middle
//! leaves a last line without a newline, or one that is not a record; such
//! a write never returned, so its request was never answered. The next
//! append (and `onrust run` at start, [`recover`]) moves that line aside
//! into `audit.jsonl.torn-…`, cuts it from the log and appends an
//! `audit_tail_moved` record that names the file, so the log can be
//! extended again instead of blocking every search. Readers skip such a
//! line, and [`verify_report`] names it.

mod checkpoint;
mod expire;
mod lines;
mod read;
mod write;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use checkpoint::{Checkpoint, checkpoint_path};
pub use expire::{AUDIT_LOG_CLASS, Expired, RETENTION_DELETE, RETENTION_WHO, expire};
pub use read::{Verified, VerifiedPrefix, tail, verify, verify_from, verify_report};
pub use write::{Recovered, TailMoved, Truncation, append, recover};

/// Longest query recorded, in characters; a longer one is cut and marked, so
/// that one record never outgrows what [`append`] reads back (queries over
/// 1,000 characters are refused by the archive anyway).
pub const MAX_RECORDED_QUERY_CHARS: usize = 2000;

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who the log's own records (a moved tail, a truncation) are from.
pub const SELF_WHO: &str = "onrust:audit";
/// The action of the record that says a torn last line was moved aside.
pub const TAIL_MOVED: &str = "audit_tail_moved";
/// The action of the record that says the log had lost records its checkpoint sealed.
pub const TRUNCATED: &str = "audit_truncated";

/// What is being recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who: the token's or account's name, `cli:<user>`, or `onrust:…`; never a guess.
    pub who: String,
    /// What: `search`, `alerts_ack`, ...
    pub action: String,
    /// The query text as given.
    pub query: Option<String>,
    /// The filters as given.
    pub filters: serde_json::Value,
    /// How many hits the action returned, if it ran.
    pub hits: Option<u64>,
    /// Why it was refused, if it was.
    pub refused: Option<String>,
    /// The mandates (`[[mandates]]` ids) the action ran under (rule L5):
    /// for a search those in force whose scope covers it, for an alert
    /// action the alert's. Left out when empty, so records written before
    /// mandates existed read, and hash, exactly as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mandates: Vec<String>,
}

/// A record as stored: the entry, its place in the chain, and the hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev: String,
    pub hash: String,
}

/// Why the audit log could not be written or does not verify. A line
/// number counts from 1, as an editor shows it.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The chain is broken or a record unreadable; `reason` says how (and
    /// quotes the parser's error, which `cause` keeps, when there is one).
    #[error("audit log {path} line {line}: {reason}")]
    Broken {
        path: PathBuf,
        line: u64,
        reason: String,
        #[source]
        cause: Option<serde_json::Error>,
    },
}

pub(crate) fn record_hash(seq: u64, at: &DateTime<Utc>, entry: &AuditEntry, prev: &str) -> String {
    #[derive(Serialize)]
    struct Hashed<'a> {
        seq: u64,
        at: &'a DateTime<Utc>,
        entry: &'a AuditEntry,
        prev: &'a str,
    }
    let body = serde_json::to_vec(&Hashed { seq, at, entry, prev }).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(&body);
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests;
