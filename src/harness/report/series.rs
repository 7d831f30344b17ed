//! The result's series: interval by interval, what the driver saw and what
//! the cluster did, from two readings of every node's counters.

use serde::{Deserialize, Serialize};

use crate::geecache::stats::{CacheStats, GroupStatsSnapshot};
use crate::harness::driver::ClientInterval;

/// One interval of the measurement: what the driver saw and, where the
/// nodes' counters could be read, what the cluster did. The driver's
/// interval boundaries are the cluster's: the run reads every counter at
/// each interval's end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalFigures {
    /// The driver's figures.
    #[serde(flatten)]
    pub client: ClientInterval,
    /// The cluster's; absent when no node's counters could be read.
    #[serde(flatten)]
    pub cluster: Option<ClusterInterval>,
}

/// What the cluster did in one interval, over every node it could read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInterval {
    /// Cache hits on the API node (`null` when it could not be read).
    pub api_hits: Option<u64>,
    /// The API node's hits over its gets.
    pub api_hit_ratio: Option<f64>,
    /// Successful fetches from peers, every node together.
    pub peer_fetches: u64,
    /// Failed fetches from peers (the node then loaded locally).
    pub peer_errors: u64,
    /// Slow-store loads, failed ones included.
    pub slowdb_loads: u64,
    /// Slow-store loads that failed (missing keys, a brownout's errors).
    pub slowdb_load_errors: u64,
    /// Entries the main caches evicted.
    pub evictions: u64,
    /// Each node, in node order; `null` for a node that could not be read.
    pub nodes: Vec<Option<NodeInterval>>,
}

/// What one node did in one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInterval {
    /// Gets, from the API and from peers.
    pub gets: u64,
    /// Main and hot cache hits.
    pub cache_hits: u64,
    /// Successful fetches from peers.
    pub peer_fetches: u64,
    /// Failed fetches from peers.
    pub peer_errors: u64,
    /// Slow-store loads, failed ones included.
    pub slowdb_loads: u64,
    /// Slow-store loads that failed.
    pub slowdb_load_errors: u64,
    /// Main-cache evictions.
    pub evictions: u64,
}

/// One node's counters at one moment: its group's and its main cache's.
pub type NodeCounters = Option<(GroupStatsSnapshot, CacheStats)>;

impl ClusterInterval {
    /// What happened between two readings of every node's counters.
    /// `api` is the API node's index; `db_loads`, the slow store's loads
    /// per node at both ends where the run owns the store (else the
    /// groups' local loads count). `None` when no node could be read.
    pub fn between(
        before: &[NodeCounters],
        after: &[NodeCounters],
        api: Option<usize>,
        db_loads: Option<(&[u64], &[u64])>,
    ) -> Option<ClusterInterval> {
        let nodes: Vec<Option<NodeInterval>> = after
            .iter()
            .enumerate()
            .map(|(index, now)| {
                // A node that joined in the interval has no reading before;
                // one that could not be read then has no figures now.
                let (now, then) = match before.get(index) {
                    None => (now.as_ref()?, None),
                    Some(then) => (now.as_ref()?, Some(then.as_ref()?)),
                };
                let (stats, cache) = match then {
                    Some((stats, cache)) => (now.0.since(stats), now.1.since(cache)),
                    None => (now.0, now.1),
                };
                let slowdb_loads = match db_loads {
                    Some((then, now)) => now
                        .get(index)
                        .copied()
                        .unwrap_or(0)
                        .saturating_sub(then.get(index).copied().unwrap_or(0)),
                    None => stats.local_loads + stats.local_load_errs,
                };
                Some(NodeInterval {
                    gets: stats.gets,
                    cache_hits: stats.cache_hits,
                    peer_fetches: stats.peer_loads,
                    peer_errors: stats.peer_errors,
                    slowdb_loads,
                    slowdb_load_errors: stats.local_load_errs,
                    evictions: cache.evictions,
                })
            })
            .collect();
        if nodes.iter().all(Option::is_none) {
            return None;
        }
        let sum = |field: fn(&NodeInterval) -> u64| nodes.iter().flatten().map(field).sum();
        let api_node = api.and_then(|index| nodes.get(index).copied().flatten());
        Some(ClusterInterval {
            api_hits: api_node.map(|node| node.cache_hits),
            // The counters are read one by one while requests run, so an
            // interval can count a hit whose get fell in the one before:
            // the ratio is capped at 1.
            api_hit_ratio: api_node
                .filter(|node| node.gets > 0)
                .map(|node| node.cache_hits.min(node.gets) as f64 / node.gets as f64),
            peer_fetches: sum(|node| node.peer_fetches),
            peer_errors: sum(|node| node.peer_errors),
            slowdb_loads: sum(|node| node.slowdb_loads),
            slowdb_load_errors: sum(|node| node.slowdb_load_errors),
            evictions: sum(|node| node.evictions),
            nodes,
        })
    }
}
