//! `/audit`: the audit log for the data protection officer: the newest
//! records with filters on who and what, and whether the hash chain holds.
//! Each view is itself recorded (`audit_read`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::SignedIn;
use super::html::{self as view, form_values, respond, time, value};
use crate::WebState;
use onrust_audit::{self as audit, AuditError, AuditRecord};

/// Records read from the end of the log before filtering.
const READ: usize = 1000;
/// Records shown.
const SHOWN: usize = 200;

/// `GET /audit?wie=&actie=`.
pub(crate) async fn audit(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let values = form_values(raw.unwrap_or_default().as_bytes());
    let who = value(&values, "wie").unwrap_or_default().trim().to_owned();
    let action = value(&values, "actie").unwrap_or_default().trim().to_owned();
    let path = state.audit_path.clone();
    let read = tokio::task::spawn_blocking(move || {
        let chain = if path.exists() { audit::verify(&path) } else { Ok(0) };
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
    let mut actions: Vec<&str> = records.iter().map(|r| r.entry.action.as_str()).collect();
    actions.sort_unstable();
    actions.dedup();
    let shown: Vec<&AuditRecord> = records
        .iter()
        .rev()
        .filter(|r| who.is_empty() || r.entry.who.contains(who.as_str()))
        .filter(|r| action.is_empty() || r.entry.action == action)
        .take(SHOWN)
        .collect();
    // Reading the log is a use of it too (L7): recorded before the page is shown.
    let record = super::Record {
        hits: Some(shown.len() as u64),
        ..super::Record::new("audit_read", serde_json::json!({ "wie": who, "actie": action }))
    };
    if let Err(page) = record.write(&state, &signed_in).await {
        return page;
    }
    let body = html! {
        @match &chain {
            Ok(n) => p class="ok" role="status" { "De hashketen is in orde: " (n) " records gecontroleerd." },
            Err(AuditError::Broken { line, reason, .. }) => p class="broken" role="alert" { "De hashketen is verbroken op regel " (line) ": " (reason) },
            Err(_) => p class="broken" role="alert" { "De hashketen kon niet worden gecontroleerd." },
        }
        form class="filters" method="get" action="/audit" {
            p { label for="wie" { "Wie" } input id="wie" name="wie" type="text" value=(who); }
            p {
                label for="actie" { "Actie" }
                select id="actie" name="actie" {
                    option value="" { "Alle" }
                    @for a in &actions { option value=(a) selected[*a == action] { (a) } }
                }
            }
            p { button type="submit" { "Filteren" } }
        }
        p { "De nieuwste " (shown.len()) " records (van de laatste " (records.len()) ")." }
        table class="audit" {
            thead { tr {
                th scope="col" { "Nr." } th scope="col" { "Tijd" } th scope="col" { "Wie" } th scope="col" { "Actie" }
                th scope="col" { "Zoekvraag" } th scope="col" { "Filters" } th scope="col" { "Treffers" } th scope="col" { "Geweigerd" }
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
                        td { @if let Some(why) = &r.entry.refused { (why) } }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, view::page("Auditlog", Some(&signed_in), &state.console.region_name, body))
}
