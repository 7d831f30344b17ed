//! `simulate`: an in-memory model of a cluster (the same ring, the same LRU
//! rules, the same group load path, no HTTP) that predicts a run's counters:
//! slow-store loads, peer loads, hits and evictions, node by node.
//!
//! With one request in flight a run is sequential, so its counters follow
//! from the workload alone, and the model predicts them exactly; `verify`
//! checks a result against it. With more requests in flight the model is
//! the sequential limit: singleflight and racing loads are not modelled.
//!
//! It is fast because the expensive parts are done once: the key sequence
//! once per workload, each key's owner once per ring, and the caches work on
//! dense key numbers instead of strings.
//!
//! One idea per file: [`model`] (the key sequence, the byte-bounded LRU and
//! the cluster on the load path), [`predict`] (a grid of configurations
//! predicted, with their events' costs), [`verify`](mod@verify) (a result against the
//! model) and [`render`] (tables and CSV).

pub mod model;
pub mod predict;
pub mod render;
pub mod verify;

pub use model::{KeySequence, ModelEvent};
pub use predict::{simulate, EventCost, Prediction};
pub use render::{csv, event_table, table, verification_report};
pub use verify::{verify, Difference, Verification};

/// Why a simulation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The workload is bounded by time, so its request count is unknown.
    #[error(
        "the workload is bounded by a duration, so the number of requests is unknown: give --requests"
    )]
    NoRequestCount,
    /// More requests than the model counts with 32-bit key numbers.
    #[error("{0} requests: the model simulates at most 2^32 - 1 requests per phase")]
    TooManyRequests(u64),
    /// The key sampler refused the workload.
    #[error("{0}")]
    Sampler(String),
    /// A result the model cannot predict.
    #[error("{0}")]
    Unverifiable(String),
    /// An event the model cannot carry out.
    #[error("{0}")]
    Events(String),
    /// The workload's trace cannot be read, or is not the run's.
    #[error("trace {0}")]
    Trace(String),
}
