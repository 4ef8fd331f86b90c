//! What the bus reports: each event logs and counts in one place.
//!
//! Labels are bounded sets only (DESIGN.md, "Observability"): `stage` is a
//! consumer group, which is a stage's name.

/// A consumer group's lag was measured (Kafka).
pub struct ConsumerLag<'a> {
    pub stage: &'a str,
    /// Records not yet read over the consumer's assigned partitions.
    pub lag: i64,
}

impl ConsumerLag<'_> {
    pub fn emit(&self) {
        tracing::trace!(stage = self.stage, lag = self.lag, "consumer lag");
        metrics::gauge!("onrust_bus_consumer_lag", "stage" => self.stage.to_owned()).set(self.lag as f64);
    }
}
