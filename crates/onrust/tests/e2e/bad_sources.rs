use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::{FeedServer, Install, Reply, fixture_feeds, holds_within, rss};

fn gzip_bomb() -> Vec<u8> {
    // 64 MiB of zeros compress to about 64 KiB.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..64 {
        encoder.write_all(&zeros).expect("gzip");
    }
    encoder.finish().expect("gzip")
}

#[test]
fn each_bad_source_fails_alone_with_a_clear_error() {
    let server = FeedServer::start();
    let port = server.addr.port();
    server.route("/good.xml", Reply::Feed { body: rss("goed", 7), content_type: "application/rss+xml", etag: None });
    server.route(
        "/latin1.xml",
        Reply::Feed {
            body: std::fs::read(fixture_feeds().join("rss_0.91_encoding_1.xml")).expect("fixture"),
            content_type: "application/xml",
            etag: None,
        },
    );
    server.route("/gone.xml", Reply::Status { status: 410, headers: vec![], body: b"gone".to_vec() });
    server.route(
        "/moved.xml",
        Reply::Status {
            status: 301,
            headers: vec![("Location".into(), format!("http://127.0.0.1:{port}/moved-target.xml"))],
            body: vec![],
        },
    );
    server.route(
        "/moved-target.xml",
        Reply::Feed { body: rss("verhuisd", 3), content_type: "application/rss+xml", etag: None },
    );
    server.route(
        "/busy.xml",
        Reply::Status { status: 429, headers: vec![("Retry-After".into(), "120".into())], body: vec![] },
    );
    server.route(
        "/page.html",
        Reply::Status {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<!doctype html><html><head><title>Home</title></head><body><p>Welkom</p></body></html>".to_vec(),
        },
    );
    server.route(
        "/empty.xml",
        Reply::Status {
            status: 200,
            headers: vec![("Content-Type".into(), "application/rss+xml".into())],
            body: vec![],
        },
    );
    let mut truncated = rss("kapot", 5);
    truncated.truncate(truncated.len() / 2);
    server.route("/truncated.xml", Reply::Feed { body: truncated, content_type: "application/rss+xml", etag: None });
    server.route("/bomb.xml", Reply::Gzip(gzip_bomb()));
    server.route("/slow.xml", Reply::SlowDrip);
    server.route(
        "/to-loopback.xml",
        Reply::Status {
            status: 302,
            headers: vec![("Location".into(), format!("http://localhost:{port}/good.xml"))],
            body: vec![],
        },
    );

    let sources = vec![
        ("good", server.url("/good.xml")),
        ("latin1", server.url("/latin1.xml")),
        ("gone", server.url("/gone.xml")),
        ("moved", server.url("/moved.xml")),
        ("busy", server.url("/busy.xml")),
        ("page", server.url("/page.html")),
        ("empty", server.url("/empty.xml")),
        ("truncated", server.url("/truncated.xml")),
        ("bomb", server.url("/bomb.xml")),
        ("slow", server.url("/slow.xml")),
        ("to-loopback", server.url("/to-loopback.xml")),
    ];

    // Addresses the egress guard refuses as written never reach `run`: the
    // configuration is refused and names each entry (a redirect or a name
    // that resolves there is refused per source at run time, below).
    let mut refused = sources.clone();
    refused.push(("mapped-v6", format!("http://[::ffff:127.0.0.1]:{port}/good.xml")));
    refused.push(("metadata", "http://169.254.169.254/latest/meta-data/".to_owned()));
    let refused_install = Install::new(&refused);
    let checked = refused_install.cli(&["check-config"]);
    let report = String::from_utf8_lossy(&checked.stderr).into_owned() + &String::from_utf8_lossy(&checked.stdout);
    assert!(!checked.status.success(), "check-config must refuse guard-refused hosts:\n{report}");
    assert!(report.contains("sources[11].url") && report.contains("loopback"), "{report}");
    assert!(report.contains("sources[12].url") && report.contains("link-local"), "{report}");

    let install = Install::new(&sources);
    let started = Instant::now();
    let daemon = install.start();

    assert_eq!(install.wait_count("source:good", 7, Duration::from_secs(30)), 7, "{}", daemon.stderr());
    assert_eq!(install.wait_count("source:moved", 3, Duration::from_secs(30)), 3, "a 301 is followed for this fetch");
    assert!(
        install.wait_count("source:latin1", 0, Duration::ZERO) > 0
            || install.wait_count("source:latin1", 1, Duration::from_secs(10)) > 0
    );

    // Wait until every bad source has reported, the slow one last (total timeout 5 s).
    let expect: [(&str, &[&str]); 9] = [
        ("gone", &["410", "gone"]),
        ("moved", &["permanent", "redirect"]),
        ("busy", &["429"]),
        ("page", &["html"]),
        ("empty", &["empty"]),
        ("truncated", &[""]),
        ("bomb", &["exceeds the limit"]),
        ("slow", &["slower than"]),
        ("to-loopback", &["loopback"]),
    ];
    let mut missing = Vec::new();
    holds_within(Duration::from_secs(30), || {
        let log = daemon.stderr().to_lowercase();
        missing = expect
            .iter()
            .filter(|(id, words)| {
                !log.lines().any(|l| {
                    l.contains(&format!("source={id}"))
                        && words.iter().all(|w| l.contains(w))
                        && (l.contains("warn") || l.contains("error"))
                })
            })
            .map(|(id, _)| *id)
            .collect();
        missing.is_empty()
    });
    assert!(missing.is_empty(), "no clear error for {missing:?}; stderr:\n{}", daemon.stderr());
    let log = daemon.stderr();
    assert!(
        server.seen("/good.xml").iter().all(|s| s.headers.get("host").is_some_and(|h| h.starts_with("127.0.0.1"))),
        "never fetched via a blocked name"
    );
    assert!(started.elapsed() < Duration::from_secs(40));

    // One line per state change, not per retry: the gone source says so once.
    assert_eq!(log.lines().filter(|l| l.contains("source=gone")).count(), 1, "{log}");

    // A source is up once its batch is acknowledged, which waits for every
    // consumer of the scored topic (archive and alerts) to make it durable.
    let up = |metrics: &str| {
        metrics.lines().any(|l| l.starts_with("onrust_source_up") && l.contains("source=\"good\"") && l.ends_with(" 1"))
    };
    let mut metrics = String::new();
    holds_within(Duration::from_secs(10), || {
        metrics = daemon.get("/metrics").expect("metrics").1;
        up(&metrics)
    });
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("onrust_source_up") && l.contains("source=\"gone\"") && l.ends_with(" 0")),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("onrust_source_up") && l.contains("source=\"good\"") && l.ends_with(" 1")),
        "{metrics}"
    );
    assert_eq!(daemon.terminate().0, Some(0));
}
