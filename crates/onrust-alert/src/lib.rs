//! onrust-alert: from scored messages to the right person, in time, with reasons.
//!
//! The point of onrust is that the on-duty officer knows within seconds and
//! the mayor before the demonstration, with the evidence and the reasons in
//! the message itself. This crate is that decision — a pure library — and how
//! it reads; carrying it out (SMTP, webhooks, the outbox and the notification
//! log) is `onrust-notify`'s:
//!
//! * [`rule`]: the `[[rules]]` of `onrust.toml`, strict, validated in one pass
//!   that lists every problem, each rule versioned by a hash of its config;
//! * [`engine`]: per-minute windows over municipality × theme × level, the
//!   four rule kinds (`threshold`, `burst`, `announcement`, `critical`), and
//!   each alert's life (pending → firing → resolved), with Dutch reasons and
//!   representative evidence that never carries an author (rules L1, L9);
//! * [`baseline`]: the count model for bursts, made for small numbers
//!   (Gamma–Poisson), with a seasonal reference for the jaarwisseling and
//!   Benjamini–Hochberg over all cells tested at once;
//! * [`calendar`]: announced actions, one entry per action however often it
//!   is announced, with its lead time;
//! * [`mechanics`]: when a notification is due and for which role — grouping,
//!   silences, inhibition, acknowledgement, escalation and the review gate
//!   before anything reaches a mayor (L10);
//! * [`round`]: one evaluation round, the same in the daemon's alert stage
//!   and in `onrust backtest`;
//! * [`alert`]: the [`Alert`] every notifier receives;
//! * [`recipient`]: the recipient roles and the channels;
//! * [`render`]: the Dutch email (plain text and an escaped HTML twin), Atom
//!   and ICS, as text;
//! * [`undelivered`]: what did not arrive, as the notice and the console show it.
//!
//! # Why pure
//!
//! Nothing here reads a clock, a file or a socket: time is always passed in
//! as `now`. That makes every decision reproducible — a test advances `now`
//! by hand, `onrust backtest` replays a month in seconds through exactly the
//! code the daemon runs, and an alert can be explained after the fact. The
//! daemon owns the I/O: it feeds [`Engine::observe`] from the scored topic,
//! calls [`Engine::evaluate`] and [`Mechanics::tick`] periodically,
//! implements [`BaselineSource`] over the archive's counts, persists
//! [`AlertState`] atomically before acknowledging offsets, and hands the
//! [`Notification`]s to the notifiers.
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use onrust_alert::{Engine, Mechanics, NoBaseline, RuleConfig, RuleKind, validate};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = RuleConfig {
//!     name: "oproep-tot-geweld".into(),
//!     kind: Some(RuleKind::Critical),
//!     min_level: Some(3),
//!     ..RuleConfig::default()
//! };
//! let rules = validate(&[config]).map_err(|problems| format!("{problems:?}"))?;
//! let mut engine = Engine::new(rules.clone());
//! let mut mechanics = Mechanics::new(&rules);
//! let now = Utc.with_ymd_and_hms(2026, 12, 31, 22, 0, 0).single().ok_or("time")?;
//! // For every scored message from the bus: `engine.observe(&message, now)`.
//! // Periodically:
//! let transitions = engine.evaluate(now, &NoBaseline);
//! mechanics.apply(&transitions, now);
//! for notification in mechanics.tick(now + TimeDelta::seconds(30)) {
//!     // resolve recipients for notification.recipients_role and .municipality, then send
//!     let _ = notification;
//! }
//! # Ok(())
//! # }
//! ```

pub mod alert;
pub mod baseline;
pub mod calendar;
pub mod engine;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod mechanics;
pub mod recipient;
pub mod render;
pub mod round;
pub mod rule;
pub mod undelivered;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use alert::{
    Alert, AlertStatus, Decision, DecisionKind, EXCERPT_MAX_CHARS, Evidence, RuleKind, SHORT_ID_CHARS, Severity,
    UNPLACED_LABEL, WITHDRAWN_EXCERPT, excerpt, fingerprint, representative, unique_short_id, withdraw_evidence,
};
pub use baseline::{BaselineSource, CountCell, NoBaseline, Season};
pub use calendar::{Calendar, CalendarEntry};
pub use engine::{Engine, EngineError, EngineState, Transition, TransitionKind};
pub use mechanics::{
    Matcher, Mechanics, MechanicsError, MechanicsState, Notification, NotifyReason, ReviewDecision, ReviewRecord, Role,
    Silence, SilenceRequest,
};
pub use recipient::{Channel, RecipientRole};
pub use round::{Round, RoundOutcome};
pub use rule::{Label, Rule, RuleConfig, RuleProblem, Scope, validate};
pub use undelivered::{CarriedAlert, Failure, Undelivered};

/// Version of [`AlertEvent`] on the bus.
pub const ALERT_EVENT_SCHEMA: u32 = 1;

/// An alert's change as the alert stage publishes it on `onrust.alerts.v1`
/// (key: the fingerprint, docs/ARCHITECTURE.md "Topics"): fired, updated, de-escalated. Delivery
/// is at least once, so a consumer keeps the newest `alert.updated_at` per
/// fingerprint and drops what it has already seen. The alert carries its
/// reasons and evidence, never an author (L1, L2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub schema: u32,
    pub kind: TransitionKind,
    pub alert: Alert,
}

impl AlertEvent {
    /// The event for a transition worth telling others: not a pending one.
    pub fn of(transition: &Transition) -> Option<Self> {
        (transition.kind != TransitionKind::Pending).then(|| Self {
            schema: ALERT_EVENT_SCHEMA,
            kind: transition.kind,
            alert: transition.alert.clone(),
        })
    }
}

/// Version of the persisted [`AlertState`] envelope.
pub const STATE_SCHEMA_VERSION: u32 = 1;

/// Everything the daemon persists for alerting (windows, active alerts,
/// calendar, silences, acknowledgements, pending reviews), with a schema
/// version so an incompatible file is refused rather than misread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub schema: u32,
    pub engine: EngineState,
    pub mechanics: MechanicsState,
}

/// Why a persisted state cannot be restored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error("alert state has schema version {found}, this onrust reads version {expected}")]
    Schema { found: u32, expected: u32 },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Mechanics(#[from] MechanicsError),
}

impl AlertState {
    /// Captures the state of an engine and its mechanics.
    pub fn capture(engine: &Engine, mechanics: &Mechanics) -> Self {
        Self { schema: STATE_SCHEMA_VERSION, engine: engine.snapshot(), mechanics: mechanics.snapshot() }
    }

    /// Restores an engine and its mechanics for the current rules.
    pub fn restore(self, rules: Vec<Rule>) -> Result<(Engine, Mechanics), StateError> {
        if self.schema != STATE_SCHEMA_VERSION {
            return Err(StateError::Schema { found: self.schema, expected: STATE_SCHEMA_VERSION });
        }
        let mechanics = Mechanics::restore(&rules, self.mechanics)?;
        let engine = Engine::restore(rules, self.engine)?;
        Ok((engine, mechanics))
    }
}
