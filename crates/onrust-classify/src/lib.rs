//! onrust-classify: pure scoring of one message — language, themes, places,
//! level, score and the explanation behind them.
//!
//! # Why it looks like this
//!
//! - **Data, not code.** Themes live in `config/themes/*.toml`, escalation
//!   signals in `config/signals/*.toml` with their weights in
//!   `config/escalation.toml`, places in `config/gazetteer/`: the people who
//!   run onrust change them without a compiler, and every change shows in
//!   [`Classifier::version`], which every [`Assessment`] carries
//!   (rule L11: lexicon changes are versioned).
//! - **Signals, not viewpoints.** A lexicon may describe topics and disorder
//!   ("rellen", "vuurwerkbom", "blokkade"), never a party or an "anti-X":
//!   loading refuses deny-listed terms (rule L11). Themes say what a
//!   message is about and never raise its level; only what it does (calls,
//!   threats, announced actions) does. Nothing here looks at who wrote a
//!   message (L1); the input has no author field at all.
//! - **Every score explains itself.** Each theme, place and signal that
//!   counts is a [`Signal`] quoting the words that triggered it, with the
//!   weight it added to the score (L9 builds on this).
//! - **Fail loudly, all at once.** [`Classifier::load`] checks everything
//!   (unknown keys, weights, duplicate ids, deny-listed terms, bad language
//!   codes, bad CSV rows, the model file) and returns every problem in one
//!   [`ClassifyConfigError`].
//! - **Built once, then pure and fast.** Loading compiles all terms of themes
//!   and signals into one index keyed on normalised words, so a message is
//!   read once; [`Classifier::classify`] is a tokenisation plus a few
//!   look-ups per word, no IO, no locks: a `Classifier` is `Send + Sync` and
//!   shared by every worker thread.
//!
//! # Flow of one message
//!
//! `normalize`: tokens with positions → language (function words, then
//! whatlang) → one lexicon pass (themes and signals) → places → time
//! expressions (only when the message touches unrest) → the escalation model
//! in `signals` (context rules, logistic score, level, event time) →
//! explanation. `config/signals/README.md` documents the model.

mod error;
pub mod eval;
mod gazetteer;
mod lang;
pub mod learned;
mod morphology;
mod normalize;
mod rewrite;
mod signals;
mod themes;
mod time;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use onrust_model::{Assessment, MunicipalityCode, Place, Signal, Span, TextField};
use serde::Deserialize;

pub use error::{ClassifyConfigError, ConfigProblem};
pub use gazetteer::EXTRAS_FILE as GAZETTEER_EXTRAS_FILE;
pub use gazetteer::TierSummary as GazetteerFile;
pub use themes::DEFAULT_DENY_TERMS;

use error::Problems;
use gazetteer::Gazetteer;
use lang::LanguageId;
use morphology::Morphology;
use rewrite::Rewriter;
use signals::{Context, Escalation};
use themes::Lexicon;

/// Languages the lexicons are written for; others are read only partly and marked so.
const FULL_LANGUAGES: [&str; 2] = ["nl", "en"];

/// The lexicon folders, in load order.
const THEMES: usize = 0;
const SIGNALS: usize = 1;

/// The signal groups whose single-word terms match every form of their lemma
/// (of the same kind: a present form never matches a participle). The others
/// (`report`, `call`, `gathering`, …) stand for one form and match as written.
const LEMMA_GROUPS: [&str; 7] = ["violence", "violence_report", "harm", "target", "weapon", "mobilisation", "threat"];

/// The theme for protests outside the named themes; dropped when another theme applies.
const FALLBACK_THEME: &str = "demonstratie";

/// The theme that a date can imply: disorder on 31 December or 1 January is about the jaarwisseling.
const SEASON_THEME: &str = "jaarwisseling";

/// Disorder signals on New Year's Eve or night (by publication or by the
/// announced time) make a message about the jaarwisseling even when it does
/// not say so: "vanavond de ME bekogelen", posted on 31 December.
fn new_years_eve(
    published_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    times: &[time::TimeMention],
    disorder: bool,
) -> Option<String> {
    use chrono::Datelike;
    if !disorder {
        return None;
    }
    let local = |t: chrono::DateTime<chrono::FixedOffset>| t.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
    let is_eve = |d: chrono::NaiveDate| (d.month() == 12 && d.day() == 31) || (d.month() == 1 && d.day() == 1);
    if let Some(t) = times.iter().find(|t| !t.past && is_eve(local(t.at))) {
        return Some(t.evidence.clone());
    }
    published_at.filter(|p| is_eve(local(*p))).map(|p| format!("published {}", local(p)))
}

/// Every municipality of the gazetteer's CBS CSV (`gazetteer_csv`), with its
/// name as CBS writes it, ordered by code, without loading the classifier:
/// the same reader and the same checks as [`Classifier::load`] (which offers
/// the same list as [`Classifier::municipality_names`]), so the names a mail
/// or a page shows are those the classifier places messages in.
pub fn municipality_names(gazetteer_csv: &Path) -> Result<Vec<(MunicipalityCode, String)>, ClassifyConfigError> {
    let mut problems = Problems::default();
    let gazetteer = Gazetteer::load_municipalities(gazetteer_csv, &mut problems);
    if problems.is_empty() { Ok(gazetteer.municipalities()) } else { Err(ClassifyConfigError { problems: problems.0 }) }
}

/// Where the classifier's data is and which languages to expect.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierConfig {
    /// ISO 639-1 codes the language detector chooses from.
    pub languages: Vec<String>,
    /// Directory with one `<id>.toml` per theme.
    pub themes_dir: PathBuf,
    /// The CBS woonplaatsen/gemeenten CSV; `gazetteer.toml` beside it is read too.
    pub gazetteer_path: PathBuf,
    /// Terms no lexicon may contain, in addition to [`DEFAULT_DENY_TERMS`]
    /// (which always apply, whatever this list says).
    pub deny_terms: Vec<String>,
    /// Folder of escalation signal lexicons (`violence.toml`, `mobilisation.toml`, …).
    pub signals_dir: PathBuf,
    /// The escalation model: weights and level thresholds.
    pub escalation_path: PathBuf,
    /// Sources (by id) that cover exactly one municipality: it is lent to
    /// their messages that name no place, and supports ambiguous names there.
    #[serde(default)]
    pub source_municipalities: BTreeMap<String, MunicipalityCode>,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self::in_dir(Path::new("config"))
    }
}

impl ClassifierConfig {
    /// The shipped layout under a configuration folder: `themes/`,
    /// `signals/`, `escalation.toml` and `gazetteer/woonplaatsen-gemeenten-2024.csv`,
    /// with the default languages and deny-list.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            languages: ["nl", "en", "de", "fr"].map(String::from).to_vec(),
            themes_dir: dir.join("themes"),
            gazetteer_path: dir.join("gazetteer/woonplaatsen-gemeenten-2024.csv"),
            deny_terms: DEFAULT_DENY_TERMS.iter().map(|t| (*t).to_owned()).collect(),
            signals_dir: dir.join("signals"),
            escalation_path: dir.join("escalation.toml"),
            source_municipalities: BTreeMap::new(),
        }
    }
}

/// One message to classify.
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    pub text: &'a str,
    pub title: Option<&'a str>,
    /// A language the source declared, used when detection is unsure.
    pub lang_hint: Option<&'a str>,
    /// Anchor for time expressions; without it no time is resolved.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// The one municipality the message's source covers, if it covers one
    /// (see [`Classifier::source_municipality`]): a hint, never stronger than
    /// a place in the text.
    pub source_municipality: Option<&'a MunicipalityCode>,
}

/// The loaded classifier: built once, shared across threads.
pub struct Classifier {
    lang: LanguageId,
    lexicon: Lexicon,
    gazetteer: Gazetteer,
    escalation: Escalation,
    source_municipalities: BTreeMap<String, MunicipalityCode>,
    rewriter: Rewriter,
    morphology: Morphology,
    version: String,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier").field("version", &self.version).finish_non_exhaustive()
    }
}

/// What [`Classifier::themed`] reads of a message.
struct Themed {
    matches: Vec<themes::TermMatch>,
    hits: Vec<themes::ThemeHit>,
    theme_weight: f32,
    times: Vec<time::TimeMention>,
}

impl Classifier {
    /// Reads and checks the themes and the gazetteer; every problem found is
    /// in the error.
    pub fn load(cfg: &ClassifierConfig) -> Result<Classifier, ClassifyConfigError> {
        Self::load_with(cfg, true)
    }

    /// The rules alone, without the learned layer's weights (which may be
    /// missing or stale): what `onrust train` computes its features with.
    pub fn load_rules_only(cfg: &ClassifierConfig) -> Result<Classifier, ClassifyConfigError> {
        Self::load_with(cfg, false)
    }

    fn load_with(cfg: &ClassifierConfig, learned: bool) -> Result<Classifier, ClassifyConfigError> {
        let mut problems = Problems::default();
        let lang = LanguageId::new(&cfg.languages, &mut problems);
        let mut lexicon = Lexicon::load(&[&cfg.themes_dir, &cfg.signals_dir], &cfg.deny_terms, &mut problems);
        let gazetteer = Gazetteer::load(&cfg.gazetteer_path, &mut problems);
        let rewriter = Rewriter::load(&cfg.signals_dir, &mut problems);
        let morphology = Morphology::load(&cfg.signals_dir, &mut problems);
        // These signal groups match by lemma; the themes keep their own prefix patterns.
        lexicon.index_lemmas(&morphology, SIGNALS, &LEMMA_GROUPS);
        let escalation = Escalation::load(
            &lexicon,
            &morphology,
            SIGNALS,
            &cfg.signals_dir,
            &cfg.escalation_path,
            learned,
            &mut problems,
        );
        match (lang, escalation) {
            (Some(lang), Some(escalation)) if problems.is_empty() => {
                let mut themes: Vec<String> = lexicon
                    .themes
                    .iter()
                    .filter(|t| t.source == THEMES)
                    .map(|t| format!("{}@{}", t.id, t.version))
                    .collect();
                themes.sort();
                let version = format!(
                    "{}+themes:{}+lex:{:08x}+gaz:{:08x}+esc:{}@{:08x}+learned:{}+norm:{}@{:08x}+morph:{:08x}",
                    env!("CARGO_PKG_VERSION"),
                    themes.join(","),
                    lexicon.content_hash >> 32,
                    gazetteer.content_hash >> 32,
                    escalation.version,
                    escalation.content_hash >> 32,
                    escalation.learned_version(),
                    rewriter.version,
                    rewriter.content_hash >> 32,
                    morphology.content_hash >> 32,
                );
                let source_municipalities = cfg.source_municipalities.clone();
                Ok(Classifier {
                    lang,
                    lexicon,
                    gazetteer,
                    escalation,
                    rewriter,
                    morphology,
                    source_municipalities,
                    version,
                })
            }
            _ => Err(ClassifyConfigError { problems: problems.0 }),
        }
    }

    /// The crate version, each theme's id and version, and content hashes of
    /// the lexicons and the gazetteer, e.g.
    /// `0.1.0+themes:asiel@1,corona@2,…+lex:1a2b3c4d+gaz:5e6f7a8b+esc:4@9c0d1e2f+learned:1+norm:spelling@1,emoji@1@…+morph:…`
    /// (the escalation hash covers the learned layer's weights too).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every word, phrase and place name the classifier looks for, normalised:
    /// the pattern set a plain multi-pattern search would need (benchmarks compare against it).
    pub fn patterns(&self) -> Vec<String> {
        let mut out = self.lexicon.patterns();
        out.extend(self.gazetteer.names());
        out.sort();
        out.dedup();
        out
    }

    /// The one municipality a source covers, if it covers exactly one.
    pub fn source_municipality(&self, source: &str) -> Option<&MunicipalityCode> {
        self.source_municipalities.get(source)
    }

    /// A municipality's name as CBS writes it ("Utrecht" for GM0344).
    pub fn municipality_name(&self, code: &MunicipalityCode) -> Option<&str> {
        self.gazetteer.name_of(code)
    }

    /// Every municipality the gazetteer knows, with its name as CBS writes
    /// it ("Utrecht" for GM0344), ordered by code.
    pub fn municipality_names(&self) -> Vec<(MunicipalityCode, String)> {
        self.gazetteer.municipalities()
    }

    /// The gazetteer's files: what each holds per tier, and its vintage.
    pub fn gazetteer_files(&self) -> &[GazetteerFile] {
        self.gazetteer.summaries()
    }

    /// The places a message names (or its source's municipality), as
    /// [`Classifier::classify`] finds them, without the rest of the assessment.
    pub fn places(&self, input: &Input<'_>) -> Vec<Place> {
        let (text, title_len) = joined(input);
        let tokens = normalize::tokenize(&text);
        let hits = self.gazetteer.match_places(&text, &tokens, input.source_municipality);
        hits.into_iter().map(|hit| located(hit, input.title, title_len)).collect()
    }

    /// The parts of a Dutch compound (`vuurwerkbommen` → `vuurwerk`,
    /// `bommen`; `azc-besluit` → `azc`, `besluit`), from the dictionary's
    /// compound parts and every lexicon word; the word itself when it does not
    /// split. Lowercase, normalised input; shared with the archive's analyzer.
    pub fn split_compound<'w>(&self, word: &'w str) -> Vec<&'w str> {
        self.morphology.split_compound(word, |part| self.lexicon.knows_word(part))
    }

    /// The ids of the loaded themes, in file name order.
    pub fn theme_ids(&self) -> Vec<&str> {
        self.lexicon.themes.iter().filter(|t| t.source == THEMES).map(|t| t.id.as_str()).collect()
    }

    /// The features the learned layer reads for one message (rule
    /// features and word lemmas), computed by the rules alone: what
    /// `onrust train` learns from.
    pub fn learning_features(&self, input: &Input<'_>) -> Vec<(String, f32)> {
        let (text, _) = joined(input);
        let tokens = normalize::tokenize(&text);
        let read = self.rewriter.rewrite(&text, &tokens);
        let Themed { matches, theme_weight, times, .. } = self.themed(&text, &read, input.published_at);
        let cx = Context::new(&text, &read, &matches, theme_weight, &times, &self.morphology);
        self.escalation.features(&cx).1
    }

    /// Every one-word place name the gazetteer knows, normalised: a place
    /// says where, never how far, so `onrust train` makes no feature of one.
    pub fn one_word_place_names(&self) -> std::collections::BTreeSet<String> {
        self.gazetteer.names().into_iter().filter(|n| !n.contains(' ')).collect()
    }

    /// Whether the learned layer may never let this word raise a level
    /// (rule L11): a word of a theme or the target lexicon, or a group word.
    pub fn never_learned(&self, word: &str) -> bool {
        self.escalation.never_learned(word)
    }

    /// The lexicons' matches, the themes and the announced times, read the
    /// same way for classifying and for training (`learning_features`).
    fn themed(&self, text: &str, read: &[normalize::Token], published_at: Option<DateTime<FixedOffset>>) -> Themed {
        let matches = self.lexicon.find_terms(text, read, &self.morphology);
        let mut hits = self.lexicon.themes_in(&matches, THEMES);
        // `demonstratie` is the theme of protests that fit none of the others.
        if hits.len() > 1 {
            hits.retain(|h| self.lexicon.themes[h.theme].id != FALLBACK_THEME);
        }
        let theme_weight: f32 = hits.iter().map(|h| h.weight).sum();
        let times = match published_at {
            Some(at) if theme_weight > 0.0 || self.escalation.touches_unrest(text, &matches) => {
                time::find_times(text, at)
            }
            _ => Vec::new(),
        };
        Themed { matches, hits, theme_weight, times }
    }

    /// Scores one message. Pure: the same input and configuration always
    /// give the same assessment.
    pub fn classify(&self, input: &Input<'_>) -> Assessment {
        let (text, title_len) = joined(input);
        let tokens = normalize::tokenize(&text);
        let lang = self.lang.identify(&text, &tokens, input.lang_hint);
        // Lexicons and signals read social-media spelling as words; places read the words as written.
        let read = self.rewriter.rewrite(&text, &tokens);
        let Themed { matches, hits, theme_weight, times } = self.themed(&text, &read, input.published_at);
        let places = self.gazetteer.match_places(&text, &tokens, input.source_municipality);
        let assessed =
            self.escalation.assess(&Context::new(&text, &read, &matches, theme_weight, &times, &self.morphology));
        let mut explanation = Vec::with_capacity(hits.len() + places.len() + assessed.explanation.len());
        let mut themes = Vec::with_capacity(hits.len());
        for hit in &hits {
            let id = &self.lexicon.themes[hit.theme].id;
            themes.push(id.clone());
            explanation.push(Signal {
                signal: concat(["theme:", id]),
                evidence: hit.evidence.join(", "),
                weight: (hit.weight * 1000.0).round() / 1000.0,
            });
        }
        if let Some(evidence) = new_years_eve(input.published_at, &times, assessed.disorder)
            && !themes.iter().any(|t| t == SEASON_THEME)
            && self.lexicon.themes.iter().any(|t| t.source == THEMES && t.id == SEASON_THEME)
        {
            themes.retain(|t| t != FALLBACK_THEME);
            // Compared in place: a `format!` here made a string per signal of every such message.
            explanation.retain(|s| s.signal.strip_prefix("theme:") != Some(FALLBACK_THEME));
            themes.push(SEASON_THEME.to_owned());
            explanation.push(Signal { signal: concat(["season:", SEASON_THEME]), evidence, weight: 0.0 });
        }
        // One signal per municipality, naming every place in it and why it won.
        let mut municipalities: Vec<MunicipalityCode> = Vec::with_capacity(places.len());
        let mut place_signals: Vec<Signal> = Vec::with_capacity(places.len());
        let mut resolved = Vec::with_capacity(places.len());
        for hit in places {
            let code = &hit.place.municipality;
            match municipalities.iter().position(|c| c == code) {
                Some(at) => {
                    let evidence = &mut place_signals[at].evidence;
                    evidence.push_str("; ");
                    evidence.push_str(&hit.why);
                }
                None => {
                    municipalities.push(code.clone());
                    place_signals.push(Signal {
                        signal: concat(["place:", code.as_str()]),
                        evidence: hit.why.clone(),
                        weight: 0.0,
                    });
                }
            }
            resolved.push(located(hit, input.title, title_len));
        }
        explanation.extend(place_signals);
        explanation.extend(assessed.explanation);
        if let Some(code) = lang.as_deref().filter(|code| !FULL_LANGUAGES.contains(code)) {
            // The lexicons are Dutch and English; elsewhere only what is language-neutral
            // (places, times, emoji, the few foreign terms) can be read.
            explanation.push(Signal {
                signal: "language".to_owned(),
                evidence: format!("{code}: partial reading, lexicons are Dutch and English"),
                weight: 0.0,
            });
        }
        Assessment {
            lang,
            level: assessed.level,
            score: assessed.score,
            themes,
            municipalities,
            places: resolved,
            event_time: assessed.event_time,
            explanation,
            classifier_version: self.version.clone(),
        }
    }
}

/// `parts` joined into one string: pushed into one buffer of the right
/// size rather than formatted, as every message's signal names and
/// explanations are built so.
pub(crate) fn concat<const N: usize>(parts: [&str; N]) -> String {
    let mut joined = String::with_capacity(parts.iter().map(|part| part.len()).sum());
    for part in parts {
        joined.push_str(part);
    }
    joined
}

/// The text classified: the title (trimmed) and the text on the next line,
/// and how many bytes of it are the title.
fn joined<'a>(input: &Input<'a>) -> (Cow<'a, str>, Option<usize>) {
    match input.title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(title) => (Cow::Owned(format!("{title}\n{}", input.text)), Some(title.len())),
        None => (Cow::Borrowed(input.text), None),
    }
}

/// A place with its span turned from the joined text back into the title or the text.
fn located(hit: gazetteer::PlaceHit, title: Option<&str>, title_len: Option<usize>) -> Place {
    let mut place = hit.place;
    place.span = hit.span.map(|(start, end)| match (title, title_len) {
        (Some(title), Some(len)) if start < len => {
            let lead = title.len() - title.trim_start().len();
            // A name cannot run on from the title into the text; should one, it is cut at the title's end.
            Span { field: TextField::Title, start: start + lead, end: end.min(len) + lead }
        }
        (_, Some(len)) => {
            Span { field: TextField::Text, start: start.saturating_sub(len + 1), end: end.saturating_sub(len + 1) }
        }
        (_, None) => Span { field: TextField::Text, start, end },
    });
    place
}

#[cfg(test)]
mod tests;
