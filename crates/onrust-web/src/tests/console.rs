//! The console over TCP: signing in and out, sessions, CSRF, the brake on
//! guessing, the page × role matrix, escaping, scope, and the audit records.

use std::sync::OnceLock;

use super::*;
use crate::console::users::{Account, hash_password};
use crate::console::{Console, LoginPolicy, SessionPolicy, Sessions, Users};

/// The console's accounts: one per role the console serves, and an officer for Utrecht only.
const ACCOUNTS: [(&str, Role, Option<&str>); 5] = [
    ("oov-regio", Role::Officer, None),
    ("oov-utrecht", Role::Officer, Some("GM0344")),
    ("analist-regio", Role::Analyst, None),
    ("sv-regio", Role::Supervisor, None),
    ("fg-regio", Role::Fg, None),
];

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
        let target = route.path.replace("{fingerprint}", FINGERPRINT).replace("{code}", "GM0344");
        for role in Role::ALL {
            let reply = match account_of(role) {
                Some(name) => {
                    // A fresh session each time: signing out ends it.
                    let (cookie, csrf) = session(&state, name);
                    let body = if route.method == "POST" { format!("csrf={csrf}&reden=gezien") } else { String::new() };
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
    let (fg, _) = session(&state, "fg-regio");
    let page = call(addr, "/audit?actie=search", &[("Cookie", &fg)]).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("De hashketen is in orde"), "{}", page.body);
    assert!(page.body.contains("analist-regio") && page.body.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(!page.body.contains("<script"));
    // Reading the log is on record too (L7).
    let read = fixture.records().pop().unwrap();
    assert_eq!(
        (read.entry.who.as_str(), read.entry.action.as_str(), read.entry.hits),
        ("fg-regio", "audit_read", Some(1))
    );
    assert_eq!(read.entry.filters, serde_json::json!({"wie": "", "actie": "search"}));
}
