//! `[[mandates]]`: what makes monitoring lawful (rule L5). A mandate is a
//! recorded decision: its purpose, legal basis, the office that decided it,
//! the DPIA it rests on, the dates between which it holds and what it covers
//! (municipalities, themes, source kinds; absent means all). Every source and
//! every rule names one (`mandate = "id"`); a source or rule runs only while
//! its mandate is in force, on Europe/Amsterdam dates, both ends inclusive.
//!
//! A *trial* mandate (`trial_days` instead of `start` and `end`) lets the
//! shipped configuration run on a fresh clone: it holds for at most
//! [`MAX_TRIAL_DAYS`] days from the first day this data directory ran under
//! a trial (recorded once in [`MandateRecord`], so renaming the trial does not
//! start it again), covers only public news and the authorities' own
//! publications, and its rules reach nobody by mail or webhook.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::SourceKindConfig;

/// The longest a trial mandate may hold.
pub const MAX_TRIAL_DAYS: u32 = 30;
/// From this many days before its end a mandate is warned about (log and gauge).
pub const WARN_DAYS: i64 = 14;
/// The source kinds a trial may cover: public news and the authorities' own publications.
pub const TRIAL_SOURCE_KINDS: [SourceKindConfig; 2] = [SourceKindConfig::Feed, SourceKindConfig::Authority];

/// A date as written: `2026-01-31` (a TOML date) or `"2026-01-31"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigDate(pub NaiveDate);

impl<'de> Deserialize<'de> for ConfigDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let text = match &value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
            other => return Err(serde::de::Error::custom(format!("{other} is not a date such as 2026-01-31"))),
        };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(ConfigDate)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a date such as 2026-01-31: {e}")))
    }
}

/// One `[[mandates]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MandateEntry {
    /// Stable id, `[a-z0-9_-]`, that sources and rules name.
    pub id: String,
    /// What the monitoring is for, concretely ("openbare orde rond de jaarwisseling 2026").
    pub purpose: String,
    /// The legal basis, such as "Gemeentewet art. 172".
    pub legal_basis: String,
    /// The office that decided it ("de burgemeester van Utrecht"), not a person.
    pub decided_by: String,
    /// The reference of the DPIA it rests on.
    pub dpia: String,
    /// First day in force (Europe/Amsterdam).
    pub start: Option<ConfigDate>,
    /// Last day in force (Europe/Amsterdam), on or after `start`.
    pub end: Option<ConfigDate>,
    /// A trial instead of `start`/`end`: in force this many days (at most 30)
    /// from the first day this data directory ran under a trial.
    pub trial_days: Option<u32>,
    /// CBS codes it covers; absent: every municipality of the region.
    pub municipalities: Option<Vec<String>>,
    /// Theme ids it covers; absent: every theme.
    pub themes: Option<Vec<String>>,
    /// Source kinds it covers; absent: all (a trial: `feed` and `authority`).
    pub source_kinds: Option<Vec<SourceKindConfig>>,
}

/// When a mandate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MandatePeriod {
    /// Recorded dates, both inclusive.
    Dated { start: NaiveDate, end: NaiveDate },
    /// A trial of this many days from the data directory's first trial day.
    Trial { days: u32 },
}

/// A validated mandate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mandate {
    pub id: String,
    pub purpose: String,
    pub legal_basis: String,
    pub decided_by: String,
    pub dpia: String,
    pub period: MandatePeriod,
    /// CBS codes as onrust writes them; empty: the whole region.
    pub municipalities: Vec<String>,
    /// Empty: every theme.
    pub themes: Vec<String>,
    /// Empty: every kind.
    pub source_kinds: Vec<SourceKindConfig>,
}

/// Where a mandate stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not yet in force: its sources and rules wait for `starts`.
    NotYet { starts: NaiveDate },
    /// In force, `days_left` days after today (0 on its last day).
    InForce { days_left: i64 },
    /// Its last day was `ended`.
    Ended { ended: NaiveDate },
}

impl Mandate {
    pub fn is_trial(&self) -> bool {
        matches!(self.period, MandatePeriod::Trial { .. })
    }

    /// First and last day in force. A trial starts on `trial_started`, or
    /// `today` when this data directory has not run under a trial yet.
    pub fn window(&self, trial_started: Option<NaiveDate>, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self.period {
            MandatePeriod::Dated { start, end } => (start, end),
            MandatePeriod::Trial { days } => {
                let start = trial_started.unwrap_or(today);
                let end = start.checked_add_days(chrono::Days::new(u64::from(days.max(1)) - 1)).unwrap_or(start);
                (start, end)
            }
        }
    }

    /// Where the mandate stands on `today`.
    pub fn standing(&self, trial_started: Option<NaiveDate>, today: NaiveDate) -> Standing {
        let (start, end) = self.window(trial_started, today);
        if today < start {
            Standing::NotYet { starts: start }
        } else if today > end {
            Standing::Ended { ended: end }
        } else {
            Standing::InForce { days_left: (end - today).num_days() }
        }
    }

    pub fn covers_kind(&self, kind: SourceKindConfig) -> bool {
        self.source_kinds.is_empty() || self.source_kinds.contains(&kind)
    }

    pub fn covers_municipality(&self, code: &str) -> bool {
        self.municipalities.is_empty() || self.municipalities.iter().any(|m| m == code)
    }

    pub fn covers_theme(&self, theme: &str) -> bool {
        self.themes.is_empty() || self.themes.iter().any(|t| t == theme)
    }

    /// Why something that covers `codes` (empty: the whole region) is outside this mandate.
    pub fn municipalities_outside(&self, codes: &[String]) -> Option<String> {
        if self.municipalities.is_empty() {
            return None;
        }
        if codes.is_empty() {
            return Some(format!(
                "covers the whole region, but mandate {:?} covers only {}",
                self.id,
                self.municipalities.join(", ")
            ));
        }
        let outside: Vec<&str> = codes.iter().filter(|c| !self.covers_municipality(c)).map(String::as_str).collect();
        (!outside.is_empty()).then(|| {
            format!("{} outside mandate {:?} ({})", outside.join(", "), self.id, self.municipalities.join(", "))
        })
    }

    /// Why something about `themes` (empty: every theme) is outside this mandate.
    pub fn themes_outside(&self, themes: &[String]) -> Option<String> {
        if self.themes.is_empty() {
            return None;
        }
        if themes.is_empty() {
            return Some(format!(
                "covers every theme, but mandate {:?} covers only {}",
                self.id,
                self.themes.join(", ")
            ));
        }
        let outside: Vec<&str> = themes.iter().filter(|t| !self.covers_theme(t)).map(String::as_str).collect();
        (!outside.is_empty())
            .then(|| format!("{} outside mandate {:?} ({})", outside.join(", "), self.id, self.themes.join(", ")))
    }

    /// The scope in one line: "gemeenten …; thema's …; bronsoorten …" in English for the CLI.
    pub fn scope_line(&self) -> String {
        let list = |items: Vec<String>, all: &str| if items.is_empty() { all.to_owned() } else { items.join(", ") };
        format!(
            "municipalities: {}; themes: {}; source kinds: {}",
            list(self.municipalities.clone(), "all"),
            list(self.themes.clone(), "all"),
            list(self.source_kinds.iter().map(|k| k.name().to_owned()).collect(), "all"),
        )
    }

    /// A canonical description: what [`MandateRecord`] compares to see a change.
    pub fn fingerprint(&self) -> String {
        let period = match self.period {
            MandatePeriod::Dated { start, end } => format!("{start}..{end}"),
            MandatePeriod::Trial { days } => format!("trial {days}d"),
        };
        let kinds: Vec<&str> = self.source_kinds.iter().map(|k| k.name()).collect();
        serde_json::json!({
            "purpose": self.purpose, "legal_basis": self.legal_basis, "decided_by": self.decided_by,
            "dpia": self.dpia, "period": period, "municipalities": self.municipalities,
            "themes": self.themes, "source_kinds": kinds,
        })
        .to_string()
    }
}

/// The mandates in force on `today` whose scope covers a search for these
/// filters (rule L5). A mandate limited to some municipalities (themes)
/// covers a search only when it asks for one of them; a source kind asked
/// for must be one the mandate covers.
pub fn covering_search(
    mandates: &[Mandate],
    trial_started: Option<NaiveDate>,
    today: NaiveDate,
    municipality: Option<&str>,
    theme: Option<&str>,
    source_kind: Option<&str>,
) -> Vec<String> {
    in_force(mandates, trial_started, today)
        .into_iter()
        .filter(|m| m.municipalities.is_empty() || municipality.is_some_and(|c| m.covers_municipality(c)))
        .filter(|m| m.themes.is_empty() || theme.is_some_and(|t| m.covers_theme(t)))
        .filter(|m| {
            m.source_kinds.is_empty() || source_kind.is_none_or(|k| m.source_kinds.iter().any(|s| s.name() == k))
        })
        .map(|m| m.id.clone())
        .collect()
}

/// Today's date in Europe/Amsterdam: the day mandates are counted in.
pub fn amsterdam_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive()
}

/// Whether a mandate with `days_left` is warned about.
pub fn warns(days_left: i64) -> bool {
    days_left < WARN_DAYS
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks one entry; every problem goes to `problem(field, message)`.
/// `known_themes` are the theme ids of `classify.themes_dir` (`None`: unreadable, not checked);
/// `unknown_municipality` says why a code may not be named.
pub fn validate_entry(
    entry: MandateEntry,
    known_themes: Option<&[String]>,
    unknown_municipality: &dyn Fn(&str) -> Option<String>,
    problem: &mut dyn FnMut(&str, String),
) -> Option<Mandate> {
    let mut ok = true;
    let mut fail = |field: &str, message: String, ok: &mut bool| {
        problem(field, message);
        *ok = false;
    };
    if !valid_id(&entry.id) {
        fail("id", format!("{:?} must be 1 to 64 characters of a-z, 0-9, '_' or '-'", entry.id), &mut ok);
    }
    for (field, text) in [
        ("purpose", &entry.purpose),
        ("legal_basis", &entry.legal_basis),
        ("decided_by", &entry.decided_by),
        ("dpia", &entry.dpia),
    ] {
        if text.trim().is_empty() || text.chars().count() > 500 || text.chars().any(char::is_control) {
            fail(field, "must be 1 to 500 characters without control characters".into(), &mut ok);
        }
    }
    if entry.decided_by.contains('@') {
        fail(
            "decided_by",
            "names an office (\"de burgemeester van Utrecht\"), not a mailbox or a person".into(),
            &mut ok,
        );
    }
    let period = match (entry.start, entry.end, entry.trial_days) {
        (Some(start), Some(end), None) => {
            if end.0 < start.0 {
                fail("end", format!("{} is before start {}", end.0, start.0), &mut ok);
            }
            MandatePeriod::Dated { start: start.0, end: end.0 }
        }
        (None, None, Some(days)) => {
            if !(1..=MAX_TRIAL_DAYS).contains(&days) {
                fail("trial_days", format!("{days} is not between 1 and {MAX_TRIAL_DAYS}"), &mut ok);
            }
            MandatePeriod::Trial { days }
        }
        (_, _, Some(_)) => {
            fail("trial_days", "a trial has no start or end: use either trial_days or start and end".into(), &mut ok);
            MandatePeriod::Trial { days: 1 }
        }
        (start, end, None) => {
            if start.is_none() {
                fail("start", "missing: the first day in force, such as 2026-01-01".into(), &mut ok);
            }
            if end.is_none() {
                fail("end", "missing: the last day in force; a mandate is time-bound".into(), &mut ok);
            }
            MandatePeriod::Trial { days: 1 }
        }
    };
    let mut municipalities = Vec::new();
    if entry.municipalities.as_ref().is_some_and(Vec::is_empty) {
        fail("municipalities", "lists no municipality; leave it out for the whole region".into(), &mut ok);
    }
    for code in entry.municipalities.iter().flatten() {
        match onrust_model::MunicipalityCode::new(code.clone()) {
            Err(_) => fail("municipalities", format!("{code:?} is not a CBS code such as \"GM0344\""), &mut ok),
            Ok(m) => match unknown_municipality(m.as_str()) {
                Some(why) => fail("municipalities", why, &mut ok),
                None => municipalities.push(m.as_str().to_owned()),
            },
        }
    }
    if entry.themes.as_ref().is_some_and(Vec::is_empty) {
        fail("themes", "lists no theme; leave it out for every theme".into(), &mut ok);
    }
    let themes = entry.themes.clone().unwrap_or_default();
    if let Some(known) = known_themes {
        for theme in &themes {
            if !known.contains(theme) {
                fail(
                    "themes",
                    format!("{theme:?} is not a theme the classifier knows ({})", known.join(", ")),
                    &mut ok,
                );
            }
        }
    }
    if entry.source_kinds.as_ref().is_some_and(Vec::is_empty) {
        fail("source_kinds", "lists no kind; leave it out for every kind".into(), &mut ok);
    }
    let mut source_kinds = entry.source_kinds.clone().unwrap_or_default();
    if matches!(period, MandatePeriod::Trial { .. }) {
        if source_kinds.is_empty() {
            source_kinds = TRIAL_SOURCE_KINDS.to_vec();
        }
        for kind in &source_kinds {
            if !TRIAL_SOURCE_KINDS.contains(kind) {
                fail(
                    "source_kinds",
                    format!(
                        "a trial covers only feed and authority (public news and authorities), not {}",
                        kind.name()
                    ),
                    &mut ok,
                );
            }
        }
    }
    ok.then_some(Mandate {
        id: entry.id,
        purpose: entry.purpose,
        legal_basis: entry.legal_basis,
        decided_by: entry.decided_by,
        dpia: entry.dpia,
        period,
        municipalities,
        themes,
        source_kinds,
    })
}

/// The theme ids of the lexicon files in `dir` (their `id`), or `None` when the folder cannot be read.
pub fn theme_ids_in(dir: &Path) -> Option<Vec<String>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let table: toml::Table = text.parse().ok()?;
        if let Some(toml::Value::String(id)) = table.get("id") {
            ids.push(id.clone());
        }
    }
    ids.sort();
    Some(ids)
}

/// What the data directory remembers about mandates (`mandates.json`): the
/// first day it ran under a trial, and the mandates it last ran with, so a
/// change is recorded in the audit log once (added, changed, ended).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MandateRecord {
    /// The first day (Europe/Amsterdam) this data directory ran under a trial mandate.
    #[serde(default)]
    pub trial_started: Option<NaiveDate>,
    /// By id: the canonical description ([`Mandate::fingerprint`]) and whether it had ended.
    #[serde(default)]
    pub mandates: BTreeMap<String, RecordedMandate>,
}

/// One mandate as last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedMandate {
    pub fingerprint: String,
    pub ended: bool,
}

/// A change since the last start, for the audit log (`mandate_change`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MandateChange {
    pub id: String,
    /// `added`, `changed` or `ended` (its end passed, or it left the configuration).
    pub change: &'static str,
}

impl MandateRecord {
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join("mandates.json")
    }

    /// The record in `data_dir`; a missing file is a fresh directory.
    pub fn load(data_dir: &Path) -> Result<Self, String> {
        let path = Self::path_in(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a mandate record: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the record durably.
    pub fn save(&self, data_dir: &Path) -> Result<(), String> {
        let path = Self::path_in(data_dir);
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        onrust_durable::write_private(&path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// What changed between this record and `mandates` on `today`, and the
    /// record to keep; the first trial day is set when a trial is configured.
    pub fn update(&self, mandates: &[Mandate], today: NaiveDate) -> (Vec<MandateChange>, MandateRecord) {
        let mut next = MandateRecord { trial_started: self.trial_started, mandates: BTreeMap::new() };
        if next.trial_started.is_none() && mandates.iter().any(Mandate::is_trial) {
            next.trial_started = Some(today);
        }
        let mut changes = Vec::new();
        for mandate in mandates {
            let ended = matches!(mandate.standing(next.trial_started, today), Standing::Ended { .. });
            let now = RecordedMandate { fingerprint: mandate.fingerprint(), ended };
            let change = match self.mandates.get(&mandate.id) {
                None => Some("added"),
                Some(before) if before.fingerprint != now.fingerprint => Some("changed"),
                Some(before) if ended && !before.ended => Some("ended"),
                Some(_) => None,
            };
            if let Some(change) = change {
                changes.push(MandateChange { id: mandate.id.clone(), change });
            }
            next.mandates.insert(mandate.id.clone(), now);
        }
        for (id, before) in &self.mandates {
            if !next.mandates.contains_key(id) && !before.ended {
                changes.push(MandateChange { id: id.clone(), change: "ended" });
            }
        }
        (changes, next)
    }
}

/// The mandates in force on `today`, by id: what the daemon runs under.
pub fn in_force(mandates: &[Mandate], trial_started: Option<NaiveDate>, today: NaiveDate) -> Vec<&Mandate> {
    mandates.iter().filter(|m| matches!(m.standing(trial_started, today), Standing::InForce { .. })).collect()
}

/// A mandate in force from 2020 to 2099 with id `test`, for test configurations.
#[cfg(test)]
pub(crate) const TEST_MANDATE: &str = "\n[[mandates]]\nid = \"test\"\npurpose = \"test\"\n\
    legal_basis = \"Gemeentewet art. 172\"\ndecided_by = \"de burgemeester\"\ndpia = \"DPIA-TEST\"\n\
    start = 2020-01-01\nend = 2099-12-31\n";

/// `text` with [`TEST_MANDATE`] after it (a new table, so it never takes over `text`'s keys).
#[cfg(test)]
pub(crate) fn with_test_mandate(text: &str) -> String {
    format!("{text}\n{TEST_MANDATE}")
}

#[cfg(test)]
mod tests;
