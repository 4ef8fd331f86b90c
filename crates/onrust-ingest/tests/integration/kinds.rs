//! Reddit and YouTube: their real feed shapes (the feed-rs fixtures) through
//! the feed poller, and how each answers 429 and 5xx.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onrust_ingest::cursor::SourceCursor;
use onrust_ingest::feed::FeedSource;
use onrust_ingest::source::{PollError, Poller, SourceContext, SourceSettings};
use onrust_model::{SourceId, SourceKind};

use crate::support::{TestServer, local_fetcher, response, serve_fn};

fn fixture(name: &str) -> Vec<u8> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds/feed-rs");
    std::fs::read(dir.join(name)).unwrap()
}

struct Kind {
    _dir: tempfile::TempDir,
    ctx: SourceContext,
}

impl Kind {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::support::context_in(dir.path(), local_fetcher());
        Self { _dir: dir, ctx }
    }

    fn source(&self, server: &TestServer, kind: SourceKind) -> FeedSource {
        let url = server.url("/feed");
        let settings = SourceSettings::new(SourceId::new("kind").unwrap(), kind, url.as_str(), Duration::from_secs(60));
        FeedSource::feed(settings, url)
    }
}

/// Answers with the responses in turn, the last one from then on.
async fn answering(responses: Vec<Vec<u8>>) -> TestServer {
    let responses = Arc::new(Mutex::new(responses));
    serve_fn(move |_| {
        let mut responses = responses.lock().unwrap();
        if responses.len() > 1 { responses.remove(0) } else { responses[0].clone() }
    })
    .await
}

#[tokio::test]
async fn reddit_posts_carry_their_kind_and_no_user_names() {
    for file in ["rss_2.0_reddit.xml", "atom_example_reddit.xml"] {
        let body = fixture(file);
        let server = answering(vec![response("200 OK", &[("Content-Type", "application/atom+xml")], &body)]).await;
        let kind = Kind::new();
        let source = kind.source(&server, SourceKind::Reddit);
        let polled =
            source.poller.poll(&kind.ctx, &source.settings, &SourceCursor::default()).await.unwrap_or_else(|e| {
                panic!("{file}: {e:?}");
            });
        assert!(!polled.messages.is_empty(), "{file}");
        let json = serde_json::to_string(&polled.messages).unwrap();
        // The feeds sign every post "submitted by /u/name" and name the author.
        for user in ["kevincox_ca", "llogiq"] {
            assert!(!json.contains(user), "{file}: {user} reached a message");
        }
        for message in &polled.messages {
            assert_eq!(message.source_kind, SourceKind::Reddit);
            assert!(message.author.is_some(), "{file}: the author is there, as a pseudonym");
            assert!(message.url.as_deref().is_some_and(|u| u.starts_with("https://www.reddit.com/")), "{file}");
        }
    }
}

#[tokio::test]
async fn youtube_videos_are_title_and_description() {
    let body = fixture("atom_mediarss_youtube_1.xml");
    let server = answering(vec![response("200 OK", &[], &body)]).await;
    let kind = Kind::new();
    let source = kind.source(&server, SourceKind::Youtube);
    let polled = source.poller.poll(&kind.ctx, &source.settings, &SourceCursor::default()).await.unwrap();
    assert_eq!(polled.messages.len(), 1);
    let video = &polled.messages[0];
    assert_eq!(video.source_kind, SourceKind::Youtube);
    assert!(video.title.as_deref().is_some_and(|t| !t.is_empty()));
    assert!(!video.text.is_empty(), "the media:description is the text");
    assert!(video.url.as_deref().is_some_and(|u| u.starts_with("https://www.youtube.com/watch")));
}

#[tokio::test]
async fn reddit_429_waits_as_long_as_it_asks_and_keeps_the_cursor() {
    let server = answering(vec![response("429 Too Many Requests", &[("Retry-After", "120")], b"")]).await;
    let kind = Kind::new();
    let source = kind.source(&server, SourceKind::Reddit);
    let failed = source.poller.poll(&kind.ctx, &source.settings, &SourceCursor::default()).await.unwrap_err();
    assert!(
        matches!(&failed, PollError::Failed { retry_after: Some(d), .. } if *d == Duration::from_secs(120)),
        "{failed:?}"
    );
    // The request said who we are, so an operator can reach us.
    assert!(server.last_request().to_ascii_lowercase().contains("user-agent: onrust-test"));
}

/// YouTube's feed endpoint has recurring outages that answer 404 or 500:
/// a failed poll that is tried again later, never a disabled source.
#[tokio::test]
async fn youtube_404_and_500_are_temporary() {
    let body = fixture("atom_mediarss_youtube_1.xml");
    let server = answering(vec![
        response("404 Not Found", &[], b"<html>not found</html>"),
        response("500 Internal Server Error", &[], b""),
        response("200 OK", &[], &body),
    ])
    .await;
    let kind = Kind::new();
    let source = kind.source(&server, SourceKind::Youtube);
    let cursor = SourceCursor::default();
    for status in ["404", "500"] {
        match source.poller.poll(&kind.ctx, &source.settings, &cursor).await {
            Err(PollError::Failed { error, retry_after: None }) => assert!(error.contains(status), "{error}"),
            other => panic!("{status}: expected a temporary failure, got {other:?}"),
        }
    }
    let polled = source.poller.poll(&kind.ctx, &source.settings, &cursor).await.unwrap();
    assert_eq!(polled.messages.len(), 1, "the next poll after an outage delivers");
}
