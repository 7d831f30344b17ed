//! What a run is made of: the [`workload`] (or a real [`trace`]), the
//! slow store ([`slowdb`]), the [`cluster`] (and addresses that stand in
//! for the name service, [`resolve`]), the [`driver`] and its [`latency`]
//! histograms, the reference servers that calibrate a run
//! ([`calibration`]), the [`run`] itself and whether its caches filled
//! (`fill`), a scenario's `events` and their carrying out
//! (`scenario`), the keys each node owns and a ring change moves
//! ([`ownership`]), the [`counted`] pass, a run split over drivers
//! ([`shard`]) and repeated as [`trials`], the result it writes
//! ([`report`]), the [`registry`] of its figures, the [`summary`] it
//! prints and the [`live`] view a terminal shows while it goes; one node
//! as its own process ([`serve`]), `wrk` beside the driver ([`wrk`]), and
//! what this process spends, CPU time, memory and open files
//! ([`process`]).
//! `src/lib.rs` gives the order in which a run meets them.
//!
//! It uses only the system's public API ([`crate::geecache`]) and the
//! shared rooms (units, table, intervals): nothing of the analysis that
//! reads results, and nothing of the binary's command line.

pub mod calibration;
pub mod cluster;
pub mod counted;
pub mod driver;
pub(crate) mod events;
pub(crate) mod fill;
pub mod latency;
pub mod live;
pub mod ownership;
pub mod process;
pub mod registry;
pub mod report;
pub mod resolve;
pub mod run;
pub(crate) mod scenario;
pub mod serve;
pub mod shard;
pub mod slowdb;
pub mod summary;
pub mod trace;
pub mod trials;
pub mod workload;
pub mod wrk;
