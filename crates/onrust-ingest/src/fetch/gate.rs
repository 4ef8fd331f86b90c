//! Politeness per host: request starts spaced at least an interval apart,
//! and a few requests open at once at most.
//!
//! The gate spaces *starts*; it is not held while a server takes its time.
//! A gate held for a whole request let one slow source hold its host for
//! the full fetch timeout on every poll, so the other sources on that host
//! (the shipped configuration has 38 on one) waited behind it and were
//! polled a fraction of their pace. Now a slow request holds one of the
//! host's few open-request slots, the next start still comes one interval
//! later, and the host never sees more than `max_in_flight` requests from
//! us at once, nor two starts closer than the interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Spaces request starts to the same host at least `min_interval` apart and
/// keeps at most `max_in_flight` of its requests open.
#[derive(Debug)]
pub struct HostGate {
    min_interval: Duration,
    max_in_flight: usize,
    hosts: Mutex<HashMap<String, Arc<HostState>>>,
}

/// One host's state.
#[derive(Debug)]
struct HostState {
    /// Its open-request slots.
    in_flight: Arc<Semaphore>,
    /// The earliest start of the next request.
    next_start: Mutex<Option<Instant>>,
}

/// The host map is pruned of idle entries once it holds this many.
const PRUNE_ABOVE: usize = 1024;

/// Holding this is the right to have one request open to the host; dropping it frees the slot.
#[derive(Debug)]
pub struct HostPermit {
    /// `None` only if the semaphore were closed, which this gate never does.
    _slot: Option<OwnedSemaphorePermit>,
}

impl HostGate {
    /// A gate spacing request starts to the same host at least `min_interval`
    /// apart, with at most `max_in_flight` (at least 1) open at once.
    pub fn new(min_interval: Duration, max_in_flight: usize) -> Self {
        Self { min_interval, max_in_flight: max_in_flight.max(1), hosts: Mutex::new(HashMap::new()) }
    }

    /// Waits for an open-request slot of this host, then for its turn to
    /// start (one interval after the start before it).
    pub async fn acquire(&self, host: &str) -> HostPermit {
        let state = {
            let mut hosts = self.hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if hosts.len() >= PRUNE_ABOVE {
                self.prune(&mut hosts);
            }
            let max = self.max_in_flight;
            Arc::clone(hosts.entry(host.to_ascii_lowercase()).or_insert_with(|| {
                Arc::new(HostState { in_flight: Arc::new(Semaphore::new(max)), next_start: Mutex::new(None) })
            }))
        };
        // Fair (first come, first served), so no source waits for ever.
        let slot = Arc::clone(&state.in_flight).acquire_owned().await.ok();
        let start_at = {
            let mut next = state.next_start.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let at = next.map_or(now, |next| next.max(now));
            *next = Some(at + self.min_interval);
            at
        };
        tokio::time::sleep_until(start_at).await;
        HostPermit { _slot: slot }
    }

    /// Drops hosts nobody holds or waits for whose next start is due:
    /// forgetting them cannot shorten any spacing, and redirect targets would
    /// otherwise accumulate.
    fn prune(&self, hosts: &mut HashMap<String, Arc<HostState>>) {
        let now = Instant::now();
        hosts.retain(|_, state| {
            // The map holds one reference; more means someone is acquiring.
            let busy = Arc::strong_count(state) > 1 || state.in_flight.available_permits() < self.max_in_flight;
            let spacing =
                state.next_start.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some_and(|n| n > now);
            busy || spacing
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
    async fn request_starts_to_one_host_are_spaced() {
        let gate = HostGate::new(Duration::from_secs(2), 4);
        let start = Instant::now();
        drop(gate.acquire("a.example").await);
        drop(gate.acquire("b.example").await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(gate.acquire("A.example").await);
        assert_eq!(start.elapsed(), Duration::from_secs(2), "host names are compared without case");
        drop(gate.acquire("a.example").await);
        assert_eq!(start.elapsed(), Duration::from_secs(4));
    }

    /// A request that is still open holds back no start beyond the interval:
    /// the next request to its host begins one interval after it began.
    #[tokio::test(start_paused = true)]
    async fn an_open_request_does_not_hold_the_host() {
        let gate = HostGate::new(Duration::from_secs(2), 4);
        let start = Instant::now();
        let slow = gate.acquire("gemeenteblad.example").await;
        let next = gate.acquire("gemeenteblad.example").await;
        assert_eq!(start.elapsed(), Duration::from_secs(2), "not 30 s behind the slow one");
        drop((slow, next));
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_max_in_flight_requests_are_open() {
        let gate = Arc::new(HostGate::new(Duration::ZERO, 2));
        let first = gate.acquire("h.example").await;
        let second = gate.acquire("h.example").await;
        let waiting = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { drop(gate.acquire("h.example").await) })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiting.is_finished(), "a third request waits for a slot");
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiting).await.expect("the freed slot is taken").expect("task");
        drop(second);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_hosts_are_pruned() {
        let gate = HostGate::new(Duration::from_secs(2), 4);
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
