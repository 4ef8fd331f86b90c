//! The alert stage's data classes and their retention (rule L6): the alert
//! state's review records, the outbox and the notification log, each with
//! its own period (`[retention]`). The stage runs this at its first
//! evaluation and then hourly; each class's removal is recorded in the
//! audit log first (`pipeline::retention`), and is not made when the
//! record cannot be written.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use onrust_notify::log::{Outbox, OutboxExpiry};
use tokio::time::Instant;

use super::state::StageState;
use crate::internal_events::RetentionApplied;
use crate::pipeline::retention::{self, ALERT_STATE, NOTIFICATION_LOG, OUTBOX, cut_off};

/// How often the stage looks for what outlived its period.
const EVERY: Duration = Duration::from_secs(3600);

/// The periods of the alert stage's data classes, and where their removal is recorded.
#[derive(Debug, Clone)]
pub struct AlertRetention {
    pub alert_state: Duration,
    pub notification_log: Duration,
    pub outbox: Duration,
    pub audit_path: PathBuf,
}

/// When retention last ran; the first call runs it.
#[derive(Debug, Default)]
pub(super) struct Schedule {
    last: Option<Instant>,
}

impl Schedule {
    pub(super) fn due(&mut self) -> bool {
        let due = self.last.is_none_or(|at| at.elapsed() >= EVERY);
        if due {
            self.last = Some(Instant::now());
        }
        due
    }
}

/// Removes, per class, what is older than its period at `now`, after
/// recording it. The state's change is saved with the round that follows.
pub(super) async fn apply(
    settings: &AlertRetention,
    core: &Arc<Mutex<StageState>>,
    outbox: &tokio::sync::Mutex<Outbox>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let audit = &settings.audit_path;
    if let Some(before) = cut_off(now, settings.alert_state) {
        let mut core = core.lock().map_err(|_| anyhow::anyhow!("alert state lock poisoned"))?;
        let reviews = core.mechanics.reviews_before(before);
        if reviews > 0 {
            let details = serde_json::json!({ "before": before, "reviews": reviews });
            retention::record(audit, ALERT_STATE, details, reviews as u64)
                .context("cannot record the alert state's retention")?;
            let removed = core.mechanics.expire_reviews(before);
            RetentionApplied { class: ALERT_STATE, removed: removed as u64 }.emit();
        }
    }
    let mut outbox = outbox.lock().await;
    if let Some(before) = cut_off(now, settings.outbox) {
        let record = |plan: OutboxExpiry| {
            let details = serde_json::json!({ "before": before, "failed": plan.failed, "lines": plan.lines });
            retention::record(audit, OUTBOX, details, plan.lines as u64)
                .map_err(|e| anyhow::Error::new(e).context("cannot record the outbox's retention").into())
        };
        let done = outbox.expire_outbox(before, record).context("outbox retention failed")?;
        if done.lines > 0 {
            RetentionApplied { class: OUTBOX, removed: done.lines as u64 }.emit();
        }
    }
    if let Some(before) = cut_off(now, settings.notification_log) {
        let record = |entries: usize| {
            let details = serde_json::json!({ "before": before, "entries": entries });
            retention::record(audit, NOTIFICATION_LOG, details, entries as u64)
                .map_err(|e| anyhow::Error::new(e).context("cannot record the notification log's retention").into())
        };
        let removed = outbox.expire_log(before, record).context("notification log retention failed")?;
        if removed > 0 {
            RetentionApplied { class: NOTIFICATION_LOG, removed: removed as u64 }.emit();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use onrust_alert::{Channel, RecipientRole};
    use onrust_model::Level;
    use onrust_notify::log::{Content, Deliver, Delivered, DeliveryError, Item, Notification, RetryPolicy};

    use super::*;

    /// A notification about a real alert (the engine's, from one critical message) for `address`.
    fn notification(sequence: u64, address: &str) -> Notification {
        let rules = onrust_alert::validate(&[super::super::tests::critical(None)]).expect("rules");
        let mut engine = onrust_alert::Engine::new(rules);
        engine.set_municipality_names(vec![(
            onrust_model::MunicipalityCode::new("GM0344").expect("code"),
            "Utrecht".into(),
        )]);
        let message =
            super::super::tests::scored("m1", Level::Escalation, "Oudjaarsavond gooien we vuurwerk naar de politie");
        let alert = engine.observe(&message, Utc::now()).remove(0).alert;
        Notification {
            fingerprint: alert.fingerprint.clone(),
            sequence,
            rule: alert.rule.clone(),
            channel: Channel::Email,
            role: RecipientRole::Officer,
            address: address.to_owned(),
            content: Content::Alerts { items: vec![Item::new(alert, None)] },
        }
    }

    /// Refuses one mailbox for good, accepts the others.
    struct RefusesOne(&'static str);

    impl Deliver for RefusesOne {
        async fn deliver(&self, n: &Notification) -> Result<Delivered, DeliveryError> {
            if n.address == self.0 {
                return Err(DeliveryError::Permanent { code: Some(550), message: "no such mailbox".into() });
            }
            Ok(Delivered { code: Some(250), message: "ok".into() })
        }
    }

    fn lines(path: &std::path::Path) -> usize {
        std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
    }

    #[tokio::test]
    async fn each_class_is_recorded_before_it_goes_and_nothing_goes_that_could_not_be_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let alerts = dir.path().join("alerts");
        let mut outbox = Outbox::open(&alerts, RetryPolicy::default()).expect("outbox");
        outbox.enqueue(notification(1, "oov@utrecht.example"), Utc::now()).expect("enqueue");
        outbox.enqueue(notification(2, "weg@utrecht.example"), Utc::now()).expect("enqueue");
        outbox.deliver_pending(&RefusesOne("weg@utrecht.example")).await.expect("deliver");
        outbox.enqueue(notification(3, "straks@utrecht.example"), Utc::now()).expect("enqueue");
        let outbox = tokio::sync::Mutex::new(outbox);
        let core = Arc::new(Mutex::new(super::super::state::load_state(&alerts, &[], Utc::now()).expect("state")));
        let (outbox_file, log_file) = (alerts.join("outbox.jsonl"), alerts.join("notifications.jsonl"));
        assert_eq!((lines(&outbox_file), lines(&log_file)), (3, 2));
        let day = Duration::from_secs(24 * 3600);
        let later = Utc::now() + chrono::TimeDelta::days(2);

        // The audit log cannot be written (its path is a folder): nothing goes.
        let unwritable = dir.path().join("audit-is-a-folder");
        std::fs::create_dir(&unwritable).expect("folder");
        let periods =
            AlertRetention { alert_state: day, notification_log: day, outbox: day, audit_path: unwritable.clone() };
        let refused = apply(&periods, &core, &outbox, later).await.expect_err("no record, no removal");
        assert!(format!("{refused:#}").contains("cannot record the outbox's retention"), "{refused:#}");
        assert_eq!((lines(&outbox_file), lines(&log_file)), (3, 2), "nothing removed");

        let audit_path = dir.path().join("audit.jsonl");
        let periods = AlertRetention { audit_path: audit_path.clone(), ..periods };
        apply(&periods, &core, &outbox, later).await.expect("retention");
        assert_eq!(lines(&outbox_file), 1, "only the one not delivered yet stays");
        assert_eq!(outbox.lock().await.pending().len(), 1);
        assert_eq!(lines(&log_file), 0, "the sent and the failed one's entries went");
        let records = onrust_audit::tail(&audit_path, 10).expect("audit");
        let said: Vec<(String, Option<u64>, serde_json::Value)> =
            records.iter().map(|r| (r.entry.action.clone(), r.entry.hits, r.entry.filters["class"].clone())).collect();
        assert_eq!(
            said,
            [
                ("retention_delete".to_owned(), Some(2), serde_json::json!("outbox")),
                ("retention_delete".to_owned(), Some(2), serde_json::json!("notification_log")),
            ]
        );
        assert_eq!(records[0].entry.filters["failed"], 1);
        assert_eq!(records[0].entry.who, onrust_audit::RETENTION_WHO);

        apply(&periods, &core, &outbox, later).await.expect("again");
        assert_eq!(onrust_audit::tail(&audit_path, 10).expect("audit").len(), 2, "nothing more to remove or record");
    }
}
