//! Plain text at ingest (rules S4, L3).
//!
//! Feed content is HTML written by strangers. Rather than keep it and escape
//! it everywhere downstream, it is turned into plain text here, once: tags
//! are dropped, `<script>`/`<style>` and comments are removed with their
//! content, entities are decoded. A decoded `&lt;script&gt;` becomes the
//! *text* `<script>`, which is inert because every later stage treats the
//! field as text, never as markup. The converter is a small hand-written state
//! machine: it never fails, never panics and is linear in the input.
//!
//! Feed text goes through [`clean`], which applies the steps in the only safe
//! order (mentions are masked after control characters are stripped).

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// Tags whose start or end is rendered as a line break.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "br",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "tr",
    "table",
    "blockquote",
    "pre",
    "hr",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "dd",
    "dt",
];

/// Tags removed together with everything up to their closing tag.
const RAW_TEXT_TAGS: &[&str] = &["script", "style", "noscript", "template", "iframe", "object", "svg"];

/// Converts an HTML fragment to plain text.
///
/// Drops `<script>`, `<style>` (and a few other raw-content elements) and
/// comments entirely, renders block tags as newlines, drops all other tags
/// and decodes entities (the common named ones and all numeric ones).
/// Whitespace is not collapsed here; use [`normalize`] afterwards.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('&') {
            let (decoded, used) = decode_entity(rest);
            match decoded {
                Some(text) => out.push_str(&text),
                None => out.push('&'),
            }
            rest = &rest[used..];
            continue;
        }
        rest = consume_markup(rest, &mut out);
    }
    out.push_str(rest);
    out
}

/// Handles `rest`, which starts with `<`; returns what follows the markup.
fn consume_markup<'a>(rest: &'a str, out: &mut String) -> &'a str {
    let after = &rest[1..];
    if let Some(comment) = after.strip_prefix("!--") {
        return comment.find("-->").map_or("", |end| &comment[end + 3..]);
    }
    let first = after.chars().next();
    let is_tag = matches!(first, Some(c) if c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
    if !is_tag {
        // A lone '<' as in "a < b" is text.
        out.push('<');
        return after;
    }
    let Some(tag_len) = tag_end(after) else {
        // Unterminated tag: drop the rest rather than leak markup.
        return "";
    };
    let tag = &after[..tag_len];
    let remaining = &after[tag_len + 1..];
    let closing = tag.starts_with('/');
    let name: String = tag
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if !closing && !tag.ends_with('/') && RAW_TEXT_TAGS.contains(&name.as_str()) {
        return skip_raw_text(remaining, &name);
    }
    if BLOCK_TAGS.contains(&name.as_str()) {
        out.push('\n');
    }
    remaining
}

/// Index of the `>` that ends the tag starting at `s`, honouring quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, _) => {}
        }
    }
    None
}

/// Skips everything up to and including `</name ...>` (ASCII case-insensitive).
fn skip_raw_text<'a>(s: &'a str, name: &str) -> &'a str {
    let needle = format!("</{name}");
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(pos) = find_ascii_ci(&bytes[from..], needle.as_bytes()) {
        let start = from + pos;
        let after = start + needle.len();
        // `</scripts>` is not the end of `<script>`.
        let boundary = bytes.get(after).is_none_or(|b| !b.is_ascii_alphanumeric());
        if boundary {
            return s[after..].find('>').map_or("", |end| &s[after + end + 1..]);
        }
        from = after;
    }
    ""
}

fn find_ascii_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (0..=haystack.len() - needle.len()).find(|&i| haystack[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Decodes the entity at the start of `s` (which starts with `&`).
/// Returns the decoded text (None when it is not a known entity) and the bytes consumed.
fn decode_entity(s: &str) -> (Option<String>, usize) {
    let body_end = s.as_bytes().iter().take(34).position(|&b| b == b';');
    let Some(end) = body_end else {
        return (None, 1);
    };
    let body = &s[1..end];
    let decoded = if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        code.map(|c| char::from_u32(c).filter(|&ch| ch != '\0').unwrap_or('\u{FFFD}').to_string())
    } else {
        named_entity(body).map(str::to_owned)
    };
    match decoded {
        Some(text) => (Some(text), end + 1),
        None => (None, 1),
    }
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" | "AMP" => "&",
        "lt" | "LT" => "<",
        "gt" | "GT" => ">",
        "quot" | "QUOT" => "\"",
        "apos" => "'",
        "nbsp" => "\u{a0}",
        "shy" => "",
        "ndash" => "–",
        "mdash" => "—",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "sbquo" => "‚",
        "ldquo" => "“",
        "rdquo" => "”",
        "bdquo" => "„",
        "laquo" => "«",
        "raquo" => "»",
        "bull" => "•",
        "middot" => "·",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "euro" => "€",
        "pound" => "£",
        "deg" => "°",
        "times" => "×",
        "eacute" => "é",
        "Eacute" => "É",
        "egrave" => "è",
        "euml" => "ë",
        "Euml" => "Ë",
        "ecirc" => "ê",
        "aacute" => "á",
        "agrave" => "à",
        "auml" => "ä",
        "Auml" => "Ä",
        "acirc" => "â",
        "iuml" => "ï",
        "iacute" => "í",
        "oacute" => "ó",
        "ouml" => "ö",
        "Ouml" => "Ö",
        "ocirc" => "ô",
        "uuml" => "ü",
        "Uuml" => "Ü",
        "uacute" => "ú",
        "ccedil" => "ç",
        "ntilde" => "ñ",
        "szlig" => "ß",
        "zwj" => "\u{200d}",
        "zwnj" => "\u{200c}",
        _ => return None,
    })
}

/// Is `c` a character we never keep: C0/C1 controls (except `\n`, `\t`) and
/// the bidi embedding, override, isolate and mark characters (one list for
/// all of onrust, `onrust_model::is_hidden_char`).
fn is_stripped(c: char) -> bool {
    onrust_model::is_hidden_char(c)
}

/// Printable ASCII with single spaces between words (and none at either
/// end): what [`normalize`] gives back unchanged, and most texts are.
/// Checked with whole-slice searches (vectorised) instead of a loop per
/// character.
fn is_normal_ascii(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().all(|&b| (0x20..0x7f).contains(&b))
        && bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && !s.contains("  ")
}

/// What one pass over the bytes says a text may need from [`normalize`].
struct Scan {
    carriage_return: bool,
    /// A C0 control other than `\n`, `\t` and `\r`, DEL, or the first byte
    /// of a character that may be a C1 control or a bidi character (U+0080–
    /// U+009F start with 0xC2, U+061C with 0xD8, the bidi marks with 0xE2).
    maybe_stripped: bool,
    /// A character from U+0300 on (first byte 0xCC or above): the first that
    /// can be a combining mark or otherwise not in NFC.
    maybe_not_nfc: bool,
}

/// Reads `s` once, byte by byte; the checks it clears are skipped (most
/// texts are printable ASCII and Latin-1 letters with at most a few emoji).
fn scan(s: &str) -> Scan {
    let mut found = Scan { carriage_return: false, maybe_stripped: false, maybe_not_nfc: false };
    for &b in s.as_bytes() {
        match b {
            b'\r' => found.carriage_return = true,
            b'\n' | b'\t' => {}
            0x00..=0x1f | 0x7f | 0xc2 | 0xd8 | 0xe2 => found.maybe_stripped = true,
            _ => {}
        }
        if b >= 0xcc {
            found.maybe_not_nfc = true;
        }
    }
    found
}

/// Normalises text for the bus: strips C0/C1 controls except `\n` and `\t`
/// (`\r` and `\r\n` become `\n`), strips bidi overrides, isolates and marks,
/// applies NFC, collapses every run of horizontal whitespace to one space,
/// keeps at most one blank line, trims, and caps the result at `max_chars`
/// characters (on a character boundary).
pub fn normalize(s: &str, max_chars: usize) -> String {
    // Spaces at either end go whatever else the text needs.
    let trimmed = s.trim_matches(' ');
    if is_normal_ascii(trimmed) {
        return cap_chars(trimmed.to_owned(), max_chars);
    }
    // Fast paths: most feed text has no CR, no stripped characters and is already NFC.
    let found = scan(s);
    let owned;
    let mut cleaned: &str = s;
    if found.carriage_return {
        owned = cleaned.replace("\r\n", "\n").replace('\r', "\n");
        cleaned = &owned;
    }
    let filtered;
    if found.maybe_stripped && cleaned.chars().any(is_stripped) {
        filtered = cleaned.chars().filter(|&c| !is_stripped(c)).collect::<String>();
        cleaned = &filtered;
    }
    let composed;
    if found.maybe_not_nfc
        && unicode_normalization::is_nfc_quick(cleaned.chars()) != unicode_normalization::IsNormalized::Yes
    {
        composed = cleaned.nfc().collect::<String>();
        cleaned = &composed;
    }

    let mut out = String::with_capacity(cleaned.len());
    let mut pending_space = false;
    let mut newlines = 0usize;
    // Words are copied whole, from the first character after white space to
    // the next white space; only the white space between them is rewritten.
    let mut word_start: Option<usize> = None;
    for (at, c) in cleaned.char_indices() {
        if !c.is_whitespace() {
            if word_start.is_none() {
                if !out.is_empty() {
                    if newlines > 0 {
                        out.push_str(if newlines > 1 { "\n\n" } else { "\n" });
                    } else if pending_space {
                        out.push(' ');
                    }
                }
                newlines = 0;
                pending_space = false;
                word_start = Some(at);
            }
            continue;
        }
        if let Some(start) = word_start.take() {
            out.push_str(&cleaned[start..at]);
        }
        if c == '\n' {
            newlines += 1;
            pending_space = false;
        } else {
            pending_space = true;
        }
    }
    if let Some(start) = word_start {
        out.push_str(&cleaned[start..]);
    }

    cap_chars(out, max_chars)
}

/// The whole ingest text pipeline, in the one safe order: HTML to text (when
/// `is_html`), [`normalize`], [`mask_mentions`], then the cap of `max_chars`.
///
/// Masking must come after normalising: a control or bidi character between
/// `@` and the handle (`@\u{200E}jan`) hides the mention from the masker and
/// is only stripped by [`normalize`], which would leave `@jan` in the stored
/// text (rule L3).
pub fn clean(html_or_text: &str, is_html: bool, max_chars: usize) -> String {
    let plain;
    let text = if is_html {
        plain = html_to_text(html_or_text);
        plain.as_str()
    } else {
        html_or_text
    };
    // Bound the work of masking; a cut inside a handle still masks what remains of it.
    let normalized = normalize(text, max_chars.saturating_mul(4).saturating_add(64));
    let masked = match masked_mentions(&normalized) {
        Cow::Borrowed(_) => normalized,
        Cow::Owned(masked) => masked,
    };
    cap_chars(masked, max_chars)
}

/// Cuts `s` to at most `max_chars` characters (on a character boundary), trimming trailing whitespace.
fn cap_chars(s: String, max_chars: usize) -> String {
    // A character is at least one byte: no need to count them.
    if s.len() <= max_chars {
        return s;
    }
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => s[..cut].trim_end().to_owned(),
        None => s,
    }
}

/// Replaces @mentions by the placeholder `@[user]` (rule L3).
///
/// A mention is an `@` at the start of the text or after a character that is
/// not a letter, digit, `_`, `.`, `-` or `@`, followed by a handle of letters,
/// digits and `_` (and, inside the handle, `.` or `-`), optionally followed by
/// `@instance.domain` (Mastodon/fediverse form). An `@` preceded by a letter
/// or digit is part of an e-mail address (`info@gemeente.nl`) and is left
/// alone: such addresses are overwhelmingly organisational contact addresses
/// in news text, and masking them would damage the text more than it
/// protects anyone.
///
/// Links that name an account are masked first, by [`crate::links::mask_in_text`]
/// (`twitter.com/[user]`, `t.me/s/[user]/15`), then Reddit's `u/name`, then
/// the mentions.
pub fn mask_mentions(s: &str) -> String {
    masked_mentions(s).into_owned()
}

/// [`mask_mentions`], borrowing `s` back when there is nothing to mask (most texts).
fn masked_mentions(s: &str) -> Cow<'_, str> {
    let links_masked = crate::links::mask_in_text(s);
    let users_masked = match mask_reddit_users(&links_masked) {
        Cow::Borrowed(_) => links_masked,
        Cow::Owned(masked) => Cow::Owned(masked),
    };
    if !users_masked.contains('@') {
        return users_masked;
    }
    let s = users_masked.as_ref();
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let preceded_ok = i == 0 || !is_handle_context(chars[i - 1]);
        if c == '@' && preceded_ok {
            let end = handle_end(&chars, i + 1);
            if end > i + 1 {
                // Optional @instance.domain, and whatever else is glued on
                // with an `@` (`@jan@x`): once `@jan` is `@[user]`, the `]`
                // would make a glued `@x` a mention of its own, so masking
                // it now keeps cleaning twice the same as once.
                let mut next = end;
                while chars.get(next) == Some(&'@') {
                    let glued = domain_end(&chars, next + 1).max(handle_end(&chars, next + 1));
                    if glued == next + 1 {
                        break;
                    }
                    next = glued;
                }
                out.push_str("@[user]");
                i = next;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(out)
}

/// Replaces Reddit's user references, `u/name` and `/u/name` (also inside a
/// link, and `/user/name`), by `u/[user]` (rules L2, L3): a subreddit's
/// feed signs every post "submitted by /u/name".
fn mask_reddit_users(s: &str) -> Cow<'_, str> {
    if !s.contains("u/") && !s.contains("/user/") {
        return Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let at_word_start = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let prefix = if chars[i..].starts_with(&['u', '/']) && at_word_start {
            2
        } else if chars[i..].starts_with(&['u', 's', 'e', 'r', '/']) && i > 0 && chars[i - 1] == '/' {
            5
        } else {
            0
        };
        if prefix > 0 {
            let start = i + prefix;
            let end = chars[start..]
                .iter()
                .position(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-')))
                .map_or(chars.len(), |p| start + p);
            if end > start {
                out.extend(&chars[i..start]);
                out.push_str("[user]");
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// Characters that make an `@` part of a word (an e-mail address) rather than a mention.
/// A second `@` is not one of them: `@@jan` still hides `jan`.
fn is_handle_context(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '+')
}

/// End of a handle starting at `start`: word characters, with `.`/`-` allowed inside.
fn handle_end(chars: &[char], start: usize) -> usize {
    let mut end = start;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            i += 1;
            end = i;
        } else if matches!(c, '.' | '-') && i > start {
            i += 1;
        } else {
            break;
        }
    }
    end
}

/// End of a domain starting at `start` that contains at least one dot inside.
fn domain_end(chars: &[char], start: usize) -> usize {
    let mut end = start;
    let mut i = start;
    let mut dots = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '-' {
            i += 1;
            end = i;
        } else if c == '.' && i > start {
            dots += 1;
            i += 1;
        } else {
            break;
        }
    }
    if dots == 0 { start } else { end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_and_style_are_dropped() {
        assert_eq!(html_to_text("<script>alert(1)</script>hi"), "hi");
        assert_eq!(html_to_text("<SCRIPT type=x>a</ScRiPt >b"), "b");
        assert_eq!(html_to_text("<style>p{}</style>x<!-- <b>c</b> -->y"), "xy");
        assert_eq!(html_to_text("a<script>never closed"), "a");
        assert_eq!(html_to_text("<img src=x onerror=alert(1)>z"), "z");
        assert_eq!(html_to_text("<a href=\"a>b\">link</a>"), "link");
    }

    #[test]
    fn escaped_script_becomes_inert_text() {
        let text = normalize(&html_to_text("&lt;script&gt;alert(1)&lt;/script&gt;"), 100);
        assert_eq!(text, "<script>alert(1)</script>");
        // Running it through again must not execute or drop anything: it is plain text now.
        assert!(!html_to_text("<p>&lt;b&gt;</p>").contains("<p>"));
    }

    #[test]
    fn blocks_become_newlines_and_entities_decode() {
        let text = normalize(&html_to_text("<p>Eén &amp; twee</p><p>drie&nbsp;&#233;&#x20AC;</p>&bogus; a < b"), 100);
        assert_eq!(text, "Eén & twee\n\ndrie é€\n&bogus; a < b");
        assert_eq!(html_to_text("&#0;&#xD800;&#99999999;"), "\u{FFFD}\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn normalize_strips_controls_and_bidi() {
        let s = "a\u{202E}b\u{2066}c\u{200F}d\u{0}e\u{85}f\u{7}\tg";
        assert_eq!(normalize(s, 100), "abcdef g");
    }

    #[test]
    fn normalize_nfc_whitespace_and_cap() {
        assert_eq!(normalize("e\u{301}", 10), "é");
        assert_eq!(normalize("  a  \n\n\n\n b \r\n c  ", 100), "a\n\nb\nc");
        assert_eq!(normalize("ééééé", 3), "ééé");
        assert_eq!(normalize("ab cd", 3), "ab");
        assert_eq!(normalize("", 3), "");
    }

    #[test]
    fn reddit_user_references_are_masked_in_text_and_links() {
        assert_eq!(mask_mentions("submitted by /u/llogiq [link]"), "submitted by /u/[user] [link]");
        assert_eq!(mask_mentions("zie u/jan_1, en r/rust"), "zie u/[user], en r/rust");
        assert_eq!(
            mask_mentions("https://www.reddit.com/user/Piet-2/ en https://old.reddit.com/u/x"),
            "https://www.reddit.com/user/[user]/ en https://old.reddit.com/u/[user]"
        );
        assert_eq!(mask_mentions("menu/kaart en au/nl"), "menu/kaart en au/nl", "not inside a word");
    }

    #[test]
    fn account_links_are_masked_but_not_the_rest_of_the_link() {
        assert_eq!(
            mask_mentions("volg https://t.me/canary_handle_77 of t.me/s/kanaal_2/15!"),
            "volg https://t.me/[user] of t.me/s/[user]/15!"
        );
        assert_eq!(
            mask_mentions("zie bsky.app/profile/jan.bsky.social/post/3l3 en bsky.app/profile/did:plc:abc12"),
            "zie bsky.app/profile/[user]/post/3l3 en bsky.app/profile/[user]"
        );
        assert_eq!(mask_mentions("https://mastodon.nl/@jan/1234"), "https://mastodon.nl/@[user]/1234");
        assert_eq!(mask_mentions("telegram.me/piet."), "telegram.me/[user].");
        assert_eq!(mask_mentions("mijn chat.me/jan en t.me/"), "mijn chat.me/jan en t.me/", "other hosts; no name");
        // Another host that ends in the marker does not stop the search for later links.
        assert_eq!(mask_mentions("zie meet.me/x en t.me/canary_handle_77"), "zie meet.me/x en t.me/[user]");
        assert_eq!(
            mask_mentions("https://t.me/a about.me/x https://t.me/other_one"),
            "https://t.me/[user] about.me/x https://t.me/[user]"
        );
        assert_eq!(mask_mentions("T.ME/Canary en BSKY.APP/profile/Jan"), "T.ME/[user] en BSKY.APP/profile/[user]");
        assert_eq!(mask_mentions("é t.me/ü_ß!"), "é t.me/[user]!", "names beyond ascii, offsets intact");
        // Linear: a long text full of markers is masked quickly.
        let long = "t.me/a xtelegram.me/ ".repeat(20_000);
        let started = std::time::Instant::now();
        let masked = mask_mentions(&long);
        assert_eq!(masked.matches("t.me/[user]").count(), 20_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn mentions_are_masked_but_not_email() {
        assert_eq!(mask_mentions("hoi @jan_1 en @piet@mastodon.social!"), "hoi @[user] en @[user]!");
        assert_eq!(mask_mentions("(@a.b.) mail info@gemeente.nl"), "(@[user].) mail info@gemeente.nl");
        assert_eq!(mask_mentions("@ alleen en @"), "@ alleen en @");
        // An instance without a dot is glued on too: left, it became a mention of its own on a second pass.
        assert_eq!(mask_mentions("@user@host"), "@[user]");
        assert_eq!(mask_mentions("@a@b@c.nl@d en info@x"), "@[user] en info@x");
        let once = clean("@A@a", false, 9);
        assert_eq!((once.as_str(), clean(&once, false, 9).as_str()), ("@[user]", "@[user]"), "cleaning twice is once");
        assert_eq!(mask_mentions("@@jan en @@@piet"), "@@[user] en @@@[user]");
    }

    #[test]
    fn clean_masks_mentions_hidden_by_stripped_characters() {
        for hidden in ["@\u{200E}jan", "@\u{202E}jan", "@\u{0007}jan", "@\u{2066}jan\u{2069}", "@\u{0}jan"] {
            let text = format!("oproep van {hidden} vandaag");
            assert_eq!(clean(&text, false, 100), "oproep van @[user] vandaag", "{hidden:?}");
            assert_eq!(clean(&format!("<p>{text}</p>"), true, 100), "oproep van @[user] vandaag", "{hidden:?}");
        }
        // Entities that decode to stripped characters are caught too.
        assert_eq!(clean("@&#x200E;jan", true, 100), "@[user]");
        assert_eq!(clean("<b>@</b>jan", true, 100), "@[user]");
    }

    #[test]
    fn clean_caps_after_masking() {
        assert_eq!(clean("@a @b @c", false, 9), "@[user] @");
        let long_handle = format!("@{} tekst", "x".repeat(50));
        assert_eq!(clean(&long_handle, false, 20), "@[user] tekst");
        assert_eq!(clean("<p>Eén &amp; twee</p>", true, 3), "Eén");
        assert_eq!(clean("a\u{202E}b <i>c</i>", false, 100), "ab <i>c</i>");
    }

    /// [`normalize`]'s white-space rule, one character at a time: the plain
    /// definition the word-copying loop must agree with.
    fn collapse_by_character(s: &str) -> String {
        let mut out = String::new();
        let mut pending_space = false;
        let mut newlines = 0usize;
        for c in s.chars() {
            if c == '\n' {
                newlines += 1;
                pending_space = false;
                continue;
            }
            if c.is_whitespace() {
                pending_space = true;
                continue;
            }
            if !out.is_empty() {
                if newlines > 0 {
                    out.push_str(if newlines > 1 { "\n\n" } else { "\n" });
                } else if pending_space {
                    out.push(' ');
                }
            }
            newlines = 0;
            pending_space = false;
            out.push(c);
        }
        out
    }

    #[test]
    fn every_hidden_character_is_stripped_alone() {
        let hidden = (0..=0x10_ffff_u32).filter_map(char::from_u32).filter(|&c| is_stripped(c) && c != '\r');
        let mut checked = 0;
        for c in hidden {
            assert_eq!(normalize(&format!("a{c}b"), 100), "ab", "U+{:04X}", u32::from(c));
            checked += 1;
        }
        assert!(checked > 60, "{checked}");
    }

    proptest::proptest! {
        #[test]
        fn normalize_is_its_definition_step_by_step(
            text in "([ \t\n\r\u{0B}\u{0C}\u{85}\u{A0}\u{2003}\u{3000}]{0,3}[a-zé€😀\u{7}\u{301}\u{202E}\u{200E}\u{61C}]{0,3}){0,12}"
        ) {
            // Each step of the definition on its own, on every text.
            let lines = text.replace("\r\n", "\n").replace('\r', "\n");
            let kept: String = lines.chars().filter(|&c| !is_stripped(c)).collect();
            let composed: String = kept.nfc().collect();
            proptest::prop_assert_eq!(normalize(&text, 1_000), collapse_by_character(&composed));
        }
    }
}
