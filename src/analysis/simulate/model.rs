//! The model itself: the key sequence a workload asks for (numbered
//! densely, each key's owner found once per ring), an LRU bounded by bytes
//! over dense key numbers that follows the library's rules, and a cluster
//! of them on the group load path (main and hot cache, peers, the slow
//! store, the workload's events).

use std::collections::HashMap;
use std::sync::Arc;

use super::SimulateError;
use crate::analysis::grid::{in_parallel, GridPoint};
use crate::geecache::group::keeps_hot;
use crate::geecache::node::GroupReport;
use crate::geecache::stats::GroupSettings;
use crate::geecache::stats::{CacheStats, GroupStatsSnapshot};
use crate::geecache::GroupOptions;
use crate::harness::driver::KeySampler;
use crate::harness::events::Action;
use crate::harness::ownership::RingShape;
use crate::harness::report::NodeCounters;
use crate::harness::run::{MEASURE_STREAM, WARMUP_STREAM};
use crate::harness::slowdb::{fails_in_brownout, is_missing, key_name, SlowDbSnapshot, ValueSizes};
use crate::harness::trace::{Replay, TraceIndex, TraceInfo};
use crate::harness::workload::Workload;

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
/// one that did not happen). Slow and broken nodes are not modelled (their
/// effects hang on timing), and a workload with them is refused.
pub(crate) fn model_events(
    workload: &Workload,
    applied: Option<&[Option<u64>]>,
) -> Result<Vec<ModelEvent>, SimulateError> {
    let mut events = Vec::new();
    for (index, event) in workload.events.iter().enumerate() {
        if matches!(
            event.action,
            Action::SlowNode { .. } | Action::BreakNode { .. }
        ) {
            return Err(SimulateError::TimedAction {
                index,
                event: event.clone(),
            });
        }
        let staged = event.at.and_then(|at| workload.staged_request_at(at.0));
        let at = match (event.at_request, applied) {
            (Some(request), None) => Some(request),
            (_, Some(applied)) => applied.get(index).copied().flatten(),
            // The stages' schedule says which request a time falls on.
            (None, None) if staged.is_some() => staged,
            (None, None) => {
                return Err(SimulateError::EventAtTime {
                    index,
                    event: event.clone(),
                })
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

/// The workload's trace, scanned as a run scans it: its keys are numbered
/// as the run numbered them (by first read, which a shorter scan keeps).
pub(crate) fn trace_of(workload: &Workload) -> Result<Arc<TraceIndex>, SimulateError> {
    let mut workload = workload.clone();
    workload
        .scan_trace("the model")
        .map_err(SimulateError::Scan)?
        .ok_or(SimulateError::NoTrace)
}

/// The keys a workload asks for, in order, numbered densely in order of
/// first appearance; shared by every configuration simulated.
pub struct KeySequence {
    pub(super) warmup: Vec<u32>,
    pub(super) measure: Vec<u32>,
    /// The key-space index of each dense number.
    index: Vec<u64>,
    /// Whether each key is one the store does not have.
    pub(super) missing: Vec<bool>,
    /// What each key costs in a cache: its name's length plus the value's.
    weight: Vec<u64>,
    /// The trace the keys came from, as scanned for the model.
    pub trace: Option<TraceInfo>,
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
        let mut trace = None;
        let (warmup_keys, mut measure_keys, sizes) = match &workload.trace {
            Some(_) => {
                let index = trace_of(workload)?;
                let replayed = Replay::start(&index).and_then(|mut replay| {
                    let warmup = replay.take(warmup)?;
                    Ok((warmup, replay.take(measure)?))
                });
                let (warmup_keys, measure_keys) = replayed?;
                let widen = |keys: Vec<u32>| keys.into_iter().map(u64::from).collect::<Vec<_>>();
                trace = Some(index.info.clone());
                (
                    widen(warmup_keys),
                    widen(measure_keys),
                    ValueSizes::PerKey(Arc::clone(&index.sizes)),
                )
            }
            None => {
                let sampler = KeySampler::new(workload.keys, workload.distribution, workload.seed)?;
                // Each request's key depends only on its number: draw them
                // in chunks on every core.
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
                (
                    sample(WARMUP_STREAM, warmup),
                    sample(MEASURE_STREAM, measure),
                    ValueSizes::Fixed(workload.value_size as usize),
                )
            }
        };
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
            trace,
        };
        let share = workload.slowdb.missing_share;
        let mut number_of = |index: u64, sequence: &mut KeySequence| -> u32 {
            *numbers.entry(index).or_insert_with(|| {
                sequence.index.push(index);
                sequence.missing.push(is_missing(index, share));
                sequence
                    .weight
                    .push((key_name(index).len() + sizes.of(index)) as u64);
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

    /// The owner of each key on the ring of `shape`, its nodes named as a
    /// run names them, and each node's ring share.
    pub fn owners(&self, shape: &RingShape) -> (Vec<u16>, Vec<f64>) {
        let members: Vec<usize> = (0..shape.nodes as usize).collect();
        self.owners_among(shape, &members)
    }

    /// The owner of each key (a node index) on the ring of `members` (node
    /// indices, in the order the nodes add them) with `shape`'s replicas
    /// and hash, and each member's share.
    pub fn owners_among(&self, shape: &RingShape, members: &[usize]) -> (Vec<u16>, Vec<f64>) {
        let ring = shape.build_among(members);
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
pub(super) struct DenseLru {
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
pub(super) struct NodeModel {
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

    pub(super) fn report(&self) -> GroupReport {
        GroupReport {
            stats: self.stats,
            main_cache: self.main.stats(),
            hot_cache: self.hot.as_ref().map(DenseLru::stats),
            settings: Some(self.settings),
        }
    }
}

/// A cluster: node 0 takes the API's gets, as in a run.
pub(super) struct ClusterModel<'a> {
    keys: &'a KeySequence,
    owners: std::borrow::Cow<'a, [u16]>,
    /// The configuration, whose ring settings ring changes keep.
    point: GridPoint,
    /// The nodes on the ring, in the order they joined.
    members: Vec<usize>,
    options: GroupOptions,
    pub(super) nodes: Vec<NodeModel>,
    /// Store loads of each key.
    per_key: Vec<u32>,
    /// Store loads of keys that do not exist.
    missing_loads: u64,
    /// The share of store loads that fail (a brownout).
    error_share: f64,
    /// Measured requests that failed (a 500 for a key the store has).
    pub(super) errors: u64,
}

impl<'a> ClusterModel<'a> {
    pub(super) fn new(
        keys: &'a KeySequence,
        owners: &'a [u16],
        point: GridPoint,
        options: GroupOptions,
    ) -> Self {
        let distinct = keys.distinct();
        ClusterModel {
            keys,
            owners: std::borrow::Cow::Borrowed(owners),
            point,
            members: (0..point.ring.nodes as usize).collect(),
            options,
            nodes: (0..point.ring.nodes)
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
        let (owners, _) = self.keys.owners_among(&self.point.ring, &self.members);
        self.owners = std::borrow::Cow::Owned(owners);
    }

    /// Carries out an event.
    pub(super) fn apply(&mut self, action: Action) {
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
            Action::Slowdb { error_share, .. } => {
                // The store's latency changes no counter.
                if let Some(share) = error_share {
                    self.error_share = share;
                }
            }
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
            // A shift is in the key sequence already (`KeySequence::new`), and a
            // rate changes no counter.
            Action::ShiftKeys { .. } | Action::SetRate { .. } => {}
            // Refused before the model starts (`model_events`): their
            // counters hang on timing, which the model has none of.
            Action::SlowNode { .. } | Action::BreakNode { .. } => {}
        }
    }

    /// `Group::get_via` on `node`; true when it answers a value.
    pub(super) fn get(&mut self, node: usize, key: u32, any_owner: bool) -> bool {
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

    pub(super) fn slowdb(&self) -> SlowDbSnapshot {
        SlowDbSnapshot {
            per_key: self.per_key.clone(),
            per_node: self.nodes.iter().map(|node| node.slowdb_loads).collect(),
            missing: self.missing_loads,
            waited_nanos: 0,
        }
    }
}

/// The model's counters at one moment, as a run reads them for its series.
pub(super) struct ModelReading {
    pub(super) nodes: Vec<NodeCounters>,
    pub(super) db_loads: Vec<u64>,
    /// Measured requests that failed so far.
    pub(super) errors: u64,
}

impl ClusterModel<'_> {
    pub(super) fn reading(&self) -> ModelReading {
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
}
