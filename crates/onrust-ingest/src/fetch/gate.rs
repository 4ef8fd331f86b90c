//! Politeness per host: one request at a time, and a minimum interval between requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

/// Serialises requests per host and spaces them at least `min_interval` apart.
#[derive(Debug)]
pub struct HostGate {
    min_interval: Duration,
    hosts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

/// Holding this is the right to talk to the host; dropping it starts the interval.
#[derive(Debug)]
pub struct HostPermit {
    last_done: OwnedMutexGuard<Option<Instant>>,
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        *self.last_done = Some(Instant::now());
    }
}

impl HostGate {
    /// A gate spacing requests to the same host at least `min_interval` apart.
    pub fn new(min_interval: Duration) -> Self {
        Self { min_interval, hosts: Mutex::new(HashMap::new()) }
    }

    /// Waits until this host is free and its interval has passed.
    pub async fn acquire(&self, host: &str) -> HostPermit {
        let slot = {
            let mut hosts = self.hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(hosts.entry(host.to_ascii_lowercase()).or_default())
        };
        let last_done = slot.lock_owned().await;
        if let Some(last) = *last_done {
            tokio::time::sleep_until(last + self.min_interval).await;
        }
        HostPermit { last_done }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_to_one_host_are_spaced() {
        let gate = HostGate::new(Duration::from_secs(2));
        let start = Instant::now();
        drop(gate.acquire("a.example").await);
        drop(gate.acquire("b.example").await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(gate.acquire("A.example").await);
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
