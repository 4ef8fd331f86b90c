//! Resolution: a day expression and/or clock time against the publication
//! moment in Europe/Amsterdam.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::parser::{ClockAtom, DateParts, DayAtom, DayKind, WeekdayMode};
use super::words::DayPart;
use super::{add_days, first_valid, first_valid_back};

/// Days before publication within which a date without a year is the recent one, not next year's.
const RECENT_DAYS: u64 = 14;

/// The publication moment as Europe/Amsterdam wall-clock time, and its date.
#[derive(Debug, Clone, Copy)]
pub(super) struct Published {
    pub(super) at: NaiveDateTime,
    pub(super) date: NaiveDate,
}

/// A resolved time expression: Europe/Amsterdam wall-clock time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resolved {
    pub(super) at: NaiveDateTime,
    /// Before the publication moment (see the module documentation).
    pub(super) past: bool,
}

impl Published {
    /// When `day` at `clock` is; at least one of them is given. `None` only
    /// off the end of the calendar.
    pub(super) fn resolve(&self, day: Option<&DayAtom>, clock: Option<&ClockAtom>) -> Option<Resolved> {
        let part = day.and_then(|d| d.part);
        // time of day and extra days
        let (hour, minute, extra_days) = match clock {
            Some(clock) => {
                let h = clock.hour;
                let (hour, extra_days) = match (clock.modifier, part) {
                    (Some(DayPart::Afternoon | DayPart::Evening), _) if (1..12).contains(&h) => (h + 12, 0),
                    (Some(_), _) => (h, 0),
                    (None, Some(DayPart::Evening)) if h < 6 && !clock.next_day => (h, 1),
                    (None, Some(DayPart::Evening)) if (6..12).contains(&h) => (h + 12, 0),
                    (None, Some(DayPart::Afternoon)) if (1..=7).contains(&h) => (h + 12, 0),
                    // "vannacht om 11 uur" is 23:00; "vannacht om 2 uur" is 02:00 the next day.
                    (None, Some(DayPart::Night)) if (6..12).contains(&h) => (h + 12, 0),
                    // "om 12 uur vannacht" is midnight, not noon.
                    (None, Some(DayPart::Night)) if h == 12 => (0, 1),
                    (None, Some(DayPart::Night)) if h < 6 && !clock.next_day => (h, 1),
                    _ => (h, 0),
                };
                (hour, clock.minute, extra_days + u64::from(clock.next_day))
            }
            None => (part.map_or(12, DayPart::default_hour), 0, 0),
        };
        let time = NaiveTime::from_hms_opt(hour, minute, 0)?;
        let timed = clock.is_some() || part.is_some();
        let published_date = self.date;
        let Some(day) = day else {
            // a clock time alone: today if still to come, else tomorrow
            let mut date = published_date.checked_add_days(Days::new(extra_days))?;
            if extra_days == 0 && date.and_time(time) <= self.at {
                date = date.checked_add_days(Days::new(1))?;
            }
            return Some(Resolved { at: date.and_time(time), past: false });
        };
        let mut past = day.past;
        let base = match day.kind {
            DayKind::Relative(days) => add_days(published_date, i64::from(days))?,
            DayKind::Weekday(weekday, mode) => {
                let published_weekday = i64::from(published_date.weekday().num_days_from_monday());
                let weekday = i64::from(weekday);
                match mode {
                    WeekdayMode::Next => {
                        let mut delta = (weekday - published_weekday).rem_euclid(7);
                        if delta == 0 {
                            let later = extra_days > 0 || time > self.at.time();
                            if !(timed && later) {
                                delta = 7;
                            }
                        }
                        add_days(published_date, delta)?
                    }
                    WeekdayMode::NextWeek => add_days(published_date, 7 - published_weekday + weekday)?,
                    WeekdayMode::Past => {
                        let mut delta = (published_weekday - weekday).rem_euclid(7);
                        if delta == 0 {
                            delta = 7;
                        }
                        past = true;
                        add_days(published_date, -delta)?
                    }
                }
            }
            DayKind::Date(DateParts { day: day_of_month, month, year }) => match year {
                Some(year) => {
                    let date = NaiveDate::from_ymd_opt(year, month, day_of_month)?;
                    past |= date < published_date;
                    date
                }
                None => {
                    let year = published_date.year();
                    let this = first_valid(year, month, day_of_month)?;
                    if day.past {
                        if this > published_date {
                            first_valid_back(year.checked_sub(1)?, month, day_of_month)?
                        } else {
                            this
                        }
                    } else if this < published_date && this >= published_date - chrono::Days::new(RECENT_DAYS) {
                        // A date from the last two weeks is the one just gone,
                        // not next year's: "vrijdag 20 februari" posted on the 23rd.
                        past = true;
                        this
                    } else if this < published_date {
                        first_valid(year.checked_add(1)?, month, day_of_month)?
                    } else {
                        this
                    }
                }
            },
            DayKind::Named(named) => {
                let year = published_date.year();
                let this = named.date(year)?;
                if day.past {
                    if this > published_date { named.date(year.checked_sub(1)?)? } else { this }
                } else {
                    // the latest occurrence on or before the publication date
                    let previous = if this <= published_date {
                        Some(this)
                    } else {
                        year.checked_sub(1).and_then(|y| named.date(y))
                    };
                    match previous {
                        Some(p) if p.checked_add_days(Days::new(1)) == Some(published_date) => {
                            past = true;
                            p
                        }
                        _ if this < published_date => named.date(year.checked_add(1)?)?,
                        _ => this,
                    }
                }
            }
        };
        let at = base.checked_add_days(Days::new(extra_days))?.and_time(time);
        if !past
            && base == published_date
            && timed
            && matches!(day.kind, DayKind::Relative(_) | DayKind::Date(_) | DayKind::Named(_))
        {
            past = at < self.at - TimeDelta::hours(2);
        }
        Some(Resolved { at, past })
    }
}
