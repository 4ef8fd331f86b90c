//! The keys of a `bluesky` source: a Jetstream endpoint and the post
//! languages let in.

use std::sync::Arc;
use std::time::Duration;

use onrust_model::{Problem, SourceId, SourceKind};
use serde::Deserialize;
use url::Url;

use super::{JetstreamSource, Relevance};
use crate::config::{BuildError, SourceChecks, address};
use crate::fetch::guard::EgressGuard;
use crate::source::SourceSettings;

/// A `bluesky` source's own keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    /// The Jetstream endpoint, `wss://…/subscribe`.
    pub url: String,
    /// The post languages (`langs` tags, ISO 639-1) let in; empty or left out: `["nl"]`.
    #[serde(default)]
    pub languages: Vec<String>,
}

impl BlueskyConfig {
    /// The languages let in: those listed, or Dutch.
    pub fn languages(&self) -> Vec<String> {
        if self.languages.is_empty() { vec!["nl".to_owned()] } else { self.languages.clone() }
    }

    /// Every problem of these keys: an encrypted stream (ws only towards an
    /// allowed host), languages as ISO 639-1 codes.
    pub fn validate(&self, checks: &SourceChecks<'_>) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(url) = address::check(&self.url, "bluesky", &["wss", "ws"], checks.allow_hosts, &mut problems) {
            // Its delete events remove archived messages: nobody on the way may inject them.
            let guard = EgressGuard::new(checks.allow_hosts);
            let local = url.host_str().is_some_and(|host| guard.is_allowed_host(host));
            if url.scheme() == "ws" && !local {
                problems.push(Problem::new(
                    "url",
                    "ws:// is unencrypted; use wss:// (ws only towards a host in ingest.allow_hosts)",
                ));
            }
        }
        for lang in &self.languages {
            if lang.len() != 2 || !lang.chars().all(|ch| ch.is_ascii_lowercase()) {
                problems.push(Problem::new("languages", format!("{lang:?} is not an ISO 639-1 code such as \"nl\"")));
            }
        }
        problems
    }

    /// The stream that reads this endpoint, letting in what `relevance` keeps.
    /// `interval` only paces the source's health, as the stream does not poll.
    pub fn build(
        &self,
        id: SourceId,
        interval: Duration,
        relevance: Arc<dyn Relevance>,
    ) -> Result<JetstreamSource, BuildError> {
        let url = Url::parse(&self.url).map_err(|e| BuildError::url(&id, &self.url, e))?;
        let settings = SourceSettings::new(id, SourceKind::Bluesky, url.as_str(), interval);
        Ok(JetstreamSource::new(settings, url, self.languages(), relevance))
    }
}
