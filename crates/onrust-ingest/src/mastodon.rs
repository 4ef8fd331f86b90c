//! The `mastodon` kind: the public hashtag timelines of one instance, polled.
//!
//! **What it sees.** The statuses an instance shows an anonymous reader on
//! `GET /api/v1/timelines/tag/:tag`: public posts carrying one of the
//! configured hashtags, from local accounts and from the remote accounts the
//! instance federates with. Tags are grouped in configuration order into
//! queries of at most four (`/tag/<first>?any[]=<second>&…`).
//!
//! **What it cannot see.** Posts without one of the tags, posts the instance
//! does not federate, and everything behind a login. Streaming needs a user
//! token since Mastodon 4.2, and tokens are not used, so this kind polls. An
//! instance that closes its tag timelines to anonymous readers answers
//! 401/422, and the source then fails visibly rather than reading as calm
//! (rule R10). Only Mastodon's decimal status ids are understood:
//! servers with other id schemes (ULIDs, base-62 flake ids) fail the poll
//! with a clear message. A remote status that reaches the instance more than
//! the lookback (below) after it was written is not seen.
//!
//! **Positions, per tag.** [`SourceCursor::positions`] holds, per tag (key
//! `tag:<tag>`, lowercase), the newest status id read for it. Positions are
//! per tag, not per query, because queries are cut from the configured list:
//! inserting or removing one tag would shift every later group to a new key,
//! and a group without a position starts afresh (below), losing what was
//! posted since. A query starts from the lowest position among its tags; a
//! newly added tag simply joins that reading. After a poll every tag of the
//! query gets the query's newest id (a position never moves back); tags no
//! longer configured lose theirs. Keys of the old per-query form
//! (`tags:<t1>,<t2>,…`) are read once as the position of each tag in them and
//! then dropped; that first poll sends the overlap (below) once more, as the
//! old cursor kept no dedup keys (message ids are stable, so sinks drop the
//! repeat).
//!
//! **Why it reads back (the overlap).** Mastodon numbers statuses with
//! snowflake ids, `unix_ms << 16 | sequence`, and gives a federated status
//! the id of the time it was *written* (`created_at`), not of its arrival. A
//! remote status that arrives a few minutes late therefore gets an id below
//! statuses already read, and asking only for what follows the newest id
//! read (`min_id=<position>`) would never return it: a silent loss. So every
//! query asks from `lookback` (default 30 minutes) before its position:
//! `min_id = (ms(position) − lookback) << 16`. What is read again there is
//! recognised by its dedup key `status:<host>/<id>` in [`SourceCursor::seen`]
//! and neither sent nor counted again; every status read, kept or left out,
//! is remembered there (up to `max_seen`, never fewer than one poll read), so
//! the keys inside the window stay known while the window is read. When the
//! window holds more statuses this query already read than half its page
//! budget (`max_pages` pages of 40), it is shortened to the newest of those,
//! so a busy window cannot use up every page and stall the query behind its
//! position; late statuses older than that are then not seen, and that is
//! reported as a coverage gap (`overlap_cut`). What a query read is kept per
//! tag (`read:<tag>`, the newest half page budget of ids, plus one), so a
//! busy query beside it does not shorten a quiet one's window.
//!
//! **How it reads.** Without a position (a new source, or a query of new
//! tags only) the newest page alone is read and its newest id becomes the
//! position: a new source does not replay history. With one, pages are
//! requested from the overlap's `min_id`, so Mastodon returns the statuses
//! right after it; the next page starts at the `min_id` of the `Link`
//! header's `rel="prev"` target (RFC 8288), else at the newest id of the page.
//! A full page (40) is followed by the next one, up to `max_pages` per query
//! and poll; the rest comes next poll, because a position only ever moves
//! over what was read. Ids are compared as numbers (by length, then digits).
//! A `Link` header that points before the page's start or beyond the newest
//! status read is ignored in favour of the page itself, so a wrong header can
//! neither stall the reading nor skip statuses. Positions and seen keys
//! change only in [`Polled::next_cursor`], which the shared loop stores once
//! the batch is acknowledged (rule R1). Any failure (a 429, a malformed
//! page) fails the whole poll and moves nothing; statuses already read from
//! other queries in that poll are read again next time, harmlessly (message
//! ids are stable).
//!
//! **What it keeps.** Opt-outs are respected (rule L4): statuses that
//! are not public, whose account is not `indexable` (absent, before Mastodon
//! 4.2, counts as allowed) or asks `noindex`, and reblogs are left out and
//! counted once, and their ids still move the position. A message keeps the
//! cleaned text (mentions become `@[user]`), the content warning as title,
//! the time and the declared language. The author is the keyed pseudonym of
//! the full `acct` (rule L2); the link is the status's API record on
//! the instance (`/api/v1/statuses/<id>`), because the status's own `url` and
//! `uri` contain the author's handle. Media, avatars, display names, emojis,
//! cards and counts are never read (L3). Errors name the instance, the query
//! and a position in the body, never a value from it.

pub mod config;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Utc};
use onrust_model::{MessageId, RawMessage, SCHEMA_VERSION};
use serde::Deserialize;
use serde::de::IgnoredAny;
use url::Url;

use crate::cursor::SourceCursor;
use crate::feed::date::in_supported_range;
use crate::fetch::{Conditional, Fetched};
use crate::internal_events::{CoverageGap, ItemsSkipped};
use crate::source::run_parser;
use crate::source::{PollError, Polled, PolledSource, Poller, SourceContext, SourceSettings};
use crate::text::clean;

/// The platform name Mastodon authors are pseudonymised under.
pub const PLATFORM: &str = "mastodon";

/// Statuses per page: the most Mastodon returns; a page this full is followed.
pub const PAGE_LIMIT: usize = 40;

/// Tags per query: the first in the path, the others as `any[]`.
pub const MAX_TAGS_PER_QUERY: usize = 4;

/// How far back each query reads before its position, by default: remote
/// statuses arriving up to this late are still read.
pub const DEFAULT_LOOKBACK: Duration = Duration::from_secs(30 * 60);

/// How many dedup keys of statuses read are kept, by default.
pub const DEFAULT_MAX_SEEN: usize = 10_000;

/// The prefix of a tag's key in [`SourceCursor::positions`].
const TAG_PREFIX: &str = "tag:";

/// The prefix of the ids a tag's query read last (newest, comma-separated) in
/// [`SourceCursor::positions`]: what the overlap's cut counts.
const READ_PREFIX: &str = "read:";

/// The prefix naming a query (its tags) in the identity and in errors; also
/// the prefix of the old per-query keys in [`SourceCursor::positions`], read
/// once as the positions of their tags and then dropped.
const QUERY_PREFIX: &str = "tags:";

/// The low bits of a snowflake status id that are a sequence, not time.
const SEQUENCE_BITS: u32 = 16;

/// Bodies larger than this are parsed on the blocking pool.
const PARSE_INLINE_BYTES: usize = 64 * 1024;

/// Status ids longer than this are not Mastodon ids (they are 64-bit integers).
const MAX_ID_DIGITS: usize = 32;

/// Reads the hashtag timelines of one Mastodon instance.
#[derive(Debug, Clone)]
pub struct MastodonPoller {
    /// The instance's base URL, e.g. `https://mastodon.nl/`.
    pub instance: Url,
    /// The hashtags to follow, in configuration order (a leading `#` is ignored).
    pub tags: Vec<String>,
    /// Pages read at most per tag group and poll (at least one).
    pub max_pages: usize,
    /// Maximum characters of a status text.
    pub max_text_chars: usize,
    /// Maximum characters of a content warning (the title).
    pub max_title_chars: usize,
    /// How far back before its position each query reads again, for remote
    /// statuses that arrive late with an id of their writing time.
    pub lookback: Duration,
    /// How many dedup keys of statuses read the cursor keeps (never fewer
    /// than one poll read).
    pub max_seen: usize,
}

/// A Mastodon source: the polling loop with a [`MastodonPoller`].
pub type MastodonSource = PolledSource<MastodonPoller>;

impl MastodonSource {
    /// A Mastodon source reading `tags` on `instance`, with default limits:
    /// 5 pages per tag group and poll, texts of 20 000 and titles of 500
    /// characters, a [`DEFAULT_LOOKBACK`] and [`DEFAULT_MAX_SEEN`] dedup keys.
    /// `settings.identity` should be [`identity`] of the same instance and tags.
    pub fn mastodon(settings: SourceSettings, instance: Url, tags: Vec<String>) -> Self {
        let poller = MastodonPoller {
            instance,
            tags,
            max_pages: 5,
            max_text_chars: 20_000,
            max_title_chars: 500,
            lookback: DEFAULT_LOOKBACK,
            max_seen: DEFAULT_MAX_SEEN,
        };
        Self { settings, poller }
    }
}

/// The identity of a Mastodon source for [`SourceSettings::identity`]: the
/// instance and its tags, so a change of either resets the cursor's
/// validators and disabled state (positions are per tag and stay).
pub fn identity(instance: &Url, tags: &[String]) -> String {
    format!("{instance} {QUERY_PREFIX}{}", normalized_tags(tags).join(","))
}

/// The configured tags without `#`, blanks and repeats (compared case-insensitively), in order.
fn normalized_tags(tags: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    tags.iter()
        .map(|tag| tag.trim().trim_start_matches('#').trim())
        .filter(|tag| !tag.is_empty() && seen.insert(tag.to_lowercase()))
        .map(str::to_owned)
        .collect()
}

/// The tags in queries of at most [`MAX_TAGS_PER_QUERY`], in order.
fn tag_groups(tags: &[String]) -> Vec<Vec<String>> {
    normalized_tags(tags).chunks(MAX_TAGS_PER_QUERY).map(<[String]>::to_vec).collect()
}

/// A tag group as errors name it: `tags:<t1>,<t2>,…`.
fn query_label(group: &[String]) -> String {
    format!("{QUERY_PREFIX}{}", group.join(","))
}

/// The key of a tag's position (tags are case-insensitive).
fn tag_key(tag: &str) -> String {
    format!("{TAG_PREFIX}{}", tag.to_lowercase())
}

/// The stored position of each tag (lowercase): its own `tag:` key, else the
/// lowest position of an old `tags:` key naming it (read once, migration).
/// Unreadable values count as no position.
fn stored_positions(cursor: &SourceCursor) -> BTreeMap<String, StatusId> {
    let mut positions: BTreeMap<String, StatusId> = BTreeMap::new();
    for (key, value) in &cursor.positions {
        let (Some(tags), Some(id)) = (key.strip_prefix(QUERY_PREFIX), StatusId::parse(value)) else { continue };
        for tag in tags.split(',').map(str::to_lowercase).filter(|tag| !tag.is_empty()) {
            let entry = positions.entry(tag).or_insert_with(|| id.clone());
            if &id < entry {
                *entry = id.clone();
            }
        }
    }
    for (key, value) in &cursor.positions {
        if let (Some(tag), Some(id)) = (key.strip_prefix(TAG_PREFIX), StatusId::parse(value)) {
            positions.insert(tag.to_lowercase(), id);
        }
    }
    positions
}

/// The dedup key of a status, also the name its message id is derived from.
fn status_key(host: &str, id: &StatusId) -> String {
    format!("status:{host}/{}", id.0)
}

/// The ids of the statuses of `host` in the cursor's dedup keys, sorted.
fn seen_ids(cursor: &SourceCursor, host: &str) -> Vec<StatusId> {
    let prefix = format!("status:{host}/");
    let mut ids: Vec<StatusId> =
        cursor.seen.iter().filter_map(|key| key.strip_prefix(prefix.as_str())).filter_map(StatusId::parse).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A Mastodon status id: a decimal number, compared numerically.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatusId(String);

impl StatusId {
    /// A canonical decimal number (no sign, no leading zero) of at most [`MAX_ID_DIGITS`] digits.
    fn parse(text: &str) -> Option<Self> {
        let canonical = !text.is_empty()
            && text.len() <= MAX_ID_DIGITS
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        canonical.then(|| Self(text.to_owned()))
    }

    /// The id as a 64-bit number, if it is one (Mastodon's are).
    fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

impl Ord for StatusId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Canonical decimals: the longer is larger; equal lengths compare digit by digit.
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for StatusId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The fields of a status this kind reads; everything else is ignored.
/// No `Debug`: the account holds a handle.
#[derive(Deserialize)]
struct Status {
    id: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    spoiler_text: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reblog: Option<IgnoredAny>,
    account: Account,
}

/// The fields of an account this kind reads.
#[derive(Deserialize)]
struct Account {
    #[serde(default)]
    acct: Option<String>,
    #[serde(default)]
    indexable: Option<bool>,
    #[serde(default)]
    noindex: Option<bool>,
}

/// Why a page is not a usable list of statuses; never quotes the body.
#[derive(Debug, Clone, thiserror::Error)]
enum PageError {
    /// The body is not a JSON array (an error object, an HTML page).
    #[error("the body is not a json array of statuses")]
    NotAnArray,
    /// The JSON is invalid or a field has the wrong type.
    #[error("invalid json at line {line} column {column}: {category}")]
    Json { line: usize, column: usize, category: &'static str },
    /// A status id is not a decimal number.
    #[error("status {index} of the page has an id that is not a decimal number")]
    BadId { index: usize },
}

/// A JSON error as category and position only (serde's messages can quote values).
fn json_error(e: &serde_json::Error) -> PageError {
    PageError::Json { line: e.line(), column: e.column(), category: crate::feed::json_error_category(e) }
}

/// Parses a page into statuses with valid ids, oldest first.
fn parse_page(bytes: &[u8]) -> Result<Vec<(StatusId, Status)>, PageError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[') {
        return Err(PageError::NotAnArray);
    }
    let statuses: Vec<Status> = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
    let mut page = Vec::with_capacity(statuses.len());
    for (index, status) in statuses.into_iter().enumerate() {
        let id = StatusId::parse(&status.id).ok_or(PageError::BadId { index: index + 1 })?;
        page.push((id, status));
    }
    // Mastodon lists newest first; deliver oldest first.
    page.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(page)
}

/// Parses a page, on the blocking pool when it is large.
async fn parse_page_off_runtime(bytes: Bytes) -> Result<Vec<(StatusId, Status)>, String> {
    if bytes.len() <= PARSE_INLINE_BYTES {
        parse_page(&bytes).map_err(|e| e.to_string())
    } else {
        run_parser(move || parse_page(&bytes)).await
    }
}

/// The `min_id` of the `rel="prev"` target in a `Link` header (RFC 8288);
/// `None` when there is none or the header cannot be read. Never panics.
fn link_prev_min_id(header: &str, base: &Url) -> Option<StatusId> {
    let mut rest = header;
    loop {
        let start = rest.find('<')?;
        let after = rest.get(start + 1..)?;
        let end = after.find('>')?;
        let target = after.get(..end)?;
        let (params, next) = split_unquoted(after.get(end + 1..)?, ',');
        if rel_is_prev(params) {
            let min_id = base.join(target.trim()).ok().and_then(|url| {
                url.query_pairs().find(|(name, _)| name == "min_id").and_then(|(_, value)| StatusId::parse(&value))
            });
            if min_id.is_some() {
                return min_id;
            }
        }
        rest = next?;
    }
}

/// Splits `text` at the first `separator` outside a quoted string (RFC 8288
/// parameters may quote commas and semicolons).
fn split_unquoted(text: &str, separator: char) -> (&str, Option<&str>) {
    let mut quoted = false;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ if c == separator && !quoted => return (&text[..at], text.get(at + c.len_utf8()..)),
            _ => {}
        }
    }
    (text, None)
}

/// Does `rel` (possibly quoted, possibly several types) include `prev` or `previous`?
fn rel_is_prev(params: &str) -> bool {
    let mut rest = Some(params);
    while let Some(text) = rest {
        let (param, next) = split_unquoted(text, ';');
        rest = next;
        let Some((name, value)) = param.split_once('=') else { continue };
        let is_prev = name.trim().eq_ignore_ascii_case("rel")
            && value
                .trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("prev") || rel.eq_ignore_ascii_case("previous"));
        if is_prev {
            return true;
        }
    }
    false
}

/// The position after reading a non-empty page whose newest id is `newest`:
/// the `Link` header's if it lies after `current` and not beyond `newest`,
/// else `newest`; never before `current`.
fn next_position(current: Option<&StatusId>, newest: &StatusId, from_link: Option<StatusId>) -> StatusId {
    let candidate = match from_link {
        Some(link) if &link <= newest && current.is_none_or(|c| &link > c) => link,
        _ => newest.clone(),
    };
    match current {
        Some(c) if c > &candidate => c.clone(),
        _ => candidate,
    }
}

/// Why a status is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Duplicate,
    NotPublic,
    NotIndexable,
    Noindex,
    Reblog,
    Empty,
}

impl Skip {
    const ALL: [Skip; 6] =
        [Skip::Duplicate, Skip::NotPublic, Skip::NotIndexable, Skip::Noindex, Skip::Reblog, Skip::Empty];

    fn outcome(self) -> &'static str {
        match self {
            Skip::Duplicate => "duplicate",
            Skip::NotPublic => "not_public",
            Skip::NotIndexable => "not_indexable",
            Skip::Noindex => "noindex",
            Skip::Reblog => "reblog",
            Skip::Empty => "empty",
        }
    }
}

/// The opt-outs and kinds of status that are never kept (rule L4).
fn opt_out(status: &Status) -> Option<Skip> {
    if status.visibility.as_deref() != Some("public") {
        Some(Skip::NotPublic)
    } else if status.account.indexable == Some(false) {
        Some(Skip::NotIndexable)
    } else if status.account.noindex == Some(true) {
        Some(Skip::Noindex)
    } else if status.reblog.is_some() {
        Some(Skip::Reblog)
    } else {
        None
    }
}

/// What one poll has read so far.
struct Reading {
    fetched_at: DateTime<Utc>,
    /// The statuses of this instance read in earlier polls, sorted: read
    /// again in the overlap, they are neither sent nor counted again.
    seen: Vec<StatusId>,
    /// Every status read in this poll, new or seen before.
    ids: BTreeSet<StatusId>,
    messages: Vec<RawMessage>,
    skipped: BTreeMap<&'static str, usize>,
}

impl Reading {
    fn skip(&mut self, why: Skip) {
        *self.skipped.entry(why.outcome()).or_default() += 1;
    }
}

impl MastodonPoller {
    /// Where a query whose lowest position is `position` starts reading: the
    /// lookback before it (`min_id = (ms(position) − lookback) << 16`), but
    /// no further back than the newest half page budget of statuses already
    /// read (`seen`, sorted), so re-reading the window cannot use up every
    /// page. A position that is not a 64-bit number is used as it is.
    /// The id a full overlap starts from: the position less the lookback
    /// (the position itself when it is not a 64-bit number).
    fn overlap_floor(&self, position: &StatusId) -> StatusId {
        let Some(raw) = position.as_u64() else {
            return position.clone();
        };
        let lookback_ms = u64::try_from(self.lookback.as_millis()).unwrap_or(u64::MAX);
        StatusId(((raw >> SEQUENCE_BITS).saturating_sub(lookback_ms) << SEQUENCE_BITS).to_string())
    }

    fn overlap_start(&self, position: &StatusId, seen: &[StatusId]) -> StatusId {
        if position.as_u64().is_none() {
            return position.clone();
        }
        let floor = self.overlap_floor(position);
        let budget = self.max_pages.max(1).saturating_mul(PAGE_LIMIT) / 2;
        let lowest = seen.partition_point(|id| id <= &floor);
        let highest = seen.partition_point(|id| id <= position);
        match highest.checked_sub(budget.saturating_add(1)) {
            // More than `budget` statuses read inside the window: start below the newest `budget` of them.
            Some(at) if at >= lowest => seen.get(at).cloned().unwrap_or(floor),
            _ => floor,
        }
    }

    /// The URL of one page of a tag group.
    fn page_url(&self, group: &[String], min_id: Option<&StatusId>) -> Result<Url, PollError> {
        let (first, others) = group.split_first().ok_or_else(|| PollError::failed("empty tag group"))?;
        let mut url = self.api_url(&["timelines", "tag", first])?;
        {
            let mut query = url.query_pairs_mut();
            for tag in others {
                query.append_pair("any[]", tag);
            }
            query.append_pair("limit", &PAGE_LIMIT.to_string());
            if let Some(min_id) = min_id {
                query.append_pair("min_id", &min_id.0);
            }
        }
        Ok(url)
    }

    /// `{instance}/api/v1/<segments>`, each segment percent-encoded.
    fn api_url(&self, segments: &[&str]) -> Result<Url, PollError> {
        let mut url = self.instance.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| PollError::failed("the mastodon instance url cannot have a path"))?
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        Ok(url)
    }

    /// Reads the pages of one tag group from `from` (`None`: a first run,
    /// the newest page only); the newest id reached, if a page held any.
    async fn read_group(
        &self,
        ctx: &SourceContext,
        source: &SourceSettings,
        host: &str,
        group: &[String],
        from: Option<StatusId>,
        reading: &mut Reading,
    ) -> Result<(Option<StatusId>, Vec<StatusId>), PollError> {
        let first_run = from.is_none();
        let mut page_start = from;
        let mut newest_read = None;
        // Every status this query returned, for the overlap's cut next time.
        let mut read = Vec::new();
        for _ in 0..self.max_pages.max(1) {
            let url = self.page_url(group, page_start.as_ref())?;
            let (bytes, link, final_url) = match ctx.fetch(source, &url, &Conditional::default()).await? {
                Fetched::Body { bytes, link, final_url, .. } => (bytes, link, final_url),
                // Nothing was asked conditionally; a 304 can only mean nothing new.
                Fetched::NotModified { .. } => break,
            };
            let page = parse_page_off_runtime(bytes).await.map_err(|error| {
                PollError::failed(format!(
                    "mastodon instance {host}, query {}: malformed page: {error}",
                    query_label(group)
                ))
            })?;
            let Some(newest) = page.last().map(|(id, _)| id.clone()) else {
                break;
            };
            // A relative link target is relative to where the page came from.
            let from_link = link.as_deref().and_then(|header| link_prev_min_id(header, &final_url));
            let next = next_position(page_start.as_ref(), &newest, from_link);
            let progressed = page_start.as_ref().is_none_or(|current| &next > current);
            let full = page.len() >= PAGE_LIMIT;
            for (id, status) in page {
                read.push(id.clone());
                self.read_status(ctx, source, host, id, status, reading)?;
            }
            page_start = Some(next.clone());
            newest_read = Some(next);
            if first_run || !full || !progressed {
                break;
            }
        }
        Ok((newest_read, read))
    }

    /// Turns one status into a message, or counts why it is left out.
    fn read_status(
        &self,
        ctx: &SourceContext,
        source: &SourceSettings,
        host: &str,
        id: StatusId,
        status: Status,
        reading: &mut Reading,
    ) -> Result<(), PollError> {
        if reading.seen.binary_search(&id).is_ok() {
            // Delivered or counted in an earlier poll: read again in the overlap.
            reading.ids.insert(id);
            return Ok(());
        }
        if !reading.ids.insert(id.clone()) {
            reading.skip(Skip::Duplicate);
            return Ok(());
        }
        if let Some(why) = opt_out(&status) {
            reading.skip(why);
            return Ok(());
        }
        let text = clean(status.content.as_deref().unwrap_or_default(), true, self.max_text_chars);
        if text.is_empty() {
            reading.skip(Skip::Empty);
            return Ok(());
        }
        let title = status
            .spoiler_text
            .as_deref()
            .map(|spoiler| clean(spoiler, false, self.max_title_chars))
            .filter(|title| !title.is_empty());
        let published_at = status
            .created_at
            .as_deref()
            .and_then(|at| DateTime::<FixedOffset>::parse_from_rfc3339(at.trim()).ok())
            .filter(in_supported_range);
        let lang_hint = status.language.as_deref().map(|l| clean(l, false, 35)).filter(|l| !l.is_empty());
        let author = match status.account.acct.as_deref().map(str::trim).filter(|acct| !acct.is_empty()) {
            None => None,
            Some(acct) => {
                // Mastodon handles are case-insensitive; a local account's acct has no domain.
                let mut full = acct.to_lowercase();
                if !full.contains('@') {
                    full = format!("{full}@{host}");
                }
                Some(ctx.pseudonymize(PLATFORM, &full, reading.fetched_at)?)
            }
        };
        let url = self.api_url(&["statuses", &id.0])?;
        reading.messages.push(RawMessage {
            schema: SCHEMA_VERSION,
            id: MessageId::derive(&source.id, &status_key(host, &id)),
            source: source.id.clone(),
            source_kind: source.kind,
            url: Some(url.into()),
            title,
            text,
            published_at,
            fetched_at: reading.fetched_at,
            author,
            lang_hint,
        });
        Ok(())
    }
}

impl Poller for MastodonPoller {
    async fn poll(
        &self,
        ctx: &SourceContext,
        source: &SourceSettings,
        cursor: &SourceCursor,
    ) -> Result<Polled, PollError> {
        let host = self
            .instance
            .host_str()
            .ok_or_else(|| PollError::failed("the mastodon instance url has no host"))?
            .to_ascii_lowercase();
        let groups = tag_groups(&self.tags);
        if groups.is_empty() {
            return Err(PollError::failed(format!("mastodon instance {host}: no tags configured")));
        }
        let mut reading = Reading {
            fetched_at: Utc::now(),
            seen: seen_ids(cursor, &host),
            ids: BTreeSet::new(),
            messages: Vec::new(),
            skipped: BTreeMap::new(),
        };
        let stored = stored_positions(cursor);
        let mut positions = BTreeMap::new();
        let keep_read = self.max_pages.max(1).saturating_mul(PAGE_LIMIT) / 2 + 1;
        for group in &groups {
            let tags: Vec<String> = group.iter().map(|tag| tag.to_lowercase()).collect();
            // What this query read before: its own, not the other queries' statuses.
            let mut read_before: Vec<StatusId> = tags
                .iter()
                .filter_map(|tag| cursor.positions.get(&format!("{READ_PREFIX}{tag}")))
                .flat_map(|ids| ids.split(',').filter_map(StatusId::parse))
                .collect();
            read_before.sort();
            read_before.dedup();
            // A new tag joins the reading of the others; a group of new tags only is a first run.
            let lowest = tags.iter().filter_map(|tag| stored.get(tag)).min();
            let from = lowest.map(|position| {
                let from = self.overlap_start(position, &read_before);
                let full = self.overlap_floor(position);
                if from > full {
                    // The window was shortened to keep the position moving:
                    // a late status older than `from` is not read. Say so (R10).
                    let detail = format!(
                        "instance {host}, query tags:{}: more statuses in the last {} min than {} pages hold; \
                         late statuses before id {} are not read",
                        group.join(","),
                        self.lookback.as_secs() / 60,
                        self.max_pages.max(1),
                        from.0
                    );
                    CoverageGap { source: &source.id, kind: source.kind, reason: "overlap_cut", detail: &detail }
                        .emit();
                }
                from
            });
            let (newest, read_now) = self.read_group(ctx, source, &host, group, from, &mut reading).await?;
            read_before.extend(read_now);
            read_before.sort();
            read_before.dedup();
            let newest_read: Vec<&str> =
                read_before.iter().rev().take(keep_read).rev().map(|id| id.0.as_str()).collect();
            let newest_read = newest_read.join(",");
            for tag in tags {
                // A position only moves forward.
                if let Some(next) = [stored.get(&tag), newest.as_ref()].into_iter().flatten().max() {
                    positions.insert(tag_key(&tag), next.0.clone());
                }
                if !newest_read.is_empty() {
                    positions.insert(format!("{READ_PREFIX}{tag}"), newest_read.clone());
                }
            }
        }

        // Counted only now: a failed poll reads the same statuses again.
        for why in Skip::ALL {
            let count = reading.skipped.get(why.outcome()).copied().unwrap_or(0);
            ItemsSkipped { source: &source.id, kind: source.kind, outcome: why.outcome(), count }.emit();
        }
        let mut next_cursor = cursor.clone();
        // Tags no longer configured and the old per-query keys lose their position; the others move on.
        next_cursor.positions.retain(|key, _| {
            !key.starts_with(TAG_PREFIX) && !key.starts_with(QUERY_PREFIX) && !key.starts_with(READ_PREFIX)
        });
        next_cursor.positions.extend(positions);
        // Everything read, oldest first, so the window's keys stay known while it is read.
        let keys: Vec<String> = reading.ids.iter().map(|id| status_key(&host, id)).collect();
        let max_seen = self.max_seen.max(keys.len());
        next_cursor.remember(keys, max_seen);
        Ok(Polled { messages: reading.messages, next_cursor: Some(next_cursor), hint: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> StatusId {
        StatusId::parse(text).unwrap()
    }

    fn poller(tags: &[&str]) -> MastodonPoller {
        MastodonPoller {
            instance: Url::parse("https://mastodon.example/").unwrap(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            max_pages: 5,
            max_text_chars: 100,
            max_title_chars: 50,
            lookback: DEFAULT_LOOKBACK,
            max_seen: DEFAULT_MAX_SEEN,
        }
    }

    #[test]
    fn ids_compare_as_numbers() {
        assert!(id("9") < id("10"));
        assert!(id("113500000000000099") < id("113500000000000100"));
        assert!(id("2") < id("10"));
        assert_eq!(id("42"), id("42"));
        for bad in ["", "-1", "+1", "1.5", "01", "１２", "abc", "12 ", &"9".repeat(MAX_ID_DIGITS + 1)] {
            assert_eq!(StatusId::parse(bad), None, "{bad:?}");
        }
        assert!(StatusId::parse("0").is_some());
    }

    #[test]
    fn tags_are_grouped_by_four_in_order() {
        let tags: Vec<String> = ["#utrecht", "amersfoort", " ", "Stikstof", "stikstof", "boerenprotest", "trekkers"]
            .map(String::from)
            .to_vec();
        let groups = tag_groups(&tags);
        assert_eq!(groups, vec![vec!["utrecht", "amersfoort", "Stikstof", "boerenprotest"], vec!["trekkers"]]);
        assert_eq!(query_label(&groups[1]), "tags:trekkers");
        assert_eq!(tag_key(&groups[0][2]), "tag:stikstof");
        let instance = Url::parse("https://mastodon.example/").unwrap();
        assert_eq!(
            identity(&instance, &tags),
            "https://mastodon.example/ tags:utrecht,amersfoort,Stikstof,boerenprotest,trekkers"
        );
        assert_ne!(identity(&instance, &tags), identity(&instance, &tags[..2]));
    }

    fn snowflake(ms: u64, sequence: u64) -> StatusId {
        StatusId(((ms << SEQUENCE_BITS) | sequence).to_string())
    }

    #[test]
    fn the_overlap_reaches_back_the_lookback_and_no_more_than_half_the_page_budget() {
        let mut p = poller(&["a"]);
        let ms = 1_781_424_765_000_u64;
        let position = snowflake(ms, 7);
        let floor = snowflake(ms - 30 * 60 * 1000, 0);
        assert_eq!(p.overlap_start(&position, &[]), floor);
        p.lookback = Duration::ZERO;
        assert_eq!(p.overlap_start(&position, &[]), snowflake(ms, 0), "the position's own millisecond");
        p.lookback = Duration::MAX;
        assert_eq!(p.overlap_start(&position, &[]), id("0"), "saturating");
        let huge = id(&"9".repeat(25));
        assert_eq!(p.overlap_start(&huge, &[]), huge, "not a 64-bit number: no overlap");

        // Two pages a poll: at most 40 statuses already read are read again.
        p.lookback = DEFAULT_LOOKBACK;
        p.max_pages = 2;
        let below = (0..5).map(|n| snowflake(ms - 40 * 60 * 1000 + n, 0));
        let above = (1..4).map(|n| snowflake(ms + n, 0));
        let window = |count: u64| (0..count).map(move |n| snowflake(ms - 20 * 60 * 1000 + n * 1000, 0));
        let seen: Vec<StatusId> = below.clone().chain(window(40)).chain(above.clone()).collect();
        assert_eq!(p.overlap_start(&position, &seen), floor, "40 fit the budget");
        let seen: Vec<StatusId> = below.chain(window(41)).chain(above).collect();
        let start = p.overlap_start(&position, &seen);
        assert_eq!(start, seen[5], "the oldest of the window is left out");
        assert_eq!(seen.iter().filter(|id| **id > start && **id <= position).count(), 40);
    }

    #[test]
    fn positions_are_per_tag_and_old_query_keys_migrate() {
        let mut cursor = SourceCursor::default();
        for (key, value) in [
            ("tags:Utrecht,b", "100"),
            ("tags:c", "50"),
            ("tags:utrecht,e", "80"),
            ("tag:b", "200"),
            ("tag:d", "not a number"),
            ("tags:f", "-1"),
            ("other:stream", "7"),
        ] {
            cursor.positions.insert(key.into(), value.into());
        }
        let positions = stored_positions(&cursor);
        let expected: BTreeMap<String, StatusId> =
            [("utrecht", "80"), ("b", "200"), ("c", "50"), ("e", "80")].map(|(t, p)| (t.to_owned(), id(p))).into();
        assert_eq!(positions, expected, "the lowest old position; a tag's own key wins");
    }

    #[test]
    fn page_urls_are_percent_encoded() {
        let p = poller(&[]);
        let group: Vec<String> = ["café", "a b", "x&y=z", "#"].map(String::from).to_vec();
        let url = p.page_url(&group, Some(&id("113500000000000103"))).unwrap();
        assert_eq!(
            url.as_str(),
            "https://mastodon.example/api/v1/timelines/tag/caf%C3%A9?any%5B%5D=a+b&any%5B%5D=x%26y%3Dz&any%5B%5D=%23&limit=40&min_id=113500000000000103"
        );
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(a, b)| (a.into(), b.into())).collect();
        assert_eq!(pairs[1], ("any[]".to_owned(), "x&y=z".to_owned()));
        let slash = p.page_url(&["a/b".to_owned()], None).unwrap();
        assert_eq!(slash.as_str(), "https://mastodon.example/api/v1/timelines/tag/a%2Fb?limit=40");

        let mut sub = poller(&[]);
        sub.instance = Url::parse("https://example.nl/social?x=1#f").unwrap();
        assert_eq!(sub.api_url(&["statuses", "7"]).unwrap().as_str(), "https://example.nl/social/api/v1/statuses/7");
        sub.instance = Url::parse("mailto:a@example.nl").unwrap();
        assert!(sub.api_url(&["statuses", "7"]).is_err());
    }

    #[test]
    fn link_headers_are_read_robustly() {
        let base = Url::parse("https://mastodon.example/api/v1/timelines/tag/utrecht?limit=40").unwrap();
        let typical = "<https://mastodon.example/api/v1/timelines/tag/utrecht?limit=40&max_id=113500000000000104>; rel=\"next\", <https://mastodon.example/api/v1/timelines/tag/utrecht?limit=40&min_id=113500000000000143>; rel=\"prev\"";
        assert_eq!(link_prev_min_id(typical, &base), Some(id("113500000000000143")));
        let cases = [
            ("<https://m.example/x?min_id=5>; rel=prev", Some("5")),
            ("<https://m.example/x?min_id=5>; REL=\"previous\"", Some("5")),
            ("<https://m.example/x?min_id=5>; rel=\"up prev\"", Some("5")),
            ("</api/v1/timelines/tag/utrecht?min_id=6>; rel=\"prev\"", Some("6")),
            (
                "<https://m.example/x?min_id=4>; title=\"a, <b>; rel=prev\"; rel=next, <https://m.example/x?min_id=7>; rel=prev",
                Some("7"),
            ),
            ("<https://m.example/x?min_id=abc>; rel=prev, <https://m.example/x?min_id=8>; rel=prev", Some("8")),
            ("<https://m.example/x?max_id=5>; rel=\"next\"", None),
            ("<https://m.example/x?min_id=5>; rel=\"prevx\"", None),
            ("<https://m.example/x?min_id=05>; rel=prev", None),
            ("<https://m.example/x?min_id=5; rel=prev", None),
            ("https://m.example/x?min_id=5; rel=prev", None),
            ("<http://[::1>; rel=prev", None),
            ("", None),
            ("<>; rel=prev", None),
            (",,,;;;\"\"\"<<>>", None),
        ];
        for (header, expected) in cases {
            assert_eq!(link_prev_min_id(header, &base), expected.map(id), "{header}");
        }
        // Every prefix (on a character boundary) of odd input is read without panicking.
        let odd = format!("{typical}, <ü\u{202E}>; rel=\"pr\\\"ev\"; é=, <x?min_id=9>; rel=prev");
        for (at, _) in odd.char_indices() {
            let _ = link_prev_min_id(&odd[..at], &base);
        }
        assert_eq!(link_prev_min_id(&odd, &base), Some(id("113500000000000143")));
    }

    #[test]
    fn the_position_never_goes_back_or_skips() {
        let (p100, p140, p150) = (id("100"), id("140"), id("150"));
        assert_eq!(next_position(None, &p140, None), p140);
        assert_eq!(next_position(Some(&p100), &p140, Some(p140.clone())), p140);
        // A link before the page's newest id is honoured; beyond it, or behind the old position, is not.
        assert_eq!(next_position(Some(&p100), &p150, Some(p140.clone())), p140);
        assert_eq!(next_position(Some(&p100), &p140, Some(p150.clone())), p140);
        assert_eq!(next_position(Some(&p140), &p150, Some(p100.clone())), p150);
        // A page of old statuses does not move the position back.
        assert_eq!(next_position(Some(&p150), &p100, None), p150);
    }

    #[test]
    fn pages_are_parsed_without_quoting_them() {
        let page = br#"[{"id": "12", "visibility": "public", "content": "<p>b</p>", "account": {"acct": "x"}},
            {"id": "9", "visibility": "public", "content": "<p>a</p>", "account": {"acct": "x"}, "reblog": null}]"#;
        let parsed = parse_page(page).unwrap();
        assert_eq!(parsed.iter().map(|(id, _)| id.0.as_str()).collect::<Vec<_>>(), ["9", "12"]);
        assert!(parsed[0].1.reblog.is_none());
        assert!(matches!(parse_page(b"\xEF\xBB\xBF []").unwrap().as_slice(), []));
        for (body, expected) in [
            (&br#"{"error": "canary_handle_77"}"#[..], "the body is not a json array of statuses"),
            (b"", "the body is not a json array of statuses"),
            (
                br#"[{"id": "1", "account": {"acct": "canary_handle_77", "indexable": "canary_handle_77"}}]"#,
                "line 1 column",
            ),
            (br#"[{"id": 1, "account": {"acct": "canary_handle_77"}}]"#, "wrong type"),
            (br#"[{"id": "1", "account": {"acct": "canary_handle_77"}"#, "unexpected end of input"),
            (br#"[{"id": "1"}, {"id": "canary_handle_77", "account": {}}]"#, "line 1 column"),
            (br#"[{"id": "1", "account": {}}, {"id": "canary_handle_77", "account": {}}]"#, "status 2 of the page"),
        ] {
            let message = parse_page(body).err().unwrap().to_string();
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains("canary"), "{message}");
        }
    }

    #[test]
    fn opt_outs_are_recognised() {
        let status = |json: &str| serde_json::from_str::<Status>(json).unwrap();
        let base = r#""id": "1", "content": "x""#;
        let cases = [
            (r#""visibility": "public", "account": {}"#, None),
            (r#""visibility": "public", "account": {"indexable": true, "noindex": false}"#, None),
            (r#""visibility": "public", "account": {"indexable": null, "noindex": null}"#, None),
            (r#""visibility": "unlisted", "account": {}"#, Some(Skip::NotPublic)),
            (r#""visibility": "private", "account": {}"#, Some(Skip::NotPublic)),
            (r#""visibility": "direct", "account": {}"#, Some(Skip::NotPublic)),
            (r#""account": {}"#, Some(Skip::NotPublic)),
            (r#""visibility": "public", "account": {"indexable": false}"#, Some(Skip::NotIndexable)),
            (r#""visibility": "public", "account": {"noindex": true}"#, Some(Skip::Noindex)),
            (r#""visibility": "public", "account": {}, "reblog": {"id": "2"}"#, Some(Skip::Reblog)),
        ];
        for (fields, expected) in cases {
            assert_eq!(opt_out(&status(&format!("{{{base}, {fields}}}"))), expected, "{fields}");
        }
    }
}
