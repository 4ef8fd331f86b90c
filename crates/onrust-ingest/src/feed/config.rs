//! The keys of a source read as a feed (`feed`, `reddit`, `youtube`,
//! `authority`): where to read, nothing else. The kind only says what the
//! messages carry as `source_kind`.

use onrust_model::{Problem, SourceId};
use serde::Deserialize;
use url::Url;

use super::FeedSource;
use crate::config::{BuildError, SourceChecks, SourceKindConfig, address};
use crate::source::SourceSettings;

/// A feed-read source's own keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// The feed (RSS, Atom or JSON Feed) over http or https; for `reddit` a
    /// subreddit's `.rss`, for `youtube` a channel's `feeds/videos.xml?channel_id=…`.
    pub url: String,
}

impl FeedConfig {
    /// Every problem of these keys for a source of `kind`.
    pub fn validate(&self, kind: SourceKindConfig, checks: &SourceChecks<'_>) -> Vec<Problem> {
        let mut problems = Vec::new();
        address::check(&self.url, kind.name(), &["https", "http"], checks.allow_hosts, &mut problems);
        problems
    }

    /// The polled feed source of `kind` that reads it.
    pub fn build(
        &self,
        kind: SourceKindConfig,
        id: SourceId,
        interval: std::time::Duration,
    ) -> Result<FeedSource, BuildError> {
        let url = Url::parse(&self.url).map_err(|e| BuildError::url(&id, &self.url, e))?;
        let settings = SourceSettings::new(id, kind.message_kind(), url.as_str(), interval);
        Ok(FeedSource::feed(settings, url))
    }
}
