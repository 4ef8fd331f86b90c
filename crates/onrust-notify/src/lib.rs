//! onrust-notify: how an alert leaves onrust, and the record of every attempt.
//!
//! What to say and to whom is decided by `onrust-alert`, a pure library;
//! this crate carries it out, with the network and the disk:
//!
//! * [`log`]: the outbox and the notification log. Delivery must be at least
//!   once and deduplicated (rule R8), so every notification is first persisted
//!   ([`log::Outbox::enqueue`], fsynced), then delivered by a channel and every
//!   attempt written to the notification log;
//! * [`smtp`]: the mail over SMTP (lettre), rendered by
//!   [`onrust_alert::render::email`] and built into a MIME message by [`mail`];
//! * [`webhook`]: the alert as signed JSON over HTTPS (reqwest, HMAC-SHA256);
//! * [`secret`]: the password and the keys, read from files and never printed (S9).
//!
//! Why a crate of its own: the alert engine, the round and the renderers are
//! pure and are what `onrust backtest` replays; nothing of that needs a TLS
//! stack, an HTTP client or an async runtime. Keeping delivery here keeps
//! those out of `onrust-alert` and out of everything that only reads alerts
//! (the console shows [`onrust_alert::Undelivered`] without sending anything).
//!
//! Two rules hold everywhere here: no author or pseudonym is ever sent
//! (L1, L2; [`onrust_alert::Evidence`] carries none), and no header or
//! signature is built from message text (S6).

mod internal_events;
pub mod log;
pub mod mail;
pub mod secret;
pub mod smtp;
pub mod webhook;

use onrust_alert::Channel;

pub use internal_events::{describe_metrics, register_delivery_series};
pub use secret::{Secret, SecretError};

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
    fn loopback_hosts() {
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("[::1]"));
        assert!(!is_loopback_host("smtp.example.org"));
        assert!(!is_loopback_host("10.0.0.1"));
    }
}
