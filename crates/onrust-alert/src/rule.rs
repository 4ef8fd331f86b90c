//! Rule configuration: the `[[rules]]` tables of `onrust.toml`.
//!
//! A rule is read in two steps. [`RuleConfig`] is what the file says, with
//! every key optional where a default makes sense and unknown keys refused
//! (a misspelt `windwo` must be an error, not a silently ignored line).
//! [`validate`] then turns all configs into typed [`Rule`]s in one pass and
//! returns *every* problem at once, each under its own key
//! (`rules[2].window: ...`), so `onrust check-config` can list them all
//! instead of making the user fix them one run at a time.
//!
//! One flat struct rather than an enum per kind: serde's tagged enums and
//! `deny_unknown_fields` do not mix well, and a flat struct lets validation
//! say "`alpha` is only for kind burst" instead of "unknown field".
//!
//! Each rule gets a [`Rule::version`]: a short hash of its canonical config
//! (defaults filled in, durations in seconds), so an alert names the exact
//! rule that made it (rule L9) and a rule edit is visible in the alert.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use onrust_model::{Level, MunicipalityCode, SourceKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::alert::{RuleKind, Severity};

/// One `[[rules]]` table as written in the configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Stable name, `[a-z0-9_-]`, unique among the rules; part of every alert's identity.
    pub name: String,
    /// `threshold`, `burst`, `announcement` or `critical`.
    pub kind: Option<RuleKind>,
    /// `info`, `warning` or `critical`; default `critical` for kind critical, `info` for
    /// announcement (a peaceful announced action is something to facilitate), else `warning`.
    pub severity: Option<Severity>,
    /// Lowest escalation level (0–3) a message must have to count; default per kind:
    /// threshold 2, burst 1, announcement 2, critical 3.
    pub min_level: Option<u8>,
    /// Critical only: lowest classifier score (0–1) of the message; default 0.
    pub min_score: Option<f32>,
    /// Threshold: messages needed in the window (required). Burst: the fewest messages
    /// a cell must have to fire at all, however unusual (default 3).
    pub count: Option<u64>,
    /// The counting window, e.g. `"10m"`, `"1h"`. Required for threshold and burst;
    /// critical: how long one message keeps the alert active (default `"1h"`);
    /// announcement: how long after the announced time the alert stays active (default `"6h"`).
    pub window: Option<String>,
    /// Only messages with one of these theme ids (default: any theme).
    #[serde(default)]
    pub themes: Vec<String>,
    /// Only messages from these source kinds (default: any). Not for burst: the
    /// archive's baseline counts do not split by source kind.
    #[serde(default)]
    pub source_kinds: Vec<SourceKind>,
    /// Burst: the false-discovery rate over all municipality × theme cells tested in one
    /// round (Benjamini–Hochberg); default 0.05.
    pub alpha: Option<f64>,
    /// Burst: how many previous weeks' same hours form the baseline (1–12, default 4).
    pub baseline_weeks: Option<u32>,
    /// Only these municipalities (CBS codes); default all.
    #[serde(default)]
    pub municipalities: Vec<String>,
    /// Threshold and burst: `"municipality"` (default) counts per municipality, `"region"`
    /// counts the whole region as one (a regional alert, municipality none).
    pub per: Option<Scope>,
    /// Labels that put alerts in one notification: `rule`, `municipality`, `theme`, `event`;
    /// default `["rule", "municipality"]`.
    pub group_by: Option<Vec<Label>>,
    /// How long a new group waits for more alerts before its first notification; default `"30s"`
    /// (`"0s"` for critical: a call to violence waits for nothing).
    pub group_wait: Option<String>,
    /// The least time between notifications about changes in one group; default `"5m"`.
    pub group_interval: Option<String>,
    /// After how long an unchanged, unacknowledged firing group is notified again; default `"4h"`.
    pub repeat_interval: Option<String>,
    /// How long the condition must hold before the alert fires (`for` in Prometheus); default `"0s"`.
    pub pending: Option<String>,
    /// How long a firing alert stays firing after its condition is gone; default `"15m"`
    /// (`"0s"` for critical and announcement, whose `window` already plays that part).
    pub keep_firing_for: Option<String>,
    /// Mail to the mayor waits for a supervisor's confirmation (rule L10); default true.
    pub review: Option<bool>,
    /// Escalate to the supervisor when the officers have not acknowledged a firing alert
    /// within this time, e.g. `"30m"`; default: no escalation.
    pub escalate_after: Option<String>,
    /// The mandate (`[[mandates]]` id) the rule runs under (rule L5); the
    /// daemon's configuration requires it, and every alert carries it.
    #[serde(default)]
    pub mandate: Option<String>,
}

/// What a threshold or burst rule counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    Municipality,
    Region,
}

/// An identity label of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Rule,
    Municipality,
    Theme,
    Event,
}

/// One problem in the rules, under the key it concerns (`rules[2].window`):
/// the shared problem type, without a file (the caller knows it).
pub use onrust_model::Problem as RuleProblem;

/// A validated rule, with every default filled in. Durations are whole seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    /// The mandate the rule runs under (empty where none is configured, as in
    /// tests of this crate). Not in the version: moving a rule to another
    /// mandate does not change what it decides.
    #[serde(skip)]
    pub mandate: String,
    /// Short hash of the canonical config (this struct without `version`).
    #[serde(skip)]
    pub version: String,
    pub kind: RuleKind,
    pub severity: Severity,
    pub min_level: Level,
    pub min_score: f32,
    pub count: u64,
    pub window_secs: u64,
    pub themes: Vec<String>,
    pub source_kinds: Vec<SourceKind>,
    pub alpha: f64,
    pub baseline_weeks: u32,
    pub municipalities: Vec<MunicipalityCode>,
    pub per: Scope,
    pub group_by: Vec<Label>,
    pub group_wait_secs: u64,
    pub group_interval_secs: u64,
    pub repeat_interval_secs: u64,
    pub pending_secs: u64,
    pub keep_firing_for_secs: u64,
    pub review: bool,
    pub escalate_after_secs: Option<u64>,
}

/// Seconds as a chrono delta (saturating; config durations are far below the limit).
pub(crate) fn secs(s: u64) -> TimeDelta {
    TimeDelta::try_seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000)).unwrap_or(TimeDelta::MAX)
}

impl Rule {
    pub fn window(&self) -> TimeDelta {
        secs(self.window_secs)
    }
    pub fn pending(&self) -> TimeDelta {
        secs(self.pending_secs)
    }
    pub fn keep_firing_for(&self) -> TimeDelta {
        secs(self.keep_firing_for_secs)
    }
    pub fn group_wait(&self) -> TimeDelta {
        secs(self.group_wait_secs)
    }
    pub fn group_interval(&self) -> TimeDelta {
        secs(self.group_interval_secs)
    }
    pub fn repeat_interval(&self) -> TimeDelta {
        secs(self.repeat_interval_secs)
    }
    pub fn escalate_after(&self) -> Option<TimeDelta> {
        self.escalate_after_secs.map(secs)
    }

    /// Whether a message with these properties passes the rule's filters
    /// (level, source kind, municipality filter; themes are checked per theme).
    pub fn admits_municipality(&self, m: Option<&MunicipalityCode>) -> bool {
        self.municipalities.is_empty() || m.is_some_and(|m| self.municipalities.contains(m))
    }

    pub fn admits_theme(&self, t: Option<&str>) -> bool {
        self.themes.is_empty() || t.is_some_and(|t| self.themes.iter().any(|x| x == t))
    }

    pub fn admits_source_kind(&self, k: SourceKind) -> bool {
        self.source_kinds.is_empty() || self.source_kinds.contains(&k)
    }

    /// The rule's theme label for alerts that are not per theme: its only theme, if it has one.
    pub fn single_theme(&self) -> Option<&str> {
        match self.themes.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        }
    }

    fn compute_version(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        hex::encode(&digest[..6])
    }
}

/// Parses a duration such as `"10m"`, `"1h 30m"` or `"90s"` into whole seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    humantime::parse_duration(s.trim())
        .map(|d| d.as_secs())
        .map_err(|e| format!("{s:?} is not a duration such as \"30s\", \"10m\" or \"2h\" ({e})"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

struct Check<'a> {
    index: usize,
    problems: &'a mut Vec<RuleProblem>,
}

impl Check<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(RuleProblem::new(format!("rules[{}].{field}", self.index), message));
    }

    fn duration(&mut self, field: &str, value: &Option<String>, default: u64) -> u64 {
        match value {
            None => default,
            Some(v) => match parse_duration(v) {
                Ok(s) => s,
                Err(e) => {
                    self.problem(field, e);
                    default
                }
            },
        }
    }

    fn only_for(&mut self, field: &str, present: bool, kind: RuleKind, allowed: &[RuleKind]) {
        if present && !allowed.contains(&kind) {
            let names: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
            self.problem(field, format!("only for kind {}, not {}", names.join(" or "), kind.as_str()));
        }
    }
}

/// Validates all rules at once: the typed rules, or every problem found.
pub fn validate(configs: &[RuleConfig]) -> Result<Vec<Rule>, Vec<RuleProblem>> {
    use RuleKind::*;
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    let mut names = BTreeSet::new();
    for (index, c) in configs.iter().enumerate() {
        let mut ck = Check { index, problems: &mut problems };
        if !valid_name(&c.name) {
            ck.problem("name", format!("{:?} must be 1 to 64 characters of a-z, 0-9, '_' or '-'", c.name));
        } else if !names.insert(c.name.clone()) {
            ck.problem("name", format!("{:?} is used by an earlier rule; names must be unique", c.name));
        }
        let Some(kind) = c.kind else {
            ck.problem("kind", "missing: one of threshold, burst, announcement, critical");
            continue;
        };
        let default_level = match kind {
            Threshold | Announcement => 2,
            Burst => 1,
            Critical => 3,
        };
        let min_level = match Level::try_from(c.min_level.unwrap_or(default_level)) {
            Ok(l) => l,
            Err(e) => {
                ck.problem("min_level", e);
                Level::Escalation
            }
        };
        if kind == Announcement && min_level < Level::Mobilisation {
            ck.problem("min_level", "an announcement is level 2 or above; use 2 or 3");
        }
        ck.only_for("min_score", c.min_score.is_some(), kind, &[Critical]);
        let min_score = c.min_score.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&min_score) {
            ck.problem("min_score", format!("{min_score} is not between 0 and 1"));
        }
        ck.only_for("count", c.count.is_some(), kind, &[Threshold, Burst]);
        let count = match (kind, c.count) {
            (Threshold, None) => {
                ck.problem("count", "missing: a threshold rule needs the number of messages, e.g. count = 10");
                1
            }
            (_, Some(0)) => {
                ck.problem("count", "must be at least 1");
                1
            }
            (Burst, None) => 3,
            (_, n) => n.unwrap_or(1),
        };
        let window_default = match kind {
            Threshold | Burst => {
                if c.window.is_none() {
                    ck.problem("window", "missing: a counting window such as \"1h\"");
                }
                3600
            }
            Critical => 3600,
            Announcement => 6 * 3600,
        };
        let window_secs = ck.duration("window", &c.window, window_default);
        if matches!(kind, Threshold | Burst) && c.window.is_some() && !(60..=7 * 86400).contains(&window_secs) {
            ck.problem("window", "must be between 1m and 7d (windows are counted per minute)");
        }
        ck.only_for("source_kinds", !c.source_kinds.is_empty(), kind, &[Threshold, Announcement, Critical]);
        ck.only_for("alpha", c.alpha.is_some(), kind, &[Burst]);
        let alpha = c.alpha.unwrap_or(0.05);
        if !(alpha > 0.0 && alpha < 1.0) {
            ck.problem("alpha", format!("{alpha} is not a rate between 0 and 1 (exclusive), such as 0.05"));
        }
        ck.only_for("baseline_weeks", c.baseline_weeks.is_some(), kind, &[Burst]);
        let baseline_weeks = c.baseline_weeks.unwrap_or(4);
        if !(1..=12).contains(&baseline_weeks) {
            ck.problem("baseline_weeks", format!("{baseline_weeks} is not between 1 and 12"));
        }
        ck.only_for("per", c.per.is_some(), kind, &[Threshold, Burst]);
        let mut municipalities = Vec::new();
        for (i, m) in c.municipalities.iter().enumerate() {
            match MunicipalityCode::new(m.as_str()) {
                Ok(code) => municipalities.push(code),
                Err(e) => ck.problem(&format!("municipalities[{i}]"), e.to_string()),
            }
        }
        for (i, t) in c.themes.iter().enumerate() {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                ck.problem(&format!("themes[{i}]"), format!("{t:?} is not a theme id such as \"jaarwisseling\""));
            }
        }
        let group_by = c.group_by.clone().unwrap_or_else(|| vec![Label::Rule, Label::Municipality]);
        let mut group_by_sorted = group_by.clone();
        group_by_sorted.sort();
        group_by_sorted.dedup();
        if !group_by_sorted.contains(&Label::Municipality) {
            ck.problem("group_by", "must contain \"municipality\": recipients are per municipality");
        }
        // A call to violence is told at once: a critical rule that says
        // nothing about grouping does not wait for more (issue 16: a rule
        // with only a name, a kind and a level reaches the officer at once).
        let group_wait_default = if kind == Critical { 0 } else { 30 };
        let group_wait_secs = ck.duration("group_wait", &c.group_wait, group_wait_default);
        let group_interval_secs = ck.duration("group_interval", &c.group_interval, 300);
        let repeat_interval_secs = ck.duration("repeat_interval", &c.repeat_interval, 4 * 3600);
        if group_interval_secs == 0 {
            ck.problem("group_interval", "must be more than 0s");
        }
        if repeat_interval_secs < group_interval_secs {
            ck.problem("repeat_interval", "must not be shorter than group_interval");
        }
        let pending_secs = ck.duration("pending", &c.pending, 0);
        let keep_default = if matches!(kind, Critical | Announcement) { 0 } else { 900 };
        let keep_firing_for_secs = ck.duration("keep_firing_for", &c.keep_firing_for, keep_default);
        let escalate_after_secs = match c.escalate_after.as_deref().map(parse_duration) {
            None => None,
            Some(Ok(0)) => {
                ck.problem("escalate_after", "must be more than 0s; leave it out for no escalation");
                None
            }
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                ck.problem("escalate_after", e);
                None
            }
        };
        let severity = c.severity.unwrap_or(match kind {
            Critical => Severity::Critical,
            Announcement => Severity::Info,
            Threshold | Burst => Severity::Warning,
        });
        let mut rule = Rule {
            name: c.name.clone(),
            mandate: c.mandate.clone().unwrap_or_default(),
            version: String::new(),
            kind,
            severity,
            min_level,
            min_score,
            count,
            window_secs,
            themes: c.themes.clone(),
            source_kinds: c.source_kinds.clone(),
            alpha,
            baseline_weeks,
            municipalities,
            per: c.per.unwrap_or_default(),
            group_by: group_by_sorted,
            group_wait_secs,
            group_interval_secs,
            repeat_interval_secs,
            pending_secs,
            keep_firing_for_secs,
            review: c.review.unwrap_or(true),
            escalate_after_secs,
        };
        rule.version = rule.compute_version();
        rules.push(rule);
    }
    if problems.is_empty() { Ok(rules) } else { Err(problems) }
}

/// Reads and validates rules from a TOML document's `[[rules]]` (for tests and `check-config`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// The `[[rules]]` tables.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Vec<RuleConfig> {
        toml::from_str::<RulesFile>(toml_text).unwrap().rules
    }

    #[test]
    fn design_md_example_is_valid_with_defaults() {
        let rules = validate(&parse(
            r#"
            [[rules]]
            name = "oproep-tot-geweld"
            kind = "critical"
            min_level = 3
            "#,
        ))
        .unwrap();
        let r = &rules[0];
        assert_eq!(r.kind, RuleKind::Critical);
        assert_eq!(r.severity, Severity::Critical);
        assert_eq!(r.min_level, Level::Escalation);
        assert!(r.review);
        assert_eq!(r.group_by, vec![Label::Rule, Label::Municipality]);
        assert_eq!(r.version.len(), 12);
        assert_eq!(r.group_wait_secs, 0, "a call to violence waits for no group");
        let announcement = validate(&parse("[[rules]]\nname = \"actie\"\nkind = \"announcement\"\n")).unwrap();
        assert_eq!(announcement[0].group_wait_secs, 30, "announcements wait for more of the same");
    }

    #[test]
    fn every_kind_parses() {
        let rules = validate(&parse(
            r#"
            [[rules]]
            name = "drempel"
            kind = "threshold"
            count = 10
            window = "1h"
            themes = ["jaarwisseling"]
            source_kinds = ["telegram", "feed"]
            [[rules]]
            name = "piek"
            kind = "burst"
            window = "2h"
            alpha = 0.01
            baseline_weeks = 6
            [[rules]]
            name = "aankondiging"
            kind = "announcement"
            review = false
            [[rules]]
            name = "kritiek"
            kind = "critical"
            min_score = 0.8
            escalate_after = "30m"
            "#,
        ))
        .unwrap();
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[0].count, 10);
        assert_eq!(rules[0].window_secs, 3600);
        assert_eq!(rules[1].alpha, 0.01);
        assert_eq!(rules[1].count, 3);
        assert!(!rules[2].review);
        assert_eq!(rules[3].escalate_after_secs, Some(1800));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<RulesFile>("[[rules]]\nname = \"a\"\nkind = \"critical\"\nwindwo = \"1h\"\n");
        assert!(err.unwrap_err().to_string().contains("windwo"));
    }

    #[test]
    fn all_problems_are_reported_at_once_with_their_keys() {
        let problems = validate(&parse(
            r#"
            [[rules]]
            name = "ok"
            kind = "critical"
            [[rules]]
            name = "ok"
            kind = "threshold"
            window = "tien minuten"
            [[rules]]
            name = "Bad Name"
            kind = "burst"
            window = "1h"
            alpha = 2.0
            min_score = 0.5
            source_kinds = ["feed"]
            municipalities = ["utrecht"]
            repeat_interval = "1m"
            escalate_after = "0s"
            "#,
        ))
        .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for expected in [
            "rules[1].name",
            "rules[1].count",
            "rules[1].window",
            "rules[2].name",
            "rules[2].alpha",
            "rules[2].min_score",
            "rules[2].source_kinds",
            "rules[2].municipalities[0]",
            "rules[2].repeat_interval",
            "rules[2].escalate_after",
        ] {
            assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
        }
        let shown = problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
        assert!(shown.contains("rules[1].window: \"tien minuten\" is not a duration"), "{shown}");
    }

    #[test]
    fn version_changes_with_the_rule_and_not_with_spelling() {
        let a =
            validate(&parse("[[rules]]\nname = \"a\"\nkind = \"threshold\"\ncount = 5\nwindow = \"60m\"\n")).unwrap();
        let b =
            validate(&parse("[[rules]]\nname = \"a\"\nkind = \"threshold\"\ncount = 5\nwindow = \"1h\"\n")).unwrap();
        let c =
            validate(&parse("[[rules]]\nname = \"a\"\nkind = \"threshold\"\ncount = 6\nwindow = \"1h\"\n")).unwrap();
        assert_eq!(a[0].version, b[0].version);
        assert_ne!(a[0].version, c[0].version);
    }
}
