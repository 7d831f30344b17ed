//! A grid of configurations: lists of node counts, hashes, replica counts
//! and cache sizes, and each combination of them, a [`GridPoint`]. `sweep` runs
//! every point on a real cluster, `simulate` predicts each, and the charts
//! draw figures against them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::geecache::HashKind;
use crate::harness::ownership::RingShape;
use crate::harness::workload::{Overrides, Workload};
use crate::units::ByteSize;

/// The values to combine; an empty list keeps the workload's value.
#[derive(Clone, Debug, Default)]
pub struct Grid {
    /// Node counts.
    pub nodes: Vec<u32>,
    /// Hashes.
    pub hashes: Vec<HashKind>,
    /// Replica counts.
    pub replicas: Vec<u32>,
    /// Cache sizes.
    pub cache_bytes: Vec<ByteSize>,
}

/// One configuration of a grid.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "PointFields", into = "PointFields")]
pub struct GridPoint {
    /// The ring: nodes, virtual nodes and hash.
    pub ring: RingShape,
    /// Each node's main cache.
    pub cache_bytes: ByteSize,
}

/// A grid point as results and `--format json` write it: its fields side
/// by side, in the order of the grid's dimensions.
#[derive(Serialize, Deserialize)]
struct PointFields {
    nodes: u32,
    hash: HashKind,
    replicas: u32,
    cache_bytes: ByteSize,
}

impl From<PointFields> for GridPoint {
    fn from(fields: PointFields) -> GridPoint {
        GridPoint {
            ring: RingShape {
                nodes: fields.nodes,
                replicas: fields.replicas,
                hash: fields.hash,
            },
            cache_bytes: fields.cache_bytes,
        }
    }
}

impl From<GridPoint> for PointFields {
    fn from(point: GridPoint) -> PointFields {
        PointFields {
            nodes: point.ring.nodes,
            hash: point.ring.hash,
            replicas: point.ring.replicas,
            cache_bytes: point.cache_bytes,
        }
    }
}

impl Grid {
    /// Every combination, nodes outermost and cache sizes innermost, with the
    /// workload's values where a list is empty.
    pub fn points(&self, workload: &Workload) -> Vec<GridPoint> {
        let cluster = &workload.cluster;
        let nodes = or_else(&self.nodes, cluster.nodes);
        let hashes = or_else(&self.hashes, cluster.hash);
        let replicas = or_else(&self.replicas, cluster.replicas);
        let caches = or_else(&self.cache_bytes, cluster.cache_bytes);
        let mut points = Vec::new();
        for &nodes in &nodes {
            for &hash in &hashes {
                for &replicas in &replicas {
                    for &cache_bytes in &caches {
                        points.push(GridPoint {
                            ring: RingShape {
                                nodes,
                                replicas,
                                hash,
                            },
                            cache_bytes,
                        });
                    }
                }
            }
        }
        points
    }
}

/// `list`, or the one value `default` when it is empty.
fn or_else<T: Clone>(list: &[T], default: T) -> Vec<T> {
    if list.is_empty() {
        vec![default]
    } else {
        list.to_vec()
    }
}

impl std::fmt::Display for GridPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} nodes, {}, {} replicas, {}",
            self.ring.nodes,
            self.ring.hash.name(),
            self.ring.replicas,
            self.cache_bytes
        )
    }
}

impl GridPoint {
    /// A short name: `3n crc32 50r 16MiB`.
    pub fn short(&self) -> String {
        format!(
            "{}n {} {}r {}",
            self.ring.nodes,
            self.ring.hash.name(),
            self.ring.replicas,
            self.cache_bytes
        )
    }

    /// The configuration's cells in a table: nodes, hash, replicas, cache.
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.ring.nodes.to_string(),
            self.ring.hash.name().to_owned(),
            self.ring.replicas.to_string(),
            self.cache_bytes.to_string(),
        ]
    }

    /// The configuration as the first fields of a CSV line, the cache size
    /// in bytes: `3,crc32,50,1048576`.
    pub fn csv(&self) -> String {
        format!(
            "{},{},{},{}",
            self.ring.nodes,
            self.ring.hash.name(),
            self.ring.replicas,
            self.cache_bytes.bytes()
        )
    }

    /// This configuration as flags over a workload.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            nodes: Some(self.ring.nodes),
            hash: Some(self.ring.hash),
            replicas: Some(self.ring.replicas),
            cache_bytes: Some(self.cache_bytes),
            ..Overrides::default()
        }
    }

    /// The name of this configuration's result inside the sweep's directory:
    /// `<workload>-<nodes>n-<replicas>r-<cache>-<hash>.json`.
    pub fn file_name(&self, workload: &str) -> String {
        format!(
            "{workload}-{}n-{}r-{}-{}.json",
            self.ring.nodes,
            self.ring.replicas,
            self.cache_bytes,
            self.ring.hash.name()
        )
    }
}

/// `work(0..count)` on every core, results in order.
pub(crate) fn in_parallel<T: Send>(count: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(count.max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let at = next.fetch_add(1, Ordering::Relaxed);
                if at >= count {
                    break;
                }
                let result = work(at);
                results
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())[at] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .map(|result| result.expect("every index is worked"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_combines_every_value_and_keeps_the_workloads_elsewhere() {
        let workload = crate::harness::workload::parse("{}", "test", "test").unwrap();
        let grid = Grid {
            nodes: vec![3, 5],
            hashes: Vec::new(),
            replicas: vec![1, 50],
            cache_bytes: vec![ByteSize(1 << 10), ByteSize(1 << 20)],
        };
        let points = grid.points(&workload);
        assert_eq!(points.len(), 8);
        assert!(points
            .iter()
            .all(|point| point.ring.hash == HashKind::Crc32));
        assert_eq!(
            points[0],
            GridPoint {
                ring: crate::harness::ownership::RingShape {
                    nodes: 3,
                    replicas: 1,
                    hash: HashKind::Crc32,
                },
                cache_bytes: ByteSize(1 << 10)
            }
        );
        assert_eq!(points[7].ring.nodes, 5);
        // Written as the grid's dimensions side by side, and read back.
        let json = serde_json::to_string(&points[0]).unwrap();
        assert_eq!(
            json,
            r#"{"nodes":3,"hash":"crc32","replicas":1,"cache_bytes":"1KiB"}"#
        );
        assert_eq!(serde_json::from_str::<GridPoint>(&json).unwrap(), points[0]);
        assert_eq!(points[7].cache_bytes, ByteSize(1 << 20));
        assert_eq!(Grid::default().points(&workload).len(), 1);
    }
}
