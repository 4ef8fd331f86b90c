//! What every page shares: the layout (landmarks, navigation, sign-out form),
//! Dutch words for levels and states, times in Europe/Amsterdam, and the
//! error page. Everything is escaped by `maud`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Amsterdam;
use maud::{DOCTYPE, Markup, html};

use super::SignedIn;
use crate::auth::{Permission, Role, allows};

/// The pages in the navigation: path, label, the permission that shows it.
const NAVIGATION: [(&str, &str, Permission); 6] = [
    ("/", "Overzicht", Permission::ReadAlerts),
    ("/meldingen", "Meldingen", Permission::ReadAlerts),
    ("/stiltes", "Stiltes", Permission::ReadAlerts),
    ("/zoeken", "Zoeken", Permission::Search),
    ("/audit", "Auditlog", Permission::ReadAudit),
    ("/stilleggen", "Stilleggen", Permission::Halt),
];

/// The page a role starts on after signing in.
pub(crate) fn home_of(role: Role) -> &'static str {
    NAVIGATION.iter().find(|(_, _, p)| allows(role, *p)).map_or("/login", |(path, _, _)| path)
}

/// Dutch name of a role, as the header shows it.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Officer => "informatieofficier",
        Role::Analyst => "analist",
        Role::Supervisor => "supervisor",
        Role::Fg => "functionaris gegevensbescherming",
        Role::Admin => "beheerder",
        Role::Monitor => "monitor",
    }
}

/// Dutch name of a message level.
pub(crate) fn level_name(level: u8) -> &'static str {
    match level {
        0 => "geen",
        1 => "discussie",
        2 => "mobilisatie",
        _ => "escalatie",
    }
}

pub(crate) fn severity_name(severity: onrust_alert::Severity) -> &'static str {
    match severity {
        onrust_alert::Severity::Info => "informatie",
        onrust_alert::Severity::Warning => "waarschuwing",
        onrust_alert::Severity::Critical => "kritiek",
    }
}

pub(crate) fn status_name(status: onrust_alert::AlertStatus) -> &'static str {
    match status {
        onrust_alert::AlertStatus::Pending => "in afwachting",
        onrust_alert::AlertStatus::Firing => "actief",
        onrust_alert::AlertStatus::Resolved => "opgelost",
    }
}

/// `1 bericht`, `2 berichten`, `0 berichten` (docs/schrijfwijzer.md: the singular after 1 only).
pub(crate) fn counted(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// `30-12-2026 21:45` in Dutch time.
pub(crate) fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M").to_string()
}

/// `donderdag 31 december 2026`: the date as the alert mails write it.
pub(crate) fn long_date(date: chrono::NaiveDate) -> String {
    onrust_alert::render::email::dutch_date(date)
}

/// The `datetime` attribute of a `<time>` element.
pub(crate) fn machine_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(machine_time(at)) { (local_time(at)) } }
}

/// The hidden field every form carries.
pub(crate) fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A whole page: language, title, skip link, header with navigation and
/// sign-out, the main landmark with `body`.
pub(crate) fn page(title: &str, signed_in: Option<&SignedIn>, region: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="nl" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · onrust" }
                link rel="stylesheet" href="/static/console.css";
            }
            body {
                a class="skip" href="#inhoud" { "Naar de inhoud" }
                header class="top" {
                    p class="brand" {
                        "onrust"
                        @if !region.is_empty() { span class="region" { " · " (region) } }
                    }
                    @if let Some(s) = signed_in {
                        nav aria-label="Hoofdmenu" {
                            ul {
                                @for (path, label, permission) in NAVIGATION {
                                    @if allows(s.principal.role, permission) {
                                        li { a href=(path) { (label) } }
                                    }
                                }
                            }
                        }
                        form class="signout" method="post" action="/uitloggen" {
                            (csrf_field(&s.csrf))
                            span { (s.principal.name) " (" (role_name(s.principal.role)) ")" }
                            " "
                            button type="submit" { "Afmelden" }
                        }
                    }
                }
                main id="inhoud" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A rendered page as a response.
pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// An error page: what went wrong and what to do, in Dutch.
pub(crate) fn error_page(status: StatusCode, signed_in: Option<&SignedIn>, message: &str) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Niet gevonden",
        StatusCode::FORBIDDEN => "Geen toegang",
        StatusCode::BAD_REQUEST => "Verzoek niet begrepen",
        StatusCode::CONFLICT => "Niet mogelijk",
        _ => "Tijdelijk niet beschikbaar",
    };
    let body = html! {
        p class="error" role="alert" { (message) }
        p { a href="/" { "Terug naar het overzicht" } }
    };
    respond(status, page(title, signed_in, "", body))
}

/// A `303 See Other` to `location`, with cookies to set.
pub(crate) fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A link to a municipality's page with its name beside its code.
pub(crate) fn municipality_link(code: &str, name: &str) -> Markup {
    html! { a href={ "/gemeente/" (code) } { (name) " (" (code) ")" } }
}

/// The form values of a urlencoded body, or a query string.
pub(crate) fn form_values(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `name`.
pub(crate) fn value<'a>(values: &'a [(String, String)], name: &str) -> Option<&'a str> {
    values.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_dutch_local_time() {
        let winter: DateTime<Utc> = "2026-12-30T20:45:00Z".parse().unwrap();
        assert_eq!(local_time(winter), "30-12-2026 21:45");
        let summer: DateTime<Utc> = "2026-07-01T20:45:00Z".parse().unwrap();
        assert_eq!(local_time(summer), "01-07-2026 22:45");
    }

    #[test]
    fn long_dates_are_dutch() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(long_date(date), "donderdag 31 december 2026");
    }

    #[test]
    fn values_are_escaped() {
        let markup = municipality_link("GM0344", "<script>alert(1)</script>").into_string();
        assert!(markup.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{markup}");
        assert!(!markup.contains("<script>"));
    }

    #[test]
    fn each_role_starts_on_a_page_it_may_see() {
        assert_eq!(home_of(Role::Officer), "/");
        assert_eq!(home_of(Role::Supervisor), "/");
        assert_eq!(home_of(Role::Analyst), "/zoeken");
        assert_eq!(home_of(Role::Fg), "/audit");
    }
}
