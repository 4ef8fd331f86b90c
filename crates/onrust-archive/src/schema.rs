//! The archive's schema, its analyzer, and how a [`ScoredMessage`] becomes a document.
//!
//! Changing a field here changes the on-disk format: an archive written with
//! another schema is refused with [`crate::ArchiveError::SchemaMismatch`].

use std::path::Path;

use onrust_model::ScoredMessage;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::{Index, TantivyDocument};

use crate::ArchiveError;

/// The analyzer of `title` and `text`: split on non-alphanumerics, drop
/// tokens over 40 bytes, lowercase, fold accents (`café` = `cafe`), Dutch
/// Snowball stemming (`protesten` = `protest`). No stop words: with
/// AND as the default operator they would do little, and words such as
/// `tegen` or `niet` matter in this domain.
pub const TOKENIZER: &str = "onrust_nl";

pub const ID: &str = "id";
pub const SOURCE: &str = "source";
pub const SOURCE_KIND: &str = "source_kind";
pub const URL: &str = "url";
pub const TITLE: &str = "title";
pub const TEXT: &str = "text";
pub const LANG: &str = "lang";
pub const THEMES: &str = "themes";
pub const LEVEL: &str = "level";
pub const SCORE: &str = "score";
pub const MUNICIPALITIES: &str = "municipalities";
pub const PUBLISHED_AT: &str = "published_at";
/// True when the source gave no publication time and `published_at` is `fetched_at`.
pub const PUBLISHED_ESTIMATED: &str = "published_estimated";
pub const FETCHED_AT: &str = "fetched_at";
pub const EVENT_TIME: &str = "event_time";
/// The author's keyed pseudonym: a fast column only, to count distinct
/// authors per municipality × theme × time. Not indexed (no search by
/// author), not stored (never returned). GUARDRAILS L1, L2.
pub const AUTHOR: &str = "author";

/// The fields a query may name (`field:value`). Everything else, `author`
/// first of all, is refused before parsing.
pub const QUERY_FIELDS: &[&str] =
    &[TITLE, TEXT, ID, SOURCE, SOURCE_KIND, LANG, THEMES, MUNICIPALITIES, LEVEL, PUBLISHED_AT];

/// Resolved field handles.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub source: Field,
    pub source_kind: Field,
    pub url: Field,
    pub title: Field,
    pub text: Field,
    pub lang: Field,
    pub themes: Field,
    pub level: Field,
    pub score: Field,
    pub municipalities: Field,
    pub published_at: Field,
    pub published_estimated: Field,
    pub fetched_at: Field,
    pub event_time: Field,
    pub author: Field,
}

/// The schema this build writes and reads.
pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let full_text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let date = |indexed: bool| {
        let opts = DateOptions::default().set_stored().set_fast().set_precision(DateTimePrecision::Seconds);
        if indexed { opts.set_indexed() } else { opts }
    };
    let fields = Fields {
        id: b.add_text_field(ID, STRING | STORED),
        source: b.add_text_field(SOURCE, STRING | STORED),
        source_kind: b.add_text_field(SOURCE_KIND, STRING | STORED),
        url: b.add_text_field(URL, STORED),
        title: b.add_text_field(TITLE, full_text.clone()),
        text: b.add_text_field(TEXT, full_text),
        lang: b.add_text_field(LANG, STRING | STORED),
        themes: b.add_text_field(THEMES, STRING | STORED | FAST),
        level: b.add_u64_field(LEVEL, INDEXED | STORED | FAST),
        score: b.add_f64_field(SCORE, STORED | FAST),
        municipalities: b.add_text_field(MUNICIPALITIES, STRING | STORED | FAST),
        published_at: b.add_date_field(PUBLISHED_AT, date(true)),
        published_estimated: b.add_bool_field(PUBLISHED_ESTIMATED, NumericOptions::default().set_stored().set_fast()),
        fetched_at: b.add_date_field(FETCHED_AT, date(false)),
        event_time: b.add_date_field(EVENT_TIME, date(false)),
        author: b.add_text_field(AUTHOR, TextOptions::default().set_fast(None)),
    };
    (b.build(), fields)
}

/// Registers the analyzer; tokenizers are not persisted, so every opened
/// index needs this before it indexes or parses a query.
pub(crate) fn register_tokenizers(index: &Index) {
    let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::Dutch))
        .build();
    index.tokenizers().register(TOKENIZER, analyzer);
}

/// Checks that an index on disk has this build's schema.
pub(crate) fn check_schema(index: &Index, expected: &Schema, dir: &Path) -> Result<(), ArchiveError> {
    if index.schema() == *expected { Ok(()) } else { Err(ArchiveError::SchemaMismatch { dir: dir.to_path_buf() }) }
}

/// The widest span tantivy can hold: it keeps nanoseconds in an i64, so about 1677..2262.
const MAX_ABS_SECS: i64 = i64::MAX / 1_000_000_000 - 1;

pub(crate) fn to_tantivy_date(dt: chrono::DateTime<chrono::Utc>) -> tantivy::DateTime {
    // Clamped: tantivy multiplies unchecked, and a feed may claim the year 9999.
    tantivy::DateTime::from_timestamp_secs(dt.timestamp().clamp(-MAX_ABS_SECS, MAX_ABS_SECS))
}

/// A date bound in seconds, clamped to what tantivy can hold.
pub(crate) fn tantivy_secs(secs: i64) -> tantivy::DateTime {
    tantivy::DateTime::from_timestamp_secs(secs.clamp(-MAX_ABS_SECS, MAX_ABS_SECS))
}

pub(crate) fn from_tantivy_date(dt: tantivy::DateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_nanos(dt.into_timestamp_nanos())
}

/// The document for one message. The author pseudonym goes only into its fast column.
pub(crate) fn to_document(f: &Fields, msg: &ScoredMessage) -> TantivyDocument {
    let m = &msg.message;
    let a = &msg.assessment;
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, m.id.as_str());
    doc.add_text(f.source, m.source.as_str());
    doc.add_text(f.source_kind, m.source_kind.as_str());
    if let Some(url) = &m.url {
        doc.add_text(f.url, url);
    }
    if let Some(title) = &m.title {
        doc.add_text(f.title, title);
    }
    doc.add_text(f.text, &m.text);
    if let Some(lang) = a.lang.as_ref().or(m.lang_hint.as_ref()) {
        doc.add_text(f.lang, lang);
    }
    for theme in &a.themes {
        doc.add_text(f.themes, theme);
    }
    doc.add_u64(f.level, u64::from(a.level.as_u8()));
    doc.add_f64(f.score, f64::from(a.score));
    for code in &a.municipalities {
        doc.add_text(f.municipalities, code.as_str());
    }
    let (published, estimated) = match m.published_at {
        Some(p) => (p.to_utc(), false),
        None => (m.fetched_at, true),
    };
    doc.add_date(f.published_at, to_tantivy_date(published));
    doc.add_bool(f.published_estimated, estimated);
    doc.add_date(f.fetched_at, to_tantivy_date(m.fetched_at));
    if let Some(event) = a.event_time {
        doc.add_date(f.event_time, to_tantivy_date(event.to_utc()));
    }
    if let Some(author) = &m.author {
        doc.add_text(f.author, author.as_str());
    }
    doc
}
