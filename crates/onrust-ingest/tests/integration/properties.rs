//! Property-based tests (proptest) of what defuses hostile input at the
//! door: the XML guard (S3) and the masking of handles (L2, L3).

use onrust_ingest::links::item_url;
use onrust_ingest::text::clean;
use onrust_ingest::xml_guard::{XmlGuardError, XmlLimits, check};
use proptest::prelude::*;

/// A handle that no filler can spell: fillers have no `q`.
fn handle() -> impl Strategy<Value = String> {
    "zq[a-z0-9_]{2,14}"
}

/// Text around a handle: words, digits and punctuation, never a `q`.
fn filler() -> impl Strategy<Value = String> {
    "[a-pr-zA-PR-Z0-9 .,!?()\n]{0,40}"
}

/// Every form in which a text names an account.
fn account_reference(handle: &str, form: usize) -> String {
    let forms = [
        format!("@{handle}"),
        format!("@{handle}@mastodon.social"),
        format!("https://twitter.com/{handle}"),
        format!("x.com/{handle}/status/1790000000000000000?s=20"),
        format!("https://t.me/{handle}"),
        format!("t.me/s/{handle}/15"),
        format!("https://mastodon.social/@{handle}/113500000000000123"),
        format!("https://www.reddit.com/user/{handle}/"),
        format!("u/{handle}"),
        format!("https://www.youtube.com/@{handle}"),
        format!("youtube.com/c/{handle}"),
        format!("https://www.instagram.com/{handle}/p/C1a2B3/"),
        format!("https://www.tiktok.com/@{handle}/video/7300000000000000000"),
        format!("https://www.facebook.com/{handle}"),
        format!("bsky.app/profile/{handle}.bsky.social/post/3l3"),
    ];
    forms[form % forms.len()].clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// L2, L3: whatever surrounds it, a handle in any account form leaves
    /// `clean` masked, as plain text and inside HTML.
    #[test]
    fn no_account_reference_survives_cleaning(
        parts in prop::collection::vec((filler(), handle(), 0usize..15), 1..6),
        tail in filler(),
    ) {
        let mut text = String::new();
        let mut handles = Vec::new();
        for (before, handle, form) in &parts {
            text.push_str(before);
            text.push(' ');
            text.push_str(&account_reference(handle, *form));
            text.push(' ');
            handles.push(handle.clone());
        }
        text.push_str(&tail);
        for html in [false, true] {
            let input = if html { format!("<p>{}</p>", text.replace('&', "&amp;")) } else { text.clone() };
            let cleaned = clean(&input, html, 100_000);
            for handle in &handles {
                prop_assert!(!cleaned.contains(handle.as_str()), "{handle} in {cleaned:?}");
            }
        }
    }

    /// Cleaning never panics, respects its cap, and cleaning again changes nothing.
    #[test]
    fn cleaning_is_capped_and_idempotent(text in any::<String>(), cap in 1usize..300) {
        let once = clean(&text, false, cap);
        prop_assert!(once.chars().count() <= cap);
        prop_assert_eq!(clean(&once, false, cap), once.clone());
        let _ = clean(&text, true, cap);
    }

    /// An item's link: only http and https, never an `@` segment or a
    /// handle in a name position, and the same link a second time through.
    #[test]
    fn item_links_carry_no_account(
        handle in handle(),
        // The forms that are links (`@name` and `u/name` are ways of writing in text).
        form in prop::sample::select(vec![2usize, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14]),
        noise in "[a-z0-9/?=&#%@.:-]{0,30}") {
        let reference = account_reference(&handle, form);
        let link = if reference.starts_with("http") { reference } else { format!("https://{reference}") };
        if let Some(kept) = item_url(&link) {
            prop_assert!(!kept.contains(handle.as_str()), "{link} -> {kept}");
            prop_assert_eq!(item_url(&kept), Some(kept.clone()));
        }
        let odd = format!("https://example.org/{noise}");
        if let Some(kept) = item_url(&odd) {
            prop_assert!(kept.starts_with("https://"));
            let path = kept.split(['?', '#']).next().unwrap_or_default();
            prop_assert!(!path.split('/').any(|s| s.starts_with('@') && s.len() > 1), "{odd} -> {kept}");
            prop_assert_eq!(item_url(&kept), Some(kept.clone()));
        }
    }

    /// S3: any bytes at all are judged without a panic, and an error never
    /// quotes the document.
    #[test]
    fn the_xml_guard_judges_any_bytes_and_quotes_nothing(
        pieces in prop::collection::vec(prop_oneof![
            Just("<a>".to_owned()), Just("</a>".to_owned()), Just("<b x='1'>".to_owned()), Just("<zqcanary".to_owned()),
            Just("<!DOCTYPE zqcanary [".to_owned()), Just("<!ENTITY zqcanary \"x\">".to_owned()), Just("]>".to_owned()),
            Just("&zqcanary;".to_owned()), Just("<![CDATA[".to_owned()), Just("]]>".to_owned()), Just("<?xml version=\"1.0\"?>".to_owned()),
            Just("<!--".to_owned()), Just("-->".to_owned()), Just(">".to_owned()), Just("\"".to_owned()), "[ -~]{0,8}",
        ], 0..40),
        raw in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut doc = pieces.concat().into_bytes();
        doc.extend(raw);
        if let Err(e) = check(&doc, XmlLimits::default()) {
            prop_assert!(!e.to_string().contains("zqcanary"), "{e}");
        }
    }

    /// S3: elements nest at most `max_depth` deep and carry at most
    /// `max_attributes` attributes; an entity declaration is always refused.
    #[test]
    fn the_xml_guard_holds_its_limits(depth in 1usize..130, attributes in 0usize..130, entity in any::<bool>()) {
        let limits = XmlLimits::default();
        let attrs: String = (0..attributes).map(|i| format!(" a{i}=\"v\"")).collect();
        let mut doc = String::new();
        if entity {
            doc.push_str("<!DOCTYPE rss [<!ENTITY e \"x\">]>");
        }
        doc.push_str(&format!("<rss{attrs}>"));
        doc.push_str(&"<a>".repeat(depth - 1));
        doc.push_str(&"</a>".repeat(depth - 1));
        doc.push_str("</rss>");
        let result = check(doc.as_bytes(), limits);
        if entity {
            prop_assert!(matches!(result, Err(XmlGuardError::EntityDeclaration)), "{result:?}");
        } else if depth > limits.max_depth || attributes > limits.max_attributes {
            prop_assert!(result.is_err(), "depth {depth}, attributes {attributes}: {result:?}");
        } else {
            prop_assert!(result.is_ok(), "depth {depth}, attributes {attributes}: {result:?}");
        }
    }
}
