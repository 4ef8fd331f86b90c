//! What the bus reports: each event logs and counts in one place.
//!
//! Labels are bounded sets only (docs/ARCHITECTURE.md, "Observability"): `stage` is a
//! consumer group, which is a stage's name.

pub const CONSUMER_LAG: &str = "onrust_bus_consumer_lag";
pub const SKIPPED_RECORDS: &str = "onrust_bus_skipped_records_total";

/// Registers descriptions of the bus's metrics.
pub fn describe_metrics() {
    metrics::describe_gauge!(
        CONSUMER_LAG,
        metrics::Unit::Count,
        "Kafka: records the stage's consumer group has not read yet, over its assigned partitions."
    );
    metrics::describe_counter!(
        SKIPPED_RECORDS,
        metrics::Unit::Count,
        "Kafka: records a partition was read past (retention removed them unread, or the broker skipped them)."
    );
}

/// A consumer group's lag was measured (Kafka).
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub struct ConsumerLag<'a> {
    pub stage: &'a str,
    /// Records not yet read over the consumer's assigned partitions.
    pub lag: i64,
}

#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
impl ConsumerLag<'_> {
    pub fn emit(&self) {
        tracing::trace!(stage = self.stage, lag = self.lag, "consumer lag");
        metrics::gauge!(CONSUMER_LAG, "stage" => self.stage.to_owned()).set(self.lag as f64);
    }
}

/// A partition was handed out from past the group's committed offset: the
/// records between were never delivered (Kafka).
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub struct RecordsSkipped<'a> {
    pub stage: &'a str,
    pub topic: &'a str,
    pub partition: i32,
    /// The group's committed offset: the first record not delivered.
    pub from: i64,
    /// The offset the reading started at.
    pub to: i64,
}

#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
impl RecordsSkipped<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            stage = self.stage,
            topic = self.topic,
            partition = self.partition,
            from = self.from,
            to = self.to,
            records = self.to - self.from,
            "records never handed out: the partition was read from past the group's committed offset \
             (removed by retention before they were read, or skipped by the broker); they are not processed"
        );
        metrics::counter!(SKIPPED_RECORDS, "stage" => self.stage.to_owned()).increment(self.to.abs_diff(self.from));
    }
}
