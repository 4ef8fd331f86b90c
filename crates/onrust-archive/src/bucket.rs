//! Time buckets: one tantivy index per period of fetch time.
//!
//! Retention must delete physically and provably (rule L6). Deleting
//! documents from one large index only marks them; the bytes stay until a
//! merge happens to rewrite the segment. With one index per period,
//! retention removes whole directories, and the deletion record names them.
//!
//! A message's bucket is chosen by its `fetched_at` (when onrust collected
//! it), not its `published_at`: the storage limit is about how long *we*
//! keep what we collected, and a feed that claims a date from 2010 must not
//! make its message vanish on arrival. Buckets are named by the UTC date
//! their period starts on, e.g. `week-2026-11-23`; the period is part of the
//! name, so changing `archive.bucket` later keeps old buckets readable.

use std::fmt;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How long one bucket spans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    /// Monday to Sunday (UTC).
    #[default]
    Week,
    Month,
}

impl Period {
    fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => date,
            Period::Week => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
            Period::Month => date.with_day(1).unwrap_or(date),
        }
    }
}

impl std::str::FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            other => Err(format!("unknown bucket period {other:?}; use day, week or month")),
        }
    }
}

/// One bucket: a period and the UTC date it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketId {
    // Field order matters for `Ord`: by start first, so the newest bucket is the largest.
    start: NaiveDate,
    period: Period,
}

impl BucketId {
    /// The bucket of `period` that holds time `t`.
    pub fn containing(period: Period, t: DateTime<Utc>) -> BucketId {
        BucketId { start: period.start_of(t.date_naive()), period }
    }

    pub fn period(self) -> Period {
        self.period
    }

    /// The first instant of the bucket.
    pub fn start(self) -> DateTime<Utc> {
        self.start.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The first instant after the bucket.
    pub fn end(self) -> DateTime<Utc> {
        let next = match self.period {
            Period::Day => self.start.checked_add_days(Days::new(1)),
            Period::Week => self.start.checked_add_days(Days::new(7)),
            Period::Month => self.start.checked_add_months(Months::new(1)),
        };
        next.unwrap_or(NaiveDate::MAX).and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The bucket of the same period just before this one.
    pub fn previous(self) -> BucketId {
        let just_before = self.start() - chrono::Duration::seconds(1);
        BucketId::containing(self.period, just_before)
    }

    /// Reads a directory name such as `week-2026-11-23`; `None` for anything
    /// else (including a date that does not start a period of that kind).
    pub fn parse(name: &str) -> Option<BucketId> {
        let (period, date) = name.split_once('-')?;
        let period: Period = period.parse().ok()?;
        let start = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        (period.start_of(start) == start).then_some(BucketId { start, period })
    }
}

impl fmt::Display for BucketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.period.name(), self.start.format("%Y-%m-%d"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_name_round_trips() {
        // 2026-11-29 is a Sunday.
        let b = BucketId::containing(Period::Week, utc(2026, 11, 29, 23));
        assert_eq!(b.to_string(), "week-2026-11-23");
        assert_eq!(BucketId::parse("week-2026-11-23"), Some(b));
        assert_eq!(b.start(), utc(2026, 11, 23, 0));
        assert_eq!(b.end(), utc(2026, 11, 30, 0));
        assert_eq!(BucketId::containing(Period::Week, utc(2026, 11, 30, 0)).to_string(), "week-2026-11-30");
        assert_eq!(b.previous().to_string(), "week-2026-11-16");
    }

    #[test]
    fn days_and_months() {
        let d = BucketId::containing(Period::Day, utc(2026, 12, 31, 22));
        assert_eq!(d.to_string(), "day-2026-12-31");
        assert_eq!(d.end(), utc(2027, 1, 1, 0));
        let m = BucketId::containing(Period::Month, utc(2026, 12, 31, 22));
        assert_eq!(m.to_string(), "month-2026-12-01");
        assert_eq!(m.end(), utc(2027, 1, 1, 0));
        assert_eq!(m.previous().to_string(), "month-2026-11-01");
    }

    #[test]
    fn parse_refuses_what_is_not_a_bucket() {
        for name in ["index", "week-2026-11-24", "year-2026-01-01", "week-2026-13-01", ".deleting-week-2026-11-23", ""]
        {
            assert_eq!(BucketId::parse(name), None, "{name}");
        }
        assert!(
            BucketId::containing(Period::Week, utc(2026, 1, 1, 0))
                > BucketId::containing(Period::Week, utc(2025, 12, 1, 0))
        );
    }
}
