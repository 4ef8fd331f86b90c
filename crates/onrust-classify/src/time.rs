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

/// Days before publication within which a date without a year is the recent one, not next year's.
const RECENT_DAYS: u64 = 14;
use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike,
};
use chrono_tz::Europe::Amsterdam;
use unicode_normalization::char::{decompose_canonical, is_combining_mark};

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
    let mut toks = Vec::with_capacity(text.len() / 4 + 4);
    toks.extend(Lexer::new(text));
    let utc = published_at.naive_utc();
    // far outside any real publication date: nothing sensible to resolve
    if !(1000..=9000).contains(&utc.year()) {
        return Vec::new();
    }
    let offset = Amsterdam.offset_from_utc_datetime(&utc).fix().local_minus_utc();
    let Some(pub_local) = utc.checked_add_signed(TimeDelta::seconds(i64::from(offset))) else {
        return Vec::new();
    };
    let cx = Cx { t: &toks, pub_ndt: pub_local, pub_date: pub_local.date() };
    let atoms = cx.atoms();
    let mut out = Vec::new();
    let mut k = 0;
    while let Some(atom) = atoms.get(k) {
        let next = atoms.get(k + 1);
        let (day, clock, used) = match (atom, next) {
            (Atom::Day(d), Some(Atom::Clock(c))) if cx.gap_ok(d.end, c.start) => (Some(d), Some(c), 2),
            (Atom::Day(d), _) => (Some(d), None, 1),
            (Atom::Clock(c), Some(Atom::Day(d))) if cx.gap_ok(c.end, d.start) => {
                let day_has_own_clock = matches!(
                    atoms.get(k + 2),
                    Some(Atom::Clock(c2)) if cx.gap_ok(d.end, c2.start)
                );
                if day_has_own_clock { (None, Some(c), 1) } else { (Some(d), Some(c), 2) }
            }
            (Atom::Clock(c), _) => (None, Some(c), 1),
        };
        k += used;
        let first = match (day, clock) {
            (Some(d), Some(c)) => d.start.min(c.start),
            (Some(d), None) => d.start,
            (None, Some(c)) => c.start,
            (None, None) => continue,
        };
        let last = day.map_or(0, |d| d.end).max(clock.map_or(0, |c| c.end));
        let (Some(ft), Some(lt)) = (toks.get(first), last.checked_sub(1).and_then(|l| toks.get(l))) else {
            continue;
        };
        let Some((ndt, past)) = cx.resolve(day, clock) else {
            continue;
        };
        let Some(at) = to_amsterdam(ndt) else {
            continue;
        };
        out.push(TimeMention {
            at,
            start: ft.start,
            end: lt.end,
            evidence: text.get(ft.start..lt.end).unwrap_or_default().to_string(),
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
fn to_amsterdam(ndt: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    Amsterdam
        .from_local_datetime(&ndt)
        .earliest()
        .or_else(|| {
            let later = ndt.checked_add_signed(TimeDelta::hours(1))?;
            Amsterdam.from_local_datetime(&later).earliest()
        })
        .map(|d| d.fixed_offset())
}

// ---------------------------------------------------------------------------
// Words

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayPart {
    Morning,
    Afternoon,
    Evening,
    Night,
    /// 00:00 (nieuwjaarsnacht).
    Midnight,
}

impl DayPart {
    fn default_hour(self) -> u32 {
        match self {
            DayPart::Morning => 9,
            DayPart::Afternoon => 14,
            DayPart::Evening => 20,
            DayPart::Night => 23,
            DayPart::Midnight => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    OudejaarsAvond,
    OudejaarsDag,
    OudejaarsNacht,
    NieuwjaarsNacht,
    NieuwjaarsDag,
    Koningsdag,
    Bevrijdingsdag,
    Sinterklaas,
    Kerstavond,
}

impl Named {
    fn date(self, year: i32) -> Option<NaiveDate> {
        let (m, d) = match self {
            Named::OudejaarsAvond | Named::OudejaarsDag | Named::OudejaarsNacht => (12, 31),
            Named::NieuwjaarsNacht | Named::NieuwjaarsDag => (1, 1),
            Named::Koningsdag => {
                let d = NaiveDate::from_ymd_opt(year, 4, 27)?;
                return if d.weekday() == chrono::Weekday::Sun {
                    NaiveDate::from_ymd_opt(year, 4, 26)
                } else {
                    Some(d)
                };
            }
            Named::Bevrijdingsdag => (5, 5),
            Named::Sinterklaas => (12, 5),
            Named::Kerstavond => (12, 24),
        };
        NaiveDate::from_ymd_opt(year, m, d)
    }

    fn day_part(self) -> Option<DayPart> {
        match self {
            Named::OudejaarsAvond | Named::Sinterklaas | Named::Kerstavond => Some(DayPart::Evening),
            Named::OudejaarsNacht => Some(DayPart::Night),
            Named::NieuwjaarsNacht => Some(DayPart::Midnight),
            Named::OudejaarsDag | Named::NieuwjaarsDag | Named::Koningsdag | Named::Bevrijdingsdag => None,
        }
    }
}

/// The words this module cares about, after folding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum W {
    /// A relative day: offset in days, day part.
    Rel(i8, Option<DayPart>),
    /// `vannacht`: depends on the publication hour.
    Vannacht,
    /// `morgen`: tomorrow, or "morning" after a weekday.
    Morgen,
    Weekday(u8),
    WeekdayAbbr(u8),
    WeekdayPart(u8, DayPart),
    /// A separate day-part word: `avond`, `evening`.
    PartWord(DayPart),
    /// `avonds` as in `'s avonds` (also `savonds`).
    PartS(DayPart),
    /// The `s` of `'s`.
    S,
    Month(u8),
    Named(Named),
    Oud,
    En,
    Nieuw,
    /// `aanstaande`, `komende`, `deze`, `this`, `next`.
    Upcoming,
    Volgende,
    Week,
    /// `afgelopen`, `vorige`, `last`.
    Last,
    Uur,
    /// `u` / `h` after a number.
    U,
    Am,
    Pm,
    Middernacht,
    /// `om`, `vanaf`, `rond`, `at`, `from`, `around`.
    Om,
    Tot,
    Van,
    /// `tussen`: makes `en` a range connector.
    Tussen,
    Na,
    NumWord(u8),
    /// Ordinal suffix: `1e`, `1ste`.
    Ord,
    /// Prepositions that may follow `om 9`.
    Link,
    /// Words before a number that make `N uur` a duration.
    DurBefore,
    /// Words after `N uur` that make it a duration.
    DurAfter,
    Currency,
    Unit,
    Other,
}

/// Every word this module knows, folded to lowercase ASCII. Weekday
/// compounds (`zaterdagavond`) are recognised by [`weekday_compound`].
const WORDS: &[(&str, W)] = {
    use DayPart::*;
    &[
        ("vandaag", W::Rel(0, None)),
        ("today", W::Rel(0, None)),
        ("vanochtend", W::Rel(0, Some(Morning))),
        ("vanmorgen", W::Rel(0, Some(Morning))),
        ("vanmiddag", W::Rel(0, Some(Afternoon))),
        ("vanavond", W::Rel(0, Some(Evening))),
        ("tonight", W::Rel(0, Some(Evening))),
        ("tonite", W::Rel(0, Some(Evening))),
        ("vannacht", W::Vannacht),
        ("morgen", W::Morgen),
        ("tomorrow", W::Rel(1, None)),
        ("demain", W::Rel(1, None)),
        ("heute", W::Rel(0, None)),
        ("morgenochtend", W::Rel(1, Some(Morning))),
        ("morgenvroeg", W::Rel(1, Some(Morning))),
        ("morgenmiddag", W::Rel(1, Some(Afternoon))),
        ("morgenavond", W::Rel(1, Some(Evening))),
        ("morgennacht", W::Rel(1, Some(Night))),
        ("overmorgen", W::Rel(2, None)),
        ("gisteren", W::Rel(-1, None)),
        ("gister", W::Rel(-1, None)),
        ("yesterday", W::Rel(-1, None)),
        ("gisterochtend", W::Rel(-1, Some(Morning))),
        ("gisterenochtend", W::Rel(-1, Some(Morning))),
        ("gistermorgen", W::Rel(-1, Some(Morning))),
        ("gisterenmorgen", W::Rel(-1, Some(Morning))),
        ("gistermiddag", W::Rel(-1, Some(Afternoon))),
        ("gisterenmiddag", W::Rel(-1, Some(Afternoon))),
        ("gisteravond", W::Rel(-1, Some(Evening))),
        ("gisterenavond", W::Rel(-1, Some(Evening))),
        ("gisternacht", W::Rel(-1, Some(Night))),
        ("gisterennacht", W::Rel(-1, Some(Night))),
        ("eergisteren", W::Rel(-2, None)),
        ("eergister", W::Rel(-2, None)),
        ("ma", W::WeekdayAbbr(0)),
        ("di", W::WeekdayAbbr(1)),
        ("wo", W::WeekdayAbbr(2)),
        ("do", W::WeekdayAbbr(3)),
        ("vr", W::WeekdayAbbr(4)),
        ("vrij", W::WeekdayAbbr(4)),
        ("za", W::WeekdayAbbr(5)),
        ("zat", W::WeekdayAbbr(5)),
        ("zo", W::WeekdayAbbr(6)),
        ("zon", W::WeekdayAbbr(6)),
        ("maandag", W::Weekday(0)),
        ("dinsdag", W::Weekday(1)),
        ("woensdag", W::Weekday(2)),
        ("donderdag", W::Weekday(3)),
        ("vrijdag", W::Weekday(4)),
        ("zaterdag", W::Weekday(5)),
        ("zondag", W::Weekday(6)),
        ("monday", W::Weekday(0)),
        ("tuesday", W::Weekday(1)),
        ("wednesday", W::Weekday(2)),
        ("thursday", W::Weekday(3)),
        ("friday", W::Weekday(4)),
        ("saturday", W::Weekday(5)),
        ("sunday", W::Weekday(6)),
        ("montag", W::Weekday(0)),
        ("dienstag", W::Weekday(1)),
        ("mittwoch", W::Weekday(2)),
        ("donnerstag", W::Weekday(3)),
        ("freitag", W::Weekday(4)),
        ("samstag", W::Weekday(5)),
        ("sonntag", W::Weekday(6)),
        ("lundi", W::Weekday(0)),
        ("mardi", W::Weekday(1)),
        ("mercredi", W::Weekday(2)),
        ("jeudi", W::Weekday(3)),
        ("vendredi", W::Weekday(4)),
        ("samedi", W::Weekday(5)),
        ("dimanche", W::Weekday(6)),
        ("avond", W::PartWord(Evening)),
        ("evening", W::PartWord(Evening)),
        ("ochtend", W::PartWord(Morning)),
        ("morning", W::PartWord(Morning)),
        ("middag", W::PartWord(Afternoon)),
        ("afternoon", W::PartWord(Afternoon)),
        ("nacht", W::PartWord(Night)),
        ("night", W::PartWord(Night)),
        ("avonds", W::PartS(Evening)),
        ("savonds", W::PartS(Evening)),
        ("ochtends", W::PartS(Morning)),
        ("sochtends", W::PartS(Morning)),
        ("morgens", W::PartS(Morning)),
        ("smorgens", W::PartS(Morning)),
        ("middags", W::PartS(Afternoon)),
        ("smiddags", W::PartS(Afternoon)),
        ("nachts", W::PartS(Night)),
        ("snachts", W::PartS(Night)),
        ("s", W::S),
        ("januari", W::Month(1)),
        ("jan", W::Month(1)),
        ("februari", W::Month(2)),
        ("feb", W::Month(2)),
        ("febr", W::Month(2)),
        ("maart", W::Month(3)),
        ("mrt", W::Month(3)),
        ("mar", W::Month(3)),
        ("april", W::Month(4)),
        ("apr", W::Month(4)),
        ("mei", W::Month(5)),
        ("juni", W::Month(6)),
        ("jun", W::Month(6)),
        ("juli", W::Month(7)),
        ("jul", W::Month(7)),
        ("augustus", W::Month(8)),
        ("aug", W::Month(8)),
        ("september", W::Month(9)),
        ("sep", W::Month(9)),
        ("sept", W::Month(9)),
        ("oktober", W::Month(10)),
        ("okt", W::Month(10)),
        ("november", W::Month(11)),
        ("nov", W::Month(11)),
        ("december", W::Month(12)),
        ("dec", W::Month(12)),
        ("oudejaarsavond", W::Named(Named::OudejaarsAvond)),
        ("oudjaarsavond", W::Named(Named::OudejaarsAvond)),
        ("jaarwisseling", W::Named(Named::OudejaarsAvond)),
        ("oudennieuw", W::Named(Named::OudejaarsAvond)),
        ("oudejaarsdag", W::Named(Named::OudejaarsDag)),
        ("oudjaarsdag", W::Named(Named::OudejaarsDag)),
        ("oudejaarsnacht", W::Named(Named::OudejaarsNacht)),
        ("oudjaarsnacht", W::Named(Named::OudejaarsNacht)),
        ("nieuwjaarsnacht", W::Named(Named::NieuwjaarsNacht)),
        ("nieuwjaarsdag", W::Named(Named::NieuwjaarsDag)),
        ("koningsdag", W::Named(Named::Koningsdag)),
        ("bevrijdingsdag", W::Named(Named::Bevrijdingsdag)),
        ("sinterklaasavond", W::Named(Named::Sinterklaas)),
        ("pakjesavond", W::Named(Named::Sinterklaas)),
        ("kerstavond", W::Named(Named::Kerstavond)),
        ("oud", W::Oud),
        ("en", W::En),
        ("nieuw", W::Nieuw),
        ("aanstaande", W::Upcoming),
        ("komende", W::Upcoming),
        ("deze", W::Upcoming),
        ("this", W::Upcoming),
        ("next", W::Upcoming),
        ("coming", W::Upcoming),
        ("volgende", W::Volgende),
        ("week", W::Week),
        ("afgelopen", W::Last),
        ("vorige", W::Last),
        ("jongstleden", W::Last),
        ("last", W::Last),
        ("uur", W::Uur),
        ("uhr", W::Uur),
        ("u", W::U),
        ("h", W::U),
        ("am", W::Am),
        ("pm", W::Pm),
        ("middernacht", W::Middernacht),
        ("midnight", W::Middernacht),
        ("om", W::Om),
        ("vanaf", W::Om),
        ("rond", W::Om),
        ("rondom", W::Om),
        ("omstreeks", W::Om),
        ("at", W::Om),
        ("from", W::Om),
        ("around", W::Om),
        ("tussen", W::Tussen),
        ("between", W::Tussen),
        ("tot", W::Tot),
        ("until", W::Tot),
        ("till", W::Tot),
        ("to", W::Tot),
        ("van", W::Van),
        ("na", W::Na),
        ("after", W::Na),
        ("een", W::NumWord(1)),
        ("twee", W::NumWord(2)),
        ("drie", W::NumWord(3)),
        ("vier", W::NumWord(4)),
        ("vijf", W::NumWord(5)),
        ("zes", W::NumWord(6)),
        ("zeven", W::NumWord(7)),
        ("acht", W::NumWord(8)),
        ("negen", W::NumWord(9)),
        ("tien", W::NumWord(10)),
        ("elf", W::NumWord(11)),
        ("twaalf", W::NumWord(12)),
        ("e", W::Ord),
        ("ste", W::Ord),
        ("de", W::Ord),
        ("st", W::Ord),
        ("nd", W::Ord),
        ("rd", W::Ord),
        ("th", W::Ord),
        ("op", W::Link),
        ("bij", W::Link),
        ("in", W::Link),
        ("aan", W::Link),
        ("naar", W::Link),
        ("voor", W::Link),
        ("on", W::Link),
        ("verzamelen", W::Link),
        ("samen", W::Link),
        ("we", W::Link),
        ("wij", W::Link),
        ("is", W::Link),
        ("zijn", W::Link),
        ("begint", W::Link),
        ("start", W::Link),
        ("starten", W::Link),
        ("beginnen", W::Link),
        ("daar", W::Link),
        ("hier", W::Link),
        ("al", W::Link),
        ("binnen", W::DurBefore),
        ("over", W::DurBefore),
        ("ruim", W::DurBefore),
        ("bijna", W::DurBefore),
        ("elke", W::DurBefore),
        ("ieder", W::DurBefore),
        ("iedere", W::DurBefore),
        ("per", W::DurBefore),
        ("ongeveer", W::DurBefore),
        ("circa", W::DurBefore),
        ("ca", W::DurBefore),
        ("within", W::DurBefore),
        ("every", W::DurBefore),
        ("lang", W::DurAfter),
        ("later", W::DurAfter),
        ("eerder", W::DurAfter),
        ("geleden", W::DurAfter),
        ("durende", W::DurAfter),
        ("achter", W::DurAfter),
        ("ago", W::DurAfter),
        ("long", W::DurAfter),
        ("euro", W::Currency),
        ("eur", W::Currency),
        ("euros", W::Currency),
        ("dollar", W::Currency),
        ("cent", W::Currency),
        ("procent", W::Unit),
        ("percent", W::Unit),
        ("meter", W::Unit),
        ("km", W::Unit),
        ("kilometer", W::Unit),
        ("kg", W::Unit),
        ("kilo", W::Unit),
        ("cm", W::Unit),
        ("mm", W::Unit),
        ("mln", W::Unit),
        ("miljoen", W::Unit),
        ("miljard", W::Unit),
        ("jaar", W::Unit),
        ("keer", W::Unit),
        ("graden", W::Unit),
        ("punten", W::Unit),
        ("minuten", W::Unit),
        ("min", W::Unit),
        ("seconden", W::Unit),
        ("sec", W::Unit),
        ("dagen", W::Unit),
        ("weken", W::Unit),
        ("maanden", W::Unit),
        ("jaren", W::Unit),
        ("mensen", W::Unit),
        ("personen", W::Unit),
    ]
};

const TABLE_SIZE: usize = 1024;

/// FNV-1a over the bytes, folded to a table slot.
const fn slot_of(b: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    (h ^ (h >> 16)) as usize & (TABLE_SIZE - 1)
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Open-addressing table of indices + 1 into [`WORDS`], built at compile
/// time (a duplicate word is a compile error).
static TABLE: [u16; TABLE_SIZE] = {
    assert!(WORDS.len() < TABLE_SIZE / 2);
    let mut t = [0u16; TABLE_SIZE];
    let mut i = 0;
    while i < WORDS.len() {
        let word = WORDS[i].0.as_bytes();
        let mut slot = slot_of(word);
        while t[slot] != 0 {
            assert!(!same(WORDS[t[slot] as usize - 1].0.as_bytes(), word), "duplicate word");
            slot = (slot + 1) & (TABLE_SIZE - 1);
        }
        t[slot] = (i + 1) as u16;
        i += 1;
    }
    t
};

fn classify(w: &[u8]) -> W {
    let shapes = w.first().and_then(|c| KNOWN_SHAPES.get(usize::from(c.wrapping_sub(b'a')))).copied().unwrap_or(0);
    if w.len() >= 32 || shapes & (1 << w.len()) == 0 {
        return W::Other;
    }
    let mut slot = slot_of(w);
    while let Some(&idx) = TABLE.get(slot) {
        let Some(&(word, kind)) = (idx as usize).checked_sub(1).and_then(|i| WORDS.get(i)) else {
            break;
        };
        if word.as_bytes() == w {
            return kind;
        }
        slot = (slot + 1) & (TABLE_SIZE - 1);
    }
    weekday_compound(w)
}

const WEEKDAYS: [&[u8]; 7] = [b"maandag", b"dinsdag", b"woensdag", b"donderdag", b"vrijdag", b"zaterdag", b"zondag"];

/// `zaterdagavond`, `zondagochtend`, `vrijdagnacht`, ...
fn weekday_compound(w: &[u8]) -> W {
    if w.len() < 11 || !matches!(w.last(), Some(b'd' | b'g' | b'n' | b't')) {
        return W::Other;
    }
    for (i, name) in (0u8..).zip(WEEKDAYS) {
        if let Some(rest) = w.strip_prefix(name) {
            return match rest {
                b"avond" => W::WeekdayPart(i, DayPart::Evening),
                b"ochtend" | b"morgen" => W::WeekdayPart(i, DayPart::Morning),
                b"middag" => W::WeekdayPart(i, DayPart::Afternoon),
                b"nacht" => W::WeekdayPart(i, DayPart::Night),
                _ => W::Other,
            };
        }
    }
    W::Other
}

/// Per first letter, a bit per word length that some trigger word has
/// (weekday compounds included): most words are dismissed without a lookup.
static TRIGGER_SHAPES: [u32; 26] = shapes(true);

/// The same for every known word.
static KNOWN_SHAPES: [u32; 26] = shapes(false);

const fn shapes(triggers_only: bool) -> [u32; 26] {
    let mut t = [0u32; 26];
    let mut i = 0;
    while i < WORDS.len() {
        let (word, kind) = WORDS[i];
        let b = word.as_bytes();
        if (kind.is_trigger() || !triggers_only) && b.len() < 32 {
            t[(b[0] - b'a') as usize] |= 1 << b.len();
        }
        i += 1;
    }
    let mut d = 0;
    while d < WEEKDAYS.len() {
        // weekday + avond/ochtend/morgen/middag/nacht
        t[(WEEKDAYS[d][0] - b'a') as usize] |= 0xff << (WEEKDAYS[d].len() + 5);
        d += 1;
    }
    t
}

/// The cheap pre-check: a number of at most two digits, or a word that may
/// start a time expression. Never false when [`Lexer`] finds a trigger.
fn has_trigger(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() {
            // every clock time and date has a number of one or two digits
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i - start <= 2 {
                return true;
            }
            continue;
        }
        if !(c.is_ascii_alphabetic() || c >= 0x80) {
            i += 1;
            continue;
        }
        let start = i;
        let mut ascii = true;
        while let Some(&d) = b.get(i) {
            if d.is_ascii_alphabetic() {
                i += 1;
            } else if d >= 0x80 {
                ascii = false;
                i += 1;
            } else {
                break;
            }
        }
        if !ascii {
            // rare: let the real lexer fold it
            match text.get(start..i) {
                Some(word) if !Lexer::new(word).any(|t| t.is_trigger()) => continue,
                _ => return true,
            }
        }
        let len = i - start;
        let shapes = TRIGGER_SHAPES.get(usize::from(c.to_ascii_lowercase().wrapping_sub(b'a'))).copied().unwrap_or(0);
        if len >= 32 || shapes & (1 << len) == 0 {
            continue;
        }
        let mut buf = [0u8; MAX_WORD];
        let Some(word) = b.get(start..i) else { continue };
        let Some(dst) = buf.get_mut(..word.len()) else { continue };
        dst.copy_from_slice(word);
        dst.make_ascii_lowercase();
        if classify(dst).is_trigger() {
            return true;
        }
    }
    false
}

impl W {
    /// Words that may start a time expression without any digit nearby.
    const fn is_trigger(self) -> bool {
        matches!(
            self,
            W::Rel(..)
                | W::Vannacht
                | W::Morgen
                | W::Weekday(_)
                | W::WeekdayPart(..)
                | W::Named(_)
                | W::Oud
                | W::Middernacht
                | W::Uur
        )
    }

    /// Words that may start a day expression (after a bare `om 9`).
    fn is_dayish(self) -> bool {
        matches!(
            self,
            W::Rel(..)
                | W::Vannacht
                | W::Morgen
                | W::Weekday(_)
                | W::WeekdayAbbr(_)
                | W::WeekdayPart(..)
                | W::Named(_)
                | W::Oud
                | W::Upcoming
                | W::Volgende
                | W::Last
        )
    }
}

// ---------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Word(W),
    /// A run of ASCII digits: its value (saturating) and digit count.
    Num(u32, u8),
    P(char),
    /// Line break, URL or mention: ends a sentence.
    Break,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    k: K,
    start: usize,
    end: usize,
}

impl Tok {
    fn is_trigger(&self) -> bool {
        match self.k {
            K::Num(_, n) => n <= 2,
            K::Word(w) => w.is_trigger(),
            K::P(_) | K::Break => false,
        }
    }
}

const MAX_WORD: usize = 20;

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    fn char_at(&self, pos: usize) -> Option<char> {
        self.text.get(pos..).and_then(|r| r.chars().next())
    }

    /// Skips to the next ASCII whitespace (the rest of a URL or mention).
    fn skip_chunk(&mut self, start: usize) -> Tok {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if b.is_ascii_whitespace() {
                break;
            }
            self.pos += 1;
        }
        // stay on a char boundary whatever happened
        while self.pos < self.text.len() && !self.text.is_char_boundary(self.pos) {
            self.pos += 1;
        }
        Tok { k: K::Break, start, end: self.pos }
    }

    fn word(&mut self, start: usize) -> Tok {
        let bytes = self.text.as_bytes();
        let mut buf = [0u8; MAX_WORD];
        let mut n = 0usize;
        let mut ok = true;
        while let Some(&b) = bytes.get(self.pos) {
            if b.is_ascii_alphabetic() {
                push(&mut buf, &mut n, &mut ok, b.to_ascii_lowercase());
                self.pos += 1;
                continue;
            }
            if b.is_ascii() {
                break;
            }
            let Some(c) = self.char_at(self.pos) else { break };
            if !(c.is_alphabetic() || is_combining_mark(c)) {
                break;
            }
            self.pos += c.len_utf8();
            decompose_canonical(c, |d| {
                if d.is_ascii_alphabetic() {
                    push(&mut buf, &mut n, &mut ok, (d as u8).to_ascii_lowercase());
                } else if !is_combining_mark(d) {
                    ok = false;
                }
            });
        }
        let folded = buf.get(..n).unwrap_or_default();
        if folded == b"www" && bytes.get(self.pos) == Some(&b'.') {
            return self.skip_chunk(start);
        }
        let w = if ok { classify(folded) } else { W::Other };
        Tok { k: K::Word(w), start, end: self.pos }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Tok;

    fn next(&mut self) -> Option<Tok> {
        let bytes = self.text.as_bytes();
        loop {
            let start = self.pos;
            let b = *bytes.get(start)?;
            match b {
                b'\n' | b'\r' => {
                    self.pos += 1;
                    return Some(Tok { k: K::Break, start, end: self.pos });
                }
                b' ' | b'\t' | 0x0b | 0x0c => self.pos += 1,
                b'0'..=b'9' => {
                    let mut v: u32 = 0;
                    let mut n: u8 = 0;
                    while let Some(&d) = bytes.get(self.pos).filter(|d| d.is_ascii_digit()) {
                        v = v.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                        n = n.saturating_add(1);
                        self.pos += 1;
                    }
                    return Some(Tok { k: K::Num(v, n), start, end: self.pos });
                }
                b'a'..=b'z' | b'A'..=b'Z' => return Some(self.word(start)),
                b'@' => return Some(self.skip_chunk(start)),
                b':' if bytes.get(start + 1..start + 3) == Some(b"//") => return Some(self.skip_chunk(start)),
                0x80.. => {
                    let c = self.char_at(start)?;
                    if c.is_whitespace() {
                        self.pos += c.len_utf8();
                    } else if c.is_alphabetic() {
                        return Some(self.word(start));
                    } else {
                        self.pos += c.len_utf8();
                        return Some(Tok { k: K::P(c), start, end: self.pos });
                    }
                }
                _ => {
                    self.pos += 1;
                    return Some(Tok { k: K::P(char::from(b)), start, end: self.pos });
                }
            }
        }
    }
}

fn push(buf: &mut [u8; MAX_WORD], n: &mut usize, ok: &mut bool, b: u8) {
    match buf.get_mut(*n) {
        Some(slot) => {
            *slot = b;
            *n += 1;
        }
        None => *ok = false,
    }
}

// ---------------------------------------------------------------------------
// Atoms

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Next,
    NextWeek,
    Past,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayKind {
    Rel(i8),
    Weekday(u8, Mode),
    Date { d: u32, m: u32, y: Option<i32> },
    Named(Named),
}

#[derive(Debug, Clone, Copy)]
struct DayAtom {
    kind: DayKind,
    part: Option<DayPart>,
    /// Forced into the past (`afgelopen`, `gisteren`, morning `vannacht`).
    past: bool,
    /// Token range.
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Colon,
    Uur,
    Bare,
    Midnight,
}

#[derive(Debug, Clone, Copy)]
struct Core {
    h: u32,
    m: u32,
    next_day: bool,
    form: Form,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
struct ClockAtom {
    h: u32,
    m: u32,
    next_day: bool,
    /// An explicit `'s avonds` etc.
    modifier: Option<DayPart>,
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
enum Atom {
    Day(DayAtom),
    Clock(ClockAtom),
}

struct Cx<'a> {
    t: &'a [Tok],
    pub_ndt: NaiveDateTime,
    pub_date: NaiveDate,
}

impl Cx<'_> {
    fn k(&self, i: usize) -> Option<K> {
        self.t.get(i).map(|t| t.k)
    }

    fn word(&self, i: usize) -> Option<W> {
        match self.k(i) {
            Some(K::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn num(&self, i: usize) -> Option<(u32, u8)> {
        match self.k(i) {
            Some(K::Num(v, n)) => Some((v, n)),
            _ => None,
        }
    }

    fn punct(&self, i: usize) -> Option<char> {
        match self.k(i) {
            Some(K::P(c)) => Some(c),
            _ => None,
        }
    }

    /// Token `i` ends exactly where token `i + 1` starts.
    fn glued(&self, i: usize) -> bool {
        match (self.t.get(i), self.t.get(i + 1)) {
            (Some(a), Some(b)) => a.end == b.start,
            _ => false,
        }
    }

    /// Token `i` is the punctuation `c`, glued to both neighbours.
    fn glued_sep(&self, i: usize, seps: &[char]) -> Option<char> {
        let c = self.punct(i)?;
        (seps.contains(&c) && i > 0 && self.glued(i - 1) && self.glued(i)).then_some(c)
    }

    fn atoms(&self) -> Vec<Atom> {
        let mut atoms = Vec::new();
        let mut i = 0;
        while i < self.t.len() {
            if let Some(d) = self.parse_day(i) {
                i = d.end.max(i + 1);
                atoms.push(Atom::Day(d));
            } else if let Some(c) = self.parse_clock(i) {
                i = c.end.max(i + 1);
                atoms.push(Atom::Clock(c));
            } else {
                i += 1;
            }
        }
        atoms
    }

    /// At most three tokens between `a_end` and `b_start`, none ending a sentence.
    fn gap_ok(&self, a_end: usize, b_start: usize) -> bool {
        b_start >= a_end
            && b_start - a_end <= 3
            && self
                .t
                .get(a_end..b_start)
                .is_some_and(|gap| gap.iter().all(|t| !matches!(t.k, K::Break | K::P('.' | '!' | '?' | ';'))))
    }

    // -- numbers ------------------------------------------------------------

    /// A number at `i` that is not money, part of a number chain or glued to letters.
    fn number_ok(&self, i: usize) -> bool {
        if i == 0 {
            return true;
        }
        let glued_before = self.glued(i - 1);
        match self.k(i - 1) {
            Some(K::P('€' | '$' | '£')) | Some(K::Word(W::Currency)) => false,
            Some(K::Word(_)) => !glued_before,
            Some(K::P('#' | '+' | '@' | '/' | '\\' | '=' | '_' | '&')) => !glued_before,
            Some(K::P('.' | ',' | ':' | '-' | '–')) => {
                !(glued_before && i >= 2 && self.glued(i - 2) && self.num(i - 2).is_some())
            }
            _ => true,
        }
    }

    /// `d month [year]`, `d-m[-y]`, `d/m[/y]`, `d.m.y` at `i`.
    fn parse_date(&self, i: usize, after_weekday: bool) -> Option<(u32, u32, Option<i32>, usize)> {
        let (d, dl) = self.num(i)?;
        if dl > 2 || !(1..=31).contains(&d) || !self.number_ok(i) {
            return None;
        }
        let mut j = i + 1;
        if self.word(j) == Some(W::Ord) && self.glued(i) {
            j += 1;
        }
        if let Some(W::Month(m)) = self.word(j) {
            let m = u32::from(m);
            j += 1;
            if self.punct(j) == Some('.') && self.glued(j - 1) && self.num(j + 1).is_none() {
                j += 1;
            }
            let mut y = None;
            if let Some((yv, 4)) = self.num(j)
                && (1900..=2100).contains(&yv)
                && self.punct(j + 1) != Some(':')
            {
                y = i32::try_from(yv).ok();
                j += 1;
            }
            NaiveDate::from_ymd_opt(y.unwrap_or(2024), m, d)?;
            return Some((d, m, y, j));
        }
        // numeric forms
        let sep = self.glued_sep(i + 1, &['-', '/', '.'])?;
        let (m, ml) = self.num(i + 2)?;
        if ml > 2 || !(1..=12).contains(&m) {
            return None;
        }
        let mut j = i + 3;
        let mut y = None;
        if self.glued_sep(j, &[sep]).is_some() {
            let (yv, yl) = self.num(j + 1)?;
            y = match yl {
                4 if (1900..=2100).contains(&yv) => i32::try_from(yv).ok(),
                2 => i32::try_from(2000 + yv).ok(),
                _ => None,
            };
            y?;
            j += 2;
        }
        // no longer chains (phone numbers, ids, versions)
        if self.glued_sep(j, &['-', '/', '.', ':']).is_some() && self.num(j + 1).is_some() {
            return None;
        }
        if y.is_none() && (sep == '.' || (dl + ml < 3 && !after_weekday)) {
            return None;
        }
        if y.is_none() && matches!(self.k(j), Some(K::P('%')) | Some(K::Word(W::Unit | W::Currency | W::Uur))) {
            return None;
        }
        NaiveDate::from_ymd_opt(y.unwrap_or(2024), m, d)?;
        Some((d, m, y, j))
    }

    // -- clock ----------------------------------------------------------------

    fn parse_clock_core(&self, i: usize) -> Option<Core> {
        match self.k(i)? {
            K::Word(W::Middernacht) => Some(Core { h: 0, m: 0, next_day: true, form: Form::Midnight, end: i + 1 }),
            K::Word(W::NumWord(n)) if self.word(i + 1) == Some(W::Uur) => {
                Some(Core { h: u32::from(n), m: 0, next_day: false, form: Form::Uur, end: i + 2 })
            }
            K::Num(a, al) if al <= 2 => {
                let mut core = if let (Some(_), Some((b, 2))) = (self.glued_sep(i + 1, &[':', '.']), self.num(i + 2)) {
                    if a > 24 || b > 59 || (a == 24 && b > 0) {
                        return None;
                    }
                    let mut j = i + 3;
                    if self.glued_sep(j, &[':']).is_some() && matches!(self.num(j + 1), Some((0..=59, 2))) {
                        j += 2;
                    }
                    if self.glued_sep(j, &[':', '.', ',']).is_some() && self.num(j + 1).is_some() {
                        return None;
                    }
                    if matches!(self.word(j), Some(W::Uur)) || (self.word(j) == Some(W::U) && self.glued(j - 1)) {
                        j += 1;
                    }
                    Core { h: a % 24, m: b, next_day: a == 24, form: Form::Colon, end: j }
                } else if self.word(i + 1) == Some(W::U) {
                    if a > 23 {
                        return None;
                    }
                    let mut j = i + 2;
                    let mut m = 0;
                    if let Some((b, 2)) = self.num(j)
                        && self.glued(j - 1)
                        && b <= 59
                    {
                        m = b;
                        j += 1;
                    }
                    Core { h: a, m, next_day: false, form: Form::Uur, end: j }
                } else if self.word(i + 1) == Some(W::Uur) {
                    if a > 23 {
                        return None;
                    }
                    Core { h: a, m: 0, next_day: false, form: Form::Uur, end: i + 2 }
                } else {
                    if a > 23 {
                        return None;
                    }
                    Core { h: a, m: 0, next_day: false, form: Form::Bare, end: i + 1 }
                };
                // am / pm
                if let Some(w @ (W::Am | W::Pm)) = self.word(core.end)
                    && (1..=12).contains(&core.h)
                    && core.form != Form::Uur
                {
                    core.h = match w {
                        W::Pm => core.h % 12 + 12,
                        _ => core.h % 12,
                    };
                    core.form = Form::Uur;
                    core.end += 1;
                }
                Some(core)
            }
            _ => None,
        }
    }

    /// `'s avonds`, `s avonds`, `savonds`, `avonds` at `i`.
    fn parse_mod(&self, i: usize) -> Option<(DayPart, usize)> {
        let mut j = i;
        if matches!(self.punct(j), Some('\'' | '’' | '`' | '‘')) {
            j += 1;
        }
        if self.word(j) == Some(W::S) {
            j += 1;
        }
        match self.word(j) {
            Some(W::PartS(p)) => Some((p, j + 1)),
            _ => None,
        }
    }

    fn parse_clock(&self, i: usize) -> Option<ClockAtom> {
        let pre = match self.word(i) {
            Some(w @ (W::Om | W::Tot | W::Van | W::Tussen | W::Na)) => Some(w),
            _ => None,
        };
        let ci = if pre.is_some() { i + 1 } else { i };
        if self.num(ci).is_some() && !self.number_ok(ci) {
            return None;
        }
        if matches!(self.word(ci), Some(W::NumWord(_))) && pre.is_none() {
            return None;
        }
        let core = self.parse_clock_core(ci)?;
        let start_word = if pre.is_some() { i } else { ci };
        if core.form != Form::Colon && core.form != Form::Midnight {
            if start_word > 0 && self.word(start_word - 1) == Some(W::DurBefore) {
                return None;
            }
            if self.word(core.end) == Some(W::DurAfter) {
                return None;
            }
        }
        if core.form == Form::Colon
            && matches!(self.k(core.end), Some(K::P('%')) | Some(K::Word(W::Unit | W::Currency)))
        {
            return None;
        }
        let mut j = core.end;
        let mut modifier = None;
        if let Some((p, e)) = self.parse_mod(j) {
            modifier = Some(p);
            j = e;
        }
        // range: "14:00-16:00", "van 14 tot 16 uur"
        let mut ranged = false;
        if core.form != Form::Midnight
            && (self.word(j) == Some(W::Tot)
                || matches!(self.punct(j), Some('-' | '–'))
                || (pre == Some(W::Tussen) && self.word(j) == Some(W::En)))
            && let Some(c2) = self.parse_clock_core(j + 1)
            && matches!(c2.form, Form::Colon | Form::Uur)
        {
            ranged = true;
            j = c2.end;
            if modifier.is_none()
                && let Some((p, e)) = self.parse_mod(j)
            {
                modifier = Some(p);
                j = e;
            }
        }
        if core.form == Form::Bare
            && !ranged
            && (!matches!(pre, Some(W::Om | W::Tot)) || !self.bare_follow_ok(core.end))
        {
            return None;
        }
        Some(ClockAtom { h: core.h, m: core.m, next_day: core.next_day, modifier, start: start_word, end: j })
    }

    /// What may follow a bare `om 9`.
    fn bare_follow_ok(&self, i: usize) -> bool {
        match self.k(i) {
            None | Some(K::Break) => true,
            Some(K::P('.' | ',' | ':')) => !(self.glued(i) && self.num(i + 1).is_some()),
            Some(K::P('!' | '?' | ';' | ')' | '(' | '"' | '\'' | '’' | '‘')) => true,
            Some(K::Word(w)) => w.is_dayish() || matches!(w, W::Link | W::En | W::Tot | W::S | W::PartS(_)),
            _ => false,
        }
    }

    // -- days -----------------------------------------------------------------

    /// A weekday word at `i`: (weekday, day part, end).
    fn parse_weekday(&self, i: usize) -> Option<(u8, Option<DayPart>, usize)> {
        match self.word(i)? {
            W::Weekday(d) => Some((d, None, i + 1)),
            W::WeekdayPart(d, p) => Some((d, Some(p), i + 1)),
            W::WeekdayAbbr(d) => {
                let mut j = i + 1;
                if self.punct(j) == Some('.') && self.glued(i) {
                    j += 1;
                }
                if self.punct(j) == Some(',') {
                    j += 1;
                }
                let followed = self.parse_date(j, true).is_some()
                    || (self.num(j).is_some() && self.parse_clock(j).is_some())
                    || (self.word(j) == Some(W::Om) && self.parse_clock(j).is_some());
                followed.then_some((d, None, i + 1))
            }
            _ => None,
        }
    }

    fn parse_named(&self, i: usize) -> Option<(Named, usize)> {
        match self.word(i)? {
            W::Named(n) => Some((n, i + 1)),
            W::Oud => {
                let mut j = i + 1;
                if self.punct(j) == Some('-') {
                    j += 1;
                }
                if self.word(j) == Some(W::En) || self.punct(j) == Some('&') {
                    j += 1;
                } else {
                    return None;
                }
                if self.punct(j) == Some('-') {
                    j += 1;
                }
                (self.word(j) == Some(W::Nieuw)).then_some((Named::OudejaarsAvond, j + 1))
            }
            _ => None,
        }
    }

    fn parse_day(&self, i: usize) -> Option<DayAtom> {
        let w = self.word(i);
        let mut atom = match w {
            Some(W::Rel(n, p)) => DayAtom { kind: DayKind::Rel(n), part: p, past: n < 0, start: i, end: i + 1 },
            Some(W::Vannacht) => {
                let morning = self.pub_ndt.hour() < 12;
                DayAtom {
                    kind: DayKind::Rel(if morning { -1 } else { 0 }),
                    part: Some(DayPart::Night),
                    past: morning,
                    start: i,
                    end: i + 1,
                }
            }
            Some(W::Morgen) => DayAtom { kind: DayKind::Rel(1), part: None, past: false, start: i, end: i + 1 },
            Some(W::Upcoming | W::Volgende | W::Last) => {
                if let Some((n, end)) = self.parse_named(i + 1) {
                    DayAtom { kind: DayKind::Named(n), part: n.day_part(), past: w == Some(W::Last), start: i, end }
                } else {
                    let (mode, j) = match w {
                        Some(W::Last) => (Mode::Past, i + 1),
                        Some(W::Volgende) if self.word(i + 1) == Some(W::Week) => (Mode::NextWeek, i + 2),
                        _ => (Mode::Next, i + 1),
                    };
                    let (d, p, end) = self.parse_weekday(j)?;
                    DayAtom { kind: DayKind::Weekday(d, mode), part: p, past: mode == Mode::Past, start: i, end }
                }
            }
            Some(W::Weekday(_) | W::WeekdayPart(..) | W::WeekdayAbbr(_)) => {
                let (d, p, mut end) = self.parse_weekday(i)?;
                let mut mode = Mode::Next;
                match self.word(end) {
                    Some(W::Upcoming) => end += 1,
                    Some(W::Volgende) if self.word(end + 1) == Some(W::Week) => {
                        mode = Mode::NextWeek;
                        end += 2;
                    }
                    _ => {}
                }
                DayAtom { kind: DayKind::Weekday(d, mode), part: p, past: false, start: i, end }
            }
            Some(W::Named(_) | W::Oud) => {
                let (n, end) = self.parse_named(i)?;
                DayAtom { kind: DayKind::Named(n), part: n.day_part(), past: false, start: i, end }
            }
            None if self.num(i).is_some() => {
                let (d, m, y, end) = self.parse_date(i, false)?;
                DayAtom { kind: DayKind::Date { d, m, y }, part: None, past: false, start: i, end }
            }
            _ => return None,
        };
        // day part as a separate word
        if atom.part.is_none()
            && !matches!(atom.kind, DayKind::Named(_))
            && let Some(K::Word(next_word)) = self.k(atom.end)
        {
            let p = match next_word {
                W::PartWord(p) => Some(p),
                W::Morgen if matches!(atom.kind, DayKind::Weekday(..)) => Some(DayPart::Morning),
                _ => None,
            };
            if let Some(p) = p {
                atom.part = Some(p);
                atom.end += 1;
            }
        }
        // a weekday followed by a date is that date
        if let DayKind::Weekday(_, mode) = atom.kind {
            let mut j = atom.end;
            if matches!(self.punct(j), Some(',' | '.')) {
                j += 1;
            }
            if self.word(j) == Some(W::Ord) {
                j += 1;
            }
            if let Some((d, m, y, end)) = self.parse_date(j, true) {
                atom.kind = DayKind::Date { d, m, y };
                atom.past = mode == Mode::Past;
                atom.end = end;
                if atom.part.is_none()
                    && let Some(K::Word(W::PartWord(p))) = self.k(atom.end)
                {
                    atom.part = Some(p);
                    atom.end += 1;
                }
            }
        }
        if atom.part.is_none()
            && let Some((p, e)) = self.parse_mod(atom.end)
        {
            atom.part = Some(p);
            atom.end = e;
        }
        Some(atom)
    }

    // -- resolution -------------------------------------------------------------

    fn resolve(&self, day: Option<&DayAtom>, clock: Option<&ClockAtom>) -> Option<(NaiveDateTime, bool)> {
        let part = day.and_then(|d| d.part);
        // time of day and extra days
        let (h, m, add) = match clock {
            Some(c) => {
                let (h, add) = match (c.modifier, part) {
                    (Some(DayPart::Afternoon | DayPart::Evening), _) if (1..12).contains(&c.h) => (c.h + 12, 0),
                    (Some(_), _) => (c.h, 0),
                    (None, Some(DayPart::Evening)) if c.h < 6 && !c.next_day => (c.h, 1),
                    (None, Some(DayPart::Evening)) if (6..12).contains(&c.h) => (c.h + 12, 0),
                    (None, Some(DayPart::Afternoon)) if (1..=7).contains(&c.h) => (c.h + 12, 0),
                    // "vannacht om 11 uur" is 23:00; "vannacht om 2 uur" is 02:00 the next day.
                    (None, Some(DayPart::Night)) if (6..12).contains(&c.h) => (c.h + 12, 0),
                    // "om 12 uur vannacht" is midnight, not noon.
                    (None, Some(DayPart::Night)) if c.h == 12 => (0, 1),
                    (None, Some(DayPart::Night)) if c.h < 6 && !c.next_day => (c.h, 1),
                    _ => (c.h, 0),
                };
                (h, c.m, add + u64::from(c.next_day))
            }
            None => (part.map_or(12, DayPart::default_hour), 0, 0),
        };
        let time = NaiveTime::from_hms_opt(h, m, 0)?;
        let timed = clock.is_some() || part.is_some();
        let pub_date = self.pub_date;
        let Some(day) = day else {
            // a clock time alone: today if still to come, else tomorrow
            let mut date = pub_date.checked_add_days(Days::new(add))?;
            if add == 0 && date.and_time(time) <= self.pub_ndt {
                date = date.checked_add_days(Days::new(1))?;
            }
            return Some((date.and_time(time), false));
        };
        let mut past = day.past;
        let base = match day.kind {
            DayKind::Rel(n) => add_days(pub_date, i64::from(n))?,
            DayKind::Weekday(wd, mode) => {
                let pub_wd = i64::from(pub_date.weekday().num_days_from_monday());
                let wd = i64::from(wd);
                match mode {
                    Mode::Next => {
                        let mut delta = (wd - pub_wd).rem_euclid(7);
                        if delta == 0 {
                            let later = add > 0 || time > self.pub_ndt.time();
                            if !(timed && later) {
                                delta = 7;
                            }
                        }
                        add_days(pub_date, delta)?
                    }
                    Mode::NextWeek => add_days(pub_date, 7 - pub_wd + wd)?,
                    Mode::Past => {
                        let mut delta = (pub_wd - wd).rem_euclid(7);
                        if delta == 0 {
                            delta = 7;
                        }
                        past = true;
                        add_days(pub_date, -delta)?
                    }
                }
            }
            DayKind::Date { d, m, y } => match y {
                Some(y) => {
                    let date = NaiveDate::from_ymd_opt(y, m, d)?;
                    past |= date < pub_date;
                    date
                }
                None => {
                    let year = pub_date.year();
                    let this = first_valid(year, m, d)?;
                    if day.past {
                        if this > pub_date { first_valid_back(year.checked_sub(1)?, m, d)? } else { this }
                    } else if this < pub_date && this >= pub_date - chrono::Days::new(RECENT_DAYS) {
                        // A date from the last two weeks is the one just gone,
                        // not next year's: "vrijdag 20 februari" posted on the 23rd.
                        past = true;
                        this
                    } else if this < pub_date {
                        first_valid(year.checked_add(1)?, m, d)?
                    } else {
                        this
                    }
                }
            },
            DayKind::Named(n) => {
                let year = pub_date.year();
                let this = n.date(year)?;
                if day.past {
                    if this > pub_date { n.date(year.checked_sub(1)?)? } else { this }
                } else {
                    // the latest occurrence on or before the publication date
                    let prev = if this <= pub_date { Some(this) } else { year.checked_sub(1).and_then(|y| n.date(y)) };
                    match prev {
                        Some(p) if p.checked_add_days(Days::new(1)) == Some(pub_date) => {
                            past = true;
                            p
                        }
                        _ if this < pub_date => n.date(year.checked_add(1)?)?,
                        _ => this,
                    }
                }
            }
        };
        let at = base.checked_add_days(Days::new(add))?.and_time(time);
        if !past
            && base == pub_date
            && timed
            && matches!(day.kind, DayKind::Rel(_) | DayKind::Date { .. } | DayKind::Named(_))
        {
            past = at < self.pub_ndt - TimeDelta::hours(2);
        }
        Some((at, past))
    }
}

fn add_days(date: NaiveDate, n: i64) -> Option<NaiveDate> {
    let days = Days::new(n.unsigned_abs());
    if n >= 0 { date.checked_add_days(days) } else { date.checked_sub_days(days) }
}

/// `d` `m` in `year`, or the next year where it exists (29 February).
fn first_valid(year: i32, m: u32, d: u32) -> Option<NaiveDate> {
    (year..year.checked_add(8)?).find_map(|y| NaiveDate::from_ymd_opt(y, m, d))
}

/// `d` `m` in `year`, or the last year before it where it exists.
fn first_valid_back(year: i32, m: u32, d: u32) -> Option<NaiveDate> {
    (year.checked_sub(8)?..=year).rev().find_map(|y| NaiveDate::from_ymd_opt(y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let published = [
            ts(WED),
            ts("2026-03-29T01:30:00+01:00"),
            ts("2026-12-31T23:59:59+01:00"),
            ts("2025-01-01T00:00:00+14:00"),
        ];
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
}
