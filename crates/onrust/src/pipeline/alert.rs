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
//! then the [`onrust_alert::AlertState`] is written (temporary file, fsync,
//! rename), and only then are the observed messages acknowledged. A crash
//! before the state is written replays the messages into the old state; the
//! same transitions give the same notification keys, which the outbox
//! already knows.
//!
//! What decides is `onrust-alert` (the engine, the mechanics, one
//! [`onrust_alert::Round`] per evaluation) and what delivers is
//! `onrust-notify`; this module is the wiring around them, one concern per file:
//!
//! - here: the settings, the topics, [`run`] (intake, the timers, shutdown);
//! - [`stage`]: one round: decide, publish, enqueue per recipient, save, acknowledge;
//! - [`recipients`]: the addresses of a notification and what it carries for them;
//! - [`state`]: the state file and what the stage keeps besides the engine's state;
//! - [`handle`]: the same state for the alerts API and the CLI;
//! - [`delivery`]: the task that sends what is due without holding the outbox;
//! - [`undelivered`]: telling the supervisors of a notification that failed for good;
//! - [`baselines`], [`clock`], [`retention`], [`erasure`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use onrust_alert::{AlertEvent, Channel, Rule, Transition};
use onrust_bus::{Ack, Publisher, Record, Subscriber, Topic};
use onrust_model::{Deletion, MunicipalityCode, ScoredMessage};
use onrust_notify::Notifiers;
use onrust_notify::log::RetryPolicy;
use onrust_notify::smtp::{SmtpConfig, SmtpNotifier};
use onrust_notify::webhook::WebhookNotifier;
use tokio::time::Instant;

use super::BusReceipts;
use crate::config::{RecipientConfig, WebhookConfig};
use crate::internal_events::{AlertsNotMailed, DeliveryFailureTold, LateArrival, StageProcessed};
use stage::{Stage, report_gauges};

mod baselines;
mod clock;
mod delivery;
pub mod erasure;
mod handle;
mod recipients;
mod retention;
mod stage;
mod state;
#[cfg(test)]
mod tests;
mod undelivered;

pub use baselines::ArchiveBaselines;
pub use clock::Clock;
pub use handle::AlertHandle;
pub use recipients::addresses;
pub use retention::AlertRetention;

const BATCH: usize = 1024;

/// Everything the stage needs besides its topics ([`AlertTopics`]).
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

/// The topics the alert stage reads and writes.
pub struct AlertTopics {
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
pub(super) async fn publish_changes(
    out: Option<&Arc<dyn Publisher>>,
    transitions: &[Transition],
) -> anyhow::Result<BusReceipts> {
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
pub async fn run(topics: AlertTopics, settings: Settings, handle: AlertHandle) -> anyhow::Result<()> {
    let AlertTopics { mut input, dead, alerts: alerts_out } = topics;
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
    let delivery = tokio::spawn(delivery::deliver(
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

/// The `[region]` municipalities as codes (config validation has refused
/// any that is not one), for [`Engine::set_region`] in the stage and the backtest.
pub fn region_codes(municipalities: &[String]) -> Vec<MunicipalityCode> {
    municipalities.iter().filter_map(|m| MunicipalityCode::new(m.as_str()).ok()).collect()
}
