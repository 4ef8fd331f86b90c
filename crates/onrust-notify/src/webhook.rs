//! The webhook: the alert as JSON, POSTed and signed.
//!
//! Why signed: a webhook receiver (a crisis-room dashboard, a paging system)
//! must be able to tell an onrust alert from a forged one, so every body
//! carries `X-Onrust-Signature: sha256=<hex>`, an HMAC-SHA256 over the exact
//! body bytes with a key read from a file (S9). `X-Onrust-Delivery` is stable
//! per notification, so the receiver can drop a repeated delivery (R8).
//!
//! The target is configuration, yet it is still checked: https, or http only
//! towards a loopback host (S10 applies to outbound HTTP too); no credentials
//! in the URL (S9); no redirects followed. A 2xx is delivered; 408, 429 and
//! 5xx (and no answer) are temporary; any other status is permanent.

use std::path::Path;
use std::time::Duration;
use tokio_rustls::rustls;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use onrust_alert::{Channel, RecipientRole};

use crate::log::{Content, Deliver, Delivered, DeliveryError, Notification};
use crate::{Secret, SecretError, is_loopback_host};

pub const SIGNATURE_HEADER: &str = "X-Onrust-Signature";
pub const DELIVERY_HEADER: &str = "X-Onrust-Delivery";

/// The version of the JSON body.
pub const WEBHOOK_SCHEMA: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook secret: {0}")]
    Secret(#[from] SecretError),
    /// A URL that parses but that onrust does not send to.
    #[error("invalid webhook url: {0}")]
    Url(String),
    #[error("invalid webhook url: {0}")]
    Unparsable(#[source] url::ParseError),
    #[error("cannot set up tls for the http client: {0}")]
    Tls(#[source] rustls::Error),
    #[error("cannot build the http client: {0}")]
    Client(#[source] reqwest::Error),
}

/// ring and the webpki roots, verification on, as the sources' clients
/// (`onrust_ingest::tls`, which this crate does not depend on) and lettre's
/// SMTP use: one crypto library in the binary, no process-wide provider.
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The JSON a webhook receives.
#[derive(Debug, Serialize)]
pub struct WebhookBody<'a> {
    pub schema: u32,
    pub fingerprint: &'a str,
    pub sequence: u64,
    pub rule: &'a str,
    pub role: RecipientRole,
    pub content: &'a Content,
}

/// Delivers webhook notifications with one signing key.
pub struct WebhookNotifier {
    client: reqwest::Client,
    key: Secret,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier").field("key", &self.key).finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// Reads the signing key from `secret_file`.
    pub fn new(secret_file: &Path, timeout: Duration) -> Result<Self, WebhookError> {
        Self::with_key(Secret::from_file(secret_file)?, timeout)
    }

    pub fn with_key(key: Secret, timeout: Duration) -> Result<Self, WebhookError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .tls_backend_preconfigured(tls_config().map_err(WebhookError::Tls)?)
            .build()
            .map_err(WebhookError::Client)?;
        Ok(Self { client, key })
    }

    /// The body bytes and their signature header value for a notification.
    pub fn body_and_signature(&self, n: &Notification) -> Result<(Vec<u8>, String), serde_json::Error> {
        let body = serde_json::to_vec(&WebhookBody {
            schema: WEBHOOK_SCHEMA,
            fingerprint: &n.fingerprint,
            sequence: n.sequence,
            rule: &n.rule,
            role: n.role,
            content: &n.content,
        })?;
        let sig = sign(self.key.expose().as_bytes(), &body);
        Ok((body, sig))
    }
}

/// `sha256=<hex>` of HMAC-SHA256(key, body).
pub fn sign(key: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// Checks a signature header value in constant time (for receivers and tests).
pub fn verify(key: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else { return false };
    let Ok(sig) = hex::decode(hex_sig) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return false };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// `https://host/…` for a webhook URL: where it goes, without its path or
/// query, which may hold the receiver's own token (S9). Whatever a person
/// reads about a webhook (the notification log, a failure notice, the API)
/// names it so.
pub fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("?")),
        Err(_) => "(webhook)".to_owned(),
    }
}

/// Accepts https, and http only towards a loopback host; no user or password
/// in the URL.
pub fn check_url(raw: &str) -> Result<url::Url, WebhookError> {
    let url = url::Url::parse(raw).map_err(WebhookError::Unparsable)?;
    let host = url.host_str().ok_or_else(|| WebhookError::Url("no host".into()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(WebhookError::Url("credentials in the url; use the signing key instead".into()));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(host) => Ok(url),
        "http" => Err(WebhookError::Url(format!("http is only allowed towards a loopback host, not {host}"))),
        other => Err(WebhookError::Url(format!("scheme {other} is not http or https"))),
    }
}

impl Deliver for WebhookNotifier {
    async fn deliver(&self, n: &Notification) -> Result<Delivered, DeliveryError> {
        let permanent = |message: String| DeliveryError::Permanent { code: None, message };
        if n.channel != Channel::Webhook {
            return Err(permanent("not a webhook notification".into()));
        }
        let url = check_url(&n.address).map_err(|e| permanent(e.to_string()))?;
        let (body, signature) = self.body_and_signature(n).map_err(|e| permanent(e.to_string()))?;
        let delivery = crate::smtp::message_id(n);
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, delivery.trim_start_matches('<').trim_end_matches('>'))
            .body(body)
            .send()
            .await
            // Without the URL: it is configuration, and the log names the address already.
            .map_err(|e| DeliveryError::Transient { code: None, message: e.without_url().to_string() })?;
        let status = response.status();
        let code = Some(status.as_u16());
        let message = status.canonical_reason().unwrap_or("").to_owned();
        if status.is_success() {
            Ok(Delivered { code, message })
        } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(DeliveryError::Transient { code, message })
        } else {
            Err(DeliveryError::Permanent { code, message })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_is_shown_by_its_origin_only() {
        assert_eq!(origin("https://crisis.example/hooks/s3cr3t-token?x=1"), "https://crisis.example/…");
        assert_eq!(origin("not a url"), "(webhook)");
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify(b"Jefe", b"what do ya want for nothing!", &sig));
        assert!(!verify(b"other", b"what do ya want for nothing?", &sig));
        assert!(!verify(b"Jefe", b"x", "md5=00"));
    }

    #[test]
    fn urls_are_checked() {
        check_url("https://hooks.example.org/onrust").unwrap();
        check_url("http://127.0.0.1:9000/hook").unwrap();
        check_url("http://localhost/hook").unwrap();
        assert!(check_url("http://hooks.example.org/onrust").is_err());
        assert!(check_url("https://user:pw@hooks.example.org/").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        let unparsable = check_url("not a url").unwrap_err();
        assert!(unparsable.to_string().starts_with("invalid webhook url: "), "{unparsable}");
        let parser = std::error::Error::source(&unparsable).and_then(|s| s.downcast_ref::<url::ParseError>());
        assert_eq!(parser, Some(&url::ParseError::RelativeUrlWithoutBase), "the parser's own error stays the cause");
    }

    #[test]
    fn key_is_never_printed() {
        let n = WebhookNotifier::with_key(Secret::new("canary-hook-key"), Duration::from_secs(1)).unwrap();
        assert!(!format!("{n:?}").contains("canary"));
    }
}
