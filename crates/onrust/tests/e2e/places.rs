//! Places as people name them, end to end (issue 15): a call to violence
//! that names only a Utrecht wijk, never the municipality, reaches the
//! Utrecht officer by mail in time, the mail names the wijk with its label,
//! and `onrust search --municipality GM0344` finds the message.

use std::time::{Duration, Instant};

use crate::support::{FeedServer, Install, Reply, SmtpSink};

const OFFICER: &str = "oov@utrecht.example";
const LABEL: &str = "Kanaleneiland (wijk, Utrecht)";

#[test]
fn a_call_naming_only_kanaleneiland_reaches_the_utrecht_officer_with_the_wijk_named() {
    let sink = SmtpSink::start(&[]);
    let server = FeedServer::start();
    let published = chrono::Utc::now().to_rfc2822();
    let text = "Morgenavond om 23 uur op het Kanaleneiland: gooi vuurwerk naar de politie en steek de containers \
                in brand. Oorlog maken met de politie.";
    assert!(!text.to_lowercase().contains("utrecht"), "the message names the wijk only");
    let feed = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Forum</title>\
         <link>https://forum.example/</link><description>t</description>\
         <item><guid>kanaleneiland-1</guid><title>Oproep</title><link>https://forum.example/kanaleneiland-1</link>\
         <description>{text}</description><pubDate>{published}</pubDate></item></channel></rss>"
    );
    server.route("/wijk.xml", Reply::Feed { body: feed.into_bytes(), content_type: "application/rss+xml", etag: None });
    // A source for the whole region: the place comes from the text, not from the source.
    let install = Install::new(&[("forum-regio", server.url("/wijk.xml"))]);
    install.shipped_alert_chain(
        sink.port,
        &format!("[[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"{OFFICER}\"\n"),
    );

    let daemon = install.start();
    // The deadline of the shipped critical rule's e2e test: 30 s from the fetch.
    let officer = sink.wait_for(Duration::from_secs(60), |m| m.rcpt_tos().iter().any(|r| r == OFFICER));
    let officer_at = Instant::now();
    let officer = officer.unwrap_or_else(|| panic!("no mail for the Utrecht officer; log:\n{}", daemon.stderr()));
    let fetched_at = server.seen("/wijk.xml").first().map(|s| s.at).expect("fetched");
    let latency = officer_at.saturating_duration_since(fetched_at);
    eprintln!("fetch-to-officer-mail latency for a call naming only a wijk: {} ms", latency.as_millis());
    assert!(latency < Duration::from_secs(30), "the officer is mailed within 30 s of the fetch, took {latency:?}");
    let subject = officer.meta["subject"].as_str().expect("subject");
    assert!(subject.starts_with("[onrust] Kritiek: oproep-tot-geweld — Utrecht"), "{subject}");
    assert!(officer.text.contains(&format!("Plek: {LABEL}")), "the mail names the wijk:\n{}", officer.text);
    assert!(officer.text.contains("Waar: gemeente Utrecht (GM0344)"), "{}", officer.text);

    // The archive has the message under Utrecht; search finds it by the municipality.
    assert_eq!(install.wait_count("vuurwerk", 1, Duration::from_secs(20)), 1, "archived");
    let hits = install.search_json("vuurwerk", &["--municipality", "GM0344"]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["municipalities"], serde_json::json!(["GM0344"]), "{}", hits[0]);
    let places = hits[0]["places"].as_array().expect("the hit's places");
    assert!(
        places.iter().any(|p| p["name"] == "Kanaleneiland" && p["tier"] == "wijk" && p["municipality"] == "GM0344"),
        "{places:?}"
    );
    let out = install.cli(&["search", "vuurwerk", "--municipality", "GM0344"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("places: {LABEL}")));
    assert!(install.search_json("vuurwerk", &["--municipality", "GM0307"]).is_empty(), "not Amersfoort's");
    assert_eq!(daemon.terminate().0, Some(0));
}
