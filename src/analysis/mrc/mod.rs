//! Every cache size at once: the miss-ratio curve of each node's main cache
//! and of the cluster, from one pass over a workload's or a trace's keys.
//!
//! In a GeeCache cluster each node's main cache sees only the keys the
//! ring gives it (the API node forwards the others to their owners), so
//! each node's curve comes from its own sub-stream, and the cluster's
//! slow-store loads at a per-node size are the sum of the nodes' misses
//! there. A request's distance is its LRU stack distance in bytes as the
//! cache counts them (key and value, `stack`): it hits in every cache of
//! at least that many bytes. Keys the store does not have are never cached
//! and miss at every size.
//!
//! The curve is exact for what [`crate::analysis::simulate`] models with
//! one request in flight and no hot cache and no events: the tests check
//! it against the model at many sizes, and against deterministic runs. The
//! hot cache and a scenario's events change what a node's cache sees over
//! time, and are refused.
//!
//! The keys stream through once, drawn as a run draws them or read from
//! the trace, never held: memory goes with the key space (a few bytes a
//! key) and the keys followed. SHARDS (Waldspurger et al., FAST'15)
//! follows only the keys whose hash falls under a threshold, at a fixed
//! rate or lowered to keep a fixed number of keys, and scales distances
//! and counts by the rate.
//!
//! Its modules: `stack` (the distances), `histogram` (distances
//! counted in bounded memory), `pass` (the one pass over the keys) and
//! `render` (the table, CSV and chart).

use serde::Serialize;

use crate::analysis::simulate::SimulateError;
use crate::harness::ownership::RingShape;
use crate::harness::workload::Workload;

use crate::analysis::simulate::model::trace_of;

pub(crate) mod histogram;
mod pass;
mod render;
mod stack;

use histogram::{representable, representable_above, Distances};
pub use render::{csv, panel, table};
pub use stack::StackDistances;

/// Why a curve cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum MrcError {
    /// The hot cache: a node's caches then see other nodes' keys too.
    #[error(
        "the hot cache keeps some peers' values on the API node, so a node's cache no \
         longer sees only its own keys: the curve models main caches alone (--hot-cache off)"
    )]
    HotCache,
    /// A workload with events, which change who sees which keys mid-run.
    #[error(
        "the workload has {0} events: a node that stops, joins or leaves changes which \
         cache sees which keys mid-run, which one curve cannot show; simulate models them"
    )]
    Events(usize),
    /// The keys could not be drawn or read.
    #[error(transparent)]
    Keys(#[from] SimulateError),
}

/// How much of the key space the curve follows.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sampling {
    /// Every key: exact.
    Exact,
    /// SHARDS at a fixed rate: the keys whose hash falls in this share of
    /// the range, distances scaled up by its inverse.
    Rate {
        /// The share, above 0, at most 1.
        rate: f64,
    },
    /// SHARDS in fixed memory: at most this many keys, the rate lowered
    /// (dropping the keys of the highest hashes) whenever more come.
    Keys {
        /// The most keys followed.
        keys: usize,
    },
}

/// One node's measured accesses by distance, each weighed by the inverse
/// of the sampling rate when it was seen (1 when exact).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeCurve {
    /// Measured requests whose key the node owns.
    pub requests: u64,
    /// Their bytes, as the cache counts them.
    pub bytes: u64,
    /// The weight of sampled requests that miss at every size (a key's
    /// first use since the cluster started, warm-up included, or a key the
    /// store lacks), and of their bytes.
    cold: (f64, f64),
    /// The weights and bytes of the other sampled requests, by distance.
    distances: Distances,
    /// The bytes of every key the node owns and was asked for: a cache of
    /// this size holds them all.
    pub footprint: u64,
}

impl NodeCurve {
    fn new(sizes: &[u64]) -> NodeCurve {
        NodeCurve {
            requests: 0,
            bytes: 0,
            cold: (0.0, 0.0),
            distances: Distances::new(sizes),
            footprint: 0,
        }
    }

    /// Misses (slow-store loads) and their bytes in a cache of `cache`
    /// bytes (0: unbounded): exact counts, or estimates from the sample.
    pub fn misses_at(&self, cache: u64) -> (f64, f64) {
        // Sampled, each miss stands for 1/rate requests: against the
        // node's real requests, as SHARDS_adj counts (the sample's surplus
        // or shortfall of requests goes to the hits).
        let (weight, bytes) = if cache == 0 {
            (0.0, 0.0)
        } else {
            self.distances.above(cache)
        };
        (self.cold.0 + weight, self.cold.1 + bytes)
    }
}

/// The curves of every node of a ring.
#[derive(Clone, Debug, PartialEq)]
pub struct Curves {
    /// The ring.
    pub ring: RingShape,
    /// How the keys were sampled.
    pub sampling: Sampling,
    /// Measured requests in all.
    pub requests: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Warm-up requests that ran before them.
    pub warmup: u64,
    /// Keys followed when the pass ended, and the sampling rate then.
    pub followed: (u64, f64),
    /// By node.
    pub nodes: Vec<NodeCurve>,
}

/// The curves at one per-node cache size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizePoint {
    /// Each node's main cache, in bytes.
    pub cache_bytes: u64,
    /// Each node's miss ratio (misses over the requests it owned).
    pub node_miss_ratio: Vec<f64>,
    /// Each node's misses: its slow-store loads (estimated when sampled).
    pub node_loads: Vec<u64>,
    /// Slow-store loads of the cluster.
    pub loads: u64,
    /// Loads per measured request: the cluster's miss ratio.
    pub miss_ratio: f64,
    /// Bytes missed over bytes asked for.
    pub byte_miss_ratio: f64,
}

impl Curves {
    /// The curves at a per-node cache of `cache` bytes.
    pub fn at(&self, cache: u64) -> SizePoint {
        let misses: Vec<(f64, f64)> = self
            .nodes
            .iter()
            .map(|node| node.misses_at(cache))
            .collect();
        let loads: f64 = misses.iter().map(|miss| miss.0).sum();
        let missed_bytes: f64 = misses.iter().map(|miss| miss.1).sum();
        SizePoint {
            cache_bytes: cache,
            node_miss_ratio: self
                .nodes
                .iter()
                .zip(&misses)
                .map(|(node, miss)| ratio_of(miss.0, node.requests as f64))
                .collect(),
            node_loads: misses.iter().map(|miss| miss.0.round() as u64).collect(),
            loads: loads.round() as u64,
            miss_ratio: ratio_of(loads, self.requests as f64),
            byte_miss_ratio: ratio_of(missed_bytes, self.bytes as f64),
        }
    }

    /// The largest node's footprint: from this size up, nothing but cold
    /// misses.
    pub fn footprint(&self) -> u64 {
        self.nodes
            .iter()
            .map(|node| node.footprint)
            .max()
            .unwrap_or(0)
    }

    /// Sizes to show a curve at: `steps` a doubling from 1 KiB up to the
    /// largest footprint, that footprint (each rounded to a size the
    /// histogram counts exactly, the footprint up), and `extra`, which the
    /// pass was asked to count exactly.
    pub fn sizes(&self, steps: u32, extra: &[u64]) -> Vec<u64> {
        let top = representable_above(self.footprint().max(1024));
        let mut sizes = Vec::new();
        let mut at = 0u32;
        loop {
            let size = (1024.0 * 2f64.powf(f64::from(at) / f64::from(steps.max(1)))).round() as u64;
            if size >= top {
                break;
            }
            sizes.push(representable(size));
            at += 1;
        }
        sizes.push(top);
        sizes.extend_from_slice(extra);
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }

    /// The mean absolute difference of the cluster's miss ratio from
    /// `exact`'s, over `sizes`.
    pub fn mean_absolute_error(&self, exact: &Curves, sizes: &[u64]) -> f64 {
        let total: f64 = sizes
            .iter()
            .map(|&size| (self.at(size).miss_ratio - exact.at(size).miss_ratio).abs())
            .sum();
        total / sizes.len().max(1) as f64
    }
}

fn ratio_of(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        0.0
    } else {
        part / whole
    }
}

/// The curves of `workload`'s keys (its trace's, when it has one) on
/// `ring`, following `sampling` of them: warm-up requests first, uncounted,
/// then the measured ones, streamed, never held.
pub fn curves(
    workload: &Workload,
    ring: RingShape,
    sampling: Sampling,
    exact_at: &[u64],
) -> Result<Curves, MrcError> {
    if workload.cluster.hot_cache {
        return Err(MrcError::HotCache);
    }
    if !workload.events.is_empty() {
        return Err(MrcError::Events(workload.events.len()));
    }
    let measured =
        crate::analysis::simulate::predict::request_count(workload).map_err(MrcError::Keys)?;
    let trace = match &workload.trace {
        Some(_) => Some(trace_of(workload)?),
        None => None,
    };
    pass::run(workload, ring, sampling, exact_at, measured, trace.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::grid::Grid;
    use crate::analysis::simulate::simulate;
    use crate::geecache::HashKind;
    use crate::harness::trace::oracle_general_record;
    use crate::harness::workload::parse;
    use crate::units::ByteSize;

    /// Every node's loads on the curve equal the model's at each size.
    fn agrees_with_the_model(workload: &Workload, sizes: &[u64]) {
        let ring = RingShape::of(workload);
        let curves = curves(workload, ring, Sampling::Exact, sizes).unwrap();
        let grid = Grid {
            nodes: vec![ring.nodes],
            hashes: vec![ring.hash],
            replicas: vec![ring.replicas],
            cache_bytes: sizes.iter().map(|&size| ByteSize(size)).collect(),
        };
        let predictions = simulate(workload, &grid, None).unwrap();
        assert_eq!(predictions.len(), sizes.len());
        let mut distinct = std::collections::BTreeSet::new();
        for prediction in &predictions {
            let size = prediction.point.cache_bytes.0;
            let point = curves.at(size);
            assert_eq!(point.node_loads, prediction.slowdb_loads, "{size} bytes");
            assert_eq!(point.loads, prediction.slowdb_loads.iter().sum::<u64>());
            distinct.insert(point.loads);
        }
        // The sizes span the curve: it is not flat across them.
        assert!(distinct.len() >= sizes.len() / 2, "{distinct:?}");
    }

    #[test]
    fn the_curve_equals_the_model_at_every_size_for_a_workload() {
        let workload = parse(
            r#"{"keys": 3000, "distribution": {"kind": "zipf", "exponent": 0.9},
                "requests": 20000, "warmup_requests": 2000, "value_size": 150,
                "slowdb": {"missing_share": 0.05}, "cluster": {"nodes": 4, "replicas": 20}}"#,
            "test",
            "mrc",
        )
        .unwrap();
        let sizes: Vec<u64> = (0..12).map(|step| 2048u64 << step).collect();
        agrees_with_the_model(&workload, &sizes);
        // Unbounded, or as large as the largest node's keys: cold misses
        // alone.
        let ring = RingShape {
            nodes: 4,
            replicas: 20,
            hash: HashKind::Crc32,
        };
        let curves = curves(&workload, ring, Sampling::Exact, &[]).unwrap();
        assert_eq!(curves.at(0).loads, curves.at(curves.footprint()).loads);
        assert!(curves.at(0).loads < curves.at(1024).loads);
    }

    #[test]
    fn the_curve_equals_the_model_for_a_trace_with_its_sizes() {
        let dir = std::env::temp_dir().join(format!("mrc-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.oracleGeneral");
        let mut state = 9u64;
        let mut bytes = Vec::new();
        for time in 0..30_000u32 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(7);
            let id = ((state >> 33) % 1_000_000).pow(2) / 1_000_000_000;
            bytes.extend_from_slice(&oracle_general_record(time, id, 20 + (id % 3000) as u32));
        }
        std::fs::write(&path, bytes).unwrap();
        let mut workload = parse(
            &format!(
                r#"{{"trace": {{"path": "{}"}}, "warmup_requests": 3000,
                    "cluster": {{"nodes": 3}}}}"#,
                path.display()
            ),
            "test",
            "mrc-trace",
        )
        .unwrap();
        workload.scan_trace("test").unwrap();
        let sizes: Vec<u64> = (0..11).map(|step| 8192u64 << step).collect();
        agrees_with_the_model(&workload, &sizes);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn what_the_curve_does_not_model_is_refused() {
        let hot = parse(r#"{"cluster": {"hot_cache": true}}"#, "test", "hot").unwrap();
        let ring = RingShape {
            nodes: 3,
            replicas: 50,
            hash: HashKind::Crc32,
        };
        let error = curves(&hot, ring, Sampling::Exact, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("hot cache"), "{error}");
        let events = parse(
            r#"{"duration": "2s", "events": [{"at": "1s", "action": "add_node"}]}"#,
            "test",
            "events",
        )
        .unwrap();
        let error = curves(&events, ring, Sampling::Exact, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("1 events"), "{error}");
    }

    #[test]
    fn shards_stays_within_a_hundredth_of_the_exact_curve_at_one_percent() {
        // 10,000,000 requests over 2,000,000 keys (Zipf 0.8), 3 nodes.
        let workload = parse(
            r#"{"keys": 2000000, "distribution": {"kind": "zipf", "exponent": 0.8},
                "requests": 10000000, "warmup_requests": 0, "value_size": 100,
                "slowdb": {"latency": {"kind": "none"}}}"#,
            "test",
            "shards",
        )
        .unwrap();
        let ring = RingShape {
            nodes: 3,
            replicas: 50,
            hash: HashKind::Crc32,
        };
        let exact = curves(&workload, ring, Sampling::Exact, &[]).unwrap();
        // 100 sizes evenly up to the largest node's footprint, as SHARDS
        // measures its error. Below about 100 KiB a node (some hundreds of
        // keys, a few of them sampled) a hot key in or out of the sample
        // moves the curve by up to 0.09: the log grid's error is larger.
        let top = exact.footprint();
        let sizes: Vec<u64> = (1..=100).map(|step| top * step / 100).collect();
        let log_grid = exact.sizes(4, &[]);
        let small: Vec<u64> = log_grid
            .iter()
            .copied()
            .filter(|&size| size < 128 << 10)
            .collect();
        let large: Vec<u64> = log_grid
            .iter()
            .copied()
            .filter(|&size| size >= 128 << 10)
            .collect();
        let by_rate = curves(&workload, ring, Sampling::Rate { rate: 0.01 }, &[]).unwrap();
        let error = by_rate.mean_absolute_error(&exact, &sizes);
        assert!(error <= 0.01, "fixed rate: {error}");
        let error = by_rate.mean_absolute_error(&exact, &large);
        assert!(error <= 0.01, "fixed rate, log grid from 128 KiB: {error}");
        let error = by_rate.mean_absolute_error(&exact, &small);
        assert!(error <= 0.1, "fixed rate, log grid below 128 KiB: {error}");
        // About 1% of the keys followed.
        assert!(
            (15_000..25_000).contains(&by_rate.followed.0),
            "{:?}",
            by_rate.followed
        );
        let by_keys = curves(&workload, ring, Sampling::Keys { keys: 16_000 }, &[]).unwrap();
        let error = by_keys.mean_absolute_error(&exact, &sizes);
        eprintln!(
            "mean absolute error: fixed rate {:.4} (log grid {:.4} from 128 KiB, {:.4} below), fixed size {error:.4}",
            by_rate.mean_absolute_error(&exact, &sizes),
            by_rate.mean_absolute_error(&exact, &large),
            by_rate.mean_absolute_error(&exact, &small),
        );
        assert!(error <= 0.01, "fixed size: {error}");
        assert!(by_keys.followed.0 <= 16_000, "{:?}", by_keys.followed);
        assert!(by_keys.followed.1 < 0.02, "{:?}", by_keys.followed);
    }

    #[test]
    fn the_default_workload_fills_its_caches_and_a_bigger_cache_shows() {
        // The README's first command runs the built-in zipf: its caches
        // must evict, and a cache four times as large must save loads a
        // reader sees, or the first run compares nothing.
        let workload = crate::harness::workload::load("zipf").unwrap().workload;
        let size = workload.cluster.cache_bytes.0;
        let curves = curves(&workload, RingShape::of(&workload), Sampling::Exact, &[]).unwrap();
        let requests = curves.requests as f64;
        let (at, larger, unbounded) = (curves.at(size), curves.at(size * 4), curves.at(0));
        // Loads beyond every key's first: what the cache size decides.
        let repeats = (at.loads - unbounded.loads) as f64 / requests;
        assert!(repeats > 0.1, "{repeats}: the caches barely evict");
        assert!(
            at.miss_ratio - larger.miss_ratio > 0.08,
            "{} at {size} against {} at 4x",
            at.miss_ratio,
            larger.miss_ratio
        );
        // Every node's cache fills, so none warns.
        assert!(at.node_miss_ratio.iter().all(|&miss| miss > 0.2));
        let fill = crate::harness::fill::requests_to_fill(&workload).unwrap();
        let sent = workload.requests.unwrap() + workload.warmup_requests;
        assert!(fill.is_some_and(|fill| fill < sent), "{fill:?} {sent}");
    }
}
