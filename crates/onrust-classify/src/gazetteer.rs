//! Places → CBS municipality codes.
//!
//! Names come from the CBS table of woonplaatsen and municipalities (CSV,
//! `Woonplaatscode,Woonplaats,Gemeentecode,Gemeente,…`) and from the optional
//! `gazetteer.toml` beside it (aliases such as "Den Haag" and landmarks;
//! names that are also ordinary words; names never to match).
//!
//! Ambiguity rules, in order:
//!
//! 1. Names are matched on normalised word boundaries, longest name first
//!    ("Utrechtse Heuvelrug" before "Utrechtse", "Wijk bij Duurstede" before
//!    "Wijk").
//! 2. A name resolves through the most specific source that knows it: an
//!    alias, then a municipality name, then a woonplaats name as CBS writes
//!    it, then a woonplaats name without its province qualifier ("Bergen L"
//!    → "Bergen"). So "Hoorn" is the municipality Hoorn, not the village on
//!    Terschelling, and "Laren" is Laren (NH.), not the village in Lochem.
//! 3. A name that still points at several municipalities ("Bergen": Bergen
//!    (L.) and Bergen (NH.); the two "Hengelo"s) is skipped, unless exactly one
//!    of its municipalities is named unambiguously elsewhere in the message.
//! 4. Names listed as `capitalised_only` (ordinary Dutch, English or German
//!    words: "Best", "Buren", "Dieren", "Huizen", "Beek", "Hoek") match only
//!    when the original word is capitalised, is not the first word of a
//!    sentence and does not follow a surname particle ("van", "de", "der",
//!    "den", "ter", "ten"). Names in `ignore` ("Een", "Boer", "Oranje",
//!    "America") never match.
//! 5. A name right after "provincie" is the province, not the city.

// Fx hashing: the maps are keyed by short words from our own lexicons and
// looked up several times per token, where SipHash cost a tenth of the time.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fs;
use std::path::Path;

use onrust_model::MunicipalityCode;
use serde::Deserialize;

use crate::error::Problems;
use crate::normalize::{Token, words};
use crate::themes::Fnv;

/// The file beside the CSV with aliases and ambiguity lists.
pub const EXTRAS_FILE: &str = "gazetteer.toml";

const EXPECTED_HEADER: [&str; 4] = ["Woonplaatscode", "Woonplaats", "Gemeentecode", "Gemeente"];

/// Province qualifiers CBS appends to woonplaats names ("Loo Gld", "Elst Ut").
const QUALIFIERS: &[&str] =
    &["L", "Ut", "NB", "ca", "Gld", "GLD", "NH", "ZH", "AC", "GN", "Gn", "Z", "O", "Fr", "Dr", "Ov", "U", "LB"];

/// Words before a capitalised name that make it a surname ("Van der Veen").
const PARTICLES: &[&str] = &["van", "de", "der", "den", "ter", "ten", "vd"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extras {
    #[serde(default)]
    capitalised_only: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    aliases: Vec<Alias>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Alias {
    name: String,
    municipality: String,
}

#[derive(Debug)]
struct Name {
    rest: Vec<String>,
    codes: Vec<usize>,
    capitalised_only: bool,
}

/// A municipality the message is about, with the words that named it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlaceHit {
    pub code: MunicipalityCode,
    pub evidence: String,
}

#[derive(Debug, Default)]
pub(crate) struct Gazetteer {
    codes: Vec<MunicipalityCode>,
    by_first: HashMap<String, Vec<Name>>,
    /// FNV-1a of the CSV and the extras file.
    pub content_hash: u64,
}

impl Gazetteer {
    /// Every name, as normalised words joined by spaces (for benchmarks).
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (first, names) in &self.by_first {
            for name in names {
                let mut words = vec![first.as_str()];
                words.extend(name.rest.iter().map(String::as_str));
                out.push(words.join(" "));
            }
        }
        out
    }
}

/// Where a name comes from; a lower tier wins over a higher one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    Alias,
    Municipality,
    Woonplaats,
    Unqualified,
}

#[derive(Default)]
struct Builder {
    codes: Vec<MunicipalityCode>,
    index: HashMap<String, usize>,
    names: HashMap<Vec<String>, (Tier, Vec<usize>)>,
}

impl Builder {
    fn code(&mut self, code: &MunicipalityCode) -> usize {
        if let Some(i) = self.index.get(code.as_str()) {
            return *i;
        }
        self.codes.push(code.clone());
        self.index.insert(code.as_str().to_owned(), self.codes.len() - 1);
        self.codes.len() - 1
    }

    fn insert(&mut self, name: &str, tier: Tier, code: usize) {
        let key = words(name);
        if key.is_empty() {
            return;
        }
        let entry = self.names.entry(key).or_insert((tier, Vec::new()));
        if tier < entry.0 {
            *entry = (tier, Vec::new());
        }
        if tier == entry.0 && !entry.1.contains(&code) {
            entry.1.push(code);
        }
    }
}

/// "Bergen (NH.)" → "Bergen", "Loo Gld" → "Loo", "Spaarndam gem. Haarlem" → "Spaarndam".
fn unqualified(name: &str) -> Option<&str> {
    if let Some(pos) = name.find(" (") {
        return Some(name[..pos].trim());
    }
    if let Some(pos) = name.find(" gem. ") {
        return Some(name[..pos].trim());
    }
    let (head, last) = name.rsplit_once(' ')?;
    QUALIFIERS.contains(&last).then_some(head.trim())
}

/// Splits one CSV line (RFC 4180 quoting, no embedded line breaks).
fn split_csv(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    if chars.peek().is_some_and(|n| *n != ',') {
                        return Err("text after a closing quote");
                    }
                }
            }
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            _ => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("unterminated quote");
    }
    fields.push(field);
    Ok(fields)
}

impl Gazetteer {
    pub fn load(csv_path: &Path, problems: &mut Problems) -> Self {
        let mut hash = Fnv::new();
        let mut b = Builder::default();
        match fs::read_to_string(csv_path) {
            Ok(source) => {
                hash.write(source.as_bytes());
                load_csv(csv_path, &source, &mut b, problems);
            }
            Err(e) => problems.push(csv_path, "", format!("cannot read the gazetteer: {e}")),
        }
        let mut capitalised_only: HashSet<Vec<String>> = HashSet::default();
        let extras_path = csv_path.with_file_name(EXTRAS_FILE);
        if extras_path.is_file() {
            match fs::read_to_string(&extras_path) {
                Ok(source) => {
                    hash.write(source.as_bytes());
                    match toml::from_str::<Extras>(&source) {
                        Ok(extras) => apply_extras(&extras_path, extras, &mut b, &mut capitalised_only, problems),
                        Err(e) => problems.push_toml(&extras_path, &source, &e),
                    }
                }
                Err(e) => problems.push(&extras_path, "", format!("cannot read: {e}")),
            }
        }
        let mut by_first: HashMap<String, Vec<Name>> = HashMap::default();
        for (mut key, (_, codes)) in b.names {
            let capitalised_only = capitalised_only.contains(&key);
            let first = key.remove(0);
            by_first.entry(first).or_default().push(Name { rest: key, codes, capitalised_only });
        }
        for names in by_first.values_mut() {
            names.sort_by(|a, b| b.rest.len().cmp(&a.rest.len()).then_with(|| a.rest.cmp(&b.rest)));
        }
        Self { codes: b.codes, by_first, content_hash: hash.finish() }
    }

    /// Municipalities named in the tokens of `text`, in order of first mention.
    pub fn match_places(&self, text: &str, tokens: &[Token]) -> Vec<PlaceHit> {
        // (codes, evidence)
        let mut mentions: Vec<(&[usize], &str)> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let token = &tokens[i];
            let previous = i.checked_sub(1).map(|p| tokens[p].norm.as_str());
            let matched = self.by_first.get(&token.norm).and_then(|names| {
                names.iter().find_map(|name| {
                    let span = tokens.get(i..i + 1 + name.rest.len())?;
                    if !name.rest.iter().zip(&span[1..]).all(|(w, t)| *w == t.norm) {
                        return None;
                    }
                    if name.capitalised_only {
                        let last = span.last()?;
                        let surname = previous.is_some_and(|p| PARTICLES.contains(&p));
                        if !last.capitalised || last.hashtag || (span.len() == 1 && (token.sentence_start || surname)) {
                            return None;
                        }
                    }
                    Some((name, span.last().map_or(token.end, |t| t.end), span.len()))
                })
            });
            match matched {
                Some((name, end, len)) => {
                    if !matches!(previous, Some("provincie" | "prov")) {
                        mentions.push((&name.codes, &text[token.start..end]));
                    }
                    i += len;
                }
                None => i += 1,
            }
        }
        let certain: Vec<usize> = mentions.iter().filter(|(c, _)| c.len() == 1).map(|(c, _)| c[0]).collect();
        let mut hits: Vec<(usize, Vec<&str>)> = Vec::new();
        for (codes, evidence) in mentions {
            let code = if codes.len() == 1 {
                codes[0]
            } else {
                let mut named = codes.iter().filter(|c| certain.contains(c));
                match (named.next(), named.next()) {
                    (Some(c), None) => *c,
                    _ => continue,
                }
            };
            match hits.iter_mut().find(|(c, _)| *c == code) {
                Some((_, ev)) => {
                    if !ev.contains(&evidence) {
                        ev.push(evidence);
                    }
                }
                None => hits.push((code, vec![evidence])),
            }
        }
        hits.into_iter().map(|(c, ev)| PlaceHit { code: self.codes[c].clone(), evidence: ev.join(", ") }).collect()
    }

    /// How many distinct names are known (for tests and diagnostics).
    #[cfg(test)]
    pub fn name_count(&self) -> usize {
        self.by_first.values().map(Vec::len).sum()
    }
}

fn load_csv(path: &Path, source: &str, b: &mut Builder, problems: &mut Problems) {
    let mut lines = source.lines().enumerate();
    let header_ok = lines.next().is_some_and(|(_, header)| {
        let header = header.trim_start_matches('\u{feff}');
        split_csv(header).is_ok_and(|cols| cols.iter().map(|c| c.trim()).take(4).eq(EXPECTED_HEADER))
    });
    if !header_ok {
        problems.push(path, "line 1", format!("the header must start with {}", EXPECTED_HEADER.join(",")));
        return;
    }
    let mut rows = 0usize;
    for (n, line) in lines {
        let location = format!("line {}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        let fields = match split_csv(line) {
            Ok(f) if f.len() >= 4 => f,
            Ok(f) => {
                problems.push(path, location, format!("expected at least 4 columns, found {}", f.len()));
                continue;
            }
            Err(e) => {
                problems.push(path, location, e);
                continue;
            }
        };
        let (woonplaats, code, gemeente) = (fields[1].trim(), fields[2].trim(), fields[3].trim());
        let code = match MunicipalityCode::new(code) {
            Ok(code) => code,
            Err(e) => {
                problems.push(path, location, e.to_string());
                continue;
            }
        };
        if woonplaats.is_empty() || gemeente.is_empty() || words(woonplaats).is_empty() || words(gemeente).is_empty() {
            problems.push(path, location, "empty woonplaats or municipality name");
            continue;
        }
        let c = b.code(&code);
        b.insert(gemeente, Tier::Municipality, c);
        if let Some(base) = unqualified(gemeente) {
            b.insert(base, Tier::Municipality, c);
        }
        b.insert(woonplaats, Tier::Woonplaats, c);
        if let Some(base) = unqualified(woonplaats) {
            b.insert(base, Tier::Unqualified, c);
        }
        rows += 1;
    }
    if rows == 0 {
        problems.push(path, "", "no rows");
    }
}

fn apply_extras(
    path: &Path,
    extras: Extras,
    b: &mut Builder,
    capitalised_only: &mut HashSet<Vec<String>>,
    problems: &mut Problems,
) {
    for alias in &extras.aliases {
        let location = format!("aliases {:?}", alias.name);
        let code = match MunicipalityCode::new(alias.municipality.trim()) {
            Ok(code) => code,
            Err(e) => {
                problems.push(path, location, e.to_string());
                continue;
            }
        };
        let Some(&c) = b.index.get(code.as_str()) else {
            problems.push(path, location, format!("{code} is not a municipality in the gazetteer CSV"));
            continue;
        };
        if words(&alias.name).is_empty() {
            problems.push(path, location, "the name has no words");
            continue;
        }
        b.insert(&alias.name, Tier::Alias, c);
    }
    for name in &extras.capitalised_only {
        let key = words(name);
        if b.names.contains_key(&key) {
            capitalised_only.insert(key);
        } else {
            problems.push(path, format!("capitalised_only {name:?}"), "not a name in the gazetteer");
        }
    }
    for name in &extras.ignore {
        if b.names.remove(&words(name)).is_none() {
            problems.push(path, format!("ignore {name:?}"), "not a name in the gazetteer");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_qualifiers() {
        assert_eq!(unqualified("Bergen (NH.)"), Some("Bergen"));
        assert_eq!(unqualified("Loo Gld"), Some("Loo"));
        assert_eq!(unqualified("Spaarndam gem. Haarlem"), Some("Spaarndam"));
        assert_eq!(unqualified("Wijk bij Duurstede"), None);
    }

    #[test]
    fn splits_quoted_csv() {
        assert_eq!(
            split_csv("2136,Nuenen,0820,\"Nuenen, Gerwen en Nederwetten\",36,X"),
            Ok(vec!["2136", "Nuenen", "0820", "Nuenen, Gerwen en Nederwetten", "36", "X"]
                .into_iter()
                .map(String::from)
                .collect())
        );
        assert!(split_csv("1,\"open,2").is_err());
    }
}
