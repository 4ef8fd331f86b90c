//! What the wiring reports: each event logs and counts in one place.
//!
//! Labels are bounded sets only (DESIGN.md, "Observability"): `stage`,
//! `outcome`, `theme`, `level`. Never an id, a URL, a query or an author.

use std::time::Duration;

use metrics::{counter, gauge, histogram};

/// A stage handled messages.
pub struct StageProcessed {
    pub stage: &'static str,
    pub outcome: &'static str,
    pub count: u64,
}

impl StageProcessed {
    pub fn emit(&self) {
        tracing::trace!(stage = self.stage, outcome = self.outcome, count = self.count, "stage processed");
        counter!("onrust_stage_messages_total", "stage" => self.stage, "outcome" => self.outcome).increment(self.count);
    }
}

/// A message could not be processed and went to the dead letters (GUARDRAILS R4).
pub struct DeadLettered<'a> {
    pub stage: &'static str,
    pub reason: &'a str,
    pub offset: i64,
}

impl DeadLettered<'_> {
    pub fn emit(&self) {
        tracing::warn!(stage = self.stage, offset = self.offset, reason = self.reason, "message sent to dead letters");
        counter!("onrust_stage_messages_total", "stage" => self.stage, "outcome" => "dead_letter").increment(1);
    }
}

/// The classifier assessed a message.
pub struct Classified<'a> {
    pub level: u8,
    pub themes: &'a [String],
}

impl Classified<'_> {
    pub fn emit(&self) {
        counter!("onrust_classified_messages_total", "level" => level_label(self.level)).increment(1);
        for theme in self.themes {
            counter!("onrust_classified_theme_messages_total", "theme" => theme.clone()).increment(1);
        }
    }
}

fn level_label(level: u8) -> &'static str {
    match level {
        0 => "0",
        1 => "1",
        2 => "2",
        _ => "3",
    }
}

/// The archive made a batch searchable.
pub struct ArchiveBatchCommitted {
    pub documents: usize,
    pub oldest_wait: Duration,
}

impl ArchiveBatchCommitted {
    pub fn emit(&self) {
        tracing::debug!(
            documents = self.documents,
            oldest_wait_ms = self.oldest_wait.as_millis() as u64,
            "archive batch searchable"
        );
        counter!("onrust_stage_messages_total", "stage" => "archive", "outcome" => "ok")
            .increment(self.documents as u64);
        histogram!("onrust_stage_latency_seconds", "stage" => "archive").record(self.oldest_wait.as_secs_f64());
    }
}

/// The archive stage resumed from the positions in its last commit (R3).
pub struct ArchiveResumed {
    pub partitions: usize,
}

impl ArchiveResumed {
    pub fn emit(&self) {
        tracing::info!(partitions = self.partitions, "archive resumes from the positions of its last commit");
    }
}

/// How many records wait on a topic for a stage.
pub struct QueueDepth {
    pub stage: String,
    pub depth: usize,
}

impl QueueDepth {
    pub fn emit(&self) {
        gauge!("onrust_bus_queue_depth", "stage" => self.stage.clone()).set(self.depth as f64);
    }
}

/// The daemon's readiness changed.
pub struct Readiness {
    pub ready: bool,
}

impl Readiness {
    pub fn emit(&self) {
        tracing::info!(ready = self.ready, "readiness changed");
        gauge!("onrust_ready").set(if self.ready { 1.0 } else { 0.0 });
    }
}

/// Old pseudonym keys were deleted (or could not be).
pub struct KeysPurged {
    pub removed: usize,
    pub error: Option<String>,
}

impl KeysPurged {
    pub fn emit(&self) {
        match &self.error {
            None if self.removed > 0 => tracing::info!(removed = self.removed, "old pseudonym keys deleted"),
            None => {}
            Some(error) => tracing::error!(error = %error, "old pseudonym keys could not be deleted"),
        }
        let outcome = if self.error.is_some() { "error" } else { "ok" };
        counter!("onrust_pseudonym_key_purges_total", "outcome" => outcome).increment(1);
    }
}

/// One round of the alert stage: evaluated (or only ticked after an alert
/// fired on arrival), notifications made and queued, messages acknowledged.
pub struct AlertCycle {
    pub evaluated: bool,
    pub notifications: usize,
    pub queued: usize,
    pub acknowledged: usize,
    pub took: Duration,
}

impl AlertCycle {
    pub fn emit(&self) {
        tracing::debug!(
            evaluated = self.evaluated,
            notifications = self.notifications,
            queued = self.queued,
            acknowledged = self.acknowledged,
            took_ms = self.took.as_millis() as u64,
            "alert cycle"
        );
        histogram!("onrust_alert_cycle_seconds", "stage" => "alert").record(self.took.as_secs_f64());
    }
}

/// A notification was put in the outbox for one recipient.
pub struct AlertNotificationQueued<'a> {
    pub rule: &'a str,
    pub role: &'static str,
    pub reason: onrust_alert::NotifyReason,
}

impl AlertNotificationQueued<'_> {
    pub fn emit(&self) {
        tracing::info!(rule = self.rule, role = self.role, reason = ?self.reason, "alert notification queued");
        let rule = self.rule.to_owned();
        counter!("onrust_alert_notifications_total", "rule" => rule, "channel" => "email", "outcome" => "queued")
            .increment(1);
    }
}

/// Alerts are kept but nothing will be mailed (no relay or no recipients); logged once at start.
pub struct AlertsNotMailed {
    pub smtp: bool,
    pub recipients: usize,
}

impl AlertsNotMailed {
    pub fn emit(&self) {
        tracing::warn!(
            smtp = self.smtp,
            recipients = self.recipients,
            "alerts are kept but nothing will be mailed: configure [smtp] and [[recipients]]"
        );
    }
}

/// An alert lacks a field its explanation needs, so it is not sent (GUARDRAILS L9).
pub struct AlertUnexplained<'a> {
    pub fingerprint: &'a str,
    pub error: &'a str,
}

impl AlertUnexplained<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            fingerprint = self.fingerprint,
            error = self.error,
            "alert not sent: it does not explain itself"
        );
        counter!("onrust_alert_notifications_total", "channel" => "email", "outcome" => "unexplained").increment(1);
    }
}
