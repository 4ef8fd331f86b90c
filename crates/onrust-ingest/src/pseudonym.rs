//! Keyed pseudonyms of authors (rule L2).
//!
//! A pseudonym is `hex(HMAC-SHA256(key, "platform:author"))` with one random
//! 32-byte key per period (e.g. 28 days). Within a period the same author maps
//! to the same pseudonym, so distinct authors can be counted; across periods
//! the pseudonyms are unlinkable, and deleting old key files
//! ([`PseudonymKeys::purge_older_than`]) makes old pseudonyms unlinkable for
//! good. Keys live in `pseudonym-<period>.key` (mode 0600, directory 0700) and
//! are created atomically: written to a temporary file, synced, then
//! hard-linked into place, which fails if another process won the race, in
//! which case its key is used. File IO happens only once per period (keys are
//! cached), so the blocking calls are acceptable from async code.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use onrust_model::Pseudonym;
use rand::TryRngCore;
use sha2::Sha256;

const KEY_BYTES: usize = 32;

/// Why a key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// File system error on the key directory or a key file.
    #[error("pseudonym key {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The operating system gave no random bytes for a new key.
    #[error("no random bytes from the operating system for a new pseudonym key: {source}")]
    Entropy {
        /// The underlying error.
        source: rand::rand_core::OsError,
    },
    /// A key file does not hold exactly 32 bytes.
    #[error("pseudonym key {path} is corrupt: expected {KEY_BYTES} bytes, found {found_bytes}")]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// Its length.
        found_bytes: usize,
    },
    /// The period length is zero.
    #[error("pseudonym key period must be at least one second")]
    ZeroPeriod,
}

/// The per-period pseudonym keys in one directory.
#[derive(Debug)]
pub struct PseudonymKeys {
    dir: PathBuf,
    period_secs: i64,
    cache: Mutex<HashMap<i64, [u8; KEY_BYTES]>>,
}

impl PseudonymKeys {
    /// Opens (creating, mode 0700) the key directory; `period` is the rotation period.
    pub fn new(dir: impl Into<PathBuf>, period: Duration) -> Result<Self, KeyError> {
        let dir = dir.into();
        let period_secs = i64::try_from(period.as_secs()).unwrap_or(i64::MAX);
        if period_secs == 0 {
            return Err(KeyError::ZeroPeriod);
        }
        create_private_dir(&dir)?;
        Ok(Self { dir, period_secs, cache: Mutex::new(HashMap::new()) })
    }

    /// The period index of an instant: `unix_secs / period_secs`.
    pub fn period_of(&self, at: DateTime<Utc>) -> i64 {
        at.timestamp().div_euclid(self.period_secs)
    }

    /// `hex(HMAC-SHA256(key of the period of at, "platform:author"))`.
    pub fn pseudonymize(&self, platform: &str, author: &str, at: DateTime<Utc>) -> Result<Pseudonym, KeyError> {
        let key = self.key(self.period_of(at))?;
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
            // HMAC accepts keys of any length; this cannot happen.
            return Err(KeyError::Corrupt { path: self.dir.clone(), found_bytes: key.len() });
        };
        mac.update(platform.as_bytes());
        mac.update(b":");
        mac.update(author.as_bytes());
        Ok(Pseudonym::from_digest_hex(hex::encode(mac.finalize().into_bytes())))
    }

    /// Removes key files of periods before the last `keep_periods` (counting the current one).
    /// Returns the removed files.
    pub fn purge_older_than(&self, keep_periods: u64, now: DateTime<Utc>) -> Result<Vec<PathBuf>, KeyError> {
        let keep = i64::try_from(keep_periods.max(1)).unwrap_or(i64::MAX);
        let oldest_kept = self.period_of(now).saturating_sub(keep - 1);
        let entries = fs::read_dir(&self.dir).map_err(|source| KeyError::Io { path: self.dir.clone(), source })?;
        let mut removed = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| KeyError::Io { path: self.dir.clone(), source })?;
            let name = entry.file_name();
            let Some(period) = name.to_str().and_then(parse_key_name) else {
                continue;
            };
            if period < oldest_kept {
                let path = entry.path();
                fs::remove_file(&path).map_err(|source| KeyError::Io { path: path.clone(), source })?;
                removed.push(path);
            }
        }
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.retain(|period, _| *period >= oldest_kept);
        Ok(removed)
    }

    fn key_path(&self, period: i64) -> PathBuf {
        self.dir.join(format!("pseudonym-{period}.key"))
    }

    fn key(&self, period: i64) -> Result<[u8; KEY_BYTES], KeyError> {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(key) = cache.get(&period) {
            return Ok(*key);
        }
        let path = self.key_path(period);
        let key = match read_key(&path)? {
            Some(key) => key,
            None => self.create_key(&path)?,
        };
        cache.insert(period, key);
        Ok(key)
    }

    fn create_key(&self, path: &Path) -> Result<[u8; KEY_BYTES], KeyError> {
        let mut key = [0u8; KEY_BYTES];
        rand::rngs::OsRng.try_fill_bytes(&mut key).map_err(|source| KeyError::Entropy { source })?;
        let tmp = self.dir.join(format!(".pseudonym-tmp-{}-{:016x}", std::process::id(), rand::random::<u64>()));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KeyError::Io { path, source }
        };
        let mut file = private_file_options().open(&tmp).map_err(io(&tmp))?;
        file.write_all(&key).and_then(|()| file.sync_all()).map_err(io(&tmp))?;
        drop(file);
        let linked = fs::hard_link(&tmp, path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                onrust_durable::sync_dir(&self.dir).map_err(io(&self.dir))?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                read_key(path)?.ok_or_else(|| KeyError::Io { path: path.to_path_buf(), source: e })
            }
            Err(e) => Err(KeyError::Io { path: path.to_path_buf(), source: e }),
        }
    }
}

fn parse_key_name(name: &str) -> Option<i64> {
    name.strip_prefix("pseudonym-")?.strip_suffix(".key")?.parse().ok()
}

fn read_key(path: &Path) -> Result<Option<[u8; KEY_BYTES]>, KeyError> {
    match fs::read(path) {
        Ok(bytes) => {
            let found_bytes = bytes.len();
            let key: [u8; KEY_BYTES] =
                bytes.try_into().map_err(|_| KeyError::Corrupt { path: path.to_path_buf(), found_bytes })?;
            Ok(Some(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io { path: path.to_path_buf(), source }),
    }
}

fn private_file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| KeyError::Io { path: dir.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const PERIOD: Duration = Duration::from_secs(28 * 24 * 3600);

    #[test]
    fn same_period_same_pseudonym_other_period_other() {
        let dir = tempfile::tempdir().unwrap();
        let keys = PseudonymKeys::new(dir.path().join("keys"), PERIOD).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 6, 14, 10, 0, 0).unwrap();
        let a = keys.pseudonymize("feed", "canary-author", t).unwrap();
        let b = keys.pseudonymize("feed", "canary-author", t + chrono::Duration::seconds(1)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, keys.pseudonymize("feed", "someone-else", t).unwrap());
        assert_ne!(a, keys.pseudonymize("mastodon", "canary-author", t).unwrap());
        let later = keys.pseudonymize("feed", "canary-author", t + chrono::Duration::days(60)).unwrap();
        assert_ne!(a, later);
        assert!(!a.as_str().contains("canary"));
        assert_eq!(a.as_str().len(), 64);

        // A second instance over the same directory reads the same key.
        let again = PseudonymKeys::new(dir.path().join("keys"), PERIOD).unwrap();
        assert_eq!(again.pseudonymize("feed", "canary-author", t).unwrap(), a);
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys");
        let keys = PseudonymKeys::new(&keys_dir, PERIOD).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 6, 14, 10, 0, 0).unwrap();
        keys.pseudonymize("feed", "x", t).unwrap();
        let path = keys.key_path(keys.period_of(t));
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(&keys_dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(fs::read_dir(&keys_dir).unwrap().count(), 1, "no temp files left behind");
    }

    #[test]
    fn purge_removes_old_periods() {
        let dir = tempfile::tempdir().unwrap();
        let keys = PseudonymKeys::new(dir.path(), PERIOD).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for i in 0..4 {
            keys.pseudonymize("feed", "x", t + chrono::Duration::days(28 * i)).unwrap();
        }
        let now = t + chrono::Duration::days(28 * 3);
        let removed = keys.purge_older_than(2, now).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn corrupt_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let keys = PseudonymKeys::new(dir.path(), PERIOD).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        fs::write(keys.key_path(keys.period_of(t)), b"short").unwrap();
        assert!(matches!(keys.pseudonymize("feed", "x", t), Err(KeyError::Corrupt { .. })));
    }
}
