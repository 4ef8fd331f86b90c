//! Reading the gazetteer: the CBS woonplaatsen CSV, `gazetteer.toml` beside
//! it, and the place and postcode files that file lists. Every problem is
//! collected with its file and line, none stops the others being found.

use std::fs;
use std::path::Path;

use onrust_model::{MunicipalityCode, PlaceTier};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;

use super::Gazetteer;
use super::index::NameIndex;
use super::postcode::{Postcode, Postcodes};
use super::tiers::{Entry, Tier, TierSummary, flag};
use crate::error::Problems;
use crate::normalize::words;
use crate::themes::Fnv;

/// The file beside the CSV with aliases, demonyms, ambiguity lists and the place files.
pub const EXTRAS_FILE: &str = "gazetteer.toml";

const EXPECTED_HEADER: [&str; 4] = ["Woonplaatscode", "Woonplaats", "Gemeentecode", "Gemeente"];

/// Province qualifiers CBS appends to woonplaats names ("Loo Gld", "Elst Ut").
const QUALIFIERS: &[&str] =
    &["L", "Ut", "NB", "ca", "Gld", "GLD", "NH", "ZH", "AC", "GN", "Gn", "Z", "O", "Fr", "Dr", "Ov", "U", "LB"];

/// Parts of a hyphenated woonplaats that name no place on their own
/// ("Nieuw-Lekkerland", "Sint-Michielsgestel", "Capelle-West").
const NOT_A_PART: &[&str] = &[
    "nieuw", "nieuwe", "oud", "oude", "groot", "grote", "klein", "kleine", "hoog", "hoge", "laag", "lage", "sint",
    "noord", "zuid", "oost", "west", "den", "ter", "ten", "aan", "op",
];

const PLACES_HEADER: &str = "municipality\ttier\tname\tflags";
const POSTCODES_HEADER: &str = "postcode\tmunicipalities";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extras {
    #[serde(default)]
    capitalised_only: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    aliases: Vec<Alias>,
    /// What a municipality's inhabitants are called ("Utrechters").
    #[serde(default)]
    demonyms: Vec<Alias>,
    #[serde(default)]
    places: Vec<PlaceFile>,
    #[serde(default)]
    postcodes: Option<PlaceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Alias {
    name: String,
    municipality: String,
}

/// A file of places (or postcodes) beside `gazetteer.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceFile {
    file: String,
    /// Where and when the data comes from, for `check-config`.
    vintage: String,
    /// Hand-made: its places are the well-known ones of their name and tier.
    #[serde(default)]
    well_known: bool,
    /// Covers only part of the country: a name unique in it may not be unique,
    /// so its places resolve only with support.
    #[serde(default)]
    partial: bool,
}

#[derive(Default)]
struct Builder {
    codes: Vec<MunicipalityCode>,
    names: Vec<Box<str>>,
    index: FxHashMap<String, u16>,
    entries: Vec<Entry>,
    /// Every distinct normalised word of any name, numbered. A name is kept as
    /// its word numbers: with 80,000 names (42,000 of them streets) the words
    /// themselves, once per name and once more in `seen`, were a third of
    /// `onrust classify`'s peak memory.
    vocabulary: FxHashMap<Box<str>, u32>,
    /// Per entry, its name as word numbers.
    keys: Vec<Box<[u32]>>,
    /// (name as word numbers, municipality) → entry, to keep one place per name and municipality.
    seen: FxHashMap<(Box<[u32]>, u16), usize>,
}

impl Builder {
    fn municipality(&mut self, code: &MunicipalityCode, name: &str) -> Option<u16> {
        if let Some(i) = self.index.get(code.as_str()) {
            return Some(*i);
        }
        let i = u16::try_from(self.codes.len()).ok()?;
        self.codes.push(code.clone());
        self.names.push(name.into());
        self.index.insert(code.as_str().to_owned(), i);
        Some(i)
    }

    /// A name as word numbers, numbering the words not seen before.
    fn key(&mut self, name: &str) -> Box<[u32]> {
        let vocabulary = &mut self.vocabulary;
        words(name)
            .into_iter()
            .map(|word| {
                let next = u32::try_from(vocabulary.len()).unwrap_or(u32::MAX);
                *vocabulary.entry(word.into_boxed_str()).or_insert(next)
            })
            .collect()
    }

    /// A name as word numbers, if every word of it is known.
    fn known_key(&self, name: &str) -> Option<Box<[u32]>> {
        words(name).iter().map(|word| self.vocabulary.get(word.as_str()).copied()).collect()
    }

    /// Adds a place; of two places with one name in one municipality the stronger stays.
    fn insert(&mut self, name: &str, tier: Tier, municipality: u16, flags: u8) {
        let key = self.key(name);
        if key.is_empty() {
            return;
        }
        let entry = Entry { name: name.trim().into(), municipality, tier, flags };
        let key = (key, municipality);
        match self.seen.get(&key) {
            Some(&at) => {
                if let Some(old) = self.entries.get_mut(at)
                    && entry.strength() < old.strength()
                {
                    *old = entry;
                }
            }
            None => {
                self.keys.push(key.0.clone());
                self.seen.insert(key, self.entries.len());
                self.entries.push(entry);
            }
        }
    }
}

/// "Bergen (NH.)" → "Bergen", "Loo Gld" → "Loo", "Spaarndam gem. Haarlem" → "Spaarndam".
pub(crate) fn unqualified(name: &str) -> Option<&str> {
    if let Some(pos) = name.find(" (") {
        return Some(name[..pos].trim());
    }
    if let Some(pos) = name.find(" gem. ") {
        return Some(name[..pos].trim());
    }
    let (head, last) = name.rsplit_once(' ')?;
    QUALIFIERS.contains(&last).then_some(head.trim())
}

/// The parts a hyphenated woonplaats is also called by: "Bunschoten-Spakenburg"
/// → Bunschoten, Spakenburg.
fn hyphen_parts(name: &str) -> impl Iterator<Item = &str> {
    let parts: Vec<&str> = if name.contains('-') { name.split('-').map(str::trim).collect() } else { Vec::new() };
    parts.into_iter().filter(|p| p.chars().count() >= 4 && !NOT_A_PART.contains(&p.to_lowercase().as_str()))
}

/// Splits one CSV line (RFC 4180 quoting, no embedded line breaks).
pub(crate) fn split_csv(line: &str) -> Result<Vec<String>, &'static str> {
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
    /// The municipalities of the CBS CSV alone, read by the same reader as
    /// [`Gazetteer::load`] (quoted fields, the header checked), without the
    /// places, aliases and postcodes: for whoever needs the names but not
    /// the classifier.
    pub fn load_municipalities(csv_path: &Path, problems: &mut Problems) -> Self {
        let mut b = Builder::default();
        match fs::read_to_string(csv_path) {
            Ok(source) => load_csv(csv_path, &source, &mut b, problems),
            Err(e) => problems.push(csv_path, "", format!("cannot read the gazetteer: {e}")),
        }
        Gazetteer { codes: b.codes, municipality_names: b.names, ..Gazetteer::default() }
    }

    pub fn load(csv_path: &Path, problems: &mut Problems) -> Self {
        let mut hash = Fnv::new();
        let mut b = Builder::default();
        let mut summaries = Vec::new();
        match fs::read_to_string(csv_path) {
            Ok(source) => {
                hash.write(source.as_bytes());
                let file = csv_path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                let mut summary =
                    TierSummary { file, vintage: "CBS woonplaatsen and gemeenten".to_owned(), counts: Vec::new() };
                load_csv(csv_path, &source, &mut b, problems);
                for entry in &b.entries {
                    summary.count(entry.tier.public());
                }
                summaries.push(summary);
            }
            Err(e) => problems.push(csv_path, "", format!("cannot read the gazetteer: {e}")),
        }
        let mut postcodes = Postcodes::default();
        let mut capitalised_only: FxHashSet<Box<[u32]>> = FxHashSet::default();
        let mut ignore: FxHashSet<Box<[u32]>> = FxHashSet::default();
        let extras_path = csv_path.with_file_name(EXTRAS_FILE);
        if extras_path.is_file() {
            match fs::read_to_string(&extras_path) {
                Ok(source) => {
                    hash.write(source.as_bytes());
                    match toml::from_str::<Extras>(&source) {
                        Ok(extras) => {
                            apply_aliases(&extras_path, "aliases", &extras.aliases, Tier::Alias, &mut b, problems);
                            let demonyms = apply_aliases(
                                &extras_path,
                                "demonyms",
                                &extras.demonyms,
                                Tier::Demonym,
                                &mut b,
                                problems,
                            );
                            if demonyms > 0 {
                                summaries.push(TierSummary {
                                    file: EXTRAS_FILE.to_owned(),
                                    vintage: "hand-made".to_owned(),
                                    counts: vec![(PlaceTier::Demonym, demonyms)],
                                });
                            }
                            for file in &extras.places {
                                let path = csv_path.with_file_name(&file.file);
                                if let Some(summary) = load_places(&path, file, &mut b, &mut hash, problems) {
                                    summaries.push(summary);
                                }
                            }
                            if let Some(file) = &extras.postcodes {
                                let path = csv_path.with_file_name(&file.file);
                                load_postcodes(&path, &mut b, &mut postcodes, &mut hash, problems);
                                summaries.push(TierSummary {
                                    file: file.file.clone(),
                                    vintage: file.vintage.clone(),
                                    counts: vec![(PlaceTier::Postcode, postcodes.pc4_count + postcodes.pc6_count)],
                                });
                            }
                            capitalised_only.extend(check_listed(
                                &extras_path,
                                "capitalised_only",
                                &extras.capitalised_only,
                                &b,
                                problems,
                            ));
                            ignore.extend(check_listed(&extras_path, "ignore", &extras.ignore, &b, problems));
                        }
                        Err(e) => problems.push_toml(&extras_path, &source, &e),
                    }
                }
                Err(e) => problems.push(&extras_path, "", format!("cannot read: {e}")),
            }
        }
        for (entry, key) in b.entries.iter_mut().zip(&b.keys) {
            if capitalised_only.contains(key) {
                entry.flags |= flag::CAPITALISED_ONLY;
            }
        }
        let kept: Vec<u32> = (0..b.entries.len() as u32)
            .filter(|&i| b.keys.get(i as usize).is_some_and(|k| !ignore.contains(k)))
            .collect();
        b.seen = FxHashMap::default();
        let index =
            NameIndex::build(b.vocabulary, kept.iter().filter_map(|&i| Some((b.keys.get(i as usize)?.as_ref(), i))));
        Gazetteer {
            codes: b.codes,
            municipality_names: b.names,
            entries: b.entries,
            index,
            postcodes,
            summaries,
            content_hash: hash.finish(),
        }
    }
}

/// The names of a `capitalised_only` or `ignore` list, each of which must be known.
fn check_listed(path: &Path, list: &str, names: &[String], b: &Builder, problems: &mut Problems) -> Vec<Box<[u32]>> {
    let mut out = Vec::new();
    let known: FxHashSet<&[u32]> = b.keys.iter().map(AsRef::as_ref).collect();
    for name in names {
        match b.known_key(name) {
            Some(key) if !key.is_empty() && known.contains(key.as_ref()) => out.push(key),
            _ => problems.push(path, format!("{list} {name:?}"), "not a name in the gazetteer"),
        }
    }
    out
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
        let Some(m) = b.municipality(&code, gemeente) else {
            problems.push(path, location, "more municipalities than the gazetteer can hold");
            continue;
        };
        b.insert(gemeente, Tier::Municipality, m, 0);
        if let Some(base) = unqualified(gemeente) {
            b.insert(base, Tier::Municipality, m, 0);
        }
        b.insert(woonplaats, Tier::Town, m, 0);
        let base = unqualified(woonplaats);
        if let Some(base) = base {
            b.insert(base, Tier::TownPart, m, 0);
        }
        // A part is often an ordinary word too ("Kerk" of Kerk-Avezaath): written as a name only.
        for part in hyphen_parts(base.unwrap_or(woonplaats)) {
            b.insert(part, Tier::TownPart, m, flag::PART | flag::CAPITALISED_ONLY);
        }
        rows += 1;
    }
    if rows == 0 {
        problems.push(path, "", "no rows");
    }
}

/// Adds the names of a list of `gazetteer.toml` (`aliases`, `demonyms`) as
/// places of `tier`; how many were added.
fn apply_aliases(
    path: &Path,
    list: &str,
    aliases: &[Alias],
    tier: Tier,
    b: &mut Builder,
    problems: &mut Problems,
) -> usize {
    let mut added = 0;
    for alias in aliases {
        let location = format!("{list} {:?}", alias.name);
        let code = match MunicipalityCode::new(alias.municipality.trim()) {
            Ok(code) => code,
            Err(e) => {
                problems.push(path, location, e.to_string());
                continue;
            }
        };
        let Some(&m) = b.index.get(code.as_str()) else {
            problems.push(path, location, format!("{code} is not a municipality in the gazetteer CSV"));
            continue;
        };
        if words(&alias.name).is_empty() {
            problems.push(path, location, "the name has no words");
            continue;
        }
        b.insert(&alias.name, tier, m, 0);
        added += 1;
    }
    added
}

/// Reads a file, hashing it; `None` (with the problem noted) when it cannot be read.
fn read_listed(path: &Path, hash: &mut Fnv, problems: &mut Problems) -> Option<String> {
    match fs::read_to_string(path) {
        Ok(source) => {
            hash.write(source.as_bytes());
            Some(source)
        }
        Err(e) => {
            problems.push(path, "", format!("cannot read this file listed in {EXTRAS_FILE}: {e}"));
            None
        }
    }
}

/// The data lines of a TSV file after its `#` comments, checking the header.
fn data_lines<'s>(
    path: &Path,
    source: &'s str,
    header: &str,
    problems: &mut Problems,
) -> Option<impl Iterator<Item = (String, &'s str)> + use<'s>> {
    let mut lines = source.lines().enumerate().filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
    match lines.next() {
        Some((_, first)) if first.trim_end() == header => {}
        Some((n, _)) => {
            problems.push(path, format!("line {}", n + 1), format!("the header must be {header:?} (tab-separated)"));
            return None;
        }
        None => {
            problems.push(path, "", "no header and no rows");
            return None;
        }
    }
    Some(lines.map(|(n, line)| (format!("line {}", n + 1), line)))
}

fn load_places(
    path: &Path,
    file: &PlaceFile,
    b: &mut Builder,
    hash: &mut Fnv,
    problems: &mut Problems,
) -> Option<TierSummary> {
    let source = read_listed(path, hash, problems)?;
    let lines = data_lines(path, &source, PLACES_HEADER, problems)?;
    let mut summary = TierSummary { file: file.file.clone(), vintage: file.vintage.clone(), counts: Vec::new() };
    for (location, line) in lines {
        let columns: Vec<&str> = line.split('\t').collect();
        let [code, tier, name, flags] = columns[..] else {
            problems.push(path, location, format!("expected 4 tab-separated columns, found {}", columns.len()));
            continue;
        };
        let code = match MunicipalityCode::new(code.trim()) {
            Ok(code) => code,
            Err(e) => {
                problems.push(path, location, e.to_string());
                continue;
            }
        };
        let Some(&m) = b.index.get(code.as_str()) else {
            problems.push(path, location, format!("{code} is not a municipality in the gazetteer CSV"));
            continue;
        };
        let Some(tier) = Tier::from_file_word(tier.trim()) else {
            problems.push(path, location, format!("tier {tier:?} is not one of {}", Tier::FILE_WORDS));
            continue;
        };
        if words(name).is_empty() {
            problems.push(path, location, "the name has no words");
            continue;
        }
        let mut bits = if file.well_known { flag::WELL_KNOWN } else { 0 };
        if file.partial {
            bits |= flag::PARTIAL;
        }
        for c in flags.trim().chars() {
            bits |= match c {
                'a' => flag::ALTERNATE,
                'p' => flag::PART,
                'w' => flag::ORDINARY,
                other => {
                    problems.push(path, location.clone(), format!("flag {other:?} is not one of a, p, w"));
                    0
                }
            };
        }
        b.insert(name, tier, m, bits);
        summary.count(tier.public());
    }
    Some(summary)
}

fn load_postcodes(path: &Path, b: &mut Builder, postcodes: &mut Postcodes, hash: &mut Fnv, problems: &mut Problems) {
    let Some(source) = read_listed(path, hash, problems) else { return };
    let Some(lines) = data_lines(path, &source, POSTCODES_HEADER, problems) else { return };
    let mut municipalities = Vec::new();
    for (location, line) in lines {
        let Some((code, list)) = line.split_once('\t') else {
            problems.push(path, location, "expected a postcode, a tab and municipality codes");
            continue;
        };
        let Some(code) = Postcode::parse(code) else {
            problems.push(path, location, format!("{code:?} is not a postcode such as 3511 or 3511AB"));
            continue;
        };
        municipalities.clear();
        for m in list.split(',') {
            match MunicipalityCode::new(m.trim()).ok().and_then(|c| b.index.get(c.as_str()).copied()) {
                Some(i) => municipalities.push(i),
                None => {
                    problems.push(path, location.clone(), format!("{m:?} is not a municipality in the gazetteer CSV"))
                }
            }
        }
        if !municipalities.is_empty() {
            postcodes.insert(code, &municipalities);
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
    fn hyphenated_woonplaatsen_have_their_parts() {
        assert_eq!(hyphen_parts("Bunschoten-Spakenburg").collect::<Vec<_>>(), ["Bunschoten", "Spakenburg"]);
        assert_eq!(hyphen_parts("Driebergen-Rijsenburg").collect::<Vec<_>>(), ["Driebergen", "Rijsenburg"]);
        assert_eq!(hyphen_parts("Nieuw-Lekkerland").collect::<Vec<_>>(), ["Lekkerland"]);
        assert_eq!(hyphen_parts("'s-Hertogenbosch").collect::<Vec<_>>(), ["Hertogenbosch"]);
        assert_eq!(hyphen_parts("Zeist").count(), 0);
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
