//! geecache-bench: starts a GeeCache cluster on localhost, drives key
//! workloads at it, and records what it measured. This is the library; the
//! binary (`src/bin/geecache-bench/`) holds the command line: one file per
//! subcommand with its flags and its body, which calls the modules below.
//!
//! # Layout
//!
//! The layout is written here, once: every module of the crate is named
//! below, and each parent's opening comment names its own (a test,
//! `tests/suite/layout.rs`, holds both to the files). A module is public
//! only where a caller outside the library (the binary, the tests, the
//! benchmarks) names it; the rest are private or `pub(crate)`, and what a
//! caller needs of them is re-exported by name (the same test). No
//! function is over 120 lines: a longer one is split into named steps
//! that read as its outline (the same test).
//!
//! Five rooms; each uses only the rooms listed before it, and no two
//! modules import each other, directly or around a circle (the same test):
//!
//! - [`units`]: sizes, durations and timestamps as people write them;
//!   [`table`]: aligned text and Markdown tables; [`intervals`]: the median
//!   of repeated trials and its interval, the interval of a change, and the
//!   plain summaries the rest shares.
//! - [`geecache`]: the system under test, a Rust rebuild of GeeCache. A
//!   library of its own, one idea per module (`lru`, `keyhash`,
//!   `byteview`, `cache`, `consistent_hash`, `singleflight`, `group`,
//!   `peers`, `path`, `http`, `h1`, `failure`, `node`, `server`, `breakage`,
//!   `source`, `stats`, `metrics`): it imports nothing of the harness.
//! - [`harness`]: what a run is made of, in the order a run meets it:
//!   - [`harness::workload`]: the workload file (`overrides` from the
//!     flags, `stages` of a changing rate, `validate`);
//!   - [`harness::trace`]: real key traces (`format`, `read`, `scan`,
//!     `replay`);
//!   - [`harness::slowdb`]: the slow store behind every node;
//!   - [`harness::cluster`]: the nodes of a run, in one process;
//!     [`harness::resolve`]: addresses given in place of the name service;
//!   - [`harness::driver`]: the load generator (`keys`, `steering`,
//!     `pacer`, `counts`, `series`);
//!   - [`harness::latency`]: latency histograms and their percentiles;
//!   - [`harness::calibration`]: the reference servers that measure the
//!     driver and the loopback limit a run is read against;
//!   - `harness::events` and `harness::scenario`: what a workload asks
//!     to happen during a run, and carrying it out; [`harness::ownership`]:
//!     the keys each node owns and those a ring change moves;
//!   - [`harness::run`]: one run from start to result (`plan`, `setup`, `address`,
//!     `observe`, `assemble`); `harness::fill`: whether its caches
//!     filled;
//!   - [`harness::counted`]: the counted pass, instructions and system
//!     calls per request (`marks`, `callgrind`, `strace`, `costs`,
//!     `profile`);
//!   - [`harness::shard`]: one run's work split over several drivers;
//!   - [`harness::trials`]: repeated runs made one result;
//!   - [`harness::report`]: the result file (`schema`, `series`,
//!     `histograms`, `costs`, `coordination`, `steadiness`, `memory`,
//!     `machine`, `target`, `files`);
//!   - [`harness::registry`]: every figure of a result, once (`figures`);
//!   - [`harness::summary`]: what a run prints (its `tables` shared with
//!     the pages); [`harness::live`]: what a
//!     terminal shows while it goes (`view`, `screen`);
//!   - [`harness::serve`]: one node as its own process; [`harness::wrk`]:
//!     wrk beside the driver; [`harness::process`]: what this process
//!     spends (CPU time, memory, open files).
//! - [`analysis`]: what reads results and configurations:
//!   [`analysis::compare`] (results side by side), [`analysis::check`] (a
//!   result against a baseline), [`analysis::differences`] (what differs
//!   between configurations), [`analysis::merge`] (drivers of one cluster
//!   made one result), [`analysis::grid`] and [`analysis::sweep`] (grids of
//!   configurations run for real), [`analysis::simulate`] (the model:
//!   `model`, `predict`, `verify`, `render`), [`analysis::mrc`] (miss-ratio
//!   curves, every cache size in one pass: `stack`, `histogram`, `pass`,
//!   `render`), [`analysis::advise`] (the smallest cache and the fewest
//!   replicas for a goal), [`analysis::capacity`] (the highest rate held
//!   within a latency objective: `objective`, `search`, `step`, `run`,
//!   `report`, `show`, `compare`), [`analysis::ring`] (rings without
//!   load), [`analysis::plot`] (SVG charts: `svg`, `charts`) and
//!   [`analysis::html`] (a result as a page to open).
//! - The binary, `src/bin/geecache-bench/`: `main.rs`, `cli.rs` (the
//!   top-level parser and the dispatch) and `commands/`, one file per
//!   subcommand. The library has no command line.
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
//!   `harness::report::costs`. The headline figures that the trials
//!   table, `compare`, `check` and `sweep` show are each one entry of
//!   [`harness::registry`]: key, label, unit, format, direction, timed or
//!   counted, and the gate's threshold.

// What stays public is documented, and a type a public item shows can be
// named by its caller (re-exported where its module is private).
#![warn(missing_docs, unnameable_types)]
pub mod analysis;
pub mod geecache;
pub mod harness;
pub mod intervals;
pub mod table;
pub mod units;
