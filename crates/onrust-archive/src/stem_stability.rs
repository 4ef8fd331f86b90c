//! The words an archive holds are the analyzers' output: stems, compound
//! parts, folded accents. An archive written by one release is searched by
//! the next, so a query word must still become the same terms, or the
//! messages indexed before an upgrade silently stop being found. This test
//! holds every analyzer's output for some 4,000 words (the themes' and
//! escalation lexicons', the development corpus's, and English from the
//! fixture feeds) against `testdata/stems.tsv`, written with tantivy 0.24
//! and its Snowball stemmers. A dependency upgrade that changes one stem
//! fails here by word, and then needs an archive migration (re-index) or a
//! refusal, not a quiet change.
//!
//! `ONRUST_WRITE_STEMS=1` writes the file anew instead of comparing; do that
//! only together with a migration.

use std::fmt::Write as _;

use tantivy::tokenizer::TokenStream;

use crate::schema::{Analysis, analyzer, query_analyzer};

const WORDS: &str = include_str!("../testdata/stem-words.txt");
const STEMS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/stems.tsv");

fn terms(mut analyzer: tantivy::tokenizer::TextAnalyzer, word: &str) -> String {
    let mut stream = analyzer.token_stream(word);
    let mut terms = Vec::new();
    while stream.advance() {
        terms.push(stream.token().text.clone());
    }
    terms.join(" ")
}

/// One line per word: the word, then what each analyzer makes of it.
fn table() -> String {
    let mut out = String::from("word\tdutch index\tdutch query\tenglish\tplain\n");
    for word in WORDS.lines().filter(|w| !w.is_empty()) {
        let _ = writeln!(
            out,
            "{word}\t{}\t{}\t{}\t{}",
            terms(analyzer(Analysis::Dutch), word),
            terms(query_analyzer(Analysis::Dutch), word),
            terms(analyzer(Analysis::English), word),
            terms(analyzer(Analysis::Plain), word),
        );
    }
    out
}

#[test]
fn every_word_becomes_the_terms_it_became_when_the_archive_was_written() {
    let now = table();
    if std::env::var_os("ONRUST_WRITE_STEMS").is_some() {
        std::fs::write(STEMS_PATH, &now).expect("write testdata/stems.tsv");
        return;
    }
    let then = std::fs::read_to_string(STEMS_PATH).expect("testdata/stems.tsv is in the repository");
    assert!(then.lines().count() > 4000, "the table covers the word list");
    let changed: Vec<String> = then
        .lines()
        .zip(now.lines())
        .filter(|(then, now)| then != now)
        .map(|(then, now)| format!("was  {then}\nnow  {now}"))
        .collect();
    assert_eq!(then.lines().count(), now.lines().count(), "the word list and the table agree");
    assert!(
        changed.is_empty(),
        "{} words analyse differently:\n{}",
        changed.len(),
        changed[..changed.len().min(20)].join("\n")
    );
}
