//! Escalation: from words to a level, with every reason listed.
//!
//! The signal lexicons in `config/signals/` (same format and the same L11
//! deny-list checks as the theme lexicons) find the words; this module
//! decides what they mean in context and turns them into a score and a level
//! with the weights in `config/escalation.toml`:
//!
//! - **context per occurrence**: a violence or mobilisation word right after
//!   a negation (`geen rellen`, `niet slopen`) or inside a question does not
//!   count as a call;
//! - **context per message**: attribution and past tense (`meldt de
//!   politie`, `werd`, `gisteren`) mark reporting; imperatives, first person
//!   plural and a time still ahead mark a call; `haha`, `/s` or 😂 mark
//!   irony;
//! - **score**: `1 / (1 + e^-(bias + Σ weight × signal))`, each signal
//!   capped so repetition does not inflate it;
//! - **level**: the signals decide which level a message can reach, the
//!   score whether it does (see [`Thresholds`]). Reporting on unrest is
//!   level 1, an announced action level 2, a call to violence, a threat or
//!   an official's address level 3, and an explicitly peaceful action never
//!   more than 2.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use onrust_model::{Level, Signal};
use serde::Deserialize;

use crate::error::Problems;
use crate::normalize::Token;
use crate::themes::{Lexicon, TermMatch};
use crate::time::TimeMention;

/// The signal groups the model reads; each is a file in `config/signals/`.
const GROUPS: [&str; 13] = [
    "violence",
    "violence_report",
    "target",
    "weapon",
    "mobilisation",
    "gathering",
    "threat",
    "doxxing",
    "call",
    "report",
    "negation",
    "peaceful",
    "irony",
];

/// Summed weight of attribution and past-tense words from which a message reads as a report.
const REPORTING_WEIGHT: f32 = 1.0;

/// Words that put a reported action ahead: auxiliaries of the future and announcing.
fn is_future_marker(word: &str) -> bool {
    matches!(
        word,
        "will"
            | "would"
            | "zal"
            | "zullen"
            | "gaat"
            | "willen"
            | "wil"
            | "wollen"
            | "plannen"
            | "aangekondigd"
            | "kondigen"
            | "kondigt"
            | "announced"
            | "plan"
            | "planned"
    )
}

/// How many tokens before a signal a negation still applies to it.
const NEGATION_WINDOW: usize = 3;

/// Weights of `config/escalation.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Weights {
    pub theme: f32,
    pub unrest_report: f32,
    pub mobilisation: f32,
    pub gathering: f32,
    pub call: f32,
    pub future_time: f32,
    pub emphasis: f32,
    pub violence: f32,
    pub target: f32,
    pub weapon: f32,
    pub threat: f32,
    pub doxxing: f32,
    pub reporting: f32,
    pub negated: f32,
    pub question: f32,
    pub irony: f32,
    pub peaceful: f32,
}

/// Minimum scores per level.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Thresholds {
    pub discussion: f32,
    pub mobilisation: f32,
    pub escalation: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    version: u32,
    bias: f32,
    weights: Weights,
    levels: Thresholds,
}

/// The loaded signal lexicons and model.
#[derive(Debug)]
pub(crate) struct Escalation {
    /// Lexicon group index of each of [`GROUPS`] (the signal files share the themes' lexicon).
    group: [usize; GROUPS.len()],
    bias: f32,
    weights: Weights,
    levels: Thresholds,
    pub version: u32,
    pub content_hash: u64,
}

/// What the escalation model says about one message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assessed {
    pub level: Level,
    pub score: f32,
    pub event_time: Option<DateTime<FixedOffset>>,
    pub explanation: Vec<Signal>,
}

/// Facts about the message that are not signal words.
pub(crate) struct Context<'a> {
    pub text: &'a str,
    pub tokens: &'a [Token],
    /// Every lexicon match of the message, themes and signals.
    pub matches: &'a [TermMatch],
    /// Summed weight of the themes found.
    pub theme_weight: f32,
    pub times: &'a [TimeMention],
}

impl Escalation {
    /// Finds the signal groups (folder `source` of `lexicon`) and loads the
    /// model file; problems are collected, not returned early.
    pub fn load(
        lexicon: &Lexicon,
        source: usize,
        signals_dir: &Path,
        model: &Path,
        problems: &mut Problems,
    ) -> Option<Self> {
        let mut group = [0; GROUPS.len()];
        let signals = || lexicon.themes.iter().enumerate().filter(|(_, t)| t.source == source);
        for (slot, name) in group.iter_mut().zip(GROUPS) {
            match signals().find(|(_, t)| t.id == name) {
                Some((index, _)) => *slot = index,
                None => problems.push(signals_dir, name, format!("signal group {name:?} is missing ({name}.toml)")),
            }
        }
        for (_, extra) in signals().filter(|(_, t)| !GROUPS.contains(&t.id.as_str())) {
            problems.push(signals_dir, &extra.id, "unknown signal group; the model reads only its own groups");
        }
        let source_text = match std::fs::read_to_string(model) {
            Ok(text) => text,
            Err(e) => {
                problems.push(model, "", format!("cannot read the escalation model: {e}"));
                return None;
            }
        };
        let file: ModelFile = match toml::from_str(&source_text) {
            Ok(file) => file,
            Err(e) => {
                problems.push_toml(model, &source_text, &e);
                return None;
            }
        };
        let t = &file.levels;
        let ordered = 0.0 <= t.discussion
            && t.discussion <= t.mobilisation
            && t.mobilisation <= t.escalation
            && t.escalation < 1.0;
        if !ordered {
            problems.push(model, "levels", "thresholds must satisfy 0 ≤ discussion ≤ mobilisation ≤ escalation < 1");
        }
        let mut hash = crate::themes::Fnv::new();
        hash.write(source_text.as_bytes());
        Some(Self {
            group,
            bias: file.bias,
            weights: file.weights,
            levels: file.levels,
            version: file.version,
            content_hash: hash.finish(),
        })
    }

    /// Whether any match is an unrest signal. Without one, and without a
    /// theme, a message is level 0 whatever its times say, so the caller can
    /// skip resolving them (most news is not about unrest).
    pub fn touches_unrest(&self, text: &str, matches: &[TermMatch]) -> bool {
        if text.contains('🚜') {
            return true;
        }
        const UNREST: [usize; 7] =
            [G_VIOLENCE, G_VIOLENCE_REPORT, G_MOBILISATION, G_GATHERING, G_THREAT, G_DOXXING, G_WEAPON];
        matches.iter().any(|m| UNREST.iter().any(|&g| self.group[g] == m.group))
    }

    /// Assesses one message.
    pub fn assess(&self, cx: &Context<'_>) -> Assessed {
        let found = Found::new(self, cx);
        let w = &self.weights;
        let mut explanation = Vec::new();
        // Themes are listed by the caller; here only their pull on the score.
        let mut z = self.bias + w.theme * cx.theme_weight.min(3.0);
        let mut add = |name: &str, evidence: String, weight: f32, count: usize, cap: usize| {
            if count == 0 {
                return;
            }
            let contribution = weight * count.min(cap) as f32;
            z += contribution;
            explanation.push(Signal { signal: name.to_owned(), evidence, weight: round3(contribution) });
        };

        let calls = found.count(G_CALL);
        // Attribution and past tense, by weight: one "heeft" in a relative
        // clause does not make a call into a report; "meldt de politie" does.
        let reports = found.count(G_REPORT);
        // Past participles of unrest ("bekogeld", "opgepakt") narrate as much as "meldt" does.
        let report_weight = found.weight(G_REPORT) + found.weight(G_VIOLENCE_REPORT);
        // "would drive on Saturday", "hebben een protestrit aangekondigd": a
        // report about something still to come keeps its times ahead.
        let narrated = report_weight >= REPORTING_WEIGHT
            && report_weight > found.weight(G_CALL)
            && found.count(G_GATHERING) == 0
            && !cx.tokens.iter().any(|t| is_future_marker(&t.norm));
        // In a report ("zaterdag werd ...") a bare weekday or date is the past
        // one; only an explicit future word keeps it ahead.
        let ahead = |t: &&TimeMention| !t.past && (!narrated || says_future(&t.evidence));
        let future: Vec<&TimeMention> = cx.times.iter().filter(ahead).collect();
        let past = cx.times.iter().any(|t| t.past) || (narrated && future.len() < cx.times.len());
        let irony = found.count(G_IRONY) + usize::from(has_irony_marks(cx.text));
        let emphasis = emphasis(cx.text);

        let gathering = found.count(G_GATHERING);
        // Unrest needs more than one ambiguous word: "storm", "in brand" and
        // "riot" are weather and football too, until a target, a weapon, a
        // call or a theme says otherwise; "gewond" alone is an accident.
        let aimed = found.raw(G_TARGET) + found.raw(G_WEAPON) + found.count(G_CALL) > 0 || cx.theme_weight > 0.0;
        let unrest = cx.theme_weight > 0.0
            || found.weight(G_VIOLENCE_REPORT) >= REPORTING_WEIGHT
            || (found.raw(G_VIOLENCE) > 0 && aimed)
            || [G_MOBILISATION, G_THREAT, G_DOXXING].iter().any(|&g| found.raw(g) > 0)
            || cx.text.contains('🚜');
        // A call to come somewhere is mobilisation only about unrest: a braderie is not.
        let gathers = if unrest { gathering } else { 0 };
        add("unrest_report", found.evidence(G_VIOLENCE_REPORT), w.unrest_report, found.count(G_VIOLENCE_REPORT), 2);
        // 🚜 is the farmers' protest in one character.
        let tractor = cx.text.contains('🚜');
        let actions = found.count(G_MOBILISATION) + usize::from(tractor);
        let mut action_evidence = found.evidence(G_MOBILISATION);
        if tractor {
            action_evidence =
                if action_evidence.is_empty() { "🚜".to_owned() } else { format!("{action_evidence}, 🚜") };
        }
        add("mobilisation", action_evidence, w.mobilisation, actions, 2);
        add("gathering", found.evidence(G_GATHERING), w.gathering, gathers, 2);
        add("call", found.evidence(G_CALL), w.call, calls, 2);
        let future_evidence = future.iter().map(|t| t.evidence.as_str()).collect::<Vec<_>>().join(", ");
        add("future_time", future_evidence, w.future_time, usize::from(!future.is_empty()), 1);
        add("emphasis", emphasis.1.clone(), w.emphasis, emphasis.0, 2);
        add("call_to_violence", found.evidence(G_VIOLENCE), w.violence, found.count(G_VIOLENCE), 2);
        let hostile =
            found.count(G_VIOLENCE) + found.count(G_THREAT) + found.count(G_DOXXING) + found.count(G_WEAPON) > 0;
        add("target", found.evidence(G_TARGET), w.target, if hostile { found.count(G_TARGET) } else { 0 }, 1);
        add("weapon", found.evidence(G_WEAPON), w.weapon, found.count(G_WEAPON), 2);
        add("threat", found.evidence(G_THREAT), w.threat, found.count(G_THREAT), 1);
        add("doxxing", found.evidence(G_DOXXING), w.doxxing, found.count(G_DOXXING), 1);
        add("reporting", found.evidence(G_REPORT), w.reporting, reports, 2);
        add("negation", found.negated_evidence(), w.negated, found.negated, 2);
        add("question", found.questioned_evidence(), w.question, found.questioned.min(1), 1);
        add("irony", found.evidence(G_IRONY), w.irony, irony.min(1), 1);
        add("peaceful", found.evidence(G_PEACEFUL), w.peaceful, found.count(G_PEACEFUL).min(1), 1);
        let score = round3(1.0 / (1.0 + (-z).exp()));

        // Which level the signals allow.
        let reporting_only = report_weight >= REPORTING_WEIGHT && calls == 0 && emphasis.0 == 0 && gathers == 0;
        let direct = found.count(G_THREAT) + found.count(G_DOXXING) > 0;
        let armed = found.count(G_WEAPON) > 0 && found.count(G_TARGET) > 0;
        let calling = calls > 0 || !future.is_empty() || emphasis.0 > 0 || gathers > 0;
        let called = (found.count(G_VIOLENCE) > 0 || armed) && calling;
        let escalates = irony == 0 && !reporting_only && (direct || called);
        let acting = actions > 0 || gathers > 0;
        let mobilises = acting && calling && !(past && future.is_empty());
        let mut level = if escalates {
            Level::Escalation
        } else if mobilises {
            Level::Mobilisation
        } else if unrest {
            Level::Discussion
        } else {
            Level::None
        };
        if level == Level::Escalation && found.count(G_PEACEFUL) > 0 && !direct {
            level = Level::Mobilisation;
        }
        // And whether the score reaches it.
        while level > Level::Discussion && score < self.threshold(level) {
            level = lower(level);
        }
        if level == Level::Discussion && score < self.levels.discussion {
            level = Level::None;
        }
        let event_time = if level >= Level::Mobilisation {
            future.iter().find(|t| t.has_clock_time).or(future.first()).map(|t| t.at)
        } else {
            None
        };
        if let Some(at) = event_time {
            let evidence = future.iter().find(|t| t.at == at).map(|t| t.evidence.clone()).unwrap_or_default();
            explanation.push(Signal { signal: "event_time".into(), evidence, weight: 0.0 });
        }
        Assessed { level, score, event_time, explanation }
    }

    fn threshold(&self, level: Level) -> f32 {
        match level {
            Level::None => 0.0,
            Level::Discussion => self.levels.discussion,
            Level::Mobilisation => self.levels.mobilisation,
            Level::Escalation => self.levels.escalation,
        }
    }
}

fn lower(level: Level) -> Level {
    match level {
        Level::Escalation => Level::Mobilisation,
        Level::Mobilisation => Level::Discussion,
        Level::Discussion | Level::None => Level::None,
    }
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

// Indexes into GROUPS.
const G_VIOLENCE: usize = 0;
const G_VIOLENCE_REPORT: usize = 1;
const G_TARGET: usize = 2;
const G_WEAPON: usize = 3;
const G_MOBILISATION: usize = 4;
const G_GATHERING: usize = 5;
const G_THREAT: usize = 6;
const G_DOXXING: usize = 7;
const G_CALL: usize = 8;
const G_REPORT: usize = 9;
const G_NEGATION: usize = 10;
const G_PEACEFUL: usize = 11;
const G_IRONY: usize = 12;

/// The signal words of one message, sorted into groups, with negated and
/// questioned occurrences set apart.
struct Found {
    /// Active occurrences per group.
    active: [Vec<TermMatch>; GROUPS.len()],
    /// All occurrences per group, active or not.
    raw: [usize; GROUPS.len()],
    negated: usize,
    negated_evidence: Vec<String>,
    questioned: usize,
    questioned_evidence: Vec<String>,
}

impl Found {
    fn new(model: &Escalation, cx: &Context<'_>) -> Self {
        let sentences = sentence_ids(cx.tokens);
        let questions = question_sentences(cx.text, cx.tokens, &sentences);
        let matches = cx.matches;
        let negations: Vec<&TermMatch> = matches.iter().filter(|m| m.group == model.group[G_NEGATION]).collect();
        let mut found = Found {
            active: Default::default(),
            raw: [0; GROUPS.len()],
            negated: 0,
            negated_evidence: Vec::new(),
            questioned: 0,
            questioned_evidence: Vec::new(),
        };
        for m in matches {
            let Some(g) = model.group.iter().position(|&index| index == m.group) else { continue };
            // "ME" (mobiele eenheid) only in capitals: "me" is also "mij".
            if g == G_TARGET && matches!(m.evidence.as_str(), "me" | "Me") {
                continue;
            }
            found.raw[g] += 1;
            let contextual = matches!(g, G_VIOLENCE | G_MOBILISATION | G_GATHERING | G_THREAT | G_DOXXING | G_CALL);
            if contextual {
                let sentence = sentences.get(m.first).copied().unwrap_or(0);
                let negated = negations.iter().any(|n| {
                    n.last < m.first
                        && m.first - n.last <= NEGATION_WINDOW
                        && sentences.get(n.last) == Some(&sentence)
                        && !cx.text.get(n.end..m.start).is_some_and(|between| between.contains([',', ';', ':']))
                });
                if negated {
                    if g != G_CALL {
                        found.negated += 1;
                        found.negated_evidence.push(m.evidence.clone());
                    }
                    continue;
                }
                if questions.contains(&sentence) && g != G_CALL {
                    found.questioned += 1;
                    found.questioned_evidence.push(m.evidence.clone());
                    continue;
                }
            }
            found.active[g].push(m.clone());
        }
        found
    }

    /// Distinct terms of a group: saying "rellen" four times is one signal.
    fn count(&self, group: usize) -> usize {
        let mut terms: Vec<usize> = self.active[group].iter().map(|m| m.term).collect();
        terms.sort_unstable();
        terms.dedup();
        terms.len()
    }

    /// Summed weight of the distinct terms of a group.
    fn weight(&self, group: usize) -> f32 {
        let mut seen: Vec<usize> = Vec::new();
        let mut total = 0.0;
        for m in &self.active[group] {
            if !seen.contains(&m.term) {
                seen.push(m.term);
                total += m.weight;
            }
        }
        total
    }

    fn raw(&self, group: usize) -> usize {
        self.raw[group]
    }

    fn evidence(&self, group: usize) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for m in &self.active[group] {
            if !seen.iter().any(|e| e.eq_ignore_ascii_case(&m.evidence)) {
                seen.push(&m.evidence);
            }
        }
        seen.join(", ")
    }

    fn negated_evidence(&self) -> String {
        self.negated_evidence.join(", ")
    }

    fn questioned_evidence(&self) -> String {
        self.questioned_evidence.join(", ")
    }
}

/// The sentence number of each token.
fn sentence_ids(tokens: &[Token]) -> Vec<usize> {
    let mut id = 0;
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if t.sentence_start && i > 0 {
                id += 1;
            }
            id
        })
        .collect()
}

/// Sentences that end in a question mark.
fn question_sentences(text: &str, tokens: &[Token], sentences: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let last_of_sentence = tokens.get(i + 1).is_none_or(|next| next.sentence_start);
        if !last_of_sentence {
            continue;
        }
        let end = tokens.get(i + 1).map_or(text.len(), |next| next.start);
        if text.get(token.end..end).is_some_and(|tail| tail.contains('?'))
            && let Some(&sentence) = sentences.get(i)
        {
            // "Wie doet mee?" recruits; it does not doubt.
            let first = sentences.iter().position(|&s| s == sentence).and_then(|at| tokens.get(at));
            if !first.is_some_and(|t| matches!(t.norm.as_str(), "wie" | "who" | "wer")) {
                out.push(sentence);
            }
        }
    }
    out
}

/// Whether a time expression itself points ahead (`morgen`, `aanstaande zaterdag`, `tomorrow`).
fn says_future(evidence: &str) -> bool {
    const AHEAD: [&str; 14] = [
        "morgen",
        "overmorgen",
        "vanavond",
        "vannacht",
        "vanmiddag",
        "aanstaande",
        "komende",
        "volgende",
        "straks",
        "tomorrow",
        "tonight",
        "next",
        "this",
        "morgen",
    ];
    let lower = evidence.to_lowercase();
    lower.split(|c: char| !c.is_alphanumeric()).any(|w| AHEAD.contains(&w))
}

/// `/s` at the end of a post, and laughing emoji.
fn has_irony_marks(text: &str) -> bool {
    let trimmed = text.trim_end();
    trimmed.ends_with("/s") || trimmed.contains(" /s ") || text.contains(['😂', '🤣', '🙃'])
}

/// Emphasis that marks a call: runs of `!`, fire and bomb emoji. Returns the count and evidence.
fn emphasis(text: &str) -> (usize, String) {
    let mut marks: Vec<&str> = Vec::new();
    if text.contains("!!") {
        marks.push("!!");
    }
    for emoji in ["🔥", "💣", "🧨", "💥", "‼"] {
        if text.contains(emoji) {
            marks.push(emoji);
        }
    }
    (marks.len(), marks.join(" "))
}
