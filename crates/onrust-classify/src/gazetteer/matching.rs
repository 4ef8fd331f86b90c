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
    /// Capitalised as a name is: the last word capitalised, not a hashtag, and
    /// a one-word name neither starting a sentence nor after a surname particle.
    pub capitalised: bool,
    /// After a locative ("in", "op de", …).
    pub located: bool,
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
    pub fn admits(self, entry: &Entry) -> Admission {
        if entry.has(flag::CAPITALISED_ONLY) && !self.capitalised {
            return Admission::No;
        }
        if entry.has(flag::ALTERNATE | flag::PARTIAL) {
            return Admission::WithSupport;
        }
        if entry.has(flag::ORDINARY) {
            return match (self.capitalised, self.located) {
                (false, _) => Admission::No,
                (true, true) => Admission::Alone,
                (true, false) => Admission::WithSupport,
            };
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
    PARTICLES.contains(&token.norm.as_str())
}

fn surface_of(tokens: &[Token], first: usize, last: usize) -> Surface {
    let before = |n: usize| first.checked_sub(n).and_then(|i| tokens.get(i)).map(|t| t.norm.as_str());
    let after_article = before(1).is_some_and(|w| ARTICLES.contains(&w));
    let located = before(1).is_some_and(|w| LOCATIVES.contains(&w))
        || (after_article && before(2).is_some_and(|w| LOCATIVES.contains(&w)));
    // "op de Neude" is an article, "Henk de Vries" a surname.
    let surname = first.checked_sub(1).and_then(|i| tokens.get(i)).is_some_and(is_particle) && !located;
    let capitalised = match (tokens.get(first), tokens.get(last)) {
        (Some(head), Some(tail)) => {
            tail.capitalised && !tail.hashtag && !(first == last && (head.sentence_start || surname))
        }
        _ => false,
    };
    Surface { capitalised, located }
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
            if let Some((code, len, alone)) = postcode::read(text, tokens, i) {
                let municipalities = self.postcodes.municipalities(code);
                if !municipalities.is_empty() {
                    let (start, end) = (tokens[i].start, tokens[i + len - 1].end);
                    let found = Found::Postcode { code, municipalities, alone };
                    mentions.push(Mention { start, end, found, surface: surface_of(tokens, i, i + len - 1) });
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
                let surface = surface_of(tokens, i, last);
                let admitted = candidates
                    .iter()
                    .any(|&e| self.entries.get(e as usize).is_some_and(|e| surface.admits(e) != Admission::No));
                admitted.then_some((last, candidates, surface))
            });
            let Some((last, candidates, surface)) = matched else {
                i += 1;
                continue;
            };
            let province = i.checked_sub(1).is_some_and(|p| matches!(tokens[p].norm.as_str(), "provincie" | "prov"));
            let article = last > i && ARTICLES.contains(&tokens[i].norm.as_str()) && !tokens[i].capitalised;
            // "Henk de Meern" is a person.
            let surname = article && !surface.located && i.checked_sub(1).is_some_and(|p| tokens[p].capitalised);
            if !province && !surname {
                let without_article =
                    if article { self.ending_at_words(tokens.get(i + 1..=last).unwrap_or_default()) } else { &[] };
                let bare = if article { surface_of(tokens, i + 1, last) } else { surface };
                let (start, end) = (tokens[i].start, tokens[last].end);
                mentions.push(Mention { start, end, found: Found::Name(candidates, without_article, bare), surface });
            }
            i = last + 1;
        }
        mentions
    }
}
