use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::{MessageId, MunicipalityCode, Place, Pseudonym, SourceId};

/// The payload schema version of every bus topic. A consumer refuses a
/// payload with a version it does not know (it goes to the dead letters).
pub const SCHEMA_VERSION: u32 = 1;

/// What kind of source a message came from; a bounded metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Feed,
    Mastodon,
    Bluesky,
    Telegram,
    Reddit,
    Youtube,
    /// Messages pushed in by `onrust replay` or `onrust classify`.
    Replay,
    /// The authorities' own publications (police news, official municipal
    /// publications such as an emergency ordinance): what they do, not a
    /// call to do something, so classifier and rules can tell them apart.
    Authority,
}

impl SourceKind {
    /// Every kind, in a fixed order.
    pub const ALL: [SourceKind; 8] = [
        Self::Feed,
        Self::Mastodon,
        Self::Bluesky,
        Self::Telegram,
        Self::Reddit,
        Self::Youtube,
        Self::Replay,
        Self::Authority,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feed => "feed",
            Self::Mastodon => "mastodon",
            Self::Bluesky => "bluesky",
            Self::Telegram => "telegram",
            Self::Reddit => "reddit",
            Self::Youtube => "youtube",
            Self::Replay => "replay",
            Self::Authority => "authority",
        }
    }
}

/// A message as a source delivers it onto `onrust.raw.v1`: plain text,
/// normalised, capped, and with the author already pseudonymised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawMessage {
    pub schema: u32,
    pub id: MessageId,
    pub source: SourceId,
    pub source_kind: SourceKind,
    /// The item's own link (http or https only), if it has one.
    pub url: Option<String>,
    pub title: Option<String>,
    /// Plain text, NFC, without control or bidi-override characters.
    pub text: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub fetched_at: DateTime<Utc>,
    /// Keyed pseudonym of the author, never the handle (L2).
    pub author: Option<Pseudonym>,
    /// A language the source declared (feed `language`, post `langs`).
    pub lang_hint: Option<String>,
}

/// How far after its fetch a source's publication time may lie and still be
/// taken as the publication time: a feed whose clock or time zone is off by
/// some hours. Beyond it (a year-2200 date) it is no publication time at all.
pub const PUBLISHED_AFTER_FETCH_TOLERANCE: TimeDelta = TimeDelta::hours(24);

impl RawMessage {
    /// The publication time the archive keeps and shows: the source's, but
    /// never after the fetch (a time up to [`PUBLISHED_AFTER_FETCH_TOLERANCE`]
    /// later is taken as the fetch time, a clock that is off); `None` when the
    /// source gave none or one further in the future, which is then unknown,
    /// and the fetch time that stands in for it is marked as estimated.
    pub fn publication_time(&self) -> Option<DateTime<FixedOffset>> {
        let published = self.published_at?;
        let fetched = self.fetched_at.with_timezone(published.offset());
        if published <= fetched {
            Some(published)
        } else if published.to_utc() - self.fetched_at <= PUBLISHED_AFTER_FETCH_TOLERANCE {
            Some(fetched)
        } else {
            None
        }
    }
}

/// A message its author deleted at the source (a Bluesky delete event), the
/// payload of `onrust.deletions.v1`, keyed by source id. The archive removes
/// the message with this id (and refuses it if it arrives later); the alert
/// stage drops it from its evidence. It names the message, never the author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    pub schema: u32,
    /// The id the message had (or would have had) on `onrust.raw.v1`.
    pub id: MessageId,
    pub source: SourceId,
    pub source_kind: SourceKind,
    /// When the source reported the deletion.
    pub deleted_at: DateTime<Utc>,
}

/// Escalation level, as defined in docs/ARCHITECTURE.md ("Levels").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Level {
    /// Not about unrest.
    None = 0,
    /// Discussion, discontent, or reporting on unrest.
    Discussion = 1,
    /// Mobilisation: an announced or called-for collective action without a call to violence.
    Mobilisation = 2,
    /// Escalation: calls to violence, destruction or disorder, threats, doxxing.
    Escalation = 3,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::None, Level::Discussion, Level::Mobilisation, Level::Escalation];

    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl From<Level> for u8 {
    fn from(value: Level) -> Self {
        value as u8
    }
}

impl TryFrom<u8> for Level {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(Self::None),
            1 => Ok(Self::Discussion),
            2 => Ok(Self::Mobilisation),
            3 => Ok(Self::Escalation),
            other => Err(format!("level {other} is not one of 0, 1, 2, 3")),
        }
    }
}

/// One reason behind a score: which signal fired, on which words, how much it weighed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// `theme:<id>`, `call_to_violence`, `mobilisation`, ...
    pub signal: String,
    /// The words in the message that triggered it.
    pub evidence: String,
    pub weight: f32,
}

/// What the classifier says about a message, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// ISO 639-1 code of the detected language, if one of the configured set.
    pub lang: Option<String>,
    pub level: Level,
    /// 0..1, monotone with the evidence.
    pub score: f32,
    pub themes: Vec<String>,
    pub municipalities: Vec<MunicipalityCode>,
    /// The places behind `municipalities`, in the order they are written:
    /// each name with its tier, municipality and span. Absent in assessments
    /// written before places were resolved, hence the default.
    #[serde(default)]
    pub places: Vec<Place>,
    /// When an announced or called-for action takes place.
    pub event_time: Option<DateTime<FixedOffset>>,
    pub explanation: Vec<Signal>,
    /// Version of the classifier and its lexicons that produced this.
    pub classifier_version: String,
}

/// A raw message with its assessment, the payload of `onrust.scored.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredMessage {
    pub schema: u32,
    pub message: RawMessage,
    pub assessment: Assessment,
}

impl ScoredMessage {
    /// The bus key of this message on `onrust.scored.v1`: its first municipality, or `none`.
    pub fn bus_key(&self) -> &str {
        self.assessment.municipalities.first().map_or("none", MunicipalityCode::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publication_time_is_never_after_the_fetch_and_one_far_after_it_is_unknown() {
        use chrono::TimeZone;
        let fetched = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        let cet = FixedOffset::east_opt(3600).unwrap();
        let message = |published: Option<DateTime<FixedOffset>>| RawMessage {
            schema: SCHEMA_VERSION,
            id: crate::MessageId::new("m").unwrap(),
            source: crate::SourceId::new("s").unwrap(),
            source_kind: SourceKind::Feed,
            url: None,
            title: None,
            text: String::new(),
            published_at: published,
            fetched_at: fetched,
            author: None,
            lang_hint: None,
        };
        let before = (fetched - TimeDelta::hours(3)).with_timezone(&cet);
        assert_eq!(message(Some(before)).publication_time(), Some(before));
        let skewed = (fetched + TimeDelta::hours(2)).with_timezone(&cet);
        assert_eq!(message(Some(skewed)).publication_time(), Some(fetched.with_timezone(&cet)), "clamped");
        let edge = (fetched + PUBLISHED_AFTER_FETCH_TOLERANCE).with_timezone(&cet);
        assert_eq!(message(Some(edge)).publication_time(), Some(fetched.with_timezone(&cet)));
        let year_2200 = cet.with_ymd_and_hms(2200, 1, 1, 0, 0, 0).single();
        assert_eq!(message(year_2200).publication_time(), None, "no publication time at all");
        assert_eq!(message(None).publication_time(), None);
    }

    /// Assessments written before places were resolved have no `places`; they still read.
    #[test]
    fn an_assessment_without_places_still_reads() -> Result<(), serde_json::Error> {
        let old = r#"{"lang":"nl","level":1,"score":0.4,"themes":[],"municipalities":["GM0344"],
            "event_time":null,"explanation":[],"classifier_version":"0.1.0"}"#;
        let a: Assessment = serde_json::from_str(old)?;
        assert!(a.places.is_empty());
        assert_eq!(a.municipalities, [MunicipalityCode::new("GM0344").map_err(serde::de::Error::custom)?]);
        let json = serde_json::to_value(&a)?;
        assert_eq!(json["places"], serde_json::json!([]));
        Ok(())
    }

    #[test]
    fn level_round_trips_as_a_number() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::to_string(&Level::Mobilisation)?, "2");
        assert_eq!(serde_json::from_str::<Level>("3")?, Level::Escalation);
        assert!(serde_json::from_str::<Level>("4").is_err());
        Ok(())
    }
}
