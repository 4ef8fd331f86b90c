//! Places → CBS municipality codes, the way people name them: municipalities
//! and their common names, woonplaatsen (and the parts of hyphenated ones,
//! "Spakenburg"), wijken, buurten, kernen, streets, squares, stations,
//! stadiums, landmarks and postcodes.
//!
//! - `load`: the CBS woonplaatsen CSV, `gazetteer.toml` beside it and the
//!   place and postcode files it lists (`config/gazetteer/README.md`).
//! - `tiers`: the kinds of names and their strength; one place in memory.
//! - `index`: all names as one word trie, so a message is read once.
//! - `matching`: names and postcodes in a message, longest first, and what
//!   the words around them admit (capitals, "in"/"op" before them).
//! - `postcode`: PC4 and PC6.
//! - `ambiguity`: which place a name is when it is several, and why.

mod ambiguity;
mod index;
mod load;
mod matching;
mod postcode;
mod tiers;

#[cfg(test)]
mod region_tests;
#[cfg(test)]
mod tests;

use onrust_model::MunicipalityCode;

pub use load::EXTRAS_FILE;
pub use tiers::TierSummary;

use crate::normalize::Token;
use ambiguity::{Reason, Resolved};
use index::NameIndex;
use postcode::Postcodes;
use tiers::Entry;

/// A place the message names, resolved, with the explanation of why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlaceHit {
    pub place: onrust_model::Place,
    /// Byte span in the classified text (title and text joined); `None` when inferred.
    pub span: Option<(usize, usize)>,
    /// "Kanaleneiland: wijk, the only place of that name".
    pub why: String,
}

#[derive(Debug, Default)]
pub(crate) struct Gazetteer {
    codes: Vec<MunicipalityCode>,
    municipality_names: Vec<Box<str>>,
    entries: Vec<Entry>,
    index: NameIndex,
    postcodes: Postcodes,
    summaries: Vec<TierSummary>,
    /// FNV-1a of every file read.
    pub content_hash: u64,
}

impl Gazetteer {
    /// Every name, as normalised words joined by spaces (for benchmarks).
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.entries.iter().map(|e| crate::normalize::words(&e.name).join(" ")).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// How many places are known (for tests and diagnostics).
    #[cfg(test)]
    pub fn name_count(&self) -> usize {
        self.entries.len()
    }

    /// What each file contributes, for `check-config`.
    pub fn summaries(&self) -> &[TierSummary] {
        &self.summaries
    }

    /// The municipality's name as CBS writes it.
    pub fn name_of(&self, code: &MunicipalityCode) -> Option<&str> {
        self.municipality_index(code).map(|m| self.municipality_name(m))
    }

    fn municipality_index(&self, code: &MunicipalityCode) -> Option<u16> {
        self.codes.iter().position(|c| c == code).and_then(|i| u16::try_from(i).ok())
    }

    fn municipality_name(&self, m: u16) -> &str {
        self.municipality_names.get(m as usize).map_or("", |n| n)
    }

    /// The places `text` names, in the order written, one per mention; or,
    /// when it names none, the source's single municipality (if given).
    pub fn match_places(&self, text: &str, tokens: &[Token], source: Option<&MunicipalityCode>) -> Vec<PlaceHit> {
        let mentions = self.mentions(text, tokens);
        if mentions.is_empty() && source.is_none() {
            return Vec::new();
        }
        self.resolve(text, &mentions, source).into_iter().filter_map(|r| self.hit(text, r)).collect()
    }

    fn hit(&self, text: &str, resolved: Resolved) -> Option<PlaceHit> {
        let code = self.codes.get(resolved.municipality as usize)?.clone();
        let municipality_name = self.municipality_name(resolved.municipality).to_owned();
        let written = resolved.span.and_then(|(start, end)| text.get(start..end));
        let why = explain(written, &resolved, &municipality_name);
        let place = onrust_model::Place {
            name: resolved.name,
            tier: resolved.tier,
            municipality: code,
            municipality_name,
            span: None,
        };
        Some(PlaceHit { place, span: resolved.span, why })
    }
}

/// "Kanaleneiland: wijk, the only place of that name";
/// "Kerkstraat: straat, 41 other municipalities have one, Zeist is named (Zeist)".
fn explain(written: Option<&str>, r: &Resolved, municipality: &str) -> String {
    let others = |n: usize| {
        if n == 1 { "1 other municipality has one".to_owned() } else { format!("{n} other municipalities have one") }
    };
    let why = match &r.reason {
        Reason::Only => "the only place of that name".to_owned(),
        Reason::Strongest { others: n } => format!("{}, of a weaker kind", others(*n)),
        Reason::WellKnown { others: n } => format!("the well-known one; {}", others(*n)),
        Reason::Named { others: n, by } => format!("{}; {municipality} is named ({by})", others(*n)),
        Reason::Source { others: n } => format!("{}; the source covers only {municipality}", others(*n)),
        Reason::Inferred => format!("no place in the text; the source covers only {municipality}"),
    };
    let alternate = if r.alternate { " (alternate name or part of one)" } else { "" };
    let name = if written.is_some_and(|w| w != r.name) {
        format!("{} = {}", written.unwrap_or_default(), r.name)
    } else {
        r.name.clone()
    };
    format!("{name}: {}{alternate}, {why}", r.tier)
}
