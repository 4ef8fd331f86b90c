//! Scoring the classifier against labelled messages (`onrust eval`).
//!
//! Counts are kept, not messages, so an evaluation over any number of lines
//! runs in constant memory. The measures are the ones the targets name:
//! precision, recall and F1 per level and per theme, detection of level ≥ 2,
//! micro-averaged theme and municipality scores, and the share of
//! announcements whose event date (in Europe/Amsterdam) is right.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use chrono_tz::Europe::Amsterdam;
use onrust_model::{Assessment, Level};
use serde::{Deserialize, Serialize};

/// What a labelled line expects.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub level: Level,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub municipalities: Vec<String>,
    #[serde(default)]
    pub event_time: Option<DateTime<FixedOffset>>,
}

/// True and false positives and false negatives of one label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl Counts {
    fn add(&mut self, expected: bool, predicted: bool) {
        match (expected, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => {}
        }
    }

    fn merge(&mut self, other: Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }

    /// tp / (tp + fp); 1 when nothing was predicted (no false alarms).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// tp / (tp + fn); 1 when nothing was expected.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }

    /// How many were expected.
    pub fn support(&self) -> u64 {
        self.tp + self.fn_
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Whether two times fall on the same day in Europe/Amsterdam.
pub fn same_local_date(a: DateTime<FixedOffset>, b: DateTime<FixedOffset>) -> bool {
    a.with_timezone(&Amsterdam).date_naive() == b.with_timezone(&Amsterdam).date_naive()
}

/// Expected and found municipality codes, normalised (`344` = `GM0344`), sorted, without duplicates.
fn codes(expected: &Expected, got: &Assessment) -> (Vec<String>, Vec<String>) {
    let normal = |c: &str| {
        onrust_model::MunicipalityCode::new(c.to_ascii_uppercase()).map_or_else(|_| c.to_owned(), String::from)
    };
    let mut want: Vec<String> = expected.municipalities.iter().map(|c| normal(c)).collect();
    let mut have: Vec<String> = got.municipalities.iter().map(|m| m.as_str().to_owned()).collect();
    for list in [&mut want, &mut have] {
        list.sort();
        list.dedup();
    }
    (want, have)
}

/// Whether the classifier agrees with the labels on everything measured:
/// level, the set of themes, the set of places, and the event date.
pub fn agrees(expected: &Expected, got: &Assessment) -> bool {
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    let (want_codes, got_codes) = codes(expected, got);
    let dates = match (expected.event_time, got.event_time) {
        (Some(a), Some(b)) => same_local_date(a, b),
        (None, None) => true,
        _ => false,
    };
    expected.level == got.level && sorted(&expected.themes) == sorted(&got.themes) && want_codes == got_codes && dates
}

/// The running evaluation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluation {
    pub messages: u64,
    /// One-vs-rest per level 0..=3.
    pub levels: [Counts; 4],
    /// Exact level agreement.
    pub level_correct: u64,
    /// Level ≥ 2 as a binary detection.
    pub mobilisation_or_more: Counts,
    /// Messages per expected level (rows) and given level (columns).
    pub confusion: [[u64; 4]; 4],
    pub themes: BTreeMap<String, Counts>,
    pub municipalities: Counts,
    /// Messages that expect an event time, and how many got its date right.
    pub events: u64,
    pub event_dates_correct: u64,
}

/// The targets of the classifier, checked by `onrust eval`.
pub const TARGETS: [(&str, f64); 5] = [
    ("level >= 2 detection F1", 0.85),
    ("level 3 precision", 0.85),
    ("theme micro-F1", 0.85),
    ("municipality F1", 0.90),
    ("event date accuracy", 0.85),
];

impl Evaluation {
    /// Adds one labelled message and what the classifier said.
    pub fn add(&mut self, expected: &Expected, got: &Assessment) {
        self.messages += 1;
        for (level, counts) in Level::ALL.iter().zip(self.levels.iter_mut()) {
            counts.add(expected.level == *level, got.level == *level);
        }
        self.level_correct += u64::from(expected.level == got.level);
        self.confusion[usize::from(expected.level.as_u8()).min(3)][usize::from(got.level.as_u8()).min(3)] += 1;
        self.mobilisation_or_more.add(expected.level >= Level::Mobilisation, got.level >= Level::Mobilisation);

        let mut theme_ids: Vec<&String> = expected.themes.iter().chain(got.themes.iter()).collect();
        theme_ids.sort();
        theme_ids.dedup();
        for theme in theme_ids {
            self.themes
                .entry(theme.clone())
                .or_default()
                .add(expected.themes.contains(theme), got.themes.contains(theme));
        }

        let (want_codes, got_codes) = codes(expected, got);
        for code in &want_codes {
            self.municipalities.add(true, got_codes.contains(code));
        }
        let extra = got_codes.iter().filter(|c| !want_codes.contains(c)).count();
        for _ in 0..extra {
            self.municipalities.add(false, true);
        }

        if let Some(want) = expected.event_time {
            self.events += 1;
            if got.event_time.is_some_and(|have| same_local_date(have, want)) {
                self.event_dates_correct += 1;
            }
        }
    }

    /// Micro-averaged counts over all themes.
    pub fn theme_micro(&self) -> Counts {
        let mut total = Counts::default();
        for counts in self.themes.values() {
            total.merge(*counts);
        }
        total
    }

    pub fn event_date_accuracy(&self) -> f64 {
        ratio(self.event_dates_correct, self.events)
    }

    /// The value of each of [`TARGETS`], in order. A measure with nothing
    /// to measure (no level 3 predicted, no announcement labelled) is 0: a
    /// target is never met by default.
    pub fn target_values(&self) -> [f64; 5] {
        let level3 = &self.levels[3];
        [
            self.mobilisation_or_more.f1(),
            if level3.tp + level3.fp == 0 { 0.0 } else { level3.precision() },
            self.theme_micro().f1(),
            self.municipalities.f1(),
            if self.events == 0 { 0.0 } else { self.event_date_accuracy() },
        ]
    }

    /// Whether every target is met.
    pub fn meets_targets(&self) -> bool {
        self.target_values().iter().zip(TARGETS).all(|(value, (_, target))| *value >= target)
    }

    /// A plain-text report.
    pub fn report(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} messages, level exactly right: {:.3}",
            self.messages,
            ratio(self.level_correct, self.messages)
        );
        let _ = writeln!(out, "\n{:<26} {:>9} {:>9} {:>9} {:>8}", "label", "precision", "recall", "F1", "support");
        let mut row = |name: &str, c: &Counts| {
            let _ = writeln!(
                out,
                "{name:<26} {:>9.3} {:>9.3} {:>9.3} {:>8}",
                c.precision(),
                c.recall(),
                c.f1(),
                c.support()
            );
        };
        for (level, counts) in self.levels.iter().enumerate() {
            row(&format!("level {level}"), counts);
        }
        row("level >= 2 (detection)", &self.mobilisation_or_more);

        for (theme, counts) in &self.themes {
            row(&format!("theme {theme}"), counts);
        }
        row("themes (micro)", &self.theme_micro());
        row("municipalities (micro)", &self.municipalities);
        let _ = writeln!(out, "\nconfusion (rows: expected level, columns: given level)");
        let _ = writeln!(out, "{:<10} {:>7} {:>7} {:>7} {:>7}", "", "0", "1", "2", "3");
        for (level, given) in self.confusion.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<10} {:>7} {:>7} {:>7} {:>7}",
                format!("level {level}"),
                given[0],
                given[1],
                given[2],
                given[3]
            );
        }

        let _ = writeln!(
            out,
            "\nevent date accuracy: {:.3} ({} of {} announcements)",
            self.event_date_accuracy(),
            self.event_dates_correct,
            self.events
        );
        let _ = writeln!(out, "\ntargets:");
        for (value, (name, target)) in self.target_values().iter().zip(TARGETS) {
            let verdict = if *value >= target { "met" } else { "NOT MET" };
            let _ = writeln!(out, "  {name:<26} {value:.3} (target >= {target:.2}) {verdict}");
        }
        out
    }
}

/// Signals that can make a message level 3, 2 and 1 (see `config/signals/README.md`).
const ESCALATING: [&str; 6] = ["threat", "doxxing", "intent_to_harm", "doxxing_grammar", "call_to_violence", "weapon"];
const CALLING: [&str; 4] = ["call", "future_time", "emphasis", "gathering"];
const MOBILISING: [&str; 2] = ["mobilisation", "gathering"];
const HOLDING_BACK: [&str; 5] = ["reporting", "negation", "question", "irony", "peaceful"];

/// For a line whose level differs from its label: the clause that decided,
/// and which signals missed (level too low) or fired wrongly (too high).
pub fn diagnose(expected: &Expected, got: &Assessment) -> String {
    let clause = got
        .explanation
        .iter()
        .find(|s| s.signal == "clause")
        .map_or_else(|| "the whole message".to_owned(), |s| format!("\"{}\"", s.evidence));
    let fired = |names: &[&str]| -> Vec<String> {
        got.explanation
            .iter()
            .filter(|s| names.contains(&s.signal.as_str()))
            .map(|s| format!("{}[{}]", s.signal, s.evidence))
            .collect()
    };
    let list = |v: Vec<String>| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
    let (want, have) = (expected.level, got.level);
    if want == have {
        return format!("level {} as labelled; deciding clause {clause}", have.as_u8());
    }
    let mut out = format!("level {}→{}; deciding clause {clause}; ", want.as_u8(), have.as_u8());
    if have < want {
        let (needed, missing) = match want {
            Level::Escalation => (
                fired(&ESCALATING),
                "a threat, doxxing, intent_to_harm (intent + harm + target), or call_to_violence with a call",
            ),
            Level::Mobilisation => (fired(&MOBILISING), "mobilisation or gathering with a call or a time ahead"),
            _ => (Vec::new(), "a theme or an unrest signal"),
        };
        out.push_str(&format!(
            "missed: {missing}; present: {}; calls: {}; held back by: {}",
            list(needed),
            list(fired(&CALLING)),
            list(fired(&HOLDING_BACK))
        ));
    } else {
        let culprits = match have {
            Level::Escalation => fired(&ESCALATING),
            Level::Mobilisation => fired(&MOBILISING),
            _ => got
                .explanation
                .iter()
                .filter(|s| s.signal.starts_with("theme:") || s.weight > 0.0)
                .map(|s| format!("{}[{}]", s.signal, s.evidence))
                .collect(),
        };
        out.push_str(&format!("fired wrongly: {}; calls: {}", list(culprits), list(fired(&CALLING))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use onrust_model::MunicipalityCode;

    fn got(level: Level, themes: &[&str], codes: &[&str], event: Option<&str>) -> Assessment {
        Assessment {
            lang: Some("nl".into()),
            level,
            score: 0.5,
            themes: themes.iter().map(|t| (*t).to_owned()).collect(),
            municipalities: codes.iter().map(|c| MunicipalityCode::new(*c).unwrap()).collect(),
            places: vec![],
            event_time: event.map(|e| DateTime::parse_from_rfc3339(e).unwrap()),
            explanation: vec![],
            classifier_version: "t".into(),
        }
    }

    fn want(level: Level, themes: &[&str], codes: &[&str], event: Option<&str>) -> Expected {
        Expected {
            level,
            themes: themes.iter().map(|t| (*t).to_owned()).collect(),
            municipalities: codes.iter().map(|c| (*c).to_owned()).collect(),
            event_time: event.map(|e| DateTime::parse_from_rfc3339(e).unwrap()),
        }
    }

    #[test]
    fn counts_precision_recall_and_f1() {
        let mut e = Evaluation::default();
        e.add(
            &want(Level::Escalation, &["jaarwisseling"], &["GM0344"], Some("2026-12-31T23:00:00+01:00")),
            &got(Level::Escalation, &["jaarwisseling"], &["GM0344"], Some("2026-12-31T20:00:00+01:00")),
        );
        e.add(
            &want(Level::Discussion, &["stikstof"], &[], None),
            &got(Level::Escalation, &["stikstof", "klimaat"], &["GM0307"], None),
        );
        e.add(
            &want(Level::Mobilisation, &[], &["GM0355"], Some("2027-01-01T00:30:00+01:00")),
            &got(Level::Discussion, &[], &["GM0355"], Some("2026-12-31T23:30:00+01:00")),
        );
        assert_eq!(e.messages, 3);
        assert_eq!(e.levels[3], Counts { tp: 1, fp: 1, fn_: 0 });
        assert_eq!(e.levels[3].precision(), 0.5);
        assert_eq!(e.mobilisation_or_more, Counts { tp: 1, fp: 1, fn_: 1 });
        assert_eq!(e.theme_micro(), Counts { tp: 2, fp: 1, fn_: 0 });
        assert_eq!(e.municipalities, Counts { tp: 2, fp: 1, fn_: 0 });
        assert_eq!(
            (e.events, e.event_dates_correct),
            (2, 1),
            "the date counts, not the hour; 23:30 on the 31st is not the 1st"
        );
        assert!(!e.meets_targets());
        assert!(e.report().contains("NOT MET"));
    }

    #[test]
    fn nothing_to_measure_meets_no_target() {
        let mut e = Evaluation::default();
        e.add(&want(Level::None, &[], &["344", "GM0344"], None), &got(Level::None, &[], &["GM0344"], None));
        assert_eq!(e.municipalities, Counts { tp: 1, fp: 0, fn_: 0 }, "codes are normalised and counted once");
        let values = e.target_values();
        assert_eq!((values[1], values[4]), (0.0, 0.0));
        assert!(!e.meets_targets());
        assert!(agrees(&want(Level::None, &["a", "b"], &[], None), &got(Level::None, &["b", "a"], &[], None)));
    }

    #[test]
    fn confusion_and_diagnosis_name_levels_clause_and_signals() {
        let mut e = Evaluation::default();
        let mut missed = got(Level::Discussion, &[], &[], None);
        missed.explanation = vec![
            onrust_model::Signal { signal: "clause".into(), evidence: "we gaan de ME aanvallen".into(), weight: 0.0 },
            onrust_model::Signal { signal: "call_to_violence".into(), evidence: "aanvallen".into(), weight: 1.8 },
            onrust_model::Signal { signal: "reporting".into(), evidence: "werd".into(), weight: -0.9 },
        ];
        e.add(&want(Level::Escalation, &[], &[], None), &missed);
        e.add(&want(Level::None, &[], &[], None), &got(Level::Mobilisation, &[], &[], None));
        assert_eq!(e.confusion[3][1], 1);
        assert_eq!(e.confusion[0][2], 1);
        assert_eq!(e.confusion.iter().flatten().sum::<u64>(), 2);
        assert!(e.report().contains("confusion"), "{}", e.report());
        let why = diagnose(&want(Level::Escalation, &[], &[], None), &missed);
        assert!(why.contains("level 3→1"), "{why}");
        assert!(why.contains("\"we gaan de ME aanvallen\""), "{why}");
        assert!(why.contains("present: call_to_violence[aanvallen]"), "{why}");
        assert!(why.contains("held back by: reporting[werd]"), "{why}");
        let mut over = got(Level::Escalation, &[], &[], None);
        over.explanation = vec![onrust_model::Signal {
            signal: "intent_to_harm".into(),
            evidence: "ik + slopen + dat".into(),
            weight: 3.6,
        }];
        let why = diagnose(&want(Level::None, &[], &[], None), &over);
        assert!(why.contains("fired wrongly: intent_to_harm[ik + slopen + dat]"), "{why}");
        assert!(why.contains("the whole message"), "{why}");
    }

    #[test]
    fn nothing_expected_and_nothing_predicted_is_perfect() {
        let c = Counts::default();
        assert_eq!((c.precision(), c.recall()), (1.0, 1.0));
    }
}
