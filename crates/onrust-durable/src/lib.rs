//! Durable file writes: every piece of state onrust keeps (cursors, keys,
//! the alert state, the outbox, tombstones, the Bluesky sent record) is saved
//! through [`write_atomic`], so there is one fsync policy to reason about.
//!
//! # The policy
//!
//! A file is replaced whole or not at all, and once [`write_atomic`] returns
//! `Ok` the new content survives a power cut:
//!
//! 1. the bytes go to a temporary file in the same folder (a rename is only
//!    atomic within one file system), named `.<name>.tmp`, hidden from
//!    anything that lists the folder's state files;
//! 2. the temporary file is fsynced (`sync_all`), so its data and length
//!    are on disk before any name points at it;
//! 3. it is renamed over the target, which readers see as one step: the old
//!    content or the new, never a mix;
//! 4. the folder is fsynced, so the rename itself is durable. A failure here
//!    is returned like any other: the caller must not acknowledge work whose
//!    record may still vanish (R1).
//!
//! A crash before step 3 leaves a stray temporary file, which the next write
//! overwrites. Appending writers (the audit log, the notification log) use
//! [`sync_dir`] after creating a file for the same reason as step 4.
//!
//! Every file written here is 0600, and [`private`] holds the helpers that
//! create the data dir's other files and folders owner-only (0600 in 0700)
//! whatever the umask, tighten an older data dir, and refuse a secret file
//! that others can read.

mod exclusive;
mod locked;
pub mod private;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use exclusive::ExclusiveLock;
pub use locked::open_locked_append;
pub use private::{
    PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, SecretFileError, Tightened, check_secret_file, create_private,
    create_private_dir_all, create_private_new, open_private_append, tighten_tree,
};

/// Replaces `path` with `bytes` atomically and durably (see the crate docs),
/// as a file only its owner may read (mode 0600 on Unix). The folder must
/// exist. An error names no path; callers add the one they wrote, as their
/// error types already do.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temporary_path(path)?;
    // Restricted before the first byte is written (a stray temporary file
    // from a crash included), so the content is never readable by others.
    let written = create_private(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_of(path))
}

/// [`write_atomic`], named for what it keeps: hashes of secrets, accounts.
/// Every atomic write is owner-only now; this name says so where it matters most.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, bytes)
}

/// Makes the entries of `dir` durable: new, renamed or removed files.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `.<name>.tmp` beside `path`.
fn temporary_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path to write names no file"))?;
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(".tmp");
    Ok(path.with_file_name(tmp))
}

/// The folder a file is in; `.` for a bare file name.
fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        write_atomic(&path, b"a much longer first version").expect("first write");
        write_atomic(&path, b"second").expect("second write");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, ["state.json"], "only the target remains");
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_its_owners_only_even_over_a_stray_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feeds.json");
        let stray = dir.path().join(".feeds.json.tmp");
        std::fs::write(&stray, b"left by a crash").expect("stray");
        std::fs::set_permissions(&stray, std::fs::Permissions::from_mode(0o644)).expect("mode");
        write_private(&path, b"{}").expect("write");
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).expect("read"), b"{}");
    }

    #[test]
    fn a_failed_write_keeps_the_old_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cursor.json");
        write_atomic(&path, b"old").expect("first write");
        // The temporary name is taken by a folder: creating it fails, the target is untouched.
        std::fs::create_dir(dir.path().join(".cursor.json.tmp")).expect("block the temporary name");
        assert!(write_atomic(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
    }

    #[cfg(unix)]
    #[test]
    fn what_is_written_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"old").expect("an older, open file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_atomic(&path, b"new").expect("write");
        assert_eq!(std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_missing_folder_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = write_atomic(&dir.path().join("absent/state.json"), b"x").expect_err("no folder");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(write_atomic(Path::new("/"), b"x").is_err(), "a path without a file name");
    }
}
