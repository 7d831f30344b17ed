//! Turning what a run read into its result: the driver's figures, the
//! counters' differences node by node and interval by interval, the
//! events' costs and the target's settings.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::observe::{ring_of, CounterReading, Counters, Observer};
use super::plan::{RunError, RunPlan};
use crate::geecache::stats::{CacheStats, GroupStatsSnapshot};
use crate::geecache::{HashRing, NodeStats};
use crate::harness::calibration::Calibration;
use crate::harness::driver::{ClientInterval, PhaseReport, SLICE};
use crate::harness::fill::cache_fill;
use crate::harness::latency::{BySource, HistogramData, LatencyFigures};
use crate::harness::ownership::keys_owned;
use crate::harness::registry::one_trial;
use crate::harness::report::{
    self, failed_figures, group_of, ClientFigures, ClusterFigures, ClusterInterval,
    IntervalFigures, LatencyFrom, Machine, Mode, NodeFigures, RunResult, SeriesReading,
    ShardFigures, Slices, StartFigures, TargetSettings, Tool, SCHEMA_VERSION,
};
use crate::harness::scenario::Applied;
use crate::harness::slowdb::SlowDbFigures;
use crate::units::rfc3339;
/// What every result of one run shares, its checkpoints' and its last:
/// owned, so that a checkpoint can be made off the run's own task.
pub(super) struct RunFacts {
    pub(super) plan: RunPlan,
    pub(super) mode: Mode,
    pub(super) target: String,
    pub(super) started_at: SystemTime,
    /// The counters before the measurement.
    pub(super) before: Arc<CounterReading>,
    pub(super) calibration: Option<Calibration>,
    /// How the series was read.
    pub(super) series_reading: SeriesReading,
    /// When the measurement began, in milliseconds since the Unix epoch.
    pub(super) measure_started_unix_ms: u64,
    /// Which shard of the run this driver was.
    pub(super) shard: Option<ShardFigures>,
    /// When it was asked to begin measuring, and when it did.
    pub(super) start: Option<StartFigures>,
    /// The warm-up requests this driver sent.
    pub(super) warmup_requests: u64,
    /// Where the nodes, their ring and the API node are read.
    pub(super) observer: Arc<Observer>,
}

impl RunFacts {
    /// The result of what `report` holds, with the cluster read at the ends
    /// of `samples`, the last of them `after`.
    pub(super) fn result(
        &self,
        (report, after): (&PhaseReport, &CounterReading),
        samples: &[Counters],
        applied: &[Option<Applied>],
        (connections, cpu_us_per_request): (u64, Option<f64>),
    ) -> Result<RunResult, RunError> {
        let ring = ring_of(&self.observer, after);
        // The nodes now, less any that joined after `after` was read.
        let mut nodes = self.observer.nodes();
        nodes.truncate(after.nodes.len());
        assemble(
            self,
            Reached {
                report,
                nodes: &nodes,
                connections,
                after,
                ring: ring.as_ref(),
                samples,
                api_index: self.observer.api_index(after),
                applied,
                cpu_us_per_request,
            },
        )
    }
}

/// How far one result of the run reaches: the driver's figures, the
/// counters at its end, and what happened on the way.
struct Reached<'a> {
    report: &'a PhaseReport,
    /// (name on the ring, listening URL) of each node read in `after`.
    nodes: &'a [(String, String)],
    connections: u64,
    after: &'a CounterReading,
    ring: Option<&'a HashRing>,
    /// The counters at the start, at each interval's end, and at the end.
    samples: &'a [Counters],
    /// The API node, by index.
    api_index: Option<usize>,
    /// What each of the workload's events did.
    applied: &'a [Option<Applied>],
    /// This process's CPU time during the measurement, in microseconds per
    /// measured request.
    cpu_us_per_request: Option<f64>,
}

/// The driver's series with the cluster's figures of each interval beside
/// them.
pub(super) fn series_of(
    client: &[ClientInterval],
    samples: &[Counters],
    api_index: Option<usize>,
) -> Vec<IntervalFigures> {
    client
        .iter()
        .enumerate()
        .map(|(at, entry)| {
            let cluster = samples
                .get(at)
                .zip(samples.get(at + 1))
                .and_then(|(then, now)| {
                    let db = then.db_loads.as_deref().zip(now.db_loads.as_deref());
                    ClusterInterval::between(&then.nodes, &now.nodes, api_index, db)
                });
            IntervalFigures {
                client: entry.clone(),
                cluster,
            }
        })
        .collect()
}

/// The result: the driver's figures, each node's and the cluster's, the
/// series and the events' costs, the histograms, and a target's settings.
fn assemble(facts: &RunFacts, reached: Reached<'_>) -> Result<RunResult, RunError> {
    let workload = &facts.plan.workload;
    let report = reached.report;
    let client = client_figures(facts, &reached);
    let deltas = node_deltas(facts, &reached);
    let api_delta = match (&reached.after.api, &facts.before.api) {
        (Some(after), Some(before)) => Some(after.since(before)),
        _ => None,
    };
    let db_figures: Option<SlowDbFigures> = match (&reached.after.db, &facts.before.db) {
        (Some(after), Some(before)) => Some(after.since(before)),
        _ => None,
    };
    let nodes = node_figures(facts, &reached, &deltas, db_figures.as_ref());
    let node_groups: Vec<(GroupStatsSnapshot, CacheStats)> =
        deltas.iter().flatten().filter_map(group_of).collect();
    let api_group = api_delta.as_ref().and_then(group_of);
    let cluster = ClusterFigures::of(
        api_group.map(|(stats, _)| stats),
        node_groups.iter().map(|(stats, _)| stats),
        db_figures.as_ref(),
        report.counts.requests,
    );
    let calibration = facts.calibration.clone().map(|mut calibration| {
        let peer_fetch_ratio = cluster
            .as_ref()
            .and_then(|cluster| cluster.peer_fetch_ratio);
        calibration.blend(peer_fetch_ratio, client.throughput_rps);
        calibration
    });
    let series = series_of(&report.series, reached.samples, reached.api_index);
    let caches = (facts.mode == Mode::Cluster).then(|| {
        cache_fill(
            workload,
            facts.plan.trace.as_ref(),
            nodes.iter().filter_map(|node| node.evictions).sum(),
        )
    });
    let encode = |histogram: Option<&_>| histogram.map(HistogramData::encode).transpose();
    Ok(one_trial(RunResult {
        schema_version: SCHEMA_VERSION,
        tool: Tool::current(),
        started_at: rfc3339(facts.started_at),
        measure_started_unix_ms: Some(facts.measure_started_unix_ms),
        finished_at: rfc3339(SystemTime::now()),
        mode: facts.mode,
        target: facts.target.clone(),
        workload_source: facts.plan.source.clone(),
        workload: workload.clone(),
        machine: Machine::current(),
        events: report::costs(
            &workload.events,
            reached.applied,
            &series,
            (workload.interval.0.as_secs_f64(), client.duration_secs),
        ),
        client,
        cluster,
        nodes,
        series,
        caches,
        trace: facts.plan.trace.as_ref().map(|index| index.info.clone()),
        // Too short for three whole seconds (and a partial one): its
        // slices say how steady it was.
        slices: (report.elapsed < Duration::from_secs(4)).then(|| Slices {
            slice_secs: SLICE.as_secs_f64(),
            requests: report.slices.clone(),
        }),
        series_reading: facts.series_reading,
        histogram: HistogramData::encode(&report.histogram)?,
        service_histogram: encode(report.service_histogram.as_ref())?,
        failed_histogram: encode(report.failed_histogram.as_ref())?,
        calibration,
        faults: (!facts.plan.faults.is_none()).then_some(facts.plan.faults),
        trials: Vec::new(),
        timed: None,
        trials_agree: None,
        counted: None,
        memory: None,
        shard: facts.shard.clone(),
        start: facts.start.clone(),
        start_skew_ms: None,
        incomplete: None,
        merged_from: Vec::new(),
        target_settings: (facts.mode == Mode::Target).then(|| target_settings(facts, &reached)),
    }))
}

/// What the driver measured: its counts, throughput and latencies.
fn client_figures(facts: &RunFacts, reached: &Reached<'_>) -> ClientFigures {
    let report = reached.report;
    let counts = &report.counts;
    let seconds = report.elapsed.as_secs_f64();
    let failed = failed_figures(&report.histogram, report.failed_histogram.as_ref());
    ClientFigures {
        requests: counts.requests,
        responses: report.histogram.len(),
        ok: counts.ok,
        missing: counts.missing,
        errors: counts.errors.clone(),
        warmup_requests: facts.warmup_requests,
        duration_secs: seconds,
        throughput_rps: if seconds > 0.0 {
            counts.requests as f64 / seconds
        } else {
            0.0
        },
        latency_us: LatencyFigures::of(&report.histogram),
        failed_latency_us: failed.0,
        all_latency_us: failed.1,
        latency_from: Some(if report.service_histogram.is_some() {
            LatencyFrom::IntendedSend
        } else {
            LatencyFrom::Send
        }),
        service_time_us: report.service_histogram.as_ref().map(LatencyFigures::of),
        stopped_by: report.stopped_by,
        connections: reached.connections,
        unsent: report.unsent,
        cpu_us_per_request: reached.cpu_us_per_request,
        latency_by_source: BySource::of(&report.by_source),
    }
}

/// What each node did during the measurement. A node that joined during
/// it has no reading before it: all it did is new.
fn node_deltas(facts: &RunFacts, reached: &Reached<'_>) -> Vec<Option<NodeStats>> {
    reached
        .after
        .nodes
        .iter()
        .enumerate()
        .map(|(index, after)| {
            let after = after.as_ref()?;
            Some(match facts.before.nodes.get(index) {
                Some(Some(before)) => after.since(before),
                Some(None) => return None,
                None => after.clone(),
            })
        })
        .collect()
}

/// Each node's figures: its place on the ring, the keys it owns, what it
/// did (`deltas`) and its slow-store loads; a target's nodes keep their
/// readings too.
fn node_figures(
    facts: &RunFacts,
    reached: &Reached<'_>,
    deltas: &[Option<NodeStats>],
    db_figures: Option<&SlowDbFigures>,
) -> Vec<NodeFigures> {
    // Ring shares and owned keys, by node URL.
    let (shares, owned) = match reached.ring {
        Some(ring) => (ring.shares(), keys_owned(ring, facts.plan.workload.keys)),
        None => (Vec::new(), Vec::new()),
    };
    let place = |url: &str| {
        reached
            .ring
            .and_then(|ring| ring.peers().iter().position(|peer| peer == url))
    };
    let api_url = reached.after.api.as_ref().map(|stats| stats.url.clone());
    reached
        .nodes
        .iter()
        .enumerate()
        .map(|(index, (url, listen))| {
            let slot = place(url);
            let mut figures = NodeFigures::at(
                index,
                url,
                listen,
                match facts.mode {
                    Mode::Cluster => index == 0,
                    Mode::Target => api_url.as_deref() == Some(url.as_str()),
                },
            );
            // A node off a known ring owns nothing; without the ring (a
            // target whose nodes did not report it) nothing is known.
            if reached.ring.is_some() {
                figures.ring_share = Some(
                    slot.and_then(|slot| shares.get(slot))
                        .copied()
                        .unwrap_or(0.0),
                );
                figures.keys_owned =
                    Some(slot.and_then(|slot| owned.get(slot)).copied().unwrap_or(0));
            }
            figures.set_stats(
                deltas.get(index).cloned().flatten(),
                db_figures.and_then(|figures| figures.per_node.get(index).copied()),
            );
            // A target's nodes keep their readings, so that the results of
            // drivers that ran at once can be merged over their union.
            if facts.mode == Mode::Target {
                figures.stats_start = facts.before.nodes.get(index).cloned().flatten();
                figures.stats_end = reached.after.nodes.get(index).cloned().flatten();
                figures.stats_error = [&*facts.before, reached.after]
                    .iter()
                    .find_map(|reading| reading.problems.get(index).cloned().flatten());
            }
            figures
        })
        .collect()
}

/// A target's settings, as its nodes report them: the API node's reading
/// first, then each peer's.
fn target_settings(facts: &RunFacts, reached: &Reached<'_>) -> TargetSettings {
    let readings: Vec<&NodeStats> = facts
        .before
        .api
        .iter()
        .chain(facts.before.nodes.iter().flatten())
        .collect();
    TargetSettings::of(&readings, &facts.plan.workload.cluster, reached.nodes.len())
}
