use std::time::{Duration, Instant};

use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder};
use onrust_ingest::fetch::{Conditional, FetchError, FetchLimits, Fetched};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{fetcher_with, local_fetcher, request_header, response, serve, serve_fn};

const LAST_MODIFIED: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

#[tokio::test]
async fn validators_are_returned_and_sent_back_exactly() {
    let server = serve_fn(|head| {
        if request_header(head, "if-none-match").as_deref() == Some("W/\"v1\"") {
            return response("304 Not Modified", &[("Cache-Control", "max-age=600")], b"");
        }
        response(
            "200 OK",
            &[("ETag", "W/\"v1\""), ("Last-Modified", LAST_MODIFIED), ("Content-Type", "application/rss+xml")],
            b"<rss/>",
        )
    })
    .await;
    let fetcher = local_fetcher();
    let Fetched::Body { bytes, etag, last_modified, content_type, permanent_redirect, .. } =
        fetcher.get(&server.url("/feed"), &Conditional::default()).await.unwrap()
    else {
        panic!("expected a body");
    };
    assert_eq!(&bytes[..], b"<rss/>");
    assert_eq!(etag.as_deref(), Some("W/\"v1\""));
    assert_eq!(last_modified.as_deref(), Some(LAST_MODIFIED));
    assert_eq!(content_type.as_deref(), Some("application/rss+xml"));
    assert_eq!(permanent_redirect, None);
    let head = server.last_request();
    assert_eq!(request_header(&head, "accept-encoding").as_deref(), Some("gzip, br"));

    let conditional = Conditional { etag, last_modified };
    let fetched = fetcher.get(&server.url("/feed"), &conditional).await.unwrap();
    assert!(
        matches!(fetched, Fetched::NotModified { max_age: Some(d), .. } if d == Duration::from_secs(600)),
        "{fetched:?}"
    );
    let head = server.last_request();
    assert_eq!(request_header(&head, "if-modified-since").as_deref(), Some(LAST_MODIFIED));
}

async fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzipEncoder::new(data).read_to_end(&mut out).await.unwrap();
    out
}

async fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    BrotliEncoder::new(data).read_to_end(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn gzip_and_brotli_bodies_are_decoded() {
    let text = "<rss version=\"2.0\"><channel><title>Grüße</title></channel></rss>".repeat(50);
    let gz = gzip(text.as_bytes()).await;
    let br = brotli(text.as_bytes()).await;
    let server = serve_fn(move |head| {
        if head.starts_with("GET /gz") {
            response("200 OK", &[("Content-Encoding", "gzip")], &gz)
        } else {
            response("200 OK", &[("Content-Encoding", "br")], &br)
        }
    })
    .await;
    let fetcher = local_fetcher();
    for path in ["/gz", "/br"] {
        let Fetched::Body { bytes, received_bytes, .. } =
            fetcher.get(&server.url(path), &Conditional::default()).await.unwrap()
        else {
            panic!("expected a body");
        };
        assert_eq!(&bytes[..], text.as_bytes(), "{path}");
        assert!(received_bytes < text.len() as u64 / 4, "{path}: {received_bytes}");
    }
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_decoded_cap() {
    let zeros = vec![0u8; 50 * 1024 * 1024];
    let bomb = gzip(&zeros).await;
    drop(zeros);
    assert!(bomb.len() < 200 * 1024, "bomb is {} bytes", bomb.len());
    let server = serve(move |_head, mut stream| {
        let bomb = bomb.clone();
        async move {
            let head =
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for chunk in bomb.chunks(8192) {
                let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
                if stream.write_all(&framed).await.is_err() {
                    return;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
        }
    })
    .await;
    let limits = FetchLimits { max_decoded_bytes: 1024 * 1024, ..FetchLimits::default() };
    let fetcher = fetcher_with(limits, &["127.0.0.1"]);
    let start = Instant::now();
    let err = fetcher.get(&server.url("/bomb"), &Conditional::default()).await.unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { limit_bytes: 1048576 }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(3), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn compressed_cap_applies_to_wire_bytes() {
    let server = serve_fn(|_| response("200 OK", &[], &vec![b'x'; 64 * 1024])).await;
    let limits = FetchLimits { max_compressed_bytes: 10_000, ..FetchLimits::default() };
    let err = fetcher_with(limits, &["127.0.0.1"]).get(&server.url("/big"), &Conditional::default()).await.unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { limit_bytes: 10_000 }), "{err}");
}

#[tokio::test]
async fn slow_drip_server_is_aborted() {
    let server = serve(|_head, mut stream| async move {
        if stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n").await.is_err() {
            return;
        }
        for _ in 0..1000 {
            if stream.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let limits = FetchLimits {
        min_rate_bytes_per_sec: 100,
        rate_window: Duration::from_secs(1),
        total_timeout: Duration::from_secs(3),
        ..FetchLimits::default()
    };
    let start = Instant::now();
    let err =
        fetcher_with(limits, &["127.0.0.1"]).get(&server.url("/slow"), &Conditional::default()).await.unwrap_err();
    assert!(matches!(err, FetchError::TooSlow { .. } | FetchError::Timeout(_)), "{err}");
    assert!(start.elapsed() <= Duration::from_millis(3200), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn silent_server_hits_the_total_timeout() {
    let server = serve(|_head, stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    let limits = FetchLimits { total_timeout: Duration::from_secs(1), ..FetchLimits::default() };
    let start = Instant::now();
    let err = fetcher_with(limits, &["127.0.0.1"]).get(&server.url("/"), &Conditional::default()).await.unwrap_err();
    assert!(matches!(err, FetchError::Timeout(_)), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn status_codes_map_to_distinct_errors() {
    let server = serve_fn(|head| match head.split_whitespace().nth(1) {
        Some("/gone") => response("410 Gone", &[], b""),
        Some("/busy") => response("429 Too Many Requests", &[("Retry-After", "120")], b""),
        Some("/down") => response("503 Service Unavailable", &[], b""),
        _ => response("404 Not Found", &[], b"nope"),
    })
    .await;
    let fetcher = local_fetcher();
    let get = |path: &'static str| {
        let url = server.url(path);
        let fetcher = &fetcher;
        async move { fetcher.get(&url, &Conditional::default()).await }
    };
    assert!(matches!(get("/gone").await, Err(FetchError::Gone)));
    let busy = get("/busy").await.unwrap_err();
    assert!(
        matches!(busy, FetchError::RetryLater { status: 429, retry_after: Some(d) } if d == Duration::from_secs(120)),
        "{busy}"
    );
    assert!(matches!(get("/down").await, Err(FetchError::RetryLater { status: 503, retry_after: None })));
    assert!(matches!(get("/missing").await, Err(FetchError::Status(404))));
}

#[tokio::test]
async fn permanent_redirect_is_reported_not_applied() {
    let server = serve_fn(|head| match head.split_whitespace().nth(1) {
        Some("/old") => response("301 Moved Permanently", &[("Location", "/new")], b""),
        _ => response("200 OK", &[], b"<rss/>"),
    })
    .await;
    let fetched = local_fetcher().get(&server.url("/old"), &Conditional::default()).await.unwrap();
    let Fetched::Body { permanent_redirect, final_url, .. } = fetched else { panic!("expected a body") };
    assert_eq!(permanent_redirect, Some(server.url("/new")));
    assert_eq!(final_url, server.url("/new"));
}

#[tokio::test]
async fn redirect_to_a_non_allowed_loopback_address_is_blocked() {
    let target = serve_fn(|_| response("200 OK", &[], b"secret")).await;
    let target_url = format!("http://127.0.0.1:{}/", target.addr.port());
    let server = serve_fn(move |_| response("302 Found", &[("Location", &target_url)], b"")).await;
    // The first server is reached as "localhost", which is the only allow-listed host.
    let fetcher = fetcher_with(FetchLimits::default(), &["localhost"]);
    let url = url::Url::parse(&format!("http://localhost:{}/", server.addr.port())).unwrap();
    let err = fetcher.get(&url, &Conditional::default()).await.unwrap_err();
    assert!(matches!(err, FetchError::Blocked(_)), "{err}");
    assert_eq!(target.request_count(), 0, "the blocked target was never contacted");
}

#[tokio::test]
async fn redirect_chains_stop_after_the_limit() {
    // Each hop somewhere new: a chain, not a loop.
    let server = serve_fn(|head| {
        let hop: u32 = head.split_whitespace().nth(1).and_then(|p| p.trim_start_matches('/').parse().ok()).unwrap_or(0);
        response("302 Found", &[("Location", &format!("/{}", hop + 1))], b"")
    })
    .await;
    let err = local_fetcher().get(&server.url("/0"), &Conditional::default()).await.unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects(3)), "{err}");
    assert_eq!(server.request_count(), 4);
}

#[tokio::test]
async fn a_redirect_back_to_a_visited_url_is_a_loop() {
    let server = serve_fn(|_| response("302 Found", &[("Location", "/again#top")], b"")).await;
    let err = local_fetcher().get(&server.url("/"), &Conditional::default()).await.unwrap_err();
    let expected = format!("redirect loop: {} → {}", server.url("/again"), server.url("/again"));
    assert_eq!(err.to_string(), expected, "a fragment does not make another place");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn validators_are_not_sent_to_redirect_targets() {
    // The target answers 304 whenever it receives validators, as a stale cache would.
    let target = serve_fn(|head| {
        if request_header(head, "if-none-match").is_some() || request_header(head, "if-modified-since").is_some() {
            return response("304 Not Modified", &[], b"");
        }
        response("200 OK", &[("ETag", "\"other\"")], b"<rss/>")
    })
    .await;
    let location = target.url("/moved").to_string();
    let origin = serve_fn(move |_| response("302 Found", &[("Location", &location)], b"")).await;
    let fetcher = local_fetcher();
    let conditional = Conditional { etag: Some("\"v1\"".into()), last_modified: Some(LAST_MODIFIED.into()) };
    let fetched = fetcher.get(&origin.url("/feed"), &conditional).await.unwrap();
    assert!(matches!(&fetched, Fetched::Body { bytes, .. } if &bytes[..] == b"<rss/>"), "{fetched:?}");
    // The first hop carried the validators; the redirect target got none.
    assert_eq!(request_header(&origin.last_request(), "if-none-match").as_deref(), Some("\"v1\""));
    let head = target.last_request();
    assert_eq!(request_header(&head, "if-none-match"), None, "{head}");
    assert_eq!(request_header(&head, "if-modified-since"), None, "{head}");
}
