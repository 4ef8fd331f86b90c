//! The learned layer: two logistic regressions over the transparent
//! features of [`crate::signals`] (what the rules found, and the lemmas of
//! the words), with their weights in `config/escalation-learned.toml`.
//!
//! Why two binary heads and not one multinomial model: the levels are
//! ordered, and the decisions that matter are "is this escalation (3)?" and
//! "is this at least mobilisation (≥ 2)?". Two cumulative heads (Frank and
//! Hall's ordinal decomposition) answer exactly those, each with one weight
//! per feature that reads as "this feature pushes towards level 3 by so
//! much", where a multinomial model spreads a feature over four weights
//! whose meaning is only relative. Below 2 the rules decide between 0 and 1.
//!
//! Rule L11: a word that names what a message is about (any word of a theme
//! lexicon or of the target lexicon) or a group (the training
//! specification's `never_words`) is never a feature, and loading refuses a
//! weights file that gives one a positive weight.
//!
//! Training ([`train`]) is full-batch gradient descent in f64 over the
//! examples in file order, with a fixed number of steps: no randomness, so
//! the same files give the same weights, byte for byte.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use onrust_model::Level;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Deserialize;

use crate::error::Problems;

/// The file of weights, beside the escalation model.
pub const LEARNED_FILE: &str = "escalation-learned.toml";

/// The heads, in the order of the weight pairs.
pub(crate) const ESCALATION: usize = 0;
pub(crate) const MOBILISATION: usize = 1;
const HEAD_NAMES: [&str; 2] = ["escalation", "mobilisation"];

/// Largest weight a file may hold.
const MAX_WEIGHT: f64 = 20.0;

/// True for a finite weight within ±`MAX_WEIGHT` (false for NaN and infinities).
fn within_weight_bounds(weight: f32) -> bool {
    let weight = f64::from(weight);
    weight.is_finite() && weight.abs() <= MAX_WEIGHT
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadFile {
    bias: f32,
    threshold: f32,
    /// The escalation head's threshold for a message the rules find nothing of unrest in.
    #[serde(default)]
    threshold_at_level_0: Option<f32>,
    weights: std::collections::BTreeMap<String, f32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LearnedFile {
    version: u32,
    training: TrainSpec,
    escalation: HeadFile,
    mobilisation: HeadFile,
}

/// One head: bias and the probability from which it says yes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    pub bias: f32,
    pub threshold: f32,
    /// From this probability on the head raises a message the rules put at level 0.
    pub threshold_at_level_0: f32,
}

/// Words the learned layer never reads (rule L11).
#[derive(Debug, Default)]
pub(crate) struct NeverWords {
    pub words: HashSet<String>,
    pub prefixes: Vec<String>,
}

impl NeverWords {
    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(word) || self.prefixes.iter().any(|p| word.len() > p.len() && word.starts_with(p.as_str()))
    }
}

/// The loaded weights.
#[derive(Debug)]
pub(crate) struct Learned {
    pub heads: [Head; 2],
    /// Feature name → weight per head, for the named features (`rule:threat`).
    weights: HashMap<String, [f32; 2]>,
    /// The same for the word features, keyed on the word without `word:`:
    /// a message looks up every word, and building each key cost more than the look-up.
    word_weights: HashMap<String, [f32; 2]>,
    /// The words no weight may push up (rule L11), for the tests.
    pub never: NeverWords,
    pub version: u32,
    pub content_hash: u64,
}

impl Learned {
    /// Reads and checks the weights file; `never` (with the file's own
    /// `never_words`) are the words no weight may push up.
    pub fn load(path: &Path, mut never: NeverWords, problems: &mut Problems) -> Option<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(path, "", format!("cannot read the learned weights: {e} (onrust train writes them)"));
                return None;
            }
        };
        let file: LearnedFile = match toml::from_str(&text) {
            Ok(file) => file,
            Err(e) => {
                problems.push_toml(path, &text, &e);
                return None;
            }
        };
        never.words.extend(file.training.never_words.iter().cloned());
        let mut weights: HashMap<String, [f32; 2]> = HashMap::default();
        let mut word_weights: HashMap<String, [f32; 2]> = HashMap::default();
        for (head, (name, file_head)) in HEAD_NAMES.iter().zip([&file.escalation, &file.mobilisation]).enumerate() {
            let at_level_0 = file_head.threshold_at_level_0.unwrap_or(file_head.threshold);
            let threshold_ok =
                file_head.threshold > 0.0 && file_head.threshold < 1.0 && at_level_0 > 0.0 && at_level_0 <= 1.0;
            if !threshold_ok {
                problems.push(path, format!("{name}.threshold"), "must lie strictly between 0 and 1");
            }
            if !within_weight_bounds(file_head.bias) {
                problems.push(path, format!("{name}.bias"), "must be a finite number between -20 and 20");
            }
            for (feature, weight) in &file_head.weights {
                if !within_weight_bounds(*weight) {
                    problems.push(path, format!("{name}.weights.{feature:?}"), "must be between -20 and 20");
                }
                if !known_feature(feature) {
                    problems.push(path, format!("{name}.weights.{feature:?}"), "unknown feature");
                }
                if let Some(word) = feature.strip_prefix("word:")
                    && never.contains(word)
                    && *weight > 0.0
                {
                    problems.push(
                        path,
                        format!("{name}.weights.{feature:?}"),
                        "a word that names a topic or a group may not raise a level (rule L11)",
                    );
                }
                match feature.strip_prefix("word:") {
                    Some(word) => word_weights.entry(word.to_owned()).or_insert([0.0; 2])[head] = *weight,
                    None => weights.entry(feature.clone()).or_insert([0.0; 2])[head] = *weight,
                }
            }
        }
        let mut hash = crate::themes::Fnv::new();
        hash.write(text.as_bytes());
        Some(Learned {
            heads: [
                Head {
                    bias: file.escalation.bias,
                    threshold: file.escalation.threshold,
                    threshold_at_level_0: file.escalation.threshold_at_level_0.unwrap_or(file.escalation.threshold),
                },
                Head {
                    bias: file.mobilisation.bias,
                    threshold: file.mobilisation.threshold,
                    threshold_at_level_0: file.mobilisation.threshold_at_level_0.unwrap_or(file.mobilisation.threshold),
                },
            ],
            weights,
            word_weights,
            never,
            version: file.version,
            content_hash: hash.finish(),
        })
    }

    /// No weights: both heads always say no, so the rules decide alone.
    pub fn rules_only(never: NeverWords) -> Self {
        let never_says = Head { bias: -(MAX_WEIGHT as f32), threshold: 0.99, threshold_at_level_0: 1.0 };
        Learned {
            heads: [never_says; 2],
            weights: HashMap::default(),
            word_weights: HashMap::default(),
            never,
            version: 0,
            content_hash: 0,
        }
    }

    /// The weights of a named feature (`rule:threat`, `group:harm`), if the model has it;
    /// word features are looked up with [`Learned::word_weights`].
    pub fn named_weights(&self, feature: &str) -> Option<&[f32; 2]> {
        self.weights.get(feature)
    }

    /// The weights of the feature `word:{word}`, if the model has it.
    pub fn word_weights(&self, word: &str) -> Option<&[f32; 2]> {
        self.word_weights.get(word)
    }
}

/// Whether a feature name is one the classifier computes.
fn known_feature(name: &str) -> bool {
    let Some((prefix, rest)) = name.split_once(':') else { return false };
    match prefix {
        "rule" => crate::signals::RULE_SIGNALS.contains(&rest),
        "group" => crate::signals::GROUPS.contains(&rest),
        "grammar" => matches!(rest, "threat" | "call" | "doxxing"),
        "context" => matches!(rest, "question" | "frame" | "irony_marks" | "menacing_emoji"),
        "word" => !rest.is_empty() && rest.chars().all(char::is_alphabetic),
        _ => false,
    }
}

/// The logistic function.
pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// How `onrust train` builds the weights (`config/escalation-train.toml`).
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// Labelled JSON lines to learn from, relative to the specification's folder.
    pub train: Vec<PathBuf>,
    /// L2 penalty on the rules' features.
    pub l2: f64,
    /// L2 penalty on word features (stronger: words are many and sparse).
    pub word_l2: f64,
    /// Gradient steps.
    pub iterations: usize,
    /// Step size on the mean loss.
    pub learning_rate: f64,
    /// A word becomes a feature when this many training messages hold it.
    pub min_count: usize,
    /// Word weights smaller than this (in both heads) are dropped.
    pub prune: f64,
    /// Probability from which the escalation head says level 3.
    pub escalation_threshold: f64,
    /// Probability from which the escalation head raises a message the rules
    /// find nothing of unrest in (level 0): higher, since nothing the rules
    /// read backs it up. 1 keeps such messages at 0.
    pub escalation_threshold_at_level_0: f64,
    /// Probability from which the mobilisation head says level ≥ 2.
    pub mobilisation_threshold: f64,
    /// Words that name a group of people: never a feature (rule L11). The
    /// words of the theme and target lexicons are left out as well.
    pub never_words: Vec<String>,
}

impl TrainSpec {
    pub fn validate(&self) -> Result<(), String> {
        let finite = [self.l2, self.word_l2, self.learning_rate, self.prune];
        if finite.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err("l2, word_l2, learning_rate and prune must be finite and not negative".into());
        }
        for t in [self.escalation_threshold, self.mobilisation_threshold] {
            if !(t > 0.0 && t < 1.0) {
                return Err("thresholds must lie strictly between 0 and 1".into());
            }
        }
        if !(self.escalation_threshold_at_level_0 >= self.escalation_threshold
            && self.escalation_threshold_at_level_0 <= 1.0)
        {
            return Err("escalation_threshold_at_level_0 must lie between escalation_threshold and 1".into());
        }
        if self.train.is_empty() {
            return Err("train lists no file".into());
        }
        if self.iterations == 0 || self.iterations > 100_000 {
            return Err("iterations must be 1–100000".into());
        }
        Ok(())
    }
}

/// One labelled message, as features.
#[derive(Debug, Clone)]
pub struct Example {
    pub features: Vec<(String, f32)>,
    pub level: Level,
}

/// Trains both heads and returns the weights file's text.
pub fn train(examples: &[Example], spec: &TrainSpec, never: &dyn Fn(&str) -> bool) -> String {
    // The feature index: every rule feature seen, words seen often enough and not forbidden.
    let mut word_counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut named: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for example in examples {
        for (name, _) in &example.features {
            match name.strip_prefix("word:") {
                Some(word) => *word_counts.entry(word).or_default() += 1,
                None => {
                    named.insert(name);
                }
            }
        }
    }
    let mut names: Vec<&str> = named.into_iter().collect();
    let words: Vec<&str> =
        word_counts.iter().filter(|(w, n)| **n >= spec.min_count && !never(w)).map(|(w, _)| *w).collect();
    let first_word = names.len();
    let word_features: Vec<String> = words.iter().map(|w| format!("word:{w}")).collect();
    names.extend(word_features.iter().map(String::as_str));
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let rows: Vec<Vec<(usize, f64)>> = examples
        .iter()
        .map(|e| {
            let mut row: Vec<(usize, f64)> =
                e.features.iter().filter_map(|(n, v)| index.get(n.as_str()).map(|i| (*i, f64::from(*v)))).collect();
            row.sort_by_key(|(i, _)| *i);
            row
        })
        .collect();
    let targets = [
        examples.iter().map(|e| e.level == Level::Escalation).collect::<Vec<_>>(),
        examples.iter().map(|e| e.level >= Level::Mobilisation).collect::<Vec<_>>(),
    ];
    let penalty: Vec<f64> = (0..names.len()).map(|i| if i >= first_word { spec.word_l2 } else { spec.l2 }).collect();
    let n = examples.len().max(1) as f64;
    let mut fitted = Vec::with_capacity(2);
    for y in &targets {
        let mut w = vec![0.0f64; names.len()];
        let mut bias = 0.0f64;
        let mut grad = vec![0.0f64; names.len()];
        for _ in 0..spec.iterations {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let mut grad_bias = 0.0;
            for (row, &label) in rows.iter().zip(y) {
                let z = bias + row.iter().map(|(i, v)| w[*i] * v).sum::<f64>();
                let err = sigmoid(z) - if label { 1.0 } else { 0.0 };
                grad_bias += err;
                for (i, v) in row {
                    grad[*i] += err * v;
                }
            }
            bias -= spec.learning_rate * grad_bias / n;
            for ((wi, gi), pi) in w.iter_mut().zip(&grad).zip(&penalty) {
                *wi -= spec.learning_rate * (gi / n + pi * *wi / n);
            }
        }
        fitted.push((bias, w));
    }
    render(spec, &names, first_word, &fitted)
}

fn render(spec: &TrainSpec, names: &[&str], first_word: usize, fitted: &[(f64, Vec<f64>)]) -> String {
    let mut out = String::new();
    out.push_str(
        "# The learned layer of the escalation model: two logistic regressions over the\n\
         # features the rules compute (see docs/ARCHITECTURE.md, \"The learned layer\").\n\
         # Generated by `onrust train`; do not edit by hand. Regenerate with\n\
         #   onrust train --spec config/escalation-train.toml --out config/escalation-learned.toml\n\
         # p(head) = 1 / (1 + e^-(bias + Σ weight × value)); a head says yes from its threshold on.\n\
         # escalation: level 3; mobilisation: level 2 or higher.\n",
    );
    out.push_str("version = 1\n\n");
    let spec_text = toml::to_string(spec).unwrap_or_default();
    out.push_str("[training]\n");
    out.push_str(&spec_text);
    for (head, (bias, w)) in fitted.iter().enumerate() {
        let threshold = if head == ESCALATION { spec.escalation_threshold } else { spec.mobilisation_threshold };
        let _ = write!(out, "\n[{}]\nbias = {}\nthreshold = {}\n", HEAD_NAMES[head], fmt(*bias), threshold);
        if head == ESCALATION {
            let _ = writeln!(out, "threshold_at_level_0 = {}", spec.escalation_threshold_at_level_0);
        }
        let _ = write!(out, "\n[{}.weights]\n", HEAD_NAMES[head]);
        for (i, name) in names.iter().enumerate() {
            let weight = w[i];
            let kept = if i >= first_word {
                fitted.iter().any(|(_, other)| other[i].abs() >= spec.prune)
            } else {
                weight != 0.0
            };
            if kept {
                let _ = writeln!(out, "{:?} = {}", name, fmt(weight));
            }
        }
    }
    out
}

/// Four decimals, never `-0`: the file reads the same wherever it is generated.
fn fmt(x: f64) -> String {
    let rounded = (x * 10_000.0).round() / 10_000.0;
    if rounded == 0.0 { "0.0".to_owned() } else { format!("{rounded:.4}") }
}

/// Reads a training specification.
pub fn read_spec(path: &Path) -> Result<TrainSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let spec: TrainSpec = toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
    spec.validate().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(spec)
}
