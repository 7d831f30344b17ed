//! A consistent hash ring with virtual nodes, as GeeCache's `consistenthash`.
//!
//! Each peer gets `replicas` points on the ring. The point of replica `i` of
//! peer `p` is the hash of the decimal text of `i` followed by `p`
//! (`"0http://127.0.0.1:8001"`). A key belongs to the first point whose hash
//! is `>=` the key's hash, wrapping round to the first point. With CRC-32
//! (IEEE) this places keys exactly as the Go code does, so Rust and Go nodes
//! can share a cluster.
//!
//! Where two points hash alike, the peer added later owns the point, as in
//! Go, where the later write to `hashMap` wins.

use std::fmt;
use std::io::Write as _;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A hash function for the ring, with the width of its output.
#[derive(Clone, Copy)]
pub struct RingHasher {
    /// The name used in configurations and results.
    pub name: &'static str,
    /// Hashes a key or a virtual node's name.
    pub function: fn(&[u8]) -> u64,
    /// The output lies in `0..2^bits`; ring shares are fractions of that.
    pub bits: u32,
}

impl fmt::Debug for RingHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RingHasher({})", self.name)
    }
}

fn crc32_ieee(data: &[u8]) -> u64 {
    u64::from(crc32fast::hash(data))
}

fn xxh3_64(data: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(data)
}

/// The hash functions a ring can be built with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    /// CRC-32 (IEEE), as Go's `crc32.ChecksumIEEE`: places keys as Go does,
    /// but spreads the short, similar virtual-node names unevenly.
    #[default]
    Crc32,
    /// 64-bit XXH3: spreads virtual nodes evenly.
    Xxh3,
}

impl HashKind {
    /// Every kind, for listing in help texts and sweeps.
    pub const ALL: [HashKind; 2] = [HashKind::Crc32, HashKind::Xxh3];

    /// The function and width behind this kind.
    pub fn hasher(self) -> RingHasher {
        match self {
            HashKind::Crc32 => RingHasher {
                name: "crc32",
                function: crc32_ieee,
                bits: 32,
            },
            HashKind::Xxh3 => RingHasher {
                name: "xxh3",
                function: xxh3_64,
                bits: 64,
            },
        }
    }

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        self.hasher().name
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        HashKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| format!("unknown hash {text:?}: expected crc32 or xxh3"))
    }
}

/// A consistent hash ring mapping keys to peer names.
#[derive(Clone, Debug)]
pub struct HashRing {
    replicas: usize,
    hasher: RingHasher,
    /// Peers in the order they were added; later ones win hash collisions.
    peers: Vec<String>,
    /// Sorted, distinct point hashes.
    points: Vec<u64>,
    /// `owners[i]` indexes `peers` for `points[i]`.
    owners: Vec<u32>,
}

impl HashRing {
    /// An empty ring that gives each peer `replicas` points (at least one).
    pub fn new(replicas: usize, kind: HashKind) -> Self {
        HashRing::with_hasher(replicas, kind.hasher())
    }

    /// An empty ring with a hash of the caller's, for tests and experiments.
    pub fn with_hasher(replicas: usize, hasher: RingHasher) -> Self {
        HashRing {
            replicas: replicas.max(1),
            hasher,
            peers: Vec::new(),
            points: Vec::new(),
            owners: Vec::new(),
        }
    }

    /// Adds peers; a peer already on the ring is left as it is.
    pub fn add<I, S>(&mut self, peers: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for peer in peers {
            let peer = peer.into();
            if !self.peers.contains(&peer) {
                self.peers.push(peer);
            }
        }
        self.rebuild();
    }

    /// Removes a peer and its points; returns whether it was on the ring.
    pub fn remove(&mut self, peer: &str) -> bool {
        let before = self.peers.len();
        self.peers.retain(|known| known != peer);
        let removed = self.peers.len() != before;
        if removed {
            self.rebuild();
        }
        removed
    }

    /// The peer that owns `key`, or `None` on an empty ring.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.owner_index(key)
            .map(|index| self.peers[index].as_str())
    }

    /// The index in [`HashRing::peers`] of the peer that owns `key`.
    pub fn owner_index(&self, key: &str) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let hash = (self.hasher.function)(key.as_bytes());
        let at = self.points.partition_point(|&point| point < hash);
        let at = if at == self.points.len() { 0 } else { at };
        Some(self.owners[at] as usize)
    }

    /// The peers, in the order they were added.
    pub fn peers(&self) -> &[String] {
        &self.peers
    }

    /// Virtual nodes per peer.
    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// The hash the ring was built with.
    pub fn hasher(&self) -> RingHasher {
        self.hasher
    }

    /// The number of distinct points on the ring.
    pub fn points(&self) -> usize {
        self.points.len()
    }

    /// Whether the ring has no peers.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Each peer's share of the hash space, in the order of [`HashRing::peers`].
    /// The shares add up to 1 on a ring with peers.
    pub fn shares(&self) -> Vec<f64> {
        let mut shares = vec![0.0; self.peers.len()];
        let Some(&last) = self.points.last() else {
            return shares;
        };
        let space = 2f64.powi(self.hasher.bits as i32);
        // The first point also owns the arc that wraps past the top.
        let mut previous = last as f64 - space;
        for (&point, &owner) in self.points.iter().zip(&self.owners) {
            shares[owner as usize] += (point as f64 - previous) / space;
            previous = point as f64;
        }
        shares
    }

    fn rebuild(&mut self) {
        let mut points: Vec<(u64, u32)> = Vec::with_capacity(self.peers.len() * self.replicas);
        let mut name = Vec::new();
        for (index, peer) in self.peers.iter().enumerate() {
            for replica in 0..self.replicas {
                name.clear();
                write!(name, "{replica}{peer}").expect("writing to a Vec cannot fail");
                points.push(((self.hasher.function)(&name), index as u32));
            }
        }
        // Sorting by (hash, peer index) puts the latest-added peer last among
        // equal hashes; keeping the last of each run gives Go's collision rule.
        points.sort_unstable();
        self.points.clear();
        self.owners.clear();
        for (at, &(hash, owner)) in points.iter().enumerate() {
            if points.get(at + 1).is_some_and(|next| next.0 == hash) {
                continue;
            }
            self.points.push(hash);
            self.owners.push(owner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's test hash: the key is a decimal number and hashes to itself.
    fn decimal(data: &[u8]) -> u64 {
        std::str::from_utf8(data).unwrap().parse().unwrap()
    }

    fn decimal_ring(replicas: usize) -> HashRing {
        HashRing::with_hasher(
            replicas,
            RingHasher {
                name: "decimal",
                function: decimal,
                bits: 32,
            },
        )
    }

    #[test]
    fn places_keys_as_the_go_test_does() {
        // Peers 6, 4, 2 with 3 replicas give points 2, 4, 6, 12, 14, 16, 22, 24, 26.
        let mut ring = decimal_ring(3);
        ring.add(["6", "4", "2"]);
        let cases = [("2", "2"), ("11", "2"), ("23", "4"), ("27", "2")];
        for (key, owner) in cases {
            assert_eq!(ring.get(key), Some(owner), "key {key}");
        }
        // Adding 8 gives points 8, 18, 28: key 27 moves to it.
        ring.add(["8"]);
        assert_eq!(ring.get("27"), Some("8"));
        assert_eq!(ring.get("11"), Some("2"));
    }

    #[test]
    fn the_source_documents_example_places_tom_on_8001() {
        // The source document's log: the API node picks peer 8001 for "Tom".
        let peers = [
            "http://localhost:8001",
            "http://localhost:8002",
            "http://localhost:8003",
        ];
        let mut ring = HashRing::new(50, HashKind::Crc32);
        ring.add(peers);
        assert_eq!(ring.get("Tom"), Some("http://localhost:8001"));
        // Go adds the peers in map order, which varies; placement must not.
        let mut reversed = HashRing::new(50, HashKind::Crc32);
        reversed.add(peers.iter().rev().copied());
        for key in ["Tom", "Jack", "Sam", "key0", "key99"] {
            assert_eq!(ring.get(key), reversed.get(key), "key {key}");
        }
    }

    #[test]
    fn the_virtual_node_name_is_replica_index_then_peer() {
        // One replica: the ring's only point is crc32("0peer").
        let mut ring = HashRing::new(1, HashKind::Crc32);
        ring.add(["peer"]);
        assert_eq!(ring.points, vec![u64::from(crc32fast::hash(b"0peer"))]);
        let mut ring = HashRing::new(12, HashKind::Crc32);
        ring.add(["p"]);
        assert!(ring.points.contains(&u64::from(crc32fast::hash(b"11p"))));
    }

    #[test]
    fn collisions_go_to_the_peer_added_later() {
        // With the decimal hash, replica 1 of peer "2" ("12") and replica 0
        // of peer "12" ("012") both land on point 12.
        let mut ring = decimal_ring(2);
        ring.add(["2", "12"]);
        assert_eq!(ring.get("12"), Some("12"));
        let mut other_order = decimal_ring(2);
        other_order.add(["12", "2"]);
        assert_eq!(other_order.get("12"), Some("2"));
    }

    #[test]
    fn removing_a_peer_moves_only_its_keys() {
        let mut ring = HashRing::new(50, HashKind::Xxh3);
        ring.add(["a", "b", "c", "d"]);
        let keys: Vec<String> = (0..2000).map(|i| format!("key{i}")).collect();
        let before: Vec<String> = keys
            .iter()
            .map(|k| ring.get(k).unwrap().to_string())
            .collect();
        assert!(ring.remove("c"));
        assert!(!ring.remove("c"));
        let mut moved = 0;
        for (key, owner) in keys.iter().zip(&before) {
            let now = ring.get(key).unwrap();
            if owner == "c" {
                assert_ne!(now, "c");
                moved += 1;
            } else {
                assert_eq!(now, owner, "key {key} moved though its owner stayed");
            }
        }
        assert!(moved > 0);
    }

    #[test]
    fn an_empty_ring_owns_nothing() {
        let ring = HashRing::new(50, HashKind::Crc32);
        assert_eq!(ring.get("Tom"), None);
        assert!(ring.is_empty());
        assert!(ring.shares().is_empty());
    }

    #[test]
    fn adding_a_known_peer_changes_nothing() {
        let mut ring = HashRing::new(10, HashKind::Crc32);
        ring.add(["a", "b"]);
        ring.add(["a"]);
        assert_eq!(ring.peers(), ["a", "b"]);
        assert_eq!(ring.points(), 20);
    }

    #[test]
    fn shares_add_up_and_match_key_counts() {
        for kind in HashKind::ALL {
            let mut ring = HashRing::new(200, kind);
            ring.add([
                "http://127.0.0.1:1",
                "http://127.0.0.1:2",
                "http://127.0.0.1:3",
            ]);
            let shares = ring.shares();
            let total: f64 = shares.iter().sum();
            assert!((total - 1.0).abs() < 1e-9, "{kind}: shares sum to {total}");
            // XXH3 hashes keys uniformly, so key counts follow the shares.
            if kind == HashKind::Xxh3 {
                let mut counts = [0usize; 3];
                let samples = 60_000;
                for i in 0..samples {
                    counts[ring.owner_index(&format!("key{i}")).unwrap()] += 1;
                }
                for (count, share) in counts.iter().zip(&shares) {
                    let observed = *count as f64 / samples as f64;
                    assert!((observed - share).abs() < 0.02, "{observed} vs {share}");
                }
            }
        }
    }

    #[test]
    fn one_peer_owns_the_whole_space() {
        let mut ring = HashRing::new(3, HashKind::Crc32);
        ring.add(["solo"]);
        assert_eq!(ring.shares(), vec![1.0]);
        assert_eq!(ring.get("anything"), Some("solo"));
    }

    #[test]
    fn hash_kinds_parse_from_their_names() {
        assert_eq!("crc32".parse::<HashKind>(), Ok(HashKind::Crc32));
        assert_eq!("xxh3".parse::<HashKind>(), Ok(HashKind::Xxh3));
        let error = "md5".parse::<HashKind>().unwrap_err();
        assert!(error.contains("md5") && error.contains("crc32"), "{error}");
    }
}
