//! Handles in links (rules L2, L3): an item whose own link is a Mastodon
//! post URL and whose text links a Twitter profile leaves no handle in the
//! archive, the search hits, an alert's evidence (API and state file), the
//! Atom feed or the cursor files. Before the link sanitiser every one of
//! them carried it.

use std::time::Duration;

use crate::support::{FeedServer, Install, Reply, files_under};
use onrust_testkit::holds_within_every;

/// The handle, in the item's link, its text and its guid.
const HANDLE: &str = "canary_linkname_8";

/// One level-3 post about the Vredenburgplein in Utrecht (the alerts test's
/// third item), linked as a Mastodon status, linking a Twitter profile.
fn feed() -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Forum</title>\
         <link>https://forum.example/</link><description>test</description>\
         <item><guid>https://www.reddit.com/user/{HANDLE}/comments/j3/</guid><title>Vuurwerk op de ME</title>\
         <link>https://mastodon.social/@{HANDLE}/113500000000000123</link>\
         <description>Morgenavond om 23 uur op het Vredenburgplein in Utrecht: gooi vuurwerk naar de politie en \
         steek de containers in brand. Oorlog maken met de politie. Meer op https://twitter.com/{HANDLE}</description>\
         <pubDate>Wed, 30 Dec 2026 22:05:00 +0100</pubDate></item></channel></rss>"
    )
    .into_bytes()
}

fn no_handle_on_disk(install: &Install, when: &str) {
    for file in files_under(&install.data_dir()) {
        let bytes = std::fs::read(&file).expect("read");
        assert!(
            !bytes.windows(HANDLE.len()).any(|w| w == HANDLE.as_bytes()),
            "{when}: the handle is in {}",
            file.display()
        );
    }
}

#[test]
fn a_handle_in_an_items_link_or_text_reaches_no_archive_evidence_or_feed() {
    let server = FeedServer::start();
    server.route("/forum.xml", Reply::Feed { body: feed(), content_type: "application/rss+xml", etag: None });
    let install = Install::new(&[("forum-utrecht", server.url("/forum.xml"))]);
    let config = std::fs::read_to_string(&install.config).expect("config");
    let rules = "[alerts]\nevaluate_interval = \"1s\"\n\
                 [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\ngroup_wait = \"0s\"\n";
    std::fs::write(&install.config, format!("{config}{rules}")).expect("config");
    let token = install.add_token("oov-utrecht", "officer");
    let daemon = install.start();
    assert_eq!(install.wait_count("*", 1, Duration::from_secs(30)), 1, "archived; log:\n{}", daemon.stderr());

    // The search hit links the status's handle-free API record, and its text masks the profile.
    let hits = install.search_json("*", &[]);
    assert_eq!(hits[0]["url"], "https://mastodon.social/api/v1/statuses/113500000000000123", "{}", hits[0]);
    let text = hits[0]["text"].as_str().expect("text");
    assert!(text.contains("https://twitter.com/[user]"), "{text}");
    assert!(!hits[0].to_string().contains(HANDLE), "{}", hits[0]);

    // The alert, its evidence, the Atom feed.
    let mut alerts = String::new();
    holds_within_every(Duration::from_secs(30), Duration::from_millis(200), || {
        let status;
        (status, alerts) = daemon.get_as("/api/v1/alerts", Some(&token)).expect("alerts api");
        assert_eq!(status, 200, "{alerts}");
        alerts.contains("api/v1/statuses/113500000000000123")
    });
    assert!(alerts.contains("api/v1/statuses/113500000000000123"), "the evidence links the post: {alerts}");
    assert!(!alerts.contains(HANDLE), "{alerts}");
    let listed: serde_json::Value = serde_json::from_str(&alerts).expect("json");
    let fingerprint = listed["alerts"][0]["fingerprint"].as_str().expect("an alert").to_owned();
    let (_, shown) = daemon.get_as(&format!("/api/v1/alerts/{fingerprint}"), Some(&token)).expect("show");
    assert!(shown.contains("twitter.com/[user]") && !shown.contains(HANDLE), "{shown}");
    let (status, atom) = daemon.get_as("/api/v1/municipalities/GM0344/alerts.atom", Some(&token)).expect("atom feed");
    assert_eq!(status, 200, "{atom}");
    assert!(
        atom.contains("<link rel=\"related\" href=\"https://mastodon.social/api/v1/statuses/113500000000000123\"/>"),
        "{atom}"
    );
    assert!(!atom.contains(HANDLE), "{atom}");
    no_handle_on_disk(&install, "while running");

    // After a clean stop the cursor is stored: its guid is a digest.
    assert_eq!(daemon.terminate().0, Some(0));
    let cursor = std::fs::read_to_string(install.data_dir().join("cursors/forum-utrecht.json")).expect("cursor");
    assert!(cursor.contains("sha256:"), "{cursor}");
    let state = std::fs::read_to_string(install.data_dir().join("alerts/state.json")).expect("alert state");
    assert!(state.contains("api/v1/statuses/113500000000000123"), "the state holds the evidence");
    no_handle_on_disk(&install, "after the stop");
}
