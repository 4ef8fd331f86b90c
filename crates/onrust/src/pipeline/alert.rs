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
//! The order is what makes a restart safe (R1): notifications are enqueued,
//! then the [`AlertState`] is written (temporary file, fsync, rename), and
//! only then are the observed messages acknowledged. A crash before the state
//! is written replays the messages into the old state; the same transitions
//! give the same notification keys, which the outbox already knows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use onrust_alert::notify::log::{Content, Item, Outbox, RetryPolicy};
use onrust_alert::notify::smtp::{SmtpConfig, SmtpNotifier};
use onrust_alert::notify::{Channel, Notifiers, RecipientRole};
use onrust_alert::{
    Alert, AlertState, BaselineSource, CountCell, Engine, Mechanics, Notification, NotifyReason, Role, Rule,
    SilenceRequest, Transition,
};
use onrust_archive::{ArchiveReader, CountRequest};
use onrust_bus::{Ack, Publisher, Subscriber};
use onrust_model::{Level, MunicipalityCode, ScoredMessage};
use onrust_web::alerts::{AlertBackend, AlertBackendError};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::{RecipientConfig, RecipientScope};
use crate::internal_events::{
    AlertAcknowledged, AlertCycle, AlertNotificationQueued, AlertUnexplained, AlertsNotMailed, AlertsSnapshot,
    StageProcessed,
};

const BATCH: usize = 1024;
/// How long before an announced action the joint summary goes out.
const SUMMARY_LEAD: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// From this hour (Europe/Amsterdam) the mayors' daily digest goes out.
const DIGEST_HOUR: u32 = 7;
pub const STATE_FILE: &str = "state.json";

/// Everything the stage needs besides its bus ends.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: Vec<Rule>,
    pub recipients: Vec<RecipientConfig>,
    pub smtp: Option<SmtpConfig>,
    /// How the region is named in mail ("Midden-Nederland").
    pub region_name: String,
    pub evaluate_interval: Duration,
    /// `<data_dir>/alerts`: state, outbox, notification log.
    pub dir: PathBuf,
    /// The archive to read baselines from; `None`: bursts cannot be judged.
    pub archive_dir: Option<PathBuf>,
    /// Municipality names by CBS code, for the mail.
    pub names: Vec<(MunicipalityCode, String)>,
    pub retry: RetryPolicy,
    /// Observed messages are acknowledged (after a state save) within this
    /// time, so source cursors wait no longer on alerting than on the archive
    /// (the daemon passes `archive.commit_interval`), not for the next evaluation.
    pub ack_within: Duration,
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
}

struct Core {
    engine: Engine,
    mechanics: Mechanics,
    sequences: BTreeMap<String, u64>,
    last_digest: Option<NaiveDate>,
}

/// Reads the persisted state, or starts empty when there is none.
fn load_state(dir: &Path, rules: &[Rule]) -> anyhow::Result<Core> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let file: StateFile = serde_json::from_slice(&bytes)
                .with_context(|| format!("alert state {} is not readable", path.display()))?;
            let (engine, mechanics) = file
                .state
                .restore(rules.to_vec())
                .with_context(|| format!("alert state {} cannot be restored", path.display()))?;
            Ok(Core { engine, mechanics, sequences: file.sequences, last_digest: file.last_digest })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The first digest goes out the morning after the first start, not at once.
            let today = Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
            Ok(Core {
                engine: Engine::new(rules.to_vec()),
                mechanics: Mechanics::new(rules),
                sequences: BTreeMap::new(),
                last_digest: Some(today),
            })
        }
        Err(e) => Err(e).with_context(|| format!("cannot read alert state {}", path.display())),
    }
}

/// Writes the state atomically: a temporary file, fsynced, renamed over the old one, the folder fsynced.
fn save_state(dir: &Path, core: &Core) -> anyhow::Result<()> {
    let file = StateFile {
        state: AlertState::capture(&core.engine, &core.mechanics),
        sequences: core.sequences.clone(),
        last_digest: core.last_digest,
    };
    let body = serde_json::to_vec(&file).context("serialising alert state")?;
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&body).and_then(|()| f.sync_all()).with_context(|| format!("cannot write {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync {}", dir.display()))?;
    Ok(())
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
        let buckets = match self.reader.buckets() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list archive buckets for a baseline");
                return None;
            }
        };
        let oldest = buckets.iter().map(|b| b.start).min()?;
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

fn recipient_role(role: Role) -> RecipientRole {
    match role {
        Role::Officer => RecipientRole::Officer,
        Role::Supervisor => RecipientRole::Supervisor,
        Role::Mayor => RecipientRole::Mayor,
    }
}

/// The configured addresses for a notification: its role, and its municipality
/// or `"*"`; a regional notification (no municipality) goes to `"*"` only.
pub fn addresses<'a>(
    recipients: &'a [RecipientConfig],
    role: RecipientRole,
    municipality: Option<&MunicipalityCode>,
) -> Vec<&'a str> {
    let mut out: Vec<&str> = recipients
        .iter()
        .filter(|r| r.role == role)
        .filter(|r| match (&r.scope, municipality) {
            (RecipientScope::All, _) => true,
            (RecipientScope::One(code), Some(m)) => code == m,
            (RecipientScope::One(_), None) => false,
        })
        .map(|r| r.email.as_str())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The alert state shared by the stage and the alerts API: every change the
/// API makes is saved (under the same lock the stage saves under) before it
/// is answered, and told at the stage's next round.
#[derive(Clone)]
pub struct AlertHandle {
    core: Arc<Mutex<Core>>,
    dir: PathBuf,
}

impl AlertHandle {
    /// Restores the persisted state (or starts empty) and names the municipalities.
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.dir)
            .with_context(|| format!("cannot create the alerts folder {}", settings.dir.display()))?;
        let mut core = load_state(&settings.dir, &settings.rules)?;
        core.engine.set_municipality_names(settings.names.clone());
        Ok(Self { core: Arc::new(Mutex::new(core)), dir: settings.dir.clone() })
    }

    fn change<T>(
        &self,
        f: impl FnOnce(&mut Mechanics, DateTime<Utc>) -> Result<T, onrust_alert::MechanicsError>,
    ) -> Result<T, AlertBackendError> {
        let mut core = self.core.lock().map_err(|_| AlertBackendError::Unavailable("lock poisoned".into()))?;
        let out = f(&mut core.mechanics, Utc::now())?;
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
    fn confirm(&self, fingerprint: &str, who: &str) -> Result<Alert, AlertBackendError> {
        self.change(|m, now| m.confirm(fingerprint, who, now))
    }
    fn acknowledge(&self, fingerprint: &str, who: &str, comment: &str) -> Result<Alert, AlertBackendError> {
        let alert = self.change(|m, now| m.acknowledge(fingerprint, who, comment, now))?;
        AlertAcknowledged { rule: &alert.rule, severity: alert.severity.as_str() }.emit();
        Ok(alert)
    }
    fn silence(&self, request: SilenceRequest) -> Result<String, AlertBackendError> {
        self.change(|m, now| m.add_silence(request, now))
    }
}

/// Runs until the scored topic closes; then evaluates once more, persists,
/// acknowledges and stops the delivery task (what is not sent stays queued).
pub async fn run(
    mut input: Box<dyn Subscriber>,
    dead: Arc<dyn Publisher>,
    settings: Settings,
    handle: AlertHandle,
) -> anyhow::Result<()> {
    let core = handle.core;
    let outbox = Outbox::open(&settings.dir, settings.retry).context("opening the alert outbox")?;
    let outbox = Arc::new(tokio::sync::Mutex::new(outbox));
    let email = match &settings.smtp {
        Some(cfg) => Some(SmtpNotifier::new(cfg, settings.region_name.clone()).context("smtp")?),
        None => None,
    };
    let mails = email.is_some() && !settings.recipients.is_empty();
    if !mails {
        AlertsNotMailed { smtp: settings.smtp.is_some(), recipients: settings.recipients.len() }.emit();
    }
    let baselines: Option<Arc<ArchiveBaselines>> = match &settings.archive_dir {
        Some(dir) => Some(Arc::new(ArchiveBaselines::open(dir)?)),
        None => None,
    };
    let wake = Arc::new(Notify::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let delivery =
        tokio::spawn(deliver(Arc::clone(&outbox), Notifiers { email, webhook: None }, Arc::clone(&wake), stop_rx));

    report_gauges(&core);
    let stage =
        Stage { core: Arc::clone(&core), outbox, wake: Arc::clone(&wake), settings: &settings, baselines, mails };
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
        let now = Utc::now();
        let mut count = 0;
        for delivery in batch {
            match super::decode(&delivery.payload, "scored message", |m: &ScoredMessage| m.schema) {
                Ok(message) => {
                    let transitions: Vec<Transition> = {
                        let mut core = core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
                        let transitions = core.engine.observe(&message, now);
                        if !transitions.is_empty() {
                            core.mechanics.apply(&transitions, now);
                        }
                        transitions
                    };
                    fired |= !transitions.is_empty();
                    acks.push(delivery.ack);
                    count += 1;
                }
                Err(reason) => super::dead_letter("alert", dead.as_ref(), delivery, reason).await?,
            }
        }
        StageProcessed { stage: "alert", outcome: "ok", count }.emit();
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
}

impl Stage<'_> {
    /// One round: (optionally) evaluate the rules, let the mechanics decide what
    /// is due, enqueue it per recipient, persist the state, then acknowledge.
    async fn cycle(&self, evaluate: bool, acks: &mut Vec<Ack>) -> anyhow::Result<()> {
        let (core, outbox, wake, settings, mails) = (&self.core, &self.outbox, &self.wake, self.settings, self.mails);
        let baselines = self.baselines.clone();
        let started = std::time::Instant::now();
        let now = Utc::now();
        let decided = Arc::clone(core);
        let notifications = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Notification>> {
            let mut guard = decided.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
            let core = &mut *guard;
            if !evaluate {
                return Ok(core.mechanics.tick(now));
            }
            let transitions = match &baselines {
                Some(b) => core.engine.evaluate(now, b.as_ref()),
                None => core.engine.evaluate(now, &onrust_alert::NoBaseline),
            };
            core.mechanics.apply(&transitions, now);
            let mut out = core.mechanics.tick(now);
            // Officers and the mayor together, once, ahead of each announced action.
            out.extend(core.mechanics.summaries_ahead(core.engine.calendar(), now, SUMMARY_LEAD));
            // The mayors' daily digest, once a day from DIGEST_HOUR (Europe/Amsterdam).
            let local = now.with_timezone(&chrono_tz::Europe::Amsterdam);
            if local.hour() >= DIGEST_HOUR && core.last_digest.is_none_or(|d| d < local.date_naive()) {
                out.extend(core.mechanics.digest(now));
                core.last_digest = Some(local.date_naive());
            }
            Ok(out)
        })
        .await
        .context("alert thread failed")??;

        let made = notifications.len();
        let mut queued = 0usize;
        if mails {
            let mut outbox = outbox.lock().await;
            let mut core = core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
            for n in notifications {
                let role = recipient_role(n.recipients_role);
                let to = addresses(&settings.recipients, role, n.municipality.as_ref());
                if to.is_empty() {
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
                let items: Vec<Item> = n.alerts.iter().map(|a| Item { alert: a.clone(), previous: None }).collect();
                let content = if n.reason == NotifyReason::Digest {
                    let date = n.at.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
                    Content::Digest { date, items }
                } else {
                    Content::Alerts { items }
                };
                for address in to {
                    let log_notification = onrust_alert::notify::log::Notification {
                        fingerprint: fingerprint.clone(),
                        sequence,
                        rule: rule.clone(),
                        channel: Channel::Email,
                        role,
                        address: address.to_owned(),
                        content: content.clone(),
                    };
                    match outbox.enqueue(log_notification, now) {
                        Ok(true) => {
                            queued += 1;
                            let severity = n.alerts.first().map_or("none", |a| a.severity.as_str());
                            AlertNotificationQueued { rule: &rule, severity, role: role.as_str(), reason: n.reason }
                                .emit();
                        }
                        Ok(false) => {}
                        // An alert that cannot explain itself is never sent (L9); the rest go on.
                        Err(onrust_alert::notify::log::LogError::Invalid { fingerprint, source, .. }) => {
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
        let saving = Arc::clone(core);
        let dir = settings.dir.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let core = saving.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
            save_state(&dir, &core)
                .context("alert state write failed; stopping so that nothing unsaved is acknowledged")
        })
        .await
        .context("alert thread failed")??;
        report_gauges(core);
        let acknowledged = acks.len();
        for ack in acks.drain(..) {
            ack.ack();
        }
        AlertCycle { evaluated: evaluate, notifications: made, queued, acknowledged, took: started.elapsed() }.emit();
        Ok(())
    }
}

/// Sets the alert gauges (firing per rule and municipality, announced actions ahead) from the state.
fn report_gauges(core: &Mutex<Core>) {
    if let Ok(core) = core.lock() {
        let (rules, alerts) = (core.engine.rules(), core.mechanics.alerts());
        AlertsSnapshot { rules, alerts, calendar: core.engine.calendar(), now: Utc::now() }.emit();
    }
}

/// Sends what is due, then sleeps until the next is due or something new is queued.
async fn deliver(
    outbox: Arc<tokio::sync::Mutex<Outbox>>,
    notifiers: Notifiers,
    wake: Arc<Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let next = {
            let mut outbox = outbox.lock().await;
            match outbox.deliver_due(&notifiers).await {
                Ok(report) if report.sent + report.failed > 0 => {
                    tracing::debug!(
                        sent = report.sent,
                        failed = report.failed,
                        pending = report.still_pending,
                        "alert notifications delivered"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "alert notification log write failed; retrying later"),
            }
            outbox.next_due()
        };
        let fallback = Instant::now() + Duration::from_secs(60);
        let at = next.unwrap_or(fallback).max(Instant::now() + Duration::from_millis(10));
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            () = wake.notified() => {}
        }
    }
}

/// Municipality names by CBS code from the gazetteer's CSV (`Gemeentecode`, `Gemeente`).
pub fn municipality_names(csv: &Path) -> anyhow::Result<Vec<(MunicipalityCode, String)>> {
    let text = std::fs::read_to_string(csv).with_context(|| format!("cannot read {}", csv.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(code_col), Some(name_col)) = (col("Gemeentecode"), col("Gemeente")) else {
        anyhow::bail!("{} has no Gemeentecode and Gemeente columns", csv.display());
    };
    let mut names = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(code), Some(name)) = (fields.get(code_col), fields.get(name_col)) else { continue };
        let code = code.trim().trim_matches('"');
        let code = if code.starts_with("GM") { code.to_owned() } else { format!("GM{code}") };
        if let Ok(code) = MunicipalityCode::new(code) {
            names.entry(code).or_insert_with(|| name.trim().trim_matches('"').to_owned());
        }
    }
    Ok(names.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_by_role_and_municipality_and_star_for_regional() {
        let utrecht = MunicipalityCode::new("GM0344").expect("code");
        let r = |scope, role, email: &str| RecipientConfig { scope, role, email: email.to_owned() };
        let recipients = vec![
            r(RecipientScope::One(utrecht.clone()), RecipientRole::Officer, "oov@utrecht.example"),
            r(RecipientScope::All, RecipientRole::Officer, "regio@oov.example"),
            r(
                RecipientScope::One(MunicipalityCode::new("GM0034").expect("code")),
                RecipientRole::Officer,
                "a@almere.example",
            ),
            r(RecipientScope::One(utrecht.clone()), RecipientRole::Mayor, "bm@utrecht.example"),
        ];
        assert_eq!(
            addresses(&recipients, RecipientRole::Officer, Some(&utrecht)),
            ["oov@utrecht.example", "regio@oov.example"]
        );
        assert_eq!(addresses(&recipients, RecipientRole::Officer, None), ["regio@oov.example"]);
        assert_eq!(addresses(&recipients, RecipientRole::Mayor, Some(&utrecht)), ["bm@utrecht.example"]);
        assert!(addresses(&recipients, RecipientRole::Supervisor, Some(&utrecht)).is_empty());
    }

    #[test]
    fn municipality_names_come_from_the_gazetteer() {
        let csv = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/gazetteer/woonplaatsen-gemeenten-2024.csv");
        let names = municipality_names(&csv).expect("names");
        let utrecht = MunicipalityCode::new("GM0344").expect("code");
        assert!(names.iter().any(|(c, n)| c == &utrecht && n == "Utrecht"), "{:?}", &names[..3]);
        assert!(names.len() > 300, "{}", names.len());
    }

    /// A period before the archive's oldest bucket is not covered (None, never
    /// a quiet week); a covered one counts per municipality × theme × level.
    #[test]
    fn baselines_come_from_the_archive_and_say_so_when_it_does_not_cover_a_period() {
        use onrust_archive::{ArchiveOptions, ArchiveWriter};
        use onrust_model::{Assessment, MessageId, RawMessage, SCHEMA_VERSION, SourceId, SourceKind};
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive");
        let now = Utc::now();
        let mut writer =
            ArchiveWriter::open(&archive, &ArchiveOptions { writer_memory_bytes: 20_000_000, ..Default::default() })
                .expect("archive");
        let source = SourceId::new("test").expect("id");
        for i in 0..3 {
            let message = ScoredMessage {
                schema: SCHEMA_VERSION,
                message: RawMessage {
                    schema: SCHEMA_VERSION,
                    id: MessageId::derive(&source, &i.to_string()),
                    source: source.clone(),
                    source_kind: SourceKind::Replay,
                    url: None,
                    title: None,
                    text: format!("vuurwerk op de politie {i}"),
                    published_at: Some(now.fixed_offset()),
                    fetched_at: now,
                    author: None,
                    lang_hint: None,
                },
                assessment: Assessment {
                    lang: Some("nl".into()),
                    level: Level::Escalation,
                    score: 0.9,
                    themes: vec!["jaarwisseling".into()],
                    municipalities: vec![MunicipalityCode::new("GM0344").expect("code")],
                    event_time: None,
                    explanation: vec![],
                    classifier_version: "test".into(),
                },
            };
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

    #[test]
    fn state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = onrust_alert::validate(&[onrust_alert::RuleConfig {
            name: "oproep-tot-geweld".into(),
            kind: Some(onrust_alert::RuleKind::Critical),
            ..onrust_alert::RuleConfig::default()
        }])
        .expect("rules");
        let mut core = load_state(dir.path(), &rules).expect("fresh");
        assert!(core.last_digest.is_some(), "no digest on the very first start");
        core.sequences.insert("abc".to_owned(), 2);
        core.last_digest = NaiveDate::from_ymd_opt(2026, 12, 30);
        save_state(dir.path(), &core).expect("save");
        let core = load_state(dir.path(), &rules).expect("restore");
        assert_eq!(core.sequences.get("abc"), Some(&2));
        assert_eq!(core.last_digest, NaiveDate::from_ymd_opt(2026, 12, 30));
        assert!(!dir.path().join("state.json.tmp").exists());
    }
}
