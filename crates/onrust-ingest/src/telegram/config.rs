//! The keys of a `telegram` source: a public channel's web preview.

use std::time::Duration;

use onrust_model::{Problem, SourceId, SourceKind};
use serde::Deserialize;
use url::Url;

use super::{TelegramSource, channel_of};
use crate::config::{BuildError, SourceChecks, address};
use crate::source::SourceSettings;

/// Telegram previews show only the latest few dozen posts: a slower poll misses some on a busy channel.
pub const MAX_TELEGRAM_INTERVAL: Duration = Duration::from_secs(30 * 60);

/// A `telegram` source's own keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The channel's preview, `https://t.me/s/<channel>`.
    pub url: String,
}

impl TelegramConfig {
    /// Every problem of these keys: a preview URL, and a poll frequent
    /// enough for what a preview shows.
    pub fn validate(&self, checks: &SourceChecks<'_>) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(url) = address::check(&self.url, "telegram", &["https", "http"], checks.allow_hosts, &mut problems)
            && let Err(e) = channel_of(&url)
        {
            problems.push(Problem::new("url", format!("{e}, such as \"https://t.me/s/channel\"")));
        }
        if checks.interval > MAX_TELEGRAM_INTERVAL {
            problems.push(Problem::new(
                "interval",
                "at most 30m for telegram: the preview shows only the latest few dozen posts",
            ));
        }
        problems
    }

    /// The polled source that reads this channel's preview.
    pub fn build(&self, id: SourceId, interval: Duration) -> Result<TelegramSource, BuildError> {
        let url = Url::parse(&self.url).map_err(|e| BuildError::url(&id, &self.url, e))?;
        let settings = SourceSettings::new(id.clone(), SourceKind::Telegram, url.as_str(), interval);
        TelegramSource::telegram(settings, url).map_err(|e| BuildError::Invalid { source_id: id, problem: Box::new(e) })
    }
}
