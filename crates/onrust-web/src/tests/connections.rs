//! The listener's limits (rule S12): a full house, a half-sent head, a
//! silent kept-alive connection, a stalled body.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

async fn start_limited(state: WebState, limits: ConnectionLimits) -> SocketAddr {
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, state, limits, std::future::pending()));
    addr
}

/// Reads until the server closes the connection (or resets it); how long it took and what came.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> (Duration, String) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut seen)).await;
    assert!(read.is_ok(), "still open after {within:?}; read so far: {}", String::from_utf8_lossy(&seen));
    (started.elapsed(), String::from_utf8_lossy(&seen).into_owned())
}

async fn half_a_request(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n").await.unwrap();
    stream
}

#[tokio::test]
async fn a_full_house_is_answered_503_and_a_half_sent_head_is_cut_off() {
    let fixture = Fixture::new();
    let limits = ConnectionLimits {
        header_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_secs(30),
        max_connections: 8,
    };
    let addr = start_limited(fixture.state(false), limits).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(half_a_request(addr).await);
    }
    // Give the listener time to take all eight before the ninth comes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = half_a_request(addr).await;
    let (took, answer) = until_closed(&mut extra, Duration::from_millis(500)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "beyond the limit: {answer:?}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    assert!(took < Duration::from_millis(300), "refused at once, not after {took:?}");
    // The eight are closed at the head timeout, not before and not much after.
    let started = Instant::now();
    for stream in &mut held {
        until_closed(stream, Duration::from_secs(3)).await;
    }
    let closed = started.elapsed();
    assert!(closed >= Duration::from_millis(500) && closed < Duration::from_secs(2), "closed after {closed:?}");
    // And health answers.
    let reply = call(addr, "/healthz", &[]).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
}

#[tokio::test]
async fn a_silent_kept_alive_connection_is_closed_after_the_idle_timeout_and_a_working_handler_is_not() {
    let fixture = Fixture::new();
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(300),
        max_connections: 8,
    };
    let slow_search = SearchLimits { budget: Duration::from_secs(5), ..SearchLimits::default() };
    let addr = start_limited(fixture.state_with(false, Arc::new(Stub(slow)), slow_search), limits).await;
    // A kept-alive connection: the answer comes, then the silence is cut off well before the head timeout.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").await.unwrap();
    let (took, answer) = until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"), "{answer:?}");
    assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(2), "closed after {took:?}");
    // A search that takes longer than the idle timeout is working, not idle: it is answered.
    let reply = get_as(addr, "/api/v1/search?q=trekkers", Some(ANALYST)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn a_request_body_that_stalls_is_closed_as_idle() {
    let fixture = Fixture::new();
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(300),
        max_connections: 8,
    };
    let addr = start_limited(fixture.state(false), limits).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/alerts/{FINGERPRINT}/ack HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"comment\":",
        token_of(Role::Officer)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (took, _) = until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(took < Duration::from_secs(2), "closed after {took:?}");
    assert_eq!(fixture.verified(), 0, "the handler never had a body, so nothing was done or recorded");
}
