//! The archive's schema, its analyzer, and how a [`ScoredMessage`] becomes a document.
//!
//! Changing a field or an analyzer here changes the on-disk format: bump
//! [`crate::FORMAT_VERSION`] (an archive of another format is refused
//! with [`crate::ArchiveError::Format`], naming the way out), and a bucket
//! written with another schema is refused with
//! [`crate::ArchiveError::SchemaMismatch`].

use std::path::Path;

use chrono::TimeZone;
use onrust_model::ScoredMessage;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter, TextAnalyzer, Token,
    TokenFilter, TokenStream, Tokenizer,
};
use tantivy::{Index, TantivyDocument};

use crate::ArchiveError;
use crate::stemmer::Snowball;

/// How a message's words are indexed, by its language: Dutch and English
/// get their stemmer and stop words, every other language a plain,
/// lowercased, accent-folded analysis. Each group has its own pair of
/// fields, so a query is analysed the way each document was (see
/// `crate::compile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Analysis {
    Dutch,
    English,
    Plain,
}

impl Analysis {
    pub(crate) const ALL: [Analysis; 3] = [Analysis::Dutch, Analysis::English, Analysis::Plain];

    /// The group of a language code as the classifier gives it.
    pub(crate) fn of_lang(lang: Option<&str>) -> Analysis {
        match lang {
            Some("nl") => Analysis::Dutch,
            Some("en") => Analysis::English,
            _ => Analysis::Plain,
        }
    }

    /// The value of the `analysis` field, and the tokenizer's name suffix.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Analysis::Dutch => "nl",
            Analysis::English => "en",
            Analysis::Plain => "plain",
        }
    }

    fn tokenizer(self) -> String {
        format!("onrust_{}", self.code())
    }
}

/// Dutch stop words: the Snowball list (snowballstem.org, BSD licence,
/// Copyright (c) 2001 Dr Martin Porter and others) without the words that
/// carry meaning in this domain: `niet`, `geen`, `niets`, `zonder`, `tegen`
/// ("tegen het azc" is not "het azc").
const DUTCH_STOP_WORDS: &[&str] = &[
    "de", "en", "van", "ik", "te", "dat", "die", "in", "een", "hij", "het", "zijn", "is", "was", "op", "aan", "met",
    "als", "voor", "had", "er", "maar", "om", "hem", "dan", "zou", "of", "wat", "mijn", "men", "dit", "zo", "door",
    "over", "ze", "zich", "bij", "ook", "tot", "je", "mij", "uit", "der", "daar", "haar", "naar", "heb", "hoe",
    "heeft", "hebben", "deze", "u", "want", "nog", "zal", "me", "zij", "nu", "ge", "omdat", "iets", "worden", "toch",
    "al", "waren", "veel", "meer", "doen", "toen", "moet", "ben", "kan", "hun", "dus", "alles", "onder", "ja", "eens",
    "hier", "wie", "werd", "altijd", "doch", "wordt", "wezen", "kunnen", "ons", "zelf", "na", "reeds", "wil", "kon",
    "uw", "iemand", "geweest", "andere",
];

/// English stop words: Lucene's short list (Apache-2.0) without `no` and `not`.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "of", "on", "or",
    "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];

pub const ID: &str = "id";
pub const SOURCE: &str = "source";
pub const SOURCE_KIND: &str = "source_kind";
pub const URL: &str = "url";
/// Stored only; searched through its per-language twins.
pub const TITLE: &str = "title";
/// Stored only; searched through its per-language twins.
pub const TEXT: &str = "text";
pub const LANG: &str = "lang";
/// Which analysis the document's words went through (`nl`, `en`, `plain`).
pub const ANALYSIS: &str = "analysis";
pub const THEMES: &str = "themes";
pub const LEVEL: &str = "level";
pub const SCORE: &str = "score";
pub const MUNICIPALITIES: &str = "municipalities";
pub const PUBLISHED_AT: &str = "published_at";
/// True when the source gave no publication time and `published_at` is `fetched_at`.
pub const PUBLISHED_ESTIMATED: &str = "published_estimated";
/// The local date of `published_at` in Europe/Amsterdam as `YYYYMMDD`, for the day facet.
pub const DAY: &str = "day";
pub const FETCHED_AT: &str = "fetched_at";
pub const EVENT_TIME: &str = "event_time";
/// The classifier's explanation as it scored the message (signals, the
/// words behind them, weights), as JSON: stored only, never searched.
pub const EXPLANATION: &str = "explanation";
/// The author's keyed pseudonym: a fast column only, to count distinct
/// authors per municipality × theme × time. Not indexed (no search by
/// author), not stored (never returned). rules L1, L2.
pub const AUTHOR: &str = "author";

/// The fields a query may name (`field:value`). `title` and `text` stand
/// for their per-language twins. Everything else, `author` first of all, is
/// refused before parsing.
pub const QUERY_FIELDS: &[&str] =
    &[TITLE, TEXT, ID, SOURCE, SOURCE_KIND, LANG, THEMES, MUNICIPALITIES, LEVEL, PUBLISHED_AT, EVENT_TIME];

/// The indexed title and text fields of one analysis group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextFields {
    pub title: Field,
    pub text: Field,
}

/// Resolved field handles.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub source: Field,
    pub source_kind: Field,
    pub url: Field,
    pub title: Field,
    pub text: Field,
    pub nl: TextFields,
    pub en: TextFields,
    pub plain: TextFields,
    pub lang: Field,
    pub analysis: Field,
    pub themes: Field,
    pub level: Field,
    pub score: Field,
    pub municipalities: Field,
    pub published_at: Field,
    pub published_estimated: Field,
    pub day: Field,
    pub fetched_at: Field,
    pub event_time: Field,
    pub explanation: Field,
    pub author: Field,
}

impl Fields {
    pub(crate) fn group(&self, analysis: Analysis) -> TextFields {
        match analysis {
            Analysis::Dutch => self.nl,
            Analysis::English => self.en,
            Analysis::Plain => self.plain,
        }
    }
}

/// The schema this build writes and reads.
pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let analysed = |analysis: Analysis| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(&analysis.tokenizer())
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let group = |b: &mut tantivy::schema::SchemaBuilder, analysis: Analysis| TextFields {
        title: b.add_text_field(&format!("title_{}", analysis.code()), analysed(analysis)),
        text: b.add_text_field(&format!("text_{}", analysis.code()), analysed(analysis)),
    };
    let date = |indexed: bool| {
        let opts = DateOptions::default().set_stored().set_fast().set_precision(DateTimePrecision::Seconds);
        if indexed { opts.set_indexed() } else { opts }
    };
    let id = b.add_text_field(ID, STRING | STORED);
    let source = b.add_text_field(SOURCE, STRING | STORED);
    let source_kind = b.add_text_field(SOURCE_KIND, STRING | STORED);
    let url = b.add_text_field(URL, STORED);
    let title = b.add_text_field(TITLE, STORED);
    let text = b.add_text_field(TEXT, STORED);
    let nl = group(&mut b, Analysis::Dutch);
    let en = group(&mut b, Analysis::English);
    let plain = group(&mut b, Analysis::Plain);
    let fields = Fields {
        id,
        source,
        source_kind,
        url,
        title,
        text,
        nl,
        en,
        plain,
        lang: b.add_text_field(LANG, STRING | STORED),
        analysis: b.add_text_field(ANALYSIS, STRING),
        themes: b.add_text_field(THEMES, STRING | STORED | FAST),
        level: b.add_u64_field(LEVEL, INDEXED | STORED | FAST),
        score: b.add_f64_field(SCORE, STORED | FAST),
        municipalities: b.add_text_field(MUNICIPALITIES, STRING | STORED | FAST),
        published_at: b.add_date_field(PUBLISHED_AT, date(true)),
        published_estimated: b.add_bool_field(PUBLISHED_ESTIMATED, NumericOptions::default().set_stored().set_fast()),
        day: b.add_u64_field(DAY, FAST),
        fetched_at: b.add_date_field(FETCHED_AT, date(false)),
        event_time: b.add_date_field(EVENT_TIME, date(true)),
        explanation: b.add_text_field(EXPLANATION, STORED),
        author: b.add_text_field(AUTHOR, TextOptions::default().set_fast(tantivy::tokenizer::RAW_TOKENIZER_NAME)),
    };
    (b.build(), fields)
}

/// The analyzer a group's words are indexed with. Split on
/// non-alphanumerics, drop tokens over 40 bytes, lowercase, fold accents
/// (`café` = `cafe`); Dutch adds a compound's parts beside it
/// ([`crate::compound`]); then for Dutch and English their stop words and
/// Snowball stemmer (`rellen` = `rel`, `relschoppers` = `relschopper`).
pub(crate) fn analyzer(analysis: Analysis) -> TextAnalyzer {
    let base = || {
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
    };
    match analysis {
        Analysis::Dutch => base()
            .filter(crate::compound::CompoundParts)
            .filter(stop_words(DUTCH_STOP_WORDS))
            .filter(Snowball::dutch())
            .filter(Undouble)
            .build(),
        Analysis::English | Analysis::Plain => query_analyzer(analysis),
    }
}

/// The analyzer a query's words go through: the index's, without splitting
/// compounds (see [`crate::compound`] for why).
pub(crate) fn query_analyzer(analysis: Analysis) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match analysis {
        Analysis::Dutch => base.filter(stop_words(DUTCH_STOP_WORDS)).filter(Snowball::dutch()).filter(Undouble).build(),
        Analysis::English => base.filter(stop_words(ENGLISH_STOP_WORDS)).filter(Snowball::english()).build(),
        Analysis::Plain => base.build(),
    }
}

fn stop_words(list: &[&str]) -> StopWordFilter {
    StopWordFilter::remove(list.iter().map(|w| (*w).to_owned()))
}

/// Drops the last letter of a stem that ends in a doubled consonant.
///
/// Snowball's Dutch stemmer undoubles only `kk`, `dd` and `tt`, so
/// `rellen` becomes `rell` while `rel` stays `rel`, and `bommen` misses
/// `bom`. Dutch spelling never ends a word on a doubled consonant, so
/// undoubling every one joins the plural to its singular; the few loan
/// words it touches (`stress`, `hall`) change the same way in the index and
/// in the query.
#[derive(Clone)]
struct Undouble;

impl TokenFilter for Undouble {
    type Tokenizer<T: Tokenizer> = UndoubleFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> UndoubleFilter<T> {
        UndoubleFilter(tokenizer)
    }
}

#[derive(Clone)]
struct UndoubleFilter<T>(T);

impl<T: Tokenizer> Tokenizer for UndoubleFilter<T> {
    type TokenStream<'a> = UndoubleStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        UndoubleStream(self.0.token_stream(text))
    }
}

struct UndoubleStream<S>(S);

impl<S: TokenStream> TokenStream for UndoubleStream<S> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        let text = &mut self.0.token_mut().text;
        let bytes = text.as_bytes();
        if let [.., a, b] = bytes
            && a == b
            && a.is_ascii_alphabetic()
            && !matches!(a, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
            && bytes.len() > 3
        {
            text.pop();
        }
        true
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// Registers the analyzers; tokenizers are not persisted, so every opened
/// index needs this before it indexes or parses a query.
pub(crate) fn register_tokenizers(index: &Index) {
    for analysis in Analysis::ALL {
        index.tokenizers().register(&analysis.tokenizer(), analyzer(analysis));
    }
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

/// `YYYYMMDD` of the local date in Europe/Amsterdam.
pub(crate) fn local_day(t: chrono::DateTime<chrono::Utc>) -> u64 {
    use chrono::Datelike;
    let local = chrono_tz::Europe::Amsterdam.from_utc_datetime(&t.naive_utc());
    let (y, m, d) = (local.year().clamp(0, 9999) as u64, u64::from(local.month()), u64::from(local.day()));
    y * 10_000 + m * 100 + d
}

/// `YYYY-MM-DD` of a [`local_day`] value.
pub(crate) fn day_label(day: u64) -> String {
    format!("{:04}-{:02}-{:02}", day / 10_000, day / 100 % 100, day % 100)
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
    let lang = a.lang.as_ref().or(m.lang_hint.as_ref());
    let analysis = Analysis::of_lang(lang.map(String::as_str));
    let group = f.group(analysis);
    if let Some(title) = &m.title {
        doc.add_text(f.title, title);
        doc.add_text(group.title, title);
    }
    doc.add_text(f.text, &m.text);
    doc.add_text(group.text, &m.text);
    if let Some(lang) = lang {
        doc.add_text(f.lang, lang);
    }
    doc.add_text(f.analysis, analysis.code());
    for theme in &a.themes {
        doc.add_text(f.themes, theme);
    }
    doc.add_u64(f.level, u64::from(a.level.as_u8()));
    doc.add_f64(f.score, f64::from(a.score));
    for code in &a.municipalities {
        doc.add_text(f.municipalities, code.as_str());
    }
    // A publication time after the fetch is a feed's error; clamping it keeps
    // every document of a bucket published before the bucket ends, which lets
    // a time filter skip whole buckets. One far in the future (a year-2200
    // date) is no publication time: the fetch time stands in, estimated.
    let (published, estimated) = match m.publication_time() {
        Some(p) => (p.to_utc(), false),
        None => (m.fetched_at, true),
    };
    doc.add_date(f.published_at, to_tantivy_date(published));
    doc.add_u64(f.day, local_day(published));
    doc.add_bool(f.published_estimated, estimated);
    doc.add_date(f.fetched_at, to_tantivy_date(m.fetched_at));
    if let Some(event) = a.event_time {
        doc.add_date(f.event_time, to_tantivy_date(event.to_utc()));
    }
    if !a.explanation.is_empty()
        && let Ok(json) = serde_json::to_string(&a.explanation)
    {
        doc.add_text(f.explanation, json);
    }
    if let Some(author) = &m.author {
        doc.add_text(f.author, author.as_str());
    }
    doc
}
