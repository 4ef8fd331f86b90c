//! Harm approved of: "het is prima om X te vermoorden", "het zou mooi zijn
//! als ze allemaal werden afgemaakt", "ik vind het terecht dat …". The
//! writer's approval of harm to come is an intent for the harm predicate of
//! its clause, as a wish is ("ik hoop dat …"). The approval is read by its
//! words; who is harmed is read by the target rules of the grammar, never
//! by a group word (rule L11).
//!
//! Harm named as the solution or a duty is approved of too ("X vermoorden
//! is de enige oplossing", "X afmaken is een burgerplicht"), and so is harm
//! named as a noun and judged after it ("het doden van X zou legaal moeten
//! zijn", "het afmaken van X is geen misdaad maar een plicht") or begun
//! ("wanneer beginnen we met het afschieten van X?"); who is harmed then
//! stands after its `van`.
//!
//! Left alone: a negated approval ("het is nooit oké om …", "niet goed
//! dat …"), a question ("is het normaal dat …?"), harm told in the past ("het is goed dat de politie hem
//! neerschoot": news judged, no harm to come), and an approval with no
//! `om`, `als` or `dat` before the harm ("goed gedaan, die aanslag is …").
//! Harm judged wrong ("het is fout om …", "niet oké om …") is a condemnation
//! of the `frame` lexicon, which holds the whole clause.

use super::{Reading, words};
use crate::morphology::Tag;
use crate::normalize::Token;

/// Words that approve of what the clause after them says.
const APPROVALS: [&str; 22] = [
    "prima",
    "goed",
    "oké",
    "oke",
    "ok",
    "okay",
    "terecht",
    "gerechtvaardigd",
    "toegestaan",
    "geoorloofd",
    "normaal",
    "mooi",
    "fijn",
    "prachtig",
    "heerlijk",
    "geweldig",
    "fantastisch",
    "beter",
    "nodig",
    "noodzakelijk",
    "waard",
    // "het wordt tijd om …".
    "tijd",
];

/// Nouns that approve after `geen` ("geen probleem om …", "geen misdaad als …").
/// ("Geen schande" is no approval here: `schande` holds its clause as a condemnation.)
const NOT_WRONG: [&str; 3] = ["probleem", "misdaad", "zonde"];

/// Words that join the approval to the harm it approves of.
const JOINS: [&str; 5] = ["om", "als", "dat", "wanneer", "indien"];

/// Verbs that, opening the clause, make it a question ("is het oké om …?").
const ASKING_VERBS: [&str; 8] = ["is", "was", "zou", "vind", "vindt", "vinden", "ben", "zijn"];

/// How far the join may stand after the approval ("prima om", "mooi zijn als",
/// "goed vinden dat").
const JOIN_REACH: usize = 3;

/// Words before a solution or a judgement that deny it ("geen oplossing", "nooit de oplossing").
const DENIALS: [&str; 4] = ["geen", "niet", "nooit", "never"];

/// Words that make the approval its opposite when they stand right before it.
const NEGATIONS: [&str; 4] = ["niet", "nooit", "never", "allerminst"];

/// The token of the approval that makes the harm predicate from `first` to
/// `last` the writer's intent, if any.
pub(super) fn approval(r: &Reading<'_>, clause: usize, first: usize, last: usize) -> Option<usize> {
    let clause_words: Vec<(usize, &Token)> = words(r, clause).take_while(|(i, _)| *i < first).collect();
    let norm = |k: usize| clause_words.get(k).map(|(_, t)| t.norm.as_ref());
    // A clause that opens with its verb asks ("is het normaal dat de
    // politie …?", "vind jij het oké om …?"): a question, no approval.
    if norm(0).is_some_and(|w| ASKING_VERBS.contains(&w)) {
        return None;
    }
    let (at, join) = clause_words.iter().enumerate().find_map(|(k, (i, t))| {
        let approves = APPROVALS.contains(&t.norm.as_ref())
            || (NOT_WRONG.contains(&t.norm.as_ref()) && k.checked_sub(1).and_then(norm) == Some("geen"))
            || (t.norm == "mis" && k.checked_sub(1).and_then(norm).is_some_and(|b| matches!(b, "niks" | "niets")));
        let negated = (1..=2).filter_map(|back| k.checked_sub(back)).filter_map(norm).any(|b| NEGATIONS.contains(&b));
        if !approves || negated {
            return None;
        }
        let join = (k + 1..=k + JOIN_REACH).find(|&j| norm(j).is_some_and(|w| JOINS.contains(&w)))?;
        Some((*i, clause_words[join].0))
    })?;
    // "om … te vermoorden": the infinitive's `te` stands between the join and
    // the verb's last word, or right after a participle ("om vermoord te worden").
    let joined_by_om = r.tokens.get(join).is_some_and(|t| t.norm == "om");
    let te = (join..=last + 1).filter_map(|i| r.tokens.get(i)).any(|t| t.norm == "te");
    if joined_by_om && !te {
        return None;
    }
    harm_to_come(r, clause, first, last).then_some(at)
}

/// Whether the predicate speaks of harm to come: an infinitive or a present
/// form, or a participle in a passive or an unreal past ("als ze werden
/// afgemaakt", "zou … worden"); not a past form ("neerschoot", "heeft
/// doodgeschoten").
fn harm_to_come(r: &Reading<'_>, clause: usize, first: usize, last: usize) -> bool {
    let unreal_or_passive = words(r, clause)
        .any(|(_, t)| matches!(t.norm.as_ref(), "zou" | "zouden" | "worden" | "wordt" | "werden" | "word"));
    // The words of the predicate that are verb forms decide; a phrase with
    // none ("in de fik") has no tense to tell.
    let mut verb_forms =
        [first, last].into_iter().filter_map(|i| r.tokens.get(i)).map(|t| r.morphology.analyses(&t.norm));
    let mut seen_verb = false;
    let to_come = verb_forms.any(|analyses| {
        seen_verb |= analyses.iter().any(|a| a.tag != Tag::Noun);
        analyses.iter().any(|a| matches!(a.tag, Tag::Infinitive | Tag::Present | Tag::Stem))
            || (unreal_or_passive && analyses.iter().any(|a| a.tag == Tag::Participle))
    });
    to_come || !seen_verb
}

/// The token of `oplossing` or `plicht` when the clause names the harm
/// predicate at `first`, an infinitive, as the solution or a duty ("X
/// vermoorden is de enige oplossing", "X afmaken is een burgerplicht"); not
/// when the words before it deny it ("geweld is geen oplossing",
/// "vermoorden is nooit de oplossing").
pub(super) fn solution(r: &Reading<'_>, clause: usize, first: usize) -> Option<usize> {
    let infinitive =
        r.tokens.get(first).is_some_and(|t| r.morphology.analyses(&t.norm).iter().any(|a| a.tag == Tag::Infinitive));
    if !infinitive {
        return None;
    }
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let at = clause_words.iter().position(|(_, t)| SOLUTIONS.contains(&t.norm.as_ref()))?;
    let denied = clause_words[at.saturating_sub(3)..at].iter().any(|(_, t)| DENIALS.contains(&t.norm.as_ref()));
    (!denied).then_some(clause_words[at].0)
}

/// Nouns that name what must be done.
const SOLUTIONS: [&str; 4] = ["oplossing", "oplossingen", "plicht", "burgerplicht"];

/// Whether the predicate from `first` to `last` is named as a noun: "het
/// afmaken van …".
pub(super) fn nominalized(r: &Reading<'_>, first: usize, last: usize) -> bool {
    first.checked_sub(1).and_then(|b| r.tokens.get(b)).is_some_and(|t| t.norm == "het")
        && r.tokens.get(last + 1).is_some_and(|t| t.norm == "van")
}

/// The token that approves of or begins a harm that [`nominalized`] names
/// as a noun (the caller asks that first): an approval, a solution or a duty after it, not
/// denied right before ("is geen oplossing"; "geen misdaad" approves), or
/// `beginnen met` right before its `het`.
pub(super) fn approved_named(r: &Reading<'_>, clause: usize, first: usize, last: usize) -> Option<usize> {
    let begun = first.checked_sub(2).and_then(|m| r.tokens.get(m)).is_some_and(|t| t.norm == "met")
        && words(r, clause).any(|(i, t)| i < first && t.norm.starts_with("begin"));
    if begun {
        return first.checked_sub(2);
    }
    let after: Vec<(usize, &Token)> = words(r, clause).filter(|(i, _)| *i > last).collect();
    after.iter().enumerate().find_map(|(k, (i, t))| {
        let before = |back: usize| k.checked_sub(back).and_then(|b| after.get(b)).map(|(_, w)| w.norm.as_ref());
        let approves = APPROVALS.contains(&t.norm.as_ref())
            || SOLUTIONS.contains(&t.norm.as_ref())
            || t.norm == "legaal"
            || (NOT_WRONG.contains(&t.norm.as_ref()) && before(1) == Some("geen"));
        let denied = (1..=2).filter_map(before).any(|b| DENIALS.contains(&b));
        (approves && (!denied || NOT_WRONG.contains(&t.norm.as_ref()))).then_some(*i)
    })
}
