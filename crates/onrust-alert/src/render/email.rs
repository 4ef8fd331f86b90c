//! The alert email: Dutch plain text with an escaped HTML twin.
//!
//! A mayor or an officer must be able to act on the mail alone, so it states
//! what, where, when, against which baseline, why, with a few excerpts, how
//! confident onrust is, whether a person reviewed it (L10) and what changed
//! since the previous mail about the same signal. An alert that lacks a field
//! the mail needs is refused, not sent half-explained (L9).
//!
//! Safety (S6): the subject is a fixed template filled only with system
//! fields (severity, rule name, municipality), never with message text;
//! every header value is checked for CR, LF and NUL before the message is
//! built; message text only ever lands in the body, flattened to one line per
//! field, and the HTML twin escapes everything it inserts. Links are shown
//! only for http and https. No author or pseudonym exists in the input, so
//! none can reach the output.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Europe::Amsterdam;

use crate::alert::{Alert, AlertStatus, DecisionKind, Evidence, RuleKind, Severity};
use crate::recipient::{Channel, RecipientRole};
use crate::undelivered::Failure;

/// At most this many excerpts are shown per alert.
pub const MAX_EVIDENCE: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("alert {fingerprint} is missing {field}; it is not sent unexplained")]
    Incomplete { fingerprint: String, field: &'static str },
    #[error("header {header} contains a CR, LF or NUL character; refused")]
    HeaderInjection { header: &'static str },
    /// An address that is no plain mailbox: found where the mail is built
    /// for delivery and where config checks its addresses (`onrust-notify::mail`).
    #[error("invalid {header} address: {source}")]
    Address { header: &'static str, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("nothing to send: no alerts")]
    Empty,
    /// The MIME message could not be built (`onrust-notify::mail`).
    #[error("cannot build message: {0}")]
    Build(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl EmailError {
    /// The `header`'s address is no plain mailbox, as `source` (the mail
    /// library's parser, which this crate does not depend on) says.
    pub fn address(header: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Address { header, source: Box::new(source) }
    }
}

/// Who the mail is for and how the region is called.
#[derive(Debug, Clone)]
pub struct MailContext {
    pub role: RecipientRole,
    /// The region's name for alerts without a municipality, e.g. "Midden-Nederland".
    pub region_name: String,
    /// Whom a mayor calls about an alert (`[alerts] contact`), e.g.
    /// "de chef van dienst OOV, 030 123 45 67"; without it the mail names the
    /// supervisor who confirmed the alert.
    pub contact: Option<String>,
    /// Where officers and supervisors open the console (`[http] public_url`,
    /// without a trailing slash): their mail links to the alert's page there.
    /// Without it the mail has no link, since the daemon's own listen address
    /// is rarely one a mail reader can reach.
    pub console_url: Option<String>,
}

impl MailContext {
    /// The alert's page in the console, when its address is known.
    fn console_link(&self, a: &Alert) -> Option<String> {
        let base = self.console_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/meldingen/{}", a.fingerprint))
    }
}

/// One alert to render with the previous notification of the same
/// fingerprint (for "wat is er veranderd").
#[derive(Debug, Clone, Copy)]
pub struct MailItem<'a> {
    pub alert: &'a Alert,
    pub previous: Option<&'a Alert>,
    /// How the mail names the alert: unique among the current alerts
    /// ([`crate::unique_short_id`]), at least 8 characters.
    pub short_id: &'a str,
}

impl<'a> MailItem<'a> {
    /// The alert named by its first 8 characters, without a previous mail.
    pub fn of(alert: &'a Alert) -> Self {
        Self { alert, previous: None, short_id: alert.short_id() }
    }
}

/// A rendered mail: subject, plain text and the HTML twin.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders one alert: for an officer or a supervisor in full with what to
/// do next; for a mayor as a short briefing without internals.
pub fn render_alert(item: MailItem<'_>, ctx: &MailContext) -> Result<RenderedEmail, EmailError> {
    validate(item.alert)?;
    let a = item.alert;
    let subject = format!(
        "[onrust] {}{}: {} — {}",
        subject_marker(std::slice::from_ref(&item), ctx),
        severity_title(a.severity),
        a.rule,
        place_short(a, ctx)
    );
    let mut doc = Doc::default();
    doc.heading(&headline(a, ctx));
    match ctx.role {
        RecipientRole::Mayor => briefing_section(&mut doc, item, ctx),
        RecipientRole::Officer | RecipientRole::Supervisor => {
            todo_section(&mut doc, std::slice::from_ref(&item), ctx);
            doc.subheading("Het signaal");
            alert_section(&mut doc, item, ctx);
        }
    }
    footer(&mut doc, std::slice::from_ref(&item));
    finish(subject, doc)
}

/// Renders several alerts that were grouped into one mail (same group key).
pub fn render_group(items: &[MailItem<'_>], ctx: &MailContext) -> Result<RenderedEmail, EmailError> {
    let first = items.first().ok_or(EmailError::Empty)?;
    if items.len() == 1 {
        return render_alert(*first, ctx);
    }
    for it in items {
        validate(it.alert)?;
    }
    let top = items.iter().map(|i| i.alert.severity).max().unwrap_or(Severity::Info);
    let place = common_place(items, ctx);
    let subject = format!(
        "[onrust] {}{}: {} — {}",
        subject_marker(items, ctx),
        severity_title(top),
        count(items.len() as u64, "signaal", "signalen"),
        place
    );
    let mut doc = Doc::default();
    doc.heading(&format!("{} voor {}", capitalised(&count(items.len() as u64, "signaal", "signalen")), place));
    if ctx.role != RecipientRole::Mayor {
        todo_section(&mut doc, items, ctx);
    }
    numbered_sections(&mut doc, items, ctx);
    footer(&mut doc, items);
    finish(subject, doc)
}

/// Renders the request to a supervisor to confirm or dismiss alerts for the
/// mayor (rule L10): who waits, and how to decide, with a reason.
pub fn render_review(items: &[MailItem<'_>], ctx: &MailContext) -> Result<RenderedEmail, EmailError> {
    let first = items.first().ok_or(EmailError::Empty)?;
    for it in items {
        validate(it.alert)?;
    }
    let place = common_place(items, ctx);
    let subject = format!("[onrust] Beoordeling gevraagd: {} — {place}", first.alert.rule);
    let mut doc = Doc::default();
    let mayor = mayor_of(first.alert, ctx);
    doc.heading(&format!("Beoordeling gevraagd: mag dit signaal naar {mayor}?"));
    doc.para(&format!(
        "{} krijgt dit signaal pas als een supervisor het bevestigt. Tot dan wacht {mayor}; \
         de ambtenaar van dienst heeft het al gekregen.",
        capitalised(&mayor)
    ));
    doc.subheading("Wat te doen");
    for it in items {
        let id = it.short_id;
        doc.bullet(&format!("Naar de burgemeester: onrust alerts confirm {id} --reason \"waarom\""));
        doc.bullet(&format!("Niet naar de burgemeester: onrust alerts dismiss {id} --reason \"waarom\""));
        if let Some(link) = ctx.console_link(it.alert) {
            doc.bullet(&format!("Of beslis in de console: {link}"));
        }
    }
    doc.bullet("Een reden is verplicht. Wie wat besloot, wanneer en waarom, komt bij het signaal en in het auditlog.");
    numbered_or_single(&mut doc, items, ctx);
    footer(&mut doc, items);
    finish(subject, doc)
}

/// Renders the escalation to a supervisor: no officer acknowledged the alert in time.
pub fn render_escalation(items: &[MailItem<'_>], ctx: &MailContext) -> Result<RenderedEmail, EmailError> {
    let first = items.first().ok_or(EmailError::Empty)?;
    for it in items {
        validate(it.alert)?;
    }
    let place = common_place(items, ctx);
    let subject =
        format!("[onrust] Niet opgepakt, {}: {} — {place}", severity_word(first.alert.severity), first.alert.rule);
    let mut doc = Doc::default();
    doc.heading(&format!("Niet opgepakt — {}", headline(first.alert, ctx)));
    doc.para(&format!(
        "Geen ambtenaar heeft dit signaal als gezien gemeld sinds het op {} begon. Jij krijgt het nu als supervisor.",
        dutch_datetime(first.alert.starts_at)
    ));
    todo_section(&mut doc, items, ctx);
    numbered_or_single(&mut doc, items, ctx);
    footer(&mut doc, items);
    finish(subject, doc)
}

/// Renders the notice to a supervisor that a notification did not arrive
/// (`failure`): to whom, over what, the relay's or receiver's answer, what to
/// do (tell the recipient another way; fix it and send it again), and the
/// alerts it carried. The answer is text from outside: body only, one line.
pub fn render_undelivered(
    failure: &Failure,
    items: &[MailItem<'_>],
    ctx: &MailContext,
) -> Result<RenderedEmail, EmailError> {
    for it in items {
        validate(it.alert)?;
    }
    let what = match items.first() {
        Some(first) => format!("{} — {}", first.alert.rule, common_place(items, ctx)),
        None => format!("melding — regio {}", ctx.region_name),
    };
    let subject = format!("[onrust] Niet bezorgd: {what}");
    let mut doc = Doc::default();
    let whom = role_dutch(failure.role);
    doc.heading(&format!("Niet bezorgd: een melding voor {whom}"));
    doc.para(&format!(
        "Een melding van onrust is niet aangekomen: {whom} heeft haar niet gekregen. Je krijgt dit bericht \
         als supervisor."
    ));
    doc.field("Aan", &format!("{whom}, {}", one_line(&failure.recipient)));
    doc.field("Via", channel_dutch(failure.channel));
    doc.field("Wanneer", &dutch_datetime(failure.at));
    let answer = one_line(&failure.message);
    let answer = match failure.code {
        Some(code) if !answer.starts_with(&code.to_string()) => format!("{code} {answer}"),
        _ => answer,
    };
    // The answer is the relay's or receiver's own words: quoted, as an excerpt is.
    let answer = if answer.trim().is_empty() { "geen antwoord".to_owned() } else { format!("“{}”", answer.trim()) };
    doc.field("Antwoord", &answer);
    // One id names what to send again: the alert when the notification carried
    // one alert, else the notification itself.
    let id = match items {
        [one] if one.alert.fingerprint == failure.fingerprint => one.short_id,
        _ => failure.fingerprint.as_str(),
    };
    doc.subheading("Wat te doen");
    doc.bullet(&format!("Licht {whom} op een andere manier in, bijvoorbeeld per telefoon."));
    doc.bullet(&format!(
        "Herstel het adres, de mailserver of het ontvangende systeem en verstuur de melding opnieuw: \
         onrust alerts resend {id} --reason \"wat je hebt hersteld\""
    ));
    numbered_or_single(&mut doc, items, ctx);
    footer(&mut doc, items);
    finish(subject, doc)
}

/// "de ambtenaar van dienst", "de supervisor", "de burgemeester".
fn role_dutch(role: RecipientRole) -> &'static str {
    match role {
        RecipientRole::Officer => "de ambtenaar van dienst",
        RecipientRole::Supervisor => "de supervisor",
        RecipientRole::Mayor => "de burgemeester",
    }
}

fn channel_dutch(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "e-mail",
        Channel::Webhook => "een koppeling met een ander systeem (webhook)",
    }
}

/// Renders the joint summary ahead of an action announced for `event_time`:
/// officers and the mayor get the same picture of it (the mayor as a briefing).
pub fn render_summary(
    event_time: DateTime<Utc>,
    items: &[MailItem<'_>],
    ctx: &MailContext,
) -> Result<RenderedEmail, EmailError> {
    if items.is_empty() {
        return Err(EmailError::Empty);
    }
    for it in items {
        validate(it.alert)?;
    }
    let place = common_place(items, ctx);
    let subject = format!(
        "[onrust] {}vooraf: aangekondigde actie {} — {}",
        subject_marker(items, ctx),
        dutch_datetime(event_time),
        place
    );
    let mut doc = Doc::default();
    doc.heading(&format!("Vooraf: aangekondigde actie {} — {}", dutch_datetime(event_time), place));
    doc.para(&format!(
        "Gezamenlijk beeld voor ambtenaren en burgemeester: {} over deze actie.",
        count(items.len() as u64, "signaal", "signalen")
    ));
    numbered_sections(&mut doc, items, ctx);
    footer(&mut doc, items);
    finish(subject, doc)
}

/// One alert without numbering, several numbered.
fn numbered_or_single(doc: &mut Doc, items: &[MailItem<'_>], ctx: &MailContext) {
    match items {
        [one] => {
            doc.subheading("Het signaal");
            section_for_role(doc, *one, ctx);
        }
        _ => numbered_sections(doc, items, ctx),
    }
}

fn section_for_role(doc: &mut Doc, item: MailItem<'_>, ctx: &MailContext) {
    match ctx.role {
        RecipientRole::Mayor => briefing_section(doc, item, ctx),
        RecipientRole::Officer | RecipientRole::Supervisor => alert_section(doc, item, ctx),
    }
}

/// Every alert in full, numbered ("Signaal 2 van 3"), each after a rule.
fn numbered_sections(doc: &mut Doc, items: &[MailItem<'_>], ctx: &MailContext) {
    for (n, it) in items.iter().enumerate() {
        doc.rule();
        doc.subheading(&format!("Signaal {} van {} — {}", n + 1, items.len(), headline(it.alert, ctx)));
        section_for_role(doc, *it, ctx);
    }
}

/// Renders the daily digest (for mayors): every alert of `date` in short.
pub fn render_digest(date: NaiveDate, items: &[MailItem<'_>], ctx: &MailContext) -> Result<RenderedEmail, EmailError> {
    for it in items {
        validate(it.alert)?;
    }
    let place = if items.is_empty() { format!("regio {}", ctx.region_name) } else { common_place(items, ctx) };
    let subject = format!("[onrust] dagoverzicht {}: {}", dutch_date(date), place);
    let mut doc = Doc::default();
    doc.heading(&format!("Dagoverzicht {} — {}", dutch_date(date), place));
    if items.is_empty() {
        doc.para("Er waren vandaag geen signalen.");
    } else {
        doc.para(&format!("{} vandaag:", capitalised(&count(items.len() as u64, "signaal", "signalen"))));
        for it in items {
            let a = it.alert;
            // The places below the municipality ("Kanaleneiland (wijk, Utrecht)"); its own name is said already.
            let places: Vec<&str> =
                a.places_named().into_iter().filter(|p| Some(*p) != a.municipality_name.as_deref()).collect();
            let places =
                if places.is_empty() { String::new() } else { format!(", plek {}", one_line(&places.join("; "))) };
            let mut line = format!(
                "{}: {} in {}{places}; {}",
                severity_title(a.severity),
                what(a),
                place_long(a, ctx),
                observed_text(a)
            );
            if let Some(t) = a.event_time {
                line.push_str(&format!("; aangekondigd voor {}", dutch_datetime(t)));
            }
            line.push_str(&format!("; {}", review_line(a, ctx)));
            doc.bullet(&line);
        }
    }
    footer(&mut doc, items);
    finish(subject, doc)
}

/// Refuses a header value with CR, LF or NUL: the one way a value could add
/// a header of its own.
pub fn check_header(header: &'static str, value: &str) -> Result<(), EmailError> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(EmailError::HeaderInjection { header });
    }
    Ok(())
}

// ---- validation (L9) ----

/// Checks that an alert carries everything its explanation needs (L9): an
/// alert that fails this is not sent on any channel.
pub fn validate(a: &Alert) -> Result<(), EmailError> {
    let missing = |field| Err(EmailError::Incomplete { fingerprint: a.fingerprint.clone(), field });
    if a.fingerprint.trim().is_empty() {
        return missing("fingerprint");
    }
    // What every alert needs to explain itself (the engine's own check, L9) ...
    if let Some(field) = a.missing_explanation().first() {
        return missing(field);
    }
    // ... and what a mail needs beyond it: no blank reasons, evidence even
    // in a resolution, a name for the place.
    if a.rule.trim().is_empty() {
        return missing("rule");
    }
    if a.rule_version.trim().is_empty() {
        return missing("rule_version");
    }
    if a.reasons.iter().all(|r| r.trim().is_empty()) {
        return missing("reasons");
    }
    if a.evidence.is_empty() {
        return missing("evidence");
    }
    if a.evidence.iter().any(|e| e.excerpt.trim().is_empty() || e.source.trim().is_empty()) {
        return missing("evidence excerpt or source");
    }
    if !(0.0..=1.0).contains(&a.confidence) {
        return missing("confidence in 0..1");
    }
    if a.municipality.is_some() && a.municipality_name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return missing("municipality_name");
    }
    Ok(())
}

// ---- the body ----

/// What to do next, for an officer or a supervisor: acknowledge with the
/// short id, and when the supervisor hears of it otherwise; the alert's page
/// in the console when its address is configured.
fn todo_section(doc: &mut Doc, items: &[MailItem<'_>], ctx: &MailContext) {
    doc.subheading("Wat te doen");
    for it in items {
        let a = it.alert;
        let id = it.short_id;
        if a.status == AlertStatus::Resolved {
            doc.bullet(&format!("Signaal {id} is gedeëscaleerd: er is niets meer te doen."));
            continue;
        }
        if a.unplaced {
            doc.bullet(&format!(
                "Signaal {id} noemt geen gemeente: zoek uit waar dit speelt en licht die gemeente in."
            ));
        }
        match a.decisions.iter().rev().find(|d| d.kind == DecisionKind::Acknowledged) {
            Some(d) => doc.bullet(&format!(
                "Signaal {id} is al gezien door {} ({}): {}",
                one_line(&d.by),
                dutch_datetime(d.at),
                one_line(&d.reason)
            )),
            None => {
                doc.bullet(&format!(
                    "Meld dat je signaal {id} hebt gezien en wat je doet: onrust alerts ack {id} --reason \"wat je doet\""
                ));
                if let Some(at) = a.escalates_at {
                    doc.bullet(&format!(
                        "Meldt niemand het als gezien, dan krijgt de supervisor het om {}.",
                        dutch_datetime(at)
                    ));
                }
            }
        }
        if let Some(link) = ctx.console_link(a) {
            doc.bullet(&format!("Bekijk signaal {id} in de console: {link}"));
        }
    }
}

fn alert_section(doc: &mut Doc, item: MailItem<'_>, ctx: &MailContext) {
    let a = item.alert;
    if a.status == AlertStatus::Resolved {
        doc.para("Gedeëscaleerd: dit signaal is niet langer actief.");
    }
    doc.field("Kenmerk", &format!("{} (volledig: {})", item.short_id, a.fingerprint));
    doc.field("Wat", &format!("{} (regel {}, versie {})", what(a), a.rule, a.rule_version));
    // The mandate the rule ran under (rule L5): the recipient can see on what basis onrust watched.
    if let Some(mandate) = &a.mandate {
        doc.field("Mandaat", mandate);
    }
    doc.field("Ernst", severity_word(a.severity));
    if let Some(theme) = &a.theme {
        doc.field("Thema", theme);
    }
    doc.field("Waar", &place_long(a, ctx));
    let places = a.places_named();
    if !places.is_empty() {
        doc.field("Plek", &one_line(&places.join("; ")));
    }
    doc.field("Wanneer", &when_text(a));
    match a.kind {
        RuleKind::Threshold | RuleKind::Burst => doc.field("Vergeleken met", &baseline_text(a)),
        RuleKind::Critical | RuleKind::Announcement => doc.field("Aantal", &observed_text(a)),
    }
    doc.field("Betrouwbaarheid", &confidence_text(a.confidence));
    doc.field("Controle", &review_line(a, ctx));
    decisions_fields(doc, a);
    doc.subheading("Waarom");
    for r in a.reasons.iter().filter(|r| !r.trim().is_empty()) {
        doc.bullet(&one_line(r));
    }
    doc.subheading("Voorbeelden (zonder auteurs)");
    let prev_ids: Vec<&str> =
        item.previous.map(|p| p.evidence.iter().map(|e| e.message_id.as_str()).collect()).unwrap_or_default();
    for (n, e) in a.evidence.iter().take(MAX_EVIDENCE).enumerate() {
        let new = item.previous.is_some() && !prev_ids.contains(&e.message_id.as_str());
        evidence_entry(doc, n + 1, e, new);
    }
    doc.subheading("Wat is er veranderd sinds de vorige mail");
    for line in changes(a, item.previous) {
        doc.bullet(&line);
    }
}

/// The mayor's briefing: the situation, place and time, what has been done
/// and whom to call, with a few excerpts; no rule versions, signal weights,
/// scores or statistics.
fn briefing_section(doc: &mut Doc, item: MailItem<'_>, ctx: &MailContext) {
    let a = item.alert;
    if unreviewed_marker(a, ctx) {
        doc.warning(
            "ONGECONTROLEERD SIGNAAL: deze melding is automatisch verstuurd en nog niet door een supervisor \
             bevestigd.",
        );
    }
    let mut situation = match a.status {
        AlertStatus::Resolved => {
            format!("Gedeëscaleerd: {} in {} is niet langer actief.", what(a), place_short(a, ctx))
        }
        _ => format!("{} in {}: {}.", capitalised(what(a)), place_short(a, ctx), observed_text(a)),
    };
    if let Some(theme) = &a.theme {
        situation.push_str(&format!(" Thema: {theme}."));
    }
    doc.field("Situatie", &situation);
    let mut place_time = when_text(a);
    let places = a.places_named();
    if !places.is_empty() {
        place_time = format!("{}, {place_time}", one_line(&places.join("; ")));
    }
    doc.field("Plaats en tijd", &place_time);
    doc.field("Betrouwbaarheid", confidence_word(a.confidence));
    if let Some(mandate) = &a.mandate {
        doc.field("Mandaat", mandate);
    }
    let mut done: Vec<String> = a
        .decisions
        .iter()
        .map(|d| {
            format!("{} door {} op {}: {}", d.kind.dutch(), one_line(&d.by), dutch_datetime(d.at), one_line(&d.reason))
        })
        .collect();
    // A confirmation made before decisions were kept on record.
    if let Some(by) = &a.reviewed_by
        && !a.decisions.iter().any(|d| d.kind == DecisionKind::Confirmed)
    {
        done.push(format!("{} door {}", DecisionKind::Confirmed.dutch(), one_line(by)));
    }
    doc.field(
        "Wat is gedaan",
        &if done.is_empty() { "de ambtenaar van dienst is ingelicht".to_owned() } else { done.join("; ") },
    );
    let contact = match (&ctx.contact, a.reviewed_by.as_deref()) {
        (Some(c), _) => one_line(c),
        (None, Some(by)) => format!("{}, die dit signaal bevestigde", one_line(by)),
        (None, None) => "de ambtenaar openbare orde en veiligheid van dienst".to_owned(),
    };
    doc.field("Contact", &contact);
    doc.subheading("Wat er wordt gezegd (zonder auteurs)");
    for e in a.evidence.iter().take(MAYOR_EVIDENCE) {
        let place = e.place.as_deref().map(|p| format!(", {}", one_line(p))).unwrap_or_default();
        doc.bullet(&format!(
            "{}, {}{place}: “{}”",
            one_line(&e.source),
            dutch_datetime(e.published_at),
            clip_excerpt(&one_line(&e.excerpt))
        ));
    }
}

/// Excerpts a mayor's briefing shows.
const MAYOR_EVIDENCE: usize = 3;

/// Who decided what, when and why, one field each.
fn decisions_fields(doc: &mut Doc, a: &Alert) {
    for d in &a.decisions {
        doc.field(
            "Besluit",
            &format!(
                "{} door {} op {}: {}",
                d.kind.dutch(),
                one_line(&d.by),
                dutch_datetime(d.at),
                one_line(&d.reason)
            ),
        );
    }
    // An alert acknowledged before decisions were kept on record.
    if a.decisions.is_empty()
        && let Some(by) = &a.acknowledged_by
    {
        let mut s = format!("gezien door {}", one_line(by));
        if let Some(c) = &a.ack_comment {
            s.push_str(&format!(": {}", one_line(c)));
        }
        doc.field("Besluit", &s);
    }
}

fn when_text(a: &Alert) -> String {
    match a.event_time {
        Some(t) => {
            let lead = t.signed_duration_since(a.updated_at);
            let mut s = format!("aangekondigd voor {}", dutch_datetime(t));
            if lead.num_minutes() > 0 {
                s.push_str(&format!(" (over {})", dutch_duration(lead.num_seconds().unsigned_abs())));
            }
            s
        }
        None => format!("signaal sinds {}", dutch_datetime(a.starts_at)),
    }
}

/// A message that reached onrust this long after it was published is
/// marked in the mail as late, with how late.
const LATE_AFTER_MINUTES: i64 = 10;

fn evidence_entry(doc: &mut Doc, n: usize, e: &Evidence, new: bool) {
    let mut head = format!(
        "{n}. {}{} — {}",
        if new { "[nieuw] " } else { "" },
        one_line(&e.source),
        dutch_datetime(e.published_at)
    );
    if let Some(received) = e.received_at {
        let late = (received - e.published_at).num_minutes();
        if late >= LATE_AFTER_MINUTES {
            head.push_str(&format!(" (gepubliceerd {} vóór ontvangst)", late_text(late)));
        }
    }
    head.push_str(&format!(" — niveau {}, score {}", e.level, decimal(f64::from(e.score), 2)));
    if let Some(place) = &e.place {
        head.push_str(&format!(" — {}", one_line(place)));
    }
    if let Some(t) = e.title.as_deref().filter(|t| !t.trim().is_empty()) {
        head.push_str(&format!(" — {}", one_line(t)));
    }
    let link = e.url.as_deref().filter(|u| is_http_link(u));
    doc.evidence(&head, &format!("“{}”", clip_excerpt(&one_line(&e.excerpt))), link);
}

/// "90 min" up to three hours, then "5 uur en 10 minuten", "2 dagen".
fn late_text(minutes: i64) -> String {
    if minutes < 180 { format!("{minutes} min") } else { dutch_duration(minutes.unsigned_abs() * 60) }
}

/// The contract caps excerpts at 280 characters; a longer one is cut here
/// too, so a mail never turns into a copy of a message.
fn clip_excerpt(s: &str) -> String {
    const MAX: usize = 280;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let cut: String = s.chars().take(MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

fn changes(a: &Alert, previous: Option<&Alert>) -> Vec<String> {
    let Some(p) = previous else {
        return vec!["Dit is de eerste melding over dit signaal.".to_owned()];
    };
    let mut out = Vec::new();
    if p.observed != a.observed {
        out.push(format!("Aantal berichten: {} → {}.", p.observed, a.observed));
    }
    if p.severity != a.severity {
        let dir = if a.severity > p.severity { "verhoogd" } else { "verlaagd" };
        out.push(format!("Ernst {dir}: {} → {}.", severity_word(p.severity), severity_word(a.severity)));
    }
    if p.status != a.status && a.status == AlertStatus::Resolved {
        out.push("Het signaal is gedeëscaleerd.".to_owned());
    }
    if p.event_time != a.event_time
        && let Some(t) = a.event_time
    {
        out.push(format!("Aangekondigde tijd gewijzigd naar {}.", dutch_datetime(t)));
    }
    let new = a.evidence.iter().filter(|e| !p.evidence.iter().any(|q| q.message_id == e.message_id)).count();
    if new > 0 {
        out.push(format!("{} (gemarkeerd met [nieuw]).", count(new as u64, "nieuw voorbeeld", "nieuwe voorbeelden")));
    }
    if p.reviewed_by.is_none() && a.reviewed_by.is_some() {
        out.push("Inmiddels gecontroleerd door een supervisor.".to_owned());
    }
    if out.is_empty() {
        out.push("Geen wijziging in aantal, ernst of voorbeelden sinds de vorige mail.".to_owned());
    }
    out
}

/// How many messages, for single-message rules: no window, no baseline.
fn observed_text(a: &Alert) -> String {
    match a.kind {
        RuleKind::Announcement => count(a.observed, "aankondiging", "aankondigingen"),
        RuleKind::Critical => {
            format!(
                "{}; één ernstig bericht is genoeg, er is geen vergelijking met normaal",
                count(a.observed, "bericht", "berichten")
            )
        }
        RuleKind::Threshold | RuleKind::Burst => {
            format!("{} in {}", count(a.observed, "bericht", "berichten"), dutch_duration(a.window_secs))
        }
    }
}

fn baseline_text(a: &Alert) -> String {
    let window = dutch_duration(a.window_secs);
    let berichten = count(a.observed, "bericht", "berichten");
    match (a.kind, a.expected) {
        (RuleKind::Burst, Some(expected)) => {
            let mut s =
                format!("{berichten} in {window}, verwacht {} (dezelfde uren in eerdere weken)", decimal(expected, 1));
            if expected > 0.0 {
                s.push_str(&format!("; {} keer zo veel als normaal", decimal(a.observed as f64 / expected, 1)));
            }
            if let Some(p) = a.p_value {
                s.push_str(&format!(
                    "; kans dat dit toeval is: {} (gecorrigeerd voor alle gemeenten en thema's) — {}",
                    decimal(p, 4),
                    unusual_word(p)
                ));
            }
            s
        }
        (_, _) => {
            let mut s = format!("{berichten} in {window}");
            if let Some(t) = a.threshold {
                s.push_str(&format!(", drempel {t}"));
            }
            if let Some(e) = a.expected {
                s.push_str(&format!(", normaal {}", decimal(e, 1)));
            }
            s
        }
    }
}

fn unusual_word(p: f64) -> &'static str {
    if p < 0.001 {
        "zeer ongebruikelijk"
    } else if p < 0.01 {
        "ongebruikelijk"
    } else if p < 0.05 {
        "enigszins ongebruikelijk"
    } else {
        "binnen de normale variatie"
    }
}

fn confidence_word(c: f32) -> &'static str {
    if c >= 0.8 {
        "hoog"
    } else if c >= 0.5 {
        "redelijk"
    } else {
        "laag"
    }
}

fn confidence_text(c: f32) -> String {
    format!("{}% ({})", (c * 100.0).round() as u32, confidence_word(c))
}

/// Mail to a mayor that no supervisor confirmed is marked (L10).
fn unreviewed_marker(a: &Alert, ctx: &MailContext) -> bool {
    ctx.role == RecipientRole::Mayor && a.reviewed_by.as_deref().is_none_or(|r| r.trim().is_empty())
}

/// What a subject says before the severity: unreviewed for a mayor, de-escalated.
fn subject_marker(items: &[MailItem<'_>], ctx: &MailContext) -> &'static str {
    if items.iter().any(|i| unreviewed_marker(i.alert, ctx)) {
        "ongecontroleerd signaal, "
    } else if !items.is_empty() && items.iter().all(|i| i.alert.status == AlertStatus::Resolved) {
        "gedeëscaleerd, "
    } else {
        ""
    }
}

fn review_line(a: &Alert, ctx: &MailContext) -> String {
    match a.reviewed_by.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(by) => format!("gecontroleerd door {}", one_line(by)),
        None if ctx.role == RecipientRole::Mayor => {
            "ongecontroleerd signaal (niet door een supervisor bevestigd)".into()
        }
        None if a.unplaced => "geen controle nodig: zonder plaats gaat dit signaal niet naar een burgemeester".into(),
        None => "nog niet gecontroleerd (realtime melding)".into(),
    }
}

/// The highest level among an alert's evidence.
fn top_level(a: &Alert) -> u8 {
    a.evidence.iter().map(|e| e.level).max().unwrap_or(0)
}

fn footer(doc: &mut Doc, items: &[MailItem<'_>]) {
    doc.rule();
    let mut text = "Dit bericht is automatisch opgesteld door onrust uit openbare bronnen. Het beschrijft een \
                    verschijnsel, geen personen; auteurs worden niet genoemd."
        .to_owned();
    // Said where it applies: an announced action without calls to violence.
    if items.iter().any(|i| i.alert.kind == RuleKind::Announcement && top_level(i.alert) < 3) {
        text.push_str(" Een aangekondigde vreedzame demonstratie is een recht dat de gemeente faciliteert.");
    }
    doc.para(&text);
}

fn finish(subject: String, doc: Doc) -> Result<RenderedEmail, EmailError> {
    check_header("Subject", &subject)?;
    Ok(RenderedEmail { subject, text: doc.text, html: format!("{HTML_HEAD}{}</body></html>\n", doc.html) })
}

const HTML_HEAD: &str = "<!DOCTYPE html><html lang=\"nl\"><head><meta charset=\"utf-8\"></head><body>\n";

// ---- words ----

fn severity_word(s: Severity) -> &'static str {
    s.dutch()
}

fn severity_title(s: Severity) -> &'static str {
    match s {
        Severity::Info => "Informatief",
        Severity::Warning => "Waarschuwing",
        Severity::Critical => "Kritiek",
    }
}

/// What is going on, in words, without the rule's jargon.
fn what(a: &Alert) -> &'static str {
    match a.kind {
        RuleKind::Threshold => "veel berichten over mobilisatie of escalatie",
        RuleKind::Burst => "ongewone piek in berichten",
        RuleKind::Announcement => "aangekondigde actie",
        RuleKind::Critical if top_level(a) >= 3 => "oproep tot geweld, vernieling of dreiging",
        RuleKind::Critical => "ernstig bericht",
    }
}

/// "Kritiek: oproep tot geweld, vernieling of dreiging — Utrecht".
fn headline(a: &Alert, ctx: &MailContext) -> String {
    let status = if a.status == AlertStatus::Resolved { "Gedeëscaleerd" } else { severity_title(a.severity) };
    format!("{status}: {} — {}", what(a), place_short(a, ctx))
}

/// "de burgemeester van Utrecht", or of the region.
fn mayor_of(a: &Alert, ctx: &MailContext) -> String {
    match (&a.municipality, &a.municipality_name) {
        (Some(_), Some(name)) => format!("de burgemeester van {}", one_line(name)),
        (Some(code), None) => format!("de burgemeester van {code}"),
        (None, _) => format!("de burgemeesters in regio {}", ctx.region_name),
    }
}

fn place_short(a: &Alert, ctx: &MailContext) -> String {
    match (&a.municipality, &a.municipality_name) {
        (Some(_), Some(name)) => name.clone(),
        (Some(code), None) => code.to_string(),
        (None, _) if a.unplaced => format!("plaats onbekend (regio {})", ctx.region_name),
        (None, _) => format!("regio {}", ctx.region_name),
    }
}

fn place_long(a: &Alert, ctx: &MailContext) -> String {
    match (&a.municipality, &a.municipality_name) {
        (Some(code), Some(name)) => format!("gemeente {} ({code})", one_line(name)),
        (Some(code), None) => code.to_string(),
        (None, _) if a.unplaced => {
            format!("plaats onbekend: de berichten noemen geen gemeente (regio {})", ctx.region_name)
        }
        (None, _) => format!("regio {}", ctx.region_name),
    }
}

fn common_place(items: &[MailItem<'_>], ctx: &MailContext) -> String {
    let first = items.first().map(|i| (&i.alert.municipality, i.alert.unplaced));
    if items.iter().all(|i| Some((&i.alert.municipality, i.alert.unplaced)) == first)
        && let Some(i) = items.first()
    {
        return place_short(i.alert, ctx);
    }
    format!("regio {}", ctx.region_name)
}

/// "1 bericht", "3 berichten": a number with the noun in the right number.
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// The text with its first letter a capital.
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

const DAYS: [&str; 7] = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"];
const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// "donderdag 31 december 2026"
pub fn dutch_date(d: NaiveDate) -> String {
    let day = DAYS[d.weekday().num_days_from_monday() as usize];
    let month = MONTHS[d.month0() as usize];
    format!("{day} {} {month} {}", d.day(), d.year())
}

/// "donderdag 31 december 2026 om 22:00", in Europe/Amsterdam.
pub fn dutch_datetime(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Amsterdam);
    format!("{} om {:02}:{:02}", dutch_date(local.date_naive()), local.hour(), local.minute())
}

/// "1 uur", "30 minuten", "2 dagen", "1 uur en 30 minuten".
pub fn dutch_duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(if d == 1 { "1 dag".to_owned() } else { format!("{d} dagen") });
    }
    if h > 0 {
        parts.push(format!("{h} uur"));
    }
    if m > 0 {
        parts.push(if m == 1 { "1 minuut".to_owned() } else { format!("{m} minuten") });
    }
    match parts.len() {
        0 => format!("{secs} seconden"),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} en {last}", parts.join(", "))
        }
    }
}

/// A number with a Dutch decimal comma.
pub(crate) fn decimal(x: f64, places: usize) -> String {
    format!("{x:.places$}").replace('.', ",")
}

/// Message text on one line: control characters (CR, LF, NUL, tabs, …)
/// become spaces so a text can never start a line of its own.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        out.push(if c.is_control() { ' ' } else { c });
    }
    out.trim().to_owned()
}

pub(crate) fn is_http_link(u: &str) -> bool {
    url::Url::parse(u).map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()).unwrap_or(false)
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes the plain text and the HTML twin side by side so they never drift;
/// every HTML insertion goes through [`html_escape`].
#[derive(Default)]
struct Doc {
    text: String,
    html: String,
    in_list: bool,
}

impl Doc {
    fn close_list(&mut self) {
        if self.in_list {
            self.html.push_str("</ul>\n");
            self.in_list = false;
        }
    }

    fn heading(&mut self, s: &str) {
        self.close_list();
        self.text.push_str(&format!("{s}\n{}\n\n", "=".repeat(s.chars().count())));
        self.html.push_str(&format!("<h1>{}</h1>\n", html_escape(s)));
    }

    fn subheading(&mut self, s: &str) {
        self.close_list();
        // One blank line before it, also right after a heading or paragraph.
        if !self.text.ends_with("\n\n") {
            self.text.push('\n');
        }
        self.text.push_str(&format!("{s}\n{}\n", "-".repeat(s.chars().count())));
        self.html.push_str(&format!("<h2>{}</h2>\n", html_escape(s)));
    }

    fn para(&mut self, s: &str) {
        self.close_list();
        self.text.push_str(&format!("{s}\n\n"));
        self.html.push_str(&format!("<p>{}</p>\n", html_escape(s)));
    }

    fn warning(&mut self, s: &str) {
        self.close_list();
        self.text.push_str(&format!("!! {s}\n\n"));
        self.html.push_str(&format!("<p><strong>{}</strong></p>\n", html_escape(s)));
    }

    fn field(&mut self, name: &str, value: &str) {
        self.close_list();
        self.text.push_str(&format!("{name}: {value}\n"));
        self.html.push_str(&format!("<p><b>{}:</b> {}</p>\n", html_escape(name), html_escape(value)));
    }

    fn bullet(&mut self, s: &str) {
        if !self.in_list {
            self.html.push_str("<ul>\n");
            self.in_list = true;
        }
        self.text.push_str(&format!("- {s}\n"));
        self.html.push_str(&format!("<li>{}</li>\n", html_escape(s)));
    }

    fn evidence(&mut self, head: &str, quote: &str, link: Option<&str>) {
        self.close_list();
        self.text.push_str(&format!("{head}\n   {quote}\n"));
        self.html.push_str(&format!("<p>{}<br>\n<span>{}</span>", html_escape(head), html_escape(quote)));
        if let Some(l) = link {
            self.text.push_str(&format!("   Link: {l}\n"));
            self.html.push_str(&format!("<br>\n<a href=\"{0}\">{0}</a>", html_escape(l)));
        }
        self.html.push_str("</p>\n");
    }

    fn rule(&mut self) {
        self.close_list();
        self.text.push_str("\n----\n\n");
        self.html.push_str("<hr>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn ctx(role: RecipientRole) -> MailContext {
        MailContext { role, region_name: "Midden-Nederland".to_owned(), contact: None, console_url: None }
    }

    fn item(a: &Alert) -> MailItem<'_> {
        MailItem::of(a)
    }

    const GOLDEN: &str = "Kritiek: aangekondigde actie — Utrecht
======================================

Wat te doen
-----------
- Meld dat je signaal 3f9a0c1e hebt gezien en wat je doet: onrust alerts ack 3f9a0c1e --reason \"wat je doet\"

Het signaal
-----------
Kenmerk: 3f9a0c1e (volledig: 3f9a0c1e3f9a0c1e3f9a0c1e3f9a0c1e3f9a0c1e3f9a0c1e3f9a0c1e3f9a0c1e)
Wat: aangekondigde actie (regel oproep-tot-geweld, versie r1a2b3c)
Mandaat: jaarwisseling-2026
Ernst: kritiek
Thema: jaarwisseling
Waar: gemeente Utrecht (GM0344)
Plek: Vredenburgplein
Wanneer: aangekondigd voor donderdag 31 december 2026 om 22:00 (over 1 dag)
Aantal: 4 aankondigingen
Betrouwbaarheid: 86% (hoog)
Controle: gecontroleerd door j.devries (supervisor)

Waarom
------
- Vier berichten roepen op tot geweld tegen de politie tijdens de jaarwisseling.
- Een actie is aangekondigd voor oudjaarsavond op het Vredenburgplein.

Voorbeelden (zonder auteurs)
----------------------------
1. rtvutrecht — woensdag 30 december 2026 om 21:40 — niveau 3, score 0,93 — Oproep voor oudjaarsavond
   “Oudjaarsavond gaan we oorlog maken met de politie op het Vredenburgplein”
   Link: https://www.rtvutrecht.nl/nieuws/m1
2. rtvutrecht — woensdag 30 december 2026 om 21:50 — niveau 3, score 0,93 — Oproep voor oudjaarsavond
   “Oudjaarsavond gaan we oorlog maken met de politie op het Vredenburgplein”
   Link: https://www.rtvutrecht.nl/nieuws/m2

Wat is er veranderd sinds de vorige mail
----------------------------------------
- Dit is de eerste melding over dit signaal.

----

Dit bericht is automatisch opgesteld door onrust uit openbare bronnen. Het beschrijft een verschijnsel, geen personen; auteurs worden niet genoemd.

";

    #[test]
    fn golden_plain_text() {
        let a = fixtures::alert();
        let m = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        assert_eq!(m.subject, "[onrust] Kritiek: oproep-tot-geweld — Utrecht");
        assert_eq!(m.text, GOLDEN);
    }

    /// Issue 16: the id the mail prints is the one the stage chose to tell
    /// this alert from the others current (longer than 8 when two share 8),
    /// everywhere the mail names it; the console link is there only when its
    /// address is configured, for officers and supervisors, never a mayor.
    #[test]
    fn the_mail_names_the_alert_by_its_short_id_and_links_to_the_console_when_it_can() {
        let a = fixtures::alert();
        let longer = &a.fingerprint[..10];
        let item = MailItem { short_id: longer, ..item(&a) };
        let officer = render_alert(item, &ctx(RecipientRole::Officer)).unwrap();
        assert!(officer.text.contains(&format!("onrust alerts ack {longer} --reason")), "{}", officer.text);
        assert!(officer.text.contains(&format!("Kenmerk: {longer} (volledig: ")), "{}", officer.text);
        assert!(!officer.text.contains("console"), "no address, no link:\n{}", officer.text);
        let linked =
            MailContext { console_url: Some("https://onrust.regio.example/".into()), ..ctx(RecipientRole::Officer) };
        let officer = render_alert(item, &linked).unwrap();
        let link = format!("https://onrust.regio.example/meldingen/{}", a.fingerprint);
        assert!(
            officer.text.contains(&format!("- Bekijk signaal {longer} in de console: {link}\n")),
            "{}",
            officer.text
        );
        assert!(officer.html.contains(&link), "the HTML twin too");
        let review =
            render_review(&[item], &MailContext { role: RecipientRole::Supervisor, ..linked.clone() }).unwrap();
        assert!(review.text.contains(&format!("onrust alerts confirm {longer} --reason")), "{}", review.text);
        assert!(review.text.contains(&format!("Of beslis in de console: {link}")), "{}", review.text);
        let mayor = render_alert(item, &MailContext { role: RecipientRole::Mayor, ..linked }).unwrap();
        assert!(!mayor.text.contains("console") && !mayor.text.contains(longer), "{}", mayor.text);
    }

    #[test]
    fn dutch_dates_in_amsterdam_time() {
        use chrono::TimeZone;
        // 21:00 UTC in winter is 22:00 in Amsterdam; 10:30 UTC in summer is 12:30.
        let winter = Utc.with_ymd_and_hms(2026, 12, 31, 21, 0, 0).unwrap();
        assert_eq!(dutch_datetime(winter), "donderdag 31 december 2026 om 22:00");
        let summer = Utc.with_ymd_and_hms(2026, 7, 4, 10, 30, 0).unwrap();
        assert_eq!(dutch_datetime(summer), "zaterdag 4 juli 2026 om 12:30");
        // Just before midnight UTC on new year's eve is already next year here.
        let late = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(dutch_datetime(late), "vrijdag 1 januari 2027 om 00:30");
        assert_eq!(dutch_duration(5400), "1 uur en 30 minuten");
        assert_eq!(dutch_duration(2 * 86_400 + 60), "2 dagen en 1 minuut");
    }

    #[test]
    fn html_twin_escapes_everything() {
        let mut a = fixtures::alert();
        a.evidence[0].excerpt = "<script>alert('x')</script> & \"meer\"".to_owned();
        a.evidence[0].title = Some("<img src=x onerror=alert(1)>".to_owned());
        a.reasons.push("<b>vet</b>".to_owned());
        a.evidence[1].url = Some("https://example.org/?a=1&b=\"><script>".to_owned());
        let m = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        assert!(!m.html.contains("<script>"));
        assert!(!m.html.contains("<img"));
        assert!(!m.html.contains("<b>vet"));
        assert!(m.html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;meer&quot;"));
        assert!(m.html.contains("href=\"https://example.org/?a=1&amp;b=&quot;&gt;&lt;script&gt;\""));
        // The plain text is the text as it is.
        assert!(m.text.contains("<script>alert('x')</script>"));
    }

    #[test]
    fn only_http_links_are_shown() {
        let mut a = fixtures::alert();
        a.evidence[0].url = Some("javascript:alert(1)".to_owned());
        a.evidence[1].url = Some("file:///etc/passwd".to_owned());
        let m = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        assert!(!m.text.contains("Link:"));
        assert!(!m.html.contains("href"));
        assert!(!m.text.contains("javascript") && !m.html.contains("javascript"));
    }

    #[test]
    fn long_excerpts_are_cut_at_280_characters() {
        let mut a = fixtures::alert();
        a.evidence[0].excerpt = "é".repeat(400);
        let m = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        let quote = m.text.lines().find(|l| l.contains("éé")).unwrap().trim();
        assert_eq!(quote.chars().count(), 280 + 2, "280 characters between the quotes");
        assert!(quote.ends_with("…”"));
    }

    #[test]
    fn at_most_five_excerpts() {
        let mut a = fixtures::alert();
        a.evidence = (0..8).map(|i| fixtures::evidence(&format!("m{i}"), i)).collect();
        let m = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        assert!(m.text.contains("\n5. ") && !m.text.contains("\n6. "));
    }

    #[test]
    fn incomplete_alert_is_not_rendered() {
        type Breaker = fn(&mut Alert);
        let cases: [(Breaker, &str); 6] = [
            (|a| a.reasons.clear(), "reasons"),
            (|a| a.evidence.clear(), "evidence"),
            (|a| a.rule_version.clear(), "rule_version"),
            (|a| a.event_time = None, "event_time"),
            (|a| a.municipality_name = None, "municipality_name"),
            (|a| a.confidence = f32::NAN, "confidence in 0..1"),
        ];
        for (break_it, field) in cases {
            let mut a = fixtures::alert();
            break_it(&mut a);
            let err = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap_err();
            assert!(
                matches!(&err, EmailError::Incomplete { fingerprint, field: f } if *fingerprint == a.fingerprint && *f == field),
                "{err:?}"
            );
        }
        let mut burst = fixtures::alert();
        burst.kind = RuleKind::Burst;
        burst.expected = None;
        assert!(matches!(render_alert(item(&burst), &ctx(RecipientRole::Mayor)), Err(EmailError::Incomplete { .. })));
    }

    #[test]
    fn mayor_mail_without_review_is_marked() {
        let mut a = fixtures::alert();
        a.reviewed_by = None;
        let m = render_alert(item(&a), &ctx(RecipientRole::Mayor)).unwrap();
        assert_eq!(m.subject, "[onrust] ongecontroleerd signaal, Kritiek: oproep-tot-geweld — Utrecht");
        assert!(m.text.contains("ONGECONTROLEERD SIGNAAL"));
        assert!(m.text.contains("Wat is gedaan: de ambtenaar van dienst is ingelicht"), "{}", m.text);
        // The officer's copy of the same alert is a realtime signal, not marked.
        let o = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        assert!(!o.text.contains("ONGECONTROLEERD"));
        assert!(o.text.contains("Controle: nog niet gecontroleerd"));
        // Reviewed: who reviewed is named.
        let r = render_alert(item(&fixtures::alert()), &ctx(RecipientRole::Mayor)).unwrap();
        assert!(r.text.contains("bevestigd voor de burgemeester door j.devries"), "{}", r.text);
        assert!(r.text.contains("Contact: j.devries (supervisor), die dit signaal bevestigde"), "{}", r.text);
        assert!(!r.subject.contains("ongecontroleerd"));
        // The mayor also reads the mandate onrust watched under (rule L5).
        assert!(r.text.contains("Mandaat: jaarwisseling-2026"), "{}", r.text);
    }

    #[test]
    fn changes_since_previous_mail() {
        let prev = fixtures::alert();
        let mut now = fixtures::alert();
        now.observed = 9;
        now.severity = Severity::Critical;
        let mut prev_warn = prev.clone();
        prev_warn.severity = Severity::Warning;
        now.evidence.push(fixtures::evidence("m3", 55));
        let m =
            render_alert(MailItem { previous: Some(&prev_warn), ..MailItem::of(&now) }, &ctx(RecipientRole::Officer))
                .unwrap();
        assert!(m.text.contains("- Aantal berichten: 4 → 9."));
        assert!(m.text.contains("- Ernst verhoogd: waarschuwing → kritiek."));
        assert!(m.text.contains("- 1 nieuw voorbeeld (gemarkeerd met [nieuw])."), "{}", m.text);
        assert!(m.text.contains("3. [nieuw] rtvutrecht"));
        assert!(!m.text.contains("1. [nieuw]"));
        let same =
            render_alert(MailItem { previous: Some(&prev), ..MailItem::of(&prev) }, &ctx(RecipientRole::Officer))
                .unwrap();
        assert!(same.text.contains("Geen wijziging in aantal, ernst of voorbeelden"));
    }

    #[test]
    fn burst_states_observed_expected_and_how_unusual() {
        let mut a = fixtures::alert();
        a.kind = RuleKind::Burst;
        a.observed = 14;
        a.expected = Some(2.3);
        a.p_value = Some(0.0004);
        let m = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        assert!(
            m.text.contains(
                "Vergeleken met: 14 berichten in 1 uur, verwacht 2,3 (dezelfde uren in eerdere weken); 6,1 keer zo \
                 veel als normaal; kans dat dit toeval is: 0,0004 (gecorrigeerd voor alle gemeenten en thema's) — \
                 zeer ongebruikelijk"
            ),
            "{}",
            m.text
        );
    }

    #[test]
    fn regional_alert_names_the_region() {
        let mut a = fixtures::alert();
        a.municipality = None;
        a.municipality_name = None;
        let m = render_alert(item(&a), &ctx(RecipientRole::Officer)).unwrap();
        assert_eq!(m.subject, "[onrust] Kritiek: oproep-tot-geweld — regio Midden-Nederland");
        assert!(m.text.contains("Waar: regio Midden-Nederland\n"));
    }

    /// Officers and the mayor get the same picture ahead of the action: when
    /// and where in the subject (system fields only), every alert in full.
    #[test]
    fn summary_ahead_of_an_announced_action() {
        let a = fixtures::alert();
        let mut b = fixtures::alert();
        b.rule = "mobilisatie".to_owned();
        b.kind = RuleKind::Threshold;
        b.event_time = None;
        let when = a.event_time.unwrap_or_default();
        let m = render_summary(when, &[item(&a), item(&b)], &ctx(RecipientRole::Mayor)).unwrap();
        assert_eq!(m.subject, "[onrust] vooraf: aangekondigde actie donderdag 31 december 2026 om 22:00 — Utrecht");
        assert!(m.text.starts_with("Vooraf: aangekondigde actie donderdag 31 december 2026 om 22:00 — Utrecht"));
        assert!(m.text.contains("Gezamenlijk beeld voor ambtenaren en burgemeester: 2 signalen"), "{}", m.text);
        assert!(
            m.text.contains("Signaal 2 van 2 — Kritiek: veel berichten over mobilisatie of escalatie — Utrecht"),
            "{}",
            m.text
        );
        assert!(m.text.contains("Vredenburgplein") && m.html.contains("Vredenburgplein"));
        assert!(matches!(render_summary(when, &[], &ctx(RecipientRole::Mayor)), Err(EmailError::Empty)));
    }

    #[test]
    fn group_and_digest() {
        let a = fixtures::alert();
        let mut b = fixtures::alert();
        b.rule = "piek-jaarwisseling".to_owned();
        b.severity = Severity::Warning;
        let items = [item(&a), item(&b)];
        let g = render_group(&items, &ctx(RecipientRole::Officer)).unwrap();
        assert_eq!(g.subject, "[onrust] Kritiek: 2 signalen — Utrecht");
        assert!(g.text.contains("Signaal 1 van 2 — Kritiek: aangekondigde actie — Utrecht"), "{}", g.text);
        assert!(g.text.contains("Signaal 2 van 2 — Waarschuwing: aangekondigde actie — Utrecht"), "{}", g.text);
        assert!(g.text.contains("(regel piek-jaarwisseling, versie r1a2b3c)"), "{}", g.text);
        assert!(matches!(render_group(&[], &ctx(RecipientRole::Officer)), Err(EmailError::Empty)));

        let day = NaiveDate::from_ymd_opt(2026, 12, 30).unwrap();
        let d = render_digest(day, &items, &ctx(RecipientRole::Mayor)).unwrap();
        assert_eq!(d.subject, "[onrust] dagoverzicht woensdag 30 december 2026: Utrecht");
        assert!(d.text.contains("2 signalen vandaag:"));
        assert!(d.text.contains("aangekondigd voor donderdag 31 december 2026 om 22:00"));
        let empty = render_digest(day, &[], &ctx(RecipientRole::Mayor)).unwrap();
        assert!(empty.text.contains("geen signalen"));
    }
}
