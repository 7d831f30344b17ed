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
    fn a_map_finds_what_it_holds_by_borrowed_key_and_spreads_keys() {
        let mut map: KeyMap<Box<str>, usize> = KeyMap::default();
        for index in 0..10_000 {
            map.insert(format!("key{index}").into_boxed_str(), index);
        }
        assert_eq!(map.get("key1234"), Some(&1234));
        assert_eq!(map.get("key10000"), None);
        assert_eq!(map.remove("key7"), Some(7));
        assert_eq!(map.len(), 9_999);
        // Equal keys hash equal under one seed; the low bits (the bucket)
        // of sequential keys spread over every value of 8 bits.
        let hashing = KeyHashing::default();
        assert_eq!(
            hashing.hash_one("key5"),
            hashing.hash_one(String::from("key5"))
        );
        let buckets: std::collections::HashSet<u64> = (0..2000)
            .map(|index| hashing.hash_one(format!("key{index}")) & 0xff)
            .collect();
        assert_eq!(buckets.len(), 256);
        // And the top 7 bits (hashbrown's tag) likewise.
        let tags: std::collections::HashSet<u64> = (0..2000)
            .map(|index| hashing.hash_one(format!("key{index}")) >> 57)
            .collect();
        assert_eq!(tags.len(), 128);
    }

    #[test]
    fn maps_draw_their_own_seeds() {
        let (one, two) = (KeyHashing::default(), KeyHashing::default());
        assert_ne!(one.hash_one("key1"), two.hash_one("key1"));
    }
}
