//! The result of a run: the JSON file described by `schema.json`. One idea
//! per file: `schema` (the structs of the file and how their figures are
//! computed from the counters), `histograms` (its latency, service and
//! failure histograms), `coordination` (a shard's part and its
//! start moment), `costs` (what a scenario's events cost,
//! read off the series), `files` (names, atomic writes, reading back),
//! `machine` (the program and the machine that wrote it), `memory`
//! (what the process held), `series`
//! (the interval-by-interval figures),
//! `steadiness` (whether a trial's seconds were even) and `target` (a
//! target's settings as its nodes reported them). What a reader of
//! results uses is re-exported here by name, so that it names
//! `harness::report::RunResult`. The summary printed at the end is
//! [`super::summary`]; the figures that tables and the gate show are
//! [`super::registry`]'s.

mod coordination;
mod costs;
mod files;
mod histograms;
mod machine;
pub(crate) mod memory;
pub(crate) mod schema;
mod series;
pub(crate) mod steadiness;
mod target;

pub use crate::harness::fill::CacheFill;
pub use crate::harness::scenario::Applied;
pub use coordination::{Incomplete, ShardFigures, StartFigures};
pub use costs::costs;
pub use files::{
    check_writable, is_special, path_for_run, read, write_atomically, write_bytes_atomically,
    write_in, ResultFileError, RESULT_ROOM,
};
pub(crate) use histograms::histograms_added;
pub use histograms::{failed_figures, Histograms};
pub use machine::{Machine, Tool};
pub use memory::{MemorySample, ProcessMemory};
pub(crate) use schema::group_of;
pub use schema::{
    Baseline, ClientFigures, ClusterFigures, EventFigures, LatencyFrom, Mode, NodeFigures,
    RunResult, SeriesReading, SlowDbReport, TimedFigures, Trial, SCHEMA_VERSION,
};
pub use series::{ClusterInterval, IntervalFigures, NodeCounters, NodeInterval};
pub use steadiness::{Slices, Steadiness};
pub use target::{Setting, SettingOrigin, TargetSettings};
