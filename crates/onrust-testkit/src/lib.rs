//! Test support shared by every onrust crate's tests and benches, so that a
//! test says what it checks rather than how it sets the stage:
//!
//! - [`SmtpSink`]: a real SMTP server (python3 with aiosmtpd) on a loopback
//!   port, started by the test and stopped when dropped, and the mails it
//!   accepted ([`Mail`]);
//! - [`ScoredMessageBuilder`] ([`scored_message`]): a `ScoredMessage` with
//!   fixed, documented defaults and a setter for each thing tests vary;
//! - [`wait_until`], [`wait_for`] and their async twins: poll a condition
//!   until it holds, failing after a deadline with a message that names what
//!   was awaited; [`holds_within`] and [`found_within`] when the test wants
//!   to add its own context (a daemon's log) to the failure.
//!
//! It is a dev-dependency only (`publish = false`): nothing in a normal build
//! depends on it. Helpers panic on purpose: they run inside tests, where a
//! panic with a clear message is the failure report.

mod files;
mod net;
mod python;
mod scored;
mod smtp;
mod wait;

pub use files::copy_dir;
pub use net::free_port;
pub use python::python_with;
pub use scored::{ScoredMessageBuilder, scored_message};
pub use smtp::{Mail, SmtpSink};
pub use wait::{
    POLL_EVERY, found_within, found_within_async, found_within_every, holds_within, holds_within_async,
    holds_within_every, wait_for, wait_for_async, wait_until, wait_until_async,
};
