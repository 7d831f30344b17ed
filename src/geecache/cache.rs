//! A byte-bounded LRU of `ByteView`s behind a lock, with its counters.

use std::sync::{Arc, Mutex, MutexGuard};

use super::byteview::ByteView;
use super::lru::Lru;
use super::stats::{bump, CacheCounters, CacheStats};

/// A thread-safe cache that counts its lookups, hits and evictions.
pub struct Cache {
    lru: Mutex<Lru<ByteView>>,
    counters: Arc<CacheCounters>,
}

impl Cache {
    /// A cache of at most `max_bytes` bytes; 0 means unbounded.
    pub fn new(max_bytes: usize) -> Self {
        let counters = Arc::new(CacheCounters::default());
        Cache {
            lru: Mutex::new(counting_lru(max_bytes, &counters)),
            counters,
        }
    }

    /// Drops every entry, as a restarted process would find its cache; the
    /// counters go on, and dropped entries are not evictions.
    pub fn clear(&self) {
        let mut lru = self.lock();
        *lru = counting_lru(lru.max_bytes(), &self.counters);
    }

    /// Looks a key up, making it the most recently used.
    pub fn get(&self, key: &str) -> Option<ByteView> {
        bump(&self.counters.gets);
        let found = self.lock().get(key).cloned();
        if found.is_some() {
            bump(&self.counters.hits);
        }
        found
    }

    /// Adds a value, evicting as the bound requires.
    pub fn add(&self, key: &str, value: ByteView) {
        self.lock().add(key, value);
    }

    /// The cache's figures now.
    pub fn stats(&self) -> CacheStats {
        let (bytes, items) = {
            let lru = self.lock();
            (lru.bytes() as u64, lru.len() as u64)
        };
        let counters = self.counters.snapshot();
        CacheStats {
            bytes,
            items,
            gets: counters.gets,
            hits: counters.hits,
            evictions: counters.evictions,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lru<ByteView>> {
        // The LRU's invariants hold between its method calls, so a panic in
        // another holder leaves nothing half-done behind.
        self.lru
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An LRU of `max_bytes` that counts its evictions in `counters`.
fn counting_lru(max_bytes: usize, counters: &Arc<CacheCounters>) -> Lru<ByteView> {
    let on_evict = Arc::clone(counters);
    Lru::with_on_evicted(
        max_bytes,
        Box::new(move |_: &str, _: &ByteView| bump(&on_evict.evictions)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gets_hits_and_evictions() {
        let cache = Cache::new(8);
        cache.add("a", ByteView::from("123")); // 4 bytes
        cache.add("b", ByteView::from("123")); // 8 bytes
        assert!(cache.get("a").is_some());
        assert!(cache.get("zz").is_none());
        cache.add("c", ByteView::from("123")); // evicts b
        let stats = cache.stats();
        assert_eq!(
            stats,
            CacheStats {
                bytes: 8,
                items: 2,
                gets: 2,
                hits: 1,
                evictions: 1
            }
        );
        assert_eq!(cache.stats().evictions, 1);
        assert!(cache.get("b").is_none());
        cache.clear();
        assert!(cache.get("a").is_none());
        let cleared = cache.stats();
        assert_eq!((cleared.bytes, cleared.items, cleared.evictions), (0, 0, 1));
        // The bound holds after a clear.
        cache.add("d", ByteView::from("123"));
        cache.add("e", ByteView::from("123"));
        cache.add("f", ByteView::from("123"));
        assert_eq!((cache.stats().items, cache.stats().evictions), (2, 2));
    }
}
