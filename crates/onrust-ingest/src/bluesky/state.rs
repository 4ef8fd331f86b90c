//! What the source knows across connections: the read, acknowledged and
//! stored positions, and the batches between them.
//!
//! The cursor (`positions["time_us"]`) is the acknowledged position: it moves
//! only when the oldest outstanding batch is acknowledged, and is stored at
//! most about once a second, so a restart reads again what was not yet
//! acknowledged (R1) without a write per batch.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::cursor::SourceCursor;
use crate::internal_events::{BatchNotAcked, CursorProblem};
use crate::source::{SourceContext, SourceSettings, load_cursor, store_cursor};

use super::batch::{Batch, BatchAck, Pending};
use super::recent::RecentKeys;
use super::resume::Skip;
use super::select::Skipped;
use super::sent::SentIds;
use super::{CURSOR_POSITION, JetstreamSource};

/// The cursor is written at most this often while streaming.
pub(super) const STORE_EVERY: Duration = Duration::from_secs(1);

/// What the source knows across connections.
pub(super) struct State {
    /// The stored cursor (validators etc. untouched), to write positions into.
    pub(super) cursor: SourceCursor,
    /// What the file holds.
    pub(super) stored_us: Option<i64>,
    /// Every event up to here is acknowledged or needed no acknowledgement.
    pub(super) acked_us: Option<i64>,
    /// Every event up to here was read and sent or left out: where a reconnect resumes.
    pub(super) read_us: Option<i64>,
    pub(super) last_store: Option<Instant>,
    pub(super) pending: Pending,
    pub(super) outstanding: VecDeque<Batch>,
    pub(super) next_seq: u64,
    pub(super) recent: RecentKeys,
    pub(super) skipped: Skipped,
    /// Items acknowledged since the last `PollSucceeded`.
    pub(super) acked_items: usize,
    /// An event arrived since the last heartbeat.
    pub(super) received: bool,
    pub(super) up: Option<bool>,
    pub(super) failures: u32,
    pub(super) gap_reported_for: Option<i64>,
    /// Message ids sent downstream, durably: only their deletions are forwarded.
    pub(super) sent: SentIds,
    /// The latest skip past an oversized event.
    pub(super) skip: Option<Skip>,
}

impl State {
    pub(super) fn load(source: &JetstreamSource, ctx: &SourceContext, sent: SentIds) -> Self {
        let id = &source.settings.id;
        let cursor = load_cursor(id, &ctx.cursors);
        let stored_us = match cursor.positions.get(CURSOR_POSITION) {
            None => None,
            Some(value) => match value.parse::<i64>() {
                Ok(time_us) if time_us > 0 => Some(time_us),
                _ => {
                    CursorProblem {
                        source: id,
                        error: &"the stored time_us is not a positive integer",
                        action: "starting live",
                    }
                    .emit();
                    None
                }
            },
        };
        Self {
            cursor,
            stored_us,
            acked_us: stored_us,
            read_us: stored_us,
            last_store: None,
            pending: Pending::default(),
            outstanding: VecDeque::new(),
            next_seq: 0,
            recent: RecentKeys::new(source.max_recent),
            skipped: Skipped::default(),
            acked_items: 0,
            received: false,
            up: None,
            failures: 0,
            gap_reported_for: None,
            sent,
            skip: None,
        }
    }

    /// Without a cursor, the first event read marks where the stream
    /// starts: everything before it was never wanted, so a failed first
    /// batch is read again from here rather than from "live".
    pub(super) fn start_at(&mut self, time_us: i64) {
        if self.acked_us.is_none() {
            self.acked_us = Some(time_us.saturating_sub(1));
        }
    }

    /// An event at `time_us` was read and handled (sent, pending, or left out).
    pub(super) fn advance(&mut self, time_us: i64) {
        self.read_us = Some(self.read_us.map_or(time_us, |read| read.max(time_us)));
        let newest = |current: Option<i64>| Some(current.map_or(time_us, |t| t.max(time_us)));
        if !self.pending.is_empty() {
            self.pending.time_us = newest(self.pending.time_us);
        } else if let Some(tail) = self.outstanding.back_mut() {
            tail.time_us = newest(tail.time_us);
        } else {
            self.acked_us = newest(self.acked_us);
        }
    }

    /// Records an acknowledgement; `false` when a current batch failed.
    pub(super) fn on_ack(&mut self, ack: BatchAck) -> bool {
        let Some(batch) = self.outstanding.iter_mut().find(|batch| batch.seq == ack.seq) else {
            // A batch abandoned after an earlier failure.
            return true;
        };
        if !ack.ok {
            return false;
        }
        batch.acked = true;
        while self.outstanding.front().is_some_and(|batch| batch.acked) {
            if let Some(done) = self.outstanding.pop_front() {
                self.acked_items += done.items;
                if let Some(time_us) = done.time_us {
                    self.acked_us = Some(self.acked_us.map_or(time_us, |acked| acked.max(time_us)));
                }
            }
        }
        true
    }

    /// Forgets every batch in flight and the pending one, so they are read and sent again.
    pub(super) fn abandon_outstanding(&mut self, settings: &SourceSettings) {
        let items: usize = self.outstanding.iter().map(|batch| batch.items).sum();
        BatchNotAcked { source: &settings.id, items }.emit();
        for batch in std::mem::take(&mut self.outstanding) {
            for key in batch.keys {
                self.recent.remove(key);
            }
        }
        self.discard_pending();
        self.read_us = self.acked_us;
    }

    pub(super) fn discard_pending(&mut self) {
        for key in std::mem::take(&mut self.pending).keys {
            self.recent.remove(key);
        }
    }

    /// Stores the acknowledged position if it changed (at most once per
    /// [`STORE_EVERY`] unless `force`).
    pub(super) async fn store(
        &mut self,
        settings: &SourceSettings,
        store: &Arc<crate::cursor::CursorStore>,
        force: bool,
    ) {
        let Some(acked) = self.acked_us else { return };
        if self.stored_us == Some(acked) || (!force && self.last_store.is_some_and(|at| at.elapsed() < STORE_EVERY)) {
            return;
        }
        let mut cursor = self.cursor.clone();
        cursor.url = Some(settings.identity.clone());
        cursor.positions.insert(CURSOR_POSITION.to_owned(), acked.to_string());
        self.last_store = Some(Instant::now());
        if store_cursor(&settings.id, store, &cursor).await {
            self.cursor = cursor;
            self.stored_us = Some(acked);
        }
    }
}
