//! `[[sources]]`: what is read, how often, under which mandate, for which
//! municipalities.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::{Collector, HumanDuration, IngestConfig, checks, mandate_checks, places};

/// The kinds of source. `feed`, `reddit`, `youtube` and `authority` are feeds
/// read by the same safe fetcher and parser; the kind is what their messages
/// carry (`source_kind`), so rules and searches can tell them apart.
/// `mastodon` and `telegram` are polled over the same fetcher; `bluesky` is a
/// Jetstream WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKindConfig {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// A subreddit's `.rss` (the `.json` endpoints answer 403 without login).
    Reddit,
    /// A channel's `feeds/videos.xml?channel_id=…`: title and description.
    Youtube,
    /// The authorities' own publications: politie.nl news, official municipal
    /// publications (emergency ordinances), as `source_kind = "authority"`.
    Authority,
    /// Hashtag timelines of one Mastodon instance (`url` is the instance, `tags` the hashtags).
    Mastodon,
    /// Bluesky posts from a Jetstream instance (`url` is its `wss://…/subscribe`).
    Bluesky,
    /// A public Telegram channel's web preview (`url` is `https://t.me/s/<channel>`).
    Telegram,
}

impl SourceKindConfig {
    /// The kind the messages of such a source carry.
    pub fn message_kind(self) -> onrust_model::SourceKind {
        match self {
            Self::Feed => onrust_model::SourceKind::Feed,
            Self::Reddit => onrust_model::SourceKind::Reddit,
            Self::Youtube => onrust_model::SourceKind::Youtube,
            Self::Authority => onrust_model::SourceKind::Authority,
            Self::Mastodon => onrust_model::SourceKind::Mastodon,
            Self::Bluesky => onrust_model::SourceKind::Bluesky,
            Self::Telegram => onrust_model::SourceKind::Telegram,
        }
    }

    /// The configuration's name of the kind.
    pub fn name(self) -> &'static str {
        self.message_kind().as_str()
    }
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Stable id, `[a-z0-9_-]`; part of every message id from this source.
    pub id: String,
    /// `feed` (RSS, Atom, JSON Feed), `reddit`, `youtube`, `authority`,
    /// `mastodon`, `bluesky` or `telegram`.
    pub kind: SourceKindConfig,
    /// Where to read: the feed (http, https); the Mastodon instance
    /// (`https://mastodon.nl`); the Jetstream endpoint (`wss://…/subscribe`);
    /// the channel preview (`https://t.me/s/<channel>`).
    pub url: String,
    /// How often to poll; the feed's own ttl, max-age or Retry-After can only
    /// make it longer. Not used by `bluesky`, which streams.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Set to false to keep the entry but not poll it.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The municipalities (CBS codes) this source covers, for the coverage
    /// metric (rule R10); empty: the whole region (a regional source).
    #[serde(default)]
    pub municipalities: Vec<String>,
    /// `mastodon` only: the hashtags to follow, without `#`; queried four at a time.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `bluesky` only: the post languages (`langs` tags, ISO 639-1) let in; default `["nl"]`.
    #[serde(default)]
    pub languages: Vec<String>,
    /// The `[[mandates]]` id this source runs under (rule L5); required.
    #[serde(default)]
    pub mandate: Option<String>,
}

impl SourceConfig {
    /// The languages a `bluesky` source lets in.
    pub fn bluesky_languages(&self) -> Vec<String> {
        if self.languages.is_empty() { vec!["nl".to_owned()] } else { self.languages.clone() }
    }
}

/// Most hashtags one Mastodon source follows (each four is one request per poll).
pub const MAX_MASTODON_TAGS: usize = 40;

/// Telegram previews show only the latest few dozen posts: a slower poll misses some on a busy channel.
pub const MAX_TELEGRAM_INTERVAL: Duration = Duration::from_secs(30 * 60);

fn default_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(300))
}
fn default_true() -> bool {
    true
}

/// The checks that depend on a source's kind: the URL's form, and the keys only some kinds take.
fn validate_source_kind(
    source: &SourceConfig,
    allow_hosts: &[String],
    key: &dyn Fn(&str) -> String,
    c: &mut Collector,
) {
    use SourceKindConfig as K;
    let url = match url::Url::parse(&source.url) {
        Ok(url) => url,
        Err(e) => return c.push(key("url"), format!("{:?} is not a URL: {e}", checks::redacted(&source.url))),
    };
    let schemes: &[&str] = if source.kind == K::Bluesky { &["wss", "ws"] } else { &["https", "http"] };
    if !schemes.contains(&url.scheme()) {
        let allowed = schemes.join(" or ");
        c.push(
            key("url"),
            format!("scheme {:?} is not allowed for kind {}; use {allowed}", url.scheme(), source.kind.name()),
        );
    } else {
        for problem in checks::source_url(&source.url, &url, allow_hosts) {
            c.push(key("url"), problem);
        }
    }
    if source.kind != K::Mastodon && !source.tags.is_empty() {
        c.push(key("tags"), format!("only a mastodon source follows tags, not kind {}", source.kind.name()));
    }
    if source.kind != K::Bluesky && !source.languages.is_empty() {
        c.push(
            key("languages"),
            format!("only a bluesky source filters on languages, not kind {}", source.kind.name()),
        );
    }
    match source.kind {
        K::Mastodon => {
            if !matches!(url.path(), "" | "/") || url.query().is_some() {
                c.push(key("url"), "a mastodon source's url is the instance itself, such as \"https://mastodon.nl\"");
            }
            if source.tags.is_empty() {
                c.push(key("tags"), "a mastodon source needs at least one hashtag to follow");
            }
            if source.tags.len() > MAX_MASTODON_TAGS {
                c.push(
                    key("tags"),
                    format!("at most {MAX_MASTODON_TAGS} tags per source; split them over more sources"),
                );
            }
            let mut seen = HashSet::new();
            for tag in &source.tags {
                let valid = !tag.is_empty()
                    && tag.chars().count() <= 100
                    && tag.chars().all(|ch| ch.is_alphanumeric() || ch == '_');
                if !valid {
                    c.push(key("tags"), format!("{tag:?} is not a hashtag: letters, digits and _ only, without #"));
                } else if !seen.insert(tag.to_lowercase()) {
                    c.push(key("tags"), format!("{tag:?} is listed twice"));
                }
            }
        }
        K::Telegram => {
            if let Err(e) = onrust_ingest::telegram::channel_of(&url) {
                c.push(key("url"), format!("{e}, such as \"https://t.me/s/channel\""));
            }
            if source.interval.0 > MAX_TELEGRAM_INTERVAL {
                c.push(key("interval"), "at most 30m for telegram: the preview shows only the latest few dozen posts");
            }
        }
        K::Bluesky => {
            // Its delete events remove archived messages: nobody on the way may inject them.
            let guard = onrust_ingest::fetch::guard::EgressGuard::new(allow_hosts);
            let local = url.host_str().is_some_and(|host| guard.is_allowed_host(host));
            if url.scheme() == "ws" && !local {
                c.push(key("url"), "ws:// is unencrypted; use wss:// (ws only towards a host in ingest.allow_hosts)");
            }
            for lang in &source.languages {
                if lang.len() != 2 || !lang.chars().all(|ch| ch.is_ascii_lowercase()) {
                    c.push(key("languages"), format!("{lang:?} is not an ISO 639-1 code such as \"nl\""));
                }
            }
        }
        K::Feed | K::Reddit | K::Youtube | K::Authority => {}
    }
}

/// The sources as read, each with its place in the file, so a later problem
/// names the right entry even when an earlier one could not be read.
pub(super) struct Sources {
    pub entries: Vec<SourceConfig>,
    pub positions: Vec<usize>,
}

impl Sources {
    /// Whether each source's mandate covers it (rule L5).
    pub fn check_mandates(&self, bound: &mandate_checks::Bound<'_>, c: &mut Collector) {
        for (source, at) in self.entries.iter().zip(&self.positions) {
            for (field, problem) in bound.source_problems(source) {
                c.push(format!("sources[{at}].{field}"), problem);
            }
        }
    }
}

impl Collector {
    /// Reads `[[sources]]` entry by entry.
    pub(super) fn sources(&mut self, table: &mut toml::Table) -> Sources {
        let mut sources = Sources { entries: Vec::new(), positions: Vec::new() };
        for (i, entry) in self.entries(table, "sources").into_iter().enumerate() {
            if let Some(mut source) = self.value::<SourceConfig>(&format!("sources[{i}]"), entry) {
                places::normalise(&mut source.municipalities);
                sources.entries.push(source);
                sources.positions.push(i);
            }
        }
        sources
    }
}

/// Ids unique, each kind's own checks, a polite interval that a poll fits
/// in, municipalities of the region.
pub(super) fn validate(sources: &[SourceConfig], source_positions: &[usize], ingest: &IngestConfig, c: &mut Collector) {
    let mut seen = HashSet::new();
    for (i, source) in sources.iter().enumerate() {
        let at = source_positions.get(i).copied().unwrap_or(i);
        let key = |field: &str| format!("sources[{at}].{field}");
        if let Err(e) = onrust_model::SourceId::new(source.id.clone()) {
            c.push(key("id"), e.to_string());
        }
        if !seen.insert(source.id.clone()) {
            c.push(key("id"), format!("{:?} is used by an earlier source; ids must be unique", source.id));
        }
        validate_source_kind(source, &ingest.allow_hosts, &key, c);
        if source.interval.0 < Duration::from_secs(10) {
            c.push(key("interval"), "must be at least 10s; be polite to feed operators");
        }
        if source.interval.0 > Duration::from_secs(7 * 24 * 3600) {
            c.push(key("interval"), "must be at most 7d");
        }
        // A poll must be able to end before the next is due (Bluesky streams, it does not poll).
        if source.kind != SourceKindConfig::Bluesky
            && source.interval.0 >= Duration::from_secs(10)
            && source.interval.0 < ingest.total_timeout.0
        {
            c.push(
                key("interval"),
                format!(
                    "{} is shorter than ingest.total_timeout ({}): a poll may take that long",
                    humantime::format_duration(source.interval.0),
                    humantime::format_duration(ingest.total_timeout.0)
                ),
            );
        }
        for code in &source.municipalities {
            match onrust_model::MunicipalityCode::new(code.clone()) {
                Err(_) => c.push(key("municipalities"), format!("{code:?} is not a CBS code such as \"GM0344\"")),
                Ok(code) => {
                    if let Some(problem) = c.places.unknown(&code) {
                        c.push(key("municipalities"), problem);
                    }
                }
            }
        }
    }
}
