//! `[http]` and its `[[http.tokens]]`: the listener for the API, the
//! console, health, readiness and metrics, and who may use it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use onrust_web::{Role, TokenHash};
use serde::Deserialize;

use super::checks::{is_loopback_host, read_monitor_token};
use super::{Collector, HumanDuration};

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

pub(super) fn default_listen() -> SocketAddr {
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

impl HttpConfig {
    /// Every bound of `[http]`, and the monitor token off loopback (S8).
    pub(super) fn validate(&self, c: &mut Collector) {
        if let Some(problem) = self.token_problem() {
            c.push("http.token_file", problem);
        }
        if let Some(path) = &self.token_file
            && let Err(problem) = read_monitor_token(path)
        {
            c.push("http.token_file", problem);
        }
        if !(Duration::from_millis(10)..=Duration::from_secs(60)).contains(&self.search_budget.0) {
            c.push("http.search_budget", "must be between 10ms and 1m");
        }
        if !(Duration::from_secs(60)..=Duration::from_secs(24 * 3600)).contains(&self.session_idle.0) {
            c.push("http.session_idle", "must be between 1m and 24h");
        }
        if !(self.session_idle.0..=Duration::from_secs(7 * 24 * 3600)).contains(&self.session_lifetime.0) {
            c.push("http.session_lifetime", "must be at least http.session_idle and at most 7d");
        }
        if let Some(problem) = self.public_url_problem() {
            c.push("http.public_url", problem);
        }
        if !(1..=64).contains(&self.search_concurrency) {
            c.push("http.search_concurrency", "must be between 1 and 64");
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&self.header_timeout.0) {
            c.push("http.header_timeout", "must be between 100ms and 10m");
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&self.idle_timeout.0) {
            c.push("http.idle_timeout", "must be between 100ms and 1h");
        }
        if !(1..=MAX_HTTP_CONNECTIONS).contains(&self.max_connections) {
            c.push("http.max_connections", format!("must be between 1 and {MAX_HTTP_CONNECTIONS}"));
        }
    }
}

impl Collector {
    /// Takes `[[http.tokens]]` out of `[http]` and reads and checks each entry
    /// on its own, so one bad entry neither hides the others nor the rest of
    /// `[http]`, and each problem names the entry's place in the file.
    pub(super) fn tokens(&mut self, table: &mut toml::Table) -> Vec<TokenConfig> {
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
