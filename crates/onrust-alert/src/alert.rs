//! The [`Alert`]: what the engine decides and every notifier receives.
//!
//! One type is shared by the engine (which creates and updates alerts) and the
//! notifiers (email, webhook, Atom, ICS) so that what a mayor reads is exactly
//! what the engine decided, with its reasons (rule L9). It carries no
//! author and no pseudonym (L1): evidence is message ids, sources and short
//! excerpts only.

use chrono::{DateTime, Utc};
use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The four kinds of rule (docs/ARCHITECTURE.md, "Configuration keys": `[[rules]] kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// At least N messages with level ≥ L in a window, per municipality.
    Threshold,
    /// A count per municipality × theme far above its own baseline.
    Burst,
    /// A new announced action (level ≥ 2 with an event time).
    Announcement,
    /// One message at level ≥ L and score ≥ S.
    Critical,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::Burst => "burst",
            Self::Announcement => "announcement",
            Self::Critical => "critical",
        }
    }
}

/// How urgent an alert is; ordered, so `Critical > Warning > Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    /// The Dutch word, lowercase ("kritiek"), as a sentence uses it.
    pub fn dutch(self) -> &'static str {
        match self {
            Self::Info => "informatief",
            Self::Warning => "waarschuwing",
            Self::Critical => "kritiek",
        }
    }
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The condition holds but not yet for the rule's `pending` period.
    Pending,
    /// The condition has held long enough; notifications go out.
    Firing,
    /// The condition has been gone for `keep_firing_for`: de-escalated.
    Resolved,
}

/// One alert instance, identified by its labels (rule, municipality, theme, event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Hex SHA-256 of the identity labels; stable across restarts and rule edits.
    pub fingerprint: String,
    /// The rule's name.
    pub rule: String,
    /// Short hash of the rule's canonical config; changes when the rule does.
    pub rule_version: String,
    pub kind: RuleKind,
    pub severity: Severity,
    /// `None` is the whole region.
    pub municipality: Option<MunicipalityCode>,
    pub municipality_name: Option<String>,
    pub theme: Option<String>,
    pub status: AlertStatus,
    pub starts_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Announcements: when the action takes place.
    pub event_time: Option<DateTime<Utc>>,
    pub event_place: Option<String>,
    /// Messages in the window (for critical and announcement: the matching messages seen).
    pub observed: u64,
    /// Burst: the expected count (baseline).
    pub expected: Option<f64>,
    /// Burst: the p-value after correction for multiple testing.
    pub p_value: Option<f64>,
    /// The rule's count threshold, where it has one.
    pub threshold: Option<u64>,
    /// The rule's window in seconds (0 for single-message rules).
    pub window_secs: u64,
    /// Dutch sentences: why, from the rule and the messages' signals (L9).
    pub reasons: Vec<String>,
    /// 3–5 representative messages, never an author or pseudonym (L1).
    pub evidence: Vec<Evidence>,
    /// 0..1.
    pub confidence: f32,
    /// L10: who confirmed this alert for mail to the mayor.
    pub reviewed_by: Option<String>,
    pub acknowledged_by: Option<String>,
    pub ack_comment: Option<String>,
    /// Announcements: event time minus the first time the action was seen, in seconds.
    #[serde(default)]
    pub lead_time_secs: Option<i64>,
    /// The identity label `event` (announcements: the calendar key), if any.
    #[serde(default)]
    pub event: Option<String>,
    /// "Plaats onbekend": no municipality and not the region either (the
    /// messages name no place). Such an alert goes to the region's `*`
    /// officers and supervisors, never to a mayor, and never holds back a
    /// municipal alert. `municipality` is `None`.
    #[serde(default)]
    pub unplaced: bool,
    /// When the supervisor is told if no officer acknowledges the alert
    /// (the rule's `escalate_after`), while that is still ahead.
    #[serde(default)]
    pub escalates_at: Option<DateTime<Utc>>,
    /// Who decided what about this alert, when and why, oldest first
    /// (acknowledged, confirmed or dismissed for the mayor).
    #[serde(default)]
    pub decisions: Vec<Decision>,
    /// The mandate (`[[mandates]]` id) the rule ran under when it made this
    /// alert (rule L5); `None` in state written before mandates existed.
    #[serde(default)]
    pub mandate: Option<String>,
}

/// The municipality label of an alert without a known place: in its
/// fingerprint, silences and API (a CBS code is `GM` and four digits, so it
/// cannot collide).
pub const UNPLACED_LABEL: &str = "onbekend";

/// What a person decided about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// An officer has seen it and acted: no more reminders or escalation.
    Acknowledged,
    /// A supervisor let it go to the mayor (rule L10).
    Confirmed,
    /// A supervisor decided it does not go to the mayor.
    Dismissed,
}

impl DecisionKind {
    /// The Dutch past participle, as mails and the CLI show it.
    pub fn dutch(self) -> &'static str {
        match self {
            Self::Acknowledged => "gezien",
            Self::Confirmed => "bevestigd voor de burgemeester",
            Self::Dismissed => "niet naar de burgemeester",
        }
    }
}

/// One decision on record: who (a token's name), when, what and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub kind: DecisionKind,
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

impl Alert {
    /// The label value of the alert's place: its CBS code, [`UNPLACED_LABEL`]
    /// for an unplaced alert, `""` for the region.
    pub fn place_label(&self) -> &str {
        match (&self.municipality, self.unplaced) {
            (Some(m), _) => m.as_str(),
            (None, true) => UNPLACED_LABEL,
            (None, false) => "",
        }
    }

    /// The places the alert is about, as mails, feeds and calendars name them:
    /// the announced action's place, then the places its evidence names
    /// ([`Evidence::place`]), each once, in order. Empty when the messages
    /// name no place below the alert's municipality.
    pub fn places_named(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let named =
            self.event_place.as_deref().into_iter().chain(self.evidence.iter().filter_map(|e| e.place.as_deref()));
        for place in named {
            if !out.iter().any(|p| p.eq_ignore_ascii_case(place)) {
                out.push(place);
            }
        }
        out
    }

    /// The first characters of the fingerprint that name it in mail and on
    /// the command line (`onrust alerts ack <short id>`).
    pub fn short_id(&self) -> &str {
        self.fingerprint.get(..SHORT_ID_CHARS).unwrap_or(&self.fingerprint)
    }
}

/// Characters of a fingerprint that identify an alert to a person; the CLI
/// accepts any unique prefix of at least this length.
pub const SHORT_ID_CHARS: usize = 8;

/// The short id of `fingerprint` among `others` (the alerts current beside
/// it): its first [`SHORT_ID_CHARS`] characters, or as many more as it takes
/// to tell it from every other one, so the id a mail or a list prints always
/// names one alert (`onrust alerts ack <id>` refuses an ambiguous prefix).
pub fn unique_short_id<'a, 'b>(fingerprint: &'a str, others: impl IntoIterator<Item = &'b str>) -> &'a str {
    let shared = others
        .into_iter()
        .filter(|other| *other != fingerprint)
        .map(|other| fingerprint.bytes().zip(other.bytes()).take_while(|(a, b)| a == b).count())
        .max()
        .unwrap_or(0);
    let chars = (shared + 1).max(SHORT_ID_CHARS);
    fingerprint.get(..chars).unwrap_or(fingerprint)
}

impl Alert {
    /// What this alert lacks to explain itself (rule L9): the rule and
    /// its version, reasons, evidence while it fires, the counts a counting
    /// rule works with (threshold; for bursts also expected and p-value), and
    /// the time of an announced action. Empty when complete; an incomplete
    /// alert is not sent.
    pub fn missing_explanation(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.rule.is_empty() {
            missing.push("rule");
        }
        if self.rule_version.is_empty() {
            missing.push("rule_version");
        }
        if self.reasons.is_empty() {
            missing.push("reasons");
        }
        if self.evidence.is_empty() && self.status != AlertStatus::Resolved {
            missing.push("evidence");
        }
        match self.kind {
            RuleKind::Threshold if self.threshold.is_none() => missing.push("threshold"),
            RuleKind::Burst => {
                if self.expected.is_none() {
                    missing.push("expected");
                }
                if self.p_value.is_none() {
                    missing.push("p_value");
                }
            }
            RuleKind::Announcement if self.event_time.is_none() => missing.push("event_time"),
            _ => {}
        }
        missing
    }
}

/// One representative message behind an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub message_id: String,
    /// The source id.
    pub source: String,
    pub url: Option<String>,
    pub title: Option<String>,
    /// At most 280 characters of the message text.
    pub excerpt: String,
    pub published_at: DateTime<Utc>,
    pub level: u8,
    pub score: f32,
    /// The explanation's signal names.
    pub signals: Vec<String>,
    /// When onrust received the message (its fetch time). Critical and
    /// announcement rules judge a message by this, not by `published_at`: a
    /// call to violence that reaches onrust late is still news.
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// Where the message is, as [`onrust_model::Place::label`] writes it: the
    /// most specific place it names in the alert's municipality
    /// ("Kanaleneiland (wijk, Utrecht)"); none when it names only the
    /// municipality itself, which the alert already says. In a region-wide
    /// alert the most specific place it names anywhere, "Utrecht (gemeente)"
    /// too. An unplaced alert's messages name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
}

/// Most characters an [`Evidence::excerpt`] holds.
pub const EXCERPT_MAX_CHARS: usize = 280;

/// What an excerpt reads once its message was deleted at its source or
/// erased on request (`onrust erase`): both leave the same way, so the words
/// say only that it went.
pub const WITHDRAWN_EXCERPT: &str = "[bericht verwijderd]";

impl Evidence {
    /// Withdraws what this evidence quotes when it is message `id` (deleted at
    /// its source): the excerpt becomes [`WITHDRAWN_EXCERPT`], title, link and
    /// the place it named go (a street can say as much as the words). The
    /// item itself stays, with its level, score and signal names, so an
    /// alert still explains itself (L9) and a queued mail stays valid.
    /// Whether anything changed.
    pub fn withdraw(&mut self, id: &str) -> bool {
        if !self.quotes(id) {
            return false;
        }
        self.excerpt = WITHDRAWN_EXCERPT.to_owned();
        self.url = None;
        self.title = None;
        self.place = None;
        true
    }
}

impl Evidence {
    /// Whether this evidence still quotes message `id`: what
    /// [`Evidence::withdraw`] would change, and what an erasure counts.
    pub fn quotes(&self, id: &str) -> bool {
        let withdrawn =
            self.excerpt == WITHDRAWN_EXCERPT && self.url.is_none() && self.title.is_none() && self.place.is_none();
        self.message_id == id && !withdrawn
    }
}

/// How the reason that quotes the evidence's words begins (see the engine's `signal_line`).
const SIGNAL_WORDS_PREFIX: &str = "Signalen in de voorbeelden: ";

impl Alert {
    /// Withdraws message `id` (deleted at its source or erased on request)
    /// from this alert: its evidence entry as [`Evidence::withdraw`] does, and
    /// the words the signals quote in the reasons, which may be that
    /// message's own (the signal names, weights and counts stay, so the
    /// alert still explains itself, L9). Whether anything changed.
    pub fn withdraw_message(&mut self, id: &str) -> bool {
        if !withdraw_evidence(&mut self.evidence, id) {
            return false;
        }
        for reason in &mut self.reasons {
            if let Some(signals) = reason.strip_prefix(SIGNAL_WORDS_PREFIX) {
                *reason = format!("{SIGNAL_WORDS_PREFIX}{}", without_quoted_words(signals));
            }
        }
        true
    }
}

/// `call_to_violence 3,42 (2×, "gooi, steek"), x 1,00 (1×).` without the
/// quoted words: `call_to_violence 3,42 (2×), x 1,00 (1×).` A quote ends at
/// the `")` that the end (`.`) or the next signal follows (`, name 1,00 (`
/// or `, name (`), so words with quotes or brackets of their own are taken
/// out whole.
fn without_quoted_words(signals: &str) -> String {
    const OPEN: &str = "×, \"";
    let mut out = String::with_capacity(signals.len());
    let mut rest = signals;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at + '×'.len_utf8()]);
        let quoted = &rest[at + OPEN.len()..];
        let end = quoted.match_indices("\")").map(|(i, _)| i).find(|&i| {
            let tail = &quoted[i + 2..];
            tail == "." || tail.strip_prefix(", ").is_some_and(starts_with_a_signal)
        });
        match end {
            // Keep the `)`.
            Some(i) => rest = &quoted[i + 1..],
            None => {
                out.push_str(").");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `text` begins as a signal of the reason does: a name of
/// lowercase letters, digits, `_` and `:`, a space, then its weight or its count.
fn starts_with_a_signal(text: &str) -> bool {
    let name_len =
        text.bytes().take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:".contains(b)).count();
    name_len > 0
        && text[name_len..]
            .strip_prefix(' ')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '('))
}

/// [`Evidence::withdraw`] over a list; whether any item changed.
pub fn withdraw_evidence<'a>(evidence: impl IntoIterator<Item = &'a mut Evidence>, id: &str) -> bool {
    evidence.into_iter().fold(false, |changed, e| e.withdraw(id) | changed)
}

/// The fingerprint of an alert identity: hex SHA-256 over the labels, each
/// followed by a NUL so that `("ab", "c")` and `("a", "bc")` differ.
pub fn fingerprint(rule: &str, municipality: Option<&str>, theme: Option<&str>, event: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    for part in [Some(rule), municipality, theme, event] {
        match part {
            Some(p) => {
                hasher.update([1]);
                hasher.update(p.as_bytes());
            }
            None => hasher.update([0]),
        }
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// Cuts a text to at most [`EXCERPT_MAX_CHARS`] characters on a character
/// boundary, ending in `…` when cut.
pub fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= EXCERPT_MAX_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(EXCERPT_MAX_CHARS - 1).collect();
    out.push('…');
    out
}

/// Picks up to `n` representative messages: highest level, then highest
/// score, one per source first (several voices say more than one loud
/// source), then the next best from any source. Deterministic: ties go to the
/// earlier message, then the smaller id.
pub fn representative(candidates: &[Evidence], n: usize) -> Vec<Evidence> {
    let mut order: Vec<&Evidence> = candidates.iter().collect();
    order.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.score.total_cmp(&a.score))
            .then(a.published_at.cmp(&b.published_at))
            .then(a.message_id.cmp(&b.message_id))
    });
    order.dedup_by(|a, b| a.message_id == b.message_id);
    let mut picked: Vec<&Evidence> = Vec::with_capacity(n);
    for e in &order {
        if picked.len() < n && !picked.iter().any(|p| p.source == e.source) {
            picked.push(e);
        }
    }
    for e in &order {
        if picked.len() < n && !picked.iter().any(|p| p.message_id == e.message_id) {
            picked.push(e);
        }
    }
    picked.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L3: a withdrawn message's words leave the reasons with it; the signal
    /// names, weights and counts stay, and a quote with quotes or brackets of
    /// its own is taken out whole.
    #[test]
    fn withdrawing_a_message_takes_the_quoted_words_out_of_the_reasons() {
        let line = "call_to_violence 3,42 (2×, \"gooi, steek (\"x\"), in brand\"), learned:escalation 4,87 (2×, \
                    \"p = 0.992\"), threat 1,00 (1×).";
        assert_eq!(
            without_quoted_words(line),
            "call_to_violence 3,42 (2×), learned:escalation 4,87 (2×), threat 1,00 (1×)."
        );
        assert_eq!(without_quoted_words("x 1,00 (1×, \"onaf"), "x 1,00 (1×).", "a cut quote goes whole");
        assert_eq!(without_quoted_words("geen citaat (2×)."), "geen citaat (2×).");
    }

    fn ev(id: &str, source: &str, level: u8, score: f32) -> Evidence {
        Evidence {
            message_id: id.into(),
            source: source.into(),
            url: None,
            title: None,
            excerpt: String::new(),
            published_at: DateTime::UNIX_EPOCH,
            level,
            score,
            signals: vec![],
            received_at: None,
            place: None,
        }
    }

    #[test]
    fn representative_prefers_level_score_and_different_sources() {
        let c = vec![
            ev("a", "s1", 3, 0.9),
            ev("b", "s1", 3, 0.95),
            ev("c", "s2", 2, 0.7),
            ev("d", "s3", 1, 0.4),
            ev("e", "s1", 3, 0.8),
            ev("b", "s1", 3, 0.95),
        ];
        let ids: Vec<String> = representative(&c, 4).into_iter().map(|e| e.message_id).collect();
        assert_eq!(ids, ["b", "c", "d", "a"]);
    }

    #[test]
    fn fingerprints_are_stable_and_distinguish_label_boundaries() {
        let a = fingerprint("r", Some("GM0344"), Some("stikstof"), None);
        assert_eq!(a, fingerprint("r", Some("GM0344"), Some("stikstof"), None));
        assert_eq!(a.len(), 64);
        assert_ne!(fingerprint("ab", Some("c"), None, None), fingerprint("a", Some("bc"), None, None));
        assert_ne!(fingerprint("r", None, Some("x"), None), fingerprint("r", Some("x"), None, None));
    }

    #[test]
    fn a_short_id_is_eight_characters_or_as_many_as_tell_it_apart() {
        let a = "3f9a0c1e77aa0000";
        let b = "3f9a0c1e7bbb1111";
        let c = "0123456789abcdef";
        assert_eq!(unique_short_id(a, [a, c]), "3f9a0c1e", "alone with its 8 characters");
        assert_eq!(unique_short_id(a, [a, b, c]), "3f9a0c1e77", "one more than the 9 it shares with b");
        assert_eq!(unique_short_id(b, [a, b]), "3f9a0c1e7b");
        assert_eq!(unique_short_id(a, std::iter::empty()), "3f9a0c1e");
        assert_eq!(unique_short_id("3f9a", [c]), "3f9a", "never longer than the fingerprint");
        assert_eq!(unique_short_id(a, [a, a]), "3f9a0c1e", "itself listed twice is still alone");
    }

    #[test]
    fn excerpts_are_capped_on_char_boundaries() {
        let long = "é".repeat(400);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_MAX_CHARS);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(" kort "), "kort");
    }
}
