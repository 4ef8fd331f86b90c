//! scored → alert engine → outbox → SMTP.
//!
//! Every scored message is observed by the engine as it arrives (critical and
//! announcement rules fire right there); every `[alerts] evaluate_interval`
//! the threshold and burst rules are evaluated on a blocking thread against
//! baselines from the archive. Whatever changed goes through the mechanics
//! (grouping, silences, inhibition, review gate), and each notification is
//! resolved to the `[[recipients]]` of its role and municipality and put in
//! the outbox, which persists it before any attempt (R8). A delivery task
//! sends what is due and sleeps until the next is.
//!
//! A notification that fails for good is told to the supervisors through
//! another channel ([`undelivered`]), and can be sent again by a person
//! through the alerts API (`onrust alerts resend`).
//!
//! The order is what makes a restart safe (R1): notifications are enqueued,
//! then the [`AlertState`] is written (temporary file, fsync, rename), and
//! only then are the observed messages acknowledged. A crash before the state
//! is written replays the messages into the old state; the same transitions
//! give the same notification keys, which the outbox already knows.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use onrust_alert::Undelivered;
use onrust_alert::{
    Alert, AlertEvent, AlertState, BaselineSource, CountCell, Engine, Mechanics, NotifyReason, Round, RoundOutcome,
    Rule, Silence, SilenceRequest, Transition,
};
use onrust_alert::{Channel, RecipientRole};
use onrust_archive::{ArchiveReader, CountRequest};
use onrust_bus::{Ack, Publisher, Record, Subscriber, Topic};
use onrust_model::{Deletion, Level, MunicipalityCode, ScoredMessage};
use onrust_notify::Notifiers;
use onrust_notify::log::{Content, Item, Outbox, RetryPolicy};
use onrust_notify::smtp::{SmtpConfig, SmtpNotifier};
use onrust_notify::webhook::WebhookNotifier;
use onrust_web::alerts::{AlertBackend, AlertBackendError, BackendFuture, Names};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::BusReceipts;
use crate::config::{RecipientConfig, RecipientScope, WebhookConfig};
use crate::internal_events::{
    AlertAcknowledged, AlertCycle, AlertEvidenceWithdrawn, AlertNobodyToTell, AlertNotificationQueued,
    AlertUnexplained, AlertsNotMailed, AlertsSnapshot, DeliveryFailureTold, LateArrival, StageProcessed,
};

pub mod erasure;
mod retention;
mod undelivered;

pub use retention::AlertRetention;

const BATCH: usize = 1024;
pub const STATE_FILE: &str = "state.json";

/// Where the stage's `now` comes from: the system clock in the daemon; in
/// tests tokio's clock, so `tokio::time::pause()` and `advance()` drive
/// silences, escalation and expiry through the real stage without waiting.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// `start` now, moving on with tokio's clock.
    #[cfg(test)]
    pub fn tokio(start: DateTime<Utc>) -> Self {
        let base = Instant::now();
        Self(Arc::new(move || start + chrono::TimeDelta::from_std(base.elapsed()).unwrap_or_default()))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// Everything the stage needs besides its bus ends.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: Vec<Rule>,
    pub recipients: Vec<RecipientConfig>,
    /// The webhook receivers' keys and timeouts.
    pub webhooks: Vec<WebhookConfig>,
    pub smtp: Option<SmtpConfig>,
    /// How the region is named in mail ("Midden-Nederland").
    pub region_name: String,
    /// The `[region]` municipalities (empty: none configured). A single
    /// message makes a region-wide alert only when it names the region or
    /// several of these.
    pub region: Vec<MunicipalityCode>,
    /// Whom a mayor calls (`[alerts] contact`).
    pub contact: Option<String>,
    /// Where officers and supervisors open the console (`[http] public_url`):
    /// their mail links to the alert there.
    pub console_url: Option<String>,
    /// The configured sources' ids, so the late-arrival counter of each starts at 0.
    pub sources: Vec<String>,
    pub evaluate_interval: Duration,
    /// From this hour (Europe/Amsterdam) the mayors' daily digest goes out.
    pub digest_hour: u32,
    /// How long before an announced action the joint summary goes out.
    pub summary_lead: chrono::TimeDelta,
    /// `<data_dir>/alerts`: state, outbox, notification log.
    pub dir: PathBuf,
    /// The archive to read baselines from; `None`: bursts cannot be judged.
    pub archive_dir: Option<PathBuf>,
    /// Municipality names by CBS code, for the mail.
    pub names: Vec<(MunicipalityCode, String)>,
    pub retry: RetryPolicy,
    /// How long the state's review records, the outbox and the notification
    /// log are kept (L6); `None`: for ever (tests, the backtest).
    pub retention: Option<AlertRetention>,
    /// Observed messages are acknowledged (after a state save) within this
    /// time, so source cursors wait no longer on alerting than on the archive
    /// (the daemon passes `archive.commit_interval`), not for the next evaluation.
    pub ack_within: Duration,
    pub clock: Clock,
    /// The halt switch (rule L13): while true, the delivery task sends
    /// nothing; the stage still takes in and enqueues.
    pub halted: tokio::sync::watch::Receiver<bool>,
}

/// The persisted state file: the engine's and the mechanics' state, plus how
/// many notifications each fingerprint has had (the outbox key's sequence).
/// Nested, not flattened: serde's flatten reads the state's integer map keys as strings.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateFile {
    pub state: AlertState,
    #[serde(default)]
    pub sequences: BTreeMap<String, u64>,
    /// The day (Europe/Amsterdam) of the last mayors' digest.
    #[serde(default)]
    pub last_digest: Option<NaiveDate>,
    /// The alert as each role was last told about it (`role:fingerprint`),
    /// so the next mail can say what changed since; dropped with the alert.
    #[serde(default)]
    pub told: BTreeMap<String, Alert>,
    /// Messages deleted at their source, with when, oldest first: one that
    /// arrives after its deletion (it was still being classified) is not observed.
    #[serde(default)]
    pub withdrawn: Withdrawn,
}

/// How many deleted message ids the stage remembers, and for how long: a
/// message is classified within seconds, so a week is ample.
const WITHDRAWN_MAX: usize = 10_000;
const WITHDRAWN_FOR: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Message ids deleted at their source, oldest first, bounded in number and age.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "VecDeque<(String, DateTime<Utc>)>", into = "VecDeque<(String, DateTime<Utc>)>")]
pub struct Withdrawn {
    order: VecDeque<(String, DateTime<Utc>)>,
    ids: HashSet<String>,
}

impl Withdrawn {
    fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    fn insert(&mut self, id: &str, now: DateTime<Utc>) {
        if self.ids.insert(id.to_owned()) {
            self.order.push_back((id.to_owned(), now));
        }
        while self.order.len() > WITHDRAWN_MAX || self.order.front().is_some_and(|(_, at)| now - *at > WITHDRAWN_FOR) {
            if let Some((old, _)) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }
}

impl From<VecDeque<(String, DateTime<Utc>)>> for Withdrawn {
    fn from(order: VecDeque<(String, DateTime<Utc>)>) -> Self {
        let ids = order.iter().map(|(id, _)| id.clone()).collect();
        Self { order, ids }
    }
}

impl From<Withdrawn> for VecDeque<(String, DateTime<Utc>)> {
    fn from(withdrawn: Withdrawn) -> Self {
        withdrawn.order
    }
}

struct Core {
    engine: Engine,
    mechanics: Mechanics,
    sequences: BTreeMap<String, u64>,
    last_digest: Option<NaiveDate>,
    told: BTreeMap<String, Alert>,
    withdrawn: Withdrawn,
    /// What was erased on request (`erasure`): not observed when it arrives.
    erased: Option<Arc<crate::erasure::tombstones::Tombstones>>,
}

impl Core {
    /// Whether the message `id` was deleted at its source before it got here.
    fn is_withdrawn(&self, id: &str) -> bool {
        self.withdrawn.contains(id)
    }

    /// A message deleted at its source leaves the evidence of every alert,
    /// announced action and what each role was told (its counts stay), and
    /// is remembered so a copy that arrives later is not observed.
    fn forget_message(&mut self, id: &str, now: DateTime<Utc>) {
        self.withdrawn.insert(id, now);
        let found = self.engine.forget_message(id) | self.mechanics.forget_message(id);
        let mut told = false;
        for alert in self.told.values_mut() {
            told |= alert.withdraw_message(id);
        }
        AlertEvidenceWithdrawn { found: found || told }.emit();
    }
}

/// The key of [`StateFile::told`].
fn told_key(role: RecipientRole, fingerprint: &str) -> String {
    format!("{}:{fingerprint}", role.as_str())
}

/// Reads the persisted state, or starts empty when there is none.
fn load_state(dir: &Path, rules: &[Rule], now: DateTime<Utc>) -> anyhow::Result<Core> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let file: StateFile = serde_json::from_slice(&bytes)
                .with_context(|| format!("alert state {} is not readable", path.display()))?;
            let (engine, mechanics) = file
                .state
                .restore(rules.to_vec())
                .with_context(|| format!("alert state {} cannot be restored", path.display()))?;
            Ok(Core {
                engine,
                mechanics,
                sequences: file.sequences,
                last_digest: file.last_digest,
                told: file.told,
                withdrawn: file.withdrawn,
                erased: None,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The first digest goes out the morning after the first start, not at once.
            let today = now.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
            Ok(Core {
                engine: Engine::new(rules.to_vec()),
                mechanics: Mechanics::new(rules),
                sequences: BTreeMap::new(),
                last_digest: Some(today),
                told: BTreeMap::new(),
                withdrawn: Withdrawn::default(),
                erased: None,
            })
        }
        Err(e) => Err(e).with_context(|| format!("cannot read alert state {}", path.display())),
    }
}

/// Writes the state atomically and durably (`onrust_durable::write_atomic`).
fn save_state(dir: &Path, core: &Core) -> anyhow::Result<()> {
    let file = StateFile {
        state: AlertState::capture(&core.engine, &core.mechanics),
        sequences: core.sequences.clone(),
        last_digest: core.last_digest,
        told: core.told.clone(),
        withdrawn: core.withdrawn.clone(),
    };
    let body = serde_json::to_vec(&file).context("serialising alert state")?;
    let path = dir.join(STATE_FILE);
    onrust_durable::write_atomic(&path, &body).with_context(|| format!("cannot save {}", path.display()))
}

/// Baselines from the archive's counts. A period that begins before the
/// archive's oldest bucket is not covered: `None`, never a quiet week.
pub struct ArchiveBaselines {
    reader: ArchiveReader,
}

impl ArchiveBaselines {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let reader = ArchiveReader::open(dir)
            .with_context(|| format!("cannot open the archive {} for baselines", dir.display()))?
            .with_budget(Duration::from_secs(10));
        Ok(Self { reader })
    }
}

impl BaselineSource for ArchiveBaselines {
    fn counts(&self, since: DateTime<Utc>, until: DateTime<Utc>, min_level: u8) -> Option<Vec<CountCell>> {
        let oldest = match self.reader.oldest_start() {
            Ok(oldest) => oldest?,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list archive buckets for a baseline");
                return None;
            }
        };
        if since < oldest {
            return None;
        }
        let min_level = Level::try_from(min_level).ok()?;
        match self.reader.counts(&CountRequest { since, until, min_level: Some(min_level) }) {
            Ok(rows) => Some(
                rows.into_iter()
                    .map(|r| CountCell {
                        municipality: r.municipality,
                        theme: r.theme,
                        level: r.level,
                        messages: r.messages,
                    })
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count archive messages for a baseline");
                None
            }
        }
    }
}

/// The configured addresses for a notification, with their channel: its
/// role, and its municipality or `"*"`; a regional notification (no
/// municipality) goes to `"*"` only. Mailboxes only when there is a relay.
pub fn addresses<'a>(
    recipients: &'a [RecipientConfig],
    role: RecipientRole,
    municipality: Option<&MunicipalityCode>,
    email: bool,
) -> Vec<(Channel, &'a str)> {
    let mut out: Vec<(Channel, &str)> = recipients
        .iter()
        .filter(|r| r.role == role && (email || r.channel != Channel::Email))
        .filter(|r| match (&r.scope, municipality) {
            (RecipientScope::All, _) => true,
            (RecipientScope::One(code), Some(m)) => code == m,
            (RecipientScope::One(_), None) => false,
        })
        .map(|r| (r.channel, r.address.as_str()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The alert state shared by the stage and the alerts API: every change the
/// API makes is saved (under the same lock the stage saves under) before it
/// is answered, and told at the stage's next round. It holds the outbox too,
/// so a person can send a failed notification again through the API.
#[derive(Clone)]
pub struct AlertHandle {
    core: Arc<Mutex<Core>>,
    dir: PathBuf,
    names: Names,
    clock: Clock,
    outbox: Arc<tokio::sync::Mutex<Outbox>>,
    /// Wakes the delivery task when something is due at once.
    wake: Arc<Notify>,
    /// The municipalities a silence may name: the region's, or without a
    /// `[region]` every one the gazetteer knows.
    places: Vec<MunicipalityCode>,
}

impl AlertHandle {
    /// Pauses exactly these rules (by name): their mandate is not in force
    /// (rule L5). Their alerts resolve at the next evaluation.
    pub fn pause_rules(&self, names: Vec<String>) -> anyhow::Result<()> {
        let mut core = self.core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
        core.engine.set_paused_rules(names);
        Ok(())
    }

    /// Restores the persisted state (or starts empty), opens the outbox (one
    /// owner at a time, R7) and names the municipalities.
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        onrust_durable::create_private_dir_all(&settings.dir)
            .with_context(|| format!("cannot create the alerts folder {}", settings.dir.display()))?;
        let mut core = load_state(&settings.dir, &settings.rules, settings.clock.now())?;
        core.engine.set_municipality_names(settings.names.clone());
        core.engine.set_region(settings.region.iter().cloned(), [settings.region_name.clone()]);
        let names = Names { region: settings.region_name.clone(), municipalities: settings.names.clone() };
        let outbox = Outbox::open(&settings.dir, settings.retry).context("opening the alert outbox")?;
        let places = if settings.region.is_empty() {
            settings.names.iter().map(|(code, _)| code.clone()).collect()
        } else {
            settings.region.clone()
        };
        Ok(Self {
            core: Arc::new(Mutex::new(core)),
            dir: settings.dir.clone(),
            names,
            clock: settings.clock.clone(),
            outbox: Arc::new(tokio::sync::Mutex::new(outbox)),
            wake: Arc::new(Notify::new()),
            places,
        })
    }

    /// A silence's `municipality` value as the alerts carry it: a CBS code of
    /// the region (written as onrust writes it), `onbekend` for the alerts
    /// without a known place, or empty for the region-wide ones. Anything
    /// else would silence nothing, quietly: refused.
    fn silence_place(&self, value: &str) -> Result<String, AlertBackendError> {
        if value.is_empty() || value == onrust_alert::UNPLACED_LABEL {
            return Ok(value.to_owned());
        }
        match MunicipalityCode::new(value.to_owned()) {
            Ok(code) if self.places.contains(&code) => Ok(code.as_str().to_owned()),
            _ => Err(onrust_alert::MechanicsError::UnknownMunicipality(value.to_owned()).into()),
        }
    }

    fn change<T>(
        &self,
        f: impl FnOnce(&mut Mechanics, DateTime<Utc>) -> Result<T, onrust_alert::MechanicsError>,
    ) -> Result<T, AlertBackendError> {
        let mut core = self.core.lock().map_err(|_| AlertBackendError::Unavailable("lock poisoned".into()))?;
        let out = f(&mut core.mechanics, self.clock.now())?;
        save_state(&self.dir, &core).map_err(|e| AlertBackendError::Unavailable(format!("{e:#}")))?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Mechanics) -> T) -> Result<T, AlertBackendError> {
        let core = self.core.lock().map_err(|_| AlertBackendError::Unavailable("lock poisoned".into()))?;
        Ok(f(&core.mechanics))
    }
}

impl AlertBackend for AlertHandle {
    fn list(&self) -> Result<Vec<Alert>, AlertBackendError> {
        self.read(|m| {
            let mut alerts: Vec<Alert> = m.alerts().cloned().collect();
            alerts.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
            alerts
        })
    }
    fn show(&self, fingerprint: &str) -> Result<Option<Alert>, AlertBackendError> {
        self.read(|m| m.alert(fingerprint).cloned())
    }
    fn confirm(&self, fingerprint: &str, who: &str, reason: &str) -> Result<Alert, AlertBackendError> {
        self.change(|m, now| m.confirm(fingerprint, who, reason, now))
    }
    fn acknowledge(&self, fingerprint: &str, who: &str, comment: &str) -> Result<Alert, AlertBackendError> {
        let alert = self.change(|m, now| m.acknowledge(fingerprint, who, comment, now))?;
        AlertAcknowledged { rule: &alert.rule, severity: alert.severity.as_str() }.emit();
        Ok(alert)
    }
    fn silence(&self, mut request: SilenceRequest) -> Result<String, AlertBackendError> {
        for matcher in request.matchers.iter_mut().filter(|m| m.label == "municipality") {
            matcher.value = self.silence_place(&matcher.value)?;
        }
        self.change(|m, now| m.add_silence(request, now))
    }
    fn dismiss(&self, fingerprint: &str, who: &str, reason: &str) -> Result<Alert, AlertBackendError> {
        self.change(|m, now| m.dismiss(fingerprint, who, reason, now))
    }
    fn silences(&self) -> Result<Vec<Silence>, AlertBackendError> {
        let now = self.clock.now();
        self.read(|m| m.silences().filter(|s| s.ends_at > now).cloned().collect())
    }
    fn expire_silence(&self, id: &str) -> Result<Silence, AlertBackendError> {
        self.change(|m, _| m.expire_silence(id))
    }
    fn names(&self) -> Names {
        self.names.clone()
    }
    fn undelivered(&self) -> BackendFuture<'_, Vec<Undelivered>> {
        Box::pin(async move { Ok(self.outbox.lock().await.undelivered()) })
    }
    fn resend<'a>(
        &'a self,
        fingerprint: &'a str,
        who: &'a str,
        reason: &'a str,
    ) -> BackendFuture<'a, Vec<Undelivered>> {
        Box::pin(async move {
            let resent = self
                .outbox
                .lock()
                .await
                .resend(fingerprint, who, reason)
                .map_err(|e| AlertBackendError::Unavailable(format!("the notification log: {e}")))?;
            if !resent.is_empty() {
                self.wake.notify_one();
            }
            Ok(resent)
        })
    }
}

/// The stage's bus ends.
pub struct Ends {
    /// `onrust.scored.v1`, group `alert`.
    pub input: Box<dyn Subscriber>,
    pub dead: Arc<dyn Publisher>,
    /// `onrust.alerts.v1`, when anything consumes it: every alert fired,
    /// updated or de-escalated, as an [`AlertEvent`] keyed by fingerprint.
    pub alerts: Option<Arc<dyn Publisher>>,
}

/// Publishes the changes worth telling (not pending ones) on `onrust.alerts.v1`;
/// returns whether the bus took them. The stage waits for that before it
/// saves the state that caused them, so a crash before then repeats them (at
/// least once; a consumer keeps the newest per fingerprint) and none is lost
/// after the save; an event not taken stops the stage.
async fn publish_changes(out: Option<&Arc<dyn Publisher>>, transitions: &[Transition]) -> anyhow::Result<BusReceipts> {
    let mut receipts = BusReceipts::default();
    let Some(out) = out else { return Ok(receipts) };
    for event in transitions.iter().filter_map(AlertEvent::of) {
        let record = Record::json(event.alert.fingerprint.clone(), &event).context("encoding an alert event")?;
        let (after, this) = BusReceipts::ack();
        out.publish(record, after).await.context("publishing an alert event")?;
        receipts.extend(this);
    }
    Ok(receipts)
}

/// Runs until the scored topic closes; then evaluates once more, persists,
/// acknowledges and stops the delivery task (what is not sent stays queued).
pub async fn run(ends: Ends, settings: Settings, handle: AlertHandle) -> anyhow::Result<()> {
    let Ends { mut input, dead, alerts: alerts_out } = ends;
    let AlertHandle { core, outbox, wake, .. } = handle;
    let email = match &settings.smtp {
        Some(cfg) => Some(
            SmtpNotifier::new(cfg, settings.region_name.clone())
                .context("smtp")?
                .with_contact(settings.contact.clone())
                .with_console_url(settings.console_url.clone()),
        ),
        None => None,
    };
    // Someone to tell: a mailbox with a relay to reach it, or a webhook.
    let mails = settings.recipients.iter().any(|r| r.channel == Channel::Webhook || email.is_some());
    if !mails {
        AlertsNotMailed { smtp: settings.smtp.is_some(), recipients: settings.recipients.len() }.emit();
    }
    let mut webhooks = BTreeMap::new();
    for w in &settings.webhooks {
        // The URL's path may carry the receiver's own token: name the host only (S9).
        let host = url::Url::parse(&w.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        let notifier = WebhookNotifier::new(&w.secret_file, w.timeout).with_context(|| format!("webhook to {host}"))?;
        webhooks.insert(w.url.clone(), notifier);
    }
    let baselines: Option<Arc<ArchiveBaselines>> = match &settings.archive_dir {
        Some(dir) => Some(Arc::new(ArchiveBaselines::open(dir)?)),
        None => None,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let notices = undelivered::FailureNotices {
        recipients: settings.recipients.clone(),
        email: email.is_some(),
        clock: settings.clock.clone(),
    };
    let delivery = tokio::spawn(deliver(
        Arc::clone(&outbox),
        Notifiers { email, webhooks },
        notices,
        Arc::clone(&wake),
        stop_rx,
        settings.halted.clone(),
    ));

    report_gauges(&core, settings.clock.now());
    LateArrival::register(&settings.sources);
    DeliveryFailureTold::register();
    let stage = Stage {
        core: Arc::clone(&core),
        outbox,
        wake: Arc::clone(&wake),
        settings: &settings,
        baselines,
        mails,
        alerts_out: alerts_out.clone(),
        events: Mutex::new(BusReceipts::default()),
        withdrawals: Mutex::new(Vec::new()),
        retention: Mutex::new(retention::Schedule::default()),
    };
    let mut acks: Vec<Ack> = Vec::new();
    let mut next_eval = Instant::now() + settings.evaluate_interval;
    // Observed messages wait at most this long for the state save that acknowledges them.
    let mut flush_at: Option<Instant> = None;
    let result = loop {
        let batch = tokio::select! {
            batch = super::next_batch(input.as_mut(), BATCH) => batch,
            () = tokio::time::sleep_until(next_eval) => {
                next_eval = Instant::now() + settings.evaluate_interval;
                flush_at = None;
                if let Err(e) = stage.cycle(true, &mut acks).await {
                    break Err(e);
                }
                continue;
            }
            () = crate::shutdown::sleep_until(flush_at) => {
                flush_at = None;
                if let Err(e) = stage.cycle(false, &mut acks).await {
                    break Err(e);
                }
                continue;
            }
        };
        if batch.is_empty() {
            break stage.cycle(true, &mut acks).await;
        }
        let mut fired = false;
        let now = settings.clock.now();
        let mut count = 0;
        let mut changes: Vec<Transition> = Vec::new();
        for delivery in batch {
            if delivery.origin.topic == Topic::Deletions.name() {
                match super::decode(&delivery.payload, "deletion", |d: &Deletion| d.schema) {
                    Ok(deletion) => {
                        core.lock()
                            .map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?
                            .forget_message(deletion.id.as_str(), now);
                        // What waits in the outbox leaves with it at the next round,
                        // before the save that acknowledges this deletion (the
                        // outbox may be busy delivering now).
                        stage
                            .withdrawals
                            .lock()
                            .map_err(|_| anyhow::anyhow!("alert withdrawals lock poisoned"))?
                            .push(deletion.id.as_str().to_owned());
                        // Saved with the next flush, like an observed message.
                        acks.push(delivery.ack);
                    }
                    Err(reason) => super::dead_letter("alert", dead.as_ref(), delivery, reason).await?,
                }
                continue;
            }
            match super::decode(&delivery.payload, "scored message", |m: &ScoredMessage| m.schema) {
                Ok(message) => {
                    if let Some(late) = LateArrival::of(&message) {
                        late.emit();
                    }
                    let transitions: Vec<Transition> = {
                        let mut core = core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
                        if core.is_withdrawn(message.message.id.as_str()) || core.is_erased(&message.message) {
                            // Deleted at its source, or erased on request, before it got here: not observed at all.
                            acks.push(delivery.ack);
                            continue;
                        }
                        let transitions = core.engine.observe(&message, now);
                        if !transitions.is_empty() {
                            core.mechanics.apply(&transitions, now);
                        }
                        transitions
                    };
                    fired |= !transitions.is_empty();
                    changes.extend(transitions);
                    acks.push(delivery.ack);
                    count += 1;
                }
                Err(reason) => super::dead_letter("alert", dead.as_ref(), delivery, reason).await?,
            }
        }
        StageProcessed { stage: "alert", outcome: "ok", count }.emit();
        match publish_changes(alerts_out.as_ref(), &changes).await {
            Ok(taken) => stage.events.lock().map_err(|_| anyhow::anyhow!("alert events lock poisoned"))?.extend(taken),
            Err(e) => break Err(e),
        }
        // An alert that fires on arrival is told now, not at the next
        // evaluation — when there is someone to tell; otherwise its state is
        // saved with the next flush like any other (a save per batch would
        // cost more than the stage's own work in a flood of alerts).
        if fired && stage.mails {
            flush_at = None;
            if let Err(e) = stage.cycle(false, &mut acks).await {
                break Err(e);
            }
        } else if flush_at.is_none() && !acks.is_empty() {
            flush_at = Some(Instant::now() + settings.ack_within.min(settings.evaluate_interval));
        }
    };
    stop_tx.send_replace(true);
    wake.notify_one();
    if tokio::time::timeout(Duration::from_secs(5), delivery).await.is_err() {
        tracing::warn!("alert delivery did not stop in time; what is not sent stays queued");
    }
    result
}

/// What one round of the stage works on.
struct Stage<'a> {
    core: Arc<Mutex<Core>>,
    outbox: Arc<tokio::sync::Mutex<Outbox>>,
    wake: Arc<Notify>,
    settings: &'a Settings,
    baselines: Option<Arc<ArchiveBaselines>>,
    /// A relay and at least one recipient are configured.
    mails: bool,
    alerts_out: Option<Arc<dyn Publisher>>,
    /// Alert events published since the last save, not yet known to be taken by the bus.
    events: Mutex<BusReceipts>,
    /// Messages deleted at their source since the last round, to withdraw from the outbox.
    withdrawals: Mutex<Vec<String>>,
    /// When retention last ran (it runs in an evaluating round).
    retention: Mutex<retention::Schedule>,
}

impl Stage<'_> {
    /// One round: (optionally) evaluate the rules, let the mechanics decide what
    /// is due, enqueue it per recipient, persist the state, then acknowledge.
    async fn cycle(&self, evaluate: bool, acks: &mut Vec<Ack>) -> anyhow::Result<()> {
        let (core, outbox, wake, settings, mails) = (&self.core, &self.outbox, &self.wake, self.settings, self.mails);
        let baselines = self.baselines.clone();
        let (digest_hour, summary_lead) = (settings.digest_hour, settings.summary_lead);
        let started = std::time::Instant::now();
        let now = settings.clock.now();
        let decided = Arc::clone(core);
        let decided = tokio::task::spawn_blocking(move || -> anyhow::Result<RoundOutcome> {
            let mut guard = decided.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
            let core = &mut *guard;
            if !evaluate {
                return Ok(RoundOutcome { notifications: core.mechanics.tick(now), transitions: Vec::new() });
            }
            let baselines: &dyn BaselineSource = match &baselines {
                Some(b) => b.as_ref(),
                None => &onrust_alert::NoBaseline,
            };
            let round = Round { baselines, summary_lead, digest_hour };
            Ok(round.decide(&mut core.engine, &mut core.mechanics, &mut core.last_digest, now))
        })
        .await
        .context("alert thread failed")??;
        let RoundOutcome { notifications, transitions } = decided;
        let taken = publish_changes(self.alerts_out.as_ref(), &transitions).await?;
        let mut pending =
            std::mem::take(&mut *self.events.lock().map_err(|_| anyhow::anyhow!("alert events lock poisoned"))?);
        pending.extend(taken);

        let withdrawn = std::mem::take(
            &mut *self.withdrawals.lock().map_err(|_| anyhow::anyhow!("alert withdrawals lock poisoned"))?,
        );
        if !withdrawn.is_empty() {
            outbox
                .lock()
                .await
                .withdraw_evidence(&withdrawn)
                .context("withdrawing deleted messages from the outbox")?;
        }
        if let Some(periods) = &settings.retention
            && evaluate
            && self.retention.lock().map_err(|_| anyhow::anyhow!("alert retention lock poisoned"))?.due()
        {
            retention::apply(periods, core, outbox, now).await?;
        }
        let made = notifications.len();
        let mut queued = 0usize;
        if mails {
            let mut outbox = outbox.lock().await;
            let mut core = core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
            let current: Vec<String> = core.mechanics.alerts().map(|a| a.fingerprint.clone()).collect();
            for n in notifications {
                let role = RecipientRole::from(n.recipients_role);
                let to = addresses(&settings.recipients, role, n.municipality.as_ref(), settings.smtp.is_some());
                if to.is_empty() {
                    AlertNobodyToTell { notification: &n }.emit();
                    continue;
                }
                let fingerprint = match n.alerts.as_slice() {
                    [one] => one.fingerprint.clone(),
                    _ => n.id.clone(),
                };
                let sequence = {
                    let s = core.sequences.entry(fingerprint.clone()).or_insert(0);
                    *s += 1;
                    *s
                };
                let rule = n.alerts.first().map(|a| a.rule.clone()).unwrap_or_default();
                let digest = n.reason == NotifyReason::Digest;
                let told = if digest { None } else { Some((role, &core.told)) };
                let items = items(&n.alerts, told, &current);
                if !digest {
                    for a in &n.alerts {
                        core.told.insert(told_key(role, &a.fingerprint), a.clone());
                    }
                }
                let announced = n.alerts.iter().filter_map(|a| a.event_time).min();
                let content = match (n.reason, announced) {
                    (NotifyReason::Digest, _) => {
                        let date = n.at.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
                        Content::Digest { date, items }
                    }
                    (NotifyReason::Summary, Some(event_time)) => Content::Summary { event_time, items },
                    (NotifyReason::ReviewRequested, _) => Content::Review { items },
                    (NotifyReason::Escalated, _) => Content::Escalation { items },
                    _ => Content::Alerts { items },
                };
                for (channel, address) in to {
                    let log_notification = onrust_notify::log::Notification {
                        fingerprint: fingerprint.clone(),
                        sequence,
                        rule: rule.clone(),
                        channel,
                        role,
                        address: address.to_owned(),
                        content: content.clone(),
                    };
                    match outbox.enqueue(log_notification, now) {
                        Ok(true) => {
                            queued += 1;
                            let severity = n.alerts.first().map_or("none", |a| a.severity.as_str());
                            AlertNotificationQueued {
                                rule: &rule,
                                severity,
                                role: role.as_str(),
                                channel: channel.as_str(),
                                reason: n.reason,
                            }
                            .emit();
                        }
                        Ok(false) => {}
                        // An alert that cannot explain itself is never sent (L9); the rest go on.
                        Err(onrust_notify::log::LogError::Invalid { fingerprint, source, .. }) => {
                            AlertUnexplained { fingerprint: &fingerprint, error: &source.to_string() }.emit();
                        }
                        Err(e) => {
                            return Err(e).context("alert outbox write failed; stopping so that no alert is lost");
                        }
                    }
                }
            }
        }
        if queued > 0 {
            wake.notify_one();
        }
        {
            // What was told about an alert the mechanics have forgotten is of no further use.
            let mut core = core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
            let core = &mut *core;
            let active: std::collections::HashSet<&str> =
                core.mechanics.alerts().map(|a| a.fingerprint.as_str()).collect();
            core.told.retain(|key, _| key.split_once(':').is_some_and(|(_, fp)| active.contains(fp)));
        }
        pending
            .wait(super::TAKEN_WITHIN, "alert events not taken by the bus; stopping so that they are published again")
            .await?;
        let saving = Arc::clone(core);
        let dir = settings.dir.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let core = saving.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
            save_state(&dir, &core)
                .context("alert state write failed; stopping so that nothing unsaved is acknowledged")
        })
        .await
        .context("alert thread failed")??;
        report_gauges(core, now);
        let acknowledged = acks.len();
        for ack in acks.drain(..) {
            ack.ack();
        }
        AlertCycle { evaluated: evaluate, notifications: made, queued, acknowledged, took: started.elapsed() }.emit();
        Ok(())
    }
}

/// The items of a notification: each alert with what the role was last
/// told about it (`told`; none for a digest), so the mail can say what
/// changed, and named by an id no other current alert shares (`current`:
/// the fingerprints the alerts API lists), so the `onrust alerts ack <id>`
/// the mail prints names one alert.
fn items(alerts: &[Alert], told: Option<(RecipientRole, &BTreeMap<String, Alert>)>, current: &[String]) -> Vec<Item> {
    alerts
        .iter()
        .map(|a| Item {
            alert: a.clone(),
            previous: told.and_then(|(role, told)| told.get(&told_key(role, &a.fingerprint)).cloned()),
            short_id: Some(
                onrust_alert::unique_short_id(&a.fingerprint, current.iter().map(String::as_str)).to_owned(),
            ),
        })
        .collect()
}

/// Sets the alert gauges (firing per rule and municipality, announced actions ahead) from the state.
fn report_gauges(core: &Mutex<Core>, now: DateTime<Utc>) {
    if let Ok(core) = core.lock() {
        let (rules, alerts) = (core.engine.rules(), core.mechanics.alerts());
        AlertsSnapshot { rules, alerts, calendar: core.engine.calendar(), now }.emit();
    }
}

/// Sends what is due, then sleeps until the next is due or something new is
/// queued. The outbox is locked only to take what is due and to record each
/// outcome, never while a relay or a webhook answers: a slow relay must not
/// stall the stage, which enqueues (and so acknowledges intake) under the
/// same lock, nor the alerts API. A permanent failure is told to the
/// supervisors through another channel ([`undelivered`]), queued before the
/// failure is recorded and sent in the next pass.
///
/// While onrust is halted (`halted`, rule L13) nothing is sent: the task
/// waits for the resume, and attempts taken when the halt came are handed
/// back unmade. The stage goes on enqueueing, so every notification is in
/// the outbox (R8) and goes out after the resume; one attempt already on
/// the wire when the halt comes is finished.
async fn deliver(
    outbox: Arc<tokio::sync::Mutex<Outbox>>,
    notifiers: Notifiers,
    notices: undelivered::FailureNotices,
    wake: Arc<Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
    mut halted: tokio::sync::watch::Receiver<bool>,
) {
    use onrust_notify::log::{Deliver, DeliveryError, Outcome};
    loop {
        if *stop.borrow() {
            return;
        }
        if *halted.borrow_and_update() {
            let mut stopping = stop.clone();
            if !onrust_web::halt::until_running(&mut halted, &mut stopping).await {
                return;
            }
            continue;
        }
        let due = outbox.lock().await.take_due();
        let (mut sent, mut failed) = (0usize, 0usize);
        for attempt in due {
            if *halted.borrow() {
                outbox.lock().await.give_back(attempt);
                continue;
            }
            let result = notifiers.deliver(&attempt.notification).await;
            let mut guard = outbox.lock().await;
            if let Err(DeliveryError::Permanent { code, message }) = &result {
                notices.tell(&mut guard, &attempt.notification, *code, message);
            }
            match guard.record(attempt, &result) {
                Ok(Outcome::Sent) => sent += 1,
                Ok(Outcome::Failed) => failed += 1,
                Ok(Outcome::Retry | Outcome::Requeued) => {}
                Err(e) => tracing::error!(error = %e, "alert notification log write failed; retrying later"),
            }
        }
        if sent + failed > 0 {
            tracing::debug!(sent, failed, "alert notifications delivered");
        }
        let next = outbox.lock().await.next_due();
        let fallback = Instant::now() + Duration::from_secs(60);
        let at = next.unwrap_or(fallback).max(Instant::now() + Duration::from_millis(10));
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            () = wake.notified() => {}
            () = onrust_web::halt::until_halted(&mut halted) => {}
        }
    }
}

/// The `[region]` municipalities as codes (config validation has refused
/// any that is not one), for [`Engine::set_region`] in the stage and the backtest.
pub fn region_codes(municipalities: &[String]) -> Vec<MunicipalityCode> {
    municipalities.iter().filter_map(|m| MunicipalityCode::new(m.as_str()).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_by_role_and_municipality_and_star_for_regional() {
        let utrecht = MunicipalityCode::new("GM0344").expect("code");
        let r = |scope, role, email: &str| RecipientConfig {
            scope,
            role,
            channel: if email.starts_with("https://") { Channel::Webhook } else { Channel::Email },
            address: email.to_owned(),
        };
        let recipients = vec![
            r(RecipientScope::One(utrecht.clone()), RecipientRole::Officer, "oov@utrecht.example"),
            r(RecipientScope::All, RecipientRole::Officer, "regio@oov.example"),
            r(
                RecipientScope::One(MunicipalityCode::new("GM0034").expect("code")),
                RecipientRole::Officer,
                "a@almere.example",
            ),
            r(RecipientScope::One(utrecht.clone()), RecipientRole::Mayor, "bm@utrecht.example"),
            r(RecipientScope::All, RecipientRole::Officer, "https://crisis.example/hook"),
        ];
        let mail = |a: &[(Channel, &str)]| a.iter().map(|(_, s)| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            mail(&addresses(&recipients, RecipientRole::Officer, Some(&utrecht), true)),
            ["oov@utrecht.example", "regio@oov.example", "https://crisis.example/hook"]
        );
        assert_eq!(
            addresses(&recipients, RecipientRole::Officer, None, true),
            [(Channel::Email, "regio@oov.example"), (Channel::Webhook, "https://crisis.example/hook")]
        );
        assert_eq!(
            addresses(&recipients, RecipientRole::Officer, None, false),
            [(Channel::Webhook, "https://crisis.example/hook")],
            "no mailbox without a relay; the webhook still"
        );
        assert_eq!(mail(&addresses(&recipients, RecipientRole::Mayor, Some(&utrecht), true)), ["bm@utrecht.example"]);
        assert!(addresses(&recipients, RecipientRole::Supervisor, Some(&utrecht), true).is_empty());
    }

    /// A period before the archive's oldest bucket is not covered (None, never
    /// a quiet week); a covered one counts per municipality × theme × level.
    #[test]
    fn baselines_come_from_the_archive_and_say_so_when_it_does_not_cover_a_period() {
        use onrust_archive::{ArchiveOptions, ArchiveWriter};
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive");
        let now = Utc::now();
        let mut writer =
            ArchiveWriter::open(&archive, &ArchiveOptions { writer_memory_bytes: 20_000_000, ..Default::default() })
                .expect("archive");
        for i in 0..3 {
            let message = scored(&i.to_string(), Level::Escalation, &format!("vuurwerk op de politie {i}"));
            writer.upsert(&message).expect("upsert");
        }
        writer.commit().expect("commit");
        let baselines = ArchiveBaselines::open(&archive).expect("baselines");
        let long_ago = now - chrono::TimeDelta::days(400);
        assert_eq!(baselines.counts(long_ago, long_ago + chrono::TimeDelta::hours(1), 1), None);
        // From the bucket's start at the earliest, so the test holds across a week boundary too.
        let start = baselines.reader.buckets().expect("buckets").iter().map(|b| b.start).min().expect("a bucket");
        let since = (now - chrono::TimeDelta::hours(1)).max(start);
        let cells = baselines.counts(since, now + chrono::TimeDelta::minutes(1), 1).expect("covered");
        let utrecht = cells
            .iter()
            .find(|c| c.municipality.as_deref() == Some("GM0344") && c.theme.as_deref() == Some("jaarwisseling"))
            .expect("a cell for Utrecht");
        assert_eq!((utrecht.level, utrecht.messages), (3, 3));
    }

    /// The stage's settings for a test: nobody to tell, no archive, Utrecht named.
    fn test_settings(dir: &Path, rules: Vec<Rule>, clock: Clock, evaluate_interval: Duration) -> Settings {
        Settings {
            rules,
            recipients: Vec::new(),
            webhooks: Vec::new(),
            smtp: None,
            region_name: "Midden-Nederland".into(),
            region: vec![MunicipalityCode::new("GM0344").expect("code")],
            contact: None,
            console_url: None,
            sources: vec!["forum".into()],
            evaluate_interval,
            digest_hour: 7,
            summary_lead: chrono::TimeDelta::hours(24),
            dir: dir.join("alerts"),
            archive_dir: None,
            names: vec![(MunicipalityCode::new("GM0344").expect("code"), "Utrecht".into())],
            retry: RetryPolicy::default(),
            retention: None,
            ack_within: Duration::from_millis(50),
            halted: tokio::sync::watch::channel(false).1,
            clock,
        }
    }

    pub(super) fn scored(id: &str, level: Level, text: &str) -> ScoredMessage {
        use onrust_model::{MessageId, RawMessage, SCHEMA_VERSION, SourceId, SourceKind};
        let source = SourceId::new("forum").expect("id");
        ScoredMessage {
            schema: SCHEMA_VERSION,
            message: RawMessage {
                schema: SCHEMA_VERSION,
                id: MessageId::derive(&source, id),
                source,
                source_kind: SourceKind::Feed,
                url: Some(format!("https://forum.example/{id}")),
                title: None,
                text: text.to_owned(),
                published_at: Some(Utc::now().fixed_offset()),
                fetched_at: Utc::now(),
                author: None,
                lang_hint: None,
            },
            assessment: onrust_model::Assessment {
                lang: Some("nl".into()),
                level,
                score: 0.95,
                themes: vec!["jaarwisseling".into()],
                municipalities: vec![MunicipalityCode::new("GM0344").expect("code")],
                places: Vec::new(),
                event_time: None,
                explanation: vec![onrust_model::Signal {
                    signal: "call_to_violence".into(),
                    weight: 2.0,
                    evidence: "gooi vuurwerk naar de politie".into(),
                }],
                classifier_version: "test".into(),
            },
        }
    }

    /// The stage puts every alert it fires on `onrust.alerts.v1`, keyed by
    /// fingerprint, with its schema version; an unrelated message puts nothing there.
    #[tokio::test]
    async fn fired_alerts_are_published_on_the_alerts_topic() {
        use onrust_bus::{Bus, EmbeddedBus, EmbeddedOptions, Topic};
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = onrust_alert::validate(&[onrust_alert::RuleConfig {
            name: "oproep-tot-geweld".into(),
            kind: Some(onrust_alert::RuleKind::Critical),
            group_wait: Some("0s".into()),
            ..onrust_alert::RuleConfig::default()
        }])
        .expect("rules");
        let settings = test_settings(dir.path(), rules, Clock::system(), Duration::from_secs(3600));
        let bus = EmbeddedBus::new(EmbeddedOptions {
            capacity: 16,
            deadletter_path: Some(dir.path().join("deadletter.jsonl")),
        });
        let input = bus.subscribe(Topic::Scored, "alert").expect("subscribe");
        let mut published = bus.subscribe(Topic::Alerts, "test").expect("subscribe");
        let ends = Ends {
            input,
            dead: bus.publisher(Topic::DeadLetter).expect("dead letters"),
            alerts: Some(bus.publisher(Topic::Alerts).expect("alerts")),
        };
        let scored_out = bus.publisher(Topic::Scored).expect("scored");
        bus.seal();
        let handle = AlertHandle::open(&settings).expect("state");
        let stage = tokio::spawn(run(ends, settings, handle));

        let calm = scored("m0", Level::None, "Oliebollen op de markt");
        scored_out.publish(Record::json("GM0344", &calm).expect("json"), Ack::none()).await.expect("publish");
        let call = scored("m1", Level::Escalation, "Oudjaarsavond gooien we vuurwerk naar de politie");
        scored_out.publish(Record::json("GM0344", &call).expect("json"), Ack::none()).await.expect("publish");
        let delivery = tokio::time::timeout(Duration::from_secs(10), published.recv())
            .await
            .expect("an alert event within 10 s")
            .expect("the topic is open");
        let event: AlertEvent = serde_json::from_slice(&delivery.payload).expect("an alert event");
        let key = delivery.key.clone();
        // The stage saves the state that fired the alert only once the bus has taken its event.
        let state = dir.path().join("alerts").join(STATE_FILE);
        let saved = || std::fs::read_to_string(&state).unwrap_or_default().contains(&event.alert.fingerprint);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!saved(), "state saved before the bus took the alert event");
        delivery.ack.ack();
        for _ in 0..100 {
            if saved() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(saved(), "state saved once the event is taken");
        assert_eq!(event.schema, onrust_alert::ALERT_EVENT_SCHEMA);
        assert_eq!(event.kind, onrust_alert::TransitionKind::Firing);
        assert_eq!(key, event.alert.fingerprint, "keyed by fingerprint (docs/ARCHITECTURE.md, Topics)");
        assert_eq!(event.alert.rule, "oproep-tot-geweld");
        assert_eq!(event.alert.municipality.as_ref().map(MunicipalityCode::as_str), Some("GM0344"));
        assert!(event.alert.evidence.iter().any(|e| e.excerpt.contains("vuurwerk naar de politie")));
        drop(scored_out);
        stage.await.expect("no panic").expect("the stage ends cleanly");
        let more = tokio::time::timeout(Duration::from_millis(300), published.recv()).await;
        assert!(!matches!(more, Ok(Some(_))), "one alert, one event; the calm message none");
    }

    /// The stage on the embedded bus with tokio's clock (paused in these
    /// tests), an officer's and a supervisor's webhook (nothing listens: what
    /// counts is what the stage puts in the outbox, and when).
    struct Harness {
        scored: Arc<dyn Publisher>,
        deletions: Arc<dyn Publisher>,
        handle: AlertHandle,
        clock: Clock,
        dir: tempfile::TempDir,
        _stage: tokio::task::JoinHandle<anyhow::Result<()>>,
        _bus: onrust_bus::EmbeddedBus,
    }

    /// What the stage put in the outbox: (role, fingerprints, rules, municipalities, enqueued at).
    type Queued = (String, Vec<String>, Vec<String>, Vec<Option<String>>, DateTime<Utc>);

    impl Harness {
        fn start(rules: &[onrust_alert::RuleConfig]) -> Self {
            use onrust_bus::{Bus, EmbeddedBus, EmbeddedOptions, Topic};
            let dir = tempfile::tempdir().expect("tempdir");
            let key = dir.path().join("hook.key");
            std::fs::write(&key, "sleutel").expect("key");
            let hook = |role: RecipientRole| RecipientConfig {
                scope: RecipientScope::All,
                role,
                channel: Channel::Webhook,
                address: format!("http://127.0.0.1:9/{}", role.as_str()),
            };
            let webhooks = [RecipientRole::Officer, RecipientRole::Supervisor]
                .map(|r| WebhookConfig {
                    url: format!("http://127.0.0.1:9/{}", r.as_str()),
                    secret_file: key.clone(),
                    timeout: Duration::from_secs(1),
                })
                .to_vec();
            let start = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 30, 20, 0, 0).single().expect("time");
            let clock = Clock::tokio(start);
            let rules = onrust_alert::validate(rules).expect("rules");
            let settings = Settings {
                recipients: vec![hook(RecipientRole::Officer), hook(RecipientRole::Supervisor)],
                webhooks,
                ..test_settings(dir.path(), rules, clock.clone(), Duration::from_secs(10))
            };
            let bus = EmbeddedBus::new(EmbeddedOptions {
                capacity: 16,
                deadletter_path: Some(dir.path().join("deadletter.jsonl")),
            });
            let input = Box::new(onrust_bus::Merged::new(
                bus.subscribe(Topic::Scored, "alert").expect("subscribe"),
                bus.subscribe(Topic::Deletions, "alert").expect("subscribe"),
            ));
            let ends = Ends { input, dead: bus.publisher(Topic::DeadLetter).expect("dead"), alerts: None };
            let scored = bus.publisher(Topic::Scored).expect("scored");
            let deletions = bus.publisher(Topic::Deletions).expect("deletions");
            bus.seal();
            let handle = AlertHandle::open(&settings).expect("state");
            let stage = tokio::spawn(run(ends, settings, handle.clone()));
            Self { scored, deletions, handle, clock, dir, _stage: stage, _bus: bus }
        }

        /// The message `id` (as [`scored`] names it) is deleted at its source.
        async fn delete(&self, id: &str) {
            let source = onrust_model::SourceId::new("forum").expect("source");
            let deletion = onrust_model::Deletion {
                schema: onrust_model::SCHEMA_VERSION,
                id: onrust_model::MessageId::derive(&source, id),
                source,
                source_kind: onrust_model::SourceKind::Bluesky,
                deleted_at: self.clock.now(),
            };
            self.deletions.publish(Record::json("test", &deletion).expect("json"), Ack::none()).await.expect("publish");
        }

        /// The evidence of every alert: the name [`scored`] was given, and whether it still quotes the message.
        fn evidence(&self) -> Vec<(String, bool)> {
            let source = onrust_model::SourceId::new("forum").expect("source");
            let name = |id: &str| {
                ["vooraf", "blijft", "weg"]
                    .into_iter()
                    .find(|n| onrust_model::MessageId::derive(&source, n).as_str() == id)
                    .unwrap_or("?")
                    .to_owned()
            };
            let alerts = self.handle.list().expect("alerts");
            let mut evidence: Vec<(String, bool)> = alerts
                .iter()
                .flat_map(|a| a.evidence.iter())
                .map(|e| (name(&e.message_id), e.excerpt != onrust_alert::WITHDRAWN_EXCERPT && e.url.is_some()))
                .collect();
            evidence.sort();
            evidence
        }

        /// A message about Utrecht at `level`, published now (by the stage's clock).
        async fn send(&self, id: &str, level: Level) {
            let mut m = scored(id, level, "Oudjaarsavond gooien we vuurwerk naar de politie");
            m.message.published_at = Some(self.clock.now().fixed_offset());
            m.message.fetched_at = self.clock.now();
            self.scored.publish(Record::json("GM0344", &m).expect("json"), Ack::none()).await.expect("publish");
        }

        fn queued(&self) -> Vec<Queued> {
            let text = std::fs::read_to_string(self.dir.path().join("alerts/outbox.jsonl")).unwrap_or_default();
            text.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .map(|line| {
                    let n = &line["notification"];
                    let items = n["content"]["items"].as_array().cloned().unwrap_or_default();
                    let field = |k: &str| -> Vec<String> {
                        items.iter().map(|i| i["alert"][k].as_str().unwrap_or_default().to_owned()).collect()
                    };
                    let places = items.iter().map(|i| i["alert"]["municipality"].as_str().map(str::to_owned)).collect();
                    let at = line["enqueued_at"].as_str().and_then(|t| t.parse().ok()).unwrap_or_default();
                    (n["role"].as_str().unwrap_or_default().to_owned(), field("fingerprint"), field("rule"), places, at)
                })
                .collect()
        }

        fn queued_for(&self, role: &str) -> Vec<Queued> {
            self.queued().into_iter().filter(|q| q.0 == role).collect()
        }

        fn elapsed_min(&self, at: DateTime<Utc>) -> i64 {
            let start = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 30, 20, 0, 0).single().expect("time");
            (at - start).num_minutes()
        }
    }

    /// A critical rule without the mayor's review, so a supervisor hears of
    /// its alerts only by escalation.
    pub(super) fn critical(escalate_after: Option<&str>) -> onrust_alert::RuleConfig {
        onrust_alert::RuleConfig {
            name: "oproep-tot-geweld".into(),
            kind: Some(onrust_alert::RuleKind::Critical),
            window: Some("2h".into()),
            group_wait: Some("0s".into()),
            escalate_after: escalate_after.map(str::to_owned),
            review: Some(false),
            ..onrust_alert::RuleConfig::default()
        }
    }

    async fn minutes(n: u64) {
        tokio::time::sleep(Duration::from_secs(60 * n)).await;
    }

    /// A message deleted at its source leaves the alert's evidence and what
    /// waits in the outbox; one whose deletion overtook it is never observed.
    #[tokio::test(start_paused = true)]
    async fn a_deleted_message_leaves_the_evidence_and_one_deleted_first_is_never_seen() {
        let h = Harness::start(&[critical(None)]);
        h.delete("vooraf").await;
        minutes(1).await;
        h.send("vooraf", Level::Escalation).await;
        minutes(1).await;
        assert!(h.handle.list().expect("alerts").is_empty(), "deleted before it arrived: no alert");

        h.send("blijft", Level::Escalation).await;
        h.send("weg", Level::Escalation).await;
        minutes(1).await;
        let quoted = |name: &str, quotes: bool| (name.to_owned(), quotes);
        assert_eq!(h.evidence(), [quoted("blijft", true), quoted("weg", true)]);
        let outbox = std::fs::read_to_string(h.dir.path().join("alerts/outbox.jsonl")).unwrap_or_default();
        assert!(outbox.contains("forum.example/weg"), "queued with the message: {outbox}");
        h.delete("weg").await;
        minutes(1).await;
        assert_eq!(h.evidence(), [quoted("blijft", true), quoted("weg", false)], "withdrawn, not dropped (L9)");
        let outbox = std::fs::read_to_string(h.dir.path().join("alerts/outbox.jsonl")).unwrap_or_default();
        let weg = onrust_model::MessageId::derive(&onrust_model::SourceId::new("forum").expect("source"), "weg");
        assert!(outbox.contains("forum.example/blijft"), "the outbox holds the alert: {outbox}");
        assert!(!outbox.contains("forum.example/weg"), "nothing waiting to be sent still quotes it: {outbox}");
        // The stage remembers it across a restart of its state.
        let state = std::fs::read_to_string(h.dir.path().join("alerts").join(STATE_FILE)).expect("state");
        let file: StateFile = serde_json::from_str(&state).expect("state file");
        assert!(file.withdrawn.contains(weg.as_str()));
    }

    /// L3: a message erased on request that reaches the stage afterwards
    /// (it was past the forwarder) is not observed, by its id or its link.
    #[tokio::test(start_paused = true)]
    async fn a_message_erased_on_its_way_is_not_observed() {
        let h = Harness::start(&[critical(None)]);
        let erased = Arc::new(crate::erasure::tombstones::Tombstones::open(h.dir.path()).expect("tombstones"));
        let by_id = onrust_model::MessageId::derive(&onrust_model::SourceId::new("forum").expect("source"), "gewist");
        erased.add(&[by_id.as_str().to_owned()], Some("https://forum.example/ook-gewist")).expect("tombstone");
        h.handle.refuse_erased(erased).expect("tombstones");
        h.send("gewist", Level::Escalation).await;
        h.send("ook-gewist", Level::Escalation).await;
        minutes(1).await;
        assert!(h.handle.list().expect("alerts").is_empty(), "neither is observed");
        h.send("blijft", Level::Escalation).await;
        minutes(1).await;
        assert_eq!(h.evidence(), [("blijft".to_owned(), true)], "the rest is");
    }

    /// A silence holds the officer's notification back until it ends; then
    /// the still-firing alert is told.
    #[tokio::test(start_paused = true)]
    async fn a_silence_holds_notifications_back_until_it_ends() {
        let h = Harness::start(&[critical(None)]);
        let matcher = onrust_alert::Matcher { label: "municipality".into(), value: "GM0344".into(), negate: false };
        let request = SilenceRequest {
            matchers: vec![matcher],
            reason: "bekende manifestatie, politie ter plaatse".into(),
            owner: "chef-van-dienst".into(),
            ends_at: h.clock.now() + chrono::TimeDelta::minutes(30),
        };
        h.handle.silence(request).expect("silence");
        h.send("m1", Level::Escalation).await;
        minutes(20).await;
        assert!(h.queued_for("officer").is_empty(), "silenced: {:?}", h.queued());
        minutes(15).await;
        let told = h.queued_for("officer");
        assert_eq!(told.len(), 1, "told once the silence ended: {told:?}");
        assert!((30..=31).contains(&h.elapsed_min(told[0].4)), "at its end, not before: {told:?}");
    }

    /// A regional alert holds back its municipal copy of the same kind and
    /// severity; a more severe municipal one still goes out.
    #[tokio::test(start_paused = true)]
    async fn a_regional_alert_inhibits_its_municipal_copy_unless_that_is_more_severe() {
        let threshold =
            |name: &str, per: onrust_alert::Scope, severity: onrust_alert::Severity| onrust_alert::RuleConfig {
                name: name.into(),
                kind: Some(onrust_alert::RuleKind::Threshold),
                severity: Some(severity),
                count: Some(2),
                window: Some("1h".into()),
                per: Some(per),
                group_wait: Some("0s".into()),
                ..onrust_alert::RuleConfig::default()
            };
        use onrust_alert::{Scope, Severity};
        let h = Harness::start(&[
            threshold("mobilisatie-regio", Scope::Region, Severity::Warning),
            threshold("mobilisatie", Scope::Municipality, Severity::Warning),
            threshold("mobilisatie-ernstig", Scope::Municipality, Severity::Critical),
        ]);
        h.send("m1", Level::Mobilisation).await;
        h.send("m2", Level::Mobilisation).await;
        minutes(2).await;
        let rules: Vec<String> = h.queued_for("officer").into_iter().flat_map(|q| q.2).collect();
        assert!(rules.contains(&"mobilisatie-regio".to_owned()), "the regional alert is told: {rules:?}");
        assert!(rules.contains(&"mobilisatie-ernstig".to_owned()), "more severe than the regional: {rules:?}");
        assert!(!rules.contains(&"mobilisatie".to_owned()), "the municipal copy is held back: {rules:?}");
        let regional = h.queued_for("officer").into_iter().find(|q| q.2 == ["mobilisatie-regio"]).expect("regional");
        assert_eq!(regional.3, [None], "regional: no municipality");
    }

    /// An acknowledged alert is not escalated; one nobody acknowledges goes to
    /// the supervisor after `escalate_after`, once.
    #[tokio::test(start_paused = true)]
    async fn acknowledgement_stops_escalation_and_silence_of_the_officers_escalates() {
        let acked = Harness::start(&[critical(Some("30m"))]);
        acked.send("m1", Level::Escalation).await;
        minutes(1).await;
        let told = acked.queued_for("officer");
        assert_eq!(told.len(), 1, "{told:?}");
        let fingerprint = told[0].1[0].clone();
        minutes(9).await;
        let alert = acked.handle.acknowledge(&fingerprint, "oov-utrecht", "ME ingelicht").expect("ack");
        assert_eq!(alert.acknowledged_by.as_deref(), Some("oov-utrecht"));
        minutes(40).await;
        assert!(acked.queued_for("supervisor").is_empty(), "acknowledged: no escalation {:?}", acked.queued());

        let ignored = Harness::start(&[critical(Some("30m"))]);
        ignored.send("m1", Level::Escalation).await;
        minutes(25).await;
        assert!(ignored.queued_for("supervisor").is_empty(), "not before escalate_after: {:?}", ignored.queued());
        minutes(10).await;
        let escalated = ignored.queued_for("supervisor");
        assert_eq!(escalated.len(), 1, "{:?}", ignored.queued());
        assert!((30..=31).contains(&ignored.elapsed_min(escalated[0].4)), "{escalated:?}");
        minutes(60).await;
        assert_eq!(ignored.queued_for("supervisor").len(), 1, "once");
    }

    /// A webhook receiver on loopback that answers 204 only after `delay`;
    /// the instants at which requests arrived.
    fn slow_receiver(delay: Duration) -> (String, Arc<Mutex<Vec<std::time::Instant>>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let seen: Arc<Mutex<Vec<std::time::Instant>>> = Arc::default();
        let calls = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let calls = Arc::clone(&calls);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    let _ = stream.read(&mut buf);
                    calls.lock().expect("calls").push(std::time::Instant::now());
                    std::thread::sleep(delay);
                    let _ =
                        stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                });
            }
        });
        (url, seen)
    }

    /// Issue 20, item 5: while a relay takes 10 s to answer, the stage still
    /// takes in messages (a new alert is queued and its message acknowledged)
    /// and the API still acknowledges alerts: the outbox is not locked over
    /// the network.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_relay_that_answers_after_ten_seconds_holds_up_neither_intake_nor_acknowledgements() {
        use onrust_bus::{Bus, EmbeddedBus, EmbeddedOptions, Topic};
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, calls) = slow_receiver(Duration::from_secs(10));
        let key = dir.path().join("hook.key");
        std::fs::write(&key, "sleutel").expect("key");
        let rules = onrust_alert::validate(&[critical(None)]).expect("rules");
        let settings = Settings {
            recipients: vec![RecipientConfig {
                scope: RecipientScope::All,
                role: RecipientRole::Officer,
                channel: Channel::Webhook,
                address: url.clone(),
            }],
            webhooks: vec![WebhookConfig { url, secret_file: key, timeout: Duration::from_secs(30) }],
            names: ["GM0344 Utrecht", "GM0307 Amersfoort"]
                .map(|n| (MunicipalityCode::new(&n[..6]).expect("code"), n[7..].to_owned()))
                .to_vec(),
            ..test_settings(dir.path(), rules, Clock::system(), Duration::from_secs(3600))
        };
        let bus = EmbeddedBus::new(EmbeddedOptions {
            capacity: 16,
            deadletter_path: Some(dir.path().join("deadletter.jsonl")),
        });
        let ends = Ends {
            input: bus.subscribe(Topic::Scored, "alert").expect("subscribe"),
            dead: bus.publisher(Topic::DeadLetter).expect("dead letters"),
            alerts: None,
        };
        let scored_out = bus.publisher(Topic::Scored).expect("scored");
        bus.seal();
        let handle = AlertHandle::open(&settings).expect("state");
        let stage = tokio::spawn(run(ends, settings, handle.clone()));

        let first = scored("m1", Level::Escalation, "Oudjaarsavond gooien we vuurwerk naar de politie");
        scored_out.publish(Record::json("GM0344", &first).expect("json"), Ack::none()).await.expect("publish");
        let waited = std::time::Instant::now();
        while calls.lock().expect("calls").is_empty() {
            assert!(waited.elapsed() < Duration::from_secs(10), "the relay was never called");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let relay_busy_since = std::time::Instant::now();

        // Intake: a call in another municipality is taken in, its alert queued and its message acknowledged.
        let mut second = scored("m2", Level::Escalation, "Oudjaarsavond gooien we vuurwerk naar de politie");
        second.assessment.municipalities = vec![MunicipalityCode::new("GM0307").expect("code")];
        let (acked_tx, acked_rx) = tokio::sync::oneshot::channel();
        let ack = Ack::new(move |ok| {
            let _ = acked_tx.send(ok);
        });
        scored_out.publish(Record::json("GM0307", &second).expect("json"), ack).await.expect("publish");
        let acked = tokio::time::timeout(Duration::from_secs(5), acked_rx).await;
        assert!(matches!(acked, Ok(Ok(true))), "the second message was not acknowledged while the relay answered");
        let outbox = std::fs::read_to_string(dir.path().join("alerts/outbox.jsonl")).expect("outbox");
        assert_eq!(outbox.lines().count(), 2, "the second alert is queued meanwhile: {outbox}");
        // Acknowledgements through the API.
        let fingerprint = handle
            .list()
            .expect("alerts")
            .iter()
            .find(|a| a.municipality.as_ref().is_some_and(|m| m.as_str() == "GM0344"))
            .map(|a| a.fingerprint.clone())
            .expect("Utrecht's alert");
        let asked = std::time::Instant::now();
        handle.acknowledge(&fingerprint, "oov-utrecht", "ME ingelicht").expect("ack");
        assert!(asked.elapsed() < Duration::from_secs(1), "acknowledging took {:?}", asked.elapsed());
        let meanwhile = relay_busy_since.elapsed();
        eprintln!("intake and acknowledgement done {} ms into a 10 s relay answer", meanwhile.as_millis());
        assert!(meanwhile < Duration::from_secs(8), "all this happened while the relay was still answering");
        assert_eq!(calls.lock().expect("calls").len(), 1, "still the first call in flight");
        // Once the relay answers, the second notification goes out too.
        let waited = std::time::Instant::now();
        while calls.lock().expect("calls").len() < 2 {
            assert!(waited.elapsed() < Duration::from_secs(20), "the second notification never went out");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(scored_out);
        stage.abort();
    }

    /// Issue 16: the id a mail prints names one alert among those current.
    /// Two share their first 9 characters: each is named by 10, which the
    /// CLI's lookup (`onrust alerts ack <id>`) resolves to it, where 8 would
    /// be refused as ambiguous; an alert alone keeps its 8.
    #[test]
    fn a_mail_names_each_alert_by_an_id_no_other_current_alert_shares() {
        let rules = onrust_alert::validate(&[critical(None)]).expect("rules");
        let mut engine = Engine::new(rules);
        let now = Utc::now();
        let transitions = engine.observe(&scored("m1", Level::Escalation, "Gooi vuurwerk naar de politie"), now);
        let alert = transitions.first().map(|t| t.alert.clone()).expect("an alert");
        let named =
            |fingerprint: String| Alert { fingerprint, municipality_name: Some("Utrecht".into()), ..alert.clone() };
        let (first, second, alone) = (
            named(format!("3f9a0c1e7{}", "a".repeat(55))),
            named(format!("3f9a0c1e7{}", "b".repeat(55))),
            named(format!("01234567{}", "c".repeat(56))),
        );
        let current = [&first, &second, &alone].map(|a| a.fingerprint.clone()).to_vec();
        let made = items(&[first.clone(), alone.clone()], None, &current);
        assert_eq!(made.iter().map(Item::short_id).collect::<Vec<_>>(), ["3f9a0c1e7a", "01234567"]);
        let ctx = onrust_alert::render::email::MailContext {
            role: RecipientRole::Officer,
            region_name: "Midden-Nederland".into(),
            contact: None,
            console_url: None,
        };
        let mail = onrust_alert::render::email::render_alert(
            onrust_alert::render::email::MailItem {
                alert: &made[0].alert,
                previous: None,
                short_id: made[0].short_id(),
            },
            &ctx,
        )
        .expect("mail");
        assert!(mail.text.contains("onrust alerts ack 3f9a0c1e7a --reason"), "{}", mail.text);
        let resolved = crate::commands::alerts::unique_prefix("3f9a0c1e7a", &current).expect("one alert");
        assert_eq!(resolved, first.fingerprint);
        assert!(crate::commands::alerts::unique_prefix("3f9a0c1e", &current).is_err(), "8 would name two");
        // What the role was told before comes along, for "what changed".
        let mut told = BTreeMap::new();
        told.insert(told_key(RecipientRole::Officer, &first.fingerprint), first.clone());
        let again = items(std::slice::from_ref(&first), Some((RecipientRole::Officer, &told)), &current);
        assert_eq!(again[0].previous.as_ref().map(|p| p.fingerprint.as_str()), Some(first.fingerprint.as_str()));
        assert!(items(&[first], Some((RecipientRole::Mayor, &told)), &current)[0].previous.is_none());
    }

    /// Issue 16: a silence for a municipality the region does not have
    /// would silence nothing, quietly: refused, naming it. One written as
    /// people write it is the municipality, and so are the unplaced and the
    /// region-wide alerts' labels.
    #[test]
    fn a_silence_names_a_municipality_of_the_region_or_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = onrust_alert::validate(&[critical(None)]).expect("rules");
        let handle = AlertHandle::open(&test_settings(dir.path(), rules, Clock::system(), Duration::from_secs(60)))
            .expect("handle");
        let silence = |value: &str| SilenceRequest {
            matchers: vec![onrust_alert::Matcher { label: "municipality".into(), value: value.into(), negate: false }],
            reason: "bekende manifestatie".into(),
            owner: "chef-van-dienst".into(),
            ends_at: Utc::now() + chrono::TimeDelta::hours(2),
        };
        for unknown in ["GM9999", "GM0307", "Utrecht"] {
            let err = handle.silence(silence(unknown)).expect_err(unknown).to_string();
            assert!(err.contains(&format!("{unknown:?} is no municipality of the region")), "{err}");
        }
        for known in ["0344", "onbekend", ""] {
            handle.silence(silence(known)).unwrap_or_else(|e| panic!("{known}: {e}"));
        }
        let values: Vec<String> =
            handle.silences().expect("silences").into_iter().map(|s| s.matchers[0].value.clone()).collect();
        assert!(values.contains(&"GM0344".to_owned()), "written as the alerts carry it: {values:?}");
        assert_eq!(values.len(), 3);
    }

    #[test]
    fn state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = onrust_alert::validate(&[onrust_alert::RuleConfig {
            name: "oproep-tot-geweld".into(),
            kind: Some(onrust_alert::RuleKind::Critical),
            ..onrust_alert::RuleConfig::default()
        }])
        .expect("rules");
        let mut core = load_state(dir.path(), &rules, Utc::now()).expect("fresh");
        assert!(core.last_digest.is_some(), "no digest on the very first start");
        core.sequences.insert("abc".to_owned(), 2);
        core.last_digest = NaiveDate::from_ymd_opt(2026, 12, 30);
        save_state(dir.path(), &core).expect("save");
        let core = load_state(dir.path(), &rules, Utc::now()).expect("restore");
        assert_eq!(core.sequences.get("abc"), Some(&2));
        assert_eq!(core.last_digest, NaiveDate::from_ymd_opt(2026, 12, 30));
        assert!(!dir.path().join("state.json.tmp").exists());
    }
}
