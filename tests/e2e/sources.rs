//! Source kinds on the feed machinery (issue 8, first part): a subreddit's
//! `.rss`, a YouTube channel's feed and an authority's publications are read
//! by the same safe fetcher and parser, and their messages carry their kind,
//! never their author.

use std::time::Duration;

use onrust_tests::{FeedServer, Install, Reply, fixture_feeds};

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
    let police = onrust_tests::rss("politie-", 2);
    server.route("/politie.xml", Reply::Feed { body: police, content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let sources = format!(
        "[[sources]]\nid = \"reddit-rust\"\nkind = \"reddit\"\nurl = \"{}\"\ninterval = \"10s\"\n\
         [[sources]]\nid = \"youtube-pbs\"\nkind = \"youtube\"\nurl = \"{}\"\ninterval = \"10s\"\n\
         [[sources]]\nid = \"politie-utrecht\"\nkind = \"authority\"\nurl = \"{}\"\ninterval = \"10s\"\n",
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
