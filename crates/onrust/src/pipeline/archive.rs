//! scored → archive. Messages are upserted as they come and committed on a
//! timer or when enough wait, never one by one; each message is acknowledged
//! only after the commit that holds it returned (GUARDRAILS R1). A failed
//! commit (disk full, I/O error) stops the stage with an error, so the daemon
//! exits non-zero and nothing unacknowledged is counted as stored (R6).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use onrust_archive::ArchiveWriter;
use onrust_bus::{Ack, DeadLetter, Publisher, Record, Subscriber};
use onrust_model::{SCHEMA_VERSION, ScoredMessage};
use tokio::time::Instant;

use crate::internal_events::{ArchiveBatchCommitted, DeadLettered};

const BATCH: usize = 1024;

/// When to commit.
#[derive(Debug, Clone, Copy)]
pub struct CommitPolicy {
    pub interval: Duration,
    pub max_docs: usize,
}

/// Runs until the scored topic closes; then commits what is left and returns.
pub async fn run(
    mut input: Box<dyn Subscriber>,
    dead: Arc<dyn Publisher>,
    writer: ArchiveWriter,
    policy: CommitPolicy,
) -> anyhow::Result<()> {
    let writer = Arc::new(Mutex::new(writer));
    let mut pending: Vec<Ack> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut first_pending_at = Instant::now();
    loop {
        let batch = tokio::select! {
            batch = super::next_batch(input.as_mut(), BATCH) => batch,
            () = sleep_until(deadline) => {
                commit(&writer, &mut pending, first_pending_at).await?;
                deadline = None;
                continue;
            }
        };
        if batch.is_empty() {
            commit(&writer, &mut pending, first_pending_at).await?;
            return Ok(());
        }
        let mut docs = Vec::with_capacity(batch.len());
        for delivery in batch {
            let decoded = serde_json::from_slice::<ScoredMessage>(&delivery.payload)
                .map_err(|e| format!("not a scored message: {e}"))
                .and_then(|m| {
                    if m.schema == SCHEMA_VERSION {
                        Ok(m)
                    } else {
                        Err(format!("schema version {} is not {SCHEMA_VERSION}", m.schema))
                    }
                });
            match decoded {
                Ok(message) => docs.push((message, delivery.ack)),
                Err(reason) => {
                    DeadLettered { stage: "archive", reason: &reason, offset: delivery.origin.offset }.emit();
                    let letter = Record::json(delivery.key.clone(), &DeadLetter::of(&delivery, reason))?;
                    dead.publish(letter, delivery.ack).await.context("publishing dead letter")?;
                }
            }
        }
        let upserting = Arc::clone(&writer);
        let acks = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Ack>> {
            let mut writer = upserting.lock().map_err(|_| anyhow::anyhow!("archive writer lock poisoned"))?;
            let mut acks = Vec::with_capacity(docs.len());
            for (message, ack) in docs {
                writer.upsert(&message).with_context(|| format!("archiving message {}", message.message.id))?;
                acks.push(ack);
            }
            Ok(acks)
        })
        .await
        .context("archive thread failed")??;
        if pending.is_empty() && !acks.is_empty() {
            first_pending_at = Instant::now();
            deadline = Some(first_pending_at + policy.interval);
        }
        pending.extend(acks);
        if pending.len() >= policy.max_docs {
            commit(&writer, &mut pending, first_pending_at).await?;
            deadline = None;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn commit(writer: &Arc<Mutex<ArchiveWriter>>, pending: &mut Vec<Ack>, since: Instant) -> anyhow::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let writer = Arc::clone(writer);
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut writer = writer.lock().map_err(|_| anyhow::anyhow!("archive writer lock poisoned"))?;
        writer.commit().context("archive commit failed; stopping so that nothing unsaved is acknowledged")?;
        Ok(())
    })
    .await
    .context("archive thread failed")??;
    let documents = pending.len();
    for ack in pending.drain(..) {
        ack.ack();
    }
    ArchiveBatchCommitted { documents, oldest_wait: since.elapsed() }.emit();
    Ok(())
}
