//! The `Alert` every part of the crate shares: what the engine produces and
//! what a notifier receives.
//!
//! OWNED BY THE ENGINE BRANCH (`alert-engine`, src/alert.rs). This copy is
//! written exactly in the shape of the shared contract so the notifiers can be
//! built against it in parallel; the two are reconciled at merge, and the
//! engine's version wins where they differ.

use chrono::{DateTime, Utc};
use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};

/// The kind of rule that fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Threshold,
    Burst,
    Announcement,
    Critical,
}

/// How severe an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Pending,
    Firing,
    Resolved,
}

/// One alert instance, identified by its fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Hex SHA-256 of the identity labels; stable.
    pub fingerprint: String,
    /// Rule name.
    pub rule: String,
    /// Hash of the rule's config (changes when the rule does).
    pub rule_version: String,
    pub kind: RuleKind,
    pub severity: Severity,
    /// `None` is the whole region.
    pub municipality: Option<MunicipalityCode>,
    pub municipality_name: Option<String>,
    pub theme: Option<String>,
    pub status: AlertStatus,
    pub starts_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Announcements: when the action is.
    pub event_time: Option<DateTime<Utc>>,
    pub event_place: Option<String>,
    /// Messages in the window.
    pub observed: u64,
    /// Burst: the baseline.
    pub expected: Option<f64>,
    /// Burst: after correction for multiple testing.
    pub p_value: Option<f64>,
    pub threshold: Option<u64>,
    pub window_secs: u64,
    /// Dutch sentences: why, from rule + signals.
    pub reasons: Vec<String>,
    /// 3–5, never an author or pseudonym.
    pub evidence: Vec<Evidence>,
    /// 0..1.
    pub confidence: f32,
    /// L10: who confirmed, for mayor mail.
    pub reviewed_by: Option<String>,
    pub acknowledged_by: Option<String>,
    pub ack_comment: Option<String>,
}

/// One message that supports an alert, without any author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub message_id: String,
    pub source: String,
    pub url: Option<String>,
    pub title: Option<String>,
    /// At most 280 characters of the message text.
    pub excerpt: String,
    pub published_at: DateTime<Utc>,
    pub level: u8,
    pub score: f32,
    /// The explanation's signal names.
    pub signals: Vec<String>,
}
