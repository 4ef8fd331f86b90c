//! `[[recipients]]` and `[[webhooks]]`: who is told, by municipality, role
//! and channel (rules S6, S9, S10).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{Collector, HumanDuration};

/// Who a `[[recipients]]` entry is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientScope {
    /// Every municipality, and regional alerts.
    All,
    One(onrust_model::MunicipalityCode),
}

/// One `[[recipients]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientEntry {
    /// CBS code (`GM0344`), or `"*"` for the whole region (and regional alerts).
    pub municipality: String,
    /// `officer`, `supervisor` or `mayor`.
    pub role: onrust_alert::RecipientRole,
    /// One plain mailbox.
    pub email: String,
}

/// One validated recipient: a mailbox from `[[recipients]]` or a receiver from `[[webhooks]]`.
#[derive(Debug, Clone)]
pub struct RecipientConfig {
    pub scope: RecipientScope,
    pub role: onrust_alert::RecipientRole,
    pub channel: onrust_alert::Channel,
    /// The mailbox, or the webhook's URL.
    pub address: String,
}

/// One `[[webhooks]]` entry as written: a system (a crisis-room board, a
/// paging service) that receives, as signed JSON, what a role is told.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEntry {
    /// Where to POST: https, or http only towards a loopback host; no credentials in it.
    pub url: String,
    /// File holding the HMAC-SHA256 key the body is signed with (`X-Onrust-Signature`).
    pub secret_file: PathBuf,
    /// CBS code, or `"*"` (default) for the whole region and regional alerts.
    #[serde(default = "default_webhook_municipality")]
    pub municipality: String,
    /// Whose notifications it receives: `officer` (default; real time), `supervisor` or `mayor`
    /// (after review, as the mayor's mail).
    #[serde(default = "default_webhook_role")]
    pub role: onrust_alert::RecipientRole,
    /// How long one delivery may take before it counts as failed (and is retried).
    #[serde(default = "default_webhook_timeout")]
    pub timeout: HumanDuration,
}

fn default_webhook_municipality() -> String {
    "*".to_owned()
}
fn default_webhook_role() -> onrust_alert::RecipientRole {
    onrust_alert::RecipientRole::Officer
}
fn default_webhook_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

/// A validated webhook receiver: how to sign and how long to wait.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    pub secret_file: PathBuf,
    pub timeout: Duration,
}

impl Collector {
    /// Who a `[[recipients]]` or `[[webhooks]]` entry is for: a CBS code of
    /// the region, or `"*"` for the whole region; a bad or unknown code is
    /// reported under `key`.
    pub(super) fn scope(&mut self, key: String, municipality: &str) -> Option<RecipientScope> {
        if municipality == "*" {
            return Some(RecipientScope::All);
        }
        match onrust_model::MunicipalityCode::new(municipality.to_owned()) {
            Ok(code) => match self.places.unknown(&code) {
                Some(problem) => {
                    self.push(key, problem);
                    None
                }
                None => Some(RecipientScope::One(code)),
            },
            Err(e) => {
                self.push(key, format!("{e}; use a CBS code such as \"GM0344\" or \"*\""));
                None
            }
        }
    }

    /// Reads `[[recipients]]` entry by entry and checks each address and code (S6).
    fn recipients(&mut self, table: &mut toml::Table) -> Vec<RecipientConfig> {
        let entries = self.entries(table, "recipients");
        let mut out: Vec<RecipientConfig> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let Some(r) = self.value::<RecipientEntry>(&format!("recipients[{i}]"), entry) else { continue };
            let key = |field: &str| format!("recipients[{i}].{field}");
            let scope = self.scope(key("municipality"), &r.municipality);
            let email_ok = match onrust_notify::mail::check_address("To", &r.email) {
                Ok(()) if r.email.contains('<') || r.email.contains(',') => {
                    self.push(key("email"), "must be one plain address such as \"oov@utrecht.example\"");
                    false
                }
                Ok(()) => true,
                Err(e) => {
                    self.push(key("email"), e.to_string());
                    false
                }
            };
            let Some(scope) = scope else { continue };
            if !email_ok {
                continue;
            }
            if out.iter().any(|o| o.scope == scope && o.role == r.role && o.address.eq_ignore_ascii_case(&r.email)) {
                self.push(key("email"), "the same recipient, role and municipality as an earlier entry");
                continue;
            }
            out.push(RecipientConfig { scope, role: r.role, channel: onrust_alert::Channel::Email, address: r.email });
        }
        out
    }

    /// Reads `[[webhooks]]` entry by entry: the URL (S9, S10), the signing
    /// key's file (read now, so a missing one is reported before the daemon
    /// runs), the municipality.
    fn webhooks(&mut self, table: &mut toml::Table) -> Vec<(RecipientConfig, WebhookConfig)> {
        let entries = self.entries(table, "webhooks");
        let mut out: Vec<(RecipientConfig, WebhookConfig)> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let Some(mut w) = self.value::<WebhookEntry>(&format!("webhooks[{i}]"), entry) else { continue };
            w.secret_file = self.paths.resolve(&w.secret_file);
            let key = |field: &str| format!("webhooks[{i}].{field}");
            let mut ok = true;
            if let Err(e) = onrust_notify::webhook::check_url(&w.url) {
                self.push(key("url"), e.to_string());
                ok = false;
            }
            let readable = onrust_notify::Secret::from_file(&w.secret_file)
                .map_err(|e| e.to_string())
                .and_then(|_| onrust_durable::check_secret_file(&w.secret_file).map_err(|e| e.to_string()));
            if let Err(problem) = readable {
                self.push(key("secret_file"), problem);
                ok = false;
            }
            if w.timeout.0.is_zero() || w.timeout.0 > Duration::from_secs(120) {
                self.push(key("timeout"), "must be between 1ms and 2m");
                ok = false;
            }
            let Some(scope) = self.scope(key("municipality"), &w.municipality) else { continue };
            if out.iter().any(|(r, _)| r.scope == scope && r.role == w.role && r.address == w.url) {
                self.push(key("url"), "the same receiver, role and municipality as an earlier entry");
                continue;
            }
            if !ok {
                continue;
            }
            let recipient = RecipientConfig {
                scope,
                role: w.role,
                channel: onrust_alert::Channel::Webhook,
                address: w.url.clone(),
            };
            out.push((recipient, WebhookConfig { url: w.url, secret_file: w.secret_file, timeout: w.timeout.0 }));
        }
        out
    }
}

impl Collector {
    /// Reads `[[recipients]]` and `[[webhooks]]`: every recipient, and each
    /// webhook receiver once with its key and timeout.
    pub(super) fn recipients_and_webhooks(
        &mut self,
        table: &mut toml::Table,
    ) -> (Vec<RecipientConfig>, Vec<WebhookConfig>) {
        let mut recipients = self.recipients(table);
        let mut webhooks: Vec<WebhookConfig> = Vec::new();
        for (recipient, webhook) in self.webhooks(table) {
            recipients.push(recipient);
            match webhooks.iter().find(|w| w.url == webhook.url) {
                None => webhooks.push(webhook),
                Some(w) if w.secret_file == webhook.secret_file && w.timeout == webhook.timeout => {}
                Some(_) => self.push(
                    "webhooks",
                    "the same url twice with another secret_file or timeout: one receiver has one key",
                ),
            }
        }
        (recipients, webhooks)
    }
}
