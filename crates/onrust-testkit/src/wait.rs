//! Waiting for something that happens in another thread or process: poll a
//! condition every [`POLL_EVERY`] until it holds or a deadline passes.
//!
//! [`wait_until`] and [`wait_for`] fail the test themselves, naming what was
//! awaited and how long; [`holds_within`] and [`found_within`] return the
//! outcome, for a test that adds its own context to the failure (a daemon's
//! log). The condition is asked once more after the deadline, so a slow
//! machine that got there just in time is not reported as a failure. The
//! async twins sleep with tokio's timer, which a paused test clock advances.

use std::time::{Duration, Instant};

/// How often a condition is asked. Short enough that a test waits little
/// beyond the moment it holds, long enough not to busy the machine.
pub const POLL_EVERY: Duration = Duration::from_millis(50);

/// Whether `holds` became true within `timeout`.
pub fn holds_within(timeout: Duration, mut holds: impl FnMut() -> bool) -> bool {
    found_within(timeout, || holds().then_some(())).is_some()
}

/// [`holds_within`], asking every `every` (see [`found_within_every`]).
pub fn holds_within_every(timeout: Duration, every: Duration, mut holds: impl FnMut() -> bool) -> bool {
    found_within_every(timeout, every, || holds().then_some(())).is_some()
}

/// The first value `find` returns within `timeout`, or `None`.
pub fn found_within<T>(timeout: Duration, find: impl FnMut() -> Option<T>) -> Option<T> {
    found_within_every(timeout, POLL_EVERY, find)
}

/// [`found_within`], asking every `every`: for a condition that is costly
/// to ask or leaves a trace (a CLI run that writes an audit record).
pub fn found_within_every<T>(timeout: Duration, every: Duration, mut find: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(found) = find() {
            return Some(found);
        }
        std::thread::sleep(every);
    }
    find()
}

/// Waits until `holds` is true; panics after `timeout` naming `what`.
pub fn wait_until(what: &str, timeout: Duration, holds: impl FnMut() -> bool) {
    if !holds_within(timeout, holds) {
        timed_out(what, timeout)
    }
}

/// Waits for the first value `find` returns; panics after `timeout` naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, find: impl FnMut() -> Option<T>) -> T {
    found_within(timeout, find).unwrap_or_else(|| timed_out(what, timeout))
}

/// [`holds_within`] for async tests.
pub async fn holds_within_async(timeout: Duration, mut holds: impl FnMut() -> bool) -> bool {
    found_within_async(timeout, || holds().then_some(())).await.is_some()
}

/// [`found_within`] for async tests.
pub async fn found_within_async<T>(timeout: Duration, mut find: impl FnMut() -> Option<T>) -> Option<T> {
    let started = tokio::time::Instant::now();
    while started.elapsed() < timeout {
        if let Some(found) = find() {
            return Some(found);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    find()
}

/// [`wait_until`] for async tests.
pub async fn wait_until_async(what: &str, timeout: Duration, holds: impl FnMut() -> bool) {
    if !holds_within_async(timeout, holds).await {
        timed_out(what, timeout)
    }
}

/// [`wait_for`] for async tests.
pub async fn wait_for_async<T>(what: &str, timeout: Duration, find: impl FnMut() -> Option<T>) -> T {
    found_within_async(timeout, find).await.unwrap_or_else(|| timed_out(what, timeout))
}

fn timed_out(what: &str, timeout: Duration) -> ! {
    panic!("timed out after {timeout:?} waiting for {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_condition_that_comes_true_is_waited_for_and_asked_no_more() {
        let asked = Cell::new(0);
        wait_until("the third ask", Duration::from_secs(5), || {
            asked.set(asked.get() + 1);
            asked.get() == 3
        });
        assert_eq!(asked.get(), 3);
        assert_eq!(wait_for("a value", Duration::from_secs(5), || Some(7)), 7);
    }

    #[test]
    fn a_condition_that_never_holds_fails_naming_what_was_awaited() {
        let started = Instant::now();
        let failure =
            std::panic::catch_unwind(|| wait_until("the mail to the mayor", Duration::from_millis(120), || false))
                .expect_err("it never holds");
        assert!(started.elapsed() >= Duration::from_millis(120), "it waited out its deadline");
        let message = failure.downcast_ref::<String>().cloned().unwrap_or_default();
        assert_eq!(message, "timed out after 120ms waiting for the mail to the mayor");
        assert!(!holds_within(Duration::from_millis(60), || false));
        assert_eq!(found_within(Duration::from_millis(60), || None::<u8>), None);
        let asked = Cell::new(0);
        let started = Instant::now();
        let found = found_within_every(Duration::from_secs(5), Duration::from_millis(100), || {
            asked.set(asked.get() + 1);
            (asked.get() == 3).then_some("third")
        });
        assert_eq!(found, Some("third"));
        assert!(holds_within_every(Duration::from_secs(5), Duration::from_millis(100), || asked.get() == 3));
        assert!(started.elapsed() >= Duration::from_millis(200), "two pauses of 100 ms");
    }

    #[test]
    fn the_condition_is_asked_once_more_after_the_deadline() {
        let asked = Cell::new(0);
        assert!(holds_within(Duration::ZERO, || {
            asked.set(asked.get() + 1);
            true
        }));
        assert_eq!(asked.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_async_twins_follow_tokio_time() {
        let started = tokio::time::Instant::now();
        let asked = Cell::new(0);
        wait_until_async("the fifth ask", Duration::from_secs(5), || {
            asked.set(asked.get() + 1);
            asked.get() == 5
        })
        .await;
        assert_eq!(started.elapsed(), POLL_EVERY * 4, "four sleeps on the paused clock");
        assert!(!holds_within_async(Duration::from_secs(3600), || false).await, "an hour passes in no time");
        assert_eq!(wait_for_async("a value", Duration::from_secs(1), || Some("x")).await, "x");
        let never = tokio::spawn(async { wait_until_async("nothing", Duration::from_secs(1), || false).await });
        let failure = never.await.expect_err("it panics").into_panic();
        assert_eq!(
            failure.downcast_ref::<String>().map(String::as_str),
            Some("timed out after 1s waiting for nothing")
        );
    }
}
