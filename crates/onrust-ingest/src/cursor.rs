//! Per-source cursors: what a feed source has already delivered.
//!
//! A cursor is stored only after the batch it describes was acknowledged
//! downstream (rule R1), and atomically: written to a temporary file,
//! fsynced, renamed over the old one, and the directory fsynced. A crash
//! leaves either the old or the new cursor, never half of one.
//!
//! A cursor that cannot be parsed is reported as [`CursorError::Corrupt`]
//! naming the file. The feed source then moves the file aside (to
//! `<source>.json.corrupt`), logs a warning and starts fresh: that re-sends
//! the items still in the feed, which is harmless because every sink is
//! idempotent by message id, while refusing to run would turn a damaged file
//! into silent loss of coverage.
//!
//! The file calls are blocking and keep the durability steps explicit; the
//! feed source calls them on tokio's blocking pool, and only when the cursor
//! changed.

use std::collections::{BTreeMap, VecDeque};
use std::fs;

use std::path::PathBuf;

use onrust_model::SourceId;
use serde::{Deserialize, Serialize};

use std::collections::HashSet;

/// Default bound on remembered dedup keys per source.
pub const DEFAULT_MAX_SEEN: usize = 5000;

/// The state of one source, whatever its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceCursor {
    /// The identity (URL; instance and tags) this cursor belongs to; validators and the disabled state apply only to it.
    pub url: Option<String>,
    /// The last `ETag`, exactly as received.
    pub etag: Option<String>,
    /// The last `Last-Modified`, exactly as received.
    pub last_modified: Option<String>,
    /// Dedup keys already delivered, oldest first, bounded.
    pub seen: VecDeque<String>,
    /// Why the source is disabled (e.g. "410 gone"), if it is.
    pub disabled_reason: Option<String>,
    /// Where a kind stands in its streams, by stream: the newest Mastodon
    /// status id per tag query, the newest Telegram post id, the Jetstream
    /// time cursor. Empty for feeds.
    pub positions: BTreeMap<String, String>,
}

impl SourceCursor {
    /// Was this key delivered before?
    pub fn has_seen(&self, key: &str) -> bool {
        self.seen.iter().any(|k| k == key)
    }

    /// Remembers keys as the most recent, dropping the oldest beyond `max_seen`.
    /// A key seen again moves to the back, so items still in the feed are never
    /// forgotten while older ones age out.
    pub fn remember(&mut self, keys: Vec<String>, max_seen: usize) {
        {
            let fresh: HashSet<&str> = keys.iter().map(String::as_str).collect();
            self.seen.retain(|k| !fresh.contains(k.as_str()));
        }
        self.seen.extend(keys);
        while self.seen.len() > max_seen {
            self.seen.pop_front();
        }
    }
}

/// Why a cursor could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    /// File system error.
    #[error("cursor file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file exists but is not a valid cursor.
    #[error("cursor file {path} is corrupt: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

/// The directory of cursor files, one `<source>.json` per source.
#[derive(Debug)]
pub struct CursorStore {
    dir: PathBuf,
}

impl CursorStore {
    /// Opens (creating, mode 0700) the cursor directory.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, CursorError> {
        let dir = dir.into();
        crate::pseudonym::create_private_dir(&dir).map_err(|e| match e {
            crate::pseudonym::KeyError::Io { path, source } => CursorError::Io { path, source },
            other => CursorError::Io { path: dir.clone(), source: std::io::Error::other(other.to_string()) },
        })?;
        Ok(Self { dir })
    }

    /// The file holding the cursor of `source`.
    pub fn path(&self, source: &SourceId) -> PathBuf {
        self.dir.join(format!("{source}.json"))
    }

    /// Loads the cursor of `source`; `None` if there is none yet.
    pub fn load(&self, source: &SourceId) -> Result<Option<SourceCursor>, CursorError> {
        let path = self.path(source);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CursorError::Io { path, source }),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| CursorError::Corrupt { path, message: e.to_string() })
    }

    /// Stores the cursor of `source` atomically and durably (`onrust_durable::write_atomic`).
    pub fn store(&self, source: &SourceId, cursor: &SourceCursor) -> Result<(), CursorError> {
        let path = self.path(source);
        let json = serde_json::to_vec_pretty(cursor)
            .map_err(|e| CursorError::Io { path: path.clone(), source: std::io::Error::other(e) })?;
        onrust_durable::write_atomic(&path, &json).map_err(|source| CursorError::Io { path, source })
    }

    /// Moves a corrupt cursor aside to `<file>.corrupt`, so the source can start fresh.
    pub fn quarantine(&self, source: &SourceId) -> Result<PathBuf, CursorError> {
        let path = self.path(source);
        let aside = path.with_extension("json.corrupt");
        fs::rename(&path, &aside).map_err(|e| CursorError::Io { path, source: e })?;
        Ok(aside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path().join("cursors")).unwrap();
        let id = SourceId::new("rtv").unwrap();
        assert_eq!(store.load(&id).unwrap(), None);
        let mut cursor = SourceCursor { etag: Some("W/\"abc\"".into()), ..Default::default() };
        cursor.remember((0..10).map(|i| format!("k{i}")).collect(), 5);
        assert_eq!(cursor.seen.len(), 5);
        assert!(cursor.has_seen("k9") && !cursor.has_seen("k0"));
        // Seen again: k5 moves to the back and survives the next eviction.
        cursor.remember(vec!["k5".into(), "n1".into()], 5);
        assert_eq!(cursor.seen, ["k7", "k8", "k9", "k5", "n1"]);
        store.store(&id, &cursor).unwrap();
        assert_eq!(store.load(&id).unwrap(), Some(cursor));
    }

    #[test]
    fn corrupt_cursor_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path()).unwrap();
        let id = SourceId::new("rtv").unwrap();
        fs::write(store.path(&id), b"{not json").unwrap();
        let err = store.load(&id).unwrap_err();
        assert!(err.to_string().contains("rtv.json"), "{err}");
        let aside = store.quarantine(&id).unwrap();
        assert!(aside.exists());
        assert_eq!(store.load(&id).unwrap(), None);
    }
}
