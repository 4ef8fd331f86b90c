//! Decoding one Jetstream event into what this source cares about.
//!
//! Only the envelope is read first; a post's record is decoded only for a
//! post. Identity and account events are read for their `time_us` alone:
//! identity events carry handles, so their content is never looked at,
//! logged or kept (L2). Anything unexpected is `Malformed`, never an error
//! or a panic: the stream is hostile input.

use serde::Deserialize;

use super::POST_COLLECTION;

/// One Jetstream event as far as this source cares.
#[derive(Debug, PartialEq)]
pub(crate) enum ParsedEvent {
    /// Not an event of the expected shape; its time, if it had a valid one, still moves the cursor.
    Malformed { time_us: Option<i64> },
    /// Identity, account, other collections, other kinds: only the time counts.
    Ignored { time_us: i64 },
    /// A created or updated post.
    Post { time_us: i64, did: String, rkey: String, rev: Option<String>, record: Record },
    /// A deleted post.
    Delete { time_us: i64, did: String, rkey: String, rev: Option<String> },
}

impl ParsedEvent {
    pub(super) fn time_us(&self) -> Option<i64> {
        match self {
            Self::Malformed { time_us } => *time_us,
            Self::Ignored { time_us } | Self::Post { time_us, .. } | Self::Delete { time_us, .. } => Some(*time_us),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Envelope {
    pub(super) did: Option<String>,
    pub(super) time_us: Option<i64>,
    pub(super) kind: Option<String>,
    pub(super) commit: Option<CommitHead>,
}

#[derive(Deserialize)]
pub(super) struct CommitHead {
    pub(super) rev: Option<String>,
    pub(super) operation: Option<String>,
    pub(super) collection: Option<String>,
    pub(super) rkey: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PostEnvelope {
    pub(super) commit: PostCommit,
}

#[derive(Deserialize)]
pub(super) struct PostCommit {
    pub(super) record: Option<Record>,
}

/// The parts of an `app.bsky.feed.post` record this source reads.
#[derive(Debug, PartialEq, Deserialize)]
pub(crate) struct Record {
    pub(super) text: Option<String>,
    pub(super) langs: Option<Vec<String>>,
    #[serde(rename = "createdAt")]
    pub(super) created_at: Option<String>,
}

/// Parses one event. Never fails and never panics: anything unexpected is `Malformed`.
pub(crate) fn parse_event(text: &str) -> ParsedEvent {
    let Ok(envelope) = serde_json::from_str::<Envelope>(text) else {
        return ParsedEvent::Malformed { time_us: None };
    };
    let Some(time_us) = envelope.time_us.filter(|t| *t > 0) else {
        return ParsedEvent::Malformed { time_us: None };
    };
    let malformed = ParsedEvent::Malformed { time_us: Some(time_us) };
    if envelope.kind.as_deref() != Some("commit") {
        return ParsedEvent::Ignored { time_us };
    }
    let Some(commit) = envelope.commit else { return malformed };
    if commit.collection.as_deref() != Some(POST_COLLECTION) {
        return ParsedEvent::Ignored { time_us };
    }
    let (Some(did), Some(rkey)) = (envelope.did, commit.rkey) else { return malformed };
    if !valid_did(&did) || !valid_rkey(&rkey) {
        return malformed;
    }
    let rev = commit.rev.filter(|rev| !rev.is_empty() && rev.len() <= 64);
    match commit.operation.as_deref() {
        Some("delete") => ParsedEvent::Delete { time_us, did, rkey, rev },
        Some("create" | "update") => match serde_json::from_str::<PostEnvelope>(text) {
            Ok(PostEnvelope { commit: PostCommit { record: Some(record) } }) => {
                ParsedEvent::Post { time_us, did, rkey, rev, record }
            }
            _ => malformed,
        },
        _ => malformed,
    }
}

/// A DID as the AT Protocol writes it: `did:method:id`, ASCII, at most 2 KiB.
pub(super) fn valid_did(did: &str) -> bool {
    did.len() <= 2048
        && did.strip_prefix("did:").is_some_and(|rest| rest.contains(':'))
        && did.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-' | b'%'))
}

/// A record key: 1 to 512 characters of `A-Za-z0-9._:~-`, not `.` or `..`.
pub(super) fn valid_rkey(rkey: &str) -> bool {
    (1..=512).contains(&rkey.len())
        && rkey != "."
        && rkey != ".."
        && rkey.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'~' | b'-'))
}

/// The dedup key of a post: its AT URI.
pub(super) fn post_uri(did: &str, rkey: &str) -> String {
    format!("at://{did}/{POST_COLLECTION}/{rkey}")
}
