//! The delivery task: sends what the outbox has due, without holding the
//! outbox while a relay or a receiver answers (issue 20, item 5).

use std::sync::Arc;
use std::time::Duration;

use onrust_notify::Notifiers;
use onrust_notify::log::{Deliver, DeliveryError, Outbox, Outcome};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::undelivered;

/// Sends what is due, then sleeps until the next is due or something new is
/// queued. The outbox is locked only to take what is due and to record each
/// outcome, never while a relay or a webhook answers: a slow relay must not
/// stall the stage, which enqueues (and so acknowledges intake) under the
/// same lock, nor the alerts API. A permanent failure is told to the
/// supervisors through another channel ([`undelivered`]), queued before the
/// failure is recorded and sent in the next pass.
///
/// While onrust is halted (`halted`, rule L13) nothing is sent: the task
/// waits for the resume, and attempts taken when the halt came are handed
/// back unmade. The stage goes on enqueueing, so every notification is in
/// the outbox (R8) and goes out after the resume; one attempt already on
/// the wire when the halt comes is finished.
pub(super) async fn deliver(
    outbox: Arc<tokio::sync::Mutex<Outbox>>,
    notifiers: Notifiers,
    notices: undelivered::FailureNotices,
    wake: Arc<Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
    mut halted: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        if *halted.borrow_and_update() {
            let mut stopping = stop.clone();
            if !onrust_web::halt::until_running(&mut halted, &mut stopping).await {
                return;
            }
            continue;
        }
        let due = outbox.lock().await.take_due();
        let (mut sent, mut failed) = (0usize, 0usize);
        for attempt in due {
            if *halted.borrow() {
                outbox.lock().await.give_back(attempt);
                continue;
            }
            let result = notifiers.deliver(&attempt.notification).await;
            let mut guard = outbox.lock().await;
            if let Err(DeliveryError::Permanent { code, message }) = &result {
                notices.tell(&mut guard, &attempt.notification, *code, message);
            }
            match guard.record(attempt, &result) {
                Ok(Outcome::Sent) => sent += 1,
                Ok(Outcome::Failed) => failed += 1,
                Ok(Outcome::Retry | Outcome::Requeued) => {}
                Err(e) => tracing::error!(error = %e, "alert notification log write failed; retrying later"),
            }
        }
        if sent + failed > 0 {
            tracing::debug!(sent, failed, "alert notifications delivered");
        }
        let next = outbox.lock().await.next_due();
        let fallback = Instant::now() + Duration::from_secs(60);
        let at = next.unwrap_or(fallback).max(Instant::now() + Duration::from_millis(10));
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            () = wake.notified() => {}
            () = onrust_web::halt::until_halted(&mut halted) => {}
        }
    }
}
