//! The stages as bus consumers, in the order of the flow:
//! [`ingest`] (sources → raw), [`classify`] (raw → scored), [`archive`]
//! (scored → tantivy), [`alert`] (scored → alerts → mail). Each is a loop over a [`Subscriber`]; none knows which
//! bus backend it runs on.

pub mod alert;
pub mod archive;
pub mod classify;
pub mod halting;
pub mod ingest;
pub mod mandates;
pub mod retention;

use anyhow::Context;
use futures_util::FutureExt;
use onrust_bus::{DeadLetter, Delivery, Publisher, Record, Subscriber};
use onrust_model::SCHEMA_VERSION;
use serde::de::DeserializeOwned;

use crate::internal_events::DeadLettered;

/// Waits for one delivery, then takes whatever else is already queued, up to
/// `max`. Batches amortise the hop to a blocking thread. Empty = topic closed.
pub async fn next_batch(input: &mut dyn Subscriber, max: usize) -> Vec<Delivery> {
    let Some(first) = input.recv().await else {
        return Vec::new();
    };
    let mut batch = vec![first];
    while batch.len() < max {
        match input.recv().now_or_never() {
            Some(Some(delivery)) => batch.push(delivery),
            _ => break,
        }
    }
    batch
}

/// Decodes a payload and checks its schema version; the error is the dead-letter reason.
pub fn decode<T: DeserializeOwned>(payload: &[u8], what: &str, schema_of: impl Fn(&T) -> u32) -> Result<T, String> {
    let value: T = serde_json::from_slice(payload).map_err(|e| format!("not a {what}: {e}"))?;
    match schema_of(&value) {
        SCHEMA_VERSION => Ok(value),
        other => Err(format!("{what} has schema version {other}, this build reads {SCHEMA_VERSION}")),
    }
}

/// Sends a delivery that `stage` cannot process to the dead letters, with its
/// reason and origin; the delivery's ack rides along, so the stream moves on (R4).
pub async fn dead_letter(
    stage: &'static str,
    dead: &dyn Publisher,
    delivery: Delivery,
    reason: String,
) -> anyhow::Result<()> {
    let letter = letter_for(stage, &delivery, reason)?;
    dead.publish(letter, delivery.ack).await.context("publishing dead letter")
}

/// The dead-letter record for a delivery, reported as it is made.
fn letter_for(stage: &'static str, delivery: &Delivery, reason: String) -> anyhow::Result<Record> {
    DeadLettered { stage, reason: &reason, offset: delivery.origin.offset }.emit();
    Ok(Record::json(delivery.key.clone(), &DeadLetter::of(delivery, reason))?)
}

/// Like [`dead_letter`], but returns only once the dead letter is durably
/// handled, and then acknowledges the delivery. For a sink that records how
/// far it got in its own commit (the archive, R3): a position may only pass
/// a record whose dead letter is written.
pub async fn dead_letter_durably(
    stage: &'static str,
    dead: &dyn Publisher,
    delivery: Delivery,
    reason: String,
) -> anyhow::Result<()> {
    let letter = letter_for(stage, &delivery, reason)?;
    let (after, receipt) = BusReceipts::ack();
    dead.publish(letter, after).await.context("publishing dead letter")?;
    receipt.wait(TAKEN_WITHIN, "dead letter not written in time; stopping so that the record is read again").await?;
    delivery.ack.ack();
    Ok(())
}

/// How long a stage waits for the bus to take what it must have before going on.
pub const TAKEN_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// The bus's pending answers to "did you take this record?", one per record
/// published with an `after` ack from [`BusReceipts::ack`]. A stage that may
/// go on only once its records are durably handled (R1, R3) collects them and
/// [`wait`](BusReceipts::wait)s for all of them before it moves on.
#[derive(Default)]
pub struct BusReceipts(Vec<tokio::sync::oneshot::Receiver<bool>>);

impl BusReceipts {
    /// An `after` ack for one record, and the receipt that will carry the bus's answer.
    pub fn ack() -> (onrust_bus::Ack, BusReceipts) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let ack = onrust_bus::Ack::new(move |ok| {
            let _ = tx.send(ok);
        });
        (ack, BusReceipts(vec![rx]))
    }

    /// Adds `other`'s receipts to these, to wait for all of them at once.
    pub fn extend(&mut self, other: BusReceipts) {
        self.0.extend(other.0);
    }

    /// Waits until the bus has taken every record, at most `within`;
    /// otherwise (a refusal, or no answer in time) the error says `failure`.
    pub async fn wait(self, within: std::time::Duration, failure: &str) -> anyhow::Result<()> {
        match tokio::time::timeout(within, futures_util::future::join_all(self.0)).await {
            Ok(answers) if answers.iter().all(|a| matches!(a, Ok(true))) => Ok(()),
            _ => anyhow::bail!("{failure}"),
        }
    }
}

/// What the archive and alert stages read: scored messages and deletions at
/// the source, as one input in the consumer group `group`.
pub fn scored_and_deletions(
    bus: &dyn onrust_bus::Bus,
    group: &str,
) -> Result<Box<dyn onrust_bus::Subscriber>, onrust_bus::BusError> {
    use onrust_bus::Topic;
    Ok(Box::new(onrust_bus::Merged::new(bus.subscribe(Topic::Scored, group)?, bus.subscribe(Topic::Deletions, group)?)))
}

/// A finished stage task: its name and how it ended.
pub type TaskResult = (&'static str, anyhow::Result<()>);

/// Wires classify, archive and (given its settings) the alert stage onto `bus` and spawns them into `tasks`;
/// returns the publishers for raw messages and for deletions at the source.
/// Seal the bus after creating any other publishers.
pub fn start_processing(
    bus: &onrust_bus::EmbeddedBus,
    tasks: &mut tokio::task::JoinSet<TaskResult>,
    classifier: std::sync::Arc<onrust_classify::Classifier>,
    writer: onrust_archive::ArchiveWriter,
    settings: archive::Settings,
    alerts: Option<(alert::Settings, alert::AlertHandle)>,
) -> anyhow::Result<Intake> {
    use onrust_bus::{Bus, Topic};
    let raw_in = bus.subscribe(Topic::Raw, "classify")?;
    let scored_in = scored_and_deletions(bus, "archive")?;
    if let Some((alerts, handle)) = alerts {
        let alert_in = scored_and_deletions(bus, "alert")?;
        let alert_dead = bus.publisher(Topic::DeadLetter)?;
        // Alert changes go on `onrust.alerts.v1` when something consumes it
        // (always on Kafka); in one process the notifiers are the stage's own.
        let alerts_out = bus.publisher(Topic::Alerts).ok();
        let ends = alert::AlertTopics { input: alert_in, dead: alert_dead, alerts: alerts_out };
        tasks.spawn(async move { ("alert", alert::run(ends, alerts, handle).await) });
    }
    let scored_out = bus.publisher(Topic::Scored)?;
    let dead = bus.publisher(Topic::DeadLetter)?;
    let raw_out = bus.publisher(Topic::Raw)?;
    let deletions_out = bus.publisher(Topic::Deletions)?;
    let classify_dead = std::sync::Arc::clone(&dead);
    tasks.spawn(async move { ("classify", classify::run(raw_in, scored_out, classify_dead, classifier).await) });
    tasks.spawn(async move { ("archive", archive::run(scored_in, dead, writer, settings).await) });
    Ok(Intake { raw: raw_out, deletions: deletions_out })
}

/// Where sources put what they read: messages on `onrust.raw.v1`, deletions
/// at the source on `onrust.deletions.v1`.
#[derive(Clone)]
pub struct Intake {
    pub raw: std::sync::Arc<dyn onrust_bus::Publisher>,
    pub deletions: std::sync::Arc<dyn onrust_bus::Publisher>,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use onrust_archive::{ArchiveOptions, ArchiveReader, ArchiveWriter};
    use onrust_bus::{Ack, EmbeddedBus, EmbeddedOptions, Record};
    use onrust_classify::{Classifier, ClassifierConfig};
    use onrust_model::{MessageId, RawMessage, SCHEMA_VERSION, SourceId, SourceKind};

    use super::*;

    fn classifier() -> Arc<Classifier> {
        let config = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../config");
        let cfg = ClassifierConfig::in_dir(&config);
        Arc::new(Classifier::load(&cfg).expect("shipped lexicons load"))
    }

    fn raw(i: usize) -> RawMessage {
        let source = SourceId::new("test").expect("id");
        RawMessage {
            schema: SCHEMA_VERSION,
            id: MessageId::derive(&source, &i.to_string()),
            source,
            source_kind: SourceKind::Replay,
            url: None,
            title: Some(format!("Bericht {i}")),
            text: format!("Boeren met trekkers in Utrecht, bericht {i}"),
            published_at: None,
            fetched_at: chrono::Utc::now(),
            author: None,
            lang_hint: None,
        }
    }

    #[tokio::test]
    async fn one_poison_message_in_a_thousand_is_dead_lettered_and_the_rest_archived() {
        let dir = tempfile::tempdir().expect("tempdir");
        let deadletters = dir.path().join("deadletter.jsonl");
        let writer = ArchiveWriter::open(
            &dir.path().join("archive"),
            &ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() },
        )
        .expect("archive");
        let bus = EmbeddedBus::new(EmbeddedOptions { capacity: 64, deadletter_path: Some(deadletters.clone()) });
        let mut tasks = tokio::task::JoinSet::new();
        let policy = archive::CommitPolicy { interval: Duration::from_millis(50), max_docs: 10_000 };
        let settings = archive::Settings { policy, retention: None, erased: None };
        let Intake { raw: input, deletions } =
            start_processing(&bus, &mut tasks, classifier(), writer, settings, None).expect("wiring");
        drop(deletions);
        bus.seal();

        let (acked, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        for i in 0..1000 {
            let (a, f) = (Arc::clone(&acked), Arc::clone(&failed));
            let ack = Ack::new(move |ok| {
                if ok {
                    a.fetch_add(1, Ordering::SeqCst)
                } else {
                    f.fetch_add(1, Ordering::SeqCst)
                };
            });
            let record = if i == 500 {
                Record { key: "test".into(), payload: b"{\"schema\": 1, \"id\": ".to_vec() }
            } else {
                Record::json("test", &raw(i)).expect("json")
            };
            input.publish(record, ack).await.expect("publish");
        }
        drop(input);
        while let Some(joined) = tasks.join_next().await {
            let (stage, result) = joined.expect("no panic");
            result.unwrap_or_else(|e| panic!("stage {stage} failed: {e:#}"));
        }

        assert_eq!(
            (acked.load(Ordering::SeqCst), failed.load(Ordering::SeqCst)),
            (1000, 0),
            "every message settled, none lost"
        );
        let reader = ArchiveReader::open(&dir.path().join("archive")).expect("reader");
        reader.reload().expect("reload");
        assert_eq!(reader.doc_count(), 999);
        let letters = std::fs::read_to_string(&deadletters).expect("dead letters");
        assert_eq!(letters.lines().count(), 1);
        let letter: onrust_bus::DeadLetter = serde_json::from_str(letters.trim()).expect("dead letter json");
        assert!(letter.reason.starts_with("not a raw message"), "{}", letter.reason);
        assert_eq!((letter.origin.topic.as_str(), letter.origin.offset), ("onrust.raw.v1", 500));
    }

    /// A message deleted at its source leaves the archive, whether its
    /// deletion comes after it was archived or overtakes it in the classifier.
    #[tokio::test]
    async fn a_deletion_at_the_source_removes_the_message_from_the_archive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = ArchiveWriter::open(
            &dir.path().join("archive"),
            &ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() },
        )
        .expect("archive");
        let deadletter_path = Some(dir.path().join("deadletter.jsonl"));
        let bus = EmbeddedBus::new(EmbeddedOptions { capacity: 64, deadletter_path });
        let mut tasks = tokio::task::JoinSet::new();
        let policy = archive::CommitPolicy { interval: Duration::from_millis(20), max_docs: 10_000 };
        let settings = archive::Settings { policy, retention: None, erased: None };
        let intake = start_processing(&bus, &mut tasks, classifier(), writer, settings, None).expect("wiring");
        bus.seal();
        let settled = |n: &Arc<AtomicUsize>| {
            let n = Arc::clone(n);
            Ack::new(move |ok| {
                assert!(ok, "every record is taken");
                n.fetch_add(1, Ordering::SeqCst);
            })
        };
        let deletion = |i: usize| onrust_model::Deletion {
            schema: SCHEMA_VERSION,
            id: raw(i).id,
            source: raw(i).source,
            source_kind: SourceKind::Bluesky,
            deleted_at: chrono::Utc::now(),
        };
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..3 {
            intake.raw.publish(Record::json("test", &raw(i)).expect("json"), settled(&done)).await.expect("publish");
        }
        // Deleted after it was archived: wait until the first three are committed.
        while done.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        intake
            .deletions
            .publish(Record::json("test", &deletion(1)).expect("json"), settled(&done))
            .await
            .expect("publish");
        // Deleted before it reaches the archive.
        intake
            .deletions
            .publish(Record::json("test", &deletion(7)).expect("json"), settled(&done))
            .await
            .expect("publish");
        while done.load(Ordering::SeqCst) < 5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        intake.raw.publish(Record::json("test", &raw(7)).expect("json"), settled(&done)).await.expect("publish");
        drop(intake);
        while let Some(joined) = tasks.join_next().await {
            let (stage, result) = joined.expect("no panic");
            result.unwrap_or_else(|e| panic!("stage {stage} failed: {e:#}"));
        }
        assert_eq!(done.load(Ordering::SeqCst), 6);
        let reader = ArchiveReader::open(&dir.path().join("archive")).expect("reader");
        reader.reload().expect("reload");
        let page = reader.search(&onrust_archive::SearchRequest::new("bericht")).expect("search");
        let mut ids: Vec<String> = page.hits.into_iter().map(|h| h.id).collect();
        ids.sort();
        assert_eq!(ids, [raw(0).id.as_str().to_owned(), raw(2).id.as_str().to_owned()]);
    }

    #[test]
    fn decode_refuses_unknown_schema_versions() {
        let mut message = raw(1);
        message.schema = 2;
        let payload = serde_json::to_vec(&message).expect("json");
        let refused = decode(&payload, "raw message", |m: &RawMessage| m.schema).expect_err("schema 2");
        assert!(refused.contains("schema version 2"), "{refused}");
    }
}
