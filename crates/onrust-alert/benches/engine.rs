//! Alert engine throughput: `observe` for every scored message plus an
//! `evaluate` (threshold and burst over the per-minute windows, every alert's
//! life) once per simulated second, at a message mix like the region's:
//! 38 municipalities, 8 themes, mostly level 0–1, a few calls to violence and
//! announcements. The target (issue 5) is 20,000 scored messages per second
//! on one core.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use onrust_alert::{BaselineSource, CountCell, Engine, RuleConfig, validate};
use onrust_model::{Level, MunicipalityCode, ScoredMessage, SourceKind};
use onrust_testkit::scored_message;

const MESSAGES: usize = 100_000;
/// Simulated arrival rate: 20,000 messages per second.
const PER_SECOND: usize = 20_000;
const THEMES: [&str; 8] =
    ["stikstof", "jaarwisseling", "corona", "klimaat", "asiel", "zwarte_piet", "oekraine", "demonstratie"];

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 30, 20, 0, 0).single().unwrap_or_default()
}

fn messages() -> Vec<ScoredMessage> {
    let munis: Vec<MunicipalityCode> =
        (0..38).filter_map(|i| MunicipalityCode::new(format!("GM{:04}", 300 + i * 7)).ok()).collect();
    let kinds = [SourceKind::Feed, SourceKind::Mastodon, SourceKind::Telegram, SourceKind::Bluesky];
    let text = "Vanavond iedereen naar het plein, neem vuurwerk mee en laat de ME maar komen. Volgens omwonenden is \
                het al weken onrustig in de wijk en wordt er veel over gepraat in de buurtapp.";
    (0..MESSAGES)
        .filter_map(|i| {
            let at = start() + TimeDelta::microseconds((i * 1_000_000 / PER_SECOND) as i64);
            // 70% level 0, 22% level 1, 6% level 2, 2% level 3.
            let level = match i % 50 {
                0 => 3,
                1..=3 => 2,
                4..=14 => 1,
                _ => 0,
            };
            let municipality = (i % 5 != 0).then(|| munis[(i * 7) % munis.len()].as_str());
            let theme = (level != 0 || i % 3 == 0).then(|| THEMES[i % THEMES.len()]);
            let mut message = scored_message(&format!("bench:{i}"))
                .source(&format!("bron{}", i % 40))
                .source_kind(kinds[i % kinds.len()])
                .url(&format!("https://example.org/{i}"))
                .text(text)
                .fetched_at(at)
                .published_at(at.fixed_offset())
                .author(&format!("{:064x}", i % 5000))
                .level(Level::try_from(level).ok()?)
                .score(0.2 + 0.25 * f32::from(level))
                .signal("call_to_violence", "laat de ME maar komen", 0.6)
                .classifier_version("bench");
            if let Some(theme) = theme {
                message = message.theme(theme);
            }
            if let Some(code) = municipality {
                message = message.municipality(code);
            }
            if level == 2 && i % 4 == 1 {
                message = message.event_time((at + TimeDelta::days(1)).fixed_offset());
            }
            Some(message.build())
        })
        .collect()
}

/// A past with a steady 40 messages per cell per hour.
struct Steady;

impl BaselineSource for Steady {
    fn counts(&self, _: DateTime<Utc>, _: DateTime<Utc>, _: u8) -> Option<Vec<CountCell>> {
        Some(
            (0..38)
                .flat_map(|m| {
                    THEMES.iter().map(move |t| CountCell {
                        municipality: Some(format!("GM{:04}", 300 + m * 7)),
                        theme: Some((*t).to_owned()),
                        level: 1,
                        messages: 40,
                    })
                })
                .collect(),
        )
    }
}

fn rules() -> Vec<onrust_alert::Rule> {
    let text = r#"
        [[rules]]
        name = "drempel"
        kind = "threshold"
        count = 200
        window = "10m"
        [[rules]]
        name = "jaarwisseling"
        kind = "threshold"
        count = 50
        window = "1h"
        themes = ["jaarwisseling"]
        source_kinds = ["telegram", "mastodon"]
        [[rules]]
        name = "piek"
        kind = "burst"
        window = "1h"
        [[rules]]
        name = "oproep-tot-geweld"
        kind = "critical"
        min_score = 0.9
        [[rules]]
        name = "aankondiging"
        kind = "announcement"
    "#;
    #[derive(serde::Deserialize)]
    struct F {
        rules: Vec<RuleConfig>,
    }
    let f: F = toml::from_str(text).unwrap_or(F { rules: vec![] });
    validate(&f.rules).unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let msgs = messages();
    let rules = rules();
    assert_eq!(rules.len(), 5);
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("observe_and_evaluate_each_second", |b| {
        b.iter_batched(
            || Engine::new(rules.clone()),
            |mut engine| {
                let mut transitions = 0usize;
                for (i, m) in msgs.iter().enumerate() {
                    let now = m.message.fetched_at;
                    transitions += engine.observe(black_box(m), now).len();
                    if (i + 1) % PER_SECOND == 0 {
                        transitions += engine.evaluate(now, &Steady).len();
                    }
                }
                black_box(transitions)
            },
            BatchSize::PerIteration,
        );
    });
    // One evaluate over full windows: the same messages spread over the last hour.
    let mut engine = Engine::new(rules.clone());
    let spread = TimeDelta::milliseconds(3_600_000 / msgs.len() as i64);
    let mut now = start();
    for m in &msgs {
        let mut m = m.clone();
        m.message.published_at = Some(now.fixed_offset());
        engine.observe(&m, now);
        now += spread;
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("evaluate_full_hour_windows", |b| b.iter(|| black_box(engine.evaluate(now, &Steady).len())));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
