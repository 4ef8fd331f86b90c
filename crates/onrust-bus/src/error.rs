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
    Encode(String),
    #[error("kafka: {0}")]
    Kafka(String),
    #[error("cannot write dead letter to {path}: {source}")]
    DeadLetterIo { path: String, source: std::io::Error },
}
