//! The posts this source has sent downstream, remembered durably, so a
//! deletion is forwarded only for a post onrust may hold (rule L3).
//!
//! The record is a file beside the cursor, `<cursor dir>/<source>.sent`: one
//! line per sent message id, 16 lowercase hex digits, the first 64 bits of
//! the SHA-256 of the id. A message id is itself a hash of the post's AT URI,
//! so the file reveals nothing the archive does not already hold, and a
//! 64-bit digest keeps it small (17 bytes a post). A collision, about 1 in
//! 10^7 at a million entries, forwards one deletion of a post never sent,
//! which sinks ignore.
//!
//! Lines are appended (one buffered write and an fsync per batch with posts)
//! and loaded into a set at start. The set is bounded: beyond `capacity`
//! entries the oldest half is forgotten and the file rewritten atomically
//! (temporary file, fsync, rename, directory fsync); a deletion of a post
//! forgotten that way is dropped. A crash in the middle of an append leaves a
//! torn last line, which is dropped at load (with the file rewritten); any
//! other damage makes the file corrupt: it is moved aside, and the source
//! starts with an empty record rather than failing.
//!
//! The file calls block; the source runs them on tokio's blocking pool.

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use onrust_model::{MessageId, SourceId};
use sha2::{Digest, Sha256};

use super::JetstreamSource;
use super::state::State;
use crate::internal_events::CursorProblem;
use crate::source::SourceContext;

/// Characters of one entry, without its newline.
const ENTRY_CHARS: usize = 16;

/// Why the record could not be read or written. Names the file, never an entry.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SentError {
    /// File system error.
    #[error("sent ids file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file holds something other than entries.
    #[error("sent ids file {path} is corrupt at line {line}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The first bad line, counted from 1.
        line: usize,
    },
}

/// The sent ids in memory, with what still has to reach the file.
pub(crate) struct SentIds {
    path: PathBuf,
    capacity: usize,
    set: HashSet<u64>,
    /// The entries, oldest first.
    order: VecDeque<u64>,
    /// Entries not yet appended to the file.
    unsaved: Vec<u64>,
    /// The file must be rewritten from `order` (after a compaction, a torn or
    /// corrupt file, or a failed write).
    rewrite: bool,
    /// The file could not be read nor moved aside: only ever append to it,
    /// so what it holds is never overwritten by a record that lacks it.
    no_rewrite: bool,
}

/// One write to run on the blocking pool.
pub(crate) enum SentWrite {
    /// Append these entries.
    Append(PathBuf, Vec<u64>),
    /// Replace the file with these entries.
    Rewrite(PathBuf, Vec<u64>),
}

/// What loading found wrong, to be reported; the record starts empty (or without a torn line).
pub(crate) struct LoadProblem {
    /// What was wrong.
    pub error: SentError,
    /// What was done about it.
    pub action: &'static str,
}

impl SentIds {
    /// The record's file for `source`: beside its cursor file.
    pub(crate) fn path_for(cursor_file: &Path, source: &SourceId) -> PathBuf {
        let name = format!("{source}.sent");
        match cursor_file.parent() {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        }
    }

    /// An empty record that will write `path` from scratch.
    pub(crate) fn empty(path: PathBuf, capacity: usize) -> Self {
        Self {
            path,
            capacity: capacity.max(2),
            set: HashSet::new(),
            order: VecDeque::new(),
            unsaved: Vec::new(),
            rewrite: true,
            no_rewrite: false,
        }
    }

    /// Loads the record (blocking). A missing file is an empty record; an
    /// unreadable or corrupt one gives an empty record and the problem (a
    /// corrupt one is moved aside to `<file>.corrupt`).
    pub(crate) fn load(path: PathBuf, capacity: usize) -> (Self, Option<LoadProblem>) {
        let mut sent = Self::empty(path, capacity);
        let bytes = match fs::read(&sent.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                sent.rewrite = false;
                return (sent, None);
            }
            Err(source) => {
                // Never overwrite what could not be read: move it aside, or
                // only append to it (no rewrite) when even that fails.
                let error = SentError::Io { path: sent.path.clone(), source };
                let action = match fs::rename(&sent.path, corrupt_path(&sent.path)) {
                    Ok(()) => "moved aside; starting with no sent ids",
                    Err(_) => {
                        sent.rewrite = false;
                        sent.no_rewrite = true;
                        "starting with no sent ids; new ones are appended, the file is not rewritten"
                    }
                };
                return (sent, Some(LoadProblem { error, action }));
            }
        };
        match parse(&bytes) {
            Ok((entries, torn)) => {
                sent.rewrite = false;
                for entry in entries {
                    sent.remember(entry);
                }
                sent.unsaved.clear();
                // A compaction at load already asked for a rewrite.
                sent.rewrite |= torn;
                (sent, None)
            }
            Err(line) => {
                let error = SentError::Corrupt { path: sent.path.clone(), line };
                let aside = corrupt_path(&sent.path);
                let action = match fs::rename(&sent.path, &aside) {
                    Ok(()) => "moved aside; starting with no sent ids",
                    Err(_) => "starting with no sent ids; the file is rewritten",
                };
                (sent, Some(LoadProblem { error, action }))
            }
        }
    }

    /// Was a message with this id sent (or put in a batch) before?
    pub(crate) fn contains(&self, id: &MessageId) -> bool {
        self.set.contains(&digest(id))
    }

    /// Remembers a message id as sent; the oldest half is forgotten when the record is full.
    pub(crate) fn insert(&mut self, id: &MessageId) {
        self.remember(digest(id));
    }

    fn remember(&mut self, entry: u64) {
        if !self.set.insert(entry) {
            return;
        }
        self.order.push_back(entry);
        self.unsaved.push(entry);
        if self.order.len() > self.capacity {
            let keep = self.capacity / 2;
            while self.order.len() > keep {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
            self.rewrite = true;
        }
    }

    /// The write that brings the file up to date, if one is due.
    pub(crate) fn take_write(&mut self) -> Option<SentWrite> {
        if self.rewrite && !self.no_rewrite {
            self.rewrite = false;
            self.unsaved.clear();
            return Some(SentWrite::Rewrite(self.path.clone(), self.order.iter().copied().collect()));
        }
        if self.unsaved.is_empty() {
            return None;
        }
        Some(SentWrite::Append(self.path.clone(), std::mem::take(&mut self.unsaved)))
    }

    /// A write failed (the file may hold a torn line): the next one rewrites it.
    pub(crate) fn write_failed(&mut self) {
        self.rewrite = true;
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

impl SentWrite {
    /// Runs the write (blocking): an append is flushed and fsynced; a rewrite
    /// goes through a temporary file, fsync, rename and a directory fsync.
    pub(crate) fn run(self) -> Result<(), SentError> {
        match self {
            Self::Append(path, entries) => append(&path, &entries),
            Self::Rewrite(path, entries) => rewrite(&path, &entries),
        }
    }
}

/// The entry of one message id: the first 64 bits of its SHA-256.
fn digest(id: &MessageId) -> u64 {
    let hash = Sha256::digest(id.as_str().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(first)
}

fn lines(entries: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * (ENTRY_CHARS + 1));
    for entry in entries {
        out.extend_from_slice(format!("{entry:016x}\n").as_bytes());
    }
    out
}

/// The entries of a file, and whether its last line was torn; `Err(line)` at the first bad line.
fn parse(bytes: &[u8]) -> Result<(Vec<u64>, bool), usize> {
    let mut entries = Vec::with_capacity(bytes.len() / (ENTRY_CHARS + 1));
    let mut rest = bytes;
    let mut line = 0;
    while !rest.is_empty() {
        line += 1;
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            // No newline: the last append was cut short (only it can be:
            // every earlier one was fsynced). Keep a whole entry, drop the rest
            // (a partial line, or the zeros a power loss can leave).
            if rest.len() == ENTRY_CHARS
                && let Some(entry) = std::str::from_utf8(rest).ok().and_then(|t| u64::from_str_radix(t, 16).ok())
            {
                entries.push(entry);
            }
            return Ok((entries, true));
        };
        let entry = &rest[..end];
        rest = &rest[end + 1..];
        if entry.len() != ENTRY_CHARS || !entry.iter().all(u8::is_ascii_hexdigit) {
            return Err(line);
        }
        let text = std::str::from_utf8(entry).map_err(|_| line)?;
        entries.push(u64::from_str_radix(text, 16).map_err(|_| line)?);
    }
    Ok((entries, false))
}

fn corrupt_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".corrupt");
    path.with_file_name(name)
}

fn append(path: &Path, entries: &[u64]) -> Result<(), SentError> {
    let io = |source| SentError::Io { path: path.to_path_buf(), source };
    let created = !path.exists();
    let mut file = onrust_durable::open_private_append(path).map_err(io)?;
    file.write_all(&lines(entries)).and_then(|()| file.sync_data()).map_err(io)?;
    if created && let Some(dir) = path.parent() {
        onrust_durable::sync_dir(dir).map_err(io)?;
    }
    Ok(())
}

fn rewrite(path: &Path, entries: &[u64]) -> Result<(), SentError> {
    onrust_durable::write_atomic(path, &lines(entries))
        .map_err(|source| SentError::Io { path: path.to_path_buf(), source })
}

impl JetstreamSource {
    /// Loads the record of sent ids off the runtime; a problem is reported and the record starts empty.
    pub(super) async fn load_sent(&self, ctx: &SourceContext) -> SentIds {
        let id = &self.settings.id;
        let path = SentIds::path_for(&ctx.cursors.path(id), id);
        let (fallback, capacity) = (path.clone(), self.max_sent);
        match tokio::task::spawn_blocking(move || SentIds::load(path, capacity)).await {
            Ok((sent, None)) => sent,
            Ok((sent, Some(problem))) => {
                CursorProblem { source: id, error: &problem.error, action: problem.action }.emit();
                sent
            }
            Err(_) => {
                let action = "starting with no sent ids; the file is rewritten";
                CursorProblem { source: id, error: &"loading the sent ids did not complete", action }.emit();
                SentIds::empty(fallback, capacity)
            }
        }
    }

    /// Appends the ids of the posts about to be sent to the record (or
    /// rewrites it), off the runtime. A failure is reported; the ids stay
    /// in memory and the next write rewrites the file.
    pub(super) async fn save_sent(&self, state: &mut State) -> Result<(), String> {
        let Some(write) = state.sent.take_write() else { return Ok(()) };
        let action = "sent ids not stored; the batch is not sent and will be read again";
        let source = &self.settings.id;
        let error = match tokio::task::spawn_blocking(move || write.run()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "writing the sent ids did not complete".to_owned(),
        };
        CursorProblem { source, error: &error, action }.emit();
        state.sent.write_failed();
        Err(format!("the record of sent posts could not be written: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: usize) -> MessageId {
        MessageId::derive(&SourceId::new("bsky").unwrap(), &format!("at://did:plc:x/app.bsky.feed.post/{n}"))
    }

    fn flush(sent: &mut SentIds) {
        if let Some(write) = sent.take_write() {
            write.run().unwrap();
        }
    }

    #[test]
    fn entries_survive_a_reload_and_appends_add_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bsky.sent");
        let (mut sent, problem) = SentIds::load(path.clone(), 100);
        assert!(problem.is_none() && sent.len() == 0);
        sent.insert(&id(1));
        sent.insert(&id(1));
        flush(&mut sent);
        sent.insert(&id(2));
        assert!(matches!(sent.take_write(), Some(SentWrite::Append(_, ref entries)) if entries.len() == 1));
        sent.insert(&id(3));
        flush(&mut sent);
        let text = fs::read_to_string(&path).unwrap();
        // Entry 2's append was taken and not run: the file has 1 and 3.
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().all(|l| l.len() == 16 && l.bytes().all(|b| b.is_ascii_hexdigit())));
        assert!(!text.contains("bsky") && !text.contains("did:"));
        let (sent, problem) = SentIds::load(path, 100);
        assert!(problem.is_none());
        assert!(sent.contains(&id(1)) && !sent.contains(&id(2)) && sent.contains(&id(3)));
        assert!(!sent.contains(&id(4)));
    }

    #[test]
    fn compaction_keeps_the_newest_half() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bsky.sent");
        let (mut sent, _) = SentIds::load(path.clone(), 4);
        for n in 1..=4 {
            sent.insert(&id(n));
            flush(&mut sent);
        }
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 4);
        sent.insert(&id(5));
        assert!(matches!(sent.take_write(), Some(SentWrite::Rewrite(_, ref entries)) if entries.len() == 2));
        sent.write_failed();
        flush(&mut sent);
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
        assert!(!dir.path().join(".bsky.sent.tmp").exists());
        let (sent, problem) = SentIds::load(path, 4);
        assert!(problem.is_none());
        assert_eq!(sent.len(), 2);
        assert!(sent.contains(&id(4)) && sent.contains(&id(5)));
        assert!((1..=3).all(|n| !sent.contains(&id(n))));
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_the_file_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bsky.sent");
        let (mut sent, _) = SentIds::load(path.clone(), 100);
        sent.insert(&id(1));
        flush(&mut sent);
        let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"0123ab").unwrap();
        let (mut sent, problem) = SentIds::load(path.clone(), 100);
        assert!(problem.is_none());
        assert!(sent.contains(&id(1)) && sent.len() == 1);
        sent.insert(&id(2));
        flush(&mut sent);
        let (sent, problem) = SentIds::load(path, 100);
        assert!(problem.is_none());
        assert!(sent.contains(&id(1)) && sent.contains(&id(2)) && sent.len() == 2);
    }

    #[test]
    fn an_unreadable_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be cannot be read; a non-empty
        // one in the aside name's place keeps it from being moved aside.
        let path = dir.path().join("bsky.sent");
        for taken in [&path, &dir.path().join("bsky.sent.corrupt")] {
            fs::create_dir(taken).unwrap();
            fs::write(taken.join("keep"), b"x").unwrap();
        }
        let (mut sent, problem) = SentIds::load(path.clone(), 4);
        assert!(problem.is_some());
        for n in 0..10 {
            sent.insert(&id(n));
        }
        // Past its capacity a readable record would be rewritten; this one is not.
        match sent.take_write() {
            Some(SentWrite::Rewrite(..)) => panic!("an unreadable record must not be rewritten"),
            Some(SentWrite::Append(..)) | None => {}
        }
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_and_the_record_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bsky.sent");
        fs::write(&path, b"0123456789abcdef\nnot an entry at all\n").unwrap();
        let (mut sent, problem) = SentIds::load(path.clone(), 100);
        let problem = problem.unwrap();
        assert!(problem.error.to_string().contains("bsky.sent is corrupt at line 2"), "{}", problem.error);
        assert_eq!(sent.len(), 0);
        assert!(dir.path().join("bsky.sent.corrupt").exists());
        sent.insert(&id(7));
        flush(&mut sent);
        let (sent, problem) = SentIds::load(path, 100);
        assert!(problem.is_none() && sent.contains(&id(7)));
        // Whatever the last append left without its newline is torn, not
        // corrupt: only that append was not yet fsynced. A whole entry is kept.
        assert_eq!(parse(b"0123456789abcdef\n01"), Ok((vec![0x0123_4567_89ab_cdef], true)));
        assert_eq!(parse(b"0123456789abcdef\n\0\0\0\0"), Ok((vec![0x0123_4567_89ab_cdef], true)));
        assert_eq!(
            parse(b"0123456789abcdef\nfedcba9876543210"),
            Ok((vec![0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210], true))
        );
        assert_eq!(parse(b"0123456789abcdef0"), Ok((vec![], true)));
        // A bad line before the last one is corruption.
        assert_eq!(parse(b"xyz\n0123456789abcdef\n"), Err(1));
    }
}
