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
    hosts: Mutex<HashMap<String, Slot>>,
}

/// One host's state: when its last request finished.
type Slot = Arc<tokio::sync::Mutex<Option<Instant>>>;

/// The host map is pruned of idle entries once it holds this many.
const PRUNE_ABOVE: usize = 1024;

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
            if hosts.len() >= PRUNE_ABOVE {
                self.prune(&mut hosts);
            }
            Arc::clone(hosts.entry(host.to_ascii_lowercase()).or_default())
        };
        let last_done = slot.lock_owned().await;
        if let Some(last) = *last_done {
            tokio::time::sleep_until(last + self.min_interval).await;
        }
        HostPermit { last_done }
    }

    /// Drops hosts nobody holds or waits for whose interval has passed: forgetting
    /// them cannot shorten any spacing, and redirect targets would otherwise accumulate.
    fn prune(&self, hosts: &mut HashMap<String, Slot>) {
        let now = Instant::now();
        hosts.retain(|_, slot| {
            // The map holds one reference; more means a permit is held or awaited.
            if Arc::strong_count(slot) > 1 {
                return true;
            }
            match slot.try_lock() {
                Ok(last) => last.is_some_and(|last| last + self.min_interval > now),
                Err(_) => true,
            }
        });
    }

    /// How many hosts the gate currently tracks.
    #[cfg(test)]
    fn tracked_hosts(&self) -> usize {
        self.hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
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

    #[tokio::test(start_paused = true)]
    async fn idle_hosts_are_pruned() {
        let gate = HostGate::new(Duration::from_secs(2));
        for i in 0..PRUNE_ABOVE {
            drop(gate.acquire(&format!("h{i}.example")).await);
        }
        assert_eq!(gate.tracked_hosts(), PRUNE_ABOVE);
        // Within the interval nothing may be forgotten, or the spacing would be lost.
        drop(gate.acquire("busy.example").await);
        assert_eq!(gate.tracked_hosts(), PRUNE_ABOVE + 1);
        tokio::time::advance(Duration::from_secs(3)).await;
        let held = gate.acquire("held.example").await;
        assert_eq!(gate.tracked_hosts(), 1, "only the host being acquired remains");
        drop(held);
        // The spacing still holds for the host that stayed.
        let start = Instant::now();
        drop(gate.acquire("held.example").await);
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
