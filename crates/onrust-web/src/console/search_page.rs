//! `/zoeken`: the archive search as a page. The same checks, slots, budget,
//! scope and audit record as `GET /api/v1/search`, with Dutch parameters:
//! `q`, `gemeente`, `thema`, `niveau` (at least), `van` and `tot` (dates,
//! Dutch time, both inclusive), `volgorde` and `pagina`.
//!
//! Who searches what: analysts and region-wide officers and supervisors the
//! whole archive; an officer or supervisor for some municipalities only
//! messages about one of them ([`crate::search::scope_search`]). The
//! results can be taken along as CSV ([`super::export`]).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use maud::{Markup, html};
use onrust_archive::{Facets, Hit, SearchRequest, SearchResults, Sort};
use onrust_model::{Level, MunicipalityCode};

use super::html::{self as view, form_values, municipality_link, respond, time};
use super::{Console, Record, SignedIn};
use crate::WebState;
use crate::search::{execute, scope_search};

/// Hits per page.
pub(crate) const PAGE_SIZE: usize = 20;
/// The last page one can turn to (the archive's offset limit).
const MAX_PAGE: usize = onrust_archive::MAX_OFFSET / PAGE_SIZE + 1;

/// The form as given, to fill it in again.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Form {
    q: String,
    gemeente: String,
    thema: String,
    niveau: String,
    van: String,
    tot: String,
    volgorde: String,
    pagina: usize,
}

/// Reads the page's parameters into the form and the archive's request; the
/// messages name every problem, in Dutch.
pub(crate) fn parse(raw: Option<&str>) -> (Form, Result<SearchRequest, Vec<String>>) {
    let mut form = Form { pagina: 1, ..Form::default() };
    let mut problems = Vec::new();
    for (name, given) in form_values(raw.unwrap_or_default().as_bytes()) {
        match name.as_str() {
            "q" => form.q = given,
            "gemeente" => form.gemeente = given,
            "thema" => form.thema = given,
            "niveau" => form.niveau = given,
            "van" => form.van = given,
            "tot" => form.tot = given,
            "volgorde" => form.volgorde = given,
            "pagina" => match given.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => form.pagina = n,
                _ => problems.push(format!("Pagina moet een getal van 1 tot {MAX_PAGE} zijn.")),
            },
            _ => problems.push(format!("Onbekende parameter {:?}.", crate::api::shorten(&name, 40))),
        }
    }
    let mut request = SearchRequest {
        query: form.q.clone(),
        facets: true,
        limit: PAGE_SIZE,
        offset: (form.pagina - 1) * PAGE_SIZE,
        ..SearchRequest::default()
    };
    if !form.gemeente.is_empty() {
        match MunicipalityCode::new(form.gemeente.clone()) {
            Ok(code) => request.municipality = Some(code),
            Err(_) => problems.push("Gemeente moet een CBS-code zijn, zoals GM0344.".into()),
        }
    }
    if !form.thema.is_empty() {
        if form.thema.len() <= 64 && form.thema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            request.theme = Some(form.thema.clone());
        } else {
            problems.push("Thema moet een thema uit de lijst zijn.".into());
        }
    }
    if !form.niveau.is_empty() {
        match form.niveau.parse::<u8>().ok().and_then(|n| Level::try_from(n).ok()) {
            Some(level) => request.min_level = Some(level),
            None => problems.push("Niveau moet 0, 1, 2 of 3 zijn.".into()),
        }
    }
    for (field, given, next_day) in [("Van", &form.van, false), ("Tot en met", &form.tot, true)] {
        if given.is_empty() {
            continue;
        }
        match local_midnight(given, next_day) {
            Some(at) if next_day => request.until = Some(at),
            Some(at) => request.since = Some(at),
            None => problems.push(format!("{field} moet een datum zijn (jjjj-mm-dd).")),
        }
    }
    if let (Some(since), Some(until)) = (request.since, request.until)
        && since >= until
    {
        problems.push("Van moet op of vóór Tot en met liggen.".into());
    }
    request.sort = match form.volgorde.as_str() {
        "" | "relevantie" => Sort::Relevance,
        "nieuwste" => Sort::Newest,
        "oudste" => Sort::Oldest,
        _ => {
            problems.push("Volgorde moet relevantie, nieuwste of oudste zijn.".into());
            Sort::Relevance
        }
    };
    if form.q.chars().count() > onrust_archive::MAX_QUERY_CHARS {
        problems.push(format!("De zoekvraag is langer dan {} tekens.", onrust_archive::MAX_QUERY_CHARS));
    }
    (form, if problems.is_empty() { Ok(request) } else { Err(problems) })
}

/// Midnight in Dutch time at the start of `date` (or of the day after).
fn local_midnight(date: &str, next_day: bool) -> Option<DateTime<Utc>> {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let day = if next_day { day.checked_add_days(Days::new(1))? } else { day };
    Amsterdam.from_local_datetime(&day.and_time(NaiveTime::MIN)).earliest().map(|t| t.with_timezone(&Utc))
}

/// `GET /zoeken`.
pub(crate) async fn search(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (query, filters) = crate::api::given_params(raw.as_deref());
    let (form, parsed) = parse(raw.as_deref());
    let searched = raw.as_deref().is_some_and(|r| !r.is_empty());
    let mut mandates = Vec::new();
    let outcome = match parsed {
        Err(problems) => Some(Err(problems.join(" "))),
        Ok(mut request) if searched => match scope_search(&signed_in.principal.scope, &mut request) {
            Err(_) => Some(Err("U zoekt alleen in uw eigen gemeente(n).".to_owned())),
            Ok(()) => match crate::search::mandates_covering(&state, &request) {
                Err(_) => Some(Err(crate::search::NO_MANDATE_NL.to_owned())),
                Ok(covering) => {
                    mandates = covering;
                    Some(execute(&state, request).await.map_err(|refusal| {
                        if refusal.error.status == StatusCode::BAD_REQUEST {
                            format!("De zoekvraag kan niet worden uitgevoerd: {}", refusal.error.message)
                        } else {
                            "Zoeken is nu niet mogelijk. Probeer het zo opnieuw.".to_owned()
                        }
                    }))
                }
            },
        },
        Ok(_) => None,
    };
    if let Some(outcome) = &outcome {
        let (hits, refused) = match outcome {
            Ok(results) => (Some(results.total as u64), None),
            Err(message) => (None, Some(message.clone())),
        };
        let record = Record { query, hits, refused, mandates, ..Record::new("search", filters) };
        if let Err(r) = record.write(&state, &signed_in).await {
            return r;
        }
    }
    let console = &state.console;
    let status = match &outcome {
        Some(Err(_)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let body = html! {
        (search_form(console, &signed_in, &form))
        @match &outcome {
            None => p class="notice" { "Vul een zoekvraag in of kies filters." },
            Some(Err(message)) => p class="error" role="alert" { (message) },
            Some(Ok(results)) => (results_view(console, &form, results)),
        }
    };
    respond(status, view::page("Zoeken in het archief", Some(&signed_in), &console.region_name, body))
}

fn search_form(console: &Console, signed_in: &SignedIn, form: &Form) -> Markup {
    let choices: Vec<&MunicipalityCode> = match signed_in.principal.scope.municipalities() {
        Some(codes) => codes.iter().collect(),
        None => console.region.iter().collect(),
    };
    let region_wide = signed_in.principal.scope.municipalities().is_none();
    html! {
        form class="filters" method="get" action="/zoeken" role="search" {
            p class="wide" {
                label for="q" { "Zoekvraag" }
                input id="q" name="q" type="search" value=(form.q) aria-describedby="syntax";
            }
            p {
                label for="gemeente" { "Gemeente" }
                select id="gemeente" name="gemeente" {
                    @if region_wide { option value="" { "Hele archief" } }
                    @for code in &choices {
                        option value=(code.as_str()) selected[form.gemeente == code.as_str()] {
                            (console.name_of(code.as_str())) " (" (code.as_str()) ")"
                        }
                    }
                    @if !form.gemeente.is_empty() && !choices.iter().any(|c| c.as_str() == form.gemeente) {
                        option value=(form.gemeente) selected { (console.name_of(&form.gemeente)) " (" (form.gemeente) ")" }
                    }
                }
            }
            p {
                label for="thema" { "Thema" }
                input id="thema" name="thema" type="text" value=(form.thema) size="14";
            }
            p {
                label for="niveau" { "Niveau ten minste" }
                select id="niveau" name="niveau" {
                    option value="" { "Alle" }
                    @for level in 1u8..=3 {
                        option value=(level) selected[form.niveau == level.to_string()] { (level) " – " (view::level_name(level)) }
                    }
                }
            }
            p { label for="van" { "Van" } input id="van" name="van" type="date" value=(form.van); }
            p { label for="tot" { "Tot en met" } input id="tot" name="tot" type="date" value=(form.tot); }
            p {
                label for="volgorde" { "Volgorde" }
                select id="volgorde" name="volgorde" {
                    @for (word, label) in [("relevantie", "Relevantie"), ("nieuwste", "Nieuwste eerst"), ("oudste", "Oudste eerst")] {
                        option value=(word) selected[form.volgorde == word] { (label) }
                    }
                }
            }
            p { button type="submit" { "Zoeken" } }
        }
        details id="syntax" {
            summary { "Hoe zoek ik?" }
            ul {
                li { code { "trekkers A12" } " – berichten met beide woorden" }
                li { code { "\"boeren blokkeren\"" } " – precies deze woorden na elkaar" }
                li { code { "stikstof OR trekkers" } " – een van beide" }
                li { code { "rel*" } " – woorden die zo beginnen" }
                li { code { "demonstratie -politie" } " – zonder het tweede woord" }
                li { code { "stikstof" } " – ook in samenstellingen, zoals stikstofbeleid" }
                li { code { "published_at:[2026-11-01 TO *]" } " – gepubliceerd vanaf 1 november 2026 (UTC); " code { "*" } " is een open einde" }
                li { code { "event_time:[2026-12-31T20:00:00Z TO 2027-01-01T06:00:00Z]" } " – acties aangekondigd voor die nacht" }
                li { code { "title:rellen" } " – alleen in de titel; ook " code { "themes:" } ", " code { "level:" } ", " code { "source:" } }
            }
        }
    }
}

/// The link to the same search with one parameter changed (and back to page 1).
fn with(form: &Form, name: &str, value: &str) -> String {
    with_path(form, "/zoeken", name, value)
}

/// The same search's CSV export.
fn export_link(form: &Form) -> String {
    with_path(form, "/zoeken/export", "", "")
}

fn with_path(form: &Form, path: &str, name: &str, value: &str) -> String {
    let mut next = form.clone();
    next.pagina = 1;
    match name {
        "gemeente" => next.gemeente = value.to_owned(),
        "thema" => next.thema = value.to_owned(),
        "niveau" => next.niveau = value.to_owned(),
        "pagina" => next.pagina = value.parse().unwrap_or(1),
        _ => {}
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, given) in [
        ("q", &next.q),
        ("gemeente", &next.gemeente),
        ("thema", &next.thema),
        ("niveau", &next.niveau),
        ("van", &next.van),
        ("tot", &next.tot),
        ("volgorde", &next.volgorde),
    ] {
        if !given.is_empty() {
            query.append_pair(key, given);
        }
    }
    if next.pagina > 1 {
        query.append_pair("pagina", &next.pagina.to_string());
    }
    format!("{path}?{}", query.finish())
}

fn results_view(console: &Console, form: &Form, results: &SearchResults) -> Markup {
    let first = (form.pagina - 1) * PAGE_SIZE + 1;
    let last = first + results.hits.len().saturating_sub(1);
    html! {
        p role="status" {
            @if results.total == 0 { "Geen berichten gevonden." }
            @else { (view::counted(results.total as u64, "bericht", "berichten")) " gevonden; " (first) " tot en met " (last) " getoond." }
        }
        @if results.total > 0 {
            p class="export" {
                a href=(export_link(form)) download { "Exporteren als CSV" }
                @if results.total > super::EXPORT_CAP {
                    " (de eerste " (super::EXPORT_CAP) " van " (results.total) " in deze volgorde; verfijn de zoekvraag voor de rest)"
                } @else {
                    " (alle " (results.total) ")"
                }
            }
        }
        div class="layout" {
            aside class="facets" aria-label="Verfijnen" {
                @if let Some(facets) = &results.facets { (facets_view(console, form, facets)) }
            }
            div {
                @if let Some(facets) = &results.facets { (histogram(&facets.days)) }
                ol class="hits" start=(first) {
                    @for hit in &results.hits { li { (hit_view(console, hit)) } }
                }
                nav class="paging" aria-label="Pagina's" {
                    @if form.pagina > 1 { a href=(with(form, "pagina", &(form.pagina - 1).to_string())) { "Vorige pagina" } }
                    @if last < results.total && form.pagina < MAX_PAGE {
                        a href=(with(form, "pagina", &(form.pagina + 1).to_string())) { "Volgende pagina" }
                    }
                }
            }
        }
    }
}

fn facets_view(console: &Console, form: &Form, facets: &Facets) -> Markup {
    html! {
        h2 { "Gemeenten" }
        ul {
            @for f in facets.municipalities.iter().take(15) {
                li { a href=(with(form, "gemeente", &f.value)) { (console.name_of(&f.value)) " (" (f.value) ")" } " " (f.count) }
            }
        }
        h2 { "Thema's" }
        ul {
            @for f in facets.themes.iter().take(15) {
                li { a href=(with(form, "thema", &f.value)) { (f.value) } " " (f.count) }
            }
        }
        h2 { "Niveaus" }
        ul {
            @for f in &facets.levels {
                @let level = f.value.parse::<u8>().unwrap_or(0);
                li { a href=(with(form, "niveau", &f.value)) { (f.value) " – " (view::level_name(level)) } " " (f.count) }
            }
        }
    }
}

/// Messages per day as bars (server-rendered SVG, no script), with a text alternative.
pub(crate) fn histogram(days: &[onrust_archive::FacetCount]) -> Markup {
    let shown: Vec<&onrust_archive::FacetCount> =
        days.iter().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
    let max = shown.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    let width = 600usize;
    let bar = if shown.is_empty() { 0 } else { (width / shown.len()).clamp(2, 40) };
    let summary = match (shown.first(), shown.last()) {
        (Some(first), Some(last)) => {
            format!("Berichten per dag van {} tot en met {}; het meeste op één dag: {max}.", first.value, last.value)
        }
        _ => "Geen berichten in deze periode.".to_owned(),
    };
    html! {
        figure {
            svg class="chart" viewBox="0 0 600 120" role="img" aria-label=(summary) {
                @for (i, day) in shown.iter().enumerate() {
                    @let height = (day.count * 100 / max).max(1);
                    rect class="bar" x=(i * bar) y=(105 - height) width=(bar.saturating_sub(1).max(1)) height=(height) {
                        title { (day.value) ": " (day.count) }
                    }
                }
            }
            figcaption { (summary) }
        }
    }
}

/// A hit: title, the snippet with the query's words marked (escaped piece by
/// piece), when, where, level, themes and source. Never an author (L1).
pub(crate) fn hit_view(console: &Console, hit: &Hit) -> Markup {
    html! {
        h3 {
            @match (&hit.url, &hit.title) {
                (Some(url), Some(title)) => a href=(url) rel="noreferrer noopener" { (title) },
                (None, Some(title)) => (title),
                (Some(url), None) => a href=(url) rel="noreferrer noopener" { "(zonder titel)" },
                (None, None) => "(zonder titel)",
            }
        }
        @match &hit.snippet {
            Some(snippet) => p class="text" { (marked(&snippet.text, &snippet.highlights)) },
            None => p class="text" { (crate::api::shorten(&hit.text, 280)) },
        }
        p class="meta" {
            (time(hit.published_at)) " · niveau " (hit.level) " – " (view::level_name(hit.level))
            @for code in &hit.municipalities { " · " (municipality_link(code, &console.name_of(code))) }
            @if !hit.themes.is_empty() { " · thema: " (hit.themes.join(", ")) }
            " · bron " (hit.source)
        }
    }
}

/// `text` with the byte ranges in `highlights` in `<mark>`; a range that does
/// not fall on character boundaries is left unmarked.
pub(crate) fn marked(text: &str, highlights: &[[usize; 2]]) -> Markup {
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    let mut at = 0;
    for &[start, end] in highlights {
        if start < at || end <= start {
            continue;
        }
        let (Some(before), Some(inside)) = (text.get(at..start), text.get(start..end)) else { continue };
        pieces.push((before, false));
        pieces.push((inside, true));
        at = end;
    }
    pieces.push((text.get(at..).unwrap_or_default(), false));
    html! { @for (piece, mark) in pieces { @if mark { mark { (piece) } } @else { (piece) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_parameters_map_onto_the_archive_request() {
        let (form, request) = parse(Some(
            "q=trekkers&gemeente=GM0344&thema=stikstof&niveau=2&van=2026-11-01&tot=2026-11-30&volgorde=nieuwste&pagina=3",
        ));
        let request = request.unwrap();
        assert_eq!(form.pagina, 3);
        assert_eq!(request.query, "trekkers");
        assert_eq!(request.municipality.as_ref().map(MunicipalityCode::as_str), Some("GM0344"));
        assert_eq!(request.min_level, Some(Level::Mobilisation));
        assert_eq!(request.since, Some("2026-10-31T23:00:00Z".parse().unwrap()), "midnight in Dutch winter time");
        assert_eq!(request.until, Some("2026-11-30T23:00:00Z".parse().unwrap()), "to the end of the last day");
        assert_eq!(request.sort, Sort::Newest);
        assert_eq!(request.offset, 2 * PAGE_SIZE);
        assert!(request.facets);
    }

    #[test]
    fn every_problem_is_named() {
        let (_, request) = parse(Some("gemeente=Utrecht&niveau=7&van=gisteren&pagina=0&auteur=x"));
        let problems = request.unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("auteur")));
        let (_, request) = parse(Some("van=2026-11-30&tot=2026-11-01"));
        assert_eq!(request.unwrap_err(), ["Van moet op of vóór Tot en met liggen."]);
        let (_, request) = parse(Some("van=2026-11-30&tot=2026-11-30"));
        let request = request.unwrap();
        assert_eq!(
            (request.since, request.until),
            (Some("2026-11-29T23:00:00Z".parse().unwrap()), Some("2026-11-30T23:00:00Z".parse().unwrap())),
            "one whole Dutch day"
        );
    }

    #[test]
    fn highlights_are_marked_and_everything_is_escaped() {
        let markup = marked("<b>rellen</b> in Utrecht", &[[3, 9], [100, 120], [5, 4]]).into_string();
        assert_eq!(markup, "&lt;b&gt;<mark>rellen</mark>&lt;/b&gt; in Utrecht");
        let markup = marked("één rel", &[[1, 2]]).into_string();
        assert_eq!(markup, "één rel", "a range inside a character is left out");
    }

    #[test]
    fn facet_links_keep_the_search_and_start_at_page_one() {
        let form = Form { q: "a&b".into(), pagina: 4, ..Form::default() };
        assert_eq!(with(&form, "gemeente", "GM0344"), "/zoeken?q=a%26b&gemeente=GM0344");
        assert_eq!(with(&form, "pagina", "5"), "/zoeken?q=a%26b&pagina=5");
        assert_eq!(export_link(&form), "/zoeken/export?q=a%26b");
    }
}
