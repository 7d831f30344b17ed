//! The summary printed when a run ends: the figures a user looks at first,
//! from the result (see [`super::report`]). [`summary`] reads as its
//! outline: the configuration, the requests, the latency, the costs, the
//! faults, the cluster, the events and the nodes, each a function here;
//! the tables that other pages show too (trials, nodes, series, events)
//! are in `tables`.

mod tables;

pub use tables::{event_lines, node_rows, series_table, trials_table};

use std::fmt::Write as _;
use std::path::Path;

use crate::geecache::source::Source as AnswerSource;
use crate::harness::calibration::Calibration;
use crate::harness::cluster::Faults;
use crate::harness::counted::costs::CountedPass;
use crate::harness::driver::StopReason;
use crate::harness::latency::LatencyFigures;
use crate::harness::registry::{
    API_HIT_RATIO, CLUSTER_OVER_HOPS, CPU_PER_REQUEST, DUPLICATE_LOADS, LIMIT_FRACTION,
    PEER_FETCH_RATIO, SLOWDB_LOADS_PER_REQUEST,
};
use crate::harness::report::{LatencyFrom, Mode, RunResult, SettingOrigin, TargetSettings};
use crate::table::align;

/// Formats a ratio as a percentage, or `-` when absent.
pub(crate) fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("-".to_owned(), |ratio| format!("{:.1}%", ratio * 100.0))
}

fn number(value: Option<u64>) -> String {
    value.map_or("-".to_owned(), |value| value.to_string())
}

/// Functions a profile's summary lists for each side.
const PROFILE_TOP: usize = 12;

/// A counted pass's costs: a line each for the run and the bare servers.
fn counted_lines(counted: &CountedPass) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "counted pass ({} requests each, one in flight; {}):",
        counted.requests,
        counted.tools.join(", ")
    );
    let whole = |value: f64| format!("{value:.0}");
    let rows = [
        ("run", &counted.run),
        ("one-hop server", &counted.one_hop),
        ("two-hop server", &counted.two_hop),
    ];
    let mut table = vec![[
        String::new(),
        "instr/req".to_owned(),
        "driver".to_owned(),
        "servers".to_owned(),
        "rest".to_owned(),
        "syscalls/req".to_owned(),
    ]];
    for (name, costs) in rows {
        table.push([
            format!("  {name}"),
            whole(costs.instructions_per_request),
            whole(costs.driver_instructions_per_request),
            whole(costs.server_instructions_per_request),
            whole(
                costs.instructions_per_request
                    - costs.driver_instructions_per_request
                    - costs.server_instructions_per_request,
            ),
            costs
                .syscalls_per_request
                .map_or("-".to_owned(), |calls| format!("{calls:.2}")),
        ]);
    }
    out.push_str(&align(&table, |column| column == 0));
    if let Some(profile) = &counted.profile {
        out.push_str(&profile.render(counted.peer_fetch_ratio, PROFILE_TOP));
    }
    if let Some(factor) = counted.server_over_hops() {
        let _ = writeln!(
            out,
            "  {} {}  (the cluster's server instructions over the bare servers' for the same \
             hops, at peer-fetch ratio {})",
            CLUSTER_OVER_HOPS.label,
            CLUSTER_OVER_HOPS.show(Some(factor)),
            PEER_FETCH_RATIO.show(counted.peer_fetch_ratio)
        );
    }
    out
}

/// The calibration: which trial's it is, its reference servers, the limit
/// fraction (the trials' median), and what makes it doubtful.
fn calibration_lines(calibration: &Calibration, trials: usize) -> String {
    let mut out = String::new();
    let whose = match calibration.trial {
        Some(trial) => format!(" of trial {trial} of {trials} (the median by throughput)"),
        None => String::new(),
    };
    let limit = match (calibration.blended_limit_rps, calibration.limit_fraction) {
        (Some(limit), Some(fraction)) if calibration.trial.is_some() => format!(
            "  blended limit {limit:.0} req/s; the trials reached a median {} of theirs",
            LIMIT_FRACTION.show(Some(fraction))
        ),
        (Some(limit), Some(fraction)) => format!(
            "  blended limit {limit:.0} req/s: this run reached {} of it",
            LIMIT_FRACTION.show(Some(fraction))
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "calibration{whose}  one-hop {:.0} req/s (p99 {:.0} us)  two-hop {:.0} req/s (p99 {:.0} us){limit}",
        calibration.one_hop.throughput_rps,
        calibration.one_hop.p99_us,
        calibration.two_hop.throughput_rps,
        calibration.two_hop.p99_us,
    );
    for doubt in &calibration.doubts {
        let _ = writeln!(out, "CALIBRATION DOUBTFUL: {}", doubt.text);
    }
    out
}

/// The nodes whose `/_stats` could not be read, and why: `: URL answered
/// 404 Not Found; ...`, or nothing.
fn unread(result: &RunResult) -> String {
    let problems: Vec<String> = result
        .nodes
        .iter()
        .filter_map(|node| Some(format!("{} {}", node.url, node.stats_error.as_ref()?)))
        .collect();
    if problems.is_empty() {
        String::new()
    } else {
        format!(": {}", problems.join("; "))
    }
}

/// The first lines of a target run's summary: the target, its nodes, and
/// its settings where the nodes' `/_stats` reported them (`unknown`
/// elsewhere: the workload's values are not the target's).
fn target_lines(result: &RunResult, settings: &TargetSettings) -> String {
    let known = |origin: SettingOrigin, shown: String, name: &str| match origin {
        SettingOrigin::Assumed => format!("{name} unknown"),
        _ => shown,
    };
    let switch = |on: bool| if on { "on" } else { "off" };
    let nodes = match settings.nodes.source {
        SettingOrigin::Observed => format!("{} nodes on its ring", settings.nodes.value),
        SettingOrigin::Given => format!("{} nodes given by --peers", settings.nodes.value),
        SettingOrigin::Assumed => "nodes unknown".to_owned(),
    };
    let mut out = format!(
        "{} {}  {}  target {}  {nodes}  {}  {}  {}  {}  {}  {}\n",
        result.tool.name,
        result.tool.version,
        result.workload.name,
        result.target,
        known(
            settings.replicas.source,
            format!("{} replicas", settings.replicas.value),
            "replicas"
        ),
        known(
            settings.hash.source,
            settings.hash.value.to_string(),
            "hash"
        ),
        known(
            settings.cache_bytes.source,
            format!("{}/node", settings.cache_bytes.value),
            "cache size"
        ),
        known(
            settings.singleflight.source,
            format!("singleflight {}", switch(settings.singleflight.value)),
            "singleflight"
        ),
        known(
            settings.hot_cache.source,
            format!("hot cache {}", switch(settings.hot_cache.value)),
            "hot cache"
        ),
        result.machine.profile,
    );
    if !result.nodes.is_empty() {
        let peers: Vec<&str> = result.nodes.iter().map(|node| node.url.as_str()).collect();
        let _ = writeln!(out, "peers  {}", peers.join("  "));
    }
    if !settings.disagree.is_empty() {
        let _ = writeln!(
            out,
            "THE NODES DISAGREE on {}: the API node's (or the first read) is shown",
            settings.disagree.join(", ")
        );
    }
    out
}

/// A shard's part of its run and a start moment's lateness, when given.
fn coordination_lines(result: &RunResult) -> String {
    let mut out = String::new();
    let workload = &result.workload;
    if let Some(shard) = &result.shard {
        let share = &shard.share;
        let mut parts = vec![format!(
            "{} of {} connections",
            share.concurrency, workload.concurrency
        )];
        if let (Some(mine), Some(all)) = (share.requests, workload.requests) {
            parts.push(format!("{mine} of {all} requests"));
        }
        if workload.warmup_requests > 0 {
            parts.push(format!(
                "{} of {} warm-up",
                share.warmup_requests, workload.warmup_requests
            ));
        }
        if let (Some(mine), Some(all)) = (share.rate, workload.rate) {
            parts.push(format!("{mine:.1} of {all} req/s"));
        }
        let _ = writeln!(
            out,
            "shard {}/{} (fingerprint {}): {}",
            shard.index,
            shard.count,
            shard.fingerprint,
            parts.join(", ")
        );
    }
    if let Some(start) = &result.start {
        let _ = writeln!(
            out,
            "start moment {}: {}",
            crate::units::rfc3339(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(start.asked_unix_ms)
            ),
            if start.late_ms == 0 {
                "measuring began on time".to_owned()
            } else {
                format!("LATE: measuring began {} ms after it", start.late_ms)
            }
        );
    }
    out
}

/// The table printed when a run ends: the figures a user looks at first,
/// in this order.
pub fn summary(result: &RunResult, path: Option<&Path>) -> String {
    let mut out = configuration_lines(result);
    out.push_str(&request_lines(result));
    out.push_str(&latency_lines(result));
    out.push_str(&cost_lines(result));
    if let Some(faults) = &result.faults {
        out.push_str(&fault_lines(faults));
    }
    out.push_str(&cluster_lines(result));
    out.push_str(&event_lines(result));
    // The node table: text left, figures right.
    out.push_str(&align(&node_rows(result), |column| column < 3));
    if let Some(path) = path {
        let _ = writeln!(out, "result: {}", path.display());
    }
    out
}

/// What ran: the configuration (or a target's settings), and what makes
/// the result partial or different: incomplete, a trace, stages, shards.
fn configuration_lines(result: &RunResult) -> String {
    let workload = &result.workload;
    let cluster = &workload.cluster;
    let mut out = String::new();
    match (&result.target_settings, result.mode) {
        (Some(settings), Mode::Target) => out.push_str(&target_lines(result, settings)),
        _ => {
            let _ = writeln!(
                out,
                "{} {}  {}  {} nodes  {} replicas  {}  {}/node  singleflight {}  {}{}",
                result.tool.name,
                result.tool.version,
                workload.name,
                result.nodes.len(),
                cluster.replicas,
                cluster.hash,
                cluster.cache_bytes,
                if cluster.singleflight { "on" } else { "off" },
                result.machine.profile,
                match result.mode {
                    Mode::Cluster => String::new(),
                    Mode::Target => format!("  target {}", result.target),
                }
            );
        }
    }
    if let Some(incomplete) = &result.incomplete {
        let _ = writeln!(out, "INCOMPLETE: this result was {incomplete}");
    }
    if let Some(trace) = &result.trace {
        let _ = writeln!(out, "{}", trace.describe());
    }
    if let Some(stages) = workload.describe_stages() {
        let _ = writeln!(out, "{stages}");
    }
    out.push_str(&coordination_lines(result));
    out
}

/// The requests: sent, answered, failed by kind, how long, how fast, why
/// it stopped, and what an overloaded open loop never sent.
fn request_lines(result: &RunResult) -> String {
    let workload = &result.workload;
    let client = &result.client;
    let mut out = String::new();
    let errors = &client.errors;
    let mut error_kinds = Vec::new();
    for (code, count) in &errors.status {
        error_kinds.push(format!("{count}x{code}"));
    }
    for (name, count) in [
        ("timeout", errors.timeout),
        ("connection", errors.connection),
        ("wrong value", errors.wrong_value),
    ] {
        if count > 0 {
            error_kinds.push(format!("{count} {name}"));
        }
    }
    if !errors.broken.is_zero() {
        error_kinds.push(format!("broken answers: {}", errors.broken.describe()));
    }
    let error_detail = if error_kinds.is_empty() {
        String::new()
    } else {
        format!(" ({})", error_kinds.join(", "))
    };
    let _ = writeln!(
        out,
        "requests {}  ok {}  missing {}  errors {}{}  duration {:.2} s  throughput {:.0} req/s{}",
        client.requests,
        client.ok,
        client.missing,
        errors.total,
        error_detail,
        client.duration_secs,
        client.throughput_rps,
        match client.stopped_by {
            StopReason::TimeLimit => "  (stopped by the time limit)",
            StopReason::Interrupted => "  (interrupted)",
            StopReason::TraceEnded => "  (the trace ended first)",
            StopReason::Unfinished => "  (so far: the run went on)",
            _ if result.trials.len() > 1 =>
                "  (the median trial; throughput: median of the trials)",
            _ => "",
        }
    );
    if client.unsent > 0 {
        let _ = writeln!(
            out,
            "OVERLOADED: the open loop asked for {} req/s and the cluster served {:.0} req/s; \
             {} requests scheduled before the end were never sent (counted as unsent, not as errors)",
            workload
                .rate
                .map_or("its".to_owned(), |rate| format!("{rate:.0}")),
            client.throughput_rps,
            client.unsent
        );
    }
    out
}

/// Latency: of the answered requests (and in an open loop their service
/// time), of the failed ones and of all, and by where the answer came from.
fn latency_lines(result: &RunResult) -> String {
    let client = &result.client;
    let latency = &client.latency_us;
    let mut out = String::new();
    let figures = |latency: &LatencyFigures| {
        format!(
            "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0}",
            latency.p50, latency.p90, latency.p99, latency.p99_9, latency.max, latency.mean
        )
    };
    // Which requests the latency line holds: the answered ones, and with
    // failures, what they took and every request together.
    let answered = match client.failed_latency_us {
        Some(_) => "answered requests only",
        None => "every request: none failed",
    };
    match (&client.service_time_us, client.latency_from) {
        (Some(service), _) => {
            let _ = writeln!(
                out,
                "latency us  {}  (open loop: from each request's intended send; {answered})",
                figures(latency)
            );
            let _ = writeln!(
                out,
                "service us  {}  (from the actual send; {answered})",
                figures(service)
            );
        }
        (None, Some(LatencyFrom::Send)) => {
            let _ = writeln!(
                out,
                "latency us  {}  (closed loop: from each send, which makes it the service time; \
                 {answered})",
                figures(latency)
            );
        }
        (None, _) => {
            let _ = writeln!(out, "latency us  {}  ({answered})", figures(latency));
        }
    }
    if let (Some(failed), Some(all)) = (&client.failed_latency_us, &client.all_latency_us) {
        let _ = writeln!(
            out,
            "failed us   {}  (the {} requests with no answer, timeouts, connection failures and \
             broken answers, at their time to failure)",
            figures(failed),
            client.errors.timeout + client.errors.connection + client.errors.broken.total()
        );
        let _ = writeln!(
            out,
            "all us      {}  (every request: the answered at their latency, the failed at \
             their time to failure)",
            figures(all)
        );
    }
    if let Some(by_source) = &result.client.latency_by_source {
        let parts: Vec<String> = AnswerSource::ALL
            .into_iter()
            .filter_map(|source| {
                let figures = by_source.get(source)?;
                Some(format!(
                    "{} {} answers p50 {} p99 {}",
                    source.as_str(),
                    figures.answers,
                    figures.latency_us.p50,
                    figures.latency_us.p99
                ))
            })
            .collect();
        let _ = writeln!(
            out,
            "latency us by source  {}  (where the API node got each value)",
            parts.join("  |  ")
        );
    }
    out
}

/// What the run cost and how far to trust its timings: CPU per request,
/// memory, the counted pass, steadiness, calibration and the trials.
fn cost_lines(result: &RunResult) -> String {
    let mut out = String::new();
    if let Some(cpu) = result.client.cpu_us_per_request {
        let whose = match result.mode {
            Mode::Cluster => "the driver and the cluster in this process",
            Mode::Target => "the driver",
        };
        let _ = writeln!(
            out,
            "{} {}  ({whose}: user and system time from the OS)",
            CPU_PER_REQUEST.label,
            CPU_PER_REQUEST.show(Some(cpu))
        );
    }
    if let Some(memory) = &result.memory {
        out.push_str(&memory.describe(result.client.duration_secs));
    }
    if let Some(counted) = &result.counted {
        out.push_str(&counted_lines(counted));
    }
    if let Some(steadiness) = result.steadiness() {
        if steadiness.unsteady() {
            let _ = writeln!(
                out,
                "UNSTEADY: throughput {}: something else may have had the CPU; the timed \
                 figures are doubtful, run again",
                steadiness.range()
            );
        }
    }
    if let Some(calibration) = &result.calibration {
        out.push_str(&calibration_lines(calibration, result.trials.len()));
    }
    if result.trials.len() > 1 {
        out.push_str(&trials_table(result));
    }
    out
}

/// The faults injected into every request.
fn fault_lines(faults: &Faults) -> String {
    let mut out = String::new();
    if let Some(delay) = faults.delay {
        let _ = writeln!(
            out,
            "INJECTED FAULT: {delay} added to every request each node served"
        );
    }
    if faults.cpu > 0 {
        let _ = writeln!(
            out,
            "INJECTED FAULT: {} units of CPU work added to every request each node served",
            faults.cpu
        );
    }
    if faults.cache_off {
        let _ = writeln!(out, "INJECTED FAULT: every node's caches kept nothing");
    }
    out
}

/// What the cluster did: hit and peer-fetch ratios, slow-store loads,
/// peer errors, answers broken on purpose, caches that never filled; or
/// why there are no cluster figures.
fn cluster_lines(result: &RunResult) -> String {
    let workload = &result.workload;
    let client = &result.client;
    let mut out = String::new();
    match &result.cluster {
        Some(figures) => {
            let slowdb = &figures.slowdb;
            let _ = writeln!(
                out,
                "{} {}  {} {}  slowdb loads {} ({} per request, duplicates {})",
                API_HIT_RATIO.label,
                API_HIT_RATIO.show(figures.api_hit_ratio),
                PEER_FETCH_RATIO.label,
                PEER_FETCH_RATIO.show(figures.peer_fetch_ratio),
                slowdb.loads,
                SLOWDB_LOADS_PER_REQUEST.show(Some(slowdb.loads_per_request)),
                DUPLICATE_LOADS.show(slowdb.duplicate_loads.map(|loads| loads as f64)),
            );
            if let (Some(first), Some(repeat)) = (slowdb.first_loads, slowdb.repeat_loads) {
                let _ = writeln!(
                    out,
                    "slowdb loads by kind  {first} first loads of a key (compulsory: no cache saves \
                     them)  {repeat} repeats (evicted, fallback or stampede: a cache could)"
                );
            }
            if figures.peer_errors > 0 {
                let broken = if figures.peer_broken.is_zero() {
                    String::new()
                } else {
                    format!(" (broken answers: {})", figures.peer_broken.describe())
                };
                let _ = writeln!(
                    out,
                    "peer errors {}{broken}: the asking node loaded each itself, unless the \
                     owner's store had failed",
                    figures.peer_errors
                );
            }
            let sent: Vec<String> = result
                .nodes
                .iter()
                .filter_map(|node| {
                    let sent = node.stats.as_ref()?.broken_sent;
                    let listed = crate::table::counts(sent.named());
                    (!listed.is_empty()).then(|| format!("node {}: {listed}", node.index))
                })
                .collect();
            if !sent.is_empty() {
                let _ = writeln!(out, "answers broken on purpose  {}", sent.join("; "));
            }
            if let Some(warning) = result
                .caches
                .as_ref()
                .and_then(|caches| caches.warning(client.requests + workload.warmup_requests))
            {
                let _ = writeln!(out, "CACHES NEVER FILLED: {warning}");
            }
        }
        None if result.nodes.is_empty() => {
            let _ = writeln!(
                out,
                "cluster figures: absent (give --peers to read each node's /_stats)"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "cluster figures: absent: no node's /_stats could be read{}",
                unread(result)
            );
        }
    }
    if result.cluster.is_some() && result.nodes.iter().any(|node| node.stats_error.is_some()) {
        let _ = writeln!(
            out,
            "cluster figures: some nodes left out, their /_stats could not be read{}",
            unread(result)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::calibration::{doubts, measured};

    #[test]
    fn the_calibration_line_says_whose_it_is_and_what_is_doubtful() {
        let mut calibration = measured(1000.0, 500.0, Some(1.2));
        calibration.blended_limit_rps = Some(800.0);
        calibration.doubts = doubts(&[Some(&calibration)]);
        let single = calibration_lines(&calibration, 1);
        assert!(single.contains("blended limit 800 req/s: this run reached 120.0% of it"));
        assert!(
            single.contains("CALIBRATION DOUBTFUL: the run reached 120.0%"),
            "{single}"
        );
        calibration.trial = Some(2);
        calibration.limit_fraction = Some(0.9);
        calibration.doubts.clear();
        let trials = calibration_lines(&calibration, 3);
        assert!(
            trials.starts_with("calibration of trial 2 of 3 (the median by throughput)")
                && trials.contains("the trials reached a median 90.0% of theirs")
                && !trials.contains("DOUBTFUL"),
            "{trials}"
        );
    }
}
