//! Every kind of mail, made the way the daemon makes it (the engine's own
//! reasons, the mechanics' notifications), read against the written style
//! list in docs/schrijfwijzer.md: numbers, plurals, capitals, dates and times
//! in Europe/Amsterdam, no English, and what each role needs.

// Test helpers outside `#[test]` functions panic on purpose, as the other tests do.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use onrust_alert::Failure;
use onrust_alert::render::email::{self, MailContext, MailItem, RenderedEmail};
use onrust_alert::{Channel, RecipientRole};
use onrust_alert::{Engine, Mechanics, Notification, NotifyReason, Role, RuleConfig, RuleKind, validate};
use onrust_model::{Level, MunicipalityCode, Place, PlaceTier, ScoredMessage, Signal, SourceKind, Span, TextField};
use onrust_testkit::scored_message;

const UTRECHT: &str = "GM0344";
const AMERSFOORT: &str = "GM0307";

fn scored(id: &str, place: Option<&str>, level: u8, text: &str, published: DateTime<Utc>) -> ScoredMessage {
    let message = scored_message(id)
        .source("forum")
        .id_derived()
        .source_kind(SourceKind::Telegram)
        .url(&format!("https://forum.example/{id}"))
        .text(text)
        .fetched_at(published)
        .published_at(published.fixed_offset())
        .lang_hint("nl")
        .level(Level::try_from(level).unwrap())
        .score(0.93)
        .theme("asiel")
        .signal("call_to_violence", "in de fik", 0.6);
    match place {
        Some(code) => message.municipality(code),
        None => message,
    }
    .build()
}

fn rule(name: &str, kind: RuleKind) -> RuleConfig {
    RuleConfig {
        name: name.into(),
        kind: Some(kind),
        group_wait: Some("0s".into()),
        escalate_after: (kind == RuleKind::Critical).then(|| "30m".into()),
        ..RuleConfig::default()
    }
}

/// The mail a notification becomes, as the alert stage and the SMTP notifier make it.
fn render(n: &Notification, contact: Option<&str>) -> RenderedEmail {
    let role = match n.recipients_role {
        Role::Officer => RecipientRole::Officer,
        Role::Supervisor => RecipientRole::Supervisor,
        Role::Mayor => RecipientRole::Mayor,
    };
    let ctx = MailContext {
        role,
        region_name: "Midden-Nederland".into(),
        contact: contact.map(str::to_owned),
        console_url: Some("https://onrust.regio.example".into()),
    };
    let items: Vec<MailItem<'_>> = n.alerts.iter().map(MailItem::of).collect();
    let rendered = match n.reason {
        NotifyReason::Digest => email::render_digest(n.at.date_naive(), &items, &ctx),
        NotifyReason::Summary => {
            let at = n.alerts.iter().filter_map(|a| a.event_time).min().unwrap();
            email::render_summary(at, &items, &ctx)
        }
        NotifyReason::ReviewRequested => email::render_review(&items, &ctx),
        NotifyReason::Escalated => email::render_escalation(&items, &ctx),
        _ => email::render_group(&items, &ctx),
    };
    rendered.unwrap_or_else(|e| panic!("{:?} for {:?}: {e}", n.reason, n.recipients_role))
}

/// Every kind of mail, by name, from one evening in the region (the first of each kind).
fn every_mail() -> BTreeMap<&'static str, RenderedEmail> {
    let mut mails = BTreeMap::new();
    for (kind, mail) in all_mails() {
        mails.entry(kind).or_insert(mail);
    }
    mails
}

/// Every mail of one evening in the region, in the order sent, with its kind.
fn all_mails() -> Vec<(&'static str, RenderedEmail)> {
    let rules =
        validate(&[rule("oproep-tot-geweld", RuleKind::Critical), rule("aangekondigde-actie", RuleKind::Announcement)])
            .unwrap();
    let mut engine = Engine::new(rules.clone());
    let mut mechanics = Mechanics::new(&rules);
    let names = [(UTRECHT, "Utrecht"), (AMERSFOORT, "Amersfoort")];
    engine.set_municipality_names(names.map(|(c, n)| (MunicipalityCode::new(c).unwrap(), n.to_owned())));
    engine.set_region(names.map(|(c, _)| MunicipalityCode::new(c).unwrap()), ["Midden-Nederland".to_owned()]);
    let t0 = Utc.with_ymd_and_hms(2026, 12, 30, 20, 0, 0).unwrap();
    // A call published 90 minutes before onrust fetched it, one without a place, an announced action.
    let mut late =
        scored("laat", Some(UTRECHT), 3, "Steek het azc op het Kanaleneiland in de fik, neem molotovs mee!", t0);
    late.message.published_at = Some((t0 - TimeDelta::minutes(90)).fixed_offset());
    // The classifier's places for it: the wijk only, no municipality written.
    late.assessment.places = vec![Place {
        name: "Kanaleneiland".into(),
        tier: PlaceTier::District,
        municipality: MunicipalityCode::new(UTRECHT).unwrap(),
        municipality_name: "Utrecht".into(),
        span: Some(Span { field: TextField::Text, start: 21, end: 34 }),
    }];
    let nowhere = scored("nergens", None, 3, "Pak ze allemaal, vanavond gaat het los", t0);
    let mut action = scored("actie", Some(AMERSFOORT), 2, "Morgen om 20:00 demonstratie bij het azc", t0);
    action.assessment.event_time = Some((t0 + TimeDelta::hours(24)).fixed_offset());
    action.assessment.explanation =
        vec![Signal { signal: format!("place:{AMERSFOORT}"), evidence: "amersfoort".into(), weight: 0.0 }];
    let mut transitions = Vec::new();
    for m in [&late, &nowhere, &action] {
        transitions.extend(engine.observe(m, t0));
    }
    mechanics.apply(&transitions, t0);
    let mut sent = mechanics.tick(t0);
    let fingerprint = |rule: &str, place: &str| {
        mechanics.alerts().find(|a| a.rule == rule && a.place_label() == place).unwrap().fingerprint.clone()
    };
    let critical = fingerprint("oproep-tot-geweld", UTRECHT);
    let announced = fingerprint("aangekondigde-actie", AMERSFOORT);
    let t1 = t0 + TimeDelta::minutes(5);
    mechanics.confirm(&critical, "chef-van-dienst", "bron en tekst nagelezen", t1).unwrap();
    mechanics.confirm(&announced, "chef-van-dienst", "aankondiging klopt", t1).unwrap();
    sent.extend(mechanics.tick(t1));
    let t2 = t0 + TimeDelta::minutes(31);
    sent.extend(mechanics.tick(t2));
    sent.extend(mechanics.summaries_ahead(engine.calendar(), t2, TimeDelta::hours(48)));
    sent.extend(mechanics.digest(t2));
    let t3 = t0 + TimeDelta::hours(2);
    let resolved = engine.evaluate(t3, &onrust_alert::NoBaseline);
    mechanics.apply(&resolved, t3);
    sent.extend(mechanics.tick(t3));

    let mut mails = Vec::new();
    for n in &sent {
        let unplaced = n.alerts.iter().all(|a| a.unplaced);
        let all_resolved = n.alerts.iter().all(|a| a.status == onrust_alert::AlertStatus::Resolved);
        let kind = match (n.reason, n.recipients_role) {
            (NotifyReason::ReviewRequested, _) => "review request",
            (NotifyReason::Escalated, _) => "escalation",
            (NotifyReason::Digest, _) => "digest",
            (NotifyReason::Summary, Role::Mayor) => "summary for the mayor",
            (NotifyReason::Summary, _) => "summary for the officer",
            (_, Role::Mayor) => "mayor",
            _ if all_resolved => "de-escalation",
            (_, Role::Supervisor) if unplaced => "unplaced for the supervisor",
            _ if unplaced => "unplaced for the officer",
            _ if n.alerts.iter().any(|a| a.kind == RuleKind::Announcement) => "announcement for the officer",
            _ => "officer",
        };
        mails.push((kind, render(n, (kind == "mayor").then_some("de chef van dienst OOV"))));
    }
    // The officer's mail did not arrive: the supervisor is told (the alert stage makes this notice).
    let officer = sent
        .iter()
        .find(|n| n.recipients_role == Role::Officer && n.alerts.iter().any(|a| a.fingerprint == critical))
        .unwrap();
    let failure = Failure {
        fingerprint: critical.clone(),
        sequence: 1,
        channel: Channel::Email,
        role: RecipientRole::Officer,
        recipient: "oov@utrecht.example".into(),
        code: Some(550),
        message: "5.1.1 mailbox unavailable".into(),
        at: t0 + TimeDelta::seconds(2),
    };
    let ctx = MailContext {
        role: RecipientRole::Supervisor,
        region_name: "Midden-Nederland".into(),
        contact: None,
        console_url: Some("https://onrust.regio.example".into()),
    };
    let items: Vec<MailItem<'_>> = officer.alerts.iter().map(MailItem::of).collect();
    mails.push(("delivery failure", email::render_undelivered(&failure, &items, &ctx).unwrap()));
    mails
}

/// The checks of docs/schrijfwijzer.md between its control markers: (kind, value).
fn style_list() -> Vec<(String, String)> {
    let doc = include_str!("../../../docs/schrijfwijzer.md");
    // The markers on lines of their own (the text above names them too).
    let start = doc.find("\n<!-- controle -->\n").expect("a control section");
    let end = doc.find("\n<!-- /controle -->\n").expect("its end");
    doc[start..end]
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| l.split_once(": "))
        .map(|(kind, value)| (kind.to_owned(), value.trim().trim_matches('`').to_owned()))
        .collect()
}

/// Words of a text, without links and addresses (names, not prose).
fn prose_words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace())
        .filter(|w| !w.contains("://") && !w.contains('@'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The text without what it quotes between “ and ”: the words of others (a
/// message's excerpt, a relay's answer), not onrust's own prose.
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '“' => quoted = true,
            '”' => quoted = false,
            c if !quoted => out.push(c),
            _ => {}
        }
    }
    out
}

/// What is wrong with one mail by the style list, empty when nothing is.
fn problems(mail: &RenderedEmail, list: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let all = format!("{}\n{}", mail.subject, mail.text);
    let words = prose_words(&unquoted(&all));
    for (kind, value) in list {
        match kind.as_str() {
            "verboden" if all.contains(value.as_str()) => out.push(format!("contains {value:?}")),
            "engels" if words.iter().any(|w| w.eq_ignore_ascii_case(value)) => {
                out.push(format!("English word {value:?}"))
            }
            "enkelvoud" if words.windows(2).any(|p| p[0] == "1" && p[1] == *value) => {
                out.push(format!("\"1 {value}\""))
            }
            "verboden" | "engels" | "enkelvoud" => {}
            other => out.push(format!("unknown check {other:?} in docs/schrijfwijzer.md")),
        }
    }
    for w in &words {
        let chars: Vec<char> = w.chars().collect();
        // A decimal point between digits (a number, not a link or an id).
        if chars.windows(3).any(|c| c[0].is_ascii_digit() && c[1] == '.' && c[2].is_ascii_digit()) {
            out.push(format!("decimal point in {w:?}"));
        }
        // An ISO date or time in prose.
        if w.len() >= 10
            && w.as_bytes()[4] == b'-'
            && w.as_bytes()[7] == b'-'
            && w[..4].bytes().all(|b| b.is_ascii_digit())
        {
            out.push(format!("ISO date {w:?}"));
        }
        // A place name in lower case.
        if ["utrecht", "amersfoort"].contains(&w.as_str()) {
            out.push(format!("place name without a capital: {w:?}"));
        }
    }
    for line in mail.text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.windows(2).any(|p| p[0].eq_ignore_ascii_case(p[1].trim_end_matches(':'))) {
            out.push(format!("a word twice: {line:?}"));
        }
    }
    out
}

#[test]
fn every_mail_kind_reads_by_the_style_list() {
    let mails = every_mail();
    let kinds: Vec<&str> = mails.keys().copied().collect();
    for expected in [
        "officer",
        "review request",
        "escalation",
        "mayor",
        "digest",
        "summary for the officer",
        "summary for the mayor",
        "de-escalation",
        "unplaced for the officer",
        "unplaced for the supervisor",
        "delivery failure",
    ] {
        assert!(kinds.contains(&expected), "no {expected} mail among {kinds:?}");
    }
    let list = style_list();
    assert!(list.len() >= 10, "the style list has its checks: {list:?}");
    let mut wrong = Vec::new();
    for (kind, mail) in &mails {
        for p in problems(mail, &list) {
            wrong.push(format!("{kind}: {p}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\n\n{}",
        wrong.join("\n"),
        mails.values().map(|m| m.text.as_str()).collect::<Vec<_>>().join("\n=====\n")
    );
}

/// The checks themselves catch what they are for.
#[test]
fn the_style_checks_catch_the_defects_they_name() {
    let list = style_list();
    let mail = |text: &str| RenderedEmail { subject: "[onrust] test".into(), text: text.into(), html: String::new() };
    for bad in [
        "Kritiek: kritiek bericht",
        "1 bericht in 0 seconden",
        "score 1,00 (grens 0,00)",
        "1 nieuwe voorbeeld",
        "1 berichten",
        "gemeente amersfoort",
        "score 0.93",
        "op 2026-12-31 om 21:00 UTC",
        "ernst critical",
    ] {
        assert!(!problems(&mail(bad), &list).is_empty(), "{bad:?} passes the style list");
    }
    assert!(problems(&mail("1 bericht, 2 berichten in gemeente Amersfoort, score 0,93"), &list).is_empty());
    // What a mail quotes is someone else's wording; onrust's own is checked.
    assert!(problems(&mail("Antwoord: “550 5.1.1 mailbox unavailable”"), &list).is_empty());
    assert!(!problems(&mail("Antwoord: 5.1.1 “mailbox unavailable”"), &list).is_empty());
}

/// Every mail about the call on the Kanaleneiland names the wijk as the
/// classifier labels it; the unplaced one names no place.
#[test]
fn every_mail_names_the_place_below_the_municipality_with_its_label() {
    const LABEL: &str = "Kanaleneiland (wijk, Utrecht)";
    let all = all_mails();
    // The mails about Utrecht's alert, of each kind (the digest covers the whole evening).
    let about_utrecht = |kind: &str| -> Vec<&RenderedEmail> {
        all.iter().filter(|(k, m)| *k == kind && m.subject.contains("Utrecht")).map(|(_, m)| m).collect()
    };
    for kind in ["officer", "review request", "escalation", "mayor", "digest", "de-escalation", "delivery failure"] {
        let mails = about_utrecht(kind);
        assert!(
            !mails.is_empty(),
            "no {kind} mail about Utrecht among {:?}",
            all.iter().map(|(k, m)| (k, &m.subject)).collect::<Vec<_>>()
        );
        for mail in mails {
            assert!(mail.text.contains(LABEL), "the {kind} mail does not name {LABEL}:\n{}", mail.text);
            assert!(mail.html.contains(LABEL), "the {kind} mail's HTML does not name {LABEL}");
        }
    }
    let first = |kind: &str| about_utrecht(kind).first().map(|m| m.text.clone()).unwrap_or_default();
    assert!(first("officer").contains(&format!("Plek: {LABEL}")), "{}", first("officer"));
    assert!(first("mayor").contains(&format!("Plaats en tijd: {LABEL}, ")), "{}", first("mayor"));
    assert!(first("digest").contains(&format!("(GM0344), plek {LABEL}; ")), "{}", first("digest"));
    for (kind, mail) in all.iter().filter(|(k, _)| k.starts_with("unplaced")) {
        assert!(!mail.text.contains("Plek:") && !mail.text.contains("(wijk"), "{kind}:\n{}", mail.text);
    }
}

/// What each role needs, and what the mayor must not get.
#[test]
fn each_role_gets_what_it_needs() {
    let mails = every_mail();
    let officer = &mails["officer"];
    let short = officer.text.lines().find_map(|l| l.strip_prefix("Kenmerk: ")).unwrap();
    let short = &short[..8];
    assert!(officer.text.contains(&format!("onrust alerts ack {short} --reason")), "{}", officer.text);
    assert!(
        officer.text.contains("dan krijgt de supervisor het om woensdag 30 december 2026 om 21:30"),
        "{}",
        officer.text
    );
    assert!(officer.text.contains("(gepubliceerd 90 min vóór ontvangst)"), "{}", officer.text);
    assert!(!officer.text.contains("recht dat de gemeente faciliteert"), "no demonstration right under a molotov call");

    let review = &mails["review request"];
    assert!(review.subject.starts_with("[onrust] Beoordeling gevraagd"), "{}", review.subject);
    assert!(review.text.contains("de burgemeester van Utrecht"), "who waits: {}", review.text);
    assert!(review.text.contains("onrust alerts confirm ") && review.text.contains("onrust alerts dismiss "));
    assert!(review.text.contains("--reason"), "{}", review.text);
    assert_ne!(review.text, officer.text, "a request, not the officer's mail");

    let mayor = &mails["mayor"];
    for internal in ["versie", "score", "Signalen in de voorbeelden", "0,60", "call_to_violence", "onrust alerts"] {
        assert!(!mayor.text.contains(internal), "the mayor's mail shows {internal:?}:\n{}", mayor.text);
    }
    for needed in ["Situatie:", "Plaats en tijd:", "Wat is gedaan:", "Contact: de chef van dienst OOV"] {
        assert!(mayor.text.contains(needed), "the mayor's mail lacks {needed:?}:\n{}", mayor.text);
    }
    assert!(mayor.text.contains("bevestigd voor de burgemeester door chef-van-dienst"), "{}", mayor.text);

    let unplaced = &mails["unplaced for the officer"];
    assert!(unplaced.subject.contains("plaats onbekend"), "{}", unplaced.subject);
    assert!(unplaced.text.contains("noemt geen gemeente"), "{}", unplaced.text);

    let summary = &mails["summary for the officer"];
    assert!(summary.text.contains("Plek: Amersfoort"), "a place with its capital:\n{}", summary.text);
    assert!(summary.text.contains("recht dat de gemeente faciliteert"), "a peaceful action: {}", summary.text);
    assert!(mails["de-escalation"].text.starts_with("Gedeëscaleerd: "), "{}", mails["de-escalation"].text);

    let failed = &mails["delivery failure"];
    assert!(failed.subject.starts_with("[onrust] Niet bezorgd: oproep-tot-geweld — Utrecht"), "{}", failed.subject);
    for needed in [
        "Aan: de ambtenaar van dienst, oov@utrecht.example",
        "Via: e-mail",
        "Antwoord: “550 5.1.1 mailbox unavailable”",
        "Licht de ambtenaar van dienst op een andere manier in",
        "onrust alerts resend ",
        "--reason",
    ] {
        assert!(failed.text.contains(needed), "the failure notice lacks {needed:?}:\n{}", failed.text);
    }
    assert!(!failed.subject.contains("5.1.1"), "the relay's answer stays out of the subject (S6)");
}
