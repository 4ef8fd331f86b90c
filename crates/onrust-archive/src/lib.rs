//! The onrust archive: every scored message in a tantivy full-text index,
//! for analysts to search.
//!
//! # Why it is built this way
//!
//! - **Upsert by message id.** Delivery is at-least-once (GUARDRAILS R1):
//!   after a crash the bus redelivers whatever was not acknowledged, so the
//!   archive sees some messages twice. [`ArchiveWriter::upsert`] deletes any
//!   document with the same id before adding the new one, so a replay never
//!   duplicates a document, across commits and within one batch alike.
//! - **The caller batches commits.** A commit fsyncs and makes a new segment;
//!   per message it would be slow and fragment the index. The consumer calls
//!   [`ArchiveWriter::commit`] on a timer and a batch size, and acknowledges
//!   the batch's messages only after the commit returns `Ok`: that is the
//!   moment they are durable. [`ArchiveWriter::commit_with_payload`] stores
//!   the consumed bus positions in the same atomic commit (GUARDRAILS R3), and
//!   [`ArchiveWriter::last_payload`] gives them back on restart.
//! - **One writer, many readers.** The writer holds the archive's lock for
//!   the life of the process; a second writer gets [`ArchiveError::Locked`]
//!   with a plain message rather than corrupting anything (GUARDRAILS R7).
//!   An [`ArchiveReader`] takes no lock, so `onrust search` and the web API
//!   read while the daemon writes; they see committed documents only.
//! - **Phenomena, not persons** (GUARDRAILS L1, L2). The author pseudonym is a
//!   fast column only, to count distinct authors later: not indexed, not
//!   stored, never in a [`Hit`]; `author:` in a query is refused.
//! - **Queries are checked before the index sees them** (GUARDRAILS S7):
//!   length, nesting, regex, leading wildcards, fuzziness, paging and field
//!   names; see [`query`](SearchRequest) and [`ArchiveError::BadQuery`]. Words
//!   are ANDed by default (`boeren snelweg` means both), which suits
//!   analysts narrowing down; `OR` is there when they want it.
//!
//! # Layout
//!
//! The archive directory holds the live index in `index/`. Time buckets
//! (retention by dropping whole buckets, GUARDRAILS L6) will sit beside it;
//! keeping the archive root separate from the tantivy directory lets them
//! grow in place.

mod error;
mod internal_events;
mod query;
mod reader;
pub mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use error::ArchiveError;
pub use internal_events::describe_metrics;
pub use query::{MAX_FUZZY, MAX_LIMIT, MAX_NESTING, MAX_OFFSET, MAX_PHRASE_SLOP, MAX_QUERY_CHARS, SearchRequest, Sort};
pub use reader::{ArchiveReader, FacetCount, Facets, Hit, SearchResults, Snippet};
pub use writer::{ArchiveOptions, ArchiveWriter, CommitInfo};

/// Where the live tantivy index of the archive in `dir` lives.
pub(crate) fn index_dir(dir: &Path) -> PathBuf {
    dir.join("index")
}
