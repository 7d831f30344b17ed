//! Whether a run's caches filled. A cache that never evicted anything held
//! every key it was given: its size made no difference to the run, and a
//! comparison of cache sizes that never filled compares nothing. When no
//! node evicted, this says how many requests would have filled the fullest
//! node's main cache, expected from the workload's key distribution and the
//! ring: after `n` requests key `i` (of probability `p_i`) has been asked
//! for with probability `1 - (1 - p_i)^n`, and each key a node owns costs
//! its cache `len(key) + value_size` bytes.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::harness::ownership::RingShape;
use crate::harness::slowdb::{key_name, write_key_name};
use crate::harness::trace::{Replay, TraceIndex};
use crate::harness::workload::{Distribution, Workload};

/// The most keys an estimate places on the ring (beyond, it is not made).
const MOST_KEYS: u64 = 1_000_000;

/// Whether the caches filled, and if not, what would fill them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheFill {
    /// Main-cache evictions on every node during the measurement.
    pub evictions: u64,
    /// When no node evicted: the requests since the cluster started,
    /// warm-up included, after which the fullest node's main cache is
    /// expected to be full; `null` when it is not (see `holds_every_key`)
    /// or there were evictions.
    pub requests_to_fill: Option<u64>,
    /// When no node evicted: whether every node's cache holds all the keys
    /// it owns, so that no number of requests fills it (an unbounded cache
    /// is one).
    pub holds_every_key: bool,
}

impl CacheFill {
    /// Whether the caches never filled: no node evicted anything.
    pub fn never_filled(&self) -> bool {
        self.evictions == 0
    }

    /// What a reader should know, in words; `None` when they filled.
    pub fn warning(&self, requests: u64) -> Option<String> {
        if !self.never_filled() {
            return None;
        }
        let mut text = "no node's main cache evicted anything, so its size made no \
                        difference to this run"
            .to_owned();
        if self.holds_every_key {
            text.push_str(
                ": each node's cache holds every key it owns; no number of requests fills it",
            );
        } else if let Some(fill) = self.requests_to_fill {
            let _ = write!(
                text,
                ": about {fill} requests (warm-up included; this run made {requests}) would fill \
                 the fullest node's cache"
            );
        }
        Some(text)
    }
}

/// How a run's caches filled, from its evictions and, when there were
/// none, its workload or the trace it replayed.
pub fn cache_fill(
    workload: &Workload,
    trace: Option<&Arc<TraceIndex>>,
    evictions: u64,
) -> CacheFill {
    if evictions > 0 {
        return CacheFill {
            evictions,
            requests_to_fill: None,
            holds_every_key: false,
        };
    }
    let estimate = match trace {
        Some(index) => trace_requests_to_fill(workload, index),
        None => requests_to_fill(workload),
    };
    CacheFill {
        evictions,
        requests_to_fill: estimate.flatten(),
        holds_every_key: estimate == Some(None),
    }
}

/// For a trace, exactly: the request (from the trace's first read,
/// warm-up included) whose key first takes a node's main cache past its
/// size, each key costing `len(key) + size` once it has been read;
/// `Some(None)` when no node's cache can fill, `None` when the trace cannot
/// be read again.
pub fn trace_requests_to_fill(workload: &Workload, index: &Arc<TraceIndex>) -> Option<Option<u64>> {
    let cluster = &workload.cluster;
    let capacity = cluster.cache_bytes.0;
    if capacity == 0 {
        return Some(None);
    }
    let ring = RingShape::of(workload).build();
    let owners: Vec<usize> = (0..index.sizes.len())
        .map(|key| ring.owner_index(&key_name(key as u64)).unwrap_or(0))
        .collect();
    let cost = |key: usize| key_name(key as u64).len() as u64 + u64::from(index.sizes[key]);
    let mut all = vec![0u64; cluster.nodes as usize];
    for (key, &owner) in owners.iter().enumerate() {
        all[owner] += cost(key);
    }
    if all.iter().all(|&bytes| bytes <= capacity) {
        return Some(None);
    }
    let mut replay = Replay::start(index).ok()?;
    let mut seen = vec![false; owners.len()];
    let mut held = vec![0u64; all.len()];
    let mut request = 0u64;
    while let Some(key) = replay.next_key().ok()? {
        request += 1;
        let key = key as usize;
        if !std::mem::replace(&mut seen[key], true) {
            held[owners[key]] += cost(key);
            if held[owners[key]] > capacity {
                return Some(Some(request));
            }
        }
    }
    Some(None)
}

/// The requests after which the fullest node's main cache is expected to
/// be full: `Some(None)` when no node's cache can fill (it holds all its
/// keys), `None` when not estimated (too many keys, no ring).
pub fn requests_to_fill(workload: &Workload) -> Option<Option<u64>> {
    let cluster = &workload.cluster;
    let capacity = cluster.cache_bytes.0 as f64;
    if capacity <= 0.0 {
        return Some(None);
    }
    let keys = workload.keys;
    if keys == 0 || keys > MOST_KEYS {
        return None;
    }
    let ring = RingShape::of(workload).build();
    let weights: Vec<f64> = match workload.distribution {
        Distribution::Zipf { exponent } => (1..=keys)
            .map(|rank| (rank as f64).powf(-exponent))
            .collect(),
        Distribution::Uniform => vec![1.0; keys as usize],
    };
    let total: f64 = weights.iter().sum();
    // Each key: its owner, its probability and its cost in bytes.
    let mut name = String::with_capacity(24);
    let entries: Vec<(usize, f64, f64)> = weights
        .iter()
        .enumerate()
        .filter_map(|(index, weight)| {
            write_key_name(&mut name, index as u64);
            let owner = ring.owner_index(&name)?;
            Some((
                owner,
                weight / total,
                (name.len() as u64 + workload.value_size) as f64,
            ))
        })
        .collect();
    let nodes = cluster.nodes as usize;
    // The bytes each node's cache is expected to hold after `n` requests.
    let fullest = |n: f64| -> f64 {
        let mut held = vec![0.0f64; nodes];
        for &(owner, p, bytes) in &entries {
            held[owner] += bytes * -(n * (-p).ln_1p()).exp_m1();
        }
        held.into_iter().fold(0.0, f64::max)
    };
    let mut all = vec![0.0f64; nodes];
    for &(owner, _, bytes) in &entries {
        all[owner] += bytes;
    }
    if all.iter().all(|&bytes| bytes <= capacity) {
        return Some(None);
    }
    // Bisect on the logarithm of the request count.
    let (mut low, mut high) = (0.0f64, 1.0f64);
    while fullest(high.exp()) <= capacity {
        low = high;
        high *= 2.0;
        if high > 60.0 {
            return Some(None);
        }
    }
    for _ in 0..40 {
        let middle = (low + high) / 2.0;
        if fullest(middle.exp()) <= capacity {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(Some(high.exp().ceil() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::ByteSize;

    fn workload(keys: u64, distribution: &str, cache: &str) -> Workload {
        let text = format!(
            r#"{{ "keys": {keys}, "value_size": 100, "distribution": {distribution},
                 "cluster": {{ "nodes": 1, "cache_bytes": "{cache}" }} }}"#
        );
        crate::harness::workload::parse(&text, "test", "test").unwrap()
    }

    #[test]
    fn a_uniform_key_space_fills_as_the_coupon_collector_says() {
        // 1000 keys of about 106 bytes on one node; a cache of half of
        // them: n with 1000 (1 - (1 - 1/1000)^n) keys' bytes = the cache.
        let uniform = workload(1000, r#"{ "kind": "uniform" }"#, "53000");
        let fill = requests_to_fill(&uniform).unwrap().unwrap();
        let bytes_per_key: f64 = (0..1000)
            .map(|index| key_name(index).len() as f64 + 100.0)
            .sum::<f64>()
            / 1000.0;
        let share = 53_000.0 / bytes_per_key / 1000.0;
        let expected = (1.0 - share).ln() / (1.0 - 1.0 / 1000.0f64).ln();
        assert!(
            (fill as f64 / expected - 1.0).abs() < 0.01,
            "{fill} against {expected}"
        );
        // A cache that holds every key never fills.
        let roomy = workload(1000, r#"{ "kind": "uniform" }"#, "1MiB");
        assert_eq!(requests_to_fill(&roomy), Some(None));
        let unbounded = workload(1000, r#"{ "kind": "uniform" }"#, "0");
        assert_eq!(requests_to_fill(&unbounded), Some(None));
        assert_eq!(unbounded.cluster.cache_bytes, ByteSize(0));
    }

    #[test]
    fn a_steeper_distribution_takes_more_requests_to_fill() {
        let zipf = |exponent: f64| {
            workload(
                100_000,
                &format!(r#"{{ "kind": "zipf", "exponent": {exponent} }}"#),
                "1MiB",
            )
        };
        let gentle = requests_to_fill(&zipf(0.6)).unwrap().unwrap();
        let steep = requests_to_fill(&zipf(1.0)).unwrap().unwrap();
        assert!(gentle < steep, "{gentle} {steep}");
        // What the run says with and without evictions.
        let fill = cache_fill(&zipf(1.0), None, 0);
        assert_eq!(fill.requests_to_fill, Some(steep));
        let text = fill.warning(1000).unwrap();
        assert!(text.contains(&format!("about {steep} requests")), "{text}");
        assert_eq!(cache_fill(&zipf(1.0), None, 5).warning(1000), None);
        let roomy = cache_fill(&workload(1000, r#"{ "kind": "uniform" }"#, "1MiB"), None, 0);
        assert!(roomy.holds_every_key);
        assert!(roomy
            .warning(1)
            .unwrap()
            .contains("no number of requests fills it"));
    }
}
