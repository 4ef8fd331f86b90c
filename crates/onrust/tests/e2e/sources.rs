//! Source kinds on the feed machinery (issue 8, first part): a subreddit's
//! `.rss`, a YouTube channel's feed and an authority's publications are read
//! by the same safe fetcher and parser, and their messages carry their kind,
//! never their author.

use onrust_testkit::wait_for;
use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, fixture_feeds};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_feeds().join(name)).expect("fixture feed")
}

#[test]
fn reddit_youtube_and_authority_sources_carry_their_kind_and_no_author() {
    let server = FeedServer::start();
    let atom = "application/atom+xml";
    server.route(
        "/r/rust/.rss",
        Reply::Feed { body: fixture("atom_example_reddit.xml"), content_type: atom, etag: None },
    );
    server.route(
        "/feeds/videos.xml",
        Reply::Feed { body: fixture("atom_mediarss_youtube_1.xml"), content_type: atom, etag: None },
    );
    let police = crate::support::rss("politie-", 2);
    server.route("/politie.xml", Reply::Feed { body: police, content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let sources = format!(
        "[[sources]]\nmandate = \"test\"\nid = \"reddit-rust\"\nkind = \"reddit\"\nurl = \"{}\"\ninterval = \"10s\"\n\
         [[sources]]\nmandate = \"test\"\nid = \"youtube-pbs\"\nkind = \"youtube\"\nurl = \"{}\"\ninterval = \"10s\"\n\
         [[sources]]\nmandate = \"test\"\nid = \"politie-utrecht\"\nkind = \"authority\"\nurl = \"{}\"\ninterval = \"10s\"\n",
        server.url("/r/rust/.rss"),
        server.url("/feeds/videos.xml"),
        server.url("/politie.xml"),
    );
    std::fs::write(&install.config, format!("{config}{sources}")).expect("config");
    let check = install.cli(&["check-config"]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let daemon = install.start();
    assert_eq!(install.wait_count("*", 4, Duration::from_secs(30)), 4, "log:\n{}", daemon.stderr());
    for (kind, expected) in [("reddit", 1), ("youtube", 1), ("authority", 2), ("feed", 0)] {
        let hits = install.search_json("*", &["--source-kind", kind]);
        assert_eq!(hits.len(), expected, "{kind}: {hits:?}");
    }
    let video = install.search_json("*", &["--source-kind", "youtube"]).remove(0);
    assert_eq!(video["title"], "Navigating with Quantum Entanglement");
    assert!(video["text"].as_str().is_some_and(|t| t.contains("PBS Terra")), "the description: {video}");
    let everything = install.search_json("*", &[]);
    let text = serde_json::to_string(&everything).expect("json");
    assert!(!text.contains("llogiq"), "no author handle downstream (L2): {text}");
    assert_eq!(daemon.terminate().0, Some(0));
}

/// The ingest crate's recorded-format fixtures for a kind.
fn kind_fixture(kind: &str, name: &str) -> Vec<u8> {
    let path = crate::support::repo_root().join("crates/onrust-ingest/tests/fixtures").join(kind).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of the first sample of `/metrics` named `name` that has every one of `labels`.
fn sample(daemon: &crate::support::Daemon, name: &str, labels: &[&str]) -> Option<f64> {
    let (_, body) = daemon.get("/metrics")?;
    body.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// No raw handle of the fixtures anywhere downstream: search results, the
/// log, the metrics, and the files the daemon wrote (rule L2).
fn assert_no_canary(install: &Install, daemon: &crate::support::Daemon, canaries: &[&str]) {
    let everything = serde_json::to_string(&install.search_json("*", &[])).expect("json");
    let log = daemon.stderr();
    let metrics = daemon.get("/metrics").map(|m| m.1).unwrap_or_default();
    let mut files = String::new();
    for entry in crate::support::files_under(&install.data_dir()) {
        // The archive's stores are compressed: the search above reads those.
        if entry.components().any(|c| c.as_os_str() == "archive") {
            continue;
        }
        files.push_str(&String::from_utf8_lossy(&std::fs::read(&entry).unwrap_or_default()));
    }
    for canary in canaries {
        for (place, text) in [("search", &everything), ("log", &log), ("metrics", &metrics), ("data files", &files)] {
            assert!(!text.contains(canary), "{canary} reached the {place}");
        }
    }
}

#[test]
fn mastodon_hashtag_timelines_skip_opt_outs_and_keep_no_handle() {
    let server = FeedServer::start();
    let json = "application/json";
    let page = |name| Reply::Feed { body: kind_fixture("mastodon", name), content_type: json, etag: None };
    // What the instance has after the stored position: the poll asks from a
    // little before it (late federated statuses) and sends only what is new.
    server.route("/api/v1/timelines/tag/utrecht", page("tag_utrecht_after_143.json"));
    let install = Install::new(&[]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let source = format!(
        "[[sources]]\nmandate = \"test\"\nid = \"mastodon-nl\"\nkind = \"mastodon\"\nurl = \"{}\"\ntags = [\"utrecht\"]\ninterval = \"10s\"\n",
        server.url("")
    );
    std::fs::write(&install.config, format!("{config}{source}")).expect("config");
    // Where a previous run left off, so the first poll asks for what came after.
    let cursors = install.data_dir().join("cursors");
    std::fs::create_dir_all(&cursors).expect("cursor dir");
    std::fs::write(cursors.join("mastodon-nl.json"), r#"{"positions": {"tags:utrecht": "113500000000000143"}}"#)
        .expect("cursor");

    let daemon = install.start();
    // 144 and 145 are public statuses of accounts that did not opt out; 146–151 are left out.
    assert_eq!(install.wait_count("*", 2, Duration::from_secs(30)), 2, "log:\n{}", daemon.stderr());
    let hits = install.search_json("*", &["--source-kind", "mastodon"]);
    assert_eq!(hits.len(), 2, "{hits:?}");
    for hit in &hits {
        let url = hit["url"].as_str().expect("a url");
        assert!(url.contains("/api/v1/statuses/1135000000000001"), "a link without a handle: {url}");
    }
    let skipped = |outcome: &str| {
        let label = format!("outcome=\"{outcome}\"");
        sample(
            &daemon,
            "onrust_source_skipped_items_total",
            &["source=\"mastodon-nl\"", "source_kind=\"mastodon\"", &label],
        )
    };
    wait_for("the skip counts", Duration::from_secs(10), || skipped("not_public"));
    for (outcome, n) in [("not_public", 2.0), ("not_indexable", 1.0), ("noindex", 1.0), ("reblog", 1.0), ("empty", 1.0)]
    {
        assert_eq!(skipped(outcome), Some(n), "{outcome}");
    }
    // The position moved past the skipped statuses too (L4: offsets still advance).
    let cursor = wait_for("the stored position", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(cursors.join("mastodon-nl.json")).ok()?;
        text.contains("113500000000000151").then_some(text)
    });
    assert!(cursor.contains("tag:utrecht"), "{cursor}");
    // It asked from a little before the stored position, never from the start.
    let first = server.seen_under("/api/v1/timelines/tag/utrecht").remove(0).path;
    let min_id: u64 = first.split("min_id=").nth(1).and_then(|v| v.split('&').next()?.parse().ok()).expect(&first);
    assert!(min_id > 0 && min_id < 113_500_000_000_000_143, "{first}");
    assert_no_canary(&install, &daemon, &["canary_handle_77", "canary_remote_88"]);
    assert_eq!(daemon.terminate().0, Some(0));
}

#[test]
fn telegram_previews_take_the_channel_s_own_posts_and_report_a_missing_preview() {
    let server = FeedServer::start();
    let html = "text/html; charset=utf-8";
    server.route(
        "/s/rtv_regio_nieuws",
        Reply::Feed { body: kind_fixture("telegram", "latest.html"), content_type: html, etag: None },
    );
    // A channel without a public preview: t.me sends the reader to its landing page.
    server.route(
        "/s/besloten",
        Reply::Status { status: 302, headers: vec![("Location".into(), "/besloten".into())], body: Vec::new() },
    );
    server.route("/besloten", Reply::Feed { body: b"<html>join</html>".to_vec(), content_type: html, etag: None });
    let install = Install::new(&[]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let sources = format!(
        "[[sources]]\nmandate = \"test\"\nid = \"tg-regio\"\nkind = \"telegram\"\nurl = \"{}\"\ninterval = \"10s\"\n\
         [[sources]]\nmandate = \"test\"\nid = \"tg-besloten\"\nkind = \"telegram\"\nurl = \"{}\"\ninterval = \"10s\"\n",
        server.url("/s/rtv_regio_nieuws"),
        server.url("/s/besloten"),
    );
    std::fs::write(&install.config, format!("{config}{sources}")).expect("config");

    let daemon = install.start();
    // Nine posts on the page: a service message and a photo without text are left out.
    assert_eq!(install.wait_count("*", 7, Duration::from_secs(30)), 7, "log:\n{}", daemon.stderr());
    let hits = install.search_json("*", &["--source-kind", "telegram"]);
    let text = serde_json::to_string(&hits).expect("json");
    assert!(!text.contains("Zwanenbloem"), "the quoted post of a reply is not the reply's text: {text}");
    assert!(
        hits.iter().any(|h| h["url"] == format!("{}/rtv_regio_nieuws/1201", server.url(""))),
        "each post links to itself: {text}"
    );
    // The closed channel is a failing source, never a quiet one (R10).
    wait_for("the missing preview to show", Duration::from_secs(10), || {
        (sample(&daemon, "onrust_source_up", &["source=\"tg-besloten\""]) == Some(0.0)).then_some(())
    });
    assert_eq!(sample(&daemon, "onrust_source_up", &["source=\"tg-regio\""]), Some(1.0));
    let log = daemon.stderr();
    assert!(log.contains("has no public web preview"), "{log}");
    assert_no_canary(&install, &daemon, &["canary_handle_77"]);
    assert_eq!(daemon.terminate().0, Some(0));
}

/// A Jetstream stand-in: one WebSocket connection at a time, answering with
/// the events the test sends, as text frames; it records each request line.
struct Jetstream {
    port: u16,
    send: std::sync::mpsc::Sender<String>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Jetstream {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (send, events) = std::sync::mpsc::channel::<String>();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = std::sync::Arc::clone(&seen);
                // The callback's type is tungstenite's: its error is an HTTP response, however large.
                #[allow(clippy::result_large_err)]
                let record = move |request: &tungstenite::handshake::server::Request,
                                   response: tungstenite::handshake::server::Response| {
                    seen.lock().expect("requests").push(request.uri().to_string());
                    Ok(response)
                };
                let Ok(mut socket) = tungstenite::accept_hdr(stream, record) else { continue };
                // Serve this connection until the daemon goes away; then wait for the next.
                loop {
                    match events.recv_timeout(Duration::from_millis(200)) {
                        Ok(event) => {
                            if socket.send(tungstenite::Message::text(event)).is_err() {
                                break;
                            }
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            // A ping keeps the source's idle timer fed, like Jetstream's steady traffic.
                            if socket.send(tungstenite::Message::Ping(Vec::new().into())).is_err() {
                                break;
                            }
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                    if socket.flush().is_err() {
                        break;
                    }
                }
            }
        });
        Self { port, send, requests }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/subscribe", self.port)
    }

    fn send(&self, event: serde_json::Value) {
        self.send.send(event.to_string()).expect("jetstream thread");
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

const BSKY_DID: &str = "did:plc:canaryhandle77xyz";

fn post(time_us: i64, rkey: &str, langs: &[&str], text: &str) -> serde_json::Value {
    serde_json::json!({
        "did": BSKY_DID, "time_us": time_us, "kind": "commit",
        "commit": {"rev": format!("rev{time_us}"), "operation": "create", "collection": "app.bsky.feed.post",
                   "rkey": rkey, "cid": "bafyreib",
                   "record": {"$type": "app.bsky.feed.post", "createdAt": chrono::Utc::now().to_rfc3339(),
                              "langs": langs, "text": text}}
    })
}

fn delete(time_us: i64, rkey: &str) -> serde_json::Value {
    serde_json::json!({
        "did": BSKY_DID, "time_us": time_us, "kind": "commit",
        "commit": {"rev": format!("rev{time_us}"), "operation": "delete", "collection": "app.bsky.feed.post", "rkey": rkey}
    })
}

#[test]
fn bluesky_posts_are_filtered_before_the_bus_and_a_deleted_post_leaves_archive_and_alerts() {
    let jetstream = Jetstream::start();
    let install = Install::new(&[]);
    let officer = install.add_token("oov-utrecht", "officer");
    let config = std::fs::read_to_string(&install.config).expect("config");
    let extra = format!(
        "[[sources]]\nmandate = \"test\"\nid = \"bluesky\"\nkind = \"bluesky\"\nurl = \"{}\"\nlanguages = [\"nl\"]\n\
         [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\ngroup_wait = \"0s\"\n",
        jetstream.url()
    );
    std::fs::write(&install.config, format!("{config}{extra}")).expect("config");
    let check = install.cli(&["check-config"]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let daemon = install.start();
    let now_us = || chrono::Utc::now().timestamp_micros();
    let t0 = now_us();
    jetstream.send(post(t0, "3kgeweld", &["nl"], "Vanavond gaan we de politie aanvallen op de Neude in Utrecht, neem stenen mee. @canary_handle_77.bsky.social doet ook mee"));
    jetstream.send(post(t0 + 1, "3kengels", &["en"], "Lovely protest in Utrecht today"));
    jetstream.send(post(t0 + 2, "3kweer", &["nl"], "Lekker weer vandaag, even de hond uitlaten"));
    jetstream.send(serde_json::json!({"did": BSKY_DID, "time_us": t0 + 3, "kind": "identity",
        "identity": {"did": BSKY_DID, "handle": "canary_handle_77.bsky.social", "seq": 1, "time": "2026-11-28T19:00:00Z"}}));
    jetstream.send(post(
        t0 + 4,
        "3kboeren",
        &["nl"],
        "Morgen blokkeren boeren met trekkers de A12 bij Utrecht tegen de stikstofregels",
    ));

    // Two Dutch posts about the region reach the archive; English and off-topic ones never enter.
    assert_eq!(install.wait_count("*", 2, Duration::from_secs(30)), 2, "log:\n{}", daemon.stderr());
    assert_eq!(install.search_json("*", &["--source-kind", "bluesky"]).len(), 2);
    let skipped = |outcome: &str| {
        let label = format!("outcome=\"{outcome}\"");
        sample(&daemon, "onrust_source_skipped_items_total", &["source=\"bluesky\"", &label])
    };
    assert_eq!(skipped("language"), Some(1.0));
    assert_eq!(skipped("off_topic"), Some(1.0));
    assert!(jetstream.requests()[0].contains("wantedCollections=app.bsky.feed.post"), "{:?}", jetstream.requests());

    // The call to violence fired an alert with that post as evidence.
    let alerts = |daemon: &crate::support::Daemon| daemon.get_as("/api/v1/alerts", Some(&officer)).expect("alerts").1;
    let excerpt = "de politie aanvallen op de Neude";
    let fired = wait_for("the alert", Duration::from_secs(20), || {
        let listed = alerts(&daemon);
        listed.contains("oproep-tot-geweld").then_some(listed)
    });
    assert!(fired.contains(excerpt), "the post is the alert's evidence: {fired}");

    // Its author deletes it: it leaves the archive and the alert's evidence.
    jetstream.send(delete(now_us(), "3kgeweld"));
    wait_for("the deletion in the archive", Duration::from_secs(20), || (install.count("*") == 1).then_some(()));
    assert_eq!(install.count("politie"), 0);
    wait_for("the evidence withdrawn", Duration::from_secs(20), || (!alerts(&daemon).contains(excerpt)).then_some(()));
    let listed = alerts(&daemon);
    assert!(listed.contains("oproep-tot-geweld"), "the alert stays, its count too: {listed}");
    assert_no_canary(&install, &daemon, &["canary_handle_77", "canaryhandle77xyz"]);
    assert_eq!(daemon.terminate().0, Some(0));

    // A restart resumes a few seconds before the stored cursor, not live.
    let daemon = install.start();
    wait_for("the reconnect", Duration::from_secs(20), || (jetstream.requests().len() >= 2).then_some(()));
    let resumed = jetstream.requests()[1].clone();
    assert!(resumed.contains("cursor="), "{resumed}");
    assert_eq!(daemon.terminate().0, Some(0));
}
