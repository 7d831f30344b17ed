//! How evenly a ring spreads the hash space and a key space over its nodes,
//! computed from the ring alone, without running load: the `ring` command.

use std::fmt::Write as _;

use serde::Serialize;

use crate::analysis::grid::in_parallel;
use crate::geecache::HashKind;
use crate::harness::ownership::{key_moves, keys_owned, RingShape};
use crate::intervals::max_over_mean;
use crate::table::align;

/// One node's part of a ring.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeShare {
    /// The node's name on the ring.
    pub name: String,
    /// Its share of the hash space.
    pub ring_share: f64,
    /// Keys of the key space it owns.
    pub keys: u64,
    /// `keys` over the key space.
    pub key_share: f64,
}

/// How one ring spreads the load.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RingReport {
    /// The ring.
    #[serde(flatten)]
    pub config: RingShape,
    /// Keys placed: `key0` .. `key{keys-1}`.
    pub keys: u64,
    /// Distinct points on the ring (fewer than nodes x replicas on collisions).
    pub points: usize,
    /// The largest ring share over the mean (1.0 is perfectly even).
    pub ring_imbalance: f64,
    /// The largest key count over the mean.
    pub key_imbalance: f64,
    /// The smallest and largest ring shares.
    pub ring_share_min: f64,
    /// The largest ring share.
    pub ring_share_max: f64,
    /// Each node.
    pub per_node: Vec<NodeShare>,
}

/// Builds the ring a run would build and places `keys` keys on it.
pub(crate) fn analyse(config: RingShape, keys: u64) -> RingReport {
    let ring = config.build();
    let names: Vec<String> = ring.peers().to_vec();
    let owned = keys_owned(&ring, keys);
    let shares = ring.shares();
    let per_node: Vec<NodeShare> = names
        .into_iter()
        .zip(shares.iter().zip(&owned))
        .map(|(name, (&ring_share, &keys_owned))| NodeShare {
            name,
            ring_share,
            keys: keys_owned,
            key_share: if keys > 0 {
                keys_owned as f64 / keys as f64
            } else {
                0.0
            },
        })
        .collect();
    let counts: Vec<f64> = owned.iter().map(|&count| count as f64).collect();
    RingReport {
        config,
        keys,
        points: ring.points(),
        ring_imbalance: max_over_mean(&shares),
        key_imbalance: max_over_mean(&counts),
        ring_share_min: shares.iter().copied().fold(f64::MAX, f64::min),
        ring_share_max: shares.iter().copied().fold(f64::MIN, f64::max),
        per_node,
    }
}

/// Every combination of `nodes`, hashes and `replicas`, in that order.
pub fn configs(nodes: &[u32], replicas: &[u32], hashes: &[HashKind]) -> Vec<RingShape> {
    let mut configs = Vec::new();
    for &nodes in nodes {
        for &hash in hashes {
            for &replicas in replicas {
                configs.push(RingShape {
                    nodes,
                    replicas,
                    hash,
                });
            }
        }
    }
    configs
}

/// Every combination of `nodes`, `replicas` and `hashes`, analysed on all
/// cores, in the order of [`configs`].
pub fn analyse_grid(
    nodes: &[u32],
    replicas: &[u32],
    hashes: &[HashKind],
    keys: u64,
) -> Vec<RingReport> {
    let configs = configs(nodes, replicas, hashes);
    in_parallel(configs.len(), |at| analyse(configs[at], keys))
}

/// A change of membership: nodes join a ring, or one leaves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// This many nodes join, named after the last ones.
    Join(usize),
    /// The node of this index leaves.
    Leave(usize),
}

/// One node's keys around a change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeMove {
    /// The node's name on the ring.
    pub name: String,
    /// Keys it owns before the change (0 for a node that joins).
    pub keys_before: u64,
    /// Keys it owns after (0 for a node that leaves).
    pub keys_after: u64,
    /// Moved keys that came from it.
    pub moved_from: u64,
    /// Moved keys that went to it.
    pub moved_to: u64,
}

/// What a change of membership does to one ring.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeReport {
    /// The ring before the change.
    #[serde(flatten)]
    pub config: RingShape,
    /// `join` or `leave`.
    pub change: &'static str,
    /// Nodes that join, or the index of the node that leaves.
    pub count_or_index: usize,
    /// Keys placed: `key0` .. `key{keys-1}`.
    pub keys: u64,
    /// Keys whose owner changed.
    pub moved_keys: u64,
    /// `moved_keys / keys`.
    pub moved_share: f64,
    /// The least a change can move: K/(n+K) for K nodes joining n, the
    /// leaver's key share for a leave.
    pub ideal_moved_share: f64,
    /// The largest key count over the mean, before the change.
    pub key_imbalance_before: f64,
    /// The same after it.
    pub key_imbalance_after: f64,
    /// Every node of either ring, before's first.
    pub per_node: Vec<NodeMove>,
}

/// Places `keys` keys on the ring of `config` and on the ring after `change`.
pub fn analyse_change(config: RingShape, change: Change, keys: u64) -> ChangeReport {
    let nodes = config.nodes as usize;
    let after: Vec<usize> = match change {
        Change::Join(count) => (0..nodes + count).collect(),
        Change::Leave(index) => (0..nodes).filter(|&at| at != index).collect(),
    };
    let moves = key_moves(&config.build(), &config.build_among(&after), keys);
    let (kind, count_or_index) = match change {
        Change::Join(count) => ("join", count),
        Change::Leave(index) => ("leave", index),
    };
    let imbalance = |owned: &[u64]| {
        let counts: Vec<f64> = owned
            .iter()
            .filter(|&&count| count > 0)
            .map(|&count| count as f64)
            .collect();
        max_over_mean(&counts)
    };
    let per_node = (0..moves.nodes.len())
        .map(|at| NodeMove {
            name: moves.nodes[at].clone(),
            keys_before: moves.before[at],
            keys_after: moves.after[at],
            moved_from: moves.lost[at],
            moved_to: moves.gained[at],
        })
        .collect();
    ChangeReport {
        config,
        change: kind,
        count_or_index,
        keys,
        moved_keys: moves.moved,
        moved_share: moves.moved_share(),
        ideal_moved_share: moves.ideal_share,
        key_imbalance_before: imbalance(&moves.before),
        key_imbalance_after: imbalance(&moves.after),
        per_node,
    }
}

/// [`analyse_change`] for every ring of `configs`, on all cores, in order.
pub fn analyse_changes(configs: &[RingShape], change: Change, keys: u64) -> Vec<ChangeReport> {
    in_parallel(configs.len(), |at| {
        analyse_change(configs[at], change, keys)
    })
}

/// A table with a row per ring and change; with `detail`, where each node's
/// keys went below it.
pub fn change_table(reports: &[ChangeReport], detail: bool) -> String {
    let mut out = String::new();
    if let Some(first) = reports.first() {
        let what = match first.change {
            "join" => format!("{} node(s) join", first.count_or_index),
            _ => format!("node {} leaves", first.count_or_index),
        };
        let _ = writeln!(
            out,
            "{what}; moved = keys whose owner changed, of {} keys; ideal = K/(n+K) for a join, \
             the leaver's key share for a leave; imbalance = largest / mean key count",
            first.keys
        );
    }
    let mut rows = vec![[
        "nodes",
        "replicas",
        "hash",
        "moved",
        "ideal",
        "moved/ideal",
        "imbalance before",
        "imbalance after",
    ]
    .map(str::to_owned)
    .to_vec()];
    let percent = |share: f64| format!("{:.2}%", share * 100.0);
    for report in reports {
        let config = report.config;
        rows.push(vec![
            config.nodes.to_string(),
            config.replicas.to_string(),
            config.hash.name().to_owned(),
            percent(report.moved_share),
            percent(report.ideal_moved_share),
            if report.ideal_moved_share > 0.0 {
                format!("{:.3}", report.moved_share / report.ideal_moved_share)
            } else {
                "-".to_owned()
            },
            format!("{:.3}", report.key_imbalance_before),
            format!("{:.3}", report.key_imbalance_after),
        ]);
    }
    let aligned = align(&rows, |column| column == 2);
    let mut lines = aligned.lines();
    if let Some(header) = lines.next() {
        let _ = writeln!(out, "{header}");
    }
    for (line, report) in lines.zip(reports) {
        let _ = writeln!(out, "{line}");
        if detail {
            for node in &report.per_node {
                let _ = writeln!(
                    out,
                    "       {:<24} keys {:>9} -> {:>9}  moved from it {:>9}, to it {:>9}",
                    node.name, node.keys_before, node.keys_after, node.moved_from, node.moved_to
                );
            }
        }
    }
    out
}

/// A table with a row per ring; with `detail`, each node's shares below it.
pub fn table(reports: &[RingReport], detail: bool) -> String {
    let mut out = String::new();
    let keys = reports.first().map_or(0, |report| report.keys);
    let _ = writeln!(
        out,
        "imbalance = largest / mean over the nodes (1.00 is even); {keys} keys key0..key{}",
        keys.saturating_sub(1)
    );
    let _ = writeln!(
        out,
        "{:>5}  {:>8}  {:<5}  {:>7}  {:>14}  {:>13}  {:>13}  {:>13}",
        "nodes",
        "replicas",
        "hash",
        "points",
        "ring imbalance",
        "key imbalance",
        "min share",
        "max share"
    );
    for report in reports {
        let config = report.config;
        let _ = writeln!(
            out,
            "{:>5}  {:>8}  {:<5}  {:>7}  {:>14.3}  {:>13.3}  {:>12.2}%  {:>12.2}%",
            config.nodes,
            config.replicas,
            config.hash.name(),
            report.points,
            report.ring_imbalance,
            report.key_imbalance,
            report.ring_share_min * 100.0,
            report.ring_share_max * 100.0,
        );
        if detail {
            for node in &report.per_node {
                let _ = writeln!(
                    out,
                    "       {:<24} ring {:>6.2}%  keys {:>9} ({:>6.2}%)",
                    node.name,
                    node.ring_share * 100.0,
                    node.keys,
                    node.key_share * 100.0
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_accounts_for_every_key_and_the_whole_ring() {
        let report = analyse(
            RingShape {
                nodes: 3,
                replicas: 50,
                hash: HashKind::Crc32,
            },
            10_000,
        );
        assert_eq!(
            report.per_node.iter().map(|node| node.keys).sum::<u64>(),
            10_000
        );
        let shares: f64 = report.per_node.iter().map(|node| node.ring_share).sum();
        assert!((shares - 1.0).abs() < 1e-9);
        assert!(report.key_imbalance >= 1.0 && report.ring_imbalance >= 1.0);
        assert_eq!(report.per_node[0].name, "http://localhost:8001");
        assert!(report.points <= 150);
    }

    #[test]
    fn more_replicas_even_out_xxh3_rings_but_not_crc32_ones() {
        // CRC-32 of the source document's "{i}{peer}" names clusters: the
        // virtual nodes of one peer differ only in a leading digit, and
        // CRC-32 is linear, so their points are not independent.
        let reports = analyse_grid(
            &[3, 8],
            &[10, 200, 1000],
            &[HashKind::Crc32, HashKind::Xxh3],
            200_000,
        );
        let imbalance = |nodes, replicas, hash| {
            reports
                .iter()
                .find(|report| {
                    report.config
                        == RingShape {
                            nodes,
                            replicas,
                            hash,
                        }
                })
                .map(|report| report.key_imbalance)
                .unwrap()
        };
        for nodes in [3, 8] {
            // CRC-32: 1000 replicas still leave a node 15% or more above the
            // mean, and 200 are worse than 10.
            assert!(
                imbalance(nodes, 1000, HashKind::Crc32) > 1.15,
                "{nodes} nodes"
            );
            assert!(imbalance(nodes, 200, HashKind::Crc32) > imbalance(nodes, 10, HashKind::Crc32));
            // XXH3: steadily better, and within 5% of even at 1000.
            assert!(imbalance(nodes, 1000, HashKind::Xxh3) < imbalance(nodes, 200, HashKind::Xxh3));
            assert!(imbalance(nodes, 200, HashKind::Xxh3) < imbalance(nodes, 10, HashKind::Xxh3));
            assert!(
                imbalance(nodes, 1000, HashKind::Xxh3) < 1.05,
                "{nodes} nodes"
            );
        }
    }

    #[test]
    fn a_leave_moves_exactly_the_leavers_keys_and_a_join_close_to_the_ideal() {
        let config = |nodes, replicas| RingShape {
            nodes,
            replicas,
            hash: HashKind::Xxh3,
        };
        let leave = analyse_change(config(3, 50), Change::Leave(1), 30_000);
        // Consistent hashing: only the leaver's keys move, so moved equals
        // the ideal to the key.
        assert_eq!(leave.moved_keys, leave.per_node[1].keys_before);
        assert_eq!(leave.moved_share, leave.ideal_moved_share);
        assert_eq!(leave.per_node[1].moved_from, leave.moved_keys);
        assert_eq!(
            leave.per_node[0].moved_to + leave.per_node[2].moved_to,
            leave.moved_keys
        );
        assert_eq!(leave.per_node[1].keys_after, 0);

        let join = analyse_change(config(3, 1000), Change::Join(1), 200_000);
        assert_eq!(join.ideal_moved_share, 0.25);
        assert_eq!(join.per_node.len(), 4);
        assert_eq!(join.per_node[3].moved_to, join.moved_keys);
        assert_eq!(join.per_node[3].keys_before, 0);
        assert_eq!(
            join.per_node
                .iter()
                .map(|node| node.moved_from)
                .sum::<u64>(),
            join.moved_keys
        );
        // 1000 XXH3 replicas: within 3% of a quarter.
        assert!(
            (join.moved_share - 0.25).abs() < 0.0075,
            "{}",
            join.moved_share
        );
        let two = analyse_change(config(8, 200), Change::Join(2), 100_000);
        assert_eq!(two.ideal_moved_share, 0.2);
        assert_eq!(two.per_node.len(), 10);
    }

    #[test]
    fn a_grid_comes_back_in_order() {
        let reports = analyse_grid(&[2, 3], &[1, 10], &[HashKind::Crc32, HashKind::Xxh3], 100);
        let configs: Vec<(u32, u32, HashKind)> = reports
            .iter()
            .map(|report| {
                (
                    report.config.nodes,
                    report.config.replicas,
                    report.config.hash,
                )
            })
            .collect();
        assert_eq!(configs.len(), 8);
        assert_eq!(configs[0], (2, 1, HashKind::Crc32));
        assert_eq!(configs[1], (2, 10, HashKind::Crc32));
        assert_eq!(configs[2], (2, 1, HashKind::Xxh3));
        assert_eq!(configs[7], (3, 10, HashKind::Xxh3));
    }
}
