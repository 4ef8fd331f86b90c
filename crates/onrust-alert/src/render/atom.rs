//! An Atom 1.0 feed of alerts per municipality (RFC 4287).
//!
//! Why a feed: an information officer or a neighbouring municipality can
//! follow the alerts in any feed reader or intranet widget without an account
//! in onrust. The feed carries what the alert mail carries in short: system
//! fields in the title, the reasons and numbers in the text, evidence links
//! (http and https only). Every inserted value is XML-escaped and characters
//! XML 1.0 forbids are dropped, so no message text can break the document or
//! inject markup (the content is `type="text"`, never HTML).

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::alert::{Alert, AlertStatus, RuleKind};
use crate::render::FeedPlace;
use crate::render::email::{self, is_http_link};

/// Which feed: one municipality's, the region-wide alerts, those without a
/// known place, or every alert in the region.
#[derive(Debug, Clone)]
pub struct FeedScope<'a> {
    pub place: FeedPlace<'a>,
    pub region_name: &'a str,
    /// The feed's own URL, for `<link rel="self">`, when it is served.
    pub self_url: Option<&'a str>,
}

/// Renders the feed of the alerts in `scope`, newest first. `now` is the
/// feed's `updated` when there are no alerts.
pub fn render_atom(scope: &FeedScope<'_>, alerts: &[Alert], now: DateTime<Utc>) -> String {
    let mut mine: Vec<&Alert> = alerts.iter().filter(|a| scope.place.admits(a)).collect();
    mine.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| a.fingerprint.cmp(&b.fingerprint)));
    let updated = mine.first().map_or(now, |a| a.updated_at);
    let (id, title) = match scope.place {
        FeedPlace::Municipality(c, name) => {
            (format!("urn:onrust:alerts:{c}"), format!("onrust: signalen voor gemeente {name} ({c})"))
        }
        FeedPlace::Unplaced => (
            format!("urn:onrust:alerts:{}", crate::alert::UNPLACED_LABEL),
            format!("onrust: signalen zonder bekende plaats, regio {}", scope.region_name),
        ),
        FeedPlace::Region => {
            ("urn:onrust:alerts:regio".to_owned(), format!("onrust: signalen voor regio {}", scope.region_name))
        }
        FeedPlace::All => (
            "urn:onrust:alerts:alle".to_owned(),
            format!("onrust: alle signalen in regio {}, per gemeente en regiobreed", scope.region_name),
        ),
    };

    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"nl\">\n");
    element(&mut out, 1, "id", &id);
    element(&mut out, 1, "title", &title);
    element(&mut out, 1, "updated", &rfc3339(updated));
    out.push_str("  <author><name>onrust</name></author>\n");
    out.push_str("  <generator>onrust</generator>\n");
    if let Some(url) = scope.self_url.filter(|u| is_http_link(u)) {
        let _ = writeln!(out, "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>", xml_escape(url));
    }
    for a in mine {
        entry(&mut out, a, scope);
    }
    out.push_str("</feed>\n");
    out
}

fn entry(out: &mut String, a: &Alert, scope: &FeedScope<'_>) {
    let place = match (&a.municipality, &a.municipality_name) {
        (Some(_), Some(name)) => name.clone(),
        (Some(code), None) => code.to_string(),
        (None, _) if a.unplaced => format!("plaats onbekend (regio {})", scope.region_name),
        (None, _) => format!("regio {}", scope.region_name),
    };
    let status = match a.status {
        AlertStatus::Resolved => " (gedeëscaleerd)",
        _ => "",
    };
    let severity = match a.severity {
        crate::alert::Severity::Info => "Informatief",
        crate::alert::Severity::Warning => "Waarschuwing",
        crate::alert::Severity::Critical => "Kritiek",
    };
    let observed = match a.kind {
        RuleKind::Announcement => email::count(a.observed, "aankondiging", "aankondigingen"),
        RuleKind::Critical => email::count(a.observed, "bericht", "berichten"),
        RuleKind::Threshold | RuleKind::Burst => {
            format!("{} in {}", email::count(a.observed, "bericht", "berichten"), email::dutch_duration(a.window_secs))
        }
    };
    out.push_str("  <entry>\n");
    element(out, 2, "id", &format!("urn:onrust:alert:{}", a.fingerprint));
    element(out, 2, "title", &format!("{severity}: {} — {place}{status}", a.rule));
    element(out, 2, "published", &rfc3339(a.starts_at));
    element(out, 2, "updated", &rfc3339(a.updated_at));
    if let Some(theme) = &a.theme {
        let _ = writeln!(out, "    <category term=\"{}\"/>", xml_escape(theme));
    }
    for e in &a.evidence {
        if let Some(url) = e.url.as_deref().filter(|u| is_http_link(u)) {
            let _ = writeln!(out, "    <link rel=\"related\" href=\"{}\"/>", xml_escape(url));
        }
    }
    let mut text = observed;
    if let Some(e) = a.expected {
        let _ = write!(text, ", verwacht {}", email::decimal(e, 1));
    }
    if let Some(t) = a.event_time {
        let _ = write!(text, "; aangekondigd voor {}", email::dutch_datetime(t));
    }
    if let Some(p) = &a.event_place {
        let _ = write!(text, " ({p})");
    }
    text.push_str(".\n");
    // The places the messages name below the municipality, "Kanaleneiland (wijk, Utrecht)".
    let places: Vec<&str> = a.places_named().into_iter().filter(|p| Some(*p) != a.event_place.as_deref()).collect();
    if !places.is_empty() {
        let _ = writeln!(text, "Plek: {}.", places.join("; "));
    }
    for r in &a.reasons {
        let _ = writeln!(text, "- {r}");
    }
    match &a.reviewed_by {
        Some(by) => {
            let _ = write!(text, "Gecontroleerd door {by}.");
        }
        None => text.push_str("Nog niet gecontroleerd."),
    }
    let _ = writeln!(out, "    <content type=\"text\">{}</content>", xml_escape(&text));
    out.push_str("  </entry>\n");
}

fn element(out: &mut String, depth: usize, name: &str, text: &str) {
    let _ = writeln!(out, "{}<{name}>{}</{name}>", "  ".repeat(depth), xml_escape(text));
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Escapes for XML text and attribute values, and drops characters XML 1.0
/// does not allow (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use quick_xml::Reader;
    use quick_xml::events::Event;

    use onrust_model::MunicipalityCode;

    use super::*;
    use crate::fixtures;

    /// Parses the document and returns the element names in order; panics on
    /// any well-formedness error (quick-xml checks end names).
    fn elements(xml: &str) -> Vec<String> {
        let mut reader = Reader::from_str(xml);
        let mut names = Vec::new();
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                    names.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap())
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed at {}: {e}\n{xml}", reader.buffer_position()),
            }
        }
        names
    }

    fn scope<'a>(code: &'a MunicipalityCode) -> FeedScope<'a> {
        FeedScope {
            place: FeedPlace::Municipality(code, "Utrecht"),
            region_name: "Midden-Nederland",
            self_url: Some("https://onrust.example/feeds/GM0344.atom"),
        }
    }

    #[test]
    fn feed_is_well_formed_atom_with_one_entry_per_alert() {
        let code = MunicipalityCode::new("GM0344").unwrap();
        let a = fixtures::alert();
        let mut b = fixtures::alert();
        b.fingerprint = "b".repeat(64);
        b.updated_at = a.updated_at + chrono::Duration::hours(1);
        let mut other = fixtures::alert();
        other.municipality = MunicipalityCode::new("GM0307").ok();
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
        let xml = render_atom(&scope(&code), &[a.clone(), b.clone(), other], now);
        let names = elements(&xml);
        assert_eq!(names[0], "feed");
        assert_eq!(names.iter().filter(|n| *n == "entry").count(), 2);
        for required in ["id", "title", "updated", "author"] {
            assert!(names.contains(&required.to_owned()), "{required} missing");
        }
        assert!(xml.contains("<id>urn:onrust:alerts:GM0344</id>"));
        // Newest first; the feed's updated is the newest entry's.
        let pos_b = xml.find(&format!("urn:onrust:alert:{}", b.fingerprint)).unwrap();
        let pos_a = xml.find(&format!("urn:onrust:alert:{}", a.fingerprint)).unwrap();
        assert!(pos_b < pos_a);
        assert!(xml.contains("<updated>2026-12-30T22:00:00Z</updated>\n  <author>"));
        assert!(xml.contains("<title>Kritiek: oproep-tot-geweld — Utrecht</title>"));
        assert!(xml.contains("aangekondigd voor donderdag 31 december 2026 om 22:00"));
        assert!(xml.contains("<link rel=\"related\" href=\"https://www.rtvutrecht.nl/nieuws/m1\"/>"));
    }

    #[test]
    fn entries_name_the_places_of_their_evidence_with_their_labels() {
        let code = MunicipalityCode::new("GM0344").unwrap();
        let mut a = fixtures::alert();
        a.event_place = None;
        a.evidence[0].place = Some("Kanaleneiland (wijk, Utrecht)".to_owned());
        a.evidence[1].place = Some("Kanaleneiland (wijk, Utrecht)".to_owned());
        let xml = render_atom(&scope(&code), std::slice::from_ref(&a), Utc::now());
        elements(&xml);
        assert_eq!(xml.matches("Plek: Kanaleneiland (wijk, Utrecht).").count(), 1, "each place once:\n{xml}");
        a.evidence.iter_mut().for_each(|e| e.place = None);
        let xml = render_atom(&scope(&code), &[a], Utc::now());
        assert!(!xml.contains("Plek:"), "no place line without places:\n{xml}");
    }

    #[test]
    fn feed_escapes_everything() {
        let code = MunicipalityCode::new("GM0344").unwrap();
        let mut a = fixtures::alert();
        a.reasons = vec!["<script>alert('x')</script> & \"meer\" ]]> \u{0}\u{1b}".to_owned()];
        a.theme = Some("a\"b<c".to_owned());
        a.evidence[0].url = Some("https://example.org/?a=1&b=<x>".to_owned());
        a.evidence[1].url = Some("javascript:alert(1)".to_owned());
        let xml = render_atom(&scope(&code), &[a], Utc::now());
        elements(&xml);
        assert!(!xml.contains("<script>"));
        assert!(xml.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;meer&quot; ]]&gt;"));
        assert!(xml.contains("term=\"a&quot;b&lt;c\""));
        assert!(xml.contains("href=\"https://example.org/?a=1&amp;b=&lt;x&gt;\""));
        assert!(!xml.contains("javascript"));
        assert!(!xml.contains('\u{0}') && !xml.contains('\u{1b}'));
    }

    #[test]
    fn regional_feed_and_empty_feed() {
        let mut regional = fixtures::alert();
        regional.municipality = None;
        regional.municipality_name = None;
        let scope = FeedScope { place: FeedPlace::Region, region_name: "Midden-Nederland", self_url: None };
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let mut unplaced = regional.clone();
        unplaced.unplaced = true;
        unplaced.fingerprint = "c".repeat(64);
        let alerts = [regional, fixtures::alert(), unplaced];
        let xml = render_atom(&scope, &alerts, now);
        elements(&xml);
        assert_eq!(xml.matches("<entry>").count(), 1);
        assert!(xml.contains("— regio Midden-Nederland</title>"));
        // The supervisors' feed of every alert: the municipal, region-wide and unplaced ones.
        let all = render_atom(&FeedScope { place: FeedPlace::All, ..scope.clone() }, &alerts, now);
        elements(&all);
        assert_eq!(all.matches("<entry>").count(), 3, "{all}");
        assert!(all.contains("<id>urn:onrust:alerts:alle</id>") && all.contains("alle signalen in regio"), "{all}");
        let unplaced = render_atom(&FeedScope { place: FeedPlace::Unplaced, ..scope.clone() }, &alerts, now);
        assert_eq!(unplaced.matches("<entry>").count(), 1);
        assert!(unplaced.contains("plaats onbekend"), "{unplaced}");
        let empty = render_atom(&scope, &[], now);
        elements(&empty);
        assert!(empty.contains("<updated>2027-01-01T00:00:00Z</updated>"));
        assert!(!empty.contains("<entry>"));
    }
}
