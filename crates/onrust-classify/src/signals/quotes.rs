//! Quoted words are someone else's.
//!
//! "Iemand schreef 'we komen je halen' onder de post" and "Hoezo 'ze
//! verdienen de kogel'? Het zijn kinderen." mention a threat to report or
//! reject it; the writer makes none. A message whose escalating words all
//! stand between quotation marks, and that has words of its own outside
//! them, is read as a report of the threat (level 1 at most). A message that
//! is nothing but the quotation is not: then the quoted words are all there
//! is.

use crate::normalize::Token;

/// Quotation marks (an apostrophe only where it is not part of a word).
pub(super) const QUOTES: [char; 8] = ['"', '“', '”', '‘', '’', '\'', '«', '„'];

/// The quoted stretches of a message's text.
#[derive(Debug, Default)]
pub(super) struct Quotations {
    /// Byte ranges between an opening and its closing mark.
    ranges: Vec<(usize, usize)>,
    /// Whether at least two of the message's words stand outside them.
    words_outside: bool,
}

impl Quotations {
    pub fn of(text: &str, tokens: &[Token<'_>]) -> Quotations {
        if !may_quote(text) {
            return Quotations::default();
        }
        let marks = quote_marks(text);
        let ranges: Vec<(usize, usize)> =
            marks.chunks_exact(2).map(|pair| (pair[0].0 + pair[0].1.len_utf8(), pair[1].0)).collect();
        let inside = |t: &Token<'_>| ranges.iter().any(|&(start, end)| t.start >= start && t.end <= end);
        let words_outside = tokens.iter().filter(|t| !inside(t)).nth(1).is_some();
        Quotations { ranges, words_outside }
    }

    /// Whether the bytes `start..end` stand inside a quotation, in a message
    /// with words of its own besides.
    pub fn quotes(&self, start: usize, end: usize) -> bool {
        self.words_outside && self.ranges.iter().any(|&(from, to)| start >= from && end <= to)
    }
}

/// Whether a text holds a quotation mark that is not an apostrophe inside a
/// word (`z'n`) or of a contraction (`'s avonds`, `'t`, `'k`).
pub(super) fn has_quote(text: &str) -> bool {
    // Read on every clause: most have no quotation mark at all, and need no list of their characters.
    may_quote(text) && !quote_marks(text).is_empty()
}

/// Whether `text` can hold a mark of [`QUOTES`]: `"` or `'`, or a byte
/// that starts one of the others (U+00AB `«` starts with 0xC2, the curly
/// quotes and `„` with 0xE2). A byte search, asked of every clause, where a
/// search for eight characters decodes each one. Read to the end without
/// stopping at a find, so the compiler checks many bytes per instruction
/// (most texts have none).
fn may_quote(text: &str) -> bool {
    text.bytes().fold(false, |found, b| found | matches!(b, b'"' | b'\'' | 0xC2 | 0xE2)) && text.contains(QUOTES)
}

/// The quotation marks of a text with their byte offset: every mark of
/// [`QUOTES`] except an apostrophe inside a word (`z'n`, `homo's`) or of a
/// contraction (`'s avonds`, `'t`, `'k`).
fn quote_marks(text: &str) -> Vec<(usize, char)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut marks = Vec::new();
    for (i, &(at, c)) in chars.iter().enumerate() {
        if !QUOTES.contains(&c) {
            continue;
        }
        let before = i.checked_sub(1).and_then(|b| chars.get(b)).is_some_and(|(_, p)| p.is_alphanumeric());
        let after = chars.get(i + 1).is_some_and(|(_, n)| n.is_alphanumeric());
        let word_after: String = text[at + c.len_utf8()..].chars().take_while(|ch| ch.is_alphanumeric()).collect();
        let contraction =
            !before && matches!(word_after.to_lowercase().as_str(), "s" | "t" | "k" | "n" | "m" | "r" | "ie");
        if !(contraction || (before && after)) {
            marks.push((at, c));
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::tokenize;

    fn quoted(text: &str, words: &str) -> bool {
        let tokens = tokenize(text);
        let at = text.find(words).unwrap_or_else(|| panic!("{words:?} not in {text:?}"));
        Quotations::of(text, &tokens).quotes(at, at + words.len())
    }

    #[test]
    fn words_between_quotation_marks_are_quoted_when_the_writer_says_more() {
        assert!(quoted("Iemand schreef 'we komen je halen' onder de post.", "we komen je halen"));
        assert!(quoted("Hoezo \u{201c}ze verdienen de kogel\u{201d}? Het zijn kinderen.", "verdienen de kogel"));
        assert!(quoted("\"Hang ze op\" onder een bericht: de gemeente doet aangifte.", "Hang ze op"));
        assert!(!quoted("Iemand schreef 'we komen je halen' onder de post.", "onder de post"));
    }

    #[test]
    fn a_message_that_is_only_a_quotation_is_the_writers_own() {
        assert!(!quoted("'we komen je halen'", "we komen je halen"));
        assert!(!quoted("\"hang ze op!!\"", "hang ze op"));
    }

    #[test]
    fn apostrophes_in_words_and_contractions_quote_nothing() {
        assert!(!quoted("homo's en moslims moeten weg, 's avonds gaan we", "moslims moeten weg"));
        assert!(!quoted("z'n auto gaat eraan, 't is gedaan met hem", "auto gaat eraan"));
        assert!(quote_marks("z'n 's avonds 't homo's").is_empty());
    }

    #[test]
    fn every_quotation_mark_is_seen_by_the_byte_search() {
        for mark in QUOTES {
            assert!(may_quote(&format!("zei {mark}ja")), "{mark}");
            // Wherever it stands in a long text: the search reads many bytes at a time.
            for before in 0..70 {
                let text = format!("{}{mark}{}", "é".repeat(before / 2) + &"a".repeat(before % 2), "b".repeat(before));
                assert!(may_quote(&text), "{mark} after {before}");
            }
        }
        assert!(!may_quote("geen aanhalingstekens, wel é en €"));
    }

    #[test]
    fn an_unclosed_mark_quotes_nothing() {
        assert!(!quoted("Hij zei: \"we slopen alles en daarna", "we slopen alles"));
    }
}
