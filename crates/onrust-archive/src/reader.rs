//! Read-only access to an archive: search, while a writer may be running.

use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use onrust_model::Level;
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, IndexReader, Order, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::ArchiveError;
use crate::bucket::BucketId;
use crate::collect::{Budget, Budgeted, CountCollector, FacetCollector, FacetTally, Tally, merge_all};
use crate::compile::Compiler;
use crate::internal_events::{QueryRefused, SearchCompleted};
use crate::layout::{self, Layout};
use crate::query::{self, SearchRequest, Sort};
use crate::schema::{self, Analysis, Fields};
use crate::stats::Stats;

/// One search hit. There is no author field, by design (rule L1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub source: String,
    pub source_kind: String,
    pub url: Option<String>,
    pub title: Option<String>,
    pub text: String,
    pub lang: Option<String>,
    /// In UTC; when the source gave none, the fetch time (see `published_at_estimated`).
    pub published_at: DateTime<Utc>,
    pub published_at_estimated: bool,
    pub event_time: Option<DateTime<Utc>>,
    pub level: u8,
    pub score: f32,
    pub themes: Vec<String>,
    pub municipalities: Vec<String>,
    /// The best passage of the text (or title) with the query's words marked;
    /// `None` when the query has no words (filters only).
    pub snippet: Option<Snippet>,
    /// The classifier's signals as it scored the message (empty for messages
    /// archived before format 2).
    pub explanation: Vec<onrust_model::Signal>,
}

/// A passage with highlighted ranges. Plain text: whoever renders it as
/// HTML escapes it (rule S5); the ranges are byte offsets into `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<[usize; 2]>,
}

/// One value of a facet and how many matching documents have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// Counts of the matching documents (all of them, not just this page).
/// Municipalities and themes are sorted by count, highest first; levels
/// 0..=3 and days (local dates in Europe/Amsterdam, `YYYY-MM-DD`) in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    pub municipalities: Vec<FacetCount>,
    pub themes: Vec<FacetCount>,
    pub levels: Vec<FacetCount>,
    pub days: Vec<FacetCount>,
}

/// A page of hits and how many documents matched in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// Present when the request asked for facets.
    pub facets: Option<Facets>,
}

/// The default time budget of one search (rule S7).
pub const DEFAULT_SEARCH_BUDGET: Duration = Duration::from_secs(2);

/// How often a reader looks for buckets that appeared or went.
const RESCAN_EVERY: Duration = Duration::from_secs(1);

/// What a window count asks for; see [`ArchiveReader::counts`].
#[derive(Debug, Clone, PartialEq)]
pub struct CountRequest {
    /// Inclusive lower bound on `published_at`.
    pub since: DateTime<Utc>,
    /// Exclusive upper bound on `published_at`.
    pub until: DateTime<Utc>,
    /// Only messages at this level or above.
    pub min_level: Option<Level>,
}

/// Messages in one municipality × theme × level cell of a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountRow {
    /// CBS code; `None` for messages that name no municipality.
    pub municipality: Option<String>,
    /// Theme id; `None` for messages with no theme.
    pub theme: Option<String>,
    pub level: u8,
    pub messages: u64,
    /// Distinct author pseudonyms among them (how many voices, never who).
    pub distinct_authors: u64,
}

/// One bucket as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketInfo {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub documents: u64,
    pub bytes: u64,
}

struct OpenBucket {
    id: BucketId,
    reader: IndexReader,
}

/// A read-only view of an archive: all its buckets, searched together.
/// Opening one needs no lock, so the CLI and the web API can search while
/// the daemon writes. It sees a new commit within about a second on its
/// own, and a new or deleted bucket as well; [`ArchiveReader::reload`]
/// makes it see both at once.
pub struct ArchiveReader {
    layout: Layout,
    buckets: RwLock<Vec<OpenBucket>>,
    last_scan: Mutex<Instant>,
    compiler: Compiler,
    fields: Fields,
    budget: Duration,
}

impl std::fmt::Debug for ArchiveReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveReader").field("dir", &self.layout.root).finish_non_exhaustive()
    }
}

/// What one bucket's search returned.
struct BucketHits {
    searcher: Searcher,
    hits: Vec<(Key, DocAddress)>,
    total: usize,
    facets: Option<FacetTally>,
}

/// A hit's sort key across buckets.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Key {
    Score(f32),
    Time(i64),
}

impl ArchiveReader {
    /// Opens the archive in `dir` read-only.
    pub fn open(dir: &Path) -> Result<ArchiveReader, ArchiveError> {
        let layout = Layout::new(dir);
        layout.check_not_old()?;
        if !layout.buckets.is_dir() {
            return Err(ArchiveError::NotFound { dir: dir.to_path_buf() });
        }
        layout.check_format(false)?;
        let (schema, fields) = schema::build_schema();
        let reader = ArchiveReader {
            layout,
            buckets: RwLock::new(Vec::new()),
            last_scan: Mutex::new(Instant::now()),
            compiler: Compiler::new(schema, fields),
            fields,
            budget: DEFAULT_SEARCH_BUDGET,
        };
        reader.rescan()?;
        Ok(reader)
    }

    /// Sets the time budget of each search (default [`DEFAULT_SEARCH_BUDGET`]).
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Makes the next search see the latest commit and the current buckets.
    pub fn reload(&self) -> Result<(), ArchiveError> {
        self.rescan()?;
        for bucket in self.read_buckets().iter() {
            bucket.reader.reload().map_err(|e| ArchiveError::from_tantivy(e, &self.layout.root))?;
        }
        Ok(())
    }

    /// Documents in the archive as of the last reload.
    pub fn doc_count(&self) -> u64 {
        self.read_buckets().iter().map(|b| b.reader.searcher().num_docs()).sum()
    }

    /// The buckets, oldest first, with their documents and bytes on disk.
    pub fn buckets(&self) -> Result<Vec<BucketInfo>, ArchiveError> {
        self.maybe_rescan()?;
        Ok(self
            .read_buckets()
            .iter()
            .map(|b| BucketInfo {
                name: b.id.to_string(),
                start: b.id.start(),
                end: b.id.end(),
                documents: b.reader.searcher().num_docs(),
                bytes: layout::dir_bytes(&self.layout.bucket_dir(b.id)),
            })
            .collect())
    }

    /// When the oldest bucket's period starts (`None` for an empty archive):
    /// what the archive can cover at all. Cheaper than [`ArchiveReader::buckets`],
    /// which sizes every bucket on disk; the alert engine asks for it on every
    /// baseline, and `onrust backtest` hundreds of thousands of times.
    pub fn oldest_start(&self) -> Result<Option<DateTime<Utc>>, ArchiveError> {
        self.maybe_rescan()?;
        Ok(self.read_buckets().iter().map(|b| b.id.start()).min())
    }

    /// Runs a search. A request the rules refuse (rule S7) or the parser
    /// cannot read is [`ArchiveError::BadQuery`], before any index work; a
    /// search that outruns its budget is [`ArchiveError::TooSlow`].
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, ArchiveError> {
        let started = Instant::now();
        let result = self.search_inner(req, started);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ArchiveError::BadQuery(_)) => "bad_query",
            Err(ArchiveError::TooSlow { .. }) => "too_slow",
            Err(_) => "error",
        };
        SearchCompleted { outcome, duration: started.elapsed() }.emit();
        result
    }

    /// Messages and distinct authors per municipality × theme × level with
    /// `published_at` in `[since, until)`, for the alert engine. A message
    /// with two municipalities and two themes counts in four cells. Rows are
    /// sorted by municipality, theme, level.
    pub fn counts(&self, req: &CountRequest) -> Result<Vec<CountRow>, ArchiveError> {
        if req.since >= req.until {
            return Err(ArchiveError::BadQuery("since must be before until".into()));
        }
        self.maybe_rescan()?;
        let mut filters = vec![self.time_filter(Some(req.since), Some(req.until))];
        if let Some(level) = req.min_level {
            filters.push(self.level_filter(level));
        }
        let query = BooleanQuery::new(filters.into_iter().map(|q| (Occur::Must, q)).collect());
        let budget = Budget::until(Instant::now() + self.budget);
        let mut total = crate::collect::CellCounts::default();
        for bucket in self.read_buckets().iter().filter(|b| b.id.end() > req.since) {
            let searcher = bucket.reader.searcher();
            let collector = Budgeted { inner: CountCollector { budget: budget.clone() }, budget: budget.clone() };
            let cells =
                searcher.search(&query, &collector).map_err(|e| ArchiveError::from_tantivy(e, &self.layout.root))?;
            total.merge(cells);
        }
        if budget.exceeded() {
            return Err(ArchiveError::TooSlow { budget_ms: self.budget.as_millis() as u64 });
        }
        let mut rows: Vec<CountRow> = total
            .cells
            .into_iter()
            .map(|((municipality, theme, level), (messages, authors))| CountRow {
                municipality,
                theme,
                level,
                messages,
                distinct_authors: authors.len() as u64,
            })
            .collect();
        rows.sort_by(|a, b| (&a.municipality, &a.theme, a.level).cmp(&(&b.municipality, &b.theme, b.level)));
        Ok(rows)
    }

    /// Searchers of the buckets that may hold documents fetched in
    /// `[since, until)`: a document lives in its fetch time's bucket or, when
    /// its id was already there, in the one next to it (see `writer::route`),
    /// so one bucket's length of slack on either side.
    pub(crate) fn searchers_around(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Searcher>, ArchiveError> {
        self.maybe_rescan()?;
        Ok(self
            .read_buckets()
            .iter()
            .filter(|b| {
                let slack = b.id.end() - b.id.start();
                b.id.end() + slack > since && b.id.start() - slack < until
            })
            .map(|b| b.reader.searcher())
            .collect())
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Every bucket's searcher as of the last reload.
    pub(crate) fn searchers(&self) -> Vec<Searcher> {
        self.read_buckets().iter().map(|b| b.reader.searcher()).collect()
    }

    fn read_buckets(&self) -> std::sync::RwLockReadGuard<'_, Vec<OpenBucket>> {
        self.buckets.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn maybe_rescan(&self) -> Result<(), ArchiveError> {
        let due = {
            let mut last = self.last_scan.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.elapsed() >= RESCAN_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        };
        if due { self.rescan() } else { Ok(()) }
    }

    /// Opens buckets that appeared and forgets those retention removed.
    fn rescan(&self) -> Result<(), ArchiveError> {
        let on_disk = self.layout.list()?;
        let known: Vec<BucketId> = self.read_buckets().iter().map(|b| b.id).collect();
        if on_disk.iter().map(|(id, _)| *id).eq(known.iter().copied()) {
            return Ok(());
        }
        let existing: Vec<(BucketId, IndexReader)> =
            self.read_buckets().iter().map(|b| (b.id, b.reader.clone())).collect();
        let mut fresh = Vec::with_capacity(on_disk.len());
        for (id, path) in on_disk {
            if let Some((_, reader)) = existing.iter().find(|(known, _)| *known == id) {
                fresh.push(OpenBucket { id, reader: reader.clone() });
                continue;
            }
            let index = match layout::open_index(&path, &self.layout.root) {
                Ok(index) => index,
                // Removed by retention between the listing and here.
                Err(ArchiveError::Io(_) | ArchiveError::Tantivy(_) | ArchiveError::OpenDirectory(_))
                    if !path.exists() =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let reader = index
                .reader_builder()
                .reload_policy(ReloadPolicy::OnCommitWithDelay)
                .try_into()
                .map_err(|e| ArchiveError::from_tantivy(e, &self.layout.root))?;
            fresh.push(OpenBucket { id, reader });
        }
        *self.buckets.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(())
    }

    fn search_inner(&self, req: &SearchRequest, started: Instant) -> Result<SearchResults, ArchiveError> {
        let text = query::validate(req).map_err(|refusal| {
            QueryRefused { reason: refusal.reason }.emit();
            ArchiveError::BadQuery(refusal.message)
        })?;
        let user = match text.as_deref() {
            None => None,
            Some(text) => Some(self.compiler.compile(text).map_err(|refusal| {
                QueryRefused { reason: refusal.reason }.emit();
                ArchiveError::BadQuery(refusal.message)
            })?),
        };
        let query = self.with_filters(req, user.as_ref().map(|q| q.box_clone()))?;
        self.maybe_rescan()?;
        // Every document of a bucket was published before the bucket ended
        // (see `schema::to_document`), so older buckets cannot match `since`.
        let searchers: Vec<(BucketId, Searcher)> = self
            .read_buckets()
            .iter()
            .filter(|b| req.since.is_none_or(|since| b.id.end() > since))
            .map(|b| (b.id, b.reader.searcher()))
            .collect();
        let stats = Stats::new(searchers.iter().map(|(_, s)| s.clone()).collect());
        let budget = Budget::until(started + self.budget);
        let wanted = req.offset + req.limit;
        let mut per_bucket = Vec::with_capacity(searchers.len());
        for (_, searcher) in &searchers {
            per_bucket.push(self.search_bucket(searcher, &*query, req, wanted, &stats, &budget)?);
        }
        if budget.exceeded() {
            return Err(ArchiveError::TooSlow { budget_ms: self.budget.as_millis() as u64 });
        }
        let total = per_bucket.iter().map(|b| b.total).sum();
        let facets = req.facets.then(|| to_facets(merge_all(per_bucket.iter_mut().filter_map(|b| b.facets.take()))));
        let mut merged: Vec<(Key, usize, DocAddress)> = per_bucket
            .iter()
            .enumerate()
            .flat_map(|(i, b)| b.hits.iter().map(move |(key, address)| (*key, i, *address)))
            .collect();
        let ascending = req.sort == Sort::Oldest;
        merged.sort_by(|a, b| {
            let order = a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal);
            if ascending { order } else { order.reverse() }
        });
        let mut snippets = Snippets::new(user.as_deref(), &self.fields);
        let mut hits = Vec::with_capacity(req.limit);
        for (_, bucket, address) in merged.into_iter().skip(req.offset).take(req.limit) {
            let searcher = &per_bucket[bucket].searcher;
            hits.push(self.hit(searcher, address, bucket, &mut snippets)?);
        }
        Ok(SearchResults { total, hits, facets })
    }

    fn search_bucket(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        req: &SearchRequest,
        wanted: usize,
        stats: &Stats,
        budget: &Budget,
    ) -> Result<BucketHits, ArchiveError> {
        let tantivy_err = |e| ArchiveError::from_tantivy(e, &self.layout.root);
        let facets = req.facets.then(|| FacetCollector { budget: budget.clone() });
        let top = TopDocs::with_limit(wanted);
        let (hits, total, facets) = match req.sort {
            Sort::Relevance => {
                let collector = Budgeted { inner: (top.order_by_score(), Count, facets), budget: budget.clone() };
                let (docs, total, facets) =
                    searcher.search_with_statistics_provider(query, &collector, stats).map_err(tantivy_err)?;
                (docs.into_iter().map(|(s, a)| (Key::Score(s), a)).collect(), total, facets)
            }
            Sort::Newest | Sort::Oldest => {
                let order = if req.sort == Sort::Newest { Order::Desc } else { Order::Asc };
                let by_date = top.order_by_fast_field::<tantivy::DateTime>(schema::PUBLISHED_AT, order);
                let collector = Budgeted { inner: (by_date, Count, facets), budget: budget.clone() };
                let (docs, total, facets) = searcher.search(query, &collector).map_err(tantivy_err)?;
                (
                    docs.into_iter()
                        .map(|(t, a)| (Key::Time(t.map_or(i64::MIN, |t| t.into_timestamp_secs())), a))
                        .collect(),
                    total,
                    facets,
                )
            }
        };
        Ok(BucketHits { searcher: searcher.clone(), hits, total, facets })
    }

    /// The user's query (all documents when `None`), AND the filters, which
    /// do not change the ranking.
    fn with_filters(&self, req: &SearchRequest, user: Option<Box<dyn Query>>) -> Result<Box<dyn Query>, ArchiveError> {
        let f = &self.fields;
        let user: Box<dyn Query> = user.unwrap_or_else(|| Box::new(AllQuery));
        let mut filters: Vec<Box<dyn Query>> = Vec::new();
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
        };
        if let Some(code) = &req.municipality {
            filters.push(term(f.municipalities, code.as_str()));
        }
        if let Some(theme) = &req.theme {
            filters.push(term(f.themes, theme));
        }
        if let Some(kind) = &req.source_kind {
            filters.push(term(f.source_kind, kind));
        }
        if let Some(lang) = &req.lang {
            filters.push(term(f.lang, lang));
        }
        if let Some(level) = req.min_level {
            filters.push(self.level_filter(level));
        }
        if req.since.is_some() || req.until.is_some() {
            filters.push(self.time_filter(req.since, req.until));
        }
        if filters.is_empty() {
            return Ok(user);
        }
        let mut clauses = vec![(Occur::Must, user)];
        clauses.extend(
            filters.into_iter().map(|q| (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)) as Box<dyn Query>)),
        );
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    fn level_filter(&self, level: Level) -> Box<dyn Query> {
        let lower = Term::from_field_u64(self.fields.level, u64::from(level.as_u8()));
        Box::new(RangeQuery::new(Bound::Included(lower), Bound::Unbounded))
    }

    fn time_filter(&self, since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Box<dyn Query> {
        // Dates are indexed to the second: round `until` up so a bound
        // inside a second still includes that second's earlier documents.
        let date = |secs: i64| Term::from_field_date(self.fields.published_at, schema::tantivy_secs(secs));
        let lower = since.map_or(Bound::Unbounded, |s| Bound::Included(date(s.timestamp())));
        let upper = until.map_or(Bound::Unbounded, |u| {
            Bound::Excluded(date(u.timestamp() + i64::from(u.timestamp_subsec_nanos() > 0)))
        });
        Box::new(RangeQuery::new(lower, upper))
    }

    fn hit(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        bucket: usize,
        snippets: &mut Snippets<'_>,
    ) -> Result<Hit, ArchiveError> {
        let f = &self.fields;
        let doc: TantivyDocument =
            searcher.doc(address).map_err(|e| ArchiveError::from_tantivy(e, &self.layout.root))?;
        let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).map(str::to_owned);
        let texts = |field: Field| doc.get_all(field).filter_map(|v| v.as_str()).map(str::to_owned).collect();
        let date = |field: Field| doc.get_first(field).and_then(|v| v.as_datetime()).map(schema::from_tantivy_date);
        let lang = text(f.lang);
        let body = text(f.text).unwrap_or_default();
        let title = text(f.title);
        let snippet = snippets.make(searcher, bucket, Analysis::of_lang(lang.as_deref()), title.as_deref(), &body);
        Ok(Hit {
            id: text(f.id).unwrap_or_default(),
            source: text(f.source).unwrap_or_default(),
            source_kind: text(f.source_kind).unwrap_or_default(),
            url: text(f.url),
            title,
            text: body,
            lang,
            published_at: date(f.published_at).unwrap_or_default(),
            published_at_estimated: doc.get_first(f.published_estimated).and_then(|v| v.as_bool()).unwrap_or(false),
            event_time: date(f.event_time),
            level: doc.get_first(f.level).and_then(|v| v.as_u64()).and_then(|l| u8::try_from(l).ok()).unwrap_or(0),
            score: doc.get_first(f.score).and_then(|v| v.as_f64()).unwrap_or(0.0) as f32,
            themes: texts(f.themes),
            municipalities: texts(f.municipalities),
            snippet,
            explanation: text(f.explanation).and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default(),
        })
    }
}

/// Longest snippet, in characters (tantivy counts bytes; close enough for a passage).
const SNIPPET_CHARS: usize = 200;

/// Snippet generators, made on first need per bucket, group and field.
struct Snippets<'q> {
    query: Option<&'q dyn Query>,
    fields: &'q Fields,
    generators: Vec<((usize, Analysis, bool), Option<SnippetGenerator>)>,
}

impl<'q> Snippets<'q> {
    fn new(query: Option<&'q dyn Query>, fields: &'q Fields) -> Self {
        Snippets { query, fields, generators: Vec::new() }
    }

    fn make(
        &mut self,
        searcher: &Searcher,
        bucket: usize,
        g: Analysis,
        title: Option<&str>,
        text: &str,
    ) -> Option<Snippet> {
        let from_text = self.one(searcher, bucket, g, false, text);
        if from_text.as_ref().is_some_and(|s| !s.highlights.is_empty()) {
            return from_text;
        }
        title.and_then(|t| self.one(searcher, bucket, g, true, t)).filter(|s| !s.highlights.is_empty()).or(from_text)
    }

    fn one(&mut self, searcher: &Searcher, bucket: usize, g: Analysis, title: bool, text: &str) -> Option<Snippet> {
        let query = self.query?;
        let key = (bucket, g, title);
        let pos = match self.generators.iter().position(|(k, _)| *k == key) {
            Some(pos) => pos,
            None => {
                let group = self.fields.group(g);
                let field = if title { group.title } else { group.text };
                let generator = SnippetGenerator::create(searcher, query, field).ok().map(|mut generator| {
                    generator.set_max_num_chars(SNIPPET_CHARS);
                    generator
                });
                self.generators.push((key, generator));
                self.generators.len() - 1
            }
        };
        let generator = self.generators[pos].1.as_ref()?;
        let snippet = generator.snippet(text);
        if snippet.fragment().is_empty() {
            return None;
        }
        Some(Snippet {
            text: snippet.fragment().to_owned(),
            highlights: snippet.highlighted().iter().map(|r| [r.start, r.end]).collect(),
        })
    }
}

fn to_facets(tally: FacetTally) -> Facets {
    let ranked = |map: rustc_hash::FxHashMap<String, u64>| {
        let mut counts: Vec<FacetCount> = map.into_iter().map(|(value, count)| FacetCount { value, count }).collect();
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        counts
    };
    Facets {
        municipalities: ranked(tally.municipalities),
        themes: ranked(tally.themes),
        levels: (0u8..4)
            .zip(tally.levels)
            .map(|(level, count)| FacetCount { value: level.to_string(), count })
            .collect(),
        days: tally.days.into_iter().map(|(day, count)| FacetCount { value: schema::day_label(day), count }).collect(),
    }
}
