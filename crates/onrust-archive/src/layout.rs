//! The archive directory on disk:
//!
//! ```text
//! <archive>/format                 the on-disk format's version (FORMAT_VERSION)
//! <archive>/writer.lock            held by the one writer (rule R7)
//! <archive>/buckets/week-2026-11-23/   one tantivy index per period
//! <archive>/buckets/.deleting-…    a bucket being removed by retention
//! ```

use onrust_durable::ExclusiveLock;
use std::path::{Path, PathBuf};

use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexSettings};

use crate::ArchiveError;
use crate::bucket::BucketId;
use crate::schema;

const DELETING: &str = ".deleting-";

/// The archive's on-disk format: what its analyzers index and which fields
/// it stores. A build reads and writes exactly this one; an archive in
/// another format is refused ([`ArchiveError::Format`]). Bump it with every
/// change to [`crate::schema`] or its analyzers, and say in
/// [`FORMAT_CHANGES`] what changed.
///
/// 1: the archive up to and including the first console (no `format` file).
/// 2: Dutch compounds indexed with their parts; the explanation stored.
pub const FORMAT_VERSION: u32 = 2;

/// What each format added, for the refusal message.
pub(crate) const FORMAT_CHANGES: &str =
    "format 2 indexes Dutch compounds with their parts (stikstof finds stikstofbeleid) and stores the explanation";

/// The file that names the format, in the archive's folder.
const FORMAT_FILE: &str = "format";

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub root: PathBuf,
    pub buckets: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout { root: root.to_path_buf(), buckets: root.join("buckets") }
    }

    pub fn bucket_dir(&self, id: BucketId) -> PathBuf {
        self.buckets.join(id.to_string())
    }

    /// Refuses the single-index layout of earlier builds rather than ignoring it.
    pub fn check_not_old(&self) -> Result<(), ArchiveError> {
        if self.root.join("index").join("meta.json").exists() {
            return Err(ArchiveError::SchemaMismatch { dir: self.root.clone() });
        }
        Ok(())
    }

    /// Checks the archive's format. An archive with buckets and no `format`
    /// file is format 1; one without buckets is new, and `create` writes this
    /// build's format into it (the writer does, a reader does not).
    pub fn check_format(&self, create: bool) -> Result<(), ArchiveError> {
        let path = self.root.join(FORMAT_FILE);
        let found = match std::fs::read_to_string(&path) {
            Ok(text) => parse_format(&text).ok_or_else(|| {
                ArchiveError::Inconsistent(format!(
                    "{} does not name a format (expected \"onrust-archive {FORMAT_VERSION}\")",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !self.list()?.is_empty() {
                    1
                } else if create {
                    onrust_durable::write_atomic(&path, format!("onrust-archive {FORMAT_VERSION}\n").as_bytes())?;
                    FORMAT_VERSION
                } else {
                    FORMAT_VERSION
                }
            }
            Err(e) => return Err(e.into()),
        };
        if found == FORMAT_VERSION {
            return Ok(());
        }
        Err(ArchiveError::Format { dir: self.root.clone(), found, expected: FORMAT_VERSION })
    }

    /// Whether the archive names its format (format 2 and later do).
    pub fn has_format_file(&self) -> bool {
        self.root.join(FORMAT_FILE).exists()
    }

    /// Records that the archive is in this build's format (after a migration).
    pub fn write_format(&self) -> Result<(), ArchiveError> {
        let path = self.root.join(FORMAT_FILE);
        onrust_durable::write_atomic(&path, format!("onrust-archive {FORMAT_VERSION}\n").as_bytes())?;
        Ok(())
    }

    /// Takes the archive's writer lock, or says who has it.
    pub fn lock(&self) -> Result<ExclusiveLock, ArchiveError> {
        ExclusiveLock::try_take(&self.root.join("writer.lock"))?
            .ok_or_else(|| ArchiveError::Locked { dir: self.root.clone() })
    }

    /// The buckets on disk, oldest first. Anything that is not a bucket's
    /// name (a bucket being deleted, a stray file) is skipped.
    pub fn list(&self) -> Result<Vec<(BucketId, PathBuf)>, ArchiveError> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.buckets) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let entry = entry?;
            let Some(id) = entry.file_name().to_str().and_then(BucketId::parse) else { continue };
            if entry.path().join("meta.json").exists() {
                out.push((id, entry.path()));
            }
        }
        out.sort_by_key(|(id, _)| *id);
        Ok(out)
    }

    /// Renames the bucket away in one step, then removes it.
    pub fn delete_bucket(&self, id: BucketId) -> Result<(), ArchiveError> {
        let doomed = self.buckets.join(format!("{DELETING}{id}"));
        std::fs::rename(self.bucket_dir(id), &doomed)?;
        std::fs::remove_dir_all(&doomed)?;
        Ok(())
    }

    /// Finishes removals a crash interrupted (their record is already written).
    pub fn finish_deletions(&self) -> Result<(), ArchiveError> {
        for entry in std::fs::read_dir(&self.buckets)? {
            let entry = entry?;
            if entry.file_name().to_str().is_some_and(|n| n.starts_with(DELETING)) {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        Ok(())
    }
}

/// `onrust-archive N` → N.
fn parse_format(text: &str) -> Option<u32> {
    text.trim().strip_prefix("onrust-archive ")?.trim().parse().ok()
}

/// Opens one bucket's index and checks its schema.
pub(crate) fn open_index(path: &Path, root: &Path) -> Result<Index, ArchiveError> {
    let directory = MmapDirectory::open(path).map_err(ArchiveError::OpenDirectory)?;
    let index = Index::open(directory).map_err(|e| ArchiveError::from_tantivy(e, root))?;
    let (expected, _) = schema::build_schema();
    schema::check_schema(&index, &expected, root)?;
    schema::register_tokenizers(&index);
    Ok(index)
}

/// Creates a bucket's index.
pub(crate) fn create_index(path: &Path, root: &Path) -> Result<Index, ArchiveError> {
    onrust_durable::create_private_dir_all(path)?;
    let directory = MmapDirectory::open(path).map_err(ArchiveError::OpenDirectory)?;
    let (schema, _) = schema::build_schema();
    let index =
        Index::create(directory, schema, IndexSettings::default()).map_err(|e| ArchiveError::from_tantivy(e, root))?;
    schema::register_tokenizers(&index);
    Ok(index)
}

/// Documents in the index's last commit (deleted ones not counted).
pub(crate) fn committed_docs(index: &Index, root: &Path) -> Result<u64, ArchiveError> {
    let metas = index.searchable_segment_metas().map_err(|e| ArchiveError::from_tantivy(e, root))?;
    Ok(metas.iter().map(|s| u64::from(s.num_docs())).sum())
}

/// Bytes of the files directly in `dir` (a tantivy index is flat).
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
