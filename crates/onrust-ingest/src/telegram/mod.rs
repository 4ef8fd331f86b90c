//! The `telegram` kind: a public channel's web preview, `https://t.me/s/<channel>`.
//!
//! **What it sees.** Only what Telegram shows anyone without an account: the
//! HTML preview of a *public* channel, about 20 posts per page, oldest
//! first, older pages through `?before=<id>`. No login, no Bot API, no
//! MTProto, no groups or closed channels (rule L4). Per post it keeps
//! the post's own text (never the quote of the post it replies to), its date
//! and, for a signed post, a pseudonym of the signature (L2). Photos,
//! videos, avatars, view counts, reactions, link previews and the name a
//! post was forwarded from are never read (L3); service messages ("Channel
//! photo updated", pins) are skipped and counted as `service`, posts without
//! text of their own (a photo alone) as `empty`. Page parsing is a small
//! bounded tag scanner ([`page`]), run on the blocking pool.
//!
//! **What it cannot see.** Only the latest posts are reachable: each poll
//! reads at most `max_pages` pages (the first included), about
//! 20 × `max_pages` posts. Edits after a post was read and deletions are not
//! seen. A channel without a public preview (t.me then redirects away from
//! `/s/`) and a channel whose preview lists no messages (missing, emptied)
//! fail the poll with a clear error, so the source counts as down for
//! coverage (R10) rather than quiet.
//!
//! **Cursor.** `positions["last_id"]` holds the highest post id read, and
//! `positions["channel"]` the channel it belongs to (a cursor of another
//! channel is not applied). Skipped posts (service, empty) advance it too, so
//! they are counted once. Each poll reads the configured page; if the cursor
//! has a position and the oldest id on the page is above `last_id + 1`, it
//! pages back with `?before=<oldest id>` until a page reaches `last_id`, up
//! to `max_pages` pages in all. Posts above `last_id` are sent oldest first.
//! The first poll (no position) reads the first page only: no backlog.
//!
//! **Gaps.** If after paging the oldest id read is still above
//! `last_id + 1`, the posts in between could not be reached: a
//! `CoverageGap { reason: "id_gap" }` is reported (see [`id_gap`]) and what
//! was read is still sent. A page back that lists nothing means the channel
//! has nothing older there, which is no gap. Ids missing *within* a page are
//! not a gap either: deleted posts leave holes in Telegram's ids, and an
//! album takes one id per photo but is shown once, under its first id.
//!
//! **Interval.** To miss nothing, fewer than about 20 × `max_pages` posts
//! (60 with the default 3 pages) may appear between two polls. A busy news
//! channel posting up to 60 an hour needs an interval of at most about
//! 30 minutes; 5 to 10 minutes leaves room for bursts, which is when
//! coverage matters most. Quiet channels do with 15 to 30 minutes.

pub mod config;
pub mod page;

use std::collections::HashSet;
use std::ops::RangeInclusive;

use bytes::Bytes;
use chrono::Utc;
use onrust_model::{MessageId, RawMessage, SCHEMA_VERSION};
use url::Url;

pub use page::{TelegramPage, TelegramPageError, TelegramPost, parse_page};

use crate::cursor::SourceCursor;
use crate::fetch::{Conditional, Fetched};
use crate::internal_events::{CoverageGap, ItemsSkipped};
use crate::source::run_parser;
use crate::source::{PollError, Polled, PolledSource, Poller, SourceContext, SourceSettings};

/// The platform name signatures are pseudonymised under.
const PLATFORM: &str = "telegram";

/// The cursor position with the highest post id read.
pub const LAST_ID: &str = "last_id";

/// The cursor position naming the channel (lowercased) that `last_id` belongs to.
pub const CHANNEL: &str = "channel";

/// Pages read per poll at most, the first included, unless configured.
pub const DEFAULT_MAX_PAGES: usize = 3;

/// Characters kept of a post's text, unless configured.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 20_000;

/// Longest channel name accepted.
const MAX_CHANNEL_CHARS: usize = 64;

/// Reads one public channel's web preview.
#[derive(Debug, Clone)]
pub struct TelegramPoller {
    /// The preview page, `…/s/<channel>`; never rewritten by a redirect.
    pub url: Url,
    /// Pages read per poll at most, the first included (0 reads the first page only, like 1).
    pub max_pages: usize,
    /// Characters kept of a post's text.
    pub max_text_chars: usize,
}

/// A Telegram channel source: the polling loop with a [`TelegramPoller`].
pub type TelegramSource = PolledSource<TelegramPoller>;

impl TelegramSource {
    /// A channel source reading `url` (which must be `…/s/<channel>`, see
    /// [`channel_of`]) with [`DEFAULT_MAX_PAGES`] and [`DEFAULT_MAX_TEXT_CHARS`].
    pub fn telegram(settings: SourceSettings, url: Url) -> Result<Self, TelegramUrlError> {
        channel_of(&url)?;
        let poller = TelegramPoller { url, max_pages: DEFAULT_MAX_PAGES, max_text_chars: DEFAULT_MAX_TEXT_CHARS };
        Ok(Self { settings, poller })
    }
}

/// Why a URL is not a channel's public web preview.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramUrlError {
    /// Not http or https.
    #[error("telegram url scheme {0:?} is not allowed, only http and https")]
    Scheme(String),
    /// User name or password in the URL.
    #[error("telegram url must not carry a user name or password: previews are public")]
    Credentials,
    /// A query or fragment; paging is the source's own work.
    #[error("telegram url must not have a query or fragment, only the path /s/<channel>")]
    QueryOrFragment,
    /// The path is not `/s/<channel>`.
    #[error("telegram url path {0:?} is not /s/<channel>, a channel's public web preview")]
    NotAPreview(String),
    /// The channel name has other characters or length.
    #[error("telegram channel name {0:?} must be 1 to 64 letters, digits or underscores")]
    BadChannel(String),
}

/// The channel a preview URL reads: the path must be exactly `/s/<channel>`
/// with `<channel>` of 1 to 64 ASCII letters, digits or underscores, and
/// the URL http(s) without credentials, query or fragment.
pub fn channel_of(url: &Url) -> Result<String, TelegramUrlError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TelegramUrlError::Scheme(url.scheme().to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TelegramUrlError::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(TelegramUrlError::QueryOrFragment);
    }
    let path = url.path();
    let channel = match path.strip_prefix("/s/") {
        Some(channel) if !channel.contains('/') => channel,
        _ => return Err(TelegramUrlError::NotAPreview(path.to_owned())),
    };
    let valid = (1..=MAX_CHANNEL_CHARS).contains(&channel.len())
        && channel.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(TelegramUrlError::BadChannel(channel.to_owned()));
    }
    Ok(channel.to_owned())
}

/// The post ids that could not be reached: those between `last_id` and the
/// oldest id read (`oldest_read`), unless paging back reached the start of
/// what the channel still has (`reached_start`: a page back listed nothing).
/// `None` when nothing is missing.
pub fn id_gap(last_id: u64, oldest_read: u64, reached_start: bool) -> Option<RangeInclusive<u64>> {
    let first_missing = last_id.checked_add(1)?;
    (!reached_start && oldest_read > first_missing).then(|| first_missing..=oldest_read - 1)
}

/// The `last_id` of `cursor`, if it belongs to `channel` (lowercased).
fn stored_last_id(cursor: &SourceCursor, channel: &str) -> Option<u64> {
    if cursor.positions.get(CHANNEL).is_some_and(|c| c != channel) {
        return None;
    }
    cursor.positions.get(LAST_ID)?.parse().ok()
}

/// What the pages of one poll hold, before the cursor is applied.
struct Read {
    pages: Vec<TelegramPage>,
    /// Paging back reached a page that listed nothing.
    reached_start: bool,
}

impl TelegramPoller {
    /// Fetches and parses one page.
    async fn page(
        &self,
        ctx: &SourceContext,
        source: &SourceSettings,
        url: &Url,
        channel: &str,
    ) -> Result<TelegramPage, PollError> {
        let bytes: Bytes = match ctx.fetch(source, url, &Conditional::default()).await? {
            Fetched::Body { bytes, final_url, .. } => {
                if !final_url.path().starts_with("/s/") {
                    return Err(PollError::failed(format!(
                        "telegram channel {channel} has no public web preview: t.me redirected away from /s/"
                    )));
                }
                bytes
            }
            Fetched::NotModified { .. } => {
                return Err(PollError::failed(format!(
                    "telegram channel {channel}: the server answered 304 to an unconditional request"
                )));
            }
        };
        let (owned, max_text_chars) = (channel.to_owned(), self.max_text_chars);
        run_parser(move || parse_page(&bytes, &owned, max_text_chars))
            .await
            .map_err(|error| PollError::failed(format!("telegram channel {channel}: {error}")))
    }

    /// Reads the first page and, when the cursor is behind it, older pages.
    async fn read(
        &self,
        ctx: &SourceContext,
        source: &SourceSettings,
        channel: &str,
        last_id: Option<u64>,
    ) -> Result<Read, PollError> {
        let first = self.page(ctx, source, &self.url, channel).await?;
        let Some(mut oldest) = first.oldest_id() else {
            return Err(PollError::failed(if first.bad_post_ids > 0 {
                format!(
                    "telegram channel {channel}: none of the preview's {} message blocks carries a post id of this channel",
                    first.bad_post_ids
                )
            } else {
                format!("telegram channel {channel}: the preview lists no messages; the channel may not exist")
            }));
        };
        let mut read = Read { pages: vec![first], reached_start: false };
        let Some(last_id) = last_id else { return Ok(read) };
        while read.pages.len() < self.max_pages && oldest > last_id.saturating_add(1) {
            let mut url = self.url.clone();
            url.set_query(Some(&format!("before={oldest}")));
            let page = self.page(ctx, source, &url, channel).await?;
            match page.oldest_id() {
                None => {
                    read.reached_start = page.bad_post_ids == 0;
                    break;
                }
                // The server ignored `before`: nothing older can be reached.
                Some(older) if older >= oldest => break,
                Some(older) => {
                    oldest = older;
                    read.pages.push(page);
                }
            }
        }
        if let Some(missing) = id_gap(last_id, oldest, read.reached_start) {
            let detail = format!(
                "telegram channel {channel}: posts {} to {} were not reachable within {} pages",
                missing.start(),
                missing.end(),
                self.max_pages
            );
            CoverageGap { source: &source.id, kind: source.kind, reason: "id_gap", detail: &detail }.emit();
        }
        Ok(read)
    }
}

impl Poller for TelegramPoller {
    async fn poll(
        &self,
        ctx: &SourceContext,
        source: &SourceSettings,
        cursor: &SourceCursor,
    ) -> Result<Polled, PollError> {
        let channel = channel_of(&self.url).map_err(PollError::failed)?;
        let key = channel.to_ascii_lowercase();
        let last_id = stored_last_id(cursor, &key);
        let read = self.read(ctx, source, &channel, last_id).await?;
        let fetched_at = Utc::now();

        let is_new = |id: u64| last_id.is_none_or(|last| id > last);
        let (mut duplicates, mut service, mut empty, mut bad_post_ids) = (0, 0, 0, 0);
        let mut highest = last_id;
        let mut in_poll: HashSet<u64> = HashSet::new();
        let mut posts: Vec<&TelegramPost> = Vec::new();
        for page in &read.pages {
            bad_post_ids += page.bad_post_ids;
            for post in &page.posts {
                highest = highest.max(Some(post.id));
                if !in_poll.insert(post.id) {
                    if is_new(post.id) {
                        duplicates += 1;
                    }
                    continue;
                }
                if !is_new(post.id) {
                    continue;
                }
                if post.service {
                    service += 1;
                } else if post.text.is_empty() {
                    empty += 1;
                } else {
                    posts.push(post);
                }
            }
        }
        posts.sort_by_key(|post| post.id);

        let origin = match self.url.port() {
            Some(port) => format!("{}://{}:{port}", self.url.scheme(), self.url.host_str().unwrap_or_default()),
            None => format!("{}://{}", self.url.scheme(), self.url.host_str().unwrap_or_default()),
        };
        let mut messages = Vec::with_capacity(posts.len());
        for post in posts {
            let author = match &post.author {
                None => None,
                Some(author) => Some(ctx.pseudonymize(PLATFORM, author, fetched_at)?),
            };
            messages.push(RawMessage {
                schema: SCHEMA_VERSION,
                id: MessageId::derive(&source.id, &format!("post:{key}/{}", post.id)),
                source: source.id.clone(),
                source_kind: source.kind,
                url: Some(format!("{origin}/{channel}/{}", post.id)),
                title: None,
                text: post.text.clone(),
                published_at: post.published_at,
                fetched_at,
                author,
                lang_hint: None,
            });
        }
        let skipped = |outcome, count| ItemsSkipped { source: &source.id, kind: source.kind, outcome, count }.emit();
        skipped("duplicate", duplicates);
        skipped("service", service);
        skipped("empty", empty);
        skipped("bad_post_id", bad_post_ids);

        let mut next_cursor = cursor.clone();
        if let Some(highest) = highest {
            next_cursor.positions.insert(LAST_ID.to_owned(), highest.to_string());
            next_cursor.positions.insert(CHANNEL.to_owned(), key);
        }
        Ok(Polled { messages, next_cursor: Some(next_cursor), hint: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_the_ids_between_the_cursor_and_the_oldest_read() {
        assert_eq!(id_gap(100, 101, false), None);
        assert_eq!(id_gap(100, 90, false), None);
        assert_eq!(id_gap(100, 102, false), Some(101..=101));
        assert_eq!(id_gap(100, 150, false), Some(101..=149));
        assert_eq!(id_gap(100, 150, true), None, "a page back listing nothing is the channel's start");
        assert_eq!(id_gap(u64::MAX, 5, false), None);
    }

    #[test]
    fn a_cursor_of_another_channel_is_not_applied() {
        let mut cursor = SourceCursor::default();
        cursor.positions.insert(LAST_ID.into(), "42".into());
        assert_eq!(stored_last_id(&cursor, "kanaal"), Some(42), "a position without a channel applies");
        cursor.positions.insert(CHANNEL.into(), "kanaal".into());
        assert_eq!(stored_last_id(&cursor, "kanaal"), Some(42));
        assert_eq!(stored_last_id(&cursor, "ander"), None);
        cursor.positions.insert(LAST_ID.into(), "x".into());
        assert_eq!(stored_last_id(&cursor, "kanaal"), None);
    }
}
