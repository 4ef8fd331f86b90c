//! Threats told as what will happen to somebody, without saying who will do
//! it: the passive of a verb of killing ("die wethouder wordt binnenkort
//! afgemaakt", "ze worden allemaal opgeknoopt", "jullie zullen opgehangen
//! worden"), and the slogan `dood aan …` / `death to …`.
//!
//! Both need people as their object, read by form as everywhere in the
//! grammar and never looked up as a group (rule L11): a target word, a
//! pronoun that points at people, or a pointed-at noun that names people.
//! Only verbs of killing are read: "de watertoren wordt morgen opgeblazen"
//! says what will happen to a thing, and a report of a killing uses the past
//! ("werd doodgeschoten") or a headline without `wordt`. A frame (a film, a
//! game), a negation, a question mark and somebody else's words hold these
//! readings as they hold the others.

use super::people::{apostrophe_plural, looks_plural, names_people};
use super::{DETERMINERS, G_TARGET, Hit, HitKind, OBJECT_PRONOUNS, Reading, reported_before, words, written};
use crate::morphology::Tag;
use crate::normalize::Token;

/// Verbs of killing: their participle with `wordt`/`worden` foretells a
/// death. Only people are so killed, so a pointed-at plural is enough
/// ("alle X worden vergast").
pub(super) const KILLING: [&str; 15] = [
    "vermoorden",
    "opknopen",
    "neerschieten",
    "doodschieten",
    "neersteken",
    "doodsteken",
    "doodslaan",
    "vergassen",
    "executeren",
    "afslachten",
    "lynchen",
    "onthoofden",
    "martelen",
    "doodmartelen",
    "stenigen",
];

/// Verbs of killing that also take things ("de schilderijen worden
/// opgehangen", "het werk wordt afgemaakt", "vuurwerk wordt afgeschoten"):
/// their subject must name people by its form.
pub(super) const KILLING_OR_DOING: [&str; 3] = ["ophangen", "afmaken", "afschieten"];

/// The passive auxiliary (the future takes it too: "zullen opgehangen worden").
const PASSIVE: [&str; 3] = ["wordt", "worden", "word"];

/// Pronouns that, as the subject of such a passive, point at people.
const PERSON_SUBJECTS: [&str; 8] = ["ze", "zij", "jullie", "jij", "je", "hij", "u", "hullie"];

/// Auxiliaries of the future that carry the passive's subject ("jullie zullen … worden").
const FUTURE: [&str; 6] = ["zal", "zullen", "zult", "gaat", "gaan", "ga"];

/// How far the participle may stand from its auxiliary ("worden een voor een opgeknoopt").
const PASSIVE_REACH: usize = 5;

/// Words by which the writer makes the passive his own wish ("als het aan
/// mij ligt worden alle X …", "wat mij betreft worden ze …"): then any
/// pointed-at noun is the object.
const WRITER_WISH: [[&str; 3]; 3] = [["aan", "mij", "ligt"], ["wat", "mij", "betreft"], ["aan", "mij", "lag"]];

/// The past passive, which reports ("werd doodgeschoten") unless the writer
/// wishes it in the conditional ("het zou goed zijn als ze werden …", "als
/// het aan mij lag, werden ze …").
const PAST_PASSIVE: [&str; 2] = ["werden", "werd"];

/// Words by which "het zou … zijn als" is a wish: good, fine, better.
const WELCOME: [&str; 9] = ["goed", "mooi", "beter", "fijn", "prachtig", "geweldig", "heerlijk", "good", "great"];

/// A killing foretold in the passive, with people as its subject.
pub(super) fn passive_in(r: &Reading<'_>, clause: usize) -> Option<Hit> {
    // Most clauses have no passive: look before collecting the clause.
    if r.held.get(clause).copied().unwrap_or(false) {
        return None;
    }
    // One pass: the present passive, else the past one (which needs a wish).
    let (mut present, mut past) = (false, false);
    for (_, t) in words(r, clause) {
        present |= PASSIVE.contains(&t.norm.as_ref());
        past |= PAST_PASSIVE.contains(&t.norm.as_ref());
    }
    let auxiliary: &dyn Fn(&str) -> bool = if present {
        &|w| PASSIVE.contains(&w)
    } else if past && (conditional_wish(r, clause) || wished_by_writer(r, clause)) {
        &|w| PAST_PASSIVE.contains(&w)
    } else {
        return None;
    };
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let aux = clause_words.iter().position(|(_, t)| auxiliary(&t.norm))?;
    // Some(true) for a verb that kills people only, Some(false) for one that also takes things.
    let killing = |t: &Token<'_>| {
        r.morphology.analyses(&t.norm).iter().filter(|a| a.tag == Tag::Participle).find_map(|a| {
            let lemma = r.morphology.lemma(a.lemma);
            if KILLING.contains(&lemma) { Some(true) } else { KILLING_OR_DOING.contains(&lemma).then_some(false) }
        })
    };
    // Main clause ("ze worden … opgeknoopt") or verb-final ("… opgehangen worden").
    let (participle, people_only) = clause_words
        .iter()
        .enumerate()
        .filter(|(k, _)| k.abs_diff(aux) <= PASSIVE_REACH)
        .find_map(|(k, (_, t))| Some((k, killing(t)?)))?;
    let (from, to) = (aux.min(participle), aux.max(participle));
    let negated = clause_words[from..=to].iter().any(|(_, t)| matches!(t.norm.as_ref(), "niet" | "nooit" | "geen"));
    if negated || reported_before(r, clause, clause_words[from].0) {
        return None;
    }
    // A pointed-at plural is people when the verb kills people only; any
    // pointed-at noun is when the writer wishes it.
    let wished = wished_by_writer(r, clause);
    let accept = |noun: &Token<'_>| wished || (people_only && looks_plural(&noun.norm));
    let subject = person_subject(r, clause, &clause_words, aux, participle, people_only.then_some(&accept))?;
    Some(Hit {
        clause,
        kind: HitKind::Threat,
        strength: 1.0,
        evidence: format!(
            "{subject} + {} … {}",
            written(r, clause_words[aux].0, clause_words[aux].0),
            written(r, clause_words[participle].0, clause_words[participle].0)
        ),
    })
}

/// Whether the writer says in this clause or the one before that it is his
/// wish ("als het aan mij ligt", "wat mij betreft").
fn wished_by_writer(r: &Reading<'_>, clause: usize) -> bool {
    let norms: Vec<&str> =
        (clause.saturating_sub(1)..=clause).flat_map(|c| words(r, c)).map(|(_, t)| t.norm.as_ref()).collect();
    norms.windows(3).any(|w| WRITER_WISH.iter().any(|wish| wish == w))
}

/// Whether the writer wishes what follows in the conditional, in this
/// clause or the one before: `zou` with a word of welcome and `als` ("het
/// zou goed zijn als …", "het zou mooi zijn als …").
fn conditional_wish(r: &Reading<'_>, clause: usize) -> bool {
    let norms = || (clause.saturating_sub(1)..=clause).flat_map(|c| words(r, c)).map(|(_, t)| t.norm.as_ref());
    norms().any(|w| matches!(w, "zou" | "would"))
        && norms().any(|w| WELCOME.contains(&w))
        && norms().any(|w| matches!(w, "als" | "if"))
}

/// The people the passive is about: a pronoun as its subject, a target word
/// before the participle, or, with `pointed` (a verb that kills people
/// only), a pointed-at noun that names people by its form or that `pointed`
/// takes. A verb that also takes things ("alle slingers worden
/// opgehangen") needs a pronoun or a target word.
fn person_subject(
    r: &Reading<'_>,
    clause: usize,
    clause_words: &[(usize, &Token<'_>)],
    aux: usize,
    participle: usize,
    pointed: Option<&dyn Fn(&Token<'_>) -> bool>,
) -> Option<String> {
    // The subject pronoun opens the clause or stands next to an auxiliary
    // ("worden ze", "jullie zullen … opgehangen worden").
    let auxiliary = |k: usize| k == aux || clause_words.get(k).is_some_and(|(_, t)| FUTURE.contains(&t.norm.as_ref()));
    let pronoun = clause_words.iter().enumerate().take(participle).find(|(k, (_, t))| {
        PERSON_SUBJECTS.contains(&t.norm.as_ref())
            && (*k == 0 || k.checked_sub(1).is_some_and(auxiliary) || auxiliary(k + 1))
    });
    if let Some((_, (i, _))) = pronoun {
        return Some(written(r, *i, *i).to_owned());
    }
    let before = clause_words.get(participle).map_or(0, |(i, _)| *i);
    if let Some(target) =
        r.occurrences.iter().find(|o| o.clause == clause && o.group == G_TARGET && !o.negated && o.m.first < before)
    {
        return Some(target.m.evidence.clone());
    }
    pointed_at_people(r, clause_words, participle, pointed?)
}

/// A determiner and the noun after it, before `end`, when the noun names
/// people by its form or `accept` takes it.
fn pointed_at_people(
    r: &Reading<'_>,
    clause_words: &[(usize, &Token<'_>)],
    end: usize,
    accept: &dyn Fn(&Token<'_>) -> bool,
) -> Option<String> {
    (0..end.min(clause_words.len())).find_map(|k| {
        let (i, t) = clause_words.get(k)?;
        let (next, noun) = clause_words.get(k + 1)?;
        let people =
            names_people(r, clause_words, k + 1) || (noun.norm.chars().all(char::is_alphabetic) && accept(noun));
        (DETERMINERS.contains(&t.norm.as_ref()) && k + 1 < end && people).then(|| {
            let last = if apostrophe_plural(r, clause_words, k + 1) {
                clause_words.get(k + 2).map_or(*next, |(s, _)| *s)
            } else {
                *next
            };
            written(r, *i, last).to_owned()
        })
    })
}

/// `dood aan` / `death to` with people after it: a target word, a pronoun,
/// or a pointed-at or plural noun ("dood aan alle X", "death to the
/// mayor"); "dood aan het fascisme" wishes an idea dead and is no threat.
pub(super) fn death_to_in(r: &Reading<'_>, clause: usize) -> Option<Hit> {
    if r.held.get(clause).copied().unwrap_or(false)
        || !words(r, clause).any(|(_, t)| matches!(t.norm.as_ref(), "dood" | "death"))
    {
        return None;
    }
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let k = clause_words.windows(2).position(|pair| {
        matches!((pair[0].1.norm.as_ref(), pair[1].1.norm.as_ref()), ("dood", "aan") | ("death", "to"))
    })?;
    let (start, _) = clause_words[k];
    let object = k + 2;
    let (at, first) = clause_words.get(object).map(|(i, t)| (*i, t))?;
    let target = r
        .occurrences
        .iter()
        .find(|o| o.clause == clause && o.group == G_TARGET && !o.negated && o.m.first >= at)
        .map(|o| o.m.evidence.clone());
    let pronoun = OBJECT_PRONOUNS.contains(&first.norm.as_ref()).then(|| written(r, at, at).to_owned());
    // "alle X", "the X" with a plural X, or a bare plural ("death to traitors").
    let plural_after = |k: usize| {
        clause_words.get(k).is_some_and(|(_, t)| looks_plural(&t.norm) || apostrophe_plural(r, &clause_words, k))
    };
    let phrase = if matches!(first.norm.as_ref(), "alle" | "all" | "de" | "the" | "die" | "those" | "elke" | "every") {
        plural_after(object + 1).then(|| written(r, at, clause_words[object + 1].0).to_owned())
    } else {
        plural_after(object).then(|| written(r, at, at).to_owned())
    };
    let person = target.or(pronoun).or(phrase)?;
    Some(Hit {
        clause,
        kind: HitKind::Threat,
        strength: 1.0,
        evidence: format!("{} + {person}", written(r, start, clause_words[k + 1].0)),
    })
}

/// The gallows wished without a verb: "X aan de galg", "ik zeg: die
/// verraders aan de hoogste boom". People before it: a pronoun, a plural
/// or a capitalised name, whatever it names (rule L11); nothing but an
/// interjection or a determiner between the clause's start and them, so a
/// sentence with a verb of its own ("hij hing het bord aan de galg") is
/// none.
pub(super) fn gallows_in(r: &Reading<'_>, clause: usize) -> Option<Hit> {
    if r.held.get(clause).copied().unwrap_or(false)
        || !words(r, clause).any(|(_, t)| matches!(t.norm.as_ref(), "galg" | "strop" | "boom"))
    {
        return None;
    }
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let k = clause_words.windows(3).position(|three| {
        matches!(
            (three[0].1.norm.as_ref(), three[1].1.norm.as_ref(), three[2].1.norm.as_ref()),
            ("aan" | "naar", "de", "galg" | "strop") | ("de", "hoogste", "boom")
        )
    })?;
    // "aan de hoogste boom": the phrase opens one word earlier.
    let k = if clause_words[k].1.norm == "de" { k.checked_sub(1)? } else { k };
    let end = clause_words.get(k + 3).filter(|(_, t)| t.norm == "boom").map_or(k + 2, |_| k + 3);
    let people_at = k.checked_sub(1)?;
    let (at, noun) = clause_words[people_at];
    // "homo's" is two words (`homo`, `s`): the phrase starts at the first.
    let apostrophe = noun.norm == "s" && people_at > 0 && apostrophe_plural(r, &clause_words, people_at - 1);
    let phrase_at = if apostrophe { people_at - 1 } else { people_at };
    // A name opening the sentence counts too ("Rutte aan de galg"), a pronoun or an article not.
    let name = noun.capitalised
        && (!noun.sentence_start || (noun.norm.len() > 2 && !super::not_a_noun(&noun.norm)))
        && noun.norm.chars().all(char::is_alphabetic);
    let people =
        matches!(noun.norm.as_ref(), "ze" | "zij" | "hen" | "jullie") || looks_plural(&noun.norm) || name || apostrophe;
    // Before the people only determiners and the writer's "ik zeg" (a colon splits no clause here).
    let opening = clause_words[..phrase_at].iter().all(|(_, t)| {
        matches!(t.norm.as_ref(), "alle" | "die" | "deze" | "al" | "ik" | "zeg" | "dus" | "gewoon" | "allemaal")
    });
    if !people || !opening || reported_before(r, clause, at) {
        return None;
    }
    let (from, _) = clause_words.iter().take(phrase_at + 1).find(|(_, t)| !matches!(t.norm.as_ref(), "ik" | "zeg"))?;
    Some(Hit {
        clause,
        kind: HitKind::Threat,
        strength: 1.0,
        evidence: written(r, *from, clause_words[end].0).to_owned(),
    })
}

/// The readers addressed as a group, told they will die: "jullie X gaan
/// allemaal dood", "jullie X zullen eraan gaan", "jullie X gaan creperen",
/// "jullie X gaan de kogel krijgen", "jullie X gaan allemaal hangen /
/// branden", "jullie X krijgen van mij een kogel", "jullie X zijn straks
/// allemaal dood".
/// The group is whatever stands between `jullie` and the verb, never looked
/// up (rule L11); a cause ("dood van de honger"), a condition ("als …"),
/// a negation or "some day" leaves it a prediction, not a threat. `van`
/// before the writer gives the death ("van mij", "van ons"): no cause.
pub(super) fn addressed_in(r: &Reading<'_>, clause: usize) -> Option<Hit> {
    if r.held.get(clause).copied().unwrap_or(false) {
        return None;
    }
    let mut clause_words = words(r, clause);
    let (start, opener) = clause_words.next()?;
    if !matches!(opener.norm.as_ref(), "jullie" | "you") {
        return None;
    }
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    // The verb of the future within five words of `jullie` ("jullie zwarte mensen gaan …").
    let verb = clause_words
        .iter()
        .take(6)
        .position(|(_, t)| matches!(t.norm.as_ref(), "gaan" | "zullen" | "will" | "krijgen" | "zijn"))?;
    // "zijn" foretells only death, and only soon ("jullie X zijn straks allemaal dood").
    // "dood" ends the clause there ("… zijn zo dood moe" is tired).
    let soon =
        || clause_words.iter().any(|(_, t)| matches!(t.norm.as_ref(), "straks" | "binnenkort" | "morgen" | "snel"));
    let dead_at_end = || clause_words.last().is_some_and(|(_, t)| t.norm == "dood");
    if clause_words[verb].1.norm == "zijn" && !(soon() && dead_at_end()) {
        return None;
    }
    // "krijgen" gives only the bullet.
    let given = clause_words[verb].1.norm == "krijgen";
    let rest = clause_words.get(verb + 1..)?;
    let death = rest.iter().take(5).position(|(_, t)| {
        if given {
            return t.norm == "kogel";
        }
        matches!(t.norm.as_ref(), "dood" | "eraan" | "kogel" | "hangen" | "branden")
            || t.norm == "die" && opener.norm == "you"
            || dying_infinitive(r, t)
    })? + verb
        + 1;
    // Hanging and burning said of the readers themselves, with no object
    // between ("jullie gaan de slingers hangen" hangs decorations).
    let own_body = matches!(clause_words[death].1.norm.as_ref(), "hangen" | "branden");
    let adverbs_only = clause_words[verb + 1..death].iter().all(|(_, t)| {
        matches!(t.norm.as_ref(), "allemaal" | "nog" | "eens" | "echt" | "straks" | "binnenkort" | "zeker" | "gewoon")
    });
    if own_body && !adverbs_only {
        return None;
    }
    let from_the_writer =
        |k: usize| clause_words.get(k + 1).is_some_and(|(_, n)| matches!(n.norm.as_ref(), "mij" | "ons" | "me"));
    let spoils = |t: &Token<'_>| {
        matches!(
            t.norm.as_ref(),
            "niet"
                | "nooit"
                | "geen"
                | "als"
                | "wanneer"
                | "if"
                | "van"
                | "aan"
                | "door"
                | "ooit"
                | "uiteindelijk"
                | "not"
        )
    };
    let spoiled =
        clause_words.iter().enumerate().any(|(k, (_, t))| spoils(t) && !(t.norm == "van" && from_the_writer(k)));
    if spoiled || reported_before(r, clause, start) {
        return None;
    }
    let (verb_at, death_at) = (clause_words[verb].0, clause_words[death].0);
    Some(Hit {
        clause,
        kind: HitKind::Threat,
        strength: 1.0,
        evidence: format!(
            "{} + {} … {}",
            written(r, start, clause_words[verb.saturating_sub(1)].0),
            written(r, verb_at, verb_at),
            written(r, death_at, death_at)
        ),
    })
}

/// The slogan "de enige goede X is een dode X" / "the only good X is a dead
/// X" (also "een goede X is een dode X"): death wished on everyone the noun
/// names, whatever it is.
pub(super) fn only_good_dead_in(r: &Reading<'_>, clause: usize) -> Option<Hit> {
    // Most clauses have no "goede": look before collecting the clause.
    if r.held.get(clause).copied().unwrap_or(false)
        || !words(r, clause).any(|(_, t)| matches!(t.norm.as_ref(), "goede" | "good"))
    {
        return None;
    }
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let good = clause_words.windows(2).position(|pair| {
        matches!(
            (pair[0].1.norm.as_ref(), pair[1].1.norm.as_ref()),
            ("enige" | "een", "goede") | ("only" | "a", "good")
        )
    })?;
    // "… is een dode …" / "… is a dead …" within a few words; the noun
    // between is whatever it names (rule L11).
    let dead = clause_words.windows(3).skip(good + 2).take(4).position(|three| {
        matches!(
            (three[0].1.norm.as_ref(), three[1].1.norm.as_ref(), three[2].1.norm.as_ref()),
            ("is" | "zijn", "een", "dode") | ("is" | "are", "a", "dead")
        )
    })? + good
        + 4;
    if reported_before(r, clause, clause_words[good].0) {
        return None;
    }
    Some(Hit {
        clause,
        kind: HitKind::Threat,
        strength: 1.0,
        evidence: written(r, clause_words[good].0, clause_words.get(dead + 1).unwrap_or(&clause_words[dead]).0)
            .to_owned(),
    })
}

/// Whether a word is the infinitive of a verb of dying (`sterven`, `creperen`).
fn dying_infinitive(r: &Reading<'_>, t: &Token<'_>) -> bool {
    super::is_dying(r, &t.norm, |tag| tag == Tag::Infinitive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Problems;
    use crate::morphology::Morphology;

    #[test]
    fn every_verb_of_killing_is_known_to_the_shipped_tables() {
        // A verb the tables do not know would never be read, silently.
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/signals");
        let mut problems = Problems::default();
        let m = Morphology::load(&dir, &mut problems);
        assert!(problems.is_empty(), "{:?}", problems.0);
        for lemma in KILLING.iter().chain(KILLING_OR_DOING.iter()) {
            assert!(m.lemma_of(lemma).is_some(), "{lemma} is not in config/signals/morphology/nl-forms.tsv");
        }
    }
}
