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

/// Frequent words of one language that are rare in the other three of the
/// default set (normalised: lowercase, diacritics folded). Words shared
/// between them (`de`, `die`, `in`, `is`, `we`, `den`, `er`, `on`) are left out.
const FUNCTION_WORDS: [(&str, &[&str]); 4] = [
    (
        "nl",
        &[
            "het", "een", "en", "van", "niet", "op", "met", "voor", "naar", "zijn", "dat", "ook", "maar", "bij",
            "wordt", "worden", "heeft", "hebben", "wij", "ze", "geen", "om", "uit", "nog", "deze", "zich", "wat",
            "dan", "als", "wel", "tegen", "gaan", "hun", "zal", "kan", "moet", "alle", "iedereen", "vanavond",
        ],
    ),
    (
        "en",
        &[
            "the", "and", "of", "to", "with", "for", "that", "this", "was", "were", "are", "from", "by", "will", "not",
            "be", "have", "has", "they", "our", "their", "at", "after", "said", "about", "against", "tonight",
            "tomorrow",
        ],
    ),
    (
        "de",
        &[
            "der", "das", "und", "nicht", "mit", "auf", "ist", "sind", "ein", "eine", "fur", "von", "zu", "dem", "im",
            "wir", "sich", "auch", "wurde", "wurden", "nach", "gegen",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "et", "des", "un", "une", "pour", "avec", "est", "sont", "dans", "du", "au", "aux",
            "sur", "pas", "nous", "vous", "ce", "qui", "que", "ne", "contre", "demain",
        ],
    ),
];

/// Function words needed before [`FUNCTION_WORDS`] decide on their own.
const FUNCTION_WORDS_MIN: usize = 3;

/// Below this many words a detection must be reliable (or clearly ahead) to count.
const LONG_ENOUGH_WORDS: usize = 6;
/// Only the start of a long text is looked at; that is plenty and keeps it fast.
const SAMPLE_BYTES: usize = 1500;

pub(crate) struct LanguageId {
    detector: Detector,
    allowed: Vec<(&'static str, Lang)>,
    /// Function word → index into `allowed`; empty unless every allowed
    /// language (at most eight) has a list in [`FUNCTION_WORDS`].
    function_words: rustc_hash::FxHashMap<&'static str, usize>,
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
        let mut function_words = rustc_hash::FxHashMap::default();
        let lists: Option<Vec<&[&str]>> = allowed
            .iter()
            .map(|(code, _)| FUNCTION_WORDS.iter().find(|(c, _)| c == code).map(|(_, words)| *words))
            .collect();
        if let Some(lists) = lists.filter(|l| l.len() <= 8) {
            for (index, words) in lists.into_iter().enumerate() {
                function_words.extend(words.iter().map(|w| (*w, index)));
            }
        }
        Some(Self { detector, allowed, function_words })
    }

    /// The ISO 639-1 code of `text`'s language, if it can be told: a reliable
    /// detection, or any detection on a text of at least
    /// [`LONG_ENOUGH_WORDS`] words; else the hint, if it is an allowed
    /// language; else a confident detection on a short text; else none.
    pub fn identify(&self, text: &str, tokens: &[Token], hint: Option<&str>) -> Option<String> {
        if let Some(code) = self.by_function_words(tokens) {
            return Some(code.to_owned());
        }
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

    /// A fast first answer: when every allowed language has a function-word
    /// list and one language's function words clearly outnumber the others'
    /// (at least [`FUNCTION_WORDS_MIN`] and twice the runner-up), that is the
    /// language. Ordinary sentences of the default set are decided here,
    /// without the n-gram detector, which costs most of the classifier's time.
    fn by_function_words(&self, tokens: &[Token]) -> Option<&'static str> {
        if self.function_words.is_empty() {
            return None;
        }
        let mut counts = [0usize; 8];
        for token in tokens.iter().filter(|t| !t.hashtag) {
            if let Some(&language) = self.function_words.get(token.norm.as_ref()) {
                counts[language] += 1;
            }
        }
        let (best, &top) = counts.iter().enumerate().max_by_key(|(_, c)| **c)?;
        let second = counts.iter().enumerate().filter(|(i, _)| *i != best).map(|(_, c)| *c).max().unwrap_or(0);
        let decided = top >= FUNCTION_WORDS_MIN && top >= 2 * second.max(1);
        decided.then(|| self.allowed.get(best).map(|(code, _)| *code)).flatten()
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
