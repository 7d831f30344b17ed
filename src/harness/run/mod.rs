//! One run from start to result: start a cluster (or find the target's
//! nodes), warm up, read every counter, measure, read them again, and turn
//! the differences into a [`RunResult`].
//!
//! Beside this file: `plan` (what to run, and its errors), `setup` (the
//! plan checked, the cluster started or the target reached, the
//! calibration), `observe` (reading the counters), `measure` (the
//! measurement's tasks beside the driver), `address` (a target's URL and
//! allowed hosts) and `assemble` (the result made of what was read).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::harness::process;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::oneshot;

use crate::harness::driver::{
    Control, Driver, DriverConfig, IntervalReader, KeySampler, Phase, RateSchedule, SoFar, Steering,
};
use crate::harness::live::{self, LiveFeed, Stage};
use crate::harness::report::{Mode, RunResult, SeriesReading, ShardFigures, StartFigures};
use crate::harness::scenario::{Levers, Scenario};
use crate::harness::shard::{fingerprint, Share};
use crate::harness::slowdb::ValueSizes;
use crate::harness::trace::TraceFeed;
use crate::harness::workload::Bound;

pub(crate) mod address;
mod assemble;
mod measure;
mod observe;
mod plan;
mod setup;

pub(crate) use address::check_host;
use assemble::RunFacts;
use measure::Measurement;
use observe::{BetweenRequests, Counters, Observer, Samples};
use setup::Connected;

use crate::harness::report::memory::{MemorySample, ProcessMemory};
pub use plan::{Calibrate, Checkpoints, Coordination, RunError, RunPlan};
pub(crate) use plan::{MEASURE_STREAM, WARMUP_STREAM};

/// Carries out `plan`. `control` can stop it early (Ctrl-C); what was
/// measured until then is still reported.
pub async fn run(plan: &RunPlan, control: &Arc<Control>) -> Result<RunResult, RunError> {
    let workload = &plan.workload;
    if let Some(live) = &plan.live {
        live.stage(Stage::Starting, None, 0);
    }
    let started_at = SystemTime::now();
    let memory_start = (process::read_now(), process::open_fds());
    let share = setup::check(plan)?;
    let values = value_sizes(plan);
    let Connected {
        observer,
        base_url,
        path_prefix,
        mode,
    } = setup::connect(plan, &values).await?;
    let observer = Arc::new(observer);
    // With the cluster up (so a port in use fails at once) but idle: the
    // loopback limit.
    let live = plan.live.as_deref();
    let calibration = setup::calibration(plan, &share).await?;
    let driver = driver(plan, (&base_url, path_prefix), &share, (mode, values))?;
    let timeline = setup::timeline(plan);

    let time_limit = Instant::now() + workload.time_limit.0;
    let bound = share_bound(plan, &share);
    let progress = (plan.progress && live.is_none())
        .then(|| Progress::start(bound, share.warmup_requests, control));
    // The phase so far, for checkpoints and the live view.
    let so_far = (plan.coordination.checkpoints.is_some() || live.is_some())
        .then(|| Arc::new(SoFar::default()));
    let watched = live.zip(so_far.as_ref());
    warm_up(&driver, share.warmup_requests, time_limit, watched, control).await;
    let (before, begun) = begin(plan, &observer, time_limit, control).await;
    if let Some(progress) = &progress {
        progress.measuring(control.done.load(Ordering::Relaxed));
    }
    let scenario = scenario(workload, &observer, begun.start, &timeline);
    let checkpoints = plan.coordination.checkpoints.as_ref();
    let samples = Arc::new(Samples::new(checkpoints.is_some()));
    // One request in flight: the cluster is read between requests, so each
    // interval's cluster figures are exactly its requests'. Not for a
    // shard: the other shards' requests reach the cluster all the same, so
    // its figures are the cluster's on the clock, as they are merged.
    let between = (share.concurrency == 1 && plan.coordination.shard.is_whole()).then(|| {
        Arc::new(BetweenRequests {
            observer: Arc::clone(&observer),
            samples: Arc::clone(&samples),
        })
    });
    let measure = Phase {
        start: Some(begun.start),
        interval: workload.interval.0,
        steering: steering(scenario.as_ref(), timeline.as_ref()),
        reader: between
            .clone()
            .map(|reader| reader as Arc<dyn IntervalReader>),
        so_far: so_far.clone(),
        ..Phase::new(MEASURE_STREAM, bound, time_limit)
    };
    if let Some(shown) = live.zip(so_far.as_ref()) {
        let scenario = scenario.as_ref().map(|(scenario, _)| scenario);
        let read = (&observer, &before, &samples);
        show_measuring(shown, read, scenario, bound, workload, control);
    }
    let facts = Arc::new(RunFacts {
        plan: plan.clone(),
        mode,
        target: plan
            .target
            .clone()
            .unwrap_or_else(|| format!("{base_url}/api")),
        started_at,
        before: Arc::new(before),
        calibration,
        series_reading: if between.is_some() {
            SeriesReading::BetweenRequests
        } else {
            SeriesReading::Timer
        },
        measure_started_unix_ms: begun.unix_ms,
        shard: shard_figures(plan, share),
        start: begun.figures,
        warmup_requests: share.warmup_requests,
        observer: Arc::clone(&observer),
    });
    let measured = Measurement {
        driver: &driver,
        observer: &observer,
        samples: &samples,
        read_between: between.is_some(),
        scenario: scenario.as_ref().map(|(scenario, _)| scenario),
        checkpoints: checkpoints.zip(so_far.as_ref()),
        facts: &facts,
        every: (begun.start, workload.interval.0),
    }
    .carry_out(measure, control)
    .await;
    let after = observer.read().await;
    let samples = readings(&observer, &samples, (&facts.before, &after));
    if let Some(progress) = progress {
        progress.finish().await;
    }
    if let Some(live) = live {
        live.stage(Stage::Finishing, None, control.done.load(Ordering::Relaxed));
    }
    let applied = scenario
        .map(|(scenario, _)| scenario.applied())
        .unwrap_or_default();
    let connections = driver.connections_opened();
    let counted = (connections, measured.cpu);
    let mut result = facts.result((&measured.report, &after), &samples, &applied, counted)?;
    let rss_end = process::read_now();
    if let Observer::Local(cluster) = &*observer {
        cluster.shutdown().await;
    }
    drop(driver);
    result.memory = memory_figures(memory_start, rss_end, measured.memory);
    Ok(result)
}

/// The size of each key's value: the trace's, or the workload's one size.
fn value_sizes(plan: &RunPlan) -> ValueSizes {
    match &plan.trace {
        Some(index) => ValueSizes::PerKey(Arc::clone(&index.sizes)),
        None => ValueSizes::Fixed(plan.workload.value_size as usize),
    }
}

/// This driver's share of the measurement: all of it, or its shard's.
fn share_bound(plan: &RunPlan, share: &Share) -> Bound {
    match share.requests {
        Some(requests) => Bound::Requests(requests),
        None => plan.workload.bound(),
    }
}

/// Every reading of the cluster's counters, in order: `before` the
/// measurement, at each interval's end, and `after` it. For a remote
/// target, the nodes whose `/_stats` failed more than once are named now.
fn readings(
    observer: &Observer,
    samples: &Samples,
    (before, after): (&observe::CounterReading, &observe::CounterReading),
) -> Vec<Counters> {
    if let Observer::Remote { failures, .. } = observer {
        failures.finish();
    }
    let mut readings = samples.take();
    readings.insert(0, Counters::of(before));
    readings.push(Counters::of(after));
    readings
}

/// When the measurement began.
struct Begun {
    /// The instant it began.
    start: Instant,
    /// The shared start moment it waited for, when it was given one.
    figures: Option<StartFigures>,
    /// When it began by the clock, in milliseconds since the epoch.
    unix_ms: u64,
}

/// Waits for the measurement's start (the start moment every shard
/// shares, or now) and reads every counter just before it.
async fn begin(
    plan: &RunPlan,
    observer: &Observer,
    time_limit: Instant,
    control: &Arc<Control>,
) -> (observe::CounterReading, Begun) {
    let moment = plan
        .coordination
        .start_at
        .map(|asked| StartMoment::new(asked, time_limit));
    if let Some(moment) = &moment {
        moment.wait(READ_AHEAD, control).await;
    }
    let before = observer.read().await;
    let start = match &moment {
        Some(moment) => {
            moment.wait(Duration::ZERO, control).await;
            moment.at
        }
        None => Instant::now(),
    };
    let figures = moment.as_ref().map(StartMoment::figures);
    let unix_ms = figures
        .as_ref()
        .map_or_else(|| unix_ms(SystemTime::now()), |start| start.began_unix_ms);
    let begun = Begun {
        start,
        figures,
        unix_ms,
    };
    (before, begun)
}

/// The workload's events, as a scenario that fires them from `start`,
/// with the steering that carries their rate changes; `None` without
/// events.
fn scenario(
    workload: &crate::harness::workload::Workload,
    observer: &Observer,
    start: Instant,
    timeline: &Option<RateSchedule>,
) -> Option<(Arc<Scenario>, Arc<Steering>)> {
    (!workload.events.is_empty()).then(|| {
        let levers = Levers {
            cluster: match observer {
                Observer::Local(cluster) => Some(Arc::clone(cluster)),
                Observer::Remote { .. } => None,
            },
            keys: workload.keys,
        };
        Scenario::new(
            &workload.events,
            levers,
            start,
            workload.rate,
            timeline.clone(),
        )
    })
}

/// Tells the live view the measurement has begun, and what to show of it:
/// the driver's phase so far, the cluster `read` against its counters
/// before, the events fired, and the first timed event's moment.
fn show_measuring(
    (live, so_far): (&LiveFeed, &Arc<SoFar>),
    (observer, before, samples): (&Arc<Observer>, &observe::CounterReading, &Arc<Samples>),
    scenario: Option<&Arc<Scenario>>,
    bound: Bound,
    workload: &crate::harness::workload::Workload,
    control: &Control,
) {
    let seen = watched(
        Arc::clone(so_far),
        (observer, before),
        samples,
        scenario.cloned(),
        workload,
    );
    live.stage(
        Stage::Measuring,
        Some(bound),
        control.done.load(Ordering::Relaxed),
    );
    let first_event = workload
        .events
        .iter()
        .filter_map(|event| event.at.map(|at| at.0.as_secs_f64()))
        .reduce(f64::min);
    live.watch(seen, first_event);
}

/// What steers the measurement: the scenario's rate changes, or a trace's
/// own pace; `None` for an even or closed loop without events.
fn steering(
    scenario: Option<&(Arc<Scenario>, Arc<Steering>)>,
    timeline: Option<&RateSchedule>,
) -> Option<Arc<Steering>> {
    match (scenario, timeline) {
        (Some((_, steering)), _) => Some(Arc::clone(steering)),
        (None, Some(timeline)) => Some(Arc::new(Steering::new(
            Vec::new(),
            None,
            Some(timeline.clone()),
        ))),
        (None, None) => None,
    }
}

/// Which shard of the run this driver is, when it is one of several: its
/// part, and the fingerprint every shard of the run shares.
fn shard_figures(plan: &RunPlan, share: Share) -> Option<ShardFigures> {
    let shard = plan.coordination.shard;
    (!shard.is_whole()).then(|| ShardFigures {
        index: shard.index,
        count: shard.count,
        fingerprint: fingerprint(
            &plan.workload,
            plan.target.as_deref().unwrap_or_default(),
            &plan.peers,
        ),
        share,
    })
}

/// The driver of this run's share: its keys (drawn, or the trace's
/// shard), its pace and where it sends them.
fn driver(
    plan: &RunPlan,
    (base_url, path_prefix): (&str, String),
    share: &Share,
    (mode, values): (Mode, ValueSizes),
) -> Result<Driver, RunError> {
    let workload = &plan.workload;
    let shard = plan.coordination.shard;
    let sampler = KeySampler::new(workload.keys, workload.distribution, workload.seed)?;
    let feed = match &plan.trace {
        Some(index) => Some(TraceFeed::start(
            index,
            (shard.index.into(), shard.count.into()),
        )?),
        None => None,
    };
    Ok(Driver::new(DriverConfig {
        base_url: base_url.to_owned(),
        path_prefix,
        sampler,
        concurrency: share.concurrency as usize,
        rate: workload.rate,
        timeout: workload.timeout.0,
        missing_share: workload.slowdb.missing_share,
        // Another process's store may make other values.
        values: (mode == Mode::Cluster).then_some(values),
        trace: feed,
        shard,
    })?)
}

/// The warm-up's `requests`, uncounted, shown in the live view (`watched`:
/// the view and the phase so far) when there is one; nothing without
/// requests.
async fn warm_up(
    driver: &Driver,
    requests: u64,
    time_limit: Instant,
    watched: Option<(&LiveFeed, &Arc<SoFar>)>,
    control: &Arc<Control>,
) {
    if requests == 0 {
        return;
    }
    let length = Bound::Requests(requests);
    let warmup = Phase {
        so_far: watched.map(|(_, so_far)| Arc::clone(so_far)),
        ..Phase::new(WARMUP_STREAM, length, time_limit)
    };
    if let Some((live, so_far)) = watched {
        live.stage(
            Stage::WarmUp,
            Some(length),
            control.done.load(Ordering::Relaxed),
        );
        live.watch(
            live::Watched {
                driver: Arc::clone(so_far),
                cluster: None,
                events: None,
            },
            None,
        );
    }
    driver.run(warmup, control).await;
}

/// What the live view reads of a measurement: the driver's series, the
/// cluster's counters at each interval's end against `before`, and the
/// events fired.
fn watched(
    driver: Arc<SoFar>,
    (observer, before): (&Arc<Observer>, &observe::CounterReading),
    samples: &Arc<Samples>,
    scenario: Option<Arc<Scenario>>,
    workload: &crate::harness::workload::Workload,
) -> live::Watched {
    let base = Counters::of(before);
    let api = observer.api_index(before);
    let interval = workload.interval.0;
    let (observer, samples) = (Arc::clone(observer), Arc::clone(samples));
    let events = workload.events.clone();
    live::Watched {
        driver,
        cluster: Some(Box::new(move || {
            observe::cluster_glimpse(&observer, &samples, (&base, api), interval)
        })),
        events: scenario.map(|scenario| -> live::EventReader {
            Box::new(move || {
                scenario
                    .applied()
                    .iter()
                    .zip(&events)
                    .filter_map(|(applied, event)| {
                        let applied = applied.as_ref()?;
                        let failed = applied
                            .error
                            .as_ref()
                            .map_or(String::new(), |error| format!(": FAILED, {error}"));
                        Some(format!(
                            "{event} (fired at {:.1} s){failed}",
                            applied.at_secs
                        ))
                    })
                    .collect()
            })
        }),
    }
}

/// A reading of two figures of the process, where `/proc` could be read.
type MemoryReading = Option<(u64, u64)>;

/// The run's memory figures from its readings at the start, at the end of
/// the measurement and during it; the open files are read now, after the
/// cluster and the driver stopped. `None` where `/proc` cannot be read.
fn memory_figures(
    (rss_start, fds_start): (MemoryReading, MemoryReading),
    rss_end: MemoryReading,
    samples: Vec<MemorySample>,
) -> Option<ProcessMemory> {
    let (fds_end, sockets_end) = process::open_fds()?;
    let (fds_start, sockets_start) = fds_start?;
    let rss_end = rss_end?.0;
    // The kernel updates the high-water mark lazily: it can lag a reading.
    let peak = samples
        .iter()
        .map(|sample| sample.rss_bytes)
        .fold(process::peak_rss()?.max(rss_end), u64::max);
    Some(ProcessMemory {
        rss_start_bytes: rss_start?.0,
        rss_end_bytes: rss_end,
        peak_rss_bytes: peak,
        fds_start,
        fds_end,
        sockets_start,
        sockets_end,
        samples,
    })
}

/// Milliseconds since the Unix epoch.
fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// The moment a run begins measuring: the one asked for, or now for a
/// driver that arrives after it (or one asked past its time limit).
struct StartMoment {
    /// The moment asked for.
    asked: SystemTime,
    /// The instant the measurement begins.
    at: Instant,
    /// When it begins by the clock.
    began: SystemTime,
}

/// How long before the start moment the counters are read: every driver's
/// warm-up is over by then, and none has begun measuring.
const READ_AHEAD: Duration = Duration::from_millis(20);

impl StartMoment {
    fn new(asked: SystemTime, time_limit: Instant) -> StartMoment {
        let now = SystemTime::now();
        match asked.duration_since(now) {
            // The clock's moment, not a sleep's end: every shard's schedule
            // begins at the one moment.
            Ok(ahead) if Instant::now() + ahead <= time_limit => StartMoment {
                asked,
                at: Instant::now() + ahead,
                began: asked,
            },
            _ => StartMoment {
                asked,
                at: Instant::now(),
                began: now,
            },
        }
    }

    /// Sleeps until `ahead` before the moment, or a stop.
    async fn wait(&self, ahead: Duration, control: &Control) {
        let until = self.at.checked_sub(ahead).unwrap_or(self.at);
        while Instant::now() < until && !control.stop.load(Ordering::Relaxed) {
            tokio::time::sleep((until - Instant::now()).min(Duration::from_millis(100))).await;
        }
    }

    /// What the result records, said on stderr when late.
    fn figures(&self) -> StartFigures {
        let late_ms = self
            .began
            .duration_since(self.asked)
            .map_or(0, |late| late.as_millis() as u64);
        if late_ms > 0 {
            eprintln!(
                "warning: late: measuring began {late_ms} ms after the start moment asked for \
                 ({}); the result records it",
                crate::units::rfc3339(self.asked)
            );
        }
        StartFigures {
            asked_unix_ms: unix_ms(self.asked),
            began_unix_ms: unix_ms(self.began),
            late_ms,
        }
    }
}

/// A progress bar on stderr, fed from the driver's count of answers; drawn
/// only when stderr is a terminal.
struct Progress {
    bar: ProgressBar,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    /// When the measurement began, and the driver's count then.
    measuring: Arc<Mutex<Option<(Instant, u64)>>>,
    /// The measurement's length: requests, or seconds.
    length: u64,
}

impl Progress {
    /// A bar for a measurement of `bound` after `warmup` requests.
    fn start(bound: Bound, warmup: u64, control: &Arc<Control>) -> Progress {
        let (length, by_time) = match bound {
            Bound::Requests(requests) => (requests, false),
            Bound::Duration(duration) => (duration.as_secs().max(1), true),
        };
        let bar = ProgressBar::new(warmup.max(1));
        let unit = if by_time { "s" } else { "" };
        let template = format!("{{msg:>9}} [{{bar:30}}] {{pos}}/{{len}}{unit} {{prefix}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("warm-up");
        let measuring: Arc<Mutex<Option<(Instant, u64)>>> = Arc::default();
        let (stop, mut stopped) = oneshot::channel();
        let task = {
            let bar = bar.clone();
            let control = Arc::clone(control);
            let measuring = Arc::clone(&measuring);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(200));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = &mut stopped => break,
                    }
                    let done = control.done.load(Ordering::Relaxed);
                    let since = *measuring
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    match since {
                        None => bar.set_position(done),
                        Some((started, base)) => {
                            let measured = done.saturating_sub(base);
                            let elapsed = started.elapsed().as_secs_f64().max(1e-3);
                            bar.set_prefix(format!("{:.0} req/s", measured as f64 / elapsed));
                            bar.set_position(if by_time { elapsed as u64 } else { measured });
                        }
                    }
                }
            })
        };
        Progress {
            bar,
            stop,
            task,
            measuring,
            length,
        }
    }

    /// The warm-up is over after `done` answers: count from here.
    fn measuring(&self, done: u64) {
        *self
            .measuring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((Instant::now(), done));
        self.bar.set_message("measuring");
        self.bar.set_length(self.length);
        self.bar.set_position(0);
    }

    async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.bar.finish_and_clear();
    }
}
