use super::*;
use crate::config::{Config, ConfigErrors};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/test.toml");
    Config::parse(&path, text)
}

fn keys_and_messages(text: &str) -> Vec<(String, String)> {
    match parse(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(e) => e.0.into_iter().map(|p| (p.key, p.message)).collect(),
    }
}

fn dated(id: &str, start: &str, end: &str, extra: &str) -> String {
    format!(
        "[[mandates]]\nid = {id:?}\npurpose = \"Openbare orde jaarwisseling\"\nlegal_basis = \"Gemeentewet art. 172\"\n\
         decided_by = \"de burgemeester van Utrecht\"\ndpia = \"DPIA-2026-3\"\nstart = {start}\nend = {end}\n{extra}"
    )
}

fn mandate(period: MandatePeriod) -> Mandate {
    Mandate {
        id: "m".into(),
        purpose: "p".into(),
        legal_basis: "b".into(),
        decided_by: "d".into(),
        dpia: "x".into(),
        period,
        municipalities: Vec::new(),
        themes: Vec::new(),
        source_kinds: Vec::new(),
    }
}

#[test]
fn a_dated_mandate_is_in_force_from_start_to_end_inclusive() {
    let m = mandate(MandatePeriod::Dated { start: date("2026-12-01"), end: date("2026-12-31") });
    assert_eq!(m.standing(None, date("2026-11-30")), Standing::NotYet { starts: date("2026-12-01") });
    assert_eq!(m.standing(None, date("2026-12-01")), Standing::InForce { days_left: 30 });
    assert_eq!(m.standing(None, date("2026-12-31")), Standing::InForce { days_left: 0 });
    assert_eq!(m.standing(None, date("2027-01-01")), Standing::Ended { ended: date("2026-12-31") });
    let all = [m.clone(), mandate(MandatePeriod::Dated { start: date("2027-01-01"), end: date("2027-02-01") })];
    let ids = |today: &str| in_force(&all, None, date(today)).iter().map(|m| m.period).collect::<Vec<_>>();
    assert_eq!(ids("2026-12-15"), vec![all[0].period]);
    assert_eq!(ids("2027-01-01"), vec![all[1].period]);
    assert!(ids("2027-03-01").is_empty());
}

#[test]
fn the_day_is_counted_in_amsterdam() {
    // 23:30 UTC on 31 December is already 1 January in Amsterdam.
    let now = DateTime::parse_from_rfc3339("2026-12-31T23:30:00Z").expect("time").with_timezone(&Utc);
    assert_eq!(amsterdam_date(now), date("2027-01-01"));
}

#[test]
fn a_trial_runs_its_days_from_the_first_trial_day_of_the_data_directory() {
    let m = mandate(MandatePeriod::Trial { days: 30 });
    // Not recorded yet: it would start today.
    assert_eq!(m.standing(None, date("2026-12-07")), Standing::InForce { days_left: 29 });
    let started = Some(date("2026-12-07"));
    assert_eq!(m.standing(started, date("2027-01-05")), Standing::InForce { days_left: 0 });
    assert_eq!(m.standing(started, date("2027-01-06")), Standing::Ended { ended: date("2027-01-05") });
    // The record keeps the first day: a later start does not move it.
    let record = MandateRecord::default();
    let (_, first) = record.update(std::slice::from_ref(&m), date("2026-12-07"));
    assert_eq!(first.trial_started, started);
    let (_, later) = first.update(&[mandate(MandatePeriod::Trial { days: 30 })], date("2026-12-20"));
    assert_eq!(later.trial_started, started);
}

#[test]
fn warnings_begin_fourteen_days_before_the_end() {
    assert!(!warns(14));
    assert!(warns(13));
    assert!(warns(0));
    let m = mandate(MandatePeriod::Dated { start: date("2026-01-01"), end: date("2026-12-31") });
    let Standing::InForce { days_left } = m.standing(None, date("2026-12-18")) else { panic!("in force") };
    assert_eq!(days_left, 13);
    assert!(warns(days_left));
}

#[test]
fn changes_are_added_changed_and_ended_once() {
    let a = mandate(MandatePeriod::Dated { start: date("2026-01-01"), end: date("2026-12-31") });
    let b = Mandate { id: "b".into(), ..a.clone() };
    let (changes, record) = MandateRecord::default().update(&[a.clone(), b.clone()], date("2026-06-01"));
    let said = |c: &[MandateChange]| c.iter().map(|c| (c.id.clone(), c.change)).collect::<Vec<_>>();
    assert_eq!(said(&changes), vec![("m".into(), "added"), ("b".into(), "added")]);
    let (changes, record) = record.update(&[a.clone(), b.clone()], date("2026-06-02"));
    assert!(changes.is_empty(), "nothing changed: {changes:?}");
    let a2 = Mandate { purpose: "ander doel".into(), ..a.clone() };
    let (changes, record) = record.update(&[a2.clone(), b.clone()], date("2026-06-03"));
    assert_eq!(said(&changes), vec![("m".into(), "changed")]);
    // b leaves the configuration; a2 passes its end.
    let (changes, record) = record.update(std::slice::from_ref(&a2), date("2027-01-01"));
    assert_eq!(said(&changes), vec![("m".into(), "ended"), ("b".into(), "ended")]);
    let (changes, _) = record.update(&[a2], date("2027-01-02"));
    assert!(changes.is_empty(), "an end is recorded once: {changes:?}");
}

#[test]
fn a_mandate_entry_reports_every_problem_at_once_naming_the_entry() {
    let problems = keys_and_messages(
        "[[mandates]]\nid = \"Fout Id\"\npurpose = \"\"\nlegal_basis = \"Gemeentewet art. 172\"\n\
         decided_by = \"j.jansen@utrecht.example\"\ndpia = \"DPIA-1\"\nstart = 2026-12-31\nend = 2026-01-01\n\
         municipalities = [\"GM9999\"]\nthemes = [\"onbekend\"]\n\
         [[mandates]]\nid = \"proef\"\npurpose = \"p\"\nlegal_basis = \"-\"\ndecided_by = \"beheer\"\ndpia = \"-\"\n\
         trial_days = 90\nsource_kinds = [\"telegram\"]\n\
         [[mandates]]\nid = \"zonder-eind\"\npurpose = \"p\"\nlegal_basis = \"b\"\ndecided_by = \"d\"\ndpia = \"x\"\nstart = 2026-01-01\n\
         [[mandates]]\nid = \"x\"\npurpose = \"p\"\nlegal_basis = \"b\"\ndecided_by = \"d\"\ndpia = \"x\"\nstart = 2026-01-01\nend = 2026-02-01\nbogus = 1\n",
    );
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    for expected in [
        "mandates[0].id",
        "mandates[0].purpose",
        "mandates[0].decided_by",
        "mandates[0].end",
        "mandates[0].municipalities",
        "mandates[0].themes",
        "mandates[1].trial_days",
        "mandates[1].source_kinds",
        "mandates[2].end",
        "mandates[3]",
    ] {
        assert!(keys.contains(&expected), "{expected} missing in {problems:#?}");
    }
}

#[test]
fn check_config_refuses_a_source_or_rule_without_a_mandate_or_with_an_unknown_one() {
    let text = format!(
        "{}[[sources]]\nid = \"a\"\nkind = \"feed\"\nurl = \"https://example.org/a\"\n\
         [[sources]]\nid = \"b\"\nmandate = \"elders\"\nkind = \"feed\"\nurl = \"https://example.org/b\"\n\
         [[rules]]\nname = \"r\"\nkind = \"critical\"\n",
        dated("jaarwisseling", "2020-01-01", "2099-12-31", "")
    );
    let problems = keys_and_messages(&text);
    let find = |key: &str| problems.iter().find(|(k, _)| k == key).map(|(_, m)| m.clone()).unwrap_or_default();
    assert!(find("sources[0].mandate").contains("missing"), "{problems:#?}");
    assert!(find("sources[0].mandate").contains("jaarwisseling"), "names the configured mandates: {problems:#?}");
    assert!(find("sources[1].mandate").contains("\"elders\" is no [[mandates]] entry"), "{problems:#?}");
    assert!(find("rules[0].mandate").contains("missing"), "{problems:#?}");
}

#[test]
fn check_config_refuses_what_is_outside_the_mandate_scope_naming_the_mandate() {
    let text = format!(
        "[region]\nmunicipalities = [\"GM0344\", \"GM0307\"]\n{}\
         [[sources]]\nid = \"mastodon\"\nmandate = \"utrecht\"\nkind = \"mastodon\"\nurl = \"https://mastodon.nl\"\ntags = [\"utrecht\"]\n\
         [[sources]]\nid = \"amersfoort\"\nmandate = \"utrecht\"\nkind = \"feed\"\nurl = \"https://example.org/a\"\nmunicipalities = [\"GM0307\"]\n\
         [[sources]]\nid = \"regio\"\nmandate = \"utrecht\"\nkind = \"feed\"\nurl = \"https://example.org/r\"\n\
         [[sources]]\nid = \"goed\"\nmandate = \"utrecht\"\nkind = \"feed\"\nurl = \"https://example.org/g\"\nmunicipalities = [\"GM0344\"]\n\
         [[rules]]\nname = \"amersfoort\"\nmandate = \"utrecht\"\nkind = \"critical\"\nmunicipalities = [\"GM0307\"]\nthemes = [\"demonstratie\"]\n\
         [[rules]]\nname = \"klimaat\"\nmandate = \"utrecht\"\nkind = \"critical\"\nmunicipalities = [\"GM0344\"]\nthemes = [\"klimaat\"]\n\
         [[rules]]\nname = \"goed\"\nmandate = \"utrecht\"\nkind = \"critical\"\nmunicipalities = [\"GM0344\"]\nthemes = [\"demonstratie\"]\n",
        dated(
            "utrecht",
            "2020-01-01",
            "2099-12-31",
            "municipalities = [\"GM0344\"]\nthemes = [\"demonstratie\"]\nsource_kinds = [\"feed\"]\n"
        )
    );
    let problems = keys_and_messages(&text);
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "rules[0].municipalities",
            "rules[1].themes",
            "sources[0].kind",
            "sources[0].municipalities",
            "sources[1].municipalities",
            "sources[2].municipalities"
        ],
        "{problems:#?}"
    );
    assert!(problems.iter().all(|(_, m)| m.contains("\"utrecht\"")), "each names the mandate: {problems:#?}");
}

#[test]
fn check_config_refuses_sources_and_rules_of_an_ended_mandate_and_lets_a_future_one_wait() {
    let text = format!(
        "{}{}[[sources]]\nid = \"oud\"\nmandate = \"voorbij\"\nkind = \"feed\"\nurl = \"https://example.org/o\"\n\
         [[sources]]\nid = \"nieuw\"\nmandate = \"straks\"\nkind = \"feed\"\nurl = \"https://example.org/n\"\n\
         [[rules]]\nname = \"oud\"\nmandate = \"voorbij\"\nkind = \"critical\"\n",
        dated("voorbij", "2020-01-01", "2020-12-31", ""),
        dated("straks", "2098-01-01", "2099-12-31", "")
    );
    let problems = keys_and_messages(&text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    for (key, message) in &problems {
        assert!(["sources[0].mandate", "rules[0].mandate"].contains(&key.as_str()), "{problems:#?}");
        assert!(message.contains("mandate \"voorbij\" ended on 2020-12-31"), "{message}");
    }
}

#[test]
fn a_trial_covers_feeds_and_authorities_and_its_rules_reach_nobody() {
    let trial = "[[mandates]]\nid = \"trial\"\npurpose = \"proef\"\nlegal_basis = \"geen\"\ndecided_by = \"beheer\"\n\
                 dpia = \"geen\"\ntrial_days = 30\n";
    let ok = parse(&format!(
        "{trial}[[sources]]\nid = \"nos\"\nmandate = \"trial\"\nkind = \"feed\"\nurl = \"https://example.org/n\"\n\
         [[rules]]\nname = \"r\"\nmandate = \"trial\"\nkind = \"critical\"\n\
         [[recipients]]\nmunicipality = \"*\"\nrole = \"officer\"\nemail = \"oov@regio.example\"\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(ok.mandates[0].is_trial());
    assert_eq!(ok.mandates[0].source_kinds, TRIAL_SOURCE_KINDS.to_vec());
    let problems = keys_and_messages(&format!(
        "{trial}[[sources]]\nid = \"tg\"\nmandate = \"trial\"\nkind = \"telegram\"\nurl = \"https://t.me/s/kanaal\"\n\
         [[rules]]\nname = \"r\"\nmandate = \"trial\"\nkind = \"critical\"\n\
         [[recipients]]\nmunicipality = \"*\"\nrole = \"officer\"\nemail = \"oov@utrecht.nl\"\n"
    ));
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["rules[0].mandate", "sources[0].kind"], "{problems:#?}");
    assert!(problems[0].1.contains("trial mandate \"trial\""), "{problems:#?}");
}

#[test]
fn an_ended_trial_tells_the_admin_to_record_a_mandate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = MandateRecord { trial_started: Some(date("2020-01-01")), mandates: BTreeMap::new() };
    record.save(dir.path()).expect("save");
    let problems = keys_and_messages(&format!(
        "data_dir = {:?}\n[[mandates]]\nid = \"trial\"\npurpose = \"proef\"\nlegal_basis = \"geen\"\ndecided_by = \"beheer\"\n\
         dpia = \"geen\"\ntrial_days = 30\n\
         [[sources]]\nid = \"nos\"\nmandate = \"trial\"\nkind = \"feed\"\nurl = \"https://example.org/n\"\n",
        dir.path()
    ));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].0, "sources[0].mandate");
    assert!(problems[0].1.contains("trial mandate \"trial\" ended on 2020-01-30: record a mandate"), "{problems:#?}");
}

#[test]
fn a_search_is_covered_by_the_mandates_in_force_whose_scope_holds_it() {
    let utrecht = Mandate {
        id: "utrecht".into(),
        municipalities: vec!["GM0344".into()],
        source_kinds: vec![SourceKindConfig::Feed],
        ..mandate(MandatePeriod::Dated { start: date("2026-01-01"), end: date("2026-12-31") })
    };
    let all = Mandate {
        id: "regio".into(),
        ..mandate(MandatePeriod::Dated { start: date("2026-06-01"), end: date("2026-06-30") })
    };
    let both = [utrecht, all];
    let today = date("2026-06-15");
    let cover = |m: Option<&str>, k: Option<&str>| covering_search(&both, None, today, m, None, k);
    assert_eq!(cover(Some("GM0344"), None), ["utrecht", "regio"]);
    assert_eq!(cover(None, None), ["regio"], "a limited mandate covers only its own municipalities");
    assert_eq!(cover(Some("GM0344"), Some("mastodon")), ["regio"]);
    // After the regional mandate ended, nothing covers a regional search.
    assert!(covering_search(&both, None, date("2026-07-01"), None, None, None).is_empty());
    assert!(covering_search(&both, None, date("2027-01-01"), Some("GM0344"), None, None).is_empty());
}
