use std::time::Duration;

use super::*;
use crate::bluesky::AcceptAll;

fn params(json: &str) -> Result<SourceParams, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

fn checks() -> SourceChecks<'static> {
    SourceChecks { allow_hosts: &[], interval: Duration::from_secs(300) }
}

fn keys_of(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(|p| format!("{}: {}", p.key, p.message)).collect()
}

#[test]
fn each_kind_takes_its_own_keys_and_refuses_the_others() {
    assert_eq!(SourceParams::keys(SourceKindConfig::Feed), ["url"]);
    assert_eq!(SourceParams::keys(SourceKindConfig::Authority), ["url"]);
    assert_eq!(SourceParams::keys(SourceKindConfig::Mastodon), ["url", "tags"]);
    assert_eq!(SourceParams::keys(SourceKindConfig::Bluesky), ["url", "languages"]);
    assert_eq!(SourceParams::keys(SourceKindConfig::Telegram), ["url"]);
    let refused = params(r#"{"kind": "feed", "url": "https://example.org/feed", "tags": ["x"]}"#).unwrap_err();
    assert!(refused.contains("unknown field `tags`"), "{refused}");
    let refused = params(r#"{"kind": "telegram", "url": "https://t.me/s/x", "languages": ["nl"]}"#).unwrap_err();
    assert!(refused.contains("unknown field `languages`"), "{refused}");
    assert_eq!(
        SourceParams::unknown_key(SourceKindConfig::Youtube, "tags").to_string(),
        "tags: a youtube source takes no tags; only mastodon does"
    );
    assert_eq!(SourceParams::unknown_key(SourceKindConfig::Feed, "url2").to_string(), "url2: unknown key");
    for kind in SourceKindConfig::ALL {
        assert_eq!(SourceKindConfig::from_name(kind.name()), Some(kind));
    }
    assert_eq!(SourceKindConfig::from_name("replay"), None, "replay is no configured kind");
}

#[test]
fn every_problem_of_a_kind_is_reported_at_once_under_its_key() {
    let mastodon =
        params(r##"{"kind": "mastodon", "url": "http://10.0.0.1/tags", "tags": ["#a", "b", "B"]}"##).unwrap();
    let problems = keys_of(&mastodon.validate(&checks()));
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("url: 10.0.0.1 is a private address"), "{problems:#?}");
    assert!(problems[1].starts_with("url: a mastodon source's url is the instance itself"), "{problems:#?}");
    assert_eq!(problems[2], "tags: \"#a\" is not a hashtag: letters, digits and _ only, without #");
    assert_eq!(problems[3], "tags: \"B\" is listed twice");

    let telegram = params(r#"{"kind": "telegram", "url": "https://t.me/x"}"#).unwrap();
    let slow = SourceChecks { interval: Duration::from_secs(3600), ..checks() };
    let problems = keys_of(&telegram.validate(&slow));
    assert!(problems[0].starts_with("url: telegram url path \"/x\" is not /s/<channel>"), "{problems:#?}");
    assert!(problems[1].starts_with("interval: at most 30m for telegram"), "{problems:#?}");

    let bluesky =
        params(r#"{"kind": "bluesky", "url": "ws://jetstream.example/subscribe", "languages": ["NL"]}"#).unwrap();
    let problems = keys_of(&bluesky.validate(&checks()));
    assert!(problems[0].starts_with("url: ws:// is unencrypted"), "{problems:#?}");
    assert_eq!(problems[1], "languages: \"NL\" is not an ISO 639-1 code such as \"nl\"");

    let login = params(r#"{"kind": "reddit", "url": "https://jan:geheim@www.reddit.com/r/x/.rss"}"#).unwrap();
    let problems = keys_of(&login.validate(&checks()));
    assert!(problems.len() == 1 && problems[0].contains("user name or password"), "{problems:#?}");
    assert!(!problems[0].contains("geheim"), "never the password");
    let public =
        params(r#"{"kind": "youtube", "url": "https://www.youtube.com/feeds/videos.xml?channel_id=x"}"#).unwrap();
    assert!(public.validate(&checks()).is_empty());
}

#[test]
fn a_kind_builds_the_worker_that_reads_it() {
    let id = SourceId::new("bron").unwrap();
    let every = Duration::from_secs(120);
    let feed = params(r#"{"kind": "authority", "url": "https://www.politie.nl/rss"}"#).unwrap();
    let Ok(SourceWorker::Feed(source)) = feed.build(id.clone(), every, None) else { panic!("a feed") };
    assert_eq!(source.settings.kind, onrust_model::SourceKind::Authority, "the kind the messages carry");
    assert_eq!((source.settings.interval, source.settings.identity.as_str()), (every, "https://www.politie.nl/rss"));

    let mastodon = params(r#"{"kind": "mastodon", "url": "https://mastodon.nl", "tags": ["utrecht"]}"#).unwrap();
    let Ok(SourceWorker::Mastodon(source)) = mastodon.build(id.clone(), every, None) else { panic!("mastodon") };
    assert!(source.settings.identity.contains("utrecht"), "tags are part of its identity");

    let stream = params(r#"{"kind": "bluesky", "url": "wss://jetstream.example/subscribe"}"#).unwrap();
    assert!(matches!(stream.build(id.clone(), every, None), Err(BuildError::NoRelevance(_))));
    let Ok(SourceWorker::Bluesky(source)) = stream.build(id.clone(), every, Some(Arc::new(AcceptAll))) else {
        panic!("bluesky")
    };
    assert_eq!(source.languages, ["nl"], "Dutch unless told otherwise");

    let channel = params(r#"{"kind": "telegram", "url": "https://t.me/x"}"#).unwrap();
    let refused = channel.build(id, every, None).err().expect("refused");
    assert!(refused.to_string().contains("source bron: telegram url path"), "{refused}");
    let why = std::error::Error::source(&refused).and_then(|s| s.downcast_ref::<crate::telegram::TelegramUrlError>());
    assert!(why.is_some(), "the kind's own error stays the cause: {refused:?}");
}
