//! sources → raw. Every source runs as its own task and hands its messages,
//! with their acknowledgement handles, to one forwarder that publishes them
//! on `onrust.raw.v1` keyed by source id. When every source has stopped the
//! forwarder ends and drops its publisher, which closes the raw topic and
//! lets the rest of the pipeline drain.

use std::sync::Arc;

use anyhow::Context;
use onrust_bus::{Ack, Publisher, Record};
use onrust_model::RawMessage;
use tokio::sync::mpsc;

use crate::internal_events::StageProcessed;

/// Capacity of the hand-over from sources to the forwarder.
pub const HANDOVER: usize = 1024;

/// Publishes what sources hand over until every source has hung up.
pub async fn forward(
    mut from_sources: mpsc::Receiver<(RawMessage, Ack)>,
    raw: Arc<dyn Publisher>,
) -> anyhow::Result<()> {
    while let Some((message, ack)) = from_sources.recv().await {
        let record = Record::json(message.source.as_str(), &message)?;
        raw.publish(record, ack).await.context("publishing raw message")?;
        StageProcessed { stage: "ingest", outcome: "ok", count: 1 }.emit();
    }
    Ok(())
}
