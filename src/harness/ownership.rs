//! A ring's shape ([`RingShape`]: nodes, virtual nodes, hash), and which
//! keys of the key space (`key0` .. `key{keys-1}`) each node of a ring
//! owns, and which change owner when the ring changes: what a run's node
//! table, a ring event's cost, `ring` and `ring --join/--leave`, the
//! curves and the model's ring changes all count the same way.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::geecache::{HashKind, HashRing};
use crate::harness::cluster::ring_name;
use crate::harness::slowdb::write_key_name;
use crate::harness::workload::Workload;

/// The shape of a ring: how many nodes, how many virtual nodes each, and
/// which hash. A run's cluster, a grid's configuration, the model, the
/// curves, `ring` and `advise` all name a ring by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingShape {
    /// Nodes, named as a run names them (`http://localhost:8001`, ...).
    pub nodes: u32,
    /// Virtual nodes per node.
    pub replicas: u32,
    /// The ring's hash.
    pub hash: HashKind,
}

impl RingShape {
    /// The ring of `workload`'s cluster.
    pub fn of(workload: &Workload) -> RingShape {
        let cluster = &workload.cluster;
        RingShape {
            nodes: cluster.nodes,
            replicas: cluster.replicas,
            hash: cluster.hash,
        }
    }

    /// The ring a run builds: every node, named as a run names them.
    pub fn build(&self) -> HashRing {
        let members: Vec<usize> = (0..self.nodes as usize).collect();
        self.build_among(&members)
    }

    /// The ring of `members` (node indices, in the order the nodes add
    /// them) with this shape's replicas and hash.
    pub fn build_among(&self, members: &[usize]) -> HashRing {
        let mut ring = HashRing::new(self.replicas as usize, self.hash);
        ring.add(members.iter().map(|&member| ring_name(member)));
        ring
    }
}

/// Keys of a key space that change owner between two rings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyMoves {
    /// Keys examined: `key0` .. `key{keys-1}`.
    pub keys: u64,
    /// Keys whose owner differs.
    pub moved: u64,
    /// Every node on either ring, those of the first ring first, in ring order.
    pub nodes: Vec<String>,
    /// Keys each node owns before the change (0 for a node that joins).
    pub before: Vec<u64>,
    /// Keys each node owns after the change (0 for a node that leaves).
    pub after: Vec<u64>,
    /// Moved keys each node lost.
    pub lost: Vec<u64>,
    /// Moved keys each node gained.
    pub gained: Vec<u64>,
    /// The least any placement could move: the keys of the nodes that left
    /// (they must go), plus for nodes that joined their even share of the
    /// ring after (K/(n+K) for K joining n).
    pub ideal_share: f64,
}

impl KeyMoves {
    /// The share of the key space whose owner changed.
    pub fn moved_share(&self) -> f64 {
        if self.keys == 0 {
            0.0
        } else {
            self.moved as f64 / self.keys as f64
        }
    }
}

/// Keys of `key0` .. `key{keys-1}` each peer of `ring` owns, in the order
/// of [`HashRing::peers`].
pub fn keys_owned(ring: &HashRing, keys: u64) -> Vec<u64> {
    let mut owned = vec![0u64; ring.peers().len()];
    let mut key = String::with_capacity(24);
    for index in 0..keys {
        write_key_name(&mut key, index);
        if let Some(owner) = ring.owner_index(&key) {
            owned[owner] += 1;
        }
    }
    owned
}

/// Places `key0` .. `key{keys-1}` on both rings and counts the keys whose
/// owner changed, node by node. Nodes are matched by name.
pub fn key_moves(before: &HashRing, after: &HashRing, keys: u64) -> KeyMoves {
    let mut nodes: Vec<String> = before.peers().to_vec();
    for peer in after.peers() {
        if !nodes.contains(peer) {
            nodes.push(peer.clone());
        }
    }
    let slot: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(index, name)| (name.as_str(), index))
        .collect();
    let to_slots = |ring: &HashRing| -> Vec<usize> {
        ring.peers()
            .iter()
            .map(|peer| slot[peer.as_str()])
            .collect()
    };
    let (before_slots, after_slots) = (to_slots(before), to_slots(after));
    let count = nodes.len();
    let mut moves = KeyMoves {
        keys,
        moved: 0,
        nodes,
        before: vec![0; count],
        after: vec![0; count],
        lost: vec![0; count],
        gained: vec![0; count],
        ideal_share: 0.0,
    };
    let mut key = String::with_capacity(24);
    for index in 0..keys {
        write_key_name(&mut key, index);
        let old = before.owner_index(&key).map(|at| before_slots[at]);
        let new = after.owner_index(&key).map(|at| after_slots[at]);
        if let Some(old) = old {
            moves.before[old] += 1;
        }
        if let Some(new) = new {
            moves.after[new] += 1;
        }
        if old != new {
            moves.moved += 1;
            if let Some(old) = old {
                moves.lost[old] += 1;
            }
            if let Some(new) = new {
                moves.gained[new] += 1;
            }
        }
    }
    let on = |ring: &HashRing, name: &String| ring.peers().contains(name);
    let left_keys: u64 = (0..count)
        .filter(|&at| !on(after, &moves.nodes[at]))
        .map(|at| moves.before[at])
        .sum();
    let joined = moves.nodes.iter().filter(|name| !on(before, name)).count();
    let share = |part: f64, whole: f64| if whole > 0.0 { part / whole } else { 0.0 };
    moves.ideal_share =
        share(left_keys as f64, keys as f64) + share(joined as f64, after.peers().len() as f64);
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(names: &[&str], replicas: usize) -> HashRing {
        let mut ring = HashRing::new(replicas, HashKind::Xxh3);
        ring.add(names.iter().copied());
        ring
    }

    #[test]
    fn a_join_moves_keys_only_to_the_new_node() {
        let before = ring(&["a", "b", "c"], 200);
        let after = ring(&["a", "b", "c", "d"], 200);
        let moves = key_moves(&before, &after, 50_000);
        assert_eq!(moves.nodes, ["a", "b", "c", "d"]);
        assert_eq!(moves.gained[3], moves.moved);
        assert_eq!(moves.lost[3], 0);
        assert_eq!(moves.lost.iter().sum::<u64>(), moves.moved);
        assert_eq!(moves.after[3], moves.moved);
        assert_eq!(moves.before.iter().sum::<u64>(), 50_000);
        assert_eq!(moves.after.iter().sum::<u64>(), 50_000);
        assert_eq!(moves.ideal_share, 0.25);
        // About a quarter: the new node's share of four.
        assert!(
            (0.20..0.30).contains(&moves.moved_share()),
            "{}",
            moves.moved_share()
        );
    }

    #[test]
    fn a_leave_moves_exactly_the_leavers_keys() {
        let before = ring(&["a", "b", "c"], 50);
        let after = ring(&["a", "c"], 50);
        let moves = key_moves(&before, &after, 20_000);
        assert_eq!(moves.moved, moves.before[1]);
        assert_eq!(moves.lost[1], moves.moved);
        assert_eq!(moves.after[1], 0);
        assert_eq!(moves.gained[0] + moves.gained[2], moves.moved);
        assert_eq!(moves.ideal_share, moves.moved_share());
        let same = key_moves(&before, &before, 20_000);
        assert_eq!(same.moved, 0);
        assert_eq!(same.moved_share(), 0.0);
    }
}
