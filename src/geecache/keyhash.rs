//! The hash of the maps a request looks keys up in (the LRU's index, the
//! calls in flight, a node's groups): xxh3 with a seed drawn once per map
//! from the standard library's random keys. The standard SipHash-1-3 cost
//! a node about 700 instructions a request over its few lookups of short
//! keys; xxh3 costs a fraction of that, and the seed keeps a client from
//! choosing keys that all land in one bucket without seeing the seed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Makes [`KeyHasher`]s with one map's seed.
#[derive(Clone, Debug)]
pub struct KeyHashing {
    seed: u64,
}

impl Default for KeyHashing {
    fn default() -> Self {
        KeyHashing {
            seed: RandomState::new().hash_one(0x9e37_79b9_7f4a_7c15_u64),
        }
    }
}

impl BuildHasher for KeyHashing {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher { state: self.seed }
    }
}

/// xxh3 of each piece written, seeded with what came before.
#[derive(Clone, Debug)]
pub struct KeyHasher {
    state: u64,
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.state = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.state);
    }

    /// A single byte (a string's end marker): mixed in without a call.
    fn write_u8(&mut self, byte: u8) {
        self.state = (self.state ^ u64::from(byte))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

/// A map keyed by strings with [`KeyHashing`].
pub type KeyMap<K, V> = std::collections::HashMap<K, V, KeyHashing>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_finds_what_it_holds_by_borrowed_key() {
        let mut map: KeyMap<Box<str>, usize> = KeyMap::default();
        for index in 0..10_000 {
            map.insert(format!("key{index}").into_boxed_str(), index);
        }
        assert_eq!(map.get("key1234"), Some(&1234));
        assert_eq!(map.get("key10000"), None);
        assert_eq!(map.remove("key7"), Some(7));
        assert_eq!(map.len(), 9_999);
        let hashing = KeyHashing::default();
        assert_eq!(
            hashing.hash_one("key5"),
            hashing.hash_one(String::from("key5"))
        );
    }

    #[test]
    fn sequential_keys_spread_evenly_over_buckets_and_tags() {
        // A fixed seed, so the counts are the same on every run: the low 8
        // bits (a table's bucket) and the top 7 (hashbrown's tag) of 25,600
        // sequential keys fill every value within a third of the mean (100
        // and 200 a value; a uniform draw's spread is about 10 and 14).
        let hashing = KeyHashing { seed: 7 };
        let mut buckets = [0u32; 256];
        let mut tags = [0u32; 128];
        for index in 0..25_600 {
            let hash = hashing.hash_one(format!("key{index}"));
            buckets[(hash & 0xff) as usize] += 1;
            tags[(hash >> 57) as usize] += 1;
        }
        for (counts, mean) in [(&buckets[..], 100), (&tags[..], 200)] {
            let (least, most) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(
                3 * least > 2 * mean && 3 * most < 4 * mean,
                "{least}..{most} around {mean}"
            );
        }
    }

    #[test]
    fn maps_draw_their_own_seeds() {
        let (one, two) = (KeyHashing::default(), KeyHashing::default());
        assert_ne!(one.hash_one("key1"), two.hash_one("key1"));
    }
}
