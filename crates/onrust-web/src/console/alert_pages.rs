//! `/meldingen` and `/meldingen/{fingerprint}`: the alerts the account's
//! municipalities cover, and what it may do with one. Scoped exactly as the
//! alerts API ([`crate::auth::Scope`]): another municipality's alert is "not
//! found", a regional alert is read but changed only region-wide. Every view
//! and every change is in the audit log under the API's action names.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use onrust_alert::{Alert, AlertStatus, MechanicsError, RuleKind, Severity};

use super::html::{self as view, csrf_field, form_values, local_time, municipality_link, respond, time, value};
use super::{Console, Record, SignedIn};
use crate::WebState;
use crate::alerts::{AlertBackend, AlertBackendError, MAX_COMMENT_CHARS};
use crate::auth::{Permission, allows};

fn backend(state: &WebState) -> Option<std::sync::Arc<dyn AlertBackend>> {
    state.alerts.clone()
}

fn no_alert_stage(signed_in: &SignedIn) -> Response {
    view::error_page(StatusCode::SERVICE_UNAVAILABLE, Some(signed_in), "Deze installatie toont geen meldingen.")
}

fn unavailable(signed_in: &SignedIn) -> Response {
    view::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        Some(signed_in),
        "De meldingen zijn nu niet beschikbaar. Probeer het zo opnieuw.",
    )
}

/// `ernst` filter values and severities.
const SEVERITIES: [(&str, Severity); 3] =
    [("kritiek", Severity::Critical), ("waarschuwing", Severity::Warning), ("informatie", Severity::Info)];
const STATUSES: [(&str, AlertStatus); 3] =
    [("actief", AlertStatus::Firing), ("in-afwachting", AlertStatus::Pending), ("opgelost", AlertStatus::Resolved)];

/// The filters of the list, as given.
struct ListFilters {
    municipality: Option<String>,
    severity: Option<(&'static str, Severity)>,
    status: Option<(&'static str, AlertStatus)>,
}

fn list_filters(raw: Option<&str>) -> Result<ListFilters, String> {
    let values = form_values(raw.unwrap_or_default().as_bytes());
    let mut filters = ListFilters { municipality: None, severity: None, status: None };
    for (name, given) in &values {
        if given.is_empty() {
            continue;
        }
        match name.as_str() {
            "gemeente" => {
                let code = onrust_model::MunicipalityCode::new(given.clone())
                    .map_err(|_| "Kies een gemeente uit de lijst.".to_owned())?;
                filters.municipality = Some(code.as_str().to_owned());
            }
            "ernst" => {
                filters.severity =
                    Some(SEVERITIES.into_iter().find(|(w, _)| w == given).ok_or("Kies een ernst uit de lijst.")?);
            }
            "status" => {
                filters.status =
                    Some(STATUSES.into_iter().find(|(w, _)| w == given).ok_or("Kies een status uit de lijst.")?);
            }
            _ => return Err(format!("Onbekend filter {:?}.", crate::api::shorten(name, 40))),
        }
    }
    Ok(filters)
}

/// `GET /meldingen?gemeente=&ernst=&status=`.
pub(crate) async fn alerts(
    State(state): State<WebState>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (_, filters_given) = crate::api::given_params(raw.as_deref());
    let filters = match list_filters(raw.as_deref()) {
        Ok(f) => f,
        Err(message) => {
            let record = Record { refused: Some(message.clone()), ..Record::new("alerts_list", filters_given) };
            if let Err(r) = record.write(&state, &signed_in).await {
                return r;
            }
            return view::error_page(StatusCode::BAD_REQUEST, Some(&signed_in), &message);
        }
    };
    let Some(backend) = backend(&state) else { return no_alert_stage(&signed_in) };
    let Ok(mut alerts) = backend.list() else { return unavailable(&signed_in) };
    let scope = &signed_in.principal.scope;
    alerts.retain(|a| scope.may_read(a.municipality.as_ref()));
    let visible: Vec<String> =
        alerts.iter().filter_map(|a| a.municipality.as_ref().map(|m| m.as_str().to_owned())).collect();
    alerts.retain(|a| {
        filters.municipality.as_deref().is_none_or(|m| a.municipality.as_ref().is_some_and(|c| c.as_str() == m))
            && filters.severity.is_none_or(|(_, s)| a.severity == s)
            && filters.status.is_none_or(|(_, s)| a.status == s)
    });
    let record = Record { hits: Some(alerts.len() as u64), ..Record::new("alerts_list", filters_given) };
    if let Err(r) = record.write(&state, &signed_in).await {
        return r;
    }
    let console = &state.console;
    let mut choices: Vec<String> = match scope.municipalities() {
        Some(codes) => codes.iter().map(|c| c.as_str().to_owned()).collect(),
        None => console.region.iter().map(|c| c.as_str().to_owned()).chain(visible).collect(),
    };
    choices.sort_by_key(|c| console.name_of(c));
    choices.dedup();
    let body = html! {
        form class="filters" method="get" action="/meldingen" {
            p {
                label for="gemeente" { "Gemeente" }
                select id="gemeente" name="gemeente" {
                    option value="" { "Alle gemeenten" }
                    @for code in &choices {
                        option value=(code) selected[filters.municipality.as_deref() == Some(code.as_str())] {
                            (console.name_of(code)) " (" (code) ")"
                        }
                    }
                }
            }
            p {
                label for="ernst" { "Ernst" }
                select id="ernst" name="ernst" {
                    option value="" { "Alle" }
                    @for (word, severity) in SEVERITIES {
                        option value=(word) selected[filters.severity.is_some_and(|(_, s)| s == severity)] { (view::severity_name(severity)) }
                    }
                }
            }
            p {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "Alle" }
                    @for (word, status) in STATUSES {
                        option value=(word) selected[filters.status.is_some_and(|(_, s)| s == status)] { (view::status_name(status)) }
                    }
                }
            }
            p { button type="submit" { "Filteren" } }
        }
        (alert_table(console, &alerts))
    };
    respond(StatusCode::OK, view::page("Meldingen", Some(&signed_in), &console.region_name, body))
}

/// The table of alerts, newest first, with a link to each.
pub(crate) fn alert_table(console: &Console, alerts: &[Alert]) -> Markup {
    html! {
        @if alerts.is_empty() {
            p class="notice" { "Geen meldingen." }
        } @else {
            table {
                caption class="skip" { "Meldingen" }
                thead { tr { th scope="col" { "Ernst" } th scope="col" { "Melding" } th scope="col" { "Gemeente" }
                    th scope="col" { "Thema" } th scope="col" { "Status" } th scope="col" { "Sinds" } } }
                tbody {
                    @for alert in alerts {
                        tr {
                            td class={ "sev-" (alert.severity.as_str()) } { (view::severity_name(alert.severity)) }
                            td { a href={ "/meldingen/" (alert.fingerprint) } { (rule_title(alert)) } }
                            td { (place(console, alert)) }
                            td { (alert.theme.as_deref().unwrap_or("–")) }
                            td { (view::status_name(alert.status)) }
                            td { (time(alert.starts_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// What kind of alert, in words, with the rule's name.
fn rule_title(alert: &Alert) -> String {
    let kind = match alert.kind {
        RuleKind::Threshold => "Drempel",
        RuleKind::Burst => "Piek",
        RuleKind::Announcement => "Aangekondigde actie",
        RuleKind::Critical => "Kritiek bericht",
    };
    format!("{kind}: {}", alert.rule)
}

fn place(console: &Console, alert: &Alert) -> Markup {
    match &alert.municipality {
        Some(code) => municipality_link(code.as_str(), &console.name_of(code.as_str())),
        None => html! { "hele regio" },
    }
}

/// `GET /meldingen/{fingerprint}`: the alert with its reasons, evidence, history and the actions the account may take.
pub(crate) async fn alert(
    State(state): State<WebState>,
    Path(fingerprint): Path<String>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
) -> Response {
    let filters = serde_json::json!({ "fingerprint": crate::api::shorten(&fingerprint, 128) });
    let found = match find(&state, &signed_in, &fingerprint) {
        Ok(alert) => alert,
        Err(missing) => {
            let record = Record { refused: Some(missing.why.clone()), ..Record::new("alerts_show", filters) };
            return record.write(&state, &signed_in).await.err().unwrap_or_else(|| missing.page(&signed_in));
        }
    };
    // The mandate the alert was made under (rule L5).
    let mandates: Vec<String> = found.mandate.iter().cloned().collect();
    if let Err(r) =
        (Record { hits: Some(1), mandates, ..Record::new("alerts_show", filters) }).write(&state, &signed_in).await
    {
        return r;
    }
    respond(StatusCode::OK, detail(&state.console, &signed_in, &found))
}

/// Why an alert cannot be shown or changed: for the audit record, and the page's status.
struct Missing {
    why: String,
    unavailable: bool,
}

impl Missing {
    fn page(&self, signed_in: &SignedIn) -> Response {
        if self.unavailable {
            unavailable(signed_in)
        } else {
            view::error_page(StatusCode::NOT_FOUND, Some(signed_in), "Deze melding bestaat niet (meer).")
        }
    }
}

/// The alert, if it exists and the account's scope covers it.
fn find(state: &WebState, signed_in: &SignedIn, fingerprint: &str) -> Result<Alert, Missing> {
    let not_found =
        || Missing { why: format!("no alert {}", crate::api::shorten(fingerprint, 128)), unavailable: false };
    let valid =
        !fingerprint.is_empty() && fingerprint.len() <= 128 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(not_found());
    }
    let Some(backend) = backend(state) else {
        return Err(Missing { why: "no alert stage".into(), unavailable: true });
    };
    match backend.show(fingerprint) {
        Ok(Some(alert)) if signed_in.principal.scope.may_read(alert.municipality.as_ref()) => Ok(alert),
        Ok(_) => Err(not_found()),
        Err(_) => Err(Missing { why: "alert state unavailable".into(), unavailable: true }),
    }
}

fn detail(console: &Console, signed_in: &SignedIn, alert: &Alert) -> maud::Markup {
    let role = signed_in.principal.role;
    let may_change = signed_in.principal.scope.may_change(alert.municipality.as_ref());
    let awaiting_review = alert.reviewed_by.is_none() && alert.status != AlertStatus::Resolved;
    let body = html! {
        dl class="facts" {
            dt { "Ernst" } dd class={ "sev-" (alert.severity.as_str()) } { (view::severity_name(alert.severity)) }
            dt { "Status" } dd { (view::status_name(alert.status)) }
            dt { "Gemeente" } dd { (place(console, alert)) }
            dt { "Thema" } dd { (alert.theme.as_deref().unwrap_or("–")) }
            dt { "Regel" } dd { (alert.rule) " (versie " (alert.rule_version) ")" }
            dt { "Mandaat" } dd { (alert.mandate.as_deref().unwrap_or("niet vastgelegd")) }
            dt { "Begonnen" } dd { (time(alert.starts_at)) }
            dt { "Bijgewerkt" } dd { (time(alert.updated_at)) }
            @if let Some(at) = alert.event_time {
                dt { "Aangekondigd voor" } dd { (time(at)) @if let Some(p) = &alert.event_place { ", " (p) } }
            }
            dt { "Berichten" } dd {
                (alert.observed)
                @if let Some(t) = alert.threshold { " (drempel " (t) ")" }
                @if let Some(e) = alert.expected { " (verwacht " (format!("{e:.1}")) ")" }
            }
            dt { "Zekerheid" } dd { (format!("{:.0}%", alert.confidence * 100.0)) }
        }
        h2 { "Waarom" }
        ul { @for reason in &alert.reasons { li { (reason) } } }
        h2 { "Onderbouwing" }
        @if alert.evidence.is_empty() {
            p { "Geen berichten bewaard bij deze melding." }
        } @else {
            ul class="evidence" {
                @for e in &alert.evidence {
                    li {
                        @if let Some(title) = &e.title { h3 { (title) } }
                        p class="text" { (e.excerpt) }
                        p class="meta" {
                            (time(e.published_at)) " · bron " (e.source) " · niveau " (view::level_name(e.level))
                            @if !e.signals.is_empty() { " · signalen: " (e.signals.join(", ")) }
                            @if let Some(url) = &e.url {
                                " · " a href=(url) rel="noreferrer noopener" { "origineel" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Verloop" }
        ul {
            li { "Begonnen op " (local_time(alert.starts_at)) "." }
            @if alert.decisions.is_empty() {
                @if let Some(by) = &alert.acknowledged_by {
                    li { "Gezien door " (by) @if let Some(c) = &alert.ack_comment { ": “" (c) "”" } "." }
                }
            }
            @for d in &alert.decisions {
                li { (local_time(d.at)) ": " (d.kind.dutch()) " door " (d.by) @if !d.reason.is_empty() { ": “" (d.reason) "”" } "." }
            }
            @if let Some(by) = &alert.reviewed_by { li { "Beoordeeld voor de burgemeester door " (by) "." } }
            @if let Some(end) = alert.ends_at { li { "Opgelost op " (local_time(end)) "." } }
        }
        @if may_change && (allows(role, Permission::Acknowledge) || allows(role, Permission::Confirm)) {
            h2 { "Handelen" }
            div class="actions" {
                @if allows(role, Permission::Acknowledge) {
                    (action_form(&signed_in.csrf, &alert.fingerprint, "gezien", "Gezien", "Opmerking", "Ontvangst bevestigen"))
                }
                @if allows(role, Permission::Confirm) && awaiting_review {
                    (action_form(&signed_in.csrf, &alert.fingerprint, "doorsturen", "Naar de burgemeester", "Reden", "Doorsturen"))
                    (action_form(&signed_in.csrf, &alert.fingerprint, "afwijzen", "Niet doorsturen", "Reden", "Afwijzen"))
                }
            }
        } @else if !may_change {
            p class="notice" { "Een regionale melding wordt afgehandeld door wie de hele regio volgt." }
        }
        @if may_change && allows(role, Permission::Silence) {
            h2 id="nieuw" { "Stil zetten" }
            p { "Meldingen van deze regel over deze plaats stil zetten tot het gekozen moment. Bestaande stiltes staan op " a href="/stiltes" { "Stiltes" } "." }
            (super::silences::silence_form(console, signed_in, &super::silences::form_for(alert), &[]))
        }
    };
    view::page(&rule_title(alert), Some(signed_in), &console.region_name, body)
}

fn action_form(csrf: &str, fingerprint: &str, action: &str, legend: &str, label: &str, button: &str) -> Markup {
    let id = format!("reden-{action}");
    html! {
        form method="post" action={ "/meldingen/" (fingerprint) "/" (action) } {
            (csrf_field(csrf))
            h3 { (legend) }
            label for=(id) { (label) }
            textarea id=(id) name="reden" required maxlength=(MAX_COMMENT_CHARS) {}
            p { button type="submit" { (button) } }
        }
    }
}

/// What a supervisor or officer does with an alert.
#[derive(Debug, Clone, Copy)]
enum Change {
    Acknowledge,
    Confirm,
    Dismiss,
}

/// `POST /meldingen/{fingerprint}/gezien` with `reden`.
pub(crate) async fn acknowledge(
    state: State<WebState>,
    fingerprint: Path<String>,
    signed_in: axum::Extension<SignedIn>,
    body: Bytes,
) -> Response {
    change(state, fingerprint, signed_in, body, Change::Acknowledge).await
}

/// `POST /meldingen/{fingerprint}/doorsturen` with `reden`: to the mayor (L10).
pub(crate) async fn confirm(
    state: State<WebState>,
    fingerprint: Path<String>,
    signed_in: axum::Extension<SignedIn>,
    body: Bytes,
) -> Response {
    change(state, fingerprint, signed_in, body, Change::Confirm).await
}

/// `POST /meldingen/{fingerprint}/afwijzen` with `reden`: not to the mayor.
pub(crate) async fn dismiss(
    state: State<WebState>,
    fingerprint: Path<String>,
    signed_in: axum::Extension<SignedIn>,
    body: Bytes,
) -> Response {
    change(state, fingerprint, signed_in, body, Change::Dismiss).await
}

async fn change(
    State(state): State<WebState>,
    Path(fingerprint): Path<String>,
    axum::Extension(signed_in): axum::Extension<SignedIn>,
    body: Bytes,
    change: Change,
) -> Response {
    let action = match change {
        Change::Acknowledge => "alerts_ack",
        Change::Confirm => "alerts_confirm",
        Change::Dismiss => "alerts_dismiss",
    };
    let values = form_values(&body);
    let reason = crate::alerts::reason_text(value(&values, "reden").unwrap_or_default().trim().to_owned());
    let mut filters = serde_json::json!({ "fingerprint": crate::api::shorten(&fingerprint, 128) });
    let Some(reason) = reason else {
        let message = format!("Geef een reden van 1 tot {MAX_COMMENT_CHARS} tekens.");
        let page = view::error_page(StatusCode::BAD_REQUEST, Some(&signed_in), &message);
        let why = format!("a reason of 1 to {MAX_COMMENT_CHARS} characters is required");
        return refuse(&state, &signed_in, action, why, page, filters).await;
    };
    filters["reason"] = serde_json::Value::String(reason.clone());
    let alert = match find(&state, &signed_in, &fingerprint) {
        Ok(alert) => alert,
        Err(missing) => {
            let page = missing.page(&signed_in);
            return refuse(&state, &signed_in, action, missing.why, page, filters).await;
        }
    };
    if !signed_in.principal.scope.may_change(alert.municipality.as_ref()) {
        let page = view::error_page(
            StatusCode::FORBIDDEN,
            Some(&signed_in),
            "Een regionale melding wordt afgehandeld door wie de hele regio volgt.",
        );
        return refuse(
            &state,
            &signed_in,
            action,
            "a token for some municipalities cannot change a regional alert".into(),
            page,
            filters,
        )
        .await;
    }
    let Some(backend) = backend(&state) else { return no_alert_stage(&signed_in) };
    let who = signed_in.principal.name.as_str();
    let done = match change {
        Change::Acknowledge => backend.acknowledge(&fingerprint, who, &reason),
        Change::Confirm => backend.confirm(&fingerprint, who, &reason),
        Change::Dismiss => backend.dismiss(&fingerprint, who, &reason),
    };
    match done {
        Ok(changed) => {
            let mandates: Vec<String> = changed.mandate.iter().cloned().collect();
            if let Err(r) = (Record { mandates, ..Record::new(action, filters) }).write(&state, &signed_in).await {
                return r;
            }
            view::redirect(&format!("/meldingen/{fingerprint}"), &[])
        }
        Err(AlertBackendError::Refused(e)) => {
            let message = match e {
                MechanicsError::UnknownAlert(_) => "Deze melding bestaat niet (meer).".to_owned(),
                _ => "Dit kan niet in de huidige toestand van de melding (is hij al beoordeeld?).".to_owned(),
            };
            let page = view::error_page(StatusCode::CONFLICT, Some(&signed_in), &message);
            refuse(&state, &signed_in, action, e.to_string(), page, filters).await
        }
        Err(e @ AlertBackendError::Unavailable(_)) => {
            tracing::error!(error = %onrust_model::error_chain(&e), "console: the alert state is unavailable");
            refuse(&state, &signed_in, action, "alert state unavailable".into(), unavailable(&signed_in), filters).await
        }
    }
}

/// Records a refused change, then answers with `response` (or the audit failure page).
async fn refuse(
    state: &WebState,
    signed_in: &SignedIn,
    action: &'static str,
    why: String,
    response: Response,
    filters: serde_json::Value,
) -> Response {
    let record = Record { refused: Some(why), ..Record::new(action, filters) };
    record.write(state, signed_in).await.err().unwrap_or(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_are_checked() {
        let f = list_filters(Some("gemeente=GM0344&ernst=kritiek&status=actief")).unwrap();
        assert_eq!(f.municipality.as_deref(), Some("GM0344"));
        assert_eq!(f.severity.map(|s| s.1), Some(Severity::Critical));
        assert_eq!(f.status.map(|s| s.1), Some(AlertStatus::Firing));
        assert!(list_filters(Some("gemeente=&ernst=")).unwrap().municipality.is_none());
        assert!(list_filters(Some("ernst=hoog")).is_err());
        assert!(list_filters(Some("gemeente=Utrecht")).is_err());
        assert!(list_filters(Some("auteur=x")).is_err());
    }
}
