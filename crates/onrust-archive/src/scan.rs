//! Reading the archive back in arrival order, for `onrust backtest`.
//!
//! # Why it looks like this
//!
//! A backtest replays a period of the archive through the alert engine as
//! the daemon saw it: message by message, in the order they arrived. The
//! daemon observes a message when it arrives, that is at its fetch time, so
//! the scan orders by `fetched_at` (the time the buckets are cut by) and not
//! by `published_at`, which a feed may give late, wrong or not at all.
//!
//! Memory is bounded by the period, not by the text: the scan first reads
//! only the `fetched_at` and `level` columns and keeps a 16-byte key per
//! matching document (its fetch second and where it lives), sorts those, and
//! then loads the stored documents one at a time as the iterator is pulled.
//! A month of 3 million messages at or above the scan's level costs about
//! 48 MB of keys; the engine only looks at levels its rules name, so a scan
//! from level 1 or 2 is a small fraction of that. A document can live in the
//! bucket before the one its fetch time falls in (see [`crate::bucket`]),
//! which is why the keys of all buckets of the period are sorted together.
//!
//! The scan is a snapshot: it holds the searchers it started with, so a
//! commit or a retention run during a backtest changes nothing it returns.
//!
//! What comes back is a [`ScoredMessage`] with what the archive stores,
//! without the classifier's explanation (the backtest recomputes it with
//! today's classifier) and its version, and never the author's pseudonym
//! (rules L1, L2): those fields are empty. A publication time the source did not give comes back
//! as `None` (the archive stores the fetch time as an estimate), and one the
//! source gave comes back clamped to the fetch time and in UTC, as the
//! archive indexed it.

use chrono::{DateTime, Utc};
use onrust_model::{
    Assessment, Level, MessageId, MunicipalityCode, RawMessage, SCHEMA_VERSION, ScoredMessage, SourceId, SourceKind,
};
use tantivy::schema::{Field, Value};
use tantivy::{DocAddress, Searcher, TantivyDocument};

use crate::ArchiveError;
use crate::reader::ArchiveReader;
use crate::schema::{self, Fields};

/// What a scan reads; see [`ArchiveReader::scan`].
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRequest {
    /// Inclusive lower bound on `fetched_at`.
    pub since: DateTime<Utc>,
    /// Exclusive upper bound on `fetched_at`.
    pub until: DateTime<Utc>,
    /// Only messages at this level or above (the rest are never loaded).
    pub min_level: Option<Level>,
}

/// Where one document of the scan lives, and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    fetched_secs: i64,
    searcher: u16,
    segment: u16,
    doc: u32,
}

/// The documents of a period in arrival order, loaded one at a time.
/// Created by [`ArchiveReader::scan`].
pub struct Scan {
    searchers: Vec<Searcher>,
    keys: std::vec::IntoIter<Key>,
    fields: Fields,
    total: usize,
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan").field("total", &self.total).finish_non_exhaustive()
    }
}

impl Scan {
    /// How many messages the scan yields in all.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl Iterator for Scan {
    type Item = Result<ScoredMessage, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.keys.next()?;
        let searcher = self.searchers.get(usize::from(key.searcher))?;
        let address = DocAddress::new(u32::from(key.segment), key.doc);
        Some(
            searcher
                .doc::<TantivyDocument>(address)
                .map_err(ArchiveError::Tantivy)
                .and_then(|doc| to_message(&self.fields, &doc)),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.keys.size_hint()
    }
}

impl ArchiveReader {
    /// The messages fetched in `[since, until)` at or above `min_level`, in
    /// the order they arrived (by `fetched_at`, to the second; ties in index
    /// order). See the [`scan`](crate::scan) module for the memory bound and
    /// what the messages carry.
    pub fn scan(&self, req: &ScanRequest) -> Result<Scan, ArchiveError> {
        if req.since >= req.until {
            return Err(ArchiveError::BadQuery("since must be before until".into()));
        }
        let since = req.since.timestamp();
        // Stored to the second: a bound inside a second includes that second.
        let until = req.until.timestamp() + i64::from(req.until.timestamp_subsec_nanos() > 0);
        let min_level = req.min_level.map_or(0, |l| u64::from(l.as_u8()));
        let searchers = self.searchers_around(req.since, req.until)?;
        if searchers.len() > usize::from(u16::MAX) {
            return Err(ArchiveError::Options("too many buckets for one scan".into()));
        }
        let mut keys = Vec::new();
        for (si, searcher) in searchers.iter().enumerate() {
            for (gi, segment) in searcher.segment_readers().iter().enumerate() {
                let segment_ord =
                    u16::try_from(gi).map_err(|_| ArchiveError::Options("too many segments for one scan".into()))?;
                let ff = segment.fast_fields();
                let fetched = ff.date(schema::FETCHED_AT).map_err(ArchiveError::Tantivy)?;
                let level = ff.u64(schema::LEVEL).map_err(ArchiveError::Tantivy)?;
                let alive = segment.alive_bitset();
                for doc in 0..segment.max_doc() {
                    if alive.is_some_and(|a| a.is_deleted(doc)) {
                        continue;
                    }
                    if level.first(doc).unwrap_or(0) < min_level {
                        continue;
                    }
                    let Some(t) = fetched.first(doc) else { continue };
                    let secs = t.into_timestamp_secs();
                    if secs >= since && secs < until {
                        keys.push(Key { fetched_secs: secs, searcher: si as u16, segment: segment_ord, doc });
                    }
                }
            }
        }
        keys.sort_unstable();
        let total = keys.len();
        Ok(Scan { searchers, keys: keys.into_iter(), fields: *self.fields(), total })
    }
}

pub(crate) fn to_message(f: &Fields, doc: &TantivyDocument) -> Result<ScoredMessage, ArchiveError> {
    let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).map(str::to_owned);
    let texts = |field: Field| doc.get_all(field).filter_map(|v| v.as_str()).map(str::to_owned);
    let date = |field: Field| doc.get_first(field).and_then(|v| v.as_datetime()).map(schema::from_tantivy_date);
    let corrupt = |what: &str| ArchiveError::Inconsistent(format!("an archived document has no valid {what}"));
    let id = MessageId::new(text(f.id).unwrap_or_default()).map_err(|_| corrupt("id"))?;
    let source = SourceId::new(text(f.source).unwrap_or_default()).map_err(|_| corrupt("source"))?;
    let source_kind = source_kind(&text(f.source_kind).unwrap_or_default()).ok_or_else(|| corrupt("source kind"))?;
    let fetched_at = date(f.fetched_at).ok_or_else(|| corrupt("fetch time"))?;
    let estimated = doc.get_first(f.published_estimated).and_then(|v| v.as_bool()).unwrap_or(false);
    let published_at = if estimated { None } else { date(f.published_at).map(|t| t.fixed_offset()) };
    let level = doc.get_first(f.level).and_then(|v| v.as_u64()).and_then(|l| u8::try_from(l).ok());
    let level = level.and_then(|l| Level::try_from(l).ok()).ok_or_else(|| corrupt("level"))?;
    let municipalities = texts(f.municipalities).filter_map(|c| MunicipalityCode::new(c).ok()).collect();
    Ok(ScoredMessage {
        schema: SCHEMA_VERSION,
        message: RawMessage {
            schema: SCHEMA_VERSION,
            id,
            source,
            source_kind,
            url: text(f.url),
            title: text(f.title),
            text: text(f.text).unwrap_or_default(),
            published_at,
            fetched_at,
            author: None,
            lang_hint: None,
        },
        assessment: Assessment {
            lang: text(f.lang),
            level,
            score: doc.get_first(f.score).and_then(|v| v.as_f64()).unwrap_or(0.0) as f32,
            themes: texts(f.themes).collect(),
            municipalities,
            places: Vec::new(),
            event_time: date(f.event_time).map(|t| t.fixed_offset()),
            explanation: Vec::new(),
            classifier_version: String::new(),
        },
    })
}

fn source_kind(s: &str) -> Option<SourceKind> {
    SourceKind::ALL.into_iter().find(|k| k.as_str() == s)
}
