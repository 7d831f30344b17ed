//! Every figure's entry: its key, label, format, direction, default
//! threshold and how it is read, and the lists tables go through.

use super::{format, Better, Figure, Format, Read, Threshold};
use crate::geecache::source::Source;
use crate::harness::latency::LatencyFigures;
use crate::harness::report::Trial;
use crate::intervals::max_over_mean;

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
    format: format::LIMIT_FRACTION,
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

/// A source's latency p99 in a trial, when its answers said it.
fn source_p99(trial: &Trial, source: Source) -> Option<f64> {
    let by_source = trial.latency_by_source.as_ref()?;
    Some(by_source.get(source)?.latency_us.p99 as f64)
}

/// The p99 of answers the API node had in its cache.
pub static HIT_P99: Figure = Figure {
    key: "hit_p99_us",
    label: "cache-hit p99 us",
    column: "hit p99 us",
    unit: "microseconds",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| source_p99(trial, Source::Hit)),
};

/// The p99 of answers the API node loaded from its slow store.
pub static LOAD_P99: Figure = Figure {
    key: "load_p99_us",
    label: "load p99 us",
    column: "load p99 us",
    unit: "microseconds",
    format: Format::Whole,
    better: Better::Lower,
    speed: false,
    gate: None,
    read: Read::Trial(|trial| source_p99(trial, Source::Load)),
};

/// A cache hit's p99 over the one-hop reference server's: the request
/// path of an answer that needed no other node and no load, against bare
/// HTTP on the same machine in the same trial.
pub static HIT_P99_OVER_ONE_HOP: Figure = Figure {
    key: "hit_p99_over_one_hop",
    label: "cache-hit p99 / one-hop p99",
    column: "hit p99/one-hop",
    unit: "factor of the one-hop p99",
    format: Format::Factor,
    better: Better::Lower,
    speed: false,
    gate: threshold(1.0, 0.0),
    read: Read::Trial(|trial| {
        let one_hop = trial.calibration.as_ref()?.one_hop.p99_us;
        (one_hop > 0.0).then_some(source_p99(trial, Source::Hit)? / one_hop)
    }),
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
    gate: threshold(0.0, 0.005),
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
    gate: threshold(0.0, 0.005),
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
    gate: threshold(0.0, 0.005),
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
    gate: threshold(0.005, 0.0001),
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
pub static FIGURES: &[&Figure] = &[
    &THROUGHPUT,
    &P50,
    &P99,
    &P99_9,
    &LIMIT_FRACTION,
    &P99_OVER_TWO_HOP,
    &HIT_P99,
    &LOAD_P99,
    &HIT_P99_OVER_ONE_HOP,
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
pub static EVENT_FIGURES: &[&Figure] = &[
    &EVENT_ERRORS,
    &EVENT_EXTRA_LOADS,
    &EVENT_RECOVERY,
    &EVENT_MOVED_SHARE,
];
