//! geecache-bench: starts a GeeCache cluster on localhost, drives key
//! workloads at it, and records what it measured.
//!
//! # Layout
//!
//! Six rooms; each uses only the rooms listed before it (a test,
//! `tests/layout.rs`, holds them to it):
//!
//! - [`units`]: sizes, durations, timestamps and table columns as people
//!   write and read them; [`stats`]: medians and intervals over trials.
//! - [`geecache`]: the system under test, a Rust rebuild of GeeCache
//!   (byte-bounded LRU, consistent hashing, singleflight, groups, HTTP
//!   peers). A library of its own: it knows nothing of the harness.
//! - [`harness`]: what a run is made of, in the order a run meets it:
//!   [`harness::workload`] (the file and the flags over it), the
//!   [`harness::slowdb`] store, the [`harness::cluster`], the
//!   [`harness::driver`], its [`harness::latency`] histograms, the
//!   [`harness::calibration`] servers that calibrate it, the
//!   [`harness::run`] that puts them together, [`harness::trials`] that
//!   makes repeated runs one result, the [`harness::report`] it
//!   writes and the [`harness::summary`] it prints; a scenario's
//!   [`harness::events`] (what a workload asks to happen, and keys moved by
//!   ring changes) and [`harness::scenario`] (carrying them out during a
//!   run); beside them [`harness::serve`] (one node as a process) and
//!   [`harness::wrk`].
//! - [`analysis`]: what reads results and configurations:
//!   [`analysis::compare`], [`analysis::check`], [`analysis::grid`],
//!   [`analysis::sweep`], [`analysis::simulate`] (the model),
//!   [`analysis::ring`] and [`analysis::plot`].
//! - [`commands`]: one file per subcommand with its flags and its body;
//!   [`cli`]: the top-level parser and the dispatch.
//!
//! # Where to look
//!
//! - **A flag** is defined in `commands/<subcommand>.rs` (flags several
//!   subcommands share, in `commands/mod.rs`). A flag that replaces a
//!   workload field becomes a field of [`harness::workload::Overrides`],
//!   applied by `Workload::apply`; the rest are used in the same file.
//! - **A figure of a result** is computed in [`harness::report`] (client,
//!   cluster and node figures from the counters of [`harness::run`]),
//!   [`harness::latency`] (percentiles) or [`harness::calibration`] (the
//!   calibration and the limit fraction); an event's cost from the series,
//!   in `harness::report::costs`. The headline figures that the trials
//!   table, `compare`, `check` and `sweep` show are each one entry of
//!   [`harness::registry`]: key, label, unit, format, direction, timed or
//!   counted, and the gate's threshold.

pub mod analysis;
pub mod geecache;
pub mod harness;
pub mod intervals;
pub mod table;
pub mod units;
