//! Retention for the outbox and the notification log (rule L6). Each is a
//! data class of its own with its own period; the daemon runs both hourly,
//! records what will go in the audit log first, then removes it.
//!
//! - **The outbox** holds what notifications carry (alerts with their
//!   evidence excerpts). What was sent leaves it at the next run, whatever
//!   the period; a notification that failed for good stays for a person to
//!   send again (`onrust alerts resend`) until its last failure is older
//!   than the period. What is still pending is never removed: it is not
//!   delivered yet.
//! - **The notification log** says who was told what, when (addresses,
//!   rules, outcomes). Entries older than the period go, except those of a
//!   notification still pending or failed: the log is how the outbox knows
//!   how many attempts it made and that it failed.
//!
//! [`Outbox::expire_outbox`] and [`Outbox::expire_log`] read once, tell the
//! caller's `record` what goes, and remove it only when that succeeded.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{LOG_FILE, LogEntry, LogError, OUTBOX_FILE, Outbox, RecordError, read_lines};

/// What a retention run removes from the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutboxExpiry {
    /// Notifications that failed for good before the cut-off.
    pub failed: usize,
    /// Lines of notifications that are done (sent, or failed and removed now).
    pub lines: usize,
}

impl Outbox {
    /// Drops the notifications that failed for good before `before` and
    /// rewrites the outbox with what is still pending or failed since.
    /// `record` is told what goes first; if it fails, nothing goes. Nothing
    /// to remove: nothing is written and `record` is not called.
    pub fn expire_outbox(
        &mut self,
        before: DateTime<Utc>,
        record: impl FnOnce(OutboxExpiry) -> Result<(), RecordError>,
    ) -> Result<OutboxExpiry, LogError> {
        let failed = self.failed.values().filter(|f| f.at < before).count();
        let lines = read_lines::<serde_json::Value>(&self.dir.join(OUTBOX_FILE))?.len();
        let kept = self.pending.len() + self.failed.len() - failed;
        let expiry = OutboxExpiry { failed, lines: lines.saturating_sub(kept) };
        if expiry.lines == 0 {
            return Ok(expiry);
        }
        record(expiry).map_err(LogError::NotRecorded)?;
        self.failed.retain(|_, f| f.at >= before);
        self.compact()?;
        Ok(expiry)
    }

    /// Rewrites the notification log without the entries older than
    /// `before`, keeping those of notifications still pending or failed;
    /// atomically, like the outbox's compaction. `record` is told how many
    /// go first; if it fails, nothing goes. Returns how many went.
    pub fn expire_log(
        &mut self,
        before: DateTime<Utc>,
        record: impl FnOnce(usize) -> Result<(), RecordError>,
    ) -> Result<usize, LogError> {
        let path = self.dir.join(LOG_FILE);
        let entries: Vec<LogEntry> = read_lines(&path)?;
        let mut body = String::new();
        let mut removed = 0;
        for entry in &entries {
            if self.log_entry_expires(entry, before) {
                removed += 1;
                continue;
            }
            body.push_str(&serde_json::to_string(entry)?);
            body.push('\n');
        }
        if removed == 0 {
            return Ok(0);
        }
        record(removed).map_err(LogError::NotRecorded)?;
        onrust_durable::write_atomic(&path, body.as_bytes())
            .map_err(|source| LogError::Io { path: path.clone(), source })?;
        self.log = super::open_append(&path)?;
        Ok(removed)
    }

    fn log_entry_expires(&self, entry: &LogEntry, before: DateTime<Utc>) -> bool {
        if entry.time >= before {
            return false;
        }
        let key = entry.key();
        !self.pending.contains_key(&key) && !self.failed.contains_key(&key)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeDelta;

    use super::super::tests::notification;
    use super::super::{Deliver, Delivered, DeliveryError, Notification, RetryPolicy};
    use super::*;

    /// Refuses one address for good, accepts the rest.
    struct RefusesOne(&'static str);

    impl Deliver for RefusesOne {
        async fn deliver(&self, n: &Notification) -> Result<Delivered, DeliveryError> {
            if n.address == self.0 {
                Err(DeliveryError::Permanent { code: Some(550), message: "no such mailbox".into() })
            } else {
                Ok(Delivered { code: Some(250), message: "ok".into() })
            }
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy { base: Duration::from_millis(1), cap: Duration::from_millis(4), max_attempts: 3 }
    }

    fn lines(dir: &std::path::Path, file: &str) -> usize {
        std::fs::read_to_string(dir.join(file)).unwrap().lines().count()
    }

    fn audit_log_full() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::StorageFull, "the audit log is full")
    }

    /// Refused for want of a record, with the record's own error kept whole
    /// as the cause, for the log to show.
    fn assert_not_recorded_because_the_audit_log_is_full<T: std::fmt::Debug>(refused: Result<T, LogError>) {
        let Err(refused @ LogError::NotRecorded(_)) = &refused else {
            panic!("not refused for its record: {refused:?}")
        };
        let source = std::error::Error::source(refused).expect("the record's error is the source");
        let io = source.downcast_ref::<std::io::Error>().expect("the record's own error type");
        assert_eq!((io.kind(), io.to_string()), (std::io::ErrorKind::StorageFull, "the audit log is full".into()));
    }

    #[tokio::test]
    async fn sent_and_old_failures_leave_the_outbox_pending_ones_stay_and_the_log_keeps_what_it_needs() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), policy()).unwrap();
        let now = Utc::now();
        ob.enqueue(notification(1, "sent@utrecht.example"), now).unwrap();
        ob.enqueue(notification(2, "gone@utrecht.example"), now).unwrap();
        ob.deliver_pending(&RefusesOne("gone@utrecht.example")).await.unwrap();
        ob.enqueue(notification(3, "waiting@utrecht.example"), now).unwrap();
        assert_eq!((lines(dir.path(), OUTBOX_FILE), lines(dir.path(), LOG_FILE)), (3, 2));

        // A cut-off before everything: only what was sent leaves the outbox; the log keeps all.
        let early = now - TimeDelta::days(1);
        let mut told = None;
        let done = ob.expire_outbox(early, |plan| {
            told = Some(plan);
            Ok(())
        });
        assert_eq!(done.unwrap(), OutboxExpiry { failed: 0, lines: 1 });
        assert_eq!(told, Some(OutboxExpiry { failed: 0, lines: 1 }), "recorded as it went");
        assert_eq!(ob.expire_log(early, |_| Err("nothing to record".into())).unwrap(), 0);
        assert_eq!(lines(dir.path(), OUTBOX_FILE), 2, "the failed one and the pending one");
        assert_eq!(ob.undelivered().len(), 1, "a failure younger than the period can still be sent again");

        // A cut-off after everything: the failure goes, the pending one stays; in the
        // log the sent and failed entries go, as nothing pending needs them.
        let late = Utc::now() + TimeDelta::seconds(1);
        let refused = ob.expire_outbox(late, |_| Err(audit_log_full().into()));
        assert_not_recorded_because_the_audit_log_is_full(refused);
        assert_eq!((ob.undelivered().len(), lines(dir.path(), OUTBOX_FILE)), (1, 2), "not recorded: nothing went");
        let mut told = None;
        let done = ob.expire_outbox(late, |plan| {
            told = Some(plan);
            Ok(())
        });
        assert_eq!(done.unwrap(), OutboxExpiry { failed: 1, lines: 1 });
        assert_eq!(told, Some(OutboxExpiry { failed: 1, lines: 1 }));
        assert!(ob.undelivered().is_empty());
        assert_eq!(ob.pending().len(), 1, "what is not delivered yet is never removed");
        let refused = ob.expire_log(late, |_| Err(audit_log_full().into()));
        assert_not_recorded_because_the_audit_log_is_full(refused);
        assert_eq!(lines(dir.path(), LOG_FILE), 2, "not recorded: nothing went");
        let mut told = None;
        let removed = ob.expire_log(late, |n| {
            told = Some(n);
            Ok(())
        });
        assert_eq!((removed.unwrap(), told), (2, Some(2)));
        assert_eq!(lines(dir.path(), LOG_FILE), 0);
        assert_eq!(ob.expire_log(late, |_| Err("nothing to record".into())).unwrap(), 0, "nothing more to remove");

        // The log is appended to again after its rewrite, and a restart finds it whole.
        ob.deliver_pending(&RefusesOne("nobody")).await.unwrap();
        assert_eq!(lines(dir.path(), LOG_FILE), 1);
        drop(ob);
        let reopened = Outbox::open(dir.path(), policy()).unwrap();
        assert!(reopened.pending().is_empty(), "sent, and its entry says so after the restart");
    }

    #[tokio::test]
    async fn a_log_entry_of_a_notification_still_pending_is_kept_however_old() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), policy()).unwrap();
        ob.enqueue(notification(1, "later@utrecht.example"), Utc::now()).unwrap();
        // One temporary failure: an entry in the log for a notification still pending.
        struct Busy;
        impl Deliver for Busy {
            async fn deliver(&self, _n: &Notification) -> Result<Delivered, DeliveryError> {
                Err(DeliveryError::Transient { code: Some(451), message: "try later".into() })
            }
        }
        ob.deliver_due(&Busy).await.unwrap();
        assert_eq!(lines(dir.path(), LOG_FILE), 1);
        let late = Utc::now() + TimeDelta::days(1);
        assert_eq!(ob.expire_log(late, |_| Err("nothing to record".into())).unwrap(), 0);
        assert_eq!(lines(dir.path(), LOG_FILE), 1, "its attempts still count");
    }
}
