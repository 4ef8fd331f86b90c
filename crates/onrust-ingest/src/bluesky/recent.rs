//! The keys of items recently sent, to absorb a rewound resume's duplicates.
//!
//! A key is the message id and the repository revision, so an edit is sent
//! again while a replayed copy is not.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use onrust_model::MessageId;

/// Keys of items sent in this process, oldest forgotten first: absorbs the
/// duplicates a rewound resume reads. Keys are 64-bit keyed hashes, so the
/// set stays small (a collision, about 1 in 10^10 at 50 000 keys, would drop
/// one item).
pub(super) struct RecentKeys {
    pub(super) hasher: RandomState,
    pub(super) order: VecDeque<(u64, u64)>,
    pub(super) live: HashMap<u64, u64>,
    pub(super) next: u64,
    pub(super) capacity: usize,
}

impl RecentKeys {
    pub(super) fn new(capacity: usize) -> Self {
        Self { hasher: RandomState::new(), order: VecDeque::new(), live: HashMap::new(), next: 0, capacity }
    }

    /// The key of one item: what it is (post or deletion), its id and the
    /// repository revision (the event time when there is none).
    pub(super) fn key(&self, what: u8, id: &MessageId, rev: Option<&str>, time_us: i64) -> u64 {
        match rev {
            Some(rev) => self.hasher.hash_one((what, id.as_str(), rev)),
            None => self.hasher.hash_one((what, id.as_str(), time_us)),
        }
    }

    pub(super) fn contains(&self, key: u64) -> bool {
        self.live.contains_key(&key)
    }

    /// Remembers `key`; `false` if it was already there.
    pub(super) fn insert(&mut self, key: u64) -> bool {
        if self.live.contains_key(&key) {
            return false;
        }
        let generation = self.next;
        self.next += 1;
        self.live.insert(key, generation);
        self.order.push_back((key, generation));
        while self.order.len() > self.capacity {
            if let Some((old, old_generation)) = self.order.pop_front()
                && self.live.get(&old) == Some(&old_generation)
            {
                self.live.remove(&old);
            }
        }
        true
    }

    pub(super) fn remove(&mut self, key: u64) {
        self.live.remove(&key);
    }
}
