//! What did not arrive: the facts of a notification that failed for good,
//! as the notice to a supervisor renders them ([`crate::render::email::render_undelivered`])
//! and as a person sees them in the console and the CLI. The outbox in
//! `onrust-notify` makes them; they are plain data, so the console can show
//! them without depending on any delivery code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::recipient::{Channel, RecipientRole};

/// What did not arrive, for the notice about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The failed notification's fingerprint and sequence, as in the notification log.
    pub fingerprint: String,
    pub sequence: u64,
    pub channel: Channel,
    /// Whom it was for.
    pub role: RecipientRole,
    /// The mailbox, or a webhook's origin only (S9).
    pub recipient: String,
    /// The relay's reply code or the receiver's HTTP status, when there was one.
    pub code: Option<u16>,
    /// The relay's or receiver's answer, on one line.
    pub message: String,
    pub at: DateTime<Utc>,
}

/// A notification that failed for good, as a person sees it (`onrust alerts
/// resend`, the alerts API): to whom it was, what it carried, why it failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Undelivered {
    pub fingerprint: String,
    pub sequence: u64,
    pub rule: String,
    pub channel: Channel,
    pub role: RecipientRole,
    /// The mailbox, or for a webhook its origin only (S9).
    pub recipient: String,
    /// The alerts it carried.
    pub alerts: Vec<CarriedAlert>,
    pub failed_at: DateTime<Utc>,
    pub code: Option<u16>,
    pub message: Option<String>,
}

/// An alert a notification carried: enough to name it and to decide who may
/// act on it (its place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CarriedAlert {
    pub fingerprint: String,
    pub municipality: Option<onrust_model::MunicipalityCode>,
    pub unplaced: bool,
}
