//! A minimal HTTP/1.1 test server on 127.0.0.1:0 that answers with raw bytes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onrust_ingest::fetch::{FetchLimits, Fetcher, FetcherOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct TestServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{}", self.addr, path)).unwrap()
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn last_request(&self) -> String {
        self.requests.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

/// Serves every connection with `handler(request_head, stream)`.
pub async fn serve<F, Fut>(handler: F) -> TestServer
where
    F: Fn(String, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&requests);
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let handler = Arc::clone(&handler);
            let recorded = Arc::clone(&recorded);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                recorded.lock().unwrap().push(head.clone());
                handler(head, stream).await;
            });
        }
    });
    TestServer { addr, requests }
}

/// Serves a fixed response computed from the request head.
pub async fn serve_fn(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> TestServer {
    let respond = Arc::new(respond);
    serve(move |head, mut stream| {
        let respond = Arc::clone(&respond);
        async move {
            let bytes = respond(&head);
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
    })
    .await
}

/// A raw response with Content-Length and Connection: close.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len()).into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Case-insensitive header lookup in a raw request head.
pub fn request_header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

pub fn fetcher_with(limits: FetchLimits, allow: &[&str]) -> Fetcher {
    Fetcher::new(FetcherOptions {
        limits,
        user_agent: "onrust-test".into(),
        allow_hosts: allow.iter().map(|s| s.to_string()).collect(),
        min_host_interval: Duration::ZERO,
        max_requests_per_host: onrust_ingest::fetch::DEFAULT_MAX_REQUESTS_PER_HOST,
    })
    .unwrap()
}

pub fn local_fetcher() -> Fetcher {
    fetcher_with(FetchLimits::default(), &["127.0.0.1"])
}

/// A counter of this test binary's one global metrics recorder, installed on
/// first use (a process has one recorder; every test module shares it).
/// `labels` in any order.
pub fn counter(name: &str, labels: &[(&str, &str)]) -> u64 {
    let mut labels: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let key = metric_key(name, &mut labels);
    recorder().counters.lock().unwrap().get(&key).map_or(0, |c| c.load(std::sync::atomic::Ordering::SeqCst))
}

/// Installs the recorder now, before the code under test registers its counters.
pub fn install_recorder() {
    recorder();
}

struct Capture {
    counters: Mutex<std::collections::BTreeMap<String, Arc<std::sync::atomic::AtomicU64>>>,
}

fn metric_key(name: &str, labels: &mut [(String, String)]) -> String {
    labels.sort();
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

fn recorder() -> &'static Capture {
    static CAPTURE: std::sync::OnceLock<&'static Capture> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture { counters: Mutex::default() }));
        metrics::set_global_recorder(capture).expect("the only global recorder of this test binary");
        capture
    })
}

impl metrics::Recorder for Capture {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let mut labels: Vec<(String, String)> =
            key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
        let name = metric_key(key.name(), &mut labels);
        metrics::Counter::from_arc(Arc::clone(self.counters.lock().unwrap().entry(name).or_default()))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// A source context on `fetcher` with keys and cursors under `dir`.
pub fn context_in(dir: &std::path::Path, fetcher: Fetcher) -> onrust_ingest::source::SourceContext {
    onrust_ingest::source::SourceContext::new(
        Arc::new(fetcher),
        Arc::new(
            onrust_ingest::pseudonym::PseudonymKeys::new(dir.join("keys"), Duration::from_secs(28 * 86400)).unwrap(),
        ),
        Arc::new(onrust_ingest::cursor::CursorStore::new(dir.join("cursors")).unwrap()),
    )
}

/// How long the tests wait for what a running source does next (a stored
/// cursor, a re-poll), with `onrust_testkit::wait_until_async`.
pub const EVENTUALLY: Duration = Duration::from_secs(5);
