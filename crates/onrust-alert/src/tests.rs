//! Scenario tests: the engine and the mechanics driven by hand-advanced time.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use onrust_model::{Level, MunicipalityCode, ScoredMessage, SourceKind};
use onrust_testkit::{ScoredMessageBuilder, scored_message};

use crate::baseline::{BaselineSource, CountCell, NoBaseline};
use crate::engine::{Engine, Transition, TransitionKind};
use crate::mechanics::{Matcher, Mechanics, MechanicsError, Notification, NotifyReason, Role, SilenceRequest};
use crate::rule::{Rule, RulesFile, validate};
use crate::{AlertState, AlertStatus, Severity};

const CANARY: &str = "c0ffee00canarypseudonym00c0ffee";
const UTRECHT: &str = "GM0344";
const AMERSFOORT: &str = "GM0307";

fn t(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, mo, d, h, mi, 0).unwrap()
}

fn rules(toml_text: &str) -> Vec<Rule> {
    validate(&toml::from_str::<RulesFile>(toml_text).unwrap().rules).unwrap()
}

/// What every scenario message shares: from one of three Telegram sources,
/// by one pseudonymous author (the canary), fetched and published at `at`.
fn message(id: &str, theme: &str, level: u8, score: f32, at: DateTime<Utc>) -> ScoredMessageBuilder {
    scored_message(id)
        .source(&format!("bron{}", id.len() % 3))
        .source_kind(SourceKind::Telegram)
        .text(&format!("bericht {id} over {theme} door @[user]"))
        .fetched_at(at)
        .published_at(at.fixed_offset())
        .author(CANARY)
        .lang_hint("nl")
        .level(Level::try_from(level).unwrap())
        .score(score)
        .theme(theme)
}

fn msg(id: &str, muni: Option<&str>, theme: &str, level: u8, score: f32, at: DateTime<Utc>) -> ScoredMessage {
    let message = message(id, theme, level, score, at).signal(&format!("theme:{theme}"), theme, 0.3).signal(
        "call_to_violence",
        "oorlog maken met de politie",
        0.6,
    );
    match muni {
        Some(code) => message.municipality(code),
        None => message,
    }
    .build()
}

fn kinds(trs: &[Transition]) -> Vec<TransitionKind> {
    trs.iter().map(|t| t.kind).collect()
}

/// A past that has `weeks[k-1]` messages k weeks ago and `years[y-1]` y years ago, in one cell.
struct Past {
    now: DateTime<Utc>,
    muni: &'static str,
    theme: &'static str,
    weeks: Vec<u64>,
    years: Vec<u64>,
}

impl BaselineSource for Past {
    fn counts(&self, _since: DateTime<Utc>, until: DateTime<Utc>, _min: u8) -> Option<Vec<CountCell>> {
        let back = (self.now - until).num_days();
        let n = if back % 7 == 0 && back / 7 >= 1 && back < 300 {
            self.weeks.get(back as usize / 7 - 1)
        } else if back >= 360 {
            self.years.get(((back + 30) / 365) as usize - 1)
        } else {
            None
        }?;
        Some(vec![CountCell {
            municipality: Some(self.muni.into()),
            theme: Some(self.theme.into()),
            level: 1,
            messages: *n,
        }])
    }
}

#[test]
fn critical_fires_at_observe_and_resolves_after_its_window() {
    let mut e = Engine::new(rules("[[rules]]\nname = \"kritiek\"\nkind = \"critical\"\nmin_score = 0.8\n"));
    let now = t(11, 20, 12, 0);
    assert!(e.observe(&msg("low", Some(UTRECHT), "asiel", 3, 0.5, now), now).is_empty());
    assert!(e.observe(&msg("lvl2", Some(UTRECHT), "asiel", 2, 0.95, now), now).is_empty());
    let trs = e.observe(&msg("hit", Some(UTRECHT), "asiel", 3, 0.9, now), now);
    assert_eq!(kinds(&trs), [TransitionKind::Firing]);
    let a = &trs[0].alert;
    assert_eq!((a.severity, a.observed, a.theme.as_deref()), (Severity::Critical, 1, Some("asiel")));
    assert_eq!(a.evidence.len(), 1);
    assert!(a.reasons[0].contains("kritiek") && a.reasons[0].contains(&e.rules()[0].version), "{:?}", a.reasons);
    assert!(a.reasons.iter().any(|r| r.contains("call_to_violence 0,60")), "{:?}", a.reasons);
    // A second one updates the same alert; the same one again changes nothing.
    let later = now + TimeDelta::minutes(10);
    let trs = e.observe(&msg("hit2", Some(UTRECHT), "asiel", 3, 0.85, later), later);
    assert_eq!(kinds(&trs), [TransitionKind::Updated]);
    assert_eq!(trs[0].alert.observed, 2);
    assert!(e.observe(&msg("hit2", Some(UTRECHT), "asiel", 3, 0.85, later), later).is_empty());
    assert!(e.evaluate(later + TimeDelta::minutes(59), &NoBaseline).is_empty());
    let trs = e.evaluate(later + TimeDelta::minutes(61), &NoBaseline);
    assert_eq!(kinds(&trs), [TransitionKind::Resolved]);
    assert!(trs[0].alert.reasons.last().unwrap().starts_with("Gedeëscaleerd"));
    assert_eq!(e.active_alerts().count(), 0);
}

#[test]
fn a_message_deleted_at_its_source_leaves_every_alert_s_evidence() {
    let rules = rules("[[rules]]\nname = \"kritiek\"\nkind = \"critical\"\n");
    let mut e = Engine::new(rules.clone());
    let mut m = Mechanics::new(&rules);
    let now = t(11, 20, 12, 0);
    let trs = e.observe(&msg("weg", Some(UTRECHT), "asiel", 3, 0.9, now), now);
    m.apply(&trs, now);
    // What each alert quotes, by message id.
    let quoted = |alerts: Vec<&crate::Alert>| -> Vec<(String, String)> {
        let mut quoted: Vec<(String, String)> =
            alerts.iter().flat_map(|a| a.evidence.iter().map(|e| (e.message_id.clone(), e.excerpt.clone()))).collect();
        quoted.sort();
        quoted
    };
    let withdrawn = ("weg".to_owned(), crate::WITHDRAWN_EXCERPT.to_owned());
    // Its only evidence is withdrawn: the alert still explains itself, without the words.
    assert!(e.forget_message("weg"));
    assert!(m.forget_message("weg"));
    assert_eq!(quoted(e.active_alerts().collect()), std::slice::from_ref(&withdrawn));
    assert_eq!(quoted(m.alerts().collect()), std::slice::from_ref(&withdrawn));
    for alert in e.active_alerts() {
        assert!(!alert.evidence.is_empty(), "the alert keeps an item to explain itself by");
        assert!(alert.evidence.iter().all(|ev| ev.url.is_none() && ev.title.is_none()));
    }
    assert!(!e.forget_message("weg") && !m.forget_message("never-seen"), "once is enough");
    // A later message updates the alert; the withdrawn words do not come back.
    let later = now + TimeDelta::minutes(5);
    let trs = e.observe(&msg("blijft", Some(UTRECHT), "asiel", 3, 0.8, later), later);
    m.apply(&trs, later);
    assert_eq!(e.active_alerts().next().map(|a| a.observed), Some(2), "what it counted stays counted");
    let after = quoted(e.active_alerts().collect());
    assert!(after.contains(&withdrawn), "{after:?}");
    assert!(after.iter().all(|(id, text)| id != "weg" || text == crate::WITHDRAWN_EXCERPT), "{after:?}");
    assert!(after.iter().any(|(id, text)| id == "blijft" && text.contains("bericht blijft")), "{after:?}");
    assert_eq!(quoted(m.alerts().collect()), after);
}

#[test]
fn threshold_counts_per_municipality_with_pending_and_keep_firing() {
    let mut e = Engine::new(rules(
        "[[rules]]\nname = \"drempel\"\nkind = \"threshold\"\ncount = 5\nwindow = \"10m\"\npending = \"2m\"\n\
         keep_firing_for = \"5m\"\nthemes = [\"stikstof\"]\n",
    ));
    let t0 = t(11, 20, 12, 0);
    for i in 0..5 {
        e.observe(&msg(&format!("u{i}"), Some(UTRECHT), "stikstof", 2, 0.6, t0), t0);
    }
    for i in 0..4 {
        e.observe(&msg(&format!("a{i}"), Some(AMERSFOORT), "stikstof", 2, 0.6, t0), t0);
    }
    // Wrong theme and too low a level do not count.
    e.observe(&msg("x1", Some(AMERSFOORT), "klimaat", 2, 0.6, t0), t0);
    e.observe(&msg("x2", Some(AMERSFOORT), "stikstof", 1, 0.6, t0), t0);
    let trs = e.evaluate(t0 + TimeDelta::seconds(30), &NoBaseline);
    assert_eq!(kinds(&trs), [TransitionKind::Pending]);
    let a = &trs[0].alert;
    assert_eq!(a.municipality.as_ref().unwrap().as_str(), UTRECHT);
    assert_eq!((a.observed, a.threshold, a.window_secs), (5, Some(5), 600));
    assert!(a.reasons[1].contains("de drempel is 5"), "{:?}", a.reasons);
    assert!(e.evaluate(t0 + TimeDelta::seconds(90), &NoBaseline).is_empty());
    assert_eq!(kinds(&e.evaluate(t0 + TimeDelta::minutes(3), &NoBaseline)), [TransitionKind::Firing]);
    assert!(e.evaluate(t0 + TimeDelta::minutes(8), &NoBaseline).is_empty());
    // The messages leave the window after 10 minutes; keep firing 5 minutes after the last time it held.
    assert!(e.evaluate(t0 + TimeDelta::minutes(11), &NoBaseline).is_empty());
    assert_eq!(kinds(&e.evaluate(t0 + TimeDelta::minutes(13), &NoBaseline)), [TransitionKind::Resolved]);
}

#[test]
fn a_pending_alert_whose_condition_goes_away_just_disappears() {
    let mut e = Engine::new(rules(
        "[[rules]]\nname = \"drempel\"\nkind = \"threshold\"\ncount = 2\nwindow = \"5m\"\npending = \"10m\"\n",
    ));
    let t0 = t(11, 20, 12, 0);
    e.observe(&msg("a", Some(UTRECHT), "asiel", 2, 0.6, t0), t0);
    e.observe(&msg("b", Some(UTRECHT), "asiel", 2, 0.6, t0), t0);
    assert_eq!(kinds(&e.evaluate(t0, &NoBaseline)), [TransitionKind::Pending]);
    assert!(e.evaluate(t0 + TimeDelta::minutes(6), &NoBaseline).is_empty());
    assert_eq!(e.active_alerts().count(), 0);
}

#[test]
fn a_regional_threshold_counts_messages_once_across_municipalities() {
    let mut e = Engine::new(rules(
        "[[rules]]\nname = \"regio\"\nkind = \"threshold\"\ncount = 3\nwindow = \"1h\"\nper = \"region\"\n",
    ));
    let t0 = t(11, 20, 12, 0);
    let mut m = msg("a", Some(UTRECHT), "asiel", 2, 0.6, t0);
    m.assessment.municipalities.push(MunicipalityCode::new(AMERSFOORT).unwrap());
    e.observe(&m, t0);
    e.observe(&msg("b", None, "asiel", 2, 0.6, t0), t0);
    assert!(e.evaluate(t0, &NoBaseline).is_empty(), "two messages, not three");
    e.observe(&msg("c", Some(AMERSFOORT), "asiel", 2, 0.6, t0), t0);
    let trs = e.evaluate(t0, &NoBaseline);
    assert_eq!(trs.len(), 1);
    assert_eq!(trs[0].alert.municipality, None);
    assert_eq!(trs[0].alert.observed, 3);
}

#[test]
fn a_replayed_message_counts_once() {
    let mut e = Engine::new(rules("[[rules]]\nname = \"d\"\nkind = \"threshold\"\ncount = 2\nwindow = \"1h\"\n"));
    let t0 = t(11, 20, 12, 0);
    for _ in 0..3 {
        e.observe(&msg("same", Some(UTRECHT), "asiel", 2, 0.6, t0), t0);
    }
    assert!(e.evaluate(t0, &NoBaseline).is_empty());
}

#[test]
fn levels_no_counting_rule_asks_for_are_not_counted_and_redeliveries_are_forgotten_after_a_while() {
    let mut e = Engine::new(rules(
        "[[rules]]\nname = \"d\"\nkind = \"threshold\"\ncount = 2\nwindow = \"2h\"\nmin_level = 1\n",
    ));
    let t0 = t(11, 20, 12, 0);
    e.observe(&msg("zero", Some(UTRECHT), "asiel", 0, 0.1, t0), t0);
    e.observe(&msg("one", Some(UTRECHT), "asiel", 1, 0.3, t0), t0);
    assert!(e.evaluate(t0, &NoBaseline).is_empty());
    // The same message 20 minutes later (a replay from long ago) is no longer recognised; 10 minutes later it is.
    let t1 = t0 + TimeDelta::minutes(10);
    e.observe(&msg("one", Some(UTRECHT), "asiel", 1, 0.3, t0), t1);
    assert!(e.evaluate(t1, &NoBaseline).is_empty());
    let t2 = t0 + TimeDelta::minutes(20);
    e.evaluate(t2, &NoBaseline);
    e.observe(&msg("one", Some(UTRECHT), "asiel", 1, 0.3, t0), t2);
    assert_eq!(e.evaluate(t2, &NoBaseline).len(), 1);
}

const BURST: &str = "[[rules]]\nname = \"piek\"\nkind = \"burst\"\nwindow = \"1h\"\nbaseline_weeks = 4\n";

fn burst_engine(now: DateTime<Utc>, n: usize) -> Engine {
    let mut e = Engine::new(rules(BURST));
    for i in 0..n {
        let at = now - TimeDelta::minutes(50) + TimeDelta::minutes(i as i64 * 4);
        e.observe(&msg(&format!("m{i}"), Some(UTRECHT), "asiel", 1, 0.4, at), now);
    }
    e
}

#[test]
fn a_burst_fires_against_a_low_baseline_and_not_in_a_normal_week() {
    let now = t(11, 20, 21, 0);
    let mut e = burst_engine(now, 12);
    let quiet = Past { now, muni: UTRECHT, theme: "asiel", weeks: vec![2, 3, 1, 2], years: vec![] };
    let trs = e.evaluate(now, &quiet);
    assert_eq!(kinds(&trs), [TransitionKind::Firing]);
    let a = &trs[0].alert;
    assert_eq!((a.observed, a.theme.as_deref()), (12, Some("asiel")));
    assert!((a.expected.unwrap() - 2.125).abs() < 1e-9);
    assert!(a.p_value.unwrap() < 1e-4);
    assert!(a.reasons[1].contains("verwacht 2,1") && a.reasons[1].contains("(2, 3, 1, 2)"), "{:?}", a.reasons);
    assert!(!a.evidence.is_empty() && a.evidence.len() <= 5);

    let mut e = burst_engine(now, 12);
    let normal = Past { now, muni: UTRECHT, theme: "asiel", weeks: vec![11, 13, 10, 12], years: vec![] };
    assert!(e.evaluate(now, &normal).is_empty());
    // Without any past the burst cannot be judged and does not fire.
    let mut e = burst_engine(now, 12);
    assert!(e.evaluate(now, &NoBaseline).is_empty());
}

#[test]
fn a_burst_on_new_years_eve_is_judged_against_previous_years() {
    let now = t(12, 31, 22, 0);
    let quiet_weeks = vec![2, 3, 1, 2];
    let mut e = burst_engine(now, 12);
    let past = Past { now, muni: UTRECHT, theme: "asiel", weeks: quiet_weeks.clone(), years: vec![10, 14, 11] };
    assert!(e.evaluate(now, &past).is_empty(), "an ordinary New Year's Eve");
    let mut e = burst_engine(now, 12);
    let past = Past { now, muni: UTRECHT, theme: "asiel", weeks: quiet_weeks, years: vec![] };
    assert_eq!(kinds(&e.evaluate(now, &past)), [TransitionKind::Firing], "no seasonal data: back to the weeks");
}

#[test]
fn many_cells_are_corrected_together() {
    // 7 in one cell against [2, 3, 1, 2] has p = 0.0146: significant alone,
    // not after correction for 40 cells each tested in the same round.
    struct Many(DateTime<Utc>);
    impl BaselineSource for Many {
        fn counts(&self, _: DateTime<Utc>, until: DateTime<Utc>, _: u8) -> Option<Vec<CountCell>> {
            let back = (self.0 - until).num_days();
            (back % 7 == 0 && back < 300).then(|| {
                (0..40)
                    .map(|i| CountCell {
                        municipality: Some(format!("GM{:04}", 100 + i)),
                        theme: Some("asiel".into()),
                        level: 1,
                        messages: [2, 3, 1, 2][(back / 7 - 1) as usize],
                    })
                    .collect()
            })
        }
    }
    let now = t(11, 20, 21, 0);
    let mut e = Engine::new(rules(BURST));
    for i in 0..7 {
        e.observe(&msg(&format!("m{i}"), Some("GM0100"), "asiel", 1, 0.4, now - TimeDelta::minutes(i)), now);
    }
    assert!(e.evaluate(now, &Many(now)).is_empty());
    let single = Past { now, muni: "GM0100", theme: "asiel", weeks: vec![2, 3, 1, 2], years: vec![] };
    assert_eq!(e.evaluate(now, &single).len(), 1);
}

fn announce(id: &str, source: &str, at: DateTime<Utc>, event: DateTime<Utc>, place: Option<&str>) -> ScoredMessage {
    let message = message(id, "stikstof", 2, 0.7, at)
        .source(source)
        .municipality(UTRECHT)
        .event_time(event.fixed_offset())
        .signal("mobilisation", "trekkers naar", 0.5);
    match place {
        Some(p) => message.signal(&format!("place:{UTRECHT}"), p, 0.0),
        None => message,
    }
    .build()
}

#[test]
fn repeated_announcements_make_one_calendar_entry_and_one_alert() {
    let mut e = Engine::new(rules("[[rules]]\nname = \"aankondiging\"\nkind = \"announcement\"\n"));
    let event = t(12, 5, 13, 0);
    let t0 = t(11, 30, 9, 0);
    let a = e.observe(&announce("a1", "telegram1", t0, event, Some("Domplein")), t0);
    assert_eq!(kinds(&a), [TransitionKind::Firing]);
    let t1 = t0 + TimeDelta::hours(3);
    let b = e.observe(&announce("a2", "rtvutrecht", t1, event, None), t1);
    let t2 = t0 + TimeDelta::days(2);
    let c = e.observe(&announce("a3", "nieuws", t2, event + TimeDelta::minutes(30), Some("domplein")), t2);
    assert_eq!(kinds(&b), [TransitionKind::Updated]);
    assert_eq!(kinds(&c), [TransitionKind::Updated]);
    assert_eq!(a[0].alert.fingerprint, c[0].alert.fingerprint);
    assert_eq!(e.calendar().len(), 1);
    let alert = &c[0].alert;
    assert_eq!(alert.observed, 3);
    assert_eq!(alert.evidence.len(), 3);
    assert_eq!(alert.event_time, Some(event));
    assert_eq!(
        alert.event_place.as_deref(),
        Some("Domplein"),
        "shown with its capital; the calendar key stays lowercase"
    );
    assert_eq!(alert.event.as_deref(), Some("2026-12-05@domplein"));
    assert_eq!(alert.lead_time_secs, Some((event - t0).num_seconds()));
    assert!(alert.reasons.iter().any(|r| r.contains("faciliteren")), "{:?}", alert.reasons);
    assert!(alert.reasons.iter().any(|r| r.contains("aanlooptijd 5 dagen 4 uur")), "{:?}", alert.reasons);
    // After the event (and the rule's window of 6 hours) it resolves.
    assert!(e.evaluate(event + TimeDelta::hours(5), &NoBaseline).is_empty());
    assert_eq!(kinds(&e.evaluate(event + TimeDelta::hours(7), &NoBaseline)), [TransitionKind::Resolved]);
}

#[test]
fn no_author_or_pseudonym_ever_appears_in_alerts_or_state() {
    let mut e = Engine::new(rules(
        "[[rules]]\nname = \"k\"\nkind = \"critical\"\n[[rules]]\nname = \"d\"\nkind = \"threshold\"\ncount = 1\n\
         window = \"1h\"\n[[rules]]\nname = \"a\"\nkind = \"announcement\"\n",
    ));
    let now = t(11, 20, 12, 0);
    let mut m = msg("m1", Some(UTRECHT), "asiel", 3, 0.9, now);
    m.message.text = "tekst zonder handle".into();
    let mut trs = e.observe(&m, now);
    trs.extend(e.observe(&announce("m2", "s", now, now + TimeDelta::days(1), None), now));
    trs.extend(e.evaluate(now, &NoBaseline));
    assert_eq!(trs.len(), 3);
    for tr in &trs {
        assert!(tr.alert.missing_explanation().is_empty(), "{:?}", tr.alert);
    }
    let json = serde_json::to_string(&trs).unwrap();
    assert!(!json.contains(CANARY), "{json}");
    assert!(!json.contains("author"));
    let mut mech = Mechanics::new(e.rules());
    mech.apply(&trs, now);
    let state = serde_json::to_string(&AlertState::capture(&e, &mech)).unwrap();
    assert!(!state.contains(CANARY));
}

// ---- mechanics -------------------------------------------------------------------------------

fn step(e: &mut Engine, mech: &mut Mechanics, trs: Vec<Transition>, now: DateTime<Utc>) -> Vec<Notification> {
    let mut all = trs;
    all.extend(e.evaluate(now, &NoBaseline));
    mech.apply(&all, now);
    mech.tick(now)
}

fn summary(ns: &[Notification]) -> Vec<(Role, NotifyReason, usize)> {
    ns.iter().map(|n| (n.recipients_role, n.reason, n.alerts.len())).collect()
}

const CRIT: &str = "[[rules]]\nname = \"kritiek\"\nkind = \"critical\"\ngroup_wait = \"30s\"\ngroup_interval = \"5m\"\n\
                    repeat_interval = \"1h\"\nescalate_after = \"15m\"\nwindow = \"3h\"\n";

#[test]
fn grouping_waits_then_tells_changes_at_intervals_and_repeats() {
    let rs = rules(CRIT);
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    assert!(step(&mut e, &mut mech, trs, t0).iter().all(|n| n.recipients_role == Role::Supervisor));
    let t1 = t0 + TimeDelta::seconds(10);
    let trs = e.observe(&msg("c2", Some(UTRECHT), "asiel", 3, 0.95, t1), t1);
    assert!(step(&mut e, &mut mech, trs, t1).is_empty());
    // group_wait over: one officer notification (the mayor's waits for review).
    let t2 = t0 + TimeDelta::seconds(30);
    let ns = step(&mut e, &mut mech, vec![], t2);
    assert_eq!(summary(&ns), [(Role::Officer, NotifyReason::New, 1)]);
    assert_eq!(ns[0].alerts[0].observed, 2);
    assert_eq!(ns[0].municipality.as_ref().unwrap().as_str(), UTRECHT);
    // A change within group_interval waits for it.
    let t3 = t0 + TimeDelta::minutes(2);
    let trs = e.observe(&msg("c3", Some(UTRECHT), "asiel", 3, 0.9, t3), t3);
    assert!(step(&mut e, &mut mech, trs, t3).is_empty());
    let ns = step(&mut e, &mut mech, vec![], t2 + TimeDelta::minutes(5));
    assert_eq!(summary(&ns), [(Role::Officer, NotifyReason::Updated, 1)]);
    // Nothing changes: a repeat after repeat_interval (escalation aside).
    let t4 = t2 + TimeDelta::minutes(5) + TimeDelta::hours(1);
    let ns: Vec<_> =
        step(&mut e, &mut mech, vec![], t4).into_iter().filter(|n| n.recipients_role == Role::Officer).collect();
    assert_eq!(summary(&ns), [(Role::Officer, NotifyReason::Repeat, 1)]);
    // The same notification id never comes twice for the same group and time.
    assert_ne!(ns[0].id, String::new());
}

#[test]
fn silences_hold_back_matching_alerts_until_they_expire() {
    let rs = rules(CRIT);
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let bad = SilenceRequest {
        matchers: vec![Matcher { label: "owner".into(), value: "x".into(), negate: false }],
        reason: "r".into(),
        owner: "o".into(),
        ends_at: t0 + TimeDelta::hours(1),
    };
    assert_eq!(mech.add_silence(bad, t0), Err(MechanicsError::BadLabel("owner".into())));
    let req = SilenceRequest {
        matchers: vec![
            Matcher { label: "municipality".into(), value: UTRECHT.into(), negate: false },
            Matcher { label: "theme".into(), value: "asiel".into(), negate: false },
        ],
        reason: "bekende demonstratie, politie ter plaatse".into(),
        owner: "oov-utrecht".into(),
        ends_at: t0 + TimeDelta::minutes(20),
    };
    let id = mech.add_silence(req, t0).unwrap();
    assert_eq!(mech.silences().next().unwrap().owner, "oov-utrecht");
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    let mut trs2 = e.observe(&msg("c2", Some(AMERSFOORT), "asiel", 3, 0.9, t0), t0);
    trs2.extend(trs);
    step(&mut e, &mut mech, trs2, t0);
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(1));
    let officers: Vec<_> = ns.iter().filter(|n| n.recipients_role == Role::Officer).collect();
    assert_eq!(officers.len(), 1);
    assert_eq!(officers[0].municipality.as_ref().unwrap().as_str(), AMERSFOORT);
    // Not escalated while silenced either.
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(19));
    assert!(!ns.iter().any(|n| n.municipality.as_ref().is_some_and(|m| m.as_str() == UTRECHT)), "{ns:?}");
    // The silence expires: Utrecht is told.
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(20));
    assert!(ns.iter().any(|n| n.recipients_role == Role::Officer
        && n.reason == NotifyReason::New
        && n.municipality.as_ref().is_some_and(|m| m.as_str() == UTRECHT)));
    assert_eq!(mech.expire_silence(&id), Err(MechanicsError::UnknownSilence(id.clone())));
}

#[test]
fn a_regional_alert_inhibits_municipal_copies_unless_they_are_more_severe() {
    let rs = rules(
        "[[rules]]\nname = \"regio\"\nkind = \"threshold\"\ncount = 3\nwindow = \"1h\"\nper = \"region\"\n\
         severity = \"warning\"\ngroup_wait = \"0s\"\n\
         [[rules]]\nname = \"gemeente\"\nkind = \"threshold\"\ncount = 2\nwindow = \"1h\"\nseverity = \"warning\"\n\
         group_wait = \"0s\"\n\
         [[rules]]\nname = \"kritiek\"\nkind = \"critical\"\ngroup_wait = \"0s\"\n",
    );
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let mut trs = Vec::new();
    for (i, m) in [UTRECHT, UTRECHT, AMERSFOORT, AMERSFOORT].iter().enumerate() {
        trs.extend(e.observe(&msg(&format!("m{i}"), Some(m), "asiel", 2, 0.6, t0), t0));
    }
    let ns = step(&mut e, &mut mech, trs, t0);
    let officers: Vec<_> = ns.iter().filter(|n| n.recipients_role == Role::Officer).collect();
    assert_eq!(officers.len(), 1, "{:?}", summary(&ns));
    assert_eq!(officers[0].municipality, None);
    assert_eq!(officers[0].alerts[0].rule, "regio");
    // A critical message in Utrecht is more severe than the regional warning: Utrecht is told.
    let t1 = t0 + TimeDelta::minutes(1);
    let trs = e.observe(&msg("c", Some(UTRECHT), "asiel", 3, 0.9, t1), t1);
    let ns = step(&mut e, &mut mech, trs, t1);
    let utrecht: Vec<_> = ns
        .iter()
        .filter(|n| {
            n.recipients_role == Role::Officer && n.municipality.as_ref().is_some_and(|m| m.as_str() == UTRECHT)
        })
        .collect();
    assert_eq!(utrecht.len(), 1);
    assert_eq!(utrecht[0].alerts[0].severity, Severity::Critical);
}

#[test]
fn acknowledgement_stops_escalation_and_repeats() {
    let rs = rules(CRIT);
    let t0 = t(11, 20, 12, 0);
    // Not acknowledged: escalated to the supervisor after 15 minutes, once.
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    step(&mut e, &mut mech, trs, t0);
    step(&mut e, &mut mech, vec![], t0 + TimeDelta::seconds(30));
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(14));
    assert!(!ns.iter().any(|n| n.reason == NotifyReason::Escalated));
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(15));
    assert_eq!(summary(&ns), [(Role::Supervisor, NotifyReason::Escalated, 1)]);
    assert!(step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(16)).is_empty());

    // Acknowledged in time: no escalation and no repeat; the comment is on the alert.
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    let fp = trs[0].alert.fingerprint.clone();
    step(&mut e, &mut mech, trs, t0);
    step(&mut e, &mut mech, vec![], t0 + TimeDelta::seconds(30));
    assert_eq!(mech.acknowledge(&fp, " ", "x", t0), Err(MechanicsError::Empty("who")));
    let a = mech.acknowledge(&fp, "officer-jansen", "wijkagent is ingelicht", t0 + TimeDelta::minutes(5)).unwrap();
    assert_eq!(a.ack_comment.as_deref(), Some("wijkagent is ingelicht"));
    for minutes in [15, 40, 95] {
        let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(minutes));
        assert!(ns.iter().all(|n| n.reason != NotifyReason::Escalated && n.reason != NotifyReason::Repeat), "{ns:?}");
    }
    assert_eq!(mech.alert(&fp).unwrap().acknowledged_by.as_deref(), Some("officer-jansen"));
    // It still reports the resolution, with the ack on it.
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::hours(3) + TimeDelta::minutes(10));
    assert_eq!(summary(&ns), [(Role::Officer, NotifyReason::Resolved, 1)]);
    assert_eq!(ns[0].alerts[0].status, AlertStatus::Resolved);
    assert_eq!(ns[0].alerts[0].acknowledged_by.as_deref(), Some("officer-jansen"));
}

#[test]
fn mail_for_the_mayor_waits_for_a_supervisor_and_records_who_confirmed() {
    let rs = rules(CRIT);
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    let fp = trs[0].alert.fingerprint.clone();
    let ns = step(&mut e, &mut mech, trs, t0);
    assert_eq!(summary(&ns), [(Role::Supervisor, NotifyReason::ReviewRequested, 1)]);
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(1));
    assert_eq!(summary(&ns), [(Role::Officer, NotifyReason::New, 1)]);
    for minutes in [5, 10] {
        assert!(step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(minutes)).is_empty());
    }
    assert_eq!(mech.awaiting_review().count(), 1);
    assert!(mech.digest(t0 + TimeDelta::minutes(10)).is_empty(), "not in the digest before review either");
    let a = mech.confirm(&fp, "supervisor-de-vries", "bron nagelezen", t0 + TimeDelta::minutes(11)).unwrap();
    assert_eq!(a.reviewed_by.as_deref(), Some("supervisor-de-vries"));
    assert_eq!(
        mech.confirm(&fp, "iemand", "bron nagelezen", t0 + TimeDelta::minutes(11)),
        Err(MechanicsError::NotAwaitingReview(fp.clone()))
    );
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(11));
    assert_eq!(summary(&ns), [(Role::Mayor, NotifyReason::New, 1)]);
    assert_eq!(ns[0].alerts[0].reviewed_by.as_deref(), Some("supervisor-de-vries"));
    assert!(!ns[0].unreviewed);
    let rec = &mech.reviews()[0];
    assert_eq!((rec.by.as_str(), rec.at), ("supervisor-de-vries", t0 + TimeDelta::minutes(11)));
    assert_eq!(mech.digest(t0 + TimeDelta::hours(1)).len(), 1);
}

#[test]
fn a_dismissed_alert_never_reaches_the_mayor_and_review_false_is_marked_unreviewed() {
    let rs = rules(&format!(
        "{CRIT}[[rules]]\nname = \"zonder-review\"\nkind = \"announcement\"\nreview = false\ngroup_wait = \"0s\"\n"
    ));
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    let fp = trs.iter().find(|t| t.alert.rule == "kritiek").unwrap().alert.fingerprint.clone();
    step(&mut e, &mut mech, trs, t0);
    mech.dismiss(&fp, "supervisor-de-vries", "al bekend bij de politie", t0 + TimeDelta::minutes(2)).unwrap();
    for minutes in [3, 10, 60] {
        let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(minutes));
        assert!(ns.iter().all(|n| n.recipients_role != Role::Mayor), "{ns:?}");
    }
    let trs = e.observe(&announce("a1", "s", t0, t0 + TimeDelta::days(2), None), t0 + TimeDelta::hours(2));
    let ns = step(&mut e, &mut mech, trs, t0 + TimeDelta::hours(2));
    let mayor: Vec<_> = ns.iter().filter(|n| n.recipients_role == Role::Mayor).collect();
    assert_eq!(mayor.len(), 1);
    assert!(mayor[0].unreviewed);
}

#[test]
fn review_records_older_than_the_period_leave_the_state_and_newer_ones_stay() {
    let rs = rules(CRIT);
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    let first = trs[0].alert.fingerprint.clone();
    step(&mut e, &mut mech, trs, t0);
    mech.confirm(&first, "supervisor-de-vries", "bron nagelezen", t0 + TimeDelta::minutes(2)).unwrap();
    let t1 = t0 + TimeDelta::days(40);
    let trs = e.observe(&msg("c2", Some(AMERSFOORT), "asiel", 3, 0.9, t1), t1);
    let second = trs.iter().map(|tr| tr.alert.fingerprint.clone()).find(|fp| *fp != first).unwrap();
    step(&mut e, &mut mech, trs, t1);
    mech.dismiss(&second, "supervisor-jansen", "al bekend", t1 + TimeDelta::minutes(2)).unwrap();
    assert_eq!(mech.reviews().len(), 2);

    let cut_off = t0 + TimeDelta::days(30);
    assert_eq!(mech.reviews_before(cut_off), 1);
    assert_eq!(mech.expire_reviews(cut_off), 1);
    let left: Vec<&str> = mech.reviews().iter().map(|r| r.by.as_str()).collect();
    assert_eq!(left, ["supervisor-jansen"]);
    assert_eq!(mech.expire_reviews(cut_off), 0, "nothing more to remove");
}

#[test]
fn an_alert_that_does_not_explain_itself_is_not_sent() {
    // Level-0 messages are never evidence: a rule counting them has nothing to show, and stays quiet.
    let rs = rules(
        "[[rules]]\nname = \"ruis\"\nkind = \"threshold\"\ncount = 2\nwindow = \"1h\"\nmin_level = 0\ngroup_wait = \"0s\"\n",
    );
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    e.observe(&msg("a", Some(UTRECHT), "asiel", 0, 0.1, t0), t0);
    e.observe(&msg("b", Some(UTRECHT), "asiel", 0, 0.1, t0), t0);
    let trs = e.evaluate(t0, &NoBaseline);
    assert_eq!(trs[0].alert.missing_explanation(), ["evidence"]);
    mech.apply(&trs, t0);
    assert!(mech.tick(t0 + TimeDelta::minutes(1)).is_empty());
}

#[test]
fn an_alert_of_a_rule_removed_from_the_configuration_still_reports_its_resolution() {
    let rs = rules(CRIT);
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    step(&mut e, &mut mech, trs, t0);
    assert_eq!(
        summary(&step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(1))),
        [(Role::Officer, NotifyReason::New, 1)]
    );
    // Restart with no rules at all.
    let (mut e, mut mech) = AlertState::capture(&e, &mech).restore(vec![]).unwrap();
    let ns = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(10));
    assert_eq!(summary(&ns), [(Role::Officer, NotifyReason::Resolved, 1)]);
    assert_eq!(mech.alerts().count(), 0);
}

#[test]
fn a_joint_summary_goes_out_once_ahead_of_an_announced_action() {
    let rs =
        rules(&format!("{CRIT}[[rules]]\nname = \"aankondiging\"\nkind = \"announcement\"\ngroup_wait = \"0s\"\n"));
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 30, 9, 0);
    let event = t(12, 5, 13, 0);
    let trs = e.observe(&announce("a1", "s1", t0, event, Some("Domplein")), t0);
    let fp = trs[0].alert.fingerprint.clone();
    step(&mut e, &mut mech, trs, t0);
    let lead = TimeDelta::hours(24);
    assert!(mech.summaries_ahead(e.calendar(), event - TimeDelta::hours(25), lead).is_empty());
    // Not yet reviewed: only the officers get the summary.
    let ns = mech.summaries_ahead(e.calendar(), event - TimeDelta::hours(23), lead);
    assert_eq!(summary(&ns), [(Role::Officer, NotifyReason::Summary, 1)]);
    assert!(mech.summaries_ahead(e.calendar(), event - TimeDelta::hours(22), lead).is_empty(), "once");
    // Another action, confirmed, with a critical alert on the same theme: both roles, both alerts.
    let event2 = t(12, 12, 13, 0);
    let t1 = t(12, 10, 9, 0);
    let trs = e.observe(&announce("a2", "s1", t1, event2, None), t1);
    let fp2 = trs[0].alert.fingerprint.clone();
    let mut crit = msg("c1", Some(UTRECHT), "stikstof", 3, 0.9, t1);
    crit.assessment.explanation.truncate(1);
    let mut trs = trs;
    trs.extend(e.observe(&crit, t1));
    step(&mut e, &mut mech, trs, t1);
    mech.confirm(&fp2, "supervisor-de-vries", "bron nagelezen", t1).unwrap();
    let ns = mech.summaries_ahead(e.calendar(), event2 - TimeDelta::hours(12), lead);
    assert_eq!(summary(&ns), [(Role::Officer, NotifyReason::Summary, 2), (Role::Mayor, NotifyReason::Summary, 1)]);
    assert_ne!(fp, fp2);
}

#[test]
fn an_escalating_jaarwisseling_thread_warns_officers_first_then_critically() {
    let rs = rules(
        "[[rules]]\nname = \"jaarwisseling-drempel\"\nkind = \"threshold\"\ncount = 3\nwindow = \"2h\"\n\
         themes = [\"jaarwisseling\"]\ngroup_wait = \"10s\"\n\
         [[rules]]\nname = \"oproep-tot-geweld\"\nkind = \"critical\"\nmin_level = 3\ngroup_wait = \"10s\"\n",
    );
    let mut e = Engine::new(rs.clone());
    e.set_municipality_names([(MunicipalityCode::new(UTRECHT).unwrap(), "Utrecht".to_owned())]);
    let mut mech = Mechanics::new(&rs);
    let t0 = t(12, 30, 19, 0);
    let thread = [(1, 0.3), (2, 0.55), (2, 0.6), (2, 0.65), (3, 0.93)];
    let mut told = Vec::new();
    for (i, (level, score)) in thread.iter().enumerate() {
        let now = t0 + TimeDelta::minutes(10 * i as i64);
        let trs = e.observe(&msg(&format!("jw{i}"), Some(UTRECHT), "jaarwisseling", *level, *score, now), now);
        step(&mut e, &mut mech, trs, now);
        let later = now + TimeDelta::seconds(10);
        for n in step(&mut e, &mut mech, vec![], later) {
            if n.recipients_role == Role::Officer {
                told.push((i, n.alerts[0].rule.clone(), n.alerts[0].severity, n.reason));
            }
        }
    }
    assert_eq!(
        told,
        [
            (3, "jaarwisseling-drempel".to_owned(), Severity::Warning, NotifyReason::New),
            (4, "oproep-tot-geweld".to_owned(), Severity::Critical, NotifyReason::New),
        ]
    );
    let crit = mech.alerts().find(|a| a.rule == "oproep-tot-geweld").unwrap();
    assert!(crit.reasons.iter().any(|r| r.contains("in Utrecht (GM0344)")), "{:?}", crit.reasons);
    assert_eq!(crit.municipality_name.as_deref(), Some("Utrecht"));
}

#[test]
fn state_round_trips_and_makes_the_same_decisions() {
    let rs = rules(&format!(
        "{CRIT}[[rules]]\nname = \"d\"\nkind = \"threshold\"\ncount = 3\nwindow = \"30m\"\npending = \"5m\"\n\
         [[rules]]\nname = \"a\"\nkind = \"announcement\"\n"
    ));
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let mut trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    for i in 0..3 {
        trs.extend(e.observe(&msg(&format!("d{i}"), Some(AMERSFOORT), "asiel", 2, 0.6, t0), t0));
    }
    trs.extend(e.observe(&announce("a1", "s", t0, t0 + TimeDelta::days(1), Some("Neude")), t0));
    step(&mut e, &mut mech, trs, t0);
    let fp = mech.alerts().next().unwrap().fingerprint.clone();
    mech.acknowledge(&fp, "officer", "gezien", t0).unwrap();
    mech.add_silence(
        SilenceRequest {
            matchers: vec![Matcher { label: "rule".into(), value: "a".into(), negate: false }],
            reason: "test".into(),
            owner: "o".into(),
            ends_at: t0 + TimeDelta::hours(1),
        },
        t0,
    )
    .unwrap();
    let json = serde_json::to_string(&AlertState::capture(&e, &mech)).unwrap();
    let (mut e2, mut mech2) = serde_json::from_str::<AlertState>(&json).unwrap().restore(rs.clone()).unwrap();
    let value = |s: &AlertState| serde_json::from_str::<serde_json::Value>(&serde_json::to_string(s).unwrap()).unwrap();
    assert_eq!(value(&AlertState::capture(&e2, &mech2)), serde_json::from_str::<serde_json::Value>(&json).unwrap());
    let script = |e: &mut Engine, mech: &mut Mechanics| {
        let mut out = Vec::new();
        for minutes in [1, 6, 20, 31, 45, 90, 200] {
            let now = t0 + TimeDelta::minutes(minutes);
            let mut trs = e.observe(&msg(&format!("late{minutes}"), Some(AMERSFOORT), "asiel", 3, 0.9, now), now);
            trs.extend(e.evaluate(now, &NoBaseline));
            mech.apply(&trs, now);
            out.push(serde_json::to_string(&(trs, mech.tick(now))).unwrap());
        }
        out
    };
    let a = script(&mut e, &mut mech);
    let b = script(&mut e2, &mut mech2);
    assert_eq!(a, b);
    assert!(a.iter().any(|s| s.contains("\"firing\"")));
    // A state of another version is refused.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["schema"] = 99.into();
    let st: AlertState = serde_json::from_value(v).unwrap();
    assert!(st.restore(rs).is_err());
}

// ---- where an alert belongs, and when a message counts ------------------------------------------

const NOW_CRIT: &str = "[[rules]]\nname = \"kritiek\"\nkind = \"critical\"\ngroup_wait = \"0s\"\nwindow = \"1h\"\n\
                        escalate_after = \"30m\"\n";

/// A call to violence in Utrecht and one that names no place, at once: the
/// Utrecht officer hears of Utrecht's (and the supervisor is asked to
/// review it for the mayor); the unplaced one goes to the region's officers
/// and supervisors as "plaats onbekend", to no mayor, and holds nothing back.
#[test]
fn an_unplaced_call_goes_to_the_region_queue_and_never_holds_back_a_municipal_one() {
    let rs = rules(NOW_CRIT);
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let mut trs = e.observe(&msg("nergens", None, "asiel", 3, 0.9, t0), t0);
    trs.extend(e.observe(&msg("utrecht", Some(UTRECHT), "asiel", 3, 0.9, t0), t0));
    assert_eq!(kinds(&trs), [TransitionKind::Firing, TransitionKind::Firing]);
    let unplaced = &trs[0].alert;
    assert!(unplaced.unplaced && unplaced.municipality.is_none(), "{unplaced:?}");
    assert_ne!(unplaced.fingerprint, crate::fingerprint("kritiek", None, Some("asiel"), None), "not region-wide");
    assert!(unplaced.reasons.iter().any(|r| r.contains("zonder bekende plaats")), "{:?}", unplaced.reasons);
    let ns = step(&mut e, &mut mech, trs, t0);
    let told: Vec<(Role, NotifyReason, Option<String>, bool)> = ns
        .iter()
        .map(|n| {
            let place = n.municipality.as_ref().map(|m| m.as_str().to_owned());
            (n.recipients_role, n.reason, place, n.alerts.iter().all(|a| a.unplaced))
        })
        .collect();
    for expected in [
        (Role::Officer, NotifyReason::New, Some(UTRECHT.to_owned()), false),
        (Role::Supervisor, NotifyReason::ReviewRequested, Some(UTRECHT.to_owned()), false),
        (Role::Officer, NotifyReason::New, None, true),
        (Role::Supervisor, NotifyReason::New, None, true),
    ] {
        assert!(told.contains(&expected), "{expected:?} missing from {told:?}");
    }
    assert_eq!(told.len(), 4, "{told:?}");
    // The Utrecht officer's alert says when the supervisor hears of it; the unplaced one is not escalated.
    let utrecht = ns.iter().find(|n| n.municipality.is_some() && n.recipients_role == Role::Officer).unwrap();
    assert_eq!(utrecht.alerts[0].escalates_at, Some(t0 + TimeDelta::minutes(30)));
    let later = step(&mut e, &mut mech, vec![], t0 + TimeDelta::minutes(31));
    assert_eq!(summary(&later), [(Role::Supervisor, NotifyReason::Escalated, 1)]);
    assert!(later[0].alerts[0].municipality.is_some(), "only Utrecht's escalates: {later:?}");
    // No mayor ever hears of the unplaced one, not in the digest either.
    assert!(mech.digest(t0 + TimeDelta::minutes(40)).iter().all(|n| n.alerts.iter().all(|a| !a.unplaced)));
}

/// A region-wide alert comes from a message that names the region or at
/// least three of its municipalities; a message about one or two places is
/// about those places only.
#[test]
fn a_region_wide_alert_needs_a_message_about_the_region() {
    let region = [UTRECHT, AMERSFOORT, "GM0310", "GM0355"].map(|c| MunicipalityCode::new(c).unwrap());
    let places = |trs: &[Transition]| -> Vec<(String, bool)> {
        let mut v: Vec<(String, bool)> =
            trs.iter().map(|t| (t.alert.place_label().to_owned(), t.alert.unplaced)).collect();
        v.sort();
        v
    };
    let t0 = t(11, 20, 12, 0);
    let mut e = Engine::new(rules(NOW_CRIT));
    e.set_region(region.clone(), ["Midden-Nederland".to_owned()]);
    let mut two = msg("twee", Some(UTRECHT), "asiel", 3, 0.9, t0);
    two.assessment.municipalities.push(region[1].clone());
    assert_eq!(places(&e.observe(&two, t0)), [(AMERSFOORT.into(), false), (UTRECHT.into(), false)]);

    let mut e = Engine::new(rules(NOW_CRIT));
    e.set_region(region.clone(), ["Midden-Nederland".to_owned()]);
    let mut three = msg("drie", Some(UTRECHT), "asiel", 3, 0.9, t0);
    three.assessment.municipalities.extend([region[1].clone(), region[2].clone()]);
    let got = places(&e.observe(&three, t0));
    assert_eq!(got.len(), 4, "three municipal alerts and one for the region: {got:?}");
    assert!(got.contains(&(String::new(), false)), "{got:?}");

    let mut e = Engine::new(rules(NOW_CRIT));
    e.set_region(region.clone(), ["Midden-Nederland".to_owned()]);
    let mut named = msg("regio", None, "asiel", 3, 0.9, t0);
    named.message.text = "Heel Midden-Nederland moet branden, neem molotovs mee".into();
    assert_eq!(places(&e.observe(&named, t0)), [(String::new(), false)], "names the region: region-wide");
    let mut near_miss = msg("bijna", None, "asiel", 3, 0.9, t0);
    near_miss.message.text = "Iets in Midden-Nederlandse steden".into();
    assert_eq!(places(&e.observe(&near_miss, t0)), [(crate::UNPLACED_LABEL.into(), true)], "a whole word only");
}

/// A call to violence published 90 minutes before onrust fetched it fires
/// with a one-hour window: it is judged by its arrival. Its publication time
/// stays on the evidence, beside when it was received.
#[test]
fn a_late_call_to_violence_fires_by_its_arrival_and_keeps_its_publication_time() {
    let rs = rules(NOW_CRIT);
    let mut e = Engine::new(rs);
    let fetched = t(11, 20, 12, 0);
    let published = fetched - TimeDelta::minutes(90);
    let mut late = msg("laat", Some(UTRECHT), "asiel", 3, 0.9, published);
    late.message.fetched_at = fetched;
    let trs = e.observe(&late, fetched + TimeDelta::seconds(2));
    assert_eq!(kinds(&trs), [TransitionKind::Firing], "judged by arrival, not publication");
    let evidence = &trs[0].alert.evidence[0];
    assert_eq!((evidence.published_at, evidence.received_at), (published, Some(fetched)));
    // It holds for the window after its arrival, then de-escalates.
    assert!(e.evaluate(fetched + TimeDelta::minutes(59), &NoBaseline).is_empty());
    assert_eq!(kinds(&e.evaluate(fetched + TimeDelta::minutes(61), &NoBaseline)), [TransitionKind::Resolved]);
    // A message that arrived longer ago than the window (a replay of the past) does not fire now.
    let mut old = msg("oud", Some(UTRECHT), "asiel", 3, 0.9, published);
    old.message.fetched_at = fetched;
    assert!(e.observe(&old, fetched + TimeDelta::minutes(61)).is_empty());
}

/// Decisions are on record with who, when and why; a decision without a reason is refused.
#[test]
fn decisions_carry_who_when_and_why() {
    let rs = rules(CRIT);
    let mut e = Engine::new(rs.clone());
    let mut mech = Mechanics::new(&rs);
    let t0 = t(11, 20, 12, 0);
    let trs = e.observe(&msg("c1", Some(UTRECHT), "asiel", 3, 0.9, t0), t0);
    let fp = trs[0].alert.fingerprint.clone();
    step(&mut e, &mut mech, trs, t0);
    assert_eq!(mech.dismiss(&fp, "sup", " ", t0), Err(MechanicsError::Empty("reason")));
    assert_eq!(mech.acknowledge(&fp, "oov", "", t0), Err(MechanicsError::Empty("reason")));
    mech.acknowledge(&fp, "oov", "wijkagent ingelicht", t0 + TimeDelta::minutes(1)).unwrap();
    mech.dismiss(&fp, "sup", "oude oproep, al bekend", t0 + TimeDelta::minutes(2)).unwrap();
    // The engine updating the alert keeps what people decided.
    let later = t0 + TimeDelta::minutes(3);
    let trs = e.observe(&msg("c2", Some(UTRECHT), "asiel", 3, 0.9, later), later);
    step(&mut e, &mut mech, trs, later);
    let decisions: Vec<(crate::DecisionKind, String, String)> =
        mech.alert(&fp).unwrap().decisions.iter().map(|d| (d.kind, d.by.clone(), d.reason.clone())).collect();
    assert_eq!(
        decisions,
        [
            (crate::DecisionKind::Acknowledged, "oov".into(), "wijkagent ingelicht".into()),
            (crate::DecisionKind::Dismissed, "sup".into(), "oude oproep, al bekend".into()),
        ]
    );
    assert_eq!(mech.reviews()[0].reason, "oude oproep, al bekend");
}

/// A written place of the classifier's assessment.
fn place(name: &str, tier: onrust_model::PlaceTier, code: &str, municipality: &str) -> onrust_model::Place {
    onrust_model::Place {
        name: name.to_owned(),
        tier,
        municipality: MunicipalityCode::new(code).unwrap(),
        municipality_name: municipality.to_owned(),
        span: Some(onrust_model::Span { field: onrust_model::TextField::Text, start: 0, end: name.len() }),
    }
}

/// Each alert's evidence names the most specific place its message names in
/// that alert's municipality, with its label; the region's alert the most
/// specific anywhere; a message deleted at its source loses it.
#[test]
fn evidence_names_the_most_specific_place_in_its_alert_s_municipality() {
    use onrust_model::PlaceTier;
    let region = [UTRECHT, AMERSFOORT, "GM0310"].map(|c| MunicipalityCode::new(c).unwrap());
    let t0 = t(11, 20, 12, 0);
    let mut e = Engine::new(rules(
        "[[rules]]\nname = \"kritiek\"\nkind = \"critical\"\n\
         [[rules]]\nname = \"veel\"\nkind = \"threshold\"\ncount = 1\nwindow = \"1h\"\n",
    ));
    e.set_region(region.clone(), ["Midden-Nederland".to_owned()]);
    let mut m = msg("plek", Some(UTRECHT), "asiel", 3, 0.9, t0);
    m.assessment.municipalities = region.to_vec();
    m.assessment.places = vec![
        place("Utrecht", PlaceTier::Municipality, UTRECHT, "Utrecht"),
        place("Kanaleneiland", PlaceTier::District, UTRECHT, "Utrecht"),
        place("Marco Pololaan", PlaceTier::Street, UTRECHT, "Utrecht"),
        place("Amersfoort", PlaceTier::Municipality, AMERSFOORT, "Amersfoort"),
        place("Utrechters", PlaceTier::Demonym, UTRECHT, "Utrecht"),
        place("De Bilt", PlaceTier::Municipality, "GM0310", "De Bilt"),
    ];
    let mut trs = e.observe(&m, t0);
    trs.extend(e.evaluate(t0, &NoBaseline));
    let named = |rule: &str, code: Option<&str>| -> Vec<Option<String>> {
        trs.iter()
            .filter(|t| t.alert.rule == rule && t.alert.municipality.as_ref().map(MunicipalityCode::as_str) == code)
            .flat_map(|t| t.alert.evidence.iter().map(|e| e.place.clone()))
            .collect()
    };
    let street = Some("Marco Pololaan (straat, Utrecht)".to_owned());
    // The street is more specific than the wijk; Amersfoort's alert names only Amersfoort, which it says already.
    assert_eq!(named("kritiek", Some(UTRECHT)), std::slice::from_ref(&street));
    assert_eq!(named("kritiek", Some(AMERSFOORT)), [None]);
    assert_eq!(named("kritiek", None), std::slice::from_ref(&street), "the region's alert: the most specific anywhere");
    assert_eq!(named("veel", Some(UTRECHT)), std::slice::from_ref(&street), "counting alerts too");
    assert_eq!(named("veel", Some("GM0310")), [None]);
    let alert = trs.iter().find(|t| t.alert.rule == "kritiek" && t.alert.municipality == Some(region[0].clone()));
    assert_eq!(alert.map(|t| t.alert.places_named()), Some(vec!["Marco Pololaan (straat, Utrecht)"]));
    // Deleted at its source: the place goes with the words.
    assert!(e.forget_message("plek"));
    assert!(e.active_alerts().flat_map(|a| a.evidence.iter()).all(|ev| ev.place.is_none()));
}

/// Rule L5: an alert carries the mandate its rule ran under; a rule whose
/// mandate is not in force makes no alert, its alert resolves, and it runs
/// again once unpaused.
#[test]
fn a_paused_rule_makes_no_alert_and_an_alert_carries_its_mandate() {
    let mut e = Engine::new(rules("[[rules]]\nname = \"kritiek\"\nkind = \"critical\"\nmandate = \"jaarwisseling\"\n"));
    let now = t(12, 31, 22, 0);
    let trs = e.observe(&msg("eerste", Some(UTRECHT), "jaarwisseling", 3, 0.9, now), now);
    assert_eq!(kinds(&trs), [TransitionKind::Firing]);
    assert_eq!(trs[0].alert.mandate.as_deref(), Some("jaarwisseling"));
    e.set_paused_rules(["kritiek".to_owned()]);
    assert!(e.is_paused("kritiek"));
    let later = now + TimeDelta::minutes(1);
    assert!(e.observe(&msg("tweede", Some(AMERSFOORT), "jaarwisseling", 3, 0.9, later), later).is_empty());
    let trs = e.evaluate(later, &NoBaseline);
    assert_eq!(kinds(&trs), [TransitionKind::Resolved], "the paused rule's alert resolves");
    e.set_paused_rules(Vec::new());
    let trs = e.observe(&msg("derde", Some(AMERSFOORT), "jaarwisseling", 3, 0.9, later), later);
    assert_eq!(kinds(&trs), [TransitionKind::Firing]);
}
