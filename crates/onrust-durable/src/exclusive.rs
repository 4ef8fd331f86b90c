//! One process's exclusive hold on a lock file: the archive's writer lock
//! and the outbox's.
//!
//! The lock is released by hand when the hold is dropped, not only by
//! closing the file. An advisory lock belongs to the open file, and a child
//! process forked meanwhile (any `Command::spawn`, until its exec closes
//! the inherited descriptors) shares that open file: closing ours would
//! leave the lock held for that moment, and reopening the archive or the
//! outbox in this process right then is refused as "locked". Unlocking
//! releases it for every holder of the open file at once.

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;

/// An exclusive lock on a file, held until dropped.
#[derive(Debug)]
pub struct ExclusiveLock {
    file: File,
}

impl ExclusiveLock {
    /// Takes the lock on `path` (created 0600 if missing), or `Ok(None)`
    /// when another holder has it.
    pub fn try_take(path: &Path) -> io::Result<Option<Self>> {
        let file = crate::open_private_append(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

impl Drop for ExclusiveLock {
    fn drop(&mut self) {
        // Nothing to do if it fails: closing the file releases it at the latest.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::ExclusiveLock;

    #[test]
    fn a_second_holder_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("writer.lock");
        let first = ExclusiveLock::try_take(&path).unwrap().expect("the first takes it");
        assert!(ExclusiveLock::try_take(&path).unwrap().is_none(), "a second is refused");
        drop(first);
        assert!(ExclusiveLock::try_take(&path).unwrap().is_some(), "free again once dropped");
    }

    /// What a forked child does between fork and exec: it holds a copy of
    /// the descriptor. Dropping the hold must free the lock all the same.
    #[test]
    fn dropping_frees_the_lock_while_a_copy_of_the_file_is_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.lock");
        let first = ExclusiveLock::try_take(&path).unwrap().expect("the first takes it");
        let copy = first.file.try_clone().unwrap();
        drop(first);
        assert!(ExclusiveLock::try_take(&path).unwrap().is_some(), "not held by the copy");
        drop(copy);
    }
}
