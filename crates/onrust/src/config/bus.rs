//! `[bus]`: which backend carries the topics, and the Kafka settings (R2, S9, S10).

use std::path::PathBuf;

use serde::Deserialize;

use super::Collector;

/// Which bus backend carries the topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    Embedded,
    Kafka,
}

/// `[bus]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// `embedded` (default) or `kafka`.
    #[serde(default = "default_bus_kind")]
    pub kind: BusKind,
    /// Kafka bootstrap servers, `host:port,host:port` (kafka only).
    pub brokers: Option<String>,
    /// Records each embedded topic holds per consumer before producers wait.
    /// Small on purpose: a deep queue only adds latency once the stages keep up.
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// Kafka: partitions of each topic onrust creates (default 6); classify scales up to this many processes.
    pub partitions: Option<i32>,
    /// Kafka: replication factor of each topic onrust creates (default 1; 3 on a three-broker cluster).
    pub replication: Option<i32>,
    /// Kafka: create missing topics at start (default true).
    pub create_topics: Option<bool>,
    /// Kafka: `lz4` (default), `snappy`, `gzip` or `none`.
    pub compression: Option<String>,
    /// Kafka: `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub security_protocol: Option<String>,
    /// Kafka: CA bundle the brokers' certificates are verified with (default: the system's).
    pub ca_file: Option<PathBuf>,
    /// Kafka: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub sasl_mechanism: Option<String>,
    /// Kafka: the SASL user name.
    pub sasl_username: Option<String>,
    /// Kafka: file holding the SASL password (never the password itself).
    pub sasl_password_file: Option<PathBuf>,
    /// Kafka: further librdkafka producer settings; none may weaken `acks=all` and idempotence.
    #[serde(default)]
    pub producer: std::collections::BTreeMap<String, String>,
    /// Kafka: further librdkafka consumer settings; none may store offsets automatically.
    #[serde(default)]
    pub consumer: std::collections::BTreeMap<String, String>,
}

impl BusConfig {
    /// What the Kafka backend is told.
    pub fn kafka_options(&self) -> onrust_bus::KafkaOptions {
        let d = onrust_bus::KafkaOptions::default();
        onrust_bus::KafkaOptions {
            brokers: self.brokers.clone().unwrap_or_default(),
            client_id: d.client_id,
            partitions: self.partitions.unwrap_or(d.partitions),
            replication: self.replication.unwrap_or(d.replication),
            create_topics: self.create_topics.unwrap_or(d.create_topics),
            compression: self.compression.clone().unwrap_or(d.compression),
            security_protocol: self.security_protocol.clone().unwrap_or(d.security_protocol),
            ca_file: self.ca_file.clone(),
            sasl_mechanism: self.sasl_mechanism.clone(),
            sasl_username: self.sasl_username.clone(),
            sasl_password_file: self.sasl_password_file.clone(),
            producer: self.producer.clone(),
            consumer: self.consumer.clone(),
        }
    }

    /// The Kafka keys that are set, by name.
    fn kafka_keys_set(&self) -> Vec<&'static str> {
        let set = [
            ("brokers", self.brokers.is_some()),
            ("partitions", self.partitions.is_some()),
            ("replication", self.replication.is_some()),
            ("create_topics", self.create_topics.is_some()),
            ("compression", self.compression.is_some()),
            ("security_protocol", self.security_protocol.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("sasl_mechanism", self.sasl_mechanism.is_some()),
            ("sasl_username", self.sasl_username.is_some()),
            ("sasl_password_file", self.sasl_password_file.is_some()),
            ("producer", !self.producer.is_empty()),
            ("consumer", !self.consumer.is_empty()),
        ];
        set.into_iter().filter(|(_, s)| *s).map(|(k, _)| k).collect()
    }
}

fn default_bus_kind() -> BusKind {
    BusKind::Embedded
}

fn default_capacity() -> usize {
    1024
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            kind: BusKind::Embedded,
            brokers: None,
            capacity: default_capacity(),
            partitions: None,
            replication: None,
            create_topics: None,
            compression: None,
            security_protocol: None,
            ca_file: None,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password_file: None,
            producer: std::collections::BTreeMap::new(),
            consumer: std::collections::BTreeMap::new(),
        }
    }
}

impl BusConfig {
    /// Kafka's keys only with Kafka, none weakening delivery or verification; the queue's size.
    pub(super) fn validate(&self, c: &mut Collector) {
        match self.kind {
            BusKind::Kafka => {
                if self.brokers.is_none() {
                    c.push("bus.brokers", "required with kind = \"kafka\": host:port,host:port");
                }
                for (key, problem) in self.kafka_options().problems() {
                    if key != "brokers" || self.brokers.is_some() {
                        c.push(format!("bus.{key}"), problem);
                    }
                }
                if let Some(path) = &self.sasl_password_file
                    && let Err(e) = onrust_durable::check_secret_file(path)
                {
                    c.push("bus.sasl_password_file", e.to_string());
                }
            }
            BusKind::Embedded => {
                for key in self.kafka_keys_set() {
                    c.push(format!("bus.{key}"), "only used with kind = \"kafka\"");
                }
            }
        }
        if !(1..=1_000_000).contains(&self.capacity) {
            c.push("bus.capacity", "must be between 1 and 1000000");
        }
    }
}
