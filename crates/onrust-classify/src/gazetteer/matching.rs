//! Finding names and postcodes in a message's tokens: longest name first,
//! each with what the words around it say (capitalised? after "in"?), and
//! which of the places of that name the writing admits.

use super::Gazetteer;
use super::postcode::{self, Postcode};
use super::tiers::{Entry, flag};
use crate::normalize::Token;

/// Words before a capitalised name that make it a surname ("Van der Veen").
const PARTICLES: &[&str] = &["van", "de", "der", "den", "ter", "ten", "vd"];

/// Words that put what follows on the map: "in Lunetten", "op de Neude".
const LOCATIVES: &[&str] = &[
    "in", "op", "bij", "naar", "uit", "rond", "rondom", "vanuit", "richting", "nabij", "via", "langs", "te",
    "omgeving", "wijk", "buurt", "station", "aan",
];

/// Articles between a locative and a name ("op de Neude", "in het Zand").
const ARTICLES: &[&str] = &["de", "het", "t"];

/// How the words around a mention read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Surface {
    /// Written with a capital as a name is: the last word capitalised and not a hashtag.
    pub capitalised: bool,
    /// A one-word name that starts a sentence, where every word has a capital.
    pub sentence_start: bool,
    /// A one-word name after a surname particle that belongs to a surname:
    /// "Henk van Houten", "Van Houten zei", not "de burgemeester van Houten".
    pub surname: bool,
    /// After a locative ("in", "op de", …).
    pub located: bool,
    /// A one-word name that starts a sentence followed by a dash or colon, as
    /// a dateline or a headline's place is: "HOUTEN - De politie …", "Houten: …".
    pub headed: bool,
}

/// Whether the writing admits a place of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    No,
    /// Counts on its own (still subject to ambiguity).
    Alone,
    /// Counts only if another place in the message, the source or a postcode
    /// vouches for its municipality (an ordinary word without "in"/"op" before it).
    WithSupport,
}

impl Surface {
    /// What the writing admits of `entry`. A name that is also an ordinary
    /// word (flag `w`, or listed in `capitalised_only`: "Lunetten", "Zuilen",
    /// "Houten", "Huizen") counts only with a capital: never in lowercase,
    /// not even after "in" or "op" ("in zuilen", "een houten bank"), and not
    /// as part of a surname. Starting a sentence it needs support (a place in
    /// the same municipality, or the source), unless it heads the text as a
    /// dateline does ("HOUTEN - …"). Any other name counts in lowercase too
    /// ("rellen in overvecht"), as people write on social media.
    pub fn admits(self, entry: &Entry) -> Admission {
        let word_too = entry.has(flag::ORDINARY | flag::CAPITALISED_ONLY);
        if word_too {
            if !self.capitalised || self.surname {
                return Admission::No;
            }
            if self.sentence_start && !self.headed {
                return Admission::WithSupport;
            }
        }
        if entry.has(flag::ALTERNATE | flag::PARTIAL) {
            return Admission::WithSupport;
        }
        // An ordinary word written as a name: "in Lunetten" says it is the place, "een Lunetten" does not.
        if entry.has(flag::ORDINARY) && !self.located && !self.headed {
            return Admission::WithSupport;
        }
        Admission::Alone
    }
}

/// What a mention found.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found<'g> {
    /// Entry ids of every place with that name; and, for a name that starts
    /// with an article written in lowercase ("de Staatsliedenbuurt"), those
    /// of the name without it, which the writer may equally have meant, with
    /// how the words read without the article.
    Name(&'g [u32], &'g [u32], Surface),
    /// A postcode; `alone` is false for a bare PC4 that needs a name beside it.
    Postcode { code: Postcode, municipalities: &'g [u16], alone: bool },
}

/// A name or postcode in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mention<'g> {
    /// Byte span in the text.
    pub start: usize,
    pub end: usize,
    pub found: Found<'g>,
    pub surface: Surface,
}

fn is_particle(token: &Token) -> bool {
    PARTICLES.contains(&token.norm.as_ref())
}

fn surface_of(text: &str, tokens: &[Token], first: usize, last: usize) -> Surface {
    let before = |n: usize| first.checked_sub(n).and_then(|i| tokens.get(i));
    let word_before = |n: usize| before(n).map(|t| t.norm.as_ref());
    let after_article = word_before(1).is_some_and(|w| ARTICLES.contains(&w));
    let located = word_before(1).is_some_and(|w| LOCATIVES.contains(&w))
        || (after_article && word_before(2).is_some_and(|w| LOCATIVES.contains(&w)));
    let one_word = first == last;
    // "op de Neude" is an article. A lowercase "van" after a lowercase word is
    // the one of "het gemeentehuis van Houten"; after a first name, or with a
    // capital of its own, it starts a surname ("Henk van Houten", "Van Houten"),
    // as every other particle does ("Henk de Vries", "van de Sluis").
    let surname = one_word
        && !located
        && before(1).is_some_and(|particle| {
            let genitive = particle.norm == "van"
                && !particle.capitalised
                && !particle.sentence_start
                && before(2).is_some_and(|w| !w.capitalised);
            is_particle(particle) && !genitive
        });
    let (capitalised, sentence_start) = match (tokens.get(first), tokens.get(last)) {
        (Some(head), Some(tail)) => (tail.capitalised && !tail.hashtag, one_word && head.sentence_start),
        _ => (false, false),
    };
    // A dash or colon with a space after it: "Blauw-gele kaarsen" is a compound.
    let headed = sentence_start
        && tokens.get(last).and_then(|t| text.get(t.end..)).is_some_and(|rest| {
            let mut chars = rest.trim_start_matches([' ', '\t']).chars();
            chars.next().is_some_and(|c| matches!(c, '-' | '\u{2013}' | '\u{2014}' | ':'))
                && chars.next().is_none_or(char::is_whitespace)
        });
    Surface { capitalised, sentence_start, surname, located, headed }
}

impl Gazetteer {
    /// The entries of the name spelled by exactly these tokens, if it is one.
    fn ending_at_words(&self, tokens: &[Token]) -> &[u32] {
        let Some((first, rest)) = tokens.split_first() else { return &[] };
        let Some(mut node) = self.index.first(&first.norm) else { return &[] };
        for token in rest {
            match self.index.word(&token.norm).and_then(|w| self.index.child(node, w)) {
                Some(next) => node = next,
                None => return &[],
            }
        }
        self.index.ending_at(node)
    }

    /// Every name and postcode in `tokens`, left to right, longest name first;
    /// a name right after "provincie" is the province and is skipped.
    pub(crate) fn mentions(&self, text: &str, tokens: &[Token]) -> Vec<Mention<'_>> {
        let mut mentions = Vec::new();
        // Ends of the names that start at the current token: (last token, node).
        let mut ends: Vec<(usize, u32)> = Vec::with_capacity(self.index.longest);
        let mut i = 0;
        while i < tokens.len() {
            if let Some(postcode::WrittenPostcode { code, tokens: len, alone }) = postcode::read(text, tokens, i) {
                let municipalities = self.postcodes.municipalities(code);
                if !municipalities.is_empty() {
                    let (start, end) = (tokens[i].start, tokens[i + len - 1].end);
                    let found = Found::Postcode { code, municipalities, alone };
                    mentions.push(Mention { start, end, found, surface: surface_of(text, tokens, i, i + len - 1) });
                    i += len;
                    continue;
                }
            }
            // Most tokens start no name: one look-up says so.
            let Some(mut node) = self.index.first(&tokens[i].norm) else {
                i += 1;
                continue;
            };
            ends.clear();
            if !self.index.ending_at(node).is_empty() {
                ends.push((i, node));
            }
            for (j, token) in tokens.iter().enumerate().skip(i + 1).take(self.index.longest.saturating_sub(1)) {
                let Some(next) = self.index.word(&token.norm).and_then(|w| self.index.child(node, w)) else { break };
                node = next;
                if !self.index.ending_at(node).is_empty() {
                    ends.push((j, node));
                }
            }
            let matched = ends.iter().rev().find_map(|&(last, node)| {
                let candidates = self.index.ending_at(node);
                let surface = surface_of(text, tokens, i, last);
                let admitted = candidates
                    .iter()
                    .any(|&e| self.entries.get(e as usize).is_some_and(|e| surface.admits(e) != Admission::No));
                admitted.then_some((last, candidates, surface))
            });
            let Some((last, candidates, surface)) = matched else {
                i += 1;
                continue;
            };
            let province = i.checked_sub(1).is_some_and(|p| matches!(tokens[p].norm.as_ref(), "provincie" | "prov"));
            let article = last > i && ARTICLES.contains(&tokens[i].norm.as_ref()) && !tokens[i].capitalised;
            // "Henk de Meern" is a person.
            let surname = article && !surface.located && i.checked_sub(1).is_some_and(|p| tokens[p].capitalised);
            if !province && !surname {
                let without_article =
                    if article { self.ending_at_words(tokens.get(i + 1..=last).unwrap_or_default()) } else { &[] };
                let bare = if article { surface_of(text, tokens, i + 1, last) } else { surface };
                let (start, end) = (tokens[i].start, tokens[last].end);
                mentions.push(Mention { start, end, found: Found::Name(candidates, without_article, bare), surface });
            }
            i = last + 1;
        }
        mentions
    }
}
