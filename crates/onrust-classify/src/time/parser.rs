//! Atoms: a day expression or a clock time, parsed from the tokens.

use chrono::{NaiveDate, Timelike};

use super::lexer::{Number, Token, TokenKind};
use super::resolve::Published;
use super::words::{DayPart, Named, Word};

/// Which occurrence of a weekday is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WeekdayMode {
    /// The next such day (`zaterdag`, `aanstaande zaterdag`).
    Next,
    /// That day in the next ISO week (`volgende week zaterdag`).
    NextWeek,
    /// The most recent such day before publication (`afgelopen zaterdag`).
    Past,
}

/// A calendar date as written: the year may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DateParts {
    pub(super) day: u32,
    pub(super) month: u32,
    pub(super) year: Option<i32>,
}

/// What a day expression names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DayKind {
    /// Days from the publication date (`morgen` is 1).
    Relative(i8),
    /// A weekday, 0 = Monday.
    Weekday(u8, WeekdayMode),
    Date(DateParts),
    Named(Named),
}

/// A day expression: `zaterdagavond`, `morgen`, `24 februari`, `oud en nieuw`.
#[derive(Debug, Clone, Copy)]
pub(super) struct DayAtom {
    pub(super) kind: DayKind,
    pub(super) part: Option<DayPart>,
    /// Forced into the past (`afgelopen`, `gisteren`, morning `vannacht`).
    pub(super) past: bool,
    /// Token range.
    pub(super) start: usize,
    pub(super) end: usize,
}

/// How a clock time was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClockForm {
    /// `20:00`, `20.00`.
    Colon,
    /// `9 uur`, `14u`, `14u30`, `8pm`, `een uur`.
    Uur,
    /// A bare hour: `om 9`.
    Bare,
    /// `middernacht`, `midnight`.
    Midnight,
}

/// A clock time without what may surround it (`om`, `'s avonds`, a range).
#[derive(Debug, Clone, Copy)]
struct ClockCore {
    hour: u32,
    minute: u32,
    /// `24:00` and `middernacht`: 00:00 of the next day.
    next_day: bool,
    form: ClockForm,
    /// The token after it.
    end: usize,
}

/// A clock time: `om 20:00`, `9 uur 's avonds`, `van 14 tot 16 uur`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClockAtom {
    pub(super) hour: u32,
    pub(super) minute: u32,
    /// `24:00` and `middernacht`: 00:00 of the next day.
    pub(super) next_day: bool,
    /// An explicit `'s avonds` etc.
    pub(super) modifier: Option<DayPart>,
    /// Token range.
    pub(super) start: usize,
    pub(super) end: usize,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Atom {
    Day(DayAtom),
    Clock(ClockAtom),
}

/// What a parse found, and the index of the token after it.
#[derive(Debug, Clone, Copy)]
struct Parsed<T> {
    value: T,
    end: usize,
}

/// A weekday word: 0 = Monday, with the day part of a compound (`zaterdagavond`).
#[derive(Debug, Clone, Copy)]
struct WeekdayWord {
    weekday: u8,
    part: Option<DayPart>,
}

/// Finds the atoms in a text's tokens. Every `parse_*` takes the index of
/// the token to start at and never reads past the end of the tokens.
pub(super) struct Parser<'a> {
    pub(super) tokens: &'a [Token],
    pub(super) published: Published,
}

impl Parser<'_> {
    fn kind(&self, i: usize) -> Option<TokenKind> {
        self.tokens.get(i).map(|t| t.kind)
    }

    fn word(&self, i: usize) -> Option<Word> {
        match self.kind(i) {
            Some(TokenKind::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn number(&self, i: usize) -> Option<Number> {
        match self.kind(i) {
            Some(TokenKind::Number(n)) => Some(n),
            _ => None,
        }
    }

    fn punct(&self, i: usize) -> Option<char> {
        match self.kind(i) {
            Some(TokenKind::Punct(c)) => Some(c),
            _ => None,
        }
    }

    /// Token `i` ends exactly where token `i + 1` starts.
    fn glued(&self, i: usize) -> bool {
        match (self.tokens.get(i), self.tokens.get(i + 1)) {
            (Some(a), Some(b)) => a.end == b.start,
            _ => false,
        }
    }

    /// Token `i` is one of the punctuation marks `seps`, glued to both neighbours.
    fn glued_sep(&self, i: usize, seps: &[char]) -> Option<char> {
        let c = self.punct(i)?;
        (seps.contains(&c) && i > 0 && self.glued(i - 1) && self.glued(i)).then_some(c)
    }

    /// Every day expression and clock time, in text order, none overlapping.
    pub(super) fn atoms(&self) -> Vec<Atom> {
        let mut atoms = Vec::new();
        let mut i = 0;
        while i < self.tokens.len() {
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
    pub(super) fn gap_ok(&self, a_end: usize, b_start: usize) -> bool {
        b_start >= a_end
            && b_start - a_end <= 3
            && self.tokens.get(a_end..b_start).is_some_and(|gap| {
                gap.iter().all(|t| !matches!(t.kind, TokenKind::Break | TokenKind::Punct('.' | '!' | '?' | ';')))
            })
    }

    // -- numbers ------------------------------------------------------------

    /// A number at `i` that is not money, part of a number chain or glued to letters.
    fn number_ok(&self, i: usize) -> bool {
        if i == 0 {
            return true;
        }
        let glued_before = self.glued(i - 1);
        match self.kind(i - 1) {
            Some(TokenKind::Punct('€' | '$' | '£')) | Some(TokenKind::Word(Word::Currency)) => false,
            Some(TokenKind::Word(_)) => !glued_before,
            Some(TokenKind::Punct('#' | '+' | '@' | '/' | '\\' | '=' | '_' | '&')) => !glued_before,
            Some(TokenKind::Punct('.' | ',' | ':' | '-' | '–')) => {
                !(glued_before && i >= 2 && self.glued(i - 2) && self.number(i - 2).is_some())
            }
            _ => true,
        }
    }

    /// `d month [year]`, `d-m[-y]`, `d/m[/y]`, `d.m.y` at `i`.
    fn parse_date(&self, i: usize, after_weekday: bool) -> Option<Parsed<DateParts>> {
        let day = self.number(i)?;
        if day.digits > 2 || !(1..=31).contains(&day.value) || !self.number_ok(i) {
            return None;
        }
        let mut j = i + 1;
        if self.word(j) == Some(Word::OrdinalSuffix) && self.glued(i) {
            j += 1;
        }
        if let Some(Word::Month(month)) = self.word(j) {
            let month = u32::from(month);
            j += 1;
            if self.punct(j) == Some('.') && self.glued(j - 1) && self.number(j + 1).is_none() {
                j += 1;
            }
            let mut year = None;
            if let Some(Number { value, digits: 4 }) = self.number(j)
                && (1900..=2100).contains(&value)
                && self.punct(j + 1) != Some(':')
            {
                year = i32::try_from(value).ok();
                j += 1;
            }
            NaiveDate::from_ymd_opt(year.unwrap_or(2024), month, day.value)?;
            return Some(Parsed { value: DateParts { day: day.value, month, year }, end: j });
        }
        // numeric forms
        let sep = self.glued_sep(i + 1, &['-', '/', '.'])?;
        let month = self.number(i + 2)?;
        if month.digits > 2 || !(1..=12).contains(&month.value) {
            return None;
        }
        let mut j = i + 3;
        let mut year = None;
        if self.glued_sep(j, &[sep]).is_some() {
            let written = self.number(j + 1)?;
            year = match written.digits {
                4 if (1900..=2100).contains(&written.value) => i32::try_from(written.value).ok(),
                2 => i32::try_from(2000 + written.value).ok(),
                _ => None,
            };
            year?;
            j += 2;
        }
        // no longer chains (phone numbers, ids, versions)
        if self.glued_sep(j, &['-', '/', '.', ':']).is_some() && self.number(j + 1).is_some() {
            return None;
        }
        if year.is_none() && (sep == '.' || (day.digits + month.digits < 3 && !after_weekday)) {
            return None;
        }
        if year.is_none()
            && matches!(
                self.kind(j),
                Some(TokenKind::Punct('%')) | Some(TokenKind::Word(Word::Unit | Word::Currency | Word::Uur))
            )
        {
            return None;
        }
        NaiveDate::from_ymd_opt(year.unwrap_or(2024), month.value, day.value)?;
        Some(Parsed { value: DateParts { day: day.value, month: month.value, year }, end: j })
    }

    // -- clock ----------------------------------------------------------------

    fn parse_clock_core(&self, i: usize) -> Option<ClockCore> {
        match self.kind(i)? {
            TokenKind::Word(Word::Middernacht) => {
                Some(ClockCore { hour: 0, minute: 0, next_day: true, form: ClockForm::Midnight, end: i + 1 })
            }
            TokenKind::Word(Word::Numeral(n)) if self.word(i + 1) == Some(Word::Uur) => {
                Some(ClockCore { hour: u32::from(n), minute: 0, next_day: false, form: ClockForm::Uur, end: i + 2 })
            }
            TokenKind::Number(Number { value: hour, digits }) if digits <= 2 => {
                let mut core = if let (Some(_), Some(Number { value: minute, digits: 2 })) =
                    (self.glued_sep(i + 1, &[':', '.']), self.number(i + 2))
                {
                    if hour > 24 || minute > 59 || (hour == 24 && minute > 0) {
                        return None;
                    }
                    let mut j = i + 3;
                    if self.glued_sep(j, &[':']).is_some()
                        && matches!(self.number(j + 1), Some(Number { value: 0..=59, digits: 2 }))
                    {
                        j += 2;
                    }
                    if self.glued_sep(j, &[':', '.', ',']).is_some() && self.number(j + 1).is_some() {
                        return None;
                    }
                    if matches!(self.word(j), Some(Word::Uur))
                        || (self.word(j) == Some(Word::HourSuffix) && self.glued(j - 1))
                    {
                        j += 1;
                    }
                    ClockCore { hour: hour % 24, minute, next_day: hour == 24, form: ClockForm::Colon, end: j }
                } else if self.word(i + 1) == Some(Word::HourSuffix) {
                    if hour > 23 {
                        return None;
                    }
                    let mut j = i + 2;
                    let mut minute = 0;
                    if let Some(Number { value, digits: 2 }) = self.number(j)
                        && self.glued(j - 1)
                        && value <= 59
                    {
                        minute = value;
                        j += 1;
                    }
                    ClockCore { hour, minute, next_day: false, form: ClockForm::Uur, end: j }
                } else if self.word(i + 1) == Some(Word::Uur) {
                    if hour > 23 {
                        return None;
                    }
                    ClockCore { hour, minute: 0, next_day: false, form: ClockForm::Uur, end: i + 2 }
                } else {
                    if hour > 23 {
                        return None;
                    }
                    ClockCore { hour, minute: 0, next_day: false, form: ClockForm::Bare, end: i + 1 }
                };
                // am / pm
                if let Some(w @ (Word::Am | Word::Pm)) = self.word(core.end)
                    && (1..=12).contains(&core.hour)
                    && core.form != ClockForm::Uur
                {
                    core.hour = match w {
                        Word::Pm => core.hour % 12 + 12,
                        _ => core.hour % 12,
                    };
                    core.form = ClockForm::Uur;
                    core.end += 1;
                }
                Some(core)
            }
            _ => None,
        }
    }

    /// `'s avonds`, `s avonds`, `savonds`, `avonds` at `i`.
    fn parse_day_part_adverb(&self, i: usize) -> Option<Parsed<DayPart>> {
        let mut j = i;
        if matches!(self.punct(j), Some('\'' | '’' | '`' | '‘')) {
            j += 1;
        }
        if self.word(j) == Some(Word::ApostropheS) {
            j += 1;
        }
        match self.word(j) {
            Some(Word::DayPartAdverb(part)) => Some(Parsed { value: part, end: j + 1 }),
            _ => None,
        }
    }

    fn parse_clock(&self, i: usize) -> Option<ClockAtom> {
        let preposition = match self.word(i) {
            Some(w @ (Word::At | Word::Tot | Word::Van | Word::Tussen | Word::Na)) => Some(w),
            _ => None,
        };
        let core_at = if preposition.is_some() { i + 1 } else { i };
        if self.number(core_at).is_some() && !self.number_ok(core_at) {
            return None;
        }
        if matches!(self.word(core_at), Some(Word::Numeral(_))) && preposition.is_none() {
            return None;
        }
        let core = self.parse_clock_core(core_at)?;
        let start = if preposition.is_some() { i } else { core_at };
        if core.form != ClockForm::Colon && core.form != ClockForm::Midnight {
            if start > 0 && self.word(start - 1) == Some(Word::DurationBefore) {
                return None;
            }
            if self.word(core.end) == Some(Word::DurationAfter) {
                return None;
            }
        }
        if core.form == ClockForm::Colon
            && matches!(
                self.kind(core.end),
                Some(TokenKind::Punct('%')) | Some(TokenKind::Word(Word::Unit | Word::Currency))
            )
        {
            return None;
        }
        let mut j = core.end;
        let mut modifier = None;
        if let Some(adverb) = self.parse_day_part_adverb(j) {
            modifier = Some(adverb.value);
            j = adverb.end;
        }
        // range: "14:00-16:00", "van 14 tot 16 uur"
        let mut ranged = false;
        if core.form != ClockForm::Midnight
            && (self.word(j) == Some(Word::Tot)
                || matches!(self.punct(j), Some('-' | '–'))
                || (preposition == Some(Word::Tussen) && self.word(j) == Some(Word::En)))
            && let Some(until) = self.parse_clock_core(j + 1)
            && matches!(until.form, ClockForm::Colon | ClockForm::Uur)
        {
            ranged = true;
            j = until.end;
            if modifier.is_none()
                && let Some(adverb) = self.parse_day_part_adverb(j)
            {
                modifier = Some(adverb.value);
                j = adverb.end;
            }
        }
        if core.form == ClockForm::Bare
            && !ranged
            && (!matches!(preposition, Some(Word::At | Word::Tot)) || !self.bare_follow_ok(core.end))
        {
            return None;
        }
        Some(ClockAtom { hour: core.hour, minute: core.minute, next_day: core.next_day, modifier, start, end: j })
    }

    /// What may follow a bare `om 9`.
    fn bare_follow_ok(&self, i: usize) -> bool {
        match self.kind(i) {
            None | Some(TokenKind::Break) => true,
            Some(TokenKind::Punct('.' | ',' | ':')) => !(self.glued(i) && self.number(i + 1).is_some()),
            Some(TokenKind::Punct('!' | '?' | ';' | ')' | '(' | '"' | '\'' | '’' | '‘')) => true,
            Some(TokenKind::Word(w)) => {
                w.is_dayish()
                    || matches!(w, Word::Link | Word::En | Word::Tot | Word::ApostropheS | Word::DayPartAdverb(_))
            }
            _ => false,
        }
    }

    // -- days -----------------------------------------------------------------

    /// A weekday word at `i`; an abbreviation (`za`) only when a date or clock time follows.
    fn parse_weekday(&self, i: usize) -> Option<Parsed<WeekdayWord>> {
        let found = |weekday, part| Parsed { value: WeekdayWord { weekday, part }, end: i + 1 };
        match self.word(i)? {
            Word::Weekday(weekday) => Some(found(weekday, None)),
            Word::WeekdayPart(weekday, part) => Some(found(weekday, Some(part))),
            Word::WeekdayAbbr(weekday) => {
                let mut j = i + 1;
                if self.punct(j) == Some('.') && self.glued(i) {
                    j += 1;
                }
                if self.punct(j) == Some(',') {
                    j += 1;
                }
                let followed = self.parse_date(j, true).is_some()
                    || (self.number(j).is_some() && self.parse_clock(j).is_some())
                    || (self.word(j) == Some(Word::At) && self.parse_clock(j).is_some());
                followed.then(|| found(weekday, None))
            }
            _ => None,
        }
    }

    /// A named day at `i`: one word, or `oud en nieuw` (`oud & nieuw`, `oud-en-nieuw`).
    fn parse_named(&self, i: usize) -> Option<Parsed<Named>> {
        match self.word(i)? {
            Word::Named(named) => Some(Parsed { value: named, end: i + 1 }),
            Word::Oud => {
                let mut j = i + 1;
                if self.punct(j) == Some('-') {
                    j += 1;
                }
                if self.word(j) == Some(Word::En) || self.punct(j) == Some('&') {
                    j += 1;
                } else {
                    return None;
                }
                if self.punct(j) == Some('-') {
                    j += 1;
                }
                (self.word(j) == Some(Word::Nieuw)).then_some(Parsed { value: Named::OudejaarsAvond, end: j + 1 })
            }
            _ => None,
        }
    }

    fn parse_day(&self, i: usize) -> Option<DayAtom> {
        let first = self.word(i);
        let mut atom = match first {
            Some(Word::RelativeDay(days, part)) => {
                DayAtom { kind: DayKind::Relative(days), part, past: days < 0, start: i, end: i + 1 }
            }
            Some(Word::Vannacht) => {
                let morning = self.published.at.hour() < 12;
                DayAtom {
                    kind: DayKind::Relative(if morning { -1 } else { 0 }),
                    part: Some(DayPart::Night),
                    past: morning,
                    start: i,
                    end: i + 1,
                }
            }
            Some(Word::Morgen) => DayAtom { kind: DayKind::Relative(1), part: None, past: false, start: i, end: i + 1 },
            Some(Word::Upcoming | Word::Volgende | Word::Last) => {
                if let Some(Parsed { value: named, end }) = self.parse_named(i + 1) {
                    DayAtom {
                        kind: DayKind::Named(named),
                        part: named.day_part(),
                        past: first == Some(Word::Last),
                        start: i,
                        end,
                    }
                } else {
                    let (mode, j) = match first {
                        Some(Word::Last) => (WeekdayMode::Past, i + 1),
                        Some(Word::Volgende) if self.word(i + 1) == Some(Word::Week) => (WeekdayMode::NextWeek, i + 2),
                        _ => (WeekdayMode::Next, i + 1),
                    };
                    let Parsed { value: WeekdayWord { weekday, part }, end } = self.parse_weekday(j)?;
                    DayAtom {
                        kind: DayKind::Weekday(weekday, mode),
                        part,
                        past: mode == WeekdayMode::Past,
                        start: i,
                        end,
                    }
                }
            }
            Some(Word::Weekday(_) | Word::WeekdayPart(..) | Word::WeekdayAbbr(_)) => {
                let Parsed { value: WeekdayWord { weekday, part }, mut end } = self.parse_weekday(i)?;
                let mut mode = WeekdayMode::Next;
                match self.word(end) {
                    Some(Word::Upcoming) => end += 1,
                    Some(Word::Volgende) if self.word(end + 1) == Some(Word::Week) => {
                        mode = WeekdayMode::NextWeek;
                        end += 2;
                    }
                    _ => {}
                }
                DayAtom { kind: DayKind::Weekday(weekday, mode), part, past: false, start: i, end }
            }
            Some(Word::Named(_) | Word::Oud) => {
                let Parsed { value: named, end } = self.parse_named(i)?;
                DayAtom { kind: DayKind::Named(named), part: named.day_part(), past: false, start: i, end }
            }
            None if self.number(i).is_some() => {
                let Parsed { value: date, end } = self.parse_date(i, false)?;
                DayAtom { kind: DayKind::Date(date), part: None, past: false, start: i, end }
            }
            _ => return None,
        };
        // day part as a separate word
        if atom.part.is_none()
            && !matches!(atom.kind, DayKind::Named(_))
            && let Some(TokenKind::Word(next_word)) = self.kind(atom.end)
        {
            let part = match next_word {
                Word::DayPart(part) => Some(part),
                Word::Morgen if matches!(atom.kind, DayKind::Weekday(..)) => Some(DayPart::Morning),
                _ => None,
            };
            if let Some(part) = part {
                atom.part = Some(part);
                atom.end += 1;
            }
        }
        // a weekday followed by a date is that date
        if let DayKind::Weekday(_, mode) = atom.kind {
            let mut j = atom.end;
            if matches!(self.punct(j), Some(',' | '.')) {
                j += 1;
            }
            if self.word(j) == Some(Word::OrdinalSuffix) {
                j += 1;
            }
            if let Some(Parsed { value: date, end }) = self.parse_date(j, true) {
                atom.kind = DayKind::Date(date);
                atom.past = mode == WeekdayMode::Past;
                atom.end = end;
                if atom.part.is_none()
                    && let Some(TokenKind::Word(Word::DayPart(part))) = self.kind(atom.end)
                {
                    atom.part = Some(part);
                    atom.end += 1;
                }
            }
        }
        if atom.part.is_none()
            && let Some(adverb) = self.parse_day_part_adverb(atom.end)
        {
            atom.part = Some(adverb.value);
            atom.end = adverb.end;
        }
        Some(atom)
    }
}
