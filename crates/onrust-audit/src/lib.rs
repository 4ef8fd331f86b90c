//! The append-only, hash-chained audit log (rule L7).
//!
//! Every search and document view appends one JSON line. Each line carries
//! the SHA-256 of the previous line's hash and its own content, so removing,
//! reordering or editing a line breaks the chain at that line, which
//! [`verify`] reports. Appends take an exclusive file lock, so the daemon and
//! a CLI search can write to the same log at once without forking the chain.
//!
//! It is a crate of its own because its writers are spread over the
//! workspace: the HTTP API and console (`onrust-web`), the CLI's search and
//! backtest and the archive stage's retention (`onrust`).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Longest query recorded, in characters; a longer one is cut and marked, so
/// that one record never outgrows what [`append`] reads back (queries over
/// 1,000 characters are refused by the archive anyway).
pub const MAX_RECORDED_QUERY_CHARS: usize = 2000;

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What is being recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who: the token's name or `cli:<user>`; never a guess.
    pub who: String,
    /// What: `search`, `view`, ...
    pub action: String,
    /// The query text as given.
    pub query: Option<String>,
    /// The filters as given.
    pub filters: serde_json::Value,
    /// How many hits the action returned, if it ran.
    pub hits: Option<u64>,
    /// Why it was refused, if it was.
    pub refused: Option<String>,
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

/// Why the audit log could not be written or does not verify.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("audit log {path} line {line}: {reason}")]
    Broken { path: PathBuf, line: u64, reason: String },
}

fn record_hash(seq: u64, at: &DateTime<Utc>, entry: &AuditEntry, prev: &str) -> String {
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

/// Appends `entry` to the log at `path` (created if missing) and fsyncs it.
/// A query longer than [`MAX_RECORDED_QUERY_CHARS`] is recorded cut, with
/// its full length.
pub fn append(path: &Path, mut entry: AuditEntry) -> Result<AuditRecord, AuditError> {
    let io = |source| AuditError::Io { path: path.to_owned(), source };
    if let Some(query) = &mut entry.query {
        let chars = query.chars().count();
        if chars > MAX_RECORDED_QUERY_CHARS {
            *query = format!(
                "{}… [cut: {chars} characters in all]",
                query.chars().take(MAX_RECORDED_QUERY_CHARS).collect::<String>()
            );
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut file = OpenOptions::new().create(true).read(true).append(true).open(path).map_err(io)?;
    file.lock().map_err(io)?;
    let (seq, prev) = match last_line(&mut file).map_err(io)? {
        None => (0, GENESIS.to_owned()),
        Some(line) => {
            let last: AuditRecord = serde_json::from_str(&line).map_err(|e| AuditError::Broken {
                path: path.to_owned(),
                line: 0,
                reason: format!("last record is unreadable, refusing to extend the chain: {e}"),
            })?;
            (last.seq + 1, last.hash)
        }
    };
    let at = Utc::now();
    let hash = record_hash(seq, &at, &entry, &prev);
    let record = AuditRecord { seq, at, entry, prev, hash };
    let mut line = serde_json::to_vec(&record).map_err(|e| io(std::io::Error::other(e)))?;
    line.push(b'\n');
    file.write_all(&line).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(record)
}

fn last_line(file: &mut File) -> std::io::Result<Option<String>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    // Records are small; the last one is within the final 64 KiB.
    // Bytes, not a string: the cut may fall inside a multi-byte character of an
    // earlier record; only the last line is decoded.
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let end = tail.iter().rposition(|&b| b != b'\n').map_or(0, |i| i + 1);
    let begin = tail[..end].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = String::from_utf8(tail[begin..end].to_vec())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok(Some(line))
}

/// The last `n` records of the log, oldest first; none when there is no log
/// yet. Reads from the end, so a long log costs no more than its tail.
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
    const CHUNK: u64 = 64 * 1024;
    let mut pos = file.seek(SeekFrom::End(0)).map_err(io)?;
    let mut chunks = Vec::new();
    let mut newlines = 0usize;
    // n records need n + 1 newlines before the end unless the file starts first.
    while pos > 0 && newlines <= n {
        let start = pos.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; (pos - start) as usize];
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        file.read_exact(&mut chunk).map_err(io)?;
        newlines += chunk.iter().filter(|&&b| b == b'\n').count();
        chunks.push(chunk);
        pos = start;
    }
    let bytes: Vec<u8> = chunks.into_iter().rev().flatten().collect();
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let skip = lines.len().saturating_sub(n);
    lines[skip..]
        .iter()
        .map(|line| {
            serde_json::from_slice(line).map_err(|e| AuditError::Broken {
                path: path.to_owned(),
                line: 0,
                reason: format!("unreadable record near the end: {e}"),
            })
        })
        .collect()
}

/// Checks the whole chain; returns the number of records.
pub fn verify(path: &Path) -> Result<u64, AuditError> {
    let file = File::open(path).map_err(|source| AuditError::Io { path: path.to_owned(), source })?;
    let mut prev = GENESIS.to_owned();
    let mut count = 0u64;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line_no = index as u64 + 1;
        let broken = |reason: String| AuditError::Broken { path: path.to_owned(), line: line_no, reason };
        let line = line.map_err(|e| broken(e.to_string()))?;
        let record: AuditRecord = serde_json::from_str(&line).map_err(|e| broken(format!("unreadable record: {e}")))?;
        if record.seq != count {
            return Err(broken(format!("sequence {} where {count} was expected", record.seq)));
        }
        if record.prev != prev {
            return Err(broken("does not chain to the previous record".to_owned()));
        }
        if record_hash(record.seq, &record.at, &record.entry, &record.prev) != record.hash {
            return Err(broken("content does not match its hash".to_owned()));
        }
        prev = record.hash;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(query: &str) -> AuditEntry {
        AuditEntry {
            who: "cli:test".into(),
            action: "search".into(),
            query: Some(query.into()),
            filters: serde_json::json!({"municipality": "GM0344"}),
            hits: Some(3),
            refused: None,
        }
    }

    #[test]
    fn n_appends_give_n_verified_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit/audit.jsonl");
        for i in 0..5 {
            assert_eq!(append(&path, entry(&format!("q{i}"))).unwrap().seq, i);
        }
        assert_eq!(verify(&path).unwrap(), 5);
    }

    #[test]
    fn a_long_log_with_multibyte_queries_keeps_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        // Enough records that the 64 KiB tail window starts at every possible byte offset
        // inside the three-byte characters.
        for i in 0..400 {
            append(&path, entry(&format!("{} {i}", "één€".repeat(i % 7 + 20)))).unwrap();
        }
        assert_eq!(verify(&path).unwrap(), 400);
    }

    #[test]
    fn tail_reads_the_last_records_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        assert!(tail(&path, 10).unwrap().is_empty(), "no log, no records");
        for i in 0..300 {
            // Long enough that the tail spans several read chunks.
            append(&path, entry(&format!("{} {i}", "q".repeat(500)))).unwrap();
        }
        let last: Vec<u64> = tail(&path, 150).unwrap().iter().map(|r| r.seq).collect();
        assert_eq!(last, (150..300).collect::<Vec<u64>>());
        assert_eq!(tail(&path, 1000).unwrap().len(), 300);
        assert!(tail(&path, 0).unwrap().is_empty());
    }

    #[test]
    fn overlong_queries_are_recorded_cut_and_the_chain_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let record = append(&path, entry(&"(".repeat(100_000))).unwrap();
        let query = record.entry.query.unwrap();
        assert!(query.ends_with("[cut: 100000 characters in all]"), "{query}");
        assert!(query.len() < MAX_RECORDED_QUERY_CHARS + 100);
        append(&path, entry("next")).unwrap();
        assert_eq!(verify(&path).unwrap(), 2);
    }

    #[test]
    fn tampering_breaks_the_chain_at_that_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        for i in 0..3 {
            append(&path, entry(&format!("rellen {i}"))).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("rellen 1", "rellen X", 1)).unwrap();
        match verify(&path) {
            Err(AuditError::Broken { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a broken chain, got {other:?}"),
        }
        let lines: Vec<&str> = text.lines().collect();
        std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        assert!(matches!(verify(&path), Err(AuditError::Broken { line: 2, .. })), "a removed line is found");
    }
}
