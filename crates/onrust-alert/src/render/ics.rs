//! An iCalendar (RFC 5545) calendar of announced actions per municipality.
//!
//! Why a calendar: the question a mayor and the police ask about an
//! announcement is "when, and where", and a calendar subscription puts every
//! announced demonstration, blockade or gathering next to the rest of their
//! planning, updated as announcements merge (the UID stays the fingerprint,
//! so an update replaces the event instead of adding one).
//!
//! The format is strict and easy to get subtly wrong, so this module does it
//! by hand and tests it: CRLF line endings, content lines folded at 75 octets
//! without splitting a UTF-8 character, TEXT values escaped (`\\`, `\;`,
//! `\,`, `\n`) with other control characters dropped, DTSTART and DTSTAMP in
//! UTC (`…Z`), `UID:<fingerprint>@onrust`.

use chrono::{DateTime, Utc};

use crate::alert::{Alert, AlertStatus, RuleKind};
use crate::render::FeedPlace;
use crate::render::email::is_http_link;

/// Which calendar: one municipality's, the region-wide one, the one of
/// actions without a known place, or every announced action in the region.
#[derive(Debug, Clone)]
pub struct CalendarScope<'a> {
    pub place: FeedPlace<'a>,
    pub region_name: &'a str,
}

/// Renders the announced actions (announcement alerts with an event time)
/// in `scope`, in order of their time.
pub fn render_ics(scope: &CalendarScope<'_>, alerts: &[Alert]) -> String {
    let mut events: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.kind == RuleKind::Announcement && a.event_time.is_some() && scope.place.admits(a))
        .collect();
    events.sort_by(|a, b| a.event_time.cmp(&b.event_time).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
    let name = match scope.place {
        FeedPlace::Municipality(c, n) => format!("onrust: aangekondigde acties {n} ({c})"),
        FeedPlace::Region => format!("onrust: aangekondigde acties regio {}", scope.region_name),
        FeedPlace::Unplaced => {
            format!("onrust: aangekondigde acties zonder bekende plaats, regio {}", scope.region_name)
        }
        FeedPlace::All => format!("onrust: alle aangekondigde acties in regio {}", scope.region_name),
    };

    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//onrust//onrust-alert//NL");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(&name)));
    for a in events {
        event(&mut out, a, scope);
    }
    line(&mut out, "END:VCALENDAR");
    out
}

fn event(out: &mut String, a: &Alert, scope: &CalendarScope<'_>) {
    let Some(start) = a.event_time else { return };
    let place = match (&a.municipality, &a.municipality_name) {
        (Some(_), Some(n)) => n.clone(),
        (Some(c), None) => c.to_string(),
        (None, _) if a.unplaced => format!("plaats onbekend (regio {})", scope.region_name),
        (None, _) => format!("regio {}", scope.region_name),
    };
    let theme = a.theme.as_deref().map(|t| format!(" ({t})")).unwrap_or_default();
    let mut description =
        format!("Regel {}. {}.", a.rule, crate::render::email::count(a.observed, "aankondiging", "aankondigingen"));
    for r in &a.reasons {
        description.push('\n');
        description.push_str(r);
    }
    // The places the messages name besides the event's own (its LOCATION).
    let places: Vec<&str> = a.places_named().into_iter().filter(|p| Some(*p) != a.event_place.as_deref()).collect();
    if !places.is_empty() {
        description.push_str("\nGenoemde plekken: ");
        description.push_str(&places.join("; "));
    }
    for e in a.evidence.iter().filter_map(|e| e.url.as_deref()).filter(|u| is_http_link(u)) {
        description.push_str("\nBron: ");
        description.push_str(e);
    }
    description.push('\n');
    description.push_str(match &a.reviewed_by {
        Some(_) => "Gecontroleerd door een supervisor.",
        None => "Nog niet gecontroleerd.",
    });

    line(out, "BEGIN:VEVENT");
    line(out, &format!("UID:{}@onrust", escape_text(&a.fingerprint)));
    line(out, &format!("DTSTAMP:{}", utc(a.updated_at)));
    line(out, &format!("DTSTART:{}", utc(start)));
    line(out, &format!("LAST-MODIFIED:{}", utc(a.updated_at)));
    let resolved = if a.status == AlertStatus::Resolved { " (gedeëscaleerd)" } else { "" };
    line(out, &format!("SUMMARY:{}", escape_text(&format!("Aangekondigde actie{theme} — {place}{resolved}"))));
    if let Some(p) = &a.event_place {
        line(out, &format!("LOCATION:{}", escape_text(p)));
    }
    if let Some(t) = &a.theme {
        line(out, &format!("CATEGORIES:{}", escape_text(t)));
    }
    line(out, &format!("DESCRIPTION:{}", escape_text(&description)));
    // Announced, not certain. A resolved alert is not a cancelled action (the
    // demonstration may still take place), so it stays tentative and its
    // summary says it de-escalated.
    line(out, "STATUS:TENTATIVE");
    line(out, "TRANSP:TRANSPARENT");
    line(out, "END:VEVENT");
}

/// `20261231T210000Z`
fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and
/// newlines; other control characters are not allowed and are dropped.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded at 75 octets (continuation lines start
/// with a space and carry at most 74 octets), never inside a UTF-8 character.
fn line(out: &mut String, content: &str) {
    let mut budget = 75;
    let mut used = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if used + n > budget {
            out.push_str("\r\n ");
            budget = 74;
            used = 0;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use onrust_model::MunicipalityCode;

    use super::*;
    use crate::fixtures;

    fn unfold(ics: &str) -> String {
        ics.replace("\r\n ", "")
    }

    fn scope(code: &MunicipalityCode) -> CalendarScope<'_> {
        CalendarScope { place: FeedPlace::Municipality(code, "Utrecht"), region_name: "Midden-Nederland" }
    }

    #[test]
    fn text_escaping() {
        assert_eq!(escape_text("a,b;c\\d"), "a\\,b\\;c\\\\d");
        assert_eq!(escape_text("een\r\ntwee\ndrie\rvier"), "een\\ntwee\\ndrie\\nvier");
        assert_eq!(escape_text("x\u{0}\u{7}y\tz"), "xy z");
    }

    #[test]
    fn folding_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let long = format!("DESCRIPTION:{}", "é—a".repeat(60));
        line(&mut out, &long);
        assert!(out.ends_with("\r\n"));
        for (i, l) in out.trim_end_matches("\r\n").split("\r\n").enumerate() {
            assert!(l.len() <= 75, "line {i} has {} octets", l.len());
            if i > 0 {
                assert!(l.starts_with(' '));
            }
        }
        assert_eq!(unfold(&out), format!("{long}\r\n"));
        let mut short = String::new();
        line(&mut short, &"x".repeat(75));
        assert_eq!(short, format!("{}\r\n", "x".repeat(75)));
        let mut just_over = String::new();
        line(&mut just_over, &"x".repeat(76));
        assert_eq!(just_over, format!("{}\r\n x\r\n", "x".repeat(75)));
    }

    #[test]
    fn calendar_of_announced_actions() {
        let code = MunicipalityCode::new("GM0344").unwrap();
        let mut a = fixtures::alert();
        a.event_place = Some("Vredenburgplein, bij de ingang; \"Hoog Catharijne\"\\oost".to_owned());
        a.reasons.push("Regel met\nnieuwe regel, komma; puntkomma".to_owned());
        let mut not_announcement = fixtures::alert();
        not_announcement.kind = RuleKind::Burst;
        not_announcement.fingerprint = "c".repeat(64);
        let mut elsewhere = fixtures::alert();
        elsewhere.municipality = MunicipalityCode::new("GM0307").ok();
        elsewhere.fingerprint = "d".repeat(64);
        let ics = render_ics(&scope(&code), &[a.clone(), not_announcement, elsewhere]);

        // CRLF everywhere, no bare LF or CR.
        assert!(!ics.replace("\r\n", "").contains(['\n', '\r']));
        assert!(ics.split("\r\n").all(|l| l.len() <= 75));
        let un = unfold(&ics);
        let lines: Vec<&str> = un.split("\r\n").collect();
        assert_eq!(lines[0], "BEGIN:VCALENDAR");
        assert_eq!(lines.iter().filter(|l| **l == "BEGIN:VEVENT").count(), 1);
        assert!(lines.contains(&format!("UID:{}@onrust", a.fingerprint).as_str()));
        assert!(lines.contains(&"DTSTART:20261231T210000Z"));
        assert!(lines.contains(&"DTSTAMP:20261230T210000Z"));
        assert!(lines.contains(&"LOCATION:Vredenburgplein\\, bij de ingang\\; \"Hoog Catharijne\"\\\\oost"));
        assert!(lines.contains(&"SUMMARY:Aangekondigde actie (jaarwisseling) — Utrecht"));
        let desc = lines.iter().find(|l| l.starts_with("DESCRIPTION:")).unwrap();
        assert!(desc.contains("\\nRegel met\\nnieuwe regel\\, komma\\; puntkomma"), "{desc}");
        assert!(desc.contains("\\nBron: https://www.rtvutrecht.nl/nieuws/m1"));
        assert_eq!(lines.iter().rev().find(|l| !l.is_empty()), Some(&"END:VCALENDAR"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        // The supervisors' calendar of every announced action in the region.
        let all = CalendarScope { place: FeedPlace::All, region_name: "Midden-Nederland" };
        let mut elsewhere = fixtures::alert();
        elsewhere.municipality = MunicipalityCode::new("GM0307").ok();
        elsewhere.fingerprint = "d".repeat(64);
        let every = unfold(&render_ics(&all, &[a, elsewhere]));
        assert_eq!(every.matches("BEGIN:VEVENT").count(), 2, "{every}");
        assert!(every.contains("X-WR-CALNAME:onrust: alle aangekondigde acties in regio Midden-Nederland"), "{every}");
    }

    #[test]
    fn events_name_the_places_their_messages_name_besides_their_location() {
        let code = MunicipalityCode::new("GM0344").unwrap();
        let mut a = fixtures::alert();
        a.event_place = Some("Janskerkhof (plein, Utrecht)".to_owned());
        a.evidence[0].place = Some("Janskerkhof (plein, Utrecht)".to_owned());
        a.evidence[1].place = Some("Kanaleneiland (wijk, Utrecht)".to_owned());
        let un = unfold(&render_ics(&scope(&code), &[a]));
        assert!(un.contains("\r\nLOCATION:Janskerkhof (plein\\, Utrecht)\r\n"), "{un}");
        let desc = un.split("\r\n").find(|l| l.starts_with("DESCRIPTION:")).unwrap_or_default();
        assert!(desc.contains("\\nGenoemde plekken: Kanaleneiland (wijk\\, Utrecht)"), "{desc}");
        assert!(!desc.contains("Janskerkhof"), "the location is not repeated: {desc}");
    }

    #[test]
    fn resolved_announcement_stays_tentative_and_empty_calendar_is_valid() {
        let code = MunicipalityCode::new("GM0344").unwrap();
        let mut a = fixtures::alert();
        a.status = AlertStatus::Resolved;
        let ics = render_ics(&scope(&code), &[a]);
        assert!(ics.contains("\r\nSTATUS:TENTATIVE\r\n"));
        assert!(unfold(&ics).contains("SUMMARY:Aangekondigde actie (jaarwisseling) — Utrecht (gedeëscaleerd)\r\n"));
        let empty = render_ics(&scope(&code), &[]);
        assert!(empty.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(!empty.contains("VEVENT"));
    }
}
