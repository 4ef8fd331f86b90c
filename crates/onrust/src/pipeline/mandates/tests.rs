use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::config::mandates::MandatePeriod;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn mandate(id: &str, start: &str, end: &str) -> Mandate {
    Mandate {
        id: id.into(),
        purpose: "p".into(),
        legal_basis: "b".into(),
        decided_by: "d".into(),
        dpia: "x".into(),
        period: MandatePeriod::Dated { start: date(start), end: date(end) },
        municipalities: Vec::new(),
        themes: Vec::new(),
        source_kinds: Vec::new(),
    }
}

#[test]
fn the_clock_moves_mandates_in_and_out_of_force_with_the_date() {
    let clock = MandateClock::new(
        vec![mandate("nu", "2026-12-01", "2026-12-31"), mandate("straks", "2027-01-01", "2027-01-31")],
        None,
        date("2026-12-31"),
    );
    assert_eq!(clock.in_force(), BTreeSet::from(["nu".to_owned()]));
    let rules = onrust_alert::validate(&[
        onrust_alert::RuleConfig {
            name: "a".into(),
            kind: Some(onrust_alert::RuleKind::Critical),
            mandate: Some("nu".into()),
            ..Default::default()
        },
        onrust_alert::RuleConfig {
            name: "b".into(),
            kind: Some(onrust_alert::RuleKind::Critical),
            mandate: Some("straks".into()),
            ..Default::default()
        },
    ])
    .expect("valid");
    assert_eq!(paused_rules(&rules, &clock.in_force()), ["b"]);
    assert_eq!(clock.tick(date("2026-12-31")), (vec![], vec![]), "the same day changes nothing");
    assert_eq!(clock.tick(date("2027-01-01")), (vec!["straks".to_owned()], vec!["nu".to_owned()]));
    assert_eq!(paused_rules(&rules, &clock.in_force()), ["a"]);
    assert_eq!(clock.tick(date("2027-02-01")), (vec![], vec!["straks".to_owned()]));
    assert_eq!(paused_rules(&rules, &clock.in_force()), ["a", "b"]);
}

/// A source runs only while its mandate is in force: it waits for the
/// start, is stopped (as on shutdown, so it keeps its cursor) at the end,
/// without a restart of the daemon, and the hand-over it holds stays open
/// until the daemon stops.
#[tokio::test]
async fn a_source_waits_for_its_mandate_and_stops_at_its_end() {
    let (in_force_tx, in_force) = watch::channel(BTreeSet::new());
    let (stop_tx, stop) = watch::channel(false);
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (hold, mut held) = tokio::sync::mpsc::channel::<()>(1);
    let (s, t) = (Arc::clone(&started), Arc::clone(&stopped));
    let gate = tokio::spawn(while_in_force(
        "m".to_owned(),
        in_force,
        stop,
        move |mut source_stop: watch::Receiver<bool>| {
            let (s, t) = (Arc::clone(&s), Arc::clone(&t));
            s.fetch_add(1, Ordering::SeqCst);
            let task: crate::pipeline::ingest::SourceTask = Box::pin(async move {
                let _ = source_stop.wait_for(|x| *x).await;
                t.fetch_add(1, Ordering::SeqCst);
            });
            Ok(task)
        },
        hold,
    ));
    let settle = || tokio::time::sleep(Duration::from_millis(50));
    settle().await;
    assert_eq!(started.load(Ordering::SeqCst), 0, "not in force: the source does not start");
    in_force_tx.send_replace(BTreeSet::from(["m".to_owned()]));
    settle().await;
    assert_eq!((started.load(Ordering::SeqCst), stopped.load(Ordering::SeqCst)), (1, 0));
    in_force_tx.send_replace(BTreeSet::new());
    settle().await;
    assert_eq!(stopped.load(Ordering::SeqCst), 1, "the mandate ended: the source is stopped");
    assert!(!gate.is_finished(), "the gate holds the hand-over until the daemon stops");
    assert!(held.try_recv().is_err_and(|e| e == tokio::sync::mpsc::error::TryRecvError::Empty));
    stop_tx.send_replace(true);
    gate.await.expect("joined").expect("ok");
    assert_eq!(held.recv().await, None, "the hand-over is released when the daemon stops");
    assert_eq!(started.load(Ordering::SeqCst), 1);
}
