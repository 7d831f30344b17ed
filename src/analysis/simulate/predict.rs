//! Predictions: the model run over a grid of configurations, each
//! configuration's counters and its events' costs, as a run with one
//! request in flight would count them.

use serde::{Deserialize, Serialize};

use super::model::{model_events, ClusterModel, KeySequence, ModelEvent, ModelReading, NodeModel};
use super::SimulateError;
use crate::analysis::grid::{in_parallel, Grid, GridPoint};
use crate::geecache::node::GroupReport;
use crate::geecache::GroupOptions;
use crate::harness::cluster::Faults;
use crate::harness::driver::ClientInterval;
use crate::harness::events::{Action, Event};
use crate::harness::ownership::{key_moves, KeyMoves, RingShape};
use crate::harness::report::{self, ClusterFigures, ClusterInterval, IntervalFigures};
use crate::harness::scenario::Applied;
use crate::harness::workload::{Bound, Workload};
use crate::intervals::max_over_mean;
/// What the model predicts for one configuration's measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The configuration.
    #[serde(flatten)]
    pub point: GridPoint,
    /// Measured requests.
    pub requests: u64,
    /// Cluster figures as a run reports them (no store latency).
    pub cluster: ClusterFigures,
    /// Each node's group during the measurement, as its `/_stats` delta.
    pub nodes: Vec<GroupReport>,
    /// Each node's slow-store loads.
    pub slowdb_loads: Vec<u64>,
    /// Each node's share of the ring.
    pub ring_shares: Vec<f64>,
    /// The requests of each interval by which `events` are measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_requests: Option<u64>,
    /// What each of the workload's events costs, in its order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventCost>,
}

impl Prediction {
    /// Max/mean of per-node slow-store loads.
    pub fn load_imbalance(&self) -> f64 {
        let loads: Vec<f64> = self
            .slowdb_loads
            .iter()
            .map(|&loads| loads as f64)
            .collect();
        max_over_mean(&loads)
    }

    /// Main-cache evictions over every node.
    pub fn evictions(&self) -> u64 {
        self.nodes
            .iter()
            .map(|node| node.main_cache.evictions)
            .sum()
    }
}

/// Runs the warm-up and the measurement of `keys` through a model of a
/// cluster with `options`, its ring given by `owners` and `shares`. Also
/// reads the counters after each count of measured requests in `marks`
/// (ascending), before the events due at that request, as a run with one
/// request in flight reads them at each interval's end.
pub(super) fn predict(
    keys: &KeySequence,
    point: GridPoint,
    options: GroupOptions,
    owners: &[u16],
    shares: Vec<f64>,
    events: &[ModelEvent],
    marks: &[u64],
) -> (Prediction, Vec<ModelReading>) {
    let mut model = ClusterModel::new(keys, owners, point, options);
    for &key in &keys.warmup {
        model.get(0, key, true);
    }
    let before_db = model.slowdb();
    let before: Vec<GroupReport> = model.nodes.iter().map(NodeModel::report).collect();
    let mut pending = events.iter().peekable();
    let mut marks = marks.iter().peekable();
    let mut readings = Vec::new();
    for (request, &key) in keys.measure.iter().enumerate() {
        let request = request as u64;
        while marks.next_if(|&&mark| mark <= request).is_some() {
            readings.push(model.reading());
        }
        while let Some(event) = pending.next_if(|event| event.at <= request) {
            model.apply(event.action);
        }
        if !model.get(0, key, true) && !keys.missing[key as usize] {
            model.errors += 1;
        }
    }
    for _ in marks {
        readings.push(model.reading());
    }
    let db = model.slowdb().since(&before_db);
    // A node that joined during the measurement did all it did then.
    let nodes: Vec<GroupReport> = model
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let now = node.report();
            let Some(before) = before.get(index) else {
                return now;
            };
            GroupReport {
                stats: now.stats.since(&before.stats),
                main_cache: now.main_cache.since(&before.main_cache),
                hot_cache: now
                    .hot_cache
                    .zip(before.hot_cache)
                    .map(|(now, before)| now.since(&before)),
                settings: now.settings,
            }
        })
        .collect();
    let requests = keys.measure.len() as u64;
    let mut cluster = ClusterFigures::of(
        nodes.first().map(|node| node.stats),
        nodes.iter().map(|node| &node.stats),
        Some(&db),
        requests,
    )
    .expect("a cluster has at least one node");
    cluster.slowdb.mean_latency_us = None;
    let prediction = Prediction {
        point,
        requests,
        cluster,
        nodes,
        slowdb_loads: db.per_node,
        ring_shares: shares,
        interval_requests: None,
        events: Vec::new(),
    };
    (prediction, readings)
}

/// The options of every node of a configuration.
pub(super) fn options_of(workload: &Workload, point: &GridPoint, faults: &Faults) -> GroupOptions {
    let mut settings = workload.cluster.clone();
    settings.nodes = point.ring.nodes;
    settings.hash = point.ring.hash;
    settings.replicas = point.ring.replicas;
    settings.cache_bytes = point.cache_bytes;
    faults.group_options(&settings)
}

/// The number of measured requests of a workload.
pub(crate) fn request_count(workload: &Workload) -> Result<u64, SimulateError> {
    match workload.bound() {
        Bound::Requests(count) => Ok(count),
        // The stages' schedule says how many it sends.
        Bound::Duration(_) => workload
            .staged_requests()
            .ok_or(SimulateError::NoRequestCount),
    }
}

/// The requests of each interval of the model's series, by which event
/// costs are measured: `asked`, or as many as the open loop sends in one of
/// the workload's intervals, or 1% of the measured requests.
fn interval_requests(workload: &Workload, asked: Option<u64>) -> Result<u64, SimulateError> {
    let measured = request_count(workload)?;
    let requests = asked.unwrap_or_else(|| match workload.rate {
        Some(rate) => (rate * workload.interval.0.as_secs_f64()).round() as u64,
        None => measured.div_ceil(100),
    });
    Ok(requests.max(1))
}

/// Predicts every configuration of `grid` for `workload`, in grid order,
/// on every core; with events, each one's cost, measured over intervals of
/// `interval` requests (by default an open loop's requests per workload
/// interval, else 1% of the requests).
pub fn simulate(
    workload: &Workload,
    grid: &Grid,
    interval: Option<u64>,
) -> Result<Vec<Prediction>, SimulateError> {
    let events = model_events(workload, None)?;
    let measured = request_count(workload)?;
    let keys = KeySequence::shifted(workload, workload.warmup_requests, measured, &events)?;
    // With events, the model is read every `interval` requests.
    let interval = interval_requests(workload, interval)?;
    let marks: Vec<u64> = if events.is_empty() {
        Vec::new()
    } else {
        let mut marks: Vec<u64> = (0..=measured).step_by(interval as usize).collect();
        if measured % interval != 0 {
            marks.push(measured);
        }
        marks
    };
    let points = grid.points(workload);
    // One ring per shape, shared by its cache sizes.
    let mut rings: Vec<RingShape> = Vec::new();
    for point in &points {
        if !rings.contains(&point.ring) {
            rings.push(point.ring);
        }
    }
    let owners: Vec<(Vec<u16>, Vec<f64>)> = in_parallel(rings.len(), |at| keys.owners(&rings[at]));
    let moves: Vec<Vec<(usize, KeyMoves)>> = in_parallel(rings.len(), |at| {
        ring_moves(&rings[at], &events, workload.keys)
    });
    Ok(in_parallel(points.len(), |at| {
        let point = points[at];
        let ring = rings
            .iter()
            .position(|ring| *ring == point.ring)
            .expect("every point's ring is listed");
        let (owners, shares) = &owners[ring];
        let options = options_of(workload, &point, &Faults::default());
        let (mut prediction, readings) = predict(
            &keys,
            point,
            options,
            owners,
            shares.clone(),
            &events,
            &marks,
        );
        if !events.is_empty() {
            prediction.interval_requests = Some(interval);
            prediction.events =
                event_costs(workload, &events, &moves[ring], &marks, &readings, interval);
        }
        prediction
    }))
}

/// The keys each join or leave among `events` moves on the ring of
/// `shape`, by event index, over the key space of `keys` keys: what a run
/// reports as the event's `moved_share`.
fn ring_moves(shape: &RingShape, events: &[ModelEvent], keys: u64) -> Vec<(usize, KeyMoves)> {
    let ring_of = |members: &[usize]| shape.build_among(members);
    let nodes = shape.nodes;
    let mut members: Vec<usize> = (0..nodes as usize).collect();
    let mut joined = nodes as usize;
    let mut moves = Vec::new();
    for event in events {
        let before = members.clone();
        match event.action {
            Action::AddNode {} => {
                members.push(joined);
                joined += 1;
            }
            Action::RemoveNode { node } => members.retain(|&member| member != node as usize),
            // The rest leave every ring as it is.
            Action::StopNode { .. }
            | Action::StartNode { .. }
            | Action::SlowNode { .. }
            | Action::BreakNode { .. }
            | Action::Slowdb { .. }
            | Action::ShiftKeys { .. }
            | Action::SetRate { .. } => continue,
        }
        moves.push((
            event.index,
            key_moves(&ring_of(&before), &ring_of(&members), keys),
        ));
    }
    moves
}

/// What an event costs in the model: a run's event figures, counted in
/// measured requests instead of seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventCost {
    /// The event as the workload gives it.
    #[serde(flatten)]
    pub event: Event,
    /// Failed requests (500s for keys the store has) in its window.
    pub errors: u64,
    /// Slow-store loads in its window beyond the baseline's rate; `null`
    /// when no interval preceded it.
    pub extra_slowdb_loads: Option<i64>,
    /// Slow-store loads per request in up to three intervals before it.
    pub baseline_loads_per_request: Option<f64>,
    /// Requests from the event until loads, errors and the API hit ratio
    /// are back within 10% of the baseline for three intervals; `null` when
    /// they are not before the next event or the end.
    pub recovery_requests: Option<u64>,
    /// The window's length in requests: to the recovery, the next event or
    /// the end.
    pub window_requests: Option<u64>,
    /// For a join or a leave: the share of the key space whose owner
    /// changed.
    pub moved_share: Option<f64>,
    /// The least a join or a leave can move.
    pub ideal_moved_share: Option<f64>,
}

/// Each event's cost from the model's readings at `marks` (every
/// `interval` requests), by the rules a run's event figures follow
/// ([`report::costs`]), with requests in place of seconds.
fn event_costs(
    workload: &Workload,
    events: &[ModelEvent],
    moves: &[(usize, KeyMoves)],
    marks: &[u64],
    readings: &[ModelReading],
    interval: u64,
) -> Vec<EventCost> {
    let series: Vec<IntervalFigures> = readings
        .windows(2)
        .zip(marks.windows(2))
        .enumerate()
        .map(|(at, (pair, span))| IntervalFigures {
            client: ClientInterval {
                interval: at as u64,
                start_secs: span[0] as f64,
                requests: span[1] - span[0],
                throughput_rps: 0.0,
                p50_us: None,
                p99_us: None,
                errors: pair[1].errors - pair[0].errors,
            },
            cluster: ClusterInterval::between(
                &pair[0].nodes,
                &pair[1].nodes,
                Some(0),
                Some((&pair[0].db_loads, &pair[1].db_loads)),
            ),
        })
        .collect();
    let measured = marks.last().copied().unwrap_or(0);
    let mut applied: Vec<Option<Applied>> = vec![None; workload.events.len()];
    for event in events.iter().filter(|event| event.at < measured) {
        let moved = moves.iter().find(|(index, _)| *index == event.index);
        applied[event.index] = Some(Applied {
            at_secs: event.at as f64,
            at_request: event.at,
            moved_share: moved.map(|(_, moves)| moves.moved_share()),
            ideal_moved_share: moved.map(|(_, moves)| moves.ideal_share),
            error: None,
        });
    }
    let requests = |value: f64| value.round() as u64;
    report::costs(
        &workload.events,
        &applied,
        &series,
        (interval as f64, measured as f64),
    )
    .into_iter()
    .map(|figures| EventCost {
        event: figures.event,
        errors: figures.errors,
        extra_slowdb_loads: figures.extra_slowdb_loads,
        baseline_loads_per_request: figures
            .baseline
            .map(|baseline| baseline.slowdb_loads_per_sec),
        recovery_requests: figures.recovery_secs.map(requests),
        window_requests: figures.window_secs.map(requests),
        moved_share: figures.moved_share,
        ideal_moved_share: figures.ideal_moved_share,
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geecache::stats::GroupStatsSnapshot;

    fn workload(text: &str) -> Workload {
        crate::harness::workload::parse(text, "test", "test").unwrap()
    }

    #[test]
    fn a_cache_that_holds_every_key_loads_each_once_and_one_node_fetches_nothing() {
        let workload = workload(
            r#"{"keys": 500, "requests": 20000, "warmup_requests": 0,
                "cluster": {"nodes": 3, "cache_bytes": "1MiB"}}"#,
        );
        let grid = Grid {
            nodes: vec![1, 3],
            ..Grid::default()
        };
        let predictions = simulate(&workload, &grid, None).unwrap();
        for prediction in &predictions {
            let slowdb = &prediction.cluster.slowdb;
            assert_eq!(slowdb.duplicate_loads, Some(0));
            assert_eq!(Some(slowdb.loads), slowdb.keys_loaded);
            assert_eq!(prediction.evictions(), 0);
            // Every request hits a cache or loads once.
            // Each get hits, loads from the store, or fetches from the
            // owner (which is a get there too).
            let sum = |field: fn(&GroupStatsSnapshot) -> u64| -> u64 {
                prediction.nodes.iter().map(|node| field(&node.stats)).sum()
            };
            assert_eq!(prediction.cluster.api_gets, Some(20000));
            assert_eq!(
                sum(|stats| stats.gets),
                sum(|stats| stats.cache_hits) + slowdb.loads + sum(|stats| stats.peer_loads)
            );
        }
        assert_eq!(predictions[0].cluster.peer_fetch_ratio, Some(0.0));
        let three = &predictions[1];
        let fetched = three.cluster.peer_fetch_ratio.unwrap();
        assert!(fetched > 0.3 && fetched < 0.9, "{fetched}");
    }

    #[test]
    fn a_small_cache_evicts_and_loads_again() {
        let workload = workload(
            r#"{"keys": 5000, "requests": 20000, "cluster": {"nodes": 2, "cache_bytes": "2KiB"}}"#,
        );
        let predictions = simulate(&workload, &Grid::default(), None).unwrap();
        let prediction = &predictions[0];
        assert!(prediction.evictions() > 1000);
        assert!(prediction.cluster.slowdb.duplicate_loads.unwrap() > 1000);
        for node in &prediction.nodes {
            assert!(node.main_cache.bytes <= 2048);
        }
    }

    #[test]
    fn the_hot_cache_serves_remote_keys_from_the_api_node() {
        let off = workload(
            r#"{"keys": 2000, "requests": 50000, "distribution": {"kind": "zipf", "exponent": 1.2},
                "cluster": {"nodes": 3, "cache_bytes": "1MiB"}}"#,
        );
        let mut on = off.clone();
        on.cluster.hot_cache = true;
        let off = &simulate(&off, &Grid::default(), None).unwrap()[0];
        let on = &simulate(&on, &Grid::default(), None).unwrap()[0];
        assert!(on.nodes[0].hot_cache.unwrap().hits > 0);
        assert!(on.cluster.peer_fetch_ratio.unwrap() < off.cluster.peer_fetch_ratio.unwrap());
        assert!(on.cluster.api_hit_ratio.unwrap() > off.cluster.api_hit_ratio.unwrap());
    }

    #[test]
    fn a_duration_bound_needs_a_request_count() {
        let workload = workload(r#"{"duration": "5s"}"#);
        assert!(matches!(
            simulate(&workload, &Grid::default(), None),
            Err(SimulateError::NoRequestCount)
        ));
    }
}
