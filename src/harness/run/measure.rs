//! The measurement's tasks: the driver's phase, and beside it the
//! cluster's reading at each interval's end, the timed events, the
//! process's memory and the checkpoints, all stopped when the driver's
//! phase ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::assemble::RunFacts;
use super::observe::{sample, Counters, Observer, Samples};
use super::plan::Checkpoints;
use crate::harness::counted::marks;
use crate::harness::driver::{Control, Driver, Phase, PhaseReport, SoFar};
use crate::harness::process::{self, cpu_per_request, process_cpu};
use crate::harness::report::memory::MemorySample;
use crate::harness::report::Incomplete;
use crate::harness::scenario::Scenario;

/// The measurement's five tasks and what they share: the driver, and
/// beside it the cluster's reading at each interval's end, the timed
/// events, the process's memory and the checkpoints.
pub(super) struct Measurement<'a> {
    pub(super) driver: &'a Driver,
    pub(super) observer: &'a Arc<Observer>,
    pub(super) samples: &'a Arc<Samples>,
    /// Whether the driver reads the cluster between its requests, so that
    /// no timer reads it.
    pub(super) read_between: bool,
    pub(super) scenario: Option<&'a Arc<Scenario>>,
    pub(super) checkpoints: Option<(&'a Checkpoints, &'a Arc<SoFar>)>,
    pub(super) facts: &'a Arc<RunFacts>,
    /// The measurement's start and its interval.
    pub(super) every: (Instant, Duration),
}

/// What the measurement brought back.
pub(super) struct Measured {
    /// The driver's report of the phase.
    pub(super) report: PhaseReport,
    /// The process's CPU time per request, in microseconds.
    pub(super) cpu: Option<f64>,
    /// The process's memory at each interval's end.
    pub(super) memory: Vec<MemorySample>,
}

impl Measurement<'_> {
    /// Runs `phase` with the tasks beside it, which stop when it ends.
    pub(super) async fn carry_out(self, phase: Phase, control: &Arc<Control>) -> Measured {
        let (finish, finished) = watch::channel(false);
        let until_finished = || {
            let mut finished = finished.clone();
            async move {
                let _ = finished.wait_for(|done| *done).await;
            }
        };
        let cpu_before = process_cpu();
        let memory = Mutex::new(Vec::new());
        let ((report, cpu), (), (), (), ()) = tokio::join!(
            async {
                marks::mark_begin();
                let report = self.driver.run(phase, control).await;
                marks::mark_end();
                finish.send_replace(true);
                let cpu = cpu_per_request(cpu_before, report.counts.requests);
                (report, cpu)
            },
            async {
                if self.read_between {
                    until_finished().await
                } else {
                    sample(self.observer, self.samples, self.every, until_finished()).await
                }
            },
            async {
                if let Some(scenario) = self.scenario {
                    let boundaries = (self.samples.intervals_read(), self.every.1);
                    scenario.run_timed(until_finished(), boundaries).await;
                }
            },
            sample_memory(self.every, &memory, until_finished()),
            async {
                if let Some((checkpoints, so_far)) = self.checkpoints {
                    let sources = CheckpointSources {
                        so_far,
                        samples: self.samples,
                        facts: self.facts,
                        scenario: self.scenario,
                        driver: self.driver,
                    };
                    write_checkpoints(checkpoints, sources, self.every, until_finished()).await;
                }
            },
        );
        Measured {
            report,
            cpu,
            memory: memory
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }
}

/// What a checkpoint is made of while the measurement goes.
struct CheckpointSources<'a> {
    /// The driver's phase so far.
    so_far: &'a SoFar,
    /// The cluster's counters at each interval's end.
    samples: &'a Samples,
    /// What the result is made with.
    facts: &'a Arc<RunFacts>,
    /// The scenario, whose applied events a checkpoint records.
    scenario: Option<&'a Arc<Scenario>>,
    /// The driver, whose connections a checkpoint counts.
    driver: &'a Driver,
}

/// Hears a result of the measurement so far after each interval's end
/// (from the start, every interval) that closed a new interval, made off
/// this task, until `finished`.
async fn write_checkpoints(
    checkpoints: &Checkpoints,
    sources: CheckpointSources<'_>,
    (start, interval): (Instant, Duration),
    finished: impl std::future::Future<Output = ()>,
) {
    let mut written = None;
    let mut next = start + interval + CHECKPOINT_AFTER;
    tokio::pin!(finished);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = &mut finished => return,
        }
        next += interval;
        let Some((last, report)) = sources.so_far.report() else {
            continue;
        };
        if written >= Some(last) {
            continue;
        }
        let Some((mut upto, after)) = sources.samples.up_to(last) else {
            continue;
        };
        upto.insert(0, Counters::of(&sources.facts.before));
        upto.push(Counters::of(&after));
        let applied = sources
            .scenario
            .map(|scenario| scenario.applied())
            .unwrap_or_default();
        let connections = sources.driver.connections_opened();
        let facts = Arc::clone(sources.facts);
        let hear = Arc::clone(&checkpoints.0);
        // Made and written off this task, which reads the cluster
        // and fires the events on time.
        let _ = tokio::task::spawn_blocking(move || {
            match facts.result((&report, &after), &upto, &applied, (connections, None)) {
                Ok(mut result) => {
                    result.incomplete = Some(Incomplete {
                        last_interval: Some(last),
                        measured_secs: report.elapsed.as_secs_f64(),
                        trials_whole: 0,
                        trials_asked: 1,
                    });
                    hear(result);
                }
                Err(error) => log::warn!("no checkpoint at interval {last}: {error}"),
            }
        })
        .await;
        written = Some(last);
    }
}

/// Reads the process's memory and open files at each interval's end of
/// the measurement until `finished`.
async fn sample_memory(
    (start, interval): (Instant, Duration),
    samples: &Mutex<Vec<MemorySample>>,
    finished: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(finished);
    let mut next = start + interval;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = &mut finished => return,
        }
        if let Some((rss_bytes, fds)) = process::read_now() {
            let sample = MemorySample {
                at_secs: next.saturating_duration_since(start).as_secs_f64(),
                rss_bytes,
                fds,
            };
            samples
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(sample);
        }
        next += interval;
    }
}

/// How long after an interval's end the run looks for a new checkpoint:
/// time for the interval's reading of the cluster to land.
const CHECKPOINT_AFTER: Duration = Duration::from_millis(50);
