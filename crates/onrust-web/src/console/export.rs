//! `/zoeken/export`: a search's results as CSV, for a spreadsheet.
//!
//! - **The same search** as `/zoeken`: its parameters, checks, scope and
//!   search slots; paged through the archive 100 at a time.
//! - **Capped** at [`EXPORT_CAP`] messages, the first ones in the chosen
//!   order: an export is a copy of personal data leaving the system, so it
//!   stays a sample to read, not a way to take the archive along (data
//!   minimisation). The search page says so beside the link, and the audit
//!   record has how many rows went out of how many found.
//! - **Audited** before the file is sent (`search_export`), refused ones too.
//! - **No person** (L1): the columns are the message, its source, times,
//!   level, themes and municipalities; the archive has no author to give.
//! - **Safe to open** (CSV injection): a cell that starts with `=`, `+`,
//!   `-`, `@`, a tab or a carriage return, also after spaces, gets a `'`
//!   before it, so a spreadsheet shows it as text instead of running it as a
//!   formula. Every cell is quoted; the separator is `;` and the file starts
//!   with a byte-order mark, as Dutch spreadsheet programs expect.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Europe::Amsterdam;
use onrust_archive::{Hit, MAX_LIMIT};

use super::html as view;
use super::search_page::parse;
use super::{Console, Record, SignedIn};
use crate::WebState;
use crate::search::{execute, scope_search};

/// Most messages one export holds.
pub const EXPORT_CAP: usize = 1000;

/// The header row.
const COLUMNS: [&str; 12] = [
    "kenmerk",
    "gepubliceerd",
    "publicatietijd geschat",
    "bron",
    "soort bron",
    "titel",
    "tekst",
    "taal",
    "niveau",
    "thema's",
    "gemeenten",
    "link",
];

/// `GET /zoeken/export?q=…` (the search page's parameters; `pagina` is ignored).
pub(crate) async fn export(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (query, mut filters) = crate::api::given_params(raw.as_deref());
    let (_, parsed) = parse(raw.as_deref());
    let mut request = match parsed {
        Ok(request) => request,
        Err(problems) => return refuse(&state, &signed_in, query, filters, problems.join(" ")).await,
    };
    if scope_search(&signed_in.principal.scope, &mut request).is_err() {
        let message = "U zoekt alleen in uw eigen gemeente(n).".to_owned();
        return refuse(&state, &signed_in, query, filters, message).await;
    }
    let mandates = match crate::search::mandates_covering(&state, &request) {
        Ok(covering) => covering,
        Err(_) => return refuse(&state, &signed_in, query, filters, crate::search::NO_MANDATE_NL.to_owned()).await,
    };
    request.facets = false;
    request.limit = MAX_LIMIT;
    request.offset = 0;
    let mut hits: Vec<Hit> = Vec::new();
    let mut total = 0;
    while hits.len() < EXPORT_CAP {
        match execute(&state, request.clone()).await {
            Ok(results) => {
                total = results.total;
                let page = results.hits.len();
                hits.extend(results.hits);
                if page < request.limit || hits.len() >= total {
                    break;
                }
                request.offset += page;
            }
            Err(refusal) => {
                let message = if refusal.error.status == StatusCode::BAD_REQUEST {
                    format!("De zoekvraag kan niet worden uitgevoerd: {}", refusal.error.message)
                } else {
                    "Exporteren is nu niet mogelijk. Probeer het zo opnieuw.".to_owned()
                };
                return refuse(&state, &signed_in, query, filters, message).await;
            }
        }
    }
    hits.truncate(EXPORT_CAP);
    filters["_found"] = serde_json::Value::from(total);
    filters["_cap"] = serde_json::Value::from(EXPORT_CAP);
    let record = Record { query, hits: Some(hits.len() as u64), mandates, ..Record::new("search_export", filters) };
    if let Err(r) = record.write(&state, &signed_in).await {
        return r;
    }
    let body = csv(&state.console, &hits);
    let stamp = state.console.now().with_timezone(&Amsterdam).format("%Y%m%d-%H%M");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"onrust-zoeken-{stamp}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

async fn refuse(
    state: &WebState,
    signed_in: &SignedIn,
    query: Option<String>,
    filters: serde_json::Value,
    message: String,
) -> Response {
    let record = Record { query, refused: Some(message.clone()), ..Record::new("search_export", filters) };
    if let Err(r) = record.write(state, signed_in).await {
        return r;
    }
    view::error_page(StatusCode::BAD_REQUEST, Some(signed_in), &message)
}

/// The file: a byte-order mark, the header row, a row per message.
pub(crate) fn csv(console: &Console, hits: &[Hit]) -> String {
    let mut out = String::from('\u{feff}');
    push_row(&mut out, COLUMNS.iter().map(|c| (*c).to_owned()));
    for hit in hits {
        let municipalities: Vec<String> =
            hit.municipalities.iter().map(|code| format!("{} ({code})", console.name_of(code))).collect();
        push_row(
            &mut out,
            [
                hit.id.clone(),
                hit.published_at.with_timezone(&Amsterdam).format("%Y-%m-%d %H:%M").to_string(),
                if hit.published_at_estimated { "ja" } else { "nee" }.to_owned(),
                hit.source.clone(),
                hit.source_kind.clone(),
                hit.title.clone().unwrap_or_default(),
                hit.text.clone(),
                hit.lang.clone().unwrap_or_default(),
                hit.level.to_string(),
                hit.themes.join(", "),
                municipalities.join(", "),
                hit.url.clone().unwrap_or_default(),
            ],
        );
    }
    out
}

fn push_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    let row: Vec<String> = cells.into_iter().map(|c| cell(&c)).collect();
    out.push_str(&row.join(";"));
    out.push_str("\r\n");
}

/// One quoted cell, defused when a spreadsheet would read it as a formula.
pub fn cell(value: &str) -> String {
    let first = value.chars().next();
    let first_visible = value.trim_start().chars().next();
    let formula = |c: Option<char>| matches!(c, Some('=' | '+' | '-' | '@'));
    let defused = if formula(first) || formula(first_visible) || matches!(first, Some('\t' | '\r')) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        for risky in ["+31 6", "-1", "@SUM(A1)", "\tx", "\rx", "  =1+1"] {
            assert!(cell(risky).starts_with("\"'"), "{risky:?}: {}", cell(risky));
        }
        assert_eq!(cell("rellen; \"ME\"\nnacht"), "\"rellen; \"\"ME\"\"\nnacht\"");
        assert_eq!(cell("a-b = c"), "\"a-b = c\"", "only at the start");
        assert_eq!(cell(""), "\"\"");
    }
}
