//! Search requests and their validation before the index sees them (rule S7).
//!
//! The query language is tantivy's (`word`, `"a phrase"`, `field:value`,
//! `AND`/`OR`/`NOT`, `+`/`-`, `( )`, ranges `[a TO b]`), with AND as the
//! default operator, minus whatever could be slow or could single out a
//! person. Everything here runs in time linear in the query's length.

use chrono::{DateTime, Utc};
use onrust_model::{Level, MunicipalityCode};
use serde::{Deserialize, Serialize};

use crate::schema::{AUTHOR, QUERY_FIELDS};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Deepest parenthesis nesting accepted.
pub const MAX_NESTING: usize = 8;
/// Largest page.
pub const MAX_LIMIT: usize = 100;
/// Deepest page start (paging deeper is a scan, not a search).
pub const MAX_OFFSET: usize = 10_000;
/// Largest edit distance after `term~N`.
pub const MAX_FUZZY: u32 = 1;
/// Largest proximity after `"a phrase"~N`.
pub const MAX_PHRASE_SLOP: u32 = 10;

/// How hits are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (BM25 over title and text).
    #[default]
    Relevance,
    /// Latest `published_at` first.
    Newest,
    /// Earliest `published_at` first.
    Oldest,
}

/// One search. `query` empty or `*` means every document, then filtered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchRequest {
    pub query: String,
    pub municipality: Option<MunicipalityCode>,
    pub theme: Option<String>,
    pub min_level: Option<Level>,
    /// Inclusive lower bound on `published_at`.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `published_at`.
    pub until: Option<DateTime<Utc>>,
    /// Only this source kind (`feed`, `mastodon`, `authority`, ...).
    pub source_kind: Option<String>,
    /// Only this language (`nl`, `en`, ...; as the classifier detected it).
    pub lang: Option<String>,
    /// Also count the matching documents per municipality, theme, level and day.
    pub facets: bool,
    /// 1..=[`MAX_LIMIT`].
    pub limit: usize,
    /// 0..=[`MAX_OFFSET`].
    pub offset: usize,
    pub sort: Sort,
}

impl Default for SearchRequest {
    fn default() -> Self {
        Self {
            query: String::new(),
            municipality: None,
            theme: None,
            min_level: None,
            since: None,
            until: None,
            source_kind: None,
            lang: None,
            facets: false,
            limit: 20,
            offset: 0,
            sort: Sort::Relevance,
        }
    }
}

impl SearchRequest {
    /// A request for `query` with default paging (20 hits) and no filters.
    pub fn new(query: impl Into<String>) -> Self {
        Self { query: query.into(), ..Self::default() }
    }
}

/// Why a request was refused: a bounded metric label and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub reason: &'static str,
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(reason: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { reason, message: message.into() }
    }
}

fn refuse(reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::new(reason, message)
}

/// Checks paging, time range and query; returns the query text to hand to
/// the parser (`None` for "all documents").
pub(crate) fn validate(req: &SearchRequest) -> Result<Option<String>, Refusal> {
    if req.limit == 0 || req.limit > MAX_LIMIT {
        return Err(refuse("limit", format!("limit must be between 1 and {MAX_LIMIT}, not {}", req.limit)));
    }
    if req.offset > MAX_OFFSET {
        return Err(refuse("offset", format!("offset must be at most {MAX_OFFSET}, not {}", req.offset)));
    }
    if let (Some(since), Some(until)) = (req.since, req.until)
        && since >= until
    {
        return Err(refuse("time_range", "since must be before until"));
    }
    for (name, value) in [("theme", &req.theme), ("source_kind", &req.source_kind), ("lang", &req.lang)] {
        if let Some(value) = value
            && (value.is_empty() || value.len() > 64)
        {
            return Err(refuse("filter", format!("{name} must be 1 to 64 characters")));
        }
    }
    validate_query(&req.query)
}

/// Validates a query string; `Ok(None)` means "all documents".
pub(crate) fn validate_query(query: &str) -> Result<Option<String>, Refusal> {
    let chars = query.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(refuse(
            "too_long",
            format!("the query is {chars} characters long; at most {MAX_QUERY_CHARS} are allowed"),
        ));
    }
    let trimmed = query.trim();
    if trimmed.is_empty() || trimmed == "*" {
        return Ok(None);
    }
    refuse_author(trimmed)?;
    let normalised = escape_in_words(trimmed);
    Scanner::new(&normalised).run()?;
    Ok(Some(normalised))
}

fn author_refusal() -> Refusal {
    refuse("author_field", "searching by author is not allowed")
}

/// Refuses `author:` in any spelling (case, escapes, spaces before the colon),
/// even where the parser would not read it as a field: a conservative net
/// under the field allow-list (rule L1).
fn refuse_author(query: &str) -> Result<(), Refusal> {
    let lower = query.to_lowercase();
    let mut rest = lower.as_str();
    while let Some(pos) = rest.find(AUTHOR) {
        let after = rest[pos + AUTHOR.len()..].trim_start_matches(|c: char| c.is_whitespace() || c == '\\');
        if after.starts_with(':') {
            return Err(author_refusal());
        }
        rest = &rest[pos + AUTHOR.len()..];
    }
    Ok(())
}

/// Tantivy reads `'` as a phrase delimiter, which breaks Dutch words such as
/// `auto's` or `zo'n`; an apostrophe right after a letter or digit is
/// escaped so it stays inside the word. A colon between digits (`20:00`) is
/// a time, not a field, and is escaped too, except where it is part of a
/// range's bound (`[2026-11-01T00:00:00Z TO *]`,
/// `published_at:>2026-11-01T12:00:00Z`), which the grammar reads whole.
fn escape_in_words(query: &str) -> String {
    let chars: Vec<char> = query.chars().collect();
    let mut out = String::with_capacity(query.len() + 8);
    let mut in_range = false;
    let mut word_start = 0;
    let mut date_value = false;
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let escaped = prev == Some('\\');
        if c.is_whitespace() || c == '(' || c == ')' {
            word_start = i + 1;
            date_value = false;
        }
        match c {
            '[' | '{' if !escaped => in_range = true,
            ']' | '}' if !escaped => in_range = false,
            ':' if !escaped && !date_value => {
                let field: String = chars[word_start..i].iter().collect();
                // `published_at:>…` is a range, whose bound is read whole; a plain
                // value is a word, in which the grammar wants its colons escaped.
                date_value = DATE_FIELDS.contains(&field.trim_start_matches(['+', '-', '!']))
                    && next.is_some_and(|n| n == '>' || n == '<');
            }
            _ => {}
        }
        let apostrophe = c == '\'' && prev.is_some_and(char::is_alphanumeric);
        let clock = c == ':'
            && !in_range
            && !date_value
            && prev.is_some_and(|p| p.is_ascii_digit())
            && next.is_some_and(|n| n.is_ascii_digit());
        if (apostrophe || clock) && !escaped {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The fields that hold times: their values and range bounds are timestamps.
pub(crate) const DATE_FIELDS: [&str; 2] = [crate::schema::PUBLISHED_AT, crate::schema::EVENT_TIME];

/// A single pass over the query that tracks quotes, ranges and parentheses
/// and checks every bare word.
struct Scanner {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    word: String,
}

impl Scanner {
    fn new(query: &str) -> Self {
        Self { chars: query.chars().collect(), pos: 0, depth: 0, word: String::new() }
    }

    fn run(mut self) -> Result<(), Refusal> {
        while let Some(&c) = self.chars.get(self.pos) {
            match c {
                '\\' => {
                    self.word.push(c);
                    if let Some(&next) = self.chars.get(self.pos + 1) {
                        self.word.push(next);
                        self.pos += 1;
                    }
                }
                '(' => {
                    self.flush()?;
                    self.depth += 1;
                    if self.depth > MAX_NESTING {
                        return Err(refuse("nesting", format!("parentheses are nested more than {MAX_NESTING} deep")));
                    }
                }
                ')' => {
                    self.flush()?;
                    if self.depth == 0 {
                        return Err(refuse("unbalanced", "a ')' has no matching '('"));
                    }
                    self.depth -= 1;
                }
                '"' | '\'' => {
                    self.flush()?;
                    self.skip_phrase(c)?;
                }
                '[' | '{' => {
                    self.flush()?;
                    self.skip_range(c)?;
                }
                c if c.is_whitespace() => self.flush()?,
                c => self.word.push(c),
            }
            self.pos += 1;
        }
        self.flush()?;
        if self.depth > 0 {
            return Err(refuse("unbalanced", "a '(' is not closed"));
        }
        Ok(())
    }

    /// Skips a quoted phrase starting at `self.pos`, then checks a `~N` after it.
    fn skip_phrase(&mut self, quote: char) -> Result<(), Refusal> {
        let mut i = self.pos + 1;
        loop {
            match self.chars.get(i) {
                None => return Err(refuse("unbalanced", format!("a {quote} is not closed"))),
                Some('\\') => i += 2,
                Some(&c) if c == quote => break,
                Some(_) => i += 1,
            }
        }
        if self.chars.get(i + 1) == Some(&'~') {
            let (n, end) = self.number_at(i + 2);
            if n.is_some_and(|n| n > MAX_PHRASE_SLOP) || n.is_none() {
                return Err(refuse(
                    "slop",
                    format!("a phrase's ~N proximity must be a number up to {MAX_PHRASE_SLOP}"),
                ));
            }
            i = end - 1;
        }
        self.pos = i;
        Ok(())
    }

    /// Skips a `[a TO b]` / `{a TO b}` range or an `IN [a b]` set.
    fn skip_range(&mut self, open: char) -> Result<(), Refusal> {
        let close = if open == '[' { [']', '}'] } else { ['}', ']'] };
        let mut i = self.pos + 1;
        loop {
            match self.chars.get(i) {
                None => return Err(refuse("unbalanced", format!("a '{open}' is not closed"))),
                Some(c) if close.contains(c) => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i;
        Ok(())
    }

    /// Reads decimal digits from `start`; returns the value (None if no digits
    /// or too large) and the index after them.
    fn number_at(&self, start: usize) -> (Option<u32>, usize) {
        let mut end = start;
        while self.chars.get(end).is_some_and(char::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return (None, end);
        }
        let digits: String = self.chars[start..end].iter().collect();
        (digits.parse().ok(), end)
    }

    /// Checks the word collected so far: its field, then its value.
    fn flush(&mut self) -> Result<(), Refusal> {
        let word = std::mem::take(&mut self.word);
        let word = word.trim_start_matches(['+', '-', '!']);
        if word.is_empty() {
            return Ok(());
        }
        let value = match unescaped_colon(word) {
            Some(colon) => {
                check_field(&word[..colon])?;
                &word[colon + 1..]
            }
            None => word,
        };
        check_value(value)
    }
}

/// Byte index of the first `:` not preceded by a backslash.
fn unescaped_colon(word: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in word.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            ':' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn check_field(name: &str) -> Result<(), Refusal> {
    let plain: String = name.chars().filter(|&c| c != '\\').collect();
    if plain.to_lowercase() == AUTHOR || plain.to_lowercase().starts_with("author.") {
        return Err(author_refusal());
    }
    if QUERY_FIELDS.contains(&plain.as_str()) {
        return Ok(());
    }
    let shown: String = plain.chars().take(40).collect();
    Err(refuse(
        "unknown_field",
        format!("unknown field {shown:?}; the fields you can search are {}", QUERY_FIELDS.join(", ")),
    ))
}

fn check_value(value: &str) -> Result<(), Refusal> {
    if value.starts_with('/') {
        return Err(refuse("regex", "regular expressions (/…/) are not allowed"));
    }
    if value.len() > 1 && value.starts_with('*') {
        return Err(refuse("leading_wildcard", "a word may not start with a wildcard (*foo); put letters first"));
    }
    // Every `~`, not only the first: the parser reads `~1~3` as distance 3,
    // which the index refuses with an error instead of a bad query.
    for (tilde, _) in value.match_indices('~') {
        let digits: String = value[tilde + 1..].chars().take_while(char::is_ascii_digit).collect();
        let distance = digits.parse::<u32>().unwrap_or(u32::MAX);
        if digits.is_empty() || distance > MAX_FUZZY {
            return Err(refuse("fuzzy", format!("a fuzzy term (word~N) may have N at most {MAX_FUZZY}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(q: &str) -> &'static str {
        match validate_query(q) {
            Err(r) => r.reason,
            Ok(_) => "accepted",
        }
    }

    #[test]
    fn accepts_ordinary_queries() {
        for q in [
            "demonstratie",
            "boeren AND (stikstof OR trekker)",
            "\"oorlog maken\" -vuurwerk",
            "title:rellen municipalities:GM0344",
            "\"oud en nieuw\"~3",
            "politie~1",
            "published_at:[2024-01-01T00:00:00Z TO 2024-02-01T00:00:00Z]",
            "published_at:[2026-11-01T00:00:00Z TO *]",
            "published_at:>2026-11-01T12:00:00Z vanavond 20:00",
            "event_time:[2026-12-31 TO 2027-01-01}",
            "themes: IN [stikstof klimaat]",
            "auto's zo'n",
            "vanavond 20:00",
            "\"om 20:00 op het plein\"",
            "24/7",
            "+trekkers +snelweg",
        ] {
            assert!(validate_query(q).is_ok(), "{q}: {:?}", validate_query(q));
        }
        assert_eq!(validate_query(""), Ok(None));
        assert_eq!(validate_query("  * "), Ok(None));
    }

    #[test]
    fn times_in_ranges_and_date_values_stay_whole_and_clock_times_are_escaped() {
        let text = |q: &str| validate_query(q).unwrap().unwrap();
        assert_eq!(text("published_at:[2026-11-01T00:00:00Z TO *]"), "published_at:[2026-11-01T00:00:00Z TO *]");
        assert_eq!(
            text("published_at:>2026-11-01T12:00:00Z om 20:00"),
            "published_at:>2026-11-01T12:00:00Z om 20\\:00"
        );
        assert_eq!(text("-event_time:2026-12-31T23:00:00Z"), "-event_time:2026-12-31T23\\:00\\:00Z", "a word's");
        assert_eq!(text("(vanavond 20:00)"), "(vanavond 20\\:00)");
        assert_eq!(text("text:20:00"), "text:20\\:00", "only date fields take a timestamp");
    }

    #[test]
    fn refuses_what_s7_forbids() {
        assert_eq!(reason(&"(".repeat(10_000)), "too_long");
        assert_eq!(reason(&format!("{}a{}", "(".repeat(9), ")".repeat(9))), "nesting");
        assert_eq!(reason(&format!("{}a{}", "(".repeat(8), ")".repeat(8))), "accepted");
        assert_eq!(reason("(a"), "unbalanced");
        assert_eq!(reason("a)"), "unbalanced");
        assert_eq!(reason("\"open phrase"), "unbalanced");
        assert_eq!(reason("/re.*/"), "regex");
        assert_eq!(reason("title:/re.*/"), "regex");
        assert_eq!(reason("*foo"), "leading_wildcard");
        assert_eq!(reason("text:*foo"), "leading_wildcard");
        assert_eq!(reason("foo~2"), "fuzzy");
        assert_eq!(reason("~1~3"), "fuzzy", "every tilde, not only the first");
        assert_eq!(reason("politie~1~2"), "fuzzy");
        assert_eq!(reason("\"a b\"~50"), "slop");
    }

    #[test]
    fn refuses_author_in_every_spelling() {
        for q in
            ["author:abc", "Author:abc", "x AND author:abc", "-author:abc", "author\\:abc", "AUTHOR :x", "(author:x)"]
        {
            assert_eq!(reason(q), "author_field", "{q}");
        }
        assert_eq!(reason("author"), "accepted");
    }

    #[test]
    fn refuses_unknown_fields_with_the_allowed_list() {
        let err = validate_query("score:1").err();
        assert!(err.as_ref().is_some_and(|r| r.reason == "unknown_field" && r.message.contains("title, text")));
        assert_eq!(reason("url:x"), "unknown_field");
        assert_eq!(reason("https://example.org"), "unknown_field");
    }

    #[test]
    fn paging_bounds() {
        let req = |limit, offset| SearchRequest { limit, offset, ..SearchRequest::default() };
        assert_eq!(validate(&req(0, 0)).err().map(|r| r.reason), Some("limit"));
        assert_eq!(validate(&req(101, 0)).err().map(|r| r.reason), Some("limit"));
        assert_eq!(validate(&req(100, 10_001)).err().map(|r| r.reason), Some("offset"));
        assert!(validate(&req(100, 10_000)).is_ok());
    }
}
