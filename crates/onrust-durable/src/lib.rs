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

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` atomically and durably (see the crate docs).
/// The folder must exist. An error names no path; callers add the one they
/// wrote, as their error types already do.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_replacing(path, bytes, false)
}

/// [`write_atomic`] for a file only its owner may read (mode 0600 on Unix):
/// hashes of secrets, accounts. The temporary file is restricted before the
/// first byte is written, so there is no moment at which the content is
/// readable by others, whatever a stray temporary file allowed.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_replacing(path, bytes, true)
}

fn write_replacing(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let tmp = temporary_path(path)?;
    let written = File::create(&tmp).and_then(|mut file| {
        if private {
            restrict(&file)?;
        }
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

#[cfg(unix)]
fn restrict(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_file: &File) -> io::Result<()> {
    Ok(())
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

    #[test]
    fn a_missing_folder_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = write_atomic(&dir.path().join("absent/state.json"), b"x").expect_err("no folder");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(write_atomic(Path::new("/"), b"x").is_err(), "a path without a file name");
    }
}
