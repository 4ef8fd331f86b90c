//! The halt switch in the console (rule L13): a banner on every signed-in
//! page while onrust is halted, with since when, by whom and why; and
//! `/stilleggen`, where a supervisor or an admin halts and resumes with a
//! reason. The same rules and the same path as the API
//! ([`crate::halt_api::apply`]): on record (`halt`, `resume`) before it
//! takes effect, nothing without the record.
//!
//! The banner is a layer on every page route rather than a part of each
//! page's template: a page added later cannot forget it.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;
use maud::{Markup, html};

use super::html::{self as view, csrf_field, form_values, respond, value};
use super::{Record, SignedIn};
use crate::WebState;
use crate::alerts::{MAX_COMMENT_CHARS, reason_text};
use crate::halt::HaltRecord;
use crate::halt_api::{Applied, NotApplied, apply};

/// Largest page the banner is put into; a page is rendered in memory anyway.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// `maandag 7 december 2026 om 06:40` in Dutch time (docs/schrijfwijzer.md).
fn when(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Amsterdam);
    format!("{} om {}", view::long_date(local.date_naive()), local.format("%H:%M"))
}

/// The banner: onrust is halted, since when, by whom, why, and what that means.
pub(crate) fn banner(halt: &HaltRecord) -> Markup {
    html! {
        section class="stilstand" role="status" aria-label="onrust staat stil" {
            p {
                strong { "onrust staat stil." }
                " Stilgelegd op " time datetime=(view::machine_time(halt.since)) { (when(halt.since)) }
                " door " (halt.by) ". Reden: “" (halt.reason) "”"
            }
            p {
                "Er wordt niets opgehaald en er gaan geen meldingen uit, tot een supervisor of beheerder onrust hervat. "
                "Wat al binnen was, blijft bewaard; wat intussen verschijnt, wordt na het hervatten alsnog gelezen."
            }
        }
    }
}

/// Puts the banner at the top of a page's main content while onrust is
/// halted; any other response passes as it is.
pub(crate) async fn halt_banner(State(state): State<WebState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let Some(halt) = state.halt.halt() else { return response };
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_BYTES).await else {
        return view::error_page(StatusCode::INTERNAL_SERVER_ERROR, None, "Deze pagina is te groot.");
    };
    let page = with_banner(&bytes, &banner(&halt));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page))
}

/// `page` with `banner` right inside its `<main …>`; unchanged without one.
fn with_banner(page: &[u8], banner: &Markup) -> Vec<u8> {
    let opening = page
        .windows(5)
        .position(|w| w == b"<main")
        .and_then(|at| page[at..].iter().position(|b| *b == b'>').map(|end| at + end + 1));
    let Some(at) = opening else { return page.to_vec() };
    let banner = banner.clone().into_string();
    let mut out = Vec::with_capacity(page.len() + banner.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(banner.as_bytes());
    out.extend_from_slice(&page[at..]);
    out
}

/// `GET /stilleggen`: halted or not, the last change, and the form to change it.
pub(crate) async fn halt_page(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
) -> Response {
    page(&state, &signed_in, StatusCode::OK, None)
}

fn page(state: &WebState, signed_in: &SignedIn, status: StatusCode, problem: Option<&str>) -> Response {
    let last = state.halt.current();
    let halted = last.as_ref().is_some_and(|r| r.halted);
    let body = html! {
        @if let Some(problem) = problem {
            p class="error" role="alert" { (problem) }
        }
        @if halted {
            p { "onrust staat stil. Hervat het als de reden voorbij is; de bronnen lezen dan verder waar ze waren, en wat is blijven liggen, wordt alsnog verstuurd." }
        } @else {
            p { "onrust draait. Stilleggen stopt binnen enkele seconden het ophalen bij alle bronnen en het versturen van alle meldingen. Zoeken en deze pagina's blijven werken. Het blijft stil, ook na een herstart, tot iemand het hervat." }
            @if let Some(last) = &last {
                p { "Laatst hervat op " (when(last.since)) " door " (last.by) ". Reden: “" (last.reason) "”" }
            }
        }
        form method="post" action=(if halted { "/hervatten" } else { "/stilleggen" }) {
            (csrf_field(&signed_in.csrf))
            p {
                label for="reden" { "Reden (komt in het auditlog)" }
                br;
                textarea id="reden" name="reden" rows="3" cols="60" maxlength=(MAX_COMMENT_CHARS) required {}
            }
            button type="submit" { @if halted { "Hervatten" } @else { "Stilleggen" } }
        }
    };
    respond(status, view::page("Stilleggen en hervatten", Some(signed_in), &state.console.region_name, body))
}

/// `POST /stilleggen` with `reden`.
pub(crate) async fn halt_form(state: State<WebState>, signed_in: axum::Extension<SignedIn>, body: Bytes) -> Response {
    change(state, signed_in, body, true).await
}

/// `POST /hervatten` with `reden`.
pub(crate) async fn resume_form(state: State<WebState>, signed_in: axum::Extension<SignedIn>, body: Bytes) -> Response {
    change(state, signed_in, body, false).await
}

async fn change(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
    body: Bytes,
    halt: bool,
) -> Response {
    let values = form_values(&body);
    let Some(reason) = value(&values, "reden").map(str::to_owned).and_then(reason_text) else {
        let refused = format!("a reason of 1 to {MAX_COMMENT_CHARS} characters without control characters is required");
        let record =
            Record { refused: Some(refused), ..Record::new(crate::halt_api::action(halt), serde_json::json!({})) };
        if let Err(page) = record.write(&state, &signed_in).await {
            return page;
        }
        let problem = format!("Geef een reden van 1 tot {MAX_COMMENT_CHARS} tekens.");
        return page(&state, &signed_in, StatusCode::BAD_REQUEST, Some(&problem));
    };
    match apply(&state, &signed_in.principal, halt, &reason).await {
        Ok(Applied::Changed(_) | Applied::AlreadySo(_)) => view::redirect("/stilleggen", &[]),
        Err(NotApplied::NotRecorded(_)) => view::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&signed_in),
            "Het auditlog kan niet worden geschreven, dus er is niets veranderd. De beheerders zien waarom.",
        ),
        Err(NotApplied::NotSaved) => view::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&signed_in),
            "De stand van de schakelaar kon niet worden opgeslagen, dus er is niets veranderd. De beheerders zien waarom.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_goes_inside_main_and_escapes_what_people_wrote() {
        let halt = HaltRecord {
            halted: true,
            since: "2026-12-07T05:40:00Z".parse().unwrap(),
            by: "sv-regio".into(),
            reason: "<script>alert(1)</script> DPIA".into(),
        };
        let page = b"<html><body><header>x</header><main id=\"inhoud\" tabindex=\"-1\"><h1>Overzicht</h1></main></body></html>";
        let out = String::from_utf8(with_banner(page, &banner(&halt))).unwrap();
        let main = out.find("<main").unwrap();
        let section = out.find("<section class=\"stilstand\"").unwrap();
        assert!(main < section && section < out.find("<h1>").unwrap(), "{out}");
        assert!(out.contains("maandag 7 december 2026 om 06:40"), "Dutch time, in full: {out}");
        assert!(out.contains("sv-regio") && out.contains("&lt;script&gt;") && !out.contains("<script>"), "{out}");
        assert_eq!(with_banner(b"no main here", &banner(&halt)), b"no main here");
    }
}
