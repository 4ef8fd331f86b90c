//! Reading one `t.me/s/<channel>` page: a small tag scanner, no HTML parser.
//!
//! The page is HTML that Telegram generates from a fixed template, so a full
//! HTML5 parser (and its dependency tree) buys little. What is needed is the
//! list of message blocks and, per block, a few well-known parts. The
//! scanner walks the tags once, keeps a stack of open elements by tag name
//! (an end tag closes the nearest open element of its name and everything
//! opened inside it; an end tag without one is ignored), and watches the
//! class tokens Telegram uses:
//!
//! - a message block is an element with class `tgme_widget_message` and a
//!   `data-post="<channel>/<id>"`; `service_message` marks a service message;
//! - the message's own text is the first element with class
//!   `js-message_text` that is not inside a quoted reply
//!   (`tgme_widget_message_reply`, whose quote is marked
//!   `js-message_reply_text`). Its inner HTML is taken up to the matching
//!   close tag, minus any element inside it whose class names another
//!   widget part (`tgme_*`, `js-*`, `link_preview*`): if a close tag is
//!   missing, the footer with its signature cannot leak into the text;
//! - the signature is `tgme_widget_message_from_author` (outside a reply);
//! - the date is the `datetime` of the `<time>` inside
//!   `tgme_widget_message_date`.
//!
//! Everything else (photos, videos, avatars, view counts, reactions, link
//! previews, the forwarded-from name) is never read (rule L3).
//! `<script>`, `<style>` and similar raw-text elements and comments are
//! skipped whole, so a `<` in a script is not taken for a tag.
//!
//! Bounds: the scan is linear in the page; nesting deeper than
//! [`MAX_DEPTH`] or more than [`MAX_BLOCKS`] message blocks fail the page
//! with an error that never quotes it. A page cut short yields the blocks
//! that were complete; a block still open at the end is dropped, never
//! half-read.

use chrono::{DateTime, FixedOffset};

use crate::feed::date::in_supported_range;
use crate::text::{clean, html_to_text, normalize};

/// Open elements kept at most; a page nesting deeper fails.
pub const MAX_DEPTH: usize = 512;

/// Message blocks read from one page at most (a real page has about 20).
pub const MAX_BLOCKS: usize = 1000;

/// Characters kept of a signature before it is pseudonymised.
const MAX_AUTHOR_CHARS: usize = 256;

/// Elements that never have content or a close tag.
const VOID_ELEMENTS: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"];

/// Elements whose content is text up to their close tag, never markup.
const RAW_TEXT_ELEMENTS: &[&str] =
    &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"];

/// One message block of a page.
#[derive(Clone, PartialEq)]
pub struct TelegramPost {
    /// The post id, from `data-post`.
    pub id: u64,
    /// A service message ("Channel photo updated", a pin).
    pub service: bool,
    /// The message's own text, cleaned ([`crate::text::clean`]); empty when it has none.
    pub text: String,
    /// The `datetime` of its date link; `None` when missing or invalid.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// The raw signature of a signed post, to be pseudonymised; never log it.
    pub author: Option<String>,
}

impl std::fmt::Debug for TelegramPost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signature stays out of debug output (rule L2).
        f.debug_struct("TelegramPost")
            .field("id", &self.id)
            .field("service", &self.service)
            .field("text_chars", &self.text.chars().count())
            .field("published_at", &self.published_at)
            .field("author", &self.author.as_ref().map(|_| ".."))
            .finish()
    }
}

/// What one page holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelegramPage {
    /// Complete message blocks of the channel, in page order (oldest first on t.me).
    pub posts: Vec<TelegramPost>,
    /// Message blocks whose `data-post` is not `<this channel>/<number>`.
    pub bad_post_ids: usize,
}

impl TelegramPage {
    /// The lowest post id on the page, service messages included.
    pub fn oldest_id(&self) -> Option<u64> {
        self.posts.iter().map(|p| p.id).min()
    }
}

/// Why a page could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramPageError {
    /// More open elements than [`MAX_DEPTH`].
    #[error("the page nests elements deeper than {MAX_DEPTH}")]
    TooDeep,
    /// More message blocks than [`MAX_BLOCKS`].
    #[error("the page holds more than {MAX_BLOCKS} message blocks")]
    TooManyBlocks,
}

/// Reads the message blocks of `channel` (compared ASCII case-insensitively)
/// from a `t.me/s/` page. Texts are capped at `max_text_chars`. Invalid UTF-8
/// is replaced, never refused.
pub fn parse_page(body: &[u8], channel: &str, max_text_chars: usize) -> Result<TelegramPage, TelegramPageError> {
    let html = String::from_utf8_lossy(body);
    Extractor::new(&html, channel, max_text_chars).run()
}

/// A start tag's attributes that matter here.
#[derive(Default, Clone, Copy)]
struct Attrs<'a> {
    class: Option<&'a str>,
    data_post: Option<&'a str>,
    datetime: Option<&'a str>,
}

impl Attrs<'_> {
    fn has_class(&self, token: &str) -> bool {
        self.class.is_some_and(|c| c.split_ascii_whitespace().any(|t| t == token))
    }

    /// Names another part of the message widget, never part of a text.
    fn is_widget_part(&self) -> bool {
        self.class.is_some_and(|c| {
            c.split_ascii_whitespace()
                .any(|t| t.starts_with("tgme_") || t.starts_with("js-") || t.starts_with("link_preview"))
        })
    }
}

enum Token<'a> {
    /// `<name …>`; `end` is the offset just after `>`.
    Start { name: &'a str, attrs: Attrs<'a>, self_closing: bool, start: usize, end: usize },
    /// `</name …>`; `start` is the offset of `<`, `end` just after `>`.
    End { name: &'a str, start: usize, end: usize },
}

/// Yields the tags of an HTML string, skipping text, comments, doctypes and
/// the content of raw-text elements. Stops at the first incomplete tag.
struct Tokens<'a> {
    html: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn next_token(&mut self) -> Option<Token<'a>> {
        let bytes = self.html.as_bytes();
        loop {
            let lt = self.pos + find_byte(bytes.get(self.pos..)?, b'<')?;
            let after = lt + 1;
            match bytes.get(after) {
                Some(b'!') => {
                    if bytes.get(after + 1..after + 3) == Some(b"--") {
                        let end = find_sub(bytes.get(after + 3..)?, b"-->")?;
                        self.pos = after + 3 + end + 3;
                    } else {
                        self.pos = after + find_byte(bytes.get(after..)?, b'>')? + 1;
                    }
                }
                Some(b'?') => self.pos = after + find_byte(bytes.get(after..)?, b'>')? + 1,
                Some(b'/') => {
                    let name_start = after + 1;
                    if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
                        // `</` not followed by a name: a bogus comment up to `>`.
                        self.pos = after + find_byte(bytes.get(after..)?, b'>')? + 1;
                        continue;
                    }
                    let name_end = name_start + name_len(bytes.get(name_start..)?);
                    let end = name_end + find_byte(bytes.get(name_end..)?, b'>')? + 1;
                    self.pos = end;
                    let name = self.html.get(name_start..name_end)?;
                    return Some(Token::End { name, start: lt, end });
                }
                Some(b) if b.is_ascii_alphabetic() => {
                    let name_end = after + name_len(bytes.get(after..)?);
                    let name = self.html.get(after..name_end)?;
                    let TagRest { attrs, self_closing, end } = self.attributes(name_end)?;
                    self.pos = end;
                    if !self_closing && RAW_TEXT_ELEMENTS.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                        self.skip_raw_text(name);
                    }
                    return Some(Token::Start { name, attrs, self_closing, start: lt, end });
                }
                // A lone `<` is text.
                _ => self.pos = after,
            }
        }
    }

    /// Reads attributes from `pos` up to the tag's `>`. `None` at the end of input.
    fn attributes(&self, mut pos: usize) -> Option<TagRest<'a>> {
        let bytes = self.html.as_bytes();
        let mut attrs = Attrs::default();
        let mut slash = false;
        loop {
            let b = *bytes.get(pos)?;
            if b.is_ascii_whitespace() {
                pos += 1;
                continue;
            }
            if b == b'>' {
                return Some(TagRest { attrs, self_closing: slash, end: pos + 1 });
            }
            if b == b'/' {
                slash = true;
                pos += 1;
                continue;
            }
            slash = false;
            // An attribute name: up to whitespace, `/`, `>` or `=` (a leading `=` belongs to it).
            let name_start = pos;
            pos += 1;
            while let Some(&c) = bytes.get(pos) {
                if c.is_ascii_whitespace() || matches!(c, b'/' | b'>' | b'=') {
                    break;
                }
                pos += 1;
            }
            let name = self.html.get(name_start..pos)?;
            while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
                pos += 1;
            }
            if bytes.get(pos) != Some(&b'=') {
                continue;
            }
            pos += 1;
            while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
                pos += 1;
            }
            let value = match *bytes.get(pos)? {
                quote @ (b'"' | b'\'') => {
                    let start = pos + 1;
                    let len = find_byte(bytes.get(start..)?, quote)?;
                    pos = start + len + 1;
                    self.html.get(start..start + len)?
                }
                b'>' => "",
                _ => {
                    let start = pos;
                    while let Some(&c) = bytes.get(pos) {
                        if c.is_ascii_whitespace() || c == b'>' {
                            break;
                        }
                        pos += 1;
                    }
                    self.html.get(start..pos)?
                }
            };
            if name.eq_ignore_ascii_case("class") {
                attrs.class.get_or_insert(value);
            } else if name.eq_ignore_ascii_case("data-post") {
                attrs.data_post.get_or_insert(value);
            } else if name.eq_ignore_ascii_case("datetime") {
                attrs.datetime.get_or_insert(value);
            }
        }
    }

    /// Moves past the close tag of raw-text element `name` (or to the end).
    fn skip_raw_text(&mut self, name: &str) {
        let bytes = self.html.as_bytes();
        let mut from = self.pos;
        while let Some(rest) = bytes.get(from..) {
            let Some(found) = find_sub(rest, b"</") else { break };
            let name_start = from + found + 2;
            let candidate = bytes.get(name_start..name_start + name.len());
            let boundary = bytes.get(name_start + name.len()).is_none_or(|b| !b.is_ascii_alphanumeric());
            if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) && boundary {
                // Leave the close tag to be read as an end tag.
                self.pos = from + found;
                return;
            }
            from = name_start;
        }
        self.pos = bytes.len();
    }
}

fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn find_sub(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Length of a tag name at the start of `bytes`.
fn name_len(bytes: &[u8]) -> usize {
    bytes.iter().position(|&c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>')).unwrap_or(bytes.len())
}

/// What an open element means to the extractor.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    /// The message block itself.
    Message,
    /// The message's own text; its inner HTML starts at this offset.
    OwnText(usize),
    /// The signature; its inner HTML starts at this offset.
    FromAuthor(usize),
    /// The date link.
    Date,
    /// A quoted reply.
    Reply,
    /// A widget part inside the own text, starting at this offset: cut out.
    Excluded(usize),
}

/// What follows a start tag's name.
struct TagRest<'a> {
    attrs: Attrs<'a>,
    /// The tag ended in `/>`.
    self_closing: bool,
    /// The offset after its `>`.
    end: usize,
}

struct Open<'a> {
    name: &'a str,
    role: Role,
}

/// The message block being read.
#[derive(Default)]
struct Block<'a> {
    /// `Some(id)` when `data-post` names this channel and a number.
    id: Option<u64>,
    service: bool,
    /// The own text's inner HTML once its element closed.
    text_html: Option<String>,
    /// The own text element is open.
    text_open: bool,
    /// Ranges to cut out of the own text.
    excluded: Vec<(usize, usize)>,
    author_html: Option<&'a str>,
    author_open: bool,
    datetime: Option<&'a str>,
    in_reply: usize,
    in_date: usize,
}

struct Extractor<'a> {
    html: &'a str,
    channel: &'a str,
    max_text_chars: usize,
    stack: Vec<Open<'a>>,
    block: Option<Block<'a>>,
    blocks: usize,
    page: TelegramPage,
}

impl<'a> Extractor<'a> {
    fn new(html: &'a str, channel: &'a str, max_text_chars: usize) -> Self {
        Self { html, channel, max_text_chars, stack: Vec::new(), block: None, blocks: 0, page: TelegramPage::default() }
    }

    fn run(mut self) -> Result<TelegramPage, TelegramPageError> {
        let mut tokens = Tokens { html: self.html, pos: 0 };
        while let Some(token) = tokens.next_token() {
            match token {
                Token::Start { name, attrs, self_closing, start, end } => {
                    let void = self_closing || VOID_ELEMENTS.iter().any(|v| v.eq_ignore_ascii_case(name));
                    self.start_tag(name, attrs, void, start, end)?;
                }
                Token::End { name, start, end } => self.end_tag(name, start, end),
            }
        }
        // A block still open here was cut short: it is dropped.
        Ok(self.page)
    }

    fn start_tag(
        &mut self,
        name: &'a str,
        attrs: Attrs<'a>,
        void: bool,
        start: usize,
        end: usize,
    ) -> Result<(), TelegramPageError> {
        let role = match &mut self.block {
            None => {
                if !void && attrs.has_class("tgme_widget_message") && attrs.data_post.is_some() {
                    self.blocks += 1;
                    if self.blocks > MAX_BLOCKS {
                        return Err(TelegramPageError::TooManyBlocks);
                    }
                    let id = attrs.data_post.and_then(|post| post_id(post, self.channel));
                    self.block = Some(Block { id, service: attrs.has_class("service_message"), ..Block::default() });
                    Role::Message
                } else {
                    Role::Plain
                }
            }
            Some(block) if block.text_open => {
                if !attrs.is_widget_part() {
                    Role::Plain
                } else if void {
                    block.excluded.push((start, end));
                    Role::Plain
                } else {
                    Role::Excluded(start)
                }
            }
            Some(block) if block.author_open => Role::Plain,
            Some(block) => {
                if name.eq_ignore_ascii_case("time")
                    && block.in_date > 0
                    && block.in_reply == 0
                    && let Some(datetime) = attrs.datetime
                {
                    block.datetime.get_or_insert(datetime);
                }
                if void {
                    Role::Plain
                } else if attrs.has_class("tgme_widget_message_reply") {
                    block.in_reply += 1;
                    Role::Reply
                } else if block.in_reply > 0 {
                    Role::Plain
                } else if attrs.has_class("js-message_text") && block.text_html.is_none() {
                    block.text_open = true;
                    Role::OwnText(end)
                } else if attrs.has_class("tgme_widget_message_from_author") && block.author_html.is_none() {
                    block.author_open = true;
                    Role::FromAuthor(end)
                } else if attrs.has_class("tgme_widget_message_date") {
                    block.in_date += 1;
                    Role::Date
                } else {
                    Role::Plain
                }
            }
        };
        if void {
            return Ok(());
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(TelegramPageError::TooDeep);
        }
        self.stack.push(Open { name, role });
        Ok(())
    }

    fn end_tag(&mut self, name: &str, start: usize, end: usize) {
        let Some(index) = self.stack.iter().rposition(|open| open.name.eq_ignore_ascii_case(name)) else {
            return;
        };
        while self.stack.len() > index {
            let Some(open) = self.stack.pop() else { break };
            // The matched element's close tag belongs to it; elements closed implicitly end where it starts.
            let close_end = if self.stack.len() == index { end } else { start };
            self.close(open.role, start, close_end);
        }
    }

    /// Closes an element of `role`; its content ends at `inner_end`, its close tag at `close_end`.
    fn close(&mut self, role: Role, inner_end: usize, close_end: usize) {
        if role == Role::Message {
            if let Some(block) = self.block.take() {
                self.finish(block);
            }
            return;
        }
        let Some(block) = &mut self.block else { return };
        match role {
            Role::Plain | Role::Message => {}
            Role::OwnText(inner_start) => {
                block.text_open = false;
                block.text_html = Some(cut(self.html, inner_start, inner_end, &block.excluded));
            }
            Role::FromAuthor(inner_start) => {
                block.author_open = false;
                block.author_html = self.html.get(inner_start..inner_end);
            }
            Role::Date => block.in_date = block.in_date.saturating_sub(1),
            Role::Reply => block.in_reply = block.in_reply.saturating_sub(1),
            Role::Excluded(start) => {
                if block.text_open {
                    block.excluded.push((start, close_end));
                }
            }
        }
    }

    fn finish(&mut self, block: Block<'a>) {
        let Some(id) = block.id else {
            self.page.bad_post_ids += 1;
            return;
        };
        let text = block.text_html.map(|html| clean(&html, true, self.max_text_chars)).unwrap_or_default();
        let author = block
            .author_html
            .map(|html| normalize(&html_to_text(html), MAX_AUTHOR_CHARS))
            .filter(|author| !author.is_empty());
        let published_at =
            block.datetime.and_then(|d| DateTime::parse_from_rfc3339(d.trim()).ok()).filter(in_supported_range);
        self.page.posts.push(TelegramPost { id, service: block.service, text, published_at, author });
    }
}

/// `html[start..end]` without the `excluded` ranges (sorted or not, overlapping or not).
fn cut(html: &str, start: usize, end: usize, excluded: &[(usize, usize)]) -> String {
    let mut ranges: Vec<(usize, usize)> =
        excluded.iter().map(|&(a, b)| (a.max(start), b.min(end))).filter(|(a, b)| a < b).collect();
    ranges.sort_unstable();
    let mut out = String::new();
    let mut pos = start;
    for (a, b) in ranges {
        if a > pos {
            out.push_str(html.get(pos..a).unwrap_or_default());
        }
        pos = pos.max(b);
    }
    if end > pos {
        out.push_str(html.get(pos..end).unwrap_or_default());
    }
    out
}

/// The id of `data-post="<channel>/<id>"` when it names `channel` and a number.
fn post_id(data_post: &str, channel: &str) -> Option<u64> {
    let (name, id) = data_post.trim().rsplit_once('/')?;
    if !name.eq_ignore_ascii_case(channel) || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(html: &str) -> TelegramPage {
        parse_page(html.as_bytes(), "kanaal", 1000).unwrap()
    }

    fn block(id: &str, inner: &str) -> String {
        format!("<div class=\"tgme_widget_message js-widget_message\" data-post=\"{id}\">{inner}</div>")
    }

    #[test]
    fn own_text_is_taken_and_the_reply_quote_is_not() {
        let html = block(
            "kanaal/7",
            "<a class=\"tgme_widget_message_reply\" href=\"x\"><div class=\"tgme_widget_message_text js-message_reply_text\">quote</div></a>\
             <div class=\"tgme_widget_message_text js-message_text\" dir=\"auto\">eigen <div>tekst</div> hier</div>\
             <a class=\"tgme_widget_message_date\" href=\"x\"><time datetime=\"2026-11-28T19:02:11+00:00\" class=\"time\">20:02</time></a>",
        );
        let page = parse(&html);
        assert_eq!(page.posts.len(), 1);
        assert_eq!(page.posts[0].id, 7);
        assert_eq!(page.posts[0].text, "eigen\ntekst\nhier");
        assert_eq!(page.posts[0].published_at.unwrap().to_rfc3339(), "2026-11-28T19:02:11+00:00");
    }

    #[test]
    fn a_missing_close_tag_does_not_pull_the_signature_into_the_text() {
        // The text's close tag is missing: it ends at the bubble's, the message at the wrap's.
        let html = format!(
            "<div class=\"tgme_widget_message_wrap\">{}</div>",
            block(
                "kanaal/8",
                "<div class=\"bubble\"><div class=\"tgme_widget_message_text js-message_text\">tekst\
                 <div class=\"tgme_widget_message_footer js-message_footer\"><span class=\"tgme_widget_message_from_author\">Naam</span>\
                 <span class=\"tgme_widget_message_views\">12K</span></div></div>",
            )
        );
        let page = parse(&html);
        assert_eq!(page.posts[0].text, "tekst");
        assert_eq!(page.posts[0].author, None, "inside the text, the signature is cut out, not read");
    }

    #[test]
    fn scripts_comments_and_foreign_posts() {
        let html = format!(
            "<script>if (a<b) {{ x = '<div class=\"tgme_widget_message\" data-post=\"kanaal/1\">'; }}</script><!-- <div> -->{}{}{}",
            block("ander/2", "<div class=\"js-message_text\">x</div>"),
            block("kanaal/abc", "<div class=\"js-message_text\">x</div>"),
            block("Kanaal/3", "<div class=\"js-message_text\">ok</div>"),
        );
        let page = parse(&html);
        assert_eq!(page.bad_post_ids, 2);
        assert_eq!(page.posts.iter().map(|p| p.id).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn depth_and_block_caps() {
        let deep = "<div>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse_page(deep.as_bytes(), "kanaal", 10), Err(TelegramPageError::TooDeep));
        let many = block("kanaal/1", "").repeat(MAX_BLOCKS + 1);
        assert_eq!(parse_page(many.as_bytes(), "kanaal", 10), Err(TelegramPageError::TooManyBlocks));
        // Void elements and self-closing tags do not nest.
        let flat = "<br><img src=x><span/>".repeat(MAX_DEPTH * 2);
        assert!(parse_page(flat.as_bytes(), "kanaal", 10).is_ok());
    }

    #[test]
    fn cut_handles_any_ranges() {
        assert_eq!(cut("abcdefgh", 1, 7, &[(2, 3), (2, 4), (6, 10), (0, 1)]), "bef");
        assert_eq!(cut("abc", 0, 3, &[]), "abc");
        assert_eq!(cut("abc", 2, 1, &[]), "");
    }
}
