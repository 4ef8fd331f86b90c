//! `[smtp]`: the relay alert mail goes through (rules S6, S9, S10).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::checks::is_loopback_host;
use super::{Collector, HumanDuration};

/// `[smtp]`: the mail relay for alerts (rules S6, S9, S10).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    /// Host name of the relay; certificates are checked against it.
    pub host: String,
    /// Port of the relay: 587 for starttls (default), 465 for tls.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `starttls` (default), `tls`, or `none`, which is allowed only towards a loopback relay.
    #[serde(default)]
    pub tls: onrust_notify::smtp::TlsMode,
    /// The sender address, one plain mailbox.
    pub from: String,
    /// Login name at the relay; needs `password_file`.
    pub username: Option<String>,
    /// File holding the relay password (never the password itself in this file).
    pub password_file: Option<PathBuf>,
    /// An extra root certificate (PEM) for a relay with an internal CA.
    pub ca_file: Option<PathBuf>,
    /// Time before a connection or command to the relay times out.
    #[serde(default = "default_smtp_timeout")]
    pub timeout: HumanDuration,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_smtp_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

impl SmtpSection {
    /// The notifier's view of this section.
    pub fn to_notifier(&self) -> onrust_notify::smtp::SmtpConfig {
        onrust_notify::smtp::SmtpConfig {
            host: self.host.clone(),
            port: self.port,
            tls: self.tls,
            from: self.from.clone(),
            username: self.username.clone(),
            password_file: self.password_file.clone(),
            ca_file: self.ca_file.clone(),
            timeout_secs: self.timeout.0.as_secs().max(1),
        }
    }
}

impl SmtpSection {
    /// A host, a sender, TLS off only towards loopback, a password only from an owner-only file.
    pub(super) fn validate(&self, c: &mut Collector) {
        use onrust_notify::smtp::TlsMode;
        if self.host.trim().is_empty() || self.host.contains(['\r', '\n', '\0', ' ', '/']) {
            c.push("smtp.host", "must be a host name or an IP address");
        }
        if self.tls == TlsMode::None && !is_loopback_host(&self.host) {
            c.push(
                "smtp.tls",
                format!("\"none\" is only allowed towards a loopback host, not {:?}; use starttls or tls", self.host),
            );
        }
        if self.port == 0 {
            c.push("smtp.port", "must be between 1 and 65535");
        }
        if let Err(e) = onrust_notify::mail::check_address("From", &self.from) {
            c.push("smtp.from", e.to_string());
        }
        match (&self.username, &self.password_file) {
            (Some(_), None) => c.push("smtp.password_file", "required when smtp.username is set"),
            (None, Some(_)) => c.push("smtp.username", "required when smtp.password_file is set"),
            _ => {}
        }
        if let Some(file) = &self.password_file
            && let Err(e) = onrust_durable::check_secret_file(file)
        {
            c.push("smtp.password_file", e.to_string());
        }
        if let Some(file) = &self.ca_file
            && !file.is_file()
        {
            c.push("smtp.ca_file", format!("{} is not a file", file.display()));
        }
        let t = self.timeout.0;
        if t < Duration::from_secs(1) || t > Duration::from_secs(600) {
            c.push("smtp.timeout", "must be between 1s and 10m");
        }
    }
}
