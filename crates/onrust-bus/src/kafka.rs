//! The Kafka backend: the same topics and the same at-least-once contract as
//! the embedded bus, carried by a Kafka-protocol broker (feature `kafka`).
//!
//! Why it is built this way:
//!
//! - **Producer** (rule R2): `enable.idempotence=true` and `acks=all`
//!   always; extra settings that would weaken either are refused with the key
//!   that asked for it ([`KafkaOptions::problems`]). A publish enqueues the
//!   record in librdkafka's queue and returns; a task awaits the broker's
//!   answer and only then fires the record's `after` ack, so a stage never
//!   waits on one send at a time and a source's cursor still moves only once
//!   the broker has the record. A full queue is backpressure: the publish
//!   waits, it never drops.
//! - **Consumer**: `enable.auto.offset.store=false`. A delivery's offset is
//!   stored only when its ack fires, and per partition only up to the first
//!   record still in flight ([`PartitionOffsets`]): acknowledging offset 7
//!   while 5 is still being archived stores nothing past 4, so a crash
//!   re-delivers 5, 6 and 7 and never skips 5. librdkafka commits the stored
//!   offsets in the background. A rebalance may hand a partition to another
//!   process before the acks come in; it then re-reads from the last stored
//!   offset, and the idempotent sinks absorb the repeats.
//! - **Topics** are created when missing, with the configured partitions and
//!   replication.
//! - **TLS and SASL** are librdkafka's; certificate verification stays on
//!   (S10) and the SASL password comes from a file (S9).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::TopicPartitionList;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::internal_events::{ConsumerLag, RecordsSkipped};
use crate::kafka_options::FIXED_PRODUCER;
use crate::{Ack, BoxFuture, Bus, BusError, Delivery, KafkaOptions, Origin, Publisher, Record, Subscriber, Topic};

impl KafkaOptions {
    /// The connection and security settings, set over whatever `c` holds,
    /// so no extra setting can change them.
    fn common(&self, mut c: ClientConfig) -> Result<ClientConfig, BusError> {
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("security.protocol", &self.security_protocol)
            .set("enable.ssl.certificate.verification", "true")
            .set("ssl.endpoint.identification.algorithm", "https");
        if let Some(ca) = &self.ca_file {
            c.set("ssl.ca.location", ca.display().to_string());
        }
        if let Some(m) = &self.sasl_mechanism {
            c.set("sasl.mechanism", m);
        }
        if let Some(u) = &self.sasl_username {
            c.set("sasl.username", u);
        }
        if let Some(path) = &self.sasl_password_file {
            let raw = std::fs::read_to_string(path)
                .map_err(|source| BusError::KafkaPasswordFile { path: path.clone(), source })?;
            c.set("sasl.password", raw.trim_end_matches(['\r', '\n']));
        }
        Ok(c)
    }

    fn producer_config(&self) -> Result<ClientConfig, BusError> {
        let mut extra = ClientConfig::new();
        for (k, v) in &self.producer {
            extra.set(k, v);
        }
        let mut c = self.common(extra)?;
        for (k, v, _) in FIXED_PRODUCER {
            c.set(k, v);
        }
        c.set("compression.type", &self.compression).set("linger.ms", "5");
        Ok(c)
    }

    fn consumer_config(&self, group: &str) -> Result<ClientConfig, BusError> {
        let mut extra = ClientConfig::new();
        extra.set("auto.commit.interval.ms", "1000");
        for (k, v) in &self.consumer {
            extra.set(k, v);
        }
        let mut c = self.common(extra)?;
        c.set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("group.id", group)
            .set("enable.partition.eof", "false");
        Ok(c)
    }
}

/// The Kafka backend.
pub struct KafkaBus {
    options: KafkaOptions,
    producer: FutureProducer,
    stop: tokio::sync::watch::Sender<bool>,
    /// The consumers of each group (a stage may read two topics, the archive
    /// scored and deletions): its lag is reported once, over all of them.
    groups: Arc<Groups>,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBus").field("brokers", &self.options.brokers).finish_non_exhaustive()
    }
}

fn kafka_error(what: &str, source: KafkaError) -> BusError {
    BusError::Kafka { what: what.to_string(), source }
}

impl KafkaBus {
    /// Checks the options, connects the producer and creates the topics that are missing.
    pub async fn connect(options: KafkaOptions) -> Result<Self, BusError> {
        let problems = options.problems();
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|(k, m)| format!("bus.{k}: {m}")).collect();
            return Err(BusError::InvalidKafkaOptions(text.join("; ")));
        }
        let producer: FutureProducer =
            options.producer_config()?.create().map_err(|e| kafka_error("cannot create the producer", e))?;
        let bus = Self { options, producer, stop: tokio::sync::watch::channel(false).0, groups: Arc::default() };
        if bus.options.create_topics {
            bus.ensure_topics().await?;
        }
        Ok(bus)
    }

    /// Creates every topic of docs/ARCHITECTURE.md that does not exist yet.
    async fn ensure_topics(&self) -> Result<(), BusError> {
        let admin: AdminClient<DefaultClientContext> = self
            .options
            .common(ClientConfig::new())?
            .create()
            .map_err(|e| kafka_error("cannot create the admin client", e))?;
        let (partitions, replication) = (self.options.partitions, self.options.replication);
        let topics: Vec<NewTopic<'_>> = Topic::ALL
            .iter()
            .map(|t| NewTopic::new(t.name(), partitions, TopicReplication::Fixed(replication)))
            .collect();
        let opts = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(15)))
            .request_timeout(Some(Duration::from_secs(15)));
        let results = admin.create_topics(&topics, &opts).await.map_err(|e| kafka_error("cannot create topics", e))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => return Err(BusError::KafkaTopic { topic, code }),
            }
        }
        Ok(())
    }

    /// Makes every subscriber's `recv` return `None` (after the record it may be
    /// handing out), so the stages drain and stop like on the embedded bus.
    pub fn close(&self) {
        self.stop.send_replace(true);
    }

    /// Waits until every record handed to the producer has been answered by the broker.
    pub fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        use rdkafka::producer::Producer as _;
        self.producer.flush(timeout).map_err(|e| kafka_error("cannot flush the producer", e))
    }
}

impl KafkaBus {
    fn subscriber(&self, topic: Topic, group: &str) -> Result<KafkaSubscriber, BusError> {
        let consumer: StreamConsumer =
            self.options.consumer_config(group)?.create().map_err(|e| kafka_error("cannot create the consumer", e))?;
        consumer.subscribe(&[topic.name()]).map_err(|e| kafka_error("cannot subscribe", e))?;
        Ok(KafkaSubscriber {
            topic,
            consumer: Arc::new(consumer),
            offsets: Arc::new(Mutex::new(HashMap::new())),
            rewinds: Arc::new(Mutex::new(Vec::new())),
            skip_below: HashMap::new(),
            readings: Readings::default(),
            group: group.to_owned(),
            stop: self.stop.subscribe(),
        })
    }
}

/// How often consumer lag is measured.
const LAG_EVERY: Duration = Duration::from_secs(5);

/// Records still to be read by this consumer over its assigned partitions:
/// the high watermark minus its position (the offset after the last record
/// handed out). A partition it has handed out nothing from yet (just
/// assigned, say after a rebalance, with nothing new in it) has no position:
/// there the group's committed offset counts, and only without one the
/// partition's start. Blocking: it asks the broker.
fn consumer_lag(consumer: &StreamConsumer) -> Option<i64> {
    let assignment = consumer.assignment().ok()?;
    let position = consumer.position().ok()?;
    let committed = consumer.committed_offsets(assignment.clone(), Duration::from_secs(2)).ok();
    let offset_in = |list: &TopicPartitionList, topic: &str, partition: i32| {
        list.elements_for_topic(topic)
            .iter()
            .find(|e| e.partition() == partition)
            .and_then(|e| e.offset().to_raw())
            .filter(|o| *o >= 0)
    };
    let mut lag = 0i64;
    for tp in assignment.elements() {
        let (low, high) = consumer.fetch_watermarks(tp.topic(), tp.partition(), Duration::from_secs(2)).ok()?;
        let at = offset_in(&position, tp.topic(), tp.partition())
            .or_else(|| committed.as_ref().and_then(|c| offset_in(c, tp.topic(), tp.partition())))
            .unwrap_or(low);
        lag += (high - at).max(0);
    }
    Some(lag)
}

/// The consumers of each consumer group, by group.
type Groups = std::sync::Mutex<std::collections::HashMap<String, Vec<std::sync::Weak<StreamConsumer>>>>;

/// Reports `onrust_bus_consumer_lag{stage}` every [`LAG_EVERY`], summed over
/// every topic the group reads, while any of its consumers lives.
async fn report_lag(groups: Arc<Groups>, group: String) {
    loop {
        tokio::time::sleep(LAG_EVERY).await;
        let consumers: Vec<Arc<StreamConsumer>> = {
            let mut groups = groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(members) = groups.get_mut(&group) else { return };
            let live: Vec<Arc<StreamConsumer>> = members.iter().filter_map(std::sync::Weak::upgrade).collect();
            if live.is_empty() {
                // Under the same lock: a new subscription to the group starts its own reporter.
                groups.remove(&group);
                return;
            }
            members.retain(|c| c.strong_count() > 0);
            live
        };
        let lag = tokio::task::spawn_blocking(move || consumers.iter().map(|c| consumer_lag(c)).sum::<Option<i64>>())
            .await
            .ok()
            .flatten();
        if let Some(lag) = lag {
            ConsumerLag { stage: &group, lag }.emit();
        }
    }
}

impl Bus for KafkaBus {
    fn publisher(&self, topic: Topic) -> Result<Arc<dyn Publisher>, BusError> {
        Ok(Arc::new(KafkaPublisher { producer: self.producer.clone(), topic }))
    }

    fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscriber>, BusError> {
        let subscriber = self.subscriber(topic, group)?;
        let first = {
            let mut groups = self.groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let members = groups.entry(group.to_owned()).or_default();
            members.push(Arc::downgrade(&subscriber.consumer));
            members.len() == 1
        };
        if first {
            tokio::spawn(report_lag(Arc::clone(&self.groups), group.to_owned()));
        }
        Ok(Box::new(subscriber))
    }
}

struct KafkaPublisher {
    producer: FutureProducer,
    topic: Topic,
}

impl Publisher for KafkaPublisher {
    fn publish(&self, record: Record, after: Ack) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let topic = self.topic.name();
            let delivery = loop {
                let future_record = FutureRecord::to(topic).key(&record.key).payload(&record.payload);
                match self.producer.send_result(future_record) {
                    Ok(delivery) => break delivery,
                    // librdkafka's queue is full: wait for room, never drop.
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(kafka_error(&format!("cannot publish on {topic}"), e)),
                }
            };
            tokio::spawn(async move {
                match delivery.await {
                    Ok(Ok(_)) => after.ack(),
                    Ok(Err((e, _))) => {
                        tracing::warn!(topic, error = %e, "the broker did not take a record; its source reads it again");
                    }
                    Err(_) => tracing::warn!(topic, "the producer stopped before the broker answered"),
                }
            });
            Ok(())
        })
    }
}

/// The offsets of one partition between delivery and acknowledgement.
///
/// What may be stored is the offset after the last record that is done with
/// every record before it done too: the lowest offset still in flight, or,
/// with nothing in flight, one past the highest delivered.
#[derive(Debug, Default)]
pub struct PartitionOffsets {
    in_flight: BTreeSet<i64>,
    /// One past the highest offset delivered.
    next: i64,
}

impl PartitionOffsets {
    pub fn delivered(&mut self, offset: i64) {
        self.in_flight.insert(offset);
        self.next = self.next.max(offset + 1);
    }

    /// Forgets what was handed out from `offset` on: it will be delivered again.
    pub fn rewind(&mut self, offset: i64) {
        self.in_flight.retain(|o| *o < offset);
        self.next = self.next.min(offset);
    }

    /// Marks `offset` done; returns the next offset to consume that may now
    /// be stored, if storing it would move anything.
    pub fn done(&mut self, offset: i64) -> Option<i64> {
        if !self.in_flight.remove(&offset) {
            return None;
        }
        let resume_at = self.in_flight.first().copied().unwrap_or(self.next);
        (resume_at > offset).then_some(resume_at)
    }
}

/// Per partition, the offset after the last record handed out. A record at
/// any other offset starts a new reading: the first, one after a rebalance
/// or a restart (at the group's committed offset), or one after a rewind.
#[derive(Debug, Default)]
struct Readings {
    next: HashMap<i32, i64>,
}

impl Readings {
    /// Notes a record handed out; true when it starts a new reading.
    fn starts(&mut self, partition: i32, offset: i64) -> bool {
        self.next.insert(partition, offset + 1) != Some(offset)
    }

    /// The partition goes on at `offset` by our own seek: no new reading.
    fn expect(&mut self, partition: i32, offset: i64) {
        self.next.insert(partition, offset);
    }
}

/// The first offset a reading that starts at `first` skipped, when the group
/// had committed `committed` (an offset below zero is none committed: then
/// the reset policy decides where to start, and nothing is skipped).
fn skipped_from(committed: Option<i64>, first: i64) -> Option<i64> {
    committed.filter(|&c| c >= 0 && c < first)
}

struct KafkaSubscriber {
    topic: Topic,
    consumer: Arc<StreamConsumer>,
    offsets: Arc<Mutex<HashMap<i32, PartitionOffsets>>>,
    /// Records whose effect failed (their ack was dropped): the partition is
    /// read again from there, so nothing waits for a restart to be retried.
    rewinds: Arc<Mutex<Vec<(i32, i64)>>>,
    /// Per partition, the first offset a sink's own commit has not covered
    /// yet ([`Subscriber::seek`]); records before it are passed over.
    skip_below: HashMap<i32, i64>,
    /// Where each partition's current reading is, to see a new one start.
    readings: Readings,
    /// The consumer group: the stage's name, for what is reported.
    group: String,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl KafkaSubscriber {
    /// Reads each partition with a failed record again from that record: the
    /// records after it come again too, and the idempotent sinks absorb them.
    fn rewind_failed(&mut self) {
        let failed: Vec<(i32, i64)> = match self.rewinds.lock() {
            Ok(mut r) => std::mem::take(&mut *r),
            Err(_) => return,
        };
        let mut first: HashMap<i32, i64> = HashMap::new();
        for (partition, offset) in failed {
            let at = first.entry(partition).or_insert(offset);
            *at = (*at).min(offset);
        }
        for (partition, offset) in first {
            if let Ok(mut offsets) = self.offsets.lock()
                && let Some(track) = offsets.get_mut(&partition)
            {
                track.rewind(offset);
            }
            let to = rdkafka::Offset::Offset(offset);
            match self.consumer.seek(self.topic.name(), partition, to, Duration::from_secs(5)) {
                Ok(()) => {
                    // Our own seek: the group's committed offset may still lie
                    // before it (records done since are not committed yet).
                    self.readings.expect(partition, offset);
                    tracing::warn!(
                        topic = self.topic.name(),
                        partition,
                        offset,
                        "a record failed; reading again from it"
                    );
                }
                // No longer ours: its new owner reads from the last stored offset, which is before it.
                Err(e) => tracing::debug!(topic = self.topic.name(), partition, error = %e, "no rewind"),
            }
        }
    }

    /// A reading of a partition starts at the group's committed offset; one
    /// that starts past it has skipped records: removed by retention before
    /// they were read, or not handed out by the broker (tansu 0.6.0, when a
    /// reading resumes inside a record batch). Nothing brings them back from
    /// here, so the warning says which. Asked on a blocking thread: it is a
    /// round trip to the group's coordinator, once per reading.
    fn check_resume(&self, partition: i32, first: i64) {
        let (consumer, topic, group) = (Arc::clone(&self.consumer), self.topic, self.group.clone());
        tokio::task::spawn_blocking(move || {
            let mut asked = TopicPartitionList::new();
            asked.add_partition(topic.name(), partition);
            let Ok(committed) = consumer.committed_offsets(asked, Duration::from_secs(5)) else { return };
            let committed = committed.find_partition(topic.name(), partition).and_then(|e| e.offset().to_raw());
            if let Some(from) = skipped_from(committed, first) {
                RecordsSkipped { stage: &group, topic: topic.name(), partition, from, to: first }.emit();
            }
        });
    }

    /// Marks a record done at once (passed over by a seek), storing its offset.
    fn pass_over(&self, partition: i32, offset: i64) {
        if let Ok(mut offsets) = self.offsets.lock() {
            offsets.entry(partition).or_default().delivered(offset);
        }
        store_done(&self.consumer, &self.offsets, self.topic, partition, offset);
    }
}

/// Marks a record done and stores what may now be stored for its partition.
fn store_done(
    consumer: &StreamConsumer,
    offsets: &Mutex<HashMap<i32, PartitionOffsets>>,
    topic: Topic,
    partition: i32,
    offset: i64,
) {
    let Ok(mut offsets) = offsets.lock() else { return };
    let Some(resume_at) = offsets.get_mut(&partition).and_then(|p| p.done(offset)) else { return };
    // librdkafka stores `offset + 1`: the next record to read.
    if let Err(e) = consumer.store_offset(topic.name(), partition, resume_at - 1) {
        // A partition taken away by a rebalance; its new owner re-reads (at least once).
        tracing::debug!(topic = topic.name(), partition, error = %e, "offset not stored");
    }
}

impl Subscriber for KafkaSubscriber {
    fn recv(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            loop {
                if *self.stop.borrow() {
                    return None;
                }
                self.rewind_failed();
                let received = tokio::select! {
                    received = self.consumer.recv() => received.map(|m| {
                        (m.key().unwrap_or_default().to_vec(), m.payload().unwrap_or_default().to_vec(), m.partition(), m.offset())
                    }),
                    _ = self.stop.changed() => return None,
                };
                let (key, payload, partition, offset) = match received {
                    Ok(parts) => parts,
                    Err(e) => {
                        tracing::warn!(topic = self.topic.name(), error = %e, "kafka consumer error; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                if self.readings.starts(partition, offset) {
                    self.check_resume(partition, offset);
                }
                if self.skip_below.get(&partition).is_some_and(|&first| offset < first) {
                    self.pass_over(partition, offset);
                    continue;
                }
                if let Ok(mut offsets) = self.offsets.lock() {
                    offsets.entry(partition).or_default().delivered(offset);
                }
                let (consumer, offsets, topic) = (Arc::clone(&self.consumer), Arc::clone(&self.offsets), self.topic);
                let rewinds = Arc::clone(&self.rewinds);
                let ack = Ack::new(move |ok| {
                    if !ok {
                        // Not stored, and read again from here at the next receive.
                        if let Ok(mut r) = rewinds.lock() {
                            r.push((partition, offset));
                        }
                        return;
                    }
                    store_done(&consumer, &offsets, topic, partition, offset);
                });
                return Some(Delivery {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    payload,
                    origin: Origin { topic: self.topic.name().to_owned(), partition, offset },
                    ack,
                });
            }
        })
    }

    fn durable_positions(&self) -> bool {
        true
    }

    /// The group's committed offsets are stored only after the sink's effect
    /// is durable, so they are never ahead of the sink's own positions; they
    /// can be behind (or gone: offsets expire, and the group then starts at
    /// the earliest record). Records before a sink's position are therefore
    /// passed over here rather than handed out again.
    fn seek(&mut self, positions: &[Origin]) -> BoxFuture<'_, Result<(), BusError>> {
        for p in positions.iter().filter(|p| p.topic == self.topic.name()) {
            self.skip_below.insert(p.partition, p.offset);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use onrust_testkit::holds_within_async;
    use rdkafka::mocking::MockCluster;

    use super::*;

    fn options(brokers: String) -> KafkaOptions {
        // A short session, so a replaced consumer's partitions move on quickly.
        let consumer = [("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "500")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into();
        KafkaOptions { brokers, partitions: 1, create_topics: false, consumer, ..KafkaOptions::default() }
    }

    /// librdkafka's mock broker does not answer CreateTopics: its topics are made here.
    fn cluster() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
        let cluster = MockCluster::new(1).expect("mock cluster");
        for topic in Topic::ALL {
            cluster.create_topic(topic.name(), 1, 1).expect("topic");
        }
        cluster
    }

    /// An ack that counts into `n` when it fires.
    fn counted(n: &Arc<AtomicUsize>) -> Ack {
        let n = Arc::clone(n);
        Ack::new(move |ok| {
            if ok {
                n.fetch_add(1, Ordering::SeqCst);
            }
        })
    }

    async fn wait_for(n: &AtomicUsize, want: usize) {
        let reached = holds_within_async(Duration::from_secs(5), || n.load(Ordering::SeqCst) >= want).await;
        assert!(reached, "waited for {want}, have {}", n.load(Ordering::SeqCst));
    }

    async fn next(sub: &mut Box<dyn Subscriber>) -> Delivery {
        tokio::time::timeout(Duration::from_secs(20), sub.recv())
            .await
            .expect("a delivery within 20 s")
            .expect("the topic is open")
    }

    async fn publish_all(bus: &KafkaBus, topic: Topic, n: usize) -> Arc<AtomicUsize> {
        let written = Arc::new(AtomicUsize::new(0));
        let publisher = bus.publisher(topic).expect("publisher");
        for i in 0..n {
            let record = Record { key: format!("k{i}"), payload: format!("{{\"n\":{i}}}").into_bytes() };
            publisher.publish(record, counted(&written)).await.expect("publish");
        }
        wait_for(&written, n).await;
        written
    }

    #[test]
    fn offsets_are_stored_up_to_the_first_record_still_in_flight() {
        let mut p = PartitionOffsets::default();
        for o in 10..15 {
            p.delivered(o);
        }
        assert_eq!(p.done(11), None, "10 is still in flight");
        assert_eq!(p.done(13), None);
        assert_eq!(p.done(10), Some(12), "10 and 11 are done, 12 is not");
        assert_eq!(p.done(12), Some(14));
        assert_eq!(p.done(14), Some(15), "all done: resume after the last");
        assert_eq!(p.done(14), None, "twice is once");
    }

    /// R2: a config that asks for weaker producer settings, automatic offset
    /// storing, no certificate verification or a secret inline is refused,
    /// each problem under its own key, before anything connects.
    #[tokio::test]
    async fn weak_settings_are_refused_with_the_key_that_asked() {
        let mut o = options("localhost:1".into());
        for (k, v) in [("acks", "1"), ("enable.idempotence", "false"), ("linger.ms", "10"), ("acks", "1")] {
            o.producer.insert(k.into(), v.into());
        }
        o.consumer.insert("enable.auto.offset.store".into(), "true".into());
        o.consumer.insert("enable.ssl.certificate.verification".into(), "false".into());
        o.consumer.insert("sasl.password".into(), "geheim".into());
        o.consumer.insert("enable.ssl.certificate.verification".into(), "0".into());
        o.consumer.insert("auto.offset.reset".into(), "latest".into());
        o.producer.insert("security.protocol".into(), "plaintext".into());
        let keys: Vec<String> = o.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "producer.acks",
                "producer.enable.idempotence",
                "producer.security.protocol",
                "consumer.auto.offset.reset",
                "consumer.enable.auto.offset.store",
                "consumer.enable.ssl.certificate.verification",
                "consumer.sasl.password"
            ]
        );
        let err = KafkaBus::connect(o).await.expect_err("refused").to_string();
        assert!(err.contains("bus.producer.acks: onrust sets acks = \"all\" itself"), "{err}");
        assert!(!err.contains("geheim"), "no secret echoed: {err}");
        let mut fine = options("localhost:1".into());
        fine.producer.insert("acks".into(), "-1".into());
        fine.producer.insert("enable.idempotence".into(), "true".into());
        assert!(fine.problems().is_empty(), "{:?}", fine.problems());
    }

    #[test]
    fn an_unreadable_password_file_is_named_and_kept_as_the_source() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("sasl-password");
        let o = KafkaOptions { sasl_password_file: Some(missing.clone()), ..options("localhost:1".into()) };
        let err = o.producer_config().map(drop).expect_err("no password file");
        assert!(matches!(&err, BusError::KafkaPasswordFile { path, .. } if *path == missing), "{err:?}");
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("kafka: cannot read sasl_password_file {}: ", missing.display())),
            "{shown}"
        );
        let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(source.map(std::io::Error::kind), Some(std::io::ErrorKind::NotFound), "{err:?}");
    }

    #[tokio::test]
    async fn records_go_round_and_every_group_gets_every_record() {
        let cluster = cluster();
        let bus = KafkaBus::connect(options(cluster.bootstrap_servers())).await.expect("connect");
        let mut archive = bus.subscribe(Topic::Scored, "archive").expect("subscribe");
        let mut alert = bus.subscribe(Topic::Scored, "alert").expect("subscribe");
        publish_all(&bus, Topic::Scored, 3).await;
        for sub in [&mut archive, &mut alert] {
            for i in 0..3 {
                let d = next(sub).await;
                assert_eq!(
                    (d.key.as_str(), d.payload.as_slice()),
                    (format!("k{i}").as_str(), format!("{{\"n\":{i}}}").as_bytes())
                );
                assert_eq!((d.origin.topic.as_str(), d.origin.offset), ("onrust.scored.v1", i as i64));
                d.ack.ack();
            }
        }
        assert!(archive.durable_positions());
        bus.close();
        assert!(archive.recv().await.is_none(), "closed: the stage drains and stops");
    }

    /// Offsets are stored only for what was acknowledged, and never past a
    /// record still in flight: a new consumer in the group starts there.
    #[tokio::test]
    async fn a_restarted_consumer_resumes_at_the_first_unacknowledged_record() {
        let cluster = cluster();
        let bus = KafkaBus::connect(options(cluster.bootstrap_servers())).await.expect("connect");
        let mut first = bus.subscribe(Topic::Raw, "classify").expect("subscribe");
        publish_all(&bus, Topic::Raw, 5).await;
        let mut held = Vec::new();
        for _ in 0..5 {
            let d = next(&mut first).await;
            if d.origin.offset == 2 {
                held.push(d.ack);
            } else {
                d.ack.ack();
            }
        }
        // Let the background commit run, then stop without acknowledging offset 2.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        drop(held);
        drop(first);
        let mut second = bus.subscribe(Topic::Raw, "classify").expect("subscribe");
        let d = next(&mut second).await;
        assert_eq!(d.origin.offset, 2, "resumes at the record that was not done, not after 4");
    }

    /// A record whose effect failed (its ack dropped) is read again by the
    /// same consumer, and the offsets move on once it succeeds.
    #[tokio::test]
    async fn a_failed_record_is_read_again_without_a_restart() {
        let cluster = cluster();
        let bus = KafkaBus::connect(options(cluster.bootstrap_servers())).await.expect("connect");
        let mut sub = bus.subscribe(Topic::Raw, "classify").expect("subscribe");
        publish_all(&bus, Topic::Raw, 3).await;
        let first = next(&mut sub).await;
        assert_eq!(first.origin.offset, 0);
        drop(first.ack);
        let mut seen = Vec::new();
        for _ in 0..3 {
            let d = next(&mut sub).await;
            seen.push(d.origin.offset);
            d.ack.ack();
        }
        assert_eq!(seen[0], 0, "the failed record first: {seen:?}");
        assert!(seen.contains(&1), "{seen:?}");
    }

    #[test]
    fn a_reading_starts_at_the_first_record_and_wherever_the_offsets_jump() {
        let mut readings = Readings::default();
        assert!(readings.starts(0, 5), "the first record of a partition");
        assert!(!readings.starts(0, 6));
        assert!(!readings.starts(0, 7));
        assert!(readings.starts(1, 7), "partitions are read apart");
        assert!(readings.starts(0, 3), "read again from before: a rebalance or a rewind");
        assert!(!readings.starts(0, 4));
        assert!(readings.starts(0, 9), "a jump forward");
        readings.expect(0, 4);
        assert!(!readings.starts(0, 4), "our own seek back to a failed record");
        assert!(!readings.starts(0, 5));
    }

    #[test]
    fn a_reading_past_the_committed_offset_skipped_what_lies_between() {
        assert_eq!(skipped_from(Some(1000), 1032), Some(1000));
        assert_eq!(skipped_from(Some(1032), 1032), None, "it starts where the group stopped");
        assert_eq!(skipped_from(Some(1040), 1032), None, "read again from before: nothing skipped");
        assert_eq!(skipped_from(None, 1032), None, "nothing committed: the reset policy decides");
        assert_eq!(skipped_from(Some(-1001), 5), None, "librdkafka's 'no offset'");
    }

    #[test]
    fn a_rewound_partition_stores_nothing_past_the_failed_record() {
        let mut p = PartitionOffsets::default();
        for o in 0..4 {
            p.delivered(o);
        }
        p.rewind(1);
        assert_eq!(p.done(0), Some(1), "0 is done; 1 comes again");
        assert_eq!(p.done(2), None, "2 was handed out before the rewind: it comes again too");
        p.delivered(1);
        assert_eq!(p.done(1), Some(2));
    }

    /// R4: a record that cannot be processed goes to the dead letters with
    /// its origin, and its partition moves on once the dead letter is written.
    #[tokio::test]
    async fn a_poison_record_goes_to_the_dead_letters_and_the_partition_moves_on() {
        let cluster = cluster();
        let bus = KafkaBus::connect(options(cluster.bootstrap_servers())).await.expect("connect");
        let mut raw = bus.subscribe(Topic::Raw, "classify").expect("subscribe");
        let mut letters = bus.subscribe(Topic::DeadLetter, "ops").expect("subscribe");
        let dead = bus.publisher(Topic::DeadLetter).expect("publisher");
        publish_all(&bus, Topic::Raw, 2).await;
        let poison = next(&mut raw).await;
        let letter = crate::DeadLetter::of(&poison, "not a raw message: expected value at line 1 column 1");
        dead.publish(Record::json("k0", &letter).expect("json"), poison.ack).await.expect("dead letter");
        let good = next(&mut raw).await;
        good.ack.ack();
        let got = next(&mut letters).await;
        let got: crate::DeadLetter = serde_json::from_slice(&got.payload).expect("a dead letter");
        assert_eq!((got.origin.topic.as_str(), got.origin.offset), ("onrust.raw.v1", 0));
        assert!(got.reason.starts_with("not a raw message"));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        drop(raw);
        let mut again = bus.subscribe(Topic::Raw, "classify").expect("subscribe");
        publish_all(&bus, Topic::Raw, 1).await;
        assert_eq!(next(&mut again).await.origin.offset, 2, "both earlier records are done");
    }

    /// Lag is what the group has not read yet: all of it before the first
    /// record, then one less per record handed out.
    #[tokio::test]
    async fn lag_is_what_the_group_has_not_read() {
        let cluster = cluster();
        let bus = KafkaBus::connect(options(cluster.bootstrap_servers())).await.expect("connect");
        let mut sub = bus.subscriber(Topic::Scored, "archive").expect("subscriber");
        publish_all(&bus, Topic::Scored, 5).await;
        let first = tokio::time::timeout(Duration::from_secs(20), sub.recv()).await.expect("in time").expect("open");
        first.ack.ack();
        let consumer = Arc::clone(&sub.consumer);
        let lag = tokio::task::spawn_blocking(move || consumer_lag(&consumer)).await.expect("join");
        assert_eq!(lag, Some(4), "five written, one read");
    }

    /// A consumer that takes over partitions the group has read to the end
    /// (after a rebalance or a restart) has no lag, although it has handed
    /// out nothing yet: the committed offsets count, not the partitions' start.
    #[tokio::test]
    async fn a_new_member_of_a_group_that_read_everything_has_no_lag() {
        let cluster = cluster();
        let bus = KafkaBus::connect(options(cluster.bootstrap_servers())).await.expect("connect");
        let mut first = bus.subscriber(Topic::Scored, "archive").expect("subscriber");
        publish_all(&bus, Topic::Scored, 3).await;
        for _ in 0..3 {
            let record = tokio::time::timeout(Duration::from_secs(20), first.recv()).await.expect("in time");
            record.expect("open").ack.ack();
        }
        // Acknowledged offsets are committed in the background.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        drop(first);
        let mut second = bus.subscriber(Topic::Scored, "archive").expect("subscriber");
        // Polling drives the group's rebalance; nothing is left to hand out.
        let started = std::time::Instant::now();
        loop {
            let nothing_new = tokio::time::timeout(Duration::from_secs(1), second.recv()).await;
            assert!(nothing_new.is_err(), "nothing is left to read");
            if second.consumer.assignment().is_ok_and(|a| a.count() > 0) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the partitions never reached the new member");
        }
        let consumer = Arc::clone(&second.consumer);
        let lag = tokio::task::spawn_blocking(move || consumer_lag(&consumer)).await.expect("join");
        assert_eq!(lag, Some(0), "three written, three read by the group");
    }

    /// A sink that stored its own positions resumes there even when the
    /// group's offsets are older (here: a new group reading from the start).
    #[tokio::test]
    async fn seek_passes_over_what_the_sink_already_has() {
        let cluster = cluster();
        let bus = KafkaBus::connect(options(cluster.bootstrap_servers())).await.expect("connect");
        let mut archive = bus.subscribe(Topic::Scored, "archive").expect("subscribe");
        publish_all(&bus, Topic::Scored, 4).await;
        let at = Origin { topic: Topic::Scored.name().into(), partition: 0, offset: 3 };
        archive.seek(&[at]).await.expect("seek");
        assert_eq!(next(&mut archive).await.origin.offset, 3);
    }
}
