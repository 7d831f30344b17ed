//! What a run is made of: the workload, the slow store, the cluster, the
//! driver and its histograms, the reference servers that calibrate a run,
//! the run itself, a scenario's events and their carrying out, the result
//! it writes, the registry of its figures, the summary it prints and the
//! live view a terminal shows while it goes. It
//! uses only the system's public API ([`crate::geecache`]) and reads no
//! results.

pub mod calibration;
pub mod cluster;
pub mod counted;
pub mod driver;
pub mod events;
pub mod fill;
pub mod latency;
pub mod live;
pub mod registry;
pub mod report;
pub mod resolve;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod shard;
pub mod slowdb;
pub mod summary;
pub mod trace;
pub mod trials;
pub mod workload;
pub mod wrk;
