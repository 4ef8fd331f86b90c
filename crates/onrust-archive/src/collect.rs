//! Collectors: a time budget around any collector, facet counts, and the
//! municipality × theme × level counts the alert engine asks for.
//!
//! All of them read fast fields (columns) only, never stored documents.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::Weight;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema;

/// Documents between two looks at the clock inside one segment.
const CLOCK_EVERY: u32 = 4096;

/// A deadline shared by the collectors of one search; once passed, every
/// collector stops taking documents and the search reports it.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    deadline: Instant,
    exceeded: Arc<AtomicBool>,
}

impl Budget {
    pub fn until(deadline: Instant) -> Budget {
        Budget { deadline, exceeded: Arc::new(AtomicBool::new(false)) }
    }

    /// Looks at the clock; true once the deadline has passed.
    pub fn check(&self) -> bool {
        if self.exceeded.load(Ordering::Relaxed) {
            return true;
        }
        if Instant::now() >= self.deadline {
            self.exceeded.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }
}

/// Runs `inner` segment by segment while the budget lasts; segments after
/// the deadline are skipped. Delegating whole segments keeps the inner
/// collector's own fast paths (block-max pruning for top hits).
pub(crate) struct Budgeted<C> {
    pub inner: C,
    pub budget: Budget,
}

impl<C: Collector> Collector for Budgeted<C> {
    type Fruit = C::Fruit;
    type Child = C::Child;

    fn for_segment(&self, ord: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<C::Child> {
        self.inner.for_segment(ord, reader)
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(&self, fruits: Vec<<C::Child as SegmentCollector>::Fruit>) -> tantivy::Result<C::Fruit> {
        self.inner.merge_fruits(fruits)
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<<C::Child as SegmentCollector>::Fruit> {
        if self.budget.check() {
            return Ok(self.inner.for_segment(ord, reader)?.harvest());
        }
        self.inner.collect_segment(weight, ord, reader)
    }
}

/// Counts that add up over segments and buckets.
pub(crate) trait Tally: Default {
    fn merge(&mut self, other: Self);
}

/// The sum of several tallies.
pub(crate) fn merge_all<T: Tally>(tallies: impl IntoIterator<Item = T>) -> T {
    let mut total = T::default();
    for tally in tallies {
        total.merge(tally);
    }
    total
}

/// Counts per value, merged over segments.
#[derive(Debug, Default)]
pub(crate) struct FacetTally {
    pub municipalities: FxHashMap<String, u64>,
    pub themes: FxHashMap<String, u64>,
    pub levels: [u64; 4],
    pub days: BTreeMap<u64, u64>,
}

/// Facet counts over every matching document.
pub(crate) struct FacetCollector {
    pub budget: Budget,
}

pub(crate) struct FacetSegment {
    budget: Budget,
    seen: u32,
    stopped: bool,
    municipalities: Option<StrColumn>,
    municipality_counts: Vec<u64>,
    themes: Option<StrColumn>,
    theme_counts: Vec<u64>,
    level: Column<u64>,
    levels: [u64; 4],
    day: Column<u64>,
    days: FxHashMap<u64, u64>,
}

impl Collector for FacetCollector {
    type Fruit = FacetTally;
    type Child = FacetSegment;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<FacetSegment> {
        let ff = reader.fast_fields();
        let municipalities = ff.str(schema::MUNICIPALITIES)?;
        let themes = ff.str(schema::THEMES)?;
        Ok(FacetSegment {
            budget: self.budget.clone(),
            seen: 0,
            stopped: false,
            municipality_counts: vec![0; municipalities.as_ref().map_or(0, |c| c.num_terms())],
            municipalities,
            theme_counts: vec![0; themes.as_ref().map_or(0, |c| c.num_terms())],
            themes,
            level: ff.u64(schema::LEVEL)?,
            levels: [0; 4],
            day: ff.u64(schema::DAY)?,
            days: FxHashMap::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetTally>) -> tantivy::Result<FacetTally> {
        Ok(merge_all(fruits))
    }
}

impl Tally for FacetTally {
    fn merge(&mut self, other: FacetTally) {
        for (k, v) in other.municipalities {
            *self.municipalities.entry(k).or_default() += v;
        }
        for (k, v) in other.themes {
            *self.themes.entry(k).or_default() += v;
        }
        for (a, b) in self.levels.iter_mut().zip(other.levels) {
            *a += b;
        }
        for (k, v) in other.days {
            *self.days.entry(k).or_default() += v;
        }
    }
}

fn count_ords(column: Option<&StrColumn>, counts: &mut [u64], doc: DocId) {
    if let Some(column) = column {
        for ord in column.term_ords(doc) {
            if let Some(c) = counts.get_mut(ord as usize) {
                *c += 1;
            }
        }
    }
}

fn resolve(column: Option<&StrColumn>, counts: &[u64]) -> FxHashMap<String, u64> {
    let mut out = FxHashMap::default();
    let Some(column) = column else { return out };
    let mut value = String::new();
    for (ord, &count) in counts.iter().enumerate() {
        if count > 0 && column.ord_to_str(ord as u64, &mut value).unwrap_or(false) {
            out.insert(value.clone(), count);
        }
    }
    out
}

impl SegmentCollector for FacetSegment {
    type Fruit = FacetTally;

    fn collect(&mut self, doc: DocId, _: Score) {
        if self.stopped {
            return;
        }
        self.seen += 1;
        if self.seen.is_multiple_of(CLOCK_EVERY) && self.budget.check() {
            self.stopped = true;
            return;
        }
        count_ords(self.municipalities.as_ref(), &mut self.municipality_counts, doc);
        count_ords(self.themes.as_ref(), &mut self.theme_counts, doc);
        if let Some(level) = self.level.first(doc)
            && let Some(slot) = self.levels.get_mut(level as usize)
        {
            *slot += 1;
        }
        if let Some(day) = self.day.first(doc) {
            *self.days.entry(day).or_default() += 1;
        }
    }

    fn harvest(self) -> FacetTally {
        FacetTally {
            municipalities: resolve(self.municipalities.as_ref(), &self.municipality_counts),
            themes: resolve(self.themes.as_ref(), &self.theme_counts),
            levels: self.levels,
            days: self.days.into_iter().collect(),
        }
    }
}

/// One cell of [`crate::ArchiveReader::counts`]: `None` where a message
/// names no municipality or no theme.
pub(crate) type CellKey = (Option<String>, Option<String>, u8);

/// Messages and distinct authors per cell.
#[derive(Debug, Default)]
pub(crate) struct CellCounts {
    pub cells: FxHashMap<CellKey, (u64, FxHashSet<u64>)>,
}

/// Counts messages and distinct author pseudonyms per municipality × theme
/// × level. Author ordinals are per segment; they become hashes of the
/// pseudonym once per segment and cell, never strings that leave here.
pub(crate) struct CountCollector {
    pub budget: Budget,
}

/// A value ordinal, with `u64::MAX` for "none".
const NONE: u64 = u64::MAX;

pub(crate) struct CountSegment {
    budget: Budget,
    seen: u32,
    stopped: bool,
    municipalities: Option<StrColumn>,
    themes: Option<StrColumn>,
    authors: Option<StrColumn>,
    level: Column<u64>,
    cells: FxHashMap<(u64, u64, u8), (u64, FxHashSet<u64>)>,
    scratch: (Vec<u64>, Vec<u64>),
}

impl Collector for CountCollector {
    type Fruit = CellCounts;
    type Child = CountSegment;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<CountSegment> {
        let ff = reader.fast_fields();
        Ok(CountSegment {
            budget: self.budget.clone(),
            seen: 0,
            stopped: false,
            municipalities: ff.str(schema::MUNICIPALITIES)?,
            themes: ff.str(schema::THEMES)?,
            authors: ff.str(schema::AUTHOR)?,
            level: ff.u64(schema::LEVEL)?,
            cells: FxHashMap::default(),
            scratch: (Vec::new(), Vec::new()),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<CellCounts>) -> tantivy::Result<CellCounts> {
        Ok(merge_all(fruits))
    }
}

impl Tally for CellCounts {
    fn merge(&mut self, other: CellCounts) {
        for (key, (n, authors)) in other.cells {
            let cell = self.cells.entry(key).or_default();
            cell.0 += n;
            cell.1.extend(authors);
        }
    }
}

fn ords_or_none(column: Option<&StrColumn>, doc: DocId, out: &mut Vec<u64>) {
    out.clear();
    if let Some(column) = column {
        out.extend(column.term_ords(doc));
    }
    if out.is_empty() {
        out.push(NONE);
    }
}

impl SegmentCollector for CountSegment {
    type Fruit = CellCounts;

    fn collect(&mut self, doc: DocId, _: Score) {
        if self.stopped {
            return;
        }
        self.seen += 1;
        if self.seen.is_multiple_of(CLOCK_EVERY) && self.budget.check() {
            self.stopped = true;
            return;
        }
        let level = self.level.first(doc).and_then(|l| u8::try_from(l).ok()).unwrap_or(0);
        let author = self.authors.as_ref().and_then(|c| c.term_ords(doc).next()).unwrap_or(NONE);
        let (munis, themes) = &mut self.scratch;
        ords_or_none(self.municipalities.as_ref(), doc, munis);
        ords_or_none(self.themes.as_ref(), doc, themes);
        for &m in munis.iter() {
            for &t in themes.iter() {
                let cell = self.cells.entry((m, t, level)).or_default();
                cell.0 += 1;
                if author != NONE {
                    cell.1.insert(author);
                }
            }
        }
    }

    fn harvest(self) -> CellCounts {
        let name = |column: Option<&StrColumn>, ord: u64| -> Option<String> {
            if ord == NONE {
                return None;
            }
            let mut value = String::new();
            column.and_then(|c| c.ord_to_str(ord, &mut value).ok()).filter(|found| *found).map(|_| value)
        };
        let mut author_hash: FxHashMap<u64, u64> = FxHashMap::default();
        let mut bytes = Vec::new();
        let mut out = CellCounts::default();
        for ((m, t, level), (n, authors)) in self.cells {
            let key = (name(self.municipalities.as_ref(), m), name(self.themes.as_ref(), t), level);
            let mut hashes = FxHashSet::default();
            for ord in authors {
                let hash = *author_hash.entry(ord).or_insert_with(|| {
                    bytes.clear();
                    let _ = self.authors.as_ref().map(|c| c.ord_to_bytes(ord, &mut bytes));
                    let mut h = FxHasher::default();
                    bytes.hash(&mut h);
                    h.finish()
                });
                hashes.insert(hash);
            }
            let cell = out.cells.entry(key).or_default();
            cell.0 += n;
            cell.1.extend(hashes);
        }
        out
    }
}
