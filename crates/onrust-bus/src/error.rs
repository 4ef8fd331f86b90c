/// What can go wrong on the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("topic {topic} is closed: the consuming stage has stopped")]
    Closed { topic: &'static str },
    #[error("topic {topic} has no consumer group; subscribe before publishing")]
    NoSubscribers { topic: &'static str },
    #[error("the bus is sealed: subscribe and create publishers before the stages start")]
    Sealed,
    #[error("group {group:?} already consumes {topic} in this process")]
    DuplicateGroup { topic: &'static str, group: String },
    #[error("group {group:?} subscribes to {topic} after a publisher was created; subscribe every group first")]
    LateSubscriber { topic: &'static str, group: String },
    #[error("cannot encode payload: {0}")]
    Encode(#[source] serde_json::Error),
    /// The Kafka options were refused before connecting; every problem, each
    /// with the key that caused it.
    #[cfg(feature = "kafka")]
    #[error("kafka: {0}")]
    InvalidKafkaOptions(String),
    /// The SASL password file could not be read.
    #[cfg(feature = "kafka")]
    #[error("kafka: cannot read sasl_password_file {}: {source}", path.display())]
    KafkaPasswordFile { path: std::path::PathBuf, source: std::io::Error },
    /// A topic could not be created.
    #[cfg(feature = "kafka")]
    #[error("kafka: cannot create topic {topic}: {code}")]
    KafkaTopic {
        topic: String,
        #[source]
        code: rdkafka::error::RDKafkaErrorCode,
    },
    /// librdkafka refused `what` (create a client, subscribe, publish, flush).
    #[cfg(feature = "kafka")]
    #[error("kafka: {what}: {source}")]
    Kafka { what: String, source: rdkafka::error::KafkaError },
    #[error("cannot write dead letter to {path}: {source}")]
    DeadLetterIo { path: String, source: std::io::Error },
}
