//! geecache-bench: starts a GeeCache cluster on localhost, drives key
//! workloads at it, and records what it measured. This is the library; the
//! binary (`src/bin/geecache-bench/`) holds the command line: one file per
//! subcommand with its flags and its body, which calls the modules below.
//!
//! # Layout
//!
//! Five rooms; each uses only the rooms listed before it (a test,
//! `tests/suite/layout.rs`, holds them to it):
//!
//! - [`units`]: sizes, durations and timestamps as people write them;
//!   [`table`]: aligned text and Markdown tables; [`intervals`]: the median
//!   of repeated trials and its interval, and the interval of a change.
//! - [`geecache`]: the system under test, a Rust rebuild of GeeCache
//!   (byte-bounded LRU, consistent hashing, singleflight, groups, HTTP
//!   peers). A library of its own: it knows nothing of the harness.
//! - [`harness`]: what a run is made of, in the order a run meets it:
//!   - [`harness::workload`]: the workload file, the flags over it and
//!     their checks;
//!   - [`harness::trace`]: real key traces, read, scanned and replayed;
//!   - [`harness::slowdb`]: the slow store behind every node;
//!   - [`harness::cluster`]: the nodes of a run, in one process;
//!   - [`harness::driver`]: the load generator (keys, pacing, series);
//!   - [`harness::latency`]: latency histograms and their percentiles;
//!   - [`harness::calibration`]: the reference servers that measure the
//!     driver and the loopback limit a run is read against;
//!   - [`harness::events`] and [`harness::scenario`]: what a workload asks
//!     to happen during a run, and carrying it out;
//!   - [`harness::run`]: one run from start to result;
//!   - [`harness::shard`]: one run's work split over several drivers;
//!   - [`harness::trials`]: repeated runs made one result;
//!   - [`harness::report`]: the result file (schema, event costs, files);
//!   - [`harness::registry`]: every figure of a result, once;
//!   - [`harness::summary`]: what a run prints; [`harness::live`]: what a
//!     terminal shows while it goes;
//!   - [`harness::serve`]: one node as its own process; [`harness::wrk`]:
//!     wrk beside the driver.
//! - [`analysis`]: what reads results and configurations:
//!   [`analysis::compare`] (results side by side), [`analysis::check`] (a
//!   result against a baseline), [`analysis::differences`] (what differs
//!   between configurations), [`analysis::merge`] (drivers of one cluster
//!   made one result), [`analysis::grid`] and [`analysis::sweep`] (grids of
//!   configurations run for real), [`analysis::simulate`] (the model),
//!   [`analysis::mrc`] (miss-ratio curves: every cache size in one pass),
//!   [`analysis::advise`] (the smallest cache and the fewest replicas for
//!   a goal),
//!   [`analysis::ring`] (rings without load), [`analysis::plot`] (SVG
//!   charts) and [`analysis::html`] (a result as a page to open).
//!
//! # Where to look
//!
//! - **A flag** is defined in `src/bin/geecache-bench/commands/<subcommand>.rs`
//!   (flags several subcommands share, in `commands/mod.rs`). A flag that
//!   replaces a workload field becomes a field of
//!   [`harness::workload::Overrides`], applied by `Workload::apply`; the
//!   rest are used in the same file.
//! - **A figure of a result** is computed in [`harness::report`] (client,
//!   cluster and node figures from the counters of [`harness::run`]),
//!   [`harness::latency`] (percentiles) or [`harness::calibration`] (the
//!   limit fraction); an event's cost from the series, in
//!   [`harness::report::costs`](mod@harness::report::costs). The headline figures that the trials
//!   table, `compare`, `check` and `sweep` show are each one entry of
//!   [`harness::registry`]: key, label, unit, format, direction, timed or
//!   counted, and the gate's threshold.

pub mod analysis;
pub mod geecache;
pub mod harness;
pub mod intervals;
pub mod table;
pub mod units;
