//! Dutch compounds in the index: a compound's parts are indexed beside the
//! whole word, at its position, so `stikstof` finds `stikstofbeleid` and
//! `vuurwerk` finds `Vuurwerkbommen` (and `vuurwerkbommen` still finds only
//! the compound).
//!
//! # Why it is built this way
//!
//! - **Index time only.** The parts go into the index; a query is analysed
//!   without splitting ([`crate::schema::query_analyzer`]). Splitting the
//!   query too would make `vuurwerkbommen` find every message with
//!   `vuurwerk` and `bommen` anywhere at one position, which is the
//!   compound's parts, not the compound. It also means the parts list can
//!   grow between builds without breaking old documents: they simply lack the
//!   parts a newer list would add.
//! - **The classifier's splitter** ([`onrust_model::compound`]) with the
//!   shipped list of compound parts the classifier loads too
//!   (`config/signals/morphology/nl-compound-parts.txt`, generated from the
//!   OpenTaal dictionary), compiled in: the archive's words must not change
//!   with a configuration file, and a reader (the `web` role, `onrust
//!   search`) needs no classifier to read them. The lexicons' own words,
//!   which the classifier adds, are left out for the same reason.
//! - **Parts keep their place in the text**: their offsets are the part's
//!   own bytes when the word was not changed by folding, so a snippet marks
//!   `Vuurwerk` in `Vuurwerkbommen`; otherwise the whole word's.

use std::sync::OnceLock;

use rustc_hash::FxHashSet;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// The parts list, as the classifier's morphology folder ships it.
const PARTS_FILE: &str = include_str!("../../../config/signals/morphology/nl-compound-parts.txt");

/// The words that may begin or end a compound.
fn parts() -> &'static FxHashSet<&'static str> {
    static PARTS: OnceLock<FxHashSet<&'static str>> = OnceLock::new();
    PARTS.get_or_init(|| {
        PARTS_FILE.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect()
    })
}

/// The parts of `word` (lowercase, folded), or nothing when it does not split.
pub(crate) fn parts_of(word: &str) -> Vec<&str> {
    if word.len() < 2 * onrust_model::compound::MIN_COMPOUND_PART || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return Vec::new();
    }
    let known = parts();
    let split = onrust_model::compound::split_compound(word, |part| known.contains(part));
    if split.len() < 2 { Vec::new() } else { split }
}

/// The token filter: each compound, then nothing else changed, becomes its
/// parts followed by the whole word, all at the word's position.
#[derive(Clone, Default)]
pub(crate) struct CompoundParts;

impl TokenFilter for CompoundParts {
    type Tokenizer<T: Tokenizer> = CompoundPartsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CompoundPartsFilter<T> {
        CompoundPartsFilter { inner: tokenizer, parts: Vec::new() }
    }
}

#[derive(Clone)]
pub(crate) struct CompoundPartsFilter<T> {
    inner: T,
    /// Reused between token streams, so splitting allocates only for compounds.
    parts: Vec<Token>,
}

impl<T: Tokenizer> Tokenizer for CompoundPartsFilter<T> {
    type TokenStream<'a> = CompoundPartsStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        self.parts.clear();
        CompoundPartsStream { tail: self.inner.token_stream(text), parts: &mut self.parts, whole_pending: false }
    }
}

pub(crate) struct CompoundPartsStream<'a, S> {
    tail: S,
    /// The parts still to give, last first.
    parts: &'a mut Vec<Token>,
    /// The whole word comes after its parts.
    whole_pending: bool,
}

impl<S: TokenStream> CompoundPartsStream<'_, S> {
    fn split(&mut self) {
        let token = self.tail.token();
        let found = parts_of(&token.text);
        if found.is_empty() {
            return;
        }
        // The part's own bytes, when the text is the word as written (lowercasing ASCII keeps lengths).
        let same_bytes = token.offset_to.checked_sub(token.offset_from) == Some(token.text.len());
        let mut at = 0;
        let mut spans = Vec::with_capacity(found.len());
        for part in &found {
            let start = token.text[at..].find(part).map_or(at, |i| at + i);
            at = start + part.len();
            spans.push((start, at, (*part).to_owned()));
        }
        for (start, end, text) in spans.into_iter().rev() {
            let (offset_from, offset_to) = if same_bytes {
                (token.offset_from + start, token.offset_from + end)
            } else {
                (token.offset_from, token.offset_to)
            };
            let (position, position_length) = (token.position, token.position_length);
            self.parts.push(Token { offset_from, offset_to, position, text, position_length });
        }
        self.whole_pending = true;
    }
}

impl<S: TokenStream> TokenStream for CompoundPartsStream<'_, S> {
    fn advance(&mut self) -> bool {
        self.parts.pop();
        if !self.parts.is_empty() {
            return true;
        }
        if self.whole_pending {
            self.whole_pending = false;
            return true;
        }
        if !self.tail.advance() {
            return false;
        }
        self.split();
        true
    }

    fn token(&self) -> &Token {
        self.parts.last().unwrap_or_else(|| self.tail.token())
    }

    fn token_mut(&mut self) -> &mut Token {
        self.parts.last_mut().unwrap_or_else(|| self.tail.token_mut())
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer};

    use super::*;

    fn tokens(text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut analyzer =
            TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).filter(CompoundParts).build();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
        }
        out
    }

    #[test]
    fn a_compound_gives_its_parts_then_itself_at_one_position() {
        assert_eq!(
            tokens("Vuurwerkbommen op stikstofbeleid"),
            [
                ("vuurwerk".into(), 0, 0, 8),
                ("bommen".into(), 0, 8, 14),
                ("vuurwerkbommen".into(), 0, 0, 14),
                ("op".into(), 1, 15, 17),
                ("stikstof".into(), 2, 18, 26),
                ("beleid".into(), 2, 26, 32),
                ("stikstofbeleid".into(), 2, 18, 32),
            ]
        );
        assert_eq!(tokens("fiets"), [("fiets".into(), 0, 0, 5)], "a simple word stays one token");
        assert_eq!(tokens(""), []);
    }

    #[test]
    fn the_shipped_parts_split_the_words_of_the_issue() {
        assert_eq!(parts_of("vuurwerkbommen"), ["vuurwerk", "bommen"]);
        assert_eq!(parts_of("stikstofbeleid"), ["stikstof", "beleid"]);
        assert!(parts_of("politie").is_empty(), "{:?}", parts_of("politie"));
        assert!(parts_of("a12").is_empty() && parts_of("één").is_empty(), "only plain letters");
    }
}
