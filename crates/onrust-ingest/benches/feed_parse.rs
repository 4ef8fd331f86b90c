//! Throughput of our feed parsing (guard, feed-rs, text conversion, keys)
//! beside feed-rs alone, over all fixture feeds per iteration.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onrust_ingest::feed::{ParseOptions, parse_feed};
use onrust_model::SourceId;

fn fixtures() -> Vec<Vec<u8>> {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../tests/fixtures/feeds/feed-rs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        // Only feeds both parsers accept, so both do the same work.
        .filter(|bytes| feed_rs::parser::parse(&bytes[..]).is_ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let feeds = fixtures();
    let total_bytes: usize = feeds.iter().map(Vec::len).sum();
    let Ok(source) = SourceId::new("bench") else {
        return;
    };
    let opts = ParseOptions::default();
    let fetched_at = Utc::now();

    let mut group = c.benchmark_group("feed_parse");
    group.throughput(Throughput::Bytes(total_bytes as u64));
    group.bench_function("onrust_parse_feed", |b| {
        b.iter(|| {
            for feed in &feeds {
                let _ = black_box(parse_feed(black_box(feed), &source, fetched_at, &opts));
            }
        });
    });
    group.bench_function("feed_rs_parse_only", |b| {
        b.iter(|| {
            for feed in &feeds {
                let _ = black_box(feed_rs::parser::parse(black_box(&feed[..])));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
