//! How the sources obey the halt switch (rule L13).
//!
//! While onrust is halted its sources do not run at all: [`obeying`] stops
//! a source with the stop signal every kind already obeys at shutdown (rule
//! R9), and makes it again when onrust resumes. That reuses the one tested
//! path every kind has for stopping: a poll under way is dropped (no request
//! goes out after it), an outstanding batch is waited for a bounded time and
//! its cursor stored when it was acknowledged, and a Bluesky stream closes
//! its connection. A source made again reads its stored cursor, exactly as
//! after a restart: a feed polls at once and reads what was published
//! meanwhile, a Bluesky stream reconnects from its cursor. A pause flag
//! inside every kind's loop would have needed the same care in four places,
//! and a stream would have held its connection open while reading nothing.
//!
//! It sits inside a source's mandate gate
//! ([`super::mandates::while_in_force`]): the gate runs the source while its
//! mandate is in force, and within that time this runs it while onrust is
//! not halted. The hand-over to the forwarder stays open during a halt (the
//! gate keeps its senders), so the bus does not close and the stages after
//! it keep running: what was already on the bus is classified, archived and
//! taken in by the alert stage, and acknowledged, so nothing acknowledged is
//! lost.

use std::sync::Arc;

use tokio::sync::watch;

use super::ingest::SourceTask;
use crate::internal_events::{SourceHalted, SourceRestartFailed};

/// Makes a source's task with the stop signal it is given, as often as needed.
pub type Build = Arc<dyn Fn(watch::Receiver<bool>) -> anyhow::Result<SourceTask> + Send + Sync>;

/// `build`, made to obey the halt switch: each task it gives runs the source
/// `source` while `halted` is false, until its own stop signal.
pub fn obeying(
    halted: watch::Receiver<bool>,
    source: String,
    build: Build,
) -> impl FnMut(watch::Receiver<bool>) -> anyhow::Result<SourceTask> + Send {
    move |stop| {
        let (halted, source, build) = (halted.clone(), source.clone(), Arc::clone(&build));
        let task: SourceTask = Box::pin(async move {
            if let Err(error) = run_while_running(build.as_ref(), stop, halted, &source).await {
                // It was built once at start; a failure now is logged, the others run on.
                SourceRestartFailed { source: &source, error: &error }.emit();
            }
        });
        Ok(task)
    }
}

/// Runs the source `build` makes, each time with a stop signal of its own,
/// until `stop` or until it ends on its own; stops it while `halted` is true
/// and makes it again when it is false.
pub async fn run_while_running(
    build: &(dyn Fn(watch::Receiver<bool>) -> anyhow::Result<SourceTask> + Send + Sync),
    mut stop: watch::Receiver<bool>,
    mut halted: watch::Receiver<bool>,
    source: &str,
) -> anyhow::Result<()> {
    let mut was_halted = false;
    loop {
        if *halted.borrow_and_update() && !was_halted {
            SourceHalted { source, halted: true }.emit();
            was_halted = true;
        }
        if !onrust_web::halt::until_running(&mut halted, &mut stop.clone()).await {
            return Ok(());
        }
        if was_halted {
            SourceHalted { source, halted: false }.emit();
            was_halted = false;
        }
        let (own_stop, own_stop_rx) = watch::channel(false);
        let mut task = build(own_stop_rx)?;
        let halt_came = tokio::select! {
            () = &mut task => return Ok(()),
            _ = stop.wait_for(|s| *s) => false,
            () = onrust_web::halt::until_halted(&mut halted) => true,
        };
        own_stop.send_replace(true);
        task.await;
        if !halt_came || *stop.borrow() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A source that counts its "fetches" every 10 ms until its stop signal.
    fn counting(fetches: Arc<AtomicUsize>, starts: Arc<AtomicUsize>) -> Build {
        Arc::new(move |mut stop: watch::Receiver<bool>| {
            starts.fetch_add(1, Ordering::SeqCst);
            let fetches = Arc::clone(&fetches);
            let task: SourceTask = Box::pin(async move {
                loop {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(10)) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            });
            Ok(task)
        })
    }

    #[tokio::test]
    async fn halted_sources_do_not_run_and_start_again_on_resume() {
        let (fetches, starts) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (stop_tx, stop_rx) = watch::channel(false);
        // Halted from the start, as after a restart while halted.
        let (halt_tx, halt_rx) = watch::channel(true);
        let mut make = obeying(halt_rx, "feed".into(), counting(Arc::clone(&fetches), Arc::clone(&starts)));
        let task = tokio::spawn(make(stop_rx).expect("a task"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            (starts.load(Ordering::SeqCst), fetches.load(Ordering::SeqCst)),
            (0, 0),
            "nothing runs while halted"
        );

        halt_tx.send_replace(false);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 1);
        assert!(fetches.load(Ordering::SeqCst) > 0, "running after the resume");

        halt_tx.send_replace(true);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let at_halt = fetches.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(fetches.load(Ordering::SeqCst), at_halt, "no fetch after the halt took effect");

        halt_tx.send_replace(false);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 2, "made again, once");
        assert!(fetches.load(Ordering::SeqCst) > at_halt);

        // Its own stop (the daemon's, or its mandate's end) ends it.
        stop_tx.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("ends on its stop").expect("no panic");
    }

    #[tokio::test]
    async fn a_stop_while_halted_ends_at_once_and_a_source_that_ends_ends_it() {
        let (fetches, starts) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (_halt_tx, halt_rx) = watch::channel(true);
        let mut make = obeying(halt_rx, "feed".into(), counting(fetches, Arc::clone(&starts)));
        let task = tokio::spawn(make(stop_rx).expect("a task"));
        stop_tx.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("ends on its stop").expect("no panic");
        assert_eq!(starts.load(Ordering::SeqCst), 0);

        let (_stop_tx, stop_rx) = watch::channel(false);
        let (_halt_tx, halt_rx) = watch::channel(false);
        let ends: Build = Arc::new(|_stop| Ok(Box::pin(async {}) as SourceTask));
        let mut make = obeying(halt_rx, "feed".into(), ends);
        let task = tokio::spawn(make(stop_rx).expect("a task"));
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("ends with its source").expect("no panic");
    }
}
