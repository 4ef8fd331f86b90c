use std::path::{Path, PathBuf};
use std::time::Duration;

use onrust_ingest::config::SourceParams;
use onrust_web::Role;

use super::http::default_listen;
use super::*;

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    // The shipped themes and gazetteer exist relative to this path.
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../config/test.toml");
    Config::parse(&path, &mandates::with_test_mandate(text))
}

#[test]
fn the_shipped_config_is_valid() {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../config/onrust.toml");
    // Its data_dir is the repository's data/, where a developer's daemon may
    // keep a trial record: the test reads the file as shipped, with its own.
    let data = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(&path).expect("the shipped config");
    assert!(text.contains("\ndata_dir = \"../data\""), "the repository's data/, relative to config/");
    let text = text.replacen("\ndata_dir = \"../data\"", &format!("\ndata_dir = {:?}", data.path()), 1);
    let config = Config::parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.data_dir, data.path());
    assert!(config.sources.len() >= 5, "real regional sources ship with onrust");
    assert_eq!(config.bus.kind, BusKind::Embedded);
    assert!(config.ingest.allow_hosts.is_empty(), "no guard exemptions by default");
    assert!(config.recipients.is_empty(), "nothing is mailed until someone configures recipients");
    let kinds: Vec<_> = config.rules.iter().map(|r| r.kind).collect();
    assert_eq!(config.region.municipalities.len(), 38, "Midden-Nederland has 38 municipalities");
    // Every municipality's own publications are read, so coverage is per municipality.
    for code in &config.region.municipalities {
        let gemeenteblad = config.sources.iter().find(|s| {
            s.kind() == SourceKindConfig::Authority
                && s.municipalities == [code.clone()]
                && s.url().contains("Gemeenteblad")
        });
        assert!(gemeenteblad.is_some(), "no Gemeenteblad source for {code}");
    }
    // What the authorities publish is not what the real-time rules watch for.
    for rule in config.rules.iter().filter(|r| r.kind != onrust_alert::RuleKind::Burst) {
        let watched: Vec<_> =
            onrust_model::SourceKind::ALL.into_iter().filter(|k| rule.source_kinds.contains(k)).collect();
        let expected: Vec<_> =
            onrust_model::SourceKind::ALL.into_iter().filter(|k| *k != onrust_model::SourceKind::Authority).collect();
        assert_eq!(watched, expected, "rule {}", rule.name);
    }
    for kind in [
        onrust_alert::RuleKind::Critical,
        onrust_alert::RuleKind::Announcement,
        onrust_alert::RuleKind::Threshold,
        onrust_alert::RuleKind::Burst,
    ] {
        assert!(kinds.contains(&kind), "a default {kind:?} rule ships");
    }
}

#[test]
fn each_source_kind_is_checked_for_what_it_needs() {
    let config = parse(
        r#"
        [[sources]]
        mandate = "test"
        id = "mastodon-nl"
        kind = "mastodon"
        url = "https://mastodon.nl"
        tags = ["utrecht", "boerenprotest", "stikstof", "amersfoort", "almere"]
        [[sources]]
        mandate = "test"
        id = "bluesky"
        kind = "bluesky"
        url = "wss://jetstream2.us-east.bsky.network/subscribe"
        [[sources]]
        mandate = "test"
        id = "tg-regio"
        kind = "telegram"
        url = "https://t.me/s/rtvutrecht"
        interval = "2m"
        "#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let SourceParams::Mastodon(mastodon) = &config.sources[0].params else { panic!("{:?}", config.sources[0]) };
    assert_eq!(mastodon.tags.len(), 5);
    let SourceParams::Bluesky(bluesky) = &config.sources[1].params else { panic!("{:?}", config.sources[1]) };
    assert_eq!(bluesky.languages(), ["nl"], "Dutch by default");
    assert_eq!(config.sources[2].kind().message_kind(), onrust_model::SourceKind::Telegram);

    let errors = parse(
        r##"
        [[sources]]
        mandate = "test"
        id = "m1"
        kind = "mastodon"
        url = "https://mastodon.nl/api/v1/timelines/tag/utrecht"
        tags = ["#utrecht", "utrecht", "Utrecht", ""]
        languages = ["nl"]
        [[sources]]
        mandate = "test"
        id = "m2"
        kind = "mastodon"
        url = "https://mastodon.social"
        [[sources]]
        mandate = "test"
        id = "b1"
        kind = "bluesky"
        url = "https://jetstream2.us-east.bsky.network/subscribe"
        languages = ["dutch"]
        [[sources]]
        mandate = "test"
        id = "t1"
        kind = "telegram"
        url = "https://t.me/rtvutrecht"
        interval = "2h"
        [[sources]]
        mandate = "test"
        id = "f1"
        kind = "feed"
        url = "wss://example.org/feed"
        tags = ["x"]
        [[sources]]
        mandate = "test"
        id = "b2"
        kind = "bluesky"
        url = "ws://jetstream2.us-east.bsky.network/subscribe"
        "##,
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "sources[0].url: a mastodon source's url is the instance itself",
        "sources[0].tags: \"#utrecht\" is not a hashtag",
        "sources[0].tags: \"Utrecht\" is listed twice",
        "sources[0].tags: \"\" is not a hashtag",
        "sources[0].languages: a mastodon source takes no languages; only bluesky does",
        "sources[1].tags: a mastodon source needs at least one hashtag",
        "sources[2].url: scheme \"https\" is not allowed for kind bluesky; use wss or ws",
        "sources[2].languages: \"dutch\" is not an ISO 639-1 code",
        "sources[3].url: telegram url path \"/rtvutrecht\" is not /s/<channel>",
        "sources[3].interval: at most 30m for telegram",
        "sources[4].url: scheme \"wss\" is not allowed for kind feed; use https or http",
        "sources[4].tags: a feed source takes no tags; only mastodon does",
        "sources[5].url: ws:// is unencrypted; use wss://",
    ] {
        assert!(errors.contains(needle), "missing {needle:?} in:\n{errors}");
    }
}

#[test]
fn region_and_source_coverage_must_be_cbs_codes_of_the_region() {
    let config = parse(
        r#"
        [region]
        municipalities = ["GM0344", "GM0307"]
        [[sources]]
        mandate = "test"
        id = "utrecht"
        kind = "feed"
        url = "https://example.org/feed"
        municipalities = ["GM0344"]
        "#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.region.municipalities, ["GM0344", "GM0307"]);
    assert_eq!(config.sources[0].municipalities, ["GM0344"]);
    let short = parse("[region]\nmunicipalities = [\"344\"]\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(short.region.municipalities, ["GM0344"], "codes are normalised");
    let errors = parse(
        r#"
        [region]
        municipalities = ["GM0344", "Utrecht", "GM0344"]
        [[sources]]
        mandate = "test"
        id = "almere"
        kind = "feed"
        url = "https://example.org/feed"
        municipalities = ["GM0034", "0344", "Zeist"]
        "#,
    )
    .unwrap_err();
    let text = errors.to_string();
    for needle in [
        "region.municipalities: \"Utrecht\" is not a CBS code",
        "region.municipalities: GM0344 is listed twice",
        "sources[0].municipalities: GM0034 is not in region.municipalities",
        "sources[0].municipalities: \"Zeist\" is not a CBS code",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(errors.0.len(), 4, "{text}");
}

#[test]
fn every_problem_is_reported_at_once_with_file_and_key() {
    let errors = parse(
        r#"
        colour = "blue"
        [http]
        listen = "0.0.0.0:8080"
        [ingest]
        allow_host = []
        [[sources]]
        mandate = "test"
        id = "Bad Id"
        kind = "feed"
        url = "file:///etc/passwd"
        interval = "1s"
        [[sources]]
        mandate = "test"
        id = "x"
        kind = "feed"
        url = "https://example.org/feed"
        interval = "soon"
        "#,
    )
    .unwrap_err();
    let text = errors.to_string();
    for needle in [
        "colour: unknown key",
        "ingest: unknown field `allow_host`",
        "sources[0].id",
        "sources[0].url: scheme \"file\"",
        "sources[0].interval: must be at least 10s",
        "sources[1]: \"soon\" is not a duration",
        "http.token_file",
        "config/test.toml",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(errors.0.len(), 7, "{text}");
}

/// Each kind owns its keys: a key that belongs to another kind, or to none,
/// is refused under its own name in its own entry, and the rest of that
/// entry is still checked.
#[test]
fn a_key_that_is_not_the_kinds_is_refused_by_name_and_the_entry_still_checked() {
    let errors = parse(
        r#"
        [[sources]]
        mandate = "test"
        id = "nos"
        kind = "feed"
        url = "https://feeds.nos.nl/nosnieuwsalgemeen"
        languages = ["nl"]
        [[sources]]
        mandate = "test"
        id = "Tg"
        kind = "telegram"
        url = "https://t.me/s/rtvutrecht"
        tags = ["utrecht"]
        feed_url = "https://example.org/"
        [[sources]]
        mandate = "test"
        id = "m"
        kind = "rss"
        url = "https://example.org/feed"
        "#,
    )
    .unwrap_err();
    let text = errors.to_string();
    for needle in [
        "sources[0].languages: a feed source takes no languages; only bluesky does",
        "sources[1].tags: a telegram source takes no tags; only mastodon does",
        "sources[1].feed_url: unknown key",
        "sources[1].id: ",
        "sources[2]: unknown variant `rss`, expected one of `feed`, `reddit`, `youtube`, `authority`, `mastodon`, `bluesky`, `telegram`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(errors.0.len(), 5, "{text}");
    // Without the foreign keys the same sources are read.
    let config =
        parse("[[sources]]\nmandate = \"test\"\nid = \"nos\"\nkind = \"feed\"\nurl = \"https://feeds.nos.nl/x\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.sources[0].params,
        SourceParams::Feed(onrust_ingest::config::FeedConfig { url: "https://feeds.nos.nl/x".into() })
    );
}

#[test]
fn a_source_after_an_unreadable_one_is_named_by_its_own_place() {
    let errors = parse(
        "[[sources]]\nmandate = \"test\"\nid = \"a\"\nkind = \"feed\"\nurl = \"https://example.org/a\"\ninterval = \"soon\"\n\
         [[sources]]\nmandate = \"test\"\nid = \"b\"\nkind = \"feed\"\nurl = \"ftp://example.org/b\"\ninterval = \"5m\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(errors.contains("sources[1].url: scheme \"ftp\""), "{errors}");
    assert!(!errors.contains("sources[0].url"), "{errors}");
}

#[test]
fn absurd_sizes_and_durations_are_refused_not_panicked_on() {
    let text = parse(
        "[bus]\ncapacity = 9223372036854775807\n[ingest]\ntotal_timeout = \"500000000000y\"\n\
         [archive]\ncommit_interval = \"0s\"\n[privacy]\npseudonym_period = \"1m\"\n",
    )
    .unwrap_err()
    .to_string();
    for key in ["bus.capacity", "ingest.total_timeout", "archive.commit_interval", "privacy.pseudonym_period"] {
        assert!(text.contains(key), "{key} missing in:\n{text}");
    }
}

const HASH_A: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const HASH_B: &str = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";
const HASH_C: &str = "baa5a0964d3320fbc0c6a922140453c8513ea24ab8fd0577034804a967248096";

#[test]
fn api_tokens_have_names_roles_and_hashes() {
    let config = parse(&format!(
        "[http]\nsearch_budget = \"500ms\"\n\
         [[http.tokens]]\nname = \"analist-utrecht\"\nrole = \"analyst\"\nsha256 = \"{HASH_A}\"\n\
         [[http.tokens]]\nname = \"fg.regio\"\nrole = \"fg\"\nsha256 = \"{}\"\n",
        HASH_B.to_uppercase()
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let tokens: Vec<(&str, Role)> = config.http.tokens.iter().map(|t| (t.name.as_str(), t.role)).collect();
    assert_eq!(tokens, [("analist-utrecht", Role::Analyst), ("fg.regio", Role::Fg)]);
    assert_eq!(config.http.tokens[1].sha256.to_hex(), HASH_B);
    assert_eq!(config.http.tokens[0].municipalities, None, "the whole region when left out");
    assert_eq!((config.http.search_budget.0, config.http.search_concurrency), (Duration::from_millis(500), 4));
    assert!(!format!("{config:?}").contains(HASH_A), "hashes stay out of debug output");
    assert!(parse("").unwrap().http.tokens.is_empty());
}

/// Issue 16: a municipality nobody watches is refused wherever an entry
/// names one (recipients, webhooks, tokens, rules, sources, the region
/// itself), each problem under its own entry, all at once.
#[test]
fn unknown_municipalities_are_refused_everywhere_each_named_by_its_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("hook.key");
    std::fs::write(&key, "sleutel\n").expect("key");
    private(&key);
    let entries = |region: &str| {
        format!(
            "{region}\
             [[recipients]]\nmunicipality = \"GM9999\"\nrole = \"officer\"\nemail = \"oov@nergens.example\"\n\
             [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n\
             [[webhooks]]\nurl = \"https://crisis.example/\"\nsecret_file = {key:?}\nmunicipality = \"GM0034\"\n\
             [[http.tokens]]\nname = \"oov\"\nrole = \"officer\"\nsha256 = \"{HASH_A}\"\nmunicipalities = [\"GM0344\", \"GM9998\"]\n\
             [[rules]]\nmandate = \"test\"\nname = \"lokaal\"\nkind = \"critical\"\nmunicipalities = [\"GM0344\", \"9997\"]\n\
             [[sources]]\nmandate = \"test\"\nid = \"lokaal\"\nkind = \"feed\"\nurl = \"https://example.org/feed\"\nmunicipalities = [\"GM9996\"]\n"
        )
    };
    // Without a [region]: the gazetteer's municipalities.
    let text = parse(&entries("")).unwrap_err().to_string();
    for needle in [
        "recipients[0].municipality: GM9999 is no municipality: the gazetteer",
        "http.tokens[0].municipalities: GM9998 is no municipality",
        "rules[0].municipalities[1]: GM9997 is no municipality",
        "sources[0].municipalities: GM9996 is no municipality",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("GM0344 is") && !text.contains("GM0034 is"), "known ones pass:\n{text}");
    assert_eq!(text.lines().count(), 5, "four problems, all at once:\n{text}");
    // With a [region]: its municipalities, which the gazetteer must know.
    let region = "[region]\nmunicipalities = [\"GM0344\", \"GM9995\"]\n";
    let text = parse(&entries(region)).unwrap_err().to_string();
    for needle in [
        "region.municipalities: GM9995 is no municipality: the gazetteer",
        "recipients[0].municipality: GM9999 is not in region.municipalities",
        "webhooks[0].municipality: GM0034 is not in region.municipalities",
        "http.tokens[0].municipalities: GM9998 is not in region.municipalities",
        "rules[0].municipalities[1]: GM9997 is not in region.municipalities",
        "sources[0].municipalities: GM9996 is not in region.municipalities",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(text.lines().count(), 7, "six problems, all at once:\n{text}");
    let fine = "[region]\nmunicipalities = [\"GM0344\"]\n\
                [[recipients]]\nmunicipality = \"0344\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n";
    assert!(parse(fine).is_ok(), "a code as people write it is the same municipality");
}

#[test]
fn the_public_url_is_an_https_address_to_put_paths_after() {
    let config = parse("[http]\npublic_url = \"https://onrust.regio.example/\"\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.http.public_base().as_deref(), Some("https://onrust.regio.example"));
    assert_eq!(parse("").unwrap_or_else(|e| panic!("{e}")).http.public_base(), None);
    assert!(parse("[http]\npublic_url = \"http://127.0.0.1:8080\"\n").is_ok(), "http towards loopback");
    for (bad, needle) in [
        ("http://onrust.regio.example", "http only towards a loopback host"),
        ("onrust.regio.example", "is not a URL"),
        ("https://onrust.regio.example/?a=1", "query"),
        ("https://user:pw@onrust.regio.example/", "no user name or password"),
        ("ftp://onrust.regio.example/", "not https"),
    ] {
        let text = parse(&format!("[http]\npublic_url = {bad:?}\n")).unwrap_err().to_string();
        assert!(text.contains("http.public_url: ") && text.contains(needle), "{bad}: {text}");
    }
}

#[test]
fn a_token_can_be_limited_to_municipalities() {
    let config = parse(&format!(
        "[[http.tokens]]\nname = \"oov-utrecht\"\nrole = \"officer\"\nsha256 = \"{HASH_A}\"\n\
         municipalities = [\"GM0344\", \"0307\"]\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let codes: Vec<String> =
        config.http.tokens[0].municipalities.iter().flatten().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(codes, ["GM0344", "GM0307"]);
    let text = parse(&format!(
        "[[http.tokens]]\nname = \"a\"\nrole = \"officer\"\nsha256 = \"{HASH_A}\"\nmunicipalities = []\n\
         [[http.tokens]]\nname = \"b\"\nrole = \"officer\"\nsha256 = \"{HASH_B}\"\nmunicipalities = [\"utrecht\"]\n\
         [[http.tokens]]\nname = \"c\"\nrole = \"analyst\"\nsha256 = \"{HASH_C}\"\nmunicipalities = [\"GM0344\"]\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(text.contains("http.tokens[0].municipalities: lists no municipality"), "{text}");
    assert!(text.contains("http.tokens[1]") && text.contains("utrecht"), "{text}");
    assert!(
        text.contains(
            "http.tokens[2].municipalities: limits alerts, so only for an officer or supervisor, not analyst"
        ),
        "{text}"
    );
}

#[test]
fn every_token_problem_is_reported_at_once_without_the_secret() {
    let token = format!("onrust_{}", "ab".repeat(32));
    let errors = parse(&format!(
        "[http]\nsearch_budget = \"0s\"\nsearch_concurrency = 0\nlisten = \"127.0.0.1:8080\"\n\
         [[http.tokens]]\nname = \"Analist\"\nrole = \"analyst\"\nsha256 = \"{HASH_A}\"\n\
         [[http.tokens]]\nname = \"x\"\nrole = \"root\"\nsha256 = \"{HASH_B}\"\n\
         [[http.tokens]]\nname = \"y\"\nrole = \"fg\"\nsha256 = \"{token}\"\n\
         [[http.tokens]]\nname = \"z\"\nrole = \"fg\"\nsha256 = \"{HASH_A}\"\ntoken = \"{token}\"\n\
         [[http.tokens]]\nname = \"z\"\nrole = \"admin\"\nsha256 = \"abc\"\n\
         [[http.tokens]]\nname = \"w\"\nrole = \"officer\"\nsha256 = \"{HASH_A}\"\n\
         [[http.tokens]]\nname = \"monitor\"\nrole = \"monitor\"\nsha256 = \"{HASH_B}\"\n",
    ))
    .unwrap_err();
    let text = errors.to_string();
    for needle in [
        "http.search_budget: must be between 10ms and 1m",
        "http.search_concurrency: must be between 1 and 64",
        "http.tokens[0].name: token name \"Analist\" must be",
        "http.tokens[1]: unknown variant `root`, expected one of `officer`, `analyst`, `supervisor`, `fg`, `admin`",
        "http.tokens[2]: this is a token, not its hash",
        "http.tokens[3]: unknown field `token`",
        "http.tokens[4]: must be the SHA-256 of the token as 64 hexadecimal digits",
        "http.tokens[5].sha256: the same token as \"Analist\"",
        "http.tokens[6]: unknown variant `monitor`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(errors.0.len(), 9, "{text}");
    assert!(!text.contains(&token[10..]), "a pasted token is never echoed:\n{text}");
}

#[test]
fn token_names_must_be_unique() {
    let text = parse(&format!(
        "[[http.tokens]]\nname = \"a\"\nrole = \"analyst\"\nsha256 = \"{HASH_A}\"\n\
         [[http.tokens]]\nname = \"a\"\nrole = \"fg\"\nsha256 = \"{HASH_B}\"\n\
         [[http.tokens]]\nname = \"monitor\"\nrole = \"fg\"\nsha256 = \"{}\"\n",
        "0".repeat(64)
    ))
    .unwrap_err()
    .to_string();
    assert!(text.contains("http.tokens[1].name: \"a\" is used by an earlier token"), "{text}");
    assert!(text.contains("http.tokens[2].name: the token name \"monitor\" is reserved"), "{text}");
    let text = parse("[http]\ntokens = \"x\"\n").unwrap_err().to_string();
    assert!(text.contains("http.tokens: must be an array of tables"), "{text}");
}

#[test]
fn alert_sections_are_read_and_mapped_onto_the_notifier() {
    let config = parse(
        "[smtp]\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"none\"\nfrom = \"onrust@gemeente.example\"\n\
         [alerts]\nevaluate_interval = \"2s\"\n\
         [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n\
         [[recipients]]\nmunicipality = \"*\"\nrole = \"mayor\"\nemail = \"burgemeester@regio.example\"\n\
         [[rules]]\nmandate = \"test\"\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let smtp = config.smtp.as_ref().expect("smtp").to_notifier();
    assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), ("127.0.0.1", 2525, onrust_notify::smtp::TlsMode::None));
    assert_eq!(config.alerts.evaluate_interval.0, Duration::from_secs(2));
    assert_eq!(config.recipients.len(), 2);
    assert_eq!(config.recipients[1].scope, RecipientScope::All);
    assert_eq!(config.rules[0].name, "oproep-tot-geweld");
    let defaults = parse("").unwrap();
    assert!(defaults.smtp.is_none() && defaults.recipients.is_empty() && defaults.rules.is_empty());
    assert_eq!(defaults.alerts.evaluate_interval.0, Duration::from_secs(15));
}

#[test]
fn every_alert_problem_is_reported_at_once_with_its_key() {
    let errors = parse(
        "[smtp]\nhost = \"smtp.example.org\"\ntls = \"none\"\nfrom = \"a@b.example\\r\\nBcc: x@example.org\"\n\
         username = \"onrust\"\n\
         [alerts]\nevaluate_interval = \"0s\"\ndigest_hour = 24\nsummary_lead = \"10m\"\n\
         [[recipients]]\nmunicipality = \"Utrecht\"\nrole = \"officer\"\nemail = \"oov@utrecht.example\"\n\
         [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"boss\"\nemail = \"a@b.example\"\n\
         [[recipients]]\nmunicipality = \"GM0344\"\nrole = \"mayor\"\nemail = \"a@b.example\\nBcc: x@y.example\"\n\
         [[rules]]\nmandate = \"test\"\nname = \"x\"\nkind = \"critical\"\nwindwo = \"1h\"\n\
         [[rules]]\nmandate = \"test\"\nname = \"Bad Name\"\nkind = \"threshold\"\n",
    )
    .unwrap_err();
    let text = errors.to_string();
    for needle in [
        "smtp.tls: \"none\" is only allowed towards a loopback host",
        "smtp.from",
        "smtp.password_file: required when smtp.username is set",
        "alerts.evaluate_interval: must be between 1s and 1h",
        "alerts.digest_hour: must be an hour from 0 to 23",
        "alerts.summary_lead: must be between 1h and 7d",
        "recipients[0].municipality",
        "recipients[1]: unknown variant `boss`",
        "recipients[2].email",
        "rules[0]: unknown field `windwo`",
        "rules[1].name",
        "rules[1].count",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn webhooks_are_recipients_with_a_signing_key_and_each_problem_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("hook.key");
    std::fs::write(&key, "geheim-sleutel\n").expect("key");
    private(&key);
    let key = key.display();
    let config = parse(&format!(
        "[[webhooks]]\nurl = \"https://crisis.example/onrust\"\nsecret_file = \"{key}\"\n\
         [[webhooks]]\nurl = \"http://127.0.0.1:9000/hook\"\nsecret_file = \"{key}\"\n\
         municipality = \"GM0344\"\nrole = \"mayor\"\ntimeout = \"3s\"\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let hooks: Vec<_> = config.recipients.iter().map(|r| (r.channel, r.role, &r.scope, r.address.as_str())).collect();
    let utrecht = RecipientScope::One(onrust_model::MunicipalityCode::new("GM0344").expect("code"));
    use onrust_alert::{Channel, RecipientRole};
    assert_eq!(
        hooks,
        [
            (Channel::Webhook, RecipientRole::Officer, &RecipientScope::All, "https://crisis.example/onrust"),
            (Channel::Webhook, RecipientRole::Mayor, &utrecht, "http://127.0.0.1:9000/hook"),
        ]
    );
    assert_eq!(config.webhooks.len(), 2);
    assert_eq!(config.webhooks[1].timeout, Duration::from_secs(3));

    let text = parse(&format!(
        "[[webhooks]]\nurl = \"http://crisis.example/onrust\"\nsecret_file = \"{key}\"\n\
         [[webhooks]]\nurl = \"https://user:pw@crisis.example/\"\nsecret_file = \"/nonexistent/key\"\n\
         [[webhooks]]\nurl = \"https://crisis.example/\"\nsecret_file = \"{key}\"\nmunicipality = \"Utrecht\"\n\
         [[webhooks]]\nurl = \"https://crisis.example/\"\nsecret = \"x\"\n"
    ))
    .unwrap_err()
    .to_string();
    for needle in [
        "webhooks[0].url: invalid webhook url: http is only allowed towards a loopback host",
        "webhooks[1].url: invalid webhook url: credentials in the url",
        "webhooks[1].secret_file: cannot read secret file /nonexistent/key",
        "webhooks[2].municipality",
        "webhooks[3]: unknown field `secret`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("pw@"), "no credentials echoed:\n{text}");
}

/// R2, S9, S10 at configuration time: weak producer settings, automatic
/// offset storing and switched-off verification are refused by key.
#[test]
fn kafka_settings_are_checked_key_by_key() {
    let text = parse(
        "[bus]\nkind = \"kafka\"\nbrokers = \"kafka-1:9092\"\nreplication = 0\ncompression = \"zstd\"\n\
         security_protocol = \"sasl_ssl\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"onrust\"\n\
         sasl_password_file = \"/nonexistent/kafka-pw\"\n\
         [bus.producer]\nacks = \"1\"\n[bus.consumer]\n\"enable.auto.offset.store\" = \"true\"\n\
         \"enable.ssl.certificate.verification\" = \"false\"\n",
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "bus.replication: 0 is not between 1 and 10",
        "bus.compression: \"zstd\" is not lz4, snappy, gzip or none",
        "bus.producer.acks: onrust sets acks = \"all\" itself",
        "bus.consumer.enable.auto.offset.store: onrust sets",
        "bus.consumer.enable.ssl.certificate.verification: certificate verification stays on",
        "bus.sasl_password_file: cannot read /nonexistent/kafka-pw",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let text = parse("[bus]\nkind = \"kafka\"\n").unwrap_err().to_string();
    assert!(text.contains("bus.brokers: required with kind = \"kafka\""), "{text}");
    let text = parse("[bus]\npartitions = 3\n[bus.producer]\nacks = \"all\"\n").unwrap_err().to_string();
    assert!(text.contains("bus.partitions: only used with kind = \"kafka\""), "{text}");
    assert!(text.contains("bus.producer: only used with kind = \"kafka\""), "{text}");
}

/// `onrust run --listen` follows the rule of `http.listen` (S8).
#[test]
fn another_listen_address_off_loopback_needs_the_token_file() {
    let mut http = parse("").expect("defaults").http;
    assert!(http.listen_on("127.0.0.1:8082".parse().expect("addr")).is_ok());
    let refused = http.listen_on("0.0.0.0:8081".parse().expect("addr")).expect_err("refused");
    assert!(refused.contains("0.0.0.0:8081") && refused.contains("token file"), "{refused}");
    assert_eq!(http.listen.port(), 8082, "a refused address is not taken");
    http.token_file = Some(PathBuf::from("/run/secrets/http-token"));
    assert!(http.listen_on("0.0.0.0:8081".parse().expect("addr")).is_ok());
}

/// What `run` would fail on, or be harmed by, is refused here, each
/// problem naming its entry; a password in a URL is never echoed.
#[test]
fn check_config_refuses_what_fails_or_harms_at_run_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, "").expect("write");
    private(&empty);
    let source = |id: &str, kind: &str, url: &str| {
        format!("[[sources]]\nmandate = \"test\"\nid = \"{id}\"\nkind = \"{kind}\"\nurl = \"{url}\"\n")
    };
    let sources = [
        source("lokaal", "feed", "http://127.0.0.1:8080/feed.xml"),
        source("intranet", "feed", "https://192.168.10.4/rss"),
        source("metadata", "feed", "http://169.254.169.254/latest/meta-data/"),
        source("gcp", "authority", "http://metadata.google.internal/computeMetadata/v1/"),
        source("zonder-host", "feed", "http:///x"),
        source("login", "feed", "https://jan:Geheim-Wachtwoord-42@example.org/feed"),
        source("stream", "bluesky", "wss://localhost:6008/subscribe"),
        source("goed", "feed", "https://example.org/feed"),
    ]
    .concat();
    let errors = parse(&format!("data_dir = \"/proc/self\"\n[http]\ntoken_file = \"{}\"\n{sources}", empty.display()))
        .unwrap_err();
    let text = errors.to_string();
    for needle in [
        "data_dir: /proc/self",
        "under /proc, a kernel file system",
        "http.token_file:",
        "empty-token is empty",
        "sources[0].url: 127.0.0.1 is a loopback address: the egress guard refuses it at run time",
        "sources[1].url: 192.168.10.4 is a private address",
        "sources[2].url: 169.254.169.254 is a link-local address",
        "sources[3].url: metadata.google.internal is a private-use name",
        "sources[4].url: has no host",
        "sources[5].url: carries a user name or password",
        "sources[6].url: localhost is a loopback name",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("sources[7]"), "a public source passes:\n{text}");
    assert!(!text.contains("Geheim-Wachtwoord-42") && !text.contains("jan:"), "no credentials echoed:\n{text}");
    assert_eq!(errors.0.len(), 9, "{text}");

    // A URL that does not parse is echoed without its credentials too.
    let text =
        parse(&source("kapot", "feed", "https://jan:Geheim-Wachtwoord-42@exa mple.org/")).unwrap_err().to_string();
    assert!(text.contains("sources[0].url") && !text.contains("Geheim-Wachtwoord-42"), "{text}");
    let missing = parse("[http]\ntoken_file = \"/nonexistent/onrust-token\"\n").unwrap_err().to_string();
    assert!(missing.contains("http.token_file: cannot read /nonexistent/onrust-token"), "{missing}");

    // The allow-list that tests and intranet feeds use keeps working.
    let allowed = parse(&format!(
        "[ingest]\nallow_hosts = [\"127.0.0.1\", \"localhost\"]\n{}{}",
        source("lokaal", "feed", "http://127.0.0.1:8080/feed.xml"),
        source("stream", "bluesky", "ws://localhost:6008/subscribe")
    ));
    assert!(allowed.is_ok(), "{allowed:?}");
}

/// Fair politeness (S2): a fetch may take `total_timeout` of network
/// time, so a source's interval is at least that, and the open requests
/// per host are bounded.
#[test]
fn a_poll_fits_in_its_interval_and_requests_per_host_are_bounded() {
    let config = parse("[ingest]\nmax_requests_per_host = 2\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.ingest.max_requests_per_host, 2);
    assert_eq!(parse("").unwrap_or_else(|e| panic!("{e}")).ingest.max_requests_per_host, 4);
    let text = parse(
        "[ingest]\ntotal_timeout = \"1m\"\nmax_requests_per_host = 0\n\
         [[sources]]\nmandate = \"test\"\nid = \"snel\"\nkind = \"feed\"\nurl = \"https://example.org/a\"\ninterval = \"30s\"\n\
         [[sources]]\nmandate = \"test\"\nid = \"rustig\"\nkind = \"feed\"\nurl = \"https://example.org/b\"\ninterval = \"1m\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(text.contains("ingest.max_requests_per_host: must be between 1 and 16"), "{text}");
    assert!(text.contains("sources[0].interval: 30s is shorter than ingest.total_timeout (1m)"), "{text}");
    assert!(!text.contains("sources[1]"), "{text}");
}

/// The owner-only mode a secret file must have.
fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// S13: a token file, an SMTP password file or a webhook key that other
/// users may read is refused by check-config and run (both load this),
/// naming the file, its mode and the fix.
#[test]
fn secret_files_others_can_read_are_refused_with_mode_and_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = |name: &str, mode: u32| {
        let path = dir.path().join(name);
        std::fs::write(&path, "een-geheim-van-twintig-tekens\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    };
    let token = secret("monitor.token", 0o644);
    let password = secret("smtp.password", 0o644);
    let key = secret("hook.key", 0o666);
    let text = format!(
        "[http]\ntoken_file = {token:?}\n\
         [smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nport = 2525\nfrom = \"onrust@example.org\"\n\
         username = \"onrust\"\npassword_file = {password:?}\n\
         [[webhooks]]\nurl = \"https://crisis.example/onrust\"\nsecret_file = {key:?}\n"
    );
    let errors = parse(&text).unwrap_err().to_string();
    for (field, path, mode) in [
        ("http.token_file", &token, "0644"),
        ("smtp.password_file", &password, "0644"),
        ("webhooks[0].secret_file", &key, "0666"),
    ] {
        let expected = format!("{field}: {} has mode {mode}", path.display());
        assert!(errors.contains(&expected), "missing {expected:?} in:\n{errors}");
        assert!(errors.contains(&format!("chmod 600 {}", path.display())), "{errors}");
    }
    assert!(!errors.contains("een-geheim"), "never the secret itself:\n{errors}");
    for path in [&token, &password, &key] {
        private(path);
    }
    parse(&text).unwrap_or_else(|e| panic!("owner-only secrets are fine: {e}"));
}

#[test]
fn syntax_errors_name_the_file() {
    let text = parse("data_dir = ").unwrap_err().to_string();
    assert!(text.contains("test.toml: -: not valid TOML"), "{text}");
}

#[test]
fn durations_and_defaults() {
    let config = parse("[[sources]]\nmandate = \"test\"\nid = \"nos\"\nkind = \"feed\"\nurl = \"https://feeds.nos.nl/nosnieuwsalgemeen\"\ninterval = \"5m\"\n")
        .unwrap();
    assert_eq!(config.sources[0].interval.0, Duration::from_secs(300));
    assert_eq!(config.http.listen, default_listen());
    assert_eq!(config.archive.commit_interval.0, Duration::from_secs(1));
}

/// One base for relative paths: every path in the file is relative to the
/// file's own folder, never to the working directory (the tests run in the
/// crate's folder, where none of these files exist).
#[test]
fn every_relative_path_is_relative_to_the_config_files_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("secrets")).expect("mkdir");
    for name in ["monitor.token", "smtp.password", "hook.key", "kafka.password", "ca.pem"] {
        let path = etc.join("secrets").join(name);
        std::fs::write(&path, "een-geheim-van-twintig-tekens\n").expect("write");
        private(&path);
    }
    // The shipped lexicons, reached through a folder beside the file.
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
    std::os::unix::fs::symlink(&shipped, etc.join("lexicons")).expect("symlink");
    let text = "data_dir = \"state\"\n\
                [http]\ntoken_file = \"secrets/monitor.token\"\n\
                [bus]\nkind = \"kafka\"\nbrokers = \"kafka-1:9092\"\nsecurity_protocol = \"sasl_ssl\"\n\
                sasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"onrust\"\n\
                sasl_password_file = \"secrets/kafka.password\"\nca_file = \"secrets/ca.pem\"\n\
                [classify]\nthemes_dir = \"lexicons/themes\"\nsignals_dir = \"lexicons/signals\"\n\
                escalation = \"lexicons/escalation.toml\"\n\
                gazetteer = \"lexicons/gazetteer/woonplaatsen-gemeenten-2024.csv\"\n\
                [smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"onrust@example.org\"\nusername = \"onrust\"\n\
                password_file = \"secrets/smtp.password\"\nca_file = \"secrets/ca.pem\"\n\
                [[webhooks]]\nurl = \"https://crisis.example/onrust\"\nsecret_file = \"secrets/hook.key\"\n";
    let config = Config::parse(&etc.join("onrust.toml"), &mandates::with_test_mandate(text))
        .unwrap_or_else(|e| panic!("the files beside the config file are found: {e}"));
    let at = |relative: &str| Some(etc.join(relative));
    assert_eq!(Some(config.data_dir.clone()), at("state"));
    assert_eq!(config.http.token_file, at("secrets/monitor.token"));
    assert_eq!(
        (config.bus.sasl_password_file.clone(), config.bus.ca_file.clone()),
        (at("secrets/kafka.password"), at("secrets/ca.pem"))
    );
    let smtp = config.smtp.as_ref().expect("smtp");
    assert_eq!((smtp.password_file.clone(), smtp.ca_file.clone()), (at("secrets/smtp.password"), at("secrets/ca.pem")));
    assert_eq!(Some(config.webhooks[0].secret_file.clone()), at("secrets/hook.key"));
    assert_eq!(Some(config.classify.themes_dir.clone()), at("lexicons/themes"));
    assert_eq!(Some(config.classify.gazetteer.clone()), at("lexicons/gazetteer/woonplaatsen-gemeenten-2024.csv"));
    assert_eq!(config.config_dir(), etc);
    assert_eq!(config.archive_dir(), etc.join("state/archive"), "the data folder's files follow");

    // A file that is only beside the working directory is not found.
    let elsewhere =
        Config::parse(&etc.join("onrust.toml"), &mandates::with_test_mandate("[http]\ntoken_file = \"Cargo.toml\"\n"))
            .unwrap_err()
            .to_string();
    assert!(
        elsewhere.contains(&format!("http.token_file: cannot read {}", etc.join("Cargo.toml").display())),
        "{elsewhere}"
    );
}
