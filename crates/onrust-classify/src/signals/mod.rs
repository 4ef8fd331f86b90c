//! Escalation: from words to a level, with every reason listed.
//!
//! The signal lexicons in `config/signals/` (same format and the same L11
//! deny-list checks as the theme lexicons) find the words; this module
//! decides what they mean in context and turns them into a score and a level
//! with the weights in `config/escalation.toml`:
//!
//! - **context per occurrence**: a violence, mobilisation, gathering, threat,
//!   doxxing or call word right after a negation in the same clause (`geen
//!   rellen`, `niet slopen`) or inside a question does not count;
//! - **context per message**: attribution and past tense (`meldt de
//!   politie`, `werd`, `gisteren`) mark reporting; imperatives, first person
//!   plural and a time still ahead mark a call; `haha`, `/s` or 😂 mark
//!   irony;
//! - **score**: `1 / (1 + e^-(bias + Σ weight × signal))`, where a signal
//!   is the summed weight of its distinct terms, capped so repetition does
//!   not inflate it; themes add nothing to it;
//! - **level**: the signals decide which level a message can reach, the
//!   score whether it does (see [`Thresholds`]). Reporting on unrest is
//!   level 1, an announced action level 2, a call to violence, a threat or
//!   an official's address level 3 — the highest level whose own signals
//!   hold and whose threshold the score meets — and an explicitly peaceful
//!   action never more than 2.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use onrust_model::{Level, Signal};
use serde::Deserialize;

use crate::error::Problems;
use crate::morphology::Morphology;
use crate::normalize::Token;
use crate::themes::{Lexicon, TermMatch};
use crate::time::TimeMention;
use quotes::{QUOTES, Quotations, has_quote};

mod features;
mod grammar;
mod learned_level;
mod quotes;

pub(crate) use features::RULE_SIGNALS;
use grammar::HitKind;

use crate::learned::{Learned, NeverWords};

/// The signal groups the model reads; each is a file in `config/signals/`.
pub(crate) const GROUPS: [&str; 17] = [
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
    "attribution",
    "negation",
    "peaceful",
    "irony",
    "harm",
    "intent",
    "frame",
];

/// Summed weight of attribution and past-tense words from which a message reads as a report.
const REPORTING_WEIGHT: f32 = 0.8;

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
    /// A threat or incitement the grammar reads (intent × harm × target).
    pub intent: f32,
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
    /// Lemmas of the harm and violence terms: their participles make a
    /// passive threat ("moet neergeschoten worden").
    harm_lemmas: rustc_hash::FxHashSet<u32>,
    /// The learned layer over the rules' features (`escalation-learned.toml`).
    learned: Learned,
    pub version: u32,
    pub content_hash: u64,
}

/// What the escalation model says about one message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assessed {
    pub level: Level,
    /// Disorder was found (violence, a report of unrest, a weapon, a threat), whatever the level.
    pub disorder: bool,
    pub score: f32,
    pub event_time: Option<DateTime<FixedOffset>>,
    pub explanation: Vec<Signal>,
}

/// Facts about the message that are not signal words.
pub(crate) struct Context<'a> {
    pub text: &'a str,
    pub tokens: &'a [Token<'a>],
    /// Every lexicon match of the message, themes and signals.
    pub matches: &'a [TermMatch],
    /// Summed weight of the themes found.
    pub theme_weight: f32,
    pub times: &'a [TimeMention],
    pub morphology: &'a Morphology,
    /// What the whole text shows, read once rather than once per clause.
    pub marks: Marks,
}

impl<'a> Context<'a> {
    pub fn new(
        text: &'a str,
        tokens: &'a [Token<'a>],
        matches: &'a [TermMatch],
        theme_weight: f32,
        times: &'a [TimeMention],
        morphology: &'a Morphology,
    ) -> Self {
        let marks = Marks {
            tractor: has_tractor(text),
            emphasis: emphasis_count(text),
            menaced: menaced(text, tokens),
            irony_possible: irony_possible(text),
        };
        Context { text, tokens, matches, theme_weight, times, morphology, marks }
    }
}

/// Signs in a message's whole text that every clause's reading asks about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Marks {
    /// A tractor emoji: the farmers' protests' sign.
    pub tractor: bool,
    /// How many kinds of emphasis ([`emphasis_count`]).
    pub emphasis: usize,
    /// A menacing emoji said to someone ([`menaced`]).
    pub menaced: bool,
    /// The text holds "/s" or a laughing emoji, so a part of it may have
    /// irony marks ([`has_irony_marks`], asked of every clause, need not be
    /// otherwise).
    pub irony_possible: bool,
}

impl Escalation {
    /// Finds the signal groups (folder `source` of `lexicon`) and loads the
    /// model file and, with `with_learned`, the learned layer's weights
    /// beside it; problems are collected, not returned early.
    pub fn load(
        lexicon: &Lexicon,
        morphology: &Morphology,
        source: usize,
        signals_dir: &Path,
        model: &Path,
        with_learned: bool,
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
        let w = &file.weights;
        let all = [
            file.bias,
            w.unrest_report,
            w.mobilisation,
            w.gathering,
            w.call,
            w.future_time,
            w.emphasis,
            w.violence,
            w.target,
            w.weapon,
            w.threat,
            w.doxxing,
            w.intent,
            w.reporting,
            w.negated,
            w.question,
            w.irony,
            w.peaceful,
        ];
        if !all.iter().all(|x| x.is_finite() && x.abs() <= 20.0) {
            problems.push(model, "weights", "bias and weights must be finite numbers between -20 and 20");
        }
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
        let harm_lemmas = lexicon.lemmas_of(&[group[G_HARM], group[G_VIOLENCE]], morphology);
        // Rule L11: the words of the theme lexicons and of the target lexicon
        // name what a message is about or whom it names; they never raise a level.
        let target = group[G_TARGET];
        let (words, prefixes) = lexicon.words_of(|t| t == target || lexicon.themes[t].source != source);
        let learned_path = model.with_file_name(crate::learned::LEARNED_FILE);
        let never = NeverWords { words, prefixes };
        let learned =
            if with_learned { Learned::load(&learned_path, never, problems)? } else { Learned::rules_only(never) };
        hash.write(&learned.content_hash.to_le_bytes());
        Some(Self {
            group,
            harm_lemmas,
            learned,
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
        if has_tractor(text) {
            return true;
        }
        const UNREST: [usize; 7] =
            [G_VIOLENCE, G_VIOLENCE_REPORT, G_MOBILISATION, G_GATHERING, G_THREAT, G_DOXXING, G_WEAPON];
        matches.iter().any(|m| UNREST.iter().any(|&g| self.group[g] == m.group))
    }

    /// Assesses one message: every clause with its own reporting, negation,
    /// question and irony, and with what the rest of the message calls for
    /// (calls, gatherings, targets, weapons, times); the most escalated clause
    /// decides, and the explanation names it. The message read as one clause
    /// is a candidate too, so reading by clause never loses what the whole
    /// message says.
    pub fn assess(&self, cx: &Context<'_>) -> Assessed {
        let outcome = self.assess_by_rules(cx);
        let found = features::extract(cx, &outcome.reading());
        self.learned_level(cx, outcome.assessed, &found, outcome.mentioned)
    }

    /// The features of a message as the learned layer reads them, and the
    /// rules' level (for `onrust train`).
    pub fn features(&self, cx: &Context<'_>) -> (Level, Vec<(String, f32)>) {
        let outcome = self.assess_by_rules(cx);
        (outcome.assessed.level, features::extract(cx, &outcome.reading()).owned())
    }

    /// The version of the learned layer's weights file (0: rules only).
    pub fn learned_version(&self) -> u32 {
        self.learned.version
    }

    /// Whether the learned layer may never let this word raise a level (rule L11).
    pub fn never_learned(&self, word: &str) -> bool {
        self.learned.never.contains(word)
    }

    /// The rules' reading of a message: see [`RuleOutcome`].
    fn assess_by_rules<'m>(&self, cx: &Context<'m>) -> RuleOutcome<'m> {
        let clauses = sentence_ids(cx.tokens);
        let clause_count = clauses.last().map_or(1, |c| c + 1);
        let questions = question_sentences(cx.text, cx.tokens, &clauses);
        let held = self.held_clauses(cx, &clauses, clause_count);
        let mut ranges = vec![(0, 0); clause_count];
        for (i, &c) in clauses.iter().enumerate() {
            if let Some(range) = ranges.get_mut(c) {
                if range.1 == 0 {
                    range.0 = i;
                }
                range.1 = i + 1;
            }
        }
        let occurrences = self.occurrences(cx, &clauses, &questions, &held);
        let hits = grammar::read(&grammar::Reading {
            text: cx.text,
            tokens: cx.tokens,
            morphology: cx.morphology,
            clauses: &clauses,
            clause_count,
            occurrences: &occurrences,
            harm_lemmas: &self.harm_lemmas,
            held: &held,
            ranges: &ranges,
        });
        let whole = Scope { clause: None, first: 0, last: cx.tokens.len(), start: 0, end: cx.text.len() };
        let all = Found::collect(&occurrences, |_| true);
        let mut message = self.evaluate(cx, &all, &whole, &hits, Explain::Yes);
        let quotations = Quotations::of(cx.text, cx.tokens);
        let clause_span = |c: usize| {
            let (first, last) = ranges.get(c).copied()?;
            Some((cx.tokens.get(first)?.start, cx.tokens.get(last.checked_sub(1)?)?.end))
        };
        let mut mentioned = only_quoted(&occurrences, &hits, &quotations, &clause_span, None);
        if mentioned {
            message.cap_as_report();
        }
        // Only a clause with something of its own that escalates (violence,
        // harm, a threat, doxxing, a weapon, a grammar finding) can decide;
        // the others are read by the message (most news has none).
        let escalating = |clause: usize| {
            occurrences
                .iter()
                .any(|o| o.clause == clause && matches!(o.group, G_VIOLENCE | G_HARM | G_THREAT | G_DOXXING | G_WEAPON))
                || hits.iter().any(|h| h.clause == clause)
        };
        let questioned = !questions.is_empty();
        let any_held = held.iter().any(|h| *h);
        let any_escalating = (0..clause_count).any(escalating);
        let scopes: Vec<Scope> = if any_escalating {
            (0..clause_count).map(|c| Scope::of_clause(cx, &clauses, c)).collect()
        } else {
            Vec::new()
        };
        // Somebody else's words after "de man dreigde:", or in a clause that
        // opens with somebody saying or threatening them ("hij zei dat …",
        // "de man die dreigde … te …"), report, read as a whole as much as
        // clause by clause.
        // A call to come of its own ("…, dus morgen allemaal naar het plein") is no report.
        let gathers = |c: usize| occurrences.iter().any(|o| o.clause == c && o.group == G_GATHERING && !o.negated);
        let reported =
            |c: usize| scopes.get(c).is_some_and(|s| said_before(cx, s) || (said_within(cx, s) && !gathers(c)));
        if any_escalating && (0..clause_count).filter(|&c| escalating(c)).all(reported) {
            message.cap_as_report();
            mentioned = true;
        }
        // Without a clause that escalates, or with one clause, the message decides.
        if !any_escalating || clause_count <= 1 {
            return RuleOutcome {
                assessed: message.assessed,
                occurrences,
                hits,
                questioned,
                held: any_held,
                mentioned,
            };
        }
        let reports = self.clause_reports(cx, &occurrences, &scopes);
        // In a message that reads as a report as a whole, a clause escalates
        // only with a call of its own: a call word, an intent the grammar
        // reads, or a time ahead ("… gegooid. Op oudejaarsavond gaan we …").
        let message_reports = self.reporting(cx, &all, &whole).report;
        let clause_found = |clause: usize| {
            Found::collect(&occurrences, |o| {
                o.clause == clause || (SHARED.contains(&o.group) && !reports.get(o.clause).copied().unwrap_or(false))
            })
        };
        let mut best: Option<Candidate> = None;
        for scope in &scopes {
            let Some(clause) = scope.clause else { continue };
            if !escalating(clause) {
                continue;
            }
            let found = clause_found(clause);
            // Most clauses lose to another reading: explained only if one wins below.
            let mut candidate = self.evaluate(cx, &found, scope, &hits, Explain::No);
            let own_call = occurrences.iter().any(|o| o.clause == clause && o.group == G_CALL && !o.negated)
                || hits.iter().any(|h| h.clause == clause && h.kind != HitKind::Threat)
                || cx.times.iter().any(|t| !t.past && t.start >= scope.start && t.start < scope.end);
            if reports.get(clause).copied().unwrap_or(false)
                || (message_reports && !own_call)
                || only_quoted(&occurrences, &hits, &quotations, &clause_span, Some(clause))
            {
                candidate.cap_as_report();
            }
            if best.as_ref().is_none_or(|b| candidate.outranks(b)) {
                best = Some(candidate);
            }
        }
        // A clause decides when it escalates: a call after a report, a threat
        // next to a joke. Levels 1 and 2 are the message's (an announcement
        // and its time often stand in different sentences).
        match best {
            Some(b) if b.assessed.level == Level::Escalation => {
                // The winner read again with its explanation: the same
                // signals give the same level and score (a capped clause is
                // never level 3, so no cap is lost).
                let found = clause_found(b.scope.clause.unwrap_or_default());
                let mut b = self.evaluate(cx, &found, &b.scope, &hits, Explain::Yes);
                let clause = b.clause_text(cx.text);
                b.assessed.explanation.insert(0, Signal { signal: "clause".into(), evidence: clause, weight: 0.0 });
                b.assessed.disorder |= message.assessed.disorder;
                RuleOutcome { assessed: b.assessed, occurrences, hits, questioned, held: any_held, mentioned }
            }
            _ => RuleOutcome { assessed: message.assessed, occurrences, hits, questioned, held: any_held, mentioned },
        }
    }

    /// Which clauses report: by their own words, or as reported speech (a
    /// quotation, or after a reporting clause ending in `:`), or next to a
    /// report while calling for nothing themselves (no call or gathering word,
    /// no intent, no time ahead, no emphasis).
    fn clause_reports(&self, cx: &Context<'_>, occurrences: &[Occurrence<'_>], scopes: &[Scope]) -> Vec<bool> {
        let own: Vec<bool> = scopes
            .iter()
            .map(|scope| {
                let clause = scope.clause;
                let found = Found::collect(occurrences, |o| Some(o.clause) == clause);
                self.reporting(cx, &found, scope).report
            })
            .collect();
        let mut out = own.clone();
        for (c, scope) in scopes.iter().enumerate() {
            if own[c] {
                continue;
            }
            let text = cx.text.get(scope.start..scope.end).unwrap_or_default();
            let before = cx.text.get(..scope.start).unwrap_or_default().trim_end();
            let previous_reports = c > 0 && own[c - 1];
            // The quotation mark may stand before the clause's first word.
            let quoted = before.ends_with(QUOTES) || has_quote(text);
            let speech = (previous_reports && before.ends_with(':')) || said_before(cx, scope);
            let calls = occurrences.iter().any(|o| {
                o.clause == c && matches!(o.group, G_CALL | G_GATHERING | G_INTENT | G_THREAT | G_DOXXING) && !o.negated
            });
            let ahead = cx.times.iter().any(|t| !t.past && t.start >= scope.start && t.start < scope.end);
            let neighbour = previous_reports || own.get(c + 1).copied().unwrap_or(false);
            let quiet = !calls && !ahead && emphasis_count(text) == 0;
            let attributed = occurrences.iter().any(|o| o.clause == c && o.group == G_ATTRIBUTION);
            if (quoted && (attributed || own.iter().any(|r| *r))) || speech || (neighbour && quiet) {
                out[c] = true;
            }
        }
        out
    }

    /// Which clauses a frame holds back: harm words there harm nobody. A
    /// frame of weight 1 (an idiom, a game, building work, a condemnation)
    /// holds its clause and the ones next to it; below 1 (sport, cooking)
    /// not a clause with a target of its own ("na de wedstrijd de ME bekogelen").
    fn held_clauses(&self, cx: &Context<'_>, clauses: &[usize], clause_count: usize) -> Vec<bool> {
        let mut held = vec![false; clause_count];
        let aimed_at = |clause: usize| {
            cx.matches.iter().any(|m| {
                m.group == self.group[G_TARGET]
                    && !matches!(m.evidence.as_str(), "me" | "Me")
                    && clauses.get(m.first) == Some(&clause)
            })
        };
        // A frame word inside a harm phrase is the harm's ("schop je het ziekenhuis in").
        let in_harm = |frame: &TermMatch| {
            cx.matches.iter().any(|m| {
                (m.group == self.group[G_HARM] || m.group == self.group[G_VIOLENCE])
                    && m.first <= frame.first
                    && frame.last <= m.last
                    && (m.first, m.last) != (frame.first, frame.last)
            })
        };
        for frame in cx.matches.iter().filter(|m| m.group == self.group[G_FRAME] && !in_harm(m)) {
            let Some(&at) = clauses.get(frame.first) else { continue };
            let near = at.saturating_sub(1)..=(at + 1).min(clause_count.saturating_sub(1));
            for (clause, slot) in held.iter_mut().enumerate().filter(|(c, _)| near.contains(c)) {
                if frame.weight >= 1.0 || !aimed_at(clause) {
                    *slot = true;
                }
            }
        }
        held
    }

    /// Every signal word with its group, clause, and whether a negation or a question holds it.
    fn occurrences<'m>(
        &self,
        cx: &Context<'m>,
        clauses: &[usize],
        questions: &[usize],
        held: &[bool],
    ) -> Vec<Occurrence<'m>> {
        let negations: Vec<&TermMatch> = cx.matches.iter().filter(|m| m.group == self.group[G_NEGATION]).collect();
        let proposals = suggestions(cx.tokens, clauses);
        let mut out = Vec::with_capacity(cx.matches.len());
        for m in cx.matches {
            let Some(g) = self.group.iter().position(|&index| index == m.group) else { continue };
            // "ME" (mobiele eenheid) only in capitals: "me" is also "mij".
            if g == G_TARGET && matches!(m.evidence.as_str(), "me" | "Me") {
                continue;
            }
            let clause = clauses.get(m.first).copied().unwrap_or(0);
            if matches!(g, G_VIOLENCE | G_HARM | G_THREAT) {
                if held.get(clause).copied().unwrap_or(false) {
                    continue;
                }
                // After an article a word is a noun: "de sloop van onze flats" calls for nothing.
                let article = m.first == m.last
                    && m.first.checked_sub(1).and_then(|b| cx.tokens.get(b)).is_some_and(|t| {
                        matches!(t.norm.as_ref(), "de" | "het" | "een") && clauses.get(m.first - 1) == Some(&clause)
                    });
                if g == G_VIOLENCE && article {
                    continue;
                }
                // After an auxiliary a participle reports what was done: "er
                // worden burgers vermoord" calls for nothing, though
                // "vermoord" is also the stem of a call.
                let reported = m.first == m.last
                    && g != G_THREAT
                    && grammar::participle_after_auxiliary(
                        cx.text,
                        cx.tokens,
                        cx.morphology,
                        |i| clauses.get(i) == Some(&clause),
                        m.first,
                    );
                if reported {
                    continue;
                }
            }
            // "elke agent die …" points at anyone; "elke dag", "iedere week" say how often.
            let how_often = g == G_INTENT
                && m.first == m.last
                && cx.tokens.get(m.first + 1).is_some_and(|t| TIME_UNITS.contains(&t.norm.as_ref()));
            if how_often {
                continue;
            }
            // "geen vuurwerk" is no weapon, "niet slopen" no call to violence.
            let contextual = matches!(
                g,
                G_VIOLENCE
                    | G_MOBILISATION
                    | G_GATHERING
                    | G_THREAT
                    | G_DOXXING
                    | G_CALL
                    | G_HARM
                    | G_INTENT
                    | G_WEAPON
            );
            let negated = contextual
                && negations.iter().any(|n| {
                    n.last < m.first
                        && m.first - n.last <= NEGATION_WINDOW
                        && clauses.get(n.last) == Some(&clause)
                        && !cx.text.get(n.end..m.start).is_some_and(|between| between.contains([',', ';', ':']))
                        && !cx
                            .tokens
                            .get(n.last + 1..m.first)
                            .is_some_and(|between| between.iter().any(|t| is_conjunction(&t.norm)))
                })
                // "slopen niet", "toeteren mag, slopen niet": a negation right after the word.
                || cx.tokens.get(m.last + 1).is_some_and(|t| {
                    matches!(t.norm.as_ref(), "niet" | "nooit" | "not") && clauses.get(m.last + 1) == Some(&clause)
                });
            // "Waarom knallen we ze niet gewoon af?" proposes what it seems to deny and to ask.
            let proposed = proposals.contains(&clause);
            let negated = negated && !proposed;
            let questioned = contextual && !negated && !proposed && questions.contains(&clause);
            out.push(Occurrence { m, group: g, clause, negated, questioned });
        }
        out
    }

    /// Whether the words of `found` make a report, and how much past tense they carry.
    fn reporting(&self, cx: &Context<'_>, found: &Found<'_>, scope: &Scope) -> Reporting {
        // Past participles of unrest ("bekogeld", "opgepakt") narrate as much as "meldt" does.
        // A word that is a call as much as a report ("rellen") decides nothing.
        let calls_too = |m: &TermMatch| found.active(G_VIOLENCE).any(|v| v.first == m.first && v.last == m.last);
        let narrated_unrest: f32 = found.distinct(G_VIOLENCE_REPORT).filter(|m| !calls_too(m)).map(|m| m.weight).sum();
        // Past tense decides whether days are past; attribution ("zegt de
        // woordvoerder") only whether the message reports rather than calls.
        let past_weight = found.weight(G_REPORT) + narrated_unrest;
        let report_weight = past_weight + found.weight(G_ATTRIBUTION);
        if report_weight < REPORTING_WEIGHT {
            return Reporting { report: false, past_weight };
        }
        let unrest_words = self.gathering_if_unrest(cx, found);
        let text = cx.text.get(scope.start..scope.end).unwrap_or_default();
        // One definition of a report: attribution and past tense outweigh the
        // calls and gathering words, and nothing announces a future.
        // "would drive on Saturday" and "hebben een protestrit aangekondigd"
        // report something still to come.
        let report = report_weight >= REPORTING_WEIGHT
            && report_weight > found.weight(G_CALL) + unrest_words
            && emphasis_count(text) == 0
            && !cx.tokens.get(scope.first..scope.last).unwrap_or_default().iter().any(|t| is_future_marker(&t.norm));
        Reporting { report, past_weight }
    }

    /// The gathering weight of `found`, when the message is about unrest at all.
    fn gathering_if_unrest(&self, cx: &Context<'_>, found: &Found<'_>) -> f32 {
        if self.unrest(cx, found, 0.0) { found.weight(G_GATHERING) } else { 0.0 }
    }

    /// Whether `found` is about unrest (level 1 material).
    fn unrest(&self, cx: &Context<'_>, found: &Found<'_>, grammar: f32) -> bool {
        let targeted = found.raw(G_TARGET) > 0 || cx.marks.menaced;
        let doxxing = if targeted { found.weight(G_DOXXING) } else { 0.0 };
        let threat: f32 = found.active(G_THREAT).filter(|m| targeted || m.weight >= 1.0).map(|m| m.weight).sum();
        let violence = self.violence(cx, found);
        cx.theme_weight > 0.0
            || found.weight(G_VIOLENCE_REPORT) >= REPORTING_WEIGHT
            || violence > 0.0
            || found.weight(G_MOBILISATION) >= 1.0
            || (found.weight(G_MOBILISATION) >= 0.8 && (found.count(G_CALL) > 0 || cx.times.iter().any(|t| !t.past)))
            || threat + doxxing + grammar > 0.0
            || cx.marks.tractor
    }

    /// The weight of the calls to violence in `found`: unambiguous ones
    /// (weight 1: "in de fik", "slopen") always, the ambiguous ones ("storm",
    /// "in brand", "riot", "gewond") only when aimed at a target, with a
    /// weapon, a call or a theme.
    fn violence(&self, cx: &Context<'_>, found: &Found<'_>) -> f32 {
        let aimed = found.raw(G_TARGET) + found.raw(G_WEAPON) + found.count(G_CALL) > 0 || cx.theme_weight > 0.0;
        found.distinct(G_VIOLENCE).filter(|m| aimed || m.weight >= 1.0).map(|m| m.weight).sum()
    }

    /// The score, level and explanation of `found` read as one scope.
    fn evaluate(
        &self,
        cx: &Context<'_>,
        found: &Found<'_>,
        scope: &Scope,
        hits: &[grammar::Hit],
        explain: Explain,
    ) -> Candidate {
        let w = &self.weights;
        let mut explanation = Vec::new();
        // Themes are listed by the caller; here only their pull on the score.
        // Themes say what a message is about, not how far it goes: they make
        // it level 1 and never push it towards 2 or 3 (rule L11: a
        // theme word may name a group; it is no escalation cue).
        let mut z = self.bias;
        // A group adds its weight times the summed weight of its distinct
        // terms (so a 0.5 term counts half), capped.
        // The evidence is only written out for a signal that counts.
        macro_rules! add {
            ($name:expr, $evidence:expr, $weight:expr, $amount:expr, $cap:expr) => {{
                let amount: f32 = $amount;
                if amount > 0.0 {
                    let contribution = $weight * amount.min($cap);
                    z += contribution;
                    if explain == Explain::Yes {
                        explanation.push(Signal {
                            signal: $name.to_owned(),
                            evidence: $evidence,
                            weight: round3(contribution),
                        });
                    }
                }
            }};
        }

        let in_scope = |h: &&grammar::Hit| scope.clause.is_none_or(|c| c == h.clause);
        let intended = hits
            .iter()
            .filter(in_scope)
            .filter(|h| h.kind == HitKind::Threat)
            .max_by(|a, b| a.strength.total_cmp(&b.strength));
        let exposed = hits.iter().filter(in_scope).find(|h| h.kind == HitKind::Doxxing);
        // The writer's own intent to harm ("ik gooi de eerste steen") calls as a call word does.
        let intends = hits.iter().filter(in_scope).any(|h| h.kind == HitKind::Call);
        let grammar_weight = if intended.is_some() || exposed.is_some() { 1.0 } else { 0.0 };

        let calls = found.count(G_CALL);
        let reporting = self.reporting(cx, found, scope);
        let past_weight = reporting.past_weight;
        let scope_text = cx.text.get(scope.start..scope.end).unwrap_or_default();
        // The writer's own threat is no report, whatever past tense stands in
        // its relative clause ("ik ga die ambtenaar die hier kwam meten …"),
        // unless it is quoted.
        let report = reporting.report && ((intended.is_none() && exposed.is_none()) || has_quote(scope_text));
        let tractor = cx.marks.tractor;
        let irony = found.count(G_IRONY) + usize::from(cx.marks.irony_possible && has_irony_marks(scope_text));
        let emphasis = cx.marks.emphasis;

        // An official's address is doxxing only next to an official, a
        // threat phrase below full weight only next to a target, or said to
        // someone next to a menacing emoji: "mijn oma woont op de 3e" and
        // "afrekenen met pin" are not; "mooie auto, zou zonde zijn 🔥" is.
        let targeted = found.raw(G_TARGET) > 0 || cx.marks.menaced;
        let doxxing = if targeted { found.weight(G_DOXXING) } else { 0.0 };
        let threat: f32 = found.active(G_THREAT).filter(|m| targeted || m.weight >= 1.0).map(|m| m.weight).sum();
        let weapon = found.weight(G_WEAPON);
        let violence = self.violence(cx, found);
        let unrest = self.unrest(cx, found, grammar_weight);
        // A call to come somewhere is mobilisation only about unrest: a braderie is not.
        let gathering = if unrest { found.weight(G_GATHERING) } else { 0.0 };
        // In a report ("zaterdag werd ...") a bare weekday or date is the past
        // one; only an explicit future word keeps it ahead.
        // A message that opens with a day and a clock time announces it
        // ("Zondag om 3 uur stille tocht …"), whatever past tense follows.
        let opening = |t: &TimeMention| {
            t.has_clock_time && cx.tokens.iter().any(|token| token.sentence_start && token.start == t.start)
        };
        let narrated = report && past_weight >= REPORTING_WEIGHT;
        let ahead = |t: &&TimeMention| !t.past && (!narrated || says_future(&t.evidence) || opening(t));
        let future: Vec<&TimeMention> = cx.times.iter().filter(ahead).collect();
        let past = cx.times.iter().any(|t| t.past) || (narrated && future.len() < cx.times.len());

        add!("unrest_report", found.evidence(G_VIOLENCE_REPORT), w.unrest_report, found.weight(G_VIOLENCE_REPORT), 2.0);
        // Written only when explained: `add!` reads its evidence lazily.
        let action_evidence = || {
            let words = found.evidence(G_MOBILISATION);
            if !tractor {
                return words;
            }
            [words.as_str(), "🚜"].iter().filter(|e| !e.is_empty()).copied().collect::<Vec<_>>().join(", ")
        };
        let actions = found.weight(G_MOBILISATION) + if tractor { 1.0 } else { 0.0 };
        add!("mobilisation", action_evidence(), w.mobilisation, actions, 2.0);
        add!("gathering", found.evidence(G_GATHERING), w.gathering, gathering, 2.0);
        add!("call", found.evidence(G_CALL), w.call, found.weight(G_CALL), 2.0);
        add!(
            "future_time",
            future.iter().map(|t| t.evidence.as_str()).collect::<Vec<_>>().join(", "),
            w.future_time,
            if future.is_empty() { 0.0 } else { 1.0 },
            1.0
        );
        add!("emphasis", emphasis_evidence(cx.text), w.emphasis, emphasis as f32, 2.0);
        add!("call_to_violence", found.evidence(G_VIOLENCE), w.violence, violence, 2.0);
        let hostile = violence + threat + doxxing + weapon + grammar_weight > 0.0;
        add!("target", found.evidence(G_TARGET), w.target, if hostile { found.weight(G_TARGET) } else { 0.0 }, 1.0);
        add!("weapon", found.evidence(G_WEAPON), w.weapon, weapon, 2.0);
        add!("threat", found.evidence(G_THREAT), w.threat, threat, 1.0);
        add!("doxxing", found.evidence(G_DOXXING), w.doxxing, doxxing, 1.0);
        if let Some(hit) = intended {
            add!("intent_to_harm", hit.evidence.clone(), w.intent, 1.0, 1.0);
        }
        if let Some(hit) = exposed {
            add!("doxxing_grammar", hit.evidence.clone(), w.doxxing, 1.0, 1.0);
        }
        add!(
            "reporting",
            [found.evidence(G_REPORT), found.evidence(G_ATTRIBUTION)]
                .into_iter()
                .filter(|e| !e.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
            w.reporting,
            found.weight(G_REPORT) + found.weight(G_ATTRIBUTION),
            2.0
        );
        add!("negation", found.negated_evidence(), w.negated, found.negated as f32, 2.0);
        add!("question", found.questioned_evidence(), w.question, found.questioned.min(1) as f32, 1.0);
        add!("irony", found.evidence(G_IRONY), w.irony, irony.min(1) as f32, 1.0);
        add!("peaceful", found.evidence(G_PEACEFUL), w.peaceful, found.count(G_PEACEFUL).min(1) as f32, 1.0);
        let score = round3(1.0 / (1.0 + (-z).exp()));

        // Which levels the signals allow, each with its own condition.
        let direct = threat + doxxing > 0.0 || exposed.is_some();
        let armed = weapon > 0.0 && targeted;
        let calling = calls > 0 || !future.is_empty() || emphasis > 0 || gathering > 0.0 || intends;
        let called = ((violence > 0.0 || armed) && calling) || intended.is_some();
        let peaceful = found.count(G_PEACEFUL) > 0;
        // A direct threat stays one when laughed off; a call to violence does not.
        let escalates = !report && (direct || (called && irony == 0 && !peaceful));
        // A report of a call to come ("werd opgeroepen", "een oproep op
        // Telegram") is not mobilisation; a reported action with its time is.
        let mobilises =
            unrest && (actions > 0.0 || (gathering > 0.0 && !report)) && calling && !(past && future.is_empty());
        // The highest level whose signals hold and whose threshold the score meets.
        let level = if escalates && score >= self.levels.escalation {
            Level::Escalation
        } else if mobilises && score >= self.levels.mobilisation {
            Level::Mobilisation
        } else if unrest && score >= self.levels.discussion {
            Level::Discussion
        } else {
            Level::None
        };
        let event_time = if level >= Level::Mobilisation { event_time(&future) } else { None };
        if let Some((_, evidence)) = &event_time
            && explain == Explain::Yes
        {
            explanation.push(Signal { signal: "event_time".into(), evidence: evidence.clone(), weight: 0.0 });
        }
        let event_time = event_time.map(|(at, _)| at);
        let disorder = level > Level::None
            && (violence + weapon + threat + doxxing + grammar_weight > 0.0
                || found.weight(G_VIOLENCE_REPORT) >= REPORTING_WEIGHT);
        Candidate { assessed: Assessed { level, disorder, score, event_time, explanation }, scope: scope.clone() }
    }
}

/// Whether [`Escalation::evaluate`] writes out its explanation, or only
/// finds the level and the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Explain {
    Yes,
    No,
}

/// The part of a message an assessment reads: one clause, or all of it.
#[derive(Debug, Clone)]
struct Scope {
    clause: Option<usize>,
    /// Token range.
    first: usize,
    last: usize,
    /// Byte range in the text.
    start: usize,
    end: usize,
}

impl Scope {
    fn of_clause(cx: &Context<'_>, clauses: &[usize], clause: usize) -> Scope {
        let first = clauses.iter().position(|c| *c == clause).unwrap_or(0);
        let last = clauses.iter().rposition(|c| *c == clause).map_or(first, |l| l + 1);
        let start = cx.tokens.get(first).map_or(0, |t| t.start);
        // The clause runs to the next clause's first word, so its closing
        // punctuation ("?", "/s", 😂) belongs to it.
        let end = cx.tokens.get(last).map_or(cx.text.len(), |t| t.start);
        Scope { clause: Some(clause), first, last, start, end }
    }
}

/// The reading of one scope.
struct Candidate {
    assessed: Assessed,
    scope: Scope,
}

impl Candidate {
    /// Higher level first, then the higher score.
    fn outranks(&self, other: &Candidate) -> bool {
        (self.assessed.level, self.assessed.score) > (other.assessed.level, other.assessed.score)
    }

    /// A reported clause (its own words, quoted, or next to a report) calls for nothing.
    fn cap_as_report(&mut self) {
        if self.assessed.level > Level::Discussion {
            self.assessed.level = Level::Discussion;
            self.assessed.event_time = None;
            self.assessed.explanation.retain(|s| s.signal != "event_time");
        }
    }

    /// The words of the clause, as written, for the explanation.
    fn clause_text(&self, text: &str) -> String {
        let words = text.get(self.scope.start..self.scope.end).unwrap_or_default().trim();
        let cut = words.char_indices().nth(MAX_CLAUSE_CHARS).map_or(words.len(), |(at, _)| at);
        if cut < words.len() { format!("{}…", &words[..cut]) } else { words.to_owned() }
    }
}

/// Whether the scope follows a colon after somebody else's verb of saying.
fn said_before(cx: &Context<'_>, scope: &Scope) -> bool {
    let before = cx.text.get(..scope.start).unwrap_or_default().trim_end();
    before.strip_suffix(':').is_some_and(said_by_another)
}

/// Whether the scope opens with somebody else's verb of saying, within its
/// first words, and what follows it is what was said: "hij zei dat …",
/// "wie roept dat …", "de man die dreigde … te …". "Ik zeg dat …" and "we
/// dreigen …" are the writer's own.
fn said_within(cx: &Context<'_>, scope: &Scope) -> bool {
    let words = cx.tokens.get(scope.first..scope.last).unwrap_or_default();
    words.iter().take(SPEECH_OPENING).enumerate().any(|(k, t)| {
        let threatened = t.norm.starts_with("dreig") || t.norm == "gedreigd";
        grammar::says_another(words, k)
            && (grammar::that_follows(words, k) || (threatened && words.iter().skip(k + 1).any(|w| w.norm == "te")))
    })
}

/// How far into a clause the verb of saying that opens it may stand ("de man die dreigde").
const SPEECH_OPENING: usize = 4;

/// Whether `text` (what stands before a colon) ends with a verb of saying
/// whose subject is not the writer, within its last three words: "de man
/// dreigde:", "schreef iemand:", "meldt de politie:" introduce somebody
/// else's words; "ik zeg:" and "schreef ik:" the writer's own, and so is a
/// verb of saying with nobody to say it ("ff zeggen:", "even zeggen:").
fn said_by_another(text: &str) -> bool {
    let last: Vec<&str> = text.rsplit(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).take(4).collect();
    let is = |word: &str, list: &[&str]| list.iter().any(|w| word.eq_ignore_ascii_case(w));
    let writer = last.iter().any(|w| is(w, &grammar::WRITER));
    let Some(verb) = last.iter().take(3).position(|w| is(w, &grammar::SPEECH)) else { return false };
    // Somebody who says it: a word before the verb that is no adverb of
    // the writer's aside, or one after it ("schreef iemand:").
    let speaker = last.iter().enumerate().any(|(k, w)| k != verb && !is(w, &ASIDE_ADVERBS) && !is(w, &grammar::SPEECH));
    speaker && !writer
}

/// Adverbs of a writer's aside before a verb of saying ("ff zeggen:", "even melden:").
const ASIDE_ADVERBS: [&str; 9] = ["ff", "eff", "effe", "even", "gewoon", "alleen", "maar", "nog", "wel"];

/// Nouns of time after `elke`/`iedere`: how often, not whom.
const TIME_UNITS: [&str; 14] = [
    "dag", "week", "maand", "jaar", "keer", "avond", "nacht", "ochtend", "middag", "weekend", "uur", "minuut",
    "zaterdag", "zondag",
];

/// How a scope reads as a report.
struct Reporting {
    report: bool,
    past_weight: f32,
}

/// Whether every escalating word (violence, harm, a threat, doxxing, a
/// weapon) of `clause`, or of the whole message, stands in a quotation of a
/// message with words of its own: someone else's words, reported or
/// rejected (see `quotes`). False when there is none.
/// A grammar finding with no such word in its clause ("… : 'jullie gaan
/// allemaal branden'") counts as quoted when its whole clause is.
fn only_quoted(
    occurrences: &[Occurrence<'_>],
    hits: &[grammar::Hit],
    quotations: &Quotations,
    clause_span: &dyn Fn(usize) -> Option<(usize, usize)>,
    clause: Option<usize>,
) -> bool {
    let escalating_word = |o: &Occurrence<'_>| matches!(o.group, G_VIOLENCE | G_HARM | G_THREAT | G_DOXXING | G_WEAPON);
    let mut escalating =
        occurrences.iter().filter(|o| clause.is_none_or(|c| c == o.clause) && escalating_word(o)).peekable();
    let mut found_only = hits
        .iter()
        .filter(|h| clause.is_none_or(|c| c == h.clause))
        .filter(|h| !occurrences.iter().any(|o| o.clause == h.clause && escalating_word(o)))
        .peekable();
    if escalating.peek().is_none() && found_only.peek().is_none() {
        return false;
    }
    escalating.all(|o| quotations.quotes(o.m.start, o.m.end))
        && found_only.all(|h| clause_span(h.clause).is_some_and(|(start, end)| quotations.quotes(start, end)))
}

/// How much of a deciding clause the explanation quotes.
const MAX_CLAUSE_CHARS: usize = 160;

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
const G_ATTRIBUTION: usize = 10;
const G_NEGATION: usize = 11;
const G_PEACEFUL: usize = 12;
const G_IRONY: usize = 13;
const G_HARM: usize = 14;
const G_INTENT: usize = 15;
const G_FRAME: usize = 16;

/// Groups whose words reach across clauses: what a message calls for, with
/// what and against whom, and whether it says it is peaceful. The other
/// groups (violence, threats, reporting, negation, irony, …) stay in their
/// clause.
const SHARED: [usize; 6] = [G_TARGET, G_WEAPON, G_MOBILISATION, G_GATHERING, G_CALL, G_PEACEFUL];

/// What the rules read in a message: the assessment (of the message as a
/// whole or of the clause that decides), and what the learned layer's
/// features are read from besides.
struct RuleOutcome<'m> {
    assessed: Assessed,
    /// The signal words found.
    occurrences: Vec<Occurrence<'m>>,
    /// The grammar's findings.
    hits: Vec<grammar::Hit>,
    /// A clause asks a question.
    questioned: bool,
    /// A frame (an idiom, a game, building work, …) holds back a clause:
    /// its harm words harm nobody.
    held: bool,
    /// Every escalating word of the message stands in a quotation, or every
    /// escalating clause follows somebody else's "… dreigde:": the writer
    /// mentions a threat, and the learned layer makes none of it.
    mentioned: bool,
}

impl RuleOutcome<'_> {
    /// The outcome as the features read it.
    fn reading(&self) -> features::RuleReading<'_, '_> {
        features::RuleReading {
            rule: &self.assessed,
            occurrences: &self.occurrences,
            hits: &self.hits,
            question: self.questioned,
            held: self.held,
        }
    }
}

/// One signal word of a message, with where it stands and what holds it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Occurrence<'m> {
    pub m: &'m TermMatch,
    /// Index into [`GROUPS`].
    pub group: usize,
    pub clause: usize,
    /// A negation stands right before it in its clause.
    pub negated: bool,
    /// Its clause is a question (and it is not negated).
    pub questioned: bool,
}

/// The signal words of one scope, sorted into groups, with negated and
/// questioned occurrences set apart.
struct Found<'m> {
    /// Active occurrences with their group, in text order (one list: a
    /// message has a handful, and this is built several times per message).
    active: Vec<(usize, &'m TermMatch)>,
    /// All occurrences per group, active or not.
    raw: [usize; GROUPS.len()],
    /// Distinct active terms per group, and their summed weight: read many
    /// times per scope, so counted once here.
    distinct_counts: [usize; GROUPS.len()],
    distinct_weights: [f32; GROUPS.len()],
    negated: usize,
    negated_evidence: Vec<&'m str>,
    questioned: usize,
    questioned_evidence: Vec<&'m str>,
}

impl<'m> Found<'m> {
    /// The occurrences `keep` accepts. Negated and questioned calls (`kom
    /// niet`) are dropped silently; other negated or questioned words are
    /// listed as such.
    fn collect(occurrences: &[Occurrence<'m>], keep: impl Fn(&Occurrence<'m>) -> bool) -> Self {
        // What summing no weights gives, so a group without terms weighs exactly what `Iterator::sum` says.
        let nothing: f32 = std::iter::empty::<f32>().sum();
        let mut found = Found {
            active: Vec::with_capacity(occurrences.len()),
            raw: [0; GROUPS.len()],
            distinct_counts: [0; GROUPS.len()],
            distinct_weights: [nothing; GROUPS.len()],
            negated: 0,
            negated_evidence: Vec::new(),
            questioned: 0,
            questioned_evidence: Vec::new(),
        };
        for o in occurrences.iter().filter(|o| keep(o)) {
            let g = o.group;
            found.raw[g] += 1;
            let silent = matches!(g, G_CALL | G_HARM | G_INTENT);
            if o.negated {
                if !silent {
                    found.negated += 1;
                    found.negated_evidence.push(&o.m.evidence);
                }
                continue;
            }
            if o.questioned && !silent {
                found.questioned += 1;
                found.questioned_evidence.push(&o.m.evidence);
                continue;
            }
            if !found.active.iter().any(|(h, m)| *h == g && m.term == o.m.term) {
                found.distinct_counts[g] += 1;
                found.distinct_weights[g] += o.m.weight;
            }
            found.active.push((g, o.m));
        }
        found
    }

    /// The first occurrence of each distinct term of a group (the lists are
    /// a handful long: no allocation, no hashing).
    fn distinct(&self, group: usize) -> impl Iterator<Item = &TermMatch> {
        let list = &self.active;
        list.iter()
            .enumerate()
            .filter(move |(i, (g, m))| *g == group && !list[..*i].iter().any(|(h, e)| *h == group && e.term == m.term))
            .map(|(_, (_, m))| *m)
    }

    /// The active occurrences of a group.
    fn active(&self, group: usize) -> impl Iterator<Item = &TermMatch> {
        self.active.iter().filter(move |(g, _)| *g == group).map(|(_, m)| *m)
    }

    /// Distinct terms of a group: saying "rellen" four times is one signal.
    fn count(&self, group: usize) -> usize {
        self.distinct_counts.get(group).copied().unwrap_or(0)
    }

    /// Summed weight of the distinct terms of a group.
    fn weight(&self, group: usize) -> f32 {
        self.distinct_weights.get(group).copied().unwrap_or(0.0)
    }

    fn raw(&self, group: usize) -> usize {
        self.raw[group]
    }

    /// The words of a group as written, each once (case aside), joined.
    fn evidence(&self, group: usize) -> String {
        let mut out = String::new();
        for (i, m) in self.active(group).enumerate() {
            if self.active(group).take(i).any(|e| e.evidence.eq_ignore_ascii_case(&m.evidence)) {
                continue;
            }
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(&m.evidence);
        }
        out
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

/// The clauses that are suggestions dressed as questions: they open with
/// `waarom`, the writer or the readers act in them (`we`, `wij`, `je`,
/// `jullie` among their first four words) and they hold `niet` ("waarom
/// knallen we ze niet gewoon af?", "waarom schiet je ze niet dood?").
/// Read once per message; most have none.
fn suggestions(tokens: &[Token], clauses: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    for (first, t) in tokens.iter().enumerate() {
        let Some(&clause) = clauses.get(first) else { continue };
        let opens = first == 0 || clauses.get(first - 1) != Some(&clause);
        if !opens || t.norm != "waarom" {
            continue;
        }
        let rest = || tokens.iter().enumerate().skip(first + 1).take_while(|(i, _)| clauses.get(*i) == Some(&clause));
        if rest().take(3).any(|(_, w)| matches!(w.norm.as_ref(), "we" | "wij" | "je" | "jullie"))
            && rest().any(|(_, w)| w.norm == "niet")
        {
            out.push(clause);
        }
    }
    out
}

/// Sentences that end in a question mark./// Sentences that end in a question mark.
fn question_sentences(text: &str, tokens: &[Token], sentences: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let last_of_sentence = tokens.get(i + 1).is_none_or(|next| next.sentence_start);
        if !last_of_sentence {
            continue;
        }
        let end = tokens.get(i + 1).map_or(text.len(), |next| next.start);
        let asks = |tail: &str| {
            tail.split_whitespace()
                .filter(|chunk| !crate::normalize::is_url_or_mention(chunk))
                .any(|chunk| chunk.contains('?'))
        };
        if text.get(token.end..end).is_some_and(asks)
            && let Some(&sentence) = sentences.get(i)
        {
            // "Wie doet mee?" recruits; it does not doubt, also after a comma
            // ("Samstag geht's los, wer ist dabei?").
            let first = sentences.iter().position(|&s| s == sentence).unwrap_or(i);
            let recruits = (first..=i).any(|at| {
                let asks_who = tokens.get(at).is_some_and(|t| matches!(t.norm.as_ref(), "wie" | "who" | "wer"));
                let opens = at == first
                    || at
                        .checked_sub(1)
                        .and_then(|b| tokens.get(b))
                        .zip(tokens.get(at))
                        .is_some_and(|(p, t)| comma_between(text, p, t));
                asks_who && opens
            });
            if !recruits {
                out.push(sentence);
            }
        }
    }
    out
}

/// When the announced action starts: the first day ahead that has its own
/// clock time; else the first day ahead, at the time of a clock-only
/// mention when there is one ("zaterdag … Start 7.00 uur"); else a clock
/// time alone (today or tomorrow). With the evidence it rests on.
fn event_time(future: &[&TimeMention]) -> Option<(DateTime<FixedOffset>, String)> {
    if let Some(full) = future.iter().find(|t| t.has_day && t.has_clock_time) {
        return Some((full.at, full.evidence.clone()));
    }
    let clock = future.iter().find(|t| !t.has_day && t.has_clock_time);
    if let Some(day) = future.iter().find(|t| t.has_day) {
        let Some(clock) = clock else { return Some((day.at, day.evidence.clone())) };
        let at = day.at.date_naive().and_time(clock.at.time());
        let local = chrono::TimeZone::from_local_datetime(&chrono_tz::Europe::Amsterdam, &at).earliest();
        let evidence = format!("{} … {}", day.evidence, clock.evidence);
        return Some((local.map_or(day.at, |l| l.fixed_offset()), evidence));
    }
    clock.map(|c| (c.at, c.evidence.clone()))
}

/// 🚜: the farmers' protest in one character, a mobilisation signal of its own.
fn has_tractor(text: &str) -> bool {
    text.contains('🚜')
}

/// Words that start a new clause, past which a negation does not reach
/// ("varen niet uit en blokkeren de sluis").
fn is_conjunction(word: &str) -> bool {
    matches!(word, "en" | "maar" | "of" | "want" | "dus" | "and" | "but" | "or" | "und" | "aber" | "et" | "mais")
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

/// Someone is addressed (`je`, `jullie`, `you`) next to a menacing emoji (🔥, 🔪, 🔫, 💣, 😈, …).
fn menaced(text: &str, tokens: &[Token<'_>]) -> bool {
    const MENACE: [char; 13] = ['🔥', '🔪', '🔫', '💣', '🧨', '😈', '🪓', '💀', '☠', '⚰', '🩸', '👊', '🪢'];
    !text.is_ascii()
        && text.contains(MENACE)
        && tokens
            .iter()
            .any(|t| matches!(t.norm.as_ref(), "je" | "jij" | "jou" | "jouw" | "jullie" | "u" | "uw" | "you" | "your"))
}

/// Whether a comma stands between two tokens of `text` ("…, sla ze dood"),
/// where a new statement or a list item starts.
pub(crate) fn comma_between(text: &str, before: &Token<'_>, after: &Token<'_>) -> bool {
    text.get(before.end..after.start).is_some_and(|between| between.contains(','))
}

/// `/s` at the end of a line, or after a space and before a space or a
/// punctuation mark ("… opgelost /s. Of we …"; not "km/s"), and laughing emoji.
pub(crate) fn has_irony_marks(text: &str) -> bool {
    // Read on every clause that may have them: a byte test for the slash
    // rules out most texts before any search, and `laughs` its own.
    let bytes = text.as_bytes();
    let sarcasm_tag = |at: usize| {
        let after = text.get(at + 2..).unwrap_or_default();
        let line_end = after.split('\n').next().is_none_or(|rest| rest.trim().is_empty());
        let spaced = at.checked_sub(1).and_then(|b| bytes.get(b)).is_none_or(u8::is_ascii_whitespace)
            && after.bytes().next().is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_punctuation());
        line_end || spaced
    };
    (bytes.contains(&b'/') && text.match_indices("/s").any(|(at, _)| sarcasm_tag(at))) || laughs(text)
}

/// Whether any part of `text` can have irony marks: the sarcasm tag and the
/// laughing emoji that [`has_irony_marks`] looks for are in it at all.
fn irony_possible(text: &str) -> bool {
    text.contains("/s") || laughs(text)
}

/// Whether `text` holds an emoji that laughs a message off. The three start
/// with byte 0xF0, which rules out most texts; then one substring search
/// each (a search for a set of characters decodes every character).
fn laughs(text: &str) -> bool {
    text.as_bytes().contains(&0xF0) && ["😂", "🤣", "🙃"].iter().any(|emoji| text.contains(emoji))
}

/// Emphasis that marks a call: runs of `!`, fire and bomb emoji.
const EMPHASIS: [&str; 6] = ["!!", "🔥", "💣", "🧨", "💥", "‼"];

/// How many kinds of emphasis a text has (no allocation: read on every clause).
fn emphasis_count(text: &str) -> usize {
    if !text.contains('!') && text.is_ascii() {
        return 0;
    }
    EMPHASIS.iter().filter(|mark| text.contains(*mark)).count()
}

/// The emphasis marks of a text, for the explanation.
fn emphasis_evidence(text: &str) -> String {
    EMPHASIS.iter().filter(|mark| text.contains(*mark)).copied().collect::<Vec<_>>().join(" ")
}
