//! The threat grammar: threats, incitement and doxxing as people write them,
//! read per clause from the roles words play rather than from fixed phrases.
//!
//! **Threat or incitement** = an *intent* × a *harm predicate* × a *target*,
//! all in one clause, none negated, no frame that changes their meaning:
//!
//! - intent: the `intent` lexicon (`ik ga`, `we zullen`, `moet`, `iemand
//!   moet`, `wie`, `wat als`, `puur hypothetisch`, weighted), the writer as
//!   subject of the predicate (`ik` or `we` within two words of it and not
//!   across a comma: `ik steek`, `schiet ik`), or the imperative (the clause opens with the predicate's
//!   verb or a causative one: `Knal ze allemaal neer`, `Zet die bus in de
//!   fik`);
//! - harm predicate: a `violence` or `harm` term in a present form (by lemma,
//!   separable parts apart: `schiet … neer`), or its participle with `worden`
//!   or a modal (`moet neergeschoten worden`); a form that can be a
//!   participle after an auxiliary is a report (`er worden burgers
//!   vermoord`, [`participle_after_auxiliary`]);
//! - target: a `target` term, an object pronoun (`je`, `hem`, `ze`, …) or a
//!   demonstrative or quantified noun phrase (`die loods`, `alle X`, `de
//!   volgende X`); a verb that also takes things (`ophangen`, `afmaken`)
//!   takes such a phrase only when its noun names people by its form. The
//!   noun itself is never looked up: a threat against a group is a threat
//!   because of the threat, and no group word raises anything (rule
//!   L11).
//!
//! Wishes (`ik hoop dat ze creperen`), an imperative after a comma, an
//! infinitive before a pointed-at plural (`Ophangen die X`), `doe … pijn`
//! and the verbs of dying (`morphology/grammar-verbs.txt`) are read here
//! too; the writer dying (`ik ga dood van de hitte`), harm to oneself
//! (`mezelf`), the writer as the object (`die deadline maakt me af`) and
//! somebody else's words (`wie zegt dat …`) are not threats.
//!
//! A killing foretold in the passive with people as its subject ("ze worden
//! allemaal opgeknoopt") and `dood aan …` / `death to …` are read in
//! [`foretold`].
//!
//! The strength is the product of the three weights; from
//! [`THREAT_STRENGTH`] on it is a threat. A `frame` word in the clause or
//! next to it (sport, a game, a film, cooking, building work, an idiom such
//! as `ik lach me kapot`, a condemnation such as `laf`) leaves the clause
//! alone.
//!
//! **Doxxing** = something address-like in a clause (a street name with a
//! house number, a postcode, `woont op`) + a person (an official, a
//! pronoun, a capitalised name) + an invitation anywhere in the message: a
//! suggestive word or emoji (`langs`, `bezoekje`, `delen`, 👀, 📍), or a
//! call or intent when a word says somebody lives there (`woont`, `huis`),
//! so a call to come to the town hall at its street address is not one.

mod approval;
mod foretold;
mod people;

use super::{G_CALL, G_DOXXING, G_GATHERING, G_HARM, G_INTENT, G_TARGET, G_VIOLENCE, Occurrence, comma_between};
use crate::morphology::{Kind, Morphology, Tag};
use crate::normalize::Token;
use people::{
    apostrophe_plural, looks_plural, names_people, other_than_people, people_for_verb, people_head, person_ending,
};

/// From this product of intent, predicate and target weights on, a clause threatens.
pub(crate) const THREAT_STRENGTH: f32 = 0.45;

/// How many words before its harm predicate the writer's pronoun may stand.
const WRITER_REACH: usize = 8;

/// How strongly a bare infinitive ("hoogspanningskast openbreken") calls for its act.
const INFINITIVE_INTENT: f32 = 0.8;

/// Finite verbs that make a following infinitive part of a statement
/// ("de gemeente wil het pand slopen"), not a call.
const FINITE: [&str; 52] = [
    "is",
    "zijn",
    "ben",
    "bent",
    "was",
    "waren",
    "wil",
    "wilt",
    "willen",
    "wilde",
    "wilden",
    "gaat",
    "gaan",
    "ga",
    "ging",
    "gingen",
    "moet",
    "moeten",
    "moest",
    "moesten",
    "kan",
    "kunnen",
    "kon",
    "konden",
    "zal",
    "zullen",
    "zou",
    "zouden",
    "mag",
    "mogen",
    "mocht",
    "werd",
    "werden",
    "wordt",
    "worden",
    "heeft",
    "hebben",
    "heb",
    "had",
    "hadden",
    "laat",
    "laten",
    "liet",
    "durft",
    "probeert",
    "proberen",
    "probeerde",
    "besluit",
    "besloot",
    "dreigt",
    "dreigen",
    "hoeft",
];

/// How strongly an object pronoun or a demonstrative noun phrase names a target.
const PHRASE_TARGET: f32 = 0.8;

/// A pointed-at plural or a plural pronoun (`alle X`, `die X`, `ze`): people
/// more often than things, so it is a full-weight target; a verb of
/// eradication ("uitroeien", at half weight) threatens only such a target.
const PLURAL_TARGET: f32 = 1.0;

/// Pronouns that point at several people.
const PLURAL_PRONOUNS: [&str; 5] = ["ze", "hen", "jullie", "them", "zij"];

/// Determiners that point at a plural (`alle X`, `die X`); `elke`, `dat` take a singular.
const PLURAL_DETERMINERS: [&str; 5] = ["alle", "die", "deze", "those", "all"];

/// Words by which the writer wishes something on somebody ("ik hoop dat ze
/// creperen", "hopelijk verrekken ze"): an intent for the harm predicate of
/// their clause.
const WISHES: [&str; 4] = ["hoop", "hopelijk", "wens", "moge"];

/// Harm verbs whose object is as often a pest, a disease or an evil as
/// people ("racisme uitroeien", "het onkruid verdelgen"): in a normative
/// threat they need a plural subject ("moeten uitgeroeid worden").
const ERADICATION: [&str; 2] = ["uitroeien", "verdelgen"];

/// Endings of words that name people as one contemptible whole ("jodenvolk",
/// "asieltuig"); an eradication wished on them is a threat in the singular.
const COLLECTIVES: [&str; 4] = ["volk", "tuig", "gespuis", "uitschot"];

/// How strongly `doe … pijn` ("ik doe ze pijn") is a harm predicate, as `pijn doen` in `harm`.
const PAIN: f32 = 0.8;

/// Object pronouns that can be the target of a harm predicate.
const OBJECT_PRONOUNS: [&str; 13] =
    ["je", "jou", "jij", "hem", "haar", "hen", "ze", "jullie", "u", "you", "him", "her", "them"];

/// Words that make the next word a pointed-at noun phrase (`die loods`, `alle agenten`).
const DETERMINERS: [&str; 11] =
    ["die", "dat", "deze", "dit", "alle", "elke", "iedere", "those", "that", "all", "every"];

/// Verbs whose imperative carries a harm phrase (`zet … in de fik`, `steek … in brand`, `maak … af`,
/// `schop … het ziekenhuis in`, `geef … een nekschot`).
const CAUSATIVES: [&str; 16] = [
    "zetten", "steken", "gooien", "maken", "doen", "gaan", "laten", "blazen", "slaan", "rijden", "trekken", "leggen",
    "draaien", "schoppen", "trappen", "geven",
];

/// English harm verbs that open an imperative ("Burn down the …", "run them over").
const ENGLISH_IMPERATIVES: [&str; 14] = [
    "burn", "kill", "shoot", "stab", "torch", "smash", "break", "beat", "run", "hang", "bomb", "attack", "wreck",
    "destroy",
];

/// Words that may open a clause before an imperative (`kom op, steek …`, `vanavond knallen …`).
const OPENERS: [&str; 16] = [
    "kom", "op", "jongens", "mensen", "gewoon", "allemaal", "vanavond", "morgen", "vannacht", "nu", "eens", "even",
    "gast", "bro", "en", "dus",
];

/// Street-name endings that, followed by a house number, make an address.
const STREET_ENDINGS: [&str; 22] = [
    "straat",
    "weg",
    "laan",
    "plein",
    "singel",
    "kade",
    "gracht",
    "dijk",
    "dreef",
    "hof",
    "pad",
    "steeg",
    "park",
    "erf",
    "baan",
    "markt",
    "plantsoen",
    "veld",
    "wal",
    "ring",
    "allee",
    "boulevard",
];

/// Verbs that say where somebody lives; what follows `in`, `op`, `aan` is an address.
const RESIDENCE_VERBS: [&str; 6] = ["woont", "wonen", "woonachtig", "lives", "live", "verblijft"];

/// Words that say somebody lives at an address.
const RESIDENCE: [&str; 10] =
    ["woont", "wonen", "woon", "woonachtig", "adres", "huisadres", "thuis", "huis", "woning", "locatie"];

/// Words that invite readers to act on an address.
const INVITATIONS: [&str; 11] =
    ["langs", "bezoekje", "bezoek", "succes", "plezier", "delen", "deel", "verspreiden", "verspreid", "rt", "visit"];

/// What the grammar found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HitKind {
    /// An intent and a harm predicate without a target: a call, like a call word.
    Call,
    /// Intent × harm × target.
    Threat,
    /// A person, an address and an invitation.
    Doxxing,
}

/// One finding of the grammar.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub clause: usize,
    pub kind: HitKind,
    /// Intent × predicate (× target) (1 for doxxing).
    pub strength: f32,
    pub evidence: String,
}

/// What the grammar reads: the message's words, their clauses and the signal words found.
pub(crate) struct Reading<'a> {
    pub text: &'a str,
    pub tokens: &'a [Token<'a>],
    pub morphology: &'a Morphology,
    /// Clause number of each token.
    pub clauses: &'a [usize],
    pub clause_count: usize,
    pub occurrences: &'a [Occurrence<'a>],
    /// Lemmas of the harm and violence terms, for their participles.
    pub harm_lemmas: &'a rustc_hash::FxHashSet<u32>,
    /// Clauses a frame holds back (sport, a game, an idiom, a condemnation).
    pub held: &'a [bool],
    /// Token range of each clause.
    pub ranges: &'a [(usize, usize)],
}

/// Every threat, incitement and doxxing the grammar finds, per clause.
pub(crate) fn read(r: &Reading<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for clause in 0..r.clause_count {
        let threats = threat_in(r, clause);
        let threatened = threats.iter().any(|h| h.kind == HitKind::Threat);
        hits.extend(threats);
        if !threatened
            && let Some(hit) = normative_in(r, clause)
                .or_else(|| foretold::passive_in(r, clause))
                .or_else(|| foretold::death_to_in(r, clause))
                .or_else(|| foretold::gallows_in(r, clause))
                .or_else(|| foretold::addressed_in(r, clause))
                .or_else(|| foretold::only_good_dead_in(r, clause))
        {
            hits.push(hit);
        }
        if let Some(hit) = doxxing_in(r, clause) {
            hits.push(hit);
        }
    }
    hits
}

/// The words of a clause with their index: clauses are contiguous runs of tokens.
fn words<'a>(r: &'a Reading<'_>, clause: usize) -> impl Iterator<Item = (usize, &'a Token<'a>)> + 'a {
    let (first, last) = r.ranges.get(clause).copied().unwrap_or((0, 0));
    r.tokens.get(first..last).unwrap_or_default().iter().enumerate().map(move |(i, t)| (first + i, t))
}

fn written<'a>(r: &Reading<'a>, first: usize, last: usize) -> &'a str {
    match (r.tokens.get(first), r.tokens.get(last)) {
        (Some(a), Some(b)) => r.text.get(a.start..b.end).unwrap_or_default(),
        _ => "",
    }
}

fn threat_in(r: &Reading<'_>, clause: usize) -> Vec<Hit> {
    // Harm words in a frame (sport, a game, …) were left out of the
    // occurrences already; participles are read here, so the frame holds them too.
    if r.held.get(clause).copied().unwrap_or(false) {
        return Vec::new();
    }
    let here = || r.occurrences.iter().filter(move |o| o.clause == clause && !o.negated);

    // The harm predicate: present forms from the lexicons, or a participle with worden or a modal.
    let mut predicate: Option<(f32, usize, usize, String)> = None;
    for o in
        here().filter(|o| (o.group == G_HARM || o.group == G_VIOLENCE) && !passive_participle(r, clause, o.m.first))
    {
        if predicate.as_ref().is_none_or(|p| o.m.weight > p.0) {
            predicate = Some((o.m.weight, o.m.first, o.m.last, o.m.evidence.clone()));
        }
    }
    let passive = || {
        words(r, clause).any(|(_, t)| {
            matches!(t.norm.as_ref(), "worden" | "wordt" | "word" | "werden" | "moet" | "moeten" | "verdient")
        })
    };
    if predicate.is_none() && passive() {
        for (i, t) in words(r, clause) {
            if harm_verb_form(r, &t.norm, &[Tag::Participle]) {
                // A participle calls for harm only under a modal or a wish
                // ("moet opgeblazen worden"); "die hal wordt opgeblazen, ik ga
                // kijken" reports what others will do.
                let wanted = words(r, clause)
                    .any(|(_, w)| NORMATIVE_MODALS.contains(&w.norm.as_ref()) || WISHES.contains(&w.norm.as_ref()))
                    || approval::approval(r, clause, i, i).is_some();
                if wanted {
                    predicate = Some((1.0, i, i, written(r, i, i).to_owned()));
                }
                break;
            }
        }
    }
    // Dying, wished on somebody ("ik hoop dat ze creperen"): no lexicon word,
    // so not negated here. Dying some day is everybody's lot ("alle mensen
    // moeten ooit sterven").
    if predicate.is_none()
        && !some_day(r, clause)
        && let Some((i, _)) = words(r, clause).find(|(i, t)| {
            // Suffering only when the writer wishes to see it ("ik wil ze zien
            // lijden", "ik hoop dat ze lijden"); "die X moeten lijden" is as often anger.
            let suffering_wished = t.norm != "lijden"
                || r.tokens.get(i.wrapping_sub(1)).is_some_and(|b| b.norm == "zien")
                || wish(r, clause, *i).is_some();
            dying_form(r, &t.norm, Kind::Now)
                && suffering_wished
                && !words(r, clause).any(|(j, n)| j < *i && j + 3 >= *i && NEGATIONS.contains(&n.norm.as_ref()))
        })
    {
        predicate = Some((DYING_WEIGHT, i, i, written(r, i, i).to_owned()));
    }
    // Pain is done to people only, whatever stands between `doe` and `pijn`.
    let pain = predicate.is_none();
    if pain {
        predicate = pain_in(r, clause).map(|(first, last)| {
            (PAIN, first, last, format!("{} … {}", written(r, first, first), written(r, last, last)))
        });
    }
    let Some((predicate_weight, first, last, predicate_evidence)) = predicate else { return Vec::new() };
    // A wish is read with harm done to people, not with a word of unrest
    // alone ("ik hoop dat ze niet in die storm …").
    let unrest_word =
        here().filter(|o| o.m.first == first).all(|o| o.group == G_VIOLENCE) && here().any(|o| o.m.first == first);
    // Somebody else's words ("wie zegt dat …"), harm the writer does to
    // himself ("ik martel mezelf"), or the writer as the object right after
    // the verb ("die deadline maakt me af").
    let writer_object = r.tokens.get(first + 1).is_some_and(|t| matches!(t.norm.as_ref(), "me" | "mij"));
    if reported_before(r, clause, first)
        || words(r, clause).any(|(_, t)| SELF.contains(&t.norm.as_ref()))
        || writer_object
    {
        return Vec::new();
    }
    // The writer dying is an idiom ("ik ga dood van de hitte", "voor die kebab ga ik even dood").
    if writer_dies(r, clause, first, last) {
        return Vec::new();
    }

    // Harm named as a noun ("het afmaken van …"), and what approves of it.
    let named = approval::nominalized(r, first, last);
    let named_approval = if named { approval::approved_named(r, clause, first, last) } else { None };

    // The intent: a lexicon intent, the writer as subject, the imperative, or a bare infinitive.
    let mut intent: Option<(f32, String)> = None;
    for o in here().filter(|o| o.group == G_INTENT) {
        if intent.as_ref().is_none_or(|i| o.m.weight > i.0) {
            intent = Some((o.m.weight, o.m.evidence.clone()));
        }
    }
    if intent.as_ref().is_none_or(|i| i.0 < 1.0) {
        // The writer's pronoun across a comma belongs to another statement
        // ("die deadline maakt me af, ik zit al uren …").
        let across_comma = |i: usize| {
            let (from, to) = if i < first { (i, first) } else { (last, i) };
            r.tokens.get(from).zip(r.tokens.get(to)).is_some_and(|(a, b)| comma_between(r.text, a, b))
        };
        let writer = words(r, clause).find(|(i, t)| {
            is_writer(t)
                && !across_comma(*i)
                && (((first.abs_diff(*i) <= 2 || last.abs_diff(*i) <= 2) && finite_near(r, *i, first, last))
                    || *i + 1 == first
                    || (*i < first && first - *i <= WRITER_REACH && acting_verb_next_to(r, *i)))
        });
        if let Some((i, _)) = writer {
            intent = Some((1.0, written(r, i, i).to_owned()));
        } else if let Some(i) = imperative(r, clause, first) {
            intent = Some((1.0, written(r, i, i).to_owned()));
        } else if let Some(i) = wish(r, clause, first).filter(|_| !unrest_word) {
            intent = Some((1.0, written(r, i, i).to_owned()));
        } else if let Some(i) = approval::approval(r, clause, first, last)
            .or_else(|| approval::solution(r, clause, first))
            .or(named_approval)
            .filter(|_| !unrest_word)
        {
            intent = Some((1.0, written(r, i, i).to_owned()));
        } else if intent.is_none() && bare_infinitive(r, clause, first, last) {
            intent = Some((INFINITIVE_INTENT, format!("{predicate_evidence} (infinitief)")));
        }
    }
    let Some((intent_weight, intent_evidence)) = intent else { return Vec::new() };
    let mut hits = Vec::with_capacity(2);
    // The writer's own intent or an imperative calls for the predicate, whoever the target.
    let explicit = intent_weight >= 1.0 && !intent_evidence.ends_with("(infinitief)");
    // Harm named as a noun calls for nothing without people after its `van`.
    if explicit && predicate_weight >= 1.0 && !named {
        hits.push(Hit {
            clause,
            kind: HitKind::Call,
            strength: intent_weight * predicate_weight,
            evidence: format!("{intent_evidence} + {predicate_evidence}"),
        });
    }

    // The target: a target word, an object pronoun, or a pointed-at noun phrase.
    let mut target: Option<(f32, String)> = None;
    for o in here().filter(|o| o.group == G_TARGET) {
        if target.as_ref().is_none_or(|t| o.m.weight > t.0) {
            target = Some((o.m.weight, o.m.evidence.clone()));
        }
    }
    // A verb that kills or does ("ophangen": a painting, "afmaken": the
    // work) takes a pointed-at noun as its target only when it names people.
    // Its parts apart too ("maak die X af"). Eradication is said of pests
    // and evils as well ("alle ziektes uitroeien").
    let either = |lemma: &str| foretold::KILLING_OR_DOING.contains(&lemma) || ERADICATION.contains(&lemma);
    let killing_or_doing = [first, last]
        .iter()
        .filter_map(|i| r.tokens.get(*i))
        .any(|t| r.morphology.analyses(&t.norm).iter().any(|a| either(r.morphology.lemma(a.lemma))))
        || (first != last && {
            // The verb before its particle ("roei … uit") or after it with `te` ("uit te roeien").
            let apart = |verb: usize, particle: usize| {
                r.tokens.get(particle).is_some_and(|p| {
                    separable_in(r, verb, &p.norm, &foretold::KILLING_OR_DOING)
                        || separable_in(r, verb, &p.norm, &ERADICATION)
                })
            };
            apart(first, last) || apart(last, first)
        });
    if target.as_ref().is_none_or(|t| t.0 < PHRASE_TARGET) {
        let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
        // The predicate's own words are no target; what stands between a
        // separable verb's parts is its object ("maak alle X af").
        let apart = pain || predicate_evidence.contains(" … ");
        let own = |i: usize| i == first || i == last || (!apart && (first..=last).contains(&i));
        for (at, (i, t)) in clause_words.iter().enumerate() {
            if own(*i) && !OBJECT_PRONOUNS.contains(&t.norm.as_ref()) {
                continue;
            }
            // A pronoun right before an auxiliary of intent is its subject,
            // not the target ("jullie gaan de slingers hangen").
            let subject = matches!(t.norm.as_ref(), "jullie" | "je" | "jij" | "u")
                && clause_words.get(at + 1).is_some_and(|(_, n)| INTENT_AUXILIARIES.contains(&n.norm.as_ref()));
            if OBJECT_PRONOUNS.contains(&t.norm.as_ref()) && !(*i == first && t.norm == "ze") && !subject {
                let weight = if PLURAL_PRONOUNS.contains(&t.norm.as_ref()) { PLURAL_TARGET } else { PHRASE_TARGET };
                target = Some((weight, written(r, *i, *i).to_owned()));
                break;
            }
            // Between a separable verb's parts stands its object, and many
            // take things as well as people ("blaas die ballonnen op",
            // "maak alle opdrachten af").
            let between_parts = apart && !pain && (first..=last).contains(i);
            if let Some((noun_at, end)) = first_or_next(r, &clause_words, at) {
                // "schiet de volgende X die ik zie … dood": there only a person
                // met (a relative clause) or a noun that names people counts.
                let met = clause_words.get(noun_at + 1).is_some_and(|(_, w)| w.norm == "die");
                if between_parts && !met && !names_people(r, &clause_words, noun_at) {
                    continue;
                }
                target = Some((PHRASE_TARGET, written(r, *i, end).to_owned()));
                break;
            }
            // "die zwarte mensen": an adjective before a word for people is no noun, and needs none.
            let determiner = DETERMINERS.contains(&t.norm.as_ref());
            let people_phrase =
                if determiner { people_head(&clause_words, at + 1).and_then(|h| clause_words.get(h)) } else { None };
            if determiner
                && let Some((next, noun)) = clause_words.get(at + 1)
                && (people_phrase.is_some() || noun_word(r, &noun.norm))
            {
                // There, and for a verb that kills or does, only a noun that
                // names people counts; for a verb that kills or does, also a
                // plural that is none of the other things it is said of
                // ("ik ga alle X afmaken", not "alle opdrachten").
                // A killing with `dood` apart ("schiet die X dood") reads so too.
                let killing_apart = between_parts && r.tokens.get(last).is_some_and(|p| p.norm == "dood");
                let people = if (killing_or_doing || killing_apart) && people_phrase.is_none() {
                    // A relative clause after the noun tells of one met ("elke X die hier komt").
                    let relative = clause_words.get(at + 2).is_some_and(|(_, w)| w.norm == "die")
                        || clause_words.get(at + 3).is_some_and(|(_, w)| w.norm == "die");
                    // A people as one counts too ("dat moslimtuig").
                    let collective = COLLECTIVES.iter().any(|c| noun.norm.ends_with(c));
                    people_for_verb(r, &clause_words, at + 1, relative || collective)
                } else {
                    names_people(r, &clause_words, at + 1)
                };
                if (between_parts || killing_or_doing) && !people {
                    continue;
                }
                let pointing_at_many = PLURAL_DETERMINERS.contains(&t.norm.as_ref());
                let plural = pointing_at_many
                    && (people_phrase.is_some()
                        || looks_plural(&noun.norm)
                        || apostrophe_plural(r, &clause_words, at + 1));
                let (weight, end) = match (people_phrase, clause_words.get(at + 2)) {
                    (Some((head, _)), _) => (if plural { PLURAL_TARGET } else { PHRASE_TARGET }, *head),
                    (None, Some((s, _))) if plural && apostrophe_plural(r, &clause_words, at + 1) => {
                        (PLURAL_TARGET, *s)
                    }
                    _ if plural => (PLURAL_TARGET, *next),
                    _ => (PHRASE_TARGET, *next),
                };
                target = Some((weight, written(r, *i, end).to_owned()));
                break;
            }
        }
    }
    // A bare plural next to a verb that harms people only ("ik ga X
    // vermoorden", "ik doe X pijn"): whatever the noun, people are meant.
    // So is one next to a verb that kills or does, unless it is one of the
    // other things such a verb is said of ("ik ga X afmaken", not "taarten").
    if target.is_none() && (pain || people_only_verb(r, first, last)) {
        target = bare_plural_next_to(r, clause, first, last).map(|evidence| (PLURAL_TARGET, evidence));
    } else if target.is_none() && killing_or_doing {
        target = bare_plural_next_to(r, clause, first, last)
            .filter(|evidence| !other_than_people(&evidence.to_lowercase()))
            .map(|evidence| (PLURAL_TARGET, evidence));
    }
    // Harm named as a noun harms who stands after its `van`, and only
    // people; only an approval of it threatens ("het doden van X moet
    // stoppen" does not).
    if named {
        target = nominal_object(r, clause, last)
            .filter(|_| named_approval.is_some())
            .map(|evidence| (PLURAL_TARGET, evidence));
    }
    let Some((target_weight, target_evidence)) = target else { return hits };
    let strength = intent_weight * predicate_weight * target_weight;
    if strength >= THREAT_STRENGTH {
        hits.push(Hit {
            clause,
            kind: HitKind::Threat,
            strength,
            evidence: format!("{intent_evidence} + {predicate_evidence} + {target_evidence}"),
        });
    }
    hits
}

/// Verbs that harm people and nothing else ("vermoorden", "neersteken"): a
/// bare plural at them is people. Verbs also said of animals and things
/// ("doodslaan", "vergassen", "afslachten", "duiven neerschieten", "drones
/// neerschieten") are not among them. `pijn doen`, `laten lijden` and
/// `zien bloeden` are known by their words (the tables list `lijden` as a
/// noun only). Torture is done to people ("ik ga X doodmartelen"), and an
/// attack announced on a bare plural is on people ("ik ga X aanvallen").
const PEOPLE_ONLY: [&str; 10] = [
    "vermoorden",
    "opknopen",
    "neersteken",
    "doodsteken",
    "executeren",
    "lynchen",
    "onthoofden",
    "martelen",
    "doodmartelen",
    "aanvallen",
];

/// Words that end as plurals do and still are no noun to harm ("ik ga ze
/// morgen vermoorden" has its target in `ze`).
const NOT_PLURAL_NOUNS: [&str; 16] = [
    "morgen",
    "overmorgen",
    "samen",
    "even",
    "tegen",
    "geen",
    "meteen",
    "alleen",
    "willen",
    "kunnen",
    "moeten",
    "gaan",
    "zullen",
    "laten",
    "mogen",
    "binnen",
];

/// Whether the predicate from `first` to `last` harms people only: a verb
/// of [`PEOPLE_ONLY`], or `pijn doen`, `laten lijden` and `zien bloeden` from the `harm` lexicon.
fn people_only_verb(r: &Reading<'_>, first: usize, last: usize) -> bool {
    // "X dood zien" is wished on people.
    let dead_seen = r.tokens.get(last).is_some_and(|t| t.norm == "dood")
        && r.tokens.get(last + 1).is_some_and(|t| matches!(t.norm.as_ref(), "zien" | "hebben"));
    // "dood" before the rest of its verb ("om X dood te martelen", "X dood steken").
    let dead_by = r.tokens.get(last).is_some_and(|t| t.norm == "dood") && {
        let verb = if r.tokens.get(last + 1).is_some_and(|t| t.norm == "te") { last + 2 } else { last + 1 };
        separable_in(r, verb, "dood", &PEOPLE_ONLY)
    };
    let whole = dead_seen
        || dead_by
        || [first, last].iter().filter_map(|i| r.tokens.get(*i)).any(|t| {
            matches!(t.norm.as_ref(), "pijn" | "lijden" | "bloeden")
                || r.morphology.analyses(&t.norm).iter().any(|a| PEOPLE_ONLY.contains(&r.morphology.lemma(a.lemma)))
        });
    // A separable verb apart ("steek … neer"): its particle and the verb's lemma make it.
    let apart = || {
        first != last && r.tokens.get(last).is_some_and(|particle| separable_in(r, first, &particle.norm, &PEOPLE_ONLY))
    };
    whole || apart()
}

/// Whether the verb at `verb` with `particle` makes a separable verb of
/// `verbs` ("steek" + "neer" is `neersteken`, "ga" + "dood" is `doodgaan`).
fn separable_in(r: &Reading<'_>, verb: usize, particle: &str, verbs: &[&str]) -> bool {
    r.tokens.get(verb).is_some_and(|t| {
        r.morphology.analyses(&t.norm).iter().any(|a| {
            let lemma = r.morphology.lemma(a.lemma);
            verbs.iter().any(|v| v.strip_prefix(particle) == Some(lemma))
        })
    })
}

/// A plural noun right before the predicate or right after its first word,
/// without a determiner ("ik ga moslims vermoorden", "ik steek
/// vluchtelingen neer", "ik ga homo's pijn doen"): the written plural.
fn bare_plural_next_to(r: &Reading<'_>, clause: usize, first: usize, last: usize) -> Option<String> {
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let at = |i: usize| clause_words.iter().position(|(k, _)| *k == i);
    let plural_at = |k: usize| -> Option<(usize, usize)> {
        let (i, t) = clause_words.get(k)?;
        if *i == first || *i == last {
            return None;
        }
        // "mijn spieren pijn doen": an owner or an article makes it no bare plural.
        let owned = k.checked_sub(1).and_then(|b| clause_words.get(b)).is_some_and(|(_, b)| {
            matches!(
                b.norm.as_ref(),
                "mijn" | "m'n" | "mn" | "je" | "jouw" | "zijn" | "z'n" | "haar" | "onze" | "hun" | "de" | "het" | "een"
            )
        });
        if owned {
            return None;
        }
        // "homo's" is read as the words `homo` and `s`: the plural ends on the `s`.
        if t.norm == "s" && k > 0 && apostrophe_plural(r, &clause_words, k - 1) {
            return Some((clause_words[k - 1].0, *i));
        }
        plural_noun(r, &clause_words, k, false)
    };
    // Before `te` too ("om X te vermoorden"), before the verb that sees or
    // lets the harm be done ("ik wil X zien lijden", "ik zal X laten
    // lijden"), and before the passive's auxiliary ("als X worden vermoord").
    let before_te = |mut k: usize| {
        // Twice at most: "om X te zien sterven".
        for _ in 0..2 {
            let between = clause_words.get(k).is_some_and(|(_, t)| {
                matches!(t.norm.as_ref(), "te" | "zien" | "laten" | "worden" | "werden" | "wordt")
            });
            if !between {
                break;
            }
            k = k.checked_sub(1)?;
        }
        Some(k)
    };
    // Past a few adverbs too ("ik ga X langzaam vermoorden", "om X een voor een dood te martelen").
    let past_adverbs = |mut k: usize| {
        for _ in 0..MAX_ADVERBS_BETWEEN {
            if !clause_words.get(k).is_some_and(|(_, t)| ADVERBS_BETWEEN.contains(&t.norm.as_ref())) {
                break;
            }
            k = k.checked_sub(1)?;
        }
        Some(k)
    };
    // Past another infinitive joined to it ("ik ga X opjagen en vermoorden").
    let past_coordinated = |k: usize| {
        let joined = clause_words.get(k).is_some_and(|(_, t)| matches!(t.norm.as_ref(), "en" | "of"))
            && k.checked_sub(1).and_then(|b| clause_words.get(b)).is_some_and(|(_, t)| {
                // An infinitive the tables know, or an unknown word that ends as one.
                let analyses = r.morphology.analyses(&t.norm);
                analyses.iter().any(|a| a.tag == Tag::Infinitive) || (analyses.is_empty() && t.norm.ends_with("en"))
            });
        if joined { k.checked_sub(2) } else { Some(k) }
    };
    let before = at(first)
        .and_then(|k| k.checked_sub(1))
        .and_then(past_coordinated)
        .and_then(before_te)
        .and_then(past_adverbs)
        .and_then(plural_at);
    let after = at(first).and_then(|k| plural_at(k + 1));
    // Or a phrase headed by a word for people before the predicate ("ik
    // ga mensen met een beperking pijn doen").
    let people = || {
        let k =
            clause_words.iter().take_while(|(i, _)| *i < first).position(|(_, t)| people::is_people_word(&t.norm))?;
        let from = if k > 0 && people_head(&clause_words, k - 1) == Some(k) { k - 1 } else { k };
        Some((clause_words[from].0, clause_words[k].0))
    };
    before.or(after).or_else(people).map(|(from, to)| written(r, from, to).to_owned())
}

/// Who a harm named as a noun is done to: the people after its `van` at
/// `last + 1` ("het afmaken van X", "… van alle X", "… van hen"), by the
/// rules for a verb that kills or does; "van je huiswerk" is none.
fn nominal_object(r: &Reading<'_>, clause: usize, last: usize) -> Option<String> {
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let van = clause_words.iter().position(|(i, _)| *i == last + 1)?;
    let (at, first_word) = clause_words.get(van + 1).copied()?;
    let next_is_noun = clause_words.get(van + 2).is_some_and(|(_, n)| noun_word(r, &n.norm));
    if matches!(first_word.norm.as_ref(), "hen" | "jullie" | "ze" | "hun") && !next_is_noun {
        return Some(written(r, at, at).to_owned());
    }
    let noun_at = if PLURAL_DETERMINERS.contains(&first_word.norm.as_ref()) { van + 2 } else { van + 1 };
    let (end, noun) = clause_words.get(noun_at).copied()?;
    let apostrophe = apostrophe_plural(r, &clause_words, noun_at);
    let people = people_for_verb(r, &clause_words, noun_at, false) && noun_word(r, &noun.norm);
    let end = if apostrophe { end + 1 } else { end };
    people.then(|| written(r, at, end).to_owned())
}

/// Adverbs that stand between an object and its verb at the end of the
/// clause: manner, pace, the writer's own hand.
const ADVERBS_BETWEEN: [&str; 15] = [
    "langzaam",
    "allemaal",
    "gewoon",
    "eens",
    "even",
    "zelf",
    "eigenhandig",
    "persoonlijk",
    "echt",
    "stuk",
    "voor",
    "een",
    "één",
    "keihard",
    "meteen",
];

/// How many of [`ADVERBS_BETWEEN`] a bare plural may stand before its verb.
const MAX_ADVERBS_BETWEEN: usize = 4;

/// Auxiliaries of the passive and the perfect: a form after them that is
/// both a stem and a participle ("vermoord") is the participle.
const AUXILIARIES: [&str; 10] = ["wordt", "worden", "word", "werd", "werden", "is", "zijn", "was", "waren", "ben"];

/// Whether the word at `at` reads as a participle after an auxiliary of its
/// clause ("elke dag worden er burgers vermoord"), not as the present tense
/// of a call ("ik vermoord ze").
fn passive_participle(r: &Reading<'_>, clause: usize, at: usize) -> bool {
    participle_after_auxiliary(r.text, r.tokens, r.morphology, |i| r.clauses.get(i) == Some(&clause), at)
}

/// Whether the token at `at` is a form that can be a participle ("vermoord",
/// also the stem of vermoorden) with an auxiliary of the passive or the
/// perfect before it in its clause (`same_clause`), no comma and no writer
/// between ("ze zijn vermoord, ik vermoord ze terug" keeps the second as a
/// call). Shared by the grammar and the signal words.
pub(crate) fn participle_after_auxiliary(
    text: &str,
    tokens: &[Token<'_>],
    morphology: &Morphology,
    same_clause: impl Fn(usize) -> bool,
    at: usize,
) -> bool {
    let Some(word) = tokens.get(at) else { return false };
    if !morphology.analyses(&word.norm).iter().any(|a| a.tag == Tag::Participle) {
        return false;
    }
    // The nearest auxiliary before it in its clause.
    let mut aux = None;
    for i in (0..at).rev() {
        if !same_clause(i) {
            break;
        }
        match tokens.get(i) {
            Some(t) if is_writer(t) => return false,
            Some(t) if AUXILIARIES.contains(&t.norm.as_ref()) => {
                aux = Some(t);
                break;
            }
            _ => {}
        }
    }
    aux.is_some_and(|auxiliary| !comma_between(text, auxiliary, word))
}

/// Modals of obligation, permission and desert that make a normative threat
/// with a death or destruction complement ("die moeten dood", "verdient de kogel").
const NORMATIVE_MODALS: [&str; 10] =
    ["moet", "moeten", "mag", "mogen", "verdient", "verdienen", "hoort", "horen", "zou", "zouden"];

/// Complements that, after such a modal, wish death or destruction on the subject.
const NORMATIVE_HARM: [&str; 20] = [
    "nekschot",
    "massagraf",
    "graf",
    "branden",
    "hangen",
    "kopschot",
    "dood",
    "kapot",
    "kogel",
    "opgehangen",
    "afgemaakt",
    "neergeschoten",
    "doodgeschoten",
    "vergast",
    "opgeknoopt",
    "galg",
    "strop",
    "brandstapel",
    "executie",
    // "moeten van de aardbodem verdwijnen".
    "aardbodem",
];

/// Subject pronouns that point at people ("die moeten allemaal kapot", "ze verdienen de kogel").
const NORMATIVE_SUBJECTS: [&str; 11] = ["die", "ze", "zij", "jullie", "hullie", "hun", "deze", "jij", "je", "hij", "u"];

/// Verbs of saying that, followed by `dat`, make what follows somebody
/// else's words ("wie zegt dat X … moeten worden, hoort hier niet").
pub(super) const SPEECH: [&str; 34] = [
    "zegt",
    "zeggen",
    "zei",
    "zeiden",
    "gezegd",
    "roept",
    "roepen",
    "riep",
    "riepen",
    "geroepen",
    "schrijft",
    "schrijven",
    "schreef",
    "schreven",
    "geschreven",
    "dreigt",
    "dreigen",
    "dreigde",
    "dreigden",
    "gedreigd",
    "beweert",
    "beweren",
    "beweerde",
    "beweerden",
    "twittert",
    "tweette",
    "schreeuwt",
    "schreeuwen",
    "schreeuwde",
    "schreeuwden",
    "postte",
    "scandeert",
    "scanderen",
    "suggereert",
];

/// How strongly a verb of dying is a harm predicate: it needs a target and an intent of full weight.
const DYING_WEIGHT: f32 = 0.8;

/// Negations that leave a verb of dying alone ("ik hoop dat ze niet sterven").
const NEGATIONS: [&str; 4] = ["niet", "geen", "nooit", "never"];

/// Whether `word` is a form of a verb of dying of this kind (`sterven`,
/// `creperen`; the tables know them from `morphology/grammar-verbs.txt`),
/// or the infinitive of suffering, `lijden`.
fn dying_form(r: &Reading<'_>, word: &str, kind: Kind) -> bool {
    is_dying(r, word, |tag| tag.kind() == kind)
}

/// Whether `word` is a form of a verb of [`DYING`] with a tag `accept` takes.
/// The dictionary the tables come from lists `lijden` as a noun only, so its
/// infinitive is known here by its spelling.
fn is_dying(r: &Reading<'_>, word: &str, accept: impl Fn(Tag) -> bool) -> bool {
    (word == "lijden" && accept(Tag::Infinitive))
        || r.morphology.analyses(word).iter().any(|a| accept(a.tag) && DYING.contains(&r.morphology.lemma(a.lemma)))
}

/// Verbs of dying: with the writer as their subject they threaten nobody.
const DYING: [&str; 7] = ["sterven", "doodgaan", "creperen", "verrekken", "doodbloeden", "sneuvelen", "lijden"];

/// Whether the predicate from `first` to `last` is dying ("dood", `sterven`)
/// with the writer as its subject: the writer's pronoun within two words of
/// it, or next to `ga`/`gaan` in its clause ("ga ik echt even dood").
fn writer_dies(r: &Reading<'_>, clause: usize, first: usize, last: usize) -> bool {
    // "dood" before a verb kills ("ik ga die X dood maken").
    let verb_after = |i: usize| {
        r.tokens.get(i + 1).is_some_and(|n| r.morphology.analyses(&n.norm).iter().any(|a| a.tag.kind() == Kind::Now))
    };
    // A separable verb's particle "dood" kills ("ik rijd hem dood") unless
    // its verb is one of dying ("ik ga … dood", `doodgaan`).
    let separable_dying = first != last && separable_in(r, first, "dood", &DYING);
    let dying = [first, last].into_iter().filter_map(|i| Some((i, r.tokens.get(i)?))).any(|(i, t)| {
        (t.norm == "dood" && !verb_after(i) && (first == last || separable_dying)) || is_dying(r, &t.norm, |_| true)
    });
    let near = (first.saturating_sub(2)..=last + 2).filter_map(|i| r.tokens.get(i)).any(is_writer);
    let clause_words: Vec<(usize, &Token<'_>)> = words(r, clause).collect();
    // Not across `dat`: "ik ga ervoor zorgen dat ze sterven" has another subject.
    let subordinate_between =
        |from: usize| clause_words.iter().any(|(i, t)| t.norm == "dat" && *i > from && *i < first);
    let going = clause_words.windows(2).any(|pair| {
        let going = |t: &Token<'_>| matches!(t.norm.as_ref(), "ga" | "gaan");
        let ((_, a), (second, b)) = (pair[0], pair[1]);
        ((is_writer(a) && going(b)) || (going(a) && is_writer(b))) && !subordinate_between(second)
    });
    dying && (near || going)
}

/// Whether the clause says "some day" (`ooit`, `uiteindelijk`, `eenmaal`):
/// dying then is everybody's lot, wished on nobody.
fn some_day(r: &Reading<'_>, clause: usize) -> bool {
    words(r, clause).any(|(_, t)| matches!(t.norm.as_ref(), "ooit" | "uiteindelijk" | "eenmaal" | "someday"))
}

/// Whether a word is the writer as a subject (`ik`, `we`, `wij`, `i`).
fn is_writer(t: &Token<'_>) -> bool {
    WRITER.contains(&t.norm.as_ref())
}

/// The writer as a subject.
pub(super) const WRITER: [&str; 4] = ["ik", "we", "wij", "i"];

/// Pronouns by which the writer or the subject harms himself ("ik martel mezelf").
const SELF: [&str; 5] = ["mezelf", "mijzelf", "zichzelf", "onszelf", "myself"];

/// Whether a verb of saying with `dat` stands before token `at` in its
/// clause, said by somebody other than the writer ("wie zegt dat …", "hij
/// dreigde dat …"; not "ik zeg dat …", which is the writer's own).
fn reported_before(r: &Reading<'_>, clause: usize, at: usize) -> bool {
    let (first, last) = r.ranges.get(clause).copied().unwrap_or((0, 0));
    let before = r.tokens.get(first..at.min(last).max(first)).unwrap_or_default();
    (0..before.len()).any(|k| says_another(before, k) && that_follows(before, k))
}

/// Whether word `k` of `words` (a run of one clause's words) is a verb of
/// saying with no writer's pronoun right before or after it ("hij zei",
/// "wie roept"; not "ik zeg", "zeggen we").
pub(super) fn says_another(words: &[Token<'_>], k: usize) -> bool {
    let writer = |k: Option<usize>| k.and_then(|k| words.get(k)).is_some_and(is_writer);
    words.get(k).is_some_and(|t| SPEECH.contains(&t.norm.as_ref())) && !writer(k.checked_sub(1)) && !writer(Some(k + 1))
}

/// Whether `dat` follows word `k` of `words` within three words: what follows is what was said.
pub(super) fn that_follows(words: &[Token<'_>], k: usize) -> bool {
    words.iter().skip(k + 1).take(3).any(|w| w.norm == "dat")
}

/// The plural modals: a normative eradication needs one ("moeten uitgeroeid worden").
const PLURAL_MODALS: [&str; 5] = ["moeten", "mogen", "verdienen", "horen", "zouden"];

/// How far the complement may stand from its modal ("moeten allemaal gewoon dood").
const NORMATIVE_REACH: usize = 4;

/// Whether `word` is a form of a harm or violence verb with one of `tags`
/// ("afgemaakt" is the participle of afmaken).
fn harm_verb_form(r: &Reading<'_>, word: &str, tags: &[Tag]) -> bool {
    r.morphology.analyses(word).iter().any(|a| tags.contains(&a.tag) && r.harm_lemmas.contains(&a.lemma))
}

/// A normative threat: a person as subject (a target word, a pronoun that
/// points at people, a capitalised name or a pointed-at noun that names
/// people) + a modal of obligation or desert + death or destruction within
/// a few words ("Die raadsleden moeten dood", "ze verdienen de kogel", "de
/// hele raad mag wat mij betreft dood", "asielzoekers horen aan de galg",
/// "die wethouders moeten allemaal afgeslacht worden"). "De tomatenplanten moeten dood door
/// de vorst" has no person and is no threat. The subject is never looked up
/// as a group (rule L11): a group word neither makes nor breaks it.
fn normative_in(r: &Reading<'_>, clause: usize) -> Option<Hit> {
    if r.held.get(clause).copied().unwrap_or(false) {
        return None;
    }
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let (at, modal) = clause_words
        .iter()
        .position(|(_, t)| NORMATIVE_MODALS.contains(&t.norm.as_ref()))
        .map(|at| (at, clause_words[at].0))?;
    // Death or destruction: a word of the list, or the participle or
    // infinitive of a harm or violence verb ("moeten afgeslacht worden",
    // "mogen van mij verbranden").
    let harms = |t: &Token<'_>| {
        NORMATIVE_HARM.contains(&t.norm.as_ref())
            || harm_verb_form(r, &t.norm, &[Tag::Participle, Tag::Infinitive])
            // Suffering is wished ("ik wil ze zien lijden"); "moeten lijden" is as often anger.
            || (t.norm != "lijden" && is_dying(r, &t.norm, |tag| tag == Tag::Infinitive))
    };
    // In a verb-final clause the complement stands before the last verb of
    // the cluster ("zouden bij de geboorte al afgemaakt moeten worden", "horen
    // aan een boom te hangen"): the reach runs to that verb too.
    let cluster_end = clause_words
        .iter()
        .enumerate()
        .skip(at + 1)
        .take(2 * NORMATIVE_REACH)
        .filter(|(_, (_, t))| NORMATIVE_MODALS.contains(&t.norm.as_ref()) || matches!(t.norm.as_ref(), "worden" | "te"))
        .map(|(k, _)| k + 1)
        .next_back()
        .unwrap_or(0);
    // "homo's" is two words here (`homo`, `s`): a plural so written right
    // after the modal takes one more.
    let apostrophe_after = usize::from(apostrophe_plural(r, &clause_words, at + 1));
    let reach = NORMATIVE_REACH.max(cluster_end.saturating_sub(at)) + apostrophe_after;
    let found = clause_words.iter().skip(at + 1).take(reach).find(|(_, t)| harms(t)).map(|(i, t)| (*i, *t));
    // Or life denied: "X horen niet te leven", "er zou geen enkele X mogen
    // bestaan" — living or existing as the clause's last word, denied
    // after the modal ("… niet te leven in armoede" says how, not whether).
    let life_denied = || {
        let (end, last_word) = clause_words.last().filter(|(_, t)| matches!(t.norm.as_ref(), "leven" | "bestaan"))?;
        let last = clause_words.len() - 1;
        let within = last <= at + reach;
        // Only the verb cluster between the denial and the verb: "niet te
        // leven", "niet meer mogen bestaan", "geen enkele X mogen bestaan";
        // "niet in een kooi te leven" says where.
        let cluster = |t: &Token<'_>| {
            matches!(t.norm.as_ref(), "te" | "meer" | "langer" | "mogen" | "moeten" | "horen" | "zouden" | "zou")
        };
        let denied = (at + 1..last).any(|k| {
            let (_, t) = clause_words[k];
            let from = match t.norm.as_ref() {
                "niet" | "nooit" => k + 1,
                "geen" if clause_words.get(k + 1).is_some_and(|(_, n)| n.norm == "enkele") => k + 3,
                "geen" => k + 2,
                _ => return false,
            };
            clause_words.get(from..last).is_some_and(|between| between.iter().all(|(_, w)| cluster(w)))
        });
        (within && denied).then_some((*end, *last_word))
    };
    let denies_life = found.is_none();
    let (harm, harm_word) = found.or_else(life_denied)?;
    let dying = harm_word.norm == "dood" || is_dying(r, &harm_word.norm, |_| true);
    if dying && some_day(r, clause) {
        return None;
    }
    // "Racisme moet uitgeroeid worden" is about an evil, "X moeten uitgeroeid worden" about people.
    let eradication = !denies_life
        && !NORMATIVE_HARM.contains(&harm_word.norm.as_ref())
        && r.morphology.analyses(&harm_word.norm).iter().all(|a| ERADICATION.contains(&r.morphology.lemma(a.lemma)));
    if eradication {
        // A plural subject right before the modal ("X moeten uitgeroeid
        // worden"); with the writer after the modal the noun before it is
        // the object ("armoede moeten we uitroeien"), which the intent reading judges.
        let plural_modal = PLURAL_MODALS.contains(&clause_words[at].1.norm.as_ref());
        let writer_after = clause_words
            .get(at + 1)
            .is_some_and(|(_, t)| matches!(t.norm.as_ref(), "we" | "wij" | "ik" | "je" | "jullie"));
        let before = at.checked_sub(1).and_then(|b| clause_words.get(b));
        let plural_subject = before.is_some_and(|(_, t)| {
            looks_plural(&t.norm)
                || NORMATIVE_SUBJECTS.contains(&t.norm.as_ref())
                || (t.norm == "s" && at >= 2 && apostrophe_plural(r, &clause_words, at - 2))
        });
        // A people as one ("dat tuig moet uitgeroeid worden") takes a singular modal.
        let collective = before.is_some_and(|(_, t)| COLLECTIVES.iter().any(|c| t.norm.ends_with(c)));
        if !(plural_modal && plural_subject || collective) || writer_after {
            return None;
        }
    }
    if reported_before(r, clause, modal) {
        return None;
    }
    // A negation between ("moet niet dood") or a question leaves it alone.
    // In a subordinate clause the negation stands before the modal ("dat je ze niet moet aanvallen").
    let negated = !denies_life
        && clause_words.iter().any(|(i, t)| {
            *i + 3 >= modal && *i < harm && *i != modal && matches!(t.norm.as_ref(), "niet" | "nooit" | "geen")
        });
    if negated {
        return None;
    }
    let target = r
        .occurrences
        .iter()
        .find(|o| o.clause == clause && o.group == G_TARGET && !o.negated)
        .map(|o| o.m.evidence.clone());
    let person = target.or_else(|| {
        // The subject right before the modal, or right after it ("moeten ze allemaal dood").
        // After the modal, "die" or "deze" before a noun points at the
        // object ("we moeten die ganzen afschieten"), which the intent
        // reading judges; it is no subject.
        let pronoun = [at.checked_sub(1), Some(at + 1)]
            .into_iter()
            .flatten()
            .filter_map(|k| Some((k, clause_words.get(k)?)))
            .find(|(k, (_, t))| {
                let determiner = *k > at
                    && matches!(t.norm.as_ref(), "die" | "deze")
                    && clause_words.get(k + 1).is_some_and(|(_, n)| noun_word(r, &n.norm));
                NORMATIVE_SUBJECTS.contains(&t.norm.as_ref()) && !determiner
            })
            .map(|(_, word)| word);
        // Function words, and the writer or everybody ("we moeten allemaal ooit sterven").
        let function_word = |w: &str| {
            matches!(
                w,
                "de" | "het"
                    | "een"
                    | "mijn"
                    | "onze"
                    | "ons"
                    | "jouw"
                    | "dit"
                    | "die"
                    | "dat"
                    | "we"
                    | "wij"
                    | "ik"
                    | "iedereen"
                    | "niemand"
                    | "men"
                    | "er"
                    | "alles"
            )
        };
        let named = clause_words.iter().take(at).enumerate().find(|(k, (_, t))| {
            // Capitalised inside the sentence, or its first word right
            // before the modal, capitalised or not ("joden moeten dood" as
            // people type it).
            // Or its first word with a relative clause up to the modal
            // ("boeren die de snelweg blokkeren moeten …").
            let relative = t.sentence_start
                && clause_words.get(*k + 1).is_some_and(|(_, n)| matches!(n.norm.as_ref(), "die" | "dat"));
            let name = (t.capitalised || (t.sentence_start && *k + 1 == at) || relative)
                && t.norm.chars().all(char::is_alphabetic)
                && !function_word(&t.norm)
                && (!t.sentence_start || *k + 1 == at || relative);
            // A plural written with an apostrophe ("homo's", "hindoe's") names people as often as not;
            // things so written ("auto's") that "must burn" are a call to violence anyway.
            // Or a phrase headed by a word for people ("zwarte mensen moeten …").
            let people = people_head(&clause_words, *k).is_some_and(|head| head < at);
            name || apostrophe_plural(r, &clause_words, *k) || person_ending(&t.norm) || people
        });
        // A phrase headed by a word for people is named whole ("zwarte mensen").
        let named = named.map(|(k, (i, _))| {
            let end = people_head(&clause_words, k).and_then(|h| clause_words.get(h)).map_or(*i, |(h, _)| *h);
            (*i, end)
        });
        // After a fronted phrase the subject follows the modal ("eerlijk
        // gezegd zouden X … moeten worden", "volgens mij moeten X dood"): a
        // bare plural there, read by its form as the first word before the
        // modal is.
        // Not after somebody else's opinion ("volgens de boer moeten …"), which reports it.
        let attributed = clause_words.first().is_some_and(|(_, t)| t.norm == "volgens")
            && !clause_words.get(1).is_some_and(|(_, t)| matches!(t.norm.as_ref(), "mij" | "ons"));
        let inverted = (at > 0 && !attributed)
            .then(|| clause_words.get(at + 1))
            .flatten()
            .filter(|(i, t)| {
                // A word as written (no emoji read as one) and not the harm itself.
                *i < harm
                    && r.text.get(t.start..t.end).is_some_and(|w| w.chars().all(char::is_alphabetic))
                    && !function_word(&t.norm)
            })
            .and_then(|_| plural_noun(r, &clause_words, at + 1, true));
        // "er zou geen enkele X mogen bestaan": the noun denied life.
        let none_of = || {
            let k = clause_words.iter().position(|(_, t)| t.norm == "geen")?;
            let noun = if clause_words.get(k + 1).is_some_and(|(_, t)| t.norm == "enkele") { k + 2 } else { k + 1 };
            let (i, t) = clause_words.get(noun)?;
            (denies_life && *i < harm && noun_word(r, &t.norm) && !function_word(&t.norm)).then_some((*i, *i))
        };
        pronoun
            .map(|(i, _)| (*i, *i))
            .or(named)
            .or(inverted)
            .or_else(none_of)
            .map(|(i, end)| written(r, i, end).to_owned())
    })?;
    Some(Hit {
        clause,
        kind: HitKind::Threat,
        strength: 1.0,
        evidence: format!("{person} + {} … {}", written(r, modal, modal), written(r, harm, harm)),
    })
}

/// Whether the predicate at `first` is a bare infinitive used as a call
/// ("die camera's eerst eraf slopen", "ketting erover en wegwezen"): no
/// finite verb before it in the clause and no `te` right before it.
fn bare_infinitive(r: &Reading<'_>, clause: usize, first: usize, last: usize) -> bool {
    let is_infinitive = |i: usize| {
        r.clauses.get(i) == Some(&clause)
            && r.tokens.get(i).is_some_and(|t| r.morphology.analyses(&t.norm).iter().any(|a| a.tag == Tag::Infinitive))
    };
    // The predicate itself, or a phrase with its verb after it ("vol stenen leggen").
    let verb = if is_infinitive(first) && first == last {
        Some(first)
    } else if is_infinitive(last + 1) {
        Some(last + 1)
    } else {
        is_infinitive(last).then_some(last)
    };
    // A call ends its phrase ("… eraf slopen, dan …", "openbreken en kortsluiten");
    // "Supporters bekogelen ME na de wedstrijd" is a headline's present tense.
    let ends_phrase = verb.is_some_and(|v| {
        let (Some(here), next) = (r.tokens.get(v), r.tokens.get(v + 1)) else { return false };
        next.is_none_or(|n| {
            r.clauses.get(v + 1) != Some(&clause)
                || matches!(n.norm.as_ref(), "en" | "of" | "dan" | "and")
                || r.text.get(here.end..n.start).is_some_and(|between| between.contains([',', ';', '-', '–']))
        })
    });
    let infinitive = verb.is_some() && ends_phrase;
    // Verb-final, after its object ("die camera's eraf slopen"); a clause that
    // opens with it is a headline ("Rellen bij azc").
    let opens = words(r, clause).next().is_none_or(|(i, _)| i == first);
    if !infinitive || opens || first.checked_sub(1).and_then(|b| r.tokens.get(b)).is_some_and(|t| t.norm == "te") {
        return false;
    }
    !words(r, clause).take_while(|(i, _)| *i < first).any(|(_, t)| {
        FINITE.contains(&t.norm.as_ref())
            || r.morphology.analyses(&t.norm).iter().any(|a| matches!(a.tag, Tag::Present | Tag::Past))
    })
}

/// Whether the writer's pronoun at `at` stands with a finite verb: the
/// predicate itself in a present form, or an auxiliary of intent between.
fn finite_near(r: &Reading<'_>, at: usize, first: usize, last: usize) -> bool {
    let lo = at.min(first).saturating_sub(0);
    let hi = at.max(last);
    (lo..=hi).filter(|i| *i != at).filter_map(|i| r.tokens.get(i)).any(|t| {
        matches!(
            t.norm.as_ref(),
            "ga" | "gaan" | "zal" | "zullen" | "wil" | "willen" | "kom" | "komen" | "will" | "gonna"
        ) || r.morphology.analyses(&t.norm).iter().any(|a| matches!(a.tag, Tag::Stem | Tag::Present | Tag::Infinitive))
    })
}

/// Auxiliaries of intent and of the conditional that carry the writer's
/// will to the verb at the end of the clause ("wij zullen jullie … één voor
/// één afslachten", "dan zou ik al die X neermaaien").
const INTENT_AUXILIARIES: [&str; 13] =
    ["zal", "zullen", "zult", "ga", "gaan", "gaat", "wil", "willen", "wilt", "zou", "zouden", "will", "would"];

/// Whether the writer's pronoun at `at` stands right next to a verb of
/// harm or a causative one (`zetten we hem op z'n kop`, `sla ik … het
/// ziekenhuis in`) or an auxiliary of intent (`wij zullen … afslachten`),
/// however far its object stretches.
fn acting_verb_next_to(r: &Reading<'_>, at: usize) -> bool {
    [at.checked_sub(1), Some(at + 1)].into_iter().flatten().filter_map(|i| r.tokens.get(i)).any(|t| {
        INTENT_AUXILIARIES.contains(&t.norm.as_ref())
            || r.morphology.analyses(&t.norm).iter().any(|a| {
                a.tag.kind() == Kind::Now
                    && (r.harm_lemmas.contains(&a.lemma) || CAUSATIVES.contains(&r.morphology.lemma(a.lemma)))
            })
    })
}

/// The token of an imperative that opens the clause, if any: the predicate's
/// own verb (`Knal ze neer`) or a causative (`Zet die bus in de fik`).
fn imperative(r: &Reading<'_>, clause: usize, predicate_first: usize) -> Option<usize> {
    let mut opening = words(r, clause).skip_while(|(_, t)| OPENERS.contains(&t.norm.as_ref())).take(1);
    let (i, t) = opening.next()?;
    // English has no verb forms to read: its imperatives are listed.
    if i == predicate_first && ENGLISH_IMPERATIVES.contains(&t.norm.as_ref()) {
        return Some(i);
    }
    // The clause's opening, or the predicate's own verb right after a comma
    // ("zwartjes hebben hier niks te zoeken, sla ze dood").
    let after_comma = predicate_first > i
        && r.tokens
            .get(predicate_first - 1)
            .zip(r.tokens.get(predicate_first))
            .is_some_and(|(before, verb)| comma_between(r.text, before, verb));
    [(i, t), (predicate_first, r.tokens.get(predicate_first)?)]
        .into_iter()
        .filter(|(at, _)| *at == i || after_comma)
        .find(|(at, word)| {
            let own = *at == predicate_first;
            let analyses = r.morphology.analyses(&word.norm);
            let stem = analyses.iter().find(|a| a.tag == Tag::Stem);
            let causative = stem.is_some_and(|a| CAUSATIVES.contains(&r.morphology.lemma(a.lemma)));
            // An infinitive before a pointed-at plural is one too ("Vergassen die X", "ophangen die verraders").
            let pointed = r.tokens.get(at + 1).is_some_and(|n| {
                PLURAL_DETERMINERS.contains(&n.norm.as_ref())
                    || PLURAL_PRONOUNS.contains(&n.norm.as_ref())
                    // "Vergassen, al die X".
                    || (n.norm == "al"
                        && r.tokens.get(at + 2).is_some_and(|d| PLURAL_DETERMINERS.contains(&d.norm.as_ref())))
            });
            let infinitive = own && pointed && analyses.iter().any(|a| a.tag == Tag::Infinitive);
            (stem.is_some() && (own || causative)) || infinitive
        })
        .map(|(at, _)| at)
}

/// The token by which the writer wishes the predicate at `first` on
/// somebody: `hoop`, `hopelijk`, `wens`, `moge`, `hoe eerder … hoe beter`,
/// or `niet wachten tot` ("ik kan niet wachten tot ze …", "… om X te …", "ik zal niet rusten voordat …").
fn wish(r: &Reading<'_>, clause: usize, first: usize) -> Option<usize> {
    let clause_words: Vec<(usize, &Token)> = words(r, clause).take_while(|(i, _)| *i < first).collect();
    clause_words.iter().enumerate().find_map(|(k, (i, t))| {
        let sooner = t.norm == "hoe"
            && clause_words.get(k + 1).is_some_and(|(_, n)| matches!(n.norm.as_ref(), "eerder" | "sneller" | "liever"));
        (WISHES.contains(&t.norm.as_ref()) || sooner || cannot_wait(&clause_words, k)).then_some(*i)
    })
}

/// Whether word `k` is `wachten` or `rusten` in "niet wachten tot/totdat",
/// "niet rusten tot": impatience for what follows, where the `niet` negates
/// the waiting, not the harm.
fn cannot_wait(clause_words: &[(usize, &Token<'_>)], k: usize) -> bool {
    let norm = |k: Option<usize>| k.and_then(|k| clause_words.get(k)).map(|(_, t)| t.norm.as_ref());
    matches!(norm(Some(k)), Some("wachten" | "rusten"))
        && norm(k.checked_sub(1)) == Some("niet")
        && matches!(norm(Some(k + 1)), Some("tot" | "totdat" | "voordat" | "om"))
}

fn doxxing_in(r: &Reading<'_>, clause: usize) -> Option<Hit> {
    // Most clauses hold nothing address-like: no number, no "woont", no doxxing phrase.
    let maybe = words(r, clause).any(|(_, t)| {
        t.norm.as_bytes().first().is_some_and(u8::is_ascii_digit) || RESIDENCE_VERBS.contains(&t.norm.as_ref())
    }) || r.occurrences.iter().any(|o| o.clause == clause && o.group == G_DOXXING);
    if !maybe {
        return None;
    }
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    // Something address-like in this clause: a street with a number, a
    // postcode, "woont … in/op/aan" with what follows, or a doxxing phrase.
    let mut address: Option<String> = None;
    for (at, (i, t)) in clause_words.iter().enumerate() {
        let next = clause_words.get(at + 1);
        let number = next.is_some_and(|(_, n)| house_number(&n.norm));
        if number
            && STREET_ENDINGS.iter().any(|e| t.norm.len() > e.len() + 2 && t.norm.ends_with(e))
            && let Some((j, _)) = next
        {
            address = Some(written(r, *i, *j).to_owned());
            break;
        }
        let postcode = t.norm.len() == 4
            && t.norm.bytes().all(|b| b.is_ascii_digit())
            && (next.is_some_and(|(_, n)| {
                n.norm.len() == 2
                    && r.text.get(n.start..n.end).is_some_and(|w| w.bytes().all(|b| b.is_ascii_uppercase()))
            }) || at.checked_sub(1).and_then(|b| clause_words.get(b)).is_some_and(|(_, p)| p.norm == "in"));
        if postcode {
            address = Some(written(r, *i, next.map_or(*i, |(j, _)| *j)).to_owned());
            break;
        }
        if RESIDENCE_VERBS.contains(&t.norm.as_ref()) {
            let place = clause_words
                .iter()
                .skip(at + 1)
                .take(3)
                .position(|(_, w)| matches!(w.norm.as_ref(), "in" | "op" | "aan" | "bij" | "at" | "near"));
            if let Some(offset) = place
                && let Some((end, _)) = clause_words.get((at + 2 + offset).min(clause_words.len().saturating_sub(1)))
            {
                address = Some(written(r, *i, *end).to_owned());
                break;
            }
        }
    }
    if address.is_none() {
        address = r
            .occurrences
            .iter()
            .find(|o| o.clause == clause && o.group == G_DOXXING && !o.negated)
            .map(|o| o.m.evidence.clone());
    }
    let address = address?;
    // Somebody lives there: a word of residence in the message ("woont", "adres", 📍),
    // so a town hall's street address in an invitation is not doxxing.
    let residence =
        r.tokens.iter().any(|t| RESIDENCE.contains(&t.norm.as_ref()) || RESIDENCE_VERBS.contains(&t.norm.as_ref()))
            || r.occurrences.iter().any(|o| o.group == G_DOXXING && !o.negated);
    // A person: an official anywhere, a pronoun, a pointed-at person or a capitalised name in this clause.
    let official = r.occurrences.iter().find(|o| o.group == G_TARGET).map(|o| o.m.evidence.clone());
    let person = official.or_else(|| {
        clause_words
            .iter()
            .find(|(_, t)| {
                matches!(t.norm.as_ref(), "hij" | "zij" | "ze" | "hem" | "haar" | "he" | "she" | "him" | "her")
                    || (t.capitalised
                        && !t.sentence_start
                        && !address.contains(r.text.get(t.start..t.end).unwrap_or("\u{0}")))
            })
            .map(|(i, _)| written(r, *i, *i).to_owned())
    })?;
    // An invitation anywhere in the message: a suggestive word or emoji
    // ("ga maar eens langs", "kerstbezoekje", 👀), or a call when somebody
    // lives there; a call to the town hall's address is not doxxing.
    let suggestive = r
        .tokens
        .iter()
        .find(|t| {
            INVITATIONS.contains(&t.norm.as_ref())
                || t.norm.contains("bezoek")
                || r.text.get(t.start..t.end).is_some_and(|w| !w.chars().any(char::is_alphanumeric))
        })
        .map(|t| r.text.get(t.start..t.end).unwrap_or_default().to_owned());
    let call = || {
        r.occurrences
            .iter()
            .find(|o| matches!(o.group, G_CALL | G_GATHERING | G_INTENT) && !o.negated)
            .map(|o| o.m.evidence.clone())
    };
    let invitation = suggestive.or_else(|| if residence { call() } else { None })?;
    Some(Hit {
        clause,
        kind: HitKind::Doxxing,
        strength: 1.0,
        evidence: format!("{person} + {address} + {invitation}"),
    })
}

/// `de volgende X`, `de eerste X`, `de eerste de beste X` starting at word
/// `at` of a clause: whoever comes next, a target as much as `elke X`. The
/// noun's place among the clause words and its token.
fn first_or_next(r: &Reading<'_>, clause_words: &[(usize, &Token<'_>)], at: usize) -> Option<(usize, usize)> {
    let norm = |k: usize| clause_words.get(k).map(|(_, t)| t.norm.as_ref());
    if norm(at) != Some("de") || !matches!(norm(at + 1), Some("volgende" | "eerste" | "eerstvolgende")) {
        return None;
    }
    let noun_at = if norm(at + 2) == Some("de") && norm(at + 3) == Some("beste") { at + 4 } else { at + 2 };
    let (i, noun) = clause_words.get(noun_at)?;
    // "de volgende keer", "de eerste dag" say when, not whom.
    let time = matches!(noun.norm.as_ref(), "keer" | "dag" | "week" | "maand" | "jaar" | "avond" | "nacht" | "ochtend");
    (noun_word(r, &noun.norm) && !time).then_some((noun_at, *i))
}

/// Whether a word can be a noun: the tables read it as one, or do not know it.
fn is_noun(r: &Reading<'_>, word: &str) -> bool {
    let analyses = r.morphology.analyses(word);
    analyses.is_empty() || analyses.iter().any(|a| a.tag.kind() == Kind::Noun)
}

/// Whether a word can stand as the noun of a phrase: letters only, a noun
/// or unknown to the tables, and no determiner or pronoun.
fn noun_word(r: &Reading<'_>, word: &str) -> bool {
    word.chars().all(char::is_alphabetic) && is_noun(r, word) && !not_a_noun(word)
}

/// The noun at word `k` of a clause when its form is plural: `-en`, `-s`
/// or an apostrophe ("homo's", which ends on its `s` token), and with
/// `by_person_ending` a person's ending too ("-lui"); never a word of
/// [`NOT_PLURAL_NOUNS`]. The places of its first and last token.
fn plural_noun(
    r: &Reading<'_>,
    clause_words: &[(usize, &Token<'_>)],
    k: usize,
    by_person_ending: bool,
) -> Option<(usize, usize)> {
    let (i, t) = clause_words.get(k)?;
    let apostrophe = apostrophe_plural(r, clause_words, k);
    let plural = looks_plural(&t.norm) || apostrophe || (by_person_ending && person_ending(&t.norm));
    (plural && noun_word(r, &t.norm) && !NOT_PLURAL_NOUNS.contains(&t.norm.as_ref()))
        .then(|| (*i, if apostrophe { *i + 1 } else { *i }))
}

/// `12`, `12a`, `3-5`: a house number.
fn house_number(word: &str) -> bool {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    (1..=4).contains(&digits) && word.len() - digits <= 1
}

/// `doe … pijn` in one clause ("ik doe ze allemaal pijn", "ik ga elke X
/// pijn doen"): a form of `doen` now with `pijn` after it, no negation
/// right before `pijn` ("ik doe je geen pijn"). The token range of both.
fn pain_in(r: &Reading<'_>, clause: usize) -> Option<(usize, usize)> {
    let clause_words: Vec<(usize, &Token)> = words(r, clause).collect();
    let verb = clause_words.iter().position(|(_, t)| {
        r.morphology
            .analyses(&t.norm)
            .iter()
            .any(|a| a.tag.kind() == Kind::Now && r.morphology.lemma(a.lemma) == "doen")
    })?;
    let pain = clause_words.iter().skip(verb + 1).position(|(_, t)| t.norm == "pijn")? + verb + 1;
    let negated = pain
        .checked_sub(1)
        .and_then(|b| clause_words.get(b))
        .is_some_and(|(_, t)| matches!(t.norm.as_ref(), "geen" | "niet" | "nooit" | "nergens" | "niemand"));
    if negated {
        return None;
    }
    Some((clause_words[verb].0, clause_words[pain].0))
}

/// Words the tables do not know that still are no noun: what follows the
/// conjunction `dat` ("ik hoop dat alle X …", "dat ze …") is no pointed-at noun phrase.
fn not_a_noun(word: &str) -> bool {
    DETERMINERS.contains(&word)
        || OBJECT_PRONOUNS.contains(&word)
        || matches!(word, "ik" | "we" | "wij" | "hij" | "zij" | "er" | "het" | "de" | "een" | "iemand" | "niemand")
}
