//! Durations as the configuration writes them.

use std::time::Duration;

use serde::Deserialize;

/// A duration written as a string: `"30s"`, `"5m"`, `"1h"`, `"28d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map(HumanDuration)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a duration such as \"30s\" or \"5m\": {e}")))
    }
}
