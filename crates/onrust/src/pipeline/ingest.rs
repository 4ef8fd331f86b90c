//! sources → raw (and deletions). Every source runs as its own task and
//! hands its messages, with their acknowledgement handles, to one forwarder
//! that publishes them on `onrust.raw.v1` keyed by source id; what a source
//! reports deleted (a Bluesky delete) goes on `onrust.deletions.v1`, keyed
//! by source id too. When every source has stopped the forwarder ends and
//! drops its publishers, which closes the topics and lets the rest of the
//! pipeline drain.

use anyhow::Context;
use onrust_bus::{Ack, Record};
use onrust_model::{Deletion, RawMessage};
use tokio::sync::mpsc;

use crate::internal_events::StageProcessed;

/// Capacity of the hand-over from sources to the forwarder.
pub const HANDOVER: usize = 1024;

/// Publishes what sources hand over until every source has hung up.
pub async fn forward(
    mut messages: mpsc::Receiver<(RawMessage, Ack)>,
    mut deletions: mpsc::Receiver<(Deletion, Ack)>,
    intake: super::Intake,
) -> anyhow::Result<()> {
    let (mut messages_open, mut deletions_open) = (true, true);
    while messages_open || deletions_open {
        tokio::select! {
            next = messages.recv(), if messages_open => match next {
                Some((message, ack)) => {
                    let record = Record::json(message.source.as_str(), &message)?;
                    intake.raw.publish(record, ack).await.context("publishing raw message")?;
                    StageProcessed { stage: "ingest", outcome: "ok", count: 1 }.emit();
                }
                None => messages_open = false,
            },
            next = deletions.recv(), if deletions_open => match next {
                Some((deletion, ack)) => {
                    let record = Record::json(deletion.source.as_str(), &deletion)?;
                    intake.deletions.publish(record, ack).await.context("publishing deletion")?;
                    StageProcessed { stage: "ingest", outcome: "deletion", count: 1 }.emit();
                }
                None => deletions_open = false,
            },
        }
    }
    Ok(())
}
