//! The safe fetcher (rules S1, S2).
//!
//! Every feed URL comes from configuration, but every redirect target, DNS
//! answer and response body comes from a server we do not control. So:
//!
//! - only http and https; the destination address is checked before
//!   connecting ([`guard`]), including every redirect hop, which are followed
//!   by hand (reqwest's own redirect handling is off); https→http is refused;
//! - env proxies are ignored (`no_proxy`), TLS verification is always on;
//! - `Accept-Encoding: gzip, br` is sent and the body is decoded here, while
//!   streaming, so the compressed cap applies to the wire bytes and the
//!   decoded cap to the output as it is produced: a gzip bomb stops at the cap
//!   without allocating beyond it;
//! - a total deadline covers the network time of every redirect hop and the
//!   body (waiting for the host's turn is politeness, not the server's fault,
//!   and is not counted), and a minimum transfer rate (measured over
//!   windows) stops slow-drip servers early;
//! - a redirect back to a URL already visited is a loop, reported with the
//!   hops that make it, not followed until the hop limit or the deadline;
//! - [`HostGate`] spaces request starts to one host and keeps a few open at
//!   most; it is not held while a server is slow, so one slow source does not
//!   starve the others on its host. Response header size is bounded by
//!   hyper's defaults (at most 100 headers, ~400 KiB buffer).

mod gate;
pub mod guard;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder};
use bytes::Bytes;
use futures_util::TryStreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;
use tokio_util::io::StreamReader;
use url::Url;

pub use gate::{HostGate, HostPermit};
use guard::{Blocked, EgressGuard, GuardedResolver, UrlRefusal};

/// Limits applied to every fetch.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// Time allowed to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Network time allowed for the whole fetch: all redirect hops and the
    /// body, not the waits for the host's turn.
    pub total_timeout: Duration,
    /// Minimum average transfer rate over each `rate_window`; slower is aborted.
    pub min_rate_bytes_per_sec: u64,
    /// Window over which the transfer rate is measured.
    pub rate_window: Duration,
    /// Cap on the bytes received on the wire (before decoding).
    pub max_compressed_bytes: u64,
    /// Cap on the body after content decoding.
    pub max_decoded_bytes: u64,
    /// Redirect hops followed at most.
    pub max_redirects: u8,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            min_rate_bytes_per_sec: 1024,
            rate_window: Duration::from_secs(5),
            max_compressed_bytes: 10 * 1024 * 1024,
            max_decoded_bytes: 20 * 1024 * 1024,
            max_redirects: 3,
        }
    }
}

/// Requests to one host open at once by default: enough that one slow
/// source leaves lanes for its neighbours, few enough to stay polite.
pub const DEFAULT_MAX_REQUESTS_PER_HOST: usize = 4;

/// How to build a [`Fetcher`].
#[derive(Debug, Clone)]
pub struct FetcherOptions {
    /// Byte, time and redirect limits.
    pub limits: FetchLimits,
    /// The `User-Agent` sent with every request.
    pub user_agent: String,
    /// Hosts exempt from the private-address guard (exact names or IP literals); empty by default.
    pub allow_hosts: Vec<String>,
    /// Minimum time between the starts of two requests to the same host.
    pub min_host_interval: Duration,
    /// Requests to the same host open at once, at most.
    pub max_requests_per_host: usize,
}

impl Default for FetcherOptions {
    fn default() -> Self {
        Self {
            limits: FetchLimits::default(),
            user_agent: concat!("onrust/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_hosts: Vec::new(),
            min_host_interval: Duration::from_secs(1),
            max_requests_per_host: DEFAULT_MAX_REQUESTS_PER_HOST,
        }
    }
}

/// Validators from the previous response, sent back exactly as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditional {
    /// The previous `ETag`, sent as `If-None-Match`.
    pub etag: Option<String>,
    /// The previous `Last-Modified`, sent as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// What a successful fetch produced.
#[derive(Debug, Clone)]
#[expect(clippy::large_enum_variant, reason = "a short-lived return value; boxing would only add noise")]
pub enum Fetched {
    /// 304: nothing changed since the validators were issued.
    NotModified {
        /// `Cache-Control: max-age` of the response, if any.
        max_age: Option<Duration>,
        /// `Retry-After` of the response, if any.
        retry_after: Option<Duration>,
    },
    /// A 2xx response with its decoded body.
    Body {
        /// The decoded body, at most `max_decoded_bytes`.
        bytes: Bytes,
        /// The `ETag` header, exactly as received.
        etag: Option<String>,
        /// The `Last-Modified` header, exactly as received.
        last_modified: Option<String>,
        /// The `Content-Type` header.
        content_type: Option<String>,
        /// `Cache-Control: max-age`.
        max_age: Option<Duration>,
        /// Target of the first 301/308 hop, for a person to apply to the configuration; never applied automatically.
        permanent_redirect: Option<Url>,
        /// The URL the body came from after redirects.
        final_url: Url,
        /// Bytes received on the wire (before decoding).
        received_bytes: u64,
        /// The `Link` header (RFC 8288), exactly as received: Mastodon pages with it.
        link: Option<String>,
    },
}

/// Why a fetch failed. Each message names what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The egress guard refused the destination.
    #[error("blocked: {0}")]
    Blocked(#[source] Blocked),
    /// The URL's scheme is not http or https.
    #[error("scheme {scheme:?} is not allowed, only http and https")]
    Scheme {
        /// The refused scheme.
        scheme: String,
    },
    /// 410: the feed is gone for good.
    #[error("the server says the feed is gone (410)")]
    Gone,
    /// 429, 503 and similar: try again later.
    #[error("the server asks to retry later (status {status}{})", fmt_retry(*retry_after))]
    RetryLater {
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After`, if it sent a valid one.
        retry_after: Option<Duration>,
    },
    /// Any other non-success status.
    #[error("unexpected http status {0}")]
    Status(u16),
    /// A byte cap was reached.
    #[error("response exceeds the limit of {limit_bytes} bytes")]
    TooLarge {
        /// The cap that was reached.
        limit_bytes: u64,
    },
    /// The transfer rate fell below the minimum.
    #[error("transfer slower than {min_rate_bytes_per_sec} bytes/s")]
    TooSlow {
        /// The configured minimum.
        min_rate_bytes_per_sec: u64,
    },
    /// The total deadline passed.
    #[error("fetch took longer than {0:?}")]
    Timeout(Duration),
    /// More redirects than allowed.
    #[error("more than {0} redirects")]
    TooManyRedirects(u8),
    /// A redirect back to a URL this fetch already visited.
    #[error("redirect loop: {chain}")]
    RedirectLoop {
        /// The hops, first to the repeated one, as `a → b → a`.
        chain: String,
    },
    /// A redirect from https to http.
    #[error("refused redirect from https to http ({0})")]
    InsecureRedirect(Url),
    /// A redirect without a usable `Location`.
    #[error("redirect without a valid location: {detail}")]
    BadRedirect {
        /// What is wrong with it.
        detail: String,
        /// Why the location does not parse as a URL, if it is there.
        #[source]
        source: Option<url::ParseError>,
    },
    /// Could not connect (DNS, TCP, TLS).
    #[error("could not connect: {detail}")]
    Connect {
        /// The client's error and its causes on one line: reqwest's own
        /// message rarely says which of them failed.
        detail: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The TLS configuration could not be built (no safe protocol version).
    #[error("cannot build the tls configuration: {0}")]
    TlsConfig(#[source] tokio_rustls::rustls::Error),
    /// The body could not be decoded.
    #[error("could not decode the body: {detail}")]
    Decode {
        /// What could not be decoded.
        detail: String,
        /// The decoder's error, if one failed.
        #[source]
        source: Option<io::Error>,
    },
    /// Another transport error.
    #[error("transfer failed: {detail}")]
    Io {
        /// The error and its causes on one line.
        detail: String,
        /// The transport's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn fmt_retry(retry_after: Option<Duration>) -> String {
    retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default()
}

impl FetchError {
    /// The bounded metric label for this failure.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Blocked(_) | Self::Scheme { .. } | Self::InsecureRedirect(_) => "blocked",
            Self::Gone => "gone",
            Self::RetryLater { .. } => "retry_later",
            Self::Status(_) => "http_error",
            Self::TooLarge { .. } => "too_large",
            Self::TooSlow { .. } => "too_slow",
            Self::Timeout(_) => "timeout",
            Self::TooManyRedirects(_) | Self::RedirectLoop { .. } | Self::BadRedirect { .. } => "redirect_error",
            Self::Connect { .. } => "connect_error",
            Self::Decode { .. } => "decode_error",
            Self::Io { .. } | Self::TlsConfig(_) => "error",
        }
    }
}

impl From<UrlRefusal> for FetchError {
    fn from(value: UrlRefusal) -> Self {
        match value {
            UrlRefusal::Scheme(scheme) => Self::Scheme { scheme },
            UrlRefusal::Blocked(blocked) => Self::Blocked(blocked),
        }
    }
}

/// Marker error for the wire-byte cap, raised inside the body stream.
#[derive(Debug, thiserror::Error)]
#[error("compressed byte cap reached")]
struct WireCapReached;

/// The guarded HTTP client.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    guard: Arc<EgressGuard>,
    limits: FetchLimits,
    gate: HostGate,
}

impl Fetcher {
    /// Builds the client: no env proxies, no automatic redirects, the guarded resolver, TLS verification on.
    pub fn new(options: FetcherOptions) -> Result<Self, FetchError> {
        let guard = Arc::new(EgressGuard::new(&options.allow_hosts));
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver::new(Arc::clone(&guard))))
            .connect_timeout(options.limits.connect_timeout)
            .user_agent(options.user_agent)
            .https_only(false)
            .tls_backend_preconfigured(crate::tls::client_config().map_err(FetchError::TlsConfig)?)
            .build()
            .map_err(|e| FetchError::Connect { detail: format!("cannot build http client: {e}"), source: e })?;
        let gate = HostGate::new(options.min_host_interval, options.max_requests_per_host);
        Ok(Self { client, guard, limits: options.limits, gate })
    }

    /// The egress guard this fetcher enforces, for clients that connect
    /// without it (the Jetstream WebSocket): the same rule and allow-list.
    pub fn guard(&self) -> &EgressGuard {
        &self.guard
    }

    /// The limits this fetcher applies.
    pub fn limits(&self) -> &FetchLimits {
        &self.limits
    }

    /// Fetches `url`, following at most `max_redirects` redirects by hand and re-checking each hop.
    ///
    /// `total_timeout` bounds the network time of all hops and the body. Time
    /// spent waiting for the host's turn (politeness) is not the server's
    /// fault and must not fail this source, so it is not counted, before the
    /// first hop or any later one.
    pub async fn get(&self, url: &Url, conditional: &Conditional) -> Result<Fetched, FetchError> {
        self.guard.check_url(url)?;
        let mut current = url.clone();
        // Every URL visited, to tell a loop from a chain.
        let mut visited: Vec<Url> = vec![without_fragment(url)];
        let mut permanent_redirect: Option<Url> = None;
        let mut network_time_left = self.limits.total_timeout;
        loop {
            let permit = self.gate.acquire(current.host_str().unwrap_or_default()).await;
            let hop_started = Instant::now();
            let deadline = hop_started + network_time_left;
            // Validators belong to the configured URL: a redirect target (maybe another
            // host) must neither see them nor answer 304 on the original's behalf.
            let no_validators = Conditional::default();
            let validators = if visited.len() == 1 { conditional } else { &no_validators };
            let response = match tokio::time::timeout_at(deadline, self.send(&current, validators)).await {
                Ok(response) => response?,
                Err(_) => return Err(FetchError::Timeout(self.limits.total_timeout)),
            };
            let status = response.status();

            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                drop(permit);
                let next = redirect_target(&current, response.headers())?;
                let next_key = without_fragment(&next);
                if let Some(first) = visited.iter().position(|seen| *seen == next_key) {
                    return Err(FetchError::RedirectLoop { chain: describe_chain(&visited[first..], &next_key) });
                }
                let hops = visited.len() - 1;
                if hops >= usize::from(self.limits.max_redirects) {
                    return Err(FetchError::TooManyRedirects(self.limits.max_redirects));
                }
                if current.scheme() == "https" && next.scheme() == "http" {
                    return Err(FetchError::InsecureRedirect(next));
                }
                let permanent = matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
                if permanent && hops == 0 {
                    permanent_redirect = Some(next.clone());
                }
                self.guard.check_url(&next)?;
                network_time_left = network_time_left.saturating_sub(hop_started.elapsed());
                if network_time_left.is_zero() {
                    return Err(FetchError::Timeout(self.limits.total_timeout));
                }
                visited.push(next_key);
                current = next;
                continue;
            }

            let headers = response.headers().clone();
            let max_age = max_age(&headers);
            let retry_after =
                header_str(&headers, header::RETRY_AFTER).and_then(|v| parse_retry_after(&v, SystemTime::now()));
            match status {
                StatusCode::NOT_MODIFIED => return Ok(Fetched::NotModified { max_age, retry_after }),
                StatusCode::GONE => return Err(FetchError::Gone),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    return Err(FetchError::RetryLater { status: status.as_u16(), retry_after });
                }
                s if !s.is_success() => return Err(FetchError::Status(s.as_u16())),
                _ => {}
            }

            let (bytes, received_bytes) = self.read_body(response, &headers, deadline).await?;
            drop(permit);
            return Ok(Fetched::Body {
                bytes,
                etag: header_str(&headers, header::ETAG),
                last_modified: header_str(&headers, header::LAST_MODIFIED),
                content_type: header_str(&headers, header::CONTENT_TYPE),
                max_age,
                permanent_redirect,
                final_url: current,
                received_bytes,
                link: header_str(&headers, header::LINK),
            });
        }
    }

    async fn send(&self, url: &Url, conditional: &Conditional) -> Result<reqwest::Response, FetchError> {
        let mut request = self.client.get(url.clone()).header(header::ACCEPT_ENCODING, "gzip, br").header(
            header::ACCEPT,
            "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        );
        if let Some(etag) = &conditional.etag {
            request = request.header(header::IF_NONE_MATCH, etag.as_str());
        }
        if let Some(last_modified) = &conditional.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, last_modified.as_str());
        }
        request.send().await.map_err(map_reqwest_error)
    }

    /// Streams the body through the decoder, enforcing both byte caps and the minimum rate.
    async fn read_body(
        &self,
        response: reqwest::Response,
        headers: &HeaderMap,
        deadline: Instant,
    ) -> Result<(Bytes, u64), FetchError> {
        let limits = &self.limits;
        if let Some(len) = response.content_length()
            && len > limits.max_compressed_bytes
        {
            return Err(FetchError::TooLarge { limit_bytes: limits.max_compressed_bytes });
        }
        let wire = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&wire);
        let cap = limits.max_compressed_bytes;
        let stream = response.bytes_stream().map_err(io::Error::other).and_then(move |chunk: Bytes| {
            let total = counter.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
            let result = if total > cap { Err(io::Error::other(WireCapReached)) } else { Ok(chunk) };
            std::future::ready(result)
        });
        let raw = StreamReader::new(stream);
        let encoding = header_str(headers, header::CONTENT_ENCODING).map(|e| e.trim().to_ascii_lowercase());
        let mut reader: Box<dyn AsyncRead + Send + Unpin> = match encoding.as_deref() {
            None | Some("" | "identity") => Box::new(raw),
            Some("gzip" | "x-gzip") => Box::new(GzipDecoder::new(raw)),
            Some("br") => Box::new(BrotliDecoder::new(raw)),
            Some(other) => {
                return Err(FetchError::Decode {
                    detail: format!("unsupported content-encoding {other:?}"),
                    source: None,
                });
            }
        };

        let mut out: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let window = limits.rate_window.max(Duration::from_millis(100));
        let min_window_bytes = (limits.min_rate_bytes_per_sec as f64 * window.as_secs_f64()) as u64;
        let mut window_start = Instant::now();
        let mut window_start_bytes = 0u64;
        loop {
            let wake = deadline.min(window_start + window);
            match tokio::time::timeout_at(wake, reader.read(&mut buf)).await {
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => {
                    if out.len() as u64 + n as u64 > limits.max_decoded_bytes {
                        return Err(FetchError::TooLarge { limit_bytes: limits.max_decoded_bytes });
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                Ok(Err(e)) => return Err(map_body_error(e, limits, encoding.is_some())),
                Err(_) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(FetchError::Timeout(limits.total_timeout));
            }
            if now >= window_start + window {
                let received = wire.load(Ordering::Relaxed);
                if received - window_start_bytes < min_window_bytes {
                    return Err(FetchError::TooSlow { min_rate_bytes_per_sec: limits.min_rate_bytes_per_sec });
                }
                window_start = now;
                window_start_bytes = received;
            }
        }
        Ok((Bytes::from(out), wire.load(Ordering::Relaxed)))
    }
}

fn map_body_error(e: io::Error, limits: &FetchLimits, encoded: bool) -> FetchError {
    if e.get_ref().is_some_and(|inner| inner.is::<WireCapReached>()) {
        return FetchError::TooLarge { limit_bytes: limits.max_compressed_bytes };
    }
    if let Some(inner) = e.get_ref().and_then(|inner| inner.downcast_ref::<reqwest::Error>()) {
        let detail = format!("body: {}", onrust_model::error_chain(inner));
        // The reqwest error itself is the source, not the io::Error around
        // it: that one would hand on only the reqwest error's own source.
        let source = e.into_inner().unwrap_or_else(|| Box::new(io::Error::other(detail.clone())));
        return FetchError::Io { detail, source };
    }
    if encoded && matches!(e.kind(), io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof | io::ErrorKind::Other) {
        return FetchError::Decode { detail: e.to_string(), source: Some(e) };
    }
    FetchError::Io { detail: e.to_string(), source: Box::new(e) }
}

fn map_reqwest_error(e: reqwest::Error) -> FetchError {
    // The resolver's refusal travels inside reqwest's error chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(blocked) = err.downcast_ref::<Blocked>() {
            return FetchError::Blocked(blocked.clone());
        }
        source = err.source();
    }
    if e.is_timeout() {
        return FetchError::Connect { detail: format!("timed out: {}", onrust_model::error_chain(&e)), source: e };
    }
    if e.is_connect() {
        return FetchError::Connect { detail: onrust_model::error_chain(&e), source: e };
    }
    FetchError::Io { detail: onrust_model::error_chain(&e), source: Box::new(e) }
}

/// `url` without its fragment, which never reaches the server: two URLs
/// that differ only there are one place.
fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

/// The hops of a loop as `a → b → a`: each without user name or password,
/// and cut to a readable length, since a server chose them.
fn describe_chain(hops: &[Url], back_to: &Url) -> String {
    const MAX_HOP_CHARS: usize = 160;
    let shown = |url: &Url| {
        let mut url = url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let text = url.to_string();
        match text.char_indices().nth(MAX_HOP_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    };
    hops.iter().chain(std::iter::once(back_to)).map(shown).collect::<Vec<_>>().join(" → ")
}

fn redirect_target(current: &Url, headers: &HeaderMap) -> Result<Url, FetchError> {
    let location = header_str(headers, header::LOCATION)
        .ok_or_else(|| FetchError::BadRedirect { detail: "no location header".into(), source: None })?;
    current
        .join(&location)
        .map_err(|e| FetchError::BadRedirect { detail: format!("{location:?}: {e}"), source: Some(e) })
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// `Cache-Control: max-age=N`, if present.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = header_str(headers, header::CACHE_CONTROL)?;
    value.split(',').find_map(|directive| {
        let (name, secs) = directive.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        secs.trim().trim_matches('"').parse::<u64>().ok().map(Duration::from_secs)
    })
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date (relative to `now`).
/// A date in the past gives zero; an unparsable value gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let target = SystemTime::from(date.with_timezone(&chrono::Utc));
    Some(target.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn cache_control_max_age() {
        let mut h = HeaderMap::new();
        h.insert(header::CACHE_CONTROL, "public, max-age=300".parse().unwrap());
        assert_eq!(max_age(&h), Some(Duration::from_secs(300)));
        h.insert(header::CACHE_CONTROL, "no-cache".parse().unwrap());
        assert_eq!(max_age(&h), None);
    }

    #[tokio::test]
    async fn blocked_hosts_fail_before_connecting() {
        let fetcher = Fetcher::new(FetcherOptions::default()).unwrap();
        for url in
            ["http://127.0.0.1:9/", "http://[::ffff:127.0.0.1]:9/", "http://2130706433/", "http://169.254.169.254/"]
        {
            let err = fetcher.get(&Url::parse(url).unwrap(), &Conditional::default()).await.unwrap_err();
            assert!(matches!(err, FetchError::Blocked(_)), "{url}: {err}");
        }
        let err = fetcher.get(&Url::parse("file:///etc/passwd").unwrap(), &Conditional::default()).await.unwrap_err();
        assert!(matches!(err, FetchError::Scheme { .. }), "{err}");
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_blocked() {
        // "localhost" resolves locally (no network) to loopback.
        let fetcher = Fetcher::new(FetcherOptions::default()).unwrap();
        let err = fetcher.get(&Url::parse("http://localhost:9/").unwrap(), &Conditional::default()).await.unwrap_err();
        assert!(matches!(err, FetchError::Blocked(_)), "{err}");
    }
}
