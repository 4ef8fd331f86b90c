//! The console over TCP: signing in and out, sessions, CSRF, the brake on
//! guessing (per name and per address), the page × role matrix, escaping,
//! scope, silences, the municipality page, the overview's tiles, the CSV
//! export, the fg's page, and the audit records.

use std::sync::OnceLock;

use super::*;
use crate::console::users::{Account, hash_password};
use crate::console::{Clock, Console, CoverageView, LoginPolicy, SessionPolicy, Sessions, SourceCoverage, Users};

/// The console's accounts: one per role the console serves, an officer for
/// Utrecht only and a supervisor for Amersfoort only.
const ACCOUNTS: [(&str, Role, Option<&str>); 6] = [
    ("oov-regio", Role::Officer, None),
    ("oov-utrecht", Role::Officer, Some("GM0344")),
    ("analist-regio", Role::Analyst, None),
    ("sv-regio", Role::Supervisor, None),
    ("sv-amersfoort", Role::Supervisor, Some("GM0307")),
    ("fg-regio", Role::Fg, None),
];

/// The console's "now": the afternoon the fixture's messages were published
/// (11:00 UTC), so they are within the overview's six hours and the week.
fn test_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 12, 1, 15, 0, 0).unwrap()
}

/// Two sources follow Utrecht, one of which is failing; none follows Amersfoort.
struct FakeCoverage;

impl CoverageView for FakeCoverage {
    fn sources(&self, municipality: &MunicipalityCode) -> Vec<SourceCoverage> {
        if municipality.as_str() != "GM0344" {
            return Vec::new();
        }
        vec![
            SourceCoverage {
                source: "rtvutrecht".into(),
                delivering: true,
                up: true,
                last_success: Some(test_now() - chrono::TimeDelta::minutes(2)),
                last_gap: None,
            },
            SourceCoverage {
                source: "telegram-utrecht".into(),
                delivering: false,
                up: false,
                last_success: Some(test_now() - chrono::TimeDelta::hours(5)),
                last_gap: None,
            },
        ]
    }
}

fn password_of(name: &str) -> String {
    format!("wachtwoord-{name}")
}

/// Hashing is slow on purpose, so the accounts are made once for every test.
fn accounts() -> Vec<Account> {
    static ACCOUNTS_MADE: OnceLock<Vec<Account>> = OnceLock::new();
    ACCOUNTS_MADE
        .get_or_init(|| {
            ACCOUNTS
                .iter()
                .map(|(name, role, municipality)| Account {
                    name: (*name).to_owned(),
                    role: *role,
                    municipalities: municipality.map(|m| vec![MunicipalityCode::new(m).unwrap()]),
                    password_hash: hash_password(&password_of(name)).unwrap(),
                    disabled: false,
                })
                .collect()
        })
        .clone()
}

pub(super) fn test_console(login: LoginPolicy) -> Console {
    let policy = SessionPolicy { secure_cookies: false, ..SessionPolicy::default() };
    let code = |c: &str| MunicipalityCode::new(c).unwrap();
    Console {
        users: Users::fixed(accounts()),
        sessions: Sessions::new(policy, login),
        region_name: "Midden-Nederland".into(),
        region: vec![code("GM0344"), code("GM0307")],
        names: vec![(code("GM0344"), "Utrecht".into()), (code("GM0307"), "Amersfoort".into())],
        clock: Clock::fixed(test_now()),
        coverage: Some(Arc::new(FakeCoverage)),
        retention: Some(Duration::from_secs(90 * 86_400)),
        data_classes: vec![crate::console::DataClass {
            name: "notificatielog".into(),
            holds: "wie wanneer welke melding kreeg".into(),
            keep: Duration::from_secs(365 * 86_400),
        }],
    }
}

/// The account name the matrix uses for a role; admin and monitor have none.
fn account_of(role: Role) -> Option<&'static str> {
    match role {
        Role::Officer => Some("oov-regio"),
        Role::Analyst => Some("analist-regio"),
        Role::Supervisor => Some("sv-regio"),
        Role::Fg => Some("fg-regio"),
        Role::Admin | Role::Monitor => None,
    }
}

/// A session for `name` started directly in the store: the cookie header and the CSRF token.
fn session(state: &WebState, name: &str) -> (String, String) {
    let account = accounts().into_iter().find(|a| a.name == name).unwrap();
    let id = state.console.sessions.start(&account.name, account.role, account.scope()).unwrap();
    let csrf = state.console.sessions.find(&id).unwrap().csrf;
    (format!("onrust_sessie={id}"), csrf)
}

/// The value of a hidden `csrf` field in a page.
fn hidden_csrf(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    body[at..at + 64].to_owned()
}

/// The last `Set-Cookie` header (the test client keeps one per name).
fn set_cookies(reply: &Reply) -> String {
    reply.header("set-cookie").to_owned()
}

/// Signs in through the form like a browser; the session cookie header.
async fn sign_in(addr: SocketAddr, name: &str, password: &str) -> Reply {
    let form = get_as(addr, "/login", None).await;
    assert_eq!(form.status, 200, "{form:?}");
    let csrf = hidden_csrf(&form.body);
    let cookie = format!("onrust_aanmelden={csrf}");
    let body = format!("name={name}&password={password}&csrf={csrf}");
    send(addr, "POST", "/login", &[("Cookie", &cookie), ("Content-Type", "application/x-www-form-urlencoded")], &body)
        .await
}

fn session_cookie(reply: &Reply) -> String {
    let cookie = set_cookies(reply);
    let start = cookie.find("onrust_sessie=").expect("a session cookie");
    cookie[start..].split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn signing_in_gives_a_strict_http_only_session_and_is_audited() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(false)).await;
    let form = get_as(addr, "/login", None).await;
    assert_eq!(form.header("content-type"), "text/html; charset=utf-8");
    assert!(form.body.contains("<html lang=\"nl\">") && form.body.contains("type=\"password\""));
    assert!(form.header("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(!form.body.contains("<script"), "no script on any page");
    let login_cookie = set_cookies(&form);
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"), "{login_cookie}");
    assert!(login_cookie.contains(&hidden_csrf(&form.body)), "double submit: cookie and field agree");

    let wrong = sign_in(addr, "sv-regio", "fout-wachtwoord").await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert!(wrong.body.contains("klopt niet") && !set_cookies(&wrong).contains("onrust_sessie"));
    let unknown = sign_in(addr, "niemand", "fout-wachtwoord").await;
    assert_eq!(unknown.body.contains("klopt niet"), wrong.body.contains("klopt niet"), "the same answer");

    let ok = sign_in(addr, "sv-regio", &password_of("sv-regio")).await;
    assert_eq!(ok.status, 303, "{ok:?}");
    assert_eq!(ok.header("location"), "/");
    let cookie = set_cookies(&ok);
    assert!(cookie.contains("onrust_sessie=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"), "loopback test listener");
    let session = session_cookie(&ok);

    let overview = call(addr, "/", &[("Cookie", &session)]).await;
    assert_eq!(overview.status, 200, "{overview:?}");
    assert!(overview.body.contains("Utrecht (GM0344)") && overview.body.contains("Amersfoort (GM0307)"));
    let csrf = hidden_csrf(&overview.body);

    let out = send(addr, "POST", "/uitloggen", &[("Cookie", &session)], &format!("csrf={csrf}")).await;
    assert_eq!(out.status, 303, "{out:?}");
    assert!(set_cookies(&out).contains("Max-Age=0"));
    let after = call(addr, "/", &[("Cookie", &session)]).await;
    assert_eq!((after.status, after.header("location")), (303, "/login"), "signed out");

    let records: Vec<(String, String, Option<String>)> = fixture
        .records()
        .into_iter()
        .filter(|r| r.entry.action.starts_with("sign_"))
        .map(|r| (r.entry.who, r.entry.action, r.entry.refused))
        .collect();
    assert_eq!(
        records,
        [
            ("sv-regio".into(), "sign_in".into(), Some("wrong name or password".into())),
            ("niemand".into(), "sign_in".into(), Some("wrong name or password".into())),
            ("sv-regio".into(), "sign_in".into(), None),
            ("sv-regio".into(), "sign_out".into(), None),
        ]
    );
}

#[tokio::test]
async fn a_sign_in_without_the_form_token_is_refused() {
    let fixture = Fixture::new();
    let addr = start(fixture.state(false)).await;
    let body = format!("name=sv-regio&password={}&csrf=abc", password_of("sv-regio"));
    let without_cookie = send(addr, "POST", "/login", &[], &body).await;
    assert_eq!(without_cookie.status, 403, "{without_cookie:?}");
    let mismatch = send(addr, "POST", "/login", &[("Cookie", "onrust_aanmelden=abd")], &body).await;
    assert_eq!(mismatch.status, 403, "{mismatch:?}");
    assert!(!set_cookies(&mismatch).contains("onrust_sessie"));
}

#[tokio::test]
async fn repeated_failures_lock_the_name_even_for_the_right_password() {
    let fixture = Fixture::new();
    let mut state = fixture.state(false);
    let login =
        LoginPolicy { slow_after: 1, step: Duration::from_millis(200), lock_after: 3, ..LoginPolicy::default() };
    state.console = Arc::new(test_console(login));
    let addr = start(state).await;
    let first = Instant::now();
    assert_eq!(sign_in(addr, "sv-regio", "fout-1").await.status, 401);
    let fast = first.elapsed();
    let second = Instant::now();
    assert_eq!(sign_in(addr, "sv-regio", "fout-2").await.status, 401);
    assert!(second.elapsed() >= Duration::from_millis(200) && second.elapsed() > fast, "slowed down");
    assert_eq!(sign_in(addr, "sv-regio", "fout-3").await.status, 429, "locked at the third");
    let right = sign_in(addr, "sv-regio", &password_of("sv-regio")).await;
    assert_eq!(right.status, 429, "{right:?}");
    assert!(right.body.contains("geblokkeerd"));
    assert_eq!(sign_in(addr, "fg-regio", &password_of("fg-regio")).await.status, 303, "another name is not locked");
}

#[tokio::test]
async fn page_role_matrix() {
    let fixture = Fixture::new();
    let state = fixture.state(true);
    let addr = start(state.clone()).await;
    let matrix = expected_matrix();
    let public: Vec<&str> = routes().iter().filter(|r| r.permission == Permission::Public).map(|r| r.path).collect();
    assert_eq!(public, ["/login", "/login", "/static/console.css"], "only these need no sign-in");
    for (route, (path, allowed)) in routes().iter().zip(&matrix).filter(|(r, _)| r.kind == RouteKind::Page) {
        if route.permission == Permission::Public {
            continue;
        }
        let target = route.path.replace("{fingerprint}", FINGERPRINT).replace("{code}", "GM0344").replace("{id}", "s0");
        for role in Role::ALL {
            let reply = match account_of(role) {
                Some(name) => {
                    // A fresh session each time: signing out ends it.
                    let (cookie, csrf) = session(&state, name);
                    let body = match route.method {
                        "POST" => format!("csrf={csrf}&reden=gezien&gemeente=GM0344&tot=2024-12-02T12%3A00"),
                        _ => String::new(),
                    };
                    send(addr, route.method, &target, &[("Cookie", &cookie)], &body).await
                }
                None => route_as(addr, route, Some(token_of(role))).await,
            };
            let expected = match (account_of(role), allowed.contains(&role), route.method) {
                (None, _, _) => 303,
                (Some(_), true, "POST") => 303,
                (Some(_), true, _) => 200,
                (Some(_), false, _) => 403,
            };
            assert_eq!(reply.status, expected, "{path} as {role}: {reply:?}");
            if expected == 403 {
                assert!(reply.body.contains("Geen toegang"), "{path} as {role}: a Dutch page");
            }
            assert!(reply.header("content-security-policy").contains("default-src 'none'"), "{path}");
        }
        // A bearer token opens no page, and no cookie opens the API.
        let reply = route_as(addr, route, Some(token_of(Role::Supervisor))).await;
        assert_eq!((reply.status, reply.header("location")), (303, "/login"), "{path} with a bearer token");
    }
    let (cookie, _) = session(&state, "analist-regio");
    let api = call(addr, "/api/v1/search?q=trekkers", &[("Cookie", &cookie)]).await;
    assert_eq!(api.status, 401, "the API takes bearer tokens only");
}

#[tokio::test]
async fn a_page_form_without_the_session_token_changes_nothing() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (cookie, csrf) = session(&state, "sv-regio");
    let path = format!("/meldingen/{FINGERPRINT}/doorsturen");
    for body in ["reden=ok".to_owned(), "csrf=&reden=ok".to_owned(), format!("csrf={}&reden=ok", "0".repeat(64))] {
        let reply = send(addr, "POST", &path, &[("Cookie", &cookie)], &body).await;
        assert_eq!(reply.status, 403, "{body}: {reply:?}");
    }
    assert!(fixture.records().iter().all(|r| r.entry.action != "alerts_confirm"), "nothing was done");
    let empty = send(addr, "POST", &path, &[("Cookie", &cookie)], &format!("csrf={csrf}&reden=")).await;
    assert_eq!(empty.status, 400, "a reason is required");
    let done = send(addr, "POST", &path, &[("Cookie", &cookie)], &format!("csrf={csrf}&reden=klopt%2C+ernstig")).await;
    assert_eq!((done.status, done.header("location")), (303, format!("/meldingen/{FINGERPRINT}").as_str()));
    let confirmed: Vec<_> = fixture.records().into_iter().filter(|r| r.entry.action == "alerts_confirm").collect();
    assert_eq!(confirmed.len(), 2, "the refused and the done one");
    assert_eq!(confirmed[1].entry.who, "sv-regio");
    assert_eq!(confirmed[1].entry.filters["reason"], "klopt, ernstig");
    assert_eq!(confirmed[1].entry.refused, None);
    assert_eq!(confirmed[1].entry.mandates, ["jaarwisseling-2026"], "the alert's mandate (rule L5)");
}

#[tokio::test]
async fn a_message_with_markup_is_shown_as_text_and_no_author_is_shown() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (cookie, _) = session(&state, "analist-regio");
    let reply = call(addr, "/zoeken?q=vuurwerk&volgorde=nieuwste", &[("Cookie", &cookie)]).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.contains("&lt;script&gt;alert(1)"), "{}", reply.body);
    assert!(!reply.body.contains("<script"));
    assert!(reply.body.contains("Amersfoort (GM0307)"), "names beside codes");
    assert!(reply.body.contains("<mark>vuurwerk</mark>"), "the query's word is marked");
    let search = fixture.records().into_iter().rfind(|r| r.entry.action == "search").unwrap();
    assert_eq!(
        (search.entry.who.as_str(), search.entry.query.as_deref(), search.entry.hits),
        ("analist-regio", Some("vuurwerk"), Some(1))
    );
    for path in ["/zoeken?q=utrecht", "/zoeken?gemeente=GM0344", "/zoeken?niveau=2"] {
        let page = call(addr, path, &[("Cookie", &cookie)]).await;
        assert!(!page.body.contains(CANARY), "{path}: no pseudonym on any page (L1)");
    }
    let (cookie, _) = session(&state, "sv-regio");
    for path in ["/", "/gemeente/GM0307", "/meldingen", &format!("/meldingen/{FINGERPRINT}")] {
        let page = call(addr, path, &[("Cookie", &cookie)]).await;
        assert_eq!(page.status, 200, "{path}: {page:?}");
        assert!(!page.body.contains(CANARY) && !page.body.contains("<script"), "{path}");
    }
}

#[tokio::test]
async fn an_officer_for_one_municipality_searches_and_sees_only_that_one() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (cookie, _) = session(&state, "oov-utrecht");
    let own = call(addr, "/zoeken?q=", &[("Cookie", &cookie)]).await;
    assert_eq!(own.status, 200, "{own:?}");
    assert!(own.body.contains("Boeren blokkeren de A12") && !own.body.contains("Rellen in Amersfoort"), "own only");
    let other = call(addr, "/zoeken?q=rellen&gemeente=GM0307", &[("Cookie", &cookie)]).await;
    assert_eq!(other.status, 400);
    assert!(other.body.contains("alleen in uw eigen gemeente") && !other.body.contains("Rellen in Amersfoort"));
    let page = call(addr, "/gemeente/GM0307", &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, 404, "another municipality's page does not exist for it");
    let overview = call(addr, "/", &[("Cookie", &cookie)]).await;
    assert!(overview.body.contains("Utrecht (GM0344)") && !overview.body.contains("Amersfoort (GM0307)"));
}

#[tokio::test]
async fn the_api_scopes_a_municipal_token_s_search_the_same_way() {
    let fixture = Fixture::new();
    let mut state = fixture.state(false);
    let credential = Credential {
        name: "oov-utrecht-token".into(),
        role: Role::Officer,
        hash: TokenHash::of("onrust_utrecht"),
        scope: auth::Scope::Municipalities(vec![MunicipalityCode::new("GM0344").unwrap()]),
    };
    state.access = Arc::new(AccessControl::new(None, vec![credential]).unwrap());
    let addr = start(state).await;
    let own = get_as(addr, "/api/v1/search?q=", Some("onrust_utrecht")).await;
    let mut found = ids(&own);
    found.sort();
    assert_eq!(found, ["w1", "w3"], "Utrecht's messages only: {own:?}");
    let other = get_as(addr, "/api/v1/search?q=rellen&municipality=GM0307", Some("onrust_utrecht")).await;
    assert_eq!(other.status, 400, "{other:?}");
    assert!(other.error().contains("only its own municipalities (GM0344)"), "{other:?}");
}

#[tokio::test]
async fn the_fg_reads_the_audit_page_with_the_chain_status() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (analyst, _) = session(&state, "analist-regio");
    call(addr, "/zoeken?q=%3Cscript%3Ealert(2)%3C%2Fscript%3E", &[("Cookie", &analyst)]).await;
    // A refused search: its reason is shown as the log has it, marked as English.
    let refused = call(addr, "/zoeken?q=author%3Aiemand", &[("Cookie", &analyst)]).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    let (fg, _) = session(&state, "fg-regio");
    let page = call(addr, "/audit?actie=search", &[("Cookie", &fg)]).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("<td>ja: <span lang=\"en\">"), "the refused search: {}", page.body);
    assert!(page.body.contains("De hashketen is in orde"), "{}", page.body);
    assert!(page.body.contains("analist-regio") && page.body.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(!page.body.contains("<script"));
    // Reading the log is on record too (L7).
    let read = fixture.records().pop().unwrap();
    assert_eq!(
        (read.entry.who.as_str(), read.entry.action.as_str(), read.entry.hits),
        ("fg-regio", "audit_read", Some(2)),
        "the two searches shown"
    );
    assert_eq!(
        read.entry.filters,
        serde_json::json!({"wie": "", "soort": "", "actie": "search", "bevat": "", "van": "", "tot": ""})
    );
}

/// The page verifies the chain on every view; what an earlier view verified
/// is compared by its digest, so a record changed after that view is found.
#[tokio::test]
async fn a_record_changed_after_a_view_of_the_audit_page_is_found_on_the_next() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (analyst, _) = session(&state, "analist-regio");
    call(addr, "/zoeken?q=rellen", &[("Cookie", &analyst)]).await;
    let (fg, _) = session(&state, "fg-regio");
    let first = call(addr, "/audit", &[("Cookie", &fg)]).await;
    assert!(first.body.contains("De hashketen is in orde"), "{}", first.body);
    let second = call(addr, "/audit", &[("Cookie", &fg)]).await;
    assert!(second.body.contains("De hashketen is in orde"), "going on from the first view: {}", second.body);
    // The analyst's search, made to say something else (same length).
    let text = std::fs::read_to_string(fixture.audit_path()).unwrap();
    assert!(text.contains("\"rellen\""));
    std::fs::write(fixture.audit_path(), text.replacen("\"rellen\"", "\"feest!\"", 1)).unwrap();
    let third = call(addr, "/audit", &[("Cookie", &fg)]).await;
    assert!(third.body.contains("De hashketen is verbroken op regel"), "{}", third.body);
}

/// A form posted with a session: the cookie header, the session's token and `fields`.
async fn post_form(addr: SocketAddr, path: &str, (cookie, csrf): &(String, String), fields: &str) -> Reply {
    let body = format!("csrf={csrf}&{fields}");
    send(addr, "POST", path, &[("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")], &body).await
}

fn records_of(fixture: &Fixture, action: &str) -> Vec<audit::AuditRecord> {
    fixture.records().into_iter().filter(|r| r.entry.action == action).collect()
}

/// Silences from the pages with the API's rules: everyone with alerts sees
/// them, a supervisor adds one with an end (Dutch time) and a reason, or
/// lifts one; a supervisor for one municipality only its own; CSRF; every
/// view and change on record.
#[tokio::test]
async fn silences_are_listed_added_and_lifted_from_the_pages_under_the_api_s_rules() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let fake = Arc::new(FakeAlerts::with(vec![fake_alert()]));
    let state = WebState { alerts: Some(Arc::clone(&fake) as Arc<dyn alerts::AlertBackend>), ..state };
    let addr = start(state.clone()).await;

    let officer = session(&state, "oov-regio");
    let list = call(addr, "/stiltes", &[("Cookie", &officer.0)]).await;
    assert_eq!(list.status, 200, "{list:?}");
    assert!(list.body.contains("bekende manifestatie") && list.body.contains("Utrecht (GM0344)"), "{}", list.body);
    assert!(!list.body.contains("Stil zetten") && !list.body.contains("Opheffen"), "an officer does not silence");
    let refused = post_form(addr, "/stiltes", &officer, "gemeente=GM0344&tot=2024-12-02T12%3A00&reden=x").await;
    assert_eq!(refused.status, 403, "{refused:?}");

    let supervisor = session(&state, "sv-regio");
    let page = call(addr, "/stiltes", &[("Cookie", &supervisor.0)]).await;
    assert!(page.body.contains("Stil zetten") && page.body.contains("value=\"2024-12-01T20:00\""), "{}", page.body);
    let fields = "gemeente=GM0344&regel=oproep-tot-geweld&thema=&tot=2024-12-02T12%3A00&reden=Bekende+demonstratie";
    let without_token = send(addr, "POST", "/stiltes", &[("Cookie", &supervisor.0)], fields).await;
    assert_eq!(without_token.status, 403, "CSRF: {without_token:?}");
    let added = post_form(addr, "/stiltes", &supervisor, fields).await;
    assert_eq!((added.status, added.header("location")), (303, "/stiltes"), "{added:?}");
    {
        let silenced = fake.silenced.lock().unwrap();
        assert_eq!(silenced.len(), 1, "one silence, the one with the token");
        let request = &silenced[0];
        let matchers: Vec<(&str, &str)> =
            request.matchers.iter().map(|m| (m.label.as_str(), m.value.as_str())).collect();
        assert_eq!(matchers, [("municipality", "GM0344"), ("rule", "oproep-tot-geweld")]);
        assert_eq!(request.ends_at, Utc.with_ymd_and_hms(2024, 12, 2, 11, 0, 0).unwrap(), "12:00 Dutch time");
        assert_eq!((request.owner.as_str(), request.reason.as_str()), ("sv-regio", "Bekende demonstratie"));
    }
    let no_reason = post_form(addr, "/stiltes", &supervisor, "gemeente=GM0344&tot=2024-12-02T12%3A00&reden=").await;
    assert_eq!(no_reason.status, 400, "{no_reason:?}");
    assert!(
        no_reason.body.contains("Geef een reden") && no_reason.body.contains("role=\"alert\""),
        "{}",
        no_reason.body
    );
    let past = post_form(addr, "/stiltes", &supervisor, "gemeente=GM0344&tot=2024-12-01T10%3A00&reden=x").await;
    assert!(past.status == 400 && past.body.contains("in de toekomst"), "{past:?}");

    let amersfoort = session(&state, "sv-amersfoort");
    let other = post_form(addr, "/stiltes", &amersfoort, "gemeente=GM0344&tot=2024-12-02T12%3A00&reden=x").await;
    assert!(other.status == 400 && other.body.contains("eigen gemeente"), "{other:?}");
    let hidden = call(addr, "/stiltes", &[("Cookie", &amersfoort.0)]).await;
    assert!(!hidden.body.contains("bekende manifestatie"), "Utrecht's silence is not Amersfoort's business");
    assert_eq!(post_form(addr, "/stiltes/s0/opheffen", &amersfoort, "").await.status, 404);

    let lifted = post_form(addr, "/stiltes/s0/opheffen", &supervisor, "").await;
    assert_eq!((lifted.status, lifted.header("location")), (303, "/stiltes"), "{lifted:?}");
    assert_eq!(post_form(addr, "/stiltes/onbekend/opheffen", &supervisor, "").await.status, 404);
    assert_eq!(fake.silenced.lock().unwrap().len(), 1, "nothing else was silenced");

    let silence: Vec<(String, Option<String>)> =
        records_of(&fixture, "silence").into_iter().map(|r| (r.entry.who, r.entry.refused)).collect();
    assert_eq!(silence.len(), 5, "{silence:?}");
    assert!(silence[0].0 == "oov-regio" && silence[0].1.as_deref().is_some_and(|r| r.contains("may not")));
    assert_eq!(silence[1], ("sv-regio".to_owned(), None));
    assert!(silence[2..].iter().all(|(_, refused)| refused.is_some()), "{silence:?}");
    let done = records_of(&fixture, "silence").remove(1);
    assert_eq!(done.entry.filters["matchers"][1]["value"], "oproep-tot-geweld");
    assert_eq!(done.entry.filters["reason"], "Bekende demonstratie");
    let expired: Vec<Option<String>> =
        records_of(&fixture, "silence_expire").into_iter().map(|r| r.entry.refused).collect();
    assert_eq!(expired.len(), 3);
    assert!(expired[0].is_some() && expired[1].is_none() && expired[2].is_some(), "{expired:?}");
    assert_eq!(records_of(&fixture, "silences_list").len(), 6, "every list view, the form pages too");
}

/// A supervisor can silence straight from an alert: the form is filled in with its place and rule.
#[tokio::test]
async fn an_alert_page_offers_a_silence_for_its_place_and_rule() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (cookie, _) = session(&state, "sv-regio");
    let page = call(addr, &format!("/meldingen/{FINGERPRINT}"), &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("<option value=\"GM0344\" selected>"), "{}", page.body);
    assert!(page.body.contains("name=\"regel\" type=\"text\" value=\"oproep-tot-geweld\""), "{}", page.body);
    // The mandate the rule ran under (rule L5), and the view's record carries it.
    assert!(page.body.contains("<dt>Mandaat</dt><dd>jaarwisseling-2026</dd>"), "{}", page.body);
    let shown = fixture.records().into_iter().rfind(|r| r.entry.action == "alerts_show").expect("the view's record");
    assert_eq!(shown.entry.mandates, ["jaarwisseling-2026"]);
    let (cookie, _) = session(&state, "oov-regio");
    let officer = call(addr, &format!("/meldingen/{FINGERPRINT}"), &[("Cookie", &cookie)]).await;
    assert!(!officer.body.contains("action=\"/stiltes\""), "no silence form for an officer");
}

/// The municipality page: the chart with its title, description and table,
/// the alerts, the calendar, the week's themes, explained messages with the
/// signals' words marked (and everything escaped), coverage per source.
#[tokio::test]
async fn the_municipality_page_has_levels_alerts_agenda_themes_explained_messages_and_coverage() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (cookie, _) = session(&state, "sv-regio");
    let utrecht = call(addr, "/gemeente/GM0344", &[("Cookie", &cookie)]).await;
    assert_eq!(utrecht.status, 200, "{utrecht:?}");
    let body = &utrecht.body;
    assert!(
        body.contains("role=\"img\" aria-labelledby=\"niveaus-grafiek-titel niveaus-grafiek-beschrijving\""),
        "{body}"
    );
    assert!(
        body.contains("1 bericht op niveau 1 en hoger in 7 dagen: 0 op niveau 1, 1 op niveau 2, 0 op niveau 3"),
        "{body}"
    );
    assert!(body.contains("<th scope=\"row\">zo 1 dec</th><td>0</td><td>1</td><td>0</td><td>1</td>"), "{body}");
    assert!(body.contains(&format!("/meldingen/{FINGERPRINT}")), "the active alert");
    assert!(
        body.contains("<h3>dinsdag 3 december 2024</h3>") && body.contains(">19:00</time>"),
        "the calendar: {body}"
    );
    assert!(body.contains("Boeren blokkeren de A12"), "{body}");
    assert!(body.contains("&amp;thema=stikstof\">stikstof</a> 1"), "the week's themes: {body}");
    assert!(body.contains("1 van 2 bronnen levert") && body.contains("telegram-utrecht"), "coverage: {body}");
    assert!(body.contains("nee: ophalen mislukt"), "{body}");

    let amersfoort = call(addr, "/gemeente/GM0307", &[("Cookie", &cookie)]).await;
    let body = &amersfoort.body;
    assert!(
        body.contains("<mark>vuurwerk</mark> tegen de <mark>ME</mark>, &lt;script&gt;"),
        "marked and escaped: {body}"
    );
    assert!(body.contains("oproep tot geweld: „vuurwerk” (gewicht +1,60)"), "the signals in Dutch: {body}");
    assert!(!body.contains("beslissende zin"), "the clause is not listed as a signal");
    assert!(body.contains("<p>Geen bron volgt deze gemeente.</p>"), "a sentence: {body}");
    assert!(!body.contains("<script") && !body.contains(CANARY));
}

/// The overview's tiles: escalation index over 6 hours, alerts by severity,
/// the next announced actions, coverage.
#[tokio::test]
async fn the_overview_tiles_have_index_alerts_next_actions_and_coverage() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (cookie, _) = session(&state, "sv-regio");
    let page = call(addr, "/", &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{page:?}");
    let tile = |code: &str| {
        let start = page.body.find(&format!("/gemeente/{code}\"")).unwrap_or_else(|| panic!("{}", page.body));
        let end = page.body[start..].find("<li class=\"tile").map_or(page.body.len(), |e| start + e);
        page.body[start..end].to_owned()
    };
    let utrecht = tile("GM0344");
    assert!(utrecht.contains("<dd>3</dd>"), "index: one message at level 2: {utrecht}");
    assert!(utrecht.contains("1 kritiek"), "{utrecht}");
    assert!(utrecht.contains("03-12 19:00") && utrecht.contains("Boeren blokkeren de A12"), "{utrecht}");
    assert!(utrecht.contains("1 van 2 bronnen levert"), "{utrecht}");
    let amersfoort = tile("GM0307");
    assert!(amersfoort.contains("<dd>9</dd>") && amersfoort.contains("geen bron volgt"), "{amersfoort}");
    assert!(page.body.find("GM0307").unwrap() < page.body.find("GM0344").unwrap(), "busiest first for the region");
}

/// The CSV export: the search's hits with names beside codes, no author,
/// formulas defused, capped, and on record before it goes out.
#[tokio::test]
async fn a_search_exports_as_csv_capped_defused_and_audited() {
    let mut extra: Vec<ScoredMessage> = (0..1003)
        .map(|i| {
            message(&format!("x{i}"), "Stikstof", &format!("stikstof bericht {i}"), "GM0344", None, Level::Discussion)
        })
        .collect();
    extra.push(message("evil", "=HYPERLINK(\"http://x\")", "@SUM(A1) -1 +2", "GM0307", None, Level::Discussion));
    let fixture = Fixture::with(extra);
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (cookie, _) = session(&state, "analist-regio");

    let reply = call(addr, "/zoeken/export?q=HYPERLINK+OR+vuurwerk&volgorde=nieuwste", &[("Cookie", &cookie)]).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("content-type"), "text/csv; charset=utf-8");
    assert!(
        reply.header("content-disposition").starts_with("attachment; filename=\"onrust-zoeken-20241201-1600.csv\"")
    );
    let lines: Vec<&str> = reply.body.trim_start_matches('\u{feff}').split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("\"kenmerk\";\"gepubliceerd\";"), "{}", lines[0]);
    assert!(!lines[0].contains("auteur") && !reply.body.contains(CANARY), "no author (L1)");
    let evil = lines.iter().find(|l| l.starts_with("\"evil\"")).unwrap();
    assert!(evil.contains("\"'=HYPERLINK(\"\"http://x\"\")\"") && evil.contains("\"'@SUM(A1) -1 +2\""), "{evil}");
    assert!(evil.contains("\"Amersfoort (GM0307)\"") && evil.contains("\"2024-12-01 12:00\""), "{evil}");
    let w2 = lines.iter().find(|l| l.starts_with("\"w2\"")).unwrap();
    assert!(w2.contains("<script>alert(1)</script>"), "the text as it is: a spreadsheet does not run HTML");

    let capped = call(addr, "/zoeken/export?q=stikstof", &[("Cookie", &cookie)]).await;
    let rows = capped.body.split("\r\n").filter(|l| !l.is_empty()).count() - 1;
    assert_eq!(rows, crate::console::EXPORT_CAP, "capped");
    let page = call(addr, "/zoeken?q=stikstof", &[("Cookie", &cookie)]).await;
    assert!(page.body.contains("Exporteren als CSV") && page.body.contains("de eerste 1000 van 1003"), "{}", page.body);

    let exports = records_of(&fixture, "search_export");
    assert_eq!(exports.len(), 2);
    assert_eq!((exports[0].entry.query.as_deref(), exports[0].entry.hits), (Some("HYPERLINK OR vuurwerk"), Some(2)));
    assert_eq!((exports[1].entry.hits, exports[1].entry.filters["_found"].as_u64()), (Some(1000), Some(1003)));

    let (officer, _) = session(&state, "oov-utrecht");
    let other = call(addr, "/zoeken/export?q=rellen&gemeente=GM0307", &[("Cookie", &officer)]).await;
    assert_eq!(other.status, 400, "{other:?}");
    assert!(records_of(&fixture, "search_export").last().is_some_and(|r| r.entry.refused.is_some()));
    let (fg, _) = session(&state, "fg-regio");
    assert_eq!(call(addr, "/zoeken/export?q=x", &[("Cookie", &fg)]).await.status, 403);
}

/// The query language's dates and compounds through the search page; its
/// van/tot filters as whole Dutch days.
#[tokio::test]
async fn the_search_page_takes_date_ranges_compounds_and_dutch_days() {
    let extra = vec![message("sb", "Nieuws", "het stikstofbeleid en de trekkers", "GM0344", None, Level::Discussion)];
    let fixture = Fixture::with(extra);
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let (cookie, _) = session(&state, "analist-regio");
    let found = |body: &str| body.matches("<li><h3>").count();
    let compound = call(addr, "/zoeken?q=stikstof+AND+trekkers", &[("Cookie", &cookie)]).await;
    assert!(
        compound.body.contains("1 bericht gevonden") && compound.body.contains("<mark>stikstof</mark>beleid"),
        "{}",
        compound.body
    );
    let range =
        call(addr, "/zoeken?q=published_at%3A%5B2024-12-01T00%3A00%3A00Z+TO+*%5D", &[("Cookie", &cookie)]).await;
    assert_eq!(range.status, 200, "{range:?}");
    assert_eq!(found(&range.body), 4, "{}", range.body);
    let none = call(addr, "/zoeken?q=published_at%3A%5B2024-12-02+TO+*%5D", &[("Cookie", &cookie)]).await;
    assert!(none.body.contains("Geen berichten gevonden"), "{}", none.body);
    let day = call(addr, "/zoeken?van=2024-12-01&tot=2024-12-01", &[("Cookie", &cookie)]).await;
    assert_eq!(found(&day.body), 4, "{}", day.body);
    let after = call(addr, "/zoeken?van=2024-12-02", &[("Cookie", &cookie)]).await;
    assert!(after.body.contains("Geen berichten gevonden"), "{}", after.body);
    let backwards = call(addr, "/zoeken?van=2024-12-02&tot=2024-12-01", &[("Cookie", &cookie)]).await;
    assert!(backwards.status == 400 && backwards.body.contains("Van moet op of vóór"), "{backwards:?}");
    let bad = call(addr, "/zoeken?q=published_at%3A%5Bgisteren+TO+*%5D", &[("Cookie", &cookie)]).await;
    assert!(bad.status == 400 && bad.body.contains("published_at takes a time"), "{bad:?}");
}

/// The fg's page: retention per bucket, the chain, and filters by kind and word.
#[tokio::test]
async fn the_fg_page_has_retention_per_bucket_and_filters_by_kind_and_word() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let addr = start(state.clone()).await;
    let supervisor = session(&state, "sv-regio");
    post_form(addr, &format!("/meldingen/{FINGERPRINT}/doorsturen"), &supervisor, "reden=Burgemeester+inlichten").await;
    let (analyst, _) = session(&state, "analist-regio");
    call(addr, "/zoeken?q=rellen", &[("Cookie", &analyst)]).await;
    let (fg, _) = session(&state, "fg-regio");
    let page = call(addr, "/audit", &[("Cookie", &fg)]).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body.contains("De hashketen is in orde") && page.body.contains("90 dagen na het ophalen"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<th scope=\"row\">week-2024-11-25</th>"), "{}", page.body);
    assert!(page.body.contains("02-03-2025 01:00</time>"), "90 days after the bucket's end: {}", page.body);
    let alerts = call(addr, "/audit?soort=meldingen&bevat=burgemeester", &[("Cookie", &fg)]).await;
    assert!(
        alerts.body.contains("alerts_confirm") && alerts.body.contains("Burgemeester inlichten"),
        "{}",
        alerts.body
    );
    assert!(!alerts.body.contains("<td>search</td>"), "{}", alerts.body);
    let searches = call(addr, "/audit?soort=zoeken&wie=analist", &[("Cookie", &fg)]).await;
    assert!(
        searches.body.contains("<td>search</td>") && !searches.body.contains("<td>alerts_confirm</td>"),
        "{}",
        searches.body
    );
    assert!(searches.body.contains("1 record getoond"), "{}", searches.body);
    let bad = call(addr, "/audit?van=gisteren", &[("Cookie", &fg)]).await;
    assert_eq!(bad.status, 400);
}

/// Guessing from one address is braked whatever the names: a password
/// sprayed over many names locks the address, not the names.
#[tokio::test]
async fn guessing_from_one_address_locks_the_address_for_every_name() {
    let fixture = Fixture::new();
    let mut state = fixture.state(false);
    let login = LoginPolicy {
        address_slow_after: 1,
        address_lock_after: 3,
        step: Duration::from_millis(100),
        ..LoginPolicy::default()
    };
    state.console = Arc::new(test_console(login));
    let addr = start(state).await;
    assert_eq!(sign_in(addr, "niemand-1", "Welkom2024!").await.status, 401);
    let slowed = Instant::now();
    assert_eq!(sign_in(addr, "niemand-2", "Welkom2024!").await.status, 401);
    assert!(slowed.elapsed() >= Duration::from_millis(100), "slowed down across names");
    let locked = sign_in(addr, "niemand-3", "Welkom2024!").await;
    assert_eq!(locked.status, 429, "{locked:?}");
    let right = sign_in(addr, "fg-regio", &password_of("fg-regio")).await;
    assert_eq!(right.status, 429, "the right password, from this address, waits too");
    assert!(right.body.contains("vanaf dit adres"), "{}", right.body);
    let refused: Vec<String> = records_of(&fixture, "sign_in").into_iter().filter_map(|r| r.entry.refused).collect();
    assert_eq!(refused.last().map(String::as_str), Some("address locked after repeated failures from it"));
    assert!(refused.iter().any(|r| r == "wrong name or password; the address is now locked"), "{refused:?}");
}

/// Rule L5 as the daemon answers it: a mandate covering Utrecht only.
struct UtrechtOnly;

impl crate::search::SearchMandates for UtrechtOnly {
    fn covering(&self, request: &SearchRequest) -> Vec<String> {
        let utrecht = request.municipality.as_ref().is_some_and(|m| m.as_str() == "GM0344");
        if utrecht { vec!["utrecht".to_owned()] } else { Vec::new() }
    }
}

/// A search, through the API, the console's page or its export, carries the
/// mandates that cover it; one that none covers is refused and still recorded.
#[tokio::test]
async fn a_search_carries_its_mandates_and_one_no_mandate_covers_is_refused_and_recorded() {
    let fixture = Fixture::new();
    let mut state = fixture.state(false);
    state.search = state.search.map(|s| s.with_mandates(Arc::new(UtrechtOnly)));
    let addr = start(state.clone()).await;
    let analyst = account_of(Role::Analyst).expect("an analyst account");
    let (cookie, _) = session(&state, analyst);

    let covered = get_as(addr, "/api/v1/search?q=*&municipality=GM0344", Some(ANALYST)).await;
    assert_eq!(covered.status, 200, "{covered:?}");
    let refused = get_as(addr, "/api/v1/search?q=*&municipality=GM0307", Some(ANALYST)).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(refused.error().contains("no mandate in force covers this search"), "{refused:?}");
    let page = call(addr, "/zoeken?q=rellen&gemeente=GM0307", &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Geen mandaat dat vandaag geldt") && !page.body.contains("Rellen in Amersfoort"));
    let page = call(addr, "/zoeken?q=&gemeente=GM0344", &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, 200, "{page:?}");
    let export = call(addr, "/zoeken/export?q=&gemeente=GM0307", &[("Cookie", &cookie)]).await;
    assert_ne!(export.status, 200, "{export:?}");

    let searches: Vec<_> = fixture
        .records()
        .into_iter()
        .filter(|r| r.entry.action.starts_with("search"))
        .map(|r| (r.entry.action, r.entry.mandates, r.entry.refused.is_some()))
        .collect();
    let utrecht = vec!["utrecht".to_owned()];
    assert_eq!(
        searches,
        [
            ("search".to_owned(), utrecht.clone(), false),
            ("search".to_owned(), Vec::new(), true),
            ("search".to_owned(), Vec::new(), true),
            ("search".to_owned(), utrecht, false),
            ("search_export".to_owned(), Vec::new(), true),
        ]
    );
    assert_eq!(fixture.verified() as usize, fixture.records().len(), "the chain holds");
}
