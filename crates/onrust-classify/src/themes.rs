//! Themes and their lexicons (`config/themes/*.toml`), compiled into one index.
//!
//! All terms of all themes go into hash maps keyed on normalised words:
//! exact words, phrases (keyed on their first word), prefix terms (`stem*`,
//! for Dutch compounds: `stikstof*` matches `stikstofregels`), suffix terms
//! (`*stem`: `*rellen` matches `voetbalrellen`) and hashtag-only terms.
//! Matching a message is a few hash look-ups per word, whatever the number
//! of themes. Hashtags are also segmented greedily against the lexicon's
//! words (`#avondklokrellen` → `avondklok`, `rellen`).
//!
//! Counting: within one theme a word counts once (with its best-weighing
//! term) and a term counts once per message, so repeating a word or
//! overlapping patterns (`vuurwerk*` and `*vuurwerk` on `vuurwerk`) do not
//! inflate the score.

// Fx hashing: the maps are keyed by short words from our own lexicons and
// looked up several times per token, where SipHash cost a tenth of the time.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Problems;
use crate::morphology::{Kind, Morphology};
use crate::normalize::{Token, words};

/// The deny-list every deployment gets (rule L11): Dutch party names.
/// Terms that start with "anti" are refused as well. Configuration can add
/// terms, never remove these.
pub const DEFAULT_DENY_TERMS: &[&str] = &[
    "pvv",
    "vvd",
    "cda",
    "d66",
    "groenlinks",
    "groen links",
    "pvda",
    "sp",
    "fvd",
    "forum voor democratie",
    "bbb",
    "boerburgerbeweging",
    "ja21",
    "denk",
    "volt",
    "partij voor de dieren",
    "pvdd",
    "christenunie",
    "sgp",
    "nsc",
    "nieuw sociaal contract",
    "50plus",
];

/// How many words after its verb a separable particle is looked for (`steek die wethouder van de gemeente neer`).
const MAX_PARTICLE_DISTANCE: usize = 12;

/// Segments shorter than this are not looked for inside hashtags.
const MIN_SEGMENT_BYTES: usize = 4;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    id: String,
    version: u32,
    label: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default = "default_min_weight")]
    min_weight: f64,
    #[serde(default)]
    terms: Vec<TermSpec>,
    #[serde(default)]
    hashtags: Vec<TermSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TermSpec {
    #[serde(rename = "match")]
    pattern: String,
    #[serde(default = "default_weight")]
    weight: f64,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

fn default_min_weight() -> f64 {
    1.0
}

fn default_weight() -> f64 {
    1.0
}

/// Weights above this are almost certainly a typo.
const MAX_WEIGHT: f64 = 10.0;

#[derive(Debug)]
pub(crate) struct ThemeMeta {
    pub id: String,
    /// Which of the loaded folders the file came from (0: themes, 1: signals).
    pub source: usize,
    pub version: u32,
    #[allow(dead_code)]
    pub label: String,
    pub min_weight: f32,
}

#[derive(Debug)]
struct TermMeta {
    theme: usize,
    weight: f32,
}

/// One occurrence of a term.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TermMatch {
    /// The file (theme or signal group) the term belongs to.
    pub group: usize,
    /// The term, for counting each term once.
    pub term: usize,
    pub weight: f32,
    /// First and last token of the match.
    pub first: usize,
    pub last: usize,
    /// Byte span in the original text.
    pub start: usize,
    pub end: usize,
    /// The original words.
    pub evidence: String,
}

/// A theme that reached its `min_weight` in a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ThemeHit {
    pub theme: usize,
    pub weight: f32,
    pub evidence: Vec<String>,
}

/// A set of two-byte sequences (8 KiB of bits): the first two bytes of
/// the prefix patterns, the last two of the suffix patterns. Most words
/// start and end with none of them and skip every prefix and suffix look-up;
/// a set of single bytes let through most words (any letter starts some pattern).
#[derive(Debug, Clone)]
struct PairSet {
    bits: Box<[u64]>,
    /// A pattern shorter than two bytes: every word must be looked up.
    any: bool,
}

impl Default for PairSet {
    fn default() -> Self {
        PairSet { bits: vec![0; 1 << 10].into_boxed_slice(), any: false }
    }
}

impl PairSet {
    fn index(pair: [u8; 2]) -> (usize, u64) {
        let at = usize::from(u16::from_be_bytes(pair));
        (at >> 6, 1 << (at & 63))
    }

    fn insert(&mut self, pattern: &[u8], pair: Option<[u8; 2]>) {
        match pair {
            Some(pair) => {
                let (word, bit) = Self::index(pair);
                self.bits[word] |= bit;
            }
            None => self.any |= !pattern.is_empty(),
        }
    }

    fn contains(&self, pair: Option<[u8; 2]>) -> bool {
        self.any
            || pair.is_some_and(|pair| {
                let (word, bit) = Self::index(pair);
                self.bits[word] & bit != 0
            })
    }
}

fn first_pair(bytes: &[u8]) -> Option<[u8; 2]> {
    Some([*bytes.first()?, *bytes.get(1)?])
}

fn last_pair(bytes: &[u8]) -> Option<[u8; 2]> {
    let [.., a, b] = bytes else { return None };
    Some([*a, *b])
}

#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    pub themes: Vec<ThemeMeta>,
    terms: Vec<TermMeta>,
    /// Every written form a term starts or is, with what the matcher needs
    /// of it: one look-up per word when matching (see [`FormEntry`]). The
    /// single words and the phrases of the lexicons live here and nowhere else.
    forms: HashMap<String, FormEntry>,
    prefixes: HashMap<String, Vec<usize>>,
    prefix_lens: Vec<usize>,
    suffixes: HashMap<String, Vec<usize>>,
    suffix_lens: Vec<usize>,
    /// How prefix patterns start and suffix patterns end (see [`PairSet`]).
    prefix_heads: PairSet,
    suffix_tails: PairSet,
    hashtags: HashMap<String, Vec<usize>>,
    /// Single-word terms of the folders read by lemma, keyed on their lemma
    /// and kind ([`Lexicon::index_lemmas`]).
    lemma_terms: HashMap<(u32, Kind), Vec<usize>>,
    segment_words: HashSet<String>,
    segment_max: usize,
    /// FNV-1a of all files, folder by folder, in file name order.
    pub content_hash: u64,
    /// The folder being loaded (see [`ThemeMeta::source`]).
    loading: usize,
}

/// Everything the matcher needs of one written form.
#[derive(Debug, Default)]
struct FormEntry {
    /// Single-word terms written so.
    exact: Vec<usize>,
    /// Single-word terms of which this is an inflection (after [`Lexicon::index_lemmas`]).
    inflected: Vec<usize>,
    /// Phrases that start with this word: the words after it, and the term;
    /// longest first.
    phrases: Vec<(Vec<String>, usize)>,
    /// The second words of `phrases`, sorted: a word that starts phrases
    /// ("de", "in", "we") is mostly followed by none of them, and one look
    /// here rules out all its phrases at once.
    phrase_seconds: Vec<String>,
    /// A form of a verb that has separable compounds (`schiet`, `steek`).
    separable: bool,
}

enum Pattern {
    Word(String),
    Phrase(Vec<String>),
    Prefix(String),
    Suffix(String),
}

/// Why a term is refused under rule L11, if it is.
fn denied(term_words: &[String], deny: &[Vec<String>]) -> Option<String> {
    if let Some(w) = term_words.iter().find(|w| w.starts_with("anti")) {
        return Some(format!("\"{w}\": terms starting with \"anti\" describe a viewpoint, not a disorder signal"));
    }
    let joined: String = term_words.concat();
    for d in deny {
        let contained = !d.is_empty() && term_words.windows(d.len()).any(|w| w == d.as_slice());
        if contained || joined == d.concat() {
            return Some(format!(
                "\"{}\" is on the deny-list (party names and viewpoints are not disorder signals)",
                d.join(" ")
            ));
        }
    }
    None
}

impl Lexicon {
    /// Loads every `*.toml` of each folder (sorted by name) into one index,
    /// so a message is read once for themes and signals alike; each group
    /// remembers its folder.
    pub fn load(dirs: &[&Path], deny_terms: &[String], problems: &mut Problems) -> Self {
        let mut deny: Vec<Vec<String>> =
            DEFAULT_DENY_TERMS.iter().map(|t| words(t)).chain(deny_terms.iter().map(|t| words(t))).collect();
        deny.retain(|d| !d.is_empty());
        let mut lex = Lexicon::default();
        let mut hash = Fnv::new();
        for (source, dir) in dirs.iter().enumerate() {
            lex.loading = source;
            lex.load_dir(dir, &deny, &mut hash, problems);
        }
        lex.content_hash = hash.finish();
        lex.finish();
        lex
    }

    fn load_dir(&mut self, dir: &Path, deny: &[Vec<String>], hash: &mut Fnv, problems: &mut Problems) {
        let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
                .collect(),
            Err(e) => {
                problems.push(dir, "", format!("cannot read the lexicon directory: {e}"));
                return;
            }
        };
        files.sort();
        if files.is_empty() {
            problems.push(dir, "", "no lexicon files (*.toml) found");
        }
        for file in &files {
            let source = match fs::read_to_string(file) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(file, "", format!("cannot read: {e}"));
                    continue;
                }
            };
            hash.write(file.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
            hash.write(source.as_bytes());
            match toml::from_str::<ThemeFile>(&source) {
                Ok(theme) => self.add_theme(file, theme, deny, problems),
                Err(e) => problems.push_toml(file, &source, &e),
            }
        }
    }

    /// Builds the lookup helpers once every file is in.
    fn finish(&mut self) {
        self.prefix_lens = lens(&self.prefixes);
        self.suffix_lens = lens(&self.suffixes);
        for prefix in self.prefixes.keys() {
            self.prefix_heads.insert(prefix.as_bytes(), first_pair(prefix.as_bytes()));
        }
        for suffix in self.suffixes.keys() {
            self.suffix_tails.insert(suffix.as_bytes(), last_pair(suffix.as_bytes()));
        }
        for entry in self.forms.values_mut() {
            entry.phrases.sort_by_key(|(rest, _)| std::cmp::Reverse(rest.len()));
            entry.phrase_seconds = entry.phrases.iter().filter_map(|(rest, _)| rest.first().cloned()).collect();
            entry.phrase_seconds.sort_unstable();
            entry.phrase_seconds.dedup();
        }
        self.segment_words =
            self.words().map(|(w, _)| w).chain(self.prefixes.keys()).chain(self.suffixes.keys()).cloned().collect();
        self.segment_words.retain(|w| w.len() >= MIN_SEGMENT_BYTES);
        self.segment_max = self.segment_words.iter().map(String::len).max().unwrap_or(0);
    }

    /// The single-word terms, by the word.
    fn words(&self) -> impl Iterator<Item = (&String, &[usize])> {
        self.forms.iter().filter(|(_, e)| !e.exact.is_empty()).map(|(w, e)| (w, e.exact.as_slice()))
    }

    /// The phrases, by their first word: the words after it, and the term.
    fn phrases(&self) -> impl Iterator<Item = (&String, &[(Vec<String>, usize)])> {
        self.forms.iter().filter(|(_, e)| !e.phrases.is_empty()).map(|(w, e)| (w, e.phrases.as_slice()))
    }

    fn add_theme(&mut self, file: &Path, theme: ThemeFile, deny: &[Vec<String>], problems: &mut Problems) {
        let before = problems.0.len();
        let valid_id = !theme.id.is_empty()
            && theme.id.len() <= 32
            && theme.id.starts_with(|c: char| c.is_ascii_lowercase())
            && theme.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_id {
            problems.push(
                file,
                "id",
                format!("{:?} must be 1 to 32 characters of a-z, 0-9, '_', starting with a letter", theme.id),
            );
        } else if file.file_stem().is_some_and(|s| s != theme.id.as_str()) {
            problems.push(file, "id", format!("{:?} must match the file name ({}.toml)", theme.id, theme.id));
        }
        if self.themes.iter().any(|t| t.id == theme.id) {
            problems.push(file, "id", format!("duplicate theme id {:?}", theme.id));
        }
        if theme.version == 0 {
            problems.push(file, "version", "must be 1 or more; raise it whenever the lexicon changes");
        }
        if theme.label.trim().is_empty() {
            problems.push(file, "label", "must not be empty");
        }
        if !(theme.min_weight.is_finite() && theme.min_weight > 0.0 && theme.min_weight <= MAX_WEIGHT * 10.0) {
            problems.push(file, "min_weight", format!("{} must be a positive number", theme.min_weight));
        }
        if theme.terms.is_empty() && theme.hashtags.is_empty() {
            problems.push(file, "terms", "a theme needs at least one term");
        }
        let index = self.themes.len();
        let mut seen: HashSet<String> = HashSet::default();
        let mut compiled: Vec<(Pattern, f32, bool)> = Vec::new();
        for (spec, hashtag) in theme.terms.iter().map(|t| (t, false)).chain(theme.hashtags.iter().map(|t| (t, true))) {
            let key = if hashtag { "hashtags" } else { "terms" };
            let location = format!("{key} {:?}", spec.pattern);
            if !(spec.weight.is_finite() && spec.weight > 0.0 && spec.weight <= MAX_WEIGHT) {
                problems.push(
                    file,
                    &location,
                    format!("weight {} must be more than 0 and at most {MAX_WEIGHT}", spec.weight),
                );
                continue;
            }
            let Some(pattern) = parse_pattern(&spec.pattern, hashtag) else {
                problems.push(
                    file,
                    &location,
                    if hashtag {
                        "a hashtag must be one word (with or without '#'), no '*'"
                    } else {
                        "must contain a word; '*' only at the start or end of a single word with at least 3 letters; hashtags go under [[hashtags]]"
                    },
                );
                continue;
            };
            let term_words: Vec<String> = match &pattern {
                Pattern::Word(w) | Pattern::Prefix(w) | Pattern::Suffix(w) => vec![w.clone()],
                Pattern::Phrase(ws) => ws.clone(),
            };
            if let Some(why) = denied(&term_words, deny) {
                problems.push(file, &location, why);
                continue;
            }
            let dedup = format!("{key}:{}:{}", spec.pattern.starts_with('*'), spec.pattern.trim_end().ends_with('*'))
                + &term_words.join(" ");
            if !seen.insert(dedup) {
                problems.push(file, &location, "listed twice in this theme");
                continue;
            }
            compiled.push((pattern, spec.weight as f32, hashtag));
        }
        if problems.0.len() > before {
            return;
        }
        self.themes.push(ThemeMeta {
            source: self.loading,
            id: theme.id,
            version: theme.version,
            label: theme.label,
            min_weight: theme.min_weight as f32,
        });
        for (pattern, weight, hashtag) in compiled {
            let term = self.terms.len();
            self.terms.push(TermMeta { theme: index, weight });
            match pattern {
                Pattern::Word(w) if hashtag => self.hashtags.entry(w).or_default().push(term),
                Pattern::Word(w) => self.forms.entry(w).or_default().exact.push(term),
                Pattern::Prefix(w) => self.prefixes.entry(w).or_default().push(term),
                Pattern::Suffix(w) => self.suffixes.entry(w).or_default().push(term),
                Pattern::Phrase(mut ws) => {
                    let first = ws.remove(0);
                    self.forms.entry(first).or_default().phrases.push((ws, term));
                }
            }
        }
    }

    /// Lets the single-word terms of the groups of folder `source` named in
    /// `groups` match by lemma: each term is indexed under its readings, so
    /// `bekogelen` finds `bekogelt` and `bekogel`, and `bom` finds `bommen`,
    /// while a present form never finds a participle (a call is not a
    /// report). A word that is a verb as well as a noun is read as the verb
    /// (`waren` is not `waar`). Groups whose words stand for one tense
    /// (`report`: `werd`, `was`) keep matching as written.
    pub fn index_lemmas(&mut self, morphology: &Morphology, source: usize, groups: &[&str]) {
        let mut index: HashMap<(u32, Kind), Vec<usize>> = HashMap::default();
        let chosen = |term: usize| {
            let theme = &self.themes[self.terms[term].theme];
            theme.source == source && groups.contains(&theme.id.as_str())
        };
        for (word, terms) in self.words() {
            let analyses = morphology.analyses(word);
            let verb = analyses.iter().any(|a| a.tag.kind() != Kind::Noun);
            for analysis in analyses.iter().filter(|a| !verb || a.tag.kind() != Kind::Noun) {
                for &term in terms.iter().filter(|t| chosen(**t)) {
                    let list = index.entry((analysis.lemma, analysis.tag.kind())).or_default();
                    if !list.contains(&term) {
                        list.push(term);
                    }
                }
            }
        }
        let mut inflections: HashMap<String, Vec<usize>> = HashMap::default();
        let mut separable_forms = HashSet::default();
        for (form, analyses) in morphology.forms() {
            for analysis in analyses {
                if let Some(terms) = index.get(&(analysis.lemma, analysis.tag.kind())) {
                    let list = inflections.entry(form.to_owned()).or_default();
                    list.extend(terms.iter().filter(|t| !list.contains(t)).copied().collect::<Vec<_>>());
                }
                if analysis.tag.kind() != Kind::Noun && morphology.is_separable_base(analysis.lemma) {
                    separable_forms.insert(form.to_owned());
                }
            }
        }
        self.lemma_terms = index;
        for entry in self.forms.values_mut() {
            entry.inflected.clear();
            entry.separable = false;
        }
        for (form, terms) in inflections {
            self.forms.entry(form).or_default().inflected = terms;
        }
        for form in separable_forms {
            self.forms.entry(form).or_default().separable = true;
        }
    }

    /// The lemmas of the single-word terms of `groups`.
    pub fn lemmas_of(&self, groups: &[usize], morphology: &Morphology) -> HashSet<u32> {
        let mut out = HashSet::default();
        for (word, terms) in self.words() {
            if terms.iter().any(|t| groups.contains(&self.terms[*t].theme)) {
                out.extend(morphology.analyses(word).iter().map(|a| a.lemma));
            }
        }
        out
    }

    /// Every word of the terms of the lexicons `keep` accepts (by index
    /// into `themes`), and their prefix patterns: the words that name what
    /// a message is about, which the learned layer never lets raise a level.
    pub fn words_of(&self, keep: impl Fn(usize) -> bool) -> (HashSet<String>, Vec<String>) {
        let chosen = |terms: &[usize]| terms.iter().any(|t| keep(self.terms[*t].theme));
        let mut words: HashSet<String> = HashSet::default();
        for (word, terms) in self.words() {
            if chosen(terms) {
                words.insert(word.clone());
            }
        }
        for (first, list) in self.phrases() {
            for (rest, term) in list {
                if keep(self.terms[*term].theme) {
                    words.insert(first.clone());
                    words.extend(rest.iter().cloned());
                }
            }
        }
        let mut prefixes: Vec<String> =
            self.prefixes.iter().filter(|(_, terms)| chosen(terms)).map(|(p, _)| p.clone()).collect();
        prefixes.sort();
        (words, prefixes)
    }

    /// Whether a word is a single-word term (or a prefix or suffix term) of any lexicon.
    pub fn knows_word(&self, word: &str) -> bool {
        self.forms.get(word).is_some_and(|e| !e.exact.is_empty())
            || self.prefixes.contains_key(word)
            || self.suffixes.contains_key(word)
    }

    /// Every term, as normalised words joined by spaces (for benchmarks).
    pub fn patterns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.words().map(|(w, _)| w.clone()));
        out.extend(self.prefixes.keys().cloned());
        out.extend(self.suffixes.keys().cloned());
        out.extend(self.hashtags.keys().cloned());
        for (first, rests) in self.phrases() {
            for (rest, _) in rests {
                out.push(format!("{first} {}", rest.join(" ")));
            }
        }
        out
    }

    /// Every occurrence of a term in `tokens`: per word (or phrase, or hashtag
    /// segment) the heaviest matching term of each group, with its place.
    /// Themes and escalation signals both read the text through this.
    pub fn find_terms(&self, text: &str, tokens: &[Token], morphology: &Morphology) -> Vec<TermMatch> {
        let mut found: Vec<TermMatch> = Vec::new();
        let mut per_word: Vec<usize> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            per_word.clear();
            let entries = [self.forms.get(token.norm.as_ref()), token.alt.as_deref().and_then(|a| self.forms.get(a))];
            for (form, entry) in token.forms().zip(entries) {
                if let Some(entry) = entry {
                    per_word.extend(&entry.exact);
                }
                self.affix_terms(form, &mut per_word);
                if token.hashtag
                    && let Some(terms) = self.hashtags.get(form)
                {
                    per_word.extend(terms);
                }
                if let Some(entry) = entry {
                    per_word.extend(&entry.inflected);
                }
            }
            if !per_word.is_empty() {
                self.keep_best(&per_word, (i, i), (token.start, token.end), &mut found);
            }
            // Only index_lemmas marks separable forms.
            if entries[0].is_some_and(|e| e.separable) {
                self.separable_terms(text, tokens, i, morphology, &mut found);
            }
            // Phrases starting here.
            for entry in entries.into_iter().flatten() {
                let next = tokens.get(i + 1);
                let second = |word: &str| entry.phrase_seconds.binary_search_by(|s| s.as_str().cmp(word)).is_ok();
                if !next.is_some_and(|n| n.forms().any(second)) {
                    continue;
                }
                for (rest, term) in &entry.phrases {
                    let Some(tail) = tokens.get(i + 1..i + 1 + rest.len()) else { continue };
                    if rest.iter().zip(tail).all(|(w, t)| t.forms().any(|f| f == w)) {
                        let end = tail.last().map_or(token.end, |t| t.end);
                        let last = i + rest.len();
                        self.keep_best(std::slice::from_ref(term), (i, last), (token.start, end), &mut found);
                    }
                }
            }
            // Words inside a hashtag: the evidence is the word found in it.
            if token.hashtag && self.segment_max > 0 {
                for segment in self.segment(&token.norm) {
                    per_word.clear();
                    self.word_terms(segment, &mut per_word);
                    let before = found.len();
                    self.keep_best(&per_word, (i, i), (token.start, token.end), &mut found);
                    found[before..].iter_mut().for_each(|m| m.evidence = segment.to_owned());
                }
            }
        }
        for m in found.iter_mut().filter(|m| m.evidence.is_empty()) {
            m.evidence = text.get(m.start..m.end).unwrap_or_default().to_owned();
        }
        found
    }

    /// Separable verbs whose verb is token `i`: the particle later in the
    /// clause (`schiet de burgemeester neer`) or just before `te` (`neer te
    /// schieten`). The evidence is the verb and the particle.
    fn separable_terms(
        &self,
        text: &str,
        tokens: &[Token],
        i: usize,
        morphology: &Morphology,
        found: &mut Vec<TermMatch>,
    ) {
        let Some(token) = tokens.get(i) else { return };
        for analysis in morphology.analyses(&token.norm) {
            if analysis.tag.kind() == Kind::Noun || !morphology.is_separable_base(analysis.lemma) {
                continue;
            }
            let clause_end =
                tokens.iter().skip(i + 1).position(|t| t.sentence_start).map_or(tokens.len(), |at| i + 1 + at);
            let after =
                (i + 1..clause_end.min(i + 1 + MAX_PARTICLE_DISTANCE)).filter_map(|j| Some((j, tokens.get(j)?)));
            let before = (i >= 2 && tokens.get(i - 1).is_some_and(|t| t.norm == "te") && !token.sentence_start)
                .then(|| (i - 2, &tokens[i - 2]));
            for (j, particle) in after.chain(before) {
                let Some(verb) = morphology.separable(&particle.norm, analysis.lemma) else { continue };
                let Some(terms) = self.lemma_terms.get(&(verb, analysis.tag.kind())) else { continue };
                let (first, last) = (i.min(j), i.max(j));
                let (start, end) = (tokens[first].start, tokens[last].end);
                let before_len = found.len();
                self.keep_best(terms, (first, last), (start, end), found);
                let evidence = format!(
                    "{} … {}",
                    text.get(tokens[first].start..tokens[first].end).unwrap_or_default(),
                    text.get(tokens[last].start..tokens[last].end).unwrap_or_default()
                );
                found[before_len..].iter_mut().for_each(|m| m.evidence = evidence.clone());
                break;
            }
        }
    }

    /// The groups of folder `source` that reach their `min_weight` among
    /// `matches`, strongest first. A term counts once per message, however
    /// often it occurs.
    pub fn themes_in(&self, matches: &[TermMatch], source: usize) -> Vec<ThemeHit> {
        let mut hits: Vec<ThemeHit> = Vec::new();
        let mut counted: Vec<usize> = Vec::new();
        for m in matches.iter().filter(|m| self.themes[m.group].source == source) {
            if counted.contains(&m.term) {
                continue;
            }
            counted.push(m.term);
            let hit = match hits.iter_mut().position(|h| h.theme == m.group) {
                Some(at) => &mut hits[at],
                None => {
                    hits.push(ThemeHit { theme: m.group, weight: 0.0, evidence: Vec::new() });
                    let last = hits.len() - 1;
                    &mut hits[last]
                }
            };
            hit.weight += m.weight;
            if !hit.evidence.iter().any(|e| e.eq_ignore_ascii_case(&m.evidence)) {
                hit.evidence.push(m.evidence.clone());
            }
        }
        hits.retain(|h| h.weight >= self.themes[h.theme].min_weight);
        hits.sort_by(|a, b| {
            b.weight.total_cmp(&a.weight).then_with(|| self.themes[a.theme].id.cmp(&self.themes[b.theme].id))
        });
        hits
    }

    /// Terms matching one word: exact, prefix and suffix.
    fn word_terms(&self, word: &str, out: &mut Vec<usize>) {
        if let Some(entry) = self.forms.get(word) {
            out.extend(&entry.exact);
        }
        self.affix_terms(word, out);
    }

    /// Prefix and suffix terms matching one word.
    fn affix_terms(&self, word: &str, out: &mut Vec<usize>) {
        let bytes = word.as_bytes();
        if self.prefix_heads.contains(first_pair(bytes)) {
            for &len in self.prefix_lens.iter().take_while(|len| **len <= word.len()) {
                if word.is_char_boundary(len)
                    && let Some(terms) = self.prefixes.get(&word[..len])
                {
                    out.extend(terms);
                }
            }
        }
        if self.suffix_tails.contains(last_pair(bytes)) {
            for &len in self.suffix_lens.iter().take_while(|len| **len <= word.len()) {
                let at = word.len() - len;
                if word.is_char_boundary(at)
                    && let Some(terms) = self.suffixes.get(&word[at..])
                {
                    out.extend(terms);
                }
            }
        }
    }

    /// Keeps, per group, the best-weighing of `terms` that matched at one place.
    fn keep_best(&self, terms: &[usize], tokens: (usize, usize), bytes: (usize, usize), found: &mut Vec<TermMatch>) {
        for &term in terms {
            let meta = &self.terms[term];
            let best = terms
                .iter()
                .filter(|t| self.terms[**t].theme == meta.theme)
                .max_by(|a, b| self.terms[**a].weight.total_cmp(&self.terms[**b].weight).then(b.cmp(a)));
            let already = found.iter().any(|m| m.term == term && m.first == tokens.0 && m.last == tokens.1);
            if best != Some(&term) || already {
                continue;
            }
            found.push(TermMatch {
                group: meta.theme,
                term,
                weight: meta.weight,
                first: tokens.0,
                last: tokens.1,
                start: bytes.0,
                end: bytes.1,
                evidence: String::new(),
            });
        }
    }

    /// Greedy left-to-right segmentation of a hashtag against the lexicon's
    /// words: at each position the longest known word, else skip a character.
    fn segment<'a>(&self, tag: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + MIN_SEGMENT_BYTES <= tag.len() {
            let max = (tag.len() - i).min(self.segment_max);
            let found = (MIN_SEGMENT_BYTES..=max)
                .rev()
                .find(|len| tag.is_char_boundary(i + len) && self.segment_words.contains(&tag[i..i + len]));
            match found {
                Some(len) => {
                    out.push(&tag[i..i + len]);
                    i += len;
                }
                None => {
                    i += tag[i..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        // The whole tag is matched as a word already.
        out.retain(|s| s.len() < tag.len());
        out
    }
}

fn lens(map: &HashMap<String, Vec<usize>>) -> Vec<usize> {
    let mut lens: Vec<usize> = map.keys().map(String::len).collect();
    lens.sort_unstable();
    lens.dedup();
    lens
}

fn parse_pattern(raw: &str, hashtag: bool) -> Option<Pattern> {
    let raw = raw.trim();
    if hashtag {
        let body = raw.strip_prefix('#').unwrap_or(raw);
        if body.contains(['*', '#']) {
            return None;
        }
        let ws = words(body);
        return (ws.len() == 1).then(|| Pattern::Word(ws.concat()));
    }
    if raw.contains('#') {
        return None;
    }
    let prefix = raw.ends_with('*');
    let suffix = raw.starts_with('*');
    let body = raw.trim_matches('*');
    if body.contains('*') || (prefix && suffix) {
        return None;
    }
    let mut ws = words(body);
    match (ws.len(), prefix, suffix) {
        (0, _, _) => None,
        (1, true, _) | (1, _, true) if ws[0].chars().count() < 3 => None,
        (1, true, _) => ws.pop().map(Pattern::Prefix),
        (1, _, true) => ws.pop().map(Pattern::Suffix),
        (1, false, false) => ws.pop().map(Pattern::Word),
        (_, false, false) => Some(Pattern::Phrase(ws)),
        _ => None,
    }
}

/// 64-bit FNV-1a, for versioning lexicon contents without another dependency.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Fnv {
    pub fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod pair_set_tests {
    use super::{PairSet, first_pair, last_pair};

    #[test]
    fn a_word_passes_only_when_a_pattern_starts_as_it_does() {
        let mut heads = PairSet::default();
        heads.insert(b"brand", first_pair(b"brand"));
        assert!(heads.contains(first_pair(b"brandstichting")));
        assert!(heads.contains(first_pair(b"br")));
        assert!(!heads.contains(first_pair(b"bommen")), "same first byte, other second byte");
        assert!(!heads.contains(first_pair(b"b")), "a one-byte word starts no two-byte pattern");
    }

    #[test]
    fn suffixes_are_read_from_the_end() {
        let mut tails = PairSet::default();
        tails.insert(b"geweld", last_pair(b"geweld"));
        assert!(tails.contains(last_pair(b"politiegeweld")));
        assert!(!tails.contains(last_pair(b"gewelddadig")));
    }

    #[test]
    fn a_pattern_shorter_than_two_bytes_lets_every_word_through() {
        let mut heads = PairSet::default();
        heads.insert(b"x", first_pair(b"x"));
        assert!(heads.contains(first_pair(b"anything")));
        assert!(heads.contains(None));
    }
}
