//! The figure registry: every figure of a result, once. Each [`Figure`]
//! holds its key in the result, its label, column header, unit and format,
//! which way is better, whether it is timed (read from each trial) or
//! counted (read from the result), its default `check` threshold (which
//! also says whether the gate compares it) and how it is read.
//!
//! The summary's trials table, `compare`, `check`, `sweep` and their
//! Markdown and CSV forms read the figures from here, so adding a figure is
//! one entry in [`FIGURES`] (or [`EVENT_FIGURES`]); `tests/figures.rs` holds
//! them to it, and `tests/layout.rs` checks that no other file of `src/`
//! names a figure's key as a string.

use serde::{Deserialize, Serialize};

use crate::harness::latency::LatencyFigures;
use crate::harness::report::{EventFigures, RunResult, TimedFigures, Trial};
use crate::intervals::{estimate, median};

/// Which way a figure improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Larger is better (throughput, hit ratio).
    Higher,
    /// Smaller is better (latency, loads).
    Lower,
}

/// Whether a figure depends on the machine's speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Nature {
    /// Counts that the workload and the configuration decide (exactly so
    /// with concurrency 1; nearly so otherwise).
    Counted,
    /// Times, which depend on the machine and its load: read from each
    /// trial, shown as the trials' median with an interval.
    Timed,
}

/// How a figure's value is written for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A whole number: `50429`.
    Whole,
    /// A number with this many decimals: `1.234`.
    Decimals(usize),
    /// A share as a percentage with this many decimals: `40.71%`.
    Percent(usize),
    /// A factor: `1.50x`.
    Factor,
}

/// How much worse a figure may get in `check`: the larger of `relative`
/// times the baseline's value and `absolute`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// A share of the baseline's value (0.05 is 5%).
    #[serde(default)]
    pub relative: f64,
    /// An amount in the figure's unit.
    #[serde(default)]
    pub absolute: f64,
}

/// Where a figure is read from.
#[derive(Clone, Copy, Debug)]
pub enum Read {
    /// A timed figure: from each trial.
    Trial(fn(&Trial) -> Option<f64>),
    /// A counted figure: from the result.
    Result(fn(&RunResult) -> Option<f64>),
    /// A figure of one of the workload's events.
    Event(fn(&EventFigures) -> Option<f64>),
}

/// One figure: everything the tables and the gate need to know of it.
#[derive(Debug)]
pub struct Figure {
    /// Its stable name: the key in results, `compare --format json`,
    /// `check` thresholds and the sweep's CSV.
    pub key: &'static str,
    /// What a person reads in the summary, `compare` and `check`.
    pub label: &'static str,
    /// Its short header in the trials and sweep tables.
    pub column: &'static str,
    /// Its unit, in words.
    pub unit: &'static str,
    /// How its values are written.
    pub format: Format,
    /// Which way is better.
    pub better: Better,
    /// A speed: its verdicts read faster and slower, not better and worse.
    pub speed: bool,
    /// The default threshold of `check`; `None` when the gate does not
    /// compare it unless a thresholds file gives it one.
    pub gate: Option<Threshold>,
    /// How it is read.
    pub read: Read,
}

impl PartialEq for Figure {
    fn eq(&self, other: &Figure) -> bool {
        self.key == other.key
    }
}

impl Figure {
    /// Timed (read from each trial) or counted.
    pub fn nature(&self) -> Nature {
        match self.read {
            Read::Trial(_) => Nature::Timed,
            Read::Result(_) | Read::Event(_) => Nature::Counted,
        }
    }

    /// A value as people read it; `-` when absent.
    pub fn show(&self, value: Option<f64>) -> String {
        let Some(value) = value else {
            return "-".to_owned();
        };
        match self.format {
            Format::Whole => format!("{value:.0}"),
            Format::Decimals(places) => format!("{value:.places$}"),
            Format::Percent(places) => format!("{:.places$}%", value * 100.0),
            Format::Factor => format!("{value:.2}x"),
        }
    }

    /// An amount of the figure (a threshold), as people read it: shares in
    /// percentage points.
    pub fn show_amount(&self, amount: f64) -> String {
        match self.format {
            Format::Percent(_) => format!("{:.2} points", amount * 100.0),
            _ => format!("{amount:.4}"),
        }
    }

    /// A timed figure's value in one trial; `None` for a counted figure or
    /// one the trial lacks.
    pub fn of_trial(&self, trial: &Trial) -> Option<f64> {
        match self.read {
            Read::Trial(read) => read(trial),
            _ => None,
        }
    }

    /// A timed figure's value in each of the result's trials that has it
    /// (an older result is one trial); empty for a counted figure.
    pub fn trial_values(&self, result: &RunResult) -> Vec<f64> {
        match self.read {
            Read::Trial(read) => result.trial_list().iter().filter_map(read).collect(),
            _ => Vec::new(),
        }
    }

    /// The figure's value in a result: a counted figure as counted, a
    /// timed one as the median of its trials; `None` for an event's figure
    /// or one the result lacks.
    pub fn of_result(&self, result: &RunResult) -> Option<f64> {
        match self.read {
            Read::Trial(_) => median(&self.trial_values(result)),
            Read::Result(read) => read(result),
            Read::Event(_) => None,
        }
    }

    /// An event's figure; `None` for the others.
    pub fn of_event(&self, event: &EventFigures) -> Option<f64> {
        match self.read {
            Read::Event(read) => read(event),
            _ => None,
        }
    }
}

/// A figure's value in one result.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// Which figure.
    pub figure: &'static Figure,
    /// Its value (a timed figure's: the median of `trials`); `None` when
    /// the result does not have it.
    pub value: Option<f64>,
    /// A timed figure's value in each trial; empty for a counted one.
    pub trials: Vec<f64>,
}

/// Every figure of [`FIGURES`] read from `result`, in their order.
pub(crate) fn readings(result: &RunResult) -> Vec<Reading> {
    FIGURES
        .iter()
        .map(|&figure| {
            let trials = figure.trial_values(result);
            let value = match figure.read {
                Read::Trial(_) => median(&trials),
                _ => figure.of_result(result),
            };
            Reading {
                figure,
                value,
                trials,
            }
        })
        .collect()
}

/// The figure of [`FIGURES`] named `key`.
pub fn find(key: &str) -> Option<&'static Figure> {
    FIGURES.iter().copied().find(|figure| figure.key == key)
}

/// The timed figures of [`FIGURES`], in order.
pub fn timed() -> impl Iterator<Item = &'static Figure> {
    FIGURES
        .iter()
        .copied()
        .filter(|figure| figure.nature() == Nature::Timed)
}

/// The median and interval of every timed figure the trials have.
pub fn timed_figures(trials: &[Trial]) -> TimedFigures {
    TimedFigures {
        method: crate::intervals::METHOD.to_owned(),
        trials: trials.len(),
        unsteady_trials: trials.iter().filter(|trial| trial.unsteady).count(),
        figures: timed()
            .filter_map(|figure| {
                let values: Vec<f64> = trials.iter().filter_map(|t| figure.of_trial(t)).collect();
                Some((figure.key.to_owned(), estimate(&values)?))
            })
            .collect(),
    }
}

/// `result` as a single trial: its trial and timed figures set.
pub fn one_trial(mut result: RunResult) -> RunResult {
    result.trials = vec![Trial::of(&result)];
    result.timed = Some(timed_figures(&result.trials));
    result
}

/// The largest value over the mean: 1 when all are equal, 0 for none.
pub(crate) fn max_over_mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    if mean > 0.0 {
        max / mean
    } else {
        0.0
    }
}

const fn threshold(relative: f64, absolute: f64) -> Option<Threshold> {
    Some(Threshold { relative, absolute })
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A latency percentile of the trial's latency histogram (from the
/// intended send in an open loop) or its service-time one.
fn percentile(latency: Option<&LatencyFigures>, pick: fn(&LatencyFigures) -> u64) -> Option<f64> {
    latency.map(|latency| pick(latency) as f64)
}

/// A p99 over the two-hop reference server's p99 measured in the same
/// trial.
fn over_two_hop(trial: &Trial, latency: Option<&LatencyFigures>) -> Option<f64> {
    let calibration = trial.calibration.as_ref()?;
    (calibration.two_hop.p99_us > 0.0)
        .then(|| latency.map(|latency| latency.p99 as f64 / calibration.two_hop.p99_us))
        .flatten()
}

/// Requests per second.
pub static THROUGHPUT: Figure = Figure {
    key: "throughput_rps",
    label: "throughput req/s",
    column: "req/s",
    unit: "requests per second",
    format: Format::Whole,
    better: Better::Higher,
    speed: true,
    gate: None,
    read: Read::Trial(|trial| Some(trial.throughput_rps)),
};

/// The latency's median (from the intended send in an open loop).
pub static P50: Figure = Figure {
    key: "p50_us",
    label: "latency p50 us",
    column: "p50 us",
    unit: "microseconds",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| percentile(Some(&trial.latency_us), |l| l.p50)),
};

/// The latency's 99th percentile.
pub static P99: Figure = Figure {
    key: "p99_us",
    label: "latency p99 us",
    column: "p99 us",
    unit: "microseconds",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| percentile(Some(&trial.latency_us), |l| l.p99)),
};

/// The latency's 99.9th percentile.
pub static P99_9: Figure = Figure {
    key: "p99_9_us",
    label: "latency p99.9 us",
    column: "p99.9 us",
    unit: "microseconds",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| percentile(Some(&trial.latency_us), |l| l.p99_9)),
};

/// Throughput over the blended loopback limit measured in the same trial.
pub static LIMIT_FRACTION: Figure = Figure {
    key: "limit_fraction",
    label: "throughput / loopback limit",
    column: "limit",
    unit: "share of the loopback limit",
    format: Format::Percent(1),
    better: Better::Higher,
    speed: true,
    gate: threshold(0.35, 0.0),
    read: Read::Trial(|trial| trial.calibration.as_ref()?.limit_fraction),
};

/// The latency's p99 over the two-hop reference server's.
pub static P99_OVER_TWO_HOP: Figure = Figure {
    key: "p99_over_two_hop",
    label: "p99 / two-hop p99",
    column: "p99/two-hop",
    unit: "factor of the two-hop p99",
    format: Format::Factor,
    better: Better::Lower,
    speed: false,
    gate: threshold(1.0, 0.0),
    read: Read::Trial(|trial| over_two_hop(trial, Some(&trial.latency_us))),
};

/// An open loop's service time (from the actual send), median.
pub static SERVICE_P50: Figure = Figure {
    key: "service_p50_us",
    label: "service time p50 us",
    column: "service p50 us",
    unit: "microseconds",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| percentile(trial.service_time_us.as_ref(), |l| l.p50)),
};

/// An open loop's service time, 99th percentile.
pub static SERVICE_P99: Figure = Figure {
    key: "service_p99_us",
    label: "service time p99 us",
    column: "service p99 us",
    unit: "microseconds",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| percentile(trial.service_time_us.as_ref(), |l| l.p99)),
};

/// An open loop's service time, 99.9th percentile.
pub static SERVICE_P99_9: Figure = Figure {
    key: "service_p99_9_us",
    label: "service time p99.9 us",
    column: "service p99.9 us",
    unit: "microseconds",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| percentile(trial.service_time_us.as_ref(), |l| l.p99_9)),
};

/// An open loop's service-time p99 over the two-hop server's.
pub static SERVICE_P99_OVER_TWO_HOP: Figure = Figure {
    key: "service_p99_over_two_hop",
    label: "service p99 / two-hop p99",
    column: "service p99/two-hop",
    unit: "factor of the two-hop p99",
    format: Format::Factor,
    better: Better::Lower,
    speed: false,
    gate: threshold(1.0, 0.0),
    read: Read::Trial(|trial| over_two_hop(trial, trial.service_time_us.as_ref())),
};

/// This process's CPU time per measured request: the driver's and, in
/// cluster mode, the in-process cluster's.
pub static CPU_PER_REQUEST: Figure = Figure {
    key: "cpu_us_per_request",
    label: "process CPU us / request",
    column: "cpu us/req",
    unit: "microseconds of CPU per request",
    format: Format::Decimals(2),
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| trial.cpu_us_per_request),
};

/// Failed requests over measured requests.
pub static ERROR_RATIO: Figure = Figure {
    key: "error_ratio",
    label: "errors / requests",
    column: "errors",
    unit: "share of requests",
    format: Format::Percent(2),
    better: Better::Lower,
    speed: false,
    gate: threshold(0.0, 0.001),
    read: Read::Result(|result| Some(ratio(result.client.errors.total, result.client.requests))),
};

/// Answers the API node had in its own caches.
pub static API_HIT_RATIO: Figure = Figure {
    key: "api_hit_ratio",
    label: "api hit ratio",
    column: "api hit",
    unit: "share of requests",
    format: Format::Percent(2),
    better: Better::Higher,
    speed: false,
    gate: threshold(0.0, 0.02),
    read: Read::Result(|result| result.cluster.as_ref()?.api_hit_ratio),
};

/// Gets any node answered from its caches.
pub static CLUSTER_HIT_RATIO: Figure = Figure {
    key: "cluster_hit_ratio",
    label: "cluster hit ratio",
    column: "cluster hit",
    unit: "share of gets",
    format: Format::Percent(2),
    better: Better::Higher,
    speed: false,
    gate: threshold(0.0, 0.02),
    read: Read::Result(|result| Some(result.cluster.as_ref()?.cluster_hit_ratio)),
};

/// API requests that went to a peer.
pub static PEER_FETCH_RATIO: Figure = Figure {
    key: "peer_fetch_ratio",
    label: "peer-fetch ratio",
    column: "peer fetch",
    unit: "share of requests",
    format: Format::Percent(2),
    better: Better::Lower,
    speed: false,
    gate: threshold(0.0, 0.02),
    read: Read::Result(|result| result.cluster.as_ref()?.peer_fetch_ratio),
};

/// Slow-store loads per measured request.
pub static SLOWDB_LOADS_PER_REQUEST: Figure = Figure {
    key: "slowdb_loads_per_request",
    label: "slowdb loads / request",
    column: "loads/req",
    unit: "loads per request",
    format: Format::Decimals(3),
    better: Better::Lower,
    speed: false,
    gate: threshold(0.02, 0.0005),
    read: Read::Result(|result| Some(result.cluster.as_ref()?.slowdb.loads_per_request)),
};

/// Loads of a key that was already being loaded.
pub static DUPLICATE_LOADS: Figure = Figure {
    key: "duplicate_loads",
    label: "duplicate loads",
    column: "dup loads",
    unit: "loads",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: threshold(0.10, 5.0),
    read: Read::Result(|result| {
        result
            .cluster
            .as_ref()?
            .slowdb
            .duplicate_loads
            .map(|loads| loads as f64)
    }),
};

/// The most slow-store loads of a node over the nodes' mean.
pub static LOAD_IMBALANCE: Figure = Figure {
    key: "load_imbalance",
    label: "slowdb load max/mean",
    column: "load max/mean",
    unit: "factor of the mean",
    format: Format::Decimals(3),
    better: Better::Lower,
    speed: false,
    gate: threshold(0.05, 0.0),
    read: Read::Result(|result| {
        let loads: Option<Vec<f64>> = result
            .nodes
            .iter()
            .map(|node| node.slowdb_loads.map(|loads| loads as f64))
            .collect();
        loads
            .filter(|loads| !loads.is_empty())
            .map(|loads| max_over_mean(&loads))
    }),
};

/// The largest ring share over the nodes' mean.
pub static RING_IMBALANCE: Figure = Figure {
    key: "ring_imbalance",
    label: "ring share max/mean",
    column: "ring max/mean",
    unit: "factor of the mean",
    format: Format::Decimals(3),
    better: Better::Lower,
    speed: false,
    gate: threshold(0.0, 1e-9),
    read: Read::Result(|result| {
        let shares: Option<Vec<f64>> = result.nodes.iter().map(|node| node.ring_share).collect();
        shares
            .filter(|shares| !shares.is_empty())
            .map(|shares| max_over_mean(&shares))
    }),
};

/// Every instruction of the process (user space) per request of the
/// counted pass's run: the driver, the nodes and the runtime.
pub static INSTRUCTIONS_PER_REQUEST: Figure = Figure {
    key: "instructions_per_request",
    label: "instructions / request",
    column: "instr/req",
    unit: "instructions per request (counted pass)",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: threshold(0.02, 0.0),
    read: Read::Result(|result| Some(result.counted.as_ref()?.run.instructions_per_request)),
};

/// The nodes' connection tasks' instructions per request of the counted
/// pass: the cluster alone, peer requests included.
pub static CLUSTER_INSTRUCTIONS_PER_REQUEST: Figure = Figure {
    key: "cluster_instructions_per_request",
    label: "cluster instructions / request",
    column: "cluster instr/req",
    unit: "instructions per request (counted pass)",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: threshold(0.02, 0.0),
    read: Read::Result(|result| Some(result.counted.as_ref()?.run.server_instructions_per_request)),
};

/// The driver's request tasks' instructions per request of the counted
/// pass.
pub static DRIVER_INSTRUCTIONS_PER_REQUEST: Figure = Figure {
    key: "driver_instructions_per_request",
    label: "driver instructions / request",
    column: "driver instr/req",
    unit: "instructions per request (counted pass)",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Result(|result| Some(result.counted.as_ref()?.run.driver_instructions_per_request)),
};

/// The cluster's instructions per request over the bare reference
/// servers' for the same hops: what the cache costs beyond HTTP.
pub static CLUSTER_OVER_HOPS: Figure = Figure {
    key: "cluster_instructions_over_hops",
    label: "cluster instr / bare hops",
    column: "instr/hops",
    unit: "factor of the bare servers' instructions",
    format: Format::Factor,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Result(|result| result.counted.as_ref()?.server_over_hops()),
};

/// System calls of every thread per request of the counted pass.
pub static SYSCALLS_PER_REQUEST: Figure = Figure {
    key: "syscalls_per_request",
    label: "system calls / request",
    column: "syscalls/req",
    unit: "system calls per request (counted pass)",
    format: Format::Decimals(2),
    better: Better::Lower,
    speed: false,
    gate: threshold(0.02, 0.0),
    read: Read::Result(|result| result.counted.as_ref()?.run.syscalls_per_request),
};

/// Every figure of a result, in the order tables show them: the timed
/// ones (an open loop's service time after the latency), then the counted
/// ones.
pub static FIGURES: [&Figure; 24] = [
    &THROUGHPUT,
    &P50,
    &P99,
    &P99_9,
    &LIMIT_FRACTION,
    &P99_OVER_TWO_HOP,
    &SERVICE_P50,
    &SERVICE_P99,
    &SERVICE_P99_9,
    &SERVICE_P99_OVER_TWO_HOP,
    &CPU_PER_REQUEST,
    &ERROR_RATIO,
    &API_HIT_RATIO,
    &CLUSTER_HIT_RATIO,
    &PEER_FETCH_RATIO,
    &SLOWDB_LOADS_PER_REQUEST,
    &DUPLICATE_LOADS,
    &LOAD_IMBALANCE,
    &RING_IMBALANCE,
    &INSTRUCTIONS_PER_REQUEST,
    &CLUSTER_INSTRUCTIONS_PER_REQUEST,
    &DRIVER_INSTRUCTIONS_PER_REQUEST,
    &CLUSTER_OVER_HOPS,
    &SYSCALLS_PER_REQUEST,
];

/// An event's client errors in its window.
pub static EVENT_ERRORS: Figure = Figure {
    key: "errors",
    label: "client errors",
    column: "errors",
    unit: "requests",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Event(|event| event.applied.then_some(event.errors as f64)),
};

/// Slow-store loads in an event's window beyond the baseline's rate.
pub static EVENT_EXTRA_LOADS: Figure = Figure {
    key: "extra_slowdb_loads",
    label: "extra slowdb loads",
    column: "extra loads",
    unit: "loads",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Event(|event| event.extra_slowdb_loads.map(|loads| loads as f64)),
};

/// Seconds until the cluster was back to its level before the event.
pub static EVENT_RECOVERY: Figure = Figure {
    key: "recovery_secs",
    label: "recovery s",
    column: "recovery s",
    unit: "seconds",
    format: Format::Decimals(2),
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Event(|event| event.recovery_secs),
};

/// The share of keys a join or a leave moved to another owner.
pub static EVENT_MOVED_SHARE: Figure = Figure {
    key: "moved_share",
    label: "keys moved",
    column: "moved",
    unit: "share of the key space",
    format: Format::Percent(2),
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Event(|event| event.moved_share),
};

/// Every figure of one of a workload's events, in table order.
pub static EVENT_FIGURES: [&Figure; 4] = [
    &EVENT_ERRORS,
    &EVENT_EXTRA_LOADS,
    &EVENT_RECOVERY,
    &EVENT_MOVED_SHARE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_formats_write_as_people_read() {
        let mut keys: Vec<&str> = FIGURES.iter().map(|figure| figure.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), FIGURES.len());
        assert_eq!(API_HIT_RATIO.show(Some(0.4071)), "40.71%");
        assert_eq!(THROUGHPUT.show(Some(50429.4)), "50429");
        assert_eq!(LOAD_IMBALANCE.show(Some(1.2345)), "1.234");
        assert_eq!(P99.show(None), "-");
        assert_eq!(P99_OVER_TWO_HOP.show(Some(1.5)), "1.50x");
        assert_eq!(SERVICE_P99_OVER_TWO_HOP.show(Some(0.5)), "0.50x");
        assert_eq!(LIMIT_FRACTION.show(Some(0.9164)), "91.6%");
        assert_eq!(EVENT_RECOVERY.show(Some(1.234)), "1.23");
        assert_eq!(API_HIT_RATIO.show_amount(0.02), "2.00 points");
        assert_eq!(SLOWDB_LOADS_PER_REQUEST.show_amount(0.0005), "0.0005");
        assert_eq!(find(P99.key), Some(&P99));
        assert_eq!(find("speed"), None);
    }

    #[test]
    fn imbalance_is_the_largest_over_the_mean() {
        assert_eq!(max_over_mean(&[1.0, 1.0, 1.0]), 1.0);
        assert_eq!(max_over_mean(&[1.0, 3.0]), 1.5);
        assert_eq!(max_over_mean(&[]), 0.0);
    }
}
