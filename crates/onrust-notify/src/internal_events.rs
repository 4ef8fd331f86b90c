//! What the notify crate reports: each event logs and counts in one `emit()`.
//!
//! Labels are bounded sets (`channel`, `outcome`); never an address, a
//! fingerprint or anything about a person (docs/ARCHITECTURE.md, "Observability").

use metrics::{Unit, counter, describe_counter};

use onrust_alert::{Channel, RecipientRole};

use crate::log::Outcome;

pub(crate) const DELIVERIES_TOTAL: &str = "onrust_alert_deliveries_total";

/// Registers descriptions of the notify crate's metrics with the installed recorder.
pub fn describe_metrics() {
    describe_counter!(
        DELIVERIES_TOTAL,
        Unit::Count,
        "Attempts to deliver a notification, by channel and outcome (sent, retry, failed)."
    );
}

/// Makes every channel × outcome series exist (at 0), so a quiet screen shows 0 rather than no data.
pub fn register_delivery_series() {
    for channel in [Channel::Email, Channel::Webhook] {
        for outcome in ["sent", "retry", "failed"] {
            counter!(DELIVERIES_TOTAL, "channel" => channel.as_str(), "outcome" => outcome).increment(0);
        }
    }
}

/// The outbox made one attempt and recorded it in the notification log.
pub(crate) struct DeliveryAttempted {
    pub channel: Channel,
    pub outcome: Outcome,
}

impl DeliveryAttempted {
    pub fn emit(self) {
        let outcome = match self.outcome {
            Outcome::Sent => "sent",
            Outcome::Retry => "retry",
            Outcome::Failed => "failed",
            // Not an attempt: counted nowhere here.
            Outcome::Requeued => return,
        };
        tracing::debug!(channel = self.channel.as_str(), outcome, "notification attempt");
        counter!(DELIVERIES_TOTAL, "channel" => self.channel.as_str(), "outcome" => outcome).increment(1);
    }
}

/// A notification failed for good (SMTP 5xx, HTTP 4xx): its recipient does
/// not get it, so a person must tell them another way. Counted as
/// `onrust_alert_deliveries_total{outcome="failed"}`, which the shipped
/// Prometheus rule `OnrustAlertDeliveryFailed` watches.
pub(crate) struct DeliveryFailed<'a> {
    pub fingerprint: &'a str,
    pub channel: Channel,
    pub role: RecipientRole,
    pub code: Option<u16>,
    pub message: &'a str,
}

impl DeliveryFailed<'_> {
    pub fn emit(self) {
        tracing::error!(
            fingerprint = self.fingerprint,
            channel = self.channel.as_str(),
            role = self.role.as_str(),
            code = self.code,
            "notification failed permanently; its recipient does not get this alert (onrust alerts log): {}",
            self.message
        );
    }
}

/// A person queued a notification again after it failed for good (`onrust
/// alerts resend`); the notification log and the audit log say who and why.
pub(crate) struct Requeued<'a> {
    pub fingerprint: &'a str,
    pub channel: Channel,
    pub by: &'a str,
}

impl Requeued<'_> {
    pub fn emit(self) {
        tracing::info!(
            fingerprint = self.fingerprint,
            channel = self.channel.as_str(),
            by = self.by,
            "notification queued again after a permanent failure"
        );
    }
}
