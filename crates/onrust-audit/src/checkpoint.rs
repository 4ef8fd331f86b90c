//! The checkpoint beside the log: the sequence number and hash of the
//! newest record, replaced durably after every append (see the crate docs,
//! "The sealed tail").

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The newest record a writer sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
}

/// Where the checkpoint of the log at `log` lives: `<log>.head` beside it.
pub fn checkpoint_path(log: &Path) -> PathBuf {
    let mut name = log.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".head");
    log.with_file_name(name)
}

/// What was found where the checkpoint should be.
#[derive(Debug)]
pub(crate) enum Found {
    /// No checkpoint: a log from before checkpoints, or a new one.
    None,
    Sealed(Checkpoint),
    /// A file that is not a checkpoint: it cannot tell what was sealed.
    Unreadable(String),
}

pub(crate) fn read(log: &Path) -> std::io::Result<Found> {
    let bytes = match std::fs::read(checkpoint_path(log)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::None),
        Err(e) => return Err(e),
    };
    Ok(match serde_json::from_slice::<Checkpoint>(&bytes) {
        Ok(checkpoint) => Found::Sealed(checkpoint),
        Err(e) => Found::Unreadable(e.to_string()),
    })
}

/// Replaces the checkpoint (temporary file, fsync, rename, fsync of the folder; mode 0600).
pub(crate) fn write(log: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    let body = serde_json::to_vec(checkpoint).map_err(std::io::Error::other)?;
    onrust_durable::write_atomic(&checkpoint_path(log), &body)
}
