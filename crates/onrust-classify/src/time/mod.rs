//! Time expressions: when does an announced action take place?
//!
//! [`find_times`] scans a message (Dutch, with a little English) for day
//! words, dates and clock times, resolves each against the publication
//! moment in Europe/Amsterdam and returns them in text order. A day
//! expression and a clock time within three tokens of each other in the
//! same sentence become one [`TimeMention`] ("zaterdag om 14.00 uur",
//! "vanavond 21.00 uur", "om 20:00 vanavond", "31-12 vanaf 22:00").
//!
//! # Matching
//!
//! Words are matched whole, case-insensitively, with diacritics folded
//! ("één" = "een"), so "nu" never matches inside "januari" and "mei" never
//! inside another word. URLs (from `://` or a leading `www.` to the next
//! whitespace) and `@` mentions are skipped. A line break ends a sentence.
//!
//! # Days
//!
//! - `vandaag`/`today` = publication date; `morgen`/`tomorrow` +1,
//!   `overmorgen` +2; `gisteren`/`yesterday` −1 and `eergisteren` −2 are
//!   past.
//! - Day parts: `vanochtend`/`vanmorgen` 09:00, `vanmiddag` 14:00,
//!   `vanavond`/`tonight` 20:00, `vannacht` 23:00 on the publication date;
//!   but `vannacht` in a text published before 12:00 is the past night
//!   (23:00 the day before, past). `morgenochtend`/`morgenvroeg` 09:00,
//!   `morgenmiddag` 14:00, `morgenavond` 20:00, `morgennacht` 23:00;
//!   `gisteravond`/`gisterenavond` and friends are past. A day may also be
//!   followed by a separate day-part word: `morgen avond`, `zaterdag 's
//!   avonds`, `saturday night`.
//! - Weekdays `maandag`..`zondag`, `monday`..`sunday`, and the abbreviations
//!   `ma di wo do vr za zo` (only when a date or clock time follows). A bare
//!   weekday, `aanstaande`/`komende`/`deze`/`volgende`/`this`/`next`
//!   weekday, or `<weekday> aanstaande` is the next such day strictly after
//!   the publication date, except on the publication weekday itself when a
//!   clock time (or a day part, e.g. `zaterdagavond`) later than the
//!   publication time is given: then it is that same day. `volgende week
//!   <weekday>` / `<weekday> volgende week` = that weekday in the next ISO
//!   week. `afgelopen`/`vorige`/`jongstleden`/`last` weekday = the most recent
//!   such day strictly before the publication date, past.
//!   `zaterdagavond`/`-ochtend`/`-morgen`/`-middag`/`-nacht` = that day at
//!   20:00/09:00/09:00/14:00/23:00.
//! - Dates: `24 februari`, `24 feb`, `24 februari 2027`, `1e januari`,
//!   `31-12`, `31/12`, `31-12-2026`, `31-12-26`, `31.12.2026`. A weekday
//!   followed by a date (`zondag 11 oktober`) is that date. Numeric dates
//!   without a year need at least three digits (`31-12`, `1-12`) so scores
//!   like `2-1` are not dates; `d.m` needs a year (`14.03` is a clock time).
//!   A date without a year up to 14 days before the publication date is
//!   that recent date (past); one further back rolls over to the next year
//!   (after `afgelopen <weekday>` it goes back instead, past). A
//!   date with an explicit year before the publication date is past.
//! - Named days (date in the publication year, rolled to the next year when
//!   already past; `afgelopen`/`vorige` before it, or publication on the day
//!   right after it, means the past occurrence): `oudejaarsavond`,
//!   `oudjaarsavond`, `oud en nieuw` (`oud & nieuw`, `oud-en-nieuw`),
//!   `jaarwisseling` → 31 Dec 20:00; `oudejaarsdag` 31 Dec 12:00;
//!   `oudejaarsnacht` 31 Dec 23:00; `nieuwjaarsnacht` 1 Jan 00:00;
//!   `nieuwjaarsdag` 1 Jan 12:00; `Koningsdag` 27 Apr 12:00 (26 Apr when
//!   the 27th is a Sunday); `Bevrijdingsdag` 5 May 12:00;
//!   `Sinterklaasavond`/`pakjesavond` 5 Dec 20:00; `Kerstavond` 24 Dec 20:00.
//! - A date without clock time or day part is 12:00 with
//!   `has_clock_time == false`.
//!
//! # Clock times
//!
//! A number is a clock time only in a time shape: `hh:mm`/`hh.mm` (hours
//! 0–24, minutes two digits 00–59, optional `:ss`), `14u`, `14u30`, `14h`,
//! `9 uur`, `8pm`, or a bare hour 0–23 after `om`/`vanaf`/`rond`/
//! `omstreeks`/`tot`/`at`/`from`/`around` when the next word is not an
//! unknown word (`om 9 bij het stadhuis` is 09:00, `vanaf 18 jaar` is
//! nothing); `om/vanaf/rond/tot een..twaalf uur` works with number words.
//! Refused: money (`€14.50`, `14.50 euro`), percentages, numbers glued to
//! letters (`A12`) or part of longer number chains (phone numbers,
//! `1.234.567`), durations (`binnen 2 uur`, `over 2 uur`, `3 uur geleden`,
//! `2 uur lang`, `24 uur`), scores (`2-1`), house numbers, anything in a
//! URL. Ranges (`14:00-16:00`, `van 14 tot 16 uur`, `20:00 tot 23:00`,
//! `tussen 14:00 en 16:00`) are one mention at their start time.
//!
//! `'s ochtends`/`'s morgens` keep the hour, `'s middags` and `'s avonds`
//! add 12 to hours 1–11, `'s nachts` keeps the hour. With a day part from
//! the day word instead (`vanavond 9 uur`): evening adds 12 to hours 6–11
//! and moves hours 0–5 to the next day; afternoon adds 12 to hours 1–7;
//! night (`vannacht`, `zaterdagnacht`) moves hours 0–11 to the next day.
//! `middernacht`/`na middernacht`/`midnight`/`24:00` = 00:00 of the day after
//! the day expression (or the publication date).
//!
//! A clock time without a day is today when later than the publication
//! time, else tomorrow; it is never past.
//!
//! # Past
//!
//! `past` is set by past words (`gisteren`, `afgelopen zaterdag`,
//! `vannacht` in a morning post), by dates before the publication date,
//! and for same-day expressions with a time (`vanochtend`, `vandaag om
//! 9 uur`, today's date at a clock time) resolved more than two hours before
//! publication.
//!
//! # Cost
//!
//! A first pass over the bytes (no allocation) looks for a number of at most
//! two digits or a trigger word (a day word, weekday, named day, `uur`,
//! `middernacht`), classifying only words whose first letter and length
//! match some trigger; texts without either return an empty `Vec` without
//! allocating. Otherwise the text is tokenised once into a small `Vec`.

mod lexer;
mod parser;
mod resolve;
#[cfg(test)]
mod tests;
mod words;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone};
use chrono_tz::Europe::Amsterdam;

use lexer::Lexer;
use parser::{Atom, Parser};
use resolve::{Published, Resolved};
use words::has_trigger;

/// One time expression found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct TimeMention {
    /// Resolved start, with the Europe/Amsterdam offset of that date.
    pub at: DateTime<FixedOffset>,
    /// Byte span in the original text.
    pub start: usize,
    pub end: usize,
    /// The original words.
    pub evidence: String,
    /// A clock time was given (vs day part / date only).
    pub has_clock_time: bool,
    /// A day was given (a weekday, date, named day or `morgen`), not only a clock time.
    pub has_day: bool,
    /// Refers to the past relative to the publication moment.
    pub past: bool,
}

/// All time expressions in `text`, in text order, resolved against
/// `published_at` in Europe/Amsterdam. See the module documentation.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn find_times(text: &str, published_at: DateTime<FixedOffset>) -> Vec<TimeMention> {
    if !has_trigger(text) {
        return Vec::new();
    }
    let mut tokens = Vec::with_capacity(text.len() / 4 + 4);
    tokens.extend(Lexer::new(text));
    let utc = published_at.naive_utc();
    // far outside any real publication date: nothing sensible to resolve
    if !(1000..=9000).contains(&utc.year()) {
        return Vec::new();
    }
    let offset = Amsterdam.offset_from_utc_datetime(&utc).fix().local_minus_utc();
    let Some(local) = utc.checked_add_signed(TimeDelta::seconds(i64::from(offset))) else {
        return Vec::new();
    };
    let published = Published { at: local, date: local.date() };
    let parser = Parser { tokens: &tokens, published };
    let atoms = parser.atoms();
    let mut out = Vec::new();
    let mut index = 0;
    while let Some(atom) = atoms.get(index) {
        let next = atoms.get(index + 1);
        let (day, clock, used) = match (atom, next) {
            (Atom::Day(d), Some(Atom::Clock(c))) if parser.gap_ok(d.end, c.start) => (Some(d), Some(c), 2),
            (Atom::Day(d), _) => (Some(d), None, 1),
            (Atom::Clock(c), Some(Atom::Day(d))) if parser.gap_ok(c.end, d.start) => {
                let day_has_own_clock = matches!(
                    atoms.get(index + 2),
                    Some(Atom::Clock(c2)) if parser.gap_ok(d.end, c2.start)
                );
                if day_has_own_clock { (None, Some(c), 1) } else { (Some(d), Some(c), 2) }
            }
            (Atom::Clock(c), _) => (None, Some(c), 1),
        };
        index += used;
        let first = match (day, clock) {
            (Some(d), Some(c)) => d.start.min(c.start),
            (Some(d), None) => d.start,
            (None, Some(c)) => c.start,
            (None, None) => continue,
        };
        let last = day.map_or(0, |d| d.end).max(clock.map_or(0, |c| c.end));
        let (Some(first_token), Some(last_token)) =
            (tokens.get(first), last.checked_sub(1).and_then(|l| tokens.get(l)))
        else {
            continue;
        };
        let Some(Resolved { at: local, past }) = published.resolve(day, clock) else {
            continue;
        };
        let Some(at) = to_amsterdam(local) else {
            continue;
        };
        let (start, end) = (first_token.start, last_token.end);
        out.push(TimeMention {
            at,
            start,
            end,
            evidence: text.get(start..end).unwrap_or_default().to_string(),
            has_clock_time: clock.is_some(),
            has_day: day.is_some(),
            past,
        });
    }
    out
}

/// A local Amsterdam wall-clock time with the offset valid then; a time in
/// the spring-forward gap moves one hour on, an ambiguous one takes the
/// earlier (summer-time) reading.
fn to_amsterdam(local: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    Amsterdam
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            let later = local.checked_add_signed(TimeDelta::hours(1))?;
            Amsterdam.from_local_datetime(&later).earliest()
        })
        .map(|d| d.fixed_offset())
}

/// `date` moved `days` on (or back, when negative); `None` off the calendar.
fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    let shift = Days::new(days.unsigned_abs());
    if days >= 0 { date.checked_add_days(shift) } else { date.checked_sub_days(shift) }
}

/// `day` `month` in `year`, or the next year where it exists (29 February).
fn first_valid(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    (year..year.checked_add(8)?).find_map(|y| NaiveDate::from_ymd_opt(y, month, day))
}

/// `day` `month` in `year`, or the last year before it where it exists.
fn first_valid_back(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    (year.checked_sub(8)?..=year).rev().find_map(|y| NaiveDate::from_ymd_opt(y, month, day))
}
