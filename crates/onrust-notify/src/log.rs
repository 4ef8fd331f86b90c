//! The outbox and the notification log: delivery at least once, deduplicated,
//! with every attempt on record (rule R8, issue 5 "who was told what").
//!
//! Two append-only JSON-lines files in one directory, each line fsynced before
//! the call returns:
//!
//! - `outbox.jsonl`: every notification, written by [`Outbox::enqueue`]
//!   *before* any attempt to send it. A restart between firing and sending
//!   therefore finds it again: not zero mails.
//! - `notifications.jsonl`: one [`LogEntry`] per attempt (sent, retry,
//!   failed). A notification with a final entry (sent or failed) is done; on
//!   restart it is not sent again: not two mails. A permanent failure is not
//!   the end when a person says so: [`Outbox::resend`] writes a `requeued`
//!   entry (who, why) and the notification is pending again, also after a
//!   restart. What failed stays in the outbox for that (compaction keeps it).
//!
//! The identity of a notification is its [`NotificationKey`]: the alert
//! fingerprint and the notification sequence (the n-th mail about that
//! fingerprint), plus the channel and address, because one firing goes to
//! several recipients and each must get exactly one. Enqueueing a key twice
//! is a no-op, so an engine that replays after a crash cannot double a mail.
//!
//! The one window left is a crash after the server accepted the mail and
//! before the `sent` line is on disk; then the mail is sent again on restart.
//! That is the at-least-once side of the trade, chosen over losing a mail; the
//! Message-ID is stable per key so a receiving system can drop the copy.
//!
//! A torn last line (a crash mid-write) is cut off when the files are opened,
//! so the next append starts on a clean line. The outbox file is locked while
//! open, so a second process gets a clear error instead of sending twice;
//! [`Outbox::compact`] drops what is done from the outbox (never from the log).

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

mod retention;

pub use retention::OutboxExpiry;

use chrono_tz::Europe::Amsterdam;
use onrust_alert::render::email::{self, EmailError};
use onrust_alert::{Alert, CarriedAlert, Channel, Failure, NotifyReason, RecipientRole, Undelivered};

pub const OUTBOX_FILE: &str = "outbox.jsonl";
pub const LOG_FILE: &str = "notifications.jsonl";
/// Held locked while an [`Outbox`] is open; never renamed, unlike the outbox.
pub const LOCK_FILE: &str = "outbox.lock";

/// An alert with the previous notification of the same fingerprint, so the
/// renderer can say what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub alert: Alert,
    pub previous: Option<Alert>,
    /// How this notification names the alert: its short id, unique among the
    /// alerts current when it was queued ([`onrust_alert::unique_short_id`]), so the
    /// `onrust alerts ack <id>` it prints names one alert. Absent in what was
    /// queued before it was kept: then the first 8 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_id: Option<String>,
}

impl Item {
    /// An alert as a notification carries it, named by its first 8 characters.
    pub fn new(alert: Alert, previous: Option<Alert>) -> Self {
        Self { alert, previous, short_id: None }
    }

    /// The short id this notification names the alert by.
    pub fn short_id(&self) -> &str {
        self.short_id.as_deref().unwrap_or_else(|| self.alert.short_id())
    }
}

/// What a notification carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// One alert, or several grouped by the engine into one mail.
    Alerts { items: Vec<Item> },
    /// The daily digest of `date` (Europe/Amsterdam).
    Digest { date: NaiveDate, items: Vec<Item> },
    /// The joint picture ahead of an action announced for `event_time`: the
    /// announcement and whatever else fires about it, for officers and mayors alike.
    Summary { event_time: DateTime<Utc>, items: Vec<Item> },
    /// A supervisor is asked to confirm or dismiss alerts for the mayor (L10).
    Review { items: Vec<Item> },
    /// No officer acknowledged these alerts in time: the supervisor is told.
    Escalation { items: Vec<Item> },
    /// A notification failed for good (`failure`): a supervisor is told
    /// through another channel, with the alerts it carried. A notice like
    /// this one that fails is told to nobody: no loop.
    Undelivered { failure: Failure, items: Vec<Item> },
}

impl Content {
    /// What a notification the mechanics made carries, by why it was made:
    /// the digest of its day (Europe/Amsterdam), the summary ahead of the
    /// earliest announced time among its alerts, a review request, an
    /// escalation, or the alerts themselves.
    pub fn of(n: &onrust_alert::Notification, items: Vec<Item>) -> Self {
        let announced = n.alerts.iter().filter_map(|a| a.event_time).min();
        match (n.reason, announced) {
            (NotifyReason::Digest, _) => Content::Digest { date: n.at.with_timezone(&Amsterdam).date_naive(), items },
            (NotifyReason::Summary, Some(event_time)) => Content::Summary { event_time, items },
            (NotifyReason::ReviewRequested, _) => Content::Review { items },
            (NotifyReason::Escalated, _) => Content::Escalation { items },
            _ => Content::Alerts { items },
        }
    }

    pub fn items(&self) -> &[Item] {
        match self {
            Content::Alerts { items }
            | Content::Digest { items, .. }
            | Content::Summary { items, .. }
            | Content::Review { items }
            | Content::Escalation { items }
            | Content::Undelivered { items, .. } => items,
        }
    }

    pub fn items_mut(&mut self) -> &mut [Item] {
        match self {
            Content::Alerts { items }
            | Content::Digest { items, .. }
            | Content::Summary { items, .. }
            | Content::Review { items }
            | Content::Escalation { items }
            | Content::Undelivered { items, .. } => items,
        }
    }
}

/// One message to one recipient over one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The alert's fingerprint, or for a group or digest the engine's key of it.
    pub fingerprint: String,
    /// The n-th notification about this fingerprint (1, 2, …).
    pub sequence: u64,
    pub rule: String,
    pub channel: Channel,
    pub role: RecipientRole,
    /// An email address or a webhook URL, from validated config only.
    pub address: String,
    pub content: Content,
}

impl Notification {
    /// The failure of this notification with this answer, at `at`; the
    /// answer is cut to 300 characters on one line (it is text from outside).
    pub fn failure(&self, code: Option<u16>, message: &str, at: DateTime<Utc>) -> Failure {
        Failure {
            fingerprint: self.fingerprint.clone(),
            sequence: self.sequence,
            channel: self.channel,
            role: self.role,
            recipient: recipient_shown(self),
            code,
            message: clip(message, 300),
            at,
        }
    }

    pub fn key(&self) -> NotificationKey {
        NotificationKey {
            fingerprint: self.fingerprint.clone(),
            sequence: self.sequence,
            channel: self.channel,
            address: self.address.clone(),
        }
    }

    /// Whether this is a notice about another notification that failed: such
    /// a notice that fails itself is told to nobody, so failures cannot loop.
    pub fn is_failure_notice(&self) -> bool {
        matches!(self.content, Content::Undelivered { .. })
    }

    /// The notice to a supervisor at `(channel, address)` that this
    /// notification did not arrive (`failure`), carrying its alerts. Its key
    /// is derived from this notification's key, so the same failure makes
    /// the same notice again (the outbox keeps one) and two recipients'
    /// failures make two notices.
    pub fn failure_notice(&self, failure: Failure, channel: Channel, address: &str) -> Notification {
        let mut h = Sha256::new();
        for part in ["undelivered", &self.fingerprint, &self.sequence.to_string(), self.channel.as_str(), &self.address]
        {
            h.update(part.as_bytes());
            h.update([0]);
        }
        Notification {
            fingerprint: hex::encode(&h.finalize()[..12]),
            sequence: 1,
            rule: self.rule.clone(),
            channel,
            role: RecipientRole::Supervisor,
            address: address.to_owned(),
            content: Content::Undelivered { failure, items: self.content.items().to_vec() },
        }
    }
}

/// What makes a notification unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationKey {
    pub fingerprint: String,
    pub sequence: u64,
    pub channel: Channel,
    pub address: String,
}

/// The result of one attempt, or a person's decision to send again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Accepted by the server; done.
    Sent,
    /// A temporary failure (SMTP 4xx, connection, TLS); it stays queued.
    Retry,
    /// A permanent failure (SMTP 5xx, HTTP 4xx); done, for a person to look at.
    Failed,
    /// Not an attempt: after a permanent failure a person queued it again
    /// (`onrust alerts resend`); the entry says who and why.
    Requeued,
}

/// One line of the notification log: one attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub time: DateTime<Utc>,
    pub fingerprint: String,
    pub sequence: u64,
    pub rule: String,
    pub channel: Channel,
    pub role: RecipientRole,
    pub address: String,
    pub attempt: u32,
    pub outcome: Outcome,
    /// SMTP reply code or HTTP status, when there was one.
    pub code: Option<u16>,
    pub message: Option<String>,
    /// For `requeued`: who sent it again (a token or account name) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// ... and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl LogEntry {
    fn key(&self) -> NotificationKey {
        NotificationKey {
            fingerprint: self.fingerprint.clone(),
            sequence: self.sequence,
            channel: self.channel,
            address: self.address.clone(),
        }
    }
}

/// A channel's answer to one delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub code: Option<u16>,
    pub message: String,
}

/// Why one delivery did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliveryError {
    #[error("temporary failure ({}): {message}", code_str(*.code))]
    Transient { code: Option<u16>, message: String },
    #[error("permanent failure ({}): {message}", code_str(*.code))]
    Permanent { code: Option<u16>, message: String },
}

fn code_str(code: Option<u16>) -> String {
    code.map_or_else(|| "no code".to_owned(), |c| c.to_string())
}

/// A channel that can deliver a notification.
pub trait Deliver {
    fn deliver(&self, n: &Notification) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send;
}

/// How often and how fast a temporary failure is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles per attempt.
    pub base: Duration,
    /// The longest wait between attempts.
    pub cap: Duration,
    /// Attempts per notification in one [`Outbox::deliver_pending`] call;
    /// after that it stays queued for the next call.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::from_secs(5), cap: Duration::from_secs(600), max_attempts: 6 }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failed attempt (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.cap)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("notification log {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("notification log {path} line {line}: {source}")]
    Parse { path: PathBuf, line: usize, source: serde_json::Error },
    #[error("cannot encode notification: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("{} notification refused: {source}", .channel.as_str())]
    Address { channel: Channel, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("notification log {0} is in use by another onrust process")]
    Locked(PathBuf),
    #[error("notification {fingerprint} #{sequence} refused: {source}")]
    Invalid { fingerprint: String, sequence: u64, source: EmailError },
    /// Retention: what would go could not be recorded, so nothing went.
    #[error("the removal could not be recorded, so nothing was removed")]
    NotRecorded(#[source] RecordError),
}

/// Why the record of a retention run could not be written (the caller's
/// error, kept whole so its cause is still there when the failure is logged).
pub type RecordError = Box<dyn std::error::Error + Send + Sync>;

/// What one round of delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub failed: usize,
    pub still_pending: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct OutboxLine {
    enqueued_at: DateTime<Utc>,
    notification: Notification,
}

#[derive(Debug, Clone)]
struct Pending {
    notification: Notification,
    /// Attempts made so far, over restarts (from the log).
    attempts: u32,
    /// Temporary failures in a row since this process started; the backoff exponent.
    failures: u32,
    /// Not before this instant; `None` is due now.
    next_at: Option<Instant>,
    /// Taken by [`Outbox::take_due`] and not yet recorded: not taken again.
    in_flight: bool,
}

/// A notification that failed for good, kept (with the outbox line it came
/// from) so a person can send it again.
#[derive(Debug, Clone)]
struct Failed {
    notification: Notification,
    /// Attempts made, over restarts.
    attempts: u32,
    at: DateTime<Utc>,
    code: Option<u16>,
    message: Option<String>,
}

impl Failed {
    fn undelivered(&self) -> Undelivered {
        let n = &self.notification;
        Undelivered {
            fingerprint: n.fingerprint.clone(),
            sequence: n.sequence,
            rule: n.rule.clone(),
            channel: n.channel,
            role: n.role,
            recipient: recipient_shown(n),
            alerts: n
                .content
                .items()
                .iter()
                .map(|i| CarriedAlert {
                    fingerprint: i.alert.fingerprint.clone(),
                    municipality: i.alert.municipality.clone(),
                    unplaced: i.alert.unplaced,
                })
                .collect(),
            failed_at: self.at,
            code: self.code,
            message: self.message.clone(),
        }
    }
}

/// Whom a notification is for, as a person may read it: a mailbox, or a
/// webhook's origin (its path may hold the receiver's token, S9).
pub fn recipient_shown(n: &Notification) -> String {
    match n.channel {
        Channel::Email => n.address.clone(),
        Channel::Webhook => crate::webhook::origin(&n.address),
    }
}

/// Whether a notification is about the alert `fingerprint`: its own key, or
/// one of the alerts it carries (a group, a digest, a failure notice).
fn concerns(n: &Notification, fingerprint: &str) -> bool {
    n.fingerprint == fingerprint || n.content.items().iter().any(|i| i.alert.fingerprint == fingerprint)
}

/// One notification taken from the outbox to be sent without holding it
/// (see [`Outbox::take_due`]); hand it back to [`Outbox::record`] with the result.
#[derive(Debug, Clone)]
pub struct Attempt {
    key: NotificationKey,
    /// What to send.
    pub notification: Notification,
    /// 1-based, over restarts.
    number: u32,
}

/// The persistent outbox plus the notification log. One process owns a
/// directory at a time.
pub struct Outbox {
    dir: PathBuf,
    /// Keeps the directory's lock for as long as this outbox lives.
    _lock: onrust_durable::ExclusiveLock,
    outbox: File,
    log: File,
    policy: RetryPolicy,
    /// Every key ever enqueued (pending or done).
    known: HashSet<NotificationKey>,
    /// Not yet sent or permanently failed.
    pending: BTreeMap<NotificationKey, Pending>,
    /// Failed for good and not sent again since.
    failed: BTreeMap<NotificationKey, Failed>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("dir", &self.dir).field("pending", &self.pending.len()).finish()
    }
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir` and restores what is pending.
    pub fn open(dir: &Path, policy: RetryPolicy) -> Result<Self, LogError> {
        onrust_durable::create_private_dir_all(dir)
            .map_err(|source| LogError::Io { path: dir.to_path_buf(), source })?;
        let outbox_path = dir.join(OUTBOX_FILE);
        let log_path = dir.join(LOG_FILE);
        // Lock before reading: a second process must not cut "torn" lines
        // that are really the first one's appends in progress.
        let lock_path = dir.join(LOCK_FILE);
        let lock = onrust_durable::ExclusiveLock::try_take(&lock_path)
            .map_err(|source| LogError::Io { path: lock_path.clone(), source })?
            .ok_or_else(|| LogError::Locked(dir.to_path_buf()))?;
        let outbox = open_append(&outbox_path)?;
        let queued: Vec<OutboxLine> = read_lines(&outbox_path)?;
        let entries: Vec<LogEntry> = read_lines(&log_path)?;
        let log = open_append(&log_path)?;
        sync_dir(dir)?;

        let mut attempts: BTreeMap<NotificationKey, u32> = BTreeMap::new();
        let mut done: HashSet<NotificationKey> = HashSet::new();
        // The last permanent failure of each key that was not sent again since.
        let mut failures: BTreeMap<NotificationKey, &LogEntry> = BTreeMap::new();
        for e in &entries {
            let n = attempts.entry(e.key()).or_default();
            *n = (*n).max(e.attempt);
            match e.outcome {
                Outcome::Sent => {
                    done.insert(e.key());
                    failures.remove(&e.key());
                }
                Outcome::Failed => {
                    done.insert(e.key());
                    failures.insert(e.key(), e);
                }
                Outcome::Requeued => {
                    done.remove(&e.key());
                    failures.remove(&e.key());
                }
                Outcome::Retry => {}
            }
        }
        // A key with any attempt on record is known even after compaction
        // removed it from the outbox, so a replayed firing is not sent again.
        let mut known: HashSet<NotificationKey> = attempts.keys().cloned().collect();
        let mut enqueued = HashSet::new();
        let mut pending = BTreeMap::new();
        let mut failed = BTreeMap::new();
        for line in queued {
            let key = line.notification.key();
            known.insert(key.clone());
            if !enqueued.insert(key.clone()) {
                continue;
            }
            let made = attempts.get(&key).copied().unwrap_or(0);
            if let Some(failure) = failures.get(&key) {
                let kept = Failed {
                    notification: line.notification,
                    attempts: made,
                    at: failure.time,
                    code: failure.code,
                    message: failure.message.clone(),
                };
                failed.insert(key, kept);
            } else if !done.contains(&key) {
                pending.insert(
                    key,
                    Pending {
                        notification: line.notification,
                        attempts: made,
                        failures: 0,
                        next_at: None,
                        in_flight: false,
                    },
                );
            }
        }
        Ok(Self { dir: dir.to_path_buf(), _lock: lock, outbox, log, policy, known, pending, failed })
    }

    /// Persists a notification before anything tries to send it. Returns
    /// `false` when the same key was enqueued before (nothing is written).
    /// An alert that lacks a field its explanation needs is refused (L9), and
    /// so is an address that is not one plain mailbox or an allowed webhook
    /// URL (S6, S10): nothing unsendable waits in the outbox.
    pub fn enqueue(&mut self, notification: Notification, now: DateTime<Utc>) -> Result<bool, LogError> {
        for item in notification.content.items() {
            email::validate(&item.alert).map_err(|source| LogError::Invalid {
                fingerprint: notification.fingerprint.clone(),
                sequence: notification.sequence,
                source,
            })?;
        }
        let address_problem: Option<Box<dyn std::error::Error + Send + Sync>> = match notification.channel {
            Channel::Email => crate::mail::check_address("To", &notification.address).err().map(|e| e.into()),
            Channel::Webhook => crate::webhook::check_url(&notification.address).err().map(|e| e.into()),
        };
        if let Some(source) = address_problem {
            return Err(LogError::Address { channel: notification.channel, source });
        }
        let key = notification.key();
        if self.known.contains(&key) {
            return Ok(false);
        }
        let line = OutboxLine { enqueued_at: now, notification };
        append_line(&mut self.outbox, &self.dir.join(OUTBOX_FILE), &serde_json::to_string(&line)?)?;
        self.known.insert(key.clone());
        let pending =
            Pending { notification: line.notification, attempts: 0, failures: 0, next_at: None, in_flight: false };
        self.pending.insert(key, pending);
        Ok(true)
    }

    /// The notifications not yet sent or permanently failed, oldest key first.
    pub fn pending(&self) -> Vec<&Notification> {
        self.pending.values().map(|p| &p.notification).collect()
    }

    /// When the next pending notification is due; `None` when nothing is
    /// pending. A daemon sleeps until then (or until a new one is enqueued)
    /// and calls [`Outbox::deliver_due`].
    pub fn next_due(&self) -> Option<Instant> {
        let now = Instant::now();
        self.pending.values().filter(|p| !p.in_flight).map(|p| p.next_at.unwrap_or(now)).min()
    }

    /// Makes one attempt for every notification that is due, without waiting
    /// for any backoff, so one failing recipient never delays the others. A
    /// temporary failure is scheduled again after an exponential backoff; a
    /// permanent failure is final. Every attempt is logged.
    pub async fn deliver_due<D: Deliver>(&mut self, channel: &D) -> Result<DeliveryReport, LogError> {
        self.attempt_due(channel, &mut BTreeMap::new(), u32::MAX).await
    }

    /// Sends what is pending, waiting out backoffs, until every notification
    /// is sent, failed for good, or has had `max_attempts` attempts in this
    /// call (then it stays queued). For tests, the CLI and shutdown; the
    /// daemon uses [`Outbox::deliver_due`] with [`Outbox::next_due`].
    pub async fn deliver_pending<D: Deliver>(&mut self, channel: &D) -> Result<DeliveryReport, LogError> {
        let mut tries = BTreeMap::new();
        let mut total = DeliveryReport::default();
        loop {
            let r = self.attempt_due(channel, &mut tries, self.policy.max_attempts).await?;
            total.sent += r.sent;
            total.failed += r.failed;
            let max = self.policy.max_attempts;
            let next = self
                .pending
                .iter()
                .filter(|(k, _)| tries.get(*k).copied().unwrap_or(0) < max)
                .map(|(_, p)| p.next_at.unwrap_or_else(Instant::now))
                .min();
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => break,
            }
        }
        total.still_pending = self.pending.len();
        Ok(total)
    }

    async fn attempt_due<D: Deliver>(
        &mut self,
        channel: &D,
        tries: &mut BTreeMap<NotificationKey, u32>,
        max_tries: u32,
    ) -> Result<DeliveryReport, LogError> {
        let mut report = DeliveryReport::default();
        let taken = self.take_limited(tries, max_tries);
        for attempt in taken {
            let result = channel.deliver(&attempt.notification).await;
            match self.record(attempt, &result)? {
                Outcome::Sent => report.sent += 1,
                Outcome::Failed => report.failed += 1,
                Outcome::Retry | Outcome::Requeued => {}
            }
        }
        report.still_pending = self.pending.len();
        Ok(report)
    }

    /// Takes every notification that is due, for one attempt each, and marks
    /// them in flight. The caller sends them *without* holding the outbox
    /// (a slow relay must not stall the alert stage, which enqueues under the
    /// same lock) and hands each result to [`Outbox::record`]. A taken
    /// notification stays pending (and in the outbox file) until recorded,
    /// so a crash in between sends it again after the restart (at least once).
    pub fn take_due(&mut self) -> Vec<Attempt> {
        self.take_limited(&mut BTreeMap::new(), u32::MAX)
    }

    fn take_limited(&mut self, tries: &mut BTreeMap<NotificationKey, u32>, max_tries: u32) -> Vec<Attempt> {
        let now = Instant::now();
        let mut taken = Vec::new();
        for (key, p) in self.pending.iter_mut() {
            let tried = tries.entry(key.clone()).or_default();
            if p.in_flight || p.next_at.is_some_and(|t| t > now) || *tried >= max_tries {
                continue;
            }
            *tried += 1;
            p.in_flight = true;
            taken.push(Attempt { key: key.clone(), notification: p.notification.clone(), number: p.attempts + 1 });
        }
        taken
    }

    /// Hands back a taken attempt that was not made (onrust was halted in
    /// between, rule L13): it stays pending as it was, due at once, with no
    /// line in the notification log, since nothing was tried.
    pub fn give_back(&mut self, attempt: Attempt) {
        if let Some(p) = self.pending.get_mut(&attempt.key) {
            p.in_flight = false;
        }
    }

    /// Records the result of a taken attempt in the notification log and
    /// the outbox's memory: sent and permanently failed are done, a temporary
    /// failure waits out its backoff. Returns the outcome.
    pub fn record(&mut self, attempt: Attempt, result: &Result<Delivered, DeliveryError>) -> Result<Outcome, LogError> {
        let (outcome, code, message) = match result {
            Ok(d) => (Outcome::Sent, d.code, d.message.clone()),
            Err(DeliveryError::Permanent { code, message }) => (Outcome::Failed, *code, message.clone()),
            Err(DeliveryError::Transient { code, message }) => (Outcome::Retry, *code, message.clone()),
        };
        let Attempt { key, notification, number } = attempt;
        if let Some(p) = self.pending.get_mut(&key) {
            p.in_flight = false;
        }
        self.log_attempt(&notification, number, outcome, code, &message)?;
        crate::internal_events::DeliveryAttempted { channel: notification.channel, outcome }.emit();
        match outcome {
            Outcome::Sent => {
                self.pending.remove(&key);
            }
            Outcome::Failed => {
                self.pending.remove(&key);
                crate::internal_events::DeliveryFailed {
                    fingerprint: &notification.fingerprint,
                    channel: notification.channel,
                    role: notification.role,
                    code,
                    message: &message,
                }
                .emit();
                let message = Some(clip(&message, 500)).filter(|m| !m.is_empty());
                let kept = Failed { notification, attempts: number, at: Utc::now(), code, message };
                self.failed.insert(key, kept);
            }
            Outcome::Retry => {
                if let Some(p) = self.pending.get_mut(&key) {
                    p.attempts = number;
                    p.failures += 1;
                    p.next_at = Some(Instant::now() + self.policy.backoff(p.failures));
                }
            }
            // Never the result of an attempt.
            Outcome::Requeued => {}
        }
        Ok(outcome)
    }

    /// The notifications that failed for good and were not sent again,
    /// oldest failure first (what [`Outbox::resend`] can queue again).
    pub fn undelivered(&self) -> Vec<Undelivered> {
        let mut out: Vec<Undelivered> = self.failed.values().map(Failed::undelivered).collect();
        out.sort_by(|a, b| a.failed_at.cmp(&b.failed_at).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
        out
    }

    /// Queues again every notification about the alert `fingerprint` that
    /// failed for good: a person fixed the address, the relay or the
    /// receiver. Each gets a `requeued` entry in the notification log with
    /// `by` and `reason` before it is pending again, so a restart keeps it
    /// pending. Sent ones are not sent again (R8: never twice), and those
    /// still retrying need no help. Returns what was queued, for the record.
    pub fn resend(&mut self, fingerprint: &str, by: &str, reason: &str) -> Result<Vec<Undelivered>, LogError> {
        let keys: Vec<NotificationKey> = self
            .failed
            .iter()
            .filter(|(_, f)| concerns(&f.notification, fingerprint))
            .map(|(k, _)| k.clone())
            .collect();
        let mut requeued = Vec::new();
        for key in keys {
            let Some(failed) = self.failed.get(&key) else { continue };
            let entry = LogEntry {
                time: Utc::now(),
                fingerprint: key.fingerprint.clone(),
                sequence: key.sequence,
                rule: failed.notification.rule.clone(),
                channel: key.channel,
                role: failed.notification.role,
                address: key.address.clone(),
                attempt: failed.attempts,
                outcome: Outcome::Requeued,
                code: None,
                message: None,
                by: Some(clip(by, 100)),
                reason: Some(clip(reason, 1000)),
            };
            append_line(&mut self.log, &self.dir.join(LOG_FILE), &serde_json::to_string(&entry)?)?;
            let Some(failed) = self.failed.remove(&key) else { continue };
            requeued.push(failed.undelivered());
            crate::internal_events::Requeued { fingerprint: &key.fingerprint, channel: key.channel, by }.emit();
            let pending = Pending {
                notification: failed.notification,
                attempts: failed.attempts,
                failures: 0,
                next_at: None,
                in_flight: false,
            };
            self.pending.insert(key, pending);
        }
        Ok(requeued)
    }

    /// How many notifications not yet sent (pending, or failed for good and
    /// so sendable again) still quote one of `message_ids`: what
    /// [`Outbox::withdraw_evidence`] would change, for an erasure's record.
    pub fn quoting(&self, message_ids: &[String]) -> usize {
        let waiting = self.pending.values().map(|p| &p.notification);
        waiting
            .chain(self.failed.values().map(|f| &f.notification))
            .filter(|notification| {
                notification
                    .content
                    .items()
                    .iter()
                    .flat_map(|item| std::iter::once(&item.alert).chain(item.previous.as_ref()))
                    .flat_map(|alert| alert.evidence.iter())
                    .any(|e| message_ids.iter().any(|id| e.quotes(id)))
            })
            .count()
    }

    /// Withdraws the messages `message_ids` from the evidence of every
    /// notification not yet sent (deleted at their source or erased on
    /// request; an excerpt is replaced, so the notification stays valid), and
    /// rewrites the outbox once when any held one. Returns how many
    /// notifications changed. What was sent is in the recipients' mailboxes
    /// and cannot be recalled.
    pub fn withdraw_evidence(&mut self, message_ids: &[String]) -> Result<usize, LogError> {
        let mut changed = 0;
        // What failed may be sent again: it quotes no deleted message either.
        let waiting = self.pending.values_mut().map(|p| &mut p.notification);
        for notification in waiting.chain(self.failed.values_mut().map(|f| &mut f.notification)) {
            let alerts = notification
                .content
                .items_mut()
                .iter_mut()
                .flat_map(|item| std::iter::once(&mut item.alert).chain(item.previous.as_mut()));
            let mut touched = false;
            for alert in alerts {
                for id in message_ids {
                    touched |= alert.withdraw_message(id);
                }
            }
            changed += usize::from(touched);
        }
        if changed > 0 {
            self.compact()?;
        }
        Ok(changed)
    }

    /// Rewrites the outbox with only what is still pending or failed for
    /// good (a person may send that again), atomically: a new file, fsynced,
    /// renamed over the old one, so it does not grow forever. The
    /// notification log is untouched: it is the record of who was told what,
    /// and its retention is the alerts data class's (L6).
    pub fn compact(&mut self) -> Result<(), LogError> {
        let path = self.dir.join(OUTBOX_FILE);
        let mut body = String::new();
        let kept = self.pending.values().map(|p| &p.notification).chain(self.failed.values().map(|f| &f.notification));
        for notification in kept {
            let line = OutboxLine { enqueued_at: Utc::now(), notification: notification.clone() };
            body.push_str(&serde_json::to_string(&line)?);
            body.push('\n');
        }
        onrust_durable::write_atomic(&path, body.as_bytes())
            .map_err(|source| LogError::Io { path: path.clone(), source })?;
        self.outbox = open_append(&path)?;
        Ok(())
    }

    /// Every attempt on record, oldest first (`onrust alerts log`).
    pub fn entries(&self) -> Result<Vec<LogEntry>, LogError> {
        read_log(&self.dir)
    }

    fn log_attempt(
        &mut self,
        n: &Notification,
        attempt: u32,
        outcome: Outcome,
        code: Option<u16>,
        message: &str,
    ) -> Result<(), LogError> {
        let entry = LogEntry {
            time: Utc::now(),
            fingerprint: n.fingerprint.clone(),
            sequence: n.sequence,
            rule: n.rule.clone(),
            channel: n.channel,
            role: n.role,
            address: n.address.clone(),
            attempt,
            outcome,
            code,
            message: Some(clip(message, 500)).filter(|m| !m.is_empty()),
            by: None,
            reason: None,
        };
        append_line(&mut self.log, &self.dir.join(LOG_FILE), &serde_json::to_string(&entry)?)
    }
}

/// Reads the notification log in `dir` (for the CLI, without opening the outbox).
pub fn read_log(dir: &Path) -> Result<Vec<LogEntry>, LogError> {
    read_lines(&dir.join(LOG_FILE))
}

fn clip(s: &str, max: usize) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect::<String>().trim().to_owned()
}

fn open_append(path: &Path) -> Result<File, LogError> {
    onrust_durable::open_private_append(path).map_err(|source| LogError::Io { path: path.into(), source })
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|source| LogError::Io { path: dir.into(), source })
}

fn append_line(file: &mut File, path: &Path, line: &str) -> Result<(), LogError> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    file.write_all(&buf).and_then(|()| file.sync_data()).map_err(|source| LogError::Io { path: path.into(), source })
}

/// Reads a JSON-lines file; a missing file is empty. A torn last line (no
/// newline: the process died mid-write) is cut off; any other bad line is an
/// error, because silently skipping it could resend or lose a mail.
fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, LogError> {
    let io = |source| LogError::Io { path: path.into(), source };
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < data.len() {
        tracing::warn!(path = %path.display(), "cutting off a torn last line");
        let f = OpenOptions::new().write(true).open(path).map_err(io)?;
        f.set_len(complete as u64).and_then(|()| f.sync_all()).map_err(io)?;
    }
    let mut out = Vec::new();
    for (n, line) in BufReader::new(&data[..complete]).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|source| LogError::Parse {
            path: path.into(),
            line: n + 1,
            source,
        })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use onrust_alert::fixtures;

    /// What a notification carries follows why the mechanics made it; the
    /// digest's day is Amsterdam's, and a summary is for the earliest
    /// announced time (without one it is an ordinary alert mail).
    #[test]
    fn content_follows_the_reason_and_the_digest_day_is_amsterdams() {
        use chrono::TimeZone;
        use onrust_alert::{NotifyReason, Role};
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).single().expect("time");
        let (early, late) = (at + chrono::TimeDelta::hours(1), at + chrono::TimeDelta::hours(5));
        let alert = |event_time| Alert { event_time, ..fixtures::alert() };
        let made = |reason, alerts: Vec<Alert>| onrust_alert::Notification {
            id: "n1".into(),
            recipients_role: Role::Officer,
            municipality: None,
            reason,
            alerts,
            group: String::new(),
            at,
            unreviewed: false,
        };
        let items = vec![Item::new(fixtures::alert(), None)];
        let digest = Content::of(&made(NotifyReason::Digest, vec![]), items.clone());
        assert_eq!(
            digest,
            Content::Digest { date: NaiveDate::from_ymd_opt(2027, 1, 1).expect("date"), items: items.clone() }
        );
        let summary =
            Content::of(&made(NotifyReason::Summary, vec![alert(Some(late)), alert(Some(early))]), items.clone());
        assert_eq!(summary, Content::Summary { event_time: early, items: items.clone() });
        let unannounced = Content::of(&made(NotifyReason::Summary, vec![alert(None)]), items.clone());
        assert_eq!(unannounced, Content::Alerts { items: items.clone() });
        assert_eq!(
            Content::of(&made(NotifyReason::ReviewRequested, vec![]), items.clone()),
            Content::Review { items: items.clone() }
        );
        assert_eq!(
            Content::of(&made(NotifyReason::Escalated, vec![]), items.clone()),
            Content::Escalation { items: items.clone() }
        );
        assert_eq!(Content::of(&made(NotifyReason::New, vec![]), items.clone()), Content::Alerts { items });
    }

    pub(super) fn notification(seq: u64, address: &str) -> Notification {
        let alert = fixtures::alert();
        Notification {
            fingerprint: alert.fingerprint.clone(),
            sequence: seq,
            rule: alert.rule.clone(),
            channel: Channel::Email,
            role: RecipientRole::Officer,
            address: address.to_owned(),
            content: Content::Alerts { items: vec![Item::new(alert, None)] },
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy { base: Duration::from_millis(1), cap: Duration::from_millis(4), max_attempts: 3 }
    }

    /// Answers from a script, then 250.
    struct Scripted(Mutex<Vec<Result<Delivered, DeliveryError>>>, Mutex<usize>);

    impl Scripted {
        fn new(mut script: Vec<Result<Delivered, DeliveryError>>) -> Self {
            script.reverse();
            Self(Mutex::new(script), Mutex::new(0))
        }
        fn calls(&self) -> usize {
            *self.1.lock().unwrap()
        }
    }

    impl Deliver for Scripted {
        async fn deliver(&self, _n: &Notification) -> Result<Delivered, DeliveryError> {
            *self.1.lock().unwrap() += 1;
            self.0.lock().unwrap().pop().unwrap_or(Ok(Delivered { code: Some(250), message: "ok".into() }))
        }
    }

    fn t451() -> Result<Delivered, DeliveryError> {
        Err(DeliveryError::Transient { code: Some(451), message: "try later".into() })
    }

    #[tokio::test]
    async fn withdrawn_evidence_leaves_what_is_not_sent_yet_also_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        let mut sent = notification(1, "oov@utrecht.example");
        sent.address = "sent@utrecht.example".into();
        assert!(ob.enqueue(sent, Utc::now()).unwrap());
        ob.deliver_pending(&Scripted::new(vec![])).await.unwrap();
        let mut waiting = notification(2, "oov@utrecht.example");
        if let Content::Alerts { items } = &mut waiting.content {
            items[0].previous = Some(items[0].alert.clone());
        }
        assert!(ob.enqueue(waiting, Utc::now()).unwrap());
        let quoted = |ob: &Outbox| -> Vec<(String, String)> {
            ob.pending()
                .iter()
                .flat_map(|n| n.content.items().iter())
                .flat_map(|i| std::iter::once(&i.alert).chain(i.previous.as_ref()))
                .flat_map(|a| a.evidence.iter().map(|e| (e.message_id.clone(), e.excerpt.clone())))
                .collect()
        };
        let before = quoted(&ob);
        assert_eq!(before.iter().map(|q| q.0.as_str()).collect::<Vec<_>>(), ["m1", "m2", "m1", "m2"]);
        assert_eq!(ob.quoting(&["m1".to_owned(), "m9".to_owned()]), 1, "what an erasure would change, counted first");
        assert_eq!(ob.withdraw_evidence(&["m1".to_owned()]).unwrap(), 1, "only the one not sent yet");
        assert_eq!(ob.quoting(&["m1".to_owned()]), 0, "nothing left to withdraw");
        let withdrawn: Vec<(String, String)> = before
            .iter()
            .map(|(id, text)| {
                (id.clone(), if id == "m1" { onrust_alert::WITHDRAWN_EXCERPT.to_owned() } else { text.clone() })
            })
            .collect();
        assert_eq!(quoted(&ob), withdrawn);
        assert_eq!(ob.withdraw_evidence(&["m1".to_owned(), "m9".to_owned()]).unwrap(), 0);
        for n in ob.pending() {
            for item in n.content.items() {
                email::validate(&item.alert).expect("still a valid notification");
            }
        }
        drop(ob);
        let ob = Outbox::open(dir.path(), fast()).unwrap();
        assert_eq!(quoted(&ob), withdrawn, "the outbox on disk holds it no more");
        let on_disk = std::fs::read_to_string(dir.path().join(OUTBOX_FILE)).unwrap();
        assert!(!on_disk.contains("nieuws/m1") && on_disk.contains("nieuws/m2"), "{on_disk}");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy { base: Duration::from_secs(1), cap: Duration::from_secs(10), max_attempts: 9 };
        let waits: Vec<u64> = (1..=6).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(p.backoff(200), Duration::from_secs(10));
    }

    #[tokio::test]
    async fn transient_then_sent_logs_every_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert!(ob.enqueue(notification(1, "oov@utrecht.example"), Utc::now()).unwrap());
        let ch = Scripted::new(vec![t451(), t451()]);
        let r = ob.deliver_pending(&ch).await.unwrap();
        assert_eq!(r, DeliveryReport { sent: 1, failed: 0, still_pending: 0 });
        let log = ob.entries().unwrap();
        let outcomes: Vec<(u32, Outcome, Option<u16>)> = log.iter().map(|e| (e.attempt, e.outcome, e.code)).collect();
        assert_eq!(
            outcomes,
            [(1, Outcome::Retry, Some(451)), (2, Outcome::Retry, Some(451)), (3, Outcome::Sent, Some(250))]
        );
        assert!(ob.pending().is_empty());
        // Nothing left: a second round sends nothing.
        assert_eq!(ob.deliver_pending(&ch).await.unwrap(), DeliveryReport::default());
        assert_eq!(ch.calls(), 3);
    }

    #[tokio::test]
    async fn permanent_failure_is_final() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        ob.enqueue(notification(1, "a@b.example"), Utc::now()).unwrap();
        let ch = Scripted::new(vec![Err(DeliveryError::Permanent { code: Some(550), message: "no such user".into() })]);
        assert_eq!(ob.deliver_pending(&ch).await.unwrap().failed, 1);
        drop(ob);
        let mut again = Outbox::open(dir.path(), fast()).unwrap();
        assert!(again.pending().is_empty());
        again.deliver_pending(&ch).await.unwrap();
        assert_eq!(ch.calls(), 1);
        assert_eq!(read_log(dir.path()).unwrap()[0].outcome, Outcome::Failed);
    }

    /// Issue 16: a permanent failure waits for a person, who sends it again
    /// (`onrust alerts resend`) with who and why on record; the requeue
    /// survives a restart and compaction, and what was sent is never sent again.
    #[tokio::test]
    async fn a_permanent_failure_is_resent_once_by_a_person_with_who_and_why_also_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        ob.enqueue(notification(1, "oov@utrecht.example"), Utc::now()).unwrap();
        ob.enqueue(notification(1, "chef@utrecht.example"), Utc::now()).unwrap();
        let mut hook = notification(1, "https://crisis.example/hooks/geheim-token");
        hook.channel = Channel::Webhook;
        ob.enqueue(hook, Utc::now()).unwrap();
        let no_user = || Err(DeliveryError::Permanent { code: Some(550), message: "5.1.1 no such user".into() });
        let refused = || Err(DeliveryError::Permanent { code: Some(410), message: "gone".into() });
        // In key order: chef@ before oov@, mail before webhook.
        let ch = Scripted::new(vec![Ok(Delivered { code: Some(250), message: "ok".into() }), no_user(), refused()]);
        assert_eq!(ob.deliver_pending(&ch).await.unwrap().failed, 2);
        let fingerprint = fixtures::alert().fingerprint;
        let undelivered = ob.undelivered();
        let shown: Vec<(&str, Option<u16>)> = undelivered.iter().map(|u| (u.recipient.as_str(), u.code)).collect();
        assert_eq!(shown, [("oov@utrecht.example", Some(550)), ("https://crisis.example/…", Some(410))]);
        assert!(undelivered.iter().all(|u| u.alerts[0].fingerprint == fingerprint), "{undelivered:?}");
        assert!(!format!("{undelivered:?}").contains("geheim-token"), "a webhook by its origin only (S9)");
        // Compacted and reopened, what failed can still be sent again.
        ob.compact().unwrap();
        drop(ob);
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert_eq!(ob.undelivered().len(), 2);
        assert!(ob.pending().is_empty(), "a failure waits for a person");
        assert!(ob.resend("0000000000", "chef-van-dienst", "x").unwrap().is_empty(), "another alert: nothing");
        let resent = ob.resend(&fingerprint, "chef-van-dienst", "adres hersteld").unwrap();
        assert_eq!(resent.len(), 2, "every failed one about the alert, not the sent one");
        assert!(ob.undelivered().is_empty());
        let requeued: Vec<LogEntry> =
            ob.entries().unwrap().into_iter().filter(|e| e.outcome == Outcome::Requeued).collect();
        assert_eq!(requeued.len(), 2);
        assert_eq!(requeued[0].by.as_deref(), Some("chef-van-dienst"));
        assert_eq!(requeued[0].reason.as_deref(), Some("adres hersteld"));
        assert_eq!(requeued[0].attempt, 1, "attempts so far; a requeue is not one");
        // A restart before the next attempt: still pending, attempts counting on.
        drop(ob);
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert_eq!(ob.pending().len(), 2);
        let ch = Scripted::new(vec![]);
        assert_eq!(ob.deliver_pending(&ch).await.unwrap().sent, 2);
        let last: Vec<(Outcome, u32)> =
            ob.entries().unwrap().iter().rev().take(2).map(|e| (e.outcome, e.attempt)).collect();
        assert_eq!(last, [(Outcome::Sent, 2), (Outcome::Sent, 2)]);
        assert!(ob.resend(&fingerprint, "chef-van-dienst", "nog eens").unwrap().is_empty(), "sent: never twice (R8)");
        drop(ob);
        let ob = Outbox::open(dir.path(), fast()).unwrap();
        assert!(ob.pending().is_empty() && ob.undelivered().is_empty());
        assert_eq!(ch.calls(), 2);
    }

    #[tokio::test]
    async fn a_deleted_message_leaves_what_failed_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        ob.enqueue(notification(1, "oov@utrecht.example"), Utc::now()).unwrap();
        let ch = Scripted::new(vec![Err(DeliveryError::Permanent { code: Some(550), message: "no".into() })]);
        ob.deliver_pending(&ch).await.unwrap();
        assert_eq!(ob.withdraw_evidence(&["m1".to_owned()]).unwrap(), 1, "a failed one may be sent again");
        drop(ob);
        let on_disk = std::fs::read_to_string(dir.path().join(OUTBOX_FILE)).unwrap();
        assert!(!on_disk.contains("nieuws/m1") && on_disk.contains("nieuws/m2"), "{on_disk}");
        assert_eq!(Outbox::open(dir.path(), fast()).unwrap().undelivered().len(), 1, "still there to resend");
    }

    #[tokio::test]
    async fn still_failing_stays_queued_and_counts_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        ob.enqueue(notification(1, "a@b.example"), Utc::now()).unwrap();
        let ch = Scripted::new(vec![t451(), t451(), t451(), t451()]);
        assert_eq!(ob.deliver_pending(&ch).await.unwrap().still_pending, 1);
        drop(ob);
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert_eq!(ob.pending().len(), 1);
        assert_eq!(ob.deliver_pending(&ch).await.unwrap().sent, 1);
        let attempts: Vec<u32> = ob.entries().unwrap().iter().map(|e| e.attempt).collect();
        assert_eq!(attempts, [1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn enqueue_is_idempotent_and_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert!(ob.enqueue(notification(1, "a@b.example"), Utc::now()).unwrap());
        assert!(!ob.enqueue(notification(1, "a@b.example"), Utc::now()).unwrap());
        // Another recipient and the next sequence are other notifications.
        assert!(ob.enqueue(notification(1, "c@d.example"), Utc::now()).unwrap());
        assert!(ob.enqueue(notification(2, "a@b.example"), Utc::now()).unwrap());
        drop(ob); // "crash" before sending
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert_eq!(ob.pending().len(), 3);
        assert!(!ob.enqueue(notification(1, "a@b.example"), Utc::now()).unwrap());
        let ch = Scripted::new(vec![]);
        assert_eq!(ob.deliver_pending(&ch).await.unwrap().sent, 3);
        drop(ob);
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert!(!ob.enqueue(notification(2, "a@b.example"), Utc::now()).unwrap());
        ob.deliver_pending(&ch).await.unwrap();
        assert_eq!(ch.calls(), 3);
    }

    /// Fails every delivery to `bad@…` with 451; sends the rest.
    struct OneBadRecipient(Mutex<Vec<String>>);

    impl Deliver for OneBadRecipient {
        async fn deliver(&self, n: &Notification) -> Result<Delivered, DeliveryError> {
            self.0.lock().unwrap().push(n.address.clone());
            if n.address.starts_with("bad@") { t451() } else { Ok(Delivered { code: Some(250), message: "ok".into() }) }
        }
    }

    #[tokio::test]
    async fn a_failing_recipient_never_delays_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let slow = RetryPolicy { base: Duration::from_secs(3600), cap: Duration::from_secs(7200), max_attempts: 3 };
        let mut ob = Outbox::open(dir.path(), slow).unwrap();
        // "bad@" sorts before "good@": it is tried first and must not hold up the second.
        ob.enqueue(notification(1, "bad@b.example"), Utc::now()).unwrap();
        ob.enqueue(notification(1, "good@b.example"), Utc::now()).unwrap();
        assert!(ob.next_due().unwrap() <= Instant::now());
        let ch = OneBadRecipient(Mutex::new(Vec::new()));
        let r = tokio::time::timeout(Duration::from_secs(5), ob.deliver_due(&ch)).await.unwrap().unwrap();
        assert_eq!((r.sent, r.failed, r.still_pending), (1, 0, 1));
        // The failing one waits out its backoff; calling again too early does nothing.
        assert!(ob.next_due().unwrap() >= Instant::now() + Duration::from_secs(3500));
        ob.deliver_due(&ch).await.unwrap();
        assert_eq!(*ch.0.lock().unwrap(), ["bad@b.example", "good@b.example"]);
        let log = ob.entries().unwrap();
        assert_eq!(log.iter().map(|e| e.outcome).collect::<Vec<_>>(), [Outcome::Retry, Outcome::Sent]);
    }

    #[test]
    fn bad_addresses_are_refused_at_enqueue() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        for bad in ["a@b.example\r\nBcc: x@example.org", "a@b.example, c@d.example", "geen adres"] {
            let err = ob.enqueue(notification(1, bad), Utc::now()).unwrap_err();
            assert!(matches!(err, LogError::Address { channel: Channel::Email, .. }), "{bad:?}: {err}");
            // The address check's own error stays the cause.
            let check = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<EmailError>());
            assert!(check.is_some(), "{bad:?}: {err:?}");
        }
        let mut hook = notification(1, "http://hooks.example.org/x");
        hook.channel = Channel::Webhook;
        let err = ob.enqueue(hook, Utc::now()).unwrap_err();
        assert!(
            err.to_string().starts_with("webhook notification refused: invalid webhook url: http is only"),
            "{err}"
        );
        assert!(ob.pending().is_empty());
    }

    #[test]
    fn a_second_owner_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Outbox::open(dir.path(), fast()).unwrap();
        let err = Outbox::open(dir.path(), fast()).unwrap_err();
        assert!(matches!(err, LogError::Locked(_)), "{err}");
        assert!(err.to_string().ends_with("is in use by another onrust process"));
    }

    #[tokio::test]
    async fn compaction_keeps_pending_and_still_deduplicates() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        ob.enqueue(notification(1, "a@b.example"), Utc::now()).unwrap();
        let ch = Scripted::new(vec![]);
        ob.deliver_pending(&ch).await.unwrap();
        ob.enqueue(notification(2, "a@b.example"), Utc::now()).unwrap();
        ob.compact().unwrap();
        let lines = std::fs::read_to_string(dir.path().join(OUTBOX_FILE)).unwrap();
        assert_eq!(lines.lines().count(), 1, "only the pending one is kept");
        // Still locked by this owner after the rename.
        assert!(matches!(Outbox::open(dir.path(), fast()), Err(LogError::Locked(_))));
        drop(ob);
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert_eq!(ob.pending().len(), 1);
        // The sent one is gone from the outbox but known from the log.
        assert!(!ob.enqueue(notification(1, "a@b.example"), Utc::now()).unwrap());
        ob.deliver_pending(&ch).await.unwrap();
        assert_eq!(ch.calls(), 2);
    }

    #[test]
    fn incomplete_alert_is_refused_at_enqueue() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        let mut n = notification(1, "a@b.example");
        if let Content::Alerts { items } = &mut n.content {
            items[0].alert.reasons.clear();
        }
        let err = ob.enqueue(n, Utc::now()).unwrap_err();
        assert!(err.to_string().contains("is missing reasons"), "{err}");
        assert!(ob.pending().is_empty());
    }

    #[test]
    fn torn_last_line_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        ob.enqueue(notification(1, "a@b.example"), Utc::now()).unwrap();
        drop(ob);
        let path = dir.path().join(OUTBOX_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"enqueued_at\":\"2026-").unwrap();
        drop(f);
        let mut ob = Outbox::open(dir.path(), fast()).unwrap();
        assert_eq!(ob.pending().len(), 1);
        ob.enqueue(notification(2, "a@b.example"), Utc::now()).unwrap();
        drop(ob);
        assert_eq!(Outbox::open(dir.path(), fast()).unwrap().pending().len(), 2);
    }
}
