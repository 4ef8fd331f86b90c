//! Where a (re)connection starts: the rewind, the backlog, and the skip past
//! an oversized event.
//!
//! **Resume.** A (re)connection with a cursor asks for `cursor − rewind`
//! (Jetstream's clock is per instance, and events can arrive slightly out of
//! order), and drops events already sent in this process (see
//! `recent`). After a restart the rewound events are sent again
//! with the same ids. Jetstream keeps about a day of events: a cursor older
//! than `backlog` means events were lost, which is reported once as a
//! coverage gap (R10) and then read from what is kept.
//!
//! **Oversized events.** The subscription asks Jetstream to drop events over
//! `max_message_bytes` (`maxMessageSizeBytes`). Should one arrive anyway, the
//! socket fails it before it is read, so its `time_us` is unknown, and a
//! resume before it would meet it again until Jetstream forgets it (a day).
//! The source therefore resumes just past the last event it read (`+1 µs`,
//! without the rewind, and no later resume rewinds below that point) and
//! reports a coverage gap (`oversized`) for the skipped span. If the same
//! failure comes back with nothing read in between, the skip grows (doubled
//! each time, at most `rewind` + 1 s per step) and each further span is
//! reported too. The tradeoff: events sharing the skipped microseconds are
//! lost with the oversized one, which is what the gap says; a stream held up
//! for a day would lose far more. While the skip is still growing the
//! reconnect waits only `min_backoff`; at its cap it counts as a failure and
//! backs off.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::internal_events::CoverageGap;

use super::JetstreamSource;
use super::state::State;

impl JetstreamSource {
    /// Moves the read position past an event the socket refused as too large,
    /// reports the skipped span, and returns the wait before reconnecting.
    pub(super) fn skip_oversized(&self, state: &mut State, error: &str) -> Duration {
        let cap = micros(self.rewind).saturating_add(1_000_000);
        let limit = self.max_message_bytes;
        let detail = match state.skip_oversized(cap) {
            OversizedSkip::Live => {
                format!("an event over {limit} bytes was refused before any event was read; reconnecting live")
            }
            // This span was reported already: a rewind came back before it.
            OversizedSkip::Known { .. } => return self.min_backoff,
            OversizedSkip::Skipped { from, to } => format!(
                "an event over {limit} bytes was refused; resuming at time_us {to}, events not read from {from} on are lost"
            ),
        };
        CoverageGap { source: &self.settings.id, kind: self.settings.kind, reason: "oversized", detail: &detail }
            .emit();
        match state.skip {
            Some(skip) if skip.step < cap => self.min_backoff,
            // Skipping as far as it goes and still refused (or no position): a failure, backed off.
            _ => self.failed(state, error),
        }
    }

    /// Reports a resume past the backlog, once per cursor.
    pub(super) fn report_gap(&self, state: &mut State, cursor_us: i64) {
        if state.gap_reported_for == Some(cursor_us) {
            return;
        }
        if let Some(age) = backlog_gap(cursor_us, Utc::now(), self.backlog) {
            state.gap_reported_for = Some(cursor_us);
            let detail = format!(
                "resumed {} h after the last event; Jetstream keeps about {} h",
                age.as_secs() / 3600,
                self.backlog.as_secs() / 3600
            );
            CoverageGap {
                source: &self.settings.id,
                kind: self.settings.kind,
                reason: "backlog_exceeded",
                detail: &detail,
            }
            .emit();
        }
    }
}

impl State {
    /// Where a (re)connection starts: see [`resume_point`].
    pub(super) fn resume_from(&self, rewind: Duration) -> Option<i64> {
        resume_point(self.read_us, self.skip, rewind)
    }

    /// Moves the read position past an event the socket refused: see [`skip_past`].
    pub(super) fn skip_oversized(&mut self, cap: i64) -> OversizedSkip {
        let (outcome, skip) = skip_past(self.read_us, self.skip, cap);
        self.skip = skip;
        if let OversizedSkip::Known { to } | OversizedSkip::Skipped { to, .. } = outcome {
            self.read_us = Some(to);
        }
        outcome
    }
}

/// A skip past an event too large to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Skip {
    /// Where reading resumes: no resume rewinds below it once read has reached it.
    pub(super) to: i64,
    /// How far the last skip went, in µs.
    pub(super) step: i64,
}

/// What an oversized event did to the read position.
#[derive(Debug, PartialEq)]
pub(super) enum OversizedSkip {
    /// Nothing was read yet: no position to move, the reconnect is live.
    Live,
    /// The position was before a skip already made: it moves there again, no new span.
    Known { to: i64 },
    /// Reading resumes at `to`: events in `from..to` (µs) not read yet are lost.
    Skipped { from: i64, to: i64 },
}

/// How far `cursor_us` lies behind `now` if that is more than `backlog`:
/// the events in between are gone from Jetstream.
pub(crate) fn backlog_gap(cursor_us: i64, now: DateTime<Utc>, backlog: Duration) -> Option<Duration> {
    let age_us = now.timestamp_micros().saturating_sub(cursor_us);
    let age = Duration::from_micros(u64::try_from(age_us).ok()?);
    (age > backlog).then_some(age)
}

/// Where a (re)connection starts: `rewind` before the read position, but
/// never back onto an oversized event skipped since (once reading has
/// reached the skip; a resume from before it, after a failed batch, rewinds
/// as usual and meets the skip again).
pub(super) fn resume_point(read_us: Option<i64>, skip: Option<Skip>, rewind: Duration) -> Option<i64> {
    let read = read_us?;
    let rewound = read.saturating_sub(micros(rewind)).max(0);
    Some(match skip {
        Some(skip) if read >= skip.to => rewound.max(skip.to),
        _ => rewound,
    })
}

/// The skip past an event the socket refused, read up to `read_us`: 1 µs
/// past the last event read; when that fails again with nothing read in
/// between, twice the last step (at most `cap`) further; when the position
/// is before a skip already made (a rewind came back), that skip again.
pub(super) fn skip_past(read_us: Option<i64>, last: Option<Skip>, cap: i64) -> (OversizedSkip, Option<Skip>) {
    let Some(read) = read_us else { return (OversizedSkip::Live, last) };
    let skip = match last {
        Some(skip) if read < skip.to => return (OversizedSkip::Known { to: skip.to }, last),
        Some(skip) if read == skip.to => {
            let step = skip.step.saturating_mul(2).clamp(1, cap.max(1));
            Skip { to: skip.to.saturating_add(step), step }
        }
        _ => Skip { to: read.saturating_add(1), step: 1 },
    };
    (OversizedSkip::Skipped { from: read, to: skip.to }, Some(skip))
}

pub(super) fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
