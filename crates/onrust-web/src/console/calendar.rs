//! The calendar of announced actions: what is coming, by day, from the
//! alerts about an announced action and from the archive's messages at level
//! 2 or higher that name a time ahead (`event_time`). An alert and the
//! message behind it are one entry.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Europe::Amsterdam;
use maud::{Markup, html};
use onrust_alert::{Alert, RuleKind};
use onrust_archive::{Hit, SearchRequest, Sort};
use onrust_model::{Level, MunicipalityCode};

use super::html::{level_name, long_date, machine_time};

/// How far ahead the calendar looks.
pub(crate) const HORIZON_DAYS: i64 = 30;
/// An action that began this long ago is still on (a demonstration, a night).
const STILL_ON_HOURS: i64 = 3;
/// Messages read for the calendar at most.
const MAX_MESSAGES: usize = 100;

/// One announced action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Action {
    pub at: DateTime<Utc>,
    pub what: String,
    /// Where the page links: the alert, or the message's original.
    pub link: Option<String>,
    pub place: Option<String>,
    pub level: Option<u8>,
    /// `melding` or `bericht`.
    pub from_alert: bool,
    pub municipalities: Vec<String>,
    message_ids: Vec<String>,
}

/// The archive search for the messages that announce something in the
/// calendar's window, for one municipality or all.
pub(crate) fn request(now: DateTime<Utc>, municipality: Option<MunicipalityCode>) -> SearchRequest {
    let from = now - TimeDelta::hours(STILL_ON_HOURS);
    let to = now + TimeDelta::days(HORIZON_DAYS);
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    SearchRequest {
        query: format!("event_time:[{} TO {}]", stamp(from), stamp(to)),
        municipality,
        min_level: Some(Level::Mobilisation),
        limit: MAX_MESSAGES,
        sort: Sort::Newest,
        ..SearchRequest::default()
    }
}

/// The actions of these alerts and messages in the window, soonest first.
pub(crate) fn actions(alerts: &[&Alert], hits: &[Hit], now: DateTime<Utc>) -> Vec<Action> {
    let window =
        |t: &DateTime<Utc>| *t >= now - TimeDelta::hours(STILL_ON_HOURS) && *t <= now + TimeDelta::days(HORIZON_DAYS);
    let mut out: Vec<Action> = alerts
        .iter()
        .filter(|a| a.kind == RuleKind::Announcement)
        .filter_map(|a| a.event_time.filter(window).map(|at| (at, a)))
        .map(|(at, a)| Action {
            at,
            what: a.evidence.first().and_then(|e| e.title.clone()).unwrap_or_else(|| format!("Melding: {}", a.rule)),
            link: Some(format!("/meldingen/{}", a.fingerprint)),
            place: a.event_place.clone(),
            level: None,
            from_alert: true,
            municipalities: a.municipality.iter().map(|m| m.as_str().to_owned()).collect(),
            message_ids: a.evidence.iter().map(|e| e.message_id.clone()).collect(),
        })
        .collect();
    for hit in hits {
        let Some(at) = hit.event_time.filter(window) else { continue };
        if out.iter().any(|a| a.message_ids.contains(&hit.id)) {
            continue;
        }
        out.push(Action {
            at,
            what: hit.title.clone().unwrap_or_else(|| crate::api::shorten(&hit.text, 80)),
            link: hit.url.clone(),
            place: None,
            level: Some(hit.level),
            from_alert: false,
            municipalities: hit.municipalities.clone(),
            message_ids: vec![hit.id.clone()],
        });
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| b.from_alert.cmp(&a.from_alert)));
    out
}

/// The actions grouped by day (Dutch time), each with its hour.
pub(crate) fn agenda(actions: &[Action], names: &dyn Fn(&str) -> String) -> Markup {
    let day = |a: &Action| a.at.with_timezone(&Amsterdam).date_naive();
    let mut days: Vec<(chrono::NaiveDate, Vec<&Action>)> = Vec::new();
    for action in actions {
        match days.last_mut() {
            Some((d, list)) if *d == day(action) => list.push(action),
            _ => days.push((day(action), vec![action])),
        }
    }
    html! {
        @if days.is_empty() {
            p { "Geen aangekondigde acties in de komende " (HORIZON_DAYS) " dagen." }
        } @else {
            ol class="agenda" {
                @for (date, list) in &days {
                    li {
                        h3 { (long_date(*date)) }
                        ul {
                            @for a in list {
                                li {
                                    time datetime=(machine_time(a.at)) { (a.at.with_timezone(&Amsterdam).format("%H:%M")) }
                                    " · "
                                    @match &a.link {
                                        Some(link) if a.from_alert => a href=(link) { (a.what) },
                                        Some(link) => a href=(link) rel="noreferrer noopener" { (a.what) },
                                        None => (a.what),
                                    }
                                    @if let Some(place) = &a.place { " · " (place) }
                                    @for code in &a.municipalities { " · " (names(code)) }
                                    @if a.from_alert { " · melding" }
                                    @if let Some(level) = a.level { " · niveau " (level) " – " (level_name(level)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str, at: Option<DateTime<Utc>>) -> Hit {
        Hit {
            id: id.into(),
            source: "forum".into(),
            source_kind: "feed".into(),
            url: Some(format!("https://forum.example/{id}")),
            title: Some(format!("Actie {id}")),
            text: "tekst".into(),
            lang: Some("nl".into()),
            published_at: Utc::now(),
            published_at_estimated: false,
            event_time: at,
            level: 2,
            score: 0.5,
            themes: vec![],
            municipalities: vec!["GM0344".into()],
            snippet: None,
            explanation: vec![],
        }
    }

    #[test]
    fn actions_are_in_the_window_soonest_first_and_grouped_by_dutch_day() {
        let now: DateTime<Utc> = "2026-12-30T12:00:00Z".parse().unwrap();
        let hits = [
            hit("late", Some("2026-12-31T21:30:00Z".parse().unwrap())),
            hit("soon", Some("2026-12-30T23:30:00Z".parse().unwrap())),
            hit("past", Some("2026-12-29T12:00:00Z".parse().unwrap())),
            hit("far", Some("2027-03-01T12:00:00Z".parse().unwrap())),
            hit("none", None),
        ];
        let list = actions(&[], &hits, now);
        let ids: Vec<&str> = list.iter().map(|a| a.message_ids[0].as_str()).collect();
        assert_eq!(ids, ["soon", "late"]);
        let names = |c: &str| if c == "GM0344" { "Utrecht".to_owned() } else { c.to_owned() };
        let page = agenda(&list, &names).into_string();
        // 23:30 UTC on the 30th is 00:30 on the 31st in Amsterdam: both on the same Dutch day.
        assert_eq!(page.matches("<h3>").count(), 1, "{page}");
        assert!(page.contains("<h3>donderdag 31 december 2026</h3>"), "{page}");
        assert!(page.contains(">00:30</time>") && page.contains(">22:30</time>"), "{page}");
        assert!(page.contains("Utrecht") && page.contains("niveau 2 – mobilisatie"), "{page}");
        assert!(agenda(&[], &names).into_string().contains("Geen aangekondigde acties"));
    }

    #[test]
    fn the_search_asks_for_times_ahead_at_level_two() {
        let now: DateTime<Utc> = "2026-12-30T12:00:00Z".parse().unwrap();
        let request = request(now, None);
        assert_eq!(request.query, "event_time:[2026-12-30T09:00:00Z TO 2027-01-29T12:00:00Z]");
        assert_eq!(request.min_level, Some(Level::Mobilisation));
    }
}
