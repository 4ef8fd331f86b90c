//! `[privacy]`: how long a pseudonym key lives (rule L2).

use std::time::Duration;

use serde::Deserialize;

use super::{Collector, HumanDuration};

/// `[privacy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// How long one pseudonym key lives; authors get a new pseudonym each period (rule L2).
    #[serde(default = "default_pseudonym_period")]
    pub pseudonym_period: HumanDuration,
}

fn default_pseudonym_period() -> HumanDuration {
    HumanDuration(Duration::from_secs(28 * 24 * 3600))
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self { pseudonym_period: default_pseudonym_period() }
    }
}

impl PrivacyConfig {
    pub(super) fn validate(&self, c: &mut Collector) {
        let secs = Duration::from_secs;
        c.duration_within("privacy.pseudonym_period", self.pseudonym_period.0, secs(3600), secs(10 * 366 * 24 * 3600));
    }
}
