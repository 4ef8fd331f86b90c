//! What the Kafka backend is told, and the checks on it. Plain data, in
//! every build: `onrust check-config` judges a Kafka configuration (R2, S9,
//! S10) even in a build without the backend itself.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// How the backend reaches and uses the brokers.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    /// `host:port,host:port`.
    pub brokers: String,
    /// Names this process to the brokers (logs, quotas).
    pub client_id: String,
    /// Partitions of a topic onrust creates.
    pub partitions: i32,
    /// Replication factor of a topic onrust creates.
    pub replication: i32,
    /// Create missing topics at start; off where topics are managed elsewhere
    /// (a platform team, ACLs that forbid creating them).
    pub create_topics: bool,
    /// `lz4` (default), `snappy`, `gzip` or `none`.
    pub compression: String,
    /// `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub security_protocol: String,
    /// CA bundle to verify the brokers' certificates with (default: the system's).
    pub ca_file: Option<PathBuf>,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub sasl_mechanism: Option<String>,
    pub sasl_username: Option<String>,
    /// The SASL password, read from a file (S9).
    pub sasl_password_file: Option<PathBuf>,
    /// Further librdkafka producer settings; none may weaken R2.
    pub producer: BTreeMap<String, String>,
    /// Further librdkafka consumer settings; none may store offsets automatically.
    pub consumer: BTreeMap<String, String>,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        Self {
            brokers: "localhost:9092".into(),
            client_id: "onrust".into(),
            partitions: 6,
            replication: 1,
            create_topics: true,
            compression: "lz4".into(),
            security_protocol: "plaintext".into(),
            ca_file: None,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password_file: None,
            producer: BTreeMap::new(),
            consumer: BTreeMap::new(),
        }
    }
}

/// Settings onrust sets itself and that extra settings may not change, with why.
pub(crate) const FIXED_PRODUCER: [(&str, &str, &str); 3] = [
    ("enable.idempotence", "true", "a retried send must not write a record twice (rule R2)"),
    ("acks", "all", "a record counts as written only when every in-sync replica has it (rule R2)"),
    ("max.in.flight.requests.per.connection", "5", "more breaks ordering under idempotence"),
];
pub(crate) const FIXED_CONSUMER: [(&str, &str, &str); 2] = [
    ("enable.auto.offset.store", "false", "an offset is stored only once the record's effect is durable"),
    ("group.id", "", "the consumer group is the stage's, not a setting"),
];
/// Why an extra librdkafka setting may not be given: onrust sets it itself,
/// from `[bus]` or on purpose, and an extra one would override it.
fn owned(key: &str) -> Option<&'static str> {
    match key {
        "enable.ssl.certificate.verification" | "ssl.endpoint.identification.algorithm" => {
            Some("certificate verification stays on (rule S10)")
        }
        k if k.contains("password") || k.contains("secret") => {
            Some("secrets come from files: use sasl_password_file (rule S9)")
        }
        "bootstrap.servers" | "metadata.broker.list" => Some("set by bus.brokers"),
        "security.protocol" => Some("set by bus.security_protocol"),
        "compression.type" | "compression.codec" => Some("set by bus.compression"),
        "request.required.acks" | "message.send.max.retries" | "retries" => {
            Some("onrust sets acks = \"all\" with idempotent retries itself (rule R2)")
        }
        "auto.offset.reset" | "enable.auto.commit" | "enable.partition.eof" | "group.instance.id" => {
            Some("onrust sets it: offsets are stored and committed only after the effect is durable (R1)")
        }
        // A client certificate for mutual TLS is the one TLS setting left to the operator.
        "ssl.certificate.location" | "ssl.key.location" => None,
        k if k.starts_with("ssl.") || k.starts_with("enable.ssl") => {
            Some("set by bus.ca_file; certificate verification stays on (rule S10)")
        }
        k if k.starts_with("sasl.") => Some("set by bus.sasl_mechanism, sasl_username and sasl_password_file"),
        _ => None,
    }
}

impl KafkaOptions {
    /// Every problem with these options, each naming its key (`producer.acks`).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.brokers.trim().is_empty() {
            out.push(("brokers".into(), "names no broker; give host:port,host:port".into()));
        }
        if !(1..=1000).contains(&self.partitions) {
            out.push(("partitions".into(), format!("{} is not between 1 and 1000", self.partitions)));
        }
        if !(1..=10).contains(&self.replication) {
            out.push(("replication".into(), format!("{} is not between 1 and 10", self.replication)));
        }
        if !["lz4", "snappy", "gzip", "none"].contains(&self.compression.as_str()) {
            out.push(("compression".into(), format!("{:?} is not lz4, snappy, gzip or none", self.compression)));
        }
        let protocols = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];
        if !protocols.contains(&self.security_protocol.as_str()) {
            out.push((
                "security_protocol".into(),
                format!("{:?} is not plaintext, ssl, sasl_plaintext or sasl_ssl", self.security_protocol),
            ));
        }
        let sasl = self.security_protocol.starts_with("sasl");
        if sasl && (self.sasl_mechanism.is_none() || self.sasl_username.is_none() || self.sasl_password_file.is_none())
        {
            out.push((
                "sasl_mechanism".into(),
                "a sasl protocol needs sasl_mechanism, sasl_username and sasl_password_file".into(),
            ));
        }
        if let Some(m) = &self.sasl_mechanism
            && !["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"].contains(&m.as_str())
        {
            out.push(("sasl_mechanism".into(), format!("{m:?} is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")));
        }
        if self.sasl_mechanism.as_deref() == Some("PLAIN") && self.security_protocol == "sasl_plaintext" {
            out.push((
                "security_protocol".into(),
                "PLAIN over sasl_plaintext sends the password in the clear; use sasl_ssl".into(),
            ));
        }
        for (section, extra, fixed) in
            [("producer", &self.producer, &FIXED_PRODUCER[..]), ("consumer", &self.consumer, &FIXED_CONSUMER[..])]
        {
            for (key, value) in extra {
                let key_name = format!("{section}.{key}");
                if let Some((_, wanted, why)) = fixed.iter().find(|(k, _, _)| k == key) {
                    let same = value.eq_ignore_ascii_case(wanted) || (*key == "acks" && value == "-1");
                    if !same {
                        out.push((key_name, format!("onrust sets {key} = {wanted:?} itself: {why}")));
                    }
                    continue;
                }
                if let Some(why) = owned(key) {
                    out.push((key_name, why.to_owned()));
                }
            }
        }
        out
    }
}
