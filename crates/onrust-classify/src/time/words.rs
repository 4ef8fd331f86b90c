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
pub(super) enum Word {
    /// A relative day: offset in days, day part.
    RelativeDay(i8, Option<DayPart>),
    /// `vannacht`: depends on the publication hour.
    Vannacht,
    /// `morgen`: tomorrow, or "morning" after a weekday.
    Morgen,
    Weekday(u8),
    WeekdayAbbr(u8),
    WeekdayPart(u8, DayPart),
    /// A separate day-part word: `avond`, `evening`.
    DayPart(DayPart),
    /// `avonds` as in `'s avonds` (also `savonds`).
    DayPartAdverb(DayPart),
    /// The `s` of `'s`.
    ApostropheS,
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
    HourSuffix,
    Am,
    Pm,
    Middernacht,
    /// `om`, `vanaf`, `rond`, `at`, `from`, `around`.
    At,
    Tot,
    Van,
    /// `tussen`: makes `en` a range connector.
    Tussen,
    Na,
    /// `een` .. `twaalf`.
    Numeral(u8),
    /// Ordinal suffix: `1e`, `1ste`.
    OrdinalSuffix,
    /// Prepositions that may follow `om 9`.
    Link,
    /// Words before a number that make `N uur` a duration.
    DurationBefore,
    /// Words after `N uur` that make it a duration.
    DurationAfter,
    Currency,
    Unit,
    Other,
}

/// Every word this module knows, folded to lowercase ASCII. Weekday
/// compounds (`zaterdagavond`) are recognised by [`weekday_compound`].
const WORDS: &[(&str, Word)] = {
    use DayPart::*;
    &[
        ("vandaag", Word::RelativeDay(0, None)),
        ("today", Word::RelativeDay(0, None)),
        ("vanochtend", Word::RelativeDay(0, Some(Morning))),
        ("vanmorgen", Word::RelativeDay(0, Some(Morning))),
        ("vanmiddag", Word::RelativeDay(0, Some(Afternoon))),
        ("vanavond", Word::RelativeDay(0, Some(Evening))),
        ("tonight", Word::RelativeDay(0, Some(Evening))),
        ("tonite", Word::RelativeDay(0, Some(Evening))),
        ("vannacht", Word::Vannacht),
        ("morgen", Word::Morgen),
        ("tomorrow", Word::RelativeDay(1, None)),
        ("demain", Word::RelativeDay(1, None)),
        ("heute", Word::RelativeDay(0, None)),
        ("morgenochtend", Word::RelativeDay(1, Some(Morning))),
        ("morgenvroeg", Word::RelativeDay(1, Some(Morning))),
        ("morgenmiddag", Word::RelativeDay(1, Some(Afternoon))),
        ("morgenavond", Word::RelativeDay(1, Some(Evening))),
        ("morgennacht", Word::RelativeDay(1, Some(Night))),
        ("overmorgen", Word::RelativeDay(2, None)),
        ("gisteren", Word::RelativeDay(-1, None)),
        ("gister", Word::RelativeDay(-1, None)),
        ("yesterday", Word::RelativeDay(-1, None)),
        ("gisterochtend", Word::RelativeDay(-1, Some(Morning))),
        ("gisterenochtend", Word::RelativeDay(-1, Some(Morning))),
        ("gistermorgen", Word::RelativeDay(-1, Some(Morning))),
        ("gisterenmorgen", Word::RelativeDay(-1, Some(Morning))),
        ("gistermiddag", Word::RelativeDay(-1, Some(Afternoon))),
        ("gisterenmiddag", Word::RelativeDay(-1, Some(Afternoon))),
        ("gisteravond", Word::RelativeDay(-1, Some(Evening))),
        ("gisterenavond", Word::RelativeDay(-1, Some(Evening))),
        ("gisternacht", Word::RelativeDay(-1, Some(Night))),
        ("gisterennacht", Word::RelativeDay(-1, Some(Night))),
        ("eergisteren", Word::RelativeDay(-2, None)),
        ("eergister", Word::RelativeDay(-2, None)),
        ("ma", Word::WeekdayAbbr(0)),
        ("di", Word::WeekdayAbbr(1)),
        ("wo", Word::WeekdayAbbr(2)),
        ("do", Word::WeekdayAbbr(3)),
        ("vr", Word::WeekdayAbbr(4)),
        ("vrij", Word::WeekdayAbbr(4)),
        ("za", Word::WeekdayAbbr(5)),
        ("zat", Word::WeekdayAbbr(5)),
        ("zo", Word::WeekdayAbbr(6)),
        ("zon", Word::WeekdayAbbr(6)),
        ("maandag", Word::Weekday(0)),
        ("dinsdag", Word::Weekday(1)),
        ("woensdag", Word::Weekday(2)),
        ("donderdag", Word::Weekday(3)),
        ("vrijdag", Word::Weekday(4)),
        ("zaterdag", Word::Weekday(5)),
        ("zondag", Word::Weekday(6)),
        ("monday", Word::Weekday(0)),
        ("tuesday", Word::Weekday(1)),
        ("wednesday", Word::Weekday(2)),
        ("thursday", Word::Weekday(3)),
        ("friday", Word::Weekday(4)),
        ("saturday", Word::Weekday(5)),
        ("sunday", Word::Weekday(6)),
        ("montag", Word::Weekday(0)),
        ("dienstag", Word::Weekday(1)),
        ("mittwoch", Word::Weekday(2)),
        ("donnerstag", Word::Weekday(3)),
        ("freitag", Word::Weekday(4)),
        ("samstag", Word::Weekday(5)),
        ("sonntag", Word::Weekday(6)),
        ("lundi", Word::Weekday(0)),
        ("mardi", Word::Weekday(1)),
        ("mercredi", Word::Weekday(2)),
        ("jeudi", Word::Weekday(3)),
        ("vendredi", Word::Weekday(4)),
        ("samedi", Word::Weekday(5)),
        ("dimanche", Word::Weekday(6)),
        ("avond", Word::DayPart(Evening)),
        ("evening", Word::DayPart(Evening)),
        ("ochtend", Word::DayPart(Morning)),
        ("morning", Word::DayPart(Morning)),
        ("middag", Word::DayPart(Afternoon)),
        ("afternoon", Word::DayPart(Afternoon)),
        ("nacht", Word::DayPart(Night)),
        ("night", Word::DayPart(Night)),
        ("avonds", Word::DayPartAdverb(Evening)),
        ("savonds", Word::DayPartAdverb(Evening)),
        ("ochtends", Word::DayPartAdverb(Morning)),
        ("sochtends", Word::DayPartAdverb(Morning)),
        ("morgens", Word::DayPartAdverb(Morning)),
        ("smorgens", Word::DayPartAdverb(Morning)),
        ("middags", Word::DayPartAdverb(Afternoon)),
        ("smiddags", Word::DayPartAdverb(Afternoon)),
        ("nachts", Word::DayPartAdverb(Night)),
        ("snachts", Word::DayPartAdverb(Night)),
        ("s", Word::ApostropheS),
        ("januari", Word::Month(1)),
        ("jan", Word::Month(1)),
        ("februari", Word::Month(2)),
        ("feb", Word::Month(2)),
        ("febr", Word::Month(2)),
        ("maart", Word::Month(3)),
        ("mrt", Word::Month(3)),
        ("mar", Word::Month(3)),
        ("april", Word::Month(4)),
        ("apr", Word::Month(4)),
        ("mei", Word::Month(5)),
        ("juni", Word::Month(6)),
        ("jun", Word::Month(6)),
        ("juli", Word::Month(7)),
        ("jul", Word::Month(7)),
        ("augustus", Word::Month(8)),
        ("aug", Word::Month(8)),
        ("september", Word::Month(9)),
        ("sep", Word::Month(9)),
        ("sept", Word::Month(9)),
        ("oktober", Word::Month(10)),
        ("okt", Word::Month(10)),
        ("november", Word::Month(11)),
        ("nov", Word::Month(11)),
        ("december", Word::Month(12)),
        ("dec", Word::Month(12)),
        ("oudejaarsavond", Word::Named(Named::OudejaarsAvond)),
        ("oudjaarsavond", Word::Named(Named::OudejaarsAvond)),
        ("jaarwisseling", Word::Named(Named::OudejaarsAvond)),
        ("oudennieuw", Word::Named(Named::OudejaarsAvond)),
        ("oudejaarsdag", Word::Named(Named::OudejaarsDag)),
        ("oudjaarsdag", Word::Named(Named::OudejaarsDag)),
        ("oudejaarsnacht", Word::Named(Named::OudejaarsNacht)),
        ("oudjaarsnacht", Word::Named(Named::OudejaarsNacht)),
        ("nieuwjaarsnacht", Word::Named(Named::NieuwjaarsNacht)),
        ("nieuwjaarsdag", Word::Named(Named::NieuwjaarsDag)),
        ("koningsdag", Word::Named(Named::Koningsdag)),
        ("bevrijdingsdag", Word::Named(Named::Bevrijdingsdag)),
        ("sinterklaasavond", Word::Named(Named::Sinterklaas)),
        ("pakjesavond", Word::Named(Named::Sinterklaas)),
        ("kerstavond", Word::Named(Named::Kerstavond)),
        ("oud", Word::Oud),
        ("en", Word::En),
        ("nieuw", Word::Nieuw),
        ("aanstaande", Word::Upcoming),
        ("komende", Word::Upcoming),
        ("deze", Word::Upcoming),
        ("this", Word::Upcoming),
        ("next", Word::Upcoming),
        ("coming", Word::Upcoming),
        ("volgende", Word::Volgende),
        ("week", Word::Week),
        ("afgelopen", Word::Last),
        ("vorige", Word::Last),
        ("jongstleden", Word::Last),
        ("last", Word::Last),
        ("uur", Word::Uur),
        ("uhr", Word::Uur),
        ("u", Word::HourSuffix),
        ("h", Word::HourSuffix),
        ("am", Word::Am),
        ("pm", Word::Pm),
        ("middernacht", Word::Middernacht),
        ("midnight", Word::Middernacht),
        ("om", Word::At),
        ("vanaf", Word::At),
        ("rond", Word::At),
        ("rondom", Word::At),
        ("omstreeks", Word::At),
        ("at", Word::At),
        ("from", Word::At),
        ("around", Word::At),
        ("tussen", Word::Tussen),
        ("between", Word::Tussen),
        ("tot", Word::Tot),
        ("until", Word::Tot),
        ("till", Word::Tot),
        ("to", Word::Tot),
        ("van", Word::Van),
        ("na", Word::Na),
        ("after", Word::Na),
        ("een", Word::Numeral(1)),
        ("twee", Word::Numeral(2)),
        ("drie", Word::Numeral(3)),
        ("vier", Word::Numeral(4)),
        ("vijf", Word::Numeral(5)),
        ("zes", Word::Numeral(6)),
        ("zeven", Word::Numeral(7)),
        ("acht", Word::Numeral(8)),
        ("negen", Word::Numeral(9)),
        ("tien", Word::Numeral(10)),
        ("elf", Word::Numeral(11)),
        ("twaalf", Word::Numeral(12)),
        ("e", Word::OrdinalSuffix),
        ("ste", Word::OrdinalSuffix),
        ("de", Word::OrdinalSuffix),
        ("st", Word::OrdinalSuffix),
        ("nd", Word::OrdinalSuffix),
        ("rd", Word::OrdinalSuffix),
        ("th", Word::OrdinalSuffix),
        ("op", Word::Link),
        ("bij", Word::Link),
        ("in", Word::Link),
        ("aan", Word::Link),
        ("naar", Word::Link),
        ("voor", Word::Link),
        ("on", Word::Link),
        ("verzamelen", Word::Link),
        ("samen", Word::Link),
        ("we", Word::Link),
        ("wij", Word::Link),
        ("is", Word::Link),
        ("zijn", Word::Link),
        ("begint", Word::Link),
        ("start", Word::Link),
        ("starten", Word::Link),
        ("beginnen", Word::Link),
        ("daar", Word::Link),
        ("hier", Word::Link),
        ("al", Word::Link),
        ("binnen", Word::DurationBefore),
        ("over", Word::DurationBefore),
        ("ruim", Word::DurationBefore),
        ("bijna", Word::DurationBefore),
        ("elke", Word::DurationBefore),
        ("ieder", Word::DurationBefore),
        ("iedere", Word::DurationBefore),
        ("per", Word::DurationBefore),
        ("ongeveer", Word::DurationBefore),
        ("circa", Word::DurationBefore),
        ("ca", Word::DurationBefore),
        ("within", Word::DurationBefore),
        ("every", Word::DurationBefore),
        ("lang", Word::DurationAfter),
        ("later", Word::DurationAfter),
        ("eerder", Word::DurationAfter),
        ("geleden", Word::DurationAfter),
        ("durende", Word::DurationAfter),
        ("achter", Word::DurationAfter),
        ("ago", Word::DurationAfter),
        ("long", Word::DurationAfter),
        ("euro", Word::Currency),
        ("eur", Word::Currency),
        ("euros", Word::Currency),
        ("dollar", Word::Currency),
        ("cent", Word::Currency),
        ("procent", Word::Unit),
        ("percent", Word::Unit),
        ("meter", Word::Unit),
        ("km", Word::Unit),
        ("kilometer", Word::Unit),
        ("kg", Word::Unit),
        ("kilo", Word::Unit),
        ("cm", Word::Unit),
        ("mm", Word::Unit),
        ("mln", Word::Unit),
        ("miljoen", Word::Unit),
        ("miljard", Word::Unit),
        ("jaar", Word::Unit),
        ("keer", Word::Unit),
        ("graden", Word::Unit),
        ("punten", Word::Unit),
        ("minuten", Word::Unit),
        ("min", Word::Unit),
        ("seconden", Word::Unit),
        ("sec", Word::Unit),
        ("dagen", Word::Unit),
        ("weken", Word::Unit),
        ("maanden", Word::Unit),
        ("jaren", Word::Unit),
        ("mensen", Word::Unit),
        ("personen", Word::Unit),
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

/// What the folded (lowercase ASCII) word `folded` is; [`Word::Other`] for
/// any word the table does not know.
pub(super) fn classify_word(folded: &[u8]) -> Word {
    let shapes = folded.first().and_then(|c| KNOWN_SHAPES.get(usize::from(c.wrapping_sub(b'a')))).copied().unwrap_or(0);
    if folded.len() >= 32 || shapes & (1 << folded.len()) == 0 {
        return Word::Other;
    }
    let mut slot = slot_of(folded);
    while let Some(&index) = TABLE.get(slot) {
        let Some(&(known, word)) = (index as usize).checked_sub(1).and_then(|i| WORDS.get(i)) else {
            break;
        };
        if known.as_bytes() == folded {
            return word;
        }
        slot = (slot + 1) & (TABLE_SIZE - 1);
    }
    weekday_compound(folded)
}

const WEEKDAYS: [&[u8]; 7] = [b"maandag", b"dinsdag", b"woensdag", b"donderdag", b"vrijdag", b"zaterdag", b"zondag"];

/// `zaterdagavond`, `zondagochtend`, `vrijdagnacht`, ...
fn weekday_compound(w: &[u8]) -> Word {
    if w.len() < 11 || !matches!(w.last(), Some(b'd' | b'g' | b'n' | b't')) {
        return Word::Other;
    }
    for (i, name) in (0u8..).zip(WEEKDAYS) {
        if let Some(rest) = w.strip_prefix(name) {
            return match rest {
                b"avond" => Word::WeekdayPart(i, DayPart::Evening),
                b"ochtend" | b"morgen" => Word::WeekdayPart(i, DayPart::Morning),
                b"middag" => Word::WeekdayPart(i, DayPart::Afternoon),
                b"nacht" => Word::WeekdayPart(i, DayPart::Night),
                _ => Word::Other,
            };
        }
    }
    Word::Other
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
        if classify_word(dst).is_trigger() {
            return true;
        }
    }
    false
}

impl Word {
    /// Words that may start a time expression without any digit nearby.
    pub(super) const fn is_trigger(self) -> bool {
        matches!(
            self,
            Word::RelativeDay(..)
                | Word::Vannacht
                | Word::Morgen
                | Word::Weekday(_)
                | Word::WeekdayPart(..)
                | Word::Named(_)
                | Word::Oud
                | Word::Middernacht
                | Word::Uur
        )
    }

    /// Words that may start a day expression (after a bare `om 9`).
    pub(super) fn is_dayish(self) -> bool {
        matches!(
            self,
            Word::RelativeDay(..)
                | Word::Vannacht
                | Word::Morgen
                | Word::Weekday(_)
                | Word::WeekdayAbbr(_)
                | Word::WeekdayPart(..)
                | Word::Named(_)
                | Word::Oud
                | Word::Upcoming
                | Word::Volgende
                | Word::Last
        )
    }
}
