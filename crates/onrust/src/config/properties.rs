//! The configuration loader under arbitrary input: it reads or refuses,
//! never panics; what it reads is what was written; a value out of range is
//! refused under its own key.

use std::time::Duration;

use proptest::prelude::*;

use super::http::MAX_HTTP_CONNECTIONS;
use super::*;

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/test.toml");
    Config::parse(&path, &mandates::with_test_mandate(text))
}

/// Text made of the configuration's own pieces, so that most of it is TOML
/// and gets as far as the checks.
fn config_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("[http]\n"),
        Just("[bus]\n"),
        Just("[ingest]\n"),
        Just("[archive]\n"),
        Just("[alerts]\n"),
        Just("[smtp]\n"),
        Just("[region]\n"),
        Just("[[sources]]\n"),
        Just("[[rules]]\n"),
        Just("[[webhooks]]\n"),
        Just("[[http.tokens]]\n"),
        Just("listen = \"127.0.0.1:0\"\n"),
        Just("listen = \"0.0.0.0:8080\"\n"),
        Just("max_connections = 0\n"),
        Just("max_connections = 18446744073709551615\n"),
        Just("header_timeout = \"0s\"\n"),
        Just("idle_timeout = \"99999999999999d\"\n"),
        Just("search_budget = \"1ms\"\n"),
        Just("capacity = -1\n"),
        Just("kind = \"kafka\"\n"),
        Just("kind = \"feed\"\n"),
        Just("kind = \"threshold\"\n"),
        Just("id = \"a\"\n"),
        Just("url = \"https://example.org/feed\"\n"),
        Just("url = \"http:///x\"\n"),
        Just("interval = \"1s\"\n"),
        Just("interval = \"5m\"\n"),
        Just("municipalities = [\"GM0344\", \"x\"]\n"),
        Just("name = \"r\"\nmin_level = 9\n"),
        Just("count = 0\nwindow = \"1h\"\n"),
        Just("retention = \"1s\"\n"),
        Just("data_dir = \"\"\n"),
        Just("x = 1\n"),
        Just("= \n"),
        Just("\"\n"),
        Just("[\n"),
    ];
    prop_oneof![proptest::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat()), "\\PC{0,200}",]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any text is a configuration or a list of problems, each naming the file and a key.
    #[test]
    fn any_text_is_read_or_refused_with_named_problems(text in config_text()) {
        if let Err(errors) = parse(&text) {
            prop_assert!(!errors.0.is_empty());
            for problem in &errors.0 {
                prop_assert!(!problem.key.is_empty() && !problem.message.is_empty(), "{:?}", problem);
            }
        }
    }

    /// The listener's limits are taken as written when in range, and refused under their own key when not.
    #[test]
    fn listener_limits_are_taken_in_range_and_refused_by_key_outside(
        header_ms in 0u64..700_000,
        idle_ms in 0u64..4_000_000,
        max in 0usize..200_000,
    ) {
        let text = format!(
            "[http]\nheader_timeout = \"{header_ms}ms\"\nidle_timeout = \"{idle_ms}ms\"\nmax_connections = {max}\n"
        );
        let header_ok = (100..=600_000).contains(&header_ms);
        let idle_ok = (100..=3_600_000).contains(&idle_ms);
        let max_ok = (1..=MAX_HTTP_CONNECTIONS).contains(&max);
        match parse(&text) {
            Ok(config) => {
                prop_assert!(header_ok && idle_ok && max_ok);
                let limits = config.http.connection_limits();
                prop_assert_eq!(limits.header_timeout, Duration::from_millis(header_ms));
                prop_assert_eq!(limits.idle_timeout, Duration::from_millis(idle_ms));
                prop_assert_eq!(limits.max_connections, max);
            }
            Err(errors) => {
                let keys: Vec<&str> = errors.0.iter().map(|p| p.key.as_str()).collect();
                prop_assert_eq!(keys.contains(&"http.header_timeout"), !header_ok);
                prop_assert_eq!(keys.contains(&"http.idle_timeout"), !idle_ok);
                prop_assert_eq!(keys.contains(&"http.max_connections"), !max_ok);
            }
        }
    }

    /// Feed sources read back as written, in order (intervals from 30s: a
    /// shorter one is refused, as a poll may take `ingest.total_timeout`).
    #[test]
    fn sources_read_back_as_written(
        sources in proptest::collection::btree_map("[a-z0-9_-]{1,24}", ("[a-z0-9/]{0,20}", 30u64..604_800, any::<bool>()), 0..8),
    ) {
        let mut text = String::new();
        for (id, (path, interval, enabled)) in &sources {
            text.push_str(&format!(
                "[[sources]]\nmandate = \"test\"\nid = {id:?}\nkind = \"feed\"\nurl = \"https://example.org/{path}\"\ninterval = \"{interval}s\"\nenabled = {enabled}\n"
            ));
        }
        let config = parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let read: Vec<(String, String, u64, bool)> = config
            .sources
            .iter()
            .map(|s| (s.id.clone(), s.url().to_owned(), s.interval.0.as_secs(), s.enabled))
            .collect();
        let written: Vec<(String, String, u64, bool)> = sources
            .iter()
            .map(|(id, (path, interval, enabled))| (id.clone(), format!("https://example.org/{path}"), *interval, *enabled))
            .collect();
        prop_assert_eq!(read, written);
    }
}
