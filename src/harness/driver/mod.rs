//! The load generator: workers that send `GET /api?key=...` over keep-alive
//! connections, in a closed loop (a fixed number in flight) or an open loop
//! (a fixed rate, latency counted from the intended send time so a stall
//! cannot hide behind the requests it delayed), and record every answer's
//! latency in microseconds into HdrHistograms: memory stays the same however
//! long the run.
//!
//! The key of request `i` depends only on the seed and `i`, never on which
//! worker sends it, so two runs of one workload ask for the same keys.
//!
//! Its modules: `keys` (the key of each request), `steering` (what a
//! scenario changes on the driver's side), `pacer` (the open loop's
//! release of each request), `counts` (a phase's answers by kind) and
//! `series` (the per-interval rows).

//!
//! Beside this file: `counts` (requests by outcome), `keys` (each
//! request's key), `steering` (a scenario's changes and an open loop's
//! schedule), `pacer` (the open loop's release of requests on time) and
//! `series` (answers gathered interval by interval, and the phase so
//! far).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::geecache::h1::Broken;
use crate::geecache::http::{ClientError, HttpClient};
use crate::geecache::peers::BoxFuture;
use crate::geecache::source::Source;
use crate::harness::slowdb::{is_missing, is_value_of, ValueSizes};
use crate::harness::trace::TraceFeed;
use crate::harness::workload::Bound;

mod counts;
pub(crate) mod keys;
mod pacer;
mod series;
mod steering;

use crate::harness::shard::Shard;
pub use counts::{BrokenCounts, Counts, ErrorCounts};
pub use keys::{KeySampler, SamplerError};
use pacer::{pace, Pacer, Pacing, BEHIND};
use series::{Answers, SeriesBuilder};
pub use series::{ClientInterval, LiveFigures, WindowFigures};
pub use steering::{EventHook, RateChange, RateSchedule, Steering};

/// How the driver offers load and checks answers.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The API's base URL, `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// What comes before the key index in each request:
    /// `/api?key=key` asks for `key0`, `key1`, ... ([`api_key_prefix`](crate::harness::slowdb::api_key_prefix)).
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
    /// When given, every 200's body is checked against the key's value,
    /// of these sizes.
    pub values: Option<ValueSizes>,
    /// A trace's reads in place of the sampler's keys: request `n` of the
    /// driver's life (warm-up and measurement in turn) asks for read `n`
    /// of the feed.
    pub trace: Option<Arc<TraceFeed>>,
    /// Which share of the run this driver sends: request `n` of a phase
    /// has the key, the events and the intended send time of request
    /// `shard.global(n)` of the one-driver sequence.
    pub shard: Shard,
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
    /// Where the phase so far can be read while it runs, for checkpoints;
    /// `None` when nobody reads it.
    pub so_far: Option<Arc<SoFar>>,
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
            so_far: None,
        }
    }
}

/// A running phase's whole intervals so far, readable while it runs: what
/// a checkpoint of the run is made of.
#[derive(Default)]
pub struct SoFar {
    state: Mutex<Option<Arc<PhaseState>>>,
}

impl SoFar {
    /// The phase's intervals that are whole, those that ended more than
    /// `series::OPEN_FOR` ago, as a report that stopped at the end of the
    /// last of them ([`StopReason::Unfinished`]), with that interval's
    /// number; `None` before one is whole or when no phase runs.
    pub fn report(&self) -> Option<(u64, PhaseReport)> {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()?;
        let checkpoint = {
            let mut series = state.series.lock().unwrap_or_else(|p| p.into_inner());
            series.close_older_than(state.slot_of(Instant::now()));
            series.checkpoint()?
        };
        let elapsed =
            Duration::from_nanos(state.interval_nanos.saturating_mul(checkpoint.last + 1));
        Some((
            checkpoint.last,
            state.report(
                checkpoint.series,
                checkpoint.answers,
                elapsed,
                (StopReason::Unfinished, Vec::new()),
            ),
        ))
    }
}

impl SoFar {
    /// The running phase as a live view shows it, and how long it has run;
    /// `None` when no phase runs. It reads the series under its lock and
    /// changes nothing, so the phase and its checkpoints go on as they
    /// would.
    pub fn live(&self) -> Option<(LiveFigures, Duration)> {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()?;
        let now = Instant::now();
        let figures = state
            .series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .live(state.slot_of(now));
        Some((figures, now.saturating_duration_since(state.start)))
    }
}

/// Reads what a phase's intervals need at their ends, between requests.
pub trait IntervalReader: Send + Sync {
    /// `ended` more intervals have ended since the last call (more than one
    /// when no request was sent in some): reads once for each, before the
    /// next request is sent.
    fn intervals_ended(&self, ended: u64) -> BoxFuture<'_, ()>;
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
    /// The trace had no more reads.
    TraceEnded,
    /// It had not ended: the figures are a checkpoint written while it
    /// went on, of its intervals up to one that had ended.
    Unfinished,
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
    /// The latency of the answers whose API node said where their value
    /// came from (`X-GeeCache-Source`), by [`Source::index`]: hit, peer,
    /// load; `None` for a source no answer named.
    pub by_source: [Option<Histogram<u64>>; 3],
    /// The time to failure of every request that ended without an answer
    /// (a timeout, a connection failure), from the same start as
    /// `histogram`'s; `None` when none failed.
    pub failed_histogram: Option<Histogram<u64>>,
    /// From the first request sent to the last answer.
    pub elapsed: Duration,
    /// Interval by interval.
    pub series: Vec<ClientInterval>,
    /// Requests that ended in each [`SLICE`] of the phase's first
    /// [`SLICES`] (up to its end): how steady a run too short for whole
    /// seconds was.
    pub slices: Vec<u64>,
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
    Broken(Broken),
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
        let phase_open_loop = steering.schedule.is_some();
        let shared = Arc::new(PhaseState {
            config: Arc::clone(&self.config),
            pacer: pacer.clone(),
            steering,
            start: phase.start.unwrap_or_else(Instant::now),
            phase,
            control: Arc::clone(control),
            interval_nanos: nanos(interval).max(1),
            series: Mutex::new(SeriesBuilder::new(interval, phase_open_loop)),
            hit_time_limit: AtomicBool::new(false),
            trace_ended: AtomicBool::new(false),
        });
        if let Some(pacer) = &pacer {
            let (state, pacer, workers) =
                (Arc::clone(&shared), Arc::clone(pacer), self.clients.len());
            let spawned = std::thread::Builder::new()
                .name("open-loop-pacer".to_owned())
                .spawn(move || {
                    let pacing = Pacing {
                        schedule: state.steering.schedule.as_ref(),
                        shard: state.config.shard,
                        bound: state.phase.bound,
                        start: state.start,
                        time_limit: state.phase.time_limit,
                        stop: &state.control.stop,
                        hit_time_limit: &state.hit_time_limit,
                    };
                    pace(&pacing, &pacer, workers)
                });
            if let Err(error) = spawned {
                log::error!("cannot start the open loop's pacer ({error}): sending unpaced");
                shared.pacer_failed();
            }
        }
        if let Some(so_far) = &shared.phase.so_far {
            *so_far.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&shared));
        }
        let workers: Vec<_> = self
            .clients
            .iter()
            .map(|client| tokio::spawn(worker(Arc::clone(&shared), client.clone())))
            .collect();
        let mut slices = [0u64; SLICES];
        for handle in workers {
            match handle.await {
                Ok(theirs) => {
                    for (all, theirs) in slices.iter_mut().zip(theirs) {
                        *all += theirs;
                    }
                }
                Err(error) => log::error!("a driver worker failed: {error}"),
            }
        }
        let elapsed = shared.start.elapsed();
        if let Some(pacer) = &pacer {
            pacer.finished.store(true, Ordering::Relaxed);
        }
        if let Some(so_far) = &shared.phase.so_far {
            *so_far.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        let (series, answers) = std::mem::replace(
            &mut *shared.series.lock().unwrap_or_else(|p| p.into_inner()),
            SeriesBuilder::new(interval, false),
        )
        .finish(elapsed);
        let stopped_by = if control.stop.load(Ordering::Relaxed) {
            StopReason::Interrupted
        } else if shared.hit_time_limit.load(Ordering::Relaxed) {
            StopReason::TimeLimit
        } else if shared.trace_ended.load(Ordering::Relaxed) {
            StopReason::TraceEnded
        } else {
            match shared.phase.bound {
                Bound::Requests(_) => StopReason::Requests,
                Bound::Duration(_) => StopReason::Duration,
            }
        };
        // The slices the phase reached, the last one partial.
        let reached = (nanos(elapsed) / SLICE_NANOS + 1).min(SLICES as u64) as usize;
        shared.report(
            series,
            answers,
            elapsed,
            (stopped_by, slices[..reached].to_vec()),
        )
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
    /// Set when the trace ran out of reads.
    trace_ended: AtomicBool,
}

/// The request a worker sends next.
struct Next {
    /// Its number in the phase, of the one-driver sequence (this shard's
    /// number of it when the run is sharded).
    request: u64,
    /// When it is meant to go (open loop), or now (closed loop).
    at: Instant,
    /// Whether `at` is a schedule waited for.
    scheduled: bool,
    /// Its key from the trace, when there is one.
    traced: Option<u32>,
}

impl PhaseState {
    /// The report of the phase's `answers` and `series` after `elapsed`,
    /// stopped for `stopped_by`, with its first slices.
    fn report(
        &self,
        series: Vec<ClientInterval>,
        answers: Answers,
        elapsed: Duration,
        (stopped_by, slices): (StopReason, Vec<u64>),
    ) -> PhaseReport {
        // An open loop that fell behind its schedule: what it never sent.
        let unsent = match (&self.steering.schedule, self.phase.bound) {
            (Some(schedule), Bound::Duration(length)) => schedule
                .scheduled_before_for(self.config.shard, length.min(elapsed))
                .saturating_sub(answers.counts.requests),
            _ => 0,
        };
        PhaseReport {
            counts: answers.counts,
            histogram: answers.latency,
            service_histogram: answers.service,
            by_source: answers.by_source,
            failed_histogram: answers.failed,
            elapsed,
            series,
            slices,
            stopped_by,
            unsent,
        }
    }

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

    /// The next request: its number, when it is meant to be sent (open
    /// loop) or now (closed loop), and its trace key; or `None` when the
    /// phase is over. With a trace, the number and the key are taken
    /// together, so request `n` asks for the trace's read `n`, and a request
    /// the bound refuses takes none.
    fn next_request(&self) -> Option<Next> {
        if self.control.stop.load(Ordering::Relaxed) {
            return None;
        }
        let mut cursor = self.config.trace.as_ref().map(|feed| feed.lock());
        let request = self.steering.requests.fetch_add(1, Ordering::Relaxed);
        let shard = self.config.shard;
        let intended = self
            .steering
            .schedule
            .as_ref()
            .map(|schedule| self.start + schedule.intended_for(shard, request));
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
        let traced = match &mut cursor {
            Some(cursor) => match cursor.next_key() {
                Some(key) => Some(key),
                None => {
                    // Workers waiting for the pacer stop too.
                    self.trace_ended.store(true, Ordering::Relaxed);
                    if let Some(pacer) = &self.pacer {
                        pacer.permits.close();
                    }
                    return None;
                }
            },
            None => None,
        };
        Some(Next {
            request: shard.global(request),
            at,
            scheduled: intended.is_some(),
            traced,
        })
    }
}

/// The length of a slice of [`PhaseReport::slices`].
pub const SLICE: Duration = Duration::from_millis(100);
/// How many slices a phase counts: its first 3 seconds, beyond which whole
/// seconds of the series tell how steady it was.
pub const SLICES: usize = 30;

/// What one worker saw: its current interval's answers, handed to the
/// series when the interval ends, and its first slices.
struct Tally {
    /// Requests that ended in each of the first slices.
    slices: [u64; SLICES],
    /// The current interval.
    slot: u64,
    answers: Answers,
}

impl Tally {
    fn new(open_loop: bool) -> Tally {
        Tally {
            slices: [0; SLICES],
            slot: 0,
            answers: Answers::interval(open_loop),
        }
    }

    /// Records an answer, in the interval of `at`: its latency and, in an
    /// open loop, its service time.
    fn record(
        &mut self,
        state: &PhaseState,
        (outcome, source): (Outcome, Option<Source>),
        (latency, service): (Duration, Duration),
        at: Instant,
    ) {
        let elapsed = nanos(at.saturating_duration_since(state.start));
        if let Some(slice) = self.slices.get_mut((elapsed / SLICE_NANOS) as usize) {
            *slice += 1;
        }
        let slot = elapsed / state.interval_nanos;
        if slot != self.slot {
            self.flush(state);
            self.slot = slot;
        }
        let answers = &mut self.answers;
        let counts = &mut answers.counts;
        counts.requests += 1;
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
            Outcome::Broken(kind) => {
                *counts.errors.broken.of_mut(kind) += 1;
                false
            }
        };
        if !matches!(outcome, Outcome::Ok | Outcome::Missing) {
            counts.errors.total += 1;
        }
        answers.record(
            answered,
            source.map(Source::index),
            (micros(latency), micros(service)),
        );
    }

    /// Hands the current interval's answers to the series, and starts the
    /// next interval's.
    fn flush(&mut self, state: &PhaseState) {
        if self.answers.counts.requests == 0 {
            return;
        }
        let next = Answers::interval(self.answers.service.is_some());
        let answers = std::mem::replace(&mut self.answers, next);
        Tally::hand_over(state, self.slot, answers);
    }

    /// Hands the last interval's answers to the series; the slices.
    fn finish(self, state: &PhaseState) -> [u64; SLICES] {
        if self.answers.counts.requests > 0 {
            Tally::hand_over(state, self.slot, self.answers);
        }
        self.slices
    }

    fn hand_over(state: &PhaseState, slot: u64, answers: Answers) {
        state
            .series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .add(slot, answers);
    }
}

/// [`SLICE`] in nanoseconds: a constant divisor costs a multiplication.
const SLICE_NANOS: u64 = SLICE.as_nanos() as u64;

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

/// Sends requests until the phase is over; its first slices' counts.
async fn worker(state: Arc<PhaseState>, client: HttpClient) -> [u64; SLICES] {
    let config = &state.config;
    let mut tally = Tally::new(state.steering.schedule.is_some());
    let mut path = String::with_capacity(config.path_prefix.len() + 20);
    // Answers not yet added to the shared count the progress bar reads.
    let mut uncounted = 0u64;
    // Interval ends the reader has been called for.
    let mut read = 0u64;
    // Whether anything may wait between a request's start and its send.
    // A trace's next read may wait for its reading thread: not the
    // cluster's time either.
    let fresh_send = state.pacer.is_some()
        || state.phase.reader.is_some()
        || state.steering.gate.is_some()
        || config.trace.is_some();
    loop {
        // An open loop waits for its pacer to let the next request go.
        if let Some(pacer) = &state.pacer {
            match pacer.permits.acquire().await {
                Ok(permit) => permit.forget(),
                Err(_) => break,
            }
        }
        let Some(Next {
            request,
            at: sent,
            scheduled,
            traced,
        }) = state.next_request()
        else {
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
        let rank = match traced {
            Some(key) => u64::from(key),
            None => config.sampler.index(state.phase.stream, request),
        };
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
        let result = client.get_sourced(&path).await;
        let done = Instant::now();
        let (outcome, source) = match result {
            Ok((status, body, source)) => {
                let outcome = match status.as_u16() {
                    200 => match &config.values {
                        Some(values)
                            if body.len() != values.of(index) || !is_value_of(index, &body) =>
                        {
                            Outcome::WrongValue
                        }
                        _ => Outcome::Ok,
                    },
                    500 if is_missing(index, config.missing_share) => Outcome::Missing,
                    code => Outcome::Status(code),
                };
                (outcome, source)
            }
            Err(ClientError::Timeout(_)) => (Outcome::Timeout, None),
            Err(ClientError::Broken { kind, .. }) => (Outcome::Broken(kind), None),
            Err(_) => (Outcome::Connection, None),
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
        tally.record(&state, (outcome, source), (latency, service), slot_time);
        uncounted += 1;
        if uncounted == PROGRESS_BATCH {
            state.control.done.fetch_add(uncounted, Ordering::Relaxed);
            uncounted = 0;
        }
    }
    state.control.done.fetch_add(uncounted, Ordering::Relaxed);
    tally.finish(&state)
}
