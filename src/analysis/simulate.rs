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

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::analysis::grid::{in_parallel, Grid, Point};
use crate::geecache::group::keeps_hot;
use crate::geecache::node::GroupReport;
use crate::geecache::stats::GroupSettings;
use crate::geecache::stats::{CacheStats, GroupStatsSnapshot};
use crate::geecache::{GroupOptions, HashKind, HashRing};
use crate::harness::cluster::{ring_name, Faults, GROUP};
use crate::harness::driver::ClientInterval;
use crate::harness::driver::KeySampler;
use crate::harness::events::{key_moves, Action, Event, KeyMoves};
use crate::harness::registry::{
    max_over_mean, API_HIT_RATIO, CLUSTER_HIT_RATIO, DUPLICATE_LOADS, EVENT_ERRORS,
    EVENT_EXTRA_LOADS, EVENT_MOVED_SHARE, LOAD_IMBALANCE, PEER_FETCH_RATIO, RING_IMBALANCE,
    SLOWDB_LOADS_PER_REQUEST,
};
use crate::harness::report::{
    self, ClusterFigures, ClusterInterval, IntervalFigures, Mode, NodeCounters, RunResult,
    SeriesReading,
};
use crate::harness::run::{MEASURE_STREAM, WARMUP_STREAM};
use crate::harness::scenario::Applied;
use crate::harness::slowdb::{fails_in_brownout, is_missing, key_name, SlowDbSnapshot};
use crate::harness::summary::percent;
use crate::harness::workload::{Bound, Workload};
use crate::units::align;

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
}

/// An event as the model carries it out: before measured request `at`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelEvent {
    /// Its index in the workload's events.
    pub index: usize,
    /// The measured request it comes before.
    pub at: u64,
    /// What it does.
    pub action: Action,
}

/// The workload's events in the order the model carries them out. Each
/// needs a request number: its `at_request`, or, for a result, the request
/// the run had reached when it happened (`applied`, by event; `None` for
/// one that did not happen). Ring changes and slow nodes are not modelled
/// yet, and a workload with them is refused.
pub fn model_events(
    workload: &Workload,
    applied: Option<&[Option<u64>]>,
) -> Result<Vec<ModelEvent>, SimulateError> {
    let mut events = Vec::new();
    for (index, event) in workload.events.iter().enumerate() {
        if matches!(event.action, Action::SlowNode { .. }) {
            return Err(SimulateError::Events(format!(
                "events[{index}] ({event}): the model follows every action but slow_node, \
                 whose effect depends on timing"
            )));
        }
        let at = match (event.at_request, applied) {
            (Some(request), None) => Some(request),
            (_, Some(applied)) => applied.get(index).copied().flatten(),
            (None, None) => {
                return Err(SimulateError::Events(format!(
                    "events[{index}] ({event}) happens at a time, and the model counts \
                     requests: give it at_request, or verify a result of the run"
                )))
            }
        };
        if let Some(at) = at {
            events.push(ModelEvent {
                index,
                at,
                action: event.action,
            });
        }
    }
    events.sort_by_key(|event| event.at);
    Ok(events)
}

/// The keys a workload asks for, in order, numbered densely in order of
/// first appearance; shared by every configuration simulated.
pub struct KeySequence {
    warmup: Vec<u32>,
    measure: Vec<u32>,
    /// The key-space index of each dense number.
    index: Vec<u64>,
    /// Whether each key is one the store does not have.
    missing: Vec<bool>,
    /// What each key costs in a cache: its name's length plus the value's.
    weight: Vec<u64>,
}

impl KeySequence {
    /// The keys of `warmup` warm-up and `measure` measured requests of
    /// `workload`, as the driver picks them.
    pub fn new(workload: &Workload, warmup: u64, measure: u64) -> Result<Self, SimulateError> {
        KeySequence::shifted(workload, warmup, measure, &[])
    }

    /// As [`KeySequence::new`], with the hot set moved by `events`'
    /// `shift_keys` from the measured request each names.
    pub fn shifted(
        workload: &Workload,
        warmup: u64,
        measure: u64,
        events: &[ModelEvent],
    ) -> Result<Self, SimulateError> {
        for count in [warmup, measure] {
            if count >= u64::from(u32::MAX) {
                return Err(SimulateError::TooManyRequests(count));
            }
        }
        let sampler = KeySampler::new(workload.keys, workload.distribution, workload.seed)
            .map_err(SimulateError::Sampler)?;
        // Each request's key depends only on its number: draw them in
        // chunks on every core.
        let sample = |stream: u64, count: u64| -> Vec<u64> {
            const CHUNK: u64 = 1 << 16;
            in_parallel(count.div_ceil(CHUNK) as usize, |chunk| {
                let first = chunk as u64 * CHUNK;
                (first..count.min(first + CHUNK))
                    .map(|request| sampler.index(stream, request))
                    .collect::<Vec<u64>>()
            })
            .concat()
        };
        let warmup_keys = sample(WARMUP_STREAM, warmup);
        let mut measure_keys = sample(MEASURE_STREAM, measure);
        let shifts: Vec<(u64, u64)> = events
            .iter()
            .filter_map(|event| match event.action {
                Action::ShiftKeys { offset } => Some((event.at, offset)),
                _ => None,
            })
            .collect();
        for (at, &(from, offset)) in shifts.iter().enumerate() {
            let until = shifts.get(at + 1).map_or(measure, |next| next.0);
            for index in &mut measure_keys[from.min(measure) as usize..until.min(measure) as usize]
            {
                *index = (*index + offset) % workload.keys;
            }
        }
        let mut numbers: HashMap<u64, u32> = HashMap::new();
        let mut sequence = KeySequence {
            warmup: Vec::with_capacity(warmup_keys.len()),
            measure: Vec::with_capacity(measure_keys.len()),
            index: Vec::new(),
            missing: Vec::new(),
            weight: Vec::new(),
        };
        let share = workload.slowdb.missing_share;
        let mut number_of = |index: u64, sequence: &mut KeySequence| -> u32 {
            *numbers.entry(index).or_insert_with(|| {
                sequence.index.push(index);
                sequence.missing.push(is_missing(index, share));
                sequence
                    .weight
                    .push(key_name(index).len() as u64 + workload.value_size);
                (sequence.index.len() - 1) as u32
            })
        };
        for index in warmup_keys {
            let number = number_of(index, &mut sequence);
            sequence.warmup.push(number);
        }
        for index in measure_keys {
            let number = number_of(index, &mut sequence);
            sequence.measure.push(number);
        }
        Ok(sequence)
    }

    /// Distinct keys asked for.
    pub fn distinct(&self) -> usize {
        self.index.len()
    }

    /// The owner of each key on a ring of `nodes` nodes named as a run
    /// names them, and each node's ring share.
    pub fn owners(&self, nodes: u32, replicas: u32, hash: HashKind) -> (Vec<u16>, Vec<f64>) {
        let members: Vec<usize> = (0..nodes as usize).collect();
        self.owners_among(&members, replicas, hash)
    }

    /// The owner of each key (a node index) on the ring of `members` (node
    /// indices, in the order the nodes add them), and each member's share.
    pub fn owners_among(
        &self,
        members: &[usize],
        replicas: u32,
        hash: HashKind,
    ) -> (Vec<u16>, Vec<f64>) {
        let mut ring = HashRing::new(replicas as usize, hash);
        ring.add(members.iter().map(|&member| ring_name(member)));
        let owners = self
            .index
            .iter()
            .map(|&index| {
                let slot = ring.owner_index(&key_name(index)).unwrap_or(0);
                members.get(slot).copied().unwrap_or(0) as u16
            })
            .collect();
        (owners, ring.shares())
    }
}

const NIL: u32 = u32::MAX;

/// A byte-bounded LRU over dense key numbers with [`crate::geecache::lru`]'s
/// rules: an entry costs its key's and value's bytes, adding makes it the
/// most recently used and then evicts from the least recently used end
/// until the bound holds, 0 is no bound.
struct DenseLru {
    max_bytes: u64,
    bytes: u64,
    items: u64,
    present: Vec<bool>,
    /// Towards the most recently used end.
    prev: Vec<u32>,
    /// Towards the least recently used end.
    next: Vec<u32>,
    head: u32,
    tail: u32,
    gets: u64,
    hits: u64,
    evictions: u64,
}

impl DenseLru {
    fn new(max_bytes: u64, keys: usize) -> Self {
        DenseLru {
            max_bytes,
            bytes: 0,
            items: 0,
            present: vec![false; keys],
            prev: vec![NIL; keys],
            next: vec![NIL; keys],
            head: NIL,
            tail: NIL,
            gets: 0,
            hits: 0,
            evictions: 0,
        }
    }

    fn unlink(&mut self, key: u32) {
        let (prev, next) = (self.prev[key as usize], self.next[key as usize]);
        match prev {
            NIL => self.head = next,
            prev => self.next[prev as usize] = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.prev[next as usize] = prev,
        }
    }

    fn push_front(&mut self, key: u32) {
        self.prev[key as usize] = NIL;
        self.next[key as usize] = self.head;
        match self.head {
            NIL => self.tail = key,
            head => self.prev[head as usize] = key,
        }
        self.head = key;
    }

    /// A counted lookup that makes a found key the most recently used.
    fn get(&mut self, key: u32) -> bool {
        self.gets += 1;
        if !self.present[key as usize] {
            return false;
        }
        self.hits += 1;
        if self.head != key {
            self.unlink(key);
            self.push_front(key);
        }
        true
    }

    fn add(&mut self, key: u32, weight: &[u64]) {
        if self.present[key as usize] {
            // The same key's value has the same size: only recency changes.
            self.unlink(key);
        } else {
            self.present[key as usize] = true;
            self.bytes += weight[key as usize];
            self.items += 1;
        }
        self.push_front(key);
        while self.max_bytes != 0 && self.bytes > self.max_bytes && self.tail != NIL {
            let oldest = self.tail;
            self.unlink(oldest);
            self.present[oldest as usize] = false;
            self.bytes -= weight[oldest as usize];
            self.items -= 1;
            self.evictions += 1;
        }
    }

    /// Drops every entry; the counters go on, and nothing is evicted.
    fn clear(&mut self) {
        self.present.fill(false);
        self.bytes = 0;
        self.items = 0;
        self.head = NIL;
        self.tail = NIL;
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            bytes: self.bytes,
            items: self.items,
            gets: self.gets,
            hits: self.hits,
            evictions: self.evictions,
        }
    }
}

/// One node: its group's counters and caches.
struct NodeModel {
    stats: GroupStatsSnapshot,
    main: DenseLru,
    hot: Option<DenseLru>,
    hot_draws: u64,
    slowdb_loads: u64,
    /// Stopped by an event: its peers' fetches fail.
    stopped: bool,
    /// What its `/_stats` would report of its settings.
    settings: GroupSettings,
}

impl NodeModel {
    /// A node with empty caches.
    fn new(options: GroupOptions, distinct: usize) -> NodeModel {
        NodeModel {
            stats: GroupStatsSnapshot::default(),
            main: DenseLru::new(options.cache_bytes as u64, distinct),
            hot: options
                .hot_cache
                .then(|| DenseLru::new((options.cache_bytes / 8).max(1) as u64, distinct)),
            hot_draws: 0,
            slowdb_loads: 0,
            stopped: false,
            settings: options.into(),
        }
    }

    /// The group's cache lookup: the main cache, then the hot cache.
    fn lookup(&mut self, key: u32) -> bool {
        self.main.get(key) || self.hot.as_mut().is_some_and(|hot| hot.get(key))
    }

    fn report(&self) -> GroupReport {
        GroupReport {
            stats: self.stats,
            main_cache: self.main.stats(),
            hot_cache: self.hot.as_ref().map(DenseLru::stats),
            settings: Some(self.settings),
        }
    }
}

/// A cluster: node 0 takes the API's gets, as in a run.
struct ClusterModel<'a> {
    keys: &'a KeySequence,
    owners: std::borrow::Cow<'a, [u16]>,
    /// The configuration, whose ring settings ring changes keep.
    point: Point,
    /// The nodes on the ring, in the order they joined.
    members: Vec<usize>,
    options: GroupOptions,
    nodes: Vec<NodeModel>,
    /// Store loads of each key.
    per_key: Vec<u32>,
    /// Store loads of keys that do not exist.
    missing_loads: u64,
    /// The share of store loads that fail (a brownout).
    error_share: f64,
    /// Measured requests that failed (a 500 for a key the store has).
    errors: u64,
}

impl<'a> ClusterModel<'a> {
    fn new(keys: &'a KeySequence, owners: &'a [u16], point: Point, options: GroupOptions) -> Self {
        let distinct = keys.distinct();
        ClusterModel {
            keys,
            owners: std::borrow::Cow::Borrowed(owners),
            point,
            members: (0..point.nodes as usize).collect(),
            options,
            nodes: (0..point.nodes)
                .map(|_| NodeModel::new(options, distinct))
                .collect(),
            per_key: vec![0; distinct],
            missing_loads: 0,
            error_share: 0.0,
            errors: 0,
        }
    }

    /// Every key's owner on the ring of the members now.
    fn reroute(&mut self) {
        let (owners, _) =
            self.keys
                .owners_among(&self.members, self.point.replicas, self.point.hash);
        self.owners = std::borrow::Cow::Owned(owners);
    }

    /// Carries out an event.
    fn apply(&mut self, action: Action) {
        match action {
            Action::StopNode { node } => {
                if let Some(model) = self.nodes.get_mut(node as usize) {
                    model.stopped = true;
                }
            }
            Action::StartNode { node, keep_cache } => {
                if let Some(model) = self.nodes.get_mut(node as usize) {
                    model.stopped = false;
                    if !keep_cache {
                        model.main.clear();
                        if let Some(hot) = &mut model.hot {
                            hot.clear();
                        }
                    }
                }
            }
            Action::Slowdb {
                error_share: Some(share),
                ..
            } => self.error_share = share,
            Action::AddNode {} => {
                let index = self.nodes.len();
                self.nodes
                    .push(NodeModel::new(self.options, self.keys.distinct()));
                self.members.push(index);
                self.reroute();
            }
            Action::RemoveNode { node } => {
                self.members.retain(|&member| member != node as usize);
                self.reroute();
            }
            // Shifts are in the key sequence; rates and latencies change no
            // counter; slow nodes are refused before.
            _ => {}
        }
    }

    /// `Group::get_via` on `node`; true when it answers a value.
    fn get(&mut self, node: usize, key: u32, any_owner: bool) -> bool {
        let this = &mut self.nodes[node];
        this.stats.gets += 1;
        if this.lookup(key) {
            this.stats.cache_hits += 1;
            return true;
        }
        this.stats.loads += 1;
        // Singleflight looks again inside the flight (one request in
        // flight: it never finds the key, but the lookup counts).
        if self.options.singleflight && this.lookup(key) {
            this.stats.cache_hits += 1;
            return true;
        }
        this.stats.loads_deduped += 1;
        let owner = self.owners[key as usize] as usize;
        if any_owner && owner != node && self.nodes[owner].stopped {
            // The fetch from a stopped node fails; the node loads locally.
            self.nodes[node].stats.peer_errors += 1;
        } else if any_owner && owner != node {
            self.nodes[owner].stats.server_requests += 1;
            let found = self.get(owner, key, false);
            let this = &mut self.nodes[node];
            if !found {
                // The owner's 500 is final: no second search here.
                this.stats.peer_errors += 1;
                return false;
            }
            this.stats.peer_loads += 1;
            if let Some(hot) = &mut this.hot {
                if keeps_hot(this.hot_draws) {
                    hot.add(key, &self.keys.weight);
                }
                this.hot_draws += 1;
            }
            return true;
        }
        self.load_locally(node, key)
    }

    fn load_locally(&mut self, node: usize, key: u32) -> bool {
        let this = &mut self.nodes[node];
        this.slowdb_loads += 1;
        let earlier = self.per_key[key as usize];
        self.per_key[key as usize] += 1;
        if fails_in_brownout(self.keys.index[key as usize], earlier, self.error_share) {
            this.stats.local_load_errs += 1;
            return false;
        }
        if self.keys.missing[key as usize] {
            self.missing_loads += 1;
            this.stats.local_load_errs += 1;
            return false;
        }
        this.stats.local_loads += 1;
        this.main.add(key, &self.keys.weight);
        true
    }

    fn slowdb(&self) -> SlowDbSnapshot {
        SlowDbSnapshot {
            per_key: self.per_key.clone(),
            per_node: self.nodes.iter().map(|node| node.slowdb_loads).collect(),
            missing: self.missing_loads,
            waited_nanos: 0,
        }
    }
}

/// What the model predicts for one configuration's measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The configuration.
    #[serde(flatten)]
    pub point: Point,
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

/// The model's counters at one moment, as a run reads them for its series.
struct ModelReading {
    nodes: Vec<NodeCounters>,
    db_loads: Vec<u64>,
    /// Measured requests that failed so far.
    errors: u64,
}

impl ClusterModel<'_> {
    fn reading(&self) -> ModelReading {
        ModelReading {
            nodes: self
                .nodes
                .iter()
                .map(|node| Some((node.stats, node.main.stats())))
                .collect(),
            db_loads: self.nodes.iter().map(|node| node.slowdb_loads).collect(),
            errors: self.errors,
        }
    }
}

/// Runs the warm-up and the measurement of `keys` through a model of a
/// cluster with `options`, its ring given by `owners` and `shares`. Also
/// reads the counters after each count of measured requests in `marks`
/// (ascending), before the events due at that request, as a run with one
/// request in flight reads them at each interval's end.
fn predict(
    keys: &KeySequence,
    point: Point,
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
fn options_of(workload: &Workload, point: &Point, faults: &Faults) -> GroupOptions {
    let mut settings = workload.cluster.clone();
    settings.nodes = point.nodes;
    settings.hash = point.hash;
    settings.replicas = point.replicas;
    settings.cache_bytes = point.cache_bytes;
    faults.group_options(&settings)
}

/// The number of measured requests of a workload.
pub fn request_count(workload: &Workload) -> Result<u64, SimulateError> {
    match workload.bound() {
        Bound::Requests(count) => Ok(count),
        Bound::Duration(_) => Err(SimulateError::NoRequestCount),
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
    // One ring per (nodes, hash, replicas), shared by its cache sizes.
    let mut rings: Vec<(u32, HashKind, u32)> = Vec::new();
    for point in &points {
        let ring = (point.nodes, point.hash, point.replicas);
        if !rings.contains(&ring) {
            rings.push(ring);
        }
    }
    let owners: Vec<(Vec<u16>, Vec<f64>)> = in_parallel(rings.len(), |at| {
        let (nodes, hash, replicas) = rings[at];
        keys.owners(nodes, replicas, hash)
    });
    let moves: Vec<Vec<(usize, KeyMoves)>> = in_parallel(rings.len(), |at| {
        let (nodes, hash, replicas) = rings[at];
        ring_moves(nodes, replicas, hash, &events, workload.keys)
    });
    Ok(in_parallel(points.len(), |at| {
        let point = points[at];
        let ring = rings
            .iter()
            .position(|&ring| ring == (point.nodes, point.hash, point.replicas))
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

/// The keys each join or leave among `events` moves on a ring of `nodes`
/// nodes with `replicas` and `hash`, by event index, over the key space of
/// `keys` keys: what a run reports as the event's `moved_share`.
fn ring_moves(
    nodes: u32,
    replicas: u32,
    hash: HashKind,
    events: &[ModelEvent],
    keys: u64,
) -> Vec<(usize, KeyMoves)> {
    let ring_of = |members: &[usize]| {
        let mut ring = HashRing::new(replicas as usize, hash);
        ring.add(members.iter().map(|&member| ring_name(member)));
        ring
    };
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
            _ => continue,
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
    report::costs(&workload.events, &applied, &series, interval as f64)
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

/// Where a run's counters and the model's prediction disagree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// The figure, as a path into the prediction: `nodes[1].main_cache.evictions`.
    pub figure: String,
    /// What the model predicted.
    pub model: serde_json::Value,
    /// What the run measured.
    pub run: serde_json::Value,
}

/// What `verify` found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The model's prediction for the result's configuration.
    pub prediction: Prediction,
    /// Intervals of the series checked one by one (0 when the series was
    /// read by a timer).
    pub intervals: usize,
    /// Every figure that differs; empty when the run is as predicted.
    pub differences: Vec<Difference>,
    /// Why the result may differ from the model without anything being
    /// wrong (more than one request in flight).
    pub caveat: Option<String>,
}

/// Predicts the counters of the run that made `result` and lists every one
/// that differs. Only runs that started their own cluster can be predicted;
/// the model is exact when one request was in flight.
pub fn verify(result: &RunResult) -> Result<Verification, SimulateError> {
    if result.mode != Mode::Cluster {
        return Err(SimulateError::Unverifiable(
            "the result is of a --target run: the model knows only clusters the harness started"
                .to_owned(),
        ));
    }
    let Some(run_cluster) = &result.cluster else {
        return Err(SimulateError::Unverifiable(
            "the result has no cluster figures".to_owned(),
        ));
    };
    let workload = &result.workload;
    let applied: Vec<Option<u64>> = workload
        .events
        .iter()
        .enumerate()
        .map(|(index, _)| {
            result
                .events
                .get(index)
                .and_then(|figures| figures.applied_at_request)
        })
        .collect();
    let events = model_events(workload, Some(&applied))?;
    let cluster = &workload.cluster;
    let point = Point {
        nodes: cluster.nodes,
        hash: cluster.hash,
        replicas: cluster.replicas,
        cache_bytes: cluster.cache_bytes,
    };
    let faults = result.faults.unwrap_or_default();
    // At one request in flight, the measurement asked for the first
    // `requests` keys of its stream, however the run was bounded.
    let keys = KeySequence::shifted(
        workload,
        workload.warmup_requests,
        result.client.requests,
        &events,
    )?;
    let (owners, shares) = keys.owners(point.nodes, point.replicas, point.hash);
    // A series read between requests is checked interval by interval: the
    // model is read where each interval's requests end.
    let by_interval =
        result.series_reading == SeriesReading::BetweenRequests && !result.series.is_empty();
    let marks: Vec<u64> = if by_interval {
        std::iter::once(0)
            .chain(result.series.iter().scan(0, |sent, interval| {
                *sent += interval.client.requests;
                Some(*sent)
            }))
            .collect()
    } else {
        Vec::new()
    };
    let (prediction, readings) = predict(
        &keys,
        point,
        options_of(workload, &point, &faults),
        &owners,
        shares,
        &events,
        &marks,
    );

    let mut run_cluster = run_cluster.clone();
    run_cluster.slowdb.mean_latency_us = None;
    let run_nodes: Vec<Option<GroupReport>> = result
        .nodes
        .iter()
        .map(|node| {
            node.stats
                .as_ref()
                .and_then(|stats| stats.groups.get(GROUP).cloned())
        })
        .collect();
    let run_loads: Vec<Option<u64>> = result.nodes.iter().map(|node| node.slowdb_loads).collect();
    // Results from before nodes reported their settings are checked on
    // their counters alone.
    let mut predicted_nodes = prediction.nodes.clone();
    for (model, run) in predicted_nodes.iter_mut().zip(&run_nodes) {
        if run.as_ref().is_some_and(|run| run.settings.is_none()) {
            model.settings = None;
        }
    }
    let mut differences = Vec::new();
    diff(
        "cluster",
        &json(&prediction.cluster),
        &json(&run_cluster),
        &mut differences,
    );
    diff(
        "nodes",
        &json(&predicted_nodes),
        &json(&run_nodes),
        &mut differences,
    );
    diff(
        "slowdb_loads",
        &json(&prediction.slowdb_loads),
        &json(&run_loads),
        &mut differences,
    );
    for (at, interval) in result.series.iter().enumerate() {
        let Some((then, now)) = readings.get(at).zip(readings.get(at + 1)) else {
            break;
        };
        let model = ClusterInterval::between(
            &then.nodes,
            &now.nodes,
            Some(0),
            Some((&then.db_loads, &now.db_loads)),
        );
        diff(
            &format!("series[{at}].cluster"),
            &json(&model),
            &json(&interval.cluster),
            &mut differences,
        );
    }
    let mut caveats = Vec::new();
    if !by_interval && workload.concurrency == 1 {
        caveats.push(
            "the series was read by a timer while requests were in flight, so only the \
             totals are checked; a run with one request in flight (--deterministic) is \
             checked interval by interval"
                .to_owned(),
        );
    }
    if workload.concurrency > 1 {
        caveats.push(format!(
            "the run had up to {} requests in flight: the model is exact only with one \
             (--deterministic); overlapping loads and singleflight make runs differ",
            workload.concurrency
        ));
    }
    if workload.events.iter().any(|event| event.at.is_some()) {
        caveats.push(
            "its events happened at times: the model places each before the request the run \
             had reached then (applied_at_request), which is exact only for at_request events"
                .to_owned(),
        );
    }
    let caveat = (!caveats.is_empty()).then(|| caveats.join("; "));
    Ok(Verification {
        prediction,
        intervals: readings.len().saturating_sub(1),
        differences,
        caveat,
    })
}

fn json(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Every leaf where `model` and `run` differ, named by its path.
fn diff(path: &str, model: &serde_json::Value, run: &serde_json::Value, out: &mut Vec<Difference>) {
    use serde_json::Value;
    match (model, run) {
        (Value::Object(model), Value::Object(run)) => {
            let names: std::collections::BTreeSet<&String> =
                model.keys().chain(run.keys()).collect();
            for name in names {
                diff(
                    &format!("{path}.{name}"),
                    model.get(name).unwrap_or(&Value::Null),
                    run.get(name).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(model), Value::Array(run)) if model.len() == run.len() => {
            for (at, (model, run)) in model.iter().zip(run).enumerate() {
                diff(&format!("{path}[{at}]"), model, run, out);
            }
        }
        (model, run) if model != run => out.push(Difference {
            figure: path.to_owned(),
            model: model.clone(),
            run: run.clone(),
        }),
        _ => {}
    }
}

/// The figures a simulation table and CSV show, in order.
const COLUMNS: [&str; 9] = [
    "api hit",
    "cluster hit",
    "peer fetch",
    "loads/req",
    "keys loaded",
    "dup loads",
    "evictions",
    "load max/mean",
    "ring max/mean",
];

fn cells(prediction: &Prediction) -> [String; 9] {
    let cluster = &prediction.cluster;
    [
        percent(cluster.api_hit_ratio),
        percent(Some(cluster.cluster_hit_ratio)),
        percent(cluster.peer_fetch_ratio),
        format!("{:.4}", cluster.slowdb.loads_per_request),
        cluster.slowdb.keys_loaded.unwrap_or(0).to_string(),
        cluster.slowdb.duplicate_loads.unwrap_or(0).to_string(),
        prediction.evictions().to_string(),
        format!("{:.2}", prediction.load_imbalance()),
        format!("{:.2}", max_over_mean(&prediction.ring_shares)),
    ]
}

/// The predictions as an aligned table, a row per configuration.
pub fn table(predictions: &[Prediction]) -> String {
    let mut rows: Vec<Vec<String>> = vec![["nodes", "hash", "replicas", "cache"]
        .into_iter()
        .chain(COLUMNS)
        .map(str::to_owned)
        .collect()];
    for prediction in predictions {
        let mut row = prediction.point.cells();
        row.extend(cells(prediction));
        rows.push(row);
    }
    align(&rows, |column| column == 1)
}

/// Each event's cost in each configuration, a row per configuration and
/// event.
pub fn event_table(predictions: &[Prediction]) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "nodes",
        "hash",
        "replicas",
        "cache",
        "event",
        "keys moved",
        "ideal",
        "extra loads",
        "errors",
        "recovery (requests)",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()];
    for prediction in predictions {
        for cost in &prediction.events {
            let mut row = prediction.point.cells();
            row.push(cost.event.to_string());
            row.push(percent(cost.moved_share));
            row.push(percent(cost.ideal_moved_share));
            row.push(
                cost.extra_slowdb_loads
                    .map_or("-".to_owned(), |extra| format!("{extra:+}")),
            );
            row.push(cost.errors.to_string());
            row.push(
                cost.recovery_requests
                    .map_or_else(|| "NOT back".to_owned(), |requests| requests.to_string()),
            );
            rows.push(row);
        }
    }
    let interval = predictions
        .iter()
        .find_map(|prediction| prediction.interval_requests)
        .unwrap_or(0);
    align(&rows, |column| column == 1 || column == 4)
        + &format!(
            "event costs over intervals of {interval} requests; recovery: loads, errors and \
             API hit ratio back within 10% of the 3 intervals before for 3 intervals\n"
        )
}

/// The predictions as CSV, a line per configuration, with plain numbers;
/// with events, four columns more for each (`event0_moved_share`, ...).
pub fn csv(predictions: &[Prediction]) -> String {
    let mut out = format!(
        "nodes,hash,replicas,cache_bytes,requests,{},{},{},slowdb_loads,{},keys_loaded,{},\
         evictions,{},{}",
        API_HIT_RATIO.key,
        CLUSTER_HIT_RATIO.key,
        PEER_FETCH_RATIO.key,
        SLOWDB_LOADS_PER_REQUEST.key,
        DUPLICATE_LOADS.key,
        LOAD_IMBALANCE.key,
        RING_IMBALANCE.key,
    );
    let events = predictions
        .iter()
        .map(|prediction| prediction.events.len())
        .max()
        .unwrap_or(0);
    for event in 0..events {
        for figure in [&EVENT_MOVED_SHARE, &EVENT_EXTRA_LOADS, &EVENT_ERRORS] {
            let _ = write!(out, ",event{event}_{}", figure.key);
        }
        let _ = write!(out, ",event{event}_recovery_requests");
    }
    out.push('\n');
    let optional = |value: Option<f64>| value.map_or(String::new(), |value| value.to_string());
    for prediction in predictions {
        let cluster = &prediction.cluster;
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            prediction.point.csv(),
            prediction.requests,
            optional(cluster.api_hit_ratio),
            cluster.cluster_hit_ratio,
            optional(cluster.peer_fetch_ratio),
            cluster.slowdb.loads,
            cluster.slowdb.loads_per_request,
            cluster.slowdb.keys_loaded.unwrap_or(0),
            cluster.slowdb.duplicate_loads.unwrap_or(0),
            prediction.evictions(),
            prediction.load_imbalance(),
            max_over_mean(&prediction.ring_shares),
        );
        for cost in &prediction.events {
            let _ = write!(
                out,
                ",{},{},{},{}",
                optional(cost.moved_share),
                cost.extra_slowdb_loads
                    .map_or(String::new(), |extra| extra.to_string()),
                cost.errors,
                cost.recovery_requests
                    .map_or(String::new(), |requests| requests.to_string()),
            );
        }
        out.push('\n');
    }
    out
}

/// A readable report of a verification.
pub fn verification_report(verification: &Verification, source: &str) -> String {
    let mut out = String::new();
    let point = verification.prediction.point;
    let _ = writeln!(
        out,
        "model of {point}, {} requests, against {source}",
        verification.prediction.requests
    );
    if verification.differences.is_empty() {
        let _ = writeln!(
            out,
            "every counter as predicted: slow-store loads, peer loads, hits, evictions, on every node"
        );
        if verification.intervals > 0 {
            let _ = writeln!(
                out,
                "and in each of the series' {} intervals",
                verification.intervals
            );
        }
    } else {
        let _ = writeln!(out, "{} figures differ:", verification.differences.len());
        let width = verification
            .differences
            .iter()
            .map(|difference| difference.figure.len())
            .max()
            .unwrap_or(0);
        for difference in &verification.differences {
            let _ = writeln!(
                out,
                "  {:<width$}  model {}  run {}",
                difference.figure, difference.model, difference.run
            );
        }
    }
    if let Some(caveat) = &verification.caveat {
        let _ = writeln!(out, "note: {caveat}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geecache::lru::Lru;
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn the_dense_lru_follows_the_librarys_lru() {
        let weights: Vec<u64> = (0..50).map(|key| 4 + key % 7).collect();
        for (seed, max_bytes) in [(1, 0), (2, 1), (3, 30), (4, 100), (5, 250)] {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut lru: Lru<Vec<u8>> = Lru::new(max_bytes as usize);
            let mut dense = DenseLru::new(max_bytes, weights.len());
            let name = |key: u32| format!("{key:04}");
            for _ in 0..5000 {
                let key: u32 = rng.random_range(0..50);
                if rng.random_bool(0.5) {
                    let found = lru.get(&name(key)).is_some();
                    assert_eq!(dense.get(key), found, "get {key}");
                } else {
                    // Key names are 4 bytes: the value makes up the rest.
                    let value = vec![0; weights[key as usize] as usize - 4];
                    lru.add(&name(key), value);
                    dense.add(key, &weights);
                }
                assert_eq!(dense.bytes, lru.bytes() as u64);
                assert_eq!(dense.items, lru.len() as u64);
            }
            let mut order = Vec::new();
            let mut key = dense.head;
            while key != NIL {
                order.push(name(key));
                key = dense.next[key as usize];
            }
            let expected: Vec<String> = lru
                .keys_by_recency()
                .iter()
                .map(|key| key.to_string())
                .collect();
            assert_eq!(order, expected, "recency order, bound {max_bytes}");
        }
    }

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

    #[test]
    fn diff_names_each_differing_leaf() {
        let model = serde_json::json!({"a": 1, "b": [1, 2], "c": {"d": null}});
        let run = serde_json::json!({"a": 1, "b": [1, 3], "c": {"d": 4}});
        let mut out = Vec::new();
        diff("x", &model, &run, &mut out);
        let figures: Vec<&str> = out.iter().map(|d| d.figure.as_str()).collect();
        assert_eq!(figures, ["x.b[1]", "x.c.d"]);
    }
}
