//! Byte-weighted LRU stack distances (Mattson et al., 1970), by a Fenwick
//! tree over access positions: each key's weight sits at the position of
//! its last access, so the bytes of the distinct keys used since then are
//! a suffix sum.
//!
//! For GeeCache's byte-bounded LRU (an entry costs its key's and value's
//! bytes; adding evicts from the least recently used end until the bound
//! holds; an entry larger than the bound goes at once) the cache after
//! every access holds the longest most-recent-first prefix of the recency
//! stack whose bytes fit. So an access hits in a cache of `B` bytes exactly
//! when its distance, the bytes of the distinct keys used since its key's
//! last use with the key itself, is at most `B`: one pass gives every
//! size's hits. The tests check this against the library's LRU at every
//! size.

/// Stack distances over one stream of accesses, in memory bounded by the
/// keys it holds: when the positions run out, the live ones (each key's
/// last) are renumbered in order and the tree rebuilt, which costs O(keys)
/// once every `keys` accesses or more; the tree doubles when the live keys
/// fill half of it. A key can also be dropped (a sample that shrinks).
pub struct StackDistances {
    /// Fenwick tree over positions, 1-based: weights at last accesses.
    tree: Vec<u64>,
    /// Each key's last position (1-based), 0 before its first access.
    last: Vec<u32>,
    /// The key whose access each position holds, 1-based.
    key_at: Vec<u32>,
    /// Each key's weight, for the rebuild.
    weight: Vec<u64>,
    /// Positions used so far.
    used: u32,
    /// The weights in the tree.
    total: u64,
}

impl StackDistances {
    /// A stream of accesses to keys numbered from 0, about `keys` of them
    /// (more make it grow).
    pub fn new(keys: usize) -> StackDistances {
        let positions = 2 * keys + 64;
        StackDistances {
            tree: vec![0; positions + 1],
            last: vec![0; keys],
            key_at: vec![0; positions + 1],
            weight: vec![0; keys],
            used: 0,
            total: 0,
        }
    }

    /// Forgets `key`, as if it had never been used.
    pub fn remove(&mut self, key: u32) {
        let Some(last) = self.last.get_mut(key as usize) else {
            return;
        };
        let position = std::mem::replace(last, 0);
        if position != 0 {
            let weight = self.weight[key as usize];
            self.add_at(position, weight, false);
            self.total -= weight;
        }
    }

    /// Accesses `key`, which costs `weight` bytes: its distance, or `None`
    /// the first time.
    #[inline]
    pub fn access(&mut self, key: u32, weight: u64) -> Option<u64> {
        if key as usize >= self.last.len() {
            let keys = (key as usize + 1).max(2 * self.last.len());
            self.last.resize(keys, 0);
            self.weight.resize(keys, 0);
        }
        if self.used as usize + 1 == self.tree.len() {
            self.compact();
        }
        self.used += 1;
        let now = self.used;
        let last = std::mem::replace(&mut self.last[key as usize], now);
        let distance = if last == 0 {
            None
        } else {
            // Everything at or after the last access: the key itself and the
            // distinct keys used since.
            let before = self.prefix(last - 1);
            let distance = self.total - before;
            let old = self.weight[key as usize];
            self.add_at(last, old, false);
            self.total -= old;
            Some(distance)
        };
        self.weight[key as usize] = weight;
        self.key_at[now as usize] = key;
        self.add_at(now, weight, true);
        self.total += weight;
        distance
    }

    /// Renumbers the live positions 1, 2, ... in order and rebuilds the
    /// tree over them.
    #[cold]
    fn compact(&mut self) {
        let mut live = 0u32;
        for position in 1..=self.used {
            let key = self.key_at[position as usize];
            if self.last[key as usize] == position {
                live += 1;
                self.key_at[live as usize] = key;
                self.last[key as usize] = live;
            }
        }
        // Live keys in more than half the tree: double it.
        if 2 * live as usize + 1 > self.tree.len() {
            let positions = 2 * self.tree.len();
            self.tree.resize(positions, 0);
            self.key_at.resize(positions, 0);
        }
        self.tree.fill(0);
        for position in 1..=live as usize {
            self.tree[position] = self.weight[self.key_at[position] as usize];
        }
        // Each node passes its sum up to its parent: O(n), over the whole
        // tree, whose later nodes cover ranges that reach back here.
        for position in 1..self.tree.len() {
            let parent = position + (position & position.wrapping_neg());
            if parent < self.tree.len() {
                self.tree[parent] += self.tree[position];
            }
        }
        self.used = live;
    }

    /// The weights at positions 1 to `position`.
    #[inline]
    fn prefix(&self, position: u32) -> u64 {
        // Positions only fall from here: one check serves the loop.
        let tree = &self.tree[..=position as usize];
        let mut position = position as usize;
        let mut sum = 0;
        while position > 0 {
            sum += tree[position];
            position &= position - 1;
        }
        sum
    }

    #[inline]
    fn add_at(&mut self, position: u32, weight: u64, add: bool) {
        let mut position = position as usize;
        // The slot's check is the loop's end.
        while let Some(slot) = self.tree.get_mut(position) {
            *slot = if add { *slot + weight } else { *slot - weight };
            position += position & position.wrapping_neg();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geecache::lru::Lru;

    /// A deterministic stream: (key, its value's size).
    fn stream(seed: u64, length: usize, keys: u64) -> (Vec<u32>, Vec<u64>) {
        let mut state = seed;
        let mut draw = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let sizes: Vec<u64> = (0..keys).map(|_| 1 + draw() % 40).collect();
        let accesses = (0..length)
            .map(|_| {
                // Skewed: small keys more often.
                let uniform = draw() % (keys * keys);
                (keys - 1 - (uniform as f64).sqrt() as u64) as u32
            })
            .collect();
        (accesses, sizes)
    }

    #[test]
    fn distances_match_a_direct_count() {
        let (accesses, sizes) = stream(3, 2000, 60);
        let mut stack = StackDistances::new(60);
        let name = |key: u32| format!("k{key}");
        let weight = |key: u32| name(key).len() as u64 + sizes[key as usize];
        for (at, &key) in accesses.iter().enumerate() {
            let got = stack.access(key, weight(key));
            let previous = accesses[..at].iter().rposition(|&other| other == key);
            let expected = previous.map(|from| {
                let mut seen: Vec<u32> = accesses[from..at].to_vec();
                seen.sort_unstable();
                seen.dedup();
                seen.iter().map(|&other| weight(other)).sum::<u64>()
            });
            assert_eq!(got, expected, "access {at}");
        }
    }

    #[test]
    fn a_distance_within_the_bound_is_exactly_a_hit_of_the_real_lru_at_every_size() {
        for seed in 1..=4 {
            let (accesses, sizes) = stream(seed, 1500, 80);
            let names: Vec<String> = (0..80).map(|key| format!("key{key}")).collect();
            let name = |key: u32| names[key as usize].as_str();
            let weight = |key: u32| name(key).len() as u64 + sizes[key as usize];
            let mut stack = StackDistances::new(80);
            let distances: Vec<Option<u64>> = accesses
                .iter()
                .map(|&key| stack.access(key, weight(key)))
                .collect();
            let everything: u64 = (0..80).map(weight).sum();
            // Every size from 1 byte to one that holds every key.
            for bound in 1..=everything + 1 {
                let mut lru: Lru<Vec<u8>> = Lru::new(bound as usize);
                let mut hits = 0u64;
                for (at, &key) in accesses.iter().enumerate() {
                    let hit = lru.get(name(key)).is_some();
                    if !hit {
                        lru.add(name(key), vec![0; sizes[key as usize] as usize]);
                    }
                    let predicted = distances[at].is_some_and(|distance| distance <= bound);
                    assert_eq!(hit, predicted, "seed {seed}, {bound} bytes, access {at}");
                    hits += u64::from(hit);
                }
                if bound == everything {
                    let cold = distances.iter().filter(|d| d.is_none()).count() as u64;
                    assert_eq!(hits, accesses.len() as u64 - cold);
                }
            }
        }
    }
}
