//! Email delivery over SMTP with lettre.
//!
//! Why the checks here: an alert mail carries evidence about unrest in a
//! municipality to its mayor, so it must not travel in clear text across a
//! network or to a relay that merely claims a name (S10). `starttls` and
//! `tls` always verify the certificate and the hostname (no switch turns that
//! off; an internal CA can be added with `ca_file`); `none` is accepted only
//! towards a loopback relay such as a local Postfix or a test sink. The
//! password comes from a file and lives in a [`Secret`] (S9).
//!
//! The reply decides what happens next: a 4xx (or no reply: connection, TLS,
//! timeout) is temporary and the notification stays in the outbox to be
//! retried; a 5xx is permanent, except the answers to a failed login (530,
//! 534, 535, 538): those are the relay's configuration, not the mail's, and
//! the mail stays queued rather than being lost.

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use onrust_alert::Channel;
use onrust_alert::render::email::{self, EmailError, MailContext, MailItem};

use crate::log::{Content, Deliver, Delivered, DeliveryError, Notification};
use crate::{Secret, SecretError, is_loopback_host};

/// `[smtp]` in the configuration (docs/ARCHITECTURE.md, "Configuration keys").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: TlsMode,
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An extra root certificate (PEM) for a relay with an internal CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds before a connection or command times out.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_port() -> u16 {
    587
}

fn default_timeout() -> u64 {
    30
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain connect, then STARTTLS, required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only towards a loopback host.
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("smtp.tls = \"none\" is only allowed towards a loopback host, not {0}; use starttls or tls")]
    PlainToRemote(String),
    #[error("smtp.username is set but smtp.password_file is not")]
    MissingPassword,
    #[error("smtp.password_file: {0}")]
    Password(#[from] SecretError),
    #[error("smtp.ca_file {path}: {source}")]
    CaUnreadable { path: PathBuf, source: std::io::Error },
    #[error("smtp.ca_file {path}: {source}")]
    Ca { path: PathBuf, source: lettre::transport::smtp::Error },
    #[error("smtp.from: {0}")]
    From(#[source] EmailError),
    #[error("smtp tls setup for {host}: {source}")]
    Tls { host: String, source: lettre::transport::smtp::Error },
}

/// Sends email notifications through one relay.
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
    region_name: String,
    /// Whom a mayor calls (`[alerts] contact`).
    contact: Option<String>,
    /// Where the console is reached (`[http] public_url`), for the link to an alert.
    console_url: Option<String>,
}

impl std::fmt::Debug for SmtpNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpNotifier").field("from", &self.from).finish_non_exhaustive()
    }
}

impl SmtpNotifier {
    /// Checks the configuration (S6, S9, S10) and prepares the transport; it
    /// does not connect yet.
    pub fn new(cfg: &SmtpConfig, region_name: impl Into<String>) -> Result<Self, SmtpError> {
        email::check_header("From", &cfg.from).map_err(SmtpError::From)?;
        cfg.from.parse::<lettre::message::Mailbox>().map_err(|e| SmtpError::From(EmailError::address("From", e)))?;
        let tls = match cfg.tls {
            TlsMode::None if !is_loopback_host(&cfg.host) => return Err(SmtpError::PlainToRemote(cfg.host.clone())),
            TlsMode::None => Tls::None,
            TlsMode::Starttls => Tls::Required(tls_parameters(cfg)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(cfg)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str())
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs.max(1))));
        match (&cfg.username, &cfg.password_file) {
            (Some(user), Some(file)) => {
                let password = Secret::from_file(file)?;
                builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            (Some(_), None) => return Err(SmtpError::MissingPassword),
            (None, _) => {}
        }
        Ok(Self {
            transport: builder.build(),
            from: cfg.from.clone(),
            region_name: region_name.into(),
            contact: None,
            console_url: None,
        })
    }

    /// Names whom a mayor calls about an alert (`[alerts] contact`).
    pub fn with_contact(mut self, contact: Option<String>) -> Self {
        self.contact = contact;
        self
    }

    /// Links officers' and supervisors' mail to the alert in the console at
    /// this address (`[http] public_url`).
    pub fn with_console_url(mut self, console_url: Option<String>) -> Self {
        self.console_url = console_url;
        self
    }

    /// Renders a notification into the MIME message that would be sent.
    pub fn message(&self, n: &Notification) -> Result<Message, EmailError> {
        let ctx = MailContext {
            role: n.role,
            region_name: self.region_name.clone(),
            contact: self.contact.clone(),
            console_url: self.console_url.clone(),
        };
        let items: Vec<MailItem<'_>> = n
            .content
            .items()
            .iter()
            .map(|i| MailItem { alert: &i.alert, previous: i.previous.as_ref(), short_id: i.short_id() })
            .collect();
        let rendered = match &n.content {
            Content::Alerts { .. } => email::render_group(&items, &ctx)?,
            Content::Digest { date, .. } => email::render_digest(*date, &items, &ctx)?,
            Content::Summary { event_time, .. } => email::render_summary(*event_time, &items, &ctx)?,
            Content::Review { .. } => email::render_review(&items, &ctx)?,
            Content::Escalation { .. } => email::render_escalation(&items, &ctx)?,
            Content::Undelivered { failure, .. } => email::render_undelivered(failure, &items, &ctx)?,
        };
        crate::mail::build_message(&self.from, &n.address, &message_id(n), &rendered)
    }
}

/// A Message-ID stable per notification key, so a receiving system can drop
/// the copy in the rare case a mail is sent twice.
pub fn message_id(n: &Notification) -> String {
    let mut h = Sha256::new();
    h.update(n.fingerprint.as_bytes());
    h.update(b"\0");
    h.update(n.sequence.to_be_bytes());
    h.update(n.channel.as_str().as_bytes());
    h.update(b"\0");
    h.update(n.address.as_bytes());
    let digest = hex::encode(h.finalize());
    format!("<{}@onrust>", &digest[..32])
}

/// 530, 534, 535 and 538 answer the login, not the mail: a wrong or rotated
/// password or a relay policy. Failing every queued mail permanently for that
/// would lose them, so they stay queued (and are logged) until it is fixed.
fn is_relay_login_problem(code: u16) -> bool {
    matches!(code, 530 | 534 | 535 | 538)
}

fn tls_parameters(cfg: &SmtpConfig) -> Result<TlsParameters, SmtpError> {
    let mut b = TlsParameters::builder(cfg.host.clone());
    if let Some(path) = &cfg.ca_file {
        let pem = std::fs::read(path).map_err(|source| SmtpError::CaUnreadable { path: path.clone(), source })?;
        let cert = Certificate::from_pem(&pem).map_err(|source| SmtpError::Ca { path: path.clone(), source })?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|source| SmtpError::Tls { host: cfg.host.clone(), source })
}

impl Deliver for SmtpNotifier {
    async fn deliver(&self, n: &Notification) -> Result<Delivered, DeliveryError> {
        if n.channel != Channel::Email {
            return Err(DeliveryError::Permanent { code: None, message: "not an email notification".into() });
        }
        let message =
            self.message(n).map_err(|e| DeliveryError::Permanent { code: None, message: format!("not sent: {e}") })?;
        match self.transport.send(message).await {
            Ok(resp) => Ok(Delivered {
                code: resp.code().to_string().parse().ok(),
                message: resp.message().collect::<Vec<_>>().join(" "),
            }),
            Err(e) => {
                let code = e.status().and_then(|c| c.to_string().parse().ok());
                let message = e.to_string();
                if e.is_permanent() && !code.is_some_and(is_relay_login_problem) {
                    Err(DeliveryError::Permanent { code, message })
                } else {
                    Err(DeliveryError::Transient { code, message })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(host: &str, tls: TlsMode) -> SmtpConfig {
        SmtpConfig {
            host: host.to_owned(),
            port: 2525,
            tls,
            from: "onrust@gemeente.example".to_owned(),
            username: None,
            password_file: None,
            ca_file: None,
            timeout_secs: 5,
        }
    }

    #[test]
    fn plain_smtp_only_to_loopback() {
        let err = SmtpNotifier::new(&cfg("smtp.example.org", TlsMode::None), "Midden-Nederland").unwrap_err();
        assert!(matches!(err, SmtpError::PlainToRemote(_)));
        assert_eq!(
            err.to_string(),
            "smtp.tls = \"none\" is only allowed towards a loopback host, not smtp.example.org; use starttls or tls"
        );
        SmtpNotifier::new(&cfg("127.0.0.1", TlsMode::None), "Midden-Nederland").unwrap();
        SmtpNotifier::new(&cfg("localhost", TlsMode::None), "Midden-Nederland").unwrap();
        SmtpNotifier::new(&cfg("smtp.example.org", TlsMode::Starttls), "Midden-Nederland").unwrap();
        SmtpNotifier::new(&cfg("smtp.example.org", TlsMode::Tls), "Midden-Nederland").unwrap();
    }

    #[test]
    fn password_from_file_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("smtp");
        std::fs::write(&pw, "canary-smtp-pw-77\n").unwrap();
        let mut c = cfg("smtp.example.org", TlsMode::Starttls);
        c.username = Some("onrust".to_owned());
        assert!(matches!(SmtpNotifier::new(&c, "x"), Err(SmtpError::MissingPassword)));
        c.password_file = Some(pw);
        let n = SmtpNotifier::new(&c, "x").unwrap();
        assert!(!format!("{n:?}").contains("canary"));
        c.password_file = Some(dir.path().join("missing"));
        let err = SmtpNotifier::new(&c, "x").unwrap_err();
        assert!(err.to_string().starts_with("smtp.password_file: cannot read secret file"), "{err}");
    }

    #[test]
    fn config_is_strict() {
        let ok: SmtpConfig =
            toml::from_str("host = \"localhost\"\nport = 25\ntls = \"none\"\nfrom = \"a@b.example\"").unwrap();
        assert_eq!(ok.tls, TlsMode::None);
        assert_eq!(ok.timeout_secs, 30);
        let def: SmtpConfig = toml::from_str("host = \"smtp.example.org\"\nfrom = \"a@b.example\"").unwrap();
        assert_eq!((def.port, def.tls), (587, TlsMode::Starttls));
        assert!(toml::from_str::<SmtpConfig>("host = \"h\"\nfrom = \"a@b.example\"\ninsecure = true").is_err());
        assert!(toml::from_str::<SmtpConfig>("host = \"h\"\nfrom = \"a@b.example\"\ntls = \"opportunistic\"").is_err());
    }

    #[test]
    fn from_with_crlf_is_refused() {
        let mut c = cfg("localhost", TlsMode::None);
        c.from = "onrust@gemeente.example\r\nBcc: x@example.org".to_owned();
        assert!(matches!(SmtpNotifier::new(&c, "x"), Err(SmtpError::From(EmailError::HeaderInjection { .. }))));
        c.from = "geen adres".to_owned();
        let err = SmtpNotifier::new(&c, "x").unwrap_err();
        let email = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<EmailError>());
        assert!(matches!(email, Some(EmailError::Address { header: "From", .. })), "{err:?}");
    }

    /// A CA file that cannot be read says which, and keeps the I/O error.
    #[test]
    fn an_unreadable_ca_file_keeps_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg("smtp.example.org", TlsMode::Starttls);
        c.ca_file = Some(dir.path().join("missing.pem"));
        let err = SmtpNotifier::new(&c, "x").unwrap_err();
        assert!(err.to_string().starts_with("smtp.ca_file "), "{err}");
        let io = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(io.map(std::io::Error::kind), Some(std::io::ErrorKind::NotFound), "{err:?}");
    }
}
