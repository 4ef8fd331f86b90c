//! One evaluation round: what the alert stage of the daemon does every
//! `[alerts] evaluate_interval`, and what `onrust backtest` does at the same
//! simulated instants. It lives here, not in the binary, so the two cannot
//! drift apart: a backtest replays exactly the decisions the daemon makes.

use chrono::{DateTime, NaiveDate, TimeDelta, Timelike, Utc};
use chrono_tz::Europe::Amsterdam;

use crate::baseline::BaselineSource;
use crate::engine::{Engine, Transition};
use crate::mechanics::{Mechanics, Notification};

/// One evaluation round's decisions: evaluate the rules, let the mechanics
/// decide what is due, add the joint summaries ahead of announced actions
/// and, once a day from the digest hour, the mayors' digest.
pub struct Round<'a> {
    pub baselines: &'a dyn BaselineSource,
    /// How long before an announced action the joint summary goes out.
    pub summary_lead: TimeDelta,
    /// Hour of the day (Europe/Amsterdam) from which the digest goes out.
    pub digest_hour: u32,
}

impl std::fmt::Debug for Round<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Round")
            .field("summary_lead", &self.summary_lead)
            .field("digest_hour", &self.digest_hour)
            .finish_non_exhaustive()
    }
}

/// What a round decided.
#[derive(Debug, Default)]
pub struct RoundOutcome {
    /// The notifications due now, for the recipients of their role.
    pub notifications: Vec<Notification>,
    /// The transitions the evaluation made (for the alerts topic, a backtest's episodes).
    pub transitions: Vec<Transition>,
}

impl Round<'_> {
    /// Decides the round at `now`. `last_digest` is the day (Europe/Amsterdam)
    /// of the last mayors' digest; it moves on when this round makes one.
    pub fn decide(
        &self,
        engine: &mut Engine,
        mechanics: &mut Mechanics,
        last_digest: &mut Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> RoundOutcome {
        let transitions = engine.evaluate(now, self.baselines);
        mechanics.apply(&transitions, now);
        let mut notifications = mechanics.tick(now);
        // Officers and the mayor together, once, ahead of each announced action.
        notifications.extend(mechanics.summaries_ahead(engine.calendar(), now, self.summary_lead));
        // The mayors' daily digest, once a day from the digest hour (Europe/Amsterdam).
        let local = now.with_timezone(&Amsterdam);
        if local.hour() >= self.digest_hour && last_digest.is_none_or(|d| d < local.date_naive()) {
            notifications.extend(mechanics.digest(now));
            *last_digest = Some(local.date_naive());
        }
        RoundOutcome { notifications, transitions }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{NoBaseline, RuleConfig, RuleKind, validate};

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // December: Europe/Amsterdam is UTC+1.
        Utc.with_ymd_and_hms(2026, 12, day, hour - 1, 0, 0).single().unwrap_or_default()
    }

    /// The digest day moves on once a day, from the digest hour (Amsterdam
    /// time), not before it and not twice the same day.
    #[test]
    fn the_digest_day_moves_once_a_day_from_the_digest_hour() {
        let rules = validate(&[RuleConfig {
            name: "oproep-tot-geweld".into(),
            kind: Some(RuleKind::Critical),
            ..RuleConfig::default()
        }])
        .unwrap_or_default();
        let mut engine = Engine::new(rules.clone());
        let mut mechanics = Mechanics::new(&rules);
        let round = Round { baselines: &NoBaseline, summary_lead: TimeDelta::hours(24), digest_hour: 7 };
        let mut last_digest = NaiveDate::from_ymd_opt(2026, 12, 29);
        round.decide(&mut engine, &mut mechanics, &mut last_digest, at(30, 6));
        assert_eq!(last_digest, NaiveDate::from_ymd_opt(2026, 12, 29), "06:00 is before the digest hour");
        round.decide(&mut engine, &mut mechanics, &mut last_digest, at(30, 7));
        assert_eq!(last_digest, NaiveDate::from_ymd_opt(2026, 12, 30), "07:00 Amsterdam is the digest hour");
        let mut later = last_digest;
        round.decide(&mut engine, &mut mechanics, &mut later, at(30, 20));
        assert_eq!(later, last_digest, "once a day");
    }
}
