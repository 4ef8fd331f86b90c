//! The words time expressions are made of: the word table, its compile-time
//! hash table, and the cheap pre-check for a possible time expression.

use chrono::{Datelike, NaiveDate};

use super::lexer::{Lexer, MAX_WORD};

/// A part of the day, each with the hour it stands for alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DayPart {
    Morning,
    Afternoon,
    Evening,
    Night,
    /// 00:00 (nieuwjaarsnacht).
    Midnight,
}

impl DayPart {
    pub(super) fn default_hour(self) -> u32 {
        match self {
            DayPart::Morning => 9,
            DayPart::Afternoon => 14,
            DayPart::Evening => 20,
            DayPart::Night => 23,
            DayPart::Midnight => 0,
        }
    }
}

/// A named day of the Dutch calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Named {
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
    pub(super) fn date(self, year: i32) -> Option<NaiveDate> {
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

    pub(super) fn day_part(self) -> Option<DayPart> {
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
pub(super) enum W {
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

pub(super) fn classify(w: &[u8]) -> W {
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
pub(super) fn has_trigger(text: &str) -> bool {
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
    pub(super) const fn is_trigger(self) -> bool {
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
    pub(super) fn is_dayish(self) -> bool {
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
