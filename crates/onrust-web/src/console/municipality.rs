//! `/gemeente/{code}`: one municipality's early-warning view. Messages per
//! level per day over 7 days (a chart and its table), the active and
//! recently ended alerts, the calendar of announced actions, the themes of
//! the week, the recent messages at level 2 or above with the classifier's
//! explanation and its words marked in the text, and coverage per source.
//! Scoped like the alerts: an account for other municipalities gets "not
//! found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use maud::{Markup, html};
use onrust_alert::{Alert, AlertStatus};
use onrust_archive::{Hit, SearchRequest, SearchResults, Sort};
use onrust_model::{Level, MunicipalityCode};

use super::alert_pages::alert_table;
use super::html::{self as view, municipality_link, respond, time};
use super::search_page::marked;
use super::{Console, Record, SignedIn, calendar, coverage, level_chart, signals};
use crate::WebState;

/// Recent messages shown.
const RECENT: usize = 15;
/// Days in the chart (today included).
const DAYS: u32 = 7;
/// Themes listed.
const THEMES: usize = 12;

/// Midnight in Dutch time at the start of the day `days - 1` days before `now`'s:
/// the start of the chart's first day.
fn chart_start(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let today = now.with_timezone(&Amsterdam).date_naive();
    let first = today - TimeDelta::days(i64::from(days.saturating_sub(1)));
    Amsterdam
        .from_local_datetime(&first.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map_or(now - TimeDelta::days(i64::from(days)), |t| t.with_timezone(&Utc))
}

/// The week's messages at or above `level`, with facets (days, themes).
fn week_at_least(code: &MunicipalityCode, level: Level, since: DateTime<Utc>) -> SearchRequest {
    SearchRequest {
        municipality: Some(code.clone()),
        min_level: Some(level),
        since: Some(since),
        facets: true,
        limit: 1,
        ..SearchRequest::default()
    }
}

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
    let console = &state.console;
    let now = console.now();
    let since = chart_start(now, DAYS);
    let mut week: Vec<Option<SearchResults>> = Vec::with_capacity(3);
    for level in [Level::Discussion, Level::Mobilisation, Level::Escalation] {
        week.push(crate::search::execute(&state, week_at_least(&code, level, since)).await.ok());
    }
    let recent = SearchRequest {
        municipality: Some(code.clone()),
        min_level: Some(Level::Mobilisation),
        sort: Sort::Newest,
        limit: RECENT,
        ..SearchRequest::default()
    };
    let recent = crate::search::execute(&state, recent).await.ok();
    let announced = crate::search::execute(&state, calendar::request(now, Some(code.clone()))).await.ok();
    let alerts = state.alerts.as_ref().and_then(|b| b.list().ok()).map(|mut alerts| {
        alerts.retain(|a| a.municipality.as_ref() == Some(&code));
        alerts
    });
    let record =
        Record { hits: recent.as_ref().map(|r| r.hits.len() as u64), ..Record::new("municipality_view", filters) };
    if let Err(r) = record.write(&state, &signed_in).await {
        return r;
    }
    let name = console.name_of(code.as_str());
    let chart = match (&week[0], &week[1], &week[2]) {
        (Some(one), Some(two), Some(three)) => {
            let facets = [one, two, three].map(|r| r.facets.as_ref().map_or(&[][..], |f| f.days.as_slice()));
            let today = now.with_timezone(&Amsterdam).date_naive();
            Some(level_chart::from_facets(today, DAYS, facets))
        }
        _ => None,
    };
    let themes = week[0].as_ref().and_then(|r| r.facets.as_ref()).map(|f| f.themes.clone());
    let (active, ended): (Vec<Alert>, Vec<Alert>) = alerts
        .iter()
        .flatten()
        .filter(|a| a.status != AlertStatus::Resolved || a.ends_at.is_some_and(|e| e > now - TimeDelta::days(7)))
        .cloned()
        .partition(|a| a.status != AlertStatus::Resolved);
    let body = html! {
        nav class="jump" aria-label="Op deze pagina" {
            ul {
                li { a href="#niveaus" { "Niveaus" } }
                li { a href="#meldingen" { "Meldingen" } }
                li { a href="#agenda" { "Agenda" } }
                li { a href="#themas" { "Thema's" } }
                li { a href="#berichten" { "Berichten" } }
                li { a href="#dekking" { "Dekking" } }
                li { a href={ "/zoeken?gemeente=" (code.as_str()) } { "Zoeken in " (name) } }
            }
        }
        h2 id="niveaus" { "Berichten per niveau, afgelopen " (DAYS) " dagen" }
        @match &chart {
            Some(days) => (level_chart::chart("niveaus-grafiek", &format!("Berichten over {name} per niveau per dag"), days)),
            None => p class="error" { "Het archief antwoordt nu niet." },
        }
        h2 id="meldingen" { "Actieve meldingen" }
        @match &alerts {
            Some(_) => (alert_table(console, &active)),
            None => p class="error" { "De meldingen zijn nu niet beschikbaar." },
        }
        @if !ended.is_empty() {
            h3 { "Afgelopen " (DAYS) " dagen opgelost" }
            (alert_table(console, &ended))
        }
        h2 id="agenda" { "Agenda van aangekondigde acties" }
        @match &announced {
            Some(results) => {
                @let mine: Vec<&Alert> = active.iter().collect();
                (calendar::agenda(&calendar::actions(&mine, &results.hits, now), &|c: &str| console.name_of(c)))
            }
            None => p class="error" { "Het archief antwoordt nu niet." },
        }
        h2 id="themas" { "Thema's, afgelopen " (DAYS) " dagen" }
        @match &themes {
            Some(themes) if themes.is_empty() => p { "Geen berichten met een thema." },
            Some(themes) => ul class="themes" {
                @for t in themes.iter().take(THEMES) {
                    li { a href={ "/zoeken?gemeente=" (code.as_str()) "&thema=" (t.value) } { (t.value) } " " (t.count) }
                }
            },
            None => p class="error" { "Het archief antwoordt nu niet." },
        }
        h2 id="berichten" { "Recente berichten op niveau 2 en hoger" }
        @match &recent {
            Some(results) if results.hits.is_empty() => p { "Geen." },
            Some(results) => ol class="hits" { @for hit in &results.hits { li { (explained(console, hit)) } } },
            None => p class="error" { "Het archief antwoordt nu niet." },
        }
        h2 id="dekking" { "Dekking per bron" }
        (coverage::table(console.coverage_view(), &code))
    };
    let title = format!("{name} ({})", code.as_str());
    respond(StatusCode::OK, view::page(&title, Some(&signed_in), &console.region_name, body))
}

/// A message with its explanation: title and text with the signals' words
/// marked, when and where, and the signals in Dutch. Never an author (L1).
pub(crate) fn explained(console: &Console, hit: &Hit) -> Markup {
    let title_marks = hit.title.as_deref().map(|t| signals::spans(t, &hit.explanation)).unwrap_or_default();
    let text_marks = signals::spans(&hit.text, &hit.explanation);
    html! {
        h3 {
            @match (&hit.url, &hit.title) {
                (Some(url), Some(title)) => a href=(url) rel="noreferrer noopener" { (marked(title, &title_marks)) },
                (None, Some(title)) => (marked(title, &title_marks)),
                (Some(url), None) => a href=(url) rel="noreferrer noopener" { "(zonder titel)" },
                (None, None) => "(zonder titel)",
            }
        }
        p class="text" { (marked(&hit.text, &text_marks)) }
        p class="meta" {
            (time(hit.published_at)) " · niveau " (hit.level) " – " (view::level_name(hit.level))
            @for code in &hit.municipalities { " · " (municipality_link(code, &console.name_of(code))) }
            @if !hit.themes.is_empty() { " · thema: " (hit.themes.join(", ")) }
            " · bron " (hit.source)
        }
        details class="why" {
            summary { "Waarom niveau " (hit.level) "?" }
            (signals::list(&hit.explanation))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_starts_at_dutch_midnight_six_days_back() {
        let now: DateTime<Utc> = "2026-12-31T10:00:00Z".parse().unwrap();
        assert_eq!(chart_start(now, 7), "2026-12-24T23:00:00Z".parse::<DateTime<Utc>>().unwrap());
        let summer: DateTime<Utc> = "2026-07-01T23:30:00Z".parse().unwrap();
        assert_eq!(chart_start(summer, 1), "2026-07-01T22:00:00Z".parse::<DateTime<Utc>>().unwrap(), "already the 2nd");
    }
}
