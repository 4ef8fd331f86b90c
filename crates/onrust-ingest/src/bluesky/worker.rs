//! The worker loop: connect, read, batch and reconnect until shutdown.
//!
//! A connection that delivers no event for `idle_timeout` is treated as dead:
//! Jetstream is busy, so silence means a broken connection, not calm.
//!
//! **Health.** While connected and receiving, `PollSucceeded` is emitted
//! on the first event and then every few seconds (with the items
//! acknowledged since); a failed connection or a dropped one emits
//! `PollFailed` and backs off exponentially with full jitter between
//! `min_backoff` and `max_backoff` (reset after a healthy minute). Every
//! connection attempt is counted as a fetch (`FetchFinished`, outcome `ok`,
//! `blocked`, `timeout`, `http_error` or `connect_error`); the bytes
//! received on the socket are not counted.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use crate::internal_events::{FetchFinished, PollFailed, PollSucceeded};
use crate::source::{SourceContext, backoff, wait_for_shutdown};

use super::JetstreamSource;
use super::batch::{BatchAck, FlushEnd, Senders};
use super::connect::{JetstreamSocket, subscribe_url};
use super::select::primary_subtags;
use super::state::State;

/// How often the loop checks whether the cursor should be stored.
pub(super) const TICK: Duration = Duration::from_millis(250);

/// `PollSucceeded` is emitted at least this often while events arrive.
pub(super) const HEARTBEAT: Duration = Duration::from_secs(5);

/// A connection that delivered events this long resets the backoff.
pub(super) const HEALTHY_AFTER: Duration = Duration::from_secs(60);

/// Time allowed for the polite close of the socket.
pub(super) const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

impl JetstreamSource {
    /// Connects, reads and reconnects until shutdown or a closed channel.
    pub(super) async fn stream(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        senders: &Senders,
        acks: &mut mpsc::UnboundedReceiver<BatchAck>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        let languages = primary_subtags(&self.languages);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let resume = state.resume_from(self.rewind);
            let url = subscribe_url(&self.url, resume, self.max_message_bytes);
            let started = std::time::Instant::now();
            let connected = tokio::select! {
                connected = self.connect(ctx.fetcher.guard(), &url) => connected,
                () = wait_for_shutdown(shutdown) => return,
            };
            let outcome = match &connected {
                Ok(_) => "ok",
                Err(error) => error.outcome(),
            };
            let source = &self.settings;
            FetchFinished {
                source: &source.id,
                kind: source.kind,
                outcome,
                received_bytes: 0,
                duration: started.elapsed(),
            }
            .emit();
            let end = match connected {
                Err(error) => SessionEnd::Failed(error.to_string()),
                Ok(ws) => {
                    if let Some(read) = state.read_us {
                        self.report_gap(state, read);
                    }
                    self.session(ctx, state, senders, acks, shutdown, ws, &languages).await
                }
            };
            let delay = match end {
                SessionEnd::Stop => return,
                SessionEnd::NotAcked => {
                    // A downstream failure, not the source's: read again from the acknowledged cursor.
                    state.abandon_outstanding(&self.settings);
                    state.store(&self.settings, &ctx.cursors, true).await;
                    self.min_backoff
                }
                SessionEnd::Unrecorded(error) => self.unrecorded(ctx, state, &error).await,
                // What was read before the failure is complete: send it.
                SessionEnd::Failed(error) => match self.flush(state, senders, shutdown).await {
                    Err(FlushEnd::Stop) => return,
                    Err(FlushEnd::Unrecorded(unrecorded)) => self.unrecorded(ctx, state, &unrecorded).await,
                    Ok(()) => self.failed(state, &error),
                },
                SessionEnd::Oversized(error) => match self.flush(state, senders, shutdown).await {
                    Err(FlushEnd::Stop) => return,
                    Err(FlushEnd::Unrecorded(unrecorded)) => self.unrecorded(ctx, state, &unrecorded).await,
                    Ok(()) => self.skip_oversized(state, &error),
                },
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = wait_for_shutdown(shutdown) => return,
            }
        }
    }

    /// Reads one connection until it ends.
    #[expect(clippy::too_many_arguments, reason = "the loop's parts, borrowed separately")]
    pub(super) async fn session(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        senders: &Senders,
        acks: &mut mpsc::UnboundedReceiver<BatchAck>,
        shutdown: &mut watch::Receiver<bool>,
        mut ws: JetstreamSocket,
        languages: &[String],
    ) -> SessionEnd {
        let connected_at = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut idle_deadline = Instant::now() + self.idle_timeout;
        let mut was_reading = false;
        let mut first_event = true;
        let mut last_heartbeat = Instant::now();
        let end = loop {
            let reading = state.outstanding.len() < self.max_outstanding.max(1);
            if reading && !was_reading {
                idle_deadline = Instant::now() + self.idle_timeout;
            }
            was_reading = reading;
            let flush_at = state.pending.started.map(|started| started + self.batch_wait);
            let wake = tokio::select! {
                biased;
                () = wait_for_shutdown(shutdown) => Wake::Shutdown,
                ack = acks.recv() => ack.map_or(Wake::Tick, Wake::Ack),
                () = sleep_until_opt(flush_at), if reading && flush_at.is_some() => Wake::Flush,
                _ = tick.tick() => Wake::Tick,
                () = tokio::time::sleep_until(idle_deadline), if reading => Wake::Idle,
                frame = ws.next(), if reading => Wake::Frame(frame),
            };
            match wake {
                Wake::Shutdown => break SessionEnd::Stop,
                Wake::Ack(ack) => {
                    if !state.on_ack(ack) {
                        break SessionEnd::NotAcked;
                    }
                }
                Wake::Flush => match self.flush(state, senders, shutdown).await {
                    Ok(()) => {}
                    Err(FlushEnd::Stop) => break SessionEnd::Stop,
                    Err(FlushEnd::Unrecorded(error)) => break SessionEnd::Unrecorded(error),
                },
                Wake::Tick => {
                    state.store(&self.settings, &ctx.cursors, false).await;
                    if last_heartbeat.elapsed() >= HEARTBEAT {
                        last_heartbeat = Instant::now();
                        if state.received {
                            state.received = false;
                            self.succeeded(state);
                        }
                        state.emit_skipped(&self.settings);
                    }
                    if connected_at.elapsed() >= HEALTHY_AFTER && state.up == Some(true) {
                        state.failures = 0;
                    }
                }
                Wake::Idle => {
                    break SessionEnd::Failed(format!("no event for {} s", self.idle_timeout.as_secs()));
                }
                Wake::Frame(None) => break SessionEnd::Failed("the server closed the connection".into()),
                Wake::Frame(Some(Err(tungstenite::Error::Capacity(error)))) => {
                    break SessionEnd::Oversized(format!("reading the websocket failed: {error}"));
                }
                Wake::Frame(Some(Err(error))) => {
                    break SessionEnd::Failed(format!("reading the websocket failed: {error}"));
                }
                Wake::Frame(Some(Ok(message))) => {
                    let text = match message {
                        tungstenite::Message::Text(text) => text,
                        tungstenite::Message::Binary(_) => {
                            state.skipped.malformed += 1;
                            continue;
                        }
                        tungstenite::Message::Close(_) => {
                            break SessionEnd::Failed("the server closed the connection".into());
                        }
                        _ => continue,
                    };
                    idle_deadline = Instant::now() + self.idle_timeout;
                    state.received = true;
                    if first_event {
                        first_event = false;
                        self.succeeded(state);
                    }
                    if let Err(error) = self.handle_event(ctx, state, text.as_str(), languages) {
                        break SessionEnd::Failed(error);
                    }
                    if state.pending.len() >= self.max_batch.max(1) {
                        match self.flush(state, senders, shutdown).await {
                            Ok(()) => {}
                            Err(FlushEnd::Stop) => break SessionEnd::Stop,
                            Err(FlushEnd::Unrecorded(error)) => break SessionEnd::Unrecorded(error),
                        }
                    }
                }
            }
        };
        // Polite close; a dead peer must not hold up the reconnect.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(None)).await;
        end
    }

    /// The record of sent posts could not be written. Nothing goes out that it
    /// lacks (that post's deletion would be dropped): read again from the
    /// acknowledged cursor, after a backoff, once the disk takes writes again.
    pub(super) async fn unrecorded(&self, ctx: &SourceContext, state: &mut State, error: &str) -> Duration {
        state.abandon_outstanding(&self.settings);
        state.store(&self.settings, &ctx.cursors, true).await;
        self.failed(state, error)
    }

    pub(super) fn succeeded(&self, state: &mut State) {
        let source = &self.settings;
        let new_items = std::mem::take(&mut state.acked_items);
        PollSucceeded { source: &source.id, kind: source.kind, new_items, recovered: state.up == Some(false) }.emit();
        state.up = Some(true);
    }

    pub(super) fn failed(&self, state: &mut State, error: &str) -> Duration {
        let source = &self.settings;
        state.failures = state.failures.saturating_add(1);
        let backoff = backoff(self.min_backoff, source.max_backoff, state.failures);
        PollFailed { source: &source.id, error: &error, backoff, state_change: state.up != Some(false) }.emit();
        state.up = Some(false);
        backoff
    }
}

/// How one connection ended.
pub(super) enum SessionEnd {
    /// Shutdown, or a downstream channel closed.
    Stop,
    /// The record of sent posts could not be written.
    Unrecorded(String),
    /// A batch was not acknowledged.
    NotAcked,
    /// The connection failed or was lost.
    Failed(String),
    /// The socket refused an event over the size cap.
    Oversized(String),
}

/// What woke the session loop.
pub(super) enum Wake {
    Shutdown,
    Ack(BatchAck),
    Flush,
    Tick,
    Idle,
    Frame(Option<Result<tungstenite::Message, tungstenite::Error>>),
}

pub(super) async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
