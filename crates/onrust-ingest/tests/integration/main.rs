//! Integration tests: the fetcher and the source loop against local servers, and the fixture feeds.
//!
//! Every server here listens on 127.0.0.1 and is reached through an explicit
//! allow-list; no test contacts a non-loopback address.

// Helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod bluesky;
mod fetch;
mod fixtures;
mod fuzz;
mod kinds;
mod mastodon;
mod politeness;
mod properties;
mod source;
mod support;
mod telegram;
