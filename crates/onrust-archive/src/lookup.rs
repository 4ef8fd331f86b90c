//! Which archived messages an erasure on request concerns (`onrust erase`):
//! the one with a given id, or every one with a given link. Only what is
//! needed to remove them is read back (id, source, kind), never their text.
//!
//! By id this is one term lookup per bucket. The link is stored but not
//! indexed (nobody searches by it), so by link every live document's stored
//! link is read: linear in the archive, acceptable for a request a person
//! makes now and then, and it adds nothing to the index of every message.

use tantivy::collector::DocSetCollector;
use tantivy::query::{AllQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{TantivyDocument, Term};

use crate::{ArchiveError, ArchiveReader};

/// What an erasure asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// The message with this id.
    Id(String),
    /// Every message whose link is exactly this (as ingest normalised it).
    Url(String),
}

/// One archived message an erasure concerns: enough to remove it, no content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMessage {
    pub id: String,
    pub source: String,
    pub source_kind: String,
}

impl ArchiveReader {
    /// The committed messages `wanted` names, each once (a message is in one
    /// bucket, but a repeat around the turn of a period is not counted twice).
    pub fn held(&self, wanted: &Wanted) -> Result<Vec<HeldMessage>, ArchiveError> {
        self.reload()?;
        let fields = *self.fields();
        let mut found: Vec<HeldMessage> = Vec::new();
        for searcher in self.searchers() {
            let addresses = match wanted {
                Wanted::Id(id) => {
                    let term = Term::from_field_text(fields.id, id);
                    searcher.search(&TermQuery::new(term, IndexRecordOption::Basic), &DocSetCollector)
                }
                Wanted::Url(_) => searcher.search(&AllQuery, &DocSetCollector),
            }
            .map_err(ArchiveError::Tantivy)?;
            for address in addresses {
                let doc: TantivyDocument = searcher.doc(address).map_err(ArchiveError::Tantivy)?;
                let text = |field| doc.get_first(field).and_then(|v| v.as_str()).map(str::to_owned);
                if let Wanted::Url(url) = wanted
                    && text(fields.url).as_deref() != Some(url.as_str())
                {
                    continue;
                }
                let Some(id) = text(fields.id) else { continue };
                if found.iter().any(|h| h.id == id) {
                    continue;
                }
                found.push(HeldMessage {
                    id,
                    source: text(fields.source).unwrap_or_default(),
                    source_kind: text(fields.source_kind).unwrap_or_default(),
                });
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }
}
