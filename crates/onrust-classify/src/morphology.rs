//! Dutch morphology: lemmas of inflected forms, separable verbs, compounds.
//!
//! The tables in `config/signals/morphology/` are generated from the
//! OpenTaal hunspell dictionary by `scripts/morphology.py` (one command, see
//! the README there) for the words the signal lexicons use:
//!
//! - `nl-forms.tsv`: form → lemma and what the form is. A lexicon term then
//!   matches every form of its lemma *of the same kind*: `bekogelen` (a call)
//!   matches `bekogel`, `bekogelt`, never the participle `bekogeld` (a
//!   report), which the report lexicon's `bekogeld` matches with
//!   `bekogelde`, `bekogelden`;
//! - `sep` lines: separable verbs, so `schiet … neer` in one clause is read
//!   as `neerschieten`, and `neer te schieten` too;
//! - `nl-compound-parts.txt`: words that may begin or end a compound, for
//!   [`Morphology::split_compound`].

use std::path::Path;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::error::Problems;
use crate::themes::Fnv;

/// The folder under the signals folder that holds the tables.
pub(crate) const FOLDER: &str = "morphology";
const FORMS_FILE: &str = "nl-forms.tsv";
const PARTS_FILE: &str = "nl-compound-parts.txt";

/// Parts shorter than this are not split off a compound.
const MIN_PART: usize = onrust_model::compound::MIN_COMPOUND_PART;

/// What an inflected form is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Tag {
    /// Infinitive (also the plural present): `steken`.
    Infinitive,
    /// Stem: first person, imperative: `steek`.
    Stem,
    /// Second and third person present: `steekt`.
    Present,
    /// Past tense: `stak`, `staken`.
    Past,
    /// Past participle: `gestoken`.
    Participle,
    /// A noun form: `bom`, `bommen`.
    Noun,
}

/// Forms that can match each other through their lemma: a call (now), a
/// report (past) and a thing (noun) stay apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Now,
    Past,
    Noun,
}

impl Tag {
    fn parse(s: &str) -> Option<Tag> {
        Some(match s {
            "inf" => Tag::Infinitive,
            "stem" => Tag::Stem,
            "t" => Tag::Present,
            "past" => Tag::Past,
            "part" => Tag::Participle,
            "noun" => Tag::Noun,
            _ => return None,
        })
    }

    pub fn kind(self) -> Kind {
        match self {
            Tag::Infinitive | Tag::Stem | Tag::Present => Kind::Now,
            Tag::Past | Tag::Participle => Kind::Past,
            Tag::Noun => Kind::Noun,
        }
    }
}

/// One reading of a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Analysis {
    pub lemma: u32,
    pub tag: Tag,
}

/// The loaded tables.
#[derive(Debug, Default)]
pub(crate) struct Morphology {
    lemmas: Vec<String>,
    lemma_ids: HashMap<String, u32>,
    forms: HashMap<String, Vec<Analysis>>,
    /// Particle → (base verb, separable verb) pairs.
    separable: HashMap<String, Vec<(u32, u32)>>,
    /// Base verbs that have a separable verb, for a quick test.
    bases: HashSet<u32>,
    parts: HashSet<String>,
    pub content_hash: u64,
}

impl Morphology {
    /// Reads both tables from `<signals_dir>/morphology/`; problems are collected.
    pub fn load(signals_dir: &Path, problems: &mut Problems) -> Self {
        let dir = signals_dir.join(FOLDER);
        let mut out = Morphology::default();
        let mut hash = Fnv::new();
        let forms_path = dir.join(FORMS_FILE);
        match std::fs::read_to_string(&forms_path) {
            Ok(text) => {
                hash.write(text.as_bytes());
                out.read_forms(&forms_path, &text, problems);
            }
            Err(e) => problems.push(&forms_path, "", format!("cannot read: {e}")),
        }
        let parts_path = dir.join(PARTS_FILE);
        match std::fs::read_to_string(&parts_path) {
            Ok(text) => {
                hash.write(text.as_bytes());
                for (number, line) in text.lines().enumerate() {
                    let word = line.trim();
                    if word.is_empty() || word.starts_with('#') {
                        continue;
                    }
                    if word.len() < MIN_PART || !word.bytes().all(|b| b.is_ascii_lowercase()) {
                        problems.push(
                            &parts_path,
                            format!("line {}", number + 1),
                            "a part is one word of a-z, 3 letters or more",
                        );
                        continue;
                    }
                    out.parts.insert(word.to_owned());
                }
            }
            Err(e) => problems.push(&parts_path, "", format!("cannot read: {e}")),
        }
        out.content_hash = hash.finish();
        out
    }

    fn read_forms(&mut self, path: &Path, text: &str, problems: &mut Problems) {
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let location = format!("line {}", number + 1);
            match fields.as_slice() {
                [verb, split, "sep"] => match split.split_once('+') {
                    Some((particle, base)) if !particle.is_empty() && format!("{particle}{base}") == *verb => {
                        let (verb, base) = (self.lemma_id(verb), self.lemma_id(base));
                        self.separable.entry((*particle).to_owned()).or_default().push((base, verb));
                        self.bases.insert(base);
                    }
                    _ => problems.push(path, location, "a `sep` line is `verb<TAB>particle+base<TAB>sep`"),
                },
                [form, lemma, tag] => match Tag::parse(tag) {
                    Some(tag) if !form.is_empty() && !lemma.is_empty() => {
                        let analysis = Analysis { lemma: self.lemma_id(lemma), tag };
                        let list = self.forms.entry((*form).to_owned()).or_default();
                        if !list.contains(&analysis) {
                            list.push(analysis);
                        }
                    }
                    _ => problems.push(
                        path,
                        location,
                        format!("unknown tag {tag:?} (inf, stem, t, past, part, noun, sep)"),
                    ),
                },
                _ => problems.push(path, location, "expected three tab-separated fields: form, lemma, tag"),
            }
        }
    }

    fn lemma_id(&mut self, lemma: &str) -> u32 {
        if let Some(&id) = self.lemma_ids.get(lemma) {
            return id;
        }
        let id = self.lemmas.len() as u32;
        self.lemmas.push(lemma.to_owned());
        self.lemma_ids.insert(lemma.to_owned(), id);
        id
    }

    /// The readings of a normalised word; empty when the tables do not know it.
    pub fn analyses(&self, form: &str) -> &[Analysis] {
        self.forms.get(form).map_or(&[], Vec::as_slice)
    }

    /// Every form with its readings.
    pub fn forms(&self) -> impl Iterator<Item = (&str, &[Analysis])> {
        self.forms.iter().map(|(form, analyses)| (form.as_str(), analyses.as_slice()))
    }

    /// The lemma with this id.
    pub fn lemma(&self, id: u32) -> &str {
        self.lemmas.get(id as usize).map_or("", String::as_str)
    }

    /// The id of a lemma, when the tables know it.
    #[cfg(test)]
    pub fn lemma_of(&self, lemma: &str) -> Option<u32> {
        self.lemma_ids.get(lemma).copied()
    }

    /// Whether a verb has separable forms built on it (`steken`: `neersteken`).
    pub fn is_separable_base(&self, lemma: u32) -> bool {
        self.bases.contains(&lemma)
    }

    /// The separable verb that `particle` makes of `base`, if any (`neer` + `schieten`).
    pub fn separable(&self, particle: &str, base: u32) -> Option<u32> {
        self.separable.get(particle)?.iter().find(|(b, _)| *b == base).map(|(_, verb)| *verb)
    }

    /// Splits a compound into its parts (`vuurwerkbommen` → `vuurwerk`,
    /// `bommen`; `azc-besluit` → `azc`, `besluit`; `stikstofbeleid` →
    /// `stikstof`, `beleid`), using `known` as well as the dictionary's
    /// compound parts, with the splitter the archive's analyzer shares
    /// ([`onrust_model::compound::split_compound`]).
    pub fn split_compound<'w>(&self, word: &'w str, known: impl Fn(&str) -> bool) -> Vec<&'w str> {
        onrust_model::compound::split_compound(word, |part| self.parts.contains(part) || known(part))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Morphology {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/signals");
        let mut problems = Problems::default();
        let morphology = Morphology::load(&dir, &mut problems);
        assert!(problems.is_empty(), "{:?}", problems.0);
        morphology
    }

    fn reading(m: &Morphology, form: &str) -> Vec<(String, Tag)> {
        m.analyses(form).iter().map(|a| (m.lemma(a.lemma).to_owned(), a.tag)).collect()
    }

    #[test]
    fn inflections_lead_to_their_lemma_and_keep_their_kind() {
        let m = shipped();
        assert!(reading(&m, "bekogelt").contains(&("bekogelen".into(), Tag::Present)));
        assert!(reading(&m, "bekogelden").contains(&("bekogelen".into(), Tag::Past)));
        assert!(reading(&m, "bekogeld").contains(&("bekogelen".into(), Tag::Participle)));
        assert!(reading(&m, "stak").contains(&("steken".into(), Tag::Past)), "strong verbs too");
        assert!(reading(&m, "neergestoken").iter().any(|(l, t)| l == "neersteken" && *t == Tag::Participle));
        assert!(m.analyses("fiets").is_empty() || m.analyses("fiets").iter().all(|a| a.tag != Tag::Past));
        // Chat drops the d of a stem after "ij" and "ou": "ik rij", "ik snij", "hou".
        assert!(reading(&m, "rij").contains(&("rijden".into(), Tag::Stem)));
        assert!(reading(&m, "snij").contains(&("snijden".into(), Tag::Stem)));
        assert!(reading(&m, "hou").contains(&("houden".into(), Tag::Stem)));
    }

    #[test]
    fn separable_verbs_are_known_by_particle_and_base() {
        let m = shipped();
        let schieten = m.lemma_of("schieten").expect("schieten is a lemma");
        let neerschieten = m.separable("neer", schieten).expect("neer + schieten");
        assert_eq!(m.lemma(neerschieten), "neerschieten");
        assert!(m.is_separable_base(schieten));
        assert_eq!(m.separable("uit", schieten), None);
    }

    #[test]
    fn compounds_split_into_known_parts() {
        let m = shipped();
        let none = |_: &str| false;
        assert_eq!(m.split_compound("vuurwerkbommen", none), ["vuurwerk", "bommen"]);
        assert_eq!(m.split_compound("stikstofbeleid", none), ["stikstof", "beleid"]);
        assert_eq!(m.split_compound("azc-besluit", |w: &str| w == "azc"), ["azc", "besluit"]);
        assert_eq!(m.split_compound("fiets", none), ["fiets"], "a simple word stays whole");
        assert_eq!(m.split_compound("xqzvbn", none), ["xqzvbn"]);
    }
}
