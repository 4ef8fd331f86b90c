//! Classifier throughput on 280-character Dutch messages, with the full
//! gazetteer and every theme and signal loaded, beside one case-insensitive
//! Aho-Corasick pass over the same texts with the same patterns: the ratio
//! shows what tokenising, language detection, context rules, place
//! resolution, time expressions and scoring cost on top of finding words.

use std::hint::black_box;

use aho_corasick::{AhoCorasick, MatchKind};
use chrono::DateTime;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onrust_classify::{Classifier, ClassifierConfig, Input};

/// The allocator the daemon uses (see the onrust binary).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const OPENINGS: [&str; 8] = [
    "VANAVOND 20:00 iedereen naar het Jaarbeursplein in Utrecht!!! Neem vuurwerk mee en laat de ME maar komen 🔥",
    "Boeren rijden zaterdag met trekkers naar het provinciehuis in Lelystad uit protest tegen de stikstofregels.",
    "Vannacht werden agenten in Kanaleneiland bekogeld met stenen en zwaar vuurwerk, meldt de politie Utrecht.",
    "De gemeenteraad van Amersfoort praat donderdag over de opvang van asielzoekers in een nieuw azc aan de rand van de stad.",
    "Klimaatactivisten kondigen een blokkade van de A12 bij Zoetermeer aan, volgende week woensdag om 9 uur.",
    "Het weer blijft de komende dagen wisselvallig met af en toe een bui en een zwakke tot matige zuidwestenwind.",
    "Burgemeester, we weten waar je woont. Pas maar op met je noodverordening, dit pikken we niet langer in Urk.",
    "Stille tocht in Zeist aanstaande zondag om 14.00 uur voor de jongen die vorige week is omgekomen bij een ongeluk.",
];

const FILLER: &str = " Volgens omwonenden is het al weken onrustig in de wijk en wordt er veel over gepraat in de buurtapp, \
                      maar de gemeente zegt dat er extra toezicht komt en dat iedereen welkom is bij de informatieavond.";

/// 1,000 distinct messages of 280 characters.
fn messages() -> Vec<String> {
    (0..1000)
        .map(|i| {
            let mut text = format!("{} ({i})", OPENINGS[i % OPENINGS.len()]);
            text.push_str(FILLER);
            let cut = text.char_indices().nth(280).map_or(text.len(), |(at, _)| at);
            text.truncate(cut);
            text
        })
        .collect()
}

fn classifier() -> Classifier {
    let config = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../config");
    let cfg = ClassifierConfig::in_dir(&config);
    match Classifier::load(&cfg) {
        Ok(classifier) => classifier,
        Err(e) => panic!("{e}"),
    }
}

fn bench(c: &mut Criterion) {
    let classifier = classifier();
    let texts = messages();
    let published = DateTime::parse_from_rfc3339("2026-12-30T21:40:00+01:00").ok();
    let patterns = classifier.patterns();
    let ac = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(&patterns)
        .unwrap_or_else(|e| panic!("{e}"));

    let mut group = c.benchmark_group("classify_280_chars");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("onrust_classifier", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(classifier.classify(&Input { text, published_at: published, ..Input::default() }));
            }
        });
    });
    group.bench_function(format!("aho_corasick_{}_patterns", patterns.len()), |b| {
        b.iter(|| {
            for text in &texts {
                black_box(ac.find_iter(text).count());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
