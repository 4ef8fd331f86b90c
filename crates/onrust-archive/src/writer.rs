//! The single writer of an archive.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use onrust_model::ScoredMessage;
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::{Index, IndexSettings, IndexWriter, TantivyDocument, Term};

use crate::internal_events::{ArchiveOpened, CommitFailed, CommitSucceeded};
use crate::schema::{self, Fields};
use crate::{ArchiveError, index_dir};

/// How the writer uses memory and threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// Indexing memory per indexing thread, in bytes (at least 15 MB); a
    /// thread that fills it writes a segment to disk (not yet committed).
    pub writer_memory_bytes: usize,
    /// Indexing threads.
    pub writer_threads: usize,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        Self { writer_memory_bytes: 50_000_000, writer_threads: 1 }
    }
}

/// What a successful commit made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// Upserts in this commit (a message upserted twice counts twice).
    pub docs: u64,
    /// Documents in the archive after the commit.
    pub total_docs: u64,
    pub duration: Duration,
}

/// The one writer of an archive; it lives as long as the process. It holds
/// the archive's lock: a second writer, in this process or another, gets
/// [`ArchiveError::Locked`] (GUARDRAILS R7).
pub struct ArchiveWriter {
    dir: PathBuf,
    index: Index,
    writer: IndexWriter<TantivyDocument>,
    fields: Fields,
    pending: u64,
    payload: Option<String>,
}

impl std::fmt::Debug for ArchiveWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveWriter").field("dir", &self.dir).field("pending", &self.pending).finish_non_exhaustive()
    }
}

impl ArchiveWriter {
    /// Opens the archive in `dir` for writing, creating it if missing.
    pub fn open(dir: &Path, opts: &ArchiveOptions) -> Result<ArchiveWriter, ArchiveError> {
        if opts.writer_threads == 0 {
            return Err(ArchiveError::Options("writer_threads must be at least 1".into()));
        }
        let path = index_dir(dir);
        std::fs::create_dir_all(&path)?;
        let tantivy_err = |e| ArchiveError::from_tantivy(e, dir);
        let directory = MmapDirectory::open(&path).map_err(|e| ArchiveError::Tantivy(e.to_string()))?;
        let (expected, fields) = schema::build_schema();
        let created = !Index::exists(&directory).map_err(|e| ArchiveError::Tantivy(e.to_string()))?;
        let index = if created {
            Index::create(directory, expected, IndexSettings::default()).map_err(tantivy_err)?
        } else {
            let index = Index::open(directory).map_err(tantivy_err)?;
            schema::check_schema(&index, &expected, dir)?;
            index
        };
        schema::register_tokenizers(&index);
        let options = IndexWriterOptions::builder()
            .memory_budget_per_thread(opts.writer_memory_bytes)
            .num_worker_threads(opts.writer_threads)
            .build();
        let writer = index.writer_with_options(options).map_err(tantivy_err)?;
        let metas = index.load_metas().map_err(tantivy_err)?;
        let total_docs = metas.segments.iter().map(|s| u64::from(s.num_docs())).sum();
        ArchiveOpened { dir, total_docs, created }.emit();
        Ok(ArchiveWriter { dir: dir.to_path_buf(), index, writer, fields, pending: 0, payload: metas.payload })
    }

    /// The archive directory this writer holds.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Upserts since the last commit.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Adds `msg`, replacing any document with the same id (also one added
    /// earlier in this uncommitted batch). Nothing is durable, or visible to
    /// readers, before [`ArchiveWriter::commit`].
    pub fn upsert(&mut self, msg: &ScoredMessage) -> Result<(), ArchiveError> {
        self.writer.delete_term(Term::from_field_text(self.fields.id, msg.message.id.as_str()));
        self.writer.add_document(schema::to_document(&self.fields, msg)).map_err(|e| self.map_err(e))?;
        self.pending += 1;
        Ok(())
    }

    /// Makes every upsert since the last commit durable (fsynced) and visible.
    /// Acknowledge the batch's messages only after this returns `Ok`. Keeps
    /// the last payload (see [`ArchiveWriter::commit_with_payload`]).
    ///
    /// On `Err` nothing of the batch may be acknowledged; the daemon stops
    /// (GUARDRAILS R6) and, after a restart, the bus redelivers the batch,
    /// which the upserts make harmless.
    pub fn commit(&mut self) -> Result<CommitInfo, ArchiveError> {
        let payload = self.payload.clone();
        self.commit_inner(payload)
    }

    /// Like [`ArchiveWriter::commit`], and stores `payload` (the consumed bus
    /// positions, GUARDRAILS R3) atomically with the documents.
    pub fn commit_with_payload(&mut self, payload: &str) -> Result<CommitInfo, ArchiveError> {
        self.commit_inner(Some(payload.to_owned()))
    }

    /// The payload of the last commit, if any.
    pub fn last_payload(&self) -> Option<String> {
        self.payload.clone()
    }

    /// Drops every upsert since the last commit.
    pub fn rollback(&mut self) -> Result<(), ArchiveError> {
        self.writer.rollback().map_err(|e| self.map_err(e))?;
        self.pending = 0;
        Ok(())
    }

    fn commit_inner(&mut self, payload: Option<String>) -> Result<CommitInfo, ArchiveError> {
        let started = Instant::now();
        let docs = self.pending;
        match self.try_commit(payload.as_deref()) {
            Ok(total_docs) => {
                let duration = started.elapsed();
                self.pending = 0;
                self.payload = payload;
                CommitSucceeded { docs, total_docs, duration }.emit();
                Ok(CommitInfo { docs, total_docs, duration })
            }
            Err(error) => {
                CommitFailed { docs, error: &error, duration: started.elapsed() }.emit();
                Err(error)
            }
        }
    }

    fn try_commit(&mut self, payload: Option<&str>) -> Result<u64, ArchiveError> {
        let mut prepared = self.writer.prepare_commit().map_err(|e| ArchiveError::from_tantivy(e, &self.dir))?;
        if let Some(payload) = payload {
            prepared.set_payload(payload);
        }
        prepared.commit().map_err(|e| ArchiveError::from_tantivy(e, &self.dir))?;
        let metas = self.index.searchable_segment_metas().map_err(|e| self.map_err(e))?;
        Ok(metas.iter().map(|s| u64::from(s.num_docs())).sum())
    }

    fn map_err(&self, e: tantivy::TantivyError) -> ArchiveError {
        ArchiveError::from_tantivy(e, &self.dir)
    }
}
