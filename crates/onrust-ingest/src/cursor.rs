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
//!
//! Dedup keys are kept as [`stored_key`]s: a feed's guid or link can name a
//! person (`https://www.reddit.com/user/name/…`), and a cursor file is no
//! place for a handle (rule L2). A file written before keys were hashed is
//! migrated when it is loaded.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs;
use std::path::PathBuf;

use onrust_model::SourceId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// Dedup keys already delivered, as [`stored_key`]s, oldest first, bounded.
    pub seen: VecDeque<String>,
    /// Why the source is disabled (e.g. "410 gone"), if it is.
    pub disabled_reason: Option<String>,
    /// Where a kind stands in its streams, by stream: the newest Mastodon
    /// status id per tag query, the newest Telegram post id, the Jetstream
    /// time cursor. Empty for feeds.
    pub positions: BTreeMap<String, String>,
}

/// Key prefixes kept as they are: a Mastodon status (`status:<host>/<id>`,
/// read back by its kind, naming nobody) and keys that are digests already.
const KEPT_AS_IS: [&str; 5] = ["status:", "sha256:", "hash:", "idh:", "linkh:"];

/// What a cursor keeps of a dedup key: a key that may carry a guid or a link
/// becomes `sha256:<hex>` of it; the forms in `KEPT_AS_IS` stay. The same key
/// always gives the same stored key, and a stored key gives itself.
pub fn stored_key(key: &str) -> Cow<'_, str> {
    if KEPT_AS_IS.iter().any(|prefix| key.starts_with(prefix)) {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes()))))
    }
}

impl SourceCursor {
    /// Was this dedup key delivered before?
    pub fn has_seen(&self, key: &str) -> bool {
        let stored = stored_key(key);
        self.seen.iter().any(|k| *k == stored)
    }

    /// The stored keys of `seen`, for many look-ups (see [`stored_key`]).
    pub fn seen_set(&self) -> HashSet<&str> {
        self.seen.iter().map(String::as_str).collect()
    }

    /// Keeps every key in `seen` as its [`stored_key`], in order, once:
    /// cursors written before keys were hashed hold them in plain text.
    fn migrate(&mut self) {
        if self.seen.iter().all(|k| matches!(stored_key(k), Cow::Borrowed(_))) {
            return;
        }
        let mut done = HashSet::new();
        let keys: VecDeque<String> = std::mem::take(&mut self.seen)
            .into_iter()
            .map(|k| stored_key(&k).into_owned())
            .rev()
            .filter(|k| done.insert(k.clone()))
            .collect();
        self.seen = keys.into_iter().rev().collect();
    }

    /// Remembers dedup keys (as [`stored_key`]s) as the most recent, dropping
    /// the oldest beyond `max_seen`. A key seen again moves to the back, so
    /// items still in the feed are never forgotten while older ones age out.
    pub fn remember(&mut self, keys: Vec<String>, max_seen: usize) {
        let keys: Vec<String> = keys.iter().map(|k| stored_key(k).into_owned()).collect();
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
    #[error("cursor file {path} is corrupt: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser found wrong.
        source: serde_json::Error,
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
        let mut cursor: SourceCursor =
            serde_json::from_slice(&bytes).map_err(|e| CursorError::Corrupt { path, source: e })?;
        cursor.migrate();
        Ok(Some(cursor))
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
        let stored: Vec<String> = ["k7", "k8", "k9", "k5", "n1"].map(|k| stored_key(k).into_owned()).to_vec();
        assert_eq!(cursor.seen, stored);
        store.store(&id, &cursor).unwrap();
        assert_eq!(store.load(&id).unwrap(), Some(cursor));
    }

    /// Guids and links can name a person: a cursor file keeps their digests
    /// only, and one written before that is migrated when loaded (L2).
    #[test]
    fn keys_are_hashed_and_old_cursor_files_are_migrated_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::new(dir.path()).unwrap();
        let id = SourceId::new("reddit-utrecht").unwrap();
        let guid = "id:https://www.reddit.com/user/canary_name_31/comments/abc/titel/";
        let old = serde_json::json!({
            "url": "https://www.reddit.com/r/utrecht/.rss",
            "seen": [guid, "link:https://t.me/canary_name_31/5", "status:mastodon.nl/113500000000000103", guid],
            "positions": {}
        });
        fs::write(store.path(&id), serde_json::to_vec_pretty(&old).unwrap()).unwrap();
        let cursor = store.load(&id).unwrap().unwrap();
        assert!(cursor.has_seen(guid), "what was delivered stays known");
        assert!(cursor.has_seen("link:https://t.me/canary_name_31/5"));
        assert_eq!(cursor.seen.len(), 3, "a key twice is kept once: {:?}", cursor.seen);
        assert_eq!(cursor.seen[1], "status:mastodon.nl/113500000000000103", "mastodon keys stay readable");
        assert_eq!(cursor.url.as_deref(), Some("https://www.reddit.com/r/utrecht/.rss"));
        store.store(&id, &cursor).unwrap();
        let text = fs::read_to_string(store.path(&id)).unwrap();
        assert!(!text.contains("canary_name_31"), "a handle in the cursor file:\n{text}");
        assert_eq!(store.load(&id).unwrap(), Some(cursor.clone()), "migrating twice changes nothing");

        let mut fresh = SourceCursor::default();
        fresh.remember(vec![guid.to_owned(), "hash:0a1b".to_owned()], 10);
        assert!(fresh.has_seen(guid) && fresh.has_seen("hash:0a1b"));
        assert!(fresh.seen.iter().all(|k| !k.contains("canary_name_31")));
        assert_eq!(stored_key(&stored_key(guid)), stored_key(guid), "a stored key gives itself");
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
