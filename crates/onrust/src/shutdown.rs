//! Shutdown by broadcast: SIGINT or SIGTERM flips one watch channel that
//! every intake loop listens to. Intake stops, the bus drains downstream,
//! the archive commits, sources store their cursors, and the process exits 0
//! (rule R9). A second signal exits at once.

use tokio::sync::watch;

/// Starts listening for SIGINT and SIGTERM; the receiver turns `true` on the first.
pub fn on_signal() -> std::io::Result<(watch::Sender<bool>, watch::Receiver<bool>)> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (tx, rx) = watch::channel(false);
    let trigger = tx.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutting down: stopping intake, draining, committing"),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "shutting down: stopping intake, draining, committing"),
        }
        trigger.send_replace(true);
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::warn!("second signal: exiting without draining; unacknowledged messages will be fetched again");
        std::process::exit(130);
    });
    Ok((tx, rx))
}

/// Resolves once `rx` turns true (or its sender is gone).
pub async fn requested(mut rx: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means: stop.
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Sleeps until `deadline`, or forever when there is none: a timer arm of
/// `select!` that is off until a deadline is set.
pub async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
