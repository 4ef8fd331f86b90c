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

    /// Every municipality with its name as CBS writes it, ordered by code.
    pub fn municipalities(&self) -> Vec<(MunicipalityCode, String)> {
        let mut out: Vec<(MunicipalityCode, String)> =
            self.codes.iter().cloned().zip(self.municipality_names.iter().map(|n| n.to_string())).collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
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
        let place = onrust_model::Place {
            name: resolved.name.clone(),
            tier: resolved.tier,
            municipality: code,
            municipality_name,
            span: None,
        };
        let why = explain(written, &resolved, &place);
        Some(PlaceHit { place, span: resolved.span, why })
    }
}

/// In Dutch, as officers read it: "Kanaleneiland (wijk, Utrecht): ook in 1
/// andere gemeente, daar als kleinere plek"; "Kerkstraat (straat, Zeist): ook in
/// 41 andere gemeenten; Zeist wordt genoemd (Zeist)".
fn explain(written: Option<&str>, r: &Resolved, place: &onrust_model::Place) -> String {
    let municipality = &place.municipality_name;
    let others =
        |n: usize| if n == 1 { "ook in 1 andere gemeente".to_owned() } else { format!("ook in {n} andere gemeenten") };
    // Support can decide for a name no other municipality has (an alternate one): then only the support is said.
    let others_then = |n: usize| if n == 0 { String::new() } else { format!("{}; ", others(n)) };
    let why: std::borrow::Cow<'static, str> = match &r.reason {
        Reason::Only => "de enige plek met die naam".into(),
        Reason::Strongest { others: n } => format!("{}, daar als kleinere plek", others(*n)).into(),
        Reason::WellKnown { others: n } => format!("de bekende; {}", others(*n)).into(),
        Reason::Named { others: n, by } => format!("{}{municipality} wordt genoemd ({by})", others_then(*n)).into(),
        Reason::Source { others: n } => format!("{}de bron gaat alleen over {municipality}", others_then(*n)).into(),
        Reason::Inferred => format!("geen plaats in de tekst; de bron gaat alleen over {municipality}").into(),
    };
    let alternate = if r.alternate { " (andere naam, of deel van een naam)" } else { "" };
    // Pushed, not formatted: most placed messages explain the only place of its name.
    let label = place.label();
    match written.filter(|w| !w.eq_ignore_ascii_case(&r.name)) {
        Some(w) => crate::concat([w, " = ", &label, alternate, ": ", &why]),
        None => crate::concat([&label, alternate, ": ", &why]),
    }
}
