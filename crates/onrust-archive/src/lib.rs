//! The onrust archive: every scored message in a tantivy full-text index,
//! for analysts to search.
//!
//! # Why it is built this way
//!
//! - **Upsert by message id.** Delivery is at-least-once (rule R1):
//!   after a crash the bus redelivers whatever was not acknowledged, so the
//!   archive sees some messages twice. [`ArchiveWriter::upsert`] deletes any
//!   document with the same id before adding the new one, so a replay never
//!   duplicates a document, across commits and within one batch alike.
//! - **The caller batches commits.** A commit fsyncs and makes a new segment;
//!   per message it would be slow and fragment the index. The consumer calls
//!   [`ArchiveWriter::commit`] on a timer and a batch size, and acknowledges
//!   the batch's messages only after the commit returns `Ok`: that is the
//!   moment they are durable. [`ArchiveWriter::commit_with_payload`] stores
//!   the consumed bus positions in the same atomic commit (rule R3), and
//!   [`ArchiveWriter::last_payload`] gives them back on restart.
//! - **One writer, many readers.** The writer holds the archive's lock for
//!   the life of the process; a second writer gets [`ArchiveError::Locked`]
//!   with a plain message rather than corrupting anything (rule R7).
//!   An [`ArchiveReader`] takes no lock, so `onrust search` and the web API
//!   read while the daemon writes; they see committed documents only.
//! - **Phenomena, not persons** (rules L1, L2). The author pseudonym is a
//!   fast column only, to count distinct authors later: not indexed, not
//!   stored, never in a [`Hit`]; `author:` in a query is refused.
//! - **Queries are checked before the index sees them** (rule S7):
//!   length, nesting, regex, leading wildcards, fuzziness, paging and field
//!   names; see [`query`](SearchRequest) and [`ArchiveError::BadQuery`]. Words
//!   are ANDed by default (`boeren snelweg` means both), which suits
//!   analysts narrowing down; `OR` is there when they want it.
//!
//! - **Time buckets** (rule L6). One tantivy index per period of
//!   fetch time (a week by default), searched together with one relevance
//!   ranking; retention drops whole buckets and records each deletion
//!   before it happens. See [`bucket`] for why fetch time.
//! - **Read back in arrival order** ([`ArchiveReader::scan`]): a period's
//!   messages by fetch time, one stored document at a time, so
//!   `onrust backtest` can replay them through the alert engine; see [`scan`].
//! - **Words per language.** Dutch and English messages are stemmed and
//!   lose their stop words with their own language's rules, everything else
//!   is matched plainly; each query is compiled once per language group so
//!   it meets every document the way that document was indexed.
//! - **A time budget per search** (rule S7): collectors look at the
//!   clock and a search past its budget is [`ArchiveError::TooSlow`].
//!
//! # Layout
//!
//! ```text
//! <archive>/writer.lock                 the writer's lock
//! <archive>/buckets/week-2026-11-23/    one tantivy index per period
//! ```

pub mod bucket;
mod collect;
mod compile;
mod compound;
mod error;
mod internal_events;
mod layout;
mod lookup;
mod migrate;
mod query;
mod reader;
pub mod scan;
pub mod schema;
mod stats;
mod stemmer;
mod writer;

#[cfg(test)]
mod old_archive;
#[cfg(test)]
mod stem_stability;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use bucket::{BucketId, Period};
pub use error::ArchiveError;
pub use internal_events::describe_metrics;
pub use layout::FORMAT_VERSION;
pub use lookup::{HeldMessage, Wanted};
pub use migrate::{Migration, migrate};
pub use query::{MAX_FUZZY, MAX_LIMIT, MAX_NESTING, MAX_OFFSET, MAX_PHRASE_SLOP, MAX_QUERY_CHARS, SearchRequest, Sort};
pub use reader::{
    ArchiveReader, BucketInfo, CountRequest, CountRow, DEFAULT_SEARCH_BUDGET, FacetCount, Facets, Hit, SearchResults,
    Snippet,
};
pub use scan::{Scan, ScanRequest};
pub use writer::{ArchiveOptions, ArchiveWriter, CommitInfo};

/// The record of one bucket deleted by retention (rule L6): what was
/// removed, how much, and when. Written before the bucket goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    /// The bucket's name, e.g. `week-2026-11-23`.
    pub bucket: String,
    /// The fetch times it held: `[period_start, period_end)`.
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// Documents it held at its last commit.
    pub documents: u64,
    /// Bytes it took on disk.
    pub bytes: u64,
    pub deleted_at: DateTime<Utc>,
}

/// The schema and document mapping, for the benchmark that compares the
/// archive with bare tantivy on the same documents. Not an API.
#[doc(hidden)]
pub mod bench_support {
    use onrust_model::ScoredMessage;
    use tantivy::schema::Schema;
    use tantivy::{Index, TantivyDocument};

    /// The archive's schema.
    pub fn schema() -> Schema {
        crate::schema::build_schema().0
    }

    /// Registers the archive's analyzers on `index`.
    pub fn register_tokenizers(index: &Index) {
        crate::schema::register_tokenizers(index);
    }

    /// The document the archive writes for `msg` (field handles resolved
    /// once, as the writer does).
    pub fn document(msg: &ScoredMessage) -> TantivyDocument {
        static FIELDS: std::sync::OnceLock<crate::schema::Fields> = std::sync::OnceLock::new();
        crate::schema::to_document(FIELDS.get_or_init(|| crate::schema::build_schema().1), msg)
    }
}
