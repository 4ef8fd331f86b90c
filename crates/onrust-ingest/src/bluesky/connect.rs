//! The Jetstream connection: the subscription URL, and a WebSocket over a
//! checked address.
//!
//! **Safety.** Only `ws` and `wss`. The host is resolved once and every
//! address checked by the fetcher's egress guard (S1, with its allow-list);
//! the TCP connection goes to a checked address and the TLS handshake
//! (webpki roots, verification always on) and the WebSocket handshake run
//! over it, so the name cannot resolve to another, unchecked address in
//! between. Connecting has a timeout, and messages and frames a size cap.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use url::{Host, Url};

use crate::fetch::guard::{Blocked, EgressGuard, ResolveError};

use super::{JetstreamSource, POST_COLLECTION};

/// The subscription URL: the configured one with `wantedCollections`,
/// `maxMessageSizeBytes` (and `cursor` when resuming) set, and options this
/// source cannot handle (compression, a required hello) removed.
pub(crate) fn subscribe_url(base: &Url, cursor: Option<i64>, max_message_bytes: usize) -> Url {
    let mut url = base.clone();
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(name, _)| {
            !matches!(
                name.as_ref(),
                "wantedCollections" | "cursor" | "compress" | "requireHello" | "maxMessageSizeBytes"
            )
        })
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        query.extend_pairs(kept);
        query.append_pair("wantedCollections", POST_COLLECTION);
        query.append_pair("maxMessageSizeBytes", &max_message_bytes.to_string());
        if let Some(cursor) = cursor {
            query.append_pair("cursor", &cursor.to_string());
        }
    }
    url
}

impl JetstreamSource {
    /// Resolves and checks the host, connects to a checked address, and runs
    /// TLS (for `wss`) and the WebSocket handshake over that connection.
    pub(super) async fn connect(&self, guard: &EgressGuard, url: &Url) -> Result<JetstreamSocket, ConnectError> {
        let tls = match url.scheme() {
            "ws" => false,
            "wss" => true,
            other => return Err(ConnectError::Scheme(other.to_owned())),
        };
        let (host, server_name) = match url.host() {
            Some(Host::Domain(name)) => {
                let server_name =
                    rustls::pki_types::ServerName::try_from(name.to_owned()).map_err(ConnectError::DnsName)?;
                (name.to_owned(), server_name)
            }
            Some(Host::Ipv4(ip)) => (ip.to_string(), rustls::pki_types::ServerName::IpAddress(IpAddr::V4(ip).into())),
            Some(Host::Ipv6(ip)) => (ip.to_string(), rustls::pki_types::ServerName::IpAddress(IpAddr::V6(ip).into())),
            None => return Err(ConnectError::NoHost),
        };
        let port = url.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
        let handshake = async {
            let addrs = guard.resolve(&host, port).await.map_err(|error| match error {
                ResolveError::Blocked(blocked) => ConnectError::Blocked(blocked),
                lookup @ ResolveError::Lookup(_) => ConnectError::Lookup(lookup),
            })?;
            let mut last_error = None;
            let mut tcp = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => {
                        tcp = Some(stream);
                        break;
                    }
                    Err(error) => last_error = Some(error),
                }
            }
            let tcp = tcp.ok_or(ConnectError::Tcp(last_error))?;
            let _ = tcp.set_nodelay(true);
            let stream: Box<dyn ByteStream> = if tls {
                let connector = tokio_rustls::TlsConnector::from(tls_config()?);
                let stream = connector.connect(server_name, tcp).await.map_err(ConnectError::TlsHandshake)?;
                Box::new(stream)
            } else {
                Box::new(tcp)
            };
            let mut request = url.as_str().into_client_request().map_err(ConnectError::Request)?;
            request.headers_mut().insert(
                tungstenite::http::header::USER_AGENT,
                tungstenite::http::HeaderValue::from_static(concat!("onrust/", env!("CARGO_PKG_VERSION"))),
            );
            let config = WebSocketConfig::default()
                .max_message_size(Some(self.max_message_bytes))
                .max_frame_size(Some(self.max_message_bytes));
            let (ws, _response) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                .await
                .map_err(|error| match error {
                    tungstenite::Error::Http(response) => ConnectError::Status(response.status().as_u16()),
                    other => ConnectError::Handshake(other),
                })?;
            Ok(ws)
        };
        tokio::time::timeout(self.connect_timeout, handshake)
            .await
            .unwrap_or(Err(ConnectError::Timeout(self.connect_timeout)))
    }
}

/// The sources' TLS client configuration ([`crate::tls`]).
pub(super) fn tls_config() -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    crate::tls::client_config().map(Arc::new).map_err(ConnectError::TlsConfig)
}

/// A byte stream the WebSocket runs over: plain TCP or TLS.
pub(super) trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> ByteStream for T {}

pub(super) type JetstreamSocket = WebSocketStream<Box<dyn ByteStream>>;

/// Why a connection could not be made. Never names a person: only the
/// configured host's addresses and the server's status. Each variant keeps
/// the error it wraps as its source, and quotes it, so a log line says what
/// failed and a caller can still walk the chain.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectError {
    #[error("scheme {0:?} is not allowed, only ws and wss")]
    Scheme(String),
    #[error("blocked: {0}")]
    Blocked(#[source] Blocked),
    #[error("could not connect: the url has no host")]
    NoHost,
    #[error("could not connect: the host is not a valid dns name")]
    DnsName(#[source] rustls::pki_types::InvalidDnsNameError),
    #[error("could not connect: {0}")]
    Lookup(#[source] ResolveError),
    /// Every resolved address refused the TCP connection; the last error is kept.
    #[error("could not connect: {}", .0.as_ref().map_or_else(|| "no address".to_owned(), ToString::to_string))]
    Tcp(#[source] Option<std::io::Error>),
    #[error("could not connect: tls configuration: {0}")]
    TlsConfig(#[source] rustls::Error),
    #[error("could not connect: tls handshake failed: {0}")]
    TlsHandshake(#[source] std::io::Error),
    #[error("could not connect: invalid websocket request: {0}")]
    Request(#[source] tungstenite::Error),
    #[error("could not connect: websocket handshake failed: {0}")]
    Handshake(#[source] tungstenite::Error),
    #[error("connecting took longer than {0:?}")]
    Timeout(Duration),
    #[error("the server refused the websocket upgrade with http status {0}")]
    Status(u16),
}

impl ConnectError {
    /// The bounded metric label of this failure.
    pub(super) fn outcome(&self) -> &'static str {
        match self {
            Self::Scheme(_) | Self::Blocked(_) => "blocked",
            Self::NoHost
            | Self::DnsName(_)
            | Self::Lookup(_)
            | Self::Tcp(_)
            | Self::TlsConfig(_)
            | Self::TlsHandshake(_)
            | Self::Request(_)
            | Self::Handshake(_) => "connect_error",
            Self::Timeout(_) => "timeout",
            Self::Status(_) => "http_error",
        }
    }
}
