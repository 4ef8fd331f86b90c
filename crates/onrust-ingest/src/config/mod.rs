//! What a `[[sources]]` entry says about how to read, by kind: each kind
//! owns its typed keys (`deny_unknown_fields`), checks them all at once
//! (`validate`) and builds the source task that reads (`build`). The
//! binary only composes: it adds what every entry has (id, interval,
//! mandate, municipalities) and puts the problems under the entry's key.
//!
//! The kinds' keys are in the kinds' own modules: [`FeedConfig`] for the
//! four feed-read kinds, [`MastodonConfig`], [`BlueskyConfig`] and
//! [`TelegramConfig`]. A key another kind takes is refused with the kinds
//! that do take it ([`SourceParams::unknown_key`]).

use std::sync::Arc;
use std::time::Duration;

use onrust_model::{Ack, Deletion, Problem, RawMessage, SourceId};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

pub use crate::bluesky::config::BlueskyConfig;
use crate::bluesky::{JetstreamSource, Relevance};
use crate::feed::FeedSource;
pub use crate::feed::config::FeedConfig;
use crate::mastodon::MastodonSource;
pub use crate::mastodon::config::{MAX_MASTODON_TAGS, MastodonConfig};
use crate::source::SourceContext;
use crate::telegram::TelegramSource;
pub use crate::telegram::config::{MAX_TELEGRAM_INTERVAL, TelegramConfig};

pub(crate) mod address;
mod fields;

pub use address::redacted;

/// The kinds of source by their configuration name. `feed`, `reddit`,
/// `youtube` and `authority` are feeds read by the same safe fetcher and
/// parser; the kind is what their messages carry (`source_kind`), so rules
/// and searches can tell them apart. `mastodon` and `telegram` are polled
/// over the same fetcher; `bluesky` is a Jetstream WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
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
    /// Every kind, in the order the configuration reference lists them.
    pub const ALL: [SourceKindConfig; 7] =
        [Self::Feed, Self::Reddit, Self::Youtube, Self::Authority, Self::Mastodon, Self::Bluesky, Self::Telegram];

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

    /// The kind named `name` in a configuration, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// A source's kind (`kind = "…"`) and that kind's own keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceParams {
    /// RSS, Atom or JSON Feed.
    Feed(FeedConfig),
    /// A subreddit's `.rss`.
    Reddit(FeedConfig),
    /// A YouTube channel's feed.
    Youtube(FeedConfig),
    /// The authorities' own publications.
    Authority(FeedConfig),
    /// Hashtag timelines of one Mastodon instance.
    Mastodon(MastodonConfig),
    /// A Jetstream stream of Bluesky posts.
    Bluesky(BlueskyConfig),
    /// A public Telegram channel's web preview.
    Telegram(TelegramConfig),
}

/// What a kind's checks need to know beyond its own keys.
#[derive(Debug, Clone, Copy)]
pub struct SourceChecks<'a> {
    /// `ingest.allow_hosts`: hosts exempt from the egress guard.
    pub allow_hosts: &'a [String],
    /// The source's poll interval.
    pub interval: Duration,
}

/// Why a validated source could still not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The URL does not parse.
    #[error("source {source_id}: bad url {url:?}")]
    Url {
        /// The source.
        source_id: SourceId,
        /// The URL as written, without credentials.
        url: String,
        /// What the URL parser said.
        #[source]
        error: ::url::ParseError,
    },
    /// The kind refuses what it was given.
    #[error("source {source_id}: {problem}")]
    Invalid {
        /// The source.
        source_id: SourceId,
        /// What is wrong: the kind's own error.
        #[source]
        problem: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stream that filters on relevance was built without one.
    #[error("source {0}: a bluesky source needs the lexicons to filter on")]
    NoRelevance(SourceId),
}

impl BuildError {
    pub(crate) fn url(id: &SourceId, text: &str, error: ::url::ParseError) -> Self {
        Self::Url { source_id: id.clone(), url: redacted(text), error }
    }
}

impl SourceParams {
    /// The kind.
    pub fn kind(&self) -> SourceKindConfig {
        match self {
            Self::Feed(_) => SourceKindConfig::Feed,
            Self::Reddit(_) => SourceKindConfig::Reddit,
            Self::Youtube(_) => SourceKindConfig::Youtube,
            Self::Authority(_) => SourceKindConfig::Authority,
            Self::Mastodon(_) => SourceKindConfig::Mastodon,
            Self::Bluesky(_) => SourceKindConfig::Bluesky,
            Self::Telegram(_) => SourceKindConfig::Telegram,
        }
    }

    /// Where the source reads, as written.
    pub fn url(&self) -> &str {
        match self {
            Self::Feed(c) | Self::Reddit(c) | Self::Youtube(c) | Self::Authority(c) => &c.url,
            Self::Mastodon(c) => &c.url,
            Self::Bluesky(c) => &c.url,
            Self::Telegram(c) => &c.url,
        }
    }

    /// Whether the source streams rather than polls.
    pub fn streams(&self) -> bool {
        matches!(self, Self::Bluesky(_))
    }

    /// Every problem of the kind's keys, each under its key (`url`, `tags`, …).
    pub fn validate(&self, checks: &SourceChecks<'_>) -> Vec<Problem> {
        match self {
            Self::Feed(c) | Self::Reddit(c) | Self::Youtube(c) | Self::Authority(c) => c.validate(self.kind(), checks),
            Self::Mastodon(c) => c.validate(checks),
            Self::Bluesky(c) => c.validate(checks),
            Self::Telegram(c) => c.validate(checks),
        }
    }

    /// The task that reads source `id` every `interval` (a stream: paced by
    /// `interval` only for its health), letting in what `relevance` keeps
    /// where the kind filters on it.
    pub fn build(
        &self,
        id: SourceId,
        interval: Duration,
        relevance: Option<Arc<dyn Relevance>>,
    ) -> Result<SourceWorker, BuildError> {
        Ok(match self {
            Self::Feed(c) | Self::Reddit(c) | Self::Youtube(c) | Self::Authority(c) => {
                SourceWorker::Feed(c.build(self.kind(), id, interval)?)
            }
            Self::Mastodon(c) => SourceWorker::Mastodon(c.build(id, interval)?),
            Self::Telegram(c) => SourceWorker::Telegram(c.build(id, interval)?),
            Self::Bluesky(c) => {
                let relevance = relevance.ok_or_else(|| BuildError::NoRelevance(id.clone()))?;
                SourceWorker::Bluesky(Box::new(c.build(id, interval, relevance)?))
            }
        })
    }

    /// The keys a source of `kind` takes besides `kind` itself.
    pub fn keys(kind: SourceKindConfig) -> &'static [&'static str] {
        match kind {
            SourceKindConfig::Feed
            | SourceKindConfig::Reddit
            | SourceKindConfig::Youtube
            | SourceKindConfig::Authority => fields::fields_of::<FeedConfig>(),
            SourceKindConfig::Mastodon => fields::fields_of::<MastodonConfig>(),
            SourceKindConfig::Bluesky => fields::fields_of::<BlueskyConfig>(),
            SourceKindConfig::Telegram => fields::fields_of::<TelegramConfig>(),
        }
    }

    /// The problem with `key` in a source of `kind` that does not take it:
    /// which kinds do take it, if any.
    pub fn unknown_key(kind: SourceKindConfig, key: &str) -> Problem {
        let takers: Vec<&str> =
            SourceKindConfig::ALL.into_iter().filter(|k| Self::keys(*k).contains(&key)).map(|k| k.name()).collect();
        let message = if takers.is_empty() {
            "unknown key".to_owned()
        } else {
            format!("a {} source takes no {key}; only {} does", kind.name(), takers.join(" and "))
        };
        Problem::new(key, message)
    }
}

/// A built source, ready to run: a polled one or a stream.
pub enum SourceWorker {
    /// A feed-read source.
    Feed(FeedSource),
    /// A Mastodon instance's tag timelines.
    Mastodon(MastodonSource),
    /// A Telegram channel's preview.
    Telegram(TelegramSource),
    /// A Jetstream stream (boxed: it carries its limits).
    Bluesky(Box<JetstreamSource>),
}

impl SourceWorker {
    /// Runs until `stop` says so: messages go to `messages`, what a source
    /// reports deleted (Bluesky) to `deletions`.
    pub async fn run(
        self,
        context: SourceContext,
        messages: mpsc::Sender<(RawMessage, Ack)>,
        deletions: mpsc::Sender<(Deletion, Ack)>,
        stop: watch::Receiver<bool>,
    ) {
        match self {
            Self::Feed(source) => source.run(context, messages, stop).await,
            Self::Mastodon(source) => source.run(context, messages, stop).await,
            Self::Telegram(source) => source.run(context, messages, stop).await,
            Self::Bluesky(source) => source.run(context, messages, deletions, stop).await,
        }
    }
}

#[cfg(test)]
mod tests;
