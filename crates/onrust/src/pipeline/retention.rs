//! The record every retention deletion leaves (rules L6, L7): one
//! `retention_delete` line in the audit log per data class and run, naming
//! the class and what goes, written *before* anything is removed. If the
//! record cannot be written, nothing is removed, and the next run tries again.
//!
//! Who runs which class: the archive stage its buckets and the audit log
//! (it is the one stage that runs exactly once per installation, at start
//! and hourly), the alert stage its state, outbox and notification log
//! (it owns them). The audit log's cut records itself
//! ([`onrust_audit::expire`]), because the record is part of the cut.

use chrono::{DateTime, Utc};
use onrust_audit::{self as audit, AuditEntry, AuditError};

/// The data classes with a retention of their own, as records name them.
pub const ARCHIVE: &str = "archive";
pub const ALERT_STATE: &str = "alert_state";
pub const NOTIFICATION_LOG: &str = "notification_log";
pub const OUTBOX: &str = "outbox";

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
        },
    )
    .map(|_| ())
}

/// The moment before which a class's items go: `period` before `now`;
/// `None` when that is before any date there can be (nothing goes).
pub fn cut_off(now: DateTime<Utc>, period: std::time::Duration) -> Option<DateTime<Utc>> {
    now.checked_sub_signed(chrono::TimeDelta::from_std(period).ok()?)
}
