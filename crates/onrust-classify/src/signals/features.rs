//! The transparent features the learned layer reads: what the rules found
//! (each signal's contribution, every signal group's count,
//! the threat grammar's findings, question, irony and frame context) and
//! the lemmas of the message's words.
//!
//! Every feature has a name a person can read (`rule:threat`,
//! `group:harm`, `grammar:threat`, `word:kapot`), and its value is a small
//! number, so a weight times a value is the contribution the explanation
//! lists. Words that name a group never become features: the trainer
//! leaves them out and loading refuses a positive weight on one (rule L11).

use super::grammar::{Hit, HitKind};
use super::{Assessed, Context, GROUPS, Occurrence};

/// The rules' signals whose contributions are features (the names the explanation uses).
pub(crate) const RULE_SIGNALS: [&str; 18] = [
    "unrest_report",
    "mobilisation",
    "gathering",
    "call",
    "future_time",
    "emphasis",
    "call_to_violence",
    "target",
    "weapon",
    "threat",
    "doxxing",
    "intent_to_harm",
    "doxxing_grammar",
    "reporting",
    "negation",
    "question",
    "irony",
    "peaceful",
];

/// Function words are never word features: they say how a sentence is
/// built, which the rules and the threat grammar read, not what it is
/// about, and a model trained on a few hundred threats learns "die" (as in
/// "die wethouder") as a threat word. Articles, demonstratives,
/// conjunctions, prepositions and the copula.
fn is_function_word(word: &str) -> bool {
    // A match, not a list to walk: it is asked for every word of every message.
    matches!(
        word,
        "de" | "het"
            | "een"
            | "t"
            | "die"
            | "dat"
            | "deze"
            | "dit"
            | "en"
            | "of"
            | "maar"
            | "want"
            | "dus"
            | "als"
            | "in"
            | "op"
            | "aan"
            | "van"
            | "voor"
            | "met"
            | "bij"
            | "naar"
            | "uit"
            | "over"
            | "door"
            | "om"
            | "tot"
            | "te"
            | "er"
            | "is"
            | "zijn"
            | "was"
            | "the"
            | "a"
            | "an"
            | "and"
    )
}

/// How many occurrences of a group count at most (repetition is no extra evidence).
const GROUP_CAP: f32 = 2.0;

/// The features of one message. Names borrow from static tables or from
/// the message's own words, so reading them allocates one list.
#[derive(Debug, Default)]
pub(crate) struct Features<'a> {
    /// Fixed-name features: `(prefix, name, value)`.
    pub named: Vec<(&'static str, &'static str, f32)>,
    /// Lemmas of the message's words, each once, sorted.
    pub words: Vec<&'a str>,
}

impl Features<'_> {
    /// Every feature as `(name, value)`, in a fixed order (for training and the explanation).
    pub fn owned(&self) -> Vec<(String, f32)> {
        let mut out: Vec<(String, f32)> =
            self.named.iter().map(|(prefix, name, value)| (format!("{prefix}:{name}"), *value)).collect();
        out.extend(self.words.iter().map(|w| (format!("word:{w}"), 1.0)));
        out
    }
}

/// What the rules saw in a message, for the features.
pub(crate) struct RuleReading<'r, 'm> {
    pub rule: &'r Assessed,
    pub occurrences: &'r [Occurrence<'m>],
    pub hits: &'r [Hit],
    pub question: bool,
    pub held: bool,
}

/// Reads the features of a message.
pub(crate) fn extract<'a>(cx: &Context<'a>, reading: &RuleReading<'_, '_>) -> Features<'a> {
    // The rules' level is no feature: a theme alone makes a message level 1
    // (it is about something), and a level that a theme word set must not
    // pull the layer further up (rule L11).
    let mut named = Vec::with_capacity(32);
    for signal in &reading.rule.explanation {
        if let Some(name) = RULE_SIGNALS.iter().find(|n| **n == signal.signal) {
            named.push(("rule", *name, signal.weight));
        }
    }
    let mut counts = [0.0f32; GROUPS.len()];
    for o in reading.occurrences.iter().filter(|o| !o.negated && !o.questioned) {
        if let Some(slot) = counts.get_mut(o.group) {
            *slot = (*slot + 1.0).min(GROUP_CAP);
        }
    }
    for (name, count) in GROUPS.iter().zip(counts) {
        if count > 0.0 {
            named.push(("group", *name, count));
        }
    }
    for (kind, name) in [(HitKind::Threat, "threat"), (HitKind::Call, "call"), (HitKind::Doxxing, "doxxing")] {
        let strength = reading.hits.iter().filter(|h| h.kind == kind).map(|h| h.strength).fold(0.0f32, f32::max);
        if strength > 0.0 {
            named.push(("grammar", name, strength.min(1.0)));
        }
    }
    if reading.question {
        named.push(("context", "question", 1.0));
    }
    if reading.held {
        named.push(("context", "frame", 1.0));
    }
    if cx.marks.irony_possible && super::has_irony_marks(cx.text) {
        named.push(("context", "irony_marks", 1.0));
    }
    if cx.marks.menaced {
        named.push(("context", "menacing_emoji", 1.0));
    }
    // Sorted by their first eight bytes as a number, then as strings: the
    // same order as sorting the strings, without a byte comparison for
    // most pairs (sorting the words was a tenth of reading the features).
    let mut keyed: Vec<(u64, &'a str)> = Vec::with_capacity(cx.tokens.len());
    for token in cx.tokens {
        let norm = token.norm.as_ref();
        // Most words are ASCII: their bytes answer without decoding characters.
        let word_like = if norm.is_ascii() {
            norm.len() >= 2 && norm.bytes().all(|b| b.is_ascii_alphabetic())
        } else {
            norm.chars().nth(1).is_some() && norm.chars().all(char::is_alphabetic)
        };
        if !word_like || is_function_word(norm) {
            continue;
        }
        let lemma = cx.morphology.analyses(norm).first().map_or(norm, |a| cx.morphology.lemma(a.lemma));
        keyed.push((leading_bytes(lemma), lemma));
    }
    keyed.sort_unstable();
    keyed.dedup_by(|a, b| a.1 == b.1);
    Features { named, words: keyed.into_iter().map(|(_, word)| word).collect() }
}

/// The first eight bytes of a word as a big-endian number, zero-padded:
/// ordering by it orders as the bytes do, as far as it reaches (a word
/// holds no zero byte, so a shorter word sorts first as it should).
fn leading_bytes(word: &str) -> u64 {
    let mut head = [0u8; 8];
    let n = word.len().min(8);
    head[..n].copy_from_slice(&word.as_bytes()[..n]);
    u64::from_be_bytes(head)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::leading_bytes;

    proptest! {
        #[test]
        fn ordering_by_the_leading_bytes_first_orders_as_the_words_do(a in "[a-zëé]{0,12}", b in "[a-zëé]{0,12}") {
            let keyed = (leading_bytes(&a), a.as_str()).cmp(&(leading_bytes(&b), b.as_str()));
            prop_assert_eq!(keyed, a.cmp(&b));
        }
    }

    #[test]
    fn a_shorter_word_sorts_before_the_longer_one_it_starts() {
        assert!(leading_bytes("ab") < leading_bytes("abc"));
        assert!(leading_bytes("brand") < leading_bytes("brandstichting"));
        assert_eq!(leading_bytes("brandsti"), leading_bytes("brandstichting"));
    }
}
