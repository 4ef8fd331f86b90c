//! Everything the HTTP side reports: each event logs and counts in one `emit()`.
//!
//! Labels are bounded sets (`outcome`); never a token, a token name, a query
//! or a client address (docs/ARCHITECTURE.md, "Observability"). The token name, which is
//! not personal data about an author but the analyst's own, goes to logs and
//! the audit log only.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

use crate::auth::{Permission, Principal};

pub(crate) const AUTH_REFUSED_TOTAL: &str = "onrust_http_auth_refused_total";
pub(crate) const API_SEARCHES_TOTAL: &str = "onrust_api_searches_total";
pub(crate) const API_SEARCH_DURATION: &str = "onrust_api_search_duration_seconds";
pub(crate) const HTTP_CONNECTIONS: &str = "onrust_http_connections";
pub(crate) const HTTP_CONNECTIONS_CLOSED_TOTAL: &str = "onrust_http_connections_closed_total";
pub(crate) const HALTED: &str = "onrust_halted";

/// Why onrust closes or refuses a connection: the bounded `outcome` label.
pub(crate) const CLOSE_OUTCOMES: [&str; 3] = ["limit", "header_timeout", "idle_timeout"];

/// Registers descriptions of the web metrics with the installed recorder.
pub fn describe_metrics() {
    describe_counter!(
        AUTH_REFUSED_TOTAL,
        Unit::Count,
        "Requests refused by authentication or role, by outcome (missing_token, invalid_token, forbidden)."
    );
    describe_counter!(
        API_SEARCHES_TOTAL,
        Unit::Count,
        "Authenticated requests to the search API, by outcome (ok, bad_request, busy, too_slow, unavailable, audit_failed)."
    );
    describe_histogram!(
        API_SEARCH_DURATION,
        Unit::Seconds,
        "Time to answer a successful API search, audit record included."
    );
    describe_gauge!(HTTP_CONNECTIONS, Unit::Count, "HTTP connections open now (at most http.max_connections).");
    describe_counter!(
        HTTP_CONNECTIONS_CLOSED_TOTAL,
        Unit::Count,
        "HTTP connections onrust refused or closed, by outcome (limit, header_timeout, idle_timeout)."
    );
    for outcome in CLOSE_OUTCOMES {
        counter!(HTTP_CONNECTIONS_CLOSED_TOTAL, "outcome" => outcome).increment(0);
    }
    describe_gauge!(
        HALTED,
        Unit::Count,
        "1 while onrust is halted (onrust halt, rule L13): no source fetches and no notification is sent; 0 otherwise."
    );
}

/// The number of open HTTP connections changed.
pub(crate) struct ConnectionsOpen;

impl ConnectionsOpen {
    pub fn set(open: usize) {
        gauge!(HTTP_CONNECTIONS).set(open as f64);
    }
}

/// The listener refused or closed a connection: beyond `max_connections`,
/// or its head or its silence took too long.
pub(crate) struct ConnectionClosed {
    /// One of [`CLOSE_OUTCOMES`].
    pub outcome: &'static str,
}

impl ConnectionClosed {
    pub fn emit(self) {
        // No client address: who connects is not ours to log (L1); the count tells the story.
        tracing::debug!(outcome = self.outcome, "http connection closed by onrust");
        counter!(HTTP_CONNECTIONS_CLOSED_TOTAL, "outcome" => self.outcome).increment(1);
    }
}

/// The listener reached `max_connections`, or has a free slot again: logged
/// once per change, not once per refused connection.
pub(crate) struct ConnectionLimitReached {
    pub reached: bool,
    pub max: usize,
}

impl ConnectionLimitReached {
    pub fn emit(self) {
        if self.reached {
            tracing::warn!(
                max_connections = self.max,
                "http connection limit reached: new connections get 503 until one ends"
            );
        } else {
            tracing::info!(max_connections = self.max, "http connections below the limit again");
        }
    }
}

/// A request was refused before its handler ran.
pub(crate) struct AuthRefused<'a> {
    /// `missing_token`, `invalid_token` or `forbidden`.
    pub outcome: &'static str,
    pub path: &'static str,
    /// For `forbidden`: who tried, and the permission their role lacks.
    pub forbidden: Option<(&'a Principal, Permission)>,
}

impl AuthRefused<'_> {
    pub fn emit(self) {
        match self.forbidden {
            Some((who, permission)) => tracing::info!(
                outcome = self.outcome,
                path = self.path,
                who = who.name.as_str(),
                role = who.role.as_str(),
                permission = permission.as_str(),
                "request refused"
            ),
            None => tracing::debug!(outcome = self.outcome, path = self.path, "request refused"),
        }
        counter!(AUTH_REFUSED_TOTAL, "outcome" => self.outcome).increment(1);
    }
}

/// An authenticated search request was answered.
pub(crate) struct ApiSearched<'a> {
    pub who: &'a str,
    /// `ok`, `bad_request`, `busy`, `too_slow`, `unavailable` or `audit_failed`.
    pub outcome: &'static str,
    pub hits: Option<u64>,
    pub duration: Duration,
}

impl ApiSearched<'_> {
    pub fn emit(self) {
        // The query stays out of logs and metrics; the audit log records it.
        tracing::info!(
            who = self.who,
            outcome = self.outcome,
            hits = self.hits,
            took_ms = self.duration.as_millis() as u64,
            "api search"
        );
        counter!(API_SEARCHES_TOTAL, "outcome" => self.outcome).increment(1);
        if self.outcome == "ok" {
            histogram!(API_SEARCH_DURATION).record(self.duration.as_secs_f64());
        }
    }
}

/// The halt switch was read at start, or changed (here or by another process
/// sharing the data dir). Who and why go to the log; the gauge says only halted or not.
pub(crate) struct HaltStateChanged<'a> {
    pub record: Option<&'a crate::halt::HaltRecord>,
    pub at_start: bool,
}

impl HaltStateChanged<'_> {
    pub fn emit(self) {
        let halted = self.record.is_some_and(|r| r.halted);
        gauge!(HALTED).set(if halted { 1.0 } else { 0.0 });
        match (self.record, self.at_start) {
            (Some(r), true) if r.halted => tracing::warn!(
                since = %r.since,
                by = r.by.as_str(),
                reason = r.reason.as_str(),
                "onrust is halted: no source fetches and no notification is sent until `onrust resume`"
            ),
            (_, true) => {}
            (Some(r), false) if r.halted => tracing::warn!(
                by = r.by.as_str(),
                reason = r.reason.as_str(),
                "onrust halted: sources stop fetching and notifications are held"
            ),
            (Some(r), false) => tracing::info!(
                by = r.by.as_str(),
                reason = r.reason.as_str(),
                "onrust resumed: sources fetch again from their cursors and held notifications go out"
            ),
            // Only someone with access to the data dir can do this; it bypasses the audit log.
            (None, false) => tracing::warn!("the halt file was removed: onrust runs, without a recorded resume"),
        }
    }
}

/// The halt file could not be read while running; the last state stays in force.
pub(crate) struct HaltFileProblem<'a> {
    pub error: &'a crate::halt::HaltFileError,
}

impl HaltFileProblem<'_> {
    pub fn emit(self) {
        tracing::error!(error = %self.error, "the halt file cannot be read; the last state read stays in force");
    }
}
