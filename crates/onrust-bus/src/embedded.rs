//! The embedded backend: bounded in-process channels, one per topic and group.
//!
//! Every consumer group of a topic gets its own bounded channel and every
//! record goes to each of them; a full channel makes the publisher wait
//! (backpressure), nothing is ever dropped. A record's `after` handle is split
//! over the groups, so it fires only when every group has acknowledged it.
//! When the last publisher of a topic is dropped its channels close, and the
//! consumers drain what is left and see the end: shutdown flows downstream.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use crate::{Ack, BoxFuture, Bus, BusError, Delivery, Origin, Publisher, Record, Subscriber, Topic};

/// Settings of the embedded bus.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Records each group's channel holds before publishers wait.
    pub capacity: usize,
    /// Where dead letters are appended (JSON lines, fsynced) when no group
    /// consumes `onrust.deadletter.v1` in this process.
    pub deadletter_path: Option<PathBuf>,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self { capacity: 1024, deadletter_path: None }
    }
}

struct Envelope {
    key: String,
    payload: Vec<u8>,
    offset: i64,
    ack: Ack,
}

#[derive(Default)]
struct TopicState {
    groups: Vec<(String, mpsc::Sender<Envelope>)>,
    watch: Vec<(String, mpsc::WeakSender<Envelope>)>,
    next_offset: Arc<AtomicI64>,
    has_publishers: bool,
}

#[derive(Default)]
struct State {
    sealed: bool,
    topics: HashMap<Topic, TopicState>,
}

/// The in-process bus (see the module docs).
pub struct EmbeddedBus {
    options: EmbeddedOptions,
    state: Mutex<State>,
}

impl std::fmt::Debug for EmbeddedBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBus").field("options", &self.options).finish_non_exhaustive()
    }
}

impl EmbeddedBus {
    pub fn new(options: EmbeddedOptions) -> Self {
        Self { options, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock only guards plain data; a panic elsewhere cannot leave it inconsistent.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends wiring: the bus lets go of its own channel ends, so a topic closes
    /// as soon as its last publisher is dropped. No subscribing or new
    /// publishers after this.
    pub fn seal(&self) {
        let mut state = self.state();
        state.sealed = true;
        for topic in state.topics.values_mut() {
            topic.groups.clear();
        }
    }

    /// Records waiting per topic and group, for the queue-depth metric.
    pub fn queue_depths(&self) -> Vec<(Topic, String, usize)> {
        let state = self.state();
        let mut depths = Vec::new();
        for (topic, topic_state) in &state.topics {
            for (group, weak) in &topic_state.watch {
                let depth = weak.upgrade().map_or(0, |tx| tx.max_capacity() - tx.capacity());
                depths.push((*topic, group.clone(), depth));
            }
        }
        depths.sort();
        depths
    }
}

impl Bus for EmbeddedBus {
    fn publisher(&self, topic: Topic) -> Result<Arc<dyn Publisher>, BusError> {
        let mut state = self.state();
        if state.sealed {
            return Err(BusError::Sealed);
        }
        let topic_state = state.topics.entry(topic).or_default();
        if topic_state.groups.is_empty() {
            if topic == Topic::DeadLetter
                && let Some(path) = &self.options.deadletter_path
            {
                return Ok(Arc::new(FilePublisher { path: path.clone() }));
            }
            return Err(BusError::NoSubscribers { topic: topic.name() });
        }
        topic_state.has_publishers = true;
        Ok(Arc::new(ChannelPublisher {
            topic,
            senders: topic_state.groups.iter().map(|(_, tx)| tx.clone()).collect(),
            next_offset: Arc::clone(&topic_state.next_offset),
        }))
    }

    fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscriber>, BusError> {
        let mut state = self.state();
        if state.sealed {
            return Err(BusError::Sealed);
        }
        let topic_state = state.topics.entry(topic).or_default();
        if topic_state.has_publishers {
            // A publisher snapshots the groups it sends to; a later group would miss its records.
            return Err(BusError::LateSubscriber { topic: topic.name(), group: group.to_owned() });
        }
        if topic_state.watch.iter().any(|(g, _)| g == group) {
            return Err(BusError::DuplicateGroup { topic: topic.name(), group: group.to_owned() });
        }
        let (tx, rx) = mpsc::channel(self.options.capacity.max(1));
        topic_state.watch.push((group.to_owned(), tx.downgrade()));
        topic_state.groups.push((group.to_owned(), tx));
        Ok(Box::new(ChannelSubscriber { topic, rx }))
    }
}

struct ChannelPublisher {
    topic: Topic,
    senders: Vec<mpsc::Sender<Envelope>>,
    next_offset: Arc<AtomicI64>,
}

impl Publisher for ChannelPublisher {
    fn publish(&self, record: Record, after: Ack) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(async move {
            let offset = self.next_offset.fetch_add(1, Ordering::Relaxed);
            let acks = after.split(self.senders.len());
            let last = self.senders.len().saturating_sub(1);
            let mut record = Some(record);
            for (i, (tx, ack)) in self.senders.iter().zip(acks).enumerate() {
                // The last group takes the record itself; the others a copy.
                let Record { key, payload } = if i == last {
                    record.take().unwrap_or_else(|| Record { key: String::new(), payload: Vec::new() })
                } else {
                    record.clone().unwrap_or_else(|| Record { key: String::new(), payload: Vec::new() })
                };
                if tx.send(Envelope { key, payload, offset, ack }).await.is_err() {
                    return Err(BusError::Closed { topic: self.topic.name() });
                }
            }
            Ok(())
        })
    }
}

struct ChannelSubscriber {
    topic: Topic,
    rx: mpsc::Receiver<Envelope>,
}

impl Subscriber for ChannelSubscriber {
    fn recv(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            let envelope = self.rx.recv().await?;
            Some(Delivery {
                key: envelope.key,
                payload: envelope.payload,
                origin: Origin { topic: self.topic.name().to_owned(), partition: 0, offset: envelope.offset },
                ack: envelope.ack,
            })
        })
    }
}

/// Dead letters without a consumer in this process go to a JSON-lines file.
struct FilePublisher {
    path: PathBuf,
}

impl Publisher for FilePublisher {
    fn publish(&self, record: Record, after: Ack) -> BoxFuture<'_, Result<(), BusError>> {
        let path = self.path.clone();
        Box::pin(async move {
            let written =
                tokio::task::spawn_blocking(move || crate::dead_letters::append(&path, &record.payload)).await;
            let result = match written {
                Ok(result) => result,
                Err(join) => Err(std::io::Error::other(join.to_string())),
            };
            match result {
                Ok(()) => {
                    after.ack();
                    Ok(())
                }
                Err(source) => Err(BusError::DeadLetterIo { path: self.path.display().to_string(), source }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn counter() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)))
    }

    fn tracked(ok: &Arc<AtomicUsize>, failed: &Arc<AtomicUsize>) -> Ack {
        let (ok, failed) = (Arc::clone(ok), Arc::clone(failed));
        Ack::new(move |acked| {
            if acked {
                ok.fetch_add(1, Ordering::SeqCst)
            } else {
                failed.fetch_add(1, Ordering::SeqCst)
            };
        })
    }

    #[tokio::test]
    async fn every_group_gets_every_record_and_ack_waits_for_all() {
        let bus = EmbeddedBus::new(EmbeddedOptions::default());
        let mut a = bus.subscribe(Topic::Scored, "archive").unwrap();
        let mut b = bus.subscribe(Topic::Scored, "alert").unwrap();
        let publisher = bus.publisher(Topic::Scored).unwrap();
        bus.seal();
        let (ok, failed) = counter();
        publisher
            .publish(Record { key: "GM0344".into(), payload: b"x".to_vec() }, tracked(&ok, &failed))
            .await
            .unwrap();
        let da = a.recv().await.unwrap();
        let db = b.recv().await.unwrap();
        assert_eq!((da.payload.as_slice(), db.payload.as_slice()), (&b"x"[..], &b"x"[..]));
        assert_eq!(da.origin.topic, "onrust.scored.v1");
        da.ack.ack();
        assert_eq!(ok.load(Ordering::SeqCst), 0, "one group is not all groups");
        db.ack.ack();
        assert_eq!(ok.load(Ordering::SeqCst), 1);
        assert_eq!(failed.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn dropped_delivery_fails_the_upstream_ack() {
        let bus = EmbeddedBus::new(EmbeddedOptions::default());
        let mut sub = bus.subscribe(Topic::Raw, "classify").unwrap();
        let publisher = bus.publisher(Topic::Raw).unwrap();
        let (ok, failed) = counter();
        publisher.publish(Record { key: "s".into(), payload: vec![] }, tracked(&ok, &failed)).await.unwrap();
        drop(sub.recv().await.unwrap());
        assert_eq!((ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst)), (0, 1));
    }

    #[tokio::test]
    async fn topic_closes_when_last_publisher_drops_after_seal() {
        let bus = EmbeddedBus::new(EmbeddedOptions::default());
        let mut sub = bus.subscribe(Topic::Raw, "classify").unwrap();
        let publisher = bus.publisher(Topic::Raw).unwrap();
        bus.seal();
        publisher.publish(Record { key: "s".into(), payload: b"1".to_vec() }, Ack::none()).await.unwrap();
        drop(publisher);
        assert_eq!(sub.recv().await.map(|d| d.payload), Some(b"1".to_vec()), "drains what is left");
        assert!(sub.recv().await.is_none(), "then ends");
        assert!(matches!(bus.publisher(Topic::Raw), Err(BusError::Sealed)));
    }

    #[tokio::test(start_paused = true)]
    async fn full_topic_applies_backpressure_without_dropping() {
        let bus = Arc::new(EmbeddedBus::new(EmbeddedOptions { capacity: 2, deadletter_path: None }));
        let mut sub = bus.subscribe(Topic::Raw, "classify").unwrap();
        let publisher = bus.publisher(Topic::Raw).unwrap();
        bus.seal();
        let producer = tokio::spawn(async move {
            for i in 0..10u8 {
                publisher.publish(Record { key: "s".into(), payload: vec![i] }, Ack::none()).await.unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!producer.is_finished(), "the producer must wait for the consumer");
        assert_eq!(bus.queue_depths(), vec![(Topic::Raw, "classify".to_owned(), 2)]);
        let mut seen = Vec::new();
        while let Some(d) = sub.recv().await {
            seen.push(d.payload[0]);
        }
        producer.await.unwrap();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn subscribing_after_a_publisher_exists_is_refused() {
        let bus = EmbeddedBus::new(EmbeddedOptions::default());
        let _archive = bus.subscribe(Topic::Scored, "archive").unwrap();
        let _publisher = bus.publisher(Topic::Scored).unwrap();
        assert!(matches!(bus.subscribe(Topic::Scored, "alert"), Err(BusError::LateSubscriber { .. })));
    }

    #[tokio::test]
    async fn publishing_without_subscribers_is_an_error() {
        let bus = EmbeddedBus::new(EmbeddedOptions::default());
        assert!(matches!(bus.publisher(Topic::Alerts), Err(BusError::NoSubscribers { .. })));
        bus.subscribe(Topic::Alerts, "g").unwrap();
        assert!(matches!(bus.subscribe(Topic::Alerts, "g"), Err(BusError::DuplicateGroup { .. })));
    }

    #[tokio::test]
    async fn dead_letters_go_to_a_file_and_ack() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deadletter.jsonl");
        let bus = EmbeddedBus::new(EmbeddedOptions { capacity: 4, deadletter_path: Some(path.clone()) });
        let publisher = bus.publisher(Topic::DeadLetter).unwrap();
        let (ok, failed) = counter();
        for payload in [&b"{\"reason\":\"a\"}"[..], b"{\"reason\":\"b\nc\"}"] {
            publisher
                .publish(Record { key: "k".into(), payload: payload.to_vec() }, tracked(&ok, &failed))
                .await
                .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "one line per dead letter, even with a newline inside");
        assert_eq!(ok.load(Ordering::SeqCst), 2);
    }
}
