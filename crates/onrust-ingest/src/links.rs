//! Links that name a person (rules L2, L3): an item's own link and the links
//! in its text, made handle-free before a message exists.
//!
//! A profile or post URL on a social platform carries its author's handle
//! (`https://mastodon.social/@name/123`, `https://twitter.com/name`). Kept,
//! it would reach the archive, every search hit, an alert's evidence, the
//! state file and the Atom feed, and it would name the person the message
//! came from. So one table, [`PLATFORMS`], says per platform which path
//! segments are names, and where a handle-free form of the same post exists.
//! The two uses apply it differently:
//!
//! - **an item's link** ([`item_url`]) is rewritten to the handle-free form
//!   when there is one and dropped when there is not: a link with a
//!   placeholder in it would lead nowhere;
//! - **a link in the text** ([`mask_in_text`]) keeps its shape with each name
//!   replaced by `[user]`, as `@mentions` are (`twitter.com/[user]/status/1`),
//!   so a reader still sees that an account was linked.
//!
//! On a platform's hosts the query is cut to the keys the table keeps (a
//! share link's `igsh=`, `si=` or `ab_channel=` identifies the sharer or the
//! channel), and the fragment is dropped. On any host, a path segment that
//! starts with `@` is a name (Mastodon and every fediverse server, Medium,
//! YouTube, TikTok); `/@name/<digits>` is a Mastodon status and becomes the
//! status's API record, `/api/v1/statuses/<digits>`, as the Mastodon kind
//! links it. A user name or password before the host is dropped too.
//!
//! Links onrust builds itself are not input and are not passed through
//! here: the Mastodon kind's API record, and the Telegram kind's
//! `t.me/<channel>/<post>` for the channel the configuration names.

use std::borrow::Cow;

use url::Url;

/// What the table says of one link.
#[derive(Debug, Default, PartialEq, Eq)]
struct Judgement {
    /// Path segments that are names, by position.
    names: Vec<usize>,
    /// The link identifies an account outside its path (`profile.php?id=`).
    account: bool,
    /// The same thing without the account: a path and query on the same host.
    handle_free: Option<String>,
    /// Query keys kept (all others are dropped on a platform's hosts).
    keep_query: &'static [&'static str],
}

/// A platform whose links can name an account.
struct Platform {
    /// Its domains; a subdomain (`www.`, `m.`, `old.`) is the same platform.
    domains: &'static [&'static str],
    /// Reads the path segments (without empty ones at the end).
    judge: fn(&[&str]) -> Judgement,
}

/// The table (mirrored in docs/ARCHITECTURE.md, "Links that name a person").
const PLATFORMS: &[Platform] = &[
    Platform { domains: &["twitter.com", "x.com"], judge: twitter },
    Platform { domains: &["instagram.com"], judge: instagram },
    Platform { domains: &["tiktok.com"], judge: tiktok },
    Platform { domains: &["t.me", "telegram.me", "telegram.dog"], judge: telegram },
    Platform { domains: &["bsky.app"], judge: bluesky },
    Platform { domains: &["reddit.com"], judge: reddit },
    Platform { domains: &["youtube.com", "youtu.be"], judge: youtube },
    Platform { domains: &["facebook.com", "fb.com"], judge: facebook },
];

fn lower(segment: Option<&&str>) -> String {
    segment.map(|s| s.to_ascii_lowercase()).unwrap_or_default()
}

fn is_digits(segment: Option<&&str>) -> bool {
    segment.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

fn name_at(index: usize, segments: &[&str]) -> Judgement {
    let names = if index < segments.len() { vec![index] } else { Vec::new() };
    Judgement { account: names.is_empty(), names, ..Judgement::default() }
}

/// `/<name>`, `/<name>/status/<id>` (→ `/i/web/status/<id>`); `/i/…`,
/// `/hashtag/…`, `/search` and the site's own pages name nobody.
fn twitter(segments: &[&str]) -> Judgement {
    const SITE: &[&str] = &[
        "",
        "i",
        "hashtag",
        "search",
        "explore",
        "home",
        "intent",
        "share",
        "settings",
        "tos",
        "privacy",
        "login",
        "logout",
        "signup",
        "messages",
        "notifications",
        "compose",
        "about",
    ];
    if SITE.contains(&lower(segments.first()).as_str()) {
        return Judgement::default();
    }
    let post = matches!(lower(segments.get(1)).as_str(), "status" | "statuses") && is_digits(segments.get(2));
    let handle_free = post.then(|| format!("/i/web/status/{}", segments[2]));
    Judgement { names: vec![0], handle_free, ..Judgement::default() }
}

/// `/<name>`, `/<name>/p/<code>` (→ `/p/<code>/`), `/stories/<name>/…`;
/// `/p/`, `/reel/`, `/tv/`, `/explore/` name nobody.
fn instagram(segments: &[&str]) -> Judgement {
    const SITE: &[&str] =
        &["", "p", "reel", "reels", "tv", "explore", "accounts", "about", "legal", "direct", "developer", "web"];
    let first = lower(segments.first());
    if first == "stories" {
        return name_at(1, segments);
    }
    if SITE.contains(&first.as_str()) {
        return Judgement::default();
    }
    let kind = lower(segments.get(1));
    let handle_free = match segments.get(2) {
        Some(code) if matches!(kind.as_str(), "p" | "reel" | "tv") => Some(format!("/{kind}/{code}/")),
        _ => None,
    };
    Judgement { names: vec![0], handle_free, ..Judgement::default() }
}

/// `/@<name>/…` (the `@` rule); TikTok has no documented handle-free video link.
fn tiktok(_segments: &[&str]) -> Judgement {
    Judgement::default()
}

/// `/<channel>`, `/s/<channel>`, `/c/<id>`: a channel or account name; Telegram
/// has no link to a post without it. Invite and sticker links name nobody.
fn telegram(segments: &[&str]) -> Judgement {
    const SITE: &[&str] = &[
        "",
        "joinchat",
        "addstickers",
        "addemoji",
        "addtheme",
        "share",
        "proxy",
        "socks",
        "iv",
        "setlanguage",
        "login",
    ];
    let first = lower(segments.first());
    if matches!(first.as_str(), "s" | "c") {
        return name_at(1, segments);
    }
    if SITE.contains(&first.as_str()) || first.starts_with('+') {
        return Judgement::default();
    }
    Judgement { names: vec![0], ..Judgement::default() }
}

/// `/profile/<handle or did>/…`.
fn bluesky(segments: &[&str]) -> Judgement {
    if lower(segments.first()) == "profile" { name_at(1, segments) } else { Judgement::default() }
}

/// `/user/<name>/…` and `/u/<name>/…`; a subreddit's posts name nobody.
fn reddit(segments: &[&str]) -> Judgement {
    if matches!(lower(segments.first()).as_str(), "user" | "u") { name_at(1, segments) } else { Judgement::default() }
}

/// `/@<handle>` (the `@` rule), `/c/<name>`, `/user/<name>`, `/channel/<id>`;
/// a video keeps `v` and `t`, a playlist `list`.
fn youtube(segments: &[&str]) -> Judgement {
    match lower(segments.first()).as_str() {
        "c" | "user" | "channel" => name_at(1, segments),
        "watch" => Judgement { keep_query: &["v", "t"], ..Judgement::default() },
        "playlist" => Judgement { keep_query: &["list"], ..Judgement::default() },
        _ => Judgement { keep_query: &["t"], ..Judgement::default() },
    }
}

/// `/<name>/…`, `/profile.php?id=`, `/people/<name>/<id>`, `/stories/<id>`,
/// `/groups/<group>/user/<id>`; events, videos (`/watch?v=`), hashtags,
/// groups and pages name nobody.
fn facebook(segments: &[&str]) -> Judgement {
    const SITE: &[&str] = &[
        "",
        "events",
        "watch",
        "hashtag",
        "groups",
        "pages",
        "photo",
        "photo.php",
        "share",
        "sharer",
        "sharer.php",
        "login",
        "help",
        "policies",
        "privacy",
        "marketplace",
        "gaming",
        "plugins",
        "dialog",
        "l.php",
        "reel",
    ];
    let first = lower(segments.first());
    match first.as_str() {
        // The account is in the query (`id=`).
        "profile.php" | "story.php" | "permalink.php" => Judgement { account: true, ..Judgement::default() },
        "people" => Judgement { names: (1..segments.len().min(3)).collect(), account: true, ..Judgement::default() },
        "stories" => name_at(1, segments),
        "groups" if lower(segments.get(2)) == "user" => name_at(3, segments),
        "watch" => Judgement { keep_query: &["v"], ..Judgement::default() },
        _ if SITE.contains(&first.as_str()) => Judgement::default(),
        _ => Judgement { names: vec![0], ..Judgement::default() },
    }
}

/// A path segment that is a name on any host: `@name` (also `%40name`).
fn is_at_name(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    (bytes.first() == Some(&b'@') && bytes.len() > 1) || (bytes.len() > 3 && bytes[..3].eq_ignore_ascii_case(b"%40"))
}

/// The platform `host` belongs to (itself or a subdomain of one of its domains).
fn platform_of(host: &str) -> Option<&'static Platform> {
    let host = host.trim_end_matches('.');
    PLATFORMS.iter().find(|p| {
        p.domains.iter().any(|d| host.eq_ignore_ascii_case(d) || host.to_ascii_lowercase().ends_with(&format!(".{d}")))
    })
}

/// The judgement of a path on `platform` (or on any other host), with the
/// `@` rule added.
fn judge(platform: Option<&Platform>, segments: &[&str]) -> Judgement {
    let mut judgement = platform.map_or_else(Judgement::default, |p| (p.judge)(segments));
    for (i, segment) in segments.iter().enumerate() {
        if is_at_name(segment) && !judgement.names.contains(&i) {
            judgement.names.push(i);
            judgement.handle_free = None;
        }
    }
    // A Mastodon status: `/@name/<digits>` on whatever server.
    if platform.is_none() && judgement.names == [0] && segments.len() == 2 && is_digits(segments.get(1)) {
        judgement.handle_free = Some(format!("/api/v1/statuses/{}", segments[1]));
    }
    judgement
}

/// An item's link without any account in it: the same link, its handle-free
/// form, or `None` when it has none. Only http and https links are kept.
pub fn item_url(link: &str) -> Option<String> {
    let mut url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    // A user name before the host names someone too; `set_*` fails only without a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let platform = url.host_str().and_then(platform_of);
    let segments: Vec<String> =
        url.path_segments().map(|segments| segments.map(str::to_owned).collect()).unwrap_or_default();
    let mut segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    while segments.last() == Some(&"") {
        segments.pop();
    }
    let judgement = judge(platform, &segments);
    if !judgement.names.is_empty() || judgement.account {
        let path = judgement.handle_free?;
        url.set_path(&path);
        url.set_query(None);
        url.set_fragment(None);
        return Some(url.to_string());
    }
    if platform.is_some() {
        keep_query(&mut url, judgement.keep_query);
        url.set_fragment(None);
    }
    Some(url.to_string())
}

/// Keeps only the query pairs whose key is in `keys`.
fn keep_query(url: &mut Url, keys: &[&str]) {
    if url.query().is_none() {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| keys.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// Replaces every name in the platform links of `text` by `[user]`, keeping
/// the rest of each link, and cuts their queries to the kept keys. A link is
/// found by its platform's domain followed by `/`, with or without a scheme
/// (`t.me/name` in a post is as much a link as `https://t.me/name`). Linear
/// in the length of the text; a text without a platform link is returned
/// as it is, without a copy.
pub fn mask_in_text(text: &str) -> Cow<'_, str> {
    let starts = link_starts(text);
    if starts.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut done = 0;
    for LinkStart { at, path_start, platform } in starts {
        if at < done {
            continue;
        }
        let path_end = path_start + link_rest_len(&text[path_start..]);
        out.push_str(&text[done..path_start]);
        out.push_str(&masked_rest(platform, &text[path_start..path_end]));
        done = path_end;
    }
    out.push_str(&text[done..]);
    Cow::Owned(out)
}

/// Where a platform's `domain/` starts a host name in a text.
struct LinkStart {
    /// The domain's first byte.
    at: usize,
    /// The byte after its `/`.
    path_start: usize,
    platform: &'static Platform,
}

/// Every `domain/` of [`PLATFORMS`] in `text` that starts a host name, in
/// order. Found from the slashes, which prose has few of, rather than by
/// searching the text once per domain: most texts have no slash at all.
fn link_starts(text: &str) -> Vec<LinkStart> {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    for slash in bytes.iter().enumerate().filter_map(|(i, &b)| (b == b'/').then_some(i)) {
        for platform in PLATFORMS {
            for domain in platform.domains {
                let Some(at) = slash.checked_sub(domain.len()) else { continue };
                // ASCII on both sides, so `at` is a character boundary.
                if !bytes[at..slash].eq_ignore_ascii_case(domain.as_bytes()) {
                    continue;
                }
                // The domain must start a host name (`chat.me/` is not `t.me/`);
                // a `.` before it is a subdomain (`www.`, `old.`).
                let starts_host =
                    text[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
                if starts_host {
                    starts.push(LinkStart { at, path_start: slash + 1, platform });
                }
            }
        }
    }
    starts
}

/// How much of `rest` (what follows `domain/`) belongs to the link: up to
/// white space or a character that ends a link in prose, without the
/// sentence's punctuation at its end. `[user]`, a name masked before, is
/// part of it.
fn link_rest_len(rest: &str) -> usize {
    let mut end = 0;
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '[' && rest[i..].starts_with("[user]") {
            for _ in 0.."[user]".len() - 1 {
                chars.next();
            }
            end = i + "[user]".len();
            continue;
        }
        if c.is_whitespace()
            || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '\\' | '^' | '`' | ',')
        {
            break;
        }
        end = i + c.len_utf8();
    }
    rest[..end].trim_end_matches(['.', ':', ';', '!', '?']).len()
}

/// `path[?query][#fragment]` of a platform link with its names masked.
fn masked_rest(platform: &Platform, rest: &str) -> String {
    let (before_fragment, _fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    let mut segments: Vec<&str> = path.split('/').collect();
    let trailing_slash = segments.len() > 1 && segments.last() == Some(&"");
    if trailing_slash {
        segments.pop();
    }
    let judgement = judge(Some(platform), &segments);
    let masked: Vec<&str> =
        segments.iter().enumerate().map(|(i, s)| if judgement.names.contains(&i) { "[user]" } else { *s }).collect();
    let mut out = masked.join("/");
    if trailing_slash {
        out.push('/');
    }
    let kept: Vec<&str> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|pair| judgement.keep_query.contains(&pair.split('=').next().unwrap_or_default()))
        .collect();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of the table in docs/ARCHITECTURE.md, as an item's link.
    #[test]
    fn item_links_are_rewritten_to_a_handle_free_form_or_dropped() {
        let cases: &[(&str, Option<&str>)] = &[
            // Mastodon and the fediverse, on any host.
            ("https://mastodon.social/@name/123", Some("https://mastodon.social/api/v1/statuses/123")),
            (
                "https://mastodon.nl/@name@other.example/113500000000000103",
                Some("https://mastodon.nl/api/v1/statuses/113500000000000103"),
            ),
            ("https://mastodon.social/@name", None),
            ("https://mastodon.social/@name/123/favourites", None),
            ("https://medium.com/@name/een-verhaal-1a2b", None),
            ("https://example.org/%40name/123", Some("https://example.org/api/v1/statuses/123")),
            // Twitter and X.
            ("https://twitter.com/name", None),
            (
                "https://x.com/name/status/1790000000000000000?s=20",
                Some("https://x.com/i/web/status/1790000000000000000"),
            ),
            ("https://mobile.twitter.com/name/status/1#m", Some("https://mobile.twitter.com/i/web/status/1")),
            ("https://twitter.com/i/web/status/1", Some("https://twitter.com/i/web/status/1")),
            ("https://twitter.com/hashtag/utrecht?src=hash", Some("https://twitter.com/hashtag/utrecht")),
            // Instagram.
            ("https://www.instagram.com/name/", None),
            ("https://www.instagram.com/name/p/C1a2B3/?igsh=abc", Some("https://www.instagram.com/p/C1a2B3/")),
            ("https://www.instagram.com/p/C1a2B3/?igsh=abc", Some("https://www.instagram.com/p/C1a2B3/")),
            ("https://instagram.com/stories/name/311", None),
            // TikTok.
            ("https://www.tiktok.com/@name/video/7300000000000000000", None),
            ("https://www.tiktok.com/tag/utrecht", Some("https://www.tiktok.com/tag/utrecht")),
            // Telegram.
            ("https://t.me/name", None),
            ("https://t.me/s/name/15", None),
            ("https://telegram.me/name/15", None),
            ("https://t.me/joinchat/AbCdEf", Some("https://t.me/joinchat/AbCdEf")),
            // Bluesky.
            ("https://bsky.app/profile/name.bsky.social/post/3l3", None),
            // Reddit.
            ("https://www.reddit.com/user/name/comments/abc/titel/", None),
            ("https://old.reddit.com/u/name", None),
            (
                "https://www.reddit.com/r/utrecht/comments/abc/titel/?utm_source=share&share_id=x",
                Some("https://www.reddit.com/r/utrecht/comments/abc/titel/"),
            ),
            // YouTube.
            ("https://www.youtube.com/@name", None),
            ("https://www.youtube.com/c/name/videos", None),
            ("https://www.youtube.com/user/name", None),
            ("https://www.youtube.com/channel/UC0123456789", None),
            (
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ&ab_channel=name&t=42",
                Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42"),
            ),
            ("https://youtu.be/dQw4w9WgXcQ?si=sharer", Some("https://youtu.be/dQw4w9WgXcQ")),
            // Facebook.
            ("https://www.facebook.com/name", None),
            ("https://www.facebook.com/name/posts/pfbid02x", None),
            ("https://m.facebook.com/profile.php?id=100000000000001", None),
            ("https://www.facebook.com/people/Jan-Jansen/100000000000001/", None),
            ("https://www.facebook.com/story.php?story_fbid=1&id=100000000000001", None),
            ("https://www.facebook.com/events/123456789/", Some("https://www.facebook.com/events/123456789/")),
            ("https://www.facebook.com/watch/?v=123&ref=name", Some("https://www.facebook.com/watch/?v=123")),
            // Everything else is kept as it is, except a user name before the host.
            (
                "https://www.rtvutrecht.nl/nieuws/123/demonstratie?utm_source=x#top",
                Some("https://www.rtvutrecht.nl/nieuws/123/demonstratie?utm_source=x#top"),
            ),
            ("https://name:secret@forum.example/t/1", Some("https://forum.example/t/1")),
            ("https://www.nottwitter.com/name", Some("https://www.nottwitter.com/name")),
            ("javascript:alert(1)", None),
            ("/relative", None),
        ];
        for (link, expected) in cases {
            assert_eq!(item_url(link).as_deref(), *expected, "{link}");
            if let Some(kept) = item_url(link) {
                assert_eq!(item_url(&kept), Some(kept.clone()), "idempotent: {link}");
                assert!(!kept.contains("name") || link.contains("nottwitter"), "{link} -> {kept}");
            }
        }
    }

    #[test]
    fn links_in_text_keep_their_shape_with_names_masked() {
        let cases = [
            (
                "zie https://twitter.com/name en x.com/name/status/12?s=20.",
                "zie https://twitter.com/[user] en x.com/[user]/status/12.",
            ),
            ("(https://www.instagram.com/name/p/C1a2B3/?igsh=abc)", "(https://www.instagram.com/[user]/p/C1a2B3/)"),
            ("https://www.tiktok.com/@name/video/7300", "https://www.tiktok.com/[user]/video/7300"),
            (
                "https://www.youtube.com/c/name, youtube.com/@name en youtube.com/watch?v=abc&ab_channel=name",
                "https://www.youtube.com/c/[user], youtube.com/[user] en youtube.com/watch?v=abc",
            ),
            (
                "fb.com/name en https://www.facebook.com/profile.php?id=1000001!",
                "fb.com/[user] en https://www.facebook.com/profile.php!",
            ),
            (
                "https://www.reddit.com/user/name/ en old.reddit.com/r/utrecht",
                "https://www.reddit.com/user/[user]/ en old.reddit.com/r/utrecht",
            ),
            (
                "twitter.com/hashtag/utrecht en twitter.com/i/web/status/1",
                "twitter.com/hashtag/utrecht en twitter.com/i/web/status/1",
            ),
            ("mytwitter.com/name, notx.com/name en e-x.com/name", "mytwitter.com/name, notx.com/name en e-x.com/name"),
            ("TWITTER.COM/Name", "TWITTER.COM/[user]"),
        ];
        for (text, expected) in cases {
            let masked = mask_in_text(text);
            assert_eq!(masked, expected, "{text}");
            assert_eq!(mask_in_text(&masked), masked, "idempotent: {text}");
        }
    }

    /// Every `domain/` that starts a host, found by searching the text once
    /// per domain: the plain definition [`link_starts`] must agree with.
    fn link_starts_by_search(text: &str) -> Vec<(usize, usize)> {
        let lower = text.to_ascii_lowercase();
        let mut starts = Vec::new();
        for platform in PLATFORMS {
            for domain in platform.domains {
                let marker = format!("{domain}/");
                for (at, _) in lower.match_indices(&marker) {
                    let starts_host =
                        lower[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'));
                    if starts_host {
                        starts.push((at, at + marker.len()));
                    }
                }
            }
        }
        starts.sort_unstable();
        starts
    }

    proptest::proptest! {
        #[test]
        fn link_starts_are_every_platform_domain_that_starts_a_host(
            text in "(t\\.me/|T\\.ME/|x\\.com/|twitter\\.com/|youtu\\.be/|fb\\.com/|[a-zé.\\-_/ ]{0,4}){0,10}"
        ) {
            let found: Vec<(usize, usize)> = link_starts(&text).iter().map(|s| (s.at, s.path_start)).collect();
            proptest::prop_assert_eq!(found, link_starts_by_search(&text));
        }
    }
}
