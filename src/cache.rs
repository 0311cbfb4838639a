//! Small bounded in-process caches for the request hot paths (docs/performance.md).
//!
//! [`TtlCache`] holds at most `capacity` entries, each valid for at most `ttl_ms` and only
//! while the generation it was filled under is current. Callers pass "now" (epoch milliseconds
//! from [`crate::clock::Clock`]) and the generation in, so expiry and invalidation are
//! deterministic in tests; the store passes its change counter (see `store::cached`). An entry
//! stamped later than "now" (a clock that moved backwards) counts as expired. [`BoundedMap`] is the same without expiry, for
//! values derived from their key alone (a parsed policy keyed by its text never goes stale).
//!
//! When a cache is full, expired entries go first, then arbitrary ones until it is 7/8 full:
//! memory stays bounded under any key pattern, and a flood of one-off keys only costs hits.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

struct Entry<V> {
    value: V,
    at_ms: i64,
    generation: u64,
}

/// A bounded map whose entries expire after a TTL or when the generation moves on.
pub struct TtlCache<K, V> {
    inner: Mutex<HashMap<K, Entry<V>>>,
    capacity: usize,
    ttl_ms: i64,
}

impl<K, V> std::fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache")
            .field("capacity", &self.capacity)
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// An empty cache of at most `capacity` entries (at least 1), each valid for `ttl_ms`.
    pub fn new(capacity: usize, ttl_ms: i64) -> TtlCache<K, V> {
        TtlCache {
            inner: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            ttl_ms,
        }
    }

    /// The value cached for `key`, if it was stored less than the TTL before `now` under
    /// `generation`. A stale entry is removed.
    pub fn get<Q>(&self, key: &Q, now_ms: i64, generation: u64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut map = self.inner.lock().ok()?;
        let fresh = match map.get(key) {
            None => return None,
            Some(e) => e.generation == generation && self.live(e.at_ms, now_ms),
        };
        if fresh {
            map.get(key).map(|e| e.value.clone())
        } else {
            map.remove(key);
            None
        }
    }

    /// Stores `value` for `key` as of `now` and `generation` (the generation read *before* the
    /// value was loaded, so a change that lands meanwhile makes the entry stale at once).
    pub fn insert(&self, key: K, value: V, now_ms: i64, generation: u64) {
        let Ok(mut map) = self.inner.lock() else {
            return;
        };
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.retain(|_, e| e.generation == generation && self.live(e.at_ms, now_ms));
            shrink(&mut map, self.capacity);
        }
        map.insert(
            key,
            Entry {
                value,
                at_ms: now_ms,
                generation,
            },
        );
    }

    /// Number of entries held (fresh or not yet swept).
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |m| m.len())
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry.
    pub fn clear(&self) {
        if let Ok(mut m) = self.inner.lock() {
            m.clear();
        }
    }

    fn live(&self, at_ms: i64, now_ms: i64) -> bool {
        (0..self.ttl_ms).contains(&now_ms.saturating_sub(at_ms))
    }
}

/// Removes arbitrary entries until `map` is at most 7/8 of `capacity`.
fn shrink<K: Hash + Eq, V>(map: &mut HashMap<K, V>, capacity: usize) {
    let target = capacity - capacity / 8 - 1;
    if map.len() > target {
        let excess = map.len() - target;
        let mut dropped = 0;
        map.retain(|_, _| {
            dropped += 1;
            dropped > excess
        });
    }
}

/// A bounded map without expiry, for values that depend on their key alone.
pub struct BoundedMap<K, V> {
    inner: Mutex<HashMap<K, V>>,
    capacity: usize,
}

impl<K, V> std::fmt::Debug for BoundedMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedMap")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, V: Clone> BoundedMap<K, V> {
    /// An empty map of at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> BoundedMap<K, V> {
        BoundedMap {
            inner: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The value held for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.lock().ok()?.get(key).cloned()
    }

    /// Stores `value` for `key`, making room first when full.
    pub fn insert(&self, key: K, value: V) {
        let Ok(mut map) = self.inner.lock() else {
            return;
        };
        if map.len() >= self.capacity && !map.contains_key(&key) {
            shrink(&mut map, self.capacity);
        }
        map.insert(key, value);
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |m| m.len())
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    #[test]
    fn entries_expire_after_the_ttl() {
        let c: TtlCache<String, u32> = TtlCache::new(8, 1000);
        c.insert("a".into(), 1, T0, 0);
        assert_eq!(c.get("a", T0, 0), Some(1));
        assert_eq!(c.get("a", T0 + 999, 0), Some(1));
        assert_eq!(c.get("a", T0 + 1000, 0), None);
        // The stale entry was removed, not just hidden.
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn a_new_generation_invalidates_everything_filled_before() {
        let c: TtlCache<String, u32> = TtlCache::new(8, 60_000);
        c.insert("a".into(), 1, T0, 4);
        c.insert("b".into(), 2, T0, 4);
        assert_eq!(c.get("a", T0, 5), None);
        assert_eq!(c.get("b", T0, 4), Some(2));
        assert_eq!(c.get("b", T0, 5), None);
    }

    #[test]
    fn a_clock_that_went_backwards_ends_the_entry() {
        let c: TtlCache<String, u32> = TtlCache::new(8, 1000);
        c.insert("a".into(), 1, T0, 0);
        assert_eq!(c.get("a", T0 - 1, 0), None);
    }

    #[test]
    fn the_size_stays_bounded_under_a_flood_of_keys() {
        let c: TtlCache<String, u32> = TtlCache::new(64, 60_000);
        for i in 0..10_000u32 {
            c.insert(format!("k{i}"), i, T0, 0);
            assert!(c.len() <= 64, "grew to {}", c.len());
        }
        // The most recent key is always there.
        assert_eq!(c.get("k9999", T0, 0), Some(9999));
    }

    #[test]
    fn expired_entries_are_dropped_first_when_full() {
        let c: TtlCache<String, u32> = TtlCache::new(4, 1000);
        for i in 0..3u32 {
            c.insert(format!("old{i}"), i, T0, 0);
        }
        let later = T0 + 2000;
        c.insert("live".into(), 9, later, 0);
        c.insert("new".into(), 10, later, 0);
        assert_eq!(c.get("live", later, 0), Some(9));
        assert_eq!(c.get("new", later, 0), Some(10));
        assert_eq!(c.len(), 2, "expired entries kept");
    }

    #[test]
    fn bounded_map_keeps_its_bound_and_its_latest_value() {
        let m: BoundedMap<u32, u32> = BoundedMap::new(16);
        for i in 0..1000 {
            m.insert(i, i * 2);
            assert!(m.len() <= 16);
        }
        assert_eq!(m.get(&999), Some(1998));
        m.insert(999, 1);
        assert_eq!(m.get(&999), Some(1));
    }
}
