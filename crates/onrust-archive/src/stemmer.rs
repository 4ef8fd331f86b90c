//! The Snowball stemmer the archive's Dutch and English analyzers end with.
//!
//! # Why our own filter
//!
//! tantivy up to 0.24 stemmed with `rust-stemmers`; from 0.27 its `Stemmer`
//! uses `frostem`, whose Dutch algorithm strips a `ge-` it takes for a
//! participle's prefix: `geweld` (violence) becomes `wel`, the stem of the
//! everyday word *wel*, so a search for violence would match most messages;
//! and 1,325 of the 4,092 words in `testdata/stem-words.txt` change terms,
//! so every archive written before would need re-indexing. This filter keeps
//! `rust-stemmers`, the stems every archive was written with, and
//! `stem_stability` holds them word by word.

use std::borrow::Cow;
use std::mem;

use rust_stemmers::Algorithm;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// A token filter that replaces each token by its Snowball stem.
#[derive(Clone, Copy)]
pub(crate) struct Snowball {
    algorithm: Algorithm,
}

impl Snowball {
    pub(crate) fn dutch() -> Self {
        Self { algorithm: Algorithm::Dutch }
    }

    pub(crate) fn english() -> Self {
        Self { algorithm: Algorithm::English }
    }
}

impl TokenFilter for Snowball {
    type Tokenizer<T: Tokenizer> = SnowballFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> SnowballFilter<T> {
        SnowballFilter { algorithm: self.algorithm, inner: tokenizer }
    }
}

#[derive(Clone)]
pub(crate) struct SnowballFilter<T> {
    algorithm: Algorithm,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for SnowballFilter<T> {
    type TokenStream<'a> = SnowballStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        SnowballStream {
            tail: self.inner.token_stream(text),
            stemmer: rust_stemmers::Stemmer::create(self.algorithm),
            buffer: String::new(),
        }
    }
}

pub(crate) struct SnowballStream<T> {
    tail: T,
    stemmer: rust_stemmers::Stemmer,
    /// Reused for stems that borrow from the token, so no token allocates twice.
    buffer: String,
}

impl<T: TokenStream> TokenStream for SnowballStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        match self.stemmer.stem(&token.text) {
            Cow::Owned(stem) => token.text = stem,
            Cow::Borrowed(stem) => {
                self.buffer.clear();
                self.buffer.push_str(stem);
                mem::swap(&mut token.text, &mut self.buffer);
            }
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
