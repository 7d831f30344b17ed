//! A least-recently-used cache bounded by bytes, as GeeCache's `lru` package.
//!
//! An entry costs `key.len() + value.weight()` bytes. Adding evicts the least
//! recently used entries until the total fits the bound again; `get` makes an
//! entry the most recently used. A bound of 0 means unbounded.
//!
//! The recency list is a doubly linked list threaded through a slab of
//! entries by index, so add, get and evict are O(1) with no allocation per
//! operation beyond the key itself.

use std::sync::Arc;

use super::keyhash::KeyMap;

/// How many bytes a value counts for in the cache's budget.
pub trait Weigh {
    /// The value's size in bytes.
    fn weight(&self) -> usize;
}

impl Weigh for Vec<u8> {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weigh for String {
    fn weight(&self) -> usize {
        self.len()
    }
}

/// Called with each entry that leaves the cache because of the byte bound.
pub type OnEvicted<V> = Box<dyn FnMut(&str, &V) + Send>;

const NIL: usize = usize::MAX;

struct Entry<V> {
    key: Arc<str>,
    value: V,
    /// Towards the most recently used end.
    prev: usize,
    /// Towards the least recently used end.
    next: usize,
}

/// A byte-bounded LRU cache. Not thread safe: wrap it in a lock to share it.
pub struct Lru<V> {
    max_bytes: usize,
    bytes: usize,
    index: KeyMap<Arc<str>, usize>,
    slots: Vec<Option<Entry<V>>>,
    free: Vec<usize>,
    /// The most recently used entry.
    head: usize,
    /// The least recently used entry: the next to go.
    tail: usize,
    on_evicted: Option<OnEvicted<V>>,
}

impl<V: Weigh> Lru<V> {
    /// A cache holding at most `max_bytes` bytes; 0 means no bound.
    pub fn new(max_bytes: usize) -> Self {
        Lru {
            max_bytes,
            bytes: 0,
            index: KeyMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            on_evicted: None,
        }
    }

    /// A cache that calls `hook` with every entry it evicts.
    pub fn with_on_evicted(max_bytes: usize, hook: OnEvicted<V>) -> Self {
        let mut lru = Lru::new(max_bytes);
        lru.on_evicted = Some(hook);
        lru
    }

    /// Looks a key up and, when found, makes it the most recently used.
    pub fn get(&mut self, key: &str) -> Option<&V> {
        let slot = *self.index.get(key)?;
        self.move_to_front(slot);
        self.slots[slot].as_ref().map(|entry| &entry.value)
    }

    /// Looks a key up without changing its recency.
    pub fn peek(&self, key: &str) -> Option<&V> {
        let slot = *self.index.get(key)?;
        self.slots[slot].as_ref().map(|entry| &entry.value)
    }

    /// Adds or replaces a value, makes it the most recently used, then evicts
    /// the least recently used entries until the byte total fits the bound.
    /// An entry larger than the whole bound is evicted at once, as in Go.
    pub fn add(&mut self, key: &str, value: V) {
        if let Some(&slot) = self.index.get(key) {
            let entry = self.slots[slot].as_mut().expect("indexed slot is live");
            self.bytes = self.bytes + value.weight() - entry.value.weight();
            entry.value = value;
            self.move_to_front(slot);
        } else {
            let key: Arc<str> = Arc::from(key);
            self.bytes += key.len() + value.weight();
            let entry = Entry {
                key: Arc::clone(&key),
                value,
                prev: NIL,
                next: NIL,
            };
            let slot = match self.free.pop() {
                Some(slot) => {
                    self.slots[slot] = Some(entry);
                    slot
                }
                None => {
                    self.slots.push(Some(entry));
                    self.slots.len() - 1
                }
            };
            self.index.insert(key, slot);
            self.push_front(slot);
        }
        while self.max_bytes != 0 && self.bytes > self.max_bytes {
            self.remove_oldest();
        }
    }

    /// Removes the least recently used entry, tells the eviction hook, and
    /// returns the entry's key and value.
    pub fn remove_oldest(&mut self) -> Option<(Arc<str>, V)> {
        if self.tail == NIL {
            return None;
        }
        let slot = self.tail;
        self.unlink(slot);
        let entry = self.slots[slot].take().expect("tail slot is live");
        self.free.push(slot);
        self.index.remove(&entry.key);
        self.bytes -= entry.key.len() + entry.value.weight();
        if let Some(hook) = self.on_evicted.as_mut() {
            hook(&entry.key, &entry.value);
        }
        Some((entry.key, entry.value))
    }

    /// The bytes all entries cost together.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The bound in bytes; 0 means none.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Keys from the most to the least recently used.
    pub fn keys_by_recency(&self) -> Vec<Arc<str>> {
        let mut keys = Vec::with_capacity(self.len());
        let mut slot = self.head;
        while slot != NIL {
            let entry = self.slots[slot].as_ref().expect("linked slot is live");
            keys.push(Arc::clone(&entry.key));
            slot = entry.next;
        }
        keys
    }

    fn move_to_front(&mut self, slot: usize) {
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    fn push_front(&mut self, slot: usize) {
        let old_head = self.head;
        {
            let entry = self.slots[slot].as_mut().expect("slot is live");
            entry.prev = NIL;
            entry.next = old_head;
        }
        if old_head != NIL {
            self.slots[old_head].as_mut().expect("head is live").prev = slot;
        } else {
            self.tail = slot;
        }
        self.head = slot;
    }

    fn unlink(&mut self, slot: usize) {
        let (prev, next) = {
            let entry = self.slots[slot].as_ref().expect("slot is live");
            (entry.prev, entry.next)
        };
        match prev {
            NIL => self.head = next,
            _ => self.slots[prev].as_mut().expect("prev is live").next = next,
        }
        match next {
            NIL => self.tail = prev,
            _ => self.slots[next].as_mut().expect("next is live").prev = prev,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn keys(lru: &Lru<String>) -> Vec<String> {
        lru.keys_by_recency()
            .iter()
            .map(|key| key.to_string())
            .collect()
    }

    #[test]
    fn get_finds_what_was_added() {
        let mut lru = Lru::new(0);
        lru.add("key1", "1234".to_string());
        assert_eq!(lru.get("key1").map(String::as_str), Some("1234"));
        assert_eq!(lru.get("key2"), None);
        assert_eq!(lru.bytes(), "key1".len() + "1234".len());
        assert_eq!(lru.len(), 1);
    }

    #[test]
    fn adding_past_the_bound_evicts_the_oldest() {
        // The Go test: room for two of these three entries.
        let (k1, k2, k3) = ("key1", "key2", "k3");
        let (v1, v2, v3) = ("value1", "value2", "v3");
        let bound = k1.len() + k2.len() + v1.len() + v2.len();
        let mut lru = Lru::new(bound);
        lru.add(k1, v1.to_string());
        lru.add(k2, v2.to_string());
        lru.add(k3, v3.to_string());
        assert!(lru.get("key1").is_none());
        assert_eq!(lru.len(), 2);
        assert!(lru.bytes() <= bound);
    }

    #[test]
    fn get_refreshes_recency() {
        let mut lru = Lru::new(12);
        lru.add("a", "11111".to_string()); // 6 bytes
        lru.add("b", "22222".to_string()); // 6 bytes, full
        assert!(lru.get("a").is_some());
        lru.add("c", "33333".to_string()); // evicts b, not a
        assert_eq!(keys(&lru), vec!["c", "a"]);
    }

    #[test]
    fn peek_leaves_recency_alone() {
        let mut lru = Lru::new(12);
        lru.add("a", "11111".to_string());
        lru.add("b", "22222".to_string());
        assert!(lru.peek("a").is_some());
        lru.add("c", "33333".to_string());
        assert_eq!(keys(&lru), vec!["c", "b"]);
    }

    #[test]
    fn updating_a_key_adjusts_the_byte_total() {
        let mut lru = Lru::new(0);
        lru.add("key", "1".to_string());
        lru.add("key", "12345".to_string());
        assert_eq!(lru.bytes(), 3 + 5);
        assert_eq!(lru.len(), 1);
        lru.add("key", "12".to_string());
        assert_eq!(lru.bytes(), 3 + 2);
    }

    #[test]
    fn the_hook_sees_every_eviction_in_order() {
        let evicted = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&evicted);
        let mut lru = Lru::with_on_evicted(
            10,
            Box::new(move |key: &str, _: &String| seen.lock().unwrap().push(key.to_string())),
        );
        lru.add("key1", "123456".to_string());
        lru.add("k2", "k2".to_string());
        lru.add("k3", "k3".to_string());
        lru.add("k4", "k4".to_string());
        assert_eq!(*evicted.lock().unwrap(), vec!["key1", "k2"]);
    }

    #[test]
    fn an_entry_larger_than_the_bound_does_not_stay() {
        let mut lru = Lru::new(4);
        lru.add("a", "1".to_string());
        lru.add("big", "123456".to_string());
        assert!(lru.is_empty());
        assert_eq!(lru.bytes(), 0);
    }

    #[test]
    fn freed_slots_are_reused() {
        let mut lru = Lru::new(4);
        for round in 0..100 {
            lru.add(&format!("k{}", round % 10), "v".to_string());
        }
        assert!(lru.slots.len() <= 3, "slab grew to {}", lru.slots.len());
    }

    mod model {
        //! Property tests against a model that keeps entries in a plain vector
        //! ordered by recency and recomputes everything from scratch.

        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Add(u8, usize),
            Get(u8),
            RemoveOldest,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => (0u8..24, 0usize..20).prop_map(|(key, size)| Op::Add(key, size)),
                3 => (0u8..24).prop_map(Op::Get),
                1 => Just(Op::RemoveOldest),
            ]
        }

        fn key_name(key: u8) -> String {
            // Keys of different lengths, so the key's share of the cost matters.
            "k".repeat(1 + key as usize % 3) + &key.to_string()
        }

        /// Entries from least to most recently used.
        struct Model {
            max_bytes: usize,
            entries: Vec<(String, String)>,
            evicted: Vec<String>,
        }

        impl Model {
            fn bytes(&self) -> usize {
                self.entries.iter().map(|(k, v)| k.len() + v.len()).sum()
            }

            fn touch(&mut self, key: &str) -> Option<String> {
                let at = self.entries.iter().position(|(k, _)| k == key)?;
                let entry = self.entries.remove(at);
                let value = entry.1.clone();
                self.entries.push(entry);
                Some(value)
            }

            fn add(&mut self, key: String, value: String) {
                self.entries.retain(|(k, _)| *k != key);
                self.entries.push((key, value));
                while self.max_bytes != 0 && self.bytes() > self.max_bytes {
                    self.remove_oldest();
                }
            }

            fn remove_oldest(&mut self) -> Option<String> {
                if self.entries.is_empty() {
                    return None;
                }
                let (key, _) = self.entries.remove(0);
                self.evicted.push(key.clone());
                Some(key)
            }
        }

        proptest! {
            #[test]
            fn matches_the_model(max_bytes in prop_oneof![Just(0usize), 1usize..120],
                                 ops in proptest::collection::vec(op(), 1..200)) {
                let evicted = Arc::new(Mutex::new(Vec::new()));
                let seen = Arc::clone(&evicted);
                let mut lru = Lru::with_on_evicted(
                    max_bytes,
                    Box::new(move |key: &str, _: &String| seen.lock().unwrap().push(key.to_string())),
                );
                let mut model = Model { max_bytes, entries: Vec::new(), evicted: Vec::new() };
                for op in ops {
                    match op {
                        Op::Add(key, size) => {
                            let value = "v".repeat(size);
                            lru.add(&key_name(key), value.clone());
                            model.add(key_name(key), value);
                        }
                        Op::Get(key) => {
                            let got = lru.get(&key_name(key)).cloned();
                            prop_assert_eq!(got, model.touch(&key_name(key)));
                        }
                        Op::RemoveOldest => {
                            let got = lru.remove_oldest().map(|(key, _)| key.to_string());
                            prop_assert_eq!(got, model.remove_oldest());
                        }
                    }
                    prop_assert_eq!(lru.bytes(), model.bytes());
                    if max_bytes != 0 {
                        prop_assert!(lru.bytes() <= max_bytes);
                    }
                    prop_assert_eq!(lru.len(), model.entries.len());
                    let expected: Vec<String> =
                        model.entries.iter().rev().map(|(k, _)| k.clone()).collect();
                    let actual: Vec<String> =
                        lru.keys_by_recency().iter().map(|k| k.to_string()).collect();
                    prop_assert_eq!(&actual, &expected);
                    prop_assert_eq!(&*evicted.lock().unwrap(), &model.evicted);
                }
            }
        }
    }
}
