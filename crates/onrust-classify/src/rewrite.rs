//! Social-media spelling read as words before matching: leetspeak, chat
//! abbreviations, hashtags in CamelCase and emoji.
//!
//! [`crate::normalize::tokenize`] gives the words as written (places and the
//! language detector read those). [`Rewriter::rewrite`] gives what the
//! lexicons, the morphology and the threat grammar read:
//!
//! - **leetspeak**: a word of at least two letters whose every digit is in
//!   the `[leet]` table is read with the digits replaced (`m00rd` → `moord`);
//!   the written form stays as the alternative form, so `a15` or `covid19`
//!   still match as written;
//! - **abbreviations**: a whole word in the table is read as its meaning,
//!   one word or several, each token spanning the abbreviation (`kga` → `ik`,
//!   `ga`);
//! - **hashtags**: `#ZetDeBusInDeFik` is followed by its CamelCase parts
//!   (`zet`, `de`, `bus`, `in`, `de`, `fik`), each spanning its letters;
//! - **emoji**: an emoji in the table becomes a word token at its place
//!   (🔫 → `pistool`), so "die wethouder 🔫" reads as a weapon next to an
//!   official.
//!
//! Both tables are data (`config/signals/normalise/`), versioned and hashed
//! into the classifier version. A message with nothing to rewrite (most news
//! text) costs one scan and no allocation.

use std::borrow::Cow;
use std::path::Path;

use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;

use crate::error::Problems;
use crate::normalize::{Token, words};
use crate::themes::Fnv;

/// The folder under the signals folder that holds the spelling and emoji tables.
pub(crate) const FOLDER: &str = "normalise";
const SPELLING_FILE: &str = "spelling.toml";
const EMOJI_FILE: &str = "emoji.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpellingFile {
    version: u32,
    #[serde(default)]
    leet: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    abbreviations: Vec<Abbreviation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Abbreviation {
    short: String,
    means: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmojiFile {
    version: u32,
    emoji: Vec<EmojiSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmojiSpec {
    emoji: String,
    means: String,
}

/// The loaded tables.
#[derive(Debug, Default)]
pub(crate) struct Rewriter {
    /// Digit → letter.
    leet: [Option<char>; 10],
    abbreviations: HashMap<String, Vec<String>>,
    /// Per first byte, a bit per length of the abbreviations that start with
    /// it: most words are no abbreviation and skip the look-up.
    abbreviation_shapes: Vec<u64>,
    emoji: HashMap<char, Vec<String>>,
    /// `spelling@N,emoji@M`.
    pub version: String,
    pub content_hash: u64,
}

impl Rewriter {
    /// Reads both tables from `<signals_dir>/normalise/`; problems are collected.
    pub fn load(signals_dir: &Path, problems: &mut Problems) -> Self {
        let dir = signals_dir.join(FOLDER);
        let mut out = Rewriter::default();
        let mut hash = Fnv::new();
        let mut versions = Vec::new();
        if let Some(file) = read_toml::<SpellingFile>(&dir.join(SPELLING_FILE), &mut hash, problems) {
            let path = dir.join(SPELLING_FILE);
            versions.push(format!("spelling@{}", file.version));
            for (digit, letter) in &file.leet {
                let d = digit.chars().next().and_then(|c| c.to_digit(10)).filter(|_| digit.chars().count() == 1);
                let mut letters = letter.chars();
                match (d, letters.next(), letters.next()) {
                    (Some(d), Some(l), None) if l.is_ascii_lowercase() => out.leet[d as usize] = Some(l),
                    _ => problems.push(&path, format!("leet {digit:?}"), "must map one digit to one letter a-z"),
                }
            }
            for a in &file.abbreviations {
                let short = words(&a.short);
                let means = words(&a.means);
                if short.len() != 1 || means.is_empty() {
                    problems.push(
                        &path,
                        format!("abbreviations {:?}", a.short),
                        "`short` must be one word and `means` at least one",
                    );
                    continue;
                }
                let short = short.concat();
                if let Some(&first) = short.as_bytes().first()
                    && short.len() < 64
                {
                    if out.abbreviation_shapes.is_empty() {
                        out.abbreviation_shapes = vec![0; 256];
                    }
                    out.abbreviation_shapes[usize::from(first)] |= 1 << short.len();
                }
                if out.abbreviations.insert(short, means).is_some() {
                    problems.push(&path, format!("abbreviations {:?}", a.short), "listed twice");
                }
            }
            if file.version == 0 {
                problems.push(&path, "version", "must be 1 or more; raise it whenever the table changes");
            }
        }
        if let Some(file) = read_toml::<EmojiFile>(&dir.join(EMOJI_FILE), &mut hash, problems) {
            let path = dir.join(EMOJI_FILE);
            versions.push(format!("emoji@{}", file.version));
            for e in &file.emoji {
                let mut chars = e.emoji.chars().filter(|c| !is_modifier(*c));
                let means = words(&e.means);
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_alphanumeric() && !c.is_ascii() && !means.is_empty() => {
                        if out.emoji.insert(c, means).is_some() {
                            problems.push(&path, format!("emoji {:?}", e.emoji), "listed twice");
                        }
                    }
                    _ => problems.push(
                        &path,
                        format!("emoji {:?}", e.emoji),
                        "must be one emoji (a variation selector may follow) meaning at least one word",
                    ),
                }
            }
            if file.version == 0 {
                problems.push(&path, "version", "must be 1 or more; raise it whenever the table changes");
            }
        }
        out.version = versions.join(",");
        out.content_hash = hash.finish();
        out
    }

    /// The tokens the lexicons read (see the module documentation): `tokens`
    /// itself when there is nothing to rewrite.
    pub fn rewrite<'t, 'a>(&self, text: &'a str, tokens: &'t [Token<'a>]) -> Cow<'t, [Token<'a>]> {
        let has_emoji = !text.is_ascii() && text.chars().any(|c| self.emoji.contains_key(&c));
        let needs = |t: &Token| {
            self.is_abbreviation(&t.norm)
                || self.leet_form(&t.norm).is_some()
                || (t.hashtag && camel_parts(&text[t.start..t.end]).len() > 1)
        };
        if !has_emoji && !tokens.iter().any(needs) {
            return Cow::Borrowed(tokens);
        }
        let mut out: Vec<Token> = Vec::with_capacity(tokens.len() + 8);
        let mut emoji = self.emoji_tokens(text).into_iter().peekable();
        for token in tokens {
            while let Some(e) = emoji.next_if(|e| e.start < token.start) {
                out.push(e);
            }
            if let Some(means) =
                self.abbreviations.get(token.norm.as_ref()).filter(|_| self.is_abbreviation(&token.norm))
            {
                for (i, word) in means.iter().enumerate() {
                    out.push(Token {
                        norm: Cow::Owned(word.clone()),
                        alt: None,
                        sentence_start: token.sentence_start && i == 0,
                        hashtag: false,
                        ..token.clone()
                    });
                }
                continue;
            }
            if let Some(read) = self.leet_form(&token.norm) {
                out.push(Token { alt: Some(token.norm.to_string()), norm: Cow::Owned(read), ..token.clone() });
                continue;
            }
            out.push(token.clone());
            if token.hashtag {
                let written = &text[token.start..token.end];
                let parts = camel_parts(written);
                if parts.len() > 1 {
                    for (from, to) in parts {
                        out.push(Token {
                            norm: Cow::Owned(written[from..to].to_lowercase()),
                            alt: None,
                            start: token.start + from,
                            end: token.start + to,
                            hashtag: false,
                            capitalised: true,
                            sentence_start: false,
                        });
                    }
                }
            }
        }
        out.extend(emoji);
        Cow::Owned(out)
    }

    /// Whether `word` is in the abbreviation table (a bit test first, then the look-up).
    fn is_abbreviation(&self, word: &str) -> bool {
        let shape = word.as_bytes().first().and_then(|b| self.abbreviation_shapes.get(usize::from(*b)));
        shape.is_some_and(|bits| word.len() < 64 && bits & (1 << word.len()) != 0)
            && self.abbreviations.contains_key(word)
    }

    /// The word a leetspeak spelling stands for, if `word` is one.
    fn leet_form(&self, word: &str) -> Option<String> {
        let bytes = word.as_bytes();
        if !bytes.iter().any(u8::is_ascii_digit) {
            return None;
        }
        let letters = bytes.iter().filter(|b| b.is_ascii_lowercase()).count();
        if letters < 2 || !word.is_ascii() {
            return None;
        }
        let mut out = String::with_capacity(word.len());
        for b in bytes {
            if b.is_ascii_digit() {
                out.push(self.leet[usize::from(b - b'0')]?);
            } else {
                out.push(char::from(*b));
            }
        }
        Some(out)
    }

    /// One token per word an emoji of the table stands for, in text order.
    fn emoji_tokens<'a>(&self, text: &'a str) -> Vec<Token<'a>> {
        let mut out = Vec::new();
        if text.is_ascii() {
            return out;
        }
        for (at, c) in text.char_indices() {
            let Some(means) = self.emoji.get(&c) else { continue };
            for word in means {
                out.push(Token {
                    norm: Cow::Owned(word.clone()),
                    alt: None,
                    start: at,
                    end: at + c.len_utf8(),
                    hashtag: false,
                    capitalised: false,
                    sentence_start: false,
                });
            }
        }
        out
    }
}

/// Variation selectors, skin tones and the zero-width joiner that may follow an emoji.
fn is_modifier(c: char) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}')
}

/// Byte ranges of the CamelCase parts of a written hashtag word
/// (`ZetDeBusInDeFik` → `Zet`, `De`, `Bus`, `In`, `De`, `Fik`); one range
/// when it has no inner capital, or is all capitals (`AZC`).
fn camel_parts(word: &str) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut previous_lower = false;
    for (at, c) in word.char_indices() {
        if c.is_uppercase() && previous_lower && at > start {
            parts.push((start, at));
            start = at;
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    parts.push((start, word.len()));
    parts
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path, hash: &mut Fnv, problems: &mut Problems) -> Option<T> {
    let source = match std::fs::read_to_string(path) {
        Ok(source) => source,
        Err(e) => {
            problems.push(path, "", format!("cannot read: {e}"));
            return None;
        }
    };
    hash.write(source.as_bytes());
    match toml::from_str(&source) {
        Ok(file) => Some(file),
        Err(e) => {
            problems.push_toml(path, &source, &e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::tokenize;

    fn shipped() -> Rewriter {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/signals");
        let mut problems = Problems::default();
        let rewriter = Rewriter::load(&dir, &mut problems);
        assert!(problems.is_empty(), "{:?}", problems.0);
        rewriter
    }

    fn read(text: &str) -> Vec<String> {
        let tokens = tokenize(text);
        shipped().rewrite(text, &tokens).iter().map(|t| t.norm.to_string()).collect()
    }

    #[test]
    fn leetspeak_is_read_and_the_written_form_kept() {
        assert_eq!(read("m00rd op die k4nker w0uten"), ["moord", "op", "die", "kanker", "wouten"]);
        let text = "we gaan je d00d maken";
        let tokens = tokenize(text);
        let rewritten = shipped().rewrite(text, &tokens);
        assert_eq!(rewritten[3].alt.as_deref(), Some("d00d"));
        // Road numbers, ordinals and names with other digits stay as written.
        assert_eq!(
            read("file op de a12 en de 2e covid19 golf"),
            ["file", "op", "de", "a12", "en", "de", "2e", "covid19", "golf"]
        );
    }

    #[test]
    fn abbreviations_become_their_words_with_the_same_span() {
        let text = "kga die wouten ff opzoeken, 'k zweer";
        let tokens = tokenize(text);
        let rewritten = shipped().rewrite(text, &tokens);
        let norms: Vec<&str> = rewritten.iter().map(|t| t.norm.as_ref()).collect();
        assert_eq!(norms, ["ik", "ga", "die", "wouten", "even", "opzoeken", "ik", "zweer"]);
        assert_eq!(&text[rewritten[1].start..rewritten[1].end], "kga");
        assert!(rewritten[0].sentence_start && !rewritten[1].sentence_start);
    }

    #[test]
    fn camel_case_hashtags_add_their_words() {
        assert_eq!(read("#ZetDeBusInDeFik nu"), ["zetdebusindefik", "zet", "de", "bus", "in", "de", "fik", "nu"]);
        assert_eq!(read("#AZC #avondklok"), ["azc", "avondklok"]);
    }

    #[test]
    fn emoji_become_words_in_place() {
        assert_eq!(read("die wethouder 🔫🔫 vanavond"), ["die", "wethouder", "pistool", "pistool", "vanavond"]);
        assert_eq!(read("☠️ x"), ["dood", "x"]);
        // Nothing to rewrite: the very same tokens, not a copy.
        let plain = "De gemeenteraad vergadert donderdag.";
        let tokens = tokenize(plain);
        assert!(matches!(shipped().rewrite(plain, &tokens), Cow::Borrowed(_)));
    }

    #[test]
    fn bad_tables_are_reported() {
        let dir = std::env::temp_dir().join(format!("onrust-rewrite-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(FOLDER)).unwrap();
        std::fs::write(
            dir.join(FOLDER).join(SPELLING_FILE),
            "version = 0\n[leet]\n\"0\" = \"oo\"\n[[abbreviations]]\nshort = \"ik ga\"\nmeans = \"x\"\n",
        )
        .unwrap();
        std::fs::write(dir.join(FOLDER).join(EMOJI_FILE), "version = 1\n[[emoji]]\nemoji = \"ab\"\nmeans = \"x\"\n")
            .unwrap();
        let mut problems = Problems::default();
        let _ = Rewriter::load(&dir, &mut problems);
        let all: Vec<String> = problems.0.iter().map(ToString::to_string).collect();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(all.len(), 4, "{all:#?}");
        assert!(all[0].contains("leet \"0\""), "{all:#?}");
        assert!(all[1].contains("abbreviations \"ik ga\""), "{all:#?}");
        assert!(all[2].contains("version"), "{all:#?}");
        assert!(all[3].contains("emoji \"ab\""), "{all:#?}");
    }
}
