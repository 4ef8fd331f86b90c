//! Converting an archive of an older format to this build's
//! ([`crate::FORMAT_VERSION`]), bucket by bucket: `onrust archive migrate`.
//!
//! # Why it is built this way
//!
//! - **Re-indexed from what the archive stores.** The sources do not keep
//!   weeks of history, so an archive cannot be rebuilt from them; but every
//!   field a document needs is stored or a column (the author's pseudonym
//!   is a fast column only, and is carried over as that, rule L2). A
//!   migrated document has what a new one has, except the explanation,
//!   which format 1 did not keep.
//! - **One bucket at a time, each swapped in one step.** The new bucket is
//!   built beside the old one (`.migrating-<bucket>`) and committed with the
//!   old bucket's commit payload (the bus positions, rule R3); then the old
//!   one is renamed away (`.premigration-<bucket>`), the new one renamed in,
//!   and the old one removed. A crash at any point leaves every bucket whole:
//!   the next run finishes or undoes the swap it finds half done, skips the
//!   buckets already in this build's schema, and redoes the rest. The
//!   `format` file is written last, so nothing opens the archive before every
//!   bucket is converted.
//! - **The writer's lock** is held throughout (rule R7): it refuses while
//!   the daemon runs.

use std::path::{Path, PathBuf};

use onrust_model::Pseudonym;
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::Schema;
use tantivy::{Document, Index, TantivyDocument};

use crate::layout::{self, Layout};
use crate::schema::{self, Fields};
use crate::writer::ArchiveOptions;
use crate::{ArchiveError, FORMAT_VERSION};

const MIGRATING: &str = ".migrating-";
const PREMIGRATION: &str = ".premigration-";

/// What a migration did: each bucket converted, with its documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The format the archive was in.
    pub from: u32,
    /// Buckets converted now, with the documents each holds.
    pub converted: Vec<(String, u64)>,
}

/// Converts the archive in `dir` to this build's format; nothing to do when
/// it already is. Refused while another writer holds the archive.
pub fn migrate(
    dir: &Path,
    opts: &ArchiveOptions,
    mut progress: impl FnMut(&str, u64),
) -> Result<Migration, ArchiveError> {
    let layout = Layout::new(dir);
    layout.check_not_old()?;
    if !layout.buckets.is_dir() {
        return Err(ArchiveError::NotFound { dir: dir.to_path_buf() });
    }
    let _lock = layout.lock()?;
    let from = match layout.check_format(false) {
        Ok(()) if layout.has_format_file() => {
            return Ok(Migration { from: FORMAT_VERSION, converted: Vec::new() });
        }
        Ok(()) => FORMAT_VERSION,
        Err(ArchiveError::Format { found, .. }) if found < FORMAT_VERSION => found,
        Err(e) => return Err(e),
    };
    finish_swaps(&layout)?;
    let (expected, fields) = schema::build_schema();
    let mut converted = Vec::new();
    for (id, path) in layout.list()? {
        let old = open_any(&path, dir)?;
        if old.schema() == expected {
            continue;
        }
        let name = id.to_string();
        let fresh = layout.buckets.join(format!("{MIGRATING}{name}"));
        if fresh.exists() {
            std::fs::remove_dir_all(&fresh)?;
        }
        let docs = convert(&old, &fresh, &expected, &fields, opts, dir)?;
        let aside = layout.buckets.join(format!("{PREMIGRATION}{name}"));
        std::fs::rename(&path, &aside)?;
        std::fs::rename(&fresh, &path)?;
        onrust_durable::sync_dir(&layout.buckets)?;
        std::fs::remove_dir_all(&aside)?;
        progress(&name, docs);
        converted.push((name, docs));
    }
    layout.write_format()?;
    Ok(Migration { from, converted })
}

/// Opens a bucket whatever its schema.
fn open_any(path: &Path, root: &Path) -> Result<Index, ArchiveError> {
    let directory = MmapDirectory::open(path).map_err(ArchiveError::OpenDirectory)?;
    let index = Index::open(directory).map_err(|e| ArchiveError::from_tantivy(e, root))?;
    schema::register_tokenizers(&index);
    Ok(index)
}

/// Writes every live document of `old` into a new bucket at `fresh`; the
/// documents written.
fn convert(
    old: &Index,
    fresh: &Path,
    expected: &Schema,
    fields: &Fields,
    opts: &ArchiveOptions,
    root: &Path,
) -> Result<u64, ArchiveError> {
    let tantivy_err = |e| ArchiveError::from_tantivy(e, root);
    let index = layout::create_index(fresh, root)?;
    let options = IndexWriterOptions::builder()
        .memory_budget_per_thread(opts.writer_memory_bytes)
        .num_worker_threads(opts.writer_threads)
        .build();
    let mut writer = index.writer_with_options::<TantivyDocument>(options).map_err(tantivy_err)?;
    let old_schema = old.schema();
    let payload = old.load_metas().map_err(tantivy_err)?.payload;
    let reader = old.reader().map_err(tantivy_err)?;
    let searcher = reader.searcher();
    let mut docs = 0u64;
    for segment in searcher.segment_readers() {
        let store = segment.get_store_reader(16).map_err(ArchiveError::Io)?;
        let authors = segment.fast_fields().str(schema::AUTHOR).map_err(tantivy_err)?;
        let mut author = String::new();
        for doc_id in 0..segment.max_doc() {
            if segment.is_deleted(doc_id) {
                continue;
            }
            let stored: TantivyDocument = store.get(doc_id).map_err(tantivy_err)?;
            // Fields by name: a field added in this format moves the ids of those after it.
            let named = stored.to_named_doc(&old_schema);
            let renamed = TantivyDocument::convert_named_doc(expected, named).map_err(ArchiveError::Unconvertible)?;
            let mut message = crate::scan::to_message(fields, &renamed)?;
            let ord = authors.as_ref().and_then(|column| column.term_ords(doc_id).next());
            author.clear();
            if let (Some(column), Some(ord)) = (authors.as_ref(), ord)
                && column.ord_to_str(ord, &mut author).map_err(ArchiveError::Io)?
            {
                message.message.author = Some(Pseudonym::from_digest_hex(author.clone()));
            }
            writer.add_document(schema::to_document(fields, &message)).map_err(tantivy_err)?;
            docs += 1;
        }
    }
    let mut prepared = writer.prepare_commit().map_err(tantivy_err)?;
    if let Some(payload) = &payload {
        prepared.set_payload(payload);
    }
    prepared.commit().map_err(tantivy_err)?;
    writer.wait_merging_threads().map_err(tantivy_err)?;
    Ok(docs)
}

/// Finishes or undoes a swap a crash interrupted; removes half-built buckets.
fn finish_swaps(layout: &Layout) -> Result<(), ArchiveError> {
    let entries: Vec<(String, PathBuf)> = std::fs::read_dir(&layout.buckets)?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(|n| (n.to_owned(), e.path())))
        .collect();
    for (name, path) in &entries {
        let Some(bucket) = name.strip_prefix(PREMIGRATION) else { continue };
        let live = layout.buckets.join(bucket);
        let fresh = layout.buckets.join(format!("{MIGRATING}{bucket}"));
        if live.exists() {
            std::fs::remove_dir_all(path)?;
        } else if fresh.exists() {
            std::fs::rename(&fresh, &live)?;
            std::fs::remove_dir_all(path)?;
        } else {
            std::fs::rename(path, &live)?;
        }
    }
    for (name, path) in &entries {
        if name.starts_with(MIGRATING) && path.exists() {
            std::fs::remove_dir_all(path)?;
        }
    }
    onrust_durable::sync_dir(&layout.buckets)?;
    Ok(())
}
