//! `[ingest]`: how sources are fetched (rules S1, S2).

use std::time::Duration;

use serde::Deserialize;

use super::{Collector, HumanDuration};

/// `[ingest]`: how sources are fetched.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Hosts exempt from the private-address guard (tests, intranet feeds). Empty by default.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// A page about this installation, sent in the User-Agent so feed operators can reach you.
    #[serde(default = "default_contact_url")]
    pub contact_url: String,
    /// Minimum time between the starts of two requests to the same host.
    #[serde(default = "default_host_interval")]
    pub min_host_interval: HumanDuration,
    /// Requests to the same host open at once, at most: a slow one keeps a
    /// slot, the host's other sources use the rest (rule S2).
    #[serde(default = "default_max_requests_per_host")]
    pub max_requests_per_host: usize,
    /// Time to establish a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: HumanDuration,
    /// Network time for a whole fetch, redirects and body included; not the
    /// wait for the host's turn. At most a source's interval.
    #[serde(default = "default_total_timeout")]
    pub total_timeout: HumanDuration,
    /// Below this transfer rate a fetch is aborted (slow-drip servers).
    #[serde(default = "default_min_rate")]
    pub min_rate_bytes_per_sec: u64,
    /// Cap on bytes received on the wire per fetch.
    #[serde(default = "default_max_compressed")]
    pub max_compressed_bytes: u64,
    /// Cap on bytes after decompression per fetch.
    #[serde(default = "default_max_decoded")]
    pub max_decoded_bytes: u64,
}

fn default_contact_url() -> String {
    "https://github.com/onrust/onrust".to_owned()
}
fn default_host_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(2))
}
fn default_max_requests_per_host() -> usize {
    onrust_ingest::fetch::DEFAULT_MAX_REQUESTS_PER_HOST
}
fn default_connect_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}
fn default_total_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}
fn default_min_rate() -> u64 {
    1024
}
fn default_max_compressed() -> u64 {
    10 * 1024 * 1024
}
fn default_max_decoded() -> u64 {
    20 * 1024 * 1024
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            allow_hosts: Vec::new(),
            contact_url: default_contact_url(),
            min_host_interval: default_host_interval(),
            max_requests_per_host: default_max_requests_per_host(),
            connect_timeout: default_connect_timeout(),
            total_timeout: default_total_timeout(),
            min_rate_bytes_per_sec: default_min_rate(),
            max_compressed_bytes: default_max_compressed(),
            max_decoded_bytes: default_max_decoded(),
        }
    }
}

impl IngestConfig {
    /// Timeouts, per-host requests and byte caps within bounds; a contact URL without credentials.
    pub(super) fn validate(&self, c: &mut Collector) {
        let secs = Duration::from_secs;
        c.duration_within("ingest.min_host_interval", self.min_host_interval.0, Duration::ZERO, secs(3600));
        c.duration_within("ingest.connect_timeout", self.connect_timeout.0, Duration::from_millis(100), secs(300));
        c.duration_within("ingest.total_timeout", self.total_timeout.0, Duration::from_millis(100), secs(3600));
        if !(1..=16).contains(&self.max_requests_per_host) {
            c.push("ingest.max_requests_per_host", "must be between 1 and 16");
        }
        if self.max_decoded_bytes == 0 || self.max_compressed_bytes == 0 {
            c.push("ingest.max_*_bytes", "must be above 0");
        }
        match url::Url::parse(&self.contact_url) {
            Err(e) => c.push("ingest.contact_url", format!("not a URL: {e}")),
            // It goes out in the User-Agent of every request.
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                c.push("ingest.contact_url", "carries a user name or password, which every feed server would see")
            }
            Ok(_) => {}
        }
    }
}
