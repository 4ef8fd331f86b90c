//! Atoms: a day expression or a clock time, parsed from the tokens.

use chrono::{NaiveDate, NaiveDateTime, Timelike};

use super::lexer::{Token, TokenKind};
use super::words::{DayPart, Named, Word};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Next,
    NextWeek,
    Past,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DayKind {
    Rel(i8),
    Weekday(u8, Mode),
    Date { d: u32, m: u32, y: Option<i32> },
    Named(Named),
}

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
pub(super) struct ClockAtom {
    pub(super) h: u32,
    pub(super) m: u32,
    pub(super) next_day: bool,
    /// An explicit `'s avonds` etc.
    pub(super) modifier: Option<DayPart>,
    pub(super) start: usize,
    pub(super) end: usize,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Atom {
    Day(DayAtom),
    Clock(ClockAtom),
}

pub(super) struct Cx<'a> {
    pub(super) t: &'a [Token],
    pub(super) pub_ndt: NaiveDateTime,
    pub(super) pub_date: NaiveDate,
}

impl Cx<'_> {
    fn k(&self, i: usize) -> Option<TokenKind> {
        self.t.get(i).map(|t| t.kind)
    }

    fn word(&self, i: usize) -> Option<Word> {
        match self.k(i) {
            Some(TokenKind::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn num(&self, i: usize) -> Option<(u32, u8)> {
        match self.k(i) {
            Some(TokenKind::Number(v, n)) => Some((v, n)),
            _ => None,
        }
    }

    fn punct(&self, i: usize) -> Option<char> {
        match self.k(i) {
            Some(TokenKind::Punct(c)) => Some(c),
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

    pub(super) fn atoms(&self) -> Vec<Atom> {
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
    pub(super) fn gap_ok(&self, a_end: usize, b_start: usize) -> bool {
        b_start >= a_end
            && b_start - a_end <= 3
            && self.t.get(a_end..b_start).is_some_and(|gap| {
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
        match self.k(i - 1) {
            Some(TokenKind::Punct('€' | '$' | '£')) | Some(TokenKind::Word(Word::Currency)) => false,
            Some(TokenKind::Word(_)) => !glued_before,
            Some(TokenKind::Punct('#' | '+' | '@' | '/' | '\\' | '=' | '_' | '&')) => !glued_before,
            Some(TokenKind::Punct('.' | ',' | ':' | '-' | '–')) => {
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
        if self.word(j) == Some(Word::OrdinalSuffix) && self.glued(i) {
            j += 1;
        }
        if let Some(Word::Month(m)) = self.word(j) {
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
        if y.is_none()
            && matches!(
                self.k(j),
                Some(TokenKind::Punct('%')) | Some(TokenKind::Word(Word::Unit | Word::Currency | Word::Uur))
            )
        {
            return None;
        }
        NaiveDate::from_ymd_opt(y.unwrap_or(2024), m, d)?;
        Some((d, m, y, j))
    }

    // -- clock ----------------------------------------------------------------

    fn parse_clock_core(&self, i: usize) -> Option<Core> {
        match self.k(i)? {
            TokenKind::Word(Word::Middernacht) => {
                Some(Core { h: 0, m: 0, next_day: true, form: Form::Midnight, end: i + 1 })
            }
            TokenKind::Word(Word::Numeral(n)) if self.word(i + 1) == Some(Word::Uur) => {
                Some(Core { h: u32::from(n), m: 0, next_day: false, form: Form::Uur, end: i + 2 })
            }
            TokenKind::Number(a, al) if al <= 2 => {
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
                    if matches!(self.word(j), Some(Word::Uur))
                        || (self.word(j) == Some(Word::HourSuffix) && self.glued(j - 1))
                    {
                        j += 1;
                    }
                    Core { h: a % 24, m: b, next_day: a == 24, form: Form::Colon, end: j }
                } else if self.word(i + 1) == Some(Word::HourSuffix) {
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
                } else if self.word(i + 1) == Some(Word::Uur) {
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
                if let Some(w @ (Word::Am | Word::Pm)) = self.word(core.end)
                    && (1..=12).contains(&core.h)
                    && core.form != Form::Uur
                {
                    core.h = match w {
                        Word::Pm => core.h % 12 + 12,
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
        if self.word(j) == Some(Word::ApostropheS) {
            j += 1;
        }
        match self.word(j) {
            Some(Word::DayPartAdverb(p)) => Some((p, j + 1)),
            _ => None,
        }
    }

    fn parse_clock(&self, i: usize) -> Option<ClockAtom> {
        let pre = match self.word(i) {
            Some(w @ (Word::At | Word::Tot | Word::Van | Word::Tussen | Word::Na)) => Some(w),
            _ => None,
        };
        let ci = if pre.is_some() { i + 1 } else { i };
        if self.num(ci).is_some() && !self.number_ok(ci) {
            return None;
        }
        if matches!(self.word(ci), Some(Word::Numeral(_))) && pre.is_none() {
            return None;
        }
        let core = self.parse_clock_core(ci)?;
        let start_word = if pre.is_some() { i } else { ci };
        if core.form != Form::Colon && core.form != Form::Midnight {
            if start_word > 0 && self.word(start_word - 1) == Some(Word::DurationBefore) {
                return None;
            }
            if self.word(core.end) == Some(Word::DurationAfter) {
                return None;
            }
        }
        if core.form == Form::Colon
            && matches!(
                self.k(core.end),
                Some(TokenKind::Punct('%')) | Some(TokenKind::Word(Word::Unit | Word::Currency))
            )
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
            && (self.word(j) == Some(Word::Tot)
                || matches!(self.punct(j), Some('-' | '–'))
                || (pre == Some(Word::Tussen) && self.word(j) == Some(Word::En)))
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
            && (!matches!(pre, Some(Word::At | Word::Tot)) || !self.bare_follow_ok(core.end))
        {
            return None;
        }
        Some(ClockAtom { h: core.h, m: core.m, next_day: core.next_day, modifier, start: start_word, end: j })
    }

    /// What may follow a bare `om 9`.
    fn bare_follow_ok(&self, i: usize) -> bool {
        match self.k(i) {
            None | Some(TokenKind::Break) => true,
            Some(TokenKind::Punct('.' | ',' | ':')) => !(self.glued(i) && self.num(i + 1).is_some()),
            Some(TokenKind::Punct('!' | '?' | ';' | ')' | '(' | '"' | '\'' | '’' | '‘')) => true,
            Some(TokenKind::Word(w)) => {
                w.is_dayish()
                    || matches!(w, Word::Link | Word::En | Word::Tot | Word::ApostropheS | Word::DayPartAdverb(_))
            }
            _ => false,
        }
    }

    // -- days -----------------------------------------------------------------

    /// A weekday word at `i`: (weekday, day part, end).
    fn parse_weekday(&self, i: usize) -> Option<(u8, Option<DayPart>, usize)> {
        match self.word(i)? {
            Word::Weekday(d) => Some((d, None, i + 1)),
            Word::WeekdayPart(d, p) => Some((d, Some(p), i + 1)),
            Word::WeekdayAbbr(d) => {
                let mut j = i + 1;
                if self.punct(j) == Some('.') && self.glued(i) {
                    j += 1;
                }
                if self.punct(j) == Some(',') {
                    j += 1;
                }
                let followed = self.parse_date(j, true).is_some()
                    || (self.num(j).is_some() && self.parse_clock(j).is_some())
                    || (self.word(j) == Some(Word::At) && self.parse_clock(j).is_some());
                followed.then_some((d, None, i + 1))
            }
            _ => None,
        }
    }

    fn parse_named(&self, i: usize) -> Option<(Named, usize)> {
        match self.word(i)? {
            Word::Named(n) => Some((n, i + 1)),
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
                (self.word(j) == Some(Word::Nieuw)).then_some((Named::OudejaarsAvond, j + 1))
            }
            _ => None,
        }
    }

    fn parse_day(&self, i: usize) -> Option<DayAtom> {
        let w = self.word(i);
        let mut atom = match w {
            Some(Word::RelativeDay(n, p)) => {
                DayAtom { kind: DayKind::Rel(n), part: p, past: n < 0, start: i, end: i + 1 }
            }
            Some(Word::Vannacht) => {
                let morning = self.pub_ndt.hour() < 12;
                DayAtom {
                    kind: DayKind::Rel(if morning { -1 } else { 0 }),
                    part: Some(DayPart::Night),
                    past: morning,
                    start: i,
                    end: i + 1,
                }
            }
            Some(Word::Morgen) => DayAtom { kind: DayKind::Rel(1), part: None, past: false, start: i, end: i + 1 },
            Some(Word::Upcoming | Word::Volgende | Word::Last) => {
                if let Some((n, end)) = self.parse_named(i + 1) {
                    DayAtom { kind: DayKind::Named(n), part: n.day_part(), past: w == Some(Word::Last), start: i, end }
                } else {
                    let (mode, j) = match w {
                        Some(Word::Last) => (Mode::Past, i + 1),
                        Some(Word::Volgende) if self.word(i + 1) == Some(Word::Week) => (Mode::NextWeek, i + 2),
                        _ => (Mode::Next, i + 1),
                    };
                    let (d, p, end) = self.parse_weekday(j)?;
                    DayAtom { kind: DayKind::Weekday(d, mode), part: p, past: mode == Mode::Past, start: i, end }
                }
            }
            Some(Word::Weekday(_) | Word::WeekdayPart(..) | Word::WeekdayAbbr(_)) => {
                let (d, p, mut end) = self.parse_weekday(i)?;
                let mut mode = Mode::Next;
                match self.word(end) {
                    Some(Word::Upcoming) => end += 1,
                    Some(Word::Volgende) if self.word(end + 1) == Some(Word::Week) => {
                        mode = Mode::NextWeek;
                        end += 2;
                    }
                    _ => {}
                }
                DayAtom { kind: DayKind::Weekday(d, mode), part: p, past: false, start: i, end }
            }
            Some(Word::Named(_) | Word::Oud) => {
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
            && let Some(TokenKind::Word(next_word)) = self.k(atom.end)
        {
            let p = match next_word {
                Word::DayPart(p) => Some(p),
                Word::Morgen if matches!(atom.kind, DayKind::Weekday(..)) => Some(DayPart::Morning),
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
            if self.word(j) == Some(Word::OrdinalSuffix) {
                j += 1;
            }
            if let Some((d, m, y, end)) = self.parse_date(j, true) {
                atom.kind = DayKind::Date { d, m, y };
                atom.past = mode == Mode::Past;
                atom.end = end;
                if atom.part.is_none()
                    && let Some(TokenKind::Word(Word::DayPart(p))) = self.k(atom.end)
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
}
