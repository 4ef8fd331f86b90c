//! onrust-classify: pure scoring of one message — language, themes, places,
//! level, score and the explanation behind them.
//!
//! # Why it looks like this
//!
//! - **Data, not code.** Themes and their lexicons live in
//!   `config/themes/*.toml`, places in `config/gazetteer/`: the people who
//!   run onrust change them without a compiler, and every change shows in
//!   [`Classifier::version`], which every [`Assessment`] carries
//!   (GUARDRAILS L11: lexicon changes are versioned).
//! - **Signals, not viewpoints.** A lexicon may describe topics and disorder
//!   ("rellen", "vuurwerkbom", "blokkade"), never a party or an "anti-X":
//!   loading refuses deny-listed terms (GUARDRAILS L11). Nothing here looks
//!   at who wrote a message (L1); the input has no author field at all.
//! - **Every score explains itself.** Each theme and place that counts is a
//!   [`Signal`] quoting the words that triggered it (L9 builds on this).
//! - **Fail loudly, all at once.** [`Classifier::load`] checks everything
//!   (unknown keys, weights, duplicate ids, deny-listed terms, bad language
//!   codes, bad CSV rows) and returns every problem in one
//!   [`ClassifyConfigError`].
//! - **Built once, then pure and fast.** Loading compiles all terms and
//!   names into hash maps keyed on normalised words; [`Classifier::classify`]
//!   is then a tokenisation plus a few look-ups per word, no IO, no locks:
//!   a `Classifier` is `Send + Sync` and shared by every worker thread.
//! - **Room to grow.** This first stage assigns level 0 or 1 only. The full
//!   classifier adds mobilisation and escalation signals (levels 2 and 3)
//!   and time expressions (`event_time`) as further signal sources over the
//!   same tokens; the output shape stays as it is.
//!
//! # Score
//!
//! `score = 1 - exp(-W / 3)` where `W` is the summed weight of the assigned
//! themes (each theme's sum of the weights of its distinct matched terms, a
//! theme being assigned when that sum reaches its `min_weight`). One solid
//! term (weight 1) gives 0.28, three give 0.63, six 0.86: monotone, bounded,
//! and slow to saturate. Place signals have weight 0; they say where, not
//! how much. `level` is 1 (discussion) when any theme is assigned, else 0.

mod error;
mod gazetteer;
mod lang;
mod normalize;
mod themes;

use std::borrow::Cow;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use onrust_model::{Assessment, Level, Signal};
use serde::Deserialize;

pub use error::{ClassifyConfigError, ConfigProblem};
pub use gazetteer::EXTRAS_FILE as GAZETTEER_EXTRAS_FILE;
pub use themes::DEFAULT_DENY_TERMS;

use error::Problems;
use gazetteer::Gazetteer;
use lang::LanguageId;
use themes::Lexicon;

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
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            languages: ["nl", "en", "de", "fr"].map(String::from).to_vec(),
            themes_dir: PathBuf::from("config/themes"),
            gazetteer_path: PathBuf::from("config/gazetteer/woonplaatsen-gemeenten-2024.csv"),
            deny_terms: DEFAULT_DENY_TERMS.iter().map(|t| (*t).to_owned()).collect(),
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
    /// Anchor for time expressions (used by the full classifier).
    pub published_at: Option<DateTime<FixedOffset>>,
}

/// The loaded classifier: built once, shared across threads.
pub struct Classifier {
    lang: LanguageId,
    lexicon: Lexicon,
    gazetteer: Gazetteer,
    version: String,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier").field("version", &self.version).finish_non_exhaustive()
    }
}

impl Classifier {
    /// Reads and checks the themes and the gazetteer; every problem found is
    /// in the error.
    pub fn load(cfg: &ClassifierConfig) -> Result<Classifier, ClassifyConfigError> {
        let mut problems = Problems::default();
        let lang = LanguageId::new(&cfg.languages, &mut problems);
        let lexicon = Lexicon::load(&cfg.themes_dir, &cfg.deny_terms, &mut problems);
        let gazetteer = Gazetteer::load(&cfg.gazetteer_path, &mut problems);
        match lang {
            Some(lang) if problems.is_empty() => {
                let mut themes: Vec<String> =
                    lexicon.themes.iter().map(|t| format!("{}@{}", t.id, t.version)).collect();
                themes.sort();
                let version = format!(
                    "{}+themes:{}+lex:{:08x}+gaz:{:08x}",
                    env!("CARGO_PKG_VERSION"),
                    themes.join(","),
                    lexicon.content_hash >> 32,
                    gazetteer.content_hash >> 32,
                );
                Ok(Classifier { lang, lexicon, gazetteer, version })
            }
            _ => Err(ClassifyConfigError { problems: problems.0 }),
        }
    }

    /// The crate version, each theme's id and version, and content hashes of
    /// the lexicons and the gazetteer, e.g.
    /// `0.1.0+themes:asiel@1,corona@1,…+lex:1a2b3c4d+gaz:5e6f7a8b`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The ids of the loaded themes, in file name order.
    pub fn theme_ids(&self) -> Vec<&str> {
        self.lexicon.themes.iter().map(|t| t.id.as_str()).collect()
    }

    /// Scores one message. Pure: the same input and configuration always
    /// give the same assessment.
    pub fn classify(&self, input: &Input<'_>) -> Assessment {
        let text: Cow<'_, str> = match input.title.map(str::trim).filter(|t| !t.is_empty()) {
            Some(title) => Cow::Owned(format!("{title}\n{}", input.text)),
            None => Cow::Borrowed(input.text),
        };
        let tokens = normalize::tokenize(&text);
        let lang = self.lang.identify(&text, &tokens, input.lang_hint);
        let hits = self.lexicon.match_tokens(&text, &tokens);
        let places = self.gazetteer.match_places(&text, &tokens);

        let total: f32 = hits.iter().map(|h| h.weight).sum();
        let score = ((1.0 - (-total / 3.0).exp()) * 1000.0).round() / 1000.0;
        let level = if hits.is_empty() { Level::None } else { Level::Discussion };
        let mut explanation = Vec::with_capacity(hits.len() + places.len());
        let mut themes = Vec::with_capacity(hits.len());
        for hit in &hits {
            let id = &self.lexicon.themes[hit.theme].id;
            themes.push(id.clone());
            explanation.push(Signal {
                signal: format!("theme:{id}"),
                evidence: hit.evidence.join(", "),
                weight: (hit.weight * 1000.0).round() / 1000.0,
            });
        }
        let mut municipalities = Vec::with_capacity(places.len());
        for place in places {
            explanation.push(Signal { signal: format!("place:{}", place.code), evidence: place.evidence, weight: 0.0 });
            municipalities.push(place.code);
        }
        Assessment {
            lang,
            level,
            score,
            themes,
            municipalities,
            event_time: None,
            explanation,
            classifier_version: self.version.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
