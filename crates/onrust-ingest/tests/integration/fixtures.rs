use std::path::PathBuf;

use chrono::Utc;
use onrust_ingest::feed::{ParseOptions, parse_feed};
use onrust_model::SourceId;

fn fixtures_dir() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../tests/fixtures/feeds/feed-rs")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn every_fixture_parses_or_fails_clearly_and_keys_are_stable() {
    let source = SourceId::new("fixtures").unwrap();
    let opts = ParseOptions::default();
    let files = fixture_files();
    assert!(files.len() >= 60, "expected the feed-rs fixtures, found {}", files.len());
    let mut with_items = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        match parse_feed(&bytes, &source, Utc::now(), &opts) {
            Ok(feed) => {
                let again = parse_feed(&bytes, &source, Utc::now(), &opts).unwrap();
                let keys: Vec<&str> = feed.items.iter().map(|i| i.dedup_key.as_str()).collect();
                let keys_again: Vec<&str> = again.items.iter().map(|i| i.dedup_key.as_str()).collect();
                assert_eq!(keys, keys_again, "{name}: dedup keys differ between parses");
                for item in &feed.items {
                    assert!(
                        item.url.as_deref().is_none_or(|u| u.starts_with("http://") || u.starts_with("https://")),
                        "{name}"
                    );
                    assert!(!item.text.contains("<script"), "{name}: markup left in text");
                    assert!(item.title.as_deref().is_none_or(|t| t.chars().count() <= 500), "{name}");
                }
                if !feed.items.is_empty() {
                    with_items += 1;
                }
            }
            Err(e) => {
                let message = e.to_string();
                assert!(!message.is_empty(), "{name}");
                eprintln!("{name}: {message}");
            }
        }
    }
    assert!(with_items >= 50, "only {with_items} fixtures yielded items");
}

#[test]
fn latin1_feed_is_decoded_from_its_declaration() {
    let bytes = std::fs::read(fixtures_dir().join("rss_0.91_encoding_1.xml")).unwrap();
    let feed = parse_feed(&bytes, &SourceId::new("f").unwrap(), Utc::now(), &ParseOptions::default()).unwrap();
    let all: String = feed.items.iter().map(|i| format!("{} {}", i.title.as_deref().unwrap_or(""), i.text)).collect();
    assert!(all.contains("Parâmetros") || all.contains("técnicas"), "{all}");
    assert!(!all.contains('\u{FFFD}'));
}
