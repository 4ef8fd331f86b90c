//! The small JSON files the CLI keeps in the data dir and the daemon reads
//! (`onrust user`: accounts; `onrust feed`: subscriptions): one way to read
//! them (a missing file is an empty one), to check every entry with every
//! problem reported at once, and to write them owner-only and durably.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a stored file could not be read; the caller names the file.
pub(crate) enum ReadError {
    Io(std::io::Error),
    Parse(serde_json::Error),
}

/// The file's contents; the default (no entries) when it does not exist.
pub(crate) fn read<S: DeserializeOwned + Default>(path: &Path) -> Result<S, ReadError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(ReadError::Parse),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(S::default()),
        Err(e) => Err(ReadError::Io(e)),
    }
}

/// Every problem of a list: each entry `check` refuses, named by its place
/// and key (`users[2] ("oov")`), and each key used twice.
pub(crate) fn entry_problems<T>(
    list: &str,
    key_name: &str,
    entries: &[T],
    key: impl Fn(&T) -> &str,
    check: impl Fn(&T) -> Result<(), String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Err(e) = check(entry) {
            problems.push(format!("{list}[{i}] ({:?}): {e}", key(entry)));
        }
        if entries[..i].iter().any(|earlier| key(earlier) == key(entry)) {
            problems.push(format!("{list}[{i}]: the {key_name} {:?} is used twice", key(entry)));
        }
    }
    problems
}

/// Writes `contents` as pretty JSON, atomically and durably, readable by its
/// owner only, in an owner-only folder made if missing.
pub(crate) fn write<S: Serialize>(path: &Path, contents: &S) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        onrust_durable::create_private_dir_all(parent)?;
    }
    let mut bytes = serde_json::to_vec_pretty(contents).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    onrust_durable::write_private(path, &bytes)
}
