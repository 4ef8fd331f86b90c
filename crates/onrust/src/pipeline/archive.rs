//! scored → archive. Messages are upserted as they come and committed on a
//! timer or when enough wait, never one by one; each message is acknowledged
//! only after the commit that holds it returned (rule R1). A failed
//! commit (disk full, I/O error) stops the stage with an error, so the daemon
//! exits non-zero and nothing unacknowledged is counted as stored (R6).
//!
//! Where the bus has durable positions (Kafka), every commit also stores
//! the next position per partition in the archive's commit payload, and the
//! stage starts by seeking there (R3): what the archive holds and where
//! it resumes can never disagree, whatever the group's offsets say.
//!
//! Deletions at the source (`onrust.deletions.v1`, a Bluesky delete) come
//! merged into the same input and are applied in bus order with the upserts:
//! the message leaves every bucket that holds it at the next commit, and a
//! copy that arrives later is refused (see `ArchiveWriter::remove`).
//!
//! Retention (L6) runs here too, because it needs the writer: at start and
//! then hourly, between commits. Each deleted bucket is first recorded in
//! the audit log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use onrust_archive::ArchiveWriter;
use onrust_audit as audit;
use onrust_bus::{Ack, Origin, Publisher, Subscriber, Topic};
use onrust_model::{Deletion, MessageId, ScoredMessage};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::internal_events::{ArchiveBatchCommitted, ArchiveResumed, RetentionApplied};

const BATCH: usize = 1024;

/// How often retention looks for buckets past their age.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// When to commit.
#[derive(Debug, Clone, Copy)]
pub struct CommitPolicy {
    pub interval: Duration,
    pub max_docs: usize,
}

/// How long archived messages are kept, and where deletions are recorded;
/// and how long the audit log keeps its records (`None`: for ever), since
/// this stage runs the audit log's retention too (see `pipeline::retention`).
#[derive(Debug, Clone)]
pub struct Retention {
    pub max_age: Duration,
    pub audit_path: PathBuf,
    pub audit_log: Option<Duration>,
    /// The embedded bus's dead letters and how long they are kept.
    pub dead_letters: Option<(PathBuf, Duration)>,
}

/// Everything the stage needs besides its bus ends and the writer.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: CommitPolicy,
    pub retention: Option<Retention>,
    /// What was erased on request: a message they cover that was already
    /// past the forwarder when the erasure was made is not archived (L3).
    pub erased: Option<Arc<crate::erasure::tombstones::Tombstones>>,
}

/// The consumed positions stored in a commit payload: per topic and
/// partition, the offset of the next record to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Positions {
    /// The payload format's version.
    pub v: u32,
    pub next: Vec<Origin>,
}

impl Positions {
    fn parse(payload: &str) -> anyhow::Result<Positions> {
        let positions: Positions =
            serde_json::from_str(payload).context("the archive's commit payload is not a list of bus positions")?;
        anyhow::ensure!(
            positions.v == 1,
            "the archive's commit payload has version {}, this build reads 1",
            positions.v
        );
        Ok(positions)
    }
}

/// The next offset per partition of everything handled since the stage began.
#[derive(Debug, Default)]
struct Tracker {
    next: BTreeMap<(String, i32), i64>,
}

impl Tracker {
    fn from(positions: &Positions) -> Tracker {
        let next = positions.next.iter().map(|o| ((o.topic.clone(), o.partition), o.offset)).collect();
        Tracker { next }
    }

    fn handled(&mut self, origin: &Origin) {
        let next = self.next.entry((origin.topic.clone(), origin.partition)).or_insert(0);
        *next = (*next).max(origin.offset + 1);
    }

    fn payload(&self) -> String {
        let next = self
            .next
            .iter()
            .map(|((topic, partition), offset)| Origin { topic: topic.clone(), partition: *partition, offset: *offset })
            .collect();
        serde_json::to_string(&Positions { v: 1, next }).unwrap_or_default()
    }
}

/// One change to the archive, in the order the bus delivered it.
enum Work {
    Upsert(Box<ScoredMessage>),
    /// Deleted at its source (`onrust.deletions.v1`).
    Remove(MessageId),
    /// Erased on request while it was on its way: acknowledged, not archived.
    Skip,
}

/// Runs until its input closes (scored messages, merged with deletions where
/// a source reports them); then commits what is left and returns.
pub async fn run(
    mut input: Box<dyn Subscriber>,
    dead: Arc<dyn Publisher>,
    writer: ArchiveWriter,
    settings: Settings,
) -> anyhow::Result<()> {
    let policy = settings.policy;
    let mut tracker = None;
    if input.durable_positions() {
        let resumed = match writer.last_payload() {
            Some(payload) => Positions::parse(&payload)?,
            None => Positions { v: 1, next: Vec::new() },
        };
        if !resumed.next.is_empty() {
            input.seek(&resumed.next).await.context("cannot resume from the archive's positions")?;
            ArchiveResumed { partitions: resumed.next.len() }.emit();
        }
        tracker = Some(Tracker::from(&resumed));
    }
    let writer = Arc::new(Mutex::new(writer));
    let mut last_retention = None;
    retention(&writer, settings.retention.as_ref(), &mut last_retention).await?;
    let mut pending: Vec<Ack> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut first_pending_at = Instant::now();
    loop {
        let batch = tokio::select! {
            batch = super::next_batch(input.as_mut(), BATCH) => batch,
            () = crate::shutdown::sleep_until(deadline) => {
                commit(&writer, &mut pending, first_pending_at, tracker.as_ref()).await?;
                retention(&writer, settings.retention.as_ref(), &mut last_retention).await?;
                deadline = None;
                continue;
            }
            // A quiet archive still runs retention hourly: without this, it ran only after commits.
            () = tokio::time::sleep(RETENTION_EVERY), if deadline.is_none() => {
                retention(&writer, settings.retention.as_ref(), &mut last_retention).await?;
                continue;
            }
        };
        if batch.is_empty() {
            commit(&writer, &mut pending, first_pending_at, tracker.as_ref()).await?;
            return Ok(());
        }
        let mut work = Vec::with_capacity(batch.len());
        for delivery in batch {
            if let Some(tracker) = tracker.as_mut() {
                tracker.handled(&delivery.origin);
            }
            let decoded = if delivery.origin.topic == Topic::Deletions.name() {
                super::decode(&delivery.payload, "deletion", |d: &Deletion| d.schema).map(|d| Work::Remove(d.id))
            } else {
                super::decode(&delivery.payload, "scored message", |m: &ScoredMessage| m.schema).map(|m| {
                    if settings.erased.as_ref().is_some_and(|erased| erased.covers(&m.message)) {
                        Work::Skip
                    } else {
                        Work::Upsert(Box::new(m))
                    }
                })
            };
            match decoded {
                Ok(item) => work.push((item, delivery)),
                // Written before the commit that records its position, so a restart never passes over it.
                Err(reason) => super::dead_letter_durably("archive", dead.as_ref(), delivery, reason).await?,
            }
        }
        let upserting = Arc::clone(&writer);
        let acks = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Ack>> {
            let mut writer = upserting.lock().map_err(|_| anyhow::anyhow!("archive writer lock poisoned"))?;
            let mut acks = Vec::with_capacity(work.len());
            // In bus order: a deletion after its message removes it; a message after its deletion is refused.
            for (item, delivery) in work {
                // A decoded message always makes a valid document, so an error
                // here is the writer's (a full disk kills its indexing thread):
                // fatal, like a failed commit, never a dead letter (R6).
                match item {
                    Work::Upsert(message) => writer.upsert(&message).map(|_| ()),
                    Work::Remove(id) => writer.remove(&id).map(|_| ()),
                    Work::Skip => Ok(()),
                }
                .context("archive write failed; stopping so that nothing unsaved is acknowledged")?;
                acks.push(delivery.ack);
            }
            Ok(acks)
        })
        .await
        .context("archive thread failed")??;
        if pending.is_empty() && !acks.is_empty() {
            first_pending_at = Instant::now();
            deadline = Some(first_pending_at + policy.interval);
        }
        pending.extend(acks);
        if pending.len() >= policy.max_docs {
            commit(&writer, &mut pending, first_pending_at, tracker.as_ref()).await?;
            deadline = None;
        }
    }
}

async fn commit(
    writer: &Arc<Mutex<ArchiveWriter>>,
    pending: &mut Vec<Ack>,
    since: Instant,
    tracker: Option<&Tracker>,
) -> anyhow::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let writer = Arc::clone(writer);
    let payload = tracker.map(Tracker::payload);
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut writer = writer.lock().map_err(|_| anyhow::anyhow!("archive writer lock poisoned"))?;
        let committed = match &payload {
            Some(payload) => writer.commit_with_payload(payload),
            None => writer.commit(),
        };
        committed.context("archive commit failed; stopping so that nothing unsaved is acknowledged")?;
        Ok(())
    })
    .await
    .context("archive thread failed")??;
    let documents = pending.len();
    for ack in pending.drain(..) {
        ack.ack();
    }
    ArchiveBatchCommitted { documents, oldest_wait: since.elapsed() }.emit();
    Ok(())
}

/// Applies retention when it is due; call it only right after a commit.
async fn retention(
    writer: &Arc<Mutex<ArchiveWriter>>,
    retention: Option<&Retention>,
    last: &mut Option<Instant>,
) -> anyhow::Result<()> {
    let Some(retention) = retention.cloned() else { return Ok(()) };
    if last.is_some_and(|at| at.elapsed() < RETENTION_EVERY) {
        return Ok(());
    }
    *last = Some(Instant::now());
    let writer = Arc::clone(writer);
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut writer = writer.lock().map_err(|_| anyhow::anyhow!("archive writer lock poisoned"))?;
        let now = chrono::Utc::now();
        writer
            .apply_retention(now, retention.max_age, |d| record_deletion(&retention.audit_path, d))
            .context("archive retention failed")?;
        drop(writer);
        if let Some(before) = retention.audit_log.and_then(|period| super::retention::cut_off(now, period))
            && let Some(cut) = audit::expire(&retention.audit_path, before).context("audit log retention failed")?
        {
            RetentionApplied { class: audit::AUDIT_LOG_CLASS, removed: cut.records }.emit();
        }
        if let Some((path, period)) = &retention.dead_letters
            && let Some(before) = super::retention::cut_off(now, *period)
        {
            let record = |letters: usize| {
                let details = serde_json::json!({ "before": before, "letters": letters });
                super::retention::record(&retention.audit_path, super::retention::DEAD_LETTERS, details, letters as u64)
                    .map_err(Into::into)
            };
            let done =
                onrust_bus::dead_letters::expire(path, before, now, record).context("dead letter retention failed")?;
            if done.removed > 0 {
                RetentionApplied { class: super::retention::DEAD_LETTERS, removed: done.removed as u64 }.emit();
            }
        }
        Ok(())
    })
    .await
    .context("archive thread failed")?
}

/// Writes the deletion record of one bucket to the audit log (L6, L7).
pub fn record_deletion(
    audit_path: &std::path::Path,
    deletion: &onrust_archive::Deletion,
) -> Result<(), audit::AuditError> {
    let details = serde_json::to_value(deletion).unwrap_or_default();
    super::retention::record(audit_path, super::retention::ARCHIVE, details, deletion.documents)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicI64, Ordering};

    use onrust_archive::{ArchiveOptions, ArchiveReader, SearchRequest};
    use onrust_bus::{BoxFuture, BusError, Delivery, Record};
    use onrust_model::SourceKind;
    use onrust_testkit::scored_message;

    use super::*;

    /// A partition log with durable offsets, like a Kafka topic with one
    /// partition: it serves records from a start offset and remembers the
    /// group's committed offset, which the test can move by hand.
    struct Log {
        records: Arc<Vec<Vec<u8>>>,
        next: i64,
        /// Highest acknowledged offset + 1 (what the group would commit).
        committed: Arc<AtomicI64>,
        /// Stop serving at this offset, as if the process were killed.
        stop_at: i64,
        queue: VecDeque<Delivery>,
    }

    impl Subscriber for Log {
        fn recv(&mut self) -> BoxFuture<'_, Option<Delivery>> {
            Box::pin(async move {
                if let Some(d) = self.queue.pop_front() {
                    return Some(d);
                }
                if self.next >= self.stop_at || self.next as usize >= self.records.len() {
                    return None;
                }
                let offset = self.next;
                self.next += 1;
                let committed = Arc::clone(&self.committed);
                Some(Delivery {
                    key: "k".into(),
                    payload: self.records[offset as usize].clone(),
                    origin: Origin { topic: "onrust.scored.v1".into(), partition: 0, offset },
                    ack: Ack::new(move |ok| {
                        if ok {
                            committed.fetch_max(offset + 1, Ordering::SeqCst);
                        }
                    }),
                })
            })
        }

        fn durable_positions(&self) -> bool {
            true
        }

        fn seek(&mut self, positions: &[Origin]) -> BoxFuture<'_, Result<(), BusError>> {
            if let Some(p) = positions.iter().find(|p| p.partition == 0) {
                self.next = p.offset;
            }
            Box::pin(std::future::ready(Ok(())))
        }
    }

    struct Nowhere;

    impl Publisher for Nowhere {
        fn publish(&self, _: Record, after: Ack) -> BoxFuture<'_, Result<(), BusError>> {
            after.ack();
            Box::pin(std::future::ready(Ok(())))
        }
    }

    fn scored(i: usize) -> Vec<u8> {
        let message = scored_message(&i.to_string())
            .source("log")
            .id_derived()
            .source_kind(SourceKind::Replay)
            .no_url()
            .text(&format!("bericht nummer {i}"))
            .fetched_at(chrono::Utc::now())
            .unpublished()
            .build();
        serde_json::to_vec(&message).expect("json")
    }

    fn settings() -> Settings {
        Settings {
            policy: CommitPolicy { interval: Duration::from_millis(20), max_docs: 100 },
            retention: None,
            erased: None,
        }
    }

    #[tokio::test]
    async fn resumes_from_the_commit_payload_not_the_group_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive");
        let opts = ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() };
        let records = Arc::new((0..1000).map(scored).collect::<Vec<_>>());
        let committed = Arc::new(AtomicI64::new(0));
        let log = |next, stop_at| Log {
            records: Arc::clone(&records),
            next,
            committed: Arc::clone(&committed),
            stop_at,
            queue: VecDeque::new(),
        };

        // First run: 600 records, then the process "dies".
        let writer = ArchiveWriter::open(&archive, &opts).expect("writer");
        run(Box::new(log(0, 600)), Arc::new(Nowhere), writer, settings()).await.expect("first run");
        let payload = ArchiveWriter::open(&archive, &opts).expect("writer").last_payload().expect("a payload");
        assert_eq!(Positions::parse(&payload).expect("parses").next[0].offset, 600);

        // Someone moves the group's offset ahead by hand: a plain consumer would skip 600..800.
        committed.store(800, Ordering::SeqCst);
        let writer = ArchiveWriter::open(&archive, &opts).expect("writer");
        let start = committed.load(Ordering::SeqCst);
        run(Box::new(log(start, i64::MAX)), Arc::new(Nowhere), writer, settings()).await.expect("second run");

        let reader = ArchiveReader::open(&archive).expect("reader");
        assert_eq!(reader.doc_count(), 1000, "no gap: 600..800 were read from the payload's position");
        let page = reader.search(&SearchRequest::new("\"bericht nummer 700\"")).expect("search");
        assert_eq!(page.total, 1, "and nothing twice");
        assert_eq!(committed.load(Ordering::SeqCst), 1000);
    }

    /// Dead letters that the bus never takes (a broker that is down).
    struct Refusing;

    impl Publisher for Refusing {
        fn publish(&self, _: Record, after: Ack) -> BoxFuture<'_, Result<(), BusError>> {
            drop(after);
            Box::pin(std::future::ready(Ok(())))
        }
    }

    /// R4 with R3: a record that cannot be archived goes to the dead letters
    /// before any commit records a position past it; when the dead letter
    /// cannot be written, the stage stops rather than pass over the record.
    #[tokio::test]
    async fn a_poison_record_is_dead_lettered_before_its_position_is_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive");
        let opts = ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() };
        let mut records: Vec<Vec<u8>> = (0..10).map(scored).collect();
        records[4] = b"{\"schema\": 1, \"message\": ".to_vec();
        let records = Arc::new(records);
        let committed = Arc::new(AtomicI64::new(0));
        let log = || Log {
            records: Arc::clone(&records),
            next: 0,
            committed: Arc::clone(&committed),
            stop_at: i64::MAX,
            queue: VecDeque::new(),
        };
        let writer = ArchiveWriter::open(&archive, &opts).expect("writer");
        let err = run(Box::new(log()), Arc::new(Refusing), writer, settings()).await.expect_err("must stop");
        assert!(format!("{err:#}").contains("dead letter not written"), "{err:#}");
        let writer = ArchiveWriter::open(&archive, &opts).expect("writer");
        let past = writer.last_payload().and_then(|p| Positions::parse(&p).ok()).map_or(0, |p| p.next[0].offset);
        assert!(past <= 4, "no commit passed the poison record: {past}");
        assert!(committed.load(Ordering::SeqCst) <= 4);

        run(Box::new(log()), Arc::new(Nowhere), writer, settings()).await.expect("second run");
        let reader = ArchiveReader::open(&archive).expect("reader");
        assert_eq!(reader.doc_count(), 9, "everything but the poison record");
        assert_eq!(committed.load(Ordering::SeqCst), 10, "and the stream moved on past it");
    }

    /// L3: a message erased on request while it was on its way (past the
    /// forwarder) is acknowledged and not archived; the rest is archived.
    #[tokio::test]
    async fn a_message_erased_on_its_way_is_acknowledged_and_not_archived() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive");
        let opts = ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() };
        let erased = Arc::new(crate::erasure::tombstones::Tombstones::open(dir.path()).expect("tombstones"));
        let gone: ScoredMessage = serde_json::from_slice(&scored(3)).expect("message");
        erased.add(&[gone.message.id.as_str().to_owned()], None).expect("tombstone");
        let committed = Arc::new(AtomicI64::new(0));
        let log = Log {
            records: Arc::new((0..5).map(scored).collect()),
            next: 0,
            committed: Arc::clone(&committed),
            stop_at: i64::MAX,
            queue: VecDeque::new(),
        };
        let writer = ArchiveWriter::open(&archive, &opts).expect("writer");
        run(Box::new(log), Arc::new(Nowhere), writer, Settings { erased: Some(erased), ..settings() })
            .await
            .expect("run");
        let reader = ArchiveReader::open(&archive).expect("reader");
        assert_eq!(reader.doc_count(), 4, "all but the erased one");
        assert_eq!(reader.search(&SearchRequest::new("\"bericht nummer 3\"")).expect("search").total, 0);
        assert_eq!(committed.load(Ordering::SeqCst), 5, "and it was acknowledged, so the stream moves on");
    }

    #[tokio::test]
    async fn a_payload_that_is_not_positions_stops_the_stage_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive");
        let opts = ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() };
        let mut writer = ArchiveWriter::open(&archive, &opts).expect("writer");
        writer.upsert(&serde_json::from_slice(&scored(1)).expect("message")).expect("upsert");
        writer.commit_with_payload("not json").expect("commit");
        let records = Arc::new(vec![scored(2)]);
        let log =
            Log { records, next: 0, committed: Arc::new(AtomicI64::new(0)), stop_at: i64::MAX, queue: VecDeque::new() };
        let err = run(Box::new(log), Arc::new(Nowhere), writer, settings()).await.expect_err("refused");
        assert!(format!("{err:#}").contains("commit payload is not a list of bus positions"), "{err:#}");
    }

    #[tokio::test]
    async fn retention_runs_at_start_and_records_each_bucket_in_the_audit_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive");
        let audit_path = dir.path().join("audit.jsonl");
        let opts = ArchiveOptions { writer_memory_bytes: 20_000_000, ..ArchiveOptions::default() };
        let mut writer = ArchiveWriter::open(&archive, &opts).expect("writer");
        let mut old: ScoredMessage = serde_json::from_slice(&scored(1)).expect("message");
        old.message.fetched_at = chrono::Utc::now() - chrono::Duration::days(40);
        writer.upsert(&old).expect("upsert");
        writer.upsert(&serde_json::from_slice(&scored(2)).expect("message")).expect("upsert");
        writer.commit().expect("commit");
        assert_eq!(writer.buckets().len(), 2);
        let retention = Retention {
            max_age: Duration::from_secs(30 * 86_400),
            audit_path: audit_path.clone(),
            audit_log: None,
            dead_letters: None,
        };
        let settings = Settings { retention: Some(retention), ..settings() };
        let empty = Log {
            records: Arc::new(Vec::new()),
            next: 0,
            committed: Arc::new(AtomicI64::new(0)),
            stop_at: 0,
            queue: VecDeque::new(),
        };
        run(Box::new(empty), Arc::new(Nowhere), writer, settings).await.expect("run");
        let reader = ArchiveReader::open(&archive).expect("reader");
        assert_eq!(reader.doc_count(), 1);
        let records = audit::verify(&audit_path).expect("the chain verifies");
        assert_eq!(records, 1, "one record for the one deleted bucket");
        let log = std::fs::read_to_string(&audit_path).expect("audit log");
        assert!(log.contains("\"action\":\"retention_delete\"") && log.contains("\"documents\":1"), "{log}");
    }
}
