//! The table of time expressions and the properties every resolution keeps.

use chrono::{DateTime, FixedOffset};

use super::lexer::Lexer;
use super::words::has_trigger;
use super::{TimeMention, find_times};

/// Wednesday 10 June 2026, 10:00 summer time.
const WED: &str = "2026-06-10T10:00:00+02:00";

fn ts(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn first(text: &str, published: &str) -> Option<TimeMention> {
    find_times(text, ts(published)).into_iter().next()
}

/// (text, published, expected start or "" for none, expected past)
const CASES: &[(&str, &str, &str, bool)] = &[
    // relative days
    ("Vandaag demo op de Dam", WED, "2026-06-10T12:00:00+02:00", false),
    ("morgen actie", WED, "2026-06-11T12:00:00+02:00", false),
    ("overmorgen actie", WED, "2026-06-12T12:00:00+02:00", false),
    ("morgenochtend blokkade", WED, "2026-06-11T09:00:00+02:00", false),
    ("morgenmiddag blokkade", WED, "2026-06-11T14:00:00+02:00", false),
    ("morgenavond blokkade", WED, "2026-06-11T20:00:00+02:00", false),
    ("morgen avond blokkade", WED, "2026-06-11T20:00:00+02:00", false),
    ("vanochtend", WED, "2026-06-10T09:00:00+02:00", false),
    ("vanmiddag", WED, "2026-06-10T14:00:00+02:00", false),
    ("vanavond samenkomen", WED, "2026-06-10T20:00:00+02:00", false),
    ("vannacht onrustig", WED, "2026-06-09T23:00:00+02:00", true),
    ("vannacht onrustig", "2026-06-10T18:00:00+02:00", "2026-06-10T23:00:00+02:00", false),
    ("vannacht om 2 uur", "2026-06-10T18:00:00+02:00", "2026-06-11T02:00:00+02:00", false),
    ("vannacht om 11 uur", "2026-12-31T19:45:00+01:00", "2026-12-31T23:00:00+01:00", false),
    ("om 12 uur vannacht", "2026-12-31T16:00:00+01:00", "2027-01-01T00:00:00+01:00", false),
    ("Samstag", "2026-08-27T20:00:00+02:00", "2026-08-29T12:00:00+02:00", false),
    ("demain", "2026-02-13T21:00:00+01:00", "2026-02-14T12:00:00+01:00", false),
    ("vannacht om 3 uur brand", WED, "2026-06-10T03:00:00+02:00", true),
    ("gisteren rellen", WED, "2026-06-09T12:00:00+02:00", true),
    ("eergisteren rellen", WED, "2026-06-08T12:00:00+02:00", true),
    ("gisteravond onrust", WED, "2026-06-09T20:00:00+02:00", true),
    ("vandaag om 9 uur", "2026-06-10T14:00:00+02:00", "2026-06-10T09:00:00+02:00", true),
    // day part + clock
    ("vanavond 21.00 uur", WED, "2026-06-10T21:00:00+02:00", false),
    ("om 20:00 vanavond", WED, "2026-06-10T20:00:00+02:00", false),
    ("vanavond om 9 uur", WED, "2026-06-10T21:00:00+02:00", false),
    ("vanmiddag om 3 uur", WED, "2026-06-10T15:00:00+02:00", false),
    ("zaterdagnacht 2 uur", WED, "2026-06-14T02:00:00+02:00", false),
    // weekdays
    ("zaterdag om 14.00 uur", WED, "2026-06-13T14:00:00+02:00", false),
    ("Zaterdag demo", WED, "2026-06-13T12:00:00+02:00", false),
    ("woensdag demo", WED, "2026-06-17T12:00:00+02:00", false),
    ("woensdag 18:00 demo", WED, "2026-06-10T18:00:00+02:00", false),
    ("woensdag 09:00 demo", WED, "2026-06-17T09:00:00+02:00", false),
    ("woensdagavond demo", WED, "2026-06-10T20:00:00+02:00", false),
    ("aanstaande zaterdag", WED, "2026-06-13T12:00:00+02:00", false),
    ("komende vrijdag", WED, "2026-06-12T12:00:00+02:00", false),
    ("zaterdag aanstaande", WED, "2026-06-13T12:00:00+02:00", false),
    ("volgende week zaterdag", WED, "2026-06-20T12:00:00+02:00", false),
    ("volgende week maandag", WED, "2026-06-15T12:00:00+02:00", false),
    ("afgelopen zaterdag was het raak", WED, "2026-06-06T12:00:00+02:00", true),
    ("vorige woensdag", WED, "2026-06-03T12:00:00+02:00", true),
    ("zaterdagavond", WED, "2026-06-13T20:00:00+02:00", false),
    ("zondagochtend", WED, "2026-06-14T09:00:00+02:00", false),
    ("zaterdag 's avonds", WED, "2026-06-13T20:00:00+02:00", false),
    ("za 14:00 Malieveld", WED, "2026-06-13T14:00:00+02:00", false),
    ("za. 13 juni", WED, "2026-06-13T12:00:00+02:00", false),
    ("saturday 3pm", WED, "2026-06-13T15:00:00+02:00", false),
    ("next saturday", WED, "2026-06-13T12:00:00+02:00", false),
    ("last saturday", WED, "2026-06-06T12:00:00+02:00", true),
    ("tonight", WED, "2026-06-10T20:00:00+02:00", false),
    ("tomorrow at 8pm", WED, "2026-06-11T20:00:00+02:00", false),
    // dates
    ("24 februari", WED, "2027-02-24T12:00:00+01:00", false),
    ("24 feb", WED, "2027-02-24T12:00:00+01:00", false),
    ("24 februari 2027", WED, "2027-02-24T12:00:00+01:00", false),
    ("24 februari 2025", WED, "2025-02-24T12:00:00+01:00", true),
    ("zondag 11 oktober", WED, "2026-10-11T12:00:00+02:00", false),
    ("31-12", WED, "2026-12-31T12:00:00+01:00", false),
    ("31/12", WED, "2026-12-31T12:00:00+01:00", false),
    ("31-12-2026", WED, "2026-12-31T12:00:00+01:00", false),
    ("1 januari", WED, "2027-01-01T12:00:00+01:00", false),
    ("5 juni", WED, "2026-06-05T12:00:00+02:00", true),
    ("5 mei", WED, "2027-05-05T12:00:00+02:00", false),
    ("10 juni om 20:00", WED, "2026-06-10T20:00:00+02:00", false),
    ("31-12 vanaf 22:00", WED, "2026-12-31T22:00:00+01:00", false),
    ("1e mei", "2026-03-01T10:00:00+01:00", "2026-05-01T12:00:00+02:00", false),
    ("14 januari", WED, "2027-01-14T12:00:00+01:00", false),
    // clock times alone
    ("om 20:00 verzamelen", WED, "2026-06-10T20:00:00+02:00", false),
    ("om 9 uur verzamelen", WED, "2026-06-11T09:00:00+02:00", false),
    ("om 9 bij het stadhuis", WED, "2026-06-11T09:00:00+02:00", false),
    ("14u Malieveld", WED, "2026-06-10T14:00:00+02:00", false),
    ("14u30 Malieveld", WED, "2026-06-10T14:30:00+02:00", false),
    ("2 uur 's middags", WED, "2026-06-10T14:00:00+02:00", false),
    ("om 8 uur ’s avonds", WED, "2026-06-10T20:00:00+02:00", false),
    ("9 uur 's ochtends", WED, "2026-06-11T09:00:00+02:00", false),
    ("3 uur 's nachts", WED, "2026-06-11T03:00:00+02:00", false),
    ("om middernacht", WED, "2026-06-11T00:00:00+02:00", false),
    ("zaterdag na middernacht", WED, "2026-06-14T00:00:00+02:00", false),
    ("om één uur 's middags", WED, "2026-06-10T13:00:00+02:00", false),
    ("van 14 tot 16 uur", WED, "2026-06-10T14:00:00+02:00", false),
    ("tussen 14:00 en 16:00", WED, "2026-06-10T14:00:00+02:00", false),
    ("20.00-22.00 uur", WED, "2026-06-10T20:00:00+02:00", false),
    ("vrijdag 13-3 20:00", WED, "2027-03-13T20:00:00+01:00", false),
    ("Zaterdag 21 maart 2026 | 14:00", WED, "2026-03-21T14:00:00+01:00", true),
    ("morgen om 24:00", WED, "2026-06-12T00:00:00+02:00", false),
    ("Morgen 14.00u Binnenhof", WED, "2026-06-11T14:00:00+02:00", false),
    ("za 14/3 om 13u", WED, "2027-03-14T13:00:00+01:00", false),
    ("€ 20,- per persoon, aanvang 19.30", WED, "2026-06-10T19:30:00+02:00", false),
    // named days
    ("oudejaarsavond", WED, "2026-12-31T20:00:00+01:00", false),
    ("oudjaarsavond", "2026-01-02T10:00:00+01:00", "2026-12-31T20:00:00+01:00", false),
    ("oud en nieuw", WED, "2026-12-31T20:00:00+01:00", false),
    ("Oud & Nieuw vanaf 22:00", WED, "2026-12-31T22:00:00+01:00", false),
    ("oud-en-nieuw om 00:30", WED, "2027-01-01T00:30:00+01:00", false),
    ("jaarwisseling", "2026-01-01T10:00:00+01:00", "2025-12-31T20:00:00+01:00", true),
    ("oudejaarsdag", WED, "2026-12-31T12:00:00+01:00", false),
    ("nieuwjaarsnacht", WED, "2027-01-01T00:00:00+01:00", false),
    ("nieuwjaarsdag", WED, "2027-01-01T12:00:00+01:00", false),
    ("Koningsdag", "2026-03-01T10:00:00+01:00", "2026-04-27T12:00:00+02:00", false),
    ("Koningsdag", "2025-03-01T10:00:00+01:00", "2025-04-26T12:00:00+02:00", false),
    ("Koningsdag", "2026-04-30T10:00:00+02:00", "2027-04-27T12:00:00+02:00", false),
    ("afgelopen Koningsdag", "2026-04-30T10:00:00+02:00", "2026-04-27T12:00:00+02:00", true),
    ("Bevrijdingsdag", "2026-03-01T10:00:00+01:00", "2026-05-05T12:00:00+02:00", false),
    ("pakjesavond", WED, "2026-12-05T20:00:00+01:00", false),
    ("Sinterklaasavond", WED, "2026-12-05T20:00:00+01:00", false),
    ("kerstavond", WED, "2026-12-24T20:00:00+01:00", false),
    // DST
    ("zondag 14:00", "2026-03-27T10:00:00+01:00", "2026-03-29T14:00:00+02:00", false),
    ("zaterdag 14:00", "2026-03-27T10:00:00+01:00", "2026-03-28T14:00:00+01:00", false),
    ("zondag 02:30", "2026-03-27T10:00:00+01:00", "2026-03-29T03:30:00+02:00", false),
    ("zondag 14:00", "2026-10-23T10:00:00+02:00", "2026-10-25T14:00:00+01:00", false),
    ("morgen", "2026-03-28T23:30:00+01:00", "2026-03-29T12:00:00+02:00", false),
    ("vandaag", "2026-03-28T23:30:00Z", "2026-03-29T12:00:00+02:00", false),
    // not times
    ("Dorpsstraat 12", WED, "", false),
    ("uitslag 2-1", WED, "", false),
    ("kost €14.50", WED, "", false),
    ("kost € 14.50", WED, "", false),
    ("kost 14.50 euro", WED, "", false),
    ("stijging van 12.50%", WED, "", false),
    ("bel 06-12345678", WED, "", false),
    ("bel 020-1234567", WED, "", false),
    ("zie https://example.com/14:00/31-12", WED, "", false),
    ("binnen 2 uur", WED, "", false),
    ("3 uur geleden", WED, "", false),
    ("24 uur per dag", WED, "", false),
    ("in 2026 was het druk", WED, "", false),
    ("1.234 mensen", WED, "", false),
    ("vanaf 18 jaar", WED, "", false),
    ("om 3 redenen", WED, "", false),
    ("van 2 tot 3 jaar", WED, "", false),
    ("januari was koud, nu niet", WED, "", false),
    ("ik do het zo 20 keer", WED, "", false),
    ("de A12 dicht", WED, "", false),
    ("versie 1.12.3", WED, "", false),
];

#[test]
fn time_table() {
    let mut failures = Vec::new();
    for &(text, published, want, want_past) in CASES {
        let got = first(text, published);
        let ok = match &got {
            None => want.is_empty(),
            Some(m) => m.at.to_rfc3339() == want && m.past == want_past,
        };
        if !ok {
            failures.push(format!(
                "{text:?} @ {published}: want {want:?} past={want_past}, got {:?}",
                got.map(|m| (m.at.to_rfc3339(), m.past, m.evidence))
            ));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn time_spans_evidence_and_order() {
    let text = "Zaterdag om 14.00 uur op de Dam, zondag 15:00 ook.";
    let found = find_times(text, ts(WED));
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].evidence, "Zaterdag om 14.00 uur");
    assert_eq!((found[0].start, found[0].end), (0, 21));
    assert!(found[0].has_clock_time);
    assert_eq!(found[1].evidence, "zondag 15:00");
    assert_eq!(found[1].at.to_rfc3339(), "2026-06-14T15:00:00+02:00");
    let only_day = first("Zaterdag demo", WED).unwrap();
    assert!(!only_day.has_clock_time);
    let both = find_times("vandaag en morgen", ts(WED));
    assert_eq!(both.len(), 2);
    assert!(both[0].at < both[1].at);
}

#[test]
fn time_ranges_are_one_mention() {
    let found = find_times("zaterdag van 14:00 tot 16:00 op het plein", ts(WED));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].at.to_rfc3339(), "2026-06-13T14:00:00+02:00");
    assert_eq!(found[0].evidence, "zaterdag van 14:00 tot 16:00");
    let found = find_times("14:00-16:00", ts(WED));
    assert_eq!(found.len(), 1);
}

#[test]
fn time_diacritics_and_multibyte() {
    let m = first("Zondág 11 Október om 14:00", ts_str()).unwrap();
    assert_eq!(m.at.to_rfc3339(), "2026-10-11T14:00:00+02:00");
    assert_eq!(m.evidence, "Zondág 11 Október om 14:00");
    let m = first("🔥🔥 ZATERDAG 20.00u 🔥", WED).unwrap();
    assert_eq!(m.at.to_rfc3339(), "2026-06-13T20:00:00+02:00");
}

fn ts_str() -> &'static str {
    WED
}

#[test]
fn time_no_trigger_no_mentions() {
    assert!(find_times("Geen tijd hier, alleen woorden.", ts(WED)).is_empty());
    assert!(find_times("", ts(WED)).is_empty());
}

#[test]
fn time_adversarial_input_does_not_panic() {
    let pieces = [
        "1",
        "2",
        "9",
        "0",
        "12",
        "24",
        "31",
        "ZaterdagAvond",
        "ÉÉN",
        "Zondág",
        "koningsdag",
        "www.",
        "1.234",
        "€14.50",
        "t/m",
        "morgenavond",
        "vanavond",
        "afgelopen",
        ":",
        ".",
        "-",
        "/",
        " ",
        "'s",
        "’",
        "uur",
        "u",
        "om",
        "tot",
        "é",
        "ë",
        "ß",
        "🔥",
        "日本",
        "zaterdag",
        "za",
        "vannacht",
        "morgen",
        "januari",
        "feb",
        "2026",
        "€",
        "%",
        "\n",
        "http://",
        "@",
        "oud",
        "en",
        "nieuw",
        "&",
        "middernacht",
        "pm",
        "e",
        "avonds",
        "van",
        "99999999999",
        "İ",
        "\u{301}",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let published =
        [ts(WED), ts("2026-03-29T01:30:00+01:00"), ts("2026-12-31T23:59:59+01:00"), ts("2025-01-01T00:00:00+14:00")];
    for round in 0..600 {
        let mut text = String::new();
        for _ in 0..(round % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let piece = pieces[(seed % pieces.len() as u64) as usize];
            text.push_str(piece);
            if seed & 0x100 != 0 {
                text.push(' ');
            }
        }
        let lexed = Lexer::new(&text).any(|t| t.is_trigger());
        assert!(!lexed || has_trigger(&text), "pre-check missed {text:?}");
        let found = find_times(&text, published[round % published.len()]);
        let mut last = 0;
        for m in found {
            assert!(m.start <= m.end && m.end <= text.len());
            assert!(m.start >= last, "order in {text:?}");
            assert_eq!(text.get(m.start..m.end), Some(m.evidence.as_str()));
            last = m.start;
        }
    }
    // extremes of the calendar
    let text = "morgen 31-12 oudejaarsavond om 23:00 volgende week zondag afgelopen Koningsdag";
    for extreme in [
        DateTime::parse_from_rfc3339("9999-12-31T23:00:00+00:00").unwrap(),
        DateTime::parse_from_rfc3339("0000-01-01T00:00:00+00:00").unwrap(),
        DateTime::<chrono::Utc>::MAX_UTC.fixed_offset(),
        DateTime::<chrono::Utc>::MIN_UTC.fixed_offset(),
        ts("9000-12-31T23:59:59+01:00"),
        ts("1000-01-01T00:00:00+01:00"),
    ] {
        let _ = find_times(text, extreme);
    }
}

/// Property-based tests (proptest): any text gives well-formed mentions, and
/// a weekday with a clock time resolves to that clock on that weekday.
mod properties {
    use chrono::{Datelike, TimeDelta, Timelike, Weekday};
    use proptest::prelude::*;

    use super::*;

    /// Pieces time expressions and their near misses are made of.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "morgen",
                "vanavond",
                "vannacht",
                "zaterdag",
                "Zondág",
                "woensdagavond",
                "om",
                "uur",
                "u",
                "tot",
                "van",
                "middernacht",
                "koningsdag",
                "oudjaarsavond",
                "gisteren",
                "aanstaande",
                "december",
                "juni",
                "Samstag",
                "demain",
                "🔥",
                "é",
                "-",
                ":",
                ".",
                "/",
                " ",
                "\n",
            ])
            .prop_map(str::to_owned),
            "[0-9]{1,5}",
            "[a-zA-Z]{1,7}",
        ]
    }

    const WEEKDAYS: [(&str, Weekday); 7] = [
        ("maandag", Weekday::Mon),
        ("dinsdag", Weekday::Tue),
        ("woensdag", Weekday::Wed),
        ("donderdag", Weekday::Thu),
        ("vrijdag", Weekday::Fri),
        ("zaterdag", Weekday::Sat),
        ("zondag", Weekday::Sun),
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Mentions lie in the text, in order, without overlap, on character
        /// boundaries, with their own words as evidence; the same input gives
        /// the same answer; nothing panics.
        #[test]
        fn any_text_gives_well_formed_mentions(
            pieces in prop::collection::vec(piece(), 0..30),
            separators in prop::collection::vec(prop::sample::select(vec!["", " ", ", "]), 30),
            seconds in 0i64..4_000_000_000,
            offset_hours in -12i32..=14,
        ) {
            let text: String = pieces.iter().zip(&separators).map(|(p, s)| format!("{p}{s}")).collect();
            let offset = FixedOffset::east_opt(offset_hours * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap());
            let published = DateTime::from_timestamp(seconds, 0).unwrap_or_default().with_timezone(&offset);
            let found = find_times(&text, published);
            let mut previous_end = 0;
            for m in &found {
                prop_assert!(m.start < m.end && m.end <= text.len(), "{m:?} in {text:?}");
                prop_assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
                prop_assert_eq!(&m.evidence, &text[m.start..m.end]);
                prop_assert!(m.start >= previous_end, "in text order, no overlap: {found:?}");
                previous_end = m.end;
            }
            prop_assert_eq!(find_times(&text, published), found);
        }

        /// "zaterdag om 14:05 uur" is that clock time on the next such day
        /// (today when it is still ahead), announced, not past.
        #[test]
        fn a_weekday_and_a_clock_time_resolve_to_them(
            day in 0usize..7,
            hour in 0u32..24,
            minute in 0u32..60,
            // June and July: no change of summer time inside the week ahead.
            published_day in 0u64..50,
            published_minute in 0i64..(24 * 60),
        ) {
            let (name, weekday) = WEEKDAYS[day];
            let text = format!("{name} om {hour}:{minute:02} uur");
            let published = ts("2026-06-01T00:00:00+02:00")
                + TimeDelta::days(published_day as i64)
                + TimeDelta::minutes(published_minute);
            let found = find_times(&text, published);
            prop_assert_eq!(found.len(), 1, "{} at {}: {:?}", text, published, found);
            let m = &found[0];
            prop_assert_eq!(&m.evidence, &text);
            prop_assert!(m.has_clock_time && m.has_day && !m.past, "{m:?}");
            prop_assert_eq!((m.at.hour(), m.at.minute()), (hour, minute), "{} at {}: {}", text, published, m.at);
            prop_assert_eq!(m.at.weekday(), weekday, "{} at {}: {}", text, published, m.at);
            let ahead = m.at.signed_duration_since(published);
            prop_assert!(ahead >= TimeDelta::zero() && ahead <= TimeDelta::days(7), "{} at {}: {}", text, published, m.at);
        }
    }
}
