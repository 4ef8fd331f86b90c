//! The listener: accepts connections up to a limit and serves each with
//! hyper under a head timeout and an idle timeout (`[http]`
//! `max_connections`, `header_timeout`, `idle_timeout`).
//!
//! Why not `axum::serve`: it accepts every connection and sets no timer, so
//! a client that opens connections and sends half a request line holds each
//! one forever. Enough of them took every file descriptor of the process,
//! and the archive and alert stages failed on their next file (issue 18).
//! Here a connection needs one of `max_connections` slots, taken right after
//! accepting; without a free slot it gets a 503 and is closed at once, so
//! the HTTP side never holds more descriptors than that (the start-up check
//! in the binary makes sure the process limit covers them and the stages).
//!
//! The two timeouts:
//!
//! - **Head**: the request line and headers must arrive within
//!   `header_timeout` of the server starting to wait for them, after the
//!   accept or after the previous answer (hyper's `header_read_timeout`).
//! - **Idle**: a connection on which nothing is read or written for
//!   `idle_timeout` while no request is being handled is closed: a
//!   kept-alive connection between requests, a request body that stalls
//!   (waiting for the body does not count as handling), a client that stops
//!   reading its answer. A handler that is working (a search, the sign-in
//!   brake) is not idle.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::internal_events::{ConnectionClosed, ConnectionLimitReached, ConnectionsOpen};
use crate::{WebState, router};

/// How many connections the listener serves at once and how long it waits for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time for a request's head to arrive, counted from when the server waits for it.
    pub header_timeout: Duration,
    /// Time a connection may stay silent while no request is being handled.
    pub idle_timeout: Duration,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { header_timeout: Duration::from_secs(10), idle_timeout: Duration::from_secs(5), max_connections: 256 }
    }
}

/// The answer to a connection beyond the limit, written once without waiting.
const LIMIT_REACHED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 27\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections, retry";

/// Serves until `shutdown` resolves, then lets every open connection finish
/// its request (kept-alive ones close at once) and returns when all have.
pub async fn serve(
    listener: TcpListener,
    state: WebState,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let router = router(state);
    // The configuration allows far fewer; the bound keeps the count a `u32` for the final wait.
    let max = limits.max_connections.clamp(1, 1_000_000);
    let slots = Arc::new(Semaphore::new(max));
    let mut at_limit = false;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(&error).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            if !std::mem::replace(&mut at_limit, true) {
                ConnectionLimitReached { reached: true, max }.emit();
            }
            ConnectionClosed { outcome: "limit" }.emit();
            // One attempt, no waiting: a client that does not read gets nothing.
            let _ = stream.try_write(LIMIT_REACHED);
            continue;
        };
        // Only once a quarter of the slots is free again, so a listener kept
        // at its limit logs the change now and then, not with every connection.
        if at_limit && slots.available_permits() >= max / 4 {
            at_limit = false;
            ConnectionLimitReached { reached: false, max }.emit();
        }
        ConnectionsOpen::set(max - slots.available_permits());
        let connection = Connection { router: router.clone(), peer, limits, stop: stop_rx.clone() };
        let slots = Arc::clone(&slots);
        tokio::spawn(async move {
            connection.serve(stream, slot).await;
            ConnectionsOpen::set(max - slots.available_permits());
        });
    }
    stop_tx.send_replace(true);
    // Every connection holds its slot until it has ended.
    let _all = slots.acquire_many(u32::try_from(max).unwrap_or(u32::MAX)).await;
    ConnectionsOpen::set(0);
}

/// An accept that failed: the connection is gone (nothing to do) or the
/// process is out of descriptors or memory, in which case the listener waits
/// a moment rather than spin (the stages need the descriptors more).
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted) {
        return;
    }
    tracing::error!(error = %error, "cannot accept an http connection; pausing the listener for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection and what it needs.
struct Connection {
    router: Router,
    /// The TCP peer: every request of the connection carries it (the sign-in
    /// brake per address reads it; never a header, which a client could set).
    peer: SocketAddr,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn serve(mut self, stream: TcpStream, _slot: OwnedSemaphorePermit) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked { inner: stream, activity: Arc::clone(&activity) });
        let service = Handler { router: self.router.clone(), peer: self.peer, activity: Arc::clone(&activity) };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(self.limits.header_timeout).keep_alive(true);
        let mut conn = pin!(builder.serve_connection(io, service));
        let mut stopping = false;
        let idle_timeout = self.limits.idle_timeout;
        let outcome = loop {
            tokio::select! {
                result = conn.as_mut() => break match result {
                    Ok(()) => None,
                    Err(error) if error.is_timeout() => Some("header_timeout"),
                    Err(error) => {
                        tracing::debug!(error = %error, "http connection ended with an error");
                        None
                    }
                },
                _ = self.stop.wait_for(|stop| *stop), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = activity.idle_for(idle_timeout) => break Some("idle_timeout"),
            }
        };
        // Dropping the connection closes the socket.
        if let Some(outcome) = outcome {
            ConnectionClosed { outcome }.emit();
        }
    }
}

/// What the idle timeout watches on one connection.
struct Activity {
    started: Instant,
    /// Milliseconds since `started` of the last byte read or written.
    last_progress_ms: AtomicU64,
    /// Requests whose handler is running.
    handling: AtomicUsize,
    /// A handler is waiting for request body bytes (which counts as idle).
    awaiting_body: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_progress_ms: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
            awaiting_body: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn progressed(&self) {
        self.last_progress_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn idle(&self) -> bool {
        self.handling.load(Ordering::SeqCst) == 0 || self.awaiting_body.load(Ordering::SeqCst)
    }

    /// Resolves once the connection has been idle and silent for `timeout`.
    /// Progress only moves the deadline later, so sleeping until the
    /// deadline as it stands and checking again is enough.
    async fn idle_for(&self, timeout: Duration) {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        loop {
            let silent_since = self.last_progress_ms.load(Ordering::Relaxed);
            let now = self.now_ms();
            let deadline = silent_since.saturating_add(timeout_ms);
            if !self.idle() {
                tokio::time::sleep(timeout).await;
            } else if now >= deadline {
                return;
            } else {
                tokio::time::sleep(Duration::from_millis(deadline - now)).await;
            }
        }
    }
}

/// The socket, reporting every byte that moves to its [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.progressed();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.progressed();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.progressed();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Hands each request to the router, counting it as handled while it runs.
#[derive(Clone)]
struct Handler {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Handler {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let router = self.router.clone();
        let activity = Arc::clone(&self.activity);
        let peer = self.peer;
        Box::pin(async move {
            let mut request: Request =
                request.map(|body| Body::new(TrackedBody { inner: body, activity: Arc::clone(&activity) }));
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            let _handling = Handling::start(&activity);
            tower::ServiceExt::oneshot(router, request).await
        })
    }
}

/// Marks a request as being handled for as long as it lives.
struct Handling<'a>(&'a Activity);

impl<'a> Handling<'a> {
    fn start(activity: &'a Activity) -> Self {
        activity.handling.fetch_add(1, Ordering::SeqCst);
        Self(activity)
    }
}

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        self.0.awaiting_body.store(false, Ordering::SeqCst);
        self.0.handling.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request body that tells the [`Activity`] when its handler waits for bytes.
struct TrackedBody {
    inner: Incoming,
    activity: Arc<Activity>,
}

impl hyper::body::Body for TrackedBody {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        self.activity.awaiting_body.store(polled.is_pending(), Ordering::SeqCst);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
