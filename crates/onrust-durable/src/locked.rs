//! An append-only file that is also rewritten now and then (retention cuts
//! its oldest lines): appends and rewrites take the file's exclusive lock,
//! and a rewrite replaces the file by renaming a new one over it.
//!
//! A writer that opened the file and then waited for the lock may find,
//! once it has it, that the path names a new file: the one it locked is
//! gone, and what it appended there nobody would read. So
//! [`open_locked_append`] checks after locking that the path still names the
//! file it locked, and opens again if not.

use std::fs::File;
use std::io;
use std::path::Path;

/// How often [`open_locked_append`] opens again when the file it locked was replaced meanwhile.
const REOPEN_ATTEMPTS: u32 = 100;

/// Opens `path` for reading and appending (created 0600 if missing, see
/// [`crate::open_private_append`]) and holds its exclusive lock until the
/// file is dropped. The returned file is the one the path names.
pub fn open_locked_append(path: &Path) -> io::Result<File> {
    for _ in 0..REOPEN_ATTEMPTS {
        let file = crate::open_private_append(path)?;
        file.lock()?;
        if still_named(&file, path)? {
            return Ok(file);
        }
    }
    Err(io::Error::other("the file was replaced again and again while waiting for its lock"))
}

/// Whether `path` still names the file `file` is open on (same device and inode).
fn still_named(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_writer_that_waited_while_the_file_was_replaced_appends_to_the_new_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("letters.jsonl");
        let held = open_locked_append(&path).expect("lock");
        let waiting = {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut file = open_locked_append(&path).expect("lock after the rewrite");
                file.write_all(b"after\n").expect("append");
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        crate::write_atomic(&path, b"kept\n").expect("rewrite under the lock");
        drop(held);
        waiting.join().expect("writer");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "kept\nafter\n");
    }
}
