//! One round of the alert stage: decide (the shared [`Round`]), publish the
//! changes, enqueue each notification per recipient, save the state, and
//! only then acknowledge what was observed (R1).

use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{DateTime, Utc};
use onrust_alert::{BaselineSource, NotifyReason, RecipientRole, Round, RoundOutcome};
use onrust_bus::{Ack, Publisher};
use onrust_notify::log::{Content, LogError, Notification, Outbox};
use tokio::sync::Notify;

use super::baselines::ArchiveBaselines;
use super::recipients::{addresses, items};
use super::state::{StageState, save_state, told_key};
use super::{Settings, publish_changes, retention};
use crate::internal_events::{
    AlertCycle, AlertNobodyToTell, AlertNotificationQueued, AlertUnexplained, AlertsSnapshot,
};
use crate::pipeline::BusReceipts;

/// What one round of the stage works on.
pub(super) struct Stage<'a> {
    pub(super) core: Arc<Mutex<StageState>>,
    pub(super) outbox: Arc<tokio::sync::Mutex<Outbox>>,
    pub(super) wake: Arc<Notify>,
    pub(super) settings: &'a Settings,
    pub(super) baselines: Option<Arc<ArchiveBaselines>>,
    /// A relay and at least one recipient are configured.
    pub(super) mails: bool,
    pub(super) alerts_out: Option<Arc<dyn Publisher>>,
    /// Alert events published since the last save, not yet known to be taken by the bus.
    pub(super) events: Mutex<BusReceipts>,
    /// Messages deleted at their source since the last round, to withdraw from the outbox.
    pub(super) withdrawals: Mutex<Vec<String>>,
    /// When retention last ran (it runs in an evaluating round).
    pub(super) retention: Mutex<retention::Schedule>,
}

impl Stage<'_> {
    /// One round: (optionally) evaluate the rules, let the mechanics decide what
    /// is due, enqueue it per recipient, persist the state, then acknowledge.
    pub(super) async fn cycle(&self, evaluate: bool, acks: &mut Vec<Ack>) -> anyhow::Result<()> {
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
                let content = Content::of(&n, items);
                for (channel, address) in to {
                    let log_notification = Notification {
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
                        Err(LogError::Invalid { fingerprint, source, .. }) => {
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
            .wait(
                crate::pipeline::TAKEN_WITHIN,
                "alert events not taken by the bus; stopping so that they are published again",
            )
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

/// Sets the alert gauges (firing per rule and municipality, announced actions ahead) from the state.
pub(super) fn report_gauges(core: &Mutex<StageState>, now: DateTime<Utc>) {
    if let Ok(core) = core.lock() {
        let (rules, alerts) = (core.engine.rules(), core.mechanics.alerts());
        AlertsSnapshot { rules, alerts, calendar: core.engine.calendar(), now }.emit();
    }
}
