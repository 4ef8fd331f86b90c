//! `/audit`: the audit log for the data protection officer (the fg): whether
//! the hash chain holds, the archive's retention per bucket, and the newest
//! records, filtered by who, what kind of use (searches, alerts, silences,
//! sign-ins, deletions), action, a word in the record, and dates. Each view
//! is itself recorded (`audit_read`).
//!
//! The filters run over the newest [`READ`] records (read from the end of
//! the log, so a long log costs no more than its tail); the page says how
//! far back that reaches. The whole chain is verified on every visit (what
//! an earlier visit verified, by its digest).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use maud::{Markup, html};
use onrust_archive::BucketInfo;

use super::html::{self as view, counted, form_values, respond, time, value};
use super::{DataClass, SignedIn};
use crate::WebState;
use onrust_audit::{self as audit, AuditError, AuditRecord};

/// Records read from the end of the log before filtering.
pub(crate) const READ: usize = 5000;
/// Records shown.
const SHOWN: usize = 200;

/// Kinds of use the fg asks about, and the actions each covers.
const KINDS: [(&str, &str, &[&str]); 7] = [
    ("zoeken", "Zoeken en exporteren", &["search", "search_export"]),
    (
        "meldingen",
        "Meldingen bekijken en behandelen",
        &[
            "alerts_list",
            "alerts_show",
            "alerts_ack",
            "alerts_confirm",
            "alerts_dismiss",
            "alerts_feed",
            "actions_calendar",
            "overview",
            "municipality_view",
        ],
    ),
    ("stiltes", "Stiltes", &["silence", "silence_expire", "silences_list"]),
    ("aanmelden", "Aan- en afmelden", &["sign_in", "sign_out"]),
    ("verwijderen", "Verwijderen en bewaartermijn", &["retention_delete", "erase"]),
    ("terugblik", "Terugblik (backtest)", &["backtest"]),
    ("stilleggen", "Stilleggen en hervatten", &["halt", "resume"]),
];

/// The filters as given.
#[derive(Debug, Default, Clone, PartialEq)]
struct Filters {
    who: String,
    kind: String,
    action: String,
    contains: String,
    from: String,
    to: String,
}

/// The filters read from a request: as given, what is wrong with them, and the dates as times.
struct Read {
    filters: Filters,
    problems: Vec<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

impl Filters {
    fn read(raw: Option<&str>) -> Read {
        let values = form_values(raw.unwrap_or_default().as_bytes());
        let field = |name: &str| value(&values, name).unwrap_or_default().trim().to_owned();
        let filters = Self {
            who: field("wie"),
            kind: field("soort"),
            action: field("actie"),
            contains: field("bevat"),
            from: field("van"),
            to: field("tot"),
        };
        let mut problems = Vec::new();
        if !filters.kind.is_empty() && !KINDS.iter().any(|(k, _, _)| *k == filters.kind) {
            problems.push("Kies een soort uit de lijst.".to_owned());
        }
        let mut day = |given: &str, field: &str, next: bool| {
            if given.is_empty() {
                return None;
            }
            let at = NaiveDate::parse_from_str(given, "%Y-%m-%d")
                .ok()
                .and_then(|d| if next { d.checked_add_days(Days::new(1)) } else { Some(d) })
                .and_then(|d| Amsterdam.from_local_datetime(&d.and_time(NaiveTime::MIN)).earliest())
                .map(|t| t.with_timezone(&Utc));
            if at.is_none() {
                problems.push(format!("{field} moet een datum zijn (jjjj-mm-dd)."));
            }
            at
        };
        let from = day(&filters.from, "Van", false);
        let to = day(&filters.to, "Tot en met", true);
        Read { filters, problems, from, to }
    }

    fn keeps(&self, r: &AuditRecord, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> bool {
        let kind_actions = KINDS.iter().find(|(k, _, _)| *k == self.kind).map(|(_, _, actions)| *actions);
        (self.who.is_empty() || r.entry.who.contains(self.who.as_str()))
            && kind_actions.is_none_or(|actions| actions.contains(&r.entry.action.as_str()))
            && (self.action.is_empty() || r.entry.action == self.action)
            && from.is_none_or(|f| r.at >= f)
            && to.is_none_or(|t| r.at < t)
            && (self.contains.is_empty() || mentions(r, &self.contains))
    }
}

/// What the last view of each log verified. A view checks the whole chain
/// again, but the part an earlier view verified is compared by its SHA-256
/// instead of record by record (`audit::verify_from`), which kept the page
/// within its time on a long log. Per log file, for the whole process.
static VERIFIED: std::sync::LazyLock<std::sync::Mutex<HashMap<PathBuf, audit::VerifiedPrefix>>> =
    std::sync::LazyLock::new(Default::default);

/// The chain checked, going on from what the previous view verified (on a
/// blocking thread: the lock is never held across an `.await`).
fn verify_again(path: &Path) -> Result<u64, AuditError> {
    let mut verified = VERIFIED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match audit::verify_from(path, verified.get(path)) {
        Ok((report, prefix)) => {
            verified.insert(path.to_owned(), prefix);
            Ok(report.records)
        }
        Err(e) => {
            verified.remove(path);
            Err(e)
        }
    }
}

/// Whether a record's query, filters or reason mention `word` (any case).
fn mentions(r: &AuditRecord, word: &str) -> bool {
    let word = word.to_lowercase();
    let hit = |text: &str| text.to_lowercase().contains(&word);
    r.entry.query.as_deref().is_some_and(hit)
        || r.entry.refused.as_deref().is_some_and(hit)
        || hit(&r.entry.filters.to_string())
}

/// `GET /audit?wie=&soort=&actie=&bevat=&van=&tot=`.
pub(crate) async fn audit(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Read { filters, problems, from, to } = Filters::read(raw.as_deref());
    let path = state.audit_path.clone();
    let read = tokio::task::spawn_blocking(move || {
        let chain = if path.exists() { verify_again(&path) } else { Ok(0) };
        audit::tail(&path, READ).map(|records| (records, chain))
    })
    .await;
    let (records, chain) = match read {
        Ok(Ok(read)) => read,
        _ => {
            return view::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&signed_in),
                "Het auditlog kan nu niet worden gelezen. De beheerders zien waarom.",
            );
        }
    };
    let buckets = match &state.search {
        Some(service) => Some(service.buckets().await),
        None => None,
    };
    let mut actions: Vec<&str> = records.iter().map(|r| r.entry.action.as_str()).collect();
    actions.sort_unstable();
    actions.dedup();
    let shown: Vec<&AuditRecord> = if problems.is_empty() {
        records.iter().rev().filter(|r| filters.keeps(r, from, to)).take(SHOWN).collect()
    } else {
        Vec::new()
    };
    // Reading the log is a use of it too (L7): recorded before the page is shown.
    let record = super::Record {
        hits: Some(shown.len() as u64),
        ..super::Record::new(
            "audit_read",
            serde_json::json!({
                "wie": filters.who, "soort": filters.kind, "actie": filters.action,
                "bevat": filters.contains, "van": filters.from, "tot": filters.to,
            }),
        )
    };
    if let Err(page) = record.write(&state, &signed_in).await {
        return page;
    }
    let console = &state.console;
    let body = html! {
        @match &chain {
            Ok(n) => p class="ok" role="status" { "De hashketen is in orde: " (n) " records gecontroleerd." },
            Err(AuditError::Broken { line, reason, .. }) => p class="broken" role="alert" { "De hashketen is verbroken op regel " (line) ": " (reason) },
            Err(_) => p class="broken" role="alert" { "De hashketen kon niet worden gecontroleerd." },
        }
        nav class="jump" aria-label="Op deze pagina" {
            ul { li { a href="#records" { "Records" } } li { a href="#bewaartermijn" { "Bewaartermijn per bucket" } } }
        }
        h2 id="records" { "Records" }
        form class="filters" method="get" action="/audit" {
            p { label for="wie" { "Wie" } input id="wie" name="wie" type="text" value=(filters.who) size="14"; }
            p {
                label for="soort" { "Soort" }
                select id="soort" name="soort" {
                    option value="" { "Alles" }
                    @for (key, label, _) in KINDS { option value=(key) selected[filters.kind == key] { (label) } }
                }
            }
            p {
                label for="actie" { "Actie" }
                select id="actie" name="actie" {
                    option value="" { "Alle" }
                    @for a in &actions { option value=(a) selected[*a == filters.action] { (a) } }
                }
            }
            p { label for="bevat" { "Bevat (zoekvraag, melding, reden)" } input id="bevat" name="bevat" type="text" value=(filters.contains) size="18"; }
            p { label for="van" { "Van" } input id="van" name="van" type="date" value=(filters.from); }
            p { label for="tot" { "Tot en met" } input id="tot" name="tot" type="date" value=(filters.to); }
            p { button type="submit" { "Filteren" } }
        }
        @if !problems.is_empty() {
            div class="error" role="alert" { ul { @for p in &problems { li { (p) } } } }
        }
        p {
            (counted(shown.len() as u64, "record", "records")) " getoond (ten hoogste " (SHOWN) ", nieuwste eerst), gezocht in "
            @if records.len() == 1 { "het laatste record" } @else { "de laatste " (records.len()) " records" }
            @if let Some(first) = records.first() { ", vanaf " (time(first.at)) }
            "."
        }
        table class="audit" {
            caption class="skip" { "Auditrecords" }
            thead { tr {
                th scope="col" { "Nr." } th scope="col" { "Tijd" } th scope="col" { "Wie" } th scope="col" { "Actie" }
                th scope="col" { "Zoekvraag" } th scope="col" { "Filters" } th scope="col" { "Treffers" } th scope="col" { "Geweigerd (reden uit het log)" }
            } }
            tbody {
                @for r in &shown {
                    tr {
                        td { (r.seq) }
                        td { (time(r.at)) }
                        td { (r.entry.who) }
                        td { (r.entry.action) }
                        td { @if let Some(q) = &r.entry.query { code { (q) } } }
                        td { @if r.entry.filters.as_object().is_some_and(|o| !o.is_empty()) { code { (r.entry.filters.to_string()) } } }
                        td { @if let Some(h) = r.entry.hits { (h) } }
                        // The log records the reason as the code wrote it, in English:
                        // marked as such for screen readers (WCAG 3.1.2).
                        td { @if let Some(why) = &r.entry.refused { "ja: " span lang="en" { (why) } } }
                    }
                }
            }
        }
        h2 id="bewaartermijn" { "Bewaartermijn per bucket" }
        (retention(buckets.as_ref(), console.retention, console.now()))
        h2 id="soorten" { "Bewaartermijn per soort gegevens" }
        (data_classes(&console.data_classes))
    };
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    respond(status, view::page("Auditlog", Some(&signed_in), &console.region_name, body))
}

/// The archive's buckets and when retention deletes each (rule L6).
fn retention(
    buckets: Option<&Result<Vec<BucketInfo>, String>>,
    keep: Option<std::time::Duration>,
    now: DateTime<Utc>,
) -> Markup {
    let keep = keep.and_then(|k| chrono::TimeDelta::from_std(k).ok());
    html! {
        @match keep {
            Some(k) => p { "Het archief bewaart een bericht " (days(k)) " na het ophalen. Een bucket gaat als geheel weg zodra zijn hele periode ouder is; dat staat dan als " code { "retention_delete" } " in het auditlog (soort: verwijderen en bewaartermijn)." },
            None => p class="notice" { "De bewaartermijn is in dit proces niet bekend." },
        }
        @match buckets {
            None => p class="notice" { "Dit proces leest het archief niet." },
            Some(Err(_)) => p class="error" role="alert" { "Het archief kan nu niet worden gelezen." },
            Some(Ok(list)) if list.is_empty() => p { "Het archief is leeg." },
            Some(Ok(list)) => table class="buckets" {
                caption class="skip" { "Buckets van het archief" }
                thead { tr {
                    th scope="col" { "Bucket" } th scope="col" { "Opgehaald van" } th scope="col" { "Tot" }
                    th scope="col" { "Berichten" } th scope="col" { "Grootte" } th scope="col" { "Verwijderd na" }
                } }
                tbody {
                    @for b in list {
                        tr {
                            th scope="row" { (b.name) }
                            td { (time(b.start)) }
                            td { (time(b.end)) }
                            td { (b.documents) }
                            td { (megabytes(b.bytes)) }
                            td {
                                @match keep.and_then(|k| b.end.checked_add_signed(k)) {
                                    Some(at) if at <= now => strong { (time(at)) " (bij de volgende ronde)" },
                                    Some(at) => (time(at)),
                                    None => "onbekend",
                                }
                            }
                        }
                    }
                }
            },
        }
    }
}

/// `90 dagen`, `1 dag`, `12 uur`.
fn days(span: chrono::TimeDelta) -> String {
    match span.num_days() {
        1 => "1 dag".to_owned(),
        0 => format!("{} uur", span.num_hours()),
        n => format!("{n} dagen"),
    }
}

/// Every data class and how long it is kept (rule L6).
fn data_classes(classes: &[DataClass]) -> Markup {
    html! {
        @if classes.is_empty() {
            p class="notice" { "De bewaartermijnen zijn in dit proces niet bekend." }
        } @else {
            p { "Wat ouder is dan zijn bewaartermijn, verwijdert onrust elk uur. Elke verwijdering staat eerst als " code { "retention_delete" } " in het auditlog, met de soort gegevens en hoeveel er weggaat." }
            table class="classes" {
                caption class="skip" { "Bewaartermijn per soort gegevens" }
                thead { tr { th scope="col" { "Soort gegevens" } th scope="col" { "Wat erin staat" } th scope="col" { "Bewaard" } } }
                tbody {
                    @for class in classes {
                        tr {
                            th scope="row" { (class.name) }
                            td { (class.holds) }
                            td { (days(chrono::TimeDelta::from_std(class.keep).unwrap_or(chrono::TimeDelta::MAX))) }
                        }
                    }
                }
            }
        }
    }
}

/// `12,3 MB`.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6).replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(who: &str, action: &str, query: Option<&str>, at: &str) -> AuditRecord {
        AuditRecord {
            seq: 0,
            at: at.parse().unwrap(),
            entry: audit::AuditEntry {
                who: who.into(),
                action: action.into(),
                query: query.map(str::to_owned),
                filters: serde_json::json!({ "fingerprint": "3f9a0c1e" }),
                hits: None,
                refused: None,
                mandates: Vec::new(),
            },
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn filters_pick_who_what_kind_word_and_dutch_days() {
        let Read { filters, problems, from, to } =
            Filters::read(Some("wie=analist&soort=zoeken&bevat=Rellen&van=2026-11-30&tot=2026-11-30"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(from, Some("2026-11-29T23:00:00Z".parse().unwrap()));
        let keep = |r: &AuditRecord| filters.keeps(r, from, to);
        assert!(keep(&record("analist-regio", "search", Some("rellen A12"), "2026-11-30T10:00:00Z")));
        assert!(!keep(&record("analist-regio", "alerts_show", Some("rellen"), "2026-11-30T10:00:00Z")), "kind");
        assert!(!keep(&record("sv-regio", "search", Some("rellen"), "2026-11-30T10:00:00Z")), "who");
        assert!(!keep(&record("analist-regio", "search", Some("boeren"), "2026-11-30T10:00:00Z")), "word");
        assert!(!keep(&record("analist-regio", "search", Some("rellen"), "2026-11-30T23:30:00Z")), "next Dutch day");
        let alerts = Filters::read(Some("soort=meldingen&bevat=3f9a0c1e")).filters;
        assert!(alerts.keeps(&record("sv-regio", "alerts_confirm", None, "2026-11-30T10:00:00Z"), None, None));
        let problems = Filters::read(Some("soort=alles&van=gisteren")).problems;
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn retention_says_when_each_bucket_goes() {
        let now: DateTime<Utc> = "2026-12-30T12:00:00Z".parse().unwrap();
        let bucket = |name: &str, start: &str, end: &str| BucketInfo {
            name: name.into(),
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
            documents: 1200,
            bytes: 12_345_678,
        };
        let list = Ok(vec![
            bucket("week-2026-09-21", "2026-09-21T00:00:00Z", "2026-09-28T00:00:00Z"),
            bucket("week-2026-12-28", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z"),
        ]);
        let page = retention(Some(&list), Some(std::time::Duration::from_secs(90 * 86_400)), now).into_string();
        assert!(page.contains("90 dagen na het ophalen"), "{page}");
        assert!(page.contains("<th scope=\"row\">week-2026-12-28</th>") && page.contains("12,3 MB"), "{page}");
        assert!(page.contains("27-12-2026 01:00</time> (bij de volgende ronde)"), "the old one is due: {page}");
        assert!(page.contains("04-04-2027 02:00"), "Dutch summer time: {page}");
        let unknown = retention(None, None, now).into_string();
        assert!(unknown.contains("niet bekend") && unknown.contains("leest het archief niet"));
    }

    #[test]
    fn every_data_class_is_listed_with_its_period() {
        let classes = [
            DataClass {
                name: "notificatielog".into(),
                holds: "wie welke melding kreeg".into(),
                keep: std::time::Duration::from_secs(365 * 86_400),
            },
            DataClass {
                name: "auditlog".into(),
                holds: "wie wat gebruikte".into(),
                keep: std::time::Duration::from_secs(730 * 86_400),
            },
        ];
        let page = data_classes(&classes).into_string();
        assert!(
            page.contains("<th scope=\"row\">notificatielog</th><td>wie welke melding kreeg</td><td>365 dagen</td>"),
            "{page}"
        );
        assert!(page.contains("<th scope=\"row\">auditlog</th>") && page.contains("730 dagen"), "{page}");
        assert!(data_classes(&[]).into_string().contains("niet bekend"));
    }
}
