//! The single writer of an archive: routes each message to its time bucket,
//! commits every bucket it touched, and applies retention.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use onrust_model::{MessageId, ScoredMessage};
use rustc_hash::{FxHashSet, FxHasher};
use tantivy::indexer::IndexWriterOptions;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::bucket::{BucketId, Period};
use crate::internal_events::{
    ArchiveOpened, BucketDeleted, CommitFailed, CommitSucceeded, DuplicateRouted, ExpiredOnArrival,
    SourceDeletionApplied,
};
use crate::layout::{self, Layout};
use crate::schema::{self, Fields};
use crate::{ArchiveError, Deletion};

/// How the writer uses memory and threads, and how it buckets time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// Indexing memory per indexing thread, in bytes (at least 15 MB); a
    /// thread that fills it writes a segment to disk (not yet committed).
    pub writer_memory_bytes: usize,
    /// Indexing threads per open bucket.
    pub writer_threads: usize,
    /// The span of one bucket (one tantivy index).
    pub bucket: Period,
    /// Keep messages this long after they were fetched; a message that
    /// arrives older than this is not archived at all. `None` keeps everything.
    pub retention: Option<Duration>,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        Self { writer_memory_bytes: 50_000_000, writer_threads: 1, bucket: Period::Week, retention: None }
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

/// Open bucket writers at most; a message for yet another bucket commits and
/// closes the oldest one first. Two covers the common case: this period and
/// the one before it, around the turn of a period.
const MAX_OPEN_WRITERS: usize = 2;

/// How long after a bucket starts the writer still checks the previous
/// bucket for the same message id. A source re-fetches an item it could not
/// mark as done within minutes to hours; two days is ample.
const CROSS_BUCKET_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(48);

/// Ids deleted at their source that the writer remembers, so a message that
/// reaches the archive after its own deletion (it was still being classified)
/// is not archived. Oldest forgotten first. Sources send only deletions of
/// messages they delivered, so this is many weeks of them.
const MAX_TOMBSTONES: usize = 100_000;

/// Where the tombstones are kept, beside the buckets. Written before the
/// commit that records the deletions' bus positions, so a restart that
/// resumes past a deletion still knows it (on Kafka the message may still be
/// in the classifier's backlog then).
pub const TOMBSTONES_FILE: &str = "tombstones.json";

/// The tombstone file's content.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct TombstoneFile {
    v: u32,
    /// Message ids, oldest first.
    ids: Vec<String>,
}

struct BucketWriter {
    writer: IndexWriter<TantivyDocument>,
    /// Hashes of the ids upserted since the last commit, so a repeat that
    /// lands in another bucket is routed here instead.
    pending_ids: FxHashSet<u64>,
    /// The payload this bucket's last commit stored; kept on commits that set none.
    payload: Option<String>,
}

/// What the writer knows of one bucket on disk.
struct BucketState {
    index: Index,
    docs: u64,
    /// For the cross-bucket id check; opened on first need.
    lookup: Option<IndexReader>,
}

/// The stored tombstones, oldest first; none when the file is missing.
fn read_tombstones(path: &Path) -> Result<std::collections::VecDeque<String>, ArchiveError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(e.into()),
    };
    // Fail closed: without its tombstones the archive could keep what its authors deleted.
    let file: TombstoneFile = serde_json::from_slice(&bytes).map_err(|e| {
        ArchiveError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not a list of deleted message ids ({e}); move it aside to start without it", path.display()),
        ))
    })?;
    Ok(file.ids.into_iter().rev().take(MAX_TOMBSTONES).rev().collect())
}

impl BucketState {
    /// The bucket's reader for id checks, opened on first need; it sees what
    /// was committed when it was last reloaded (every commit of the bucket reloads it).
    fn lookup(&mut self, dir: &Path) -> Result<&IndexReader, ArchiveError> {
        if self.lookup.is_none() {
            let reader = self
                .index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
                .map_err(|e| ArchiveError::from_tantivy(e, dir))?;
            self.lookup = Some(reader);
        }
        self.lookup.as_ref().ok_or_else(|| ArchiveError::Inconsistent("bucket reader vanished".into()))
    }
}

/// The one writer of an archive; it lives as long as the process. It holds
/// the archive's lock: a second writer, in this process or another, gets
/// [`ArchiveError::Locked`] (rule R7).
pub struct ArchiveWriter {
    layout: Layout,
    opts: ArchiveOptions,
    fields: Fields,
    buckets: BTreeMap<BucketId, BucketState>,
    open: BTreeMap<BucketId, BucketWriter>,
    pending: u64,
    payload: Option<String>,
    /// Hashes of ids deleted at their source, oldest first (bounded, in memory).
    tombstones: FxHashSet<u64>,
    tombstone_order: std::collections::VecDeque<String>,
    /// Tombstones changed since the file was written.
    tombstones_dirty: bool,
    _lock: onrust_durable::ExclusiveLock,
}

impl std::fmt::Debug for ArchiveWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveWriter")
            .field("dir", &self.layout.root)
            .field("buckets", &self.buckets.len())
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

/// Whether the whole of `bucket` lies more than `max_age` before `now`.
fn past(bucket: BucketId, now: DateTime<Utc>, max_age: Duration) -> bool {
    let max_age = chrono::TimeDelta::from_std(max_age).unwrap_or(chrono::TimeDelta::MAX);
    now.checked_sub_signed(max_age).is_some_and(|cutoff| bucket.end() <= cutoff)
}

fn id_hash(id: &str) -> u64 {
    let mut h = FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

impl ArchiveWriter {
    /// Opens the archive in `dir` for writing, creating it if missing.
    pub fn open(dir: &Path, opts: &ArchiveOptions) -> Result<ArchiveWriter, ArchiveError> {
        if opts.writer_threads == 0 {
            return Err(ArchiveError::Options("writer_threads must be at least 1".into()));
        }
        if opts.writer_memory_bytes < 15_000_000 {
            return Err(ArchiveError::Options("writer_memory_bytes must be at least 15000000".into()));
        }
        let layout = Layout::new(dir);
        layout.check_not_old()?;
        onrust_durable::create_private_dir_all(&layout.buckets)?;
        let lock = layout.lock()?;
        layout.check_format(true)?;
        layout.finish_deletions()?;
        let (_, fields) = schema::build_schema();
        let mut buckets = BTreeMap::new();
        for (id, path) in layout.list()? {
            let index = layout::open_index(&path, dir)?;
            let docs = layout::committed_docs(&index, dir)?;
            buckets.insert(id, BucketState { index, docs, lookup: None });
        }
        let mut payload = None;
        for state in buckets.values().rev() {
            payload = state.index.load_metas().map_err(|e| ArchiveError::from_tantivy(e, dir))?.payload;
            if payload.is_some() {
                break;
            }
        }
        let tombstone_order = read_tombstones(&layout.root.join(TOMBSTONES_FILE))?;
        let writer = ArchiveWriter {
            layout,
            opts: opts.clone(),
            fields,
            buckets,
            open: BTreeMap::new(),
            pending: 0,
            payload,
            tombstones: tombstone_order.iter().map(|id| id_hash(id)).collect(),
            tombstone_order,
            tombstones_dirty: false,
            _lock: lock,
        };
        ArchiveOpened { dir, total_docs: writer.total_docs(), buckets: writer.buckets.len() }.emit();
        Ok(writer)
    }

    /// The archive directory this writer holds.
    pub fn dir(&self) -> &Path {
        &self.layout.root
    }

    /// Upserts since the last commit.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Committed documents in all buckets.
    pub fn total_docs(&self) -> u64 {
        self.buckets.values().map(|b| b.docs).sum()
    }

    /// The buckets on disk, oldest first.
    pub fn buckets(&self) -> Vec<BucketId> {
        self.buckets.keys().copied().collect()
    }

    /// Adds `msg` to the bucket of its fetch time, replacing any document
    /// with the same id (also one added earlier in this uncommitted batch,
    /// or one in the previous bucket around the turn of a period). Nothing
    /// is durable, or visible to readers, before [`ArchiveWriter::commit`].
    ///
    /// A message fetched longer ago than the retention is not archived; it
    /// is counted and `Ok` (it would be deleted at once).
    pub fn upsert(&mut self, msg: &ScoredMessage) -> Result<(), ArchiveError> {
        let now = Utc::now();
        // Our own fetch clock, but never ahead of now: a future bucket would
        // become the head and hold the commit payload.
        let fetched = msg.message.fetched_at.min(now);
        let home = BucketId::containing(self.opts.bucket, fetched);
        if self.expired(home, now) {
            ExpiredOnArrival.emit();
            return Ok(());
        }
        let id = msg.message.id.as_str();
        if self.tombstones.contains(&id_hash(id)) {
            SourceDeletionApplied { removed_from: 0, refused_later: true }.emit();
            return Ok(());
        }
        let target = self.route(home, fetched, id)?;
        self.ensure_open(target)?;
        let fields = self.fields;
        let Some(bucket) = self.open.get_mut(&target) else {
            return Err(ArchiveError::Inconsistent(format!("bucket {target} is not open")));
        };
        bucket.writer.delete_term(Term::from_field_text(fields.id, id));
        if let Err(e) = bucket.writer.add_document(schema::to_document(&fields, msg)) {
            // A dead indexing thread only says it was killed; joining it (what
            // a commit does first) gives its own error, e.g. a full disk.
            let cause = match bucket.writer.prepare_commit() {
                Err(cause) => cause,
                Ok(prepared) => {
                    let _ = prepared.abort();
                    e
                }
            };
            return Err(self.map_err(cause));
        }
        if let Some(bucket) = self.open.get_mut(&target) {
            bucket.pending_ids.insert(id_hash(id));
        }
        self.pending += 1;
        Ok(())
    }

    /// Removes the message `id` because it was deleted at its source (a
    /// Bluesky delete; L2, L3: what its author withdrew is not kept).
    /// Every bucket that holds it loses it at the next commit, and an upsert
    /// of the same id that arrives later in this process is refused (the
    /// message may still have been on its way through the classifier).
    /// Returns how many buckets held it.
    pub fn remove(&mut self, id: &MessageId) -> Result<usize, ArchiveError> {
        let id = id.as_str();
        let hash = id_hash(id);
        if self.tombstones.insert(hash) {
            self.tombstone_order.push_back(id.to_owned());
            self.tombstones_dirty = true;
            while self.tombstone_order.len() > MAX_TOMBSTONES {
                if let Some(old) = self.tombstone_order.pop_front() {
                    self.tombstones.remove(&id_hash(&old));
                }
            }
        }
        let term = Term::from_field_text(self.fields.id, id);
        let mut holding = Vec::new();
        for (bucket, writer) in &self.open {
            if writer.pending_ids.contains(&hash) {
                holding.push(*bucket);
            }
        }
        let dir = self.layout.root.clone();
        for (bucket, state) in &mut self.buckets {
            if holding.contains(bucket) {
                continue;
            }
            let lookup = state.lookup(&dir)?;
            let query = tantivy::query::TermQuery::new(term.clone(), tantivy::schema::IndexRecordOption::Basic);
            let found = lookup
                .searcher()
                .search(&query, &tantivy::collector::Count)
                .map_err(|e| ArchiveError::from_tantivy(e, &dir))?;
            if found > 0 {
                holding.push(*bucket);
            }
        }
        for bucket in &holding {
            self.ensure_open(*bucket)?;
            if let Some(open) = self.open.get_mut(bucket) {
                open.writer.delete_term(term.clone());
                // Marks the bucket as touched, so the next commit makes the deletion durable.
                open.pending_ids.insert(hash);
            }
        }
        SourceDeletionApplied { removed_from: holding.len(), refused_later: false }.emit();
        Ok(holding.len())
    }

    /// Makes every upsert since the last commit durable (fsynced) and visible.
    /// Acknowledge the batch's messages only after this returns `Ok`. Keeps
    /// the last payload (see [`ArchiveWriter::commit_with_payload`]).
    ///
    /// On `Err` nothing of the batch may be acknowledged; the daemon stops
    /// (rule R6) and, after a restart, the bus redelivers the batch,
    /// which the upserts make harmless.
    pub fn commit(&mut self) -> Result<CommitInfo, ArchiveError> {
        self.commit_inner(None)
    }

    /// Like [`ArchiveWriter::commit`], and stores `payload` (the consumed bus
    /// positions, rule R3) with the documents. The payload goes into
    /// the newest bucket, committed last: a crash between bucket commits
    /// leaves the old payload, so the bus redelivers and the upserts absorb it.
    pub fn commit_with_payload(&mut self, payload: &str) -> Result<CommitInfo, ArchiveError> {
        self.commit_inner(Some(payload.to_owned()))
    }

    /// The payload of the last commit that stored one, if any.
    pub fn last_payload(&self) -> Option<String> {
        self.payload.clone()
    }

    /// Drops every upsert since the last commit.
    pub fn rollback(&mut self) -> Result<(), ArchiveError> {
        for bucket in self.open.values_mut() {
            bucket.writer.rollback().map_err(|e| ArchiveError::from_tantivy(e, &self.layout.root))?;
            bucket.pending_ids.clear();
        }
        self.pending = 0;
        Ok(())
    }

    /// Deletes every bucket whose whole period ended more than `max_age`
    /// before `now` (rule L6). For each, `record` is called with the
    /// [`Deletion`] *before* the bucket is removed, so a deletion is never
    /// unrecorded; an `Err` from it stops retention with nothing of that
    /// bucket deleted. The directory is renamed away in one step (readers
    /// see the bucket whole or not at all), then removed. Re-running finds
    /// nothing more to do. Commit first: pending upserts in a deleted bucket
    /// are dropped.
    pub fn apply_retention<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
        &mut self,
        now: DateTime<Utc>,
        max_age: Duration,
        mut record: impl FnMut(&Deletion) -> Result<(), E>,
    ) -> Result<Vec<Deletion>, ArchiveError> {
        let expired: Vec<BucketId> = self.buckets.keys().copied().filter(|b| past(*b, now, max_age)).collect();
        let mut deleted = Vec::with_capacity(expired.len());
        for id in expired {
            let (docs, bytes) = match self.buckets.get(&id) {
                Some(state) => (state.docs, layout::dir_bytes(&self.layout.bucket_dir(id))),
                None => continue,
            };
            let deletion = Deletion {
                bucket: id.to_string(),
                period_start: id.start(),
                period_end: id.end(),
                documents: docs,
                bytes,
                deleted_at: now,
            };
            record(&deletion).map_err(|e| ArchiveError::Retention(e.into()))?;
            if let Some(mut open) = self.open.remove(&id) {
                self.pending = self.pending.saturating_sub(open.pending_ids.len() as u64);
                let _ = open.writer.rollback();
            }
            self.buckets.remove(&id);
            self.layout.delete_bucket(id)?;
            BucketDeleted { deletion: &deletion }.emit();
            deleted.push(deletion);
        }
        Ok(deleted)
    }

    fn expired(&self, bucket: BucketId, now: DateTime<Utc>) -> bool {
        self.opts.retention.is_some_and(|max_age| past(bucket, now, max_age))
    }

    /// The bucket an upsert of `id` goes to: its home, unless the same id is
    /// pending in another open bucket or, early in a period, already stored
    /// in the previous one. So one id lives in one bucket.
    fn route(&mut self, home: BucketId, fetched: DateTime<Utc>, id: &str) -> Result<BucketId, ArchiveError> {
        let hash = id_hash(id);
        if let Some((other, _)) = self.open.iter().find(|(b, w)| **b != home && w.pending_ids.contains(&hash)) {
            DuplicateRouted.emit();
            return Ok(*other);
        }
        if fetched - home.start() >= CROSS_BUCKET_WINDOW {
            return Ok(home);
        }
        let previous = home.previous();
        let dir = self.layout.root.clone();
        let Some(state) = self.buckets.get_mut(&previous) else { return Ok(home) };
        let lookup = state.lookup(&dir)?;
        let term = Term::from_field_text(self.fields.id, id);
        let found = lookup.searcher().doc_freq(&term).map_err(|e| ArchiveError::from_tantivy(e, &dir))? > 0;
        if found {
            DuplicateRouted.emit();
            return Ok(previous);
        }
        Ok(home)
    }

    fn ensure_open(&mut self, id: BucketId) -> Result<(), ArchiveError> {
        if self.open.contains_key(&id) {
            return Ok(());
        }
        if self.open.len() >= MAX_OPEN_WRITERS
            && let Some(&oldest) = self.open.keys().find(|b| **b != id)
        {
            // Commit before closing, keeping that bucket's own payload.
            self.commit_bucket(oldest, None)?;
            self.open.remove(&oldest);
        }
        let dir = self.layout.root.clone();
        if !self.buckets.contains_key(&id) {
            let index = layout::create_index(&self.layout.bucket_dir(id), &dir)?;
            self.buckets.insert(id, BucketState { index, docs: 0, lookup: None });
        }
        let Some(state) = self.buckets.get(&id) else {
            return Err(ArchiveError::Inconsistent(format!("bucket {id} vanished")));
        };
        let options = IndexWriterOptions::builder()
            .memory_budget_per_thread(self.opts.writer_memory_bytes)
            .num_worker_threads(self.opts.writer_threads)
            .build();
        let writer = state.index.writer_with_options(options).map_err(|e| ArchiveError::from_tantivy(e, &dir))?;
        let payload = state.index.load_metas().map_err(|e| ArchiveError::from_tantivy(e, &dir))?.payload;
        self.open.insert(id, BucketWriter { writer, pending_ids: FxHashSet::default(), payload });
        Ok(())
    }

    fn commit_inner(&mut self, payload: Option<String>) -> Result<CommitInfo, ArchiveError> {
        let started = Instant::now();
        let docs = self.pending;
        let committed = self.write_tombstones().and_then(|()| self.try_commit(payload.as_deref()));
        match committed {
            Ok(()) => {
                let duration = started.elapsed();
                self.pending = 0;
                if payload.is_some() && !self.buckets.is_empty() {
                    self.payload = payload;
                }
                let total_docs = self.total_docs();
                CommitSucceeded { docs, total_docs, duration }.emit();
                Ok(CommitInfo { docs, total_docs, duration })
            }
            Err(error) => {
                CommitFailed { docs, error: &error, duration: started.elapsed() }.emit();
                Err(error)
            }
        }
    }

    /// Writes the tombstones when they changed, atomically and durably.
    fn write_tombstones(&mut self) -> Result<(), ArchiveError> {
        if !self.tombstones_dirty {
            return Ok(());
        }
        let file = TombstoneFile { v: 1, ids: self.tombstone_order.iter().cloned().collect() };
        let body = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        onrust_durable::write_atomic(&self.layout.root.join(TOMBSTONES_FILE), &body)?;
        self.tombstones_dirty = false;
        Ok(())
    }

    fn try_commit(&mut self, payload: Option<&str>) -> Result<(), ArchiveError> {
        let head = self.buckets.keys().next_back().copied();
        let touched: Vec<BucketId> =
            self.open.iter().filter(|(_, w)| !w.pending_ids.is_empty()).map(|(b, _)| *b).collect();
        for id in touched.iter().copied().filter(|b| Some(*b) != head) {
            self.commit_bucket(id, None)?;
        }
        match (head, payload) {
            (Some(head), Some(payload)) => {
                self.ensure_open(head)?;
                self.commit_bucket(head, Some(payload))?;
            }
            (Some(head), None) if touched.contains(&head) => self.commit_bucket(head, None)?,
            _ => {}
        }
        Ok(())
    }

    /// Commits one bucket: with `payload`, or keeping the one it had.
    fn commit_bucket(&mut self, id: BucketId, payload: Option<&str>) -> Result<(), ArchiveError> {
        let dir = self.layout.root.clone();
        let tantivy_err = |e| ArchiveError::from_tantivy(e, &dir);
        let Some(bucket) = self.open.get_mut(&id) else { return Ok(()) };
        let keep = payload.map(str::to_owned).or_else(|| bucket.payload.clone());
        let mut prepared = bucket.writer.prepare_commit().map_err(tantivy_err)?;
        if let Some(payload) = &keep {
            prepared.set_payload(payload);
        }
        prepared.commit().map_err(tantivy_err)?;
        bucket.payload = keep;
        bucket.pending_ids.clear();
        if let Some(state) = self.buckets.get_mut(&id) {
            state.docs = layout::committed_docs(&state.index, &dir)?;
            if let Some(lookup) = &state.lookup {
                lookup.reload().map_err(tantivy_err)?;
            }
        }
        Ok(())
    }

    fn map_err(&self, e: tantivy::TantivyError) -> ArchiveError {
        ArchiveError::from_tantivy(e, &self.layout.root)
    }
}
