//! A realistic alert for the renderers', the notifiers', the web side's and
//! the daemon's tests (feature `fixtures`, a dev-dependency of
//! `onrust-notify`, `onrust-web` and `onrust`; never in a build of the
//! daemon). A test that needs a variation builds it from [`alert`] and
//! changes the fields it is about.

use chrono::{TimeZone, Utc};
use onrust_model::MunicipalityCode;

use crate::alert::{Alert, AlertStatus, Evidence, RuleKind, Severity};

pub fn evidence(id: &str, minute: u32) -> Evidence {
    Evidence {
        message_id: id.to_owned(),
        source: "rtvutrecht".to_owned(),
        url: Some(format!("https://www.rtvutrecht.nl/nieuws/{id}")),
        title: Some("Oproep voor oudjaarsavond".to_owned()),
        excerpt: "Oudjaarsavond gaan we oorlog maken met de politie op het Vredenburgplein".to_owned(),
        published_at: Utc.with_ymd_and_hms(2026, 12, 30, 20, minute, 0).single().unwrap_or_default(),
        level: 3,
        score: 0.93,
        signals: vec!["call_to_violence".to_owned()],
        received_at: None,
        place: None,
    }
}

pub fn alert() -> Alert {
    Alert {
        fingerprint: "3f9a0c1e".repeat(8),
        rule: "oproep-tot-geweld".to_owned(),
        rule_version: "r1a2b3c".to_owned(),
        kind: RuleKind::Announcement,
        severity: Severity::Critical,
        municipality: MunicipalityCode::new("GM0344").ok(),
        municipality_name: Some("Utrecht".to_owned()),
        theme: Some("jaarwisseling".to_owned()),
        status: AlertStatus::Firing,
        starts_at: Utc.with_ymd_and_hms(2026, 12, 30, 20, 45, 0).single().unwrap_or_default(),
        updated_at: Utc.with_ymd_and_hms(2026, 12, 30, 21, 0, 0).single().unwrap_or_default(),
        ends_at: None,
        event_time: Some(Utc.with_ymd_and_hms(2026, 12, 31, 21, 0, 0).single().unwrap_or_default()),
        event_place: Some("Vredenburgplein".to_owned()),
        observed: 4,
        expected: Some(0.5),
        p_value: Some(0.0004),
        threshold: Some(3),
        window_secs: 3600,
        reasons: vec![
            "Vier berichten roepen op tot geweld tegen de politie tijdens de jaarwisseling.".to_owned(),
            "Een actie is aangekondigd voor oudjaarsavond op het Vredenburgplein.".to_owned(),
        ],
        evidence: vec![evidence("m1", 40), evidence("m2", 50)],
        confidence: 0.86,
        reviewed_by: Some("j.devries (supervisor)".to_owned()),
        acknowledged_by: None,
        ack_comment: None,
        lead_time_secs: None,
        event: None,
        unplaced: false,
        escalates_at: None,
        decisions: Vec::new(),
        mandate: Some("jaarwisseling-2026".to_owned()),
    }
}
