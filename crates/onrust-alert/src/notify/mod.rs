//! Notifiers: how an alert leaves onrust, and the record of every attempt.
//!
//! Why this is one module with a shared outbox rather than one function per
//! channel: delivery must be at least once and deduplicated (rule R8),
//! so every notification is first persisted ([`log::Outbox::enqueue`]), then
//! delivered by a channel ([`smtp`], [`webhook`]) and every attempt written to
//! the notification log. The renderers ([`email`], [`atom`], [`ics`]) are pure:
//! they take alerts and return text, so their escaping can be tested without
//! any network.
//!
//! Two rules hold everywhere here: no author or pseudonym is ever rendered
//! (L1, L2; [`crate::alert::Evidence`] carries none), and no header, subject
//! or signature is built from message text (S6).

pub mod atom;
pub mod email;
pub mod ics;
pub mod log;
pub mod smtp;
pub mod webhook;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A secret read from a file (S9): it prints `<redacted>` in every `Debug`
/// and `Display`, so it cannot leak through logs, errors or panics.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Reads a secret from a file; one trailing newline is removed because
    /// `echo pw > file` is how most people write one.
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let raw =
            std::fs::read_to_string(path).map_err(|source| SecretError::Read { path: path.to_path_buf(), source })?;
        let value = raw.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(&raw);
        if value.is_empty() {
            return Err(SecretError::Empty { path: path.to_path_buf() });
        }
        Ok(Self(value.to_owned()))
    }

    /// The secret itself, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("secret file {path} is empty")]
    Empty { path: PathBuf },
}

/// The way a notification leaves onrust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }
}

/// The role of a recipient, as in `[[recipients]]` (docs/ARCHITECTURE.md, "Configuration keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    Officer,
    Supervisor,
    Mayor,
}

impl RecipientRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientRole::Officer => "officer",
            RecipientRole::Supervisor => "supervisor",
            RecipientRole::Mayor => "mayor",
        }
    }
}

/// Which alerts a feed or calendar shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedPlace<'a> {
    /// One municipality's alerts (its code and name).
    Municipality(&'a onrust_model::MunicipalityCode, &'a str),
    /// The region-wide ones (no municipality, but a place).
    Region,
    /// Those without a known place ("plaats onbekend").
    Unplaced,
    /// Every alert in the region: each municipality's, the region-wide and
    /// the unplaced ones (the supervisors' overview).
    All,
}

impl FeedPlace<'_> {
    /// Whether the alert belongs in this feed.
    pub fn admits(&self, alert: &crate::Alert) -> bool {
        match self {
            Self::Municipality(code, _) => alert.municipality.as_ref() == Some(*code),
            Self::Region => alert.municipality.is_none() && !alert.unplaced,
            Self::Unplaced => alert.municipality.is_none() && alert.unplaced,
            Self::All => true,
        }
    }
}

/// Every configured channel behind one [`log::Deliver`], so one outbox
/// serves them all; a notification for a channel that is not configured is a
/// permanent failure, logged like any other.
#[derive(Debug, Default)]
pub struct Notifiers {
    pub email: Option<smtp::SmtpNotifier>,
    /// One per receiver URL, each with its own signing key.
    pub webhooks: std::collections::BTreeMap<String, webhook::WebhookNotifier>,
}

impl log::Deliver for Notifiers {
    async fn deliver(&self, n: &log::Notification) -> Result<log::Delivered, log::DeliveryError> {
        let missing = |c: Channel| log::DeliveryError::Permanent {
            code: None,
            message: format!("channel {} is not configured", c.as_str()),
        };
        match n.channel {
            Channel::Email => match &self.email {
                Some(e) => e.deliver(n).await,
                None => Err(missing(Channel::Email)),
            },
            Channel::Webhook => match self.webhooks.get(&n.address) {
                Some(w) => w.deliver(n).await,
                None => Err(missing(Channel::Webhook)),
            },
        }
    }
}

/// True for `localhost` and loopback IP literals; no name is resolved, so a
/// DNS answer can never turn a remote host into a "loopback" one.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("canary-pw-8b1f");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "canary-pw-8b1f");
    }

    #[test]
    fn secret_from_file_strips_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "geheim\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "geheim");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(Secret::from_file(&p), Err(SecretError::Empty { .. })));
    }

    /// L1, L2: what a notifier receives has no place for a person. If someone
    /// adds an author or pseudonym to the alert, this fails before any mail,
    /// webhook body or feed can carry it.
    #[test]
    fn alerts_carry_no_author_or_pseudonym() {
        fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        out.push(k.to_ascii_lowercase());
                        keys(v, out);
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        keys(&serde_json::to_value(fixtures::alert()).unwrap(), &mut all);
        for k in &all {
            for banned in ["author", "pseudonym", "handle", "user", "account", "profile"] {
                assert!(!k.contains(banned), "alert field {k} looks like a person");
            }
        }
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("[::1]"));
        assert!(!is_loopback_host("smtp.example.org"));
        assert!(!is_loopback_host("10.0.0.1"));
    }
}

/// A realistic alert for the notifier tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use chrono::{TimeZone, Utc};
    use onrust_model::MunicipalityCode;

    use crate::alert::{Alert, AlertStatus, Evidence, RuleKind, Severity};

    pub fn evidence(id: &str, minute: u32) -> Evidence {
        Evidence {
            message_id: id.to_owned(),
            source: "rtvutrecht".to_owned(),
            url: Some(format!("https://www.rtvutrecht.nl/nieuws/{id}")),
            title: Some("Oproep voor oudjaarsavond".to_owned()),
            excerpt: "Oudjaarsavond gaan we oorlog maken met de politie op het Vredenburgplein".to_owned(),
            published_at: Utc.with_ymd_and_hms(2026, 12, 30, 20, minute, 0).single().unwrap_or_default(),
            level: 3,
            score: 0.93,
            signals: vec!["call_to_violence".to_owned()],
            received_at: None,
            place: None,
        }
    }

    pub fn alert() -> Alert {
        Alert {
            fingerprint: "3f9a0c1e".repeat(8),
            rule: "oproep-tot-geweld".to_owned(),
            rule_version: "r1a2b3c".to_owned(),
            kind: RuleKind::Announcement,
            severity: Severity::Critical,
            municipality: MunicipalityCode::new("GM0344").ok(),
            municipality_name: Some("Utrecht".to_owned()),
            theme: Some("jaarwisseling".to_owned()),
            status: AlertStatus::Firing,
            starts_at: Utc.with_ymd_and_hms(2026, 12, 30, 20, 45, 0).single().unwrap_or_default(),
            updated_at: Utc.with_ymd_and_hms(2026, 12, 30, 21, 0, 0).single().unwrap_or_default(),
            ends_at: None,
            event_time: Some(Utc.with_ymd_and_hms(2026, 12, 31, 21, 0, 0).single().unwrap_or_default()),
            event_place: Some("Vredenburgplein".to_owned()),
            observed: 4,
            expected: Some(0.5),
            p_value: Some(0.0004),
            threshold: Some(3),
            window_secs: 3600,
            reasons: vec![
                "Vier berichten roepen op tot geweld tegen de politie tijdens de jaarwisseling.".to_owned(),
                "Een actie is aangekondigd voor oudjaarsavond op het Vredenburgplein.".to_owned(),
            ],
            evidence: vec![evidence("m1", 40), evidence("m2", 50)],
            confidence: 0.86,
            reviewed_by: Some("j.devries (supervisor)".to_owned()),
            acknowledged_by: None,
            ack_comment: None,
            lead_time_secs: None,
            event: None,
            unplaced: false,
            escalates_at: None,
            decisions: Vec::new(),
            mandate: Some("jaarwisseling-2026".to_owned()),
        }
    }
}
