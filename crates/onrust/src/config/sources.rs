//! `[[sources]]`: what every source has (id, interval, mandate,
//! municipalities) beside its kind's own keys, which the kind owns in
//! `onrust_ingest::config` (typed, `deny_unknown_fields`, checked there).

use std::collections::HashSet;
use std::time::Duration;

pub use onrust_ingest::config::SourceKindConfig;
use onrust_ingest::config::{SourceChecks, SourceParams};
use serde::Deserialize;

use super::{Collector, HumanDuration, IngestConfig, mandate_checks, places};

/// One `[[sources]]` entry. No `deny_unknown_fields` here: serde does not
/// support it beside `flatten`. Every key that is not one of these goes to
/// the kind's own struct, which refuses what it does not take; the reader
/// (`Collector::sources`) names such a key first.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceConfig {
    /// Stable id, `[a-z0-9_-]`; part of every message id from this source.
    pub id: String,
    /// How often to poll; the feed's own ttl, max-age or Retry-After can only
    /// make it longer. `bluesky` streams: for it this is only how long a
    /// silence may last before the source counts as not delivering (R10).
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Set to false to keep the entry but not poll it.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The municipalities (CBS codes) this source covers, for the coverage
    /// metric (rule R10); empty: the whole region (a regional source).
    #[serde(default)]
    pub municipalities: Vec<String>,
    /// The `[[mandates]]` id this source runs under (rule L5); required.
    #[serde(default)]
    pub mandate: Option<String>,
    /// `kind = "…"` and the keys that kind takes (`url`; `tags` for
    /// mastodon; `languages` for bluesky).
    #[serde(flatten)]
    pub params: SourceParams,
}

/// The keys every entry may have, whatever its kind: the fields above (a
/// field added there and not here would be refused as an unknown key).
const COMMON_KEYS: [&str; 6] = ["id", "kind", "interval", "enabled", "municipalities", "mandate"];

impl SourceConfig {
    /// The source's kind.
    pub fn kind(&self) -> SourceKindConfig {
        self.params.kind()
    }

    /// Where it reads, as written.
    pub fn url(&self) -> &str {
        self.params.url()
    }
}

fn default_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(300))
}
fn default_true() -> bool {
    true
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
    /// Reads `[[sources]]` entry by entry. A key the entry's kind does not
    /// take is reported under its own name, with the kinds that take it,
    /// and the rest of the entry is still read and checked.
    pub(super) fn sources(&mut self, table: &mut toml::Table) -> Sources {
        let mut sources = Sources { entries: Vec::new(), positions: Vec::new() };
        for (i, mut entry) in self.entries(table, "sources").into_iter().enumerate() {
            let at = format!("sources[{i}]");
            self.refuse_keys_of_other_kinds(&at, &mut entry);
            if let Some(mut source) = self.value::<SourceConfig>(&at, entry) {
                places::normalise(&mut source.municipalities);
                sources.entries.push(source);
                sources.positions.push(i);
            }
        }
        sources
    }

    /// Takes out of `entry` (and reports) every key its kind does not take;
    /// without a known kind, serde names what is wrong with the kind.
    fn refuse_keys_of_other_kinds(&mut self, at: &str, entry: &mut toml::Value) {
        let toml::Value::Table(keys) = entry else { return };
        let Some(kind) = keys.get("kind").and_then(toml::Value::as_str).and_then(SourceKindConfig::from_name) else {
            return;
        };
        let taken = SourceParams::keys(kind);
        let refused: Vec<String> = keys
            .keys()
            .filter(|key| !COMMON_KEYS.contains(&key.as_str()) && !taken.contains(&key.as_str()))
            .cloned()
            .collect();
        for key in refused {
            keys.remove(&key);
            self.push_within(at, SourceParams::unknown_key(kind, &key));
        }
    }
}

/// Ids unique, each kind's own checks, a polite interval that a poll fits
/// in, municipalities of the region.
pub(super) fn validate(sources: &[SourceConfig], source_positions: &[usize], ingest: &IngestConfig, c: &mut Collector) {
    let mut seen = HashSet::new();
    for (i, source) in sources.iter().enumerate() {
        let at = source_positions.get(i).copied().unwrap_or(i);
        let entry = format!("sources[{at}]");
        let key = |field: &str| format!("{entry}.{field}");
        if let Err(e) = onrust_model::SourceId::new(source.id.clone()) {
            c.push(key("id"), e.to_string());
        }
        if !seen.insert(source.id.clone()) {
            c.push(key("id"), format!("{:?} is used by an earlier source; ids must be unique", source.id));
        }
        let checks = SourceChecks { allow_hosts: &ingest.allow_hosts, interval: source.interval.0 };
        for problem in source.params.validate(&checks) {
            c.push_within(&entry, problem);
        }
        if source.interval.0 < Duration::from_secs(10) {
            c.push(key("interval"), "must be at least 10s; be polite to feed operators");
        }
        if source.interval.0 > Duration::from_secs(7 * 24 * 3600) {
            c.push(key("interval"), "must be at most 7d");
        }
        // A poll must be able to end before the next is due (a stream does not poll).
        if !source.params.streams()
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
