//! Tests of the bluesky source's parts that need no connection (the
//! streaming ones are in `tests/integration/bluesky.rs`).

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use onrust_model::{MessageId, SourceId, SourceKind};
use url::Url;

use super::connect::{ConnectError, subscribe_url, tls_config};
use super::event::{ParsedEvent, parse_event};
use super::recent::RecentKeys;
use super::resume::{OversizedSkip, Skip, backlog_gap, resume_point, skip_past};
use super::select::{lang_hint, language_matches, primary_subtags};
use super::{AcceptAll, JetstreamSource};
use crate::fetch::guard::EgressGuard;
use crate::source::{SourceSettings, backoff};

const FIXTURE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/jetstream/expected_v1.jsonl"));

#[test]
fn fixture_events_parse_as_expected() {
    let (mut posts, mut deletes, mut ignored, mut malformed) = (0, 0, 0, 0);
    for line in FIXTURE.lines() {
        match parse_event(line) {
            ParsedEvent::Post { .. } => posts += 1,
            ParsedEvent::Delete { .. } => deletes += 1,
            ParsedEvent::Ignored { .. } => ignored += 1,
            ParsedEvent::Malformed { .. } => malformed += 1,
        }
    }
    assert_eq!((posts, deletes, ignored, malformed), (17, 1, 134, 0));
}

#[test]
fn unexpected_shapes_are_malformed_and_keep_their_time() {
    assert_eq!(parse_event("not json"), ParsedEvent::Malformed { time_us: None });
    assert_eq!(parse_event(r#"{"did":"did:plc:a","kind":"commit"}"#), ParsedEvent::Malformed { time_us: None });
    let post = |did: &str, rkey: &str, record: &str| {
        format!(
            r#"{{"did":"{did}","time_us":7,"kind":"commit","commit":{{"rev":"r1","operation":"create","collection":"app.bsky.feed.post","rkey":"{rkey}","record":{record}}}}}"#
        )
    };
    for line in [
        post("did:plc:a", "k", r#"{"text":5}"#),
        post("did:plc:a", "k", r#"{"langs":"nl"}"#),
        post("did:plc:a", "k", "null"),
        post("not-a-did", "k", r#"{"text":"x"}"#),
        post("did:plc:a", "a/b", r#"{"text":"x"}"#),
        post("did:plc:a", "", r#"{"text":"x"}"#),
        r#"{"did":"did:plc:a","time_us":7,"kind":"commit"}"#.to_owned(),
        r#"{"did":"did:plc:a","time_us":7,"kind":"commit","commit":{"operation":"frobnicate","collection":"app.bsky.feed.post","rkey":"k"}}"#.to_owned(),
    ] {
        assert_eq!(parse_event(&line), ParsedEvent::Malformed { time_us: Some(7) }, "{line}");
    }
    assert!(matches!(
        parse_event(&post("did:plc:a", "k", r#"{"text":"hoi","langs":["nl"]}"#)),
        ParsedEvent::Post { .. }
    ));
    let identity =
        r#"{"did":"did:plc:a","time_us":9,"kind":"identity","identity":{"handle":"canary_handle_77.bsky.social"}}"#;
    assert_eq!(parse_event(identity), ParsedEvent::Ignored { time_us: 9 });
}

#[test]
fn languages_match_on_the_primary_subtag() {
    let nl = primary_subtags(&["NL".to_owned()]);
    let tags = |tags: &[&str]| tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    assert!(language_matches(&tags(&["nl"]), &nl, false));
    assert!(language_matches(&tags(&["en", "nl-BE"]), &nl, false));
    assert!(!language_matches(&tags(&["en"]), &nl, false));
    assert!(!language_matches(&tags(&["nld"]), &nl, false));
    assert!(!language_matches(&[], &nl, false));
    assert!(language_matches(&[], &nl, true));
    assert!(language_matches(&tags(&["en"]), &[], false));
    assert_eq!(lang_hint("en-US").as_deref(), Some("en-US"));
    assert_eq!(lang_hint("<script>"), None);
    assert_eq!(lang_hint(&"a".repeat(36)), None);
}

#[test]
fn a_cursor_older_than_the_backlog_is_a_gap() {
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let day = Duration::from_secs(24 * 3600);
    let hours_ago = |h: i64| now.timestamp_micros() - h * 3_600_000_000;
    assert_eq!(backlog_gap(hours_ago(23), now, day), None);
    assert_eq!(backlog_gap(hours_ago(30), now, day), Some(Duration::from_secs(30 * 3600)));
    // A cursor in the future (another instance's clock) is no gap.
    assert_eq!(backlog_gap(hours_ago(-1), now, day), None);
}

#[test]
fn the_url_always_asks_for_posts_only() {
    let base =
        Url::parse("wss://jetstream.example/subscribe?wantedCollections=app.bsky.feed.like&compress=true&x=1&cursor=5")
            .unwrap();
    let url = subscribe_url(&base, None, 4096);
    assert_eq!(url.query(), Some("x=1&wantedCollections=app.bsky.feed.post&maxMessageSizeBytes=4096"));
    let base = Url::parse(&format!("{base}&maxMessageSizeBytes=0")).unwrap();
    let url = subscribe_url(&base, Some(42), 1 << 20);
    assert_eq!(url.query(), Some("x=1&wantedCollections=app.bsky.feed.post&maxMessageSizeBytes=1048576&cursor=42"));
}

#[test]
fn an_oversized_event_is_skipped_ever_further_and_never_rewound_onto() {
    let cap = 6_000_000;
    // Nothing read: nothing to skip, the reconnect is live.
    assert_eq!(skip_past(None, None, cap), (OversizedSkip::Live, None));
    // First: 1 µs past the last event read.
    let (outcome, skip) = skip_past(Some(100), None, cap);
    assert_eq!(outcome, OversizedSkip::Skipped { from: 100, to: 101 });
    // Refused again with nothing read: the step doubles.
    let mut to = 101;
    let mut last = skip;
    for step in [2, 4, 8, 16] {
        let (outcome, skip) = skip_past(Some(to), last, cap);
        assert_eq!(outcome, OversizedSkip::Skipped { from: to, to: to + step });
        to += step;
        last = skip;
    }
    assert_eq!(last, Some(Skip { to: 131, step: 16 }));
    // ... up to the cap, and then on by the cap.
    let (_, skip) = skip_past(Some(1_000), Some(Skip { to: 1_000, step: 4_000_000 }), cap);
    assert_eq!(skip, Some(Skip { to: 6_001_000, step: cap }));
    let (_, skip) = skip_past(Some(6_001_000), skip, cap);
    assert_eq!(skip, Some(Skip { to: 12_001_000, step: cap }));
    // Events read after the skip: a new oversized event starts over at 1 µs.
    assert_eq!(skip_past(Some(500), last, cap).0, OversizedSkip::Skipped { from: 500, to: 501 });
    // Back before the skip (a failed batch rewound): the same skip, no new span.
    assert_eq!(skip_past(Some(90), last, cap), (OversizedSkip::Known { to: 131 }, last));

    // A resume never rewinds below the skip once reading reached it.
    let rewind = Duration::from_micros(50);
    assert_eq!(resume_point(Some(131), last, rewind), Some(131));
    assert_eq!(resume_point(Some(150), last, rewind), Some(131));
    assert_eq!(resume_point(Some(400), last, rewind), Some(350));
    assert_eq!(resume_point(Some(120), last, rewind), Some(70));
    assert_eq!(resume_point(Some(120), None, rewind), Some(70));
    assert_eq!(resume_point(None, last, rewind), None);
}

#[test]
fn recent_keys_are_bounded_and_removable() {
    let mut recent = RecentKeys::new(3);
    for key in 1..=4 {
        assert!(recent.insert(key));
    }
    assert!(!recent.contains(1) && recent.contains(4));
    assert!(!recent.insert(4));
    recent.remove(3);
    assert!(recent.insert(3));
    // 3 now has a newer generation: evicting its old entry must not forget it.
    assert!(recent.insert(5));
    assert!(recent.contains(3));
    let id = MessageId::new("s:1").unwrap();
    assert_ne!(recent.key(b'p', &id, Some("r1"), 1), recent.key(b'p', &id, Some("r2"), 1));
    assert_ne!(recent.key(b'p', &id, Some("r1"), 1), recent.key(b'd', &id, Some("r1"), 1));
    assert_eq!(recent.key(b'p', &id, Some("r1"), 1), recent.key(b'p', &id, Some("r1"), 2));
}

#[test]
fn tls_verifies_against_the_webpki_roots() {
    let config = tls_config().unwrap();
    assert!(!webpki_roots::TLS_SERVER_ROOTS.is_empty());
    assert!(config.enable_sni);
}

#[test]
fn backoff_stays_between_the_bounds() {
    let (min, max) = (Duration::from_secs(1), Duration::from_secs(300));
    for failures in 1..=30 {
        let delay = backoff(min, max, failures);
        let ceiling = (min * 2u32.pow(failures.min(20))).min(max);
        assert!(delay >= min && delay <= ceiling, "{failures}: {delay:?}");
    }
}

#[tokio::test]
async fn a_failed_connection_keeps_its_cause() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = Url::parse(&format!("ws://127.0.0.1:{port}/subscribe")).unwrap();
    let settings =
        SourceSettings::new(SourceId::new("jetstream").unwrap(), SourceKind::Bluesky, url.as_str(), Duration::ZERO);
    let source = JetstreamSource::new(settings, url.clone(), Vec::new(), Arc::new(AcceptAll));
    let guard = EgressGuard::new(&["127.0.0.1".to_owned()]);
    let error = source.connect(&guard, &url).await.err().expect("nothing listens");
    assert!(matches!(error, ConnectError::Tcp(Some(_))), "{error}");
    assert_eq!(error.outcome(), "connect_error");
    let cause = std::error::Error::source(&error).and_then(|cause| cause.downcast_ref::<std::io::Error>());
    assert_eq!(cause.map(std::io::Error::kind), Some(std::io::ErrorKind::ConnectionRefused), "{error:?}");
    // The message still says what failed, as it did when the cause was flattened into it.
    assert_eq!(error.to_string(), format!("could not connect: {}", cause.unwrap()));

    // Refused by the egress guard (S1): the refusal is the source.
    let error = source.connect(&EgressGuard::new(&[]), &url).await.err().expect("loopback is refused");
    assert_eq!(error.outcome(), "blocked");
    let cause = std::error::Error::source(&error).expect("the refusal is kept");
    assert!(cause.is::<crate::fetch::guard::Blocked>(), "{cause:?}");
    assert_eq!(error.to_string(), format!("blocked: {cause}"));
}
