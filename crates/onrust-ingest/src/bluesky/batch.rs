//! Batches and their acknowledgements: at-least-once delivery (R1).
//!
//! Events are read continuously and sent downstream in batches (up to
//! `max_batch`, or after `batch_wait`), each batch under one parent [`Ack`]
//! split over its items. A FIFO keeps the outstanding batches, each with the
//! newest `time_us` it covers, including events read after it that needed no
//! acknowledgement (filtered or ignored ones). The cursor moves only when the
//! oldest outstanding batch is acknowledged (see `state`). A batch
//! that fails (an item dropped) abandons every outstanding batch and
//! reconnects from the acknowledged cursor: events are read again, and sinks
//! are idempotent by id. At most `max_outstanding` batches are in flight;
//! beyond that the socket is not read, so backpressure reaches Jetstream and
//! memory stays bounded.

use onrust_model::{Ack, Deletion, RawMessage};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::internal_events::BatchNotAcked;
use crate::source::{SourceContext, wait_for_shutdown};

use super::JetstreamSource;
use super::state::State;

impl JetstreamSource {
    /// Sends the pending batch under one parent acknowledgement, once the
    /// record of sent posts holds its posts; `Err` when shutdown was requested
    /// or a downstream channel is closed, or when the record could not be
    /// written (the batch is then dropped, to be read again).
    pub(super) async fn flush(
        &self,
        state: &mut State,
        senders: &Senders,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), FlushEnd> {
        state.emit_skipped(&self.settings);
        if state.pending.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.save_sent(state).await {
            state.discard_pending();
            return Err(FlushEnd::Unrecorded(error));
        }
        let pending = std::mem::take(&mut state.pending);
        let seq = state.next_seq;
        state.next_seq += 1;
        let items = pending.items.len();
        let acks = senders.acks.clone();
        let parent = Ack::new(move |ok| {
            let _ = acks.send(BatchAck { seq, ok });
        });
        state.outstanding.push_back(Batch { seq, time_us: pending.time_us, items, keys: pending.keys, acked: false });
        for (item, ack) in pending.items.into_iter().zip(parent.split(items)) {
            let sent = tokio::select! {
                sent = async {
                    match item {
                        Item::Message(message) => senders.out.send((*message, ack)).await.is_ok(),
                        Item::Deletion(deletion) => senders.deletions.send((deletion, ack)).await.is_ok(),
                    }
                } => sent,
                () = wait_for_shutdown(shutdown) => false,
            };
            if !sent {
                return Err(FlushEnd::Stop);
            }
        }
        Ok(())
    }

    /// Waits up to the shutdown grace for outstanding acknowledgements and
    /// stores the cursor they allow.
    pub(super) async fn drain(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        acks: &mut mpsc::UnboundedReceiver<BatchAck>,
    ) {
        state.discard_pending();
        let deadline = Instant::now() + self.settings.shutdown_grace;
        while !state.outstanding.is_empty() {
            match tokio::time::timeout_at(deadline, acks.recv()).await {
                Ok(Some(ack)) => {
                    if !state.on_ack(ack) {
                        break;
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
        let items: usize = state.outstanding.iter().map(|batch| batch.items).sum();
        if items > 0 {
            BatchNotAcked { source: &self.settings.id, items }.emit();
        }
        state.store(&self.settings, &ctx.cursors, true).await;
        state.emit_skipped(&self.settings);
    }
}

/// Why a batch was not sent.
pub(super) enum FlushEnd {
    /// Shutdown, or a downstream channel closed.
    Stop,
    /// The record of sent posts could not be written; the batch was dropped.
    Unrecorded(String),
}

/// The channels a batch goes out on, and where its acknowledgement comes back.
pub(super) struct Senders {
    pub(super) out: mpsc::Sender<(RawMessage, Ack)>,
    pub(super) deletions: mpsc::Sender<(Deletion, Ack)>,
    pub(super) acks: mpsc::UnboundedSender<BatchAck>,
}

pub(super) enum Item {
    Message(Box<RawMessage>),
    Deletion(Deletion),
}

/// Items read and not yet sent.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) items: Vec<Item>,
    pub(super) keys: Vec<u64>,
    /// The newest event this batch covers.
    pub(super) time_us: Option<i64>,
    /// When its first item was added.
    pub(super) started: Option<Instant>,
}

impl Pending {
    pub(super) fn push(&mut self, item: Item, key: u64) {
        if self.items.is_empty() {
            self.started = Some(Instant::now());
        }
        self.items.push(item);
        self.keys.push(key);
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A batch's acknowledgement, as it comes back from the pipeline.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchAck {
    /// The batch's sequence number.
    pub(super) seq: u64,
    /// Every item went through; `false` when one was dropped.
    pub(super) ok: bool,
}

/// A batch sent and not yet acknowledged (or acknowledged out of order).
pub(super) struct Batch {
    pub(super) seq: u64,
    /// The newest event covered: its items and the events after them that needed no acknowledgement.
    pub(super) time_us: Option<i64>,
    pub(super) items: usize,
    pub(super) keys: Vec<u64>,
    pub(super) acked: bool,
}
