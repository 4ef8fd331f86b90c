//! Extending the chain: [`append`] for every record, [`recover`] at start.
//! Both take the log's exclusive lock, repair a torn tail, compare the log
//! with its checkpoint, and record what they found before anything else.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;

use crate::checkpoint::{self, Checkpoint, Found};
use crate::lines::{self, LastLine};
use crate::{
    AuditEntry, AuditError, AuditRecord, GENESIS, MAX_RECORDED_QUERY_CHARS, SELF_WHO, TAIL_MOVED, TRUNCATED,
    record_hash,
};

/// Appends `entry` to the log at `path` (created, 0600 in a 0700 folder, if
/// missing), fsyncs it and then its checkpoint. A query longer than
/// [`MAX_RECORDED_QUERY_CHARS`] is recorded cut, with its full length.
pub fn append(path: &Path, mut entry: AuditEntry) -> Result<AuditRecord, AuditError> {
    if let Some(query) = &mut entry.query {
        let chars = query.chars().count();
        if chars > MAX_RECORDED_QUERY_CHARS {
            *query = format!(
                "{}… [cut: {chars} characters in all]",
                query.chars().take(MAX_RECORDED_QUERY_CHARS).collect::<String>()
            );
        }
    }
    let mut log = Log::open(path)?;
    log.repair()?;
    log.push(entry)
}

/// What [`recover`] (or an append) found and recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    pub tail_moved: Option<TailMoved>,
    pub truncation: Option<Truncation>,
    /// The log had no checkpoint (made before there were any, or removed); one is written now.
    pub sealed_now: bool,
}

/// A last line that was never completely written, moved out of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TailMoved {
    /// The file it was moved to, beside the log.
    pub file: PathBuf,
    /// Its line number in the log.
    pub line: u64,
    pub bytes: u64,
}

/// The log ended before the record its checkpoint sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Truncation {
    /// What the checkpoint said, if it could be read.
    pub checkpoint: Option<Checkpoint>,
    /// The newest record the log still had, if any.
    pub found_seq: Option<u64>,
}

/// At start: repairs a torn last line and records a truncation, as the next
/// append would, so the log is whole before anything is served. A log that
/// does not exist (and never had a checkpoint) is nothing to do.
pub fn recover(path: &Path) -> Result<Recovered, AuditError> {
    let checkpoint_exists = checkpoint::checkpoint_path(path).exists();
    if !path.exists() && !checkpoint_exists {
        return Ok(Recovered::default());
    }
    let mut log = Log::open(path)?;
    log.repair()
}

/// The log, open and locked for appending.
pub(crate) struct Log {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    /// The newest record: the next one chains to it.
    pub(crate) last: Option<AuditRecord>,
}

impl Log {
    pub(crate) fn open(path: &Path) -> Result<Self, AuditError> {
        let io = |source| AuditError::Io { path: path.to_owned(), source };
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        onrust_durable::create_private_dir_all(parent).map_err(io)?;
        // Retention ([`crate::expire`]) replaces the file under its lock; a
        // writer that waited meanwhile must append to the new one.
        let created = !path.exists();
        let file = onrust_durable::open_locked_append(path).map_err(io)?;
        if created {
            // The new file's name must survive a power cut like its records.
            onrust_durable::sync_dir(parent).map_err(io)?;
        }
        Ok(Self { path: path.to_owned(), file, last: None })
    }

    pub(crate) fn io(&self, source: std::io::Error) -> AuditError {
        AuditError::Io { path: self.path.clone(), source }
    }

    /// Moves a torn last line aside, reads the newest record, and records a
    /// truncation the checkpoint shows; each repair is itself a record.
    pub(crate) fn repair(&mut self) -> Result<Recovered, AuditError> {
        let mut recovered = Recovered::default();
        let mut last = lines::last_line(&mut self.file).map_err(|e| self.io(e))?;
        if let Some(torn) = last.as_ref().filter(|line| is_torn(line)) {
            recovered.tail_moved = Some(self.move_aside(torn)?);
            last = lines::last_line(&mut self.file).map_err(|e| self.io(e))?;
        }
        self.last = match last {
            None => None,
            Some(line) => Some(serde_json::from_slice(&line.bytes).map_err(|e| {
                let number = lines::line_number_at(&mut self.file, line.start).unwrap_or(0);
                AuditError::Broken {
                    path: self.path.clone(),
                    line: number,
                    reason: format!("the newest record is unreadable, refusing to extend the chain: {e}"),
                    cause: Some(e),
                }
            })?),
        };
        let found = checkpoint::read(&self.path).map_err(|e| self.io(e))?;
        let unsealed = matches!(found, Found::None);
        let found_seq = self.last.as_ref().map(|r| r.seq);
        recovered.truncation = match found {
            Found::None => None,
            Found::Unreadable(_) => Some(Truncation { checkpoint: None, found_seq }),
            Found::Sealed(checkpoint) => {
                let behind = match &self.last {
                    None => true,
                    Some(last) => {
                        last.seq < checkpoint.seq || (last.seq == checkpoint.seq && last.hash != checkpoint.hash)
                    }
                };
                behind.then_some(Truncation { checkpoint: Some(checkpoint), found_seq })
            }
        };
        if let Some(moved) = &recovered.tail_moved {
            let file = moved.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let filters = serde_json::json!({ "file": file, "line": moved.line, "bytes": moved.bytes });
            self.push(self_entry(TAIL_MOVED, filters))?;
        }
        if let Some(truncation) = &recovered.truncation {
            let filters = serde_json::to_value(truncation).unwrap_or_default();
            self.push(self_entry(TRUNCATED, filters))?;
        }
        // A record pushed above sealed itself; otherwise an unsealed log is sealed as it stands.
        if let Some(last) = &self.last
            && unsealed
            && recovered.tail_moved.is_none()
        {
            checkpoint::write(&self.path, &Checkpoint { seq: last.seq, hash: last.hash.clone() })
                .map_err(|e| self.io(e))?;
            recovered.sealed_now = true;
        }
        Ok(recovered)
    }

    /// Copies the torn line to a new file beside the log (0600, fsynced),
    /// then cuts it from the log.
    fn move_aside(&mut self, torn: &LastLine) -> Result<TailMoved, AuditError> {
        let line = lines::line_number_at(&mut self.file, torn.start).map_err(|e| self.io(e))?;
        let mut bytes = torn.bytes.clone();
        if torn.terminated {
            bytes.push(b'\n');
        }
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut attempt = 0u32;
        let (aside, mut file) = loop {
            let suffix = if attempt == 0 { String::new() } else { format!("-{attempt}") };
            let aside = self.path.with_file_name(format!("{name}.torn-{stamp}-line{line}{suffix}"));
            match onrust_durable::create_private_new(&aside) {
                Ok(file) => break (aside, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(self.io(e)),
            }
        };
        file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(|e| self.io(e))?;
        self.file.set_len(torn.start).and_then(|()| self.file.sync_all()).map_err(|e| self.io(e))?;
        let parent = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        onrust_durable::sync_dir(parent).map_err(|e| self.io(e))?;
        Ok(TailMoved { file: aside, line, bytes: bytes.len() as u64 })
    }

    /// Writes one record after the newest, fsyncs it, then seals it in the checkpoint.
    pub(crate) fn push(&mut self, entry: AuditEntry) -> Result<AuditRecord, AuditError> {
        let (seq, prev) = match &self.last {
            None => (0, GENESIS.to_owned()),
            Some(last) => (last.seq + 1, last.hash.clone()),
        };
        let at = Utc::now();
        let hash = record_hash(seq, &at, &entry, &prev);
        let record = AuditRecord { seq, at, entry, prev, hash };
        let mut line = serde_json::to_vec(&record).map_err(|e| self.io(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file.write_all(&line).and_then(|()| self.file.sync_data()).map_err(|e| self.io(e))?;
        checkpoint::write(&self.path, &Checkpoint { seq: record.seq, hash: record.hash.clone() })
            .map_err(|e| self.io(e))?;
        self.last = Some(record.clone());
        Ok(record)
    }
}

/// A last line that is not a whole record: its newline is missing (the write
/// stopped before the end), or it does not read as a record.
fn is_torn(line: &LastLine) -> bool {
    !line.terminated || serde_json::from_slice::<AuditRecord>(&line.bytes).is_err()
}

fn self_entry(action: &str, filters: serde_json::Value) -> AuditEntry {
    AuditEntry {
        who: SELF_WHO.to_owned(),
        action: action.to_owned(),
        query: None,
        filters,
        hits: None,
        refused: None,
        mandates: Vec::new(),
    }
}
