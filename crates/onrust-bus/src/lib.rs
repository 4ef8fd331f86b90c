//! The onrust bus: the arrows between the stages.
//!
//! Every arrow in the flow of docs/ARCHITECTURE.md is a [`Topic`]. A stage publishes
//! records with a [`Publisher`] and consumes them with a [`Subscriber`];
//! neither knows which backend carries them. The embedded backend
//! ([`EmbeddedBus`]) is bounded in-process channels; the Kafka backend
//! (`kafka::KafkaBus`, feature `kafka`) is a Kafka-protocol broker behind the
//! same traits, so no stage changes with the backend.
//!
//! Delivery is at-least-once. Every [`Delivery`] carries an [`Ack`]: the
//! consumer acknowledges it once the effect is durable. Publishing takes an
//! `after` handle: it fires once the published record is itself durably
//! handled (embedded: acknowledged by every consuming group; Kafka: written
//! by the broker). A stage that turns a delivery into a new record passes the
//! delivery's ack as `after`, so acknowledgement travels back up the flow to
//! the source, which stores its cursor only then.

pub mod dead_letters;
mod embedded;
mod error;
mod internal_events;
#[cfg(feature = "kafka")]
pub mod kafka;
mod kafka_options;
mod merged;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use embedded::{EmbeddedBus, EmbeddedOptions};
pub use error::BusError;
pub use internal_events::describe_metrics;
pub use kafka_options::KafkaOptions;
pub use merged::Merged;
pub use onrust_model::Ack;
use serde::{Deserialize, Serialize};

/// A boxed future, so the bus traits stay object safe and the binary can
/// pick a backend at run time.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The topics of docs/ARCHITECTURE.md ("Topics"). Names are a contract; the embedded bus uses them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Raw,
    Scored,
    Alerts,
    DeadLetter,
    /// Messages deleted at their source (`onrust_model::Deletion`), keyed by source id.
    Deletions,
}

impl Topic {
    pub const ALL: [Topic; 5] = [Topic::Raw, Topic::Scored, Topic::Alerts, Topic::DeadLetter, Topic::Deletions];

    /// The topic's name on the bus.
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "onrust.raw.v1",
            Self::Scored => "onrust.scored.v1",
            Self::Alerts => "onrust.alerts.v1",
            Self::DeadLetter => "onrust.deadletter.v1",
            Self::Deletions => "onrust.deletions.v1",
        }
    }
}

/// A record to publish: the key decides the partition (docs/ARCHITECTURE.md, "Topics": raw → source id,
/// scored → first municipality or `none`, alerts → fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub payload: Vec<u8>,
}

impl Record {
    /// Serialises `value` as the JSON payload of a record.
    pub fn json<T: Serialize>(key: impl Into<String>, value: &T) -> Result<Self, BusError> {
        let payload = serde_json::to_vec(value).map_err(BusError::Encode)?;
        Ok(Self { key: key.into(), payload })
    }
}

/// Where a delivery came from, for dead letters and for logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A consumed record and the handle to acknowledge it with.
#[derive(Debug)]
pub struct Delivery {
    pub key: String,
    pub payload: Vec<u8>,
    pub origin: Origin,
    /// Acknowledge once the effect of this record is durable; dropping it reports failure.
    pub ack: Ack,
}

/// What a dead letter carries: why, where from, and the payload as far as it is text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub schema: u32,
    pub reason: String,
    pub origin: Origin,
    pub key: String,
    /// The payload, lossily decoded and capped at [`DeadLetter::MAX_PAYLOAD_BYTES`].
    pub payload: String,
    /// When it was refused: what the dead letters' retention goes by. Absent
    /// in letters written before it was kept (retention dates them when it first sees them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

impl DeadLetter {
    pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

    /// A dead letter for `delivery`, refused for `reason`.
    pub fn of(delivery: &Delivery, reason: impl Into<String>) -> Self {
        let cut = delivery.payload.len().min(Self::MAX_PAYLOAD_BYTES);
        Self {
            schema: onrust_model::SCHEMA_VERSION,
            reason: reason.into(),
            origin: delivery.origin.clone(),
            key: delivery.key.clone(),
            payload: String::from_utf8_lossy(&delivery.payload[..cut]).into_owned(),
            at: Some(chrono::Utc::now()),
        }
    }
}

/// Publishes records onto one topic.
pub trait Publisher: Send + Sync {
    /// Enqueues `record`; waits while the topic is full (backpressure, never a
    /// silent drop). `after` fires once the record is durably handled.
    fn publish(&self, record: Record, after: Ack) -> BoxFuture<'_, Result<(), BusError>>;
}

/// Consumes one topic as one consumer group.
pub trait Subscriber: Send {
    /// The next delivery; `None` once every publisher is gone and the topic is drained.
    fn recv(&mut self) -> BoxFuture<'_, Option<Delivery>>;

    /// Whether a delivery's [`Origin`] still means the same record after a
    /// restart (a Kafka offset does; the embedded bus starts afresh each
    /// run). Only then does a sink store positions with its effect (R3).
    fn durable_positions(&self) -> bool {
        false
    }

    /// Continues each listed partition at the given offset: the next
    /// delivery from `topic`/`partition` is the record at `offset`. A sink
    /// that stores consumed positions with its own commit resumes from them
    /// this way, whatever the group's committed offsets say (rule R3).
    /// Backends without durable positions ignore it.
    fn seek(&mut self, positions: &[Origin]) -> BoxFuture<'_, Result<(), BusError>> {
        let _ = positions;
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A bus backend.
pub trait Bus: Send + Sync {
    /// A publisher for `topic`.
    fn publisher(&self, topic: Topic) -> Result<Arc<dyn Publisher>, BusError>;
    /// Joins `group` on `topic`. Every group receives every record.
    fn subscribe(&self, topic: Topic, group: &str) -> Result<Box<dyn Subscriber>, BusError>;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_payload_that_is_not_json_keeps_the_encoder_error_as_its_source() {
        // JSON object keys must be strings; a map keyed by pairs cannot be encoded.
        let value = BTreeMap::from([((1, 2), "x")]);
        let err = Record::json("k", &value).expect_err("not encodable");
        assert!(matches!(err, BusError::Encode(_)), "{err:?}");
        assert!(err.to_string().starts_with("cannot encode payload: key must be a string"), "{err}");
        let source = std::error::Error::source(&err).expect("the encoder's error");
        assert!(source.downcast_ref::<serde_json::Error>().is_some(), "{source:?}");
    }
}
