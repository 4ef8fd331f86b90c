//! One plain HTTP/1.1 request to the running daemon's own listener, for the
//! commands that talk to it (`onrust alerts …`, `onrust health`).
//!
//! The daemon serves plain http on `http.listen`, usually loopback, so a
//! socket and a few lines of HTTP are all it takes; a client library would
//! add TLS and connection pools nobody uses here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the daemon answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Where to reach a daemon listening on `listen`: an unspecified address
/// (`0.0.0.0`, `[::]`, as in a container) is reached over the loopback of
/// its family.
pub fn reachable(listen: SocketAddr) -> SocketAddr {
    let mut addr = listen;
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    addr
}

/// A bearer token kept in a file (surrounding whitespace ignored, one line).
/// The error names the file, never the token.
pub fn read_token_file(path: &Path) -> anyhow::Result<String> {
    let token =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = token.trim();
    if token.is_empty() || token.contains(['\r', '\n']) {
        anyhow::bail!("the token file {} must hold one line", path.display());
    }
    Ok(token.to_owned())
}

/// Sends one request to `addr` and reads the whole answer, all within `timeout`.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<Answer> {
    tokio::time::timeout(timeout, exchange(addr, method, path, token, body)).await.map_err(|_| {
        anyhow::anyhow!("onrust at {addr} did not answer within {}", humantime::format_duration(timeout))
    })?
}

async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<Answer> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot reach onrust at {addr}; is it running?"))?;
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let (content, body) = match body {
        Some(body) => (format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()), body),
        None => (String::new(), ""),
    };
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{authorization}{content}Connection: close\r\n\r\n{body}");
    stream.write_all(request.as_bytes()).await.with_context(|| format!("sending the request to onrust at {addr}"))?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.with_context(|| format!("reading the answer of onrust at {addr}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("onrust at {addr} did not answer in HTTP"))?;
    // axum answers these small bodies with a Content-Length, never chunked.
    Ok(Answer { status, body: body.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listener_is_reached_over_loopback() {
        let at = |s: &str| reachable(s.parse().expect("address"));
        assert_eq!(at("0.0.0.0:8080"), "127.0.0.1:8080".parse().expect("address"));
        assert_eq!(at("[::]:8080"), "[::1]:8080".parse().expect("address"));
        assert_eq!(at("127.0.0.1:9000"), "127.0.0.1:9000".parse().expect("address"));
        assert_eq!(at("10.1.2.3:8080"), "10.1.2.3:8080".parse().expect("address"));
    }

    #[test]
    fn a_token_file_holds_one_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("token");
        std::fs::write(&file, "  onrust_secret_value\n").expect("write");
        assert_eq!(read_token_file(&file).expect("token"), "onrust_secret_value");
        std::fs::write(&file, "one\ntwo\n").expect("write");
        let error = read_token_file(&file).expect_err("two lines").to_string();
        assert!(error.contains("must hold one line") && !error.contains("one\ntwo"), "{error}");
        std::fs::write(&file, "\n").expect("write");
        assert!(read_token_file(&file).is_err(), "an empty file is no token");
        let missing = read_token_file(&dir.path().join("absent")).expect_err("no file").to_string();
        assert!(missing.contains("cannot read the token file"), "{missing}");
    }
}
