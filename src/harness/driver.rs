//! The load generator: workers that send `GET /api?key=...` over keep-alive
//! connections, in a closed loop (a fixed number in flight) or an open loop
//! (a fixed rate, latency counted from the intended send time so a stall
//! cannot hide behind the requests it delayed), and record every answer's
//! latency in microseconds into HdrHistograms: memory stays the same however
//! long the run.
//!
//! The key of request `i` depends only on the seed and `i`, never on which
//! worker sends it, so two runs of one workload ask for the same keys.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution as _, Zipf};
use serde::{Deserialize, Serialize};

use crate::geecache::http::{ClientError, HttpClient};
use crate::geecache::peers::BoxFuture;
use crate::harness::slowdb::{is_missing, is_value_of, mix64};
use crate::harness::workload::{Bound, Distribution};

/// The largest latency the histograms hold: one hour, in microseconds.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// A histogram of latencies in microseconds, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant bounds are valid")
}

/// Picks the key of each request.
#[derive(Clone, Debug)]
pub struct KeySampler {
    /// The key space's size.
    pub keys: u64,
    seed: u64,
    zipf: Option<Zipf<f64>>,
}

impl KeySampler {
    /// A sampler over `keys` keys.
    pub fn new(keys: u64, distribution: Distribution, seed: u64) -> Result<KeySampler, String> {
        let zipf = match distribution {
            Distribution::Zipf { exponent } => {
                Some(Zipf::new(keys as f64, exponent).map_err(|error| {
                    format!("zipf over {keys} keys, exponent {exponent}: {error}")
                })?)
            }
            Distribution::Uniform => None,
        };
        Ok(KeySampler { keys, seed, zipf })
    }

    /// The key index of request `request` of stream `stream` (warm-up and
    /// measurement are different streams).
    pub fn index(&self, stream: u64, request: u64) -> u64 {
        let base = mix64(self.seed ^ mix64(stream));
        let mut rng = SmallRng::seed_from_u64(base.wrapping_add(request));
        match &self.zipf {
            // Ranks run from 1 to `keys`; rank 1 is key0.
            Some(zipf) => (zipf.sample(&mut rng) as u64).clamp(1, self.keys) - 1,
            None => rng.random_range(0..self.keys),
        }
    }
}

/// How the driver offers load and checks answers.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The API's base URL, `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// What comes before the key index in each request:
    /// `/api?key=key` asks for `key0`, `key1`, ...
    pub path_prefix: String,
    /// Picks each request's key.
    pub sampler: KeySampler,
    /// Workers, each with its own connection: requests in flight at most.
    pub concurrency: usize,
    /// Open loop: requests per second. Closed loop when `None`.
    pub rate: Option<f64>,
    /// How long one request may take.
    pub timeout: Duration,
    /// The slow store's missing share: a 500 for such a key is expected.
    pub missing_share: f64,
    /// When given, every 200's body is checked against the key's value.
    pub value_size: Option<u64>,
}

/// One part of a run: the warm-up or the measurement.
#[derive(Clone)]
pub struct Phase {
    /// Which key stream: the same stream gives the same keys.
    pub stream: u64,
    /// How many requests or how long.
    pub bound: Bound,
    /// No request starts after this, whatever the bound says.
    pub time_limit: Instant,
    /// When the phase begins, the origin of its intervals and of an open
    /// loop's schedule; `None` for the moment it is run. A run that reads
    /// the cluster at each interval's end gives both the same start.
    pub start: Option<Instant>,
    /// The length of each interval of the series.
    pub interval: Duration,
    /// What a scenario changes on the driver's side; `None` for none.
    pub steering: Option<Arc<Steering>>,
    /// Called between requests when intervals have ended; `None` to read
    /// nothing. Given one, an interval holds the requests *sent* in it, so
    /// with one request in flight a reading at an interval's end sees
    /// exactly that interval's requests.
    pub reader: Option<Arc<dyn IntervalReader>>,
}

impl Phase {
    /// A phase that starts when it is run, with one-second intervals.
    pub fn new(stream: u64, bound: Bound, time_limit: Instant) -> Phase {
        Phase {
            stream,
            bound,
            time_limit,
            start: None,
            interval: Duration::from_secs(1),
            steering: None,
            reader: None,
        }
    }
}

/// Reads what a phase's intervals need at their ends, between requests.
pub trait IntervalReader: Send + Sync {
    /// `ended` more intervals have ended since the last call (more than one
    /// when no request was sent in some): reads once for each, before the
    /// next request is sent.
    fn intervals_ended(&self, ended: u64) -> BoxFuture<'_, ()>;
}

/// Applies a scenario's event, by its index in the workload's events.
pub trait EventHook: Send + Sync {
    /// Carries out event `event` and returns when it is done.
    fn apply(&self, event: usize) -> BoxFuture<'_, ()>;
}

/// What a scenario changes on the driver's side of a phase: the keys asked
/// for, the open loop's schedule, and the events that must happen before a
/// given request is sent.
pub struct Steering {
    /// Requests of the phase handed out so far: the number of the next.
    requests: AtomicU64,
    /// Added to each request's key index, modulo the key space (the hot
    /// set moved).
    key_offset: AtomicU64,
    /// Request-indexed events, applied by the worker about to send the
    /// request they name.
    gate: Option<RequestGate>,
    /// The open loop's schedule with its rate changes.
    schedule: Option<RateSchedule>,
}

/// Request-indexed events, in request order.
struct RequestGate {
    /// (request number, event index), sorted.
    due: Vec<(u64, usize)>,
    /// The request number of the next event not yet applied; `u64::MAX`
    /// when none is left.
    next_due: AtomicU64,
    /// How many of `due` have been applied.
    cursor: tokio::sync::Mutex<usize>,
    hook: Arc<dyn EventHook>,
}

impl Steering {
    /// Steering with request-indexed events `due` ((request, event index))
    /// carried out by `hook`, and an open loop's `schedule`.
    pub fn new(
        mut due: Vec<(u64, usize)>,
        hook: Option<Arc<dyn EventHook>>,
        schedule: Option<RateSchedule>,
    ) -> Steering {
        due.sort_unstable();
        let gate = hook.filter(|_| !due.is_empty()).map(|hook| RequestGate {
            next_due: AtomicU64::new(due[0].0),
            due,
            cursor: tokio::sync::Mutex::new(0),
            hook,
        });
        Steering {
            requests: AtomicU64::new(0),
            key_offset: AtomicU64::new(0),
            gate,
            schedule,
        }
    }

    /// Moves the hot set: from now on request keys are shifted by `offset`.
    pub fn shift_keys(&self, offset: u64) {
        self.key_offset.store(offset, Ordering::Relaxed);
    }

    /// Requests of the phase handed out so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Applies every event due at or before `request`, once, before the
    /// request is sent; other workers reaching a due request wait for it.
    async fn before(&self, request: u64) {
        let Some(gate) = &self.gate else {
            return;
        };
        if request < gate.next_due.load(Ordering::Acquire) {
            return;
        }
        let mut cursor = gate.cursor.lock().await;
        while let Some(&(at, event)) = gate.due.get(*cursor) {
            if at > request {
                break;
            }
            gate.hook.apply(event).await;
            *cursor += 1;
        }
        let next = gate.due.get(*cursor).map_or(u64::MAX, |&(at, _)| at);
        gate.next_due.store(next, Ordering::Release);
    }
}

/// An open loop's schedule: the rate, and where it changes.
#[derive(Clone, Debug, PartialEq)]
pub struct RateSchedule {
    /// (first request, its time since the start, rate from there on),
    /// in request order; the first starts at request 0.
    segments: Vec<(u64, Duration, f64)>,
}

/// When a rate change happens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateChange {
    /// At this time since the start.
    At(Duration),
    /// Before this request.
    AtRequest(u64),
}

impl RateSchedule {
    /// `rate` from the start, then each change in turn (in time order).
    pub fn new(rate: f64, changes: &[(RateChange, f64)]) -> RateSchedule {
        let mut segments = vec![(0, Duration::ZERO, rate)];
        for &(when, rate) in changes {
            let &(first, offset, previous) = segments.last().expect("one segment at least");
            let (request, time) = match when {
                RateChange::At(time) => {
                    let since = time.saturating_sub(offset).as_secs_f64();
                    (first + (since * previous).ceil() as u64, time.max(offset))
                }
                RateChange::AtRequest(request) => {
                    let request = request.max(first);
                    let since = (request - first) as f64 / previous;
                    (request, offset + Duration::from_secs_f64(since))
                }
            };
            segments.push((request, time, rate));
        }
        RateSchedule { segments }
    }

    /// How many requests are meant to be sent before `end` (time since
    /// the start).
    pub fn scheduled_before(&self, end: Duration) -> u64 {
        let &(first, offset, rate) = self
            .segments
            .iter()
            .rev()
            .find(|segment| segment.1 < end)
            .unwrap_or(&self.segments[0]);
        first + (end.saturating_sub(offset).as_secs_f64() * rate).ceil() as u64
    }

    /// When request `request` is meant to be sent, as time since the start.
    pub fn intended(&self, request: u64) -> Duration {
        let &(first, offset, rate) = self
            .segments
            .iter()
            .rev()
            .find(|segment| segment.0 <= request)
            .unwrap_or(&self.segments[0]);
        offset + Duration::from_secs_f64((request - first) as f64 / rate)
    }
}

/// What stops a run early, and what it counts.
#[derive(Debug, Default)]
pub struct Control {
    /// Set to stop every worker after its current request (Ctrl-C).
    pub stop: AtomicBool,
    /// Requests answered so far, for a progress display.
    pub done: AtomicU64,
}

/// Why a phase ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every request was sent.
    Requests,
    /// The duration passed.
    Duration,
    /// The workload's time limit passed first.
    TimeLimit,
    /// The user asked it to stop.
    Interrupted,
}

/// Answers and failures by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests that ended: answered or failed.
    pub requests: u64,
    /// 200 with the key's value.
    pub ok: u64,
    /// 500 for a key the workload says does not exist: expected.
    pub missing: u64,
    /// Failures.
    pub errors: ErrorCounts,
}

/// Failures by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Every failure.
    pub total: u64,
    /// Unexpected statuses, by code.
    pub status: BTreeMap<u16, u64>,
    /// 200 whose body was not the key's value.
    pub wrong_value: u64,
    /// No answer within the timeout.
    pub timeout: u64,
    /// Connecting, sending or reading failed.
    pub connection: u64,
}

/// One interval of the measurement, as the driver saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientInterval {
    /// The interval's number, from 0.
    pub interval: u64,
    /// When it began, in seconds since the measurement began.
    pub start_secs: f64,
    /// Requests that ended in this interval.
    pub requests: u64,
    /// Requests per second (the last interval may be partial).
    pub throughput_rps: f64,
    /// The median latency of the interval's answers, in microseconds
    /// (`null` when there were none).
    pub p50_us: Option<u64>,
    /// The 99th percentile, likewise.
    pub p99_us: Option<u64>,
    /// Failures in this interval.
    pub errors: u64,
}

/// What one phase measured.
#[derive(Clone, Debug)]
pub struct PhaseReport {
    /// Requests by outcome.
    pub counts: Counts,
    /// Latency of every answered request, in microseconds: in an open
    /// loop from the time its schedule meant it to be sent (a stall counts
    /// against the requests it delayed), in a closed loop from its send.
    pub histogram: Histogram<u64>,
    /// An open loop's service time of every answered request: from its
    /// actual send to its answer, in microseconds; `None` in a closed loop,
    /// where it is the latency.
    pub service_histogram: Option<Histogram<u64>>,
    /// From the first request sent to the last answer.
    pub elapsed: Duration,
    /// Interval by interval.
    pub series: Vec<ClientInterval>,
    /// Why the phase ended.
    pub stopped_by: StopReason,
    /// An open loop bounded by a duration: requests its schedule meant to
    /// send before the end (or the stop) that were never sent, because
    /// the cluster could not keep up.
    pub unsent: u64,
}

/// The load generator, with one keep-alive connection per worker that lasts
/// across phases.
pub struct Driver {
    config: Arc<DriverConfig>,
    clients: Vec<HttpClient>,
}

/// How one request ended.
enum Outcome {
    Ok,
    Missing,
    Status(u16),
    WrongValue,
    Timeout,
    Connection,
}

impl Driver {
    /// A driver for `config`; fails if the base URL is not `http://HOST:PORT`.
    pub fn new(config: DriverConfig) -> Result<Driver, ClientError> {
        let clients = (0..config.concurrency.max(1))
            .map(|_| HttpClient::new(&config.base_url, config.timeout))
            .collect::<Result<_, _>>()?;
        Ok(Driver {
            config: Arc::new(config),
            clients,
        })
    }

    /// Connections opened so far, all workers together.
    pub fn connections_opened(&self) -> u64 {
        self.clients
            .iter()
            .map(HttpClient::connections_opened)
            .sum()
    }

    /// Runs one phase to its bound, its time limit or a stop.
    pub async fn run(&self, phase: Phase, control: &Arc<Control>) -> PhaseReport {
        let interval = phase.interval.max(Duration::from_millis(1));
        let steering = phase.steering.clone().unwrap_or_else(|| {
            Arc::new(Steering::new(
                Vec::new(),
                None,
                self.config.rate.map(|rate| RateSchedule::new(rate, &[])),
            ))
        });
        let pacer = steering.schedule.is_some().then(|| {
            Arc::new(Pacer {
                permits: tokio::sync::Semaphore::new(0),
                finished: AtomicBool::new(false),
            })
        });
        let shared = Arc::new(PhaseState {
            config: Arc::clone(&self.config),
            pacer: pacer.clone(),
            steering,
            start: phase.start.unwrap_or_else(Instant::now),
            phase,
            control: Arc::clone(control),
            interval_nanos: nanos(interval).max(1),
            series: Mutex::new(SeriesBuilder::new(interval)),
            hit_time_limit: AtomicBool::new(false),
        });
        if let Some(pacer) = &pacer {
            let (state, pacer, workers) =
                (Arc::clone(&shared), Arc::clone(pacer), self.clients.len());
            let spawned = std::thread::Builder::new()
                .name("open-loop-pacer".to_owned())
                .spawn(move || pace(&state, &pacer, workers));
            if let Err(error) = spawned {
                log::error!("cannot start the open loop's pacer ({error}): sending unpaced");
                shared.pacer_failed();
            }
        }
        let workers: Vec<_> = self
            .clients
            .iter()
            .map(|client| tokio::spawn(worker(Arc::clone(&shared), client.clone())))
            .collect();
        let mut counts = Counts::default();
        let mut histogram = new_histogram();
        let mut service_histogram = shared.steering.schedule.as_ref().map(|_| new_histogram());
        for handle in workers {
            match handle.await {
                Ok(tally) => {
                    counts.merge(&tally.counts);
                    // Same bounds on both sides: adding cannot fail.
                    let _ = histogram.add(&tally.histogram);
                    if let (Some(all), Some(service)) = (&mut service_histogram, &tally.service) {
                        let _ = all.add(service);
                    }
                }
                Err(error) => log::error!("a driver worker failed: {error}"),
            }
        }
        let elapsed = shared.start.elapsed();
        if let Some(pacer) = &pacer {
            pacer.finished.store(true, Ordering::Relaxed);
        }
        // An open loop that fell behind its schedule: what it never sent.
        let unsent = match (&shared.steering.schedule, shared.phase.bound) {
            (Some(schedule), Bound::Duration(length)) => schedule
                .scheduled_before(length.min(elapsed))
                .saturating_sub(counts.requests),
            _ => 0,
        };
        let series = shared
            .series
            .lock()
            .map(|mut builder| {
                std::mem::replace(&mut *builder, SeriesBuilder::new(interval)).finish(elapsed)
            })
            .unwrap_or_default();
        let stopped_by = if control.stop.load(Ordering::Relaxed) {
            StopReason::Interrupted
        } else if shared.hit_time_limit.load(Ordering::Relaxed) {
            StopReason::TimeLimit
        } else {
            match shared.phase.bound {
                Bound::Requests(_) => StopReason::Requests,
                Bound::Duration(_) => StopReason::Duration,
            }
        };
        PhaseReport {
            counts,
            histogram,
            service_histogram,
            elapsed,
            series,
            stopped_by,
            unsent,
        }
    }
}

struct PhaseState {
    config: Arc<DriverConfig>,
    /// An open loop's pacer; `None` in a closed loop.
    pacer: Option<Arc<Pacer>>,
    /// The request counter, the key offset, the schedule and the events.
    steering: Arc<Steering>,
    phase: Phase,
    control: Arc<Control>,
    start: Instant,
    /// The series' interval, in nanoseconds.
    interval_nanos: u64,
    series: Mutex<SeriesBuilder>,
    hit_time_limit: AtomicBool,
}

/// An open loop's pacer: a thread that lets each request go when its
/// intended time comes, one permit per request. tokio's timer ticks once a
/// millisecond, so a request that slept on it went out up to 2 ms late,
/// and its latency from the intended send counted the delay (a median of
/// 1.5 ms at 1000 req/s against a 48 us service time); a thread's sleep is
/// late by the kernel's timer slack, 50 us by default.
struct Pacer {
    /// One for each request whose time has come.
    permits: tokio::sync::Semaphore,
    /// Set when the phase is over.
    finished: AtomicBool,
}

/// How late after the end of an open loop's duration a request due before
/// it may still go: far beyond the pacer's lateness, far below a backlog's.
const BEHIND: Duration = Duration::from_millis(1);

/// The longest the pacer sleeps before it looks at the stop flags again.
const PACER_NAP: Duration = Duration::from_millis(10);

/// How long the pacer sleeps while the loop is behind its schedule.
const PACER_NAP_BEHIND: Duration = Duration::from_millis(1);

/// The pacer's thread: releases each request of `state`'s schedule at its
/// intended time (all that are due at once when it wakes late) until the
/// phase's bound, its time limit or a stop. After the last request of a
/// count, one more permit per worker lets each waiting worker find the
/// count done; at a duration's end (after [`BEHIND`], for requests
/// released just before it), the time limit or a stop, the permits close,
/// and the waiting workers stop.
fn pace(state: &PhaseState, pacer: &Pacer, workers: usize) {
    let Some(schedule) = &state.steering.schedule else {
        pacer.permits.add_permits(workers);
        return;
    };
    let time_limit = state.phase.time_limit;
    let (cap, end) = match state.phase.bound {
        Bound::Requests(count) => (count, time_limit),
        Bound::Duration(length) => (u64::MAX, (state.start + length + BEHIND).min(time_limit)),
    };
    let mut released = 0u64;
    while !pacer.finished.load(Ordering::Relaxed) && !state.control.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            if now >= time_limit {
                state.hit_time_limit.store(true, Ordering::Relaxed);
            }
            break;
        }
        // A phase given a start still to come: nothing is due before it.
        if now < state.start {
            std::thread::sleep((state.start - now).min(PACER_NAP));
            continue;
        }
        // Every request meant to go at or before now.
        let since = now.saturating_duration_since(state.start) + Duration::from_nanos(1);
        let due = schedule.scheduled_before(since).min(cap);
        // Permits left from the last release: every worker is busy, the
        // loop is behind, and releasing on time serves nothing, so the
        // pacer naps long and leaves the cores to the cluster.
        let behind = pacer.permits.available_permits() > 0;
        if due > released {
            pacer
                .permits
                .add_permits(usize::try_from(due - released).unwrap_or(usize::MAX));
            released = due;
        }
        if released >= cap {
            pacer.permits.add_permits(workers);
            return;
        }
        let next = state.start + schedule.intended(released);
        let nap = if behind {
            PACER_NAP_BEHIND
        } else {
            next.saturating_duration_since(Instant::now())
                .min(PACER_NAP)
        };
        std::thread::sleep(nap.min(end.saturating_duration_since(Instant::now())));
    }
    pacer.permits.close();
}

impl PhaseState {
    /// Without a pacer thread, every request may go at once: the workers
    /// then send as fast as they can, and the latency still counts from
    /// each intended send.
    fn pacer_failed(&self) {
        if let Some(pacer) = &self.pacer {
            pacer
                .permits
                .add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
        }
    }

    /// The interval `at` falls in.
    fn slot_of(&self, at: Instant) -> u64 {
        nanos(at.saturating_duration_since(self.start)) / self.interval_nanos
    }

    /// The next request's number, when it is meant to be sent (open loop)
    /// or now (closed loop), and whether that is a schedule to wait for; or
    /// `None` when the phase is over.
    fn next_request(&self) -> Option<(u64, Instant, bool)> {
        if self.control.stop.load(Ordering::Relaxed) {
            return None;
        }
        let request = self.steering.requests.fetch_add(1, Ordering::Relaxed);
        let intended = self
            .steering
            .schedule
            .as_ref()
            .map(|schedule| self.start + schedule.intended(request));
        let at = intended.unwrap_or_else(Instant::now);
        match self.phase.bound {
            Bound::Requests(count) if request >= count => return None,
            Bound::Duration(length) if at >= self.start + length => return None,
            // An open loop behind its schedule stops sending at the end all
            // the same: what it did not send is counted, not sent late. A
            // request released on time just before the end is not behind.
            Bound::Duration(length)
                if intended.is_some() && Instant::now() >= self.start + length + BEHIND =>
            {
                return None
            }
            _ => {}
        }
        // A request behind its schedule is not sent past the time limit
        // either.
        if at >= self.phase.time_limit
            || (intended.is_some() && Instant::now() >= self.phase.time_limit)
        {
            self.hit_time_limit.store(true, Ordering::Relaxed);
            return None;
        }
        Some((request, at, intended.is_some()))
    }
}

/// What one worker saw.
struct Tally {
    counts: Counts,
    histogram: Histogram<u64>,
    /// An open loop's service times (from the actual send).
    service: Option<Histogram<u64>>,
    /// The current interval's answers, handed to the series when it ends.
    slot: u64,
    slot_histogram: Histogram<u64>,
    slot_requests: u64,
    slot_errors: u64,
}

impl Tally {
    fn new(open_loop: bool) -> Tally {
        Tally {
            counts: Counts::default(),
            histogram: new_histogram(),
            service: open_loop.then(new_histogram),
            slot: 0,
            slot_histogram: new_histogram(),
            slot_requests: 0,
            slot_errors: 0,
        }
    }

    /// Records an answer, in the interval of `at`: its latency and, in an
    /// open loop, its service time.
    fn record(
        &mut self,
        state: &PhaseState,
        outcome: Outcome,
        (latency, service): (Duration, Duration),
        at: Instant,
    ) {
        let slot = state.slot_of(at);
        if slot != self.slot {
            self.flush(state);
            self.slot = slot;
        }
        let counts = &mut self.counts;
        counts.requests += 1;
        self.slot_requests += 1;
        let answered = match outcome {
            Outcome::Ok => {
                counts.ok += 1;
                true
            }
            Outcome::Missing => {
                counts.missing += 1;
                true
            }
            Outcome::Status(code) => {
                *counts.errors.status.entry(code).or_default() += 1;
                true
            }
            Outcome::WrongValue => {
                counts.errors.wrong_value += 1;
                true
            }
            Outcome::Timeout => {
                counts.errors.timeout += 1;
                false
            }
            Outcome::Connection => {
                counts.errors.connection += 1;
                false
            }
        };
        if !matches!(outcome, Outcome::Ok | Outcome::Missing) {
            counts.errors.total += 1;
            self.slot_errors += 1;
        }
        if answered {
            // Into the interval's histogram only: it joins the whole
            // phase's when the interval is flushed.
            self.slot_histogram.saturating_record(micros(latency));
            if let Some(histogram) = &mut self.service {
                histogram.saturating_record(micros(service));
            }
        }
    }

    /// Hands the current interval's figures to the series and its
    /// latencies to the whole phase's histogram.
    fn flush(&mut self, state: &PhaseState) {
        if self.slot_requests == 0 {
            return;
        }
        // Same bounds on both sides: adding cannot fail.
        let _ = self.histogram.add(&self.slot_histogram);
        if let Ok(mut series) = state.series.lock() {
            series.add(
                self.slot,
                &self.slot_histogram,
                self.slot_requests,
                self.slot_errors,
            );
        }
        self.slot_histogram.reset();
        self.slot_requests = 0;
        self.slot_errors = 0;
    }
}

/// A latency in whole microseconds, at least 1 (the histograms' floor).
fn micros(latency: Duration) -> u64 {
    (latency.as_micros() as u64).max(1)
}

/// A duration in nanoseconds as a `u64` (which holds 584 years): dividing
/// it costs less on every answer than dividing a `u128`.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Each worker adds its answers to the shared count this many at a time: one
/// cache line written by every worker on every answer costs more than the
/// progress bar is worth.
const PROGRESS_BATCH: u64 = 16;

async fn worker(state: Arc<PhaseState>, client: HttpClient) -> Tally {
    let config = &state.config;
    let mut tally = Tally::new(state.steering.schedule.is_some());
    let mut path = String::with_capacity(config.path_prefix.len() + 20);
    // Answers not yet added to the shared count the progress bar reads.
    let mut uncounted = 0u64;
    // Interval ends the reader has been called for.
    let mut read = 0u64;
    // Whether anything may wait between a request's start and its send.
    let fresh_send =
        state.pacer.is_some() || state.phase.reader.is_some() || state.steering.gate.is_some();
    loop {
        // An open loop waits for its pacer to let the next request go.
        if let Some(pacer) = &state.pacer {
            match pacer.permits.acquire().await {
                Ok(permit) => permit.forget(),
                Err(_) => break,
            }
        }
        let Some((request, sent, scheduled)) = state.next_request() else {
            break;
        };
        if let Some(reader) = &state.phase.reader {
            let slot = state.slot_of(sent);
            if slot > read {
                reader.intervals_ended(slot - read).await;
                read = slot;
            }
        }
        state.steering.before(request).await;
        let rank = config.sampler.index(state.phase.stream, request);
        let offset = state.steering.key_offset.load(Ordering::Relaxed);
        let index = if offset == 0 {
            rank
        } else {
            (rank + offset) % config.sampler.keys
        };
        path.clear();
        let _ = write!(path, "{}{index}", config.path_prefix);
        // The actual send: after any wait for the schedule, the reader and
        // the events, none of which is the cluster's doing. Without them,
        // the request's start is its send (one clock read fewer).
        let send = if fresh_send { Instant::now() } else { sent };
        let result = client.get(&path).await;
        let done = Instant::now();
        let outcome = match result {
            Ok((status, body)) => match status.as_u16() {
                200 => match config.value_size {
                    Some(size) if body.len() as u64 != size || !is_value_of(index, &body) => {
                        Outcome::WrongValue
                    }
                    _ => Outcome::Ok,
                },
                500 if is_missing(index, config.missing_share) => Outcome::Missing,
                code => Outcome::Status(code),
            },
            Err(ClientError::Timeout(_)) => Outcome::Timeout,
            Err(_) => Outcome::Connection,
        };
        // With a reader, an answer counts in the interval it was sent in.
        let slot_time = if state.phase.reader.is_some() {
            sent
        } else {
            done
        };
        let service = done.saturating_duration_since(send);
        let latency = if scheduled {
            done.saturating_duration_since(sent)
        } else {
            service
        };
        tally.record(&state, outcome, (latency, service), slot_time);
        uncounted += 1;
        if uncounted == PROGRESS_BATCH {
            state.control.done.fetch_add(uncounted, Ordering::Relaxed);
            uncounted = 0;
        }
    }
    state.control.done.fetch_add(uncounted, Ordering::Relaxed);
    tally.flush(&state);
    tally
}

impl ErrorCounts {
    /// Adds `other`'s counts to these, kind by kind.
    pub fn merge(&mut self, other: &ErrorCounts) {
        self.total += other.total;
        self.wrong_value += other.wrong_value;
        self.timeout += other.timeout;
        self.connection += other.connection;
        for (&code, &count) in &other.status {
            *self.status.entry(code).or_default() += count;
        }
    }
}

impl Counts {
    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.missing += other.missing;
        self.errors.merge(&other.errors);
    }
}

/// How long an interval stays open for late answers before its
/// percentiles are fixed.
const OPEN_FOR: Duration = Duration::from_secs(3);

/// Builds the interval series from the workers' intervals, keeping only
/// the last few seconds' histograms open, so memory stays flat.
struct SeriesBuilder {
    interval: Duration,
    /// Intervals kept open: those within [`OPEN_FOR`] of the newest.
    open_intervals: u64,
    open: BTreeMap<u64, (Histogram<u64>, u64, u64)>,
    closed: HashMap<u64, ClientInterval>,
}

impl SeriesBuilder {
    fn new(interval: Duration) -> SeriesBuilder {
        SeriesBuilder {
            interval,
            open_intervals: (OPEN_FOR.as_nanos() / interval.as_nanos().max(1)).max(1) as u64,
            open: BTreeMap::new(),
            closed: HashMap::new(),
        }
    }

    fn add(&mut self, slot: u64, histogram: &Histogram<u64>, requests: u64, errors: u64) {
        if let Some(closed) = self.closed.get_mut(&slot) {
            // A straggler: its count still counts, its latency is too late
            // for that interval's percentiles.
            closed.requests += requests;
            closed.errors += errors;
            return;
        }
        let entry = self
            .open
            .entry(slot)
            .or_insert_with(|| (new_histogram(), 0, 0));
        let _ = entry.0.add(histogram);
        entry.1 += requests;
        entry.2 += errors;
        while let Some((&oldest, _)) = self.open.first_key_value() {
            if oldest + self.open_intervals >= slot {
                break;
            }
            self.close(oldest);
        }
    }

    fn close(&mut self, slot: u64) {
        if let Some((histogram, requests, errors)) = self.open.remove(&slot) {
            let at =
                |quantile| (!histogram.is_empty()).then(|| histogram.value_at_quantile(quantile));
            self.closed.insert(
                slot,
                ClientInterval {
                    interval: slot,
                    start_secs: 0.0,
                    requests,
                    throughput_rps: 0.0,
                    p50_us: at(0.5),
                    p99_us: at(0.99),
                    errors,
                },
            );
        }
    }

    /// The whole series, every interval from 0 to the end, quiet ones
    /// included.
    fn finish(mut self, elapsed: Duration) -> Vec<ClientInterval> {
        let open: Vec<u64> = self.open.keys().copied().collect();
        for slot in open {
            self.close(slot);
        }
        let last = self.closed.keys().max().copied().unwrap_or(0);
        let length = self.interval.as_secs_f64();
        let seconds = elapsed.as_secs_f64();
        (0..=last)
            .map(|slot| {
                let mut figures = self.closed.remove(&slot).unwrap_or(ClientInterval {
                    interval: slot,
                    start_secs: 0.0,
                    requests: 0,
                    throughput_rps: 0.0,
                    p50_us: None,
                    p99_us: None,
                    errors: 0,
                });
                figures.start_secs = slot as f64 * length;
                let span = (seconds - figures.start_secs).clamp(1e-3, length);
                figures.throughput_rps = figures.requests as f64 / span;
                figures
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_only_on_seed_stream_and_request() {
        let sampler = KeySampler::new(1000, Distribution::Zipf { exponent: 1.0 }, 42).unwrap();
        let again = KeySampler::new(1000, Distribution::Zipf { exponent: 1.0 }, 42).unwrap();
        let first: Vec<u64> = (0..100).map(|i| sampler.index(1, i)).collect();
        let second: Vec<u64> = (0..100).rev().map(|i| again.index(1, i)).rev().collect();
        assert_eq!(first, second);
        let other_stream: Vec<u64> = (0..100).map(|i| sampler.index(0, i)).collect();
        assert_ne!(first, other_stream);
        let other_seed = KeySampler::new(1000, Distribution::Zipf { exponent: 1.0 }, 43).unwrap();
        assert_ne!(
            first,
            (0..100).map(|i| other_seed.index(1, i)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn zipf_keys_follow_the_law_and_stay_in_range() {
        let keys = 1000;
        let sampler = KeySampler::new(keys, Distribution::Zipf { exponent: 1.0 }, 7).unwrap();
        let draws = 200_000;
        let mut counts = vec![0u64; keys as usize];
        for request in 0..draws {
            counts[sampler.index(0, request) as usize] += 1;
        }
        // P(rank 1) = 1 / H(1000) = 0.1336; rank 2 has half of it.
        let top = counts[0] as f64 / draws as f64;
        assert!((0.128..0.139).contains(&top), "{top}");
        let ratio = counts[0] as f64 / counts[1] as f64;
        assert!((1.85..2.15).contains(&ratio), "{ratio}");
        assert!(counts[999] > 0);
    }

    #[test]
    fn uniform_keys_cover_the_space_evenly() {
        let sampler = KeySampler::new(10, Distribution::Uniform, 7).unwrap();
        let mut counts = [0u64; 10];
        for request in 0..100_000 {
            counts[sampler.index(0, request) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&count| (9_500..10_500).contains(&count)),
            "{counts:?}"
        );
    }

    #[test]
    fn the_series_closes_old_seconds_and_counts_stragglers() {
        let mut builder = SeriesBuilder::new(Duration::from_secs(1));
        let mut histogram = new_histogram();
        histogram.record(100).unwrap();
        histogram.record(300).unwrap();
        builder.add(0, &histogram, 2, 0);
        builder.add(1, &histogram, 2, 1);
        builder.add(5, &histogram, 2, 0);
        // Seconds 0 and 1 are closed now; only 5 is open.
        assert_eq!(builder.open.len(), 1);
        builder.add(0, &histogram, 3, 1);
        let series = builder.finish(Duration::from_millis(5_500));
        assert_eq!(series.len(), 6);
        assert_eq!((series[0].requests, series[0].errors), (5, 1));
        assert_eq!(series[0].p99_us, Some(300));
        assert_eq!(series[0].throughput_rps, 5.0);
        assert_eq!((series[3].requests, series[3].p99_us), (0, None));
        // The last half second runs at twice its count.
        assert_eq!(series[5].throughput_rps, 4.0);
    }

    #[test]
    fn intervals_shorter_than_a_second_keep_their_own_rates_and_percentiles() {
        let mut builder = SeriesBuilder::new(Duration::from_millis(100));
        // Three seconds open: thirty intervals.
        assert_eq!(builder.open_intervals, 30);
        let mut fast = new_histogram();
        fast.record(100).unwrap();
        let mut slow = new_histogram();
        slow.record(5000).unwrap();
        builder.add(0, &fast, 10, 0);
        builder.add(1, &slow, 5, 2);
        builder.add(4, &fast, 1, 0);
        let series = builder.finish(Duration::from_millis(450));
        assert_eq!(series.len(), 5);
        assert_eq!(series[1].start_secs, 0.1);
        assert_eq!(
            (series[0].throughput_rps, series[0].p50_us),
            (100.0, Some(100))
        );
        assert_eq!((series[1].throughput_rps, series[1].errors), (50.0, 2));
        assert_eq!(series[1].p99_us, Some(slow.value_at_quantile(0.99)));
        assert_eq!((series[2].requests, series[2].p50_us), (0, None));
        // The last interval ran 50 ms: one request is 20 per second.
        assert!((series[4].throughput_rps - 20.0).abs() < 1e-9);
    }

    #[test]
    fn a_rate_schedule_changes_rate_at_a_time_or_a_request() {
        let ms = Duration::from_millis;
        let steady = RateSchedule::new(100.0, &[]);
        assert_eq!(steady.intended(0), Duration::ZERO);
        assert_eq!(steady.intended(250), ms(2500));
        // 100/s for 2 s (requests 0 to 199), then 1000/s from 2 s on.
        let by_time = RateSchedule::new(100.0, &[(RateChange::At(ms(2000)), 1000.0)]);
        assert_eq!(by_time.intended(199), ms(1990));
        assert_eq!(by_time.intended(200), ms(2000));
        assert_eq!(by_time.intended(300), ms(2100));
        // Then back down at request 1200 (3 s).
        let and_back = RateSchedule::new(
            100.0,
            &[
                (RateChange::At(ms(2000)), 1000.0),
                (RateChange::AtRequest(1200), 10.0),
            ],
        );
        assert_eq!(and_back.intended(1200), ms(3000));
        assert_eq!(and_back.intended(1201), ms(3100));
        // A change between two sends takes effect at its time.
        let odd = RateSchedule::new(3.0, &[(RateChange::At(ms(500)), 2.0)]);
        assert_eq!(odd.intended(1), Duration::from_secs_f64(1.0 / 3.0));
        assert_eq!(odd.intended(2), ms(500));
        assert_eq!(odd.intended(3), ms(1000));
    }

    #[test]
    fn a_schedule_counts_the_requests_meant_before_a_time() {
        let ms = Duration::from_millis;
        let steady = RateSchedule::new(100.0, &[]);
        assert_eq!(steady.scheduled_before(Duration::ZERO), 0);
        assert_eq!(steady.scheduled_before(ms(1000)), 100);
        // Requests 0..=50 are meant before 505 ms.
        assert_eq!(steady.scheduled_before(ms(505)), 51);
        let staged = RateSchedule::new(100.0, &[(RateChange::At(ms(1000)), 200.0)]);
        assert_eq!(staged.scheduled_before(ms(1000)), 100);
        assert_eq!(staged.scheduled_before(ms(1500)), 200);
        for request in [0, 99, 100, 150, 199] {
            let at = staged.intended(request);
            assert!(staged.scheduled_before(at) <= request, "{request}");
            assert!(staged.scheduled_before(at + ms(1)) > request, "{request}");
        }
    }

    #[test]
    fn counts_merge_kind_by_kind() {
        let mut total = Counts::default();
        let mut one = Counts {
            requests: 3,
            ok: 1,
            missing: 1,
            ..Counts::default()
        };
        one.errors.total = 1;
        one.errors.status.insert(503, 1);
        total.merge(&one);
        total.merge(&one);
        assert_eq!(total.requests, 6);
        assert_eq!(total.errors.status[&503], 2);
        assert_eq!(total.errors.total, 2);
    }
}
