//! Retention for the audit log itself (rule L6): records older than the
//! period leave the head of the log, and the chain stays verifiable.
//!
//! A hash chain cannot simply lose its first records: the oldest record
//! left would chain to a hash nobody can check. So a cut is recorded in the
//! chain before it is made. [`expire`], holding the log's lock:
//!
//! 1. counts the records at the head that are older than the cut-off;
//! 2. appends a `retention_delete` record (class `audit_log`) naming how
//!    many go, the last sequence number that goes and its hash, the
//!    *anchor* the first record left chains to; this record is sealed in
//!    the checkpoint like any other;
//! 3. copies what stays (the new record included) to a new file, fsyncs it
//!    and renames it over the log, then fsyncs the folder.
//!
//! [`crate::verify`] then accepts a log that starts after sequence 0 only
//! when a `retention_delete` record in it names exactly that anchor;
//! otherwise records were removed from the start by something else, and it
//! says so. A crash before step 3 leaves the whole log with a record of a
//! cut that did not happen yet: the next run cuts (and records) again. A
//! writer waiting for the lock while the file is replaced opens the new one
//! (see `Log::open`), so no record lands in a file no name points at.
//!
//! A record of a truncation (`audit_truncated`) does not vanish quietly with
//! the head: the cut's record counts such *gaps*, and verification keeps
//! failing on it, as it did on the truncation record itself.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::write::Log;
use crate::{AuditEntry, AuditError, AuditRecord, TRUNCATED};

/// Who the records of retention deletions are from (the archive's too).
pub const RETENTION_WHO: &str = "onrust:retention";
/// The action of a retention deletion record, for every data class.
pub const RETENTION_DELETE: &str = "retention_delete";
/// The data class of the audit log's own deletions.
pub const AUDIT_LOG_CLASS: &str = "audit_log";

/// What a cut removed from the head of the log: the `filters` of its
/// `retention_delete` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expired {
    /// Always [`AUDIT_LOG_CLASS`].
    pub class: String,
    /// Records older than this went.
    pub before: DateTime<Utc>,
    /// How many records went.
    pub records: u64,
    /// The first and last sequence numbers that went.
    pub first_seq: u64,
    pub through_seq: u64,
    /// The hash of the last record that went: what the first record left chains to.
    pub anchor: String,
    /// How many records of a truncation (`audit_truncated`) went with them;
    /// verification goes on reporting such a gap.
    pub gaps: u64,
}

impl Expired {
    /// The cut a record describes, if it is the record of an audit log cut.
    pub(crate) fn of(record: &AuditRecord) -> Option<Expired> {
        if record.entry.action != RETENTION_DELETE || record.entry.who != RETENTION_WHO {
            return None;
        }
        serde_json::from_value::<Expired>(record.entry.filters.clone()).ok().filter(|e| e.class == AUDIT_LOG_CLASS)
    }
}

/// Removes the records older than `before` from the head of the log at
/// `path`, recording the cut first (see the module docs). `None` when
/// nothing is that old, or there is no log: nothing is written then.
pub fn expire(path: &Path, before: DateTime<Utc>) -> Result<Option<Expired>, AuditError> {
    if !path.exists() {
        return Ok(None);
    }
    let mut log = Log::open(path)?;
    log.repair()?;
    let Some(head) = expired_head(&mut log, before)? else {
        return Ok(None);
    };
    let expired = Expired {
        class: AUDIT_LOG_CLASS.to_owned(),
        before,
        records: head.records,
        first_seq: head.first_seq,
        through_seq: head.last.seq,
        anchor: head.last.hash.clone(),
        gaps: head.gaps,
    };
    let filters = serde_json::to_value(&expired).map_err(|e| log.io(std::io::Error::other(e)))?;
    log.push(AuditEntry {
        who: RETENTION_WHO.to_owned(),
        action: RETENTION_DELETE.to_owned(),
        query: None,
        filters,
        hits: Some(head.records),
        refused: None,
        mandates: Vec::new(),
    })?;
    keep_from(&mut log, head.kept_from)?;
    Ok(Some(expired))
}

/// The records at the head of the log older than the cut-off.
struct Head {
    records: u64,
    first_seq: u64,
    last: AuditRecord,
    gaps: u64,
    /// Where the first record that stays starts, in bytes.
    kept_from: u64,
}

/// Reads the log from the start while its records are older than `before`.
/// A line that is not a record stops the count with an error naming it:
/// a log that cannot be read is not cut.
fn expired_head(log: &mut Log, before: DateTime<Utc>) -> Result<Option<Head>, AuditError> {
    log.file.seek(SeekFrom::Start(0)).map_err(|e| log.io(e))?;
    let mut reader = BufReader::new(&log.file);
    let mut line = Vec::new();
    let (mut offset, mut number) = (0u64, 0u64);
    let mut head: Option<Head> = None;
    loop {
        line.clear();
        let read =
            reader.read_until(b'\n', &mut line).map_err(|e| AuditError::Io { path: log.path.clone(), source: e })?;
        if read == 0 {
            break;
        }
        number += 1;
        let record: AuditRecord =
            serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(&line)).map_err(|e| AuditError::Broken {
                path: log.path.clone(),
                line: number,
                reason: format!("unreadable record: {e}"),
                cause: Some(e),
            })?;
        if record.at >= before {
            break;
        }
        offset += read as u64;
        let gap = u64::from(record.entry.action == TRUNCATED);
        head = Some(match head {
            None => Head { records: 1, first_seq: record.seq, last: record, gaps: gap, kept_from: offset },
            Some(h) => Head { records: h.records + 1, last: record, gaps: h.gaps + gap, kept_from: offset, ..h },
        });
    }
    Ok(head)
}

/// Replaces the log with its bytes from `from` on: a new file beside it,
/// fsynced, renamed over the log, the folder fsynced. The lock stays on the
/// old file until `log` is dropped; writers that waited for it open the new one.
fn keep_from(log: &mut Log, from: u64) -> Result<(), AuditError> {
    let io = |source| AuditError::Io { path: log.path.clone(), source };
    let name = log.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let next = log.path.with_file_name(format!(".{name}.expire"));
    let mut kept = onrust_durable::create_private(&next).map_err(io)?;
    let copied = (|| {
        let mut source: &File = &log.file;
        source.seek(SeekFrom::Start(from))?;
        std::io::copy(&mut source, &mut kept)?;
        kept.sync_all()?;
        std::fs::rename(&next, &log.path)
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&next);
        return Err(io(e));
    }
    let parent = log.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    onrust_durable::sync_dir(parent).map_err(io)
}
