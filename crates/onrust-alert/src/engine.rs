//! The rule engine: scored messages in, alert transitions out.
//!
//! # Why it looks like this
//!
//! The engine is pure: no I/O, no clock. `now` is always passed in, so a test
//! (or `onrust backtest`) can replay a month in milliseconds and get the same
//! decisions every time, and the daemon decides what "now" is.
//!
//! It is built for 20,000 scored messages per second on one core, so
//! [`Engine::observe`] does little: it adds the message to per-minute counts
//! keyed by municipality × theme × level × source kind (packed into one `u64`
//! over interned ids), keeps a bounded pool of candidate evidence per
//! municipality, and checks the single-message rules (`critical`,
//! `announcement`) at once, so the officer hears of a call to violence within
//! seconds. The counting rules (`threshold`, `burst`) run in
//! [`Engine::evaluate`], which the daemon calls periodically (every 10–60 s):
//! summing a few thousand per-minute cells then is cheaper than updating every
//! rule on every message.
//!
//! Windows count by the message's `published_at` (clamped to its arrival; the
//! fetch time when absent), like the archive's `counts()`, so an observed
//! count and its baseline from the archive measure the same thing. The
//! single-message rules judge a message by its arrival (`fetched_at`): a call
//! to violence that reaches onrust an hour late is still news. A message delivered
//! twice within 15 minutes (at-least-once delivery, a consumer rebalance)
//! counts once. Levels below the lowest `min_level` of the counting rules
//! are not counted at all: most traffic is level 0 and no rule asks for it.
//!
//! # Alert life
//!
//! An alert is identified by its labels (rule, municipality, theme, event)
//! hashed into its [`fingerprint`]. While its condition holds it is
//! `Pending`, and `Firing` once it has held for the rule's `pending` period.
//! When the condition is gone for `keep_firing_for` it is `Resolved`, with a
//! short "gedeëscaleerd" reason; a pending alert whose condition goes away
//! just disappears. For `critical` the condition holds for the rule's
//! `window` after a matching message arrived; for `announcement` until the
//! announced time plus `window`.
//!
//! A single message's alert belongs to each municipality it names; to the
//! whole region only when it names the region or [`REGION_WIDE_FROM`] of its
//! municipalities; and when it names no place it is unplaced ("plaats
//! onbekend", [`Alert::unplaced`]), never region-wide.
//!
//! Every alert explains itself (rule L9): its `reasons` are Dutch
//! sentences naming the rule and its version, the thresholds, observed versus
//! expected, and the classifier's signals with their weights; its evidence is
//! 3–5 representative messages with short excerpts and never an author or a
//! pseudonym (L1): the engine never copies `RawMessage::author` anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Months, TimeDelta, Utc};
use chrono_tz::Europe::Amsterdam;
use onrust_model::{Level, MunicipalityCode, PlaceTier, ScoredMessage, SourceKind};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertStatus, Evidence, RuleKind, Severity, excerpt, fingerprint, representative};
use crate::baseline::{BaselineSource, Basis, Season, benjamini_hochberg, judge};
use crate::calendar::{Calendar, Recorded};
use crate::rule::{Rule, Scope};

/// Version of [`EngineState`]'s layout; a snapshot with another version is refused.
pub const ENGINE_SCHEMA_VERSION: u32 = 1;
/// Most evidence items per alert.
pub const EVIDENCE_PER_ALERT: usize = 5;
/// Candidate evidence kept per municipality (and for the region).
const CANDIDATES_PER_PLACE: usize = 64;
/// Previous years asked for a seasonal reference.
const SEASON_YEARS: u32 = 3;
/// How long (by arrival) a message id is remembered to count a redelivery once. Redeliveries
/// come from the last committed offset, which the daemon commits with the saved state, so
/// minutes suffice; a longer memory would cost gigabytes at 20,000 messages per second.
const DEDUP_MINUTES: i64 = 15;
/// How long calendar entries are kept after their date (for ICS and backtests).
const CALENDAR_KEEP_DAYS: i64 = 31;

/// What changed about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    /// The condition holds, the `pending` period has not passed.
    Pending,
    /// The alert fires (new).
    Firing,
    /// A firing alert got new evidence or counts.
    Updated,
    /// The condition has been gone for `keep_firing_for`: de-escalated.
    Resolved,
}

/// One change of one alert, with the alert as it now is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub kind: TransitionKind,
    pub alert: Alert,
}

/// Why a snapshot cannot be restored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EngineError {
    #[error("alert engine state has schema version {found}, this onrust reads version {expected}")]
    Schema { found: u32, expected: u32 },
    #[error("alert engine state is inconsistent: {0}")]
    Inconsistent(String),
}

/// Explanation signals whose evidence is the message's own text rather than
/// lexicon words (the classifier names the clause that decided the level).
const QUOTES_THE_MESSAGE: [&str; 1] = ["clause"];

/// A message kept as possible evidence: what an alert may show, and nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Candidate {
    evidence: Evidence,
    kind: SourceKind,
    /// Interned theme ids.
    themes: Vec<u32>,
    /// The explanation: (signal, weight, the words that triggered it).
    signals: Vec<(String, f32, String)>,
}

impl Candidate {
    fn rank(&self) -> (u8, f32, DateTime<Utc>) {
        (self.evidence.level, self.evidence.score, self.evidence.published_at)
    }

    /// This candidate as evidence of the alert of `municipality` (`None`: the
    /// region's), with the place the message names there (see `evidence_place`).
    fn placed_in(&self, places: &[onrust_model::Place], municipality: Option<&MunicipalityCode>) -> Candidate {
        let mut candidate = self.clone();
        candidate.evidence.place = evidence_place(places, municipality);
        candidate
    }
}

/// One alert the engine tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Instance {
    alert: Alert,
    condition_since: DateTime<Utc>,
    last_true: DateTime<Utc>,
    /// Critical: the matching messages (bounded, most representative).
    pool: Vec<Candidate>,
    /// Critical: message ids counted (bounded), so a replay does not count twice.
    counted: Vec<String>,
}

/// All of the engine's state, serialisable so the daemon can persist it
/// atomically and restore it after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    pub schema: u32,
    /// Interned municipality codes; id `i + 1` (0 is the whole region).
    municipalities: Vec<MunicipalityCode>,
    /// Interned theme ids; id `i + 1` (0 is any theme).
    themes: Vec<String>,
    /// Per minute since the epoch: packed cell key → messages.
    minutes: BTreeMap<i64, FxHashMap<u64, u32>>,
    /// Per minute: hashes of the message ids counted then (for deduplication).
    seen: BTreeMap<i64, Vec<u64>>,
    /// Per place id: candidate evidence.
    candidates: FxHashMap<u32, Vec<Candidate>>,
    /// By fingerprint.
    active: BTreeMap<String, Instance>,
    calendar: Calendar,
}

impl Default for EngineState {
    fn default() -> Self {
        Self {
            schema: ENGINE_SCHEMA_VERSION,
            municipalities: Vec::new(),
            themes: Vec::new(),
            minutes: BTreeMap::new(),
            seen: BTreeMap::new(),
            candidates: FxHashMap::default(),
            active: BTreeMap::new(),
            calendar: Calendar::default(),
        }
    }
}

const KINDS: [SourceKind; 8] = SourceKind::ALL;

fn kind_id(k: SourceKind) -> u8 {
    match k {
        SourceKind::Feed => 0,
        SourceKind::Mastodon => 1,
        SourceKind::Bluesky => 2,
        SourceKind::Telegram => 3,
        SourceKind::Reddit => 4,
        SourceKind::Youtube => 5,
        SourceKind::Replay => 6,
        SourceKind::Authority => 7,
    }
}

fn pack(place: u32, theme: u32, level: u8, kind: u8) -> u64 {
    (u64::from(place) << 40) | (u64::from(theme) << 16) | (u64::from(level) << 8) | u64::from(kind)
}

fn unpack(key: u64) -> (u32, u32, u8, u8) {
    ((key >> 40) as u32, ((key >> 16) & 0xff_ffff) as u32, ((key >> 8) & 0xff) as u8, (key & 0xff) as u8)
}

/// FNV-1a: a hash of message ids that is stable across versions and restarts.
fn id_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

/// What a counting rule found for one alert identity in one round.
struct Draft {
    rule: usize,
    place: u32,
    municipality: Option<MunicipalityCode>,
    theme: Option<String>,
    observed: u64,
    expected: Option<f64>,
    p_raw: Option<f64>,
    p_adjusted: Option<f64>,
    basis: Option<Basis>,
    tested: usize,
}

/// The alert engine. See the module docs.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Rule>,
    names: BTreeMap<MunicipalityCode, String>,
    s: EngineState,
    muni_idx: FxHashMap<MunicipalityCode, u32>,
    theme_idx: FxHashMap<String, u32>,
    seen_set: FxHashSet<u64>,
    horizon: TimeDelta,
    /// The lowest level any counting rule counts; lower levels are not counted at all.
    count_from: u8,
    /// The lowest level a single-message rule (critical, announcement) acts on.
    single_from: u8,
    /// The region's municipalities (empty: no region configured, every code counts).
    region: FxHashSet<MunicipalityCode>,
    /// The region's names, lowercased ("midden-nederland"): a message that names
    /// one is about the whole region.
    region_names: Vec<String>,
    /// Rules (by name) whose mandate is not in force (rule L5): they count,
    /// fire and hold nothing, and their alerts resolve.
    paused: FxHashSet<String>,
}

/// Region municipalities a message must name to be about the whole region
/// (besides naming the region itself): one or two places are those places.
pub const REGION_WIDE_FROM: usize = 3;

/// Where a single-message alert belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'m> {
    Municipality(&'m MunicipalityCode),
    /// The message names the region, or several of its municipalities.
    Region,
    /// The message names no place at all: "plaats onbekend".
    Unplaced,
}

impl<'m> Target<'m> {
    fn municipality(self) -> Option<&'m MunicipalityCode> {
        match self {
            Target::Municipality(m) => Some(m),
            Target::Region | Target::Unplaced => None,
        }
    }

    /// The municipality label in the fingerprint (see [`Alert::place_label`]).
    fn label(self) -> Option<&'m str> {
        match self {
            Target::Municipality(m) => Some(m.as_str()),
            Target::Region => None,
            Target::Unplaced => Some(crate::alert::UNPLACED_LABEL),
        }
    }
}

impl Engine {
    /// An engine with no history for these (validated) rules.
    pub fn new(rules: Vec<Rule>) -> Self {
        let horizon = rules
            .iter()
            .filter(|r| r.kind != RuleKind::Announcement)
            .map(Rule::window)
            .max()
            .unwrap_or(TimeDelta::hours(1))
            .max(TimeDelta::hours(1))
            + TimeDelta::minutes(1);
        let count_from = rules
            .iter()
            .filter(|r| matches!(r.kind, RuleKind::Threshold | RuleKind::Burst))
            .map(|r| r.min_level.as_u8())
            .min()
            .unwrap_or(u8::MAX);
        let single_from = rules
            .iter()
            .filter(|r| matches!(r.kind, RuleKind::Critical | RuleKind::Announcement))
            .map(|r| r.min_level.as_u8())
            .min()
            .unwrap_or(u8::MAX);
        Self {
            rules,
            names: BTreeMap::new(),
            s: EngineState::default(),
            muni_idx: FxHashMap::default(),
            theme_idx: FxHashMap::default(),
            seen_set: FxHashSet::default(),
            horizon,
            count_from,
            single_from,
            region: FxHashSet::default(),
            region_names: Vec::new(),
            paused: FxHashSet::default(),
        }
    }

    /// Pauses these rules (by name), and only these: their mandate is not in
    /// force (rule L5). A paused rule makes no alert and its alerts resolve
    /// at the next [`Engine::evaluate`]; unpausing lets it run again.
    pub fn set_paused_rules(&mut self, names: impl IntoIterator<Item = String>) {
        self.paused = names.into_iter().collect();
    }

    /// Whether the rule of this name is paused.
    pub fn is_paused(&self, name: &str) -> bool {
        self.paused.contains(name)
    }

    /// The region: its municipalities, and the names a message may call it
    /// by ("Midden-Nederland"). A critical or announcement alert is
    /// region-wide only for a message that names the region or at least
    /// [`REGION_WIDE_FROM`] of its municipalities; a message that names no
    /// place makes an unplaced alert ("plaats onbekend").
    pub fn set_region(
        &mut self,
        municipalities: impl IntoIterator<Item = MunicipalityCode>,
        names: impl IntoIterator<Item = String>,
    ) {
        self.region = municipalities.into_iter().collect();
        self.region_names =
            names.into_iter().map(|n| n.trim().to_lowercase()).filter(|n| n.chars().count() >= 3).collect();
    }

    /// Whether a message is about the whole region: it names the region, or
    /// several of its municipalities.
    fn names_region(&self, msg: &ScoredMessage) -> bool {
        let in_region =
            msg.assessment.municipalities.iter().filter(|m| self.region.is_empty() || self.region.contains(*m)).count();
        if in_region >= REGION_WIDE_FROM {
            return true;
        }
        if self.region_names.is_empty() {
            return false;
        }
        let text = msg.message.title.iter().map(String::as_str).chain([msg.message.text.as_str()]);
        text.map(str::to_lowercase).any(|t| self.region_names.iter().any(|name| contains_word(&t, name)))
    }

    /// Restores an engine from a snapshot, with the rules of the current configuration.
    /// Alerts of rules that no longer exist are resolved at the next [`Engine::evaluate`].
    pub fn restore(rules: Vec<Rule>, state: EngineState) -> Result<Self, EngineError> {
        if state.schema != ENGINE_SCHEMA_VERSION {
            return Err(EngineError::Schema { found: state.schema, expected: ENGINE_SCHEMA_VERSION });
        }
        let mut engine = Self::new(rules);
        for (i, m) in state.municipalities.iter().enumerate() {
            let id = u32::try_from(i + 1).map_err(|_| EngineError::Inconsistent("too many municipalities".into()))?;
            engine.muni_idx.insert(m.clone(), id);
        }
        for (i, t) in state.themes.iter().enumerate() {
            let id = u32::try_from(i + 1).map_err(|_| EngineError::Inconsistent("too many themes".into()))?;
            engine.theme_idx.insert(t.clone(), id);
        }
        engine.seen_set = state.seen.values().flatten().copied().collect();
        engine.s = state;
        Ok(engine)
    }

    /// A snapshot of all state (windows, active alerts, calendar) to persist.
    pub fn snapshot(&self) -> EngineState {
        self.s.clone()
    }

    /// Names shown for municipality codes in alerts (`Utrecht` for `GM0344`).
    pub fn set_municipality_names(&mut self, names: impl IntoIterator<Item = (MunicipalityCode, String)>) {
        self.names = names.into_iter().collect();
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The alerts now pending or firing.
    pub fn active_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.s.active.values().map(|i| &i.alert)
    }

    /// The calendar of announced actions.
    pub fn calendar(&self) -> &Calendar {
        &self.s.calendar
    }

    fn intern_muni(&mut self, m: &MunicipalityCode) -> u32 {
        if let Some(id) = self.muni_idx.get(m) {
            return *id;
        }
        self.s.municipalities.push(m.clone());
        let id = u32::try_from(self.s.municipalities.len()).unwrap_or(u32::MAX);
        self.muni_idx.insert(m.clone(), id);
        id
    }

    fn intern_theme(&mut self, t: &str) -> u32 {
        if let Some(id) = self.theme_idx.get(t) {
            return *id;
        }
        self.s.themes.push(t.to_owned());
        let id = u32::try_from(self.s.themes.len()).unwrap_or(u32::MAX);
        self.theme_idx.insert(t.to_owned(), id);
        id
    }

    fn muni_of(&self, place: u32) -> Option<&MunicipalityCode> {
        if place == 0 { None } else { self.s.municipalities.get(place as usize - 1) }
    }

    fn theme_of(&self, theme: u32) -> Option<&str> {
        if theme == 0 { None } else { self.s.themes.get(theme as usize - 1).map(String::as_str) }
    }

    /// Withdraws the message `id` as evidence, because it was deleted at its
    /// source: in the candidate pools, every alert's evidence and the
    /// announced actions' evidence its excerpt, title, link and signal words
    /// are replaced (see `Evidence::withdraw`). What it counted stays counted
    /// (the message existed when the alert fired); only its words go.
    /// Returns whether any evidence held it.
    pub fn forget_message(&mut self, id: &str) -> bool {
        let mut found = false;
        let candidates = self.s.candidates.values_mut().flatten();
        let instances = self.s.active.values_mut().flat_map(|i| i.pool.iter_mut());
        for candidate in candidates.chain(instances) {
            if candidate.evidence.withdraw(id) {
                // The words that triggered each signal were the message's own.
                candidate.signals.iter_mut().for_each(|(_, _, words)| words.clear());
                found = true;
            }
        }
        for instance in self.s.active.values_mut() {
            found |= instance.alert.withdraw_message(id);
        }
        found | self.s.calendar.forget_message(id)
    }

    /// Takes in one scored message. Counts it in the windows and fires (or
    /// updates) `critical` and `announcement` alerts at once.
    pub fn observe(&mut self, msg: &ScoredMessage, now: DateTime<Utc>) -> Vec<Transition> {
        let a = &msg.assessment;
        // Windows count by publication (like the archive's counts); a single
        // message is judged by when it reached onrust.
        let received = msg.message.fetched_at.min(now);
        let t = msg.message.published_at.map_or(received, |p| p.with_timezone(&Utc)).min(received);
        let level = a.level.as_u8();
        let kind = kind_id(msg.message.source_kind);
        let mut places = Vec::with_capacity(1 + a.municipalities.len());
        places.push(0u32);
        for m in &a.municipalities {
            let id = self.intern_muni(m);
            places.push(id);
        }
        let mut themes = Vec::with_capacity(a.themes.len());
        for th in &a.themes {
            let id = self.intern_theme(th);
            themes.push(id);
        }
        if level >= self.count_from && t >= now - self.horizon {
            let h = id_hash(msg.message.id.as_str());
            if !self.seen_set.insert(h) {
                return Vec::new();
            }
            self.s.seen.entry(minute_of(now)).or_default().push(h);
            let bucket = self.s.minutes.entry(minute_of(t)).or_default();
            for &p in &places {
                *bucket.entry(pack(p, 0, level, kind)).or_insert(0) += 1;
                for &th in &themes {
                    *bucket.entry(pack(p, th, level, kind)).or_insert(0) += 1;
                }
            }
        }
        let wanted = level >= 1 && t >= now - self.horizon;
        let single = level >= self.single_from;
        if !wanted && !single {
            return Vec::new();
        }
        let candidate = Candidate {
            evidence: Evidence {
                message_id: msg.message.id.as_str().to_owned(),
                source: msg.message.source.as_str().to_owned(),
                url: msg.message.url.clone(),
                title: msg.message.title.as_deref().map(excerpt),
                excerpt: excerpt(&msg.message.text),
                published_at: t,
                level,
                score: a.score,
                signals: a.explanation.iter().map(|s| s.signal.clone()).collect(),
                received_at: Some(received),
                // Each alert's own: see `Candidate::placed_in`.
                place: None,
            },
            kind: msg.message.source_kind,
            themes,
            signals: a
                .explanation
                .iter()
                .map(|s| {
                    // The reasons list lexicon words, never the author's own text: a
                    // signal that quotes the message (the deciding clause) keeps only
                    // its name, so a deleted message leaves nothing in the reasons.
                    let words = if QUOTES_THE_MESSAGE.contains(&s.signal.as_str()) {
                        String::new()
                    } else {
                        excerpt_words(&s.evidence)
                    };
                    (s.signal.clone(), s.weight, words)
                })
                .collect(),
        };
        if wanted {
            // The region's pool first, then one per municipality, in the order of `places`.
            let municipalities = std::iter::once(None).chain(a.municipalities.iter().map(Some));
            for (&p, municipality) in places.iter().zip(municipalities) {
                let pool = self.s.candidates.entry(p).or_default();
                if pool.len() < CANDIDATES_PER_PLACE {
                    pool.push(candidate.placed_in(&a.places, municipality));
                } else if let Some((i, worst)) = pool
                    .iter()
                    .enumerate()
                    .min_by(|x, y| x.1.rank().partial_cmp(&y.1.rank()).unwrap_or(std::cmp::Ordering::Equal))
                    && worst.rank() < candidate.rank()
                {
                    pool[i] = candidate.placed_in(&a.places, municipality);
                }
            }
        }
        if single { self.observe_single(msg, &candidate, received, now) } else { Vec::new() }
    }

    fn observe_single(
        &mut self,
        msg: &ScoredMessage,
        candidate: &Candidate,
        received: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<Transition> {
        let a = &msg.assessment;
        let mut targets: Vec<Target<'_>> = a.municipalities.iter().map(Target::Municipality).collect();
        if self.names_region(msg) {
            targets.push(Target::Region);
        } else if targets.is_empty() {
            targets.push(Target::Unplaced);
        }
        let mut out = Vec::new();
        // The calendar is shared by all announcement rules: record once per target.
        let mut announced: Vec<(Target<'_>, String, Recorded)> = Vec::new();
        if let Some(event) = a.event_time.map(|e| e.with_timezone(&Utc))
            && a.level >= Level::Mobilisation
        {
            let theme = a.themes.first().map(String::as_str);
            for target in &targets {
                let m = target.municipality();
                let place = m.and_then(|code| {
                    if a.places.is_empty() {
                        // A message scored before places were part of the assessment:
                        // its place signal's evidence is the name as written.
                        let name = format!("place:{code}");
                        a.explanation.iter().find(|s| s.signal == name).map(|s| s.evidence.clone())
                    } else {
                        event_place(&a.places, code)
                    }
                });
                // Region-wide and unplaced actions share the region's calendar.
                let (key, rec) = self.s.calendar.record(
                    m,
                    theme,
                    event,
                    place.as_deref(),
                    candidate.placed_in(&a.places, m).evidence,
                    now,
                );
                announced.push((*target, key, rec));
            }
        }
        enum Act<'m> {
            Critical(usize, String, Target<'m>, Option<&'m str>),
            Announcement(usize, Target<'m>, usize),
        }
        let mut acts = Vec::new();
        for (ri, rule) in self.rules.iter().enumerate() {
            if self.paused.contains(&rule.name) {
                continue;
            }
            if a.level < rule.min_level || !rule.admits_source_kind(msg.message.source_kind) {
                continue;
            }
            let theme = if rule.themes.is_empty() {
                a.themes.first().map(String::as_str)
            } else {
                match a.themes.iter().find(|th| rule.admits_theme(Some(th))) {
                    Some(th) => Some(th.as_str()),
                    None => continue,
                }
            };
            match rule.kind {
                RuleKind::Critical => {
                    // By arrival: a call to violence that reaches onrust late still counts.
                    if a.score < rule.min_score || received < now - rule.window() {
                        continue;
                    }
                    for target in &targets {
                        if rule.admits_municipality(target.municipality()) {
                            let fp = fingerprint(&rule.name, target.label(), theme, None);
                            acts.push(Act::Critical(ri, fp, *target, theme));
                        }
                    }
                }
                RuleKind::Announcement => {
                    let Some(event) = a.event_time.map(|e| e.with_timezone(&Utc)) else { continue };
                    if event + rule.window() < now {
                        continue;
                    }
                    for (i, (target, _, rec)) in announced.iter().enumerate() {
                        if *rec != Recorded::Duplicate && rule.admits_municipality(target.municipality()) {
                            acts.push(Act::Announcement(ri, *target, i));
                        }
                    }
                }
                RuleKind::Threshold | RuleKind::Burst => {}
            }
        }
        let cal_theme = a.themes.first().map(String::as_str);
        for act in acts {
            let tr = match act {
                Act::Critical(ri, fp, target, theme) => {
                    let candidate = candidate.placed_in(&a.places, target.municipality());
                    self.upsert_critical(ri, fp, target, theme, &candidate, now)
                }
                Act::Announcement(ri, target, i) => {
                    self.upsert_announcement(ri, target, cal_theme, &announced[i].1, now)
                }
            };
            out.extend(tr);
        }
        out
    }

    fn upsert_critical(
        &mut self,
        ri: usize,
        fp: String,
        target: Target<'_>,
        theme: Option<&str>,
        candidate: &Candidate,
        now: DateTime<Utc>,
    ) -> Option<Transition> {
        let rule = &self.rules[ri];
        let is_new = !self.s.active.contains_key(&fp);
        let m = target.municipality();
        let inst = self.s.active.entry(fp.clone()).or_insert_with(|| Instance {
            alert: Alert {
                unplaced: target == Target::Unplaced,
                ..blank_alert(rule, fp, m, theme, None, now, m.and_then(|m| self.names.get(m).cloned()))
            },
            condition_since: now,
            last_true: now,
            pool: Vec::new(),
            counted: Vec::new(),
        });
        if inst.counted.contains(&candidate.evidence.message_id) {
            return None;
        }
        if inst.counted.len() >= 256 {
            inst.counted.remove(0);
        }
        inst.counted.push(candidate.evidence.message_id.clone());
        inst.last_true = now;
        inst.alert.observed += 1;
        inst.alert.updated_at = now;
        inst.pool.push(candidate.clone());
        let evs: Vec<Evidence> = inst.pool.iter().map(|c| c.evidence.clone()).collect();
        let keep: BTreeSet<String> =
            representative(&evs, EVIDENCE_PER_ALERT).into_iter().map(|e| e.message_id).collect();
        inst.pool.retain(|c| keep.contains(&c.evidence.message_id));
        inst.pool.sort_by(|a, b| b.rank().partial_cmp(&a.rank()).unwrap_or(std::cmp::Ordering::Equal));
        inst.alert.evidence = inst.pool.iter().map(|c| c.evidence.clone()).collect();
        inst.alert.confidence = inst.pool.iter().map(|c| c.evidence.score).fold(0.0, f32::max).clamp(0.0, 1.0);
        let best = inst.pool.first().map(|c| (c.evidence.level, c.evidence.score)).unwrap_or((0, 0.0));
        let mut reasons = vec![rule_line(rule)];
        let limit =
            if rule.min_score > 0.0 { format!(" (grens {})", nl2(f64::from(rule.min_score))) } else { String::new() };
        reasons.push(format!(
            "{} {} met niveau {} of hoger ({}){}; hoogste: niveau {} ({}), score {}{limit}.",
            inst.alert.observed,
            if inst.alert.observed == 1 { "bericht" } else { "berichten" },
            rule.min_level.as_u8(),
            level_nl(rule.min_level.as_u8()),
            place_phrase(&inst.alert),
            best.0,
            level_nl(best.0),
            nl2(f64::from(best.1)),
        ));
        reasons.extend(signal_line(&inst.pool));
        inst.alert.reasons = reasons;
        transition_for(inst, is_new, rule)
    }

    fn upsert_announcement(
        &mut self,
        ri: usize,
        target: Target<'_>,
        theme: Option<&str>,
        key: &str,
        now: DateTime<Utc>,
    ) -> Option<Transition> {
        let rule = &self.rules[ri];
        let m = target.municipality();
        let entry = self.s.calendar.get(m, theme, key)?.clone();
        let fp = fingerprint(&rule.name, target.label(), theme, Some(key));
        let is_new = !self.s.active.contains_key(&fp);
        let name = m.and_then(|m| self.names.get(m).cloned());
        let inst = self.s.active.entry(fp.clone()).or_insert_with(|| Instance {
            alert: Alert {
                unplaced: target == Target::Unplaced,
                ..blank_alert(rule, fp, m, theme, Some(key), now, name)
            },
            condition_since: now,
            last_true: now,
            pool: Vec::new(),
            counted: Vec::new(),
        });
        inst.last_true = now;
        let alert = &mut inst.alert;
        alert.updated_at = now;
        alert.observed = entry.announcements;
        alert.event_time = Some(entry.event_time);
        alert.event_place = entry.place.as_deref().map(|p| place_name(p, alert.municipality_name.as_deref()));
        alert.lead_time_secs = Some(entry.lead_time_secs());
        alert.evidence = entry.evidence.clone();
        alert.confidence = entry.evidence.iter().map(|e| e.score).fold(0.0, f32::max).clamp(0.0, 1.0);
        let top_level = entry.evidence.iter().map(|e| e.level).max().unwrap_or(2);
        let local = entry.event_time.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M");
        // An announced action with calls to violence among its messages is not merely informative.
        alert.severity = if top_level >= 3 { rule.severity.max(Severity::Critical) } else { rule.severity };
        let mut reasons = vec![rule_line(rule)];
        reasons.push(format!(
            "Aangekondigde actie op {local}{}{}{}; {} {}, eerst gezien {}, aanlooptijd {}.",
            place_phrase(alert),
            alert
                .event_place
                .as_deref()
                .filter(|p| Some(*p) != alert.municipality_name.as_deref())
                .map(|p| format!(" ({p})"))
                .unwrap_or_default(),
            theme.map(|t| format!(", thema {t}")).unwrap_or_default(),
            entry.announcements,
            if entry.announcements == 1 { "aankondiging" } else { "aankondigingen" },
            entry.first_seen.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M"),
            duration_nl(entry.lead_time_secs().max(0).unsigned_abs()),
        ));
        if top_level < 3 {
            reasons.push(
                "Niveau 2 is mobilisatie zonder oproep tot geweld: een aangekondigde demonstratie is iets om te \
                 faciliteren, geen dreiging."
                    .to_owned(),
            );
        } else {
            reasons.push(
                "Bij deze aankondiging staan berichten van niveau 3 (escalatie: oproep tot geweld, vernieling of \
                 dreiging); daarom is de ernst kritiek."
                    .to_owned(),
            );
        }
        let pool: Vec<Candidate> = entry
            .evidence
            .iter()
            .map(|e| Candidate {
                evidence: e.clone(),
                kind: SourceKind::Replay,
                themes: vec![],
                signals: e.signals.iter().map(|s| (s.clone(), f32::NAN, String::new())).collect(),
            })
            .collect();
        alert.reasons = reasons;
        alert.reasons.extend(signal_line(&pool));
        transition_for(inst, is_new, rule)
    }

    /// Evaluates the counting rules (`threshold`, `burst`) at `now` and moves
    /// every alert along its life (pending → firing → resolved). Call it
    /// periodically; the result is ordered by fingerprint.
    pub fn evaluate(&mut self, now: DateTime<Utc>, baselines: &dyn BaselineSource) -> Vec<Transition> {
        self.prune(now);
        let mut drafts = Vec::new();
        for ri in 0..self.rules.len() {
            if self.paused.contains(&self.rules[ri].name) {
                continue;
            }
            match self.rules[ri].kind {
                RuleKind::Threshold => self.eval_threshold(ri, now, &mut drafts),
                RuleKind::Burst => self.eval_burst(ri, now, baselines, &mut drafts),
                RuleKind::Critical | RuleKind::Announcement => {}
            }
        }
        let mut out = Vec::new();
        let mut holding = BTreeSet::new();
        for d in drafts {
            let rule = &self.rules[d.rule];
            let event = None;
            let fp = fingerprint(
                &rule.name,
                d.municipality.as_ref().map(MunicipalityCode::as_str),
                d.theme.as_deref(),
                event,
            );
            holding.insert(fp.clone());
            let evidence = self.evidence_for(rule, d.place, d.theme.as_deref(), now);
            let is_new = !self.s.active.contains_key(&fp);
            let name = d.municipality.as_ref().and_then(|m| self.names.get(m).cloned());
            let inst = self.s.active.entry(fp.clone()).or_insert_with(|| Instance {
                alert: blank_alert(rule, fp, d.municipality.as_ref(), d.theme.as_deref(), None, now, name),
                condition_since: now,
                last_true: now,
                pool: Vec::new(),
                counted: Vec::new(),
            });
            inst.last_true = now;
            let changed = inst.alert.observed != d.observed;
            let alert = &mut inst.alert;
            alert.updated_at = now;
            alert.observed = d.observed;
            alert.expected = d.expected;
            alert.p_value = d.p_adjusted;
            alert.evidence = evidence.iter().map(|c| c.evidence.clone()).collect();
            alert.confidence = match d.p_adjusted {
                Some(q) => (1.0 - q).clamp(0.0, 1.0) as f32,
                None => {
                    let n = evidence.len().max(1) as f32;
                    let mean = evidence.iter().map(|c| c.evidence.score).sum::<f32>() / n;
                    (mean * (d.observed as f32 / rule.count.max(1) as f32).min(1.0)).clamp(0.0, 1.0)
                }
            };
            let mut reasons = vec![rule_line(rule)];
            reasons.push(counting_reason(rule, &d, alert));
            reasons.extend(signal_line(&evidence));
            alert.reasons = reasons;
            if is_new {
                out.extend(transition_for(inst, true, rule));
            } else if changed && inst.alert.status == AlertStatus::Firing {
                out.push(Transition { kind: TransitionKind::Updated, alert: inst.alert.clone() });
            }
        }
        let fps: Vec<String> = self.s.active.keys().cloned().collect();
        for fp in fps {
            let Some(inst) = self.s.active.get_mut(&fp) else { continue };
            let paused = &self.paused;
            let rule = self.rules.iter().find(|r| r.name == inst.alert.rule && !paused.contains(&r.name));
            let (holds, gone_since) = match rule {
                None => (false, inst.last_true),
                Some(r) => match r.kind {
                    RuleKind::Threshold | RuleKind::Burst => (holding.contains(&fp), inst.last_true),
                    RuleKind::Critical => (now < inst.last_true + r.window(), inst.last_true + r.window()),
                    RuleKind::Announcement => {
                        let until = inst.alert.event_time.map_or(inst.last_true, |e| e + r.window());
                        (now < until, until)
                    }
                },
            };
            let pending = rule.map_or(TimeDelta::zero(), Rule::pending);
            let keep = rule.map_or(TimeDelta::zero(), Rule::keep_firing_for);
            match (holds, inst.alert.status) {
                (true, AlertStatus::Pending) if now - inst.condition_since >= pending => {
                    inst.alert.status = AlertStatus::Firing;
                    inst.alert.updated_at = now;
                    out.push(Transition { kind: TransitionKind::Firing, alert: inst.alert.clone() });
                }
                (false, AlertStatus::Pending) => {
                    self.s.active.remove(&fp);
                }
                (false, AlertStatus::Firing) if now - gone_since >= keep => {
                    inst.alert.status = AlertStatus::Resolved;
                    inst.alert.updated_at = now;
                    inst.alert.ends_at = Some(now);
                    inst.alert.reasons.push(format!(
                        "Gedeëscaleerd: de voorwaarde van de regel geldt sinds {} niet meer{}.",
                        gone_since.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M"),
                        if keep > TimeDelta::zero() {
                            format!(" (nalooptijd {})", duration_nl(keep.num_seconds().unsigned_abs()))
                        } else {
                            String::new()
                        }
                    ));
                    out.push(Transition { kind: TransitionKind::Resolved, alert: inst.alert.clone() });
                    self.s.active.remove(&fp);
                }
                _ => {}
            }
        }
        out.sort_by(|a, b| a.alert.fingerprint.cmp(&b.alert.fingerprint).then(a.kind.cmp(&b.kind)));
        out
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = now - self.horizon;
        let keep_from = minute_of(cutoff);
        let kept_minutes = self.s.minutes.split_off(&keep_from);
        self.s.minutes = kept_minutes;
        let kept_seen = self.s.seen.split_off(&minute_of(now - TimeDelta::minutes(DEDUP_MINUTES)));
        for hashes in self.s.seen.values() {
            for h in hashes {
                self.seen_set.remove(h);
            }
        }
        self.s.seen = kept_seen;
        for pool in self.s.candidates.values_mut() {
            pool.retain(|c| c.evidence.published_at >= cutoff);
        }
        self.s.candidates.retain(|_, pool| !pool.is_empty());
        self.s.calendar.prune(now - TimeDelta::days(CALENDAR_KEEP_DAYS));
    }

    fn minute_range(now: DateTime<Utc>, window: TimeDelta) -> std::ops::RangeInclusive<i64> {
        // Minutes that start within (now − window, now]: per-minute resolution.
        let lo = (now - window).timestamp().div_euclid(60) + 1;
        lo..=minute_of(now)
    }

    fn eval_threshold(&self, ri: usize, now: DateTime<Utc>, drafts: &mut Vec<Draft>) {
        let rule = &self.rules[ri];
        let themes: Option<FxHashSet<u32>> = (!rule.themes.is_empty())
            .then(|| rule.themes.iter().filter_map(|t| self.theme_idx.get(t).copied()).collect());
        let mut per_place: BTreeMap<u32, u64> = BTreeMap::new();
        for (_, cells) in self.s.minutes.range(Self::minute_range(now, rule.window())) {
            for (&key, &n) in cells {
                let (place, theme, level, kind) = unpack(key);
                let place_ok = match rule.per {
                    Scope::Region => place == 0,
                    Scope::Municipality => place != 0 && rule.admits_municipality(self.muni_of(place)),
                };
                let theme_ok = match &themes {
                    None => theme == 0,
                    Some(set) => set.contains(&theme),
                };
                if place_ok
                    && theme_ok
                    && level >= rule.min_level.as_u8()
                    && KINDS.get(kind as usize).is_some_and(|k| rule.admits_source_kind(*k))
                {
                    *per_place.entry(place).or_insert(0) += u64::from(n);
                }
            }
        }
        for (place, observed) in per_place {
            if observed >= rule.count {
                drafts.push(Draft {
                    rule: ri,
                    place,
                    municipality: self.muni_of(place).cloned(),
                    theme: rule.single_theme().map(str::to_owned),
                    observed,
                    expected: None,
                    p_raw: None,
                    p_adjusted: None,
                    basis: None,
                    tested: 0,
                });
            }
        }
    }

    fn eval_burst(&self, ri: usize, now: DateTime<Utc>, baselines: &dyn BaselineSource, drafts: &mut Vec<Draft>) {
        let rule = &self.rules[ri];
        let region = rule.per == Scope::Region;
        // Observed per (municipality code or "" for the region, theme).
        let mut observed: BTreeMap<(String, String), (u64, u32)> = BTreeMap::new();
        for (_, cells) in self.s.minutes.range(Self::minute_range(now, rule.window())) {
            for (&key, &n) in cells {
                let (place, theme, level, _) = unpack(key);
                if theme == 0 || level < rule.min_level.as_u8() || (place == 0) != region {
                    continue;
                }
                let m = self.muni_of(place);
                let Some(th) = self.theme_of(theme) else { continue };
                if !rule.admits_theme(Some(th)) || (!region && !rule.admits_municipality(m)) {
                    continue;
                }
                let cell = (m.map(|m| m.as_str().to_owned()).unwrap_or_default(), th.to_owned());
                let e = observed.entry(cell).or_insert((0, place));
                e.0 += u64::from(n);
            }
        }
        let window = rule.window();
        let admit = |c: &crate::baseline::CountCell| -> Option<(String, String)> {
            let th = c.theme.as_deref()?;
            if c.level < rule.min_level.as_u8() || !rule.admits_theme(Some(th)) {
                return None;
            }
            if region {
                return Some((String::new(), th.to_owned()));
            }
            let m = MunicipalityCode::new(c.municipality.as_deref()?).ok()?;
            rule.admits_municipality(Some(&m)).then(|| (m.as_str().to_owned(), th.to_owned()))
        };
        let collect = |since: DateTime<Utc>, until: DateTime<Utc>| -> Option<BTreeMap<(String, String), u64>> {
            let cells = baselines.counts(since, until, rule.min_level.as_u8())?;
            let mut map = BTreeMap::new();
            for c in &cells {
                if let Some(k) = admit(c) {
                    *map.entry(k).or_insert(0) += c.messages;
                }
            }
            Some(map)
        };
        let weeks: Vec<BTreeMap<(String, String), u64>> = (1..=rule.baseline_weeks)
            .filter_map(|k| {
                let shift = TimeDelta::weeks(i64::from(k));
                collect(now - shift - window, now - shift)
            })
            .collect();
        let season = Season::of(now.with_timezone(&Amsterdam).date_naive());
        let years: Vec<BTreeMap<(String, String), u64>> = match season {
            Some(_) => (1..=SEASON_YEARS)
                .filter_map(|y| {
                    let then = now.checked_sub_months(Months::new(12 * y))?;
                    collect(then - window, then)
                })
                .collect(),
            None => Vec::new(),
        };
        let mut cells: BTreeSet<(String, String)> = observed.keys().cloned().collect();
        for period in weeks.iter().chain(&years) {
            cells.extend(period.iter().filter(|(_, n)| **n > 0).map(|(k, _)| k.clone()));
        }
        let mut tested = Vec::new();
        for cell in cells {
            let (obs, place) = observed.get(&cell).copied().unwrap_or((0, u32::MAX));
            let w: Vec<u64> = weeks.iter().map(|p| p.get(&cell).copied().unwrap_or(0)).collect();
            let y: Vec<u64> = years.iter().map(|p| p.get(&cell).copied().unwrap_or(0)).collect();
            if let Some(j) = judge(obs, &w, season.map(|s| (s, y.as_slice()))) {
                tested.push((cell, place, j));
            }
        }
        let q = benjamini_hochberg(&tested.iter().map(|t| t.2.p_value).collect::<Vec<_>>());
        let m = tested.len();
        for ((cell, place, j), q) in tested.into_iter().zip(q) {
            if q <= rule.alpha && j.observed >= rule.count && j.observed as f64 > j.expected {
                let municipality = if region { None } else { MunicipalityCode::new(cell.0).ok() };
                drafts.push(Draft {
                    rule: ri,
                    place: if region { 0 } else { place },
                    municipality,
                    theme: Some(cell.1),
                    observed: j.observed,
                    expected: Some(j.expected),
                    p_raw: Some(j.p_value),
                    p_adjusted: Some(q),
                    basis: Some(j.basis),
                    tested: m,
                });
            }
        }
    }

    fn evidence_for(&self, rule: &Rule, place: u32, theme: Option<&str>, now: DateTime<Utc>) -> Vec<Candidate> {
        let Some(pool) = self.s.candidates.get(&place) else { return Vec::new() };
        let since = now - rule.window();
        let theme_id = theme.and_then(|t| self.theme_idx.get(t).copied());
        let wanted: Option<FxHashSet<u32>> = (!rule.themes.is_empty())
            .then(|| rule.themes.iter().filter_map(|t| self.theme_idx.get(t).copied()).collect());
        let fits: Vec<&Candidate> = pool
            .iter()
            .filter(|c| {
                c.evidence.level >= rule.min_level.as_u8()
                    && c.evidence.published_at >= since
                    && rule.admits_source_kind(c.kind)
                    && theme_id.is_none_or(|id| c.themes.contains(&id))
                    && wanted.as_ref().is_none_or(|w| c.themes.iter().any(|t| w.contains(t)))
            })
            .collect();
        let evs: Vec<Evidence> = fits.iter().map(|c| c.evidence.clone()).collect();
        representative(&evs, EVIDENCE_PER_ALERT)
            .into_iter()
            .filter_map(|e| fits.iter().find(|c| c.evidence.message_id == e.message_id).map(|c| (*c).clone()))
            .collect()
    }
}

fn transition_for(inst: &mut Instance, is_new: bool, rule: &Rule) -> Option<Transition> {
    if is_new {
        if rule.pending_secs == 0 {
            inst.alert.status = AlertStatus::Firing;
            Some(Transition { kind: TransitionKind::Firing, alert: inst.alert.clone() })
        } else {
            Some(Transition { kind: TransitionKind::Pending, alert: inst.alert.clone() })
        }
    } else if inst.alert.status == AlertStatus::Firing {
        Some(Transition { kind: TransitionKind::Updated, alert: inst.alert.clone() })
    } else {
        None
    }
}

fn blank_alert(
    rule: &Rule,
    fp: String,
    m: Option<&MunicipalityCode>,
    theme: Option<&str>,
    event: Option<&str>,
    now: DateTime<Utc>,
    name: Option<String>,
) -> Alert {
    Alert {
        fingerprint: fp,
        rule: rule.name.clone(),
        rule_version: rule.version.clone(),
        kind: rule.kind,
        severity: rule.severity,
        municipality: m.cloned(),
        municipality_name: name,
        theme: theme.map(str::to_owned),
        status: AlertStatus::Pending,
        starts_at: now,
        updated_at: now,
        ends_at: None,
        event_time: None,
        event_place: None,
        observed: 0,
        expected: None,
        p_value: None,
        threshold: match rule.kind {
            RuleKind::Threshold | RuleKind::Burst => Some(rule.count),
            RuleKind::Announcement | RuleKind::Critical => None,
        },
        window_secs: match rule.kind {
            RuleKind::Threshold | RuleKind::Burst => rule.window_secs,
            RuleKind::Announcement | RuleKind::Critical => 0,
        },
        reasons: Vec::new(),
        evidence: Vec::new(),
        confidence: 0.0,
        reviewed_by: None,
        acknowledged_by: None,
        ack_comment: None,
        lead_time_secs: None,
        event: event.map(str::to_owned),
        unplaced: false,
        escalates_at: None,
        decisions: Vec::new(),
        mandate: (!rule.mandate.is_empty()).then(|| rule.mandate.clone()),
    }
}

fn excerpt_words(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= 60 {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(59).collect();
        out.push('…');
        out
    }
}

/// Dutch decimal notation with two decimals.
fn nl2(x: f64) -> String {
    format!("{x:.2}").replace('.', ",")
}

/// A p-value in Dutch notation: decimals down to 0,001, scientific below.
fn nl_p(p: f64) -> String {
    if p >= 0.001 { format!("{p:.3}").replace('.', ",") } else { format!("{p:.1e}").replace('.', ",") }
}

fn level_nl(level: u8) -> &'static str {
    match level {
        0 => "geen onrust",
        1 => "discussie",
        2 => "mobilisatie",
        _ => "escalatie",
    }
}

fn kind_nl(kind: RuleKind) -> &'static str {
    match kind {
        RuleKind::Threshold => "drempel",
        RuleKind::Burst => "piek tegen basisniveau",
        RuleKind::Announcement => "aankondiging",
        RuleKind::Critical => "één ernstig bericht is genoeg",
    }
}

/// `10 minuten`, `1 uur`, `2 uur 30 minuten`, `3 dagen 4 uur`.
pub fn duration_nl(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} {}", if d == 1 { "dag" } else { "dagen" }));
    }
    if h > 0 {
        parts.push(format!("{h} uur"));
    }
    if m > 0 && d == 0 {
        parts.push(format!("{m} {}", if m == 1 { "minuut" } else { "minuten" }));
    }
    if parts.is_empty() {
        parts.push(format!("{secs} seconden"));
    }
    parts.join(" ")
}

fn place_phrase(alert: &Alert) -> String {
    match (&alert.municipality, alert.municipality_name.as_deref()) {
        (Some(m), Some(n)) => format!(" in {n} ({m})"),
        (Some(m), None) => format!(" in {m}"),
        (None, _) if alert.unplaced => " zonder bekende plaats".to_owned(),
        (None, _) => " in de regio".to_owned(),
    }
}

/// Where in `municipality` the message places its action: the most specific
/// place it names there ("Janskerkhof (plein, Utrecht)"), or the
/// municipality's own name; nothing when the place is only inferred from the
/// source.
fn event_place(places: &[onrust_model::Place], municipality: &MunicipalityCode) -> Option<String> {
    onrust_model::most_specific(places, Some(municipality)).map(|p| match p.tier {
        PlaceTier::Municipality => p.name.clone(),
        PlaceTier::Demonym => p.municipality_name.clone(),
        _ => p.label(),
    })
}

/// What an alert's evidence says of where the message is
/// ([`Evidence::place`]): for a municipality's alert the most specific place
/// the message names inside it ("Kanaleneiland (wijk, Utrecht)"), nothing when
/// it names only the municipality (or its inhabitants), which the alert already says; for a
/// region-wide alert the most specific place it names anywhere ("Utrecht
/// (gemeente)" too). An unplaced message names none.
fn evidence_place(places: &[onrust_model::Place], municipality: Option<&MunicipalityCode>) -> Option<String> {
    onrust_model::most_specific(places, municipality)
        .filter(|p| municipality.is_none() || p.tier.specificity() > Some(0))
        .map(onrust_model::Place::label)
}

/// A place as messages name it, shown with capitals: the municipality's own
/// spelling when it is that name ("utrecht" → "Utrecht"), else every word
/// capitalised ("vredenburgplein" → "Vredenburgplein"; "de" and "het" stay).
pub fn place_name(place: &str, municipality_name: Option<&str>) -> String {
    let place = place.trim();
    if let Some(name) = municipality_name.filter(|n| n.to_lowercase() == place.to_lowercase()) {
        return name.to_owned();
    }
    let words: Vec<String> = place
        .split(' ')
        .enumerate()
        .map(|(i, word)| {
            if i > 0 && matches!(word, "de" | "het" | "van" | "aan" | "op" | "bij" | "den" | "der" | "in") {
                return word.to_owned();
            }
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect();
    words.join(" ")
}

/// Whether `text` holds `word` (both lowercase) with no letter or digit on either side.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn rule_line(rule: &Rule) -> String {
    format!("Regel {} (versie {}, {}, ernst {}).", rule.name, rule.version, kind_nl(rule.kind), rule.severity.dutch())
}

fn counting_reason(rule: &Rule, d: &Draft, alert: &Alert) -> String {
    let place = place_phrase(alert);
    let window = duration_nl(rule.window_secs);
    match (&d.basis, d.expected, d.p_raw, d.p_adjusted) {
        (Some(basis), Some(expected), Some(p), Some(q)) => {
            let basis = match basis {
                Basis::Weeks(c) => format!(
                    "dezelfde uren in de vorige {} weken ({})",
                    c.len(),
                    c.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                ),
                Basis::Season(s, c) => format!(
                    "dezelfde data in de vorige {} jaren ({}; seizoen {})",
                    c.len(),
                    c.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
                    s.as_str()
                ),
            };
            format!(
                "{} berichten over {}{place} in de afgelopen {window}, verwacht {} volgens {basis}; \
                 kans op zo veel of meer {}, na correctie voor {} getoetste gemeente × thema-combinaties p = {} \
                 (grens α = {}, minimaal {} berichten).",
                d.observed,
                d.theme.as_deref().unwrap_or("alle thema's"),
                nl2(expected),
                nl_p(p),
                d.tested,
                nl_p(q),
                nl2(rule.alpha),
                rule.count
            )
        }
        _ => {
            let mut s = format!(
                "{} berichten met niveau {} of hoger ({})",
                d.observed,
                rule.min_level.as_u8(),
                level_nl(rule.min_level.as_u8())
            );
            if !rule.themes.is_empty() {
                let _ = write!(s, " over {}", rule.themes.join(", "));
            }
            if !rule.source_kinds.is_empty() {
                let kinds: Vec<&str> = rule.source_kinds.iter().map(|k| k.as_str()).collect();
                let _ = write!(s, " uit {}", kinds.join(", "));
            }
            let _ = write!(s, "{place} in de afgelopen {window}; de drempel is {}.", rule.count);
            s
        }
    }
}

/// "Signalen: call_to_violence 0,60 (2×, "oorlog maken met de politie"), …" from the evidence's explanations.
fn signal_line(pool: &[Candidate]) -> Option<String> {
    let mut agg: BTreeMap<&str, (u32, f32, &str)> = BTreeMap::new();
    for c in pool {
        for (name, weight, words) in &c.signals {
            let e = agg.entry(name.as_str()).or_insert((0, f32::NAN, words.as_str()));
            e.0 += 1;
            if weight.is_finite() && (e.1.is_nan() || *weight > e.1) {
                e.1 = *weight;
                if !words.is_empty() {
                    e.2 = words.as_str();
                }
            }
        }
    }
    if agg.is_empty() {
        return None;
    }
    let mut v: Vec<(&str, (u32, f32, &str))> = agg.into_iter().collect();
    v.sort_by(|a, b| {
        let wa = if a.1.1.is_nan() { -1.0 } else { a.1.1 };
        let wb = if b.1.1.is_nan() { -1.0 } else { b.1.1 };
        wb.total_cmp(&wa).then(b.1.0.cmp(&a.1.0)).then(a.0.cmp(b.0))
    });
    let parts: Vec<String> = v
        .into_iter()
        .take(6)
        .map(|(name, (n, w, words))| {
            let mut s = name.to_owned();
            if w.is_finite() {
                let _ = write!(s, " {}", nl2(f64::from(w)));
            }
            let _ = write!(s, " ({n}×");
            if !words.is_empty() {
                let _ = write!(s, ", \"{words}\"");
            }
            s.push(')');
            s
        })
        .collect();
    Some(format!("Signalen in de voorbeelden: {}.", parts.join(", ")))
}
