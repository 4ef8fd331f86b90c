//! `onrust replay FILE.jsonl`: recorded messages through the same classify
//! and archive stages as the daemon, on the embedded bus, for demos, tests
//! and the throughput benchmark. With `bus.kind = "kafka"` it only puts them
//! on `onrust.raw.v1`; the roles take them from there. Each message's latency is measured from the
//! moment it enters the bus to the moment the commit that makes it
//! searchable returns.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, FixedOffset, Utc};
use onrust_bus::{Ack, EmbeddedBus, EmbeddedOptions, Record};
use onrust_ingest::pseudonym::PseudonymKeys;
use onrust_model::{MessageId, RawMessage, SCHEMA_VERSION, SourceId, SourceKind};
use serde::Deserialize;
use tokio::task::JoinSet;

use super::lines::Lines;
use crate::pipeline;

/// Numbered input lines; a line that cannot be read is an `Err` naming why.
type NumberedLines = Box<dyn Iterator<Item = (usize, Result<String, String>)>>;

/// Arguments of `onrust replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The configuration file (data dir, lexicons, commit policy).
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// JSON lines: {"id", "text", "title"?, "published_at"?, "url"?, "source"?, "author"?, "lang"?}.
    #[arg(required_unless_present = "generate")]
    file: Option<PathBuf>,
    /// Instead of a file, generate this many synthetic Dutch messages (for benchmarks).
    #[arg(long, conflicts_with = "file")]
    generate: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayLine {
    id: String,
    text: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    published_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Default)]
struct Outcome {
    latencies_us: Vec<u64>,
    failed: usize,
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let lines: NumberedLines = match (&args.file, args.generate) {
        (_, Some(n)) => Box::new((0..n).map(|i| (i + 1, Ok(generate(i))))),
        (Some(path), None) => {
            let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            Box::new(numbered(Lines::new(std::io::BufReader::new(file))))
        }
        (None, None) => anyhow::bail!("give a FILE or --generate N"),
    };
    let keys = PseudonymKeys::new(config.key_dir(), config.privacy.pseudonym_period.0)?;
    let erased = crate::erasure::tombstones::Tombstones::open(&config.data_dir)?;
    if config.bus.kind == crate::config::BusKind::Kafka {
        return onto_kafka(&config, lines, &keys, &erased).await;
    }
    let classifier = Arc::new(super::load_classifier(&config)?);
    let writer = super::open_archive_writer(&config)?;
    let bus = EmbeddedBus::new(EmbeddedOptions {
        capacity: config.bus.capacity,
        deadletter_path: Some(config.deadletter_path()),
    });
    let mut tasks = JoinSet::new();
    let intake =
        pipeline::start_processing(&bus, &mut tasks, classifier, writer, super::archive_settings(&config), None)?;
    bus.seal();
    // Replay deletes nothing: without its publisher the deletions topic ends when raw does.
    let pipeline::Intake { raw, deletions } = intake;
    drop(deletions);

    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let refused = AtomicUsize::new(0);
    let started = Instant::now();
    let mut sent = 0usize;
    for message in raw_messages(lines, &keys, &refused, &erased)? {
        let record = Record::json(message.source.as_str(), &message)?;
        let entered = Instant::now();
        let outcome = Arc::clone(&outcome);
        let ack = Ack::new(move |ok| {
            let mut outcome = outcome.lock().unwrap_or_else(|p| p.into_inner());
            if ok { outcome.latencies_us.push(entered.elapsed().as_micros() as u64) } else { outcome.failed += 1 }
        });
        raw.publish(record, ack).await?;
        sent += 1;
    }
    drop(raw);
    while let Some(joined) = tasks.join_next().await {
        let (stage, result) = joined.context("a stage panicked")?;
        result.with_context(|| format!("stage {stage} failed"))?;
    }
    let elapsed = started.elapsed();
    let mut outcome = std::mem::take(&mut *outcome.lock().unwrap_or_else(|p| p.into_inner()));
    outcome.latencies_us.sort_unstable();
    let refused = refused.into_inner();
    report(sent, refused, &outcome, elapsed);
    Ok(if refused == 0 && outcome.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// On Kafka, replay is an ingest: it puts the messages on `onrust.raw.v1`
/// and returns once the broker has every one; the `classify` and `archive`
/// roles (other processes) take them from there.
#[cfg(feature = "kafka")]
async fn onto_kafka(
    config: &crate::config::Config,
    lines: NumberedLines,
    keys: &PseudonymKeys,
    erased: &crate::erasure::tombstones::Tombstones,
) -> anyhow::Result<ExitCode> {
    use onrust_bus::{Bus, Topic};
    let bus = onrust_bus::kafka::KafkaBus::connect(config.bus.kafka_options()).await.context("kafka")?;
    let raw = bus.publisher(Topic::Raw)?;
    let written = Arc::new(AtomicUsize::new(0));
    let refused = AtomicUsize::new(0);
    let started = Instant::now();
    let mut sent = 0usize;
    for message in raw_messages(lines, keys, &refused, erased)? {
        let counter = Arc::clone(&written);
        let ack = Ack::new(move |ok| {
            if ok {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        raw.publish(Record::json(message.source.as_str(), &message)?, ack).await?;
        sent += 1;
    }
    tokio::task::block_in_place(|| bus.flush(Duration::from_secs(60)))?;
    // The acks fire on the producer's delivery tasks; give them their turn.
    let deadline = Instant::now() + Duration::from_secs(10);
    while written.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let written = written.load(Ordering::Relaxed);
    let refused = refused.into_inner();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "published {written} of {sent} messages on {} in {secs:.2} s ({:.0} msg/s), {refused} lines refused",
        Topic::Raw.name(),
        written as f64 / secs.max(1e-9)
    );
    Ok(if refused == 0 && written == sent { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[cfg(not(feature = "kafka"))]
async fn onto_kafka(
    _config: &crate::config::Config,
    _lines: NumberedLines,
    _keys: &PseudonymKeys,
    _erased: &crate::erasure::tombstones::Tombstones,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("bus.kind = \"kafka\", but this onrust was built without Kafka: build it with --features kafka")
}

/// The lines of a file as [`NumberedLines`]: an over-long or broken line is
/// an `Err` for that line; a read error is one last `Err` and the end.
fn numbered<R: std::io::BufRead>(mut lines: Lines<R>) -> impl Iterator<Item = (usize, Result<String, String>)> {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match lines.next_line() {
            Ok(next) => next.map(|(number, line)| (number, line.map_err(|e| e.to_string()))),
            Err(e) => {
                failed = true;
                Some((lines.line_number() + 1, Err(format!("cannot read the file from here on: {e}"))))
            }
        }
    })
}

/// The messages of `lines`, in order; a line that is not one is reported on
/// stderr with its number and counted in `refused`, and the rest go on.
fn raw_messages<'a>(
    lines: NumberedLines,
    keys: &'a PseudonymKeys,
    refused: &'a AtomicUsize,
    erased: &'a crate::erasure::tombstones::Tombstones,
) -> anyhow::Result<impl Iterator<Item = RawMessage> + 'a> {
    let default_source = SourceId::new("replay")?;
    Ok(lines.filter_map(move |(number, line)| match line.and_then(|line| to_raw(&line, &default_source, keys)) {
        // Erased on request (L3): a replay does not bring it back.
        Ok(Some(message)) if erased.covers(&message) => {
            eprintln!("line {number}: erased on request, not replayed");
            None
        }
        Ok(message) => message,
        Err(e) => {
            refused.fetch_add(1, Ordering::Relaxed);
            eprintln!("line {number}: {e}");
            None
        }
    }))
}

fn to_raw(line: &str, default_source: &SourceId, keys: &PseudonymKeys) -> Result<Option<RawMessage>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let line: ReplayLine = serde_json::from_str(line).map_err(|e| format!("not a replay message: {e}"))?;
    let source = match line.source {
        Some(s) => SourceId::new(s).map_err(|e| e.to_string())?,
        None => default_source.clone(),
    };
    let id = MessageId::new(line.id).map_err(|e| e.to_string())?;
    let fetched_at = Utc::now();
    let author = match line.author {
        Some(author) => Some(keys.pseudonymize("replay", &author, fetched_at).map_err(|e| e.to_string())?),
        None => None,
    };
    // Replay is ingest too: a link that names an account is rewritten or dropped (L2).
    let url = line.url.as_deref().and_then(onrust_ingest::links::item_url);
    Ok(Some(RawMessage {
        schema: SCHEMA_VERSION,
        id,
        source,
        source_kind: SourceKind::Replay,
        url,
        title: line.title.map(|t| onrust_ingest::text::clean(&t, false, 500)),
        text: onrust_ingest::text::clean(&line.text, false, 20_000),
        published_at: line.published_at,
        fetched_at,
        author,
        lang_hint: line.lang,
    }))
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    Duration::from_micros(sorted[rank.min(sorted.len() - 1)])
}

fn report(sent: usize, refused: usize, outcome: &Outcome, elapsed: Duration) {
    let archived = outcome.latencies_us.len();
    let rate = archived as f64 / elapsed.as_secs_f64().max(1e-9);
    println!("replayed {sent} messages in {:.2} s: {rate:.0} messages/s archived", elapsed.as_secs_f64());
    println!(
        "bus entry to searchable: p50 {} ms, p99 {} ms, max {} ms",
        percentile(&outcome.latencies_us, 50.0).as_millis(),
        percentile(&outcome.latencies_us, 99.0).as_millis(),
        percentile(&outcome.latencies_us, 100.0).as_millis(),
    );
    println!("archived {archived}, failed {}, refused lines {refused}", outcome.failed);
}

/// A synthetic but plausible Dutch message, deterministic in `i`.
fn generate(i: usize) -> String {
    const PLACES: [&str; 8] =
        ["Utrecht", "Amersfoort", "Almere", "Lelystad", "Hilversum", "Zeist", "Nieuwegein", "Urk"];
    const TOPICS: [&str; 8] = [
        "Boeren rijden met trekkers naar het provinciehuis tegen de stikstofregels",
        "Vannacht werd er zwaar vuurwerk afgestoken en een container in brand gestoken",
        "Inwoners praten op de informatieavond over de komst van een azc",
        "Klimaatactivisten kondigen een blokkade van de snelweg aan",
        "Het weer blijft wisselvallig met af en toe een bui",
        "De gemeenteraad bespreekt de begroting voor volgend jaar",
        "Demonstratie op het plein tegen de coronamaatregelen, de politie houdt toezicht",
        "Discussie over zwarte piet bij de intocht van Sinterklaas",
    ];
    let place = PLACES[i % PLACES.len()];
    let topic = TOPICS[(i / PLACES.len()) % TOPICS.len()];
    let minute = i % 60;
    serde_json::json!({
        "id": format!("gen-{i}"),
        "title": format!("{place}: bericht {i}"),
        "text": format!("{topic} in {place}. Bericht nummer {i}, bijgewerkt om 12:{minute:02}."),
        "published_at": format!("2026-11-29T12:{minute:02}:00+01:00"),
        "author": format!("generated-author-{}", i % 997),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replayed(input: Vec<u8>) -> (Vec<RawMessage>, usize) {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = PseudonymKeys::new(dir.path().join("keys"), Duration::from_secs(28 * 86400)).expect("keys");
        let lines: NumberedLines = Box::new(numbered(Lines::new(std::io::BufReader::new(std::io::Cursor::new(input)))));
        let refused = AtomicUsize::new(0);
        let erased = crate::erasure::tombstones::Tombstones::open(dir.path()).expect("tombstones");
        erased.add(&["gewist-1".to_owned()], None).expect("tombstone");
        let messages = raw_messages(lines, &keys, &refused, &erased).expect("source id").collect();
        (messages, refused.into_inner())
    }

    /// L3: a message erased on request is not replayed, and the rest is.
    #[test]
    fn an_erased_message_is_not_replayed() {
        let (messages, refused) = replayed(format!("{}{}", line("gewist-1"), line("blijft-2")).into_bytes());
        let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!((ids, refused), (vec!["blijft-2"], 0));
    }

    fn line(id: &str) -> String {
        format!("{{\"id\": \"{id}\", \"text\": \"Demonstratie in Utrecht\"}}\n")
    }

    /// An over-long line is one refused line, like `classify`'s; the lines
    /// around it are replayed, and nothing of it is buffered (the reader is
    /// `lines::Lines`, whose tests show the endless case).
    #[test]
    fn an_overlong_line_is_refused_and_the_rest_replayed() {
        let mut input = line("m1").into_bytes();
        input.extend(vec![b' '; super::super::lines::MAX_LINE_BYTES + 1]);
        input.extend_from_slice(b"\n");
        input.extend(line("m3").into_bytes());
        let (messages, refused) = replayed(input);
        let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["m1", "m3"]);
        assert_eq!(refused, 1);
    }

    #[test]
    fn a_byte_order_mark_does_not_spoil_line_one() {
        let mut input = b"\xEF\xBB\xBF".to_vec();
        input.extend(line("m1").into_bytes());
        let (messages, refused) = replayed(input);
        assert_eq!((messages.len(), refused), (1, 0));
    }
}
