//! `onrust audit report`: the audit log over a period, in Dutch, for the
//! data protection officer (the fg): searches per account and role, what
//! was refused, what was done with alerts, what retention deleted, when
//! onrust was halted and resumed (by whom, why), what was erased on request
//! and who read the log itself. Markdown by default, or one CSV row per record.
//! Each report is itself recorded (`audit_report`, rule L7).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use onrust_audit::AuditRecord;

use super::markdown_cell as cell;
use crate::pipeline::retention;

mod mandate_changes;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The configuration file.
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    pub config: PathBuf,
    /// The first day (YYYY-MM-DD, Europe/Amsterdam).
    #[arg(long)]
    pub since: String,
    /// The last day, included (YYYY-MM-DD, Europe/Amsterdam).
    #[arg(long)]
    pub until: String,
    /// One CSV row per record instead of the report.
    #[arg(long)]
    pub csv: bool,
}

/// Searching and exporting.
const SEARCHES: [&str; 2] = ["search", "search_export"];
/// Reading the log itself.
const AUDIT_READS: [&str; 3] = ["audit_read", "audit_verify", "audit_report"];

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let (from, to) = period(&args.since, &args.until)?;
    let config = super::load_config(&args.config)?;
    let path = config.audit_path();
    let records = if path.exists() {
        onrust_audit::tail(&path, usize::MAX).with_context(|| format!("reading {}", path.display()))?
    } else {
        Vec::new()
    };
    let chain = if path.exists() { Some(onrust_audit::verify(&path)) } else { None };
    let roles = roles(&config);
    let role_of = |who: &str| -> String {
        roles.get(who).cloned().unwrap_or_else(|| match who.split_once(':') {
            Some(("cli", _)) => "opdrachtregel".to_owned(),
            Some(("feed", _)) => "feedadres".to_owned(),
            Some(("onrust", _)) => "onrust zelf".to_owned(),
            Some(("http", _)) => "zonder geldige sleutel".to_owned(),
            _ => "onbekend".to_owned(),
        })
    };
    let in_period: Vec<&AuditRecord> = records.iter().filter(|r| r.at >= from && r.at < to).collect();
    // Reading the log is a use of it (rule L7), recorded before anything is
    // shown; a record that cannot be written shows nothing. Read first, so
    // the report covers the log as it was asked for.
    let entry = onrust_audit::AuditEntry {
        who: crate::identity::cli_user()?,
        action: "audit_report".into(),
        query: None,
        filters: serde_json::json!({ "since": args.since, "until": args.until, "csv": args.csv }),
        hits: Some(in_period.len() as u64),
        refused: None,
        mandates: Vec::new(),
    };
    onrust_audit::append(&path, entry).context("the report is not shown: it could not be recorded in the audit log")?;
    let text = if args.csv {
        csv(&in_period, &role_of)
    } else {
        // A log cut by retention starts after record 0: the report cannot speak of the time before.
        let kept_since = records.first().filter(|first| first.seq > 0 && first.at > from).map(|first| first.at);
        let report =
            Report { since: &args.since, until: &args.until, path: &path, chain, records: &in_period, kept_since };
        markdown(&report, &role_of)
    };
    super::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `[since 00:00, the day after until 00:00)` in Europe/Amsterdam, as UTC.
fn period(since: &str, until: &str) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let day = |text: &str, flag: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .with_context(|| format!("--{flag} {text:?} is not a date such as 2026-12-01"))
    };
    let (first, last) = (day(since, "since")?, day(until, "until")?);
    anyhow::ensure!(last >= first, "--until {until} lies before --since {since}");
    let start_of = |d: NaiveDate| {
        Amsterdam
            .from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .with_context(|| format!("{d} has no midnight in Europe/Amsterdam"))
    };
    let after = last.checked_add_days(Days::new(1)).context("--until is too far in the future")?;
    Ok((start_of(first)?, start_of(after)?))
}

/// Account and token names with their roles, from the configuration and the accounts file.
fn roles(config: &crate::config::Config) -> BTreeMap<String, String> {
    let mut roles: BTreeMap<String, String> =
        config.http.tokens.iter().map(|t| (t.name.clone(), t.role.to_string())).collect();
    // A broken accounts file is `check-config`'s to report; the report then names no roles for accounts.
    if let Ok(file) = onrust_web::console::users::UserFile::open(&config.users_path()) {
        for account in file.accounts() {
            roles.insert(account.name.clone(), account.role.to_string());
        }
    }
    roles
}

struct Report<'a> {
    since: &'a str,
    until: &'a str,
    path: &'a Path,
    chain: Option<Result<u64, onrust_audit::AuditError>>,
    records: &'a [&'a AuditRecord],
    /// The oldest record the log still has, when retention removed older ones inside the period.
    kept_since: Option<DateTime<Utc>>,
}

fn markdown(report: &Report<'_>, role_of: &dyn Fn(&str) -> String) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "# Auditrapport\n");
    let _ = writeln!(
        out,
        "Periode: {} tot en met {} (Europe/Amsterdam). Auditlog: `{}`. {} in deze periode.\n",
        report.since,
        report.until,
        report.path.display(),
        if report.records.len() == 1 { "1 record".to_owned() } else { format!("{} records", report.records.len()) }
    );
    let _ = writeln!(
        out,
        "{}\n",
        match &report.chain {
            None => "Er is nog geen auditlog.".to_owned(),
            Some(Ok(n)) => format!("De hashketen is in orde: {n} records gecontroleerd."),
            Some(Err(e)) => format!("**De hashketen is niet in orde**: {e}"),
        }
    );
    if let Some(since) = report.kept_since {
        let _ = writeln!(
            out,
            "Het auditlog begint op {}: oudere records zijn verwijderd omdat hun bewaartermijn voorbij was. \
             Over de tijd daarvoor zegt dit rapport niets.\n",
            since.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M")
        );
    }
    let time = |r: &AuditRecord| r.at.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M").to_string();

    out.push_str("## Zoekopdrachten per account\n\n");
    let mut searches: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    for r in report.records.iter().filter(|r| SEARCHES.contains(&r.entry.action.as_str())) {
        let row = searches.entry(r.entry.who.as_str()).or_default();
        row[usize::from(r.entry.action == "search_export")] += 1;
        row[2] += u64::from(r.entry.refused.is_some());
    }
    if searches.is_empty() {
        out.push_str("Geen zoekopdrachten in deze periode.\n\n");
    } else {
        out.push_str("| Account | Rol | Zoekopdrachten | Exports | Geweigerd |\n|---|---|---:|---:|---:|\n");
        for (who, [search, export, refused]) in &searches {
            let _ = writeln!(out, "| {} | {} | {search} | {export} | {refused} |", cell(who), role_of(who));
        }
        out.push('\n');
    }

    out.push_str("## Geweigerd\n\n");
    let refused: Vec<&&AuditRecord> = report.records.iter().filter(|r| r.entry.refused.is_some()).collect();
    if refused.is_empty() {
        out.push_str("Niets geweigerd in deze periode.\n\n");
    } else {
        out.push_str(
            "| Tijd | Account | Rol | Actie | Zoekvraag | Reden (uit het log, Engels) |\n|---|---|---|---|---|---|\n",
        );
        for r in refused {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                time(r),
                cell(&r.entry.who),
                role_of(&r.entry.who),
                cell(&r.entry.action),
                cell(r.entry.query.as_deref().unwrap_or("")),
                cell(r.entry.refused.as_deref().unwrap_or(""))
            );
        }
        out.push('\n');
    }

    out.push_str("## Handelingen op meldingen\n\n");
    let mut actions: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for r in
        report.records.iter().filter(|r| r.entry.action.starts_with("alerts_") || r.entry.action.starts_with("silence"))
    {
        *actions.entry((r.entry.who.as_str(), r.entry.action.as_str())).or_default() += 1;
    }
    if actions.is_empty() {
        out.push_str("Geen handelingen op meldingen in deze periode.\n\n");
    } else {
        out.push_str("| Account | Rol | Actie | Aantal |\n|---|---|---|---:|\n");
        for ((who, action), n) in &actions {
            let _ = writeln!(out, "| {} | {} | {} | {n} |", cell(who), role_of(who), cell(action));
        }
        out.push('\n');
    }

    out.push_str("## Bewaartermijn: wat is verwijderd\n\n");
    let deletions: Vec<&&AuditRecord> =
        report.records.iter().filter(|r| r.entry.action == onrust_audit::RETENTION_DELETE).collect();
    if deletions.is_empty() {
        out.push_str("Niets verwijderd wegens de bewaartermijn in deze periode.\n\n");
    } else {
        out.push_str("| Tijd | Soort gegevens | Wat | Aantal |\n|---|---|---|---:|\n");
        for r in deletions {
            let filters = &r.entry.filters;
            // Archive records from before classes were named are the archive's.
            let class = filters.get("class").and_then(|c| c.as_str()).unwrap_or(retention::ARCHIVE);
            let what = match filters.get("bucket").and_then(|b| b.as_str()) {
                Some(bucket) => format!("bucket {bucket}"),
                None => "ouder dan de bewaartermijn".to_owned(),
            };
            let (name, _) = retention::described(class);
            let _ = writeln!(out, "| {} | {} | {} | {} |", time(r), name, cell(&what), r.entry.hits.unwrap_or(0));
        }
        out.push('\n');
    }

    halts(&mut out, report.records, role_of, &time);
    erasures(&mut out, report.records, role_of, &time);

    out.push_str("## Inzage in het auditlog\n\n");
    let mut reads: BTreeMap<&str, u64> = BTreeMap::new();
    for r in report.records.iter().filter(|r| AUDIT_READS.contains(&r.entry.action.as_str())) {
        *reads.entry(r.entry.who.as_str()).or_default() += 1;
    }
    if reads.is_empty() {
        out.push_str("Niemand las het auditlog in deze periode.\n\n");
    } else {
        out.push_str("| Account | Rol | Keer gelezen of gecontroleerd |\n|---|---|---:|\n");
        for (who, n) in &reads {
            let _ = writeln!(out, "| {} | {} | {n} |", cell(who), role_of(who));
        }
        out.push('\n');
    }

    mandate_changes::section(&mut out, report.records);

    out
}

/// Every halt and resume (rule L13) that was made or asked for: when, who,
/// what it did, and the reason they gave.
fn halts(
    out: &mut String,
    records: &[&AuditRecord],
    role_of: &dyn Fn(&str) -> String,
    time: &dyn Fn(&AuditRecord) -> String,
) {
    use std::fmt::Write;
    out.push_str("## Stilleggen en hervatten\n\n");
    let changes: Vec<&&AuditRecord> =
        records.iter().filter(|r| r.entry.action == "halt" || r.entry.action == "resume").collect();
    if changes.is_empty() {
        out.push_str("onrust is in deze periode niet stilgelegd of hervat.\n\n");
        return;
    }
    out.push_str("| Tijd | Account | Rol | Wat | Reden |\n|---|---|---|---|---|\n");
    for r in changes {
        let halt = r.entry.action == "halt";
        let what = match (halt, &r.entry.refused, r.entry.filters.get("changed").and_then(serde_json::Value::as_bool)) {
            (_, Some(_), _) => {
                if halt {
                    "stilleggen geweigerd"
                } else {
                    "hervatten geweigerd"
                }
            }
            (true, None, Some(false)) => "stilgelegd (stond al stil)",
            (false, None, Some(false)) => "hervat (draaide al)",
            (true, None, _) => "stilgelegd",
            (false, None, _) => "hervat",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {what} | {} |",
            time(r),
            cell(&r.entry.who),
            role_of(&r.entry.who),
            cell(reason(r))
        );
    }
    out.push('\n');
}

/// The erasures on request (`onrust erase`) that were carried out: when,
/// who, what was asked, why and what was removed. Refused attempts are in
/// the "Geweigerd" table.
fn erasures(
    out: &mut String,
    records: &[&AuditRecord],
    role_of: &dyn Fn(&str) -> String,
    time: &dyn Fn(&AuditRecord) -> String,
) {
    use std::fmt::Write;
    out.push_str("## Gewist op verzoek\n\n");
    let done: Vec<&&AuditRecord> =
        records.iter().filter(|r| r.entry.action == "erase" && r.entry.refused.is_none()).collect();
    if done.is_empty() {
        out.push_str("Niets gewist op verzoek in deze periode.\n\n");
        return;
    }
    out.push_str(
        "Per verzoek: wat werd gevraagd, waarom, en hoeveel er uit het archief, uit het bewijs bij meldingen, \
         uit nog niet verstuurde berichten en uit de niet verwerkte berichten verdween.\n\n\
         | Tijd | Account | Rol | Gevraagd | Reden | Archief | Bewijs | Wachtrij | Niet verwerkt |\n\
         |---|---|---|---|---|---:|---:|---:|---:|\n",
    );
    for r in done {
        let [archive, evidence, queued, dead] = erasure_counts(r);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {archive} | {evidence} | {queued} | {dead} |",
            time(r),
            cell(&r.entry.who),
            role_of(&r.entry.who),
            cell(&erasure_asked(r)),
            cell(reason(r)),
        );
    }
    out.push('\n');
}

/// What an erasure asked for: `bericht …` or `link …`.
fn erasure_asked(r: &AuditRecord) -> String {
    let filters = &r.entry.filters;
    match (filters.get("id").and_then(|v| v.as_str()), filters.get("url").and_then(|v| v.as_str())) {
        (Some(id), _) => format!("bericht {id}"),
        (None, Some(url)) => format!("link {url}"),
        (None, None) => String::new(),
    }
}

/// What an erasure removed: archived documents, evidence entries, queued
/// notifications and dead letters (0 where a record does not say).
fn erasure_counts(r: &AuditRecord) -> [u64; 4] {
    ["archive_documents", "evidence_entries", "queued_notifications", "dead_letters"]
        .map(|key| r.entry.filters.get(key).and_then(|v| v.as_u64()).unwrap_or(0))
}

/// The CSV's last column: for an erasure, what was asked and what it
/// removed (its reason is in `reden`); empty otherwise.
fn details(r: &AuditRecord) -> String {
    if r.entry.action != "erase" || r.entry.refused.is_some() {
        return String::new();
    }
    let [archive, evidence, queued, dead] = erasure_counts(r);
    format!("{}; archief {archive}; bewijs {evidence}; wachtrij {queued}; niet verwerkt {dead}", erasure_asked(r))
}

/// The reason a record gives, if any (a halt, a resume, a review, a resend).
fn reason(r: &AuditRecord) -> &str {
    r.entry.filters.get("reason").and_then(serde_json::Value::as_str).unwrap_or("")
}

/// One row per record: time, account, role, action, query, hits, reason
/// refused, the reason given (a halt, a resume, a review, a resend, an
/// erasure), the mandates it ran under and, for an erasure, what it removed.
fn csv(records: &[&AuditRecord], role_of: &dyn Fn(&str) -> String) -> String {
    let mut out = String::from(
        "\"tijd\";\"account\";\"rol\";\"actie\";\"zoekvraag\";\"treffers\";\"geweigerd\";\"reden\";\"mandaten\";\"toelichting\"\r\n",
    );
    for r in records {
        let cells = [
            r.at.with_timezone(&Amsterdam).format("%Y-%m-%d %H:%M:%S").to_string(),
            r.entry.who.clone(),
            role_of(&r.entry.who),
            r.entry.action.clone(),
            r.entry.query.clone().unwrap_or_default(),
            r.entry.hits.map(|h| h.to_string()).unwrap_or_default(),
            r.entry.refused.clone().unwrap_or_default(),
            reason(r).to_owned(),
            r.entry.mandates.join(", "),
            details(r),
        ];
        let row: Vec<String> = cells.iter().map(|c| onrust_web::console::csv_cell(c)).collect();
        out.push_str(&row.join(";"));
        out.push_str("\r\n");
    }
    out
}
