//! What the wiring reports: each event logs and counts in one place.
//!
//! Labels are bounded sets only (docs/ARCHITECTURE.md, "Observability"): `stage`,
//! `outcome`, `theme`, `level`, `municipality`, `rule`, `severity`,
//! `channel`, `source`. Never an id, a URL, a query or an author
//! (rule L1). A `municipality` label is a CBS code of the configured
//! region, `other` for a place outside it, or `none`.
//!
//! Every metric name onrust emits is declared here or in the
//! `internal_events` module of its crate, described by [`describe_all`];
//! docs/metrics.md lists them and a test keeps the dashboards, the
//! Prometheus rules and that list to what is declared.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::{SharedString, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use onrust_model::MunicipalityCode;

pub const STAGE_MESSAGES_TOTAL: &str = "onrust_stage_messages_total";
pub const STAGE_LATENCY: &str = "onrust_stage_latency_seconds";
pub const QUEUE_DEPTH: &str = "onrust_bus_queue_depth";
pub const CLASSIFIED_MESSAGES_TOTAL: &str = "onrust_classified_messages_total";
pub const CLASSIFIED_THEME_MESSAGES_TOTAL: &str = "onrust_classified_theme_messages_total";
pub const CLASSIFIED_TOTAL: &str = "onrust_classified_total";
pub const READY: &str = "onrust_ready";
pub const MANDATE_DAYS_LEFT: &str = "onrust_mandate_days_left";
pub const KEY_PURGES_TOTAL: &str = "onrust_pseudonym_key_purges_total";
pub const ALERT_CYCLE: &str = "onrust_alert_cycle_seconds";
pub const ALERT_NOTIFICATIONS_TOTAL: &str = "onrust_alert_notifications_total";
pub const ALERT_ACKNOWLEDGEMENTS_TOTAL: &str = "onrust_alert_acknowledgements_total";
pub const ALERTS_FIRING: &str = "onrust_alerts_firing";
pub const MUNICIPALITY_ALERTS_FIRING: &str = "onrust_municipality_alerts_firing";
pub const ANNOUNCED_ACTIONS: &str = "onrust_announced_actions";
pub const ALERT_LATE_ARRIVALS_TOTAL: &str = "onrust_alert_late_arrivals_total";
pub const ALERT_FAILURE_NOTICES_TOTAL: &str = "onrust_alert_delivery_failure_notices_total";
pub const SOURCE_INTERVAL: &str = "onrust_source_interval_seconds";
pub const COVERAGE: &str = "onrust_coverage";
pub const ARCHIVE_BYTES: &str = "onrust_archive_bytes";
pub const ARCHIVE_LARGEST_BUCKET_BYTES: &str = "onrust_archive_largest_bucket_bytes";
pub const RETENTION_REMOVED_TOTAL: &str = "onrust_retention_removed_total";

/// How far ahead `onrust_announced_actions` looks.
pub const ANNOUNCED_AHEAD: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Registers descriptions of every onrust metric, of all crates, with the installed recorder.
pub fn describe_all() {
    onrust_bus::describe_metrics();
    onrust_ingest::describe_metrics();
    onrust_archive::describe_metrics();
    onrust_notify::describe_metrics();
    onrust_web::describe_metrics();
    describe_metrics();
}

/// Registers descriptions of the binary's own metrics.
pub fn describe_metrics() {
    describe_counter!(STAGE_MESSAGES_TOTAL, Unit::Count, "Messages handled per pipeline stage, by outcome.");
    describe_counter!(
        RETENTION_REMOVED_TOTAL,
        Unit::Count,
        "Items removed by retention, per data class other than the archive (records, entries, notifications)."
    );
    describe_histogram!(
        STAGE_LATENCY,
        Unit::Seconds,
        "Time a batch spends in a stage (archive: from its first message to the commit that makes it searchable)."
    );
    describe_gauge!(QUEUE_DEPTH, Unit::Count, "Records waiting for a stage on the embedded bus.");
    describe_counter!(CLASSIFIED_MESSAGES_TOTAL, Unit::Count, "Classified messages per escalation level.");
    describe_counter!(CLASSIFIED_THEME_MESSAGES_TOTAL, Unit::Count, "Classified messages per theme.");
    describe_counter!(
        CLASSIFIED_TOTAL,
        Unit::Count,
        "Classified messages per municipality (region code, other or none), theme (or none) and level; a message about two places counts in both."
    );
    describe_gauge!(READY, "1 while the daemon is ready.");
    describe_gauge!(
        MANDATE_DAYS_LEFT,
        Unit::Count,
        "Days from today to the last day of each mandate (0 on its last day, negative once ended), Europe/Amsterdam dates."
    );
    describe_counter!(KEY_PURGES_TOTAL, Unit::Count, "Hourly deletions of old pseudonym keys, by outcome.");
    describe_histogram!(ALERT_CYCLE, Unit::Seconds, "Time one round of the alert stage takes.");
    describe_counter!(
        ALERT_NOTIFICATIONS_TOTAL,
        Unit::Count,
        "Notifications per rule, severity and channel, by outcome (queued, unexplained)."
    );
    describe_counter!(
        ALERT_ACKNOWLEDGEMENTS_TOTAL,
        Unit::Count,
        "Alerts acknowledged by an officer, per rule and severity."
    );
    describe_gauge!(ALERTS_FIRING, Unit::Count, "Alerts firing now, per rule and severity.");
    describe_gauge!(MUNICIPALITY_ALERTS_FIRING, Unit::Count, "Alerts firing now, per municipality and severity.");
    describe_gauge!(
        ANNOUNCED_ACTIONS,
        Unit::Count,
        "Announced actions (demonstrations, blockades, ...) with an event time in the next 7 days, per municipality."
    );
    describe_counter!(
        ALERT_LATE_ARRIVALS_TOTAL,
        Unit::Count,
        "Messages the alert stage received 30 minutes or more after their publication, per source; critical and announcement rules judge them by arrival."
    );
    describe_counter!(
        ALERT_FAILURE_NOTICES_TOTAL,
        Unit::Count,
        "Notifications that failed for good, per channel that failed, by whether a supervisor was told through another channel (told, nobody, notice_failed)."
    );
    describe_gauge!(SOURCE_INTERVAL, Unit::Seconds, "The configured poll interval of a source.");
    describe_gauge!(
        COVERAGE,
        "Per municipality: the fraction of the sources that cover it which delivered within three poll intervals (0..1)."
    );
    describe_gauge!(ARCHIVE_BYTES, Unit::Bytes, "Bytes on disk of all archive buckets.");
    describe_gauge!(ARCHIVE_LARGEST_BUCKET_BYTES, Unit::Bytes, "Bytes on disk of the largest archive bucket.");
}

/// The municipalities of the configured region; unset or empty: every valid code is its own label.
static REGION: OnceLock<BTreeSet<&'static str>> = OnceLock::new();

/// Sets the region whose municipalities are metric labels (once per process; later calls are ignored).
pub fn set_region(municipalities: &[String]) {
    let set = municipalities.iter().map(|m| &*Box::leak(m.clone().into_boxed_str())).collect();
    let _ = REGION.set(set);
}

/// The `municipality` label of a place: its code when it is in the region
/// (or no region is set), `other` outside it, `none` for no place.
pub fn municipality_label(code: Option<&MunicipalityCode>) -> SharedString {
    match (code, REGION.get()) {
        (None, _) => SharedString::const_str("none"),
        (Some(code), Some(region)) if !region.is_empty() => match region.get(code.as_str()) {
            Some(known) => SharedString::const_str(known),
            None => SharedString::const_str("other"),
        },
        (Some(code), _) => SharedString::from(code.as_str().to_owned()),
    }
}

/// The labels every per-municipality gauge is set for, so quiet places show 0, not nothing.
pub fn municipality_labels() -> Vec<SharedString> {
    let mut out: Vec<SharedString> = REGION.get().into_iter().flatten().map(|m| SharedString::const_str(m)).collect();
    if !out.is_empty() {
        out.push(SharedString::const_str("other"));
    }
    out.push(SharedString::const_str("none"));
    out
}

/// Makes every counter series the dashboards and the Prometheus rules read
/// exist at 0 from the start, for every label set known up front: each region
/// municipality × theme (and `none`) × level of `onrust_classified_total`,
/// each level and theme of its two sums, each stage's `ok` and `dead_letter`.
/// A counter born at 1 on its first increment is invisible to `increase()`,
/// so without this the escalation index would miss the first call to
/// violence in a quiet municipality. Without a `[region]` the 342
/// municipalities are not registered (their series would outnumber what
/// ever occurs); set a region.
pub fn register_counter_series(themes: &[&str]) {
    let places: Vec<SharedString> = REGION.get().into_iter().flatten().map(|m| SharedString::const_str(m)).collect();
    let mut theme_labels: Vec<SharedString> = themes.iter().map(|t| SharedString::from((*t).to_owned())).collect();
    theme_labels.push(SharedString::const_str("none"));
    for level in ["0", "1", "2", "3"] {
        counter!(CLASSIFIED_MESSAGES_TOTAL, "level" => level).increment(0);
        for place in &places {
            for theme in &theme_labels {
                counter!(CLASSIFIED_TOTAL, "municipality" => place.clone(), "theme" => theme.clone(), "level" => level)
                    .increment(0);
            }
        }
    }
    for theme in themes {
        counter!(CLASSIFIED_THEME_MESSAGES_TOTAL, "theme" => (*theme).to_owned()).increment(0);
    }
    for stage in ["ingest", "classify", "archive", "alert"] {
        for outcome in ["ok", "dead_letter"] {
            counter!(STAGE_MESSAGES_TOTAL, "stage" => stage, "outcome" => outcome).increment(0);
        }
    }
}

/// A stage handled messages.
pub struct StageProcessed {
    pub stage: &'static str,
    pub outcome: &'static str,
    pub count: u64,
}

impl StageProcessed {
    pub fn emit(&self) {
        tracing::trace!(stage = self.stage, outcome = self.outcome, count = self.count, "stage processed");
        counter!(STAGE_MESSAGES_TOTAL, "stage" => self.stage, "outcome" => self.outcome).increment(self.count);
    }
}

/// Retention removed what had outlived its data class's period (its record
/// is already in the audit log). The archive counts its buckets itself.
pub struct RetentionApplied {
    /// `alert_state`, `notification_log`, `outbox`, `audit_log` or `dead_letters`.
    pub class: &'static str,
    pub removed: u64,
}

impl RetentionApplied {
    pub fn emit(&self) {
        tracing::info!(class = self.class, removed = self.removed, "retention removed what outlived its period");
        counter!(RETENTION_REMOVED_TOTAL, "class" => self.class).increment(self.removed);
    }
}

/// A message deleted at its source was withdrawn from the alerts' evidence.
pub struct AlertEvidenceWithdrawn {
    /// Some alert, announced action or told copy held it.
    pub found: bool,
}

impl AlertEvidenceWithdrawn {
    pub fn emit(&self) {
        if self.found {
            tracing::info!("a message deleted at its source was withdrawn from alert evidence");
        }
        let outcome = if self.found { "deletion_withdrawn" } else { "deletion_not_evidence" };
        counter!(STAGE_MESSAGES_TOTAL, "stage" => "alert", "outcome" => outcome).increment(1);
    }
}

/// A message could not be processed and went to the dead letters (rule R4).
pub struct DeadLettered<'a> {
    pub stage: &'static str,
    pub reason: &'a str,
    pub offset: i64,
}

impl DeadLettered<'_> {
    pub fn emit(&self) {
        tracing::warn!(stage = self.stage, offset = self.offset, reason = self.reason, "message sent to dead letters");
        counter!(STAGE_MESSAGES_TOTAL, "stage" => self.stage, "outcome" => "dead_letter").increment(1);
    }
}

/// The classifier assessed a message.
pub struct Classified<'a> {
    pub level: u8,
    pub themes: &'a [String],
    pub municipalities: &'a [MunicipalityCode],
}

impl Classified<'_> {
    pub fn emit(&self) {
        let level = level_label(self.level);
        counter!(CLASSIFIED_MESSAGES_TOTAL, "level" => level).increment(1);
        for theme in self.themes {
            counter!(CLASSIFIED_THEME_MESSAGES_TOTAL, "theme" => theme.clone()).increment(1);
        }
        let mut places: Vec<SharedString> = self.municipalities.iter().map(|m| municipality_label(Some(m))).collect();
        if places.is_empty() {
            places.push(municipality_label(None));
        }
        places.sort_unstable();
        places.dedup();
        for place in places {
            if self.themes.is_empty() {
                counter!(CLASSIFIED_TOTAL, "municipality" => place.clone(), "theme" => "none", "level" => level)
                    .increment(1);
            }
            for theme in self.themes {
                counter!(CLASSIFIED_TOTAL, "municipality" => place.clone(), "theme" => theme.clone(), "level" => level)
                    .increment(1);
            }
        }
    }
}

fn level_label(level: u8) -> &'static str {
    match level {
        0 => "0",
        1 => "1",
        2 => "2",
        _ => "3",
    }
}

/// The archive made a batch searchable.
pub struct ArchiveBatchCommitted {
    pub documents: usize,
    pub oldest_wait: Duration,
}

impl ArchiveBatchCommitted {
    pub fn emit(&self) {
        tracing::debug!(
            documents = self.documents,
            oldest_wait_ms = self.oldest_wait.as_millis() as u64,
            "archive batch searchable"
        );
        counter!(STAGE_MESSAGES_TOTAL, "stage" => "archive", "outcome" => "ok").increment(self.documents as u64);
        histogram!(STAGE_LATENCY, "stage" => "archive").record(self.oldest_wait.as_secs_f64());
    }
}

/// The archive stage resumed from the positions in its last commit (R3).
pub struct ArchiveResumed {
    pub partitions: usize,
}

impl ArchiveResumed {
    pub fn emit(&self) {
        tracing::info!(partitions = self.partitions, "archive resumes from the positions of its last commit");
    }
}

/// How many records wait on a topic for a stage.
pub struct QueueDepth {
    pub stage: String,
    pub depth: usize,
}

impl QueueDepth {
    pub fn emit(&self) {
        gauge!(QUEUE_DEPTH, "stage" => self.stage.clone()).set(self.depth as f64);
    }
}

/// The daemon's readiness changed.
pub struct Readiness {
    pub ready: bool,
}

impl Readiness {
    pub fn emit(&self) {
        tracing::info!(ready = self.ready, "readiness changed");
        gauge!(READY).set(if self.ready { 1.0 } else { 0.0 });
    }
}

/// A source was stopped for a halt, or starts again after the resume (rule L13).
pub struct SourceHalted<'a> {
    pub source: &'a str,
    pub halted: bool,
}

impl SourceHalted<'_> {
    pub fn emit(&self) {
        if self.halted {
            tracing::info!(
                source = self.source,
                "source stopped: onrust is halted; it starts from its cursor on `onrust resume`"
            );
        } else {
            tracing::info!(source = self.source, "source starts again from its cursor: onrust resumed");
        }
    }
}

/// A source could not be made again after a resume; the others run on.
pub struct SourceRestartFailed<'a> {
    pub source: &'a str,
    pub error: &'a anyhow::Error,
}

impl SourceRestartFailed<'_> {
    pub fn emit(&self) {
        tracing::error!(source = self.source, error = %format!("{:#}", self.error), "source could not start again after the resume");
    }
}

/// Old pseudonym keys were deleted (or could not be).
pub struct KeysPurged {
    pub removed: usize,
    pub error: Option<String>,
}

impl KeysPurged {
    pub fn emit(&self) {
        match &self.error {
            None if self.removed > 0 => tracing::info!(removed = self.removed, "old pseudonym keys deleted"),
            None => {}
            Some(error) => tracing::error!(error = %error, "old pseudonym keys could not be deleted"),
        }
        let outcome = if self.error.is_some() { "error" } else { "ok" };
        counter!(KEY_PURGES_TOTAL, "outcome" => outcome).increment(1);
    }
}

/// At start, the audit log was repaired or found cut short (rule L7).
pub struct AuditRecovered<'a> {
    pub path: &'a std::path::Path,
    pub recovered: &'a onrust_audit::Recovered,
}

impl AuditRecovered<'_> {
    pub fn emit(&self) {
        if let Some(moved) = &self.recovered.tail_moved {
            tracing::warn!(
                audit_log = %self.path.display(),
                line = moved.line,
                moved_to = %moved.file.display(),
                "the audit log's last line was not a whole record (a write that did not finish); \
                 moved it aside and recorded that"
            );
        }
        if let Some(truncation) = &self.recovered.truncation {
            tracing::error!(
                audit_log = %self.path.display(),
                sealed = truncation.checkpoint.as_ref().map(|c| c.seq),
                found = truncation.found_seq,
                "the audit log ends before the record its checkpoint sealed: records were removed; \
                 recorded as a gap, which `onrust audit verify` reports"
            );
        }
        if self.recovered.sealed_now {
            tracing::info!(audit_log = %self.path.display(), "the audit log had no checkpoint; sealed it as it stands");
        }
    }
}

/// At start, files or folders in the data dir that group or others could
/// read were made owner-only.
pub struct DataDirTightened<'a> {
    pub data_dir: &'a std::path::Path,
    pub tightened: onrust_durable::Tightened,
}

impl DataDirTightened<'_> {
    pub fn emit(&self) {
        if self.tightened.changed > 0 {
            tracing::warn!(
                data_dir = %self.data_dir.display(),
                changed = self.tightened.changed,
                of = self.tightened.seen,
                "other users on this machine could read files in the data dir; they are now its owner's only \
                 (files 0600, folders 0700)"
            );
        }
    }
}

/// At start: the file-descriptor limit covers what this configuration
/// needs, maybe after raising it to the hard limit.
pub struct DescriptorsChecked {
    pub limit: crate::descriptors::Ensured,
    pub needed: u64,
}

impl DescriptorsChecked {
    pub fn emit(&self) {
        let (before, now) = (self.limit.before.soft, self.limit.now.soft);
        if before == now {
            tracing::info!(limit = now, needed = self.needed, "the file-descriptor limit covers the configuration");
        } else {
            tracing::info!(
                from = before,
                to = now,
                needed = self.needed,
                "raised the file-descriptor limit to the hard limit to cover the configuration"
            );
        }
    }
}

/// One round of the alert stage: evaluated (or only ticked after an alert
/// fired on arrival), notifications made and queued, messages acknowledged.
pub struct AlertCycle {
    pub evaluated: bool,
    pub notifications: usize,
    pub queued: usize,
    pub acknowledged: usize,
    pub took: Duration,
}

impl AlertCycle {
    pub fn emit(&self) {
        tracing::debug!(
            evaluated = self.evaluated,
            notifications = self.notifications,
            queued = self.queued,
            acknowledged = self.acknowledged,
            took_ms = self.took.as_millis() as u64,
            "alert cycle"
        );
        histogram!(ALERT_CYCLE, "stage" => "alert").record(self.took.as_secs_f64());
    }
}

/// A notification was put in the outbox for one recipient.
pub struct AlertNotificationQueued<'a> {
    pub rule: &'a str,
    pub severity: &'static str,
    pub role: &'static str,
    /// `email` or `webhook`.
    pub channel: &'static str,
    pub reason: onrust_alert::NotifyReason,
}

impl AlertNotificationQueued<'_> {
    pub fn emit(&self) {
        tracing::info!(rule = self.rule, role = self.role, channel = self.channel, reason = ?self.reason, "alert notification queued");
        let rule = self.rule.to_owned();
        counter!(ALERT_NOTIFICATIONS_TOTAL, "rule" => rule, "severity" => self.severity, "channel" => self.channel, "outcome" => "queued")
            .increment(1);
    }
}

/// Alerts are kept but nothing will be mailed (no relay or no recipients); logged once at start.
pub struct AlertsNotMailed {
    pub smtp: bool,
    pub recipients: usize,
}

impl AlertsNotMailed {
    pub fn emit(&self) {
        tracing::warn!(
            smtp = self.smtp,
            recipients = self.recipients,
            "alerts are kept but nothing will be mailed: configure [smtp] and [[recipients]]"
        );
    }
}

/// An alert lacks a field its explanation needs, so it is not sent (rule L9).
pub struct AlertUnexplained<'a> {
    pub fingerprint: &'a str,
    pub error: &'a str,
}

impl AlertUnexplained<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            fingerprint = self.fingerprint,
            error = self.error,
            "alert not sent: it does not explain itself"
        );
        counter!(ALERT_NOTIFICATIONS_TOTAL, "channel" => "email", "outcome" => "unexplained").increment(1);
    }
}

/// A message reached onrust long after it was published (a feed's delay, an
/// outage, a restart). Critical and announcement rules judge it by when it
/// arrived, so it still alerts; this counts how often, per source.
pub struct LateArrival<'a> {
    pub source: &'a str,
    pub minutes: i64,
    pub level: u8,
}

impl<'a> LateArrival<'a> {
    /// How long after its publication a message counts as late.
    pub const AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(30);

    /// Every configured source's counter, at 0 from the start.
    pub fn register(sources: &[String]) {
        for source in sources {
            counter!(ALERT_LATE_ARRIVALS_TOTAL, "source" => source.clone()).increment(0);
        }
    }

    /// The message's lateness, when it is late.
    pub fn of(message: &'a onrust_model::ScoredMessage) -> Option<Self> {
        let published = message.message.published_at?.with_timezone(&Utc);
        let late = message.message.fetched_at - published;
        (late >= Self::AFTER).then(|| Self {
            source: message.message.source.as_str(),
            minutes: late.num_minutes(),
            level: message.assessment.level.as_u8(),
        })
    }

    pub fn emit(&self) {
        if self.level >= 3 {
            tracing::info!(
                source = self.source,
                minutes = self.minutes,
                "a level-3 message arrived long after its publication; rules judge it by its arrival"
            );
        }
        counter!(ALERT_LATE_ARRIVALS_TOTAL, "source" => self.source.to_owned()).increment(1);
    }
}

/// A notification is due but no recipient is configured for its role and
/// place: nobody hears of these alerts until one is.
pub struct AlertNobodyToTell<'a> {
    pub notification: &'a onrust_alert::Notification,
}

impl AlertNobodyToTell<'_> {
    pub fn emit(&self) {
        let n = self.notification;
        let place = match (&n.municipality, n.alerts.iter().any(|a| a.unplaced)) {
            (Some(code), _) => code.as_str().to_owned(),
            (None, true) => "plaats onbekend".to_owned(),
            (None, false) => "region-wide".to_owned(),
        };
        let rules: Vec<&str> = n.alerts.iter().map(|a| a.rule.as_str()).collect();
        tracing::warn!(
            role = n.recipients_role.as_str(),
            place = %place,
            rules = %rules.join(","),
            reason = ?n.reason,
            "nobody to tell: no [[recipients]] or [[webhooks]] entry for this role and municipality, nor one with municipality \"*\""
        );
    }
}

/// A notification failed for good, and the supervisors were told of it
/// through another channel (`told`), or could not be: no other supervisor
/// mailbox or webhook is configured (`nobody`), or what failed was itself
/// such a notice (`notice_failed`: told to nobody, so it cannot loop).
pub struct DeliveryFailureTold<'a> {
    /// The channel that failed.
    pub channel: onrust_alert::Channel,
    pub outcome: &'static str,
    /// Notices queued.
    pub notices: usize,
    /// The failed notification's fingerprint, for the log (never a label).
    pub fingerprint: &'a str,
}

/// The outcomes of [`DeliveryFailureTold`].
const FAILURE_NOTICE_OUTCOMES: [&str; 3] = ["told", "nobody", "notice_failed"];

impl DeliveryFailureTold<'_> {
    /// Every channel × outcome series at 0 from the start (a quiet screen shows 0).
    pub fn register() {
        for channel in [onrust_alert::Channel::Email, onrust_alert::Channel::Webhook] {
            for outcome in FAILURE_NOTICE_OUTCOMES {
                counter!(ALERT_FAILURE_NOTICES_TOTAL, "channel" => channel.as_str(), "outcome" => outcome).increment(0);
            }
        }
    }

    pub fn emit(&self) {
        let channel = self.channel.as_str();
        match self.outcome {
            "told" => tracing::warn!(
                fingerprint = self.fingerprint,
                channel,
                notices = self.notices,
                "a notification failed for good; the supervisors are told through another channel"
            ),
            "nobody" => tracing::error!(
                fingerprint = self.fingerprint,
                channel,
                "a notification failed for good and no other supervisor mailbox or webhook is configured to tell; \
                 onrust alerts log shows it, onrust alerts resend sends it again"
            ),
            _ => tracing::error!(
                fingerprint = self.fingerprint,
                channel,
                "a notice about a failed notification failed too; it is told to nobody else (no loop)"
            ),
        }
        counter!(ALERT_FAILURE_NOTICES_TOTAL, "channel" => channel, "outcome" => self.outcome).increment(1);
    }
}

/// A stage finished a batch.
pub struct StageBatchDone {
    pub stage: &'static str,
    pub took: Duration,
}

impl StageBatchDone {
    pub fn emit(&self) {
        histogram!(STAGE_LATENCY, "stage" => self.stage).record(self.took.as_secs_f64());
    }
}

/// An officer acknowledged an alert (who is in the audit log, never in a metric).
pub struct AlertAcknowledged<'a> {
    pub rule: &'a str,
    pub severity: &'static str,
}

impl AlertAcknowledged<'_> {
    pub fn emit(&self) {
        tracing::info!(rule = self.rule, severity = self.severity, "alert acknowledged");
        counter!(ALERT_ACKNOWLEDGEMENTS_TOTAL, "rule" => self.rule.to_owned(), "severity" => self.severity)
            .increment(1);
    }
}

/// The alert state as gauges: alerts firing per rule × severity and per
/// municipality × severity, announced actions in the next 7 days per
/// municipality. Every configured rule and every region municipality is set,
/// to 0 when quiet, so a quiet screen shows 0 rather than no data.
pub struct AlertsSnapshot<'a, I> {
    pub rules: &'a [onrust_alert::Rule],
    pub alerts: I,
    pub calendar: &'a onrust_alert::Calendar,
    pub now: DateTime<Utc>,
}

const SEVERITIES: [onrust_alert::Severity; 3] =
    [onrust_alert::Severity::Info, onrust_alert::Severity::Warning, onrust_alert::Severity::Critical];

impl<'a, I: Iterator<Item = &'a onrust_alert::Alert>> AlertsSnapshot<'a, I> {
    pub fn emit(self) {
        // Every severity of every rule: an announcement with calls to violence
        // among its messages is raised above its rule's severity.
        let mut by_rule: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
        for rule in self.rules {
            for severity in SEVERITIES {
                by_rule.insert((rule.name.clone(), severity.as_str()), 0);
            }
        }
        let places = municipality_labels();
        let mut by_place: BTreeMap<(SharedString, &'static str), u64> = BTreeMap::new();
        for place in &places {
            for severity in SEVERITIES {
                by_place.insert((place.clone(), severity.as_str()), 0);
            }
        }
        for alert in self.alerts.filter(|a| a.status == onrust_alert::AlertStatus::Firing) {
            // Only configured rules are labels, so a renamed rule cannot add series.
            if let Some(n) = by_rule.get_mut(&(alert.rule.clone(), alert.severity.as_str())) {
                *n += 1;
            }
            *by_place.entry((municipality_label(alert.municipality.as_ref()), alert.severity.as_str())).or_default() +=
                1;
        }
        onrust_notify::register_delivery_series();
        for ((rule, severity), n) in by_rule {
            // Counters of every configured rule exist from the start, at 0.
            counter!(ALERT_ACKNOWLEDGEMENTS_TOTAL, "rule" => rule.clone(), "severity" => severity).increment(0);
            counter!(ALERT_NOTIFICATIONS_TOTAL, "rule" => rule.clone(), "severity" => severity, "channel" => "email", "outcome" => "queued")
                .increment(0);
            gauge!(ALERTS_FIRING, "rule" => rule, "severity" => severity).set(n as f64);
        }
        for ((place, severity), n) in by_place {
            gauge!(MUNICIPALITY_ALERTS_FIRING, "municipality" => place, "severity" => severity).set(n as f64);
        }
        let mut announced: BTreeMap<SharedString, u64> = places.into_iter().map(|p| (p, 0)).collect();
        let until = self.now + ANNOUNCED_AHEAD;
        for entry in self.calendar.entries().filter(|e| e.event_time >= self.now && e.event_time < until) {
            *announced.entry(municipality_label(entry.municipality.as_ref())).or_default() += 1;
        }
        for (place, n) in announced {
            gauge!(ANNOUNCED_ACTIONS, "municipality" => place).set(n as f64);
        }
    }
}

/// A source was configured (its interval lets dashboards and rules judge staleness).
pub struct SourceConfigured<'a> {
    pub source: &'a str,
    pub kind: &'static str,
    pub interval: Duration,
}

impl SourceConfigured<'_> {
    pub fn emit(&self) {
        tracing::debug!(
            source = self.source,
            kind = self.kind,
            interval_secs = self.interval.as_secs(),
            "source configured"
        );
        gauge!(SOURCE_INTERVAL, "source" => self.source.to_owned()).set(self.interval.as_secs_f64());
    }
}

/// The coverage of one municipality (rule R10).
pub struct CoverageReported {
    pub municipality: SharedString,
    pub coverage: f64,
}

impl CoverageReported {
    pub fn emit(self) {
        gauge!(COVERAGE, "municipality" => self.municipality).set(self.coverage);
    }
}

/// Municipalities lost or regained all coverage: silence there is not calm.
pub struct CoverageChanged<'a> {
    pub lost: &'a [String],
    pub restored: &'a [String],
}

impl CoverageChanged<'_> {
    pub fn emit(&self) {
        if !self.lost.is_empty() {
            tracing::warn!(
                municipalities = %self.lost.join(","),
                "no source that covers these municipalities is delivering: silence there is not calm"
            );
        }
        if !self.restored.is_empty() {
            tracing::info!(municipalities = %self.restored.join(","), "coverage restored");
        }
    }
}

/// How many days a mandate has left (rule L5).
pub struct MandateDaysLeft<'a> {
    pub mandate: &'a str,
    pub days: i64,
}

impl MandateDaysLeft<'_> {
    pub fn emit(&self) {
        gauge!(MANDATE_DAYS_LEFT, "mandate" => self.mandate.to_owned()).set(self.days as f64);
    }
}

/// The archive's size on disk.
pub struct ArchiveSized {
    pub bytes: u64,
    pub largest_bucket_bytes: u64,
}

impl ArchiveSized {
    pub fn emit(&self) {
        gauge!(ARCHIVE_BYTES).set(self.bytes as f64);
        gauge!(ARCHIVE_LARGEST_BUCKET_BYTES).set(self.largest_bucket_bytes as f64);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};

    use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

    /// Remembers the names of described metrics.
    #[derive(Default)]
    struct Described(Arc<Mutex<BTreeSet<String>>>);

    impl Described {
        fn add(&self, key: &KeyName) {
            self.0.lock().expect("names").insert(key.as_str().to_owned());
        }
    }

    impl Recorder for Described {
        fn describe_counter(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.add(&key);
        }
        fn describe_gauge(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.add(&key);
        }
        fn describe_histogram(&self, key: KeyName, _: Option<Unit>, _: SharedString) {
            self.add(&key);
        }
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::noop()
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    /// Every metric the code declares (describes), over all crates.
    fn declared() -> BTreeSet<String> {
        let recorder = Described::default();
        let names = Arc::clone(&recorder.0);
        metrics::with_local_recorder(&recorder, super::describe_all);
        names.lock().expect("names").clone()
    }

    /// Names like `onrust_x_total` in a text; not recording rules (`onrust:…`),
    /// with a histogram's `_bucket`, `_sum` and `_count` series read as the histogram.
    fn used(text: &str, histograms: &BTreeSet<String>) -> BTreeSet<String> {
        let bytes = text.as_bytes();
        let mut out = BTreeSet::new();
        let mut from = 0;
        while let Some(at) = text[from..].find("onrust_").map(|i| i + from) {
            let end = text[at..]
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .map_or(text.len(), |i| i + at);
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let name = &text[at..end];
            if !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|b| histograms.contains(*b)))
                    .unwrap_or(name);
                out.insert(base.to_owned());
            }
            from = end;
        }
        out
    }

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files(&path, ext));
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
        out
    }

    const HISTOGRAMS: [&str; 6] = [
        "onrust_source_fetch_duration_seconds",
        super::STAGE_LATENCY,
        super::ALERT_CYCLE,
        "onrust_archive_commit_duration_seconds",
        "onrust_archive_search_duration_seconds",
        "onrust_api_search_duration_seconds",
    ];

    /// The dashboards and Prometheus rules use only metrics the code declares,
    /// so the two cannot drift apart (issue 7, point 4).
    #[test]
    fn dashboards_and_rules_use_only_declared_metrics() {
        let declared = declared();
        let histograms: BTreeSet<String> = HISTOGRAMS.iter().map(|h| (*h).to_owned()).collect();
        assert!(histograms.is_subset(&declared), "{histograms:?}");
        let mut checked = Vec::new();
        let mut paths = files(&repo().join("dashboards"), "json");
        paths.extend(files(&repo().join("docker"), "yml"));
        assert!(paths.len() >= 4, "{paths:?}");
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("read");
            let unknown: Vec<String> = used(&text, &histograms).difference(&declared).cloned().collect();
            assert!(unknown.is_empty(), "{} uses metrics the code does not declare: {unknown:?}", path.display());
            checked.push(path);
        }
        // The check itself sees names, and would see a wrong one.
        let board = std::fs::read_to_string(repo().join("dashboards/pijplijn.json")).expect("dashboard");
        assert!(used(&board, &histograms).contains("onrust_stage_latency_seconds"));
        assert!(!used("rate(onrust_made_up_total[5m]) + onrust:x", &histograms).is_subset(&declared));
    }

    /// docs/metrics.md lists exactly what the code declares.
    #[test]
    fn the_metrics_document_lists_every_declared_metric() {
        let declared = declared();
        let doc = std::fs::read_to_string(repo().join("docs/metrics.md")).expect("docs/metrics.md");
        let listed: BTreeSet<String> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `onrust_"))
            .filter_map(|l| l.split('`').next())
            .map(|name| format!("onrust_{name}"))
            .collect();
        let missing: Vec<_> = declared.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&declared).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "not documented: {missing:?}; documented, not declared: {extra:?}"
        );
    }

    #[test]
    fn municipality_labels_are_the_region_other_or_none() {
        use onrust_model::MunicipalityCode;
        // Tests in this binary share the process-wide region; set it once.
        super::set_region(&["GM0344".to_owned(), "GM0307".to_owned()]);
        let code = |c: &str| MunicipalityCode::new(c).expect("code");
        assert_eq!(&*super::municipality_label(Some(&code("GM0344"))), "GM0344");
        assert_eq!(&*super::municipality_label(Some(&code("GM0363"))), "other");
        assert_eq!(&*super::municipality_label(None), "none");
        let labels: Vec<String> = super::municipality_labels().iter().map(|l| l.to_string()).collect();
        assert_eq!(labels, ["GM0307", "GM0344", "other", "none"]);
    }
}
