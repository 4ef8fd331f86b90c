//! Whether words name people, read by their form and never looked up as a
//! group (rule L11): the grammar needs to tell "die X moeten hangen" (people)
//! from "die schilderijen moeten hangen" (things) without a list of groups.
//!
//! People are named by a capitalised word inside the sentence ("alle
//! Turken"), a plural with an apostrophe ("homo's"), a person's ending
//! ("asielzoekers", "feministen"), or a phrase headed by a word that means
//! people and nothing else ("die mensen", "zwarte mensen", "trans personen").

use super::{Reading, not_a_noun};
use crate::normalize::Token;

/// Endings of nouns that name people, for a pointed-at subject ("die
/// zakkenvullers", "zulke handhavers"); things ("die printer") do not end so.
const PERSON_ENDINGS: [&str; 8] = ["ers", "aars", "isten", "leden", "lui", "mensen", "genoten", "ici"];

/// Words that mean people and name no group: the head of "zwarte mensen",
/// "trans personen", "die lui". An adjective before them or a determiner
/// makes the phrase; which adjective is never looked at.
const PEOPLE: [&str; 8] = ["mensen", "personen", "lieden", "lui", "figuren", "types", "people", "persons"];

/// What `ophangen`, `afmaken`, `afschieten`, `uitroeien` and `verdelgen` are
/// said of besides people, in the plural, also as the tail of a compound
/// ("kerstballen", "huiswerkopdrachten"): things hung up, work finished,
/// fireworks and game shot, livestock culled, pests, diseases and evils
/// eradicated. A pointed-at plural that is none of these is
/// people for those verbs ("ik ga alle X afmaken"), whatever the noun: the
/// list names what is no person, never a group (rule L11).
const OTHER_OBJECTS: [&str; 97] = [
    // Hung up.
    "schilderijen",
    "foto",
    "lampen",
    "lampjes",
    "posters",
    "vlaggen",
    "vlaggetjes",
    "jassen",
    "kleren",
    "slingers",
    "ballen",
    "lampions",
    "gordijnen",
    "borden",
    "bordjes",
    "spandoeken",
    "affiches",
    "kaarten",
    "kaartjes",
    "tekeningen",
    "lijsten",
    "spiegels",
    "klokken",
    "planken",
    "kastjes",
    "kasten",
    "camera",
    "huisjes",
    "hangmatten",
    "lichtjes",
    "verlichting",
    "versiering",
    "versieringen",
    "sokken",
    // Finished.
    "opdrachten",
    "taken",
    "klussen",
    "klusjes",
    "projecten",
    "zinnen",
    "verhalen",
    "boeken",
    "hoofdstukken",
    "levels",
    "spellen",
    "games",
    "puzzels",
    "wedstrijden",
    "series",
    "seizoenen",
    "cursussen",
    "studies",
    "verslagen",
    "werkstukken",
    "brieven",
    "lijstjes",
    "taarten",
    "flessen",
    "pizza",
    "restjes",
    // Shot: fireworks and game.
    "pijlen",
    "raketten",
    "wolven",
    "ganzen",
    "herten",
    "zwijnen",
    "vossen",
    "duiven",
    "kraaien",
    "konijnen",
    "hazen",
    "eenden",
    // Culled.
    "kippen",
    "varkens",
    "nertsen",
    "koeien",
    "schapen",
    "geiten",
    "ratten",
    "muizen",
    "beesten",
    "dieren",
    // Eradicated.
    "ziektes",
    "ziekten",
    "virussen",
    "bacteriën",
    "muggen",
    "wespen",
    "insecten",
    "kakkerlakken",
    "onkruiden",
    "plagen",
    "exoten",
    "soorten",
    "vooroordelen",
    "misstanden",
    "problemen",
];

/// Whether a plural noun names something [`OTHER_OBJECTS`] lists, alone or as
/// a compound's tail.
pub(super) fn other_than_people(noun: &str) -> bool {
    // "foto's" as written: the list holds the word before the apostrophe.
    let noun = noun.trim_end_matches("'s").trim_end_matches("’s");
    OTHER_OBJECTS.iter().any(|o| noun.ends_with(o))
}

/// Whether the noun at `at` of a clause is people as the object of a verb
/// that kills or does (`afmaken`, `uitroeien`, …): it names people by its
/// form, looks plural, or the caller knows more (`also`: a relative clause,
/// a collective), and it is none of [`OTHER_OBJECTS`].
pub(super) fn people_for_verb(r: &Reading<'_>, clause_words: &[(usize, &Token<'_>)], at: usize, also: bool) -> bool {
    clause_words.get(at).is_some_and(|(_, noun)| {
        (names_people(r, clause_words, at) || looks_plural(&noun.norm) || also) && !other_than_people(&noun.norm)
    })
}

/// Whether the word at `at` of a clause is a plural written with an apostrophe ("homo's").
pub(super) fn apostrophe_plural(r: &Reading<'_>, clause_words: &[(usize, &Token<'_>)], at: usize) -> bool {
    let (Some((_, word)), Some((_, s))) = (clause_words.get(at), clause_words.get(at + 1)) else { return false };
    s.norm == "s" && r.text.get(word.end..s.start).is_some_and(|between| matches!(between, "'" | "’"))
}

/// Whether a noun looks plural: `-en` ("joden", "vluchtelingen") or `-s`
/// after anything but a long vowel or another `s` ("moslims",
/// "transgenders"; not "kaas", "huis", "pers").
pub(super) fn looks_plural(noun: &str) -> bool {
    let long_vowel_s = ["aas", "oos", "ees", "uis", "ies", "eis", "ijs", "ous", "ss", "us", "is"];
    noun.len() > 3 && (noun.ends_with("en") || (noun.ends_with('s') && !long_vowel_s.iter().any(|e| noun.ends_with(e))))
}

/// Whether a noun ends as nouns that name people do (`-ers`, `-isten`, `-leden`, …).
pub(super) fn person_ending(noun: &str) -> bool {
    PERSON_ENDINGS.iter().any(|e| noun.len() > e.len() + 2 && noun.ends_with(e))
}

/// Whether a word means people and names no group (`mensen`, `personen`).
pub(super) fn is_people_word(word: &str) -> bool {
    PEOPLE.contains(&word)
}

/// Where the phrase that starts at word `at` names people by a word that
/// means people: `at` itself ("mensen met een beperking") or the word after
/// an adjective ("zwarte mensen", "trans personen"). The place of that word.
pub(super) fn people_head(clause_words: &[(usize, &Token<'_>)], at: usize) -> Option<usize> {
    let people = |k: usize| clause_words.get(k).is_some_and(|(_, t)| is_people_word(&t.norm));
    if people(at) {
        return Some(at);
    }
    let adjective =
        clause_words.get(at).is_some_and(|(_, t)| t.norm.chars().all(char::is_alphabetic) && !not_a_noun(&t.norm));
    (adjective && people(at + 1)).then_some(at + 1)
}

/// Whether the word at `at` of a clause names people by its form: a
/// capitalised word inside the sentence, a plural with an apostrophe, a
/// person's ending, or the start of a phrase headed by a word for people.
pub(super) fn names_people(r: &Reading<'_>, clause_words: &[(usize, &Token<'_>)], at: usize) -> bool {
    clause_words.get(at).is_some_and(|(_, t)| {
        (t.capitalised && !t.sentence_start)
            || apostrophe_plural(r, clause_words, at)
            || person_ending(&t.norm)
            || people_head(clause_words, at).is_some()
    })
}
