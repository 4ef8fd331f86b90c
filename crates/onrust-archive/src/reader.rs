//! Read-only access to an archive: search, while a writer may be running.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Index, IndexReader, Order, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::internal_events::{QueryRefused, SearchCompleted};
use crate::query::{self, SearchRequest, Sort};
use crate::schema::{self, Fields};
use crate::{ArchiveError, index_dir};

/// One search hit. There is no author field, by design (GUARDRAILS L1).
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
}

/// A passage with highlighted ranges. Plain text: whoever renders it as
/// HTML escapes it (GUARDRAILS S5); the ranges are byte offsets into `text`.
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

/// A read-only view of an archive. Opening one needs no lock, so the CLI
/// and the web API can search while the daemon writes. It sees a new
/// commit within about a second on its own; [`ArchiveReader::reload`] makes
/// it see the latest commit at once.
pub struct ArchiveReader {
    dir: PathBuf,
    pub(crate) reader: IndexReader,
    parser: QueryParser,
    fields: Fields,
}

impl std::fmt::Debug for ArchiveReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveReader").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl ArchiveReader {
    /// Opens the archive in `dir` read-only.
    pub fn open(dir: &Path) -> Result<ArchiveReader, ArchiveError> {
        let not_found = || ArchiveError::NotFound { dir: dir.to_path_buf() };
        let path = index_dir(dir);
        if !path.is_dir() {
            return Err(not_found());
        }
        let tantivy_err = |e| ArchiveError::from_tantivy(e, dir);
        let directory = MmapDirectory::open(&path).map_err(|e| ArchiveError::Tantivy(e.to_string()))?;
        if !Index::exists(&directory).map_err(|e| ArchiveError::Tantivy(e.to_string()))? {
            return Err(not_found());
        }
        let index = Index::open(directory).map_err(tantivy_err)?;
        let (expected, fields) = schema::build_schema();
        schema::check_schema(&index, &expected, dir)?;
        schema::register_tokenizers(&index);
        let reader =
            index.reader_builder().reload_policy(ReloadPolicy::OnCommitWithDelay).try_into().map_err(tantivy_err)?;
        let mut parser = QueryParser::for_index(&index, vec![fields.title, fields.text]);
        // Analysts narrow down: `boeren snelweg` means both words.
        parser.set_conjunction_by_default();
        Ok(ArchiveReader { dir: dir.to_path_buf(), reader, parser, fields })
    }

    /// Makes the next search see the latest commit.
    pub fn reload(&self) -> Result<(), ArchiveError> {
        self.reader.reload().map_err(|e| ArchiveError::from_tantivy(e, &self.dir))
    }

    /// Documents in the archive as of the last reload.
    pub fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs a search. A request the rules refuse (GUARDRAILS S7) or the parser
    /// cannot read is [`ArchiveError::BadQuery`], before any index work.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, ArchiveError> {
        let started = Instant::now();
        let result = self.search_inner(req);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(ArchiveError::BadQuery(_)) => "bad_query",
            Err(_) => "error",
        };
        SearchCompleted { outcome, duration: started.elapsed() }.emit();
        result
    }

    fn search_inner(&self, req: &SearchRequest) -> Result<SearchResults, ArchiveError> {
        let text = query::validate(req).map_err(|refusal| {
            QueryRefused { reason: refusal.reason }.emit();
            ArchiveError::BadQuery(refusal.message)
        })?;
        let query = self.build_query(req, text.as_deref())?;
        let searcher = self.reader.searcher();
        let tantivy_err = |e| ArchiveError::from_tantivy(e, &self.dir);
        let top = TopDocs::with_limit(req.limit).and_offset(req.offset);
        let (addresses, total): (Vec<DocAddress>, usize) = match req.sort {
            Sort::Relevance => {
                let (docs, total) = searcher.search(&query, &(top, Count)).map_err(tantivy_err)?;
                (docs.into_iter().map(|(_, a)| a).collect(), total)
            }
            Sort::Newest | Sort::Oldest => {
                let order = if req.sort == Sort::Newest { Order::Desc } else { Order::Asc };
                let by_date = top.order_by_fast_field::<tantivy::DateTime>(schema::PUBLISHED_AT, order);
                let (docs, total) = searcher.search(&query, &(by_date, Count)).map_err(tantivy_err)?;
                (docs.into_iter().map(|(_, a)| a).collect(), total)
            }
        };
        let hits = addresses.into_iter().map(|a| self.hit(&searcher, a)).collect::<Result<_, _>>()?;
        Ok(SearchResults { total, hits, facets: None })
    }

    /// The user's query, AND the filters (which do not change the ranking).
    fn build_query(&self, req: &SearchRequest, text: Option<&str>) -> Result<Box<dyn Query>, ArchiveError> {
        let f = &self.fields;
        let user: Box<dyn Query> = match text {
            None => Box::new(AllQuery),
            Some(text) => self.parse(text)?,
        };
        let mut filters: Vec<Box<dyn Query>> = Vec::new();
        let term_filter = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
        };
        if let Some(code) = &req.municipality {
            filters.push(term_filter(f.municipalities, code.as_str()));
        }
        if let Some(theme) = &req.theme {
            filters.push(term_filter(f.themes, theme));
        }
        if let Some(level) = req.min_level {
            let lower = Term::from_field_u64(f.level, u64::from(level.as_u8()));
            filters.push(Box::new(RangeQuery::new(Bound::Included(lower), Bound::Unbounded)));
        }
        if req.since.is_some() || req.until.is_some() {
            // Dates are indexed to the second: round `until` up so a bound
            // inside a second still includes that second's earlier documents.
            let date = |secs: i64| Term::from_field_date(f.published_at, schema::tantivy_secs(secs));
            let lower = req.since.map_or(Bound::Unbounded, |s| Bound::Included(date(s.timestamp())));
            let upper = req.until.map_or(Bound::Unbounded, |u| {
                Bound::Excluded(date(u.timestamp() + i64::from(u.timestamp_subsec_nanos() > 0)))
            });
            filters.push(Box::new(RangeQuery::new(lower, upper)));
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

    fn parse(&self, text: &str) -> Result<Box<dyn Query>, ArchiveError> {
        // The rules above keep the parser's input small and shallow; the
        // unwind guard turns a parser bug into a 400 rather than a crash.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.parser.parse_query(text)));
        match parsed {
            Ok(Ok(query)) => Ok(query),
            Ok(Err(e)) => {
                QueryRefused { reason: "syntax" }.emit();
                Err(ArchiveError::BadQuery(format!("cannot read the query: {}", lowercase_first(&e.to_string()))))
            }
            Err(_) => {
                QueryRefused { reason: "syntax" }.emit();
                Err(ArchiveError::BadQuery("cannot read the query".into()))
            }
        }
    }

    fn hit(&self, searcher: &Searcher, address: DocAddress) -> Result<Hit, ArchiveError> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher.doc(address).map_err(|e| ArchiveError::from_tantivy(e, &self.dir))?;
        let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).map(str::to_owned);
        let texts = |field: Field| doc.get_all(field).filter_map(|v| v.as_str()).map(str::to_owned).collect();
        let date = |field: Field| doc.get_first(field).and_then(|v| v.as_datetime()).map(schema::from_tantivy_date);
        Ok(Hit {
            id: text(f.id).unwrap_or_default(),
            source: text(f.source).unwrap_or_default(),
            source_kind: text(f.source_kind).unwrap_or_default(),
            url: text(f.url),
            title: text(f.title),
            text: text(f.text).unwrap_or_default(),
            lang: text(f.lang),
            published_at: date(f.published_at).unwrap_or_default(),
            published_at_estimated: doc.get_first(f.published_estimated).and_then(|v| v.as_bool()).unwrap_or(false),
            event_time: date(f.event_time),
            level: doc.get_first(f.level).and_then(|v| v.as_u64()).and_then(|l| u8::try_from(l).ok()).unwrap_or(0),
            score: doc.get_first(f.score).and_then(|v| v.as_f64()).unwrap_or(0.0) as f32,
            themes: texts(f.themes),
            municipalities: texts(f.municipalities),
            snippet: None,
        })
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
