//! The keys of a `mastodon` source: the instance and the hashtags to follow.

use std::collections::HashSet;

use onrust_model::{Problem, SourceId, SourceKind};
use serde::Deserialize;
use url::Url;

use super::{MastodonSource, identity};
use crate::config::{BuildError, SourceChecks, address};
use crate::source::SourceSettings;

/// Most hashtags one Mastodon source follows (each four is one request per poll).
pub const MAX_MASTODON_TAGS: usize = 40;

/// A `mastodon` source's own keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    /// The instance itself, such as `https://mastodon.nl`.
    pub url: String,
    /// The hashtags to follow, without `#`; queried four at a time.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl MastodonConfig {
    /// Every problem of these keys: the instance's URL, at least one and at
    /// most [`MAX_MASTODON_TAGS`] hashtags, each once.
    pub fn validate(&self, checks: &SourceChecks<'_>) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(url) = address::check(&self.url, "mastodon", &["https", "http"], checks.allow_hosts, &mut problems)
            && (!matches!(url.path(), "" | "/") || url.query().is_some())
        {
            problems.push(Problem::new(
                "url",
                "a mastodon source's url is the instance itself, such as \"https://mastodon.nl\"",
            ));
        }
        if self.tags.is_empty() {
            problems.push(Problem::new("tags", "a mastodon source needs at least one hashtag to follow"));
        }
        if self.tags.len() > MAX_MASTODON_TAGS {
            problems.push(Problem::new(
                "tags",
                format!("at most {MAX_MASTODON_TAGS} tags per source; split them over more sources"),
            ));
        }
        let mut seen = HashSet::new();
        for tag in &self.tags {
            let valid = !tag.is_empty()
                && tag.chars().count() <= 100
                && tag.chars().all(|ch| ch.is_alphanumeric() || ch == '_');
            if !valid {
                problems.push(Problem::new(
                    "tags",
                    format!("{tag:?} is not a hashtag: letters, digits and _ only, without #"),
                ));
            } else if !seen.insert(tag.to_lowercase()) {
                problems.push(Problem::new("tags", format!("{tag:?} is listed twice")));
            }
        }
        problems
    }

    /// The polled source that reads these tags on this instance.
    pub fn build(&self, id: SourceId, interval: std::time::Duration) -> Result<MastodonSource, BuildError> {
        let instance = Url::parse(&self.url).map_err(|e| BuildError::url(&id, &self.url, e))?;
        let settings = SourceSettings::new(id, SourceKind::Mastodon, identity(&instance, &self.tags), interval);
        Ok(MastodonSource::mastodon(settings, instance, self.tags.clone()))
    }
}
