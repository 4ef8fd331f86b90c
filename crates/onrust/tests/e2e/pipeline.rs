use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, fixture_feeds, rss};
use onrust_testkit::holds_within;

fn regio_feed() -> Vec<u8> {
    std::fs::read(crate::support::repo_root().join("tests/fixtures/regio-utrecht.xml")).expect("fixture")
}

/// Every file under `dir`, as bytes, for canary checks.
fn all_bytes(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path.display().to_string(), bytes));
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn feeds_become_searchable_and_a_restart_loses_and_duplicates_nothing() {
    let server = FeedServer::start();
    server.route(
        "/regio.xml",
        Reply::Feed { body: regio_feed(), content_type: "application/rss+xml", etag: Some("\"v1\"".into()) },
    );
    server.route("/big.xml", Reply::Feed { body: rss("big", 300), content_type: "application/rss+xml", etag: None });
    let mut sources = vec![("regio", server.url("/regio.xml")), ("big", server.url("/big.xml"))];
    for (i, name) in ["rss_2.0_example_1.xml", "atom_example_1.xml", "jsonfeed_example_1.json", "rss_1.0_example_1.xml"]
        .iter()
        .enumerate()
    {
        let body = std::fs::read(fixture_feeds().join(name)).expect("fixture feed");
        let path = format!("/fixture-{i}");
        let content_type = if name.ends_with(".json") { "application/feed+json" } else { "application/xml" };
        server.route(&path, Reply::Feed { body, content_type, etag: None });
        sources.push((["fx-a", "fx-b", "fx-c", "fx-d"][i], server.url(&path)));
    }
    let install = Install::new(&sources);
    let daemon = install.start();

    // Our own feeds: exactly 305 messages; the recorded ones add some more.
    assert_eq!(install.wait_count("volgnummer", 300, Duration::from_secs(30)), 300, "{}", daemon.stderr());
    assert_eq!(install.wait_count("source:regio", 5, Duration::from_secs(10)), 5, "{}", daemon.stderr());
    std::thread::sleep(Duration::from_secs(1));
    let total = install.count("*");
    assert!(total > 305, "the recorded fixture feeds yield items too: {total}");

    // What an analyst finds, and what is never stored (S4, L2, L3).
    let hits = install.search_json("stikstofregels", &[]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!(hit["title"], "Boeren rijden met trekkers naar het provinciehuis in Utrecht");
    assert!(hit["themes"].as_array().expect("themes").iter().any(|t| t == "stikstof"), "{hit}");
    assert!(hit["municipalities"].as_array().expect("municipalities").iter().any(|m| m == "GM0344"), "{hit}");
    assert_eq!(hit["published_at"], "2026-11-28T09:00:00Z", "za, 28 nov 2026 10:00:00 +0100 in UTC: {hit}");
    assert!(hit.get("author").is_none(), "no author field in hits: {hit}");
    let regio = install.search_json("source:regio", &[]);
    assert_eq!(regio.len(), 5);
    for hit in &regio {
        let text = hit.to_string();
        assert!(!text.contains("<script") && !text.contains("alert("), "script must not survive: {text}");
        assert!(!text.contains("weerman_jan") && !text.contains("<p>"), "mentions and html are gone: {text}");
        assert!(hit["published_at"].is_string(), "Dutch dates are parsed: {hit}");
    }
    assert!(regio.iter().any(|h| h["text"].as_str().is_some_and(|t| t.contains("@[user]"))), "mention masked");

    // SIGTERM: drain, commit, exit 0 within the bound.
    let (code, took) = daemon.terminate();
    assert_eq!(code, Some(0), "graceful shutdown exits 0");
    assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
    for (path, bytes) in all_bytes(&install.data_dir()) {
        assert!(!contains(&bytes, "redactie_regio"), "raw author handle stored in {path}");
    }

    // Restart: the stored ETag goes back exactly, 304, nothing new, nothing lost.
    let before = server.seen("/regio.xml").len();
    let daemon = install.start();
    holds_within(Duration::from_secs(10), || server.seen("/regio.xml").len() != before);
    let seen = server.seen("/regio.xml");
    assert_eq!(seen.last().and_then(|s| s.headers.get("if-none-match")).map(String::as_str), Some("\"v1\""));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(install.count("*"), total, "restart neither loses nor duplicates");
    let metrics = daemon.get("/metrics").expect("metrics").1;
    assert!(metrics.contains("onrust_source_fetches_total"), "{metrics}");
    assert!(!metrics.contains("127.0.0.1") && !metrics.contains("redactie"), "no URLs or authors in labels");
    assert_eq!(daemon.terminate().0, Some(0));
}

#[test]
fn sigkill_mid_stream_then_restart_loses_and_duplicates_nothing() {
    // 4 feeds of 5,000 items: enough work that the kill lands while the
    // pipeline is still archiving, whatever order the sources run in.
    let server = FeedServer::start();
    let mut sources = Vec::new();
    for name in ["alpha", "beta", "gamma", "delta"] {
        let path = format!("/{name}.xml");
        server.route(
            &path,
            Reply::Feed {
                body: rss(name, 5000),
                content_type: "application/rss+xml",
                etag: Some(format!("\"{name}\"")),
            },
        );
        sources.push((name, server.url(&path)));
    }
    let install = Install::new(&sources);

    let daemon = install.start();
    // Kill as soon as something is archived, mid-stream.
    holds_within(Duration::from_secs(60), || install.count("*") > 0);
    daemon.kill();
    let after_kill = install.count("*");
    assert!(after_kill > 0, "something was archived before the kill");
    assert!(after_kill < 20_000, "the kill came mid-stream ({after_kill} of 20000 archived)");

    let daemon = install.start();
    assert_eq!(install.wait_count("*", 20_000, Duration::from_secs(120)), 20_000, "{}", daemon.stderr());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(install.count("*"), 20_000, "no duplicates appear later");
    assert_eq!(install.count("volgnummer alpha4999"), 1);
    assert_eq!(daemon.terminate().0, Some(0));
}
