//! `/gemeente/{code}`: one municipality's early-warning view: messages per
//! day over 7 days (all levels ≥ 1), its active alerts, and the recent
//! messages at level 2 or above with their signals' themes. Scoped like the
//! alerts: an account for other municipalities gets "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{TimeDelta, Utc};
use maud::html;
use onrust_alert::AlertStatus;
use onrust_archive::{SearchRequest, Sort};
use onrust_model::{Level, MunicipalityCode};

use super::alert_pages::alert_table;
use super::html::{self as view, respond};
use super::search_page::{histogram, hit_view};
use super::{Record, SignedIn};
use crate::WebState;

/// Recent messages shown.
const RECENT: usize = 15;

/// `GET /gemeente/{code}`.
pub(crate) async fn municipality(
    State(state): State<WebState>,
    Path(code): Path<String>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
) -> Response {
    let filters = serde_json::json!({ "municipality": crate::api::shorten(&code, 16) });
    let code = match MunicipalityCode::new(code) {
        Ok(code) if signed_in.principal.scope.may_read(Some(&code)) => code,
        _ => {
            let record = Record {
                refused: Some("unknown municipality or outside scope".into()),
                ..Record::new("municipality_view", filters)
            };
            if let Err(r) = record.write(&state, &signed_in).await {
                return r;
            }
            return view::error_page(
                StatusCode::NOT_FOUND,
                Some(&signed_in),
                "Deze gemeente is niet bekend of niet de uwe.",
            );
        }
    };
    let week = Utc::now() - TimeDelta::days(7);
    let per_day = SearchRequest {
        municipality: Some(code.clone()),
        min_level: Some(Level::Discussion),
        since: Some(week),
        facets: true,
        limit: 1,
        ..SearchRequest::default()
    };
    let recent = SearchRequest {
        municipality: Some(code.clone()),
        min_level: Some(Level::Mobilisation),
        sort: Sort::Newest,
        limit: RECENT,
        ..SearchRequest::default()
    };
    let per_day = crate::search::execute(&state, per_day).await.ok();
    let recent = crate::search::execute(&state, recent).await.ok();
    let alerts = state.alerts.as_ref().and_then(|b| b.list().ok()).map(|mut alerts| {
        alerts.retain(|a| a.municipality.as_ref() == Some(&code) && a.status != AlertStatus::Resolved);
        alerts
    });
    let record =
        Record { hits: recent.as_ref().map(|r| r.hits.len() as u64), ..Record::new("municipality_view", filters) };
    if let Err(r) = record.write(&state, &signed_in).await {
        return r;
    }
    let console = &state.console;
    let name = console.name_of(code.as_str());
    let body = html! {
        p { a href={ "/zoeken?gemeente=" (code.as_str()) } { "Zoek in de berichten over " (name) } }
        h2 { "Berichten per dag (7 dagen, niveau 1 en hoger)" }
        @match per_day.as_ref().and_then(|r| r.facets.as_ref()) {
            Some(facets) => (histogram(&facets.days)),
            None => p class="error" { "Het archief antwoordt nu niet." },
        }
        h2 { "Actieve meldingen" }
        @match &alerts {
            Some(alerts) => (alert_table(console, alerts)),
            None => p class="error" { "De meldingen zijn nu niet beschikbaar." },
        }
        h2 { "Recente berichten op niveau 2 en hoger" }
        @match &recent {
            Some(results) if results.hits.is_empty() => p { "Geen." },
            Some(results) => ol class="hits" { @for hit in &results.hits { li { (hit_view(console, hit)) } } },
            None => p class="error" { "Het archief antwoordt nu niet." },
        }
    };
    let title = format!("{name} ({})", code.as_str());
    respond(StatusCode::OK, view::page(&title, Some(&signed_in), &console.region_name, body))
}
