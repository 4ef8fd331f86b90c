//! The record every retention deletion leaves (rules L6, L7): one
//! `retention_delete` line in the audit log per data class and run, naming
//! the class and what goes, written *before* anything is removed. If the
//! record cannot be written, nothing is removed, and the next run tries again.
//!
//! Who runs which class: the archive stage its buckets, the audit log and
//! the embedded bus's dead letters (it is the one stage that runs exactly
//! once per installation, at start and hourly), the alert stage its state, outbox and notification log
//! (it owns them). The audit log's cut records itself
//! ([`onrust_audit::expire`]), because the record is part of the cut.

use chrono::{DateTime, Utc};
use onrust_audit::{self as audit, AuditEntry, AuditError};

/// The data classes with a retention of their own, as records name them.
pub const ARCHIVE: &str = "archive";
pub const ALERT_STATE: &str = "alert_state";
pub const NOTIFICATION_LOG: &str = "notification_log";
pub const OUTBOX: &str = "outbox";
pub const DEAD_LETTERS: &str = "dead_letters";

/// The audit log's own class ([`onrust_audit::expire`] records it).
pub const AUDIT_LOG: &str = audit::AUDIT_LOG_CLASS;

/// A data class as the FG's pages, reports and the transparency documents
/// name it in Dutch, with what it holds; one place, so they agree.
pub fn described(class: &str) -> (&'static str, &'static str) {
    match class {
        ARCHIVE => ("archief van berichten", "titels, teksten, tijden en links van berichten, met een pseudoniem"),
        ALERT_STATE => ("status van meldingen", "wie een melding doorstuurde of afwees, wanneer en waarom"),
        NOTIFICATION_LOG => ("notificatielog", "wie wanneer welke melding kreeg, op welk adres, en of dat lukte"),
        OUTBOX => ("uitgaande berichten", "meldingen die nog weg moeten of definitief mislukten, met hun fragmenten"),
        AUDIT_LOG => ("auditlog", "wie wanneer welke inhoud gebruikte: zoekvragen, handelingen en inzage"),
        DEAD_LETTERS => {
            ("niet verwerkte berichten", "hele berichten die onrust niet kon verwerken, om uit te zoeken waarom")
        }
        _ => ("onbekende soort gegevens", ""),
    }
}

/// Every data class with a retention and its period, the archive first.
pub fn periods(config: &crate::config::Config) -> Vec<(&'static str, std::time::Duration)> {
    let r = &config.retention;
    vec![
        (ARCHIVE, config.archive.retention.0),
        (ALERT_STATE, r.alert_state.0),
        (NOTIFICATION_LOG, r.notification_log.0),
        (OUTBOX, r.outbox.0),
        (AUDIT_LOG, r.audit_log.0),
        (DEAD_LETTERS, r.dead_letters.0),
    ]
}

/// The classes beside the archive (`[retention]`) with their periods: what
/// `check-config` and the transparency documents list after the archive's own line.
pub fn periods_beside_archive(config: &crate::config::Config) -> Vec<(&'static str, std::time::Duration)> {
    periods(config).into_iter().filter(|(class, _)| *class != ARCHIVE).collect()
}

/// Records that `removed` items of `class` go now; `details` (an object)
/// says which, and gets the class added.
pub fn record(
    audit_path: &std::path::Path,
    class: &str,
    details: serde_json::Value,
    removed: u64,
) -> Result<(), AuditError> {
    let mut filters = match details {
        serde_json::Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("details".into(), other);
            map
        }
    };
    filters.insert("class".into(), class.into());
    audit::append(
        audit_path,
        AuditEntry {
            who: audit::RETENTION_WHO.into(),
            action: audit::RETENTION_DELETE.into(),
            query: None,
            filters: serde_json::Value::Object(filters),
            hits: Some(removed),
            refused: None,
            mandates: Vec::new(),
        },
    )
    .map(|_| ())
}

/// The moment before which a class's items go: `period` before `now`;
/// `None` when that is before any date there can be (nothing goes).
pub fn cut_off(now: DateTime<Utc>, period: std::time::Duration) -> Option<DateTime<Utc>> {
    now.checked_sub_signed(chrono::TimeDelta::from_std(period).ok()?)
}
