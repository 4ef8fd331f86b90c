use std::sync::{Arc, Mutex};
use std::time::Duration;

use onrust_ingest::feed::FeedSource;
use onrust_ingest::source::{SourceContext, SourceSettings};
use onrust_model::{Ack, RawMessage, SourceId, SourceKind};
use onrust_testkit::wait_until_async;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::support::{EVENTUALLY, TestServer, local_fetcher, request_header, response, serve_fn};

#[derive(Clone)]
struct Feed {
    status: u16,
    etag: String,
    items: Vec<&'static str>,
}

fn rss(items: &[&str]) -> String {
    let items: String = items
        .iter()
        .map(|id| format!("<item><title>Bericht {id}</title><guid>{id}</guid><description>tekst {id}</description><author>canary-author-{id}</author></item>"))
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><language>nl</language>{items}</channel></rss>"
    )
}

async fn feed_server(state: Arc<Mutex<Feed>>) -> TestServer {
    serve_fn(move |head| {
        let feed = state.lock().unwrap().clone();
        if feed.status == 410 {
            return response("410 Gone", &[], b"");
        }
        if request_header(head, "if-none-match").as_deref() == Some(feed.etag.as_str()) {
            return response("304 Not Modified", &[("ETag", &feed.etag)], b"");
        }
        response(
            "200 OK",
            &[("ETag", &feed.etag), ("Content-Type", "application/rss+xml")],
            rss(&feed.items).as_bytes(),
        )
    })
    .await
}

struct Harness {
    _dir: tempfile::TempDir,
    ctx: SourceContext,
    id: SourceId,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::support::context_in(dir.path(), local_fetcher());
        Self { _dir: dir, ctx, id: SourceId::new("lokaal").unwrap() }
    }

    fn start(&self, server: &TestServer) -> Running {
        let url = server.url("/feed.xml");
        let mut settings =
            SourceSettings::new(self.id.clone(), SourceKind::Feed, url.as_str(), Duration::from_millis(100));
        settings.shutdown_grace = Duration::from_millis(300);
        let source = FeedSource::feed(settings, url);
        let (tx, rx) = mpsc::channel(16);
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(source.run(self.ctx.clone(), tx, shutdown));
        Running { rx, stop, task }
    }

    fn seen(&self) -> Option<Vec<String>> {
        self.ctx.cursors.load(&self.id).unwrap().map(|c| c.seen.into_iter().collect())
    }
}

struct Running {
    rx: mpsc::Receiver<(RawMessage, Ack)>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    async fn recv(&mut self) -> (RawMessage, Ack) {
        tokio::time::timeout(Duration::from_secs(5), self.rx.recv())
            .await
            .expect("timed out waiting for a message")
            .expect("channel closed")
    }

    async fn nothing_for(&mut self, wait: Duration) {
        if let Ok(Some((message, _))) = tokio::time::timeout(wait, self.rx.recv()).await {
            panic!("unexpected message {}", message.id);
        }
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task).await.expect("source did not stop").unwrap();
    }
}

#[tokio::test]
async fn cursor_is_stored_only_after_the_batch_is_acked() {
    let state = Arc::new(Mutex::new(Feed { status: 200, etag: "\"v1\"".into(), items: vec!["a", "b"] }));
    let server = feed_server(Arc::clone(&state)).await;
    let harness = Harness::new();
    let mut running = harness.start(&server);

    let (first, ack1) = running.recv().await;
    let (second, ack2) = running.recv().await;
    assert_eq!(first.title.as_deref(), Some("Bericht a"));
    assert_eq!(first.lang_hint.as_deref(), Some("nl"));
    let pseudonym = first.author.as_ref().unwrap();
    assert!(!pseudonym.as_str().contains("canary"));
    assert!(!serde_json::to_string(&first).unwrap().contains("canary"));
    assert_ne!(first.id, second.id);

    // Outstanding batch: no cursor, and no further poll.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(harness.seen(), None);
    assert_eq!(server.request_count(), 1);

    ack1.ack();
    ack2.ack();
    wait_until_async("the cursor", EVENTUALLY, || harness.seen().is_some()).await;
    let stored = |key: &str| onrust_ingest::cursor::stored_key(key).into_owned();
    assert_eq!(harness.seen().unwrap(), vec![stored("id:a"), stored("id:b")], "the guids, as digests (L2)");
    assert_eq!(harness.ctx.cursors.load(&harness.id).unwrap().unwrap().etag.as_deref(), Some("\"v1\""));

    // Re-polls get 304 and send nothing.
    wait_until_async("a conditional re-poll", EVENTUALLY, || server.request_count() >= 3).await;
    assert!(request_header(&server.last_request(), "if-none-match").is_some());
    running.nothing_for(Duration::from_millis(300)).await;
    running.stop().await;

    // Restart with a changed feed: only the new item comes, and an un-acked one comes again.
    *state.lock().unwrap() = Feed { status: 200, etag: "\"v2\"".into(), items: vec!["c", "b", "a"] };
    let mut running = harness.start(&server);
    let (third, ack3) = running.recv().await;
    assert_eq!(third.title.as_deref(), Some("Bericht c"));
    running.nothing_for(Duration::from_millis(300)).await;
    // Shutdown with the batch outstanding: the source waits its grace, then gives up.
    running.stop().await;
    drop(ack3);
    assert_eq!(harness.seen().unwrap().len(), 2);

    let mut running = harness.start(&server);
    let (again, ack) = running.recv().await;
    assert_eq!(again.id, third.id);
    ack.ack();
    wait_until_async("the cursor with c", EVENTUALLY, || harness.seen().is_some_and(|s| s.len() == 3)).await;
    running.stop().await;
}

#[tokio::test]
async fn failed_batch_is_sent_again() {
    let state = Arc::new(Mutex::new(Feed { status: 200, etag: "\"v1\"".into(), items: vec!["x"] }));
    let server = feed_server(state).await;
    let harness = Harness::new();
    let mut running = harness.start(&server);
    let (first, ack) = running.recv().await;
    drop(ack);
    let (again, ack) = running.recv().await;
    assert_eq!(first.id, again.id);
    ack.ack();
    wait_until_async("the cursor", EVENTUALLY, || harness.seen().is_some()).await;
    running.stop().await;
}

#[tokio::test]
async fn gone_disables_the_source_across_restarts() {
    let state = Arc::new(Mutex::new(Feed { status: 410, etag: String::new(), items: vec![] }));
    let server = feed_server(state).await;
    let harness = Harness::new();
    let running = harness.start(&server);
    wait_until_async("the disabled cursor", EVENTUALLY, || {
        harness.ctx.cursors.load(&harness.id).unwrap().is_some_and(|c| c.disabled_reason.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.request_count(), 1, "a gone source is not polled again");
    running.stop().await;

    let running = harness.start(&server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.request_count(), 1, "still disabled after a restart");
    running.stop().await;
}
