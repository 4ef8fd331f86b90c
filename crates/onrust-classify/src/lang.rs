//! Language identification restricted to the configured languages.
//!
//! whatlang over all of its languages calls many short Dutch sentences
//! Afrikaans; restricted to the languages a deployment expects (ISO 639-1 in
//! the configuration, `nl`, `en`, `de`, `fr` by default) it does not.

use std::path::Path;

use whatlang::{Detector, Lang};

use crate::error::Problems;
use crate::normalize::Token;

/// ISO 639-1 codes whatlang knows, with its ISO 639-3 language.
const ISO_639_1: &[(&str, Lang)] = &[
    ("af", Lang::Afr),
    ("am", Lang::Amh),
    ("ar", Lang::Ara),
    ("az", Lang::Aze),
    ("be", Lang::Bel),
    ("bg", Lang::Bul),
    ("bn", Lang::Ben),
    ("ca", Lang::Cat),
    ("cs", Lang::Ces),
    ("da", Lang::Dan),
    ("de", Lang::Deu),
    ("el", Lang::Ell),
    ("en", Lang::Eng),
    ("eo", Lang::Epo),
    ("es", Lang::Spa),
    ("et", Lang::Est),
    ("fa", Lang::Pes),
    ("fi", Lang::Fin),
    ("fr", Lang::Fra),
    ("he", Lang::Heb),
    ("hi", Lang::Hin),
    ("hr", Lang::Hrv),
    ("hu", Lang::Hun),
    ("hy", Lang::Hye),
    ("id", Lang::Ind),
    ("it", Lang::Ita),
    ("ja", Lang::Jpn),
    ("ka", Lang::Kat),
    ("ko", Lang::Kor),
    ("la", Lang::Lat),
    ("lt", Lang::Lit),
    ("lv", Lang::Lav),
    ("mk", Lang::Mkd),
    ("nb", Lang::Nob),
    ("nl", Lang::Nld),
    ("no", Lang::Nob),
    ("pl", Lang::Pol),
    ("pt", Lang::Por),
    ("ro", Lang::Ron),
    ("ru", Lang::Rus),
    ("sk", Lang::Slk),
    ("sl", Lang::Slv),
    ("sr", Lang::Srp),
    ("sv", Lang::Swe),
    ("th", Lang::Tha),
    ("tl", Lang::Tgl),
    ("tr", Lang::Tur),
    ("uk", Lang::Ukr),
    ("ur", Lang::Urd),
    ("uz", Lang::Uzb),
    ("vi", Lang::Vie),
    ("zh", Lang::Cmn),
];

/// Below this many words a detection must be reliable (or clearly ahead) to count.
const LONG_ENOUGH_WORDS: usize = 6;
/// Only the start of a long text is looked at; that is plenty and keeps it fast.
const SAMPLE_BYTES: usize = 1500;

pub(crate) struct LanguageId {
    detector: Detector,
    allowed: Vec<(&'static str, Lang)>,
}

impl LanguageId {
    pub fn new(codes: &[String], problems: &mut Problems) -> Option<Self> {
        let file = Path::new("languages");
        let mut allowed: Vec<(&'static str, Lang)> = Vec::new();
        if codes.is_empty() {
            problems.push(file, "", "at least one ISO 639-1 language code is needed, such as \"nl\"");
        }
        for code in codes {
            match ISO_639_1.iter().find(|(c, _)| *c == code.as_str()) {
                Some(&(c, lang)) if !allowed.iter().any(|(_, l)| *l == lang) => allowed.push((c, lang)),
                Some(_) => problems.push(file, code.clone(), "listed twice"),
                None => problems.push(
                    file,
                    code.clone(),
                    "not an ISO 639-1 code the language detector knows (two lowercase letters, such as nl, en, de, fr)",
                ),
            }
        }
        if allowed.is_empty() {
            return None;
        }
        let detector = Detector::with_allowlist(allowed.iter().map(|(_, l)| *l).collect());
        Some(Self { detector, allowed })
    }

    /// The ISO 639-1 code of `text`'s language, if it can be told: a reliable
    /// detection, or any detection on a text of at least
    /// [`LONG_ENOUGH_WORDS`] words; else the hint, if it is an allowed
    /// language; else a confident detection on a short text; else none.
    pub fn identify(&self, text: &str, tokens: &[Token], hint: Option<&str>) -> Option<String> {
        let hint = hint.and_then(|h| self.allowed_code(h));
        let words = tokens.iter().filter(|t| !t.hashtag && t.norm.chars().any(char::is_alphabetic)).count();
        if words == 0 {
            return hint.map(str::to_owned);
        }
        // Only the words, not URLs, mentions or hashtags, go to the detector.
        let mut sample = String::with_capacity(text.len().min(SAMPLE_BYTES) + 16);
        for t in tokens.iter().filter(|t| !t.hashtag) {
            if sample.len() >= SAMPLE_BYTES {
                break;
            }
            sample.push_str(&text[t.start..t.end]);
            sample.push(' ');
        }
        let info = self.detector.detect(&sample);
        let detected = info.as_ref().and_then(|i| self.code_of(i.lang()));
        match (info, detected) {
            (Some(info), Some(code)) if info.is_reliable() || words >= LONG_ENOUGH_WORDS => Some(code.to_owned()),
            _ if hint.is_some() => hint.map(str::to_owned),
            (Some(info), Some(code)) if words >= 3 && info.confidence() >= 0.5 => Some(code.to_owned()),
            _ => None,
        }
    }

    fn code_of(&self, lang: Lang) -> Option<&'static str> {
        self.allowed.iter().find(|(_, l)| *l == lang).map(|(c, _)| *c)
    }

    /// `nl`, `nl-NL`, `NL_be`, `nld` → `nl` when allowed.
    fn allowed_code(&self, hint: &str) -> Option<&'static str> {
        let primary = hint.split(['-', '_']).next().unwrap_or(hint).trim().to_ascii_lowercase();
        self.allowed.iter().find(|(c, l)| *c == primary || l.code() == primary).map(|(c, _)| *c)
    }
}
