//! Where the alert stage's `now` comes from.

use std::sync::Arc;

use chrono::{DateTime, Utc};
#[cfg(test)]
use tokio::time::Instant;

/// Where the stage's `now` comes from: the system clock in the daemon; in
/// tests tokio's clock, so `tokio::time::pause()` and `advance()` drive
/// silences, escalation and expiry through the real stage without waiting.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// `start` now, moving on with tokio's clock.
    #[cfg(test)]
    pub fn tokio(start: DateTime<Utc>) -> Self {
        let base = Instant::now();
        Self(Arc::new(move || start + chrono::TimeDelta::from_std(base.elapsed()).unwrap_or_default()))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}
