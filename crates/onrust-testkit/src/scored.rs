//! One way for tests and benches to make a `ScoredMessage`: fixed defaults,
//! and a chained setter for each thing a test varies.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use onrust_model::{
    Assessment, Level, MessageId, MunicipalityCode, Place, Pseudonym, RawMessage, SCHEMA_VERSION, ScoredMessage,
    Signal, SourceId, SourceKind,
};

/// A builder for a [`ScoredMessage`], started with [`scored_message`].
///
/// The defaults, chosen so that a test which does not care about a field
/// gets a plain, valid, deterministic message:
///
/// | field | default |
/// |---|---|
/// | id | as given, exactly ([`ScoredMessageBuilder::id_derived`] derives it as a source does) |
/// | source, source kind | `test`, [`SourceKind::Feed`] |
/// | url | `https://example.org/<id>` |
/// | title, author, language hint | none |
/// | text | empty |
/// | fetched | 2024-12-01 11:00 UTC ([`ScoredMessageBuilder::default_fetched_at`]) |
/// | published | when fetched, written in Dutch winter time (+01:00) |
/// | language | `nl` |
/// | level, score | [`Level::None`], 0 |
/// | themes, municipalities, places, event time, explanation | none |
/// | classifier version | `test` |
#[derive(Debug, Clone)]
pub struct ScoredMessageBuilder {
    id: String,
    derive_id: bool,
    url: Option<Option<String>>,
    published_at: Option<Option<DateTime<FixedOffset>>>,
    message: ScoredMessage,
}

/// A [`ScoredMessageBuilder`] for a message with this id.
pub fn scored_message(id: &str) -> ScoredMessageBuilder {
    ScoredMessageBuilder::new(id)
}

impl ScoredMessageBuilder {
    /// When the default message was fetched: 2024-12-01 11:00 UTC.
    pub fn default_fetched_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 12, 1, 11, 0, 0).single().expect("a valid time")
    }

    /// A message with this id and the defaults in the table above.
    pub fn new(id: &str) -> Self {
        let fetched_at = Self::default_fetched_at();
        Self {
            id: id.to_owned(),
            derive_id: false,
            url: None,
            published_at: None,
            message: ScoredMessage {
                schema: SCHEMA_VERSION,
                message: RawMessage {
                    schema: SCHEMA_VERSION,
                    id: valid(MessageId::new("placeholder"), "message id"),
                    source: valid(SourceId::new("test"), "source id"),
                    source_kind: SourceKind::Feed,
                    url: None,
                    title: None,
                    text: String::new(),
                    published_at: None,
                    fetched_at,
                    author: None,
                    lang_hint: None,
                },
                assessment: Assessment {
                    lang: Some("nl".to_owned()),
                    level: Level::None,
                    score: 0.0,
                    themes: Vec::new(),
                    municipalities: Vec::new(),
                    places: Vec::new(),
                    event_time: None,
                    explanation: Vec::new(),
                    classifier_version: "test".to_owned(),
                },
            },
        }
    }

    /// The id is derived from the source and the given id as a dedup key
    /// (`MessageId::derive`), as a source names what it reads.
    pub fn id_derived(mut self) -> Self {
        self.derive_id = true;
        self
    }

    pub fn source(mut self, source: &str) -> Self {
        self.message.message.source = valid(SourceId::new(source), "source id");
        self
    }

    pub fn source_kind(mut self, kind: SourceKind) -> Self {
        self.message.message.source_kind = kind;
        self
    }

    pub fn url(mut self, url: &str) -> Self {
        self.url = Some(Some(url.to_owned()));
        self
    }

    /// A message without a link of its own.
    pub fn no_url(mut self) -> Self {
        self.url = Some(None);
        self
    }

    pub fn title(mut self, title: &str) -> Self {
        self.message.message.title = Some(title.to_owned());
        self
    }

    pub fn text(mut self, text: &str) -> Self {
        self.message.message.text = text.to_owned();
        self
    }

    /// When it was fetched; also when it was published, unless that is set.
    pub fn fetched_at(mut self, at: DateTime<Utc>) -> Self {
        self.message.message.fetched_at = at;
        self
    }

    pub fn published_at(mut self, at: impl Into<DateTime<FixedOffset>>) -> Self {
        self.published_at = Some(Some(at.into()));
        self
    }

    /// The source gave no publication time.
    pub fn unpublished(mut self) -> Self {
        self.published_at = Some(None);
        self
    }

    /// The author's pseudonym, as its hex digest.
    pub fn author(mut self, pseudonym_hex: &str) -> Self {
        self.message.message.author = Some(Pseudonym::from_digest_hex(pseudonym_hex.to_owned()));
        self
    }

    /// The language the source declared.
    pub fn lang_hint(mut self, lang: &str) -> Self {
        self.message.message.lang_hint = Some(lang.to_owned());
        self
    }

    /// The language the classifier detected; `None` for one outside the configured set.
    pub fn lang(mut self, lang: Option<&str>) -> Self {
        self.message.assessment.lang = lang.map(str::to_owned);
        self
    }

    pub fn level(mut self, level: Level) -> Self {
        self.message.assessment.level = level;
        self
    }

    pub fn score(mut self, score: f32) -> Self {
        self.message.assessment.score = score;
        self
    }

    /// Adds a theme.
    pub fn theme(mut self, theme: &str) -> Self {
        self.message.assessment.themes.push(theme.to_owned());
        self
    }

    /// Adds a municipality by its CBS code (`GM0344`).
    pub fn municipality(mut self, code: &str) -> Self {
        self.message.assessment.municipalities.push(valid(MunicipalityCode::new(code), "municipality code"));
        self
    }

    /// Adds a resolved place.
    pub fn place(mut self, place: Place) -> Self {
        self.message.assessment.places.push(place);
        self
    }

    pub fn event_time(mut self, at: impl Into<DateTime<FixedOffset>>) -> Self {
        self.message.assessment.event_time = Some(at.into());
        self
    }

    /// Adds a reason to the explanation: the signal, the words that fired it, its weight.
    pub fn signal(mut self, signal: &str, evidence: &str, weight: f32) -> Self {
        self.message.assessment.explanation.push(Signal {
            signal: signal.to_owned(),
            evidence: evidence.to_owned(),
            weight,
        });
        self
    }

    pub fn classifier_version(mut self, version: &str) -> Self {
        self.message.assessment.classifier_version = version.to_owned();
        self
    }

    /// The message.
    pub fn build(self) -> ScoredMessage {
        let mut scored = self.message;
        let raw = &mut scored.message;
        raw.id = if self.derive_id {
            MessageId::derive(&raw.source, &self.id)
        } else {
            valid(MessageId::new(self.id.as_str()), "message id")
        };
        raw.url = self.url.unwrap_or_else(|| Some(format!("https://example.org/{}", self.id)));
        raw.published_at =
            self.published_at.unwrap_or_else(|| Some(raw.fetched_at.with_timezone(&dutch_winter_time())));
        scored
    }
}

impl From<ScoredMessageBuilder> for ScoredMessage {
    fn from(builder: ScoredMessageBuilder) -> Self {
        builder.build()
    }
}

fn dutch_winter_time() -> FixedOffset {
    FixedOffset::east_opt(3600).expect("one hour east is a valid offset")
}

/// A value the test wrote itself; a bad one is a mistake in the test.
fn valid<T, E: std::fmt::Display>(value: Result<T, E>, what: &str) -> T {
    value.unwrap_or_else(|e| panic!("the test gave an invalid {what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let scored = scored_message("m-1").build();
        let raw = &scored.message;
        assert_eq!((scored.schema, raw.schema), (SCHEMA_VERSION, SCHEMA_VERSION));
        assert_eq!((raw.id.as_str(), raw.source.as_str(), raw.source_kind), ("m-1", "test", SourceKind::Feed));
        assert_eq!(raw.url.as_deref(), Some("https://example.org/m-1"));
        assert_eq!((raw.title.as_deref(), raw.text.as_str(), raw.author.is_none()), (None, "", true));
        let fetched = Utc.with_ymd_and_hms(2024, 12, 1, 11, 0, 0).single();
        assert_eq!(Some(raw.fetched_at), fetched);
        let published = raw.published_at.expect("published");
        assert_eq!((published.to_utc(), published.offset().local_minus_utc()), (raw.fetched_at, 3600));
        let a = &scored.assessment;
        assert_eq!((a.lang.as_deref(), a.level, a.score), (Some("nl"), Level::None, 0.0));
        assert!(a.themes.is_empty() && a.municipalities.is_empty() && a.places.is_empty() && a.explanation.is_empty());
        assert_eq!((a.event_time, a.classifier_version.as_str()), (None, "test"));
        assert_eq!(scored.bus_key(), "none");
    }

    #[test]
    fn every_setter_lands_in_its_field() {
        let fetched = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).single().expect("time");
        let event = Utc.with_ymd_and_hms(2026, 11, 30, 20, 0, 0).single().expect("time");
        let scored = scored_message("k1")
            .source("forum")
            .id_derived()
            .source_kind(SourceKind::Telegram)
            .no_url()
            .title("Oproep")
            .text("Iedereen naar het plein")
            .fetched_at(fetched)
            .author("c0ffee")
            .lang_hint("nl")
            .lang(None)
            .level(Level::Mobilisation)
            .score(0.6)
            .theme("stikstof")
            .theme("boerenprotest")
            .municipality("GM0344")
            .municipality("GM0363")
            .event_time(event)
            .signal("mobilisation", "naar het plein", 0.5)
            .classifier_version("1.2.3")
            .build();
        let raw = &scored.message;
        let forum = SourceId::new("forum").expect("source");
        assert_eq!(raw.id, MessageId::derive(&forum, "k1"));
        assert_eq!((raw.source.as_str(), raw.source_kind, raw.url.as_deref()), ("forum", SourceKind::Telegram, None));
        assert_eq!((raw.title.as_deref(), raw.text.as_str()), (Some("Oproep"), "Iedereen naar het plein"));
        assert_eq!(raw.published_at.map(|p| p.to_utc()), Some(fetched), "published when fetched");
        assert_eq!(
            (raw.author.as_ref().map(Pseudonym::as_str), raw.lang_hint.as_deref()),
            (Some("c0ffee"), Some("nl"))
        );
        let a = &scored.assessment;
        assert_eq!((a.lang.as_deref(), a.level, a.score), (None, Level::Mobilisation, 0.6));
        assert_eq!(a.themes, ["stikstof", "boerenprotest"]);
        assert_eq!(scored.bus_key(), "GM0344");
        assert_eq!(a.municipalities.len(), 2);
        assert_eq!(a.event_time.map(|t| t.to_utc()), Some(event));
        assert_eq!((a.explanation[0].signal.as_str(), a.explanation[0].weight), ("mobilisation", 0.5));
        assert_eq!(a.classifier_version, "1.2.3");

        let published = FixedOffset::east_opt(7200).expect("offset").with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap();
        let given = scored_message("p").url("https://nieuws.example/p").published_at(published).build();
        assert_eq!(
            (given.message.published_at, given.message.url.as_deref()),
            (Some(published), Some("https://nieuws.example/p"))
        );
        assert_eq!(scored_message("u").unpublished().build().message.published_at, None);
    }

    #[test]
    #[should_panic(expected = "the test gave an invalid municipality code")]
    fn a_bad_value_in_a_test_is_named() {
        let _ = scored_message("m").municipality("Utrecht");
    }
}
