//! onrust-ingest: the sources, the safe fetcher and pseudonymisation at entry.
//!
//! This crate is the only part of onrust that talks to the outside world, so
//! it is where hostile input is defused and where personal data is reduced
//! before anything else sees it. The design follows from that:
//!
//! - **Nothing unsafe leaves this crate.** Every text is converted to plain
//!   text, NFC-normalised, stripped of control and bidi-override characters
//!   and capped ([`text`]); @mentions become `@[user]`; links that name an
//!   account lose the name, in the text and as an item's link ([`links`]);
//!   author handles become
//!   keyed pseudonyms ([`pseudonym`]) before a [`onrust_model::RawMessage`]
//!   exists, so a raw handle can never reach the bus, a log line or a metric
//!   (rules L2, L3, S4).
//! - **The fetcher trusts no server** ([`fetch`]): it refuses private and
//!   special addresses before connecting (and pins the checked address so a
//!   second DNS answer cannot differ), follows redirects by hand, and enforces
//!   timeouts, a minimum transfer rate and compressed *and* decoded byte caps
//!   while streaming (rules S1, S2). XML passes a structural guard before
//!   the feed parser sees it ([`xml_guard`], S3).
//! - **At-least-once, never silent.** A source stores its cursor only after
//!   the whole batch it sent has been acknowledged by the archive ([`source`],
//!   rule R1); message ids are derived from stable dedup keys so a
//!   re-send is harmless. Every poll is counted per source, so silence is a
//!   visible signal rather than calm (R10); all metrics and their log lines
//!   live in one place, `internal_events`, so labels stay bounded.

#![warn(missing_docs)]

pub mod bluesky;
pub mod config;
pub mod cursor;
pub mod feed;
pub mod fetch;
mod internal_events;
pub mod links;
pub mod mastodon;
pub mod pseudonym;
pub mod source;
pub mod telegram;
pub mod text;
pub mod tls;
pub mod xml_guard;

pub use internal_events::{SourceHealth, describe_metrics, source_health};
