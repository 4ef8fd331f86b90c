//! The stages as bus consumers, in the order of the flow:
//! [`ingest`] (sources → raw), [`classify`] (raw → scored), [`archive`]
//! (scored → tantivy). Each is a loop over a [`Subscriber`]; none knows which
//! bus backend it runs on.

pub mod archive;
pub mod classify;
pub mod ingest;

use futures_util::FutureExt;
use onrust_bus::{Delivery, Subscriber};

/// Waits for one delivery, then takes whatever else is already queued, up to
/// `max`. Batches amortise the hop to a blocking thread. Empty = topic closed.
pub async fn next_batch(input: &mut dyn Subscriber, max: usize) -> Vec<Delivery> {
    let Some(first) = input.recv().await else {
        return Vec::new();
    };
    let mut batch = vec![first];
    while batch.len() < max {
        match input.recv().now_or_never() {
            Some(Some(delivery)) => batch.push(delivery),
            _ => break,
        }
    }
    batch
}

/// A finished stage task: its name and how it ended.
pub type TaskResult = (&'static str, anyhow::Result<()>);

/// Wires classify and archive onto `bus` and spawns them into `tasks`;
/// returns the publisher for raw messages. Seal the bus after creating any
/// other publishers.
pub fn start_processing(
    bus: &onrust_bus::EmbeddedBus,
    tasks: &mut tokio::task::JoinSet<TaskResult>,
    classifier: std::sync::Arc<onrust_classify::Classifier>,
    writer: onrust_archive::ArchiveWriter,
    policy: archive::CommitPolicy,
) -> anyhow::Result<std::sync::Arc<dyn onrust_bus::Publisher>> {
    use onrust_bus::{Bus, Topic};
    let raw_in = bus.subscribe(Topic::Raw, "classify")?;
    let scored_in = bus.subscribe(Topic::Scored, "archive")?;
    let scored_out = bus.publisher(Topic::Scored)?;
    let dead = bus.publisher(Topic::DeadLetter)?;
    let raw_out = bus.publisher(Topic::Raw)?;
    let classify_dead = std::sync::Arc::clone(&dead);
    tasks.spawn(async move { ("classify", classify::run(raw_in, scored_out, classify_dead, classifier).await) });
    tasks.spawn(async move { ("archive", archive::run(scored_in, dead, writer, policy).await) });
    Ok(raw_out)
}
