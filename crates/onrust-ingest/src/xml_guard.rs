//! A structural check of XML before the feed parser sees it (rule S3).
//!
//! What feed-rs 2.4 does itself (read in its `src/xml/mod.rs`, quick-xml
//! 0.41 with the `encoding` feature): it reads events with
//! `NsReader::read_resolved_event_into`, *ignores* `Event::DocType` (the
//! "ignore everything else" arm), and resolves `Event::GeneralRef` only as
//! character references or the five predefined entities
//! (`quick_xml::escape::resolve_predefined_entity`); any other entity
//! reference is kept verbatim as `&name;`. quick-xml itself never expands
//! DTD entities and never loads external ones. So feed-rs is not vulnerable
//! to billion laughs or XXE as such; a feed with an internal subset merely
//! shows `&lol9;` in its text.
//!
//! We still refuse such documents here, because a DOCTYPE declaring entities
//! has no business in a news feed and is a sign of an attack (or of a later
//! parser change that would make it one), and because feed-rs has no limit
//! on nesting depth or attribute count. The check streams over the bytes with
//! quick-xml, borrowing from the input, so memory stays bounded by the input.
//! An external DTD reference without entity declarations (old RSS 0.91 feeds
//! carry `<!DOCTYPE rss SYSTEM "...rss-0.91.dtd">`) is allowed: nothing
//! fetches it.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Caps for [`check`].
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    /// Maximum element nesting depth.
    pub max_depth: usize,
    /// Maximum attributes on one element.
    pub max_attributes: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self { max_depth: 64, max_attributes: 64 }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlGuardError {
    /// The DOCTYPE declares entities (billion laughs, XXE).
    #[error("the document type declares entities, which feeds never need (possible billion-laughs or xxe attack)")]
    EntityDeclaration,
    /// Elements nest too deep.
    #[error("elements nest deeper than {0} levels")]
    TooDeep(usize),
    /// An element has too many attributes.
    #[error("an element has more than {0} attributes")]
    TooManyAttributes(usize),
    /// The XML is not well-formed.
    #[error("malformed xml at byte {position}: {message}")]
    Malformed {
        /// Byte offset of the error.
        position: u64,
        /// What kind of error, from a fixed set (see [`describe_xml_error`]).
        message: &'static str,
        /// Does the document end before it is complete?
        truncated: bool,
    },
}

/// A fixed description of a quick-xml error, and whether it means the document
/// is cut short.
///
/// quick-xml's own messages quote tag names, entity names and declaration
/// text from the document, which is written by strangers and may contain
/// handles (rule L2); errors end up in logs, so only the category is kept.
pub fn describe_xml_error(e: &quick_xml::Error) -> (&'static str, bool) {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match e {
        quick_xml::Error::Io(_) => ("i/o error while reading xml", false),
        quick_xml::Error::Syntax(syntax) => match syntax {
            SyntaxError::InvalidBangMarkup => ("invalid markup after '<!'", false),
            SyntaxError::UnclosedPI => ("unclosed processing instruction", true),
            SyntaxError::UnclosedXmlDecl => ("unclosed xml declaration", true),
            SyntaxError::UnclosedComment => ("unclosed comment", true),
            SyntaxError::UnclosedDoctype => ("unclosed doctype", true),
            SyntaxError::UnclosedCData => ("unclosed cdata section", true),
            SyntaxError::UnclosedTag => ("unclosed tag", true),
            SyntaxError::UnclosedSingleQuotedAttributeValue | SyntaxError::UnclosedDoubleQuotedAttributeValue => {
                ("unclosed attribute value", true)
            }
        },
        quick_xml::Error::IllFormed(ill) => match ill {
            IllFormedError::MissingEndTag(_) => ("missing end tag", true),
            IllFormedError::UnmatchedEndTag(_) => ("end tag without start tag", false),
            IllFormedError::MismatchedEndTag { .. } => ("end tag does not match the start tag", false),
            IllFormedError::MissingDeclVersion(_) | IllFormedError::UnknownVersion => {
                ("invalid version in the xml declaration", false)
            }
            IllFormedError::MissingDoctypeName => ("doctype without a name", false),
            IllFormedError::DoubleHyphenInComment => ("'--' inside a comment", false),
            IllFormedError::UnclosedReference => ("unclosed entity or character reference", false),
        },
        quick_xml::Error::InvalidAttr(_) => ("invalid attribute", false),
        quick_xml::Error::Encoding(_) => ("invalid text encoding", false),
        quick_xml::Error::Escape(_) => ("invalid entity or character reference", false),
        quick_xml::Error::Namespace(_) => ("invalid namespace", false),
    }
}

/// Checks `bytes` for entity declarations, nesting depth and attribute count.
pub fn check(bytes: &[u8], limits: XmlLimits) -> Result<(), XmlGuardError> {
    let mut reader = Reader::from_reader(bytes);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    let mut depth = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| {
            let (message, truncated) = describe_xml_error(&e);
            XmlGuardError::Malformed { position: reader.error_position(), message, truncated }
        })?;
        match event {
            Event::DocType(doctype) if contains_ci(doctype.as_ref(), b"<!entity") => {
                return Err(XmlGuardError::EntityDeclaration);
            }
            Event::Start(start) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(XmlGuardError::TooDeep(limits.max_depth));
                }
                check_attributes(start.attributes().count(), limits)?;
            }
            Event::Empty(empty) => {
                if depth + 1 > limits.max_depth {
                    return Err(XmlGuardError::TooDeep(limits.max_depth));
                }
                check_attributes(empty.attributes().count(), limits)?;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// Finds the first well-formedness error in `bytes`, checking end-tag names
/// and unclosed elements too (which [`check`] leaves to the feed parser).
///
/// Used to describe a feed-rs XML error by its position and category only,
/// because feed-rs's own message quotes the document.
pub fn first_error(bytes: &[u8]) -> Option<XmlGuardError> {
    let mut reader = Reader::from_reader(bytes);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.trim_text(false);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Err(e) => {
                let (message, truncated) = describe_xml_error(&e);
                return Some(XmlGuardError::Malformed { position: reader.error_position(), message, truncated });
            }
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) if depth > 0 => {
                return Some(XmlGuardError::Malformed {
                    position: reader.buffer_position(),
                    message: "missing end tag",
                    truncated: true,
                });
            }
            Ok(Event::Eof) => return None,
            Ok(_) => {}
        }
    }
}

fn check_attributes(count: usize, limits: XmlLimits) -> Result<(), XmlGuardError> {
    if count > limits.max_attributes { Err(XmlGuardError::TooManyAttributes(limits.max_attributes)) } else { Ok(()) }
}

fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title></channel></rss>"#;

    const XXE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title></item></channel></rss>"#;

    #[test]
    fn entity_declarations_are_rejected_fast() {
        for doc in [BILLION_LAUGHS, XXE] {
            let start = Instant::now();
            assert_eq!(check(doc.as_bytes(), XmlLimits::default()), Err(XmlGuardError::EntityDeclaration));
            assert!(start.elapsed() < Duration::from_millis(100));
        }
    }

    #[test]
    fn external_dtd_without_entities_is_fine() {
        let doc = r#"<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel/></rss>"#;
        assert_eq!(check(doc.as_bytes(), XmlLimits::default()), Ok(()));
    }

    #[test]
    fn depth_and_attributes_are_capped() {
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert_eq!(check(deep.as_bytes(), XmlLimits::default()), Err(XmlGuardError::TooDeep(64)));
        let attrs: String = (0..100).map(|i| format!(" a{i}=\"x\"")).collect();
        let wide = format!("<rss{attrs}></rss>");
        assert_eq!(check(wide.as_bytes(), XmlLimits::default()), Err(XmlGuardError::TooManyAttributes(64)));
        let ok = format!("{}{}", "<a>".repeat(60), "</a>".repeat(60));
        assert_eq!(check(ok.as_bytes(), XmlLimits::default()), Ok(()));
    }

    #[test]
    fn malformed_messages_quote_nothing_from_the_document() {
        let docs = [
            "<?xml version=\"canary_handle_77\"?><rss/>",
            "<rss><canary_handle_77>",
            "<rss></canary_handle_77></rss>",
            "<rss><!-- canary_handle_77 -- x --></rss>",
            "<rss a=\"canary_handle_77></rss>",
        ];
        for doc in docs {
            let Err(err) = check(doc.as_bytes(), XmlLimits::default()) else {
                continue;
            };
            assert!(!err.to_string().contains("canary_handle_77"), "{doc}: {err}");
        }
        let err = check(b"<rss a=\"canary_handle_77></rss>", XmlLimits::default()).unwrap_err();
        assert!(matches!(err, XmlGuardError::Malformed { truncated: true, .. }), "{err}");
    }
}
