//! Relevance statistics over all buckets searched together.
//!
//! BM25 weighs a word by how rare it is. Each bucket is its own index, so
//! on its own it would judge rarity by its own week: a word common this
//! week but rare last week would rank last week's messages higher. Summing
//! the statistics over every bucket in the search makes one ranking.

use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

pub(crate) struct Stats {
    searchers: Vec<Searcher>,
}

impl Stats {
    pub fn new(searchers: Vec<Searcher>) -> Stats {
        Stats { searchers }
    }
}

impl Bm25StatisticsProvider for Stats {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let mut total = 0;
        for searcher in &self.searchers {
            total += searcher.total_num_tokens(field)?;
        }
        Ok(total)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        let mut total = 0;
        for searcher in &self.searchers {
            total += searcher.total_num_docs()?;
        }
        Ok(total)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut total = 0;
        for searcher in &self.searchers {
            total += searcher.doc_freq(term)?;
        }
        Ok(total)
    }
}
