//! Feed parsing: raw bytes in, plain-text items with stable dedup keys out.
//!
//! feed-rs does the format work (RSS 0.9x/1.0/2.0, Atom, JSON Feed) from the
//! raw bytes, so it honours the XML encoding declaration (ISO-8859-1 feeds
//! are common in the Netherlands). Around it:
//!
//! - XML first passes [`crate::xml_guard`];
//! - an `<rss>` root without `version` (which feed-rs rejects) is retried once
//!   as `version="2.0"`;
//! - feed-rs invents an id for items without guid/id: a SipHash of link and
//!   title, or a *random* UUID when there is no link. We register an id
//!   generator that returns an empty string instead, so an empty `entry.id`
//!   means exactly "the feed had no id" and our own key takes over: the
//!   canonical link, else a SHA-256 of the normalised title and date. Keys
//!   are prefixed (`id:`, `link:`, `hash:`) so the kinds cannot collide;
//! - feed-rs hands every raw date text to a pluggable timestamp parser; ours
//!   ([`date::parse_lenient`]) also reads Dutch day/month names and zone
//!   names, and reads zone-less times in Europe/Amsterdam. feed-rs keeps
//!   dates in UTC, so `published_at` is given in Europe/Amsterdam's offset
//!   (same instant);
//! - every text goes through [`crate::text::clean`]: HTML to text,
//!   normalised, mentions masked (after normalising, so a stripped control
//!   character cannot hide a mention), capped;
//! - an item's link goes through [`crate::links::item_url`]: one that names
//!   an account is rewritten to a handle-free form or dropped;
//! - keys longer than [`MAX_KEY_BYTES`] become a SHA-256 of the id or link
//!   (`idh:`, `linkh:`), links longer than [`MAX_URL_BYTES`] are dropped, and
//!   at most `max_items` items are taken from one document;
//! - dates outside [`date::SUPPORTED_YEARS`] are dropped;
//! - error messages never quote the document (a JSON type error would quote a
//!   handle): only a category and a position.

pub mod config;
pub mod date;
mod poller;

pub use poller::{FeedPoller, FeedSource};

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Europe::Amsterdam;
use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use onrust_model::SourceId;
use sha2::{Digest, Sha256};
use url::Url;

use crate::text::clean;
use crate::xml_guard::{self, XmlGuardError, XmlLimits};

/// Dedup keys longer than this are replaced by a hash (`idh:`, `linkh:`).
pub const MAX_KEY_BYTES: usize = 256;

/// Item links longer than this are dropped.
pub const MAX_URL_BYTES: usize = 2048;

/// Options for [`parse_feed`].
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Structural caps for XML feeds.
    pub xml_limits: XmlLimits,
    /// Maximum characters of an item title.
    pub max_title_chars: usize,
    /// Maximum characters of an item text.
    pub max_text_chars: usize,
    /// Maximum items taken from one document; the rest are counted in [`ParsedFeed::truncated_items`].
    pub max_items: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { xml_limits: XmlLimits::default(), max_title_chars: 500, max_text_chars: 20_000, max_items: 5000 }
    }
}

/// A parsed feed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    /// RSS `<ttl>`: how long the feed may be cached.
    pub ttl: Option<Duration>,
    /// The language the feed declares.
    pub lang: Option<String>,
    /// The items in feed order, at most `max_items`.
    pub items: Vec<FeedItem>,
    /// Items beyond `max_items`, ignored.
    pub truncated_items: usize,
}

/// One feed item, already plain text.
#[derive(Clone, PartialEq)]
pub struct FeedItem {
    /// Stable key: `id:<guid>`, `link:<canonical link>` or `hash:<sha256 of title and date>`;
    /// a key longer than [`MAX_KEY_BYTES`] is `idh:`/`linkh:` and the SHA-256 of the guid or link.
    pub dedup_key: String,
    /// The item's link, http or https only, without an account in it
    /// ([`crate::links::item_url`]), at most [`MAX_URL_BYTES`] long.
    pub url: Option<String>,
    /// Plain, normalised title, at most `max_title_chars`.
    pub title: Option<String>,
    /// Plain, normalised text (content, else summary), at most `max_text_chars`.
    pub text: String,
    /// When the item was published (or updated, if that is all it says).
    pub published_at: Option<DateTime<FixedOffset>>,
    /// The raw author name or handle, to be pseudonymised; never log it.
    pub author: Option<String>,
}

impl std::fmt::Debug for FeedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The author stays out of debug output (rule L2).
        f.debug_struct("FeedItem")
            .field("dedup_key", &self.dedup_key)
            .field("url", &self.url)
            .field("title", &self.title)
            .field("text_chars", &self.text.chars().count())
            .field("published_at", &self.published_at)
            .field("author", &self.author.as_ref().map(|_| ".."))
            .finish()
    }
}

/// Why a body is not a usable feed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FeedError {
    /// The body is empty or whitespace.
    #[error("body is empty")]
    Empty,
    /// The body is something else, e.g. an HTML page.
    #[error("{0}")]
    NotAFeed(String),
    /// The document ends before it is complete.
    #[error("feed is truncated: {0}")]
    Truncated(String),
    /// The document is not well-formed or not valid for its format.
    #[error("feed is malformed: {0}")]
    Malformed(String),
    /// The XML guard refused it.
    #[error("feed refused: {0}")]
    XmlGuard(#[source] XmlGuardError),
}

/// Parses a feed body. `source` and `fetched_at` are context only (`fetched_at`
/// is used nowhere in the keys, which depend on the bytes alone).
pub fn parse_feed(
    bytes: &[u8],
    source: &SourceId,
    fetched_at: DateTime<Utc>,
    opts: &ParseOptions,
) -> Result<ParsedFeed, FeedError> {
    let _ = (source, fetched_at);
    let body = trim_start(bytes);
    let Some(&first) = body.first() else {
        return Err(FeedError::Empty);
    };
    if first == b'<' {
        if looks_like_html(body) {
            return Err(FeedError::NotAFeed("body is an html page, not a feed".into()));
        }
        match xml_guard::check(body, opts.xml_limits) {
            Ok(()) => {}
            Err(e @ XmlGuardError::Malformed { truncated, .. }) => {
                return Err(if truncated {
                    FeedError::Truncated(e.to_string())
                } else {
                    FeedError::Malformed(e.to_string())
                });
            }
            Err(e) => return Err(FeedError::XmlGuard(e)),
        }
    } else if first != b'{' {
        return Err(FeedError::NotAFeed("body is neither xml nor json, not a feed".into()));
    }

    let feed = match parse_raw(body) {
        Ok(feed) => feed,
        Err(ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot)) => match with_rss_version(body) {
            Some(fixed) => parse_raw(&fixed).map_err(|e| map_parse_error(e, &fixed))?,
            None => return Err(map_parse_error(ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot), body)),
        },
        Err(e) => return Err(map_parse_error(e, body)),
    };
    Ok(convert(feed, opts))
}

fn parse_raw(bytes: &[u8]) -> Result<feed_rs::model::Feed, ParseFeedError> {
    feed_rs::parser::Builder::new()
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(|text| date::parse_lenient(text).map(|d| d.with_timezone(&Utc)))
        .build()
        .parse(bytes)
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    &bytes[start..]
}

fn looks_like_html(body: &[u8]) -> bool {
    let head: Vec<u8> = body.iter().take(2048).map(u8::to_ascii_lowercase).collect();
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    let feedish = has(b"<rss") || has(b"<feed") || has(b"<rdf:rdf") || has(b"<entry");
    !feedish && (head.starts_with(b"<!doctype html") || has(b"<html"))
}

/// Inserts `version="2.0"` into an `<rss>` start tag that lacks a version.
fn with_rss_version(body: &[u8]) -> Option<Vec<u8>> {
    let head = &body[..body.len().min(64 * 1024)];
    let start = head.windows(4).position(|w| w == b"<rss")?;
    let after = start + 4;
    if !matches!(head.get(after), Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')) {
        return None;
    }
    let end = after + head[after..].iter().position(|&b| b == b'>')?;
    if head[after..end].windows(7).any(|w| w == b"version") {
        return None;
    }
    let mut fixed = Vec::with_capacity(body.len() + 16);
    fixed.extend_from_slice(&body[..after]);
    fixed.extend_from_slice(b" version=\"2.0\"");
    fixed.extend_from_slice(&body[after..]);
    Some(fixed)
}

/// Maps a feed-rs error to a message that names the kind of problem and its
/// position but never quotes the document: feed-rs's own messages (serde_json's
/// "invalid type: string \"...\"", quick-xml's tag and entity names) can carry
/// handles into the logs (rule L2).
fn map_parse_error(e: ParseFeedError, body: &[u8]) -> FeedError {
    match e {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            FeedError::NotAFeed("no rss, atom, rdf or json feed root element found".into())
        }
        ParseFeedError::ParseError(ParseErrorKind::UnknownMimeType(_)) => {
            FeedError::Malformed("content has an unsupported type".into())
        }
        ParseFeedError::ParseError(ParseErrorKind::MissingContent(what)) => {
            FeedError::Malformed(format!("required content is missing: {what}"))
        }
        ParseFeedError::IoError(e) => FeedError::Malformed(format!("could not read the feed: {}", e.kind())),
        ParseFeedError::JsonSerde(e) => json_error(&e),
        ParseFeedError::JsonUnsupportedVersion(_) => FeedError::Malformed("unsupported json feed version".into()),
        ParseFeedError::XmlReader(e) => match xml_guard::first_error(body) {
            Some(found @ XmlGuardError::Malformed { truncated: true, .. }) => FeedError::Truncated(found.to_string()),
            Some(found) => FeedError::Malformed(found.to_string()),
            None => FeedError::Malformed(xml_error_kind(&e.to_string()).into()),
        },
    }
}

/// What kind of JSON error `e` is, in words that never quote the input
/// (serde_json's own messages can quote a value, such as a handle).
pub(crate) fn json_error_category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "i/o error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "a field has the wrong type or value",
        serde_json::error::Category::Eof => "unexpected end of input",
    }
}

/// A JSON error as category and position only.
fn json_error(e: &serde_json::Error) -> FeedError {
    let category = json_error_category(e);
    let message = format!("invalid json at line {} column {}: {category}", e.line(), e.column());
    if e.is_eof() { FeedError::Truncated(message) } else { FeedError::Malformed(message) }
}

/// The kind of a feed-rs XML error from the fixed prefix of its message
/// (the type is private to feed-rs); the rest of the message is dropped.
fn xml_error_kind(message: &str) -> &'static str {
    let kinds = [
        ("Parser error", "xml parser error"),
        ("Url error", "invalid url in the feed"),
        ("Encoding error", "invalid text encoding"),
        ("Escape error", "invalid entity or character reference"),
    ];
    kinds.iter().find(|(prefix, _)| message.starts_with(prefix)).map_or("invalid xml", |(_, kind)| kind)
}

fn convert(feed: feed_rs::model::Feed, opts: &ParseOptions) -> ParsedFeed {
    let ttl = feed.ttl.map(|minutes| Duration::from_secs(u64::from(minutes) * 60));
    let lang = feed.language.as_deref().map(|l| clean(l, false, 35)).filter(|l| !l.is_empty());
    let truncated_items = feed.entries.len().saturating_sub(opts.max_items);
    let items = feed.entries.into_iter().take(opts.max_items).map(|entry| convert_entry(entry, opts)).collect();
    ParsedFeed { ttl, lang, items, truncated_items }
}

/// `<prefix>:<value>`, or `<hashed_prefix>:<sha256 hex of value>` when that would exceed [`MAX_KEY_BYTES`].
fn bounded_key(prefix: &str, hashed_prefix: &str, value: &str) -> String {
    if prefix.len() + 1 + value.len() <= MAX_KEY_BYTES {
        format!("{prefix}:{value}")
    } else {
        format!("{hashed_prefix}:{}", hex::encode(Sha256::digest(value.as_bytes())))
    }
}

fn convert_entry(entry: feed_rs::model::Entry, opts: &ParseOptions) -> FeedItem {
    let title = entry.title.as_ref().map(|t| clean(&t.content, true, opts.max_title_chars)).filter(|t| !t.is_empty());
    let content_body = entry.content.as_ref().and_then(|c| c.body.as_deref()).filter(|b| !b.trim().is_empty());
    let summary = entry.summary.as_ref().map(|s| s.content.as_str()).filter(|s| !s.trim().is_empty());
    let media_description = entry.media.iter().find_map(|m| m.description.as_ref().map(|d| d.content.as_str()));
    let text =
        content_body.or(summary).or(media_description).map(|t| clean(t, true, opts.max_text_chars)).unwrap_or_default();
    // Whatever parsed the date, a year the later stages cannot store is no date.
    let published_at = entry
        .published
        .filter(date::in_supported_range)
        .or(entry.updated.filter(date::in_supported_range))
        .map(|d| d.with_timezone(&Amsterdam).fixed_offset());
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(entry.links.first())
        .map(|l| l.href.trim().to_owned());
    // L2, L3: a profile or post link that names its author is rewritten or dropped here.
    let url = link.as_deref().and_then(crate::links::item_url).filter(|u| u.len() <= MAX_URL_BYTES);
    let author = entry.authors.first().map(|p| p.name.trim().to_owned()).filter(|a| !a.is_empty());

    let id = entry.id.trim();
    let dedup_key = if !id.is_empty() {
        bounded_key("id", "idh", id)
    } else if let Some(canonical) = link.as_deref().and_then(canonical_link) {
        bounded_key("link", "linkh", &canonical)
    } else {
        let mut hasher = Sha256::new();
        hasher.update(title.as_deref().unwrap_or_default().as_bytes());
        hasher.update([0]);
        hasher.update(published_at.map(|d| d.timestamp().to_string()).unwrap_or_default().as_bytes());
        if title.is_none() {
            hasher.update([0]);
            hasher.update(text.as_bytes());
        }
        format!("hash:{}", hex::encode(hasher.finalize()))
    };
    FeedItem { dedup_key, url, title, text, published_at, author }
}

fn http_url(s: &str) -> Option<Url> {
    let url = Url::parse(s).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// Canonical form of a link for deduplication: scheme and host lowercased (the
/// url crate does that), fragment removed, tracking parameters removed.
pub fn canonical_link(s: &str) -> Option<String> {
    let mut url = http_url(s)?;
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !(k.starts_with("utm_") || matches!(k.as_str(), "fbclid" | "gclid" | "mc_cid" | "mc_eid" | "igshid"))
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ParsedFeed, FeedError> {
        parse_feed(s.as_bytes(), &SourceId::new("t").unwrap(), Utc::now(), &ParseOptions::default())
    }

    const DUTCH: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Gemeente</title><language>nl</language><ttl>30</ttl>
<item><title>Demonstratie &amp; mars op het Neude</title><link>https://Example.NL/a?utm_source=x&amp;id=3#top</link>
<description>&lt;p&gt;Oproep van @jan_demo@mastodon.social&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description>
<pubDate>za, 14 jun 2026 10:00:00 +0200</pubDate><dc:creator>canary-handle-xyz</dc:creator></item>
<item><title>Tweede</title><guid isPermaLink="false">abc-2</guid><pubDate>zaterdag 14 juni 2026 11:00</pubDate>
<link>javascript:alert(1)</link></item>
<item><title>Derde zonder link</title><description>x</description><dc:date>ma, 2 mrt 2026 09:30 CET</dc:date></item>
</channel></rss>"#;

    #[test]
    fn dutch_feed_with_dutch_dates() {
        let feed = parse(DUTCH).unwrap();
        assert_eq!(feed.lang.as_deref(), Some("nl"));
        assert_eq!(feed.ttl, Some(Duration::from_secs(1800)));
        assert_eq!(feed.items.len(), 3);
        let a = &feed.items[0];
        assert_eq!(a.title.as_deref(), Some("Demonstratie & mars op het Neude"));
        assert_eq!(a.text, "Oproep van @[user]");
        assert_eq!(a.dedup_key, "link:https://example.nl/a?id=3");
        assert_eq!(a.url.as_deref(), Some("https://example.nl/a?utm_source=x&id=3#top"));
        assert_eq!(a.published_at.unwrap().to_rfc3339(), "2026-06-14T10:00:00+02:00");
        assert_eq!(a.author.as_deref(), Some("canary-handle-xyz"));
        assert!(!format!("{a:?}").contains("canary"));
        let b = &feed.items[1];
        assert_eq!(b.dedup_key, "id:abc-2");
        assert_eq!(b.url, None);
        assert_eq!(b.published_at.unwrap().to_rfc3339(), "2026-06-14T11:00:00+02:00");
        let c = &feed.items[2];
        assert!(c.dedup_key.starts_with("hash:"), "{}", c.dedup_key);
        assert_eq!(c.published_at.unwrap().to_rfc3339(), "2026-03-02T09:30:00+01:00");
        assert_eq!(parse(DUTCH).unwrap(), feed, "parsing is deterministic");
    }

    #[test]
    fn html_empty_and_truncated_bodies() {
        let html = "<!DOCTYPE html><html><head><title>Oops</title></head><body>Not found</body></html>";
        assert_eq!(parse(html).unwrap_err().to_string(), "body is an html page, not a feed");
        assert!(matches!(parse("  \n"), Err(FeedError::Empty)));
        assert!(matches!(parse("hello"), Err(FeedError::NotAFeed(_))));
        let truncated = &DUTCH[..DUTCH.len() / 2];
        let err = parse(truncated).unwrap_err();
        assert!(matches!(err, FeedError::Truncated(_)), "{err}");
        assert!(matches!(
            parse("{\"version\": \"https://jsonfeed.org/version/1\", \"items\": ["),
            Err(FeedError::Truncated(_))
        ));
    }

    #[test]
    fn rss_without_version_is_retried() {
        let feed = parse("<rss><channel><title>t</title><item><title>x</title><guid>g1</guid></item></channel></rss>")
            .unwrap();
        assert_eq!(feed.items.len(), 1);
        assert_eq!(feed.items[0].dedup_key, "id:g1");
    }

    #[test]
    fn items_without_guid_or_link_get_stable_keys() {
        let doc = "<rss version=\"2.0\"><channel><title>t</title><item><title>Zonder id</title></item><item><description>alleen tekst</description></item></channel></rss>";
        let one = parse(doc).unwrap();
        let two = parse(doc).unwrap();
        assert_eq!(one.items.len(), 2);
        for (a, b) in one.items.iter().zip(&two.items) {
            assert!(a.dedup_key.starts_with("hash:"));
            assert_eq!(a.dedup_key, b.dedup_key);
        }
        assert_ne!(one.items[0].dedup_key, one.items[1].dedup_key);
    }

    #[test]
    fn entity_attacks_are_refused() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><item><title>&xxe;</title></item></channel></rss>"#;
        assert!(matches!(parse(xxe), Err(FeedError::XmlGuard(XmlGuardError::EntityDeclaration))));
    }

    #[test]
    fn long_ids_and_links_are_hashed_and_long_urls_dropped() {
        let long_id = "g".repeat(300);
        let long_link = format!("https://example.nl/{}", "p".repeat(3000));
        let doc = format!(
            "<rss version=\"2.0\"><channel><title>t</title>\
             <item><title>a</title><guid>{long_id}</guid></item>\
             <item><title>b</title><link>{long_link}</link></item>\
             <item><title>c</title><guid>{}</guid></item></channel></rss>",
            "k".repeat(MAX_KEY_BYTES - 3)
        );
        let feed = parse(&doc).unwrap();
        let expected_id = format!("idh:{}", hex::encode(Sha256::digest(long_id.as_bytes())));
        assert_eq!(feed.items[0].dedup_key, expected_id);
        let expected_link = format!("linkh:{}", hex::encode(Sha256::digest(long_link.as_bytes())));
        assert_eq!(feed.items[1].dedup_key, expected_link);
        assert_eq!(feed.items[1].url, None, "a url over {MAX_URL_BYTES} bytes is dropped");
        // Exactly at the cap the key stays readable.
        assert_eq!(feed.items[2].dedup_key.len(), MAX_KEY_BYTES);
        assert!(feed.items[2].dedup_key.starts_with("id:k"));
        assert!(feed.items.iter().all(|i| i.dedup_key.len() <= MAX_KEY_BYTES));
    }

    #[test]
    fn items_beyond_max_items_are_counted_not_kept() {
        let items: String = (0..7).map(|i| format!("<item><title>t{i}</title><guid>g{i}</guid></item>")).collect();
        let doc = format!("<rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>");
        let opts = ParseOptions { max_items: 5, ..ParseOptions::default() };
        let feed = parse_feed(doc.as_bytes(), &SourceId::new("t").unwrap(), Utc::now(), &opts).unwrap();
        assert_eq!(feed.items.len(), 5);
        assert_eq!(feed.truncated_items, 2);
        assert_eq!(feed.items[4].dedup_key, "id:g4");
        assert_eq!(parse(&doc).unwrap().truncated_items, 0);
    }

    #[test]
    fn dates_beyond_the_supported_years_are_dropped() {
        let doc = "<rss version=\"2.0\"><channel><title>t</title>\
            <item><title>a</title><guid>a</guid><pubDate>Sat, 14 Jun 2300 10:00:00 +0000</pubDate></item>\
            <item><title>b</title><guid>b</guid><pubDate>1960-01-01T00:00:00Z</pubDate></item>\
            <item><title>c</title><guid>c</guid><pubDate>2026-06-14T10:00:00Z</pubDate></item></channel></rss>";
        let feed = parse(doc).unwrap();
        assert_eq!(feed.items[0].published_at, None);
        assert_eq!(feed.items[1].published_at, None);
        assert!(feed.items[2].published_at.is_some());
        let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
            {"id": "1", "title": "x", "date_published": "9999-01-01T00:00:00Z"}]}"#;
        assert_eq!(parse(json).unwrap().items[0].published_at, None);
    }

    #[test]
    fn mentions_hidden_by_control_characters_are_masked() {
        let doc = "<rss version=\"2.0\"><channel><title>t</title><item><guid>a</guid>\
            <title>@&#x200E;jan zegt</title><description>oproep van @\u{202E}jan en @&#x7;piet</description>\
            </item></channel></rss>";
        let feed = parse(doc).unwrap();
        assert_eq!(feed.items[0].title.as_deref(), Some("@[user] zegt"));
        assert_eq!(feed.items[0].text, "oproep van @[user] en @[user]");
    }

    /// L2, L3: an item's link and the links in its text name no account.
    #[test]
    fn links_that_name_an_account_lose_the_name() {
        let doc = "<rss version=\"2.0\"><channel><title>t</title>\
            <item><guid>a</guid><title>Zie x.com/canary_name_5</title><link>https://mastodon.social/@canary_name_5/123</link>\
            <description>&lt;p&gt;Oproep op https://twitter.com/canary_name_5 en \
            &lt;a href=\"https://t.me/canary_name_5\"&gt;t.me/canary_name_5&lt;/a&gt;&lt;/p&gt;</description></item>\
            <item><guid>b</guid><title>b</title><link>https://www.instagram.com/canary_name_5/</link></item>\
            </channel></rss>";
        let feed = parse(doc).unwrap();
        let a = &feed.items[0];
        assert_eq!(a.url.as_deref(), Some("https://mastodon.social/api/v1/statuses/123"));
        assert_eq!(a.text, "Oproep op https://twitter.com/[user] en t.me/[user]");
        assert_eq!(a.title.as_deref(), Some("Zie x.com/[user]"));
        assert_eq!(feed.items[1].url, None, "a profile link has no handle-free form");
        assert!(!format!("{feed:?}").contains("canary_name_5"));
    }

    #[test]
    fn json_errors_do_not_quote_values() {
        let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
            {"id": "1", "title": "x", "authors": "canary_handle_77"}]}"#;
        let err = parse(json).unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("canary_handle_77"), "{message}");
        assert!(matches!(err, FeedError::Malformed(_)), "{err}");
        assert!(message.contains("line 2 column"), "{message}");
        let err = parse(r#"{"version": "canary_handle_77", "items": [{"id": 1}]}"#).unwrap_err();
        assert!(!err.to_string().contains("canary_handle_77"), "{err}");
    }

    #[test]
    fn xml_errors_do_not_quote_the_document() {
        for doc in [
            "<rss version=\"2.0\"><channel><title>t</title><item><canary_handle_77></item></channel></rss>",
            "<rss version=\"2.0\"><channel><title>&canary_handle_77;</title></channel></rss>",
            "<rss version=\"2.0\"><channel><item><link>http://[canary_handle_77</link></item></channel></rss>",
            "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title></canary_handle_77></channel></rss>",
            "<rss version=\"2.0\"><channel><canary_handle_77><title>t</title>",
        ] {
            if let Err(err) = parse(doc) {
                assert!(!err.to_string().contains("canary_handle_77"), "{doc}: {err}");
            }
        }
        let err = parse("<rss version=\"2.0\"><channel><canary_handle_77><title>t</title>").unwrap_err();
        assert!(matches!(err, FeedError::Truncated(_)), "{err}");
    }

    #[test]
    fn canonical_links() {
        assert_eq!(
            canonical_link("HTTPS://WWW.Example.nl/Pad?utm_medium=a&b=1#x").as_deref(),
            Some("https://www.example.nl/Pad?b=1")
        );
        assert_eq!(canonical_link("http://example.nl/?utm_source=a").as_deref(), Some("http://example.nl/"));
        assert_eq!(canonical_link("mailto:a@b.nl"), None);
        assert_eq!(canonical_link("/relative"), None);
    }
}
