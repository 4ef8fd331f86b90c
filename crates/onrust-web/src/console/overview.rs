//! `/`: a tile per municipality the account sees (its own first): the
//! escalation index over the last 6 hours, active alerts by severity, the
//! next announced actions (from announcement alerts and from the archive's
//! messages that name a time ahead), and coverage: how many of the sources
//! that follow the municipality deliver (silence is never calm, R10).
//!
//! The index is the dashboards' (`onrust:escalation_index:6h`, docs/metrics.md):
//! messages at level 1 + 3 × level 2 + 9 × level 3, here over every theme of
//! the municipality and counted in the archive by publication time. Three
//! facet-only searches give it for every municipality at once.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Europe::Amsterdam;
use maud::{Markup, html};
use onrust_alert::{Alert, AlertStatus, Severity};
use onrust_archive::SearchRequest;
use onrust_model::{Level, MunicipalityCode};

use super::calendar::{self, Action};
use super::html::{self as view, machine_time, municipality_link, respond};
use super::{Console, Record, SignedIn, coverage};
use crate::WebState;
use crate::auth::Scope;

/// The window of the escalation index.
const WINDOW_HOURS: i64 = 6;

/// Announced actions shown per tile.
const NEXT_ACTIONS: usize = 3;

/// The index per municipality code; `None` when the archive could not be asked.
async fn escalation_index(state: &WebState, now: DateTime<Utc>) -> Option<HashMap<String, u64>> {
    let since = now - TimeDelta::hours(WINDOW_HOURS);
    let mut at_least: Vec<HashMap<String, u64>> = Vec::new();
    for level in [Level::Discussion, Level::Mobilisation, Level::Escalation] {
        let request = SearchRequest {
            min_level: Some(level),
            since: Some(since),
            facets: true,
            limit: 1,
            ..SearchRequest::default()
        };
        let results = crate::search::execute(state, request).await.ok()?;
        let facets = results.facets?;
        at_least.push(facets.municipalities.into_iter().map(|f| (f.value, f.count)).collect());
    }
    let count = |i: usize, code: &str| at_least.get(i).and_then(|m| m.get(code)).copied().unwrap_or(0);
    let codes: Vec<String> = at_least.first().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    Some(
        codes
            .into_iter()
            .map(|code| {
                let (one, two, three) = (count(0, &code), count(1, &code), count(2, &code));
                let index = one.saturating_sub(two) + 3 * two.saturating_sub(three) + 9 * three;
                (code, index)
            })
            .collect(),
    )
}

/// The municipalities the account has tiles for: its own, or the region's.
fn tiles_for(console: &Console, scope: &Scope) -> Vec<MunicipalityCode> {
    match scope.municipalities() {
        Some(codes) => codes.to_vec(),
        None => console.region.clone(),
    }
}

/// `GET /`.
pub(crate) async fn overview(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
) -> Response {
    let scope = &signed_in.principal.scope;
    let alerts: Option<Vec<Alert>> = state.alerts.as_ref().and_then(|b| b.list().ok()).map(|mut alerts| {
        alerts.retain(|a| scope.may_read(a.municipality.as_ref()) && a.status != AlertStatus::Resolved);
        alerts
    });
    let console = &state.console;
    let now = console.now();
    let index = escalation_index(&state, now).await;
    let request = calendar::request(now, scope.municipalities().filter(|c| c.len() == 1).map(|c| c[0].clone()));
    let announced = crate::search::execute(&state, request).await.ok();
    let actions: Vec<Action> = {
        let open: Vec<&Alert> = alerts.iter().flatten().collect();
        calendar::actions(&open, announced.as_ref().map_or(&[][..], |r| r.hits.as_slice()), now)
    };
    let mut codes = tiles_for(console, scope);
    let own = scope.municipalities().is_some();
    if !own {
        let by_index = |c: &MunicipalityCode| index.as_ref().and_then(|i| i.get(c.as_str())).copied().unwrap_or(0);
        codes.sort_by(|a, b| {
            by_index(b).cmp(&by_index(a)).then_with(|| console.name_of(a.as_str()).cmp(&console.name_of(b.as_str())))
        });
    }
    let record = Record {
        hits: alerts.as_ref().map(|a| a.len() as u64),
        ..Record::new("overview", serde_json::json!({ "municipalities": codes.len() }))
    };
    if let Err(r) = record.write(&state, &signed_in).await {
        return r;
    }
    let regional: Vec<&Alert> = alerts.iter().flatten().filter(|a| a.municipality.is_none()).collect();
    let body = html! {
        @if alerts.is_none() { p class="error" role="alert" { "De meldingen zijn nu niet beschikbaar." } }
        @if index.is_none() { p class="error" role="alert" { "De escalatie-index is nu niet beschikbaar (het archief antwoordt niet)." } }
        @if !regional.is_empty() {
            h2 { "Hele regio" }
            (counts(&regional))
        }
        h2 { @if own { "Uw gemeenten" } @else { "Gemeenten" } }
        ul class="tiles" {
            @for code in &codes {
                @let mine: Vec<&Alert> = alerts.iter().flatten().filter(|a| a.municipality.as_ref() == Some(code)).collect();
                li class={ "tile" @if own { " own" } } {
                    h3 { (municipality_link(code.as_str(), &console.name_of(code.as_str()))) }
                    dl {
                        dt { "Escalatie-index (6 uur)" }
                        dd { @match index.as_ref() { Some(i) => (i.get(code.as_str()).copied().unwrap_or(0)), None => "–" } }
                        dt { "Actieve meldingen" }
                        dd { (counts_line(&mine)) }
                        dt { "Aangekondigd" }
                        dd { (next_actions(&actions, code, now)) }
                        dt { "Dekking" }
                        dd { (coverage::tile_line(console.coverage_view(), code)) }
                    }
                }
            }
        }
        @if codes.is_empty() { p class="notice" { "Er zijn geen gemeenten ingesteld voor deze regio." } }
    };
    respond(StatusCode::OK, view::page("Overzicht", Some(&signed_in), &console.region_name, body))
}

fn counts(alerts: &[&Alert]) -> Markup {
    html! { p { (counts_line(alerts)) " · " a href="/meldingen" { "alle meldingen" } } }
}

/// `1 kritiek, 2 waarschuwing` or `geen`.
fn counts_line(alerts: &[&Alert]) -> String {
    let parts: Vec<String> = [Severity::Critical, Severity::Warning, Severity::Info]
        .into_iter()
        .filter_map(|severity| {
            let n = alerts.iter().filter(|a| a.severity == severity).count();
            (n > 0).then(|| format!("{n} {}", view::severity_name(severity)))
        })
        .collect();
    if parts.is_empty() { "geen".to_owned() } else { parts.join(", ") }
}

/// The next announced actions about `code`, soonest first.
fn next_actions(actions: &[Action], code: &MunicipalityCode, now: DateTime<Utc>) -> Markup {
    let next: Vec<&Action> = actions
        .iter()
        .filter(|a| a.at > now && a.municipalities.iter().any(|m| m == code.as_str()))
        .take(NEXT_ACTIONS)
        .collect();
    html! {
        @if next.is_empty() {
            "geen"
        } @else {
            ul class="next" {
                @for a in next {
                    li {
                        time datetime=(machine_time(a.at)) { (a.at.with_timezone(&Amsterdam).format("%d-%m %H:%M")) }
                        " "
                        @match &a.link {
                            Some(link) if a.from_alert => a href=(link) { (a.what) },
                            Some(link) => a href=(link) rel="noreferrer noopener" { (a.what) },
                            None => (a.what),
                        }
                        @if let Some(place) = &a.place { ", " (place) }
                    }
                }
            }
        }
    }
}
