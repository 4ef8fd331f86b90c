//! The calendar of announced actions.
//!
//! An action is announced many times: a call on Telegram, a repost, a news
//! item, a reminder the day before. Officers and mayors want *one* entry per
//! action whose evidence grows, not one alert per message. Announcements are
//! the same action when they share the municipality, the theme, the local
//! date (Europe/Amsterdam, since "Saturday" means a Dutch Saturday) and the
//! place when both name one; an announcement without a place joins the entry
//! of that day, and a place learnt later is added to the entry without
//! changing its identity, so alerts and ICS events keep their ids.
//!
//! The lead time (event time − first seen) is what makes the early warning
//! early; it is kept per entry and shown in alerts and in `onrust backtest`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Amsterdam;
use onrust_model::MunicipalityCode;
use serde::{Deserialize, Serialize};

use crate::alert::{Evidence, representative};

/// Evidence kept per entry (the most representative).
const ENTRY_EVIDENCE: usize = 5;
/// Message ids remembered per entry to count each announcement once.
const ENTRY_IDS: usize = 256;

/// One announced action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarEntry {
    /// Stable id: `YYYY-MM-DD` of the local date, plus `@place` when the first
    /// announcement named one. The `event` label of announcement alerts.
    pub key: String,
    pub municipality: Option<MunicipalityCode>,
    pub theme: Option<String>,
    /// The local date of the action (Europe/Amsterdam).
    pub date: NaiveDate,
    /// The place as the messages name it (lowercased), when known.
    pub place: Option<String>,
    /// The earliest announced time of the action on that date.
    pub event_time: DateTime<Utc>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Distinct messages announcing it.
    pub announcements: u64,
    pub evidence: Vec<Evidence>,
    /// Recent message ids (bounded), so a replayed message is not counted twice.
    pub message_ids: Vec<String>,
}

impl CalendarEntry {
    /// Event time − first seen, in seconds (negative when first seen afterwards).
    pub fn lead_time_secs(&self) -> i64 {
        (self.event_time - self.first_seen).num_seconds()
    }
}

/// What [`Calendar::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new entry.
    New,
    /// A further announcement of a known entry.
    Merged,
    /// This message was already counted.
    Duplicate,
}

/// Announced actions per municipality, theme and date.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Calendar {
    /// By `(municipality or "-") | theme or "-" | key`.
    entries: BTreeMap<String, CalendarEntry>,
}

fn id(m: Option<&MunicipalityCode>, theme: Option<&str>, key: &str) -> String {
    format!("{}|{}|{key}", m.map_or("-", MunicipalityCode::as_str), theme.unwrap_or("-"))
}

impl Calendar {
    /// Withdraws the message `id` from every entry's evidence (deleted at its
    /// source); the announcement stays counted. Whether any entry held it.
    pub fn forget_message(&mut self, id: &str) -> bool {
        let mut found = false;
        for entry in self.entries.values_mut() {
            found |= crate::alert::withdraw_evidence(&mut entry.evidence, id);
        }
        found
    }

    /// Records one announcement; returns the entry's key and what happened.
    pub fn record(
        &mut self,
        municipality: Option<&MunicipalityCode>,
        theme: Option<&str>,
        event_time: DateTime<Utc>,
        place: Option<&str>,
        evidence: Evidence,
        seen: DateTime<Utc>,
    ) -> (String, Recorded) {
        let date = event_time.with_timezone(&Amsterdam).date_naive();
        let place = place.map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty());
        let prefix = id(municipality, theme, &date.to_string());
        let found = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .find(|(_, e)| match (&e.place, &place) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
            .map(|(k, _)| k.clone());
        if let Some(k) = found
            && let Some(e) = self.entries.get_mut(&k)
        {
            if e.message_ids.contains(&evidence.message_id) {
                return (e.key.clone(), Recorded::Duplicate);
            }
            if e.message_ids.len() >= ENTRY_IDS {
                e.message_ids.remove(0);
            }
            e.message_ids.push(evidence.message_id.clone());
            e.announcements += 1;
            e.last_seen = e.last_seen.max(seen);
            e.first_seen = e.first_seen.min(seen);
            e.event_time = e.event_time.min(event_time);
            if e.place.is_none() {
                e.place = place;
            }
            let mut all = std::mem::take(&mut e.evidence);
            all.push(evidence);
            e.evidence = representative(&all, ENTRY_EVIDENCE);
            return (e.key.clone(), Recorded::Merged);
        }
        let key = match &place {
            Some(p) => format!("{date}@{p}"),
            None => date.to_string(),
        };
        let entry = CalendarEntry {
            key: key.clone(),
            municipality: municipality.cloned(),
            theme: theme.map(str::to_owned),
            date,
            place,
            event_time,
            first_seen: seen,
            last_seen: seen,
            announcements: 1,
            message_ids: vec![evidence.message_id.clone()],
            evidence: vec![evidence],
        };
        self.entries.insert(id(municipality, theme, &key), entry);
        (key, Recorded::New)
    }

    /// The entry with this municipality, theme and key.
    pub fn get(
        &self,
        municipality: Option<&MunicipalityCode>,
        theme: Option<&str>,
        key: &str,
    ) -> Option<&CalendarEntry> {
        self.entries.get(&id(municipality, theme, key))
    }

    /// All entries, ordered by municipality, theme and date.
    pub fn entries(&self) -> impl Iterator<Item = &CalendarEntry> {
        self.entries.values()
    }

    /// The entries of one municipality (`None`: those that name none), by event time (for ICS).
    pub fn for_municipality(&self, municipality: Option<&MunicipalityCode>) -> Vec<&CalendarEntry> {
        let mut v: Vec<&CalendarEntry> =
            self.entries.values().filter(|e| e.municipality.as_ref() == municipality).collect();
        v.sort_by_key(|e| (e.event_time, e.key.clone()));
        v
    }

    /// Forgets entries whose action was before `before`.
    pub fn prune(&mut self, before: DateTime<Utc>) {
        self.entries.retain(|_, e| e.event_time >= before);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn ev(id: &str, source: &str) -> Evidence {
        Evidence {
            message_id: id.into(),
            source: source.into(),
            url: None,
            title: None,
            excerpt: "demonstratie zaterdag op het Domplein".into(),
            published_at: DateTime::UNIX_EPOCH,
            level: 2,
            score: 0.6,
            signals: vec!["mobilisation".into()],
            received_at: None,
            place: None,
        }
    }

    #[test]
    fn repeated_announcements_merge_into_one_entry_whose_evidence_grows() {
        let mut cal = Calendar::default();
        let m = MunicipalityCode::new("GM0344").unwrap();
        // Saturday 5 December 2026, 14:00 in Amsterdam (13:00 UTC), announced from Monday on.
        let event = Utc.with_ymd_and_hms(2026, 12, 5, 13, 0, 0).unwrap();
        let first = Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap();
        let (k1, r1) = cal.record(Some(&m), Some("stikstof"), event, Some("Domplein"), ev("a", "s1"), first);
        let (k2, r2) =
            cal.record(Some(&m), Some("stikstof"), event, None, ev("b", "s2"), first + chrono::TimeDelta::hours(5));
        let (k3, r3) = cal.record(
            Some(&m),
            Some("stikstof"),
            event + chrono::TimeDelta::hours(1),
            Some("domplein"),
            ev("c", "s3"),
            first + chrono::TimeDelta::days(2),
        );
        let (_, r4) =
            cal.record(Some(&m), Some("stikstof"), event, None, ev("b", "s2"), first + chrono::TimeDelta::days(3));
        assert_eq!((r1, r2, r3, r4), (Recorded::New, Recorded::Merged, Recorded::Merged, Recorded::Duplicate));
        assert_eq!(k1, "2026-12-05@domplein");
        assert!(k1 == k2 && k2 == k3);
        assert_eq!(cal.len(), 1);
        let e = cal.get(Some(&m), Some("stikstof"), &k1).unwrap();
        assert_eq!(e.announcements, 3);
        assert_eq!(e.evidence.len(), 3);
        assert_eq!(e.lead_time_secs(), (event - first).num_seconds());
        // Another place the same day, another theme, another day: other entries.
        cal.record(Some(&m), Some("stikstof"), event, Some("Neude"), ev("d", "s1"), first);
        cal.record(Some(&m), Some("klimaat"), event, None, ev("e", "s1"), first);
        cal.record(Some(&m), Some("stikstof"), event + chrono::TimeDelta::days(1), None, ev("f", "s1"), first);
        assert_eq!(cal.len(), 4);
        assert_eq!(cal.for_municipality(Some(&m)).len(), 4);
        cal.prune(event + chrono::TimeDelta::hours(2));
        assert_eq!(cal.len(), 1);
    }

    #[test]
    fn the_local_date_decides_not_the_utc_date() {
        let mut cal = Calendar::default();
        // 31 Dec 23:30 UTC is already 1 January in Amsterdam.
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        let (k, _) = cal.record(None, Some("jaarwisseling"), t, None, ev("a", "s"), t);
        assert_eq!(k, "2027-01-01");
    }
}
