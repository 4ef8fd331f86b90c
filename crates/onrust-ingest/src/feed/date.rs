//! A lenient date parser for feed timestamps, including Dutch ones.
//!
//! Dutch sites write `za, 14 jun 2026 10:00:00 +0200` or `zaterdag 14 juni
//! 2026 10:00` in fields that should be RFC 2822. The parser tokenises the
//! text and accepts English and Dutch day and month names (full or
//! abbreviated, with or without a dot), times with or without seconds, zone
//! names (`CET`, `CEST`, `MET`, `MEST`, `GMT`, `UT`, `UTC`, `Z`, US zones),
//! `GMT+2`/`UTC+02:00` and numeric offsets, and ISO-8601 forms. A local time
//! without a zone is read in Europe/Amsterdam.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Europe::Amsterdam;

/// The years (UTC) a timestamp may fall in. Later stages store nanosecond
/// timestamps, which overflow after 2262; earlier than 1970 is never a real
/// publication date of a feed item.
pub const SUPPORTED_YEARS: RangeInclusive<i32> = 1970..=2200;

/// Is `dt` within [`SUPPORTED_YEARS`]?
pub fn in_supported_range<Tz: TimeZone>(dt: &DateTime<Tz>) -> bool {
    SUPPORTED_YEARS.contains(&dt.naive_utc().year())
}

/// Parses a feed timestamp; `None` when it cannot be understood or lies
/// outside [`SUPPORTED_YEARS`].
pub fn parse_lenient(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 100 {
        return None;
    }
    let parsed = DateTime::parse_from_rfc3339(text)
        .ok()
        .or_else(|| DateTime::parse_from_rfc2822(text).ok())
        .or_else(|| parse_iso_like(text))
        .or_else(|| parse_tokens(text))?;
    in_supported_range(&parsed).then_some(parsed)
}

/// `2026-06-14T10:00:00`, `2026-06-14 10:00`, `2026-06-14T10:00:00.5+0200`, `2026-06-14`.
fn parse_iso_like(text: &str) -> Option<DateTime<FixedOffset>> {
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    // `get` rather than indexing: byte 10 may fall inside a multi-byte character.
    let date = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
    let rest = text.get(10..)?.trim_start_matches(['T', 't', ' ']);
    if rest.is_empty() {
        return in_amsterdam(date.and_time(NaiveTime::MIN));
    }
    // Split the time from a trailing zone.
    let zone_start = rest.find(['+', '-', 'Z', 'z', ' ']).unwrap_or(rest.len());
    let time = parse_time(&rest[..zone_start])?;
    let zone = rest[zone_start..].trim();
    let local = date.and_time(time);
    if zone.is_empty() {
        return in_amsterdam(local);
    }
    let offset = parse_zone(zone)?;
    offset.from_local_datetime(&local).single()
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    let text = text.trim().trim_end_matches(['h', 'u']);
    let main = text.split('.').next().unwrap_or(text);
    let mut parts = main.split(':');
    let h: u32 = parts.next()?.trim().parse().ok()?;
    let m: u32 = parts.next()?.trim().parse().ok()?;
    let s: u32 = match parts.next() {
        Some(s) => s.trim().parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    NaiveTime::from_hms_opt(h, m, s.min(59))
}

fn in_amsterdam(local: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    // In the autumn overlap take the earlier reading; in the spring gap, assume winter time.
    match Amsterdam.from_local_datetime(&local).earliest() {
        Some(dt) => Some(dt.fixed_offset()),
        None => FixedOffset::east_opt(3600)?.from_local_datetime(&local).single(),
    }
}

fn month(token: &str) -> Option<u32> {
    let t = token.trim_end_matches('.').to_lowercase();
    let m = match t.as_str() {
        "jan" | "januari" | "january" => 1,
        "feb" | "febr" | "februari" | "february" => 2,
        "mrt" | "maart" | "mar" | "march" => 3,
        "apr" | "april" => 4,
        "mei" | "may" => 5,
        "jun" | "juni" | "june" => 6,
        "jul" | "juli" | "july" => 7,
        "aug" | "augustus" | "august" => 8,
        "sep" | "sept" | "september" => 9,
        "okt" | "oktober" | "oct" | "october" => 10,
        "nov" | "november" => 11,
        "dec" | "december" => 12,
        _ => return None,
    };
    Some(m)
}

fn is_weekday(token: &str) -> bool {
    let t = token.trim_end_matches('.').to_lowercase();
    matches!(
        t.as_str(),
        "ma" | "maandag"
            | "di"
            | "dinsdag"
            | "wo"
            | "woensdag"
            | "do"
            | "donderdag"
            | "vr"
            | "vrijdag"
            | "za"
            | "zaterdag"
            | "zo"
            | "zondag"
            | "mon"
            | "monday"
            | "tue"
            | "tues"
            | "tuesday"
            | "wed"
            | "wednesday"
            | "thu"
            | "thur"
            | "thurs"
            | "thursday"
            | "fri"
            | "friday"
            | "sat"
            | "saturday"
            | "sun"
            | "sunday"
    )
}

/// A zone token: a name, `GMT+2`, `UTC+02:00`, `+0200`, `+02:00`, `-05`.
fn parse_zone(token: &str) -> Option<FixedOffset> {
    let t = token.trim().to_ascii_uppercase();
    let named = match t.as_str() {
        "Z" | "GMT" | "UT" | "UTC" | "WET" => Some(0),
        "CET" | "MET" | "MEZ" | "BST" | "WEST" => Some(1),
        "CEST" | "MEST" | "MESZ" | "EET" => Some(2),
        "EEST" => Some(3),
        "EST" => Some(-5),
        "EDT" | "CDT" => Some(if t == "EDT" { -4 } else { -5 }),
        "CST" => Some(-6),
        "MST" => Some(-7),
        "MDT" => Some(-6),
        "PST" => Some(-8),
        "PDT" => Some(-7),
        _ => None,
    };
    if let Some(hours) = named {
        return FixedOffset::east_opt(hours * 3600);
    }
    let numeric = t.strip_prefix("GMT").or_else(|| t.strip_prefix("UTC")).unwrap_or(&t);
    let (sign, digits) = if let Some(digits) = numeric.strip_prefix('+') {
        (1, digits)
    } else if let Some(digits) = numeric.strip_prefix('-') {
        (-1, digits)
    } else {
        return None;
    };
    let number = |s: &str| -> Option<i32> {
        if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    // Only ASCII digits from here on, so byte positions are character positions.
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (number(h)?, number(m)?),
        None if digits.len() <= 2 => (number(digits)?, 0),
        None if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            (number(digits.get(..2)?)?, number(digits.get(2..)?)?)
        }
        None => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Token-based parse of RFC-2822-like and Dutch free forms.
fn parse_tokens(text: &str) -> Option<DateTime<FixedOffset>> {
    // A leading "word," is a weekday in whatever language ("mer, 16 nov 2022 ...").
    let text = match text.split_once(',') {
        Some((first, rest)) if !first.is_empty() && first.chars().all(|c| c.is_alphabetic() || c == '.') => rest,
        _ => text,
    };
    let cleaned = text.replace(',', " ");
    let mut day: Option<u32> = None;
    let mut month_num: Option<u32> = None;
    let mut year: Option<i32> = None;
    let mut time: Option<NaiveTime> = None;
    let mut zone: Option<FixedOffset> = None;
    let tokens: Vec<&str> = cleaned.split_whitespace().collect();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        i += 1;
        let lower = token.to_lowercase();
        if is_weekday(token) || matches!(lower.as_str(), "om" | "uur" | "at" | "h") {
            continue;
        }
        if let Some(m) = month(token) {
            month_num = Some(m);
            continue;
        }
        if token.contains(':') && token.starts_with(|c: char| c.is_ascii_digit()) {
            // A time, possibly with an attached offset: 10:00:00+0200
            let split = token.find(['+', '-']).unwrap_or(token.len());
            time = Some(parse_time(&token[..split])?);
            if split < token.len() {
                zone = Some(parse_zone(&token[split..])?);
            }
            continue;
        }
        if token.starts_with(['+', '-']) {
            zone = Some(parse_zone(token)?);
            continue;
        }
        if let Ok(n) = token.trim_end_matches('.').parse::<u32>() {
            if token.len() == 4 && n >= 1900 {
                year = Some(n as i32);
            } else if day.is_none() && (1..=31).contains(&n) {
                day = Some(n);
            } else if year.is_none() && token.len() == 2 {
                year = Some(2000 + n as i32);
            } else {
                return None;
            }
            continue;
        }
        // 14-06-2026 or 14/06/2026
        if let Some(date) = numeric_date(token) {
            day = Some(date.day);
            month_num = Some(date.month);
            year = Some(date.year);
            continue;
        }
        // A zone, possibly split as "GMT +0200" (take the numeric one).
        if let Some(z) = parse_zone(token) {
            let next_numeric = tokens.get(i).and_then(|n| if n.starts_with(['+', '-']) { parse_zone(n) } else { None });
            match next_numeric {
                Some(n) => {
                    zone = Some(n);
                    i += 1;
                }
                None => zone = Some(z),
            }
            continue;
        }
        // Anything unknown (such as a "(CET)" comment) makes the parse fail rather than guess.
        if token.starts_with('(') && token.ends_with(')') {
            continue;
        }
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year?, month_num?, day?)?;
    let local = date.and_time(time.unwrap_or(NaiveTime::MIN));
    match zone {
        Some(offset) => offset.from_local_datetime(&local).single(),
        None => in_amsterdam(local),
    }
}

/// A date written day first, as `14-06-2026` or `14/06/2026` (not yet checked to exist).
struct NumericDate {
    day: u32,
    month: u32,
    year: i32,
}

fn numeric_date(token: &str) -> Option<NumericDate> {
    let sep = if token.contains('-') { '-' } else { '/' };
    let mut parts = token.split(sep);
    let day: u32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let year_text = parts.next()?;
    if parts.next().is_some() || year_text.len() != 4 {
        return None;
    }
    Some(NumericDate { day, month, year: year_text.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse_lenient(s).map(|d| d.to_rfc3339()).unwrap_or_else(|| "none".into())
    }

    #[test]
    fn standard_forms() {
        assert_eq!(p("Sat, 14 Jun 2026 10:00:00 +0200"), "2026-06-14T10:00:00+02:00");
        assert_eq!(p("2026-06-14T10:00:00Z"), "2026-06-14T10:00:00+00:00");
        assert_eq!(p("2026-06-14T10:00:00"), "2026-06-14T10:00:00+02:00");
        assert_eq!(p("2026-01-14 10:00"), "2026-01-14T10:00:00+01:00");
        assert_eq!(p("2026-01-14"), "2026-01-14T00:00:00+01:00");
        assert_eq!(p("Tue, 10 Jun 2003 04:00:00 GMT"), "2003-06-10T04:00:00+00:00");
        assert_eq!(p("Tue, 10 Jun 2003 04:00:00 EST"), "2003-06-10T04:00:00-05:00");
    }

    #[test]
    fn dutch_forms() {
        assert_eq!(p("za, 14 jun 2026 10:00:00 +0200"), "2026-06-14T10:00:00+02:00");
        assert_eq!(p("zaterdag 14 juni 2026 10:00"), "2026-06-14T10:00:00+02:00");
        assert_eq!(p("ma 2 mrt 2026 09:30 CET"), "2026-03-02T09:30:00+01:00");
        assert_eq!(p("wo, 14 okt. 2026 10:00:00 CEST"), "2026-10-14T10:00:00+02:00");
        assert_eq!(p("vrijdag 1 mei 2026 om 20:00 uur"), "2026-05-01T20:00:00+02:00");
        assert_eq!(p("do 31 dec 2026 23:00 MET"), "2026-12-31T23:00:00+01:00");
        assert_eq!(p("zo 14 jun 2026 10:00 MEST"), "2026-06-14T10:00:00+02:00");
        assert_eq!(p("di 14 jun 2026 10:00 GMT+2"), "2026-06-14T10:00:00+02:00");
        assert_eq!(p("di 14 jun 2026 10:00 UTC+02:00"), "2026-06-14T10:00:00+02:00");
        assert_eq!(p("14-06-2026 10:00"), "2026-06-14T10:00:00+02:00");
        assert_eq!(p("14 januari 2026 10:00 UT"), "2026-01-14T10:00:00+00:00");
        assert_eq!(p("mer, 16 nov 2022 00:38:15 +0100"), "2022-11-16T00:38:15+01:00");
    }

    #[test]
    fn years_outside_the_supported_range_are_none() {
        for s in [
            "2263-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2201-06-01",
            "1969-12-31T23:00:00Z",
            "0001-01-01T00:00:00Z",
            "14 jun 9999 10:00",
            "Tue, 10 Jun 1900 04:00:00 GMT",
            "14-06-2999 10:00",
        ] {
            assert_eq!(p(s), "none", "{s}");
        }
        assert_eq!(p("2200-06-14T10:00:00Z"), "2200-06-14T10:00:00+00:00");
        assert_eq!(p("1970-01-01T00:00:00Z"), "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn multi_byte_characters_at_byte_positions_do_not_panic() {
        assert_eq!(p("2026-06-1é"), "none");
        assert_eq!(p("2026-06-14é10:00"), "none");
        assert_eq!(p("14 jun 2026 10:00 +1é1"), "none");
        assert_eq!(p("14 jun 2026 10:00 GMT+é1"), "none");
        assert_eq!(p("14 jun 2026 10:00 +02:é"), "none");
    }

    #[test]
    fn adversarial_inputs_never_panic() {
        let bases = [
            "Sat, 14 Jun 2026 10:00:00 +0200",
            "2026-06-14T10:00:00.5+0200",
            "2026-06-14 10:00",
            "zaterdag 14 juni 2026 om 10:00 uur GMT +0200",
            "14-06-2026 10:00 UTC+02:00",
            "10:00:00-05 14/06/2026",
        ];
        let inserts = ['é', '€', '😀', '\u{301}', '\u{202E}', '+', '-', ':', '.', ','];
        let mut cases: Vec<String> = Vec::new();
        for base in bases {
            for (i, _) in base.char_indices().chain([(base.len(), ' ')]) {
                for c in inserts {
                    let mut inserted = base.to_owned();
                    inserted.insert(i, c);
                    cases.push(inserted);
                    if let Some(old) = base[i..].chars().next() {
                        let mut replaced = base.to_owned();
                        replaced.replace_range(i..i + old.len_utf8(), c.encode_utf8(&mut [0; 4]));
                        cases.push(replaced);
                    }
                }
                cases.push(base[..i].to_owned());
            }
        }
        for s in [
            "",
            " ",
            "+",
            "-",
            "+-",
            "GMT+",
            "UTC-",
            "+1é1",
            "-é",
            "é",
            "99999-01-01",
            "99999-01-01T00:00:00Z",
            "14 jun 99999",
            "14 jun 99999999999999999999 10:00",
            "+99999999999999999999",
            "12345678901234567890:00",
            "10:99999999999999999999",
            "2026-06-14T10:00:00+99:99",
            "2026-06-14T10:00:00+0é",
            "14-06-99999",
            "99-99-9999",
            "٢٠٢٦-٠٦-١٤",
            "２０２６-06-14",
            "(CET)",
            "(",
            ",",
            "a,",
            "é,",
        ] {
            cases.push(s.to_owned());
        }
        cases.push("9".repeat(100));
        cases.push("é".repeat(50));
        assert!(cases.len() > 300, "{}", cases.len());
        for case in &cases {
            if let Some(dt) = parse_lenient(case) {
                assert!(in_supported_range(&dt), "{case:?} gave {dt}");
            }
        }
    }

    #[test]
    fn nonsense_is_none() {
        for s in ["", "gisteren", "32 jan 2026", "14 foo 2026", "99:99", &"1".repeat(500)] {
            assert_eq!(p(s), "none", "{s}");
        }
    }
}
