//! Which events become items of the pending batch, and what is left out.
//!
//! Posts are filtered *before* the bus: first by their declared languages
//! (`langs`, matched on the primary subtag, so `nl-BE` is `nl`; a post
//! without `langs` passes only with `accept_untagged`), then by the
//! [`Relevance`](super::Relevance) test. The firehose carries the whole network; keeping only
//! what could concern a Dutch municipality is both the cheap and the
//! proportionate choice (rule L3). Left-out items are counted per batch
//! (`ItemsSkipped`: `language`, `off_topic`, `empty`, `duplicate`,
//! `malformed`, `not_ours`).
//!
//! A deletion is forwarded only for a post this source sent (see
//! `sent`): forwarding every deletion on the network would tell
//! whoever reads the deletions topic about people onrust never archived (L3).

use chrono::{DateTime, Utc};
use onrust_model::{Deletion, MessageId, RawMessage, SCHEMA_VERSION};

use crate::internal_events::ItemsSkipped;
use crate::source::{SourceContext, SourceSettings};
use crate::text::clean;

use super::batch::Item;
use super::event::{ParsedEvent, Record, parse_event, post_uri};
use super::state::State;
use super::{JetstreamSource, PLATFORM};

impl JetstreamSource {
    /// Reads one event: filters it, turns it into a message or a deletion in
    /// the pending batch, and moves the read position past it. `Err` (no
    /// pseudonym key) leaves the position before it, so it is read again.
    pub(super) fn handle_event(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        text: &str,
        languages: &[String],
    ) -> Result<(), String> {
        let source = &self.settings;
        let parsed = parse_event(text);
        if let Some(time_us) = parsed.time_us() {
            state.start_at(time_us);
        }
        let time_us = match parsed {
            ParsedEvent::Malformed { time_us } => {
                state.skipped.malformed += 1;
                match time_us {
                    Some(time_us) => time_us,
                    None => return Ok(()),
                }
            }
            ParsedEvent::Ignored { time_us } => time_us,
            ParsedEvent::Delete { time_us, did, rkey, rev } => {
                let id = MessageId::derive(&source.id, &post_uri(&did, &rkey));
                let key = state.recent.key(b'd', &id, rev.as_deref(), time_us);
                if !state.sent.contains(&id) {
                    // Not a post this source ever sent: nothing downstream to delete (L3).
                    state.skipped.not_ours += 1;
                } else if state.recent.insert(key) {
                    let deleted_at = DateTime::from_timestamp_micros(time_us).unwrap_or_else(Utc::now);
                    let deletion = Deletion {
                        schema: SCHEMA_VERSION,
                        id,
                        source: source.id.clone(),
                        source_kind: source.kind,
                        deleted_at,
                    };
                    state.pending.push(Item::Deletion(deletion), key);
                } else {
                    state.skipped.duplicate += 1;
                }
                time_us
            }
            ParsedEvent::Post { time_us, did, rkey, rev, record } => {
                self.post(ctx, state, time_us, &did, &rkey, rev.as_deref(), record, languages)?;
                time_us
            }
        };
        state.advance(time_us);
        Ok(())
    }

    #[expect(clippy::too_many_arguments, reason = "the parts of one parsed post")]
    pub(super) fn post(
        &self,
        ctx: &SourceContext,
        state: &mut State,
        time_us: i64,
        did: &str,
        rkey: &str,
        rev: Option<&str>,
        record: Record,
        languages: &[String],
    ) -> Result<(), String> {
        let source = &self.settings;
        let langs = record.langs.unwrap_or_default();
        if !language_matches(&langs, languages, self.accept_untagged) {
            state.skipped.language += 1;
            return Ok(());
        }
        let id = MessageId::derive(&source.id, &post_uri(did, rkey));
        let key = state.recent.key(b'p', &id, rev, time_us);
        if state.recent.contains(key) {
            state.skipped.duplicate += 1;
            return Ok(());
        }
        let text = clean(record.text.as_deref().unwrap_or_default(), false, self.max_text_chars);
        if text.is_empty() {
            state.skipped.empty += 1;
            return Ok(());
        }
        if !self.relevance.is_relevant(&text) {
            state.skipped.off_topic += 1;
            return Ok(());
        }
        let fetched_at = Utc::now();
        let author = ctx.pseudonymize(PLATFORM, did, fetched_at).map_err(|error| match error {
            crate::source::PollError::Failed { error, .. } | crate::source::PollError::Gone(error) => error,
        })?;
        let published_at = record.created_at.as_deref().and_then(|at| DateTime::parse_from_rfc3339(at).ok());
        let message = RawMessage {
            schema: SCHEMA_VERSION,
            id,
            source: source.id.clone(),
            source_kind: source.kind,
            url: None,
            title: None,
            text,
            published_at,
            fetched_at,
            author: Some(author),
            lang_hint: langs.first().and_then(|tag| lang_hint(tag)),
        };
        state.recent.insert(key);
        // Recorded now, so a deletion read right after it is forwarded.
        state.sent.insert(&message.id);
        state.pending.push(Item::Message(Box::new(message)), key);
        Ok(())
    }
}

/// Items left out since the counts were last emitted.
#[derive(Default)]
pub(super) struct Skipped {
    pub(super) language: usize,
    pub(super) off_topic: usize,
    pub(super) empty: usize,
    pub(super) duplicate: usize,
    pub(super) malformed: usize,
    /// Deletions of posts this source never sent.
    pub(super) not_ours: usize,
}

impl State {
    pub(super) fn emit_skipped(&mut self, settings: &SourceSettings) {
        let skipped = std::mem::take(&mut self.skipped);
        for (outcome, count) in [
            ("language", skipped.language),
            ("off_topic", skipped.off_topic),
            ("empty", skipped.empty),
            ("duplicate", skipped.duplicate),
            ("malformed", skipped.malformed),
            ("not_ours", skipped.not_ours),
        ] {
            ItemsSkipped { source: &settings.id, kind: settings.kind, outcome, count }.emit();
        }
    }
}

/// The lowercased primary subtags of the configured languages.
pub(super) fn primary_subtags(languages: &[String]) -> Vec<String> {
    languages.iter().map(|tag| primary_subtag(tag).to_ascii_lowercase()).filter(|tag| !tag.is_empty()).collect()
}

pub(super) fn primary_subtag(tag: &str) -> &str {
    tag.trim().split(['-', '_']).next().unwrap_or_default()
}

/// Does a post with these `langs` pass? `languages` are primary subtags, lowercased; empty accepts all.
pub(super) fn language_matches(langs: &[String], languages: &[String], accept_untagged: bool) -> bool {
    if languages.is_empty() {
        return true;
    }
    if langs.is_empty() {
        return accept_untagged;
    }
    langs.iter().any(|tag| {
        let primary = primary_subtag(tag);
        languages.iter().any(|language| language.eq_ignore_ascii_case(primary))
    })
}

/// A declared language tag as a hint, if it looks like one (BCP 47 characters, at most 35).
pub(super) fn lang_hint(tag: &str) -> Option<String> {
    let tag = tag.trim();
    let valid = !tag.is_empty() && tag.len() <= 35 && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then(|| tag.to_owned())
}
