//! The one error type of the archive.

use std::path::PathBuf;

/// What went wrong in the archive. Messages are meant for the person running
/// onrust or the analyst searching: lowercase, plain, no trailing period.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Another writer holds the archive's lock (rule R7).
    #[error(
        "the archive at {} is in use by another onrust process (its writer lock is held); \
         stop that process or give this one another data_dir",
        dir.display()
    )]
    Locked { dir: PathBuf },

    /// There is no archive where a reader looked for one.
    #[error("no archive at {}; has onrust run yet?", dir.display())]
    NotFound { dir: PathBuf },

    /// The archive on disk was written with another schema than this build's.
    #[error(
        "the archive at {} was written by an onrust version with another schema or layout; \
         use that version, or move it away and rebuild the archive (onrust replay)",
        dir.display()
    )]
    SchemaMismatch { dir: PathBuf },

    /// The archive on disk is in another format than this build's
    /// ([`crate::FORMAT_VERSION`]): older, and `onrust archive
    /// migrate` converts it; or newer, and only a newer onrust reads it.
    #[error("{}", format_refusal(dir, *found, *expected))]
    Format { dir: PathBuf, found: u32, expected: u32 },

    /// The archive options are not usable.
    #[error("invalid archive options: {0}")]
    Options(String),

    /// A search request was refused before or while parsing (rule S7);
    /// the web layer answers 400 with this message.
    #[error("bad query: {0}")]
    BadQuery(String),

    /// A search ran past its time budget and was stopped (rule S7);
    /// the web layer answers 400: the way out is a narrower query.
    #[error(
        "the search took longer than its budget of {budget_ms} ms and was stopped; narrow it down with filters or fewer words"
    )]
    TooSlow { budget_ms: u64 },

    /// Retention could not record a deletion, so it deleted nothing more; the
    /// source is the recorder's error (the audit log's, in the daemon).
    #[error("retention stopped: cannot record the deletion: {0}")]
    Retention(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// Reading or writing the archive's files failed (disk full, permissions).
    #[error("archive i/o error: {0}")]
    Io(#[from] std::io::Error),

    /// Any other error from the index library. Built by
    /// [`ArchiveError::from_tantivy`] (no `From`, so that a held lock or an
    /// i/o error cannot slip past its own variant through `?`).
    #[error("archive index error: {0}")]
    Tantivy(#[source] tantivy::TantivyError),

    /// The index library could not open a bucket's directory.
    #[error("archive index error: {0}")]
    OpenDirectory(#[source] tantivy::directory::error::OpenDirectoryError),

    /// The archive's own bookkeeping or a stored document is not what it must
    /// be: a bug, or files changed underneath the archive.
    #[error("archive index error: {0}")]
    Inconsistent(String),

    /// A stored document does not convert to this build's schema during a
    /// migration: a field changed its type in a way the migration does not
    /// handle.
    #[error("archive index error: a stored document does not convert: {0}")]
    Unconvertible(#[source] tantivy::schema::DocParsingError),
}

fn format_refusal(dir: &std::path::Path, found: u32, expected: u32) -> String {
    if found < expected {
        format!(
            "the archive at {} is in format {found}, and this onrust reads format {expected} ({}); \
             stop the daemon and convert it with `onrust archive migrate`, or move it away to start a new archive",
            dir.display(),
            crate::layout::FORMAT_CHANGES
        )
    } else {
        format!(
            "the archive at {} is in format {found}, written by a newer onrust; this one reads format {expected}: \
             use the newer onrust",
            dir.display()
        )
    }
}

impl ArchiveError {
    /// Maps an index library error, turning a held writer lock into [`ArchiveError::Locked`].
    pub(crate) fn from_tantivy(error: tantivy::TantivyError, dir: &std::path::Path) -> Self {
        use tantivy::TantivyError;
        use tantivy::directory::error::LockError;
        match error {
            TantivyError::LockFailure(LockError::LockBusy, _) => Self::Locked { dir: dir.to_path_buf() },
            // the library shares its i/o error; keep it as the source, same kind and text
            TantivyError::IoError(io) => Self::Io(std::io::Error::new(io.kind(), io)),
            other => Self::Tantivy(other),
        }
    }
}
