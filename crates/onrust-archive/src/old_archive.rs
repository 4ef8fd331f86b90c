//! An archive written before a dependency upgrade must still be read, and
//! found, by the build after it. `testdata/archive-written-by-tantivy-0.24`
//! is 300 generated messages (`onrust replay --generate 300`) archived by
//! the build on tantivy 0.24; this build opens a copy and must find, for
//! each word, exactly the messages whose title or text holds it, as a scan
//! of all stored messages tells. A tantivy upgrade that changes the index
//! format, or analysis that changes a query word's terms, fails here.

use std::collections::BTreeSet;
use std::path::Path;

use onrust_testkit::copy_dir;

use crate::{ArchiveReader, SearchRequest};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/archive-written-by-tantivy-0.24");

/// Ids of every hit of `query`, page by page.
fn ids(reader: &ArchiveReader, query: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for offset in (0..).step_by(100) {
        let request = SearchRequest { query: query.to_owned(), limit: 100, offset, ..SearchRequest::default() };
        let page = reader.search(&request).expect("search the old archive");
        let last = page.hits.len() < 100;
        found.extend(page.hits.into_iter().map(|hit| hit.id));
        if last {
            return found;
        }
    }
    unreachable!("the pages end")
}

#[test]
fn an_archive_written_by_tantivy_0_24_is_read_and_searched_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(Path::new(FIXTURE), dir.path());
    let reader = ArchiveReader::open(dir.path()).expect("open the archive written by tantivy 0.24");
    assert_eq!(reader.doc_count(), 300);

    // Every generated message says "Bericht nummer i": this query is the scan.
    let mut texts = Vec::new();
    for offset in (0..300).step_by(100) {
        let request = SearchRequest { query: "bericht".into(), limit: 100, offset, ..SearchRequest::default() };
        let page = reader.search(&request).expect("scan");
        texts.extend(
            page.hits
                .into_iter()
                .map(|hit| (hit.id, format!("{} {}", hit.title.unwrap_or_default(), hit.text).to_lowercase())),
        );
    }
    assert_eq!(texts.len(), 300, "the scan sees every message");

    for word in ["trekkers", "vuurwerk", "container", "demonstratie", "politie", "blokkade", "amersfoort", "urk"] {
        let expected: BTreeSet<String> = texts
            .iter()
            .filter(|(_, text)| text.split(|c: char| !c.is_alphanumeric()).any(|w| w == word))
            .map(|(id, _)| id.clone())
            .collect();
        assert!(!expected.is_empty(), "{word} occurs in the fixture");
        assert_eq!(ids(&reader, word), expected, "the messages holding {word}");
    }
}
