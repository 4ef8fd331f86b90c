//! `/stiltes`: the silences in force (matching alerts notify nobody until the
//! silence ends), a form to add one with an end time and a reason, and a
//! button to lift one. The same rules as the API (`/api/v1/silences`): the
//! `silence` permission (supervisors) to add and lift; an account for some
//! municipalities sees the region-wide silences and its own, and adds or
//! lifts only one limited to one of its municipalities. Every view and
//! change is audited under the API's action names (`silences_list`,
//! `silence`, `silence_expire`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use maud::{Markup, html};
use onrust_alert::{Alert, Matcher, MechanicsError, Silence, SilenceRequest};
use onrust_model::MunicipalityCode;

use super::html::{self as view, csrf_field, form_values, respond, time, value};
use super::{Console, Record, SignedIn};
use crate::WebState;
use crate::alerts::{AlertBackendError, MAX_COMMENT_CHARS, may_silence, silence_visible};
use crate::auth::{Permission, Scope, allows};

/// Longest a silence may last from the console.
const MAX_DAYS: i64 = 90;

/// What the form gave, to fill it in again after a problem.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SilenceForm {
    pub gemeente: String,
    pub regel: String,
    pub thema: String,
    pub tot: String,
    pub reden: String,
}

/// The form's fields as a silence: matchers, end, reason; or every problem, in Dutch.
fn read_form(
    form: &SilenceForm,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<(Vec<Matcher>, DateTime<Utc>), Vec<String>> {
    let mut problems = Vec::new();
    let mut matchers = Vec::new();
    let matcher = |label: &str, value: &str| Matcher { label: label.into(), value: value.into(), negate: false };
    if !form.gemeente.is_empty() {
        match MunicipalityCode::new(form.gemeente.clone()) {
            Ok(code) => matchers.push(matcher("municipality", code.as_str())),
            Err(_) => problems.push("Kies een gemeente uit de lijst.".to_owned()),
        }
    }
    for (label, given, name) in [("rule", &form.regel, "Regel"), ("theme", &form.thema, "Thema")] {
        let given = given.trim();
        if given.is_empty() {
            continue;
        }
        if given.chars().count() > 64 || !given.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            problems.push(format!("{name} is een naam uit de configuratie: letters, cijfers, - _ en ."));
        } else {
            matchers.push(matcher(label, given));
        }
    }
    if matchers.is_empty() && problems.is_empty() {
        problems.push("Kies ten minste een gemeente, een regel of een thema.".to_owned());
    }
    if !matchers.is_empty() && !may_silence(scope, &matchers) {
        problems.push("U zet alleen meldingen over uw eigen gemeente(n) stil: kies een van uw gemeenten.".to_owned());
    }
    let ends = match local_time(&form.tot) {
        Some(at) if at <= now => {
            problems.push("Het einde moet in de toekomst liggen.".to_owned());
            None
        }
        Some(at) if at > now + chrono::TimeDelta::days(MAX_DAYS) => {
            problems.push(format!("Een stilte duurt ten hoogste {MAX_DAYS} dagen."));
            None
        }
        Some(at) => Some(at),
        None => {
            problems.push("Geef het einde als datum en tijd (jjjj-mm-dd uu:mm).".to_owned());
            None
        }
    };
    if crate::alerts::reason_text(form.reden.trim().to_owned()).is_none() {
        problems.push(format!("Geef een reden van 1 tot {MAX_COMMENT_CHARS} tekens."));
    }
    match ends {
        Some(ends) if problems.is_empty() => Ok((matchers, ends)),
        _ => Err(problems),
    }
}

/// `2026-12-31T23:00` (a `datetime-local` field, Dutch time) in UTC; a time
/// that does not exist (the hour skipped in spring) is refused, the one that
/// happens twice (autumn) is its first.
fn local_time(given: &str) -> Option<DateTime<Utc>> {
    let given = given.trim();
    let naive = NaiveDateTime::parse_from_str(given, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(given, "%Y-%m-%d %H:%M"))
        .ok()?;
    Amsterdam.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

/// The municipality a silence is limited to, with its name; or the region.
fn scope_of(console: &Console, silence: &Silence) -> String {
    match silence.matchers.iter().find(|m| m.label == "municipality" && !m.negate) {
        Some(m) => format!("{} ({})", console.name_of(&m.value), m.value),
        None => "hele regio".to_owned(),
    }
}

/// A matcher in words: `regel oproep-tot-geweld`, `niet thema x`.
fn matcher_text(m: &Matcher) -> String {
    let label = match m.label.as_str() {
        "rule" => "regel",
        "municipality" => "gemeente",
        "theme" => "thema",
        "event" => "gebeurtenis",
        "severity" => "ernst",
        "kind" => "soort",
        "fingerprint" => "melding",
        other => other,
    };
    format!("{}{label} {}", if m.negate { "niet " } else { "" }, if m.value.is_empty() { "(leeg)" } else { &m.value })
}

/// `GET /stiltes`.
pub(crate) async fn silences(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
) -> Response {
    page(&state, &signed_in, StatusCode::OK, &SilenceForm::default(), &[]).await
}

/// The list and the form, after the list's audit record.
async fn page(
    state: &WebState,
    signed_in: &SignedIn,
    status: StatusCode,
    form: &SilenceForm,
    problems: &[String],
) -> Response {
    let Some(backend) = state.alerts.clone() else {
        return view::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(signed_in),
            "Deze installatie toont geen meldingen.",
        );
    };
    let scope = &signed_in.principal.scope;
    let listed = backend.silences().map(|mut all| {
        all.retain(|s| silence_visible(scope, s));
        all.sort_by_key(|s| s.ends_at);
        all
    });
    let record = Record {
        hits: listed.as_ref().ok().map(|l| l.len() as u64),
        refused: listed.as_ref().err().map(|_| "alert state unavailable".to_owned()),
        ..Record::new("silences_list", serde_json::json!({}))
    };
    if let Err(r) = record.write(state, signed_in).await {
        return r;
    }
    let Ok(listed) = listed else {
        return view::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(signed_in),
            "De stiltes zijn nu niet beschikbaar. Probeer het zo opnieuw.",
        );
    };
    let console = &state.console;
    let may_change = allows(signed_in.principal.role, Permission::Silence);
    let body = html! {
        p { "Een stilte houdt meldingen die erop passen tegen: niemand krijgt er bericht van tot de stilte voorbij is of wordt opgeheven. De meldingen zelf blijven zichtbaar." }
        @if listed.is_empty() {
            p class="notice" { "Er geldt nu geen stilte." }
        } @else {
            table {
                caption class="skip" { "Stiltes die nu gelden" }
                thead { tr {
                    th scope="col" { "Voor" } th scope="col" { "Welke meldingen" } th scope="col" { "Reden" }
                    th scope="col" { "Door" } th scope="col" { "Tot" }
                    @if may_change { th scope="col" { "Opheffen" } }
                } }
                tbody {
                    @for s in &listed {
                        tr {
                            td { (scope_of(console, s)) }
                            td { (s.matchers.iter().map(matcher_text).collect::<Vec<_>>().join(", ")) }
                            td { (s.reason) }
                            td { (s.owner) }
                            td { (time(s.ends_at)) }
                            @if may_change {
                                td {
                                    @if may_silence(scope, &s.matchers) {
                                        form method="post" action={ "/stiltes/" (s.id) "/opheffen" } {
                                            (csrf_field(&signed_in.csrf))
                                            button type="submit" class="secondary" aria-label={ "Stilte tot " (view::local_time(s.ends_at)) " opheffen" } { "Opheffen" }
                                        }
                                    } @else { "–" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if may_change {
            h2 id="nieuw" { "Meldingen stil zetten" }
            (silence_form(console, signed_in, form, problems))
        }
    };
    respond(status, view::page("Stiltes", Some(signed_in), &console.region_name, body))
}

/// The form to add a silence; `form` fills it in (from an alert, or after a problem).
pub(crate) fn silence_form(console: &Console, signed_in: &SignedIn, form: &SilenceForm, problems: &[String]) -> Markup {
    let choices: Vec<MunicipalityCode> = match signed_in.principal.scope.municipalities() {
        Some(codes) => codes.to_vec(),
        None => console.region.clone(),
    };
    let region_wide = signed_in.principal.scope.municipalities().is_none();
    let default_end = (console.now() + chrono::TimeDelta::hours(4)).with_timezone(&Amsterdam).format("%Y-%m-%dT%H:%M");
    let tot = if form.tot.is_empty() { default_end.to_string() } else { form.tot.clone() };
    html! {
        @if !problems.is_empty() {
            div class="error" role="alert" id="stilte-fouten" {
                p { "De stilte is niet gezet:" }
                ul { @for p in problems { li { (p) } } }
            }
        }
        form class="silence" method="post" action="/stiltes" aria-describedby=[(!problems.is_empty()).then_some("stilte-fouten")] {
            (csrf_field(&signed_in.csrf))
            p {
                label for="stilte-gemeente" { "Gemeente" }
                select id="stilte-gemeente" name="gemeente" {
                    @if region_wide { option value="" { "Alle gemeenten" } }
                    @for code in &choices {
                        option value=(code.as_str()) selected[form.gemeente == code.as_str()] { (console.name_of(code.as_str())) " (" (code.as_str()) ")" }
                    }
                }
            }
            p {
                label for="stilte-regel" { "Regel (leeg: elke regel)" }
                input id="stilte-regel" name="regel" type="text" value=(form.regel) size="24" autocomplete="off";
            }
            p {
                label for="stilte-thema" { "Thema (leeg: elk thema)" }
                input id="stilte-thema" name="thema" type="text" value=(form.thema) size="16" autocomplete="off";
            }
            p {
                label for="stilte-tot" { "Tot (Nederlandse tijd)" }
                input id="stilte-tot" name="tot" type="datetime-local" value=(tot) required;
            }
            p class="wide" {
                label for="stilte-reden" { "Reden" }
                textarea id="stilte-reden" name="reden" required maxlength=(MAX_COMMENT_CHARS) { (form.reden) }
            }
            p { button type="submit" { "Stil zetten" } }
        }
    }
}

/// The fields of a silence for one alert: its municipality and rule.
pub(crate) fn form_for(alert: &Alert) -> SilenceForm {
    SilenceForm {
        gemeente: alert.municipality.as_ref().map(|m| m.as_str().to_owned()).unwrap_or_default(),
        regel: alert.rule.clone(),
        ..SilenceForm::default()
    }
}

/// `POST /stiltes` with `gemeente`, `regel`, `thema`, `tot`, `reden`.
pub(crate) async fn silence(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
    body: Bytes,
) -> Response {
    let values = form_values(&body);
    let field = |name: &str| value(&values, name).unwrap_or_default().to_owned();
    let form = SilenceForm {
        gemeente: field("gemeente"),
        regel: field("regel"),
        thema: field("thema"),
        tot: field("tot"),
        reden: field("reden"),
    };
    let now = state.console.now();
    let mut filters = serde_json::json!({
        "gemeente": crate::api::shorten(&form.gemeente, 16),
        "regel": crate::api::shorten(&form.regel, 64),
        "thema": crate::api::shorten(&form.thema, 64),
        "tot": crate::api::shorten(&form.tot, 32),
        "reason": crate::api::shorten(form.reden.trim(), 200),
    });
    let (matchers, ends_at) = match read_form(&form, &signed_in.principal.scope, now) {
        Ok(read) => read,
        Err(problems) => {
            let record = Record { refused: Some(problems.join(" ")), ..Record::new("silence", filters) };
            if let Err(r) = record.write(&state, &signed_in).await {
                return r;
            }
            return page(&state, &signed_in, StatusCode::BAD_REQUEST, &form, &problems).await;
        }
    };
    filters["matchers"] = serde_json::to_value(&matchers).unwrap_or_default();
    filters["ends_at"] = serde_json::Value::String(ends_at.to_rfc3339());
    let Some(backend) = state.alerts.clone() else {
        return view::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&signed_in),
            "Deze installatie toont geen meldingen.",
        );
    };
    let request = SilenceRequest {
        matchers,
        reason: form.reden.trim().to_owned(),
        owner: signed_in.principal.name.clone(),
        ends_at,
    };
    match backend.silence(request) {
        Ok(id) => {
            filters["silence"] = serde_json::Value::String(id);
            if let Err(r) = Record::new("silence", filters).write(&state, &signed_in).await {
                return r;
            }
            view::redirect("/stiltes", &[])
        }
        Err(e) => {
            let (status, problem) = match &e {
                AlertBackendError::Refused(MechanicsError::Expired) => {
                    (StatusCode::BAD_REQUEST, "Het einde moet in de toekomst liggen.".to_owned())
                }
                AlertBackendError::Refused(_) => {
                    (StatusCode::BAD_REQUEST, "Deze stilte kan niet worden gezet.".to_owned())
                }
                AlertBackendError::Unavailable(_) => {
                    tracing::error!(error = %onrust_model::error_chain(&e), "console: the alert state is unavailable");
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "De stiltes zijn nu niet beschikbaar. Probeer het zo opnieuw.".to_owned(),
                    )
                }
            };
            let record = Record { refused: Some(e.to_string()), ..Record::new("silence", filters) };
            if let Err(r) = record.write(&state, &signed_in).await {
                return r;
            }
            page(&state, &signed_in, status, &form, &[problem]).await
        }
    }
}

/// `POST /stiltes/{id}/opheffen`.
pub(crate) async fn expire_silence(
    State(state): State<WebState>,
    Path(id): Path<String>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
) -> Response {
    let filters = serde_json::json!({ "silence": crate::api::shorten(&id, 64) });
    let refuse = |status: StatusCode, why: &str, message: &str| {
        (status, why.to_owned(), view::error_page(status, Some(&signed_in), message))
    };
    let Some(backend) = state.alerts.clone() else {
        return view::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&signed_in),
            "Deze installatie toont geen meldingen.",
        );
    };
    let scope = &signed_in.principal.scope;
    let outcome = match backend.silences() {
        Err(_) => Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "alert state unavailable",
            "De stiltes zijn nu niet beschikbaar.",
        )),
        Ok(all) => match all.into_iter().find(|s| s.id == id) {
            Some(s) if may_silence(scope, &s.matchers) => match backend.expire_silence(&id) {
                Ok(_) => Ok(()),
                Err(AlertBackendError::Refused(_)) => {
                    Err(refuse(StatusCode::NOT_FOUND, "no such silence", "Deze stilte bestaat niet (meer)."))
                }
                Err(AlertBackendError::Unavailable(_)) => Err(refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "alert state unavailable",
                    "De stiltes zijn nu niet beschikbaar.",
                )),
            },
            Some(s) if silence_visible(scope, &s) => Err(refuse(
                StatusCode::FORBIDDEN,
                "a token for some municipalities cannot end a region-wide silence",
                "Een stilte voor de hele regio wordt opgeheven door wie de hele regio volgt.",
            )),
            _ => Err(refuse(StatusCode::NOT_FOUND, "no such silence", "Deze stilte bestaat niet (meer).")),
        },
    };
    match outcome {
        Ok(()) => {
            if let Err(r) = Record::new("silence_expire", filters).write(&state, &signed_in).await {
                return r;
            }
            view::redirect("/stiltes", &[])
        }
        Err((_, why, page)) => {
            let record = Record { refused: Some(why), ..Record::new("silence_expire", filters) };
            record.write(&state, &signed_in).await.err().unwrap_or(page)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(gemeente: &str, regel: &str, tot: &str, reden: &str) -> SilenceForm {
        SilenceForm {
            gemeente: gemeente.into(),
            regel: regel.into(),
            thema: String::new(),
            tot: tot.into(),
            reden: reden.into(),
        }
    }

    #[test]
    fn the_form_becomes_matchers_an_end_in_dutch_time_and_a_reason() {
        let now: DateTime<Utc> = "2026-12-30T12:00:00Z".parse().unwrap();
        let (matchers, ends) =
            read_form(&form("GM0344", "oproep-tot-geweld", "2026-12-31T23:00", "bekend"), &Scope::Region, now).unwrap();
        assert_eq!(
            matchers.iter().map(matcher_text).collect::<Vec<_>>(),
            ["gemeente GM0344", "regel oproep-tot-geweld"]
        );
        assert_eq!(ends, "2026-12-31T22:00:00Z".parse::<DateTime<Utc>>().unwrap(), "Dutch winter time");
    }

    #[test]
    fn every_problem_is_named() {
        let now: DateTime<Utc> = "2026-12-30T12:00:00Z".parse().unwrap();
        let problems = read_form(&form("", "", "morgen", " "), &Scope::Region, now).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        let past = read_form(&form("GM0344", "", "2026-12-30T12:30", "x"), &Scope::Region, now).unwrap_err();
        assert_eq!(past, ["Het einde moet in de toekomst liggen."], "12:30 Dutch time is 11:30 UTC");
        let long = read_form(&form("GM0344", "", "2027-12-30T12:30", "x"), &Scope::Region, now).unwrap_err();
        assert!(long[0].contains("90 dagen"), "{long:?}");
        let odd = read_form(&form("GM0344", "a b", "2026-12-31T23:00", "x"), &Scope::Region, now).unwrap_err();
        assert!(odd[0].starts_with("Regel is een naam"), "{odd:?}");
    }

    #[test]
    fn an_account_for_some_municipalities_silences_only_its_own() {
        let now: DateTime<Utc> = "2026-12-30T12:00:00Z".parse().unwrap();
        let utrecht = Scope::Municipalities(vec![MunicipalityCode::new("GM0344").unwrap()]);
        assert!(read_form(&form("GM0344", "", "2026-12-31T23:00", "x"), &utrecht, now).is_ok());
        let other = read_form(&form("GM0307", "", "2026-12-31T23:00", "x"), &utrecht, now).unwrap_err();
        assert!(other[0].contains("eigen gemeente"), "{other:?}");
        let region = read_form(&form("", "oproep-tot-geweld", "2026-12-31T23:00", "x"), &utrecht, now).unwrap_err();
        assert!(region[0].contains("eigen gemeente"), "{region:?}");
    }

    #[test]
    fn local_times_skip_the_missing_hour() {
        assert_eq!(local_time("2027-03-28T02:30"), None, "does not exist in Amsterdam");
        assert_eq!(local_time("2026-10-25 02:30"), Some("2026-10-25T00:30:00Z".parse().unwrap()), "the first of two");
        assert_eq!(local_time("31-12-2026 23:00"), None);
    }
}
