//! Tokens: words classified against the word table, numbers, punctuation
//! and sentence breaks.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

use super::words::{Word, classify_word};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    Word(Word),
    Number(Number),
    /// One punctuation or symbol character.
    Punct(char),
    /// Line break, URL or mention: ends a sentence.
    Break,
}

/// A run of ASCII digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Number {
    /// Saturating at `u32::MAX`.
    pub(super) value: u32,
    /// How many digits were written (`09` has two).
    pub(super) digits: u8,
}

/// One token and its byte span in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Token {
    /// A token that may start a time expression: see [`Word::is_trigger`].
    pub(super) fn is_trigger(&self) -> bool {
        match self.kind {
            TokenKind::Number(number) => number.digits <= 2,
            TokenKind::Word(w) => w.is_trigger(),
            TokenKind::Punct(_) | TokenKind::Break => false,
        }
    }
}

/// The longest word the table is asked about; a longer one is [`Word::Other`].
pub(super) const MAX_WORD: usize = 20;

/// Splits a text into [`Token`]s: words folded and classified, URLs and
/// mentions skipped as one sentence break.
pub(super) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    fn char_at(&self, pos: usize) -> Option<char> {
        self.text.get(pos..).and_then(|r| r.chars().next())
    }

    /// Skips to the next ASCII whitespace (the rest of a URL or mention).
    fn skip_chunk(&mut self, start: usize) -> Token {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if b.is_ascii_whitespace() {
                break;
            }
            self.pos += 1;
        }
        // stay on a char boundary whatever happened
        while self.pos < self.text.len() && !self.text.is_char_boundary(self.pos) {
            self.pos += 1;
        }
        Token { kind: TokenKind::Break, start, end: self.pos }
    }

    fn word(&mut self, start: usize) -> Token {
        match self.ascii_word(start) {
            Some(token) => token,
            None => self.word_by_chars(start),
        }
    }

    /// [`Lexer::word_by_chars`] for the most common word: ASCII letters up
    /// to an ASCII byte, folded in one copy. `None` for any other.
    fn ascii_word(&mut self, start: usize) -> Option<Token> {
        let bytes = self.text.as_bytes();
        let run = bytes.get(start..).unwrap_or_default().iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let end = start + run;
        if run == 0 || !bytes.get(end).is_none_or(u8::is_ascii) {
            return None;
        }
        self.pos = end;
        let written = bytes.get(start..end).unwrap_or_default();
        if written.eq_ignore_ascii_case(b"www") && bytes.get(end) == Some(&b'.') {
            return Some(self.skip_chunk(start));
        }
        let mut buf = [0u8; MAX_WORD];
        let w = match buf.get_mut(..run) {
            Some(folded) => {
                for (slot, b) in folded.iter_mut().zip(written) {
                    *slot = b.to_ascii_lowercase();
                }
                classify_word(folded)
            }
            None => Word::Other,
        };
        Some(Token { kind: TokenKind::Word(w), start, end })
    }

    /// A word character by character: letters folded (diacritics dropped),
    /// up to the first character that is no letter.
    fn word_by_chars(&mut self, start: usize) -> Token {
        let bytes = self.text.as_bytes();
        let mut buf = [0u8; MAX_WORD];
        let mut n = 0usize;
        let mut ok = true;
        while let Some(&b) = bytes.get(self.pos) {
            if b.is_ascii_alphabetic() {
                push(&mut buf, &mut n, &mut ok, b.to_ascii_lowercase());
                self.pos += 1;
                continue;
            }
            if b.is_ascii() {
                break;
            }
            let Some(c) = self.char_at(self.pos) else { break };
            if !(c.is_alphabetic() || is_combining_mark(c)) {
                break;
            }
            self.pos += c.len_utf8();
            decompose_canonical(c, |d| {
                if d.is_ascii_alphabetic() {
                    push(&mut buf, &mut n, &mut ok, (d as u8).to_ascii_lowercase());
                } else if !is_combining_mark(d) {
                    ok = false;
                }
            });
        }
        let folded = buf.get(..n).unwrap_or_default();
        if folded == b"www" && bytes.get(self.pos) == Some(&b'.') {
            return self.skip_chunk(start);
        }
        let w = if ok { classify_word(folded) } else { Word::Other };
        Token { kind: TokenKind::Word(w), start, end: self.pos }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let bytes = self.text.as_bytes();
        loop {
            let start = self.pos;
            let b = *bytes.get(start)?;
            match b {
                b'\n' | b'\r' => {
                    self.pos += 1;
                    return Some(Token { kind: TokenKind::Break, start, end: self.pos });
                }
                b' ' | b'\t' | 0x0b | 0x0c => self.pos += 1,
                b'0'..=b'9' => {
                    let mut number = Number { value: 0, digits: 0 };
                    while let Some(&d) = bytes.get(self.pos).filter(|d| d.is_ascii_digit()) {
                        number.value = number.value.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                        number.digits = number.digits.saturating_add(1);
                        self.pos += 1;
                    }
                    return Some(Token { kind: TokenKind::Number(number), start, end: self.pos });
                }
                b'a'..=b'z' | b'A'..=b'Z' => return Some(self.word(start)),
                b'@' => return Some(self.skip_chunk(start)),
                b':' if bytes.get(start + 1..start + 3) == Some(b"//") => return Some(self.skip_chunk(start)),
                0x80.. => {
                    let c = self.char_at(start)?;
                    if c.is_whitespace() {
                        self.pos += c.len_utf8();
                    } else if c.is_alphabetic() {
                        return Some(self.word(start));
                    } else {
                        self.pos += c.len_utf8();
                        return Some(Token { kind: TokenKind::Punct(c), start, end: self.pos });
                    }
                }
                _ => {
                    self.pos += 1;
                    return Some(Token { kind: TokenKind::Punct(char::from(b)), start, end: self.pos });
                }
            }
        }
    }
}

fn push(buf: &mut [u8; MAX_WORD], n: &mut usize, ok: &mut bool, b: u8) {
    match buf.get_mut(*n) {
        Some(slot) => {
            *slot = b;
            *n += 1;
        }
        None => *ok = false,
    }
}

#[cfg(test)]
mod tests {
    use super::Lexer;

    proptest::proptest! {
        /// The ASCII reading of a word gives the token and the position the
        /// character-by-character one does, wherever a word starts.
        #[test]
        fn ascii_words_read_as_any_word_does(text in "([a-zA-Z]{0,24}[ .,:/0-9éü@-]{0,2}(www\\.)?){0,8}") {
            for start in 0..text.len() {
                let mut fast = Lexer::new(&text);
                let mut general = Lexer::new(&text);
                fast.pos = start;
                general.pos = start;
                if let Some(token) = fast.ascii_word(start) {
                    proptest::prop_assert_eq!(token, general.word_by_chars(start));
                    proptest::prop_assert_eq!(fast.pos, general.pos);
                }
            }
        }
    }
}
