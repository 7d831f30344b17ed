//! geecache-bench: starts a GeeCache cluster on localhost, drives key
//! workloads at it, and records what it measured.
//!
//! Layout:
//! - [`geecache`]: the system under test, a Rust rebuild of GeeCache
//!   (byte-bounded LRU, consistent hashing, singleflight, groups, HTTP peers).
//!   It is a library of its own and knows nothing of the harness.
//! - The harness beside it, using only the system's public API:
//!   - [`workload`]: workload files, their checks and the flags that override them.
//!   - [`slowdb`]: the slow backing store, counting loads per node and per key.
//!   - [`cluster`]: N nodes in one process; node 0 serves the API.
//!   - [`driver`]: the load generator (closed or open loop) and its histograms.
//!   - [`report`]: the result JSON, its file, and the summary table.
//!   - [`compare`]: results side by side, and the headline figures `check` uses.
//!   - [`check`]: a result against a baseline with thresholds, for CI.
//!   - [`sweep`]: a grid of configurations, a fresh cluster each, and its summary.
//!   - [`run`]: one run from start to result: cluster or target, warm-up, measurement.
//!   - [`serve`]: one node as its own process, for clusters of processes.
//!   - [`bare`]: reference servers without a cache, and the driver's check against wrk.
//!   - [`ring_report`]: how evenly a ring spreads hash space and keys, without load.
//!   - [`cli`]: the command line.
//!   - [`units`]: sizes, durations and timestamps as people write them.

pub mod bare;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod compare;
pub mod driver;
pub mod geecache;
pub mod plot;
pub mod report;
pub mod ring_report;
pub mod run;
pub mod serve;
pub mod simulate;
pub mod slowdb;
pub mod sweep;
pub mod units;
pub mod workload;
