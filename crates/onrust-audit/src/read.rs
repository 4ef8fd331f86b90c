//! Reading the log: its newest records ([`tail`]) and the whole chain
//! checked against its checkpoint ([`verify`]). Readers take no lock: a last
//! line being written (or torn) is skipped, never an error.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::checkpoint::{self, Checkpoint, Found};
use crate::expire::Expired;
use crate::lines::{self, CHUNK};
use crate::{AuditError, AuditRecord, GENESIS, SELF_WHO, TRUNCATED, record_hash};

/// The last `n` records of the log, oldest first; none when there is no log
/// yet. Reads from the end, so a long log costs no more than its tail. A
/// last line that is not a whole record (being written, or torn) is left out.
pub fn tail(path: &Path, n: usize) -> Result<Vec<AuditRecord>, AuditError> {
    let io = |source| AuditError::Io { path: path.to_owned(), source };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut pos = file.seek(SeekFrom::End(0)).map_err(io)?;
    let end = pos;
    let mut chunks = Vec::new();
    let mut newlines = 0usize;
    // n records and a torn last line need n + 2 newlines before the end unless the file starts first.
    while pos > 0 && newlines <= n.saturating_add(1) {
        let start = pos.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; usize::try_from(pos - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        file.read_exact(&mut chunk).map_err(io)?;
        newlines += chunk.iter().filter(|&&b| b == b'\n').count();
        chunks.push(chunk);
        pos = start;
    }
    let bytes: Vec<u8> = chunks.into_iter().rev().flatten().collect();
    // Each line with the offset it starts at; the first is cut unless the read reached the start.
    let mut found: Vec<(u64, &[u8])> = Vec::new();
    let mut offset = pos;
    for piece in bytes.split_inclusive(|&b| b == b'\n') {
        found.push((offset, piece));
        offset += piece.len() as u64;
    }
    if pos > 0 && !found.is_empty() {
        found.remove(0);
    }
    // A last line without its newline is still being written, or was torn.
    if found.last().is_some_and(|(_, line)| line.last() != Some(&b'\n')) {
        found.pop();
    }
    let complete: Vec<(u64, &[u8])> =
        found.into_iter().map(|(at, line)| (at, &line[..line.len() - 1])).filter(|(_, l)| !l.is_empty()).collect();
    let mut records = Vec::with_capacity(n.min(complete.len()));
    let last_index = complete.len().saturating_sub(1);
    for (index, (at, line)) in complete.iter().enumerate() {
        match serde_json::from_slice::<AuditRecord>(line) {
            Ok(record) => records.push(record),
            // A torn last line that happens to end in a newline: the next append moves it aside.
            Err(_) if index == last_index && *at + line.len() as u64 + 1 == end => {}
            Err(e) => {
                let line = lines::line_number_at(&mut file, *at).map_err(io)?;
                return Err(AuditError::Broken {
                    path: path.to_owned(),
                    line,
                    reason: format!("unreadable record: {e}"),
                    cause: Some(e),
                });
            }
        }
    }
    let skip = records.len().saturating_sub(n);
    records.drain(..skip);
    Ok(records)
}

/// What [`verify_report`] found in a log whose chain holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Records in the chain.
    pub records: u64,
    /// The newest record's hash ([`GENESIS`] for an empty log).
    pub last_hash: String,
    /// The checkpoint the log was checked against; `None` before the first
    /// append since checkpoints exist (the next append or start writes it).
    pub checkpoint: Option<Checkpoint>,
    /// The line number of a last line that is not a whole record (a write
    /// that did not finish); the next append or start moves it aside.
    pub torn_line: Option<u64>,
}

/// Checks the whole chain; returns the number of records.
pub fn verify(path: &Path) -> Result<u64, AuditError> {
    verify_report(path).map(|verified| verified.records)
}

/// Checks the whole chain and its tail: every record in order, chained and
/// matching its hash; no record of an earlier truncation; the record the
/// checkpoint sealed still there and the same.
pub fn verify_report(path: &Path) -> Result<Verified, AuditError> {
    verify_from(path, None).map(|(verified, _)| verified)
}

/// Where a verification got to: the whole records it read from the start
/// of the log, by their length and SHA-256, and the chain's state after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPrefix {
    bytes: u64,
    digest: [u8; 32],
    records: u64,
    last_hash: String,
    lines: u64,
    /// The sequence number the next record must have (a log cut by
    /// retention starts after 0; a verified prefix has its cut explained).
    next_seq: u64,
}

/// Where a log cut by retention starts: the last sequence number removed
/// and its hash, which a `retention_delete` record must name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cut {
    through_seq: u64,
    anchor: String,
}

/// [`verify_report`], going on from `known` when the log still starts with
/// exactly the bytes it covers: those are hashed, not parsed and re-hashed
/// record by record, which is what costs on a long log. Anything else (a
/// shorter log, other bytes, a checkpoint sealing an older record than the
/// prefix ends with) is verified from the start. Also returns the prefix
/// this verification covers, for the next one.
pub fn verify_from(path: &Path, known: Option<&VerifiedPrefix>) -> Result<(Verified, VerifiedPrefix), AuditError> {
    let io = |source| AuditError::Io { path: path.to_owned(), source };
    let broken = |line: u64, reason: String| AuditError::Broken { path: path.to_owned(), line, reason, cause: None };
    let checkpoint = match checkpoint::read(path).map_err(io)? {
        Found::None => None,
        Found::Sealed(checkpoint) => Some(checkpoint),
        Found::Unreadable(reason) => {
            let line = count_lines(path).map_err(io)? + 1;
            return Err(broken(
                line,
                format!(
                    "its checkpoint {} is unreadable ({reason}), so removed records cannot be ruled out",
                    checkpoint::checkpoint_path(path).display()
                ),
            ));
        }
    };
    // A log that is gone while its checkpoint is not lost every record: read as empty, found below.
    let (file, length): (Box<dyn Read>, u64) = match File::open(path) {
        Ok(file) => {
            let length = file.metadata().map_err(io)?.len();
            (Box::new(file), length)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && checkpoint.is_some() => (Box::new(std::io::empty()), 0),
        Err(e) => return Err(io(e)),
    };
    let mut reader = BufReader::new(file);
    let mut digest = Sha256::new();
    let mut prev = GENESIS.to_owned();
    let mut count = 0u64;
    let mut next_seq = 0u64;
    let mut unexplained_cut: Option<Cut> = None;
    let mut line_no = 0u64;
    let mut verified_bytes = 0u64;
    let mut sealed_seen = false;
    // A checkpoint may seal the prefix's last record or a later one; an older one means a rewrite, checked in full.
    let resumable = known.filter(|k| {
        k.bytes <= length && checkpoint.as_ref().is_none_or(|sealed| sealed.seq.saturating_add(1) >= k.next_seq)
    });
    if let Some(known) = resumable {
        let mut prefix = Sha256::new();
        let mut left = known.bytes;
        let mut buffer = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = usize::try_from(left.min(buffer.len() as u64)).unwrap_or(buffer.len());
            let chunk = buffer.get_mut(..want).unwrap_or_default();
            reader.read_exact(chunk).map_err(io)?;
            prefix.update(&*chunk);
            left -= want as u64;
        }
        if <[u8; 32]>::from(prefix.clone().finalize()) == known.digest {
            digest = prefix;
            prev = known.last_hash.clone();
            count = known.records;
            next_seq = known.next_seq;
            line_no = known.lines;
            verified_bytes = known.bytes;
            if let Some(sealed) = &checkpoint
                && sealed.seq.saturating_add(1) == known.next_seq
            {
                if sealed.hash != known.last_hash {
                    return Err(broken(
                        known.lines,
                        format!("record {} is not the one the checkpoint sealed: the log was rewritten", sealed.seq),
                    ));
                }
                sealed_seen = true;
            }
        } else {
            return verify_from(path, None);
        }
    }
    let mut torn_line = None;
    let mut line = Vec::new();
    let mut next = Vec::new();
    let mut have = read_line(&mut reader, &mut line).map_err(io)?;
    while have {
        line_no += 1;
        let more = read_line(&mut reader, &mut next).map_err(io)?;
        let terminated = line.last() == Some(&b'\n');
        let body = if terminated { &line[..line.len() - 1] } else { &line[..] };
        let parsed = serde_json::from_slice::<AuditRecord>(body);
        if !more && (!terminated || parsed.is_err()) {
            torn_line = Some(line_no);
            break;
        }
        let record = parsed.map_err(|e| AuditError::Broken {
            path: path.to_owned(),
            line: line_no,
            reason: format!("unreadable record: {e}"),
            cause: Some(e),
        })?;
        if count == 0 && record.seq > 0 {
            // A head cut by retention: the record that explains it must follow.
            unexplained_cut = Some(Cut { through_seq: record.seq - 1, anchor: record.prev.clone() });
            next_seq = record.seq;
            prev = record.prev.clone();
        }
        if record.seq != next_seq {
            return Err(broken(line_no, format!("sequence {} where {next_seq} was expected", record.seq)));
        }
        if record.prev != prev {
            return Err(broken(line_no, "does not chain to the previous record".to_owned()));
        }
        if record_hash(record.seq, &record.at, &record.entry, &record.prev) != record.hash {
            return Err(broken(line_no, "content does not match its hash".to_owned()));
        }
        if record.entry.who == SELF_WHO && record.entry.action == TRUNCATED {
            return Err(broken(line_no, truncation_reason(&record)));
        }
        if let Some(cut) = Expired::of(&record) {
            if cut.gaps > 0 {
                return Err(broken(
                    line_no,
                    format!(
                        "retention deleted {} record(s) of records removed from the log earlier; the gap stays",
                        cut.gaps
                    ),
                ));
            }
            if unexplained_cut.as_ref().is_some_and(|c| c.through_seq == cut.through_seq && c.anchor == cut.anchor) {
                unexplained_cut = None;
            }
        }
        if let Some(sealed) = &checkpoint
            && sealed.seq == record.seq
        {
            if sealed.hash != record.hash {
                return Err(broken(
                    line_no,
                    format!(
                        "record {} is not the one the checkpoint sealed: the log was rewritten from here",
                        record.seq
                    ),
                ));
            }
            sealed_seen = true;
        }
        prev = record.hash;
        count += 1;
        next_seq = record.seq + 1;
        // Only whole, terminated records join the prefix a later check may skip.
        if terminated {
            digest.update(&line);
            verified_bytes += line.len() as u64;
        }
        std::mem::swap(&mut line, &mut next);
        have = more;
    }
    if let Some(cut) = &unexplained_cut {
        return Err(broken(
            1,
            format!(
                "the log starts at record {}, but no retention record says records up to {} were deleted: \
                 records were removed from its start",
                cut.through_seq + 1,
                cut.through_seq
            ),
        ));
    }
    if let Some(sealed) = &checkpoint
        && !sealed_seen
    {
        let first_missing = line_no - u64::from(torn_line.is_some()) + 1;
        let removed = (sealed.seq + 1).saturating_sub(next_seq);
        return Err(broken(
            first_missing,
            format!(
                "the log ends after {count} records, but its checkpoint says record {} was written: \
                 the last {removed} records were removed",
                sealed.seq
            ),
        ));
    }
    let prefix = VerifiedPrefix {
        bytes: verified_bytes,
        digest: digest.finalize().into(),
        records: count,
        last_hash: prev.clone(),
        lines: line_no - u64::from(torn_line.is_some()),
        next_seq,
    };
    Ok((Verified { records: count, last_hash: prev, checkpoint, torn_line }, prefix))
}

/// Reads one line with its newline into `line`; false at the end.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    Ok(reader.read_until(b'\n', line)? > 0)
}

fn count_lines(path: &Path) -> std::io::Result<u64> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let len = file.seek(SeekFrom::End(0))?;
    Ok(lines::line_number_at(&mut file, len)? - 1)
}

/// What an `audit_truncated` record says, for the person reading `verify`.
fn truncation_reason(record: &AuditRecord) -> String {
    let filters = &record.entry.filters;
    let found = filters.get("found_seq").and_then(serde_json::Value::as_u64);
    let sealed = filters.get("checkpoint").and_then(|c| c.get("seq")).and_then(serde_json::Value::as_u64);
    let lost = match (found, sealed) {
        (Some(found), Some(sealed)) if sealed > found => format!("records {} to {sealed}", found + 1),
        (None, Some(sealed)) => format!("records 0 to {sealed}"),
        (_, Some(sealed)) => format!("record {sealed} as sealed"),
        (_, None) => "records, how many is unknown (the checkpoint was unreadable),".to_owned(),
    };
    format!(
        "{lost} were removed from the log before {}; the chain continues, but the gap stays",
        record.at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}
