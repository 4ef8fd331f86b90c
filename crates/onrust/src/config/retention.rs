//! `[retention]`: how long each data class other than the archive is kept
//! (rule L6). The archive's own period is `archive.retention`, beside the
//! bucket size it works with. Every period is checked against a floor and a
//! ceiling ([`RetentionConfig::bounds`]); the floors are what the data class
//! needs to do its job, not a recommendation.

use std::time::Duration;

use serde::Deserialize;

use super::HumanDuration;

const DAY: u64 = 24 * 3600;

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// The alert state's records of who decided what about an alert, and
    /// why (the supervisors' reviews). Everything else about an alert goes
    /// with it when it resolves.
    #[serde(default = "default_alert_state")]
    pub alert_state: HumanDuration,
    /// The notification log: who was told what, when, and how it went.
    #[serde(default = "default_notification_log")]
    pub notification_log: HumanDuration,
    /// The outbox: a notification that failed for good waits this long for
    /// someone to send it again. What was sent leaves at once.
    #[serde(default = "default_outbox")]
    pub outbox: HumanDuration,
    /// The audit log: who used what content, and when.
    #[serde(default = "default_audit_log")]
    pub audit_log: HumanDuration,
    /// The dead letters (embedded bus): whole messages that could not be
    /// processed, kept for someone to look into.
    #[serde(default = "default_dead_letters")]
    pub dead_letters: HumanDuration,
}

fn days(n: u64) -> HumanDuration {
    HumanDuration(Duration::from_secs(n * DAY))
}
fn default_alert_state() -> HumanDuration {
    days(365)
}
fn default_notification_log() -> HumanDuration {
    days(365)
}
fn default_outbox() -> HumanDuration {
    days(30)
}
fn default_audit_log() -> HumanDuration {
    days(2 * 365)
}
fn default_dead_letters() -> HumanDuration {
    days(30)
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            alert_state: default_alert_state(),
            notification_log: default_notification_log(),
            outbox: default_outbox(),
            audit_log: default_audit_log(),
            dead_letters: default_dead_letters(),
        }
    }
}

impl RetentionConfig {
    /// Each period with its key, floor and ceiling. The notification log
    /// keeps at least a week because a notification's entries are how a
    /// restarted outbox knows it was sent: a replayed firing younger than
    /// that must not go out twice. The audit log keeps at least 90 days so
    /// that the data protection officer's quarterly report has its records.
    pub fn bounds(&self) -> [(&'static str, Duration, Duration, Duration); 5] {
        let ceiling = Duration::from_secs(10 * 366 * DAY);
        let floor = |n: u64| Duration::from_secs(n * DAY);
        [
            ("retention.alert_state", self.alert_state.0, floor(1), ceiling),
            ("retention.notification_log", self.notification_log.0, floor(7), ceiling),
            ("retention.outbox", self.outbox.0, floor(1), ceiling),
            ("retention.audit_log", self.audit_log.0, floor(90), ceiling),
            ("retention.dead_letters", self.dead_letters.0, floor(1), ceiling),
        ]
    }
}

impl RetentionConfig {
    /// Every period between its floor and its ceiling.
    pub(super) fn validate(&self, c: &mut super::Collector) {
        for (key, value, min, max) in self.bounds() {
            c.duration_within(key, value, min, max);
        }
    }
}
