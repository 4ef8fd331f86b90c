//! Acknowledgement handles: how "this effect is durable" travels back up the flow.
//!
//! Every message on the bus carries an [`Ack`]. The stage that makes the
//! message's effect durable (the archive after a commit) acknowledges it; that
//! fires the parent's handle, all the way back to the source, which only then
//! stores its cursor (rule R1). An `Ack` dropped without being
//! acknowledged reports failure instead, so nobody waits forever for a
//! message that was lost in a crash or refused.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

type Callback = Box<dyn FnOnce(bool) + Send + 'static>;

/// A one-shot completion handle. [`Ack::ack`] reports success; dropping it
/// un-acknowledged reports failure. Either way the callback runs once.
#[must_use = "an Ack dropped without ack() reports failure"]
pub struct Ack {
    callback: Option<Callback>,
}

impl Ack {
    /// A handle that calls `callback(true)` on [`Ack::ack`] and `callback(false)` when dropped un-acked.
    pub fn new(callback: impl FnOnce(bool) + Send + 'static) -> Self {
        Self { callback: Some(Box::new(callback)) }
    }

    /// A handle nobody waits for.
    pub fn none() -> Self {
        Self { callback: None }
    }

    /// Reports that the effect is durable.
    pub fn ack(mut self) {
        if let Some(callback) = self.callback.take() {
            callback(true);
        }
    }

    /// Splits this handle into `n` children: it succeeds when all of them
    /// are acknowledged, and fails as soon as one is dropped. With `n == 0`
    /// it succeeds at once.
    pub fn split(self, n: usize) -> Vec<Ack> {
        if n == 0 {
            self.ack();
            return Vec::new();
        }
        let shared = Arc::new(Group { remaining: AtomicUsize::new(n), parent: Mutex::new(Some(self)) });
        (0..n)
            .map(|_| {
                let shared = Arc::clone(&shared);
                Ack::new(move |ok| shared.child_done(ok))
            })
            .collect()
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if let Some(callback) = self.callback.take() {
            callback(false);
        }
    }
}

impl fmt::Debug for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ack").field("pending", &self.callback.is_some()).finish()
    }
}

struct Group {
    remaining: AtomicUsize,
    parent: Mutex<Option<Ack>>,
}

impl Group {
    fn child_done(&self, ok: bool) {
        let take_parent =
            || self.parent.lock().map(|mut p| p.take()).unwrap_or_else(|poisoned| poisoned.into_inner().take());
        if !ok {
            // Dropping the parent un-acked reports the failure now.
            drop(take_parent());
            return;
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1
            && let Some(parent) = take_parent()
        {
            parent.ack();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicI32;

    fn probe() -> (Ack, Arc<AtomicI32>) {
        // 0 = not yet, 1 = acked, -1 = failed; counts extra calls as errors.
        let state = Arc::new(AtomicI32::new(0));
        let s = Arc::clone(&state);
        let ack = Ack::new(move |ok| {
            let prev = s.swap(if ok { 1 } else { -1 }, Ordering::SeqCst);
            assert_eq!(prev, 0, "callback ran twice");
        });
        (ack, state)
    }

    #[test]
    fn ack_and_drop_report_once() {
        let (a, s) = probe();
        a.ack();
        assert_eq!(s.load(Ordering::SeqCst), 1);
        let (a, s) = probe();
        drop(a);
        assert_eq!(s.load(Ordering::SeqCst), -1);
    }

    #[test]
    fn split_waits_for_all_children() {
        let (a, s) = probe();
        let mut children = a.split(3);
        children.pop().expect("child").ack();
        children.pop().expect("child").ack();
        assert_eq!(s.load(Ordering::SeqCst), 0);
        children.pop().expect("child").ack();
        assert_eq!(s.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn split_fails_on_first_dropped_child() {
        let (a, s) = probe();
        let mut children = a.split(2);
        drop(children.pop());
        assert_eq!(s.load(Ordering::SeqCst), -1);
        children.pop().expect("child").ack();
        assert_eq!(s.load(Ordering::SeqCst), -1);
    }

    #[test]
    fn split_zero_acks_at_once() {
        let (a, s) = probe();
        assert!(a.split(0).is_empty());
        assert_eq!(s.load(Ordering::SeqCst), 1);
    }
}
