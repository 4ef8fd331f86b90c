//! When to tell whom: grouping, silences, inhibition, acknowledgement,
//! escalation and the review gate.
//!
//! # Why
//!
//! The engine says *what* is going on; this module decides *when a
//! notification is due and for which role*. It follows Prometheus
//! Alertmanager where Alertmanager is good (grouping with `group_by`,
//! `group_wait`, `group_interval`, `repeat_interval`; silences with matchers,
//! an owner, a reason and an expiry; inhibition) and adds what its users have
//! long asked for and municipalities need:
//!
//! * **acknowledgement** with a comment: an acknowledged alert is not
//!   repeated and not escalated (it is still reported when it resolves);
//! * **escalation**: a firing alert not acknowledged within the rule's
//!   `escalate_after` goes to the next role (officer → supervisor), once;
//! * the **review gate** (rule L10): what goes to a mayor (critical
//!   and announcement alerts in real time, and the daily digest) waits until
//!   a supervisor calls [`Mechanics::confirm`] unless the rule says
//!   `review = false`; the supervisor is asked with a `ReviewRequested`
//!   notification, and every decision (who, when, confirm or dismiss) is kept
//!   in [`Mechanics::reviews`]. Alerts sent without review carry
//!   `unreviewed = true` so the mail can say so.
//!
//! Inhibition: a firing regional count (a `threshold` or `burst` alert of a
//! rule with `per = "region"`) holds back the municipal counts of the same
//! kind and theme (every theme, when the regional one has none): one count
//! about the region beats 38 about its parts. A municipal alert more severe
//! than the regional one is told anyway, because that municipality's
//! situation is worse than the region's. Single messages are never held
//! back: a call to violence in a municipality is that municipality's
//! officer's to hear whatever else fires, and each announcement is a
//! different action that a mayor may have to facilitate. An unplaced alert
//! ("plaats onbekend", see [`Alert::unplaced`]) holds nothing back: it goes
//! to the region's `*` officers and supervisors, never to a mayor.
//!
//! An alert that does not explain itself (see [`Alert::missing_explanation`])
//! is never notified (rule L9).
//!
//! Like the engine this is pure: `now` is passed in, nothing is sent. The
//! output is a list of [`Notification`]s (a role, a municipality, alerts and
//! a reason) that the daemon resolves to recipients from `[[recipients]]` and
//! hands to the notifiers. Each has a stable `id` so the notification log can
//! deliver it at least once and never twice (rule R8).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::alert::{Alert, AlertStatus, Decision, DecisionKind, RuleKind};
use crate::calendar::Calendar;
use crate::engine::{Transition, TransitionKind};
use crate::rule::{Label, Rule, secs};

/// Version of [`MechanicsState`]'s layout.
pub const MECHANICS_SCHEMA_VERSION: u32 = 1;
/// Review decisions kept (the oldest go first; the daemon's log keeps them all).
const REVIEWS_KEPT: usize = 10_000;

/// Who a notification is for; the daemon maps it to `[[recipients]]` of the municipality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    Supervisor,
    Mayor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Mayor => "mayor",
        }
    }
}

/// Why a notification goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyReason {
    /// At least one alert in it is new to these recipients.
    New,
    /// Alerts already told changed (counts, evidence).
    Updated,
    /// Nothing changed, still firing and not acknowledged: a reminder.
    Repeat,
    /// Alerts de-escalated.
    Resolved,
    /// Not acknowledged in time: the next role is told.
    Escalated,
    /// The daily overview for mayors.
    Digest,
    /// A supervisor is asked to confirm an alert for the mayor (L10).
    ReviewRequested,
    /// A joint summary for officers and the mayor ahead of an announced action.
    Summary,
}

/// One notification for one role in one municipality (`None`: region-wide recipients).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable id for the notification log (deduplication, R8).
    pub id: String,
    pub recipients_role: Role,
    pub municipality: Option<MunicipalityCode>,
    pub reason: NotifyReason,
    pub alerts: Vec<Alert>,
    /// The group key this came from (empty for escalations, reviews and digests).
    pub group: String,
    pub at: DateTime<Utc>,
    /// For a mayor: the alert was not reviewed because its rule says `review = false`.
    pub unreviewed: bool,
}

/// One label condition of a silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// `rule`, `municipality`, `theme`, `event`, `severity`, `kind` or `fingerprint`.
    pub label: String,
    /// The value to match exactly (`""` matches an absent label).
    pub value: String,
    /// Match when the label is *not* this value.
    #[serde(default)]
    pub negate: bool,
}

/// Labels a silence may match on.
pub const SILENCE_LABELS: [&str; 7] = ["rule", "municipality", "theme", "event", "severity", "kind", "fingerprint"];

/// A silence: matching alerts notify nobody until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub reason: String,
    pub owner: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// An acknowledgement of an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub by: String,
    pub comment: String,
    pub at: DateTime<Utc>,
}

/// A supervisor's decision on an alert for the mayor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Confirmed,
    Dismissed,
}

/// Who decided what about which alert, and when (L10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub fingerprint: String,
    pub rule: String,
    pub municipality: Option<MunicipalityCode>,
    pub decision: ReviewDecision,
    pub by: String,
    pub at: DateTime<Utc>,
    /// Why, in the supervisor's words.
    #[serde(default)]
    pub reason: String,
}

/// Why a request to the mechanics is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MechanicsError {
    #[error("no active alert with fingerprint {0}")]
    UnknownAlert(String),
    #[error("alert {0} is not waiting for review")]
    NotAwaitingReview(String),
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("silence matcher label {0:?} is not one of rule, municipality, theme, event, severity, kind, fingerprint")]
    BadLabel(String),
    #[error("a silence needs at least one matcher that is not negated")]
    NoMatchers,
    #[error("a silence must end after it starts")]
    Expired,
    #[error("no silence with id {0}")]
    UnknownSilence(String),
    #[error(
        "{0:?} is no municipality of the region: a silence names one by its CBS code, such as GM0344, \
         or onbekend for the alerts without a known place"
    )]
    UnknownMunicipality(String),
    #[error("mechanics state has schema version {found}, this onrust reads version {expected}")]
    Schema { found: u32, expected: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Review {
    NotNeeded,
    Waiting { asked: bool },
    Confirmed,
    Dismissed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tracked {
    alert: Alert,
    firing_since: DateTime<Utc>,
    escalated: bool,
    review: Review,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Member {
    /// Not yet told to this group's recipients.
    new: bool,
    /// Changed since last told.
    changed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Group {
    role: Role,
    municipality: Option<MunicipalityCode>,
    /// The rule whose timing the group follows (the first alert's).
    rule: String,
    /// That rule's timing and review flag, kept so a group still reports
    /// (e.g. the resolution) after its rule was removed from the configuration.
    group_wait_secs: u64,
    group_interval_secs: u64,
    repeat_interval_secs: u64,
    review: bool,
    created_at: DateTime<Utc>,
    last_flush: Option<DateTime<Utc>>,
    members: BTreeMap<String, Member>,
}

/// All of the mechanics' state, serialisable for persistence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MechanicsState {
    pub schema: u32,
    alerts: BTreeMap<String, Tracked>,
    groups: BTreeMap<String, Group>,
    silences: BTreeMap<String, Silence>,
    acks: BTreeMap<String, Ack>,
    reviews: Vec<ReviewRecord>,
    /// Calendar entries already summarised ahead of their action (`municipality|theme|key`).
    #[serde(default)]
    summarised: std::collections::BTreeSet<String>,
}

impl Default for MechanicsState {
    fn default() -> Self {
        Self {
            schema: MECHANICS_SCHEMA_VERSION,
            alerts: BTreeMap::new(),
            groups: BTreeMap::new(),
            silences: BTreeMap::new(),
            acks: BTreeMap::new(),
            reviews: Vec::new(),
            summarised: std::collections::BTreeSet::new(),
        }
    }
}

/// What a silence should match and why; see [`Mechanics::add_silence`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceRequest {
    pub matchers: Vec<Matcher>,
    pub reason: String,
    pub owner: String,
    pub ends_at: DateTime<Utc>,
}

/// Grouping, silences, inhibition, acks, escalation and review. See the module docs.
#[derive(Debug)]
pub struct Mechanics {
    rules: BTreeMap<String, Rule>,
    s: MechanicsState,
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..12])
}

fn label_value<'a>(a: &'a Alert, label: &str) -> &'a str {
    match label {
        "rule" => &a.rule,
        "municipality" => a.place_label(),
        "theme" => a.theme.as_deref().unwrap_or(""),
        "event" => a.event.as_deref().unwrap_or(""),
        "severity" => a.severity.as_str(),
        "kind" => a.kind.as_str(),
        "fingerprint" => &a.fingerprint,
        _ => "",
    }
}

/// Mayors hear of these in real time (issue 5: critical and announcement
/// alerts), when they have a place: an unplaced alert has no mayor.
fn mayor_bound(alert: &Alert) -> bool {
    matches!(alert.kind, RuleKind::Critical | RuleKind::Announcement) && !alert.unplaced
}

impl Mechanics {
    pub fn new(rules: &[Rule]) -> Self {
        Self { rules: rules.iter().map(|r| (r.name.clone(), r.clone())).collect(), s: MechanicsState::default() }
    }

    /// Restores from a snapshot, with the rules of the current configuration.
    pub fn restore(rules: &[Rule], state: MechanicsState) -> Result<Self, MechanicsError> {
        if state.schema != MECHANICS_SCHEMA_VERSION {
            return Err(MechanicsError::Schema { found: state.schema, expected: MECHANICS_SCHEMA_VERSION });
        }
        let mut m = Self::new(rules);
        m.s = state;
        Ok(m)
    }

    pub fn snapshot(&self) -> MechanicsState {
        self.s.clone()
    }

    /// The alerts now known (firing, or resolved and not yet reported), with acks and reviews applied.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.s.alerts.values().map(|t| &t.alert)
    }

    pub fn alert(&self, fingerprint: &str) -> Option<&Alert> {
        self.s.alerts.get(fingerprint).map(|t| &t.alert)
    }

    /// The active silences.
    pub fn silences(&self) -> impl Iterator<Item = &Silence> {
        self.s.silences.values()
    }

    /// Every review decision, oldest first.
    pub fn reviews(&self) -> &[ReviewRecord] {
        &self.s.reviews
    }

    /// How many review records (who decided what about which alert, and
    /// why) date from before `before`: what [`Mechanics::expire_reviews`]
    /// would remove.
    pub fn reviews_before(&self, before: DateTime<Utc>) -> usize {
        self.s.reviews.iter().filter(|r| r.at < before).count()
    }

    /// Removes the review records from before `before` (retention of the
    /// alert state, L6); returns how many went. Everything else the state
    /// holds about an alert (its acknowledgement, what each role was told)
    /// already goes with the alert when it resolves.
    pub fn expire_reviews(&mut self, before: DateTime<Utc>) -> usize {
        let was = self.s.reviews.len();
        self.s.reviews.retain(|r| r.at >= before);
        was - self.s.reviews.len()
    }

    /// Alerts waiting for a supervisor's decision.
    pub fn awaiting_review(&self) -> impl Iterator<Item = &Alert> {
        self.s.alerts.values().filter(|t| matches!(t.review, Review::Waiting { .. })).map(|t| &t.alert)
    }

    /// Withdraws the message `id` from the evidence of every alert it tracks
    /// (deleted at its source; see `Engine::forget_message`). Whether any held it.
    pub fn forget_message(&mut self, id: &str) -> bool {
        let mut found = false;
        for tracked in self.s.alerts.values_mut() {
            found |= tracked.alert.withdraw_message(id);
        }
        found
    }

    /// Takes in the engine's transitions.
    pub fn apply(&mut self, transitions: &[Transition], now: DateTime<Utc>) {
        for tr in transitions {
            if tr.kind == TransitionKind::Pending {
                continue;
            }
            let fp = tr.alert.fingerprint.clone();
            let Some(rule) = self.rules.get(&tr.alert.rule) else {
                // The rule is gone from the configuration: report the resolution
                // in the groups that already hold the alert, nothing else.
                if tr.kind == TransitionKind::Resolved
                    && let Some(t) = self.s.alerts.get_mut(&fp)
                {
                    t.alert.status = AlertStatus::Resolved;
                    t.alert.ends_at = tr.alert.ends_at;
                    t.alert.reasons = tr.alert.reasons.clone();
                    for g in self.s.groups.values_mut() {
                        if let Some(m) = g.members.get_mut(&fp) {
                            m.changed = true;
                        }
                    }
                }
                continue;
            };
            let mut alert = tr.alert.clone();
            if let Some(ack) = self.s.acks.get(&fp) {
                alert.acknowledged_by = Some(ack.by.clone());
                alert.ack_comment = Some(ack.comment.clone());
            }
            let known = self.s.alerts.contains_key(&fp);
            if !known && tr.kind == TransitionKind::Resolved {
                continue;
            }
            let tracked = self.s.alerts.entry(fp.clone()).or_insert_with(|| Tracked {
                alert: alert.clone(),
                firing_since: now,
                escalated: false,
                review: if rule.review && mayor_bound(&alert) {
                    Review::Waiting { asked: false }
                } else {
                    Review::NotNeeded
                },
            });
            // What people decided stays with the alert as the engine updates it.
            alert.reviewed_by = tracked.alert.reviewed_by.clone();
            alert.decisions = std::mem::take(&mut tracked.alert.decisions);
            alert.escalates_at = match rule.escalate_after() {
                Some(after) if !alert.unplaced && !tracked.escalated && !self.s.acks.contains_key(&fp) => {
                    Some(tracked.firing_since + after)
                }
                _ => None,
            };
            tracked.alert = alert;
            // An unplaced alert has no municipality whose mayor to tell: the
            // region's officers and supervisors hear of it ("plaats onbekend").
            let mut roles = vec![Role::Officer];
            if tracked.alert.unplaced {
                roles.push(Role::Supervisor);
            } else if mayor_bound(&tracked.alert) {
                roles.push(Role::Mayor);
            }
            for role in roles {
                let key = group_key(rule, role, &tracked.alert);
                let group = self.s.groups.entry(key).or_insert_with(|| Group {
                    role,
                    municipality: tracked.alert.municipality.clone(),
                    rule: rule.name.clone(),
                    group_wait_secs: rule.group_wait_secs,
                    group_interval_secs: rule.group_interval_secs,
                    repeat_interval_secs: rule.repeat_interval_secs,
                    review: rule.review,
                    created_at: now,
                    last_flush: None,
                    members: BTreeMap::new(),
                });
                let member = group.members.entry(fp.clone()).or_insert(Member { new: true, changed: true });
                member.changed = true;
            }
        }
    }

    /// Acknowledges an alert: no more repeats or escalation for it.
    pub fn acknowledge(
        &mut self,
        fingerprint: &str,
        who: &str,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<Alert, MechanicsError> {
        if who.trim().is_empty() {
            return Err(MechanicsError::Empty("who"));
        }
        if comment.trim().is_empty() {
            return Err(MechanicsError::Empty("reason"));
        }
        let t = self.s.alerts.get_mut(fingerprint).ok_or_else(|| MechanicsError::UnknownAlert(fingerprint.into()))?;
        let ack = Ack { by: who.to_owned(), comment: comment.to_owned(), at: now };
        t.alert.acknowledged_by = Some(ack.by.clone());
        t.alert.ack_comment = Some(ack.comment.clone());
        t.alert.escalates_at = None;
        t.alert.decisions.push(Decision {
            kind: DecisionKind::Acknowledged,
            by: who.to_owned(),
            at: now,
            reason: comment.to_owned(),
        });
        self.s.acks.insert(fingerprint.to_owned(), ack);
        Ok(t.alert.clone())
    }

    /// A supervisor confirms an alert for the mayor (L10); who, when and why are recorded.
    pub fn confirm(
        &mut self,
        fingerprint: &str,
        who: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Alert, MechanicsError> {
        self.decide(fingerprint, who, reason, now, ReviewDecision::Confirmed)
    }

    /// A supervisor decides an alert does not go to the mayor; who, when and why are recorded.
    pub fn dismiss(
        &mut self,
        fingerprint: &str,
        who: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Alert, MechanicsError> {
        self.decide(fingerprint, who, reason, now, ReviewDecision::Dismissed)
    }

    fn decide(
        &mut self,
        fingerprint: &str,
        who: &str,
        reason: &str,
        now: DateTime<Utc>,
        decision: ReviewDecision,
    ) -> Result<Alert, MechanicsError> {
        if who.trim().is_empty() {
            return Err(MechanicsError::Empty("who"));
        }
        if reason.trim().is_empty() {
            return Err(MechanicsError::Empty("reason"));
        }
        let t = self.s.alerts.get_mut(fingerprint).ok_or_else(|| MechanicsError::UnknownAlert(fingerprint.into()))?;
        if !matches!(t.review, Review::Waiting { .. }) {
            return Err(MechanicsError::NotAwaitingReview(fingerprint.into()));
        }
        t.review = match decision {
            ReviewDecision::Confirmed => {
                t.alert.reviewed_by = Some(who.to_owned());
                Review::Confirmed
            }
            ReviewDecision::Dismissed => Review::Dismissed,
        };
        let kind = match decision {
            ReviewDecision::Confirmed => DecisionKind::Confirmed,
            ReviewDecision::Dismissed => DecisionKind::Dismissed,
        };
        t.alert.decisions.push(Decision { kind, by: who.to_owned(), at: now, reason: reason.to_owned() });
        if self.s.reviews.len() >= REVIEWS_KEPT {
            self.s.reviews.remove(0);
        }
        self.s.reviews.push(ReviewRecord {
            fingerprint: fingerprint.to_owned(),
            rule: t.alert.rule.clone(),
            municipality: t.alert.municipality.clone(),
            decision,
            by: who.to_owned(),
            at: now,
            reason: reason.to_owned(),
        });
        let alert = t.alert.clone();
        for g in self.s.groups.values_mut().filter(|g| g.role == Role::Mayor) {
            if let Some(m) = g.members.get_mut(fingerprint) {
                m.changed = true;
            }
        }
        Ok(alert)
    }

    /// Adds a silence; returns its id.
    pub fn add_silence(&mut self, req: SilenceRequest, now: DateTime<Utc>) -> Result<String, MechanicsError> {
        if req.reason.trim().is_empty() {
            return Err(MechanicsError::Empty("reason"));
        }
        if req.owner.trim().is_empty() {
            return Err(MechanicsError::Empty("owner"));
        }
        if let Some(bad) = req.matchers.iter().find(|m| !SILENCE_LABELS.contains(&m.label.as_str())) {
            return Err(MechanicsError::BadLabel(bad.label.clone()));
        }
        if !req.matchers.iter().any(|m| !m.negate) {
            return Err(MechanicsError::NoMatchers);
        }
        if req.ends_at <= now {
            return Err(MechanicsError::Expired);
        }
        let id = short_hash(&[&req.owner, &req.reason, &now.to_rfc3339(), &self.s.silences.len().to_string()]);
        self.s.silences.insert(
            id.clone(),
            Silence {
                id: id.clone(),
                matchers: req.matchers,
                reason: req.reason,
                owner: req.owner,
                starts_at: now,
                ends_at: req.ends_at,
            },
        );
        Ok(id)
    }

    /// Ends a silence now.
    pub fn expire_silence(&mut self, id: &str) -> Result<Silence, MechanicsError> {
        self.s.silences.remove(id).ok_or_else(|| MechanicsError::UnknownSilence(id.into()))
    }

    fn silenced(&self, a: &Alert) -> bool {
        self.s.silences.values().any(|s| s.matchers.iter().all(|m| (label_value(a, &m.label) == m.value) != m.negate))
    }

    fn inhibited(&self, a: &Alert) -> bool {
        a.municipality.is_some()
            && matches!(a.kind, RuleKind::Threshold | RuleKind::Burst)
            && self.s.alerts.values().any(|r| {
                r.alert.municipality.is_none()
                    && !r.alert.unplaced
                    && r.alert.kind == a.kind
                    && r.alert.status == AlertStatus::Firing
                    && (r.alert.theme.is_none() || r.alert.theme == a.theme)
                    && r.alert.severity >= a.severity
                    && !self.silenced(&r.alert)
            })
    }

    /// Whether an alert may be told to a role now.
    fn visible(&self, t: &Tracked, role: Role) -> bool {
        if self.silenced(&t.alert) || self.inhibited(&t.alert) || !t.alert.missing_explanation().is_empty() {
            return false;
        }
        role != Role::Mayor || matches!(t.review, Review::NotNeeded | Review::Confirmed)
    }

    /// The notifications due at `now`. Call it after [`Mechanics::apply`] and periodically.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Notification> {
        self.s.silences.retain(|_, s| s.ends_at > now);
        let mut out = Vec::new();
        // Review requests to supervisors.
        let waiting: Vec<String> = self
            .s
            .alerts
            .iter()
            .filter(|(_, t)| {
                t.review == Review::Waiting { asked: false }
                    && t.alert.status == AlertStatus::Firing
                    && !self.silenced(&t.alert)
                    && !self.inhibited(&t.alert)
            })
            .map(|(fp, _)| fp.clone())
            .collect();
        for fp in waiting {
            if let Some(t) = self.s.alerts.get_mut(&fp) {
                t.review = Review::Waiting { asked: true };
                out.push(single(Role::Supervisor, NotifyReason::ReviewRequested, &t.alert, now));
            }
        }
        // Escalation to the supervisor.
        let due: Vec<String> = self
            .s
            .alerts
            .iter()
            .filter(|(fp, t)| {
                let after = self.rules.get(&t.alert.rule).and_then(Rule::escalate_after);
                !t.escalated
                    && !t.alert.unplaced
                    && t.alert.status == AlertStatus::Firing
                    && !self.s.acks.contains_key(*fp)
                    && after.is_some_and(|d| now >= t.firing_since + d)
                    && !self.silenced(&t.alert)
                    && !self.inhibited(&t.alert)
            })
            .map(|(fp, _)| fp.clone())
            .collect();
        for fp in due {
            if let Some(t) = self.s.alerts.get_mut(&fp) {
                t.escalated = true;
                t.alert.escalates_at = None;
                out.push(single(Role::Supervisor, NotifyReason::Escalated, &t.alert, now));
            }
        }
        // Groups.
        let keys: Vec<String> = self.s.groups.keys().cloned().collect();
        for key in keys {
            if let Some(n) = self.flush(&key, now) {
                out.push(n);
            }
        }
        // Forget resolved alerts that no group still has to report.
        let in_groups: std::collections::BTreeSet<&String> =
            self.s.groups.values().flat_map(|g| g.members.keys()).collect();
        let gone: Vec<String> = self
            .s
            .alerts
            .iter()
            .filter(|(fp, t)| t.alert.status == AlertStatus::Resolved && !in_groups.contains(fp))
            .map(|(fp, _)| fp.clone())
            .collect();
        for fp in gone {
            self.s.alerts.remove(&fp);
            self.s.acks.remove(&fp);
        }
        out
    }

    fn flush(&mut self, key: &str, now: DateTime<Utc>) -> Option<Notification> {
        let group = self.s.groups.get(key)?;
        let role = group.role;
        let mut visible = Vec::new();
        let mut dropped = Vec::new();
        for (fp, m) in &group.members {
            match self.s.alerts.get(fp) {
                Some(t) if self.visible(t, role) => visible.push((fp.clone(), m.clone(), t)),
                Some(t) if t.alert.status == AlertStatus::Resolved && m.new => dropped.push(fp.clone()),
                Some(t) if t.review == Review::Dismissed && role == Role::Mayor => dropped.push(fp.clone()),
                Some(_) => {}
                None => dropped.push(fp.clone()),
            }
        }
        let changed = visible.iter().any(|(_, m, _)| m.changed || m.new);
        let any_new = visible.iter().any(|(_, m, _)| m.new);
        let due = match group.last_flush {
            None => !visible.is_empty() && now >= group.created_at + secs(group.group_wait_secs),
            Some(last) if changed => now >= last + secs(group.group_interval_secs),
            Some(last) => {
                now >= last + secs(group.repeat_interval_secs)
                    && visible
                        .iter()
                        .any(|(fp, _, t)| t.alert.status == AlertStatus::Firing && !self.s.acks.contains_key(fp))
            }
        };
        let reason = if !due {
            None
        } else if any_new {
            Some(NotifyReason::New)
        } else if changed {
            let all_resolved =
                visible.iter().filter(|(_, m, _)| m.changed).all(|(_, _, t)| t.alert.status == AlertStatus::Resolved);
            Some(if all_resolved { NotifyReason::Resolved } else { NotifyReason::Updated })
        } else {
            Some(NotifyReason::Repeat)
        };
        let mut alerts: Vec<Alert> = match reason {
            Some(NotifyReason::Repeat) => visible
                .iter()
                .filter(|(fp, _, t)| t.alert.status == AlertStatus::Firing && !self.s.acks.contains_key(fp))
                .map(|(_, _, t)| t.alert.clone())
                .collect(),
            Some(_) => visible.iter().map(|(_, _, t)| t.alert.clone()).collect(),
            None => Vec::new(),
        };
        alerts.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.fingerprint.cmp(&b.fingerprint)));
        let unreviewed = role == Role::Mayor && !group.review;
        let visible_fps: Vec<String> = visible.iter().map(|(fp, _, _)| fp.clone()).collect();
        let group = self.s.groups.get_mut(key)?;
        for fp in &dropped {
            group.members.remove(fp);
        }
        let notification = reason.map(|reason| {
            group.last_flush = Some(now);
            for fp in &visible_fps {
                if let Some(m) = group.members.get_mut(fp) {
                    m.new = false;
                    m.changed = false;
                }
            }
            Notification {
                id: short_hash(&[key, &now.to_rfc3339(), &format!("{reason:?}")]),
                recipients_role: role,
                municipality: group.municipality.clone(),
                reason,
                alerts,
                group: key.to_owned(),
                at: now,
                unreviewed,
            }
        });
        if notification.is_some() {
            let resolved: Vec<String> = visible
                .iter()
                .filter(|(_, _, t)| t.alert.status == AlertStatus::Resolved)
                .map(|(fp, _, _)| fp.clone())
                .collect();
            for fp in resolved {
                group.members.remove(&fp);
            }
        }
        if group.members.is_empty() {
            self.s.groups.remove(key);
        }
        notification
    }

    /// Joint summaries ahead of announced actions: for every calendar entry
    /// whose action starts within `lead` of `now`, once, one notification to
    /// the officers and one to the mayor of that municipality with the
    /// announcement and every other firing alert there on the same theme.
    /// The mayor's copy follows the review gate: it holds only alerts a mayor
    /// may see, and is not sent when none remain.
    pub fn summaries_ahead(&mut self, calendar: &Calendar, now: DateTime<Utc>, lead: TimeDelta) -> Vec<Notification> {
        let mut out = Vec::new();
        for entry in calendar.entries() {
            if !(entry.event_time > now && entry.event_time - lead <= now) {
                continue;
            }
            let id = format!(
                "{}|{}|{}",
                entry.municipality.as_ref().map_or("-", MunicipalityCode::as_str),
                entry.theme.as_deref().unwrap_or("-"),
                entry.key
            );
            if self.s.summarised.contains(&id) {
                continue;
            }
            let related: Vec<&Tracked> = self
                .s
                .alerts
                .values()
                .filter(|t| {
                    t.alert.municipality == entry.municipality
                        && t.alert.status == AlertStatus::Firing
                        && !self.silenced(&t.alert)
                        && t.alert.missing_explanation().is_empty()
                        && if t.alert.kind == RuleKind::Announcement {
                            t.alert.event.as_deref() == Some(entry.key.as_str()) && t.alert.theme == entry.theme
                        } else {
                            t.alert.theme.is_none() || t.alert.theme == entry.theme
                        }
                })
                .collect();
            if !related.iter().any(|t| t.alert.kind == RuleKind::Announcement) {
                continue;
            }
            self.s.summarised.insert(id.clone());
            for role in [Role::Officer, Role::Mayor] {
                let mut alerts: Vec<Alert> = related
                    .iter()
                    .filter(|t| role != Role::Mayor || self.mayor_may_see(t))
                    .map(|t| t.alert.clone())
                    .collect();
                if alerts.is_empty() {
                    continue;
                }
                alerts.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.fingerprint.cmp(&b.fingerprint)));
                let unreviewed = role == Role::Mayor && alerts.iter().any(|a| a.reviewed_by.is_none());
                out.push(Notification {
                    id: short_hash(&["summary", role.as_str(), &id]),
                    recipients_role: role,
                    municipality: entry.municipality.clone(),
                    reason: NotifyReason::Summary,
                    alerts,
                    group: String::new(),
                    at: now,
                    unreviewed,
                });
            }
        }
        let keep_from = now - TimeDelta::days(31);
        self.s.summarised.retain(|id| {
            id.rsplit('|')
                .next()
                .and_then(|k| k.get(..10))
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .is_none_or(|d| d >= keep_from.date_naive())
        });
        out
    }

    fn mayor_may_see(&self, t: &Tracked) -> bool {
        if t.alert.unplaced {
            return false;
        }
        match t.review {
            Review::Confirmed => true,
            // Threshold and burst alerts are not reviewed one by one: only rules
            // with `review = false` put them in front of a mayor.
            Review::NotNeeded => self.rules.get(&t.alert.rule).is_some_and(|r| !r.review),
            Review::Waiting { .. } | Review::Dismissed => false,
        }
    }

    /// The daily digest for mayors: per municipality (and the region), the
    /// firing alerts a mayor may see (confirmed, or of rules without review).
    pub fn digest(&self, now: DateTime<Utc>) -> Vec<Notification> {
        let mut per: BTreeMap<Option<MunicipalityCode>, Vec<Alert>> = BTreeMap::new();
        for t in self.s.alerts.values() {
            let reviewed_ok = self.mayor_may_see(t);
            if t.alert.status == AlertStatus::Firing && reviewed_ok && !self.silenced(&t.alert) {
                per.entry(t.alert.municipality.clone()).or_default().push(t.alert.clone());
            }
        }
        per.into_iter()
            .map(|(m, mut alerts)| {
                alerts.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.fingerprint.cmp(&b.fingerprint)));
                let unreviewed = alerts.iter().any(|a| a.reviewed_by.is_none());
                Notification {
                    id: short_hash(&["digest", m.as_ref().map_or("-", MunicipalityCode::as_str), &now.to_rfc3339()]),
                    recipients_role: Role::Mayor,
                    municipality: m,
                    reason: NotifyReason::Digest,
                    alerts,
                    group: String::new(),
                    at: now,
                    unreviewed,
                }
            })
            .collect()
    }
}

fn group_key(rule: &Rule, role: Role, a: &Alert) -> String {
    let mut parts = vec![role.as_str().to_owned()];
    for l in &rule.group_by {
        let v = match l {
            Label::Rule => format!("rule={}", a.rule),
            Label::Municipality => format!("municipality={}", a.place_label()),
            Label::Theme => format!("theme={}", a.theme.as_deref().unwrap_or("")),
            Label::Event => format!("event={}", a.event.as_deref().unwrap_or("")),
        };
        parts.push(v);
    }
    parts.join("|")
}

fn single(role: Role, reason: NotifyReason, a: &Alert, now: DateTime<Utc>) -> Notification {
    Notification {
        id: short_hash(&[role.as_str(), &format!("{reason:?}"), &a.fingerprint, &a.starts_at.to_rfc3339()]),
        recipients_role: role,
        municipality: a.municipality.clone(),
        reason,
        alerts: vec![a.clone()],
        group: String::new(),
        at: now,
        unreviewed: false,
    }
}
