//! Verified segment payloads kept in memory, keyed by their leaf hash: a read that finds its
//! segment here skips the store, the transaction's decoding and the hash. Content-addressed, so
//! it is shared by every snapshot of a store and never stale: an entry is put only after its bytes
//! were hashed to the key, and bytes with that hash are those bytes whatever carried them.
//! Bounded in bytes; CLOCK eviction (an entry read since the hand last passed gets a second
//! chance), so the segments many viewers read stay while one-off reads pass through. The lock is
//! held only to look up or insert, never while reading or hashing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// A segment's payload, shared (a `Vec` moved in whole, not copied into an `Arc<[u8]>`).
pub(crate) type Payload = Arc<Vec<u8>>;

/// Bytes of payload a store keeps in memory.
pub(crate) const DEFAULT_BYTES: usize = 64 << 20;

#[derive(Debug)]
struct Entry {
    bytes: Payload,
    referenced: bool,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<[u8; 32], Entry>,
    /// Keys in insertion order: the CLOCK's hand is at the front.
    ring: VecDeque<[u8; 32]>,
    held: usize,
}

/// A bounded cache of verified segment payloads.
#[derive(Debug)]
pub(crate) struct SegmentCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl SegmentCache {
    /// A cache holding at most `capacity` bytes of payload.
    pub(crate) fn new(capacity: usize) -> Self {
        SegmentCache {
            inner: Mutex::new(Inner::default()),
            capacity,
        }
    }

    /// The payload whose leaf hash is `hash`, if held.
    pub(crate) fn get(&self, hash: &[u8; 32]) -> Option<Payload> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.map.get_mut(hash).map(|e| {
            e.referenced = true;
            Arc::clone(&e.bytes)
        })
    }

    /// Keep `bytes`, whose leaf hash the caller checked is `hash`, evicting as needed.
    pub(crate) fn put(&self, hash: [u8; 32], bytes: Payload) {
        if bytes.len() > self.capacity {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.map.contains_key(&hash) {
            return;
        }
        while inner.held + bytes.len() > self.capacity {
            let Some(key) = inner.ring.pop_front() else {
                break;
            };
            let second_chance = inner
                .map
                .get_mut(&key)
                .is_some_and(|e| std::mem::replace(&mut e.referenced, false));
            if second_chance {
                inner.ring.push_back(key);
            } else if let Some(e) = inner.map.remove(&key) {
                inner.held -= e.bytes.len();
            }
        }
        inner.held += bytes.len();
        inner.ring.push_back(hash);
        inner.map.insert(
            hash,
            Entry {
                bytes,
                referenced: false,
            },
        );
    }

    /// Bytes held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.inner.lock().map(|i| i.held).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::{Payload, SegmentCache};
    use std::sync::Arc;

    fn key(n: u8) -> [u8; 32] {
        [n; 32]
    }

    fn bytes(n: u8, len: usize) -> Payload {
        Arc::new(vec![n; len])
    }

    #[test]
    fn bounded_in_bytes_with_a_second_chance_for_what_was_read() {
        let c = SegmentCache::new(300);
        c.put(key(1), bytes(1, 100));
        c.put(key(2), bytes(2, 100));
        c.put(key(3), bytes(3, 100));
        assert_eq!(c.held(), 300);
        assert_eq!(c.get(&key(1)).as_deref(), Some(&vec![1u8; 100]));
        // Full: 1 was read since it went in, so 2 (the oldest not read) makes way.
        c.put(key(4), bytes(4, 100));
        assert_eq!(c.held(), 300);
        assert!(c.get(&key(2)).is_none());
        assert!(c.get(&key(1)).is_some() && c.get(&key(3)).is_some() && c.get(&key(4)).is_some());
        // Too large for the cache: not kept, nothing evicted for it.
        c.put(key(5), bytes(5, 301));
        assert!(c.get(&key(5)).is_none());
        assert_eq!(c.held(), 300);
        // A second put of a key held changes nothing.
        c.put(key(4), bytes(9, 100));
        assert_eq!(c.get(&key(4)).as_deref(), Some(&vec![4u8; 100]));
    }

    #[test]
    fn every_entry_read_still_leaves_room() {
        let c = SegmentCache::new(200);
        c.put(key(1), bytes(1, 100));
        c.put(key(2), bytes(2, 100));
        assert!(c.get(&key(1)).is_some() && c.get(&key(2)).is_some());
        c.put(key(3), bytes(3, 150));
        assert!(c.held() <= 200, "{}", c.held());
        assert!(c.get(&key(3)).is_some());
    }
}
