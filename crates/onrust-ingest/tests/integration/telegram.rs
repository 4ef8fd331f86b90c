//! The telegram kind against fixture pages of a public channel preview, served locally.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use onrust_ingest::cursor::SourceCursor;
use onrust_ingest::source::{PollError, Polled, Poller, SourceContext, SourceSettings};
use onrust_ingest::telegram::{TelegramPageError, TelegramSource, TelegramUrlError, channel_of, id_gap, parse_page};
use onrust_model::{Ack, MessageId, RawMessage, SourceId, SourceKind};
use onrust_testkit::wait_until_async;
use tokio::sync::{mpsc, watch};

use crate::support::{EVENTUALLY, TestServer, local_fetcher, response, serve_fn};

const CHANNEL: &str = "rtv_regio_nieuws";
const CANARY: &str = "canary_handle_77";
/// A word only in the quote of the post 1206 replies to.
const QUOTE_WORD: &str = "Zwanenbloem";
/// A word only in a link preview.
const PREVIEW_WORD: &str = "Kwakkelvoorbeeld";

fn fixture(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/telegram");
    std::fs::read(dir.join(name)).unwrap()
}

fn html(status: &str, body: &[u8]) -> Vec<u8> {
    response(status, &[("Content-Type", "text/html; charset=utf-8")], body)
}

/// Serves the channel preview: `/s/<channel>` and its `?before=` pages, from the fixtures.
async fn channel_server(latest: &'static str) -> TestServer {
    serve_fn(move |head| {
        let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let page = match path.strip_prefix(&format!("/s/{CHANNEL}")) {
            Some("") => latest,
            Some("?before=1201") => "before_1201.html",
            Some("?before=1193") => "before_1193.html",
            Some(_) => "empty.html",
            None => return html("404 Not Found", b"not found"),
        };
        html("200 OK", &fixture(page))
    })
    .await
}

/// A channel without a public preview: t.me sends `/s/<channel>` to the channel's landing page.
async fn no_preview_server() -> TestServer {
    serve_fn(|head| {
        let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
        if path.starts_with("/s/") {
            response("302 Found", &[("Location", &format!("/{CHANNEL}"))], b"")
        } else {
            html("200 OK", &fixture("no_preview.html"))
        }
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
        Self { _dir: dir, ctx, id: SourceId::new("regio_telegram").unwrap() }
    }

    fn settings(&self, server: &TestServer) -> SourceSettings {
        let url = server.url(&format!("/s/{CHANNEL}"));
        let mut settings =
            SourceSettings::new(self.id.clone(), SourceKind::Telegram, url.as_str(), Duration::from_millis(100));
        settings.shutdown_grace = Duration::from_millis(300);
        settings
    }

    fn source(&self, server: &TestServer, max_pages: usize) -> TelegramSource {
        let mut source = TelegramSource::telegram(self.settings(server), server.url(&format!("/s/{CHANNEL}"))).unwrap();
        source.poller.max_pages = max_pages;
        source
    }

    async fn poll(&self, server: &TestServer, last_id: Option<u64>, max_pages: usize) -> Result<Polled, PollError> {
        let source = self.source(server, max_pages);
        let mut cursor = SourceCursor::default();
        if let Some(last_id) = last_id {
            cursor.positions.insert("last_id".into(), last_id.to_string());
            cursor.positions.insert("channel".into(), CHANNEL.into());
        }
        source.poller.poll(&self.ctx, &source.settings, &cursor).await
    }
}

/// The post ids of messages, from their urls.
fn post_ids(messages: &[RawMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.url.as_deref().unwrap().rsplit_once('/').unwrap().1.parse().unwrap()).collect()
}

fn last_id(polled: &Polled) -> Option<&str> {
    polled.next_cursor.as_ref().unwrap().positions.get("last_id").map(String::as_str)
}

fn requested_paths(server: &TestServer) -> Vec<String> {
    server
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|head| head.split_whitespace().nth(1).unwrap_or_default().to_owned())
        .collect()
}

fn assert_no_canary(messages: &[RawMessage]) {
    let json = serde_json::to_string(messages).unwrap();
    assert!(!json.contains(CANARY), "the canary handle leaked: {json}");
    assert!(!json.to_lowercase().contains("canary"), "{json}");
}

#[test]
fn a_page_yields_own_texts_dates_and_ids() {
    let page = parse_page(&fixture("latest.html"), CHANNEL, 20_000).unwrap();
    assert_eq!(page.bad_post_ids, 0);
    let ids: Vec<u64> = page.posts.iter().map(|p| p.id).collect();
    // Oldest first; the album is one block under its first id; the block in a script is not read.
    assert_eq!(ids, vec![1201, 1202, 1203, 1206, 1207, 1208, 1209, 1210, 1211]);
    let post = |id: u64| page.posts.iter().find(|p| p.id == id).unwrap();

    assert_eq!(
        post(1201).text,
        "📢 Demonstratie op het Neude\n\nHonderden mensen verzamelen zich rond 14.00 uur op het Neude in Utrecht. \
         De gemeente heeft de demonstratie toegestaan & de politie is aanwezig.\n\nLees meer: rtvutrecht.nl/nieuws/3812001"
    );
    assert_eq!(post(1201).published_at.unwrap().to_rfc3339(), "2026-11-28T13:05:40+00:00");
    assert!(post(1202).service);
    assert!(page.posts.iter().filter(|p| p.id != 1202).all(|p| !p.service));
    assert_eq!(
        post(1203).text,
        "Beelden van het Neude: spandoeken, fluitjes en agenten te paard bij de Stadsschouwburg.",
        "the album's text, once"
    );
    assert_eq!(
        post(1206).text,
        "Update: de demonstratie op het Neude verloopt tot nu toe rustig. De politie houdt de Oudegracht vrij voor hulpdiensten."
    );
    assert_eq!(post(1207).author.as_deref(), Some(CANARY), "the signature, to be pseudonymised");
    assert_eq!(post(1208).author, None, "a forwarded-from name is no author");
    assert_eq!(
        post(1209).text,
        "Tip van @[user]: bij het Neude staat een ME-bus. rtvutrecht.nl/nieuws/3812345",
        "the mention is masked, the link preview dropped"
    );
    assert_eq!(post(1209).published_at.unwrap().to_rfc3339(), "2026-11-28T19:02:11+00:00");
    assert_eq!(post(1210).text, "", "a photo alone has no text");
    assert_eq!(
        post(1211).text,
        "Video: de laatste demonstranten verlaten het Neude, de Vinkenburgstraat is weer open."
    );
    for post in &page.posts {
        assert!(post.published_at.is_some(), "{}", post.id);
        assert!(!post.text.contains(QUOTE_WORD) && !post.text.contains(PREVIEW_WORD), "{}: {}", post.id, post.text);
        assert!(!post.text.contains(CANARY), "{}: {}", post.id, post.text);
        for dropped in ["views", "4.1K", "0:42", "👍", "RTV Regio Nieuws", "Forwarded", "edited", "http"] {
            assert!(!post.text.contains(dropped), "{}: {dropped} in {}", post.id, post.text);
        }
    }
    assert!(!format!("{page:?}").contains(CANARY), "debug output hides the signature");
}

#[test]
fn dates_duplicates_and_other_channels_in_a_page() {
    let block = |post: &str, datetime: &str| {
        format!(
            "<div class=\"tgme_widget_message js-widget_message\" data-post=\"{post}\"><div class=\"tgme_widget_message_text js-message_text\">tekst</div>\
             <a class=\"tgme_widget_message_date\" href=\"x\"><time datetime=\"{datetime}\" class=\"time\">12:00</time></a></div>"
        )
    };
    let html = [
        block("RTV_Regio_Nieuws/5", "gisteren"),
        block("rtv_regio_nieuws/6", "2300-01-01T00:00:00+00:00"),
        block("ander_kanaal/7", "2026-11-28T19:02:11+00:00"),
        block("rtv_regio_nieuws/", "2026-11-28T19:02:11+00:00"),
        block("rtv_regio_nieuws/6", "2026-11-28T19:02:11+00:00"),
    ]
    .concat();
    let page = parse_page(html.as_bytes(), CHANNEL, 100).unwrap();
    assert_eq!(page.posts.iter().map(|p| p.id).collect::<Vec<_>>(), vec![5, 6, 6]);
    assert_eq!(page.posts[0].published_at, None, "an invalid date is no date");
    assert_eq!(page.posts[1].published_at, None, "a date beyond the supported years is no date");
    assert!(page.posts[2].published_at.is_some());
    assert_eq!(page.bad_post_ids, 2);
    assert_eq!(page.oldest_id(), Some(5));
}

#[tokio::test]
async fn the_first_poll_reads_the_first_page_only() {
    let server = channel_server("latest.html").await;
    let harness = Harness::new();
    let polled = harness.poll(&server, None, 3).await.unwrap();
    assert_eq!(requested_paths(&server), vec![format!("/s/{CHANNEL}")]);
    // Service 1202 and photo-only 1210 are skipped; the rest oldest first.
    assert_eq!(post_ids(&polled.messages), vec![1201, 1203, 1206, 1207, 1208, 1209, 1211]);
    assert_eq!(last_id(&polled), Some("1211"));
    assert_eq!(polled.next_cursor.as_ref().unwrap().positions.get("channel").map(String::as_str), Some(CHANNEL));
    assert_eq!(polled.hint, None);

    let first = &polled.messages[0];
    assert_eq!(first.id, MessageId::derive(&harness.id, "post:rtv_regio_nieuws/1201"));
    assert_eq!(first.url.as_deref(), Some(format!("http://{}/{CHANNEL}/1201", server.addr).as_str()));
    assert_eq!(first.source_kind, SourceKind::Telegram);
    assert_eq!(first.title, None);
    assert_eq!(first.lang_hint, None);
    assert_eq!(first.published_at.unwrap().to_rfc3339(), "2026-11-28T13:05:40+00:00");
    assert!(first.text.starts_with("📢 Demonstratie op het Neude"));

    let authors: Vec<(u64, bool)> =
        post_ids(&polled.messages).into_iter().zip(polled.messages.iter().map(|m| m.author.is_some())).collect();
    assert_eq!(authors.iter().filter(|(_, has)| *has).map(|(id, _)| *id).collect::<Vec<_>>(), vec![1207]);
    let signed = &polled.messages[3];
    assert!(!signed.author.as_ref().unwrap().as_str().contains("canary"));
    assert_no_canary(&polled.messages);
    for message in &polled.messages {
        assert!(!message.text.contains(QUOTE_WORD), "the reply's quote is not the reply's text");
        assert!(!message.text.contains(PREVIEW_WORD));
    }
    assert_eq!(polled.messages.iter().filter(|m| m.text.contains("Beelden van het Neude")).count(), 1);
}

#[tokio::test]
async fn polls_page_back_with_before_until_the_last_id() {
    let server = channel_server("latest.html").await;
    let harness = Harness::new();
    let polled = harness.poll(&server, Some(1196), 3).await.unwrap();
    assert_eq!(requested_paths(&server), vec![format!("/s/{CHANNEL}"), format!("/s/{CHANNEL}?before=1201")]);
    assert_eq!(post_ids(&polled.messages), vec![1198, 1200, 1201, 1203, 1206, 1207, 1208, 1209, 1211]);
    assert_eq!(last_id(&polled), Some("1211"));
    assert_no_canary(&polled.messages);
}

#[tokio::test]
async fn a_page_reaching_the_last_id_needs_no_paging() {
    let server = channel_server("latest.html").await;
    let harness = Harness::new();
    let polled = harness.poll(&server, Some(1200), 3).await.unwrap();
    assert_eq!(server.request_count(), 1);
    assert_eq!(post_ids(&polled.messages), vec![1201, 1203, 1206, 1207, 1208, 1209, 1211]);

    let polled = harness.poll(&server, Some(1206), 3).await.unwrap();
    assert_eq!(server.request_count(), 2);
    assert_eq!(post_ids(&polled.messages), vec![1207, 1208, 1209, 1211]);

    let polled = harness.poll(&server, Some(1211), 3).await.unwrap();
    assert!(polled.messages.is_empty());
    assert_eq!(last_id(&polled), Some("1211"), "nothing new keeps the position");
}

#[tokio::test]
async fn an_id_gap_is_reported_and_what_was_read_is_still_sent() {
    // The cursor is far behind: three pages reach 1170, posts 1101..=1169 are out of reach.
    assert_eq!(id_gap(1100, 1170, false), Some(1101..=1169));
    assert_eq!(id_gap(1196, 1193, false), None);
    assert_eq!(id_gap(1200, 1201, false), None, "the next id is no gap");
    assert_eq!(id_gap(1100, 1170, true), None);

    let server = channel_server("latest.html").await;
    let harness = Harness::new();
    let polled = harness.poll(&server, Some(1100), 3).await.unwrap();
    assert_eq!(
        requested_paths(&server),
        vec![format!("/s/{CHANNEL}"), format!("/s/{CHANNEL}?before=1201"), format!("/s/{CHANNEL}?before=1193")],
        "at most max_pages pages, the first included"
    );
    assert_eq!(
        post_ids(&polled.messages),
        vec![1170, 1175, 1180, 1186, 1190, 1193, 1195, 1196, 1198, 1200, 1201, 1203, 1206, 1207, 1208, 1209, 1211]
    );
    assert_eq!(last_id(&polled), Some("1211"), "the position moves past the gap");

    // With one page only, the gap starts right below the first page.
    let server = channel_server("latest.html").await;
    let polled = harness.poll(&server, Some(1100), 1).await.unwrap();
    assert_eq!(server.request_count(), 1);
    assert_eq!(post_ids(&polled.messages).first(), Some(&1201));
    assert_eq!(last_id(&polled), Some("1211"));
}

#[tokio::test]
async fn a_page_back_listing_nothing_ends_paging_without_failing() {
    let server = channel_server("latest.html").await;
    let harness = Harness::new();
    let polled = harness.poll(&server, Some(1100), 10).await.unwrap();
    let paths = requested_paths(&server);
    assert_eq!(paths.len(), 4);
    assert_eq!(paths[3], format!("/s/{CHANNEL}?before=1170"));
    assert_eq!(polled.messages.len(), 17);
}

#[tokio::test]
async fn a_redirect_away_from_the_preview_fails_the_poll() {
    let server = no_preview_server().await;
    let harness = Harness::new();
    let error = harness.poll(&server, None, 3).await.unwrap_err();
    let PollError::Failed { error, .. } = error else { panic!("expected a failed poll, got {error:?}") };
    assert_eq!(error, format!("telegram channel {CHANNEL} has no public web preview: t.me redirected away from /s/"));
    assert!(!error.contains(CANARY));
    assert_eq!(requested_paths(&server), vec![format!("/s/{CHANNEL}"), format!("/{CHANNEL}")]);
}

#[tokio::test]
async fn a_preview_without_messages_fails_the_poll() {
    let server = channel_server("empty.html").await;
    let harness = Harness::new();
    for last_id in [None, Some(1211)] {
        let error = harness.poll(&server, last_id, 3).await.unwrap_err();
        assert_eq!(
            error,
            PollError::failed(format!(
                "telegram channel {CHANNEL}: the preview lists no messages; the channel may not exist"
            ))
        );
    }
}

#[tokio::test]
async fn a_page_of_only_service_messages_is_fine() {
    let page = "<html><body><div class=\"tgme_widget_message service_message js-widget_message\" data-post=\"rtv_regio_nieuws/3\">\
        <div class=\"tgme_widget_message_text js-message_text\">Channel created</div></div></body></html>";
    let server = serve_fn(move |_| html("200 OK", page.as_bytes())).await;
    let harness = Harness::new();
    let polled = harness.poll(&server, None, 3).await.unwrap();
    assert!(polled.messages.is_empty());
    assert_eq!(last_id(&polled), Some("3"));
}

#[tokio::test]
async fn the_same_post_twice_is_sent_once() {
    let block = "<div class=\"tgme_widget_message js-widget_message\" data-post=\"rtv_regio_nieuws/8\">\
        <div class=\"tgme_widget_message_text js-message_text\">Noodbevel in Amersfoort</div></div>";
    let page = format!("<html><body>{block}{block}</body></html>");
    let server = serve_fn(move |_| html("200 OK", page.as_bytes())).await;
    let harness = Harness::new();
    let polled = harness.poll(&server, None, 3).await.unwrap();
    assert_eq!(post_ids(&polled.messages), vec![8]);
}

#[test]
fn urls_must_be_a_public_preview() {
    let channel = |s: &str| channel_of(&url::Url::parse(s).unwrap());
    assert_eq!(channel("https://t.me/s/rtv_regio_nieuws"), Ok("rtv_regio_nieuws".to_owned()));
    assert_eq!(channel("https://t.me/s/Kanaal_1"), Ok("Kanaal_1".to_owned()));
    assert_eq!(channel(&format!("https://t.me/s/{}", "a".repeat(64))).map(|c| c.len()), Ok(64));
    assert_eq!(
        channel("https://t.me/rtv_regio_nieuws"),
        Err(TelegramUrlError::NotAPreview("/rtv_regio_nieuws".into()))
    );
    assert_eq!(channel("https://t.me/s/kanaal/12"), Err(TelegramUrlError::NotAPreview("/s/kanaal/12".into())));
    assert_eq!(channel("https://t.me/s/kanaal/"), Err(TelegramUrlError::NotAPreview("/s/kanaal/".into())));
    assert_eq!(channel("https://t.me/s/"), Err(TelegramUrlError::BadChannel(String::new())));
    assert_eq!(channel("https://t.me/s/kan-aal"), Err(TelegramUrlError::BadChannel("kan-aal".into())));
    assert_eq!(channel("https://t.me/s/kan%20aal"), Err(TelegramUrlError::BadChannel("kan%20aal".into())));
    assert_eq!(
        channel(&format!("https://t.me/s/{}", "a".repeat(65))),
        Err(TelegramUrlError::BadChannel("a".repeat(65)))
    );
    assert_eq!(channel("https://t.me/s/kanaal?before=10"), Err(TelegramUrlError::QueryOrFragment));
    assert_eq!(channel("https://t.me/s/kanaal#x"), Err(TelegramUrlError::QueryOrFragment));
    assert_eq!(channel("https://user:pw@t.me/s/kanaal"), Err(TelegramUrlError::Credentials));
    assert_eq!(channel("ftp://t.me/s/kanaal"), Err(TelegramUrlError::Scheme("ftp".into())));

    let error = channel("https://t.me/joinchat/abc").unwrap_err();
    assert_eq!(
        error.to_string(),
        "telegram url path \"/joinchat/abc\" is not /s/<channel>, a channel's public web preview"
    );

    let settings = SourceSettings::new(
        SourceId::new("t").unwrap(),
        SourceKind::Telegram,
        "https://t.me/kanaal",
        Duration::from_secs(300),
    );
    let refused = TelegramSource::telegram(settings.clone(), url::Url::parse("https://t.me/kanaal").unwrap());
    assert!(matches!(refused, Err(TelegramUrlError::NotAPreview(_))));
    let source = TelegramSource::telegram(settings, url::Url::parse("https://t.me/s/kanaal").unwrap()).unwrap();
    assert_eq!((source.poller.max_pages, source.poller.max_text_chars), (3, 20_000));
}

/// Deterministic xorshift, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn truncated_and_mutated_pages_never_panic() {
    let bytes = fixture("latest.html");
    let full = parse_page(&bytes, CHANNEL, 20_000).unwrap();
    let full_ids: Vec<u64> = full.posts.iter().map(|p| p.id).collect();
    let mut seen_counts = BTreeMap::new();
    for end in (0..=bytes.len()).step_by(13).chain([bytes.len()]) {
        let page = parse_page(&bytes[..end], CHANNEL, 20_000).unwrap();
        // A prefix yields the complete blocks before the cut, each exactly as in the whole page.
        let ids: Vec<u64> = page.posts.iter().map(|p| p.id).collect();
        assert_eq!(ids, full_ids[..ids.len()], "prefix of {end} bytes");
        assert_eq!(page.posts, full.posts[..ids.len()], "prefix of {end} bytes");
        *seen_counts.entry(ids.len()).or_insert(0) += 1;
    }
    assert_eq!(seen_counts.keys().copied().collect::<Vec<_>>(), (0..=full_ids.len()).collect::<Vec<_>>());

    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let specials = [b'<', b'>', b'"', b'\'', b'/', b'=', b'&', b' ', 0xff, 0xc3];
    for _ in 0..300 {
        let mut mutated = bytes.clone();
        for _ in 0..=rng.below(12) {
            let at = rng.below(mutated.len());
            match rng.below(4) {
                0 => mutated[at] = specials[rng.below(specials.len())],
                1 => mutated[at] = rng.next() as u8,
                2 => mutated.insert(at, specials[rng.below(specials.len())]),
                _ => {
                    mutated.remove(at);
                }
            }
        }
        match parse_page(&mutated, CHANNEL, 500) {
            Ok(page) => {
                assert!(page.posts.len() + page.bad_post_ids <= 20);
                assert!(page.posts.iter().all(|p| p.text.chars().count() <= 500));
            }
            Err(error) => assert!(matches!(error, TelegramPageError::TooDeep | TelegramPageError::TooManyBlocks)),
        }
    }
    // Garbage is no page of messages.
    for garbage in
        [&b""[..], b"<", b"</", b"<!--", b"<div class=\"tgme_widget_message\" data-post=\"", b"\xff\xfe<<<>>>"]
    {
        assert_eq!(parse_page(garbage, CHANNEL, 10).unwrap().posts, vec![]);
    }
}

async fn recv(rx: &mut mpsc::Receiver<(RawMessage, Ack)>) -> (RawMessage, Ack) {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("timed out waiting for a message").unwrap()
}

#[tokio::test]
async fn the_source_stores_last_id_only_after_the_batch_is_acked() {
    let server = channel_server("latest.html").await;
    let harness = Harness::new();
    let source = harness.source(&server, 3);
    let (tx, mut rx) = mpsc::channel(16);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(source.run(harness.ctx.clone(), tx, shutdown));

    let mut received = Vec::new();
    for _ in 0..7 {
        received.push(recv(&mut rx).await);
    }
    let messages: Vec<RawMessage> = received.iter().map(|(m, _)| m.clone()).collect();
    assert_eq!(post_ids(&messages), vec![1201, 1203, 1206, 1207, 1208, 1209, 1211]);
    assert_no_canary(&messages);

    let stored = || harness.ctx.cursors.load(&harness.id).unwrap().and_then(|c| c.positions.get("last_id").cloned());
    let mut acks: Vec<Ack> = received.into_iter().map(|(_, ack)| ack).collect();
    let last = acks.pop().unwrap();
    for ack in acks {
        ack.ack();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored(), None, "one message is not acknowledged yet");
    assert_eq!(server.request_count(), 1, "no poll while a batch is outstanding");

    last.ack();
    wait_until_async("the cursor after the last ack", EVENTUALLY, || stored().is_some()).await;
    assert_eq!(stored().as_deref(), Some("1211"));

    // The next polls read the page again and send nothing.
    wait_until_async("the third poll", EVENTUALLY, || server.request_count() >= 3).await;
    assert!(server.request_count() >= 3);
    assert!(tokio::time::timeout(Duration::from_millis(200), rx.recv()).await.is_err(), "nothing new");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
}
