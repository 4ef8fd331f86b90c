//! Resolution: an atom pair against the publication moment in Europe/Amsterdam.

/// Days before publication within which a date without a year is the recent one, not next year's.
const RECENT_DAYS: u64 = 14;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::parser::{ClockAtom, Cx, DayAtom, DayKind, Mode};
use super::words::DayPart;
use super::{add_days, first_valid, first_valid_back};

impl Cx<'_> {
    pub(super) fn resolve(&self, day: Option<&DayAtom>, clock: Option<&ClockAtom>) -> Option<(NaiveDateTime, bool)> {
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
