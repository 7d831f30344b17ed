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
//! One idea per file: `model` (the key sequence, the byte-bounded LRU and
//! the cluster on the load path), `predict` (a grid of configurations
//! predicted, with their events' costs), `verify` (a result against the
//! model) and `render` (tables and CSV).

use crate::harness::driver::SamplerError;
use crate::harness::trace::TraceError;
use crate::harness::workload::{Event, WorkloadError};

pub(crate) mod model;
pub(crate) mod predict;
mod render;
mod verify;

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
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// A result of a run against a target: its cluster is not the model's.
    #[error("the result is of a --target run: the model knows only clusters the harness started")]
    TargetRun,
    /// A result without the cluster's counters to check.
    #[error("the result has no cluster figures")]
    NoClusterFigures,
    /// An event whose effects depend on timing, which the model does not
    /// follow.
    #[error(
        "events[{index}] ({event}): the model follows every action but slow_node \
         and break_node, whose effects depend on timing"
    )]
    TimedAction {
        /// The event's place in the workload.
        index: usize,
        /// The event.
        event: Event,
    },
    /// An event placed at a time, where the model counts requests.
    #[error(
        "events[{index}] ({event}) happens at a time, and the model counts \
         requests: give it at_request, or verify a result of the run"
    )]
    EventAtTime {
        /// The event's place in the workload.
        index: usize,
        /// The event.
        event: Event,
    },
    /// The workload's trace could not be scanned.
    #[error("trace {0}")]
    Scan(WorkloadError),
    /// The workload replays no trace.
    #[error("trace the workload has no trace")]
    NoTrace,
    /// The trace could not be replayed.
    #[error("trace {0}")]
    Replay(#[from] TraceError),
    /// The trace file is not the one the run replayed.
    #[error(
        "trace {path}: not the file the run replayed: its {bytes} bytes hash to {hash}, \
         the run's {run_bytes} bytes to {run_hash}"
    )]
    NotTheRunsTrace {
        /// The file.
        path: String,
        /// Its size now.
        bytes: u64,
        /// Its hash now.
        hash: String,
        /// Its size when the run replayed it.
        run_bytes: u64,
        /// Its hash then.
        run_hash: String,
    },
}
