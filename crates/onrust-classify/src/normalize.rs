//! Text normalisation and tokenisation.
//!
//! Every lexicon term, every gazetteer name and every message goes through
//! the same [`tokenize`], so "matched on normalised word boundaries" means
//! the same thing everywhere:
//!
//! - URLs (`http://`, `https://`, `www.`) and `@` mentions (ingest turns
//!   handles into `@[user]`, rule L3) are dropped before anything else;
//! - a word is a run of alphanumeric characters; everything else separates
//!   words (so `stikstof-regels` is two words, `'s-Gravenhage` is `s`,
//!   `gravenhage`);
//! - words are lowercased; elongations of three or more equal characters
//!   collapse (`geweldddd` → `geweld`, `heeeel` → `heel`: consonants to one,
//!   vowels to two, with an alternative form where vowels collapse to one
//!   too, `politieeee` → `politie`); diacritics are folded after that (NFD,
//!   combining marks dropped: `Oekraïne` → `oekraine`), so `zeeën` keeps its
//!   three e's instead of being mistaken for an elongation;
//! - each token keeps its byte span in the original text, so evidence quotes
//!   the words as written, and whether it was capitalised, started a
//!   sentence or was a hashtag (the gazetteer's ambiguity rules need those).

use std::borrow::Cow;

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// One normalised word with its place in the original text `'t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'t> {
    /// The normalised form: the word as written when it is written so
    /// (most words: lowercase ASCII), so reading a message allocates a
    /// string only for the words normalisation changes.
    pub norm: Cow<'t, str>,
    /// A second form when the word had vowel elongations (all runs collapsed
    /// to one character); tried when `norm` does not match.
    pub alt: Option<String>,
    /// Byte span of the word in the original text.
    pub start: usize,
    pub end: usize,
    /// The word began a `#hashtag`.
    pub hashtag: bool,
    /// The original word starts with an uppercase letter.
    pub capitalised: bool,
    /// The word is the first of the text or follows `.`, `!`, `?`, `:` or a line break.
    pub sentence_start: bool,
}

impl Token<'_> {
    /// The normalised form, then the alternative form if there is one.
    pub fn forms(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.norm.as_ref()).chain(self.alt.as_deref())
    }
}

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    c.is_alphanumeric() || is_combining_mark(c)
}

const fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ':' | ';' | '…' | '\n' | '\r')
}

pub(crate) fn is_url_or_mention(chunk: &str) -> bool {
    // Most chunks open with a letter or digit that starts no URL: decided
    // before any character is decoded (the tokeniser asks this of every chunk).
    let opening = chunk.as_bytes().first();
    if opening.is_some_and(|b| b.is_ascii_alphanumeric() && !matches!(b, b'h' | b'H' | b'w' | b'W')) {
        return false;
    }
    let trimmed = chunk.trim_start_matches(['(', '[', '"', '\'', '<', '“', '‘', '«']).as_bytes();
    let starts = |prefix: &[u8]| trimmed.len() >= prefix.len() && trimmed[..prefix.len()].eq_ignore_ascii_case(prefix);
    trimmed.first() == Some(&b'@') || starts(b"http://") || starts(b"https://") || starts(b"www.")
}

/// Splits `text` into normalised word tokens (see the module documentation).
pub(crate) fn tokenize(text: &str) -> Vec<Token<'_>> {
    if text.is_ascii() {
        return tokenize_ascii(text);
    }
    tokenize_chars(text)
}

/// [`tokenize`] for any text, character by character.
fn tokenize_chars(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::with_capacity(text.len() / 6 + 1);
    let mut sentence_start = true;
    let mut chunk_start: Option<usize> = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if c.is_whitespace() {
            if let Some(start) = chunk_start.take() {
                tokenize_chunk(text, start, &text[start..i], &mut sentence_start, &mut tokens);
            }
            if c == '\n' || c == '\r' {
                sentence_start = true;
            }
        } else if chunk_start.is_none() {
            chunk_start = Some(i);
        }
    }
    tokens
}

/// [`tokenize`] for an ASCII text (most messages), in one pass over its
/// bytes: the same chunks, words and flags as [`tokenize_chars`] without
/// decoding a character, each word's capitals and elongations found while
/// it is read (reading each chunk and each word twice cost about a tenth of
/// a bench message).
fn tokenize_ascii(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::with_capacity(bytes.len() / 6 + 1);
    let mut sentence_start = true;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        if ascii_class(b) & SPACE != 0 {
            if b == b'\n' || b == b'\r' {
                sentence_start = true;
            }
            at += 1;
            continue;
        }
        // The chunk's start on: no URL prefix or mention reaches past a space.
        if text.get(at..).is_some_and(is_url_or_mention) {
            at = bytes[at..].iter().position(|&c| ascii_class(c) & SPACE != 0).map_or(bytes.len(), |p| at + p);
            continue;
        }
        // A chunk: its words and the marks between them, up to a space.
        let mut hashtag_pending = false;
        let mut first_word = true;
        while let Some(&b) = bytes.get(at) {
            let class = ascii_class(b);
            if class & SPACE != 0 {
                break;
            }
            if class & ALNUM == 0 {
                if b == b'#' && first_word {
                    hashtag_pending = true;
                }
                if class & SENTENCE_END != 0 {
                    sentence_start = true;
                }
                at += 1;
                continue;
            }
            let start = at;
            let mut has_upper = false;
            let mut elongated = false;
            // Alphanumeric bytes compare without case as `b | 0x20` (digits
            // have that bit already); 0 is no byte of a word.
            let (mut before, mut previous) = (0u8, 0u8);
            while let Some(&c) = bytes.get(at) {
                let class = ascii_class(c);
                if class & ALNUM == 0 {
                    break;
                }
                has_upper |= class & UPPER != 0;
                let folded = c | 0x20;
                elongated |= folded == previous && folded == before;
                (before, previous) = (previous, folded);
                at += 1;
            }
            let word = &text[start..at];
            let token = if elongated {
                // Collapsing runs is the general path's work.
                make_token(word, start, at, hashtag_pending, sentence_start)
            } else {
                let capitalised = bytes[start].is_ascii_uppercase();
                let norm = if has_upper { Cow::Owned(word.to_ascii_lowercase()) } else { Cow::Borrowed(word) };
                Some(Token { norm, alt: None, start, end: at, hashtag: hashtag_pending, capitalised, sentence_start })
            };
            if let Some(token) = token {
                tokens.push(token);
                sentence_start = false;
            }
            hashtag_pending = false;
            first_word = false;
        }
    }
    tokens
}

/// Classes of an ASCII byte for [`tokenize_ascii`], one table look-up.
const SPACE: u8 = 1;
const ALNUM: u8 = 2;
const UPPER: u8 = 4;
const SENTENCE_END: u8 = 8;
const ASCII_CLASSES: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut index = 0;
    while index < 128 {
        let byte = index as u8;
        // The chunks and sentences of `tokenize_chars`, byte by byte.
        if (byte as char).is_whitespace() {
            table[index] |= SPACE;
        }
        if byte.is_ascii_alphanumeric() {
            table[index] |= ALNUM;
        }
        if byte.is_ascii_uppercase() {
            table[index] |= UPPER;
        }
        if is_sentence_end(byte as char) {
            table[index] |= SENTENCE_END;
        }
        index += 1;
    }
    table
};

fn ascii_class(byte: u8) -> u8 {
    ASCII_CLASSES[usize::from(byte & 0x7f)]
}

fn tokenize_chunk<'t>(text: &'t str, offset: usize, chunk: &str, sentence_start: &mut bool, out: &mut Vec<Token<'t>>) {
    if is_url_or_mention(chunk) {
        return;
    }
    // Most chunks are ASCII: read byte by byte, without decoding characters
    // (an ASCII byte's index is its character's).
    if chunk.is_ascii() {
        split_words(text, offset, chunk.bytes().map(char::from).enumerate(), chunk.len(), sentence_start, out);
    } else {
        split_words(text, offset, chunk.char_indices(), chunk.len(), sentence_start, out);
    }
}

/// The words of a chunk of `len` bytes at `offset` in `text`, from its
/// characters with their byte index.
fn split_words<'t>(
    text: &'t str,
    offset: usize,
    chars: impl Iterator<Item = (usize, char)>,
    len: usize,
    sentence_start: &mut bool,
    out: &mut Vec<Token<'t>>,
) {
    let mut hashtag_pending = false;
    let mut word_start: Option<usize> = None;
    let mut first_word = true;
    for (i, c) in chars.chain(std::iter::once((len, ' '))) {
        if is_word_char(c) {
            if word_start.is_none() {
                word_start = Some(i);
            }
            continue;
        }
        if let Some(ws) = word_start.take() {
            let (start, end) = (offset + ws, offset + i);
            if let Some(token) =
                text.get(start..end).and_then(|w| make_token(w, start, end, hashtag_pending, *sentence_start))
            {
                out.push(token);
                *sentence_start = false;
            }
            hashtag_pending = false;
            first_word = false;
        }
        if c == '#' && first_word {
            hashtag_pending = true;
        }
        if is_sentence_end(c) {
            *sentence_start = true;
        }
    }
}

fn make_token(word: &str, start: usize, end: usize, hashtag: bool, sentence_start: bool) -> Option<Token<'_>> {
    let capitalised = word.chars().next().is_some_and(char::is_uppercase);
    // Fast path: plain ASCII without elongations (most words).
    let bytes = word.as_bytes();
    if word.is_ascii()
        && !bytes.windows(3).any(|w| w[0].eq_ignore_ascii_case(&w[1]) && w[1].eq_ignore_ascii_case(&w[2]))
    {
        let norm = if bytes.iter().any(u8::is_ascii_uppercase) {
            Cow::Owned(word.to_ascii_lowercase())
        } else {
            Cow::Borrowed(word)
        };
        return Some(Token { norm, alt: None, start, end, hashtag, capitalised, sentence_start });
    }
    let lower: Vec<char> = word.chars().flat_map(char::to_lowercase).filter(|c| !is_combining_mark(*c)).collect();
    // Fold after collapsing, so that diacritics never create a false run.
    let mut has_vowel_run = false;
    let mut collapsed: Vec<char> = Vec::with_capacity(lower.len());
    let mut alt: Vec<char> = Vec::new();
    let mut i = 0;
    while i < lower.len() {
        let c = lower[i];
        let mut j = i + 1;
        while j < lower.len() && lower[j] == c {
            j += 1;
        }
        let run = j - i;
        let keep = if run >= 3 {
            if is_vowel(c) {
                has_vowel_run = true;
                2
            } else {
                1
            }
        } else {
            run
        };
        collapsed.extend(std::iter::repeat_n(c, keep));
        alt.extend(std::iter::repeat_n(c, if run >= 3 { 1 } else { run }));
        i = j;
    }
    let norm = fold(collapsed.into_iter());
    if norm.is_empty() {
        return None;
    }
    let alt = if has_vowel_run { Some(fold(alt.into_iter())).filter(|a| *a != norm) } else { None };
    Some(Token { norm: Cow::Owned(norm), alt, start, end, hashtag, capitalised, sentence_start })
}

fn is_vowel(c: char) -> bool {
    let mut base = None;
    decompose_canonical(c, |d| {
        if base.is_none() {
            base = Some(d);
        }
    });
    matches!(base.unwrap_or(c), 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// Canonical decomposition with combining marks dropped: `é` → `e`, `ï` → `i`.
fn fold(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    for c in chars {
        if c.is_ascii() {
            out.push(c);
        } else {
            decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            });
        }
    }
    out
}

/// The normalised words of a term, a name or a query, without positions.
pub(crate) fn words(text: &str) -> Vec<String> {
    tokenize(text).into_iter().map(|t| t.norm.into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(text: &str) -> Vec<String> {
        words(text)
    }

    #[test]
    fn lowercases_folds_and_splits() {
        assert_eq!(norms("Oekraïne, zeeën & Café-rellen!"), ["oekraine", "zeeen", "cafe", "rellen"]);
        assert_eq!(norms("'s-Gravenhage"), ["s", "gravenhage"]);
    }

    #[test]
    fn collapses_elongations() {
        assert_eq!(norms("geweldddd"), ["geweld"]);
        assert_eq!(norms("heeeeel"), ["heel"]);
        let t = tokenize("politieeee");
        assert_eq!(t[0].norm, "politiee");
        assert_eq!(t[0].alt.as_deref(), Some("politie"));
        assert_eq!(norms("rellen"), ["rellen"]);
    }

    #[test]
    fn drops_urls_and_mentions() {
        assert_eq!(
            norms("zie https://x.nl/a?b=c en @[user] of @iemand, (www.foo.nl) klaar"),
            ["zie", "en", "of", "klaar"]
        );
    }

    /// `is_url_or_mention` without its shortcut for chunks that open with a letter or digit.
    fn url_or_mention_plainly(chunk: &str) -> bool {
        let trimmed = chunk.trim_start_matches(['(', '[', '"', '\'', '<', '“', '‘', '«']).to_ascii_lowercase();
        ["@", "http://", "https://", "www."].iter().any(|prefix| trimmed.starts_with(prefix))
    }

    proptest::proptest! {
        /// The shortcut for chunks that open with a letter or digit decides as the plain reading does.
        #[test]
        fn urls_and_mentions_are_found_as_the_plain_reading_finds_them(
            chunk in "[(\\[\"'<“‘«]{0,2}(@|[hH][tT][tT][pP][sS]?://|[wW][wW][wW]\\.|[a-zA-Z0-9#.:/]{0,3})[a-z0-9./]{0,8}",
        ) {
            proptest::prop_assert_eq!(is_url_or_mention(&chunk), url_or_mention_plainly(&chunk));
        }

        /// An ASCII text read byte by byte gives what reading its characters does.
        #[test]
        fn ascii_texts_read_as_any_text_does(text in "(([a-zA-Z0-9]{0,6}|[dDeE]{2,4}[a-z]?)[ \\t\\n\\r\\u{0B}\\u{0C}#.!?:;,'()@/-]{0,2}(https?://|www\\.|HTTP://|Www\\.)?){0,16}") {
            proptest::prop_assert_eq!(tokenize_ascii(&text), tokenize_chars(&text));
        }

        /// The byte-wise reading of ASCII chunks gives what the character-wise one does.
        #[test]
        fn ascii_chunks_read_as_any_chunk_does(chunk in "[a-zA-Z0-9#.!?:;,'()@ -]{0,40}") {
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            for start_of_sentence in [false, true] {
                let (mut a, mut b) = (start_of_sentence, start_of_sentence);
                let bytes = chunk.bytes().map(char::from).enumerate();
                split_words(&chunk, 0, bytes, chunk.len(), &mut a, &mut fast);
                split_words(&chunk, 0, chunk.char_indices(), chunk.len(), &mut b, &mut general);
                proptest::prop_assert_eq!(a, b);
            }
            proptest::prop_assert_eq!(fast, general);
        }
    }

    #[test]
    fn words_written_as_their_normal_form_are_not_copied() {
        let t = tokenize("rellen in Zeist, geweldddd");
        assert!(matches!(t[0].norm, Cow::Borrowed("rellen")), "{:?}", t[0]);
        assert!(matches!(t[1].norm, Cow::Borrowed("in")), "{:?}", t[1]);
        assert!(matches!(&t[2].norm, Cow::Owned(n) if n == "zeist"), "{:?}", t[2]);
        assert!(matches!(&t[3].norm, Cow::Owned(n) if n == "geweld"), "{:?}", t[3]);
    }

    #[test]
    fn keeps_offsets_and_flags() {
        let text = "Rellen in Zeist. #Avondklok nu";
        let t = tokenize(text);
        assert_eq!(&text[t[0].start..t[0].end], "Rellen");
        assert!(t[0].sentence_start && t[0].capitalised);
        assert_eq!(&text[t[2].start..t[2].end], "Zeist");
        assert!(!t[2].sentence_start && t[2].capitalised);
        assert!(t[3].hashtag && t[3].sentence_start);
        assert_eq!(t[3].norm, "avondklok");
        assert!(!t[4].hashtag);
    }
}
