//! The halt switch over TCP (rule L13): on record before it takes effect,
//! nothing without the record or without the saved file, every bad body a
//! 400 on record, idempotent, and readiness stays 200 while halted.

use super::*;
use crate::halt::{HALT_FILE, HaltSwitch, read_file};

fn bearer(role: Role) -> String {
    format!("Bearer {}", token_of(role))
}

fn halt_records(fixture: &Fixture) -> Vec<audit::AuditRecord> {
    if !fixture.audit_path().exists() {
        return Vec::new();
    }
    fixture.records().into_iter().filter(|r| r.entry.action == "halt" || r.entry.action == "resume").collect()
}

#[tokio::test]
async fn a_halt_is_on_record_before_it_takes_effect_and_without_a_record_nothing_changes() {
    let fixture = Fixture::new();
    let state = fixture.state(true);
    let switch = Arc::clone(&state.halt);
    let addr = start(state).await;
    let supervisor = bearer(Role::Supervisor);
    let auth = [("Authorization", supervisor.as_str())];
    let body = r#"{"reason": "DPIA wordt herzien"}"#;

    // The audit folder cannot be created: a file is in the way.
    let blocker = fixture.dir.path().join("audit");
    std::fs::write(&blocker, "not a folder").unwrap();
    let refused = send(addr, "POST", "/api/v1/halt", &auth, body).await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.error().contains("audit log cannot be written"), "{refused:?}");
    assert!(switch.halt().is_none() && !*switch.halted().borrow(), "nothing changed without the record");
    assert!(!fixture.dir.path().join(HALT_FILE).exists());
    std::fs::remove_file(&blocker).unwrap();

    let halted = send(addr, "POST", "/api/v1/halt", &auth, body).await;
    assert_eq!(halted.status, 200, "{halted:?}");
    let json = halted.json();
    assert_eq!((json["halted"].as_bool(), json["changed"].as_bool()), (Some(true), Some(true)), "{json}");
    assert_eq!(
        (json["last"]["by"].as_str(), json["last"]["reason"].as_str()),
        (Some("supervisor-1"), Some("DPIA wordt herzien"))
    );
    assert!(*switch.halted().borrow(), "the stages are told");
    let saved = read_file(&fixture.dir.path().join(HALT_FILE)).unwrap().expect("saved");
    assert!(saved.halted && saved.by == "supervisor-1");
    let records = halt_records(&fixture);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!((records[0].entry.who.as_str(), records[0].entry.action.as_str()), ("supervisor-1", "halt"));
    assert_eq!(records[0].entry.filters["reason"], "DPIA wordt herzien");
    assert!(records[0].at <= saved.since, "on record before it took effect");

    // Readiness stays 200 and says so; the state is there to read.
    let ready = call(addr, "/readyz", &[("Authorization", &format!("Bearer {MONITOR}"))]).await;
    assert_eq!(ready.status, 200, "{ready:?}");
    assert!(ready.body.starts_with("ready, halted since ") && ready.body.contains("supervisor-1"), "{}", ready.body);
    let admin = bearer(Role::Admin);
    let read = call(addr, "/api/v1/halt", &[("Authorization", &admin)]).await;
    assert_eq!((read.status, read.json()["halted"].as_bool()), (200, Some(true)), "{read:?}");

    // Again: nothing changes, and it says so; still on record.
    let again = send(addr, "POST", "/api/v1/halt", &[("Authorization", &admin)], r#"{"reason": "nog eens"}"#).await;
    assert_eq!((again.status, again.json()["changed"].as_bool()), (200, Some(false)), "{again:?}");
    assert_eq!(switch.halt().expect("halted").by, "supervisor-1", "the first halt stands");
    assert_eq!(halt_records(&fixture).last().unwrap().entry.filters["changed"], false);

    let resumed = send(addr, "POST", "/api/v1/resume", &[("Authorization", &admin)], r#"{"reason": "klaar"}"#).await;
    assert_eq!((resumed.status, resumed.json()["halted"].as_bool()), (200, Some(false)), "{resumed:?}");
    assert!(!*switch.halted().borrow());
    assert_eq!(call(addr, "/readyz", &[("Authorization", &format!("Bearer {MONITOR}"))]).await.body, "ready\n");
    let actions: Vec<String> = halt_records(&fixture).iter().map(|r| r.entry.action.clone()).collect();
    assert_eq!(actions, ["halt", "halt", "resume"]);
    assert!(halt_records(&fixture).iter().all(|r| r.entry.refused.is_none()));
}

#[tokio::test]
async fn a_halt_that_cannot_be_saved_changes_nothing_and_says_so_on_record() {
    let fixture = Fixture::new();
    let switch = Arc::new(HaltSwitch::at(fixture.dir.path().join("absent").join(HALT_FILE)));
    let state = WebState { halt: Arc::clone(&switch), ..fixture.state(false) };
    let addr = start(state).await;
    let supervisor = bearer(Role::Supervisor);
    let reply = send(addr, "POST", "/api/v1/halt", &[("Authorization", &supervisor)], r#"{"reason": "x"}"#).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.error().contains("could not be saved"), "{reply:?}");
    assert!(!*switch.halted().borrow(), "the stages were not told");
    let records = halt_records(&fixture);
    assert_eq!(records.len(), 2, "asked, then: did not happen: {records:?}");
    assert!(records[0].entry.refused.is_none());
    assert!(records[1].entry.refused.as_deref().is_some_and(|r| r.contains("nothing changed")), "{records:?}");
}

#[tokio::test]
async fn every_bad_body_is_a_400_that_says_why_and_is_on_record() {
    let fixture = Fixture::new();
    let state = fixture.state(false);
    let switch = Arc::clone(&state.halt);
    let addr = start(state).await;
    let supervisor = bearer(Role::Supervisor);
    let long = format!(r#"{{"reason": "{}"}}"#, "x".repeat(1001));
    let bodies = [
        ("/api/v1/halt", ""),
        ("/api/v1/halt", "{}"),
        ("/api/v1/halt", r#"{"reason": ""}"#),
        ("/api/v1/halt", r#"{"reason": "   "}"#),
        ("/api/v1/halt", r#"{"reason": 7}"#),
        ("/api/v1/halt", r#"{"reason": "ok", "until": "morgen"}"#),
        ("/api/v1/halt", r#"{"reason": "a\u001b[2Jb"}"#),
        ("/api/v1/halt", long.as_str()),
        ("/api/v1/halt?force=1", r#"{"reason": "ok"}"#),
        ("/api/v1/resume", r#"{"reason": ""}"#),
    ];
    for (path, body) in bodies {
        let reply = send(addr, "POST", path, &[("Authorization", &supervisor)], body).await;
        assert_eq!(reply.status, 400, "{path} {body}: {reply:?}");
        let error = reply.error();
        assert!(error.contains("reason") || error.contains("parameters"), "{body}: {error}");
    }
    assert!(!*switch.halted().borrow(), "nothing changed");
    let records = halt_records(&fixture);
    assert_eq!(records.len(), bodies.len(), "each on record");
    assert!(records.iter().all(|r| r.entry.refused.is_some() && r.entry.who == "supervisor-1"), "{records:?}");
}
