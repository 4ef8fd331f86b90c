//! `[alerts]` and `[[rules]]`: how the alert stage runs and what becomes an alert.

use std::time::Duration;

use serde::Deserialize;

use super::{Collector, HumanDuration, RecipientConfig, mandate_checks};

/// `[alerts]`: the alert stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// How often rules are evaluated and due notifications made (threshold, burst,
    /// resolution, grouping); critical and announcement rules fire on arrival and
    /// are sent at the next evaluation.
    #[serde(default = "default_evaluate_interval")]
    pub evaluate_interval: HumanDuration,
    /// How the region is named in mail, e.g. "Midden-Nederland".
    #[serde(default = "default_region_name")]
    pub region_name: String,
    /// From this hour (0–23, Europe/Amsterdam) the mayors' daily digest goes out, once a day.
    #[serde(default = "default_digest_hour")]
    pub digest_hour: u32,
    /// How long before an announced action the joint summary goes to officers and mayors.
    #[serde(default = "default_summary_lead")]
    pub summary_lead: HumanDuration,
    /// Whom a mayor calls about an alert, as the mayor's mail names it
    /// ("de chef van dienst OOV, 030 123 45 67"); without it the mail names
    /// the supervisor who confirmed the alert.
    #[serde(default)]
    pub contact: Option<String>,
}

fn default_digest_hour() -> u32 {
    7
}

fn default_summary_lead() -> HumanDuration {
    HumanDuration(Duration::from_secs(24 * 3600))
}

fn default_region_name() -> String {
    "de regio".to_owned()
}

fn default_evaluate_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(15))
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            evaluate_interval: default_evaluate_interval(),
            region_name: default_region_name(),
            digest_hour: default_digest_hour(),
            summary_lead: default_summary_lead(),
            contact: None,
        }
    }
}

impl AlertsConfig {
    /// The evaluation pace, the digest hour, the summary's lead and the texts mail shows.
    pub(super) fn validate(&self, c: &mut Collector) {
        let interval = self.evaluate_interval.0;
        if interval < Duration::from_secs(1) || interval > Duration::from_secs(3600) {
            c.push("alerts.evaluate_interval", "must be between 1s and 1h");
        }
        let region = &self.region_name;
        if region.trim().is_empty() || region.chars().count() > 80 || region.chars().any(char::is_control) {
            c.push("alerts.region_name", "must be 1 to 80 characters without control characters");
        }
        if let Some(contact) = &self.contact
            && (contact.trim().is_empty() || contact.chars().count() > 200 || contact.chars().any(char::is_control))
        {
            c.push("alerts.contact", "must be 1 to 200 characters without control characters");
        }
        if self.digest_hour > 23 {
            c.push("alerts.digest_hour", "must be an hour from 0 to 23");
        }
        let lead = self.summary_lead.0;
        if lead < Duration::from_secs(3600) || lead > Duration::from_secs(7 * 24 * 3600) {
            c.push("alerts.summary_lead", "must be between 1h and 7d");
        }
    }
}

impl Collector {
    /// Reads `[[rules]]` entry by entry, then validates them together; every
    /// problem is reported under `rules[i].key` with `i` the entry's place in the file.
    pub(super) fn rules(
        &mut self,
        table: &mut toml::Table,
        bound: &mandate_checks::Bound<'_>,
        recipients: &[RecipientConfig],
    ) -> Vec<onrust_alert::Rule> {
        let entries = self.entries(table, "rules");
        let mut configs = Vec::new();
        let mut positions = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            if let Some(rule) = self.value::<onrust_alert::RuleConfig>(&format!("rules[{i}]"), entry) {
                // A rule for a municipality onrust does not watch would never fire.
                for (j, given) in rule.municipalities.iter().enumerate() {
                    let problem = onrust_model::MunicipalityCode::new(given.as_str())
                        .ok()
                        .and_then(|code| self.places.unknown(&code));
                    if let Some(problem) = problem {
                        self.push(format!("rules[{i}].municipalities[{j}]"), problem);
                    }
                }
                for (field, problem) in bound.rule_problems(&rule, recipients) {
                    self.push(format!("rules[{i}].{field}"), problem);
                }
                configs.push(rule);
                positions.push(i);
            }
        }
        match onrust_alert::validate(&configs) {
            Ok(rules) => rules,
            Err(problems) => {
                for p in problems {
                    self.push(renumber_rule_key(&p.key, &positions), p.message);
                }
                Vec::new()
            }
        }
    }
}

/// `rules[2].window` of the parsed rules → the same key by place in the file.
fn renumber_rule_key(key: &str, positions: &[usize]) -> String {
    let parsed = key
        .strip_prefix("rules[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(n, rest)| n.parse::<usize>().ok().map(|n| (n, rest)));
    match parsed {
        Some((n, rest)) => format!("rules[{}]{rest}", positions.get(n).copied().unwrap_or(n)),
        None => key.to_owned(),
    }
}
