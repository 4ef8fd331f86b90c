//! scored → archive. Messages are upserted as they come and committed on a
//! timer or when enough wait, never one by one; each message is acknowledged
//! only after the commit that holds it returned (GUARDRAILS R1). A failed
//! commit (disk full, I/O error) stops the stage with an error, so the daemon
//! exits non-zero and nothing unacknowledged is counted as stored (R6).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use onrust_archive::ArchiveWriter;
use onrust_bus::{Ack, Delivery, Publisher, Subscriber};
use onrust_model::ScoredMessage;
use tokio::time::Instant;

use crate::internal_events::ArchiveBatchCommitted;

const BATCH: usize = 1024;

/// What one batch of upserts left: acks for the next commit, and refusals for the dead letters.
type Upserted = (Vec<Ack>, Vec<(Delivery, String)>);

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
            () = crate::shutdown::sleep_until(deadline) => {
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
            match super::decode(&delivery.payload, "scored message", |m: &ScoredMessage| m.schema) {
                Ok(message) => docs.push((message, delivery)),
                Err(reason) => super::dead_letter("archive", dead.as_ref(), delivery, reason).await?,
            }
        }
        let upserting = Arc::clone(&writer);
        let (acks, refused) = tokio::task::spawn_blocking(move || -> anyhow::Result<Upserted> {
            let mut writer = upserting.lock().map_err(|_| anyhow::anyhow!("archive writer lock poisoned"))?;
            let mut acks = Vec::with_capacity(docs.len());
            let mut refused = Vec::new();
            for (message, delivery) in docs {
                // One document the index refuses is that document's dead letter;
                // a broken writer shows itself at the commit, which is fatal.
                match writer.upsert(&message) {
                    Ok(()) => acks.push(delivery.ack),
                    Err(e) => refused.push((delivery, format!("archive refused the document: {e}"))),
                }
            }
            Ok((acks, refused))
        })
        .await
        .context("archive thread failed")??;
        for (delivery, reason) in refused {
            super::dead_letter("archive", dead.as_ref(), delivery, reason).await?;
        }
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
