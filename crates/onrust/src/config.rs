//! The configuration file: strict TOML, one validation pass that reports
//! every problem at once, each naming the file, the key and what is wrong.
//!
//! Sections are deserialised one by one from a parsed TOML table, so an
//! unknown key in `[http]` does not hide a bad URL in `[[sources]]`. Paths to
//! lexicons are relative to the config file; `data_dir` is relative to the
//! working directory.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use onrust_model::Problem;
use onrust_web::{Role, TokenHash};
use serde::Deserialize;
use serde::de::DeserializeOwned;

mod checks;
mod mandate_checks;
pub mod mandates;
mod retention;
pub use checks::read_monitor_token;
pub use mandates::Mandate;
pub use retention::RetentionConfig;

/// A duration written as a string: `"30s"`, `"5m"`, `"1h"`, `"28d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map(HumanDuration)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a duration such as \"30s\" or \"5m\": {e}")))
    }
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    /// All state: archive, cursors, keys, audit log, dead letters.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub bus: BusConfig,
    pub ingest: IngestConfig,
    pub classify: ClassifyConfig,
    pub archive: ArchiveConfig,
    pub privacy: PrivacyConfig,
    /// `[retention]`: how long the other data classes are kept (L6).
    pub retention: RetentionConfig,
    pub sources: Vec<SourceConfig>,
    /// `[smtp]`: the relay alert mail goes through; none means nothing is mailed.
    pub smtp: Option<SmtpSection>,
    /// `[[recipients]]` and `[[webhooks]]`: who is told, by municipality, role and channel.
    pub recipients: Vec<RecipientConfig>,
    /// `[[webhooks]]`: the receivers' keys and timeouts (their routing is in `recipients`).
    pub webhooks: Vec<WebhookConfig>,
    /// The validated rules, every default filled in.
    pub rules: Vec<onrust_alert::Rule>,
    /// `[alerts]`: how the alert stage runs.
    pub alerts: AlertsConfig,
    /// `[region]`: the municipalities this installation watches.
    pub region: RegionConfig,
    /// `[[mandates]]`: what makes the monitoring lawful (rule L5); every source and rule names one.
    pub mandates: Vec<Mandate>,
    /// The first day this data directory ran under a trial mandate (its `mandates.json`), if it has.
    pub trial_started: Option<chrono::NaiveDate>,
}

/// `[region]`: the municipalities this installation watches. Coverage, the
/// dashboards' regional overview and the `municipality` label of metrics are
/// per one of these; a message about a municipality outside the region is
/// counted as `other`. Empty: every municipality in the gazetteer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// CBS codes (`GM0344`).
    #[serde(default)]
    pub municipalities: Vec<String>,
}

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

/// `[alerts]`: the alert stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// How often rules are evaluated and due notifications made (threshold, burst,
    /// resolution, grouping); critical and announcement rules fire on arrival and
    /// are sent at the next evaluation.
    #[serde(default = "default_evaluate_interval")]
    pub evaluate_interval: HumanDuration,
    /// How the region is named in mail, e.g. "Midden-Nederland".
    #[serde(default = "default_region_name")]
    pub region_name: String,
    /// From this hour (0–23, Europe/Amsterdam) the mayors' daily digest goes out, once a day.
    #[serde(default = "default_digest_hour")]
    pub digest_hour: u32,
    /// How long before an announced action the joint summary goes to officers and mayors.
    #[serde(default = "default_summary_lead")]
    pub summary_lead: HumanDuration,
    /// Whom a mayor calls about an alert, as the mayor's mail names it
    /// ("de chef van dienst OOV, 030 123 45 67"); without it the mail names
    /// the supervisor who confirmed the alert.
    #[serde(default)]
    pub contact: Option<String>,
}

fn default_digest_hour() -> u32 {
    7
}

fn default_summary_lead() -> HumanDuration {
    HumanDuration(Duration::from_secs(24 * 3600))
}

fn default_region_name() -> String {
    "de regio".to_owned()
}

fn default_evaluate_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(15))
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            evaluate_interval: default_evaluate_interval(),
            region_name: default_region_name(),
            digest_hour: default_digest_hour(),
            summary_lead: default_summary_lead(),
            contact: None,
        }
    }
}

impl HttpConfig {
    /// `public_url` without a trailing slash, to put paths after.
    pub fn public_base(&self) -> Option<String> {
        self.public_url.as_deref().map(|u| u.trim_end_matches('/').to_owned())
    }

    /// What is wrong with `public_url`, if anything: an absolute https URL
    /// (http only towards a loopback host), no credentials, query or fragment.
    fn public_url_problem(&self) -> Option<String> {
        let raw = self.public_url.as_deref()?;
        let url = match url::Url::parse(raw) {
            Ok(url) => url,
            Err(e) => return Some(format!("{raw:?} is not a URL such as \"https://onrust.regio.example\": {e}")),
        };
        let host = url.host_str().unwrap_or_default();
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(host) => {}
            "http" => return Some(format!("http only towards a loopback host, not {host}: people read mail with it")),
            other => return Some(format!("scheme {other} is not https")),
        }
        if host.is_empty() || !url.username().is_empty() || url.password().is_some() {
            return Some("needs a host and no user name or password".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Some("must not have a query or a fragment: paths are put after it".into());
        }
        None
    }

    /// Off loopback, `/metrics`, `/healthz` and `/readyz` need the monitor token too (S8).
    fn token_problem(&self) -> Option<String> {
        (!self.listen.ip().is_loopback() && self.token_file.is_none())
            .then(|| format!("{} is not a loopback address, so a token file is required", self.listen))
    }

    /// Listens on `listen` instead (one of several processes on a machine),
    /// under the same rule as `http.listen`.
    pub fn listen_on(&mut self, listen: SocketAddr) -> Result<(), String> {
        let before = std::mem::replace(&mut self.listen, listen);
        match self.token_problem() {
            Some(problem) => {
                self.listen = before;
                Err(format!("--listen {listen}: {problem} (set http.token_file)"))
            }
            None => Ok(()),
        }
    }
}

/// `[http]`: the listener for the API, health, readiness and metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on. On a non-loopback address every endpoint needs a token.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// File holding the "monitor" bearer token for `/metrics`, `/healthz`,
    /// `/readyz`; required when `listen` is not a loopback address.
    pub token_file: Option<PathBuf>,
    /// The API's tokens, `[[http.tokens]]`: who holds each and their role.
    /// Read entry by entry in [`Config::parse`], so each problem is reported.
    #[serde(skip)]
    pub tokens: Vec<TokenConfig>,
    /// Time budget of one API search: the archive stops a search past it
    /// (400, narrow it down); the API's own bound is a quarter later (503).
    #[serde(default = "default_search_budget")]
    pub search_budget: HumanDuration,
    /// API searches run at once; another waits for a free turn (up to the budget), then gets 503.
    #[serde(default = "default_search_concurrency")]
    pub search_concurrency: usize,
    /// The console signs a session out after this long without a request.
    #[serde(default = "default_session_idle")]
    pub session_idle: HumanDuration,
    /// The console signs a session out this long after sign-in, however busy.
    #[serde(default = "default_session_lifetime")]
    pub session_lifetime: HumanDuration,
    /// The address at which people reach onrust (the console, the feeds),
    /// such as `https://onrust.regio.example`: behind the TLS proxy, not
    /// `listen`. Officers' and supervisors' mail links to the alert there
    /// and `onrust feed add` prints whole feed addresses; without it the
    /// mail has no link and `feed add` prints the path only.
    #[serde(default)]
    pub public_url: Option<String>,
    /// A request's head (request line and headers) must arrive within this
    /// time of the server starting to wait for it: after the connection is
    /// accepted, or after the previous answer on a kept-alive connection.
    #[serde(default = "default_header_timeout")]
    pub header_timeout: HumanDuration,
    /// A connection on which nothing is read or written for this long while
    /// no request is being handled is closed: kept alive between requests, a
    /// request body that stalls, a client that stopped reading its answer.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: HumanDuration,
    /// Connections served at once; one more is answered 503 and closed. The
    /// process's file-descriptor limit must cover these and the stages
    /// (checked at start).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

impl HttpConfig {
    /// The listener's limits as `[http]` sets them.
    pub fn connection_limits(&self) -> onrust_web::ConnectionLimits {
        onrust_web::ConnectionLimits {
            header_timeout: self.header_timeout.0,
            idle_timeout: self.idle_timeout.0,
            max_connections: self.max_connections,
        }
    }
}

fn default_header_timeout() -> HumanDuration {
    HumanDuration(onrust_web::ConnectionLimits::default().header_timeout)
}
fn default_idle_timeout() -> HumanDuration {
    HumanDuration(onrust_web::ConnectionLimits::default().idle_timeout)
}
fn default_max_connections() -> usize {
    onrust_web::ConnectionLimits::default().max_connections
}
/// Most connections `http.max_connections` may allow.
pub const MAX_HTTP_CONNECTIONS: usize = 100_000;

fn default_session_idle() -> HumanDuration {
    HumanDuration(Duration::from_secs(30 * 60))
}
fn default_session_lifetime() -> HumanDuration {
    HumanDuration(Duration::from_secs(12 * 3600))
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_search_budget() -> HumanDuration {
    HumanDuration(Duration::from_secs(2))
}
fn default_search_concurrency() -> usize {
    4
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            token_file: None,
            tokens: Vec::new(),
            search_budget: default_search_budget(),
            search_concurrency: default_search_concurrency(),
            session_idle: default_session_idle(),
            session_lifetime: default_session_lifetime(),
            public_url: None,
            header_timeout: default_header_timeout(),
            idle_timeout: default_idle_timeout(),
            max_connections: default_max_connections(),
        }
    }
}

/// One `[[http.tokens]]` entry: a bearer token for the API (rules L8, S8, S9).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds the token; written to the audit log as `who`. `[a-z0-9._-]`, unique.
    pub name: String,
    /// What the holder may do: `officer`, `analyst`, `supervisor`, `fg` or `admin`.
    pub role: Role,
    /// SHA-256 of the token as 64 hex digits (`onrust token new` prints it);
    /// the token itself is never in the configuration.
    pub sha256: TokenHash,
    /// CBS codes (`["GM0344"]`) this token's alerts are limited to: their
    /// alerts and the regional ones are seen, only theirs changed. Left out:
    /// the whole region.
    #[serde(default)]
    pub municipalities: Option<Vec<onrust_model::MunicipalityCode>>,
}

/// Which bus backend carries the topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    Embedded,
    Kafka,
}

/// `[bus]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// `embedded` (default) or `kafka`.
    #[serde(default = "default_bus_kind")]
    pub kind: BusKind,
    /// Kafka bootstrap servers, `host:port,host:port` (kafka only).
    pub brokers: Option<String>,
    /// Records each embedded topic holds per consumer before producers wait.
    /// Small on purpose: a deep queue only adds latency once the stages keep up.
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// Kafka: partitions of each topic onrust creates (default 6); classify scales up to this many processes.
    pub partitions: Option<i32>,
    /// Kafka: replication factor of each topic onrust creates (default 1; 3 on a three-broker cluster).
    pub replication: Option<i32>,
    /// Kafka: create missing topics at start (default true).
    pub create_topics: Option<bool>,
    /// Kafka: `lz4` (default), `snappy`, `gzip` or `none`.
    pub compression: Option<String>,
    /// Kafka: `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl`.
    pub security_protocol: Option<String>,
    /// Kafka: CA bundle the brokers' certificates are verified with (default: the system's).
    pub ca_file: Option<PathBuf>,
    /// Kafka: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub sasl_mechanism: Option<String>,
    /// Kafka: the SASL user name.
    pub sasl_username: Option<String>,
    /// Kafka: file holding the SASL password (never the password itself).
    pub sasl_password_file: Option<PathBuf>,
    /// Kafka: further librdkafka producer settings; none may weaken `acks=all` and idempotence.
    #[serde(default)]
    pub producer: std::collections::BTreeMap<String, String>,
    /// Kafka: further librdkafka consumer settings; none may store offsets automatically.
    #[serde(default)]
    pub consumer: std::collections::BTreeMap<String, String>,
}

impl BusConfig {
    /// What the Kafka backend is told.
    pub fn kafka_options(&self) -> onrust_bus::KafkaOptions {
        let d = onrust_bus::KafkaOptions::default();
        onrust_bus::KafkaOptions {
            brokers: self.brokers.clone().unwrap_or_default(),
            client_id: d.client_id,
            partitions: self.partitions.unwrap_or(d.partitions),
            replication: self.replication.unwrap_or(d.replication),
            create_topics: self.create_topics.unwrap_or(d.create_topics),
            compression: self.compression.clone().unwrap_or(d.compression),
            security_protocol: self.security_protocol.clone().unwrap_or(d.security_protocol),
            ca_file: self.ca_file.clone(),
            sasl_mechanism: self.sasl_mechanism.clone(),
            sasl_username: self.sasl_username.clone(),
            sasl_password_file: self.sasl_password_file.clone(),
            producer: self.producer.clone(),
            consumer: self.consumer.clone(),
        }
    }

    /// The Kafka keys that are set, by name.
    fn kafka_keys_set(&self) -> Vec<&'static str> {
        let set = [
            ("brokers", self.brokers.is_some()),
            ("partitions", self.partitions.is_some()),
            ("replication", self.replication.is_some()),
            ("create_topics", self.create_topics.is_some()),
            ("compression", self.compression.is_some()),
            ("security_protocol", self.security_protocol.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("sasl_mechanism", self.sasl_mechanism.is_some()),
            ("sasl_username", self.sasl_username.is_some()),
            ("sasl_password_file", self.sasl_password_file.is_some()),
            ("producer", !self.producer.is_empty()),
            ("consumer", !self.consumer.is_empty()),
        ];
        set.into_iter().filter(|(_, s)| *s).map(|(k, _)| k).collect()
    }
}

fn default_bus_kind() -> BusKind {
    BusKind::Embedded
}

fn default_capacity() -> usize {
    1024
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            kind: BusKind::Embedded,
            brokers: None,
            capacity: default_capacity(),
            partitions: None,
            replication: None,
            create_topics: None,
            compression: None,
            security_protocol: None,
            ca_file: None,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password_file: None,
            producer: std::collections::BTreeMap::new(),
            consumer: std::collections::BTreeMap::new(),
        }
    }
}

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

/// `[classify]`: lexicons and languages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyConfig {
    /// Languages the detector may answer (ISO 639-1).
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// Folder of theme lexicons, relative to the config file.
    #[serde(default = "default_themes_dir")]
    pub themes_dir: PathBuf,
    /// The woonplaats → municipality table, relative to the config file.
    #[serde(default = "default_gazetteer")]
    pub gazetteer: PathBuf,
    /// Extra terms no lexicon may contain (rule L11), on top of the built-in list.
    #[serde(default)]
    pub deny_terms: Vec<String>,
    /// Folder of escalation signal lexicons, relative to the config file.
    #[serde(default = "default_signals_dir")]
    pub signals_dir: PathBuf,
    /// The escalation model (weights, level thresholds), relative to the config file.
    #[serde(default = "default_escalation")]
    pub escalation: PathBuf,
}

fn default_languages() -> Vec<String> {
    ["nl", "en", "de", "fr"].map(str::to_owned).to_vec()
}
fn default_themes_dir() -> PathBuf {
    PathBuf::from("themes")
}
fn default_signals_dir() -> PathBuf {
    PathBuf::from("signals")
}
fn default_escalation() -> PathBuf {
    PathBuf::from("escalation.toml")
}
fn default_gazetteer() -> PathBuf {
    PathBuf::from("gazetteer/woonplaatsen-gemeenten-2024.csv")
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        Self {
            languages: default_languages(),
            themes_dir: default_themes_dir(),
            gazetteer: default_gazetteer(),
            deny_terms: Vec::new(),
            signals_dir: default_signals_dir(),
            escalation: default_escalation(),
        }
    }
}

/// `[archive]`: how the index commits, buckets time and forgets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// The span of one bucket (one index): `day`, `week` or `month` of fetch
    /// time. Retention deletes whole buckets, so this is its granularity.
    #[serde(default)]
    pub bucket: onrust_archive::Period,
    /// Keep archived messages this long after they were fetched, then delete
    /// their bucket physically, with a record in the audit log (rule
    /// L6). A bucket goes once all of it is older than this.
    #[serde(default = "default_retention")]
    pub retention: HumanDuration,
    /// Indexing threads of the archive writer.
    #[serde(default = "default_writer_threads")]
    pub writer_threads: usize,
    /// Commit at least this often while messages arrive.
    #[serde(default = "default_commit_interval")]
    pub commit_interval: HumanDuration,
    /// Commit early once this many messages wait.
    #[serde(default = "default_commit_max_docs")]
    pub commit_max_docs: usize,
    /// Indexing memory budget per writer thread.
    #[serde(default = "default_writer_memory")]
    pub writer_memory_bytes: usize,
}

fn default_retention() -> HumanDuration {
    HumanDuration(Duration::from_secs(90 * 24 * 3600))
}
fn default_writer_threads() -> usize {
    1
}
fn default_commit_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}
fn default_commit_max_docs() -> usize {
    50_000
}
fn default_writer_memory() -> usize {
    64 * 1024 * 1024
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            bucket: onrust_archive::Period::default(),
            retention: default_retention(),
            writer_threads: default_writer_threads(),
            commit_interval: default_commit_interval(),
            commit_max_docs: default_commit_max_docs(),
            writer_memory_bytes: default_writer_memory(),
        }
    }
}

/// `[privacy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// How long one pseudonym key lives; authors get a new pseudonym each period (rule L2).
    #[serde(default = "default_pseudonym_period")]
    pub pseudonym_period: HumanDuration,
}

fn default_pseudonym_period() -> HumanDuration {
    HumanDuration(Duration::from_secs(28 * 24 * 3600))
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self { pseudonym_period: default_pseudonym_period() }
    }
}

/// The kinds of source. `feed`, `reddit`, `youtube` and `authority` are feeds
/// read by the same safe fetcher and parser; the kind is what their messages
/// carry (`source_kind`), so rules and searches can tell them apart.
/// `mastodon` and `telegram` are polled over the same fetcher; `bluesky` is a
/// Jetstream WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKindConfig {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// A subreddit's `.rss` (the `.json` endpoints answer 403 without login).
    Reddit,
    /// A channel's `feeds/videos.xml?channel_id=…`: title and description.
    Youtube,
    /// The authorities' own publications: politie.nl news, official municipal
    /// publications (emergency ordinances), as `source_kind = "authority"`.
    Authority,
    /// Hashtag timelines of one Mastodon instance (`url` is the instance, `tags` the hashtags).
    Mastodon,
    /// Bluesky posts from a Jetstream instance (`url` is its `wss://…/subscribe`).
    Bluesky,
    /// A public Telegram channel's web preview (`url` is `https://t.me/s/<channel>`).
    Telegram,
}

impl SourceKindConfig {
    /// The kind the messages of such a source carry.
    pub fn message_kind(self) -> onrust_model::SourceKind {
        match self {
            Self::Feed => onrust_model::SourceKind::Feed,
            Self::Reddit => onrust_model::SourceKind::Reddit,
            Self::Youtube => onrust_model::SourceKind::Youtube,
            Self::Authority => onrust_model::SourceKind::Authority,
            Self::Mastodon => onrust_model::SourceKind::Mastodon,
            Self::Bluesky => onrust_model::SourceKind::Bluesky,
            Self::Telegram => onrust_model::SourceKind::Telegram,
        }
    }

    /// The configuration's name of the kind.
    pub fn name(self) -> &'static str {
        self.message_kind().as_str()
    }
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Stable id, `[a-z0-9_-]`; part of every message id from this source.
    pub id: String,
    /// `feed` (RSS, Atom, JSON Feed), `reddit`, `youtube`, `authority`,
    /// `mastodon`, `bluesky` or `telegram`.
    pub kind: SourceKindConfig,
    /// Where to read: the feed (http, https); the Mastodon instance
    /// (`https://mastodon.nl`); the Jetstream endpoint (`wss://…/subscribe`);
    /// the channel preview (`https://t.me/s/<channel>`).
    pub url: String,
    /// How often to poll; the feed's own ttl, max-age or Retry-After can only
    /// make it longer. Not used by `bluesky`, which streams.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Set to false to keep the entry but not poll it.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The municipalities (CBS codes) this source covers, for the coverage
    /// metric (rule R10); empty: the whole region (a regional source).
    #[serde(default)]
    pub municipalities: Vec<String>,
    /// `mastodon` only: the hashtags to follow, without `#`; queried four at a time.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `bluesky` only: the post languages (`langs` tags, ISO 639-1) let in; default `["nl"]`.
    #[serde(default)]
    pub languages: Vec<String>,
    /// The `[[mandates]]` id this source runs under (rule L5); required.
    #[serde(default)]
    pub mandate: Option<String>,
}

impl SourceConfig {
    /// The languages a `bluesky` source lets in.
    pub fn bluesky_languages(&self) -> Vec<String> {
        if self.languages.is_empty() { vec!["nl".to_owned()] } else { self.languages.clone() }
    }
}

/// Most hashtags one Mastodon source follows (each four is one request per poll).
pub const MAX_MASTODON_TAGS: usize = 40;

/// Telegram previews show only the latest few dozen posts: a slower poll misses some on a busy channel.
pub const MAX_TELEGRAM_INTERVAL: Duration = Duration::from_secs(30 * 60);

fn default_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(300))
}
fn default_true() -> bool {
    true
}

/// The checks that depend on a source's kind: the URL's form, and the keys only some kinds take.
fn validate_source_kind(
    source: &SourceConfig,
    allow_hosts: &[String],
    key: &dyn Fn(&str) -> String,
    c: &mut Collector,
) {
    use SourceKindConfig as K;
    let url = match url::Url::parse(&source.url) {
        Ok(url) => url,
        Err(e) => return c.push(key("url"), format!("{:?} is not a URL: {e}", checks::redacted(&source.url))),
    };
    let schemes: &[&str] = if source.kind == K::Bluesky { &["wss", "ws"] } else { &["https", "http"] };
    if !schemes.contains(&url.scheme()) {
        let allowed = schemes.join(" or ");
        c.push(
            key("url"),
            format!("scheme {:?} is not allowed for kind {}; use {allowed}", url.scheme(), source.kind.name()),
        );
    } else {
        for problem in checks::source_url(&source.url, &url, allow_hosts) {
            c.push(key("url"), problem);
        }
    }
    if source.kind != K::Mastodon && !source.tags.is_empty() {
        c.push(key("tags"), format!("only a mastodon source follows tags, not kind {}", source.kind.name()));
    }
    if source.kind != K::Bluesky && !source.languages.is_empty() {
        c.push(
            key("languages"),
            format!("only a bluesky source filters on languages, not kind {}", source.kind.name()),
        );
    }
    match source.kind {
        K::Mastodon => {
            if !matches!(url.path(), "" | "/") || url.query().is_some() {
                c.push(key("url"), "a mastodon source's url is the instance itself, such as \"https://mastodon.nl\"");
            }
            if source.tags.is_empty() {
                c.push(key("tags"), "a mastodon source needs at least one hashtag to follow");
            }
            if source.tags.len() > MAX_MASTODON_TAGS {
                c.push(
                    key("tags"),
                    format!("at most {MAX_MASTODON_TAGS} tags per source; split them over more sources"),
                );
            }
            let mut seen = HashSet::new();
            for tag in &source.tags {
                let valid = !tag.is_empty()
                    && tag.chars().count() <= 100
                    && tag.chars().all(|ch| ch.is_alphanumeric() || ch == '_');
                if !valid {
                    c.push(key("tags"), format!("{tag:?} is not a hashtag: letters, digits and _ only, without #"));
                } else if !seen.insert(tag.to_lowercase()) {
                    c.push(key("tags"), format!("{tag:?} is listed twice"));
                }
            }
        }
        K::Telegram => {
            if let Err(e) = onrust_ingest::telegram::channel_of(&url) {
                c.push(key("url"), format!("{e}, such as \"https://t.me/s/channel\""));
            }
            if source.interval.0 > MAX_TELEGRAM_INTERVAL {
                c.push(key("interval"), "at most 30m for telegram: the preview shows only the latest few dozen posts");
            }
        }
        K::Bluesky => {
            // Its delete events remove archived messages: nobody on the way may inject them.
            let guard = onrust_ingest::fetch::guard::EgressGuard::new(allow_hosts);
            let local = url.host_str().is_some_and(|host| guard.is_allowed_host(host));
            if url.scheme() == "ws" && !local {
                c.push(key("url"), "ws:// is unencrypted; use wss:// (ws only towards a host in ingest.allow_hosts)");
            }
            for lang in &source.languages {
                if lang.len() != 2 || !lang.chars().all(|ch| ch.is_ascii_lowercase()) {
                    c.push(key("languages"), format!("{lang:?} is not an ISO 639-1 code such as \"nl\""));
                }
            }
        }
        K::Feed | K::Reddit | K::Youtube | K::Authority => {}
    }
}

/// Every problem found, in file order, each with the file and a key (`-`
/// for the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} in the configuration:", onrust_model::problem_count(self.0.len()))?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

struct Collector {
    file: PathBuf,
    problems: Vec<Problem>,
    /// The municipalities an entry may name.
    places: Places,
}

/// The municipalities a recipient, webhook, token, rule or source may name
/// (issue 16: a recipient for GM9999 reaches nobody, quietly): those of
/// `[region]`, or without one every municipality in the gazetteer. The
/// region's own codes must be in the gazetteer.
#[derive(Debug, Default)]
struct Places {
    /// `region.municipalities`, as onrust writes the codes.
    region: Vec<String>,
    /// The gazetteer's file and its municipality codes; `None` when it cannot
    /// be read (that is reported as `classify.gazetteer` on its own).
    gazetteer: Option<(PathBuf, HashSet<String>)>,
}

impl Places {
    fn load(config_dir: &Path, classify: &ClassifyConfig, region: &RegionConfig) -> Self {
        let file = config_dir.join(&classify.gazetteer);
        let gazetteer = onrust_classify::municipality_names(&file)
            .ok()
            .map(|names| (file, names.into_iter().map(|(code, _)| code.as_str().to_owned()).collect()));
        Self { region: region.municipalities.clone(), gazetteer }
    }

    /// Why `code` (as onrust writes it) names no municipality the gazetteer knows.
    fn not_in_gazetteer(&self, code: &str) -> Option<String> {
        match &self.gazetteer {
            Some((file, codes)) if !codes.contains(code) => {
                Some(format!("{code} is no municipality: the gazetteer {} does not know it", file.display()))
            }
            _ => None,
        }
    }

    /// Why an entry may not name `code`: outside the region, or (without a
    /// region) unknown to the gazetteer.
    fn unknown(&self, code: &onrust_model::MunicipalityCode) -> Option<String> {
        if self.region.is_empty() {
            self.not_in_gazetteer(code.as_str())
        } else {
            (!self.region.iter().any(|r| r == code.as_str())).then(|| format!("{code} is not in region.municipalities"))
        }
    }
}

impl Collector {
    fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::in_file(self.file.clone(), key, message));
    }

    /// Deserialises one section, recording its error instead of stopping.
    fn section<T: DeserializeOwned + Default>(&mut self, table: &mut toml::Table, key: &str) -> T {
        match table.remove(key) {
            None => T::default(),
            Some(value) => self.value(key, value).unwrap_or_default(),
        }
    }

    fn value<T: DeserializeOwned>(&mut self, key: &str, value: toml::Value) -> Option<T> {
        match T::deserialize(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(key, e.message().trim_end_matches('.').to_owned());
                None
            }
        }
    }
}

impl Collector {
    /// Takes `[[http.tokens]]` out of `[http]` and reads and checks each entry
    /// on its own, so one bad entry neither hides the others nor the rest of
    /// `[http]`, and each problem names the entry's place in the file.
    fn tokens(&mut self, table: &mut toml::Table) -> Vec<TokenConfig> {
        let Some(toml::Value::Table(http)) = table.get_mut("http") else { return Vec::new() };
        let entries = match http.remove("tokens") {
            None => return Vec::new(),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => {
                self.push("http.tokens", "must be an array of tables: [[http.tokens]]");
                return Vec::new();
            }
        };
        let mut tokens: Vec<TokenConfig> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let Some(token) = self.value::<TokenConfig>(&format!("http.tokens[{i}]"), entry) else { continue };
            let key = |field: &str| format!("http.tokens[{i}].{field}");
            if let Err(e) = onrust_web::auth::check_token_name(&token.name) {
                self.push(key("name"), e);
            }
            if tokens.iter().any(|t| t.name == token.name) {
                self.push(key("name"), format!("{:?} is used by an earlier token; names must be unique", token.name));
            }
            if token.municipalities.as_ref().is_some_and(Vec::is_empty) {
                self.push(key("municipalities"), "lists no municipality; leave it out for the whole region");
            }
            if token.municipalities.is_some() && !matches!(token.role, Role::Officer | Role::Supervisor) {
                self.push(
                    key("municipalities"),
                    format!("limits alerts, so only for an officer or supervisor, not {}", token.role),
                );
            }
            for code in token.municipalities.iter().flatten() {
                if let Some(problem) = self.places.unknown(code) {
                    self.push(key("municipalities"), problem);
                }
            }
            if let Some(earlier) = tokens.iter().find(|t| t.sha256 == token.sha256) {
                self.push(
                    key("sha256"),
                    format!("the same token as {:?}; give every holder their own (onrust token new)", earlier.name),
                );
            }
            tokens.push(token);
        }
        tokens
    }
}

impl Collector {
    /// Who a `[[recipients]]` or `[[webhooks]]` entry is for: a CBS code of
    /// the region, or `"*"` for the whole region; a bad or unknown code is
    /// reported under `key`.
    fn scope(&mut self, key: String, municipality: &str) -> Option<RecipientScope> {
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
        let entries = match table.remove("recipients") {
            None => return Vec::new(),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => {
                self.push("recipients", "must be an array of tables: [[recipients]]");
                return Vec::new();
            }
        };
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
        let entries = match table.remove("webhooks") {
            None => return Vec::new(),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => {
                self.push("webhooks", "must be an array of tables: [[webhooks]]");
                return Vec::new();
            }
        };
        let mut out: Vec<(RecipientConfig, WebhookConfig)> = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let Some(w) = self.value::<WebhookEntry>(&format!("webhooks[{i}]"), entry) else { continue };
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

    /// Reads `[[rules]]` entry by entry, then validates them together; every
    /// problem is reported under `rules[i].key` with `i` the entry's place in the file.
    fn rules(
        &mut self,
        table: &mut toml::Table,
        bound: &mandate_checks::Bound<'_>,
        recipients: &[RecipientConfig],
    ) -> Vec<onrust_alert::Rule> {
        let entries = match table.remove("rules") {
            None => return Vec::new(),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => {
                self.push("rules", "must be an array of tables: [[rules]]");
                return Vec::new();
            }
        };
        let mut configs = Vec::new();
        let mut positions = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            if let Some(rule) = self.value::<onrust_alert::RuleConfig>(&format!("rules[{i}]"), entry) {
                // A rule for a municipality onrust does not watch would never fire.
                for (j, given) in rule.municipalities.iter().enumerate() {
                    let problem = onrust_model::MunicipalityCode::new(given.as_str())
                        .ok()
                        .and_then(|code| self.places.unknown(&code));
                    if let Some(problem) = problem {
                        self.push(format!("rules[{i}].municipalities[{j}]"), problem);
                    }
                }
                for (field, problem) in bound.rule_problems(&rule, recipients) {
                    self.push(format!("rules[{i}].{field}"), problem);
                }
                configs.push(rule);
                positions.push(i);
            }
        }
        match onrust_alert::validate(&configs) {
            Ok(rules) => rules,
            Err(problems) => {
                for p in problems {
                    self.push(renumber_rule_key(&p.key, &positions), p.message);
                }
                Vec::new()
            }
        }
    }
}

/// `rules[2].window` of the parsed rules → the same key by place in the file.
fn renumber_rule_key(key: &str, positions: &[usize]) -> String {
    let parsed = key
        .strip_prefix("rules[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(n, rest)| n.parse::<usize>().ok().map(|n| (n, rest)));
    match parsed {
        Some((n, rest)) => format!("rules[{}]{rest}", positions.get(n).copied().unwrap_or(n)),
        None => key.to_owned(),
    }
}

impl Config {
    /// Reads and validates `path`; every problem is reported at once.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![Problem::in_file(path, "-", format!("cannot read: {e}"))]))?;
        Self::parse(path, &text)
    }

    /// Validates `text` as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let mut c = Collector { file: path.to_owned(), problems: Vec::new(), places: Places::default() };
        let mut table: toml::Table = match text.parse() {
            Ok(table) => table,
            Err(e) => {
                c.push("-", format!("not valid TOML: {}", e.to_string().trim_end()));
                return Err(ConfigErrors(c.problems));
            }
        };
        let data_dir = match table.remove("data_dir") {
            None => PathBuf::from("data"),
            Some(value) => c.value::<PathBuf>("data_dir", value).unwrap_or_else(|| PathBuf::from("data")),
        };
        // First what says which municipalities there are, so every entry
        // that names one is checked against them as it is read.
        let classify: ClassifyConfig = c.section(&mut table, "classify");
        let mut region: RegionConfig = c.section(&mut table, "region");
        // CBS codes as onrust writes them ("0344" is GM0344); what is not a code stays for validate to name.
        let normalise = |codes: &mut Vec<String>| {
            for code in codes.iter_mut() {
                if let Ok(m) = onrust_model::MunicipalityCode::new(code.clone()) {
                    *code = m.as_str().to_owned();
                }
            }
        };
        normalise(&mut region.municipalities);
        let config_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        c.places = Places::load(&config_dir, &classify, &region);
        let (mandates, trial_started) = c.mandates(&mut table, &config_dir, &classify, &data_dir);
        let tokens = c.tokens(&mut table);
        let mut http: HttpConfig = c.section(&mut table, "http");
        http.tokens = tokens;
        let bus: BusConfig = c.section(&mut table, "bus");
        let ingest: IngestConfig = c.section(&mut table, "ingest");
        let archive: ArchiveConfig = c.section(&mut table, "archive");
        let privacy: PrivacyConfig = c.section(&mut table, "privacy");
        let retention: RetentionConfig = c.section(&mut table, "retention");
        let mut sources = Vec::new();
        // Each parsed source's place in the file, so a later problem names the right entry.
        let mut positions = Vec::new();
        match table.remove("sources") {
            None => {}
            Some(toml::Value::Array(entries)) => {
                for (i, entry) in entries.into_iter().enumerate() {
                    if let Some(source) = c.value::<SourceConfig>(&format!("sources[{i}]"), entry) {
                        sources.push(source);
                        positions.push(i);
                    }
                }
            }
            Some(_) => c.push("sources", "must be an array of tables: [[sources]]"),
        }
        let smtp: Option<SmtpSection> = table.remove("smtp").and_then(|v| c.value("smtp", v));
        let alerts: AlertsConfig = c.section(&mut table, "alerts");
        let mut recipients = c.recipients(&mut table);
        let mut webhooks: Vec<WebhookConfig> = Vec::new();
        for (recipient, webhook) in c.webhooks(&mut table) {
            recipients.push(recipient);
            match webhooks.iter().find(|w| w.url == webhook.url) {
                None => webhooks.push(webhook),
                Some(w) if w.secret_file == webhook.secret_file && w.timeout == webhook.timeout => {}
                Some(_) => c.push(
                    "webhooks",
                    "the same url twice with another secret_file or timeout: one receiver has one key",
                ),
            }
        }
        let today = mandates::amsterdam_date(chrono::Utc::now());
        let bound = mandate_checks::Bound { mandates: &mandates, trial_started, today };
        let rules = c.rules(&mut table, &bound, &recipients);
        for source in &mut sources {
            normalise(&mut source.municipalities);
        }
        for (source, at) in sources.iter().zip(&positions) {
            for (field, problem) in bound.source_problems(source) {
                c.push(format!("sources[{at}].{field}"), problem);
            }
        }
        for key in table.keys() {
            c.push(key.clone(), "unknown key");
        }

        let config = Config {
            path: path.to_owned(),
            data_dir,
            http,
            bus,
            ingest,
            classify,
            archive,
            privacy,
            retention,
            sources,
            smtp,
            recipients,
            webhooks,
            rules,
            alerts,
            region,
            mandates,
            trial_started,
        };
        config.validate(&mut c, &positions);
        if c.problems.is_empty() { Ok(config) } else { Err(ConfigErrors(c.problems)) }
    }

    fn validate(&self, c: &mut Collector, source_positions: &[usize]) {
        match self.bus.kind {
            BusKind::Kafka => {
                if self.bus.brokers.is_none() {
                    c.push("bus.brokers", "required with kind = \"kafka\": host:port,host:port");
                }
                for (key, problem) in self.bus.kafka_options().problems() {
                    if key != "brokers" || self.bus.brokers.is_some() {
                        c.push(format!("bus.{key}"), problem);
                    }
                }
                if let Some(path) = &self.bus.sasl_password_file
                    && let Err(e) = onrust_durable::check_secret_file(path)
                {
                    c.push("bus.sasl_password_file", e.to_string());
                }
            }
            BusKind::Embedded => {
                for key in self.bus.kafka_keys_set() {
                    c.push(format!("bus.{key}"), "only used with kind = \"kafka\"");
                }
            }
        }
        if !(1..=1_000_000).contains(&self.bus.capacity) {
            c.push("bus.capacity", "must be between 1 and 1000000");
        }
        let secs = Duration::from_secs;
        let bounds = [
            ("ingest.min_host_interval", self.ingest.min_host_interval.0, Duration::ZERO, secs(3600)),
            ("ingest.connect_timeout", self.ingest.connect_timeout.0, Duration::from_millis(100), secs(300)),
            ("ingest.total_timeout", self.ingest.total_timeout.0, Duration::from_millis(100), secs(3600)),
            ("archive.commit_interval", self.archive.commit_interval.0, Duration::from_millis(10), secs(3600)),
            ("archive.retention", self.archive.retention.0, secs(24 * 3600), secs(10 * 366 * 24 * 3600)),
            ("privacy.pseudonym_period", self.privacy.pseudonym_period.0, secs(3600), secs(10 * 366 * 24 * 3600)),
        ];
        for (key, value, min, max) in bounds.into_iter().chain(self.retention.bounds()) {
            if value < min || value > max {
                c.push(
                    key,
                    format!(
                        "must be between {} and {}",
                        humantime::format_duration(min),
                        humantime::format_duration(max)
                    ),
                );
            }
        }
        if self.archive.commit_max_docs > 10_000_000 {
            c.push("archive.commit_max_docs", "must be at most 10000000");
        }
        if self.archive.writer_memory_bytes > 4_000_000_000 {
            c.push("archive.writer_memory_bytes", "must be at most 4000000000");
        }
        if let Some(problem) = self.http.token_problem() {
            c.push("http.token_file", problem);
        }
        if let Some(path) = &self.http.token_file
            && let Err(problem) = read_monitor_token(path)
        {
            c.push("http.token_file", problem);
        }
        if let Some(problem) = checks::data_dir(&self.data_dir) {
            c.push("data_dir", problem);
        }
        if !(Duration::from_millis(10)..=Duration::from_secs(60)).contains(&self.http.search_budget.0) {
            c.push("http.search_budget", "must be between 10ms and 1m");
        }
        if !(Duration::from_secs(60)..=Duration::from_secs(24 * 3600)).contains(&self.http.session_idle.0) {
            c.push("http.session_idle", "must be between 1m and 24h");
        }
        if !(self.http.session_idle.0..=Duration::from_secs(7 * 24 * 3600)).contains(&self.http.session_lifetime.0) {
            c.push("http.session_lifetime", "must be at least http.session_idle and at most 7d");
        }
        if let Some(problem) = self.http.public_url_problem() {
            c.push("http.public_url", problem);
        }
        if !(1..=64).contains(&self.http.search_concurrency) {
            c.push("http.search_concurrency", "must be between 1 and 64");
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&self.http.header_timeout.0) {
            c.push("http.header_timeout", "must be between 100ms and 10m");
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&self.http.idle_timeout.0) {
            c.push("http.idle_timeout", "must be between 100ms and 1h");
        }
        if !(1..=MAX_HTTP_CONNECTIONS).contains(&self.http.max_connections) {
            c.push("http.max_connections", format!("must be between 1 and {MAX_HTTP_CONNECTIONS}"));
        }
        if !(1..=16).contains(&self.archive.writer_threads) {
            c.push("archive.writer_threads", "must be between 1 and 16");
        }
        if self.archive.commit_max_docs == 0 {
            c.push("archive.commit_max_docs", "must be at least 1");
        }
        if self.archive.writer_memory_bytes < 15_000_000 {
            c.push("archive.writer_memory_bytes", "must be at least 15000000 (the index writer's minimum)");
        }
        if !(1..=16).contains(&self.ingest.max_requests_per_host) {
            c.push("ingest.max_requests_per_host", "must be between 1 and 16");
        }
        if self.ingest.max_decoded_bytes == 0 || self.ingest.max_compressed_bytes == 0 {
            c.push("ingest.max_*_bytes", "must be above 0");
        }
        match url::Url::parse(&self.ingest.contact_url) {
            Err(e) => c.push("ingest.contact_url", format!("not a URL: {e}")),
            // It goes out in the User-Agent of every request.
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                c.push("ingest.contact_url", "carries a user name or password, which every feed server would see")
            }
            Ok(_) => {}
        }
        let mut seen = HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            let at = source_positions.get(i).copied().unwrap_or(i);
            let key = |field: &str| format!("sources[{at}].{field}");
            if let Err(e) = onrust_model::SourceId::new(source.id.clone()) {
                c.push(key("id"), e.to_string());
            }
            if !seen.insert(source.id.clone()) {
                c.push(key("id"), format!("{:?} is used by an earlier source; ids must be unique", source.id));
            }
            validate_source_kind(source, &self.ingest.allow_hosts, &key, c);
            if source.interval.0 < Duration::from_secs(10) {
                c.push(key("interval"), "must be at least 10s; be polite to feed operators");
            }
            if source.interval.0 > Duration::from_secs(7 * 24 * 3600) {
                c.push(key("interval"), "must be at most 7d");
            }
            // A poll must be able to end before the next is due (Bluesky streams, it does not poll).
            if source.kind != SourceKindConfig::Bluesky
                && source.interval.0 >= Duration::from_secs(10)
                && source.interval.0 < self.ingest.total_timeout.0
            {
                c.push(
                    key("interval"),
                    format!(
                        "{} is shorter than ingest.total_timeout ({}): a poll may take that long",
                        humantime::format_duration(source.interval.0),
                        humantime::format_duration(self.ingest.total_timeout.0)
                    ),
                );
            }
            for code in &source.municipalities {
                match onrust_model::MunicipalityCode::new(code.clone()) {
                    Err(_) => c.push(key("municipalities"), format!("{code:?} is not a CBS code such as \"GM0344\"")),
                    Ok(code) => {
                        if let Some(problem) = c.places.unknown(&code) {
                            c.push(key("municipalities"), problem);
                        }
                    }
                }
            }
        }
        let mut region_seen = HashSet::new();
        for code in &self.region.municipalities {
            if onrust_model::MunicipalityCode::new(code.clone()).is_err() {
                c.push("region.municipalities", format!("{code:?} is not a CBS code such as \"GM0344\""));
            } else if !region_seen.insert(code) {
                c.push("region.municipalities", format!("{code} is listed twice"));
            } else if let Some(problem) = c.places.not_in_gazetteer(code) {
                c.push("region.municipalities", problem);
            }
        }
        if let Some(smtp) = &self.smtp {
            self.validate_smtp(c, smtp);
        }
        let interval = self.alerts.evaluate_interval.0;
        if interval < Duration::from_secs(1) || interval > Duration::from_secs(3600) {
            c.push("alerts.evaluate_interval", "must be between 1s and 1h");
        }
        let region = &self.alerts.region_name;
        if region.trim().is_empty() || region.chars().count() > 80 || region.chars().any(char::is_control) {
            c.push("alerts.region_name", "must be 1 to 80 characters without control characters");
        }
        if let Some(contact) = &self.alerts.contact
            && (contact.trim().is_empty() || contact.chars().count() > 200 || contact.chars().any(char::is_control))
        {
            c.push("alerts.contact", "must be 1 to 200 characters without control characters");
        }
        if self.alerts.digest_hour > 23 {
            c.push("alerts.digest_hour", "must be an hour from 0 to 23");
        }
        let lead = self.alerts.summary_lead.0;
        if lead < Duration::from_secs(3600) || lead > Duration::from_secs(7 * 24 * 3600) {
            c.push("alerts.summary_lead", "must be between 1h and 7d");
        }
        let dir = self.config_dir();
        if !dir.join(&self.classify.themes_dir).is_dir() {
            c.push("classify.themes_dir", format!("{} is not a folder", dir.join(&self.classify.themes_dir).display()));
        }
        if !dir.join(&self.classify.signals_dir).is_dir() {
            c.push(
                "classify.signals_dir",
                format!("{} is not a folder", dir.join(&self.classify.signals_dir).display()),
            );
        }
        if !dir.join(&self.classify.escalation).is_file() {
            c.push("classify.escalation", format!("{} is not a file", dir.join(&self.classify.escalation).display()));
        }
        if !dir.join(&self.classify.gazetteer).is_file() {
            c.push("classify.gazetteer", format!("{} is not a file", dir.join(&self.classify.gazetteer).display()));
        }
    }

    fn validate_smtp(&self, c: &mut Collector, smtp: &SmtpSection) {
        use onrust_notify::smtp::TlsMode;
        if smtp.host.trim().is_empty() || smtp.host.contains(['\r', '\n', '\0', ' ', '/']) {
            c.push("smtp.host", "must be a host name or an IP address");
        }
        if smtp.tls == TlsMode::None && !is_loopback_host(&smtp.host) {
            c.push(
                "smtp.tls",
                format!("\"none\" is only allowed towards a loopback host, not {:?}; use starttls or tls", smtp.host),
            );
        }
        if smtp.port == 0 {
            c.push("smtp.port", "must be between 1 and 65535");
        }
        if let Err(e) = onrust_notify::mail::check_address("From", &smtp.from) {
            c.push("smtp.from", e.to_string());
        }
        match (&smtp.username, &smtp.password_file) {
            (Some(_), None) => c.push("smtp.password_file", "required when smtp.username is set"),
            (None, Some(_)) => c.push("smtp.username", "required when smtp.password_file is set"),
            _ => {}
        }
        if let Some(file) = &smtp.password_file
            && let Err(e) = onrust_durable::check_secret_file(file)
        {
            c.push("smtp.password_file", e.to_string());
        }
        if let Some(file) = &smtp.ca_file
            && !file.is_file()
        {
            c.push("smtp.ca_file", format!("{} is not a file", file.display()));
        }
        let t = smtp.timeout.0;
        if t < Duration::from_secs(1) || t > Duration::from_secs(600) {
            c.push("smtp.timeout", "must be between 1s and 10m");
        }
    }

    /// The folder the config file is in; lexicon paths are relative to it.
    pub fn config_dir(&self) -> PathBuf {
        self.path.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.data_dir.join("archive")
    }
    pub fn cursor_dir(&self) -> PathBuf {
        self.data_dir.join("cursors")
    }
    pub fn key_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
    pub fn audit_path(&self) -> PathBuf {
        self.data_dir.join("audit").join("audit.jsonl")
    }
    /// The console's accounts (`onrust user add`): names, roles, argon2id hashes.
    pub fn users_path(&self) -> PathBuf {
        onrust_web::console::users::UserFile::path_in(&self.data_dir)
    }
    /// The feed subscriptions (`onrust feed add`): recipients, places, token hashes.
    pub fn feeds_path(&self) -> PathBuf {
        onrust_web::subscriptions::SubscriptionFile::path_in(&self.data_dir)
    }
    pub fn deadletter_path(&self) -> PathBuf {
        self.data_dir.join("deadletter.jsonl")
    }
    /// Alert state, the outbox and the notification log.
    pub fn alerts_dir(&self) -> PathBuf {
        self.data_dir.join("alerts")
    }
}

/// True for `localhost` and loopback IP literals; no name is resolved.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        // The shipped themes and gazetteer exist relative to this path.
        let path = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../config/test.toml");
        Config::parse(&path, &mandates::with_test_mandate(text))
    }

    #[test]
    fn the_shipped_config_is_valid() {
        let path = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../config/onrust.toml");
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(config.sources.len() >= 5, "real regional sources ship with onrust");
        assert_eq!(config.bus.kind, BusKind::Embedded);
        assert!(config.ingest.allow_hosts.is_empty(), "no guard exemptions by default");
        assert!(config.recipients.is_empty(), "nothing is mailed until someone configures recipients");
        let kinds: Vec<_> = config.rules.iter().map(|r| r.kind).collect();
        assert_eq!(config.region.municipalities.len(), 38, "Midden-Nederland has 38 municipalities");
        // Every municipality's own publications are read, so coverage is per municipality.
        for code in &config.region.municipalities {
            let gemeenteblad = config.sources.iter().find(|s| {
                s.kind == SourceKindConfig::Authority
                    && s.municipalities == [code.clone()]
                    && s.url.contains("Gemeenteblad")
            });
            assert!(gemeenteblad.is_some(), "no Gemeenteblad source for {code}");
        }
        // What the authorities publish is not what the real-time rules watch for.
        for rule in config.rules.iter().filter(|r| r.kind != onrust_alert::RuleKind::Burst) {
            let watched: Vec<_> =
                onrust_model::SourceKind::ALL.into_iter().filter(|k| rule.source_kinds.contains(k)).collect();
            let expected: Vec<_> = onrust_model::SourceKind::ALL
                .into_iter()
                .filter(|k| *k != onrust_model::SourceKind::Authority)
                .collect();
            assert_eq!(watched, expected, "rule {}", rule.name);
        }
        for kind in [
            onrust_alert::RuleKind::Critical,
            onrust_alert::RuleKind::Announcement,
            onrust_alert::RuleKind::Threshold,
            onrust_alert::RuleKind::Burst,
        ] {
            assert!(kinds.contains(&kind), "a default {kind:?} rule ships");
        }
    }

    #[test]
    fn each_source_kind_is_checked_for_what_it_needs() {
        let config = parse(
            r#"
            [[sources]]
            mandate = "test"
            id = "mastodon-nl"
            kind = "mastodon"
            url = "https://mastodon.nl"
            tags = ["utrecht", "boerenprotest", "stikstof", "amersfoort", "almere"]
            [[sources]]
            mandate = "test"
            id = "bluesky"
            kind = "bluesky"
            url = "wss://jetstream2.us-east.bsky.network/subscribe"
            [[sources]]
            mandate = "test"
            id = "tg-regio"
            kind = "telegram"
            url = "https://t.me/s/rtvutrecht"
            interval = "2m"
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.sources[0].tags.len(), 5);
        assert_eq!(config.sources[1].bluesky_languages(), ["nl"], "Dutch by default");
        assert_eq!(config.sources[2].kind.message_kind(), onrust_model::SourceKind::Telegram);

        let errors = parse(
            r##"
            [[sources]]
            mandate = "test"
            id = "m1"
            kind = "mastodon"
            url = "https://mastodon.nl/api/v1/timelines/tag/utrecht"
            tags = ["#utrecht", "utrecht", "Utrecht", ""]
            languages = ["nl"]
            [[sources]]
            mandate = "test"
            id = "m2"
            kind = "mastodon"
            url = "https://mastodon.social"
            [[sources]]
            mandate = "test"
            id = "b1"
            kind = "bluesky"
            url = "https://jetstream2.us-east.bsky.network/subscribe"
            languages = ["dutch"]
            [[sources]]
            mandate = "test"
            id = "t1"
            kind = "telegram"
            url = "https://t.me/rtvutrecht"
            interval = "2h"
            [[sources]]
            mandate = "test"
            id = "f1"
            kind = "feed"
            url = "wss://example.org/feed"
            tags = ["x"]
            [[sources]]
            mandate = "test"
            id = "b2"
            kind = "bluesky"
            url = "ws://jetstream2.us-east.bsky.network/subscribe"
            "##,
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "sources[0].url: a mastodon source's url is the instance itself",
            "sources[0].tags: \"#utrecht\" is not a hashtag",
            "sources[0].tags: \"Utrecht\" is listed twice",
            "sources[0].tags: \"\" is not a hashtag",
            "sources[0].languages: only a bluesky source filters on languages, not kind mastodon",
            "sources[1].tags: a mastodon source needs at least one hashtag",
            "sources[2].url: scheme \"https\" is not allowed for kind bluesky; use wss or ws",
            "sources[2].languages: \"dutch\" is not an ISO 639-1 code",
            "sources[3].url: telegram url path \"/rtvutrecht\" is not /s/<channel>",
            "sources[3].interval: at most 30m for telegram",
            "sources[4].url: scheme \"wss\" is not allowed for kind feed; use https or http",
            "sources[4].tags: only a mastodon source follows tags, not kind feed",
            "sources[5].url: ws:// is unencrypted; use wss://",
        ] {
            assert!(errors.contains(needle), "missing {needle:?} in:\n{errors}");
        }
    }

    #[test]
    fn region_and_source_coverage_must_be_cbs_codes_of_the_region() {
        let config = parse(
            r#"
            [region]
            municipalities = ["GM0344", "GM0307"]
            [[sources]]
            mandate = "test"
            id = "utrecht"
            kind = "feed"
            url = "https://example.org/feed"
            municipalities = ["GM0344"]
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.region.municipalities, ["GM0344", "GM0307"]);
        assert_eq!(config.sources[0].municipalities, ["GM0344"]);
        let short = parse("[region]\nmunicipalities = [\"344\"]\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(short.region.municipalities, ["GM0344"], "codes are normalised");
        let errors = parse(
            r#"
            [region]
            municipalities = ["GM0344", "Utrecht", "GM0344"]
            [[sources]]
            mandate = "test"
            id = "almere"
            kind = "feed"
            url = "https://example.org/feed"
            municipalities = ["GM0034", "0344", "Zeist"]
            "#,
        )
        .unwrap_err();
        let text = errors.to_string();
        for needle in [
            "region.municipalities: \"Utrecht\" is not a CBS code",
            "region.municipalities: GM0344 is listed twice",
            "sources[0].municipalities: GM0034 is not in region.municipalities",
            "sources[0].municipalities: \"Zeist\" is not a CBS code",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(errors.0.len(), 4, "{text}");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_file_and_key() {
        let errors = parse(
            r#"
            colour = "blue"
            [http]
            listen = "0.0.0.0:8080"
            [ingest]
            allow_host = []
            [[sources]]
            mandate = "test"
            id = "Bad Id"
            kind = "feed"
            url = "file:///etc/passwd"
            interval = "1s"
            [[sources]]
            mandate = "test"
            id = "x"
            kind = "feed"
            url = "https://example.org/feed"
            interval = "soon"
            "#,
        )
        .unwrap_err();
        let text = errors.to_string();
        for needle in [
            "colour: unknown key",
            "ingest: unknown field `allow_host`",
            "sources[0].id",
            "sources[0].url: scheme \"file\"",
            "sources[0].interval: must be at least 10s",
            "sources[1]: \"soon\" is not a duration",
            "http.token_file",
            "config/test.toml",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(errors.0.len(), 7, "{text}");
    }

    #[test]
    fn a_source_after_an_unreadable_one_is_named_by_its_own_place() {
        let errors = parse(
            "[[sources]]\nmandate = \"test\"\nid = \"a\"\nkind = \"feed\"\nurl = \"https://example.org/a\"\ninterval = \"soon\"\n\
             [[sources]]\nmandate = \"test\"\nid = \"b\"\nkind = \"feed\"\nurl = \"ftp://example.org/b\"\ninterval = \"5m\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(errors.contains("sources[1].url: scheme \"ftp\""), "{errors}");
        assert!(!errors.contains("sources[0].url"), "{errors}");
    }

    #[test]
    fn absurd_sizes_and_durations_are_refused_not_panicked_on() {
        let text = parse(
            "[bus]\ncapacity = 9223372036854775807\n[ingest]\ntotal_timeout = \"500000000000y\"\n\
             [archive]\ncommit_interval = \"0s\"\n[privacy]\npseudonym_period = \"1m\"\n",
        )
        .unwrap_err()
        .to_string();
        for key in ["bus.capacity", "ingest.total_timeout", "archive.commit_interval", "privacy.pseudonym_period"] {
            assert!(text.contains(key), "{key} missing in:\n{text}");
        }
    }

    const HASH_A: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    const HASH_B: &str = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";
    const HASH_C: &str = "baa5a0964d3320fbc0c6a922140453c8513ea24ab8fd0577034804a967248096";

    #[test]
    fn api_tokens_have_names_roles_and_hashes() {
        let config = parse(&format!(
            "[http]\nsearch_budget = \"500ms\"\n\
             [[http.tokens]]\nname = \"analist-utrecht\"\nrole = \"analyst\"\nsha256 = \"{HASH_A}\"\n\
             [[http.tokens]]\nname = \"fg.regio\"\nrole = \"fg\"\nsha256 = \"{}\"\n",
            HASH_B.to_uppercase()
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let tokens: Vec<(&str, Role)> = config.http.tokens.iter().map(|t| (t.name.as_str(), t.role)).collect();
        assert_eq!(tokens, [("analist-utrecht", Role::Analyst), ("fg.regio", Role::Fg)]);
        assert_eq!(config.http.tokens[1].sha256.to_hex(), HASH_B);
        assert_eq!(config.http.tokens[0].municipalities, None, "the whole region when left out");
        assert_eq!((config.http.search_budget.0, config.http.search_concurrency), (Duration::from_millis(500), 4));
        assert!(!format!("{config:?}").contains(HASH_A), "hashes stay out of debug output");
        assert!(parse("").unwrap().http.tokens.is_empty());
    }

    /// Issue 16: a municipality nobody watches is refused wherever an entry
    /// names one (recipients, webhooks, tokens, rules, sources, the region
    /// itself), each problem under its own entry, all at once.
    #[test]
    fn unknown_municipalities_are_refused_everywhere_each_named_by_its_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("hook.key");
        std::fs::write(&key, "sleutel\n").expect("key");
        private(&key);
        let entries = |region: &str| {
            format!(
                "{region}\
                 [[recipients]]\nmunicipality = \"GM9999\"\nrole = \"officer\"\nemail = \"oov@nergens.example\"\n\
                 [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n\
                 [[webhooks]]\nurl = \"https://crisis.example/\"\nsecret_file = {key:?}\nmunicipality = \"GM0034\"\n\
                 [[http.tokens]]\nname = \"oov\"\nrole = \"officer\"\nsha256 = \"{HASH_A}\"\nmunicipalities = [\"GM0344\", \"GM9998\"]\n\
                 [[rules]]\nmandate = \"test\"\nname = \"lokaal\"\nkind = \"critical\"\nmunicipalities = [\"GM0344\", \"9997\"]\n\
                 [[sources]]\nmandate = \"test\"\nid = \"lokaal\"\nkind = \"feed\"\nurl = \"https://example.org/feed\"\nmunicipalities = [\"GM9996\"]\n"
            )
        };
        // Without a [region]: the gazetteer's municipalities.
        let text = parse(&entries("")).unwrap_err().to_string();
        for needle in [
            "recipients[0].municipality: GM9999 is no municipality: the gazetteer",
            "http.tokens[0].municipalities: GM9998 is no municipality",
            "rules[0].municipalities[1]: GM9997 is no municipality",
            "sources[0].municipalities: GM9996 is no municipality",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("GM0344 is") && !text.contains("GM0034 is"), "known ones pass:\n{text}");
        assert_eq!(text.lines().count(), 5, "four problems, all at once:\n{text}");
        // With a [region]: its municipalities, which the gazetteer must know.
        let region = "[region]\nmunicipalities = [\"GM0344\", \"GM9995\"]\n";
        let text = parse(&entries(region)).unwrap_err().to_string();
        for needle in [
            "region.municipalities: GM9995 is no municipality: the gazetteer",
            "recipients[0].municipality: GM9999 is not in region.municipalities",
            "webhooks[0].municipality: GM0034 is not in region.municipalities",
            "http.tokens[0].municipalities: GM9998 is not in region.municipalities",
            "rules[0].municipalities[1]: GM9997 is not in region.municipalities",
            "sources[0].municipalities: GM9996 is not in region.municipalities",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(text.lines().count(), 7, "six problems, all at once:\n{text}");
        let fine = "[region]\nmunicipalities = [\"GM0344\"]\n\
                    [[recipients]]\nmunicipality = \"0344\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n";
        assert!(parse(fine).is_ok(), "a code as people write it is the same municipality");
    }

    #[test]
    fn the_public_url_is_an_https_address_to_put_paths_after() {
        let config =
            parse("[http]\npublic_url = \"https://onrust.regio.example/\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.http.public_base().as_deref(), Some("https://onrust.regio.example"));
        assert_eq!(parse("").unwrap_or_else(|e| panic!("{e}")).http.public_base(), None);
        assert!(parse("[http]\npublic_url = \"http://127.0.0.1:8080\"\n").is_ok(), "http towards loopback");
        for (bad, needle) in [
            ("http://onrust.regio.example", "http only towards a loopback host"),
            ("onrust.regio.example", "is not a URL"),
            ("https://onrust.regio.example/?a=1", "query"),
            ("https://user:pw@onrust.regio.example/", "no user name or password"),
            ("ftp://onrust.regio.example/", "not https"),
        ] {
            let text = parse(&format!("[http]\npublic_url = {bad:?}\n")).unwrap_err().to_string();
            assert!(text.contains("http.public_url: ") && text.contains(needle), "{bad}: {text}");
        }
    }

    #[test]
    fn a_token_can_be_limited_to_municipalities() {
        let config = parse(&format!(
            "[[http.tokens]]\nname = \"oov-utrecht\"\nrole = \"officer\"\nsha256 = \"{HASH_A}\"\n\
             municipalities = [\"GM0344\", \"0307\"]\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let codes: Vec<String> =
            config.http.tokens[0].municipalities.iter().flatten().map(|c| c.as_str().to_owned()).collect();
        assert_eq!(codes, ["GM0344", "GM0307"]);
        let text = parse(&format!(
            "[[http.tokens]]\nname = \"a\"\nrole = \"officer\"\nsha256 = \"{HASH_A}\"\nmunicipalities = []\n\
             [[http.tokens]]\nname = \"b\"\nrole = \"officer\"\nsha256 = \"{HASH_B}\"\nmunicipalities = [\"utrecht\"]\n\
             [[http.tokens]]\nname = \"c\"\nrole = \"analyst\"\nsha256 = \"{HASH_C}\"\nmunicipalities = [\"GM0344\"]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(text.contains("http.tokens[0].municipalities: lists no municipality"), "{text}");
        assert!(text.contains("http.tokens[1]") && text.contains("utrecht"), "{text}");
        assert!(
            text.contains(
                "http.tokens[2].municipalities: limits alerts, so only for an officer or supervisor, not analyst"
            ),
            "{text}"
        );
    }

    #[test]
    fn every_token_problem_is_reported_at_once_without_the_secret() {
        let token = format!("onrust_{}", "ab".repeat(32));
        let errors = parse(&format!(
            "[http]\nsearch_budget = \"0s\"\nsearch_concurrency = 0\nlisten = \"127.0.0.1:8080\"\n\
             [[http.tokens]]\nname = \"Analist\"\nrole = \"analyst\"\nsha256 = \"{HASH_A}\"\n\
             [[http.tokens]]\nname = \"x\"\nrole = \"root\"\nsha256 = \"{HASH_B}\"\n\
             [[http.tokens]]\nname = \"y\"\nrole = \"fg\"\nsha256 = \"{token}\"\n\
             [[http.tokens]]\nname = \"z\"\nrole = \"fg\"\nsha256 = \"{HASH_A}\"\ntoken = \"{token}\"\n\
             [[http.tokens]]\nname = \"z\"\nrole = \"admin\"\nsha256 = \"abc\"\n\
             [[http.tokens]]\nname = \"w\"\nrole = \"officer\"\nsha256 = \"{HASH_A}\"\n\
             [[http.tokens]]\nname = \"monitor\"\nrole = \"monitor\"\nsha256 = \"{HASH_B}\"\n",
        ))
        .unwrap_err();
        let text = errors.to_string();
        for needle in [
            "http.search_budget: must be between 10ms and 1m",
            "http.search_concurrency: must be between 1 and 64",
            "http.tokens[0].name: token name \"Analist\" must be",
            "http.tokens[1]: unknown variant `root`, expected one of `officer`, `analyst`, `supervisor`, `fg`, `admin`",
            "http.tokens[2]: this is a token, not its hash",
            "http.tokens[3]: unknown field `token`",
            "http.tokens[4]: must be the SHA-256 of the token as 64 hexadecimal digits",
            "http.tokens[5].sha256: the same token as \"Analist\"",
            "http.tokens[6]: unknown variant `monitor`",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(errors.0.len(), 9, "{text}");
        assert!(!text.contains(&token[10..]), "a pasted token is never echoed:\n{text}");
    }

    #[test]
    fn token_names_must_be_unique() {
        let text = parse(&format!(
            "[[http.tokens]]\nname = \"a\"\nrole = \"analyst\"\nsha256 = \"{HASH_A}\"\n\
             [[http.tokens]]\nname = \"a\"\nrole = \"fg\"\nsha256 = \"{HASH_B}\"\n\
             [[http.tokens]]\nname = \"monitor\"\nrole = \"fg\"\nsha256 = \"{}\"\n",
            "0".repeat(64)
        ))
        .unwrap_err()
        .to_string();
        assert!(text.contains("http.tokens[1].name: \"a\" is used by an earlier token"), "{text}");
        assert!(text.contains("http.tokens[2].name: the token name \"monitor\" is reserved"), "{text}");
        let text = parse("[http]\ntokens = \"x\"\n").unwrap_err().to_string();
        assert!(text.contains("http.tokens: must be an array of tables"), "{text}");
    }

    #[test]
    fn alert_sections_are_read_and_mapped_onto_the_notifier() {
        let config = parse(
            "[smtp]\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"none\"\nfrom = \"onrust@gemeente.example\"\n\
             [alerts]\nevaluate_interval = \"2s\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n\
             [[recipients]]\nmunicipality = \"*\"\nrole = \"mayor\"\nemail = \"burgemeester@regio.example\"\n\
             [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let smtp = config.smtp.as_ref().expect("smtp").to_notifier();
        assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), ("127.0.0.1", 2525, onrust_notify::smtp::TlsMode::None));
        assert_eq!(config.alerts.evaluate_interval.0, Duration::from_secs(2));
        assert_eq!(config.recipients.len(), 2);
        assert_eq!(config.recipients[1].scope, RecipientScope::All);
        assert_eq!(config.rules[0].name, "oproep-tot-geweld");
        let defaults = parse("").unwrap();
        assert!(defaults.smtp.is_none() && defaults.recipients.is_empty() && defaults.rules.is_empty());
        assert_eq!(defaults.alerts.evaluate_interval.0, Duration::from_secs(15));
    }

    #[test]
    fn every_alert_problem_is_reported_at_once_with_its_key() {
        let errors = parse(
            "[smtp]\nhost = \"smtp.example.org\"\ntls = \"none\"\nfrom = \"a@b.example\\r\\nBcc: x@example.org\"\n\
             username = \"onrust\"\n\
             [alerts]\nevaluate_interval = \"0s\"\ndigest_hour = 24\nsummary_lead = \"10m\"\n\
             [[recipients]]\nmunicipality = \"Utrecht\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"boss\"\nemail = \"a@b.example\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"mayor\"\nemail = \"a@b.example\\nBcc: x@y.example\"\n\
             [[rules]]\nmandate = \"test\"\nname = \"x\"\nkind = \"critical\"\nwindwo = \"1h\"\n\
             [[rules]]\nmandate = \"test\"\nname = \"Bad Name\"\nkind = \"threshold\"\n",
        )
        .unwrap_err();
        let text = errors.to_string();
        for needle in [
            "smtp.tls: \"none\" is only allowed towards a loopback host",
            "smtp.from",
            "smtp.password_file: required when smtp.username is set",
            "alerts.evaluate_interval: must be between 1s and 1h",
            "alerts.digest_hour: must be an hour from 0 to 23",
            "alerts.summary_lead: must be between 1h and 7d",
            "recipients[0].municipality",
            "recipients[1]: unknown variant `boss`",
            "recipients[2].email",
            "rules[0]: unknown field `windwo`",
            "rules[1].name",
            "rules[1].count",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
    }

    #[test]
    fn webhooks_are_recipients_with_a_signing_key_and_each_problem_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("hook.key");
        std::fs::write(&key, "geheim-sleutel\n").expect("key");
        private(&key);
        let key = key.display();
        let config = parse(&format!(
            "[[webhooks]]\nurl = \"https://crisis.example/onrust\"\nsecret_file = \"{key}\"\n\
             [[webhooks]]\nurl = \"http://127.0.0.1:9000/hook\"\nsecret_file = \"{key}\"\n\
             municipality = \"GM0344\"\nrole = \"mayor\"\ntimeout = \"3s\"\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let hooks: Vec<_> =
            config.recipients.iter().map(|r| (r.channel, r.role, &r.scope, r.address.as_str())).collect();
        let utrecht = RecipientScope::One(onrust_model::MunicipalityCode::new("GM0344").expect("code"));
        use onrust_alert::{Channel, RecipientRole};
        assert_eq!(
            hooks,
            [
                (Channel::Webhook, RecipientRole::Officer, &RecipientScope::All, "https://crisis.example/onrust"),
                (Channel::Webhook, RecipientRole::Mayor, &utrecht, "http://127.0.0.1:9000/hook"),
            ]
        );
        assert_eq!(config.webhooks.len(), 2);
        assert_eq!(config.webhooks[1].timeout, Duration::from_secs(3));

        let text = parse(&format!(
            "[[webhooks]]\nurl = \"http://crisis.example/onrust\"\nsecret_file = \"{key}\"\n\
             [[webhooks]]\nurl = \"https://user:pw@crisis.example/\"\nsecret_file = \"/nonexistent/key\"\n\
             [[webhooks]]\nurl = \"https://crisis.example/\"\nsecret_file = \"{key}\"\nmunicipality = \"Utrecht\"\n\
             [[webhooks]]\nurl = \"https://crisis.example/\"\nsecret = \"x\"\n"
        ))
        .unwrap_err()
        .to_string();
        for needle in [
            "webhooks[0].url: invalid webhook url: http is only allowed towards a loopback host",
            "webhooks[1].url: invalid webhook url: credentials in the url",
            "webhooks[1].secret_file: cannot read secret file /nonexistent/key",
            "webhooks[2].municipality",
            "webhooks[3]: unknown field `secret`",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("pw@"), "no credentials echoed:\n{text}");
    }

    /// R2, S9, S10 at configuration time: weak producer settings, automatic
    /// offset storing and switched-off verification are refused by key.
    #[test]
    fn kafka_settings_are_checked_key_by_key() {
        let text = parse(
            "[bus]\nkind = \"kafka\"\nbrokers = \"kafka-1:9092\"\nreplication = 0\ncompression = \"zstd\"\n\
             security_protocol = \"sasl_ssl\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"onrust\"\n\
             sasl_password_file = \"/nonexistent/kafka-pw\"\n\
             [bus.producer]\nacks = \"1\"\n[bus.consumer]\n\"enable.auto.offset.store\" = \"true\"\n\
             \"enable.ssl.certificate.verification\" = \"false\"\n",
        )
        .unwrap_err()
        .to_string();
        for needle in [
            "bus.replication: 0 is not between 1 and 10",
            "bus.compression: \"zstd\" is not lz4, snappy, gzip or none",
            "bus.producer.acks: onrust sets acks = \"all\" itself",
            "bus.consumer.enable.auto.offset.store: onrust sets",
            "bus.consumer.enable.ssl.certificate.verification: certificate verification stays on",
            "bus.sasl_password_file: cannot read /nonexistent/kafka-pw",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        let text = parse("[bus]\nkind = \"kafka\"\n").unwrap_err().to_string();
        assert!(text.contains("bus.brokers: required with kind = \"kafka\""), "{text}");
        let text = parse("[bus]\npartitions = 3\n[bus.producer]\nacks = \"all\"\n").unwrap_err().to_string();
        assert!(text.contains("bus.partitions: only used with kind = \"kafka\""), "{text}");
        assert!(text.contains("bus.producer: only used with kind = \"kafka\""), "{text}");
    }

    /// `onrust run --listen` follows the rule of `http.listen` (S8).
    #[test]
    fn another_listen_address_off_loopback_needs_the_token_file() {
        let mut http = parse("").expect("defaults").http;
        assert!(http.listen_on("127.0.0.1:8082".parse().expect("addr")).is_ok());
        let refused = http.listen_on("0.0.0.0:8081".parse().expect("addr")).expect_err("refused");
        assert!(refused.contains("0.0.0.0:8081") && refused.contains("token file"), "{refused}");
        assert_eq!(http.listen.port(), 8082, "a refused address is not taken");
        http.token_file = Some(PathBuf::from("/run/secrets/http-token"));
        assert!(http.listen_on("0.0.0.0:8081".parse().expect("addr")).is_ok());
    }

    /// What `run` would fail on, or be harmed by, is refused here, each
    /// problem naming its entry; a password in a URL is never echoed.
    #[test]
    fn check_config_refuses_what_fails_or_harms_at_run_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty-token");
        std::fs::write(&empty, "").expect("write");
        private(&empty);
        let source = |id: &str, kind: &str, url: &str| {
            format!("[[sources]]\nmandate = \"test\"\nid = \"{id}\"\nkind = \"{kind}\"\nurl = \"{url}\"\n")
        };
        let sources = [
            source("lokaal", "feed", "http://127.0.0.1:8080/feed.xml"),
            source("intranet", "feed", "https://192.168.10.4/rss"),
            source("metadata", "feed", "http://169.254.169.254/latest/meta-data/"),
            source("gcp", "authority", "http://metadata.google.internal/computeMetadata/v1/"),
            source("zonder-host", "feed", "http:///x"),
            source("login", "feed", "https://jan:Geheim-Wachtwoord-42@example.org/feed"),
            source("stream", "bluesky", "wss://localhost:6008/subscribe"),
            source("goed", "feed", "https://example.org/feed"),
        ]
        .concat();
        let errors =
            parse(&format!("data_dir = \"/proc/self\"\n[http]\ntoken_file = \"{}\"\n{sources}", empty.display()))
                .unwrap_err();
        let text = errors.to_string();
        for needle in [
            "data_dir: /proc/self",
            "under /proc, a kernel file system",
            "http.token_file:",
            "empty-token is empty",
            "sources[0].url: 127.0.0.1 is a loopback address: the egress guard refuses it at run time",
            "sources[1].url: 192.168.10.4 is a private address",
            "sources[2].url: 169.254.169.254 is a link-local address",
            "sources[3].url: metadata.google.internal is a private-use name",
            "sources[4].url: has no host",
            "sources[5].url: carries a user name or password",
            "sources[6].url: localhost is a loopback name",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("sources[7]"), "a public source passes:\n{text}");
        assert!(!text.contains("Geheim-Wachtwoord-42") && !text.contains("jan:"), "no credentials echoed:\n{text}");
        assert_eq!(errors.0.len(), 9, "{text}");

        // A URL that does not parse is echoed without its credentials too.
        let text =
            parse(&source("kapot", "feed", "https://jan:Geheim-Wachtwoord-42@exa mple.org/")).unwrap_err().to_string();
        assert!(text.contains("sources[0].url") && !text.contains("Geheim-Wachtwoord-42"), "{text}");
        let missing = parse("[http]\ntoken_file = \"/nonexistent/onrust-token\"\n").unwrap_err().to_string();
        assert!(missing.contains("http.token_file: cannot read /nonexistent/onrust-token"), "{missing}");

        // The allow-list that tests and intranet feeds use keeps working.
        let allowed = parse(&format!(
            "[ingest]\nallow_hosts = [\"127.0.0.1\", \"localhost\"]\n{}{}",
            source("lokaal", "feed", "http://127.0.0.1:8080/feed.xml"),
            source("stream", "bluesky", "ws://localhost:6008/subscribe")
        ));
        assert!(allowed.is_ok(), "{allowed:?}");
    }

    /// Fair politeness (S2): a fetch may take `total_timeout` of network
    /// time, so a source's interval is at least that, and the open requests
    /// per host are bounded.
    #[test]
    fn a_poll_fits_in_its_interval_and_requests_per_host_are_bounded() {
        let config = parse("[ingest]\nmax_requests_per_host = 2\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.ingest.max_requests_per_host, 2);
        assert_eq!(parse("").unwrap_or_else(|e| panic!("{e}")).ingest.max_requests_per_host, 4);
        let text = parse(
            "[ingest]\ntotal_timeout = \"1m\"\nmax_requests_per_host = 0\n\
             [[sources]]\nmandate = \"test\"\nid = \"snel\"\nkind = \"feed\"\nurl = \"https://example.org/a\"\ninterval = \"30s\"\n\
             [[sources]]\nmandate = \"test\"\nid = \"rustig\"\nkind = \"feed\"\nurl = \"https://example.org/b\"\ninterval = \"1m\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(text.contains("ingest.max_requests_per_host: must be between 1 and 16"), "{text}");
        assert!(text.contains("sources[0].interval: 30s is shorter than ingest.total_timeout (1m)"), "{text}");
        assert!(!text.contains("sources[1]"), "{text}");
    }

    /// The owner-only mode a secret file must have.
    fn private(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    }

    /// S13: a token file, an SMTP password file or a webhook key that other
    /// users may read is refused by check-config and run (both load this),
    /// naming the file, its mode and the fix.
    #[test]
    fn secret_files_others_can_read_are_refused_with_mode_and_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = |name: &str, mode: u32| {
            let path = dir.path().join(name);
            std::fs::write(&path, "een-geheim-van-twintig-tekens\n").expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            path
        };
        let token = secret("monitor.token", 0o644);
        let password = secret("smtp.password", 0o644);
        let key = secret("hook.key", 0o666);
        let text = format!(
            "[http]\ntoken_file = {token:?}\n\
             [smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nport = 2525\nfrom = \"onrust@example.org\"\n\
             username = \"onrust\"\npassword_file = {password:?}\n\
             [[webhooks]]\nurl = \"https://crisis.example/onrust\"\nsecret_file = {key:?}\n"
        );
        let errors = parse(&text).unwrap_err().to_string();
        for (field, path, mode) in [
            ("http.token_file", &token, "0644"),
            ("smtp.password_file", &password, "0644"),
            ("webhooks[0].secret_file", &key, "0666"),
        ] {
            let expected = format!("{field}: {} has mode {mode}", path.display());
            assert!(errors.contains(&expected), "missing {expected:?} in:\n{errors}");
            assert!(errors.contains(&format!("chmod 600 {}", path.display())), "{errors}");
        }
        assert!(!errors.contains("een-geheim"), "never the secret itself:\n{errors}");
        for path in [&token, &password, &key] {
            private(path);
        }
        parse(&text).unwrap_or_else(|e| panic!("owner-only secrets are fine: {e}"));
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let text = parse("data_dir = ").unwrap_err().to_string();
        assert!(text.contains("test.toml: -: not valid TOML"), "{text}");
    }

    #[test]
    fn durations_and_defaults() {
        let config = parse("[[sources]]\nmandate = \"test\"\nid = \"nos\"\nkind = \"feed\"\nurl = \"https://feeds.nos.nl/nosnieuwsalgemeen\"\ninterval = \"5m\"\n")
            .unwrap();
        assert_eq!(config.sources[0].interval.0, Duration::from_secs(300));
        assert_eq!(config.http.listen, default_listen());
        assert_eq!(config.archive.commit_interval.0, Duration::from_secs(1));
    }
}
