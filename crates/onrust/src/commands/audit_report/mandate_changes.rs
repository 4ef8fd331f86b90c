//! The report's section on mandate changes (rule L5): every `mandate_change`
//! record the daemon wrote at start, with what the mandate said then.

use std::fmt::Write;

use chrono_tz::Europe::Amsterdam;
use onrust_audit::AuditRecord;

use super::cell;

/// The Dutch word for a change as the record names it.
fn change_word(change: &str) -> &str {
    match change {
        "added" => "toegevoegd",
        "changed" => "gewijzigd",
        "ended" => "beëindigd",
        other => other,
    }
}

/// `## Wijzigingen van mandaten`: one row per change, oldest first.
pub(super) fn section(out: &mut String, records: &[&AuditRecord]) {
    out.push_str("## Wijzigingen van mandaten\n\n");
    let changes: Vec<&&AuditRecord> =
        records.iter().filter(|r| r.entry.action == crate::pipeline::mandates::CHANGE_ACTION).collect();
    if changes.is_empty() {
        out.push_str("Geen mandaten toegevoegd, gewijzigd of beëindigd in deze periode.\n\n");
        return;
    }
    out.push_str(
        "| Tijd | Mandaat | Wijziging | Doel | Grondslag | Besloten door | DPIA | Van | Tot en met |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in changes {
        let field = |key: &str| r.entry.filters.get(key).and_then(|v| v.as_str()).unwrap_or("–").to_owned();
        let trial = r.entry.filters.get("trial").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let mandate = if trial { format!("{} (proef)", field("mandate")) } else { field("mandate") };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.at.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M"),
            cell(&mandate),
            change_word(&field("change")),
            cell(&field("purpose")),
            cell(&field("legal_basis")),
            cell(&field("decided_by")),
            cell(&field("dpia")),
            cell(&field("start")),
            cell(&field("end")),
        );
    }
    out.push('\n');
}
