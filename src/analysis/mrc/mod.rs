//! Every cache size at once: the miss-ratio curve of each node's main cache
//! and of the cluster, from one pass over a workload's or a trace's keys.
//!
//! In a GeeCache cluster each node's main cache sees only the keys the
//! ring gives it (the API node forwards the others to their owners), so
//! each node's curve comes from its own sub-stream, and the cluster's
//! slow-store loads at a per-node size are the sum of the nodes' misses
//! there. A request's distance is its LRU stack distance in bytes as the
//! cache counts them (key and value, [`stack`]): it hits in every cache of
//! at least that many bytes. Keys the store does not have are never cached
//! and miss at every size.
//!
//! The model is exact for what [`crate::analysis::simulate`] models with
//! one request in flight and no hot cache and no events: the tests check
//! the curve against it at many sizes. The hot cache and a scenario's
//! events change what a node's cache sees over time, and are refused.

use serde::Serialize;

use crate::analysis::simulate::{KeySequence, SimulateError};
use crate::geecache::HashKind;
use crate::harness::workload::{Bound, Workload};
use crate::units::ByteSize;

pub mod stack;

pub use stack::StackDistances;

/// Why a curve cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum MrcError {
    /// What the curve does not model.
    #[error("{0}")]
    Unsupported(String),
    /// The keys could not be drawn or read.
    #[error(transparent)]
    Keys(#[from] SimulateError),
}

/// The ring the curve is for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ring {
    /// Nodes.
    pub nodes: u32,
    /// Virtual nodes per node.
    pub replicas: u32,
    /// The ring's hash.
    pub hash: HashKind,
}

/// One node's measured accesses by distance.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeCurve {
    /// Measured requests whose key the node owns.
    pub requests: u64,
    /// Their bytes, as the cache counts them.
    pub bytes: u64,
    /// Requests that miss at every size: a key's first use since the
    /// cluster started (warm-up included), or a key the store lacks.
    pub cold: u64,
    /// Their bytes.
    pub cold_bytes: u64,
    /// (distance, bytes) of every other request, by distance.
    distances: Vec<(u64, u64)>,
    /// Bytes of the distances' requests from each to the end, for byte
    /// misses by binary search.
    bytes_from: Vec<u64>,
    /// The bytes of every key the node owns and was asked for: a cache of
    /// this size holds them all.
    pub footprint: u64,
}

impl NodeCurve {
    /// Misses (slow-store loads) and their bytes in a cache of `cache`
    /// bytes (0: unbounded).
    pub fn misses_at(&self, cache: u64) -> (u64, u64) {
        if cache == 0 {
            return (self.cold, self.cold_bytes);
        }
        let first_miss = self
            .distances
            .partition_point(|&(distance, _)| distance <= cache);
        let misses = (self.distances.len() - first_miss) as u64;
        let bytes = self.bytes_from.get(first_miss).copied().unwrap_or(0);
        (self.cold + misses, self.cold_bytes + bytes)
    }
}

/// The curves of every node of a ring.
#[derive(Clone, Debug, PartialEq)]
pub struct Curves {
    /// The ring.
    pub ring: Ring,
    /// Measured requests in all.
    pub requests: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Warm-up requests that ran before them.
    pub warmup: u64,
    /// By node.
    pub nodes: Vec<NodeCurve>,
}

/// The curves at one per-node cache size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Each node's main cache, in bytes.
    pub cache_bytes: u64,
    /// Each node's miss ratio (misses over the requests it owned).
    pub node_miss_ratio: Vec<f64>,
    /// Each node's misses: its slow-store loads.
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
    pub fn at(&self, cache: u64) -> Point {
        let misses: Vec<(u64, u64)> = self
            .nodes
            .iter()
            .map(|node| node.misses_at(cache))
            .collect();
        let loads = misses.iter().map(|miss| miss.0).sum();
        let missed_bytes: u64 = misses.iter().map(|miss| miss.1).sum();
        Point {
            cache_bytes: cache,
            node_miss_ratio: self
                .nodes
                .iter()
                .zip(&misses)
                .map(|(node, miss)| ratio(miss.0, node.requests))
                .collect(),
            node_loads: misses.iter().map(|miss| miss.0).collect(),
            loads,
            miss_ratio: ratio(loads, self.requests),
            byte_miss_ratio: ratio(missed_bytes, self.bytes),
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
    /// largest footprint, that footprint, and `extra`.
    pub fn sizes(&self, steps: u32, extra: &[u64]) -> Vec<u64> {
        let top = self.footprint().max(1024);
        let mut sizes = Vec::new();
        let mut at = 0u32;
        loop {
            let size = (1024.0 * 2f64.powf(f64::from(at) / f64::from(steps.max(1)))).round() as u64;
            if size >= top {
                break;
            }
            sizes.push(size);
            at += 1;
        }
        sizes.push(top);
        sizes.extend_from_slice(extra);
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The curves of `workload`'s keys (its trace's, when it has one) on
/// `ring`: warm-up requests first, uncounted, then the measured ones.
pub fn curves(workload: &Workload, ring: Ring) -> Result<Curves, MrcError> {
    if workload.cluster.hot_cache {
        return Err(MrcError::Unsupported(
            "the hot cache keeps some peers' values on the API node, so a node's cache no \
             longer sees only its own keys: the curve models main caches alone (--hot-cache off)"
                .to_owned(),
        ));
    }
    if !workload.events.is_empty() {
        return Err(MrcError::Unsupported(format!(
            "the workload has {} events: a node that stops, joins or leaves changes which \
             cache sees which keys mid-run, which one curve cannot show; simulate models them",
            workload.events.len()
        )));
    }
    let measured = match workload.bound() {
        Bound::Requests(requests) => requests,
        Bound::Duration(_) => return Err(MrcError::Keys(SimulateError::NoRequestCount)),
    };
    let keys = KeySequence::new(workload, workload.warmup_requests, measured)?;
    let (owners, _) = keys.owners(ring.nodes, ring.replicas, ring.hash);
    let nodes = ring.nodes as usize;
    // Each key's number among its owner's keys: a node's stack counts only
    // its own.
    let mut owned = vec![0u32; nodes];
    let local: Vec<u32> = owners
        .iter()
        .map(|&owner| {
            let count = &mut owned[usize::from(owner)];
            *count += 1;
            *count - 1
        })
        .collect();
    let mut stacks: Vec<StackDistances> = owned
        .iter()
        .map(|&count| StackDistances::new(count as usize))
        .collect();
    let mut curves: Vec<NodeCurve> = (0..nodes)
        .map(|_| NodeCurve {
            requests: 0,
            bytes: 0,
            cold: 0,
            cold_bytes: 0,
            distances: Vec::new(),
            bytes_from: Vec::new(),
            footprint: 0,
        })
        .collect();
    let mut seen = vec![false; keys.distinct()];
    let warmup = keys.warmup_keys().len();
    for (at, &key) in keys
        .warmup_keys()
        .iter()
        .chain(keys.measured_keys())
        .enumerate()
    {
        let node = usize::from(owners[key as usize]);
        let weight = keys.weight(key);
        let curve = &mut curves[node];
        if !std::mem::replace(&mut seen[key as usize], true) && !keys.is_missing(key) {
            curve.footprint += weight;
        }
        let distance = if keys.is_missing(key) {
            None
        } else {
            stacks[node].access(local[key as usize], weight)
        };
        if at < warmup {
            continue;
        }
        curve.requests += 1;
        curve.bytes += weight;
        match distance {
            Some(distance) => curve.distances.push((distance, weight)),
            None => {
                curve.cold += 1;
                curve.cold_bytes += weight;
            }
        }
    }
    for curve in &mut curves {
        curve.distances.sort_unstable();
        let mut from_end = 0;
        curve.bytes_from = curve
            .distances
            .iter()
            .rev()
            .map(|&(_, bytes)| {
                from_end += bytes;
                from_end
            })
            .collect();
        curve.bytes_from.reverse();
    }
    Ok(Curves {
        ring,
        requests: curves.iter().map(|curve| curve.requests).sum(),
        bytes: curves.iter().map(|curve| curve.bytes).sum(),
        warmup: warmup as u64,
        nodes: curves,
    })
}

/// The points as a table: per-node size, each node's miss ratio, the
/// cluster's loads per request and byte miss ratio.
pub fn table(curves: &Curves, points: &[Point]) -> String {
    let mut header = vec!["cache".to_owned()];
    header.extend((0..curves.nodes.len()).map(|node| format!("node {node}")));
    header.extend([
        "loads".to_owned(),
        "miss ratio".to_owned(),
        "byte miss".to_owned(),
    ]);
    let mut rows = vec![header];
    for point in points {
        let mut row = vec![ByteSize(point.cache_bytes).human()];
        row.extend(
            point
                .node_miss_ratio
                .iter()
                .map(|ratio| format!("{:.2}%", ratio * 100.0)),
        );
        row.push(point.loads.to_string());
        row.push(format!("{:.4}", point.miss_ratio));
        row.push(format!("{:.2}%", point.byte_miss_ratio * 100.0));
        rows.push(row);
    }
    crate::table::align(&rows, |column| column == 0)
}

/// The points as CSV, a row per size.
pub fn csv(curves: &Curves, points: &[Point]) -> String {
    let mut out = String::from("cache_bytes");
    for node in 0..curves.nodes.len() {
        out.push_str(&format!(",node{node}_miss_ratio,node{node}_loads"));
    }
    out.push_str(",loads,miss_ratio,byte_miss_ratio\n");
    for point in points {
        out.push_str(&point.cache_bytes.to_string());
        for (ratio, loads) in point.node_miss_ratio.iter().zip(&point.node_loads) {
            out.push_str(&format!(",{ratio:.6},{loads}"));
        }
        out.push_str(&format!(
            ",{},{:.6},{:.6}\n",
            point.loads, point.miss_ratio, point.byte_miss_ratio
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::grid::Grid;
    use crate::analysis::simulate::simulate;
    use crate::harness::trace::oracle_general_record;
    use crate::harness::workload::parse;

    /// Every node's loads on the curve equal the model's at each size.
    fn agrees_with_the_model(workload: &Workload, sizes: &[u64]) {
        let cluster = &workload.cluster;
        let ring = Ring {
            nodes: cluster.nodes,
            replicas: cluster.replicas,
            hash: cluster.hash,
        };
        let curves = curves(workload, ring).unwrap();
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
        // Unbounded: cold misses alone.
        let curves = curves(
            &workload,
            Ring {
                nodes: 4,
                replicas: 20,
                hash: HashKind::Crc32,
            },
        )
        .unwrap();
        let cold: u64 = curves.nodes.iter().map(|node| node.cold).sum();
        assert_eq!(curves.at(0).loads, cold);
        assert_eq!(curves.at(curves.footprint()).loads, cold);
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
        let ring = Ring {
            nodes: 3,
            replicas: 50,
            hash: HashKind::Crc32,
        };
        let error = curves(&hot, ring).unwrap_err().to_string();
        assert!(error.contains("hot cache"), "{error}");
        let events = parse(
            r#"{"duration": "2s", "events": [{"at": "1s", "action": "add_node"}]}"#,
            "test",
            "events",
        )
        .unwrap();
        let error = curves(&events, ring).unwrap_err().to_string();
        assert!(error.contains("1 events"), "{error}");
    }
}
